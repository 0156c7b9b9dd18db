/*
 * migration.c: the outgoing migration (state machine and migration
 * thread) and the incoming migration (load thread), QEMU 7.2's statuses,
 * events and query-migrate shapes.
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
 *       (see migration_update_counters)
 *   [--> pre-switchover (pause-before-switchover; migrate-continue)
 *    --> device]
 *   --> completed: counters are final before the status is set; the
 *       source's run state is postmigrate.
 *   Any error --> failed (error-desc; the guest keeps or resumes
 *   running); migrate_cancel --> cancelling (channel shut down to wake
 *   the thread) --> cancelled.
 *
 * Incoming: -incoming URI / migrate-incoming start a transport on the
 * main thread; its channel comes back through migration_channel_incoming
 * (TLS first if configured), then a load thread reads the whole stream
 * with qemu_loadvm_state().  The result is handled on the main thread:
 * success sets the run state from globalstate and -S; failure prints the
 * error and "load of migration failed: <strerror>" and exits with 1, as
 * QEMU 7.2 does.
 */
#include "qemu/osdep.h"
#include "qapi/error.h"
#include "qapi/qmp/dispatch.h"
#include "qemu/error-report.h"
#include "qemu/sockets.h"
#include "qemu/trace.h"
#include <netinet/in.h>
#include <arpa/inet.h>
#include "io/channel-command.h"
#include "io/channel-socket.h"
#include "monitor/monitor.h"
#include "migration/misc.h"
#include "migration/options.h"
#include "migration/savevm.h"
#include "migration/global_state.h"
#include "sysemu/ramblock.h"
#include "sysemu/runstate.h"
#include "sysemu/main-loop.h"
#include "sysemu/sysemu.h"
#include "migration.h"
#include "ram.h"
#include "migration-stats.h"
#include "rate-limit.h"
#include "shrink.h"

/* Rate-limit and measurement period. */
#define BUFFER_DELAY_MS 100
#define XFER_LIMIT_RATIO (1000 / BUFFER_DELAY_MS)

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
    return g_get_real_time() / 1000;
}

static void migration_event_status(MigrationStatus status)
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
}

/* ---------------- outgoing: the migration thread ---------------- */

/* Move from whatever running status we are in to new_state. */
static void migrate_set_status_from_current(MigrationState *s, int new_state)
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

static void migrate_channel_set(MigrationState *s, QIOChannel *ioc)
{
    g_mutex_lock(&s->lock);
    s->ioc = ioc ? qio_channel_ref(ioc) : NULL;
    g_mutex_unlock(&s->lock);
}

static void migrate_channel_drop(MigrationState *s)
{
    QIOChannel *ioc;

    g_mutex_lock(&s->lock);
    ioc = s->ioc;
    s->ioc = NULL;
    g_mutex_unlock(&s->lock);
    qio_channel_unref(ioc);
}

static bool migrate_cancelled(MigrationState *s)
{
    return migration_status() == MIGRATION_STATUS_CANCELLING;
}

/* The host of a tcp: URI, for TLS hostname checks; NULL otherwise. */
static char *migrate_uri_host(const char *uri)
{
    SocketAddress *addr;
    char *host = NULL;

    if (!g_str_has_prefix(uri, "tcp:")) {
        return NULL;
    }
    addr = socket_parse(uri + 4, NULL);
    if (addr && addr->type == SOCKET_ADDRESS_TYPE_INET) {
        host = g_strdup(addr->host);
    }
    socket_address_free(addr);
    return host;
}

/* Open the transport named by s->uri (blocking). */
static QIOChannel *migrate_transport_open(MigrationState *s, Error **errp)
{
    const char *uri = s->uri;
    QIOChannel *ioc;
    char *host;

    if (g_str_has_prefix(uri, "tcp:")) {
        ioc = socket_outgoing_open(uri + 4, errp);
    } else if (g_str_has_prefix(uri, "unix:") ||
               g_str_has_prefix(uri, "vsock:")) {
        ioc = socket_outgoing_open(uri, errp);
    } else if (g_str_has_prefix(uri, "exec:")) {
        ioc = exec_outgoing_open(uri + 5, errp);
    } else if (g_str_has_prefix(uri, "fd:")) {
        ioc = fd_outgoing_open(s->fd, errp);
        s->fd = -1;
    } else if (g_str_has_prefix(uri, "file:")) {
        ioc = file_outgoing_open(uri + 5, errp);
    } else {
        error_setg(errp, "Parameter 'uri' expects a valid migration "
                         "protocol");
        return NULL;
    }
    if (!ioc) {
        return NULL;
    }
    /* Let migrate_cancel shut the raw channel down while TLS connects. */
    migrate_channel_set(s, ioc);
    host = migrate_uri_host(uri);
    ioc = migration_channel_outgoing(ioc, host, errp);
    g_free(host);
    return ioc;
}

