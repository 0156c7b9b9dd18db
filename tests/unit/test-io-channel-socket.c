/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test-io-channel-socket.c: QIOChannelSocket over loopback TCP (IPv4 and
 * IPv6) and unix sockets: echo, fd passing, QEMU's error texts, EOF in
 * the middle of a transfer, short transfers, non-blocking mode, async
 * connect, shutdown waking a blocked reader.
 */
#include "qemu/osdep.h"
#include <sys/socket.h>
#include <sys/stat.h>
#include <netinet/in.h>
#include <sys/eventfd.h>
#include <sys/un.h>
#include "io/channel-socket.h"

static SocketAddress *make_inet(const char *host, const char *port)
{
    SocketAddress *addr = g_new0(SocketAddress, 1);

    addr->type = SOCKET_ADDRESS_TYPE_INET;
    addr->host = g_strdup(host);
    addr->port = g_strdup(port);
    return addr;
}

static SocketAddress *make_unix(const char *path)
{
    SocketAddress *addr = g_new0(SocketAddress, 1);

    addr->type = SOCKET_ADDRESS_TYPE_UNIX;
    addr->path = g_strdup(path);
    return addr;
}

static bool have_ipv6(void)
{
    struct sockaddr_in6 sa = {.sin6_family = AF_INET6,
                              .sin6_addr = IN6ADDR_LOOPBACK_INIT};
    int fd = socket(AF_INET6, SOCK_STREAM, 0);
    bool ok;

    if (fd < 0) {
        return false;
    }
    ok = bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
    close(fd);
    return ok;
}

/* A listener on @laddr, plus a connected client/server pair. */
static void make_pair(SocketAddress *laddr, QIOChannelSocket **listener,
                      QIOChannelSocket **client, QIOChannelSocket **server)
{
    SocketAddress *real;

    *listener = qio_channel_socket_new();
    g_assert_cmpint(
        qio_channel_socket_listen_sync(*listener, laddr, 1, &error_abort), ==,
        0);
    g_assert_true(qio_channel_has_feature(QIO_CHANNEL(*listener),
                                          QIO_CHANNEL_FEATURE_LISTEN));
    real = qio_channel_socket_get_local_address(*listener, &error_abort);
    if (laddr->type == SOCKET_ADDRESS_TYPE_INET) {
        g_assert_cmpstr(real->port, !=, "0");
    }
    *client = qio_channel_socket_new();
    g_assert_cmpint(
        qio_channel_socket_connect_sync(*client, real, &error_abort), ==, 0);
    *server = qio_channel_socket_accept(*listener, &error_abort);
    g_assert_nonnull(*server);
    qio_socket_address_free(real);
}

static void echo_roundtrip(QIOChannel *a, QIOChannel *b)
{
    char buf[64];

    g_assert_cmpint(qio_channel_write_all(a, "ping", 4, &error_abort), ==, 0);
    g_assert_cmpint(qio_channel_read_all(b, buf, 4, &error_abort), ==, 0);
    g_assert_cmpmem(buf, 4, "ping", 4);
    g_assert_cmpint(qio_channel_write_all(b, buf, 4, &error_abort), ==, 0);
    g_assert_cmpint(qio_channel_read_all(a, buf, 4, &error_abort), ==, 0);
    g_assert_cmpmem(buf, 4, "ping", 4);
}

