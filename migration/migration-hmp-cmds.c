/*
 * migration-hmp-cmds.c: the migration HMP commands; "info migrate" and
 * friends print QEMU 7.2's layout line for line (scripts parse it).
 *
 * "migrate URI" without -d keeps the monitor suspended until the
 * migration ends, showing a progress line every 250 ms (rewritten in
 * place with \r on a terminal, one line per update otherwise), then a
 * summary or "Error: <error-desc>".
 */
#include "qemu/osdep.h"
#include "qapi/error.h"
#include "monitor/monitor.h"
#include "migration/options.h"
#include "migration.h"

#define HMP_PROGRESS_MS 250

void migration_register_hmp_commands(void);

static uint64_t jget_u64(json_object *o, const char *key)
{
    json_object *v;

    if (!o || !json_object_object_get_ex(o, key, &v)) {
        return 0;
    }
    return json_object_get_uint64(v);
}

static bool jhas(json_object *o, const char *key)
{
    return o && json_object_object_get_ex(o, key, NULL);
}

static const char *jget_str(json_object *o, const char *key)
{
    json_object *v;

    if (!o || !json_object_object_get_ex(o, key, &v)) {
        return NULL;
    }
    return json_object_get_string(v);
}

static void hmp_info_migrate(Monitor *mon)
{
    json_object *info = migrate_query();
    json_object *ram = NULL;
    json_object *addrs;
    const char *status = jget_str(info, "status");

    monitor_printf(mon, "globals:\n");
    monitor_printf(mon, "store-global-state: on\n");
    monitor_printf(mon, "only-migratable: off\n");
    monitor_printf(mon, "send-configuration: on\n");
    monitor_printf(mon, "send-section-footer: on\n");
    monitor_printf(mon, "decompress-error-check: on\n");
    monitor_printf(mon, "clear-bitmap-shift: 18\n");

    if (status) {
        const char *desc = jget_str(info, "error-desc");

        if (!strcmp(status, "failed") && desc) {
            monitor_printf(mon, "Migration status: %s (%s)\n", status, desc);
        } else {
            monitor_printf(mon, "Migration status: %s\n", status);
        }
        monitor_printf(mon, "total time: %" PRIu64 " ms\n",
                       jget_u64(info, "total-time"));
        if (jhas(info, "expected-downtime")) {
            monitor_printf(mon, "expected downtime: %" PRIu64 " ms\n",
                           jget_u64(info, "expected-downtime"));
        }
        if (jhas(info, "downtime")) {
            monitor_printf(mon, "downtime: %" PRIu64 " ms\n",
                           jget_u64(info, "downtime"));
        }
        if (jhas(info, "setup-time")) {
            monitor_printf(mon, "setup: %" PRIu64 " ms\n",
                           jget_u64(info, "setup-time"));
        }
    }

    if (json_object_object_get_ex(info, "ram", &ram)) {
        json_object *mbps;

        json_object_object_get_ex(ram, "mbps", &mbps);
        monitor_printf(mon, "transferred ram: %" PRIu64 " kbytes\n",
                       jget_u64(ram, "transferred") >> 10);
        monitor_printf(mon, "throughput: %0.2f mbps\n",
                       json_object_get_double(mbps));
        monitor_printf(mon, "remaining ram: %" PRIu64 " kbytes\n",
                       jget_u64(ram, "remaining") >> 10);
        monitor_printf(mon, "total ram: %" PRIu64 " kbytes\n",
                       jget_u64(ram, "total") >> 10);
        monitor_printf(mon, "duplicate: %" PRIu64 " pages\n",
                       jget_u64(ram, "duplicate"));
        monitor_printf(mon, "skipped: %" PRIu64 " pages\n",
                       jget_u64(ram, "skipped"));
        monitor_printf(mon, "normal: %" PRIu64 " pages\n",
                       jget_u64(ram, "normal"));
        monitor_printf(mon, "normal bytes: %" PRIu64 " kbytes\n",
                       jget_u64(ram, "normal-bytes") >> 10);
        monitor_printf(mon, "dirty sync count: %" PRIu64 "\n",
                       jget_u64(ram, "dirty-sync-count"));
        monitor_printf(mon, "page size: %" PRIu64 " kbytes\n",
                       jget_u64(ram, "page-size") >> 10);
        monitor_printf(mon, "multifd bytes: %" PRIu64 " kbytes\n",
                       jget_u64(ram, "multifd-bytes") >> 10);
        monitor_printf(mon, "pages-per-second: %" PRIu64 "\n",
                       jget_u64(ram, "pages-per-second"));
        if (jget_u64(ram, "dirty-pages-rate")) {
            monitor_printf(mon, "dirty pages rate: %" PRIu64 " pages\n",
                           jget_u64(ram, "dirty-pages-rate"));
        }
        if (jget_u64(ram, "postcopy-requests")) {
            monitor_printf(mon, "postcopy request count: %" PRIu64 "\n",
                           jget_u64(ram, "postcopy-requests"));
        }
        if (jget_u64(ram, "precopy-bytes")) {
            monitor_printf(mon, "precopy ram: %" PRIu64 " kbytes\n",
                           jget_u64(ram, "precopy-bytes") >> 10);
        }
        if (jget_u64(ram, "downtime-bytes")) {
            monitor_printf(mon, "downtime ram: %" PRIu64 " kbytes\n",
                           jget_u64(ram, "downtime-bytes") >> 10);
        }
        if (jget_u64(ram, "postcopy-bytes")) {
            monitor_printf(mon, "postcopy ram: %" PRIu64 " kbytes\n",
                           jget_u64(ram, "postcopy-bytes") >> 10);
        }
    }
    if (jhas(info, "cpu-throttle-percentage")) {
        monitor_printf(mon, "cpu throttle percentage: %" PRIu64 "\n",
                       jget_u64(info, "cpu-throttle-percentage"));
    }
    if (json_object_object_get_ex(info, "socket-address", &addrs)) {
        monitor_printf(mon, "socket address: [\n");
        for (size_t i = 0; i < json_object_array_length(addrs); i++) {
            json_object *a = json_object_array_get_idx(addrs, i);
            const char *type = jget_str(a, "type");

            if (!strcmp(type, "inet")) {
                const char *host = jget_str(a, "host");

                if (strchr(host, ':')) {
                    monitor_printf(mon, "\ttcp:[%s]:%s\n", host,
                                   jget_str(a, "port"));
                } else {
                    monitor_printf(mon, "\ttcp:%s:%s\n", host,
                                   jget_str(a, "port"));
                }
            } else if (!strcmp(type, "unix")) {
                monitor_printf(mon, "\tunix:%s\n", jget_str(a, "path"));
            } else if (!strcmp(type, "vsock")) {
                monitor_printf(mon, "\tvsock:%s:%s\n", jget_str(a, "cid"),
                               jget_str(a, "port"));
            } else {
                monitor_printf(mon, "\tfd:%s\n", jget_str(a, "str"));
            }
        }
        monitor_printf(mon, "]\n");
    }
    json_object_put(info);
}