/*
 * Switch-over estimate.
 *
 * Bandwidth: one 100 ms period is a noisy sample on a shared machine (a
 * period that happened to get both cores measures far more than the
 * link sustains, and switching over on it overshot downtime-limit:
 * 458 ms for a 300 ms limit).  So the estimate is the smaller of an
 * EWMA over the recent periods and the last period: a burst is damped,
 * a drop is believed at once.  Periods that sent little (nothing was
 * dirty, so the link was idle) say nothing about the link and keep the
 * previous estimate (until there is one, the last period is all we
 * have).  Even smoothed, consecutive periods differ by 10-15% on a
 * loaded 2-core box, and the final pass ran 15-25% slower than the
 * periods before it (1 GiB RAM-only, 300 ms limit: 322 and 340 ms with
 * the plain estimate, up to 332 ms with 80% of it), so only
 * MIGRATION_BW_SAFETY of it is counted; with a single sample (the first
 * period, ramp-up included) only half.
 *
 * Fixed cost: the switch-over also stops the vCPUs, syncs the dirty log
 * once more, saves the device state and waits for the return path,
 * whatever the RAM left.  It is estimated as a constant plus the last
 * dirty-log sync's duration (the final sync costs about as much) and
 * taken off the budget, never below a quarter of the limit so that a
 * small limit still converges.
 */
#define MIGRATION_BW_EWMA_WEIGHT 0.25
#define MIGRATION_BW_MIN_SAMPLE (512 * KiB)
#define MIGRATION_BW_SAFETY 0.7
#define MIGRATION_SWITCHOVER_BASE_MS 10

typedef struct MigrationPeriod {
    int64_t start_ms;
    uint64_t start_bytes;
    uint64_t start_pages;
    double bw_ewma;   /* bytes per ms; 0: no sample yet */
    double bw_last;   /* last period with a sample */
    double bw_raw;    /* last period, sample or not */
    unsigned samples; /* periods that gave a sample */
} MigrationPeriod;

/* Estimated fixed cost of the switch-over in ms (see above). */
static int64_t migration_switchover_fixed_ms(void)
{
    return MIGRATION_SWITCHOVER_BASE_MS + (ram_last_sync_us() + 999) / 1000;
}

/* Bandwidth (bytes per ms) the switch-over decision assumes. */
static double migration_bandwidth_estimate(const MigrationPeriod *p)
{
    if (!p->samples) {
        return p->bw_raw;
    }
    return MIN(p->bw_ewma, p->bw_last) *
           (p->samples < 2 ? 0.5 : MIGRATION_BW_SAFETY);
}

/* Downtime budget for RAM in ms: the limit minus the fixed cost. */
static int64_t migration_ram_budget_ms(void)
{
    int64_t limit = migrate_downtime_limit();

    return MAX(limit - migration_switchover_fixed_ms(), limit / 4);
}

/*
 * Measure the last period: bandwidth (smoothed), the bytes that fit in
 * the downtime budget, mbps, pages/s, expected downtime; start a new
 * rate-limit period.
 */
static void migration_update_counters(MigrationState *s, QEMUFile *f,
                                      MigrationPeriod *p, int64_t now)
{
    uint64_t transferred = qemu_file_transferred(f) - p->start_bytes;
    uint64_t pages = migration_stats_pages_sent() - p->start_pages;
    int64_t spent = now - p->start_ms;
    double bandwidth, estimate;

    if (spent <= 0) {
        spent = 1;
    }
    bandwidth = (double)transferred / spent; /* bytes per ms */
    p->bw_raw = bandwidth;
    if (transferred >= MIGRATION_BW_MIN_SAMPLE) {
        p->samples++;
        p->bw_last = bandwidth;
        p->bw_ewma = p->bw_ewma == 0
                         ? bandwidth
                         : p->bw_ewma * (1 - MIGRATION_BW_EWMA_WEIGHT) +
                               bandwidth * MIGRATION_BW_EWMA_WEIGHT;
    }
    estimate = migration_bandwidth_estimate(p);
    g_mutex_lock(&s->lock);
    s->threshold_size = estimate * migration_ram_budget_ms();
    s->mbps = transferred * 8.0 / (spent / 1000.0) / 1e6;
    s->pages_per_second = pages * 1000.0 / spent;
    if (estimate > 0) {
        s->expected_downtime = migration_stats_bytes_remaining() / estimate +
                               migration_switchover_fixed_ms();
    }
    g_mutex_unlock(&s->lock);
    TRACE("migration_period",
          "bytes %" PRIu64 " ms %" PRId64 " bw %.0f est %.0f B/ms "
          "threshold %" PRIu64 " remaining %" PRIu64,
          transferred, spent, bandwidth, estimate, s->threshold_size,
          migration_stats_bytes_remaining());

    if (__atomic_exchange_n(&s->rate_limit_changed, false, __ATOMIC_ACQ_REL)) {
        migration_rate_set(migrate_max_bandwidth() / XFER_LIMIT_RATIO);
    }
    migration_rate_reset();
    p->start_ms = now;
    p->start_bytes = qemu_file_transferred(f);
    p->start_pages = migration_stats_pages_sent();
}

