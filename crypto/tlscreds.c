/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * tlscreds.c: the tls-creds-x509, tls-creds-psk and tls-creds-anon
 * object types (see include/crypto/tlscreds.h).
 *
 * Creation does every check it can, so that a bad directory is reported
 * at -object/object-add time naming the file, not later as a handshake
 * failure on the far side of a migration.
 */
#include "qemu/osdep.h"
#include <gnutls/x509.h>
#include "crypto/tlscreds.h"
#include "tlscredspriv.h"
#include "qemu/error-report.h"

static const char *const tls_creds_x509_props[] = {
    "dir",          "endpoint", "verify-peer", "priority",
    "sanity-check", "loaded",   NULL,
};
static const char *const tls_creds_psk_props[] = {
    "dir", "endpoint", "verify-peer", "priority", "username", "loaded", NULL,
};
static const char *const tls_creds_anon_props[] = {
    "dir", "endpoint", "verify-peer", "priority", "loaded", NULL,
};

static const ObjectTypeInfo tls_creds_x509_info;
static const ObjectTypeInfo tls_creds_psk_info;
static const ObjectTypeInfo tls_creds_anon_info;

/*
 * Path of file name in the creds' dir.  A required file must be readable
 * ("Unable to access credentials PATH: <errno>"); a missing optional one
 * gives *path = NULL.  Returns false with errp set on failure.
 */
static bool tls_creds_get_path(QCryptoTLSCreds *creds, const char *name,
                               bool required, char **path, Error **errp)
{
    char *p = g_build_filename(creds->dir, name, NULL);

    if (access(p, R_OK) < 0) {
        if (errno == ENOENT && !required) {
            g_free(p);
            *path = NULL;
            return true;
        }
        error_setg_errno(errp, errno, "Unable to access credentials %s", p);
        g_free(p);
        *path = NULL;
        return false;
    }
    *path = p;
    return true;
}

/* Optional dh-params.pem (servers); NULL dh_params if absent. */
static bool tls_creds_load_dh(QCryptoTLSCreds *creds, Error **errp)
{
    char *path = NULL;
    char *contents = NULL;
    gsize len;
    gnutls_datum_t data;
    GError *gerr = NULL;
    bool ok = false;
    int ret;

    if (!creds->dir) {
        return true;
    }
    if (!tls_creds_get_path(creds, QCRYPTO_TLS_CREDS_DH_PARAMS, false, &path,
                            errp)) {
        return false;
    }
    if (!path) {
        return true;
    }
    if (!g_file_get_contents(path, &contents, &len, &gerr)) {
        error_setg(errp, "Cannot load DH parameters from %s: %s", path,
                   gerr->message);
        g_error_free(gerr);
        goto out;
    }
    data.data = (unsigned char *)contents;
    data.size = len;
    gnutls_dh_params_init(&creds->dh_params);
    ret = gnutls_dh_params_import_pkcs3(creds->dh_params, &data,
                                        GNUTLS_X509_FMT_PEM);
    if (ret < 0) {
        error_setg(errp, "Unable to load DH parameters from %s: %s", path,
                   gnutls_strerror(ret));
        gnutls_dh_params_deinit(creds->dh_params);
        creds->dh_params = NULL;
        goto out;
    }
    ok = true;
out:
    g_free(contents);
    g_free(path);
    return ok;
}

/* Properties common to all three kinds. */
static bool tls_creds_parse_common(QCryptoTLSCreds *creds, QemuOpts *props,
                                   bool need_dir, const char *def_priority,
                                   Error **errp)
{
    Error *err = NULL;
    const char *endpoint = qemu_opt_get(props, "endpoint");
    const char *dir = qemu_opt_get(props, "dir");
    const char *priority = qemu_opt_get(props, "priority");

    creds->endpoint = QCRYPTO_TLS_CREDS_ENDPOINT_CLIENT;
    if (endpoint) {
        if (g_str_equal(endpoint, "server")) {
            creds->endpoint = QCRYPTO_TLS_CREDS_ENDPOINT_SERVER;
        } else if (!g_str_equal(endpoint, "client")) {
            error_setg(errp,
                       "Parameter 'endpoint' does not accept value "
                       "'%s'",
                       endpoint);
            return false;
        }
    }
    creds->verify_peer = qemu_opt_get_bool(props, "verify-peer", true, &err);
    if (err) {
        error_propagate(errp, err);
        return false;
    }
    if (qemu_opt_has(props, "loaded")) {
        qemu_opt_get_bool(props, "loaded", true, &err);
        if (err) {
            error_propagate(errp, err);
            return false;
        }
    }
    if (dir && *dir) {
        creds->dir = g_strdup(dir);
    } else if (need_dir) {
        error_setg(errp, "Missing 'dir' property value");
        return false;
    }
    if (priority) {
        creds->priority = g_strdup(priority);
        creds->user_priority = true;
    } else {
        creds->priority = g_strdup_printf("%s:%s", def_priority,
                                          QCRYPTO_TLS_PRIORITY_FAST_CIPHERS);
    }
    return true;
}

