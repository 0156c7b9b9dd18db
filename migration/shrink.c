/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * shrink.c: shrink passes, Tern's refinement of the switch-over rule
 * (see shrink.h).
 *
 * downtime-limit is the most downtime the user accepts.  QEMU stops the
 * guest at the first check where the pending RAM fits in it, so with a
 * fast link and a 300 ms limit it stops with up to 300 ms of pages left,
 * often mostly the rest of the first pass, which the guest has not
 * written again.  When the guest writes at less than half the rate the
 * link sends, sending the pending pages while it still runs leaves at
 * most half as many to send once it is stopped.  Each pass at least
 * halves what is left, so all of them add to the total time about the
 * downtime they save at most (P/2 + P/4 + ... of the P pending when they
 * start), and the pages they send had to be sent anyway.  So once the
 * pending RAM fits in the limit, the migration goes on sending (no
 * dirty-log sync until the pages pending are all sent) as long as
 *   - sending what is pending would take more than MIGRATION_SHRINK_MIN_MS,
 *   - the guest's dirty rate is known and under half the bandwidth,
 *   - the previous extra pass at least halved the pending bytes, and
 *   - fewer than MIGRATION_SHRINK_MAX_PASSES extra passes were made.
 * The limit is honoured as before: the caller only stops the guest at a
 * check where the pending RAM fits in it.
 */
#include "qemu/osdep.h"
#include "qemu/trace.h"
#include "shrink.h"

bool migration_shrink_continue(MigrationShrink *sh, uint64_t pending, double bw,
                               double rate)
{
    bool go = bw > 0 && pending / bw > MIGRATION_SHRINK_MIN_MS && rate >= 0 &&
              rate * 2 < bw && sh->passes < MIGRATION_SHRINK_MAX_PASSES &&
              (sh->passes == 0 || pending * 2 <= sh->last_pending);

    TRACE("migration_shrink",
          "pending %" PRIu64 " bw %.0f rate %.0f B/ms passes %u: %s", pending,
          bw, rate, sh->passes, go ? "one more pass" : "switch over");
    sh->active = go;
    if (go) {
        sh->passes++;
        sh->last_pending = pending;
    }
    return go;
}

/*
 * The sync merges the pages written since the previous one into the
 * bitmap; newly counts those whose bit was clear at that moment.  A page
 * written while its bit is still set (not sent yet) is not in it, and
 * for pages spread over the RAM the share lost is the share of the
 * bitmap still set at the merge, (dirty - newly) / pages, whenever they
 * were written.  So newly is scaled by the share that was clear.  A
 * nearly full bitmap (the start of the first pass) says nothing.
 */
double migration_dirty_rate_estimate(uint64_t newly, uint64_t dirty,
                                     uint64_t pages, double ms)
{
    double fill;

    if (!pages || ms <= 0 || newly > dirty || dirty > pages) {
        return -1;
    }
    fill = (double)(dirty - newly) / pages;
    if (fill >= MIGRATION_DIRTY_RATE_MAX_FILL) {
        return -1;
    }
    return newly * (double)TARGET_PAGE_SIZE / (1 - fill) / ms;
}
