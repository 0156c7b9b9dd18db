/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * misc.h: what the rest of Tern (vl.c) calls into migration.
 */
#ifndef MIGRATION_MISC_H
#define MIGRATION_MISC_H

#include "qemu/osdep.h"
#include "qapi/error.h"

/*
 * Migration status values, in QEMU 7.2's MigrationStatus order; the
 * names are what query-migrate and the MIGRATION event print.
 */
typedef enum MigrationStatus {
    MIGRATION_STATUS_NONE,
    MIGRATION_STATUS_SETUP,
    MIGRATION_STATUS_CANCELLING,
    MIGRATION_STATUS_CANCELLED,
    MIGRATION_STATUS_ACTIVE,
    MIGRATION_STATUS_POSTCOPY_ACTIVE,
    MIGRATION_STATUS_POSTCOPY_PAUSED,
    MIGRATION_STATUS_POSTCOPY_RECOVER,
    MIGRATION_STATUS_COMPLETED,
    MIGRATION_STATUS_FAILED,
    MIGRATION_STATUS_COLO,
    MIGRATION_STATUS_PRE_SWITCHOVER,
    MIGRATION_STATUS_DEVICE,
    MIGRATION_STATUS_WAIT_UNPLUG,
    /* Tern only (x-precopy-recover): a broken precopy waits for a resume */
    MIGRATION_STATUS_PRECOPY_PAUSED,
    MIGRATION_STATUS_PRECOPY_RECOVER,
    MIGRATION_STATUS__MAX,
} MigrationStatus;

/* "none", "setup", ... */
const char *migration_status_name(MigrationStatus status);
/* Parse a status name; false if unknown. */
bool migration_status_parse(const char *name, MigrationStatus *status);

/* Current status of the outgoing migration (any thread). */
MigrationStatus migration_status(void);
/* Current status of the incoming migration (any thread). */
MigrationStatus migration_incoming_status(void);

/*
 * Initialise the migration state and register the "ram" live handler.
 * Call once at start-up, main thread, after the RAM blocks exist or
 * before: the handler looks at the block list only when a migration
 * starts.
 */
void migration_init(void);

/* Register the migration QMP and HMP commands.  Main thread, start-up. */
void migration_register_commands(void);

/*
 * Start the incoming side for -incoming URI (tcp:, unix:, fd:, exec:,
 * file:, or "defer" to wait for QMP migrate-incoming).  Non-blocking:
 * loading starts when the connection arrives.  Caller holds the BQL,
 * runstate already inmigrate.  false with errp on a bad URI or a
 * listen/open failure.
 */
bool migration_incoming_start(const char *uri, Error **errp);

/*
 * -checkpoint PATH: the destination's older RAM checkpoint for
 * x-checkpoint-assisted migration (the "checkpoint" parameter); starts
 * indexing it.  False with errp set if it cannot be opened.  Main
 * thread, after the machine exists.
 */
bool migration_checkpoint_set(const char *path, Error **errp);

#endif /* MIGRATION_MISC_H */
