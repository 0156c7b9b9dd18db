/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * stubs/fake-devices.c: the fake savevm participants (see
 * fake-devices.h).
 */
#include "qemu/osdep.h"
#include "fake-devices.h"

/* A str8 name: up to 255 bytes and a NUL. */
#define FAKE_STR8_SIZE 256
/* The flags in a ram record header's low bits. */
#define RAM_FLAG_MASK ((uint64_t)FAKE_PAGE_SIZE - 1)

/* ---- a live "ram" handler ---- */

FakeRam fake_ram;

static void fake_ram_put_page(QEMUFile *f, int page, bool cont)
{
    uint8_t *p = fake_ram.mem + page * FAKE_PAGE_SIZE;
    uint64_t flags = cont ? RAM_FLAG_CONTINUE : 0;

    if (p[0] == 0 && !memcmp(p, p + 1, FAKE_PAGE_SIZE - 1)) {
        qemu_put_be64(f,
                      (uint64_t)page * FAKE_PAGE_SIZE | RAM_FLAG_ZERO | flags);
        if (!cont) {
            qemu_put_counted_string(f, "ram");
        }
        qemu_put_byte(f, 0);
    } else {
        qemu_put_be64(f,
                      (uint64_t)page * FAKE_PAGE_SIZE | RAM_FLAG_PAGE | flags);
        if (!cont) {
            qemu_put_counted_string(f, "ram");
        }
        qemu_put_buffer_async(f, p, FAKE_PAGE_SIZE, false);
    }
}

static int fake_ram_save_setup(QEMUFile *f, void *opaque, Error **errp)
{
    fake_ram.setups++;
    fake_ram.next_page = 0;
    qemu_put_be64(f, FAKE_RAM_SIZE | RAM_FLAG_MEM_SIZE);
    qemu_put_counted_string(f, "ram");
    qemu_put_be64(f, FAKE_RAM_SIZE);
    qemu_put_be64(f, RAM_FLAG_EOS);
    return 0;
}

static int fake_ram_send(QEMUFile *f, int max)
{
    int n = 0;

    while (fake_ram.next_page < FAKE_RAM_PAGES && n < max) {
        fake_ram_put_page(f, fake_ram.next_page, n > 0);
        fake_ram.next_page++;
        n++;
    }
    qemu_put_be64(f, RAM_FLAG_EOS);
    return fake_ram.next_page == FAKE_RAM_PAGES;
}

static int fake_ram_iterate(QEMUFile *f, void *opaque)
{
    fake_ram.iterations++;
    return fake_ram_send(f, fake_ram.pages_per_iter);
}

static int fake_ram_complete(QEMUFile *f, void *opaque)
{
    fake_ram_send(f, FAKE_RAM_PAGES);
    return 0;
}

static void fake_ram_pending(void *opaque, uint64_t *must, uint64_t *can)
{
    *must += (uint64_t)(FAKE_RAM_PAGES - fake_ram.next_page) * FAKE_PAGE_SIZE;
}

static void fake_ram_cleanup(void *opaque)
{
    fake_ram.cleanups++;
}

static int fake_ram_load_setup(QEMUFile *f, void *opaque, Error **errp)
{
    fake_ram.load_setups++;
    return 0;
}

static int fake_ram_load_cleanup(void *opaque)
{
    fake_ram.load_cleanups++;
    return 0;
}

/* Load one payload up to its EOS. */
static int fake_ram_load(QEMUFile *f, void *opaque, int version_id,
                         Error **errp)
{
    static bool have_block; /* CONTINUE survives sections */
    char name[FAKE_STR8_SIZE];

    fake_ram.loads++;
    if (version_id != FAKE_RAM_VERSION) {
        error_setg(errp, "ram: stream version %d is not %d", version_id,
                   FAKE_RAM_VERSION);
        return -EINVAL;
    }
    for (;;) {
        uint64_t hdr = qemu_get_be64(f);
        uint64_t addr = hdr & ~RAM_FLAG_MASK;
        unsigned flags = hdr & RAM_FLAG_MASK;

        if (qemu_file_get_error(f)) {
            return qemu_file_get_error(f);
        }
        if (flags == RAM_FLAG_EOS) {
            return 0;
        }
        if (flags & RAM_FLAG_MEM_SIZE) {
            uint64_t total = addr, len;

            while (total > 0) {
                qemu_get_counted_string(f, name);
                len = qemu_get_be64(f);
                if (qemu_file_get_error(f)) {
                    return qemu_file_get_error(f);
                }
                if (strcmp(name, "ram") || len != FAKE_RAM_SIZE ||
                    len > total) {
                    error_setg(errp,
                               "Unknown ramblock \"%s\", cannot "
                               "accept migration",
                               name);
                    return -EINVAL;
                }
                total -= len;
            }
            continue;
        }
        if (flags & (RAM_FLAG_ZERO | RAM_FLAG_PAGE)) {
            if (!(flags & RAM_FLAG_CONTINUE)) {
                qemu_get_counted_string(f, name);
                if (strcmp(name, "ram")) {
                    error_setg(errp, "Unknown ramblock \"%s\"", name);
                    return -EINVAL;
                }
                have_block = true;
            } else if (!have_block) {
                error_setg(errp, "Ack, bad migration stream!");
                return -EINVAL;
            }
            if (addr >= FAKE_RAM_SIZE) {
                error_setg(errp, "Illegal RAM offset %" PRIx64, addr);
                return -EINVAL;
            }
            if (flags & RAM_FLAG_ZERO) {
                memset(fake_ram.mem + addr, qemu_get_byte(f), FAKE_PAGE_SIZE);
            } else {
                qemu_get_buffer(f, fake_ram.mem + addr, FAKE_PAGE_SIZE);
            }
            continue;
        }
        error_setg(errp, "Unknown combination of migration flags: 0x%x", flags);
        return -EINVAL;
    }
}

