/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * migration-thread.c: the outgoing migration thread, phase by phase.
 *
 *   connect     open the transport (blocking), maybe TLS, create the
 *               stream file, set the rate limit
 *   setup       header, return path, the START sections; status active
 *   iterate     one step per call: check for errors, wait out a spent
 *               rate-limit period, measure, decide whether to switch
 *               over, else send more
 *   switchover  stop the guest (maybe pause-before-switchover), send
 *               the rest, wait for the destination's SHUT
 *   finish      release everything, final counters; status completed
 *
 * Each phase returns what happens next (MigrationNext); the thread body
 * only chains them, and every outcome goes through one cleanup,
 * migration_run_end().  What a phase has set up is recorded in
 * MigrationRun, so the cleanup knows what to undo.
 *
 * Postcopy (capability postcopy-ram, after migrate-start-postcopy): the
 * iterate decision answers MIGRATION_NEXT_POSTCOPY instead, and the
 * postcopy phase replaces switchover: stop the guest, send the discard
 * ranges and the package (LISTEN, device state, RUN) that starts it on
 * the destination, then the remaining pages, requested ones first.  A
 * broken connection then pauses (postcopy-paused) until migrate -r gives
 * a new URI; the phase goes on after the resume handshake
 * (postcopy-recover.h).
 */
#include "qemu/osdep.h"
#include "qapi/error.h"
#include "qemu/error-report.h"
#include "qemu/trace.h"
#include "qemu/bswap.h"
#include "io/channel-buffer.h"
#include "migration/messages.h"
#include "migration/options.h"
#include "migration/savevm.h"
#include "migration/global_state.h"
#include "sysemu/runstate.h"
#include "sysemu/main-loop.h"
#include "migration.h"
#include "migration-stats.h"
#include "multifd.h"
#include "postcopy-preempt.h"
#include "postcopy-recover.h"
#include "precopy-recover.h"
#include "return-path.h"
#include "ram.h"
#include "rate-limit.h"
#include "shrink.h"
#include "switchover.h"
#include "transport.h"
#include "watchdog.h"

/* The value of the PING sent after OPEN_RETURN_PATH (as QEMU 7.2). */
#define MIGRATION_FIRST_PING 1
#define BITS_PER_BYTE 8.0
/* bits per ms in one Mbit/s */
#define BITS_PER_MS_PER_MBPS 1000.0

/* What a phase says happens next. */
typedef enum MigrationNext {
    MIGRATION_NEXT_CONTINUE,   /* go on with the next phase / iteration */
    MIGRATION_NEXT_SWITCHOVER, /* pending RAM fits: stop the guest */
    MIGRATION_NEXT_POSTCOPY,   /* start the guest on the destination and
                                  serve the rest on demand */
    MIGRATION_NEXT_FAIL,       /* error or cancel (error in MigrationRun.err) */
    MIGRATION_NEXT_DONE,       /* completed */
} MigrationNext;

/* One run of the migration thread: what the phases set up, for cleanup. */
typedef struct MigrationRun {
    MigrationState *s;
    QEMUFile *f; /* == s->to_dst_file once connected */
    Error *err;  /* first error of this run (ours) */
    MigrationPeriod period;
    MigrationShrink shrink;
    RunState prev_state;   /* run state before we stopped the guest */
    bool savevm_setup;     /* savevm handlers set up: clean them up */
    bool vm_stopped;       /* we stopped the guest: restart it on failure */
    bool final_sent;       /* the final state may have reached the peer */
    bool postcopy;         /* the destination may be running the guest */
    int64_t downtime_end;  /* realtime ms */
    uint64_t paused_bytes; /* main-stream bytes of connections a pause closed */
} MigrationRun;

static bool migrate_cancelled(void)
{
    return migration_status() == MIGRATION_STATUS_CANCELLING;
}

/*
 * Open the main channel of the transport named by s->uri (blocking),
 * then TLS if configured.  The raw channel is registered first so that
 * migrate_cancel can shut it down while TLS connects.
 */
