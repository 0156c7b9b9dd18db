/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test-qmp-dispatch: QMP framing (json-c streaming tokener), request
 * validation, dispatch, id echo, error classes, argument helpers and
 * events, without sockets.
 */
#include "qemu/osdep.h"
#include "qapi/qmp/dispatch.h"

/* Collects what the stream parser produced: replies as QMP lines. */
typedef struct Sink {
    GPtrArray *lines; /* char *, one per parsed value */
    bool cap_mode;
} Sink;

static void sink_cb(void *opaque, json_object *obj, Error *err)
{
    Sink *s = opaque;
    json_object *resp = qmp_dispatch_full(obj, s->cap_mode, err);

    g_ptr_array_add(s->lines, qmp_json_to_string(resp));
    json_object_put(resp);
    json_object_put(obj);
    error_free(err);
}

static Sink *sink_new(void)
{
    Sink *s = g_new0(Sink, 1);

    s->lines = g_ptr_array_new_with_free_func(g_free);
    return s;
}

static void sink_free(Sink *s)
{
    g_ptr_array_free(s->lines, TRUE);
    g_free(s);
}

static const char *line(Sink *s, guint i)
{
    g_assert_cmpuint(i, <, s->lines->len);
    return g_ptr_array_index(s->lines, i);
}

static bool cmd_echo(json_object *args, json_object **ret, Error **errp)
{
    const char *text = "none";

    if (!qmp_arg_str(args, "text", false, &text, errp)) {
        return false;
    }
    *ret = json_object_new_string(text);
    return true;
}

static bool cmd_typed(json_object *args, json_object **ret, Error **errp)
{
    static const char *const known[] = {"n", "flag", NULL};
    int64_t n;
    bool flag = false;

    if (!qmp_args_check_known(args, known, errp) ||
        !qmp_arg_int(args, "n", true, &n, errp) ||
        !qmp_arg_bool(args, "flag", false, &flag, errp)) {
        return false;
    }
    *ret = json_object_new_int64(flag ? -n : n);
    return true;
}

static bool cmd_fail(json_object *args, json_object **ret, Error **errp)
{
    error_set(errp, ERROR_CLASS_DEVICE_NOT_FOUND, "Device 'x' not found");
    return false;
}

static void feed(JsonStreamParser *p, const char *s)
{
    json_stream_parser_feed(p, s, strlen(s));
}

static void test_partial_reads(void)
{
    Sink *s = sink_new();
    JsonStreamParser *p = json_stream_parser_new(sink_cb, s);
    const char *req = "{\"execute\": \"test-echo\", "
                      "\"arguments\": {\"text\": \"hi\"}, \"id\": 5}\n";

    /* One byte at a time: nothing until the closing brace. */
    for (const char *c = req; *c; c++) {
        json_stream_parser_feed(p, c, 1);
        g_assert_cmpuint(s->lines->len, ==, c - req >= 61 ? 1 : 0);
    }
    g_assert_cmpuint(s->lines->len, ==, 1);
    g_assert_cmpstr(line(s, 0), ==, "{\"return\": \"hi\", \"id\": 5}");
    json_stream_parser_free(p);
    sink_free(s);
}

static void test_two_in_one(void)
{
    Sink *s = sink_new();
    JsonStreamParser *p = json_stream_parser_new(sink_cb, s);

    feed(p, "{\"execute\":\"test-echo\",\"id\":1}{\"execute\":\"test-echo\","
            "\"arguments\":{\"text\":\"b\"},\"id\":2}\r\n");
    g_assert_cmpuint(s->lines->len, ==, 2);
    g_assert_cmpstr(line(s, 0), ==, "{\"return\": \"none\", \"id\": 1}");
    g_assert_cmpstr(line(s, 1), ==, "{\"return\": \"b\", \"id\": 2}");
    json_stream_parser_free(p);
    sink_free(s);
}

