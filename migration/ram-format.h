/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * ram-format.h (private to migration/): the "ram" live section's record
 * format, QEMU 7.2's, section version 4.  Shared by the source's page
 * sinks and the destination's loader; nothing here is stateful.
 *
 * Every START/PART/END payload is a list of records, each starting with
 * a be64 header word "offset | flags" (offsets are target-page aligned,
 * so the flags fit in the low TARGET_PAGE_BITS bits), ending with EOS:
 *
 *   MEM_SIZE 0x04  START only: header = sum of the listed blocks' sizes;
 *                  then per block: str8 idstr, be64 used_length
 *   ZERO     0x02  [str8 block] + u8 fill (always 0 when we send)
 *   PAGE     0x08  [str8 block] + TARGET_PAGE_SIZE bytes
 *   EOS      0x10  end of this section's data
 *   CONTINUE 0x20  on ZERO/PAGE/XBZRLE: same block as the previous page
 *                  record (the "last block" persists across sections)
 *   XBZRLE   0x40  [str8 block] + u8 encoding (1) + be16 len + len bytes
 *                  of delta against the page sent before (xbzrle.h)
 *
 *   COMPRESS_PAGE 0x100  (compress capability) [str8 block] + be32 len
 *                  + len bytes of one zlib stream (ram-compress.h)
 *
 * str8 is a counted string: one length byte, then that many bytes, no
 * NUL.  The other flag values are QEMU's and never sent by Tern; a
 * destination rejects them ("Unknown combination of migration flags").
 */
#ifndef MIGRATION_RAM_FORMAT_H
#define MIGRATION_RAM_FORMAT_H

#include "qemu/osdep.h"

/* The section version QEMU 7.2 registers "ram" with (and accepts). */
#define RAM_SECTION_VERSION 4

#define RAM_SAVE_FLAG_FULL 0x01
#define RAM_SAVE_FLAG_ZERO 0x02
#define RAM_SAVE_FLAG_MEM_SIZE 0x04
#define RAM_SAVE_FLAG_PAGE 0x08
#define RAM_SAVE_FLAG_EOS 0x10
#define RAM_SAVE_FLAG_CONTINUE 0x20
#define RAM_SAVE_FLAG_XBZRLE 0x40
#define RAM_SAVE_FLAG_HOOK 0x80
#define RAM_SAVE_FLAG_COMPRESS_PAGE 0x100
/*
 * Tern's checkpoint-assisted migration (x-checkpoint-assisted, never
 * sent to a QEMU peer; docs/wire-format.md section 12):
 *   HASH     0x200  [str8 block] + the page's 32-byte SHA-256: the
 *                   destination copies the page from its checkpoint
 *   CKPT_CTL 0x400  no block, no data; the offset field is an argument:
 *                   0 asks for the destination's offer (START), n > 0 is
 *                   sync number n, answered with CKPT_ACK n
 */
#define RAM_SAVE_FLAG_HASH 0x200
#define RAM_SAVE_FLAG_CKPT_CTL 0x400
/* Bytes of the digest a HASH record carries. */
#define RAM_HASH_BYTES 32

/* Flags a Tern destination accepts in a header word. */
#define RAM_SAVE_FLAGS_KNOWN                                                   \
    (RAM_SAVE_FLAG_ZERO | RAM_SAVE_FLAG_MEM_SIZE | RAM_SAVE_FLAG_PAGE |        \
     RAM_SAVE_FLAG_EOS | RAM_SAVE_FLAG_CONTINUE | RAM_SAVE_FLAG_XBZRLE)

/* Bytes of a record's be64 header word. */
#define RAM_RECORD_HEADER_BYTES 8
/* Bytes of a counted string's length prefix. */
#define RAM_STR8_LEN_BYTES 1
/* Bytes of a ZERO record's fill byte. */
#define RAM_ZERO_FILL_BYTES 1

/* Bytes of a header word followed by the block name idstr as a str8. */
static inline size_t ram_record_header_bytes_named(const char *idstr)
{
    return RAM_RECORD_HEADER_BYTES + RAM_STR8_LEN_BYTES + strlen(idstr);
}

#endif /* MIGRATION_RAM_FORMAT_H */
