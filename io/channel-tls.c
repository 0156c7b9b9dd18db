/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * channel-tls.c: QIOChannelTLS (see include/io/channel-tls.h).
 */
#include "qemu/osdep.h"
#include "io/channel-tls.h"
#include "qemu/bswap.h"
#include "qemu/iov.h"

/*
 * Read-ahead: when GnuTLS asks the transport for the rest of a record, we
 * read up to this much more in the same syscall, which normally holds the
 * next record's header and the start of its body.  GnuTLS's own pattern
 * is two reads per record (5-byte header, then body); with this it is
 * about one, and the bytes copied out of the read-ahead buffer stay few.
 */
#define QIO_CHANNEL_TLS_READAHEAD (4 * KiB)
/* A TLS record header: type, version (2), length (2, big-endian). */
#define QIO_CHANNEL_TLS_RECORD_HDR 5u

struct QIOChannelTLS {
    QIOChannel parent;          /* must be first */
    QIOChannel *master;         /* holds a reference */
    QCryptoTLSSession *session; /* owned */
    gint shutdown;              /* QIOChannelShutdown bits, atomic */
    unsigned int opts;          /* QIO_CHANNEL_TLS_OPT_* */
    size_t record_max;          /* after the handshake */
    bool handshake_done;
    bool fast; /* Tern's record layer took over */
    bool closed;

    /*
     * Writer's state (one writer at a time; the record layer's write lock
     * also covers a reader answering a KeyUpdate through push).
     */
    Error *push_err; /* master's error during a push */
    char *wbuf;      /* record staging, record_max */
    size_t wpending; /* record GnuTLS holds after BLOCK */

    /* Reader's state (one reader at a time). */
    Error *pull_err;   /* master's error during a pull */
    Error *read_err;   /* error to report on next readv */
    char *rbuf;        /* read-ahead bytes */
    size_t roff, rlen; /* unread part: rbuf[roff..rlen) */
};

static unsigned int qio_channel_tls_default_opts =
    QIO_CHANNEL_TLS_OPT_GATHER | QIO_CHANNEL_TLS_OPT_READAHEAD |
    QIO_CHANNEL_TLS_OPT_RECORDS;

void qio_channel_tls_set_default_opts(unsigned int opts)
{
    qio_channel_tls_default_opts = opts;
}

/* ---- transport callbacks for the session ---- */

static ssize_t qio_channel_tls_push(const struct iovec *iov, int niov,
                                    void *opaque)
{
    QIOChannelTLS *tioc = opaque;
    Error *err = NULL;
    ssize_t ret;

    ret = qio_channel_writev(tioc->master, iov, niov, &err);
    if (ret == QIO_CHANNEL_ERR_BLOCK) {
        errno = EAGAIN;
        return -1;
    }
    if (ret < 0) {
        error_free(tioc->push_err);
        tioc->push_err = err;
        errno = EIO;
        return -1;
    }
    return ret;
}

static ssize_t qio_channel_tls_pull(char *buf, size_t len, void *opaque)
{
    QIOChannelTLS *tioc = opaque;
    Error *err = NULL;
    ssize_t ret;

    if (tioc->roff < tioc->rlen) {
        size_t n = MIN(len, tioc->rlen - tioc->roff);

        memcpy(buf, tioc->rbuf + tioc->roff, n);
        tioc->roff += n;
        if (tioc->roff == tioc->rlen) {
            tioc->roff = tioc->rlen = 0;
        }
        return n;
    }

    if (tioc->rbuf && !tioc->fast) {
        struct iovec iov[2] = {
            {.iov_base = buf, .iov_len = len},
            {.iov_base = tioc->rbuf, .iov_len = QIO_CHANNEL_TLS_READAHEAD},
        };
        ret = qio_channel_readv(tioc->master, iov, 2, &err);
        if (ret > (ssize_t)len) {
            tioc->roff = 0;
            tioc->rlen = ret - len;
            ret = len;
        }
    } else {
        ret = qio_channel_read(tioc->master, buf, len, &err);
    }
    if (ret == QIO_CHANNEL_ERR_BLOCK) {
        errno = EAGAIN;
        return -1;
    }
    if (ret < 0) {
        error_free(tioc->pull_err);
        tioc->pull_err = err;
        errno = EIO;
        return -1;
    }
    return ret;
}

/*
 * Whether a read would make progress without the master: decrypted data
 * in GnuTLS, or a whole record in the read-ahead buffer.
 */
