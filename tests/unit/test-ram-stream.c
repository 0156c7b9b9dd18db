/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test-ram-stream.c: the stream page sink and the destination loader.
 * Proves: the sink writes QEMU 7.2's records (header words, block names
 * only when the block changes, CONTINUE across sections, ZERO with a 0
 * fill byte, EOS) and accounts exactly the bytes it writes; the loader
 * puts every page back through the copy placer, leaves untouched zero
 * pages alone, and refuses bad records with QEMU's error texts.
 * XBZRLE: with a cache, the first round goes whole, later rounds send
 * misses whole, deltas for changed cached pages (zero pages cached as
 * zeros), nothing for unchanged ones and the page for an overflow; the
 * counters say so exactly; a resize starts an empty cache; the loader
 * rebuilds the same RAM from the stream; bad XBZRLE records (encoding
 * byte, length over a page, a page never sent, a bad delta, a record
 * cut short) are refused with QEMU's texts and leave the page alone.
 */
#include "qemu/osdep.h"
#include <sys/mman.h>
#include "qemu/bswap.h"
#include "io/channel-buffer.h"
#include "migration/qemu-file.h"
#include "../../migration/migration-stats.h"
#include "../../migration/ram-format.h"
#include "../../migration/ram-load.h"
#include "../../migration/ram-sink.h"
#include "../../migration/ram-xbzrle.h"
#include "migration/options.h"

#define PAGES 16

/* Stubs for what options.c needs from migration.c. */
bool migration_is_running(void)
{
    return false;
}

void migration_parameters_changed(void)
{
}

static RAMBlock *blk_ram, *blk_b2;

/* What the sink sends, in order; zero pages are the ones with bit set. */
static const struct {
    RAMBlock **rb;
    uint64_t page;
    bool zero;
} order[] = {
    {&blk_ram, 0, false},
    {&blk_ram, 1, true},
    {&blk_ram, 2, false},
    {&blk_b2, 0, false},
    {&blk_b2, 1, true},
    {&blk_ram, 3, false},
    /* second section */
    {&blk_ram, 5, false},
    {&blk_b2, 3, true},
};
#define FIRST_SECTION 6

static void fill_block(RAMBlock *rb, unsigned seed)
{
    for (uint64_t i = 0; i < rb->used_length; i++) {
        rb->host[i] = (uint8_t)(i * 7 + seed + 1) | 1; /* never zero */
    }
}

static void setup_pages(void)
{
    fill_block(blk_ram, 1);
    fill_block(blk_b2, 2);
    for (size_t i = 0; i < ARRAY_SIZE(order); i++) {
        if (order[i].zero) {
            memset((*order[i].rb)->host + order[i].page * TARGET_PAGE_SIZE, 0,
                   TARGET_PAGE_SIZE);
        }
    }
}

/* Sink every page of order[] into a buffer, two sections. */
static GByteArray *sink_all(void)
{
    QIOChannelBuffer *bioc = qio_channel_buffer_new(0);
    QEMUFile *f = qemu_file_new_output(QIO_CHANNEL(bioc));
    RAMPageSink *sink = ram_sink_stream_new(f);
    GByteArray *out = g_byte_array_new();

    qio_channel_unref(QIO_CHANNEL(bioc)); /* the file holds one */
    for (size_t i = 0; i < ARRAY_SIZE(order); i++) {
        if (i == FIRST_SECTION) {
            g_assert_cmpint(ram_sink_section_end(sink, f), ==, 0);
            ram_sink_section_begin(sink, f);
        }
        g_assert_cmpint(ram_sink_save_page(sink, *order[i].rb, order[i].page),
                        ==, 0);
    }
    g_assert_cmpint(ram_sink_section_end(sink, f), ==, 0);
    ram_sink_free(sink);
    g_assert_cmpint(qemu_fflush(f), ==, 0);
    g_byte_array_append(out, (const uint8_t *)bioc->data, bioc->usage);
    g_assert_cmpint(qemu_fclose(f), ==, 0);
    return out;
}

static uint64_t word_at(const uint8_t *p)
{
    return ldq_be_p(p);
}

