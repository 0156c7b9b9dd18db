/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test-buffer-zero.c: buffer_is_zero gives the right answer for every
 * implementation this CPU has, every length and alignment of small
 * buffers and a non-zero byte at every position, never reads outside the
 * buffer, and handles page-sized buffers.  Run with -m perf (or
 * TERN_BENCH=1) for a small throughput printout.
 */
#include "qemu/osdep.h"
#include "qemu/buffer-zero.h"

static const char *const impls[] = {"avx2", "sse2", "scalar"};

#define SMALL_MAX 300
#define ALIGN_MAX 64
#define GUARD 64

/*
 * Check one implementation: for each alignment and length, the buffer
 * sits between 0xff guard bytes (an over-read would see them and answer
 * false), is zero, then has one non-zero byte at each position in turn.
 */
static void check_small_buffers(void)
{
    g_autofree uint8_t *mem = g_malloc(GUARD + ALIGN_MAX + SMALL_MAX + GUARD);
    size_t align, len, pos;

    for (align = 0; align < ALIGN_MAX; align++) {
        for (len = 0; len <= SMALL_MAX; len++) {
            uint8_t *buf = mem + GUARD + align;

            memset(mem, 0xff, GUARD + ALIGN_MAX + SMALL_MAX + GUARD);
            memset(buf, 0, len);
            g_assert_true(buffer_is_zero(buf, len));
            /* every position for short buffers, a sample for longer */
            for (pos = 0; pos < len;
                 pos += (len <= 140 || align % 8 == 0) ? 1 : 7) {
                buf[pos] = 1 << (pos % 8);
                if (buffer_is_zero(buf, len)) {
                    g_error("%s: len %zu align %zu: byte %zu missed",
                            buffer_is_zero_impl(), len, align, pos);
                }
                buf[pos] = 0;
            }
            if (len) {
                buf[len - 1] = 0x80;
                g_assert_false(buffer_is_zero(buf, len));
            }
        }
    }
}

static void check_page_buffers(void)
{
    const size_t size = 64 * 1024;
    g_autofree uint8_t *mem = g_malloc0(size + 64);
    size_t offs[] = {0, 1, 15, 31, 33};
    size_t i, pos;

    for (i = 0; i < ARRAY_SIZE(offs); i++) {
        uint8_t *buf = mem + offs[i];

        g_assert_true(buffer_is_zero(buf, 4096));
        g_assert_true(buffer_is_zero(buf, size));
        for (pos = 0; pos < size; pos += 4093) {
            buf[pos] = 0x10;
            g_assert_false(buffer_is_zero(buf, size));
            g_assert_cmpint(buffer_is_zero(buf, 4096), ==, pos >= 4096);
            buf[pos] = 0;
        }
        buf[size - 1] = 1;
        g_assert_false(buffer_is_zero(buf, size));
        g_assert_true(buffer_is_zero(buf, size - 1));
        buf[size - 1] = 0;
    }
}

static void test_buffer_zero_each_impl(gconstpointer data)
{
    const char *name = data;

    if (!buffer_is_zero_select(name)) {
        g_test_skip("implementation not supported by this CPU");
        return;
    }
    g_assert_cmpstr(buffer_is_zero_impl(), ==, name);
    check_small_buffers();
    check_page_buffers();
}

static void test_buffer_zero_default_is_best_supported(void)
{
    const char *best = NULL;
    size_t i;

    for (i = 0; i < ARRAY_SIZE(impls); i++) {
        if (buffer_is_zero_select(impls[i])) {
            best = impls[i];
            break;
        }
    }
    g_assert_nonnull(best);
    g_assert_true(buffer_is_zero_select("scalar"));
    g_assert_false(buffer_is_zero_select("no-such-impl"));
    g_assert_cmpstr(buffer_is_zero_impl(), ==, "scalar");
    g_test_message("best implementation on this CPU: %s", best);
}

static void test_buffer_zero_bench(void)
{
    const size_t size = 64 * KiB;
    g_autofree uint8_t *buf = g_malloc0(size);
    size_t i;

    if (!g_test_perf() && !g_getenv("TERN_BENCH")) {
        g_test_skip("benchmark: run with -m perf");
        return;
    }
    for (i = 0; i < ARRAY_SIZE(impls); i++) {
        gint64 t0, t1;
        int rep;

        if (!buffer_is_zero_select(impls[i])) {
            continue;
        }
        t0 = g_get_monotonic_time();
        for (rep = 0; rep < 4096; rep++) {
            g_assert_true(buffer_is_zero(buf, size));
        }
        t1 = g_get_monotonic_time();
        g_test_message("%-6s %8.1f MiB/s", impls[i],
                       4096.0 * size / MiB / ((t1 - t0 + 1) / 1e6));
    }
}

int main(int argc, char **argv)
{
    size_t i;

    g_test_init(&argc, &argv, NULL);
    for (i = 0; i < ARRAY_SIZE(impls); i++) {
        g_autofree char *path = g_strdup_printf(
            "/buffer-zero/%s/every-length-alignment-position", impls[i]);

        g_test_add_data_func(path, impls[i], test_buffer_zero_each_impl);
    }
    g_test_add_func("/buffer-zero/default-is-best-supported",
                    test_buffer_zero_default_is_best_supported);
    g_test_add_func("/buffer-zero/bench", test_buffer_zero_bench);
    return g_test_run();
}
