/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * json-stream.c: split a byte stream into JSON values with json-c's
 * streaming tokener (for QMP input).
 *
 * Recovery after a syntax error: report once, drop input up to the next
 * newline (dropped too) or '{' (kept), and parse again from there.  A
 * client that sends one request per line, as QMP clients do, loses only
 * the bad line.
 */
#include "qemu/osdep.h"
#include "qapi/qmp/dispatch.h"

/* Largest JSON value accepted (QEMU's QMP limit is also 64 MiB). */
#define JSON_STREAM_MAX_VALUE (64 << 20)

struct JsonStreamParser {
    struct json_tokener *tok;
    JsonStreamFunc *cb;
    void *opaque;
    bool resync;        /* dropping input after an error */
    bool in_value;      /* tokener holds part of a value */
    size_t value_bytes; /* bytes fed into the current value */
    GString *raw;       /* text of the current value (duplicate keys) */
};

JsonStreamParser *json_stream_parser_new(JsonStreamFunc *cb, void *opaque)
{
    JsonStreamParser *p = g_new0(JsonStreamParser, 1);

    p->tok = json_tokener_new();
    p->raw = g_string_new(NULL);
    /* QMP input is UTF-8; QEMU refuses anything else, and so do we. */
    json_tokener_set_flags(p->tok, JSON_TOKENER_VALIDATE_UTF8);
    p->cb = cb;
    p->opaque = opaque;
    return p;
}

bool json_stream_parser_busy(JsonStreamParser *p)
{
    return p->in_value;
}

void json_stream_parser_free(JsonStreamParser *p)
{
    if (p) {
        json_tokener_free(p->tok);
        g_string_free(p->raw, true);
        g_free(p);
    }
}

/* Bytes to drop from buf[0..len) to resynchronise; sets p->resync. */
static size_t json_stream_skip(JsonStreamParser *p, const char *buf, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        if (buf[i] == '\n') {
            p->resync = false;
            return i + 1;
        }
        if (buf[i] == '{') {
            p->resync = false;
            return i;
        }
    }
    p->resync = true;
    return len;
}

/*
 * The error for a syntax error at buf[pos], in QEMU's words where they
 * map: a bare word is "invalid keyword 'WORD'", a character where a
 * value should start is "expecting value"; else json-c's description.
 */
static void json_stream_error(Error **errp, enum json_tokener_error jerr,
                              const char *buf, size_t len, size_t pos)
{
    size_t start, end;

    if (jerr == json_tokener_error_parse_utf8_string) {
        error_setg(errp, "JSON parse error, invalid UTF-8 sequence in string");
        return;
    }
    if (pos < len && g_ascii_isalpha(buf[pos])) {
        end = pos;
    } else if (pos > 0 && pos <= len && g_ascii_isalpha(buf[pos - 1])) {
        end = pos - 1;
    } else if (jerr == json_tokener_error_parse_unexpected) {
        error_setg(errp, "JSON parse error, expecting value");
        return;
    } else {
        error_setg(errp, "JSON parse error, %s", json_tokener_error_desc(jerr));
        return;
    }
    start = end;
    while (start > 0 && g_ascii_isalpha(buf[start - 1])) {
        start--;
    }
    while (end < len && g_ascii_isalnum(buf[end])) {
        end++;
    }
    error_setg(errp, "JSON parse error, invalid keyword '%.*s'",
               (int)(end - start), buf + start);
}

/*
 * Does v hold a string with a NUL inside?  Commands read C strings, so
 * "a\u0000b" would silently become "a"; QEMU refuses it at parse time.
 */
static bool json_stream_has_nul(json_object *v)
{
    switch (json_object_get_type(v)) {
    case json_type_string:
        return strlen(json_object_get_string(v)) !=
               (size_t)json_object_get_string_len(v);
    case json_type_array:
        for (size_t i = 0; i < json_object_array_length(v); i++) {
            if (json_stream_has_nul(json_object_array_get_idx(v, i))) {
                return true;
            }
        }
        return false;
    case json_type_object: {
        json_object_object_foreach(v, key, val)
        {
            (void)key;
            if (json_stream_has_nul(val)) {
                return true;
            }
        }
        return false;
    }
    default:
        return false;
    }
}

