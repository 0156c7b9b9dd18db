/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * memcpy-nt.c: copies with non-temporal stores (see qemu/memcpy-nt.h).
 *
 * The SSE2 loop moves one 64-byte line per iteration: four unaligned
 * 16-byte loads, then four streaming stores, so the write-combining
 * buffer of the line fills completely and is written out without the
 * line ever being read.
 */
#include "qemu/osdep.h"
#include "qemu/memcpy-nt.h"

#if defined(__SSE2__)
#include <emmintrin.h>

void memcpy_nt(void *dst, const void *src, size_t len)
{
    __m128i *d = dst;
    const __m128i *s = src;
    size_t n = len / sizeof(__m128i);

    for (size_t i = 0; i < n; i += 4) {
        __m128i a = _mm_loadu_si128(s + i);
        __m128i b = _mm_loadu_si128(s + i + 1);
        __m128i c = _mm_loadu_si128(s + i + 2);
        __m128i e = _mm_loadu_si128(s + i + 3);

        _mm_stream_si128(d + i, a);
        _mm_stream_si128(d + i + 1, b);
        _mm_stream_si128(d + i + 2, c);
        _mm_stream_si128(d + i + 3, e);
    }
}

void memcpy_nt_fence(void)
{
    _mm_sfence();
}

#else

void memcpy_nt(void *dst, const void *src, size_t len)
{
    memcpy(dst, src, len);
}

void memcpy_nt_fence(void)
{
    __atomic_signal_fence(__ATOMIC_SEQ_CST);
}

#endif
