/*
 * ram.h (private to migration/): the "ram" live section's hooks for
 * migration.c and the monitor commands.  Format: see ram.c.
 */
#ifndef MIGRATION_RAM_H
#define MIGRATION_RAM_H

#include "qemu/osdep.h"
#include <json-c/json.h>

/* Register the "ram" live handler (once; main thread, before a migration). */
void ram_mig_init(void);
/* Reset the statistics at the start of an outgoing migration. */
void ram_stats_reset(void);
/*
 * Add the query-migrate "ram" members to ram (an object).  completed:
 * remaining and dirty-pages-rate read 0, as QEMU reports them.
 */
void ram_stats_to_json(json_object *ram, bool completed);
/* Bytes of RAM still dirty. */
uint64_t ram_bytes_remaining(void);
/* Pages sent so far (zero + normal), for pages-per-second. */
uint64_t ram_pages_sent(void);
/* Count what is sent from now on as downtime bytes (VM stopped). */
void ram_stats_set_downtime_phase(bool in_downtime);
/* Microseconds the last dirty-log sync took (0 before the first). */
int64_t ram_last_sync_us(void);
/*
 * Bytes per ms the guest wrote between the last two dirty-log syncs
 * (pages still waiting to be sent included, see shrink.c); negative when
 * unknown (one sync so far, or a nearly full bitmap).  Migration thread.
 */
double ram_dirty_rate(void);

#endif /* MIGRATION_RAM_H */
