/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Unit tests for the migration statistics object and the migration-wide
 * rate limiter: bytes charged from several threads add up, the limit
 * holds for their sum, and RAM bytes land in the phase's counter; a
 * queued page request lifts the limit while it waits; a
 * sender waiting for budget is ended by a kick (sent before or during the
 * wait) and otherwise by its timeout.
 */
#include "qemu/osdep.h"
#include "../../migration/migration-stats.h"
#include "../../migration/rate-limit.h"

static void test_rate_limit_single(void)
{
    migration_rate_set(0);
    migration_rate_reset();
    g_assert_false(migration_rate_exceeded()); /* 0 = unlimited */
    migration_rate_account(1 << 30);
    g_assert_false(migration_rate_exceeded());

    migration_rate_set(1000);
    g_assert_cmpuint(migration_rate_get(), ==, 1000);
    migration_rate_reset();
    migration_rate_account(999);
    g_assert_false(migration_rate_exceeded());
    migration_rate_account(1);
    g_assert_true(migration_rate_exceeded());
    migration_rate_reset();
    g_assert_false(migration_rate_exceeded());
    migration_rate_set(0);
}

#define THREADS 4
#define CHARGES 100000

static gpointer charge_thread(gpointer opaque)
{
    for (int i = 0; i < CHARGES; i++) {
        migration_stats_account_ram(3);
    }
    return NULL;
}

/* Channels on several threads charge one limiter and one set of counters. */
static void test_rate_limit_shared(void)
{
    GThread *t[THREADS];
    uint64_t total = (uint64_t)THREADS * CHARGES * 3;

    migration_stats_reset();
    migration_rate_set(total);
    migration_rate_reset();
    for (int i = 0; i < THREADS; i++) {
        t[i] = g_thread_new("charge", charge_thread, NULL);
    }
    for (int i = 0; i < THREADS; i++) {
        g_thread_join(t[i]);
    }
    g_assert_cmpuint(stat64_get(&mig_stats.transferred), ==, total);
    g_assert_cmpuint(stat64_get(&mig_stats.precopy_bytes), ==, total);
    g_assert_true(migration_rate_exceeded());
    migration_rate_set(total + 1);
    g_assert_false(migration_rate_exceeded());
    migration_rate_set(0);
}

static void test_stats_phases(void)
{
    migration_stats_reset();
    migration_stats_account_ram(10);
    migration_stats_set_phase(MIGRATION_PHASE_DOWNTIME);
    migration_stats_account_ram(20);
    migration_stats_set_phase(MIGRATION_PHASE_POSTCOPY);
    migration_stats_account_ram(40);
    g_assert_cmpuint(stat64_get(&mig_stats.precopy_bytes), ==, 10);
    g_assert_cmpuint(stat64_get(&mig_stats.downtime_bytes), ==, 20);
    g_assert_cmpuint(stat64_get(&mig_stats.postcopy_bytes), ==, 40);
    g_assert_cmpuint(stat64_get(&mig_stats.transferred), ==, 70);

    stat64_add(&mig_stats.zero_pages, 3);
    stat64_add(&mig_stats.normal_pages, 4);
    stat64_set(&mig_stats.remaining_pages, 5);
    g_assert_cmpuint(migration_stats_pages_sent(), ==, 7);
    g_assert_cmpuint(migration_stats_bytes_remaining(), ==,
                     5 * TARGET_PAGE_SIZE);
    migration_stats_reset();
    g_assert_cmpuint(stat64_get(&mig_stats.transferred), ==, 0);
    g_assert_cmpuint(stat64_get(&mig_stats.phase), ==, MIGRATION_PHASE_PRECOPY);
}

static bool urgent;

static bool urgent_pending(void)
{
    return urgent;
}

/* Urgent work pending: the spent budget does not stop senders. */
static void test_rate_limit_urgent(void)
{
    migration_rate_set(1000);
    migration_rate_reset();
    migration_rate_account(1000);
    g_assert_true(migration_rate_exceeded());
    migration_rate_set_urgent(urgent_pending);
    g_assert_true(migration_rate_exceeded()); /* nothing urgent */
    urgent = true;
    g_assert_false(migration_rate_exceeded());
    urgent = false;
    g_assert_true(migration_rate_exceeded());
    migration_rate_set_urgent(NULL);
    migration_rate_set(0);
}

static gpointer rate_waiter(gpointer opaque)
{
    migration_rate_wait(G_MAXINT); /* years: only a kick ends it */
    return opaque;
}

static void test_rate_wait_kick(void)
{
    GThread *t;

    migration_rate_wait(0); /* the timeout ends a wait nobody kicks */
    migration_rate_kick();  /* before: the next wait returns at once */
    migration_rate_wait(G_MAXINT);
    t = g_thread_new("waiter", rate_waiter, GINT_TO_POINTER(1));
    /* before or during its wait: the kick is kept until a wait takes it */
    migration_rate_kick();
    g_assert_true(g_thread_join(t) == GINT_TO_POINTER(1));
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/migration/rate-limit/single", test_rate_limit_single);
    g_test_add_func("/migration/rate-limit/shared", test_rate_limit_shared);
    g_test_add_func("/migration/stats/phases", test_stats_phases);
    g_test_add_func("/migration/rate-limit/wait-kick", test_rate_wait_kick);
    g_test_add_func("/migration/rate-limit/urgent", test_rate_limit_urgent);
    return g_test_run();
}
