/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * options.c: migration capabilities and parameters.
 *
 * Names, order, defaults and error texts follow QEMU 7.2 (listed in
 * docs/migration.md section 5; the texts were checked against the
 * installed 7.2).  One deliberate difference: 7.2 accepts out-of-range
 * multifd-zlib-level/multifd-zstd-level values (its check looks at the old
 * value); Tern rejects them.
 *
 * Locking: every setter runs on the main thread with the BQL held and
 * applies a validated copy in one go under opt_lock; readers in other
 * threads (the migration thread) read single words, so they see either
 * the old or the new value of each parameter.
 */
#include "qemu/osdep.h"
#include "qapi/error.h"
#include "migration/options.h"
#include "options-json.h"
#include "migration.h"

typedef struct MigrationParameters {
    uint64_t announce_initial;
    uint64_t announce_max;
    uint64_t announce_rounds;
    uint64_t announce_step;
    uint64_t compress_level;
    uint64_t compress_threads;
    bool compress_wait_thread;
    uint64_t decompress_threads;
    uint64_t throttle_trigger_threshold;
    uint64_t cpu_throttle_initial;
    uint64_t cpu_throttle_increment;
    bool cpu_throttle_tailslow;
    const char *tls_creds;    /* interned */
    const char *tls_hostname; /* interned */
    uint64_t max_bandwidth;
    uint64_t downtime_limit;
    uint64_t x_checkpoint_delay;
    bool block_incremental;
    uint64_t multifd_channels;
    uint64_t xbzrle_cache_size;
    uint64_t max_postcopy_bandwidth;
    uint64_t max_cpu_throttle;
    uint64_t multifd_compression; /* MultiFDCompression */
    uint64_t multifd_zlib_level;
    uint64_t multifd_zstd_level;
    const char *tls_authz;       /* interned */
    bool direct_io;              /* QEMU 9.1 */
    uint64_t x_progress_timeout; /* Tern: seconds, 0 = no watchdog */
    const char *checkpoint;      /* interned; Tern's own */
} MigrationParameters;

/* Value kinds, with the QMP/HMP parsing rules of each. */
typedef enum ParamKind {
    PK_U8,   /* uint8 */
    PK_U32,  /* uint32 */
    PK_U64,  /* uint64 */
    PK_SIZE, /* uint64, HMP suffixes */
    PK_BW,   /* size, HMP bare number = MiB/s */
    PK_BOOL,
    PK_STR,         /* string or null */
    PK_COMPRESSION, /* enum */
} ParamKind;

typedef struct ParamDesc {
    const char *name; /* QMP name, "max-bandwidth" */
    ParamKind kind;
    size_t offset;
    const char *hmp_unit; /* suffix in info migrate_parameters */
} ParamDesc;

#define P(n, k, f, u)                                                          \
    {                                                                          \
        n, k, offsetof(MigrationParameters, f), u                              \
    }

/* In QEMU 7.2's "info migrate_parameters" order. */
static const ParamDesc param_descs[] = {
    P("announce-initial", PK_SIZE, announce_initial, " ms"),
    P("announce-max", PK_SIZE, announce_max, " ms"),
    P("announce-rounds", PK_SIZE, announce_rounds, ""),
    P("announce-step", PK_SIZE, announce_step, " ms"),
    P("compress-level", PK_U8, compress_level, ""),
    P("compress-threads", PK_U8, compress_threads, ""),
    P("compress-wait-thread", PK_BOOL, compress_wait_thread, ""),
    P("decompress-threads", PK_U8, decompress_threads, ""),
    P("throttle-trigger-threshold", PK_U8, throttle_trigger_threshold, ""),
    P("cpu-throttle-initial", PK_U8, cpu_throttle_initial, ""),
    P("cpu-throttle-increment", PK_U8, cpu_throttle_increment, ""),
    P("cpu-throttle-tailslow", PK_BOOL, cpu_throttle_tailslow, ""),
    P("max-cpu-throttle", PK_U8, max_cpu_throttle, ""),
    P("tls-creds", PK_STR, tls_creds, ""),
    P("tls-hostname", PK_STR, tls_hostname, ""),
    P("max-bandwidth", PK_BW, max_bandwidth, " bytes/second"),
    P("downtime-limit", PK_SIZE, downtime_limit, " ms"),
    P("x-checkpoint-delay", PK_U32, x_checkpoint_delay, " ms"),
    P("block-incremental", PK_BOOL, block_incremental, ""),
    P("multifd-channels", PK_U8, multifd_channels, ""),
    P("multifd-compression", PK_COMPRESSION, multifd_compression, ""),
    P("xbzrle-cache-size", PK_SIZE, xbzrle_cache_size, " bytes"),
    P("max-postcopy-bandwidth", PK_SIZE, max_postcopy_bandwidth, ""),
    P("tls-authz", PK_STR, tls_authz, ""),
    P("direct-io", PK_BOOL, direct_io, ""),
    /* Not printed by 7.2's HMP, but part of the QMP object. */
    P("multifd-zlib-level", PK_U8, multifd_zlib_level, NULL),
    P("multifd-zstd-level", PK_U8, multifd_zstd_level, NULL),
    /* Tern's own (not in 7.2, so not in 7.2's HMP list either) */
    P("x-progress-timeout", PK_U32, x_progress_timeout, NULL),
    /* Tern's own: the destination's checkpoint file (checkpoint.h) */
    P("checkpoint", PK_STR, checkpoint, NULL),
};

