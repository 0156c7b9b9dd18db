/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * qmp-schema.c: query-qmp-schema, Tern's QMP introspection in QEMU's
 * SchemaInfo format (the format libvirt reads to learn what a binary
 * can do).
 *
 * The schema is generated when asked, from what this process really
 * has: the registered command table (a command is listed only if it is
 * registered), the object types registered with QOM (object-add is a
 * union over exactly those, each with its properties), the migration
 * capability and run-state names, and migrate-set-parameters' members
 * taken from query-migrate-parameters' own reply.  What the table cannot
 * tell -- each command's argument and return types -- is declared in
 * schema_cmds below, one line per command; test-libvirt-qmp checks that
 * every registered command has a line.  As in QEMU, type names other
 * than the built-ins are masked as numbers; "0" is the empty object.
 */
#include "qemu/osdep.h"
#include "monitor-internal.h"
#include "qom/object.h"
#include "migration/misc.h"
#include "migration/options.h"
#include "sysemu/runstate.h"

/*
 * Type expressions: a built-in (str int bool number null any), "[T]"
 * for an array of T, or a name in schema_types.  Member lists: blank
 * separated "name:type"; '?' before the name makes it optional.
 */
typedef struct SchemaCmd {
    const char *name;
    const char *args; /* member list, or a type name after '=' */
    const char *ret;  /* type expression, NULL = the empty object */
} SchemaCmd;

typedef enum SchemaKind {
    SK_OBJECT, /* spec: member list */
    SK_ENUM,   /* spec: blank-separated values */
    SK_DYNAMIC /* built by a function from live tables */
} SchemaKind;

typedef struct SchemaGen SchemaGen;
typedef const char *SchemaBuildFn(SchemaGen *g);

typedef struct SchemaType {
    const char *name;
    SchemaKind kind;
    const char *spec;
    SchemaBuildFn *build;
} SchemaType;

struct SchemaGen {
    json_object *out;  /* the SchemaInfo list */
    GHashTable *names; /* type name -> masked name (owned strings) */
    unsigned next;     /* next masked number */
};

static const SchemaCmd schema_cmds[] = {
    {"qmp_capabilities", "?enable:[QMPCapability]", NULL},
    {"query-version", "", "VersionInfo"},
    {"query-status", "", "StatusInfo"},
    {"query-name", "", "NameInfo"},
    {"query-uuid", "", "UuidInfo"},
    {"query-commands", "", "[CommandInfo]"},
    {"query-qmp-schema", "", "[any]"},
    {"query-target", "", "TargetInfo"},
    {"query-kvm", "", "KvmInfo"},
    {"query-machines", "?compat-props:bool", "[MachineInfo]"},
    {"query-cpus-fast", "", "[CpuInfoFast]"},
    {"query-command-line-options", "?option:str", "[CommandLineOptionInfo]"},
    {"query-chardev", "", "[ChardevInfo]"},
    {"query-tpm-models", "", "[str]"},
    {"query-tpm-types", "", "[str]"},
    {"query-block", "", "[any]"},
    {"query-named-block-nodes", "?flat:bool", "[any]"},
    {"qom-list-types", "?implements:str ?abstract:bool", "[ObjectTypeInfo]"},
    {"qom-list-properties", "typename:str", "[ObjectPropertyInfo]"},
    {"device-list-properties", "typename:str", "[ObjectPropertyInfo]"},
    {"qom-list", "path:str", "[ObjectPropertyInfo]"},
    {"quit", "", NULL},
    {"stop", "", NULL},
    {"cont", "", NULL},
    {"system_reset", "", NULL},
    {"system_powerdown", "", NULL},
    {"object-add", "=ObjectOptions", NULL},
    {"object-del", "id:str", NULL},
    {"getfd", "fdname:str", NULL},
    {"closefd", "fdname:str", NULL},
    {"human-monitor-command", "command-line:str ?cpu-index:int", "str"},
    {"dump-guest-memory",
     "paging:bool protocol:str ?detach:bool ?begin:int ?length:int "
     "?format:DumpGuestMemoryFormat",
     NULL},
    {"query-dump", "", "DumpQueryResult"},
    {"query-dump-guest-memory-capability", "", "DumpGuestMemoryCapability"},
    {"migrate", "uri:str ?blk:bool ?inc:bool ?detach:bool ?resume:bool", NULL},
    {"migrate-incoming", "uri:str", NULL},
    {"migrate_cancel", "", NULL},
    {"migrate-continue", "state:MigrationStatus", NULL},
    {"migrate-start-postcopy", "", NULL},
    {"migrate-pause", "", NULL},
    {"migrate-recover", "uri:str", NULL},
    {"migrate-set-capabilities", "capabilities:[MigrationCapabilityStatus]",
     NULL},
    {"query-migrate-capabilities", "", "[MigrationCapabilityStatus]"},
    {"migrate-set-parameters", "=MigrateSetParameters", NULL},
    {"query-migrate-parameters", "", "MigrationParameters"},
    {"query-migrate", "", "MigrationInfo"},
    {"x-query-schema-gaps", "", "[str]"},
};

