/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * net-listener.c: QIONetListener, accept clients on every address one
 * SocketAddress resolves to.
 *
 * Listening sockets are switched to non-blocking so that an accept run
 * from a watch never stalls the main loop when the client vanished
 * between poll() and accept().
 */
#include "qemu/osdep.h"
#include "io/net-listener.h"

QIONetListener *qio_net_listener_new(void)
{
    QIONetListener *listener = g_new0(QIONetListener, 1);

    listener->refcount = 1;
    return listener;
}

QIONetListener *qio_net_listener_ref(QIONetListener *listener)
{
    listener->refcount++;
    return listener;
}

void qio_net_listener_set_name(QIONetListener *listener, const char *name)
{
    g_free(listener->name);
    listener->name = g_strdup(name);
    for (size_t i = 0; i < listener->nsioc; i++) {
        qio_channel_set_name(QIO_CHANNEL(listener->sioc[i]), name);
    }
}

/* Accept one client on ioc and hand it to the callback; false if none. */
static bool qio_net_listener_accept_one(QIONetListener *listener,
                                        QIOChannelSocket *ioc)
{
    QIOChannelSocket *sioc = qio_channel_socket_accept(ioc, NULL);

    if (!sioc) {
        return false; /* client gone already, or EAGAIN */
    }
    qio_net_listener_ref(listener); /* the callback may drop the last */
    if (listener->io_func) {
        listener->io_func(listener, sioc, listener->io_data);
    }
    qio_channel_unref(QIO_CHANNEL(sioc));
    qio_net_listener_unref(listener);
    return true;
}

static gboolean qio_net_listener_channel_func(QIOChannel *ioc,
                                              GIOCondition condition,
                                              gpointer opaque)
{
    qio_net_listener_accept_one(opaque, QIO_CHANNEL_SOCKET(ioc));
    return G_SOURCE_CONTINUE;
}

void qio_net_listener_drain(QIONetListener *listener)
{
    qio_net_listener_ref(listener);
    for (size_t i = 0; listener->connected && i < listener->nsioc; i++) {
        for (int n = 0; n < QIO_NET_LISTENER_DRAIN_MAX; n++) {
            if (!listener->connected || !listener->io_func ||
                !qio_net_listener_accept_one(listener, listener->sioc[i])) {
                break;
            }
        }
    }
    qio_net_listener_unref(listener);
}

static void qio_net_listener_watch(QIONetListener *listener, size_t i)
{
    if (listener->io_tag[i] || !listener->io_func) {
        return;
    }
    listener->io_tag[i] = qio_channel_add_watch_full(
        QIO_CHANNEL(listener->sioc[i]), G_IO_IN, qio_net_listener_channel_func,
        listener, NULL, listener->context);
}

static void qio_net_listener_unwatch(QIONetListener *listener, size_t i)
{
    if (listener->io_tag[i]) {
        GSource *src = g_main_context_find_source_by_id(listener->context,
                                                        listener->io_tag[i]);

        if (src) {
            g_source_destroy(src);
        }
        listener->io_tag[i] = 0;
    }
}

void qio_net_listener_add(QIONetListener *listener, QIOChannelSocket *sioc)
{
    size_t i = listener->nsioc;

    if (listener->name) {
        qio_channel_set_name(QIO_CHANNEL(sioc), listener->name);
    }
    qio_channel_set_blocking(QIO_CHANNEL(sioc), false, NULL);
    listener->sioc = g_renew(QIOChannelSocket *, listener->sioc, i + 1);
    listener->io_tag = g_renew(guint, listener->io_tag, i + 1);
    listener->sioc[i] = QIO_CHANNEL_SOCKET(qio_channel_ref(QIO_CHANNEL(sioc)));
    listener->io_tag[i] = 0;
    listener->nsioc++;
    listener->connected = true;
    qio_net_listener_watch(listener, i);
}

int qio_net_listener_open_sync(QIONetListener *listener, SocketAddress *addr,
                               int num, Error **errp)
{
    SocketAddress **addrs = NULL;
    Error *err = NULL;
    char *picked_port = NULL;
    bool ok = false;
    int n;

    n = qio_socket_address_resolve(addr, &addrs, errp);
    if (n < 0) {
        return -1;
    }
    for (int i = 0; i < n; i++) {
        QIOChannelSocket *sioc = qio_channel_socket_new();
        SocketAddress *one = addrs[i];

        if (picked_port && one->type == SOCKET_ADDRESS_TYPE_INET) {
            /* Port 0: use the port the first address got everywhere. */
            g_free(one->port);
            one->port = g_strdup(picked_port);
        }
        error_free(err);
        err = NULL;
        if (qio_channel_socket_listen_sync(sioc, one, num, &err) < 0) {
            qio_channel_unref(QIO_CHANNEL(sioc));
            continue;
        }
        if (!picked_port && one->type == SOCKET_ADDRESS_TYPE_INET &&
            g_str_equal(one->port, "0")) {
            SocketAddress *local =
                qio_channel_socket_get_local_address(sioc, NULL);

            if (local) {
                picked_port = g_strdup(local->port);
                qio_socket_address_free(local);
            }
        }
        qio_net_listener_add(listener, sioc);
        qio_channel_unref(QIO_CHANNEL(sioc));
        ok = true;
    }
    for (int i = 0; i < n; i++) {
        qio_socket_address_free(addrs[i]);
    }
    g_free(addrs);
    g_free(picked_port);
    if (!ok) {
        error_propagate(errp, err);
        return -1;
    }
    error_free(err);
    return 0;
}