/* x509 ------------------------------------------------------------------ */

static bool tls_creds_x509_complete(Object *obj, QemuOpts *props, Error **errp)
{
    QCryptoTLSCreds *creds = (QCryptoTLSCreds *)obj;
    bool server;
    char *cacert = NULL, *cacrl = NULL, *cert = NULL, *key = NULL;
    Error *err = NULL;
    bool ok = false;
    int ret;

    creds->kind = QCRYPTO_TLS_CREDS_KIND_X509;
    if (!tls_creds_parse_common(creds, props, true, QCRYPTO_TLS_PRIORITY_X509,
                                errp)) {
        return false;
    }
    creds->sanity_check = qemu_opt_get_bool(props, "sanity-check", true, &err);
    if (err) {
        error_propagate(errp, err);
        return false;
    }
    server = creds->endpoint == QCRYPTO_TLS_CREDS_ENDPOINT_SERVER;

    if (!tls_creds_get_path(creds, QCRYPTO_TLS_CREDS_X509_CA_CERT, true,
                            &cacert, errp) ||
        !tls_creds_get_path(creds, QCRYPTO_TLS_CREDS_X509_CA_CRL, false, &cacrl,
                            errp)) {
        goto out;
    }
    if (server) {
        if (!tls_creds_get_path(creds, QCRYPTO_TLS_CREDS_X509_SERVER_CERT, true,
                                &cert, errp) ||
            !tls_creds_get_path(creds, QCRYPTO_TLS_CREDS_X509_SERVER_KEY, true,
                                &key, errp)) {
            goto out;
        }
    } else {
        /* A client certificate is optional: servers may not ask for one */
        if (!tls_creds_get_path(creds, QCRYPTO_TLS_CREDS_X509_CLIENT_CERT,
                                false, &cert, errp) ||
            !tls_creds_get_path(creds, QCRYPTO_TLS_CREDS_X509_CLIENT_KEY, false,
                                &key, errp)) {
            goto out;
        }
        if (!cert != !key) {
            /* half a pair: name the missing file */
            char *p =
                g_build_filename(creds->dir,
                                 cert ? QCRYPTO_TLS_CREDS_X509_CLIENT_KEY
                                      : QCRYPTO_TLS_CREDS_X509_CLIENT_CERT,
                                 NULL);
            error_setg_errno(errp, ENOENT, "Unable to access credentials %s",
                             p);
            g_free(p);
            goto out;
        }
    }

    if (creds->sanity_check &&
        !qcrypto_tls_creds_x509_sanity_check(creds, cacert, cert, errp)) {
        goto out;
    }

    ret = gnutls_certificate_allocate_credentials(&creds->x509);
    if (ret < 0) {
        error_setg(errp, "Cannot allocate credentials: %s",
                   gnutls_strerror(ret));
        goto out;
    }
    ret = gnutls_certificate_set_x509_trust_file(creds->x509, cacert,
                                                 GNUTLS_X509_FMT_PEM);
    if (ret < 0) {
        error_setg(errp, "Cannot load CA certificate '%s': %s", cacert,
                   gnutls_strerror(ret));
        goto out;
    }
    if (cert && key) {
        ret = gnutls_certificate_set_x509_key_file(creds->x509, cert, key,
                                                   GNUTLS_X509_FMT_PEM);
        if (ret < 0) {
            error_setg(errp, "Cannot load certificate '%s' & key '%s': %s",
                       cert, key, gnutls_strerror(ret));
            goto out;
        }
    }
    if (cacrl) {
        ret = gnutls_certificate_set_x509_crl_file(creds->x509, cacrl,
                                                   GNUTLS_X509_FMT_PEM);
        if (ret < 0) {
            error_setg(errp, "Cannot load CRL '%s': %s", cacrl,
                       gnutls_strerror(ret));
            goto out;
        }
    }
    if (server) {
        if (!tls_creds_load_dh(creds, errp)) {
            goto out;
        }
        if (creds->dh_params) {
            gnutls_certificate_set_dh_params(creds->x509, creds->dh_params);
        } else {
            gnutls_certificate_set_known_dh_params(creds->x509,
                                                   GNUTLS_SEC_PARAM_MEDIUM);
        }
    }
    ok = true;

out:
    g_free(cacert);
    g_free(cacrl);
    g_free(cert);
    g_free(key);
    return ok;
}

/* PSK ------------------------------------------------------------------- */

