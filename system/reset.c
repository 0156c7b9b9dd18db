/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * reset.c: system_reset (QMP and HMP): the machine and its vCPUs back to
 * power-on.
 */
#include "qemu/osdep.h"
#include "qapi/qmp/dispatch.h"
#include "monitor/monitor.h"
#include "hw/boards.h"
#include "sysemu/accel.h"
#include "sysemu/cpus.h"
#include "sysemu/runstate.h"
#include "machine-cmds.h"

/*
 * Reset as QEMU does: vCPUs paused, the machine and the vCPUs back to
 * power-on, RESET event, vCPUs resumed; a VM that was not running (e.g.
 * after a guest triple fault, internal-error) is left in prelaunch so
 * that cont starts it again.
 */
static bool machine_system_reset(Error **errp)
{
    MachineState *ms = current_machine();
    const AccelOps *ops = accel_current();
    RunState s = runstate_get();
    json_object *data;

    if (!ms) {
        error_setg(errp, "no machine to reset");
        return false;
    }
    if (s == RUN_STATE_INMIGRATE || s == RUN_STATE_FINISH_MIGRATE ||
        s == RUN_STATE_SAVE_VM) {
        error_setg(errp,
                   "system_reset is not possible while the VM "
                   "state is '%s'",
                   runstate_name(s));
        return false;
    }
    if (ms->has_vcpu && (!ops || !ops->vcpus_reset)) {
        error_setg(errp, "system_reset is not supported with -accel %s",
                   ops ? ops->name : "none");
        return false;
    }
    vcpus_pause();
    if ((ms->mc->reset && !ms->mc->reset(ms, errp)) ||
        (ms->has_vcpu && !ops->vcpus_reset(ms, errp))) {
        if (runstate_is_running()) {
            vcpus_resume();
        }
        return false;
    }
    data = json_object_new_object();
    json_object_object_add(data, "guest", json_object_new_boolean(false));
    json_object_object_add(data, "reason",
                           json_object_new_string("host-qmp-system-reset"));
    qapi_event_send("RESET", data);
    if (runstate_is_running()) {
        vcpus_resume();
    } else {
        runstate_set(RUN_STATE_PRELAUNCH);
    }
    return true;
}

static bool qmp_system_reset(json_object *args, json_object **ret, Error **errp)
{
    return machine_system_reset(errp);
}

static void hmp_system_reset(Monitor *mon, int argc, char **argv)
{
    Error *err = NULL;

    if (!machine_system_reset(&err)) {
        hmp_handle_error(mon, err);
    }
}

void system_reset_register_commands(void)
{
    qmp_register_command("system_reset", qmp_system_reset, 0);
    hmp_register_command("system_reset", "system_reset", "reset the system",
                         hmp_system_reset);
}
