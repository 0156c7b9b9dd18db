/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * transport.c: the table of migration transports (see transport.h).
 */
#include "qemu/osdep.h"
#include <poll.h>
#include <sys/eventfd.h>
#include "qapi/error.h"
#include "migration/options.h"
#include "transport.h"

static const MigrationTransport migration_transports[] = {
    {
        .prefix = "tcp:",
        .carries_reply = true,
        .multi_channel = true,
        .outgoing_open = socket_outgoing_open,
        .incoming_start = socket_incoming_start,
        .tls_hostname = socket_tls_hostname,
    },
    {
        .prefix = "unix:",
        .carries_reply = true,
        .keep_prefix = true,
        .multi_channel = true,
        .outgoing_open = socket_outgoing_open,
        .incoming_start = socket_incoming_start,
    },
    {
        .prefix = "vsock:",
        .carries_reply = true,
        .keep_prefix = true,
        .multi_channel = true,
        .outgoing_open = socket_outgoing_open,
        .incoming_start = socket_incoming_start,
    },
    {
        .prefix = "exec:",
        .outgoing_open = exec_outgoing_open,
        .incoming_start = exec_incoming_start,
        .outgoing_cancel = exec_outgoing_cancel,
    },
    {
        .prefix = "fd:",
        .monitor_fd = true,
        .seekable = true,
        .outgoing_open = fd_outgoing_open,
        .incoming_start = fd_incoming_start,
    },
    {
        .prefix = "file:",
        .stores_stream = true,
        .seekable = true,
        .outgoing_open = file_outgoing_open,
        .incoming_start = file_incoming_start,
    },
};

bool migration_transport_carries_reply(const MigrationTransport *t,
                                       QIOChannel *ioc)
{
    return t && (t->carries_reply ||
                 (ioc &&
                  qio_channel_has_feature(ioc, QIO_CHANNEL_FEATURE_SHUTDOWN)));
}

const MigrationTransport *migration_transport_find(const char *uri)
{
    for (size_t i = 0; i < ARRAY_SIZE(migration_transports); i++) {
        if (g_str_has_prefix(uri, migration_transports[i].prefix)) {
            return &migration_transports[i];
        }
    }
    return NULL;
}

const MigrationTransport *migration_transport_find_outgoing(const char *uri,
                                                            Error **errp)
{
    const MigrationTransport *t = migration_transport_find(uri);

    if (!t) {
        error_setg(errp, "Parameter 'uri' expects a valid migration "
                         "protocol");
    }
    return t;
}

const MigrationTransport *migration_transport_find_incoming(const char *uri,
                                                            Error **errp)
{
    const MigrationTransport *t = migration_transport_find(uri);

    if (!t) {
        error_setg(errp, "unknown migration protocol: %s", uri);
    }
    return t;
}

bool migration_transport_check_caps(const MigrationTransport *t, Error **errp)
{
    if (migrate_mapped_ram()) {
        if (!t->seekable) {
            error_setg(errp,
                       "Migration requires seekable transport (e.g. file)");
            return false;
        }
        if (migrate_direct_io() && t->monitor_fd) {
            error_setg(errp, "direct-io is not supported with the fd: URI "
                             "(use file:)");
            return false;
        }
        return migrate_mapped_ram_check(errp);
    }
    if (migrate_multifd() && !t->multi_channel) {
        error_setg(errp, "multifd is not supported by current protocol");
        return false;
    }
    return true;
}

const char *migration_transport_arg(const MigrationTransport *t,
                                    const char *uri)
{
    return t->keep_prefix ? uri : uri + strlen(t->prefix);
}

/*
 * rdma: URIs.  There is no RDMA transport yet; with tls-creds set the
 * answer says first that TLS cannot be had over RDMA at all (RDMA moves
 * pages by remote DMA, outside any TLS session).
 */
bool migration_transport_refuse(const char *uri, Error **errp)
{
    const char *creds = migrate_tls_creds();

    if (!g_str_has_prefix(uri, "rdma:")) {
        return false;
    }
    if (creds && *creds) {
        error_setg(errp, "TLS is not supported with RDMA migration "
                         "(tls-creds is set)");
    } else {
        error_setg(errp, "RDMA migration is not supported by Tern yet");
    }
    return true;
}

int migration_transport_cancel_fd(void)
{
    static gsize once;
    static int fd = -1;

    if (g_once_init_enter(&once)) {
        fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        if (fd < 0) {
            /* without it opens cannot be cancelled, but still work */
            fd = -1;
        }
        g_once_init_leave(&once, 1);
    }
    return fd;
}

void migration_transport_cancel_reset(void)
{
    int fd = migration_transport_cancel_fd();
    uint64_t v;

    if (fd >= 0 && read(fd, &v, sizeof(v)) < 0) {
        /* EAGAIN: it was clear */
    }
}

void migration_transport_cancel(MigrationState *s)
{
    const MigrationTransport *t =
        s->uri ? migration_transport_find(s->uri) : NULL;
    int fd = migration_transport_cancel_fd();
    uint64_t one = 1;

    if (fd >= 0 && write(fd, &one, sizeof(one)) < 0) {
        /* EAGAIN: the counter is saturated, it is readable anyway */
    }
    if (t && t->outgoing_cancel) {
        t->outgoing_cancel(s);
    }
}

bool migration_transport_cancelled(int timeout_ms)
{
    struct pollfd pfd = {.fd = migration_transport_cancel_fd(),
                         .events = POLLIN};

    if (pfd.fd < 0) {
        if (timeout_ms > 0) {
            g_usleep(timeout_ms * 1000);
        }
        return false;
    }
    return poll(&pfd, 1, timeout_ms) > 0;
}