/*
 * Find username's key in the keys.psk file at path.  Returns the hex key
 * (caller frees) or NULL with errp set.
 */
static char *tls_creds_psk_find_key(const char *path, const char *username,
                                    Error **errp)
{
    char *contents = NULL;
    char **lines;
    char *key = NULL;
    GError *gerr = NULL;
    size_t ulen = strlen(username);

    if (!g_file_get_contents(path, &contents, NULL, &gerr)) {
        error_setg(errp, "Cannot read PSK file %s: %s", path, gerr->message);
        g_error_free(gerr);
        return NULL;
    }
    lines = g_strsplit(contents, "\n", -1);
    for (size_t i = 0; lines[i]; i++) {
        char *line = g_strchomp(lines[i]);
        if (strncmp(line, username, ulen) == 0 && line[ulen] == ':') {
            key = g_strdup(line + ulen + 1);
            break;
        }
    }
    g_strfreev(lines);
    g_free(contents);
    if (!key) {
        error_setg(errp, "Username %s not found in PSK file %s", username,
                   path);
    }
    return key;
}

static bool tls_creds_psk_complete(Object *obj, QemuOpts *props, Error **errp)
{
    QCryptoTLSCreds *creds = (QCryptoTLSCreds *)obj;
    const char *username = qemu_opt_get(props, "username");
    char *path = NULL;
    char *hexkey = NULL;
    gnutls_datum_t key;
    bool ok = false;
    int ret;

    creds->kind = QCRYPTO_TLS_CREDS_KIND_PSK;
    if (!tls_creds_parse_common(creds, props, true, QCRYPTO_TLS_PRIORITY_PSK,
                                errp)) {
        return false;
    }
    if (!tls_creds_get_path(creds, QCRYPTO_TLS_CREDS_PSKFILE, true, &path,
                            errp)) {
        return false;
    }

    if (creds->endpoint == QCRYPTO_TLS_CREDS_ENDPOINT_SERVER) {
        if (username) {
            error_setg(errp, "username should not be set when "
                             "endpoint=server");
            goto out;
        }
        ret = gnutls_psk_allocate_server_credentials(&creds->psk_server);
        if (ret < 0) {
            error_setg(errp, "Cannot allocate credentials: %s",
                       gnutls_strerror(ret));
            goto out;
        }
        ret = gnutls_psk_set_server_credentials_file(creds->psk_server, path);
        if (ret < 0) {
            error_setg(errp, "Cannot load PSK file %s: %s", path,
                       gnutls_strerror(ret));
            goto out;
        }
        if (!tls_creds_load_dh(creds, errp)) {
            goto out;
        }
        if (creds->dh_params) {
            gnutls_psk_set_server_dh_params(creds->psk_server,
                                            creds->dh_params);
        } else {
            gnutls_psk_set_server_known_dh_params(creds->psk_server,
                                                  GNUTLS_SEC_PARAM_MEDIUM);
        }
    } else {
        creds->username = g_strdup(
            username && *username ? username
                                  : QCRYPTO_TLS_CREDS_PSK_DEFAULT_USERNAME);
        hexkey = tls_creds_psk_find_key(path, creds->username, errp);
        if (!hexkey) {
            goto out;
        }
        ret = gnutls_psk_allocate_client_credentials(&creds->psk_client);
        if (ret < 0) {
            error_setg(errp, "Cannot allocate credentials: %s",
                       gnutls_strerror(ret));
            goto out;
        }
        key.data = (unsigned char *)hexkey;
        key.size = strlen(hexkey);
        ret = gnutls_psk_set_client_credentials(
            creds->psk_client, creds->username, &key, GNUTLS_PSK_KEY_HEX);
        if (ret < 0) {
            error_setg(errp, "Cannot set PSK client credentials from %s: %s",
                       path, gnutls_strerror(ret));
            goto out;
        }
    }
    ok = true;
out:
    if (hexkey) {
        memset(hexkey, 0, strlen(hexkey));
        g_free(hexkey);
    }
    g_free(path);
    return ok;
}

/* anon ------------------------------------------------------------------ */