static QIOChannel *migrate_transport_open(MigrationState *s,
                                          MigrationChannelType type,
                                          Error **errp)
{
    const MigrationTransport *t = migration_transport_find(s->uri);
    const char *arg;
    QIOChannel *ioc, *tls;
    char *host;

    if (!t) {
        error_setg(errp, "Parameter 'uri' expects a valid migration "
                         "protocol");
        return NULL;
    }
    arg = migration_transport_arg(t, s->uri);
    ioc = t->outgoing_open(s, arg, errp);
    if (!ioc) {
        return NULL;
    }
    migrate_channel_add(s, type, ioc);
    host = t->tls_hostname ? t->tls_hostname(arg) : NULL;
    tls = migration_channel_outgoing(ioc, host, errp); /* takes ioc's ref */
    g_free(host);
    if (tls && tls != ioc) {
        /* the list holds the raw channel (ioc still valid): swap */
        migrate_channel_remove(s, ioc);
        migrate_channel_add(s, type, tls);
    }
    return tls;
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

/* ---- connect ---- */

/*
 * With multifd: is the transport able to carry the extra channels?
 * (checked before anything is opened, QEMU 7.2's text)
 */
static bool migration_multifd_allowed(MigrationState *s, Error **errp)
{
    const MigrationTransport *t = migration_transport_find(s->uri);

    return !t || migration_transport_check_caps(t, errp);
}

/* The multifd channels, after the main one (multifd-send.c). */
static bool migration_multifd_connect(MigrationState *s, Error **errp)
{
    const MigrationTransport *t = migration_transport_find(s->uri);
    const char *arg = migration_transport_arg(t, s->uri);
    char *host;
    bool ok;

    if (!migrate_multifd_connections()) {
        return true;
    }
    host = t->tls_hostname ? t->tls_hostname(arg) : NULL;
    ok = multifd_send_connect(s, t, arg, host, errp);
    g_free(host);
    return ok;
}

/*
 * postcopy-preempt: the second channel, right after the main one (the
 * destination tells them apart by their order).
 */
static bool migration_preempt_connect(MigrationState *s, Error **errp)
{
    const MigrationTransport *t = migration_transport_find(s->uri);
    QIOChannel *ioc;

    if (!migrate_cap(MIGRATION_CAPABILITY_POSTCOPY_PREEMPT)) {
        return true;
    }
    if (!t || !t->multi_channel) {
        error_setg(errp, "postcopy-preempt is not supported by current "
                         "protocol");
        return false;
    }
    ioc = migrate_transport_open(s, MIGRATION_CHANNEL_PREEMPT, errp);
    if (!ioc) {
        return false;
    }
    migration_channel_tune(ioc, true);
    postcopy_preempt_set_channel(s, ioc);
    qio_channel_unref(ioc);
    return true;
}

static MigrationNext migration_phase_connect(MigrationRun *run)
{
    MigrationState *s = run->s;
    QIOChannel *ioc;

    if (!migration_multifd_allowed(s, &run->err)) {
        return MIGRATION_NEXT_FAIL;
    }
    postcopy_preempt_requests_reset(s);
    ioc = migrate_transport_open(s, MIGRATION_CHANNEL_MAIN, &run->err);
    if (!ioc) {
        return MIGRATION_NEXT_FAIL;
    }
    if (migrate_cancelled() || !migration_multifd_connect(s, &run->err) ||
        !migration_preempt_connect(s, &run->err)) {
        qio_channel_unref(ioc);
        return MIGRATION_NEXT_FAIL;
    }
    migration_channel_tune(ioc, true);
    run->f = qemu_file_new_output(ioc);
    qio_channel_unref(ioc);
    s->to_dst_file = run->f;
    migration_rate_set(migration_period_rate_limit());
    __atomic_store_n(&s->rate_limit_changed, false, __ATOMIC_RELEASE);
    return MIGRATION_NEXT_CONTINUE;
}

/* ---- setup ---- */

/* POSTCOPY_ADVISE: page size summary and target page size. */
static void migration_postcopy_send_advise(QEMUFile *f)
{
    uint8_t data[MIG_CMD_POSTCOPY_ADVISE_LEN];

    stq_be_p(data, ram_pagesize_summary());
    stq_be_p(data + 8, TARGET_PAGE_SIZE);
    qemu_savevm_command_send(f, MIG_CMD_POSTCOPY_ADVISE, sizeof(data), data);
}

/*
 * Open a return path to learn the destination's verdict?  With the
 * return-path or postcopy-ram capability, and wherever the channel
 * carries a reply (a socket: tcp:, unix:, vsock:, a socket fd:): QEMU
 * 7.2 and Tern destinations answer OPEN_RETURN_PATH whatever their
 * capabilities, and the source only says completed after their SHUT 0
 * (docs/migration.md, "What happens when things go wrong").
 */
static bool migration_wants_verdict(MigrationState *s)
{
    return migrate_return_path() || migrate_postcopy_ram() ||
           migration_transport_carries_reply(migration_transport_find(s->uri),
                                             qemu_file_get_ioc(s->to_dst_file));
}

static MigrationNext migration_phase_setup(MigrationRun *run)
{
    MigrationState *s = run->s;
    int ret;

    qemu_savevm_state_header(run->f);
    if (migration_wants_verdict(s)) {
        if (!migrate_rp_start(s, &run->err)) {
            return MIGRATION_NEXT_FAIL;
        }
        qemu_savevm_send_open_return_path(run->f);
        qemu_savevm_send_ping(run->f, MIGRATION_FIRST_PING);
    }
    /* every migration: forget a previous one's agreements */
    precopy_recover_setup(run->f, s->rp_thread != NULL);
    if (s->rp_thread) {
        postcopy_preempt_ask_requests(s, run->f);
    }
    if (migrate_postcopy_ram()) {
        migration_postcopy_send_advise(run->f);
        /*
         * The destination checks and prepares while RAM setup syncs the
         * bitmaps: an early migrate-start-postcopy switches sooner.
         * (Not with multifd: its channels' count check wants them all
         * before the main stream's first bytes.)
         */
        qemu_fflush(run->f);
    }
    bql_lock();
    run->savevm_setup = true;
    migration_stats_set_phase(MIGRATION_PHASE_PRECOPY);
    ret = qemu_savevm_state_setup(run->f, &run->err);
    bql_unlock();
    if (ret < 0) {
        return MIGRATION_NEXT_FAIL;
    }

    g_mutex_lock(&s->lock);
    s->timing.setup_time = migration_clock_ms() - s->start_time;
    g_mutex_unlock(&s->lock);
    if (!migrate_set_status(s, MIGRATION_STATUS_SETUP,
                            MIGRATION_STATUS_ACTIVE)) {
        return MIGRATION_NEXT_FAIL; /* cancelled */
    }
    memset(&run->shrink, 0, sizeof(run->shrink));
    migration_period_start(&run->period, migration_clock_ms(),
                           migration_transferred_bytes(run->f));
    return MIGRATION_NEXT_CONTINUE;
}

/* ---- iterate ---- */

/* Anything that ends the iteration: cancel, stream or return-path error. */
static bool migration_iterate_healthy(MigrationRun *run)
{
    if (migration_status() != MIGRATION_STATUS_ACTIVE) {
        return false;
    }
    if (qemu_file_get_error(run->f)) {
        qemu_file_get_error_obj(run->f, &run->err);
        return false;
    }
    return !run->s->rp_error;
}

/*
 * Pending RAM against the threshold: SWITCHOVER to switch over now,
 * POSTCOPY when it does not fit but migrate-start-postcopy was given,
 * CONTINUE otherwise.  The cheap estimate first; only when it fits, a
 * dirty-log sync for the exact figure, and then maybe an extra shrink
 * pass (shrink.c).
 */
static MigrationNext migration_iterate_decide(MigrationRun *run)
{
    MigrationState *s = run->s;
    uint64_t must = 0, can = 0, threshold;

    g_mutex_lock(&s->lock);
    threshold = s->threshold_size;
    g_mutex_unlock(&s->lock);
    qemu_savevm_state_pending_estimate(&must, &can);
    if (must + can > threshold &&
        __atomic_load_n(&s->start_postcopy, __ATOMIC_ACQUIRE)) {
        return MIGRATION_NEXT_POSTCOPY;
    }
    if (run->shrink.active && must + can > 0) {
        return MIGRATION_NEXT_CONTINUE; /* an extra pass: send what the
                                           last check found */
    }
    if (must + can > threshold) {
        return MIGRATION_NEXT_CONTINUE;
    }
    run->shrink.active = false; /* migration_shrink_continue() decides */
    must = can = 0;
    qemu_savevm_state_pending_exact(&must, &can);
    if (must + can > 0 &&
        (must + can >= threshold ||
         migration_shrink_continue(&run->shrink, must + can,
                                   migration_bandwidth_estimate(&run->period),
                                   ram_dirty_rate()))) {
        return MIGRATION_NEXT_CONTINUE;
    }
    TRACE("migration_switchover",
          "pending %" PRIu64 " threshold %" PRIu64 " fixed %" PRId64 " ms",
          must + can, threshold, migration_switchover_fixed_ms());
    return MIGRATION_NEXT_SWITCHOVER;
}

/*
 * One step of the iteration: returns CONTINUE to be called again,
 * SWITCHOVER when the rest fits in the downtime, POSTCOPY when asked to
 * switch to postcopy, FAIL on error/cancel.
 */
static MigrationNext migration_phase_iterate(MigrationRun *run)
{
    int64_t now = migration_clock_ms();
    MigrationNext next;

    if (!migration_iterate_healthy(run)) {
        return MIGRATION_NEXT_FAIL;
    }
    if (migration_period_over(&run->period, now)) {
        migration_period_update(run->s, &run->period,
                                migration_transferred_bytes(run->f), now);
    } else if (migration_rate_exceeded() &&
               !__atomic_load_n(&run->s->start_postcopy, __ATOMIC_ACQUIRE)) {
        /*
         * Budget spent: push out what is queued, sleep to the end (or
         * until migrate-start-postcopy, which switches over at once).
         */
        qemu_fflush(run->f);
        now = migration_clock_ms();
        migration_rate_wait(migration_period_left_ms(&run->period, now));
        return MIGRATION_NEXT_CONTINUE;
    }
    next = migration_iterate_decide(run);
    if (next != MIGRATION_NEXT_CONTINUE) {
        return next;
    }
    if (qemu_savevm_state_iterate(run->f) < 0) {
        qemu_file_get_error_obj(run->f, &run->err);
        return MIGRATION_NEXT_FAIL;
    }
    precopy_recover_tick(run->f);
    return MIGRATION_NEXT_CONTINUE;
}

/* ---- switchover ---- */

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
    while (!s->pause_continue && !migrate_cancelled()) {
        g_cond_wait(&s->pause_cond, &s->pause_lock);
    }
    s->pause_continue = false;
    g_mutex_unlock(&s->pause_lock);
    bql_lock();
    return migrate_set_status(s, MIGRATION_STATUS_PRE_SWITCHOVER,
                              MIGRATION_STATUS_DEVICE);
}

