/*
 * stubs-runstate.h: the BQL and run state for single-threaded test
 * programs that link migration code without system/runstate.c (shared
 * by tests/unit/test-savevm.c and tests/fuzz/fuzz-loadvm.c).  The names
 * come from system/runstate-names.c.
 */
#ifndef TESTS_STUBS_RUNSTATE_H
#define TESTS_STUBS_RUNSTATE_H

#include "sysemu/runstate.h"

/* What runstate_get() returns; RUN_STATE_RUNNING until a test sets it. */
extern RunState stub_runstate;

#endif
