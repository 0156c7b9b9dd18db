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
#include "migration/options.h"
#include "migration/tls.h"
#include "migration.h"

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
