/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * savevm.h: writing and reading a whole migration stream (QEMU 7.2 wire
 * format, see docs/wire-format.md sections 2-4 and 7).
 *
 * Stream layout (all integers big-endian, str8 = length byte + bytes):
 *
 *   "QEVM" be32 3                          header
 *   07 be32 len name {subsection}*         CONFIGURATION (machine type)
 *   { 01 START  be32 id str8 idstr be32 instance be32 version payload 7e id
 *   | 02 PART   be32 id payload 7e be32 id
 *   | 03 END    be32 id payload 7e be32 id
 *   | 04 FULL   be32 id str8 idstr be32 instance be32 version payload 7e id
 *   | 08 COMMAND be16 cmd be16 len data[len] }*
 *   00                                     EOF
 *   06 be32 len json[len]                  VMDESCRIPTION (precopy only)
 *
 * Live handlers (register_savevm_live) write START/PART/END payloads
 * themselves, including any terminator they need (ram writes its EOS);
 * VMState devices (vmstate_register) are sent as FULL sections.
 *
 * Source side: called from the migration thread in this order:
 * header, setup, iterate (until done or switchover), complete, cleanup.
 * Destination side: qemu_loadvm_state() reads the whole stream.
 */
#ifndef MIGRATION_SAVEVM_H
#define MIGRATION_SAVEVM_H

#include "qemu/osdep.h"
#include "qapi/error.h"
#include "migration/messages.h"
#include "migration/qemu-file.h"

#define QEMU_VM_FILE_MAGIC 0x5145564d
#define QEMU_VM_FILE_VERSION_COMPAT 0x00000002
#define QEMU_VM_FILE_VERSION 0x00000003

#define QEMU_VM_EOF 0x00
#define QEMU_VM_SECTION_START 0x01
#define QEMU_VM_SECTION_PART 0x02
#define QEMU_VM_SECTION_END 0x03
#define QEMU_VM_SECTION_FULL 0x04
#define QEMU_VM_SUBSECTION 0x05
#define QEMU_VM_VMDESCRIPTION 0x06
#define QEMU_VM_CONFIGURATION 0x07
#define QEMU_VM_COMMAND 0x08
#define QEMU_VM_SECTION_FOOTER 0x7e

/*
 * Returned by a COMMAND handler (see register.h) to end the load loop
 * successfully now.
 */
#define LOADVM_QUIT 1

/* ---------------- source side (migration thread) ---------------- */

/*
 * Header: magic, version, CONFIGURATION with qemu_machine_type_name()
 * (plus the capabilities / uuid subsections when the SaveVMHooks in
 * register.h ask for them).  Buffered in f; errors are left in f.
 */
void qemu_savevm_state_header(QEMUFile *f);
/*
 * START sections: save_setup of every active live handler.  0 or
 * negative errno with errp set (also recorded in f).
 */
int qemu_savevm_state_setup(QEMUFile *f, Error **errp);
/*
 * One PART section per active live handler until the rate limit is hit
 * or a handler still has data.  Returns 1 when every live handler has
 * sent everything it has right now, 0 when more remains, negative errno
 * on error (also recorded in f).
 */
int qemu_savevm_state_iterate(QEMUFile *f);
/* Sum of the live handlers' estimates (cheap) / exact values (may sync). */
void qemu_savevm_state_pending_estimate(uint64_t *must_precopy,
                                        uint64_t *can_postcopy);
void qemu_savevm_state_pending_exact(uint64_t *must_precopy,
                                     uint64_t *can_postcopy);
/*
 * Completion (vCPUs stopped, caller holds what device state needs): END
 * sections of live handlers, FULL sections of every needed VMState
 * device, EOF, then the VMDESCRIPTION trailer.  Does not flush or close.
 * 0 or negative errno with errp set (also recorded in f).
 */
int qemu_savevm_state_complete_precopy(QEMUFile *f, Error **errp);
/*
 * The pieces of completion, for postcopy: END sections of the live
 * handlers only / FULL sections of the VMState devices only (e.g. into
 * a buffer that becomes a PACKAGED command).  No EOF, no VMDESCRIPTION
 * (postcopy streams carry none): end with qemu_savevm_state_send_eof().
 * 0 or negative errno with errp set (also recorded in f).
 */
int qemu_savevm_state_complete_live(QEMUFile *f, Error **errp);
int qemu_savevm_state_complete_devices(QEMUFile *f, Error **errp);
/* Write the EOF byte. */
void qemu_savevm_state_send_eof(QEMUFile *f);
/* save_cleanup of every live handler (success or failure). */
void qemu_savevm_state_cleanup(void);

/* COMMAND record: 08 be16 cmd be16 len data[len]. */
void qemu_savevm_command_send(QEMUFile *f, enum qemu_vm_cmd cmd, uint16_t len,
                              const uint8_t *data);
void qemu_savevm_send_open_return_path(QEMUFile *f);
void qemu_savevm_send_ping(QEMUFile *f, uint32_t value);
/* PACKAGED: the command, then len bytes of nested stream (copied). */
int qemu_savevm_send_packaged(QEMUFile *f, const uint8_t *buf, size_t len,
                              Error **errp);

/* ---------------- destination side ---------------- */

/*
 * Read a whole stream: header, CONFIGURATION, sections, commands, EOF and
 * (unless a POSTCOPY_ADVISE came) the VMDESCRIPTION trailer.  Blocks on
 * f.  Returns 0, or a negative errno with errp set to QEMU 7.2's text
 * (e.g. "Not a migration stream" with -EINVAL; a truncated stream gives
 * -EIO with the channel's error text or "Input/output error").
 * Device load failures read "error while loading state for instance 0x0
 * of device 'ram': <the device's own error>".  Calls every handler's
 * load_setup first and load_cleanup at the end, except when a COMMAND
 * handler returned LOADVM_QUIT (postcopy: the stream continues elsewhere,
 * and 0 is returned at once).
 */
int qemu_loadvm_state(QEMUFile *f, Error **errp);
/*
 * The section/command loop alone (no header, no configuration, no
 * vmdesc): runs until EOF, LOADVM_QUIT from a handler, or an error.  For
 * nested (PACKAGED) streams and postcopy's listen thread.  Uses the
 * section ids seen by the qemu_loadvm_state() in progress.
 */
int qemu_loadvm_state_main(QEMUFile *f, Error **errp);

/*
 * load_cleanup of every handler.  qemu_loadvm_state() calls it itself
 * unless it returned early on LOADVM_QUIT; then whoever finishes the
 * stream (postcopy's listen thread) calls it.
 */
void qemu_loadvm_state_cleanup(void);

/* Name of the command, "INVALID" for unknown values. */
const char *qemu_savevm_command_name(unsigned int cmd);

#endif /* MIGRATION_SAVEVM_H */
