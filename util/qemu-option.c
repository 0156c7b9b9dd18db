/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * qemu-option.c: "key=val,key=val" option strings (see qemu/option.h).
 *
 * The pairs live in an array in the order they were first set; setting a
 * key again replaces its value in place.
 */
#include "qemu/osdep.h"
#include "qemu/option.h"
#include "qemu/cutils.h"

typedef struct QemuOptPair {
    char *key;
    char *value;
} QemuOptPair;

struct QemuOpts {
    GArray *pairs; /* of QemuOptPair */
};

static void qemu_opt_pair_clear(gpointer p)
{
    QemuOptPair *pair = p;

    g_free(pair->key);
    g_free(pair->value);
}

QemuOpts *qemu_opts_new(void)
{
    QemuOpts *opts = g_new0(QemuOpts, 1);

    opts->pairs = g_array_new(FALSE, TRUE, sizeof(QemuOptPair));
    g_array_set_clear_func(opts->pairs, qemu_opt_pair_clear);
    return opts;
}

void qemu_opts_free(QemuOpts *opts)
{
    if (!opts) {
        return;
    }
    g_array_free(opts->pairs, TRUE);
    g_free(opts);
}

static QemuOptPair *qemu_opt_find(QemuOpts *opts, const char *key, guint *index)
{
    guint i;

    for (i = 0; i < opts->pairs->len; i++) {
        QemuOptPair *pair = &g_array_index(opts->pairs, QemuOptPair, i);

        if (!strcmp(pair->key, key)) {
            if (index) {
                *index = i;
            }
            return pair;
        }
    }
    return NULL;
}

const char *qemu_opt_get(QemuOpts *opts, const char *key)
{
    QemuOptPair *pair = qemu_opt_find(opts, key, NULL);

    return pair ? pair->value : NULL;
}

bool qemu_opt_has(QemuOpts *opts, const char *key)
{
    return qemu_opt_find(opts, key, NULL) != NULL;
}

void qemu_opt_set(QemuOpts *opts, const char *key, const char *value)
{
    QemuOptPair *pair = qemu_opt_find(opts, key, NULL);
    QemuOptPair fresh;

    if (pair) {
        char *copy = g_strdup(value); /* value may alias pair->value */

        g_free(pair->value);
        pair->value = copy;
        return;
    }
    fresh.key = g_strdup(key);
    fresh.value = g_strdup(value);
    g_array_append_val(opts->pairs, fresh);
}

void qemu_opt_unset(QemuOpts *opts, const char *key)
{
    guint index;

    if (qemu_opt_find(opts, key, &index)) {
        g_array_remove_index(opts->pairs, index);
    }
}

/*
 * Read a value from p up to a single ',' or the end; ",," stands for ','.
 * Returns the value (caller frees) and sets *next past the terminating
 * comma (or at the NUL).
 */
static char *qemu_opts_parse_value(const char *p, const char **next)
{
    GString *s = g_string_new(NULL);

    while (*p) {
        if (*p == ',') {
            if (p[1] == ',') {
                g_string_append_c(s, ',');
                p += 2;
                continue;
            }
            p++;
            break;
        }
        g_string_append_c(s, *p++);
    }
    *next = p;
    return g_string_free(s, FALSE);
}

QemuOpts *qemu_opts_parse(const char *str, const char *implied_key,
                          Error **errp)
{
    QemuOpts *opts = qemu_opts_new();
    const char *p = str ? str : "";
    bool first = true;

    while (*p) {
        size_t len = strcspn(p, "=,");
        char *key, *value;

        if (p[len] != '=' && first && implied_key) {
            /* "-object TYPE,..." : the whole element is a value */
            value = qemu_opts_parse_value(p, &p);
            qemu_opt_set(opts, implied_key, value);
            g_free(value);
            first = false;
            continue;
        }
        first = false;
        if (len == 0) {
            error_setg(errp, "Invalid parameter ''");
            goto fail;
        }
        key = g_strndup(p, len);
        p += len;
        if (*p == '=') {
            value = qemu_opts_parse_value(p + 1, &p);
        } else {
            /* "key" alone means key=on */
            value = g_strdup("on");
            if (*p == ',') {
                p++;
            }
        }
        qemu_opt_set(opts, key, value);
        g_free(key);
        g_free(value);
    }
    return opts;

fail:
    qemu_opts_free(opts);
    return NULL;
}

bool qemu_opt_get_bool(QemuOpts *opts, const char *key, bool def, Error **errp)
{
    const char *value = qemu_opt_get(opts, key);
    bool result;

    if (!value) {
        return def;
    }
    if (!qemu_parse_bool(value, &result)) {
        error_setg(errp, "Parameter '%s' expects 'on' or 'off'", key);
        return def;
    }
    return result;
}

uint64_t qemu_opt_get_number(QemuOpts *opts, const char *key, uint64_t def,
                             Error **errp)
{
    const char *value = qemu_opt_get(opts, key);
    uint64_t result;

    if (!value) {
        return def;
    }
    if (qemu_strtou64(value, NULL, 0, &result) < 0) {
        error_setg(errp, "Parameter '%s' expects a number", key);
        return def;
    }
    return result;
}

uint64_t qemu_opt_get_size(QemuOpts *opts, const char *key, uint64_t def,
                           Error **errp)
{
    const char *value = qemu_opt_get(opts, key);
    uint64_t result;
    int ret;

    if (!value) {
        return def;
    }
    ret = qemu_strtosz(value, NULL, &result);
    if (ret == -ERANGE) {
        error_setg(errp, "Value '%s' out of range for parameter '%s'", value,
                   key);
        return def;
    }
    if (ret < 0) {
        error_setg(errp, "Parameter '%s' expects a size", key);
        return def;
    }
    return result;
}

size_t qemu_opts_count(QemuOpts *opts)
{
    return opts->pairs->len;
}

const char *qemu_opts_key(QemuOpts *opts, size_t i)
{
    g_assert(i < opts->pairs->len);
    return g_array_index(opts->pairs, QemuOptPair, i).key;
}

const char *qemu_opts_value(QemuOpts *opts, size_t i)
{
    g_assert(i < opts->pairs->len);
    return g_array_index(opts->pairs, QemuOptPair, i).value;
}

bool qemu_opts_check_known(QemuOpts *opts, const char *const *known,
                           Error **errp)
{
    guint i;

    for (i = 0; i < opts->pairs->len; i++) {
        const char *key = g_array_index(opts->pairs, QemuOptPair, i).key;

        if (!known || !g_strv_contains((const gchar *const *)known, key)) {
            error_setg(errp, "Invalid parameter '%s'", key);
            return false;
        }
    }
    return true;
}

/* Append s with every ',' doubled. */
static void append_escaped(GString *out, const char *s)
{
    for (; *s; s++) {
        if (*s == ',') {
            g_string_append_c(out, ',');
        }
        g_string_append_c(out, *s);
    }
}

char *qemu_opts_to_string(QemuOpts *opts)
{
    GString *out = g_string_new(NULL);
    guint i;

    for (i = 0; i < opts->pairs->len; i++) {
        QemuOptPair *pair = &g_array_index(opts->pairs, QemuOptPair, i);

        if (i) {
            g_string_append_c(out, ',');
        }
        g_string_append(out, pair->key);
        g_string_append_c(out, '=');
        append_escaped(out, pair->value);
    }
    return g_string_free(out, FALSE);
}
