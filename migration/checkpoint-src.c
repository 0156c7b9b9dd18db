/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * checkpoint-src.c: the source side of checkpoint-assisted migration
 * (see checkpoint.h): the advise record, the destination's offer, page
 * requests and syncs.
 *
 * One CkptSrc per outgoing migration, reset by checkpoint_src_begin().
 * The return-path thread fills it (offer pieces, requests, acks) and the
 * migration thread reads it; lock and cond guard the exchange's state and
 * the ack number.  The per-address keys (our own offer's arrays, one per
 * block) are written by the return-path thread while the sender reads
 * them (relaxed atomics: a key not there yet only means a page goes
 * whole); the key set of every offered key is published once complete.
 * The "whole" bitmaps are set with atomic bit operations, the counters
 * are relaxed atomics (mig_stats style).
 */
#include "qemu/osdep.h"
#include "qapi/error.h"
#include "qemu/bitmap.h"
#include "qemu/bswap.h"
#include "qemu/trace.h"
#include "migration.h"
#include "migration/options.h"
#include "migration-stats.h"
#include "checkpoint.h"
#include "checkpoint-exchange.h"
#include "ram.h"
#include "ram-format.h"
#include "rate-limit.h"
#include "return-path.h"

/* How often a waiting migration thread looks for cancel or failure. */
#define CKPT_WAIT_POLL_MS 50
/*
 * The longest the sender waits for the streamed offer to reach a page
 * (it never waits on a link faster than CKPT_FAST_LINK: there whole pages
 * cost less time than the wait; ckpt_src_worth_waiting()).
 */
#define CKPT_SRC_COVER_WAIT_MS 100

/* Per RAM block: the offer's keys at its pages, pages to send whole. */
typedef struct CkptSrcBlock {
    RAMBlock *rb;
    uint64_t *keys;       /* atomic: into ckpt_src.offer */
    uint64_t covered;     /* atomic: pages below the end of every piece */
    unsigned long *whole; /* one bit per page */
} CkptSrcBlock;

/* What the destination answered the advise record with (under lock). */
typedef enum CkptSrcMode {
    CKPT_SRC_ASKED,    /* advise_arg sent, no answer yet */
    CKPT_SRC_REFUSED,  /* an older destination took advise_arg for a sync */
    CKPT_SRC_STREAMED, /* pieces come (on demand: once asked), then the
                          final offer */
    CKPT_SRC_WHOLE,    /* an older destination: advise, one whole offer */
} CkptSrcMode;

typedef struct CkptSrc {
    GMutex lock;
    GCond cond;
    bool active;         /* between begin and end (under lock) */
    CkptSrcMode mode;    /* under lock */
    bool offered;        /* final or whole offer parsed (under lock) */
    CkptOffer *offer;    /* our blocks' keys, filled from the destination's */
    CkptKeySet *keys;    /* atomic ptr: every key offered, once complete */
    uint32_t sync_sent;  /* migration thread */
    uint32_t sync_acked; /* under lock */
    uint64_t requests_at_sync; /* migration thread */
    CkptSrcBlock *blocks;
    unsigned int nr_blocks;
    int64_t advise_us;
    uint32_t advise_arg; /* CKPT_CTL_ADVISE_*, under lock */
    int64_t stream_us;   /* when the stream was asked for (migration
                            thread; on demand: 0 until asked) */
    uint64_t covered;    /* atomic: sum of the blocks' covered */
    uint64_t stalled_at; /* migration thread: covered when a wait for
                            it timed out (+1; 0: none) */
    /* statistics (relaxed atomics) */
    bool used;
    uint64_t requests;
    uint64_t offer_bytes;
    int64_t offer_ms;
} CkptSrc;

static CkptSrc ckpt_src;

/* Statistics of the HASH records and the hashing, counted by the sink. */
static uint64_t ckpt_src_pages, ckpt_src_moved;
static uint64_t ckpt_src_hashed, ckpt_src_unhashed;
static uint64_t ckpt_src_whole, ckpt_src_link_bps, ckpt_src_hash_bps;

