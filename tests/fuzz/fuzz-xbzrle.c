/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * fuzz-xbzrle.c: feed arbitrary bytes to the XBZRLE decoder
 * (migration/xbzrle.c), as a destination gets them in an XBZRLE record.
 *
 * Input: byte 0 picks the old page (0: zeros, else a pattern seeded by
 * it), the rest is the delta.  The delta is decoded into a page with
 * guard areas on both sides; checks:
 *   - the guards are untouched and the result is -1 or <= the page size;
 *   - when it decodes, encoding the old page against the result and
 *     decoding that again gives the same page (encoder and decoder
 *     agree on anything the decoder accepts), and every encoder the CPU
 *     has gives the same bytes.
 * Any failed check aborts (a bug); a refused delta is fine.
 *
 * Entry points and plain run: fuzz-driver.h (4 built-in deltas,
 * 100000 mutations by default; the selector byte is never mutated).
 */
#include "qemu/osdep.h"
#include "../../migration/xbzrle.h"
#include "fuzz-driver.h"

#define PAGE ((int)TARGET_PAGE_SIZE)
#define GUARD 256

static void fuzz_old_page(uint8_t *old, uint8_t sel)
{
    uint32_t x = sel * 2654435761u;

    for (int i = 0; i < PAGE; i++) {
        x = x * 1103515245u + 12345u;
        old[i] = sel ? x >> 24 : 0;
    }
}

static void fuzz_check(bool ok, const char *what)
{
    if (!ok) {
        fprintf(stderr, "fuzz-xbzrle: %s\n", what);
        abort();
    }
}

/* Decode one input; returns the decoder's result. */
static int fuzz_one(const uint8_t *data, size_t size)
{
    static const char *encs[] = {"avx2", "sse2", "plain"};
    uint8_t *buf = g_malloc(PAGE + 2 * GUARD);
    uint8_t *page = buf + GUARD;
    uint8_t old[PAGE], enc[PAGE], ref[PAGE], again[PAGE];
    int slen = size > 1 ? (int)MIN(size - 1, (size_t)INT_MAX) : 0;
    int ret, len, rlen;

    fuzz_old_page(old, size ? data[0] : 0);
    memset(buf, 0xa5, PAGE + 2 * GUARD);
    memcpy(page, old, PAGE);
    ret = xbzrle_decode_buffer(data + (size ? 1 : 0), slen, page, PAGE);
    for (int i = 0; i < GUARD; i++) {
        fuzz_check(buf[i] == 0xa5 && page[PAGE + i] == 0xa5,
                   "write outside the page");
    }
    fuzz_check(ret >= -1 && ret <= PAGE, "result out of range");
    if (ret >= 0) {
        rlen = xbzrle_encode_buffer_plain(old, page, PAGE, ref, PAGE);
        for (size_t e = 0; e < G_N_ELEMENTS(encs); e++) {
            if (!xbzrle_encoder_select(encs[e])) {
                continue;
            }
            len = xbzrle_encode_buffer(old, page, PAGE, enc, PAGE);
            fuzz_check(len == rlen && (len <= 0 || !memcmp(enc, ref, len)),
                       "encoders disagree");
        }
        if (rlen > 0) {
            memcpy(again, old, PAGE);
            fuzz_check(xbzrle_decode_buffer(ref, rlen, again, PAGE) >= 0 &&
                           !memcmp(again, page, PAGE),
                       "re-encoded delta does not round-trip");
        } else {
            fuzz_check(rlen == -1 || !memcmp(old, page, PAGE),
                       "empty delta for a changed page");
        }
    }
    g_free(buf);
    return ret;
}

/* fuzz_one() for the driver: 0 when the delta decoded. */
static int fuzz_input(const uint8_t *data, size_t size)
{
    return fuzz_one(data, size) >= 0 ? 0 : 1;
}

/* Seeds: valid deltas of several shapes (old page selector first). */
static GByteArray *fuzz_seed(unsigned kind)
{
    GByteArray *b = g_byte_array_new();
    uint8_t old[PAGE], new[PAGE], enc[PAGE];
    uint8_t sel = kind * 37;
    int len;

    fuzz_old_page(old, sel);
    memcpy(new, old, PAGE);
    switch (kind) {
    case 0: /* first byte */
        new[0] ^= 1;
        break;
    case 1: /* last byte: two-byte zrun */
        new[PAGE - 1] ^= 0xff;
        break;
    case 2: /* one 8-byte word per 512 bytes */
        for (int i = 0; i < PAGE; i += 512) {
            memset(new + i + 40, 0x77, 8);
        }
        break;
    default: /* a long changed run: two-byte nzrun */
        for (int i = 100; i < 900; i++) {
            new[i] ^= 0x3c;
        }
        break;
    }
    len = xbzrle_encode_buffer_plain(old, new, PAGE, enc, PAGE);
    g_assert(len > 0);
    g_byte_array_append(b, &sel, 1);
    g_byte_array_append(b, enc, len);
    return b;
}

static void fuzz_mutate(GRand *r, GByteArray *b)
{
    int n = g_rand_int_range(r, 1, 5);

    for (int i = 0; i < n && b->len > 1; i++) {
        guint at = g_rand_int_range(r, 1, b->len);

        switch (g_rand_int_range(r, 0, 5)) {
        case 0:
            b->data[at] = g_rand_int(r);
            break;
        case 1:
            b->data[at] ^= 1u << g_rand_int_range(r, 0, 8);
            break;
        case 2:
            g_byte_array_set_size(b, at); /* truncate */
            break;
        case 3: {
            static const uint8_t edge[] = {0x00, 0x7f, 0x80, 0xff, 0x1f, 0x20};

            b->data[at] = edge[g_rand_int_range(r, 0, G_N_ELEMENTS(edge))];
            break;
        }
        default: {
            uint8_t byte = g_rand_int(r);

            g_byte_array_append(b, &byte, 1);
            memmove(b->data + at + 1, b->data + at, b->len - at - 1);
            b->data[at] = byte;
            break;
        }
        }
    }
}

const FuzzDriver fuzz_driver = {
    .name = "fuzz-xbzrle",
    .input = fuzz_input,
    .taken = "decoded",
    .seed = fuzz_seed,
    .n_seeds = 4,
    .rand_seed = 0x8b2,
    .iterations = 100000,
    .mutate = fuzz_mutate,
};
