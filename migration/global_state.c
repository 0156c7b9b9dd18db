/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * global_state.c: the "globalstate" section (layout in
 * include/migration/global_state.h).
 */
#include "qemu/osdep.h"
#include "migration/global_state.h"
#include "migration/register.h"
#include "migration/vmstate.h"

typedef struct GlobalState {
    uint32_t size;
    uint8_t runstate[100];
    RunState state; /* parsed at load */
    bool received;
} GlobalState;

static GlobalState global_state;

static void global_state_store_name(const char *name)
{
    size_t len = strlen(name);

    g_assert(len < sizeof(global_state.runstate));
    memset(global_state.runstate, 0, sizeof(global_state.runstate));
    memcpy(global_state.runstate, name, len);
}

void global_state_store(void)
{
    global_state_store_name(runstate_name(runstate_get()));
}

void global_state_store_running(void)
{
    global_state_store_name(runstate_name(RUN_STATE_RUNNING));
}

void global_state_reset_received(void)
{
    global_state.received = false;
    global_state.state = RUN_STATE__MAX;
}

bool global_state_received(RunState *state)
{
    if (global_state.received && state) {
        *state = global_state.state;
    }
    return global_state.received;
}

RunState global_state_get_runstate(void)
{
    return global_state.received ? global_state.state : RUN_STATE__MAX;
}

static int global_state_pre_save(void *opaque)
{
    GlobalState *s = opaque;

    if (!s->runstate[0]) {
        /* Nobody stored a state: send the current one. */
        global_state_store();
    }
    s->size = strnlen((char *)s->runstate, sizeof(s->runstate)) + 1;
    return 0;
}

static int global_state_pre_load(void *opaque)
{
    GlobalState *s = opaque;

    s->received = false;
    return 0;
}

/*
 * Run states a destination may be left in after a load.  The others
 * belong to a migration or snapshot in progress (inmigrate,
 * finish-migrate, save-vm, restore-vm) or to COLO: a destination put in
 * one of them could be neither continued, reset nor migrated again.
 */
static bool global_state_applicable(RunState state)
{
    switch (state) {
    case RUN_STATE_INMIGRATE:
    case RUN_STATE_FINISH_MIGRATE:
    case RUN_STATE_SAVE_VM:
    case RUN_STATE_RESTORE_VM:
    case RUN_STATE_COLO:
        return false;
    default:
        return true;
    }
}

static int global_state_post_load(void *opaque, int version_id, Error **errp)
{
    GlobalState *s = opaque;
    char *name = (char *)s->runstate;
    RunState state;

    /* The buffer came from the peer: it may lack its NUL. */
    s->runstate[sizeof(s->runstate) - 1] = '\0';
    if (!runstate_parse(name, &state)) {
        error_setg(errp, "invalid parameter value: %s", name);
        return -EINVAL;
    }
    if (!global_state_applicable(state)) {
        error_setg(errp,
                   "run state '%s' cannot be given to a destination "
                   "(a source sends running, paused, prelaunch, "
                   "postmigrate, suspended or an error state)",
                   name);
        return -EINVAL;
    }
    s->state = state;
    s->received = true;
    return 0;
}

static const VMStateDescription vmstate_globalstate = {
    .name = "globalstate",
    .version_id = 1,
    .minimum_version_id = 1,
    .pre_save = global_state_pre_save,
    .pre_load = global_state_pre_load,
    .post_load_errp = global_state_post_load,
    .fields =
        (const VMStateField[]){
            VMSTATE_UINT32(size, GlobalState),
            VMSTATE_BUFFER(runstate, GlobalState),
            VMSTATE_END_OF_LIST(),
        },
};

void global_state_register(void)
{
    global_state.state = RUN_STATE__MAX;
    vmstate_register(0, &vmstate_globalstate, &global_state);
}
