/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * tlscredsx509.c: sanity checks of the certificates a tls-creds-x509
 * object loads, so that mistakes are reported when the object is created
 * and name the file at fault.
 *
 * Checked, for the CA certificates: validity period, basic constraints
 * (must be a CA), key usage (certificate signing).  For our own
 * certificate: validity period, basic constraints (must not be a CA), key
 * usage (digital signature; key encipherment for RSA keys), key purpose
 * (TLS WWW server or client as the endpoint needs) and that it chains to
 * the CA.  A usage or purpose problem in a non-critical extension is only
 * a warning, as GnuTLS peers do not enforce those.
 */
#include "qemu/osdep.h"
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include "crypto/tlscreds.h"
#include "tlscredspriv.h"
#include "qemu/error-report.h"

/* Room for one key purpose OID (dotted text; real ones are ~20 chars). */
#define X509_OID_SIZE 256

/* What kind of certificate a check is looking at, for messages. */
typedef enum {
    CERT_ROLE_CA,
    CERT_ROLE_SERVER,
    CERT_ROLE_CLIENT,
} CertRole;

static const char *cert_role_name(CertRole role)
{
    switch (role) {
    case CERT_ROLE_CA:
        return "CA";
    case CERT_ROLE_SERVER:
        return "server";
    default:
        return "client";
    }
}

static bool x509_check_times(gnutls_x509_crt_t cert, const char *file,
                             CertRole role, Error **errp)
{
    time_t now = time(NULL);

    if (gnutls_x509_crt_get_expiration_time(cert) < now) {
        error_setg(errp, "The %s certificate %s has expired",
                   cert_role_name(role), file);
        return false;
    }
    if (gnutls_x509_crt_get_activation_time(cert) > now) {
        error_setg(errp, "The %s certificate %s is not yet active",
                   cert_role_name(role), file);
        return false;
    }
    return true;
}

static bool x509_check_basic_constraints(gnutls_x509_crt_t cert,
                                         const char *file, CertRole role,
                                         Error **errp)
{
    int status = gnutls_x509_crt_get_basic_constraints(cert, NULL, NULL, NULL);

    if (status > 0) {
        if (role != CERT_ROLE_CA) {
            error_setg(errp,
                       "The certificate %s basic constraints show a "
                       "CA, but we need one for a %s",
                       file, cert_role_name(role));
            return false;
        }
    } else if (status == 0 || status == GNUTLS_E_REQUESTED_DATA_NOT_AVAILABLE) {
        if (role == CERT_ROLE_CA) {
            error_setg(errp,
                       "The certificate %s basic constraints do not "
                       "show a CA",
                       file);
            return false;
        }
    } else {
        error_setg(errp,
                   "Unable to query certificate %s basic constraints: "
                   "%s",
                   file, gnutls_strerror(status));
        return false;
    }
    return true;
}

static bool x509_check_key_usage(gnutls_x509_crt_t cert, const char *file,
                                 CertRole role, Error **errp)
{
    unsigned int usage = 0;
    unsigned int critical = 0;
    int ret = gnutls_x509_crt_get_key_usage(cert, &usage, &critical);
    struct {
        unsigned int bit;
        const char *what;
        bool wanted;
    } need[] = {
        {GNUTLS_KEY_KEY_CERT_SIGN, "certificate signing", role == CERT_ROLE_CA},
        {GNUTLS_KEY_DIGITAL_SIGNATURE, "digital signature",
         role != CERT_ROLE_CA},
        {GNUTLS_KEY_KEY_ENCIPHERMENT, "key encipherment",
         role != CERT_ROLE_CA &&
             gnutls_x509_crt_get_pk_algorithm(cert, NULL) == GNUTLS_PK_RSA},
    };

    if (ret == GNUTLS_E_REQUESTED_DATA_NOT_AVAILABLE) {
        return true; /* no extension: any usage */
    }
    if (ret < 0) {
        error_setg(errp, "Unable to query certificate %s key usage: %s", file,
                   gnutls_strerror(ret));
        return false;
    }
    for (size_t i = 0; i < ARRAY_SIZE(need); i++) {
        if (!need[i].wanted || (usage & need[i].bit)) {
            continue;
        }
        if (critical) {
            error_setg(errp, "Certificate %s usage does not permit %s", file,
                       need[i].what);
            return false;
        }
        warn_report("Certificate %s usage does not permit %s", file,
                    need[i].what);
    }
    return true;
}

