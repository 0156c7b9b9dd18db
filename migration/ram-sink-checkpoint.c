/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * ram-sink-checkpoint.c: the checkpoint-assisted page sink (see
 * ram-sink.h and checkpoint.h).
 *
 * Records go on the main stream as with the stream sink, plus HASH
 * records: a non-zero page whose SHA-256 key is in the destination's
 * offer is sent as its 32-byte digest instead of its 4 KiB.
 *
 * Hashing runs ahead of the sender on a helper thread: selected pages
 * are collected in batches of CKPT_SINK_BATCH; while the helper
 * classifies one batch (zero, whole, or hash and look the key up), the
 * migration thread writes the records of the previous one and collects
 * the next.  On a link faster than the helper hashes, the migration
 * thread takes over what the helper has not reached and sends it whole
 * (ckpt_sink_maybe_take_over()).  Records leave in selection order, so a page
 * selected twice keeps its last record last.  A page the guest changes after it
 * was hashed is caught by the dirty log and sent again, as with any sink. Zero
 * pages are never hashed; pages the destination asked for again
 * (checkpoint_src_whole()) are never sent as HASH.
 *
 * The first payload waits for the destination's offer before any page.
 *
 * Threads: ops run on the migration thread; the helper only touches the
 * batch it was handed, between submit and done (under lock/cond).
 */
#include "qemu/osdep.h"
#include "qapi/error.h"
#include "qemu/buffer-zero.h"
#include "migration/options.h"
#include "migration.h"
#include "migration-stats.h"
#include "checkpoint.h"
#include "checkpoint-exchange.h"
#include "ram-format.h"
#include "ram-sink.h"

/*
 * A max-bandwidth above this is a fast local link, where hashing may
 * cost more than it saves (ckpt_sink_maybe_take_over()).
 */
#define CKPT_SINK_FAST_LINK (1ULL << 30)

/* Pages per batch: 1 MiB of guest RAM. */
#define CKPT_SINK_BATCH 256

typedef enum CkptPageKind {
    CKPT_PAGE_DATA,
    CKPT_PAGE_ZERO,
    CKPT_PAGE_HASH,
} CkptPageKind;

typedef struct CkptBatch {
    unsigned int n;
    unsigned int next; /* atomic: next entry to classify (helper claims) */
    RAMBlock *rb[CKPT_SINK_BATCH];
    uint64_t page[CKPT_SINK_BATCH];
    uint8_t kind[CKPT_SINK_BATCH];
    uint8_t digest[CKPT_SINK_BATCH][CKPT_DIGEST_BYTES];
} CkptBatch;

typedef struct RAMCkptSink {
    RAMPageSink base;
    QEMUFile *f;               /* main stream; the caller's */
    RAMBlock *last_sent_block; /* CONTINUE applies to this block */
    bool offered;              /* the offer arrived */
    int err;                   /* first error (negative errno) */
    const CkptKeySet *keys;    /* the offer's, NULL until offered */
    CkptBatch batches[2];
    CkptBatch *cur; /* being filled (migration thread) */
    CkptBatch *job; /* handed to the helper, or NULL */

    GThread *thread;
    GMutex lock;
    GCond cond;
    bool job_done; /* under lock */
    bool quit;     /* under lock */
    /* helper's hashing speed, bytes/s (atomic; 0 until measured) */
    uint64_t hash_rate;
} RAMCkptSink;

/*
 * Classify entry i of b, hashing it if hash and keys has any key.
 * Returns true if the page was hashed.
 */
static bool ckpt_sink_classify_one(const CkptKeySet *keys, CkptBatch *b,
                                   unsigned int i, bool hash)
{
    const uint8_t *host = b->rb[i]->host + (b->page[i] << TARGET_PAGE_BITS);
    uint64_t first;

    memcpy(&first, host, sizeof(first));
    if (first == 0 && buffer_is_zero(host, TARGET_PAGE_SIZE)) {
        b->kind[i] = CKPT_PAGE_ZERO;
        return false;
    }
    b->kind[i] = CKPT_PAGE_DATA;
    if (!hash || !keys || !keys->count ||
        checkpoint_src_whole(b->rb[i], b->page[i])) {
        return false;
    }
    checkpoint_hash_page(host, b->digest[i]);
    if (checkpoint_keyset_has(keys, checkpoint_digest_key(b->digest[i]))) {
        b->kind[i] = CKPT_PAGE_HASH;
    }
    return true;
}

