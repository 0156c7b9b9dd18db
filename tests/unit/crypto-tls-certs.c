/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * crypto-tls-certs.c: throw-away test credentials (see the header).
 */
#include "qemu/osdep.h"
#include "qemu/bswap.h"
#include "crypto-tls-certs.h"

#define CHECK(x) g_assert_cmpint((x), >=, 0)

static void test_tls_write_file(const char *path, const gnutls_datum_t *d)
{
    GError *gerr = NULL;

    g_file_set_contents(path, (const char *)d->data, d->size, &gerr);
    g_assert_no_error(gerr);
}

static void test_tls_key_new(gnutls_x509_privkey_t *key)
{
    CHECK(gnutls_x509_privkey_init(key));
    CHECK(gnutls_x509_privkey_generate(
        *key, GNUTLS_PK_ECDSA, GNUTLS_CURVE_TO_BITS(GNUTLS_ECC_CURVE_SECP256R1),
        0));
}

static void test_tls_crt_common(gnutls_x509_crt_t crt,
                                gnutls_x509_privkey_t key, int start_days,
                                int expire_days)
{
    static unsigned int serial = 1;
    unsigned char sn[4];
    time_t now = time(NULL);

    serial++;
    stl_be_p(sn, serial | 1); /* positive, non-zero */
    CHECK(gnutls_x509_crt_set_version(crt, 3));
    CHECK(gnutls_x509_crt_set_serial(crt, sn, sizeof(sn)));
    CHECK(gnutls_x509_crt_set_activation_time(crt, now + start_days * 86400L));
    CHECK(gnutls_x509_crt_set_expiration_time(crt, now + expire_days * 86400L));
    CHECK(gnutls_x509_crt_set_key(crt, key));
}

void test_tls_ca_init(TestTLSCA *ca, const char *cn)
{
    test_tls_key_new(&ca->key);
    CHECK(gnutls_x509_crt_init(&ca->crt));
    test_tls_crt_common(ca->crt, ca->key, -1, 3650);
    CHECK(gnutls_x509_crt_set_dn_by_oid(ca->crt, GNUTLS_OID_X520_COMMON_NAME, 0,
                                        cn, strlen(cn)));
    CHECK(gnutls_x509_crt_set_basic_constraints(ca->crt, 1, -1));
    CHECK(gnutls_x509_crt_set_key_usage(ca->crt, GNUTLS_KEY_KEY_CERT_SIGN |
                                                     GNUTLS_KEY_CRL_SIGN));
    CHECK(
        gnutls_x509_crt_sign2(ca->crt, ca->crt, ca->key, GNUTLS_DIG_SHA256, 0));
}

void test_tls_ca_deinit(TestTLSCA *ca)
{
    gnutls_x509_crt_deinit(ca->crt);
    gnutls_x509_privkey_deinit(ca->key);
}

void test_tls_ca_write(TestTLSCA *ca, const char *path)
{
    gnutls_datum_t d;

    CHECK(gnutls_x509_crt_export2(ca->crt, GNUTLS_X509_FMT_PEM, &d));
    test_tls_write_file(path, &d);
    gnutls_free(d.data);
}