static CkptSrcBlock *ckpt_src_block(RAMBlock *rb)
{
    for (unsigned int i = 0; i < ckpt_src.nr_blocks; i++) {
        if (ckpt_src.blocks[i].rb == rb) {
            return &ckpt_src.blocks[i];
        }
    }
    return NULL;
}

static void ckpt_src_free_offer(void)
{
    checkpoint_keyset_free(ckpt_src.keys);
    ckpt_src.keys = NULL;
    for (unsigned int i = 0; i < ckpt_src.nr_blocks; i++) {
        g_free(ckpt_src.blocks[i].whole);
    }
    g_free(ckpt_src.blocks);
    ckpt_src.blocks = NULL;
    ckpt_src.nr_blocks = 0;
    checkpoint_offer_free(ckpt_src.offer);
    ckpt_src.offer = NULL;
}

void checkpoint_src_begin(void)
{
    RAMBlock *rb;
    unsigned int n = 0;

    g_mutex_lock(&ckpt_src.lock);
    ckpt_src_free_offer();
    RAMBLOCK_FOREACH(rb)
    {
        n++;
    }
    ckpt_src.blocks = g_new0(CkptSrcBlock, MAX(n, 1));
    ckpt_src.offer = checkpoint_offer_new();
    RAMBLOCK_FOREACH(rb)
    {
        CkptSrcBlock *b = &ckpt_src.blocks[ckpt_src.nr_blocks++];

        b->rb = rb;
        b->whole = bitmap_new(MAX(ram_block_pages(rb), 1));
        b->keys = checkpoint_offer_add_block(ckpt_src.offer, rb->idstr,
                                             ram_block_pages(rb))
                      ->keys;
    }
    ckpt_src.active = true;
    ckpt_src.mode = CKPT_SRC_ASKED;
    ckpt_src.offered = false;
    ckpt_src.sync_sent = ckpt_src.sync_acked = 0;
    ckpt_src.stream_us = 0;
    __atomic_store_n(&ckpt_src.covered, 0, __ATOMIC_RELAXED);
    ckpt_src.stalled_at = 0;
    ckpt_src.requests_at_sync = 0;
    ckpt_src.used = true;
    __atomic_store_n(&ckpt_src.requests, 0, __ATOMIC_RELAXED);
    __atomic_store_n(&ckpt_src.offer_bytes, 0, __ATOMIC_RELAXED);
    __atomic_store_n(&ckpt_src.offer_ms, 0, __ATOMIC_RELAXED);
    __atomic_store_n(&ckpt_src_pages, 0, __ATOMIC_RELAXED);
    __atomic_store_n(&ckpt_src_moved, 0, __ATOMIC_RELAXED);
    __atomic_store_n(&ckpt_src_hashed, 0, __ATOMIC_RELAXED);
    __atomic_store_n(&ckpt_src_unhashed, 0, __ATOMIC_RELAXED);
    checkpoint_src_count_pace(0, 0, 0);
    g_mutex_unlock(&ckpt_src.lock);
}

void checkpoint_src_not_used(void)
{
    g_mutex_lock(&ckpt_src.lock);
    ckpt_src.used = false;
    g_mutex_unlock(&ckpt_src.lock);
}

void checkpoint_src_end(void)
{
    g_mutex_lock(&ckpt_src.lock);
    ckpt_src.active = false;
    ckpt_src_free_offer();
    g_mutex_unlock(&ckpt_src.lock);
}

/* Write CKPT_CTL arg on f (counted as the exchange's). */
static void ckpt_src_put_ctl(QEMUFile *f, uint32_t arg)
{
    TRACE("migration_ckpt_ctl", "CKPT_CTL 0x%" PRIx32, arg);
    qemu_put_be64(f,
                  ((uint64_t)arg << TARGET_PAGE_BITS) | RAM_SAVE_FLAG_CKPT_CTL);
    __atomic_fetch_add(&ckpt_src.offer_bytes, RAM_RECORD_HEADER_BYTES,
                       __ATOMIC_RELAXED);
}

