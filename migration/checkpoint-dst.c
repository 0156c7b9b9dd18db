/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * checkpoint-dst.c: the destination side of checkpoint-assisted
 * migration (see checkpoint.h): the configured checkpoint and its index,
 * the offer, pages copied from the checkpoint, re-requests and syncs.
 *
 * The index belongs to the "checkpoint" parameter: setting it (or
 * -checkpoint) starts indexing at once, so the work overlaps with
 * waiting for the source.  An incoming migration takes a reference at
 * the advise record and drops it at its end, so changing the parameter
 * meanwhile never frees an index in use.
 *
 * Locking: ckpt_dst.lock guards the current index and the references;
 * the load thread uses its referenced index without the lock.  Counters
 * are relaxed atomics.
 */
#include "qemu/osdep.h"
#include "qapi/error.h"
#include "qemu/error-report.h"
#include "migration/misc.h"
#include "migration/options.h"
#include "qemu/trace.h"
#include "migration.h"
#include "checkpoint.h"
#include "checkpoint-exchange.h"
#include "checkpoint-index.h"
#include "checkpoint-stream.h"
#include "checkpoint-verify.h"
#include "ram-place.h"
#include "return-path.h"
#include "watchdog.h"

/* How often a load waiting for the index tells the watchdog. */
#define CKPT_DST_BEAT_MS 1000
/* The value of those PONGs ("CKPT"); the source only counts them. */
#define CKPT_DST_PONG 0x434b5054

/* An index and the number of users (the parameter, a load). */
typedef struct CkptDstRef {
    CheckpointIndex *ci;
    int refs; /* under ckpt_dst.lock */
} CkptDstRef;

static struct {
    GMutex lock;
    CkptDstRef *cur;    /* the parameter's, or NULL */
    CkptDstRef *load;   /* the running load's, or NULL (load thread) */
    CkptVerify *verify; /* the load's verification workers, or NULL */
    CkptStream *stream; /* atomic: the load's streamed offer, or NULL */
    bool paused;        /* the load paused its index's indexing */
    bool on_demand;     /* an on-demand advise, not asked for yet */
    bool held;          /* ... and its offer waits for OFFER_NOW */
    uint64_t loaded;    /* pages copied from the checkpoint */
    uint64_t rerequested;
    uint64_t busy; /* of them, because the verification was behind */
} ckpt_dst;

static void ckpt_dst_unref(CkptDstRef *r)
{
    bool last;

    if (!r) {
        return;
    }
    g_mutex_lock(&ckpt_dst.lock);
    last = --r->refs == 0;
    g_mutex_unlock(&ckpt_dst.lock);
    if (last) {
        checkpoint_index_free(r->ci);
        g_free(r);
    }
}

/* Replace the parameter's index with one for path ("" = none). */
static bool ckpt_dst_switch(const char *path, Error **errp)
{
    CkptDstRef *old, *r = NULL;

    g_mutex_lock(&ckpt_dst.lock);
    old = ckpt_dst.cur;
    if (old && !strcmp(checkpoint_index_path(old->ci), path)) {
        g_mutex_unlock(&ckpt_dst.lock);
        return true; /* same file: keep its index */
    }
    g_mutex_unlock(&ckpt_dst.lock);
    if (*path) {
        CheckpointIndex *ci = checkpoint_index_start(path, errp);

        if (!ci) {
            return false;
        }
        r = g_new0(CkptDstRef, 1);
        r->ci = ci;
        r->refs = 1;
    }
    g_mutex_lock(&ckpt_dst.lock);
    old = ckpt_dst.cur;
    ckpt_dst.cur = r;
    g_mutex_unlock(&ckpt_dst.lock);
    ckpt_dst_unref(old);
    return true;
}

void checkpoint_dst_configure(void)
{
    Error *err = NULL;

    if (!ckpt_dst_switch(migrate_checkpoint(), &err)) {
        warn_report("%s", error_get_pretty(err));
        error_free(err);
    }
}

bool migration_checkpoint_set(const char *path, Error **errp)
{
    /* open first, so that a bad path fails here rather than warns */
    return ckpt_dst_switch(path, errp) &&
           migrate_parameter_set_str("checkpoint", path, errp);
}