static void test_socket_tcp(const char *host)
{
    SocketAddress *laddr = make_inet(host, "0");
    QIOChannelSocket *lsn, *cli, *srv;
    SocketAddress *caddr, *speer;

    make_pair(laddr, &lsn, &cli, &srv);
    echo_roundtrip(QIO_CHANNEL(cli), QIO_CHANNEL(srv));

    /* The server sees the client's local address as its peer. */
    caddr = qio_channel_socket_get_local_address(cli, &error_abort);
    speer = qio_channel_socket_get_remote_address(srv, &error_abort);
    g_assert_cmpint(caddr->type, ==, SOCKET_ADDRESS_TYPE_INET);
    g_assert_cmpstr(caddr->host, ==, host);
    g_assert_cmpstr(caddr->host, ==, speer->host);
    g_assert_cmpstr(caddr->port, ==, speer->port);
    g_assert_true(qio_channel_has_feature(QIO_CHANNEL(cli),
                                          QIO_CHANNEL_FEATURE_SHUTDOWN));
    g_assert_false(
        qio_channel_has_feature(QIO_CHANNEL(cli), QIO_CHANNEL_FEATURE_FD_PASS));
    /* Cork/uncork are harmless on TCP. */
    qio_channel_set_cork(QIO_CHANNEL(cli), true);
    qio_channel_set_cork(QIO_CHANNEL(cli), false);
    qio_channel_set_delay(QIO_CHANNEL(cli), false);
    echo_roundtrip(QIO_CHANNEL(cli), QIO_CHANNEL(srv));

    qio_socket_address_free(caddr);
    qio_socket_address_free(speer);
    qio_socket_address_free(laddr);
    qio_channel_unref(QIO_CHANNEL(cli));
    qio_channel_unref(QIO_CHANNEL(srv));
    qio_channel_unref(QIO_CHANNEL(lsn));
}

static void test_socket_tcp_ipv4(void)
{
    test_socket_tcp("127.0.0.1");
}

static void test_socket_tcp_ipv6(void)
{
    if (!have_ipv6()) {
        g_test_skip("no IPv6 loopback");
        return;
    }
    test_socket_tcp("::1");
}

static void test_socket_unix(void)
{
    g_autofree char *dir = g_dir_make_tmp("tern-io-XXXXXX", NULL);
    g_autofree char *path = g_build_filename(dir, "sock", NULL);
    SocketAddress *laddr = make_unix(path);
    QIOChannelSocket *lsn, *cli, *srv;
    SocketAddress *local;
    struct stat st;

    /* A stale socket from an earlier run is replaced. */
    lsn = qio_channel_socket_new();
    g_assert_cmpint(qio_channel_socket_listen_sync(lsn, laddr, 1, &error_abort),
                    ==, 0);
    /* Pretend it crashed: drop the fd without removing the path. */
    close(lsn->fd);
    lsn->fd = -1;
    g_free(lsn->unlink_path);
    lsn->unlink_path = NULL;
    qio_channel_unref(QIO_CHANNEL(lsn));
    g_assert_cmpint(stat(path, &st), ==, 0);

    make_pair(laddr, &lsn, &cli, &srv);
    g_assert_true(
        qio_channel_has_feature(QIO_CHANNEL(cli), QIO_CHANNEL_FEATURE_FD_PASS));
    echo_roundtrip(QIO_CHANNEL(cli), QIO_CHANNEL(srv));
    local = qio_channel_socket_get_local_address(lsn, &error_abort);
    g_assert_cmpint(local->type, ==, SOCKET_ADDRESS_TYPE_UNIX);
    g_assert_cmpstr(local->path, ==, path);
    qio_socket_address_free(local);

    qio_channel_unref(QIO_CHANNEL(cli));
    qio_channel_unref(QIO_CHANNEL(srv));
    /* Closing the listener removes its path. */
    g_assert_cmpint(qio_channel_close(QIO_CHANNEL(lsn), &error_abort), ==, 0);
    g_assert_cmpint(stat(path, &st), ==, -1);
    qio_channel_unref(QIO_CHANNEL(lsn));
    qio_socket_address_free(laddr);
    rmdir(dir);
}

static void test_socket_unix_not_socket(void)
{
    g_autofree char *dir = g_dir_make_tmp("tern-io-XXXXXX", NULL);
    g_autofree char *path = g_build_filename(dir, "file", NULL);
    SocketAddress *addr = make_unix(path);
    QIOChannelSocket *lsn = qio_channel_socket_new();
    g_autofree char *want = NULL;
    Error *err = NULL;

    /* A regular file at the path is never removed. */
    g_assert_true(g_file_set_contents(path, "x", 1, NULL));
    g_assert_cmpint(qio_channel_socket_listen_sync(lsn, addr, 1, &err), ==, -1);
    want = g_strdup_printf("Failed to bind socket to %s: "
                           "Address already in use",
                           path);
    g_assert_cmpstr(error_get_pretty(err), ==, want);
    error_free(err);
    g_assert_true(g_file_test(path, G_FILE_TEST_EXISTS));
    qio_channel_unref(QIO_CHANNEL(lsn));
    qio_socket_address_free(addr);
    unlink(path);
    rmdir(dir);
}

