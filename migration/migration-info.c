/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * migration-info.c: the query-migrate snapshot (see migration-info.h).
 *
 * Which members exist, by the source's status (QEMU 7.2):
 *   none                        nothing (the destination's part only)
 *   setup, cancelled,
 *   wait-unplug                 status
 *   failed                      status, error-desc (if any)
 *   completed                   status, setup-time, total-time,
 *                               downtime, ram (remaining and dirty rate
 *                               read 0), xbzrle-cache (capability on),
 *                               cpu-throttle-percentage (if on)
 *   any other                   status, setup-time, total-time (so far),
 *                               expected-downtime, ram, xbzrle-cache,
 *                               cpu-throttle
 * The destination adds socket-address while it listens and its own
 * status when there is no source status.  Either side adds "checkpoint"
 * (Tern's own) when checkpoint-assisted migration was used or a
 * checkpoint is configured.
 */
#include "qemu/osdep.h"
#include "qapi/error.h"
#include "sysemu/ramblock.h"
#include "sysemu/runstate.h"
#include "migration/options.h"
#include "migration.h"
#include "migration-info.h"
#include "migration-stats.h"
#include "migration/options.h"
#include "ram-compress.h"
#include "postcopy-blocktime.h"
#include "migration/blocker.h"

/* The "ram" member; completed: remaining and the dirty rate read 0. */
static void migration_info_ram(MigrationRamInfo *ram, bool completed)
{
    uint64_t normal = stat64_get(&mig_stats.normal_pages);

    ram->transferred = stat64_get(&mig_stats.transferred);
    ram->remaining = completed ? 0 : migration_stats_bytes_remaining();
    ram->total = ram_bytes_total();
    ram->duplicate = stat64_get(&mig_stats.zero_pages);
    ram->skipped = 0;
    ram->normal = normal;
    ram->normal_bytes = normal * TARGET_PAGE_SIZE;
    ram->dirty_pages_rate =
        completed ? 0 : stat64_get(&mig_stats.dirty_pages_rate);
    ram->dirty_sync_count = stat64_get(&mig_stats.dirty_sync_count);
    ram->postcopy_requests = stat64_get(&mig_stats.postcopy_requests);
    ram->page_size = TARGET_PAGE_SIZE;
    ram->multifd_bytes = stat64_get(&mig_stats.multifd_bytes);
    ram->precopy_bytes = stat64_get(&mig_stats.precopy_bytes);
    ram->downtime_bytes = stat64_get(&mig_stats.downtime_bytes);
    ram->postcopy_bytes = stat64_get(&mig_stats.postcopy_bytes);
    ram->dirty_sync_missed_zero_copy = 0;
}

/* The "xbzrle-cache" member (7.2: whenever the capability is on). */
static void migration_info_xbzrle(MigrationXbzrleInfo *x)
{
    x->cache_size = migrate_xbzrle_cache_size();
    x->bytes = stat64_get(&mig_stats.xbzrle_bytes);
    x->pages = stat64_get(&mig_stats.xbzrle_pages);
    x->cache_miss = stat64_get(&mig_stats.xbzrle_cache_miss);
    x->cache_miss_rate = stat64_get_double(&mig_stats.xbzrle_cache_miss_rate);
    x->encoding_rate = stat64_get_double(&mig_stats.xbzrle_encoding_rate);
    x->overflow = stat64_get(&mig_stats.xbzrle_overflow);
}

/* A running or completed source: times, ram, throttle.  Under s->lock. */
static void migration_info_progress(MigrationInfo *info, MigrationState *s,
                                    bool completed)
{
    info->has_setup_time = true;
    info->setup_time = s->timing.setup_time;
    info->has_total_time = true;
    if (completed) {
        info->total_time = s->timing.total_time;
        info->has_downtime = true;
        info->downtime = s->timing.downtime;
    } else {
        info->total_time = migration_clock_ms() - s->start_time;
        info->has_expected_downtime = true;
        info->expected_downtime = s->timing.expected_downtime;
    }
    info->has_ram = true;
    migration_info_ram(&info->ram, completed);
    if (migrate_compress()) {
        RAMCompressStats st;

        ram_compress_stats_get(&st);
        info->has_compression = true;
        info->compression.pages = stat64_get(&mig_stats.compressed_pages);
        info->compression.busy = st.busy;
        info->compression.busy_rate = st.busy_rate;
        info->compression.compressed_size = st.compressed_size;
        info->compression.compression_rate = st.compression_rate;
    }
    info->ram.mbps = s->timing.mbps;
    info->ram.pages_per_second = s->timing.pages_per_second;
    if (migrate_xbzrle()) {
        info->has_xbzrle_cache = true;
        migration_info_xbzrle(&info->xbzrle_cache);
    }
}

/* The source's members, by its status. */
static void migration_info_source(MigrationInfo *info)
{
    MigrationState *s = migrate_get_current();
    MigrationStatus status = migration_status();

    if (status == MIGRATION_STATUS_NONE) {
        return;
    }
    info->has_status = true;
    info->status = status;
    switch (status) {
    case MIGRATION_STATUS_SETUP:
    case MIGRATION_STATUS_CANCELLED:
    case MIGRATION_STATUS_WAIT_UNPLUG:
        return;
    case MIGRATION_STATUS_FAILED:
        g_mutex_lock(&s->lock);
        if (s->error) {
            info->error_desc = g_strdup(error_get_pretty(s->error));
        }
        g_mutex_unlock(&s->lock);
        return;
    default:
        break;
    }
    g_mutex_lock(&s->lock);
    migration_info_progress(info, s, status == MIGRATION_STATUS_COMPLETED);
    if (s->error && (status == MIGRATION_STATUS_POSTCOPY_PAUSED ||
                     status == MIGRATION_STATUS_POSTCOPY_RECOVER ||
                     status == MIGRATION_STATUS_PRECOPY_PAUSED ||
                     status == MIGRATION_STATUS_PRECOPY_RECOVER)) {
        /* why it paused (or why the last recovery failed) */
        info->error_desc = g_strdup(error_get_pretty(s->error));
    }
    g_mutex_unlock(&s->lock);
    if (cpu_throttle_active()) {
        info->has_cpu_throttle_percentage = true;
        info->cpu_throttle_percentage = cpu_throttle_get_percentage();
    }
}

/* The destination's members: its listening addresses and status. */
static void migration_info_destination(MigrationInfo *info)
{
    MigrationIncomingState *mis = migration_incoming_get_current();
    MigrationStatus status = migration_incoming_status();

    if (mis->socket_addresses && mis->socket_addresses->len) {
        info->socket_addresses = g_ptr_array_ref(mis->socket_addresses);
    }
    if (status != MIGRATION_STATUS_NONE) {
        info->has_status = true;
        info->status = status;
    }
    if (status == MIGRATION_STATUS_PRECOPY_PAUSED ||
        status == MIGRATION_STATUS_PRECOPY_RECOVER) {
        /* why it paused and what to do (precopy-recover.h) */
        g_mutex_lock(&mis->recover_lock);
        if (mis->pause_err) {
            info->error_desc = g_strdup(error_get_pretty(mis->pause_err));
        }
        g_mutex_unlock(&mis->recover_lock);
    }
    if (status == MIGRATION_STATUS_COMPLETED) {
        info->has_postcopy_blocktime = postcopy_blocktime_get(
            &info->postcopy_blocktime, &info->postcopy_vcpu_blocktime,
            &info->postcopy_vcpus);
    }
}

void migration_info_get(MigrationInfo *info)
{
    memset(info, 0, sizeof(*info));
    migration_info_destination(info);
    migration_info_source(info); /* its status wins */
    info->blocked_reasons = migration_blocker_reasons();
    checkpoint_info_get(&info->checkpoint);
    info->has_checkpoint =
        info->checkpoint.has_source || info->checkpoint.has_destination;
}

void migration_info_clear(MigrationInfo *info)
{
    g_free(info->error_desc);
    g_strfreev(info->blocked_reasons);
    g_free(info->checkpoint.file);
    g_free(info->postcopy_vcpu_blocktime);
    if (info->socket_addresses) {
        g_ptr_array_unref(info->socket_addresses);
    }
    memset(info, 0, sizeof(*info));
}