static void test_garbage_then_valid(void)
{
    Sink *s = sink_new();
    JsonStreamParser *p = json_stream_parser_new(sink_cb, s);

    feed(p, "garbage\n{\"execute\":\"test-echo\"}\n");
    g_assert_cmpuint(s->lines->len, ==, 2);
    g_assert_cmpstr(line(s, 0), ==,
                    "{\"error\": {\"class\": \"GenericError\", \"desc\": "
                    "\"JSON parse error, invalid keyword 'garbage'\"}}");
    g_assert_cmpstr(line(s, 1), ==, "{\"return\": \"none\"}");

    /* Garbage with no newline, the next request in a later read. */
    feed(p, "{\"execute\": ]");
    g_assert_cmpuint(s->lines->len, ==, 3);
    g_assert_cmpstr(line(s, 2), ==,
                    "{\"error\": {\"class\": \"GenericError\", \"desc\": "
                    "\"JSON parse error, expecting value\"}}");
    feed(p, "{\"execute\":\"test-echo\",\"id\":\"x\"}");
    g_assert_cmpuint(s->lines->len, ==, 4);
    g_assert_cmpstr(line(s, 3), ==, "{\"return\": \"none\", \"id\": \"x\"}");

    /* Non-object values are parsed and refused. */
    feed(p, "[1, 2]\n42\n\"str\"\n");
    g_assert_cmpuint(s->lines->len, ==, 7);
    for (guint i = 4; i < 7; i++) {
        g_assert_cmpstr(line(s, i), ==,
                        "{\"error\": {\"class\": \"GenericError\", \"desc\": "
                        "\"QMP input must be a JSON object\"}}");
    }
    json_stream_parser_free(p);
    sink_free(s);
}

/* A key twice in one object is refused, as QEMU does; nesting is honest. */
static void test_duplicate_key(void)
{
    static const char *const dups[] = {
        "{\"execute\":\"test-echo\",\"execute\":\"test-echo\"}\n",
        "{\"execute\":\"test-echo\",\"arguments\":{\"text\":\"a\","
        "\"text\":\"b\"}}\n",
        /* the same key spelt with an escape */
        "{\"execute\":\"test-echo\",\"\\u0065xecute\":\"x\"}\n",
        "{\"execute\":\"test-echo\",'execute':\"x\"}\n",
        "{\"execute\":\"test-echo\",\"arguments\":{\"text\":\"a\"},"
        "\"id\":[{\"k\":1,\"k\":2}]}\n",
    };
    Sink *s = sink_new();
    JsonStreamParser *p = json_stream_parser_new(sink_cb, s);
    guint i;

    for (i = 0; i < G_N_ELEMENTS(dups); i++) {
        /* whole, then split in two reads */
        feed(p, dups[i]);
        json_stream_parser_feed(p, dups[i], 9);
        feed(p, dups[i] + 9);
    }
    g_assert_cmpuint(s->lines->len, ==, 2 * G_N_ELEMENTS(dups));
    for (i = 0; i < s->lines->len; i++) {
        g_assert_cmpstr(line(s, i), ==,
                        "{\"error\": {\"class\": \"GenericError\", "
                        "\"desc\": \"JSON parse error, duplicate key\"}}");
    }

    /* The same key in sibling or nested objects is fine. */
    feed(p, "{\"execute\":\"test-echo\",\"id\":[{\"k\":1},{\"k\":2},"
            "{\"id\":{\"id\":\"]}[,\\\"\"}}],"
            "\"arguments\":{\"text\":\"ok\"}}\n");
    g_assert_cmpuint(s->lines->len, ==, i + 1);
    g_assert_cmpstr(line(s, i), ==,
                    "{\"return\": \"ok\", \"id\": [{\"k\": 1}, "
                    "{\"k\": 2}, {\"id\": {\"id\": \"]}[,\\\"\"}}]}");
    json_stream_parser_free(p);
    sink_free(s);
}

/*
 * Integers outside int64/uint64 become doubles (QEMU's parser does the
 * same, so "expects uint64" follows) instead of being clamped.
 */