static void test_socket_fd_pass(void)
{
    g_autofree char *dir = g_dir_make_tmp("tern-io-XXXXXX", NULL);
    g_autofree char *path = g_build_filename(dir, "sock", NULL);
    SocketAddress *laddr = make_unix(path);
    QIOChannelSocket *lsn, *cli, *srv;
    int pfd[2];
    int *fds = NULL;
    size_t nfds = 0;
    char buf[8];
    struct iovec iov = {.iov_base = (char *)"fdmsg", .iov_len = 5};
    struct iovec riov = {.iov_base = buf, .iov_len = 5};

    make_pair(laddr, &lsn, &cli, &srv);
    g_assert_cmpint(pipe(pfd), ==, 0);
    g_assert_cmpint(qio_channel_writev_full_all(QIO_CHANNEL(cli), &iov, 1,
                                                &pfd[1], 1, &error_abort),
                    ==, 0);
    close(pfd[1]);
    g_assert_cmpint(qio_channel_readv_full_all(QIO_CHANNEL(srv), &riov, 1, &fds,
                                               &nfds, &error_abort),
                    ==, 0);
    g_assert_cmpmem(buf, 5, "fdmsg", 5);
    g_assert_cmpuint(nfds, ==, 1);
    /* The received fd is the pipe's write end: prove it. */
    g_assert_cmpint(write(fds[0], "z", 1), ==, 1);
    g_assert_cmpint(read(pfd[0], buf, 1), ==, 1);
    g_assert_cmpint(buf[0], ==, 'z');
    g_assert_cmpint(fcntl(fds[0], F_GETFD) & FD_CLOEXEC, !=, 0);
    close(fds[0]);
    g_free(fds);
    close(pfd[0]);

    qio_channel_unref(QIO_CHANNEL(cli));
    qio_channel_unref(QIO_CHANNEL(srv));
    qio_channel_unref(QIO_CHANNEL(lsn));
    qio_socket_address_free(laddr);
    rmdir(dir);
}

/* A port nothing listens on (bound then closed). */
static char *unused_port(void)
{
    SocketAddress *laddr = make_inet("127.0.0.1", "0");
    QIOChannelSocket *lsn = qio_channel_socket_new();
    SocketAddress *real;
    char *port;

    qio_channel_socket_listen_sync(lsn, laddr, 1, &error_abort);
    real = qio_channel_socket_get_local_address(lsn, &error_abort);
    port = g_strdup(real->port);
    qio_channel_unref(QIO_CHANNEL(lsn));
    qio_socket_address_free(real);
    qio_socket_address_free(laddr);
    return port;
}

