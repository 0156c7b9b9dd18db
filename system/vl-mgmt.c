/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * vl-mgmt.c: the options libvirt passes that vl.c's own table lacks
 * (see vl-mgmt.h).  docs/libvirt.md lists what each one means in Tern.
 */
#include "qemu/osdep.h"
#include <sys/mman.h>
#include <json-c/json.h>
#include "qemu/cutils.h"
#include "qemu/error-report.h"
#include "qapi/qmp/dispatch.h"
#include "qom/object.h"
#include "monitor/monitor.h"
#include "sysemu/accel.h"
#include "sysemu/ramblock.h"
#include "sysemu/runstate.h"
#include "hw/serial.h"
#include "vl-mgmt.h"

typedef enum VlMgmtOpt {
    MGMT_NO_USER_CONFIG,
    MGMT_NO_SHUTDOWN,
    MGMT_NO_ACPI,
    MGMT_OVERCOMMIT,
    MGMT_RTC,
    MGMT_BOOT,
    MGMT_MSG,
    MGMT_AUDIODEV,
    MGMT_CHARDEV,
    MGMT_MON,
    MGMT_DEVICE,
    MGMT_SANDBOX,
    MGMT_ADD_FD,
} VlMgmtOpt;

typedef struct VlMgmtOptDef {
    const char *name;
    VlMgmtOpt opt;
    bool has_arg;
    const char *args;
    const char *help;
} VlMgmtOptDef;

static const VlMgmtOptDef mgmt_options[] = {
    {"no-user-config", MGMT_NO_USER_CONFIG, false, "",
     "accepted (no config files)"},
    {"no-shutdown", MGMT_NO_SHUTDOWN, false, "",
     "guest shutdown stops, process stays"},
    {"no-acpi", MGMT_NO_ACPI, false, "", "accepted (pc-lite has no ACPI)"},
    {"overcommit", MGMT_OVERCOMMIT, true, " mem-lock=on|off",
     "lock guest RAM (mlockall)"},
    {"rtc", MGMT_RTC, true, " base=utc", "accepted (pc-lite has no RTC)"},
    {"boot", MGMT_BOOT, true, " strict=on|off", "accepted (-kernel boot only)"},
    {"msg", MGMT_MSG, true, " timestamp=on|off", "timestamp messages"},
    {"audiodev", MGMT_AUDIODEV, true, " none,id=ID|JSON",
     "driver none only (no sound)"},
    {"chardev", MGMT_CHARDEV, true, " TYPE,id=ID,...",
     "socket(fd=|path=),file,null,stdio"},
    {"mon", MGMT_MON, true, " chardev=ID,mode=M", "monitor on a chardev"},
    {"device", MGMT_DEVICE, true, " isa-serial,chardev=ID",
     "UART backend (no other device)"},
    {"sandbox", MGMT_SANDBOX, true, " off", "no seccomp sandbox (off only)"},
    {"add-fd", MGMT_ADD_FD, true, " fd=FD,set=N", "fd for /dev/fdset/N"},
};

/* -add-fd: fd sets, each fd a duplicate owned here. */
typedef struct VlFdSetEntry {
    int64_t set;
    int fd;
} VlFdSetEntry;

static GArray *mgmt_fdsets; /* VlFdSetEntry */

/* -chardev ID as parsed. */
typedef struct VlChardev {
    char *id;
    char *backend;  /* socket, file, null, stdio */
    char *spec;     /* for monitor_init_*() or serial_set_backend() */
    char *filename; /* query-chardev */
    bool used;
} VlChardev;

/* The table query-chardev reports (the parsed config, kept at exit). */
static VlMgmtConfig *mgmt_cfg;
/* -machine dump-guest-core=off */
static bool mgmt_no_dump;

/* -no-shutdown: SHUTDOWN event, then the guest stops in state shutdown. */
static void vl_mgmt_guest_shutdown(void)
{
    json_object *data = json_object_new_object();

    json_object_object_add(data, "guest", json_object_new_boolean(true));
    json_object_object_add(data, "reason",
                           json_object_new_string("guest-shutdown"));
    qapi_event_send("SHUTDOWN", data);
    vm_stop(RUN_STATE_SHUTDOWN);
}

static const VlMgmtOptDef *vl_mgmt_find(const char *name)
{
    for (size_t i = 0; i < ARRAY_SIZE(mgmt_options); i++) {
        if (!strcmp(mgmt_options[i].name, name)) {
            return &mgmt_options[i];
        }
    }
    return NULL;
}