/* Stop the guest (BQL held, taken here and kept on success). */
static bool migration_stop_guest(MigrationRun *run)
{
    MigrationState *s = run->s;
    int ret;

    bql_lock();
    s->downtime_start = migration_clock_ms();
    TRACE("migration_completion_locked", "bql taken");
    run->prev_state = runstate_get();
    s->vm_was_running = runstate_is_running();
    global_state_store();
    ret = vm_stop(RUN_STATE_FINISH_MIGRATE);
    TRACE("migration_completion_stopped", "ret %d", ret);
    if (ret < 0) {
        bql_unlock();
        error_setg_errno(&run->err, -ret, "Failed to stop the VM");
        return false;
    }
    run->vm_stopped = true;
    if (!migration_maybe_pause(s)) {
        bql_unlock();
        error_setg(&run->err, "Migration cancelled before switchover");
        return false;
    }
    return true;
}

/*
 * Stop the guest and send the rest; CONTINUE when the stream is
 * complete and acknowledged (the guest then stays stopped).
 */
static MigrationNext migration_phase_switchover(MigrationRun *run)
{
    MigrationState *s = run->s;
    int ret;

    TRACE("migration_completion_start", "switching over");
    precopy_recover_disarm(run->f); /* from here on, section 11's rule */
    if (!migration_stop_guest(run)) {
        return MIGRATION_NEXT_FAIL;
    }
    migration_rate_set(0);
    migration_stats_set_phase(MIGRATION_PHASE_DOWNTIME);
    ret = qemu_savevm_state_complete_precopy(run->f, &run->err);
    /* with EOF queued, a destination may start from what we sent */
    run->final_sent = ret >= 0;
    bql_unlock();
    TRACE("migration_completion_saved", "ret %d bytes %" PRIu64, ret,
          qemu_file_transferred(run->f));
    if (ret < 0) {
        return MIGRATION_NEXT_FAIL;
    }
    ret = qemu_fflush(run->f);
    TRACE("migration_completion_flushed", "ret %d", ret);
    if (ret < 0) {
        qemu_file_get_error_obj(run->f, &run->err);
        if (!run->err) {
            error_setg_errno(&run->err, -ret, "Failed to send the final state");
        }
        return MIGRATION_NEXT_FAIL;
    }
    if (s->rp_thread && migrate_rp_wait_shut(s, &run->err) < 0) {
        return MIGRATION_NEXT_FAIL;
    }
    TRACE("migration_completion_done", "rp %d", s->rp_thread != NULL);
    /*
     * Downtime ends here, as QEMU 7.2 counts it: the final state is
     * flushed and (with a return path) the destination has said it
     * loaded it.  Stopping dirty logging, freeing bitmaps and closing
     * the channel come after and are not part of it.
     */
    run->downtime_end = migration_clock_ms();
    return MIGRATION_NEXT_CONTINUE;
}

