/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * channel.c: what happens to a transport's channel before the stream
 * starts, common to every transport.
 *
 * Source (migration thread): if the tls-creds parameter is set, wrap the
 * channel in TLS (handshake done before returning); the hostname checked
 * is tls-hostname, else the tcp: URI's host.
 * Destination (main thread): if tls-creds is set, wrap asynchronously
 * (the handshake runs on the main loop).  A failed handshake of a socket
 * client drops that connection only, with a warning, whenever it fails
 * (a port scanner or a stray client must never end the migration or the
 * migrated guest); fd:, exec: and file: exit 1.  Each channel that is
 * ready is then sorted:
 *   - a plain socket client by peeking at its first four bytes without
 *     consuming them (QEMU 8's rule): "QEVM" is the main stream,
 *     0x11223344 (with the multifd capability) a multifd channel, and a
 *     client that sends anything else or closes first is dropped with
 *     a warning while the listener keeps listening;
 *   - a channel whose bytes cannot be peeked (TLS, single-channel
 *     transports), and every channel with postcopy-preempt (that
 *     channel says nothing until postcopy), as QEMU 7.2 sorts them:
 *     the first is the main stream, later ones multifd channels with
 *     the capability (the receiver checks their initial packet), else
 *     the postcopy-preempt channel.
 * A postcopy recovery (migrate-recover) sorts its channels by 7.2's
 * order whatever the transport: its stream starts without a header.
 * A channel of a type that is complete already (a second main stream,
 * a multifd channel beyond multifd-channels, anything once loading has
 * started) is dropped with a warning.  Loading starts (and the socket
 * stops listening) once every channel the capabilities ask for is
 * there; with multifd, a destination that has not got them all
 * MIGRATION_CHANNELS_WAIT_S after the first one fails with a message.
 *
 * Both sides keep a list of their channels (MigrationState.channels,
 * MigrationIncomingState.channels).
 */
#include "qemu/osdep.h"
#include <sys/socket.h>
#include "qapi/error.h"
#include "qemu/bswap.h"
#include "qemu/error-report.h"
#include "migration/options.h"
#include "migration/tls.h"
#include "qemu/trace.h"
#include "migration.h"
#include "postcopy-recover.h"

/*
 * Kernel buffer tuning of the migration channel (best effort: failures
 * are ignored, the defaults work).  out: this side sends the stream.
 *
 * Sockets keep the kernel's autotuned buffers.  A fixed loopback
 * SO_SNDBUF cap of 128 KiB (meant to keep in-flight pages cache-resident)
 * was measured against autotuning on a quiet 2-core box, 2 GiB of random
 * RAM over loopback tcp, medians of 4 in one run: 128 KiB 1.93, 256 KiB
 * 1.94, 512 KiB 2.01, 1 MiB 2.26, autotuned 2.45 GiB/s (destination CPU
 * 0.95 -> 0.75 s: fuller reads); so no cap.  UNIX sockets: the default
 * (208 KiB) measured best; 1 and 4 MiB raised the destination's CPU.
 *
 * Pipes of exec: channels: 1 MiB instead of 64 KiB, so the child (e.g.
 * "cat > file") is woken once per MiB rather than per 64 KiB.  Measured
 * (512 MiB to "exec:cat > file", medians of 4 in one run): 0.67 -> 0.92
 * GiB/s; there the child and the file system are the bottleneck.
 */
#define MIGRATION_PIPE_SIZE (1 * MiB) /* fs.pipe-max-size default */

void migration_channel_tune(QIOChannel *ioc, bool out)
{
    int fd = qio_channel_get_pipe_fd(ioc, out);

    if (fd >= 0) {
        fcntl(fd, F_SETPIPE_SZ, MIGRATION_PIPE_SIZE);
    }
}

QIOChannel *migration_channel_outgoing(QIOChannel *ioc, const char *hostname,
                                       Error **errp)
{
    QIOChannel *tioc;

    if (!*migrate_tls_creds()) {
        return ioc;
    }
    tioc = migration_tls_client_wrap(ioc, hostname, errp);
    qio_channel_unref(ioc);
    return tioc;
}

/* ---- source: the migration's channel list ---- */

static void migration_channel_free(gpointer data)
{
    MigrationChannel *c = data;

    qio_channel_unref(c->ioc);
    g_free(c);
}

static MigrationChannel *migration_channel_new(MigrationChannelType type,
                                               QIOChannel *ioc)
{
    MigrationChannel *c = g_new0(MigrationChannel, 1);

    c->type = type;
    c->ioc = qio_channel_ref(ioc);
    return c;
}

void migrate_channel_add(MigrationState *s, MigrationChannelType type,
                         QIOChannel *ioc)
{
    g_mutex_lock(&s->lock);
    if (!s->channels) {
        s->channels = g_ptr_array_new_with_free_func(migration_channel_free);
    }
    g_ptr_array_add(s->channels, migration_channel_new(type, ioc));
    g_mutex_unlock(&s->lock);
}

void migrate_channel_remove(MigrationState *s, QIOChannel *ioc)
{
    MigrationChannel *found = NULL;

    g_mutex_lock(&s->lock);
    for (guint i = 0; s->channels && i < s->channels->len; i++) {
        MigrationChannel *c = g_ptr_array_index(s->channels, i);

        if (c->ioc == ioc) {
            found = g_ptr_array_steal_index(s->channels, i);
            break;
        }
    }
    g_mutex_unlock(&s->lock);
    if (found) {
        migration_channel_free(found); /* the last unref maybe: unlocked */
    }
}

void migrate_channels_shutdown(MigrationState *s)
{
    g_mutex_lock(&s->lock);
    for (guint i = 0; s->channels && i < s->channels->len; i++) {
        MigrationChannel *c = g_ptr_array_index(s->channels, i);

        qio_channel_shutdown(c->ioc, QIO_CHANNEL_SHUTDOWN_BOTH, NULL);
    }
    g_mutex_unlock(&s->lock);
}

void migrate_channels_release(MigrationState *s)
{
    GPtrArray *channels;

    g_mutex_lock(&s->lock);
    channels = s->channels;
    s->channels = NULL;
    g_mutex_unlock(&s->lock);
    if (channels) {
        g_ptr_array_unref(channels); /* closes them maybe: unlocked */
    }
}

/* ---- destination: sorting the channels that arrive ---- */

/* The first bytes of the main stream ("QEVM") and of a multifd channel. */
#define MIGRATION_STREAM_MAGIC 0x5145564dU
#define MIGRATION_MULTIFD_MAGIC 0x11223344U
/* Wait after a partial peek before looking again. */
#define MIGRATION_PEEK_RETRY_MS 10
/* How long the destination waits for the multifd channels. */
#define MIGRATION_CHANNELS_WAIT_S 10

/* The timer that fails a destination whose channels do not all come. */
static guint migration_channels_timer;

/* Has the destination accepted a channel of this type? */
static guint migration_incoming_count(MigrationIncomingState *mis,
                                      MigrationChannelType type)
{
    guint n = 0;

    for (guint i = 0; mis->channels && i < mis->channels->len; i++) {
        MigrationChannel *c = g_ptr_array_index(mis->channels, i);

        n += c->type == type;
    }
    return n;
}

/*
 * Which channel is this, when its first bytes cannot be peeked (TLS,
 * fd:, exec:, file:)?  QEMU 7.2's rule: the first is the main stream.
 */
static MigrationChannelType
migration_incoming_classify(MigrationIncomingState *mis)
{
    if (!migration_incoming_count(mis, MIGRATION_CHANNEL_MAIN)) {
        return MIGRATION_CHANNEL_MAIN;
    }
    if (migrate_multifd_connections()) {
        return MIGRATION_CHANNEL_MULTIFD;
    }
    if (migrate_cap(MIGRATION_CAPABILITY_POSTCOPY_PREEMPT)) {
        return MIGRATION_CHANNEL_PREEMPT;
    }
    return MIGRATION_CHANNEL__MAX;
}

/* How many channels of each type the capabilities ask for. */
static guint migration_incoming_wanted(MigrationChannelType type)
{
    switch (type) {
    case MIGRATION_CHANNEL_MAIN:
        return 1;
    case MIGRATION_CHANNEL_MULTIFD:
        return migrate_multifd_connections() ? migrate_multifd_channels() : 0;
    case MIGRATION_CHANNEL_PREEMPT:
        return migrate_cap(MIGRATION_CAPABILITY_POSTCOPY_PREEMPT) ? 1 : 0;
    default:
        return 0;
    }
}

/*
 * Who takes a channel of each type besides the list.  The main and the
 * multifd channels wait in the list until loading starts (the multifd
 * receivers then read the initial packets); postcopy will hand its
 * preempt channel to the preempt loader.  NULL: no receiver yet, the
 * channel is dropped.
 */
typedef bool (*MigrationChannelAccept)(MigrationIncomingState *mis,
                                       QIOChannel *ioc);

static bool migration_incoming_accept_listed(MigrationIncomingState *mis,
                                             QIOChannel *ioc)
{
    return true;
}

static const MigrationChannelAccept
    migration_incoming_accept[MIGRATION_CHANNEL__MAX] = {
        [MIGRATION_CHANNEL_MAIN] = migration_incoming_accept_listed,
        [MIGRATION_CHANNEL_MULTIFD] = migration_incoming_accept_listed,
        [MIGRATION_CHANNEL_PREEMPT] = migration_incoming_accept_listed,
};

/* Are all the channels the capabilities ask for there? */
static bool migration_incoming_has_all(MigrationIncomingState *mis)
{
    for (int t = 0; t < MIGRATION_CHANNEL__MAX; t++) {
        if (migration_incoming_count(mis, t) < migration_incoming_wanted(t)) {
            return false;
        }
    }
    return true;
}

/* The main channel of the list (borrowed). */
static QIOChannel *migration_incoming_main(MigrationIncomingState *mis)
{
    for (guint i = 0; i < mis->channels->len; i++) {
        MigrationChannel *c = g_ptr_array_index(mis->channels, i);

        if (c->type == MIGRATION_CHANNEL_MAIN) {
            return c->ioc;
        }
    }
    return NULL;
}

/* Main loop: the channels did not all come in time. */
static gboolean migration_incoming_channels_timeout(gpointer opaque)
{
    MigrationIncomingState *mis = migration_incoming_get_current();
    Error *err = NULL;

    migration_channels_timer = 0;
    if (mis->loading) {
        return G_SOURCE_REMOVE;
    }
    if (!migration_incoming_count(mis, MIGRATION_CHANNEL_MAIN)) {
        error_setg(&err,
                   "multifd: %u channels connected but no main "
                   "channel after %d s",
                   migration_incoming_count(mis, MIGRATION_CHANNEL_MULTIFD),
                   MIGRATION_CHANNELS_WAIT_S);
    } else {
        error_setg(&err, "multifd: only %u of %d channels connected after %d s",
                   migration_incoming_count(mis, MIGRATION_CHANNEL_MULTIFD),
                   migrate_multifd_channels(), MIGRATION_CHANNELS_WAIT_S);
    }
    migration_incoming_fail(err);
    return G_SOURCE_REMOVE;
}

/* Why a channel of type is not wanted (now), or NULL if it is. */
static const char *migration_incoming_unwanted(MigrationIncomingState *mis,
                                               MigrationChannelType type)
{
    if (type >= MIGRATION_CHANNEL__MAX) {
        return "not a migration stream";
    }
    if (!migration_incoming_accept[type]) {
        return "no receiver for it";
    }
    /* the precise reason first, whether or not loading began */
    if (migration_incoming_count(mis, type) >=
        migration_incoming_wanted(type)) {
        return type == MIGRATION_CHANNEL_MULTIFD
                   ? "one multifd channel too many"
                   : "a second stream";
    }
    if (mis->loading) {
        return "the migration has all its channels";
    }
    return NULL;
}

/*
 * Drop a connection we do not want: discard what it already sent, so
 * that closing it sends a FIN, not a reset (a TLS client then reports
 * QEMU's "non-properly terminated" rather than a reset by peer).
 */
static void migration_incoming_drop(QIOChannel *ioc, const char *why)
{
    int fd = qio_channel_get_fd(ioc);
    char buf[4096];

    TRACE("migration_incoming_channel_drop", "%s", why);
    warn_report("migration: dropping an incoming connection: %s", why);
    for (int i = 0; fd >= 0 && i < 16; i++) {
        if (recv(fd, buf, sizeof(buf), MSG_DONTWAIT) <= 0) {
            break;
        }
    }
}

/* A channel of type is ready: list it; start loading when complete. */
static void migration_incoming_channel_sorted(QIOChannel *ioc,
                                              MigrationChannelType type)
{
    MigrationIncomingState *mis = migration_incoming_get_current();
    const char *why;

    if (mis->recovering) {
        /* postcopy recovery: no header to tell; 7.2's order decides */
        type = migration_incoming_classify(mis);
    }
    why = migration_incoming_unwanted(mis, type);
    if (why || !migration_incoming_accept[type](mis, ioc)) {
        migration_incoming_drop(ioc, why ? why : "refused");
        return;
    }
    TRACE("migration_incoming_channel", "type %d", type);
    if (!mis->channels) {
        mis->channels = g_ptr_array_new_with_free_func(migration_channel_free);
    }
    g_ptr_array_add(mis->channels, migration_channel_new(type, ioc));
    if (migration_incoming_has_all(mis)) {
        if (migration_channels_timer) {
            g_source_remove(migration_channels_timer);
            migration_channels_timer = 0;
        }
        mis->loading = true;
        socket_incoming_drain();
        socket_incoming_stop();
        if (mis->recovering) {
            postcopy_incoming_recover_channel(migration_incoming_main(mis));
        } else {
            migration_incoming_process(migration_incoming_main(mis));
        }
    } else if (migrate_multifd_connections() && !migration_channels_timer) {
        migration_channels_timer =
            g_timeout_add_seconds(MIGRATION_CHANNELS_WAIT_S,
                                  migration_incoming_channels_timeout, NULL);
    }
}

/* The type a channel's first four bytes announce (QEMU 8's rule). */
static MigrationChannelType migration_channel_type_of(const uint8_t *b)
{
    uint32_t magic = ldl_be_p(b);

    if (magic == MIGRATION_STREAM_MAGIC) {
        return MIGRATION_CHANNEL_MAIN;
    }
    if (magic == MIGRATION_MULTIFD_MAGIC && migrate_multifd_connections()) {
        return MIGRATION_CHANNEL_MULTIFD;
    }
    return MIGRATION_CHANNEL__MAX;
}

static gboolean migration_channel_peek(QIOChannel *ioc, GIOCondition cond,
                                       gpointer opaque);

static gboolean migration_channel_peek_retry(gpointer opaque)
{
    QIOChannel *ioc = opaque;

    qio_channel_add_watch(ioc, G_IO_IN | G_IO_HUP | G_IO_ERR,
                          migration_channel_peek, ioc,
                          (GDestroyNotify)qio_channel_unref);
    return G_SOURCE_REMOVE;
}

/*
 * Main loop, the socket is readable: peek at its first four bytes
 * without consuming them, then sort it.  A connection that closes (or
 * fails) first is dropped; one that sent fewer bytes is looked at again
 * a little later.  The watch holds a reference on ioc.
 */
static gboolean migration_channel_peek(QIOChannel *ioc, GIOCondition cond,
                                       gpointer opaque)
{
    uint8_t buf[4];
    ssize_t n = recv(qio_channel_get_fd(ioc), buf, sizeof(buf),
                     MSG_PEEK | MSG_DONTWAIT);

    if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
        return G_SOURCE_CONTINUE;
    }
    if (n <= 0) {
        TRACE("migration_incoming_channel_drop", "closed before a header");
        warn_report("migration: dropping an incoming connection: closed "
                    "before it sent a stream header");
        return G_SOURCE_REMOVE;
    }
    if (n < (ssize_t)sizeof(buf)) {
        g_timeout_add(MIGRATION_PEEK_RETRY_MS, migration_channel_peek_retry,
                      qio_channel_ref(ioc));
        return G_SOURCE_REMOVE;
    }
    migration_incoming_channel_sorted(ioc, migration_channel_type_of(buf));
    return G_SOURCE_REMOVE;
}

