/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * sockets.h: socket addresses as QEMU spells them.
 *
 *   "host:port"        inet (name or IPv4 literal)
 *   "[v6addr]:port"    inet IPv6 literal
 *   "tcp:host:port"    (socket_parse_uri: a migration URI)
 *   "unix:path"        unix domain socket
 *   "fd:name"          an fd from the monitor's getfd, or a number
 *   "vsock:cid:port"   vsock
 * Parsing only: io/channel-socket.c does connect/listen.
 */
#ifndef QEMU_SOCKETS_H
#define QEMU_SOCKETS_H

#include "qemu/osdep.h"
#include "qapi/error.h"

typedef enum SocketAddressType {
    SOCKET_ADDRESS_TYPE_INET,
    SOCKET_ADDRESS_TYPE_UNIX,
    SOCKET_ADDRESS_TYPE_VSOCK,
    SOCKET_ADDRESS_TYPE_FD,
} SocketAddressType;

typedef struct SocketAddress {
    SocketAddressType type;
    /* inet */
    char *host;     /* without brackets */
    char *port;     /* service name or number */
    bool ipv4_only; /* ipv4=on */
    bool ipv6_only; /* ipv6=on */
    /* unix */
    char *path;
    /* vsock */
    char *cid; /* also uses port */
    /* fd */
    char *fd_name;
} SocketAddress;

/*
 * Parse "host:port", "[v6]:port", "unix:path", "fd:name", "vsock:cid:port".
 * Errors: "host and/or port not specified", "error parsing IPv6 address
 * 'STR'", "error parsing address 'STR'".  Returns a new address or NULL.
 */
SocketAddress *socket_parse(const char *str, Error **errp);
/* "host:port" ([v6]:port), "unix path"... as QEMU prints in errors. */
char *socket_address_to_string(const SocketAddress *addr);
/* "tcp:127.0.0.1:4444" / "unix:/path" for HMP "socket address" lines. */
char *socket_address_to_uri(const SocketAddress *addr);
SocketAddress *socket_address_dup(const SocketAddress *addr);
void socket_address_free(SocketAddress *addr);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(SocketAddress, socket_address_free)

#endif /* QEMU_SOCKETS_H */
