/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * migration-hmp-cmds.c: the migration HMP commands; "info migrate" and
 * friends print QEMU 7.2's layout line for line (scripts parse it).
 *
 * "migrate URI" without -d keeps the monitor suspended until the
 * migration ends, showing a progress line every 250 ms (rewritten in
 * place with \r on a terminal, one line per update otherwise), then a
 * summary or "Error: <error-desc>".  Ctrl-C meanwhile (stdio monitor)
 * cancels the migration instead of ending the process; the prompt comes
 * back with the guest still running here.
 */
#include "qemu/osdep.h"
#include "qapi/error.h"
#include "monitor/monitor.h"
#include "qemu/sockets.h"
#include "migration/blocker.h"
#include "migration/options.h"
#include "sysemu/runstate.h"
#include "migration.h"
#include "postcopy-recover.h"
#include "migration-info.h"

#define HMP_PROGRESS_MS 250
/* "info migrate" prints sizes in kbytes: bytes >> HMP_KB_SHIFT. */
#define HMP_KB_SHIFT 10
/* The progress line switches to MiB/GiB at 10 of them. */
#define HMP_SIZE_UNIT_MIN 10
#define HMP_PERCENT 100
/* QEMU 7.2's clear-bitmap-shift default, shown by "info migrate". */
#define HMP_CLEAR_BITMAP_SHIFT 18

void migration_register_hmp_commands(void);

/* The globals 7.2 prints first (Tern's fixed values). */
static void hmp_info_migrate_globals(Monitor *mon)
{
    monitor_printf(mon, "globals:\n");
    monitor_printf(mon, "store-global-state: on\n");
    monitor_printf(mon, "only-migratable: %s\n",
                   migrate_only_migratable() ? "on" : "off");
    monitor_printf(mon, "send-configuration: on\n");
    monitor_printf(mon, "send-section-footer: on\n");
    monitor_printf(mon, "decompress-error-check: on\n");
    monitor_printf(mon, "clear-bitmap-shift: %d\n", HMP_CLEAR_BITMAP_SHIFT);
}

/* Status and times (total time reads 0 when query-migrate has none). */
static void hmp_info_migrate_status(Monitor *mon, const MigrationInfo *info)
{
    const char *status = migration_status_name(info->status);

    /* Tern's precopy-paused says why too (x-precopy-recover) */
    if ((info->status == MIGRATION_STATUS_FAILED ||
         info->status == MIGRATION_STATUS_PRECOPY_PAUSED ||
         info->status == MIGRATION_STATUS_PRECOPY_RECOVER) &&
        info->error_desc) {
        monitor_printf(mon, "Migration status: %s (%s)\n", status,
                       info->error_desc);
    } else {
        monitor_printf(mon, "Migration status: %s\n", status);
    }
    monitor_printf(mon, "total time: %" PRIu64 " ms\n",
                   (uint64_t)info->total_time);
    if (info->has_expected_downtime) {
        monitor_printf(mon, "expected downtime: %" PRIu64 " ms\n",
                       (uint64_t)info->expected_downtime);
    }
    if (info->has_downtime) {
        monitor_printf(mon, "downtime: %" PRIu64 " ms\n",
                       (uint64_t)info->downtime);
    }
    if (info->has_setup_time) {
        monitor_printf(mon, "setup: %" PRIu64 " ms\n",
                       (uint64_t)info->setup_time);
    }
}

