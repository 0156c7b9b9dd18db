/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * channel.h: QIOChannel, the one I/O abstraction every transport ends as.
 *
 * A QIOChannel is an instance struct (kinds embed it as their first member)
 * plus a class of function pointers.  Mandatory callbacks are present in
 * every kind; optional ones are checked by the public wrappers, which answer
 * "not supported" through Error.  Callers test feature flags, never kinds.
 *
 * Reference counting: qio_channel_ref/unref; the last unref calls the
 * class's io_finalize (which must close the underlying resource) and frees
 * the instance.  A channel may be shared between threads (e.g. the
 * migration thread writes while the main thread calls shutdown), so the
 * refcount is atomic.  I/O on one channel from two threads at once in the
 * same direction is not supported.
 *
 * A kind's io_finalize releases what the kind owns but does not free the
 * instance: qio_channel_unref g_free's it (kinds are g_new0'd).
 *
 * Vectors: readv/writev hand the caller's iovec straight to the kind,
 * which passes it to one syscall; at most IOV_MAX elements go per call (a
 * longer vector gives a short transfer that the *_all helpers continue).
 *
 * Blocking: a channel starts in blocking mode.  In non-blocking mode
 * readv/writev return QIO_CHANNEL_ERR_BLOCK instead of waiting; the *_all
 * helpers then wait for the fd with qio_channel_wait() and retry, so they
 * are correct in either mode.
 */
#ifndef QIO_CHANNEL_H
#define QIO_CHANNEL_H

#include "qemu/osdep.h"
#include "qapi/error.h"

typedef struct QIOChannel QIOChannel;
typedef struct QIOChannelClass QIOChannelClass;

/* Upcast a kind (whose first member is QIOChannel parent) to QIOChannel. */
#define QIO_CHANNEL(obj) ((QIOChannel *)(obj))

/* Returned by readv/writev when a non-blocking channel would block. */
#define QIO_CHANNEL_ERR_BLOCK -2

typedef enum QIOChannelFeature {
    QIO_CHANNEL_FEATURE_FD_PASS,  /* SCM_RIGHTS fd passing */
    QIO_CHANNEL_FEATURE_SHUTDOWN, /* io_shutdown is meaningful */
    QIO_CHANNEL_FEATURE_LISTEN,   /* a listening socket */
    QIO_CHANNEL_FEATURE_SEEKABLE, /* preadv/pwritev/seek work */
    QIO_CHANNEL_FEATURE_READ_MSG_PEEK,
    QIO_CHANNEL_FEATURE_PIPE, /* data goes through pipes: io_get_pipe_fd */
} QIOChannelFeature;

typedef enum QIOChannelShutdown {
    QIO_CHANNEL_SHUTDOWN_READ = 1,
    QIO_CHANNEL_SHUTDOWN_WRITE = 2,
    QIO_CHANNEL_SHUTDOWN_BOTH = 3,
} QIOChannelShutdown;

/* flags for readv */
#define QIO_CHANNEL_READ_FLAG_MSG_PEEK 0x1

typedef gboolean (*QIOChannelFunc)(QIOChannel *ioc, GIOCondition condition,
                                   gpointer data);

struct QIOChannelClass {
    const char *type_name; /* "qio-channel-socket", ... */

    /* Mandatory */
    ssize_t (*io_writev)(QIOChannel *ioc, const struct iovec *iov, size_t niov,
                         int *fds, size_t nfds, int flags, Error **errp);
    ssize_t (*io_readv)(QIOChannel *ioc, const struct iovec *iov, size_t niov,
                        int **fds, size_t *nfds, int flags, Error **errp);
    int (*io_close)(QIOChannel *ioc, Error **errp);
    GSource *(*io_create_watch)(QIOChannel *ioc, GIOCondition condition);
    int (*io_set_blocking)(QIOChannel *ioc, bool enabled, Error **errp);
    /* Release everything the kind owns (after io_close if not closed). */
    void (*io_finalize)(QIOChannel *ioc);

