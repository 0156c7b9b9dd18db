/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * bitmap.c: bit searches and range operations on unsigned long bitmaps
 * (see qemu/bitops.h and qemu/bitmap.h).
 */
#include "qemu/osdep.h"
#include "qemu/bitmap.h"

G_STATIC_ASSERT(sizeof(unsigned long) == sizeof(uint64_t));

/*
 * Shared search: invert is 0 to look for a set bit, ~0UL for a clear one
 * (each word is XORed with it first).
 */
static unsigned long find_next_common(const unsigned long *addr,
                                      unsigned long size, unsigned long offset,
                                      unsigned long invert)
{
    unsigned long word, idx;

    if (offset >= size) {
        return size;
    }
    idx = BIT_WORD(offset);
    word = (addr[idx] ^ invert) & BITMAP_FIRST_WORD_MASK(offset);
    for (;;) {
        if (word) {
            unsigned long bit = idx * BITS_PER_LONG + ctzl(word);

            return bit < size ? bit : size;
        }
        idx++;
        if (idx * BITS_PER_LONG >= size) {
            return size;
        }
        word = addr[idx] ^ invert;
    }
}

unsigned long find_next_bit(const unsigned long *addr, unsigned long size,
                            unsigned long offset)
{
    return find_next_common(addr, size, offset, 0);
}

unsigned long find_next_zero_bit(const unsigned long *addr, unsigned long size,
                                 unsigned long offset)
{
    return find_next_common(addr, size, offset, ~0UL);
}

unsigned long find_last_bit(const unsigned long *addr, unsigned long size)
{
    unsigned long idx;

    if (!size) {
        return 0;
    }
    idx = BIT_WORD(size - 1);
    for (;;) {
        unsigned long word = addr[idx];

        if (idx == BIT_WORD(size - 1)) {
            word &= BITMAP_LAST_WORD_MASK(size);
        }
        if (word) {
            return idx * BITS_PER_LONG + BITS_PER_LONG - 1 - clzl(word);
        }
        if (idx == 0) {
            return size;
        }
        idx--;
    }
}

/* Mask of the bits of the last word that belong to an nbits map. */
static inline unsigned long last_mask(long nbits)
{
    return BITMAP_LAST_WORD_MASK(nbits);
}

bool bitmap_empty(const unsigned long *map, long nbits)
{
    long i, full = nbits / BITS_PER_LONG;

    for (i = 0; i < full; i++) {
        if (map[i]) {
            return false;
        }
    }
    if (nbits % BITS_PER_LONG && (map[full] & last_mask(nbits))) {
        return false;
    }
    return true;
}

bool bitmap_full(const unsigned long *map, long nbits)
{
    long i, full = nbits / BITS_PER_LONG;

    for (i = 0; i < full; i++) {
        if (~map[i]) {
            return false;
        }
    }
    if (nbits % BITS_PER_LONG && (~map[full] & last_mask(nbits))) {
        return false;
    }
    return true;
}

bool bitmap_equal(const unsigned long *a, const unsigned long *b, long nbits)
{
    long i, full = nbits / BITS_PER_LONG;

    for (i = 0; i < full; i++) {
        if (a[i] != b[i]) {
            return false;
        }
    }
    if (nbits % BITS_PER_LONG && ((a[full] ^ b[full]) & last_mask(nbits))) {
        return false;
    }
    return true;
}

bool bitmap_and(unsigned long *dst, const unsigned long *a,
                const unsigned long *b, long nbits)
{
    long i, n = BITS_TO_LONGS(nbits);
    unsigned long any = 0;

    for (i = 0; i < n; i++) {
        dst[i] = a[i] & b[i];
        any |= dst[i];
    }
    return any != 0;
}

void bitmap_or(unsigned long *dst, const unsigned long *a,
               const unsigned long *b, long nbits)
{
    long i, n = BITS_TO_LONGS(nbits);

    for (i = 0; i < n; i++) {
        dst[i] = a[i] | b[i];
    }
}

void bitmap_xor(unsigned long *dst, const unsigned long *a,
                const unsigned long *b, long nbits)
{
    long i, n = BITS_TO_LONGS(nbits);

    for (i = 0; i < n; i++) {
        dst[i] = a[i] ^ b[i];
    }
}

bool bitmap_andnot(unsigned long *dst, const unsigned long *a,
                   const unsigned long *b, long nbits)
{
    long i, n = BITS_TO_LONGS(nbits);
    unsigned long any = 0;

    for (i = 0; i < n; i++) {
        dst[i] = a[i] & ~b[i];
        any |= dst[i];
    }
    return any != 0;
}

long bitmap_count_one(const unsigned long *map, long nbits)
{
    long i, full = nbits / BITS_PER_LONG, count = 0;

    for (i = 0; i < full; i++) {
        count += ctpopl(map[i]);
    }
    if (nbits % BITS_PER_LONG) {
        count += ctpopl(map[full] & last_mask(nbits));
    }
    return count;
}