/* The RAM lines; the last five only when non-zero, as 7.2. */
static void hmp_info_migrate_ram(Monitor *mon, const MigrationRamInfo *ram)
{
    monitor_printf(mon, "transferred ram: %" PRIu64 " kbytes\n",
                   ram->transferred >> HMP_KB_SHIFT);
    monitor_printf(mon, "throughput: %0.2f mbps\n", ram->mbps);
    monitor_printf(mon, "remaining ram: %" PRIu64 " kbytes\n",
                   ram->remaining >> HMP_KB_SHIFT);
    monitor_printf(mon, "total ram: %" PRIu64 " kbytes\n",
                   ram->total >> HMP_KB_SHIFT);
    monitor_printf(mon, "duplicate: %" PRIu64 " pages\n", ram->duplicate);
    monitor_printf(mon, "skipped: %" PRIu64 " pages\n", ram->skipped);
    monitor_printf(mon, "normal: %" PRIu64 " pages\n", ram->normal);
    monitor_printf(mon, "normal bytes: %" PRIu64 " kbytes\n",
                   ram->normal_bytes >> HMP_KB_SHIFT);
    monitor_printf(mon, "dirty sync count: %" PRIu64 "\n",
                   ram->dirty_sync_count);
    monitor_printf(mon, "page size: %" PRIu64 " kbytes\n",
                   ram->page_size >> HMP_KB_SHIFT);
    monitor_printf(mon, "multifd bytes: %" PRIu64 " kbytes\n",
                   ram->multifd_bytes >> HMP_KB_SHIFT);
    monitor_printf(mon, "pages-per-second: %" PRIu64 "\n",
                   ram->pages_per_second);
    if (ram->dirty_pages_rate) {
        monitor_printf(mon, "dirty pages rate: %" PRIu64 " pages\n",
                       ram->dirty_pages_rate);
    }
    if (ram->postcopy_requests) {
        monitor_printf(mon, "postcopy request count: %" PRIu64 "\n",
                       ram->postcopy_requests);
    }
    if (ram->precopy_bytes) {
        monitor_printf(mon, "precopy ram: %" PRIu64 " kbytes\n",
                       ram->precopy_bytes >> HMP_KB_SHIFT);
    }
    if (ram->downtime_bytes) {
        monitor_printf(mon, "downtime ram: %" PRIu64 " kbytes\n",
                       ram->downtime_bytes >> HMP_KB_SHIFT);
    }
    if (ram->postcopy_bytes) {
        monitor_printf(mon, "postcopy ram: %" PRIu64 " kbytes\n",
                       ram->postcopy_bytes >> HMP_KB_SHIFT);
    }
}

/* The XBZRLE lines, as 7.2 prints them. */
static void hmp_info_migrate_xbzrle(Monitor *mon, const MigrationXbzrleInfo *x)
{
    monitor_printf(mon, "cache size: %" PRIu64 " bytes\n", x->cache_size);
    monitor_printf(mon, "xbzrle transferred: %" PRIu64 " kbytes\n",
                   x->bytes >> HMP_KB_SHIFT);
    monitor_printf(mon, "xbzrle pages: %" PRIu64 " pages\n", x->pages);
    monitor_printf(mon, "xbzrle cache miss: %" PRIu64 " pages\n",
                   x->cache_miss);
    monitor_printf(mon, "xbzrle cache miss rate: %0.2f\n", x->cache_miss_rate);
    monitor_printf(mon, "xbzrle encoding rate: %0.2f\n", x->encoding_rate);
    monitor_printf(mon, "xbzrle overflow: %" PRIu64 "\n", x->overflow);
}

/* The compress capability's lines, as 7.2 prints them. */
static void hmp_info_migrate_compression(Monitor *mon,
                                         const MigrationCompressionInfo *c)
{
    monitor_printf(mon, "compression pages: %" PRIu64 " pages\n", c->pages);
    monitor_printf(mon, "compression busy: %" PRIu64 "\n", c->busy);
    monitor_printf(mon, "compression busy rate: %0.2f\n", c->busy_rate);
    monitor_printf(mon, "compressed size: %" PRIu64 " kbytes\n",
                   c->compressed_size >> HMP_KB_SHIFT);
    monitor_printf(mon, "compression rate: %0.2f\n", c->compression_rate);
}

