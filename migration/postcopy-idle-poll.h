/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * postcopy-idle-poll.h (private to migration/): keep the destination's
 * CPUs out of the idle state while its guest is faulting in postcopy.
 *
 * A fault's wake-ups land on CPUs that are often idle at that moment:
 * the faulting vCPU sleeps in the kernel until its page is placed, so
 * its CPU goes idle, and UFFDIO_COPY then has to wake that CPU to run
 * the vCPU again.  On a virtual machine an idle CPU is halted in the
 * hypervisor, and waking it is an inter-processor interrupt the
 * hypervisor delivers by rescheduling that CPU's host thread: on the
 * 2-vCPU machines Tern is measured on that took 15 us at the median and
 * 100-300 us in about one wake-up in a hundred, all of it inside the
 * UFFDIO_COPY on the fault path (docs/benchmarks.md).  A CPU running
 * something is woken with a plain interrupt.
 *
 * So while faults come, one poller thread per CPU Tern may run on
 * (at most the vCPUs + 1: the vCPUs' and the fault path's) spins at
 * SCHED_IDLE: it runs only when nothing else wants the CPU, and yields it
 * at once to any wake-up.  After each fault the pollers spin for a
 * window, then sleep until the next fault.  The window adapts as the
 * hypervisor's halt polling does: a fault that came after the pollers
 * went to sleep, but less than POSTCOPY_IDLE_POLL_MAX_NS after the last,
 * grows it to twice that gap (the next one like it finds them spinning);
 * a fault more than POSTCOPY_IDLE_POLL_MAX_NS after the last halves it,
 * down to POSTCOPY_IDLE_POLL_MIN_NS.  So the pollers spin throughout
 * while faults come at least every POSTCOPY_IDLE_POLL_MAX_NS, and
 * hardly at all when they are rarer; a guest that stopped faulting (all
 * its pages in, or postcopy paused) costs nothing.  The host's other
 * work sees a busy CPU instead of an idle one meanwhile: the price of
 * the latency, as the hypervisor's own halt polling pays it.
 * Best effort: a poller that cannot be held to its CPU or go SCHED_IDLE
 * is not started.
 */
#ifndef MIGRATION_POSTCOPY_IDLE_POLL_H
#define MIGRATION_POSTCOPY_IDLE_POLL_H

#include "qemu/osdep.h"

/* Bounds of the window the pollers spin after a fault (ns). */
#define POSTCOPY_IDLE_POLL_MIN_NS (500 * 1000)
#define POSTCOPY_IDLE_POLL_MAX_NS (20 * 1000 * 1000)

/* What the pollers are doing (tests, the trace at the end). */
typedef struct PostcopyIdlePollStats {
    int pollers;        /* running: held to their CPU at SCHED_IDLE */
    int sleeping;       /* of those, waiting for a fault */
    int64_t spun_ns;    /* the time all of them spun so far */
    unsigned int wakes; /* kicks that had to wake sleeping pollers */
    int64_t window_ns;  /* the window after the last kick */
} PostcopyIdlePollStats;

/*
 * LISTEN (load thread): start at most max_pollers pollers, one on each
 * of the first CPUs the caller may run on, asleep until the first kick.
 */
void postcopy_idle_poll_start(int max_pollers);

/*
 * Fault thread, after each fault read at now_ns (postcopy_clock_ns())
 * was handled: adapt the window and poll for that long, waking sleeping
 * pollers.  Cheap when they are already spinning: a few stores and one
 * load.
 */
void postcopy_idle_poll_kick(int64_t now_ns);

/* A snapshot of the pollers' state (zeros when not started). */
void postcopy_idle_poll_get_stats(PostcopyIdlePollStats *st);

/*
 * End of postcopy, after the last kick (any thread but a poller): stop
 * and join the pollers.  Nothing happens when they were not started.
 */
void postcopy_idle_poll_stop(void);

#endif /* MIGRATION_POSTCOPY_IDLE_POLL_H */
