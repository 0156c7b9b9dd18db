/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * ioport.c: x86 port I/O dispatch (see hw/ioport.h).
 *
 * A short table of claimed ranges, filled at machine init on the main
 * thread and read-only once vCPUs run, so lookups take no lock.
 */
#include "qemu/osdep.h"
#include "hw/ioport.h"

#define IOPORT_MAX_RANGES 32

typedef struct IOPortRange {
    uint16_t base;
    uint16_t len;
    const IOPortOps *ops;
    void *opaque;
} IOPortRange;

static IOPortRange ioport_ranges[IOPORT_MAX_RANGES];
static int ioport_nr_ranges;

void ioport_register(uint16_t base, uint16_t len, const IOPortOps *ops,
                     void *opaque)
{
    /* Programming errors: the machine registers a fixed handful. */
    g_assert(ioport_nr_ranges < IOPORT_MAX_RANGES);
    g_assert(len > 0 && (uint32_t)base + len <= 0x10000);
    ioport_ranges[ioport_nr_ranges++] = (IOPortRange){
        .base = base,
        .len = len,
        .ops = ops,
        .opaque = opaque,
    };
}

static const IOPortRange *ioport_find(uint16_t port)
{
    int i;

    for (i = 0; i < ioport_nr_ranges; i++) {
        const IOPortRange *r = &ioport_ranges[i];

        if (port >= r->base && port - r->base < r->len) {
            return r;
        }
    }
    return NULL;
}

uint32_t ioport_read(uint16_t port, int size)
{
    const IOPortRange *r = ioport_find(port);

    if (!r || !r->ops->read) {
        return size >= 4 ? 0xffffffffu : (1u << (size * 8)) - 1;
    }
    return r->ops->read(r->opaque, port, size);
}

void ioport_write(uint16_t port, uint32_t val, int size)
{
    const IOPortRange *r = ioport_find(port);

    if (r && r->ops->write) {
        r->ops->write(r->opaque, port, val, size);
    }
}
