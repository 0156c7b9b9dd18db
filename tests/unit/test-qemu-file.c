/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test-qemu-file.c: QEMUFile over memory and socket channels.
 */
#include "qemu/osdep.h"
#include <signal.h>
#include <sys/socket.h>
#include "io/channel-buffer.h"
#include "io/channel-socket.h"
#include "migration/qemu-file.h"

/* Flush out, copy what it wrote into a fresh buffer channel to read. */
static QEMUFile *reopen_for_read(QEMUFile *out, QIOChannelBuffer *bioc,
                                 size_t *len)
{
    QIOChannelBuffer *in = qio_channel_buffer_new(0);
    QEMUFile *f;

    g_assert_cmpint(qemu_fflush(out), ==, 0);
    in->data = g_memdup2(bioc->data, bioc->usage);
    in->usage = in->capacity = bioc->usage;
    if (len) {
        *len = bioc->usage;
    }
    g_assert_cmpint(qemu_fclose(out), ==, 0);
    f = qemu_file_new_input(QIO_CHANNEL(in));
    qio_channel_unref(QIO_CHANNEL(in));
    return f;
}

static QEMUFile *new_buffer_output(QIOChannelBuffer **bioc)
{
    QEMUFile *f;

    *bioc = qio_channel_buffer_new(0);
    f = qemu_file_new_output(QIO_CHANNEL(*bioc));
    qio_channel_unref(QIO_CHANNEL(*bioc)); /* the file holds one */
    return f;
}

static void put_all_widths(QEMUFile *f, const uint8_t *blob, size_t bloblen)
{
    qemu_put_byte(f, 0xa5);
    qemu_put_be16(f, 0xbeef);
    qemu_put_be32(f, 0xdeadbeef);
    qemu_put_be64(f, 0x0123456789abcdefULL);
    qemu_put_counted_string(f, "ram");
    qemu_put_buffer(f, blob, bloblen);
    qemu_put_buffer_async(f, blob, bloblen, false);
    qemu_put_be64(f, UINT64_MAX);
}

static void check_all_widths(QEMUFile *f, const uint8_t *blob, size_t bloblen)
{
    g_autofree uint8_t *got = g_malloc(bloblen + 1);
    char name[QEMU_COUNTED_STRING_BUF];

    g_assert_cmpint(qemu_get_byte(f), ==, 0xa5);
    g_assert_cmphex(qemu_get_be16(f), ==, 0xbeef);
    g_assert_cmphex(qemu_get_be32(f), ==, 0xdeadbeef);
    g_assert_cmphex(qemu_get_be64(f), ==, 0x0123456789abcdefULL);
    g_assert_cmpint(qemu_get_counted_string(f, name), ==, 3);
    g_assert_cmpstr(name, ==, "ram");
    g_assert_cmpuint(qemu_get_buffer(f, got, bloblen), ==, bloblen);
    g_assert(memcmp(got, blob, bloblen) == 0);
    memset(got, 0, bloblen);
    g_assert_cmpuint(qemu_get_buffer(f, got, bloblen), ==, bloblen);
    g_assert(memcmp(got, blob, bloblen) == 0);
    g_assert_cmphex(qemu_get_be64(f), ==, UINT64_MAX);
    g_assert_cmpint(qemu_file_get_error(f), ==, 0);
}

static uint8_t *make_blob(size_t len, uint32_t seed)
{
    uint8_t *b = g_malloc(len + 1);
    size_t i;

    for (i = 0; i < len; i++) {
        seed = seed * 1103515245 + 12345;
        b[i] = seed >> 16;
    }
    return b;
}

