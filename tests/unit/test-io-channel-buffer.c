/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test-io-channel-buffer.c: QIOChannelBuffer and the generic channel
 * helpers (refcount, *_all, iovec splitting, watches, wait).
 */
#include "qemu/osdep.h"
#include "io/channel-buffer.h"

static void test_buffer_write_seek_read(void)
{
    QIOChannelBuffer *bioc = qio_channel_buffer_new(0);
    QIOChannel *ioc = QIO_CHANNEL(bioc);
    char buf[16] = {0};

    g_assert_true(qio_channel_has_feature(ioc, QIO_CHANNEL_FEATURE_SEEKABLE));
    g_assert_cmpint(qio_channel_write_all(ioc, "hello world", 11, &error_abort),
                    ==, 0);
    g_assert_cmpuint(bioc->usage, ==, 11);
    g_assert_cmpuint(bioc->offset, ==, 11);
    /* At the end: EOF. */
    g_assert_cmpint(qio_channel_read(ioc, buf, sizeof(buf), &error_abort), ==,
                    0);
    g_assert_cmpint(qio_channel_io_seek(ioc, 0, SEEK_SET, &error_abort), ==, 0);
    g_assert_cmpint(qio_channel_read_all(ioc, buf, 5, &error_abort), ==, 0);
    g_assert_cmpmem(buf, 5, "hello", 5);
    g_assert_cmpint(qio_channel_io_seek(ioc, 1, SEEK_CUR, &error_abort), ==, 6);
    g_assert_cmpint(qio_channel_read(ioc, buf, sizeof(buf), &error_abort), ==,
                    5);
    g_assert_cmpmem(buf, 5, "world", 5);
    g_assert_cmpint(qio_channel_io_seek(ioc, -5, SEEK_END, &error_abort), ==,
                    6);
    qio_channel_unref(ioc);
}

static void test_buffer_read_all_eof(void)
{
    QIOChannelBuffer *bioc = qio_channel_buffer_new(4);
    QIOChannel *ioc = QIO_CHANNEL(bioc);
    Error *err = NULL;
    char buf[8];

    /* Empty: read_all_eof says clean EOF. */
    g_assert_cmpint(qio_channel_read_all_eof(ioc, buf, 4, &error_abort), ==, 0);
    /* read_all on empty: error. */
    g_assert_cmpint(qio_channel_read_all(ioc, buf, 4, &err), ==, -1);
    g_assert_cmpstr(error_get_pretty(err), ==,
                    "Unexpected end-of-file before all data were read");
    error_free(err);
    err = NULL;

    qio_channel_write_all(ioc, "abc", 3, &error_abort);
    qio_channel_io_seek(ioc, 0, SEEK_SET, &error_abort);
    g_assert_cmpint(qio_channel_read_all_eof(ioc, buf, 8, &err), ==, -1);
    g_assert_cmpstr(error_get_pretty(err), ==,
                    "Unexpected end-of-file before all data were read");
    error_free(err);
    qio_channel_unref(ioc);
}

static void test_buffer_growth_and_iov(void)
{
    QIOChannelBuffer *bioc = qio_channel_buffer_new(1);
    QIOChannel *ioc = QIO_CHANNEL(bioc);
    /* More elements than IOV_MAX: the wrapper splits, *_all loops. */
    size_t niov = 3000;
    struct iovec *iov = g_new(struct iovec, niov);
    struct iovec *riov = g_new(struct iovec, niov);
    uint8_t *src = g_malloc(niov * 3);
    uint8_t *dst = g_malloc0(niov * 3);

    for (size_t i = 0; i < niov * 3; i++) {
        src[i] = i * 7;
    }
    for (size_t i = 0; i < niov; i++) {
        iov[i].iov_base = src + i * 3;
        iov[i].iov_len = 3;
        riov[i].iov_base = dst + i * 3;
        riov[i].iov_len = 3;
    }
    /* A zero-length element in the middle is harmless. */
    iov[5].iov_len = 0;
    riov[5].iov_len = 0;
    g_assert_cmpint(qio_channel_writev_all(ioc, iov, niov, &error_abort), ==,
                    0);
    g_assert_cmpuint(bioc->usage, ==, niov * 3 - 3);
    g_assert_cmpuint(bioc->capacity, >=, bioc->usage);
    /* A single writev call is capped at IOV_MAX elements. */
    qio_channel_io_seek(ioc, 0, SEEK_SET, &error_abort);
    g_assert_cmpint(qio_channel_readv(ioc, riov, niov, &error_abort), <,
                    (ssize_t)(niov * 3 - 3));
    qio_channel_io_seek(ioc, 0, SEEK_SET, &error_abort);
    g_assert_cmpint(qio_channel_readv_all(ioc, riov, niov, &error_abort), ==,
                    0);
    for (size_t i = 0; i < niov; i++) {
        if (i != 5) {
            g_assert_cmpmem(dst + i * 3, 3, src + i * 3, 3);
        }
    }
    g_free(iov);
    g_free(riov);
    g_free(src);
    g_free(dst);
    qio_channel_unref(ioc);
}

