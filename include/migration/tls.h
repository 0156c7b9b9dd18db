/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * tls.h: wrapping migration channels in TLS.
 *
 * Both sides read the migration parameters tls-creds (the id of a
 * tls-creds-* object; TLS is off when it is ""), tls-hostname (source:
 * the name the destination's certificate must match, overriding the
 * URI's host) and tls-authz (destination: an authz object the source's
 * identity must pass).  The source is the TLS client, the destination
 * the TLS server; the handshake happens before any stream byte, as QEMU
 * does, so Tern and QEMU 7.2 interoperate over TLS.
 */
#ifndef MIGRATION_TLS_H
#define MIGRATION_TLS_H

#include "qemu/osdep.h"
#include "qapi/error.h"
#include "io/channel.h"

/*
 * Source side, on the migration thread: wrap ioc in a TLS client and run
 * the handshake and the server's validation, blocking.  hostname is the
 * URI's host (NULL for unix/fd/exec); tls-hostname overrides it.
 * Returns a new channel (the caller owns that reference; it holds its
 * own on ioc), or NULL with errp set: "No TLS credentials with id 'ID'",
 * "Expected TLS credentials for a client endpoint", "TLS handshake
 * failed: <reason>", "Certificate does not match the hostname HOST",
 * "No hostname for certificate validation"...  Takes the BQL briefly to
 * look up the credentials (must not be called with it held by another
 * thread waiting on this one).
 */
QIOChannel *migration_tls_client_wrap(QIOChannel *ioc, const char *hostname,
                                      Error **errp);

/*
 * Called once when the destination's handshake ends: on success tls is a
 * new TLS channel in blocking mode whose reference the callback owns and
 * err is NULL; on failure tls is NULL and the callback owns err.
 */
typedef void (*MigrationTLSDoneFunc)(QIOChannel *tls, Error *err, void *opaque);

/*
 * Destination side, on the main thread (BQL held): wrap ioc in a TLS
 * server and run the handshake on the default main loop (ioc is switched
 * to non-blocking meanwhile).  Takes its own reference on ioc.  done runs
 * on the main loop later, or immediately if the credentials are missing.
 */
void migration_tls_server_wrap_async(QIOChannel *ioc, MigrationTLSDoneFunc done,
                                     void *opaque);

#endif /* MIGRATION_TLS_H */
