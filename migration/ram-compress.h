/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * ram-compress.h (private to migration/): the "compress" capability's
 * page codec and statistics, QEMU 7.2's format.
 *
 * A compressed page is one RAM record (ram-format.h):
 *
 *   be64  offset | COMPRESS_PAGE 0x100 [| CONTINUE 0x20]
 *   [str8 block name, without CONTINUE]
 *   be32  len      (at most RAM_COMPRESS_MAX_LEN)
 *   len bytes      one complete zlib stream (RFC 1950 header, deflate
 *                  data, adler32) that inflates to exactly one page
 *
 * Zero pages stay ZERO records.  The source (ram-sink-compress.c)
 * compresses on compress-threads worker threads, the destination
 * (ram-load-compress.c) inflates on decompress-threads threads.
 *
 * Threads: the codec functions use only their arguments; each thread
 * owns its z_stream.
 */
#ifndef MIGRATION_RAM_COMPRESS_H
#define MIGRATION_RAM_COMPRESS_H

#include "qemu/osdep.h"
#include <zlib.h>

/*
 * Largest len a destination accepts: zlib's compressBound() of a page
 * (what QEMU 7.2 checks; 4110 for 4 KiB pages).
 */
#define RAM_COMPRESS_MAX_LEN                                                   \
    (TARGET_PAGE_SIZE + (TARGET_PAGE_SIZE >> 12) + (TARGET_PAGE_SIZE >> 14) +  \
     (TARGET_PAGE_SIZE >> 25) + 13)

/* Bytes of the be32 length in front of the zlib stream. */
#define RAM_COMPRESS_LEN_BYTES 4

/*
 * Bytes of a worker's record: header with CONTINUE, length, the zlib
 * stream at its largest.
 */
#define RAM_COMPRESS_RECORD_MAX                                                \
    (8 + RAM_COMPRESS_LEN_BYTES + RAM_COMPRESS_MAX_LEN)

/* Prepare zs for ram_compress_page() at level (0-9); false on failure. */
bool ram_compress_init(z_stream *zs, int level);
/* Prepare zs for ram_decompress_page(); false on failure. */
bool ram_decompress_init(z_stream *zs);
/* Free what the init functions allocated (zeroed zs is fine). */
void ram_compress_end(z_stream *zs);
void ram_decompress_end(z_stream *zs);

/*
 * Compress the TARGET_PAGE_SIZE bytes at page into out (out_len bytes,
 * at least RAM_COMPRESS_MAX_LEN) as one zlib stream.  Returns its
 * length, or -1.
 */
ssize_t ram_compress_page(z_stream *zs, const uint8_t *page, uint8_t *out,
                          size_t out_len);

/*
 * Inflate len bytes at in into page.  0 only when they are one complete
 * zlib stream of exactly TARGET_PAGE_SIZE bytes; -1 otherwise (bad
 * data, a stream that ends early, one that would produce more).  Never
 * writes outside page[0, TARGET_PAGE_SIZE).
 */
int ram_decompress_page(z_stream *zs, const uint8_t *in, size_t len,
                        uint8_t *page);

/*
 * Encode page number offset (bytes) of the current block as a worker
 * does: a ZERO record when page is all zero (*zero set), else a
 * COMPRESS_PAGE record; both with CONTINUE.  Returns the record's
 * length in out (RAM_COMPRESS_RECORD_MAX bytes), or -1 if compression
 * failed.
 */
ssize_t ram_compress_record(z_stream *zs, uint64_t offset, const uint8_t *page,
                            uint8_t *out, bool *zero);

/*
 * query-migrate's "compression" (source), but for its "pages", which is
 * mig_stats.compressed_pages: pages sent uncompressed because every
 * thread was busy (compress-wait-thread off), bytes of compressed
 * records after their header, and the two rates of the last period of
 * about a second.  Relaxed atomics (doubles as their bits); written by
 * the migration thread.
 */
typedef struct RAMCompressStats {
    uint64_t busy;
    uint64_t compressed_size;
    double busy_rate;
    double compression_rate;
} RAMCompressStats;

/* A snapshot of the current (or last) migration's counters. */
void ram_compress_stats_get(RAMCompressStats *out);
/* Zero them (a migration with compress starts). */
void ram_compress_stats_reset(void);
/* Add to the counters (migration thread). */
void ram_compress_stats_add(uint64_t busy, uint64_t size);
/* Set the period's rates (migration thread). */
void ram_compress_stats_set_rates(double busy_rate, double compression_rate);

#endif /* MIGRATION_RAM_COMPRESS_H */