static void test_big_integers(void)
{
    static const json_type want[] = {
        json_type_double, json_type_double, json_type_int,
        json_type_int,    json_type_string, json_type_double,
    };
    Sink *s = sink_new();
    JsonStreamParser *p = json_stream_parser_new(sink_cb, s);
    json_object *resp, *id;

    feed(p, "{\"execute\":\"test-echo\",\"id\":[18446744073709551616,"
            "-9223372036854775809,18446744073709551615,"
            "-9223372036854775808,\"1e99999999999999999999\","
            "1e300]}\n");
    g_assert_cmpuint(s->lines->len, ==, 1);
    resp = json_tokener_parse(line(s, 0));
    g_assert_nonnull(resp);
    g_assert_true(json_object_object_get_ex(resp, "id", &id));
    g_assert_cmpuint(json_object_array_length(id), ==, G_N_ELEMENTS(want));
    for (guint i = 0; i < G_N_ELEMENTS(want); i++) {
        json_object *v = json_object_array_get_idx(id, i);

        g_assert_cmpint(json_object_get_type(v), ==, want[i]);
    }
    g_assert_cmpuint(json_object_get_uint64(json_object_array_get_idx(id, 2)),
                     ==, UINT64_MAX);
    g_assert_cmpint(json_object_get_int64(json_object_array_get_idx(id, 3)), ==,
                    INT64_MIN);
    g_assert_cmpfloat(json_object_get_double(json_object_array_get_idx(id, 0)),
                      ==, 18446744073709551616.0);
    json_object_put(resp);
    json_stream_parser_free(p);
    sink_free(s);
}

static json_object *dispatch_str(const char *req, bool cap_mode)
{
    json_object *obj = json_tokener_parse(req);
    json_object *resp;

    g_assert_nonnull(obj);
    resp = qmp_dispatch_full(obj, cap_mode, NULL);
    json_object_put(obj);
    return resp;
}

/* The reply's error desc and class, asserting it is an error. */
static void assert_error(json_object *resp, const char *cls, const char *desc)
{
    json_object *err, *v;

    g_assert_true(json_object_object_get_ex(resp, "error", &err));
    g_assert_true(json_object_object_get_ex(err, "class", &v));
    g_assert_cmpstr(json_object_get_string(v), ==, cls);
    g_assert_true(json_object_object_get_ex(err, "desc", &v));
    g_assert_cmpstr(json_object_get_string(v), ==, desc);
    json_object_put(resp);
}

static void test_unknown_command(void)
{
    json_object *resp =
        dispatch_str("{\"execute\": \"nope\", \"id\": 7}", false);
    json_object *id;

    g_assert_true(json_object_object_get_ex(resp, "id", &id));
    g_assert_cmpint(json_object_get_int(id), ==, 7);
    assert_error(resp, "CommandNotFound",
                 "The command nope has not been found");

    assert_error(dispatch_str("{\"execute\": \"test-fail\"}", false),
                 "DeviceNotFound", "Device 'x' not found");
}

static void test_capabilities_mode(void)
{
    assert_error(dispatch_str("{\"execute\": \"test-echo\"}", true),
                 "CommandNotFound",
                 "Expecting capabilities negotiation with 'qmp_capabilities'");
    assert_error(dispatch_str("{\"execute\": \"qmp_capabilities\"}", false),
                 "CommandNotFound",
                 "Capabilities negotiation is already complete, command "
                 "ignored");
}

static void test_request_shape(void)
{
    assert_error(dispatch_str("{\"id\": 1}", false), "GenericError",
                 "QMP input lacks member 'execute'");
    assert_error(dispatch_str("{\"execute\": 1}", false), "GenericError",
                 "QMP input member 'execute' must be a string");
    assert_error(dispatch_str("{\"execute\": \"test-echo\", "
                              "\"arguments\": []}",
                              false),
                 "GenericError",
                 "QMP input member 'arguments' must be an object");
    assert_error(
        dispatch_str("{\"execute\": \"test-echo\", \"foo\": 1}", false),
        "GenericError", "QMP input member 'foo' is unexpected");
}

static void test_id_echo(void)
{
    json_object *resp = dispatch_str("{\"execute\": \"test-echo\", "
                                     "\"id\": {\"a\": [1, \"b\"]}}",
                                     false);
    char *s = qmp_json_to_string(resp);

    g_assert_cmpstr(s, ==,
                    "{\"return\": \"none\", \"id\": {\"a\": [1, \"b\"]}}");
    g_free(s);
    json_object_put(resp);
}

