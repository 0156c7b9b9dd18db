/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * ram-xbzrle.c: the source's XBZRLE decision per page (see
 * ram-xbzrle.h): cache lookups, encoding, counters, resizes.
 */
#include "qemu/osdep.h"
#include "migration/options.h"
#include "migration-stats.h"
#include "page-cache.h"
#include "ram-xbzrle.h"
#include "xbzrle.h"

/*
 * Deltas get this much room: with the encoding byte and the length an
 * XBZRLE record is then never bigger than the page it replaces.
 */
#define RAM_XBZRLE_DELTA_MAX (TARGET_PAGE_SIZE - XBZRLE_RECORD_HEADER_BYTES)

struct RAMXbzrle {
    PageCache *cache;
    uint8_t *current;   /* the page being encoded, copied from guest RAM */
    uint8_t *encoded;   /* its delta */
    uint8_t *zero_page; /* what a ZERO record leaves on the destination */
    bool encoding;      /* the first round is over */
    bool last_stage;    /* the vCPUs are stopped */
    /* counters at the previous rate update */
    uint64_t prev_sent;
    uint64_t prev_miss;
    uint64_t prev_pages;
    uint64_t prev_bytes;
};

/* Serialises resizes (main thread) against the migration thread. */
static GMutex ram_xbzrle_lock;
/* Under ram_xbzrle_lock: the migration's state, and a cache to swap in. */
static RAMXbzrle *ram_xbzrle_current;
static PageCache *ram_xbzrle_pending;
/*
 * Set (release, under the lock) when ram_xbzrle_pending is; read
 * without the lock (acquire) before each page, so the page path takes
 * the lock only when a resize is waiting.
 */
static bool ram_xbzrle_resized;

RAMXbzrle *ram_xbzrle_new(Error **errp)
{
    PageCache *cache = page_cache_new(migrate_xbzrle_cache_size(), errp);
    RAMXbzrle *x;

    if (!cache) {
        return NULL;
    }
    x = g_new0(RAMXbzrle, 1);
    x->cache = cache;
    x->current = g_malloc(TARGET_PAGE_SIZE);
    x->encoded = g_malloc(TARGET_PAGE_SIZE);
    x->zero_page = g_malloc0(TARGET_PAGE_SIZE);
    g_mutex_lock(&ram_xbzrle_lock);
    ram_xbzrle_current = x;
    g_mutex_unlock(&ram_xbzrle_lock);
    return x;
}

void ram_xbzrle_free(RAMXbzrle *x)
{
    PageCache *pending = NULL;

    if (!x) {
        return;
    }
    g_mutex_lock(&ram_xbzrle_lock);
    if (ram_xbzrle_current == x) {
        ram_xbzrle_current = NULL;
        pending = ram_xbzrle_pending;
        ram_xbzrle_pending = NULL;
        __atomic_store_n(&ram_xbzrle_resized, false, __ATOMIC_RELEASE);
    }
    g_mutex_unlock(&ram_xbzrle_lock);
    page_cache_free(pending);
    page_cache_free(x->cache);
    g_free(x->current);
    g_free(x->encoded);
    g_free(x->zero_page);
    g_free(x);
}

void ram_xbzrle_start_encoding(RAMXbzrle *x)
{
    x->encoding = true;
}

void ram_xbzrle_set_last_stage(RAMXbzrle *x)
{
    x->last_stage = true;
}

bool ram_xbzrle_cache_resize(uint64_t size, Error **errp)
{
    PageCache *cache, *old;

    g_mutex_lock(&ram_xbzrle_lock);
    if (!ram_xbzrle_current) {
        g_mutex_unlock(&ram_xbzrle_lock);
        return true; /* the next migration reads the parameter */
    }
    cache = page_cache_new(size, errp);
    if (!cache) {
        g_mutex_unlock(&ram_xbzrle_lock);
        return false;
    }
    old = ram_xbzrle_pending;
    ram_xbzrle_pending = cache;
    __atomic_store_n(&ram_xbzrle_resized, true, __ATOMIC_RELEASE);
    g_mutex_unlock(&ram_xbzrle_lock);
    page_cache_free(old);
    return true;
}

/* Swap in a resized cache if one is waiting.  Migration thread. */
static void ram_xbzrle_take_resize(RAMXbzrle *x)
{
    PageCache *cache;

    if (!__atomic_load_n(&ram_xbzrle_resized, __ATOMIC_ACQUIRE)) {
        return;
    }
    g_mutex_lock(&ram_xbzrle_lock);
    cache = ram_xbzrle_pending;
    ram_xbzrle_pending = NULL;
    __atomic_store_n(&ram_xbzrle_resized, false, __ATOMIC_RELEASE);
    g_mutex_unlock(&ram_xbzrle_lock);
    if (cache) {
        page_cache_free(x->cache);
        x->cache = cache;
    }
}

