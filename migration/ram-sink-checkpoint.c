/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * ram-sink-checkpoint.c: the checkpoint-assisted page sink (see
 * ram-sink.h and checkpoint.h).
 *
 * Records go on the main stream as with the stream sink, plus HASH
 * records: a non-zero page whose SHA-256 key is in the destination's
 * offer is sent as its 32-byte digest instead of its 4 KiB.
 *
 * Hashing runs ahead of the sender (at most CKPT_HASH_AHEAD pages) on
 * one thread per processor and the sender never waits for it.  Per page the
 * sink keeps a digest and a stamp: the dirty-log pass the digest was taken in
 * (and whether the page was zero, which is never hashed).  The hash threads
 * claim chunks of CKPT_HASH_CHUNK pages of the current pass in address order,
 * starting after the page the sender handled last and jumping forward when the
 * sender overtakes them, and only look at pages still dirty.  When the
 * sender reaches a page: a stamp of the current pass gives its kind
 * (zero, or a digest to look up in the offer's keys); without one the
 * page goes as the stream sink sends it (ZERO or PAGE).  So on a link
 * faster than the hashing, pages simply go whole; on a slow link the
 * hashing runs ahead while the sender waits for the link.
 *
 * Why a digest of the current pass is right: the pass number
 * (mig_stats.dirty_sync_count) changes on the migration thread after each
 * dirty-log sync, and the sink starts a new hash pass when it sees the
 * change, before its next page; a digest taken after that is of content
 * at least as new as the sync, and a later write is in the dirty log, so
 * the page is sent again.  Digests of an older pass are ignored.  A hash
 * thread publishes a chunk's digests and stamps under the lock, only if
 * the pass is still the one it claimed in, so a stale digest never
 * overwrites a current one.
 *
 * Whether to hash at all is measured (checkpoint-pace.h): a HASH page
 * costs a SHA-256 pass on each side, so while the link carries whole
 * pages faster than a third of one thread's hash speed (a loopback, a fast
 * network) the hash threads stop and every page goes whole, as with the
 * stream sink, and the destination has nothing to verify; when the link
 * is slower (max-bandwidth, a WAN) they run as below.  On a fast link the
 * destination holds its offer back (on-demand advise) until the sink
 * first decides to hash: it asks for it then (checkpoint_src_offer_now())
 * and hashes pages whose keys have arrived, as with a streamed offer.
 *
 * Priority: with max-bandwidth at most CKPT_HASH_IDLE_ABOVE (a link
 * slower than one thread's hashing, so every hash saves link time worth
 * more than its CPU) the hash threads run at normal priority.  Above it,
 * or unlimited, a page costs about as much CPU to send whole as to hash
 * here and verify on the destination, so hashing only pays with CPU
 * nobody else wants: the threads run at SCHED_IDLE, and where the
 * sender, the link or (on one host) the destination use the processors,
 * pages simply go whole.
 *
 * Pages the destination asked for again (checkpoint_src_whole()) are
 * never sent as HASH.  The first payload waits for the destination's
 * offer before any page (the hash threads already work meanwhile).
 *
 * Threads: ops run on the migration thread.  lock guards the pass
 * (pass, covered, start, quit) and the publication of digests; the
 * sender reads a stamp with acquire, the digest after it.  Memory: 36
 * bytes per guest page (0.9% of RAM) for the digests and stamps.
 */
#include "qemu/osdep.h"
#include "qapi/error.h"
#include "qemu/bitmap.h"
#include "qemu/buffer-zero.h"
#include "qemu/thread.h"
#include "migration/options.h"
#include "migration.h"
#include "migration-stats.h"
#include "checkpoint.h"
#include "checkpoint-exchange.h"
#include "checkpoint-pace.h"
#include "qemu/trace.h"
#include "ram-format.h"
#include "ram-sink.h"

