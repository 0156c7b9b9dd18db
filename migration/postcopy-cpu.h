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
 * So the path's threads follow the data instead of staying where they
 * were: on the destination the fault thread and the preempt reader run
 * on the CPU the vCPU thread last ran on (re-read from /proc, ~10 us, at
 * most every POSTCOPY_CPU_CHECK_NS, after a fault's request went out);
 * on the source the return-path thread runs on the CPU that last took
 * the return path's incoming packets (SO_INCOMING_CPU: the NIC queue's,
 * or on loopback the sender's).  Each thread moves itself
 * (sched_setaffinity to that one CPU) once its part of a fault is done
 * (a move costs the stopper thread on the old CPU and a wake-up on the
 * new one: inside the path it was most of the slowest faults,
 * docs/benchmarks.md), only when the CPU changed, and only to a CPU it was
 * allowed before its first move (an operator's taskset or cpuset stays in
 * force).  Best effort: nothing happens where the information or the permission
 * is missing.  The threads are postcopy's own and end with it (the return-path
 * thread with the migration), so nobody is left held.
 *
 * Tern has one vCPU (cpus_vcpu_thread_id()).
 */
#ifndef MIGRATION_POSTCOPY_CPU_H
#define MIGRATION_POSTCOPY_CPU_H

#include "qemu/osdep.h"
#include "io/channel.h"

/* The longest the destination goes without re-reading the vCPU's CPU. */
#define POSTCOPY_CPU_CHECK_NS (5 * 1000 * 1000)

/* LISTEN (load thread): start watching the vCPU thread's CPU. */
void postcopy_cpu_start(void);

/* End of postcopy (load thread, after the path's threads are gone). */
void postcopy_cpu_end(void);

/*
 * Fault thread, on a fault read at now_ns: re-read the vCPU's CPU when
 * due, and move there.  *mine: the CPU the caller is held to, -1 none.
 */
void postcopy_cpu_note_fault(int64_t now_ns, int *mine);

/* Preempt reader, per page placed: move to the vCPU's CPU if it moved. */
void postcopy_cpu_follow_vcpu(int *mine);

/*
 * Source's return-path thread, per page request read from ioc and
 * served (a move is off the path only once the page went out): move to
 * the CPU that took ioc's last incoming packets if that changed.
 */
void postcopy_cpu_follow_socket(QIOChannel *ioc, int *mine);

#endif /* MIGRATION_POSTCOPY_CPU_H */
