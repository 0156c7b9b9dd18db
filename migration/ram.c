/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * ram.c: the "ram" live section (precopy), QEMU 7.2's format (see
 * ram-format.h): the source's driver and the section's registration.
 *
 * The section is split by role:
 *   ram-select.c       which page goes next (dirty bitmaps, cursor,
 *                      urgent requests, pending count);
 *   ram-sink*.c        how a selected page leaves (the main stream, or
 *                      multifd packets);
 *   ram.c (this file)  the source's RAMState: setup, iterate, complete,
 *                      dirty-log syncs, dirty rate and auto-converge;
 *   ram-load.c         the destination's RAMLoadState and record parser;
 *   ram-place.c        how a received page gets into guest RAM
 *                      (ram-place-postcopy.c: with userfaultfd);
 *   ram-prefault.c     the destination's prefault helper thread.
 *
 * Source: setup marks every page dirty, starts the dirty log and writes
 * the block list.  Each iteration (one PART) sends selected pages through
 * the sink until the rate limiter says stop, RAM_ITERATE_MAX_NS passed,
 * or nothing is dirty.  The pending-exact hook syncs the dirty log into
 * the bitmaps (one "pass").  Completion (vCPUs stopped) syncs once more
 * and sends everything left.  Postcopy ("postcopy, source" below): at
 * the switch the still-dirty pages go out as POSTCOPY_RAM_DISCARD
 * ranges; iterations then go on while the guest runs on the
 * destination, its page requests (return path) served first.
 *
 * Instances: a RAMState lives from save_setup to save_cleanup and a
 * RAMLoadState from load_setup to load_cleanup; the handlers reach them
 * through the section's registration (RAMMigration), the opaque savevm
 * hands them.
 *
 * Threads: save hooks run in the migration thread; statistics are
 * written there and read by the monitor with relaxed atomics.  Load
 * hooks run in the incoming load thread.
 */
#include "qemu/osdep.h"
#include "qapi/error.h"
#include "qemu/trace.h"
#include "migration/register.h"
#include "migration/options.h"
#include "sysemu/ramblock.h"
#include "sysemu/runstate.h"
#include "migration.h"
#include "migration-stats.h"
#include "multifd.h"
#include "rate-limit.h"
#include "ram.h"
#include "ram-format.h"
#include "ram-load.h"
#include "ram-select.h"
#include "ram-place.h"
#include "postcopy-blocktime.h"
#include "postcopy-cpu.h"
#include "postcopy-preempt.h"
#include "postcopy-ram.h"
#include "return-path.h"
#include "ram-sink.h"
#include "ram-unacked.h"
#include "ram-xbzrle.h"
#include "recv-bitmap.h"
#include "checkpoint.h"
#include "shrink.h"
#include "qemu/bitmap.h"
#include "qemu/bswap.h"
#include "migration/savevm.h"

/* An iteration (one PART) stops after this long even below the limit. */
#define RAM_ITERATE_MAX_NS (50 * 1000 * 1000)
/* Pages sent between two looks at the clock (a power of two). */
#define RAM_ITERATE_CLOCK_PAGES 64
/* Period over which dirty rate and auto-converge are evaluated. */
#define RAM_SYNC_PERIOD_MS 1000
/* Periods over the auto-converge threshold before each throttle step. */
#define RAM_THROTTLE_HIGH_PERIODS 2

/* The source's state for one outgoing migration. */
typedef struct RAMState {
    QEMUFile *f; /* main stream of the current payload (savevm's) */
    RAMPageSelect sel;
    RAMPageSink *sink;
    RAMXbzrle *xbzrle;    /* with capability xbzrle (stream sink), or NULL */
    bool xbzrle_encoding; /* ram_xbzrle_start_encoding() was called */
    bool compress;        /* sink is the compress sink */

    /* dirty-rate / auto-converge period */
    int64_t period_start_ms;
    uint64_t period_dirty_pages;
    uint64_t period_start_bytes;
    int dirty_rate_high_cnt;

    /* Cost of the last dirty-log sync (the final one costs about as much). */
    int64_t last_sync_us;

    /* Dirty-rate estimate between the last two syncs (see ram_dirty_rate) */
    int64_t prev_sync_end_us; /* 0: no sync yet */
    double dirty_rate;        /* bytes per ms; < 0: unknown */

    /* Block of the last page request (return-path thread only). */
    RAMBlock *rp_last_block; /* of the return path's requests */
    RAMBlock *rq_last_block; /* of the preempt channel's (a Tern peer) */

    /* x-precopy-recover: pages sent, not yet acknowledged (or NULL) */
    RAMUnacked *unacked;
} RAMState;

