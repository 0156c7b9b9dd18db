/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * multifd-compress.h (private to migration/): multifd-compression zlib
 * and zstd as QEMU 7.2 uses them.  Each channel owns one compressor (one
 * deflate / zstd stream for the whole migration) or one decompressor;
 * every packet's payload is the pages compressed and flushed, so it ends
 * on a byte boundary but cannot be decoded without the earlier packets
 * of its channel.  Incompressible pages go uncompressed instead (see
 * multifd-compress.c): zstd frames of raw blocks, deflate level 0; still
 * one valid zstd / deflate stream.
 */
#ifndef MIGRATION_MULTIFD_COMPRESS_H
#define MIGRATION_MULTIFD_COMPRESS_H

#include "qemu/osdep.h"
#include "qapi/error.h"
#include "migration/options.h"

typedef struct MultiFDCompressor MultiFDCompressor;
typedef struct MultiFDDecompressor MultiFDDecompressor;

/* A stream for method c (zlib or zstd), with its level parameter. */
MultiFDCompressor *multifd_compressor_new(MultiFDCompression c, Error **errp);

/* The most iovecs a payload from multifd_compress() takes. */
#define MULTIFD_COMPRESS_IOV_MAX (MULTIFD_PACKET_PAGES + 8)

/*
 * Compress the n (1..MULTIFD_PACKET_PAGES) pages of iov and flush; the
 * payload is the *outn iovecs at *out, valid until the next call and
 * while the pages are (they may point into them).  False with errp set.
 */
bool multifd_compress(MultiFDCompressor *mc, const struct iovec *iov, size_t n,
                      const struct iovec **out, size_t *outn, Error **errp);

/* Free (NULL is fine). */
void multifd_compressor_free(MultiFDCompressor *mc);

/* The receiving stream for method c. */
MultiFDDecompressor *multifd_decompressor_new(MultiFDCompression c,
                                              Error **errp);

/*
 * Decompress the payload in[0..len) into the n pages at page[] (each
 * TARGET_PAGE_SIZE bytes, written directly); the payload must produce
 * exactly n pages.  False with errp set.
 */
bool multifd_decompress(MultiFDDecompressor *md, const uint8_t *in, size_t len,
                        uint8_t *const *page, size_t n, Error **errp);

/*
 * Tern's zstd sender sends incompressible packets as frames of raw
 * blocks.  When md is between frames and a payload of len bytes for n
 * pages has exactly such a frame's size, this gives the iovecs to read
 * it with (at most MULTIFD_COMPRESS_IOV_MAX): the pages straight into
 * page[], the frame's headers into md.  0 otherwise: read and
 * decompress the payload.
 */
size_t multifd_decompress_raw_iov(MultiFDDecompressor *md, size_t len,
                                  uint8_t *const *page, size_t n,
                                  struct iovec *iov);

/*
 * After reading with multifd_decompress_raw_iov()'s iovecs: were the
 * headers those of a raw frame of n pages (the pages are then placed)?
 * If not, the payload is something else: gather it from the iovecs and
 * multifd_decompress() it.
 */
bool multifd_decompress_raw_check(MultiFDDecompressor *md, size_t n);

/* Free (NULL is fine). */
void multifd_decompressor_free(MultiFDDecompressor *md);

#endif /* MIGRATION_MULTIFD_COMPRESS_H */