/* pause-before-switchover: wait for migrate-continue or cancel. */
static bool migration_maybe_pause(MigrationState *s)
{
    if (!migrate_pause_before_switchover()) {
        return true;
    }
    if (!migrate_set_status(s, MIGRATION_STATUS_ACTIVE,
                            MIGRATION_STATUS_PRE_SWITCHOVER)) {
        return false;
    }
    bql_unlock();
    g_mutex_lock(&s->pause_lock);
    while (!s->pause_continue && !migrate_cancelled(s)) {
        g_cond_wait(&s->pause_cond, &s->pause_lock);
    }
    s->pause_continue = false;
    g_mutex_unlock(&s->pause_lock);
    bql_lock();
    return migrate_set_status(s, MIGRATION_STATUS_PRE_SWITCHOVER,
                              MIGRATION_STATUS_DEVICE);
}

/*
 * Stop the guest and send the rest.  Returns true when the stream is
 * complete and acknowledged; the guest then stays stopped.
 * *stopped says whether we stopped the VM (to resume it on failure).
 */
static bool migration_completion(MigrationState *s, QEMUFile *f,
                                 RunState *prev_state, bool *stopped,
                                 Error **errp)
{
    int ret;

    TRACE("migration_completion_start", "switching over");
    bql_lock();
    s->downtime_start = migration_clock_ms();
    TRACE("migration_completion_locked", "bql taken");
    *prev_state = runstate_get();
    s->vm_was_running = runstate_is_running();
    global_state_store();
    ret = vm_stop(RUN_STATE_FINISH_MIGRATE);
    TRACE("migration_completion_stopped", "ret %d", ret);
    if (ret < 0) {
        bql_unlock();
        error_setg_errno(errp, -ret, "Failed to stop the VM");
        return false;
    }
    *stopped = true;
    if (!migration_maybe_pause(s)) {
        bql_unlock();
        error_setg(errp, "Migration cancelled before switchover");
        return false;
    }
    migration_rate_set(0);
    migration_stats_set_phase(MIGRATION_PHASE_DOWNTIME);
    ret = qemu_savevm_state_complete_precopy(f, errp);
    bql_unlock();
    TRACE("migration_completion_saved", "ret %d bytes %" PRIu64, ret,
          qemu_file_transferred(f));
    if (ret < 0) {
        return false;
    }
    ret = qemu_fflush(f);
    TRACE("migration_completion_flushed", "ret %d", ret);
    if (ret < 0) {
        qemu_file_get_error_obj(f, errp);
        if (!*errp) {
            error_setg_errno(errp, -ret, "Failed to send the final state");
        }
        return false;
    }
    if (s->rp_thread && migrate_rp_wait_shut(s, errp) < 0) {
        return false;
    }
    TRACE("migration_completion_done", "rp %d", s->rp_thread != NULL);
    return true;
}

/*
 * Close the stream.  The channel is closed first on its own so that its
 * error text survives (a command channel reports the command's exit
 * status there); qemu_fclose() then finds it closed.
 */
static bool migration_close_file(MigrationState *s, Error **errp)
{
    QEMUFile *f = s->to_dst_file;
    Error *local_err = NULL;
    int ret;

    s->to_dst_file = NULL;
    if (!f) {
        return true;
    }
    ret = qemu_fflush(f);
    if (ret < 0) {
        qemu_file_get_error_obj(f, &local_err);
    } else if (qio_channel_close(qemu_file_get_ioc(f), &local_err) < 0) {
        ret = -EIO;
    }
    qemu_fclose(f);
    if (ret < 0) {
        if (!local_err) {
            error_setg_errno(&local_err, -ret,
                             "Failed to close the migration stream");
        }
        error_propagate(errp, local_err);
        return false;
    }
    return true;
}

static void migration_thread_join_bh(void *opaque)
{
    MigrationState *s = opaque;

    if (s->thread && !__atomic_load_n(&s->thread_running, __ATOMIC_ACQUIRE)) {
        g_thread_join(s->thread);
        s->thread = NULL;
    }
}