static void hmp_info_migrate_capabilities(Monitor *mon)
{
    char *s = migrate_capabilities_to_hmp();

    monitor_printf(mon, "%s", s);
    g_free(s);
}

static void hmp_info_migrate_parameters(Monitor *mon)
{
    char *s = migrate_parameters_to_hmp();

    monitor_printf(mon, "%s", s);
    g_free(s);
}

/* ---- migrate without -d: progress while the monitor is suspended ---- */

typedef struct HMPMigrationStatus {
    Monitor *mon;
    bool tty;
    bool printed; /* a progress line is on screen (tty) */
} HMPMigrationStatus;

static char *hmp_size(uint64_t bytes)
{
    if (bytes >= 10 * GiB) {
        return g_strdup_printf("%.1f GiB", (double)bytes / GiB);
    }
    if (bytes >= 10 * MiB) {
        return g_strdup_printf("%.1f MiB", (double)bytes / MiB);
    }
    return g_strdup_printf("%" PRIu64 " KiB", bytes >> 10);
}

static void hmp_migrate_progress(HMPMigrationStatus *st, json_object *info)
{
    json_object *ram = NULL, *mbps = NULL;
    uint64_t total, remaining, pct, dirty;
    char *rem, *dirty_s;

    if (!json_object_object_get_ex(info, "ram", &ram)) {
        return;
    }
    json_object_object_get_ex(ram, "mbps", &mbps);
    total = jget_u64(ram, "total");
    remaining = jget_u64(ram, "remaining");
    pct = total ? (total - MIN(remaining, total)) * 100 / total : 100;
    dirty = jget_u64(ram, "dirty-pages-rate") * jget_u64(ram, "page-size");
    rem = hmp_size(remaining);
    dirty_s = hmp_size(dirty);
    monitor_printf(st->mon,
                   "%s%3" PRIu64 "%% of RAM sent, %.1f mbps, "
                   "dirty %s/s, remaining %s, pass %" PRIu64
                   ", expected downtime %" PRIu64 " ms%s",
                   st->tty ? "\r" : "", pct,
                   mbps ? json_object_get_double(mbps) : 0.0, dirty_s, rem,
                   jget_u64(ram, "dirty-sync-count"),
                   jget_u64(info, "expected-downtime"), st->tty ? "   " : "\n");
    st->printed = st->tty;
    g_free(rem);
    g_free(dirty_s);
}

