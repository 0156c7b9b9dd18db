/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test-thread.c: QemuSemaphore counts posts exactly and times out;
 * QemuEvent wakes every waiter and stays set until reset; qatomic_*
 * read-modify-writes are atomic across two threads; qemu_thread_set_nice
 * changes the calling thread's nice value and no other thread's, and
 * qemu_thread_set_idle and qemu_thread_set_realtime its scheduling
 * policy alone, qemu_thread_set_cpu its CPU mask alone (to one CPU;
 * refusing a negative one).
 */
#include "qemu/osdep.h"
#include <sched.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include "qemu/thread.h"
#include "qemu/atomic.h"

#define POSTS 10000

static gpointer poster(gpointer opaque)
{
    QemuSemaphore *sem = opaque;
    int i;

    for (i = 0; i < POSTS; i++) {
        qemu_sem_post(sem);
    }
    return NULL;
}

static void test_sem_counts_every_post(void)
{
    QemuSemaphore sem;
    GThread *t;
    int i;

    qemu_sem_init(&sem, 1);
    t = g_thread_new("poster", poster, &sem);
    for (i = 0; i < POSTS + 1; i++) {
        qemu_sem_wait(&sem);
    }
    g_thread_join(t);
    g_assert_cmpint(qemu_sem_timedwait(&sem, 0), ==, -1);
    qemu_sem_destroy(&sem);
}

static void test_sem_timedwait_times_out_then_succeeds(void)
{
    QemuSemaphore sem;
    gint64 t0;

    qemu_sem_init(&sem, 0);
    t0 = g_get_monotonic_time();
    g_assert_cmpint(qemu_sem_timedwait(&sem, 20), ==, -1);
    g_assert_cmpint(g_get_monotonic_time() - t0, >=, 19000);
    qemu_sem_post(&sem);
    g_assert_cmpint(qemu_sem_timedwait(&sem, 1000), ==, 0);
    qemu_sem_destroy(&sem);
}

typedef struct EventTest {
    QemuEvent ev;
    int woken;
} EventTest;

static gpointer event_waiter(gpointer opaque)
{
    EventTest *e = opaque;

    qemu_event_wait(&e->ev);
    qatomic_inc(&e->woken);
    return NULL;
}

static void test_event_wakes_all_waiters(void)
{
    EventTest e = {.woken = 0};
    GThread *t[3];
    int i;

    qemu_event_init(&e.ev, false);
    for (i = 0; i < 3; i++) {
        t[i] = g_thread_new("waiter", event_waiter, &e);
    }
    g_usleep(10000);
    g_assert_cmpint(qatomic_read(&e.woken), ==, 0);
    qemu_event_set(&e.ev);
    for (i = 0; i < 3; i++) {
        g_thread_join(t[i]);
    }
    g_assert_cmpint(e.woken, ==, 3);
    qemu_event_wait(&e.ev); /* still set: returns at once */
    qemu_event_reset(&e.ev);
    g_assert_false(e.ev.set);
    qemu_event_destroy(&e.ev);
}

static gpointer adder(gpointer opaque)
{
    long *counter = opaque;
    int i;

    for (i = 0; i < 100000; i++) {
        qatomic_inc(counter);
    }
    return NULL;
}

static void test_atomic_inc_two_threads(void)
{
    long counter = 0, old;
    GThread *t = g_thread_new("adder", adder, &counter);

    adder(&counter);
    g_thread_join(t);
    g_assert_cmpint(qatomic_read(&counter), ==, 200000);
    old = qatomic_cmpxchg(&counter, 200000, 5);
    g_assert_cmpint(old, ==, 200000);
    g_assert_cmpint(counter, ==, 5);
    old = qatomic_cmpxchg(&counter, 200000, 7);
    g_assert_cmpint(old, ==, 5);
    g_assert_cmpint(qatomic_xchg(&counter, 9), ==, 5);
    g_assert_cmpint(qatomic_fetch_add(&counter, 1), ==, 9);
    g_assert_cmpint(qatomic_add_fetch(&counter, 1), ==, 11);
}

/* The nice value of the calling thread (Linux: per thread). */
static int thread_nice(void)
{
    return getpriority(PRIO_PROCESS, syscall(SYS_gettid));
}

static gpointer nicer(gpointer opaque)
{
    int *after = opaque;

    /* raising the value (lower priority) is always permitted */
    g_assert_true(qemu_thread_set_nice(thread_nice() + 1));
    *after = thread_nice();
    return NULL;
}