/* Every put/get width round-trips through a memory channel. */
static void test_widths_buffer(void)
{
    size_t sizes[] = {0, 1, 4095, 4096, 40000, 200000};
    size_t i;

    for (i = 0; i < G_N_ELEMENTS(sizes); i++) {
        g_autofree uint8_t *blob = make_blob(sizes[i], i);
        QIOChannelBuffer *bioc;
        QEMUFile *f = new_buffer_output(&bioc);
        size_t len;
        uint64_t expect = 1 + 2 + 4 + 8 + 4 + 2 * sizes[i] + 8;

        put_all_widths(f, blob, sizes[i]);
        g_assert_cmpuint(qemu_file_transferred(f), ==, expect);
        f = reopen_for_read(f, bioc, &len);
        g_assert_cmpuint(len, ==, expect);
        check_all_widths(f, blob, sizes[i]);
        g_assert_cmpuint(qemu_file_transferred(f), ==, expect);
        /* Then the end: a get past it is -EIO, try_peek is not. */
        g_assert_cmpint(qemu_file_try_peek_byte(f), ==, -1);
        g_assert_cmpint(qemu_file_get_error(f), ==, 0);
        g_assert_cmpint(qemu_get_be32(f), ==, 0);
        g_assert_cmpint(qemu_file_get_error(f), ==, -EIO);
        qemu_fclose(f);
    }
}

/* Many small puts and page-sized async puts, read in odd-sized pieces. */
static void test_mixed_stream(void)
{
    enum { PAGES = 300 };
    g_autofree uint8_t *ram = make_blob(PAGES * 4096, 7);
    QIOChannelBuffer *bioc;
    QEMUFile *f = new_buffer_output(&bioc);
    uint8_t page[4096];
    int i;

    for (i = 0; i < PAGES; i++) {
        qemu_put_be64(f, (uint64_t)i << 12 | 0x8);
        if (i % 3 == 0) {
            qemu_put_counted_string(f, "pc.ram");
        }
        qemu_put_buffer_async(f, ram + i * 4096, 4096, false);
    }
    qemu_put_be64(f, 0x10);
    f = reopen_for_read(f, bioc, NULL);

    for (i = 0; i < PAGES; i++) {
        uint8_t *p = page;

        g_assert_cmphex(qemu_get_be64(f), ==, (uint64_t)i << 12 | 0x8);
        if (i % 3 == 0) {
            char name[QEMU_COUNTED_STRING_BUF];

            g_assert_cmpint(qemu_get_counted_string(f, name), ==, 6);
            g_assert_cmpstr(name, ==, "pc.ram");
        }
        if (i % 2) {
            g_assert_cmpuint(qemu_get_buffer_in_place(f, &p, 4096), ==, 4096);
        } else {
            g_assert_cmpuint(qemu_get_buffer(f, p, 4096), ==, 4096);
        }
        g_assert(memcmp(p, ram + i * 4096, 4096) == 0);
    }
    g_assert_cmphex(qemu_get_be64(f), ==, 0x10);
    g_assert_cmpint(qemu_file_get_error(f), ==, 0);
    qemu_fclose(f);
}

/* Peek does not consume; skip does. */
static void test_peek_skip(void)
{
    QIOChannelBuffer *bioc;
    QEMUFile *f = new_buffer_output(&bioc);
    uint8_t *p;

    qemu_put_buffer(f,
                    (const uint8_t *)"\x05\x03"
                                     "abcXYZ",
                    8);
    f = reopen_for_read(f, bioc, NULL);
    g_assert_cmpint(qemu_peek_byte(f, 0), ==, 5);
    g_assert_cmpint(qemu_peek_byte(f, 1), ==, 3);
    g_assert_cmpuint(qemu_peek_buffer(f, &p, 3, 2), ==, 3);
    g_assert(memcmp(p, "abc", 3) == 0);
    g_assert_cmpint(qemu_file_try_peek_byte(f), ==, 5);
    qemu_file_skip(f, 5);
    g_assert_cmpint(qemu_get_byte(f), ==, 'X');
    /* Peek past the end: short count, and it is an error. */
    g_assert_cmpuint(qemu_peek_buffer(f, &p, 4, 0), ==, 2);
    g_assert_cmpint(qemu_file_get_error(f), ==, -EIO);
    qemu_fclose(f);
}

