/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * options.h: migration capabilities and parameters (QEMU 7.2's names,
 * order, defaults and validation texts).
 *
 * Capabilities are on/off switches set with migrate-set-capabilities;
 * parameters are typed values set with migrate-set-parameters.  Both are
 * global (one MigrationState), read by the migration thread through the
 * migrate_*() accessors below and changed only on the main thread with the
 * BQL held.  Capabilities cannot change while a migration runs.
 *
 * Accessors are safe from any thread: values are plain words read
 * atomically; strings are interned.  The QMP (JSON) side of setting and
 * querying them is in migration/options-json.h.
 */
#ifndef MIGRATION_OPTIONS_H
#define MIGRATION_OPTIONS_H

#include "qemu/osdep.h"
#include "qapi/error.h"

/*
 * QEMU 7.2's capability list, in its order (query-migrate-capabilities),
 * then the later QEMU capabilities Tern implements.
 */
typedef enum MigrationCapability {
    MIGRATION_CAPABILITY_XBZRLE,
    MIGRATION_CAPABILITY_RDMA_PIN_ALL,
    MIGRATION_CAPABILITY_AUTO_CONVERGE,
    MIGRATION_CAPABILITY_ZERO_BLOCKS,
    MIGRATION_CAPABILITY_COMPRESS,
    MIGRATION_CAPABILITY_EVENTS,
    MIGRATION_CAPABILITY_POSTCOPY_RAM,
    MIGRATION_CAPABILITY_X_COLO,
    MIGRATION_CAPABILITY_RELEASE_RAM,
    MIGRATION_CAPABILITY_BLOCK,
    MIGRATION_CAPABILITY_RETURN_PATH,
    MIGRATION_CAPABILITY_PAUSE_BEFORE_SWITCHOVER,
    MIGRATION_CAPABILITY_MULTIFD,
    MIGRATION_CAPABILITY_DIRTY_BITMAPS,
    MIGRATION_CAPABILITY_POSTCOPY_BLOCKTIME,
    MIGRATION_CAPABILITY_LATE_BLOCK_ACTIVATE,
    MIGRATION_CAPABILITY_X_IGNORE_SHARED,
    MIGRATION_CAPABILITY_VALIDATE_UUID,
    MIGRATION_CAPABILITY_BACKGROUND_SNAPSHOT,
    MIGRATION_CAPABILITY_ZERO_COPY_SEND,
    MIGRATION_CAPABILITY_POSTCOPY_PREEMPT,
    MIGRATION_CAPABILITY_MAPPED_RAM, /* QEMU 9.0 */
    /* Tern's own, after QEMU's list */
    MIGRATION_CAPABILITY_X_CHECKPOINT_ASSISTED,
    MIGRATION_CAPABILITY_X_PRECOPY_RECOVER,
    MIGRATION_CAPABILITY__MAX,
} MigrationCapability;

typedef enum MultiFDCompression {
    MULTIFD_COMPRESSION_NONE,
    MULTIFD_COMPRESSION_ZLIB,
    MULTIFD_COMPRESSION_ZSTD,
    MULTIFD_COMPRESSION__MAX,
} MultiFDCompression;

/* "xbzrle", ... */
const char *migration_capability_name(MigrationCapability cap);
/* Parse a capability name; false if unknown. */
bool migration_capability_parse(const char *name, MigrationCapability *cap);
/* "none", "zlib", "zstd" */
const char *multifd_compression_name(MultiFDCompression c);

/*
 * Mark a capability as implemented (a subsystem that implements e.g.
 * multifd calls this at start-up); others are refused when switched on
 * with "Capability 'X' is not supported by Tern yet".
 */
void migrate_capability_set_supported(MigrationCapability cap, bool on);

/*
 * A check run when cap is switched on (it was off): false with errp set
 * refuses the change.  Start-up, main thread; NULL removes it.
 */
typedef bool MigrationCapabilityCheck(Error **errp);
void migrate_capability_set_check(MigrationCapability cap,
                                  MigrationCapabilityCheck *check);

/*
 * Called when xbzrle-cache-size changes (after its checks, before it is
 * committed): false with errp set refuses the change.  Registered once
 * by the RAM migration code; main thread.
 */
typedef bool MigrationXbzrleResize(uint64_t size, Error **errp);
void migrate_set_xbzrle_resize(MigrationXbzrleResize *resize);

