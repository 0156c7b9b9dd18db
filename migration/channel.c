/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * channel.c: what happens to a transport's channel before the stream
 * starts, common to every transport.
 *
 * Source (migration thread): if the tls-creds parameter is set, wrap the
 * channel in TLS (handshake done before returning); the hostname checked
 * is tls-hostname, else the tcp: URI's host.
 * Destination (main thread): if tls-creds is set, wrap asynchronously
 * (the handshake runs on the main loop).  A failed handshake is
 * reported; a socket listener keeps waiting for another client (as QEMU
 * 7.2 does), other transports exit 1.  Each channel that is ready is
 * sorted as QEMU 7.2 sorts them:
 *   1. the first channel is the main stream;
 *   2. later ones, with the multifd capability, are multifd channels
 *      (each begins with a 64-byte initial packet, magic 0x11223344, that
 *      names its id; the multifd receiver reads and checks it);
 *   3. else, with postcopy-preempt, the preempt channel;
 *   4. anything else is dropped with a warning.
 * Loading starts (and the socket stops listening) once every channel the
 * capabilities ask for is there: today that is the main channel alone.
 *
 * Both sides keep a list of their channels (MigrationState.channels,
 * MigrationIncomingState.channels).
 */
#include "qemu/osdep.h"
#include "qapi/error.h"
#include "qemu/error-report.h"
#include "migration/options.h"
#include "migration/tls.h"
#include "qemu/trace.h"
#include "migration.h"

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

/* Which channel is this?  QEMU 7.2's rule (see the top of the file). */
static MigrationChannelType
migration_incoming_classify(MigrationIncomingState *mis)
{
    if (!migration_incoming_count(mis, MIGRATION_CHANNEL_MAIN)) {
        return MIGRATION_CHANNEL_MAIN;
    }
    if (migrate_multifd()) {
        return MIGRATION_CHANNEL_MULTIFD;
    }
    if (migrate_cap(MIGRATION_CAPABILITY_POSTCOPY_PREEMPT)) {
        return MIGRATION_CHANNEL_PREEMPT;
    }
    return MIGRATION_CHANNEL__MAX;
}

/*
 * Who takes a channel of each type besides the list.  The main channel
 * waits in the list until loading starts; multifd.c will hand its
 * channels to the multifd receiver here (reading the initial packet),
 * postcopy its preempt channel to the preempt loader.  NULL: no
 * receiver yet, the channel is dropped.
 */
typedef bool (*MigrationChannelAccept)(MigrationIncomingState *mis,
                                       QIOChannel *ioc);

static bool migration_incoming_accept_main(MigrationIncomingState *mis,
                                           QIOChannel *ioc)
{
    return true;
}

static const MigrationChannelAccept
    migration_incoming_accept[MIGRATION_CHANNEL__MAX] = {
        [MIGRATION_CHANNEL_MAIN] = migration_incoming_accept_main,
        [MIGRATION_CHANNEL_MULTIFD] = NULL,
        [MIGRATION_CHANNEL_PREEMPT] = NULL,
};

/* Are all the channels the capabilities ask for there? */
static bool migration_incoming_has_all(MigrationIncomingState *mis)
{
    if (!migration_incoming_count(mis, MIGRATION_CHANNEL_MAIN)) {
        return false;
    }
    if (migrate_multifd() &&
        migration_incoming_count(mis, MIGRATION_CHANNEL_MULTIFD) <
            (guint)migrate_multifd_channels()) {
        return false;
    }
    return !migrate_cap(MIGRATION_CAPABILITY_POSTCOPY_PREEMPT) ||
           migration_incoming_count(mis, MIGRATION_CHANNEL_PREEMPT);
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

/* A channel is ready (after TLS): sort it; start loading when complete. */
static void migration_incoming_channel_ready(QIOChannel *ioc)
{
    MigrationIncomingState *mis = migration_incoming_get_current();
    MigrationChannelType type = migration_incoming_classify(mis);
    MigrationChannelAccept accept =
        type < MIGRATION_CHANNEL__MAX ? migration_incoming_accept[type] : NULL;

    if (mis->loading || !accept || !accept(mis, ioc)) {
        TRACE("migration_incoming_channel_drop", "type %d", type);
        warn_report("migration: dropping a second incoming connection");
        return;
    }
    if (!mis->channels) {
        mis->channels = g_ptr_array_new_with_free_func(migration_channel_free);
    }
    g_ptr_array_add(mis->channels, migration_channel_new(type, ioc));
    if (migration_incoming_has_all(mis)) {
        mis->loading = true;
        socket_incoming_stop();
        migration_incoming_process(migration_incoming_main(mis));
    }
}

void migration_incoming_channels_release(MigrationIncomingState *mis)
{
    if (mis->channels) {
        g_ptr_array_unref(mis->channels);
        mis->channels = NULL;
    }
}

static void migration_channel_tls_done(QIOChannel *tls, Error *err,
                                       void *opaque)
{
    if (err) {
        if (socket_incoming_listening()) {
            /* as 7.2: report, and wait for a client that gets it right */
            error_report_err(err);
            return;
        }
        /* fd:, exec:, file: get no second channel: give up (exit 1) */
        migration_incoming_fail(err);
        return;
    }
    migration_incoming_channel_ready(tls);
    qio_channel_unref(tls);
}

void migration_channel_incoming(QIOChannel *ioc)
{
    if (*migrate_tls_creds()) {
        migration_tls_server_wrap_async(ioc, migration_channel_tls_done, NULL);
        return;
    }
    migration_incoming_channel_ready(ioc);
}