/*
 * Kernel buffer tuning of the migration channel (best effort: failures
 * are ignored, the defaults work).  out: this side sends the stream.
 *
 * Sockets keep the kernel's autotuned buffers.  A fixed loopback
 * SO_SNDBUF cap of 128 KiB (meant to keep in-flight pages cache-resident)
 * was measured against autotuning on a quiet 2-core box, 2 GiB of random
 * RAM over loopback tcp, medians of 4 in one run: 128 KiB 1.93, 256 KiB
 * 1.94, 512 KiB 2.01, 1 MiB 2.26, autotuned 2.45 GiB/s (destination CPU
 * 0.95 -> 0.75 s: fuller reads); so no cap.  UNIX sockets: the default
 * (208 KiB) measured best; 1 and 4 MiB raised the destination's CPU.
 *
 * Pipes of exec: channels: 1 MiB instead of 64 KiB, so the child (e.g.
 * "cat > file") is woken once per MiB rather than per 64 KiB.  Measured
 * (512 MiB to "exec:cat > file", medians of 4 in one run): 0.67 -> 0.92
 * GiB/s; there the child and the file system are the bottleneck.
 */
#define MIGRATION_PIPE_SIZE (1 * MiB) /* fs.pipe-max-size default */

static void migration_channel_tune(QIOChannel *ioc, bool out)
{
    const char *type = ioc->klass->type_name;

    if (!strcmp(type, "qio-channel-command")) {
        QIOChannelCommand *cioc = (QIOChannelCommand *)ioc;
        int fd = out ? cioc->writefd : cioc->readfd;

        if (fd >= 0) {
            fcntl(fd, F_SETPIPE_SZ, MIGRATION_PIPE_SIZE);
        }
    }
}

