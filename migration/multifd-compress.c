/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * multifd-compress.c: zlib and zstd streams of the multifd channels (see
 * multifd-compress.h), on the system's libz and libzstd.
 *
 * zstd on incompressible pages: libzstd at level 1 spends about as much
 * CPU on random data as the socket does, for nothing (it then stores
 * the blocks raw anyway).  So each zstd channel watches its packets:
 * when one saves less than 1/16 of its size, the open frame is ended
 * (with the next packet if it was only flushed) and the following
 * packets are sent as frames of raw blocks, written here (a 9-byte frame
 * header and a 3-byte header per 128 KiB block, RFC 8878 3.1.1) around
 * the guest pages themselves, so they go out with the same writev as
 * multifd-compression none.  Every so often (4 packets, doubling up to
 * 32 while the data stays incompressible) one packet is compressed at
 * the configured level again, as its own frame, to notice data that has
 * become compressible.  Any zstd decoder reads this as one stream of
 * concatenated frames, each ending with the last page of a packet (QEMU
 * 7.2's receiver needs that: it stops a page at a frame's end).
 *
 * zlib the same way, within its one deflate stream: raw packets are
 * deflate level 0 (stored blocks, one copy; deflateParams switches
 * between packets, where nothing is pending), which any inflate reads.
 */
#include "qemu/osdep.h"
#include <zlib.h>
#include <zstd.h>
#include "qemu/bswap.h"
#include "multifd.h"
#include "multifd-compress.h"

/* Raw block size: the format's block maximum, in pages. */
#define ZSTD_RAW_BLOCK_PAGES ((128 * KiB) / TARGET_PAGE_SIZE)
#define ZSTD_RAW_BLOCKS_MAX                                                    \
    DIV_ROUND_UP(MULTIFD_PACKET_PAGES, ZSTD_RAW_BLOCK_PAGES)
/* Frame header: magic, descriptor (single segment, 4-byte content size). */
#define ZSTD_RAW_FRAME_HEADER 9
#define ZSTD_RAW_FRAME_DESCRIPTOR 0xa0
#define ZSTD_BLOCK_HEADER 3
/* Raw packets between two compressed tries: first and largest. */
#define RAW_PROBE_FIRST 4
#define RAW_PROBE_MAX 32

struct MultiFDCompressor {
    MultiFDCompression method;
    z_stream zs;
    ZSTD_CStream *zcs;
    uint8_t *buf;
    size_t size;
    /* zstd: a frame is open (its last packet was flushed, not ended) */
    bool frame_open;
    /* zstd: the last packet did not compress: end the frame now */
    bool closing;
    /* raw packets left before the next try, and their interval */
    unsigned int raw_left, raw_interval;
    /* zlib: the level deflate runs at (0 while raw: stored blocks) */
    int zlib_level;
    uint8_t raw_header[ZSTD_RAW_FRAME_HEADER +
                       ZSTD_BLOCK_HEADER * ZSTD_RAW_BLOCKS_MAX];
    struct iovec out[MULTIFD_COMPRESS_IOV_MAX];
};

struct MultiFDDecompressor {
    MultiFDCompression method;
    z_stream zs;
    ZSTD_DStream *zds;
    /* zstd: the last packet ended a frame (or none came yet) */
    bool frame_start;
    /* zstd: headers of a raw frame read by multifd_decompress_raw_iov() */
    uint8_t raw_header[ZSTD_RAW_FRAME_HEADER +
                       ZSTD_BLOCK_HEADER * ZSTD_RAW_BLOCKS_MAX];
};

MultiFDCompressor *multifd_compressor_new(MultiFDCompression c, Error **errp)
{
    MultiFDCompressor *mc = g_new0(MultiFDCompressor, 1);

    mc->method = c;
    mc->size = MULTIFD_PAYLOAD_MAX;
    mc->buf = g_malloc(mc->size);
    if (c == MULTIFD_COMPRESSION_ZLIB) {
        mc->zlib_level = migrate_multifd_zlib_level();
        if (deflateInit(&mc->zs, mc->zlib_level) != Z_OK) {
            error_setg(errp, "multifd: deflate init failed: %s",
                       mc->zs.msg ? mc->zs.msg : "?");
            g_free(mc->buf);
            g_free(mc);
            return NULL;
        }
        return mc;
    }
    mc->zcs = ZSTD_createCStream();
    if (!mc->zcs ||
        ZSTD_isError(ZSTD_initCStream(mc->zcs, migrate_multifd_zstd_level()))) {
        error_setg(errp, "multifd: zstd init failed");
        multifd_compressor_free(mc);
        return NULL;
    }
    return mc;
}

