/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test-migration-shrink: the shrink-pass decision and the dirty-rate
 * estimate (migration/shrink.c).
 *
 * - Each condition alone makes the migration switch over: unknown rate,
 *   rate at half the bandwidth or more, little pending, no bandwidth, a
 *   pass that did not halve what was left, the pass cap.
 * - A modelled migration (pending after a pass = rate x pass time): with
 *   the guest under half the link the passes shrink the downtime below
 *   MIGRATION_SHRINK_MIN_MS (or stop at the cap) and add at most the
 *   downtime they save to the total time; at half the link or more no
 *   pass is made, which is QEMU's behaviour.
 * - The estimate: exact figures, the unknown cases, and a simulated
 *   bitmap (a sender clearing bits while a guest writes random pages):
 *   the estimate is within 10% of the pages the guest really wrote,
 *   where the raw count of newly dirty pages is far below it.
 */
#include "qemu/osdep.h"
#include "../../migration/shrink.h"

#define MB (1000.0 * 1000.0)

static void test_each_condition(void)
{
    MigrationShrink sh = {0};
    const double bw = 1.5 * MB; /* bytes per ms: 1.5 GB/s */

    /* the baseline goes on: 200 ms pending, guest at a fifth of the link */
    g_assert_true(migration_shrink_continue(&sh, 300 * MB, bw, bw / 5));
    g_assert_true(sh.active);
    g_assert_cmpuint(sh.passes, ==, 1);
    g_assert_cmpuint(sh.last_pending, ==, 300 * MB);

    memset(&sh, 0, sizeof(sh));
    g_assert_false(migration_shrink_continue(&sh, 300 * MB, bw, -1));
    g_assert_false(sh.active);
    g_assert_cmpuint(sh.passes, ==, 0);
    g_assert_false(migration_shrink_continue(&sh, 300 * MB, bw, bw / 2));
    g_assert_false(migration_shrink_continue(&sh, 300 * MB, bw, bw * 3));
    g_assert_false(migration_shrink_continue(
        &sh, (uint64_t)(bw * MIGRATION_SHRINK_MIN_MS), bw, 0));
    g_assert_false(migration_shrink_continue(&sh, 300 * MB, 0, 0));
    g_assert_cmpuint(sh.passes, ==, 0);

    /* a pass that did not halve what was left ends them */
    g_assert_true(migration_shrink_continue(&sh, 300 * MB, bw, 0));
    g_assert_false(migration_shrink_continue(&sh, 151 * MB, bw, 0));
    g_assert_false(sh.active);
    memset(&sh, 0, sizeof(sh));
    g_assert_true(migration_shrink_continue(&sh, 300 * MB, bw, 0));
    g_assert_true(migration_shrink_continue(&sh, 150 * MB, bw, 0));
    g_assert_cmpuint(sh.passes, ==, 2);

    /* the cap */
    memset(&sh, 0, sizeof(sh));
    for (unsigned i = 0; i < MIGRATION_SHRINK_MAX_PASSES; i++) {
        g_assert_true(
            migration_shrink_continue(&sh, (uint64_t)(1000 * MB) >> i, bw, 0));
    }
    g_assert_false(migration_shrink_continue(
        &sh, (uint64_t)(1000 * MB) >> MIGRATION_SHRINK_MAX_PASSES, bw, 0));
    g_assert_cmpuint(sh.passes, ==, MIGRATION_SHRINK_MAX_PASSES);
}

/*
 * Model: the check finds p0 pending; an extra pass sends it in p / bw ms
 * while the guest dirties rate bytes/ms, so the next check finds
 * rate * p / bw (never more than the RAM).  Returns the pending bytes at
 * switch-over; *extra_ms is the time the passes took beyond sending p0.
 */
static double model(double p0, double bw, double rate, double ram,
                    unsigned *passes, double *extra_ms)
{
    MigrationShrink sh = {0};
    double p = p0, spent = 0;

    while (migration_shrink_continue(&sh, (uint64_t)p, bw, rate)) {
        spent += p / bw;
        p = MIN(ram, rate * p / bw);
    }
    *passes = sh.passes;
    *extra_ms = spent + p / bw - p0 / bw;
    return p;
}

