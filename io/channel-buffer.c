/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * channel-buffer.c: QIOChannelBuffer, a file-like channel over memory.
 */
#include "qemu/osdep.h"
#include "io/channel-buffer.h"
#include "qemu/iov.h"

static const QIOChannelClass qio_channel_buffer_class;

QIOChannelBuffer *qio_channel_buffer_new(size_t capacity)
{
    QIOChannelBuffer *bioc = g_new0(QIOChannelBuffer, 1);

    qio_channel_init(QIO_CHANNEL(bioc), &qio_channel_buffer_class);
    qio_channel_set_feature(QIO_CHANNEL(bioc), QIO_CHANNEL_FEATURE_SEEKABLE);
    qio_channel_set_feature(QIO_CHANNEL(bioc),
                            QIO_CHANNEL_FEATURE_READ_MSG_PEEK);
    if (capacity) {
        bioc->data = g_malloc(capacity);
        bioc->capacity = capacity;
    }
    return bioc;
}

/* Make room for @end bytes, growing geometrically. */
static void qio_channel_buffer_reserve(QIOChannelBuffer *bioc, size_t end)
{
    size_t cap = bioc->capacity ? bioc->capacity : 4096;

    if (end <= bioc->capacity) {
        return;
    }
    while (cap < end) {
        cap = cap > SIZE_MAX / 2 ? end : cap * 2;
    }
    bioc->data = g_realloc(bioc->data, cap);
    bioc->capacity = cap;
}

static size_t qio_channel_buffer_copy_out(QIOChannelBuffer *bioc,
                                          const struct iovec *iov, size_t niov,
                                          size_t offset)
{
    IOVCursor c;

    if (offset >= bioc->usage) {
        return 0;
    }
    iov_cursor_init(&c, iov, niov);
    return iov_cursor_from_buf(&c, bioc->data + offset, bioc->usage - offset);
}

static size_t qio_channel_buffer_copy_in(QIOChannelBuffer *bioc,
                                         const struct iovec *iov, size_t niov,
                                         size_t offset)
{
    IOVCursor c;
    size_t total;

    iov_cursor_init(&c, iov, niov);
    total = iov_cursor_remaining(&c);
    qio_channel_buffer_reserve(bioc, offset + total);
    if (offset > bioc->usage) {
        /* A hole left by seeking past the end reads as zeroes. */
        memset(bioc->data + bioc->usage, 0, offset - bioc->usage);
    }
    iov_cursor_to_buf(&c, bioc->data + offset, total);
    bioc->usage = MAX(bioc->usage, offset + total);
    return total;
}

static ssize_t qio_channel_buffer_readv(QIOChannel *ioc,
                                        const struct iovec *iov, size_t niov,
                                        int **fds, size_t *nfds, int flags,
                                        Error **errp)
{
    QIOChannelBuffer *bioc = QIO_CHANNEL_BUFFER(ioc);
    size_t n = qio_channel_buffer_copy_out(bioc, iov, niov, bioc->offset);

    if (!(flags & QIO_CHANNEL_READ_FLAG_MSG_PEEK)) {
        bioc->offset += n;
    }
    return n;
}

static ssize_t qio_channel_buffer_writev(QIOChannel *ioc,
                                         const struct iovec *iov, size_t niov,
                                         int *fds, size_t nfds, int flags,
                                         Error **errp)
{
    QIOChannelBuffer *bioc = QIO_CHANNEL_BUFFER(ioc);
    size_t n = qio_channel_buffer_copy_in(bioc, iov, niov, bioc->offset);

    bioc->offset += n;
    return n;
}

/* A positioned transfer needs @offset >= 0; @what is "read from"/"write to". */
static bool qio_channel_buffer_check_offset(off_t offset, const char *what,
                                            Error **errp)
{
    if (offset < 0) {
        error_setg_errno(errp, EINVAL, "Unable to %s buffer at offset %lld",
                         what, (long long)offset);
        return false;
    }
    return true;
}

static ssize_t qio_channel_buffer_preadv(QIOChannel *ioc,
                                         const struct iovec *iov, size_t niov,
                                         off_t offset, Error **errp)
{
    QIOChannelBuffer *bioc = QIO_CHANNEL_BUFFER(ioc);

    if (!qio_channel_buffer_check_offset(offset, "read from", errp)) {
        return -1;
    }
    return qio_channel_buffer_copy_out(bioc, iov, niov, offset);
}

static ssize_t qio_channel_buffer_pwritev(QIOChannel *ioc,
                                          const struct iovec *iov, size_t niov,
                                          off_t offset, Error **errp)
{
    QIOChannelBuffer *bioc = QIO_CHANNEL_BUFFER(ioc);

    if (!qio_channel_buffer_check_offset(offset, "write to", errp)) {
        return -1;
    }
    return qio_channel_buffer_copy_in(bioc, iov, niov, offset);
}

static off_t qio_channel_buffer_seek(QIOChannel *ioc, off_t offset, int whence,
                                     Error **errp)
{
    QIOChannelBuffer *bioc = QIO_CHANNEL_BUFFER(ioc);
    off_t base;

    switch (whence) {
    case SEEK_SET:
        base = 0;
        break;
    case SEEK_CUR:
        base = bioc->offset;
        break;
    case SEEK_END:
        base = bioc->usage;
        break;
    default:
        goto invalid;
    }
    if (base + offset < 0) {
        goto invalid;
    }
    bioc->offset = base + offset;
    return bioc->offset;

invalid:
    error_setg_errno(errp, EINVAL,
                     "Unable to seek to offset %lld whence %d in buffer",
                     (long long)offset, whence);
    return -1;
}

static int qio_channel_buffer_set_blocking(QIOChannel *ioc, bool enabled,
                                           Error **errp)
{
    return 0;
}

static int qio_channel_buffer_close(QIOChannel *ioc, Error **errp)
{
    QIOChannelBuffer *bioc = QIO_CHANNEL_BUFFER(ioc);

    g_free(bioc->data);
    bioc->data = NULL;
    bioc->capacity = bioc->usage = bioc->offset = 0;
    return 0;
}

static GSource *qio_channel_buffer_create_watch(QIOChannel *ioc,
                                                GIOCondition condition)
{
    return qio_channel_create_ready_watch(ioc, condition);
}

static void qio_channel_buffer_finalize(QIOChannel *ioc)
{
    QIOChannelBuffer *bioc = QIO_CHANNEL_BUFFER(ioc);

    g_free(bioc->data);
    bioc->data = NULL;
}

static const QIOChannelClass qio_channel_buffer_class = {
    .type_name = "qio-channel-buffer",
    .io_writev = qio_channel_buffer_writev,
    .io_readv = qio_channel_buffer_readv,
    .io_close = qio_channel_buffer_close,
    .io_create_watch = qio_channel_buffer_create_watch,
    .io_set_blocking = qio_channel_buffer_set_blocking,
    .io_finalize = qio_channel_buffer_finalize,
    .io_seek = qio_channel_buffer_seek,
    .io_preadv = qio_channel_buffer_preadv,
    .io_pwritev = qio_channel_buffer_pwritev,
};
