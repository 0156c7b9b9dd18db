/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test-memcpy-nt.c: memcpy_nt copies exactly [dst, dst + len) for every
 * source alignment and length granule, and its fence makes the data
 * visible to another thread.
 */
#include "qemu/osdep.h"
#include "qemu/memcpy-nt.h"

#define BUF_LEN (4 * 4096)
#define GUARD 64

static void fill_pattern(uint8_t *p, size_t len, unsigned seed)
{
    for (size_t i = 0; i < len; i++) {
        p[i] = (uint8_t)(i * 131 + seed * 7 + 1);
    }
}

/* Every len granule and src misalignment; bytes around dst untouched. */
static void test_memcpy_nt_exact(void)
{
    uint8_t *src = g_malloc(BUF_LEN + GUARD);
    uint8_t *dst = g_aligned_alloc(1, BUF_LEN + 2 * GUARD, 64);

    for (size_t len = 0; len <= BUF_LEN; len += MEMCPY_NT_ALIGN) {
        for (size_t mis = 0; mis < 17; mis += 5) {
            fill_pattern(src, BUF_LEN + GUARD, len + mis);
            memset(dst, 0xa5, BUF_LEN + 2 * GUARD);
            memcpy_nt(dst + GUARD, src + mis, len);
            memcpy_nt_fence();
            g_assert_cmpmem(dst + GUARD, len, src + mis, len);
            for (size_t i = 0; i < GUARD; i++) {
                g_assert_cmphex(dst[i], ==, 0xa5);
            }
            for (size_t i = GUARD + len; i < BUF_LEN + 2 * GUARD; i++) {
                g_assert_cmphex(dst[i], ==, 0xa5);
            }
        }
    }
    g_aligned_free(dst);
    g_free(src);
}

typedef struct Handoff {
    uint8_t *page;
    int ready;
} Handoff;

static gpointer reader(gpointer opaque)
{
    Handoff *h = opaque;
    uint8_t want[4096];

    while (!__atomic_load_n(&h->ready, __ATOMIC_ACQUIRE)) {
        g_usleep(100);
    }
    fill_pattern(want, sizeof(want), 3);
    g_assert_cmpmem(h->page, sizeof(want), want, sizeof(want));
    return NULL;
}

/* Copy, fence, publish: another thread sees the whole page. */
static void test_memcpy_nt_fence_publishes(void)
{
    uint8_t src[4096];
    Handoff h = {.page = g_aligned_alloc(1, 4096, 64)};
    GThread *t = g_thread_new("reader", reader, &h);

    fill_pattern(src, sizeof(src), 3);
    memcpy_nt(h.page, src, sizeof(src));
    memcpy_nt_fence();
    __atomic_store_n(&h.ready, 1, __ATOMIC_RELEASE);
    g_thread_join(t);
    g_aligned_free(h.page);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/memcpy-nt/exact", test_memcpy_nt_exact);
    g_test_add_func("/memcpy-nt/fence-publishes",
                    test_memcpy_nt_fence_publishes);
    return g_test_run();
}
