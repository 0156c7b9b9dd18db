/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * channel.c: the generic QIOChannel layer.
 *
 * Public wrappers check optional callbacks and feature flags, then call the
 * kind's class.  The *_all helpers loop over short transfers and, when a
 * non-blocking channel answers QIO_CHANNEL_ERR_BLOCK, wait for the channel
 * with qio_channel_wait() and retry, so they work in either mode.
 *
 * Vectors are never copied byte-wise: the helpers walk the caller's array
 * with an IOVCursor (qemu/iov.h) and hand the kind what is left of it as
 * a scratch iovec array (pointers and lengths only).
 * Vectors longer than IOV_MAX are handed to the kind IOV_MAX entries at a
 * time, so every kind may pass its iovec straight to one readv/writev.
 */
#include "qemu/osdep.h"
#include "io/channel.h"
#include "qemu/iov.h"

#ifndef IOV_MAX
#define IOV_MAX 1024
#endif

void qio_channel_init(QIOChannel *ioc, const QIOChannelClass *klass)
{
    ioc->klass = klass;
    ioc->refcount = 1;
    ioc->features = 0;
    ioc->name = NULL;
}

QIOChannel *qio_channel_ref(QIOChannel *ioc)
{
    g_atomic_int_inc(&ioc->refcount);
    return ioc;
}

void qio_channel_unref(QIOChannel *ioc)
{
    if (!ioc) {
        return;
    }
    if (!g_atomic_int_dec_and_test(&ioc->refcount)) {
        return;
    }
    ioc->klass->io_finalize(ioc);
    g_free(ioc->name);
    g_free(ioc);
}

bool qio_channel_has_feature(QIOChannel *ioc, QIOChannelFeature feature)
{
    return ioc->features & (1u << feature);
}

void qio_channel_set_feature(QIOChannel *ioc, QIOChannelFeature feature)
{
    ioc->features |= (1u << feature);
}

int qio_channel_get_pipe_fd(QIOChannel *ioc, bool write)
{
    if (!qio_channel_has_feature(ioc, QIO_CHANNEL_FEATURE_PIPE) ||
        !ioc->klass->io_get_pipe_fd) {
        return -1;
    }
    return ioc->klass->io_get_pipe_fd(ioc, write);
}

void qio_channel_set_name(QIOChannel *ioc, const char *name)
{
    g_free(ioc->name);
    ioc->name = g_strdup(name);
}

/* Whether @ioc may carry file descriptors; sets @errp when it may not. */
static bool qio_channel_check_fd_pass(QIOChannel *ioc, Error **errp)
{
    if (!qio_channel_has_feature(ioc, QIO_CHANNEL_FEATURE_FD_PASS)) {
        error_setg_errno(errp, EINVAL,
                         "Channel does not support file descriptor passing");
        return false;
    }
    return true;
}

ssize_t qio_channel_readv_full(QIOChannel *ioc, const struct iovec *iov,
                               size_t niov, int **fds, size_t *nfds, int flags,
                               Error **errp)
{
    if ((fds || nfds) && !qio_channel_check_fd_pass(ioc, errp)) {
        return -1;
    }
    if ((flags & QIO_CHANNEL_READ_FLAG_MSG_PEEK) &&
        !qio_channel_has_feature(ioc, QIO_CHANNEL_FEATURE_READ_MSG_PEEK)) {
        error_setg_errno(errp, EINVAL, "Channel does not support peek read");
        return -1;
    }
    if (niov > IOV_MAX) {
        niov = IOV_MAX; /* a short read; callers loop */
    }
    return ioc->klass->io_readv(ioc, iov, niov, fds, nfds, flags, errp);
}

ssize_t qio_channel_writev_full(QIOChannel *ioc, const struct iovec *iov,
                                size_t niov, int *fds, size_t nfds, int flags,
                                Error **errp)
{
    if ((fds || nfds) && !qio_channel_check_fd_pass(ioc, errp)) {
        return -1;
    }
    if (niov > IOV_MAX) {
        niov = IOV_MAX; /* a short write; callers loop */
    }
    return ioc->klass->io_writev(ioc, iov, niov, fds, nfds, flags, errp);
}

