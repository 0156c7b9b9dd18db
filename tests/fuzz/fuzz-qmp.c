/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * fuzz-qmp.c: feed arbitrary bytes to the QMP input path (JSON stream
 * framing, dispatch, argument checking) and to the HMP line parser.
 *
 * The command table is harmless: qmp_capabilities, an argument-checking
 * "fuzz-echo", the migration parameter/capability setters and getters
 * (migration/options.c), and human-monitor-command running HMP lines
 * against "migrate_set_parameter", "migrate_set_capability" and "echo".
 * Any input must end in replies or errors, each one line of ASCII JSON;
 * crashes, hangs, leaks and sanitizer reports are bugs.
 *
 * Input layout: byte 0 selects the mode (bit 0: start in capabilities
 * negotiation; bit 1: the rest is HMP lines, one per '\n'); the rest is
 * the data.
 *
 * Entry points and plain run: fuzz-driver.h (the built-in inputs below
 * are seeds and regression shapes, each must get a reply; 5000
 * mutations by default).
 */
#include "qemu/osdep.h"
#include "qapi/qmp/dispatch.h"
#include "monitor/monitor.h"
#include "migration/options.h"
#include "../../migration/options-json.h"
#include "../../migration/migration.h"
#include "fuzz-driver.h"

/* ---- stubs for what options.c needs from migration.c ---- */

bool migration_is_running(void)
{
    return false;
}

void migration_parameters_changed(void)
{
}

/* ---- the command table ---- */

/* fuzz-echo {s: str, i?: int, b?: bool}: returns its arguments. */
static bool fuzz_qmp_echo(json_object *args, json_object **ret, Error **errp)
{
    static const char *const known[] = {"s", "i", "b", NULL};
    const char *s;
    int64_t i = 0;
    bool b = false;

    if (!qmp_args_check_known(args, known, errp) ||
        !qmp_arg_str(args, "s", true, &s, errp) ||
        !qmp_arg_int(args, "i", false, &i, errp) ||
        !qmp_arg_bool(args, "b", false, &b, errp)) {
        return false;
    }
    *ret = json_object_new_object();
    json_object_object_add(*ret, "s", json_object_new_string(s));
    json_object_object_add(*ret, "i", json_object_new_int64(i));
    json_object_object_add(*ret, "b", json_object_new_boolean(b));
    return true;
}

static bool fuzz_qmp_set_params(json_object *args, json_object **ret,
                                Error **errp)
{
    return migrate_parameters_set_json(args, errp);
}

static bool fuzz_qmp_set_caps(json_object *args, json_object **ret,
                              Error **errp)
{
    static const char *const known[] = {"capabilities", NULL};
    json_object *list = NULL;

    if (!qmp_args_check_known(args, known, errp)) {
        return false;
    }
    json_object_object_get_ex(args, "capabilities", &list);
    return migrate_capabilities_set_json(list, errp);
}

static bool fuzz_qmp_query_params(json_object *args, json_object **ret,
                                  Error **errp)
{
    *ret = migrate_parameters_to_json();
    return true;
}

static bool fuzz_qmp_query_caps(json_object *args, json_object **ret,
                                Error **errp)
{
    *ret = migrate_capabilities_to_json();
    return true;
}

static void fuzz_hmp_set_param(Monitor *mon, int argc, char **argv)
{
    Error *err = NULL;

    if (!migrate_parameter_set_str(argv[0], argv[1], &err)) {
        hmp_handle_error(mon, err);
    }
}

static void fuzz_hmp_set_cap(Monitor *mon, int argc, char **argv)
{
    Error *err = NULL;
    bool on = !strcmp(argv[1], "on");

    if (!on && strcmp(argv[1], "off")) {
        hmp_usage_error(mon, "Expected 'on' or 'off'");
        return;
    }
    if (!migrate_capability_set(argv[0], on, &err)) {
        hmp_handle_error(mon, err);
    }
}

static void fuzz_hmp_echo(Monitor *mon, int argc, char **argv)
{
    for (int i = 0; i < argc; i++) {
        monitor_printf(mon, "%s%s", i ? " " : "", argv[i]);
    }
    monitor_printf(mon, "\n");
}

static void fuzz_hmp_info_params(Monitor *mon)
{
    g_autofree char *s = migrate_parameters_to_hmp();

    monitor_printf(mon, "%s", s);
}