void checkpoint_src_send_advise(QEMUFile *f)
{
    uint32_t arg = checkpoint_advise_first(migrate_max_bandwidth());

    ckpt_src.advise_us = g_get_monotonic_time();
    /* on a fast link pages go whole until hashing pays: no offer yet */
    ckpt_src.stream_us =
        arg == CKPT_CTL_ADVISE_ON_DEMAND ? 0 : ckpt_src.advise_us;
    g_mutex_lock(&ckpt_src.lock);
    ckpt_src.advise_arg = arg;
    g_mutex_unlock(&ckpt_src.lock);
    ckpt_src_put_ctl(f, arg);
}

/* The migration failed, was cancelled, or the stream broke. */
static bool ckpt_src_broken(QEMUFile *f, Error **errp)
{
    MigrationState *s = migrate_get_current();

    if (migration_status() == MIGRATION_STATUS_CANCELLING) {
        error_setg(errp, "Migration cancelled");
        return true;
    }
    if (__atomic_load_n(&s->rp_error, __ATOMIC_ACQUIRE)) {
        error_setg(errp, "checkpoint: the return path failed");
        return true;
    }
    if (qemu_file_get_error(f)) {
        qemu_file_get_error_obj(f, errp);
        return true;
    }
    return false;
}

/* Wait under ckpt_src.lock until done(); false with errp on failure. */
static bool ckpt_src_wait(QEMUFile *f, bool (*done)(void), Error **errp)
{
    bool ok = true;

    g_mutex_lock(&ckpt_src.lock);
    while (!done()) {
        gint64 end = g_get_monotonic_time() +
                     CKPT_WAIT_POLL_MS * G_TIME_SPAN_MILLISECOND;

        g_cond_wait_until(&ckpt_src.cond, &ckpt_src.lock, end);
        if (!done() && ckpt_src_broken(f, errp)) {
            ok = false;
            break;
        }
    }
    g_mutex_unlock(&ckpt_src.lock);
    return ok;
}

static bool ckpt_src_offered(void)
{
    return ckpt_src.offered;
}

static bool ckpt_src_answered(void)
{
    return ckpt_src.mode != CKPT_SRC_ASKED || ckpt_src.offered;
}

/* The source's wait so far (ms since the advise record). */
static void ckpt_src_note_wait(void)
{
    __atomic_store_n(&ckpt_src.offer_ms,
                     (g_get_monotonic_time() - ckpt_src.advise_us) / 1000,
                     __ATOMIC_RELAXED);
}

bool checkpoint_src_wait_offer(QEMUFile *f, Error **errp)
{
    qemu_fflush(f); /* the advise record may still be in f's buffer */
    for (;;) {
        uint32_t next;

        if (!ckpt_src_wait(f, ckpt_src_answered, errp)) {
            goto fail;
        }
        if (ckpt_src.mode != CKPT_SRC_REFUSED) {
            break;
        }
        g_mutex_lock(&ckpt_src.lock);
        next = checkpoint_advise_fallback(ckpt_src.advise_arg);
        ckpt_src.advise_arg = next;
        ckpt_src.mode = next ? CKPT_SRC_ASKED : CKPT_SRC_WHOLE;
        g_mutex_unlock(&ckpt_src.lock);
        ckpt_src.stream_us = g_get_monotonic_time();
        ckpt_src_put_ctl(f, next);
        qemu_fflush(f);
    }
    if (ckpt_src.mode == CKPT_SRC_WHOLE &&
        !ckpt_src_wait(f, ckpt_src_offered, errp)) {
        goto fail;
    }
    ckpt_src_note_wait();
    return true;

fail:
    error_prepend(errp, "checkpoint: no offer from the destination: ");
    return false;
}

void checkpoint_src_offer_now(QEMUFile *f)
{
    bool held;

    if (ckpt_src.stream_us) {
        return; /* asked for already, or streamed from the advise on */
    }
    g_mutex_lock(&ckpt_src.lock);
    held = ckpt_src.advise_arg == CKPT_CTL_ADVISE_ON_DEMAND &&
           ckpt_src.mode == CKPT_SRC_STREAMED && !ckpt_src.offered;
    g_mutex_unlock(&ckpt_src.lock);
    ckpt_src.stream_us = g_get_monotonic_time();
    if (!held) {
        return; /* a destination without a checkpoint: nothing to ask */
    }
    ckpt_src_put_ctl(f, CKPT_CTL_OFFER_NOW);
    qemu_fflush(f);
}

