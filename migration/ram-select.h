/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * ram-select.h (private to migration/): which guest page the source sends
 * next.
 *
 * State: one dirty bitmap per RAMBlock (rb->bmap, one bit per target
 * page, all set when selection starts; the dirty-log sync ORs new writes
 * in), a scan cursor (block + page) and a queue of urgent page requests.
 * The number of dirty pages not yet selected is kept in
 * mig_stats.remaining_pages, so the monitor and the switch-over decision
 * read it without asking us.
 *
 * Order: queued requests are served first, oldest first, page by page;
 * then the cursor walks the bitmaps in block order and wraps around once.
 * Selecting a page clears its bit, so a page is sent once per dirtying
 * whichever way it was found: a requested page the cursor reaches later
 * (or a page requested again before being dirtied again) is skipped.
 *
 * The bitmaps live in the RAMBlocks, so there is one selection at a time
 * (the outgoing migration's).
 *
 * Threads: the bitmaps and the cursor belong to the migration thread
 * (which also runs the dirty-log sync).  ram_page_request_queue() may be
 * called from any thread (postcopy's return-path thread will); it only
 * records a range, the bits are tested and cleared by ram_select_next().
 */
#ifndef MIGRATION_RAM_SELECT_H
#define MIGRATION_RAM_SELECT_H

#include "qemu/osdep.h"
#include "qapi/error.h"
#include "sysemu/ramblock.h"

typedef struct RAMPageSelect {
    /* Migration thread only. */
    RAMBlock *cur_block; /* scan cursor; NULL: start at the first block */
    uint64_t cur_page;   /* next page of cur_block the scan looks at */
    uint64_t rounds;     /* times the cursor went past the last block */
    bool requested;      /* the last page selected was a requested one */

    GMutex req_lock; /* protects requests */
    GQueue requests; /* RAMPageRequest *, oldest first */
    /*
     * Length of requests, written under req_lock, read without it by the
     * migration thread (acquire, pairs with the release in queue) so the
     * per-page path takes no lock while no request is queued.
     */
    unsigned int nr_requests;
} RAMPageSelect;

/*
 * Start selecting: every page of every block dirty, the cursor at the
 * first block, no request queued.  Allocates the bitmaps (freed by
 * ram_select_destroy()).  Migration thread.
 */
void ram_select_init(RAMPageSelect *ps);

/*
 * Start over on the bitmaps as they are now (postcopy recovery reloaded
 * them): the cursor at the first block, queued requests dropped, the
 * dirty pages recounted.  Migration thread.
 */
void ram_select_restart(RAMPageSelect *ps);

/* Free the bitmaps and drop queued requests.  Migration thread. */
void ram_select_destroy(RAMPageSelect *ps);

/*
 * Recount the dirty bits of every block into mig_stats.remaining_pages
 * (after a dirty-log sync) and return the count.  Migration thread.
 */
uint64_t ram_select_count_dirty(RAMPageSelect *ps);

/*
 * The next page to send: *prb and page number *ppage in it, its dirty bit
 * cleared and remaining_pages decremented.  Requests first (ps->requested
 * says whether it was one), then the cursor.  Returns false when no page is
 * dirty.  Migration thread; takes req_lock only while a request is queued.
 */
bool ram_select_next(RAMPageSelect *ps, RAMBlock **prb, uint64_t *ppage);

/*
 * Take page of rb if it is dirty: clear its bit atomically and count it
 * sent; false if it was clean (or taken already).  Any thread: postcopy
 * -preempt's return-path thread takes requested pages this way while
 * the migration thread selects (ram_select_next() claims the same way).
 */
bool ram_select_claim(RAMBlock *rb, uint64_t page);

/*
 * Ask for len bytes of rb at offset (a page range; both rounded out to
 * whole target pages) to be selected before the cursor's pages.  Pages of
 * the range that are not dirty when their turn comes are skipped.
 * Returns false with errp set when the range is empty or not inside rb
 * (a peer's request: never asserted).  Any thread; does not block beyond
 * req_lock.
 */
bool ram_page_request_queue(RAMPageSelect *ps, RAMBlock *rb, uint64_t offset,
                            uint64_t len, Error **errp);

/*
 * Like ram_page_request_queue() for the one page at offset of rb, but
 * the page is selected even if it is not dirty (the destination lost
 * it: checkpoint-assisted migration).  Any thread.
 */
bool ram_page_request_resend(RAMPageSelect *ps, RAMBlock *rb, uint64_t offset,
                             Error **errp);

#endif /* MIGRATION_RAM_SELECT_H */