/*
 * Classify the entries of b nobody claimed yet (helper thread, or the
 * migration thread for the last partial batch).  Entries are claimed
 * one by one, so the migration thread can take the rest over.
 */
static unsigned int ckpt_sink_classify(const CkptKeySet *keys, CkptBatch *b)
{
    unsigned int i, hashed = 0;

    while ((i = __atomic_fetch_add(&b->next, 1, __ATOMIC_ACQ_REL)) < b->n) {
        hashed += ckpt_sink_classify_one(keys, b, i, true);
    }
    return hashed;
}

/* Classify b on the helper, measuring how fast it hashes. */
static void ckpt_sink_measure(RAMCkptSink *cs, CkptBatch *b)
{
    int64_t t0 = g_get_monotonic_time();
    uint64_t bytes =
        (uint64_t)ckpt_sink_classify(cs->keys, b) * TARGET_PAGE_SIZE;
    int64_t us = g_get_monotonic_time() - t0;

    if (us > 0 && bytes >= CKPT_SINK_BATCH / 4 * TARGET_PAGE_SIZE) {
        uint64_t rate = bytes * G_USEC_PER_SEC / us;
        uint64_t old = __atomic_load_n(&cs->hash_rate, __ATOMIC_RELAXED);

        /* a moving average: one batch is about a millisecond of work */
        __atomic_store_n(&cs->hash_rate, old ? (old * 7 + rate) / 8 : rate,
                         __ATOMIC_RELAXED);
    }
}