#undef P

static const char *const capability_names[MIGRATION_CAPABILITY__MAX] = {
    [MIGRATION_CAPABILITY_XBZRLE] = "xbzrle",
    [MIGRATION_CAPABILITY_RDMA_PIN_ALL] = "rdma-pin-all",
    [MIGRATION_CAPABILITY_AUTO_CONVERGE] = "auto-converge",
    [MIGRATION_CAPABILITY_ZERO_BLOCKS] = "zero-blocks",
    [MIGRATION_CAPABILITY_COMPRESS] = "compress",
    [MIGRATION_CAPABILITY_EVENTS] = "events",
    [MIGRATION_CAPABILITY_POSTCOPY_RAM] = "postcopy-ram",
    [MIGRATION_CAPABILITY_X_COLO] = "x-colo",
    [MIGRATION_CAPABILITY_RELEASE_RAM] = "release-ram",
    [MIGRATION_CAPABILITY_BLOCK] = "block",
    [MIGRATION_CAPABILITY_RETURN_PATH] = "return-path",
    [MIGRATION_CAPABILITY_PAUSE_BEFORE_SWITCHOVER] = "pause-before-switchover",
    [MIGRATION_CAPABILITY_MULTIFD] = "multifd",
    [MIGRATION_CAPABILITY_DIRTY_BITMAPS] = "dirty-bitmaps",
    [MIGRATION_CAPABILITY_POSTCOPY_BLOCKTIME] = "postcopy-blocktime",
    [MIGRATION_CAPABILITY_LATE_BLOCK_ACTIVATE] = "late-block-activate",
    [MIGRATION_CAPABILITY_X_IGNORE_SHARED] = "x-ignore-shared",
    [MIGRATION_CAPABILITY_VALIDATE_UUID] = "validate-uuid",
    [MIGRATION_CAPABILITY_BACKGROUND_SNAPSHOT] = "background-snapshot",
    [MIGRATION_CAPABILITY_ZERO_COPY_SEND] = "zero-copy-send",
    [MIGRATION_CAPABILITY_POSTCOPY_PREEMPT] = "postcopy-preempt",
    [MIGRATION_CAPABILITY_MAPPED_RAM] = "mapped-ram",
    [MIGRATION_CAPABILITY_X_CHECKPOINT_ASSISTED] = "x-checkpoint-assisted",
    [MIGRATION_CAPABILITY_X_PRECOPY_RECOVER] = "x-precopy-recover",
};

static const char *const compression_names[MULTIFD_COMPRESSION__MAX] = {
    "none",
    "zlib",
    "zstd",
};

/*
 * Capabilities Tern implements today.  zero-blocks is about block
 * migration and late-block-activate about when the destination takes
 * over its disks; Tern has no disks, so accepting them changes nothing,
 * as on a QEMU without disks (libvirt sets late-block-activate on every
 * destination).
 */
static bool cap_supported[MIGRATION_CAPABILITY__MAX] = {
    [MIGRATION_CAPABILITY_AUTO_CONVERGE] = true,
    [MIGRATION_CAPABILITY_ZERO_BLOCKS] = true,
    [MIGRATION_CAPABILITY_LATE_BLOCK_ACTIVATE] = true,
    [MIGRATION_CAPABILITY_EVENTS] = true,
    [MIGRATION_CAPABILITY_RETURN_PATH] = true,
    [MIGRATION_CAPABILITY_PAUSE_BEFORE_SWITCHOVER] = true,
    [MIGRATION_CAPABILITY_MULTIFD] = true,
    [MIGRATION_CAPABILITY_MAPPED_RAM] = true,
    [MIGRATION_CAPABILITY_XBZRLE] = true,
    [MIGRATION_CAPABILITY_COMPRESS] = true,
    [MIGRATION_CAPABILITY_X_CHECKPOINT_ASSISTED] = true,
    [MIGRATION_CAPABILITY_X_PRECOPY_RECOVER] = true,
};

/* Resizes the running migration's XBZRLE cache (ram.c), or NULL. */
static MigrationXbzrleResize *xbzrle_resize;

/* Checks run when a capability is switched on (postcopy's host check). */
static MigrationCapabilityCheck *cap_check[MIGRATION_CAPABILITY__MAX];

static bool caps[MIGRATION_CAPABILITY__MAX];
static MigrationParameters params;
static bool params_initialized;
/* Serialises setters (main thread) against tests; readers don't take it. */
static GMutex opt_lock;

