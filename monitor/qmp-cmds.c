/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * qmp-cmds.c: the front end's QMP commands (version, status, commands,
 * quit, stop, cont, objects, fds, human-monitor-command).
 */
#include "qemu/osdep.h"
#include "monitor-internal.h"
#include "qemu/option.h"
#include "qom/object.h"
#include "sysemu/runstate.h"
#include "sysemu/sysemu.h"
#include "sysemu/main-loop.h"

static const char *const no_args[] = {NULL};

static bool qmp_query_version(json_object *args, json_object **ret,
                              Error **errp)
{
    if (!qmp_args_check_known(args, no_args, errp)) {
        return false;
    }
    *ret = monitor_qmp_version_info();
    return true;
}

static bool qmp_query_status(json_object *args, json_object **ret, Error **errp)
{
    json_object *st;

    if (!qmp_args_check_known(args, no_args, errp)) {
        return false;
    }
    st = json_object_new_object();
    json_object_object_add(
        st, "status", json_object_new_string(runstate_name(runstate_get())));
    json_object_object_add(st, "singlestep", json_object_new_boolean(false));
    json_object_object_add(st, "running",
                           json_object_new_boolean(runstate_is_running()));
    *ret = st;
    return true;
}

static bool qmp_query_name(json_object *args, json_object **ret, Error **errp)
{
    json_object *o = json_object_new_object();

    if (qemu_get_vm_name()) {
        json_object_object_add(o, "name",
                               json_object_new_string(qemu_get_vm_name()));
    }
    *ret = o;
    return true;
}

/* query-uuid: {"UUID": "..."}, all zeros without -uuid (as QEMU). */
static bool qmp_query_uuid(json_object *args, json_object **ret, Error **errp)
{
    g_autofree char *str = qemu_uuid_unparse(qemu_uuid);
    json_object *o;

    if (!qmp_args_check_known(args, no_args, errp)) {
        return false;
    }
    o = json_object_new_object();
    json_object_object_add(o, "UUID", json_object_new_string(str));
    *ret = o;
    return true;
}

static bool qmp_query_commands(json_object *args, json_object **ret,
                               Error **errp)
{
    size_t n;
    const char **names;
    json_object *list;

    if (!qmp_args_check_known(args, no_args, errp)) {
        return false;
    }
    names = qmp_command_list(&n);
    list = json_object_new_array();
    for (size_t i = 0; i < n; i++) {
        json_object *o = json_object_new_object();

        json_object_object_add(o, "name", json_object_new_string(names[i]));
        json_object_array_add(list, o);
    }
    g_free(names);
    *ret = list;
    return true;
}

static bool qmp_quit(json_object *args, json_object **ret, Error **errp)
{
    if (!qmp_args_check_known(args, no_args, errp)) {
        return false;
    }
    qemu_system_shutdown_request_reason(0, "host-qmp-quit", false);
    /* SHUTDOWN goes out before the reply, as with QEMU. */
    runstate_shutdown_finish();
    return true;
}

/* True if the state can only be left by a reset (QEMU's list). */
static bool runstate_needs_reset(void)
{
    RunState s = runstate_get();

    return s == RUN_STATE_INTERNAL_ERROR || s == RUN_STATE_SHUTDOWN ||
           s == RUN_STATE_GUEST_PANICKED;
}

bool qmp_stop_cmd(Error **errp)
{
    if (runstate_get() == RUN_STATE_INMIGRATE) {
        autostart = false;
    } else {
        vm_stop(RUN_STATE_PAUSED);
    }
    return true;
}

bool qmp_cont_cmd(Error **errp)
{
    if (runstate_needs_reset()) {
        error_setg(errp, "Resetting the Virtual Machine is required");
        return false;
    }
    if (runstate_get() == RUN_STATE_SUSPENDED) {
        return true;
    }
    if (runstate_get() == RUN_STATE_FINISH_MIGRATE) {
        error_setg(errp, "Migration is not finalized yet");
        return false;
    }
    if (runstate_get() == RUN_STATE_INMIGRATE) {
        autostart = true;
    } else {
        vm_start();
    }
    return true;
}

static bool qmp_stop(json_object *args, json_object **ret, Error **errp)
{
    return qmp_args_check_known(args, no_args, errp) && qmp_stop_cmd(errp);
}

static bool qmp_cont(json_object *args, json_object **ret, Error **errp)
{
    return qmp_args_check_known(args, no_args, errp) && qmp_cont_cmd(errp);
}

/*
 * object-add {"qom-type": T, "id": ID, ...}: the other members become
 * string properties (true -> "on", numbers in decimal).
 */
