/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test-ram-select.c: page selection of the outgoing "ram" section.
 * Proves: the cursor walks blocks in order and counts its rounds (the
 * wrap past the last block, which starts XBZRLE); queued requests are served
 * before the cursor; every selection clears the page's bit, so a page is
 * selected once per dirtying however it was asked for; bad requests are
 * refused with an error; requests queued from another thread while the
 * migration thread selects lose no page and duplicate none; nor do
 * pages claimed by another thread (postcopy-preempt); a restart
 * (postcopy recovery) finds bits set again behind the cursor.  The
 * selector says which pages were requested ones.
 */
#include "qemu/osdep.h"
#include "qemu/bitmap.h"
#include "qemu/bitops.h"
#include "../../migration/migration-stats.h"
#include "../../migration/ram-select.h"

#define PAGES 8

static RAMBlock *blk_a, *blk_b;

/* Select everything left; count how often each page came out. */
static unsigned drain(RAMPageSelect *ps, unsigned seen[2][PAGES])
{
    RAMBlock *rb;
    uint64_t page;
    unsigned n = 0;

    while (ram_select_next(ps, &rb, &page)) {
        g_assert_true(rb == blk_a || rb == blk_b);
        g_assert_cmpuint(page, <, PAGES);
        g_assert_false(test_bit(page, rb->bmap));
        seen[rb == blk_b][page]++;
        n++;
    }
    g_assert_cmpuint(stat64_get(&mig_stats.remaining_pages), ==, 0);
    g_assert_cmpuint(ram_select_count_dirty(ps), ==, 0);
    return n;
}

static void assert_each_once(unsigned seen[2][PAGES])
{
    for (int b = 0; b < 2; b++) {
        for (int p = 0; p < PAGES; p++) {
            g_assert_cmpuint(seen[b][p], ==, 1);
        }
    }
}

static void expect_next(RAMPageSelect *ps, RAMBlock *want_rb, uint64_t want)
{
    RAMBlock *rb = NULL;
    uint64_t page = UINT64_MAX;

    g_assert_true(ram_select_next(ps, &rb, &page));
    g_assert_true(rb == want_rb);
    g_assert_cmpuint(page, ==, want);
}

/* No request: block a's pages, then block b's, then nothing. */
static void test_select_cursor_order(void)
{
    RAMPageSelect ps;

    ram_select_init(&ps);
    g_assert_cmpuint(stat64_get(&mig_stats.remaining_pages), ==, 2 * PAGES);
    for (uint64_t p = 0; p < PAGES; p++) {
        expect_next(&ps, blk_a, p);
    }
    for (uint64_t p = 0; p < PAGES; p++) {
        expect_next(&ps, blk_b, p);
    }
    g_assert_cmpuint(ps.rounds, ==, 0); /* round one not over yet */
    g_assert_false(ram_select_next(&ps, &(RAMBlock *){NULL}, &(uint64_t){0}));
    /* a page dirtied again: the cursor wraps to it, round two starts */
    set_bit(3, blk_a->bmap);
    ram_select_count_dirty(&ps);
    expect_next(&ps, blk_a, 3);
    g_assert_cmpuint(ps.rounds, ==, 1);
    ram_select_destroy(&ps);
    g_assert_null(blk_a->bmap);
}

/* A request jumps the cursor; the cursor later skips its pages. */
static void test_select_request_first(void)
{
    unsigned seen[2][PAGES] = {{0}};
    RAMPageSelect ps;

    ram_select_init(&ps);
    expect_next(&ps, blk_a, 0);
    g_assert_false(ps.requested);
    seen[0][0]++;
    g_assert_true(ram_page_request_queue(&ps, blk_b, 3 * TARGET_PAGE_SIZE,
                                         2 * TARGET_PAGE_SIZE, &error_abort));
    expect_next(&ps, blk_b, 3);
    g_assert_true(ps.requested);
    expect_next(&ps, blk_b, 4);
    g_assert_true(ps.requested);
    seen[1][3]++;
    seen[1][4]++;
    g_assert_false(test_bit(3, blk_b->bmap));
    g_assert_false(test_bit(4, blk_b->bmap));
    expect_next(&ps, blk_a, 1); /* back to the cursor, where it was */
    g_assert_false(ps.requested);
    seen[0][1]++;
    g_assert_cmpuint(drain(&ps, seen), ==, 2 * PAGES - 4);
    assert_each_once(seen);
    ram_select_destroy(&ps);
}

