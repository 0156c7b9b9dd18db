/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test-xbzrle.c: the XBZRLE codec (migration/xbzrle.c) and the page
 * cache (migration/page-cache.c).
 * Proves: known pages encode to the exact bytes of the format (a changed
 * first byte, a changed last byte with its two-byte ULEB128, runs at
 * word edges); every encoder (avx2, sse2, plain: those the CPU has)
 * gives the same bytes as the plain one on 20000 random edits, and the
 * decoder turns old + delta back into new; equal pages encode to 0
 * bytes, a random page overflows (-1) and so does a delta one byte
 * bigger than the room given; no encoder writes at or past the room
 * given, for every room around the encoded length; the decoder refuses each
 * kind of bad input (truncated ULEB128, a three-byte ULEB128, zero-length runs,
 * runs overrunning the page or the input, a lone length byte) and never
 * writes outside the page, also on 200000 mutated deltas; the cache
 * refuses bad sizes with QEMU 7.2's texts, finds what it inserted, and
 * keeps a slot for a page used within PAGE_CACHE_LIFETIME passes.
 */
#include "qemu/osdep.h"
#include "qapi/error.h"
#include "../../migration/page-cache.h"
#include "../../migration/xbzrle.h"

#define PAGE ((int)TARGET_PAGE_SIZE)
#define GUARD 64

static const char *encoders[] = {"avx2", "sse2", "plain"};

/* Encode with every encoder the CPU has; all must agree; return one. */
static int encode_all(const uint8_t *o, const uint8_t *n, int len, uint8_t *dst,
                      int dlen)
{
    g_autofree uint8_t *ref = g_malloc(dlen + 1);
    int rlen = xbzrle_encode_buffer_plain(o, n, len, ref, dlen);

    for (size_t i = 0; i < G_N_ELEMENTS(encoders); i++) {
        int got;

        if (!xbzrle_encoder_select(encoders[i])) {
            continue;
        }
        got = xbzrle_encode_buffer(o, n, len, dst, dlen);
        g_assert_cmpint(got, ==, rlen);
        if (got > 0) {
            g_assert(!memcmp(dst, ref, got));
        }
    }
    return rlen;
}

static void test_known(void)
{
    g_autofree uint8_t *o = g_malloc0(PAGE);
    g_autofree uint8_t *n = g_malloc0(PAGE);
    uint8_t dst[PAGE];
    static const uint8_t first[] = {0x00, 0x01, 0xaa};
    static const uint8_t last[] = {0xff, 0x1f, 0x01, 0xbb};
    static const uint8_t edge[] = {0x07, 0x02, 0x11, 0x22, 0x38,
                                   0x03, 0x33, 0x44, 0x55};

    g_assert_cmpint(encode_all(o, n, PAGE, dst, PAGE), ==, 0);
    n[0] = 0xaa;
    g_assert_cmpint(encode_all(o, n, PAGE, dst, PAGE), ==, sizeof(first));
    g_assert(!memcmp(dst, first, sizeof(first)));
    n[0] = 0;
    n[PAGE - 1] = 0xbb;
    g_assert_cmpint(encode_all(o, n, PAGE, dst, PAGE), ==, sizeof(last));
    g_assert(!memcmp(dst, last, sizeof(last)));
    n[PAGE - 1] = 0;
    /* bytes 7-8 and 65-67: runs across word and 64-byte edges */
    n[7] = 0x11;
    n[8] = 0x22;
    n[65] = 0x33;
    n[66] = 0x44;
    n[67] = 0x55;
    g_assert_cmpint(encode_all(o, n, PAGE, dst, PAGE), ==, sizeof(edge));
    g_assert(!memcmp(dst, edge, sizeof(edge)));
    /* exactly the room needed fits; one byte less overflows */
    g_assert_cmpint(encode_all(o, n, PAGE, dst, sizeof(edge)), ==,
                    sizeof(edge));
    g_assert_cmpint(encode_all(o, n, PAGE, dst, sizeof(edge) - 1), ==, -1);
}

