/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test-multifd-compress.c: the multifd zstd and zlib streams
 * (migration/multifd-compress.c).
 * Proves: a channel's packets of text (compressible) and random
 * (incompressible) pages, in runs and of odd page counts, decode to the
 * same pages with Tern's decoder and with a decoder that works as QEMU
 * 7.2's does (one DStream, each page decoded until its buffer is full or
 * ZSTD_decompressStream returns 0, the whole payload consumed by the
 * packet's last page); zstd sends random packets as raw frames (the
 * pages plus 9 bytes and 3 per 128 KiB, no compression), keeps
 * compressing text, and compresses text again after a long random run;
 * a receiver reading raw frames straight into the pages
 * (multifd_decompress_raw_iov) gets the same pages, and one whose frame
 * headers turn out wrong falls back to the decoder, which refuses them;
 * zlib round-trips the same packets.
 */
#include "qemu/osdep.h"
#include <zstd.h>
#include "qapi/error.h"
#include "qemu/bswap.h"
#include "qemu/iov.h"
#include "../../migration/multifd.h"
#include "../../migration/multifd-compress.h"

#define RAW_OVERHEAD(n) (9 + 3 * DIV_ROUND_UP((n), 32))

/* The level parameters (migration/options.c in tern). */
int migrate_multifd_zlib_level(void);
int migrate_multifd_zlib_level(void)
{
    return 1;
}

int migrate_multifd_zstd_level(void);
int migrate_multifd_zstd_level(void)
{
    return 1;
}

/* One packet: n pages of a kind (0 text, 1 random). */
typedef struct Packet {
    int kind;
    size_t n;
} Packet;

static const Packet packets[] = {
    {0, 128}, {0, 1},   {1, 128}, {1, 128}, {1, 33},  {1, 128}, {1, 64},
    {1, 128}, {1, 1},   {0, 128}, {1, 128}, {1, 31},  {1, 32},  {1, 128},
    {1, 128}, {1, 128}, {1, 128}, {1, 128}, {1, 128}, {1, 128}, {1, 128},
    {1, 128}, {1, 128}, {1, 128}, {1, 128}, {1, 128}, {0, 128}, {0, 128},
    {0, 7},   {0, 128}, {0, 128}, {0, 128}, {0, 128}, {0, 128}, {0, 128},
    {0, 128}, {0, 128}, {0, 128}, {0, 128}, {0, 128}, {0, 128}, {0, 128},
    {0, 128}, {0, 128}, {0, 128}, {0, 128}, {0, 128}, {0, 128}, {0, 128},
    {0, 128}, {0, 128}, {0, 128}, {0, 128}, {0, 128}, {0, 128}, {0, 128},
    {0, 128}, {0, 128}, {0, 128}, {0, 128}, {0, 128}, {0, 128}, {0, 128},
    {0, 128}, {0, 128}, {0, 128}, {0, 128}, {0, 128}, {0, 128}, {0, 128},
};

static void fill_page(uint8_t *p, int kind, GRand *r)
{
    static const char *const words[] = {"guest ",  "page ",   "dirty ",
                                        "stream ", "socket ", "42 "};

    for (size_t i = 0; i < TARGET_PAGE_SIZE;) {
        if (kind) {
            p[i++] = g_rand_int(r);
            continue;
        }
        const char *w = words[g_rand_int_range(r, 0, G_N_ELEMENTS(words))];

        for (size_t k = 0; w[k] && i < TARGET_PAGE_SIZE; k++) {
            p[i++] = w[k];
        }
    }
}

/*
 * Receive payload[0..len) as multifd-recv.c does: raw frames straight
 * into the pages, anything else through the decoder.  True if it took
 * the raw path.
 */