/* Walk the bytes by hand: the exact record layout of ram-format.h. */
static void test_stream_sink_records(void)
{
    GByteArray *wire;
    const uint8_t *p;
    RAMBlock *last = NULL;

    migration_stats_reset();
    setup_pages();
    wire = sink_all();
    p = wire->data;
    for (size_t i = 0; i < ARRAY_SIZE(order); i++) {
        RAMBlock *rb = *order[i].rb;
        uint64_t want =
            (order[i].page << TARGET_PAGE_BITS) |
            (order[i].zero ? RAM_SAVE_FLAG_ZERO : RAM_SAVE_FLAG_PAGE) |
            (rb == last ? RAM_SAVE_FLAG_CONTINUE : 0);

        if (i == FIRST_SECTION) {
            g_assert_cmphex(word_at(p), ==, RAM_SAVE_FLAG_EOS);
            p += RAM_RECORD_HEADER_BYTES;
        }
        g_assert_cmphex(word_at(p), ==, want);
        p += RAM_RECORD_HEADER_BYTES;
        if (rb != last) {
            g_assert_cmpuint(p[0], ==, strlen(rb->idstr));
            g_assert_cmpmem(p + 1, p[0], rb->idstr, strlen(rb->idstr));
            p += RAM_STR8_LEN_BYTES + p[0];
            last = rb;
        }
        if (order[i].zero) {
            g_assert_cmpuint(*p++, ==, 0);
        } else {
            g_assert_cmpmem(p, TARGET_PAGE_SIZE,
                            rb->host + order[i].page * TARGET_PAGE_SIZE,
                            TARGET_PAGE_SIZE);
            p += TARGET_PAGE_SIZE;
        }
    }
    g_assert_cmphex(word_at(p), ==, RAM_SAVE_FLAG_EOS);
    p += RAM_RECORD_HEADER_BYTES;
    g_assert_cmpuint(p - wire->data, ==, wire->len);
    g_assert_cmpuint(stat64_get(&mig_stats.transferred), ==, wire->len);
    g_assert_cmpuint(stat64_get(&mig_stats.zero_pages), ==, 3);
    g_assert_cmpuint(stat64_get(&mig_stats.normal_pages), ==, 5);
    g_byte_array_unref(wire);
}

/* A QEMUFile reading len bytes at data. */
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

/*
 * Sink, scribble over the pages, load: the pages come back; a zero page
 * that is already zero is not written (it is read-only during the load).
 */
static void test_stream_load_round_trip(void)
{
    g_autofree uint8_t *want_ram = NULL;
    g_autofree uint8_t *want_b2 = NULL;
    GByteArray *wire;
    RAMLoadState *ls;
    uint8_t *untouched;
    QEMUFile *f;

    setup_pages();
    want_ram = g_memdup2(blk_ram->host, blk_ram->used_length);
    want_b2 = g_memdup2(blk_b2->host, blk_b2->used_length);
    wire = sink_all();
    /* every page scribbled over but the last, zero and read-only */
    for (size_t i = 0; i < ARRAY_SIZE(order) - 1; i++) {
        memset((*order[i].rb)->host + order[i].page * TARGET_PAGE_SIZE, 0xee,
               TARGET_PAGE_SIZE);
    }
    untouched = blk_b2->host + 3 * TARGET_PAGE_SIZE;
    g_assert_cmpint(mprotect(untouched, TARGET_PAGE_SIZE, PROT_READ), ==, 0);
    f = input_of(wire->data, wire->len);
    ls = ram_load_state_new();
    g_assert_cmpint(ram_load_section(ls, f, RAM_SECTION_VERSION, &error_abort),
                    ==, 0);
    g_assert_cmpint(ram_load_section(ls, f, RAM_SECTION_VERSION, &error_abort),
                    ==, 0);
    ram_load_state_free(ls);
    g_assert_cmpint(
        mprotect(untouched, TARGET_PAGE_SIZE, PROT_READ | PROT_WRITE), ==, 0);
    g_assert_cmpint(qemu_file_get_error(f), ==, 0);
    qemu_fclose(f);
    g_assert_cmpmem(blk_ram->host, blk_ram->used_length, want_ram,
                    blk_ram->used_length);
    g_assert_cmpmem(blk_b2->host, blk_b2->used_length, want_b2,
                    blk_b2->used_length);
    g_byte_array_unref(wire);
}

/* Load the records in buf as one section; return the error text. */
static char *load_error(const uint8_t *buf, size_t len, int version)
{
    QEMUFile *f = input_of(buf, len);
    RAMLoadState *ls = ram_load_state_new();
    Error *err = NULL;
    char *msg;

    g_assert_cmpint(ram_load_section(ls, f, version, &err), <, 0);
    ram_load_state_free(ls);
    qemu_fclose(f);
    msg = g_strdup(error_get_pretty(err));
    error_free(err);
    return msg;
}