static void test_model(void)
{
    const double ram = 1024 * MB;
    GRand *rand = g_rand_new_with_seed(4);

    for (int i = 0; i < 2000; i++) {
        double bw = g_rand_double_range(rand, 0.01, 5) * MB;
        double frac = g_rand_double_range(rand, 0, 1);
        double rate = frac * bw;
        double p0 = g_rand_double_range(rand, 0.001, 1) * ram;
        unsigned passes;
        double extra_ms;
        double p = model(p0, bw, rate, ram, &passes, &extra_ms);

        if (frac >= 0.5 || p0 / bw <= MIGRATION_SHRINK_MIN_MS) {
            /* QEMU's rule: switch at once */
            g_assert_cmpuint(passes, ==, 0);
            g_assert_cmpfloat(p, ==, p0);
            continue;
        }
        g_assert_cmpuint(passes, >=, 1);
        g_assert_cmpfloat(p, <, p0);
        g_assert_true(p / bw <= MIGRATION_SHRINK_MIN_MS ||
                      passes == MIGRATION_SHRINK_MAX_PASSES);
        /* downtime saved (p0 - p) / bw; time added at most that */
        g_assert_cmpfloat(extra_ms, <=, (p0 - p) / bw + 1e-6);
    }
    g_rand_free(rand);
}

static void test_estimate_figures(void)
{
    /* 900 of 10000 still set at the merge: fill 0.09 */
    double want = 100 * 4096.0 / (1 - 0.09) / 10;

    g_assert_cmpfloat_with_epsilon(
        migration_dirty_rate_estimate(100, 1000, 10000, 10), want, want * 1e-9);
    /* nothing newly dirty: rate 0, known */
    g_assert_cmpfloat(migration_dirty_rate_estimate(0, 0, 10000, 10), ==, 0);
    /* unknown: nearly full bitmap, no pages, no time, inconsistent */
    g_assert_cmpfloat(migration_dirty_rate_estimate(10, 9500, 10000, 10), <, 0);
    g_assert_cmpfloat(migration_dirty_rate_estimate(10, 100, 0, 10), <, 0);
    g_assert_cmpfloat(migration_dirty_rate_estimate(10, 100, 1000, 0), <, 0);
    g_assert_cmpfloat(migration_dirty_rate_estimate(200, 100, 1000, 10), <, 0);
    g_assert_cmpfloat(migration_dirty_rate_estimate(10, 2000, 1000, 10), <, 0);
}

/*
 * A bitmap of pages with a share dirty after the last sync; between the
 * syncs a sender clears bits from the start while the guest writes
 * random pages (counted once each).  At the sync, "newly" is what the
 * guest set that was clear.
 */
static void test_estimate_simulated(void)
{
    const uint64_t pages = 200000;
    GRand *rand = g_rand_new_with_seed(7);
    static const double fills[] = {0.1, 0.3, 0.5, 0.7, 0.85};

    for (size_t c = 0; c < G_N_ELEMENTS(fills); c++) {
        g_autofree bool *bit = g_new0(bool, pages);
        g_autofree bool *written = g_new0(bool, pages);
        uint64_t newly = 0, dirty = 0, distinct = 0;
        uint64_t cursor = 0;
        const int steps = 20000, writes_per_step = 1, sends_per_step = 2;
        double est, truth;

        for (uint64_t p = 0; p < pages; p++) {
            bit[p] = g_rand_double(rand) < fills[c];
        }
        for (int s = 0; s < steps; s++) {
            for (int k = 0; k < sends_per_step; k++) {
                while (cursor < pages && !bit[cursor]) {
                    cursor++;
                }
                if (cursor < pages) {
                    bit[cursor++] = false;
                }
            }
            for (int k = 0; k < writes_per_step; k++) {
                uint64_t p = g_rand_int_range(rand, 0, pages);

                if (!written[p]) {
                    written[p] = true;
                    distinct++;
                }
            }
        }
        for (uint64_t p = 0; p < pages; p++) {
            if (written[p] && !bit[p]) {
                newly++;
                bit[p] = true;
            }
            dirty += bit[p];
        }
        est = migration_dirty_rate_estimate(newly, dirty, pages, 1.0) /
              TARGET_PAGE_SIZE;
        truth = distinct;
        if (g_test_verbose()) {
            g_test_message("fill %.2f: written %.0f newly %" PRIu64
                           " estimate %.0f",
                           fills[c], truth, newly, est);
        }
        g_assert_cmpfloat(est, >=, truth * 0.9);
        g_assert_cmpfloat(est, <=, truth * 1.1);
        if (fills[c] >= 0.5) {
            g_assert_cmpfloat(newly, <, truth * 0.8); /* raw count is low */
        }
    }
    g_rand_free(rand);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/migration/shrink/each-condition", test_each_condition);
    g_test_add_func("/migration/shrink/model", test_model);
    g_test_add_func("/migration/shrink/estimate-figures",
                    test_estimate_figures);
    g_test_add_func("/migration/shrink/estimate-simulated",
                    test_estimate_simulated);
    return g_test_run();
}
