/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * xbzrle.c: the XBZRLE encoder and decoder (format in xbzrle.h).
 *
 * Encoders.  The plain one walks the two pages a word at a time and
 * byte by byte at run edges.  The vectorised ones (x86: AVX2, SSE2)
 * split the work in two: first they compare the pages 256 (64) bytes
 * at a time, with one test when all of them are equal, and build a
 * bitmap with one bit per changed byte plus a summary bit per 64-byte
 * word that changed; then they walk the runs with count-trailing-zeros,
 * jumping over unchanged words through the summary.  A page with a few
 * changed bytes costs the comparison and a handful of instructions per
 * run (QEMU 7.2's loop, 8 bytes per step, takes about 4.4 times the
 * instructions on such a page: docs/benchmarks.md).  All produce the
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
 * Append one pair: a run of z unchanged bytes, then the n bytes at src
 * (src_end: the end of the buffer src points into).  False (nothing
 * written) when it does not fit in dst[*d, dlen).  A short run is copied
 * as 16 bytes when both buffers have them, which is cheaper than a call
 * to memcpy; the bytes past the run are rewritten by the next pair or
 * lie past the encoded length.
 */
static inline bool xbzrle_put_pair(uint8_t *dst, int *d, int dlen, int z,
                                   const uint8_t *src, const uint8_t *src_end,
                                   int n)
{
    int need = xbzrle_uleb_len(z) + xbzrle_uleb_len(n) + n;
    int at;

    if (need > dlen - *d) {
        return false;
    }
    at = *d + xbzrle_uleb_put(dst + *d, z);
    at += xbzrle_uleb_put(dst + at, n);
    if (n <= 16 && dlen - at >= 16 && src_end - src >= 16) {
        memcpy(dst + at, src, 16);
    } else {
        memcpy(dst + at, src, n);
    }
    *d = at + n;
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
                             new_buf + slen, i - nstart)) {
            return -1;
        }
    }
    return d;
}

#ifdef XBZRLE_X86

#define XBZRLE_SUMMARY_WORDS (XBZRLE_BITMAP_WORDS / 64)

/*
 * The changed bytes of a page: bit i of bits[] set when byte i changed,
 * and bit k of sum[] set when bits[k] is not zero, so the walk jumps
 * over unchanged 64-byte stretches with one count-trailing-zeros.
 */
typedef struct XbzrleDiff {
    uint64_t bits[XBZRLE_BITMAP_WORDS];
    uint64_t sum[XBZRLE_SUMMARY_WORDS];
    int words;
} XbzrleDiff;

/* First set bit at or after pos; words * 64 if none. */
static inline int xbzrle_next_set(const XbzrleDiff *df, int pos)
{
    int k = pos >> 6;
    uint64_t x;

    if (k >= df->words) {
        return df->words * 64;
    }
    x = df->bits[k] & (~0ULL << (pos & 63));
    if (x) {
        return k * 64 + __builtin_ctzll(x);
    }
    k++;
    for (int s = k >> 6; s < XBZRLE_SUMMARY_WORDS && s * 64 < df->words; s++) {
        uint64_t m = df->sum[s];

        if (s == k >> 6) {
            m &= ~0ULL << (k & 63);
        }
        if (m) {
            k = s * 64 + __builtin_ctzll(m);
            return k * 64 + __builtin_ctzll(df->bits[k]);
        }
    }
    return df->words * 64;
}

/* First clear bit at or after pos; words * 64 if none. */
static inline int xbzrle_next_clear(const XbzrleDiff *df, int pos)
{
    int k = pos >> 6;
    uint64_t x;

    if (k >= df->words) {
        return df->words * 64;
    }
    x = ~df->bits[k] & (~0ULL << (pos & 63));
    while (!x) {
        if (++k == df->words) {
            return df->words * 64;
        }
        x = ~df->bits[k];
    }
    return k * 64 + __builtin_ctzll(x);
}

/* Encode from the bitmap of changed bytes of new_buf (slen bytes). */
static int xbzrle_encode_bitmap(const XbzrleDiff *df, const uint8_t *new_buf,
                                int slen, uint8_t *dst, int dlen)
{
    int nbits = df->words * 64;
    int pos = 0, d = 0;

    while (pos < nbits) {
        int nstart = xbzrle_next_set(df, pos);
        int nend;

        if (nstart == nbits) {
            break;
        }
        nend = xbzrle_next_clear(df, nstart);
        if (!xbzrle_put_pair(dst, &d, dlen, nstart - pos, new_buf + nstart,
                             new_buf + slen, nend - nstart)) {
            return -1;
        }
        pos = nend;
    }
    return d;
}

/*
 * Bitmap word of the 64 bytes at o and n (bit i set when byte i
 * changed), with a fast path when all are equal.
 */
static inline uint64_t xbzrle_sse2_block(const uint8_t *o, const uint8_t *n)
{
    __m128i e0 = _mm_cmpeq_epi8(_mm_loadu_si128((const __m128i *)o),
                                _mm_loadu_si128((const __m128i *)n));
    __m128i e1 = _mm_cmpeq_epi8(_mm_loadu_si128((const __m128i *)(o + 16)),
                                _mm_loadu_si128((const __m128i *)(n + 16)));
    __m128i e2 = _mm_cmpeq_epi8(_mm_loadu_si128((const __m128i *)(o + 32)),
                                _mm_loadu_si128((const __m128i *)(n + 32)));
    __m128i e3 = _mm_cmpeq_epi8(_mm_loadu_si128((const __m128i *)(o + 48)),
                                _mm_loadu_si128((const __m128i *)(n + 48)));
    __m128i all = _mm_and_si128(_mm_and_si128(e0, e1), _mm_and_si128(e2, e3));

    if (_mm_movemask_epi8(all) == 0xffff) {
        return 0;
    }
    return ~((uint64_t)_mm_movemask_epi8(e0) |
             (uint64_t)_mm_movemask_epi8(e1) << 16 |
             (uint64_t)_mm_movemask_epi8(e2) << 32 |
             (uint64_t)_mm_movemask_epi8(e3) << 48);
}

