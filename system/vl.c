/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * vl.c: the command line and start-up.
 *
 * Start-up order (each step may fail with a one-line error and exit 1):
 *   1. parse every option (QEMU's syntax: "-opt value", "--opt" too);
 *   2. -daemonize: fork now, before any thread exists; the parent waits
 *      for the child to report "ready" (or failure) through a pipe;
 *   3. take the BQL, own the main loop, register object types and
 *      monitor/machine/migration commands;
 *   4. monitors (-qmp, -monitor), so a management tool can connect early;
 *   5. -object in command-line order, -serial backend;
 *   6. the machine (machine_class_find(name)->init), the accelerator,
 *      the vCPUs;
 *   7. -incoming: state inmigrate and start listening ("defer" waits for
 *      QMP migrate-incoming); else start the guest unless -S;
 *   8. main loop until a shutdown request; its code is our exit status.
 */
#include "qemu/osdep.h"
#include <signal.h>
#include <glib-unix.h>
#include <sys/stat.h>
#include "qapi/error.h"
#include "qapi/version.h"
#include "qemu/error-report.h"
#include "qemu/cutils.h"
#include "qemu/option.h"
#include "qemu/trace.h"
#include "qom/object.h"
#include "monitor/monitor.h"
#include "sysemu/runstate.h"
#include "sysemu/main-loop.h"
#include "sysemu/sysemu.h"
#include "sysemu/accel.h"
#include "sysemu/cpus.h"
#include "sysemu/hostmem.h"
#include "sysemu/qtest.h"
#include "hw/boards.h"
#include "hw/serial.h"
#include "crypto/init.h"
#include "io/channel-socket.h"
#include "migration/blocker.h"
#include "migration/misc.h"
#include "migration/register.h"
#include "vl-mgmt.h"

typedef struct VlConfig {
    const char *machine_opts; /* -machine */
    const char *accel;        /* -accel / -enable-kvm */
    uint64_t ram_size;        /* -m, 0 = machine default */
    const char *kernel;
    const char *append;
    GPtrArray *objects;  /* -object optargs, in order */
    GPtrArray *qmp;      /* -qmp specs */
    GPtrArray *monitors; /* -monitor specs */
    const char *serial;
    const char *incoming;
    const char *qtest;      /* -qtest CHARDEV (test-only RAM access) */
    const char *checkpoint; /* -checkpoint */
    bool start_paused;      /* -S */
    bool daemonize;
    const char *pidfile;
    GPtrArray *trace;  /* -trace patterns */
    bool invtsc;       /* -cpu host,+invtsc */
    VlMgmtConfig mgmt; /* -chardev, -mon, -no-shutdown, ... (vl-mgmt.c) */
} VlConfig;

typedef enum VlOpt {
    OPT_MACHINE,
    OPT_ACCEL,
    OPT_ENABLE_KVM,
    OPT_M,
    OPT_SMP,
    OPT_KERNEL,
    OPT_APPEND,
    OPT_OBJECT,
    OPT_QMP,
    OPT_MONITOR,
    OPT_SERIAL,
    OPT_INCOMING,
    OPT_QTEST,
    OPT_CHECKPOINT,
    OPT_S,
    OPT_NAME,
    OPT_DAEMONIZE,
    OPT_PIDFILE,
    OPT_TRACE,
    OPT_DISPLAY,
    OPT_NODEFAULTS,
    OPT_NOGRAPHIC,
    OPT_UUID,
    OPT_CPU,
    OPT_ONLY_MIGRATABLE,
    OPT_VERSION,
    OPT_HELP,
} VlOpt;

typedef struct VlOptDef {
    const char *name;
    VlOpt opt;
    bool has_arg;
    /*
     * -h prints "-NAME ARGS  HELP" on one line; NULL help = an alias
     * listed in another entry's ARGS (e.g. -M in "-machine|-M").
     */
    const char *args;
    const char *help;
} VlOptDef;

static const VlOptDef vl_options[] = {
    {"machine", OPT_MACHINE, true, "|-M TYPE[,memory-backend=ID]",
     "machine: none, pc-lite, help"},
    {"M", OPT_MACHINE, true, NULL, NULL},
    {"accel", OPT_ACCEL, true, " kvm[,dirty-ring-size=N]|soft|tcg|help",
     "accelerator"},
    {"enable-kvm", OPT_ENABLE_KVM, false, "", "same as -accel kvm"},
    {"m", OPT_M, true, " [size=]SIZE",
     "RAM size (MiB unless suffixed: 128M, 1G)"},
    {"smp", OPT_SMP, true, " 1", "number of vCPUs (1 only)"},
    {"kernel", OPT_KERNEL, true, " FILE", "multiboot ELF to boot"},
    {"append", OPT_APPEND, true, " CMDLINE", "kernel command line"},
    {"object", OPT_OBJECT, true, " TYPE,id=ID,...", "create an object"},
    {"qmp", OPT_QMP, true,
     " unix:PATH|tcp:HOST:PORT[,server=on,wait=off]|"
     "stdio",
     "QMP monitor"},
    {"monitor", OPT_MONITOR, true,
     " stdio|none|unix:PATH|tcp:HOST:PORT[,server=on,wait=off]", "HMP monitor"},
    {"serial", OPT_SERIAL, true, " stdio|file:PATH|none", "UART output"},
    {"incoming", OPT_INCOMING, true, " URI|defer",
     "wait for an incoming migration"},
    {"qtest", OPT_QTEST, true, " unix:PATH[,server=on]",
     "test-only RAM access (qtest protocol)"},
    {"checkpoint", OPT_CHECKPOINT, true, " PATH",
     "guest RAM checkpoint (x-checkpoint-assisted)"},
    {"S", OPT_S, false, "", "do not start the guest"},
    {"name", OPT_NAME, true, " [guest=]NAME", "VM name"},
    {"daemonize", OPT_DAEMONIZE, false, "", "detach once started"},
    {"pidfile", OPT_PIDFILE, true, " FILE",
     "write the process id (removed at exit)"},
    {"trace", OPT_TRACE, true, " PATTERN", "enable trace points"},
    {"display", OPT_DISPLAY, true, " none", "no display is ever shown"},
    {"nodefaults", OPT_NODEFAULTS, false, "",
     "accepted (there are no default devices)"},
    {"nographic", OPT_NOGRAPHIC, false, "", "accepted (there is no graphics)"},
    {"uuid", OPT_UUID, true, " UUID", "VM UUID (multifd, validate-uuid)"},
    {"cpu", OPT_CPU, true, " host[,+invtsc]",
     "the host CPU; invtsc blocks migration"},
    {"only-migratable", OPT_ONLY_MIGRATABLE, false, "",
     "refuse anything that would block migration"},
    {"version", OPT_VERSION, false, "", "print the version and exit"},
    {"h", OPT_HELP, false, "|-help", "print this help and exit"},
    {"help", OPT_HELP, false, NULL, NULL},
};

static G_NORETURN_FN void vl_fail(const char *opt, const char *arg,
                                  const char *fmt, ...) QEMU_PRINTF(3, 4);

/* "tern: -opt arg: message" and exit 1 (command-line parsing only). */
static void vl_fail(const char *opt, const char *arg, const char *fmt, ...)
{
    char *msg;
    va_list ap;

    va_start(ap, fmt);
    msg = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    if (opt && arg) {
        error_report("%s %s: %s", opt, arg, msg);
    } else if (opt) {
        error_report("%s: %s", opt, msg);
    } else {
        error_report("%s", msg);
    }
    g_free(msg); /* exit() runs no g_autofree cleanup */
    exit(1);
}

static void vl_fail_err(const char *opt, const char *arg, Error *err)
{
    if (opt && arg) {
        error_report("%s %s: %s", opt, arg, error_get_pretty(err));
    } else if (opt) {
        error_report("%s: %s", opt, error_get_pretty(err));
    } else {
        error_report("%s", error_get_pretty(err));
    }
    error_free(err);
    exit(1);
}

static void vl_print_version(void)
{
    printf("Tern emulator version %s (%s)\n", TERN_VERSION, TERN_PKGVERSION);
    printf("Tern speaks QEMU %s's migration stream and QMP "
           "(peer: qemu-system-x86_64 %s)\n",
           TERN_QEMU_COMPAT_VERSION, TERN_QEMU_COMPAT_VERSION);
}

/* -h: every option on one line, "  -NAME ARGS  description". */
static void vl_print_help(void)
{
    vl_print_version();
    printf("usage: tern [options]\n\n");
    for (size_t i = 0; i < ARRAY_SIZE(vl_options); i++) {
        const VlOptDef *d = &vl_options[i];
        g_autofree char *usage = NULL;

        if (!d->help) {
            continue;
        }
        usage = g_strdup_printf("-%s%s", d->name, d->args);
        printf("  %-24s  %s\n", usage, d->help);
    }
    vl_mgmt_print_help();
    printf("\nOptions may also be spelt --NAME.\n");
}

static uint64_t vl_parse_ram_size(const char *arg)
{
    const char *s = arg;
    uint64_t sz;

    if (g_str_has_prefix(s, "size=")) {
        s += 5;
    }
    if (strchr(s, ',') || qemu_strtosz_MiB(s, NULL, &sz) < 0 || sz == 0) {
        vl_fail("-m", arg,
                "Parameter 'size' expects a non-negative number "
                "below 2^64");
    }
    return sz;
}

static void vl_parse_smp(const char *arg)
{
    g_auto(GStrv) parts = g_strsplit(arg, ",", -1);

    for (int i = 0; parts[i]; i++) {
        const char *p = parts[i];
        const char *val = p;

        if (i > 0 || strchr(p, '=')) {
            const char *eq = strchr(p, '=');
            g_autofree char *key = eq ? g_strndup(p, eq - p) : g_strdup(p);

            if (strcmp(key, "cpus") && strcmp(key, "sockets") &&
                strcmp(key, "cores") && strcmp(key, "threads") &&
                strcmp(key, "maxcpus")) {
                vl_fail(NULL, NULL, "Parameter 'smp.%s' is unexpected", key);
            }
            val = eq ? eq + 1 : "";
        }
        if (strcmp(val, "1") != 0) {
            vl_fail("-smp", arg, "only 1 vCPU is supported");
        }
    }
}

static void vl_parse_name(const char *arg)
{
    g_auto(GStrv) parts = g_strsplit(arg, ",", -1);

    for (int i = 0; parts[i]; i++) {
        if (g_str_has_prefix(parts[i], "guest=")) {
            qemu_set_vm_name(parts[i] + 6);
        } else if (i == 0 && !strchr(parts[i], '=')) {
            qemu_set_vm_name(parts[i]);
        } else if (!g_str_has_prefix(parts[i], "process=") &&
                   !g_str_has_prefix(parts[i], "debug-threads=")) {
            vl_fail("-name", arg, "Invalid parameter '%s'", parts[i]);
        }
    }
}

/*
 * -accel NAME[,opt=val...]: "help" lists the accelerators; an unknown
 * name fails now.  The options themselves ("kvm,dirty-ring-size=4096")
 * are checked by accel_init(), which gets the whole string.
 */
static void vl_check_accel(const char *arg)
{
    g_autofree char *name = g_strndup(arg, strcspn(arg, ","));

    if (!strcmp(name, "help")) {
        printf("Accelerators supported in tern binary:\n");
        if (accel_find("kvm")) {
            printf("kvm\n");
        }
        if (accel_find("soft")) {
            printf("soft\n");
        }
        exit(0);
    }
    if (!accel_find(name)) {
        g_autofree char *pick = NULL;
        Error *err = NULL;

        /* A list "kvm:tcg" or "tcg" (the soft vCPU): see vl-mgmt.c. */
        pick = vl_mgmt_accel_resolve(arg, &err);
        if (!pick) {
            vl_fail_err("-accel", arg, err);
        }
    }
}

/*
 * -cpu MODEL[,FEATURE...]: the vCPU is always the host's (KVM); "host"
 * and "max" are accepted, and the one feature is invtsc (invariant TSC),
 * off unless asked for, as QEMU's migratable host model.  Returns it.
 */
static bool vl_parse_cpu(const char *arg)
{
    g_auto(GStrv) parts = g_strsplit(arg, ",", -1);
    bool invtsc = false;

    if (strcmp(parts[0], "host") && strcmp(parts[0], "max")) {
        vl_fail("-cpu", arg, "unable to find CPU model '%s'", parts[0]);
    }
    for (int i = 1; parts[i]; i++) {
        const char *f = parts[i];

        if (!strcmp(f, "+invtsc") || !strcmp(f, "invtsc=on") ||
            !strcmp(f, "invtsc")) {
            invtsc = true;
        } else if (!strcmp(f, "-invtsc") || !strcmp(f, "invtsc=off")) {
            invtsc = false;
        } else {
            vl_fail("-cpu", arg, "CPU feature '%s' is not supported", f);
        }
    }
    return invtsc;
}

/*
 * argv[i] is not in vl_options: one of vl-mgmt.c's options or an error.
 * Returns the index of the last word consumed.
 */
static int vl_parse_mgmt_option(int argc, char **argv, int i, VlConfig *cfg)
{
    const char *word = argv[i];
    const char *name = word[1] == '-' ? word + 2 : word + 1;
    int arity = vl_mgmt_option_arity(name);
    const char *arg = NULL;
    Error *err = NULL;

    if (arity < 0) {
        vl_fail(word, NULL, "invalid option");
    }
    if (arity > 0) {
        if (i + 1 >= argc) {
            vl_fail(word, NULL, "requires an argument");
        }
        arg = argv[++i];
    }
    if (!vl_mgmt_option(name, arg, &cfg->mgmt, &err)) {
        vl_fail_err(word, arg, err);
    }
    return i;
}

static void vl_parse_args(int argc, char **argv, VlConfig *cfg)
{
    for (int i = 1; i < argc; i++) {
        const char *word = argv[i];
        const char *name;
        const VlOptDef *def = NULL;
        const char *arg = NULL;

        if (word[0] != '-' || word[1] == '\0') {
            vl_fail(NULL, NULL, "%s: invalid option", word);
        }
        name = word + 1;
        if (name[0] == '-') {
            name++;
        }
        for (size_t k = 0; k < ARRAY_SIZE(vl_options); k++) {
            if (!strcmp(vl_options[k].name, name)) {
                def = &vl_options[k];
                break;
            }
        }
        if (!def) {
            i = vl_parse_mgmt_option(argc, argv, i, cfg);
            continue;
        }
        if (def->has_arg) {
            if (i + 1 >= argc) {
                vl_fail(word, NULL, "requires an argument");
            }
            arg = argv[++i];
        }

        switch (def->opt) {
        case OPT_MACHINE:
            cfg->machine_opts = arg;
            break;
        case OPT_ACCEL:
            vl_check_accel(arg);
            cfg->accel = arg;
            break;
        case OPT_ENABLE_KVM:
            cfg->accel = "kvm";
            break;
        case OPT_M:
            cfg->ram_size = vl_parse_ram_size(arg);
            break;
        case OPT_SMP:
            vl_parse_smp(arg);
            break;
        case OPT_KERNEL:
            cfg->kernel = arg;
            break;
        case OPT_APPEND:
            cfg->append = arg;
            break;
        case OPT_OBJECT:
            g_ptr_array_add(cfg->objects, (gpointer)arg);
            break;
        case OPT_QMP:
            g_ptr_array_add(cfg->qmp, (gpointer)arg);
            break;
        case OPT_MONITOR:
            g_ptr_array_add(cfg->monitors, (gpointer)arg);
            break;
        case OPT_SERIAL:
            cfg->serial = arg;
            break;
        case OPT_INCOMING:
            cfg->incoming = arg;
            break;
        case OPT_QTEST:
            cfg->qtest = arg;
            break;
        case OPT_CHECKPOINT:
            cfg->checkpoint = arg;
            break;
        case OPT_S:
            cfg->start_paused = true;
            break;
        case OPT_NAME:
            vl_parse_name(arg);
            break;
        case OPT_DAEMONIZE:
            cfg->daemonize = true;
            break;
        case OPT_PIDFILE:
            cfg->pidfile = arg;
            break;
        case OPT_TRACE:
            g_ptr_array_add(cfg->trace, (gpointer)arg);
            break;
        case OPT_DISPLAY:
            if (strcmp(arg, "none") != 0 && !g_str_has_prefix(arg, "none,")) {
                vl_fail("-display", arg, "only 'none' is supported");
            }
            break;
        case OPT_NODEFAULTS:
        case OPT_NOGRAPHIC:
            break;
        case OPT_UUID:
            if (!qemu_uuid_parse(arg, qemu_uuid)) {
                vl_fail("-uuid", arg,
                        "failed to parse UUID string: "
                        "wrong format");
            }
            qemu_uuid_set = true;
            break;
        case OPT_CPU:
            cfg->invtsc = vl_parse_cpu(arg);
            break;
        case OPT_ONLY_MIGRATABLE:
            migrate_set_only_migratable(true);
            break;
        case OPT_VERSION:
            vl_print_version();
            exit(0);
        case OPT_HELP:
            vl_print_help();
            exit(0);
        }
    }
}

/* -object: QEMU's "TYPE,id=ID,..." or its JSON form '{"qom-type": ...}'. */
static bool vl_add_object(const char *optarg, Error **errp)
{
    QemuOpts *props;
    bool ok;

    if (optarg[0] != '{') {
        return user_creatable_add_cmdline(optarg, errp) != NULL;
    }
    props = vl_mgmt_json_to_opts(optarg, errp);
    if (!props) {
        return false;
    }
    ok = user_creatable_add(qemu_opt_get(props, "qom-type"),
                            qemu_opt_get(props, "id"), props, errp) != NULL;
    qemu_opts_free(props);
    return ok;
}

/* -daemonize: the write end of the pipe to the waiting parent, or -1. */
static int daemon_ready_fd = -1;

/*
 * Fork; the parent exits with the child's start-up status (0 once the
 * child says ready, 1 if it fails or dies first).
 */
static void vl_daemonize_fork(void)
{
    int fds[2];
    pid_t pid;

    if (pipe2(fds, O_CLOEXEC) < 0) {
        vl_fail("-daemonize", NULL, "pipe: %s", strerror(errno));
    }
    pid = fork();
    if (pid < 0) {
        vl_fail("-daemonize", NULL, "fork: %s", strerror(errno));
    }
    if (pid > 0) {
        char status = 1;
        ssize_t n;

        close(fds[1]);
        do {
            n = read(fds[0], &status, 1);
        } while (n < 0 && errno == EINTR);
        _exit(n == 1 ? status : 1);
    }
    close(fds[0]);
    daemon_ready_fd = fds[1];
    setsid();
}

/* Child: start-up done; detach stdio and release the parent. */
static void vl_daemonize_ready(void)
{
    char ok = 0;
    int null;

    if (daemon_ready_fd < 0) {
        return;
    }
    null = open("/dev/null", O_RDWR);
    if (null >= 0) {
        dup2(null, STDIN_FILENO);
        dup2(null, STDOUT_FILENO);
        dup2(null, STDERR_FILENO);
        if (null > STDERR_FILENO) {
            close(null);
        }
    }
    if (write(daemon_ready_fd, &ok, 1) < 0) {
        /* parent gone: nothing to tell */
    }
    close(daemon_ready_fd);
    daemon_ready_fd = -1;
}

/* -pidfile: the path this process wrote, removed by exit() in any case. */
static char *vl_pidfile_path;
static pid_t vl_pidfile_pid;

static void vl_unlink_pidfile(void)
{
    if (vl_pidfile_path && getpid() == vl_pidfile_pid) {
        unlink(vl_pidfile_path);
    }
    g_free(vl_pidfile_path);
    vl_pidfile_path = NULL;
}

/*
 * Write our pid to path (exit 1 on failure).  The file goes away when
 * this process exits, also through a start-up error (as QEMU's does).
 */
static void vl_write_pidfile(const char *path)
{
    g_autofree char *text = g_strdup_printf("%d\n", (int)getpid());
    GError *gerr = NULL;

    if (!g_file_set_contents(path, text, -1, &gerr)) {
        error_report("-pidfile %s: %s", path, gerr->message);
        g_error_free(gerr);
        exit(1);
    }
    vl_pidfile_path = g_strdup(path);
    vl_pidfile_pid = getpid();
    atexit(vl_unlink_pidfile);
}

static gboolean vl_on_signal(gpointer opaque)
{
    qemu_system_shutdown_request_reason(0, "host-signal", false);
    return G_SOURCE_CONTINUE;
}

/*
 * Ctrl-C: cancels what a suspended stdio HMP command claimed it for (a
 * blocking "migrate"), else ends the process like SIGTERM.
 */
static gboolean vl_on_sigint(gpointer opaque)
{
    if (!monitor_interrupt()) {
        qemu_system_shutdown_request_reason(0, "host-signal", false);
    }
    return G_SOURCE_CONTINUE;
}

/* -machine accel=LIST, copied out of the parsed -machine options. */
static char *vl_machine_accel;

/* Build the machine from -machine/-m/-kernel/-append and init it. */
static MachineState *vl_create_machine(VlConfig *cfg)
{
    const char *type = NULL, *backend = NULL;
    const MachineClass *mc;
    QemuOpts *opts = NULL;
    MachineState *ms;
    Error *err = NULL;

    if (cfg->machine_opts) {
        static const char *const known[] = {"type", "memory-backend",  "accel",
                                            "usb",  "dump-guest-core", NULL};

        opts = qemu_opts_parse(cfg->machine_opts, "type", &err);
        if (!opts || !qemu_opts_check_known(opts, known, &err)) {
            vl_fail_err("-machine", cfg->machine_opts, err);
        }
        type = qemu_opt_get(opts, "type");
        backend = qemu_opt_get(opts, "memory-backend");
        if (qemu_opt_get(opts, "accel") && !cfg->accel) {
            /* opts is freed below: keep a copy (freed at exit). */
            cfg->accel = vl_machine_accel =
                g_strdup(qemu_opt_get(opts, "accel"));
        }
        if (!vl_mgmt_machine_opts(opts, &err)) {
            vl_fail_err("-machine", cfg->machine_opts, err);
        }
    }
    if (type && !strcmp(type, "help")) {
        machine_class_list(stdout);
        exit(0);
    }
    if (!type) {
        /* No -M: pc-lite when there is a kernel to boot, else none. */
        type = cfg->kernel ? "pc-lite" : "none";
    }
    mc = machine_class_find(type);
    if (!mc) {
        vl_fail("-machine", type,
                "unsupported machine type (use -machine "
                "help to list supported machines)");
    }

    ms = g_new0(MachineState, 1);
    ms->mc = mc;
    ms->ram_size = cfg->ram_size;
    ms->memory_backend = g_strdup(backend);
    ms->kernel_filename = g_strdup(cfg->kernel);
    ms->kernel_cmdline = g_strdup(cfg->append ? cfg->append : "");
    ms->smp = 1;
    ms->has_vcpu = mc->has_vcpu;
    ms->invtsc = cfg->invtsc;
    qemu_opts_free(opts);
    set_current_machine(ms);
    if (!mc->init(ms, &err)) {
        vl_fail_err(NULL, NULL, err);
    }
    return ms;
}

int qemu_main(int argc, char **argv)
{
    VlConfig cfg = {0};
    g_autofree char *accel = NULL;
    MachineState *ms;
    Error *err = NULL;
    int status;

    signal(SIGPIPE, SIG_IGN);
    /* The accelerators built in, before -accel is checked. */
    accel_register(&kvm_accel_ops);
    accel_register(&soft_accel_ops);
    cfg.objects = g_ptr_array_new();
    cfg.qmp = g_ptr_array_new();
    cfg.monitors = g_ptr_array_new();
    cfg.trace = g_ptr_array_new();
    vl_parse_args(argc, argv, &cfg);

    if (cfg.daemonize) {
        bool stdio = cfg.serial && !strcmp(cfg.serial, "stdio");

        for (guint i = 0; i < cfg.qmp->len; i++) {
            stdio |= !strcmp(cfg.qmp->pdata[i], "stdio");
        }
        for (guint i = 0; i < cfg.monitors->len; i++) {
            stdio |= !strcmp(cfg.monitors->pdata[i], "stdio");
        }
        if (stdio) {
            vl_fail("-daemonize", NULL, "cannot use stdio with -daemonize");
        }
        vl_daemonize_fork();
    }
    if (cfg.pidfile) {
        vl_write_pidfile(cfg.pidfile);
    }

    bql_lock();
    main_loop_init();
    g_unix_signal_add(SIGTERM, vl_on_signal, NULL);
    g_unix_signal_add(SIGINT, vl_on_sigint, NULL);
    g_unix_signal_add(SIGHUP, vl_on_signal, NULL);
    autostart = !cfg.start_paused;

    /* Types and commands; later registrations replace earlier ones. */
    crypto_register_types();
    memory_backend_register_types();
    /* The front end's stop/cont (autostart while inmigrate) win. */
    machine_register_commands();
    monitor_register_commands();
    vl_mgmt_register_commands();
    migration_init();
    migration_register_hooks();
    qemu_register_machine_type_name(current_machine_type_name);
    migration_register_commands();
    qio_channel_socket_set_fd_resolver(monitor_fd_param);
    for (guint i = 0; i < cfg.trace->len; i++) {
        const char *arg = cfg.trace->pdata[i];

        if (!trace_opt_parse(arg, &err)) {
            vl_fail_err("-trace", arg, err);
        }
    }

    for (guint i = 0; i < cfg.qmp->len; i++) {
        const char *spec = cfg.qmp->pdata[i];

        if (!monitor_init_qmp(spec, &err)) {
            vl_fail_err("-qmp", spec, err);
        }
    }
    for (guint i = 0; i < cfg.monitors->len; i++) {
        const char *spec = cfg.monitors->pdata[i];

        if (!strcmp(spec, "none")) {
            continue;
        }
        if (!monitor_init_hmp(spec, &err)) {
            vl_fail_err("-monitor", spec, err);
        }
    }
    if (!vl_mgmt_init_monitors(&cfg.mgmt, &err)) {
        vl_fail_err("-mon", NULL, err);
    }

    for (guint i = 0; i < cfg.objects->len; i++) {
        const char *optarg = cfg.objects->pdata[i];

        if (!vl_add_object(optarg, &err)) {
            vl_fail_err("-object", optarg, err);
        }
    }
    if (!vl_mgmt_init_devices(&cfg.mgmt, &err)) {
        vl_fail_err("-device", NULL, err);
    }
    if (cfg.serial) {
        if (!serial_set_backend(cfg.serial, &err)) {
            vl_fail_err("-serial", cfg.serial, err);
        }
    }

    ms = vl_create_machine(&cfg);
    accel = vl_mgmt_accel_resolve(cfg.accel, &err);
    if (err || !accel_init(ms, accel, &err)) {
        vl_fail_err(cfg.accel ? "-accel" : NULL, cfg.accel, err);
    }
    if (!vl_mgmt_init_machine(&cfg.mgmt, &err)) {
        vl_fail_err(NULL, NULL, err);
    }
    if (ms->has_vcpu && accel_current()->vcpus_create &&
        !accel_current()->vcpus_create(ms, &err)) {
        vl_fail_err(NULL, NULL, err);
    }
    if (ms->has_vcpu && accel_current()->vcpus_create) {
        cpus_wait_vcpu_thread();
    }
    if (cfg.qtest && !qtest_init(cfg.qtest, &err)) {
        vl_fail_err("-qtest", cfg.qtest, err);
    }

    if (cfg.checkpoint && !migration_checkpoint_set(cfg.checkpoint, &err)) {
        vl_fail_err("-checkpoint", cfg.checkpoint, err);
    }
    if (cfg.incoming) {
        runstate_set(RUN_STATE_INMIGRATE);
        if (strcmp(cfg.incoming, "defer") != 0) {
            if (!migration_incoming_start(cfg.incoming, &err)) {
                vl_fail_err("-incoming", cfg.incoming, err);
            }
        }
    } else if (autostart) {
        vm_start();
    }

    vl_daemonize_ready();
    status = main_loop_run();

    /* No guest code runs while we tear down (state is now shutdown). */
    if (accel_current() && accel_current()->vcpus_pause) {
        accel_current()->vcpus_pause();
    }
    monitor_cleanup();
    vl_unlink_pidfile();
    fflush(stdout);
    return status;
}