/* qemu_put_buffer_async sends the caller's memory as it is at flush. */
static void test_async_zero_copy(void)
{
    QIOChannelBuffer *bioc;
    QEMUFile *f = new_buffer_output(&bioc);
    uint8_t page[4096];
    uint8_t got[4096];
    uint64_t before;

    memset(page, 0x11, sizeof(page));
    qemu_put_be32(f, 1);
    before = qemu_file_transferred(f);
    qemu_put_buffer_async(f, page, sizeof(page), false);
    g_assert_cmpuint(qemu_file_transferred(f), ==, before + 4096);
    /* Not copied yet: a change before the flush is what goes out. */
    memset(page, 0x22, sizeof(page));
    g_assert_cmpint(qemu_fflush(f), ==, 0);
    g_assert_cmpuint(bioc->usage, ==, 4 + 4096);
    /* After the flush the memory is free again. */
    memset(page, 0x33, sizeof(page));
    f = reopen_for_read(f, bioc, NULL);
    g_assert_cmpint(qemu_get_be32(f), ==, 1);
    g_assert_cmpuint(qemu_get_buffer(f, got, 4096), ==, 4096);
    g_assert_cmpint(got[0], ==, 0x22);
    g_assert_cmpint(got[4095], ==, 0x22);
    qemu_fclose(f);
}

/* Many async iovecs: the array fills and is flushed transparently. */
static void test_async_many(void)
{
    enum { N = 1000 };
    g_autofree uint8_t *ram = make_blob(N * 2 * 64, 3);
    QIOChannelBuffer *bioc;
    QEMUFile *f = new_buffer_output(&bioc);
    uint8_t got[64];
    int i;

    /* Every other 64-byte chunk, so no two are contiguous. */
    for (i = 0; i < N; i++) {
        qemu_put_byte(f, i);
        qemu_put_buffer_async(f, ram + i * 128, 64, false);
    }
    f = reopen_for_read(f, bioc, NULL);
    for (i = 0; i < N; i++) {
        g_assert_cmpint(qemu_get_byte(f), ==, i & 0xff);
        g_assert_cmpuint(qemu_get_buffer(f, got, 64), ==, 64);
        g_assert(memcmp(got, ram + i * 128, 64) == 0);
    }
    g_assert_cmpint(qemu_file_get_error(f), ==, 0);
    qemu_fclose(f);
}

static void test_first_error_kept(void)
{
    QIOChannelBuffer *bioc;
    QEMUFile *f = new_buffer_output(&bioc);
    Error *err = NULL;
    uint64_t t;

    qemu_put_be32(f, 1);
    error_setg(&err, "first failure");
    qemu_file_set_error_obj(f, -EINVAL, err);
    err = NULL;
    error_setg(&err, "second failure");
    qemu_file_set_error_obj(f, -EIO, err);
    qemu_file_set_error(f, -EPIPE);
    g_assert_cmpint(qemu_file_get_error(f), ==, -EINVAL);
    err = NULL;
    g_assert_cmpint(qemu_file_get_error_obj(f, &err), ==, -EINVAL);
    g_assert_cmpstr(error_get_pretty(err), ==, "first failure");
    error_free(err);

    /* Puts are dropped now and nothing reaches the channel. */
    t = qemu_file_transferred(f);
    qemu_put_be64(f, 2);
    qemu_put_buffer(f, (const uint8_t *)"abc", 3);
    qemu_put_buffer_async(f, (const uint8_t *)"abc", 3, false);
    g_assert_cmpuint(qemu_file_transferred(f), ==, t);
    g_assert_cmpint(qemu_fflush(f), ==, -EINVAL);
    g_assert_cmpuint(bioc->usage, ==, 0);
    g_assert_cmpint(qemu_fclose(f), ==, -EINVAL);
}