/* SSE2 is part of the x86-64 baseline: no target attribute needed. */
static int xbzrle_encode_sse2(const uint8_t *old_buf, const uint8_t *new_buf,
                              int slen, uint8_t *dst, int dlen)
{
    XbzrleDiff df;
    int words = slen / 64;
    uint64_t any = 0;

    if (slen % 64 || slen > XBZRLE_BITMAP_MAX_BYTES) {
        return xbzrle_encode_buffer_plain(old_buf, new_buf, slen, dst, dlen);
    }
    df.words = words;
    for (int s = 0; s < XBZRLE_SUMMARY_WORDS; s++) {
        int end = MIN(words, s * 64 + 64);
        uint64_t sum = 0;

        for (int k = s * 64; k < end; k++) {
            df.bits[k] = xbzrle_sse2_block(old_buf + k * 64, new_buf + k * 64);
            sum |= (uint64_t)(df.bits[k] != 0) << (k & 63);
        }
        df.sum[s] = sum;
        any |= sum;
    }
    return any ? xbzrle_encode_bitmap(&df, new_buf, slen, dst, dlen) : 0;
}

static inline __m256i __attribute__((target("avx2")))
xbzrle_avx2_eq32(const uint8_t *o, const uint8_t *n)
{
    return _mm256_cmpeq_epi8(_mm256_loadu_si256((const __m256i *)o),
                             _mm256_loadu_si256((const __m256i *)n));
}

static inline uint64_t __attribute__((target("avx2")))
xbzrle_avx2_changed64(__m256i e0, __m256i e1)
{
    return ~((uint64_t)(uint32_t)_mm256_movemask_epi8(e0) |
             (uint64_t)(uint32_t)_mm256_movemask_epi8(e1) << 32);
}

/*
 * Bitmap words bits[0..3] of the 256 bytes at o and n; returns their
 * summary bits (bit i set when bits[i] is not zero).  When all 256 bytes
 * are equal (most of a page, in the workloads XBZRLE is for) this costs
 * the loads, the compares and one test.
 */
static inline uint64_t __attribute__((target("avx2")))
xbzrle_avx2_block(const uint8_t *o, const uint8_t *n, uint64_t *bits)
{
    __m256i e0 = xbzrle_avx2_eq32(o, n);
    __m256i e1 = xbzrle_avx2_eq32(o + 32, n + 32);
    __m256i e2 = xbzrle_avx2_eq32(o + 64, n + 64);
    __m256i e3 = xbzrle_avx2_eq32(o + 96, n + 96);
    __m256i e4 = xbzrle_avx2_eq32(o + 128, n + 128);
    __m256i e5 = xbzrle_avx2_eq32(o + 160, n + 160);
    __m256i e6 = xbzrle_avx2_eq32(o + 192, n + 192);
    __m256i e7 = xbzrle_avx2_eq32(o + 224, n + 224);
    __m256i all = _mm256_and_si256(
        _mm256_and_si256(_mm256_and_si256(e0, e1), _mm256_and_si256(e2, e3)),
        _mm256_and_si256(_mm256_and_si256(e4, e5), _mm256_and_si256(e6, e7)));

    if (_mm256_movemask_epi8(all) == -1) {
        memset(bits, 0, 4 * sizeof(*bits));
        return 0;
    }
    bits[0] = xbzrle_avx2_changed64(e0, e1);
    bits[1] = xbzrle_avx2_changed64(e2, e3);
    bits[2] = xbzrle_avx2_changed64(e4, e5);
    bits[3] = xbzrle_avx2_changed64(e6, e7);
    return (uint64_t)(bits[0] != 0) | (uint64_t)(bits[1] != 0) << 1 |
           (uint64_t)(bits[2] != 0) << 2 | (uint64_t)(bits[3] != 0) << 3;
}

static int __attribute__((target("avx2")))
xbzrle_encode_avx2(const uint8_t *old_buf, const uint8_t *new_buf, int slen,
                   uint8_t *dst, int dlen)
{
    XbzrleDiff df;
    int words = slen / 64;
    uint64_t any = 0;

    if (slen % 256 || slen > XBZRLE_BITMAP_MAX_BYTES) {
        return xbzrle_encode_sse2(old_buf, new_buf, slen, dst, dlen);
    }
    df.words = words;
    for (int s = 0; s < XBZRLE_SUMMARY_WORDS; s++) {
        int end = MIN(words, s * 64 + 64);
        uint64_t sum = 0;

        for (int k = s * 64; k < end; k += 4) {
            sum |= xbzrle_avx2_block(old_buf + k * 64, new_buf + k * 64,
                                     df.bits + k)
                   << (k & 63);
        }
        df.sum[s] = sum;
        any |= sum;
    }
    return any ? xbzrle_encode_bitmap(&df, new_buf, slen, dst, dlen) : 0;
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
