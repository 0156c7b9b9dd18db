/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test-mapped-ram-format.c: the mapped-ram header codec and file reader.
 * Proves: the header is the documented 28 big-endian bytes; the writer's
 * layout puts pages on a 1 MiB boundary after the bitmap; a hand-built
 * file (stream header, configuration naming mapped-ram, a two-block ram
 * START at a non-zero file offset) opens, lists its blocks, reads the
 * host-order bitmap and returns present pages and zeroes for absent
 * ones; and each bad file (truncated, wrong version, misaligned
 * pages_offset, bitmap or pages past the end, no mapped-ram capability,
 * not a stream) is refused with its error text.
 */
#include "qemu/osdep.h"
#include "qemu/bitmap.h"
#include "qemu/bswap.h"
#include "byte-array-put.h"
#include "../../migration/mapped-ram-format.h"

#define START_OFFSET 4096
#define B1_PAGES 100 /* not a multiple of 64 */
#define B2_PAGES 64

typedef struct Built {
    GByteArray *b;
    uint64_t hdr_pos[2]; /* file offsets of the two 28-byte headers */
} Built;

/* Page content: block number and page number, never all zero. */
static void page_fill(uint8_t *p, int blk, uint64_t page)
{
    memset(p, 0x10 + blk, TARGET_PAGE_SIZE);
    stq_be_p(p, page);
}

/* One block entry, its region, its bitmap (every third page present). */
static void build_block(Built *bt, int i, const char *name, uint64_t pages)
{
    GByteArray *b = bt->b;
    MappedRamHeader h;
    uint8_t hdr[MAPPED_RAM_HDR_BYTES];
    unsigned long *map = bitmap_new(pages);
    uint64_t len = pages * TARGET_PAGE_SIZE;

    byte_array_put_str8(b, name);
    byte_array_put_be64(b, len);
    bt->hdr_pos[i] = b->len;
    mapped_ram_header_layout(&h, b->len + MAPPED_RAM_HDR_BYTES, len);
    mapped_ram_header_encode(&h, hdr);
    g_byte_array_append(b, hdr, sizeof(hdr));
    g_byte_array_set_size(b, h.pages_offset + len);
    memset(b->data + h.bitmap_offset, 0,
           h.pages_offset + len - h.bitmap_offset);
    for (uint64_t p = 0; p < pages; p += 3) {
        set_bit(p, map);
        page_fill(b->data + h.pages_offset + p * TARGET_PAGE_SIZE, i, p);
    }
    memcpy(b->data + h.bitmap_offset, map, mapped_ram_bitmap_bytes(pages));
    g_free(map);
}

static Built build_file(bool with_cap)
{
    Built bt = {.b = g_byte_array_new()};
    GByteArray *b = bt.b;

    g_byte_array_set_size(b, START_OFFSET);
    memset(b->data, 0xee, START_OFFSET); /* whatever precedes offset= */
    byte_array_put_be32(b, 0x5145564d);
    byte_array_put_be32(b, 3);
    byte_array_put8(b, 0x07);
    byte_array_put_be32(b, 4);
    g_byte_array_append(b, (const uint8_t *)"none", 4);
    byte_array_put8(b, 0x05);
    byte_array_put_str8(b, "configuration/capabilities");
    byte_array_put_be32(b, 1);
    byte_array_put_be32(b, 1);
    byte_array_put_str8(b, with_cap ? "mapped-ram" : "x-colo");
    byte_array_put8(b, 0x01); /* START ram */
    byte_array_put_be32(b, 2);
    byte_array_put_str8(b, "ram");
    byte_array_put_be32(b, 0);
    byte_array_put_be32(b, 4);
    byte_array_put_be64(b, (B1_PAGES + B2_PAGES) * TARGET_PAGE_SIZE | 0x04);
    build_block(&bt, 0, "pc.ram", B1_PAGES);
    build_block(&bt, 1, "b2", B2_PAGES);
    byte_array_put_be64(b, 0x10);
    byte_array_put8(b, 0x7e);
    byte_array_put_be32(b, 2);
    byte_array_put8(b, 0x00); /* EOF */
    return bt;
}

static int write_tmp(GByteArray *b)
{
    char path[] = "/tmp/test-mapped-ram-XXXXXX";
    int fd = mkstemp(path);

    g_assert_cmpint(fd, >=, 0);
    unlink(path);
    g_assert_cmpint(write(fd, b->data, b->len), ==, b->len);
    return fd;
}

static void test_header_codec(void)
{
    MappedRamHeader h = {1, 4096, 0x1122334455667788ULL, 0x100000}, d;
    uint8_t buf[MAPPED_RAM_HDR_BYTES];
    static const uint8_t want[MAPPED_RAM_HDR_BYTES] = {
        0,    0,    0,    1,    0,    0,    0, 0, 0, 0, 0x10, 0,    0x11, 0x22,
        0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0, 0, 0, 0, 0,    0x10, 0,    0,
    };

    mapped_ram_header_encode(&h, buf);
    g_assert_cmpmem(buf, sizeof(buf), want, sizeof(want));
    mapped_ram_header_decode(buf, &d);
    g_assert_cmpuint(d.version, ==, 1);
    g_assert_cmpuint(d.page_size, ==, 4096);
    g_assert_cmpuint(d.bitmap_offset, ==, h.bitmap_offset);
    g_assert_cmpuint(d.pages_offset, ==, 0x100000);
}