static void test_socket_connect_errors(void)
{
    g_autofree char *port = unused_port();
    g_autofree char *want = NULL;
    SocketAddress *addr = make_inet("127.0.0.1", port);
    QIOChannelSocket *sioc = qio_channel_socket_new();
    Error *err = NULL;

    g_assert_cmpint(qio_channel_socket_connect_sync(sioc, addr, &err), ==, -1);
    want = g_strdup_printf("Failed to connect to '127.0.0.1:%s': "
                           "Connection refused",
                           port);
    g_assert_cmpstr(error_get_pretty(err), ==, want);
    error_free(err);
    err = NULL;
    qio_socket_address_free(addr);

    addr = make_unix("/tmp/tern-io-test-no-such-dir/sock");
    g_assert_cmpint(qio_channel_socket_connect_sync(sioc, addr, &err), ==, -1);
    g_assert_cmpstr(error_get_pretty(err), ==,
                    "Failed to connect to '/tmp/tern-io-test-no-such-dir/"
                    "sock': No such file or directory");
    error_free(err);
    err = NULL;
    qio_socket_address_free(addr);

    addr = make_inet("nonexistent.invalid", "1234");
    g_assert_cmpint(qio_channel_socket_connect_sync(sioc, addr, &err), ==, -1);
    /* The resolver's own text differs between "not known" and no DNS. */
    g_assert_true(g_str_has_prefix(error_get_pretty(err),
                                   "address resolution failed for "
                                   "nonexistent.invalid:1234: "));
    error_free(err);
    err = NULL;
    qio_socket_address_free(addr);

    addr = make_inet("127.0.0.1", "");
    g_assert_cmpint(qio_channel_socket_connect_sync(sioc, addr, &err), ==, -1);
    g_assert_cmpstr(error_get_pretty(err), ==,
                    "host and/or port not specified");
    error_free(err);
    err = NULL;
    qio_socket_address_free(addr);

    addr = g_new0(SocketAddress, 1);
    addr->type = SOCKET_ADDRESS_TYPE_VSOCK;
    addr->cid = g_strdup("host");
    addr->port = g_strdup("1234");
    g_assert_cmpint(qio_channel_socket_connect_sync(sioc, addr, &err), ==, -1);
    g_assert_cmpstr(error_get_pretty(err), ==, "Failed to parse cid 'host'");
    error_free(err);
    qio_socket_address_free(addr);

    g_assert_cmpint(sioc->fd, ==, -1);
    qio_channel_unref(QIO_CHANNEL(sioc));
}

static void test_socket_listen_in_use(void)
{
    SocketAddress *laddr = make_inet("127.0.0.1", "0");
    QIOChannelSocket *a = qio_channel_socket_new();
    QIOChannelSocket *b = qio_channel_socket_new();
    SocketAddress *real;
    Error *err = NULL;

    qio_channel_socket_listen_sync(a, laddr, 1, &error_abort);
    real = qio_channel_socket_get_local_address(a, &error_abort);
    g_assert_cmpint(qio_channel_socket_listen_sync(b, real, 1, &err), ==, -1);
    g_assert_cmpstr(error_get_pretty(err), ==,
                    "Failed to find an available port: "
                    "Address already in use");
    error_free(err);
    qio_socket_address_free(real);
    qio_socket_address_free(laddr);
    qio_channel_unref(QIO_CHANNEL(a));
    qio_channel_unref(QIO_CHANNEL(b));
}

static void test_socket_eof_mid_transfer(void)
{
    SocketAddress *laddr = make_inet("127.0.0.1", "0");
    QIOChannelSocket *lsn, *cli, *srv;
    Error *err = NULL;
    char buf[20];

    make_pair(laddr, &lsn, &cli, &srv);
    qio_channel_write_all(QIO_CHANNEL(cli), "0123456789", 10, &error_abort);
    qio_channel_unref(QIO_CHANNEL(cli));
    g_assert_cmpint(qio_channel_read_all(QIO_CHANNEL(srv), buf, 20, &err), ==,
                    -1);
    g_assert_cmpstr(error_get_pretty(err), ==,
                    "Unexpected end-of-file before all data were read");
    error_free(err);
    /* Clean EOF at a boundary is 0 from read_all_eof. */
    g_assert_cmpint(
        qio_channel_read_all_eof(QIO_CHANNEL(srv), buf, 4, &error_abort), ==,
        0);

    /* Writing to a closed peer is an error, not a SIGPIPE. */
    err = NULL;
    for (int i = 0; i < 100 && !err; i++) {
        qio_channel_write_all(QIO_CHANNEL(srv), buf, sizeof(buf), &err);
    }
    g_assert_nonnull(err);
    g_assert_true(
        g_str_has_prefix(error_get_pretty(err), "Unable to write to socket: "));
    error_free(err);

    qio_channel_unref(QIO_CHANNEL(srv));
    qio_channel_unref(QIO_CHANNEL(lsn));
    qio_socket_address_free(laddr);
}

#define BULK_PAGES 1500 /* > IOV_MAX, to exercise the split */
#define BULK_PAGE 4096

typedef struct BulkData {
    QIOChannel *ioc;
    uint8_t *buf;
    bool nonblocking;
} BulkData;

