/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * secret.c: the "secret" object type (see include/crypto/secret.h).
 * Decryption uses nettle's AES-256 in CBC mode with PKCS#7 padding, the
 * scheme libvirt encrypts with.
 */
#include "qemu/osdep.h"
#include <nettle/aes.h>
#include <nettle/cbc.h>
#include "crypto/secret.h"
#include "qom/object.h"

typedef struct QCryptoSecret {
    Object parent; /* must be first */
    uint8_t *data; /* decoded value + NUL */
    size_t len;
} QCryptoSecret;

static const char *const secret_props[] = {"data", "file",   "format", "keyid",
                                           "iv",   "loaded", NULL};

static const ObjectTypeInfo secret_info;

/* base64 text -> bytes; false with errp if it is not valid base64. */
static bool secret_base64(const char *what, const char *text, uint8_t **out,
                          size_t *len, Error **errp)
{
    for (const char *p = text; *p; p++) {
        if (!g_ascii_isalnum(*p) && *p != '+' && *p != '/' && *p != '=') {
            error_setg(errp, "%s: invalid base64 data", what);
            return false;
        }
    }
    *out = g_base64_decode(text, len);
    return true;
}

/* AES-256-CBC decrypt in place and drop the PKCS#7 padding. */
static bool secret_decrypt(QCryptoSecret *s, const char *keyid,
                           const char *iv_b64, Error **errp)
{
    struct CBC_CTX(struct aes256_ctx, AES_BLOCK_SIZE) ctx;
    g_autofree uint8_t *key = NULL, *iv = NULL;
    size_t keylen, ivlen;
    uint8_t pad;

    if (!qcrypto_secret_lookup(keyid, &key, &keylen, errp)) {
        return false;
    }
    if (keylen != AES256_KEY_SIZE) {
        error_setg(errp, "Master key '%s' has length %zu, expected %d", keyid,
                   keylen, AES256_KEY_SIZE);
        return false;
    }
    if (!iv_b64) {
        error_setg(errp, "IV is required to decrypt secret");
        return false;
    }
    if (!secret_base64("iv", iv_b64, &iv, &ivlen, errp)) {
        return false;
    }
    if (ivlen != AES_BLOCK_SIZE) {
        error_setg(errp, "IV has length %zu, expected %d", ivlen,
                   AES_BLOCK_SIZE);
        return false;
    }
    if (s->len == 0 || s->len % AES_BLOCK_SIZE) {
        error_setg(errp, "Encrypted secret is not a whole number of blocks");
        return false;
    }
    aes256_set_decrypt_key(&ctx.ctx, key);
    CBC_SET_IV(&ctx, iv);
    CBC_DECRYPT(&ctx, aes256_decrypt, s->len, s->data, s->data);
    pad = s->data[s->len - 1];
    if (pad == 0 || pad > AES_BLOCK_SIZE || pad > s->len) {
        error_setg(errp,
                   "Incorrect number of padding bytes (%d) found on "
                   "decrypted data",
                   pad);
        return false;
    }
    s->len -= pad;
    s->data[s->len] = 0;
    return true;
}

static bool secret_complete(Object *obj, QemuOpts *props, Error **errp)
{
    QCryptoSecret *s = (QCryptoSecret *)obj;
    const char *data = qemu_opt_get(props, "data");
    const char *file = qemu_opt_get(props, "file");
    const char *format = qemu_opt_get(props, "format");
    const char *keyid = qemu_opt_get(props, "keyid");
    g_autofree char *raw = NULL;
    gsize rawlen;
    GError *gerr = NULL;

    if (!data == !file) {
        error_setg(errp, data ? "'data' and 'file' are mutually exclusive"
                              : "Either 'data' or 'file' must be provided");
        return false;
    }
    if (format && strcmp(format, "raw") && strcmp(format, "base64")) {
        error_setg(errp, "Parameter 'format' does not accept value '%s'",
                   format);
        return false;
    }
    if (file) {
        if (!g_file_get_contents(file, &raw, &rawlen, &gerr)) {
            error_setg(errp, "Unable to read %s: %s", file, gerr->message);
            g_error_free(gerr);
            return false;
        }
    } else {
        raw = g_strdup(data);
        rawlen = strlen(data);
    }
    /* Encrypted data always travels as base64. */
    if ((format && !strcmp(format, "base64")) || keyid) {
        if (!secret_base64("secret", raw, &s->data, &s->len, errp)) {
            return false;
        }
        s->data = g_realloc(s->data, s->len + 1);
    } else {
        s->data = g_malloc(rawlen + 1);
        memcpy(s->data, raw, rawlen);
        s->len = rawlen;
    }
    s->data[s->len] = 0;
    if (keyid && !secret_decrypt(s, keyid, qemu_opt_get(props, "iv"), errp)) {
        return false;
    }
    return true;
}

static void secret_finalize(Object *obj)
{
    QCryptoSecret *s = (QCryptoSecret *)obj;

    if (s->data) {
        memset(s->data, 0, s->len);
    }
    g_free(s->data);
}

static const ObjectTypeInfo secret_info = {
    .name = TYPE_QCRYPTO_SECRET,
    .instance_size = sizeof(QCryptoSecret),
    .props = secret_props,
    .complete = secret_complete,
    .finalize = secret_finalize,
};

bool qcrypto_secret_lookup(const char *id, uint8_t **data, size_t *len,
                           Error **errp)
{
    Object *obj = object_resolve_id(id);
    QCryptoSecret *s;

    if (!obj) {
        error_setg(errp, "No secret with id '%s'", id);
        return false;
    }
    if (obj->type != &secret_info) {
        error_setg(errp, "Object with id '%s' is not a secret", id);
        return false;
    }
    s = (QCryptoSecret *)obj;
    *data = g_memdup2(s->data, s->len + 1);
    *len = s->len;
    return true;
}

char *qcrypto_secret_lookup_as_utf8(const char *id, Error **errp)
{
    uint8_t *data;
    size_t len;

    if (!qcrypto_secret_lookup(id, &data, &len, errp)) {
        return NULL;
    }
    if (memchr(data, 0, len)) {
        error_setg(errp, "Data from secret %s contains a NUL byte", id);
        g_free(data);
        return NULL;
    }
    return (char *)data;
}

void qcrypto_secret_register_types(void)
{
    object_type_register(&secret_info);
}
