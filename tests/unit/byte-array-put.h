/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * byte-array-put.h: append big-endian integers and counted strings to a
 * GByteArray, for tests and fuzz seeds that build migration data (the
 * stream's, return path's and mapped-ram header's byte order).
 */
#ifndef TESTS_BYTE_ARRAY_PUT_H
#define TESTS_BYTE_ARRAY_PUT_H

#include "qemu/bswap.h"

/* Appends v (1 byte). */
static inline void byte_array_put8(GByteArray *b, uint8_t v)
{
    g_byte_array_append(b, &v, 1);
}

/* Appends v as 2 big-endian bytes. */
static inline void byte_array_put_be16(GByteArray *b, uint16_t v)
{
    uint8_t x[2];

    stw_be_p(x, v);
    g_byte_array_append(b, x, 2);
}

/* Appends v as 4 big-endian bytes. */
static inline void byte_array_put_be32(GByteArray *b, uint32_t v)
{
    uint8_t x[4];

    stl_be_p(x, v);
    g_byte_array_append(b, x, 4);
}

/* Appends v as 8 big-endian bytes. */
static inline void byte_array_put_be64(GByteArray *b, uint64_t v)
{
    uint8_t x[8];

    stq_be_p(x, v);
    g_byte_array_append(b, x, 8);
}

/* Appends s (under 256 bytes) as a length byte and its bytes. */
static inline void byte_array_put_str8(GByteArray *b, const char *s)
{
    byte_array_put8(b, strlen(s));
    g_byte_array_append(b, (const uint8_t *)s, strlen(s));
}

#endif
