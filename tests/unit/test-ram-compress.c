/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test-ram-compress.c: the compress capability's record codec, its
 * sink with real worker threads, and the destination's loader with
 * decompress threads.
 *
 * Proves: a page compresses to one standalone zlib stream (zlib's own
 * uncompress() reads it back) inside QEMU 7.2's record (header word with
 * COMPRESS_PAGE|CONTINUE, be32 length); zero pages become ZERO records;
 * the decoder accepts only a stream of exactly one page and never
 * writes past the page (guard page checked) for garbage, truncated,
 * short and oversize streams; the sink's output (first page of a block
 * named and uncompressed, the rest CONTINUE records) loads back into
 * identical RAM, with counters that match the records; the loader keeps
 * stream order for a page sent twice; and bad records are refused with
 * QEMU's texts.
 */
#include "qemu/osdep.h"
#include <sys/mman.h>
#include "qemu/bswap.h"
#include "io/channel-buffer.h"
#include "migration/options.h"
#include "migration/qemu-file.h"
#include "../../migration/migration-stats.h"
#include "../../migration/ram-compress.h"
#include "../../migration/ram-format.h"
#include "../../migration/ram-load.h"
#include "../../migration/ram-sink.h"

#define PAGES 64

static RAMBlock *blk;

/* options.c's hooks into the migration core */
bool migration_is_running(void)
{
    return false;
}

void migration_parameters_changed(void)
{
}

/* Page i: zero (i % 4 == 0), text (1), random (2), one byte (3). */
static void fill_page(uint8_t *p, unsigned i, GRand *r)
{
    static const char text[] = "compressed pages in QEMU 7.2's format ";

    switch (i % 4) {
    case 0:
        memset(p, 0, TARGET_PAGE_SIZE);
        break;
    case 1:
        for (size_t j = 0; j < TARGET_PAGE_SIZE; j++) {
            p[j] = text[(j + i) % (sizeof(text) - 1)];
        }
        break;
    case 2:
        for (size_t j = 0; j < TARGET_PAGE_SIZE; j++) {
            p[j] = g_rand_int(r);
        }
        break;
    default:
        memset(p, i | 1, TARGET_PAGE_SIZE);
        break;
    }
}

static void fill_block(unsigned seed)
{
    GRand *r = g_rand_new_with_seed(seed);

    for (unsigned i = 0; i < PAGES; i++) {
        fill_page(blk->host + i * TARGET_PAGE_SIZE, i, r);
    }
    g_rand_free(r);
}

