/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * stubs/runstate.c: the BQL, runstate_get() and qemu_machine_type_name()
 * for single-threaded test programs (see runstate.h).
 */
#include "qemu/osdep.h"
#include "runstate.h"

RunState stub_runstate = RUN_STATE_RUNNING;
const char *stub_machine_type_name = "none";

/* The BQL: these programs are single-threaded, so it is only a flag. */
static bool stub_bql_held;

void bql_lock(void)
{
    stub_bql_held = true;
}

void bql_unlock(void)
{
    stub_bql_held = false;
}

bool bql_locked(void)
{
    return stub_bql_held;
}

RunState runstate_get(void)
{
    return stub_runstate;
}

const char *qemu_machine_type_name(void)
{
    return stub_machine_type_name;
}