/*
 * A request for pages already sent selects nothing; once a page is
 * dirtied again (its bit set, as a sync does), a request sends it once.
 * Unaligned ranges cover every page they touch.
 */
static void test_select_request_once_per_dirtying(void)
{
    unsigned seen[2][PAGES] = {{0}};
    RAMPageSelect ps;

    ram_select_init(&ps);
    g_assert_cmpuint(drain(&ps, seen), ==, 2 * PAGES);
    assert_each_once(seen);
    g_assert_true(
        ram_page_request_queue(&ps, blk_a, 0, TARGET_PAGE_SIZE, &error_abort));
    g_assert_false(ram_select_next(&ps, &(RAMBlock *){NULL}, &(uint64_t){0}));

    set_bit(1, blk_a->bmap);
    set_bit(2, blk_a->bmap);
    ram_select_count_dirty(&ps);
    g_assert_true(ram_page_request_queue(&ps, blk_a, TARGET_PAGE_SIZE - 1, 2,
                                         &error_abort));
    g_assert_true(ram_page_request_queue(&ps, blk_a, 2 * TARGET_PAGE_SIZE + 9,
                                         1, &error_abort));
    expect_next(&ps, blk_a, 1);
    expect_next(&ps, blk_a, 2);
    g_assert_false(ram_select_next(&ps, &(RAMBlock *){NULL}, &(uint64_t){0}));
    g_assert_cmpuint(stat64_get(&mig_stats.remaining_pages), ==, 0);
    ram_select_destroy(&ps);
}

/* Requests outside the block are refused, nothing is queued. */
static void test_select_request_bad(void)
{
    uint64_t len = PAGES * TARGET_PAGE_SIZE;
    RAMPageSelect ps;
    Error *err = NULL;

    ram_select_init(&ps);
    g_assert_false(ram_page_request_queue(&ps, blk_a, 0, 0, &err));
    g_assert_nonnull(strstr(error_get_pretty(err), "outside RAM block a"));
    error_free(err);
    err = NULL;
    g_assert_false(ram_page_request_queue(&ps, blk_a, len, 1, &err));
    error_free(err);
    err = NULL;
    g_assert_false(
        ram_page_request_queue(&ps, blk_a, TARGET_PAGE_SIZE, UINT64_MAX, &err));
    error_free(err);
    g_assert_cmpuint(ps.nr_requests, ==, 0);
    expect_next(&ps, blk_a, 0);
    ram_select_destroy(&ps);
}

typedef struct Requester {
    RAMPageSelect *ps;
    int started;
} Requester;

/* Another thread asks for block b's pages, last to first. */
static gpointer requester(gpointer opaque)
{
    Requester *r = opaque;

    __atomic_store_n(&r->started, 1, __ATOMIC_RELEASE);
    for (int round = 0; round < 100; round++) {
        for (int p = PAGES - 1; p >= 0; p--) {
            ram_page_request_queue(r->ps, blk_b, p * TARGET_PAGE_SIZE,
                                   TARGET_PAGE_SIZE, &error_abort);
        }
    }
    return NULL;
}

static void test_select_request_threads(void)
{
    for (int i = 0; i < 50; i++) {
        unsigned seen[2][PAGES] = {{0}};
        RAMPageSelect ps;
        Requester r = {.ps = &ps};
        GThread *t;
        unsigned n = 0;
        RAMBlock *rb;
        uint64_t page;

        ram_select_init(&ps);
        t = g_thread_new("requester", requester, &r);
        while (!__atomic_load_n(&r.started, __ATOMIC_ACQUIRE)) {
            g_thread_yield();
        }
        while (ram_select_next(&ps, &rb, &page)) {
            seen[rb == blk_b][page]++;
            n++;
        }
        g_thread_join(t);
        g_assert_false(ram_select_next(&ps, &rb, &page));
        g_assert_cmpuint(n, ==, 2 * PAGES);
        assert_each_once(seen);
        ram_select_destroy(&ps);
    }
}

/*
 * A resend (checkpoint-assisted: the destination lost a page) selects
 * the page even though it is clean, once, and keeps the count right.
 */