static void params_defaults(MigrationParameters *p)
{
    memset(p, 0, sizeof(*p));
    p->announce_initial = 50;
    p->announce_max = 550;
    p->announce_rounds = 5;
    p->announce_step = 100;
    p->compress_level = 1;
    p->compress_threads = 8;
    p->compress_wait_thread = true;
    p->decompress_threads = 2;
    p->throttle_trigger_threshold = 50;
    p->cpu_throttle_initial = 20;
    p->cpu_throttle_increment = 10;
    p->cpu_throttle_tailslow = false;
    p->tls_creds = g_intern_static_string("");
    p->tls_hostname = g_intern_static_string("");
    p->tls_authz = g_intern_static_string("");
    p->checkpoint = g_intern_static_string("");
    p->max_bandwidth = 128 * MiB;
    p->downtime_limit = 300;
    p->x_checkpoint_delay = 20000;
    p->block_incremental = false;
    p->multifd_channels = 2;
    p->xbzrle_cache_size = 64 * MiB;
    p->max_postcopy_bandwidth = 0;
    p->max_cpu_throttle = 99;
    p->multifd_compression = MULTIFD_COMPRESSION_NONE;
    p->multifd_zlib_level = 1;
    p->multifd_zstd_level = 1;
    p->x_progress_timeout = MIGRATION_PROGRESS_TIMEOUT_DEFAULT;
}

static const MigrationParameters *params_get(void)
{
    if (!params_initialized) {
        /* First use happens on the main thread at start-up. */
        params_defaults(&params);
        params_initialized = true;
    }
    return &params;
}

void migrate_options_reset(void)
{
    g_mutex_lock(&opt_lock);
    params_defaults(&params);
    params_initialized = true;
    memset(caps, 0, sizeof(caps));
    g_mutex_unlock(&opt_lock);
}

const char *migration_capability_name(MigrationCapability cap)
{
    g_assert(cap < MIGRATION_CAPABILITY__MAX);
    return capability_names[cap];
}

bool migration_capability_parse(const char *name, MigrationCapability *cap)
{
    for (int i = 0; i < MIGRATION_CAPABILITY__MAX; i++) {
        if (!strcmp(name, capability_names[i])) {
            *cap = i;
            return true;
        }
    }
    return false;
}

const char *multifd_compression_name(MultiFDCompression c)
{
    g_assert(c < MULTIFD_COMPRESSION__MAX);
    return compression_names[c];
}

void migrate_capability_set_supported(MigrationCapability cap, bool on)
{
    g_assert(cap < MIGRATION_CAPABILITY__MAX);
    cap_supported[cap] = on;
}

void migrate_capability_set_check(MigrationCapability cap,
                                  MigrationCapabilityCheck *check)
{
    g_assert(cap < MIGRATION_CAPABILITY__MAX);
    cap_check[cap] = check;
}

bool migrate_cap(MigrationCapability cap)
{
    g_assert(cap < MIGRATION_CAPABILITY__MAX);
    return __atomic_load_n(&caps[cap], __ATOMIC_RELAXED);
}

/* Validate one requested change; new_caps is the state being built. */
static bool caps_check_one(MigrationCapability cap, bool state, Error **errp)
{
    if (state && !cap_supported[cap]) {
        error_setg(errp, "Capability '%s' is not supported by Tern yet",
                   capability_names[cap]);
        return false;
    }
    if (state && !caps[cap] && cap_check[cap] && !cap_check[cap](errp)) {
        return false;
    }
    return true;
}

/*
 * QEMU 9's rules for mapped-ram, on a proposed capability set and the
 * given multifd compression and TLS credentials, with its texts.
 */
static bool mapped_ram_combination_ok(const bool *c, uint64_t compression,
                                      const char *tls_creds, Error **errp)
{
    if (!c[MIGRATION_CAPABILITY_MAPPED_RAM]) {
        return true;
    }
    if (c[MIGRATION_CAPABILITY_XBZRLE]) {
        error_setg(errp, "Mapped-ram migration is incompatible with xbzrle");
        return false;
    }
    if (c[MIGRATION_CAPABILITY_COMPRESS]) {
        error_setg(errp,
                   "Mapped-ram migration is incompatible with compression");
        return false;
    }
    if (c[MIGRATION_CAPABILITY_POSTCOPY_RAM]) {
        error_setg(errp, "Mapped-ram migration is incompatible with postcopy");
        return false;
    }
    if (c[MIGRATION_CAPABILITY_MULTIFD] &&
        (compression != MULTIFD_COMPRESSION_NONE ||
         (tls_creds && *tls_creds))) {
        error_setg(errp, "Mapped-ram only available for non-compressed "
                         "non-TLS multifd migration");
        return false;
    }
    return true;
}

/*
 * Pairs QEMU 7.2 refuses when capabilities are set (the whole new set
 * is checked): compressed pages travel on the main stream only.
 */
static bool caps_check_combination(const bool *new_caps, Error **errp)
{
    if (new_caps[MIGRATION_CAPABILITY_MULTIFD] &&
        new_caps[MIGRATION_CAPABILITY_COMPRESS]) {
        error_setg(errp, "Multifd is not compatible with compress");
        return false;
    }
    return true;
}

/* Capabilities that cannot be on together (new_caps: the proposed set). */
static bool migrate_caps_combination_check(const bool *new_caps, Error **errp)
{
    const MigrationParameters *p = params_get();

    return caps_check_combination(new_caps, errp) &&
           mapped_ram_combination_ok(new_caps, p->multifd_compression, NULL,
                                     errp);
}

bool migrate_mapped_ram_check(Error **errp)
{
    bool now[MIGRATION_CAPABILITY__MAX];

    for (int i = 0; i < MIGRATION_CAPABILITY__MAX; i++) {
        now[i] = migrate_cap(i);
    }
    return mapped_ram_combination_ok(now, migrate_multifd_compression(),
                                     migrate_tls_creds(), errp);
}

