/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * timer.c: the "timer" section QEMU sends for its clocks (layout in
 * include/migration/global_state.h).  Tern keeps no virtual clock that
 * must move: the values are carried so a stream round-trips and loads
 * into QEMU (a never-started VM sends zeros, as QEMU -M none does).
 */
#include "qemu/osdep.h"
#include "migration/global_state.h"
#include "migration/register.h"
#include "migration/vmstate.h"

typedef struct TimersState {
    int64_t cpu_ticks_offset;
    int64_t cpu_clock_offset;
} TimersState;

static TimersState timers_state;

void timer_state_set(int64_t cpu_ticks_offset, int64_t cpu_clock_offset)
{
    timers_state.cpu_ticks_offset = cpu_ticks_offset;
    timers_state.cpu_clock_offset = cpu_clock_offset;
}

void timer_state_get(int64_t *cpu_ticks_offset, int64_t *cpu_clock_offset)
{
    *cpu_ticks_offset = timers_state.cpu_ticks_offset;
    *cpu_clock_offset = timers_state.cpu_clock_offset;
}

static const VMStateDescription vmstate_timers = {
    .name = "timer",
    .version_id = 2,
    .minimum_version_id = 1,
    .fields =
        (const VMStateField[]){
            VMSTATE_INT64(cpu_ticks_offset, TimersState),
            VMSTATE_UNUSED(8),
            VMSTATE_INT64_V(cpu_clock_offset, TimersState, 2),
            VMSTATE_END_OF_LIST(),
        },
};

void timer_state_register(void)
{
    vmstate_register(0, &vmstate_timers, &timers_state);
}
