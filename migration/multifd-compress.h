/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * multifd-compress.h (private to migration/): multifd-compression zlib
 * and zstd as QEMU 7.2 uses them.  Each channel owns one compressor (one
 * deflate / zstd stream for the whole migration) or one decompressor;
 * every packet's payload is the pages compressed and flushed, so it ends
 * on a byte boundary but cannot be decoded without the earlier packets
 * of its channel.
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

/*
 * Compress the n pages of iov and flush; *out points at the payload
 * (valid until the next call).  False with errp set.
 */
bool multifd_compress(MultiFDCompressor *mc, const struct iovec *iov, size_t n,
                      const struct iovec **out, Error **errp);

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

/* Free (NULL is fine). */
void multifd_decompressor_free(MultiFDDecompressor *md);

#endif /* MIGRATION_MULTIFD_COMPRESS_H */