/* The events Tern emits and their data members. */
static const SchemaCmd schema_events[] = {
    {"SHUTDOWN", "guest:bool reason:ShutdownCause", NULL},
    {"RESET", "guest:bool reason:ShutdownCause", NULL},
    {"POWERDOWN", "", NULL},
    {"STOP", "", NULL},
    {"RESUME", "", NULL},
    {"MIGRATION", "status:MigrationStatus", NULL},
    {"MIGRATION_PASS", "pass:int", NULL},
    {"DUMP_COMPLETED", "result:DumpQueryResult ?error:str", NULL},
};

static SchemaBuildFn schema_run_state, schema_migration_status,
    schema_capability, schema_migrate_parameters, schema_object_options;

static const SchemaType schema_types[] = {
    {"QMPCapability", SK_ENUM, "oob"},
    {"VersionTriple", SK_OBJECT, "major:int minor:int micro:int"},
    {"VersionInfo", SK_OBJECT, "qemu:VersionTriple package:str"},
    {"StatusInfo", SK_OBJECT, "running:bool singlestep:bool status:RunState"},
    {"RunState", SK_DYNAMIC, NULL, schema_run_state},
    {"NameInfo", SK_OBJECT, "?name:str"},
    {"UuidInfo", SK_OBJECT, "UUID:str"},
    {"CommandInfo", SK_OBJECT, "name:str"},
    {"TargetInfo", SK_OBJECT, "arch:str"},
    {"KvmInfo", SK_OBJECT, "enabled:bool present:bool"},
    {"MachineInfo", SK_OBJECT,
     "name:str ?is-default:bool cpu-max:int hotpluggable-cpus:bool "
     "numa-mem-supported:bool deprecated:bool acpi:bool"},
    {"CpuInstanceProperties", SK_OBJECT,
     "?socket-id:int ?core-id:int ?thread-id:int"},
    {"CpuInfoFast", SK_OBJECT,
     "cpu-index:int qom-path:str thread-id:int ?props:CpuInstanceProperties "
     "target:str"},
    {"CommandLineParameterInfo", SK_OBJECT, "name:str type:str"},
    {"CommandLineOptionInfo", SK_OBJECT,
     "option:str parameters:[CommandLineParameterInfo]"},
    {"ChardevInfo", SK_OBJECT, "label:str filename:str frontend-open:bool"},
    {"ObjectTypeInfo", SK_OBJECT, "name:str ?abstract:bool ?parent:str"},
    {"ObjectPropertyInfo", SK_OBJECT, "name:str type:str"},
    {"ShutdownCause", SK_ENUM,
     "none host-error host-qmp-quit host-qmp-system-reset host-signal "
     "host-ui guest-shutdown guest-reset guest-panic subsystem-reset "
     "snapshot-load"},
    {"DumpGuestMemoryFormat", SK_ENUM, "elf"},
    {"DumpStatus", SK_ENUM, "none active completed failed"},
    {"DumpQueryResult", SK_OBJECT, "status:DumpStatus completed:int total:int"},
    {"DumpGuestMemoryCapability", SK_OBJECT, "formats:[DumpGuestMemoryFormat]"},
    {"MigrationStatus", SK_DYNAMIC, NULL, schema_migration_status},
    {"MigrationCapability", SK_DYNAMIC, NULL, schema_capability},
    {"MigrationCapabilityStatus", SK_OBJECT,
     "capability:MigrationCapability state:bool"},
    {"MigrationParameters", SK_DYNAMIC, NULL, schema_migrate_parameters},
    {"MigrateSetParameters", SK_DYNAMIC, NULL, schema_migrate_parameters},
    {"MigrationStats", SK_OBJECT,
     "transferred:int remaining:int total:int duplicate:int skipped:int "
     "normal:int normal-bytes:int dirty-pages-rate:int mbps:number "
     "dirty-sync-count:int postcopy-requests:int page-size:int "
     "multifd-bytes:int pages-per-second:int precopy-bytes:int "
     "downtime-bytes:int postcopy-bytes:int"},
    {"MigrationInfo", SK_OBJECT,
     "?status:MigrationStatus ?ram:MigrationStats ?total-time:int "
     "?expected-downtime:int ?downtime:int ?setup-time:int ?error-desc:str"},
    {"ObjectOptions", SK_DYNAMIC, NULL, schema_object_options},
};

