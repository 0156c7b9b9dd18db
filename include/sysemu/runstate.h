/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * runstate.h: the VM's run state (QEMU's names), the big lock, and
 * starting/stopping the vCPUs.
 *
 * The big lock ("BQL") protects the run state, the device models and the
 * monitor.  The main loop thread holds it while dispatching monitor
 * commands; the migration thread takes it around vm_stop()/vm_start() and
 * device-state save/load.  vCPU threads take it only to touch devices.
 */
#ifndef SYSEMU_RUNSTATE_H
#define SYSEMU_RUNSTATE_H

#include "qemu/osdep.h"
#include "qapi/error.h"

typedef enum RunState {
    RUN_STATE_DEBUG,
    RUN_STATE_INMIGRATE,
    RUN_STATE_INTERNAL_ERROR,
    RUN_STATE_IO_ERROR,
    RUN_STATE_PAUSED,
    RUN_STATE_POSTMIGRATE,
    RUN_STATE_PRELAUNCH,
    RUN_STATE_FINISH_MIGRATE,
    RUN_STATE_RESTORE_VM,
    RUN_STATE_RUNNING,
    RUN_STATE_SAVE_VM,
    RUN_STATE_SHUTDOWN,
    RUN_STATE_SUSPENDED,
    RUN_STATE_WATCHDOG,
    RUN_STATE_GUEST_PANICKED,
    RUN_STATE_COLO,
    RUN_STATE__MAX,
} RunState;

/* "running", "paused", ... */
const char *runstate_name(RunState state);
/* Parse a name; false if unknown. */
bool runstate_parse(const char *name, RunState *state);
RunState runstate_get(void);
void runstate_set(RunState state);
bool runstate_is_running(void);

/* The big lock. */
void bql_lock(void);
void bql_unlock(void);
bool bql_locked(void);

/*
 * Stop the vCPUs (they are out of guest code when this returns), set
 * state, emit STOP if the VM was running.  Caller holds the BQL.  0 or
 * negative errno.
 */
int vm_stop(RunState state);
/* Set state without touching vCPUs (they must already be stopped). */
void vm_stop_force_state(RunState state);
/* Resume the vCPUs, state running, emit RESUME.  Caller holds the BQL. */
int vm_start(void);

typedef void VMChangeStateHandler(void *opaque, bool running, RunState state);
/* Called (BQL held) on every running <-> stopped change. */
void qemu_add_vm_change_state_handler(VMChangeStateHandler *cb, void *opaque);
/*
 * Call every change-state handler, in registration order for running,
 * reverse order for stopping (vm_start/vm_stop do this).  BQL held.
 */
void vm_state_notify(bool running, RunState state);

/*
 * Ask the main loop to shut the VM down and exit with status exit_code
 * (guest debug-exit, quit command, fatal error).  Any thread.
 */
void qemu_system_shutdown_request(int exit_code);
/*
 * As qemu_system_shutdown_request, with the SHUTDOWN event's "reason"
 * ("host-qmp-quit", "host-signal", "guest-shutdown", ...) and "guest".
 * The first request wins.  Any thread.
 */
void qemu_system_shutdown_request_reason(int exit_code, const char *reason,
                                         bool guest);

/*
 * -no-shutdown: with fn set, a guest-initiated shutdown request calls fn
 * on the main thread (BQL held) instead of ending the process; host
 * requests (quit, signals) still end it.  Set at start-up.
 */
void runstate_set_guest_shutdown_handler(void (*fn)(void));

/*
 * The machine type's name ("none", "pc-lite"), sent in and checked
 * against a migration stream's CONFIGURATION record.  The front end
 * registers where it comes from at start-up (the machine lives in hw/,
 * which migration/ does not include); NULL until then.  Any thread.
 */
typedef const char *MachineTypeNameFn(void);
void qemu_register_machine_type_name(MachineTypeNameFn *fn);
const char *qemu_machine_type_name(void);

/*
 * vCPU throttling for auto-converge: the vCPUs sleep pct% of the time.
 * 0 stops throttling.  Any thread.
 */
void cpu_throttle_set(int pct);
void cpu_throttle_stop(void);
int cpu_throttle_get_percentage(void);
bool cpu_throttle_active(void);

#endif /* SYSEMU_RUNSTATE_H */