/* Pages a hash thread claims at a time. */
#define CKPT_HASH_CHUNK 64
/* At most this many hash threads. */
#define CKPT_HASH_MAX_THREADS 16
/*
 * How far (pages) the hashing may run ahead of the sender: 256 MiB, about
 * a tenth of a second of two threads' hashing.  Enough to keep ahead of
 * a sender that waits for its link; bounded so that hashing while the
 * source waits for the offer does not take a whole RAM's worth of CPU
 * from a destination indexing on the same host, nor hash pages the guest
 * dirties again before the sender gets there.
 */
#define CKPT_HASH_AHEAD (64 * 1024)
/*
 * Above this max-bandwidth (bytes/s) or unlimited, the hash threads run at
 * SCHED_IDLE: a SHA-NI thread hashes about 1.2 GB/s of pages (3.4 us a
 * page), and whole pages on such a link cost about as much CPU as hashing
 * and verifying them.
 */
#define CKPT_HASH_IDLE_ABOVE CKPT_FAST_LINK
/* The sender wakes the hash threads after this many pages. */
#define CKPT_HASH_KICK 1024
/* Stamp bit: the page was zero (not hashed). */
#define CKPT_STAMP_ZERO 1u

/* Per RAM block: the digests and stamps of its pages. */
typedef struct CkptHashBlock {
    RAMBlock *rb;
    uint64_t base;   /* number of its first page among all blocks' pages */
    uint64_t pages;  /* at sink creation */
    uint32_t *stamp; /* pass << 1 | CKPT_STAMP_ZERO; 0: never hashed */
    uint8_t (*digest)[CKPT_DIGEST_BYTES];
} CkptHashBlock;

typedef struct RAMCkptSink {
    RAMPageSink base;
    QEMUFile *f;               /* main stream; the caller's */
    RAMBlock *last_sent_block; /* CONTINUE applies to this block */
    bool offered;              /* the destination answered the advise */
    int err;                   /* first error (negative errno) */
    CkptHashBlock *blocks;
    unsigned int nr_blocks;
    uint64_t total;          /* pages of all blocks */
    CkptHashBlock *last;     /* sender: block of the last page */
    uint32_t sender_pass;    /* sender: the pass it started hashing */
    uint64_t sender_pos;     /* atomic: number of the page sent last */
    uint64_t unhashed;       /* sender: pages reached before their hash */
    uint64_t whole;          /* sender: sent whole, hashing did not pay */
    unsigned int since_kick; /* sender: pages since it woke the hashing */
    CkptPace pace;           /* sender: does hashing pay on this link? */

    GThread **threads;
    unsigned int nr_threads;
    bool idle; /* hash threads at SCHED_IDLE */
    GMutex lock;
    GCond cond;
    bool quit;        /* under lock */
    bool hashing;     /* atomic: pace.hashing, for the hash threads */
    uint32_t pass;    /* under lock: the pass being hashed, 0: none yet */
    uint64_t start;   /* under lock: page number the pass started at */
    uint64_t covered; /* under lock: pages of the pass claimed or skipped */
    uint64_t hashed;  /* atomic: pages hashed */
} RAMCkptSink;

/* A hash thread's claim: n pages of one block from page. */
typedef struct CkptClaim {
    CkptHashBlock *hb;
    uint64_t page;
    unsigned int n;
    uint32_t pass;
} CkptClaim;

static CkptHashBlock *ckpt_sink_block_at(RAMCkptSink *cs, uint64_t pos)
{
    for (unsigned int i = 0; i < cs->nr_blocks; i++) {
        CkptHashBlock *hb = &cs->blocks[i];

        if (pos >= hb->base && pos - hb->base < hb->pages) {
            return hb;
        }
    }
    return NULL;
}

static CkptHashBlock *ckpt_sink_block(RAMCkptSink *cs, RAMBlock *rb)
{
    if (cs->last && cs->last->rb == rb) {
        return cs->last;
    }
    for (unsigned int i = 0; i < cs->nr_blocks; i++) {
        if (cs->blocks[i].rb == rb) {
            cs->last = &cs->blocks[i];
            return cs->last;
        }
    }
    return NULL;
}

/*
 * Claim the next pages of the pass (under lock): first skip to the page
 * after the sender's if it overtook the claims.  False when the pass is
 * covered.
 */
