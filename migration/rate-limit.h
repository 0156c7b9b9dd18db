/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * rate-limit.h (private to migration/): the one rate limiter of an
 * outgoing migration (max-bandwidth).  Every channel of the migration
 * charges the bytes it sends to it, so the limit holds for their sum.
 *
 * The budget is per period: the migration thread resets it at the start
 * of each period (migration.c, 100 ms); senders check
 * migration_rate_exceeded() between pages and wait for the next period
 * when it says true.  All functions are lock-free (relaxed atomics) and
 * may be called from any thread.
 */
#ifndef MIGRATION_RATE_LIMIT_H
#define MIGRATION_RATE_LIMIT_H

#include "qemu/osdep.h"

/* Allow bytes per period from now on; 0 means no limit. */
void migration_rate_set(uint64_t bytes_per_period);

/* The bytes allowed per period (0: no limit). */
uint64_t migration_rate_get(void);

/* Charge bytes sent on any channel to this period. */
void migration_rate_account(uint64_t bytes);

/*
 * True when a limit is set and this period's budget is spent, unless
 * urgent work is pending (see migration_rate_set_urgent()).
 */
bool migration_rate_exceeded(void);

/*
 * pending() says whether urgent work (postcopy page requests) waits:
 * it is not rate limited, every sender goes on while it says true.  NULL:
 * none.  Start-up, main thread; pending() is called from any sender.
 */
void migration_rate_set_urgent(bool (*pending)(void));

/* Start a new period with an unspent budget. */
void migration_rate_reset(void);

/*
 * The sender with a spent budget: sleep up to ms, or less if
 * migration_rate_kick() is called meanwhile (or was since the last
 * wait).  Migration thread.
 */
void migration_rate_wait(int64_t ms);

/*
 * Something urgent (a page request) was queued for the sender: end its
 * migration_rate_wait() now.  Any thread.
 */
void migration_rate_kick(void);

#endif /* MIGRATION_RATE_LIMIT_H */
