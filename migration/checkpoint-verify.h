/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * checkpoint-verify.h (private to migration/): the destination's pages
 * copied from the checkpoint, verified on worker threads.
 *
 * For each HASH record the load thread queues the page; a worker reads
 * the page the lookup function names for the digest and address, checks its
 * SHA-256 and places it in guest RAM, or calls the failure function (which asks
 * the source for the page) when the digest is not in the index, the read
 * fails or the page changed.  This keeps the hashing (the costly part,
 * ~3 us per page) off the load thread.
 *
 * Ordering: a queued page is placed some time before the next
 * checkpoint_verify_wait() returns; the load calls it at each payload's
 * EOS (a page is sent at most once per payload, and again only in a later
 * pass) and before answering a sync (so that every re-request precedes
 * the answer).
 *
 * Threads: queue and wait from the load thread; the failure function
 * runs on the workers.
 */
#ifndef MIGRATION_CHECKPOINT_VERIFY_H
#define MIGRATION_CHECKPOINT_VERIFY_H

#include "qemu/osdep.h"
#include "qapi/error.h"
#include "checkpoint-index.h"
#include "ram-place.h"

typedef struct CkptVerify CkptVerify;

/* Pages that may wait to be verified (32 MiB of guest RAM). */
#define CKPT_VERIFY_QUEUE 8192

/*
 * The page at host (offset addr in rb) could not be taken from the
 * checkpoint (why): returns 0 when the source was asked for it, or a
 * negative errno with errp set.
 */
typedef int (*CkptVerifyFailFn)(RAMBlock *rb, uint64_t addr, const char *why,
                                Error **errp);

/*
 * The entry of ci that may hold the page of digest for offset addr of rb
 * (its digest is checked again after the read), or NULL.  Workers.
 */
typedef const CkptIndexEntry *(*CkptVerifyLookupFn)(CheckpointIndex *ci,
                                                    RAMBlock *rb, uint64_t addr,
                                                    const uint8_t *digest);

/*
 * Start the workers over ci (which must outlive the result), finding
 * pages with lookup; each page placed adds 1 to *loaded (atomically).
 */
CkptVerify *checkpoint_verify_new(CheckpointIndex *ci,
                                  CkptVerifyLookupFn lookup,
                                  CkptVerifyFailFn fail, uint64_t *loaded);

/*
 * Queue the page of digest at host to be verified and placed (through
 * pl).  False, without blocking, when CKPT_VERIFY_QUEUE pages are already
 * waiting: the workers are behind, and the caller had better ask the
 * source for the page than wait (the link is faster than the hashing).
 */
bool checkpoint_verify_queue(CkptVerify *v, RAMPlacer *pl, RAMBlock *rb,
                             uint8_t *host, uint64_t addr,
                             const uint8_t *digest);

/*
 * Wait until every queued page is placed or requested again.  Returns 0,
 * or the first failure's negative errno with errp set.
 */
int checkpoint_verify_wait(CkptVerify *v, Error **errp);

/* Wait for the queued pages, stop the workers, free (NULL is fine). */
void checkpoint_verify_free(CkptVerify *v);

#endif /* MIGRATION_CHECKPOINT_VERIFY_H */