static const char *const schema_builtins[][2] = {
    {"str", "string"},    {"int", "int"},   {"bool", "boolean"},
    {"number", "number"}, {"null", "null"}, {"any", "value"},
};

static const char *schema_ref(SchemaGen *g, const char *type);

/* A new masked name, remembered for key (NULL: anonymous). */
static const char *schema_new_name(SchemaGen *g, const char *key)
{
    char *name = g_strdup_printf("%u", g->next++);

    g_hash_table_insert(g->names, g_strdup(key ? key : name), name);
    return name;
}

static void schema_add_info(SchemaGen *g, const char *name, const char *meta,
                            json_object *info)
{
    json_object_object_add(info, "name", json_object_new_string(name));
    json_object_object_add(info, "meta-type", json_object_new_string(meta));
    json_object_array_add(g->out, info);
}

static json_object *schema_member(SchemaGen *g, const char *name,
                                  const char *type, bool optional)
{
    json_object *m = json_object_new_object();

    json_object_object_add(m, "name", json_object_new_string(name));
    json_object_object_add(m, "type",
                           json_object_new_string(schema_ref(g, type)));
    if (optional) {
        json_object_object_add(m, "default", NULL);
    }
    return m;
}

/* Members from a "name:type ?name:type" list. */
static json_object *schema_members(SchemaGen *g, const char *spec)
{
    g_auto(GStrv) words = g_strsplit(spec, " ", -1);
    json_object *members = json_object_new_array();

    for (int i = 0; words[i]; i++) {
        const char *w = words[i];
        bool optional = w[0] == '?';
        const char *colon = strchr(w, ':');
        g_autofree char *name = NULL;

        if (!*w || !colon) {
            continue;
        }
        name = g_strndup(w + optional, colon - w - optional);
        json_object_array_add(members,
                              schema_member(g, name, colon + 1, optional));
    }
    return members;
}

/* An object type from a member list; key names it for reuse or NULL. */
static const char *schema_object(SchemaGen *g, const char *key,
                                 const char *spec)
{
    const char *name = schema_new_name(g, key);
    json_object *info = json_object_new_object();

    json_object_object_add(info, "members", schema_members(g, spec));
    schema_add_info(g, name, "object", info);
    return name;
}

/* An enum type from a NULL-terminated list of values. */
static const char *schema_enum(SchemaGen *g, const char *key,
                               const char *const *values)
{
    const char *name = schema_new_name(g, key);
    json_object *info = json_object_new_object();
    json_object *vals = json_object_new_array();
    json_object *members = json_object_new_array();

    for (int i = 0; values[i]; i++) {
        json_object *m = json_object_new_object();

        json_object_array_add(vals, json_object_new_string(values[i]));
        json_object_object_add(m, "name", json_object_new_string(values[i]));
        json_object_array_add(members, m);
    }
    json_object_object_add(info, "values", vals);
    json_object_object_add(info, "members", members);
    schema_add_info(g, name, "enum", info);
    return name;
}

static const char *schema_enum_fn(SchemaGen *g, const char *key, int n,
                                  const char *(*fn)(int i))
{
    g_autofree const char **vals = g_new0(const char *, n + 1);
    int k = 0;

    for (int i = 0; i < n; i++) {
        if (fn(i)) {
            vals[k++] = fn(i);
        }
    }
    return schema_enum(g, key, vals);
}

static const char *schema_run_state_name(int i)
{
    return runstate_name(i);
}

static const char *schema_run_state(SchemaGen *g)
{
    return schema_enum_fn(g, "RunState", RUN_STATE__MAX, schema_run_state_name);
}