static bool x509_check_key_purpose(gnutls_x509_crt_t cert, const char *file,
                                   CertRole role, Error **errp)
{
    const char *want = role == CERT_ROLE_SERVER ? GNUTLS_KP_TLS_WWW_SERVER
                                                : GNUTLS_KP_TLS_WWW_CLIENT;
    bool any = false;
    bool found = false;
    unsigned int critical = 0;

    for (unsigned int i = 0;; i++) {
        char oid[X509_OID_SIZE];
        size_t size = sizeof(oid);
        unsigned int crit = 0;
        int ret =
            gnutls_x509_crt_get_key_purpose_oid(cert, i, oid, &size, &crit);
        if (ret == GNUTLS_E_REQUESTED_DATA_NOT_AVAILABLE) {
            break;
        }
        if (ret < 0) {
            error_setg(errp,
                       "Unable to query certificate %s key purpose: "
                       "%s",
                       file, gnutls_strerror(ret));
            return false;
        }
        any = true;
        critical |= crit;
        if (g_str_equal(oid, want) || g_str_equal(oid, GNUTLS_KP_ANY)) {
            found = true;
        }
    }
    if (!any || found) {
        return true;
    }
    if (critical) {
        error_setg(errp,
                   "Certificate %s purpose does not allow use with a "
                   "TLS %s",
                   file, cert_role_name(role));
        return false;
    }
    warn_report("Certificate %s purpose does not allow use with a TLS %s", file,
                cert_role_name(role));
    return true;
}

/* Read and import every certificate in a PEM file. */
static bool x509_import_list(const char *file, CertRole role,
                             gnutls_x509_crt_t **certs, unsigned int *n,
                             Error **errp)
{
    char *contents = NULL;
    gsize len;
    GError *gerr = NULL;
    gnutls_datum_t data;
    int ret;

    if (!g_file_get_contents(file, &contents, &len, &gerr)) {
        error_setg(errp, "Cannot load %s certificate %s: %s",
                   cert_role_name(role), file, gerr->message);
        g_error_free(gerr);
        return false;
    }
    data.data = (unsigned char *)contents;
    data.size = len;
    ret = gnutls_x509_crt_list_import2(certs, n, &data, GNUTLS_X509_FMT_PEM, 0);
    g_free(contents);
    if (ret < 0 || *n == 0) {
        if (role == CERT_ROLE_CA) {
            error_setg(errp, "Unable to import CA certificate list %s", file);
        } else {
            error_setg(errp, "Unable to import %s certificate %s",
                       cert_role_name(role), file);
        }
        return false;
    }
    return true;
}

static void x509_free_list(gnutls_x509_crt_t *certs, unsigned int n)
{
    for (unsigned int i = 0; i < n; i++) {
        gnutls_x509_crt_deinit(certs[i]);
    }
    gnutls_free(certs);
}

const char *qcrypto_tls_x509_status_reason(unsigned int status)
{
    if (status & GNUTLS_CERT_REVOKED) {
        return "The certificate has been revoked";
    }
    if (status & GNUTLS_CERT_SIGNER_NOT_FOUND) {
        return "The certificate hasn't got a known issuer";
    }
    if (status & GNUTLS_CERT_EXPIRED) {
        return "The certificate has expired";
    }
    if (status & GNUTLS_CERT_NOT_ACTIVATED) {
        return "The certificate is not yet activated";
    }
    if (status & GNUTLS_CERT_INSECURE_ALGORITHM) {
        return "The certificate uses an insecure algorithm";
    }
    return "The certificate is not trusted";
}

bool qcrypto_tls_creds_x509_sanity_check(QCryptoTLSCreds *creds,
                                         const char *cacert, const char *cert,
                                         Error **errp)
{
    CertRole role = creds->endpoint == QCRYPTO_TLS_CREDS_ENDPOINT_SERVER
                        ? CERT_ROLE_SERVER
                        : CERT_ROLE_CLIENT;
    gnutls_x509_crt_t *cas = NULL, *own = NULL;
    unsigned int ncas = 0, nown = 0;
    unsigned int status = 0;
    bool ok = false;
    int ret;

    if (!x509_import_list(cacert, CERT_ROLE_CA, &cas, &ncas, errp)) {
        return false;
    }
    for (unsigned int i = 0; i < ncas; i++) {
        if (!x509_check_times(cas[i], cacert, CERT_ROLE_CA, errp) ||
            !x509_check_basic_constraints(cas[i], cacert, CERT_ROLE_CA, errp) ||
            !x509_check_key_usage(cas[i], cacert, CERT_ROLE_CA, errp)) {
            goto out;
        }
    }
    if (!cert) {
        ok = true;
        goto out;
    }
    if (!x509_import_list(cert, role, &own, &nown, errp)) {
        goto out;
    }
    if (!x509_check_times(own[0], cert, role, errp) ||
        !x509_check_basic_constraints(own[0], cert, role, errp) ||
        !x509_check_key_usage(own[0], cert, role, errp) ||
        !x509_check_key_purpose(own[0], cert, role, errp)) {
        goto out;
    }
    ret =
        gnutls_x509_crt_list_verify(own, nown, cas, ncas, NULL, 0, 0, &status);
    if (ret < 0) {
        error_setg(errp, "Unable to verify certificate %s against %s: %s", cert,
                   cacert, gnutls_strerror(ret));
        goto out;
    }
    if (status) {
        error_setg(errp,
                   "Our own certificate %s failed validation against "
                   "%s: %s",
                   cert, cacert, qcrypto_tls_x509_status_reason(status));
        goto out;
    }
    ok = true;
out:
    x509_free_list(cas, ncas);
    if (own) {
        x509_free_list(own, nown);
    }
    return ok;
}
