/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * ioport.h: x86 port I/O dispatch.  Devices register port ranges; the
 * vCPU (KVM_EXIT_IO, or the soft vCPU's emulated out/in) calls
 * ioport_write/ioport_read.  Unclaimed ports read as all-ones and ignore
 * writes.  Dispatch takes no lock; each device locks what it shares.
 */
#ifndef HW_IOPORT_H
#define HW_IOPORT_H

#include "qemu/osdep.h"

typedef struct IOPortOps {
    uint32_t (*read)(void *opaque, uint16_t port, int size);
    void (*write)(void *opaque, uint16_t port, uint32_t val, int size);
} IOPortOps;

/* Claim [base, base + len).  Main thread at machine init. */
void ioport_register(uint16_t base, uint16_t len, const IOPortOps *ops,
                     void *opaque);
uint32_t ioport_read(uint16_t port, int size);
void ioport_write(uint16_t port, uint32_t val, int size);

#endif /* HW_IOPORT_H */
