/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test-recv-bitmap.c: the received-page bitmap of postcopy recovery in
 * QEMU 7.2's wire form.  Proves: the size is the bit count in bytes
 * rounded up to 8; page i is bit i of little-endian 64-bit words (byte
 * i / 8, bit i % 8), checked against words built by hand; the source's
 * dirty bitmap is its complement over the block, padding ignored.
 */
#include "qemu/osdep.h"
#include "qemu/bitmap.h"
#include "qemu/bitops.h"
#include "qemu/bswap.h"
#include "../../migration/recv-bitmap.h"

static void test_recv_bitmap_size(void)
{
    g_assert_cmpuint(recv_bitmap_wire_size(0), ==, 0);
    g_assert_cmpuint(recv_bitmap_wire_size(1), ==, 8);
    g_assert_cmpuint(recv_bitmap_wire_size(64), ==, 8);
    g_assert_cmpuint(recv_bitmap_wire_size(65), ==, 16);
    g_assert_cmpuint(recv_bitmap_wire_size(16384), ==, 2048); /* 64 MiB */
}

/* Pages 0, 9, 63, 64 and 100 of 130 present. */
static void test_recv_bitmap_encode(void)
{
    uint8_t present[130] = {0}, wire[24];
    uint64_t w0 = (1ULL << 0) | (1ULL << 9) | (1ULL << 63);
    uint64_t w1 = (1ULL << 0) | (1ULL << 36);

    present[0] = present[9] = present[63] = present[64] = present[100] = 1;
    present[5] = 0x80; /* only bit 0 of mincore's byte counts */
    memset(wire, 0xee, sizeof(wire));
    recv_bitmap_encode(wire, present, 130);
    g_assert_cmpuint(ldq_le_p(wire), ==, w0);
    g_assert_cmpuint(ldq_le_p(wire + 8), ==, w1);
    g_assert_cmpuint(ldq_le_p(wire + 16), ==, 0);
}

static void test_recv_bitmap_to_dirty(void)
{
    uint8_t wire[16];
    unsigned long *dirty = bitmap_new(70);

    memset(wire, 0xff, sizeof(wire)); /* padding bits set too */
    stq_le_p(wire, ~((1ULL << 3) | (1ULL << 40)));
    wire[8] = 0xfd;    /* page 65 not received */
    set_bit(7, dirty); /* replaced: postcopy's re-sync */
    g_assert_cmpuint(recv_bitmap_to_dirty(dirty, wire, 70, false), ==, 3);
    g_assert_true(test_bit(3, dirty));
    g_assert_true(test_bit(40, dirty));
    g_assert_true(test_bit(65, dirty));
    g_assert_cmpuint(bitmap_count_one(dirty, 70), ==, 3);
    g_free(dirty);
}

/* Precopy recovery: dirty pages stay dirty, missing ones are added. */
static void test_recv_bitmap_to_dirty_keep(void)
{
    uint8_t wire[16];
    unsigned long *dirty = bitmap_new(70);

    memset(wire, 0xff, sizeof(wire));
    stq_le_p(wire, ~((1ULL << 3) | (1ULL << 40)));
    set_bit(7, dirty);  /* re-dirtied, received before */
    set_bit(40, dirty); /* re-dirtied and missing */
    g_assert_cmpuint(recv_bitmap_to_dirty(dirty, wire, 70, true), ==, 2);
    g_assert_true(test_bit(3, dirty));
    g_assert_true(test_bit(7, dirty));
    g_assert_true(test_bit(40, dirty));
    g_assert_cmpuint(bitmap_count_one(dirty, 70), ==, 3);
    g_free(dirty);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/recv-bitmap/size", test_recv_bitmap_size);
    g_test_add_func("/recv-bitmap/encode", test_recv_bitmap_encode);
    g_test_add_func("/recv-bitmap/to-dirty", test_recv_bitmap_to_dirty);
    g_test_add_func("/recv-bitmap/to-dirty-keep",
                    test_recv_bitmap_to_dirty_keep);
    return g_test_run();
}
