/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * dump-cmds.c: dump-guest-memory, query-dump and
 * query-dump-guest-memory-capability (QMP and HMP) around the ELF writer
 * in dump.c.
 */
#include "qemu/osdep.h"
#include "qapi/qmp/dispatch.h"
#include "monitor/monitor.h"
#include "migration/blocker.h"
#include "sysemu/dump.h"
#include "sysemu/main-loop.h"
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

/*
 * One dump.  A detached dump (detach=true) writes from its own thread
 * while the VM stays stopped, and the monitor keeps answering; the end
 * (close, resume, DUMP_COMPLETED) always runs on the main thread.
 */
typedef struct DumpJob {
    int fd;
    bool has_range;
    uint64_t begin;
    uint64_t length;
    bool was_running;
    uint64_t written; /* atomic: bytes of guest memory written */
    bool ok;
    Error *err;
    GThread *thread; /* detached dumps only */
} DumpJob;

/* The last dump, for query-dump (main thread). */
static const char *dump_last_status = "none";
static uint64_t dump_last_total;
static DumpJob *dump_active; /* a dump in progress, or NULL */

/*
 * While a dump runs the guest's memory is being read out with the VM
 * stopped: a migration then would resume the guest under the dump, so
 * QEMU blocks migration (even with -only-migratable) with this text.
 */
static Error *dump_migration_blocker;

/* Main thread: close, resume, report. */
static void dump_finish(DumpJob *job)
{
    json_object *data, *result;
    uint64_t written = __atomic_load_n(&job->written, __ATOMIC_RELAXED);

    close(job->fd);
    migrate_del_blocker(dump_migration_blocker);
    if (job->was_running) {
        vm_start();
    }
    dump_last_status = job->ok ? "completed" : "failed";
    dump_last_total = written;
    dump_active = NULL;
    result = json_object_new_object();
    json_object_object_add(result, "total", json_object_new_int64(written));
    json_object_object_add(
        result, "status",
        json_object_new_string(job->ok ? "completed" : "failed"));
    json_object_object_add(result, "completed",
                           json_object_new_int64(job->ok ? written : 0));
    data = json_object_new_object();
    json_object_object_add(data, "result", result);
    if (job->err) {
        json_object_object_add(
            data, "error", json_object_new_string(error_get_pretty(job->err)));
    }
    qapi_event_send("DUMP_COMPLETED", data);
}

static void dump_write(DumpJob *job)
{
    job->ok = dump_guest_memory_elf(job->fd, job->has_range, job->begin,
                                    job->length, &job->written, &job->err);
}

/* Main loop, after the dump thread ended. */
static void dump_detached_done(void *opaque)
{
    DumpJob *job = opaque;

    g_thread_join(job->thread);
    dump_finish(job);
    error_free(job->err);
    g_free(job);
}

static gpointer dump_thread(gpointer opaque)
{
    dump_write(opaque);
    main_loop_schedule(dump_detached_done, opaque);
    return NULL;
}

/*
 * Stop the VM around the dump, as QEMU does, and write the file (in a
 * thread when detach).  Takes fd.
 */
static bool dump_run(int fd, bool has_range, uint64_t begin, uint64_t length,
                     bool detach, Error **errp)
{
    DumpJob *job;
    bool ok;

    if (!dump_migration_blocker) {
        error_setg(&dump_migration_blocker,
                   "Live migration disabled: dump-guest-memory in progress");
    }
    if (migrate_add_blocker_internal(dump_migration_blocker, errp) < 0) {
        close(fd);
        return false;
    }
    job = g_new0(DumpJob, 1);
    job->fd = fd;
    job->has_range = has_range;
    job->begin = begin;
    job->length = length;
    job->was_running = runstate_is_running();
    dump_active = job;
    dump_last_status = "active";
    dump_last_total = dump_guest_memory_size(has_range, begin, length);
    if (job->was_running) {
        vm_stop(RUN_STATE_SAVE_VM);
    }
    if (detach) {
        job->thread = g_thread_new("dump", dump_thread, job);
        return true;
    }
    dump_write(job);
    ok = job->ok;
    if (!ok) {
        error_propagate(errp, error_copy(job->err));
    }
    dump_finish(job);
    error_free(job->err);
    g_free(job);
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
    if (dump_active) {
        error_setg(errp, "There is a dump in process, please wait.");
        return false;
    }
    if (!dump_open_protocol(protocol, &fd, errp)) {
        return false;
    }
    return dump_run(fd, has_begin, begin, length, detach, errp);
}

static bool qmp_query_dump(json_object *args, json_object **ret, Error **errp)
{
    bool done = !strcmp(dump_last_status, "completed");
    uint64_t completed = done ? dump_last_total : 0;

    if (dump_active) {
        completed = __atomic_load_n(&dump_active->written, __ATOMIC_RELAXED);
    }
    *ret = json_object_new_object();
    json_object_object_add(*ret, "status",
                           json_object_new_string(dump_last_status));
    json_object_object_add(*ret, "completed", json_object_new_int64(completed));
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
    bool has_range = false, detach = false;
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
                detach = true;
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
    if (dump_active) {
        monitor_printf(mon, "Error: There is a dump in process, please "
                            "wait.\n");
        return;
    }
    if (!dump_open_protocol(protocol, &fd, &err) ||
        !dump_run(fd, has_range, begin, length, detach, &err)) {
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
