/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * rate-limit.c: the migration-wide rate limiter (see rate-limit.h).
 */
#include "qemu/osdep.h"
#include "rate-limit.h"

static uint64_t rate_limit_max;  /* bytes per period, 0: none (atomic) */
static uint64_t rate_limit_used; /* bytes charged this period (atomic) */

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

    return max && __atomic_load_n(&rate_limit_used, __ATOMIC_RELAXED) >= max;
}

void migration_rate_reset(void)
{
    __atomic_store_n(&rate_limit_used, 0, __ATOMIC_RELAXED);
}
