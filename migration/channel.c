/*
 * channel.c: what happens to a transport's channel before the stream
 * starts, common to every transport.
 *
 * Source (migration thread): if the tls-creds parameter is set, wrap the
 * channel in TLS (handshake done before returning); the hostname checked
 * is tls-hostname, else the tcp: URI's host.
 * Destination (main thread): if tls-creds is set, wrap asynchronously
 * (the handshake runs on the main loop), then start loading.  A failed
 * handshake is reported; a socket listener keeps waiting for another
 * client (as QEMU 7.2 does), other transports exit 1.
 */
#include "qemu/osdep.h"
#include "qapi/error.h"
#include "qemu/error-report.h"
#include "io/channel-command.h"
#include "migration/options.h"
#include "migration/tls.h"
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
    const char *type = ioc->klass->type_name;

    if (!strcmp(type, "qio-channel-command")) {
        QIOChannelCommand *cioc = (QIOChannelCommand *)ioc;
        int fd = out ? cioc->writefd : cioc->readfd;

        if (fd >= 0) {
            fcntl(fd, F_SETPIPE_SZ, MIGRATION_PIPE_SIZE);
        }
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

/* Has a channel passed its handshake and started loading?  Main thread. */
static bool channel_incoming_started;

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
    if (channel_incoming_started) {
        /* a second client finished its handshake after the first one */
        warn_report("migration: dropping a second incoming connection");
        qio_channel_unref(tls);
        return;
    }
    channel_incoming_started = true;
    socket_incoming_stop();
    migration_incoming_process(tls);
    qio_channel_unref(tls);
}

void migration_channel_incoming(QIOChannel *ioc)
{
    if (*migrate_tls_creds()) {
        migration_tls_server_wrap_async(ioc, migration_channel_tls_done, NULL);
        return;
    }
    migration_incoming_process(ioc);
}
