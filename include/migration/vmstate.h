/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * vmstate.h: declarative descriptions of device state (VMState), saved and
 * loaded in QEMU's wire format.
 *
 * A VMStateDescription names a device section ("timer", "globalstate",
 * "cpu", "serial") and lists its fields.  Each field is an offset into the
 * device's struct and a VMStateInfo that knows how to put/get one element.
 * Integers go big-endian on the wire.  Subsections ("<parent>/<child>")
 * follow the parent's fields, each sent only when its needed() says so,
 * framed as 05 | str8 name | be32 version | fields.
 *
 * The *_load functions never trust the stream: a short or malformed input
 * makes them return a negative errno with errp set, never crash.
 */
#ifndef MIGRATION_VMSTATE_H
#define MIGRATION_VMSTATE_H

#include "qemu/osdep.h"
#include "qapi/error.h"
#include "migration/qemu-file.h"

typedef struct VMStateInfo VMStateInfo;
typedef struct VMStateField VMStateField;
typedef struct VMStateDescription VMStateDescription;

struct VMStateInfo {
    const char *name; /* vmdesc "type": "uint32", ... */
    /* Read one element of size bytes into pv; 0 or negative errno. */
    int (*get)(QEMUFile *f, void *pv, size_t size, const VMStateField *field);
    /* Write one element; 0 or negative errno. */
    int (*put)(QEMUFile *f, void *pv, size_t size, const VMStateField *field);
};

enum VMStateFlags {
    VMS_SINGLE = 0x001,        /* one element at offset */
    VMS_ARRAY = 0x004,         /* num elements at offset */
    VMS_STRUCT = 0x008,        /* nested vmsd at offset */
    VMS_BUFFER = 0x020,        /* size raw bytes at offset */
    VMS_VARRAY_UINT32 = 0x800, /* element count in a uint32 field */
};

/*
 * Field layout on the wire: the elements one after the other, each as its
 * VMStateInfo puts it (or, for VMS_STRUCT, as the nested vmsd's fields
 * and subsections).  VMS_BUFFER is one element of size bytes.
 * VMS_VARRAY_UINT32: the element count is the uint32_t at num_offset in
 * the same struct (loaded earlier); num is the array's capacity and a
 * larger received count is an error.
 */

struct VMStateField {
    const char *name;
    size_t offset;
    size_t size;       /* of one element */
    int num;           /* VMS_ARRAY element count */
    size_t num_offset; /* VMS_VARRAY_UINT32 count field */
    const VMStateInfo *info;
    const VMStateDescription *vmsd; /* VMS_STRUCT */
    int version_id;                 /* field present from this version */
    enum VMStateFlags flags;
    /* Optional: field present only when this returns true. */
    bool (*field_exists)(void *opaque, int version_id);
};

struct VMStateDescription {
    const char *name;
    int version_id;
    int minimum_version_id;
    int (*pre_load)(void *opaque);
    int (*post_load)(void *opaque, int version_id);
    /*
     * Optional, called instead of post_load when set: may explain a
     * failure through errp (0 or negative errno).
     */
    int (*post_load_errp)(void *opaque, int version_id, Error **errp);
    int (*pre_save)(void *opaque);
    int (*post_save)(void *opaque);
    /* For subsections: sent only when this returns true. */
    bool (*needed)(void *opaque);
    const VMStateField *fields; /* ends with VMSTATE_END_OF_LIST() */
    const VMStateDescription *const *subsections; /* NULL-terminated */
};

extern const VMStateInfo vmstate_info_bool;
extern const VMStateInfo vmstate_info_int8;
extern const VMStateInfo vmstate_info_int16;
extern const VMStateInfo vmstate_info_int32;
extern const VMStateInfo vmstate_info_int64;
extern const VMStateInfo vmstate_info_uint8;
extern const VMStateInfo vmstate_info_uint16;
extern const VMStateInfo vmstate_info_uint32;
extern const VMStateInfo vmstate_info_uint64;
extern const VMStateInfo vmstate_info_buffer;
/* Writes zeros, skips on load (vmdesc type "unused_buffer"). */
extern const VMStateInfo vmstate_info_unused_buffer;

#define vmstate_offset_value(_state, _field, _type)                            \
    (offsetof(_state, _field) + 0 * sizeof(((_state *)0)->_field == (_type)0))

