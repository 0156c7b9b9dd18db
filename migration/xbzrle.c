/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * xbzrle.c: the XBZRLE encoder and decoder (format in xbzrle.h).
 *
 * Encoders.  The plain one walks the two pages a word at a time and
 * byte by byte at run edges.  The vectorised ones (x86: AVX2, SSE2)
 * split the work in two: first they compare the pages 32 (16) bytes at
 * a time and build a bitmap with one bit per changed byte (64 words for
 * a 4 KiB page, no branch per byte), then they walk the bitmap's runs
 * with count-trailing-zeros, so a page with a few changed bytes costs
 * the comparison and a handful of instructions per run.  All produce the
 * same bytes: the runs are maximal, so the encoding of a pair of pages
 * is unique.  The best one the CPU has is picked at the first call.
 *
 * The decoder follows QEMU 7.2's acceptance rules exactly (what it
 * refuses, we refuse), and checks every length against both the input
 * and the page before it copies.
 */
#include "qemu/osdep.h"
#include "xbzrle.h"

#if defined(__x86_64__)
#include <immintrin.h>
#define XBZRLE_X86 1
#endif

/* Largest length a run can have: two ULEB128 bytes. */
#define XBZRLE_MAX_RUN 0x3fff
/* Pages up to this size go through the bitmap encoders. */
#define XBZRLE_BITMAP_MAX_BYTES (16 * 1024)
#define XBZRLE_BITMAP_WORDS (XBZRLE_BITMAP_MAX_BYTES / 64)

typedef int (*XbzrleEncodeFn)(const uint8_t *old_buf, const uint8_t *new_buf,
                              int slen, uint8_t *dst, int dlen);

static inline int xbzrle_uleb_len(uint32_t v)
{
    return v < 0x80 ? 1 : 2;
}

static inline int xbzrle_uleb_put(uint8_t *p, uint32_t v)
{
    if (v < 0x80) {
        p[0] = v;
        return 1;
    }
    p[0] = (v & 0x7f) | 0x80;
    p[1] = v >> 7;
    return 2;
}

/*
 * Append one pair: a run of z unchanged bytes, then the n bytes at src.
 * False (nothing written) when it does not fit in dst[*d, dlen).
 */
static inline bool xbzrle_put_pair(uint8_t *dst, int *d, int dlen, int z,
                                   const uint8_t *src, int n)
{
    int need = xbzrle_uleb_len(z) + xbzrle_uleb_len(n) + n;

    if (need > dlen - *d) {
        return false;
    }
    *d += xbzrle_uleb_put(dst + *d, z);
    *d += xbzrle_uleb_put(dst + *d, n);
    memcpy(dst + *d, src, n);
    *d += n;
    return true;
}

static inline uint64_t xbzrle_ld64(const uint8_t *p)
{
    uint64_t v;

    memcpy(&v, p, sizeof(v));
    return v;
}

/* Does the word have a zero byte (an unchanged byte, for an XOR)? */
static inline bool xbzrle_has_zero_byte(uint64_t x)
{
    return ((x - 0x0101010101010101ULL) & ~x & 0x8080808080808080ULL) != 0;
}

int xbzrle_encode_buffer_plain(const uint8_t *old_buf, const uint8_t *new_buf,
                               int slen, uint8_t *dst, int dlen)
{
    int i = 0, d = 0;

    g_assert(slen >= 0 && slen <= XBZRLE_MAX_RUN);
    while (i < slen) {
        int zstart = i, nstart;

        while (i + 8 <= slen &&
               xbzrle_ld64(old_buf + i) == xbzrle_ld64(new_buf + i)) {
            i += 8;
        }
        while (i < slen && old_buf[i] == new_buf[i]) {
            i++;
        }
        if (i == slen) {
            break; /* an unchanged tail is not encoded */
        }
        nstart = i;
        while (i + 8 <= slen &&
               !xbzrle_has_zero_byte(xbzrle_ld64(old_buf + i) ^
                                     xbzrle_ld64(new_buf + i))) {
            i += 8;
        }
        while (i < slen && old_buf[i] != new_buf[i]) {
            i++;
        }
        if (!xbzrle_put_pair(dst, &d, dlen, nstart - zstart, new_buf + nstart,
                             i - nstart)) {
            return -1;
        }
    }
    return d;
}

