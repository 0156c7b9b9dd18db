/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * recv-bitmap.c: the received-page bitmap of recovery (see
 * recv-bitmap.h).
 */
#include "qemu/osdep.h"
#include "qemu/bitmap.h"
#include "qemu/bitops.h"
#include "recv-bitmap.h"

uint64_t recv_bitmap_wire_size(uint64_t pages)
{
    return DIV_ROUND_UP(DIV_ROUND_UP(pages, 8), 8) * 8;
}

void recv_bitmap_encode(uint8_t *wire, const uint8_t *present, uint64_t pages)
{
    memset(wire, 0, recv_bitmap_wire_size(pages));
    for (uint64_t i = 0; i < pages; i++) {
        if (present[i] & 1) {
            wire[i >> 3] |= 1u << (i & 7);
        }
    }
}

uint64_t recv_bitmap_to_dirty(unsigned long *dirty, const uint8_t *wire,
                              uint64_t pages, bool keep)
{
    uint64_t n = 0;

    if (!keep) {
        bitmap_zero(dirty, pages);
    }
    for (uint64_t i = 0; i < pages; i++) {
        if (!(wire[i >> 3] & (1u << (i & 7)))) {
            set_bit(i, dirty);
            n++;
        }
    }
    return n;
}