void qio_net_listener_set_client_func_full(QIONetListener *listener,
                                           QIONetListenerClientFunc func,
                                           gpointer data, GDestroyNotify notify,
                                           GMainContext *context)
{
    for (size_t i = 0; i < listener->nsioc; i++) {
        qio_net_listener_unwatch(listener, i);
    }
    if (listener->io_notify) {
        listener->io_notify(listener->io_data);
    }
    if (listener->context) {
        g_main_context_unref(listener->context);
    }
    listener->io_func = func;
    listener->io_data = data;
    listener->io_notify = notify;
    listener->context = context ? g_main_context_ref(context) : NULL;
    if (!listener->connected) {
        return;
    }
    for (size_t i = 0; i < listener->nsioc; i++) {
        qio_net_listener_watch(listener, i);
    }
}

void qio_net_listener_set_client_func(QIONetListener *listener,
                                      QIONetListenerClientFunc func,
                                      gpointer data, GDestroyNotify notify)
{
    qio_net_listener_set_client_func_full(listener, func, data, notify, NULL);
}

typedef struct QIONetListenerWait {
    QIOChannelSocket *client;
} QIONetListenerWait;

static gboolean qio_net_listener_wait_func(QIOChannel *ioc,
                                           GIOCondition condition,
                                           gpointer opaque)
{
    QIONetListenerWait *w = opaque;

    if (!w->client) {
        w->client = qio_channel_socket_accept(QIO_CHANNEL_SOCKET(ioc), NULL);
    }
    return G_SOURCE_CONTINUE;
}

QIOChannelSocket *qio_net_listener_wait_client(QIONetListener *listener)
{
    GMainContext *ctx;
    GSource **srcs;
    QIONetListenerWait w = {NULL};

    if (!listener->connected || listener->nsioc == 0) {
        return NULL;
    }
    /* Keep the main-loop watches from racing us for this client. */
    for (size_t i = 0; i < listener->nsioc; i++) {
        qio_net_listener_unwatch(listener, i);
    }
    ctx = g_main_context_new();
    srcs = g_new0(GSource *, listener->nsioc);
    for (size_t i = 0; i < listener->nsioc; i++) {
        srcs[i] =
            qio_channel_create_watch(QIO_CHANNEL(listener->sioc[i]), G_IO_IN);
        g_source_set_callback(
            srcs[i], (GSourceFunc)(void (*)(void))qio_net_listener_wait_func,
            &w, NULL);
        g_source_attach(srcs[i], ctx);
    }
    while (!w.client) {
        g_main_context_iteration(ctx, TRUE);
    }
    for (size_t i = 0; i < listener->nsioc; i++) {
        g_source_destroy(srcs[i]);
        g_source_unref(srcs[i]);
    }
    g_free(srcs);
    g_main_context_unref(ctx);
    for (size_t i = 0; i < listener->nsioc; i++) {
        qio_net_listener_watch(listener, i);
    }
    return w.client;
}

void qio_net_listener_disconnect(QIONetListener *listener)
{
    if (!listener->connected) {
        return;
    }
    for (size_t i = 0; i < listener->nsioc; i++) {
        qio_net_listener_unwatch(listener, i);
        qio_channel_close(QIO_CHANNEL(listener->sioc[i]), NULL);
    }
    listener->connected = false;
}

bool qio_net_listener_is_connected(QIONetListener *listener)
{
    return listener->connected;
}

size_t qio_net_listener_nsioc(QIONetListener *listener)
{
    return listener->nsioc;
}

QIOChannelSocket *qio_net_listener_sioc(QIONetListener *listener, size_t i)
{
    return i < listener->nsioc ? listener->sioc[i] : NULL;
}

void qio_net_listener_unref(QIONetListener *listener)
{
    if (!listener || --listener->refcount > 0) {
        return;
    }
    qio_net_listener_disconnect(listener);
    if (listener->io_notify) {
        listener->io_notify(listener->io_data);
    }
    for (size_t i = 0; i < listener->nsioc; i++) {
        qio_channel_unref(QIO_CHANNEL(listener->sioc[i]));
    }
    if (listener->context) {
        g_main_context_unref(listener->context);
    }
    g_free(listener->sioc);
    g_free(listener->io_tag);
    g_free(listener->name);
    g_free(listener);
}
