/*
 * cpus.c: starting and stopping the vCPUs, throttling them, and the
 * machine's monitor commands (see sysemu/runstate.h and sysemu/cpus.h).
 */
#include "qemu/osdep.h"
#include "qapi/qmp/dispatch.h"
#include "monitor/monitor.h"
#include "hw/boards.h"
#include "sysemu/accel.h"
#include "sysemu/cpus.h"
#include "sysemu/dump.h"
#include "sysemu/ramblock.h"
#include "sysemu/runstate.h"

/* ------------------------------------------------------------------ */
/* vm_stop / vm_start                                                   */

static void vcpus_pause(void)
{
    const AccelOps *ops = accel_current();

    cpu_throttle_wakeup();
    if (ops && ops->vcpus_pause) {
        ops->vcpus_pause();
    }
}

static void vcpus_resume(void)
{
    const AccelOps *ops = accel_current();

    if (ops && ops->vcpus_resume) {
        ops->vcpus_resume();
    }
}

int vm_stop(RunState state)
{
    if (!runstate_is_running()) {
        runstate_set(state);
        return 0;
    }
    vcpus_pause();
    runstate_set(state);
    vm_state_notify(false, state);
    qapi_event_send("STOP", NULL);
    return 0;
}

void vm_stop_force_state(RunState state)
{
    if (runstate_is_running()) {
        vm_stop(state);
    } else {
        runstate_set(state);
    }
}

int vm_start(void)
{
    if (runstate_is_running()) {
        return 0;
    }
    qapi_event_send("RESUME", NULL);
    runstate_set(RUN_STATE_RUNNING);
    vm_state_notify(true, RUN_STATE_RUNNING);
    vcpus_resume();
    return 0;
}

/* ------------------------------------------------------------------ */
/* Throttling                                                           */

#define CPU_THROTTLE_PCT_MIN 1
#define CPU_THROTTLE_PCT_MAX 99
#define CPU_THROTTLE_TIMESLICE_US 10000

/*
 * throttle_lock protects throttle_thread and the two conditions' waits;
 * throttle_pct, throttle_pending and throttle_wake_gen are atomics read
 * without it by the vCPU threads.
 */
static GMutex throttle_lock;
static GCond throttle_cond;       /* throttle thread: pct changed */
static GCond throttle_sleep_cond; /* vCPU sleepers: wake up early */
static GThread *throttle_thread;
static gint throttle_pct;
static gint throttle_pending;
static guint throttle_wake_gen;

static gpointer cpu_throttle_thread_fn(gpointer opaque)
{
    g_mutex_lock(&throttle_lock);
    for (;;) {
        int pct = g_atomic_int_get(&throttle_pct);
        int64_t period_us;
        const AccelOps *ops;

        if (pct == 0) {
            break;
        }
        period_us = CPU_THROTTLE_TIMESLICE_US * 100 / (100 - pct);
        g_cond_wait_until(&throttle_cond, &throttle_lock,
                          g_get_monotonic_time() + period_us);
        if (g_atomic_int_get(&throttle_pct) == 0) {
            break;
        }
        g_atomic_int_set(&throttle_pending, 1);
        ops = accel_current();
        if (ops && ops->vcpus_kick && runstate_is_running()) {
            ops->vcpus_kick();
        }
    }
    throttle_thread = NULL;
    g_mutex_unlock(&throttle_lock);
    return NULL;
}

void cpu_throttle_set(int pct)
{
    GThread *old = NULL;

    pct = MAX(CPU_THROTTLE_PCT_MIN, MIN(pct, CPU_THROTTLE_PCT_MAX));
    g_mutex_lock(&throttle_lock);
    g_atomic_int_set(&throttle_pct, pct);
    if (!throttle_thread) {
        throttle_thread =
            g_thread_new("cpu-throttle", cpu_throttle_thread_fn, NULL);
        old = throttle_thread;
    }
    g_cond_broadcast(&throttle_cond);
    g_mutex_unlock(&throttle_lock);
    if (old) {
        g_thread_unref(old); /* detached: it clears throttle_thread */
    }
}

void cpu_throttle_stop(void)
{
    g_mutex_lock(&throttle_lock);
    g_atomic_int_set(&throttle_pct, 0);
    g_atomic_int_set(&throttle_pending, 0);
    g_cond_broadcast(&throttle_cond);
    g_mutex_unlock(&throttle_lock);
    cpu_throttle_wakeup();
}

int cpu_throttle_get_percentage(void)
{
    return g_atomic_int_get(&throttle_pct);
}

bool cpu_throttle_active(void)
{
    return cpu_throttle_get_percentage() > 0;
}