/* A TLS channel whose first bytes are being read. */
typedef struct MigrationChannelSniff {
    uint8_t buf[4];
    size_t have;
} MigrationChannelSniff;

/*
 * Main loop, the TLS channel is readable: TLS cannot peek, so read its
 * first four bytes, sort it by them and hand on a channel that gives
 * them back first (channel-prefix.c).  The watch holds a reference on
 * ioc and owns opaque.
 */
static gboolean migration_channel_sniff(QIOChannel *ioc, GIOCondition cond,
                                        gpointer opaque)
{
    MigrationChannelSniff *s = opaque;
    Error *err = NULL;
    ssize_t n = qio_channel_read(ioc, (char *)s->buf + s->have,
                                 sizeof(s->buf) - s->have, &err);
    QIOChannel *wrapped;

    if (n == QIO_CHANNEL_ERR_BLOCK) {
        return G_SOURCE_CONTINUE;
    }
    if (n <= 0) {
        /*
         * A TLS client that checks our certificate after the handshake
         * (QEMU, Tern: tls-hostname, the CA it trusts) closes here when
         * it rejects it.
         */
        TRACE("migration_incoming_channel_drop", "TLS closed before a header");
        warn_report("migration: dropping an incoming connection: the TLS "
                    "peer closed it after the handshake without sending a "
                    "stream (%s); a source that rejects this side's "
                    "certificate (CA, tls-hostname) does that",
                    err ? error_get_pretty(err) : "end of file");
        error_free(err);
        return G_SOURCE_REMOVE;
    }
    s->have += n;
    if (s->have < sizeof(s->buf)) {
        return G_SOURCE_CONTINUE;
    }
    qio_channel_set_blocking(ioc, true, NULL);
    wrapped = migration_channel_prefix_new(ioc, s->buf, sizeof(s->buf));
    migration_incoming_channel_sorted(wrapped,
                                      migration_channel_type_of(s->buf));
    qio_channel_unref(wrapped);
    return G_SOURCE_REMOVE;
}

