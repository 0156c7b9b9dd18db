/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test-io-net-listener.c: QIONetListener binds every resolved address,
 * hands clients to the callback on the main loop, reports its addresses,
 * wait_client, disconnect, and QEMU's "address in use" text.
 */
#include "qemu/osdep.h"
#include "io/net-listener.h"

static SocketAddress *make_inet(const char *host, const char *port)
{
    SocketAddress *addr = g_new0(SocketAddress, 1);

    addr->type = SOCKET_ADDRESS_TYPE_INET;
    addr->host = g_strdup(host);
    addr->port = g_strdup(port);
    return addr;
}

typedef struct ClientData {
    GMainLoop *loop;
    GThread *main_thread;
    QIOChannelSocket *client;
    int count;
    int notified;
} ClientData;

static void on_client(QIONetListener *listener, QIOChannelSocket *sioc,
                      gpointer opaque)
{
    ClientData *d = opaque;

    g_assert_true(g_thread_self() == d->main_thread);
    d->count++;
    d->client = QIO_CHANNEL_SOCKET(qio_channel_ref(QIO_CHANNEL(sioc)));
    g_main_loop_quit(d->loop);
}

static void on_notify(gpointer opaque)
{
    ClientData *d = opaque;

    d->notified++;
}

/* Connect to every listening address and check each client arrives. */
static void check_all_addresses(QIONetListener *l, ClientData *d)
{
    for (size_t i = 0; i < qio_net_listener_nsioc(l); i++) {
        SocketAddress *a = qio_channel_socket_get_local_address(
            qio_net_listener_sioc(l, i), &error_abort);
        QIOChannelSocket *c = qio_channel_socket_new();
        char buf[3];

        g_assert_cmpint(qio_channel_socket_connect_sync(c, a, &error_abort), ==,
                        0);
        qio_channel_write_all(QIO_CHANNEL(c), "hey", 3, &error_abort);
        g_main_loop_run(d->loop);
        g_assert_nonnull(d->client);
        qio_channel_read_all(QIO_CHANNEL(d->client), buf, 3, &error_abort);
        g_assert_cmpmem(buf, 3, "hey", 3);
        qio_channel_unref(QIO_CHANNEL(d->client));
        d->client = NULL;
        qio_channel_unref(QIO_CHANNEL(c));
        qio_socket_address_free(a);
    }
}

static void test_listener_localhost(void)
{
    ClientData d = {.loop = g_main_loop_new(NULL, FALSE),
                    .main_thread = g_thread_self()};
    QIONetListener *l = qio_net_listener_new();
    SocketAddress *addr = make_inet("localhost", "0");
    SocketAddress **res = NULL;
    int nres;
    const char *port = NULL;

    nres = qio_socket_address_resolve(addr, &res, &error_abort);
    g_assert_cmpint(nres, >=, 1);
    g_assert_cmpint(qio_net_listener_open_sync(l, addr, 4, &error_abort), ==,
                    0);
    /* One socket per address localhost resolves to (::1 too if listed). */
    g_assert_cmpuint(qio_net_listener_nsioc(l), ==, nres);
    g_assert_true(qio_net_listener_is_connected(l));
    /* Port 0: every socket shares the port the first one got. */
    for (size_t i = 0; i < qio_net_listener_nsioc(l); i++) {
        SocketAddress *a = qio_channel_socket_get_local_address(
            qio_net_listener_sioc(l, i), &error_abort);

        g_assert_cmpstr(a->port, !=, "0");
        if (i == 0) {
            port = g_strdup(a->port);
        } else {
            g_assert_cmpstr(a->port, ==, port);
        }
        qio_socket_address_free(a);
    }
    g_free((char *)port);
    for (int i = 0; i < nres; i++) {
        qio_socket_address_free(res[i]);
    }
    g_free(res);

    qio_net_listener_set_client_func(l, on_client, &d, on_notify);
    check_all_addresses(l, &d);
    g_assert_cmpint(d.count, ==, (int)qio_net_listener_nsioc(l));

    qio_net_listener_disconnect(l);
    g_assert_false(qio_net_listener_is_connected(l));
    qio_net_listener_unref(l);
    g_assert_cmpint(d.notified, ==, 1);
    qio_socket_address_free(addr);
    g_main_loop_unref(d.loop);
}