static bool caps_can_change(Error **errp)
{
    if (migration_is_running()) {
        error_setg(errp, "There's a migration process in progress");
        return false;
    }
    return true;
}

/*
 * Fetch member key of capabilities[i] into *out; false with errp set
 * (QEMU's texts) if it is missing or not of json type (named type_name).
 */
static bool caps_entry_member(json_object *ent, size_t i, const char *key,
                              json_type type, const char *type_name,
                              json_object **out, Error **errp)
{
    if (!json_object_object_get_ex(ent, key, out)) {
        error_setg(errp, "Parameter 'capabilities[%zu].%s' is missing", i, key);
        return false;
    }
    if (!json_object_is_type(*out, type)) {
        error_setg(errp,
                   "Invalid parameter type for 'capabilities[%zu].%s', "
                   "expected: %s",
                   i, key, type_name);
        return false;
    }
    return true;
}

bool migrate_capabilities_set_json(json_object *list, Error **errp)
{
    bool new_caps[MIGRATION_CAPABILITY__MAX];
    size_t n;

    if (!list || !json_object_is_type(list, json_type_array)) {
        error_setg(errp, "Invalid parameter type for 'capabilities', "
                         "expected: array");
        return false;
    }
    if (!caps_can_change(errp)) {
        return false;
    }
    memcpy(new_caps, caps, sizeof(caps));
    n = json_object_array_length(list);
    for (size_t i = 0; i < n; i++) {
        json_object *ent = json_object_array_get_idx(list, i);
        json_object *jname, *jstate;
        MigrationCapability cap;
        const char *name;
        bool state;

        if (!json_object_is_type(ent, json_type_object)) {
            error_setg(errp,
                       "Invalid parameter type for 'capabilities[%zu]', "
                       "expected: object",
                       i);
            return false;
        }
        if (!caps_entry_member(ent, i, "capability", json_type_string, "string",
                               &jname, errp) ||
            !caps_entry_member(ent, i, "state", json_type_boolean, "boolean",
                               &jstate, errp)) {
            return false;
        }
        json_object_object_foreach(ent, key, val)
        {
            (void)val;
            if (strcmp(key, "capability") && strcmp(key, "state")) {
                error_setg(errp,
                           "Parameter 'capabilities[%zu].%s' is "
                           "unexpected",
                           i, key);
                return false;
            }
        }
        name = json_object_get_string(jname);
        state = json_object_get_boolean(jstate);
        if (!migration_capability_parse(name, &cap)) {
            error_setg(errp,
                       "Parameter 'capability' does not accept "
                       "value '%s'",
                       name);
            return false;
        }
        if (!caps_check_one(cap, state, errp)) {
            return false;
        }
        new_caps[cap] = state;
    }
    if (!migrate_caps_combination_check(new_caps, errp)) {
        return false;
    }
    g_mutex_lock(&opt_lock);
    for (int i = 0; i < MIGRATION_CAPABILITY__MAX; i++) {
        __atomic_store_n(&caps[i], new_caps[i], __ATOMIC_RELAXED);
    }
    g_mutex_unlock(&opt_lock);
    return true;
}

bool migrate_capability_set(const char *name, bool state, Error **errp)
{
    bool new_caps[MIGRATION_CAPABILITY__MAX];
    MigrationCapability cap;

    if (!migration_capability_parse(name, &cap)) {
        error_setg(errp, "invalid parameter value: %s", name);
        return false;
    }
    if (!caps_can_change(errp) || !caps_check_one(cap, state, errp)) {
        return false;
    }
    memcpy(new_caps, caps, sizeof(caps));
    new_caps[cap] = state;
    if (!migrate_caps_combination_check(new_caps, errp)) {
        return false;
    }
    __atomic_store_n(&caps[cap], state, __ATOMIC_RELAXED);
    return true;
}

json_object *migrate_capabilities_to_json(void)
{
    json_object *list = json_object_new_array();

    for (int i = 0; i < MIGRATION_CAPABILITY__MAX; i++) {
        json_object *ent = json_object_new_object();

        json_object_object_add(ent, "state",
                               json_object_new_boolean(migrate_cap(i)));
        json_object_object_add(ent, "capability",
                               json_object_new_string(capability_names[i]));
        json_object_array_add(list, ent);
    }
    return list;
}

char *migrate_capabilities_to_hmp(void)
{
    GString *s = g_string_new("");

    for (int i = 0; i < MIGRATION_CAPABILITY__MAX; i++) {
        g_string_append_printf(s, "%s: %s\n", capability_names[i],
                               migrate_cap(i) ? "on" : "off");
    }
    return g_string_free(s, false);
}

/* ---- parameters ---- */

static uint64_t *param_u64(MigrationParameters *p, const ParamDesc *d)
{
    return (uint64_t *)((char *)p + d->offset);
}

static bool *param_bool(MigrationParameters *p, const ParamDesc *d)
{
    return (bool *)((char *)p + d->offset);
}

static const char **param_str(MigrationParameters *p, const ParamDesc *d)
{
    return (const char **)((char *)p + d->offset);
}

static const ParamDesc *param_find(const char *name)
{
    for (size_t i = 0; i < ARRAY_SIZE(param_descs); i++) {
        if (!strcmp(param_descs[i].name, name)) {
            return &param_descs[i];
        }
    }
    return NULL;
}

