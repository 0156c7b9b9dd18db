/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test-io-channel-command.c: QIOChannelCommand: echo through cat, clean
 * EOF, a non-zero exit reported from read, write and close, no SIGPIPE in
 * the parent, spawn failure, a stuck child killed on close, non-blocking
 * reads, the pipe fds behind QIO_CHANNEL_FEATURE_PIPE.
 */
#include "qemu/osdep.h"
#include "io/channel-command.h"

static void test_command_cat_echo(void)
{
    const char *argv[] = {"cat", NULL};
    QIOChannelCommand *cioc;
    QIOChannel *ioc;
    char buf[6];

    cioc = qio_channel_command_new_spawn(argv, O_RDWR, &error_abort);
    ioc = QIO_CHANNEL(cioc);
    g_assert_cmpint(qio_channel_write_all(ioc, "hello\n", 6, &error_abort), ==,
                    0);
    g_assert_cmpint(qio_channel_read_all(ioc, buf, 6, &error_abort), ==, 0);
    g_assert_cmpmem(buf, 6, "hello\n", 6);
    /* Closing stdin lets cat exit 0: no error. */
    g_assert_cmpint(qio_channel_close(ioc, &error_abort), ==, 0);
    g_assert_true(cioc->reaped);
    g_assert_cmpint(qio_channel_close(ioc, &error_abort), ==, 0);
    qio_channel_unref(ioc);
}

static void test_command_eof(void)
{
    const char *argv[] = {"echo", "hi", NULL};
    QIOChannel *ioc;
    char buf[8];

    ioc = QIO_CHANNEL(
        qio_channel_command_new_spawn(argv, O_RDONLY, &error_abort));
    g_assert_cmpint(qio_channel_read_all(ioc, buf, 3, &error_abort), ==, 0);
    g_assert_cmpmem(buf, 3, "hi\n", 3);
    g_assert_cmpint(qio_channel_read(ioc, buf, sizeof(buf), &error_abort), ==,
                    0);
    g_assert_cmpint(qio_channel_close(ioc, &error_abort), ==, 0);
    qio_channel_unref(ioc);
}

static void test_command_exit_status_read(void)
{
    const char *argv[] = {"/bin/sh", "-c", "echo part; exit 3", NULL};
    QIOChannel *ioc;
    Error *err = NULL;
    char buf[64];

    ioc = QIO_CHANNEL(
        qio_channel_command_new_spawn(argv, O_RDONLY, &error_abort));
    g_assert_cmpint(qio_channel_read_all(ioc, buf, sizeof(buf), &err), ==, -1);
    g_assert_cmpstr(error_get_pretty(err), ==,
                    "Command '/bin/sh -c echo part; exit 3' exited with "
                    "status 3");
    error_free(err);
    err = NULL;
    g_assert_cmpint(qio_channel_close(ioc, &err), ==, -1);
    g_assert_cmpstr(error_get_pretty(err), ==,
                    "Command '/bin/sh -c echo part; exit 3' exited with "
                    "status 3");
    error_free(err);
    qio_channel_unref(ioc);
}

static void test_command_exit_status_write(void)
{
    const char *argv[] = {"/bin/sh", "-c", "exec 0<&-; exit 5", NULL};
    const char *argv0[] = {"true", NULL};
    QIOChannel *ioc;
    Error *err = NULL;
    char buf[4096] = {0};

    /* SIGPIPE is at its default here: a raised one would kill the test. */
    ioc = QIO_CHANNEL(
        qio_channel_command_new_spawn(argv, O_WRONLY, &error_abort));
    for (int i = 0; i < 1000 && !err; i++) {
        qio_channel_write_all(ioc, buf, sizeof(buf), &err);
    }
    g_assert_nonnull(err);
    g_assert_cmpstr(error_get_pretty(err), ==,
                    "Command '/bin/sh -c exec 0<&-; exit 5' exited with "
                    "status 5");
    error_free(err);
    err = NULL;
    qio_channel_close(ioc, &err);
    g_assert_nonnull(err);
    error_free(err);
    qio_channel_unref(ioc);

    /* A child that exited 0 but stopped reading: a plain EPIPE error. */
    err = NULL;
    ioc = QIO_CHANNEL(
        qio_channel_command_new_spawn(argv0, O_WRONLY, &error_abort));
    for (int i = 0; i < 1000 && !err; i++) {
        qio_channel_write_all(ioc, buf, sizeof(buf), &err);
    }
    g_assert_cmpstr(error_get_pretty(err), ==,
                    "Unable to write to command: Broken pipe");
    error_free(err);
    g_assert_cmpint(qio_channel_close(ioc, &error_abort), ==, 0);
    qio_channel_unref(ioc);
}

