/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * blocker.h: reasons that prevent an outgoing migration (QEMU 7.2's
 * migration blockers).
 *
 * Something that cannot be migrated registers an Error saying why; while
 * any reason is registered, "migrate" fails at once with the newest
 * reason's text and query-migrate lists every reason in blocked-reasons.
 * The registry keeps a pointer to the caller's Error: the caller owns it,
 * removes it with migrate_del_blocker() and only then frees it.
 *
 * Threads: add/del and the queries run on the main thread with the BQL;
 * the registry has its own lock, so any thread may query it.
 */
#ifndef MIGRATION_BLOCKER_H
#define MIGRATION_BLOCKER_H

#include "qemu/osdep.h"
#include "qapi/error.h"

/*
 * Register reason.  Refused (negative errno, errp set with QEMU's text
 * naming reason) under -only-migratable (-EACCES) or while an outgoing
 * migration runs (-EBUSY).  0 on success.
 */
int migrate_add_blocker(Error *reason, Error **errp);

/*
 * As migrate_add_blocker() but allowed under -only-migratable: for a
 * temporary condition the user started (a detached dump), as QEMU does.
 */
int migrate_add_blocker_internal(Error *reason, Error **errp);

/* Remove reason if registered (the caller still owns it). */
void migrate_del_blocker(Error *reason);

/*
 * True with errp set to a copy of the newest reason when a migration
 * may not start now.
 */
bool migration_is_blocked(Error **errp);

/*
 * The reasons' texts, oldest first (query-migrate's blocked-reasons);
 * NULL when there are none.  Caller frees with g_strfreev().
 */
char **migration_blocker_reasons(void);

/* -only-migratable: refuse every later migrate_add_blocker(). */
void migrate_set_only_migratable(bool on);
/* Whether -only-migratable was given. */
bool migrate_only_migratable(void);

#endif /* MIGRATION_BLOCKER_H */