static void migration_channel_sniff_free(gpointer opaque)
{
    g_free(opaque);
}

/* Start reading the first bytes of TLS channel tls (main loop). */
static void migration_channel_sniff_start(QIOChannel *tls)
{
    qio_channel_set_blocking(tls, false, NULL);
    qio_channel_add_watch(
        tls, G_IO_IN | G_IO_HUP | G_IO_ERR, migration_channel_sniff,
        g_new0(MigrationChannelSniff, 1), migration_channel_sniff_free);
}

/* A channel is ready (after TLS): sort it. */
static void migration_incoming_channel_ready(QIOChannel *ioc, bool peek)
{
    /* a preempt channel is silent until postcopy: 7.2's order decides */
    if (peek && qio_channel_get_fd(ioc) >= 0 &&
        !migrate_cap(MIGRATION_CAPABILITY_POSTCOPY_PREEMPT)) {
        qio_channel_add_watch(ioc, G_IO_IN | G_IO_HUP | G_IO_ERR,
                              migration_channel_peek, qio_channel_ref(ioc),
                              (GDestroyNotify)qio_channel_unref);
        return;
    }
    migration_incoming_channel_sorted(
        ioc, migration_incoming_classify(migration_incoming_get_current()));
}

void migration_incoming_channels_release(MigrationIncomingState *mis)
{
    if (migration_channels_timer) {
        g_source_remove(migration_channels_timer);
        migration_channels_timer = 0;
    }
    if (mis->channels) {
        g_ptr_array_unref(mis->channels);
        mis->channels = NULL;
    }
}

