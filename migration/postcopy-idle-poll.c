/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * postcopy-idle-poll.c: keep the destination's CPUs out of the idle
 * state while its guest is faulting in postcopy (see
 * postcopy-idle-poll.h).
 */
#include "qemu/osdep.h"
#include <sched.h>
#include "qemu/thread.h"
#include "qemu/trace.h"
#include "postcopy-blocktime.h"
#include "postcopy-idle-poll.h"

/* Empty iterations between two looks at the clock while spinning. */
#define POSTCOPY_IDLE_POLL_SPIN_CHECK 64

typedef struct PostcopyIdlePoll {
    GThread **threads;
    int n;            /* threads started */
    int running;      /* of those, held to their CPU at SCHED_IDLE; atomic */
    int64_t until_ns; /* spin until then (postcopy_clock_ns); atomic */
    int sleeping;     /* pollers waiting on cond; atomic */
    bool quit;        /* atomic */
    GMutex lock;      /* with cond: a poller's sleep, the kick's wake */
    GCond cond;
    int64_t spun_ns;      /* all pollers' spinning; atomic */
    unsigned int wakes;   /* atomic */
    int64_t window_ns;    /* the kick's: fault thread, atomic for stats */
    int64_t last_kick_ns; /* fault thread only; 0: none yet */
} PostcopyIdlePoll;

static PostcopyIdlePoll pip;

static bool postcopy_idle_poll_due(void)
{
    return postcopy_clock_ns() <
           __atomic_load_n(&pip.until_ns, __ATOMIC_SEQ_CST);
}

/* Spin while the deadline is ahead; the time spun. */
static int64_t postcopy_idle_poll_spin(void)
{
    int64_t start = postcopy_clock_ns(), now = start;

    while (!__atomic_load_n(&pip.quit, __ATOMIC_RELAXED)) {
        /* no PAUSE: a hypervisor may take a pause loop for a lock holder's
         * waiter and deschedule the CPU, the opposite of the point */
        for (int i = 0; i < POSTCOPY_IDLE_POLL_SPIN_CHECK; i++) {
            __atomic_signal_fence(__ATOMIC_SEQ_CST);
        }
        now = postcopy_clock_ns();
        if (now >= __atomic_load_n(&pip.until_ns, __ATOMIC_RELAXED)) {
            break;
        }
    }
    return now - start;
}

static gpointer postcopy_idle_poll_thread(gpointer opaque)
{
    int cpu = GPOINTER_TO_INT(opaque);

    if (!qemu_thread_set_cpu(cpu) || !qemu_thread_set_idle()) {
        TRACE("postcopy_idle_poll", "CPU %d: cannot hold it at SCHED_IDLE",
              cpu);
        return NULL;
    }
    __atomic_add_fetch(&pip.running, 1, __ATOMIC_RELAXED);
    g_mutex_lock(&pip.lock);
    while (!__atomic_load_n(&pip.quit, __ATOMIC_RELAXED)) {
        if (postcopy_idle_poll_due()) {
            g_mutex_unlock(&pip.lock);
            __atomic_add_fetch(&pip.spun_ns, postcopy_idle_poll_spin(),
                               __ATOMIC_RELAXED);
            g_mutex_lock(&pip.lock);
            continue;
        }
        /* the kick stores until_ns, then loads sleeping: one sees the other */
        __atomic_add_fetch(&pip.sleeping, 1, __ATOMIC_SEQ_CST);
        if (!postcopy_idle_poll_due()) {
            g_cond_wait(&pip.cond, &pip.lock);
        }
        __atomic_sub_fetch(&pip.sleeping, 1, __ATOMIC_SEQ_CST);
    }
    g_mutex_unlock(&pip.lock);
    return NULL;
}

void postcopy_idle_poll_start(int max_pollers)
{
    cpu_set_t allowed;

    if (pip.threads || max_pollers <= 0 ||
        sched_getaffinity(0, sizeof(allowed), &allowed) < 0) {
        return;
    }
    /* the rest as stop (or the start of the process) left it */
    pip.window_ns = POSTCOPY_IDLE_POLL_MIN_NS;
    pip.threads = g_new0(GThread *, max_pollers);
    for (int cpu = 0; cpu < CPU_SETSIZE && pip.n < max_pollers; cpu++) {
        if (CPU_ISSET(cpu, &allowed)) {
            pip.threads[pip.n++] =
                g_thread_new("mig/dst/poll", postcopy_idle_poll_thread,
                             GINT_TO_POINTER(cpu));
        }
    }
}

/* The window after a fault gap_ns after the last (see the header). */
static int64_t postcopy_idle_poll_adapt(int64_t window, int64_t gap_ns)
{
    if (gap_ns > POSTCOPY_IDLE_POLL_MAX_NS) {
        return MAX(window / 2, POSTCOPY_IDLE_POLL_MIN_NS);
    }
    if (gap_ns > window) {
        return MIN(2 * gap_ns, POSTCOPY_IDLE_POLL_MAX_NS);
    }
    return window;
}

void postcopy_idle_poll_kick(int64_t now_ns)
{
    int64_t window = pip.window_ns;

    if (!__atomic_load_n(&pip.running, __ATOMIC_RELAXED)) {
        return;
    }
    if (pip.last_kick_ns) {
        window = postcopy_idle_poll_adapt(window, now_ns - pip.last_kick_ns);
        __atomic_store_n(&pip.window_ns, window, __ATOMIC_RELAXED);
    }
    pip.last_kick_ns = now_ns;
    __atomic_store_n(&pip.until_ns, now_ns + window, __ATOMIC_SEQ_CST);
    if (__atomic_load_n(&pip.sleeping, __ATOMIC_SEQ_CST)) {
        g_mutex_lock(&pip.lock);
        g_cond_broadcast(&pip.cond);
        g_mutex_unlock(&pip.lock);
        __atomic_add_fetch(&pip.wakes, 1, __ATOMIC_RELAXED);
    }
}

void postcopy_idle_poll_get_stats(PostcopyIdlePollStats *st)
{
    st->pollers = __atomic_load_n(&pip.running, __ATOMIC_RELAXED);
    st->sleeping = __atomic_load_n(&pip.sleeping, __ATOMIC_RELAXED);
    st->spun_ns = __atomic_load_n(&pip.spun_ns, __ATOMIC_RELAXED);
    st->wakes = __atomic_load_n(&pip.wakes, __ATOMIC_RELAXED);
    st->window_ns = __atomic_load_n(&pip.window_ns, __ATOMIC_RELAXED);
}

void postcopy_idle_poll_stop(void)
{
    PostcopyIdlePollStats st;

    if (!pip.threads) {
        return;
    }
    g_mutex_lock(&pip.lock);
    __atomic_store_n(&pip.quit, true, __ATOMIC_RELAXED);
    g_cond_broadcast(&pip.cond);
    g_mutex_unlock(&pip.lock);
    for (int i = 0; i < pip.n; i++) {
        g_thread_join(pip.threads[i]);
    }
    postcopy_idle_poll_get_stats(&st);
    TRACE("postcopy_idle_poll", "%d pollers spun %.1f ms, woken by %u faults",
          st.pollers, st.spun_ns / 1e6, st.wakes);
    /* back to the state start expects; the pollers are gone */
    g_free(pip.threads);
    pip.threads = NULL;
    pip.n = 0;
    pip.running = 0;
    pip.until_ns = 0;
    pip.quit = false;
    pip.spun_ns = 0;
    pip.wakes = 0;
    pip.window_ns = 0;
    pip.last_kick_ns = 0;
}
