/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test-bitmap.c: bitops and bitmaps: single bits, ranges across word
 * boundaries, counts and searches with unaligned sizes, and the atomic
 * operations racing between two threads without losing a bit.
 */
#include "qemu/osdep.h"
#include "qemu/bitmap.h"

/* Reference model: one bool per bit. */
static void assert_map_matches(const unsigned long *map, const bool *ref,
                               long nbits)
{
    long i;

    for (i = 0; i < nbits; i++) {
        g_assert_cmpint(test_bit(i, map), ==, ref[i]);
    }
}

static void test_bitops_macros(void)
{
    g_assert_cmpuint(BITS_PER_LONG, ==, 64);
    g_assert_cmpuint(BITS_TO_LONGS(0), ==, 0);
    g_assert_cmpuint(BITS_TO_LONGS(1), ==, 1);
    g_assert_cmpuint(BITS_TO_LONGS(64), ==, 1);
    g_assert_cmpuint(BITS_TO_LONGS(65), ==, 2);
    g_assert_cmpuint(BIT_WORD(63), ==, 0);
    g_assert_cmpuint(BIT_WORD(64), ==, 1);
    g_assert_cmphex(BIT_MASK(65), ==, 2);
    g_assert_cmphex(BITMAP_LAST_WORD_MASK(64), ==, ~0UL);
    g_assert_cmphex(BITMAP_LAST_WORD_MASK(1), ==, 1);
    g_assert_cmphex(BITMAP_LAST_WORD_MASK(70), ==, 0x3f);
    g_assert_cmphex(BITMAP_FIRST_WORD_MASK(3), ==, ~7UL);
    g_assert_cmphex(MAKE_64BIT_MASK(4, 8), ==, 0xff0);
}

static void test_bitops_single_bits(void)
{
    unsigned long *map = bitmap_new(200);

    set_bit(0, map);
    set_bit(64, map);
    set_bit(199, map);
    g_assert_true(test_bit(0, map));
    g_assert_true(test_bit(64, map));
    g_assert_true(test_bit(199, map));
    g_assert_false(test_bit(63, map));
    g_assert_cmphex(map[1], ==, 1);
    clear_bit(64, map);
    g_assert_false(test_bit(64, map));
    change_bit(5, map);
    g_assert_true(test_bit(5, map));
    g_assert_true(test_and_clear_bit(5, map));
    g_assert_false(test_and_clear_bit(5, map));
    g_assert_false(test_and_set_bit(6, map));
    g_assert_true(test_and_set_bit(6, map));
    set_bit_atomic(100, map);
    g_assert_true(test_bit_atomic(100, map));
    g_assert_true(test_and_clear_bit_atomic(100, map));
    g_assert_false(test_and_clear_bit_atomic(100, map));
    g_assert_false(test_and_set_bit_atomic(101, map));
    clear_bit_atomic(101, map);
    g_assert_false(test_bit(101, map));
    bitmap_free(map);
}

static void test_bitops_extract_deposit(void)
{
    g_assert_cmphex(extract32(0x12345678, 8, 8), ==, 0x56);
    g_assert_cmphex(extract32(0x80000000, 31, 1), ==, 1);
    g_assert_cmphex(extract64(0x123456789abcdef0ULL, 32, 32), ==, 0x12345678);
    g_assert_cmphex(extract64(~0ULL, 0, 64), ==, ~0ULL);
    g_assert_cmphex(deposit32(0xffffffff, 4, 8, 0), ==, 0xfffff00f);
    g_assert_cmphex(deposit64(0, 60, 4, 0xff), ==, 0xf000000000000000ULL);
}

