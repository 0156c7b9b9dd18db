/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * dump.h: dump-guest-memory as an ELF64 core file (paging=false).
 *
 * Layout:
 *   Elf64_Ehdr   ET_CORE, EM_X86_64, little-endian
 *   Elf64_Phdr[] one PT_LOAD per RAM block (or per block's part inside
 *                [begin, begin + length)), p_paddr = guest-physical
 *                address, p_vaddr = 0, p_filesz = p_memsz
 *   page-aligned segment data, in the order of the program headers
 * No notes are written (no PT_NOTE): vCPU registers are not included.
 */
#ifndef SYSEMU_DUMP_H
#define SYSEMU_DUMP_H

#include "qemu/osdep.h"
#include "qapi/error.h"

/*
 * Write guest RAM (all of it, or only [begin, begin + length) when
 * has_range) to fd as described above.  The VM should be stopped.
 * *total is set to the bytes of guest memory written so far (updated
 * atomically after each segment).  Blocks on fd; does
 * not close it.  false with errp set on write errors or an empty range.
 */
bool dump_guest_memory_elf(int fd, bool has_range, uint64_t begin,
                           uint64_t length, uint64_t *total, Error **errp);

/* Bytes of guest memory dump_guest_memory_elf() would write. */
uint64_t dump_guest_memory_size(bool has_range, uint64_t begin,
                                uint64_t length);

#endif /* SYSEMU_DUMP_H */