static bool qio_channel_tls_readable(QIOChannelTLS *tioc)
{
    size_t avail = tioc->rlen - tioc->roff;
    const unsigned char *hdr = (const unsigned char *)tioc->rbuf + tioc->roff;

    if (tioc->handshake_done && qcrypto_tls_session_readable(tioc->session)) {
        return true;
    }
    return avail >= QIO_CHANNEL_TLS_RECORD_HDR &&
           avail >= QIO_CHANNEL_TLS_RECORD_HDR + lduw_be_p(hdr + 3);
}

/* ---- construction ---- */

static const QIOChannelClass qio_channel_tls_class;

static QIOChannelTLS *qio_channel_tls_new(QIOChannel *master, Object *obj,
                                          const char *hostname,
                                          const char *authzid,
                                          QCryptoTLSCredsEndpoint endpoint,
                                          Error **errp)
{
    QCryptoTLSCreds *creds = qcrypto_tls_creds_from_object(obj, errp);
    QCryptoTLSSession *session;
    QIOChannelTLS *tioc;

    if (!creds) {
        return NULL;
    }
    session = qcrypto_tls_session_new(creds, hostname, authzid, endpoint, errp);
    if (!session) {
        return NULL;
    }
    tioc = g_new0(QIOChannelTLS, 1);
    qio_channel_init(&tioc->parent, &qio_channel_tls_class);
    tioc->master = qio_channel_ref(master);
    tioc->session = session;
    tioc->opts = qio_channel_tls_default_opts;
    tioc->record_max = QCRYPTO_TLS_RECORD_MAX;
    if (tioc->opts & QIO_CHANNEL_TLS_OPT_READAHEAD) {
        tioc->rbuf = g_malloc(QIO_CHANNEL_TLS_READAHEAD);
    }
    if (qio_channel_has_feature(master, QIO_CHANNEL_FEATURE_SHUTDOWN)) {
        qio_channel_set_feature(&tioc->parent, QIO_CHANNEL_FEATURE_SHUTDOWN);
    }
    qcrypto_tls_session_set_callbacks(session, qio_channel_tls_push,
                                      qio_channel_tls_pull, tioc);
    return tioc;
}

QIOChannelTLS *qio_channel_tls_new_client(QIOChannel *master, Object *creds,
                                          const char *hostname, Error **errp)
{
    return qio_channel_tls_new(master, creds, hostname, NULL,
                               QCRYPTO_TLS_CREDS_ENDPOINT_CLIENT, errp);
}

QIOChannelTLS *qio_channel_tls_new_server(QIOChannel *master, Object *creds,
                                          const char *authzid, Error **errp)
{
    return qio_channel_tls_new(master, creds, NULL, authzid,
                               QCRYPTO_TLS_CREDS_ENDPOINT_SERVER, errp);
}

QCryptoTLSSession *qio_channel_tls_get_session(QIOChannelTLS *ioc)
{
    return ioc->session;
}

QIOChannel *qio_channel_tls_get_master(QIOChannelTLS *ioc)
{
    return ioc->master;
}

/* ---- handshake ---- */

/*
 * One handshake step.  Returns 1 done (and validated), 0 needs the
 * master in *cond, -1 with errp set.
 */
static int qio_channel_tls_handshake_step(QIOChannelTLS *tioc,
                                          GIOCondition *cond, Error **errp)
{
    Error *err = NULL;
    int ret = qcrypto_tls_session_handshake(tioc->session, &err);

    if (ret < 0) {
        /* the master's own error says more than "Error in the pull..." */
        Error *io_err = tioc->pull_err ? tioc->pull_err : tioc->push_err;
        if (io_err) {
            error_free(err);
            error_setg(errp, "TLS handshake failed: %s",
                       error_get_pretty(io_err));
        } else {
            error_propagate(errp, err);
        }
        return -1;
    }
    if (ret == 0) {
        *cond = qcrypto_tls_session_get_direction(tioc->session);
        return 0;
    }
    if (!qcrypto_tls_session_check_credentials(tioc->session, errp)) {
        return -1;
    }
    tioc->record_max = qcrypto_tls_session_get_max_record(tioc->session);
    if ((tioc->opts & QIO_CHANNEL_TLS_OPT_RECORDS) &&
        tioc->record_max == QCRYPTO_TLS_RECORD_MAX) {
        tioc->fast = qcrypto_tls_session_enable_fast_records(tioc->session);
    }
    if ((tioc->opts & QIO_CHANNEL_TLS_OPT_GATHER) && !tioc->fast) {
        tioc->wbuf = g_malloc(tioc->record_max);
    }
    tioc->handshake_done = true;
    return 1;
}