/* Random edits of a random page: runs of many lengths and positions. */
static void test_round_trip(void)
{
    GRand *r = g_rand_new_with_seed(18);
    g_autofree uint8_t *o = g_malloc(PAGE);
    g_autofree uint8_t *n = g_malloc(PAGE);
    g_autofree uint8_t *out = g_malloc(PAGE + 2 * GUARD);
    uint8_t dst[PAGE];

    for (int iter = 0; iter < 20000; iter++) {
        int edits = g_rand_int_range(r, 0, iter % 7 == 0 ? 400 : 12);
        int len, dec;

        for (int i = 0; i < PAGE; i++) {
            o[i] = g_rand_int(r);
        }
        memcpy(n, o, PAGE);
        for (int e = 0; e < edits; e++) {
            int at = g_rand_int_range(r, 0, PAGE);
            int run = g_rand_int_range(r, 1, e % 5 ? 9 : 300);

            for (int k = at; k < MIN(PAGE, at + run); k++) {
                n[k] = o[k] + g_rand_int_range(r, 1, 256);
            }
        }
        len = encode_all(o, n, PAGE, dst, PAGE);
        if (len < 0) {
            continue;
        }
        g_assert_cmpint(len == 0, ==, memcmp(o, n, PAGE) == 0);
        memset(out, 0x5a, PAGE + 2 * GUARD);
        memcpy(out + GUARD, o, PAGE);
        dec = xbzrle_decode_buffer(dst, len, out + GUARD, PAGE);
        g_assert_cmpint(dec, >=, 0);
        g_assert_cmpint(dec, <=, PAGE);
        g_assert(!memcmp(out + GUARD, n, PAGE));
        for (int i = 0; i < GUARD; i++) {
            g_assert_cmpint(out[i], ==, 0x5a);
            g_assert_cmpint(out[GUARD + PAGE + i], ==, 0x5a);
        }
    }
    g_rand_free(r);
}

static void test_overflow(void)
{
    GRand *r = g_rand_new_with_seed(7);
    g_autofree uint8_t *o = g_malloc(PAGE);
    g_autofree uint8_t *n = g_malloc(PAGE);
    uint8_t dst[PAGE];

    for (int i = 0; i < PAGE; i++) {
        o[i] = i;
        n[i] = i + 1; /* every byte changed: 4 + 4096 bytes */
    }
    g_assert_cmpint(encode_all(o, n, PAGE, dst, PAGE), ==, -1);
    for (int i = 0; i < PAGE; i++) {
        n[i] = g_rand_int(r);
    }
    g_assert_cmpint(encode_all(o, n, PAGE, dst, PAGE), ==, -1);
    /* every other byte changed: 2048 pairs of 3 bytes, more than a page */
    for (int i = 0; i < PAGE; i++) {
        n[i] = i % 2 ? o[i] : (uint8_t)(o[i] ^ 0xff);
    }
    g_assert_cmpint(encode_all(o, n, PAGE, dst, PAGE), ==, -1);
    g_rand_free(r);
}

/*
 * Short runs near the end of the page and of the room given: every
 * encoder writes nothing at or past dlen (the short-run copy writes 16
 * bytes at once) and agrees with the plain one on every dlen around the
 * encoded length.
 */
