/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * checkpoint-stream.c: the destination's streamed offer (see
 * checkpoint-stream.h).
 *
 * The stream's thread follows checkpoint_index_ready_slots(): every
 * newly indexed slot whose page lies in one of our blocks records its
 * slot at that page (slot_of, relaxed atomics: the verification workers
 * read them) and adds its key to the pending piece, which is sent when
 * the next key is not adjacent (a gap of up to CKPT_STREAM_GAP pages is
 * padded with 0 keys) or holds CKPT_STREAM_PIECE_KEYS keys.  When the
 * index is done, the rest goes and then the final CKPT_OFFER.
 */
#include "qemu/osdep.h"
#include "qemu/error-report.h"
#include "qemu/trace.h"
#include "migration.h"
#include "checkpoint-exchange.h"
#include "checkpoint-stream.h"
#include "return-path.h"

/* Keys per piece at most: 64 KiB of keys. */
#define CKPT_STREAM_PIECE_KEYS 8192
/* A gap in addresses a piece bridges with 0 keys rather than end. */
#define CKPT_STREAM_GAP 64
/* How long the thread waits for more of the index at a time. */
#define CKPT_STREAM_POLL_MS 2

typedef struct CkptStreamBlock {
    RAMBlock *rb;
    uint64_t pages;
    uint32_t *slot_of; /* atomic: slot + 1 offered at each page, 0: none */
} CkptStreamBlock;

struct CkptStream {
    CheckpointIndex *ci; /* or NULL */
    CkptStreamBlock *blocks;
    unsigned int nr_blocks;
    GThread *thread;
    bool quit; /* atomic */
    /* the stream's thread */
    uint64_t sent; /* slots looked at */
    CkptStreamBlock *pend_block;
    uint64_t pend_first;
    uint64_t *pend_keys; /* CKPT_STREAM_PIECE_KEYS */
    uint64_t pend_count;
    uint64_t pieces;
};

static CkptStreamBlock *ckpt_stream_block_at(CkptStream *st, uint64_t gpa,
                                             uint64_t *page)
{
    for (unsigned int i = 0; i < st->nr_blocks; i++) {
        CkptStreamBlock *b = &st->blocks[i];

        if (gpa >= b->rb->gpa &&
            (gpa - b->rb->gpa) >> TARGET_PAGE_BITS < b->pages) {
            *page = (gpa - b->rb->gpa) >> TARGET_PAGE_BITS;
            return b;
        }
    }
    return NULL;
}

static void ckpt_stream_flush(CkptStream *st)
{
    MigrationIncomingState *mis = migration_incoming_get_current();
    g_autoptr(GByteArray) wire = NULL;

    if (!st->pend_block) {
        return;
    }
    wire =
        checkpoint_part_encode(st->pend_block->rb->idstr, st->pend_block->pages,
                               st->pend_first, st->pend_keys, st->pend_count);
    migrate_send_rp_ckpt_part(mis, wire->data, wire->len);
    st->pieces++;
    st->pend_block = NULL;
    st->pend_count = 0;
}

/* Offer key at page of b (slot: its entry's slot number). */
static void ckpt_stream_add(CkptStream *st, CkptStreamBlock *b, uint64_t page,
                            uint64_t key, uint64_t slot)
{
    uint64_t next = st->pend_first + st->pend_count;

    __atomic_store_n(&b->slot_of[page], slot + 1, __ATOMIC_RELAXED);
    if (st->pend_block &&
        (st->pend_block != b || page < next || page - next > CKPT_STREAM_GAP ||
         st->pend_count + (page - next) + 1 > CKPT_STREAM_PIECE_KEYS)) {
        ckpt_stream_flush(st);
    }
    if (!st->pend_block) {
        st->pend_block = b;
        st->pend_first = page;
        st->pend_count = 0;
    }
    while (st->pend_first + st->pend_count < page) {
        st->pend_keys[st->pend_count++] = 0;
    }
    st->pend_keys[st->pend_count++] = key;
}

/* Offer the slots indexed since the last call. */
static void ckpt_stream_advance(CkptStream *st)
{
    uint64_t ready = checkpoint_index_ready_slots(st->ci);

    for (; st->sent < ready; st->sent++) {
        const CkptIndexEntry *e = checkpoint_index_slot(st->ci, st->sent);
        CkptStreamBlock *b;
        uint64_t page;

        if (!e || e->gpa == CKPT_NO_GPA) {
            continue;
        }
        b = ckpt_stream_block_at(st, e->gpa, &page);
        if (b) {
            ckpt_stream_add(st, b, page, checkpoint_digest_key(e->digest),
                            st->sent);
        }
    }
    ckpt_stream_flush(st);
}

