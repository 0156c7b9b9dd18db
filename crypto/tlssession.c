/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * tlssession.c: a GnuTLS session over caller-supplied push/pull functions
 * (see include/crypto/tlssession.h).
 */
#include "qemu/osdep.h"
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <gnutls/crypto.h>
#include "crypto/tlssession.h"
#include "crypto/authz.h"
#include "tlscredspriv.h"
#include "tlsrecord.h"

struct QCryptoTLSSession {
    QCryptoTLSCreds *creds; /* holds a reference */
    gnutls_session_t handle;
    QCryptoTLSCredsEndpoint endpoint;
    char *hostname; /* owned; clients */
    char *authzid;  /* owned; servers */
    char *peername; /* owned; after check_credentials */
    bool handshake_done;
    QCryptoTLSSessionPushFunc push;
    QCryptoTLSSessionPullFunc pull;
    void *opaque;

    /* TLS 1.3 traffic secrets from the key log, for our record layer */
    uint8_t client_secret[QCRYPTO_TLS_SECRET_MAX];
    uint8_t server_secret[QCRYPTO_TLS_SECRET_MAX];
    size_t client_secret_len, server_secret_len;
    QCryptoTLSRecordLayer *rl; /* non-NULL once it took over */
};

/* GnuTLS hands us each secret as it derives it (SSLKEYLOGFILE hook). */
static int tls_session_keylog(gnutls_session_t handle, const char *label,
                              const gnutls_datum_t *secret)
{
    QCryptoTLSSession *sess = gnutls_session_get_ptr(handle);
    uint8_t *dst = NULL;
    size_t *len = NULL;

    if (g_str_equal(label, "CLIENT_TRAFFIC_SECRET_0")) {
        dst = sess->client_secret;
        len = &sess->client_secret_len;
    } else if (g_str_equal(label, "SERVER_TRAFFIC_SECRET_0")) {
        dst = sess->server_secret;
        len = &sess->server_secret_len;
    }
    if (dst && secret->size <= sizeof(sess->client_secret)) {
        memcpy(dst, secret->data, secret->size);
        *len = secret->size;
    }
    return 0;
}

/* GnuTLS transport callbacks: errno carries EAGAIN/EINTR back to it. */
static ssize_t tls_session_vec_push(gnutls_transport_ptr_t ptr,
                                    const giovec_t *iov, int iovcnt)
{
    QCryptoTLSSession *sess = ptr;

    if (!sess->push) {
        errno = EIO;
        return -1;
    }
    /* giovec_t is declared layout-compatible with struct iovec */
    return sess->push((const struct iovec *)iov, iovcnt, sess->opaque);
}

static ssize_t tls_session_pull(gnutls_transport_ptr_t ptr, void *buf,
                                size_t len)
{
    QCryptoTLSSession *sess = ptr;

    if (!sess->pull) {
        errno = EIO;
        return -1;
    }
    return sess->pull(buf, len, sess->opaque);
}

QCryptoTLSSession *qcrypto_tls_session_new(QCryptoTLSCreds *creds,
                                           const char *hostname,
                                           const char *authzid,
                                           QCryptoTLSCredsEndpoint endpoint,
                                           Error **errp)
{
    QCryptoTLSSession *sess;
    bool server = endpoint == QCRYPTO_TLS_CREDS_ENDPOINT_SERVER;
    const char *prio;
    const char *errpos = NULL;
    char *prio_full = NULL;
    int ret;

    if (!qcrypto_tls_creds_check_endpoint(creds, endpoint, errp)) {
        return NULL;
    }

    sess = g_new0(QCryptoTLSSession, 1);
    sess->creds = creds;
    object_ref(&creds->parent);
    sess->endpoint = endpoint;
    sess->hostname = g_strdup(hostname && *hostname ? hostname : NULL);
    sess->authzid = g_strdup(authzid && *authzid ? authzid : NULL);

    /*
     * No session tickets: migration never resumes sessions, and a TLS 1.3
     * ticket is a post-handshake record a write-only client never reads.
     */
    ret = gnutls_init(&sess->handle, (server ? GNUTLS_SERVER : GNUTLS_CLIENT) |
                                         GNUTLS_NO_TICKETS);
    if (ret < 0) {
        error_setg(errp, "Cannot initialize TLS session: %s",
                   gnutls_strerror(ret));
        sess->handle = NULL;
        goto error;
    }

    /*
     * A server with our default priorities picks by its own preference
     * (AES-128-GCM first) even when the client is a QEMU preferring
     * AES-256-GCM.
     */
    prio = creds->priority;
    if (server && !creds->user_priority) {
        prio_full = g_strdup_printf("%s:%%SERVER_PRECEDENCE", prio);
        prio = prio_full;
    }
    ret = gnutls_priority_set_direct(sess->handle, prio, &errpos);
    if (ret < 0) {
        error_setg(errp, "Unable to set TLS session priority %s: %s", prio,
                   gnutls_strerror(ret));
        goto error;
    }

    switch (creds->kind) {
    case QCRYPTO_TLS_CREDS_KIND_X509:
        ret = gnutls_credentials_set(sess->handle, GNUTLS_CRD_CERTIFICATE,
                                     creds->x509);
        if (ret >= 0 && server) {
            gnutls_certificate_server_set_request(
                sess->handle,
                creds->verify_peer ? GNUTLS_CERT_REQUEST : GNUTLS_CERT_IGNORE);
        }
        break;
    case QCRYPTO_TLS_CREDS_KIND_PSK:
        ret = gnutls_credentials_set(sess->handle, GNUTLS_CRD_PSK,
                                     server ? (void *)creds->psk_server
                                            : (void *)creds->psk_client);
        break;
    default:
        ret = gnutls_credentials_set(sess->handle, GNUTLS_CRD_ANON,
                                     server ? (void *)creds->anon_server
                                            : (void *)creds->anon_client);
        break;
    }
    if (ret < 0) {
        error_setg(errp, "Cannot set session credentials: %s",
                   gnutls_strerror(ret));
        goto error;
    }

    gnutls_session_set_ptr(sess->handle, sess);
    gnutls_session_set_keylog_function(sess->handle, tls_session_keylog);
    gnutls_transport_set_ptr(sess->handle, sess);
    gnutls_transport_set_vec_push_function(sess->handle, tls_session_vec_push);
    gnutls_transport_set_pull_function(sess->handle, tls_session_pull);
    g_free(prio_full);
    return sess;

error:
    g_free(prio_full);
    qcrypto_tls_session_free(sess);
    return NULL;
}

