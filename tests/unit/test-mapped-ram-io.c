/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test-mapped-ram-io.c: the positional transfer pool of mapped-ram.
 * Proves: with 0, 1 and 3 workers every queued write lands at its
 * offset, and two writes of the same place land in queue order (the
 * second wins, as a page saved again in a later pass must); reads put
 * the file back into memory; a read past the end of the file and a
 * write to a full device (/dev/full: ENOSPC) fail the drain with the
 * error, and later transfers are refused; reads queued on a chosen
 * worker (any number, whatever the offset: one contiguous stretch each,
 * as the loader hands them out) land where they belong; a direct-io
 * write pool runs MAPPED_RAM_IO_DIRECT_DEPTH workers per thread asked
 * for and its O_DIRECT writes of the same place land in queue order.
 */
#include "qemu/osdep.h"
#include "../../migration/mapped-ram-format.h"
#include "../../migration/mapped-ram-io.h"

#define CHUNK MAPPED_RAM_FILE_ALIGNMENT
/* several stripes and a part: every worker of 3 gets writes */
#define CHUNKS (3 * MAPPED_RAM_IO_STRIPE / CHUNK + 2)
#define PIECE (64 * KiB)

static int tmp_file(void)
{
    char path[] = "/tmp/test-mapped-ram-io-XXXXXX";
    int fd = mkstemp(path);

    g_assert_cmpint(fd, >=, 0);
    unlink(path);
    return fd;
}

static void fill(uint8_t *buf, size_t len, uint8_t seed)
{
    for (size_t i = 0; i < len; i++) {
        buf[i] = (uint8_t)(seed + i * 7 + (i >> 12));
    }
}

static void test_write_order_read(gconstpointer opaque)
{
    int workers = GPOINTER_TO_INT(opaque);
    size_t size = CHUNKS * CHUNK;
    g_autofree uint8_t *first = g_malloc(size);
    g_autofree uint8_t *second = g_malloc(size);
    g_autofree uint8_t *back = g_malloc0(size);
    Error *err = NULL;
    MappedRamIO *io;
    int readers;
    int fd = tmp_file();

    fill(first, size, 1);
    fill(second, size, 99);
    io = mapped_ram_io_new(fd, true, workers, false, &err);
    g_assert_nonnull(io);
    /* every piece twice, interleaved: the later one must stay */
    for (size_t off = 0; off < size; off += PIECE) {
        g_assert_cmpint(mapped_ram_io_queue(io, first + off, PIECE, off), ==,
                        0);
    }
    for (size_t off = 0; off < size; off += PIECE) {
        g_assert_cmpint(mapped_ram_io_queue(io, second + off, PIECE, off), ==,
                        0);
    }
    g_assert_cmpint(mapped_ram_io_drain(io, &err), ==, 0);
    g_assert_cmpuint(mapped_ram_io_bytes(io), ==, 2 * size);
    mapped_ram_io_free(io);

    readers = workers ? workers - 1 : 0;
    io = mapped_ram_io_new(fd, false, readers, false, &err);
    g_assert_nonnull(io);
    for (size_t off = 0; off < size; off += CHUNK) {
        g_assert_cmpint(mapped_ram_io_queue(io, back + off, CHUNK, off), ==, 0);
    }
    g_assert_cmpint(mapped_ram_io_drain(io, &err), ==, 0);
    g_assert_true(memcmp(back, second, size) == 0);

    /* past the end: a clear error, then every transfer is refused */
    /* inline, the failure is known at once; with readers, at the drain */
    g_assert_cmpint(mapped_ram_io_queue(io, back, PIECE, size), ==,
                    readers ? 0 : -1);
    g_assert_cmpint(mapped_ram_io_drain(io, &err), ==, -1);
    g_assert_nonnull(strstr(error_get_pretty(err), "truncated"));
    error_free(err);
    err = NULL;
    g_assert_cmpint(mapped_ram_io_queue(io, back, PIECE, 0), ==, -1);
    mapped_ram_io_free(io);
    close(fd);
}

static void test_enospc(gconstpointer opaque)
{
    int workers = GPOINTER_TO_INT(opaque);
    g_autofree uint8_t *buf = g_malloc0(PIECE);
    Error *err = NULL;
    MappedRamIO *io;
    int fd = open("/dev/full", O_WRONLY | O_CLOEXEC);

    if (fd < 0) {
        g_test_skip("/dev/full cannot be opened");
        return;
    }
    io = mapped_ram_io_new(fd, true, workers, false, &err);
    g_assert_nonnull(io);
    for (int i = 0; i < 4; i++) {
        mapped_ram_io_queue(io, buf, PIECE, i * CHUNK);
    }
    g_assert_cmpint(mapped_ram_io_drain(io, &err), ==, -1);
    g_assert_nonnull(strstr(error_get_pretty(err), "No space left on device"));
    error_free(err);
    mapped_ram_io_free(io);
    close(fd);
}