bool cpu_throttle_pending(void)
{
    return g_atomic_int_get(&throttle_pending) != 0;
}

void cpu_throttle_vcpu_sleep(void)
{
    int pct;
    int64_t deadline;
    guint gen;

    if (!g_atomic_int_compare_and_exchange(&throttle_pending, 1, 0)) {
        return;
    }
    pct = g_atomic_int_get(&throttle_pct);
    if (pct <= 0) {
        return;
    }
    deadline = g_get_monotonic_time() +
               (int64_t)CPU_THROTTLE_TIMESLICE_US * pct / (100 - pct);
    g_mutex_lock(&throttle_lock);
    gen = throttle_wake_gen;
    while (gen == throttle_wake_gen &&
           g_cond_wait_until(&throttle_sleep_cond, &throttle_lock, deadline)) {
        /* woken: recheck the generation (spurious wake-ups) */
    }
    g_mutex_unlock(&throttle_lock);
}

void cpu_throttle_wakeup(void)
{
    g_mutex_lock(&throttle_lock);
    throttle_wake_gen++;
    g_cond_broadcast(&throttle_sleep_cond);
    g_mutex_unlock(&throttle_lock);
}

/* ------------------------------------------------------------------ */
/* system_reset                                                         */

/*
 * Reset as QEMU does: vCPUs paused, the machine and the vCPUs back to
 * power-on, RESET event, vCPUs resumed; a VM that was not running (e.g.
 * after a guest triple fault, internal-error) is left in prelaunch so
 * that cont starts it again.
 */
static bool machine_system_reset(Error **errp)
{
    MachineState *ms = current_machine();
    const AccelOps *ops = accel_current();
    RunState s = runstate_get();
    json_object *data;

    if (!ms) {
        error_setg(errp, "no machine to reset");
        return false;
    }
    if (s == RUN_STATE_INMIGRATE || s == RUN_STATE_FINISH_MIGRATE ||
        s == RUN_STATE_SAVE_VM) {
        error_setg(errp,
                   "system_reset is not possible while the VM "
                   "state is '%s'",
                   runstate_name(s));
        return false;
    }
    if (ms->has_vcpu && (!ops || !ops->vcpus_reset)) {
        error_setg(errp, "system_reset is not supported with -accel %s",
                   ops ? ops->name : "none");
        return false;
    }
    vcpus_pause();
    if ((ms->mc->reset && !ms->mc->reset(ms, errp)) ||
        (ms->has_vcpu && !ops->vcpus_reset(ms, errp))) {
        if (runstate_is_running()) {
            vcpus_resume();
        }
        return false;
    }
    data = json_object_new_object();
    json_object_object_add(data, "guest", json_object_new_boolean(false));
    json_object_object_add(data, "reason",
                           json_object_new_string("host-qmp-system-reset"));
    qapi_event_send("RESET", data);
    if (runstate_is_running()) {
        vcpus_resume();
    } else {
        runstate_set(RUN_STATE_PRELAUNCH);
    }
    return true;
}

static bool qmp_system_reset(json_object *args, json_object **ret, Error **errp)
{
    return machine_system_reset(errp);
}

static void hmp_system_reset(Monitor *mon, int argc, char **argv)
{
    Error *err = NULL;

    if (!machine_system_reset(&err)) {
        hmp_handle_error(mon, err);
    }
}

/* ------------------------------------------------------------------ */
/* xp /fmt addr                                                         */

/* Last format, as QEMU's monitor remembers it between x/xp commands. */
static int xp_last_format = 'x';
static int xp_last_size = 4;

static bool xp_parse_format(const char *s, int *count, int *format, int *size,
                            Error **errp)
{
    *count = 1;
    *format = xp_last_format;
    *size = -1;

    if (*s == '/') {
        s++;
        if (g_ascii_isdigit(*s)) {
            *count = 0;
            while (g_ascii_isdigit(*s)) {
                *count = *count * 10 + (*s++ - '0');
                if (*count > 1024 * 1024) {
                    error_setg(errp, "count too large");
                    return false;
                }
            }
        }
        for (; *s; s++) {
            switch (*s) {
            case 'o':
            case 'x':
            case 'd':
            case 'u':
            case 'c':
                *format = *s;
                break;
            case 'b':
                *size = 1;
                break;
            case 'h':
                *size = 2;
                break;
            case 'w':
                *size = 4;
                break;
            case 'g':
            case 'L':
                *size = 8;
                break;
            case 'i':
                *format = *s;
                break;
            default:
                error_setg(errp, "invalid char in format: '%c'", *s);
                return false;
            }
        }
    }
    if (*format == 'c') {
        *size = 1;
    } else if (*size < 0) {
        *size = (xp_last_format == 'c') ? 4 : xp_last_size;
    }
    xp_last_format = *format;
    xp_last_size = *size;
    return true;
}