ssize_t qio_channel_readv(QIOChannel *ioc, const struct iovec *iov, size_t niov,
                          Error **errp)
{
    return qio_channel_readv_full(ioc, iov, niov, NULL, NULL, 0, errp);
}

ssize_t qio_channel_writev(QIOChannel *ioc, const struct iovec *iov,
                           size_t niov, Error **errp)
{
    return qio_channel_writev_full(ioc, iov, niov, NULL, 0, 0, errp);
}

ssize_t qio_channel_read(QIOChannel *ioc, char *buf, size_t buflen,
                         Error **errp)
{
    struct iovec iov = {.iov_base = buf, .iov_len = buflen};

    return qio_channel_readv_full(ioc, &iov, 1, NULL, NULL, 0, errp);
}

ssize_t qio_channel_write(QIOChannel *ioc, const char *buf, size_t buflen,
                          Error **errp)
{
    struct iovec iov = {.iov_base = (char *)buf, .iov_len = buflen};

    return qio_channel_writev_full(ioc, &iov, 1, NULL, 0, 0, errp);
}

/* Close the @nfds descriptors in @fds and free the array. */
static void qio_fds_close_free(int *fds, size_t nfds)
{
    for (size_t i = 0; i < nfds; i++) {
        close(fds[i]);
    }
    g_free(fds);
}

/*
 * Returns 1 when all was read, 0 on EOF before the first byte, -1 on error
 * (including EOF after some bytes).
 */
static int qio_channel_readv_full_all_eof(QIOChannel *ioc,
                                          const struct iovec *iov, size_t niov,
                                          int **fds, size_t *nfds, Error **errp)
{
    size_t room = MAX(MIN(niov, IOV_MAX), 1); /* the kind takes no more */
    struct iovec *rest = g_new(struct iovec, room);
    size_t nrest;
    IOVCursor cur;
    bool partial = false;
    int ret = -1;

    if (fds) {
        *fds = NULL;
        *nfds = 0;
    }
    iov_cursor_init(&cur, iov, niov);
    while ((nrest = iov_cursor_export(&cur, rest, room)) > 0) {
        ssize_t len;
        int *rfds = NULL;
        size_t nrfds = 0;

        len = qio_channel_readv_full(ioc, rest, nrest, fds ? &rfds : NULL,
                                     fds ? &nrfds : NULL, 0, errp);
        if (len == QIO_CHANNEL_ERR_BLOCK) {
            qio_channel_wait(ioc, G_IO_IN);
            continue;
        }
        if (len < 0) {
            goto out;
        }
        if (nrfds) {
            if (*fds == NULL) {
                *fds = rfds;
                *nfds = nrfds;
            } else {
                /* Only the first batch is kept; close extras. */
                qio_fds_close_free(rfds, nrfds);
            }
        }
        if (len == 0) {
            if (partial) {
                error_setg(errp, "Unexpected end-of-file before all data "
                                 "were read");
                goto out;
            }
            ret = 0;
            goto out;
        }
        partial = true;
        iov_cursor_advance(&cur, len);
    }
    ret = 1;

out:
    if (ret < 0 && fds && *fds) {
        qio_fds_close_free(*fds, *nfds);
        *fds = NULL;
        *nfds = 0;
    }
    g_free(rest);
    return ret;
}

int qio_channel_readv_all_eof(QIOChannel *ioc, const struct iovec *iov,
                              size_t niov, Error **errp)
{
    return qio_channel_readv_full_all_eof(ioc, iov, niov, NULL, NULL, errp);
}