bool qio_channel_tls_handshake_sync(QIOChannelTLS *ioc, Error **errp)
{
    for (;;) {
        GIOCondition cond = 0;
        int ret = qio_channel_tls_handshake_step(ioc, &cond, errp);

        if (ret != 0) {
            return ret > 0;
        }
        qio_channel_wait(ioc->master, cond);
    }
}

typedef struct QIOChannelTLSHandshakeData {
    QIOChannelTLS *tioc;
    QIOTask *task;
    GMainContext *context;
} QIOChannelTLSHandshakeData;

static void qio_channel_tls_handshake_task(QIOChannelTLSHandshakeData *data);

static gboolean qio_channel_tls_handshake_io(QIOChannel *ioc,
                                             GIOCondition condition,
                                             gpointer opaque)
{
    qio_channel_tls_handshake_task(opaque);
    return G_SOURCE_REMOVE;
}

static void qio_channel_tls_handshake_task(QIOChannelTLSHandshakeData *data)
{
    Error *err = NULL;
    GIOCondition cond = 0;
    int ret = qio_channel_tls_handshake_step(data->tioc, &cond, &err);

    if (ret == 0) {
        qio_channel_add_watch_full(data->tioc->master, cond,
                                   qio_channel_tls_handshake_io, data, NULL,
                                   data->context);
        return;
    }
    if (ret < 0) {
        qio_task_set_error(data->task, err);
    }
    qio_task_complete(data->task);
    if (data->context) {
        g_main_context_unref(data->context);
    }
    g_free(data);
}

void qio_channel_tls_handshake(QIOChannelTLS *ioc, QIOTaskFunc func,
                               gpointer opaque, GDestroyNotify destroy,
                               GMainContext *context)
{
    QIOChannelTLSHandshakeData *data = g_new0(QIOChannelTLSHandshakeData, 1);

    data->tioc = ioc;
    /* the task holds a reference on ioc until it completes */
    data->task = qio_task_new(&ioc->parent, func, opaque, destroy);
    data->context = context ? g_main_context_ref(context) : NULL;
    qio_channel_tls_handshake_task(data);
}

/* ---- data ---- */

static ssize_t qio_channel_tls_writev(QIOChannel *ioc, const struct iovec *iov,
                                      size_t niov, int *fds, size_t nfds,
                                      int flags, Error **errp)
{
    QIOChannelTLS *tioc = QIO_CHANNEL_TLS(ioc);
    size_t done = 0;
    IOVCursor cur;
    Error *err = NULL;
    ssize_t ret;

    if (nfds) {
        error_setg(errp, "Cannot send file descriptors over TLS");
        return -1;
    }
    if (!tioc->handshake_done) {
        error_setg(errp, "TLS handshake not complete");
        return -1;
    }
    if (tioc->fast) {
        ret = qcrypto_tls_session_writev(tioc->session, iov, niov, &err);
        if (ret == QCRYPTO_TLS_SESSION_ERR_BLOCK) {
            return QIO_CHANNEL_ERR_BLOCK;
        }
        if (ret < 0) {
            goto fail;
        }
        return ret;
    }

    iov_cursor_init(&cur, iov, niov);
    for (;;) {
        const char *p;
        size_t n;

        if (tioc->wpending) {
            /* GnuTLS holds this record encrypted: let it finish */
            p = NULL;
            n = 0;
        } else {
            void *piece;

            n = iov_cursor_piece(&cur, &piece);
            if (n == 0) {
                break;
            }
            if (n >= tioc->record_max || !tioc->wbuf) {
                /* straight from the caller's memory */
                p = piece;
                n = MIN(n, tioc->record_max);
            } else {
                /* gather small elements into one full record */
                IOVCursor ahead = cur;

                n = iov_cursor_to_buf(&ahead, tioc->wbuf, tioc->record_max);
                p = tioc->wbuf;
            }
        }

        ret = qcrypto_tls_session_write(tioc->session, p, n, &err);
        if (ret == QCRYPTO_TLS_SESSION_ERR_BLOCK) {
            if (!tioc->wpending) {
                tioc->wpending = n;
            }
            return done ? (ssize_t)done : QIO_CHANNEL_ERR_BLOCK;
        }
        if (ret < 0) {
            goto fail;
        }
        tioc->wpending = 0;

        /* advance the cursor by what the record carried */
        done += ret;
        iov_cursor_advance(&cur, ret);
    }
    return done;

fail:
    if (tioc->push_err) {
        /* the master's error is the real cause */
        error_free(err);
        err = NULL;
        error_setg(&err, "Cannot write to TLS channel: %s",
                   error_get_pretty(tioc->push_err));
    }
    error_propagate(errp, err);
    return -1;
}