    /* Optional */
    int (*io_shutdown)(QIOChannel *ioc, QIOChannelShutdown how, Error **errp);
    void (*io_set_cork)(QIOChannel *ioc, bool enabled);
    void (*io_set_delay)(QIOChannel *ioc, bool enabled);
    off_t (*io_seek)(QIOChannel *ioc, off_t offset, int whence, Error **errp);
    ssize_t (*io_preadv)(QIOChannel *ioc, const struct iovec *iov, size_t niov,
                         off_t offset, Error **errp);
    ssize_t (*io_pwritev)(QIOChannel *ioc, const struct iovec *iov, size_t niov,
                          off_t offset, Error **errp);
    /* The fd behind the channel for poll(), or -1. */
    int (*io_get_fd)(QIOChannel *ioc);
    /* QIO_CHANNEL_FEATURE_PIPE: the pipe written (write) or read, or -1. */
    int (*io_get_pipe_fd)(QIOChannel *ioc, bool write);
};

struct QIOChannel {
    const QIOChannelClass *klass;
    gint refcount;         /* atomic */
    unsigned int features; /* bitmask of 1 << QIOChannelFeature */
    char *name;            /* for tracing; owned */
};

/* Initialise the embedded parent of a new channel kind: refcount 1. */
void qio_channel_init(QIOChannel *ioc, const QIOChannelClass *klass);

/* Take a reference; returns ioc. */
QIOChannel *qio_channel_ref(QIOChannel *ioc);
/* Drop a reference; at zero the channel is finalized and freed. NULL ok. */
void qio_channel_unref(QIOChannel *ioc);

bool qio_channel_has_feature(QIOChannel *ioc, QIOChannelFeature feature);
void qio_channel_set_feature(QIOChannel *ioc, QIOChannelFeature feature);
/*
 * The pipe behind a QIO_CHANNEL_FEATURE_PIPE channel for one direction
 * (write: the one this side writes), e.g. to resize it with
 * F_SETPIPE_SZ.  Borrowed: the channel keeps owning it.  -1 when the
 * channel has no pipe for that direction.
 */
int qio_channel_get_pipe_fd(QIOChannel *ioc, bool write);
/* Set the channel's name (copied), used in trace points. */
void qio_channel_set_name(QIOChannel *ioc, const char *name);

/*
 * Read/write once.  Returns bytes transferred (0 on readv = EOF),
 * QIO_CHANNEL_ERR_BLOCK in non-blocking mode when nothing could be done,
 * or -1 with errp set.  EINTR is retried internally.
 */
ssize_t qio_channel_readv_full(QIOChannel *ioc, const struct iovec *iov,
                               size_t niov, int **fds, size_t *nfds, int flags,
                               Error **errp);
ssize_t qio_channel_writev_full(QIOChannel *ioc, const struct iovec *iov,
                                size_t niov, int *fds, size_t nfds, int flags,
                                Error **errp);
ssize_t qio_channel_readv(QIOChannel *ioc, const struct iovec *iov, size_t niov,
                          Error **errp);
ssize_t qio_channel_writev(QIOChannel *ioc, const struct iovec *iov,
                           size_t niov, Error **errp);
ssize_t qio_channel_read(QIOChannel *ioc, char *buf, size_t buflen,
                         Error **errp);
ssize_t qio_channel_write(QIOChannel *ioc, const char *buf, size_t buflen,
                          Error **errp);

/*
 * Read until the iovec is full.  Returns 1 when everything was read, 0 if
 * EOF came before the first byte, -1 with errp set on error or on EOF after
 * some bytes ("Unexpected end-of-file before all data were read").
 */
int qio_channel_readv_all_eof(QIOChannel *ioc, const struct iovec *iov,
                              size_t niov, Error **errp);
/* As readv_all_eof, but EOF at any point is an error; returns 0 or -1. */
int qio_channel_readv_all(QIOChannel *ioc, const struct iovec *iov, size_t niov,
                          Error **errp);
int qio_channel_read_all_eof(QIOChannel *ioc, char *buf, size_t buflen,
                             Error **errp);
int qio_channel_read_all(QIOChannel *ioc, char *buf, size_t buflen,
                         Error **errp);
/* Write the whole iovec (short writes continue); returns 0 or -1. */
int qio_channel_writev_all(QIOChannel *ioc, const struct iovec *iov,
                           size_t niov, Error **errp);
