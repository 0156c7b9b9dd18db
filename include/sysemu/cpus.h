/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * cpus.h: vCPU control shared by the machine and the accelerators:
 * monitor commands for the machine (system/machine-cmds.c), pausing the
 * vCPUs (system/cpus.c), and the throttle the vCPU threads honour for
 * auto-converge (system/cpu-throttle.c).  vm_stop/vm_start and
 * cpu_throttle_set() are declared in sysemu/runstate.h.
 *
 * Throttling: while a percentage pct > 0 is set, a throttle thread wakes
 * every 10 ms / (1 - pct/100), marks a throttle slice pending and kicks the
 * vCPUs; each vCPU thread, when it sees the pending slice, sleeps
 * pct/(100 - pct) * 10 ms (so the vCPU runs (100 - pct)% of the time).
 */
#ifndef SYSEMU_CPUS_H
#define SYSEMU_CPUS_H

#include "qemu/osdep.h"

/*
 * Register the machine's monitor commands: QMP dump-guest-memory,
 * system_reset; HMP xp, dump-guest-memory, system_reset, info ramblock.
 * (stop/cont are the monitor's own, monitor/qmp-cmds.c.)  Main thread,
 * once at start-up.
 */
void machine_register_commands(void);

/*
 * The vCPU thread calls cpus_note_vcpu_thread() once it runs; its Linux
 * thread id is then what query-cpus-fast reports (0 before, or with no
 * vCPU).  Any thread.
 */
void cpus_note_vcpu_thread(void);
/*
 * Wait (at most 10 s) until the vCPU thread has noted itself, as QEMU
 * waits for its vCPU threads at start-up.  Main thread, after
 * vcpus_create.
 */
void cpus_wait_vcpu_thread(void);
int cpus_vcpu_thread_id(void);

/*
 * Pause the running accelerator's vCPUs (ending any throttle sleep) and
 * return once none runs guest code; resume them.  No run state change:
 * vm_stop()/vm_start() and system_reset use these.  Main thread.
 */
void vcpus_pause(void);
void vcpus_resume(void);

/*
 * vCPU thread: if a throttle slice is pending, sleep this vCPU's share
 * (returns early when cpu_throttle_wakeup() is called, e.g. to pause).
 * Cheap when nothing is pending: call it after every exit from guest code.
 */
void cpu_throttle_vcpu_sleep(void);
/* End any throttle sleep now (pause, exit).  Any thread. */
void cpu_throttle_wakeup(void);
/* Is a throttle slice pending (the vCPU should call the sleep)? */
bool cpu_throttle_pending(void);

#endif /* SYSEMU_CPUS_H */