void vl_mgmt_print_help(void)
{
    for (size_t i = 0; i < ARRAY_SIZE(mgmt_options); i++) {
        const VlMgmtOptDef *d = &mgmt_options[i];
        g_autofree char *usage = g_strdup_printf("-%s%s", d->name, d->args);

        printf("  %-24s  %s\n", usage, d->help);
    }
}

int vl_mgmt_option_arity(const char *name)
{
    const VlMgmtOptDef *d = vl_mgmt_find(name);

    return d ? d->has_arg : -1;
}

QemuOpts *vl_mgmt_json_to_opts(const char *json, Error **errp)
{
    json_object *obj = json_tokener_parse(json);
    QemuOpts *opts;

    if (!obj || !json_object_is_type(obj, json_type_object)) {
        error_setg(errp, "JSON parse error: expected an object");
        json_object_put(obj);
        return NULL;
    }
    opts = qemu_opts_new();
    json_object_object_foreach(obj, key, val)
    {
        const char *s;

        switch (json_object_get_type(val)) {
        case json_type_boolean:
            s = json_object_get_boolean(val) ? "on" : "off";
            break;
        case json_type_string:
        case json_type_int:
        case json_type_double:
            s = json_object_get_string(val);
            break;
        default:
            error_setg(errp,
                       "Invalid parameter type for '%s', expected: "
                       "string, number or boolean",
                       key);
            qemu_opts_free(opts);
            json_object_put(obj);
            return NULL;
        }
        qemu_opt_set(opts, key, s);
    }
    json_object_put(obj);
    return opts;
}

/* "k=v,..." or, from '{', JSON; implied_key names a first bare word. */
static QemuOpts *vl_mgmt_parse_opts(const char *arg, const char *implied_key,
                                    Error **errp)
{
    if (arg[0] == '{') {
        return vl_mgmt_json_to_opts(arg, errp);
    }
    return qemu_opts_parse(arg, implied_key, errp);
}

/* Value of key must be one of the NULL-terminated allowed ones. */
static bool vl_mgmt_opt_in(QemuOpts *opts, const char *key,
                           const char *const *allowed, const char *why,
                           Error **errp)
{
    const char *v = qemu_opt_get(opts, key);

    if (!v) {
        return true;
    }
    for (int i = 0; allowed[i]; i++) {
        if (!strcmp(v, allowed[i])) {
            return true;
        }
    }
    error_setg(errp, "%s=%s is not supported: %s", key, v, why);
    return false;
}

static bool vl_mgmt_overcommit(QemuOpts *opts, VlMgmtConfig *cfg, Error **errp)
{
    static const char *const known[] = {"mem-lock", "cpu-pm", NULL};
    static const char *const off[] = {"off", "no", "false", NULL};
    Error *err = NULL;

    if (!qemu_opts_check_known(opts, known, errp) ||
        !vl_mgmt_opt_in(opts, "cpu-pm", off,
                        "Tern does not pass power management to the guest",
                        errp)) {
        return false;
    }
    cfg->mem_lock = qemu_opt_get_bool(opts, "mem-lock", false, &err);
    if (err) {
        error_propagate(errp, err);
        return false;
    }
    return true;
}

static bool vl_mgmt_check_simple(VlMgmtOpt opt, QemuOpts *opts, Error **errp)
{
    static const char *const rtc_known[] = {"base", "clock", NULL};
    static const char *const rtc_base[] = {"utc", NULL};
    static const char *const rtc_clock[] = {"host", "rt", "vm", NULL};
    static const char *const boot_known[] = {"strict", "menu", NULL};
    static const char *const msg_known[] = {"timestamp", "guest-name", NULL};
    static const char *const off[] = {"off", NULL};
    static const char *const onoff[] = {"on", "off", NULL};
    Error *err = NULL;

    switch (opt) {
    case MGMT_RTC:
        return qemu_opts_check_known(opts, rtc_known, errp) &&
               vl_mgmt_opt_in(opts, "base", rtc_base,
                              "pc-lite has no RTC; only base=utc", errp) &&
               vl_mgmt_opt_in(opts, "clock", rtc_clock, "unknown clock", errp);
    case MGMT_BOOT:
        return qemu_opts_check_known(opts, boot_known, errp) &&
               vl_mgmt_opt_in(opts, "strict", onoff, "expects on or off",
                              errp) &&
               vl_mgmt_opt_in(opts, "menu", off,
                              "pc-lite has no firmware boot menu", errp);
    case MGMT_MSG:
        if (!qemu_opts_check_known(opts, msg_known, errp) ||
            !vl_mgmt_opt_in(opts, "guest-name", off,
                            "messages carry no guest name", errp)) {
            return false;
        }
        error_report_set_timestamp(
            qemu_opt_get_bool(opts, "timestamp", false, &err));
        break;
    default:
        g_assert_not_reached();
    }
    if (err) {
        error_propagate(errp, err);
        return false;
    }
    return true;
}

