/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * secret.h: the "secret" object type (-object secret,id=ID,...), as
 * QEMU's: a value given inline (data=) or in a file (file=), raw or
 * base64 (format=), optionally AES-256-CBC encrypted with another
 * secret's 32-byte key (keyid=, iv= in base64).  libvirt passes its
 * master key this way and every other secret encrypted with it.
 */
#ifndef CRYPTO_SECRET_H
#define CRYPTO_SECRET_H

#include "qemu/osdep.h"
#include "qapi/error.h"

#define TYPE_QCRYPTO_SECRET "secret"

/*
 * The decoded (and decrypted) value of secret id: a new buffer of *len
 * bytes with a NUL after it (g_free).  Errors: "No secret with id 'ID'",
 * "Object with id 'ID' is not a secret".  Main thread, BQL.
 */
bool qcrypto_secret_lookup(const char *id, uint8_t **data, size_t *len,
                           Error **errp);
/* The same as a NUL-terminated string (no NUL may be inside). */
char *qcrypto_secret_lookup_as_utf8(const char *id, Error **errp);
void qcrypto_secret_register_types(void);

#endif /* CRYPTO_SECRET_H */