const SaveVMHandlers fake_ram_handlers = {
    .save_setup = fake_ram_save_setup,
    .save_live_iterate = fake_ram_iterate,
    .save_live_complete_precopy = fake_ram_complete,
    .state_pending_estimate = fake_ram_pending,
    .state_pending_exact = fake_ram_pending,
    .save_cleanup = fake_ram_cleanup,
    .load_setup = fake_ram_load_setup,
    .load_state = fake_ram_load,
    .load_cleanup = fake_ram_load_cleanup,
};

/* A device with a subsection, like "serial". */
FakeDev fake_dev;

static bool fake_dev_extra_needed(void *opaque)
{
    return ((FakeDev *)opaque)->extra_needed;
}

static const VMStateDescription vmstate_fake_dev_extra = {
    .name = "fakedev/extra",
    .version_id = 1,
    .minimum_version_id = 1,
    .needed = fake_dev_extra_needed,
    .fields =
        (const VMStateField[]){
            VMSTATE_UINT64(extra, FakeDev),
            VMSTATE_END_OF_LIST(),
        },
};

const VMStateDescription vmstate_fake_dev = {
    .name = "fakedev",
    .version_id = 3,
    .minimum_version_id = 1,
    .fields =
        (const VMStateField[]){
            VMSTATE_UINT32(reg, FakeDev),
            VMSTATE_BUFFER(fifo, FakeDev),
            VMSTATE_END_OF_LIST(),
        },
    .subsections =
        (const VMStateDescription *const[]){
            &vmstate_fake_dev_extra,
            NULL,
        },
};

/* A device with arrays, a struct array, a buffer and a subsection. */

FakeArrays fake_arrays = {.count = 2, .extra_on = true};

static bool fake_arrays_extra_needed(void *opaque)
{
    return ((FakeArrays *)opaque)->extra_on;
}

static const VMStateDescription vmstate_fake_inner = {
    .name = "fakearrays/inner",
    .version_id = 1,
    .minimum_version_id = 1,
    .fields =
        (const VMStateField[]){
            VMSTATE_UINT16(a, FakeInner),
            VMSTATE_UINT64(b, FakeInner),
            VMSTATE_END_OF_LIST(),
        },
};

static const VMStateDescription vmstate_fake_arrays_extra = {
    .name = "fakearrays/extra",
    .version_id = 1,
    .minimum_version_id = 1,
    .needed = fake_arrays_extra_needed,
    .fields =
        (const VMStateField[]){
            VMSTATE_UINT64(extra, FakeArrays),
            VMSTATE_END_OF_LIST(),
        },
};

const VMStateDescription vmstate_fake_arrays = {
    .name = "fakearrays",
    .version_id = 2,
    .minimum_version_id = 1,
    .fields =
        (const VMStateField[]){
            VMSTATE_UINT32(count, FakeArrays),
            VMSTATE_VARRAY_UINT32_V(vals, FakeArrays, count, 4, 0,
                                    vmstate_info_uint32, uint32_t),
            VMSTATE_STRUCT_ARRAY(inner, FakeArrays, 2, 1, vmstate_fake_inner,
                                 FakeInner),
            VMSTATE_BUFFER_V(fifo, FakeArrays, 2),
            VMSTATE_END_OF_LIST(),
        },
    .subsections =
        (const VMStateDescription *const[]){
            &vmstate_fake_arrays_extra,
            NULL,
        },
};