static bool vl_mgmt_audiodev(QemuOpts *opts, Error **errp)
{
    static const char *const none[] = {"none", NULL};

    if (!qemu_opt_get(opts, "id")) {
        error_setg(errp, "Parameter 'id' is missing");
        return false;
    }
    if (!qemu_opt_get(opts, "driver")) {
        error_setg(errp, "Parameter 'driver' is missing");
        return false;
    }
    return vl_mgmt_opt_in(opts, "driver", none, "Tern has no sound devices",
                          errp);
}

static bool vl_mgmt_add_fd(QemuOpts *opts, Error **errp)
{
    static const char *const known[] = {"fd", "set", "opaque", NULL};
    VlFdSetEntry e;
    Error *err = NULL;
    int64_t fd;

    if (!qemu_opts_check_known(opts, known, errp)) {
        return false;
    }
    if (!qemu_opt_has(opts, "fd") || !qemu_opt_has(opts, "set")) {
        error_setg(errp, "Parameter '%s' is missing",
                   qemu_opt_has(opts, "fd") ? "set" : "fd");
        return false;
    }
    fd = qemu_opt_get_number(opts, "fd", 0, &err);
    e.set = err ? 0 : qemu_opt_get_number(opts, "set", 0, &err);
    if (err) {
        error_propagate(errp, err);
        return false;
    }
    if (fd <= STDERR_FILENO || fd > INT_MAX || fcntl(fd, F_GETFD) < 0) {
        error_setg(errp, "fd=%" PRId64 " is not an open file descriptor", fd);
        return false;
    }
    e.fd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
    if (e.fd < 0) {
        error_setg_errno(errp, errno, "fd=%" PRId64 ": dup", fd);
        return false;
    }
    close(fd);
    if (!mgmt_fdsets) {
        mgmt_fdsets = g_array_new(false, false, sizeof(VlFdSetEntry));
    }
    g_array_append_val(mgmt_fdsets, e);
    return true;
}

/*
 * Open a file chardev's path for the UART: /dev/fdset/N takes a
 * duplicate of set N's fd; a path is opened (appending or truncating).
 * Returns the fd or -1 with errp set.
 */
static int vl_mgmt_open_file(const char *path, bool append, Error **errp)
{
    int64_t set;
    int fd;

    if (g_str_has_prefix(path, "/dev/fdset/")) {
        if (qemu_strtoi64(path + 11, NULL, 10, &set) < 0) {
            error_setg(errp, "'%s' is not an fd set path", path);
            return -1;
        }
        for (guint i = 0; mgmt_fdsets && i < mgmt_fdsets->len; i++) {
            VlFdSetEntry *e = &g_array_index(mgmt_fdsets, VlFdSetEntry, i);

            if (e->set == set) {
                return fcntl(e->fd, F_DUPFD_CLOEXEC, 0);
            }
        }
        error_setg(errp, "No fd set %" PRId64 " (see -add-fd)", set);
        return -1;
    }
    fd = open(path,
              O_WRONLY | O_CREAT | O_CLOEXEC | (append ? O_APPEND : O_TRUNC),
              0666);
    if (fd < 0) {
        error_setg_errno(errp, errno, "Could not open '%s'", path);
    }
    return fd;
}

/* "socket,id=X,fd=N|path=P,server=on,wait=off": a monitor spec. */
static bool vl_mgmt_chardev_socket(QemuOpts *opts, VlChardev *cd, Error **errp)
{
    static const char *const known[] = {"backend", "id",   "fd", "path",
                                        "server",  "wait", NULL};
    const char *fd = qemu_opt_get(opts, "fd");
    const char *path = qemu_opt_get(opts, "path");
    Error *err = NULL;
    bool server, wait;

    if (!qemu_opts_check_known(opts, known, errp)) {
        return false;
    }
    server = qemu_opt_get_bool(opts, "server", false, &err);
    wait = err ? true : qemu_opt_get_bool(opts, "wait", true, &err);
    if (err) {
        error_propagate(errp, err);
        return false;
    }
    if (!server) {
        error_setg(errp, "only listening sockets are supported: add "
                         "server=on");
        return false;
    }
    if (!fd == !path) {
        error_setg(errp, "socket chardev needs exactly one of fd= and path=");
        return false;
    }
    if (fd) {
        cd->spec =
            g_strdup_printf("fd:%s,server=on,wait=%s", fd, wait ? "on" : "off");
        cd->filename = g_strdup_printf("fd:%s,server=on", fd);
    } else {
        cd->spec = g_strdup_printf("unix:%s,server=on,wait=%s", path,
                                   wait ? "on" : "off");
        cd->filename = g_strdup_printf("unix:%s,server=on", path);
    }
    return true;
}