static ssize_t qio_channel_tls_readv(QIOChannel *ioc, const struct iovec *iov,
                                     size_t niov, int **fds, size_t *nfds,
                                     int flags, Error **errp)
{
    QIOChannelTLS *tioc = QIO_CHANNEL_TLS(ioc);
    size_t got = 0;
    IOVCursor cur;

    if (fds) {
        *fds = NULL;
        *nfds = 0;
    }
    if (tioc->read_err) {
        error_propagate(errp, tioc->read_err);
        tioc->read_err = NULL;
        return -1;
    }
    if (!tioc->handshake_done) {
        error_setg(errp, "TLS handshake not complete");
        return -1;
    }
    if (tioc->fast) {
        bool shut =
            g_atomic_int_get(&tioc->shutdown) & QIO_CHANNEL_SHUTDOWN_READ;
        Error *err = NULL;
        ssize_t ret =
            qcrypto_tls_session_readv(tioc->session, iov, niov, shut, &err);

        if (ret == QCRYPTO_TLS_SESSION_ERR_BLOCK) {
            return QIO_CHANNEL_ERR_BLOCK;
        }
        if (ret < 0 && tioc->pull_err) {
            error_free(err);
            err = NULL;
            error_setg(&err, "Cannot read from TLS channel: %s",
                       error_get_pretty(tioc->pull_err));
        }
        error_propagate(errp, err);
        return ret;
    }

    iov_cursor_init(&cur, iov, niov);
    for (;;) {
        bool shut =
            g_atomic_int_get(&tioc->shutdown) & QIO_CHANNEL_SHUTDOWN_READ;
        Error *err = NULL;
        void *piece;
        size_t n = iov_cursor_piece(&cur, &piece);
        ssize_t ret;

        if (n == 0) {
            break;
        }
        /* after the first bytes, only take what needs no waiting */
        if (got && !qio_channel_tls_readable(tioc)) {
            return got;
        }
        ret = qcrypto_tls_session_read(tioc->session, piece, n, shut, &err);
        if (ret == QCRYPTO_TLS_SESSION_ERR_BLOCK) {
            return got ? (ssize_t)got : QIO_CHANNEL_ERR_BLOCK;
        }
        if (ret < 0) {
            if (tioc->pull_err) {
                /* the master's error is the real cause */
                error_free(err);
                err = NULL;
                error_setg(&err, "Cannot read from TLS channel: %s",
                           error_get_pretty(tioc->pull_err));
                error_free(tioc->pull_err);
                tioc->pull_err = NULL;
            }
            if (got) {
                tioc->read_err = err; /* report it next time */
                return got;
            }
            error_propagate(errp, err);
            return -1;
        }
        if (ret == 0) {
            return got; /* EOF */
        }
        iov_cursor_advance(&cur, ret);
        got += ret;
    }
    return got;
}

static int qio_channel_tls_close(QIOChannel *ioc, Error **errp)
{
    QIOChannelTLS *tioc = QIO_CHANNEL_TLS(ioc);

    if (tioc->closed) {
        return 0;
    }
    tioc->closed = true;
    /* close_notify, best effort: the peer may be gone already */
    if (tioc->handshake_done && !tioc->wpending &&
        !(g_atomic_int_get(&tioc->shutdown) & QIO_CHANNEL_SHUTDOWN_WRITE)) {
        qcrypto_tls_session_bye(tioc->session, NULL);
    }
    return qio_channel_close(tioc->master, errp);
}

static int qio_channel_tls_shutdown(QIOChannel *ioc, QIOChannelShutdown how,
                                    Error **errp)
{
    QIOChannelTLS *tioc = QIO_CHANNEL_TLS(ioc);

    g_atomic_int_or(&tioc->shutdown, how);
    return qio_channel_shutdown(tioc->master, how, errp);
}

static int qio_channel_tls_set_blocking(QIOChannel *ioc, bool enabled,
                                        Error **errp)
{
    return qio_channel_set_blocking(QIO_CHANNEL_TLS(ioc)->master, enabled,
                                    errp);
}

static void qio_channel_tls_set_delay(QIOChannel *ioc, bool enabled)
{
    qio_channel_set_delay(QIO_CHANNEL_TLS(ioc)->master, enabled);
}

