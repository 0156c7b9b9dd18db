/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test-multiboot.c: the multiboot loader places a kernel and its info
 * correctly, and turns every malformed image into an error (never a crash
 * or a write outside guest RAM).
 */
#include "qemu/osdep.h"
#include "hw/multiboot.h"
#include "sysemu/kvm.h"
#include "sysemu/ramblock.h"

#include <elf.h>

#define RAM_SIZE (8 * MiB)
#define LOAD_ADDR 0x100000u

/* The loader asks KVM for the TSC frequency: a fixed one here. */
uint32_t kvm_host_tsc_khz(void)
{
    return 1234567;
}

static const uint8_t test_code[] = {0xf4, 0xeb, 0xfd}; /* hlt; jmp */

/* A minimal multiboot ELF32: ehdr, one phdr, mb header, code. */
static GByteArray *make_elf(uint32_t paddr, uint32_t extra_bss)
{
    GByteArray *img = g_byte_array_new();
    Elf32_Ehdr eh = {0};
    Elf32_Phdr ph = {0};
    uint32_t mb[3] = {MULTIBOOT_HEADER_MAGIC, 0, -MULTIBOOT_HEADER_MAGIC};
    uint32_t total = sizeof(eh) + sizeof(ph) + sizeof(mb) + sizeof(test_code);

    memcpy(eh.e_ident, ELFMAG, SELFMAG);
    eh.e_ident[EI_CLASS] = ELFCLASS32;
    eh.e_ident[EI_DATA] = ELFDATA2LSB;
    eh.e_ident[EI_VERSION] = EV_CURRENT;
    eh.e_type = ET_EXEC;
    eh.e_machine = EM_386;
    eh.e_version = EV_CURRENT;
    eh.e_entry = paddr + sizeof(eh) + sizeof(ph) + sizeof(mb);
    eh.e_phoff = sizeof(eh);
    eh.e_ehsize = sizeof(eh);
    eh.e_phentsize = sizeof(ph);
    eh.e_phnum = 1;
    ph.p_type = PT_LOAD;
    ph.p_offset = 0;
    ph.p_vaddr = paddr;
    ph.p_paddr = paddr;
    ph.p_filesz = total;
    ph.p_memsz = total + extra_bss;
    ph.p_flags = PF_R | PF_X;
    g_byte_array_append(img, (uint8_t *)&eh, sizeof(eh));
    g_byte_array_append(img, (uint8_t *)&ph, sizeof(ph));
    g_byte_array_append(img, (uint8_t *)mb, sizeof(mb));
    g_byte_array_append(img, test_code, sizeof(test_code));
    return img;
}

static Elf32_Phdr *img_phdr(GByteArray *img)
{
    return (Elf32_Phdr *)(img->data + sizeof(Elf32_Ehdr));
}

static void ram_setup(void)
{
    if (!ram_block_by_name("ram")) {
        ram_block_add("ram", RAM_SIZE, NULL, &error_abort);
    }
    memset(ram_gpa_to_host(0, RAM_SIZE), 0xcc, RAM_SIZE);
}

static bool load(GByteArray *img, const char *append, MachineState *ms,
                 Error **errp)
{
    memset(ms, 0, sizeof(*ms));
    ms->kernel_filename = (char *)"kern.elf";
    ms->kernel_cmdline = (char *)append;
    ms->ram_size = RAM_SIZE;
    return multiboot_load_image(ms, "kern.elf", img->data, img->len, errp);
}

static uint32_t rd32(uint64_t gpa)
{
    uint32_t v;

    memcpy(&v, ram_gpa_to_host(gpa, 4), 4);
    return v;
}