int qio_channel_readv_full_all(QIOChannel *ioc, const struct iovec *iov,
                               size_t niov, int **fds, size_t *nfds,
                               Error **errp)
{
    int ret = qio_channel_readv_full_all_eof(ioc, iov, niov, fds, nfds, errp);

    if (ret == 0) {
        error_setg(errp, "Unexpected end-of-file before all data were read");
        return -1;
    }
    return ret < 0 ? -1 : 0;
}

int qio_channel_readv_all(QIOChannel *ioc, const struct iovec *iov, size_t niov,
                          Error **errp)
{
    return qio_channel_readv_full_all(ioc, iov, niov, NULL, NULL, errp);
}

int qio_channel_read_all_eof(QIOChannel *ioc, char *buf, size_t buflen,
                             Error **errp)
{
    struct iovec iov = {.iov_base = buf, .iov_len = buflen};

    return qio_channel_readv_all_eof(ioc, &iov, 1, errp);
}

int qio_channel_read_all(QIOChannel *ioc, char *buf, size_t buflen,
                         Error **errp)
{
    struct iovec iov = {.iov_base = buf, .iov_len = buflen};

    return qio_channel_readv_all(ioc, &iov, 1, errp);
}

int qio_channel_writev_full_all(QIOChannel *ioc, const struct iovec *iov,
                                size_t niov, int *fds, size_t nfds,
                                Error **errp)
{
    size_t room = MAX(MIN(niov, IOV_MAX), 1); /* the kind takes no more */
    struct iovec *rest = g_new(struct iovec, room);
    size_t nrest;
    IOVCursor cur;
    int ret = -1;

    iov_cursor_init(&cur, iov, niov);
    nrest = iov_cursor_export(&cur, rest, room);
    if (nrest == 0 && nfds) {
        error_setg(errp, "Cannot pass file descriptors without data");
        goto out;
    }
    while (nrest > 0) {
        ssize_t len;

        len = qio_channel_writev_full(ioc, rest, nrest, fds, nfds, 0, errp);
        if (len == QIO_CHANNEL_ERR_BLOCK) {
            qio_channel_wait(ioc, G_IO_OUT);
            continue;
        }
        if (len < 0) {
            goto out;
        }
        /* fds travel with the first successful write only. */
        fds = NULL;
        nfds = 0;
        iov_cursor_advance(&cur, len);
        nrest = iov_cursor_export(&cur, rest, room);
    }
    ret = 0;

out:
    g_free(rest);
    return ret;
}

int qio_channel_writev_all(QIOChannel *ioc, const struct iovec *iov,
                           size_t niov, Error **errp)
{
    return qio_channel_writev_full_all(ioc, iov, niov, NULL, 0, errp);
}

int qio_channel_write_all(QIOChannel *ioc, const char *buf, size_t buflen,
                          Error **errp)
{
    struct iovec iov = {.iov_base = (char *)buf, .iov_len = buflen};

    return qio_channel_writev_all(ioc, &iov, 1, errp);
}

/*
 * Positioned I/O on a seekable channel: one call of the kind's
 * io_pwritev (@is_write) or io_preadv, at most IOV_MAX elements.
 */
static ssize_t qio_channel_pio(QIOChannel *ioc, bool is_write,
                               const struct iovec *iov, size_t niov,
                               off_t offset, Error **errp)
{
    if (!qio_channel_has_feature(ioc, QIO_CHANNEL_FEATURE_SEEKABLE) ||
        !(is_write ? ioc->klass->io_pwritev : ioc->klass->io_preadv)) {
        error_setg_errno(errp, EINVAL, "Requested channel does not support %s",
                         is_write ? "pwritev" : "preadv");
        return -1;
    }
    if (niov > IOV_MAX) {
        niov = IOV_MAX;
    }
    if (is_write) {
        return ioc->klass->io_pwritev(ioc, iov, niov, offset, errp);
    }
    return ioc->klass->io_preadv(ioc, iov, niov, offset, errp);
}

ssize_t qio_channel_preadv(QIOChannel *ioc, const struct iovec *iov,
                           size_t niov, off_t offset, Error **errp)
{
    return qio_channel_pio(ioc, false, iov, niov, offset, errp);
}