static bool qmp_object_add(json_object *args, json_object **ret, Error **errp)
{
    const char *type = NULL, *id = NULL;
    QemuOpts *props;
    bool ok = false;

    if (!qmp_arg_str(args, "qom-type", false, &type, errp) ||
        !qmp_arg_str(args, "id", false, &id, errp)) {
        return false;
    }
    props = qemu_opts_new();
    json_object_object_foreach(args, key, val)
    {
        g_autofree char *s = NULL;

        if (!strcmp(key, "qom-type") || !strcmp(key, "id")) {
            continue;
        }
        switch (json_object_get_type(val)) {
        case json_type_string:
            s = g_strdup(json_object_get_string(val));
            break;
        case json_type_boolean:
            s = g_strdup(json_object_get_boolean(val) ? "on" : "off");
            break;
        case json_type_int:
            if (json_object_get_int64(val) < 0) {
                s = g_strdup_printf("%" PRId64, json_object_get_int64(val));
            } else {
                s = g_strdup_printf("%" PRIu64, json_object_get_uint64(val));
            }
            break;
        case json_type_double:
            s = g_strdup_printf("%.17g", json_object_get_double(val));
            break;
        default:
            error_setg(errp,
                       "Invalid parameter type for '%s', expected: "
                       "string",
                       key);
            goto out;
        }
        qemu_opt_set(props, key, s);
    }
    ok = user_creatable_add(type, id, props, errp) != NULL;
out:
    qemu_opts_free(props);
    return ok;
}

static bool qmp_object_del(json_object *args, json_object **ret, Error **errp)
{
    static const char *const known[] = {"id", NULL};
    const char *id;

    if (!qmp_args_check_known(args, known, errp) ||
        !qmp_arg_str(args, "id", true, &id, errp)) {
        return false;
    }
    return user_creatable_del(id, errp);
}

bool qmp_getfd_cmd(Monitor *mon, const char *fdname, Error **errp)
{
    int fd = mon ? monitor_take_recv_fd(mon) : -1;

    if (fd < 0) {
        error_setg(errp, "No file descriptor supplied via SCM_RIGHTS");
        return false;
    }
    if (g_ascii_isdigit(fdname[0])) {
        close(fd);
        error_setg(errp, "Parameter 'fdname' expects a name not starting "
                         "with a digit");
        return false;
    }
    monitor_add_fd(mon, fdname, fd);
    return true;
}

bool qmp_closefd_cmd(Monitor *mon, const char *fdname, Error **errp)
{
    if (!mon || !monitor_close_fd(mon, fdname)) {
        error_setg(errp, "File descriptor named '%s' not found", fdname);
        return false;
    }
    return true;
}

static bool qmp_getfd(json_object *args, json_object **ret, Error **errp)
{
    static const char *const known[] = {"fdname", NULL};
    const char *name;

    return qmp_args_check_known(args, known, errp) &&
           qmp_arg_str(args, "fdname", true, &name, errp) &&
           qmp_getfd_cmd(monitor_cur(), name, errp);
}

static bool qmp_closefd(json_object *args, json_object **ret, Error **errp)
{
    static const char *const known[] = {"fdname", NULL};
    const char *name;

    return qmp_args_check_known(args, known, errp) &&
           qmp_arg_str(args, "fdname", true, &name, errp) &&
           qmp_closefd_cmd(monitor_cur(), name, errp);
}

void monitor_register_qmp_commands(void)
{
    void monitor_qmp_register_capabilities(void);

    monitor_qmp_register_capabilities();
    qmp_register_command("query-version", qmp_query_version,
                         QCO_ALLOW_PRECONFIG);
    qmp_register_command("query-status", qmp_query_status, QCO_ALLOW_PRECONFIG);
    qmp_register_command("query-name", qmp_query_name, QCO_ALLOW_PRECONFIG);
    qmp_register_command("query-uuid", qmp_query_uuid, QCO_ALLOW_PRECONFIG);
    qmp_register_command("query-commands", qmp_query_commands,
                         QCO_ALLOW_PRECONFIG);
    qmp_register_command("quit", qmp_quit, QCO_ALLOW_PRECONFIG);
    qmp_register_command("stop", qmp_stop, 0);
    qmp_register_command("cont", qmp_cont, 0);
    qmp_register_command("object-add", qmp_object_add, QCO_ALLOW_PRECONFIG);
    qmp_register_command("object-del", qmp_object_del, QCO_ALLOW_PRECONFIG);
    qmp_register_command("getfd", qmp_getfd, 0);
    qmp_register_command("closefd", qmp_closefd, 0);
    qmp_register_command("human-monitor-command", qmp_human_monitor_command, 0);
}

void monitor_register_commands(void)
{
    monitor_register_qmp_commands();
    monitor_register_schema_commands();
    monitor_register_hmp_commands();
}
