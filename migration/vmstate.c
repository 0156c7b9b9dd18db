/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * vmstate.c: save and load a VMStateDescription (fields, arrays, buffers,
 * nested structs, subsections) and describe it as vmdesc JSON.
 *
 * Wire layout of one vmsd: its fields in order, each present when the
 * stream's version_id is >= the field's version_id (or field_exists says
 * so), then zero or more subsections
 *     05 | str8 name | be32 version_id | fields of the subsection ...
 * Loading never trusts the stream: every failure is an Error, never a
 * crash.
 */
#include "qemu/osdep.h"
#include "qemu/error-report.h"
#include "migration/vmstate.h"
#include "qemu/trace.h"

#define QEMU_VM_SUBSECTION 0x05

/* ------------------------------------------------------------------ */
/* vmdesc JSON helpers */

void vmdesc_sep(GString *s)
{
    char c;

    if (!s->len) {
        return;
    }
    c = s->str[s->len - 1];
    if (c != '{' && c != '[' && c != ' ') {
        g_string_append(s, ", ");
    }
}

void vmdesc_str(GString *s, const char *str)
{
    const unsigned char *p;

    g_string_append_c(s, '"');
    for (p = (const unsigned char *)str; *p; p++) {
        switch (*p) {
        case '"':
            g_string_append(s, "\\\"");
            break;
        case '\\':
            g_string_append(s, "\\\\");
            break;
        default:
            if (*p < 0x20) {
                g_string_append_printf(s, "\\u%04x", *p);
            } else {
                g_string_append_c(s, *p);
            }
        }
    }
    g_string_append_c(s, '"');
}

void vmdesc_key(GString *s, const char *key)
{
    vmdesc_sep(s);
    vmdesc_str(s, key);
    g_string_append(s, ": ");
}

void vmdesc_kv_str(GString *s, const char *key, const char *val)
{
    vmdesc_key(s, key);
    vmdesc_str(s, val);
}

void vmdesc_kv_int(GString *s, const char *key, int64_t val)
{
    vmdesc_key(s, key);
    g_string_append_printf(s, "%" PRId64, val);
}

/* ------------------------------------------------------------------ */
/* Common */

static bool vmstate_field_present(const VMStateField *field, void *opaque,
                                  int version_id)
{
    if (field->field_exists) {
        return field->field_exists(opaque, version_id);
    }
    return field->version_id <= version_id;
}

/*
 * Number of times field's element is saved/loaded: its element count
 * (1 for a VMS_BUFFER, handled as one blob); for VMS_VARRAY_UINT32 a count
 * above the capacity is an error (-1 with errp set).
 */
static int64_t vmstate_n_elems(const VMStateDescription *vmsd,
                               const VMStateField *field, void *opaque,
                               Error **errp)
{
    int64_t n = 1;

    if (field->flags & VMS_VARRAY_UINT32) {
        uint32_t count = *(uint32_t *)((uint8_t *)opaque + field->num_offset);

        if (count > (uint32_t)field->num) {
            error_setg(errp,
                       "%s:%s: element count %" PRIu32
                       " exceeds the capacity %d",
                       vmsd->name, field->name, count, field->num);
            return -1;
        }
        n = count;
    } else if (field->flags & VMS_ARRAY) {
        n = field->num;
    }
    return (field->flags & VMS_BUFFER) ? 1 : n;
}

/* Compressible arrays are described once, with "array_len". */
static bool vmstate_field_compressible(const VMStateField *field)
{
    return !(field->flags & VMS_STRUCT);
}

static const char *vmstate_field_type(const VMStateField *field)
{
    if (field->flags & VMS_STRUCT) {
        return "struct";
    }
    return field->info ? field->info->name : "unknown";
}

/* ------------------------------------------------------------------ */
/* Save */

static bool vmstate_needed(const VMStateDescription *vmsd, void *opaque)
{
    return !vmsd->needed || vmsd->needed(opaque);
}

static int vmstate_save_subsections(QEMUFile *f, const VMStateDescription *vmsd,
                                    void *opaque, GString *vmdesc, Error **errp)
{
    const VMStateDescription *const *sub = vmsd->subsections;
    bool listed = false;
    int ret = 0;

    for (; sub && *sub; sub++) {
        if (!vmstate_needed(*sub, opaque)) {
            continue;
        }
        if (vmdesc) {
            if (!listed) {
                vmdesc_key(vmdesc, "subsections");
                g_string_append_c(vmdesc, '[');
                listed = true;
            }
            vmdesc_sep(vmdesc);
            g_string_append_c(vmdesc, '{');
        }
        qemu_put_byte(f, QEMU_VM_SUBSECTION);
        qemu_put_counted_string(f, (*sub)->name);
        qemu_put_be32(f, (*sub)->version_id);
        ret = vmstate_save_state(f, *sub, opaque, vmdesc, errp);
        if (vmdesc) {
            g_string_append_c(vmdesc, '}');
        }
        if (ret < 0) {
            break;
        }
    }
    if (listed) {
        g_string_append_c(vmdesc, ']');
    }
    return ret;
}