ssize_t qio_channel_pwritev(QIOChannel *ioc, const struct iovec *iov,
                            size_t niov, off_t offset, Error **errp)
{
    return qio_channel_pio(ioc, true, iov, niov, offset, errp);
}

/*
 * Transfer all @len bytes at @offset, waiting when the channel would
 * block.  A read that meets end-of-file first fails.  0 or -1.
 */
static int qio_channel_pio_all(QIOChannel *ioc, bool is_write, char *p,
                               size_t len, off_t offset, Error **errp)
{
    while (len > 0) {
        struct iovec iov = {.iov_base = p, .iov_len = len};
        ssize_t n = qio_channel_pio(ioc, is_write, &iov, 1, offset, errp);

        if (n == QIO_CHANNEL_ERR_BLOCK) {
            qio_channel_wait(ioc, is_write ? G_IO_OUT : G_IO_IN);
            continue;
        }
        if (n < 0) {
            return -1;
        }
        if (n == 0 && !is_write) {
            error_setg(errp, "Unexpected end-of-file before all data were "
                             "read");
            return -1;
        }
        p += n;
        len -= n;
        offset += n;
    }
    return 0;
}

int qio_channel_pread_all(QIOChannel *ioc, void *buf, size_t len, off_t offset,
                          Error **errp)
{
    return qio_channel_pio_all(ioc, false, buf, len, offset, errp);
}

int qio_channel_pwrite_all(QIOChannel *ioc, const void *buf, size_t len,
                           off_t offset, Error **errp)
{
    return qio_channel_pio_all(ioc, true, (char *)buf, len, offset, errp);
}

off_t qio_channel_io_seek(QIOChannel *ioc, off_t offset, int whence,
                          Error **errp)
{
    if (!ioc->klass->io_seek) {
        error_setg(errp, "Channel does not support random access");
        return -1;
    }
    return ioc->klass->io_seek(ioc, offset, whence, errp);
}

int qio_channel_set_blocking(QIOChannel *ioc, bool enabled, Error **errp)
{
    return ioc->klass->io_set_blocking(ioc, enabled, errp);
}

int qio_channel_close(QIOChannel *ioc, Error **errp)
{
    return ioc->klass->io_close(ioc, errp);
}

int qio_channel_shutdown(QIOChannel *ioc, QIOChannelShutdown how, Error **errp)
{
    if (!ioc->klass->io_shutdown) {
        error_setg(errp, "Data path shutdown not supported");
        return -1;
    }
    return ioc->klass->io_shutdown(ioc, how, errp);
}

void qio_channel_set_cork(QIOChannel *ioc, bool enabled)
{
    if (ioc->klass->io_set_cork) {
        ioc->klass->io_set_cork(ioc, enabled);
    }
}

void qio_channel_set_delay(QIOChannel *ioc, bool enabled)
{
    if (ioc->klass->io_set_delay) {
        ioc->klass->io_set_delay(ioc, enabled);
    }
}

int qio_channel_get_fd(QIOChannel *ioc)
{
    if (!ioc->klass->io_get_fd) {
        return -1;
    }
    return ioc->klass->io_get_fd(ioc);
}

GSource *qio_channel_create_watch(QIOChannel *ioc, GIOCondition condition)
{
    GSource *src = ioc->klass->io_create_watch(ioc, condition);

    if (ioc->name) {
        char *name = g_strdup_printf("QIOChannel(%s)", ioc->name);

        g_source_set_name(src, name);
        g_free(name);
    }
    return src;
}

guint qio_channel_add_watch_full(QIOChannel *ioc, GIOCondition condition,
                                 QIOChannelFunc func, gpointer data,
                                 GDestroyNotify notify, GMainContext *context)
{
    GSource *src;
    guint id;

    src = qio_channel_create_watch(ioc, condition);
    g_source_set_callback(src, (GSourceFunc)(void (*)(void))func, data, notify);
    id = g_source_attach(src, context);
    g_source_unref(src);
    return id;
}