static uint64_t xp_load(const uint8_t *p, int size)
{
    uint64_t v = 0;
    int i;

    for (i = size - 1; i >= 0; i--) {
        v = (v << 8) | p[i]; /* little-endian guest */
    }
    return v;
}

static void xp_print_char(Monitor *mon, uint64_t v)
{
    monitor_printf(mon, "'");
    switch (v) {
    case '\'':
        monitor_printf(mon, "\\'");
        break;
    case '\\':
        monitor_printf(mon, "\\\\");
        break;
    case '\n':
        monitor_printf(mon, "\\n");
        break;
    case '\r':
        monitor_printf(mon, "\\r");
        break;
    default:
        if (v >= 32 && v <= 126) {
            monitor_printf(mon, "%c", (int)v);
        } else {
            monitor_printf(mon, "\\x%02x", (unsigned)v);
        }
        break;
    }
    monitor_printf(mon, "'");
}

/* Print count units of size bytes from guest-physical addr, QEMU's layout. */
static void xp_dump(Monitor *mon, int count, int format, int size,
                    uint64_t addr)
{
    int line_size = (size == 1) ? 8 : 16;
    int digits;
    int64_t len = (int64_t)count * size;

    switch (format) {
    case 'o':
        digits = DIV_ROUND_UP(size * 8, 3);
        break;
    case 'u':
    case 'd':
        digits = DIV_ROUND_UP(size * 8 * 10, 33);
        break;
    default:
        digits = size * 2;
        break;
    }

    while (len > 0) {
        int l = MIN(len, line_size), i;
        const uint8_t *buf;

        monitor_printf(mon, "%016" PRIx64 ":", addr);
        buf = ram_gpa_to_host(addr, l);
        if (!buf) {
            monitor_printf(mon, " Cannot access memory\n");
            break;
        }
        for (i = 0; i < l; i += size) {
            uint64_t v = xp_load(buf + i, size);

            monitor_printf(mon, " ");
            switch (format) {
            case 'o':
                monitor_printf(mon, "%#*" PRIo64, digits, v);
                break;
            case 'u':
                monitor_printf(mon, "%*" PRIu64, digits, v);
                break;
            case 'd':
                /* QEMU loads units unsigned: only 'g' shows negatives */
                monitor_printf(mon, "%*" PRId64, digits, (int64_t)v);
                break;
            case 'c':
                xp_print_char(mon, v);
                break;
            default:
                monitor_printf(mon, "0x%0*" PRIx64, digits, v);
                break;
            }
        }
        monitor_printf(mon, "\n");
        addr += l;
        len -= l;
    }
}

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

/*
 * A small version of the monitor's expression language: numbers (C
 * bases), + - * / % & | ^ ~, unary minus, parentheses.  No registers.
 */
typedef struct XpExpr {
    const char *p;
    Error *err;
} XpExpr;

static uint64_t xp_expr_sum(XpExpr *e);

static void xp_expr_skip(XpExpr *e)
{
    while (*e->p == ' ' || *e->p == '\t') {
        e->p++;
    }
}

static uint64_t xp_expr_unary(XpExpr *e)
{
    uint64_t v;
    char *end;

    xp_expr_skip(e);
    switch (*e->p) {
    case '+':
        e->p++;
        return xp_expr_unary(e);
    case '-':
        e->p++;
        return -xp_expr_unary(e);
    case '~':
        e->p++;
        return ~xp_expr_unary(e);
    case '(':
        e->p++;
        v = xp_expr_sum(e);
        xp_expr_skip(e);
        if (*e->p != ')') {
            if (!e->err) {
                error_setg(&e->err, "')' expected");
            }
            return 0;
        }
        e->p++;
        return v;
    case '\0':
        if (!e->err) {
            error_setg(&e->err, "unexpected end of expression");
        }
        return 0;
    default:
        if (!g_ascii_isdigit(*e->p)) {
            if (!e->err) {
                error_setg(&e->err, "invalid char '%c' in expression", *e->p);
            }
            return 0;
        }
        errno = 0;
        v = strtoull(e->p, &end, 0);
        if (errno == ERANGE && !e->err) {
            error_setg(&e->err, "number too large");
        }
        e->p = end;
        return v;
    }
}