/* ---- postcopy ---- */

/* PING values around the package, as QEMU 7.2 sends them. */
#define MIGRATION_PING_DISCARD 2
#define MIGRATION_PING_PACKAGE 3
#define MIGRATION_PING_POSTCOPY 4

/*
 * The package that starts the guest on the destination: LISTEN, the
 * device state, PING 3, RUN, sent as one PACKAGED command.  BQL held.
 */
static int migration_postcopy_send_package(MigrationRun *run)
{
    QIOChannelBuffer *bioc = qio_channel_buffer_new(4096);
    QEMUFile *fb = qemu_file_new_output(QIO_CHANNEL(bioc));
    int ret;

    qemu_savevm_command_send(fb, MIG_CMD_POSTCOPY_LISTEN, 0, NULL);
    ret = qemu_savevm_state_complete_devices(fb, &run->err);
    if (ret >= 0) {
        qemu_savevm_send_ping(fb, MIGRATION_PING_PACKAGE);
        qemu_savevm_command_send(fb, MIG_CMD_POSTCOPY_RUN, 0, NULL);
        ret = qemu_fflush(fb);
    }
    if (ret >= 0) {
        ret = qemu_savevm_send_packaged(run->f, bioc->data, bioc->usage,
                                        &run->err);
    }
    qemu_fclose(fb);
    qio_channel_unref(QIO_CHANNEL(bioc));
    return ret;
}

