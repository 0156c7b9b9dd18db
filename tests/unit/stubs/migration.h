/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * stubs/migration.h: the two migration.c functions return-path.c calls,
 * for unit tests that link return-path.c without migration.c: one
 * incoming state, and migrate_set_error() keeping the first error.
 */
#ifndef TESTS_STUBS_MIGRATION_H
#define TESTS_STUBS_MIGRATION_H

#include "../../../migration/migration.h"

#endif