static bool vl_mgmt_chardev(QemuOpts *opts, VlMgmtConfig *cfg, Error **errp)
{
    static const char *const file_known[] = {"backend", "id", "path", "append",
                                             NULL};
    static const char *const plain_known[] = {"backend", "id", NULL};
    const char *backend = qemu_opt_get(opts, "backend");
    const char *id = qemu_opt_get(opts, "id");
    g_autofree VlChardev *cd = g_new0(VlChardev, 1);

    if (!backend || !id) {
        error_setg(errp, "Parameter '%s' is missing",
                   backend ? "id" : "backend");
        return false;
    }
    for (guint i = 0; i < cfg->chardevs->len; i++) {
        if (!strcmp(((VlChardev *)cfg->chardevs->pdata[i])->id, id)) {
            error_setg(errp, "Duplicate ID '%s' for chardev", id);
            return false;
        }
    }
    if (!strcmp(backend, "socket")) {
        if (!vl_mgmt_chardev_socket(opts, cd, errp)) {
            return false;
        }
    } else if (!strcmp(backend, "file")) {
        const char *path = qemu_opt_get(opts, "path");
        Error *err = NULL;
        bool append;
        int fd;

        if (!qemu_opts_check_known(opts, file_known, errp)) {
            return false;
        }
        if (!path) {
            error_setg(errp, "chardev: file: no filename given");
            return false;
        }
        append = qemu_opt_get_bool(opts, "append", false, &err);
        if (err) {
            error_propagate(errp, err);
            return false;
        }
        fd = vl_mgmt_open_file(path, append, errp);
        if (fd < 0) {
            return false;
        }
        cd->spec = g_strdup_printf("fd:%d", fd);
        cd->filename = g_strdup_printf("file:%s", path);
    } else if (!strcmp(backend, "null") || !strcmp(backend, "stdio")) {
        if (!qemu_opts_check_known(opts, plain_known, errp)) {
            return false;
        }
        cd->spec = g_strdup(backend);
        cd->filename = g_strdup(backend);
    } else {
        error_setg(errp,
                   "chardev backend '%s' is not supported (socket, file, "
                   "null and stdio are)",
                   backend);
        return false;
    }
    cd->id = g_strdup(id);
    cd->backend = g_strdup(backend);
    g_ptr_array_add(cfg->chardevs, g_steal_pointer(&cd));
    return true;
}

/* Options parsed into QemuOpts; false with errp on a bad one. */
static bool vl_mgmt_apply(VlMgmtOpt opt, QemuOpts *opts, VlMgmtConfig *cfg,
                          bool *kept, Error **errp)
{
    static const char *const mon_known[] = {"chardev", "id", "mode", "pretty",
                                            NULL};
    static const char *const modes[] = {"control", "readline", NULL};

    switch (opt) {
    case MGMT_OVERCOMMIT:
        return vl_mgmt_overcommit(opts, cfg, errp);
    case MGMT_AUDIODEV:
        return vl_mgmt_audiodev(opts, errp);
    case MGMT_ADD_FD:
        return vl_mgmt_add_fd(opts, errp);
    case MGMT_CHARDEV:
        return vl_mgmt_chardev(opts, cfg, errp);
    case MGMT_MON:
        if (!qemu_opts_check_known(opts, mon_known, errp) ||
            !vl_mgmt_opt_in(opts, "mode", modes, "unknown mode", errp)) {
            return false;
        }
        if (!qemu_opt_get(opts, "chardev")) {
            error_setg(errp, "Parameter 'chardev' is missing");
            return false;
        }
        g_ptr_array_add(cfg->mons, opts);
        *kept = true;
        return true;
    case MGMT_DEVICE:
        g_ptr_array_add(cfg->devices, opts);
        *kept = true;
        return true;
    default:
        return vl_mgmt_check_simple(opt, opts, errp);
    }
}