static bool ckpt_sink_claim(RAMCkptSink *cs, CkptClaim *c)
{
    uint64_t next = __atomic_load_n(&cs->sender_pos, __ATOMIC_RELAXED) + 1;
    uint64_t cursor, skip;

    if (cs->covered >= cs->total ||
        !__atomic_load_n(&cs->hashing, __ATOMIC_RELAXED)) {
        return false;
    }
    cursor = (cs->start + cs->covered) % cs->total;
    skip = (next + cs->total - cursor) % cs->total;
    if (skip < cs->total - cs->covered) {
        cs->covered += skip;
        cursor = next % cs->total;
    }
    if (cs->covered >= cs->total ||
        (cursor + cs->total - next % cs->total) % cs->total >=
            CKPT_HASH_AHEAD) {
        return false; /* done, or far enough ahead: wait for a kick */
    }
    c->hb = ckpt_sink_block_at(cs, cursor);
    c->page = cursor - c->hb->base;
    c->n = MIN(MIN(CKPT_HASH_CHUNK, c->hb->pages - c->page),
               cs->total - cs->covered);
    c->pass = cs->pass;
    cs->covered += c->n;
    return true;
}

/* Is page still dirty (to be sent this pass)? */
static bool ckpt_sink_page_dirty(RAMBlock *rb, uint64_t page)
{
    unsigned long w =
        __atomic_load_n(&rb->bmap[BIT_WORD(page)], __ATOMIC_RELAXED);

    return w & BIT_MASK(page);
}

/* Hash the claimed pages, publish the results if the pass is current. */
static void ckpt_sink_hash_claim(RAMCkptSink *cs, const CkptClaim *c)
{
    uint8_t digest[CKPT_HASH_CHUNK][CKPT_DIGEST_BYTES];
    uint32_t stamp[CKPT_HASH_CHUNK];
    uint64_t hashed = 0;

    for (unsigned int i = 0; i < c->n; i++) {
        uint64_t page = c->page + i;
        const uint8_t *host = c->hb->rb->host + (page << TARGET_PAGE_BITS);

        stamp[i] = 0;
        if (!ckpt_sink_page_dirty(c->hb->rb, page)) {
            continue;
        }
        if (ram_sink_page_is_zero(host)) {
            stamp[i] = c->pass << 1 | CKPT_STAMP_ZERO;
            continue;
        }
        checkpoint_hash_page(host, digest[i]);
        stamp[i] = c->pass << 1;
        hashed++;
    }
    g_mutex_lock(&cs->lock);
    if (cs->pass == c->pass) {
        for (unsigned int i = 0; i < c->n; i++) {
            if (stamp[i]) {
                memcpy(c->hb->digest[c->page + i], digest[i],
                       CKPT_DIGEST_BYTES);
                __atomic_store_n(&c->hb->stamp[c->page + i], stamp[i],
                                 __ATOMIC_RELEASE);
            }
        }
    }
    g_mutex_unlock(&cs->lock);
    __atomic_fetch_add(&cs->hashed, hashed, __ATOMIC_RELAXED);
}

static gpointer ckpt_sink_thread(gpointer opaque)
{
    RAMCkptSink *cs = opaque;
    CkptClaim c;

    if (cs->idle) {
        /* best effort: at normal priority the pages just go as hashes */
        qemu_thread_set_idle();
    }
    g_mutex_lock(&cs->lock);
    for (;;) {
        while (!cs->quit && (!cs->pass || !ckpt_sink_claim(cs, &c))) {
            g_cond_wait(&cs->cond, &cs->lock);
        }
        if (cs->quit) {
            break;
        }
        g_mutex_unlock(&cs->lock);
        ckpt_sink_hash_claim(cs, &c);
        g_mutex_lock(&cs->lock);
    }
    g_mutex_unlock(&cs->lock);
    return NULL;
}

/*
 * After a dirty-log sync (a new pass number): hash the pass's dirty
 * pages from the one after the sender's.  Migration thread.
 */