#define VMSTATE_SINGLE_V(_field, _state, _version, _info, _type)               \
    {                                                                          \
        .name = #_field, .version_id = (_version), .size = sizeof(_type),      \
        .info = &(_info), .flags = VMS_SINGLE,                                 \
        .offset = offsetof(_state, _field)                                     \
    }

#define VMSTATE_BOOL_V(f, s, v)                                                \
    VMSTATE_SINGLE_V(f, s, v, vmstate_info_bool, bool)
#define VMSTATE_INT8_V(f, s, v)                                                \
    VMSTATE_SINGLE_V(f, s, v, vmstate_info_int8, int8_t)
#define VMSTATE_INT16_V(f, s, v)                                               \
    VMSTATE_SINGLE_V(f, s, v, vmstate_info_int16, int16_t)
#define VMSTATE_INT32_V(f, s, v)                                               \
    VMSTATE_SINGLE_V(f, s, v, vmstate_info_int32, int32_t)
#define VMSTATE_INT64_V(f, s, v)                                               \
    VMSTATE_SINGLE_V(f, s, v, vmstate_info_int64, int64_t)
#define VMSTATE_UINT8_V(f, s, v)                                               \
    VMSTATE_SINGLE_V(f, s, v, vmstate_info_uint8, uint8_t)
#define VMSTATE_UINT16_V(f, s, v)                                              \
    VMSTATE_SINGLE_V(f, s, v, vmstate_info_uint16, uint16_t)
#define VMSTATE_UINT32_V(f, s, v)                                              \
    VMSTATE_SINGLE_V(f, s, v, vmstate_info_uint32, uint32_t)
#define VMSTATE_UINT64_V(f, s, v)                                              \
    VMSTATE_SINGLE_V(f, s, v, vmstate_info_uint64, uint64_t)

#define VMSTATE_BOOL(f, s) VMSTATE_BOOL_V(f, s, 0)
#define VMSTATE_INT8(f, s) VMSTATE_INT8_V(f, s, 0)
#define VMSTATE_INT16(f, s) VMSTATE_INT16_V(f, s, 0)
#define VMSTATE_INT32(f, s) VMSTATE_INT32_V(f, s, 0)
#define VMSTATE_INT64(f, s) VMSTATE_INT64_V(f, s, 0)
#define VMSTATE_UINT8(f, s) VMSTATE_UINT8_V(f, s, 0)
#define VMSTATE_UINT16(f, s) VMSTATE_UINT16_V(f, s, 0)
#define VMSTATE_UINT32(f, s) VMSTATE_UINT32_V(f, s, 0)
#define VMSTATE_UINT64(f, s) VMSTATE_UINT64_V(f, s, 0)

#define VMSTATE_ARRAY_V(_field, _state, _num, _version, _info, _type)          \
    {                                                                          \
        .name = #_field, .version_id = (_version), .num = (_num),              \
        .info = &(_info), .size = sizeof(_type), .flags = VMS_ARRAY,           \
        .offset = offsetof(_state, _field)                                     \
    }

#define VMSTATE_UINT8_ARRAY(f, s, n)                                           \
    VMSTATE_ARRAY_V(f, s, n, 0, vmstate_info_uint8, uint8_t)
#define VMSTATE_UINT16_ARRAY(f, s, n)                                          \
    VMSTATE_ARRAY_V(f, s, n, 0, vmstate_info_uint16, uint16_t)
#define VMSTATE_UINT32_ARRAY(f, s, n)                                          \
    VMSTATE_ARRAY_V(f, s, n, 0, vmstate_info_uint32, uint32_t)
#define VMSTATE_UINT64_ARRAY(f, s, n)                                          \
    VMSTATE_ARRAY_V(f, s, n, 0, vmstate_info_uint64, uint64_t)

/* A fixed-size raw byte buffer (a char array member). */
#define VMSTATE_BUFFER_V(_field, _state, _version)                             \
    {                                                                          \
        .name = #_field, .version_id = (_version),                             \
        .size = sizeof(((_state *)0)->_field), .info = &vmstate_info_buffer,   \
        .flags = VMS_BUFFER, .offset = offsetof(_state, _field)                \
    }
#define VMSTATE_BUFFER(f, s) VMSTATE_BUFFER_V(f, s, 0)

