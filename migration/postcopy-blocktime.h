/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * postcopy-blocktime.h (private to migration/): how long the
 * destination's vCPUs waited for pages in postcopy (capability
 * postcopy-blocktime, QEMU 7.2's figures), and Tern's own fault service
 * latency.
 *
 * The fault thread notes each fault (page, host thread); placing a page
 * (UFFDIO_COPY/ZEROPAGE, either channel) ends every wait on it.
 *   postcopy-vcpu-blocktime  per vCPU, the time it waited (ms)
 *   postcopy-blocktime       the time all vCPUs waited at once (ms)
 * Both are shown by query-migrate / info migrate on the destination once
 * it completed, with the capability on.  The latency from a fault (any
 * thread; from when the fault thread read it) to its page placed is kept
 * per sample, all together and by the stream that placed the page (the
 * main stream: the bulk, or the request's page without preempt;
 * preempt: a requested page).  At the end postcopy_fault_latency traces
 * the exact p50/p99/max of each, the faults whose page never came
 * through a placer (placed before the fault was noted) and a log2
 * histogram, for make bench.  postcopy_hop_placed traces each fault's
 * times (CLOCK_MONOTONIC ns, comparable across processes of one host).
 *
 * Threads: fault thread (faults), load and preempt threads (placed),
 * monitor (query); one lock, taken on placement only while a fault is
 * outstanding.
 */
#ifndef MIGRATION_POSTCOPY_BLOCKTIME_H
#define MIGRATION_POSTCOPY_BLOCKTIME_H

#include "qemu/osdep.h"
#include "sysemu/ramblock.h"

/* The stream a page came on. */
typedef enum PostcopyVia {
    POSTCOPY_VIA_MAIN,
    POSTCOPY_VIA_PREEMPT,
    POSTCOPY_VIA__MAX,
} PostcopyVia;

/* A page just placed: where it came from, when its record was read. */
typedef struct PostcopyPlaced {
    PostcopyVia via;
    RAMBlock *rb;
    uint64_t offset;
    int64_t recv_ns; /* its record's header read (postcopy_clock_ns) */
} PostcopyPlaced;

/* CLOCK_MONOTONIC in ns: the clock of the fault-path measurements. */
int64_t postcopy_clock_ns(void);

/* LISTEN: start counting (the previous migration's figures go). */
void postcopy_blocktime_start(void);

/*
 * Fault thread: host thread tid faulted on the page at host address
 * page; the fault was read at read_ns (postcopy_clock_ns).
 */
void postcopy_blocktime_fault(uint64_t page, long tid, int64_t read_ns);

/* A page at host address page is now in guest RAM.  Any thread. */
void postcopy_blocktime_placed(uint64_t page, const PostcopyPlaced *how);

/* End of postcopy: trace the fault latency figures. */
void postcopy_blocktime_end(void);

/*
 * The figures for query-migrate: false when the capability was off (no
 * figures).  *vcpu_ms is a new array of *n entries (g_free).
 */
bool postcopy_blocktime_get(uint32_t *total_ms, uint32_t **vcpu_ms, int *n);

#endif /* MIGRATION_POSTCOPY_BLOCKTIME_H */
