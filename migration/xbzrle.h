/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * xbzrle.h (private to migration/): XBZRLE, the delta encoding of a page
 * against the copy the destination already has, in QEMU 7.2's format.
 *
 * The delta is taken over the XOR of the old and the new page: it is a
 * list of pairs
 *
 *   zrun  nzrun
 *
 *   zrun   ULEB128 length of a run of unchanged bytes (0 only for the
 *          first pair, when the page starts with a changed byte)
 *   nzrun  ULEB128 length n >= 1 of a run of changed bytes, followed by
 *          the n new bytes
 *
 * An unchanged tail is not encoded.  Lengths are below 2^14 (pages are
 * 4 KiB), so a ULEB128 takes one or two bytes (7 bits per byte, low
 * bits first, 0x80 set on every byte but the last); a decoder refuses a
 * third byte, as QEMU's does.  On the wire (ram-format.h) a record with
 * flag XBZRLE carries, after the header word and the optional block
 * name, u8 XBZRLE_ENCODING_FLAG, be16 length, then the encoded bytes.
 *
 * Nothing here keeps state; the source's cache is page-cache.h, the
 * decision per page ram-xbzrle.h.
 */
#ifndef MIGRATION_XBZRLE_H
#define MIGRATION_XBZRLE_H

#include "qemu/osdep.h"

/* The encoding byte after the record header (QEMU's ENCODING_FLAG_XBZRLE). */
#define XBZRLE_ENCODING_FLAG 0x1
/* Bytes of that byte and the be16 length that follows it. */
#define XBZRLE_RECORD_HEADER_BYTES 3

/*
 * Encode new_buf against old_buf (both slen bytes) into dst (room for
 * dlen bytes).  Returns the encoded length, 0 when the buffers are equal
 * (nothing to send), or -1 when the encoding does not fit in dlen (the
 * caller sends the page whole: "overflow").  dst is undefined after -1.
 * Uses the best encoder the CPU has (see xbzrle_encoder_name()).
 */
int xbzrle_encode_buffer(const uint8_t *old_buf, const uint8_t *new_buf,
                         int slen, uint8_t *dst, int dlen);

/*
 * The same with a plain word-at-a-time loop: the reference the
 * vectorised encoders are tested and measured against.
 */
int xbzrle_encode_buffer_plain(const uint8_t *old_buf, const uint8_t *new_buf,
                               int slen, uint8_t *dst, int dlen);

/* Name of the encoder xbzrle_encode_buffer() uses: "avx2", "sse2", "plain". */
const char *xbzrle_encoder_name(void);

/*
 * Force the encoder by name (tests and benchmarks); false if the name
 * is unknown or the CPU lacks it.  Not thread-safe: call before use.
 */
bool xbzrle_encoder_select(const char *name);

/*
 * Apply the slen-byte delta src to the dlen-byte page dst.  Returns the
 * offset just past the last byte written (<= dlen), or -1 when src is
 * not a valid encoding or describes bytes past dlen: a zero-length run
 * where one is not allowed, a ULEB128 longer than two bytes or cut off
 * by the end of src, a run overrunning the page or src.  Never writes
 * outside dst[0, dlen); on -1 a prefix of the runs may have been applied.
 */
int xbzrle_decode_buffer(const uint8_t *src, int slen, uint8_t *dst, int dlen);

#endif /* MIGRATION_XBZRLE_H */