static gpointer migration_thread(gpointer opaque)
{
    MigrationState *s = opaque;
    Error *err = NULL;
    QIOChannel *ioc;
    QEMUFile *f = NULL;
    MigrationPeriod period;
    MigrationShrink shrink;
    RunState prev_state = RUN_STATE_RUNNING;
    bool stopped = false;
    bool setup_done = false;
    bool ok = false;
    uint64_t total_bytes;
    int64_t downtime_end;

    ioc = migrate_transport_open(s, &err);
    if (!ioc) {
        goto fail;
    }
    if (migrate_cancelled(s)) {
        qio_channel_unref(ioc);
        goto fail;
    }
    migrate_channel_drop(s);
    migrate_channel_set(s, ioc);
    migration_channel_tune(ioc, true);
    f = qemu_file_new_output(ioc);
    qio_channel_unref(ioc);
    s->to_dst_file = f;
    migration_rate_set(migrate_max_bandwidth() / XFER_LIMIT_RATIO);
    __atomic_store_n(&s->rate_limit_changed, false, __ATOMIC_RELEASE);

    qemu_savevm_state_header(f);
    if (migrate_return_path()) {
        if (!migrate_rp_start(s, &err)) {
            goto fail;
        }
        qemu_savevm_send_open_return_path(f);
        qemu_savevm_send_ping(f, 1);
    }
    bql_lock();
    setup_done = true;
    migration_stats_set_phase(MIGRATION_PHASE_PRECOPY);
    if (qemu_savevm_state_setup(f, &err) < 0) {
        bql_unlock();
        goto fail;
    }
    bql_unlock();

    g_mutex_lock(&s->lock);
    s->setup_time = migration_clock_ms() - s->start_time;
    g_mutex_unlock(&s->lock);
    if (!migrate_set_status(s, MIGRATION_STATUS_SETUP,
                            MIGRATION_STATUS_ACTIVE)) {
        goto fail; /* cancelled */
    }

    memset(&period, 0, sizeof(period));
    memset(&shrink, 0, sizeof(shrink));
    period.start_ms = migration_clock_ms();
    period.start_bytes = qemu_file_transferred(f);
    period.start_pages = migration_stats_pages_sent();

    for (;;) {
        uint64_t must = 0, can = 0, threshold;
        int64_t now = migration_clock_ms();

        if (migration_status() != MIGRATION_STATUS_ACTIVE) {
            goto fail;
        }
        if (qemu_file_get_error(f)) {
            qemu_file_get_error_obj(f, &err);
            goto fail;
        }
        if (s->rp_error) {
            goto fail;
        }
        if (now >= period.start_ms + BUFFER_DELAY_MS) {
            migration_update_counters(s, f, &period, now);
        } else if (migration_rate_exceeded()) {
            /* Budget spent: push out what is queued, sleep to the end. */
            qemu_fflush(f);
            now = migration_clock_ms();
            if (now < period.start_ms + BUFFER_DELAY_MS) {
                g_usleep((period.start_ms + BUFFER_DELAY_MS - now) * 1000);
            }
            continue;
        }

        g_mutex_lock(&s->lock);
        threshold = s->threshold_size;
        g_mutex_unlock(&s->lock);
        qemu_savevm_state_pending_estimate(&must, &can);
        if (shrink.active && must + can > 0) {
            /* an extra pass: send what the last check found first */
        } else if (must + can <= threshold) {
            shrink.active = false; /* migration_shrink_continue() decides */
            must = can = 0;
            qemu_savevm_state_pending_exact(&must, &can);
            if (must + can == 0 ||
                (must + can < threshold &&
                 !migration_shrink_continue(
                     &shrink, must + can, migration_bandwidth_estimate(&period),
                     ram_dirty_rate()))) {
                TRACE("migration_switchover",
                      "pending %" PRIu64 " threshold %" PRIu64 " fixed %" PRId64
                      " ms",
                      must + can, threshold, migration_switchover_fixed_ms());
                break;
            }
        }
        if (qemu_savevm_state_iterate(f) < 0) {
            qemu_file_get_error_obj(f, &err);
            goto fail;
        }
    }

    if (!migration_completion(s, f, &prev_state, &stopped, &err)) {
        goto fail;
    }
    /*
     * Downtime ends here, as QEMU 7.2 counts it: the final state is
     * flushed and (with a return path) the destination has said it
     * loaded it.  Stopping dirty logging, freeing bitmaps and closing
     * the channel come after and are not part of it.
     */
    downtime_end = migration_clock_ms();
    qemu_savevm_state_cleanup();
    setup_done = false;
    migrate_rp_cleanup(s);
    migrate_channel_drop(s);
    total_bytes = qemu_file_transferred(f);
    if (!migration_close_file(s, &err)) {
        goto fail;
    }

    /* Final counters, then the status: both visible together. */
    g_mutex_lock(&s->lock);
    {
        int64_t end = migration_clock_ms();
        int64_t xfer_time;

        s->downtime = downtime_end - s->downtime_start;
        TRACE("migration_completed",
              "downtime %" PRId64 " ms, cleanup+close %" PRId64 " ms",
              s->downtime, end - downtime_end);
        s->total_time = end - s->start_time;
        xfer_time = s->total_time - s->setup_time;
        if (xfer_time > 0) {
            s->mbps = total_bytes * 8.0 / xfer_time / 1000.0;
        }
    }
    g_mutex_unlock(&s->lock);
    bql_lock();
    runstate_set(RUN_STATE_POSTMIGRATE);
    migrate_set_status_from_current(s, MIGRATION_STATUS_COMPLETED);
    bql_unlock();
    ok = true;

fail:
    if (!ok) {
        if (err) {
            migrate_set_error(s, err);
        } else if (!migrate_cancelled(s)) {
            error_setg(&err, "Migration failed");
            migrate_set_error(s, err);
        }
        /* Wake anyone blocked on the channel (return path). */
        g_mutex_lock(&s->lock);
        if (s->ioc) {
            qio_channel_shutdown(s->ioc, QIO_CHANNEL_SHUTDOWN_BOTH, NULL);
        }
        g_mutex_unlock(&s->lock);
        migrate_rp_cleanup(s);
        if (setup_done) {
            qemu_savevm_state_cleanup();
        }
        migration_close_file(s, NULL);
        migrate_channel_drop(s);
        if (s->fd >= 0) {
            close(s->fd);
            s->fd = -1;
        }
        bql_lock();
        if (stopped) {
            if (s->vm_was_running) {
                vm_start();
            } else {
                runstate_set(prev_state);
            }
        }
        migrate_set_status_from_current(s, MIGRATION_STATUS_FAILED);
        bql_unlock();
    }
    error_free(err);
    migration_stats_set_phase(MIGRATION_PHASE_PRECOPY);
    __atomic_store_n(&s->thread_running, false, __ATOMIC_RELEASE);
    main_loop_schedule(migration_thread_join_bh, s);
    return NULL;
}

/*
 * rdma: URIs.  There is no RDMA transport yet; with tls-creds set the
 * answer says first that TLS cannot be had over RDMA at all (RDMA moves
 * pages by remote DMA, outside any TLS session).  Returns true (errp
 * set) for an rdma: URI.
 */
static bool migrate_rdma_refuse(const char *uri, Error **errp)
{
    const char *creds = migrate_tls_creds();

    if (!g_str_has_prefix(uri, "rdma:")) {
        return false;
    }
    if (creds && *creds) {
        error_setg(errp, "TLS is not supported with RDMA migration "
                         "(tls-creds is set)");
    } else {
        error_setg(errp, "RDMA migration is not supported by Tern yet");
    }
    return true;
}