/* Is a page delta-encoded now?  (Not in round one, not in postcopy.) */
static bool ram_xbzrle_active(RAMXbzrle *x)
{
    return x->encoding &&
           stat64_get(&mig_stats.phase) != MIGRATION_PHASE_POSTCOPY;
}

/* A page not in the cache: cache it and send the cached copy. */
static RAMXbzrleOutcome ram_xbzrle_miss(RAMXbzrle *x, uint8_t *host,
                                        uint64_t age, const uint8_t **data)
{
    stat64_add(&mig_stats.xbzrle_cache_miss, 1);
    if (!x->last_stage) {
        uint8_t *cached =
            page_cache_insert(x->cache, (uintptr_t)host, host, age);

        if (cached) {
            *data = cached;
        }
    }
    return RAM_XBZRLE_SEND_PAGE;
}

RAMXbzrleOutcome ram_xbzrle_save_page(RAMXbzrle *x, uint8_t *host,
                                      const uint8_t **data, size_t *len)
{
    uint64_t age = stat64_get(&mig_stats.dirty_sync_count);
    uint8_t *cached;
    int n;

    *data = host;
    *len = TARGET_PAGE_SIZE;
    if (!ram_xbzrle_active(x)) {
        return RAM_XBZRLE_SEND_PAGE;
    }
    ram_xbzrle_take_resize(x);
    cached = page_cache_lookup(x->cache, (uintptr_t)host, age);
    if (!cached) {
        return ram_xbzrle_miss(x, host, age, data);
    }
    stat64_add(&mig_stats.xbzrle_pages, 1);
    /* one snapshot of the page: the guest may write it meanwhile */
    memcpy(x->current, host, TARGET_PAGE_SIZE);
    n = xbzrle_encode_buffer(cached, x->current, TARGET_PAGE_SIZE, x->encoded,
                             RAM_XBZRLE_DELTA_MAX);
    if (n == 0) {
        return RAM_XBZRLE_SKIP;
    }
    if (!x->last_stage) {
        /*
         * The destination will have the snapshot: so must the cache.  A
         * delta patches only the changed bytes in; an overflow copies.
         */
        if (n < 0 ||
            xbzrle_decode_buffer(x->encoded, n, cached, TARGET_PAGE_SIZE) < 0) {
            memcpy(cached, x->current, TARGET_PAGE_SIZE);
        }
        *data = cached;
    }
    if (n < 0) {
        stat64_add(&mig_stats.xbzrle_overflow, 1);
        stat64_add(&mig_stats.xbzrle_bytes, TARGET_PAGE_SIZE);
        return RAM_XBZRLE_SEND_PAGE;
    }
    *data = x->encoded;
    *len = n;
    return RAM_XBZRLE_SEND_DELTA;
}

void ram_xbzrle_account_record(size_t record_bytes)
{
    /* QEMU 7.2 leaves the 8-byte header word out of "bytes" */
    stat64_add(&mig_stats.xbzrle_bytes, record_bytes - 8);
    stat64_add(&mig_stats.xbzrle_encoded, 1);
}

void ram_xbzrle_zero_page(RAMXbzrle *x, uint8_t *host)
{
    if (!ram_xbzrle_active(x) || x->last_stage) {
        return;
    }
    ram_xbzrle_take_resize(x);
    /* best effort: a page whose slot is taken is simply not cached */
    page_cache_insert(x->cache, (uintptr_t)host, x->zero_page,
                      stat64_get(&mig_stats.dirty_sync_count));
}

void ram_xbzrle_update_rates(RAMXbzrle *x)
{
    uint64_t sent = stat64_get(&mig_stats.zero_pages) +
                    stat64_get(&mig_stats.normal_pages) +
                    stat64_get(&mig_stats.xbzrle_encoded);
    uint64_t miss = stat64_get(&mig_stats.xbzrle_cache_miss);
    uint64_t pages = stat64_get(&mig_stats.xbzrle_pages);
    uint64_t bytes = stat64_get(&mig_stats.xbzrle_bytes);
    double encoded = bytes - x->prev_bytes;

    if (sent == x->prev_sent) {
        return; /* nothing sent in the period: keep the last rates */
    }
    stat64_set_double(&mig_stats.xbzrle_cache_miss_rate,
                      (double)(miss - x->prev_miss) / (sent - x->prev_sent));
    stat64_set_double(&mig_stats.xbzrle_encoding_rate,
                      pages == x->prev_pages || !encoded
                          ? 0
                          : (double)(pages - x->prev_pages) * TARGET_PAGE_SIZE /
                                encoded);
    x->prev_sent = sent;
    x->prev_miss = miss;
    x->prev_pages = pages;
    x->prev_bytes = bytes;
}
