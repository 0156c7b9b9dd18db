/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * postcopy-blocktime.c: vCPU blocktime and fault latency of the
 * destination in postcopy (see postcopy-blocktime.h).
 */
#include "qemu/osdep.h"
#include "qemu/trace.h"
#include "migration/options.h"
#include "sysemu/cpus.h"
#include "postcopy-blocktime.h"

/* Latency buckets: [2^i, 2^(i+1)) microseconds, the last open-ended. */
#define BLOCKTIME_LAT_BUCKETS 24
#define NS_PER_US 1000
#define NS_PER_MS 1000000

typedef struct PostcopyBlocktime {
    GMutex lock;
    bool on; /* capability postcopy-blocktime at LISTEN */
    int ncpus;
    int64_t *wait_ns; /* per vCPU: when it started waiting, 0: not */
    uint64_t *page;   /* the page each waiting vCPU waits for */
    uint64_t *vcpu_ns;
    int nwaiting;
    int64_t all_since_ns;
    uint64_t all_ns;
    GHashTable *faults; /* page -> first fault time (ns), any thread */
    int outstanding;    /* g_hash_table_size(faults), read without lock */
    uint64_t lat_hist[BLOCKTIME_LAT_BUCKETS];
    uint64_t lat_n;
    uint64_t lat_max_ns;
} PostcopyBlocktime;

static PostcopyBlocktime pbt;

static int64_t blocktime_now_ns(void)
{
    return g_get_monotonic_time() * NS_PER_US;
}

void postcopy_blocktime_start(void)
{
    g_mutex_lock(&pbt.lock);
    g_free(pbt.wait_ns);
    g_free(pbt.page);
    g_free(pbt.vcpu_ns);
    if (pbt.faults) {
        g_hash_table_destroy(pbt.faults);
    }
    pbt.on = migrate_cap(MIGRATION_CAPABILITY_POSTCOPY_BLOCKTIME);
    pbt.ncpus = 1;
    pbt.wait_ns = g_new0(int64_t, pbt.ncpus);
    pbt.page = g_new0(uint64_t, pbt.ncpus);
    pbt.vcpu_ns = g_new0(uint64_t, pbt.ncpus);
    pbt.nwaiting = 0;
    pbt.all_ns = 0;
    pbt.faults =
        g_hash_table_new_full(g_int64_hash, g_int64_equal, g_free, g_free);
    __atomic_store_n(&pbt.outstanding, 0, __ATOMIC_RELEASE);
    memset(pbt.lat_hist, 0, sizeof(pbt.lat_hist));
    pbt.lat_n = pbt.lat_max_ns = 0;
    g_mutex_unlock(&pbt.lock);
}

void postcopy_blocktime_fault(uint64_t page, long tid)
{
    int64_t now = blocktime_now_ns();
    /* Tern has one vCPU (index 0) */
    int cpu = tid && tid == cpus_vcpu_thread_id() ? 0 : -1;

    g_mutex_lock(&pbt.lock);
    if (pbt.faults && !g_hash_table_contains(pbt.faults, &page)) {
        g_hash_table_insert(pbt.faults, g_memdup2(&page, sizeof(page)),
                            g_memdup2(&now, sizeof(now)));
        __atomic_store_n(&pbt.outstanding, g_hash_table_size(pbt.faults),
                         __ATOMIC_RELEASE);
    }
    if (pbt.on && cpu >= 0 && cpu < pbt.ncpus && !pbt.wait_ns[cpu]) {
        pbt.wait_ns[cpu] = now;
        pbt.page[cpu] = page;
        if (++pbt.nwaiting == pbt.ncpus) {
            pbt.all_since_ns = now;
        }
    }
    g_mutex_unlock(&pbt.lock);
}

/* One latency sample into the histogram (lock held). */
static void blocktime_latency_add(uint64_t ns)
{
    uint64_t us = ns / NS_PER_US;
    int b = 0;

    while (us > 1 && b < BLOCKTIME_LAT_BUCKETS - 1) {
        us >>= 1;
        b++;
    }
    pbt.lat_hist[b]++;
    pbt.lat_n++;
    pbt.lat_max_ns = MAX(pbt.lat_max_ns, ns);
}

void postcopy_blocktime_placed(uint64_t page)
{
    int64_t *since, now;

    if (!__atomic_load_n(&pbt.outstanding, __ATOMIC_ACQUIRE)) {
        return; /* nobody waits: the common case, no lock */
    }
    now = blocktime_now_ns();
    g_mutex_lock(&pbt.lock);
    since = pbt.faults ? g_hash_table_lookup(pbt.faults, &page) : NULL;
    if (since) {
        blocktime_latency_add(now - *since);
        g_hash_table_remove(pbt.faults, &page);
        __atomic_store_n(&pbt.outstanding, g_hash_table_size(pbt.faults),
                         __ATOMIC_RELEASE);
    }
    for (int i = 0; pbt.on && i < pbt.ncpus; i++) {
        if (!pbt.wait_ns[i] || pbt.page[i] != page) {
            continue;
        }
        if (pbt.nwaiting == pbt.ncpus) {
            pbt.all_ns += now - pbt.all_since_ns;
        }
        pbt.vcpu_ns[i] += now - pbt.wait_ns[i];
        pbt.wait_ns[i] = 0;
        pbt.nwaiting--;
    }
    g_mutex_unlock(&pbt.lock);
}

/* The latency (us) below which a fraction q of the samples are. */
static uint64_t blocktime_latency_quantile(double q)
{
    uint64_t want = (uint64_t)(q * pbt.lat_n), seen = 0;

    for (int b = 0; b < BLOCKTIME_LAT_BUCKETS; b++) {
        seen += pbt.lat_hist[b];
        if (seen > want) {
            return 2ULL << b; /* the bucket's upper bound */
        }
    }
    return pbt.lat_max_ns / NS_PER_US;
}

void postcopy_blocktime_end(void)
{
    GString *hist = g_string_new(NULL);

    g_mutex_lock(&pbt.lock);
    for (int b = 0; b < BLOCKTIME_LAT_BUCKETS; b++) {
        if (pbt.lat_hist[b]) {
            g_string_append_printf(hist, " <%lluus:%" PRIu64, 2ULL << b,
                                   pbt.lat_hist[b]);
        }
    }
    TRACE("postcopy_fault_latency",
          "n %" PRIu64 " p50 %" PRIu64 " us p99 %" PRIu64 " us max %" PRIu64
          " us hist%s",
          pbt.lat_n, blocktime_latency_quantile(0.5),
          blocktime_latency_quantile(0.99), pbt.lat_max_ns / NS_PER_US,
          hist->str);
    g_mutex_unlock(&pbt.lock);
    g_string_free(hist, true);
}

bool postcopy_blocktime_get(uint32_t *total_ms, uint32_t **vcpu_ms, int *n)
{
    g_mutex_lock(&pbt.lock);
    if (!pbt.on || !pbt.vcpu_ns) {
        g_mutex_unlock(&pbt.lock);
        return false;
    }
    *total_ms = pbt.all_ns / NS_PER_MS;
    *n = pbt.ncpus;
    *vcpu_ms = g_new(uint32_t, pbt.ncpus);
    for (int i = 0; i < pbt.ncpus; i++) {
        (*vcpu_ms)[i] = pbt.vcpu_ns[i] / NS_PER_MS;
    }
    g_mutex_unlock(&pbt.lock);
    return true;
}