static void test_stream_load_errors(void)
{
    uint8_t buf[64] = {0};
    char *msg;

    stq_be_p(buf, RAM_SAVE_FLAG_EOS);
    msg = load_error(buf, 8, 3);
    g_assert_cmpstr(msg, ==, "ram: unsupported version 3");
    g_free(msg);
    msg = load_error(buf, 8, -1); /* be32 0xffffffff */
    g_assert_cmpstr(msg, ==, "ram: unsupported version 4294967295");
    g_free(msg);

    stq_be_p(buf, RAM_SAVE_FLAG_HOOK);
    msg = load_error(buf, 8, RAM_SECTION_VERSION);
    g_assert_cmpstr(msg, ==, "Unknown combination of migration flags: 0x80");
    g_free(msg);

    stq_be_p(buf, RAM_SAVE_FLAG_PAGE | RAM_SAVE_FLAG_CONTINUE);
    msg = load_error(buf, 8, RAM_SECTION_VERSION);
    g_assert_cmpstr(msg, ==, "Illegal RAM offset 0");
    g_free(msg);

    stq_be_p(buf, (uint64_t)PAGES * TARGET_PAGE_SIZE | RAM_SAVE_FLAG_ZERO);
    buf[8] = 3;
    memcpy(buf + 9, "ram", 3);
    msg = load_error(buf, 12, RAM_SECTION_VERSION);
    g_assert_cmpstr(msg, ==, "Illegal RAM offset 10000");
    g_free(msg);

    stq_be_p(buf, RAM_SAVE_FLAG_ZERO);
    memcpy(buf + 9, "xyz", 3);
    msg = load_error(buf, 13, RAM_SECTION_VERSION);
    g_assert_cmpstr(msg, ==, "Illegal RAM offset 0");
    g_free(msg);

    stq_be_p(buf, PAGES * TARGET_PAGE_SIZE | RAM_SAVE_FLAG_MEM_SIZE);
    buf[8] = 2;
    memcpy(buf + 9, "b2", 2);
    stq_be_p(buf + 11, 4 * TARGET_PAGE_SIZE);
    msg = load_error(buf, 19, RAM_SECTION_VERSION);
    g_assert_cmpstr(msg, ==,
                    "Size mismatch: b2: 0x4000 != 0x10000: "
                    "Invalid argument");
    g_free(msg);
}

/* Save pages [first, last] of blk_ram through sink as one section. */
static void save_range(RAMPageSink *sink, QEMUFile *f, uint64_t first,
                       uint64_t last)
{
    ram_sink_section_begin(sink, f);
    for (uint64_t p = first; p <= last; p++) {
        g_assert_cmpint(ram_sink_save_page(sink, blk_ram, p), ==, 0);
    }
    g_assert_cmpint(ram_sink_section_end(sink, f), ==, 0);
}

static uint8_t *ram_page(uint64_t p)
{
    return blk_ram->host + p * TARGET_PAGE_SIZE;
}

/*
 * Four rounds over blk_ram with XBZRLE, then load them all into a
 * scribbled blk_ram: it must come back as the source left it.
 */
