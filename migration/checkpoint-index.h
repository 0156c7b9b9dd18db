/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * checkpoint-index.h (private to migration/): the destination's index of
 * a checkpoint file for checkpoint-assisted migration.
 *
 * A checkpoint is an older image of the guest's RAM on the destination
 * host: Tern's dump-guest-memory ELF (PT_LOAD segments at their
 * guest-physical addresses) or a mapped-ram file (a save with the
 * mapped-ram capability: each block's present pages, placed at the
 * address of our RAM block of the same name and size).  The index maps the
 * SHA-256 of every non-zero 4 KiB page to where it is in the file, and each
 * guest-physical page address to the page the file holds there.  Zero pages are
 * never hashed (they travel as ZERO records anyway).
 *
 * Indexing reads and hashes the whole file on one thread per processor,
 * started when the checkpoint is configured (-checkpoint, or the
 * "checkpoint" parameter), so it runs while the destination waits for
 * its connection.
 * The file stays open: pages are read again when the source names them,
 * and checked against the digest it sent, since the file may have
 * changed since (checkpoint-dst.c).
 *
 * Threads: after checkpoint_index_wait() returned true, the lookups and
 * reads are safe from any thread; before, find/at/foreach find nothing,
 * and the slots already indexed (checkpoint_index_slot()) are readable;
 * the statistics any time.
 */
#ifndef MIGRATION_CHECKPOINT_INDEX_H
#define MIGRATION_CHECKPOINT_INDEX_H

#include "qemu/osdep.h"
#include "qapi/error.h"
#include "checkpoint-exchange.h"

/* gpa of a page the file holds at no usable guest-physical address */
#define CKPT_NO_GPA UINT64_MAX

typedef struct CkptIndexEntry {
    uint8_t digest[CKPT_DIGEST_BYTES];
    uint64_t file_off;
    uint64_t gpa; /* or CKPT_NO_GPA */
} CkptIndexEntry;

typedef struct CheckpointIndex CheckpointIndex;

/* What the index has done so far (query-migrate on the destination). */
typedef struct CkptIndexStats {
    bool done;        /* indexing ended (ok or failed) */
    bool ok;          /* ... successfully */
    uint64_t pages;   /* non-zero pages indexed */
    uint64_t zero;    /* zero pages skipped */
    int64_t index_ms; /* how long indexing took (so far) */
    uint64_t bytes_read;
} CkptIndexStats;

/*
 * Open path and start indexing it on a thread.  NULL with errp set when
 * the file cannot be opened; a file that is not a checkpoint fails the
 * indexing later (checkpoint_index_wait()).  Caller frees.
 */
CheckpointIndex *checkpoint_index_start(const char *path, Error **errp);

/* The file's path. */
const char *checkpoint_index_path(const CheckpointIndex *ci);

/*
 * Wait for indexing to end.  False with errp set (why the file is not
 * usable) if it failed.  Blocks.
 */
bool checkpoint_index_wait(CheckpointIndex *ci, Error **errp);

/* True if indexing ended, waiting for it at most ms.  Blocks. */
bool checkpoint_index_done_within(CheckpointIndex *ci, int ms);

/* Snapshot of the progress (any thread). */
void checkpoint_index_stats(CheckpointIndex *ci, CkptIndexStats *st);

/* After a successful wait: the page with this digest, or NULL. */
const CkptIndexEntry *checkpoint_index_find(CheckpointIndex *ci,
                                            const uint8_t *digest);

/* After a successful wait: the page the file holds at gpa, or NULL. */
const CkptIndexEntry *checkpoint_index_at(CheckpointIndex *ci, uint64_t gpa);

/* After a successful wait: call fn on every indexed page. */
void checkpoint_index_foreach(CheckpointIndex *ci,
                              void (*fn)(const CkptIndexEntry *e, void *opaque),
                              void *opaque);

/*
 * While indexing runs too: the slots (pages of the file, in file order)
 * whose entries are final so far.  Only grows.  Any thread.
 */
uint64_t checkpoint_index_ready_slots(CheckpointIndex *ci);

/*
 * The entry at slot (< checkpoint_index_ready_slots()), NULL for a zero
 * page or a slot not ready.  Stays valid until checkpoint_index_free().
 */
const CkptIndexEntry *checkpoint_index_slot(CheckpointIndex *ci, uint64_t slot);

/*
 * Read the TARGET_PAGE_SIZE bytes of e now in the file into buf.  False
 * with errp set on an I/O error or a short read (truncated file).
 */
bool checkpoint_index_read(CheckpointIndex *ci, const CkptIndexEntry *e,
                           uint8_t *buf, Error **errp);

/*
 * Pause the indexing (its threads stop after their current chunk and
 * use no processor) or resume it: a migration at full speed needs the
 * processors more than an index it cannot wait for.  Resumed, the
 * threads that paused go on at SCHED_IDLE.  The index time counts the
 * pause.  Any thread.
 */
void checkpoint_index_pause(CheckpointIndex *ci, bool paused);

/*
 * A migration waits for the index again (a link slow enough that hashing
 * pays): resume it if paused, at normal priority, threads that an earlier
 * resume sent to SCHED_IDLE too.  Any thread.
 */
void checkpoint_index_hurry(CheckpointIndex *ci);

/* Stop indexing if it still runs, close the file, free (NULL is fine). */
void checkpoint_index_free(CheckpointIndex *ci);

#endif /* MIGRATION_CHECKPOINT_INDEX_H */
