/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * ram-prefault.h (private to migration/): the destination's prefault
 * helper thread.
 *
 * Why: writing a page into never-touched anonymous guest RAM makes the
 * kernel allocate and zero it first (a 2 MiB clear per transparent huge
 * page); on the load thread that was a quarter of its CPU time.  So a
 * helper thread populates (MADV_POPULATE_WRITE) the 2 MiB chunks just
 * ahead of where PAGE data is landing, in parallel with the load thread.
 *
 * Only PAGE data (records, or multifd packets) moves the window, and only
 * RAM_PREFAULT_AHEAD bytes ahead of them, so guest RAM that only ever receives
 * ZERO records stays untouched (no RSS growth beyond one window per dense run).
 * File-backed blocks are left alone (populating would allocate file blocks).
 * Populating a page the load thread is writing at the same moment is
 * harmless: populate never changes the content of a present page.  On a
 * kernel without MADV_POPULATE_WRITE the helper stops quietly.
 */
#ifndef MIGRATION_RAM_PREFAULT_H
#define MIGRATION_RAM_PREFAULT_H

#include "qemu/osdep.h"
#include "sysemu/ramblock.h"

typedef struct RAMPrefault RAMPrefault;

/* A reporting thread's last chunk: it takes the lock only on a change. */
typedef struct RAMPrefaultCursor {
    RAMBlock *block;
    uint64_t chunk;
} RAMPrefaultCursor;

/*
 * Start a helper thread ("mig/dst/pf") for one incoming migration.
 * Caller owns the result (ram_prefault_free()).
 */
RAMPrefault *ram_prefault_new(void);

/*
 * PAGE data is about to land at byte offset addr of rb: move the window
 * there.  Cheap when the 2 MiB chunk did not change (no lock); else takes
 * the helper's lock briefly.  Load thread only.
 */
void ram_prefault_note(RAMPrefault *pf, RAMBlock *rb, uint64_t addr);

/*
 * The same for any thread, cur being that thread's own cursor (zeroed
 * at first): several threads may report into one pf at once.
 */
void ram_prefault_note_at(RAMPrefault *pf, RAMPrefaultCursor *cur, RAMBlock *rb,
                          uint64_t addr);

/*
 * ram_prefault_note_at() for every chunk that [addr, addr + len) of rb
 * touches: one write landing across several chunks takes each of them,
 * so the helper populates none of them under the writer.
 */
void ram_prefault_note_range(RAMPrefault *pf, RAMPrefaultCursor *cur,
                             RAMBlock *rb, uint64_t addr, uint64_t len);

/* Stop and join the helper and free pf (NULL is fine); its owner. */
void ram_prefault_free(RAMPrefault *pf);

#endif /* MIGRATION_RAM_PREFAULT_H */
