/*
 * channel.c: what happens to a transport's channel before the stream
 * starts, common to every transport.
 *
 * Source (migration thread): if the tls-creds parameter is set, wrap the
 * channel in TLS (handshake done before returning); the hostname checked
 * is tls-hostname, else the tcp: URI's host.
 * Destination (main thread): if tls-creds is set, wrap asynchronously
 * (the handshake runs on the main loop), then start loading; a failed
 * handshake is reported and the destination exits as QEMU does when the
 * stream then turns out not to be a migration stream.
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

static void migration_channel_tls_done(QIOChannel *tls, Error *err,
                                       void *opaque)
{
    if (err) {
        /* 7.2 keeps listening after a denied client; we only had one. */
        error_report_err(err);
        return;
    }
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