/*
 * Say that a handshake failed, and what a certificate check on this side
 * means from the client's end: a client that sent no certificate has
 * none issued by a CA this side trusts (and, trusting another CA, it
 * rejects ours too).
 */
static void migration_tls_explain(Error **err)
{
    const char *msg = error_get_pretty(*err);

    if (strstr(msg, "No certificate was found")) {
        error_prepend(err, "TLS handshake failed: the client sent no "
                           "certificate issued by a CA this side trusts "
                           "(it probably rejects this side's certificate "
                           "too): ");
    } else if (!g_str_has_prefix(msg, "TLS ")) {
        error_prepend(err, "TLS handshake failed: ");
    }
}

/*
 * opaque: the channel came from a socket listener.  There a failed
 * handshake drops only that connection, whenever it happens (before,
 * during or after the migration); fd:, exec:, file: have no other
 * channel: the migration fails (exit 1).
 */
static void migration_channel_tls_done(QIOChannel *tls, Error *err,
                                       void *opaque)
{
    if (err) {
        migration_tls_explain(&err);
        if (opaque) {
            TRACE("migration_incoming_channel_drop", "TLS handshake failed");
            warn_report("migration: dropping an incoming connection: %s",
                        error_get_pretty(err));
            error_free(err);
            return;
        }
        migration_incoming_fail(err);
        return;
    }
    if (opaque) {
        migration_channel_sniff_start(tls);
    } else {
        migration_incoming_channel_ready(tls, false);
    }
    qio_channel_unref(tls);
}

void migration_channel_incoming(QIOChannel *ioc)
{
    bool listener = socket_incoming_listening();

    if (*migrate_tls_creds()) {
        migration_tls_server_wrap_async(ioc, migration_channel_tls_done,
                                        listener ? (void *)1 : NULL);
        return;
    }
    migration_incoming_channel_ready(ioc, listener);
}
