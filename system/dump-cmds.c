/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * dump-cmds.c: dump-guest-memory, query-dump and
 * query-dump-guest-memory-capability (QMP and HMP) around the ELF writer
 * in dump.c.
 */
#include "qemu/osdep.h"
#include "qapi/qmp/dispatch.h"
#include "monitor/monitor.h"
#include "sysemu/dump.h"
#include "sysemu/runstate.h"
#include "machine-cmds.h"

static bool parse_u64(const char *s, uint64_t *out)
{
    char *end;

    if (!s || !*s || *s == '-') {
        return false;
    }
    errno = 0;
    *out = g_ascii_strtoull(s, &end, 0);
    return errno == 0 && *end == '\0';
}

static bool dump_open_protocol(const char *protocol, int *fd, Error **errp)
{
    if (g_str_has_prefix(protocol, "file:")) {
        const char *path = protocol + 5;

        *fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        if (*fd < 0) {
            error_setg_errno(errp, errno, "Could not open '%s'", path);
            return false;
        }
        return true;
    }
    if (g_str_has_prefix(protocol, "fd:")) {
        *fd = monitor_fd_param(protocol + 3, errp);
        return *fd >= 0;
    }
    error_setg(errp, "Parameter 'protocol' expects protocol starting with "
                     "'file:' or 'fd:'");
    return false;
}

/* The last dump, for query-dump (main thread). */
static const char *dump_last_status = "none";
static uint64_t dump_last_total;

/* Stop the VM around the dump, as QEMU does, and write the file. */
static bool dump_run(int fd, bool has_range, uint64_t begin, uint64_t length,
                     Error **errp)
{
    bool was_running = runstate_is_running();
    uint64_t total = 0;
    bool ok;
    json_object *data, *result;

    if (was_running) {
        vm_stop(RUN_STATE_SAVE_VM);
    }
    ok = dump_guest_memory_elf(fd, has_range, begin, length, &total, errp);
    close(fd);
    if (was_running) {
        vm_start();
    }

    dump_last_status = ok ? "completed" : "failed";
    dump_last_total = total;
    result = json_object_new_object();
    json_object_object_add(result, "total", json_object_new_int64(total));
    json_object_object_add(result, "status",
                           json_object_new_string(ok ? "completed" : "failed"));
    json_object_object_add(result, "completed",
                           json_object_new_int64(ok ? total : 0));
    data = json_object_new_object();
    json_object_object_add(data, "result", result);
    qapi_event_send("DUMP_COMPLETED", data);
    return ok;
}

static bool qmp_dump_guest_memory(json_object *args, json_object **ret,
                                  Error **errp)
{
    static const char *const known[] = {"paging", "protocol", "detach", "begin",
                                        "length", "format",   NULL};
    const char *protocol = NULL, *format = NULL;
    bool paging = false, detach = false;
    int64_t begin = 0, length = 0;
    bool has_begin, has_length;
    int fd;

    if (!qmp_args_check_known(args, known, errp) ||
        !qmp_arg_bool(args, "paging", true, &paging, errp) ||
        !qmp_arg_str(args, "protocol", true, &protocol, errp) ||
        !qmp_arg_bool(args, "detach", false, &detach, errp) ||
        !qmp_arg_int(args, "begin", false, &begin, errp) ||
        !qmp_arg_int(args, "length", false, &length, errp) ||
        !qmp_arg_str(args, "format", false, &format, errp)) {
        return false;
    }
    has_begin = json_object_object_get_ex(args, "begin", NULL);
    has_length = json_object_object_get_ex(args, "length", NULL);
    if (has_begin && !has_length) {
        error_setg(errp, "Parameter 'length' is missing");
        return false;
    }
    if (has_length && !has_begin) {
        error_setg(errp, "Parameter 'begin' is missing");
        return false;
    }
    if (format && strcmp(format, "elf")) {
        error_setg(errp,
                   "dump-guest-memory: format '%s' is not supported "
                   "(only elf)",
                   format);
        return false;
    }
    if (paging) {
        error_setg(errp, "dump-guest-memory: paging=true is not supported; "
                         "use paging=false");
        return false;
    }
    if (has_begin && (begin < 0 || length <= 0)) {
        error_setg(errp, "Invalid parameter 'length'");
        return false;
    }
    if (!dump_open_protocol(protocol, &fd, errp)) {
        return false;
    }
    /* detach: the dump is synchronous and quick; the event still follows */
    return dump_run(fd, has_begin, begin, length, errp);
}