static const char *schema_migration_status_name(int i)
{
    return migration_status_name(i);
}

static const char *schema_migration_status(SchemaGen *g)
{
    return schema_enum_fn(g, "MigrationStatus", MIGRATION_STATUS__MAX,
                          schema_migration_status_name);
}

static const char *schema_capability_name(int i)
{
    return migration_capability_name(i);
}

static const char *schema_capability(SchemaGen *g)
{
    return schema_enum_fn(g, "MigrationCapability", MIGRATION_CAPABILITY__MAX,
                          schema_capability_name);
}

/*
 * MigrationParameters / MigrateSetParameters: every member of
 * query-migrate-parameters' reply, optional, typed by its JSON value.
 */
static const char *schema_migrate_parameters(SchemaGen *g)
{
    json_object *req = json_object_new_object();
    json_object *resp, *params;
    g_autoptr(GString) spec = g_string_new(NULL);

    json_object_object_add(req, "execute",
                           json_object_new_string("query-migrate-parameters"));
    resp = qmp_dispatch(req);
    if (json_object_object_get_ex(resp, "return", &params) &&
        json_object_is_type(params, json_type_object)) {
        json_object_object_foreach(params, key, val)
        {
            json_type t = json_object_get_type(val);

            g_string_append_printf(spec, " ?%s:%s", key,
                                   t == json_type_boolean  ? "bool"
                                   : t == json_type_int    ? "int"
                                   : t == json_type_double ? "number"
                                                           : "str");
        }
    }
    json_object_put(resp);
    json_object_put(req);
    return schema_object(g, NULL, spec->str);
}

/*
 * object-add's arguments: a union on qom-type over the registered
 * object types, each variant with that type's properties.
 */
static const char *schema_object_options(SchemaGen *g)
{
    GList *types = object_type_list();
    guint n = g_list_length(types), k = 0;
    g_autofree const char **names = g_new0(const char *, n + 1);
    json_object *info = json_object_new_object();
    json_object *members = json_object_new_array();
    json_object *variants = json_object_new_array();
    const char *name;

    for (GList *l = types; l; l = l->next) {
        names[k++] = ((const ObjectTypeInfo *)l->data)->name;
    }
    schema_enum(g, "ObjectType", names);
    for (GList *l = types; l; l = l->next) {
        const ObjectTypeInfo *t = l->data;
        g_autoptr(GString) spec = g_string_new(NULL);
        json_object *v = json_object_new_object();

        for (int i = 0; t->props && t->props[i]; i++) {
            g_string_append_printf(spec, " ?%s:str", t->props[i]);
        }
        json_object_object_add(v, "case", json_object_new_string(t->name));
        json_object_object_add(
            v, "type",
            json_object_new_string(schema_object(g, NULL, spec->str)));
        json_object_array_add(variants, v);
    }
    g_list_free(types);
    name = schema_new_name(g, "ObjectOptions");
    json_object_array_add(members,
                          schema_member(g, "qom-type", "ObjectType", false));
    json_object_array_add(members, schema_member(g, "id", "str", false));
    json_object_object_add(info, "members", members);
    json_object_object_add(info, "tag", json_object_new_string("qom-type"));
    json_object_object_add(info, "variants", variants);
    schema_add_info(g, name, "object", info);
    return name;
}

