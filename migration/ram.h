/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * ram.h (private to migration/): the "ram" live section's hooks for
 * migration.c and the monitor commands.  Format: see ram-format.h; the
 * section's files: see ram.c.
 */
#ifndef MIGRATION_RAM_H
#define MIGRATION_RAM_H

#include "qemu/osdep.h"
#include "qapi/error.h"
#include "migration/qemu-file.h"

typedef struct RAMPlacer RAMPlacer;
typedef struct RAMBlock RAMBlock;

/* Register the "ram" live handler (once; main thread, before a migration). */
void ram_mig_init(void);
/*
 * Microseconds the last dirty-log sync of the outgoing migration took (0
 * before its first sync or when none is set up).  Migration thread.
 */
int64_t ram_last_sync_us(void);
/*
 * Bytes per ms the guest wrote between the last two dirty-log syncs
 * (pages still waiting to be sent included, see shrink.c); negative when
 * unknown (no outgoing migration set up, one sync so far, or a nearly full
 * bitmap).  Migration thread.
 */
double ram_dirty_rate(void);

/* ---- postcopy ---- */

/* OR of the page sizes of every RAM block (POSTCOPY_ADVISE). */
uint64_t ram_pagesize_summary(void);

/*
 * Source, guest stopped at the postcopy switch: sync the dirty log once
 * more and send every still-dirty range as POSTCOPY_RAM_DISCARD commands
 * on f.  Returns 0 or negative errno.  Migration thread.
 */
int ram_postcopy_send_discard(QEMUFile *f);

/*
 * Source, return-path thread or the preempt channel's request reader
 * (preempt): the destination asks for len bytes at start of the block
 * named rbname (NULL: the block of the previous request on the same
 * channel).  Sent at once on the preempt channel, or queued as urgent.
 * false with errp set on a bad request.
 */
bool ram_postcopy_request(const char *rbname, uint64_t start, uint64_t len,
                          bool preempt, Error **errp);

/*
 * Source, any thread: in postcopy, a page request is queued and not
 * served yet (the rate limiter lets it through: migration_rate_set_urgent).
 */
bool ram_postcopy_requests_pending(void);

/*
 * Source, return-path thread (checkpoint-assisted migration): the
 * destination could not use the HASH record of the page at offset of
 * the block named rbname: send that page again, whole, even if it is not
 * dirty.  false with errp set on a bad request.
 */
bool ram_checkpoint_resend(const char *rbname, uint64_t offset, Error **errp);

/* Register the return-path handlers of page requests.  Start-up. */
void ram_postcopy_rp_init(void);

/*
 * Source, postcopy or precopy recovery, the dirty bitmaps reloaded from
 * the destination's received bitmaps: start selecting over them on the
 * new stream f (requests dropped, block named again, the plain stream
 * sink).  Migration thread.
 */
void ram_resume_prepare(QEMUFile *f);

/*
 * Source, x-precopy-recover: the outgoing migration's pages sent and not
 * yet acknowledged (ram-unacked.h), or NULL.  Migration thread.
 */
typedef struct RAMUnacked RAMUnacked;
RAMUnacked *ram_unacked(void);

/*
 * Destination, precopy recovery: rb's received bitmap in its wire form
 * (recv-bitmap.h, *size bytes, caller frees): the pages this load
 * placed.  Load thread.
 */
uint8_t *ram_load_received_wire(RAMBlock *rb, uint64_t *size);

/*
 * Destination, load thread: stop helpers that touch guest RAM on their
 * own (the prefault thread) before it is discarded and registered.
 */
void ram_load_postcopy_prepare(void);

/* Destination, load thread: place pages with pl from now on (takes it). */
void ram_load_set_placer(RAMPlacer *pl);

#endif /* MIGRATION_RAM_H */
