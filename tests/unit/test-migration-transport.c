/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test-migration-transport.c: the transport table: each URI prefix finds
 * its row with the right argument (tcp: without its prefix, unix: and
 * vsock: with it), which rows can carry several channels, which
 * channels carry the destination's verdict (sockets, and fd: only when
 * its fd is one), unknown prefixes find nothing, rdma: is refused with
 * the TLS reason first.
 */
#include "qemu/osdep.h"
#include "qapi/error.h"
#include "migration/options.h"
#include "io/channel-file.h"
#include "io/channel-socket.h"
#include "../../migration/transport.h"

/* Stand-ins for what options.c and the table reference. */
bool migration_is_running(void)
{
    return false;
}

void migration_parameters_changed(void)
{
}

#define STUB_OPEN(name)                                                        \
    QIOChannel *name(MigrationState *s, const char *arg, Error **errp)         \
    {                                                                          \
        return NULL;                                                           \
    }
#define STUB_START(name)                                                       \
    bool name(const char *arg, Error **errp)                                   \
    {                                                                          \
        return true;                                                           \
    }
STUB_OPEN(socket_outgoing_open)
STUB_OPEN(fd_outgoing_open)
STUB_OPEN(exec_outgoing_open)
STUB_OPEN(file_outgoing_open)
STUB_START(socket_incoming_start)
STUB_START(fd_incoming_start)
STUB_START(exec_incoming_start)
STUB_START(file_incoming_start)

static int exec_cancels;

void exec_outgoing_cancel(MigrationState *s)
{
    exec_cancels++;
}

char *socket_tls_hostname(const char *addr)
{
    return g_strdup(addr);
}

static void check_row(const char *uri, const char *arg, bool multi, void *open,
                      void *start)
{
    const MigrationTransport *t = migration_transport_find(uri);

    g_assert_nonnull(t);
    g_assert_true(g_str_has_prefix(uri, t->prefix));
    g_assert_cmpstr(migration_transport_arg(t, uri), ==, arg);
    g_assert_cmpint(t->multi_channel, ==, multi);
    g_assert_true((void *)t->outgoing_open == open);
    g_assert_true((void *)t->incoming_start == start);
}

static void test_transport_rows(void)
{
    check_row("tcp:127.0.0.1:4444", "127.0.0.1:4444", true,
              socket_outgoing_open, socket_incoming_start);
    check_row("unix:/tmp/s", "unix:/tmp/s", true, socket_outgoing_open,
              socket_incoming_start);
    check_row("vsock:3:1234", "vsock:3:1234", true, socket_outgoing_open,
              socket_incoming_start);
    check_row("exec:cat", "cat", false, exec_outgoing_open,
              exec_incoming_start);
    check_row("fd:mig", "mig", false, fd_outgoing_open, fd_incoming_start);
    check_row("file:/tmp/x,offset=4k", "/tmp/x,offset=4k", false,
              file_outgoing_open, file_incoming_start);
    g_assert_true(migration_transport_find("fd:3")->monitor_fd);
    g_assert_false(migration_transport_find("tcp:h:1")->monitor_fd);
    g_assert_nonnull(migration_transport_find("tcp:h:1")->tls_hostname);
    g_assert_null(migration_transport_find("unix:/x")->tls_hostname);
}

/*
 * The verdict is asked wherever the channel carries a reply: every
 * socket row, fd: when its fd is a socket (a socket channel, as fd.c
 * makes one), never over a pipe, a file or exec:.
 */
static void test_transport_carries_reply(void)
{
    const MigrationTransport *fd = migration_transport_find("fd:mig");
    QIOChannelSocket *sock;
    QIOChannelFile *pipe_ch;
    int sv[2], pfd[2];

    g_assert_true(migration_transport_carries_reply(
        migration_transport_find("tcp:h:1"), NULL));
    g_assert_true(migration_transport_carries_reply(
        migration_transport_find("unix:/x"), NULL));
    g_assert_false(migration_transport_carries_reply(
        migration_transport_find("exec:cat"), NULL));
    g_assert_false(migration_transport_carries_reply(
        migration_transport_find("file:/x"), NULL));
    g_assert_false(migration_transport_carries_reply(NULL, NULL));

    g_assert_cmpint(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), ==, 0);
    sock = qio_channel_socket_new_fd(sv[0], &error_abort);
    g_assert_true(migration_transport_carries_reply(fd, QIO_CHANNEL(sock)));
    qio_channel_unref(QIO_CHANNEL(sock));
    close(sv[1]);

    g_assert_cmpint(pipe(pfd), ==, 0);
    pipe_ch = qio_channel_file_new_fd(pfd[1]);
    g_assert_false(migration_transport_carries_reply(fd, QIO_CHANNEL(pipe_ch)));
    qio_channel_unref(QIO_CHANNEL(pipe_ch));
    close(pfd[0]);
}

/* The cancel eventfd: readable after a cancel, clear after a reset. */
static void test_transport_cancel(void)
{
    MigrationState s = {.uri = (char *)"exec:cat"};

    g_assert_cmpint(migration_transport_cancel_fd(), >=, 0);
    migration_transport_cancel_reset();
    g_assert_false(migration_transport_cancelled(0));
    migration_transport_cancel(&s);
    migration_transport_cancel(&s); /* twice: still one reset clears it */
    g_assert_true(migration_transport_cancelled(0));
    g_assert_true(migration_transport_cancelled(10)); /* level, not edge */
    g_assert_cmpint(exec_cancels, ==, 2);
    migration_transport_cancel_reset();
    g_assert_false(migration_transport_cancelled(10));

    /* only exec: has something to kill */
    s.uri = (char *)"tcp:localhost:1";
    migration_transport_cancel(&s);
    g_assert_cmpint(exec_cancels, ==, 2);
    g_assert_true(migration_transport_cancelled(0));
    migration_transport_cancel_reset();
}

static void test_transport_unknown(void)
{
    g_assert_null(migration_transport_find("foo:bar"));
    g_assert_null(migration_transport_find("tcp"));
    g_assert_null(migration_transport_find(""));
    g_assert_null(migration_transport_find("rdma:1.2.3.4:5"));
}

static void test_transport_rdma(void)
{
    Error *err = NULL;

    g_assert_false(migration_transport_refuse("tcp:h:1", &err));
    g_assert_null(err);
    g_assert_true(migration_transport_refuse("rdma:h:1", &err));
    g_assert_cmpstr(error_get_pretty(err), ==,
                    "RDMA migration is not supported by Tern yet");
    error_free(err);
    err = NULL;
    g_assert_true(migrate_parameter_set_str("tls-creds", "tls0", &error_abort));
    g_assert_true(migration_transport_refuse("rdma:h:1", &err));
    g_assert_cmpstr(error_get_pretty(err), ==,
                    "TLS is not supported with RDMA migration "
                    "(tls-creds is set)");
    error_free(err);
    migrate_options_reset();
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    migrate_options_reset();
    g_test_add_func("/migration/transport/rows", test_transport_rows);
    g_test_add_func("/migration/transport/unknown", test_transport_unknown);
    g_test_add_func("/migration/transport/carries-reply",
                    test_transport_carries_reply);
    g_test_add_func("/migration/transport/cancel", test_transport_cancel);
    g_test_add_func("/migration/transport/rdma", test_transport_rdma);
    return g_test_run();
}