/* QEMU 7.2's text for a parameter out of range (underscore names). */
#define PARAM_RANGE_FMT "Parameter '%s' expects %s"

/* Compression and auto-converge parameters, checked as 7.2 checks them. */
static bool params_check_throttle(const MigrationParameters *p, Error **errp)
{
    const char *fmt = PARAM_RANGE_FMT;

    if (p->compress_level > 9) {
        error_setg(errp, fmt, "compress_level", "a value between 0 and 9");
        return false;
    }
    if (p->compress_threads < 1 || p->compress_threads > 255) {
        error_setg(errp, fmt, "compress_threads", "a value between 1 and 255");
        return false;
    }
    if (p->decompress_threads < 1 || p->decompress_threads > 255) {
        error_setg(errp, fmt, "decompress_threads",
                   "a value between 1 and 255");
        return false;
    }
    if (p->throttle_trigger_threshold < 1 ||
        p->throttle_trigger_threshold > 100) {
        error_setg(errp, fmt, "throttle_trigger_threshold",
                   "an integer in the range of 1 to 100");
        return false;
    }
    if (p->cpu_throttle_initial < 1 || p->cpu_throttle_initial > 99) {
        error_setg(errp, fmt, "cpu_throttle_initial",
                   "an integer in the range of 1 to 99");
        return false;
    }
    if (p->cpu_throttle_increment < 1 || p->cpu_throttle_increment > 99) {
        error_setg(errp, fmt, "cpu_throttle_increment",
                   "an integer in the range of 1 to 99");
        return false;
    }
    return true;
}

/* The other parameters with a range, checked as 7.2 checks them. */
static bool params_check_limits(const MigrationParameters *p, Error **errp)
{
    const char *fmt = PARAM_RANGE_FMT;

    if (p->downtime_limit > 2000 * 1000) {
        error_setg(errp, fmt, "downtime_limit",
                   "an integer in the range of 0 to (2000 * 1000) ms");
        return false;
    }
    if (p->multifd_channels < 1) {
        error_setg(errp, fmt, "multifd_channels", "a value between 1 and 255");
        return false;
    }
    if (p->multifd_zlib_level > 9) {
        error_setg(errp, fmt, "multifd_zlib_level", "a value between 0 and 9");
        return false;
    }
    if (p->multifd_zstd_level > 20) {
        error_setg(errp, fmt, "multifd_zstd_level", "a value between 0 and 20");
        return false;
    }
    if (p->xbzrle_cache_size < TARGET_PAGE_SIZE ||
        (p->xbzrle_cache_size & (p->xbzrle_cache_size - 1))) {
        error_setg(errp, fmt, "xbzrle_cache_size",
                   "a power of two no less than the target page size");
        return false;
    }
    if (p->max_cpu_throttle < p->cpu_throttle_initial ||
        p->max_cpu_throttle > 99) {
        error_setg(errp, fmt, "max_cpu_throttle",
                   "an integer in the range of cpu_throttle_initial to 99");
        return false;
    }
    if (p->announce_initial > 100000) {
        error_setg(errp, fmt, "announce_initial",
                   "a value between 0 and 100000");
        return false;
    }
    if (p->announce_max > 100000) {
        error_setg(errp, fmt, "announce_max", "a value between 0 and 100000");
        return false;
    }
    if (p->announce_rounds > 1000) {
        error_setg(errp, fmt, "announce_rounds", "a value between 0 and 1000");
        return false;
    }
    if (p->announce_step < 1 || p->announce_step > 10000) {
        error_setg(errp, fmt, "announce_step", "a value between 0 and 10000");
        return false;
    }
    return true;
}

/* The value checks of QEMU 7.2, with its texts, in its order. */
static bool params_check(const MigrationParameters *p, Error **errp)
{
    return params_check_throttle(p, errp) && params_check_limits(p, errp) &&
           mapped_ram_combination_ok(caps, p->multifd_compression, NULL, errp);
}

void migrate_set_xbzrle_resize(MigrationXbzrleResize *resize)
{
    xbzrle_resize = resize;
}

/*
 * tmp is about to become the parameters: a new xbzrle-cache-size
 * resizes the running migration's cache first (it may fail).
 */
static bool params_prepare(const MigrationParameters *tmp, Error **errp)
{
    if (tmp->xbzrle_cache_size == params_get()->xbzrle_cache_size ||
        !xbzrle_resize) {
        return true;
    }
    return xbzrle_resize(tmp->xbzrle_cache_size, errp);
}

/* Apply tmp (already validated) as the current parameters. */
static void params_commit(const MigrationParameters *tmp)
{
    g_mutex_lock(&opt_lock);
    /* Word by word so concurrent readers see whole values. */
    for (size_t i = 0; i < ARRAY_SIZE(param_descs); i++) {
        const ParamDesc *d = &param_descs[i];
        MigrationParameters *src = (MigrationParameters *)tmp;

        switch (d->kind) {
        case PK_BOOL:
            __atomic_store_n(param_bool(&params, d), *param_bool(src, d),
                             __ATOMIC_RELAXED);
            break;
        case PK_STR:
            __atomic_store_n(param_str(&params, d), *param_str(src, d),
                             __ATOMIC_RELEASE);
            break;
        default:
            __atomic_store_n(param_u64(&params, d), *param_u64(src, d),
                             __ATOMIC_RELAXED);
            break;
        }
    }
    g_mutex_unlock(&opt_lock);
    migration_parameters_changed();
}