/*
 * The section's one registration, the opaque of its handlers: it links
 * them (and ram_last_sync_us/ram_dirty_rate) to the current instances.
 * rs is set and cleared by the migration thread (save_setup and
 * save_cleanup) and ls by the load thread (load_setup and load_cleanup).
 * rs is published with release and read with acquire, so a reader never
 * sees a half-built RAMState.
 */
typedef struct RAMMigration {
    bool registered;   /* main thread, at the first migration */
    RAMState *rs;      /* outgoing migration, or NULL */
    RAMLoadState *ls;  /* incoming migration, or NULL */
    RAMLoadMapped *lm; /* incoming mapped-ram migration, or NULL */
} RAMMigration;

static RAMMigration ram_migration;

/* The current outgoing RAMState, or NULL. */
static RAMState *ram_migration_rs(void)
{
    return __atomic_load_n(&ram_migration.rs, __ATOMIC_ACQUIRE);
}

/* ---------------- source ---------------- */

/*
 * Auto-converge, evaluated once per sync period (as QEMU 7.2 does): when
 * the bytes dirtied in the period exceed throttle-trigger-threshold % of
 * the bytes sent in it for the second time, throttle the vCPUs harder.
 */
static void ram_throttle_check(RAMState *rs, uint64_t bytes_dirty_period,
                               uint64_t bytes_xfer_period)
{
    uint64_t threshold =
        bytes_xfer_period * migrate_throttle_trigger_threshold() / 100;
    int pct_max = migrate_max_cpu_throttle();
    int now, inc;

    if (!migrate_auto_converge() || bytes_dirty_period <= threshold) {
        return;
    }
    if (++rs->dirty_rate_high_cnt < RAM_THROTTLE_HIGH_PERIODS) {
        return;
    }
    rs->dirty_rate_high_cnt = 0;
    if (!cpu_throttle_active()) {
        cpu_throttle_set(migrate_cpu_throttle_initial());
        return;
    }
    now = cpu_throttle_get_percentage();
    inc = migrate_cpu_throttle_increment();
    if (migrate_cpu_throttle_tailslow() && bytes_dirty_period) {
        /* Aim at the CPU share whose dirty rate meets the threshold. */
        double cpu_now = 100 - now;
        double cpu_ideal = cpu_now * ((double)threshold / bytes_dirty_period);
        int ideal_inc = (int)(cpu_now - cpu_ideal);

        inc = MIN(ideal_inc, inc);
    }
    cpu_throttle_set(MIN(now + inc, pct_max));
}

int64_t ram_last_sync_us(void)
{
    RAMState *rs = ram_migration_rs();

    return rs ? __atomic_load_n(&rs->last_sync_us, __ATOMIC_RELAXED) : 0;
}

double ram_dirty_rate(void)
{
    RAMState *rs = ram_migration_rs();

    return rs ? rs->dirty_rate : -1;
}

/* Dirty rate from this sync and the previous one (see shrink.h). */
static void ram_dirty_rate_update(RAMState *rs, uint64_t newly, uint64_t dirty,
                                  int64_t now_us)
{
    rs->dirty_rate = -1;
    if (rs->prev_sync_end_us) {
        rs->dirty_rate = migration_dirty_rate_estimate(
            newly, dirty, ram_bytes_total() / TARGET_PAGE_SIZE,
            (now_us - rs->prev_sync_end_us) / 1000.0);
    }
    rs->prev_sync_end_us = now_us;
}

