/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * migration-qmp-cmds.c: the migration QMP commands, with QEMU 7.2's
 * names, arguments, replies and error texts.
 *
 * All run on the main thread with the BQL held and return at once; the
 * migration itself goes on in the migration thread (query-migrate and
 * the MIGRATION event report how it went).
 */
#include "qemu/osdep.h"
#include "qapi/error.h"
#include "qapi/qmp/dispatch.h"
#include "migration/misc.h"
#include "qemu/sockets.h"
#include "migration/options.h"
#include "migration.h"
#include "postcopy-recover.h"
#include "migration-info.h"
#include "options-json.h"

void migration_register_hmp_commands(void);

/* ---- query-migrate, built from a MigrationInfo ---- */

static void json_add_u64(json_object *o, const char *key, uint64_t v)
{
    json_object_object_add(o, key, json_object_new_uint64(v));
}

static void json_add_i64(json_object *o, const char *key, int64_t v)
{
    json_object_object_add(o, key, json_object_new_int64(v));
}

static void json_add_str(json_object *o, const char *key, const char *v)
{
    json_object_object_add(o, key, json_object_new_string(v));
}

/* The "ram" member, in 7.2's order. */
static json_object *migration_ram_info_to_json(const MigrationRamInfo *ram)
{
    json_object *o = json_object_new_object();

    json_add_u64(o, "transferred", ram->transferred);
    json_add_u64(o, "remaining", ram->remaining);
    json_add_u64(o, "total", ram->total);
    json_add_u64(o, "duplicate", ram->duplicate);
    json_add_u64(o, "skipped", ram->skipped);
    json_add_u64(o, "normal", ram->normal);
    json_add_u64(o, "normal-bytes", ram->normal_bytes);
    json_add_u64(o, "dirty-pages-rate", ram->dirty_pages_rate);
    json_add_u64(o, "dirty-sync-count", ram->dirty_sync_count);
    json_add_u64(o, "postcopy-requests", ram->postcopy_requests);
    json_add_u64(o, "page-size", ram->page_size);
    json_add_u64(o, "multifd-bytes", ram->multifd_bytes);
    json_add_u64(o, "precopy-bytes", ram->precopy_bytes);
    json_add_u64(o, "downtime-bytes", ram->downtime_bytes);
    json_add_u64(o, "postcopy-bytes", ram->postcopy_bytes);
    json_add_u64(o, "dirty-sync-missed-zero-copy",
                 ram->dirty_sync_missed_zero_copy);
    json_object_object_add(o, "mbps", json_object_new_double(ram->mbps));
    json_add_u64(o, "pages-per-second", ram->pages_per_second);
    return o;
}

/* The "xbzrle-cache" member, in 7.2's order. */
static json_object *migration_xbzrle_info_to_json(const MigrationXbzrleInfo *x)
{
    json_object *o = json_object_new_object();

    json_add_u64(o, "cache-size", x->cache_size);
    json_add_u64(o, "bytes", x->bytes);
    json_add_u64(o, "pages", x->pages);
    json_add_u64(o, "cache-miss", x->cache_miss);
    json_object_object_add(o, "cache-miss-rate",
                           json_object_new_double(x->cache_miss_rate));
    json_object_object_add(o, "encoding-rate",
                           json_object_new_double(x->encoding_rate));
    json_add_u64(o, "overflow", x->overflow);
    return o;
}

/* The "checkpoint" member: the source's and the destination's figures. */
static json_object *
migration_checkpoint_info_to_json(const MigrationCheckpointInfo *c)
{
    json_object *o = json_object_new_object();

    if (c->has_source) {
        json_add_u64(o, "pages", c->pages);
        json_add_u64(o, "moved-pages", c->moved_pages);
        json_add_u64(o, "bytes-saved", c->bytes_saved);
        json_add_u64(o, "requested-pages", c->requested);
        json_add_u64(o, "exchange-bytes", c->offer_bytes);
        json_add_i64(o, "exchange-time", c->offer_time);
        json_add_u64(o, "hashed-pages", c->hashed);
        json_add_u64(o, "unhashed-pages", c->unhashed);
        json_add_u64(o, "whole-pages", c->whole);
        json_add_u64(o, "link-speed", c->link_speed);
        json_add_u64(o, "hash-speed", c->hash_speed);
    }
    if (c->has_destination) {
        json_add_str(o, "file", c->file);
        json_add_str(o, "index-status", c->index_status);
        json_add_i64(o, "index-time", c->index_time);
        json_add_u64(o, "indexed-pages", c->indexed_pages);
        json_add_u64(o, "loaded-pages", c->loaded_pages);
        json_add_u64(o, "rerequested-pages", c->rerequested);
        json_add_u64(o, "busy-pages", c->busy);
    }
    return o;
}