void qcrypto_tls_session_free(QCryptoTLSSession *sess)
{
    if (!sess) {
        return;
    }
    qcrypto_tls_record_free(sess->rl);
    if (sess->handle) {
        gnutls_deinit(sess->handle);
    }
    memset(sess->client_secret, 0, sizeof(sess->client_secret));
    memset(sess->server_secret, 0, sizeof(sess->server_secret));
    g_free(sess->hostname);
    g_free(sess->authzid);
    g_free(sess->peername);
    object_unref(&sess->creds->parent);
    g_free(sess);
}

void qcrypto_tls_session_set_callbacks(QCryptoTLSSession *sess,
                                       QCryptoTLSSessionPushFunc push,
                                       QCryptoTLSSessionPullFunc pull,
                                       void *opaque)
{
    sess->push = push;
    sess->pull = pull;
    sess->opaque = opaque;
}

int qcrypto_tls_session_handshake(QCryptoTLSSession *sess, Error **errp)
{
    int ret = gnutls_handshake(sess->handle);

    if (ret == 0) {
        sess->handshake_done = true;
        return 1;
    }
    if (ret == GNUTLS_E_AGAIN || ret == GNUTLS_E_INTERRUPTED ||
        !gnutls_error_is_fatal(ret)) {
        return 0;
    }
    error_setg(errp, "TLS handshake failed: %s", gnutls_strerror(ret));
    return -1;
}

GIOCondition qcrypto_tls_session_get_direction(QCryptoTLSSession *sess)
{
    return gnutls_record_get_direction(sess->handle) ? G_IO_OUT : G_IO_IN;
}

/* Check the authz object (if any) against the peer's identity. */
static bool tls_session_check_authz(QCryptoTLSSession *sess, const char *what,
                                    Error **errp)
{
    int ret;

    if (!sess->authzid) {
        return true;
    }
    ret = qauthz_is_allowed_by_id(sess->authzid, sess->peername, errp);
    if (ret < 0) {
        return false;
    }
    if (ret == 0) {
        error_setg(errp, "TLS %s authz check for %s is denied", what,
                   sess->peername);
        return false;
    }
    return true;
}

