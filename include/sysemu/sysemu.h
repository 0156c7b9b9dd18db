/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * sysemu.h: process-wide settings from the command line that several
 * subsystems read: the VM name, its UUID, and whether to start the guest
 * once ready (autostart).
 */
#ifndef SYSEMU_SYSEMU_H
#define SYSEMU_SYSEMU_H

#include "qemu/osdep.h"

/*
 * -uuid: 16 bytes, big-endian as printed; all zero unless qemu_uuid_set
 * (multifd's initial packet and validate-uuid send it).
 */
extern uint8_t qemu_uuid[16];
extern bool qemu_uuid_set;

/*
 * Start the guest when start-up (or an incoming migration) completes:
 * true unless -S.  QMP stop/cont while inmigrate clear/set it, as QEMU.
 * Main thread, BQL.
 */
extern bool autostart;

/* -name NAME, or NULL. */
const char *qemu_get_vm_name(void);
void qemu_set_vm_name(const char *name);

/* Parse "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx" into 16 bytes. */
bool qemu_uuid_parse(const char *str, uint8_t uuid[16]);

/* "xxxxxxxx-xxxx-..." (lower case) for uuid; caller frees. */
char *qemu_uuid_unparse(const uint8_t uuid[16]);

#endif /* SYSEMU_SYSEMU_H */
