/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * ram-xbzrle.h (private to migration/): the source's XBZRLE decision for
 * each page the stream sink sends, with capability "xbzrle".
 *
 * As QEMU 7.2: pages go out whole during the first round over RAM (the
 * cache would only miss); afterwards a page is looked up in the cache
 * (page-cache.h) by its address:
 *   - miss: the page is copied into the cache (if its slot is free or
 *     old) and sent whole from that copy, so the cache holds exactly
 *     what the destination got (the guest may change RAM meanwhile);
 *   - hit: the page is copied, delta-encoded against the cached copy
 *     (xbzrle.h), and the copy becomes the cached page; an empty delta
 *     sends nothing, a delta that would not be smaller than the page
 *     ("overflow") sends the copy whole, else an XBZRLE record;
 *   - a zero page (sent as ZERO by the sink) is cached as zeros.
 * With the vCPUs stopped (the last stage) the cache is no longer
 * updated and misses are sent straight from guest RAM.  In postcopy no
 * page is delta-encoded.
 *
 * Counters (mig_stats.xbzrle_*, QEMU 7.2's meaning): pages = cache hits,
 * cache-miss, overflow, bytes = XBZRLE record bytes after the header
 * word (+ a page per overflow); the two rates per sync period.
 *
 * Threads: everything but ram_xbzrle_cache_resize() runs on the
 * migration thread.  A resize (migrate-set-parameters, main thread)
 * allocates the new cache there, so it can fail with an error, and
 * hands it over under ram_xbzrle_lock; the migration thread swaps it in
 * before its next page.  The new cache starts empty: following pages
 * miss and go whole, which is always correct.
 */
#ifndef MIGRATION_RAM_XBZRLE_H
#define MIGRATION_RAM_XBZRLE_H

#include "qemu/osdep.h"
#include "qapi/error.h"

typedef struct RAMXbzrle RAMXbzrle;

typedef enum RAMXbzrleOutcome {
    /* send the page whole from *data (guest RAM itself, or a copy) */
    RAM_XBZRLE_SEND_PAGE,
    /* send an XBZRLE record with the *len encoded bytes at *data */
    RAM_XBZRLE_SEND_DELTA,
    /* unchanged since it was last sent: send nothing */
    RAM_XBZRLE_SKIP,
} RAMXbzrleOutcome;

/*
 * The XBZRLE state of one outgoing migration, with a cache of
 * xbzrle-cache-size bytes; NULL with errp set (QEMU's texts) when the
 * cache cannot be made.  Caller owns it (ram_xbzrle_free()).
 */
RAMXbzrle *ram_xbzrle_new(Error **errp);

/* Free x (NULL is fine); a resize pending for it is dropped. */
void ram_xbzrle_free(RAMXbzrle *x);

/* The first round over RAM is complete: start delta-encoding. */
void ram_xbzrle_start_encoding(RAMXbzrle *x);

/* The vCPUs are stopped for good: stop updating the cache. */
void ram_xbzrle_set_last_stage(RAMXbzrle *x);

/*
 * Decide how the non-zero page at host (guest RAM) goes out; see
 * RAMXbzrleOutcome.  *data and *len stay valid until the next call.
 * Counts the page in mig_stats.xbzrle_* except the record's own bytes,
 * which the caller adds with ram_xbzrle_account_record().
 */
RAMXbzrleOutcome ram_xbzrle_save_page(RAMXbzrle *x, uint8_t *host,
                                      const uint8_t **data, size_t *len);

/* An XBZRLE record of record_bytes (header word included) was sent. */
void ram_xbzrle_account_record(size_t record_bytes);

/* The page at host went as a ZERO record: cache it as zeros. */
void ram_xbzrle_zero_page(RAMXbzrle *x, uint8_t *host);

/*
 * Recompute cache-miss-rate and encoding-rate over the period since the
 * previous call (ram.c's sync period, about a second).
 */
void ram_xbzrle_update_rates(RAMXbzrle *x);

/*
 * xbzrle-cache-size is changing to size: if a migration is using a
 * cache, allocate one of the new size for it (see above).  False with
 * errp set when that fails; nothing changes then.  Main thread.
 */
bool ram_xbzrle_cache_resize(uint64_t size, Error **errp);

#endif /* MIGRATION_RAM_XBZRLE_H */