const CkptKeySet *checkpoint_src_keys(void)
{
    return __atomic_load_n(&ckpt_src.keys, __ATOMIC_ACQUIRE);
}

uint64_t checkpoint_src_key_at(RAMBlock *rb, uint64_t page)
{
    CkptSrcBlock *b = ckpt_src_block(rb);

    return b && page < ram_block_pages(rb)
               ? __atomic_load_n(&b->keys[page], __ATOMIC_RELAXED)
               : 0;
}

/*
 * Is waiting for the streamed offer better than sending a page whole?
 * When its pieces cover guest pages faster than the link carries whole
 * pages (a limited link: max-bandwidth), and it has not stalled.
 */
static bool ckpt_src_worth_waiting(void)
{
    uint64_t period = migration_rate_get(); /* bytes per 100 ms */
    uint64_t covered = __atomic_load_n(&ckpt_src.covered, __ATOMIC_RELAXED);
    int64_t us = g_get_monotonic_time() - ckpt_src.stream_us;

    if (!ckpt_src.stream_us || !period || period >= CKPT_FAST_LINK / 10 ||
        ckpt_src.stalled_at == covered + 1) {
        return false;
    }
    /* pages per second: covered by the offer, against whole on the link */
    return !covered || us <= 0 ||
           covered * G_USEC_PER_SEC / us > period * 10 / TARGET_PAGE_SIZE;
}

static CkptSrcBlock *ckpt_src_wait_block;
static uint64_t ckpt_src_wait_page;

static bool ckpt_src_covers(void)
{
    return ckpt_src.offered || ckpt_src.mode != CKPT_SRC_STREAMED ||
           __atomic_load_n(&ckpt_src_wait_block->covered, __ATOMIC_ACQUIRE) >
               ckpt_src_wait_page;
}

bool checkpoint_src_wait_cover(RAMBlock *rb, uint64_t page)
{
    CkptSrcBlock *b = ckpt_src_block(rb);
    gint64 end;
    bool ok;

    if (!b || __atomic_load_n(&b->covered, __ATOMIC_ACQUIRE) > page) {
        return true;
    }
    if (!ckpt_src_worth_waiting()) {
        return false;
    }
    end = g_get_monotonic_time() + CKPT_SRC_COVER_WAIT_MS * 1000;
    g_mutex_lock(&ckpt_src.lock);
    ckpt_src_wait_block = b;
    ckpt_src_wait_page = page;
    while (!(ok = ckpt_src_covers()) &&
           g_cond_wait_until(&ckpt_src.cond, &ckpt_src.lock, end)) {
        /* a piece came (or a spurious wake-up): look again */
    }
    g_mutex_unlock(&ckpt_src.lock);
    if (!ok) {
        /* the offer stalled: send whole until it moves on */
        ckpt_src.stalled_at =
            __atomic_load_n(&ckpt_src.covered, __ATOMIC_RELAXED) + 1;
    }
    return ok;
}

void checkpoint_src_mark_whole(RAMBlock *rb, uint64_t page)
{
    CkptSrcBlock *b;

    g_mutex_lock(&ckpt_src.lock);
    b = ckpt_src_block(rb);
    if (b && page < ram_block_pages(rb)) {
        set_bit_atomic(page, b->whole);
    }
    g_mutex_unlock(&ckpt_src.lock);
}

void checkpoint_src_count(uint64_t pages, uint64_t moved)
{
    __atomic_fetch_add(&ckpt_src_pages, pages, __ATOMIC_RELAXED);
    __atomic_fetch_add(&ckpt_src_moved, moved, __ATOMIC_RELAXED);
}

void checkpoint_src_count_hashing(uint64_t hashed, uint64_t unhashed)
{
    __atomic_store_n(&ckpt_src_hashed, hashed, __ATOMIC_RELAXED);
    __atomic_store_n(&ckpt_src_unhashed, unhashed, __ATOMIC_RELAXED);
}

void checkpoint_src_count_pace(uint64_t whole, uint64_t link_bps,
                               uint64_t hash_bps)
{
    __atomic_store_n(&ckpt_src_whole, whole, __ATOMIC_RELAXED);
    __atomic_store_n(&ckpt_src_link_bps, link_bps, __ATOMIC_RELAXED);
    __atomic_store_n(&ckpt_src_hash_bps, hash_bps, __ATOMIC_RELAXED);
}

