/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * cpu-throttle.c: the throttle thread that slows the vCPUs down for
 * auto-converge (see the model in sysemu/cpus.h).
 */
#include "qemu/osdep.h"
#include "sysemu/accel.h"
#include "sysemu/cpus.h"
#include "sysemu/runstate.h"

#define CPU_THROTTLE_PCT_MIN 1
#define CPU_THROTTLE_PCT_MAX 99
#define CPU_THROTTLE_TIMESLICE_US 10000

/*
 * throttle_lock protects throttle_thread and the two conditions' waits;
 * throttle_pct, throttle_pending and throttle_wake_gen are atomics read
 * without it by the vCPU threads.
 */
static GMutex throttle_lock;
static GCond throttle_cond;       /* throttle thread: pct changed */
static GCond throttle_sleep_cond; /* vCPU sleepers: wake up early */
static GThread *throttle_thread;
static gint throttle_pct;
static gint throttle_pending;
static guint throttle_wake_gen;

static gpointer cpu_throttle_thread_fn(gpointer opaque)
{
    g_mutex_lock(&throttle_lock);
    for (;;) {
        int pct = g_atomic_int_get(&throttle_pct);
        int64_t period_us;
        const AccelOps *ops;

        if (pct == 0) {
            break;
        }
        period_us = CPU_THROTTLE_TIMESLICE_US * 100 / (100 - pct);
        g_cond_wait_until(&throttle_cond, &throttle_lock,
                          g_get_monotonic_time() + period_us);
        if (g_atomic_int_get(&throttle_pct) == 0) {
            break;
        }
        g_atomic_int_set(&throttle_pending, 1);
        ops = accel_current();
        if (ops && ops->vcpus_kick && runstate_is_running()) {
            ops->vcpus_kick();
        }
    }
    throttle_thread = NULL;
    g_mutex_unlock(&throttle_lock);
    return NULL;
}

void cpu_throttle_set(int pct)
{
    GThread *old = NULL;

    pct = MAX(CPU_THROTTLE_PCT_MIN, MIN(pct, CPU_THROTTLE_PCT_MAX));
    g_mutex_lock(&throttle_lock);
    g_atomic_int_set(&throttle_pct, pct);
    if (!throttle_thread) {
        throttle_thread =
            g_thread_new("cpu-throttle", cpu_throttle_thread_fn, NULL);
        old = throttle_thread;
    }
    g_cond_broadcast(&throttle_cond);
    g_mutex_unlock(&throttle_lock);
    if (old) {
        g_thread_unref(old); /* detached: it clears throttle_thread */
    }
}

void cpu_throttle_stop(void)
{
    g_mutex_lock(&throttle_lock);
    g_atomic_int_set(&throttle_pct, 0);
    g_atomic_int_set(&throttle_pending, 0);
    g_cond_broadcast(&throttle_cond);
    g_mutex_unlock(&throttle_lock);
    cpu_throttle_wakeup();
}

int cpu_throttle_get_percentage(void)
{
    return g_atomic_int_get(&throttle_pct);
}

bool cpu_throttle_active(void)
{
    return cpu_throttle_get_percentage() > 0;
}

bool cpu_throttle_pending(void)
{
    return g_atomic_int_get(&throttle_pending) != 0;
}

void cpu_throttle_vcpu_sleep(void)
{
    int pct;
    int64_t deadline;
    guint gen;

    if (!g_atomic_int_compare_and_exchange(&throttle_pending, 1, 0)) {
        return;
    }
    pct = g_atomic_int_get(&throttle_pct);
    if (pct <= 0) {
        return;
    }
    deadline = g_get_monotonic_time() +
               (int64_t)CPU_THROTTLE_TIMESLICE_US * pct / (100 - pct);
    g_mutex_lock(&throttle_lock);
    gen = throttle_wake_gen;
    while (gen == throttle_wake_gen &&
           g_cond_wait_until(&throttle_sleep_cond, &throttle_lock, deadline)) {
        /* woken: recheck the generation (spurious wake-ups) */
    }
    g_mutex_unlock(&throttle_lock);
}

void cpu_throttle_wakeup(void)
{
    g_mutex_lock(&throttle_lock);
    throttle_wake_gen++;
    g_cond_broadcast(&throttle_sleep_cond);
    g_mutex_unlock(&throttle_lock);
}
