/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * object.c: user-creatable objects (see qom/object.h).
 *
 * Two tables, both touched only with the BQL held:
 *   - types: name -> ObjectTypeInfo (static storage of the registrant);
 *   - objects: live objects in creation order; the table holds one
 *     reference on each.  Lookups are linear: a VMM has a handful.
 */
#include "qemu/osdep.h"
#include "qom/object.h"

static GHashTable *object_types; /* name -> const ObjectTypeInfo * */
static GPtrArray *object_table;  /* Object *, creation order */

void object_type_register(const ObjectTypeInfo *info)
{
    g_assert(info->name && info->instance_size >= sizeof(Object));
    if (!object_types) {
        object_types = g_hash_table_new(g_str_hash, g_str_equal);
    }
    g_assert(!g_hash_table_contains(object_types, info->name));
    g_hash_table_insert(object_types, (gpointer)info->name, (gpointer)info);
}

const ObjectTypeInfo *object_type_lookup(const char *name)
{
    if (!object_types || !name) {
        return NULL;
    }
    return g_hash_table_lookup(object_types, name);
}

static gint object_type_cmp(gconstpointer a, gconstpointer b)
{
    return strcmp(((const ObjectTypeInfo *)a)->name,
                  ((const ObjectTypeInfo *)b)->name);
}

GList *object_type_list(void)
{
    GList *l = object_types ? g_hash_table_get_values(object_types) : NULL;

    return g_list_sort(l, object_type_cmp);
}

/* QEMU's identifier rule: a letter, then letters, digits, '-', '.', '_'. */
static bool object_id_wellformed(const char *id)
{
    const char *p;

    if (!g_ascii_isalpha(id[0])) {
        return false;
    }
    for (p = id + 1; *p; p++) {
        if (!g_ascii_isalnum(*p) && !strchr("-._", *p)) {
            return false;
        }
    }
    return true;
}

static guint object_table_index(const char *id, bool *found)
{
    guint i;

    *found = false;
    for (i = 0; object_table && i < object_table->len; i++) {
        Object *obj = g_ptr_array_index(object_table, i);

        if (!strcmp(obj->id, id)) {
            *found = true;
            return i;
        }
    }
    return 0;
}

Object *object_resolve_id(const char *id)
{
    bool found;
    guint i;

    if (!id) {
        return NULL;
    }
    i = object_table_index(id, &found);
    return found ? g_ptr_array_index(object_table, i) : NULL;
}

Object *object_resolve_id_type(const char *id, const char *typename,
                               Error **errp)
{
    Object *obj = object_resolve_id(id);

    if (!obj) {
        error_setg(errp, "object '%s' not found", id ? id : "");
        return NULL;
    }
    if (strcmp(obj->type->name, typename) != 0) {
        error_setg(errp, "object '%s' has type '%s', not '%s'", id,
                   obj->type->name, typename);
        return NULL;
    }
    return obj;
}

Object *object_ref(Object *obj)
{
    g_atomic_int_inc(&obj->refcount);
    return obj;
}

void object_unref(Object *obj)
{
    if (!obj) {
        return;
    }
    g_assert(g_atomic_int_get(&obj->refcount) > 0);
    if (!g_atomic_int_dec_and_test(&obj->refcount)) {
        return;
    }
    if (obj->type->finalize) {
        obj->type->finalize(obj);
    }
    g_free(obj->id);
    g_free(obj);
}

/* Every key of props must be qom-type, id or one of the type's props. */
static bool object_check_props(const ObjectTypeInfo *type, QemuOpts *props,
                               bool cmdline, Error **errp)
{
    size_t i, n = props ? qemu_opts_count(props) : 0;

    for (i = 0; i < n; i++) {
        const char *key = qemu_opts_key(props, i);

        if (!strcmp(key, "qom-type") || !strcmp(key, "id")) {
            continue;
        }
        if (!type->props ||
            !g_strv_contains((const gchar *const *)type->props, key)) {
            if (cmdline) {
                error_setg(errp, "Invalid parameter '%s'", key);
            } else {
                error_setg(errp, "Parameter '%s' is unexpected", key);
            }
            return false;
        }
    }
    return true;
}