int qio_channel_writev_full_all(QIOChannel *ioc, const struct iovec *iov,
                                size_t niov, int *fds, size_t nfds,
                                Error **errp);
int qio_channel_write_all(QIOChannel *ioc, const char *buf, size_t buflen,
                          Error **errp);

/* Positional I/O on SEEKABLE channels; "not supported" error otherwise. */
ssize_t qio_channel_preadv(QIOChannel *ioc, const struct iovec *iov,
                           size_t niov, off_t offset, Error **errp);
ssize_t qio_channel_pwritev(QIOChannel *ioc, const struct iovec *iov,
                            size_t niov, off_t offset, Error **errp);
/* Loop until all is read/written; 0 or -1 (EOF is an error). */
int qio_channel_pread_all(QIOChannel *ioc, void *buf, size_t len, off_t offset,
                          Error **errp);
int qio_channel_pwrite_all(QIOChannel *ioc, const void *buf, size_t len,
                           off_t offset, Error **errp);
off_t qio_channel_io_seek(QIOChannel *ioc, off_t offset, int whence,
                          Error **errp);

int qio_channel_set_blocking(QIOChannel *ioc, bool enabled, Error **errp);
int qio_channel_close(QIOChannel *ioc, Error **errp);
/* Shut one or both directions; wakes a thread blocked in I/O. */
int qio_channel_shutdown(QIOChannel *ioc, QIOChannelShutdown how, Error **errp);
void qio_channel_set_cork(QIOChannel *ioc, bool enabled);
void qio_channel_set_delay(QIOChannel *ioc, bool enabled);
/* The fd for poll(), or -1. */
int qio_channel_get_fd(QIOChannel *ioc);

/* A GSource that fires when condition holds; caller owns the source. */
GSource *qio_channel_create_watch(QIOChannel *ioc, GIOCondition condition);
/*
 * Attach a watch to context (NULL = default).  func returning FALSE removes
 * it; notify is called on data when the watch goes away.  Returns the
 * source id.
 */
guint qio_channel_add_watch_full(QIOChannel *ioc, GIOCondition condition,
                                 QIOChannelFunc func, gpointer data,
                                 GDestroyNotify notify, GMainContext *context);
guint qio_channel_add_watch(QIOChannel *ioc, GIOCondition condition,
                            QIOChannelFunc func, gpointer data,
                            GDestroyNotify notify);
/* Block the calling thread until condition holds on the channel. */
void qio_channel_wait(QIOChannel *ioc, GIOCondition condition);

/*
 * Helpers for kinds (extensions to the contract, compatible).
 */

/*
 * A GSource polling fd for condition (G_IO_HUP/G_IO_ERR always wake it);
 * the callback (a QIOChannelFunc) gets ioc.  The source holds a reference
 * on ioc.  Caller owns the returned source.
 */
GSource *qio_channel_create_fd_watch(QIOChannel *ioc, int fd,
                                     GIOCondition condition);
/*
 * As qio_channel_create_fd_watch for a channel with separate read and
 * write fds: G_IO_IN is polled on readfd, G_IO_OUT on writefd (-1 = none).
 */
GSource *qio_channel_create_fd_pair_watch(QIOChannel *ioc, int readfd,
                                          int writefd, GIOCondition condition);
/* A GSource that is always ready with condition (memory channels). */
GSource *qio_channel_create_ready_watch(QIOChannel *ioc,
                                        GIOCondition condition);

/*
 * Read until the iovec is full, also collecting fds passed on the first
 * read that carries any (*fds is g_new'd, caller closes and g_free's).
 * Returns 0, or -1 with errp set (EOF is an error).
 */
int qio_channel_readv_full_all(QIOChannel *ioc, const struct iovec *iov,
                               size_t niov, int **fds, size_t *nfds,
                               Error **errp);

/*
 * Block the calling thread until condition holds or timeout_ms passes
 * (-1 = forever).  Returns true if condition held.
 */
bool qio_channel_wait_timeout(QIOChannel *ioc, GIOCondition condition,
                              int timeout_ms);

#endif /* QIO_CHANNEL_H */