/*
 * Stop the guest and hand it over: discard ranges, the package, PING 4.
 * Returns with the BQL released; false with run->err set.
 */
static bool migration_postcopy_switch(MigrationRun *run)
{
    MigrationState *s = run->s;
    int ret;

    if (!migration_stop_guest(run)) {
        return false;
    }
    if (!migrate_set_status(s,
                            migration_status() == MIGRATION_STATUS_DEVICE
                                ? MIGRATION_STATUS_DEVICE
                                : MIGRATION_STATUS_ACTIVE,
                            MIGRATION_STATUS_POSTCOPY_ACTIVE)) {
        bql_unlock();
        return false; /* cancelled */
    }
    migration_rate_set(0);
    migration_stats_set_phase(MIGRATION_PHASE_DOWNTIME);
    ret = ram_postcopy_send_discard(run->f);
    TRACE("migration_postcopy_switch", "discard sent, ret %d", ret);
    if (ret >= 0) {
        qemu_savevm_send_ping(run->f, MIGRATION_PING_DISCARD);
        ret = migration_postcopy_send_package(run);
        TRACE("migration_postcopy_switch", "package sent, ret %d", ret);
    }
    /* from here on the destination may be running the guest */
    run->postcopy = run->final_sent = ret >= 0;
    if (ret >= 0) {
        qemu_savevm_send_ping(run->f, MIGRATION_PING_POSTCOPY);
        ret = qemu_fflush(run->f);
    }
    migration_stats_set_phase(MIGRATION_PHASE_POSTCOPY);
    bql_unlock();
    run->downtime_end = migration_clock_ms();
    if (ret < 0 && !run->err) {
        qemu_file_get_error_obj(run->f, &run->err);
    }
    return ret >= 0;
}

/* Postcopy goes on while nothing failed and nobody cancelled. */
static bool migration_postcopy_healthy(MigrationRun *run)
{
    if (migration_status() != MIGRATION_STATUS_POSTCOPY_ACTIVE) {
        return false;
    }
    if (qemu_file_get_error(run->f)) {
        qemu_file_get_error_obj(run->f, &run->err);
        return false;
    }
    return !run->s->rp_error;
}

/* Send the remaining pages (requested ones first) within the limit. */
static bool migration_postcopy_drain(MigrationRun *run)
{
    uint64_t limit = migrate_max_postcopy_bandwidth();
    int64_t now = migration_clock_ms();
    int ret = 0;

    migration_rate_set(limit / MIGRATION_PERIODS_PER_SEC);
    migration_period_start(&run->period, now,
                           migration_transferred_bytes(run->f));
    migration_rate_reset();
    while (ret == 0) {
        if (!migration_postcopy_healthy(run)) {
            return false;
        }
        now = migration_clock_ms();
        if (migration_period_over(&run->period, now)) {
            migration_period_start(&run->period, now,
                                   migration_transferred_bytes(run->f));
            migration_rate_reset();
        } else if (migration_rate_exceeded()) {
            /* a page request ends the wait (and is not rate limited) */
            qemu_fflush(run->f);
            migration_rate_wait(migration_period_left_ms(&run->period, now));
            continue;
        }
        ret = qemu_savevm_state_iterate(run->f);
    }
    if (ret < 0) {
        qemu_file_get_error_obj(run->f, &run->err);
        return false;
    }
    return true;
}

/* The remaining pages, EOF, the destination's SHUT 0: true when done. */
static bool migration_postcopy_finish(MigrationRun *run)
{
    if (!migration_postcopy_drain(run)) {
        return false;
    }
    migration_rate_set(0);
    if (qemu_savevm_state_complete_live(run->f, &run->err) < 0) {
        return false;
    }
    if (postcopy_preempt_send_eos(run->s) < 0) {
        error_setg(&run->err, "postcopy-preempt channel failed");
        return false;
    }
    qemu_savevm_state_send_eof(run->f);
    if (qemu_fflush(run->f) < 0) {
        qemu_file_get_error_obj(run->f, &run->err);
        return false;
    }
    return migrate_rp_wait_shut(run->s, &run->err) >= 0;
}

/* ---- pause and recover (postcopy-recover.h) ---- */

/*
 * The return path broke (its reader keeps a closed channel's error to
 * itself, see migrate_rp_fail()): make it the migration's error unless
 * one was recorded.  true if there was one.
 */