static void test_listener_dual_stack(void)
{
    ClientData d = {.loop = g_main_loop_new(NULL, FALSE),
                    .main_thread = g_thread_self()};
    QIONetListener *l = qio_net_listener_new();
    SocketAddress *v4 = make_inet("127.0.0.1", "0");
    SocketAddress *a;
    QIOChannelSocket *c;
    int sfd;

    /* "::1" and "127.0.0.1" on one port, as for a localhost listener. */
    g_assert_cmpint(qio_net_listener_open_sync(l, v4, 4, &error_abort), ==, 0);
    a = qio_channel_socket_get_local_address(qio_net_listener_sioc(l, 0),
                                             &error_abort);
    sfd = socket(AF_INET6, SOCK_STREAM, 0);
    if (sfd >= 0) {
        SocketAddress *v6 = make_inet("::1", a->port);

        close(sfd);
        if (qio_net_listener_open_sync(l, v6, 4, NULL) == 0) {
            g_assert_cmpuint(qio_net_listener_nsioc(l), ==, 2);
        }
        qio_socket_address_free(v6);
    }
    qio_net_listener_set_client_func(l, on_client, &d, NULL);
    check_all_addresses(l, &d);

    /* wait_client takes the next client without the callback. */
    c = qio_channel_socket_new();
    qio_channel_socket_connect_sync(c, a, &error_abort);
    {
        QIOChannelSocket *s = qio_net_listener_wait_client(l);

        g_assert_nonnull(s);
        qio_channel_unref(QIO_CHANNEL(s));
    }
    g_assert_cmpint(d.count, ==, (int)qio_net_listener_nsioc(l));
    qio_channel_unref(QIO_CHANNEL(c));

    qio_net_listener_unref(l);
    qio_socket_address_free(a);
    qio_socket_address_free(v4);
    g_main_loop_unref(d.loop);
}

static void test_listener_in_use(void)
{
    QIONetListener *l1 = qio_net_listener_new();
    QIONetListener *l2 = qio_net_listener_new();
    SocketAddress *addr = make_inet("127.0.0.1", "0");
    SocketAddress *real;
    Error *err = NULL;

    qio_net_listener_open_sync(l1, addr, 1, &error_abort);
    real = qio_channel_socket_get_local_address(qio_net_listener_sioc(l1, 0),
                                                &error_abort);
    g_assert_cmpint(qio_net_listener_open_sync(l2, real, 1, &err), ==, -1);
    g_assert_cmpstr(error_get_pretty(err), ==,
                    "Failed to find an available port: "
                    "Address already in use");
    error_free(err);
    g_assert_cmpuint(qio_net_listener_nsioc(l2), ==, 0);
    g_assert_null(qio_net_listener_wait_client(l2));
    qio_net_listener_unref(l1);
    qio_net_listener_unref(l2);
    qio_socket_address_free(real);
    qio_socket_address_free(addr);
}

static void test_listener_unix(void)
{
    g_autofree char *dir = g_dir_make_tmp("tern-io-XXXXXX", NULL);
    g_autofree char *path = g_build_filename(dir, "sock", NULL);
    SocketAddress addr = {.type = SOCKET_ADDRESS_TYPE_UNIX, .path = path};
    ClientData d = {.loop = g_main_loop_new(NULL, FALSE),
                    .main_thread = g_thread_self()};
    QIONetListener *l = qio_net_listener_new();

    qio_net_listener_set_name(l, "test-listener");
    g_assert_cmpint(qio_net_listener_open_sync(l, &addr, 1, &error_abort), ==,
                    0);
    qio_net_listener_set_client_func(l, on_client, &d, NULL);
    check_all_addresses(l, &d);
    g_assert_cmpint(d.count, ==, 1);
    qio_net_listener_unref(l);
    g_assert_false(g_file_test(path, G_FILE_TEST_EXISTS));
    rmdir(dir);
    g_main_loop_unref(d.loop);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/io/net-listener/localhost", test_listener_localhost);
    g_test_add_func("/io/net-listener/dual-stack", test_listener_dual_stack);
    g_test_add_func("/io/net-listener/in-use", test_listener_in_use);
    g_test_add_func("/io/net-listener/unix", test_listener_unix);
    return g_test_run();
}