static void test_xbzrle_round_trip(void)
{
    QIOChannelBuffer *bioc = qio_channel_buffer_new(0);
    QEMUFile *f = qemu_file_new_output(QIO_CHANNEL(bioc));
    RAMPageSink *sink = ram_sink_stream_new(f);
    g_autofree uint8_t *want = NULL;
    RAMXbzrle *x;
    RAMLoadState *ls;
    QEMUFile *in;

    qio_channel_unref(QIO_CHANNEL(bioc));
    migrate_options_reset();
    g_assert_true(
        migrate_parameter_set_str("xbzrle-cache-size", "64k", &error_abort));
    migration_stats_reset();
    fill_block(blk_ram, 3);
    memset(ram_page(1), 0, TARGET_PAGE_SIZE);
    x = ram_xbzrle_new(&error_abort);
    ram_sink_stream_set_xbzrle(sink, x);

    save_range(sink, f, 0, PAGES - 1); /* round one: whole */
    g_assert_cmpuint(stat64_get(&mig_stats.xbzrle_cache_miss), ==, 0);
    ram_xbzrle_start_encoding(x);
    stat64_set(&mig_stats.dirty_sync_count, 1);
    save_range(sink, f, 0, PAGES - 1); /* misses, page 1 cached as zero */
    g_assert_cmpuint(stat64_get(&mig_stats.xbzrle_cache_miss), ==, PAGES - 1);
    g_assert_cmpuint(stat64_get(&mig_stats.xbzrle_pages), ==, 0);

    stat64_set(&mig_stats.dirty_sync_count, 2);
    memset(ram_page(0) + 100, 0x5a, 8);  /* delta: 1+1+8 bytes */
    memset(ram_page(1) + 4000, 0x11, 8); /* delta against zeros: 2+1+8 */
    memset(ram_page(2), 0xc3, TARGET_PAGE_SIZE); /* overflow */
    save_range(sink, f, 0, 3);                   /* page 3 unchanged: skipped */
    g_assert_cmpuint(stat64_get(&mig_stats.xbzrle_pages), ==, 4);
    g_assert_cmpuint(stat64_get(&mig_stats.xbzrle_overflow), ==, 1);
    g_assert_cmpuint(stat64_get(&mig_stats.xbzrle_encoded), ==, 2);
    g_assert_cmpuint(stat64_get(&mig_stats.xbzrle_bytes), ==,
                     (3 + 10) + (3 + 11) + TARGET_PAGE_SIZE);

    /* the cache was patched with each delta: the next one is exact */
    stat64_set(&mig_stats.dirty_sync_count, 3);
    memset(ram_page(1) + 50, 0x22, 8);
    save_range(sink, f, 1, 1);
    g_assert_cmpuint(stat64_get(&mig_stats.xbzrle_encoded), ==, 3);
    g_assert_cmpuint(stat64_get(&mig_stats.xbzrle_bytes), ==,
                     (3 + 10) + (3 + 11) + TARGET_PAGE_SIZE + (3 + 10));

    /* a resize: the next page misses in the new, empty cache */
    g_assert_true(ram_xbzrle_cache_resize(32 * KiB, &error_abort));
    memset(ram_page(0) + 200, 0x77, 8);
    save_range(sink, f, 0, 0);
    g_assert_cmpuint(stat64_get(&mig_stats.xbzrle_cache_miss), ==, PAGES);
    memset(ram_page(0) + 300, 0x78, 8);
    save_range(sink, f, 0, 0); /* and hits again after that */
    g_assert_cmpuint(stat64_get(&mig_stats.xbzrle_encoded), ==, 4);
    g_assert_cmpuint(stat64_get(&mig_stats.normal_pages), ==,
                     (PAGES - 1) * 2 + 1 + 1);
    g_assert_cmpuint(stat64_get(&mig_stats.zero_pages), ==, 2);
    ram_xbzrle_update_rates(x);
    g_assert_cmpfloat(stat64_get_double(&mig_stats.xbzrle_cache_miss_rate), >,
                      0);
    g_assert_cmpfloat(stat64_get_double(&mig_stats.xbzrle_encoding_rate), >, 1);
    ram_sink_free(sink);
    ram_xbzrle_free(x);
    g_assert_cmpint(qemu_fflush(f), ==, 0);
    g_assert_cmpuint(stat64_get(&mig_stats.transferred), ==, bioc->usage);

    want = g_memdup2(blk_ram->host, blk_ram->used_length);
    memset(blk_ram->host, 0xee, blk_ram->used_length);
    in = input_of(bioc->data, bioc->usage);
    ls = ram_load_state_new();
    for (int i = 0; i < 6; i++) { /* the six save_range() calls */
        g_assert_cmpint(
            ram_load_section(ls, in, RAM_SECTION_VERSION, &error_abort), ==, 0);
    }
    ram_load_state_free(ls);
    qemu_fclose(in);
    qemu_fclose(f);
    g_assert_cmpmem(blk_ram->host, blk_ram->used_length, want,
                    blk_ram->used_length);
}

/*
 * buf: a PAGE record for page 0 of "ram", then an XBZRLE record for
 * page `page` (CONTINUE) with encoding byte enc, length len and the
 * delta bytes given (avail of them present).
 */
static size_t xbzrle_record(uint8_t *buf, uint64_t page, uint8_t enc,
                            uint16_t len, const uint8_t *delta, size_t avail)
{
    size_t n = 0;

    stq_be_p(buf, RAM_SAVE_FLAG_PAGE);
    buf[8] = 3;
    memcpy(buf + 9, "ram", 3);
    memset(buf + 12, 0x42, TARGET_PAGE_SIZE);
    n = 12 + TARGET_PAGE_SIZE;
    stq_be_p(buf + n, page << TARGET_PAGE_BITS | RAM_SAVE_FLAG_XBZRLE |
                          RAM_SAVE_FLAG_CONTINUE);
    n += 8;
    buf[n++] = enc;
    stw_be_p(buf + n, len);
    n += 2;
    memcpy(buf + n, delta, avail);
    n += avail;
    stq_be_p(buf + n, RAM_SAVE_FLAG_EOS);
    return n + 8;
}

