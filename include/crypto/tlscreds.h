/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * tlscreds.h: TLS credentials objects.
 *
 * Three user-creatable object types hold what a TLS session needs:
 *
 *   tls-creds-x509,id=ID,dir=DIR,endpoint=server|client
 *       [,verify-peer=on|off][,priority=STR][,sanity-check=on|off]
 *     DIR holds PEM files with fixed names: ca-cert.pem (both ends),
 *     ca-crl.pem (optional), server-cert.pem + server-key.pem (server),
 *     client-cert.pem + client-key.pem (client; needed when the server
 *     verifies clients, which is the default), dh-params.pem (optional).
 *     Every file is checked when the object is created; with sanity-check
 *     (default on) our own certificate's validity period, basic
 *     constraints, key usage and purpose and its chain to the CA are too.
 *
 *   tls-creds-psk,id=ID,dir=DIR,endpoint=server|client[,username=NAME]
 *       [,priority=STR]
 *     DIR/keys.psk has one "username:hexkey" line per identity; a client
 *     uses the line of its username (default "qemu").
 *
 *   tls-creds-anon,id=ID,endpoint=server|client[,priority=STR]
 *     Anonymous Diffie-Hellman: encryption without authentication.
 *
 * The object owns the GnuTLS credentials; sessions take a reference
 * (object_ref) for as long as they use them.  Main thread only, except
 * that a session may use the credentials from any thread once created.
 */
#ifndef CRYPTO_TLSCREDS_H
#define CRYPTO_TLSCREDS_H

#include "qemu/osdep.h"
#include "qapi/error.h"
#include "qom/object.h"

#define TYPE_QCRYPTO_TLS_CREDS_X509 "tls-creds-x509"
#define TYPE_QCRYPTO_TLS_CREDS_PSK "tls-creds-psk"
#define TYPE_QCRYPTO_TLS_CREDS_ANON "tls-creds-anon"

/* File names inside the credentials directory (as QEMU names them). */
#define QCRYPTO_TLS_CREDS_X509_CA_CERT "ca-cert.pem"
#define QCRYPTO_TLS_CREDS_X509_CA_CRL "ca-crl.pem"
#define QCRYPTO_TLS_CREDS_X509_SERVER_CERT "server-cert.pem"
#define QCRYPTO_TLS_CREDS_X509_SERVER_KEY "server-key.pem"
#define QCRYPTO_TLS_CREDS_X509_CLIENT_CERT "client-cert.pem"
#define QCRYPTO_TLS_CREDS_X509_CLIENT_KEY "client-key.pem"
#define QCRYPTO_TLS_CREDS_DH_PARAMS "dh-params.pem"
#define QCRYPTO_TLS_CREDS_PSKFILE "keys.psk"

/* Default PSK username (QEMU's). */
#define QCRYPTO_TLS_CREDS_PSK_DEFAULT_USERNAME "qemu"

typedef enum QCryptoTLSCredsEndpoint {
    QCRYPTO_TLS_CREDS_ENDPOINT_SERVER,
    QCRYPTO_TLS_CREDS_ENDPOINT_CLIENT,
} QCryptoTLSCredsEndpoint;

typedef enum QCryptoTLSCredsKind {
    QCRYPTO_TLS_CREDS_KIND_X509,
    QCRYPTO_TLS_CREDS_KIND_PSK,
    QCRYPTO_TLS_CREDS_KIND_ANON,
} QCryptoTLSCredsKind;

/* Opaque; the instance embeds Object first so it is an Object *. */
typedef struct QCryptoTLSCreds QCryptoTLSCreds;

/*
 * The credentials behind obj, or NULL with errp set ("Object with id 'ID'
 * is not TLS credentials") when obj is another kind of object.  Borrowed.
 */
QCryptoTLSCreds *qcrypto_tls_creds_from_object(Object *obj, Error **errp);

/*
 * Look up the credentials object with this id.  Errors: "No TLS
 * credentials with id 'ID'", "Object with id 'ID' is not TLS credentials".
 * Borrowed (take object_ref to keep it).  Main thread.
 */
QCryptoTLSCreds *qcrypto_tls_creds_lookup(const char *id, Error **errp);

/* The object (for object_ref/unref). */
Object *qcrypto_tls_creds_object(QCryptoTLSCreds *creds);

/*
 * Check that creds were made for this endpoint; otherwise "Expected TLS
 * credentials for a client|server endpoint".
 */
bool qcrypto_tls_creds_check_endpoint(QCryptoTLSCreds *creds,
                                      QCryptoTLSCredsEndpoint endpoint,
                                      Error **errp);

QCryptoTLSCredsEndpoint qcrypto_tls_creds_get_endpoint(QCryptoTLSCreds *c);
QCryptoTLSCredsKind qcrypto_tls_creds_get_kind(QCryptoTLSCreds *creds);
/* Whether the peer's identity is verified (verify-peer, default on). */
bool qcrypto_tls_creds_get_verify_peer(QCryptoTLSCreds *creds);
/* The GnuTLS priority string sessions use (borrowed). */
const char *qcrypto_tls_creds_get_priority(QCryptoTLSCreds *creds);

#endif /* CRYPTO_TLSCREDS_H */