static void vl_mgmt_config_init(VlMgmtConfig *cfg)
{
    if (!cfg->chardevs) {
        cfg->chardevs = g_ptr_array_new();
        cfg->mons = g_ptr_array_new();
        cfg->devices = g_ptr_array_new();
        mgmt_cfg = cfg;
    }
}

bool vl_mgmt_option(const char *name, const char *arg, VlMgmtConfig *cfg,
                    Error **errp)
{
    static const char *const implied[] = {
        [MGMT_OVERCOMMIT] = NULL,   [MGMT_RTC] = NULL,
        [MGMT_BOOT] = "order",      [MGMT_MSG] = NULL,
        [MGMT_AUDIODEV] = "driver", [MGMT_CHARDEV] = "backend",
        [MGMT_MON] = "chardev",     [MGMT_DEVICE] = "driver",
        [MGMT_ADD_FD] = NULL,
    };
    const VlMgmtOptDef *d = vl_mgmt_find(name);
    QemuOpts *opts;
    bool kept = false;
    bool ok;

    g_assert(d);
    vl_mgmt_config_init(cfg);
    switch (d->opt) {
    case MGMT_NO_USER_CONFIG:
    case MGMT_NO_ACPI:
        return true;
    case MGMT_NO_SHUTDOWN:
        runstate_set_guest_shutdown_handler(vl_mgmt_guest_shutdown);
        return true;
    case MGMT_SANDBOX:
        if (strcmp(arg, "off") != 0) {
            error_setg(errp, "Tern has no seccomp sandbox (only "
                             "-sandbox off)");
            return false;
        }
        return true;
    default:
        break;
    }
    opts = vl_mgmt_parse_opts(arg, implied[d->opt], errp);
    if (!opts) {
        return false;
    }
    ok = vl_mgmt_apply(d->opt, opts, cfg, &kept, errp);
    if (!kept) {
        qemu_opts_free(opts);
    }
    return ok;
}

bool vl_mgmt_machine_opts(QemuOpts *opts, Error **errp)
{
    static const char *const off[] = {"off", "no", "false", NULL};
    static const char *const onoff[] = {"on",   "off",   "yes", "no",
                                        "true", "false", NULL};

    if (!vl_mgmt_opt_in(opts, "usb", off, "pc-lite has no USB", errp) ||
        !vl_mgmt_opt_in(opts, "dump-guest-core", onoff, "expects on or off",
                        errp)) {
        return false;
    }
    mgmt_no_dump = !qemu_opt_get_bool(opts, "dump-guest-core", true, NULL);
    return true;
}

/* Can /dev/kvm be opened?  (The same test accel_init makes.) */
static bool vl_mgmt_kvm_usable(void)
{
    int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);

    if (fd < 0) {
        return false;
    }
    close(fd);
    return true;
}

char *vl_mgmt_accel_resolve(const char *spec, Error **errp)
{
    size_t len;
    g_auto(GStrv) names = NULL;
    const char *pick = NULL;
    int n;

    if (!spec) {
        return NULL;
    }
    len = strcspn(spec, ",");
    {
        g_autofree char *list = g_strndup(spec, len);

        names = g_strsplit(list, ":", -1);
    }
    n = g_strv_length(names);
    for (int i = 0; i < n && !pick; i++) {
        const char *name = !strcmp(names[i], "tcg") ? "soft" : names[i];

        if (!accel_find(name)) {
            error_setg(errp, "invalid accelerator %s", names[i]);
            return NULL;
        }
        /* kvm only when it opens, unless nothing else is left to try. */
        if (strcmp(name, "kvm") != 0 || i == n - 1 || vl_mgmt_kvm_usable()) {
            pick = name;
        }
    }
    if (!pick) {
        error_setg(errp, "no accelerator found");
        return NULL;
    }
    return g_strdup_printf("%s%s", pick, spec + len);
}

static VlChardev *vl_mgmt_chardev_find(VlMgmtConfig *cfg, const char *id,
                                       Error **errp)
{
    for (guint i = 0; cfg->chardevs && i < cfg->chardevs->len; i++) {
        VlChardev *cd = cfg->chardevs->pdata[i];

        if (!strcmp(cd->id, id)) {
            return cd;
        }
    }
    error_setg(errp, "chardev \"%s\" not found", id);
    return NULL;
}

