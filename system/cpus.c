/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * cpus.c: run control: stopping and starting the VM's vCPUs around run
 * state changes (see sysemu/runstate.h and sysemu/cpus.h).
 */
#include "qemu/osdep.h"
#include <sys/prctl.h>
#include <sys/syscall.h>
#include "qapi/qmp/dispatch.h"
#include "sysemu/accel.h"
#include "sysemu/cpus.h"
#include "sysemu/runstate.h"

/* The vCPU thread's tid (one vCPU), written once by that thread. */
static gint vcpu_tid;
static GMutex vcpu_tid_lock;
static GCond vcpu_tid_cond;

void cpus_note_vcpu_thread(void)
{
    const AccelOps *ops = accel_current();
    g_autofree char *name = g_strdup_printf(
        "CPU 0/%s", ops && !strcmp(ops->name, "kvm") ? "KVM" : "soft");

    /* As QEMU's -name debug-threads=on (Tern names all its threads). */
    prctl(PR_SET_NAME, name);
    g_mutex_lock(&vcpu_tid_lock);
    g_atomic_int_set(&vcpu_tid, (gint)syscall(SYS_gettid));
    g_cond_broadcast(&vcpu_tid_cond);
    g_mutex_unlock(&vcpu_tid_lock);
}

void cpus_wait_vcpu_thread(void)
{
    gint64 deadline = g_get_monotonic_time() + 10 * G_TIME_SPAN_SECOND;

    g_mutex_lock(&vcpu_tid_lock);
    while (!g_atomic_int_get(&vcpu_tid) &&
           g_cond_wait_until(&vcpu_tid_cond, &vcpu_tid_lock, deadline)) {
    }
    g_mutex_unlock(&vcpu_tid_lock);
}

int cpus_vcpu_thread_id(void)
{
    return g_atomic_int_get(&vcpu_tid);
}

void vcpus_pause(void)
{
    const AccelOps *ops = accel_current();

    cpu_throttle_wakeup();
    if (ops && ops->vcpus_pause) {
        ops->vcpus_pause();
    }
}

void vcpus_resume(void)
{
    const AccelOps *ops = accel_current();

    if (ops && ops->vcpus_resume) {
        ops->vcpus_resume();
    }
}

int vm_stop(RunState state)
{
    if (!runstate_is_running()) {
        runstate_set(state);
        return 0;
    }
    vcpus_pause();
    runstate_set(state);
    vm_state_notify(false, state);
    qapi_event_send("STOP", NULL);
    return 0;
}

void vm_stop_force_state(RunState state)
{
    if (runstate_is_running()) {
        vm_stop(state);
    } else {
        runstate_set(state);
    }
}

int vm_start(void)
{
    if (runstate_is_running()) {
        return 0;
    }
    qapi_event_send("RESUME", NULL);
    runstate_set(RUN_STATE_RUNNING);
    vm_state_notify(true, RUN_STATE_RUNNING);
    vcpus_resume();
    return 0;
}
