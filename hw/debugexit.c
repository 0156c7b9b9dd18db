/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * debugexit.c: isa-debug-exit (see hw/debugexit.h).
 */
#include "qemu/osdep.h"
#include "hw/debugexit.h"
#include "hw/ioport.h"
#include "sysemu/runstate.h"

static void debugexit_write(void *opaque, uint16_t port, uint32_t val, int size)
{
    if (size < 4) {
        val &= (1u << (size * 8)) - 1;
    }
    qemu_system_shutdown_request((int)((val << 1) | 1));
}

static const IOPortOps debugexit_ops = {
    .write = debugexit_write,
};

void debugexit_init(uint16_t base)
{
    ioport_register(base, 2, &debugexit_ops, NULL);
}