bool checkpoint_src_whole(RAMBlock *rb, uint64_t page)
{
    CkptSrcBlock *b = ckpt_src_block(rb);

    return !b || test_bit(page, b->whole);
}

static bool ckpt_src_acked(void)
{
    return ckpt_src.sync_acked == ckpt_src.sync_sent;
}

int checkpoint_src_sync(QEMUFile *f, Error **errp)
{
    uint64_t now;
    int ret;

    ckpt_src.sync_sent++;
    qemu_put_be64(f, ((uint64_t)ckpt_src.sync_sent << TARGET_PAGE_BITS) |
                         RAM_SAVE_FLAG_CKPT_CTL);
    qemu_fflush(f);
    ret = qemu_file_get_error(f);
    if (ret < 0) {
        qemu_file_get_error_obj(f, errp);
        return ret;
    }
    if (!ckpt_src_wait(f, ckpt_src_acked, errp)) {
        error_prepend(errp,
                      "checkpoint: no answer to sync %u: ", ckpt_src.sync_sent);
        return -EIO;
    }
    now = __atomic_load_n(&ckpt_src.requests, __ATOMIC_RELAXED);
    ret = now - ckpt_src.requests_at_sync;
    ckpt_src.requests_at_sync = now;
    TRACE("migration_ckpt_sync", "sync %u: %d pages requested since",
          ckpt_src.sync_sent, ret);
    return ret;
}

/* ---- return-path handlers (return-path thread) ---- */

/* Bytes an offer may take for this guest: every page listed twice. */
static uint64_t ckpt_src_offer_max(void)
{
    return 16 * (ram_bytes_total() / TARGET_PAGE_SIZE) + 1 * MiB;
}

/* Our block of this name and size, or NULL. */
static CkptSrcBlock *ckpt_src_block_named(const char *idstr, uint64_t pages)
{
    RAMBlock *rb = ram_block_by_name(idstr);

    return rb && pages == ram_block_pages(rb) ? ckpt_src_block(rb) : NULL;
}

/* Keys of pages first.. of block b (the sender may be reading them). */
static void ckpt_src_set_keys(CkptSrcBlock *b, uint64_t first,
                              const uint64_t *keys, uint64_t n)
{
    for (uint64_t i = 0; i < n; i++) {
        __atomic_store_n(&b->keys[first + i], keys[i], __ATOMIC_RELAXED);
    }
}

/*
 * The whole offer, or the final one of a streamed offer: take its
 * blocks' keys (matched with ours by name and size) and its extra keys,
 * and publish the set of every key offered.  Under lock.
 */
static void ckpt_src_attach_offer(CkptOffer *o)
{
    for (guint i = 0; i < o->blocks->len; i++) {
        CkptOfferBlock *ob = g_ptr_array_index(o->blocks, i);
        CkptSrcBlock *b = ckpt_src_block_named(ob->idstr, ob->pages);

        if (b) {
            ckpt_src_set_keys(b, 0, ob->keys, ob->pages);
        }
    }
    g_free(ckpt_src.offer->extra);
    ckpt_src.offer->extra = g_steal_pointer(&o->extra);
    ckpt_src.offer->nr_extra = o->nr_extra;
    o->nr_extra = 0;
    checkpoint_offer_free(o);
    __atomic_store_n(&ckpt_src.keys, checkpoint_keyset_new(ckpt_src.offer),
                     __ATOMIC_RELEASE);
    ckpt_src.offered = true;
}

/* Read len bytes of offer from rp into a new buffer; NULL on error. */
static uint8_t *ckpt_src_read_offer(QEMUFile *rp, uint64_t len, Error **errp)
{
    uint8_t *buf = g_malloc(len ? len : 1);
    uint64_t got = 0;

    while (got < len) {
        size_t n = qemu_get_buffer(rp, buf + got, MIN(len - got, 1 * MiB));

        if (!n) {
            error_setg(errp,
                       "checkpoint: offer truncated after %" PRIu64
                       " of %" PRIu64 " bytes",
                       got, len);
            g_free(buf);
            return NULL;
        }
        got += n;
    }
    return buf;
}