static gpointer bulk_writer(gpointer opaque)
{
    BulkData *d = opaque;
    struct iovec *iov = g_new(struct iovec, BULK_PAGES);

    for (int i = 0; i < BULK_PAGES; i++) {
        iov[i].iov_base = d->buf + (size_t)i * BULK_PAGE;
        iov[i].iov_len = BULK_PAGE;
    }
    if (d->nonblocking) {
        qio_channel_set_blocking(d->ioc, false, &error_abort);
    }
    g_assert_cmpint(
        qio_channel_writev_all(d->ioc, iov, BULK_PAGES, &error_abort), ==, 0);
    g_free(iov);
    return NULL;
}

static void test_socket_bulk(bool nonblocking)
{
    SocketAddress *laddr = make_inet("127.0.0.1", "0");
    QIOChannelSocket *lsn, *cli, *srv;
    size_t total = (size_t)BULK_PAGES * BULK_PAGE;
    uint8_t *src = g_malloc(total), *dst = g_malloc0(total);
    BulkData d;
    GThread *th;
    int small = 32768;
    ssize_t n;

    for (size_t i = 0; i < total; i++) {
        src[i] = (i * 131) ^ (i >> 12);
    }
    make_pair(laddr, &lsn, &cli, &srv);
    /* Small buffers force many short reads and writes. */
    setsockopt(cli->fd, SOL_SOCKET, SO_SNDBUF, &small, sizeof(small));
    setsockopt(srv->fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));

    if (nonblocking) {
        char c;

        qio_channel_set_blocking(QIO_CHANNEL(srv), false, &error_abort);
        n = qio_channel_read(QIO_CHANNEL(srv), &c, 1, &error_abort);
        g_assert_cmpint(n, ==, QIO_CHANNEL_ERR_BLOCK);
        g_assert_false(qio_channel_wait_timeout(QIO_CHANNEL(srv), G_IO_IN, 20));
    }
    d.ioc = QIO_CHANNEL(cli);
    d.buf = src;
    d.nonblocking = nonblocking;
    th = g_thread_new("bulk-writer", bulk_writer, &d);
    g_assert_cmpint(qio_channel_read_all(QIO_CHANNEL(srv), (char *)dst, total,
                                         &error_abort),
                    ==, 0);
    g_thread_join(th);
    g_assert_true(memcmp(src, dst, total) == 0);

    qio_channel_unref(QIO_CHANNEL(cli));
    qio_channel_unref(QIO_CHANNEL(srv));
    qio_channel_unref(QIO_CHANNEL(lsn));
    qio_socket_address_free(laddr);
    g_free(src);
    g_free(dst);
}

static void test_socket_bulk_blocking(void)
{
    test_socket_bulk(false);
}

static void test_socket_bulk_nonblocking(void)
{
    test_socket_bulk(true);
}

static void test_socket_peek(void)
{
    SocketAddress *laddr = make_inet("127.0.0.1", "0");
    QIOChannelSocket *lsn, *cli, *srv;
    char buf[4];
    struct iovec iov = {.iov_base = buf, .iov_len = 4};

    make_pair(laddr, &lsn, &cli, &srv);
    qio_channel_write_all(QIO_CHANNEL(cli), "QEVM", 4, &error_abort);
    /* Loopback delivers at once, but peek may still see a partial. */
    while (qio_channel_readv_full(QIO_CHANNEL(srv), &iov, 1, NULL, NULL,
                                  QIO_CHANNEL_READ_FLAG_MSG_PEEK,
                                  &error_abort) < 4) {
        g_usleep(1000);
    }
    g_assert_cmpmem(buf, 4, "QEVM", 4);
    memset(buf, 0, 4);
    qio_channel_read_all(QIO_CHANNEL(srv), buf, 4, &error_abort);
    g_assert_cmpmem(buf, 4, "QEVM", 4);
    qio_channel_unref(QIO_CHANNEL(cli));
    qio_channel_unref(QIO_CHANNEL(srv));
    qio_channel_unref(QIO_CHANNEL(lsn));
    qio_socket_address_free(laddr);
}