static void ckpt_sink_check_pass(RAMCkptSink *cs)
{
    uint32_t pass = stat64_get(&mig_stats.dirty_sync_count);

    if (pass == cs->sender_pass) {
        return;
    }
    cs->sender_pass = pass;
    g_mutex_lock(&cs->lock);
    cs->pass = pass;
    cs->start = (__atomic_load_n(&cs->sender_pos, __ATOMIC_RELAXED) + 1) %
                MAX(cs->total, 1);
    cs->covered = 0;
    g_cond_broadcast(&cs->cond);
    g_mutex_unlock(&cs->lock);
}

/* The sender moved on: hash threads that were far enough ahead go on. */
static void ckpt_sink_kick(RAMCkptSink *cs)
{
    cs->since_kick = 0;
    g_mutex_lock(&cs->lock);
    g_cond_broadcast(&cs->cond);
    g_mutex_unlock(&cs->lock);
}

/* Header word and, unless CONTINUE applies, the block name. */
static size_t ckpt_sink_header(RAMCkptSink *cs, RAMBlock *rb, uint64_t offset,
                               uint64_t flags)
{
    if (rb == cs->last_sent_block) {
        qemu_put_be64(cs->f, offset | flags | RAM_SAVE_FLAG_CONTINUE);
        return RAM_RECORD_HEADER_BYTES;
    }
    qemu_put_be64(cs->f, offset | flags);
    qemu_put_counted_string(cs->f, rb->idstr);
    cs->last_sent_block = rb;
    return ram_record_header_bytes_named(rb->idstr);
}

static size_t ckpt_sink_put_zero(RAMCkptSink *cs, RAMBlock *rb, uint64_t page)
{
    size_t bytes =
        ckpt_sink_header(cs, rb, page << TARGET_PAGE_BITS, RAM_SAVE_FLAG_ZERO);

    qemu_put_byte(cs->f, 0);
    stat64_add(&mig_stats.zero_pages, 1);
    return bytes + RAM_ZERO_FILL_BYTES;
}

static size_t ckpt_sink_put_page(RAMCkptSink *cs, RAMBlock *rb, uint64_t page)
{
    uint64_t offset = page << TARGET_PAGE_BITS;
    size_t bytes = ckpt_sink_header(cs, rb, offset, RAM_SAVE_FLAG_PAGE);

    qemu_put_buffer_async(cs->f, rb->host + offset, TARGET_PAGE_SIZE, false);
    stat64_add(&mig_stats.normal_pages, 1);
    return bytes + TARGET_PAGE_SIZE;
}

static size_t ckpt_sink_put_hash(RAMCkptSink *cs, RAMBlock *rb, uint64_t page,
                                 const uint8_t *digest, uint64_t key)
{
    size_t bytes =
        ckpt_sink_header(cs, rb, page << TARGET_PAGE_BITS, RAM_SAVE_FLAG_HASH);

    qemu_put_buffer(cs->f, digest, RAM_HASH_BYTES);
    checkpoint_src_count(1, key != checkpoint_src_key_at(rb, page));
    return bytes + RAM_HASH_BYTES;
}

/*
 * A page with a digest of this pass: HASH if the offer has its key at the
 * page's address (pieces of a streamed offer arrive while we send) or,
 * once the offer is complete, anywhere.
 */
static size_t ckpt_sink_put_hashed(RAMCkptSink *cs, CkptHashBlock *hb,
                                   uint64_t page)
{
    uint64_t key = checkpoint_digest_key(hb->digest[page]);
    const CkptKeySet *ks = checkpoint_src_keys();

    if (!ks && checkpoint_src_key_at(hb->rb, page) != key &&
        checkpoint_src_wait_cover(hb->rb, page)) {
        ks = checkpoint_src_keys();
    }
    if ((checkpoint_src_key_at(hb->rb, page) == key ||
         (ks && ks->count && checkpoint_keyset_has(ks, key))) &&
        !checkpoint_src_whole(hb->rb, page)) {
        return ckpt_sink_put_hash(cs, hb->rb, page, hb->digest[page], key);
    }
    return ckpt_sink_put_page(cs, hb->rb, page);
}

/*
 * The link's measured speed moved across the mark (checkpoint-pace.h):
 * the hash threads start (from the sender's page on) or stop.
 */