static bool qmp_query_dump(json_object *args, json_object **ret, Error **errp)
{
    bool done = !strcmp(dump_last_status, "completed");

    *ret = json_object_new_object();
    json_object_object_add(*ret, "status",
                           json_object_new_string(dump_last_status));
    json_object_object_add(*ret, "completed",
                           json_object_new_int64(done ? dump_last_total : 0));
    json_object_object_add(*ret, "total",
                           json_object_new_int64(dump_last_total));
    return true;
}

static bool qmp_query_dump_capability(json_object *args, json_object **ret,
                                      Error **errp)
{
    json_object *formats = json_object_new_array();

    json_object_array_add(formats, json_object_new_string("elf"));
    *ret = json_object_new_object();
    json_object_object_add(*ret, "formats", formats);
    return true;
}

static void hmp_dump_guest_memory(Monitor *mon, int argc, char **argv)
{
    Error *err = NULL;
    const char *file = NULL;
    uint64_t begin = 0, length = 0;
    bool has_range = false;
    int i, nargs = 0;
    const char *rest[3];
    g_autofree char *protocol = NULL;
    int fd;

    for (i = 0; i < argc; i++) {
        const char *a = argv[i];

        if (a[0] == '-' && nargs == 0 && a[1] && !a[2]) {
            switch (a[1]) {
            case 'p':
                monitor_printf(mon, "Error: dump-guest-memory: paging (-p) "
                                    "is not supported\n");
                return;
            case 'd':
                continue;
            case 'z':
            case 'l':
            case 's':
            case 'w':
                monitor_printf(mon, "Error: dump-guest-memory: only the "
                                    "ELF format is supported\n");
                return;
            default:
                break;
            }
        }
        if (nargs == 3) {
            monitor_printf(mon, "dump-guest-memory: extraneous characters "
                                "at the end of line\n");
            return;
        }
        rest[nargs++] = a;
    }
    if (nargs == 0) {
        monitor_printf(mon, "Parameter 'filename' is missing\n");
        return;
    }
    file = rest[0];
    if (nargs == 2) {
        monitor_printf(mon, "Parameter 'length' is missing\n");
        return;
    }
    if (nargs == 3) {
        if (!parse_u64(rest[1], &begin) || !parse_u64(rest[2], &length) ||
            length == 0) {
            monitor_printf(mon, "Error: dump-guest-memory: invalid begin or "
                                "length\n");
            return;
        }
        has_range = true;
    }
    protocol = g_strdup_printf("file:%s", file);
    if (!dump_open_protocol(protocol, &fd, &err) ||
        !dump_run(fd, has_range, begin, length, &err)) {
        hmp_handle_error(mon, err);
    }
}

void dump_register_commands(void)
{
    qmp_register_command("dump-guest-memory", qmp_dump_guest_memory, 0);
    qmp_register_command("query-dump", qmp_query_dump, 0);
    qmp_register_command("query-dump-guest-memory-capability",
                         qmp_query_dump_capability, 0);
    hmp_register_command("dump-guest-memory",
                         "dump-guest-memory [-p] [-d] [-z] [-l] [-s] [-w] "
                         "filename [begin] [length]",
                         "dump guest memory into file 'filename' (ELF)",
                         hmp_dump_guest_memory);
}
