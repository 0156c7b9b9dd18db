/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * object.h: user-creatable objects (-object, object-add, object-del).
 *
 * Much smaller than QEMU's QOM: a registry of object types, each with a
 * list of property names it accepts, and a table of live objects by id.
 * Properties arrive as strings in a QemuOpts (from the command line
 * directly, from QMP object-add after converting JSON values to strings:
 * true -> "on", numbers in decimal).
 *
 * Types register at start-up (type_init-style constructors are not used:
 * each subsystem has an explicit *_register_types() called from main).
 * All functions run on the main thread with the BQL held.
 */
#ifndef QOM_OBJECT_H
#define QOM_OBJECT_H

#include "qemu/osdep.h"
#include "qapi/error.h"
#include "qemu/option.h"

typedef struct Object Object;
typedef struct ObjectTypeInfo ObjectTypeInfo;

struct Object {
    const ObjectTypeInfo *type;
    char *id;      /* owned */
    gint refcount; /* atomic */
};

struct ObjectTypeInfo {
    const char *name;     /* "tls-creds-x509" */
    size_t instance_size; /* >= sizeof(Object), Object first */
    /* Property names accepted besides qom-type and id; NULL-terminated. */
    const char *const *props;
    /*
     * Initialise obj (zeroed, type and id set) from props; checks files,
     * values...  Errors name the bad property or file.  true on success.
     */
    bool (*complete)(Object *obj, QemuOpts *props, Error **errp);
    /* Optional: refuse deletion (e.g. "in use"). */
    bool (*can_delete)(Object *obj, Error **errp);
    /*
     * Optional: release what complete() acquired.  Also called when
     * complete() failed, so it must cope with a partly built object.
     */
    void (*finalize)(Object *obj);
};

/* Register a type (static storage). */
void object_type_register(const ObjectTypeInfo *info);
const ObjectTypeInfo *object_type_lookup(const char *name);
/* Every registered type, sorted by name (g_list_free the list only). */
GList *object_type_list(void);

/*
 * Create an object of type typename with id from props (the keys
 * "qom-type" and "id" in props are ignored).  Errors as QEMU 7.2 words
 * them for QMP object-add and HMP object_add (verified against
 * qemu-system-x86_64 7.2), checked in this order:
 *   "Parameter 'qom-type' is missing" (typename NULL),
 *   "Parameter 'qom-type' does not accept value 'T'" (unknown type),
 *   "Parameter 'id' is missing", "Parameter 'id' expects an identifier",
 *   "Parameter 'K' is unexpected" (property the type does not accept),
 *   "attempt to add duplicate property 'ID' to object (type 'container')",
 * then whatever the type's complete() says.  Returns the object (the
 * table owns a reference; take your own with object_ref to keep it).
 */
Object *user_creatable_add(const char *typename, const char *id,
                           QemuOpts *props, Error **errp);
/* object_add (HMP) syntax: "type,id=ID,k=v...", errors as above. */
Object *user_creatable_add_opts_str(const char *optstr, Error **errp);
/*
 * -object syntax, with QEMU 7.2's command-line wording where it differs:
 * "Invalid parameter 'K'" and "Duplicate ID 'ID' for object".  The caller
 * adds the "-object OPTARG: " location prefix.
 */
Object *user_creatable_add_cmdline(const char *optarg, Error **errp);
/*
 * Delete by id ("object 'ID' not found", or can_delete's error).  The
 * object is finalized once the last reference is dropped.
 */
bool user_creatable_del(const char *id, Error **errp);
/* Call fn on every live object, in creation order (fn must not add or
 * delete objects). */
void object_foreach(void (*fn)(Object *obj, void *opaque), void *opaque);
/* Look up by id; NULL if none.  Borrowed. */
Object *object_resolve_id(const char *id);
/*
 * Look up by id and check its type name; NULL with errp set otherwise
 * ("object 'ID' not found", "object 'ID' has type 'X', not 'T'").
 */
Object *object_resolve_id_type(const char *id, const char *typename,
                               Error **errp);
/* Take a reference (atomic; any thread).  Returns obj. */
Object *object_ref(Object *obj);
/* Drop a reference; the last one calls finalize and frees.  NULL is ok. */
void object_unref(Object *obj);
/* Delete all objects (at exit). */
void user_creatable_cleanup(void);

#endif /* QOM_OBJECT_H */
