/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test-dump.c: the ELF64 core writer puts one PT_LOAD per RAM block (or
 * per block's part inside a range) with the right addresses, offsets and
 * bytes.
 */
#include "qemu/osdep.h"
#include "sysemu/dump.h"
#include "sysemu/ramblock.h"

#include <elf.h>

#define BLOCK0 (2 * MiB)
#define BLOCK1_GPA (16 * MiB)
#define BLOCK1 (1 * MiB)

static char *dump_path;

static void blocks_setup(void)
{
    RAMBlockOptions o = {.gpa = BLOCK1_GPA};
    RAMBlock *a, *b;
    uint64_t i;

    if (ram_block_first()) {
        return;
    }
    a = ram_block_add("ram", BLOCK0, NULL, &error_abort);
    b = ram_block_add("high", BLOCK1, &o, &error_abort);
    for (i = 0; i < BLOCK0; i++) {
        a->host[i] = i * 7 + (i >> 12);
    }
    for (i = 0; i < BLOCK1; i++) {
        b->host[i] = 0xa5 ^ (i >> 12);
    }
}

/* Dump, read the file back, return its bytes; check the ELF header. */
static GByteArray *dump(bool has_range, uint64_t begin, uint64_t length,
                        uint64_t expect_total)
{
    g_autofree gchar *data = NULL;
    GByteArray *out;
    Elf64_Ehdr eh;
    uint64_t total;
    gsize len;
    int fd;

    blocks_setup();
    fd = open(dump_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    g_assert_cmpint(fd, >=, 0);
    g_assert_true(dump_guest_memory_elf(fd, has_range, begin, length, &total,
                                        &error_abort));
    close(fd);
    g_assert_cmpuint(total, ==, expect_total);
    g_assert_true(g_file_get_contents(dump_path, &data, &len, NULL));
    g_assert_cmpuint(len, >=, sizeof(eh));
    memcpy(&eh, data, sizeof(eh));
    g_assert_cmpmem(eh.e_ident, SELFMAG, ELFMAG, SELFMAG);
    g_assert_cmpint(eh.e_ident[EI_CLASS], ==, ELFCLASS64);
    g_assert_cmpint(eh.e_ident[EI_DATA], ==, ELFDATA2LSB);
    g_assert_cmpint(eh.e_type, ==, ET_CORE);
    g_assert_cmpint(eh.e_machine, ==, EM_X86_64);
    g_assert_cmpint(eh.e_phentsize, ==, sizeof(Elf64_Phdr));
    g_assert_cmpuint(eh.e_phoff, ==, sizeof(eh));
    out = g_byte_array_new();
    g_byte_array_append(out, (guint8 *)data, len);
    return out;
}

static Elf64_Phdr phdr(GByteArray *f, int i)
{
    Elf64_Phdr ph;

    memcpy(&ph, f->data + sizeof(Elf64_Ehdr) + i * sizeof(ph), sizeof(ph));
    return ph;
}

static void check_segment(GByteArray *f, int i, uint64_t gpa, uint64_t len)
{
    Elf64_Phdr ph = phdr(f, i);

    g_assert_cmpint(ph.p_type, ==, PT_LOAD);
    g_assert_cmphex(ph.p_paddr, ==, gpa);
    g_assert_cmphex(ph.p_vaddr, ==, 0);
    g_assert_cmpuint(ph.p_filesz, ==, len);
    g_assert_cmpuint(ph.p_memsz, ==, len);
    g_assert_cmpuint(ph.p_offset % TARGET_PAGE_SIZE, ==, 0);
    g_assert_cmpuint(ph.p_offset + len, <=, f->len);
    g_assert_cmpmem(f->data + ph.p_offset, len, ram_gpa_to_host(gpa, len), len);
}

static void test_dump_all(void)
{
    g_autoptr(GByteArray) f = dump(false, 0, 0, BLOCK0 + BLOCK1);
    Elf64_Ehdr *eh = (Elf64_Ehdr *)f->data;

    g_assert_cmpint(eh->e_phnum, ==, 2);
    check_segment(f, 0, 0, BLOCK0);
    check_segment(f, 1, BLOCK1_GPA, BLOCK1);
}

static void test_dump_range_inside(void)
{
    g_autoptr(GByteArray) f = dump(true, 0x3000, 0x2000, 0x2000);

    g_assert_cmpint(((Elf64_Ehdr *)f->data)->e_phnum, ==, 1);
    check_segment(f, 0, 0x3000, 0x2000);
}

static void test_dump_range_spanning(void)
{
    /* from 1 MiB into block 0 to 4 KiB into block 1, across the hole */
    g_autoptr(GByteArray) f =
        dump(true, MiB, BLOCK1_GPA + 0x1000 - MiB, BLOCK0 - MiB + 0x1000);

    g_assert_cmpint(((Elf64_Ehdr *)f->data)->e_phnum, ==, 2);
    check_segment(f, 0, MiB, BLOCK0 - MiB);
    check_segment(f, 1, BLOCK1_GPA, 0x1000);
}

static void test_dump_range_empty(void)
{
    Error *err = NULL;
    uint64_t total;
    int fd = open(dump_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);

    blocks_setup();
    /* the hole between the blocks holds no RAM */
    g_assert_false(dump_guest_memory_elf(fd, true, 8 * MiB, MiB, &total, &err));
    g_assert_nonnull(err);
    error_free(err);
    /* a range that wraps past 2^64 is clamped, not an overflow */
    g_assert_true(dump_guest_memory_elf(fd, true, BLOCK1_GPA, UINT64_MAX,
                                        &total, &error_abort));
    g_assert_cmpuint(total, ==, BLOCK1);
    close(fd);
}

static void test_dump_write_error(void)
{
    Error *err = NULL;
    uint64_t total;
    int fd = open("/dev/full", O_WRONLY);

    if (fd < 0) {
        g_test_skip("no /dev/full");
        return;
    }
    blocks_setup();
    g_assert_false(dump_guest_memory_elf(fd, false, 0, 0, &total, &err));
    g_assert_nonnull(err);
    error_free(err);
    close(fd);
}

int main(int argc, char **argv)
{
    g_autofree char *dir = g_dir_make_tmp("test-dump-XXXXXX", NULL);
    int ret;

    g_test_init(&argc, &argv, NULL);
    dump_path = g_build_filename(dir, "core.elf", NULL);
    g_test_add_func("/dump/all", test_dump_all);
    g_test_add_func("/dump/range-inside", test_dump_range_inside);
    g_test_add_func("/dump/range-spanning", test_dump_range_spanning);
    g_test_add_func("/dump/range-empty", test_dump_range_empty);
    g_test_add_func("/dump/write-error", test_dump_write_error);
    ret = g_test_run();
    unlink(dump_path);
    rmdir(dir);
    g_free(dump_path);
    return ret;
}