/* "\ttcp:HOST:PORT" ([HOST] for IPv6), unix:, vsock:, fd:. */
static void hmp_info_migrate_address(Monitor *mon, const SocketAddress *a)
{
    switch (a->type) {
    case SOCKET_ADDRESS_TYPE_INET:
        if (strchr(a->host, ':')) {
            monitor_printf(mon, "\ttcp:[%s]:%s\n", a->host, a->port);
        } else {
            monitor_printf(mon, "\ttcp:%s:%s\n", a->host, a->port);
        }
        break;
    case SOCKET_ADDRESS_TYPE_UNIX:
        monitor_printf(mon, "\tunix:%s\n", a->path);
        break;
    case SOCKET_ADDRESS_TYPE_VSOCK:
        monitor_printf(mon, "\tvsock:%s:%s\n", a->cid, a->port);
        break;
    default:
        monitor_printf(mon, "\tfd:%s\n", a->fd_name);
        break;
    }
}

/* The checkpoint lines of info migrate (Tern's own). */
static void hmp_info_migrate_checkpoint(Monitor *mon,
                                        const MigrationCheckpointInfo *c)
{
    if (c->has_source) {
        monitor_printf(
            mon,
            "checkpoint: %" PRIu64 " pages sent as hashes (%" PRIu64
            " moved), %" PRIu64 " kbytes saved, %" PRIu64
            " pages requested again, exchange %" PRIu64 " kbytes in %" PRId64
            " ms, %" PRIu64 " pages hashed ahead, %" PRIu64
            " sent before their hash, %" PRIu64 " sent whole (link %" PRIu64
            " MB/s, hashing %" PRIu64 " MB/s)\n",
            c->pages, c->moved_pages, c->bytes_saved >> 10, c->requested,
            c->offer_bytes >> 10, c->offer_time, c->hashed, c->unhashed,
            c->whole, c->link_speed / 1000000, c->hash_speed / 1000000);
    }
    if (c->has_destination) {
        monitor_printf(mon,
                       "checkpoint file: %s (%s, %" PRIu64
                       " pages indexed in %" PRId64 " ms), %" PRIu64
                       " pages loaded from it, %" PRIu64 " requested again\n",
                       c->file, c->index_status, c->indexed_pages,
                       c->index_time, c->loaded_pages, c->rerequested);
    }
}

/*
 * 7.2's blocktime lines; the vCPU list as QEMU's string visitor prints
 * a list of numbers: runs of consecutive values as "a-b", comma-separated.
 */
static void hmp_info_migrate_blocktime(Monitor *mon, const MigrationInfo *info)
{
    GString *s = g_string_new(NULL);

    monitor_printf(mon, "postcopy blocktime: %u\n", info->postcopy_blocktime);
    for (int i = 0; i < info->postcopy_vcpus;) {
        uint32_t a = info->postcopy_vcpu_blocktime[i];
        int j = i;

        while (j + 1 < info->postcopy_vcpus &&
               info->postcopy_vcpu_blocktime[j + 1] ==
                   info->postcopy_vcpu_blocktime[j] + 1) {
            j++;
        }
        g_string_append_printf(s, "%s%u", i ? "," : "", a);
        if (j > i) {
            g_string_append_printf(s, "-%u", info->postcopy_vcpu_blocktime[j]);
        }
        i = j + 1;
    }
    monitor_printf(mon, "postcopy vcpu blocktime: %s\n", s->str);
    g_string_free(s, true);
}