static bool multifd_deflate(MultiFDCompressor *mc, const struct iovec *iov,
                            size_t n, Error **errp)
{
    z_stream *zs = &mc->zs;
    int level = mc->raw_left ? 0 : migrate_multifd_zlib_level();

    zs->next_out = mc->buf;
    zs->avail_out = mc->size;
    if (level != mc->zlib_level) {
        /* nothing is pending after the last flush: takes effect now */
        int ret = deflateParams(zs, level, Z_DEFAULT_STRATEGY);

        if (ret != Z_OK) {
            error_setg(errp, "multifd: deflateParams returned %d", ret);
            return false;
        }
        mc->zlib_level = level;
    }
    for (size_t i = 0; i < n; i++) {
        int flush = i == n - 1 ? Z_SYNC_FLUSH : Z_NO_FLUSH;
        int ret;

        zs->next_in = iov[i].iov_base;
        zs->avail_in = iov[i].iov_len;
        do {
            ret = deflate(zs, flush);
        } while (ret == Z_OK && zs->avail_in && zs->avail_out);
        if ((ret != Z_OK && ret != Z_BUF_ERROR) || zs->avail_in) {
            error_setg(errp, "multifd: deflate returned %d", ret);
            return false;
        }
    }
    if (!zs->avail_out) {
        error_setg(errp, "multifd: compressed packet too large");
        return false;
    }
    mc->out[0].iov_len = mc->size - zs->avail_out;
    return true;
}

/*
 * A packet of raw bytes went out as len bytes through the library
 * (probe: the first after raw packets).  If it saved less than 1/16,
 * the next raw_interval packets go raw (4, doubling after each poor
 * probe up to RAW_PROBE_MAX); else compression goes on.
 */
static void multifd_compress_judge(MultiFDCompressor *mc, size_t len,
                                   size_t raw, bool probe)
{
    if (len > raw - raw / 16) {
        mc->raw_interval =
            probe ? MIN(mc->raw_interval * 2, RAW_PROBE_MAX) : RAW_PROBE_FIRST;
        mc->raw_left = mc->raw_interval;
    } else {
        mc->raw_interval = 0;
    }
}

/*
 * Compress the n pages into mc->buf with libzstd, ending the packet with
 * a flush, or with the frame's end when end is set.  The size in
 * mc->out[0].
 */
static bool multifd_zstd_stream(MultiFDCompressor *mc, const struct iovec *iov,
                                size_t n, bool end, Error **errp)
{
    ZSTD_outBuffer out = {mc->buf, mc->size, 0};
    ZSTD_EndDirective last = end ? ZSTD_e_end : ZSTD_e_flush;

    for (size_t i = 0; i < n; i++) {
        ZSTD_EndDirective dir = i == n - 1 ? last : ZSTD_e_continue;
        ZSTD_inBuffer in = {iov[i].iov_base, iov[i].iov_len, 0};
        size_t ret;

        do {
            ret = ZSTD_compressStream2(mc->zcs, &out, &in, dir);
        } while (!ZSTD_isError(ret) && out.pos < out.size &&
                 (in.pos < in.size || (dir != ZSTD_e_continue && ret)));
        if (ZSTD_isError(ret) || in.pos < in.size ||
            (dir != ZSTD_e_continue && ret)) {
            error_setg(errp, "multifd: zstd compression failed: %s",
                       ZSTD_isError(ret) ? ZSTD_getErrorName(ret)
                                         : "output full");
            return false;
        }
    }
    mc->out[0].iov_base = mc->buf;
    mc->out[0].iov_len = out.pos;
    return true;
}

/* The headers of a zstd frame of n raw pages, into h. */
static void multifd_zstd_raw_headers(uint8_t *h, size_t n)
{
    stl_le_p(h, ZSTD_MAGICNUMBER);
    h[4] = ZSTD_RAW_FRAME_DESCRIPTOR;
    stl_le_p(h + 5, n * TARGET_PAGE_SIZE);
    for (size_t i = 0; i < n; i += ZSTD_RAW_BLOCK_PAGES) {
        size_t m = MIN(n - i, ZSTD_RAW_BLOCK_PAGES);
        uint8_t *b = h + ZSTD_RAW_FRAME_HEADER +
                     ZSTD_BLOCK_HEADER * (i / ZSTD_RAW_BLOCK_PAGES);
        /* last-block bit, type 0 (raw), size */
        uint32_t bh = (uint32_t)(m * TARGET_PAGE_SIZE) << 3 | (i + m == n);

        b[0] = bh;
        b[1] = bh >> 8;
        b[2] = bh >> 16;
    }
}

