/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * switchover.c: measurement periods and the switch-over estimate (see
 * switchover.h).
 *
 * Bandwidth: one 100 ms period is a noisy sample on a shared machine (a
 * period that happened to get both cores measures far more than the
 * link sustains, and switching over on it overshot downtime-limit:
 * 458 ms for a 300 ms limit).  So the estimate is the smaller of an
 * EWMA over the recent periods and the last period: a burst is damped,
 * a drop is believed at once.  Periods that sent little (nothing was
 * dirty, so the link was idle) say nothing about the link and keep the
 * previous estimate (until there is one, the last period is all we
 * have).  Even smoothed, consecutive periods differ by 10-15% on a
 * loaded 2-core box, and the final pass ran 15-25% slower than the
 * periods before it (1 GiB RAM-only, 300 ms limit: 322 and 340 ms with
 * the plain estimate, up to 332 ms with 80% of it), so only
 * MIGRATION_BW_SAFETY of it is counted; with a single sample (the first
 * period, ramp-up included) only MIGRATION_BW_FIRST_SAFETY.
 *
 * Fixed cost: the switch-over also stops the vCPUs, syncs the dirty log
 * once more, saves the device state and waits for the return path,
 * whatever the RAM left.  It is estimated as a constant plus the last
 * dirty-log sync's duration (the final sync costs about as much) and
 * taken off the budget, never below MIGRATION_BUDGET_MIN_DIV-th of the
 * limit so that a small limit still converges.
 */
#include "qemu/osdep.h"
#include "qemu/trace.h"
#include "migration/options.h"
#include "migration.h"
#include "migration-stats.h"
#include "ram.h"
#include "rate-limit.h"
#include "switchover.h"

#define MIGRATION_BW_EWMA_WEIGHT 0.25
#define MIGRATION_BW_MIN_SAMPLE (512 * KiB)
#define MIGRATION_BW_SAFETY 0.7
#define MIGRATION_BW_FIRST_SAFETY 0.5
#define MIGRATION_SWITCHOVER_BASE_MS 10
#define MIGRATION_BUDGET_MIN_DIV 4
#define US_PER_MS 1000
#define MS_PER_SEC 1000.0
#define BITS_PER_BYTE 8.0
#define BITS_PER_MBIT 1e6

void migration_period_start(MigrationPeriod *p, int64_t now, uint64_t bytes)
{
    memset(p, 0, sizeof(*p));
    p->start_ms = now;
    p->start_bytes = bytes;
    p->start_pages = migration_stats_pages_sent();
}

bool migration_period_over(const MigrationPeriod *p, int64_t now)
{
    return now >= p->start_ms + MIGRATION_PERIOD_MS;
}

int64_t migration_period_left_ms(const MigrationPeriod *p, int64_t now)
{
    return MAX(p->start_ms + MIGRATION_PERIOD_MS - now, 0);
}

uint64_t migration_period_rate_limit(void)
{
    return migrate_max_bandwidth() / MIGRATION_PERIODS_PER_SEC;
}

int64_t migration_switchover_fixed_ms(void)
{
    return MIGRATION_SWITCHOVER_BASE_MS +
           (ram_last_sync_us() + US_PER_MS - 1) / US_PER_MS;
}

double migration_bandwidth_estimate(const MigrationPeriod *p)
{
    if (!p->samples) {
        return p->bw_raw;
    }
    return MIN(p->bw_ewma, p->bw_last) *
           (p->samples < 2 ? MIGRATION_BW_FIRST_SAFETY : MIGRATION_BW_SAFETY);
}

/* Downtime budget for RAM in ms: the limit minus the fixed cost. */
static int64_t migration_ram_budget_ms(void)
{
    int64_t limit = migrate_downtime_limit();

    return MAX(limit - migration_switchover_fixed_ms(),
               limit / MIGRATION_BUDGET_MIN_DIV);
}

/* Fold one period's bandwidth (bytes per ms) into the estimate. */
static void migration_period_sample(MigrationPeriod *p, uint64_t transferred,
                                    double bandwidth)
{
    p->bw_raw = bandwidth;
    if (transferred < MIGRATION_BW_MIN_SAMPLE) {
        return;
    }
    p->samples++;
    p->bw_last = bandwidth;
    if (p->bw_ewma == 0) {
        p->bw_ewma = bandwidth;
    } else {
        p->bw_ewma = p->bw_ewma * (1 - MIGRATION_BW_EWMA_WEIGHT) +
                     bandwidth * MIGRATION_BW_EWMA_WEIGHT;
    }
}

void migration_period_update(MigrationState *s, MigrationPeriod *p,
                             uint64_t bytes, int64_t now)
{
    uint64_t transferred = bytes - p->start_bytes;
    uint64_t pages = migration_stats_pages_sent() - p->start_pages;
    int64_t spent = MAX(now - p->start_ms, 1);
    double bandwidth = (double)transferred / spent; /* bytes per ms */
    double estimate;

    migration_period_sample(p, transferred, bandwidth);
    estimate = migration_bandwidth_estimate(p);
    g_mutex_lock(&s->lock);
    s->threshold_size = estimate * migration_ram_budget_ms();
    s->timing.mbps =
        transferred * BITS_PER_BYTE / (spent / MS_PER_SEC) / BITS_PER_MBIT;
    s->timing.pages_per_second = pages * MS_PER_SEC / spent;
    if (estimate > 0) {
        s->timing.expected_downtime =
            migration_stats_bytes_remaining() / estimate +
            migration_switchover_fixed_ms();
    }
    g_mutex_unlock(&s->lock);
    TRACE("migration_period",
          "bytes %" PRIu64 " ms %" PRId64 " bw %.0f est %.0f B/ms "
          "threshold %" PRIu64 " remaining %" PRIu64,
          transferred, spent, bandwidth, estimate, s->threshold_size,
          migration_stats_bytes_remaining());

    if (__atomic_exchange_n(&s->rate_limit_changed, false, __ATOMIC_ACQ_REL)) {
        migration_rate_set(migration_period_rate_limit());
    }
    migration_rate_reset();
    p->start_ms = now;
    p->start_bytes = bytes;
    p->start_pages = migration_stats_pages_sent();
}