bool vl_mgmt_init_monitors(VlMgmtConfig *cfg, Error **errp)
{
    for (guint i = 0; cfg->mons && i < cfg->mons->len; i++) {
        QemuOpts *opts = cfg->mons->pdata[i];
        const char *mode = qemu_opt_get(opts, "mode");
        /* QEMU's default mode is readline (HMP); libvirt asks control. */
        bool qmp = mode && !strcmp(mode, "control");
        VlChardev *cd;
        bool ok;

        cd = vl_mgmt_chardev_find(cfg, qemu_opt_get(opts, "chardev"), errp);
        if (!cd) {
            return false;
        }
        if (strcmp(cd->backend, "socket") && strcmp(cd->backend, "stdio")) {
            error_setg(errp,
                       "-mon chardev=%s: a monitor needs a socket or "
                       "stdio chardev",
                       cd->id);
            return false;
        }
        ok = qmp ? monitor_init_qmp(cd->spec, errp)
                 : monitor_init_hmp(cd->spec, errp);
        if (!ok) {
            return false;
        }
        cd->used = true;
    }
    return true;
}

/* -device DRIVER,...: isa-serial (the pc-lite UART) only. */
static bool vl_mgmt_device(VlMgmtConfig *cfg, QemuOpts *opts, Error **errp)
{
    static const char *const known[] = {"driver", "id", "chardev", "index",
                                        NULL};
    const char *driver = qemu_opt_get(opts, "driver");
    const char *index = qemu_opt_get(opts, "index");
    VlChardev *cd;

    if (!driver) {
        error_setg(errp, "Parameter 'driver' is missing");
        return false;
    }
    if (strcmp(driver, "isa-serial") != 0) {
        error_setg(errp,
                   "'%s' is not a valid device model name (Tern's pc-lite "
                   "has only isa-serial)",
                   driver);
        return false;
    }
    if (!qemu_opts_check_known(opts, known, errp)) {
        return false;
    }
    if (index && strcmp(index, "0") != 0) {
        error_setg(errp, "pc-lite has one UART (index 0)");
        return false;
    }
    if (!qemu_opt_get(opts, "chardev")) {
        return serial_set_backend("null", errp);
    }
    cd = vl_mgmt_chardev_find(cfg, qemu_opt_get(opts, "chardev"), errp);
    if (!cd) {
        return false;
    }
    if (!strcmp(cd->backend, "socket")) {
        error_setg(errp, "the UART cannot use socket chardev '%s'", cd->id);
        return false;
    }
    cd->used = true;
    return serial_set_backend(cd->spec, errp);
}

bool vl_mgmt_init_devices(VlMgmtConfig *cfg, Error **errp)
{
    for (guint i = 0; cfg->devices && i < cfg->devices->len; i++) {
        if (!vl_mgmt_device(cfg, cfg->devices->pdata[i], errp)) {
            return false;
        }
    }
    return true;
}

bool vl_mgmt_init_machine(VlMgmtConfig *cfg, Error **errp)
{
    RAMBlock *rb;

    if (mgmt_no_dump) {
        RAMBLOCK_FOREACH(rb)
        {
            if (madvise(rb->host, rb->used_length, MADV_DONTDUMP) < 0) {
                error_setg_errno(errp, errno, "dump-guest-core=off: madvise");
                return false;
            }
        }
    }
    if (cfg->mem_lock && mlockall(MCL_CURRENT | MCL_FUTURE) < 0) {
        error_setg_errno(errp, errno, "-overcommit mem-lock=on: mlockall");
        return false;
    }
    return true;
}

/* query-chardev: [{"label", "filename", "frontend-open"}]. */
static bool qmp_query_chardev(json_object *args, json_object **ret,
                              Error **errp)
{
    static const char *const no_args[] = {NULL};
    json_object *list;

    if (!qmp_args_check_known(args, no_args, errp)) {
        return false;
    }
    list = json_object_new_array();
    for (guint i = 0; mgmt_cfg && i < mgmt_cfg->chardevs->len; i++) {
        VlChardev *cd = mgmt_cfg->chardevs->pdata[i];
        json_object *o = json_object_new_object();

        json_object_object_add(o, "frontend-open",
                               json_object_new_boolean(cd->used));
        json_object_object_add(o, "filename",
                               json_object_new_string(cd->filename));
        json_object_object_add(o, "label", json_object_new_string(cd->id));
        json_object_array_add(list, o);
    }
    *ret = list;
    return true;
}

void vl_mgmt_register_commands(void)
{
    qmp_register_command("query-chardev", qmp_query_chardev,
                         QCO_ALLOW_PRECONFIG);
    qmp_probe_register_commands();
}
