/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * checkpoint-src.c: the source side of checkpoint-assisted migration
 * (see checkpoint.h): the advise record, the destination's offer, page
 * requests and syncs.
 *
 * One CkptSrc per outgoing migration, reset by checkpoint_src_begin().
 * The return-path thread fills it (offer, requests, acks) and the
 * migration thread reads it; lock and cond guard the offer and the ack
 * number, the "whole" bitmaps are set with atomic bit operations, the
 * counters are relaxed atomics (mig_stats style).
 */
#include "qemu/osdep.h"
#include "qapi/error.h"
#include "qemu/bitmap.h"
#include "qemu/bswap.h"
#include "qemu/trace.h"
#include "migration.h"
#include "migration-stats.h"
#include "checkpoint.h"
#include "checkpoint-exchange.h"
#include "ram.h"
#include "ram-format.h"
#include "return-path.h"

/* How often a waiting migration thread looks for cancel or failure. */
#define CKPT_WAIT_POLL_MS 50

/* Per RAM block: the offer's keys at its pages, pages to send whole. */
typedef struct CkptSrcBlock {
    RAMBlock *rb;
    const uint64_t *keys; /* into offer, or NULL */
    unsigned long *whole; /* one bit per page */
} CkptSrcBlock;

typedef struct CkptSrc {
    GMutex lock;
    GCond cond;
    bool active;  /* between begin and end (under lock) */
    bool offered; /* offer parsed (under lock) */
    CkptOffer *offer;
    CkptKeySet *keys;
    uint32_t sync_sent;        /* migration thread */
    uint32_t sync_acked;       /* under lock */
    uint64_t requests_at_sync; /* migration thread */
    CkptSrcBlock *blocks;
    unsigned int nr_blocks;
    int64_t advise_us;
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
    for (unsigned int i = 0; i < ckpt_src.nr_blocks; i++) {
        g_free(ckpt_src.blocks[i].whole);
    }
    g_free(ckpt_src.blocks);
    ckpt_src.blocks = NULL;
    ckpt_src.nr_blocks = 0;
    checkpoint_keyset_free(ckpt_src.keys);
    ckpt_src.keys = NULL;
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
    RAMBLOCK_FOREACH(rb)
    {
        CkptSrcBlock *b = &ckpt_src.blocks[ckpt_src.nr_blocks++];

        b->rb = rb;
        b->whole = bitmap_new(MAX(ram_block_pages(rb), 1));
    }
    ckpt_src.active = true;
    ckpt_src.offered = false;
    ckpt_src.sync_sent = ckpt_src.sync_acked = 0;
    ckpt_src.requests_at_sync = 0;
    ckpt_src.used = true;
    __atomic_store_n(&ckpt_src.requests, 0, __ATOMIC_RELAXED);
    __atomic_store_n(&ckpt_src.offer_bytes, 0, __ATOMIC_RELAXED);
    __atomic_store_n(&ckpt_src.offer_ms, 0, __ATOMIC_RELAXED);
    __atomic_store_n(&ckpt_src_pages, 0, __ATOMIC_RELAXED);
    __atomic_store_n(&ckpt_src_moved, 0, __ATOMIC_RELAXED);
    __atomic_store_n(&ckpt_src_hashed, 0, __ATOMIC_RELAXED);
    __atomic_store_n(&ckpt_src_unhashed, 0, __ATOMIC_RELAXED);
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

void checkpoint_src_send_advise(QEMUFile *f)
{
    ckpt_src.advise_us = g_get_monotonic_time();
    qemu_put_be64(f, RAM_SAVE_FLAG_CKPT_CTL);
    __atomic_fetch_add(&ckpt_src.offer_bytes, RAM_RECORD_HEADER_BYTES,
                       __ATOMIC_RELAXED);
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

bool checkpoint_src_wait_offer(QEMUFile *f, Error **errp)
{
    qemu_fflush(f); /* the advise record may still be in f's buffer */
    if (!ckpt_src_wait(f, ckpt_src_offered, errp)) {
        error_prepend(errp, "checkpoint: no offer from the destination: ");
        return false;
    }
    return true;
}

const CkptKeySet *checkpoint_src_keys(void)
{
    return ckpt_src.keys;
}

uint64_t checkpoint_src_key_at(RAMBlock *rb, uint64_t page)
{
    CkptSrcBlock *b = ckpt_src_block(rb);

    return b && b->keys ? b->keys[page] : 0;
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

/* Match the offer's blocks with ours by name and size. */
static void ckpt_src_attach_offer(CkptOffer *o)
{
    for (guint i = 0; i < o->blocks->len; i++) {
        CkptOfferBlock *ob = g_ptr_array_index(o->blocks, i);
        RAMBlock *rb = ram_block_by_name(ob->idstr);
        CkptSrcBlock *b = rb ? ckpt_src_block(rb) : NULL;

        if (b && ob->pages == ram_block_pages(rb)) {
            b->keys = ob->keys;
        }
    }
    ckpt_src.offer = o;
    ckpt_src.keys = checkpoint_keyset_new(o);
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
    if (!ckpt_src.active || ckpt_src.offered) {
        g_mutex_unlock(&ckpt_src.lock);
        checkpoint_offer_free(o);
        error_setg(errp, "checkpoint: offer not asked for");
        return -EINVAL;
    }
    ckpt_src_attach_offer(o);
    __atomic_fetch_add(&ckpt_src.offer_bytes, len + 12, __ATOMIC_RELAXED);
    __atomic_store_n(&ckpt_src.offer_ms,
                     (g_get_monotonic_time() - ckpt_src.advise_us) / 1000,
                     __ATOMIC_RELAXED);
    g_cond_broadcast(&ckpt_src.cond);
    g_mutex_unlock(&ckpt_src.lock);
    TRACE("migration_ckpt_offer", "%" PRIu64 " bytes, %" PRIu64 " keys", len,
          ckpt_src.keys->count);
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
}