static bool migrate_uri_valid(const char *uri)
{
    static const char *const prefixes[] = {
        "tcp:", "unix:", "vsock:", "exec:", "fd:", "file:",
    };

    for (size_t i = 0; i < ARRAY_SIZE(prefixes); i++) {
        if (g_str_has_prefix(uri, prefixes[i])) {
            return true;
        }
    }
    return false;
}

bool migrate_start(const char *uri, Error **errp)
{
    MigrationState *s = migrate_get_current();
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
    if (migrate_rdma_refuse(uri, errp)) {
        return false;
    }
    if (!migrate_uri_valid(uri)) {
        error_setg(errp, "Parameter 'uri' expects a valid migration "
                         "protocol");
        return false;
    }
    if (g_str_has_prefix(uri, "fd:")) {
        fd = monitor_fd_param(uri + 3, errp);
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
    s->setup_time = s->total_time = s->downtime = 0;
    s->expected_downtime = migrate_downtime_limit();
    s->mbps = 0;
    s->pages_per_second = 0;
    s->threshold_size = 0;
    s->rp_error = 0;
    s->rp_shut_received = false;
    s->pause_continue = false;
    g_mutex_unlock(&s->lock);
    migration_stats_reset();
    ram_mig_init();

    __atomic_store_n(&s->status, MIGRATION_STATUS_NONE, __ATOMIC_RELEASE);
    migrate_set_status(s, MIGRATION_STATUS_NONE, MIGRATION_STATUS_SETUP);
    s->thread_running = true;
    s->thread = g_thread_new("live_migration", migration_thread, s);
    return true;
}

void migrate_cancel(void)
{
    MigrationState *s = migrate_get_current();

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
    g_mutex_lock(&s->lock);
    if (s->ioc) {
        qio_channel_shutdown(s->ioc, QIO_CHANNEL_SHUTDOWN_BOTH, NULL);
    }
    g_mutex_unlock(&s->lock);
    g_mutex_lock(&s->pause_lock);
    g_cond_broadcast(&s->pause_cond);
    g_mutex_unlock(&s->pause_lock);
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

/* ---------------- query-migrate ---------------- */

/* The query-migrate "ram" members (completed: remaining and rate read 0). */
static void migration_stats_to_json(json_object *ram, bool completed)
{
    uint64_t normal = stat64_get(&mig_stats.normal_pages);
    uint64_t remaining = migration_stats_bytes_remaining();
    uint64_t rate = stat64_get(&mig_stats.dirty_pages_rate);

    json_object_object_add(
        ram, "transferred",
        json_object_new_uint64(stat64_get(&mig_stats.transferred)));
    json_object_object_add(ram, "remaining",
                           json_object_new_uint64(completed ? 0 : remaining));
    json_object_object_add(ram, "total",
                           json_object_new_uint64(ram_bytes_total()));
    json_object_object_add(
        ram, "duplicate",
        json_object_new_uint64(stat64_get(&mig_stats.zero_pages)));
    json_object_object_add(ram, "skipped", json_object_new_uint64(0));
    json_object_object_add(ram, "normal", json_object_new_uint64(normal));
    json_object_object_add(ram, "normal-bytes",
                           json_object_new_uint64(normal * TARGET_PAGE_SIZE));
    json_object_object_add(ram, "dirty-pages-rate",
                           json_object_new_uint64(completed ? 0 : rate));
    json_object_object_add(
        ram, "dirty-sync-count",
        json_object_new_uint64(stat64_get(&mig_stats.dirty_sync_count)));
    json_object_object_add(
        ram, "postcopy-requests",
        json_object_new_uint64(stat64_get(&mig_stats.postcopy_requests)));
    json_object_object_add(ram, "page-size",
                           json_object_new_uint64(TARGET_PAGE_SIZE));
    json_object_object_add(
        ram, "multifd-bytes",
        json_object_new_uint64(stat64_get(&mig_stats.multifd_bytes)));
    json_object_object_add(
        ram, "precopy-bytes",
        json_object_new_uint64(stat64_get(&mig_stats.precopy_bytes)));
    json_object_object_add(
        ram, "downtime-bytes",
        json_object_new_uint64(stat64_get(&mig_stats.downtime_bytes)));
    json_object_object_add(
        ram, "postcopy-bytes",
        json_object_new_uint64(stat64_get(&mig_stats.postcopy_bytes)));
    json_object_object_add(ram, "dirty-sync-missed-zero-copy",
                           json_object_new_uint64(0));
}

static void migrate_query_source(json_object *info)
{
    MigrationState *s = migrate_get_current();
    int status = migration_status();
    bool completed = status == MIGRATION_STATUS_COMPLETED;
    json_object *ram;

    switch (status) {
    case MIGRATION_STATUS_NONE:
        return;
    case MIGRATION_STATUS_SETUP:
    case MIGRATION_STATUS_CANCELLED:
    case MIGRATION_STATUS_WAIT_UNPLUG:
        json_object_object_add(info, "status",
                               json_object_new_string(status_names[status]));
        return;
    case MIGRATION_STATUS_FAILED:
        json_object_object_add(info, "status",
                               json_object_new_string(status_names[status]));
        g_mutex_lock(&s->lock);
        if (s->error) {
            json_object_object_add(
                info, "error-desc",
                json_object_new_string(error_get_pretty(s->error)));
        }
        g_mutex_unlock(&s->lock);
        return;
    default:
        break;
    }

    g_mutex_lock(&s->lock);
    json_object_object_add(info, "status",
                           json_object_new_string(status_names[status]));
    json_object_object_add(info, "setup-time",
                           json_object_new_int64(s->setup_time));
    if (completed) {
        json_object_object_add(info, "total-time",
                               json_object_new_int64(s->total_time));
        json_object_object_add(info, "downtime",
                               json_object_new_int64(s->downtime));
    } else {
        json_object_object_add(
            info, "total-time",
            json_object_new_int64(migration_clock_ms() - s->start_time));
        json_object_object_add(info, "expected-downtime",
                               json_object_new_int64(s->expected_downtime));
    }
    ram = json_object_new_object();
    migration_stats_to_json(ram, completed);
    json_object_object_add(ram, "mbps", json_object_new_double(s->mbps));
    json_object_object_add(ram, "pages-per-second",
                           json_object_new_uint64(s->pages_per_second));
    g_mutex_unlock(&s->lock);
    json_object_object_add(info, "ram", ram);
    if (cpu_throttle_active()) {
        json_object_object_add(
            info, "cpu-throttle-percentage",
            json_object_new_int64(cpu_throttle_get_percentage()));
    }
}

static void migrate_query_destination(json_object *info)
{
    MigrationIncomingState *mis = migration_incoming_get_current();
    int status = migration_incoming_status();

    if (mis->socket_addresses && mis->socket_addresses->len) {
        json_object *list = json_object_new_array();

        for (guint i = 0; i < mis->socket_addresses->len; i++) {
            SocketAddress *a = g_ptr_array_index(mis->socket_addresses, i);
            json_object *o = json_object_new_object();

            switch (a->type) {
            case SOCKET_ADDRESS_TYPE_INET:
                json_object_object_add(o, "port",
                                       json_object_new_string(a->port));
                if (a->ipv4_only || strchr(a->host, ':') == NULL) {
                    json_object_object_add(o, "ipv4",
                                           json_object_new_boolean(true));
                } else {
                    json_object_object_add(o, "ipv6",
                                           json_object_new_boolean(true));
                }
                json_object_object_add(o, "host",
                                       json_object_new_string(a->host));
                json_object_object_add(o, "type",
                                       json_object_new_string("inet"));
                break;
            case SOCKET_ADDRESS_TYPE_UNIX:
                json_object_object_add(o, "path",
                                       json_object_new_string(a->path));
                json_object_object_add(o, "type",
                                       json_object_new_string("unix"));
                break;
            case SOCKET_ADDRESS_TYPE_VSOCK:
                json_object_object_add(o, "cid",
                                       json_object_new_string(a->cid));
                json_object_object_add(o, "port",
                                       json_object_new_string(a->port));
                json_object_object_add(o, "type",
                                       json_object_new_string("vsock"));
                break;
            default:
                json_object_object_add(o, "str",
                                       json_object_new_string(a->fd_name));
                json_object_object_add(o, "type", json_object_new_string("fd"));
                break;
            }
            json_object_array_add(list, o);
        }
        json_object_object_add(info, "socket-address", list);
    }
    if (status != MIGRATION_STATUS_NONE) {
        json_object_object_add(info, "status",
                               json_object_new_string(status_names[status]));
    }
}

json_object *migrate_query(void)
{
    json_object *info = json_object_new_object();

    migrate_query_destination(info);
    migrate_query_source(info);
    return info;
}

/* ---------------- incoming ---------------- */

typedef struct IncomingResult {
    int ret;
    Error *err;
} IncomingResult;

/* Main thread: the stream has been read (or failed). */
static void migration_incoming_done_bh(void *opaque)
{
    MigrationIncomingState *mis = migration_incoming_get_current();
    IncomingResult *r = opaque;
    RunState received;

    if (mis->load_thread) {
        g_thread_join(mis->load_thread);
        mis->load_thread = NULL;
    }
    if (r->ret < 0) {
        if (mis->to_src_file) {
            migrate_send_rp_shut(mis, 1);
        }
        /*
         * 7.2 prints the specific error, then the errno line; a bare
         * "Input/output error" (truncated stream) only once.
         */
        if (r->err && strcmp(error_get_pretty(r->err), g_strerror(-r->ret))) {
            error_report_err(r->err);
            r->err = NULL;
        }
        error_free(r->err);
        r->err = NULL;
        error_report("load of migration failed: %s", g_strerror(-r->ret));
        migrate_incoming_set_status(mis, MIGRATION_STATUS_FAILED);
        exit(EXIT_FAILURE);
    }

    if (mis->to_src_file) {
        migrate_send_rp_shut(mis, 0);
        qemu_fclose(mis->to_src_file);
        mis->to_src_file = NULL;
    }
    qemu_fclose(mis->from_src_file);
    mis->from_src_file = NULL;
    if (mis->socket_addresses) {
        g_ptr_array_free(mis->socket_addresses, true);
        mis->socket_addresses = NULL;
    }

    /* QEMU 7.2's rule (wire format §2.5). */
    if (!global_state_received(&received)) {
        received = RUN_STATE_RUNNING;
    }
    if (received == RUN_STATE_RUNNING) {
        if (autostart) {
            vm_start();
        } else {
            runstate_set(RUN_STATE_PAUSED);
        }
    } else {
        runstate_set(received);
    }
    TRACE("migration_incoming_started", "run state %s",
          runstate_is_running() ? "running" : "stopped");
    migrate_incoming_set_status(mis, MIGRATION_STATUS_COMPLETED);
    g_free(r);
}

static gpointer migration_incoming_thread(gpointer opaque)
{
    MigrationIncomingState *mis = opaque;
    IncomingResult *r = g_new0(IncomingResult, 1);

    r->ret = qemu_loadvm_state(mis->from_src_file, &r->err);
    TRACE("migration_incoming_loaded", "ret %d", r->ret);
    main_loop_schedule(migration_incoming_done_bh, r);
    return NULL;
}

void migration_incoming_process(QIOChannel *ioc)
{
    MigrationIncomingState *mis = migration_incoming_get_current();

    ram_mig_init();
    migration_channel_tune(ioc, false);
    mis->from_src_file = qemu_file_new_input(ioc);
    global_state_reset_received();
    mis->start_time = migration_clock_ms();
    migrate_incoming_set_status(mis, MIGRATION_STATUS_ACTIVE);
    mis->load_thread =
        g_thread_new("mig/dst/load", migration_incoming_thread, mis);
}

void migration_incoming_fail(Error *err)
{
    error_report_err(err);
    error_report("load of migration failed: %s", g_strerror(EIO));
    exit(EXIT_FAILURE);
}

bool migration_incoming_start(const char *uri, Error **errp)
{
    MigrationIncomingState *mis = migration_incoming_get_current();
    bool ok;

    if (!strcmp(uri, "defer")) {
        mis->deferred = true;
        return true;
    }
    if (migrate_rdma_refuse(uri, errp)) {
        return false;
    }
    migration_event_status(MIGRATION_STATUS_SETUP);
    if (g_str_has_prefix(uri, "tcp:")) {
        ok = socket_incoming_start(uri + 4, errp);
    } else if (g_str_has_prefix(uri, "unix:") ||
               g_str_has_prefix(uri, "vsock:")) {
        ok = socket_incoming_start(uri, errp);
    } else if (g_str_has_prefix(uri, "exec:")) {
        ok = exec_incoming_start(uri + 5, errp);
    } else if (g_str_has_prefix(uri, "fd:")) {
        ok = fd_incoming_start(uri + 3, errp);
    } else if (g_str_has_prefix(uri, "file:")) {
        ok = file_incoming_start(uri + 5, errp);
    } else {
        error_setg(errp, "unknown migration protocol: %s", uri);
        return false;
    }
    if (ok) {
        mis->started = true;
    }
    return ok;
}

bool migrate_incoming_qmp(const char *uri, Error **errp)
{
    MigrationIncomingState *mis = migration_incoming_get_current();

    if (mis->started) {
        error_setg(errp, "The incoming migration has already been started");
        return false;
    }
    if (runstate_get() != RUN_STATE_INMIGRATE) {
        error_setg(errp, "'-incoming' was not specified on the command "
                         "line");
        return false;
    }
    return migration_incoming_start(uri, errp);
}

void migration_init(void)
{
    MigrationState *s = migrate_get_current();
    MigrationIncomingState *mis = migration_incoming_get_current();

    g_mutex_init(&s->lock);
    g_mutex_init(&s->pause_lock);
    g_cond_init(&s->pause_cond);
    s->fd = -1;
    g_mutex_init(&mis->rp_lock);
    migrate_options_reset();
}
