/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * multifd-compress.c: zlib and zstd streams of the multifd channels (see
 * multifd-compress.h), on the system's libz and libzstd.
 */
#include "qemu/osdep.h"
#include <zlib.h>
#include <zstd.h>
#include "multifd.h"
#include "multifd-compress.h"

struct MultiFDCompressor {
    MultiFDCompression method;
    z_stream zs;
    ZSTD_CStream *zcs;
    uint8_t *buf;
    size_t size;
    struct iovec out;
};

struct MultiFDDecompressor {
    MultiFDCompression method;
    z_stream zs;
    ZSTD_DStream *zds;
};

MultiFDCompressor *multifd_compressor_new(MultiFDCompression c, Error **errp)
{
    MultiFDCompressor *mc = g_new0(MultiFDCompressor, 1);

    mc->method = c;
    mc->size = MULTIFD_PAYLOAD_MAX;
    mc->buf = g_malloc(mc->size);
    if (c == MULTIFD_COMPRESSION_ZLIB) {
        if (deflateInit(&mc->zs, migrate_multifd_zlib_level()) != Z_OK) {
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

    zs->next_out = mc->buf;
    zs->avail_out = mc->size;
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
    mc->out.iov_len = mc->size - zs->avail_out;
    return true;
}

static bool multifd_zstd_compress(MultiFDCompressor *mc,
                                  const struct iovec *iov, size_t n,
                                  Error **errp)
{
    ZSTD_outBuffer out = {mc->buf, mc->size, 0};

    for (size_t i = 0; i < n; i++) {
        ZSTD_EndDirective end = i == n - 1 ? ZSTD_e_flush : ZSTD_e_continue;
        ZSTD_inBuffer in = {iov[i].iov_base, iov[i].iov_len, 0};
        size_t ret;

        do {
            ret = ZSTD_compressStream2(mc->zcs, &out, &in, end);
        } while (!ZSTD_isError(ret) && out.pos < out.size &&
                 (in.pos < in.size || (end == ZSTD_e_flush && ret)));
        if (ZSTD_isError(ret) || in.pos < in.size ||
            (end == ZSTD_e_flush && ret)) {
            error_setg(errp, "multifd: zstd compression failed: %s",
                       ZSTD_isError(ret) ? ZSTD_getErrorName(ret)
                                         : "output full");
            return false;
        }
    }
    mc->out.iov_len = out.pos;
    return true;
}

bool multifd_compress(MultiFDCompressor *mc, const struct iovec *iov, size_t n,
                      const struct iovec **out, Error **errp)
{
    bool ok = mc->method == MULTIFD_COMPRESSION_ZLIB
                  ? multifd_deflate(mc, iov, n, errp)
                  : multifd_zstd_compress(mc, iov, n, errp);

    mc->out.iov_base = mc->buf;
    *out = &mc->out;
    return ok;
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

    for (size_t i = 0; i <= n; i++) {
        ZSTD_outBuffer out = {i < n ? page[i] : &extra,
                              i < n ? TARGET_PAGE_SIZE : 1, 0};
        size_t ret;

        do {
            ret = ZSTD_decompressStream(md->zds, &out, &zin);
        } while (!ZSTD_isError(ret) && out.pos < out.size &&
                 zin.pos < zin.size);
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