static void test_dst_bounds(void)
{
    GRand *r = g_rand_new_with_seed(4);
    g_autofree uint8_t *o = g_malloc(PAGE);
    g_autofree uint8_t *n = g_malloc(PAGE);
    g_autofree uint8_t *dst = g_malloc(PAGE + GUARD);

    for (int iter = 0; iter < 300; iter++) {
        int edits = g_rand_int_range(r, 1, 40);
        int full;

        for (int i = 0; i < PAGE; i++) {
            o[i] = g_rand_int(r);
        }
        memcpy(n, o, PAGE);
        for (int e = 0; e < edits; e++) {
            int run = g_rand_int_range(r, 1, 20);
            int at = iter % 2 ? PAGE - g_rand_int_range(r, 1, 64)
                              : g_rand_int_range(r, 0, PAGE);

            for (int k = at; k < MIN(PAGE, at + run); k++) {
                n[k] = o[k] ^ g_rand_int_range(r, 1, 256);
            }
        }
        full = encode_all(o, n, PAGE, dst, PAGE);
        g_assert_cmpint(full, >, 0);
        for (int dlen = MAX(1, full - 20); dlen <= MIN(PAGE, full + 20);
             dlen++) {
            for (size_t i = 0; i < G_N_ELEMENTS(encoders); i++) {
                int got;

                if (!xbzrle_encoder_select(encoders[i])) {
                    continue;
                }
                memset(dst, 0x5a, PAGE + GUARD);
                got = xbzrle_encode_buffer(o, n, PAGE, dst, dlen);
                g_assert_cmpint(got, ==, dlen >= full ? full : -1);
                for (int k = dlen; k < PAGE + GUARD; k++) {
                    g_assert_cmpint(dst[k], ==, 0x5a);
                }
            }
        }
    }
    g_rand_free(r);
}

/* Decode src into a guarded page; the guard must stay untouched. */
static int decode_guarded(const uint8_t *src, int slen)
{
    g_autofree uint8_t *out = g_malloc(PAGE + 2 * GUARD);
    int ret;

    memset(out, 0x5a, PAGE + 2 * GUARD);
    ret = xbzrle_decode_buffer(src, slen, out + GUARD, PAGE);
    for (int i = 0; i < GUARD; i++) {
        g_assert_cmpint(out[i], ==, 0x5a);
        g_assert_cmpint(out[GUARD + PAGE + i], ==, 0x5a);
    }
    return ret;
}

static void test_decode_bad(void)
{
    static const struct {
        const char *what;
        uint8_t in[8];
        int len;
    } bad[] = {
        {"lone length byte", {0x00}, 1},
        {"truncated ULEB128 zrun", {0x80}, 1},
        {"truncated ULEB128 nzrun", {0x00, 0x81}, 2},
        {"three-byte ULEB128", {0x80, 0x80, 0x01, 0x01, 0xaa}, 5},
        {"zero-length nzrun", {0x00, 0x00, 0xaa}, 3},
        {"zero-length zrun after a pair",
         {0x00, 0x01, 0xaa, 0x00, 0x01, 0xbb},
         6},
        {"nzrun past the input", {0x00, 0x05, 0xaa, 0xbb}, 4},
        {"zrun past the page", {0x81, 0x20, 0x01, 0xaa}, 4}, /* 4097 */
        {"nzrun past the page", {0xff, 0x1f, 0x02, 0xaa, 0xbb}, 5},
        {"pair without data", {0x01, 0x01}, 2},
        {"trailing zrun only", {0x00, 0x01, 0xaa, 0x05}, 4},
    };
    static const uint8_t good_last[] = {0xff, 0x1f, 0x01, 0xbb};
    static const uint8_t non_minimal[] = {0x80, 0x00, 0x01, 0xcc};

    for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
        if (decode_guarded(bad[i].in, bad[i].len) != -1) {
            g_error("decoder accepted: %s", bad[i].what);
        }
    }
    g_assert_cmpint(decode_guarded(good_last, sizeof(good_last)), ==, PAGE);
    /* QEMU's decoder takes a non-minimal 0 (0x80 0x00) as the first zrun */
    g_assert_cmpint(decode_guarded(non_minimal, sizeof(non_minimal)), ==, 1);
    g_assert_cmpint(decode_guarded(NULL, 0), ==, 0);
}