static void fuzz_setup(void)
{
    static bool done;
    void monitor_qmp_register_capabilities(void);

    if (done) {
        return;
    }
    done = true;
    monitor_qmp_register_capabilities();
    qapi_event_set_sink(NULL);
    qmp_register_command("fuzz-echo", fuzz_qmp_echo, 0);
    qmp_register_command("migrate-set-parameters", fuzz_qmp_set_params, 0);
    qmp_register_command("migrate-set-capabilities", fuzz_qmp_set_caps, 0);
    qmp_register_command("query-migrate-parameters", fuzz_qmp_query_params, 0);
    qmp_register_command("query-migrate-capabilities", fuzz_qmp_query_caps, 0);
    qmp_register_command("human-monitor-command", qmp_human_monitor_command, 0);
    hmp_register_command("migrate_set_parameter",
                         "migrate_set_parameter parameter value",
                         "Set the parameter for migration", fuzz_hmp_set_param);
    hmp_register_command(
        "migrate_set_capability", "migrate_set_capability capability state",
        "Enable/Disable the usage of a capability", fuzz_hmp_set_cap);
    hmp_register_command("echo", "echo [args...]", "print the arguments",
                         fuzz_hmp_echo);
    hmp_register_info("migrate_parameters", "show migration parameters",
                      fuzz_hmp_info_params);
}

/* ---- one input ---- */

typedef struct FuzzSession {
    bool negotiating;
    unsigned replies;
} FuzzSession;

static void fuzz_qmp_handle(void *opaque, json_object *req, Error *err)
{
    FuzzSession *s = opaque;
    json_object *resp = qmp_dispatch_full(req, s->negotiating, err);
    char *line;

    if (!resp) {
        fprintf(stderr, "fuzz-qmp: no reply\n");
        abort();
    }
    line = qmp_json_to_string(resp);
    if (!line || strchr(line, '\n')) {
        fprintf(stderr, "fuzz-qmp: reply not one line\n");
        abort();
    }
    /* QEMU's replies are ASCII whatever came in: non-ASCII is escaped */
    for (const char *c = line; *c; c++) {
        if ((unsigned char)*c >= 0x80) {
            fprintf(stderr, "fuzz-qmp: non-ASCII reply: %s\n", line);
            abort();
        }
    }
    /* qmp_capabilities succeeded: leave negotiation as the server does. */
    if (s->negotiating && json_object_object_get_ex(resp, "return", NULL)) {
        s->negotiating = false;
    }
    s->replies++;
    g_free(line);
    json_object_put(resp);
    json_object_put(req);
    error_free(err);
}

static unsigned fuzz_one(const uint8_t *data, size_t size)
{
    FuzzSession s = {0};

    fuzz_setup();
    migrate_options_reset();
    if (size == 0) {
        return 0;
    }
    s.negotiating = data[0] & 1;
    if (data[0] & 2) {
        /* HMP: NUL-free lines. */
        g_autofree char *text = g_strndup((const char *)data + 1, size - 1);
        g_auto(GStrv) lines = g_strsplit(text, "\n", -1);

        for (char **l = lines; *l; l++) {
            g_free(hmp_run_command_line(*l));
            s.replies++;
        }
    } else {
        JsonStreamParser *p = json_stream_parser_new(fuzz_qmp_handle, &s);
        size_t off = 1;

        /* Feed in uneven pieces, as reads from a socket arrive. */
        while (off < size) {
            size_t n = MIN(size - off, (size_t)(1 + data[off] % 61));

            json_stream_parser_feed(p, (const char *)data + off, n);
            off += n;
        }
        json_stream_parser_free(p);
    }
    return s.replies;
}

/* fuzz_one() for the driver: 0 when there was a reply. */
static int fuzz_one_input(const uint8_t *data, size_t size)
{
    return fuzz_one(data, size) ? 0 : 1;
}

