/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * net-listener.h: QIONetListener, a set of listening sockets for one
 * address that hands accepted clients to a callback on a main loop.
 *
 * An address may resolve to several (e.g. "localhost" -> ::1 and
 * 127.0.0.1); the listener binds every one it can, so a client using
 * either family gets through.  With port 0 the first address picks a port
 * and the others reuse it where possible.
 *
 * Lifetime: qio_net_listener_new returns one reference; the listener
 * holds a reference on each listening channel.  Callbacks run on the
 * context given (default: the main loop); disconnect stops watching and
 * closes the sockets.  Not thread-safe: use it from one thread (the main
 * loop's), except qio_net_listener_wait_client which blocks its caller.
 */
#ifndef QIO_NET_LISTENER_H
#define QIO_NET_LISTENER_H

#include "io/channel-socket.h"

typedef struct QIONetListener QIONetListener;

/*
 * A new client: @sioc is borrowed (it is unreferenced after the callback
 * returns), so take a reference with qio_channel_ref to keep it.
 */
typedef void (*QIONetListenerClientFunc)(QIONetListener *listener,
                                         QIOChannelSocket *sioc, gpointer data);

struct QIONetListener {
    gint refcount;
    char *name;
    QIOChannelSocket **sioc; /* listening channels, referenced */
    guint *io_tag;           /* watch source ids, 0 = not watching */
    size_t nsioc;
    bool connected;

    GMainContext *context; /* referenced, NULL = default */
    QIONetListenerClientFunc io_func;
    gpointer io_data;
    GDestroyNotify io_notify;
};

/* A new empty listener; the caller owns the reference. */
QIONetListener *qio_net_listener_new(void);
QIONetListener *qio_net_listener_ref(QIONetListener *listener);
/* At zero: disconnect, notify the client func data, free.  NULL ok. */
void qio_net_listener_unref(QIONetListener *listener);

/* Name given to the listening channels (for tracing). */
void qio_net_listener_set_name(QIONetListener *listener, const char *name);

/*
 * Resolve @addr and listen on every address it resolves to (backlog
 * @num).  Blocks for resolution and bind.  Succeeds if at least one
 * address could be bound; returns 0, or -1 with errp set to the last
 * failure (QEMU's texts, e.g. "Failed to find an available port: Address
 * already in use").
 */
int qio_net_listener_open_sync(QIONetListener *listener, SocketAddress *addr,
                               int num, Error **errp);

/* Add an already listening channel (a reference is taken). */
void qio_net_listener_add(QIONetListener *listener, QIOChannelSocket *sioc);

/*
 * Call @func(listener, client, @data) for every accepted client, on the
 * default main context.  Replaces (and notifies) an earlier func; NULL
 * stops accepting.  @notify (may be NULL) frees @data when replaced or
 * when the listener is freed.
 */
void qio_net_listener_set_client_func(QIONetListener *listener,
                                      QIONetListenerClientFunc func,
                                      gpointer data, GDestroyNotify notify);
/* As set_client_func, on @context (NULL = default). */
void qio_net_listener_set_client_func_full(QIONetListener *listener,
                                           QIONetListenerClientFunc func,
                                           gpointer data, GDestroyNotify notify,
                                           GMainContext *context);

/*
 * Block until one client connects on any of the sockets and return it
 * (the caller owns it).  If a client func is set, it is not called for
 * this client.  Returns NULL only if the listener is disconnected.
 */
QIOChannelSocket *qio_net_listener_wait_client(QIONetListener *listener);

/*
 * Accept every client already waiting (up to QIO_NET_LISTENER_DRAIN_MAX
 * per socket, never blocking) and hand each to the client callback, as
 * if the main loop had got to it: call before disconnecting, so that
 * clients the kernel already accepted get the callback's answer instead
 * of a reset.
 */
#define QIO_NET_LISTENER_DRAIN_MAX 64
void qio_net_listener_drain(QIONetListener *listener);

/* Stop watching and close every listening socket. */
void qio_net_listener_disconnect(QIONetListener *listener);

bool qio_net_listener_is_connected(QIONetListener *listener);

/* Number of listening sockets, and each one (borrowed) for reporting. */
size_t qio_net_listener_nsioc(QIONetListener *listener);
QIOChannelSocket *qio_net_listener_sioc(QIONetListener *listener, size_t i);

#endif /* QIO_NET_LISTENER_H */