static void test_set_nice_is_per_thread(void)
{
    int mine = thread_nice(), theirs = 0;

    g_thread_join(g_thread_new("nicer", nicer, &theirs));
    g_assert_cmpint(theirs, ==, MIN(mine + 1, 19));
    g_assert_cmpint(thread_nice(), ==, mine);
}

static gpointer idler(gpointer opaque)
{
    int *after = opaque;

    /* going to SCHED_IDLE is permitted without privileges */
    g_assert_true(qemu_thread_set_idle());
    *after = sched_getscheduler(0);
    return NULL;
}

static void test_set_idle_is_per_thread(void)
{
    int mine = sched_getscheduler(0), theirs = -1;

    g_thread_join(g_thread_new("idler", idler, &theirs));
    g_assert_cmpint(theirs, ==, SCHED_IDLE);
    g_assert_cmpint(sched_getscheduler(0), ==, mine);
}

static gpointer realtimer(gpointer opaque)
{
    int *after = opaque;

    /* needs privileges: when refused, nothing may have changed */
    if (qemu_thread_set_realtime(1)) {
        *after = sched_getscheduler(0) & ~SCHED_RESET_ON_FORK;
    } else {
        *after = -sched_getscheduler(0) - 1;
    }
    return NULL;
}

static void test_set_realtime_is_per_thread(void)
{
    int mine = sched_getscheduler(0), theirs = -1;

    g_thread_join(g_thread_new("realtimer", realtimer, &theirs));
    if (theirs < 0) {
        /* refused: the thread kept the policy it inherited */
        g_assert_cmpint(-theirs - 1, ==, mine);
    } else {
        g_assert_cmpint(theirs, ==, SCHED_FIFO);
    }
    g_assert_cmpint(sched_getscheduler(0), ==, mine);
}

/* The CPU set's members, in order, up to n of them into cpus. */
static int cpus_of(const cpu_set_t *set, int *cpus, int n)
{
    int k = 0;

    for (int c = 0; c < CPU_SETSIZE && k < n; c++) {
        if (CPU_ISSET(c, set)) {
            cpus[k++] = c;
        }
    }
    return k;
}

typedef struct Pinner {
    int cpu;     /* in: where to go */
    bool ok;     /* out: qemu_thread_set_cpu() */
    int on;      /* out: the one CPU of the mask after, -1 other */
    bool bad_ok; /* out: qemu_thread_set_cpu(-1) */
} Pinner;

static gpointer pinner(gpointer opaque)
{
    Pinner *p = opaque;
    cpu_set_t set;
    int cpus[2];

    p->bad_ok = qemu_thread_set_cpu(-1);
    p->ok = qemu_thread_set_cpu(p->cpu);
    g_assert_cmpint(sched_getaffinity(0, sizeof(set), &set), ==, 0);
    p->on = cpus_of(&set, cpus, 2) == 1 ? cpus[0] : -1;
    return NULL;
}

static void test_set_cpu_is_per_thread(void)
{
    cpu_set_t before, after;
    int cpus[2], n;
    Pinner p = {.on = -2};

    g_assert_cmpint(sched_getaffinity(0, sizeof(before), &before), ==, 0);
    n = cpus_of(&before, cpus, 2);
    g_assert_cmpint(n, >=, 1);
    p.cpu = cpus[n - 1]; /* the last allowed CPU, the first if only one */
    g_thread_join(g_thread_new("pinner", pinner, &p));
    g_assert_false(p.bad_ok);
    g_assert_true(p.ok);
    g_assert_cmpint(p.on, ==, p.cpu);
    /* the caller's own mask is untouched */
    g_assert_cmpint(sched_getaffinity(0, sizeof(after), &after), ==, 0);
    g_assert_true(CPU_EQUAL(&before, &after));
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/thread/sem/counts-every-post",
                    test_sem_counts_every_post);
    g_test_add_func("/thread/sem/timedwait-times-out-then-succeeds",
                    test_sem_timedwait_times_out_then_succeeds);
    g_test_add_func("/thread/event/wakes-all-waiters",
                    test_event_wakes_all_waiters);
    g_test_add_func("/thread/atomic/inc-two-threads",
                    test_atomic_inc_two_threads);
    g_test_add_func("/thread/nice/per-thread", test_set_nice_is_per_thread);
    g_test_add_func("/thread/idle/per-thread", test_set_idle_is_per_thread);
    g_test_add_func("/thread/realtime/per-thread",
                    test_set_realtime_is_per_thread);
    g_test_add_func("/thread/cpu/per-thread", test_set_cpu_is_per_thread);
    return g_test_run();
}