static bool param_set_json(MigrationParameters *p, const ParamDesc *d,
                           json_object *val, Error **errp)
{
    switch (d->kind) {
    case PK_BOOL:
        if (!json_object_is_type(val, json_type_boolean)) {
            error_setg(errp,
                       "Invalid parameter type for '%s', "
                       "expected: boolean",
                       d->name);
            return false;
        }
        *param_bool(p, d) = json_object_get_boolean(val);
        return true;
    case PK_STR:
        if (json_object_is_type(val, json_type_null) || !val) {
            *param_str(p, d) = g_intern_static_string("");
            return true;
        }
        if (!json_object_is_type(val, json_type_string)) {
            error_setg(errp,
                       "Invalid parameter type for '%s', "
                       "expected: string",
                       d->name);
            return false;
        }
        *param_str(p, d) = g_intern_string(json_object_get_string(val));
        return true;
    case PK_COMPRESSION: {
        const char *s;

        if (!json_object_is_type(val, json_type_string)) {
            error_setg(errp,
                       "Invalid parameter type for '%s', "
                       "expected: string",
                       d->name);
            return false;
        }
        s = json_object_get_string(val);
        for (int i = 0; i < MULTIFD_COMPRESSION__MAX; i++) {
            if (!strcmp(s, compression_names[i])) {
                *param_u64(p, d) = i;
                return true;
            }
        }
        error_setg(errp, "Parameter '%s' does not accept value '%s'", d->name,
                   s);
        return false;
    }
    default: {
        uint64_t v;
        int64_t sv;

        if (!json_object_is_type(val, json_type_int)) {
            error_setg(errp, "Parameter '%s' expects %s", d->name,
                       d->kind == PK_U8    ? "uint8_t"
                       : d->kind == PK_U32 ? "uint32_t"
                                           : "uint64");
            return false;
        }
        sv = json_object_get_int64(val);
        if (sv == INT64_MAX) {
            v = json_object_get_uint64(val);
        } else {
            v = (uint64_t)sv; /* negative wraps, as QEMU's visitor */
        }
        if ((d->kind == PK_U8 && (sv < 0 || v > UINT8_MAX)) ||
            (d->kind == PK_U32 && (sv < 0 || v > UINT32_MAX))) {
            error_setg(errp, "Parameter '%s' expects %s", d->name,
                       d->kind == PK_U8 ? "uint8_t" : "uint32_t");
            return false;
        }
        *param_u64(p, d) = v;
        return true;
    }
    }
}

bool migrate_parameters_set_json(json_object *args, Error **errp)
{
    MigrationParameters tmp = *params_get();

    if (args && !json_object_is_type(args, json_type_object)) {
        error_setg(errp, "Invalid parameter type, expected: object");
        return false;
    }
    if (args) {
        json_object_object_foreach(args, key, val)
        {
            const ParamDesc *d = param_find(key);

            if (!d) {
                error_setg(errp, "Parameter '%s' is unexpected", key);
                return false;
            }
            if (!param_set_json(&tmp, d, val, errp)) {
                return false;
            }
        }
    }
    if (!params_check(&tmp, errp) || !params_prepare(&tmp, errp)) {
        return false;
    }
    params_commit(&tmp);
    return true;
}

/*
 * Parse an HMP size: a decimal number (fraction allowed with a suffix)
 * and an optional suffix B/k/K/M/G/T/P/E (powers of 1024); a bare number
 * is multiplied by default_unit.
 */
static bool parse_size(const char *str, uint64_t default_unit, uint64_t *out)
{
    char *end;
    double d;
    uint64_t unit = default_unit;
    unsigned long long ival;

    if (!*str || !g_ascii_isdigit(*str)) {
        return false;
    }
    errno = 0;
    ival = strtoull(str, &end, 10);
    if (errno) {
        return false;
    }
    d = ival;
    if (*end == '.') {
        d = g_ascii_strtod(str, &end);
    }
    if (*end) {
        switch (g_ascii_toupper(*end)) {
        case 'B':
            unit = 1;
            break;
        case 'K':
            unit = KiB;
            break;
        case 'M':
            unit = MiB;
            break;
        case 'G':
            unit = GiB;
            break;
        case 'T':
            unit = 1024 * GiB;
            break;
        case 'P':
            unit = 1024 * 1024 * GiB;
            break;
        case 'E':
            unit = 1024ULL * 1024 * 1024 * GiB;
            break;
        default:
            return false;
        }
        end++;
        if (*end) {
            return false;
        }
    }
    if (d * unit >= 18446744073709551616.0) {
        return false;
    }
    if (d == (double)ival && ival <= UINT64_MAX / unit) {
        *out = ival * unit;
    } else {
        *out = (uint64_t)(d * unit);
    }
    return true;
}