static int vmstate_save_field(QEMUFile *f, const VMStateDescription *vmsd,
                              const VMStateField *field, void *opaque,
                              GString *vmdesc, Error **errp)
{
    uint8_t *base = (uint8_t *)opaque + field->offset;
    int64_t n, i;
    int ret = 0;

    n = vmstate_n_elems(vmsd, field, opaque, errp);
    if (n < 0) {
        return -EINVAL;
    }
    for (i = 0; i < n; i++) {
        uint8_t *elem = base + field->size * i;
        GString *desc = vmdesc;
        uint64_t start = qemu_file_transferred(f);

        if (desc && i > 0 && vmstate_field_compressible(field)) {
            desc = NULL; /* described once, with array_len */
        }
        if (desc) {
            vmdesc_sep(desc);
            g_string_append_c(desc, '{');
            vmdesc_kv_str(desc, "name", field->name);
            if (n > 1) {
                if (vmstate_field_compressible(field)) {
                    vmdesc_kv_int(desc, "array_len", n);
                } else {
                    vmdesc_kv_int(desc, "index", i);
                }
            }
            vmdesc_kv_str(desc, "type", vmstate_field_type(field));
        }
        if (field->flags & VMS_STRUCT) {
            if (desc) {
                vmdesc_key(desc, "struct");
                g_string_append_c(desc, '{');
            }
            ret = vmstate_save_state(f, field->vmsd, elem, desc, errp);
            if (desc) {
                g_string_append_c(desc, '}');
            }
        } else {
            ret = field->info->put(f, elem, field->size, field);
            if (ret < 0) {
                error_setg(errp, "Save of field %s/%s failed", vmsd->name,
                           field->name);
            }
        }
        if (desc) {
            vmdesc_kv_int(desc, "size", qemu_file_transferred(f) - start);
            g_string_append_c(desc, '}');
        }
        if (ret < 0) {
            return ret;
        }
    }
    return 0;
}

int vmstate_save_state(QEMUFile *f, const VMStateDescription *vmsd,
                       void *opaque, GString *vmdesc, Error **errp)
{
    const VMStateField *field;
    int ret = 0;

    TRACE("vmstate_save_state", "%s version %d", vmsd->name, vmsd->version_id);
    if (vmsd->pre_save) {
        ret = vmsd->pre_save(opaque);
        if (ret < 0) {
            error_setg(errp, "pre-save failed: %s", vmsd->name);
            return ret;
        }
    }
    if (vmdesc) {
        vmdesc_kv_str(vmdesc, "vmsd_name", vmsd->name);
        vmdesc_kv_int(vmdesc, "version", vmsd->version_id);
        vmdesc_key(vmdesc, "fields");
        g_string_append_c(vmdesc, '[');
    }
    for (field = vmsd->fields; field && field->name; field++) {
        if (!vmstate_field_present(field, opaque, vmsd->version_id)) {
            continue;
        }
        ret = vmstate_save_field(f, vmsd, field, opaque, vmdesc, errp);
        if (ret < 0) {
            break;
        }
    }
    if (vmdesc) {
        g_string_append_c(vmdesc, ']');
    }
    if (ret == 0) {
        ret = vmstate_save_subsections(f, vmsd, opaque, vmdesc, errp);
    }
    if (vmsd->post_save) {
        vmsd->post_save(opaque);
    }
    if (ret == 0 && qemu_file_get_error(f)) {
        ret = qemu_file_get_error_obj(f, errp);
    }
    TRACE("vmstate_save_state_end", "%s ret %d", vmsd->name, ret);
    return ret;
}

/* ------------------------------------------------------------------ */
/* Load */

static const VMStateDescription *
vmstate_find_subsection(const VMStateDescription *vmsd, const char *name)
{
    const VMStateDescription *const *sub = vmsd->subsections;

    for (; sub && *sub; sub++) {
        if (strcmp((*sub)->name, name) == 0) {
            return *sub;
        }
    }
    return NULL;
}