/* The current index, referenced for the load (NULL: none configured). */
static CkptDstRef *ckpt_dst_take(void)
{
    CkptDstRef *r;

    g_mutex_lock(&ckpt_dst.lock);
    r = ckpt_dst.cur;
    if (r) {
        r->refs++;
    }
    g_mutex_unlock(&ckpt_dst.lock);
    return r;
}

/* The keys of the pages at each address of one block, extras marked. */
static void ckpt_dst_offer_block(CheckpointIndex *ci, CkptOffer *o,
                                 RAMBlock *rb)
{
    CkptOfferBlock *b =
        checkpoint_offer_add_block(o, rb->idstr, ram_block_pages(rb));

    for (uint64_t p = 0; p < b->pages; p++) {
        const CkptIndexEntry *e =
            checkpoint_index_at(ci, rb->gpa + (p << TARGET_PAGE_BITS));

        b->keys[p] = e ? checkpoint_digest_key(e->digest) : 0;
    }
}

static CkptOffer *ckpt_dst_offer(CheckpointIndex *ci)
{
    CkptOffer *o = checkpoint_offer_new();
    GArray *extra = g_array_new(false, false, sizeof(uint64_t));
    RAMBlock *rb;

    if (ci) {
        RAMBLOCK_FOREACH(rb)
        {
            ckpt_dst_offer_block(ci, o, rb);
        }
        checkpoint_index_foreach(ci, checkpoint_stream_extra_key, extra);
    }
    o->nr_extra = extra->len;
    o->extra = (uint64_t *)g_array_free(extra, false);
    return o;
}

/*
 * Wait for the index to be complete.  While it makes progress, tell both
 * progress watchdogs that the migration is not stuck: ours directly, the
 * source's (waiting for the offer) with a PONG on the return path, which
 * a Tern source counts as progress and otherwise ignores.
 */
static void ckpt_dst_wait_index(CheckpointIndex *ci)
{
    MigrationIncomingState *mis = migration_incoming_get_current();
    uint64_t last = 0;

    while (!checkpoint_index_done_within(ci, CKPT_DST_BEAT_MS)) {
        CkptIndexStats st;

        checkpoint_index_stats(ci, &st);
        if (st.bytes_read != last) {
            last = st.bytes_read;
            migration_incoming_progress_beat();
            migrate_send_rp_pong(mis, CKPT_DST_PONG);
        }
    }
}

/*
 * Ask the source for the page again (it will come as a PAGE record).
 * Load thread or verification workers.
 */
static int ckpt_dst_rerequest(RAMBlock *rb, uint64_t addr, const char *why,
                              Error **errp)
{
    MigrationIncomingState *mis = migration_incoming_get_current();

    if (!mis->to_src_file) {
        error_setg(errp,
                   "checkpoint: page 0x%" PRIx64 " of %s: %s, and no "
                   "return path to ask for it",
                   addr, rb->idstr, why);
        return -EINVAL;
    }
    TRACE("migration_ckpt_rerequest", "%s 0x%" PRIx64 ": %s", rb->idstr, addr,
          why);
    __atomic_fetch_add(&ckpt_dst.rerequested, 1, __ATOMIC_RELAXED);
    migrate_send_rp_ckpt_req(mis, rb->idstr, addr);
    return 0;
}

/*
 * Where the page of digest at addr of rb may be: the page offered at
 * that address (streamed offer), else any page of the complete index.
 */
static const CkptIndexEntry *ckpt_dst_lookup(CheckpointIndex *ci, RAMBlock *rb,
                                             uint64_t addr,
                                             const uint8_t *digest)
{
    CkptStream *st = __atomic_load_n(&ckpt_dst.stream, __ATOMIC_ACQUIRE);
    const CkptIndexEntry *e = NULL;

    if (st) {
        e = checkpoint_stream_lookup(st, rb, addr, digest);
    }
    return e ? e : checkpoint_index_find(ci, digest);
}

/* An advise record: forget the previous load, reference the index. */
static bool ckpt_dst_begin(Error **errp)
{
    MigrationIncomingState *mis = migration_incoming_get_current();

    if (!mis->to_src_file) {
        error_setg(errp, "checkpoint: the source asked for an offer but "
                         "there is no return path");
        return false;
    }
    checkpoint_dst_load_end();
    ckpt_dst.load = ckpt_dst_take();
    __atomic_store_n(&ckpt_dst.loaded, 0, __ATOMIC_RELAXED);
    __atomic_store_n(&ckpt_dst.rerequested, 0, __ATOMIC_RELAXED);
    __atomic_store_n(&ckpt_dst.busy, 0, __ATOMIC_RELAXED);
    return true;
}

