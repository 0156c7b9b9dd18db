/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * page-cache.h (private to migration/): the XBZRLE source's cache of
 * the pages it sent, so a page sent again can go as a delta against
 * what the destination already has.
 *
 * A direct-mapped table of a power-of-two number of TARGET_PAGE_SIZE
 * slots, keyed by the page's address (any unique, page-aligned, non-zero
 * number: the source uses the page's host address).  Each slot
 * remembers the pass (dirty-log sync count) it was last used in; a page
 * whose slot belongs to another page used in the last
 * PAGE_CACHE_LIFETIME passes is not inserted, so two pages that keep
 * changing do not evict each other at every pass (QEMU's rule).
 *
 * Threads: a cache is used by one thread at a time (the migration
 * thread); ram-xbzrle.c hands resized caches over under its own lock.
 */
#ifndef MIGRATION_PAGE_CACHE_H
#define MIGRATION_PAGE_CACHE_H

#include "qemu/osdep.h"
#include "qapi/error.h"

/* Passes a slot stays reserved for its page after its last use. */
#define PAGE_CACHE_LIFETIME 2

typedef struct PageCache PageCache;

/*
 * A cache of size bytes (size / TARGET_PAGE_SIZE slots, which must be a
 * power of two), empty.  NULL with errp set (QEMU 7.2's texts) when the
 * size is below one page or not a power of two pages, or the memory
 * cannot be allocated.  Caller owns it (page_cache_free()).
 */
PageCache *page_cache_new(uint64_t size, Error **errp);

/* Free cache (NULL is fine). */
void page_cache_free(PageCache *cache);

/* The cache's size in bytes. */
uint64_t page_cache_size(const PageCache *cache);

/*
 * The cached copy of the page at addr (TARGET_PAGE_SIZE bytes the caller
 * may read and overwrite), its slot marked used in pass age; NULL when
 * addr is not cached.
 */
uint8_t *page_cache_lookup(PageCache *cache, uint64_t addr, uint64_t age);

/*
 * Cache a copy of the page data at addr, used in pass age.  Returns the
 * cached copy, or NULL when the slot is held by another page used in
 * the last PAGE_CACHE_LIFETIME passes (nothing changed then).
 */
uint8_t *page_cache_insert(PageCache *cache, uint64_t addr, const uint8_t *data,
                           uint64_t age);

#endif /* MIGRATION_PAGE_CACHE_H */
