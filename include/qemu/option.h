/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * option.h: "key=val,key=val" option strings, as QEMU's QemuOpts.
 *
 * Used by -object, -machine, -accel, -qmp, -monitor and by object-add over
 * QMP (whose JSON arguments are converted to strings).  A value may contain
 * a comma written twice (",,").  A first element without '=' is stored
 * under implied_key when one is given ("-object tls-creds-x509,id=x" has
 * qom-type=tls-creds-x509).  "key" alone (no '=') in later positions means
 * "key=on"; "nokey" is not special.  Keys keep their order; a repeated key
 * keeps the last value.
 */
#ifndef QEMU_OPTION_H
#define QEMU_OPTION_H

#include "qemu/osdep.h"
#include "qapi/error.h"

typedef struct QemuOpts QemuOpts;

QemuOpts *qemu_opts_new(void);
/*
 * Parse str.  Errors: empty key ("Invalid parameter ''"), bad syntax.
 * Returns a new QemuOpts (free with qemu_opts_free) or NULL.
 */
QemuOpts *qemu_opts_parse(const char *str, const char *implied_key,
                          Error **errp);
void qemu_opts_free(QemuOpts *opts);

/* Value of key or NULL (borrowed). */
const char *qemu_opt_get(QemuOpts *opts, const char *key);
bool qemu_opt_has(QemuOpts *opts, const char *key);
/* Set (or replace) key; both strings are copied. */
void qemu_opt_set(QemuOpts *opts, const char *key, const char *value);
/* Remove key if present. */
void qemu_opt_unset(QemuOpts *opts, const char *key);
/*
 * Typed getters.  Absent key -> def.  Malformed value -> def with errp set:
 * "Parameter 'KEY' expects 'on' or 'off'", "Parameter 'KEY' expects a
 * size" (k/M/G/T suffixes, powers of 1024), "Parameter 'KEY' expects a
 * number".  bool accepts on/off/yes/no/true/false.
 */
bool qemu_opt_get_bool(QemuOpts *opts, const char *key, bool def, Error **errp);
uint64_t qemu_opt_get_number(QemuOpts *opts, const char *key, uint64_t def,
                             Error **errp);
uint64_t qemu_opt_get_size(QemuOpts *opts, const char *key, uint64_t def,
                           Error **errp);
/* Number of key/value pairs; the i-th key and value (borrowed). */
size_t qemu_opts_count(QemuOpts *opts);
const char *qemu_opts_key(QemuOpts *opts, size_t i);
const char *qemu_opts_value(QemuOpts *opts, size_t i);
/*
 * Every key must be in the NULL-terminated list known; otherwise
 * "Invalid parameter 'KEY'".  Returns true if all are known.
 */
bool qemu_opts_check_known(QemuOpts *opts, const char *const *known,
                           Error **errp);
/* Back to "k=v,k=v" (commas doubled). Caller frees. */
char *qemu_opts_to_string(QemuOpts *opts);

#endif /* QEMU_OPTION_H */
