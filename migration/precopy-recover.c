/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * precopy-recover.c: a precopy that pauses on a broken connection and
 * resumes over a new one (x-precopy-recover, Tern only; see
 * precopy-recover.h).  The pause/reconnect loop is the migration
 * thread's (migration-thread.c), the handshake postcopy recovery's
 * (postcopy-recover.c); here: the negotiation, the acknowledgements of
 * sent pages and the destination's pause.
 *
 * Source state: the migration thread writes it, the return-path thread
 * sets armed and acked (atomics).
 */
#include "qemu/osdep.h"
#include "qapi/error.h"
#include "qemu/bswap.h"
#include "qemu/error-report.h"
#include "qemu/trace.h"
#include "migration/options.h"
#include "migration/savevm.h"
#include "sysemu/main-loop.h"
#include "migration.h"
#include "postcopy-recover.h"
#include "precopy-recover.h"
#include "ram.h"
#include "ram-unacked.h"
#include "watchdog.h"

#define PRECOPY_PING_ARM 0x54505231u    /* "TPR1": pause if cut? */
#define PRECOPY_PONG_ARMED 0x54505241u  /* "TPRA": agreed */
#define PRECOPY_PING_DISARM 0x54505230u /* "TPR0": switch-over */
#define PRECOPY_PING_SEQ 0x54450000u    /* "TE" + 16-bit sequence */
#define PRECOPY_PING_SEQ_MASK 0xffff0000u

static struct {
    bool armed;     /* atomic: the destination agreed */
    bool in_flight; /* a sequence PING awaits its PONG */
    uint32_t seq;   /* the last sequence PING sent */
    uint32_t acked; /* atomic: the last sequence PONG received */
} precopy_src;

/* ---------------- source ---------------- */

void precopy_recover_setup(QEMUFile *f, bool return_path)
{
    __atomic_store_n(&precopy_src.armed, false, __ATOMIC_RELEASE);
    precopy_src.in_flight = false;
    precopy_src.seq = 0;
    __atomic_store_n(&precopy_src.acked, 0, __ATOMIC_RELEASE);
    if (migrate_precopy_recover() && return_path) {
        qemu_savevm_send_ping(f, PRECOPY_PING_ARM);
    }
}

bool precopy_recover_armed(void)
{
    return __atomic_load_n(&precopy_src.armed, __ATOMIC_ACQUIRE);
}

bool precopy_recover_pong(uint32_t value)
{
    if (!migrate_precopy_recover()) {
        return false;
    }
    if (value == PRECOPY_PONG_ARMED) {
        TRACE("migration_precopy_recover_armed", "destination agreed");
        __atomic_store_n(&precopy_src.armed, true, __ATOMIC_RELEASE);
        return true;
    }
    if ((value & PRECOPY_PING_SEQ_MASK) == PRECOPY_PING_SEQ) {
        __atomic_store_n(&precopy_src.acked, value, __ATOMIC_RELEASE);
        return true;
    }
    return false;
}

void precopy_recover_tick(QEMUFile *f)
{
    RAMUnacked *u = ram_unacked();

    if (!u || !precopy_recover_armed()) {
        return;
    }
    if (precopy_src.in_flight &&
        __atomic_load_n(&precopy_src.acked, __ATOMIC_ACQUIRE) ==
            precopy_src.seq) {
        ram_unacked_acked(u);
        precopy_src.in_flight = false;
    }
    if (!precopy_src.in_flight) {
        precopy_src.seq =
            PRECOPY_PING_SEQ | ((precopy_src.seq + 1) & ~PRECOPY_PING_SEQ_MASK);
        ram_unacked_flip(u);
        qemu_savevm_send_ping(f, precopy_src.seq);
        precopy_src.in_flight = true;
    }
}

void precopy_recover_disarm(QEMUFile *f)
{
    if (migrate_precopy_recover()) {
        __atomic_store_n(&precopy_src.armed, false, __ATOMIC_RELEASE);
        qemu_savevm_send_ping(f, PRECOPY_PING_DISARM);
    }
}