static bool tern_receive(MultiFDDecompressor *md, uint8_t *payload, size_t len,
                         uint8_t *out, size_t n)
{
    uint8_t *page[MULTIFD_PACKET_PAGES];
    struct iovec iov[MULTIFD_COMPRESS_IOV_MAX];
    size_t niov;

    for (size_t i = 0; i < n; i++) {
        page[i] = out + i * TARGET_PAGE_SIZE;
    }
    niov = multifd_decompress_raw_iov(md, len, page, n, iov);
    if (niov) {
        g_assert_cmpuint(niov, <=, MULTIFD_COMPRESS_IOV_MAX);
        g_assert_cmpuint(iov_size(iov, niov), ==, len);
        iov_from_buf(iov, niov, 0, payload, len);
        if (multifd_decompress_raw_check(md, n)) {
            return true;
        }
    }
    g_assert_true(multifd_decompress(md, payload, len, page, n, &error_abort));
    return false;
}

/* Decode a zstd payload as QEMU 7.2's receiver does; true if it fits. */
static bool qemu_style_decode(ZSTD_DStream *zds, const uint8_t *in, size_t len,
                              uint8_t *out, size_t n)
{
    ZSTD_inBuffer zin = {in, len, 0};
    size_t total = 0;

    for (size_t i = 0; i < n; i++) {
        ZSTD_outBuffer o = {out + i * TARGET_PAGE_SIZE, TARGET_PAGE_SIZE, 0};
        size_t ret;

        do {
            ret = ZSTD_decompressStream(zds, &o, &zin);
        } while (ret > 0 && zin.pos < zin.size && o.pos < o.size);
        if (ZSTD_isError(ret) || (ret > 0 && o.pos < o.size)) {
            return false;
        }
        total += o.pos;
    }
    return total == n * TARGET_PAGE_SIZE && zin.pos == zin.size;
}

static void test_method(gconstpointer opaque)
{
    MultiFDCompression method = GPOINTER_TO_INT(opaque);
    MultiFDCompressor *mc = multifd_compressor_new(method, &error_abort);
    MultiFDDecompressor *md = multifd_decompressor_new(method, &error_abort);
    MultiFDDecompressor *md2 = multifd_decompressor_new(method, &error_abort);
    ZSTD_DStream *zds = ZSTD_createDStream();
    GRand *r = g_rand_new_with_seed(7);
    uint8_t *src = g_malloc(MULTIFD_PACKET_PAGES * TARGET_PAGE_SIZE);
    uint8_t *dst = g_malloc(MULTIFD_PACKET_PAGES * TARGET_PAGE_SIZE);
    uint8_t *dst2 = g_malloc(MULTIFD_PACKET_PAGES * TARGET_PAGE_SIZE);
    uint8_t *payload = g_malloc(MULTIFD_PAYLOAD_MAX);
    size_t raw_packets = 0, raw_received = 0;

    ZSTD_initDStream(zds);
    for (size_t k = 0; k < G_N_ELEMENTS(packets); k++) {
        const Packet *pk = &packets[k];
        struct iovec iov[MULTIFD_PACKET_PAGES];
        uint8_t *page[MULTIFD_PACKET_PAGES];
        const struct iovec *out;
        size_t outn, len, raw = pk->n * TARGET_PAGE_SIZE;

        for (size_t i = 0; i < pk->n; i++) {
            /* pages in reverse order: the payload need not follow RAM */
            uint8_t *p = src + (pk->n - 1 - i) * TARGET_PAGE_SIZE;

            fill_page(p, pk->kind, r);
            iov[i].iov_base = p;
            iov[i].iov_len = TARGET_PAGE_SIZE;
            page[i] = dst + i * TARGET_PAGE_SIZE;
        }
        g_assert_true(
            multifd_compress(mc, iov, pk->n, &out, &outn, &error_abort));
        g_assert_cmpuint(outn, <=, MULTIFD_COMPRESS_IOV_MAX);
        len = iov_to_buf(out, outn, 0, payload, MULTIFD_PAYLOAD_MAX);
        g_assert_cmpuint(len, ==, iov_size(out, outn));
        g_assert_cmpuint(len, <=, MULTIFD_PAYLOAD_MAX);
        g_assert_true(
            multifd_decompress(md, payload, len, page, pk->n, &error_abort));
        for (size_t i = 0; i < pk->n; i++) {
            g_assert_cmpmem(page[i], TARGET_PAGE_SIZE, iov[i].iov_base,
                            TARGET_PAGE_SIZE);
        }
        memset(dst2, 0xa5, raw);
        raw_received += tern_receive(md2, payload, len, dst2, pk->n);
        g_assert_cmpmem(dst2, raw, dst, raw);
        if (method != MULTIFD_COMPRESSION_ZSTD) {
            continue;
        }
        memset(dst2, 0x5a, raw);
        g_assert_true(qemu_style_decode(zds, payload, len, dst2, pk->n));
        g_assert_cmpmem(dst2, raw, dst, raw);
        if (len == raw + RAW_OVERHEAD(pk->n)) {
            raw_packets++;
        }
        if (k < 2) {
            /* text, before any random page: compressed */
            g_assert_cmpuint(len, <, raw / 2);
        }
        if (k >= 13 && k < 26 && k != 17) {
            /* deep in the random run: sent raw (17 tries libzstd again) */
            g_assert_cmpuint(len, ==, raw + RAW_OVERHEAD(pk->n));
        }
        if (k == G_N_ELEMENTS(packets) - 1) {
            /* text again, long after the random run: compressed again */
            g_assert_cmpuint(len, <, raw / 2);
        }
    }
    if (method == MULTIFD_COMPRESSION_ZSTD) {
        g_assert_cmpuint(raw_packets, >=, 20);
        g_assert_cmpuint(raw_received, ==, raw_packets);
    } else {
        g_assert_cmpuint(raw_received, ==, 0);
    }
    g_free(payload);
    g_free(dst2);
    g_free(dst);
    g_free(src);
    g_rand_free(r);
    ZSTD_freeDStream(zds);
    multifd_decompressor_free(md2);
    multifd_decompressor_free(md);
    multifd_compressor_free(mc);
}