/* Sync the dirty log into the bitmaps: one pass. */
static void ram_bitmap_sync(RAMState *rs)
{
    int64_t t0 = g_get_monotonic_time();
    uint64_t newly = ram_dirty_log_sync();
    uint64_t dirty = ram_select_count_dirty(&rs->sel);
    uint64_t pass;
    int64_t now, now_us;

    rs->period_dirty_pages += newly;
    pass = __atomic_add_fetch(&mig_stats.dirty_sync_count, 1, __ATOMIC_RELAXED);
    now_us = g_get_monotonic_time();
    __atomic_store_n(&rs->last_sync_us, now_us - t0, __ATOMIC_RELAXED);
    ram_dirty_rate_update(rs, newly, dirty, now_us);
    TRACE("migration_ram_sync",
          "pass %" PRIu64 " newly %" PRIu64 " dirty %" PRIu64 " us %" PRId64
          " rate %.0f B/ms",
          pass, newly, dirty, rs->last_sync_us, rs->dirty_rate);

    now = migration_clock_ms();
    if (now > rs->period_start_ms + RAM_SYNC_PERIOD_MS) {
        uint64_t xfer = qemu_file_transferred(rs->f) - rs->period_start_bytes;

        stat64_set(&mig_stats.dirty_pages_rate,
                   rs->period_dirty_pages * 1000 / (now - rs->period_start_ms));
        ram_throttle_check(rs, rs->period_dirty_pages * TARGET_PAGE_SIZE, xfer);
        if (rs->xbzrle) {
            ram_xbzrle_update_rates(rs->xbzrle);
        }
        rs->period_start_ms = now;
        rs->period_dirty_pages = 0;
        rs->period_start_bytes = qemu_file_transferred(rs->f);
    }
    migration_event_pass(pass);
}

/* Free rs and what it owns (NULL is fine).  Migration thread. */
static void ram_state_free(RAMState *rs)
{
    if (!rs) {
        return;
    }
    ram_sink_free(rs->sink); /* its threads may read the bitmaps */
    ram_select_destroy(&rs->sel);
    ram_xbzrle_free(rs->xbzrle);
    ram_unacked_free(rs->unacked);
    g_free(rs);
}

/*
 * rs's page sink, by capability.  XBZRLE works on a stream sink: the
 * migration's own, or the one inside the compress sink, which hands it
 * every page once round one is over (7.2: compressed pages in round
 * one, deltas after).  false with errp set.
 */
static bool ram_state_sink_new(RAMState *rs, QEMUFile *f, Error **errp)
{
    RAMPageSink *stream;

    if (migrate_checkpoint_assisted()) {
        rs->sink = ram_sink_checkpoint_new(f);
        return true;
    }
    checkpoint_src_not_used();
    if (migrate_mapped_ram()) {
        rs->sink = ram_sink_mapped_new(f, errp);
        return rs->sink != NULL;
    }
    if (migrate_multifd()) {
        /* as 7.2: multifd sends the pages, XBZRLE stays unused */
        rs->sink = ram_sink_multifd_new(f, errp);
        return rs->sink != NULL;
    }
    if (migrate_compress()) {
        rs->sink = ram_sink_compress_new(f, errp);
        if (!rs->sink) {
            return false;
        }
        rs->compress = true;
        stream = ram_sink_compress_stream(rs->sink);
    } else {
        rs->sink = stream = ram_sink_stream_new(f);
    }
    if (migrate_xbzrle()) {
        rs->xbzrle = ram_xbzrle_new(errp);
        if (!rs->xbzrle) {
            return false;
        }
        ram_sink_stream_set_xbzrle(stream, rs->xbzrle);
    }
    return true;
}

/*
 * A RAMState for a migration on f: every page dirty, dirty logging on,
 * the first pass synced.  NULL with errp set when the log cannot start.
 */
static RAMState *ram_state_new(QEMUFile *f, Error **errp)
{
    RAMState *rs = g_new0(RAMState, 1);

    rs->dirty_rate = -1;
    rs->f = f;
    ram_select_init(&rs->sel);
    if (!ram_state_sink_new(rs, f, errp) || !ram_dirty_log_start(errp)) {
        ram_state_free(rs);
        return NULL;
    }
    if (migrate_precopy_recover()) {
        rs->unacked = ram_unacked_new();
    }
    rs->period_start_ms = migration_clock_ms();
    rs->period_start_bytes = qemu_file_transferred(f);
    /* First pass: the log starts clean; every page is dirty anyway. */
    ram_bitmap_sync(rs);
    return rs;
}

