/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * bitops.h: single-bit operations on arrays of unsigned long, and bit
 * searches.
 *
 * Bit nr lives in word nr / BITS_PER_LONG at position nr % BITS_PER_LONG
 * (host order).  The plain operations are not atomic; the *_atomic ones
 * are sequentially consistent read-modify-writes and may race with each
 * other and with plain reads from other threads.
 */
#ifndef QEMU_BITOPS_H
#define QEMU_BITOPS_H

#include "qemu/osdep.h"

#define BITS_PER_BYTE 8
#define BITS_PER_LONG (sizeof(unsigned long) * BITS_PER_BYTE)

#define BIT(nr) (1UL << (nr))
#define BIT_ULL(nr) (1ULL << (nr))
#define BIT_MASK(nr) (1UL << ((nr) % BITS_PER_LONG))
#define BIT_WORD(nr) ((nr) / BITS_PER_LONG)
#define BITS_TO_LONGS(nr) DIV_ROUND_UP(nr, BITS_PER_BYTE * sizeof(long))

#define MAKE_64BIT_MASK(shift, length) (((~0ULL) >> (64 - (length))) << (shift))

/* Count trailing zeros; x must not be 0 (then BITS_PER_LONG). */
static inline unsigned ctzl(unsigned long x)
{
    return x ? (unsigned)__builtin_ctzl(x) : BITS_PER_LONG;
}

/* Count leading zeros (BITS_PER_LONG for 0). */
static inline unsigned clzl(unsigned long x)
{
    return x ? (unsigned)__builtin_clzl(x) : BITS_PER_LONG;
}

static inline unsigned ctpopl(unsigned long x)
{
    return (unsigned)__builtin_popcountl(x);
}

static inline unsigned ctpop64(uint64_t x)
{
    return (unsigned)__builtin_popcountll(x);
}

static inline void set_bit(long nr, unsigned long *addr)
{
    addr[BIT_WORD(nr)] |= BIT_MASK(nr);
}

static inline void clear_bit(long nr, unsigned long *addr)
{
    addr[BIT_WORD(nr)] &= ~BIT_MASK(nr);
}

static inline void change_bit(long nr, unsigned long *addr)
{
    addr[BIT_WORD(nr)] ^= BIT_MASK(nr);
}

static inline bool test_bit(long nr, const unsigned long *addr)
{
    return (addr[BIT_WORD(nr)] & BIT_MASK(nr)) != 0;
}

/* Non-atomic: set bit nr, return whether it was set before. */
static inline bool test_and_set_bit(long nr, unsigned long *addr)
{
    bool old = test_bit(nr, addr);

    set_bit(nr, addr);
    return old;
}

/* Non-atomic: clear bit nr, return whether it was set before. */
static inline bool test_and_clear_bit(long nr, unsigned long *addr)
{
    bool old = test_bit(nr, addr);

    clear_bit(nr, addr);
    return old;
}

/* Atomic (seq-cst) set of bit nr; safe against concurrent writers. */
static inline void set_bit_atomic(long nr, unsigned long *addr)
{
    __atomic_fetch_or(&addr[BIT_WORD(nr)], BIT_MASK(nr), __ATOMIC_SEQ_CST);
}

/* Atomic (seq-cst) clear of bit nr. */
static inline void clear_bit_atomic(long nr, unsigned long *addr)
{
    __atomic_fetch_and(&addr[BIT_WORD(nr)], ~BIT_MASK(nr), __ATOMIC_SEQ_CST);
}

/* Atomic (seq-cst) read of bit nr. */
static inline bool test_bit_atomic(long nr, const unsigned long *addr)
{
    return (__atomic_load_n(&addr[BIT_WORD(nr)], __ATOMIC_SEQ_CST) &
            BIT_MASK(nr)) != 0;
}

/* Atomic: set bit nr, return whether it was already set. */
static inline bool test_and_set_bit_atomic(long nr, unsigned long *addr)
{
    unsigned long old =
        __atomic_fetch_or(&addr[BIT_WORD(nr)], BIT_MASK(nr), __ATOMIC_SEQ_CST);

    return (old & BIT_MASK(nr)) != 0;
}

/* Atomic: clear bit nr, return whether it was set (exactly one winner). */
static inline bool test_and_clear_bit_atomic(long nr, unsigned long *addr)
{
    unsigned long old = __atomic_fetch_and(&addr[BIT_WORD(nr)], ~BIT_MASK(nr),
                                           __ATOMIC_SEQ_CST);

    return (old & BIT_MASK(nr)) != 0;
}

/*
 * Searches: index of the first set (or clear) bit at or after offset
 * among the first size bits; size if there is none.
 */
unsigned long find_next_bit(const unsigned long *addr, unsigned long size,
                            unsigned long offset);
unsigned long find_next_zero_bit(const unsigned long *addr, unsigned long size,
                                 unsigned long offset);
/* Index of the last set bit among the first size bits; size if none. */
unsigned long find_last_bit(const unsigned long *addr, unsigned long size);

static inline unsigned long find_first_bit(const unsigned long *addr,
                                           unsigned long size)
{
    return find_next_bit(addr, size, 0);
}

static inline unsigned long find_first_zero_bit(const unsigned long *addr,
                                                unsigned long size)
{
    return find_next_zero_bit(addr, size, 0);
}

/* Bits [start, start + length) of value (length >= 1). */
static inline uint32_t extract32(uint32_t value, int start, int length)
{
    g_assert(start >= 0 && length > 0 && length <= 32 - start);
    return (value >> start) & (~0U >> (32 - length));
}

static inline uint64_t extract64(uint64_t value, int start, int length)
{
    g_assert(start >= 0 && length > 0 && length <= 64 - start);
    return (value >> start) & (~0ULL >> (64 - length));
}

/* value with bits [start, start + length) replaced by fieldval. */
static inline uint32_t deposit32(uint32_t value, int start, int length,
                                 uint32_t fieldval)
{
    uint32_t mask;

    g_assert(start >= 0 && length > 0 && length <= 32 - start);
    mask = (~0U >> (32 - length)) << start;
    return (value & ~mask) | ((fieldval << start) & mask);
}

static inline uint64_t deposit64(uint64_t value, int start, int length,
                                 uint64_t fieldval)
{
    uint64_t mask;

    g_assert(start >= 0 && length > 0 && length <= 64 - start);
    mask = (~0ULL >> (64 - length)) << start;
    return (value & ~mask) | ((fieldval << start) & mask);
}

#endif /* QEMU_BITOPS_H */