static void test_socket_fd_address(void)
{
    int sv[2];
    SocketAddress addr = {.type = SOCKET_ADDRESS_TYPE_FD};
    QIOChannelSocket *sioc = qio_channel_socket_new();
    Error *err = NULL;
    struct stat st;
    char buf[2];

    g_assert_cmpint(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), ==, 0);
    addr.fd_name = g_strdup_printf("%d", sv[0]);
    g_assert_cmpint(qio_channel_socket_connect_sync(sioc, &addr, &error_abort),
                    ==, 0);
    g_assert_cmpint(write(sv[1], "hi", 2), ==, 2);
    qio_channel_read_all(QIO_CHANNEL(sioc), buf, 2, &error_abort);
    g_assert_cmpmem(buf, 2, "hi", 2);
    qio_channel_unref(QIO_CHANNEL(sioc)); /* closes sv[0] */
    close(sv[1]);
    g_free(addr.fd_name);

    sioc = qio_channel_socket_new();
    addr.fd_name = (char *)"mon-fd";
    g_assert_cmpint(qio_channel_socket_connect_sync(sioc, &addr, &err), ==, -1);
    g_assert_cmpstr(error_get_pretty(err), ==,
                    "Unable to parse FD number mon-fd");
    error_free(err);
    err = NULL;
    addr.fd_name = (char *)"0";
    if (fstat(0, &st) == 0 && !S_ISSOCK(st.st_mode)) {
        /* stdin is not a socket here (usual under meson) */
        g_assert_cmpint(qio_channel_socket_connect_sync(sioc, &addr, &err), ==,
                        -1);
        g_assert_cmpstr(error_get_pretty(err), ==,
                        "File descriptor '0' is not a socket");
        error_free(err);
    }
    qio_channel_unref(QIO_CHANNEL(sioc));
}

typedef struct AsyncData {
    GMainLoop *loop;
    GThread *thread;
    Error *err;
    bool called;
} AsyncData;

static void async_done(QIOTask *task, gpointer opaque)
{
    AsyncData *d = opaque;

    g_assert_true(g_thread_self() == d->thread);
    d->called = true;
    qio_task_propagate_error(task, &d->err);
    g_main_loop_quit(d->loop);
}

static void test_socket_connect_async(void)
{
    g_autofree char *port = unused_port();
    g_autofree char *want = NULL;
    GMainContext *ctx = g_main_context_new();
    AsyncData d = {.loop = g_main_loop_new(ctx, FALSE),
                   .thread = g_thread_self()};
    SocketAddress *addr = make_inet("127.0.0.1", port);
    QIOChannelSocket *sioc = qio_channel_socket_new();
    SocketAddress *laddr = make_inet("127.0.0.1", "0");
    QIOChannelSocket *lsn = qio_channel_socket_new();
    QIOChannelSocket *srv;
    SocketAddress *real;

    qio_channel_socket_connect_async(sioc, addr, async_done, &d, NULL, ctx);
    qio_socket_address_free(addr); /* copied by connect_async */
    g_main_loop_run(d.loop);
    g_assert_true(d.called);
    want = g_strdup_printf("Failed to connect to '127.0.0.1:%s': "
                           "Connection refused",
                           port);
    g_assert_nonnull(d.err);
    g_assert_cmpstr(error_get_pretty(d.err), ==, want);
    error_free(d.err);
    d.err = NULL;
    qio_channel_unref(QIO_CHANNEL(sioc));

    /* And a successful one. */
    qio_channel_socket_listen_sync(lsn, laddr, 1, &error_abort);
    real = qio_channel_socket_get_local_address(lsn, &error_abort);
    sioc = qio_channel_socket_new();
    d.called = false;
    qio_channel_socket_connect_async(sioc, real, async_done, &d, NULL, ctx);
    g_main_loop_run(d.loop);
    g_assert_true(d.called);
    g_assert_null(d.err);
    srv = qio_channel_socket_accept(lsn, &error_abort);
    echo_roundtrip(QIO_CHANNEL(sioc), QIO_CHANNEL(srv));

    qio_channel_unref(QIO_CHANNEL(srv));
    qio_channel_unref(QIO_CHANNEL(sioc));
    qio_channel_unref(QIO_CHANNEL(lsn));
    qio_socket_address_free(real);
    qio_socket_address_free(laddr);
    g_main_loop_unref(d.loop);
    g_main_context_unref(ctx);
}