/*
 * A zstd frame of n raw pages: its headers into h, its layout into out
 * (the frame header with the first block's, then each block's pages,
 * from page[] or else iov, each followed by the next block's header).
 * Returns the number of iovecs.
 */
static size_t multifd_zstd_raw_layout(uint8_t *h, const struct iovec *iov,
                                      uint8_t *const *page, size_t n,
                                      struct iovec *out)
{
    size_t k = 0;

    multifd_zstd_raw_headers(h, n);
    for (size_t i = 0; i < n; i++) {
        if (i % ZSTD_RAW_BLOCK_PAGES == 0) {
            out[k].iov_base =
                i ? h + ZSTD_RAW_FRAME_HEADER +
                        ZSTD_BLOCK_HEADER * (i / ZSTD_RAW_BLOCK_PAGES)
                  : h;
            out[k].iov_len = i ? ZSTD_BLOCK_HEADER
                               : ZSTD_RAW_FRAME_HEADER + ZSTD_BLOCK_HEADER;
            k++;
        }
        out[k].iov_base = page ? page[i] : iov[i].iov_base;
        out[k].iov_len = TARGET_PAGE_SIZE;
        k++;
    }
    return k;
}

/* The payload size of a raw frame of n pages. */
static size_t multifd_zstd_raw_size(size_t n)
{
    return n * TARGET_PAGE_SIZE + ZSTD_RAW_FRAME_HEADER +
           ZSTD_BLOCK_HEADER * DIV_ROUND_UP(n, ZSTD_RAW_BLOCK_PAGES);
}

/*
 * One zstd packet: raw while the data does not compress (see the top of
 * this file), else through libzstd.  Sets *outn.
 */
static bool multifd_zstd_compress(MultiFDCompressor *mc,
                                  const struct iovec *iov, size_t n,
                                  size_t *outn, Error **errp)
{
    size_t raw = n * TARGET_PAGE_SIZE;
    bool probe = mc->raw_interval > 0;
    bool end = mc->closing || probe;

    if (!mc->frame_open && mc->raw_left) {
        mc->raw_left--;
        *outn = multifd_zstd_raw_layout(mc->raw_header, iov, NULL, n, mc->out);
        return true;
    }
    if (!multifd_zstd_stream(mc, iov, n, end, errp)) {
        return false;
    }
    *outn = 1;
    mc->frame_open = !end;
    mc->closing = false;
    if (!end) {
        mc->closing = mc->out[0].iov_len > raw - raw / 16;
    } else {
        multifd_compress_judge(mc, mc->out[0].iov_len, raw, probe);
    }
    return true;
}

bool multifd_compress(MultiFDCompressor *mc, const struct iovec *iov, size_t n,
                      const struct iovec **out, size_t *outn, Error **errp)
{
    bool ok;

    *out = mc->out;
    if (mc->method == MULTIFD_COMPRESSION_ZSTD) {
        return multifd_zstd_compress(mc, iov, n, outn, errp);
    }
    ok = multifd_deflate(mc, iov, n, errp);
    mc->out[0].iov_base = mc->buf;
    *outn = 1;
    if (!ok) {
        return false;
    }
    if (mc->raw_left) {
        mc->raw_left--;
    } else {
        multifd_compress_judge(mc, mc->out[0].iov_len, n * TARGET_PAGE_SIZE,
                               mc->raw_interval > 0);
    }
    return true;
}

void multifd_compressor_free(MultiFDCompressor *mc)
{
    if (!mc) {
        return;
    }
    if (mc->method == MULTIFD_COMPRESSION_ZLIB) {
        deflateEnd(&mc->zs);
    }
    ZSTD_freeCStream(mc->zcs);
    g_free(mc->buf);
    g_free(mc);
}

MultiFDDecompressor *multifd_decompressor_new(MultiFDCompression c,
                                              Error **errp)
{
    MultiFDDecompressor *md = g_new0(MultiFDDecompressor, 1);

    md->method = c;
    if (c == MULTIFD_COMPRESSION_ZLIB) {
        if (inflateInit(&md->zs) != Z_OK) {
            error_setg(errp, "multifd: inflate init failed");
            g_free(md);
            return NULL;
        }
        return md;
    }
    md->frame_start = true;
    md->zds = ZSTD_createDStream();
    if (!md->zds || ZSTD_isError(ZSTD_initDStream(md->zds))) {
        error_setg(errp, "multifd: zstd init failed");
        multifd_decompressor_free(md);
        return NULL;
    }
    return md;
}

