/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * tls.c: wrapping migration channels in TLS (see include/migration/tls.h).
 *
 * Why the source takes the BQL only for the lookup: the credentials and
 * authz objects live in the object table, which object-del changes on
 * the main thread.  Once the session holds a reference on the creds the
 * handshake needs no lock, and it must not hold one: it waits on the
 * network for as long as the peer likes, and migrate_cancel (main
 * thread, BQL) must be able to shut the channel down meanwhile.
 */
#include "qemu/osdep.h"
#include "migration/tls.h"
#include "migration/options.h"
#include "crypto/tlscreds.h"
#include "io/channel-tls.h"
#include "sysemu/runstate.h"

/* The creds object named by tls-creds, checked for endpoint.  Borrowed. */
static Object *migration_tls_get_creds(QCryptoTLSCredsEndpoint endpoint,
                                       Error **errp)
{
    QCryptoTLSCreds *creds =
        qcrypto_tls_creds_lookup(migrate_tls_creds(), errp);

    if (!creds || !qcrypto_tls_creds_check_endpoint(creds, endpoint, errp)) {
        return NULL;
    }
    return qcrypto_tls_creds_object(creds);
}

QIOChannel *migration_tls_client_wrap(QIOChannel *ioc, const char *hostname,
                                      Error **errp)
{
    const char *tls_hostname = migrate_tls_hostname();
    bool locked = bql_locked();
    QIOChannelTLS *tioc = NULL;
    Object *creds;

    if (*tls_hostname) {
        hostname = tls_hostname;
    }
    if (!locked) {
        bql_lock();
    }
    creds = migration_tls_get_creds(QCRYPTO_TLS_CREDS_ENDPOINT_CLIENT, errp);
    if (creds) {
        /* the session takes its own reference on creds */
        tioc = qio_channel_tls_new_client(ioc, creds, hostname, errp);
    }
    if (!locked) {
        bql_unlock();
    }
    if (!tioc) {
        return NULL;
    }
    qio_channel_set_name(QIO_CHANNEL(tioc), "migration-tls-outgoing");
    if (!qio_channel_tls_handshake_sync(tioc, errp)) {
        qio_channel_unref(QIO_CHANNEL(tioc));
        return NULL;
    }
    return QIO_CHANNEL(tioc);
}

typedef struct MigrationTLSIncoming {
    QIOChannelTLS *tioc; /* our reference */
    MigrationTLSDoneFunc done;
    void *opaque;
} MigrationTLSIncoming;

static void migration_tls_incoming_handshake(QIOTask *task, gpointer opaque)
{
    MigrationTLSIncoming *in = opaque;
    QIOChannel *tls = QIO_CHANNEL(in->tioc);
    Error *err = NULL;

    if (qio_task_propagate_error(task, &err)) {
        qio_channel_unref(tls);
        in->done(NULL, err, in->opaque);
        return;
    }
    /* the load thread reads blocking */
    qio_channel_set_blocking(tls, true, NULL);
    in->done(tls, NULL, in->opaque); /* our reference goes to done */
}

void migration_tls_server_wrap_async(QIOChannel *ioc, MigrationTLSDoneFunc done,
                                     void *opaque)
{
    const char *authz = migrate_tls_authz();
    MigrationTLSIncoming *in;
    QIOChannelTLS *tioc;
    Error *err = NULL;
    Object *creds;

    creds = migration_tls_get_creds(QCRYPTO_TLS_CREDS_ENDPOINT_SERVER, &err);
    if (!creds) {
        done(NULL, err, opaque);
        return;
    }
    tioc = qio_channel_tls_new_server(ioc, creds, *authz ? authz : NULL, &err);
    if (!tioc) {
        done(NULL, err, opaque);
        return;
    }
    qio_channel_set_name(QIO_CHANNEL(tioc), "migration-tls-incoming");
    qio_channel_set_blocking(ioc, false, NULL);
    in = g_new0(MigrationTLSIncoming, 1);
    in->tioc = tioc;
    in->done = done;
    in->opaque = opaque;
    qio_channel_tls_handshake(tioc, migration_tls_incoming_handshake, in,
                              g_free, NULL);
}
