/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * page-cache.c: the XBZRLE page cache (see page-cache.h).
 *
 * Two allocations: the slot table (address and pass per slot) and the
 * page data, slot i's copy at data + i * TARGET_PAGE_SIZE.  The data is
 * allocated lazily by the kernel (large malloc is mmap), so a big cache
 * costs memory only for the slots that get used.
 */
#include "qemu/osdep.h"
#include "page-cache.h"

typedef struct PageCacheSlot {
    uint64_t addr; /* 0: empty */
    uint64_t age;  /* pass of the last lookup or insert */
} PageCacheSlot;

struct PageCache {
    PageCacheSlot *slots;
    uint8_t *data;
    uint64_t nslots; /* a power of two */
};

PageCache *page_cache_new(uint64_t size, Error **errp)
{
    uint64_t nslots = size / TARGET_PAGE_SIZE;
    PageCache *cache;

    if (size < TARGET_PAGE_SIZE) {
        error_setg(errp, "Parameter 'cache size' expects is smaller than "
                         "one target page size");
        return NULL;
    }
    if (nslots & (nslots - 1)) {
        error_setg(errp, "Parameter 'cache size' expects is not a power of "
                         "two number of pages");
        return NULL;
    }
    cache = g_try_new0(PageCache, 1);
    if (!cache) {
        error_setg(errp, "Failed to allocate cache");
        return NULL;
    }
    cache->nslots = nslots;
    cache->slots = g_try_new0(PageCacheSlot, nslots);
    if (nslots <= SIZE_MAX / TARGET_PAGE_SIZE) {
        cache->data = g_try_malloc(nslots * TARGET_PAGE_SIZE);
    }
    if (!cache->slots || !cache->data) {
        error_setg(errp, "Failed to allocate page cache");
        page_cache_free(cache);
        return NULL;
    }
    return cache;
}

void page_cache_free(PageCache *cache)
{
    if (!cache) {
        return;
    }
    g_free(cache->slots);
    g_free(cache->data);
    g_free(cache);
}

uint64_t page_cache_size(const PageCache *cache)
{
    return cache->nslots * TARGET_PAGE_SIZE;
}

static inline uint64_t page_cache_slot(const PageCache *cache, uint64_t addr)
{
    return (addr >> TARGET_PAGE_BITS) & (cache->nslots - 1);
}

uint8_t *page_cache_lookup(PageCache *cache, uint64_t addr, uint64_t age)
{
    uint64_t i = page_cache_slot(cache, addr);

    if (!addr || cache->slots[i].addr != addr) {
        return NULL;
    }
    cache->slots[i].age = age;
    return cache->data + i * TARGET_PAGE_SIZE;
}

uint8_t *page_cache_insert(PageCache *cache, uint64_t addr, const uint8_t *data,
                           uint64_t age)
{
    uint64_t i = page_cache_slot(cache, addr);
    PageCacheSlot *s = &cache->slots[i];
    uint8_t *copy = cache->data + i * TARGET_PAGE_SIZE;

    g_assert(addr);
    if (s->addr && s->addr != addr && s->age + PAGE_CACHE_LIFETIME > age) {
        return NULL;
    }
    if (copy != data) {
        memcpy(copy, data, TARGET_PAGE_SIZE);
    }
    s->addr = addr;
    s->age = age;
    return copy;
}
