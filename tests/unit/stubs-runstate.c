/*
 * stubs-runstate.c: the BQL and runstate_get() for single-threaded test
 * programs (see stubs-runstate.h).
 */
#include "qemu/osdep.h"
#include "stubs-runstate.h"

RunState stub_runstate = RUN_STATE_RUNNING;

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
