/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * thread.h: the two synchronisation objects GLib lacks.
 *
 * Use GThread, GMutex, GRecMutex and GCond directly for everything else;
 * this is not a threading layer.
 *
 * QemuSemaphore: a counting semaphore (multifd channel hand-offs,
 * "thread is ready" signals).  QemuEvent: a manual-reset event that many
 * threads can wait on.  Both may be used from any thread; neither
 * allocates after init.  Plus the nice value of one thread
 * (qemu_thread_set_nice), which GLib cannot set either.
 */
#ifndef QEMU_THREAD_H
#define QEMU_THREAD_H

#include "qemu/osdep.h"

typedef struct QemuSemaphore {
    GMutex lock; /* protects count */
    GCond cond;  /* signalled when count goes up */
    unsigned int count;
} QemuSemaphore;

void qemu_sem_init(QemuSemaphore *sem, unsigned int init);
void qemu_sem_destroy(QemuSemaphore *sem);
/* Increment the count and wake one waiter.  Never blocks. */
void qemu_sem_post(QemuSemaphore *sem);
/* Block until the count is positive, then decrement it. */
void qemu_sem_wait(QemuSemaphore *sem);
/*
 * As qemu_sem_wait with a timeout in milliseconds (0: just try).
 * Returns 0 if decremented, -1 on timeout (QEMU's convention).
 */
int qemu_sem_timedwait(QemuSemaphore *sem, int ms);

typedef struct QemuEvent {
    GMutex lock; /* protects set */
    GCond cond;  /* broadcast on set */
    bool set;
} QemuEvent;

void qemu_event_init(QemuEvent *ev, bool init);
void qemu_event_destroy(QemuEvent *ev);
/* Set the event and wake all waiters.  Never blocks. */
void qemu_event_set(QemuEvent *ev);
void qemu_event_reset(QemuEvent *ev);
/* Block until the event is set (returns at once if it already is). */
void qemu_event_wait(QemuEvent *ev);

/*
 * Latency-critical threads (postcopy's fault path): the nice value of
 * the calling thread only, e.g. -10.  Best effort: false (and nothing
 * changed) when not permitted (no CAP_SYS_NICE, RLIMIT_NICE).
 */
#define QEMU_THREAD_NICE_FAULT_PATH (-10)
bool qemu_thread_set_nice(int nice);

/*
 * Latency-critical threads that sleep on I/O between short bursts of
 * work: the calling thread only goes to SCHED_FIFO at priority prio
 * (1..99; low values: above every normal thread, below most real-time
 * ones), not inherited across fork.  Best effort: false (and nothing
 * changed) when not permitted (no CAP_SYS_NICE, RLIMIT_RTPRIO).
 */
bool qemu_thread_set_realtime(int prio);

/*
 * Hold the calling thread to CPU cpu alone (sched_setaffinity; Linux
 * moves it there at once), e.g. to run a chain of wake-ups on the CPU
 * its data arrives on.  Threads it creates later inherit the mask.
 * false (nothing changed) when cpu is not one the thread may use.
 */
bool qemu_thread_set_cpu(int cpu);

/*
 * Background work that should only use CPU nothing else wants: the
 * calling thread only goes to SCHED_IDLE.  Best effort: false (and
 * nothing changed) when not permitted.
 */
bool qemu_thread_set_idle(void);

/*
 * Undo qemu_thread_set_idle() (or _realtime()): the calling thread only
 * goes back to SCHED_OTHER.  Best effort: false (and nothing changed)
 * when not permitted.
 */
bool qemu_thread_set_normal(void);

#endif /* QEMU_THREAD_H */
