/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * debugexit.h: isa-debug-exit.  A guest write of value v to the port ends
 * Tern with exit status (v << 1) | 1, as QEMU's isa-debug-exit device.
 */
#ifndef HW_DEBUGEXIT_H
#define HW_DEBUGEXIT_H

#include "qemu/osdep.h"

/* Claim [base, base + 2) (0x501).  Main thread, at machine init. */
void debugexit_init(uint16_t base);

#endif /* HW_DEBUGEXIT_H */