static bool tls_creds_anon_complete(Object *obj, QemuOpts *props, Error **errp)
{
    QCryptoTLSCreds *creds = (QCryptoTLSCreds *)obj;
    int ret;

    creds->kind = QCRYPTO_TLS_CREDS_KIND_ANON;
    if (!tls_creds_parse_common(creds, props, false, QCRYPTO_TLS_PRIORITY_ANON,
                                errp)) {
        return false;
    }
    if (creds->endpoint == QCRYPTO_TLS_CREDS_ENDPOINT_SERVER) {
        ret = gnutls_anon_allocate_server_credentials(&creds->anon_server);
        if (ret < 0) {
            error_setg(errp, "Cannot allocate credentials: %s",
                       gnutls_strerror(ret));
            return false;
        }
        if (!tls_creds_load_dh(creds, errp)) {
            return false;
        }
        if (creds->dh_params) {
            gnutls_anon_set_server_dh_params(creds->anon_server,
                                             creds->dh_params);
        } else {
            gnutls_anon_set_server_known_dh_params(creds->anon_server,
                                                   GNUTLS_SEC_PARAM_MEDIUM);
        }
    } else {
        ret = gnutls_anon_allocate_client_credentials(&creds->anon_client);
        if (ret < 0) {
            error_setg(errp, "Cannot allocate credentials: %s",
                       gnutls_strerror(ret));
            return false;
        }
    }
    return true;
}

static void tls_creds_finalize(Object *obj)
{
    QCryptoTLSCreds *creds = (QCryptoTLSCreds *)obj;

    if (creds->x509) {
        gnutls_certificate_free_credentials(creds->x509);
    }
    if (creds->psk_client) {
        gnutls_psk_free_client_credentials(creds->psk_client);
    }
    if (creds->psk_server) {
        gnutls_psk_free_server_credentials(creds->psk_server);
    }
    if (creds->anon_client) {
        gnutls_anon_free_client_credentials(creds->anon_client);
    }
    if (creds->anon_server) {
        gnutls_anon_free_server_credentials(creds->anon_server);
    }
    if (creds->dh_params) {
        gnutls_dh_params_deinit(creds->dh_params);
    }
    g_free(creds->dir);
    g_free(creds->priority);
    g_free(creds->username);
}

static const ObjectTypeInfo tls_creds_x509_info = {
    .name = TYPE_QCRYPTO_TLS_CREDS_X509,
    .instance_size = sizeof(QCryptoTLSCreds),
    .props = tls_creds_x509_props,
    .complete = tls_creds_x509_complete,
    .finalize = tls_creds_finalize,
};

static const ObjectTypeInfo tls_creds_psk_info = {
    .name = TYPE_QCRYPTO_TLS_CREDS_PSK,
    .instance_size = sizeof(QCryptoTLSCreds),
    .props = tls_creds_psk_props,
    .complete = tls_creds_psk_complete,
    .finalize = tls_creds_finalize,
};

static const ObjectTypeInfo tls_creds_anon_info = {
    .name = TYPE_QCRYPTO_TLS_CREDS_ANON,
    .instance_size = sizeof(QCryptoTLSCreds),
    .props = tls_creds_anon_props,
    .complete = tls_creds_anon_complete,
    .finalize = tls_creds_finalize,
};

void qcrypto_tls_creds_register_types(void)
{
    object_type_register(&tls_creds_x509_info);
    object_type_register(&tls_creds_psk_info);
    object_type_register(&tls_creds_anon_info);
}

QCryptoTLSCreds *qcrypto_tls_creds_from_object(Object *obj, Error **errp)
{
    if (obj->type != &tls_creds_x509_info && obj->type != &tls_creds_psk_info &&
        obj->type != &tls_creds_anon_info) {
        error_setg(errp, "Object with id '%s' is not TLS credentials", obj->id);
        return NULL;
    }
    return (QCryptoTLSCreds *)obj;
}

QCryptoTLSCreds *qcrypto_tls_creds_lookup(const char *id, Error **errp)
{
    Object *obj = object_resolve_id(id);

    if (!obj) {
        error_setg(errp, "No TLS credentials with id '%s'", id);
        return NULL;
    }
    return qcrypto_tls_creds_from_object(obj, errp);
}

Object *qcrypto_tls_creds_object(QCryptoTLSCreds *creds)
{
    return &creds->parent;
}

bool qcrypto_tls_creds_check_endpoint(QCryptoTLSCreds *creds,
                                      QCryptoTLSCredsEndpoint endpoint,
                                      Error **errp)
{
    if (creds->endpoint != endpoint) {
        error_setg(errp, "Expected TLS credentials for a %s endpoint",
                   endpoint == QCRYPTO_TLS_CREDS_ENDPOINT_CLIENT ? "client"
                                                                 : "server");
        return false;
    }
    return true;
}

QCryptoTLSCredsEndpoint qcrypto_tls_creds_get_endpoint(QCryptoTLSCreds *c)
{
    return c->endpoint;
}

QCryptoTLSCredsKind qcrypto_tls_creds_get_kind(QCryptoTLSCreds *creds)
{
    return creds->kind;
}

bool qcrypto_tls_creds_get_verify_peer(QCryptoTLSCreds *creds)
{
    return creds->verify_peer;
}

const char *qcrypto_tls_creds_get_priority(QCryptoTLSCreds *creds)
{
    return creds->priority;
}