static bool migration_record_rp_error(MigrationState *s)
{
    if (!__atomic_load_n(&s->rp_error, __ATOMIC_ACQUIRE) || !s->rp_err) {
        return false;
    }
    migrate_set_error(s, s->rp_err);
    return true;
}

/*
 * The paused status a failure in status st may go to: postcopy-paused
 * while the guest runs on the destination (postcopy-active, or a
 * recovery that failed), precopy-paused in precopy with
 * x-precopy-recover agreed by the destination; else 0 (fail).
 */
static int migration_paused_status(int st)
{
    if (st == MIGRATION_STATUS_POSTCOPY_ACTIVE ||
        st == MIGRATION_STATUS_POSTCOPY_RECOVER) {
        return MIGRATION_STATUS_POSTCOPY_PAUSED;
    }
    if ((st == MIGRATION_STATUS_ACTIVE ||
         st == MIGRATION_STATUS_PRECOPY_RECOVER) &&
        precopy_recover_armed()) {
        return MIGRATION_STATUS_PRECOPY_PAUSED;
    }
    return 0;
}

/*
 * May this failure pause instead of failing?  Only in a status that has
 * a paused one, and only for a broken (or stalled) channel: not a
 * cancel, not the destination's SHUT with an error, not a bad
 * return-path message.
 */
static bool migration_may_pause(MigrationRun *run)
{
    MigrationState *s = run->s;

    if (!migration_paused_status(migration_status())) {
        return false;
    }
    if (__atomic_load_n(&s->rp_dest_failed, __ATOMIC_ACQUIRE)) {
        return false;
    }
    return !__atomic_load_n(&s->rp_error, __ATOMIC_ACQUIRE) ||
           s->rp_channel_failed;
}

/*
 * precopy-paused: error-desc says why, that the guest runs here, and
 * what to do.
 */
static void migration_pause_reason(MigrationState *s, int paused_status)
{
    Error *why = NULL;

    if (paused_status != MIGRATION_STATUS_PRECOPY_PAUSED) {
        return;
    }
    g_mutex_lock(&s->lock);
    error_setg(&why,
               "Precopy paused: %s; the guest keeps running here. "
               "'migrate-recover URI' on the destination, then 'migrate "
               "URI' with resume=true here, resumes it; migrate_cancel "
               "ends it",
               s->error ? error_get_pretty(s->error) : "the connection broke");
    error_free(s->error);
    s->error = why;
    g_mutex_unlock(&s->lock);
}

/*
 * Close every channel, keep everything else, and wait in paused_status
 * for migrate_resume() (true: status now postcopy-recover or
 * precopy-recover) or a cancel (false).  The error stays in error-desc
 * meanwhile.
 */
static bool migration_pause_wait(MigrationRun *run, int paused_status)
{
    MigrationState *s = run->s;
    int from = migration_status();
    bool resume;

    if (run->err) {
        migrate_set_error(s, run->err);
        error_free(run->err);
        run->err = NULL;
    }
    migration_record_rp_error(s);
    migration_pause_reason(s, paused_status);
    if (run->f) {
        /* the next connection counts from 0: keep this one's for mbps */
        run->paused_bytes += qemu_file_transferred(run->f);
    }
    migrate_channels_shutdown(s);
    migrate_rp_cleanup(s);
    postcopy_preempt_close(s);
    migration_close_file(s, NULL);
    run->f = NULL;
    migrate_channels_release(s);
    g_mutex_lock(&s->pause_lock);
    if (!migrate_set_status(s, from, paused_status)) {
        g_mutex_unlock(&s->pause_lock);
        return false; /* cancelled meanwhile */
    }
    error_report("Detected IO failure for %s. Migration paused.",
                 paused_status == MIGRATION_STATUS_PRECOPY_PAUSED ? "precopy"
                                                                  : "postcopy");
    while ((int)migration_status() == paused_status) {
        g_cond_wait(&s->pause_cond, &s->pause_lock);
    }
    resume = (int)migration_status() == migration_recover_status(paused_status);
    g_mutex_unlock(&s->pause_lock);
    return resume;
}

/* Connect again to s->uri (migrate_resume's) with a new return path. */
static bool migration_reconnect(MigrationRun *run)
{
    MigrationState *s = run->s;
    QIOChannel *ioc =
        migrate_transport_open(s, MIGRATION_CHANNEL_MAIN, &run->err);

    if (!ioc) {
        return false;
    }
    migration_channel_tune(ioc, true);
    run->f = qemu_file_new_output(ioc);
    qio_channel_unref(ioc);
    s->to_dst_file = run->f;
    return migration_preempt_connect(s, &run->err) &&
           migrate_rp_start(s, &run->err);
}

/* The resume handshake of a phase (postcopy: postcopy-recover.h). */
typedef bool MigrationResumeHandshake(MigrationState *s, QEMUFile *f,
                                      Error **errp);

