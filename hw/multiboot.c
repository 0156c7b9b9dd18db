/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * multiboot.c: multiboot v1 kernel loader (see hw/multiboot.h).
 *
 * Every offset and size read from the file is checked against the file
 * size and against guest RAM before use: a truncated or hostile image is
 * an error naming the file, never a crash or a write outside RAM.
 */
#include "qemu/osdep.h"
#include "hw/multiboot.h"
#include "qemu/bswap.h"
#include "sysemu/kvm.h"
#include "sysemu/ramblock.h"

#include <elf.h>

/* Multiboot header flag: the load addresses are in the header. */
#define MULTIBOOT_AOUT_KLUDGE 0x00010000u

#define MB_INFO_SIZE 128          /* struct multiboot_info is 88..116 */
#define MB_MMAP_ENTRY_SIZE 24     /* u32 size, u64 base, u64 len, u32 type */
#define MB_MEM_LOWER_END 0x9fc00u /* 639 KiB of conventional memory */
#define MB_HIGH_START 0x100000u

/* Flat 4 GiB segments: null, 0x08 code (exec/read), 0x10 data (r/w). */
static const uint8_t multiboot_gdt[24] = {
    0,    0,    0,    0,    0,    0,    0,    0,    0xff, 0xff, 0x00, 0x00,
    0x00, 0x9b, 0xcf, 0x00, 0xff, 0xff, 0x00, 0x00, 0x00, 0x93, 0xcf, 0x00,
};

/* Copy filesz bytes and zero up to memsz at guest-physical gpa. */
static bool multiboot_place(const char *name, uint64_t gpa, const uint8_t *src,
                            uint64_t filesz, uint64_t memsz, Error **errp)
{
    uint8_t *dst;

    if (memsz == 0) {
        return true;
    }
    if (filesz > memsz || gpa + memsz < gpa ||
        !(dst = ram_gpa_to_host(gpa, memsz))) {
        error_setg(errp,
                   "kernel '%s': segment at 0x%" PRIx64 " of %" PRIu64
                   " bytes does not fit in guest RAM",
                   name, gpa, memsz);
        return false;
    }
    memcpy(dst, src, filesz);
    memset(dst + filesz, 0, memsz - filesz);
    return true;
}

static bool multiboot_load_elf(const char *name, const uint8_t *image,
                               size_t size, uint32_t *entry,
                               uint64_t *kernel_end, Error **errp)
{
    const Elf32_Ehdr *eh = (const Elf32_Ehdr *)image;
    Elf32_Ehdr ehdr;
    unsigned i, nloaded = 0;

    if (size < sizeof(ehdr)) {
        error_setg(errp, "kernel '%s': truncated ELF header", name);
        return false;
    }
    memcpy(&ehdr, eh, sizeof(ehdr));
    if (ehdr.e_ident[EI_CLASS] != ELFCLASS32 ||
        ehdr.e_ident[EI_DATA] != ELFDATA2LSB || ehdr.e_machine != EM_386) {
        error_setg(errp,
                   "kernel '%s': not an ELF32 i386 image (64-bit "
                   "multiboot kernels are not supported)",
                   name);
        return false;
    }
    if (ehdr.e_phentsize != sizeof(Elf32_Phdr) || ehdr.e_phnum == 0 ||
        ehdr.e_phoff > size ||
        (uint64_t)ehdr.e_phnum * sizeof(Elf32_Phdr) > size - ehdr.e_phoff) {
        error_setg(errp, "kernel '%s': bad ELF program header table", name);
        return false;
    }

    *kernel_end = 0;
    for (i = 0; i < ehdr.e_phnum; i++) {
        Elf32_Phdr ph;

        memcpy(&ph, image + ehdr.e_phoff + i * sizeof(ph), sizeof(ph));
        if (ph.p_type != PT_LOAD || ph.p_memsz == 0) {
            continue;
        }
        if (ph.p_offset > size || ph.p_filesz > size - ph.p_offset) {
            error_setg(errp,
                       "kernel '%s': segment %u lies beyond the end "
                       "of the file",
                       name, i);
            return false;
        }
        if (!multiboot_place(name, ph.p_paddr, image + ph.p_offset, ph.p_filesz,
                             ph.p_memsz, errp)) {
            return false;
        }
        *kernel_end = MAX(*kernel_end, (uint64_t)ph.p_paddr + ph.p_memsz);
        nloaded++;
    }
    if (!nloaded) {
        error_setg(errp, "kernel '%s': no loadable segment", name);
        return false;
    }
    *entry = ehdr.e_entry;
    return true;
}