static void test_multiboot_valid(void)
{
    g_autoptr(GByteArray) img = make_elf(LOAD_ADDR, 4096);
    MachineState ms;
    uint32_t info, flags;
    const char *cmdline;
    uint8_t *bss;

    ram_setup();
    g_assert_true(load(img, "mem=1M-2M rate=8", &ms, &error_abort));
    g_assert_true(ms.boot.valid);
    g_assert_cmphex(ms.boot.eax, ==, MULTIBOOT_BOOTLOADER_MAGIC);
    g_assert_cmphex(ms.boot.entry, ==, LOAD_ADDR + 52 + 32 + 12);
    g_assert_cmpmem(ram_gpa_to_host(ms.boot.entry, 3), 3, test_code, 3);
    /* bss zeroed */
    bss = ram_gpa_to_host(LOAD_ADDR + img->len, 4096);
    g_assert_cmpint(bss[0], ==, 0);
    g_assert_cmpint(bss[4095], ==, 0);

    info = ms.boot.ebx;
    g_assert_cmpuint(info % 4096, ==, 0);
    g_assert_cmpuint(info, >=, LOAD_ADDR + img->len + 4096);
    flags = rd32(info);
    g_assert_cmphex(flags, ==,
                    MULTIBOOT_INFO_MEMORY | MULTIBOOT_INFO_CMDLINE |
                        MULTIBOOT_INFO_MEM_MAP);
    g_assert_cmpuint(rd32(info + 4), ==, 640);
    g_assert_cmpuint(rd32(info + 8), ==, (RAM_SIZE - 1 * MiB) / 1024);
    cmdline = ram_gpa_to_host(rd32(info + 16), 1);
    g_assert_cmpstr(cmdline, ==, "kern.elf mem=1M-2M rate=8 tsc_khz=1234567");
    /* three mmap entries; the last one covers RAM above 1 MiB */
    g_assert_cmpuint(rd32(info + 44), ==, 3 * 24);
    g_assert_cmpuint(rd32(rd32(info + 48) + 2 * 24), ==, 20);
    g_assert_cmpuint(rd32(rd32(info + 48) + 2 * 24 + 4), ==, 1 * MiB);
    g_assert_cmpuint(rd32(rd32(info + 48) + 2 * 24 + 12), ==,
                     RAM_SIZE - 1 * MiB);
    /* a flat GDT for the vCPU's GDTR: 0x08 code, 0x10 data */
    g_assert_cmpuint(ms.boot.gdt_limit, ==, 23);
    g_assert_cmphex(rd32(ms.boot.gdt_base + 8), ==, 0x0000ffff);
    g_assert_cmphex(rd32(ms.boot.gdt_base + 12), ==, 0x00cf9b00);
    g_assert_cmphex(rd32(ms.boot.gdt_base + 20), ==, 0x00cf9300);
}

static void test_multiboot_tsc_khz_given(void)
{
    g_autoptr(GByteArray) img = make_elf(LOAD_ADDR, 0);
    MachineState ms;
    const char *cmdline;

    ram_setup();
    g_assert_true(load(img, "tsc_khz=42", &ms, &error_abort));
    cmdline = ram_gpa_to_host(rd32(ms.boot.ebx + 16), 1);
    g_assert_cmpstr(cmdline, ==, "kern.elf tsc_khz=42");
}

static void expect_error(GByteArray *img, const char *needle)
{
    MachineState ms;
    Error *err = NULL;

    ram_setup();
    g_assert_false(load(img, "", &ms, &err));
    g_assert_nonnull(err);
    if (g_test_verbose()) {
        g_printerr("%s\n", error_get_pretty(err));
    }
    g_assert_nonnull(strstr(error_get_pretty(err), "kern.elf"));
    if (needle) {
        g_assert_nonnull(strstr(error_get_pretty(err), needle));
    }
    g_assert_false(ms.boot.valid);
    error_free(err);
}

static void test_multiboot_no_header(void)
{
    g_autoptr(GByteArray) img = make_elf(LOAD_ADDR, 0);

    img->data[52 + 32] ^= 0xff; /* break the magic */
    expect_error(img, "no multiboot header");
}

static void test_multiboot_bad_checksum(void)
{
    g_autoptr(GByteArray) img = make_elf(LOAD_ADDR, 0);

    img->data[52 + 32 + 8] ^= 1;
    expect_error(img, "no multiboot header");
}

static void test_multiboot_not_i386(void)
{
    g_autoptr(GByteArray) img = make_elf(LOAD_ADDR, 0);

    img->data[EI_CLASS] = ELFCLASS64;
    expect_error(img, "ELF32");
}

static void test_multiboot_phdrs_truncated(void)
{
    g_autoptr(GByteArray) img = make_elf(LOAD_ADDR, 0);
    Elf32_Ehdr *eh = (Elf32_Ehdr *)img->data;

    eh->e_phnum = 1000;
    expect_error(img, "program header");
}

static void test_multiboot_segment_beyond_file(void)
{
    g_autoptr(GByteArray) img = make_elf(LOAD_ADDR, 0);

    img_phdr(img)->p_filesz = 0x10000;
    img_phdr(img)->p_memsz = 0x10000;
    expect_error(img, "beyond the end of the file");
}

static void test_multiboot_segment_outside_ram(void)
{
    g_autoptr(GByteArray) img = make_elf(0xfff00000u, 0);

    expect_error(img, "does not fit in guest RAM");
}

static void test_multiboot_segment_wraps(void)
{
    g_autoptr(GByteArray) img = make_elf(LOAD_ADDR, 0);

    img_phdr(img)->p_memsz = 0xffffffffu;
    expect_error(img, "does not fit in guest RAM");
}

static void test_multiboot_filesz_over_memsz(void)
{
    g_autoptr(GByteArray) img = make_elf(LOAD_ADDR, 0);

    img_phdr(img)->p_memsz = 4;
    expect_error(img, "does not fit");
}