/* Seeds and regression inputs: mode byte, then the data. */
static const char *const fuzz_corpus[] = {
    "\x01{\"execute\": \"qmp_capabilities\"}\n"
    "{\"execute\": \"fuzz-echo\", \"arguments\": {\"s\": \"x\", \"i\": 3}}\n",
    "\x00{\"execute\": \"migrate-set-parameters\", \"arguments\": "
    "{\"max-bandwidth\": 1000, \"downtime-limit\": 300, "
    "\"tls-creds\": null, \"multifd-compression\": \"zstd\"}, \"id\": 7}",
    "\x00{\"execute\": \"migrate-set-capabilities\", \"arguments\": "
    "{\"capabilities\": [{\"capability\": \"events\", \"state\": true}]}}"
    "{\"execute\": \"query-migrate-capabilities\"}"
    "{\"execute\": \"query-migrate-parameters\"}",
    "\x00{\"execute\": \"human-monitor-command\", \"arguments\": "
    "{\"command-line\": \"migrate_set_parameter max-bandwidth 1.5G\"}}",
    "\x02migrate_set_parameter downtime-limit 100\n"
    "migrate_set_capability events on\ninfo migrate_parameters\n"
    "echo \"a b\" 'c\\n' \\\" x\nhelp\ninfo\nhelp echo\n",
    /* regression shapes: framing and type confusion */
    "\x00[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["
    "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[",
    "\x00{\"execute\": 1}{\"execute\": \"fuzz-echo\", \"arguments\": []}"
    "{\"execute\": \"fuzz-echo\", \"arguments\": {\"s\": 1, \"i\": \"x\"}}"
    "null 1 \"s\" [] {} tru {\"id\": {\"a\": [1]}}\n",
    "\x00{\"execute\": \"fuzz-echo\", \"arguments\": {\"s\": \"\xff\xfe\xc3\"}}"
    "\n{\"execute\": \"fuzz-e\xc0\x80\"}\n",
    "\x00{\"execute\": \"migrate-set-parameters\", \"arguments\": "
    "{\"max-bandwidth\": -1, \"cpu-throttle-initial\": 18446744073709551615,"
    " \"multifd-channels\": 0, \"xbzrle-cache-size\": 1e400}}\n"
    "{\"execute\": \"migrate-set-capabilities\", \"arguments\": "
    "{\"capabilities\": [{\"capability\": 1}, {}, 3, "
    "{\"capability\": \"x\", \"state\": true, \"z\": 1}]}}",
    "\x02migrate_set_parameter max-bandwidth 99999999999999999999E\n"
    "migrate_set_parameter max-bandwidth 1.7976931348623157e308\n"
    "migrate_set_parameter xbzrle-cache-size 16E\n"
    "migrate_set_parameter cpu-throttle-initial -5\n"
    "echo \"unterminated\n echo '\n info nosuch\n%s%n%x\n",
};

static void fuzz_mutate(GRand *r, GByteArray *b)
{
    static const char *const tokens[] = {
        "{",
        "}",
        "[",
        "]",
        "\"",
        ",",
        ":",
        "\n",
        "\\u0000",
        "\\",
        "null",
        "true",
        "1e999",
        "-0",
        "18446744073709551616",
        "\"execute\"",
        "\"arguments\"",
        "\"id\"",
        "\xff",
        "\xc3",
    };
    int n = g_rand_int_range(r, 1, 5);

    while (n-- > 0 && b->len > 1) {
        guint pos = g_rand_int_range(r, 1, b->len);
        const char *t;

        switch (g_rand_int_range(r, 0, 5)) {
        case 0:
            b->data[pos] ^= 1 << g_rand_int_range(r, 0, 8);
            break;
        case 1:
            g_byte_array_set_size(b, pos);
            break;
        case 2:
            g_byte_array_remove_index(b, pos);
            break;
        case 3:
            t = tokens[g_rand_int_range(r, 0, G_N_ELEMENTS(tokens))];
            g_byte_array_append(b, (const uint8_t *)t, strlen(t));
            break;
        default:
            b->data[pos] = g_rand_int_range(r, 0, 256);
            break;
        }
    }
}

/* Built-in input i (the mode byte may be NUL: lengths by hand). */
static GByteArray *fuzz_seed(unsigned i)
{
    const char *c = fuzz_corpus[i];
    size_t len = c[0] ? strlen(c) : 1 + strlen(c + 1);
    GByteArray *b = g_byte_array_sized_new(len);

    g_byte_array_append(b, (const uint8_t *)c, len);
    return b;
}

const FuzzDriver fuzz_driver = {
    .name = "fuzz-qmp",
    .setup = fuzz_setup,
    .input = fuzz_one_input,
    .taken = "answered",
    .seed = fuzz_seed,
    .n_seeds = G_N_ELEMENTS(fuzz_corpus),
    .rand_seed = 0x9e37,
    .iterations = 5000,
    .mutate = fuzz_mutate,
    .quiet = true,
};
