/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * tlssession.h: one TLS session (GnuTLS) over caller-supplied transport
 * functions.
 *
 * The session does no I/O of its own: it calls the push/pull functions
 * given with qcrypto_tls_session_set_callbacks(), which return bytes done,
 * 0 on EOF (pull), or -1 with errno set (EAGAIN when a non-blocking
 * transport would block).  Every call that may do I/O then reports
 * QCRYPTO_TLS_SESSION_ERR_BLOCK and must be repeated once the transport is
 * ready in the direction qcrypto_tls_session_get_direction() names.
 *
 * Lifecycle: new -> set_callbacks -> handshake until it returns 1 ->
 * check_credentials (peer certificate / identity / authz) -> read/write
 * -> bye -> free.
 *
 * Threads: a session is used by one thread at a time for each direction;
 * GnuTLS allows one reader and one writer concurrently after the
 * handshake (the migration return path relies on this).
 */
#ifndef CRYPTO_TLSSESSION_H
#define CRYPTO_TLSSESSION_H

#include "qemu/osdep.h"
#include "qapi/error.h"
#include "crypto/tlscreds.h"

typedef struct QCryptoTLSSession QCryptoTLSSession;

/* A record operation would block; retry when the transport is ready. */
#define QCRYPTO_TLS_SESSION_ERR_BLOCK -2

/* Largest plaintext carried by one TLS record. */
#define QCRYPTO_TLS_RECORD_MAX 16384

typedef ssize_t (*QCryptoTLSSessionPushFunc)(const struct iovec *iov, int niov,
                                             void *opaque);
typedef ssize_t (*QCryptoTLSSessionPullFunc)(char *buf, size_t len,
                                             void *opaque);

/*
 * A new session using creds (a reference is taken) for endpoint, which
 * must match the creds' endpoint.  hostname (clients, x509) is the name
 * the server certificate must match; NULL is allowed but then x509
 * validation fails later with "No hostname for certificate validation".
 * authzid (servers) names an authz object checked against the client's
 * x509 DN or PSK username; NULL = everyone with valid credentials.
 * Returns NULL with errp set on failure.
 */
QCryptoTLSSession *qcrypto_tls_session_new(QCryptoTLSCreds *creds,
                                           const char *hostname,
                                           const char *authzid,
                                           QCryptoTLSCredsEndpoint endpoint,
                                           Error **errp);

/* Free the session (no I/O) and drop its reference on the creds.  NULL ok. */
void qcrypto_tls_session_free(QCryptoTLSSession *sess);

/* Install the transport functions; opaque is passed to both. */
void qcrypto_tls_session_set_callbacks(QCryptoTLSSession *sess,
                                       QCryptoTLSSessionPushFunc push,
                                       QCryptoTLSSessionPullFunc pull,
                                       void *opaque);

/*
 * Advance the handshake.  Returns 1 when complete, 0 when it needs the
 * transport (wait for get_direction(), call again), -1 with errp set
 * ("TLS handshake failed: <GnuTLS reason>").  Does not check the peer's
 * credentials: call check_credentials after it returns 1.
 */
int qcrypto_tls_session_handshake(QCryptoTLSSession *sess, Error **errp);

/* G_IO_IN or G_IO_OUT: what the last blocked operation waits for. */
GIOCondition qcrypto_tls_session_get_direction(QCryptoTLSSession *sess);

/*
 * Validate the peer after the handshake: x509 chain against our CA,
 * activation and expiry, hostname (clients), the client's DN against
 * authzid (servers); PSK username against authzid (servers).  Skipped
 * when the creds have verify-peer=off.  Errors as QEMU words them, e.g.
 * "Certificate does not match the hostname HOST",
 * "TLS x509 authz check for DN is denied".
 */
bool qcrypto_tls_session_check_credentials(QCryptoTLSSession *sess,
                                           Error **errp);

/*
 * Send up to len bytes as TLS records.  Returns the bytes accepted (at
 * most one record's worth, QCRYPTO_TLS_RECORD_MAX), ERR_BLOCK, or -1 with
 * errp set.  After ERR_BLOCK, GnuTLS holds the encrypted record: call
 * again with the same data (or with buf NULL and len 0) until it
 * returns the length originally passed.
 */
ssize_t qcrypto_tls_session_write(QCryptoTLSSession *sess, const char *buf,
                                  size_t len, Error **errp);