static void test_buffer_positional(void)
{
    QIOChannelBuffer *bioc = qio_channel_buffer_new(0);
    QIOChannel *ioc = QIO_CHANNEL(bioc);
    char buf[8];

    /* Writing past the end leaves a zeroed hole. */
    g_assert_cmpint(qio_channel_pwrite_all(ioc, "xy", 2, 4, &error_abort), ==,
                    0);
    g_assert_cmpuint(bioc->usage, ==, 6);
    g_assert_cmpuint(bioc->offset, ==, 0);
    g_assert_cmpint(qio_channel_pread_all(ioc, buf, 6, 0, &error_abort), ==, 0);
    g_assert_cmpmem(buf, 6, "\0\0\0\0xy", 6);
    /* Peek does not consume. */
    g_assert_cmpint(
        qio_channel_readv_full(ioc, &(struct iovec){buf, 2}, 1, NULL, NULL,
                               QIO_CHANNEL_READ_FLAG_MSG_PEEK, &error_abort),
        ==, 2);
    g_assert_cmpuint(bioc->offset, ==, 0);
    qio_channel_unref(ioc);
}

static void test_buffer_unsupported(void)
{
    QIOChannel *ioc = QIO_CHANNEL(qio_channel_buffer_new(0));
    Error *err = NULL;
    int fd = 0;

    g_assert_cmpint(qio_channel_shutdown(ioc, QIO_CHANNEL_SHUTDOWN_BOTH, &err),
                    ==, -1);
    g_assert_nonnull(err);
    error_free(err);
    err = NULL;
    g_assert_cmpint(qio_channel_writev_full(ioc, &(struct iovec){"a", 1}, 1,
                                            &fd, 1, 0, &err),
                    ==, -1);
    g_assert_nonnull(strstr(error_get_pretty(err),
                            "does not support file descriptor passing"));
    error_free(err);
    g_assert_cmpint(qio_channel_get_fd(ioc), ==, -1);
    qio_channel_unref(ioc);
}

static gboolean test_watch_cb(QIOChannel *ioc, GIOCondition cond,
                              gpointer opaque)
{
    int *count = opaque;

    g_assert_true(cond & G_IO_IN);
    (*count)++;
    return *count < 3 ? G_SOURCE_CONTINUE : G_SOURCE_REMOVE;
}

static void test_buffer_watch_and_refcount(void)
{
    QIOChannel *ioc = QIO_CHANNEL(qio_channel_buffer_new(0));
    GMainContext *ctx = g_main_context_new();
    int count = 0;

    qio_channel_ref(ioc);
    g_assert_cmpint(ioc->refcount, ==, 2);
    qio_channel_unref(ioc);
    qio_channel_add_watch_full(ioc, G_IO_IN, test_watch_cb, &count, NULL, ctx);
    /* The watch holds a reference: dropping ours keeps ioc alive. */
    qio_channel_unref(ioc);
    while (count < 3) {
        g_main_context_iteration(ctx, TRUE);
    }
    /* Nothing left to dispatch (the source removed itself). */
    g_assert_false(g_main_context_iteration(ctx, FALSE));
    g_main_context_unref(ctx);

    ioc = QIO_CHANNEL(qio_channel_buffer_new(0));
    qio_channel_wait(ioc, G_IO_OUT); /* returns immediately */
    g_assert_true(qio_channel_wait_timeout(ioc, G_IO_IN, 10));
    qio_channel_unref(ioc);
    qio_channel_unref(NULL);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/io/channel/buffer/write-seek-read",
                    test_buffer_write_seek_read);
    g_test_add_func("/io/channel/buffer/read-all-eof",
                    test_buffer_read_all_eof);
    g_test_add_func("/io/channel/buffer/growth-and-iov",
                    test_buffer_growth_and_iov);
    g_test_add_func("/io/channel/buffer/positional", test_buffer_positional);
    g_test_add_func("/io/channel/buffer/unsupported", test_buffer_unsupported);
    g_test_add_func("/io/channel/buffer/watch-and-refcount",
                    test_buffer_watch_and_refcount);
    return g_test_run();
}
