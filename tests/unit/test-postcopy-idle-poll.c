/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test-postcopy-idle-poll.c: the destination's idle pollers.  Proves:
 * they start asleep and stay asleep without a fault; each runs at
 * SCHED_IDLE held to a CPU of its own; the window after a fault grows
 * to twice a gap the pollers slept through (at most
 * POSTCOPY_IDLE_POLL_MAX_NS), stays for gaps within it and halves for
 * gaps above the maximum (at least POSTCOPY_IDLE_POLL_MIN_NS); a kick
 * makes them spin, and they go back to sleep once the window passed
 * without another (and then no longer spin); a kick while they spin
 * wakes nobody; stop ends them all and forgets their figures.  Waits have a
 * generous deadline only to fail instead of hang.
 */
#include "qemu/osdep.h"
#include <dirent.h>
#include <sched.h>
#include "../../migration/postcopy-blocktime.h"
#include "../../migration/postcopy-idle-poll.h"

static void get(PostcopyIdlePollStats *st)
{
    postcopy_idle_poll_get_stats(st);
}

/*
 * Wait (at most 30 s) until every running poller sleeps, having spun
 * if spun.
 */
static void wait_all_asleep(int pollers, bool spun)
{
    gint64 deadline = g_get_monotonic_time() + 30 * G_USEC_PER_SEC;
    PostcopyIdlePollStats st;

    for (get(&st); st.pollers < pollers || st.sleeping < st.pollers ||
                   (spun && !st.spun_ns);
         get(&st)) {
        g_assert_cmpint(g_get_monotonic_time(), <, deadline);
        g_usleep(1000);
    }
}

/* The threads of this process named name: their CPU masks and policies. */
static int poller_threads(const char *name, int *policy, cpu_set_t *cpus)
{
    DIR *d = opendir("/proc/self/task");
    struct dirent *e;
    int n = 0;

    g_assert_nonnull(d);
    while ((e = readdir(d))) {
        g_autofree char *path = NULL, *comm = NULL;
        pid_t tid = atoi(e->d_name);

        if (tid <= 0) {
            continue;
        }
        path = g_strdup_printf("/proc/self/task/%d/comm", tid);
        if (!g_file_get_contents(path, &comm, NULL, NULL)) {
            continue;
        }
        g_strchomp(comm);
        if (strcmp(comm, name)) {
            continue;
        }
        policy[n] = sched_getscheduler(tid);
        g_assert_cmpint(sched_getaffinity(tid, sizeof(cpus[n]), &cpus[n]), ==,
                        0);
        n++;
    }
    closedir(d);
    return n;
}

/*
 * Wait (at most 30 s) until no thread is named as a poller: a joined
 * thread's /proc entry may outlive the join for a moment.
 */
static void wait_no_pollers(int *policy, cpu_set_t *cpus)
{
    gint64 deadline = g_get_monotonic_time() + 30 * G_USEC_PER_SEC;

    while (poller_threads("mig/dst/poll", policy, cpus)) {
        g_assert_cmpint(g_get_monotonic_time(), <, deadline);
        g_usleep(1000);
    }
}