/*
 * The checks run in QEMU 7.2's order: type, id present, id well formed,
 * unknown properties, duplicate id, then the type's complete().  cmdline
 * selects -object's wording over QMP/HMP's where they differ.
 */
static Object *object_add_internal(const char *typename, const char *id,
                                   QemuOpts *props, bool cmdline, Error **errp)
{
    const ObjectTypeInfo *type;
    QemuOpts *empty = NULL;
    Object *obj;
    bool found;

    if (!typename) {
        error_setg(errp, "Parameter 'qom-type' is missing");
        return NULL;
    }
    type = object_type_lookup(typename);
    if (!type) {
        error_setg(errp, "Parameter 'qom-type' does not accept value '%s'",
                   typename);
        return NULL;
    }
    if (!id) {
        error_setg(errp, "Parameter 'id' is missing");
        return NULL;
    }
    if (!object_id_wellformed(id)) {
        error_setg(errp, "Parameter 'id' expects an identifier");
        return NULL;
    }
    if (!object_check_props(type, props, cmdline, errp)) {
        return NULL;
    }
    object_table_index(id, &found);
    if (found && cmdline) {
        error_setg(errp, "Duplicate ID '%s' for object", id);
        return NULL;
    }
    if (found) {
        error_setg(errp,
                   "attempt to add duplicate property '%s' to object "
                   "(type 'container')",
                   id);
        return NULL;
    }

    obj = g_malloc0(type->instance_size);
    obj->type = type;
    obj->id = g_strdup(id);
    obj->refcount = 1;
    if (!props) {
        props = empty = qemu_opts_new();
    }
    if (type->complete && !type->complete(obj, props, errp)) {
        /* complete() failed: finalize must cope with a partial object */
        qemu_opts_free(empty);
        object_unref(obj);
        return NULL;
    }
    qemu_opts_free(empty);
    if (!object_table) {
        object_table = g_ptr_array_new();
    }
    g_ptr_array_add(object_table, obj); /* the table's reference */
    return obj;
}

Object *user_creatable_add(const char *typename, const char *id,
                           QemuOpts *props, Error **errp)
{
    return object_add_internal(typename, id, props, false, errp);
}

static Object *object_add_str(const char *optstr, bool cmdline, Error **errp)
{
    QemuOpts *opts = qemu_opts_parse(optstr, "qom-type", errp);
    Object *obj;

    if (!opts) {
        return NULL;
    }
    obj = object_add_internal(qemu_opt_get(opts, "qom-type"),
                              qemu_opt_get(opts, "id"), opts, cmdline, errp);
    qemu_opts_free(opts);
    return obj;
}

Object *user_creatable_add_opts_str(const char *optstr, Error **errp)
{
    return object_add_str(optstr, false, errp);
}

Object *user_creatable_add_cmdline(const char *optarg, Error **errp)
{
    return object_add_str(optarg, true, errp);
}

bool user_creatable_del(const char *id, Error **errp)
{
    Object *obj;
    bool found;
    guint i;

    i = object_table_index(id ? id : "", &found);
    if (!found) {
        error_setg(errp, "object '%s' not found", id ? id : "");
        return false;
    }
    obj = g_ptr_array_index(object_table, i);
    if (obj->type->can_delete && !obj->type->can_delete(obj, errp)) {
        return false;
    }
    g_ptr_array_remove_index(object_table, i);
    object_unref(obj);
    return true;
}

void object_foreach(void (*fn)(Object *obj, void *opaque), void *opaque)
{
    for (guint i = 0; object_table && i < object_table->len; i++) {
        fn(g_ptr_array_index(object_table, i), opaque);
    }
}

void user_creatable_cleanup(void)
{
    /* newest first: later objects may refer to earlier ones */
    while (object_table && object_table->len) {
        Object *obj =
            g_ptr_array_remove_index(object_table, object_table->len - 1);
        object_unref(obj);
    }
}