static void hmp_info_migrate(Monitor *mon)
{
    MigrationInfo info;

    migration_info_get(&info);
    hmp_info_migrate_globals(mon);
    if (info.blocked_reasons) {
        monitor_printf(mon, "Outgoing migration blocked:\n");
        for (char **r = info.blocked_reasons; *r; r++) {
            monitor_printf(mon, "  %s\n", *r);
        }
    }
    if (info.has_status) {
        hmp_info_migrate_status(mon, &info);
    }
    if (info.has_ram) {
        hmp_info_migrate_ram(mon, &info.ram);
    }
    if (info.has_xbzrle_cache) {
        hmp_info_migrate_xbzrle(mon, &info.xbzrle_cache);
    }
    if (info.has_compression) {
        hmp_info_migrate_compression(mon, &info.compression);
    }
    if (info.has_cpu_throttle_percentage) {
        monitor_printf(mon, "cpu throttle percentage: %" PRIu64 "\n",
                       (uint64_t)info.cpu_throttle_percentage);
    }
    if (info.has_checkpoint) {
        hmp_info_migrate_checkpoint(mon, &info.checkpoint);
    }
    if (info.has_postcopy_blocktime) {
        hmp_info_migrate_blocktime(mon, &info);
    }
    if (info.socket_addresses) {
        monitor_printf(mon, "socket address: [\n");
        for (guint i = 0; i < info.socket_addresses->len; i++) {
            hmp_info_migrate_address(
                mon, g_ptr_array_index(info.socket_addresses, i));
        }
        monitor_printf(mon, "]\n");
    }
    migration_info_clear(&info);
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
    bool printed;     /* a progress line is on screen (tty) */
    bool interrupted; /* Ctrl-C asked for a cancel */
} HMPMigrationStatus;

static char *hmp_size(uint64_t bytes)
{
    if (bytes >= HMP_SIZE_UNIT_MIN * GiB) {
        return g_strdup_printf("%.1f GiB", (double)bytes / GiB);
    }
    if (bytes >= HMP_SIZE_UNIT_MIN * MiB) {
        return g_strdup_printf("%.1f MiB", (double)bytes / MiB);
    }
    return g_strdup_printf("%" PRIu64 " KiB", bytes >> HMP_KB_SHIFT);
}

static void hmp_migrate_progress(HMPMigrationStatus *st,
                                 const MigrationInfo *info)
{
    const MigrationRamInfo *ram = &info->ram;
    uint64_t total = ram->total, remaining = ram->remaining, pct;
    char *rem, *dirty_s;

    if (!info->has_ram) {
        return;
    }
    pct = total ? (total - MIN(remaining, total)) * HMP_PERCENT / total
                : HMP_PERCENT;
    rem = hmp_size(remaining);
    dirty_s = hmp_size(ram->dirty_pages_rate * ram->page_size);
    monitor_printf(st->mon,
                   "%s%3" PRIu64 "%% of RAM sent, %.1f mbps, "
                   "dirty %s/s, remaining %s, pass %" PRIu64
                   ", expected downtime %" PRIu64 " ms%s",
                   st->tty ? "\r" : "", pct, ram->mbps, dirty_s, rem,
                   ram->dirty_sync_count, (uint64_t)info->expected_downtime,
                   st->tty ? "   " : "\n");
    st->printed = st->tty;
    g_free(rem);
    g_free(dirty_s);
}

/* Still going: the statuses "migrate" without -d keeps waiting in. */
static bool hmp_migrate_status_waits(MigrationStatus status)
{
    switch (status) {
    case MIGRATION_STATUS_ACTIVE:
    case MIGRATION_STATUS_SETUP:
    case MIGRATION_STATUS_PRE_SWITCHOVER:
    case MIGRATION_STATUS_DEVICE:
    case MIGRATION_STATUS_CANCELLING:
        return true;
    default:
        return false;
    }
}

