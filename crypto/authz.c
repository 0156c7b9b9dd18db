/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * authz.c: the authz-simple and authz-list object types (see
 * include/crypto/authz.h).
 */
#include "qemu/osdep.h"
#include <fnmatch.h>
#include "crypto/authz.h"
#include "tlscredspriv.h"

typedef enum {
    QAUTHZ_KIND_SIMPLE,
    QAUTHZ_KIND_LIST,
} QAuthZKind;

typedef struct QAuthZRule {
    char *match;
    bool allow;
    bool glob;
} QAuthZRule;

struct QAuthZ {
    Object parent; /* must be first */
    QAuthZKind kind;
    char *identity;     /* simple */
    bool default_allow; /* list */
    QAuthZRule *rules;  /* list; owned */
    size_t nrules;
};

static const char *const qauthz_simple_props[] = {"identity", NULL};
/* "policy" then rules.N.{match,policy,format}, filled at registration */
static const char *qauthz_list_props[1 + 3 * QAUTHZ_LIST_MAX_RULES + 1];

static const ObjectTypeInfo qauthz_simple_info;
static const ObjectTypeInfo qauthz_list_info;

static bool qauthz_simple_complete(Object *obj, QemuOpts *props, Error **errp)
{
    QAuthZ *authz = (QAuthZ *)obj;
    const char *identity = qemu_opt_get(props, "identity");

    authz->kind = QAUTHZ_KIND_SIMPLE;
    if (!identity) {
        error_setg(errp, "The 'identity' property must be set");
        return false;
    }
    authz->identity = g_strdup(identity);
    return true;
}

/* "allow"/"deny" -> *allow; otherwise QEMU's enum error naming key. */
static bool qauthz_parse_policy(const char *key, const char *value, bool *allow,
                                Error **errp)
{
    if (g_str_equal(value, "allow")) {
        *allow = true;
    } else if (g_str_equal(value, "deny")) {
        *allow = false;
    } else {
        error_setg(errp, "Parameter '%s' does not accept value '%s'", key,
                   value);
        return false;
    }
    return true;
}

static bool qauthz_list_complete(Object *obj, QemuOpts *props, Error **errp)
{
    QAuthZ *authz = (QAuthZ *)obj;
    const char *policy = qemu_opt_get(props, "policy");
    size_t n = 0;

    authz->kind = QAUTHZ_KIND_LIST;
    authz->default_allow = false;
    if (policy &&
        !qauthz_parse_policy("policy", policy, &authz->default_allow, errp)) {
        return false;
    }

    /* rules.N.* must be numbered from 0 without gaps */
    for (size_t i = 0; i < qemu_opts_count(props); i++) {
        const char *key = qemu_opts_key(props, i);
        unsigned long idx;
        char *end;

        if (!g_str_has_prefix(key, "rules.")) {
            continue;
        }
        idx = strtoul(key + 6, &end, 10);
        if (end != key + 6 && idx + 1 > n) {
            n = idx + 1;
        }
    }
    authz->rules = g_new0(QAuthZRule, n);
    authz->nrules = n;
    for (size_t i = 0; i < n; i++) {
        QAuthZRule *rule = &authz->rules[i];
        g_autofree char *kmatch = g_strdup_printf("rules.%zu.match", i);
        g_autofree char *kpolicy = g_strdup_printf("rules.%zu.policy", i);
        g_autofree char *kformat = g_strdup_printf("rules.%zu.format", i);
        const char *match = qemu_opt_get(props, kmatch);
        const char *rpolicy = qemu_opt_get(props, kpolicy);
        const char *format = qemu_opt_get(props, kformat);

        if (!match) {
            error_setg(errp, "Parameter '%s' is missing", kmatch);
            return false;
        }
        if (!rpolicy) {
            error_setg(errp, "Parameter '%s' is missing", kpolicy);
            return false;
        }
        if (!qauthz_parse_policy(kpolicy, rpolicy, &rule->allow, errp)) {
            return false;
        }
        if (format && g_str_equal(format, "glob")) {
            rule->glob = true;
        } else if (format && !g_str_equal(format, "exact")) {
            error_setg(errp, "Parameter '%s' does not accept value '%s'",
                       kformat, format);
            return false;
        }
        rule->match = g_strdup(match);
    }
    return true;
}

static void qauthz_finalize(Object *obj)
{
    QAuthZ *authz = (QAuthZ *)obj;

    g_free(authz->identity);
    for (size_t i = 0; i < authz->nrules; i++) {
        g_free(authz->rules[i].match);
    }
    g_free(authz->rules);
}

bool qauthz_is_allowed(QAuthZ *authz, const char *identity)
{
    if (authz->kind == QAUTHZ_KIND_SIMPLE) {
        return g_str_equal(authz->identity, identity);
    }
    for (size_t i = 0; i < authz->nrules; i++) {
        QAuthZRule *rule = &authz->rules[i];
        bool hit = rule->glob ? fnmatch(rule->match, identity, 0) == 0
                              : g_str_equal(rule->match, identity);
        if (hit) {
            return rule->allow;
        }
    }
    return authz->default_allow;
}

int qauthz_is_allowed_by_id(const char *authzid, const char *identity,
                            Error **errp)
{
    Object *obj = object_resolve_id(authzid);

    if (!obj) {
        error_setg(errp, "Cannot find QAuthZ object ID %s", authzid);
        return -1;
    }
    if (obj->type != &qauthz_simple_info && obj->type != &qauthz_list_info) {
        error_setg(errp, "Object '%s' is not a QAuthZ subclass", authzid);
        return -1;
    }
    return qauthz_is_allowed((QAuthZ *)obj, identity) ? 1 : 0;
}

static const ObjectTypeInfo qauthz_simple_info = {
    .name = TYPE_QAUTHZ_SIMPLE,
    .instance_size = sizeof(QAuthZ),
    .props = qauthz_simple_props,
    .complete = qauthz_simple_complete,
    .finalize = qauthz_finalize,
};

static const ObjectTypeInfo qauthz_list_info = {
    .name = TYPE_QAUTHZ_LIST,
    .instance_size = sizeof(QAuthZ),
    .props = qauthz_list_props,
    .complete = qauthz_list_complete,
    .finalize = qauthz_finalize,
};

void qauthz_register_types(void)
{
    static const char *const fields[] = {"match", "policy", "format"};
    size_t n = 0;

    qauthz_list_props[n++] = "policy";
    for (size_t i = 0; i < QAUTHZ_LIST_MAX_RULES; i++) {
        for (size_t j = 0; j < ARRAY_SIZE(fields); j++) {
            /* static for the process lifetime, like the type itself */
            qauthz_list_props[n++] =
                g_strdup_printf("rules.%zu.%s", i, fields[j]);
        }
    }
    qauthz_list_props[n] = NULL;
    object_type_register(&qauthz_simple_info);
    object_type_register(&qauthz_list_info);
}
