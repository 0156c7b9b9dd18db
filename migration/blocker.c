/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * blocker.c: the registry of migration blockers (see
 * migration/blocker.h).
 *
 * A list of the registered Errors, newest first, under blocker_lock.
 * Texts are QEMU 7.2's: a refused registration says why it was refused
 * and names the reason; a blocked migrate reports the newest reason
 * itself.
 */
#include "qemu/osdep.h"
#include "migration/blocker.h"
#include "migration/misc.h"
#include "migration.h"

static GMutex blocker_lock;
static GSList *blockers; /* Error *, newest first; the callers' */
static bool only_migratable;

void migrate_set_only_migratable(bool on)
{
    __atomic_store_n(&only_migratable, on, __ATOMIC_RELAXED);
}

bool migrate_only_migratable(void)
{
    return __atomic_load_n(&only_migratable, __ATOMIC_RELAXED);
}

/* Refuse reason with "disallowing migration blocker (why) for: ...". */
static int migrate_blocker_refuse(Error *reason, const char *why, int err,
                                  Error **errp)
{
    error_setg(errp, "disallowing migration blocker (%s) for: %s", why,
               error_get_pretty(reason));
    return err;
}

int migrate_add_blocker_internal(Error *reason, Error **errp)
{
    if (migration_is_running()) {
        return migrate_blocker_refuse(reason, "migration in progress", -EBUSY,
                                      errp);
    }
    g_mutex_lock(&blocker_lock);
    if (!g_slist_find(blockers, reason)) {
        blockers = g_slist_prepend(blockers, reason);
    }
    g_mutex_unlock(&blocker_lock);
    return 0;
}

int migrate_add_blocker(Error *reason, Error **errp)
{
    if (migrate_only_migratable()) {
        return migrate_blocker_refuse(reason, "--only-migratable", -EACCES,
                                      errp);
    }
    return migrate_add_blocker_internal(reason, errp);
}

void migrate_del_blocker(Error *reason)
{
    g_mutex_lock(&blocker_lock);
    blockers = g_slist_remove(blockers, reason);
    g_mutex_unlock(&blocker_lock);
}

bool migration_is_blocked(Error **errp)
{
    bool blocked;

    g_mutex_lock(&blocker_lock);
    blocked = blockers != NULL;
    if (blocked) {
        error_setg(errp, "%s", error_get_pretty(blockers->data));
    }
    g_mutex_unlock(&blocker_lock);
    return blocked;
}

char **migration_blocker_reasons(void)
{
    GPtrArray *out;
    GSList *l;

    g_mutex_lock(&blocker_lock);
    if (!blockers) {
        g_mutex_unlock(&blocker_lock);
        return NULL;
    }
    out = g_ptr_array_new();
    for (l = blockers; l; l = l->next) {
        /* newest first in the list: prepend, so the oldest comes first */
        g_ptr_array_insert(out, 0, g_strdup(error_get_pretty(l->data)));
    }
    g_mutex_unlock(&blocker_lock);
    g_ptr_array_add(out, NULL);
    return (char **)g_ptr_array_free(out, false);
}