static uint64_t xp_expr_prod(XpExpr *e)
{
    uint64_t v = xp_expr_unary(e), w;

    for (;;) {
        char op;

        xp_expr_skip(e);
        op = *e->p;
        if (op != '*' && op != '/' && op != '%') {
            return v;
        }
        e->p++;
        w = xp_expr_unary(e);
        if (op == '*') {
            v *= w;
        } else if (w == 0) {
            if (!e->err) {
                error_setg(&e->err, "division by zero");
            }
            return 0;
        } else {
            v = op == '/' ? v / w : v % w;
        }
    }
}

static uint64_t xp_expr_logic(XpExpr *e)
{
    uint64_t v = xp_expr_prod(e);

    for (;;) {
        char op;

        xp_expr_skip(e);
        op = *e->p;
        if (op != '&' && op != '|' && op != '^') {
            return v;
        }
        e->p++;
        if (op == '&') {
            v &= xp_expr_prod(e);
        } else if (op == '|') {
            v |= xp_expr_prod(e);
        } else {
            v ^= xp_expr_prod(e);
        }
    }
}

static uint64_t xp_expr_sum(XpExpr *e)
{
    uint64_t v = xp_expr_logic(e);

    for (;;) {
        char op;

        xp_expr_skip(e);
        op = *e->p;
        if (op != '+' && op != '-') {
            return v;
        }
        e->p++;
        if (op == '+') {
            v += xp_expr_logic(e);
        } else {
            v -= xp_expr_logic(e);
        }
    }
}

static void hmp_xp(Monitor *mon, int argc, char **argv)
{
    Error *err = NULL;
    int count, format, size, argi = 0;
    const char *fmt = "";
    g_autofree char *line = NULL;
    XpExpr e = {0};
    uint64_t addr;

    if (argc > 0 && argv[0][0] == '/') {
        fmt = argv[argi++];
    }
    if (!xp_parse_format(fmt, &count, &format, &size, &err)) {
        goto err;
    }
    if (format == 'i') {
        MachineState *ms = current_machine();

        error_setg(&err, ms && ms->has_vcpu
                             ? "format 'i' (disassembly) is not supported"
                             : "Can not dump without CPU");
        monitor_printf(mon, "%s\n", error_get_pretty(err));
        error_free(err);
        return;
    }
    line = g_strjoinv(" ", argv + argi);
    e.p = line;
    addr = xp_expr_sum(&e);
    xp_expr_skip(&e);
    if (!e.err && *e.p) {
        error_setg(&e.err, "xp: extraneous characters at the end of line");
    }
    if (e.err) {
        err = e.err;
        goto err;
    }
    xp_dump(mon, count, format, size, addr);
    return;

err:
    monitor_printf(mon, "%s\nTry \"help xp\" for more information\n",
                   error_get_pretty(err));
    error_free(err);
}

/* ------------------------------------------------------------------ */
/* dump-guest-memory                                                    */

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

/* ------------------------------------------------------------------ */
/* info ramblock                                                        */

static void hmp_info_ramblock(Monitor *mon)
{
    RAMBlock *rb;
    uint64_t offset = 0;

    monitor_printf(mon, "%24s %8s  %18s %18s %18s\n", "Block Name", "PSize",
                   "Offset", "Used", "Total");
    RAMBLOCK_FOREACH(rb)
    {
        uint64_t ps = rb->page_size;
        g_autofree char *psize =
            ps >= GiB   ? g_strdup_printf("%" PRIu64 " GiB", ps >> 30)
            : ps >= MiB ? g_strdup_printf("%" PRIu64 " MiB", ps >> 20)
                        : g_strdup_printf("%" PRIu64 " KiB", ps >> 10);

        monitor_printf(
            mon,
            "%24s %8s  0x%016" PRIx64 " 0x%016" PRIx64 " 0x%016" PRIx64 "\n",
            rb->idstr, psize, offset, rb->used_length, rb->used_length);
        offset += rb->used_length;
    }
}

void machine_register_commands(void)
{
    hmp_register_info("ramblock", "Display system RAMBlock information",
                      hmp_info_ramblock);
    qmp_register_command("dump-guest-memory", qmp_dump_guest_memory, 0);
    qmp_register_command("query-dump", qmp_query_dump, 0);
    qmp_register_command("query-dump-guest-memory-capability",
                         qmp_query_dump_capability, 0);
    qmp_register_command("system_reset", qmp_system_reset, 0);
    hmp_register_command("system_reset", "system_reset", "reset the system",
                         hmp_system_reset);
    hmp_register_command("xp", "xp /fmt [addr]",
                         "physical memory dump starting at 'addr'", hmp_xp);
    hmp_register_command("dump-guest-memory",
                         "dump-guest-memory [-p] [-d] [-z] [-l] [-s] [-w] "
                         "filename [begin] [length]",
                         "dump guest memory into file 'filename' (ELF)",
                         hmp_dump_guest_memory);
}
