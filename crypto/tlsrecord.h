/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * tlsrecord.h: Tern's TLS 1.3 record layer for AES-GCM sessions, used
 * after GnuTLS finished the handshake (crypto/ private).
 *
 * Wire format (RFC 8446 section 5.2), one record:
 *
 *   +------+-------+-------+--------+----------------------------+-----+
 *   | 0x17 | 0x03  | 0x03  | len16  | AES-GCM(data || type || 0*)| tag |
 *   +------+-------+-------+--------+----------------------------+-----+
 *     outer type, legacy version,     len = |ciphertext| + 16, at most
 *     always application_data         2^14 + 256; data at most 2^14
 *
 *   nonce = write_iv XOR (64-bit big-endian sequence number, right-
 *   aligned in 12 bytes); additional data = the 5 header bytes; the inner
 *   type is 23 (data), 21 (alert) or 22 (handshake: NewSessionTicket is
 *   ignored, KeyUpdate rotates the keys: secret' = HKDF-Expand-Label(
 *   secret, "traffic upd", "", Hash.length), key/iv from it with labels
 *   "key"/"iv").
 *
 * Why it is faster than gnutls_record_send/recv (numbers in
 * tests/bench/tls-throughput.c and the TLS notes):
 *   1. sealing reads the caller's pages directly (no gather copy, no
 *      per-record allocation) into a send buffer of sixteen records that
 *      goes out in one push;
 *   2. opening writes the plaintext directly into the caller's iovec
 *      (GnuTLS decrypts into its own buffer then copies), from a receive
 *      buffer filled up to 256 KiB per pull instead of two pulls per record;
 *   3. the tag is checked after the plaintext was written, so on failure
 *      the caller's buffer holds garbage, but the read fails and the
 *      session is dead: nothing unauthenticated is ever reported as read.
 *
 * Threads: one reader and one writer; the write state has a lock because
 * the reader answers a peer's KeyUpdate request with one of its own.
 */
#ifndef CRYPTO_TLSRECORD_H
#define CRYPTO_TLSRECORD_H

#include "qemu/osdep.h"
#include <gnutls/gnutls.h>
#include "qapi/error.h"
#include "crypto/tlssession.h"

typedef struct QCryptoTLSRecordLayer QCryptoTLSRecordLayer;

/* Room for one traffic secret (Hash.length: 32 or 48 bytes). */
#define QCRYPTO_TLS_SECRET_MAX 64

/*
 * Take over the record layer of handle (handshake complete) with our and
 * the peer's application traffic secrets.  NULL when the session does
 * not qualify (not TLS 1.3 AES-GCM, keys not matching GnuTLS's).
 */
QCryptoTLSRecordLayer *
qcrypto_tls_record_new(gnutls_session_t handle, const uint8_t *wsecret,
                       size_t wsecret_len, const uint8_t *rsecret,
                       size_t rsecret_len, QCryptoTLSSessionPushFunc push,
                       QCryptoTLSSessionPullFunc pull, void *opaque);
void qcrypto_tls_record_free(QCryptoTLSRecordLayer *rl);

/* As qcrypto_tls_session_writev/readv/readable. */
ssize_t qcrypto_tls_record_writev(QCryptoTLSRecordLayer *rl,
                                  const struct iovec *iov, size_t niov,
                                  Error **errp);
ssize_t qcrypto_tls_record_readv(QCryptoTLSRecordLayer *rl,
                                 const struct iovec *iov, size_t niov,
                                 bool premature_is_eof, Error **errp);
bool qcrypto_tls_record_readable(QCryptoTLSRecordLayer *rl);
/* Send close_notify: 1 sent, 0 would block, -1 error. */
int qcrypto_tls_record_bye(QCryptoTLSRecordLayer *rl, Error **errp);
/* Send a KeyUpdate and switch our write key. */
bool qcrypto_tls_record_key_update(QCryptoTLSRecordLayer *rl, bool request_peer,
                                   Error **errp);

#endif /* CRYPTO_TLSRECORD_H */
