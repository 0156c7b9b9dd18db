/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * multiboot.h: load a multiboot v1 ELF32 kernel (-kernel) into guest RAM.
 *
 * Layout built in guest RAM (all guest-physical):
 *   kernel PT_LOAD segments at their p_paddr
 *   multiboot info (struct below) at the first 4 KiB boundary after the
 *   kernel, followed by a flat GDT (null, 0x08 code, 0x10 data; the
 *   vCPU's GDTR points at it), the memory map and the command line
 * The vCPU starts at the ELF entry in 32-bit protected mode with
 * EAX = 0x2BADB002 and EBX = the info's address (BootState).
 *
 * The command line is "<kernel file> <-append>", as QEMU passes it, with
 * " tsc_khz=N" appended when the -append string has no tsc_khz= (N from
 * KVM_GET_TSC_KHZ, else /proc/cpuinfo).
 */
#ifndef HW_MULTIBOOT_H
#define HW_MULTIBOOT_H

#include "qemu/osdep.h"
#include "qapi/error.h"
#include "hw/boards.h"

#define MULTIBOOT_HEADER_MAGIC 0x1BADB002u
#define MULTIBOOT_BOOTLOADER_MAGIC 0x2BADB002u
#define MULTIBOOT_SEARCH 8192

#define MULTIBOOT_INFO_MEMORY 0x001u
#define MULTIBOOT_INFO_CMDLINE 0x004u
#define MULTIBOOT_INFO_MEM_MAP 0x040u

/*
 * Load ms->kernel_filename with ms->kernel_cmdline into RAM (blocks must
 * exist) and fill ms->boot.  A malformed file gives an error naming it,
 * never a crash.  Main thread, at machine init.
 */
bool multiboot_load(MachineState *ms, Error **errp);

/*
 * Load a multiboot kernel image held in memory (for tests and fuzzing).
 * name is used in error messages.
 */
bool multiboot_load_image(MachineState *ms, const char *name,
                          const uint8_t *image, size_t size, Error **errp);

#endif /* HW_MULTIBOOT_H */