/* One socket-address entry (QEMU's SocketAddress flattened). */
static json_object *migration_socket_address_to_json(const SocketAddress *a)
{
    json_object *o = json_object_new_object();

    switch (a->type) {
    case SOCKET_ADDRESS_TYPE_INET:
        json_add_str(o, "port", a->port);
        if (a->ipv4_only || strchr(a->host, ':') == NULL) {
            json_object_object_add(o, "ipv4", json_object_new_boolean(true));
        } else {
            json_object_object_add(o, "ipv6", json_object_new_boolean(true));
        }
        json_add_str(o, "host", a->host);
        json_add_str(o, "type", "inet");
        break;
    case SOCKET_ADDRESS_TYPE_UNIX:
        json_add_str(o, "path", a->path);
        json_add_str(o, "type", "unix");
        break;
    case SOCKET_ADDRESS_TYPE_VSOCK:
        json_add_str(o, "cid", a->cid);
        json_add_str(o, "port", a->port);
        json_add_str(o, "type", "vsock");
        break;
    default:
        json_add_str(o, "str", a->fd_name);
        json_add_str(o, "type", "fd");
        break;
    }
    return o;
}

/* postcopy-blocktime and postcopy-vcpu-blocktime (destination). */
static void migration_blocktime_to_json(json_object *o,
                                        const MigrationInfo *info)
{
    json_object *list = json_object_new_array();

    json_add_u64(o, "postcopy-blocktime", info->postcopy_blocktime);
    for (int i = 0; i < info->postcopy_vcpus; i++) {
        json_object_array_add(
            list, json_object_new_uint64(info->postcopy_vcpu_blocktime[i]));
    }
    json_object_object_add(o, "postcopy-vcpu-blocktime", list);
}

/* query-migrate's reply: the members present, in 7.2's order. */
static json_object *migration_info_to_json(const MigrationInfo *info)
{
    json_object *o = json_object_new_object();

    if (info->socket_addresses) {
        json_object *list = json_object_new_array();

        for (guint i = 0; i < info->socket_addresses->len; i++) {
            json_object_array_add(
                list, migration_socket_address_to_json(
                          g_ptr_array_index(info->socket_addresses, i)));
        }
        json_object_object_add(o, "socket-address", list);
    }
    if (info->has_status) {
        json_add_str(o, "status", migration_status_name(info->status));
    }
    if (info->error_desc) {
        json_add_str(o, "error-desc", info->error_desc);
    }
    if (info->has_setup_time) {
        json_add_i64(o, "setup-time", info->setup_time);
    }
    if (info->has_total_time) {
        json_add_i64(o, "total-time", info->total_time);
    }
    if (info->has_downtime) {
        json_add_i64(o, "downtime", info->downtime);
    }
    if (info->has_expected_downtime) {
        json_add_i64(o, "expected-downtime", info->expected_downtime);
    }
    if (info->has_ram) {
        json_object_object_add(o, "ram",
                               migration_ram_info_to_json(&info->ram));
    }
    if (info->has_xbzrle_cache) {
        json_object_object_add(
            o, "xbzrle-cache",
            migration_xbzrle_info_to_json(&info->xbzrle_cache));
    }
    if (info->has_compression) {
        const MigrationCompressionInfo *c = &info->compression;
        json_object *co = json_object_new_object();

        json_add_u64(co, "pages", c->pages);
        json_add_u64(co, "busy", c->busy);
        json_object_object_add(co, "busy-rate",
                               json_object_new_double(c->busy_rate));
        json_add_u64(co, "compressed-size", c->compressed_size);
        json_object_object_add(co, "compression-rate",
                               json_object_new_double(c->compression_rate));
        json_object_object_add(o, "compression", co);
    }
    if (info->has_cpu_throttle_percentage) {
        json_add_i64(o, "cpu-throttle-percentage",
                     info->cpu_throttle_percentage);
    }
    if (info->has_postcopy_blocktime) {
        migration_blocktime_to_json(o, info);
    }
    if (info->blocked_reasons) {
        json_object *list = json_object_new_array();

        for (char **r = info->blocked_reasons; *r; r++) {
            json_object_array_add(list, json_object_new_string(*r));
        }
        json_object_object_add(o, "blocked-reasons", list);
    }
    if (info->has_checkpoint) {
        json_object_object_add(
            o, "checkpoint",
            migration_checkpoint_info_to_json(&info->checkpoint));
    }
    return o;
}

static json_object *migrate_query(void)
{
    MigrationInfo info;
    json_object *o;

    migration_info_get(&info);
    o = migration_info_to_json(&info);
    migration_info_clear(&info);
    return o;
}

static bool qmp_migrate(json_object *args, json_object **ret, Error **errp)
{
    static const char *const known[] = {"uri",    "blk",    "inc",
                                        "detach", "resume", NULL};
    const char *uri;
    bool blk = false, inc = false, detach = false, resume = false;

    if (!qmp_args_check_known(args, known, errp) ||
        !qmp_arg_str(args, "uri", true, &uri, errp) ||
        !qmp_arg_bool(args, "blk", false, &blk, errp) ||
        !qmp_arg_bool(args, "inc", false, &inc, errp) ||
        !qmp_arg_bool(args, "detach", false, &detach, errp) ||
        !qmp_arg_bool(args, "resume", false, &resume, errp)) {
        return false;
    }
    if (blk || inc) {
        error_setg(errp, "Block migration is not supported by Tern");
        return false;
    }
    if (resume) {
        return migrate_resume(uri, errp);
    }
    return migrate_start(uri, errp);
}

