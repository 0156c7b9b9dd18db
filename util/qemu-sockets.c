/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * qemu-sockets.c: parsing and printing socket addresses (qemu/sockets.h).
 *
 * Error texts follow what QEMU 7.2 prints for the same input to
 * -incoming (checked against qemu-system-x86_64).
 */
#include "qemu/osdep.h"
#include "qemu/sockets.h"
#include "qemu/cutils.h"

/*
 * Parse the ",flag[=on|off]" options after an inet address.  Only ipv4
 * and ipv6 matter to Tern; other options (to=, keep-alive...) are
 * accepted and ignored as QEMU 7.2 does.
 */
static bool inet_parse_flags(SocketAddress *addr, const char *opts,
                             Error **errp)
{
    g_auto(GStrv) parts = g_strsplit(opts, ",", -1);
    size_t i;

    for (i = 0; parts[i]; i++) {
        const char *flag = parts[i];
        bool *target = NULL;
        const char *rest = NULL;
        bool value;

        if (g_str_has_prefix(flag, "ipv4")) {
            target = &addr->ipv4_only;
            rest = flag + 4;
        } else if (g_str_has_prefix(flag, "ipv6")) {
            target = &addr->ipv6_only;
            rest = flag + 4;
        }
        if (!target || (*rest != '\0' && *rest != '=')) {
            continue;
        }
        if (*rest == '\0') {
            value = true;
        } else if (!qemu_parse_bool(rest + 1, &value)) {
            error_setg(errp, "error parsing '%.4s' flag '%s'", flag, rest);
            return false;
        }
        *target = value;
    }
    return true;
}

/* "host:port[,opts]" or "[v6]:port[,opts]"; host may be empty. */
static bool inet_parse(SocketAddress *addr, const char *str, Error **errp)
{
    const char *p, *port, *comma;

    if (str[0] == '[') {
        const char *close = strchr(str, ']');

        if (!close || close == str + 1 || close[1] != ':' || close[2] == '\0' ||
            close[2] == ',') {
            error_setg(errp, "error parsing IPv6 address '%s'", str);
            return false;
        }
        addr->host = g_strndup(str + 1, close - str - 1);
        port = close + 2;
    } else {
        p = strchr(str, ':');
        if (!p || (p != str && (p[1] == '\0' || p[1] == ','))) {
            error_setg(errp, "error parsing address '%s'", str);
            return false;
        }
        if (p[1] == '\0' || p[1] == ',') {
            error_setg(errp, "error parsing port in address '%s'", str);
            return false;
        }
        addr->host = g_strndup(str, p - str);
        port = p + 1;
    }
    comma = strchr(port, ',');
    addr->port = comma ? g_strndup(port, comma - port) : g_strdup(port);
    if (comma) {
        return inet_parse_flags(addr, comma + 1, errp);
    }
    return true;
}

/* "cid:port" (numbers). */
static bool vsock_parse(SocketAddress *addr, const char *str, Error **errp)
{
    const char *colon = strchr(str, ':');
    const char *port;
    uint64_t n;

    if (!colon || colon == str || colon[1] == '\0' || colon[1] == ',') {
        error_setg(errp, "error parsing address '%s'", str);
        return false;
    }
    addr->cid = g_strndup(str, colon - str);
    port = colon + 1;
    addr->port = g_strndup(port, strcspn(port, ","));
    if (qemu_strtou64(addr->cid, NULL, 10, &n) < 0 || n > UINT32_MAX) {
        error_setg(errp, "Failed to parse cid '%s'", addr->cid);
        return false;
    }
    if (qemu_strtou64(addr->port, NULL, 10, &n) < 0 || n > UINT32_MAX) {
        error_setg(errp, "Failed to parse port '%s'", addr->port);
        return false;
    }
    return true;
}

SocketAddress *socket_parse(const char *str, Error **errp)
{
    SocketAddress *addr = g_new0(SocketAddress, 1);
    const char *rest;

    if (!str) {
        str = "";
    }
    if (g_str_has_prefix(str, "unix:")) {
        addr->type = SOCKET_ADDRESS_TYPE_UNIX;
        rest = str + 5;
        if (*rest == '\0') {
            error_setg(errp, "invalid Unix socket address");
            goto fail;
        }
        addr->path = g_strdup(rest);
    } else if (g_str_has_prefix(str, "fd:")) {
        addr->type = SOCKET_ADDRESS_TYPE_FD;
        rest = str + 3;
        if (*rest == '\0') {
            error_setg(errp, "Invalid file descriptor number '%s'", rest);
            goto fail;
        }
        addr->fd_name = g_strdup(rest);
    } else if (g_str_has_prefix(str, "vsock:")) {
        addr->type = SOCKET_ADDRESS_TYPE_VSOCK;
        if (!vsock_parse(addr, str + 6, errp)) {
            goto fail;
        }
    } else {
        addr->type = SOCKET_ADDRESS_TYPE_INET;
        rest = g_str_has_prefix(str, "tcp:") ? str + 4 : str;
        if (!inet_parse(addr, rest, errp)) {
            goto fail;
        }
    }
    return addr;

fail:
    socket_address_free(addr);
    return NULL;
}

char *socket_address_to_string(const SocketAddress *addr)
{
    switch (addr->type) {
    case SOCKET_ADDRESS_TYPE_INET:
        if (strchr(addr->host, ':')) {
            return g_strdup_printf("[%s]:%s", addr->host, addr->port);
        }
        return g_strdup_printf("%s:%s", addr->host, addr->port);
    case SOCKET_ADDRESS_TYPE_UNIX:
        return g_strdup(addr->path);
    case SOCKET_ADDRESS_TYPE_FD:
        return g_strdup(addr->fd_name);
    case SOCKET_ADDRESS_TYPE_VSOCK:
        return g_strdup_printf("%s:%s", addr->cid, addr->port);
    }
    g_assert_not_reached();
}

char *socket_address_to_uri(const SocketAddress *addr)
{
    g_autofree char *s = socket_address_to_string(addr);

    switch (addr->type) {
    case SOCKET_ADDRESS_TYPE_INET:
        return g_strconcat("tcp:", s, NULL);
    case SOCKET_ADDRESS_TYPE_UNIX:
        return g_strconcat("unix:", s, NULL);
    case SOCKET_ADDRESS_TYPE_FD:
        return g_strconcat("fd:", s, NULL);
    case SOCKET_ADDRESS_TYPE_VSOCK:
        return g_strconcat("vsock:", s, NULL);
    }
    g_assert_not_reached();
}

SocketAddress *socket_address_dup(const SocketAddress *addr)
{
    SocketAddress *copy = g_new0(SocketAddress, 1);

    copy->type = addr->type;
    copy->host = g_strdup(addr->host);
    copy->port = g_strdup(addr->port);
    copy->ipv4_only = addr->ipv4_only;
    copy->ipv6_only = addr->ipv6_only;
    copy->path = g_strdup(addr->path);
    copy->cid = g_strdup(addr->cid);
    copy->fd_name = g_strdup(addr->fd_name);
    return copy;
}

void socket_address_free(SocketAddress *addr)
{
    if (!addr) {
        return;
    }
    g_free(addr->host);
    g_free(addr->port);
    g_free(addr->path);
    g_free(addr->cid);
    g_free(addr->fd_name);
    g_free(addr);
}