static void test_bitmap_fill_zero_empty_full(void)
{
    long sizes[] = {1, 63, 64, 65, 130, 1000};
    size_t i;

    for (i = 0; i < ARRAY_SIZE(sizes); i++) {
        long n = sizes[i];
        unsigned long *map = bitmap_new(n);

        g_assert_true(bitmap_empty(map, n));
        g_assert_false(bitmap_full(map, n));
        bitmap_fill(map, n);
        g_assert_true(bitmap_full(map, n));
        g_assert_false(bitmap_empty(map, n));
        g_assert_cmpint(bitmap_count_one(map, n), ==, n);
        /* fill leaves the tail of the last word clear */
        if (n % BITS_PER_LONG) {
            g_assert_false(test_bit(n, map));
        }
        clear_bit(n - 1, map);
        g_assert_false(bitmap_full(map, n));
        bitmap_zero(map, n);
        g_assert_true(bitmap_empty(map, n));
        bitmap_free(map);
    }
}

static void test_bitmap_set_clear_ranges_match_model(void)
{
    const long n = 300;
    unsigned long *map = bitmap_new(n);
    bool ref[300] = {false};
    long start, nr;

    /* every range shape around word boundaries */
    for (start = 0; start < 140; start += 7) {
        for (nr = 0; start + nr <= n && nr < 150; nr += 13) {
            long i;

            bitmap_set(map, start, nr);
            for (i = start; i < start + nr; i++) {
                ref[i] = true;
            }
            assert_map_matches(map, ref, n);
            bitmap_clear(map, start + nr / 3, nr / 2);
            for (i = start + nr / 3; i < start + nr / 3 + nr / 2; i++) {
                ref[i] = false;
            }
            assert_map_matches(map, ref, n);
        }
    }
    bitmap_free(map);
}

static void test_bitmap_count_one_with_offset(void)
{
    unsigned long *map = bitmap_new(256);

    bitmap_set(map, 10, 100); /* [10, 110) */
    g_assert_cmpint(bitmap_count_one(map, 256), ==, 100);
    g_assert_cmpint(bitmap_count_one(map, 50), ==, 40);
    g_assert_cmpint(bitmap_count_one_with_offset(map, 0, 256), ==, 100);
    g_assert_cmpint(bitmap_count_one_with_offset(map, 60, 10), ==, 10);
    g_assert_cmpint(bitmap_count_one_with_offset(map, 100, 100), ==, 10);
    g_assert_cmpint(bitmap_count_one_with_offset(map, 63, 2), ==, 2);
    g_assert_cmpint(bitmap_count_one_with_offset(map, 5, 0), ==, 0);
    bitmap_free(map);
}

static void test_bitmap_find_bits(void)
{
    const long n = 200;
    unsigned long *map = bitmap_new(n);

    g_assert_cmpuint(find_first_bit(map, n), ==, n);
    g_assert_cmpuint(find_first_zero_bit(map, n), ==, 0);
    g_assert_cmpuint(find_last_bit(map, n), ==, n);
    set_bit(3, map);
    set_bit(64, map);
    set_bit(130, map);
    g_assert_cmpuint(find_first_bit(map, n), ==, 3);
    g_assert_cmpuint(find_next_bit(map, n, 3), ==, 3);
    g_assert_cmpuint(find_next_bit(map, n, 4), ==, 64);
    g_assert_cmpuint(find_next_bit(map, n, 65), ==, 130);
    g_assert_cmpuint(find_next_bit(map, n, 131), ==, n);
    g_assert_cmpuint(find_next_bit(map, 130, 65), ==, 130); /* size caps */
    g_assert_cmpuint(find_next_bit(map, n, n + 5), ==, n);
    g_assert_cmpuint(find_last_bit(map, n), ==, 130);
    g_assert_cmpuint(find_last_bit(map, 100), ==, 64);

    bitmap_fill(map, n);
    g_assert_cmpuint(find_first_zero_bit(map, n), ==, n);
    clear_bit(150, map);
    g_assert_cmpuint(find_next_zero_bit(map, n, 10), ==, 150);
    g_assert_cmpuint(find_next_zero_bit(map, n, 151), ==, n);
    /* a set bit past size in the last word is never reported */
    bitmap_zero(map, n);
    set_bit(199, map);
    g_assert_cmpuint(find_next_bit(map, 199, 0), ==, 199);
    g_assert_cmpuint(find_last_bit(map, 199), ==, 199);
    bitmap_free(map);
}