static void qio_channel_tls_set_cork(QIOChannel *ioc, bool enabled)
{
    qio_channel_set_cork(QIO_CHANNEL_TLS(ioc)->master, enabled);
}

static int qio_channel_tls_get_fd(QIOChannel *ioc)
{
    return qio_channel_get_fd(QIO_CHANNEL_TLS(ioc)->master);
}

static void qio_channel_tls_finalize(QIOChannel *ioc)
{
    QIOChannelTLS *tioc = QIO_CHANNEL_TLS(ioc);

    qcrypto_tls_session_free(tioc->session);
    qio_channel_unref(tioc->master);
    error_free(tioc->push_err);
    error_free(tioc->pull_err);
    error_free(tioc->read_err);
    g_free(tioc->wbuf);
    g_free(tioc->rbuf);
}

/* ---- watches ---- */

/*
 * Polls the master's fd, and is also ready for G_IO_IN while decrypted or
 * read-ahead data waits in user space (the fd would not wake us).
 */
typedef struct QIOChannelTLSSource {
    GSource parent;
    QIOChannelTLS *tioc; /* holds a reference */
    GIOCondition condition;
    gpointer fd_tag;
} QIOChannelTLSSource;

static GIOCondition qio_channel_tls_source_ready(QIOChannelTLSSource *s)
{
    GIOCondition rev = 0;

    if ((s->condition & G_IO_IN) && qio_channel_tls_readable(s->tioc)) {
        rev |= G_IO_IN;
    }
    if (s->fd_tag) {
        rev |= g_source_query_unix_fd(&s->parent, s->fd_tag) &
               (s->condition | G_IO_HUP | G_IO_ERR | G_IO_NVAL);
    }
    return rev;
}

static gboolean qio_channel_tls_source_prepare(GSource *source, gint *timeout)
{
    QIOChannelTLSSource *s = (QIOChannelTLSSource *)source;

    *timeout = -1;
    return (s->condition & G_IO_IN) && qio_channel_tls_readable(s->tioc);
}

static gboolean qio_channel_tls_source_check(GSource *source)
{
    return qio_channel_tls_source_ready((QIOChannelTLSSource *)source) != 0;
}

static gboolean qio_channel_tls_source_dispatch(GSource *source,
                                                GSourceFunc callback,
                                                gpointer user_data)
{
    QIOChannelTLSSource *s = (QIOChannelTLSSource *)source;
    QIOChannelFunc func = (QIOChannelFunc)(void (*)(void))callback;

    if (!func) {
        return G_SOURCE_REMOVE;
    }
    return func(&s->tioc->parent, qio_channel_tls_source_ready(s), user_data);
}

static void qio_channel_tls_source_finalize(GSource *source)
{
    qio_channel_unref(&((QIOChannelTLSSource *)source)->tioc->parent);
}

static GSourceFuncs qio_channel_tls_source_funcs = {
    .prepare = qio_channel_tls_source_prepare,
    .check = qio_channel_tls_source_check,
    .dispatch = qio_channel_tls_source_dispatch,
    .finalize = qio_channel_tls_source_finalize,
};

static GSource *qio_channel_tls_create_watch(QIOChannel *ioc,
                                             GIOCondition condition)
{
    QIOChannelTLS *tioc = QIO_CHANNEL_TLS(ioc);
    int fd = qio_channel_get_fd(tioc->master);
    QIOChannelTLSSource *s;

    if (fd < 0) {
        /* no fd to poll: the master's watch (its callback gets master) */
        return qio_channel_create_watch(tioc->master, condition);
    }
    s = (QIOChannelTLSSource *)g_source_new(&qio_channel_tls_source_funcs,
                                            sizeof(QIOChannelTLSSource));
    s->tioc = tioc;
    qio_channel_ref(ioc);
    s->condition = condition;
    s->fd_tag = g_source_add_unix_fd(&s->parent, fd, condition);
    return &s->parent;
}

static const QIOChannelClass qio_channel_tls_class = {
    .type_name = "qio-channel-tls",
    .io_writev = qio_channel_tls_writev,
    .io_readv = qio_channel_tls_readv,
    .io_close = qio_channel_tls_close,
    .io_create_watch = qio_channel_tls_create_watch,
    .io_set_blocking = qio_channel_tls_set_blocking,
    .io_finalize = qio_channel_tls_finalize,
    .io_shutdown = qio_channel_tls_shutdown,
    .io_set_cork = qio_channel_tls_set_cork,
    .io_set_delay = qio_channel_tls_set_delay,
    .io_get_fd = qio_channel_tls_get_fd,
};
