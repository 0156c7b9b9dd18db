/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * tlscredspriv.h: the TLS credentials instance, for crypto/ only.
 */
#ifndef CRYPTO_TLSCREDSPRIV_H
#define CRYPTO_TLSCREDSPRIV_H

#include "qemu/osdep.h"
#include <gnutls/gnutls.h>
#include "crypto/tlscreds.h"

/*
 * Default priorities.  QEMU's are "NORMAL" (x509), PSK and anon add their
 * key exchanges.  Unless the user gives priority=, Tern moves AES-128-GCM
 * to the front of the cipher list, and servers use their own order
 * (%SERVER_PRECEDENCE, added in tlssession.c) so a QEMU client, which
 * prefers AES-256-GCM, gets it too.  Why (tests/bench/tls-throughput
 * --ciphers and gnutls-cli --benchmark-ciphers on this Xeon with AES-NI,
 * PCLMULQDQ and VAES): AES-128-GCM runs 10 AES rounds per block against
 * AES-256-GCM's 14 and seals 16 KiB records about 15-30% faster (3.85 vs
 * 3.38 GiB/s one-shot on one core); CHACHA20-POLY1305 has no vector code
 * in this GnuTLS build (0.3 GiB/s) and AES-CCM is an order of magnitude
 * slower (0.75 GB/s).  128-bit AES keys remain within every TLS 1.3
 * security profile GnuTLS's "NORMAL" accepts.
 */
#define QCRYPTO_TLS_PRIORITY_FAST_CIPHERS "-CIPHER-ALL:+AES-128-GCM:+CIPHER-ALL"
#define QCRYPTO_TLS_PRIORITY_X509 "NORMAL"
#define QCRYPTO_TLS_PRIORITY_PSK "NORMAL:+ECDHE-PSK:+DHE-PSK:+PSK"
#define QCRYPTO_TLS_PRIORITY_ANON "NORMAL:+ANON-ECDH:+ANON-DH"

struct QCryptoTLSCreds {
    Object parent; /* must be first */
    QCryptoTLSCredsKind kind;
    QCryptoTLSCredsEndpoint endpoint;
    char *dir;          /* owned; NULL for anon */
    char *priority;     /* owned; effective string */
    bool user_priority; /* priority= was given */
    bool verify_peer;
    bool sanity_check;
    char *username; /* PSK client; owned */

    gnutls_certificate_credentials_t x509;
    gnutls_psk_client_credentials_t psk_client;
    gnutls_psk_server_credentials_t psk_server;
    gnutls_anon_client_credentials_t anon_client;
    gnutls_anon_server_credentials_t anon_server;
    gnutls_dh_params_t dh_params; /* from dh-params.pem, or NULL */
};

/* Sanity checks of our own certificate and CA (tlscredsx509.c). */
bool qcrypto_tls_creds_x509_sanity_check(QCryptoTLSCreds *creds,
                                         const char *cacert, const char *cert,
                                         Error **errp);

/* Why a chain failed, from a verification status (QEMU's phrases). */
const char *qcrypto_tls_x509_status_reason(unsigned int status);

/* Called by crypto_register_types(). */
void qcrypto_tls_creds_register_types(void);
void qauthz_register_types(void);

#endif /* CRYPTO_TLSCREDSPRIV_H */