/*
 * A failure of the running phase: pause, and on migrate_resume connect
 * again and run the phase's resume handshake; a failed attempt pauses
 * again.  true: go on with the phase on run->f; false: fail.
 */
static bool migration_recover(MigrationRun *run,
                              MigrationResumeHandshake *handshake)
{
    MigrationState *s = run->s;

    while (migration_may_pause(run) &&
           migration_pause_wait(run,
                                migration_paused_status(migration_status()))) {
        if (migration_reconnect(run) && handshake(s, run->f, &run->err)) {
            g_mutex_lock(&s->lock);
            error_free(s->error); /* recovered: no error to show */
            s->error = NULL;
            g_mutex_unlock(&s->lock);
            return true;
        }
        TRACE("migration_recover_failed", "%s",
              run->err ? error_get_pretty(run->err) : "?");
    }
    return false;
}

/*
 * Postcopy instead of switchover: CONTINUE when every page was sent and
 * the destination said SHUT 0.  A broken connection pauses (recovery).
 */
static MigrationNext migration_phase_postcopy(MigrationRun *run)
{
    TRACE("migration_postcopy_start", "pending %" PRIu64,
          migration_stats_bytes_remaining());
    if (!migration_postcopy_switch(run)) {
        return MIGRATION_NEXT_FAIL;
    }
    while (!migration_postcopy_finish(run)) {
        if (!migration_recover(run, postcopy_resume_handshake)) {
            return MIGRATION_NEXT_FAIL;
        }
    }
    return MIGRATION_NEXT_CONTINUE;
}

/*
 * One step of the iteration; a broken connection with x-precopy-recover
 * pauses (the guest running), and after the resume the iteration goes
 * on over the new connection (precopy-recover.h).
 */
static MigrationNext migration_phase_iterate_or_recover(MigrationRun *run)
{
    MigrationNext next = migration_phase_iterate(run);

    if (next == MIGRATION_NEXT_FAIL &&
        migration_recover(run, precopy_resume_handshake)) {
        /* a new stream: its byte count starts again */
        migration_period_start(&run->period, migration_clock_ms(),
                               migration_transferred_bytes(run->f));
        migration_rate_reset();
        return MIGRATION_NEXT_CONTINUE;
    }
    return next;
}

/* ---- finish ---- */

/* The final counters, under s->lock (visible with the status). */
static void migration_final_counters(MigrationRun *run, uint64_t total_bytes)
{
    MigrationState *s = run->s;
    int64_t end, xfer_time;

    g_mutex_lock(&s->lock);
    end = migration_clock_ms();
    s->timing.downtime = run->downtime_end - s->downtime_start;
    TRACE("migration_completed",
          "downtime %" PRId64 " ms, cleanup+close %" PRId64 " ms",
          s->timing.downtime, end - run->downtime_end);
    s->timing.total_time = end - s->start_time;
    xfer_time = s->timing.total_time - s->timing.setup_time;
    if (xfer_time > 0) {
        s->timing.mbps =
            total_bytes * BITS_PER_BYTE / xfer_time / BITS_PER_MS_PER_MBPS;
    }
    g_mutex_unlock(&s->lock);
}

/* Release the savevm handlers, return path and channel; completed. */
static MigrationNext migration_phase_finish(MigrationRun *run)
{
    MigrationState *s = run->s;
    uint64_t total_bytes;

    qemu_savevm_state_cleanup();
    run->savevm_setup = false;
    migrate_rp_cleanup(s);
    postcopy_preempt_close(s);
    migrate_channels_release(s);
    total_bytes = migration_transferred_bytes(run->f) + run->paused_bytes;
    run->f = NULL;
    if (!migration_close_file(s, &run->err)) {
        return MIGRATION_NEXT_FAIL;
    }
    /* Final counters, then the status: both visible together. */
    migration_final_counters(run, total_bytes);
    bql_lock();
    runstate_set(RUN_STATE_POSTMIGRATE);
    migrate_set_status_from_current(s, MIGRATION_STATUS_COMPLETED);
    bql_unlock();
    return MIGRATION_NEXT_DONE;
}

/* ---- the one cleanup ---- */

/*
 * May a failed run restart the guest here?  Not once the final device
 * state may have reached a destination that could be running it now,
 * unless the destination said it failed (SHUT with an error on the
 * return path) or the transport only stores the stream.  Without a
 * return path (exec:, a pipe fd:) the source cannot learn the outcome,
 * so it does not guess either.  docs/migration.md, "What happens when things
 * go wrong".
 */
static bool migration_may_resume(MigrationRun *run)
{
    const MigrationTransport *t = migration_transport_find(run->s->uri);

    if (run->postcopy) {
        return false; /* the guest ran there: part of it lives only there */
    }
    return !run->final_sent ||
           __atomic_load_n(&run->s->rp_dest_failed, __ATOMIC_ACQUIRE) ||
           (t && t->stores_stream);
}