static bool qmp_migrate_cancel(json_object *args, json_object **ret,
                               Error **errp)
{
    static const char *const known[] = {NULL};

    if (!qmp_args_check_known(args, known, errp)) {
        return false;
    }
    migrate_cancel();
    return true;
}

static bool qmp_migrate_continue(json_object *args, json_object **ret,
                                 Error **errp)
{
    static const char *const known[] = {"state", NULL};
    const char *state;

    if (!qmp_args_check_known(args, known, errp) ||
        !qmp_arg_str(args, "state", true, &state, errp)) {
        return false;
    }
    return migrate_continue(state, errp);
}

static bool qmp_migrate_start_postcopy(json_object *args, json_object **ret,
                                       Error **errp)
{
    static const char *const known[] = {NULL};

    return qmp_args_check_known(args, known, errp) &&
           migrate_start_postcopy(errp);
}

static bool qmp_migrate_pause(json_object *args, json_object **ret,
                              Error **errp)
{
    static const char *const known[] = {NULL};

    return qmp_args_check_known(args, known, errp) && migrate_pause(errp);
}

static bool qmp_migrate_recover(json_object *args, json_object **ret,
                                Error **errp)
{
    static const char *const known[] = {"uri", NULL};
    const char *uri;

    if (!qmp_args_check_known(args, known, errp) ||
        !qmp_arg_str(args, "uri", true, &uri, errp)) {
        return false;
    }
    return migrate_recover(uri, errp);
}

static bool qmp_migrate_incoming(json_object *args, json_object **ret,
                                 Error **errp)
{
    static const char *const known[] = {"uri", NULL};
    const char *uri;

    if (!qmp_args_check_known(args, known, errp) ||
        !qmp_arg_str(args, "uri", true, &uri, errp)) {
        return false;
    }
    return migrate_incoming_qmp(uri, errp);
}

static bool qmp_migrate_set_capabilities(json_object *args, json_object **ret,
                                         Error **errp)
{
    static const char *const known[] = {"capabilities", NULL};
    json_object *list;

    if (!qmp_args_check_known(args, known, errp)) {
        return false;
    }
    if (!json_object_object_get_ex(args, "capabilities", &list)) {
        error_setg(errp, "Parameter 'capabilities' is missing");
        return false;
    }
    return migrate_capabilities_set_json(list, errp);
}

static bool qmp_migrate_set_parameters(json_object *args, json_object **ret,
                                       Error **errp)
{
    return migrate_parameters_set_json(args, errp);
}

/* A query command without arguments: *ret = query(). */
static bool qmp_query_noargs(json_object *args, json_object **ret,
                             json_object *(*query)(void), Error **errp)
{
    static const char *const known[] = {NULL};

    if (!qmp_args_check_known(args, known, errp)) {
        return false;
    }
    *ret = query();
    return true;
}

static bool qmp_query_migrate(json_object *args, json_object **ret,
                              Error **errp)
{
    return qmp_query_noargs(args, ret, migrate_query, errp);
}

static bool qmp_query_migrate_capabilities(json_object *args, json_object **ret,
                                           Error **errp)
{
    return qmp_query_noargs(args, ret, migrate_capabilities_to_json, errp);
}

static bool qmp_query_migrate_parameters(json_object *args, json_object **ret,
                                         Error **errp)
{
    return qmp_query_noargs(args, ret, migrate_parameters_to_json, errp);
}

void migration_register_commands(void)
{
    qmp_register_command("migrate", qmp_migrate, 0);
    qmp_register_command("migrate_cancel", qmp_migrate_cancel, 0);
    qmp_register_command("migrate-continue", qmp_migrate_continue, 0);
    qmp_register_command("migrate-incoming", qmp_migrate_incoming, 0);
    qmp_register_command("migrate-pause", qmp_migrate_pause, 0);
    qmp_register_command("migrate-recover", qmp_migrate_recover, 0);
    qmp_register_command("migrate-start-postcopy", qmp_migrate_start_postcopy,
                         0);
    qmp_register_command("migrate-set-capabilities",
                         qmp_migrate_set_capabilities, 0);
    qmp_register_command("migrate-set-parameters", qmp_migrate_set_parameters,
                         0);
    qmp_register_command("query-migrate", qmp_query_migrate, 0);
    qmp_register_command("query-migrate-capabilities",
                         qmp_query_migrate_capabilities, 0);
    qmp_register_command("query-migrate-parameters",
                         qmp_query_migrate_parameters, 0);
    migration_register_hmp_commands();
}