/* An HMP integer (uint8/uint32/uint64 parameters) into *v. */
static bool param_parse_int_str(const ParamDesc *d, const char *value,
                                uint64_t *v, Error **errp)
{
    if (value[0] == '-') {
        error_setg(errp, "Parameter '%s' expects %s", d->name,
                   d->kind == PK_U8 ? "uint8_t" : "uint32_t");
        return false;
    }
    if (!parse_size(value, 1, v)) {
        error_setg(errp, "Parameter '%s' expects uint64", d->name);
        return false;
    }
    if ((d->kind == PK_U8 && *v > UINT8_MAX) ||
        (d->kind == PK_U32 && *v > UINT32_MAX)) {
        error_setg(errp, "Parameter '%s' expects %s", d->name,
                   d->kind == PK_U8 ? "uint8_t" : "uint32_t");
        return false;
    }
    return true;
}

/* Parse HMP text for parameter d into tmp (nothing committed). */
static bool param_parse_str(MigrationParameters *tmp, const ParamDesc *d,
                            const char *value, Error **errp)
{
    uint64_t v;

    switch (d->kind) {
    case PK_BOOL:
        if (!strcmp(value, "on") || !strcmp(value, "yes") ||
            !strcmp(value, "true")) {
            *param_bool(tmp, d) = true;
        } else if (!strcmp(value, "off") || !strcmp(value, "no") ||
                   !strcmp(value, "false")) {
            *param_bool(tmp, d) = false;
        } else {
            error_setg(errp, "Parameter '%s' expects 'on' or 'off'", d->name);
            return false;
        }
        break;
    case PK_STR:
        *param_str(tmp, d) = g_intern_string(value);
        break;
    case PK_COMPRESSION: {
        bool found = false;

        for (int i = 0; i < MULTIFD_COMPRESSION__MAX; i++) {
            if (!strcmp(value, compression_names[i])) {
                *param_u64(tmp, d) = i;
                found = true;
            }
        }
        if (!found) {
            error_setg(errp, "Parameter '%s' does not accept value '%s'",
                       d->name, value);
            return false;
        }
        break;
    }
    case PK_BW:
        if (!parse_size(value, MiB, &v) || v > INT64_MAX) {
            error_setg(errp, "Invalid size %s", value);
            return false;
        }
        *param_u64(tmp, d) = v;
        break;
    case PK_SIZE:
        if (!parse_size(value, 1, &v)) {
            error_setg(errp,
                       "Parameter '%s' expects a non-negative number "
                       "below 2^64\nOptional suffix k, M, G, T, P or E "
                       "means kilo-, mega-, giga-, tera-, peta-\n"
                       "and exabytes, respectively.",
                       d->name);
            return false;
        }
        *param_u64(tmp, d) = v;
        break;
    default:
        if (!param_parse_int_str(d, value, &v, errp)) {
            return false;
        }
        *param_u64(tmp, d) = v;
        break;
    }
    return true;
}

bool migrate_parameter_set_str(const char *name, const char *value,
                               Error **errp)
{
    MigrationParameters tmp = *params_get();
    const ParamDesc *d = param_find(name);

    if (!d) {
        error_setg(errp, "invalid parameter value: %s", name);
        return false;
    }
    if (!param_parse_str(&tmp, d, value, errp) || !params_check(&tmp, errp) ||
        !params_prepare(&tmp, errp)) {
        return false;
    }
    params_commit(&tmp);
    return true;
}

json_object *migrate_parameters_to_json(void)
{
    MigrationParameters *p = (MigrationParameters *)params_get();
    json_object *o = json_object_new_object();

    for (size_t i = 0; i < ARRAY_SIZE(param_descs); i++) {
        const ParamDesc *d = &param_descs[i];
        json_object *v;

        switch (d->kind) {
        case PK_BOOL:
            v = json_object_new_boolean(*param_bool(p, d));
            break;
        case PK_STR:
            v = json_object_new_string(*param_str(p, d));
            break;
        case PK_COMPRESSION:
            v = json_object_new_string(compression_names[*param_u64(p, d)]);
            break;
        default:
            v = json_object_new_uint64(*param_u64(p, d));
            break;
        }
        json_object_object_add(o, d->name, v);
    }
    return o;
}

char *migrate_parameters_to_hmp(void)
{
    MigrationParameters *p = (MigrationParameters *)params_get();
    GString *s = g_string_new("");

    for (size_t i = 0; i < ARRAY_SIZE(param_descs); i++) {
        const ParamDesc *d = &param_descs[i];

        if (!d->hmp_unit) {
            continue;
        }
        g_string_append_printf(s, "%s: ", d->name);
        switch (d->kind) {
        case PK_BOOL:
            g_string_append(s, *param_bool(p, d) ? "on" : "off");
            break;
        case PK_STR:
            g_string_append_printf(s, "'%s'", *param_str(p, d));
            break;
        case PK_COMPRESSION:
            g_string_append(s, compression_names[*param_u64(p, d)]);
            break;
        default:
            g_string_append_printf(s, "%" PRIu64, *param_u64(p, d));
            break;
        }
        g_string_append_printf(s, "%s\n", d->hmp_unit);
    }
    return g_string_free(s, false);
}

/* ---- accessors ---- */

#define PARAM_U64(field)                                                       \
    __atomic_load_n(&((MigrationParameters *)params_get())->field,             \
                    __ATOMIC_RELAXED)

bool migrate_auto_converge(void)
{
    return migrate_cap(MIGRATION_CAPABILITY_AUTO_CONVERGE);
}