static int vmstate_load_subsections(QEMUFile *f, const VMStateDescription *vmsd,
                                    void *opaque, Error **errp)
{
    for (;;) {
        const VMStateDescription *sub;
        char name[QEMU_COUNTED_STRING_BUF];
        uint8_t *p;
        size_t len;
        int version_id, ret;

        if (qemu_file_try_peek_byte(f) != QEMU_VM_SUBSECTION) {
            break; /* end of input is seen by whoever reads next */
        }
        if (qemu_peek_buffer(f, &p, 1, 1) < 1) {
            goto truncated;
        }
        len = *p;
        if (qemu_peek_buffer(f, &p, len, 2) < len) {
            goto truncated;
        }
        memcpy(name, p, len);
        name[len] = '\0';
        if (strlen(name) != len ||
            strncmp(name, vmsd->name, strlen(vmsd->name)) != 0) {
            break; /* not ours: belongs to an enclosing description */
        }
        sub = vmstate_find_subsection(vmsd, name);
        if (!sub) {
            error_setg(errp, "Unknown subsection '%s' for '%s'", name,
                       vmsd->name);
            return -ENOENT;
        }
        qemu_file_skip(f, 2 + len);
        version_id = qemu_get_be32(f);
        if (qemu_file_get_error(f)) {
            goto truncated;
        }
        ret = vmstate_load_state(f, sub, opaque, version_id, errp);
        if (ret < 0) {
            return ret;
        }
    }
    return 0;

truncated:
    qemu_file_set_error(f, -EIO);
    return qemu_file_get_error_obj(f, errp);
}

static int vmstate_load_field(QEMUFile *f, const VMStateDescription *vmsd,
                              const VMStateField *field, void *opaque,
                              Error **errp)
{
    uint8_t *base = (uint8_t *)opaque + field->offset;
    Error *local_err = NULL;
    int64_t n, i;
    int ret = 0;

    n = vmstate_n_elems(vmsd, field, opaque, errp);
    if (n < 0) {
        return -EINVAL;
    }
    for (i = 0; i < n && ret == 0; i++) {
        uint8_t *elem = base + field->size * i;

        if (field->flags & VMS_STRUCT) {
            ret = vmstate_load_state(f, field->vmsd, elem,
                                     field->vmsd->version_id, &local_err);
        } else {
            ret = field->info->get(f, elem, field->size, field);
        }
        if (ret == 0) {
            ret = qemu_file_get_error(f);
        }
    }
    if (ret < 0) {
        if (!local_err) {
            qemu_file_get_error_obj(f, &local_err);
        }
        if (local_err) {
            error_propagate_prepend(errp, local_err,
                                    "Failed to load %s:%s: ", vmsd->name,
                                    field->name);
        } else {
            error_setg(errp, "Failed to load %s:%s", vmsd->name, field->name);
        }
    }
    return ret;
}

int vmstate_load_state(QEMUFile *f, const VMStateDescription *vmsd,
                       void *opaque, int version_id, Error **errp)
{
    const VMStateField *field;
    int ret;

    TRACE("vmstate_load_state", "%s version %d (ours %d)", vmsd->name,
          version_id, vmsd->version_id);
    if (version_id > vmsd->version_id) {
        error_setg(errp,
                   "%s: incoming version_id %d is greater than our "
                   "version_id %d",
                   vmsd->name, version_id, vmsd->version_id);
        return -EINVAL;
    }
    if (version_id < vmsd->minimum_version_id) {
        error_setg(errp,
                   "%s: incoming version_id %d is too old for "
                   "minimum_version_id %d",
                   vmsd->name, version_id, vmsd->minimum_version_id);
        return -EINVAL;
    }
    if (vmsd->pre_load) {
        ret = vmsd->pre_load(opaque);
        if (ret < 0) {
            error_setg(errp, "%s: pre_load failed: %s", vmsd->name,
                       strerror(-ret));
            return ret;
        }
    }
    for (field = vmsd->fields; field && field->name; field++) {
        if (!vmstate_field_present(field, opaque, version_id)) {
            continue;
        }
        ret = vmstate_load_field(f, vmsd, field, opaque, errp);
        if (ret < 0) {
            return ret;
        }
    }
    ret = vmstate_load_subsections(f, vmsd, opaque, errp);
    if (ret < 0) {
        return ret;
    }
    if (vmsd->post_load_errp) {
        Error *local_err = NULL;

        ret = vmsd->post_load_errp(opaque, version_id, &local_err);
        if (ret < 0) {
            if (!local_err) {
                error_setg(&local_err, "%s: post_load failed: %s", vmsd->name,
                           strerror(-ret));
            }
            error_propagate(errp, local_err);
        } else {
            error_free(local_err);
        }
    } else if (vmsd->post_load) {
        ret = vmsd->post_load(opaque, version_id);
        if (ret < 0) {
            error_setg(errp, "%s: post_load failed: %s", vmsd->name,
                       strerror(-ret));
        }
    }
    TRACE("vmstate_load_state_end", "%s ret %d", vmsd->name, ret < 0 ? ret : 0);
    return ret < 0 ? ret : 0;
}