static void test_read_on(gconstpointer opaque)
{
    int workers = GPOINTER_TO_INT(opaque);
    size_t size = CHUNKS * CHUNK;
    g_autofree uint8_t *data = g_malloc(size);
    g_autofree uint8_t *back = g_malloc0(size);
    Error *err = NULL;
    MappedRamIO *io;
    int fd = tmp_file();

    fill(data, size, 5);
    g_assert_cmpint(pwrite(fd, data, size, 0), ==, size);
    io = mapped_ram_io_new(fd, false, workers, false, &err);
    g_assert_nonnull(io);
    g_assert_cmpuint(mapped_ram_io_workers(io), ==, workers);
    /* worker w reads the w-th stretch, pieces queued in turn (as the
     * loader does), plus worker numbers past the pool's size */
    for (size_t off = 0; off < size / 2; off += PIECE) {
        g_assert_cmpint(
            mapped_ram_io_queue_read_on(io, 0, back + off, PIECE, off), ==, 0);
        g_assert_cmpint(mapped_ram_io_queue_read_on(io, 7,
                                                    back + size / 2 + off,
                                                    PIECE, size / 2 + off),
                        ==, 0);
    }
    g_assert_cmpint(mapped_ram_io_drain(io, &err), ==, 0);
    g_assert_cmpuint(mapped_ram_io_bytes(io), ==, size);
    g_assert_true(memcmp(back, data, size) == 0);
    mapped_ram_io_free(io);
    close(fd);
}

/* A direct write pool: its workers, and queue order with O_DIRECT. */
static void test_direct_write(void)
{
    size_t size = CHUNKS * CHUNK;
    void *first = NULL, *second = NULL;
    g_autofree uint8_t *back = g_malloc0(size);
    Error *err = NULL;
    MappedRamIO *io;
    int fd = tmp_file();

    g_assert_cmpint(posix_memalign(&first, 4096, size), ==, 0);
    g_assert_cmpint(posix_memalign(&second, 4096, size), ==, 0);
    fill(first, size, 3);
    fill(second, size, 77);
    io = mapped_ram_io_new(fd, true, 2, true, &err);
    if (!io) {
        /* a file system without O_DIRECT says so; nothing to prove here */
        g_assert_nonnull(strstr(error_get_pretty(err), "O_DIRECT"));
        g_test_skip(error_get_pretty(err));
        error_free(err);
        goto cleanup;
    }
    g_assert_cmpuint(mapped_ram_io_workers(io), ==,
                     2 * MAPPED_RAM_IO_DIRECT_DEPTH);
    for (size_t off = 0; off < size; off += PIECE) {
        g_assert_cmpint(
            mapped_ram_io_queue(io, (uint8_t *)first + off, PIECE, off), ==, 0);
    }
    for (size_t off = 0; off < size; off += PIECE) {
        g_assert_cmpint(
            mapped_ram_io_queue(io, (uint8_t *)second + off, PIECE, off), ==,
            0);
    }
    g_assert_cmpint(mapped_ram_io_drain(io, &err), ==, 0);
    mapped_ram_io_free(io);
    g_assert_cmpint(pread(fd, back, size, 0), ==, size);
    g_assert_true(memcmp(back, second, size) == 0);
cleanup:
    free(first);
    free(second);
    close(fd);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_data_func("/mapped-ram-io/inline/write-order-read",
                         GINT_TO_POINTER(0), test_write_order_read);
    g_test_add_data_func("/mapped-ram-io/1-worker/write-order-read",
                         GINT_TO_POINTER(1), test_write_order_read);
    g_test_add_data_func("/mapped-ram-io/3-workers/write-order-read",
                         GINT_TO_POINTER(3), test_write_order_read);
    g_test_add_data_func("/mapped-ram-io/inline/enospc", GINT_TO_POINTER(0),
                         test_enospc);
    g_test_add_data_func("/mapped-ram-io/2-workers/enospc", GINT_TO_POINTER(2),
                         test_enospc);
    g_test_add_data_func("/mapped-ram-io/inline/read-on", GINT_TO_POINTER(0),
                         test_read_on);
    g_test_add_data_func("/mapped-ram-io/2-workers/read-on", GINT_TO_POINTER(2),
                         test_read_on);
    g_test_add_func("/mapped-ram-io/direct/write-order", test_direct_write);
    return g_test_run();
}