static void test_idle_poll(void)
{
    cpu_set_t allowed, cpus[2];
    int policy[2], want, n;
    unsigned int wakes;
    PostcopyIdlePollStats st;
    int64_t spun;

    g_assert_cmpint(sched_getaffinity(0, sizeof(allowed), &allowed), ==, 0);
    want = MIN(CPU_COUNT(&allowed), 2);

    postcopy_idle_poll_start(2);
    wait_all_asleep(want, false);

    /* asleep without a fault: nothing spun */
    g_usleep(50 * 1000);
    get(&st);
    g_assert_cmpint(st.sleeping, ==, want);
    g_assert_cmpint(st.spun_ns, ==, 0);

    /* each at SCHED_IDLE on a CPU of its own */
    n = poller_threads("mig/dst/poll", policy, cpus);
    g_assert_cmpint(n, ==, want);
    for (int i = 0; i < n; i++) {
        g_assert_cmpint(policy[i], ==, SCHED_IDLE);
        g_assert_cmpint(CPU_COUNT(&cpus[i]), ==, 1);
    }
    if (n == 2) {
        g_assert_false(CPU_EQUAL(&cpus[0], &cpus[1]));
    }

    /* the window, with kicks dated a second ago (nothing left to spin) */
    {
        int64_t t = postcopy_clock_ns() - G_USEC_PER_SEC * 1000;
        static const struct {
            int64_t gap_us, window_us;
        } steps[] = {
            {0, POSTCOPY_IDLE_POLL_MIN_NS / 1000},   /* first: the minimum */
            {200, POSTCOPY_IDLE_POLL_MIN_NS / 1000}, /* within: kept */
            {5000, 10000}, /* slept through, below the maximum: 2 x gap */
            {3000, 10000}, /* within: kept */
            {15000, POSTCOPY_IDLE_POLL_MAX_NS / 1000}, /* 2 x gap capped */
            {50000, POSTCOPY_IDLE_POLL_MAX_NS / 2000}, /* too sparse: halved */
            {50000, POSTCOPY_IDLE_POLL_MAX_NS / 4000},
            {50000, POSTCOPY_IDLE_POLL_MAX_NS / 8000},
            {50000, POSTCOPY_IDLE_POLL_MAX_NS / 16000},
            {50000, POSTCOPY_IDLE_POLL_MAX_NS / 32000},
            {50000, POSTCOPY_IDLE_POLL_MIN_NS / 1000}, /* not below the min */
        };

        for (size_t i = 0; i < G_N_ELEMENTS(steps); i++) {
            t += steps[i].gap_us * 1000;
            postcopy_idle_poll_kick(t);
            get(&st);
            g_assert_cmpint(st.window_ns, ==, steps[i].window_us * 1000);
        }
        g_assert_cmpint(t, <, postcopy_clock_ns() - POSTCOPY_IDLE_POLL_MAX_NS);
        wait_all_asleep(want, false);
    }
    spun = st.spun_ns; /* ~0: woken to find the window already past */

    /* a kick: they spin, a second kick meanwhile wakes nobody */
    get(&st);
    wakes = st.wakes;
    postcopy_idle_poll_kick(postcopy_clock_ns());
    get(&st);
    g_assert_cmpuint(st.wakes, ==, wakes + 1);
    postcopy_idle_poll_kick(postcopy_clock_ns());
    get(&st);
    g_assert_cmpuint(st.wakes, <=, wakes + 2); /* +2: one had not woken yet */

    /* back asleep once the window passed, having spun about that long */
    wait_all_asleep(want, false);
    for (get(&st); st.spun_ns == spun; get(&st)) {
        g_usleep(1000); /* the last one's spin is added as it ends */
    }
    wait_all_asleep(want, false);
    get(&st);
    g_assert_cmpint(st.spun_ns, >, spun);
    g_assert_cmpint(st.spun_ns, <,
                    spun + (int64_t)want * 10 * POSTCOPY_IDLE_POLL_MAX_NS);
    spun = st.spun_ns;
    g_usleep(50 * 1000);
    get(&st);
    g_assert_cmpint(st.spun_ns, ==, spun);

    /* stop: all gone */
    postcopy_idle_poll_stop();
    get(&st);
    g_assert_cmpint(st.pollers, ==, 0);
    g_assert_cmpint(st.spun_ns, ==, 0);
    wait_no_pollers(policy, cpus);

    /* a kick after stop does nothing; stop again is harmless */
    postcopy_idle_poll_kick(postcopy_clock_ns());
    postcopy_idle_poll_stop();
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/postcopy-idle-poll/kick-spin-sleep", test_idle_poll);
    return g_test_run();
}
