/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * stubs/migration.c: migration_incoming_get_current() and
 * migrate_set_error() without the rest of migration.c (see migration.h),
 * a migration_progress_beat() that does nothing (watchdog.h), and a
 * status that is never postcopy-active (no postcopy-ram.c here).
 */
#include "qemu/osdep.h"
#include "migration.h"
#include "../../../migration/postcopy-ram.h"
#include "../../../migration/watchdog.h"

static MigrationIncomingState stub_incoming;

MigrationIncomingState *migration_incoming_get_current(void)
{
    return &stub_incoming;
}

void migrate_set_error(MigrationState *s, const Error *err)
{
    g_mutex_lock(&s->lock);
    if (!s->error) {
        s->error = error_copy(err);
    }
    g_mutex_unlock(&s->lock);
}

/* The watchdog (watchdog.c) is not part of these tests. */
void migration_progress_beat(void)
{
}

MigrationStatus migration_status(void)
{
    return MIGRATION_STATUS_NONE;
}

void postcopy_rp_thread_prioritise(void)
{
}
