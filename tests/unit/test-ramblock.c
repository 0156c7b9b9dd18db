/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test-ramblock.c: RAM block backends (anonymous, file share=on/off,
 * directory, memfd, prealloc), lookups, guest-physical translation and
 * error messages that name the file.
 */
#include "qemu/osdep.h"
#include "sysemu/ramblock.h"

#include <sys/stat.h>

static char *tmpdir;

static void test_ramblock_anon(void)
{
    RAMBlockOptions o = {.gpa = 0x100000};
    RAMBlock *rb = ram_block_add("anon", 2 * MiB, &o, &error_abort);

    g_assert_nonnull(rb);
    g_assert_cmpstr(rb->idstr, ==, "anon");
    g_assert_cmpuint(rb->used_length, ==, 2 * MiB);
    g_assert_cmpint(rb->fd, ==, -1);
    g_assert_false(rb->shared);
    g_assert_true(ram_block_by_name("anon") == rb);
    g_assert_null(ram_block_by_name("nope"));
    rb->host[0] = 0x5a;
    g_assert_true(ram_gpa_to_host(0x100000, 1) == rb->host);
    g_assert_true(ram_gpa_to_host(0x100000 + 2 * MiB - 8, 8) ==
                  rb->host + 2 * MiB - 8);
    g_assert_null(ram_gpa_to_host(0x100000 + 2 * MiB - 8, 9));
    g_assert_null(ram_gpa_to_host(0xfff, 1));
    g_assert_null(ram_gpa_to_host(UINT64_MAX, 2));
}

static void test_ramblock_errors(void)
{
    Error *err = NULL;
    RAMBlockOptions o = {0};

    g_assert_null(ram_block_add("anon", 4096, NULL, &err)); /* duplicate */
    g_assert_nonnull(strstr(error_get_pretty(err), "already exists"));
    error_free_or_abort(&err);
    g_assert_null(ram_block_add("odd", 4097, NULL, &err));
    error_free_or_abort(&err);
    g_assert_null(ram_block_add("zero", 0, NULL, &err));
    error_free_or_abort(&err);

    o.mem_path = "/nonexistent-dir/ram.img";
    g_assert_null(ram_block_add("badfile", MiB, &o, &err));
    g_assert_nonnull(strstr(error_get_pretty(err), "/nonexistent-dir/ram.img"));
    error_free_or_abort(&err);
}

/* share=on: guest writes reach the file; share=off: they do not. */
static void test_ramblock_file_share(void)
{
    g_autofree char *path = g_build_filename(tmpdir, "mem.img", NULL);
    RAMBlockOptions o = {.mem_path = path, .share = true, .gpa = 16 * MiB};
    g_autofree gchar *content = NULL;
    gsize len;
    RAMBlock *rb;
    struct stat st;

    rb = ram_block_add("fshared", MiB, &o, &error_abort);
    g_assert_true(rb->shared);
    g_assert_cmpint(rb->fd, >=, 0);
    g_assert_cmpint(stat(path, &st), ==, 0);
    g_assert_cmpint(st.st_size, ==, MiB);
    memcpy(rb->host + 4096, "hello", 5);
    g_assert_true(g_file_get_contents(path, &content, &len, NULL));
    g_assert_cmpmem(content + 4096, 5, "hello", 5);
    g_free(g_steal_pointer(&content));

    o.share = false;
    o.gpa = 32 * MiB;
    rb = ram_block_add("fprivate", MiB, &o, &error_abort);
    g_assert_false(rb->shared);
    g_assert_cmpmem(rb->host + 4096, 5, "hello", 5); /* file content */
    memcpy(rb->host + 4096, "world", 5);
    g_assert_true(g_file_get_contents(path, &content, &len, NULL));
    g_assert_cmpmem(content + 4096, 5, "hello", 5); /* unchanged */
}

static void test_ramblock_dir_and_memfd(void)
{
    RAMBlockOptions o = {
        .mem_path = tmpdir, .share = true, .prealloc = true, .gpa = 48 * MiB};
    RAMBlock *rb;

    rb = ram_block_add("indir", MiB, &o, &error_abort);
    g_assert_cmpint(rb->fd, >=, 0);
    rb->host[MiB - 1] = 1;

    memset(&o, 0, sizeof(o));
    o.memfd = true;
    o.prealloc = true;
    o.gpa = 64 * MiB;
    rb = ram_block_add("memfd", 2 * MiB, &o, &error_abort);
    g_assert_true(rb->shared);
    g_assert_cmpint(rb->fd, >=, 0);
    rb->host[0] = 7;
    g_assert_cmpint(*(uint8_t *)ram_gpa_to_host(64 * MiB, 1), ==, 7);
}

static void test_ramblock_list(void)
{
    RAMBlock *rb;
    uint64_t total = 0;
    int n = 0;

    RAMBLOCK_FOREACH(rb)
    {
        total += rb->used_length;
        n++;
    }
    g_assert_cmpint(n, ==, 5);
    g_assert_cmpuint(total, ==, ram_bytes_total());
    g_assert_cmpstr(ram_block_first()->idstr, ==, "anon");
    /* without an accelerator, dirty logging is a no-op */
    g_assert_true(ram_dirty_log_start(&error_abort));
    g_assert_cmpuint(ram_dirty_log_sync(), ==, 0);
    ram_dirty_log_stop();
    ram_block_list_free();
    g_assert_null(ram_block_first());
}

int main(int argc, char **argv)
{
    int ret;

    g_test_init(&argc, &argv, NULL);
    tmpdir = g_dir_make_tmp("test-ramblock-XXXXXX", NULL);
    g_test_add_func("/ramblock/anon", test_ramblock_anon);
    g_test_add_func("/ramblock/errors", test_ramblock_errors);
    g_test_add_func("/ramblock/file-share", test_ramblock_file_share);
    g_test_add_func("/ramblock/dir-and-memfd", test_ramblock_dir_and_memfd);
    g_test_add_func("/ramblock/list", test_ramblock_list);
    ret = g_test_run();
    {
        g_autofree char *p = g_build_filename(tmpdir, "mem.img", NULL);

        unlink(p);
        rmdir(tmpdir);
    }
    g_free(tmpdir);
    return ret;
}