bool precopy_resume_handshake(MigrationState *s, QEMUFile *f, Error **errp)
{
    RAMUnacked *u = ram_unacked();
    uint64_t n = u ? ram_unacked_to_dirty(u) : 0;

    TRACE("migration_precopy_resume", "%" PRIu64 " pages not acknowledged", n);
    precopy_src.in_flight = false; /* the old PING's answer is lost */
    return postcopy_resume_handshake(s, f, errp);
}

/* ---------------- destination ---------------- */

uint32_t precopy_incoming_ping(MigrationIncomingState *mis, uint32_t value)
{
    if (value == PRECOPY_PING_ARM && migrate_precopy_recover()) {
        mis->precopy_armed = true;
        TRACE("migration_precopy_recover_armed", "source asked");
        return PRECOPY_PONG_ARMED;
    }
    if (value == PRECOPY_PING_DISARM) {
        mis->precopy_armed = false;
    }
    return value;
}

/* The reason query-migrate shows while paused (pause_err, taken). */
static void precopy_incoming_set_reason(MigrationIncomingState *mis,
                                        const Error *err)
{
    Error *why = NULL;

    error_setg(&why,
               "Precopy paused: %s; this destination keeps the RAM it "
               "received. 'migrate-recover URI' here, then 'migrate URI' "
               "with resume=true on the source, resumes it; migrate_cancel "
               "ends it",
               err ? error_get_pretty(err) : "Input/output error");
    g_mutex_lock(&mis->recover_lock);
    error_free(mis->pause_err);
    mis->pause_err = why;
    g_mutex_unlock(&mis->recover_lock);
}

QEMUFile *precopy_incoming_pause(QEMUFile *f, const Error *err)
{
    MigrationIncomingState *mis = migration_incoming_get_current();
    int status = migration_incoming_status();

    if (!mis->precopy_armed ||
        __atomic_load_n(&mis->cancelled, __ATOMIC_ACQUIRE) ||
        !mis->to_src_file || f != mis->from_src_file ||
        (status != MIGRATION_STATUS_ACTIVE &&
         status != MIGRATION_STATUS_PRECOPY_RECOVER)) {
        return NULL;
    }
    if (mis->abort_err) {
        /* the watchdog's stall: a reason to pause, not to fail */
        err = mis->abort_err;
    }
    precopy_incoming_set_reason(mis, err);
    if (!migration_incoming_pause_wait(mis, err,
                                       MIGRATION_STATUS_PRECOPY_PAUSED)) {
        return NULL;
    }
    error_free(mis->abort_err);
    mis->abort_err = NULL;
    return mis->from_src_file;
}

static void precopy_incoming_watch_bh(void *opaque)
{
    migration_watchdog_incoming_start(opaque);
}

void precopy_incoming_resumed(MigrationIncomingState *mis)
{
    g_mutex_lock(&mis->recover_lock);
    error_free(mis->pause_err);
    mis->pause_err = NULL;
    g_mutex_unlock(&mis->recover_lock);
    migrate_incoming_set_status(mis, MIGRATION_STATUS_ACTIVE);
    main_loop_schedule(precopy_incoming_watch_bh, mis);
}

bool precopy_incoming_cancel(MigrationIncomingState *mis)
{
    int status = migration_incoming_status();

    if (status != MIGRATION_STATUS_PRECOPY_PAUSED &&
        status != MIGRATION_STATUS_PRECOPY_RECOVER) {
        return false;
    }
    __atomic_store_n(&mis->cancelled, true, __ATOMIC_RELEASE);
    if (!mis->abort_err) {
        error_setg(&mis->abort_err, "Migration cancelled on the destination");
    }
    if (mis->recovering) {
        socket_incoming_stop(); /* migrate-recover's listener */
        mis->recovering = false;
    }
    g_mutex_lock(&mis->recover_lock);
    if (migration_incoming_status() == MIGRATION_STATUS_PRECOPY_PAUSED) {
        migrate_incoming_set_status(mis, MIGRATION_STATUS_FAILED);
        g_cond_broadcast(&mis->recover_cond);
    }
    g_mutex_unlock(&mis->recover_lock);
    g_mutex_lock(&mis->rp_lock);
    if (mis->from_src_file) {
        qemu_file_shutdown(mis->from_src_file); /* the handshake fails */
    }
    g_mutex_unlock(&mis->rp_lock);
    return true;
}