static void test_multiboot_no_room_for_info(void)
{
    g_autoptr(GByteArray) img = make_elf(LOAD_ADDR, 0);

    /* bss up to the very end of RAM: no room left for the info */
    img_phdr(img)->p_memsz = RAM_SIZE - LOAD_ADDR;
    expect_error(img, "no room");
}

static void test_multiboot_truncated_file(void)
{
    g_autoptr(GByteArray) img = make_elf(LOAD_ADDR, 0);
    size_t len;

    for (len = 0; len < img->len; len++) {
        MachineState ms;
        Error *err = NULL;
        bool ok;

        ram_setup();
        memset(&ms, 0, sizeof(ms));
        ok = multiboot_load_image(&ms, "kern.elf", img->data, len, &err);
        g_assert_false(ok);
        g_assert_nonnull(err);
        error_free(err);
    }
}

/* The a.out kludge: load addresses in the multiboot header. */
static void test_multiboot_aout_kludge(void)
{
    uint32_t hdr[8];
    g_autoptr(GByteArray) img = g_byte_array_new();
    MachineState ms;

    hdr[0] = MULTIBOOT_HEADER_MAGIC;
    hdr[1] = 0x00010000;
    hdr[2] = -(hdr[0] + hdr[1]);
    hdr[3] = LOAD_ADDR;               /* header_addr */
    hdr[4] = LOAD_ADDR;               /* load_addr */
    hdr[5] = 0;                       /* load_end: whole file */
    hdr[6] = LOAD_ADDR + 0x2000;      /* bss_end */
    hdr[7] = LOAD_ADDR + sizeof(hdr); /* entry */
    g_byte_array_append(img, (uint8_t *)hdr, sizeof(hdr));
    g_byte_array_append(img, test_code, sizeof(test_code));
    ram_setup();
    g_assert_true(load(img, "", &ms, &error_abort));
    g_assert_cmphex(ms.boot.entry, ==, LOAD_ADDR + sizeof(hdr));
    g_assert_cmpmem(ram_gpa_to_host(ms.boot.entry, 3), 3, test_code, 3);
    g_assert_cmpuint(ms.boot.ebx, >=, LOAD_ADDR + 0x2000);

    hdr[6] = LOAD_ADDR + 4; /* bss_end inside the image */
    memcpy(img->data, hdr, sizeof(hdr));
    expect_error(img, "bss_end_addr");
}

/* Random corruption: any outcome but a crash is fine. */
static void test_multiboot_corrupt_random(void)
{
    g_autoptr(GByteArray) img = make_elf(LOAD_ADDR, 64);
    g_autoptr(GRand) rnd = g_rand_new_with_seed(1234);
    int iter;

    for (iter = 0; iter < 3000; iter++) {
        g_autoptr(GByteArray) copy = g_byte_array_new();
        MachineState ms;
        Error *err = NULL;
        int flips = g_rand_int_range(rnd, 1, 6), i;

        g_byte_array_append(copy, img->data, img->len);
        for (i = 0; i < flips; i++) {
            /* favour the headers, where the offsets live */
            guint pos = g_rand_int_range(rnd, 0, MIN(copy->len, 100u));

            copy->data[pos] = g_rand_int_range(rnd, 0, 256);
        }
        ram_setup();
        memset(&ms, 0, sizeof(ms));
        if (!multiboot_load_image(&ms, "kern.elf", copy->data, copy->len,
                                  &err)) {
            g_assert_nonnull(err);
            error_free(err);
        }
    }
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/multiboot/valid", test_multiboot_valid);
    g_test_add_func("/multiboot/tsc-khz-given", test_multiboot_tsc_khz_given);
    g_test_add_func("/multiboot/no-header", test_multiboot_no_header);
    g_test_add_func("/multiboot/bad-checksum", test_multiboot_bad_checksum);
    g_test_add_func("/multiboot/not-i386", test_multiboot_not_i386);
    g_test_add_func("/multiboot/phdrs-truncated",
                    test_multiboot_phdrs_truncated);
    g_test_add_func("/multiboot/segment-beyond-file",
                    test_multiboot_segment_beyond_file);
    g_test_add_func("/multiboot/segment-outside-ram",
                    test_multiboot_segment_outside_ram);
    g_test_add_func("/multiboot/segment-wraps", test_multiboot_segment_wraps);
    g_test_add_func("/multiboot/filesz-over-memsz",
                    test_multiboot_filesz_over_memsz);
    g_test_add_func("/multiboot/no-room-for-info",
                    test_multiboot_no_room_for_info);
    g_test_add_func("/multiboot/truncated-file", test_multiboot_truncated_file);
    g_test_add_func("/multiboot/aout-kludge", test_multiboot_aout_kludge);
    g_test_add_func("/multiboot/corrupt-random", test_multiboot_corrupt_random);
    return g_test_run();
}
