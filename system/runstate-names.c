/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * runstate-names.c: the run-state names (QEMU's spellings, as QMP's
 * "status" field shows them).
 *
 * Kept apart from runstate.c so that test programs which stub the rest of
 * the run-state machinery link the one table instead of copying it.
 */
#include "qemu/osdep.h"
#include "sysemu/runstate.h"

/* Indexed by RunState. */
static const char *const runstate_names[RUN_STATE__MAX] = {
    [RUN_STATE_DEBUG] = "debug",
    [RUN_STATE_INMIGRATE] = "inmigrate",
    [RUN_STATE_INTERNAL_ERROR] = "internal-error",
    [RUN_STATE_IO_ERROR] = "io-error",
    [RUN_STATE_PAUSED] = "paused",
    [RUN_STATE_POSTMIGRATE] = "postmigrate",
    [RUN_STATE_PRELAUNCH] = "prelaunch",
    [RUN_STATE_FINISH_MIGRATE] = "finish-migrate",
    [RUN_STATE_RESTORE_VM] = "restore-vm",
    [RUN_STATE_RUNNING] = "running",
    [RUN_STATE_SAVE_VM] = "save-vm",
    [RUN_STATE_SHUTDOWN] = "shutdown",
    [RUN_STATE_SUSPENDED] = "suspended",
    [RUN_STATE_WATCHDOG] = "watchdog",
    [RUN_STATE_GUEST_PANICKED] = "guest-panicked",
    [RUN_STATE_COLO] = "colo",
};

const char *runstate_name(RunState state)
{
    if ((unsigned)state >= RUN_STATE__MAX) {
        return "unknown";
    }
    return runstate_names[state];
}

bool runstate_parse(const char *name, RunState *state)
{
    for (int i = 0; i < RUN_STATE__MAX; i++) {
        if (name && !strcmp(name, runstate_names[i])) {
            *state = i;
            return true;
        }
    }
    return false;
}