/* The a.out kludge: addresses from the multiboot header itself. */
static bool multiboot_load_kludge(const char *name, const uint8_t *image,
                                  size_t size, size_t hdr_off, uint32_t *entry,
                                  uint64_t *kernel_end, Error **errp)
{
    const uint8_t *h = image + hdr_off;
    uint32_t header_addr, load_addr, load_end, bss_end;
    uint64_t file_off, filesz, memsz;

    if (size - hdr_off < 32) {
        error_setg(errp, "kernel '%s': truncated multiboot header", name);
        return false;
    }
    header_addr = ldl_le_p(h + 12);
    load_addr = ldl_le_p(h + 16);
    load_end = ldl_le_p(h + 20);
    bss_end = ldl_le_p(h + 24);
    *entry = ldl_le_p(h + 28);

    if (header_addr < load_addr || header_addr - load_addr > hdr_off) {
        error_setg(errp,
                   "kernel '%s': inconsistent multiboot load "
                   "addresses",
                   name);
        return false;
    }
    file_off = hdr_off - (header_addr - load_addr);
    filesz = load_end ? (uint64_t)load_end - load_addr : size - file_off;
    if (load_end && load_end < load_addr) {
        error_setg(errp, "kernel '%s': load_end_addr below load_addr", name);
        return false;
    }
    if (filesz > size - file_off) {
        error_setg(errp, "kernel '%s': load range exceeds the file", name);
        return false;
    }
    memsz = filesz;
    if (bss_end) {
        if (bss_end < load_addr + filesz) {
            error_setg(errp, "kernel '%s': bss_end_addr below the image", name);
            return false;
        }
        memsz = (uint64_t)bss_end - load_addr;
    }
    if (!multiboot_place(name, load_addr, image + file_off, filesz, memsz,
                         errp)) {
        return false;
    }
    *kernel_end = (uint64_t)load_addr + memsz;
    return true;
}

/* Command line: "<file> <append>[ tsc_khz=N]". Caller frees. */
static char *multiboot_cmdline(MachineState *ms, const char *name)
{
    const char *append = ms->kernel_cmdline ? ms->kernel_cmdline : "";
    GString *s = g_string_new(name);

    if (*append) {
        g_string_append_printf(s, " %s", append);
    }
    if (!strstr(append, "tsc_khz=")) {
        uint32_t khz = kvm_host_tsc_khz();

        if (khz) {
            g_string_append_printf(s, " tsc_khz=%u", khz);
        }
    }
    return g_string_free(s, false);
}