static int ckpt_src_handle_offer(const MigRPMessage *msg, Error **errp)
{
    uint64_t len = ldq_be_p(msg->data);
    g_autofree uint8_t *buf = NULL;
    CkptOffer *o;

    if (len > ckpt_src_offer_max()) {
        error_setg(errp,
                   "checkpoint: offer of %" PRIu64 " bytes, at most %" PRIu64
                   " expected",
                   len, ckpt_src_offer_max());
        return -EINVAL;
    }
    buf = ckpt_src_read_offer(msg->rp, len, errp);
    o = buf ? checkpoint_offer_parse(buf, len, errp) : NULL;
    if (!o) {
        return -EINVAL;
    }
    g_mutex_lock(&ckpt_src.lock);
    if (!ckpt_src.active) {
        /* the end of a streamed offer after our last page: too late */
        g_mutex_unlock(&ckpt_src.lock);
        checkpoint_offer_free(o);
        return 0;
    }
    if (ckpt_src.offered) {
        g_mutex_unlock(&ckpt_src.lock);
        checkpoint_offer_free(o);
        error_setg(errp, "checkpoint: offer not asked for");
        return -EINVAL;
    }
    if (ckpt_src.mode == CKPT_SRC_ASKED) {
        /* no piece came first: a destination without a checkpoint */
        ckpt_src.mode = CKPT_SRC_STREAMED;
    }
    ckpt_src_attach_offer(o);
    __atomic_fetch_add(&ckpt_src.offer_bytes, len + 12, __ATOMIC_RELAXED);
    g_cond_broadcast(&ckpt_src.cond);
    g_mutex_unlock(&ckpt_src.lock);
    TRACE("migration_ckpt_offer",
          "%" PRIu64 " bytes, %" PRIu64 " keys, %" PRId64 " ms after advise",
          len, checkpoint_src_keys()->count,
          (g_get_monotonic_time() - ckpt_src.advise_us) / 1000);
    return 0;
}

/* Bytes a piece may take: the most keys, a name and the header. */
#define CKPT_SRC_PART_MAX (8 * CKPT_PART_MAX_KEYS + 1 + 255 + 24)

/* CKPT_PART: be64 n, then n bytes of a streamed offer's piece. */
static int ckpt_src_handle_part(const MigRPMessage *msg, Error **errp)
{
    uint64_t len = ldq_be_p(msg->data);
    g_autofree uint8_t *buf = NULL;
    CkptOfferPart p;
    CkptSrcBlock *b;

    if (len > CKPT_SRC_PART_MAX) {
        error_setg(errp,
                   "checkpoint: offer piece of %" PRIu64 " bytes, at most %d "
                   "expected",
                   len, CKPT_SRC_PART_MAX);
        return -EINVAL;
    }
    buf = ckpt_src_read_offer(msg->rp, len, errp);
    if (!buf || !checkpoint_part_parse(buf, len, &p, errp)) {
        return -EINVAL;
    }
    g_mutex_lock(&ckpt_src.lock);
    if (!ckpt_src.active) {
        /* a piece that comes after our last page: too late to matter */
        g_mutex_unlock(&ckpt_src.lock);
        g_free(p.keys);
        return 0;
    }
    if (ckpt_src.offered || ckpt_src.mode == CKPT_SRC_WHOLE) {
        g_mutex_unlock(&ckpt_src.lock);
        g_free(p.keys);
        error_setg(errp, "checkpoint: offer piece not asked for");
        return -EINVAL;
    }
    ckpt_src.mode = CKPT_SRC_STREAMED;
    b = ckpt_src_block_named(p.idstr, p.pages);
    if (b) {
        uint64_t old = __atomic_load_n(&b->covered, __ATOMIC_RELAXED);

        ckpt_src_set_keys(b, p.first, p.keys, p.count);
        if (p.first + p.count > old) {
            __atomic_store_n(&b->covered, p.first + p.count, __ATOMIC_RELEASE);
            __atomic_fetch_add(&ckpt_src.covered, p.first + p.count - old,
                               __ATOMIC_RELAXED);
        }
    }
    __atomic_fetch_add(&ckpt_src.offer_bytes, len + 12, __ATOMIC_RELAXED);
    g_cond_broadcast(&ckpt_src.cond);
    g_mutex_unlock(&ckpt_src.lock);
    g_free(p.keys);
    return 0;
}

