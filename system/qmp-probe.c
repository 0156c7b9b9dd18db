/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * qmp-probe.c: the QMP commands a management tool (libvirt 9.0) asks to
 * learn what this binary and this VM have: target, KVM, QOM types and
 * their properties, machines, command-line options, vCPUs, TPM models,
 * block devices (none), plus system_powerdown.  Every answer describes
 * what Tern really has; an empty list means "none of these".
 */
#include "qemu/osdep.h"
#include "qapi/qmp/dispatch.h"
#include "qom/object.h"
#include "hw/boards.h"
#include "sysemu/accel.h"
#include "sysemu/cpus.h"

static const char *const no_args[] = {NULL};

static json_object *probe_name_type(const char *name, const char *type)
{
    json_object *o = json_object_new_object();

    json_object_object_add(o, "name", json_object_new_string(name));
    json_object_object_add(o, "type", json_object_new_string(type));
    return o;
}

static bool qmp_query_target(json_object *args, json_object **ret, Error **errp)
{
    json_object *o;

    if (!qmp_args_check_known(args, no_args, errp)) {
        return false;
    }
    o = json_object_new_object();
    json_object_object_add(o, "arch", json_object_new_string("x86_64"));
    *ret = o;
    return true;
}

/* query-kvm: present = /dev/kvm opens; enabled = the VM runs on KVM. */
static bool qmp_query_kvm(json_object *args, json_object **ret, Error **errp)
{
    const AccelOps *cur = accel_current();
    int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
    json_object *o;

    if (fd >= 0) {
        close(fd);
    }
    if (!qmp_args_check_known(args, no_args, errp)) {
        return false;
    }
    o = json_object_new_object();
    json_object_object_add(
        o, "enabled",
        json_object_new_boolean(cur && !strcmp(cur->name, "kvm")));
    json_object_object_add(o, "present", json_object_new_boolean(fd >= 0));
    *ret = o;
    return true;
}

/* A QOM type Tern has and its parent, as qom-list-types reports it. */
typedef struct ProbeType {
    const char *name;
    const char *parent;
} ProbeType;

/* The type's parent in QEMU's hierarchy, by its name's prefix. */
static const char *probe_object_parent(const char *name)
{
    static const ProbeType prefixes[] = {
        {"tls-creds-", "tls-creds"},
        {"authz-", "authz"},
        {"memory-backend-", "memory-backend"},
        {"secret", "secret_common"},
    };

    for (size_t i = 0; i < ARRAY_SIZE(prefixes); i++) {
        if (g_str_has_prefix(name, prefixes[i].name)) {
            return prefixes[i].parent;
        }
    }
    return "object";
}

static void probe_add_type(json_object *list, const char *name,
                           const char *parent, const char *implements)
{
    json_object *o;

    if (implements && strcmp(implements, parent) && strcmp(implements, name)) {
        return;
    }
    o = json_object_new_object();
    json_object_object_add(o, "name", json_object_new_string(name));
    json_object_object_add(o, "parent", json_object_new_string(parent));
    json_object_array_add(list, o);
}

/* qom-list-types [implements] [abstract]: objects, machines, isa-serial. */
static bool qmp_qom_list_types(json_object *args, json_object **ret,
                               Error **errp)
{
    static const char *const known[] = {"implements", "abstract", NULL};
    const char *implements = NULL;
    bool abstract = false;
    json_object *list;
    GList *types;
    const MachineClass *mc;

    if (!qmp_args_check_known(args, known, errp) ||
        !qmp_arg_str(args, "implements", false, &implements, errp) ||
        !qmp_arg_bool(args, "abstract", false, &abstract, errp)) {
        return false;
    }
    list = json_object_new_array();
    types = object_type_list();
    for (GList *l = types; l; l = l->next) {
        const ObjectTypeInfo *t = l->data;

        probe_add_type(list, t->name, probe_object_parent(t->name), implements);
    }
    g_list_free(types);
    for (size_t i = 0; (mc = machine_class_nth(i)); i++) {
        g_autofree char *name = g_strdup_printf("%s-machine", mc->name);

        probe_add_type(list, name, "machine", implements);
    }
    probe_add_type(list, "isa-serial", "isa-device", implements);
    /* Accelerators; "tcg" names the soft vCPU (docs/libvirt.md). */
    if (accel_find("kvm")) {
        probe_add_type(list, "kvm-accel", "accel", implements);
    }
    if (accel_find("soft")) {
        probe_add_type(list, "soft-accel", "accel", implements);
        probe_add_type(list, "tcg-accel", "accel", implements);
    }
    *ret = list;
    return true;
}

