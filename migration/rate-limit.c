/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * rate-limit.c: the migration-wide rate limiter (see rate-limit.h).
 */
#include "qemu/osdep.h"
#include "rate-limit.h"

static uint64_t rate_limit_max;  /* bytes per period, 0: none (atomic) */
static uint64_t rate_limit_used; /* bytes charged this period (atomic) */
static bool (*rate_urgent)(void);
static GMutex rate_wait_lock; /* protects rate_wait_kicked */
static GCond rate_wait_cond;
static bool rate_wait_kicked;

void migration_rate_set(uint64_t bytes_per_period)
{
    __atomic_store_n(&rate_limit_max, bytes_per_period, __ATOMIC_RELAXED);
}

uint64_t migration_rate_get(void)
{
    return __atomic_load_n(&rate_limit_max, __ATOMIC_RELAXED);
}

void migration_rate_account(uint64_t bytes)
{
    __atomic_fetch_add(&rate_limit_used, bytes, __ATOMIC_RELAXED);
}

bool migration_rate_exceeded(void)
{
    uint64_t max = migration_rate_get();

    return max && __atomic_load_n(&rate_limit_used, __ATOMIC_RELAXED) >= max &&
           !(rate_urgent && rate_urgent());
}

void migration_rate_set_urgent(bool (*pending)(void))
{
    rate_urgent = pending;
}

void migration_rate_reset(void)
{
    __atomic_store_n(&rate_limit_used, 0, __ATOMIC_RELAXED);
}

void migration_rate_wait(int64_t ms)
{
    gint64 end = g_get_monotonic_time() + ms * G_TIME_SPAN_MILLISECOND;

    g_mutex_lock(&rate_wait_lock);
    while (!rate_wait_kicked &&
           g_cond_wait_until(&rate_wait_cond, &rate_wait_lock, end)) {
        /* woken: kicked, or spuriously (the loop re-checks) */
    }
    rate_wait_kicked = false;
    g_mutex_unlock(&rate_wait_lock);
}

void migration_rate_kick(void)
{
    g_mutex_lock(&rate_wait_lock);
    rate_wait_kicked = true;
    g_cond_signal(&rate_wait_cond);
    g_mutex_unlock(&rate_wait_lock);
}
