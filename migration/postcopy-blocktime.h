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
 * thread) to its page placed goes into a log2 histogram whose p50, p99
 * and max are traced at the end (postcopy_fault_latency) for make bench.
 *
 * Threads: fault thread (faults), load and preempt threads (placed),
 * monitor (query); one lock, taken on placement only while a fault is
 * outstanding.
 */
#ifndef MIGRATION_POSTCOPY_BLOCKTIME_H
#define MIGRATION_POSTCOPY_BLOCKTIME_H

#include "qemu/osdep.h"

/* LISTEN: start counting (the previous migration's figures go). */
void postcopy_blocktime_start(void);

/* Fault thread: host thread tid faulted on the page at host address page. */
void postcopy_blocktime_fault(uint64_t page, long tid);

/* A page at host address page is now in guest RAM.  Any thread. */
void postcopy_blocktime_placed(uint64_t page);

/* End of postcopy: trace the fault latency figures. */
void postcopy_blocktime_end(void);

/*
 * The figures for query-migrate: false when the capability was off (no
 * figures).  *vcpu_ms is a new array of *n entries (g_free).
 */
bool postcopy_blocktime_get(uint32_t *total_ms, uint32_t **vcpu_ms, int *n);

#endif /* MIGRATION_POSTCOPY_BLOCKTIME_H */
