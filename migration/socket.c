/*
 * socket.c: the tcp:, unix: and vsock: migration transports.
 *
 * Source: a blocking connect in the migration thread (the monitor already
 * answered "migrate", as with QEMU's asynchronous connect); errors are
 * IO's QEMU texts ("Failed to connect to 'localhost:4444': Connection
 * refused") and end up as the migration's error-desc.
 *
 * Destination: listen on every address the name resolves to (port 0:
 * the kernel picks; query-migrate shows the real one), accept the first
 * connection on the main loop, stop listening, and hand the channel to
 * migration_channel_incoming().
 */
#include "qemu/osdep.h"
#include "qapi/error.h"
#include "qemu/error-report.h"
#include "qemu/sockets.h"
#include "io/channel-socket.h"
#include "migration.h"

typedef struct SocketIncoming {
    GPtrArray *listeners;       /* QIOChannelSocket * (ref) */
    GArray *watches;            /* guint source ids */
} SocketIncoming;

static SocketIncoming *socket_incoming;

QIOChannel *socket_outgoing_open(const char *str, Error **errp)
{
    SocketAddress *addr = socket_parse(str, errp);
    QIOChannelSocket *sioc;

    if (!addr) {
        return NULL;
    }
    sioc = qio_channel_socket_new();
    qio_channel_set_name(QIO_CHANNEL(sioc), "migration-socket-outgoing");
    if (qio_channel_socket_connect_sync(sioc, addr, errp) < 0) {
        qio_channel_unref(QIO_CHANNEL(sioc));
        socket_address_free(addr);
        return NULL;
    }
    socket_address_free(addr);
    return QIO_CHANNEL(sioc);
}

void socket_incoming_stop(void)
{
    SocketIncoming *si = socket_incoming;

    if (!si) {
        return;
    }
    socket_incoming = NULL;
    for (guint i = 0; i < si->watches->len; i++) {
        g_source_remove(g_array_index(si->watches, guint, i));
    }
    for (guint i = 0; i < si->listeners->len; i++) {
        QIOChannel *ioc = g_ptr_array_index(si->listeners, i);

        qio_channel_close(ioc, NULL);
        qio_channel_unref(ioc);
    }
    g_array_free(si->watches, true);
    g_ptr_array_free(si->listeners, true);
    g_free(si);
}

static gboolean socket_accept_incoming(QIOChannel *ioc,
                                       GIOCondition condition,
                                       gpointer opaque)
{
    QIOChannelSocket *sioc;
    Error *err = NULL;

    sioc = qio_channel_socket_accept(QIO_CHANNEL_SOCKET(ioc), &err);
    if (!sioc) {
        /* A client that went away before we accepted: keep listening. */
        error_free(err);
        return G_SOURCE_CONTINUE;
    }
    qio_channel_set_name(QIO_CHANNEL(sioc), "migration-socket-incoming");
    /*
     * One connection per migration: stop listening.  Our own watch goes
     * away when we return G_SOURCE_REMOVE; remove the others.
     */
    {
        guint self = g_source_get_id(g_main_current_source());
        GArray *w = socket_incoming->watches;

        for (guint i = 0; i < w->len; i++) {
            if (g_array_index(w, guint, i) == self) {
                g_array_remove_index(w, i);
                break;
            }
        }
    }
    socket_incoming_stop();
    qio_channel_set_blocking(QIO_CHANNEL(sioc), true, NULL);
    migration_channel_incoming(QIO_CHANNEL(sioc));
    qio_channel_unref(QIO_CHANNEL(sioc));
    return G_SOURCE_REMOVE;
}

bool socket_incoming_start(const char *str, Error **errp)
{
    MigrationIncomingState *mis = migration_incoming_get_current();
    SocketAddress *addr = socket_parse(str, errp);
    SocketAddress **addrs = NULL;
    SocketIncoming *si;
    int n;

    if (!addr) {
        return false;
    }
    n = qio_socket_address_resolve(addr, &addrs, errp);
    socket_address_free(addr);
    if (n < 0) {
        return false;
    }
    si = g_new0(SocketIncoming, 1);
    si->listeners = g_ptr_array_new();
    si->watches = g_array_new(false, false, sizeof(guint));
    if (!mis->socket_addresses) {
        mis->socket_addresses = g_ptr_array_new_with_free_func(
            (GDestroyNotify)socket_address_free);
    }
    for (int i = 0; i < n; i++) {
        QIOChannelSocket *lioc = qio_channel_socket_new();
        Error *local_err = NULL;
        SocketAddress *local;
        guint id;

        qio_channel_set_name(QIO_CHANNEL(lioc), "migration-socket-listener");
        if (qio_channel_socket_listen_sync(lioc, addrs[i], 1,
                                           &local_err) < 0) {
            qio_channel_unref(QIO_CHANNEL(lioc));
            /* Like QEMU: fine as long as one address works. */
            if (i == n - 1 && si->listeners->len == 0) {
                error_propagate(errp, local_err);
                goto fail;
            }
            error_free(local_err);
            continue;
        }
        qio_channel_set_blocking(QIO_CHANNEL(lioc), false, NULL);
        local = qio_channel_socket_get_local_address(lioc, NULL);
        if (local) {
            g_ptr_array_add(mis->socket_addresses, local);
        }
        g_ptr_array_add(si->listeners, lioc);
        id = qio_channel_add_watch(QIO_CHANNEL(lioc), G_IO_IN,
                                   socket_accept_incoming, NULL, NULL);
        g_array_append_val(si->watches, id);
    }
    for (int i = 0; i < n; i++) {
        socket_address_free(addrs[i]);
    }
    g_free(addrs);
    socket_incoming = si;
    return true;

fail:
    for (int i = 0; i < n; i++) {
        socket_address_free(addrs[i]);
    }
    g_free(addrs);
    socket_incoming = si;
    socket_incoming_stop();
    return false;
}
