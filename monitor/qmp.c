/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * qmp.c: the QMP protocol on a monitor connection.
 *
 * Session: we send the greeting; the client must run qmp_capabilities
 * before anything else; then commands and events.  Every message we send
 * is one JSON line ending "\r\n".  Input is a stream of JSON objects cut
 * by json-c's tokener (qapi/json-stream.c): objects may be split across
 * reads or share one; a syntax error gets a GenericError reply and the
 * stream resynchronises at the next line.
 */
#include "qemu/osdep.h"
#include "monitor-internal.h"
#include "qapi/version.h"
#include "sysemu/main-loop.h"

void monitor_qmp_send(Monitor *mon, json_object *obj)
{
    g_autofree char *line = qmp_json_to_string(obj);

    monitor_write(mon, line, strlen(line));
    monitor_write(mon, "\r\n", 2);
}

static void monitor_qmp_handle(void *opaque, json_object *req, Error *err)
{
    Monitor *mon = opaque;
    Monitor *old;
    json_object *resp;

    if (mon->dead) {
        json_object_put(req);
        error_free(err);
        return;
    }
    old = monitor_set_cur(mon);
    resp = qmp_dispatch_full(req, !mon->commands_mode, err);
    monitor_set_cur(old);
    /* Events raised by the command go out before its reply. */
    qapi_event_flush();
    monitor_qmp_send(mon, resp);
    json_object_put(resp);
    json_object_put(req);
    error_free(err);
}

void monitor_qmp_input(Monitor *mon, const char *buf, size_t len)
{
    json_stream_parser_feed(mon->parser, buf, len);
    /*
     * An fd not claimed by the commands of this read is for nothing,
     * unless a command is still arriving (the fd comes with its first
     * bytes).
     */
    if (!json_stream_parser_busy(mon->parser)) {
        monitor_drop_recv_fds(mon);
    }
}

json_object *monitor_qmp_version_info(void)
{
    json_object *version, *qemu;

    qemu = json_object_new_object();
    json_object_object_add(qemu, "micro",
                           json_object_new_int(TERN_QEMU_COMPAT_MICRO));
    json_object_object_add(qemu, "minor",
                           json_object_new_int(TERN_QEMU_COMPAT_MINOR));
    json_object_object_add(qemu, "major",
                           json_object_new_int(TERN_QEMU_COMPAT_MAJOR));
    version = json_object_new_object();
    json_object_object_add(version, "qemu", qemu);
    json_object_object_add(
        version, "package",
        json_object_new_string(TERN_PKGVERSION " " TERN_VERSION));
    return version;
}

bool qmp_human_monitor_command(json_object *args, json_object **ret,
                               Error **errp)
{
    static const char *const known[] = {"command-line", "cpu-index", NULL};
    const char *line;
    char *out;

    if (!qmp_args_check_known(args, known, errp) ||
        !qmp_arg_str(args, "command-line", true, &line, errp)) {
        return false;
    }
    out = hmp_run_command_line(line);
    *ret = json_object_new_string(out);
    g_free(out);
    return true;
}

void monitor_qmp_greet(Monitor *mon)
{
    json_object *greeting, *qmp, *version, *caps;

    if (!mon->parser) {
        mon->parser = json_stream_parser_new(monitor_qmp_handle, mon);
    }
    version = monitor_qmp_version_info();
    caps = json_object_new_array();
    json_object_array_add(caps, json_object_new_string("oob"));
    qmp = json_object_new_object();
    json_object_object_add(qmp, "version", version);
    json_object_object_add(qmp, "capabilities", caps);
    greeting = json_object_new_object();
    json_object_object_add(greeting, "QMP", qmp);
    monitor_qmp_send(mon, greeting);
    json_object_put(greeting);
}

void monitor_qmp_broadcast_event(json_object *event)
{
    g_autofree char *line = qmp_json_to_string(event);

    for (GList *l = monitor_list(); l; l = l->next) {
        Monitor *mon = l->data;

        if (mon->is_qmp && mon->commands_mode && !mon->dead) {
            monitor_write(mon, line, strlen(line));
            monitor_write(mon, "\r\n", 2);
        }
    }
}

/* qmp_capabilities [enable: ["oob"]]: leave negotiation mode. */
static bool qmp_qmp_capabilities(json_object *args, json_object **ret,
                                 Error **errp)
{
    static const char *const known[] = {"enable", NULL};
    Monitor *mon = monitor_cur();
    json_object *enable;

    if (!qmp_args_check_known(args, known, errp)) {
        return false;
    }
    if (json_object_object_get_ex(args, "enable", &enable) && enable) {
        if (!json_object_is_type(enable, json_type_array)) {
            error_setg(errp, "Invalid parameter type for 'enable', "
                             "expected: array");
            return false;
        }
        for (size_t i = 0; i < json_object_array_length(enable); i++) {
            json_object *c = json_object_array_get_idx(enable, i);
            const char *s = json_object_get_string(c);

            if (!json_object_is_type(c, json_type_string) ||
                strcmp(s, "oob") != 0) {
                error_setg(errp,
                           "Parameter 'enable' does not accept "
                           "value '%s'",
                           s ? s : "");
                return false;
            }
        }
    }
    if (mon) {
        mon->commands_mode = true;
    }
    return true;
}

/* QMP events are written by the main loop, the monitor's thread. */
static const QAPIEventDelivery monitor_qmp_event_delivery = {
    .in_sink_thread = qemu_in_main_thread,
    .schedule = main_loop_schedule,
};

void monitor_qmp_register_capabilities(void);
void monitor_qmp_register_capabilities(void)
{
    qmp_register_command("qmp_capabilities", qmp_qmp_capabilities,
                         QCO_ALLOW_PRECONFIG);
    qapi_event_set_sink(monitor_qmp_broadcast_event);
    qapi_event_set_delivery(&monitor_qmp_event_delivery);
}