/*
 * Receive up to len bytes of plaintext.  Returns bytes read, 0 at a clean
 * end (peer's close_notify, or the transport's EOF when
 * premature_is_eof), ERR_BLOCK, or -1 with errp set ("Cannot read from
 * TLS channel: The TLS connection was non-properly terminated.").
 */
ssize_t qcrypto_tls_session_read(QCryptoTLSSession *sess, char *buf, size_t len,
                                 bool premature_is_eof, Error **errp);

/* Plaintext bytes already decrypted and waiting (read will not block). */
size_t qcrypto_tls_session_check_pending(QCryptoTLSSession *sess);

/*
 * Send close_notify (our write side ends; the peer reads a clean EOF).
 * Returns 1 done, 0 would block (call again), -1 with errp set.
 */
int qcrypto_tls_session_bye(QCryptoTLSSession *sess, Error **errp);

/*
 * The peer's identity once checked: x509 DN (C=..,O=..,CN=.. order) or
 * PSK username; NULL if unknown.  Borrowed.
 */
const char *qcrypto_tls_session_get_peer_name(QCryptoTLSSession *sess);

/* Largest plaintext per record after the handshake (<= RECORD_MAX). */
size_t qcrypto_tls_session_get_max_record(QCryptoTLSSession *sess);

/*
 * Tern's own TLS 1.3 record layer.  After the handshake (and
 * check_credentials) GnuTLS's record functions copy every byte once more
 * than needed and allocate per record; for TLS 1.3 with AES-GCM the
 * session can instead seal records straight from the caller's iovec into
 * a multi-record send buffer (one push per ~64 KiB) and open them
 * straight into the caller's iovec.  The wire format is plain TLS 1.3
 * (RFC 8446 section 5), so the peer may be any TLS 1.3 stack: GnuTLS,
 * QEMU.  NewSessionTicket is ignored, KeyUpdate honoured both ways,
 * close_notify sent and understood.
 *
 * Returns true if the layer took over (TLS 1.3, AES-128/256-GCM, the key
 * log gave both traffic secrets and they match GnuTLS's keys); false
 * leaves the session on GnuTLS's record functions.  After true use only
 * the *v functions below (and bye) for data.
 */
bool qcrypto_tls_session_enable_fast_records(QCryptoTLSSession *sess);
bool qcrypto_tls_session_has_fast_records(QCryptoTLSSession *sess);

/*
 * Seal and send iov.  Returns plaintext bytes sent (all of iov in
 * blocking mode), ERR_BLOCK, or -1 with errp set.  When it returns less
 * than asked, records holding the next bytes may already sit encrypted
 * in the send buffer: call again with the iov starting at the first
 * unreported byte (same data), as for qcrypto_tls_session_write.
 * Thread-safe against a concurrent readv.
 */
ssize_t qcrypto_tls_session_writev(QCryptoTLSSession *sess,
                                   const struct iovec *iov, size_t niov,
                                   Error **errp);
/*
 * Receive and open records into iov.  Returns bytes read (waiting for
 * the transport only before the first byte), 0 at close_notify (or EOF
 * when premature_is_eof), ERR_BLOCK, or -1 with errp set.  Bytes of iov
 * beyond the returned count may have been overwritten.
 */
ssize_t qcrypto_tls_session_readv(QCryptoTLSSession *sess,
                                  const struct iovec *iov, size_t niov,
                                  bool premature_is_eof, Error **errp);
/* Whether a read would return data without touching the transport. */
bool qcrypto_tls_session_readable(QCryptoTLSSession *sess);
/*
 * GnuTLS records only (tests): send buf as one record with pad bytes of
 * TLS 1.3 padding, as some stacks do.  As qcrypto_tls_session_write.
 */
ssize_t qcrypto_tls_session_write_padded(QCryptoTLSSession *sess,
                                         const char *buf, size_t len,
                                         size_t pad, Error **errp);
/* Send a KeyUpdate asking the peer to update too (tests).  0 or -1. */
int qcrypto_tls_session_request_key_update(QCryptoTLSSession *sess,
                                           Error **errp);

/* Negotiated "TLS1.3 AES-128-GCM" style description; caller frees. */
char *qcrypto_tls_session_get_cipher_desc(QCryptoTLSSession *sess);

#endif /* CRYPTO_TLSSESSION_H */