void checkpoint_stream_extra_key(const CkptIndexEntry *e, void *opaque)
{
    GArray *extra = opaque;
    uint64_t key;

    if (e->gpa != CKPT_NO_GPA && ram_gpa_to_host(e->gpa, TARGET_PAGE_SIZE)) {
        return;
    }
    key = checkpoint_digest_key(e->digest);
    g_array_append_val(extra, key);
}

/* The final offer: no block, the extra keys of a usable index. */
static void ckpt_stream_final(CkptStream *st)
{
    MigrationIncomingState *mis = migration_incoming_get_current();
    CkptOffer *o = checkpoint_offer_new();
    GArray *extra = g_array_new(false, false, sizeof(uint64_t));
    g_autoptr(GByteArray) wire = NULL;
    Error *err = NULL;

    if (st->ci && checkpoint_index_wait(st->ci, &err)) {
        checkpoint_index_foreach(st->ci, checkpoint_stream_extra_key, extra);
    } else if (err) {
        warn_report("%s", error_get_pretty(err));
        error_free(err);
    }
    o->nr_extra = extra->len;
    o->extra = (uint64_t *)g_array_free(extra, false);
    wire = checkpoint_offer_encode(o);
    checkpoint_offer_free(o);
    TRACE("migration_ckpt_offer_send",
          "streamed: %" PRIu64 " pieces, final %u bytes", st->pieces,
          wire->len);
    migrate_send_rp_ckpt_offer(mis, wire->data, wire->len);
}

static gpointer ckpt_stream_thread(gpointer opaque)
{
    CkptStream *st = opaque;
    bool done = false;

    while (st->ci && !done) {
        if (__atomic_load_n(&st->quit, __ATOMIC_RELAXED)) {
            return NULL;
        }
        done = checkpoint_index_done_within(st->ci, CKPT_STREAM_POLL_MS);
        ckpt_stream_advance(st);
    }
    ckpt_stream_final(st);
    return NULL;
}

bool checkpoint_stream_announce(void)
{
    MigrationIncomingState *mis = migration_incoming_get_current();
    RAMBlock *rb = ram_block_first();
    g_autoptr(GByteArray) wire = NULL;

    if (!rb) {
        return false;
    }
    /* an empty piece of the first block: "the offer is streamed" */
    wire = checkpoint_part_encode(rb->idstr, ram_block_pages(rb), 0, NULL, 0);
    migrate_send_rp_ckpt_part(mis, wire->data, wire->len);
    return true;
}

CkptStream *checkpoint_stream_start(CheckpointIndex *ci, bool announce)
{
    CkptStream *st = g_new0(CkptStream, 1);
    RAMBlock *rb;
    unsigned int n = 0;

    st->ci = ci;
    RAMBLOCK_FOREACH(rb)
    {
        n++;
    }
    st->blocks = g_new0(CkptStreamBlock, MAX(n, 1));
    RAMBLOCK_FOREACH(rb)
    {
        CkptStreamBlock *b = &st->blocks[st->nr_blocks++];

        b->rb = rb;
        b->pages = ram_block_pages(rb);
        b->slot_of = g_new0(uint32_t, MAX(b->pages, 1));
    }
    st->pend_keys = g_new(uint64_t, CKPT_STREAM_PIECE_KEYS);
    if (ci && announce) {
        checkpoint_stream_announce(); /* before any indexing */
    }
    st->thread = g_thread_new("ckpt-offer", ckpt_stream_thread, st);
    return st;
}

const CkptIndexEntry *checkpoint_stream_lookup(CkptStream *st, RAMBlock *rb,
                                               uint64_t addr,
                                               const uint8_t *digest)
{
    uint64_t page = addr >> TARGET_PAGE_BITS;

    for (unsigned int i = 0; st->ci && i < st->nr_blocks; i++) {
        CkptStreamBlock *b = &st->blocks[i];
        const CkptIndexEntry *e;
        uint32_t slot;

        if (b->rb != rb || page >= b->pages) {
            continue;
        }
        slot = __atomic_load_n(&b->slot_of[page], __ATOMIC_RELAXED);
        e = slot ? checkpoint_index_slot(st->ci, slot - 1) : NULL;
        if (e && !memcmp(e->digest, digest, CKPT_DIGEST_BYTES)) {
            return e;
        }
        return NULL;
    }
    return NULL;
}

void checkpoint_stream_free(CkptStream *st)
{
    if (!st) {
        return;
    }
    __atomic_store_n(&st->quit, true, __ATOMIC_RELAXED);
    g_thread_join(st->thread);
    for (unsigned int i = 0; i < st->nr_blocks; i++) {
        g_free(st->blocks[i].slot_of);
    }
    g_free(st->blocks);
    g_free(st->pend_keys);
    g_free(st);
}
