/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * switchover.h (private to migration/): the measurement periods of an
 * outgoing migration and the estimate that decides when to switch over.
 *
 * The migration thread splits time into rate-limit periods of
 * MIGRATION_PERIOD_MS.  At the end of each it calls
 * migration_period_update(), which measures the bandwidth the period
 * achieved, keeps a smoothed estimate, derives how many bytes fit in the
 * downtime budget (MigrationState.threshold_size) and the rates
 * query-migrate shows, and starts a new rate-limit period.  Only the
 * migration thread touches a MigrationPeriod.
 */
#ifndef MIGRATION_SWITCHOVER_H
#define MIGRATION_SWITCHOVER_H

#include "qemu/osdep.h"
#include "migration.h"

/* Rate-limit and measurement period. */
#define MIGRATION_PERIOD_MS 100
/* Periods per second: max-bandwidth is divided by this per period. */
#define MIGRATION_PERIODS_PER_SEC (1000 / MIGRATION_PERIOD_MS)

typedef struct MigrationPeriod {
    int64_t start_ms;
    uint64_t start_bytes;
    uint64_t start_pages;
    double bw_ewma;   /* bytes per ms; 0: no sample yet */
    double bw_last;   /* last period with a sample */
    double bw_raw;    /* last period, sample or not */
    unsigned samples; /* periods that gave a sample */
} MigrationPeriod;

/* Start the first period at now with bytes already sent. */
void migration_period_start(MigrationPeriod *p, int64_t now, uint64_t bytes);

/* Has the period that started at p->start_ms ended at now? */
bool migration_period_over(const MigrationPeriod *p, int64_t now);

/* ms left in the current period at now (0 when it is over). */
int64_t migration_period_left_ms(const MigrationPeriod *p, int64_t now);

/*
 * End the current period at now, bytes being the migration's bytes sent
 * so far: update the bandwidth estimate and, under s->lock, the
 * threshold, mbps, pages-per-second and expected downtime; apply a
 * changed max-bandwidth and reset the rate limiter for the next period.
 * Migration thread.
 */
void migration_period_update(MigrationState *s, MigrationPeriod *p,
                             uint64_t bytes, int64_t now);

/* Bandwidth (bytes per ms) the switch-over decision assumes. */
double migration_bandwidth_estimate(const MigrationPeriod *p);

/* Estimated fixed cost of the switch-over in ms (vCPU stop, last sync...). */
int64_t migration_switchover_fixed_ms(void);

/* The rate limit per period that max-bandwidth asks for (bytes). */
uint64_t migration_period_rate_limit(void);

#endif /* MIGRATION_SWITCHOVER_H */