static gpointer ckpt_sink_thread(gpointer opaque)
{
    RAMCkptSink *cs = opaque;

    g_mutex_lock(&cs->lock);
    for (;;) {
        while (!cs->quit && (!cs->job || cs->job_done)) {
            g_cond_wait(&cs->cond, &cs->lock);
        }
        if (cs->quit) {
            break;
        }
        g_mutex_unlock(&cs->lock);
        ckpt_sink_measure(cs, cs->job);
        g_mutex_lock(&cs->lock);
        cs->job_done = true;
        g_cond_broadcast(&cs->cond);
    }
    g_mutex_unlock(&cs->lock);
    return NULL;
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

/* One record of a classified batch. */
static size_t ckpt_sink_emit_one(RAMCkptSink *cs, CkptBatch *b, unsigned int i)
{
    RAMBlock *rb = b->rb[i];
    uint64_t offset = b->page[i] << TARGET_PAGE_BITS;
    size_t bytes;

    switch (b->kind[i]) {
    case CKPT_PAGE_ZERO:
        bytes = ckpt_sink_header(cs, rb, offset, RAM_SAVE_FLAG_ZERO);
        qemu_put_byte(cs->f, 0);
        stat64_add(&mig_stats.zero_pages, 1);
        return bytes + RAM_ZERO_FILL_BYTES;
    case CKPT_PAGE_HASH: {
        uint64_t key = checkpoint_digest_key(b->digest[i]);

        bytes = ckpt_sink_header(cs, rb, offset, RAM_SAVE_FLAG_HASH);
        qemu_put_buffer(cs->f, b->digest[i], RAM_HASH_BYTES);
        checkpoint_src_count(1, key != checkpoint_src_key_at(rb, b->page[i]));
        return bytes + RAM_HASH_BYTES;
    }
    default:
        bytes = ckpt_sink_header(cs, rb, offset, RAM_SAVE_FLAG_PAGE);
        qemu_put_buffer_async(cs->f, rb->host + offset, TARGET_PAGE_SIZE,
                              false);
        stat64_add(&mig_stats.normal_pages, 1);
        return bytes + TARGET_PAGE_SIZE;
    }
}

static void ckpt_sink_emit(RAMCkptSink *cs, CkptBatch *b)
{
    size_t bytes = 0;

    for (unsigned int i = 0; i < b->n; i++) {
        bytes += ckpt_sink_emit_one(cs, b, i);
    }
    b->n = 0;
    b->next = 0;
    migration_stats_account_ram(bytes);
}

/*
 * Hashing pays when the link is slower than the helper hashes: a page
 * costs 4 KiB of link time unhashed.  On a fast local link (max-bandwidth
 * above CKPT_SINK_FAST_LINK) that also allows more than the helper's
 * measured speed, the migration thread does not wait for the helper: it
 * takes the entries the helper has not started and sends them whole, so
 * hashing does not hold the sender back.  Other links always wait (and
 * what is sent does not depend on timing there).
 */
static void ckpt_sink_maybe_take_over(RAMCkptSink *cs, CkptBatch *b)
{
    uint64_t rate = __atomic_load_n(&cs->hash_rate, __ATOMIC_RELAXED);
    unsigned int start;

    if (!rate || migrate_max_bandwidth() <= CKPT_SINK_FAST_LINK ||
        migrate_max_bandwidth() <= rate) {
        return;
    }
    start = __atomic_exchange_n(&b->next, b->n, __ATOMIC_ACQ_REL);
    for (unsigned int i = start; i < b->n; i++) {
        ckpt_sink_classify_one(cs->keys, b, i, false);
    }
}

/* Wait for the helper's batch, if any, and write its records. */
static void ckpt_sink_collect(RAMCkptSink *cs)
{
    CkptBatch *b;

    if (cs->job) {
        ckpt_sink_maybe_take_over(cs, cs->job);
    }
    g_mutex_lock(&cs->lock);
    while (cs->job && !cs->job_done) {
        g_cond_wait(&cs->cond, &cs->lock);
    }
    b = cs->job;
    cs->job = NULL;
    g_mutex_unlock(&cs->lock);
    if (b) {
        ckpt_sink_emit(cs, b);
    }
}

/* cur is full: write the helper's batch, hand cur over, fill the other. */
static void ckpt_sink_rotate(RAMCkptSink *cs)
{
    ckpt_sink_collect(cs);
    g_mutex_lock(&cs->lock);
    cs->job = cs->cur;
    cs->job_done = false;
    g_cond_broadcast(&cs->cond);
    g_mutex_unlock(&cs->lock);
    cs->cur = cs->cur == &cs->batches[0] ? &cs->batches[1] : &cs->batches[0];
}

static int ckpt_sink_save_page(RAMPageSink *sink, RAMBlock *rb, uint64_t page)
{
    RAMCkptSink *cs = (RAMCkptSink *)sink;
    CkptBatch *b = cs->cur;

    if (cs->err) {
        return cs->err;
    }
    b->rb[b->n] = rb;
    b->page[b->n] = page;
    if (++b->n == CKPT_SINK_BATCH) {
        ckpt_sink_rotate(cs);
    }
    return qemu_file_get_error(cs->f);
}

/* The first payload: wait for the destination's offer. */
static void ckpt_sink_section_begin(RAMPageSink *sink, QEMUFile *f)
{
    RAMCkptSink *cs = (RAMCkptSink *)sink;
    Error *err = NULL;

    cs->f = f;
    if (cs->offered || cs->err) {
        return;
    }
    if (!checkpoint_src_wait_offer(f, &err)) {
        migrate_set_error(migrate_get_current(), err);
        error_free(err);
        cs->err = -EIO;
        return;
    }
    cs->keys = checkpoint_src_keys();
    cs->offered = true;
}

/* Write every collected page's record. */
static void ckpt_sink_flush(RAMCkptSink *cs)
{
    ckpt_sink_collect(cs);
    if (cs->cur->n) {
        ckpt_sink_classify(cs->keys, cs->cur);
        ckpt_sink_emit(cs, cs->cur);
    }
}

static int ckpt_sink_section_end(RAMPageSink *sink, QEMUFile *f)
{
    RAMCkptSink *cs = (RAMCkptSink *)sink;

    if (!cs->err) {
        ckpt_sink_flush(cs);
    }
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
    ckpt_sink_flush(cs);
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
    while (cs->job && !cs->job_done) {
        g_cond_wait(&cs->cond, &cs->lock);
    }
    cs->quit = true;
    g_cond_broadcast(&cs->cond);
    g_mutex_unlock(&cs->lock);
    g_thread_join(cs->thread);
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

RAMPageSink *ram_sink_checkpoint_new(QEMUFile *f)
{
    RAMCkptSink *cs = g_new0(RAMCkptSink, 1);

    cs->base.ops = &ram_sink_checkpoint_ops;
    cs->f = f;
    cs->cur = &cs->batches[0];
    g_mutex_init(&cs->lock);
    g_cond_init(&cs->cond);
    checkpoint_src_begin();
    cs->thread = g_thread_new("mig/ckpt/hash", ckpt_sink_thread, cs);
    return &cs->base;
}
