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
};

JsonStreamParser *json_stream_parser_new(JsonStreamFunc *cb, void *opaque)
{
    JsonStreamParser *p = g_new0(JsonStreamParser, 1);

    p->tok = json_tokener_new();
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
            p->in_value = true;
            p->value_bytes += len;
            if (p->value_bytes > JSON_STREAM_MAX_VALUE) {
                Error *err = NULL;

                /* Don't let one endless value eat our memory. */
                json_tokener_reset(p->tok);
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
        if (jerr != json_tokener_success) {
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