/* CKPT_REQ: be64 offset, str8 block. */
static int ckpt_src_handle_req(const MigRPMessage *msg, Error **errp)
{
    char name[256];
    size_t name_len = msg->len > 8 ? msg->data[8] : 0;

    if (msg->len < 9 || 9 + name_len != msg->len) {
        error_setg(errp, "RP: CKPT_REQ with length %d expecting %zu", msg->len,
                   (size_t)9 + name_len);
        return -EINVAL;
    }
    memcpy(name, msg->data + 9, name_len);
    name[name_len] = '\0';
    if (!ram_checkpoint_resend(name, ldq_be_p(msg->data), errp)) {
        return -EINVAL;
    }
    __atomic_fetch_add(&ckpt_src.requests, 1, __ATOMIC_RELAXED);
    return 0;
}

static int ckpt_src_handle_ack(const MigRPMessage *msg, Error **errp)
{
    uint32_t seq = ldl_be_p(msg->data);

    g_mutex_lock(&ckpt_src.lock);
    if (seq == ckpt_src.advise_arg && ckpt_src.active &&
        ckpt_src.mode == CKPT_SRC_ASKED && !ckpt_src.offered) {
        /* an older destination took it for a sync: fall back */
        ckpt_src.mode = CKPT_SRC_REFUSED;
        g_cond_broadcast(&ckpt_src.cond);
        g_mutex_unlock(&ckpt_src.lock);
        return 0;
    }
    if (seq != ckpt_src.sync_acked + 1 || seq > ckpt_src.sync_sent) {
        g_mutex_unlock(&ckpt_src.lock);
        error_setg(errp, "checkpoint: answer to sync %u not expected", seq);
        return -EINVAL;
    }
    ckpt_src.sync_acked = seq;
    g_cond_broadcast(&ckpt_src.cond);
    g_mutex_unlock(&ckpt_src.lock);
    return 0;
}

void checkpoint_init(void)
{
    g_mutex_init(&ckpt_src.lock);
    g_cond_init(&ckpt_src.cond);
    migrate_rp_register_handler(MIG_RP_MSG_CKPT_OFFER, ckpt_src_handle_offer);
    migrate_rp_register_handler(MIG_RP_MSG_CKPT_REQ, ckpt_src_handle_req);
    migrate_rp_register_handler(MIG_RP_MSG_CKPT_ACK, ckpt_src_handle_ack);
    migrate_rp_register_handler(MIG_RP_MSG_CKPT_PART, ckpt_src_handle_part);
}

/* The source's half of the statistics. */
void checkpoint_src_info(MigrationCheckpointInfo *info)
{
    uint64_t pages = __atomic_load_n(&ckpt_src_pages, __ATOMIC_RELAXED);

    info->has_source = ckpt_src.used;
    info->pages = pages;
    info->moved_pages = __atomic_load_n(&ckpt_src_moved, __ATOMIC_RELAXED);
    info->bytes_saved = pages * (TARGET_PAGE_SIZE - RAM_HASH_BYTES);
    info->requested = __atomic_load_n(&ckpt_src.requests, __ATOMIC_RELAXED);
    info->offer_bytes =
        __atomic_load_n(&ckpt_src.offer_bytes, __ATOMIC_RELAXED);
    info->offer_time = __atomic_load_n(&ckpt_src.offer_ms, __ATOMIC_RELAXED);
    info->hashed = __atomic_load_n(&ckpt_src_hashed, __ATOMIC_RELAXED);
    info->unhashed = __atomic_load_n(&ckpt_src_unhashed, __ATOMIC_RELAXED);
    info->whole = __atomic_load_n(&ckpt_src_whole, __ATOMIC_RELAXED);
    info->link_speed = __atomic_load_n(&ckpt_src_link_bps, __ATOMIC_RELAXED);
    info->hash_speed = __atomic_load_n(&ckpt_src_hash_bps, __ATOMIC_RELAXED);
}
