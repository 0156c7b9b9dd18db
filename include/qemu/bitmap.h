/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * bitmap.h: bitmaps as arrays of unsigned long (host order; bit nr in
 * word BIT_WORD(nr)), e.g. RAMBlock dirty bitmaps with one bit per page.
 *
 * Range operations take a start bit and a count; whole-map operations a
 * size in bits.  Bits past the size in the last word are "don't care"
 * for readers (count, search, compare mask them off) and are left alone
 * by writers unless stated otherwise.
 *
 * Atomic operations (suffix _atomic) are seq-cst read-modify-writes on
 * whole words: a writer that sets bits with bitmap_set_atomic or
 * set_bit_atomic never loses a bit to a concurrent
 * bitmap_copy_and_clear_atomic / bitmap_test_and_clear_atomic — each set
 * bit ends up in exactly one harvest (or stays in the map).
 */
#ifndef QEMU_BITMAP_H
#define QEMU_BITMAP_H

#include "qemu/osdep.h"
#include "qemu/bitops.h"

#define BITMAP_FIRST_WORD_MASK(start) (~0UL << ((start) & (BITS_PER_LONG - 1)))
#define BITMAP_LAST_WORD_MASK(nbits) (~0UL >> (-(nbits) & (BITS_PER_LONG - 1)))

/* A zeroed bitmap of nbits bits; g_free (or bitmap_free) it. Aborts on OOM. */
static inline unsigned long *bitmap_new(long nbits)
{
    return g_new0(unsigned long, BITS_TO_LONGS(nbits));
}

/* As bitmap_new, NULL on OOM (for guest-sized maps). */
static inline unsigned long *bitmap_try_new(long nbits)
{
    return g_try_new0(unsigned long, BITS_TO_LONGS(nbits));
}

static inline void bitmap_free(unsigned long *map)
{
    g_free(map);
}

static inline void bitmap_zero(unsigned long *dst, long nbits)
{
    memset(dst, 0, BITS_TO_LONGS(nbits) * sizeof(unsigned long));
}

/* Set bits [0, nbits); the tail of the last word is cleared. */
static inline void bitmap_fill(unsigned long *dst, long nbits)
{
    long nlongs = BITS_TO_LONGS(nbits);

    if (nlongs) {
        memset(dst, 0xff, (nlongs - 1) * sizeof(unsigned long));
        dst[nlongs - 1] = BITMAP_LAST_WORD_MASK(nbits);
    }
}

static inline void bitmap_copy(unsigned long *dst, const unsigned long *src,
                               long nbits)
{
    memcpy(dst, src, BITS_TO_LONGS(nbits) * sizeof(unsigned long));
}

bool bitmap_empty(const unsigned long *map, long nbits);
bool bitmap_full(const unsigned long *map, long nbits);
bool bitmap_equal(const unsigned long *a, const unsigned long *b, long nbits);
/* dst = a OP b over nbits (whole words). and/andnot: true if dst nonzero. */
bool bitmap_and(unsigned long *dst, const unsigned long *a,
                const unsigned long *b, long nbits);
void bitmap_or(unsigned long *dst, const unsigned long *a,
               const unsigned long *b, long nbits);
void bitmap_xor(unsigned long *dst, const unsigned long *a,
                const unsigned long *b, long nbits);
bool bitmap_andnot(unsigned long *dst, const unsigned long *a,
                   const unsigned long *b, long nbits);

/* Number of set bits in [0, nbits). */
long bitmap_count_one(const unsigned long *map, long nbits);
/* Number of set bits in [offset, offset + nbits). */
long bitmap_count_one_with_offset(const unsigned long *map, long offset,
                                  long nbits);

/* Set / clear bits [start, start + nr) (not atomic). */
void bitmap_set(unsigned long *map, long start, long nr);
void bitmap_clear(unsigned long *map, long start, long nr);
/* Clear [start, start + nr); true if any of them was set (not atomic). */
bool bitmap_test_and_clear(unsigned long *map, long start, long nr);

/* Atomically set bits [start, start + nr) (any thread). */
void bitmap_set_atomic(unsigned long *map, long start, long nr);
/*
 * Atomically clear bits [start, start + nr); true if any was set.  A bit
 * set concurrently is either reported here or stays set.
 */
bool bitmap_test_and_clear_atomic(unsigned long *map, long start, long nr);
/*
 * Move the first nr bits of src to dst: each src word is atomically
 * exchanged with 0 (bits past nr in src's last word are kept there; in
 * dst they are cleared).  dst is written plainly, so it must be private
 * to the caller.  This is how a dirty log is harvested while writers keep
 * setting bits with set_bit_atomic/bitmap_set_atomic.
 */
void bitmap_copy_and_clear_atomic(unsigned long *dst, unsigned long *src,
                                  long nr);

/*
 * Copy nbits to/from a little-endian array of 64-bit words (the byte
 * layout a bitmap has on the wire).  dst must have room for
 * DIV_ROUND_UP(nbits, 64) words.
 */
void bitmap_to_le(unsigned long *dst, const unsigned long *src, long nbits);
void bitmap_from_le(unsigned long *dst, const unsigned long *src, long nbits);

#endif /* QEMU_BITMAP_H */
