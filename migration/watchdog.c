/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * watchdog.c: the progress watchdogs of both sides (x-progress-timeout,
 * Tern's own parameter; docs/migration.md "What happens when things go
 * wrong").
 *
 * A migration whose peer stopped answering blocks in a read or a write
 * that may never return: a link that silently drops packets, a peer
 * that was stopped (SIGSTOP, a hung host), a command that stopped
 * reading.  Once a second the main loop looks at a counter that moves
 * whenever the migration moves; when it has not moved for
 * x-progress-timeout seconds, the migration fails with "No progress
 * from the destination for N s" (source) or "No progress from the
 * source for N s" (destination), and its channels are shut down, which
 * wakes the blocked thread.  0 turns the watchdogs off.
 *
 * Source: the counter is the RAM bytes put on the channels plus the
 * "beats" of the migration thread (each iteration and phase step) and
 * of the return path (each message).  Watched while the status is
 * setup, active or device: not in pre-switchover (waiting for the
 * user), cancelling (already ending) or postcopy (its own recovery).
 * What the source does with the guest afterwards is the failure rule
 * of migration-thread.c (the guest may stay paused).
 *
 * Destination: the counter is the bytes read from the main stream plus
 * the multifd packets and the load's own beats (a checkpoint being
 * indexed while the source waits for its offer).  Watched while the incoming
 * status is active and the guest has not started (postcopy).  A source paused
 * before the switch-over (pause-before-switchover) sends nothing: a destination
 * waiting longer than x-progress-timeout for migrate-continue there
 * needs a larger value (or 0).
 *
 * Main thread only (GLib timeouts on the default context).
 */
#include "qemu/osdep.h"
#include "qapi/error.h"
#include "qemu/trace.h"
#include "migration/options.h"
#include "migration.h"
#include "migration-stats.h"
#include "multifd.h"
#include "watchdog.h"

#define MIGRATION_WATCHDOG_TICK_MS 1000

typedef struct MigrationWatchdog {
    guint source_id;        /* GLib timeout, 0 when not armed */
    uint64_t last_sample;   /* counter at the last change */
    int64_t last_change_ms; /* realtime ms of the last change */
} MigrationWatchdog;

static MigrationWatchdog watchdog_out, watchdog_in;
static uint64_t watchdog_beats;    /* source: relaxed atomic */
static uint64_t watchdog_in_beats; /* destination: relaxed atomic */

void migration_progress_beat(void)
{
    __atomic_fetch_add(&watchdog_beats, 1, __ATOMIC_RELAXED);
}

void migration_incoming_progress_beat(void)
{
    __atomic_fetch_add(&watchdog_in_beats, 1, __ATOMIC_RELAXED);
}

/*
 * Has the counter stood still for the whole timeout?  watched == false
 * (a state without the rule) counts as progress.
 */
static bool migration_watchdog_expired(MigrationWatchdog *w, uint64_t sample,
                                       bool watched, uint32_t timeout)
{
    int64_t now = migration_clock_ms();

    if (!watched || timeout == 0 || sample != w->last_sample) {
        w->last_sample = sample;
        w->last_change_ms = now;
        return false;
    }
    return now - w->last_change_ms >= (int64_t)timeout * 1000;
}

static void migration_watchdog_reset(MigrationWatchdog *w)
{
    if (w->source_id) {
        g_source_remove(w->source_id);
    }
    w->source_id = 0;
    w->last_sample = 0;
    w->last_change_ms = migration_clock_ms();
}

static gboolean migration_watchdog_outgoing_tick(gpointer opaque)
{
    MigrationState *s = opaque;
    int status = migration_status();
    uint32_t timeout = migrate_progress_timeout();
    bool watched = status == MIGRATION_STATUS_SETUP ||
                   status == MIGRATION_STATUS_ACTIVE ||
                   status == MIGRATION_STATUS_DEVICE;
    uint64_t sample = stat64_get(&mig_stats.transferred) +
                      __atomic_load_n(&watchdog_beats, __ATOMIC_RELAXED);
    Error *err = NULL;

    if (!migration_is_running()) {
        watchdog_out.source_id = 0;
        return G_SOURCE_REMOVE;
    }
    if (!migration_watchdog_expired(&watchdog_out, sample, watched, timeout)) {
        return G_SOURCE_CONTINUE;
    }
    TRACE("migration_watchdog", "source: no progress for %u s", timeout);
    error_setg(&err, "No progress from the destination for %u s", timeout);
    migrate_fail_stalled(s, err);
    error_free(err);
    watchdog_out.source_id = 0;
    return G_SOURCE_REMOVE;
}

void migration_watchdog_outgoing_start(MigrationState *s)
{
    migration_watchdog_reset(&watchdog_out);
    watchdog_out.source_id = g_timeout_add(MIGRATION_WATCHDOG_TICK_MS,
                                           migration_watchdog_outgoing_tick, s);
}

static gboolean migration_watchdog_incoming_tick(gpointer opaque)
{
    MigrationIncomingState *mis = opaque;
    int status = __atomic_load_n(&mis->status, __ATOMIC_ACQUIRE);
    uint32_t timeout = migrate_progress_timeout();
    uint64_t sample = multifd_recv_packets() +
                      __atomic_load_n(&watchdog_in_beats, __ATOMIC_RELAXED);
    Error *err = NULL;
    bool gone;

    /* a precopy pause detaches (under recover_lock), then closes it */
    g_mutex_lock(&mis->recover_lock);
    gone = status != MIGRATION_STATUS_ACTIVE || !mis->from_src_file;
    if (!gone) {
        sample += qemu_file_io_bytes(mis->from_src_file);
    }
    g_mutex_unlock(&mis->recover_lock);
    if (gone) {
        watchdog_in.source_id = 0;
        return G_SOURCE_REMOVE;
    }
    if (!migration_watchdog_expired(&watchdog_in, sample,
                                    !mis->postcopy_started, timeout)) {
        return G_SOURCE_CONTINUE;
    }
    TRACE("migration_watchdog", "destination: no progress for %u s", timeout);
    error_setg(&err, "No progress from the source for %u s", timeout);
    migration_incoming_abort(err);
    watchdog_in.source_id = 0;
    return G_SOURCE_REMOVE;
}

void migration_watchdog_incoming_start(MigrationIncomingState *mis)
{
    migration_watchdog_reset(&watchdog_in);
    watchdog_in.source_id = g_timeout_add(
        MIGRATION_WATCHDOG_TICK_MS, migration_watchdog_incoming_tick, mis);
}