static gboolean hmp_migrate_status_cb(gpointer opaque)
{
    HMPMigrationStatus *st = opaque;
    json_object *info = migrate_query();
    const char *status = jget_str(info, "status");
    json_object *ram = NULL;

    if (status &&
        (!strcmp(status, "active") || !strcmp(status, "setup") ||
         !strcmp(status, "pre-switchover") || !strcmp(status, "device") ||
         !strcmp(status, "cancelling"))) {
        if (!strcmp(status, "active")) {
            hmp_migrate_progress(st, info);
        }
        json_object_put(info);
        return G_SOURCE_CONTINUE;
    }

    if (st->printed) {
        monitor_printf(st->mon, "\n");
    }
    if (status && !strcmp(status, "completed") &&
        json_object_object_get_ex(info, "ram", &ram)) {
        json_object *mbps = NULL;
        char *sent = hmp_size(jget_u64(ram, "transferred"));

        json_object_object_get_ex(ram, "mbps", &mbps);
        monitor_printf(st->mon,
                       "Migration completed in %" PRIu64 " ms: "
                       "%s sent, %.1f mbps, downtime %" PRIu64 " ms, "
                       "%" PRIu64 " passes\n",
                       jget_u64(info, "total-time"), sent,
                       mbps ? json_object_get_double(mbps) : 0.0,
                       jget_u64(info, "downtime"),
                       jget_u64(ram, "dirty-sync-count"));
        g_free(sent);
    } else if (status && !strcmp(status, "failed")) {
        const char *desc = jget_str(info, "error-desc");

        monitor_printf(st->mon, "Error: %s\n", desc ? desc : "unknown error");
    } else if (status && !strcmp(status, "cancelled")) {
        monitor_printf(st->mon, "Migration cancelled\n");
    }
    json_object_put(info);
    monitor_resume(st->mon);
    monitor_unref(st->mon);
    g_free(st);
    return G_SOURCE_REMOVE;
}

static void hmp_migrate(Monitor *mon, int argc, char **argv)
{
    bool detach = false, blk = false, inc = false, resume = false;
    const char *uri = NULL;
    Error *err = NULL;
    HMPMigrationStatus *st;

    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];

        if (a[0] == '-' && a[1] && !uri) {
            for (const char *c = a + 1; *c; c++) {
                switch (*c) {
                case 'd':
                    detach = true;
                    break;
                case 'b':
                    blk = true;
                    break;
                case 'i':
                    inc = true;
                    break;
                case 'r':
                    resume = true;
                    break;
                default:
                    monitor_printf(mon, "migrate: unsupported option -%c\n",
                                   *c);
                    monitor_printf(mon, "Try \"help migrate\" for more "
                                        "information\n");
                    return;
                }
            }
        } else if (!uri) {
            uri = a;
        } else {
            hmp_usage_error(mon, "extraneous characters at the "
                                 "end of line");
            return;
        }
    }
    if (!uri) {
        hmp_usage_error(mon, "string expected");
        return;
    }
    if (blk || inc) {
        error_setg(&err, "Block migration is not supported by Tern");
    } else if (resume) {
        error_setg(&err, "Postcopy recovery is not supported by Tern yet");
    } else {
        migrate_start(uri, &err);
    }
    if (err) {
        hmp_handle_error(mon, err);
        return;
    }
    if (detach) {
        return;
    }
    st = g_new0(HMPMigrationStatus, 1);
    st->mon = monitor_ref(mon);
    st->tty = monitor_is_tty(mon);
    monitor_suspend(mon);
    g_timeout_add(HMP_PROGRESS_MS, hmp_migrate_status_cb, st);
}