static void ckpt_sink_pace_changed(RAMCkptSink *cs)
{
    TRACE("migration_ckpt_pace",
          "link %" PRIu64 " B/s, hashing %" PRIu64 " B/s, cpu %u/1000: %s",
          cs->pace.link_bps, cs->pace.hash_bps, cs->pace.cpu_share,
          cs->pace.hashing ? "hash" : "whole");
    __atomic_store_n(&cs->hashing, cs->pace.hashing, __ATOMIC_RELAXED);
    if (cs->pace.hashing && cs->offered) {
        /* a fast link's destination holds its offer until asked */
        checkpoint_src_offer_now(cs->f);
    }
    ckpt_sink_kick(cs);
}

static int ckpt_sink_save_page(RAMPageSink *sink, RAMBlock *rb, uint64_t page)
{
    RAMCkptSink *cs = (RAMCkptSink *)sink;
    CkptHashBlock *hb;
    uint32_t stamp = 0;
    size_t bytes;

    if (cs->err) {
        return cs->err;
    }
    ckpt_sink_check_pass(cs);
    hb = ckpt_sink_block(cs, rb);
    if (cs->pace.hashing && ++cs->since_kick >= CKPT_HASH_KICK) {
        /* not hashing, the threads could claim nothing: let them sleep */
        ckpt_sink_kick(cs);
    }
    if (hb && page < hb->pages) {
        __atomic_store_n(&cs->sender_pos, hb->base + page, __ATOMIC_RELAXED);
        stamp = __atomic_load_n(&hb->stamp[page], __ATOMIC_ACQUIRE);
    }
    if (stamp >> 1 == cs->sender_pass && stamp && cs->pace.hashing) {
        bytes = stamp & CKPT_STAMP_ZERO ? ckpt_sink_put_zero(cs, rb, page)
                                        : ckpt_sink_put_hashed(cs, hb, page);
    } else if (ram_sink_page_is_zero(rb->host + (page << TARGET_PAGE_BITS))) {
        bytes = ckpt_sink_put_zero(cs, rb, page);
    } else {
        cs->unhashed += cs->pace.hashing;
        cs->whole += !cs->pace.hashing;
        bytes = ckpt_sink_put_page(cs, rb, page);
    }
    migration_stats_account_ram(bytes);
    if (checkpoint_pace_account(&cs->pace, bytes)) {
        ckpt_sink_pace_changed(cs);
    }
    return qemu_file_get_error(cs->f);
}

/*
 * A payload starts; the first one waits for the destination's answer to
 * the advise (a streamed offer's first piece, or an older destination's
 * whole offer).
 */
static void ckpt_sink_section_begin(RAMPageSink *sink, QEMUFile *f)
{
    RAMCkptSink *cs = (RAMCkptSink *)sink;
    Error *err = NULL;

    cs->f = f;
    ckpt_sink_check_pass(cs); /* hash while waiting for the offer */
    if (cs->offered || cs->err) {
        return;
    }
    if (!checkpoint_src_wait_offer(f, &err)) {
        migrate_set_error(migrate_get_current(), err);
        error_free(err);
        cs->err = -EIO;
        return;
    }
    cs->offered = true;
    if (cs->pace.hashing) {
        checkpoint_src_offer_now(f);
    }
}

static int ckpt_sink_section_end(RAMPageSink *sink, QEMUFile *f)
{
    RAMCkptSink *cs = (RAMCkptSink *)sink;

    checkpoint_src_count_hashing(__atomic_load_n(&cs->hashed, __ATOMIC_RELAXED),
                                 cs->unhashed);
    checkpoint_src_count_pace(cs->whole, cs->pace.link_bps, cs->pace.hash_bps);
    qemu_put_be64(f, RAM_SAVE_FLAG_EOS);
    migration_stats_account_ram(RAM_RECORD_HEADER_BYTES);
    return cs->err ? cs->err : qemu_file_get_error(f);
}

/*
 * The guest is stopped and every dirty page is out: sync with the
 * destination; > 0 when it asked for pages again (queued: send them and
 * settle again).
 */
