/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * recv-bitmap.h (private to migration/): the received-page bitmap of
 * postcopy recovery, QEMU 7.2's wire form (Tern's precopy recovery,
 * precopy-recover.h, uses it too).
 *
 * After a broken postcopy connection the source asks, per RAM block
 * (COMMAND RECV_BITMAP), which pages the destination holds; the
 * destination answers with return-path message RECV_BITMAP (u8 len,
 * name) followed, outside the message framing, by:
 *
 *   be64 size       bytes of bitmap, DIV_ROUND_UP(pages, 8) rounded up
 *                   to a multiple of 8
 *   bitmap[size]    one bit per target page: little-endian 64-bit
 *                   words, so bit i is bit (i % 8) of byte i / 8
 *   be64 end mark   RECV_BITMAP_END_MARK
 *
 * The source makes every page not received dirty again and resends it.
 * These helpers are pure (no I/O), for the two ends and the fuzz target.
 */
#ifndef MIGRATION_RECV_BITMAP_H
#define MIGRATION_RECV_BITMAP_H

#include "qemu/osdep.h"

#define RECV_BITMAP_END_MARK 0x0123456789abcdefULL

/* Wire size in bytes of the bitmap of a block of pages pages. */
uint64_t recv_bitmap_wire_size(uint64_t pages);

/*
 * Destination: wire bitmap (recv_bitmap_wire_size(pages) bytes, written
 * whole) from present[] (one byte per page, bit 0 set: the page is in
 * guest RAM, as mincore() reports it).
 */
void recv_bitmap_encode(uint8_t *wire, const uint8_t *present, uint64_t pages);

/*
 * Source: the dirty bitmap (host unsigned longs, pages bits) of a block
 * from the destination's wire bitmap: a page is dirty (to send again)
 * unless the destination has it.  keep (precopy recovery): the pages
 * already dirty stay dirty too (the bitmap is ORed with NOT received);
 * else (postcopy) it is replaced.  Padding bits on the wire are ignored.
 * Returns the number of pages the destination does not have.
 */
uint64_t recv_bitmap_to_dirty(unsigned long *dirty, const uint8_t *wire,
                              uint64_t pages, bool keep);

#endif /* MIGRATION_RECV_BITMAP_H */
