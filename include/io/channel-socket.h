/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * channel-socket.h: QIOChannelSocket, a channel over a stream socket.
 *
 * Kinds of address: inet (TCP over IPv4/IPv6; names resolved with
 * getaddrinfo and every address tried in turn), unix (path), vsock
 * (decimal cid and port) and fd (an fd named by the monitor's getfd, or a
 * number, found through the resolver hook below so io/ does not depend on
 * monitor/).
 *
 * Features: SHUTDOWN and READ_MSG_PEEK on every connected socket,
 * FD_PASS (SCM_RIGHTS) on unix sockets, LISTEN on listening sockets.
 * TCP sockets get TCP_NODELAY on connect/accept.  Writes use MSG_NOSIGNAL:
 * a peer going away is an EPIPE error, never a SIGPIPE.
 *
 * Error texts are QEMU's: "Failed to connect to 'HOST:PORT': <strerror>",
 * "Failed to connect to 'PATH': <strerror>", "address resolution failed
 * for HOST:PORT: <gai_strerror>", "Failed to find an available port:
 * <strerror>", "Failed to bind socket to PATH: <strerror>".
 */
#ifndef QIO_CHANNEL_SOCKET_H
#define QIO_CHANNEL_SOCKET_H

#include <sys/socket.h>
#include "io/channel.h"
#include "io/task.h"
#include "qemu/sockets.h"

typedef struct QIOChannelSocket {
    QIOChannel parent;
    int fd; /* owned; -1 when closed */
    struct sockaddr_storage localAddr;
    socklen_t localAddrLen;
    struct sockaddr_storage remoteAddr; /* zero length when not connected */
    socklen_t remoteAddrLen;
    char *unlink_path; /* unix listener: removed on close */
} QIOChannelSocket;

#define QIO_CHANNEL_SOCKET(obj) ((QIOChannelSocket *)(obj))

/*
 * Resolve a monitor fd name to an fd the caller then owns (-1 with errp
 * set if unknown).  vl.c installs monitor_fd_param() here at start-up.
 * With no resolver installed, only decimal fd numbers are accepted.
 */
typedef int (*QIOChannelSocketFdResolver)(const char *fdname, Error **errp);
void qio_channel_socket_set_fd_resolver(QIOChannelSocketFdResolver fn);

/* A new unconnected socket channel (fd -1); caller owns the reference. */
QIOChannelSocket *qio_channel_socket_new(void);

/*
 * Wrap an existing socket fd; on success the channel owns @fd.  Fails
 * ("Unable to query local socket address: ...") if @fd is not a socket;
 * the caller still owns @fd then.
 */
QIOChannelSocket *qio_channel_socket_new_fd(int fd, Error **errp);

/*
 * Connect @ioc (fresh from qio_channel_socket_new) to @addr, blocking.
 * Returns 0, or -1 with errp set.
 */
int qio_channel_socket_connect_sync(QIOChannelSocket *ioc, SocketAddress *addr,
                                    Error **errp);

/*
 * qio_channel_socket_connect_sync(), but given up as soon as @cancel_fd
 * (an eventfd or pipe) is readable: -1 with errp set ("Failed to connect
 * to 'HOST:PORT': Operation canceled").  A connect waiting for a full
 * listen backlog or an unanswered SYN ends at once.
 */
int qio_channel_socket_connect_cancellable(QIOChannelSocket *ioc,
                                           SocketAddress *addr, int cancel_fd,
                                           Error **errp);

/*
 * Connect in a worker thread; @callback runs on @context's loop (NULL =
 * default) with a task whose error (qio_task_propagate_error) says how it
 * went; the task's source is @ioc.  @addr is copied.  @destroy (may be
 * NULL) frees @opaque after the callback.
 */
void qio_channel_socket_connect_async(QIOChannelSocket *ioc,
                                      SocketAddress *addr, QIOTaskFunc callback,
                                      gpointer opaque, GDestroyNotify destroy,
                                      GMainContext *context);

/*
 * Bind @ioc to @addr and listen with backlog @num (<= 0: a default).
 * inet: the first resolved address that binds is used (port 0 lets the
 * kernel pick; qio_channel_socket_get_local_address reports it).  unix:
 * a stale socket file at the path is removed first and the path is
 * removed again when the channel is closed.  Returns 0 or -1.
 */
int qio_channel_socket_listen_sync(QIOChannelSocket *ioc, SocketAddress *addr,
                                   int num, Error **errp);

/* As listen_sync in a worker thread, completing on @context. */
void qio_channel_socket_listen_async(QIOChannelSocket *ioc, SocketAddress *addr,
                                     int num, QIOTaskFunc callback,
                                     gpointer opaque, GDestroyNotify destroy,
                                     GMainContext *context);

/*
 * Accept one connection on a listening channel.  Blocks unless the
 * listener is non-blocking, in which case "no client yet" is an error
 * with errno EAGAIN text.  Returns a new channel the caller owns, or NULL.
 */
QIOChannelSocket *qio_channel_socket_accept(QIOChannelSocket *ioc,
                                            Error **errp);

/*
 * The local / peer address as a new SocketAddress (inet: numeric host and
 * port; unix: path) the caller frees with socket_address_free, or NULL.
 */
SocketAddress *qio_channel_socket_get_local_address(QIOChannelSocket *ioc,
                                                    Error **errp);
SocketAddress *qio_channel_socket_get_remote_address(QIOChannelSocket *ioc,
                                                     Error **errp);

/*
 * Resolve an inet address into one numeric address per getaddrinfo result
 * (for listeners that bind all of them).  Non-inet addresses come back as
 * a single copy.  Returns the count (>= 1) and a g_new'd array of new
 * addresses in *addrs, or -1 with errp set.
 */
int qio_socket_address_resolve(SocketAddress *addr, SocketAddress ***addrs,
                               Error **errp);
/* Free an address made by this layer (same as socket_address_free). */
void qio_socket_address_free(SocketAddress *addr);

#endif /* QIO_CHANNEL_SOCKET_H */