static int ckpt_sink_settle(RAMPageSink *sink, QEMUFile *f)
{
    RAMCkptSink *cs = (RAMCkptSink *)sink;
    Error *err = NULL;
    int ret;

    if (cs->err) {
        return cs->err;
    }
    ret = checkpoint_src_sync(f, &err);
    if (ret < 0) {
        migrate_set_error(migrate_get_current(), err);
        error_free(err);
        cs->err = ret;
    }
    return ret;
}

static void ckpt_sink_free(RAMPageSink *sink)
{
    RAMCkptSink *cs = (RAMCkptSink *)sink;

    g_mutex_lock(&cs->lock);
    cs->quit = true;
    g_cond_broadcast(&cs->cond);
    g_mutex_unlock(&cs->lock);
    for (unsigned int i = 0; i < cs->nr_threads; i++) {
        g_thread_join(cs->threads[i]);
    }
    for (unsigned int i = 0; i < cs->nr_blocks; i++) {
        g_free(cs->blocks[i].stamp);
        g_free(cs->blocks[i].digest);
    }
    g_free(cs->blocks);
    g_free(cs->threads);
    g_mutex_clear(&cs->lock);
    g_cond_clear(&cs->cond);
    checkpoint_src_end();
    g_free(cs);
}

static const RAMPageSinkOps ram_sink_checkpoint_ops = {
    .name = "checkpoint",
    .save_page = ckpt_sink_save_page,
    .section_end = ckpt_sink_section_end,
    .free = ckpt_sink_free,
    .section_begin = ckpt_sink_section_begin,
    .settle = ckpt_sink_settle,
};

/* The digests and stamps of every block's pages. */
static void ckpt_sink_blocks_new(RAMCkptSink *cs)
{
    RAMBlock *rb;

    RAMBLOCK_FOREACH(rb)
    {
        cs->nr_blocks++;
    }
    cs->blocks = g_new0(CkptHashBlock, MAX(cs->nr_blocks, 1));
    cs->nr_blocks = 0;
    RAMBLOCK_FOREACH(rb)
    {
        CkptHashBlock *hb = &cs->blocks[cs->nr_blocks++];

        hb->rb = rb;
        hb->base = cs->total;
        hb->pages = ram_block_pages(rb);
        hb->stamp = g_new0(uint32_t, MAX(hb->pages, 1));
        hb->digest = g_malloc(MAX(hb->pages, 1) * CKPT_DIGEST_BYTES);
        cs->total += hb->pages;
    }
    /* no page sent yet: the first pass starts at page 0 */
    cs->sender_pos = MAX(cs->total, 1) - 1;
}

RAMPageSink *ram_sink_checkpoint_new(QEMUFile *f)
{
    RAMCkptSink *cs = g_new0(RAMCkptSink, 1);

    cs->base.ops = &ram_sink_checkpoint_ops;
    cs->f = f;
    g_mutex_init(&cs->lock);
    g_cond_init(&cs->cond);
    checkpoint_src_begin();
    ckpt_sink_blocks_new(cs);
    cs->sender_pass = stat64_get(&mig_stats.dirty_sync_count);
    checkpoint_pace_init(&cs->pace, checkpoint_pace_hash_speed(),
                         migrate_max_bandwidth());
    cs->hashing = cs->pace.hashing;
    TRACE("migration_ckpt_pace_start", "hashing %" PRIu64 " B/s: %s",
          cs->pace.hash_bps, cs->pace.hashing ? "hash" : "whole");
    cs->idle = !migrate_max_bandwidth() ||
               migrate_max_bandwidth() > CKPT_HASH_IDLE_ABOVE;
    cs->nr_threads = MIN(MAX(g_get_num_processors(), 1), CKPT_HASH_MAX_THREADS);
    cs->threads = g_new(GThread *, cs->nr_threads);
    for (unsigned int i = 0; i < cs->nr_threads; i++) {
        cs->threads[i] = g_thread_new("mig/ckpt/hash", ckpt_sink_thread, cs);
    }
    return &cs->base;
}
