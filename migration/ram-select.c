/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * ram-select.c: page selection for the outgoing "ram" section (see
 * ram-select.h).
 */
#include "qemu/osdep.h"
#include "qemu/bitmap.h"
#include "qemu/bitops.h"
#include "migration-stats.h"
#include "ram-select.h"

/* One queued request: the pages [page, end) of rb still to look at. */
typedef struct RAMPageRequest {
    RAMBlock *rb;
    uint64_t page;
    uint64_t end;
    bool force; /* select even if not dirty (ram_page_request_resend) */
} RAMPageRequest;

void ram_select_init(RAMPageSelect *ps)
{
    uint64_t total = 0;
    RAMBlock *rb;

    RAMBLOCK_FOREACH(rb)
    {
        uint64_t pages = ram_block_pages(rb);

        g_free(rb->bmap);
        rb->bmap = bitmap_new(pages ? pages : 1);
        bitmap_set(rb->bmap, 0, pages);
        total += pages;
    }
    stat64_set(&mig_stats.remaining_pages, total);
    ps->cur_block = ram_block_first();
    ps->cur_page = 0;
    ps->rounds = 0;
    g_mutex_init(&ps->req_lock);
    g_queue_init(&ps->requests);
    ps->nr_requests = 0;
}

void ram_select_restart(RAMPageSelect *ps)
{
    g_mutex_lock(&ps->req_lock);
    g_queue_clear_full(&ps->requests, g_free);
    __atomic_store_n(&ps->nr_requests, 0, __ATOMIC_RELEASE);
    g_mutex_unlock(&ps->req_lock);
    ps->cur_block = ram_block_first();
    ps->cur_page = 0;
    ram_select_count_dirty(ps);
}

void ram_select_destroy(RAMPageSelect *ps)
{
    RAMBlock *rb;

    RAMBLOCK_FOREACH(rb)
    {
        g_free(rb->bmap);
        rb->bmap = NULL;
    }
    g_queue_clear_full(&ps->requests, g_free);
    ps->nr_requests = 0;
    g_mutex_clear(&ps->req_lock);
    ps->cur_block = NULL;
}

uint64_t ram_select_count_dirty(RAMPageSelect *ps)
{
    uint64_t dirty = 0;
    RAMBlock *rb;

    /*
     * Recount rather than trust a running total: the count decides when
     * to switch over, so an accelerator that misreports "newly set" must
     * not make it drift.  (A popcount of one bit per page: cheap.)
     */
    RAMBLOCK_FOREACH(rb)
    {
        dirty += bitmap_count_one(rb->bmap, ram_block_pages(rb));
    }
    stat64_set(&mig_stats.remaining_pages, dirty);
    return dirty;
}

/* Queue [offset, offset + len) of rb; false with errp if outside rb. */
static bool ram_page_request_add(RAMPageSelect *ps, RAMBlock *rb,
                                 uint64_t offset, uint64_t len, bool force,
                                 Error **errp)
{
    RAMPageRequest *req;

    if (!len || offset >= rb->used_length || len > rb->used_length - offset) {
        error_setg(errp,
                   "Page request outside RAM block %s: offset 0x%" PRIx64
                   " length 0x%" PRIx64,
                   rb->idstr, offset, len);
        return false;
    }
    req = g_new(RAMPageRequest, 1);
    req->rb = rb;
    req->page = offset >> TARGET_PAGE_BITS;
    req->end = DIV_ROUND_UP(offset + len, TARGET_PAGE_SIZE);
    req->force = force;
    g_mutex_lock(&ps->req_lock);
    g_queue_push_tail(&ps->requests, req);
    __atomic_store_n(&ps->nr_requests, ps->nr_requests + 1, __ATOMIC_RELEASE);
    g_mutex_unlock(&ps->req_lock);
    return true;
}

bool ram_page_request_queue(RAMPageSelect *ps, RAMBlock *rb, uint64_t offset,
                            uint64_t len, Error **errp)
{
    return ram_page_request_add(ps, rb, offset, len, false, errp);
}

bool ram_page_request_resend(RAMPageSelect *ps, RAMBlock *rb, uint64_t offset,
                             Error **errp)
{
    return ram_page_request_add(ps, rb, offset, TARGET_PAGE_SIZE, true, errp);
}

/* The first still-dirty page of the oldest request; drops spent ones. */
static bool ram_select_request(RAMPageSelect *ps, RAMBlock **prb,
                               uint64_t *ppage)
{
    RAMPageRequest *req;
    bool found = false;

    g_mutex_lock(&ps->req_lock);
    while (!found && (req = g_queue_peek_head(&ps->requests))) {
        uint64_t next = req->end;

        if (req->rb->bmap && req->page < req->end) {
            next = req->force
                       ? req->page
                       : find_next_bit(req->rb->bmap, req->end, req->page);
        }
        if (req->force && next < req->end && !test_bit(next, req->rb->bmap)) {
            /* counted as dirty so that selecting it balances the count */
            set_bit(next, req->rb->bmap);
            stat64_add(&mig_stats.remaining_pages, 1);
        }
        if (next < req->end) {
            *prb = req->rb;
            *ppage = next;
            req->page = next + 1;
            found = true;
        } else {
            g_queue_pop_head(&ps->requests);
            g_free(req);
            __atomic_store_n(&ps->nr_requests, ps->nr_requests - 1,
                             __ATOMIC_RELAXED);
        }
    }
    g_mutex_unlock(&ps->req_lock);
    return found;
}

/*
 * The next dirty page from the cursor, wrapping over the block list
 * once; the cursor moves past it.  Returns false when every bitmap is
 * clean.
 */
static bool ram_select_scan(RAMPageSelect *ps, RAMBlock **prb, uint64_t *ppage)
{
    RAMBlock *rb = ps->cur_block ? ps->cur_block : ram_block_first();
    uint64_t page = ps->cur_block ? ps->cur_page : 0;
    bool wrapped = false;

    if (!rb || !stat64_get(&mig_stats.remaining_pages)) {
        return false;
    }
    for (;;) {
        uint64_t pages = ram_block_pages(rb);

        if (page < pages) {
            uint64_t next = find_next_bit(rb->bmap, pages, page);

            if (next < pages) {
                *prb = rb;
                *ppage = next;
                ps->cur_block = rb;
                ps->cur_page = next + 1;
                return true;
            }
        }
        rb = rb->next;
        page = 0;
        if (!rb) {
            ps->rounds++;
            if (wrapped) {
                return false;
            }
            wrapped = true;
            rb = ram_block_first();
        }
    }
}

bool ram_select_claim(RAMBlock *rb, uint64_t page)
{
    unsigned long mask = BIT_MASK(page);
    unsigned long old =
        __atomic_fetch_and(rb->bmap + BIT_WORD(page), ~mask, __ATOMIC_RELAXED);

    if (!(old & mask)) {
        return false;
    }
    stat64_sub(&mig_stats.remaining_pages, 1);
    return true;
}

bool ram_select_next(RAMPageSelect *ps, RAMBlock **prb, uint64_t *ppage)
{
    do {
        ps->requested = __atomic_load_n(&ps->nr_requests, __ATOMIC_ACQUIRE) &&
                        ram_select_request(ps, prb, ppage);
        if (!ps->requested && !ram_select_scan(ps, prb, ppage)) {
            return false;
        }
    } while (!ram_select_claim(*prb, *ppage)); /* preempt took it */
    return true;
}
