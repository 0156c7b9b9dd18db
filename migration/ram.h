/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * ram.h (private to migration/): the "ram" live section's hooks for
 * migration.c and the monitor commands.  Format: see ram-format.h; the
 * section's files: see ram.c.
 */
#ifndef MIGRATION_RAM_H
#define MIGRATION_RAM_H

#include "qemu/osdep.h"

/* Register the "ram" live handler (once; main thread, before a migration). */
void ram_mig_init(void);
/*
 * Microseconds the last dirty-log sync of the outgoing migration took (0
 * before its first sync or when none is set up).  Migration thread.
 */
int64_t ram_last_sync_us(void);
/*
 * Bytes per ms the guest wrote between the last two dirty-log syncs
 * (pages still waiting to be sent included, see shrink.c); negative when
 * unknown (no outgoing migration set up, one sync so far, or a nearly full
 * bitmap).  Migration thread.
 */
double ram_dirty_rate(void);

#endif /* MIGRATION_RAM_H */
