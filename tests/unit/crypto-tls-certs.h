/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * crypto-tls-certs.h: throw-away x509 and PSK credentials for tests,
 * generated with the GnuTLS API at run time (no key is ever committed).
 *
 * Keys are ECDSA P-256 (generated in microseconds).  A standard
 * directory matches what tls-creds-x509 expects:
 *   ca-cert.pem                      CN=Tern Test CA
 *   server-cert.pem, server-key.pem  O=Wire Test,CN=localhost,
 *                                    DNS localhost, IP 127.0.0.1
 *   client-cert.pem, client-key.pem  C=GB,O=Wire Test,CN=migration-client
 *   keys.psk                         qemu:<32 random bytes in hex>
 */
#ifndef TESTS_CRYPTO_TLS_CERTS_H
#define TESTS_CRYPTO_TLS_CERTS_H

#include "qemu/osdep.h"
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>

/* The client certificate's DN as QEMU prints it (authz identity). */
#define TEST_TLS_CLIENT_DN "C=GB,O=Wire Test,CN=migration-client"

typedef struct TestTLSCA {
    gnutls_x509_crt_t crt;
    gnutls_x509_privkey_t key;
} TestTLSCA;

typedef struct TestTLSCertSpec {
    const char *country; /* NULL = none */
    const char *org;
    const char *cn;
    const char *dns_name; /* subjectAltName DNS, NULL = none */
    const char *ip;       /* subjectAltName IP, NULL = none */
    bool server;          /* TLS WWW server purpose, else client */
    int start_days;       /* activation, days from now (-1) */
    int expire_days;      /* expiry, days from now (365) */
} TestTLSCertSpec;

/* Variations of the standard directory. */
typedef struct TestTLSDirOpts {
    bool server_expired; /* server cert expired yesterday */
    bool client_expired;
    bool server_not_yet_active;
    const char *server_cn; /* default "localhost" (also DNS) */
} TestTLSDirOpts;

/* A self-signed CA named cn. */
void test_tls_ca_init(TestTLSCA *ca, const char *cn);
void test_tls_ca_deinit(TestTLSCA *ca);
/* Write the CA certificate as PEM to path. */
void test_tls_ca_write(TestTLSCA *ca, const char *path);
/* Issue a certificate from ca and write it and its new key as PEM. */
void test_tls_cert_issue(TestTLSCA *ca, const TestTLSCertSpec *spec,
                         const char *certpath, const char *keypath);

/*
 * A new temporary directory holding the standard x509 files signed by ca
 * and a keys.psk with user "qemu" (opts may be NULL).  Returns the path
 * (g_free it after test_tls_dir_remove).
 */
char *test_tls_dir_new(TestTLSCA *ca, const TestTLSDirOpts *opts);
/* Write dir/keys.psk with one line user:hexkey (hexkey NULL = random). */
void test_tls_psk_write(const char *dir, const char *user, const char *hexkey);
/* Remove the files and the directory. */
void test_tls_dir_remove(const char *dir);

#endif /* TESTS_CRYPTO_TLS_CERTS_H */
