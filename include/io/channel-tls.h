/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * channel-tls.h: QIOChannelTLS, a channel carrying a TLS session over
 * another channel (the "master": a socket, a command's pipes...).
 *
 * The TLS channel holds a reference on its master and owns the session.
 * Before data can flow the handshake must complete, either on a main loop
 * (qio_channel_tls_handshake) or blocking (qio_channel_tls_handshake_sync);
 * both also validate the peer (certificate chain, hostname, authz).
 *
 * Data path (why it is fast, see tests/bench/tls-throughput.c):
 *  1. full 16 KiB records: QEMU sends one record (and one syscall) per
 *     4 KiB page;
 *  2. sessions prefer AES-128-GCM (AES-NI + PCLMULQDQ), see tlscredspriv.h;
 *  3. for TLS 1.3 AES-GCM sessions (the default) Tern's own record layer
 *     (crypto/tlsrecord.h) replaces gnutls_record_send/recv after the
 *     handshake: records are sealed straight from the caller's pages into
 *     a batch of four pushed with one syscall, and opened straight into
 *     the caller's iovec from ~64 KiB reads: no gather copy, no copy out
 *     of GnuTLS's buffer, no allocation per record.
 *  Without it (TLS 1.2, anon, CHACHA20...) GnuTLS carries the records:
 *  writev then gathers small iovec elements into full records through a
 *  staging buffer, and the transport read side reads ahead a little so
 *  that a record costs one read instead of GnuTLS's two.
 *
 * Non-blocking mode: readv/writev return QIO_CHANNEL_ERR_BLOCK; a write
 * that blocked mid-record is resumed by the next writev (which must pass
 * the same data again, as qio_channel_writev_all does).  Watches on the
 * TLS channel also fire when decrypted or read-ahead data is waiting in
 * user space, which a watch on the master alone would miss.
 *
 * Close sends close_notify (best effort) then closes the master.  A peer
 * that drops the connection without close_notify makes reads fail with
 * "Cannot read from TLS channel: The TLS connection was non-properly
 * terminated." unless we shut our read side down first (then it is EOF).
 *
 * Threads: one reader and one writer may use the channel concurrently
 * after the handshake (return path); shutdown from any thread.
 */
#ifndef QIO_CHANNEL_TLS_H
#define QIO_CHANNEL_TLS_H

#include "io/channel.h"
#include "io/task.h"
#include "qom/object.h"
#include "crypto/tlssession.h"

typedef struct QIOChannelTLS QIOChannelTLS;

#define QIO_CHANNEL_TLS(obj) ((QIOChannelTLS *)(obj))

/*
 * A TLS client over master.  creds must be TLS credentials with a client
 * endpoint; hostname is what the server certificate must match (x509;
 * NULL fails validation with "No hostname for certificate validation").
 * Takes a reference on master.  No I/O yet.  NULL with errp set on error.
 */
QIOChannelTLS *qio_channel_tls_new_client(QIOChannel *master, Object *creds,
                                          const char *hostname, Error **errp);

/*
 * A TLS server over master; authzid (may be NULL) names an authz object
 * the client's identity must pass.  As new_client otherwise.
 */
QIOChannelTLS *qio_channel_tls_new_server(QIOChannel *master, Object *creds,
                                          const char *authzid, Error **errp);

/*
 * Run the handshake and peer validation on context's main loop (NULL =
 * default context) with watches on the master, then call func with a
 * task whose error (qio_task_propagate_error) says how it ended.  Use a
 * non-blocking master, otherwise each step blocks the loop.  destroy
 * frees opaque after func ran.  Returns at once.
 */
void qio_channel_tls_handshake(QIOChannelTLS *ioc, QIOTaskFunc func,
                               gpointer opaque, GDestroyNotify destroy,
                               GMainContext *context);

/*
 * Handshake and validate, blocking the calling thread (in non-blocking
 * mode it waits for the master).  For the migration thread.  Errors:
 * "TLS handshake failed: <reason>", or the validation error.
 */
bool qio_channel_tls_handshake_sync(QIOChannelTLS *ioc, Error **errp);

/* The session (borrowed), e.g. for the peer name or cipher. */
QCryptoTLSSession *qio_channel_tls_get_session(QIOChannelTLS *ioc);
/* The wrapped channel (borrowed). */
QIOChannel *qio_channel_tls_get_master(QIOChannelTLS *ioc);

/*
 * Data path optimisations, all on by default.  Only benchmarks and tests
 * change them (process-wide, for channels created afterwards):
 * GATHER off = one record per iovec element (QEMU's way);
 * READAHEAD off = GnuTLS reads the transport record by record.
 */
#define QIO_CHANNEL_TLS_OPT_GATHER (1u << 0)
#define QIO_CHANNEL_TLS_OPT_READAHEAD (1u << 1)
/* RECORDS off = GnuTLS's record functions instead of Tern's own layer. */
#define QIO_CHANNEL_TLS_OPT_RECORDS (1u << 2)
void qio_channel_tls_set_default_opts(unsigned int opts);

#endif /* QIO_CHANNEL_TLS_H */