/* A key's text (between its quotes) as the parsed string: escapes decoded. */
static char *json_stream_key(const char *s, size_t len)
{
    g_autofree char *quoted = NULL;
    json_object *o;
    char *key;

    if (!memchr(s, '\\', len)) {
        return g_strndup(s, len);
    }
    quoted = g_strdup_printf("\"%.*s\"", (int)len, s);
    o = json_tokener_parse(quoted);
    key = g_strdup(o ? json_object_get_string(o) : quoted);
    json_object_put(o);
    return key;
}

static void json_stream_keys_free(gpointer table)
{
    if (table) {
        g_hash_table_unref(table);
    }
}

/*
 * Does the text of a value json-c accepted repeat a key in one object?
 * json-c keeps the last; QEMU refuses the request, and so do we.  The
 * walk only tracks strings and nesting: the text is known to be valid.
 */
static bool json_stream_dup_key(const char *s, size_t len)
{
    /* per open object its keys, per open array NULL */
    g_autoptr(GPtrArray) keys =
        g_ptr_array_new_with_free_func(json_stream_keys_free);
    bool expect_key = false, dup = false;

    for (size_t i = 0; i < len && !dup; i++) {
        GHashTable *top = keys->len ? keys->pdata[keys->len - 1] : NULL;
        char q = s[i];
        size_t start;

        switch (q) {
        case '{':
            g_ptr_array_add(keys, g_hash_table_new_full(g_str_hash, g_str_equal,
                                                        g_free, NULL));
            expect_key = true;
            break;
        case '[':
            g_ptr_array_add(keys, NULL);
            expect_key = false;
            break;
        case '}':
        case ']':
            if (keys->len) {
                g_ptr_array_remove_index(keys, keys->len - 1);
            }
            expect_key = false;
            break;
        case ',':
            expect_key = top != NULL;
            break;
        case '"':
        case '\'':
            start = ++i;
            while (i < len && s[i] != q) {
                i += s[i] == '\\' ? 2 : 1;
            }
            if (expect_key && top) {
                char *key = json_stream_key(s + start, MIN(i, len) - start);

                dup = !g_hash_table_add(top, key);
                expect_key = false;
            }
            break;
        default:
            break;
        }
    }
    return dup;
}

/* Does the integer literal s[0..len) fit int64 (negative) or uint64? */
static bool json_stream_int_fits(const char *s, size_t len)
{
    g_autofree char *num = g_strndup(s, len);
    char *end;

    errno = 0;
    if (num[0] == '-') {
        (void)strtoll(num, &end, 10);
    } else {
        (void)strtoull(num, &end, 10);
    }
    return errno != ERANGE;
}

/*
 * json-c clamps an integer literal outside int64/uint64 to the nearest
 * bound (2^64 would become 2^64 - 1).  QEMU's parser makes it a double,
 * which commands then refuse ("expects uint64").  The value's text with
 * ".0" after each such literal, so json-c makes it a double too; NULL if
 * every integer fits.
 */
static GString *json_stream_fix_big_ints(const char *s, size_t len)
{
    GString *fixed = NULL;
    size_t i = 0, copied = 0;

    while (i < len) {
        size_t start = i;
        bool is_int = true;

        if (s[i] == '"' || s[i] == '\'') {
            char q = s[i++];

            while (i < len && s[i] != q) {
                i += s[i] == '\\' ? 2 : 1;
            }
            i++;
            continue;
        }
        if (s[i] != '-' && !g_ascii_isdigit(s[i])) {
            i++;
            continue;
        }
        while (i < len && (g_ascii_isdigit(s[i]) || strchr("+-.eE", s[i]))) {
            is_int &= g_ascii_isdigit(s[i]) || (i == start && s[i] == '-');
            i++;
        }
        if (is_int && !json_stream_int_fits(s + start, i - start)) {
            if (!fixed) {
                fixed = g_string_sized_new(len + 8);
            }
            g_string_append_len(fixed, s + copied, i - copied);
            g_string_append(fixed, ".0");
            copied = i;
        }
    }
    if (fixed) {
        g_string_append_len(fixed, s + copied, len - copied);
    }
    return fixed;
}