/* device-list-properties typename: isa-serial is Tern's one device. */
static bool qmp_device_list_properties(json_object *args, json_object **ret,
                                       Error **errp)
{
    static const char *const known[] = {"typename", NULL};
    const char *type;
    json_object *list;

    if (!qmp_args_check_known(args, known, errp) ||
        !qmp_arg_str(args, "typename", true, &type, errp)) {
        return false;
    }
    if (strcmp(type, "isa-serial") != 0) {
        error_set(errp, ERROR_CLASS_DEVICE_NOT_FOUND, "Device '%s' not found",
                  type);
        return false;
    }
    list = json_object_new_array();
    json_object_array_add(list, probe_name_type("index", "uint32"));
    json_object_array_add(list, probe_name_type("chardev", "str"));
    *ret = list;
    return true;
}

/*
 * qom-list-properties typename: an object type's properties, a machine's
 * options; an empty list for a type Tern does not have (libvirt 9.0 asks
 * for types it expects and cannot cope with an error here).
 */
static bool qmp_qom_list_properties(json_object *args, json_object **ret,
                                    Error **errp)
{
    static const char *const known[] = {"typename", NULL};
    static const char *const machine_props[] = {
        "type", "accel", "memory-backend", "usb", "dump-guest-core", NULL};
    const ObjectTypeInfo *t;
    const char *type;
    json_object *list;

    if (!qmp_args_check_known(args, known, errp) ||
        !qmp_arg_str(args, "typename", true, &type, errp)) {
        return false;
    }
    list = json_object_new_array();
    t = object_type_lookup(type);
    if (t) {
        for (int i = 0; t->props && t->props[i]; i++) {
            json_object_array_add(list, probe_name_type(t->props[i], "string"));
        }
    } else if (g_str_has_suffix(type, "-machine")) {
        g_autofree char *name = g_strndup(type, strlen(type) - 8);

        for (int i = 0; machine_class_find(name) && machine_props[i]; i++) {
            json_object_array_add(list,
                                  probe_name_type(machine_props[i], "string"));
        }
    }
    *ret = list;
    return true;
}

/* query-machines: none and pc-lite (the default), one vCPU each. */
static bool qmp_query_machines(json_object *args, json_object **ret,
                               Error **errp)
{
    static const char *const known[] = {"compat-props", NULL};
    const MachineClass *mc;
    json_object *list;

    if (!qmp_args_check_known(args, known, errp)) {
        return false;
    }
    list = json_object_new_array();
    for (size_t i = 0; (mc = machine_class_nth(i)); i++) {
        json_object *o = json_object_new_object();

        json_object_object_add(o, "name", json_object_new_string(mc->name));
        if (!strcmp(mc->name, "pc-lite")) {
            json_object_object_add(o, "is-default",
                                   json_object_new_boolean(true));
        }
        json_object_object_add(o, "cpu-max", json_object_new_int(1));
        json_object_object_add(o, "hotpluggable-cpus",
                               json_object_new_boolean(false));
        json_object_object_add(o, "numa-mem-supported",
                               json_object_new_boolean(false));
        json_object_object_add(o, "deprecated", json_object_new_boolean(false));
        json_object_object_add(o, "acpi", json_object_new_boolean(false));
        json_object_array_add(list, o);
    }
    *ret = list;
    return true;
}

/* Command-line options and their key=value parameters, as vl.c takes. */
typedef struct ProbeCmdlineOpt {
    const char *option;
    const char *params[8]; /* "name:type", NULL-terminated */
} ProbeCmdlineOpt;

