/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * ram-compress.c: the compressed-page codec and the compression
 * statistics (see ram-compress.h).
 *
 * Each page is its own zlib stream: the z_stream is reset before every
 * page, so a page decodes without any other, and the destination may
 * inflate pages on any of its threads in any order.
 */
#include "qemu/osdep.h"
#include "qemu/bswap.h"
#include "qemu/buffer-zero.h"
#include "ram-compress.h"
#include "ram-format.h"

G_STATIC_ASSERT(RAM_COMPRESS_MAX_LEN == 4110 || TARGET_PAGE_SIZE != 4096);

bool ram_compress_init(z_stream *zs, int level)
{
    memset(zs, 0, sizeof(*zs));
    return deflateInit(zs, level) == Z_OK;
}

bool ram_decompress_init(z_stream *zs)
{
    memset(zs, 0, sizeof(*zs));
    return inflateInit(zs) == Z_OK;
}

void ram_compress_end(z_stream *zs)
{
    if (zs->state) {
        deflateEnd(zs);
    }
}

void ram_decompress_end(z_stream *zs)
{
    if (zs->state) {
        inflateEnd(zs);
    }
}

ssize_t ram_compress_page(z_stream *zs, const uint8_t *page, uint8_t *out,
                          size_t out_len)
{
    if (deflateReset(zs) != Z_OK) {
        return -1;
    }
    zs->next_in = (Bytef *)page;
    zs->avail_in = TARGET_PAGE_SIZE;
    zs->next_out = out;
    zs->avail_out = out_len;
    if (deflate(zs, Z_FINISH) != Z_STREAM_END) {
        return -1;
    }
    return zs->next_out - out;
}

int ram_decompress_page(z_stream *zs, const uint8_t *in, size_t len,
                        uint8_t *page)
{
    int err;

    if (inflateReset(zs) != Z_OK) {
        return -1;
    }
    zs->next_in = (Bytef *)in;
    zs->avail_in = len;
    zs->next_out = page;
    zs->avail_out = TARGET_PAGE_SIZE; /* the bound on every write */
    err = inflate(zs, Z_FINISH);
    if (err != Z_STREAM_END || zs->total_out != TARGET_PAGE_SIZE) {
        return -1;
    }
    return 0;
}

ssize_t ram_compress_record(z_stream *zs, uint64_t offset, const uint8_t *page,
                            uint8_t *out, bool *zero)
{
    ssize_t len;

    *zero = buffer_is_zero(page, TARGET_PAGE_SIZE);
    if (*zero) {
        stq_be_p(out, offset | RAM_SAVE_FLAG_ZERO | RAM_SAVE_FLAG_CONTINUE);
        out[RAM_RECORD_HEADER_BYTES] = 0;
        return RAM_RECORD_HEADER_BYTES + RAM_ZERO_FILL_BYTES;
    }
    len = ram_compress_page(
        zs, page, out + RAM_RECORD_HEADER_BYTES + RAM_COMPRESS_LEN_BYTES,
        RAM_COMPRESS_MAX_LEN);
    if (len < 0) {
        return -1;
    }
    stq_be_p(out,
             offset | RAM_SAVE_FLAG_COMPRESS_PAGE | RAM_SAVE_FLAG_CONTINUE);
    stl_be_p(out + RAM_RECORD_HEADER_BYTES, len);
    return RAM_RECORD_HEADER_BYTES + RAM_COMPRESS_LEN_BYTES + len;
}

/* ---- statistics ---- */

static RAMCompressStats stats;

static void stats_set_double(double *d, double v)
{
    uint64_t bits;

    memcpy(&bits, &v, sizeof(bits));
    __atomic_store_n((uint64_t *)d, bits, __ATOMIC_RELAXED);
}

static double stats_get_double(double *d)
{
    uint64_t bits = __atomic_load_n((uint64_t *)d, __ATOMIC_RELAXED);
    double v;

    memcpy(&v, &bits, sizeof(v));
    return v;
}

void ram_compress_stats_get(RAMCompressStats *out)
{
    out->busy = __atomic_load_n(&stats.busy, __ATOMIC_RELAXED);
    out->compressed_size =
        __atomic_load_n(&stats.compressed_size, __ATOMIC_RELAXED);
    out->busy_rate = stats_get_double(&stats.busy_rate);
    out->compression_rate = stats_get_double(&stats.compression_rate);
}

void ram_compress_stats_reset(void)
{
    ram_compress_stats_set_rates(0, 0);
    __atomic_store_n(&stats.busy, 0, __ATOMIC_RELAXED);
    __atomic_store_n(&stats.compressed_size, 0, __ATOMIC_RELAXED);
}

void ram_compress_stats_add(uint64_t busy, uint64_t size)
{
    __atomic_add_fetch(&stats.busy, busy, __ATOMIC_RELAXED);
    __atomic_add_fetch(&stats.compressed_size, size, __ATOMIC_RELAXED);
}

void ram_compress_stats_set_rates(double busy_rate, double compression_rate)
{
    stats_set_double(&stats.busy_rate, busy_rate);
    stats_set_double(&stats.compression_rate, compression_rate);
}
