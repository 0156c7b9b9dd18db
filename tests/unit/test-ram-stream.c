/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test-ram-stream.c: the stream page sink and the destination loader.
 * Proves: the sink writes QEMU 7.2's records (header words, block names
 * only when the block changes, CONTINUE across sections, ZERO with a 0
 * fill byte, EOS) and accounts exactly the bytes it writes; the loader
 * puts every page back through the copy placer, leaves untouched zero
 * pages alone, and refuses bad records with QEMU's error texts.
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

#define PAGES 16

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

    stq_be_p(buf, RAM_SAVE_FLAG_XBZRLE);
    msg = load_error(buf, 8, RAM_SECTION_VERSION);
    g_assert_cmpstr(msg, ==, "Unknown combination of migration flags: 0x40");
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
    ret = g_test_run();
    ram_block_list_free();
    return ret;
}