static void test_layout(void)
{
    MappedRamHeader h;

    g_assert_cmpuint(mapped_ram_bitmap_bytes(1), ==, 8);
    g_assert_cmpuint(mapped_ram_bitmap_bytes(64), ==, 8);
    g_assert_cmpuint(mapped_ram_bitmap_bytes(65), ==, 16);
    mapped_ram_header_layout(&h, 100, 64 * MiB);
    g_assert_cmpuint(h.bitmap_offset, ==, 100);
    g_assert_cmpuint(h.pages_offset, ==, 0x100000);
    /* 32 GiB: a 1 MiB bitmap pushes the pages one more MiB out */
    mapped_ram_header_layout(&h, 0x100000 + 8, 32 * GiB);
    g_assert_cmpuint(h.pages_offset, ==, 3 * 0x100000);
}

static void test_read_good(void)
{
    Built bt = build_file(true);
    int fd = write_tmp(bt.b);
    Error *err = NULL;
    MappedRamFile *mf = mapped_ram_file_open_fd(fd, START_OFFSET, &err);
    uint8_t page[TARGET_PAGE_SIZE], want[TARGET_PAGE_SIZE];
    MappedRamBlock *blk;

    g_assert_null(err);
    g_assert_nonnull(mf);
    g_assert_cmpstr(mf->machine, ==, "none");
    g_assert_cmpuint(mf->nblocks, ==, 2);
    g_assert_cmpuint(mf->ram_section_id, ==, 2);
    g_assert_cmpuint(mf->stream_next, ==, bt.b->len - 1);
    blk = mapped_ram_file_find(mf, "pc.ram");
    g_assert_nonnull(blk);
    g_assert_cmpuint(blk->header_offset, ==, bt.hdr_pos[0]);
    g_assert_cmpuint(blk->hdr.pages_offset % MAPPED_RAM_FILE_ALIGNMENT, ==, 0);
    g_assert_cmpint(mapped_ram_block_pages_present(mf, blk, &err), ==, 34);
    for (int b = 0; b < 2; b++) {
        blk = &mf->blocks[b];
        for (uint64_t p = 0; p < mapped_ram_block_pages(blk); p++) {
            int r = mapped_ram_file_read_page(mf, blk, p, page, &err);

            g_assert_null(err);
            if (p % 3) {
                g_assert_cmpint(r, ==, 0);
                memset(want, 0, sizeof(want));
            } else {
                g_assert_cmpint(r, ==, 1);
                page_fill(want, b, p);
            }
            g_assert_cmpmem(page, sizeof(page), want, sizeof(want));
        }
    }
    g_assert_cmpint(mapped_ram_file_read_page(mf, blk, B2_PAGES, page, &err),
                    ==, -1);
    g_assert_nonnull(err);
    error_free(err);
    g_assert_null(mapped_ram_file_find(mf, "nope"));
    mapped_ram_file_free(mf);
    close(fd);
    g_byte_array_free(bt.b, true);
}

/* Open a damaged copy; the error must contain want. */
static void expect_bad(GByteArray *b, uint64_t start, const char *want)
{
    int fd = write_tmp(b);
    Error *err = NULL;
    MappedRamFile *mf = mapped_ram_file_open_fd(fd, start, &err);

    g_assert_null(mf);
    g_assert_nonnull(err);
    if (!strstr(error_get_pretty(err), want)) {
        g_test_message("error: %s", error_get_pretty(err));
        g_assert_not_reached();
    }
    error_free(err);
    close(fd);
}

static void test_read_bad(void)
{
    Built bt = build_file(true);
    GByteArray *b = bt.b;
    uint8_t save[MAPPED_RAM_HDR_BYTES];
    MappedRamHeader h;
    uint8_t *hp = b->data + bt.hdr_pos[1];
    guint len = b->len;

    memcpy(save, hp, sizeof(save));
    mapped_ram_header_decode(hp, &h);

    stl_be_p(hp, 2);
    expect_bad(b, START_OFFSET,
               "Migration mapped-ram capability version not supported "
               "(expected <= 1, got 2)");
    memcpy(hp, save, sizeof(save));

    stq_be_p(hp + 20, h.pages_offset + 512);
    expect_bad(b, START_OFFSET,
               "Error reading ramblock b2 pages, region has bad alignment");
    memcpy(hp, save, sizeof(save));

    stq_be_p(hp + 12, h.pages_offset + 1 * GiB);
    expect_bad(b, START_OFFSET, "bitmap at 0x");
    expect_bad(b, START_OFFSET, "lies past the end of the file (0x");
    memcpy(hp, save, sizeof(save));

    stq_be_p(hp + 12, h.pages_offset + 8);
    expect_bad(b, START_OFFSET, "overlaps its pages");
    memcpy(hp, save, sizeof(save));

    stq_be_p(hp + 20, h.pages_offset + 1 * GiB);
    expect_bad(b, START_OFFSET, "lies past the end of the file");
    memcpy(hp, save, sizeof(save));

    g_byte_array_set_size(b, h.pages_offset + 10);
    expect_bad(b, START_OFFSET, "the file is truncated");
    g_byte_array_set_size(b, bt.hdr_pos[1] + 5);
    expect_bad(b, START_OFFSET, "file truncated: mapped-ram header");
    g_byte_array_set_size(b, START_OFFSET + 3);
    expect_bad(b, START_OFFSET, "file truncated: stream magic");
    g_byte_array_set_size(b, len);

    expect_bad(b, 0, "Not a migration stream");
    g_byte_array_free(b, true);

    bt = build_file(false);
    expect_bad(bt.b, START_OFFSET, "not saved with the mapped-ram capability");
    g_byte_array_free(bt.b, true);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/mapped-ram-format/header-codec", test_header_codec);
    g_test_add_func("/mapped-ram-format/layout", test_layout);
    g_test_add_func("/mapped-ram-format/read-good", test_read_good);
    g_test_add_func("/mapped-ram-format/read-bad", test_read_bad);
    return g_test_run();
}
