/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * channel-buffer.h: QIOChannelBuffer, a channel over a growable memory
 * buffer.
 *
 * It behaves like a file in memory: writes store at @offset (growing the
 * buffer as needed) and advance it, reads return bytes from @offset up to
 * @usage.  SEEKABLE: seek/preadv/pwritev work.  Used to build a stream in
 * memory (e.g. a device state blob) and to test code over QIOChannel.
 *
 * Not thread-safe: one user at a time.
 */
#ifndef QIO_CHANNEL_BUFFER_H
#define QIO_CHANNEL_BUFFER_H

#include "io/channel.h"

typedef struct QIOChannelBuffer {
    QIOChannel parent;
    size_t capacity; /* bytes allocated at data */
    size_t usage;    /* bytes of valid data */
    size_t offset;   /* read/write position */
    uint8_t *data;   /* owned; g_free'd on close/finalize */
} QIOChannelBuffer;

#define QIO_CHANNEL_BUFFER(obj) ((QIOChannelBuffer *)(obj))

/*
 * A new empty buffer channel with @capacity bytes preallocated (0 ok).
 * Never fails; the caller owns the single reference (qio_channel_unref on
 * QIO_CHANNEL(ret)).
 */
QIOChannelBuffer *qio_channel_buffer_new(size_t capacity);

#endif /* QIO_CHANNEL_BUFFER_H */
