/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * watchdog.h (private to migration/): the progress watchdogs of both
 * sides (x-progress-timeout; see watchdog.c).
 */
#ifndef MIGRATION_WATCHDOG_H
#define MIGRATION_WATCHDOG_H

#include "migration.h"

/*
 * Source: the migration moved (a phase step, an iteration, a
 * return-path message).  Any thread.
 */
void migration_progress_beat(void);

/*
 * Destination: the load moved without reading the stream (it waits
 * for local work the source waits for too, e.g. indexing a checkpoint).
 * Any thread.
 */
void migration_incoming_progress_beat(void);

/*
 * Source: watch the outgoing migration just started; on a stall it ends
 * with migrate_fail_stalled().  Main thread.
 */
void migration_watchdog_outgoing_start(MigrationState *s);

/*
 * Destination: watch the incoming migration whose load just started; on
 * a stall it ends with migration_incoming_abort().  Main thread.
 */
void migration_watchdog_incoming_start(MigrationIncomingState *mis);

#endif /* MIGRATION_WATCHDOG_H */
