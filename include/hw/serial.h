/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * serial.h: the 16550 UART at 0x3f8 and its output backend.
 *
 * Output only: bytes the guest writes to THR go to the backend chosen with
 * -serial (stdio, file:PATH, none/null); reads of RBR return 0 and LSR
 * always reports the transmitter empty.  The registers migrate in the
 * "serial" VMState section.
 */
#ifndef HW_SERIAL_H
#define HW_SERIAL_H

#include "qemu/osdep.h"
#include "qapi/error.h"

/*
 * Choose the backend from a -serial spec: "stdio", "file:PATH" (created or
 * truncated), "none" or "null".  Call before machine init; a later call
 * replaces the previous backend.  false with errp on a bad spec or a file
 * that cannot be opened.  Main thread.
 */
bool serial_set_backend(const char *spec, Error **errp);

/*
 * Create the UART at I/O port base (0x3f8) and register its "serial"
 * VMState section.  Main thread, at machine init.
 */
void serial_init(uint16_t base);

/* Write raw bytes to the backend (flushes).  Any thread. */
void serial_backend_write(const uint8_t *buf, size_t len);

#endif /* HW_SERIAL_H */
