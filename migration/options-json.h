/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * options-json.h (private to migration/): the QMP side of the migration
 * capabilities and parameters (see include/migration/options.h), kept
 * apart so that json-c stays out of the core headers.
 */
#ifndef MIGRATION_OPTIONS_JSON_H
#define MIGRATION_OPTIONS_JSON_H

#include "qemu/osdep.h"
#include "qapi/error.h"
#include <json-c/json.h>

/*
 * Set capabilities from a QMP "capabilities" list
 * ([{"capability": NAME, "state": BOOL}, ...]).  All or nothing:
 * validates every entry first.  Errors: "There's a migration process in
 * progress", "Parameter 'capability' does not accept value 'X'",
 * "Capability 'X' is not supported by Tern yet".  Main thread, BQL.
 */
bool migrate_capabilities_set_json(json_object *list, Error **errp);

/* [{"state": B, "capability": N}, ...] in 7.2's order (new reference). */
json_object *migrate_capabilities_to_json(void);

/*
 * Apply a migrate-set-parameters arguments object: type checks with
 * QMP's texts, value checks with QEMU 7.2's texts; nothing changes unless
 * every member is valid.  Main thread, BQL.
 */
bool migrate_parameters_set_json(json_object *args, Error **errp);

/* query-migrate-parameters reply (new reference). */
json_object *migrate_parameters_to_json(void);

#endif /* MIGRATION_OPTIONS_JSON_H */