static void test_arg_helpers(void)
{
    json_object *resp;
    char *s;

    resp = dispatch_str("{\"execute\": \"test-typed\", \"arguments\": "
                        "{\"n\": 3, \"flag\": true}}",
                        false);
    s = qmp_json_to_string(resp);
    g_assert_cmpstr(s, ==, "{\"return\": -3}");
    g_free(s);
    json_object_put(resp);

    assert_error(dispatch_str("{\"execute\": \"test-typed\"}", false),
                 "GenericError", "Parameter 'n' is missing");
    assert_error(dispatch_str("{\"execute\": \"test-typed\", \"arguments\": "
                              "{\"n\": \"3\"}}",
                              false),
                 "GenericError",
                 "Invalid parameter type for 'n', expected: integer");
    assert_error(dispatch_str("{\"execute\": \"test-typed\", \"arguments\": "
                              "{\"n\": 3, \"flag\": 1}}",
                              false),
                 "GenericError",
                 "Invalid parameter type for 'flag', expected: boolean");
    assert_error(dispatch_str("{\"execute\": \"test-typed\", \"arguments\": "
                              "{\"n\": 3, \"x\": 1}}",
                              false),
                 "GenericError", "Parameter 'x' is unexpected");
    assert_error(dispatch_str("{\"execute\": \"test-echo\", \"arguments\": "
                              "{\"text\": 1}}",
                              false),
                 "GenericError",
                 "Invalid parameter type for 'text', expected: string");
}

static void test_command_list(void)
{
    size_t n;
    const char **names = qmp_command_list(&n);

    g_assert_cmpuint(n, ==, 3);
    g_assert_cmpstr(names[0], ==, "test-echo");
    g_assert_cmpstr(names[1], ==, "test-fail");
    g_assert_cmpstr(names[2], ==, "test-typed");
    g_assert_true(qmp_command_exists("test-echo"));
    g_assert_false(qmp_command_exists("nope"));
    g_free(names);
}

static GPtrArray *events_seen;

static void event_sink(json_object *ev)
{
    g_ptr_array_add(events_seen, qmp_json_to_string(ev));
}

static void test_events(void)
{
    json_object *data = json_object_new_object();
    const char *ev;

    events_seen = g_ptr_array_new_with_free_func(g_free);
    qapi_event_set_sink(event_sink);
    json_object_object_add(data, "status", json_object_new_string("setup"));
    qapi_event_send("MIGRATION", data);
    qapi_event_send("STOP", NULL);
    qapi_event_flush();
    g_assert_cmpuint(events_seen->len, ==, 2);
    ev = g_ptr_array_index(events_seen, 0);
    g_assert_true(g_str_has_prefix(ev, "{\"timestamp\": {\"seconds\": "));
    g_assert_true(strstr(ev, "\"microseconds\": ") != NULL);
    g_assert_true(g_str_has_suffix(ev, "\"event\": \"MIGRATION\", "
                                       "\"data\": {\"status\": \"setup\"}}"));
    ev = g_ptr_array_index(events_seen, 1);
    g_assert_true(g_str_has_suffix(ev, "\"event\": \"STOP\"}"));
    qapi_event_set_sink(NULL);
    g_ptr_array_free(events_seen, TRUE);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    qmp_register_command("test-echo", cmd_echo, 0);
    qmp_register_command("test-typed", cmd_typed, 0);
    qmp_register_command("test-fail", cmd_fail, 0);
    g_test_add_func("/qmp/framing/partial-reads", test_partial_reads);
    g_test_add_func("/qmp/framing/two-in-one-read", test_two_in_one);
    g_test_add_func("/qmp/framing/garbage-then-valid", test_garbage_then_valid);
    g_test_add_func("/qmp/framing/duplicate-key", test_duplicate_key);
    g_test_add_func("/qmp/framing/big-integers", test_big_integers);
    g_test_add_func("/qmp/dispatch/unknown-command", test_unknown_command);
    g_test_add_func("/qmp/dispatch/capabilities-mode", test_capabilities_mode);
    g_test_add_func("/qmp/dispatch/request-shape", test_request_shape);
    g_test_add_func("/qmp/dispatch/id-echo", test_id_echo);
    g_test_add_func("/qmp/dispatch/arg-helpers", test_arg_helpers);
    g_test_add_func("/qmp/dispatch/command-list", test_command_list);
    g_test_add_func("/qmp/events/queue-and-flush", test_events);
    return g_test_run();
}