/*
 * The load's verification workers start (if there is a checkpoint);
 * pause: its indexing pauses first, leaving the processors to the load.
 */
static void ckpt_dst_verify_start(bool pause)
{
    if (!ckpt_dst.load) {
        return;
    }
    if (pause) {
        checkpoint_index_pause(ckpt_dst.load->ci, true);
        ckpt_dst.paused = true;
    }
    ckpt_dst.verify =
        checkpoint_verify_new(ckpt_dst.load->ci, ckpt_dst_lookup,
                              ckpt_dst_rerequest, &ckpt_dst.loaded);
}

/* Start streaming ci's offer (checkpoint_stream_start()), for lookups. */
static void ckpt_dst_stream_start(CheckpointIndex *ci, bool announce)
{
    __atomic_store_n(&ckpt_dst.stream, checkpoint_stream_start(ci, announce),
                     __ATOMIC_RELEASE);
}

/*
 * Advise, streamed: verification starts at once and the offer goes in
 * pieces as the index grows (checkpoint-stream.h); the load goes on.
 */
static int ckpt_dst_advise_streamed(bool fast, Error **errp)
{
    if (!ckpt_dst_begin(errp)) {
        return -EINVAL;
    }
    /*
     * fast: pages come faster than the checkpoint is indexed, the load
     * keeps the processors, what is indexed already is offered.
     */
    ckpt_dst_verify_start(fast);
    ckpt_dst_stream_start(ckpt_dst.load ? ckpt_dst.load->ci : NULL, true);
    return 0;
}

/*
 * Advise, offer on demand (a fast link): verification starts (any HASH
 * record is still checked), the indexing pauses, and the answer is an
 * empty piece; the offer waits for CKPT_CTL_OFFER_NOW.
 */
static int ckpt_dst_advise_on_demand(Error **errp)
{
    if (!ckpt_dst_begin(errp)) {
        return -EINVAL;
    }
    ckpt_dst_verify_start(true);
    ckpt_dst.on_demand = true;
    if (ckpt_dst.load && checkpoint_stream_announce()) {
        ckpt_dst.held = true;
        return 0;
    }
    /* nothing to offer: the final empty offer at once */
    ckpt_dst_stream_start(NULL, false);
    return 0;
}

/*
 * The on-demand source asks for the offer (hashing pays on its link):
 * the indexing resumes at normal priority, the pieces go from the start.
 */
static int ckpt_dst_offer_now(Error **errp)
{
    if (!ckpt_dst.on_demand) {
        error_setg(errp, "checkpoint: offer asked for without an on-demand "
                         "advise, or twice");
        return -EINVAL;
    }
    ckpt_dst.on_demand = false;
    if (!ckpt_dst.held) {
        return 0; /* no checkpoint: the empty offer went already */
    }
    ckpt_dst.held = false;
    checkpoint_index_hurry(ckpt_dst.load->ci);
    ckpt_dst.paused = false;
    ckpt_dst_stream_start(ckpt_dst.load->ci, false);
    return 0;
}

/* Advise (a source that takes the whole offer): wait for the index. */
static int ckpt_dst_advise(Error **errp)
{
    MigrationIncomingState *mis = migration_incoming_get_current();
    g_autoptr(GByteArray) wire = NULL;
    CkptOffer *o;
    Error *err = NULL;

    if (!ckpt_dst_begin(errp)) {
        return -EINVAL;
    }
    if (ckpt_dst.load) {
        ckpt_dst_wait_index(ckpt_dst.load->ci);
    }
    if (ckpt_dst.load && !checkpoint_index_wait(ckpt_dst.load->ci, &err)) {
        /* an unusable checkpoint: offer nothing, migrate as usual */
        warn_report("%s", error_get_pretty(err));
        error_free(err);
        ckpt_dst_unref(ckpt_dst.load);
        ckpt_dst.load = NULL;
    }
    ckpt_dst_verify_start(false);
    o = ckpt_dst_offer(ckpt_dst.load ? ckpt_dst.load->ci : NULL);
    wire = checkpoint_offer_encode(o);
    checkpoint_offer_free(o);
    TRACE("migration_ckpt_offer_send", "%u bytes", wire->len);
    migrate_send_rp_ckpt_offer(mis, wire->data, wire->len);
    return 0;
}

