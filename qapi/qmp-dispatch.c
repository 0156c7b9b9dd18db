/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * qmp-dispatch.c: the QMP command table, request validation and replies,
 * with QEMU's error texts, and the argument helpers.
 */
#include "qemu/osdep.h"
#include "qapi/qmp/dispatch.h"
#include "qemu/trace.h"

typedef struct QmpCommand {
    const char *name;
    QmpCommandFunc *fn;
    QmpCommandOptions options;
} QmpCommand;

/* name -> QmpCommand; filled at start-up on the main thread. */
static GHashTable *qmp_commands;

void qmp_register_command(const char *name, QmpCommandFunc *fn,
                          QmpCommandOptions options)
{
    QmpCommand *cmd = g_new0(QmpCommand, 1);

    if (!qmp_commands) {
        qmp_commands =
            g_hash_table_new_full(g_str_hash, g_str_equal, NULL, g_free);
    }
    cmd->name = name;
    cmd->fn = fn;
    cmd->options = options;
    g_hash_table_replace(qmp_commands, (gpointer)name, cmd);
}

static QmpCommand *qmp_find_command(const char *name)
{
    return qmp_commands ? g_hash_table_lookup(qmp_commands, name) : NULL;
}

bool qmp_command_exists(const char *name)
{
    return qmp_find_command(name) != NULL;
}