long bitmap_count_one_with_offset(const unsigned long *map, long offset,
                                  long nbits)
{
    long end = offset + nbits, count = 0;
    long first_word = BIT_WORD(offset);
    long last_word;
    long i;

    if (nbits <= 0) {
        return 0;
    }
    last_word = BIT_WORD(end - 1);
    for (i = first_word; i <= last_word; i++) {
        unsigned long word = map[i];

        if (i == first_word) {
            word &= BITMAP_FIRST_WORD_MASK(offset);
        }
        if (i == last_word) {
            word &= BITMAP_LAST_WORD_MASK(end);
        }
        count += ctpopl(word);
    }
    return count;
}

/*
 * Walk [start, start + nr) one word at a time, calling op with the word
 * index and the mask of the range's bits in that word.  Returns the OR
 * of op's results.
 */
typedef unsigned long (*BitmapWordOp)(unsigned long *word, unsigned long mask);

static unsigned long bitmap_range_apply(unsigned long *map, long start, long nr,
                                        BitmapWordOp op)
{
    long end = start + nr;
    long i, first_word, last_word;
    unsigned long result = 0;

    if (nr <= 0) {
        return 0;
    }
    first_word = BIT_WORD(start);
    last_word = BIT_WORD(end - 1);
    for (i = first_word; i <= last_word; i++) {
        unsigned long mask = ~0UL;

        if (i == first_word) {
            mask &= BITMAP_FIRST_WORD_MASK(start);
        }
        if (i == last_word) {
            mask &= BITMAP_LAST_WORD_MASK(end);
        }
        result |= op(&map[i], mask);
    }
    return result;
}

static unsigned long word_set(unsigned long *word, unsigned long mask)
{
    *word |= mask;
    return 0;
}

static unsigned long word_clear(unsigned long *word, unsigned long mask)
{
    *word &= ~mask;
    return 0;
}

static unsigned long word_test_and_clear(unsigned long *word,
                                         unsigned long mask)
{
    unsigned long old = *word;

    *word = old & ~mask;
    return old & mask;
}

static unsigned long word_set_atomic(unsigned long *word, unsigned long mask)
{
    if (mask == ~0UL) {
        /* nothing to preserve: a plain atomic store is enough */
        __atomic_store_n(word, ~0UL, __ATOMIC_SEQ_CST);
    } else {
        __atomic_fetch_or(word, mask, __ATOMIC_SEQ_CST);
    }
    return 0;
}

static unsigned long word_test_and_clear_atomic(unsigned long *word,
                                                unsigned long mask)
{
    if (mask == ~0UL) {
        return __atomic_exchange_n(word, 0UL, __ATOMIC_SEQ_CST);
    }
    return __atomic_fetch_and(word, ~mask, __ATOMIC_SEQ_CST) & mask;
}

void bitmap_set(unsigned long *map, long start, long nr)
{
    bitmap_range_apply(map, start, nr, word_set);
}

void bitmap_clear(unsigned long *map, long start, long nr)
{
    bitmap_range_apply(map, start, nr, word_clear);
}

bool bitmap_test_and_clear(unsigned long *map, long start, long nr)
{
    return bitmap_range_apply(map, start, nr, word_test_and_clear) != 0;
}

void bitmap_set_atomic(unsigned long *map, long start, long nr)
{
    bitmap_range_apply(map, start, nr, word_set_atomic);
}

bool bitmap_test_and_clear_atomic(unsigned long *map, long start, long nr)
{
    return bitmap_range_apply(map, start, nr, word_test_and_clear_atomic) != 0;
}

void bitmap_copy_and_clear_atomic(unsigned long *dst, unsigned long *src,
                                  long nr)
{
    long i, full = nr / BITS_PER_LONG;

    for (i = 0; i < full; i++) {
        /* skip the write when clean: keeps the cache line shared */
        if (__atomic_load_n(&src[i], __ATOMIC_SEQ_CST)) {
            dst[i] = __atomic_exchange_n(&src[i], 0UL, __ATOMIC_SEQ_CST);
        } else {
            dst[i] = 0;
        }
    }
    if (nr % BITS_PER_LONG) {
        unsigned long mask = last_mask(nr);

        dst[full] =
            __atomic_fetch_and(&src[full], ~mask, __ATOMIC_SEQ_CST) & mask;
    }
}

void bitmap_to_le(unsigned long *dst, const unsigned long *src, long nbits)
{
    long i, n = BITS_TO_LONGS(nbits);

    for (i = 0; i < n; i++) {
        dst[i] = GUINT64_TO_LE(src[i]);
    }
}

void bitmap_from_le(unsigned long *dst, const unsigned long *src, long nbits)
{
    long i, n = BITS_TO_LONGS(nbits);

    for (i = 0; i < n; i++) {
        dst[i] = GUINT64_FROM_LE(src[i]);
    }
}
