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
#include "migration/options.h"
#include "migration.h"

void migration_register_hmp_commands(void);

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
        error_setg(errp, "Postcopy recovery is not supported by Tern yet");
        return false;
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