void test_tls_cert_issue(TestTLSCA *ca, const TestTLSCertSpec *spec,
                         const char *certpath, const char *keypath)
{
    gnutls_x509_privkey_t key;
    gnutls_x509_crt_t crt;
    gnutls_datum_t d;

    test_tls_key_new(&key);
    CHECK(gnutls_x509_crt_init(&crt));
    test_tls_crt_common(crt, key, spec->start_days, spec->expire_days);
    if (spec->country) {
        CHECK(gnutls_x509_crt_set_dn_by_oid(crt, GNUTLS_OID_X520_COUNTRY_NAME,
                                            0, spec->country,
                                            strlen(spec->country)));
    }
    if (spec->org) {
        CHECK(gnutls_x509_crt_set_dn_by_oid(crt,
                                            GNUTLS_OID_X520_ORGANIZATION_NAME,
                                            0, spec->org, strlen(spec->org)));
    }
    CHECK(gnutls_x509_crt_set_dn_by_oid(crt, GNUTLS_OID_X520_COMMON_NAME, 0,
                                        spec->cn, strlen(spec->cn)));
    if (spec->dns_name) {
        CHECK(gnutls_x509_crt_set_subject_alt_name(
            crt, GNUTLS_SAN_DNSNAME, spec->dns_name, strlen(spec->dns_name),
            GNUTLS_FSAN_APPEND));
    }
    if (spec->ip) {
        unsigned char ip[4];
        unsigned int a, b, c, e;

        g_assert(sscanf(spec->ip, "%u.%u.%u.%u", &a, &b, &c, &e) == 4);
        ip[0] = a;
        ip[1] = b;
        ip[2] = c;
        ip[3] = e;
        CHECK(gnutls_x509_crt_set_subject_alt_name(crt, GNUTLS_SAN_IPADDRESS,
                                                   ip, 4, GNUTLS_FSAN_APPEND));
    }
    CHECK(gnutls_x509_crt_set_basic_constraints(crt, 0, -1));
    CHECK(gnutls_x509_crt_set_key_usage(crt, GNUTLS_KEY_DIGITAL_SIGNATURE |
                                                 GNUTLS_KEY_KEY_ENCIPHERMENT));
    CHECK(gnutls_x509_crt_set_key_purpose_oid(
        crt, spec->server ? GNUTLS_KP_TLS_WWW_SERVER : GNUTLS_KP_TLS_WWW_CLIENT,
        0));
    CHECK(gnutls_x509_crt_sign2(crt, ca->crt, ca->key, GNUTLS_DIG_SHA256, 0));

    CHECK(gnutls_x509_crt_export2(crt, GNUTLS_X509_FMT_PEM, &d));
    test_tls_write_file(certpath, &d);
    gnutls_free(d.data);
    CHECK(gnutls_x509_privkey_export2(key, GNUTLS_X509_FMT_PEM, &d));
    test_tls_write_file(keypath, &d);
    gnutls_free(d.data);
    gnutls_x509_crt_deinit(crt);
    gnutls_x509_privkey_deinit(key);
}

void test_tls_psk_write(const char *dir, const char *user, const char *hexkey)
{
    char *path = g_build_filename(dir, "keys.psk", NULL);
    char *line;
    GError *gerr = NULL;

    if (hexkey) {
        line = g_strdup_printf("%s:%s\n", user, hexkey);
    } else {
        GString *s = g_string_new(user);

        g_string_append_c(s, ':');
        for (int i = 0; i < 32; i++) {
            g_string_append_printf(s, "%02x", g_random_int_range(0, 256));
        }
        g_string_append_c(s, '\n');
        line = g_string_free(s, FALSE);
    }
    g_file_set_contents(path, line, -1, &gerr);
    g_assert_no_error(gerr);
    g_free(line);
    g_free(path);
}

char *test_tls_dir_new(TestTLSCA *ca, const TestTLSDirOpts *opts)
{
    static const TestTLSDirOpts defaults;
    GError *gerr = NULL;
    char *dir = g_dir_make_tmp("tern-tls-XXXXXX", &gerr);
    char *p1, *p2;
    const char *scn;
    TestTLSCertSpec server = {
        .org = "Wire Test",
        .ip = "127.0.0.1",
        .server = true,
        .start_days = -1,
        .expire_days = 365,
    };
    TestTLSCertSpec client = {
        .country = "GB",
        .org = "Wire Test",
        .cn = "migration-client",
        .server = false,
        .start_days = -1,
        .expire_days = 365,
    };

    g_assert_no_error(gerr);
    if (!opts) {
        opts = &defaults;
    }
    scn = opts->server_cn ? opts->server_cn : "localhost";
    server.cn = scn;
    server.dns_name = scn;
    if (opts->server_expired) {
        server.start_days = -30;
        server.expire_days = -1;
    }
    if (opts->server_not_yet_active) {
        server.start_days = 10;
        server.expire_days = 30;
    }
    if (opts->client_expired) {
        client.start_days = -30;
        client.expire_days = -1;
    }

    p1 = g_build_filename(dir, "ca-cert.pem", NULL);
    test_tls_ca_write(ca, p1);
    g_free(p1);
    p1 = g_build_filename(dir, "server-cert.pem", NULL);
    p2 = g_build_filename(dir, "server-key.pem", NULL);
    test_tls_cert_issue(ca, &server, p1, p2);
    g_free(p1);
    g_free(p2);
    p1 = g_build_filename(dir, "client-cert.pem", NULL);
    p2 = g_build_filename(dir, "client-key.pem", NULL);
    test_tls_cert_issue(ca, &client, p1, p2);
    g_free(p1);
    g_free(p2);
    test_tls_psk_write(dir, "qemu", NULL);
    return dir;
}

void test_tls_dir_remove(const char *dir)
{
    GDir *d = g_dir_open(dir, 0, NULL);
    const char *name;

    if (!d) {
        return;
    }
    while ((name = g_dir_read_name(d))) {
        char *p = g_build_filename(dir, name, NULL);
        unlink(p);
        g_free(p);
    }
    g_dir_close(d);
    rmdir(dir);
}
