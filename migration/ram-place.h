/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * ram-place.h (private to migration/): how a received page gets into
 * guest RAM on the destination.
 *
 * The loaders (ram-load.c today) parse records and find the target page;
 * a placer writes it.  Placers:
 *
 *   copy (ram-place.c): precopy.  Page data is copied from the stream's
 *       buffer with non-temporal stores (memcpy_nt), or read straight
 *       into guest RAM when the buffer cannot hold it; a zero page is
 *       written only when the target is not already zero, so untouched
 *       anonymous memory stays unallocated.  sync is the store fence.
 *
 *   postcopy (ram-place-postcopy.c, installed at POSTCOPY_LISTEN):
 *       place_page reads the page into a private buffer and installs it
 *       atomically with UFFDIO_COPY (waking the faulting vCPU);
 *       place_fill with fill 0 uses UFFDIO_ZEROPAGE.  Guest RAM is never
 *       written directly while it is registered with userfaultfd.
 *
 * To slot in later, its own constructor and ops table:
 *
 *   postcopy: place_page reads the page into a private buffer and
 *       installs it atomically with UFFDIO_COPY (waking the faulting
 *       vCPU); place_fill with fill 0 uses UFFDIO_ZEROPAGE.  Guest RAM
 *       must never be written directly while it is registered with
 *       userfaultfd.
 *   multifd receive (multifd-recv.c): each receiver thread has its own
 *       placer; when it is direct the thread reads (or decompresses) a
 *       packet's pages straight into guest RAM, else into a buffer whose
 *       pages it hands to place_buf.
 *
 * Threads: a placer is used by one loading thread at a time; sync makes
 * what that thread placed visible to every other thread.
 */
#ifndef MIGRATION_RAM_PLACE_H
#define MIGRATION_RAM_PLACE_H

#include "qemu/osdep.h"
#include "migration/qemu-file.h"
#include "sysemu/ramblock.h"

typedef struct RAMPlacer RAMPlacer;

typedef struct RAMPlaceOps {
    const char *name;
    /*
     * Consume the next TARGET_PAGE_SIZE bytes of f and make them the
     * content of the page at host (inside rb).  Returns 0, or negative
     * errno when placing failed; an error of f itself is left in f for
     * the caller's next check.  Blocks reading f.
     */
    int (*place_page)(RAMPlacer *pl, QEMUFile *f, RAMBlock *rb, uint8_t *host);
    /*
     * Make the TARGET_PAGE_SIZE bytes at buf (already in memory) the
     * content of the page at host (inside rb).
     */
    int (*place_buf)(RAMPlacer *pl, RAMBlock *rb, uint8_t *host,
                     const uint8_t *buf);
    /* Make every byte of the page at host (inside rb) equal fill. */
    int (*place_fill)(RAMPlacer *pl, RAMBlock *rb, uint8_t *host, uint8_t fill);
    /*
     * Make the pages placed so far visible to other threads (end of a
     * section, and whatever path ends the load).
     */
    void (*sync)(RAMPlacer *pl);
    /* Free the placer (after a final sync). */
    void (*free)(RAMPlacer *pl);
} RAMPlaceOps;

/* The base of every placer: embed first in the placer's own struct. */
struct RAMPlacer {
    const RAMPlaceOps *ops;
    /*
     * Guest RAM may be written directly by the placer's thread (then
     * ordered by sync); false when every write must go through the ops
     * (postcopy's atomic placement).
     */
    bool direct;
};

/* A precopy copy placer; caller owns it (ram_placer_free()). */
RAMPlacer *ram_placer_copy_new(void);

/* Free pl through its ops (NULL is fine). */
void ram_placer_free(RAMPlacer *pl);

#endif /* MIGRATION_RAM_PLACE_H */
