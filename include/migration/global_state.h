/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * global_state.h: the "globalstate" and "timer" device sections that
 * QEMU's -M none sends, so streams load both ways.
 *
 *   globalstate v1: be32 size (strlen(runstate) + 1), then a 100-byte
 *                   buffer with the runstate name, NUL-terminated and
 *                   zero padded.  The source stores its run state just
 *                   before stopping the VM; the destination uses the
 *                   received one to decide whether to run afterwards.
 *   timer v2:       be64 cpu_ticks_offset, 8 unused bytes,
 *                   be64 cpu_clock_offset (24 bytes).
 *
 * Main thread at start-up (register), migration thread (store/load).
 */
#ifndef MIGRATION_GLOBAL_STATE_H
#define MIGRATION_GLOBAL_STATE_H

#include "qemu/osdep.h"
#include "sysemu/runstate.h"

/* Register the "globalstate" section (instance 0).  Once, at start-up. */
void global_state_register(void);
/* Register the "timer" section (instance 0).  Once, at start-up. */
void timer_state_register(void);

/* Record runstate_get()'s name as the state to send (before vm_stop). */
void global_state_store(void);
/* Record "running" whatever the current state (QEMU compatibility). */
void global_state_store_running(void);

/* Forget what was received (the destination calls it before a load). */
void global_state_reset_received(void);
/*
 * True if a globalstate section was loaded since the last reset; then
 * *state (if not NULL) is the received run state.
 */
bool global_state_received(RunState *state);
/*
 * The received run state, or RUN_STATE__MAX when none was received (the
 * destination then runs unless -S, as QEMU does).
 */
RunState global_state_get_runstate(void);

/* The values the timer section sends (default 0) and last received. */
void timer_state_set(int64_t cpu_ticks_offset, int64_t cpu_clock_offset);
void timer_state_get(int64_t *cpu_ticks_offset, int64_t *cpu_clock_offset);

#endif /* MIGRATION_GLOBAL_STATE_H */
