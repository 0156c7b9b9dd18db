/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * fuzz-mutate.h: the byte mutations of the plain (non-libFuzzer) drivers
 * of binary streams (fuzz-loadvm.c, fuzz-ram.c): deterministic for a
 * given GRand seed, so a failing iteration can be found again.
 */
#ifndef TESTS_FUZZ_MUTATE_H
#define TESTS_FUZZ_MUTATE_H

/*
 * Apply one to four mutations to b: flip a bit, set a random or an
 * "interesting" byte, truncate, insert or remove a byte.
 */
static inline void fuzz_mutate_bytes(GRand *r, GByteArray *b)
{
    int n = g_rand_int_range(r, 1, 5);

    while (n-- > 0 && b->len > 0) {
        guint pos = g_rand_int_range(r, 0, b->len);
        uint8_t v;

        switch (g_rand_int_range(r, 0, 6)) {
        case 0: /* flip a bit */
            b->data[pos] ^= 1 << g_rand_int_range(r, 0, 8);
            break;
        case 1: /* random byte */
            b->data[pos] = g_rand_int_range(r, 0, 256);
            break;
        case 2: /* interesting byte */
        {
            static const uint8_t interesting[] = {
                0, 1, 2, 3, 4, 5, 6, 7, 8, 0x10, 0x20, 0x7e, 0x7f, 0x80, 0xff,
            };
            b->data[pos] =
                interesting[g_rand_int_range(r, 0, sizeof(interesting))];
        } break;
        case 3: /* truncate */
            g_byte_array_set_size(b, pos);
            break;
        case 4: /* insert */
            v = g_rand_int_range(r, 0, 256);
            g_array_insert_val((GArray *)b, pos, v);
            break;
        default: /* remove */
            g_byte_array_remove_index(b, pos);
            break;
        }
    }
}

#endif
