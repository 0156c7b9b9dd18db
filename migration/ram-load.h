/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * ram-load.h (private to migration/): the destination side of the "ram"
 * section: parse its records (ram-format.h) with QEMU 7.2's checks and
 * error texts and hand each page to a placer (ram-place.h).
 *
 * One RAMLoadState per incoming migration, created by the section's
 * load_setup and freed by its load_cleanup, both in the load thread,
 * which is the only thread that uses it.
 */
#ifndef MIGRATION_RAM_LOAD_H
#define MIGRATION_RAM_LOAD_H

#include "qemu/osdep.h"
#include "qapi/error.h"
#include "migration/qemu-file.h"
#include "sysemu/ramblock.h"

typedef struct RAMLoadState RAMLoadState;
typedef struct RAMPlacer RAMPlacer;

/*
 * State for one incoming migration: no "last block" yet, the copy
 * placer, a prefault helper thread started.  Caller owns it
 * (ram_load_state_free()).
 */
RAMLoadState *ram_load_state_new(void);

/*
 * At every EOS, after the section's own pages are placed, call sync
 * (multifd: wait for every channel's SYNC packet); its error fails the
 * section.  NULL: nothing to wait for.
 */
typedef int (*RAMLoadSyncFunc)(Error **errp);
void ram_load_state_set_sync(RAMLoadState *ls, RAMLoadSyncFunc sync);

/*
 * Accept COMPRESS_PAGE records (the compress capability), inflating
 * them on threads threads (ram-load-compress.h).  Without it they are
 * refused with QEMU 7.2's "Received an unexpected compressed page".
 */
void ram_load_state_set_compress(RAMLoadState *ls, int threads);

/*
 * Checkpoint-assisted records (Tern only, ram-format.h): without these
 * ops a HASH or CKPT_CTL record is an unknown flag combination.
 * control gets a CKPT_CTL record's argument (0 advise, n sync n);
 * load_page a HASH record's page (host inside rb at addr) and digest
 * (it may place the page later, on another thread, through the placer);
 * wait, at each EOS, returns once every such page is placed.  All return
 * 0 or negative errno with errp set.
 */
typedef struct RAMLoadCheckpointOps {
    int (*control)(uint64_t arg, Error **errp);
    int (*load_page)(RAMPlacer *pl, RAMBlock *rb, uint8_t *host, uint64_t addr,
                     const uint8_t *digest, Error **errp);
    int (*wait)(Error **errp); /* at each EOS: load_page's pages placed */
} RAMLoadCheckpointOps;
void ram_load_state_set_checkpoint(RAMLoadState *ls,
                                   const RAMLoadCheckpointOps *ops);

/*
 * The pages of rb placed so far in this load (a ZERO, PAGE, XBZRLE or
 * COMPRESS_PAGE record read whole), one bit per page, or NULL when none
 * was.  Valid until the next record is loaded.  Load thread.
 */
const unsigned long *ram_load_state_received(RAMLoadState *ls, RAMBlock *rb);

/*
 * Load one START/PART/END payload of version version_id from f, up to
 * and including its EOS.  Returns 0, or negative errno with errp set
 * (a peer's bad record is an error, never an assertion).  Blocks on f.
 */
int ram_load_section(RAMLoadState *ls, QEMUFile *f, int version_id,
                     Error **errp);

/*
 * After each entry of the START block list (name and length read and
 * matched to the local block rb), call fn (mapped-ram: the block's
 * header, bitmap and pages); its negative errno fails the section.
 */
typedef int (*RAMLoadBlockFunc)(void *opaque, QEMUFile *f, RAMBlock *rb,
                                Error **errp);
void ram_load_state_set_block_hook(RAMLoadState *ls, RAMLoadBlockFunc fn,
                                   void *opaque);

/*
 * mapped-ram (ram-load-mapped.c): the block list's per-block part.
 * ram_load_mapped_new: on f's seekable file (QEMU's "seekable
 * transport" text otherwise), with multifd-channels reader threads when
 * multifd is on.  ram_load_mapped_block: after rb's entry was read and
 * matched, read its header, bitmap and pages and move f past its region;
 * 0 or negative errno with errp set.
 */
typedef struct RAMLoadMapped RAMLoadMapped;
RAMLoadMapped *ram_load_mapped_new(QEMUFile *f, Error **errp);
int ram_load_mapped_block(void *lm, QEMUFile *f, RAMBlock *rb, Error **errp);
void ram_load_mapped_free(RAMLoadMapped *lm);

/* Stop the prefault helper (postcopy: guest RAM is about to be dropped). */
void ram_load_state_stop_prefault(RAMLoadState *ls);

/* Use pl from now on: the old placer is synced and freed. */
void ram_load_state_set_placer(RAMLoadState *ls, RAMPlacer *pl);

/*
 * End of the load, however it ended: make placed pages visible, stop the
 * prefault helper, free ls (NULL is fine).
 */
void ram_load_state_free(RAMLoadState *ls);

#endif /* MIGRATION_RAM_LOAD_H */