static bool tls_session_check_certificate(QCryptoTLSSession *sess, Error **errp)
{
    unsigned int status = 0;
    const gnutls_datum_t *certs;
    unsigned int ncerts = 0;
    time_t now = time(NULL);
    bool ok = false;
    int ret;

    ret = gnutls_certificate_verify_peers2(sess->handle, &status);
    if (ret < 0) {
        error_setg(errp, "Verify failed: %s", gnutls_strerror(ret));
        return false;
    }
    if (status) {
        error_setg(errp, "%s", qcrypto_tls_x509_status_reason(status));
        return false;
    }
    certs = gnutls_certificate_get_peers(sess->handle, &ncerts);
    if (!certs || ncerts == 0) {
        error_setg(errp, "No certificate peer");
        return false;
    }

    for (unsigned int i = 0; i < ncerts; i++) {
        gnutls_x509_crt_t cert;

        if (gnutls_x509_crt_init(&cert) < 0) {
            error_setg(errp, "Cannot initialize certificate");
            return false;
        }
        if (gnutls_x509_crt_import(cert, &certs[i], GNUTLS_X509_FMT_DER) < 0) {
            error_setg(errp, "Cannot import certificate");
            goto next_error;
        }
        if (gnutls_x509_crt_get_expiration_time(cert) < now) {
            error_setg(errp, "The certificate has expired");
            goto next_error;
        }
        if (gnutls_x509_crt_get_activation_time(cert) > now) {
            error_setg(errp, "The certificate is not yet activated");
            goto next_error;
        }
        if (i == 0) {
            gnutls_datum_t dn = {NULL, 0};

            /* most-significant RDN first, as QEMU 7.2 prints it */
            ret =
                gnutls_x509_crt_get_dn3(cert, &dn, GNUTLS_X509_DN_FLAG_COMPAT);
            if (ret < 0) {
                error_setg(errp, "Cannot get client distinguished name: %s",
                           gnutls_strerror(ret));
                goto next_error;
            }
            g_free(sess->peername);
            sess->peername = g_strndup((const char *)dn.data, dn.size);
            gnutls_free(dn.data);

            if (sess->endpoint == QCRYPTO_TLS_CREDS_ENDPOINT_CLIENT) {
                if (!sess->hostname) {
                    error_setg(errp, "No hostname for certificate "
                                     "validation");
                    goto next_error;
                }
                if (!gnutls_x509_crt_check_hostname(cert, sess->hostname)) {
                    error_setg(errp,
                               "Certificate does not match the "
                               "hostname %s",
                               sess->hostname);
                    goto next_error;
                }
            }
        }
        gnutls_x509_crt_deinit(cert);
        continue;
    next_error:
        gnutls_x509_crt_deinit(cert);
        return false;
    }

    if (sess->endpoint == QCRYPTO_TLS_CREDS_ENDPOINT_SERVER) {
        ok = tls_session_check_authz(sess, "x509", errp);
    } else {
        ok = true;
    }
    return ok;
}

bool qcrypto_tls_session_check_credentials(QCryptoTLSSession *sess,
                                           Error **errp)
{
    QCryptoTLSCreds *creds = sess->creds;

    if (!sess->handshake_done) {
        error_setg(errp, "TLS handshake not complete");
        return false;
    }
    switch (creds->kind) {
    case QCRYPTO_TLS_CREDS_KIND_X509:
        if (!creds->verify_peer) {
            return true;
        }
        return tls_session_check_certificate(sess, errp);
    case QCRYPTO_TLS_CREDS_KIND_PSK:
        if (sess->endpoint == QCRYPTO_TLS_CREDS_ENDPOINT_SERVER) {
            const char *user = gnutls_psk_server_get_username(sess->handle);
            if (!user) {
                error_setg(errp, "No PSK username");
                return false;
            }
            g_free(sess->peername);
            sess->peername = g_strdup(user);
            return tls_session_check_authz(sess, "PSK", errp);
        }
        return true;
    default:
        return true;
    }
}

ssize_t qcrypto_tls_session_write(QCryptoTLSSession *sess, const char *buf,
                                  size_t len, Error **errp)
{
    ssize_t ret = gnutls_record_send(sess->handle, buf, len);

    if (ret >= 0) {
        return ret;
    }
    if (ret == GNUTLS_E_AGAIN || ret == GNUTLS_E_INTERRUPTED) {
        return QCRYPTO_TLS_SESSION_ERR_BLOCK;
    }
    error_setg(errp, "Cannot write to TLS channel: %s", gnutls_strerror(ret));
    return -1;
}

ssize_t qcrypto_tls_session_read(QCryptoTLSSession *sess, char *buf, size_t len,
                                 bool premature_is_eof, Error **errp)
{
    ssize_t ret;

    for (;;) {
        ret = gnutls_record_recv(sess->handle, buf, len);
        if (ret >= 0) {
            return ret;
        }
        switch (ret) {
        case GNUTLS_E_AGAIN:
        case GNUTLS_E_INTERRUPTED:
            return QCRYPTO_TLS_SESSION_ERR_BLOCK;
        case GNUTLS_E_PREMATURE_TERMINATION:
            if (premature_is_eof) {
                return 0;
            }
            break;
        case GNUTLS_E_REHANDSHAKE:
            /* not supported: refuse and carry on */
            gnutls_alert_send(sess->handle, GNUTLS_AL_WARNING,
                              GNUTLS_A_NO_RENEGOTIATION);
            continue;
        default:
            if (!gnutls_error_is_fatal(ret)) {
                continue; /* e.g. a warning alert */
            }
            break;
        }
        error_setg(errp, "Cannot read from TLS channel: %s",
                   gnutls_strerror(ret));
        return -1;
    }
}

