/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * channel-prefix.c: a channel that gives back the first bytes the
 * destination's channel sorter read to tell a TLS channel's kind (TLS
 * cannot peek), then reads and writes the wrapped channel.  Every other
 * operation is the wrapped channel's.
 */
#include "qemu/osdep.h"
#include "qapi/error.h"
#include "qemu/iov.h"
#include "migration.h"

#define MIGRATION_PREFIX_MAX 8

typedef struct MigrationPrefixChannel {
    QIOChannel parent;
    QIOChannel *inner; /* a reference */
    uint8_t prefix[MIGRATION_PREFIX_MAX];
    size_t len, pos;
} MigrationPrefixChannel;

#define PREFIX(ioc) ((MigrationPrefixChannel *)(ioc))

static const QIOChannelClass migration_prefix_class;

static ssize_t migration_prefix_readv(QIOChannel *ioc, const struct iovec *iov,
                                      size_t niov, int **fds, size_t *nfds,
                                      int flags, Error **errp)
{
    MigrationPrefixChannel *p = PREFIX(ioc);

    if (p->pos < p->len) {
        size_t n =
            iov_from_buf(iov, niov, 0, p->prefix + p->pos, p->len - p->pos);

        p->pos += n;
        return n;
    }
    return qio_channel_readv_full(p->inner, iov, niov, fds, nfds, flags, errp);
}

static ssize_t migration_prefix_writev(QIOChannel *ioc, const struct iovec *iov,
                                       size_t niov, int *fds, size_t nfds,
                                       int flags, Error **errp)
{
    return qio_channel_writev_full(PREFIX(ioc)->inner, iov, niov, fds, nfds,
                                   flags, errp);
}

static int migration_prefix_close(QIOChannel *ioc, Error **errp)
{
    return qio_channel_close(PREFIX(ioc)->inner, errp);
}

static GSource *migration_prefix_create_watch(QIOChannel *ioc,
                                              GIOCondition condition)
{
    return qio_channel_create_watch(PREFIX(ioc)->inner, condition);
}

static int migration_prefix_set_blocking(QIOChannel *ioc, bool enabled,
                                         Error **errp)
{
    return qio_channel_set_blocking(PREFIX(ioc)->inner, enabled, errp);
}

static void migration_prefix_finalize(QIOChannel *ioc)
{
    qio_channel_unref(PREFIX(ioc)->inner);
}

static int migration_prefix_shutdown(QIOChannel *ioc, QIOChannelShutdown how,
                                     Error **errp)
{
    return qio_channel_shutdown(PREFIX(ioc)->inner, how, errp);
}

static int migration_prefix_get_fd(QIOChannel *ioc)
{
    return qio_channel_get_fd(PREFIX(ioc)->inner);
}

static const QIOChannelClass migration_prefix_class = {
    .type_name = "migration-channel-prefix",
    .io_writev = migration_prefix_writev,
    .io_readv = migration_prefix_readv,
    .io_close = migration_prefix_close,
    .io_create_watch = migration_prefix_create_watch,
    .io_set_blocking = migration_prefix_set_blocking,
    .io_finalize = migration_prefix_finalize,
    .io_shutdown = migration_prefix_shutdown,
    .io_get_fd = migration_prefix_get_fd,
};

QIOChannel *migration_channel_prefix_new(QIOChannel *inner,
                                         const uint8_t *prefix, size_t len)
{
    MigrationPrefixChannel *p = g_new0(MigrationPrefixChannel, 1);

    g_assert(len <= MIGRATION_PREFIX_MAX);
    qio_channel_init(&p->parent, &migration_prefix_class);
    p->parent.features = inner->features & (1u << QIO_CHANNEL_FEATURE_SHUTDOWN);
    p->inner = qio_channel_ref(inner);
    memcpy(p->prefix, prefix, len);
    p->len = len;
    return &p->parent;
}
