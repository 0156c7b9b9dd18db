/*
 * ram.h (private to migration/): the "ram" live section's hooks for
 * migration.c and the monitor commands.  Format: see ram.c.
 */
#ifndef MIGRATION_RAM_H
#define MIGRATION_RAM_H

#include "qemu/osdep.h"

/* Register the "ram" live handler (once; main thread, before a migration). */
void ram_mig_init(void);
/* Microseconds the last dirty-log sync took (0 before the first). */
int64_t ram_last_sync_us(void);
/*
 * Bytes per ms the guest wrote between the last two dirty-log syncs
 * (pages still waiting to be sent included, see shrink.c); negative when
 * unknown (one sync so far, or a nearly full bitmap).  Migration thread.
 */
double ram_dirty_rate(void);

#endif /* MIGRATION_RAM_H */