/*
 * The START payload: the block list and its EOS, written here (not
 * through the sink: it carries no page and is not counted as RAM bytes).
 */
static int ram_save_setup(QEMUFile *f, void *opaque, Error **errp)
{
    RAMMigration *rm = opaque;
    RAMState *rs;
    RAMBlock *rb;

    /*
     * A leftover state exists only if a cleanup was skipped; free it
     * before building the new one, as both use the blocks' bitmaps.
     */
    ram_state_free(rm->rs);
    __atomic_store_n(&rm->rs, NULL, __ATOMIC_RELEASE);
    rs = ram_state_new(f, errp);
    if (!rs) {
        return -EINVAL;
    }
    __atomic_store_n(&rm->rs, rs, __ATOMIC_RELEASE);

    qemu_put_be64(f, ram_bytes_total() | RAM_SAVE_FLAG_MEM_SIZE);
    RAMBLOCK_FOREACH(rb)
    {
        int ret;

        qemu_put_counted_string(f, rb->idstr);
        qemu_put_be64(f, rb->used_length);
        ret = ram_sink_block_listed(rs->sink, f, rb);
        if (ret < 0) {
            return ret;
        }
    }
    if (migrate_multifd() || migrate_mapped_ram()) {
        /* 7.2 syncs the channels at this EOS too (every ram EOS) */
        return ram_sink_section_end(rs->sink, f);
    }
    if (migrate_checkpoint_assisted()) {
        checkpoint_src_send_advise(f);
    }
    qemu_put_be64(f, RAM_SAVE_FLAG_EOS);
    return qemu_file_get_error(f);
}

/*
 * Send selected pages until the rate limit is reached, time_limit_ns
 * passed (0 = none) or nothing is dirty.  Returns true when nothing is
 * dirty.
 */
bool ram_postcopy_requests_pending(void)
{
    RAMState *rs = ram_migration_rs();

    return rs && stat64_get(&mig_stats.phase) == MIGRATION_PHASE_POSTCOPY &&
           __atomic_load_n(&rs->sel.nr_requests, __ATOMIC_ACQUIRE);
}

/*
 * Postcopy: the requested pages just queued on the main stream go out
 * now, not when the buffer fills (a destination vCPU waits for them).
 */
static void ram_postcopy_request_flush(RAMState *rs)
{
    if (stat64_get(&mig_stats.phase) == MIGRATION_PHASE_POSTCOPY) {
        qemu_fflush(rs->f);
    }
}

static bool ram_send_dirty(RAMState *rs, bool limited, int64_t time_limit_ns)
{
    int64_t start = g_get_monotonic_time();
    unsigned int n = 0;
    RAMBlock *rb;
    uint64_t page;

    while (!limited || !migration_rate_exceeded()) {
        if (!ram_select_next(&rs->sel, &rb, &page)) {
            return true;
        }
        if (rs->xbzrle && rs->sel.rounds && !rs->xbzrle_encoding) {
            /* round one is over: from this page on, deltas (as 7.2) */
            ram_xbzrle_start_encoding(rs->xbzrle);
            rs->xbzrle_encoding = true;
            if (rs->compress && ram_sink_compress_stop(rs->sink) < 0) {
                return false;
            }
        }
        if (ram_sink_save_page(rs->sink, rb, page) < 0) {
            return false;
        }
        if (rs->unacked) {
            ram_unacked_note(rs->unacked, rb, page);
        }
        if (rs->sel.requested) {
            TRACE("postcopy_hop_main_tx", "%s:0x%" PRIx64 " tx %" PRId64,
                  rb->idstr, page << TARGET_PAGE_BITS, postcopy_clock_ns());
            if (!ram_postcopy_requests_pending()) {
                ram_postcopy_request_flush(rs);
            }
        }
        if (time_limit_ns && (++n & (RAM_ITERATE_CLOCK_PAGES - 1)) == 0 &&
            (g_get_monotonic_time() - start) * 1000 > time_limit_ns) {
            break;
        }
    }
    return false;
}