static void test_select_resend_clean_page(void)
{
    unsigned seen[2][PAGES] = {{0}};
    RAMPageSelect ps;

    ram_select_init(&ps);
    g_assert_cmpuint(drain(&ps, seen), ==, 2 * PAGES);
    g_assert_true(ram_page_request_resend(&ps, blk_b, 5 * TARGET_PAGE_SIZE,
                                          &error_abort));
    expect_next(&ps, blk_b, 5);
    g_assert_false(test_bit(5, blk_b->bmap));
    g_assert_cmpuint(stat64_get(&mig_stats.remaining_pages), ==, 0);
    g_assert_false(ram_select_next(&ps, &(RAMBlock *){NULL}, &(uint64_t){0}));
    /* a dirty page resent is selected once, not twice */
    set_bit(2, blk_a->bmap);
    ram_select_count_dirty(&ps);
    g_assert_true(ram_page_request_resend(&ps, blk_a, 2 * TARGET_PAGE_SIZE,
                                          &error_abort));
    expect_next(&ps, blk_a, 2);
    g_assert_false(ram_select_next(&ps, &(RAMBlock *){NULL}, &(uint64_t){0}));
    g_assert_false(
        ram_page_request_resend(&ps, blk_a, PAGES * TARGET_PAGE_SIZE, NULL));
    ram_select_destroy(&ps);
}

/* Another thread claims block b's pages (postcopy-preempt's sender). */
static gpointer claimer(gpointer opaque)
{
    unsigned *seen_b = opaque;

    for (int round = 0; round < 100; round++) {
        for (int p = PAGES - 1; p >= 0; p--) {
            if (ram_select_claim(blk_b, p)) {
                seen_b[p]++;
            }
        }
    }
    return NULL;
}

/*
 * A page claimed by another thread is not selected again and vice
 * versa: every page comes out exactly once, the count ends at 0.
 */
static void test_select_claim_threads(void)
{
    for (int i = 0; i < 50; i++) {
        unsigned seen[2][PAGES] = {{0}}, claimed[PAGES] = {0};
        RAMPageSelect ps;
        GThread *t;
        RAMBlock *rb;
        uint64_t page;

        ram_select_init(&ps);
        t = g_thread_new("claimer", claimer, claimed);
        while (ram_select_next(&ps, &rb, &page)) {
            seen[rb == blk_b][page]++;
        }
        g_thread_join(t);
        for (int p = 0; p < PAGES; p++) {
            seen[1][p] += claimed[p];
        }
        assert_each_once(seen);
        g_assert_cmpuint(stat64_get(&mig_stats.remaining_pages), ==, 0);
        ram_select_destroy(&ps);
    }
}

/*
 * Restart (postcopy recovery): bits set again behind the cursor are
 * found from the first block, queued requests are dropped, the count is
 * the bits'.
 */
static void test_select_restart(void)
{
    RAMPageSelect ps;
    RAMBlock *rb;
    uint64_t page;

    ram_select_init(&ps);
    while (ram_select_next(&ps, &rb, &page)) {
        /* all sent */
    }
    ram_page_request_queue(&ps, blk_b, 0, TARGET_PAGE_SIZE, &error_abort);
    set_bit(3, blk_a->bmap);
    set_bit(5, blk_b->bmap);
    ram_select_restart(&ps);
    g_assert_cmpuint(stat64_get(&mig_stats.remaining_pages), ==, 2);
    expect_next(&ps, blk_a, 3);
    expect_next(&ps, blk_b, 5);
    g_assert_false(ram_select_next(&ps, &rb, &page));
    ram_select_destroy(&ps);
}

int main(int argc, char **argv)
{
    int ret;

    g_test_init(&argc, &argv, NULL);
    blk_a = ram_block_add("a", PAGES * TARGET_PAGE_SIZE, NULL, &error_abort);
    blk_b = ram_block_add("b", PAGES * TARGET_PAGE_SIZE, NULL, &error_abort);
    g_test_add_func("/ram-select/cursor-order", test_select_cursor_order);
    g_test_add_func("/ram-select/request-first", test_select_request_first);
    g_test_add_func("/ram-select/request-once-per-dirtying",
                    test_select_request_once_per_dirtying);
    g_test_add_func("/ram-select/request-bad", test_select_request_bad);
    g_test_add_func("/ram-select/request-threads", test_select_request_threads);
    g_test_add_func("/ram-select/resend-clean-page",
                    test_select_resend_clean_page);
    g_test_add_func("/ram-select/claim-threads", test_select_claim_threads);
    g_test_add_func("/ram-select/restart", test_select_restart);
    ret = g_test_run();
    ram_block_list_free();
    return ret;
}