#ifdef XBZRLE_X86

/* First set bit of the bitmap at or after pos; nbits if none. */
static inline int xbzrle_next_set(const uint64_t *w, int words, int pos)
{
    int k = pos >> 6;
    uint64_t x;

    if (k >= words) {
        return words * 64;
    }
    x = w[k] & (~0ULL << (pos & 63));
    while (!x) {
        if (++k == words) {
            return words * 64;
        }
        x = w[k];
    }
    return k * 64 + __builtin_ctzll(x);
}

/* First clear bit of the bitmap at or after pos; nbits if none. */
static inline int xbzrle_next_clear(const uint64_t *w, int words, int pos)
{
    int k = pos >> 6;
    uint64_t x;

    if (k >= words) {
        return words * 64;
    }
    x = ~w[k] & (~0ULL << (pos & 63));
    while (!x) {
        if (++k == words) {
            return words * 64;
        }
        x = ~w[k];
    }
    return k * 64 + __builtin_ctzll(x);
}

/* Encode from a bitmap of changed bytes (one bit per byte of new_buf). */
static int xbzrle_encode_bitmap(const uint64_t *diff, int words,
                                const uint8_t *new_buf, uint8_t *dst, int dlen)
{
    int nbits = words * 64;
    int pos = 0, d = 0;

    while (pos < nbits) {
        int nstart = xbzrle_next_set(diff, words, pos);
        int nend;

        if (nstart == nbits) {
            break;
        }
        nend = xbzrle_next_clear(diff, words, nstart);
        if (!xbzrle_put_pair(dst, &d, dlen, nstart - pos, new_buf + nstart,
                             nend - nstart)) {
            return -1;
        }
        pos = nend;
    }
    return d;
}

static int __attribute__((target("avx2")))
xbzrle_encode_avx2(const uint8_t *old_buf, const uint8_t *new_buf, int slen,
                   uint8_t *dst, int dlen)
{
    uint64_t diff[XBZRLE_BITMAP_WORDS];
    int words = slen / 64;
    uint64_t any = 0;

    if (slen % 64 || slen > XBZRLE_BITMAP_MAX_BYTES) {
        return xbzrle_encode_buffer_plain(old_buf, new_buf, slen, dst, dlen);
    }
    for (int k = 0; k < words; k++) {
        const uint8_t *o = old_buf + k * 64, *n = new_buf + k * 64;
        __m256i e0 = _mm256_cmpeq_epi8(_mm256_loadu_si256((const __m256i *)o),
                                       _mm256_loadu_si256((const __m256i *)n));
        __m256i e1 =
            _mm256_cmpeq_epi8(_mm256_loadu_si256((const __m256i *)(o + 32)),
                              _mm256_loadu_si256((const __m256i *)(n + 32)));
        uint64_t eq = (uint32_t)_mm256_movemask_epi8(e0) |
                      (uint64_t)(uint32_t)_mm256_movemask_epi8(e1) << 32;

        diff[k] = ~eq;
        any |= diff[k];
    }
    return any ? xbzrle_encode_bitmap(diff, words, new_buf, dst, dlen) : 0;
}

static inline uint64_t xbzrle_sse2_eq16(const uint8_t *o, const uint8_t *n)
{
    __m128i e = _mm_cmpeq_epi8(_mm_loadu_si128((const __m128i *)o),
                               _mm_loadu_si128((const __m128i *)n));

    return (uint16_t)_mm_movemask_epi8(e);
}

/* SSE2 is part of the x86-64 baseline: no target attribute needed. */
static int xbzrle_encode_sse2(const uint8_t *old_buf, const uint8_t *new_buf,
                              int slen, uint8_t *dst, int dlen)
{
    uint64_t diff[XBZRLE_BITMAP_WORDS];
    int words = slen / 64;
    uint64_t any = 0;

    if (slen % 64 || slen > XBZRLE_BITMAP_MAX_BYTES) {
        return xbzrle_encode_buffer_plain(old_buf, new_buf, slen, dst, dlen);
    }
    for (int k = 0; k < words; k++) {
        const uint8_t *o = old_buf + k * 64, *n = new_buf + k * 64;
        uint64_t eq = xbzrle_sse2_eq16(o, n) |
                      xbzrle_sse2_eq16(o + 16, n + 16) << 16 |
                      xbzrle_sse2_eq16(o + 32, n + 32) << 32 |
                      xbzrle_sse2_eq16(o + 48, n + 48) << 48;

        diff[k] = ~eq;
        any |= diff[k];
    }
    return any ? xbzrle_encode_bitmap(diff, words, new_buf, dst, dlen) : 0;
}

