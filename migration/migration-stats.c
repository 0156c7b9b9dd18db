/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * migration-stats.c: the outgoing migration's statistics object (see
 * migration-stats.h).
 */
#include "qemu/osdep.h"
#include "migration-stats.h"
#include "rate-limit.h"

MigrationStats mig_stats;

void migration_stats_reset(void)
{
    memset(&mig_stats, 0, sizeof(mig_stats));
}

void migration_stats_set_phase(MigrationPhase phase)
{
    stat64_set(&mig_stats.phase, phase);
}

void migration_stats_account_ram(uint64_t bytes)
{
    stat64_add(&mig_stats.transferred, bytes);
    switch (stat64_get(&mig_stats.phase)) {
    case MIGRATION_PHASE_DOWNTIME:
        stat64_add(&mig_stats.downtime_bytes, bytes);
        break;
    case MIGRATION_PHASE_POSTCOPY:
        stat64_add(&mig_stats.postcopy_bytes, bytes);
        break;
    default:
        stat64_add(&mig_stats.precopy_bytes, bytes);
        break;
    }
    migration_rate_account(bytes);
}

uint64_t migration_stats_pages_sent(void)
{
    return stat64_get(&mig_stats.zero_pages) +
           stat64_get(&mig_stats.normal_pages) +
           stat64_get(&mig_stats.xbzrle_pages) +
           stat64_get(&mig_stats.compressed_pages);
}

uint64_t migration_stats_bytes_remaining(void)
{
    return stat64_get(&mig_stats.remaining_pages) * TARGET_PAGE_SIZE;
}