static void test_command_spawn_error(void)
{
    const char *argv[] = {"tern-no-such-command-xyz", NULL};
    Error *err = NULL;

    g_assert_null(qio_channel_command_new_spawn(argv, O_RDONLY, &err));
    g_assert_true(g_str_has_prefix(error_get_pretty(err),
                                   "Unable to spawn "
                                   "'tern-no-such-command-xyz': "));
    error_free(err);
}

static void test_command_close_kills(void)
{
    const char *stuck[] = {"sleep", "30", NULL};
    const char *yes[] = {"yes", NULL};
    QIOChannelCommand *cioc;
    Error *err = NULL;
    gint64 start = g_get_monotonic_time();
    char buf[16];

    /* A writer whose child ignores EOF on stdin is killed, and says so. */
    cioc = qio_channel_command_new_spawn(stuck, O_WRONLY, &error_abort);
    qio_channel_command_set_close_timeout(cioc, 100);
    g_assert_cmpint(qio_channel_close(QIO_CHANNEL(cioc), &err), ==, -1);
    g_assert_cmpstr(error_get_pretty(err), ==,
                    "Command 'sleep 30' did not exit after its input was "
                    "closed and was killed");
    error_free(err);
    g_assert_true(cioc->reaped);
    qio_channel_unref(QIO_CHANNEL(cioc));
    g_assert_cmpint(g_get_monotonic_time() - start, <, 3 * G_USEC_PER_SEC);

    /* A reader that stops early: the child's SIGPIPE is no error. */
    cioc = qio_channel_command_new_spawn(yes, O_RDONLY, &error_abort);
    qio_channel_read_all(QIO_CHANNEL(cioc), buf, sizeof(buf), &error_abort);
    g_assert_cmpmem(buf, 4, "y\ny\n", 4);
    g_assert_cmpint(qio_channel_close(QIO_CHANNEL(cioc), &error_abort), ==, 0);
    qio_channel_unref(QIO_CHANNEL(cioc));
}

static void test_command_nonblocking(void)
{
    const char *argv[] = {"/bin/sh", "-c", "sleep 0.2; echo late", NULL};
    QIOChannel *ioc;
    char buf[5];

    ioc = QIO_CHANNEL(
        qio_channel_command_new_spawn(argv, O_RDONLY, &error_abort));
    qio_channel_set_blocking(ioc, false, &error_abort);
    g_assert_cmpint(qio_channel_read(ioc, buf, 1, &error_abort), ==,
                    QIO_CHANNEL_ERR_BLOCK);
    /* read_all waits for the fd and retries. */
    g_assert_cmpint(qio_channel_read_all(ioc, buf, 5, &error_abort), ==, 0);
    g_assert_cmpmem(buf, 5, "late\n", 5);
    g_assert_cmpint(qio_channel_close(ioc, &error_abort), ==, 0);
    qio_channel_unref(ioc);
}

/* The pipe feature: each direction's pipe, -1 where there is none. */
static void test_command_pipe_fd(void)
{
    const char *argv[] = {"cat", NULL};
    QIOChannelCommand *cioc;
    QIOChannel *ioc;

    cioc = qio_channel_command_new_spawn(argv, O_WRONLY, &error_abort);
    ioc = QIO_CHANNEL(cioc);
    g_assert_true(qio_channel_has_feature(ioc, QIO_CHANNEL_FEATURE_PIPE));
    g_assert_cmpint(qio_channel_get_pipe_fd(ioc, true), ==, cioc->writefd);
    g_assert_cmpint(qio_channel_get_pipe_fd(ioc, true), >=, 0);
    g_assert_cmpint(qio_channel_get_pipe_fd(ioc, false), ==, -1);
    g_assert_cmpint(qio_channel_close(ioc, &error_abort), ==, 0);
    g_assert_cmpint(qio_channel_get_pipe_fd(ioc, true), ==, -1);
    qio_channel_unref(ioc);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/io/channel/command/cat-echo", test_command_cat_echo);
    g_test_add_func("/io/channel/command/eof", test_command_eof);
    g_test_add_func("/io/channel/command/exit-status-read",
                    test_command_exit_status_read);
    g_test_add_func("/io/channel/command/exit-status-write",
                    test_command_exit_status_write);
    g_test_add_func("/io/channel/command/spawn-error",
                    test_command_spawn_error);
    g_test_add_func("/io/channel/command/close-kills",
                    test_command_close_kills);
    g_test_add_func("/io/channel/command/pipe-fd", test_command_pipe_fd);
    g_test_add_func("/io/channel/command/nonblocking",
                    test_command_nonblocking);
    return g_test_run();
}