static bool xbzrle_cpu_has_avx2(void)
{
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2");
}

#endif /* XBZRLE_X86 */

static bool xbzrle_cpu_always(void)
{
    return true;
}

typedef struct XbzrleEncoder {
    const char *name;
    XbzrleEncodeFn fn;
    bool (*supported)(void);
} XbzrleEncoder;

/* Best first. */
static const XbzrleEncoder xbzrle_encoders[] = {
#ifdef XBZRLE_X86
    {"avx2", xbzrle_encode_avx2, xbzrle_cpu_has_avx2},
    {"sse2", xbzrle_encode_sse2, xbzrle_cpu_always},
#endif
    {"plain", xbzrle_encode_buffer_plain, xbzrle_cpu_always},
};

/* The chosen encoder; NULL until the first call (then set, idempotent). */
static const XbzrleEncoder *xbzrle_encoder;

static const XbzrleEncoder *xbzrle_encoder_get(void)
{
    const XbzrleEncoder *e = __atomic_load_n(&xbzrle_encoder, __ATOMIC_ACQUIRE);

    if (!e) {
        for (size_t i = 0; i < G_N_ELEMENTS(xbzrle_encoders); i++) {
            if (xbzrle_encoders[i].supported()) {
                e = &xbzrle_encoders[i];
                break;
            }
        }
        __atomic_store_n(&xbzrle_encoder, e, __ATOMIC_RELEASE);
    }
    return e;
}

int xbzrle_encode_buffer(const uint8_t *old_buf, const uint8_t *new_buf,
                         int slen, uint8_t *dst, int dlen)
{
    return xbzrle_encoder_get()->fn(old_buf, new_buf, slen, dst, dlen);
}

const char *xbzrle_encoder_name(void)
{
    return xbzrle_encoder_get()->name;
}

bool xbzrle_encoder_select(const char *name)
{
    for (size_t i = 0; i < G_N_ELEMENTS(xbzrle_encoders); i++) {
        if (!strcmp(xbzrle_encoders[i].name, name) &&
            xbzrle_encoders[i].supported()) {
            __atomic_store_n(&xbzrle_encoder, &xbzrle_encoders[i],
                             __ATOMIC_RELEASE);
            return true;
        }
    }
    return false;
}

/*
 * One ULEB128 length of at most two bytes from p (avail >= 2 bytes
 * readable, checked by the caller).  Returns its size or -1.
 */
static inline int xbzrle_uleb_get(const uint8_t *p, uint32_t *v)
{
    if (!(p[0] & 0x80)) {
        *v = p[0];
        return 1;
    }
    if (p[1] & 0x80) {
        return -1;
    }
    *v = (p[0] & 0x7f) | ((uint32_t)p[1] << 7);
    return 2;
}

int xbzrle_decode_buffer(const uint8_t *src, int slen, uint8_t *dst, int dlen)
{
    int i = 0, d = 0;
    uint32_t count;
    int n;

    while (i < slen) {
        /* unchanged run: at least its length and the next one remain */
        if (slen - i < 2) {
            return -1;
        }
        n = xbzrle_uleb_get(src + i, &count);
        if (n < 0 || (i && !count)) {
            return -1;
        }
        i += n;
        if (count > (uint32_t)(dlen - d)) {
            return -1;
        }
        d += count;
        /* changed run: its length and at least one byte */
        if (slen - i < 2) {
            return -1;
        }
        n = xbzrle_uleb_get(src + i, &count);
        if (n < 0 || !count) {
            return -1;
        }
        i += n;
        if (count > (uint32_t)(dlen - d) || count > (uint32_t)(slen - i)) {
            return -1;
        }
        memcpy(dst + d, src + i, count);
        d += count;
        i += count;
    }
    return d;
}
