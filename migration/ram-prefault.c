/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * ram-prefault.c: the destination's prefault helper (see ram-prefault.h).
 *
 * The load thread publishes (block, chunk) under lock and signals; the
 * helper populates the not-yet-done chunks of the window after that
 * chunk, one at a time with the lock dropped, and sleeps when the window
 * is done.  A per-block bitmap remembers the chunks taken, by the helper
 * or by a writer reporting a chunk the helper had not reached (the
 * writer's own faults populate it), so each is populated once per
 * migration, by one thread: a writer reaching the chunk the helper is
 * populating waits for it (measured on this VM, where first touch is
 * slow: helper and receivers zeroing the same huge pages at once cost
 * more CPU than no helper).  Several writers (the multifd
 * receivers) may report, each with its own cursor: the window follows
 * the latest report, and chunks a lagging writer reports again are
 * already done.
 */
#include "qemu/osdep.h"
#include <sys/mman.h>
#include "qemu/bitmap.h"
#include "qemu/bitops.h"
#include "ram-prefault.h"

#define RAM_PREFAULT_CHUNK (2 * MiB)
#define RAM_PREFAULT_AHEAD (32 * MiB)

struct RAMPrefault {
    GThread *thread;
    GMutex lock;          /* protects everything below but own */
    GCond cond;           /* signalled when block/chunk move or quit is set */
    GCond landed;         /* broadcast when the helper finishes a chunk */
    RAMBlock *block;      /* block PAGE data lands in */
    uint64_t chunk;       /* chunk index it lands in */
    GHashTable *done;     /* RAMBlock * -> bitmap of chunks taken */
    RAMBlock *busy_block; /* the chunk the helper populates now, if any */
    uint64_t busy_chunk;
    bool quit;
    RAMPrefaultCursor own; /* ram_prefault_note()'s (load thread) */
};

/* rb's bitmap of chunks taken (by the helper or a writer), under lock. */
static unsigned long *ram_prefault_done(RAMPrefault *pf, RAMBlock *rb)
{
    unsigned long *done = g_hash_table_lookup(pf->done, rb);

    if (!done) {
        done = bitmap_new(DIV_ROUND_UP(rb->used_length, RAM_PREFAULT_CHUNK));
        g_hash_table_insert(pf->done, rb, done);
    }
    return done;
}

/* The next chunk of the window to populate, marked taken; -1 if none. */
static int64_t ram_prefault_pick(RAMPrefault *pf, RAMBlock *rb)
{
    uint64_t nchunks = DIV_ROUND_UP(rb->used_length, RAM_PREFAULT_CHUNK);
    unsigned long *done = ram_prefault_done(pf, rb);
    uint64_t first = pf->chunk + 1;
    uint64_t last =
        MIN(nchunks, pf->chunk + RAM_PREFAULT_AHEAD / RAM_PREFAULT_CHUNK + 1);
    uint64_t c;

    c = first < last ? find_next_zero_bit(done, last, first) : last;
    if (c >= last) {
        return -1;
    }
    set_bit(c, done);
    return c;
}

static gpointer ram_prefault_thread(gpointer opaque)
{
    RAMPrefault *pf = opaque;

    g_mutex_lock(&pf->lock);
    while (!pf->quit) {
        RAMBlock *rb = pf->block;
        int64_t c = rb ? ram_prefault_pick(pf, rb) : -1;
        uint64_t off, len;
        int ret;

        if (c < 0) {
            g_cond_wait(&pf->cond, &pf->lock);
            continue;
        }
        pf->busy_block = rb;
        pf->busy_chunk = c;
        g_mutex_unlock(&pf->lock);
        off = c * RAM_PREFAULT_CHUNK;
        len = MIN(RAM_PREFAULT_CHUNK, rb->used_length - off);
        ret = madvise(rb->host + off, len, MADV_POPULATE_WRITE) < 0 ? errno : 0;
        g_mutex_lock(&pf->lock);
        pf->busy_block = NULL;
        g_cond_broadcast(&pf->landed);
        if (ret == EINVAL) {
            break; /* kernel without MADV_POPULATE_WRITE: give up quietly */
        }
    }
    g_mutex_unlock(&pf->lock);
    return NULL;
}

void ram_prefault_note_at(RAMPrefault *pf, RAMPrefaultCursor *cur, RAMBlock *rb,
                          uint64_t addr)
{
    uint64_t chunk = addr / RAM_PREFAULT_CHUNK;

    if (rb == cur->block && chunk == cur->chunk) {
        return;
    }
    cur->block = rb;
    cur->chunk = chunk;
    if (rb->fd >= 0) {
        return;
    }
    g_mutex_lock(&pf->lock);
    if (test_and_set_bit(chunk, ram_prefault_done(pf, rb))) {
        /*
         * Taken by the helper: if it is populating it right now, let it
         * finish rather than fault in parallel (the kernel would zero a
         * second huge page and throw one away).
         */
        while (pf->busy_block == rb && pf->busy_chunk == chunk) {
            g_cond_wait(&pf->landed, &pf->lock);
        }
    }
    pf->block = rb;
    pf->chunk = chunk;
    g_cond_signal(&pf->cond);
    g_mutex_unlock(&pf->lock);
}

void ram_prefault_note_range(RAMPrefault *pf, RAMPrefaultCursor *cur,
                             RAMBlock *rb, uint64_t addr, uint64_t len)
{
    uint64_t end = addr + len;

    for (uint64_t a = addr; a < end;
         a = QEMU_ALIGN_DOWN(a, RAM_PREFAULT_CHUNK) + RAM_PREFAULT_CHUNK) {
        ram_prefault_note_at(pf, cur, rb, a);
    }
}

void ram_prefault_note(RAMPrefault *pf, RAMBlock *rb, uint64_t addr)
{
    ram_prefault_note_at(pf, &pf->own, rb, addr);
}

RAMPrefault *ram_prefault_new(void)
{
    RAMPrefault *pf = g_new0(RAMPrefault, 1);

    g_mutex_init(&pf->lock);
    g_cond_init(&pf->cond);
    g_cond_init(&pf->landed);
    pf->done = g_hash_table_new_full(NULL, NULL, NULL, g_free);
    pf->thread = g_thread_new("mig/dst/pf", ram_prefault_thread, pf);
    return pf;
}

void ram_prefault_free(RAMPrefault *pf)
{
    if (!pf) {
        return;
    }
    g_mutex_lock(&pf->lock);
    pf->quit = true;
    g_cond_signal(&pf->cond);
    g_mutex_unlock(&pf->lock);
    g_thread_join(pf->thread);
    g_hash_table_destroy(pf->done);
    g_cond_clear(&pf->cond);
    g_cond_clear(&pf->landed);
    g_mutex_clear(&pf->lock);
    g_free(pf);
}