typedef struct ReaderData {
    QIOChannel *ioc;
    int ret;
    Error *err;
} ReaderData;

static gpointer blocked_reader(gpointer opaque)
{
    ReaderData *d = opaque;
    char buf[16];

    d->ret = qio_channel_read_all(d->ioc, buf, sizeof(buf), &d->err);
    return NULL;
}

static void test_socket_shutdown_wakes_reader(void)
{
    SocketAddress *laddr = make_inet("127.0.0.1", "0");
    QIOChannelSocket *lsn, *cli, *srv;
    ReaderData d = {0};
    GThread *th;
    gint64 start;

    make_pair(laddr, &lsn, &cli, &srv);
    d.ioc = QIO_CHANNEL(srv);
    th = g_thread_new("reader", blocked_reader, &d);
    g_usleep(50 * 1000); /* let it block in recvmsg */
    start = g_get_monotonic_time();
    g_assert_cmpint(qio_channel_shutdown(QIO_CHANNEL(srv),
                                         QIO_CHANNEL_SHUTDOWN_BOTH,
                                         &error_abort),
                    ==, 0);
    g_thread_join(th);
    g_assert_cmpint(g_get_monotonic_time() - start, <, G_USEC_PER_SEC);
    g_assert_cmpint(d.ret, ==, -1);
    g_assert_nonnull(d.err);
    error_free(d.err);

    qio_channel_unref(QIO_CHANNEL(cli));
    qio_channel_unref(QIO_CHANNEL(srv));
    qio_channel_unref(QIO_CHANNEL(lsn));
    qio_socket_address_free(laddr);
}

static void test_socket_new_fd(void)
{
    int sv[2];
    QIOChannelSocket *a, *b;
    Error *err = NULL;
    int pfd[2];

    g_assert_cmpint(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), ==, 0);
    a = qio_channel_socket_new_fd(sv[0], &error_abort);
    b = qio_channel_socket_new_fd(sv[1], &error_abort);
    echo_roundtrip(QIO_CHANNEL(a), QIO_CHANNEL(b));
    g_assert_true(
        qio_channel_has_feature(QIO_CHANNEL(a), QIO_CHANNEL_FEATURE_FD_PASS));
    g_assert_false(
        qio_channel_has_feature(QIO_CHANNEL(a), QIO_CHANNEL_FEATURE_LISTEN));
    qio_channel_unref(QIO_CHANNEL(a));
    qio_channel_unref(QIO_CHANNEL(b));

    g_assert_cmpint(pipe(pfd), ==, 0);
    g_assert_null(qio_channel_socket_new_fd(pfd[0], &err));
    g_assert_true(g_str_has_prefix(error_get_pretty(err),
                                   "Unable to query local socket address"));
    error_free(err);
    /* Still ours. */
    g_assert_cmpint(close(pfd[0]), ==, 0);
    close(pfd[1]);
}

static gpointer cancel_later(gpointer opaque)
{
    uint64_t one = 1;

    g_usleep(200 * 1000);
    g_assert_cmpint(write(GPOINTER_TO_INT(opaque), &one, sizeof(one)), ==, 8);
    return NULL;
}

/*
 * A connect to a unix listener whose backlog is full would block until
 * it accepts: the cancellable one ends when its cancel fd is written.
 */
