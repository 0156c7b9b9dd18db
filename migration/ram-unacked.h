/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * ram-unacked.h (private to migration/): the pages a precopy source
 * sent that the destination has not yet been seen to load, for
 * x-precopy-recover (precopy-recover.h).
 *
 * After a cut, the destination's received bitmap says which pages it
 * holds, not which version: a page received in one pass, dirtied again
 * and sent again just before the cut is "received" but stale there,
 * while its dirty bit here is clear.  So every page sent is noted here
 * until a PING sent after it is answered (the destination loads the
 * stream in order, so the PONG means every page before the PING was
 * placed), and a resume makes the noted pages dirty again.
 *
 * Two sets: "current" collects pages sent since the PING in flight;
 * "covered" holds those sent before it.  Migration thread only.
 */
#ifndef MIGRATION_RAM_UNACKED_H
#define MIGRATION_RAM_UNACKED_H

#include "qemu/osdep.h"
#include "sysemu/ramblock.h"

typedef struct RAMUnacked RAMUnacked;

/* Empty sets (bitmaps are made per block on first use). */
RAMUnacked *ram_unacked_new(void);
void ram_unacked_free(RAMUnacked *u);

/* page of rb was put on the stream. */
void ram_unacked_note(RAMUnacked *u, RAMBlock *rb, uint64_t page);

/*
 * A PING goes out now: the pages noted so far become covered by it, new
 * ones go into an empty current set.  Only with no PING in flight
 * (covered set empty).
 */
void ram_unacked_flip(RAMUnacked *u);

/* The PING was answered: the covered pages are loaded; forget them. */
void ram_unacked_acked(RAMUnacked *u);

/*
 * A resume: every page of both sets becomes dirty in its block's
 * migration bitmap (rb->bmap); both sets are emptied.  Returns how many
 * pages were noted.
 */
uint64_t ram_unacked_to_dirty(RAMUnacked *u);

#endif /* MIGRATION_RAM_UNACKED_H */
