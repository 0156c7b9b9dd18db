/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * migration-stats.h (private to migration/): the statistics of the
 * outgoing migration, one object for every channel it uses.
 *
 * Counters are plain uint64_t updated with relaxed atomics, so any thread
 * (the migration thread, a multifd sender, the return-path thread) may
 * add to them and the monitor may read them at any time without a lock.
 * A reader sees each counter on its own; counters that must agree with
 * each other are read after the status says the migration is completed.
 */
#ifndef MIGRATION_MIGRATION_STATS_H
#define MIGRATION_MIGRATION_STATS_H

#include "qemu/osdep.h"

/* Where RAM bytes sent now are counted (precopy-, downtime-, postcopy-bytes).
 */
typedef enum MigrationPhase {
    MIGRATION_PHASE_PRECOPY,
    MIGRATION_PHASE_DOWNTIME,
    MIGRATION_PHASE_POSTCOPY,
} MigrationPhase;

typedef struct MigrationStats {
    uint64_t transferred;      /* RAM bytes put on any channel */
    uint64_t precopy_bytes;    /* ... of them while the guest ran (precopy) */
    uint64_t downtime_bytes;   /* ... while it was stopped */
    uint64_t postcopy_bytes;   /* ... after it started on the destination */
    uint64_t multifd_bytes;    /* ... on multifd channels */
    uint64_t zero_pages;       /* pages sent as zero records ("duplicate") */
    uint64_t normal_pages;     /* pages sent with their data */
    uint64_t compressed_pages; /* pages sent as COMPRESS_PAGE records */
    uint64_t remaining_pages;  /* dirty pages not sent yet */
    uint64_t dirty_sync_count; /* dirty-log syncs (passes) */
    uint64_t dirty_pages_rate; /* pages/s over the last sync period */
    uint64_t postcopy_requests;
    uint64_t phase; /* MigrationPhase */
    /* XBZRLE (ram-xbzrle.c), as QEMU 7.2 counts them */
    uint64_t xbzrle_bytes;      /* XBZRLE record bytes, header word excluded,
                                   + a page per overflow */
    uint64_t xbzrle_pages;      /* pages found in the cache (any outcome) */
    uint64_t xbzrle_cache_miss; /* pages looked up and not found */
    uint64_t xbzrle_overflow;   /* cached pages whose delta did not fit */
    uint64_t xbzrle_encoded;    /* XBZRLE records sent */
    /* per sync period (ram.c), doubles stored as their bits */
    uint64_t xbzrle_cache_miss_rate;
    uint64_t xbzrle_encoding_rate;
} MigrationStats;

/* The statistics of the current (or last) outgoing migration. */
extern MigrationStats mig_stats;

/* Relaxed atomic add/subtract/read/write of one counter (any thread). */
static inline void stat64_add(uint64_t *counter, uint64_t value)
{
    __atomic_fetch_add(counter, value, __ATOMIC_RELAXED);
}

static inline void stat64_sub(uint64_t *counter, uint64_t value)
{
    __atomic_fetch_sub(counter, value, __ATOMIC_RELAXED);
}

static inline uint64_t stat64_get(const uint64_t *counter)
{
    return __atomic_load_n(counter, __ATOMIC_RELAXED);
}

static inline void stat64_set(uint64_t *counter, uint64_t value)
{
    __atomic_store_n(counter, value, __ATOMIC_RELAXED);
}

/* A double kept in a counter (the XBZRLE rates), read or written whole. */
static inline void stat64_set_double(uint64_t *counter, double value)
{
    uint64_t bits;

    memcpy(&bits, &value, sizeof(bits));
    stat64_set(counter, bits);
}

static inline double stat64_get_double(const uint64_t *counter)
{
    uint64_t bits = stat64_get(counter);
    double value;

    memcpy(&value, &bits, sizeof(value));
    return value;
}

/* Zero every counter (start of an outgoing migration; main thread). */
void migration_stats_reset(void);

/* From now on, RAM bytes count as bytes of phase (any thread). */
void migration_stats_set_phase(MigrationPhase phase);

/*
 * bytes of RAM records (headers and page data) were put on a channel:
 * count them as transferred, in the current phase, and charge them to
 * the migration's rate limiter.  Any thread.
 */
void migration_stats_account_ram(uint64_t bytes);

/*
 * Pages sent so far, zero, normal and found in the XBZRLE cache
 * (pages-per-second, as QEMU 7.2 counts them).
 */
uint64_t migration_stats_pages_sent(void);

/* Bytes of RAM still dirty. */
uint64_t migration_stats_bytes_remaining(void);

#endif /* MIGRATION_MIGRATION_STATS_H */