/*
 * A payload of a raw frame's size whose first block claims to be the
 * last: not a raw frame after all; the decoder refuses it (the frame
 * ends short of its content size) without crashing.
 */
static void test_raw_bad_header(void)
{
    MultiFDDecompressor *md =
        multifd_decompressor_new(MULTIFD_COMPRESSION_ZSTD, &error_abort);
    size_t n = 64, len = n * TARGET_PAGE_SIZE + RAW_OVERHEAD(n);
    uint8_t *payload = g_malloc0(len);
    uint8_t *out = g_malloc(n * TARGET_PAGE_SIZE);
    uint8_t *page[MULTIFD_PACKET_PAGES];
    struct iovec iov[MULTIFD_COMPRESS_IOV_MAX];
    uint32_t bh = 32 * TARGET_PAGE_SIZE << 3 | 1; /* raw, 128 KiB, last */
    Error *err = NULL;
    size_t niov;

    for (size_t i = 0; i < n; i++) {
        page[i] = out + i * TARGET_PAGE_SIZE;
    }
    stl_le_p(payload, ZSTD_MAGICNUMBER);
    payload[4] = 0xa0;
    stl_le_p(payload + 5, n * TARGET_PAGE_SIZE);
    payload[9] = bh;
    payload[10] = bh >> 8;
    payload[11] = bh >> 16;
    niov = multifd_decompress_raw_iov(md, len, page, n, iov);
    g_assert_cmpuint(niov, >, 0);
    iov_from_buf(iov, niov, 0, payload, len);
    g_assert_false(multifd_decompress_raw_check(md, n));
    iov_to_buf(iov, niov, 0, payload, len);
    g_assert_false(multifd_decompress(md, payload, len, page, n, &err));
    g_assert_nonnull(err);
    error_free(err);
    g_free(out);
    g_free(payload);
    multifd_decompressor_free(md);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_data_func("/multifd-compress/zstd",
                         GINT_TO_POINTER(MULTIFD_COMPRESSION_ZSTD),
                         test_method);
    g_test_add_func("/multifd-compress/zstd-raw-bad-header",
                    test_raw_bad_header);
    g_test_add_data_func("/multifd-compress/zlib",
                         GINT_TO_POINTER(MULTIFD_COMPRESSION_ZLIB),
                         test_method);
    return g_test_run();
}