static void test_bitmap_logic_ops(void)
{
    const long n = 100;
    unsigned long *a = bitmap_new(n), *b = bitmap_new(n), *d = bitmap_new(n);

    bitmap_set(a, 0, 50);
    bitmap_set(b, 25, 50);
    g_assert_true(bitmap_and(d, a, b, n));
    g_assert_cmpint(bitmap_count_one(d, n), ==, 25);
    bitmap_or(d, a, b, n);
    g_assert_cmpint(bitmap_count_one(d, n), ==, 75);
    bitmap_xor(d, a, b, n);
    g_assert_cmpint(bitmap_count_one(d, n), ==, 50);
    g_assert_true(bitmap_andnot(d, a, b, n));
    g_assert_cmpint(bitmap_count_one(d, n), ==, 25);
    g_assert_false(bitmap_andnot(d, a, a, n));
    bitmap_copy(d, a, n);
    g_assert_true(bitmap_equal(d, a, n));
    g_assert_false(bitmap_equal(d, b, n));
    /* bits past nbits do not matter to equal */
    set_bit(99, d);
    g_assert_true(bitmap_equal(d, a, 99));
    bitmap_free(a);
    bitmap_free(b);
    bitmap_free(d);
}

static void test_bitmap_test_and_clear_ranges(void)
{
    unsigned long *map = bitmap_new(256);

    bitmap_set(map, 70, 1);
    g_assert_false(bitmap_test_and_clear(map, 0, 70));
    g_assert_true(bitmap_test_and_clear(map, 60, 20));
    g_assert_true(bitmap_empty(map, 256));
    bitmap_set_atomic(map, 5, 200);
    g_assert_cmpint(bitmap_count_one(map, 256), ==, 200);
    g_assert_true(bitmap_test_and_clear_atomic(map, 0, 100));
    g_assert_false(bitmap_test_and_clear_atomic(map, 0, 100));
    g_assert_cmpint(bitmap_count_one(map, 256), ==, 105);
    g_assert_cmpuint(find_first_bit(map, 256), ==, 100);
    bitmap_free(map);
}

static void test_bitmap_copy_and_clear_atomic_moves_bits(void)
{
    const long n = 150;
    unsigned long *src = bitmap_new(256), *dst = bitmap_new(256);

    bitmap_set(src, 1, 3);
    bitmap_set(src, 140, 10);
    set_bit(200, src); /* past nr: must stay in src */
    bitmap_fill(dst, 256);
    bitmap_copy_and_clear_atomic(dst, src, n);
    g_assert_cmpint(bitmap_count_one(dst, n), ==, 13);
    g_assert_true(test_bit(1, dst) && test_bit(149, dst));
    g_assert_false(test_bit(150, dst));
    g_assert_true(bitmap_empty(src, n));
    g_assert_true(test_bit(200, src));
    bitmap_free(src);
    bitmap_free(dst);
}

static void test_bitmap_to_from_le_round_trip(void)
{
    unsigned long *a = bitmap_new(130), *le = bitmap_new(130);
    unsigned long *b = bitmap_new(130);
    const uint8_t *bytes = (const uint8_t *)le;

    set_bit(0, a);
    set_bit(9, a);
    set_bit(129, a);
    bitmap_to_le(le, a, 130);
    g_assert_cmphex(bytes[0], ==, 0x01);
    g_assert_cmphex(bytes[1], ==, 0x02);
    g_assert_cmphex(bytes[16], ==, 0x02);
    bitmap_from_le(b, le, 130);
    g_assert_true(bitmap_equal(a, b, 130));
    bitmap_free(a);
    bitmap_free(le);
    bitmap_free(b);
}

/*
 * Two-thread race: a writer sets every bit of a map once (single bits and
 * ranges, atomically) while the main thread harvests with
 * bitmap_copy_and_clear_atomic and bitmap_test_and_clear_atomic.  Every
 * bit must be harvested exactly once: none lost, none duplicated.
 */
#define RACE_BITS (1 << 20)