static int ram_save_iterate(QEMUFile *f, void *opaque)
{
    RAMState *rs = ((RAMMigration *)opaque)->rs;
    bool done;
    int ret;

    rs->f = f;
    ram_sink_section_begin(rs->sink, f);
    done = ram_send_dirty(rs, true, RAM_ITERATE_MAX_NS);
    ret = ram_sink_section_end(rs->sink, f);
    if (ret < 0) {
        return ret;
    }
    return done ? 1 : 0;
}

static int ram_save_complete(QEMUFile *f, void *opaque)
{
    RAMState *rs = ((RAMMigration *)opaque)->rs;
    uint64_t pages;
    int ret;

    rs->f = f;
    ram_sink_section_begin(rs->sink, f);
    if (stat64_get(&mig_stats.phase) != MIGRATION_PHASE_POSTCOPY) {
        migration_stats_set_phase(MIGRATION_PHASE_DOWNTIME);
        /* vCPUs are stopped: this last pass is final. */
        ram_bitmap_sync(rs);
        if (rs->xbzrle) {
            ram_xbzrle_set_last_stage(rs->xbzrle);
        }
    } /* postcopy: synced at the switch, the guest runs elsewhere since */
    pages = stat64_get(&mig_stats.remaining_pages);
    do {
        ram_send_dirty(rs, false, 0);
        ret = ram_sink_settle(rs->sink, f);
    } while (ret > 0);
    if (ret < 0) {
        return ret;
    }
    ret = ram_sink_section_end(rs->sink, f);
    TRACE("migration_ram_complete", "pages %" PRIu64 " queued", pages);
    return ret;
}

static void ram_state_pending_estimate(void *opaque, uint64_t *must,
                                       uint64_t *can)
{
    *must += migration_stats_bytes_remaining();
}

static void ram_state_pending_exact(void *opaque, uint64_t *must, uint64_t *can)
{
    RAMState *rs = ((RAMMigration *)opaque)->rs;

    if (rs) {
        ram_bitmap_sync(rs);
    }
    *must += migration_stats_bytes_remaining();
}

/* Called on success and failure, also when ram_save_setup never ran. */
static void ram_save_cleanup(void *opaque)
{
    RAMMigration *rm = opaque;
    RAMState *rs = rm->rs;

    __atomic_store_n(&rm->rs, NULL, __ATOMIC_RELEASE);
    ram_dirty_log_stop();
    ram_state_free(rs);
    cpu_throttle_stop();
}

/* ---------------- postcopy, source ---------------- */

/* Ranges per POSTCOPY_RAM_DISCARD command (as QEMU splits them). */
#define RAM_DISCARD_PER_COMMAND 12

uint64_t ram_pagesize_summary(void)
{
    uint64_t summary = 0;
    RAMBlock *rb;

    RAMBLOCK_FOREACH(rb)
    {
        summary |= rb->page_size;
    }
    return summary;
}

/* One command: u8 0, str8 name, NUL, then n (be64 start, be64 len). */
static void ram_discard_send(QEMUFile *f, RAMBlock *rb, const uint64_t *ranges,
                             unsigned int n)
{
    size_t name_len = strlen(rb->idstr);
    size_t len = 3 + name_len + n * 16;
    g_autofree uint8_t *buf = g_malloc(len);
    size_t off = 3 + name_len;

    buf[0] = 0;
    buf[1] = name_len;
    memcpy(buf + 2, rb->idstr, name_len);
    buf[2 + name_len] = 0;
    for (unsigned int i = 0; i < n; i++, off += 16) {
        stq_be_p(buf + off, ranges[2 * i]);
        stq_be_p(buf + off + 8, ranges[2 * i + 1]);
    }
    qemu_savevm_command_send(f, MIG_CMD_POSTCOPY_RAM_DISCARD, len, buf);
}