/*
 * The guest stays paused: error-desc says why, that the destination's
 * state is unknown, and what to do.  The status is failed even after a
 * cancel (the guest was not given back).  BQL held.
 */
static void migration_hold_guest(MigrationState *s, bool postcopy)
{
    bool cancelled = migrate_cancelled();
    Error *err = NULL;

    g_mutex_lock(&s->lock);
    if (postcopy) {
        error_setg(&err,
                   "Postcopy failed (%s): the guest was running on the "
                   "destination, which holds pages this side does not; it "
                   "stays paused here and cannot be resumed safely",
                   cancelled  ? "migrate_cancel"
                   : s->error ? error_get_pretty(s->error)
                              : "Migration failed");
    } else {
        error_setg(&err,
                   "The final device state was sent but the destination's "
                   "state is unknown (%s): the guest stays paused here. If "
                   "the destination is not running it, 'cont' resumes it "
                   "here; if it is, quit this one",
                   cancelled  ? "migrate_cancel"
                   : s->error ? error_get_pretty(s->error)
                              : "Migration failed");
    }
    error_free(s->error);
    s->error = err;
    g_mutex_unlock(&s->lock);
    runstate_set(RUN_STATE_PAUSED);
    for (;;) {
        int cur = migration_status();

        if (migrate_set_status(s, cur, MIGRATION_STATUS_FAILED)) {
            break;
        }
    }
}

/* Undo what the phases set up after a failure or cancel; status failed. */
static void migration_run_fail(MigrationRun *run)
{
    MigrationState *s = run->s;

    if (run->final_sent ||
        (run->err && run->f && qemu_file_get_error(run->f))) {
        /* the stream broke or ended: the destination may be saying why */
        migrate_rp_wait_verdict(s, 1000);
    }
    if (run->err) {
        migrate_set_error(s, run->err);
    } else if (!migration_record_rp_error(s) && !migrate_cancelled()) {
        error_setg(&run->err, "Migration failed");
        migrate_set_error(s, run->err);
    }
    /* Wake anyone blocked on a channel (return path). */
    migrate_channels_shutdown(s);
    migrate_rp_cleanup(s);
    postcopy_preempt_close(s);
    if (run->savevm_setup) {
        qemu_savevm_state_cleanup();
    }
    migration_close_file(s, NULL);
    migrate_channels_release(s);
    if (s->fd >= 0) {
        close(s->fd);
        s->fd = -1;
    }
    bql_lock();
    if (run->vm_stopped && !migration_may_resume(run)) {
        migration_hold_guest(s, run->postcopy);
        bql_unlock();
        return;
    }
    if (run->vm_stopped) {
        if (s->vm_was_running) {
            vm_start();
        } else {
            runstate_set(run->prev_state);
        }
    }
    migrate_set_status_from_current(s, MIGRATION_STATUS_FAILED);
    bql_unlock();
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
 * Every run ends here: undo what a failed run set up, then let the main
 * loop join the thread.
 */
static void migration_run_end(MigrationRun *run, MigrationNext next)
{
    MigrationState *s = run->s;

    if (next != MIGRATION_NEXT_DONE) {
        migration_run_fail(run);
    }
    error_free(run->err);
    migration_stats_set_phase(MIGRATION_PHASE_PRECOPY);
    __atomic_store_n(&s->thread_running, false, __ATOMIC_RELEASE);
    main_loop_schedule(migration_thread_join_bh, s);
}

static gpointer migration_thread(gpointer opaque)
{
    MigrationRun run = {.s = opaque, .prev_state = RUN_STATE_RUNNING};
    MigrationNext next;

    next = migration_phase_connect(&run);
    migration_progress_beat();
    if (next == MIGRATION_NEXT_CONTINUE) {
        next = migration_phase_setup(&run);
    }
    while (next == MIGRATION_NEXT_CONTINUE) {
        /* the watchdog's sign of life: a stalled channel blocks a step */
        migration_progress_beat();
        next = migration_phase_iterate_or_recover(&run);
    }
    migration_progress_beat();
    if (next == MIGRATION_NEXT_SWITCHOVER) {
        next = migration_phase_switchover(&run);
    } else if (next == MIGRATION_NEXT_POSTCOPY) {
        next = migration_phase_postcopy(&run);
    }
    if (next == MIGRATION_NEXT_CONTINUE) {
        next = migration_phase_finish(&run);
    }
    migration_run_end(&run, next);
    return NULL;
}

void migration_thread_start(MigrationState *s)
{
    s->thread_running = true;
    s->thread = g_thread_new("live_migration", migration_thread, s);
}