bool migrate_events(void)
{
    return migrate_cap(MIGRATION_CAPABILITY_EVENTS);
}

bool migrate_pause_before_switchover(void)
{
    return migrate_cap(MIGRATION_CAPABILITY_PAUSE_BEFORE_SWITCHOVER);
}

bool migrate_return_path(void)
{
    return migrate_cap(MIGRATION_CAPABILITY_RETURN_PATH);
}

bool migrate_zero_blocks(void)
{
    return migrate_cap(MIGRATION_CAPABILITY_ZERO_BLOCKS);
}

bool migrate_xbzrle(void)
{
    return migrate_cap(MIGRATION_CAPABILITY_XBZRLE);
}

bool migrate_multifd(void)
{
    return migrate_cap(MIGRATION_CAPABILITY_MULTIFD);
}

bool migrate_compress(void)
{
    return migrate_cap(MIGRATION_CAPABILITY_COMPRESS);
}

bool migrate_postcopy_ram(void)
{
    return migrate_cap(MIGRATION_CAPABILITY_POSTCOPY_RAM);
}

bool migrate_ignore_shared(void)
{
    return migrate_cap(MIGRATION_CAPABILITY_X_IGNORE_SHARED);
}

bool migrate_validate_uuid(void)
{
    return migrate_cap(MIGRATION_CAPABILITY_VALIDATE_UUID);
}

bool migrate_mapped_ram(void)
{
    return migrate_cap(MIGRATION_CAPABILITY_MAPPED_RAM);
}

bool migrate_multifd_connections(void)
{
    return migrate_multifd() && !migrate_mapped_ram();
}

bool migrate_direct_io(void)
{
    return __atomic_load_n(&params_get()->direct_io, __ATOMIC_RELAXED);
}

bool migrate_checkpoint_assisted(void)
{
    return migrate_cap(MIGRATION_CAPABILITY_X_CHECKPOINT_ASSISTED);
}

bool migrate_precopy_recover(void)
{
    return migrate_cap(MIGRATION_CAPABILITY_X_PRECOPY_RECOVER);
}

uint64_t migrate_max_bandwidth(void)
{
    return PARAM_U64(max_bandwidth);
}

uint64_t migrate_max_postcopy_bandwidth(void)
{
    return PARAM_U64(max_postcopy_bandwidth);
}

uint64_t migrate_downtime_limit(void)
{
    return PARAM_U64(downtime_limit);
}

int migrate_cpu_throttle_initial(void)
{
    return PARAM_U64(cpu_throttle_initial);
}

int migrate_cpu_throttle_increment(void)
{
    return PARAM_U64(cpu_throttle_increment);
}

bool migrate_cpu_throttle_tailslow(void)
{
    return PARAM_U64(cpu_throttle_tailslow);
}

int migrate_max_cpu_throttle(void)
{
    return PARAM_U64(max_cpu_throttle);
}

int migrate_throttle_trigger_threshold(void)
{
    return PARAM_U64(throttle_trigger_threshold);
}

int migrate_multifd_channels(void)
{
    return PARAM_U64(multifd_channels);
}

MultiFDCompression migrate_multifd_compression(void)
{
    return PARAM_U64(multifd_compression);
}

int migrate_multifd_zlib_level(void)
{
    return PARAM_U64(multifd_zlib_level);
}

int migrate_multifd_zstd_level(void)
{
    return PARAM_U64(multifd_zstd_level);
}

uint64_t migrate_xbzrle_cache_size(void)
{
    return PARAM_U64(xbzrle_cache_size);
}

int migrate_compress_level(void)
{
    return PARAM_U64(compress_level);
}

int migrate_compress_threads(void)
{
    return PARAM_U64(compress_threads);
}

bool migrate_compress_wait_thread(void)
{
    return __atomic_load_n(
        &((MigrationParameters *)params_get())->compress_wait_thread,
        __ATOMIC_RELAXED);
}

int migrate_decompress_threads(void)
{
    return PARAM_U64(decompress_threads);
}

uint64_t migrate_announce_initial(void)
{
    return PARAM_U64(announce_initial);
}

uint64_t migrate_announce_max(void)
{
    return PARAM_U64(announce_max);
}

uint64_t migrate_announce_rounds(void)
{
    return PARAM_U64(announce_rounds);
}

uint64_t migrate_announce_step(void)
{
    return PARAM_U64(announce_step);
}

uint32_t migrate_checkpoint_delay(void)
{
    return PARAM_U64(x_checkpoint_delay);
}

uint32_t migrate_progress_timeout(void)
{
    return PARAM_U64(x_progress_timeout);
}

const char *migrate_tls_creds(void)
{
    return __atomic_load_n(&((MigrationParameters *)params_get())->tls_creds,
                           __ATOMIC_ACQUIRE);
}

const char *migrate_tls_hostname(void)
{
    return __atomic_load_n(&((MigrationParameters *)params_get())->tls_hostname,
                           __ATOMIC_ACQUIRE);
}

const char *migrate_tls_authz(void)
{
    return __atomic_load_n(&((MigrationParameters *)params_get())->tls_authz,
                           __ATOMIC_ACQUIRE);
}

const char *migrate_checkpoint(void)
{
    return __atomic_load_n(&((MigrationParameters *)params_get())->checkpoint,
                           __ATOMIC_ACQUIRE);
}