guint qio_channel_add_watch(QIOChannel *ioc, GIOCondition condition,
                            QIOChannelFunc func, gpointer data,
                            GDestroyNotify notify)
{
    return qio_channel_add_watch_full(ioc, condition, func, data, notify, NULL);
}

/* ---- waiting ---- */

typedef struct QIOChannelWaitData {
    bool ready;
    bool timed_out;
} QIOChannelWaitData;

static gboolean qio_channel_wait_ready(QIOChannel *ioc, GIOCondition condition,
                                       gpointer opaque)
{
    QIOChannelWaitData *data = opaque;

    data->ready = true;
    return G_SOURCE_REMOVE;
}

static gboolean qio_channel_wait_expired(gpointer opaque)
{
    QIOChannelWaitData *data = opaque;

    data->timed_out = true;
    return G_SOURCE_REMOVE;
}

/*
 * A private GMainContext is used rather than poll() on the fd so that
 * kinds with more than one fd, or with data buffered in user space (TLS),
 * decide readiness through their own watch.  Each thread keeps one such
 * context for all its waits (creating one costs an eventfd); only that
 * thread ever iterates it, and every wait removes its sources again.
 */
static GPrivate qio_channel_wait_ctx =
    G_PRIVATE_INIT((GDestroyNotify)g_main_context_unref);

static GMainContext *qio_channel_wait_context(void)
{
    GMainContext *ctx = g_private_get(&qio_channel_wait_ctx);

    if (!ctx) {
        ctx = g_main_context_new();
        g_private_set(&qio_channel_wait_ctx, ctx);
    }
    return ctx;
}

bool qio_channel_wait_timeout(QIOChannel *ioc, GIOCondition condition,
                              int timeout_ms)
{
    GMainContext *ctx = qio_channel_wait_context();
    QIOChannelWaitData data = {0};
    GSource *src, *timer = NULL;

    src = qio_channel_create_watch(ioc, condition);
    g_source_set_callback(
        src, (GSourceFunc)(void (*)(void))qio_channel_wait_ready, &data, NULL);
    g_source_attach(src, ctx);
    if (timeout_ms >= 0) {
        timer = g_timeout_source_new(timeout_ms);
        g_source_set_callback(timer, qio_channel_wait_expired, &data, NULL);
        g_source_attach(timer, ctx);
    }
    while (!data.ready && !data.timed_out) {
        g_main_context_iteration(ctx, TRUE);
    }
    g_source_destroy(src);
    g_source_unref(src);
    if (timer) {
        g_source_destroy(timer);
        g_source_unref(timer);
    }
    return data.ready;
}

void qio_channel_wait(QIOChannel *ioc, GIOCondition condition)
{
    qio_channel_wait_timeout(ioc, condition, -1);
}

/* ---- watch sources for kinds ---- */

typedef struct QIOChannelFDSource {
    GSource parent;
    QIOChannel *ioc;
    GIOCondition condition;
    GPollFD pfd[2];
    int npfd;
} QIOChannelFDSource;

#define QIO_WATCH_ALWAYS (G_IO_HUP | G_IO_ERR | G_IO_NVAL)

static gboolean qio_channel_fd_source_prepare(GSource *source, gint *timeout)
{
    *timeout = -1;
    return FALSE;
}

static GIOCondition qio_channel_fd_source_revents(QIOChannelFDSource *s)
{
    GIOCondition rev = 0;

    for (int i = 0; i < s->npfd; i++) {
        rev |= s->pfd[i].revents;
    }
    return rev & (s->condition | QIO_WATCH_ALWAYS);
}

static gboolean qio_channel_fd_source_check(GSource *source)
{
    return qio_channel_fd_source_revents((QIOChannelFDSource *)source) != 0;
}