/* _size bytes that are zero on the wire and ignored on load. */
#define VMSTATE_UNUSED_V(_version, _size)                                      \
    {                                                                          \
        .name = "unused", .version_id = (_version), .size = (_size),           \
        .info = &vmstate_info_unused_buffer, .flags = VMS_BUFFER               \
    }
#define VMSTATE_UNUSED(_size) VMSTATE_UNUSED_V(0, _size)

/* An array member of capacity _num whose count is the uint32 _count. */
#define VMSTATE_VARRAY_UINT32_V(_field, _state, _count, _num, _version, _info, \
                                _type)                                         \
    {                                                                          \
        .name = #_field, .version_id = (_version), .num = (_num),              \
        .num_offset = offsetof(_state, _count), .info = &(_info),              \
        .size = sizeof(_type), .flags = VMS_VARRAY_UINT32,                     \
        .offset = offsetof(_state, _field)                                     \
    }

#define VMSTATE_INT32_ARRAY(f, s, n)                                           \
    VMSTATE_ARRAY_V(f, s, n, 0, vmstate_info_int32, int32_t)
#define VMSTATE_INT64_ARRAY(f, s, n)                                           \
    VMSTATE_ARRAY_V(f, s, n, 0, vmstate_info_int64, int64_t)

/* A nested struct described by _vmsd. */
#define VMSTATE_STRUCT_V(_field, _state, _version, _vmsd, _type)               \
    {                                                                          \
        .name = #_field, .version_id = (_version), .vmsd = &(_vmsd),           \
        .size = sizeof(_type), .flags = VMS_STRUCT,                            \
        .offset = offsetof(_state, _field)                                     \
    }
#define VMSTATE_STRUCT(f, s, v, vmsd, t) VMSTATE_STRUCT_V(f, s, v, vmsd, t)

#define VMSTATE_STRUCT_ARRAY(_field, _state, _num, _version, _vmsd, _type)     \
    {                                                                          \
        .name = #_field, .version_id = (_version), .num = (_num),              \
        .vmsd = &(_vmsd), .size = sizeof(_type),                               \
        .flags = VMS_STRUCT | VMS_ARRAY, .offset = offsetof(_state, _field)    \
    }

#define VMSTATE_END_OF_LIST()                                                  \
    {                                                                          \
        .name = NULL                                                           \
    }

/*
 * Save the fields and needed subsections of vmsd from opaque.  If vmdesc
 * is not NULL, the members
 *   "vmsd_name": ..., "version": N, "fields": [...][, "subsections": [...]]
 * are appended to it (the caller opened the JSON object and closes it) in
 * QEMU's vmdesc shape (docs/wire-format.md section 7).  0 or negative errno
 * with errp set.  Does not flush f.
 */
int vmstate_save_state(QEMUFile *f, const VMStateDescription *vmsd,
                       void *opaque, GString *vmdesc, Error **errp);
/*
 * Load vmsd's fields (as of version_id) and any subsections into opaque.
 * Rejects version_id > vmsd->version_id or < minimum_version_id.
 * Subsections: while the next byte is 0x05 and the name starts with
 * vmsd->name, it must be one of vmsd->subsections (else an error); a name
 * with another prefix ends the parent (it belongs to an enclosing vmsd).
 * 0 or negative errno with errp set.
 */
int vmstate_load_state(QEMUFile *f, const VMStateDescription *vmsd,
                       void *opaque, int version_id, Error **errp);

/*
 * vmdesc JSON helpers (used by vmstate.c and savevm.c).  The JSON is
 * built by appending to a GString in QEMU's compact shape: members as
 * "key": value separated by ", ".  vmdesc_sep() appends the separator
 * unless the text ends with '{', '[' or a key.
 */
void vmdesc_sep(GString *s);
/* Append a JSON string literal for str (quoted, escaped). */
void vmdesc_str(GString *s, const char *str);
/* Append a separator and "key": (the caller appends the value). */
void vmdesc_key(GString *s, const char *key);
/* Append a separator and "key": "val". */
void vmdesc_kv_str(GString *s, const char *key, const char *val);
/* Append a separator and "key": val. */
void vmdesc_kv_int(GString *s, const char *key, int64_t val);

#endif /* MIGRATION_VMSTATE_H */