static void hmp_migrate_cancel(Monitor *mon, int argc, char **argv)
{
    migrate_cancel();
}

static void hmp_migrate_continue(Monitor *mon, int argc, char **argv)
{
    Error *err = NULL;
    MigrationStatus st;

    if (argc < 1) {
        hmp_usage_error(mon, "string expected");
        return;
    }
    if (!migration_status_parse(argv[0], &st)) {
        error_setg(&err, "invalid parameter value: %s", argv[0]);
        hmp_handle_error(mon, err);
        return;
    }
    if (!migrate_continue(argv[0], &err)) {
        hmp_handle_error(mon, err);
    }
}

static void hmp_migrate_incoming(Monitor *mon, int argc, char **argv)
{
    Error *err = NULL;

    if (argc < 1) {
        hmp_usage_error(mon, "string expected");
        return;
    }
    if (!migrate_incoming_qmp(argv[0], &err)) {
        hmp_handle_error(mon, err);
    }
}

static void hmp_migrate_set_capability(Monitor *mon, int argc, char **argv)
{
    Error *err = NULL;
    bool state;

    if (argc < 1) {
        hmp_usage_error(mon, "string expected");
        return;
    }
    if (argc < 2 || (strcmp(argv[1], "on") && strcmp(argv[1], "off"))) {
        monitor_printf(mon, "Expected 'on' or 'off'\n");
        monitor_printf(mon, "Try \"help migrate_set_capability\" for more "
                            "information\n");
        return;
    }
    state = !strcmp(argv[1], "on");
    if (!migrate_capability_set(argv[0], state, &err)) {
        hmp_handle_error(mon, err);
    }
}

static void hmp_migrate_set_parameter(Monitor *mon, int argc, char **argv)
{
    Error *err = NULL;

    if (argc < 2) {
        hmp_usage_error(mon, "string expected");
        return;
    }
    if (!migrate_parameter_set_str(argv[0], argv[1], &err)) {
        hmp_handle_error(mon, err);
    }
}

void migration_register_hmp_commands(void)
{
    hmp_register_command("migrate", "migrate [-d] [-b] [-i] [-r] uri",
                         "migrate to URI (using -d to not wait for "
                         "completion)",
                         hmp_migrate);
    hmp_register_command("migrate_cancel", "migrate_cancel",
                         "cancel the current VM migration", hmp_migrate_cancel);
    hmp_register_command("migrate_continue", "migrate_continue state",
                         "Continue migration from the given paused state",
                         hmp_migrate_continue);
    hmp_register_command("migrate_incoming", "migrate_incoming uri",
                         "Continue an incoming migration from an -incoming "
                         "defer",
                         hmp_migrate_incoming);
    hmp_register_command("migrate_set_capability",
                         "migrate_set_capability capability state",
                         "Enable/Disable the usage of a capability for "
                         "migration",
                         hmp_migrate_set_capability);
    hmp_register_command(
        "migrate_set_parameter", "migrate_set_parameter parameter value",
        "Set the parameter for migration", hmp_migrate_set_parameter);
    hmp_register_info("migrate", "show migration status", hmp_info_migrate);
    hmp_register_info("migrate_capabilities",
                      "show current migration capabilities",
                      hmp_info_migrate_capabilities);
    hmp_register_info("migrate_parameters", "show current migration parameters",
                      hmp_info_migrate_parameters);
}
