/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * postcopy-blocktime.c: vCPU blocktime and fault latency of the
 * destination in postcopy (see postcopy-blocktime.h).
 */
#include "qemu/osdep.h"
#include <math.h>
#include "qemu/trace.h"
#include "migration/options.h"
#include "sysemu/cpus.h"
#include "postcopy-blocktime.h"

/* Latency buckets: [2^i, 2^(i+1)) microseconds, the last open-ended. */
#define BLOCKTIME_LAT_BUCKETS 24
/* Samples kept for exact quantiles (8 bytes each); later ones: histogram */
#define BLOCKTIME_LAT_SAMPLES (1 << 20)
#define NS_PER_US 1000
#define NS_PER_MS 1000000

/* Latency figures of the faults served by one stream (lock held). */
typedef struct BlocktimeLatency {
    uint64_t hist[BLOCKTIME_LAT_BUCKETS];
    GArray *ns; /* uint64_t samples, the first BLOCKTIME_LAT_SAMPLES */
    uint64_t n;
    uint64_t max_ns;
} BlocktimeLatency;

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
    /* fault read to page placed: all, and by the stream that placed it */
    BlocktimeLatency lat[POSTCOPY_VIA__MAX + 1];
} PostcopyBlocktime;

static PostcopyBlocktime pbt;
static const char *const blocktime_via_name[] = {"main", "preempt", "all"};

int64_t postcopy_clock_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * (int64_t)1000000000 + ts.tv_nsec;
}

static int64_t blocktime_now_ns(void)
{
    return postcopy_clock_ns();
}

/* Forget the samples of l (lock held). */
static void blocktime_latency_reset(BlocktimeLatency *l)
{
    if (l->ns) {
        g_array_free(l->ns, true);
    }
    memset(l, 0, sizeof(*l));
    l->ns = g_array_new(false, false, sizeof(uint64_t));
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
    for (int i = 0; i <= POSTCOPY_VIA__MAX; i++) {
        blocktime_latency_reset(&pbt.lat[i]);
    }
    g_mutex_unlock(&pbt.lock);
}

void postcopy_blocktime_fault(uint64_t page, long tid, int64_t now)
{
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

/* One latency sample into l (lock held). */
static void blocktime_latency_add(BlocktimeLatency *l, uint64_t ns)
{
    uint64_t us = ns / NS_PER_US;
    int b = 0;

    while (us > 1 && b < BLOCKTIME_LAT_BUCKETS - 1) {
        us >>= 1;
        b++;
    }
    l->hist[b]++;
    l->n++;
    l->max_ns = MAX(l->max_ns, ns);
    if (l->ns->len < BLOCKTIME_LAT_SAMPLES) {
        g_array_append_val(l->ns, ns);
    }
}

void postcopy_blocktime_placed(uint64_t page, const PostcopyPlaced *how)
{
    int64_t *since, now;

    if (!__atomic_load_n(&pbt.outstanding, __ATOMIC_ACQUIRE)) {
        return; /* nobody waits: the common case, no lock */
    }
    now = blocktime_now_ns();
    g_mutex_lock(&pbt.lock);
    since = pbt.faults ? g_hash_table_lookup(pbt.faults, &page) : NULL;
    if (since) {
        blocktime_latency_add(&pbt.lat[how->via], now - *since);
        blocktime_latency_add(&pbt.lat[POSTCOPY_VIA__MAX], now - *since);
        TRACE("postcopy_hop_placed",
              "%s:0x%" PRIx64 " via %s fault %" PRId64 " recv %" PRId64
              " placed %" PRId64,
              how->rb->idstr, how->offset, blocktime_via_name[how->via], *since,
              how->recv_ns, now);
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

static int blocktime_u64_cmp(gconstpointer a, gconstpointer b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

    return x < y ? -1 : x > y;
}

/*
 * The latency (us, 0.1 us resolution) below which a fraction q of l's
 * samples are (sorted), nearest rank.
 */
static double blocktime_latency_quantile(const BlocktimeLatency *l, double q)
{
    guint n = l->ns->len, rank;

    if (!n) {
        return 0;
    }
    rank = (guint)ceil(q * n);
    rank = MIN(MAX(rank, 1), n);
    return g_array_index(l->ns, uint64_t, rank - 1) / 100 / 10.0;
}

/* " n N p50 X us p99 Y us max Z us" for l (lock held). */
static void blocktime_latency_print(GString *out, BlocktimeLatency *l)
{
    g_array_sort(l->ns, blocktime_u64_cmp);
    g_string_append_printf(
        out, " n %" PRIu64 " p50 %.1f us p99 %.1f us max %.1f us", l->n,
        blocktime_latency_quantile(l, 0.5), blocktime_latency_quantile(l, 0.99),
        l->max_ns / 100 / 10.0);
}

void postcopy_blocktime_end(void)
{
    GString *line = g_string_new(NULL);
    BlocktimeLatency *all = &pbt.lat[POSTCOPY_VIA__MAX];

    g_mutex_lock(&pbt.lock);
    if (!all->ns) {
        g_mutex_unlock(&pbt.lock);
        g_string_free(line, true);
        return;
    }
    blocktime_latency_print(line, all);
    for (int v = 0; v < POSTCOPY_VIA__MAX; v++) {
        g_string_append_printf(line, " %s:", blocktime_via_name[v]);
        blocktime_latency_print(line, &pbt.lat[v]);
    }
    g_string_append_printf(line, " unplaced %u hist",
                           pbt.faults ? g_hash_table_size(pbt.faults) : 0);
    for (int b = 0; b < BLOCKTIME_LAT_BUCKETS; b++) {
        if (all->hist[b]) {
            g_string_append_printf(line, " <%lluus:%" PRIu64, 2ULL << b,
                                   all->hist[b]);
        }
    }
    TRACE("postcopy_fault_latency", "%s", line->str);
    g_mutex_unlock(&pbt.lock);
    g_string_free(line, true);
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