static const ProbeCmdlineOpt probe_cmdline_opts[] = {
    {"machine",
     {"type:string", "accel:string", "memory-backend:string", "usb:boolean",
      "dump-guest-core:boolean"}},
    {"accel", {"accel:string", "dirty-ring-size:number"}},
    {"name", {"guest:string", "process:string", "debug-threads:boolean"}},
    {"msg", {"timestamp:boolean"}},
    {"overcommit", {"mem-lock:boolean", "cpu-pm:boolean"}},
    {"boot-opts", {"strict:boolean"}},
    {"rtc", {"base:string", "clock:string"}},
    {"mon", {"chardev:string", "mode:string", "pretty:boolean"}},
    {"chardev",
     {"backend:string", "id:string", "path:string", "fd:string",
      "server:boolean", "wait:boolean", "append:boolean"}},
    {"object", {NULL}},
    {"device", {NULL}},
    {"smp-opts", {"cpus:number"}},
    {"memory", {"size:size"}},
    {"trace", {"enable:string"}},
};

static json_object *probe_cmdline_entry(const ProbeCmdlineOpt *opt)
{
    json_object *o = json_object_new_object();
    json_object *params = json_object_new_array();

    for (int i = 0; opt->params[i]; i++) {
        const char *colon = strchr(opt->params[i], ':');
        g_autofree char *name =
            g_strndup(opt->params[i], colon - opt->params[i]);

        json_object_array_add(params, probe_name_type(name, colon + 1));
    }
    json_object_object_add(o, "parameters", params);
    json_object_object_add(o, "option", json_object_new_string(opt->option));
    return o;
}

static bool qmp_query_command_line_options(json_object *args, json_object **ret,
                                           Error **errp)
{
    static const char *const known[] = {"option", NULL};
    const char *option = NULL;
    json_object *list;

    if (!qmp_args_check_known(args, known, errp) ||
        !qmp_arg_str(args, "option", false, &option, errp)) {
        return false;
    }
    list = json_object_new_array();
    for (size_t i = 0; i < ARRAY_SIZE(probe_cmdline_opts); i++) {
        if (!option || !strcmp(option, probe_cmdline_opts[i].option)) {
            json_object_array_add(list,
                                  probe_cmdline_entry(&probe_cmdline_opts[i]));
        }
    }
    if (option && json_object_array_length(list) == 0) {
        json_object_put(list);
        error_setg(errp, "invalid option name: %s", option);
        return false;
    }
    *ret = list;
    return true;
}

/* query-cpus-fast: the one vCPU of pc-lite (none for -M none). */
static bool qmp_query_cpus_fast(json_object *args, json_object **ret,
                                Error **errp)
{
    MachineState *ms = current_machine();
    json_object *list, *cpu, *props;

    if (!qmp_args_check_known(args, no_args, errp)) {
        return false;
    }
    list = json_object_new_array();
    if (ms && ms->has_vcpu) {
        cpu = json_object_new_object();
        props = json_object_new_object();
        json_object_object_add(props, "core-id", json_object_new_int(0));
        json_object_object_add(props, "thread-id", json_object_new_int(0));
        json_object_object_add(props, "socket-id", json_object_new_int(0));
        json_object_object_add(cpu, "cpu-index", json_object_new_int(0));
        json_object_object_add(
            cpu, "qom-path",
            json_object_new_string("/machine/unattached/device[0]"));
        json_object_object_add(cpu, "thread-id",
                               json_object_new_int(cpus_vcpu_thread_id()));
        json_object_object_add(cpu, "props", props);
        json_object_object_add(cpu, "target", json_object_new_string("x86_64"));
        json_object_array_add(list, cpu);
    }
    *ret = list;
    return true;
}

/* Lists of things Tern has none of: TPMs, block devices. */
static bool qmp_empty_list(json_object *args, json_object **ret, Error **errp)
{
    if (!qmp_args_check_known(args, no_args, errp)) {
        return false;
    }
    *ret = json_object_new_array();
    return true;
}