static int qmp_name_cmp(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

const char **qmp_command_list(size_t *n)
{
    guint len = 0;
    const char **names;

    if (qmp_commands) {
        names =
            (const char **)g_hash_table_get_keys_as_array(qmp_commands, &len);
    } else {
        names = g_new0(const char *, 1);
    }
    qsort(names, len, sizeof(*names), qmp_name_cmp);
    *n = len;
    return names;
}

json_object *qmp_error_response(const Error *err, json_object *id)
{
    json_object *resp = json_object_new_object();
    json_object *e = json_object_new_object();

    json_object_object_add(
        e, "class",
        json_object_new_string(error_class_name(error_get_class(err))));
    json_object_object_add(e, "desc",
                           json_object_new_string(error_get_pretty(err)));
    json_object_object_add(resp, "error", e);
    if (id) {
        json_object_object_add(resp, "id", json_object_get(id));
    }
    return resp;
}

/*
 * Check the shape of a request as QEMU does; returns the command name
 * (borrowed) and *args (borrowed, may be NULL) or NULL with errp set.
 */
static const char *qmp_check_request(json_object *req, json_object **args,
                                     Error **errp)
{
    const char *name = NULL;

    *args = NULL;
    if (!json_object_is_type(req, json_type_object)) {
        error_setg(errp, "QMP input must be a JSON object");
        return NULL;
    }
    json_object_object_foreach(req, key, val)
    {
        if (!strcmp(key, "execute")) {
            if (!json_object_is_type(val, json_type_string)) {
                error_setg(errp, "QMP input member 'execute' must be a string");
                return NULL;
            }
            name = json_object_get_string(val);
        } else if (!strcmp(key, "arguments")) {
            if (!json_object_is_type(val, json_type_object)) {
                error_setg(errp,
                           "QMP input member 'arguments' must be an object");
                return NULL;
            }
            *args = val;
        } else if (!strcmp(key, "id")) {
            continue;
        } else {
            error_setg(errp, "QMP input member '%s' is unexpected", key);
            return NULL;
        }
    }
    if (!name) {
        error_setg(errp, "QMP input lacks member 'execute'");
        return NULL;
    }
    return name;
}

json_object *qmp_dispatch_full(json_object *request, bool cap_negotiation,
                               const Error *parse_err)
{
    Error *err = NULL;
    json_object *id = NULL, *args, *ret = NULL, *resp;
    const char *name;
    QmpCommand *cmd;
    bool own_args = false;

    if (!request) {
        if (parse_err) {
            return qmp_error_response(parse_err, NULL);
        }
        error_setg(&err, "QMP input must be a JSON object");
        goto out_error;
    }
    if (json_object_is_type(request, json_type_object)) {
        json_object_object_get_ex(request, "id", &id);
    }
    name = qmp_check_request(request, &args, &err);
    if (!name) {
        goto out_error;
    }
    cmd = qmp_find_command(name);
    if (cap_negotiation && strcmp(name, "qmp_capabilities") != 0) {
        error_set(&err, ERROR_CLASS_COMMAND_NOT_FOUND,
                  "Expecting capabilities negotiation with "
                  "'qmp_capabilities'");
        goto out_error;
    }
    if (!cap_negotiation && !strcmp(name, "qmp_capabilities")) {
        error_set(&err, ERROR_CLASS_COMMAND_NOT_FOUND,
                  "Capabilities negotiation is already complete, command "
                  "ignored");
        goto out_error;
    }
    if (!cmd) {
        error_set(&err, ERROR_CLASS_COMMAND_NOT_FOUND,
                  "The command %s has not been found", name);
        goto out_error;
    }
    if (!args) {
        args = json_object_new_object();
        own_args = true;
    }
    TRACE("qmp_dispatch", "%s args %s", name,
          json_object_to_json_string_ext(args, JSON_C_TO_STRING_PLAIN));
    if (!cmd->fn(args, &ret, &err)) {
        if (!err) {
            error_setg(&err, "Command %s failed", name);
        }
        TRACE("qmp_dispatch_error", "%s: %s", name, error_get_pretty(err));
        json_object_put(ret);
        if (own_args) {
            json_object_put(args);
        }
        goto out_error;
    }
    if (own_args) {
        json_object_put(args);
    }
    TRACE("qmp_dispatch_done", "%s", name);
    resp = json_object_new_object();
    json_object_object_add(resp, "return",
                           ret ? ret : json_object_new_object());
    if (id) {
        json_object_object_add(resp, "id", json_object_get(id));
    }
    return resp;

out_error:
    resp = qmp_error_response(err, id);
    error_free(err);
    return resp;
}

json_object *qmp_dispatch(json_object *request)
{
    return qmp_dispatch_full(request, false, NULL);
}

/*
 * Look up member name of args into *v and check it is of json type
 * (named type_name in the error).  An absent member (JSON null counts
 * absent) gives *v = NULL: true if optional, false with errp set if
 * required; a member of another type: false with errp set.
 */
static bool qmp_arg_get(json_object *args, const char *name, bool required,
                        json_type type, const char *type_name, json_object **v,
                        Error **errp)
{
    *v = NULL;
    if (!args || !json_object_object_get_ex(args, name, v) || !*v) {
        *v = NULL;
        if (required) {
            error_setg(errp, "Parameter '%s' is missing", name);
            return false;
        }
        return true;
    }
    if (!json_object_is_type(*v, type)) {
        error_setg(errp, "Invalid parameter type for '%s', expected: %s", name,
                   type_name);
        return false;
    }
    return true;
}

bool qmp_arg_str(json_object *args, const char *name, bool required,
                 const char **out, Error **errp)
{
    json_object *v;

    if (!qmp_arg_get(args, name, required, json_type_string, "string", &v,
                     errp)) {
        return false;
    }
    if (v) {
        *out = json_object_get_string(v);
    }
    return true;
}

bool qmp_arg_int(json_object *args, const char *name, bool required,
                 int64_t *out, Error **errp)
{
    json_object *v;

    if (!qmp_arg_get(args, name, required, json_type_int, "integer", &v,
                     errp)) {
        return false;
    }
    if (v) {
        *out = json_object_get_int64(v);
    }
    return true;
}

bool qmp_arg_bool(json_object *args, const char *name, bool required, bool *out,
                  Error **errp)
{
    json_object *v;

    if (!qmp_arg_get(args, name, required, json_type_boolean, "boolean", &v,
                     errp)) {
        return false;
    }
    if (v) {
        *out = json_object_get_boolean(v);
    }
    return true;
}

bool qmp_args_check_known(json_object *args, const char *const *known,
                          Error **errp)
{
    if (!args) {
        return true;
    }
    json_object_object_foreach(args, key, val)
    {
        bool found = false;

        (void)val;
        for (size_t i = 0; known && known[i]; i++) {
            if (!strcmp(known[i], key)) {
                found = true;
                break;
            }
        }
        if (!found) {
            error_setg(errp, "Parameter '%s' is unexpected", key);
            return false;
        }
    }
    return true;
}

/*
 * A JSON string as QEMU writes it: ASCII printable characters as they
 * are, the usual short escapes, every other character as \uXXXX
 * (upper-case hex; a surrogate pair beyond the BMP); bytes that are not
 * UTF-8 as \uFFFD.  So the output is always valid (ASCII) JSON, whatever
 * bytes an error message or a file name carried.
 */
static void qmp_json_append_str(GString *out, const char *s, size_t len)
{
    const char *end = s + len;

    g_string_append_c(out, '"');
    while (s < end) {
        unsigned char c = *s;
        gunichar u;

        switch (c) {
        case '"':
            g_string_append(out, "\\\"");
            s++;
            continue;
        case '\\':
            g_string_append(out, "\\\\");
            s++;
            continue;
        case '\b':
            g_string_append(out, "\\b");
            s++;
            continue;
        case '\f':
            g_string_append(out, "\\f");
            s++;
            continue;
        case '\n':
            g_string_append(out, "\\n");
            s++;
            continue;
        case '\r':
            g_string_append(out, "\\r");
            s++;
            continue;
        case '\t':
            g_string_append(out, "\\t");
            s++;
            continue;
        default:
            break;
        }
        if (c >= 0x20 && c < 0x7f) {
            g_string_append_c(out, c);
            s++;
            continue;
        }
        u = g_utf8_get_char_validated(s, end - s);
        if (c < 0x80 || u == (gunichar)-1 || u == (gunichar)-2) {
            u = c < 0x80 ? c : 0xfffd;
            s++;
        } else {
            s = g_utf8_next_char(s);
        }
        if (u > 0xffff) {
            g_string_append_printf(out, "\\u%04X\\u%04X",
                                   0xd800 + ((u - 0x10000) >> 10),
                                   0xdc00 + ((u - 0x10000) & 0x3ff));
        } else {
            g_string_append_printf(out, "\\u%04X", u);
        }
    }
    g_string_append_c(out, '"');
}

static void qmp_json_append(GString *out, json_object *v)
{
    int flags = JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE;
    bool first = true;

    switch (json_object_get_type(v)) {
    case json_type_object:
        g_string_append_c(out, '{');
        json_object_object_foreach(v, key, val)
        {
            if (!first) {
                g_string_append(out, ", ");
            }
            first = false;
            qmp_json_append_str(out, key, strlen(key));
            g_string_append(out, ": ");
            qmp_json_append(out, val);
        }
        g_string_append_c(out, '}');
        break;
    case json_type_array:
        g_string_append_c(out, '[');
        for (size_t i = 0; i < json_object_array_length(v); i++) {
            if (i) {
                g_string_append(out, ", ");
            }
            qmp_json_append(out, json_object_array_get_idx(v, i));
        }
        g_string_append_c(out, ']');
        break;
    case json_type_string:
        qmp_json_append_str(out, json_object_get_string(v),
                            json_object_get_string_len(v));
        break;
    default:
        /* null, booleans, numbers */
        g_string_append(out, json_object_to_json_string_ext(v, flags));
        break;
    }
}

char *qmp_json_to_string(json_object *obj)
{
    GString *out = g_string_new(NULL);

    qmp_json_append(out, obj);
    return g_string_free(out, FALSE);
}
