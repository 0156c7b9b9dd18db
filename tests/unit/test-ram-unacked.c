/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test-ram-unacked.c: the pages a precopy source sent and the
 * destination has not acknowledged (x-precopy-recover).  Proves: pages
 * noted before an answered PING are forgotten, pages noted after it or
 * while it is in flight are kept; a resume makes every kept page dirty
 * (ORed into the migration bitmap, never clearing a dirty bit) and
 * empties both sets; blocks are kept apart.
 */
#include "qemu/osdep.h"
#include "qemu/bitmap.h"
#include "qemu/bitops.h"
#include "../../migration/ram-unacked.h"

#define PAGES 100

static RAMBlock *block_new(void)
{
    RAMBlock *rb = g_new0(RAMBlock, 1);

    rb->used_length = (uint64_t)PAGES * TARGET_PAGE_SIZE;
    rb->bmap = bitmap_new(PAGES);
    return rb;
}

static void block_free(RAMBlock *rb)
{
    g_free(rb->bmap);
    g_free(rb);
}

static void test_unacked_ping_cycle(void)
{
    RAMUnacked *u = ram_unacked_new();
    RAMBlock *a = block_new(), *b = block_new();

    ram_unacked_note(u, a, 1);
    ram_unacked_flip(u); /* PING 1 covers page 1 of a */
    ram_unacked_note(u, a, 2);
    ram_unacked_note(u, b, 3);
    ram_unacked_acked(u); /* PONG 1: page 1 loaded */
    ram_unacked_flip(u);  /* PING 2 covers a:2, b:3 */
    ram_unacked_note(u, a, 4);
    set_bit(50, a->bmap); /* dirtied again by the guest meanwhile */
    g_assert_cmpuint(ram_unacked_to_dirty(u), ==, 3);
    g_assert_false(test_bit(1, a->bmap));
    g_assert_true(test_bit(2, a->bmap));
    g_assert_true(test_bit(4, a->bmap));
    g_assert_true(test_bit(50, a->bmap));
    g_assert_true(test_bit(3, b->bmap));
    g_assert_cmpuint(bitmap_count_one(a->bmap, PAGES), ==, 3);
    g_assert_cmpuint(bitmap_count_one(b->bmap, PAGES), ==, 1);
    /* emptied: a second resume adds nothing */
    g_assert_cmpuint(ram_unacked_to_dirty(u), ==, 0);
    ram_unacked_free(u);
    block_free(a);
    block_free(b);
}

static void test_unacked_out_of_range(void)
{
    RAMUnacked *u = ram_unacked_new();
    RAMBlock *a = block_new();

    ram_unacked_note(u, a, PAGES); /* ignored, never written */
    ram_unacked_note(u, a, PAGES - 1);
    g_assert_cmpuint(ram_unacked_to_dirty(u), ==, 1);
    g_assert_true(test_bit(PAGES - 1, a->bmap));
    ram_unacked_free(u);
    block_free(a);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/ram-unacked/ping-cycle", test_unacked_ping_cycle);
    g_test_add_func("/ram-unacked/out-of-range", test_unacked_out_of_range);
    return g_test_run();
}