/* The SchemaInfo name for a type expression, emitting it on first use. */
static const char *schema_ref(SchemaGen *g, const char *type)
{
    const char *known = g_hash_table_lookup(g->names, type);

    if (known) {
        return known;
    }
    for (size_t i = 0; i < ARRAY_SIZE(schema_builtins); i++) {
        if (!strcmp(type, schema_builtins[i][0])) {
            json_object *info = json_object_new_object();

            json_object_object_add(
                info, "json-type",
                json_object_new_string(schema_builtins[i][1]));
            g_hash_table_insert(g->names, g_strdup(type), g_strdup(type));
            schema_add_info(g, type, "builtin", info);
            return type;
        }
    }
    if (type[0] == '[') {
        g_autofree char *elt = g_strndup(type + 1, strlen(type) - 2);
        const char *elt_name = schema_ref(g, elt);
        g_autofree char *name = g_strdup_printf("[%s]", elt_name);
        json_object *info = json_object_new_object();

        json_object_object_add(info, "element-type",
                               json_object_new_string(elt_name));
        schema_add_info(g, name, "array", info);
        g_hash_table_insert(g->names, g_strdup(type), g_strdup(name));
        return g_hash_table_lookup(g->names, type);
    }
    for (size_t i = 0; i < ARRAY_SIZE(schema_types); i++) {
        const SchemaType *t = &schema_types[i];

        if (strcmp(type, t->name) != 0) {
            continue;
        }
        if (t->kind == SK_DYNAMIC) {
            const char *name = t->build(g);

            /* Dynamic builders may name their result themselves. */
            if (!g_hash_table_contains(g->names, type)) {
                g_hash_table_insert(g->names, g_strdup(type), g_strdup(name));
            }
            return g_hash_table_lookup(g->names, type);
        }
        if (t->kind == SK_ENUM) {
            g_auto(GStrv) vals = g_strsplit(t->spec, " ", -1);

            return schema_enum(g, type, (const char *const *)vals);
        }
        return schema_object(g, type, t->spec);
    }
    g_assert_not_reached(); /* a type missing from schema_types */
}

/* The table line for a registered command, or NULL. */
static const SchemaCmd *schema_cmd_find(const char *name)
{
    for (size_t i = 0; i < ARRAY_SIZE(schema_cmds); i++) {
        if (!strcmp(schema_cmds[i].name, name)) {
            return &schema_cmds[i];
        }
    }
    return NULL;
}

static const char *schema_args(SchemaGen *g, const char *args)
{
    if (args[0] == '=') {
        return schema_ref(g, args + 1);
    }
    if (!args[0]) {
        return "0";
    }
    return schema_object(g, NULL, args);
}

static void schema_add_entity(SchemaGen *g, const SchemaCmd *c, bool event)
{
    json_object *info = json_object_new_object();

    json_object_object_add(info, "arg-type",
                           json_object_new_string(schema_args(g, c->args)));
    if (!event) {
        json_object_object_add(
            info, "ret-type",
            json_object_new_string(c->ret ? schema_ref(g, c->ret) : "0"));
    }
    schema_add_info(g, c->name, event ? "event" : "command", info);
}

/*
 * query-qmp-schema: every registered command (those without a line in
 * schema_cmds get the empty argument object and are reported by the
 * test), the events, and the types they use.
 */
static bool qmp_query_qmp_schema(json_object *args, json_object **ret,
                                 Error **errp)
{
    static const char *const no_args[] = {NULL};
    SchemaGen g = {0};
    const char **names;
    size_t n;
    json_object *empty;

    if (!qmp_args_check_known(args, no_args, errp)) {
        return false;
    }
    g.out = json_object_new_array();
    g.names = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
    /* "0": the empty object, for commands without arguments or result. */
    empty = json_object_new_object();
    json_object_object_add(empty, "members", json_object_new_array());
    schema_add_info(&g, schema_new_name(&g, "{}"), "object", empty);
    names = qmp_command_list(&n);
    for (size_t i = 0; i < n; i++) {
        const SchemaCmd *c = schema_cmd_find(names[i]);
        SchemaCmd bare = {names[i], "", NULL};

        schema_add_entity(&g, c ? c : &bare, false);
    }
    g_free(names);
    for (size_t i = 0; i < ARRAY_SIZE(schema_events); i++) {
        schema_add_entity(&g, &schema_events[i], true);
    }
    g_hash_table_destroy(g.names);
    *ret = g.out;
    return true;
}

/* Commands of the table that have no schema line (for the tests). */
static bool qmp_x_query_schema_gaps(json_object *args, json_object **ret,
                                    Error **errp)
{
    const char **names;
    size_t n;
    json_object *list = json_object_new_array();

    names = qmp_command_list(&n);
    for (size_t i = 0; i < n; i++) {
        if (!schema_cmd_find(names[i])) {
            json_object_array_add(list, json_object_new_string(names[i]));
        }
    }
    g_free(names);
    *ret = list;
    return true;
}

void monitor_register_schema_commands(void)
{
    qmp_register_command("query-qmp-schema", qmp_query_qmp_schema,
                         QCO_ALLOW_PRECONFIG);
    qmp_register_command("x-query-schema-gaps", qmp_x_query_schema_gaps,
                         QCO_ALLOW_PRECONFIG);
}
