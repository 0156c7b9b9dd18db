/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * shrink.h (private to migration/): the switch-over refinement Tern adds
 * to QEMU's rule ("shrink passes", see shrink.c), and the dirty-rate
 * estimate it relies on.  Pure functions of their inputs (plus a trace
 * point), called by the migration thread.
 */
#ifndef MIGRATION_SHRINK_H
#define MIGRATION_SHRINK_H

#include "qemu/osdep.h"

/* Below this many ms of pending RAM an extra pass is not worth it. */
#define MIGRATION_SHRINK_MIN_MS 2.0
/* At most this many extra passes per migration. */
#define MIGRATION_SHRINK_MAX_PASSES 8
/* Bitmap fill above which one sync cannot tell the dirty rate. */
#define MIGRATION_DIRTY_RATE_MAX_FILL 0.9

typedef struct MigrationShrink {
    bool active;           /* sending the pending set of the last check */
    unsigned passes;       /* extra passes started */
    uint64_t last_pending; /* pending bytes when the last one started */
} MigrationShrink;

/*
 * The pending RAM (bytes) fits in downtime-limit.  Returns true to go on
 * with one more pass instead of switching over, and records it in *sh
 * (sh->active says whether a pass is under way).  bw: bandwidth estimate
 * in bytes/ms; rate: the guest's dirty rate in bytes/ms, negative when
 * unknown.
 */
bool migration_shrink_continue(MigrationShrink *sh, uint64_t pending, double bw,
                               double rate);

/*
 * The guest's dirty rate in bytes/ms from one dirty-log sync, or -1 when
 * one sync cannot tell.  newly: pages that became dirty in the bitmap at
 * this sync; dirty: pages dirty right after it; pages: pages in all; ms:
 * time since the previous sync.
 */
double migration_dirty_rate_estimate(uint64_t newly, uint64_t dirty,
                                     uint64_t pages, double ms);

#endif /* MIGRATION_SHRINK_H */