/* The line "migrate" prints when the migration has ended. */
static void hmp_migrate_summary(HMPMigrationStatus *st,
                                const MigrationInfo *info)
{
    if (info->status == MIGRATION_STATUS_COMPLETED && info->has_ram) {
        char *sent = hmp_size(info->ram.transferred);

        monitor_printf(st->mon,
                       "Migration completed in %" PRIu64 " ms: "
                       "%s sent, %.1f mbps, downtime %" PRIu64 " ms, "
                       "%" PRIu64 " passes\n",
                       (uint64_t)info->total_time, sent, info->ram.mbps,
                       (uint64_t)info->downtime, info->ram.dirty_sync_count);
        g_free(sent);
    } else if (info->status == MIGRATION_STATUS_FAILED) {
        monitor_printf(st->mon, "Error: %s\n",
                       info->error_desc ? info->error_desc : "unknown error");
    } else if (info->status == MIGRATION_STATUS_CANCELLED && st->interrupted) {
        monitor_printf(st->mon,
                       "Migration cancelled by Ctrl-C; the guest "
                       "is %s here\n",
                       runstate_is_running() ? "running" : "paused");
    } else if (info->status == MIGRATION_STATUS_CANCELLED) {
        monitor_printf(st->mon, "Migration cancelled\n");
    }
}

/* Ctrl-C on the stdio monitor while "migrate" waits: cancel it. */
static void hmp_migrate_interrupt(void *opaque)
{
    HMPMigrationStatus *st = opaque;

    if (!st->interrupted) {
        monitor_printf(st->mon,
                       "%sCtrl-C: cancelling the migration (the guest "
                       "keeps running here)\n",
                       st->printed ? "\n" : "");
        st->printed = false;
        st->interrupted = true;
    }
    migrate_cancel();
}

static gboolean hmp_migrate_status_cb(gpointer opaque)
{
    HMPMigrationStatus *st = opaque;
    MigrationInfo info;

    migration_info_get(&info);
    if (info.has_status && hmp_migrate_status_waits(info.status)) {
        if (info.status == MIGRATION_STATUS_ACTIVE) {
            hmp_migrate_progress(st, &info);
        }
        migration_info_clear(&info);
        return G_SOURCE_CONTINUE;
    }
    if (st->printed) {
        monitor_printf(st->mon, "\n");
    }
    if (info.has_status) {
        hmp_migrate_summary(st, &info);
    }
    migration_info_clear(&info);
    monitor_release_interrupt(st);
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
        migrate_resume(uri, &err);
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
    if (monitor_suspend(mon) < 0) {
        monitor_printf(mon, "terminal does not allow synchronous migration, "
                            "continuing detached\n");
        return;
    }
    st = g_new0(HMPMigrationStatus, 1);
    st->mon = monitor_ref(mon);
    st->tty = monitor_is_tty(mon);
    if (monitor_claim_interrupt(mon, hmp_migrate_interrupt, st)) {
        monitor_printf(mon, "(Ctrl-C cancels the migration; another monitor "
                            "or QMP can change its parameters meanwhile)\n");
    }
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

static void hmp_migrate_recover(Monitor *mon, int argc, char **argv)
{
    Error *err = NULL;

    if (argc < 1) {
        hmp_usage_error(mon, "string expected");
        return;
    }
    if (!migrate_recover(argv[0], &err)) {
        hmp_handle_error(mon, err);
    }
}

static void hmp_migrate_pause(Monitor *mon, int argc, char **argv)
{
    Error *err = NULL;

    if (!migrate_pause(&err)) {
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

static void hmp_migrate_start_postcopy(Monitor *mon, int argc, char **argv)
{
    Error *err = NULL;

    if (!migrate_start_postcopy(&err)) {
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
    hmp_register_command("migrate_start_postcopy", "migrate_start_postcopy",
                         "switch the running migration to postcopy "
                         "(postcopy-ram set on both sides before migrate)",
                         hmp_migrate_start_postcopy);
    hmp_register_command("migrate_incoming", "migrate_incoming uri",
                         "Continue an incoming migration from an -incoming "
                         "defer",
                         hmp_migrate_incoming);
    hmp_register_command("migrate_recover", "migrate_recover uri",
                         "Continue a paused incoming postcopy migration",
                         hmp_migrate_recover);
    hmp_register_command("migrate_pause", "migrate_pause",
                         "Pause an ongoing migration (postcopy-only)",
                         hmp_migrate_pause);
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