int checkpoint_dst_load_page(RAMPlacer *pl, RAMBlock *rb, uint8_t *host,
                             uint64_t addr, const uint8_t *digest, Error **errp)
{
    if (!ckpt_dst.verify) {
        return ckpt_dst_rerequest(rb, addr, "no checkpoint", errp);
    }
    if (!checkpoint_verify_queue(ckpt_dst.verify, pl, rb, host, addr, digest)) {
        /* the link outruns the verification: take the page from it */
        __atomic_fetch_add(&ckpt_dst.busy, 1, __ATOMIC_RELAXED);
        return ckpt_dst_rerequest(rb, addr, "verification busy", errp);
    }
    return 0;
}

int checkpoint_dst_wait(Error **errp)
{
    return ckpt_dst.verify ? checkpoint_verify_wait(ckpt_dst.verify, errp) : 0;
}

int checkpoint_dst_control(uint64_t arg, Error **errp)
{
    MigrationIncomingState *mis = migration_incoming_get_current();

    if (!arg) {
        return ckpt_dst_advise(errp);
    }
    /*
     * Tests only: TERN_TEST_CKPT_NO_STREAM answers as a destination that
     * predates the streamed offer, TERN_TEST_CKPT_NO_ON_DEMAND as one
     * that predates the offer on demand: they take the record for a sync.
     */
    if ((arg == CKPT_CTL_ADVISE_STREAMED ||
         arg == CKPT_CTL_ADVISE_STREAMED_FAST) &&
        !getenv("TERN_TEST_CKPT_NO_STREAM")) {
        return ckpt_dst_advise_streamed(arg == CKPT_CTL_ADVISE_STREAMED_FAST,
                                        errp);
    }
    if ((arg == CKPT_CTL_ADVISE_ON_DEMAND || arg == CKPT_CTL_OFFER_NOW) &&
        !getenv("TERN_TEST_CKPT_NO_STREAM") &&
        !getenv("TERN_TEST_CKPT_NO_ON_DEMAND")) {
        return arg == CKPT_CTL_OFFER_NOW ? ckpt_dst_offer_now(errp)
                                         : ckpt_dst_advise_on_demand(errp);
    }
    if (!mis->to_src_file || arg > UINT32_MAX) {
        error_setg(errp, "checkpoint: sync %" PRIu64 " %s", arg,
                   mis->to_src_file ? "out of range" : "without a return path");
        return -EINVAL;
    }
    /* every re-request for the records before the sync goes first */
    if (checkpoint_dst_wait(errp) < 0) {
        return -EIO;
    }
    migrate_send_rp_ckpt_ack(mis, arg);
    return 0;
}

void checkpoint_dst_load_end(void)
{
    checkpoint_verify_free(ckpt_dst.verify);
    ckpt_dst.verify = NULL;
    checkpoint_stream_free(ckpt_dst.stream);
    ckpt_dst.stream = NULL;
    ckpt_dst.on_demand = ckpt_dst.held = false;
    if (ckpt_dst.paused) {
        checkpoint_index_pause(ckpt_dst.load->ci, false);
        ckpt_dst.paused = false;
    }
    ckpt_dst_unref(ckpt_dst.load);
    ckpt_dst.load = NULL;
}

/* The destination's members of *info. */
static void checkpoint_dst_info(MigrationCheckpointInfo *info)
{
    CkptDstRef *r = ckpt_dst_take();
    CkptIndexStats st;

    if (!r) {
        return;
    }
    checkpoint_index_stats(r->ci, &st);
    info->has_destination = true;
    info->file = g_strdup(checkpoint_index_path(r->ci));
    info->index_status = !st.done ? "indexing" : st.ok ? "ready" : "failed";
    info->index_time = st.index_ms;
    info->indexed_pages = st.pages;
    info->loaded_pages = __atomic_load_n(&ckpt_dst.loaded, __ATOMIC_RELAXED);
    info->rerequested =
        __atomic_load_n(&ckpt_dst.rerequested, __ATOMIC_RELAXED);
    info->busy = __atomic_load_n(&ckpt_dst.busy, __ATOMIC_RELAXED);
    ckpt_dst_unref(r);
}

void checkpoint_info_get(MigrationCheckpointInfo *info)
{
    memset(info, 0, sizeof(*info));
    checkpoint_src_info(info);
    checkpoint_dst_info(info);
}
