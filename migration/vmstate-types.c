/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * vmstate-types.c: the VMStateInfo element codecs.  Integers are
 * big-endian on the wire; bool is one byte 0/1; buffers are raw bytes.
 */
#include "qemu/osdep.h"
#include "migration/vmstate.h"

/* bool: one byte, any non-zero value loads as true. */
static int get_bool(QEMUFile *f, void *pv, size_t size,
                    const VMStateField *field)
{
    *(bool *)pv = qemu_get_byte(f) != 0;
    return 0;
}

static int put_bool(QEMUFile *f, void *pv, size_t size,
                    const VMStateField *field)
{
    qemu_put_byte(f, *(bool *)pv);
    return 0;
}

const VMStateInfo vmstate_info_bool = {
    .name = "bool",
    .get = get_bool,
    .put = put_bool,
};

/* Integer codecs: one pair per width, signedness only changes the C type. */
#define VMSTATE_INT_INFO(_name, _type, _get, _put)                             \
    static int get_##_name(QEMUFile *f, void *pv, size_t size,                 \
                           const VMStateField *field)                          \
    {                                                                          \
        *(_type *)pv = (_type)_get(f);                                         \
        return 0;                                                              \
    }                                                                          \
    static int put_##_name(QEMUFile *f, void *pv, size_t size,                 \
                           const VMStateField *field)                          \
    {                                                                          \
        _put(f, *(_type *)pv);                                                 \
        return 0;                                                              \
    }                                                                          \
    const VMStateInfo vmstate_info_##_name = {                                 \
        .name = #_name,                                                        \
        .get = get_##_name,                                                    \
        .put = put_##_name,                                                    \
    }

VMSTATE_INT_INFO(int8, int8_t, qemu_get_byte, qemu_put_byte);
VMSTATE_INT_INFO(uint8, uint8_t, qemu_get_byte, qemu_put_byte);
VMSTATE_INT_INFO(int16, int16_t, qemu_get_be16, qemu_put_be16);
VMSTATE_INT_INFO(uint16, uint16_t, qemu_get_be16, qemu_put_be16);
VMSTATE_INT_INFO(int32, int32_t, qemu_get_be32, qemu_put_be32);
VMSTATE_INT_INFO(uint32, uint32_t, qemu_get_be32, qemu_put_be32);
VMSTATE_INT_INFO(int64, int64_t, qemu_get_be64, qemu_put_be64);
VMSTATE_INT_INFO(uint64, uint64_t, qemu_get_be64, qemu_put_be64);

/* buffer: size raw bytes. */
static int get_buffer(QEMUFile *f, void *pv, size_t size,
                      const VMStateField *field)
{
    if (qemu_get_buffer(f, pv, size) != size) {
        return qemu_file_get_error(f) ? qemu_file_get_error(f) : -EIO;
    }
    return 0;
}

static int put_buffer(QEMUFile *f, void *pv, size_t size,
                      const VMStateField *field)
{
    qemu_put_buffer(f, pv, size);
    return 0;
}

const VMStateInfo vmstate_info_buffer = {
    .name = "buffer",
    .get = get_buffer,
    .put = put_buffer,
};

/* unused_buffer: zeros on save, skipped on load; pv is not touched. */
static int get_unused_buffer(QEMUFile *f, void *pv, size_t size,
                             const VMStateField *field)
{
    qemu_file_skip(f, size);
    return qemu_file_get_error(f);
}

static int put_unused_buffer(QEMUFile *f, void *pv, size_t size,
                             const VMStateField *field)
{
    static const uint8_t zeros[1024];

    while (size > 0) {
        size_t l = MIN(size, sizeof(zeros));

        qemu_put_buffer(f, zeros, l);
        size -= l;
    }
    return 0;
}

const VMStateInfo vmstate_info_unused_buffer = {
    .name = "unused_buffer",
    .get = get_unused_buffer,
    .put = put_unused_buffer,
};