/* Parse a complete value's text again (after json_stream_fix_big_ints). */
static json_object *json_stream_reparse(GString *text)
{
    struct json_tokener *tok = json_tokener_new();
    json_object *obj;

    json_tokener_set_flags(tok, JSON_TOKENER_VALIDATE_UTF8);
    obj = json_tokener_parse_ex(tok, text->str, text->len);
    json_tokener_free(tok);
    return obj;
}

void json_stream_parser_feed(JsonStreamParser *p, const char *buf, size_t len)
{
    while (len > 0) {
        json_object *obj;
        enum json_tokener_error jerr;
        size_t used;

        if (p->resync) {
            used = json_stream_skip(p, buf, len);
            buf += used;
            len -= used;
            continue;
        }
        if (!p->in_value) {
            /* Skip blanks between values: they'd keep the tokener busy. */
            if (g_ascii_isspace(*buf)) {
                buf++;
                len--;
                continue;
            }
        }
        obj = json_tokener_parse_ex(p->tok, buf,
                                    len > INT_MAX ? INT_MAX : (int)len);
        jerr = json_tokener_get_error(p->tok);
        used = json_tokener_get_parse_end(p->tok);
        if (used > len) {
            used = len;
        }
        if (jerr == json_tokener_continue) {
            /* The tokener keeps what it saw; wait for more. */
            g_string_append_len(p->raw, buf, len);
            p->in_value = true;
            p->value_bytes += len;
            if (p->value_bytes > JSON_STREAM_MAX_VALUE) {
                Error *err = NULL;

                /* Don't let one endless value eat our memory. */
                json_tokener_reset(p->tok);
                g_string_truncate(p->raw, 0);
                p->in_value = false;
                p->value_bytes = 0;
                p->resync = true;
                error_setg(&err,
                           "JSON parse error, value larger than "
                           "%d MiB",
                           JSON_STREAM_MAX_VALUE >> 20);
                p->cb(p->opaque, NULL, err);
            }
            return;
        }
        p->in_value = false;
        p->value_bytes = 0;
        json_tokener_reset(p->tok);
        g_string_append_len(p->raw, buf, used);
        if (jerr != json_tokener_success) {
            g_string_truncate(p->raw, 0);
            Error *err = NULL;
            size_t skip;

            json_stream_error(&err, jerr, buf, len, used);
            /* Drop at least the offending byte. */
            if (used < len) {
                used++;
            }
            buf += used;
            len -= used;
            skip = json_stream_skip(p, buf, len);
            buf += skip;
            len -= skip;
            p->cb(p->opaque, NULL, err);
            continue;
        }
        buf += used;
        len -= used;
        if (obj && json_stream_dup_key(p->raw->str, p->raw->len)) {
            Error *err = NULL;

            g_string_truncate(p->raw, 0);
            json_object_put(obj);
            error_setg(&err, "JSON parse error, duplicate key");
            p->cb(p->opaque, NULL, err);
            continue;
        }
        if (obj) {
            g_autoptr(GString) fixed =
                json_stream_fix_big_ints(p->raw->str, p->raw->len);

            if (fixed) {
                json_object_put(obj);
                obj = json_stream_reparse(fixed);
            }
        }
        g_string_truncate(p->raw, 0);
        if (obj && json_stream_has_nul(obj)) {
            Error *err = NULL;

            json_object_put(obj);
            error_setg(&err, "JSON parse error, \\u0000 is not supported");
            p->cb(p->opaque, NULL, err);
            continue;
        }
        /* json-c yields NULL for the literal null: not an object either. */
        p->cb(p->opaque, obj, NULL);
    }
}