size_t qcrypto_tls_session_check_pending(QCryptoTLSSession *sess)
{
    return gnutls_record_check_pending(sess->handle);
}

int qcrypto_tls_session_bye(QCryptoTLSSession *sess, Error **errp)
{
    int ret;

    if (!sess->handshake_done) {
        return 1;
    }
    if (sess->rl) {
        return qcrypto_tls_record_bye(sess->rl, errp);
    }
    ret = gnutls_bye(sess->handle, GNUTLS_SHUT_WR);
    if (ret == 0) {
        return 1;
    }
    if (ret == GNUTLS_E_AGAIN || ret == GNUTLS_E_INTERRUPTED) {
        return 0;
    }
    error_setg(errp, "Cannot terminate TLS session: %s", gnutls_strerror(ret));
    return -1;
}

const char *qcrypto_tls_session_get_peer_name(QCryptoTLSSession *sess)
{
    return sess->peername;
}

size_t qcrypto_tls_session_get_max_record(QCryptoTLSSession *sess)
{
    size_t max = gnutls_record_get_max_size(sess->handle);

    return max && max < QCRYPTO_TLS_RECORD_MAX ? max : QCRYPTO_TLS_RECORD_MAX;
}

char *qcrypto_tls_session_get_cipher_desc(QCryptoTLSSession *sess)
{
    gnutls_protocol_t ver = gnutls_protocol_get_version(sess->handle);
    gnutls_cipher_algorithm_t cipher = gnutls_cipher_get(sess->handle);

    return g_strdup_printf("%s %s", gnutls_protocol_get_name(ver),
                           gnutls_cipher_get_name(cipher));
}

/* ---- Tern's record layer (see tlsrecord.h) ---- */

bool qcrypto_tls_session_enable_fast_records(QCryptoTLSSession *sess)
{
    bool client = sess->endpoint == QCRYPTO_TLS_CREDS_ENDPOINT_CLIENT;

    if (sess->rl) {
        return true;
    }
    if (!sess->handshake_done || !sess->client_secret_len ||
        !sess->server_secret_len ||
        gnutls_record_check_pending(sess->handle) > 0) {
        return false;
    }
    sess->rl = qcrypto_tls_record_new(
        sess->handle, client ? sess->client_secret : sess->server_secret,
        client ? sess->client_secret_len : sess->server_secret_len,
        client ? sess->server_secret : sess->client_secret,
        client ? sess->server_secret_len : sess->client_secret_len, sess->push,
        sess->pull, sess->opaque);
    /* the secrets are no longer needed here */
    memset(sess->client_secret, 0, sizeof(sess->client_secret));
    memset(sess->server_secret, 0, sizeof(sess->server_secret));
    return sess->rl != NULL;
}

bool qcrypto_tls_session_has_fast_records(QCryptoTLSSession *sess)
{
    return sess->rl != NULL;
}

ssize_t qcrypto_tls_session_writev(QCryptoTLSSession *sess,
                                   const struct iovec *iov, size_t niov,
                                   Error **errp)
{
    return qcrypto_tls_record_writev(sess->rl, iov, niov, errp);
}

ssize_t qcrypto_tls_session_readv(QCryptoTLSSession *sess,
                                  const struct iovec *iov, size_t niov,
                                  bool premature_is_eof, Error **errp)
{
    return qcrypto_tls_record_readv(sess->rl, iov, niov, premature_is_eof,
                                    errp);
}

bool qcrypto_tls_session_readable(QCryptoTLSSession *sess)
{
    if (sess->rl) {
        return qcrypto_tls_record_readable(sess->rl);
    }
    return sess->handshake_done &&
           gnutls_record_check_pending(sess->handle) > 0;
}

ssize_t qcrypto_tls_session_write_padded(QCryptoTLSSession *sess,
                                         const char *buf, size_t len,
                                         size_t pad, Error **errp)
{
    ssize_t ret = gnutls_record_send2(sess->handle, buf, len, pad, 0);

    if (ret < 0) {
        error_setg(errp, "Cannot write to TLS channel: %s",
                   gnutls_strerror(ret));
        return -1;
    }
    return ret;
}

int qcrypto_tls_session_request_key_update(QCryptoTLSSession *sess,
                                           Error **errp)
{
    int ret;

    if (sess->rl) {
        return qcrypto_tls_record_key_update(sess->rl, true, errp) ? 0 : -1;
    }
    ret = gnutls_session_key_update(sess->handle, GNUTLS_KU_PEER);
    if (ret < 0) {
        error_setg(errp, "TLS key update failed: %s", gnutls_strerror(ret));
        return -1;
    }
    return 0;
}