/* Mutated valid deltas: any result, but never outside the page. */
static void test_decode_mutations(void)
{
    GRand *r = g_rand_new_with_seed(99);
    g_autofree uint8_t *o = g_malloc0(PAGE);
    g_autofree uint8_t *n = g_malloc0(PAGE);
    uint8_t dst[PAGE + 16];

    for (int iter = 0; iter < 200000; iter++) {
        int len, flips;

        if (iter % 1000 == 0) {
            memset(n, 0, PAGE);
            for (int e = g_rand_int_range(r, 1, 40); e > 0; e--) {
                n[g_rand_int_range(r, 0, PAGE)] = g_rand_int_range(r, 1, 256);
            }
        }
        len = xbzrle_encode_buffer(o, n, PAGE, dst, PAGE);
        g_assert_cmpint(len, >, 0);
        flips = g_rand_int_range(r, 1, 4);
        for (int f = 0; f < flips; f++) {
            dst[g_rand_int_range(r, 0, len)] = g_rand_int(r);
        }
        if (iter % 3 == 0) {
            len = g_rand_int_range(r, 0, len + 1); /* truncated */
        }
        g_assert_cmpint(decode_guarded(dst, len), <=, PAGE);
    }
    g_rand_free(r);
}

static void test_cache(void)
{
    Error *err = NULL;
    g_autofree uint8_t *page = g_malloc(PAGE);
    PageCache *c;
    uint8_t *p;

    g_assert_null(page_cache_new(PAGE - 1, &err));
    g_assert_cmpstr(error_get_pretty(err), ==,
                    "Parameter 'cache size' expects is smaller than one "
                    "target page size");
    error_free(err);
    err = NULL;
    g_assert_null(page_cache_new(3 * PAGE, &err));
    g_assert_cmpstr(error_get_pretty(err), ==,
                    "Parameter 'cache size' expects is not a power of two "
                    "number of pages");
    error_free(err);
    err = NULL;

    c = page_cache_new(4 * PAGE, &error_abort);
    g_assert_cmpuint(page_cache_size(c), ==, 4 * PAGE);
    memset(page, 0x11, PAGE);
    g_assert_null(page_cache_lookup(c, 0x1000, 1));
    p = page_cache_insert(c, 0x1000, page, 1);
    g_assert_nonnull(p);
    g_assert(page_cache_lookup(c, 0x1000, 1) == p);
    g_assert_cmpint(p[PAGE - 1], ==, 0x11);
    /* 0x5000 maps to the same slot: refused while 0x1000 is young */
    memset(page, 0x22, PAGE);
    g_assert_null(page_cache_insert(c, 0x5000, page, 2));
    g_assert(page_cache_lookup(c, 0x1000, 2) == p);
    g_assert_null(page_cache_insert(c, 0x5000, page, 3));
    /* PAGE_CACHE_LIFETIME passes later the slot may change hands */
    g_assert(page_cache_insert(c, 0x5000, page, 2 + PAGE_CACHE_LIFETIME) == p);
    g_assert_null(page_cache_lookup(c, 0x1000, 5));
    g_assert(page_cache_lookup(c, 0x5000, 5) == p);
    g_assert_cmpint(p[0], ==, 0x22);
    /* the same page is always updated in place */
    memset(page, 0x33, PAGE);
    g_assert(page_cache_insert(c, 0x5000, page, 5) == p);
    g_assert_cmpint(p[7], ==, 0x33);
    page_cache_free(c);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/xbzrle/known", test_known);
    g_test_add_func("/xbzrle/round-trip", test_round_trip);
    g_test_add_func("/xbzrle/overflow", test_overflow);
    g_test_add_func("/xbzrle/dst-bounds", test_dst_bounds);
    g_test_add_func("/xbzrle/decode-bad", test_decode_bad);
    g_test_add_func("/xbzrle/decode-mutations", test_decode_mutations);
    g_test_add_func("/xbzrle/cache", test_cache);
    return g_test_run();
}