/* The runs of dirty pages of rb, as byte ranges, in commands. */
static void ram_discard_block(QEMUFile *f, RAMBlock *rb)
{
    uint64_t pages = ram_block_pages(rb);
    uint64_t ranges[2 * RAM_DISCARD_PER_COMMAND];
    unsigned int n = 0;
    uint64_t start = find_next_bit(rb->bmap, pages, 0);

    while (start < pages) {
        uint64_t end = find_next_zero_bit(rb->bmap, pages, start);

        ranges[2 * n] = start << TARGET_PAGE_BITS;
        ranges[2 * n + 1] = (end - start) << TARGET_PAGE_BITS;
        if (++n == RAM_DISCARD_PER_COMMAND) {
            ram_discard_send(f, rb, ranges, n);
            n = 0;
        }
        start = end < pages ? find_next_bit(rb->bmap, pages, end) : pages;
    }
    if (n) {
        ram_discard_send(f, rb, ranges, n);
    }
}

int ram_postcopy_send_discard(QEMUFile *f)
{
    RAMState *rs = ram_migration_rs();
    RAMBlock *rb;

    if (!rs) {
        return -EINVAL;
    }
    ram_bitmap_sync(rs);
    RAMBLOCK_FOREACH(rb)
    {
        if (rb->bmap) {
            ram_discard_block(f, rb);
        }
    }
    return qemu_file_get_error(f);
}

/*
 * postcopy-preempt: send the dirty pages of [start, start + len) of rb
 * now on the preempt channel, each record naming its block (as 7.2).
 * false when there is no preempt channel (queue them instead).
 * Return-path thread.
 */
static bool ram_preempt_send(RAMBlock *rb, uint64_t start, uint64_t len,
                             int64_t *tx_ns)
{
    MigrationState *s = migrate_get_current();
    uint64_t end = DIV_ROUND_UP(start + len, TARGET_PAGE_SIZE);
    QEMUFile *f;

    if (stat64_get(&mig_stats.phase) != MIGRATION_PHASE_POSTCOPY) {
        return false;
    }
    f = postcopy_preempt_get(s);
    if (!f) {
        return false;
    }
    for (uint64_t page = start >> TARGET_PAGE_BITS; page < end; page++) {
        if (!ram_select_claim(rb, page)) {
            TRACE("postcopy_hop_bulk", "%s:0x%" PRIx64 " taken by the bulk",
                  rb->idstr, page << TARGET_PAGE_BITS);
            continue;
        }
        qemu_put_be64(f, (page << TARGET_PAGE_BITS) | RAM_SAVE_FLAG_PAGE);
        qemu_put_counted_string(f, rb->idstr);
        qemu_put_buffer(f, rb->host + (page << TARGET_PAGE_BITS),
                        TARGET_PAGE_SIZE);
        stat64_add(&mig_stats.normal_pages, 1);
        migration_stats_account_ram(ram_record_header_bytes_named(rb->idstr) +
                                    TARGET_PAGE_SIZE);
    }
    *tx_ns = postcopy_clock_ns();
    postcopy_preempt_put(s);
    return true;
}

bool ram_postcopy_request(const char *rbname, uint64_t start, uint64_t len,
                          bool preempt, Error **errp)
{
    RAMState *rs = ram_migration_rs();
    RAMBlock **last = !rs       ? NULL
                      : preempt ? &rs->rq_last_block
                                : &rs->rp_last_block;
    RAMBlock *rb = last ? *last : NULL;
    int64_t t_rp = postcopy_clock_ns(), t_tx;

    if (rbname) {
        rb = ram_block_by_name(rbname);
        if (!rb) {
            error_setg(errp, "ram_save_queue_pages no block '%s'", rbname);
            return false;
        }
    } else if (!rb) {
        error_setg(errp, "ram_save_queue_pages no previous block");
        return false;
    }
    if (!rs) {
        error_setg(errp, "page request with no outgoing RAM migration");
        return false;
    }
    *last = rb;
    if (start > rb->used_length || len > rb->used_length - start) {
        error_setg(errp,
                   "ram_save_queue_pages request overrun, offset=0x%" PRIx64
                   " len=0x%" PRIx64 " blocklen=0x%" PRIx64,
                   start, len, rb->used_length);
        return false;
    }
    stat64_add(&mig_stats.postcopy_requests, 1);
    if (ram_preempt_send(rb, start, len, &t_tx)) {
        TRACE("postcopy_hop_src",
              "%s:0x%" PRIx64 " rp %" PRId64 " tx %" PRId64 " sent %" PRId64,
              rb->idstr, start, t_rp, t_tx, postcopy_clock_ns());
        return true;
    }
    TRACE("postcopy_hop_src", "%s:0x%" PRIx64 " rp %" PRId64 " queued",
          rb->idstr, start, t_rp);
    if (!ram_page_request_queue(&rs->sel, rb, start, len, errp)) {
        return false;
    }
    migration_rate_kick(); /* the migration thread may wait for budget */
    return true;
}