/* Inflate into out[0..len); then the input must hold nothing more. */
static bool multifd_inflate_into(z_stream *zs, uint8_t *out, size_t len,
                                 Error **errp)
{
    int ret = Z_OK;

    zs->next_out = out;
    zs->avail_out = len;
    while (zs->avail_out && ret == Z_OK) {
        ret = inflate(zs, Z_SYNC_FLUSH);
    }
    if (zs->avail_out || (ret != Z_OK && ret != Z_STREAM_END)) {
        error_setg(errp, "multifd: inflate returned %d: %s", ret,
                   zs->msg ? zs->msg : "payload too short");
        return false;
    }
    return true;
}

static bool multifd_inflate(MultiFDDecompressor *md, const uint8_t *in,
                            size_t len, uint8_t *const *page, size_t n,
                            Error **errp)
{
    z_stream *zs = &md->zs;
    uint8_t extra;

    zs->next_in = (uint8_t *)in;
    zs->avail_in = len;
    for (size_t i = 0; i < n; i++) {
        if (!multifd_inflate_into(zs, page[i], TARGET_PAGE_SIZE, errp)) {
            return false;
        }
    }
    /* the flush marker is left: consume it, and nothing more */
    zs->next_out = &extra;
    zs->avail_out = 1;
    if (zs->avail_in) {
        inflate(zs, Z_SYNC_FLUSH);
    }
    if (zs->avail_in || !zs->avail_out) {
        error_setg(errp,
                   "multifd: compressed packet holds more than %zu "
                   "pages",
                   n);
        return false;
    }
    return true;
}

static bool multifd_zstd_decompress(MultiFDDecompressor *md, const uint8_t *in,
                                    size_t len, uint8_t *const *page, size_t n,
                                    Error **errp)
{
    ZSTD_inBuffer zin = {in, len, 0};
    uint8_t extra;

    md->frame_start = false;
    for (size_t i = 0; i <= n; i++) {
        ZSTD_outBuffer out = {i < n ? page[i] : &extra,
                              i < n ? TARGET_PAGE_SIZE : 1, 0};
        size_t ret;

        do {
            ret = ZSTD_decompressStream(md->zds, &out, &zin);
        } while (!ZSTD_isError(ret) && out.pos < out.size &&
                 zin.pos < zin.size);
        if (i == n - 1) {
            /* 0: the frame ended with this page, all of it flushed */
            md->frame_start = ret == 0;
        }
        if (ZSTD_isError(ret)) {
            error_setg(errp, "multifd: zstd decompression failed: %s",
                       ZSTD_getErrorName(ret));
            return false;
        }
        if (i < n && out.pos < out.size) {
            error_setg(errp,
                       "multifd: compressed packet holds fewer than "
                       "%zu pages",
                       n);
            return false;
        }
        if (i == n && (out.pos || zin.pos < zin.size)) {
            error_setg(errp,
                       "multifd: compressed packet holds more than "
                       "%zu pages",
                       n);
            return false;
        }
    }
    return true;
}

bool multifd_decompress(MultiFDDecompressor *md, const uint8_t *in, size_t len,
                        uint8_t *const *page, size_t n, Error **errp)
{
    return md->method == MULTIFD_COMPRESSION_ZLIB
               ? multifd_inflate(md, in, len, page, n, errp)
               : multifd_zstd_decompress(md, in, len, page, n, errp);
}

size_t multifd_decompress_raw_iov(MultiFDDecompressor *md, size_t len,
                                  uint8_t *const *page, size_t n,
                                  struct iovec *iov)
{
    if (md->method != MULTIFD_COMPRESSION_ZSTD || !md->frame_start || !n ||
        len != multifd_zstd_raw_size(n)) {
        return 0;
    }
    return multifd_zstd_raw_layout(md->raw_header, NULL, page, n, iov);
}

bool multifd_decompress_raw_check(MultiFDDecompressor *md, size_t n)
{
    uint8_t want[sizeof(md->raw_header)];

    multifd_zstd_raw_headers(want, n);
    return memcmp(want, md->raw_header,
                  multifd_zstd_raw_size(n) - n * TARGET_PAGE_SIZE) == 0;
}

void multifd_decompressor_free(MultiFDDecompressor *md)
{
    if (!md) {
        return;
    }
    if (md->method == MULTIFD_COMPRESSION_ZLIB) {
        inflateEnd(&md->zs);
    }
    ZSTD_freeDStream(md->zds);
    g_free(md);
}
