/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * migration-info.h (private to migration/): one snapshot of what
 * query-migrate and HMP "info migrate" report, as a C struct.
 *
 * migration_info_get() fills it from the outgoing MigrationState, the
 * statistics object and the incoming state, applying QEMU 7.2's rules
 * of which members exist in which status; migration-qmp-cmds.c turns it
 * into JSON (members in 7.2's order), migration-hmp-cmds.c prints it.
 */
#ifndef MIGRATION_MIGRATION_INFO_H
#define MIGRATION_MIGRATION_INFO_H

#include "qemu/osdep.h"
#include "migration/misc.h"
#include "checkpoint.h"

/* The "ram" member of query-migrate. */
typedef struct MigrationRamInfo {
    uint64_t transferred;
    uint64_t remaining;
    uint64_t total;
    uint64_t duplicate;
    uint64_t skipped;
    uint64_t normal;
    uint64_t normal_bytes;
    uint64_t dirty_pages_rate;
    uint64_t dirty_sync_count;
    uint64_t postcopy_requests;
    uint64_t page_size;
    uint64_t multifd_bytes;
    uint64_t precopy_bytes;
    uint64_t downtime_bytes;
    uint64_t postcopy_bytes;
    uint64_t dirty_sync_missed_zero_copy;
    double mbps;
    uint64_t pages_per_second;
} MigrationRamInfo;

/* The "xbzrle-cache" member of query-migrate (capability xbzrle). */
typedef struct MigrationXbzrleInfo {
    uint64_t cache_size;
    uint64_t bytes;
    uint64_t pages;
    uint64_t cache_miss;
    double cache_miss_rate;
    double encoding_rate;
    uint64_t overflow;
} MigrationXbzrleInfo;

/* The "compression" member (compress capability, source). */
typedef struct MigrationCompressionInfo {
    uint64_t pages;
    uint64_t busy;
    double busy_rate;
    uint64_t compressed_size;
    double compression_rate;
} MigrationCompressionInfo;

/* query-migrate; a has_X flag says whether member X is present. */
typedef struct MigrationInfo {
    bool has_status;
    MigrationStatus status; /* the source's, else the destination's */
    char *error_desc;       /* failed: the first error (owned), or NULL */
    bool has_setup_time;
    int64_t setup_time; /* ms */
    bool has_total_time;
    int64_t total_time; /* ms */
    bool has_downtime;
    int64_t downtime; /* ms */
    bool has_expected_downtime;
    int64_t expected_downtime; /* ms */
    bool has_ram;
    MigrationRamInfo ram;
    bool has_xbzrle_cache;
    MigrationXbzrleInfo xbzrle_cache;
    bool has_compression;
    MigrationCompressionInfo compression;
    bool has_cpu_throttle_percentage;
    int64_t cpu_throttle_percentage;
    /* the migration blockers' texts, oldest first (NULL: none) */
    char **blocked_reasons;
    /* checkpoint-assisted migration, either side (Tern's own member) */
    bool has_checkpoint;
    MigrationCheckpointInfo checkpoint;
    /* destination, completed, postcopy-blocktime on: ms waited for pages */
    bool has_postcopy_blocktime;
    uint32_t postcopy_blocktime;       /* all vCPUs at once */
    uint32_t *postcopy_vcpu_blocktime; /* per vCPU (owned) */
    int postcopy_vcpus;
    /* destination: SocketAddress * it listens on (a reference), or NULL */
    GPtrArray *socket_addresses;
} MigrationInfo;

/*
 * Fill *info with the current state of both directions.  Main thread
 * (the listener's address list is changed there); takes the migration
 * state's lock briefly.  Release with migration_info_clear().
 */
void migration_info_get(MigrationInfo *info);

/* Release what migration_info_get() put in *info. */
void migration_info_clear(MigrationInfo *info);

#endif /* MIGRATION_MIGRATION_INFO_H */
