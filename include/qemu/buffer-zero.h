/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * buffer-zero.h: fast "is this buffer all zero bytes" (zero-page
 * detection for RAM migration).
 *
 * The implementation is picked once at run time from what the CPU
 * supports (AVX2, else SSE2 on x86-64, else portable C); callers see
 * one function and no #ifdefs.
 */
#ifndef QEMU_BUFFER_ZERO_H
#define QEMU_BUFFER_ZERO_H

#include "qemu/osdep.h"

/*
 * True if all len bytes at buf are zero (true for len 0).  Reads only
 * [buf, buf + len); any alignment; thread-safe; does not block.
 */
bool buffer_is_zero(const void *buf, size_t len);

/* Name of the implementation in use: "avx2", "sse2" or "scalar". */
const char *buffer_is_zero_impl(void);

/*
 * For tests and benchmarks: switch to the named implementation.  false
 * (and nothing changes) if it is unknown or this CPU lacks it.  Not
 * thread-safe against concurrent buffer_is_zero callers' choice (they
 * keep getting a correct answer either way).
 */
bool buffer_is_zero_select(const char *name);

#endif /* QEMU_BUFFER_ZERO_H */