static void test_xbzrle_load_errors(void)
{
    static const struct {
        uint64_t page;
        uint8_t enc;
        uint16_t len;
        uint8_t delta[6];
        size_t avail;
        const char *want;
    } cases[] = {
        {0,
         2,
         3,
         {0, 1, 9},
         3,
         "Failed to decompress XBZRLE page at 0: Failed to load XBZRLE "
         "page - wrong compression!"},
        {0,
         1,
         TARGET_PAGE_SIZE + 1,
         {0, 1, 9},
         3,
         "Failed to decompress XBZRLE page at 0: Failed to load XBZRLE "
         "page - len overflow!"},
        {2,
         1,
         3,
         {0, 1, 9},
         3,
         "Failed to decompress XBZRLE page at 2000: Failed to load XBZRLE "
         "page - the page was never sent"},
        {0,
         1,
         3,
         {0, 0, 9},
         3,
         "Failed to decompress XBZRLE page at 0: Failed to load XBZRLE "
         "page - decode error!"},
        {0,
         1,
         5,
         {0xff, 0x1f, 2, 9, 9},
         5,
         "Failed to decompress XBZRLE page at 0: Failed to load XBZRLE "
         "page - decode error!"},
        {0, 1, 4, {0x80}, 1, NULL}, /* cut short: the stream's error */
    };
    g_autofree uint8_t *buf = g_malloc(2 * TARGET_PAGE_SIZE);
    static const uint8_t good[] = {0x05, 0x02, 0xab, 0xcd};

    for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
        size_t n = xbzrle_record(buf, cases[i].page, cases[i].enc, cases[i].len,
                                 cases[i].delta, cases[i].avail);
        char *msg;

        memset(blk_ram->host, 0x17, 3 * TARGET_PAGE_SIZE);
        msg = load_error(buf, cases[i].want ? n : n - 8, RAM_SECTION_VERSION);
        if (cases[i].want) {
            g_assert_cmpstr(msg, ==, cases[i].want);
        }
        /* page 0 as the PAGE record left it, the others untouched */
        g_assert_cmpint(ram_page(0)[0], ==, 0x42);
        g_assert_cmpint(ram_page(0)[TARGET_PAGE_SIZE - 1], ==, 0x42);
        g_assert_cmpint(ram_page(1)[0], ==, 0x17);
        g_assert_cmpint(ram_page(2)[TARGET_PAGE_SIZE - 1], ==, 0x17);
        g_free(msg);
    }

    /* a good delta changes exactly its bytes */
    {
        size_t n = xbzrle_record(buf, 0, 1, sizeof(good), good, sizeof(good));
        QEMUFile *f = input_of(buf, n);
        RAMLoadState *ls = ram_load_state_new();

        g_assert_cmpint(
            ram_load_section(ls, f, RAM_SECTION_VERSION, &error_abort), ==, 0);
        ram_load_state_free(ls);
        qemu_fclose(f);
        g_assert_cmpint(ram_page(0)[4], ==, 0x42);
        g_assert_cmpint(ram_page(0)[5], ==, 0xab);
        g_assert_cmpint(ram_page(0)[6], ==, 0xcd);
        g_assert_cmpint(ram_page(0)[7], ==, 0x42);
    }
}

int main(int argc, char **argv)
{
    int ret;

    g_test_init(&argc, &argv, NULL);
    blk_ram =
        ram_block_add("ram", PAGES * TARGET_PAGE_SIZE, NULL, &error_abort);
    blk_b2 = ram_block_add("b2", PAGES * TARGET_PAGE_SIZE, NULL, &error_abort);
    g_test_add_func("/ram-stream/sink-records", test_stream_sink_records);
    g_test_add_func("/ram-stream/load-round-trip", test_stream_load_round_trip);
    g_test_add_func("/ram-stream/load-errors", test_stream_load_errors);
    g_test_add_func("/ram-stream/xbzrle-round-trip", test_xbzrle_round_trip);
    g_test_add_func("/ram-stream/xbzrle-load-errors", test_xbzrle_load_errors);
    ret = g_test_run();
    ram_block_list_free();
    return ret;
}