/* Without an Error object the errno text is used. */
static void test_error_obj_fallback(void)
{
    QIOChannelBuffer *bioc;
    QEMUFile *f = new_buffer_output(&bioc);
    Error *err = NULL;

    qemu_file_set_error(f, -EIO);
    g_assert_cmpint(qemu_file_get_error_obj(f, &err), ==, -EIO);
    g_assert_cmpstr(error_get_pretty(err), ==, strerror(EIO));
    error_free(err);
    qemu_fclose(f);
}

/* End of input inside a value: -EIO, zeros, short counts. */
static void test_eof_mid_read(void)
{
    QIOChannelBuffer *bioc;
    QEMUFile *f = new_buffer_output(&bioc);
    uint8_t buf[16];

    qemu_put_buffer(f, (const uint8_t *)"\x01\x02\x03", 3);
    f = reopen_for_read(f, bioc, NULL);
    g_assert_cmpuint(qemu_get_be64(f), ==, 0);
    g_assert_cmpint(qemu_file_get_error(f), ==, -EIO);
    g_assert_cmpuint(qemu_get_buffer(f, buf, 16), ==, 0);
    qemu_fclose(f);

    f = new_buffer_output(&bioc);
    qemu_put_buffer(f, (const uint8_t *)"\x01\x02\x03", 3);
    f = reopen_for_read(f, bioc, NULL);
    g_assert_cmpuint(qemu_get_buffer(f, buf, 16), ==, 3);
    g_assert_cmpint(qemu_file_get_error(f), ==, -EIO);
    qemu_fclose(f);
}

/* Positional I/O on a seekable channel; a socket refuses it. */
static void test_positional(void)
{
    QIOChannelBuffer *bioc = qio_channel_buffer_new(0);
    QEMUFile *f = qemu_file_new_output(QIO_CHANNEL(bioc));
    uint8_t got[8];

    qemu_put_be32(f, 0x11223344);
    g_assert_cmpint(qemu_get_offset(f), ==, 4);
    qemu_set_offset(f, 100, SEEK_SET);
    qemu_put_be32(f, 0x55667788);
    g_assert_cmpint(qemu_get_offset(f), ==, 104);
    g_assert_cmpuint(qemu_put_buffer_at(f, (const uint8_t *)"ABCD", 4, 50), ==,
                     4);
    g_assert_cmpint(qemu_get_offset(f), ==, 104);
    g_assert_cmpint(qemu_fflush(f), ==, 0);
    g_assert_cmpuint(bioc->usage, ==, 104);
    qemu_fclose(f);
    qio_channel_unref(QIO_CHANNEL(bioc));

    bioc = qio_channel_buffer_new(0);
    f = qemu_file_new_output(QIO_CHANNEL(bioc));
    qemu_put_buffer(f, (const uint8_t *)"0123456789", 10);
    qemu_fflush(f);
    qemu_set_offset(f, 0, SEEK_SET);
    qemu_fclose(f);
    /* reopen the same bytes for reading */
    {
        QIOChannelBuffer *in = qio_channel_buffer_new(10);
        QEMUFile *r;

        memcpy(in->data, "0123456789", 10);
        in->usage = 10;
        r = qemu_file_new_input(QIO_CHANNEL(in));
        qio_channel_unref(QIO_CHANNEL(in));
        g_assert_cmpint(qemu_get_byte(r), ==, '0');
        g_assert_cmpint(qemu_get_offset(r), ==, 1);
        g_assert_cmpuint(qemu_get_buffer_at(r, got, 3, 6), ==, 3);
        g_assert(memcmp(got, "678", 3) == 0);
        g_assert_cmpint(qemu_get_byte(r), ==, '1');
        qemu_set_offset(r, 2, SEEK_CUR);
        g_assert_cmpint(qemu_get_byte(r), ==, '4');
        qemu_set_offset(r, 8, SEEK_SET);
        g_assert_cmpint(qemu_get_byte(r), ==, '8');
        g_assert_cmpuint(qemu_get_buffer_at(r, got, 3, 9), ==, 0);
        g_assert_cmpint(qemu_file_get_error(r), ==, -EIO);
        qemu_fclose(r);
    }
    qio_channel_unref(QIO_CHANNEL(bioc));
}

