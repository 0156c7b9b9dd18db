/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * stubs/runstate.h: the BQL, the run state and the machine type's name
 * for single-threaded test programs that link migration code without
 * system/runstate.c (tests/unit/test-savevm.c, tests/fuzz/fuzz-loadvm.c).
 * The run state names come from system/runstate-names.c.
 */
#ifndef TESTS_STUBS_RUNSTATE_H
#define TESTS_STUBS_RUNSTATE_H

#include "sysemu/runstate.h"

/* What runstate_get() returns; RUN_STATE_RUNNING until a test sets it. */
extern RunState stub_runstate;

/* What qemu_machine_type_name() returns; "none" until a test sets it. */
extern const char *stub_machine_type_name;

#endif