/* Current state of a capability.  Any thread. */
bool migrate_cap(MigrationCapability cap);

/* Set one capability (HMP migrate_set_capability).  Main thread, BQL. */
bool migrate_capability_set(const char *name, bool state, Error **errp);

/*
 * Set one parameter from HMP text (migrate_set_parameter NAME VALUE):
 * sizes accept k/M/G/T suffixes; max-bandwidth's bare numbers are MiB/s
 * as in QEMU's HMP.  Main thread, BQL.
 */
bool migrate_parameter_set_str(const char *name, const char *value,
                               Error **errp);
/* The "info migrate_parameters" text (caller frees). */
char *migrate_parameters_to_hmp(void);
/* The "info migrate_capabilities" text (caller frees). */
char *migrate_capabilities_to_hmp(void);

/* Capability shortcuts. */
bool migrate_auto_converge(void);
bool migrate_events(void);
bool migrate_pause_before_switchover(void);
bool migrate_return_path(void);
bool migrate_zero_blocks(void);
bool migrate_multifd(void);
bool migrate_xbzrle(void);
bool migrate_compress(void);
bool migrate_postcopy_ram(void);
bool migrate_ignore_shared(void);
bool migrate_validate_uuid(void);
bool migrate_mapped_ram(void);
/* direct-io (QEMU 9.1): O_DIRECT on the multifd channels of mapped-ram. */
bool migrate_direct_io(void);
/*
 * QEMU 9's mapped-ram rules on the current capabilities and parameters
 * (xbzrle, compress, postcopy-ram, multifd with compression or TLS):
 * false with QEMU's text in errp.  Checked again when a migration starts
 * (TLS credentials can change after the capability is set).
 */
bool migrate_mapped_ram_check(Error **errp);
/*
 * multifd over extra connections (multifd on, mapped-ram off): with
 * mapped-ram the "channels" are threads with their own descriptors of
 * the file, and nothing connects.
 */
bool migrate_multifd_connections(void);
bool migrate_checkpoint_assisted(void);
/* x-precopy-recover (Tern only): a broken precopy pauses (precopy-recover.h) */
bool migrate_precopy_recover(void);

/* Parameters. */
uint64_t migrate_max_bandwidth(void);          /* bytes/s; 0 = unlimited */
uint64_t migrate_max_postcopy_bandwidth(void); /* bytes/s; 0 = unlimited */
uint64_t migrate_downtime_limit(void);         /* ms */
int migrate_cpu_throttle_initial(void);
int migrate_cpu_throttle_increment(void);
bool migrate_cpu_throttle_tailslow(void);
int migrate_max_cpu_throttle(void);
int migrate_throttle_trigger_threshold(void);
int migrate_multifd_channels(void);
MultiFDCompression migrate_multifd_compression(void);
int migrate_multifd_zlib_level(void);
int migrate_multifd_zstd_level(void);
uint64_t migrate_xbzrle_cache_size(void);
int migrate_compress_level(void);   /* 0-9 */
int migrate_compress_threads(void); /* 1-255 */
bool migrate_compress_wait_thread(void);
int migrate_decompress_threads(void); /* 1-255 */
uint64_t migrate_announce_initial(void);
uint64_t migrate_announce_max(void);
uint64_t migrate_announce_rounds(void);
uint64_t migrate_announce_step(void);
uint32_t migrate_checkpoint_delay(void);
/*
 * x-progress-timeout (Tern's own): seconds without progress after which
 * the watchdog of either side fails a migration, also the TCP
 * keepalive/user timeout of its sockets; 0 turns both off.
 */
#define MIGRATION_PROGRESS_TIMEOUT_DEFAULT 30
uint32_t migrate_progress_timeout(void);

/*
 * TLS parameters: never NULL, "" when unset.  The strings are interned
 * (g_intern_string): valid forever, never freed by anyone, so any thread
 * may keep the pointer.
 */
const char *migrate_tls_creds(void);
const char *migrate_tls_hostname(void);
const char *migrate_tls_authz(void);
/* The destination's checkpoint file ("checkpoint"), "" when unset. */
const char *migrate_checkpoint(void);

/* Back to 7.2's defaults (tests). */
void migrate_options_reset(void);

#endif /* MIGRATION_OPTIONS_H */