static void test_socket_connect_cancellable(void)
{
    g_autofree char *dir = g_dir_make_tmp("tern-io-XXXXXX", NULL);
    g_autofree char *path = g_build_filename(dir, "sock", NULL);
    SocketAddress *laddr = make_unix(path);
    QIOChannelSocket *lsn = qio_channel_socket_new();
    QIOChannelSocket *cli = qio_channel_socket_new();
    QIOChannelSocket *fillers[8];
    g_autofree char *want = NULL;
    int efd = eventfd(0, EFD_CLOEXEC);
    Error *err = NULL;
    GThread *th;
    gint64 t0;
    int i;

    g_assert_cmpint(qio_channel_socket_listen_sync(lsn, laddr, 1, &error_abort),
                    ==, 0);
    /* fill the backlog: non-blocking connects until one would block */
    for (i = 0; i < (int)G_N_ELEMENTS(fillers); i++) {
        struct sockaddr_un un = {.sun_family = AF_UNIX};
        int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0);

        g_strlcpy(un.sun_path, path, sizeof(un.sun_path));
        if (connect(fd, (struct sockaddr *)&un, sizeof(un)) < 0) {
            g_assert_cmpint(errno, ==, EAGAIN);
            close(fd);
            break;
        }
        fillers[i] = qio_channel_socket_new_fd(fd, &error_abort);
    }
    g_assert_cmpint(i, <, (int)G_N_ELEMENTS(fillers));

    th = g_thread_new("cancel", cancel_later, GINT_TO_POINTER(efd));
    t0 = g_get_monotonic_time();
    g_assert_cmpint(
        qio_channel_socket_connect_cancellable(cli, laddr, efd, &err), ==, -1);
    g_assert_cmpint(g_get_monotonic_time() - t0, <, G_USEC_PER_SEC);
    g_assert_cmpint(g_get_monotonic_time() - t0, >=, 150 * 1000);
    want = g_strdup_printf("Failed to connect to '%s': %s", path,
                           g_strerror(ECANCELED));
    g_assert_cmpstr(error_get_pretty(err), ==, want);
    error_free(err);
    g_thread_join(th);

    /* with room in the backlog it connects, blocking afterwards */
    while (i-- > 0) {
        qio_channel_unref(QIO_CHANNEL(fillers[i]));
    }
    qio_channel_unref(QIO_CHANNEL(cli));
    qio_channel_unref(QIO_CHANNEL(lsn));
    lsn = qio_channel_socket_new();
    cli = qio_channel_socket_new();
    g_assert_cmpint(qio_channel_socket_listen_sync(lsn, laddr, 1, &error_abort),
                    ==, 0);
    g_assert_cmpint(
        qio_channel_socket_connect_cancellable(cli, laddr, efd, &error_abort),
        ==, 0);
    g_assert_false(fcntl(cli->fd, F_GETFL) & O_NONBLOCK);

    qio_channel_unref(QIO_CHANNEL(cli));
    qio_channel_unref(QIO_CHANNEL(lsn));
    qio_socket_address_free(laddr);
    close(efd);
    rmdir(dir);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/io/channel/socket/tcp-ipv4", test_socket_tcp_ipv4);
    g_test_add_func("/io/channel/socket/tcp-ipv6", test_socket_tcp_ipv6);
    g_test_add_func("/io/channel/socket/unix", test_socket_unix);
    g_test_add_func("/io/channel/socket/unix-not-socket",
                    test_socket_unix_not_socket);
    g_test_add_func("/io/channel/socket/fd-pass", test_socket_fd_pass);
    g_test_add_func("/io/channel/socket/connect-errors",
                    test_socket_connect_errors);
    g_test_add_func("/io/channel/socket/listen-in-use",
                    test_socket_listen_in_use);
    g_test_add_func("/io/channel/socket/eof-mid-transfer",
                    test_socket_eof_mid_transfer);
    g_test_add_func("/io/channel/socket/bulk-blocking",
                    test_socket_bulk_blocking);
    g_test_add_func("/io/channel/socket/bulk-nonblocking",
                    test_socket_bulk_nonblocking);
    g_test_add_func("/io/channel/socket/peek", test_socket_peek);
    g_test_add_func("/io/channel/socket/fd-address", test_socket_fd_address);
    g_test_add_func("/io/channel/socket/connect-async",
                    test_socket_connect_async);
    g_test_add_func("/io/channel/socket/shutdown-wakes-reader",
                    test_socket_shutdown_wakes_reader);
    g_test_add_func("/io/channel/socket/new-fd", test_socket_new_fd);
    g_test_add_func("/io/channel/socket/connect-cancellable",
                    test_socket_connect_cancellable);
    return g_test_run();
}