/* A page and a PROT_NONE guard page right after it. */
static uint8_t *guarded_page(void)
{
    uint8_t *p = mmap(NULL, 2 * TARGET_PAGE_SIZE, PROT_READ | PROT_WRITE,
                      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

    g_assert(p != MAP_FAILED);
    g_assert_cmpint(mprotect(p + TARGET_PAGE_SIZE, TARGET_PAGE_SIZE, PROT_NONE),
                    ==, 0);
    return p;
}

static void test_codec_round_trip(void)
{
    GRand *r = g_rand_new_with_seed(1);
    uint8_t page[TARGET_PAGE_SIZE], back[TARGET_PAGE_SIZE];
    uint8_t rec[RAM_COMPRESS_RECORD_MAX];
    z_stream c, d;

    g_assert(ram_compress_init(&c, 1));
    g_assert(ram_decompress_init(&d));
    for (unsigned i = 1; i < 8; i++) {
        bool zero;
        ssize_t n;
        uLongf out = TARGET_PAGE_SIZE;
        uint32_t len;

        if (i % 4 == 0) {
            continue;
        }
        fill_page(page, i, r);
        n = ram_compress_record(&c, 5 * TARGET_PAGE_SIZE, page, rec, &zero);
        g_assert_false(zero);
        g_assert_cmphex(ldq_be_p(rec), ==,
                        5 * TARGET_PAGE_SIZE | RAM_SAVE_FLAG_COMPRESS_PAGE |
                            RAM_SAVE_FLAG_CONTINUE);
        len = ldl_be_p(rec + 8);
        g_assert_cmpint(n, ==, 12 + len);
        g_assert_cmpuint(len, <=, RAM_COMPRESS_MAX_LEN);
        g_assert_cmpuint(rec[12], ==, 0x78); /* zlib header: deflate 32K */
        /* zlib itself reads the record's stream back */
        g_assert_cmpint(uncompress(back, &out, rec + 12, len), ==, Z_OK);
        g_assert_cmpuint(out, ==, TARGET_PAGE_SIZE);
        g_assert_cmpmem(back, TARGET_PAGE_SIZE, page, TARGET_PAGE_SIZE);
        memset(back, 0, sizeof(back));
        g_assert_cmpint(ram_decompress_page(&d, rec + 12, len, back), ==, 0);
        g_assert_cmpmem(back, TARGET_PAGE_SIZE, page, TARGET_PAGE_SIZE);
    }
    memset(page, 0, sizeof(page));
    {
        bool zero;

        g_assert_cmpint(ram_compress_record(&c, 0x3000, page, rec, &zero), ==,
                        9);
        g_assert_true(zero);
        g_assert_cmphex(ldq_be_p(rec), ==,
                        0x3000 | RAM_SAVE_FLAG_ZERO | RAM_SAVE_FLAG_CONTINUE);
        g_assert_cmpuint(rec[8], ==, 0);
    }
    ram_compress_end(&c);
    ram_decompress_end(&d);
    g_rand_free(r);
}

/* Compress len bytes of src with zlib at level 1 into out. */
static size_t zlib_of(const uint8_t *src, size_t len, uint8_t *out,
                      size_t out_len)
{
    uLongf n = out_len;

    g_assert_cmpint(compress2(out, &n, src, len, 1), ==, Z_OK);
    return n;
}

static void test_codec_hardening(void)
{
    g_autofree uint8_t *big = g_malloc0(4 * TARGET_PAGE_SIZE);
    uint8_t *page = guarded_page();
    uint8_t in[2 * RAM_COMPRESS_MAX_LEN];
    z_stream d;
    size_t n;

    g_assert(ram_decompress_init(&d));
    memset(big, 'x', 4 * TARGET_PAGE_SIZE);
    /* four pages' worth in one stream: stops at the page, refused */
    n = zlib_of(big, 4 * TARGET_PAGE_SIZE, in, sizeof(in));
    g_assert_cmpint(ram_decompress_page(&d, in, n, page), ==, -1);
    /* one byte too many */
    n = zlib_of(big, TARGET_PAGE_SIZE + 1, in, sizeof(in));
    g_assert_cmpint(ram_decompress_page(&d, in, n, page), ==, -1);
    /* too short: a complete stream of half a page */
    n = zlib_of(big, TARGET_PAGE_SIZE / 2, in, sizeof(in));
    g_assert_cmpint(ram_decompress_page(&d, in, n, page), ==, -1);
    /* a page's stream cut short (no adler32, then half of it) */
    n = zlib_of(big, TARGET_PAGE_SIZE, in, sizeof(in));
    g_assert_cmpint(ram_decompress_page(&d, in, n - 4, page), ==, -1);
    g_assert_cmpint(ram_decompress_page(&d, in, n / 2, page), ==, -1);
    /* bad checksum */
    in[n - 1] ^= 1;
    g_assert_cmpint(ram_decompress_page(&d, in, n, page), ==, -1);
    in[n - 1] ^= 1;
    /* garbage, raw deflate without the zlib header, nothing */
    memset(in, 0xa5, 64);
    g_assert_cmpint(ram_decompress_page(&d, in, 64, page), ==, -1);
    g_assert_cmpint(ram_decompress_page(&d, in, 0, page), ==, -1);
    /* and the right one still works after the failures */
    n = zlib_of(big, TARGET_PAGE_SIZE, in, sizeof(in));
    g_assert_cmpint(ram_decompress_page(&d, in, n, page), ==, 0);
    g_assert_cmpmem(page, TARGET_PAGE_SIZE, big, TARGET_PAGE_SIZE);
    /* trailing bytes after a complete stream: accepted, as QEMU 7.2 */
    g_assert_cmpint(ram_decompress_page(&d, in, n + 16, page), ==, 0);
    ram_decompress_end(&d);
    munmap(page, 2 * TARGET_PAGE_SIZE);
}

/* Run every page of the block through a compress sink, two sections. */
static GByteArray *sink_all(void)
{
    QIOChannelBuffer *bioc = qio_channel_buffer_new(0);
    QEMUFile *f = qemu_file_new_output(QIO_CHANNEL(bioc));
    RAMPageSink *sink = ram_sink_compress_new(f, &error_abort);
    GByteArray *out = g_byte_array_new();

    qio_channel_unref(QIO_CHANNEL(bioc));
    for (unsigned i = 0; i < PAGES; i++) {
        if (i == PAGES / 2) {
            g_assert_cmpint(ram_sink_section_end(sink, f), ==, 0);
            ram_sink_section_begin(sink, f);
        }
        g_assert_cmpint(ram_sink_save_page(sink, blk, i), ==, 0);
    }
    g_assert_cmpint(ram_sink_section_end(sink, f), ==, 0);
    ram_sink_free(sink);
    g_assert_cmpint(qemu_fflush(f), ==, 0);
    g_byte_array_append(out, (const uint8_t *)bioc->data, bioc->usage);
    g_assert_cmpint(qemu_fclose(f), ==, 0);
    return out;
}

static QEMUFile *input_of(const void *data, size_t len)
{
    QIOChannelBuffer *in = qio_channel_buffer_new(0);
    QEMUFile *f;

    in->data = g_memdup2(data, len);
    in->usage = in->capacity = len;
    f = qemu_file_new_input(QIO_CHANNEL(in));
    qio_channel_unref(QIO_CHANNEL(in));
    return f;
}

/* Walk the records: returns how many COMPRESS_PAGE ones there are. */
static unsigned walk_records(GByteArray *wire, uint64_t *csize)
{
    const uint8_t *p = wire->data, *end = wire->data + wire->len;
    unsigned compressed = 0, eos = 0, seen = 0;

    *csize = 0;
    while (p < end) {
        uint64_t w = ldq_be_p(p);
        uint64_t flags = w & ~TARGET_PAGE_MASK;

        p += 8;
        if (flags == RAM_SAVE_FLAG_EOS) {
            eos++;
            continue;
        }
        if (!(flags & RAM_SAVE_FLAG_CONTINUE)) {
            /* only the very first page names the block, uncompressed */
            g_assert_cmpuint(seen, ==, 0);
            g_assert_cmpuint(p[0], ==, 3);
            g_assert_cmpmem(p + 1, 3, "ram", 3);
            g_assert_false(flags & RAM_SAVE_FLAG_COMPRESS_PAGE);
            p += 4;
        }
        seen++;
        flags &= ~RAM_SAVE_FLAG_CONTINUE;
        if (flags == RAM_SAVE_FLAG_ZERO) {
            g_assert_cmpuint(*p, ==, 0);
            g_assert((w & TARGET_PAGE_MASK) / TARGET_PAGE_SIZE % 4 == 0);
            p += 1;
        } else if (flags == RAM_SAVE_FLAG_PAGE) {
            p += TARGET_PAGE_SIZE;
        } else {
            g_assert_cmphex(flags, ==, RAM_SAVE_FLAG_COMPRESS_PAGE);
            *csize += 4 + ldl_be_p(p);
            p += 4 + ldl_be_p(p);
            compressed++;
        }
    }
    g_assert(p == end);
    g_assert_cmpuint(eos, ==, 2);
    g_assert_cmpuint(seen, ==, PAGES);
    return compressed;
}

static void load_all(const uint8_t *data, size_t len, int sections)
{
    QEMUFile *f = input_of(data, len);
    RAMLoadState *ls = ram_load_state_new();

    ram_load_state_set_compress(ls, 3);
    for (int i = 0; i < sections; i++) {
        g_assert_cmpint(
            ram_load_section(ls, f, RAM_SECTION_VERSION, &error_abort), ==, 0);
    }
    ram_load_state_free(ls);
    g_assert_cmpint(qemu_file_get_error(f), ==, 0);
    qemu_fclose(f);
}

static void test_sink_and_load(void)
{
    g_autofree uint8_t *want = NULL;
    GByteArray *wire;
    RAMCompressStats st;
    uint64_t csize;
    unsigned compressed;

    migrate_options_reset();
    g_assert(migrate_parameter_set_str("compress-threads", "3", &error_abort));
    fill_block(7);
    want = g_memdup2(blk->host, blk->used_length);
    migration_stats_reset();
    wire = sink_all();
    compressed = walk_records(wire, &csize);
    /* page 0 is zero and goes first, uncompressed; others are data */
    g_assert_cmpuint(compressed, ==, PAGES - PAGES / 4);
    g_assert_cmpuint(stat64_get(&mig_stats.compressed_pages), ==, compressed);
    g_assert_cmpuint(stat64_get(&mig_stats.zero_pages), ==, PAGES / 4);
    g_assert_cmpuint(stat64_get(&mig_stats.normal_pages), ==, 0);
    ram_compress_stats_get(&st);
    g_assert_cmpuint(st.compressed_size, ==, csize);
    g_assert_cmpuint(st.busy, ==, 0);
    /* every byte written is accounted */
    g_assert_cmpuint(stat64_get(&mig_stats.transferred), ==, wire->len);

    memset(blk->host, 0xee, blk->used_length);
    load_all(wire->data, wire->len, 2);
    g_assert_cmpmem(blk->host, blk->used_length, want, blk->used_length);
    g_byte_array_unref(wire);
}

/* A COMPRESS_PAGE record for page then a PAGE record for it: PAGE wins. */
static void test_load_order(void)
{
    GByteArray *b = g_byte_array_new();
    uint8_t page[TARGET_PAGE_SIZE], hdr[12];
    uint8_t z[RAM_COMPRESS_MAX_LEN];
    size_t n;

    memset(page, 0x11, sizeof(page));
    n = zlib_of(page, TARGET_PAGE_SIZE, z, sizeof(z));
    for (int round = 0; round < 50; round++) {
        uint64_t off = (round % 8) * TARGET_PAGE_SIZE;

        stq_be_p(hdr, off | RAM_SAVE_FLAG_COMPRESS_PAGE |
                          (round ? RAM_SAVE_FLAG_CONTINUE : 0));
        g_byte_array_append(b, hdr, 8);
        if (!round) {
            g_byte_array_append(b, (const uint8_t *)"\3ram", 4);
        }
        stl_be_p(hdr, n);
        g_byte_array_append(b, hdr, 4);
        g_byte_array_append(b, z, n);
        stq_be_p(hdr, off | RAM_SAVE_FLAG_PAGE | RAM_SAVE_FLAG_CONTINUE);
        g_byte_array_append(b, hdr, 8);
        memset(page, 0x22 + round, sizeof(page));
        g_byte_array_append(b, page, TARGET_PAGE_SIZE);
    }
    stq_be_p(hdr, RAM_SAVE_FLAG_EOS);
    g_byte_array_append(b, hdr, 8);
    memset(blk->host, 0, blk->used_length);
    load_all(b->data, b->len, 1);
    for (int round = 42; round < 50; round++) {
        uint8_t *p = blk->host + (round % 8) * TARGET_PAGE_SIZE;

        memset(page, 0x22 + round, sizeof(page));
        g_assert_cmpmem(p, TARGET_PAGE_SIZE, page, TARGET_PAGE_SIZE);
    }
    g_byte_array_unref(b);
}

/* One section with a named COMPRESS_PAGE record of len, data, EOS. */
static char *load_error(bool compress, int32_t len, const uint8_t *data,
                        size_t data_len, bool eos)
{
    GByteArray *b = g_byte_array_new();
    uint8_t hdr[8];
    QEMUFile *f;
    RAMLoadState *ls = ram_load_state_new();
    Error *err = NULL;
    char *msg;

    stq_be_p(hdr, 2 * TARGET_PAGE_SIZE | RAM_SAVE_FLAG_COMPRESS_PAGE);
    g_byte_array_append(b, hdr, 8);
    g_byte_array_append(b, (const uint8_t *)"\3ram", 4);
    stl_be_p(hdr, len);
    g_byte_array_append(b, hdr, 4);
    g_byte_array_append(b, data, data_len);
    if (eos) {
        stq_be_p(hdr, RAM_SAVE_FLAG_EOS);
        g_byte_array_append(b, hdr, 8);
    }
    if (compress) {
        ram_load_state_set_compress(ls, 2);
    }
    f = input_of(b->data, b->len);
    g_assert_cmpint(ram_load_section(ls, f, RAM_SECTION_VERSION, &err), <, 0);
    ram_load_state_free(ls);
    qemu_fclose(f);
    msg = g_strdup(error_get_pretty(err));
    error_free(err);
    g_byte_array_unref(b);
    return msg;
}

static void test_load_errors(void)
{
    uint8_t page[TARGET_PAGE_SIZE * 2], z[2 * RAM_COMPRESS_MAX_LEN];
    size_t n;
    char *msg;

    memset(page, 'q', sizeof(page));
    n = zlib_of(page, TARGET_PAGE_SIZE, z, sizeof(z));
    msg = load_error(false, n, z, n, true);
    g_assert_cmpstr(msg, ==, "Received an unexpected compressed page");
    g_free(msg);
    msg = load_error(true, RAM_COMPRESS_MAX_LEN + 1, z, n, true);
    g_assert_cmpstr(msg, ==, "Invalid compressed data length: 4111");
    g_free(msg);
    msg = load_error(true, -1, z, n, true);
    g_assert_cmpstr(msg, ==, "Invalid compressed data length: -1");
    g_free(msg);
    /* bad data, reported at EOS */
    memset(z + 2, 0, 8);
    msg = load_error(true, n, z, n, true);
    g_assert_cmpstr(msg, ==, "decompress data failed");
    g_free(msg);
    /* a stream that inflates to two pages: never past the page */
    n = zlib_of(page, 2 * TARGET_PAGE_SIZE, z, sizeof(z));
    msg = load_error(true, n, z, n, true);
    g_assert_cmpstr(msg, ==, "decompress data failed");
    g_free(msg);
    /* length past the end of the data */
    n = zlib_of(page, TARGET_PAGE_SIZE, z, sizeof(z));
    msg = load_error(true, n + 100, z, n, false);
    g_assert_nonnull(msg);
    g_free(msg);
}

int main(int argc, char **argv)
{
    int ret;

    g_test_init(&argc, &argv, NULL);
    blk = ram_block_add("ram", PAGES * TARGET_PAGE_SIZE, NULL, &error_abort);
    g_test_add_func("/ram-compress/codec-round-trip", test_codec_round_trip);
    g_test_add_func("/ram-compress/codec-hardening", test_codec_hardening);
    g_test_add_func("/ram-compress/sink-and-load", test_sink_and_load);
    g_test_add_func("/ram-compress/load-order", test_load_order);
    g_test_add_func("/ram-compress/load-errors", test_load_errors);
    ret = g_test_run();
    ram_block_list_free();
    return ret;
}