static bool qmp_query_named_block_nodes(json_object *args, json_object **ret,
                                        Error **errp)
{
    static const char *const known[] = {"flat", NULL};
    bool flat;

    if (!qmp_args_check_known(args, known, errp) ||
        !qmp_arg_bool(args, "flat", false, &flat, errp)) {
        return false;
    }
    *ret = json_object_new_array();
    return true;
}

static void probe_add_object(Object *obj, void *opaque)
{
    g_autofree char *type = g_strdup_printf("child<%s>", obj->type->name);

    json_object_array_add(opaque, probe_name_type(obj->id, type));
}

/* qom-list PATH: the containers libvirt walks; user objects by id. */
static bool qmp_qom_list(json_object *args, json_object **ret, Error **errp)
{
    static const char *const known[] = {"path", NULL};
    const char *path;
    json_object *list;

    if (!qmp_args_check_known(args, known, errp) ||
        !qmp_arg_str(args, "path", true, &path, errp)) {
        return false;
    }
    list = json_object_new_array();
    if (!strcmp(path, "/")) {
        json_object_array_add(list, probe_name_type("type", "string"));
        json_object_array_add(list,
                              probe_name_type("machine", "child<container>"));
        json_object_array_add(list,
                              probe_name_type("objects", "child<container>"));
    } else if (!strcmp(path, "/machine")) {
        json_object_array_add(list, probe_name_type("type", "string"));
        json_object_array_add(
            list, probe_name_type("peripheral", "child<container>"));
        json_object_array_add(
            list, probe_name_type("unattached", "child<container>"));
    } else if (!strcmp(path, "/objects")) {
        object_foreach(probe_add_object, list);
    } else if (strcmp(path, "/machine/peripheral") != 0 &&
               strcmp(path, "/machine/peripheral-anon") != 0 &&
               strcmp(path, "/machine/unattached") != 0) {
        json_object_put(list);
        error_set(errp, ERROR_CLASS_DEVICE_NOT_FOUND, "Device '%s' not found",
                  path);
        return false;
    }
    *ret = list;
    return true;
}

/*
 * system_powerdown: the POWERDOWN event.  pc-lite has no ACPI power
 * button, so, as a QEMU guest without ACPI, the guest sees nothing.
 */
static bool qmp_system_powerdown(json_object *args, json_object **ret,
                                 Error **errp)
{
    if (!qmp_args_check_known(args, no_args, errp)) {
        return false;
    }
    qapi_event_send("POWERDOWN", NULL);
    return true;
}

void qmp_probe_register_commands(void)
{
    qmp_register_command("query-target", qmp_query_target, QCO_ALLOW_PRECONFIG);
    qmp_register_command("query-kvm", qmp_query_kvm, QCO_ALLOW_PRECONFIG);
    qmp_register_command("qom-list-types", qmp_qom_list_types,
                         QCO_ALLOW_PRECONFIG);
    qmp_register_command("device-list-properties", qmp_device_list_properties,
                         QCO_ALLOW_PRECONFIG);
    qmp_register_command("qom-list-properties", qmp_qom_list_properties,
                         QCO_ALLOW_PRECONFIG);
    qmp_register_command("query-machines", qmp_query_machines,
                         QCO_ALLOW_PRECONFIG);
    qmp_register_command("query-command-line-options",
                         qmp_query_command_line_options, QCO_ALLOW_PRECONFIG);
    qmp_register_command("query-cpus-fast", qmp_query_cpus_fast,
                         QCO_ALLOW_PRECONFIG);
    qmp_register_command("query-tpm-models", qmp_empty_list,
                         QCO_ALLOW_PRECONFIG);
    qmp_register_command("query-tpm-types", qmp_empty_list,
                         QCO_ALLOW_PRECONFIG);
    qmp_register_command("query-block", qmp_empty_list, 0);
    qmp_register_command("query-named-block-nodes", qmp_query_named_block_nodes,
                         0);
    qmp_register_command("qom-list", qmp_qom_list, QCO_ALLOW_PRECONFIG);
    qmp_register_command("system_powerdown", qmp_system_powerdown, 0);
}