/* ------------------------------------------------------------------ */
/* Sockets */

static void socket_pair(QIOChannel **a, QIOChannel **b)
{
    int sv[2];

    g_assert_cmpint(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), ==, 0);
    *a = QIO_CHANNEL(qio_channel_socket_new_fd(sv[0], &error_abort));
    *b = QIO_CHANNEL(qio_channel_socket_new_fd(sv[1], &error_abort));
}

typedef struct WriterArgs {
    QEMUFile *f;
    const uint8_t *blob;
    size_t bloblen;
    int rounds;
} WriterArgs;

static gpointer writer_thread(gpointer opaque)
{
    WriterArgs *a = opaque;
    int i;

    for (i = 0; i < a->rounds; i++) {
        put_all_widths(a->f, a->blob, a->bloblen);
    }
    qemu_fflush(a->f);
    return GINT_TO_POINTER(qemu_fclose(a->f));
}

static void test_widths_socket(void)
{
    size_t bloblen = 300000;
    g_autofree uint8_t *blob = make_blob(bloblen, 99);
    QIOChannel *a, *b;
    WriterArgs args;
    GThread *th;
    QEMUFile *in;
    int i;

    socket_pair(&a, &b);
    args.f = qemu_file_new_output(a);
    args.blob = blob;
    args.bloblen = bloblen;
    args.rounds = 5;
    qio_channel_unref(a);
    in = qemu_file_new_input(b);
    qio_channel_unref(b);

    th = g_thread_new("writer", writer_thread, &args);
    for (i = 0; i < args.rounds; i++) {
        check_all_widths(in, blob, bloblen);
    }
    g_assert_cmpint(GPOINTER_TO_INT(g_thread_join(th)), ==, 0);
    /* Writer closed: end of stream. */
    g_assert_cmpint(qemu_file_try_peek_byte(in), ==, -1);
    g_assert_cmpint(qemu_get_byte(in), ==, 0);
    g_assert_cmpint(qemu_file_get_error(in), ==, -EIO);
    qemu_fclose(in);
}

/* The reader goes away mid-stream: the writer keeps an error, no crash. */
static void test_peer_dies_writer(void)
{
    g_autofree uint8_t *blob = make_blob(1 << 20, 5);
    QIOChannel *a, *b;
    QEMUFile *out, *in;
    Error *err = NULL;
    int i, ret;

    socket_pair(&a, &b);
    out = qemu_file_new_output(a);
    in = qemu_file_new_input(b);
    qio_channel_unref(a);
    qio_channel_unref(b);

    qemu_put_be32(out, 42);
    g_assert_cmpint(qemu_fflush(out), ==, 0);
    g_assert_cmpint(qemu_get_be32(in), ==, 42);
    qemu_fclose(in);

    for (i = 0; i < 8 && !qemu_file_get_error(out); i++) {
        qemu_put_buffer_async(out, blob, 1 << 20, false);
        qemu_fflush(out);
    }
    ret = qemu_file_get_error_obj(out, &err);
    g_assert_cmpint(ret, <, 0);
    g_assert_nonnull(err);
    g_assert_cmpstr(error_get_pretty(err), !=, "");
    error_free(err);
    /* Later puts are no-ops. */
    qemu_put_be64(out, 1);
    g_assert_cmpint(qemu_fclose(out), ==, ret);
}

