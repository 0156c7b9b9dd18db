/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * migration.c: the migration statuses and events (QEMU 7.2's names)
 * and the outgoing migration's state machine: start, cancel, continue.
 * The thread itself is in migration-thread.c, the switch-over estimate
 * in switchover.c, query-migrate's snapshot in migration-info.c, the
 * destination in migration-incoming.c.
 *
 * Outgoing, status by status:
 *   none/completed/failed/cancelled --migrate--> setup
 *       (main thread: URI checked, thread started; MIGRATION "setup")
 *   setup: the migration thread opens the transport (a blocking connect
 *       is fine there: the monitor already answered), maybe TLS, writes
 *       the header and the START sections (ram syncs: MIGRATION_PASS 1)
 *   --> active: iterate under max-bandwidth (rate limit per 100 ms
 *       period), measure bandwidth each period; switch over when the
 *       exact pending bytes (after a dirty-log sync) plus the fixed
 *       switch-over cost fit in downtime-limit at a smoothed bandwidth
 *       (see switchover.c)
 *   [--> pre-switchover (pause-before-switchover; migrate-continue)
 *    --> device]
 *   --> completed: counters are final before the status is set; the
 *       source's run state is postmigrate.
 *   Any error --> failed (error-desc; the guest keeps or resumes
 *   running); migrate_cancel --> cancelling (every channel shut down
 *   to wake the thread) --> cancelled.
 *   Postcopy: a broken channel in postcopy-active --> postcopy-paused
 *   --migrate -r URI--> postcopy-recover --> postcopy-active
 *   (postcopy-recover.h).  With x-precopy-recover (Tern only), the same
 *   in precopy: active --> precopy-paused, the guest running here
 *   --migrate -r URI--> precopy-recover --> active (precopy-recover.h).
 */
#include "qemu/osdep.h"
#include "qapi/error.h"
#include "qapi/qmp/dispatch.h"
#include "monitor/monitor.h"
#include "migration/misc.h"
#include "migration/options.h"
#include "sysemu/runstate.h"
#include "migration.h"
#include "watchdog.h"
#include "transport.h"
#include "postcopy-ram.h"
#include "migration/blocker.h"
#include "postcopy-recover.h"
#include "ram.h"
#include "checkpoint.h"
#include "migration-stats.h"
#include "rate-limit.h"

static const char *const status_names[MIGRATION_STATUS__MAX] = {
    [MIGRATION_STATUS_NONE] = "none",
    [MIGRATION_STATUS_SETUP] = "setup",
    [MIGRATION_STATUS_CANCELLING] = "cancelling",
    [MIGRATION_STATUS_CANCELLED] = "cancelled",
    [MIGRATION_STATUS_ACTIVE] = "active",
    [MIGRATION_STATUS_POSTCOPY_ACTIVE] = "postcopy-active",
    [MIGRATION_STATUS_POSTCOPY_PAUSED] = "postcopy-paused",
    [MIGRATION_STATUS_POSTCOPY_RECOVER] = "postcopy-recover",
    [MIGRATION_STATUS_COMPLETED] = "completed",
    [MIGRATION_STATUS_FAILED] = "failed",
    [MIGRATION_STATUS_COLO] = "colo",
    [MIGRATION_STATUS_PRE_SWITCHOVER] = "pre-switchover",
    [MIGRATION_STATUS_DEVICE] = "device",
    [MIGRATION_STATUS_WAIT_UNPLUG] = "wait-unplug",
    [MIGRATION_STATUS_PRECOPY_PAUSED] = "precopy-paused",
    [MIGRATION_STATUS_PRECOPY_RECOVER] = "precopy-recover",
};

static MigrationState current_migration;
static MigrationIncomingState current_incoming;

const char *migration_status_name(MigrationStatus status)
{
    g_assert(status < MIGRATION_STATUS__MAX);
    return status_names[status];
}

bool migration_status_parse(const char *name, MigrationStatus *status)
{
    for (int i = 0; i < MIGRATION_STATUS__MAX; i++) {
        if (!strcmp(name, status_names[i])) {
            *status = i;
            return true;
        }
    }
    return false;
}

MigrationState *migrate_get_current(void)
{
    return &current_migration;
}

MigrationIncomingState *migration_incoming_get_current(void)
{
    return &current_incoming;
}

MigrationStatus migration_status(void)
{
    return __atomic_load_n(&current_migration.status, __ATOMIC_ACQUIRE);
}

MigrationStatus migration_incoming_status(void)
{
    return __atomic_load_n(&current_incoming.status, __ATOMIC_ACQUIRE);
}

int64_t migration_clock_ms(void)
{
    return g_get_real_time() / G_TIME_SPAN_MILLISECOND;
}

void migration_event_status(MigrationStatus status)
{
    json_object *data = json_object_new_object();

    json_object_object_add(data, "status",
                           json_object_new_string(status_names[status]));
    qapi_event_send("MIGRATION", data);
}

bool migrate_set_status(MigrationState *s, int old_state, int new_state)
{
    int expected = old_state;

    if (!__atomic_compare_exchange_n(&s->status, &expected, new_state, false,
                                     __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
        return false;
    }
    if (migrate_events()) {
        migration_event_status(new_state);
    }
    return true;
}

void migrate_incoming_set_status(MigrationIncomingState *mis, int new_state)
{
    __atomic_store_n(&mis->status, new_state, __ATOMIC_RELEASE);
    if (migrate_events()) {
        migration_event_status(new_state);
    }
}

void migration_event_pass(uint64_t pass)
{
    json_object *data;

    if (!migrate_events()) {
        return;
    }
    data = json_object_new_object();
    json_object_object_add(data, "pass", json_object_new_uint64(pass));
    qapi_event_send("MIGRATION_PASS", data);
}

void migrate_set_error(MigrationState *s, const Error *err)
{
    g_mutex_lock(&s->lock);
    if (!s->error) {
        s->error = error_copy(err);
    }
    g_mutex_unlock(&s->lock);
}

static bool migration_status_is_running(int status)
{
    switch (status) {
    case MIGRATION_STATUS_SETUP:
    case MIGRATION_STATUS_ACTIVE:
    case MIGRATION_STATUS_PRE_SWITCHOVER:
    case MIGRATION_STATUS_DEVICE:
    case MIGRATION_STATUS_CANCELLING:
    case MIGRATION_STATUS_POSTCOPY_ACTIVE:
    case MIGRATION_STATUS_POSTCOPY_PAUSED:
    case MIGRATION_STATUS_POSTCOPY_RECOVER:
    case MIGRATION_STATUS_PRECOPY_PAUSED:
    case MIGRATION_STATUS_PRECOPY_RECOVER:
    case MIGRATION_STATUS_WAIT_UNPLUG:
    case MIGRATION_STATUS_COLO:
        return true;
    default:
        return false;
    }
}

bool migration_is_running(void)
{
    return migration_status_is_running(migration_status());
}

void migration_parameters_changed(void)
{
    MigrationState *s = migrate_get_current();

    __atomic_store_n(&s->rate_limit_changed, true, __ATOMIC_RELEASE);
    checkpoint_dst_configure();
}

/* ---------------- outgoing ---------------- */

uint64_t migration_transferred_bytes(QEMUFile *main_file)
{
    return qemu_file_transferred(main_file) +
           stat64_get(&mig_stats.multifd_bytes);
}

void migrate_set_status_from_current(MigrationState *s, int new_state)
{
    for (;;) {
        int cur = migration_status();

        if (cur == MIGRATION_STATUS_CANCELLING &&
            new_state == MIGRATION_STATUS_FAILED) {
            new_state = MIGRATION_STATUS_CANCELLED;
        }
        if (migrate_set_status(s, cur, new_state)) {
            return;
        }
    }
}

/*
 * x-checkpoint-assisted: its offer, re-requests and syncs travel on the
 * return path; its HASH records on the main stream only, from its own
 * sink (not multifd packets, mapped-ram files, XBZRLE or compressed
 * pages, not postcopy's atomic placement).
 */
static bool migrate_checkpoint_combination_ok(Error **errp)
{
    if (!migrate_checkpoint_assisted()) {
        return true;
    }
    if (!migrate_return_path()) {
        error_setg(errp, "Capability 'x-checkpoint-assisted' requires "
                         "capability 'return-path'");
        return false;
    }
    if (migrate_multifd() || migrate_postcopy_ram() || migrate_mapped_ram() ||
        migrate_xbzrle() || migrate_compress()) {
        error_setg(errp,
                   "Capability 'x-checkpoint-assisted' is not yet "
                   "compatible with %s",
                   migrate_multifd()      ? "multifd"
                   : migrate_mapped_ram() ? "mapped-ram"
                   : migrate_xbzrle()     ? "xbzrle"
                   : migrate_compress()   ? "compress"
                                          : "postcopy-ram");
        return false;
    }
    return true;
}

/*
 * x-precopy-recover: the destination's received bitmap and the resume
 * handshake travel on the return path; the recovery reconnects the main
 * stream only, whose pages go through the plain stream sink (not
 * multifd or mapped-ram channels, not XBZRLE deltas or compressed pages
 * the destination may hold a different base for, not checkpoint hashes;
 * postcopy has its own recovery).
 */
static bool migrate_precopy_recover_combination_ok(Error **errp)
{
    if (!migrate_precopy_recover()) {
        return true;
    }
    if (!migrate_return_path()) {
        error_setg(errp, "Capability 'x-precopy-recover' requires "
                         "capability 'return-path'");
        return false;
    }
    if (migrate_multifd() || migrate_postcopy_ram() || migrate_mapped_ram() ||
        migrate_xbzrle() || migrate_compress() ||
        migrate_checkpoint_assisted()) {
        error_setg(errp,
                   "Capability 'x-precopy-recover' is not yet "
                   "compatible with %s",
                   migrate_multifd()        ? "multifd"
                   : migrate_mapped_ram()   ? "mapped-ram"
                   : migrate_xbzrle()       ? "xbzrle"
                   : migrate_compress()     ? "compress"
                   : migrate_postcopy_ram() ? "postcopy-ram"
                                            : "x-checkpoint-assisted");
        return false;
    }
    return true;
}

/*
 * Capabilities that each work but not together yet.  postcopy-ram with
 * multifd: the postcopy phase sends pages on the main stream only, and
 * a multifd destination waits for its channels' SYNC (QEMU refuses the
 * pair with this text too, until it supports it).
 */
static bool migrate_caps_combination_ok(Error **errp)
{
    if (migrate_postcopy_ram() && migrate_multifd()) {
        error_setg(errp, "Postcopy is not yet compatible with multifd");
        return false;
    }
    if (migrate_cap(MIGRATION_CAPABILITY_POSTCOPY_PREEMPT) &&
        !migrate_postcopy_ram()) {
        error_setg(errp, "Postcopy preempt requires postcopy-ram");
        return false;
    }
    return migrate_checkpoint_combination_ok(errp) &&
           migrate_precopy_recover_combination_ok(errp);
}

bool migrate_start(const char *uri, Error **errp)
{
    MigrationState *s = migrate_get_current();
    const MigrationTransport *t;
    int fd = -1;

    if (migration_is_running()) {
        error_setg(errp, "There's a migration process in progress");
        return false;
    }
    if (runstate_get() == RUN_STATE_INMIGRATE) {
        error_setg(errp, "Guest is waiting for an incoming migration");
        return false;
    }
    if (runstate_get() == RUN_STATE_POSTMIGRATE) {
        error_setg(errp, "Can't migrate the vm that was paused due to "
                         "previous migration");
        return false;
    }
    if (migration_is_blocked(errp) || migration_transport_refuse(uri, errp) ||
        !migrate_caps_combination_ok(errp)) {
        return false;
    }
    t = migration_transport_find_outgoing(uri, errp);
    if (!t) {
        return false;
    }
    if (migrate_mapped_ram() && !migration_transport_check_caps(t, errp)) {
        return false;
    }
    if (t->monitor_fd) {
        fd = monitor_fd_param(migration_transport_arg(t, uri), errp);
        if (fd < 0) {
            return false;
        }
    }
    if (s->thread) {
        /* The previous thread has ended (status is final): reap it. */
        g_thread_join(s->thread);
        s->thread = NULL;
    }

    g_mutex_lock(&s->lock);
    error_free(s->error);
    s->error = NULL;
    g_free(s->uri);
    s->uri = g_strdup(uri);
    s->fd = fd;
    s->start_time = migration_clock_ms();
    memset(&s->timing, 0, sizeof(s->timing));
    s->timing.expected_downtime = migrate_downtime_limit();
    s->threshold_size = 0;
    s->rp_error = 0;
    s->rp_shut_received = false;
    s->rp_dest_failed = false;
    s->pause_continue = false;
    __atomic_store_n(&s->start_postcopy, false, __ATOMIC_RELEASE);
    g_mutex_unlock(&s->lock);
    migration_stats_reset();
    ram_mig_init();

    __atomic_store_n(&s->status, MIGRATION_STATUS_NONE, __ATOMIC_RELEASE);
    migration_transport_cancel_reset();
    migrate_set_status(s, MIGRATION_STATUS_NONE, MIGRATION_STATUS_SETUP);
    migration_thread_start(s);
    migration_watchdog_outgoing_start(s);
    return true;
}

/* Wake every thread of s blocked on a channel, an open or a pause. */
static void migrate_interrupt(MigrationState *s)
{
    migrate_channels_shutdown(s);
    /* opens still blocked (connect, FIFO) and commands that never read */
    migration_transport_cancel(s);
    g_mutex_lock(&s->pause_lock);
    g_cond_broadcast(&s->pause_cond);
    g_mutex_unlock(&s->pause_lock);
}

void migrate_fail_stalled(MigrationState *s, const Error *err)
{
    if (!migration_is_running()) {
        return;
    }
    migrate_set_error(s, err); /* first: the error-desc says why */
    migrate_interrupt(s);
}

void migrate_cancel(void)
{
    MigrationState *s = migrate_get_current();

    if (!migration_is_running() && migration_incoming_cancel()) {
        return; /* this side is a destination: its migration ends */
    }
    for (;;) {
        int cur = migration_status();

        if (!migration_status_is_running(cur) ||
            cur == MIGRATION_STATUS_CANCELLING) {
            return;
        }
        if (migrate_set_status(s, cur, MIGRATION_STATUS_CANCELLING)) {
            break;
        }
    }
    migrate_interrupt(s);
}

bool migrate_resume(const char *uri, Error **errp)
{
    MigrationState *s = migrate_get_current();
    const MigrationTransport *t;
    int paused = migration_status();
    int fd = -1;
    bool ok;

    if (paused != MIGRATION_STATUS_POSTCOPY_PAUSED &&
        paused != MIGRATION_STATUS_PRECOPY_PAUSED) {
        error_setg(errp, "Cannot resume if there is no paused migration");
        return false;
    }
    if (migration_transport_refuse(uri, errp)) {
        return false;
    }
    t = migration_transport_find_outgoing(uri, errp);
    if (!t) {
        return false;
    }
    if (t->monitor_fd) {
        fd = monitor_fd_param(migration_transport_arg(t, uri), errp);
        if (fd < 0) {
            return false;
        }
    }
    g_mutex_lock(&s->lock);
    error_free(s->error); /* error-desc: this attempt's, if it fails */
    s->error = NULL;
    g_free(s->uri);
    s->uri = g_strdup(uri);
    if (s->fd >= 0) {
        close(s->fd);
    }
    s->fd = fd;
    g_mutex_unlock(&s->lock);
    migration_transport_cancel_reset();
    g_mutex_lock(&s->pause_lock);
    ok = migrate_set_status(s, paused,
                            paused == MIGRATION_STATUS_PRECOPY_PAUSED
                                ? MIGRATION_STATUS_PRECOPY_RECOVER
                                : MIGRATION_STATUS_POSTCOPY_RECOVER);
    g_cond_broadcast(&s->pause_cond);
    g_mutex_unlock(&s->pause_lock);
    if (!ok) {
        error_setg(errp, "Cannot resume if there is no paused migration");
    }
    return ok;
}

bool migrate_continue(const char *state, Error **errp)
{
    MigrationState *s = migrate_get_current();
    MigrationStatus want;
    int cur = migration_status();

    if (!migration_status_parse(state, &want)) {
        error_setg(errp, "Parameter 'state' does not accept value '%s'", state);
        return false;
    }
    if (cur != (int)want) {
        error_setg(errp, "Migration not in expected state: %s",
                   status_names[cur]);
        return false;
    }
    g_mutex_lock(&s->pause_lock);
    s->pause_continue = true;
    g_cond_broadcast(&s->pause_cond);
    g_mutex_unlock(&s->pause_lock);
    return true;
}

bool migrate_start_postcopy(Error **errp)
{
    MigrationState *s = migrate_get_current();

    if (!migrate_postcopy_ram()) {
        error_setg(errp, "Enable postcopy with migrate_set_capability before"
                         " the start of migration");
        return false;
    }
    if (migration_status() == MIGRATION_STATUS_NONE) {
        error_setg(errp, "Postcopy must be started after migration has been"
                         " started");
        return false;
    }
    __atomic_store_n(&s->start_postcopy, true, __ATOMIC_RELEASE);
    migration_rate_kick(); /* a rate-limited precopy switches at once */
    return true;
}

void migration_init(void)
{
    MigrationState *s = migrate_get_current();
    MigrationIncomingState *mis = migration_incoming_get_current();

    g_mutex_init(&s->lock);
    g_mutex_init(&s->pause_lock);
    g_cond_init(&s->pause_cond);
    g_mutex_init(&s->preempt_lock);
    s->fd = -1;
    g_mutex_init(&mis->rp_lock);
    migrate_options_reset();
    postcopy_ram_init();
    ram_postcopy_rp_init();
    postcopy_recover_init();
    checkpoint_init();
}
