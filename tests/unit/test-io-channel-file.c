/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test-io-channel-file.c: QIOChannelFile on a regular file (seekable,
 * positional I/O) and on a pipe (not seekable, non-blocking), and the
 * open error text.
 */
#include "qemu/osdep.h"
#include "io/channel-file.h"

static void test_file_path_rw(void)
{
    g_autofree char *dir = g_dir_make_tmp("tern-io-XXXXXX", NULL);
    g_autofree char *path = g_build_filename(dir, "f", NULL);
    QIOChannelFile *fioc;
    QIOChannel *ioc;
    char buf[16];
    struct iovec iov[2] = {{(char *)"head", 4}, {(char *)"tail", 4}};

    fioc = qio_channel_file_new_path(path, O_RDWR | O_CREAT | O_TRUNC, 0600,
                                     &error_abort);
    ioc = QIO_CHANNEL(fioc);
    g_assert_true(qio_channel_has_feature(ioc, QIO_CHANNEL_FEATURE_SEEKABLE));
    g_assert_cmpint(fcntl(fioc->fd, F_GETFD) & FD_CLOEXEC, !=, 0);
    g_assert_cmpint(qio_channel_writev_all(ioc, iov, 2, &error_abort), ==, 0);
    /* Positional writes don't move the file offset. */
    g_assert_cmpint(qio_channel_pwrite_all(ioc, "XY", 2, 100, &error_abort), ==,
                    0);
    g_assert_cmpint(qio_channel_io_seek(ioc, 0, SEEK_CUR, &error_abort), ==, 8);
    g_assert_cmpint(qio_channel_pread_all(ioc, buf, 2, 100, &error_abort), ==,
                    0);
    g_assert_cmpmem(buf, 2, "XY", 2);
    g_assert_cmpint(qio_channel_pread_all(ioc, buf, 4, 4, &error_abort), ==, 0);
    g_assert_cmpmem(buf, 4, "tail", 4);
    g_assert_cmpint(qio_channel_io_seek(ioc, 0, SEEK_SET, &error_abort), ==, 0);
    g_assert_cmpint(qio_channel_read_all(ioc, buf, 8, &error_abort), ==, 0);
    g_assert_cmpmem(buf, 8, "headtail", 8);
    g_assert_cmpint(qio_channel_close(ioc, &error_abort), ==, 0);
    g_assert_cmpint(qio_channel_close(ioc, &error_abort), ==, 0);
    qio_channel_unref(ioc);
    unlink(path);
    rmdir(dir);
}

static void test_file_eof_errors(void)
{
    g_autofree char *dir = g_dir_make_tmp("tern-io-XXXXXX", NULL);
    g_autofree char *path = g_build_filename(dir, "f", NULL);
    QIOChannel *ioc;
    Error *err = NULL;
    char buf[16];

    g_assert_true(g_file_set_contents(path, "short", 5, NULL));
    ioc =
        QIO_CHANNEL(qio_channel_file_new_path(path, O_RDONLY, 0, &error_abort));
    g_assert_cmpint(qio_channel_read_all(ioc, buf, 10, &err), ==, -1);
    g_assert_cmpstr(error_get_pretty(err), ==,
                    "Unexpected end-of-file before all data were read");
    error_free(err);
    err = NULL;
    g_assert_cmpint(qio_channel_pread_all(ioc, buf, 10, 0, &err), ==, -1);
    g_assert_cmpstr(error_get_pretty(err), ==,
                    "Unexpected end-of-file before all data were read");
    error_free(err);
    err = NULL;
    /* Writing to a read-only fd. */
    g_assert_cmpint(qio_channel_write_all(ioc, "x", 1, &err), ==, -1);
    g_assert_cmpstr(error_get_pretty(err), ==,
                    "Unable to write to file: Bad file descriptor");
    error_free(err);
    qio_channel_unref(ioc);
    unlink(path);
    rmdir(dir);
}

static void test_file_open_error(void)
{
    Error *err = NULL;

    g_assert_null(qio_channel_file_new_path("/tmp/tern-io-no-such/file",
                                            O_RDONLY, 0, &err));
    g_assert_cmpstr(error_get_pretty(err), ==,
                    "Unable to open /tmp/tern-io-no-such/file: "
                    "No such file or directory");
    error_free(err);
}

static void test_file_pipe(void)
{
    int pfd[2];
    QIOChannel *r, *w;
    Error *err = NULL;
    char buf[4];

    g_assert_cmpint(pipe(pfd), ==, 0);
    r = QIO_CHANNEL(qio_channel_file_new_fd(pfd[0]));
    w = QIO_CHANNEL(qio_channel_file_new_fd(pfd[1]));
    g_assert_false(qio_channel_has_feature(r, QIO_CHANNEL_FEATURE_SEEKABLE));
    g_assert_cmpint(qio_channel_preadv(r, &(struct iovec){buf, 1}, 1, 0, &err),
                    ==, -1);
    g_assert_nonnull(err);
    error_free(err);
    err = NULL;
    g_assert_cmpint(qio_channel_io_seek(r, 0, SEEK_SET, &err), ==, -1);
    g_assert_nonnull(err);
    error_free(err);

    qio_channel_set_blocking(r, false, &error_abort);
    g_assert_cmpint(qio_channel_read(r, buf, 4, &error_abort), ==,
                    QIO_CHANNEL_ERR_BLOCK);
    g_assert_false(qio_channel_wait_timeout(r, G_IO_IN, 10));
    qio_channel_write_all(w, "abcd", 4, &error_abort);
    qio_channel_wait(r, G_IO_IN);
    g_assert_cmpint(qio_channel_read_all(r, buf, 4, &error_abort), ==, 0);
    g_assert_cmpmem(buf, 4, "abcd", 4);
    qio_channel_unref(w);
    /* The writer is gone: the watch wakes (HUP) and read gives EOF. */
    qio_channel_wait(r, G_IO_IN);
    g_assert_cmpint(qio_channel_read(r, buf, 4, &error_abort), ==, 0);
    qio_channel_unref(r);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/io/channel/file/path-rw", test_file_path_rw);
    g_test_add_func("/io/channel/file/eof-errors", test_file_eof_errors);
    g_test_add_func("/io/channel/file/open-error", test_file_open_error);
    g_test_add_func("/io/channel/file/pipe", test_file_pipe);
    return g_test_run();
}