typedef struct RaceState {
    unsigned long *map;
    int done;
} RaceState;

static gpointer race_writer(gpointer opaque)
{
    RaceState *s = opaque;
    long i;

    /* scattered single bits (7919 is prime, so this visits each once) */
    for (i = 0; i < RACE_BITS / 2; i++) {
        set_bit_atomic((i * 7919L) % (RACE_BITS / 2), s->map);
        if (i % 4096 == 0) {
            g_thread_yield(); /* let harvests interleave */
        }
    }
    for (i = RACE_BITS / 2; i < RACE_BITS; i += 37) {
        long nr = MIN(37, RACE_BITS - i);

        bitmap_set_atomic(s->map, i, nr);
        if (i % 4096 < 37) {
            g_thread_yield();
        }
    }
    __atomic_store_n(&s->done, 1, __ATOMIC_SEQ_CST);
    return NULL;
}

static void test_bitmap_atomic_harvest_two_threads_loses_nothing(void)
{
    RaceState s = {.map = bitmap_new(RACE_BITS)};
    unsigned long *seen = bitmap_new(RACE_BITS);
    unsigned long *harvest = bitmap_new(RACE_BITS);
    long dup = 0, rounds = 0;
    GThread *t;
    bool last = false;

    t = g_thread_new("bitmap-writer", race_writer, &s);
    while (!last) {
        long i;

        last = __atomic_load_n(&s.done, __ATOMIC_SEQ_CST);
        if (rounds++ % 2) {
            bitmap_copy_and_clear_atomic(harvest, s.map, RACE_BITS);
        } else {
            /* bit-range harvest with an odd stride */
            bitmap_zero(harvest, RACE_BITS);
            for (i = 0; i < RACE_BITS; i += 100) {
                long nr = MIN(100, RACE_BITS - i), j;

                for (j = i; j < i + nr; j++) {
                    if (test_and_clear_bit_atomic(j, s.map)) {
                        set_bit(j, harvest);
                    }
                }
            }
        }
        for (i = find_first_bit(harvest, RACE_BITS); i < RACE_BITS;
             i = find_next_bit(harvest, RACE_BITS, i + 1)) {
            if (test_and_set_bit(i, seen)) {
                dup++;
            }
        }
    }
    g_thread_join(t);
    g_test_message("%ld harvest rounds", rounds);
    g_assert_cmpint(dup, ==, 0);
    g_assert_true(bitmap_full(seen, RACE_BITS));
    g_assert_true(bitmap_empty(s.map, RACE_BITS));
    g_assert_false(bitmap_test_and_clear_atomic(s.map, 0, RACE_BITS));
    bitmap_free(s.map);
    bitmap_free(seen);
    bitmap_free(harvest);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/bitops/macros", test_bitops_macros);
    g_test_add_func("/bitops/single-bits", test_bitops_single_bits);
    g_test_add_func("/bitops/extract-deposit", test_bitops_extract_deposit);
    g_test_add_func("/bitmap/fill-zero-empty-full",
                    test_bitmap_fill_zero_empty_full);
    g_test_add_func("/bitmap/set-clear-ranges-match-model",
                    test_bitmap_set_clear_ranges_match_model);
    g_test_add_func("/bitmap/count-one-with-offset",
                    test_bitmap_count_one_with_offset);
    g_test_add_func("/bitmap/find-bits", test_bitmap_find_bits);
    g_test_add_func("/bitmap/logic-ops", test_bitmap_logic_ops);
    g_test_add_func("/bitmap/test-and-clear-ranges",
                    test_bitmap_test_and_clear_ranges);
    g_test_add_func("/bitmap/copy-and-clear-atomic-moves-bits",
                    test_bitmap_copy_and_clear_atomic_moves_bits);
    g_test_add_func("/bitmap/to-from-le-round-trip",
                    test_bitmap_to_from_le_round_trip);
    g_test_add_func("/bitmap/atomic-harvest-two-threads-loses-nothing",
                    test_bitmap_atomic_harvest_two_threads_loses_nothing);
    return g_test_run();
}