static gboolean qio_channel_fd_source_dispatch(GSource *source,
                                               GSourceFunc callback,
                                               gpointer user_data)
{
    QIOChannelFDSource *s = (QIOChannelFDSource *)source;
    QIOChannelFunc func = (QIOChannelFunc)(void (*)(void))callback;

    if (!func) {
        return G_SOURCE_REMOVE;
    }
    return func(s->ioc, qio_channel_fd_source_revents(s), user_data);
}

static void qio_channel_fd_source_finalize(GSource *source)
{
    QIOChannelFDSource *s = (QIOChannelFDSource *)source;

    qio_channel_unref(s->ioc);
}

static GSourceFuncs qio_channel_fd_source_funcs = {
    .prepare = qio_channel_fd_source_prepare,
    .check = qio_channel_fd_source_check,
    .dispatch = qio_channel_fd_source_dispatch,
    .finalize = qio_channel_fd_source_finalize,
};

GSource *qio_channel_create_fd_pair_watch(QIOChannel *ioc, int readfd,
                                          int writefd, GIOCondition condition)
{
    QIOChannelFDSource *s;
    GSource *src;

    src =
        g_source_new(&qio_channel_fd_source_funcs, sizeof(QIOChannelFDSource));
    s = (QIOChannelFDSource *)src;
    s->ioc = qio_channel_ref(ioc);
    s->condition = condition;
    s->npfd = 0;
    if (readfd == writefd && readfd >= 0) {
        s->pfd[0].fd = readfd;
        s->pfd[0].events = condition;
        s->npfd = 1;
    } else {
        if (readfd >= 0) {
            s->pfd[s->npfd].fd = readfd;
            s->pfd[s->npfd].events = condition & ~G_IO_OUT;
            s->npfd++;
        }
        if (writefd >= 0) {
            s->pfd[s->npfd].fd = writefd;
            s->pfd[s->npfd].events = condition & ~(G_IO_IN | G_IO_PRI);
            s->npfd++;
        }
    }
    for (int i = 0; i < s->npfd; i++) {
        s->pfd[i].revents = 0;
        g_source_add_poll(src, &s->pfd[i]);
    }
    return src;
}

GSource *qio_channel_create_fd_watch(QIOChannel *ioc, int fd,
                                     GIOCondition condition)
{
    return qio_channel_create_fd_pair_watch(ioc, fd, fd, condition);
}

typedef struct QIOChannelReadySource {
    GSource parent;
    QIOChannel *ioc;
    GIOCondition condition;
} QIOChannelReadySource;

static gboolean qio_channel_ready_source_prepare(GSource *source, gint *timeout)
{
    *timeout = 0;
    return TRUE;
}

static gboolean qio_channel_ready_source_check(GSource *source)
{
    return TRUE;
}

static gboolean qio_channel_ready_source_dispatch(GSource *source,
                                                  GSourceFunc callback,
                                                  gpointer user_data)
{
    QIOChannelReadySource *s = (QIOChannelReadySource *)source;
    QIOChannelFunc func = (QIOChannelFunc)(void (*)(void))callback;

    if (!func) {
        return G_SOURCE_REMOVE;
    }
    return func(s->ioc, s->condition & (G_IO_IN | G_IO_OUT), user_data);
}

static void qio_channel_ready_source_finalize(GSource *source)
{
    QIOChannelReadySource *s = (QIOChannelReadySource *)source;

    qio_channel_unref(s->ioc);
}

static GSourceFuncs qio_channel_ready_source_funcs = {
    .prepare = qio_channel_ready_source_prepare,
    .check = qio_channel_ready_source_check,
    .dispatch = qio_channel_ready_source_dispatch,
    .finalize = qio_channel_ready_source_finalize,
};

GSource *qio_channel_create_ready_watch(QIOChannel *ioc, GIOCondition condition)
{
    GSource *src = g_source_new(&qio_channel_ready_source_funcs,
                                sizeof(QIOChannelReadySource));
    QIOChannelReadySource *s = (QIOChannelReadySource *)src;

    s->ioc = qio_channel_ref(ioc);
    s->condition = condition;
    return src;
}