/* The writer goes away mid-value: the reader gets -EIO, no crash. */
static void test_peer_dies_reader(void)
{
    QIOChannel *a, *b;
    QEMUFile *out, *in;
    uint8_t buf[8192];

    socket_pair(&a, &b);
    out = qemu_file_new_output(a);
    in = qemu_file_new_input(b);
    qio_channel_unref(a);
    qio_channel_unref(b);

    qemu_put_be32(out, 7);
    qemu_put_buffer(out, buf, 100);
    qemu_fclose(out);

    g_assert_cmpint(qemu_get_be32(in), ==, 7);
    g_assert_cmpuint(qemu_get_buffer(in, buf, sizeof(buf)), ==, 100);
    g_assert_cmpint(qemu_file_get_error(in), ==, -EIO);
    qemu_fclose(in);
}

/* A file and its return path talk both ways over one socket. */
static void test_return_path(void)
{
    QIOChannel *a, *b;
    QEMUFile *src, *src_rp, *dst, *dst_rp;

    socket_pair(&a, &b);
    src = qemu_file_new_output(a);
    dst = qemu_file_new_input(b);
    qio_channel_unref(a);
    qio_channel_unref(b);

    src_rp = qemu_file_get_return_path(src);
    dst_rp = qemu_file_get_return_path(dst);
    g_assert_false(qemu_file_is_writable(src_rp));
    g_assert_true(qemu_file_is_writable(dst_rp));
    g_assert(qemu_file_get_ioc(src_rp) == qemu_file_get_ioc(src));

    qemu_put_be32(src, 0x12345678); /* "PING" */
    qemu_fflush(src);
    g_assert_cmphex(qemu_get_be32(dst), ==, 0x12345678);
    qemu_put_be16(dst_rp, 2); /* "PONG" */
    qemu_put_be32(dst_rp, 0x12345678);
    qemu_fflush(dst_rp);
    g_assert_cmpint(qemu_get_be16(src_rp), ==, 2);
    g_assert_cmphex(qemu_get_be32(src_rp), ==, 0x12345678);

    g_assert_cmpint(qemu_fclose(dst_rp), ==, 0);
    qemu_fclose(dst);
    qemu_fclose(src_rp);
    qemu_fclose(src);
}

static gpointer blocked_reader(gpointer opaque)
{
    QEMUFile *f = opaque;

    qemu_get_byte(f);
    return GINT_TO_POINTER(qemu_file_get_error(f));
}

/* Shutdown from another thread wakes a blocked reader with an error. */
static void test_shutdown(void)
{
    QIOChannel *a, *b;
    QEMUFile *in;
    GThread *th;

    socket_pair(&a, &b);
    in = qemu_file_new_input(b);
    qio_channel_unref(b);
    th = g_thread_new("reader", blocked_reader, in);
    g_usleep(50 * 1000);
    g_assert_cmpint(qemu_file_shutdown(in), ==, 0);
    g_assert_cmpint(GPOINTER_TO_INT(g_thread_join(th)), ==, -EIO);
    qemu_fclose(in);
    qio_channel_unref(a);
}

int main(int argc, char **argv)
{
    signal(SIGPIPE, SIG_IGN);
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/qemu-file/widths/buffer", test_widths_buffer);
    g_test_add_func("/qemu-file/mixed-stream", test_mixed_stream);
    g_test_add_func("/qemu-file/peek-skip", test_peek_skip);
    g_test_add_func("/qemu-file/async/zero-copy", test_async_zero_copy);
    g_test_add_func("/qemu-file/async/many", test_async_many);
    g_test_add_func("/qemu-file/error/first-kept", test_first_error_kept);
    g_test_add_func("/qemu-file/error/errno-text", test_error_obj_fallback);
    g_test_add_func("/qemu-file/error/eof-mid-read", test_eof_mid_read);
    g_test_add_func("/qemu-file/positional", test_positional);
    g_test_add_func("/qemu-file/widths/socket", test_widths_socket);
    g_test_add_func("/qemu-file/peer-dies/writer", test_peer_dies_writer);
    g_test_add_func("/qemu-file/peer-dies/reader", test_peer_dies_reader);
    g_test_add_func("/qemu-file/return-path", test_return_path);
    g_test_add_func("/qemu-file/shutdown", test_shutdown);
    return g_test_run();
}
