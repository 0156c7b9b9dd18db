/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * postcopy-cpu.h (private to migration/): keep a postcopy fault's path
 * on one CPU.
 *
 * A fault is served by a chain of wake-ups: the vCPU wakes the
 * destination's fault thread, whose request wakes the source's
 * return-path thread, whose page wakes the destination's preempt
 * reader, whose UFFDIO_COPY wakes the vCPU.  The path's threads run
 * SCHED_FIFO (postcopy_thread_prioritise()), and Linux wakes a
 * real-time thread on the CPU it last ran on, not on the waker's: each
 * hop whose two threads last ran on different CPUs costs an
 * inter-processor interrupt and a wake-up of the other CPU (on a 2-vCPU
 * nested VM, ~10 us more per hop at the median and most of the p99).
 *
 * So the three threads hold one CPU together for the whole of postcopy:
 * the fault thread stays on the CPU it starts on, the preempt reader
 * joins it, and the source's return-path thread runs on the CPU that
 * takes the return path's incoming packets (SO_INCOMING_CPU: the NIC
 * queue's, or on loopback the sender's, so the fault thread's).  The
 * vCPU is left to the scheduler: its two hops (its fault to the fault
 * thread, the page's placement to its wake-up) cross CPUs when it runs
 * elsewhere.  An earlier policy moved the path after the vCPU, which
 * the scheduler moves hundreds of times a second; each move
 * (sched_setaffinity: the stopper thread on the old CPU, a wake-up on
 * the new one) took 0.1-0.5 ms of a path thread, and faults that came
 * meanwhile waited for it (docs/benchmarks.md).
 *
 * A thread moves only to a CPU it was allowed before its first move (an
 * operator's taskset or cpuset stays in force), and only when the CPU
 * changed.  Best effort: nothing happens where the information or the
 * permission is missing.  The threads are postcopy's own and end with it
 * (the return-path thread with the migration), so nobody is left held.
 */
#ifndef MIGRATION_POSTCOPY_CPU_H
#define MIGRATION_POSTCOPY_CPU_H

#include "qemu/osdep.h"
#include "io/channel.h"

/*
 * LISTEN (load thread, before the path's threads start): no fault path
 * CPU yet (an earlier postcopy's is forgotten).
 */
void postcopy_cpu_start(void);

/*
 * Fault thread, before its first fault: stay on the CPU it runs on and
 * make that the fault path's CPU.  *mine: the CPU the caller is held
 * to, -1 none.
 */
void postcopy_cpu_hold_fault_path(int *mine);

/* Preempt reader, per page placed: join the fault path's CPU. */
void postcopy_cpu_join_fault_path(int *mine);

/*
 * Source's return-path thread, per page request read from ioc and
 * served (a move is off the path only once the page went out): move to
 * the CPU that took ioc's last incoming packets if that changed.
 */
void postcopy_cpu_follow_socket(QIOChannel *ioc, int *mine);

#endif /* MIGRATION_POSTCOPY_CPU_H */