RAMUnacked *ram_unacked(void)
{
    RAMState *rs = ram_migration_rs();

    return rs ? rs->unacked : NULL;
}

void ram_resume_prepare(QEMUFile *f)
{
    RAMState *rs = ram_migration_rs();

    if (!rs) {
        return;
    }
    ram_select_restart(&rs->sel);
    /* a new stream: the first page names its block (no CONTINUE) */
    ram_sink_free(rs->sink);
    rs->sink = ram_sink_stream_new(f);
    rs->f = f;
    rs->rp_last_block = NULL;
    rs->rq_last_block = NULL;
}

bool ram_checkpoint_resend(const char *rbname, uint64_t offset, Error **errp)
{
    RAMState *rs = ram_migration_rs();
    RAMBlock *rb = ram_block_by_name(rbname);

    if (!rb) {
        error_setg(errp, "checkpoint: page request for unknown block '%s'",
                   rbname);
        return false;
    }
    if (!rs) {
        error_setg(errp, "checkpoint: page request with no outgoing RAM "
                         "migration");
        return false;
    }
    if (offset >= rb->used_length || offset % TARGET_PAGE_SIZE) {
        error_setg(errp,
                   "checkpoint: page request outside RAM block %s: "
                   "offset 0x%" PRIx64,
                   rb->idstr, offset);
        return false;
    }
    checkpoint_src_mark_whole(rb, offset >> TARGET_PAGE_BITS);
    return ram_page_request_resend(&rs->sel, rb, offset, errp);
}

/*
 * REQ_PAGES_ID / REQ_PAGES (postcopy): be64 start, be32 length, and for
 * REQ_PAGES_ID the block's str8 name; queued as urgent pages.
 */
static int ram_postcopy_handle_req_pages(const MigRPMessage *msg, Error **errp)
{
    static __thread int cpu = -1; /* the CPU this thread is held to */
    QEMUFile *rp;
    char name[256];
    const char *rbname = NULL;

    postcopy_rp_thread_prioritise(); /* a destination vCPU waits for it */
    rp = msg->rp;                    /* what this thread reads */

    if (msg->type == MIG_RP_MSG_REQ_PAGES_ID) {
        size_t name_len = msg->len > 12 ? msg->data[12] : 0;

        if (msg->len < 13 || 13 + name_len != msg->len) {
            error_setg(errp, "RP: Req_Page_id with length %d expecting %zu",
                       msg->len, (size_t)13 + name_len);
            return -EINVAL;
        }
        memcpy(name, msg->data + 13, name_len);
        name[name_len] = '\0';
        rbname = name;
    }
    if (!ram_postcopy_request(rbname, ldq_be_p(msg->data),
                              ldl_be_p(msg->data + 8), msg->preempt, errp)) {
        return -EINVAL;
    }
    if (rp) {
        /*
         * After the page went out: moving this thread (the stopper on
         * its CPU, then a wake-up on the other) before serving the
         * request put that move on the fault's path.
         */
        postcopy_cpu_follow_socket(qemu_file_get_ioc(rp), &cpu);
    }
    return 0;
}

void ram_postcopy_rp_init(void)
{
    migration_rate_set_urgent(ram_postcopy_requests_pending);
    migrate_rp_register_handler(MIG_RP_MSG_REQ_PAGES_ID,
                                ram_postcopy_handle_req_pages);
    migrate_rp_register_handler(MIG_RP_MSG_REQ_PAGES,
                                ram_postcopy_handle_req_pages);
}

/* ---------------- destination (see ram-load.c) ---------------- */

