/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * bufferiszero.c: buffer_is_zero with run-time SIMD selection (see
 * qemu/buffer-zero.h).
 *
 * Every implementation has the same shape:
 *   1. short buffers go to the scalar code;
 *   2. the first and last vector are loaded unaligned (they may overlap
 *      the aligned body; that is harmless for an OR);
 *   3. the aligned body is ORed four vectors at a time, testing the
 *      accumulator once per four so a non-zero page exits early.
 * No load ever touches a byte outside [buf, buf + len).
 */
#include "qemu/osdep.h"
#include "qemu/buffer-zero.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define BUFFER_ZERO_X86 1
#endif

typedef bool (*BufferZeroFn)(const void *buf, size_t len);

static bool buffer_zero_scalar(const void *buf, size_t len)
{
    const unsigned char *p = buf;
    const unsigned char *end = p + len;
    const unsigned char *aligned_end;
    uint64_t head, tail, acc;

    if (len < 8) {
        unsigned char b = 0;

        while (p < end) {
            b |= *p++;
        }
        return b == 0;
    }
    memcpy(&head, p, 8);
    memcpy(&tail, end - 8, 8);
    acc = head | tail;
    if (acc) {
        return false;
    }
    /* aligned words strictly inside the buffer */
    p = (const unsigned char *)QEMU_ALIGN_UP((uintptr_t)p, 8);
    aligned_end = (const unsigned char *)QEMU_ALIGN_DOWN((uintptr_t)end, 8);
    for (; p + 32 <= aligned_end; p += 32) {
        const uint64_t *w = (const uint64_t *)p;

        if (w[0] | w[1] | w[2] | w[3]) {
            return false;
        }
    }
    for (; p < aligned_end; p += 8) {
        acc |= *(const uint64_t *)p;
    }
    return acc == 0;
}

#ifdef BUFFER_ZERO_X86

static inline bool sse2_is_zero(__m128i v)
{
    return _mm_movemask_epi8(_mm_cmpeq_epi8(v, _mm_setzero_si128())) == 0xffff;
}

/* SSE2 is part of the x86-64 baseline: no target attribute needed. */
static bool buffer_zero_sse2(const void *buf, size_t len)
{
    const char *p = buf;
    const char *end = p + len;
    const __m128i *v, *vend;
    __m128i acc;

    if (len < 64) {
        return buffer_zero_scalar(buf, len);
    }
    acc = _mm_or_si128(_mm_loadu_si128((const __m128i *)p),
                       _mm_loadu_si128((const __m128i *)(end - 16)));
    v = (const __m128i *)QEMU_ALIGN_UP((uintptr_t)p, 16);
    vend = (const __m128i *)QEMU_ALIGN_DOWN((uintptr_t)end, 16);
    for (; v + 4 <= vend; v += 4) {
        acc = _mm_or_si128(acc, _mm_or_si128(_mm_or_si128(v[0], v[1]),
                                             _mm_or_si128(v[2], v[3])));
        if (!sse2_is_zero(acc)) {
            return false;
        }
    }
    for (; v < vend; v++) {
        acc = _mm_or_si128(acc, v[0]);
    }
    return sse2_is_zero(acc);
}

static bool __attribute__((target("avx2")))
buffer_zero_avx2(const void *buf, size_t len)
{
    const char *p = buf;
    const char *end = p + len;
    const __m256i *v, *vend;
    __m256i acc;

    if (len < 128) {
        return buffer_zero_sse2(buf, len);
    }
    acc = _mm256_or_si256(_mm256_loadu_si256((const __m256i *)p),
                          _mm256_loadu_si256((const __m256i *)(end - 32)));
    v = (const __m256i *)QEMU_ALIGN_UP((uintptr_t)p, 32);
    vend = (const __m256i *)QEMU_ALIGN_DOWN((uintptr_t)end, 32);
    for (; v + 4 <= vend; v += 4) {
        acc =
            _mm256_or_si256(acc, _mm256_or_si256(_mm256_or_si256(v[0], v[1]),
                                                 _mm256_or_si256(v[2], v[3])));
        if (!_mm256_testz_si256(acc, acc)) {
            return false;
        }
    }
    for (; v < vend; v++) {
        acc = _mm256_or_si256(acc, v[0]);
    }
    return _mm256_testz_si256(acc, acc);
}

#endif /* BUFFER_ZERO_X86 */

typedef struct BufferZeroImpl {
    const char *name;
    BufferZeroFn fn;
    bool (*supported)(void);
} BufferZeroImpl;

static bool cpu_always(void)
{
    return true;
}

#ifdef BUFFER_ZERO_X86
static bool cpu_has_avx2(void)
{
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2");
}
#endif

/* Best first. */
static const BufferZeroImpl buffer_zero_impls[] = {
#ifdef BUFFER_ZERO_X86
    {"avx2", buffer_zero_avx2, cpu_has_avx2},
    {"sse2", buffer_zero_sse2, cpu_always},
#endif
    {"scalar", buffer_zero_scalar, cpu_always},
};

/*
 * The chosen implementation.  Written once by the first caller (every
 * racing first caller computes the same value) or by
 * buffer_is_zero_select; read with relaxed atomics.
 */
static const BufferZeroImpl *buffer_zero_current;

static const BufferZeroImpl *buffer_zero_choose(void)
{
    const BufferZeroImpl *impl =
        __atomic_load_n(&buffer_zero_current, __ATOMIC_RELAXED);
    size_t i;

    if (impl) {
        return impl;
    }
    for (i = 0; i < ARRAY_SIZE(buffer_zero_impls); i++) {
        if (buffer_zero_impls[i].supported()) {
            impl = &buffer_zero_impls[i];
            break;
        }
    }
    __atomic_store_n(&buffer_zero_current, impl, __ATOMIC_RELAXED);
    return impl;
}

bool buffer_is_zero(const void *buf, size_t len)
{
    const BufferZeroImpl *impl =
        __atomic_load_n(&buffer_zero_current, __ATOMIC_RELAXED);

    if (G_UNLIKELY(!impl)) {
        impl = buffer_zero_choose();
    }
    return impl->fn(buf, len);
}

const char *buffer_is_zero_impl(void)
{
    return buffer_zero_choose()->name;
}

bool buffer_is_zero_select(const char *name)
{
    size_t i;

    for (i = 0; i < ARRAY_SIZE(buffer_zero_impls); i++) {
        if (!strcmp(buffer_zero_impls[i].name, name)) {
            if (!buffer_zero_impls[i].supported()) {
                return false;
            }
            __atomic_store_n(&buffer_zero_current, &buffer_zero_impls[i],
                             __ATOMIC_RELAXED);
            return true;
        }
    }
    return false;
}
