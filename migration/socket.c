/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * socket.c: the tcp:, unix: and vsock: migration transports.
 *
 * Source: a blocking connect in the migration thread (the monitor already
 * answered "migrate", as with QEMU's asynchronous connect) that
 * migrate_cancel interrupts (the transport's cancel eventfd); errors are
 * IO's QEMU texts ("Failed to connect to 'localhost:4444': Connection
 * refused") and end up as the migration's error-desc.
 *
 * Destination: a QIONetListener listens on every address the name
 * resolves to (port 0: the kernel picks; query-migrate shows the real
 * one); each connection accepted on the main loop goes to
 * migration_channel_incoming(), which stops the listening once the
 * migration has all its channels (without multifd: the first one; with
 * TLS: the first whose handshake succeeded).
 *
 * Liveness: every tcp: connection, either side, gets TCP keepalive
 * probes and TCP_USER_TIMEOUT of twice x-progress-timeout, so a peer
 * that vanished (host down, link silently dropping packets) turns into a
 * socket error (ETIMEDOUT) even where no watchdog looks (postcopy, a
 * pause before the switch-over).  Where one does, the watchdog
 * (watchdog.c) fires first, with its clearer message, also for a peer
 * that is there but does nothing.
 */
#include "qemu/osdep.h"
#include "qapi/error.h"
#include "qemu/error-report.h"
#include "qemu/sockets.h"
#include <netinet/in.h>
#include <netinet/tcp.h>
#include "io/channel-socket.h"
#include "io/net-listener.h"
#include "migration/options.h"
#include "migration.h"
#include "transport.h"

/*
 * Pending connections per address: 1, or with multifd one per channel
 * (as 7.2: a source connects them all at once).
 */
#define SOCKET_LISTEN_BACKLOG 1

/* The listener of the incoming side while it waits (main thread). */
static QIONetListener *socket_listener;

/* Keepalive probes before a silent peer counts as gone. */
#define SOCKET_KEEPALIVE_PROBES 3

/*
 * Keepalive and TCP_USER_TIMEOUT of a migration socket from
 * x-progress-timeout (0: the kernel's defaults): a silent peer is gone
 * after about twice that.  Only tcp sockets (unix and vsock have no such
 * options).  Best effort.
 */
static void socket_set_liveness(QIOChannelSocket *sioc)
{
    int secs = MIN(migrate_progress_timeout(), INT_MAX / 2000);
    int on = 1;
    int idle = MAX(secs, 1);
    int intvl = MAX(secs / SOCKET_KEEPALIVE_PROBES, 1);
    int probes = SOCKET_KEEPALIVE_PROBES;
    unsigned int user_ms = 2 * secs * 1000u;
    int domain = -1;
    socklen_t len = sizeof(domain);

    if (secs == 0 || sioc->fd < 0 ||
        getsockopt(sioc->fd, SOL_SOCKET, SO_DOMAIN, &domain, &len) < 0 ||
        (domain != AF_INET && domain != AF_INET6)) {
        return;
    }
    setsockopt(sioc->fd, SOL_SOCKET, SO_KEEPALIVE, &on, sizeof(on));
    setsockopt(sioc->fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof(idle));
    setsockopt(sioc->fd, IPPROTO_TCP, TCP_KEEPINTVL, &intvl, sizeof(intvl));
    setsockopt(sioc->fd, IPPROTO_TCP, TCP_KEEPCNT, &probes, sizeof(probes));
    setsockopt(sioc->fd, IPPROTO_TCP, TCP_USER_TIMEOUT, &user_ms,
               sizeof(user_ms));
}

char *socket_tls_hostname(const char *str)
{
    SocketAddress *addr = socket_parse(str, NULL);
    char *host = NULL;

    if (addr && addr->type == SOCKET_ADDRESS_TYPE_INET) {
        host = g_strdup(addr->host);
    }
    socket_address_free(addr);
    return host;
}

QIOChannel *socket_outgoing_open(MigrationState *s, const char *str,
                                 Error **errp)
{
    SocketAddress *addr = socket_parse(str, errp);
    QIOChannelSocket *sioc;

    if (!addr) {
        return NULL;
    }
    sioc = qio_channel_socket_new();
    qio_channel_set_name(QIO_CHANNEL(sioc), "migration-socket-outgoing");
    /* migrate_cancel ends a connect to a full backlog or a silent host */
    if (qio_channel_socket_connect_cancellable(
            sioc, addr, migration_transport_cancel_fd(), errp) < 0) {
        qio_channel_unref(QIO_CHANNEL(sioc));
        socket_address_free(addr);
        return NULL;
    }
    socket_address_free(addr);
    socket_set_liveness(sioc);
    return QIO_CHANNEL(sioc);
}

void socket_incoming_stop(void)
{
    QIONetListener *listener = socket_listener;

    if (!listener) {
        return;
    }
    socket_listener = NULL;
    qio_net_listener_disconnect(listener);
    qio_net_listener_unref(listener);
}

void socket_incoming_drain(void)
{
    if (socket_listener) {
        qio_net_listener_drain(socket_listener);
    }
}

bool socket_incoming_listening(void)
{
    return socket_listener != NULL;
}

/*
 * Main loop: every client goes to channel.c, which sorts it (main,
 * multifd, preempt) and stops listening once the migration has all the
 * channels it needs.  With TLS a client counts once its handshake
 * succeeded, as in QEMU 7.2: a port scanner or a client with the wrong
 * credentials must not use up the only chance.
 */
static void socket_accept_incoming(QIONetListener *listener,
                                   QIOChannelSocket *sioc, gpointer opaque)
{
    QIOChannel *ioc = qio_channel_ref(QIO_CHANNEL(sioc));

    qio_channel_set_name(ioc, "migration-socket-incoming");
    qio_channel_set_blocking(ioc, true, NULL);
    socket_set_liveness(sioc);
    migration_channel_incoming(ioc);
    qio_channel_unref(ioc);
}

bool socket_incoming_start(const char *str, Error **errp)
{
    MigrationIncomingState *mis = migration_incoming_get_current();
    SocketAddress *addr = socket_parse(str, errp);
    QIONetListener *listener;

    if (!addr) {
        return false;
    }
    listener = qio_net_listener_new();
    qio_net_listener_set_name(listener, "migration-socket-listener");
    if (qio_net_listener_open_sync(listener, addr,
                                   migrate_multifd()
                                       ? migrate_multifd_channels()
                                       : SOCKET_LISTEN_BACKLOG,
                                   errp) < 0) {
        socket_address_free(addr);
        qio_net_listener_unref(listener);
        return false;
    }
    socket_address_free(addr);
    if (!mis->socket_addresses) {
        mis->socket_addresses =
            g_ptr_array_new_with_free_func((GDestroyNotify)socket_address_free);
    }
    for (size_t i = 0; i < qio_net_listener_nsioc(listener); i++) {
        SocketAddress *local = qio_channel_socket_get_local_address(
            qio_net_listener_sioc(listener, i), NULL);

        if (local) {
            g_ptr_array_add(mis->socket_addresses, local);
        }
    }
    socket_listener = listener;
    qio_net_listener_set_client_func(listener, socket_accept_incoming, NULL,
                                     NULL);
    return true;
}
