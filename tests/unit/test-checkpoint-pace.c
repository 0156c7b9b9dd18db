/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test-checkpoint-pace: the checkpoint-assisted source's choice between
 * hashes and whole pages (migration/checkpoint-pace.c), on synthetic
 * links (times and byte counts given, no clock read):
 * - the start: a max-bandwidth well below half the hash speed hashes,
 *   none or a higher one sends whole until the link is measured;
 * - no decision before a window of CKPT_PACE_WINDOW_US has passed;
 * - a link measured slow for two windows in a row starts hashing, fast
 *   again (one window) stops it;
 * - near the mark the previous answer holds (hysteresis);
 * - a sender that waits for a processor counts the hashing as slower;
 * - the measured hash speed is a positive figure.
 */
#include "qemu/osdep.h"
#include "../../migration/checkpoint-pace.h"

#define MBPS (1000ull * 1000)

/* Feed link_bps for ms milliseconds in 1 ms steps; decisions changed. */
static unsigned int feed(CkptPace *p, int64_t *now, uint64_t link_bps, int ms)
{
    unsigned int changed = 0;

    for (int i = 0; i < ms; i++) {
        *now += 1000;
        changed += checkpoint_pace_update(p, *now, link_bps / 1000);
    }
    return changed;
}

static void test_start(void)
{
    CkptPace p;

    checkpoint_pace_init(&p, 1200 * MBPS, 100 * MBPS);
    g_assert_true(p.hashing);
    checkpoint_pace_init(&p, 1200 * MBPS, 0);
    g_assert_false(p.hashing);
    checkpoint_pace_init(&p, 1200 * MBPS, 1000 * MBPS);
    g_assert_false(p.hashing);
    /* 3 x 370 = 1110 is not 1/8 below 1200 */
    checkpoint_pace_init(&p, 1200 * MBPS, 370 * MBPS);
    g_assert_false(p.hashing);
}

static void test_window(void)
{
    CkptPace p;
    int64_t now = 1000000;

    checkpoint_pace_init(&p, 1200 * MBPS, 0);
    g_assert_false(checkpoint_pace_update(&p, now, 4096)); /* starts */
    g_assert_cmpuint(feed(&p, &now, 50 * MBPS, 99), ==, 0);
    g_assert_false(p.hashing);
    g_assert_cmpuint(p.link_bps, ==, 0);
    /* one slow window is not enough, two in a row are */
    g_assert_cmpuint(feed(&p, &now, 50 * MBPS, 1), ==, 0);
    g_assert_false(p.hashing);
    g_assert_cmpuint(p.link_bps, ==, 50 * MBPS);
    g_assert_cmpuint(feed(&p, &now, 2000 * MBPS, 100), ==, 0);
    g_assert_cmpuint(feed(&p, &now, 50 * MBPS, 100), ==, 0);
    g_assert_false(p.hashing);
    g_assert_cmpuint(feed(&p, &now, 50 * MBPS, 100), ==, 1);
    g_assert_true(p.hashing);
}

static void test_follow_link(void)
{
    CkptPace p;
    int64_t now = 1000000;

    checkpoint_pace_init(&p, 1200 * MBPS, 0);
    checkpoint_pace_update(&p, now, 0);
    /* a loopback faster than the hashing: whole, never switches */
    g_assert_cmpuint(feed(&p, &now, 2600 * MBPS, 1000), ==, 0);
    g_assert_false(p.hashing);
    /* the link slows (max-bandwidth set, congestion): hashes */
    g_assert_cmpuint(feed(&p, &now, 100 * MBPS, 300), ==, 1);
    g_assert_true(p.hashing);
    /* and fast again: whole */
    g_assert_cmpuint(feed(&p, &now, 900 * MBPS, 300), ==, 1);
    g_assert_false(p.hashing);
    g_assert_cmpuint(p.switches, ==, 2);
}

static void test_hysteresis(void)
{
    CkptPace p;
    int64_t now = 1000000;

    /* 3 x 380 = 1140 MB/s: at or below 1200 but not 1/8 below it */
    checkpoint_pace_init(&p, 1200 * MBPS, 0);
    checkpoint_pace_update(&p, now, 0);
    g_assert_cmpuint(feed(&p, &now, 380 * MBPS, 1000), ==, 0);
    g_assert_false(p.hashing);
    g_assert_cmpuint(feed(&p, &now, 300 * MBPS, 200), ==, 1);
    g_assert_true(p.hashing);
    g_assert_cmpuint(feed(&p, &now, 380 * MBPS, 1000), ==, 0);
    g_assert_true(p.hashing);
    g_assert_cmpuint(feed(&p, &now, 410 * MBPS, 100), ==, 1);
    g_assert_false(p.hashing);
}

static void test_cpu_share(void)
{
    CkptPace p;
    int64_t now = 1000000;

    /* the sender had a processor half the time it wanted one */
    checkpoint_pace_init(&p, 1200 * MBPS, 0);
    p.cpu_share = 500;
    checkpoint_pace_update(&p, now, 0);
    g_assert_cmpuint(feed(&p, &now, 300 * MBPS, 1000), ==, 0);
    g_assert_false(p.hashing);
    /* an idle host: the same link is worth hashing */
    p.cpu_share = 1000;
    g_assert_cmpuint(feed(&p, &now, 300 * MBPS, 200), ==, 1);
    g_assert_true(p.hashing);
}

static void test_hash_speed(void)
{
    g_assert_cmpuint(checkpoint_pace_hash_speed(), >, 0);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/checkpoint/pace/start", test_start);
    g_test_add_func("/checkpoint/pace/window", test_window);
    g_test_add_func("/checkpoint/pace/follow-link", test_follow_link);
    g_test_add_func("/checkpoint/pace/hysteresis", test_hysteresis);
    g_test_add_func("/checkpoint/pace/cpu-share", test_cpu_share);
    g_test_add_func("/checkpoint/pace/hash-speed", test_hash_speed);
    return g_test_run();
}