bool multiboot_load_image(MachineState *ms, const char *name,
                          const uint8_t *image, size_t size, Error **errp)
{
    g_autofree char *cmdline = NULL;
    size_t off, hdr_off = SIZE_MAX, cmdline_len;
    uint32_t flags = 0, entry = 0;
    uint64_t kernel_end = 0, ram_end, info_gpa, mmap_gpa, cmd_gpa, end;
    uint64_t gdt_gpa;
    uint8_t *info, *mm;
    RAMBlock *rb;

    for (off = 0; off + 12 <= MIN(size, (size_t)MULTIBOOT_SEARCH); off += 4) {
        uint32_t magic = ldl_le_p(image + off);

        flags = ldl_le_p(image + off + 4);
        if (magic == MULTIBOOT_HEADER_MAGIC &&
            (uint32_t)(magic + flags + ldl_le_p(image + off + 8)) == 0) {
            hdr_off = off;
            break;
        }
    }
    if (hdr_off == SIZE_MAX) {
        error_setg(errp,
                   "kernel '%s': no multiboot header in the first "
                   "%u bytes (not a multiboot kernel)",
                   name, MULTIBOOT_SEARCH);
        return false;
    }

    if (size >= SELFMAG && !memcmp(image, ELFMAG, SELFMAG)) {
        if (!multiboot_load_elf(name, image, size, &entry, &kernel_end, errp)) {
            return false;
        }
    } else if (flags & MULTIBOOT_AOUT_KLUDGE) {
        if (!multiboot_load_kludge(name, image, size, hdr_off, &entry,
                                   &kernel_end, errp)) {
            return false;
        }
    } else {
        error_setg(errp,
                   "kernel '%s': multiboot image is neither ELF nor "
                   "has load addresses in its header",
                   name);
        return false;
    }

    /* The RAM that starts at 0 (pc-lite's). */
    rb = NULL;
    RAMBLOCK_FOREACH(rb)
    {
        if (rb->gpa == 0) {
            break;
        }
    }
    if (!rb) {
        error_setg(errp, "multiboot: no guest RAM at address 0");
        return false;
    }
    ram_end = rb->used_length;

    cmdline = multiboot_cmdline(ms, name);
    cmdline_len = strlen(cmdline) + 1;
    info_gpa = QEMU_ALIGN_UP(kernel_end, 4096);
    gdt_gpa = info_gpa + MB_INFO_SIZE;
    mmap_gpa = gdt_gpa + sizeof(multiboot_gdt);
    cmd_gpa = mmap_gpa + 3 * MB_MMAP_ENTRY_SIZE;
    end = cmd_gpa + cmdline_len;
    if (end > ram_end || end > UINT32_MAX ||
        !(info = ram_gpa_to_host(info_gpa, end - info_gpa))) {
        error_setg(errp,
                   "kernel '%s': no room for the multiboot "
                   "information after the kernel (RAM too small)",
                   name);
        return false;
    }
    memset(info, 0, end - info_gpa);

    mm = info + (mmap_gpa - info_gpa);
    stl_le_p(mm, 20);
    stq_le_p(mm + 4, 0);
    stq_le_p(mm + 12, MIN(ram_end, (uint64_t)MB_MEM_LOWER_END));
    stl_le_p(mm + 20, 1);
    mm += MB_MMAP_ENTRY_SIZE;
    stl_le_p(mm, 20);
    stq_le_p(mm + 4, MB_MEM_LOWER_END);
    stq_le_p(mm + 12, MB_HIGH_START - MB_MEM_LOWER_END);
    stl_le_p(mm + 20, 2);
    mm += MB_MMAP_ENTRY_SIZE;
    stl_le_p(mm, 20);
    stq_le_p(mm + 4, MB_HIGH_START);
    stq_le_p(mm + 12, ram_end > MB_HIGH_START ? ram_end - MB_HIGH_START : 0);
    stl_le_p(mm + 20, 1);

    memcpy(info + (cmd_gpa - info_gpa), cmdline, cmdline_len);
    memcpy(info + (gdt_gpa - info_gpa), multiboot_gdt, sizeof(multiboot_gdt));

    stl_le_p(info + 0, MULTIBOOT_INFO_MEMORY | MULTIBOOT_INFO_CMDLINE |
                           MULTIBOOT_INFO_MEM_MAP);
    stl_le_p(info + 4, 640);
    stl_le_p(info + 8,
             ram_end > MB_HIGH_START ? (ram_end - MB_HIGH_START) / 1024 : 0);
    stl_le_p(info + 16, cmd_gpa);
    stl_le_p(info + 44, 3 * MB_MMAP_ENTRY_SIZE);
    stl_le_p(info + 48, mmap_gpa);

    ms->boot.valid = true;
    ms->boot.entry = entry;
    ms->boot.eax = MULTIBOOT_BOOTLOADER_MAGIC;
    ms->boot.ebx = info_gpa;
    ms->boot.gdt_base = gdt_gpa;
    ms->boot.gdt_limit = sizeof(multiboot_gdt) - 1;
    return true;
}

bool multiboot_load(MachineState *ms, Error **errp)
{
    g_autofree gchar *image = NULL;
    GError *gerr = NULL;
    gsize size;

    if (!ms->kernel_filename) {
        error_setg(errp,
                   "machine %s needs a multiboot kernel: use -kernel "
                   "FILE",
                   ms->mc ? ms->mc->name : "pc-lite");
        return false;
    }
    if (!g_file_get_contents(ms->kernel_filename, &image, &size, &gerr)) {
        error_setg(errp, "could not load kernel '%s': %s", ms->kernel_filename,
                   gerr->message);
        g_error_free(gerr);
        return false;
    }
    return multiboot_load_image(ms, ms->kernel_filename, (const uint8_t *)image,
                                size, errp);
}