void ram_load_postcopy_prepare(void)
{
    if (ram_migration.ls) {
        ram_load_state_stop_prefault(ram_migration.ls);
    }
}

uint8_t *ram_load_received_wire(RAMBlock *rb, uint64_t *size)
{
    const unsigned long *map = NULL;
    uint64_t pages = ram_block_pages(rb);
    uint8_t *wire;

    if (ram_migration.ls) {
        map = ram_load_state_received(ram_migration.ls, rb);
    }
    *size = recv_bitmap_wire_size(pages);
    wire = g_malloc0(*size ? *size : 1);
    for (uint64_t i = 0; map && i < pages; i++) {
        if (test_bit(i, map)) {
            wire[i >> 3] |= 1u << (i & 7);
        }
    }
    return wire;
}

void ram_load_set_placer(RAMPlacer *pl)
{
    if (ram_migration.ls) {
        ram_load_state_set_placer(ram_migration.ls, pl);
    } else {
        ram_placer_free(pl);
    }
}

static const RAMLoadCheckpointOps ram_load_checkpoint_ops = {
    .control = checkpoint_dst_control,
    .load_page = checkpoint_dst_load_page,
    .wait = checkpoint_dst_wait,
};

static int ram_load_setup(QEMUFile *f, void *opaque, Error **errp)
{
    RAMMigration *rm = opaque;

    ram_load_state_free(rm->ls); /* a previous load's, if never cleaned */
    rm->ls = ram_load_state_new();
    ram_load_mapped_free(rm->lm);
    rm->lm = NULL;
    ram_load_state_set_checkpoint(rm->ls, &ram_load_checkpoint_ops);
    if (migrate_mapped_ram()) {
        rm->lm = ram_load_mapped_new(f, errp);
        if (!rm->lm) {
            return -EINVAL;
        }
        ram_load_state_set_block_hook(rm->ls, ram_load_mapped_block, rm->lm);
    } else if (migrate_multifd()) {
        ram_load_state_set_sync(rm->ls, multifd_recv_sync_main);
    }
    if (migrate_compress()) {
        ram_load_state_set_compress(rm->ls, migrate_decompress_threads());
    }
    return 0;
}

static int ram_load_state(QEMUFile *f, void *opaque, int version_id,
                          Error **errp)
{
    RAMMigration *rm = opaque;

    if (!rm->ls) {
        error_setg(errp, "ram: section data before its setup");
        return -EINVAL;
    }
    return ram_load_section(rm->ls, f, version_id, errp);
}

static int ram_load_cleanup(void *opaque)
{
    RAMMigration *rm = opaque;

    checkpoint_dst_load_end(); /* its workers use the load's placer */
    ram_load_state_free(rm->ls);
    rm->ls = NULL;
    ram_load_mapped_free(rm->lm);
    rm->lm = NULL;
    return 0;
}

static const SaveVMHandlers savevm_ram_handlers = {
    .save_setup = ram_save_setup,
    .save_live_iterate = ram_save_iterate,
    .save_live_complete_precopy = ram_save_complete,
    .state_pending_estimate = ram_state_pending_estimate,
    .state_pending_exact = ram_state_pending_exact,
    .save_cleanup = ram_save_cleanup,
    .load_setup = ram_load_setup,
    .load_state = ram_load_state,
    .load_cleanup = ram_load_cleanup,
};

/*
 * Registered lazily, at the first migration in either direction, so the
 * machine's device sections (timer, globalstate, ...) come first and ram
 * never gets section id 0: a QEMU 7.2 destination matches PART/END
 * records by a per-handler id that defaults to 0, so a ram section with
 * id 0 would be routed to whichever handler comes first in its list
 * ("timer: incoming version_id 0 is too old").  QEMU itself numbers
 * timer 0, ram 2.
 */
void ram_mig_init(void)
{
    migrate_set_xbzrle_resize(ram_xbzrle_cache_resize);
    if (!ram_migration.registered) {
        ram_migration.registered = true;
        register_savevm_live("ram", 0, RAM_SECTION_VERSION,
                             &savevm_ram_handlers, &ram_migration);
    }
}
