/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test-iov.c: iovec helpers agree with a flat reference buffer for every
 * offset and length (including past the end), discard/copy edit the
 * vector as documented, and the IOVCursor walks, copies and exports the
 * same bytes as the flat buffer from every position.
 */
#include "qemu/osdep.h"
#include "qemu/iov.h"

/* A vector of uneven pieces (including an empty one) over one array. */
#define TOTAL 40
static const size_t piece_lens[] = {1, 7, 0, 16, 3, 13};

static unsigned int make_iov(struct iovec *iov, uint8_t *backing)
{
    size_t i, off = 0;

    for (i = 0; i < ARRAY_SIZE(piece_lens); i++) {
        iov[i].iov_base = backing + off;
        iov[i].iov_len = piece_lens[i];
        off += piece_lens[i];
    }
    g_assert_cmpuint(off, ==, TOTAL);
    return ARRAY_SIZE(piece_lens);
}

static void test_iov_size_sums_lengths(void)
{
    struct iovec iov[ARRAY_SIZE(piece_lens)];
    uint8_t backing[TOTAL];
    unsigned int cnt = make_iov(iov, backing);

    g_assert_cmpuint(iov_size(iov, cnt), ==, TOTAL);
    g_assert_cmpuint(iov_size(iov, 0), ==, 0);
    g_assert_cmpuint(iov_size(iov, 2), ==, 8);
}

static void test_iov_to_from_buf_every_offset_and_length(void)
{
    struct iovec iov[ARRAY_SIZE(piece_lens)];
    uint8_t backing[TOTAL], buf[TOTAL + 10];
    unsigned int cnt = make_iov(iov, backing);
    size_t off, len, i;

    for (off = 0; off <= TOTAL + 2; off++) {
        for (len = 0; len <= TOTAL + 5; len++) {
            size_t expect = off >= TOTAL ? 0 : MIN(len, TOTAL - off);

            for (i = 0; i < TOTAL; i++) {
                backing[i] = i;
            }
            memset(buf, 0xee, sizeof(buf));
            g_assert_cmpuint(iov_to_buf(iov, cnt, off, buf, len), ==, expect);
            for (i = 0; i < expect; i++) {
                g_assert_cmpuint(buf[i], ==, off + i);
            }
            g_assert_cmpuint(buf[expect], ==, 0xee);

            for (i = 0; i < sizeof(buf); i++) {
                buf[i] = 100 + i;
            }
            memset(backing, 0, TOTAL);
            g_assert_cmpuint(iov_from_buf(iov, cnt, off, buf, len), ==, expect);
            for (i = 0; i < TOTAL; i++) {
                bool inside = i >= off && i < off + expect;

                g_assert_cmpuint(backing[i], ==, inside ? 100 + i - off : 0);
            }

            memset(backing, 0, TOTAL);
            g_assert_cmpuint(iov_memset(iov, cnt, off, 0x5a, len), ==, expect);
            for (i = 0; i < TOTAL; i++) {
                bool inside = i >= off && i < off + expect;

                g_assert_cmpuint(backing[i], ==, inside ? 0x5a : 0);
            }
        }
    }
}

static void test_iov_discard_front_trims_and_advances(void)
{
    struct iovec iov[ARRAY_SIZE(piece_lens)];
    uint8_t backing[TOTAL];
    size_t n;

    for (n = 0; n <= TOTAL + 3; n++) {
        struct iovec *p = iov;
        unsigned int cnt = make_iov(iov, backing);
        size_t expect = MIN(n, TOTAL);

        g_assert_cmpuint(iov_discard_front(&p, &cnt, n), ==, expect);
        g_assert_cmpuint(iov_size(p, cnt), ==, TOTAL - expect);
        /* the first non-empty remaining element starts right after */
        while (cnt && !p[0].iov_len) {
            p++;
            cnt--;
        }
        if (cnt) {
            g_assert_true(p[0].iov_base == backing + expect);
        }
    }
}

static void test_iov_discard_back_trims_and_shrinks(void)
{
    struct iovec iov[ARRAY_SIZE(piece_lens)];
    uint8_t backing[TOTAL];
    size_t n;

    for (n = 0; n <= TOTAL + 3; n++) {
        unsigned int cnt = make_iov(iov, backing);
        size_t expect = MIN(n, TOTAL);

        g_assert_cmpuint(iov_discard_back(iov, &cnt, n), ==, expect);
        g_assert_cmpuint(iov_size(iov, cnt), ==, TOTAL - expect);
        if (cnt) {
            g_assert_true((uint8_t *)iov[cnt - 1].iov_base +
                              iov[cnt - 1].iov_len ==
                          backing + TOTAL - expect);
        }
    }
}

static void test_iov_copy_points_into_source(void)
{
    struct iovec iov[ARRAY_SIZE(piece_lens)], dst[8];
    uint8_t backing[TOTAL], buf[TOTAL];
    unsigned int cnt = make_iov(iov, backing), used;
    size_t i;

    for (i = 0; i < TOTAL; i++) {
        backing[i] = i;
    }
    /* [5, 30): 3 bytes of piece 1, piece 3 (16), piece 4 (3), 3 of 5 */
    used = iov_copy(dst, ARRAY_SIZE(dst), iov, cnt, 5, 25);
    g_assert_cmpuint(used, ==, 4);
    g_assert_cmpuint(iov_size(dst, used), ==, 25);
    g_assert_true(dst[0].iov_base == backing + 5);
    g_assert_cmpuint(iov_to_buf(dst, used, 0, buf, 25), ==, 25);
    for (i = 0; i < 25; i++) {
        g_assert_cmpuint(buf[i], ==, 5 + i);
    }
    /* dst too small: stops early */
    used = iov_copy(dst, 2, iov, cnt, 0, TOTAL);
    g_assert_cmpuint(used, ==, 2);
    g_assert_cmpuint(iov_size(dst, used), ==, 8);
    /* past the end */
    g_assert_cmpuint(iov_copy(dst, 8, iov, cnt, TOTAL, 4), ==, 0);
    g_assert_cmpuint(iov_copy(dst, 8, iov, cnt, 0, 0), ==, 0);
}

/* Reference offset of a cursor: bytes of whole elements before it + off. */
static size_t cursor_pos(const IOVCursor *c)
{
    size_t pos = 0;
    size_t i;

    for (i = 0; i < c->idx && i < c->niov; i++) {
        pos += c->iov[i].iov_len;
    }
    return pos + c->off;
}

static void test_iov_cursor_advance_and_piece_every_offset(void)
{
    struct iovec iov[ARRAY_SIZE(piece_lens)];
    uint8_t backing[TOTAL];
    unsigned int cnt = make_iov(iov, backing);
    size_t start, step;

    for (start = 0; start <= TOTAL + 3; start++) {
        for (step = 1; step <= TOTAL; step++) {
            IOVCursor c;
            size_t pos = MIN(start, TOTAL);

            iov_cursor_init(&c, iov, cnt);
            iov_cursor_advance(&c, start);
            g_assert_cmpuint(iov_cursor_remaining(&c), ==, TOTAL - pos);
            while (pos < TOTAL) {
                void *p;
                size_t n = iov_cursor_piece(&c, &p);

                /* the piece is the next bytes, never empty, never past */
                g_assert_cmpuint(n, >, 0);
                g_assert(p == backing + pos);
                g_assert_cmpuint(cursor_pos(&c), ==, pos);
                iov_cursor_advance(&c, MIN(step, n));
                pos += MIN(step, n);
                g_assert_cmpuint(iov_cursor_remaining(&c), ==, TOTAL - pos);
            }
            {
                void *p = backing;

                g_assert_cmpuint(iov_cursor_piece(&c, &p), ==, 0);
                g_assert_null(p);
            }
        }
    }
}

static void test_iov_cursor_copies_match_flat_buffer(void)
{
    struct iovec iov[ARRAY_SIZE(piece_lens)];
    uint8_t backing[TOTAL], buf[TOTAL + 8];
    unsigned int cnt = make_iov(iov, backing);
    size_t off, len, i;

    for (off = 0; off <= TOTAL; off++) {
        for (len = 0; len <= TOTAL + 4; len++) {
            size_t expect = MIN(len, TOTAL - off);
            IOVCursor c;

            for (i = 0; i < TOTAL; i++) {
                backing[i] = i;
            }
            iov_cursor_init(&c, iov, cnt);
            iov_cursor_advance(&c, off);
            memset(buf, 0xee, sizeof(buf));
            g_assert_cmpuint(iov_cursor_to_buf(&c, buf, len), ==, expect);
            g_assert_cmpmem(buf, expect, backing + off, expect);
            g_assert_cmpuint(iov_cursor_remaining(&c), ==,
                             TOTAL - off - expect);

            iov_cursor_init(&c, iov, cnt);
            iov_cursor_advance(&c, off);
            for (i = 0; i < sizeof(buf); i++) {
                buf[i] = 0x80 + i;
            }
            g_assert_cmpuint(iov_cursor_from_buf(&c, buf, len), ==, expect);
            for (i = 0; i < TOTAL; i++) {
                bool written = i >= off && i < off + expect;

                g_assert_cmpuint(backing[i], ==, written ? 0x80 + i - off : i);
            }
        }
    }
}

static void test_iov_cursor_export_trims_first_and_skips_empty(void)
{
    struct iovec iov[ARRAY_SIZE(piece_lens)];
    struct iovec dst[ARRAY_SIZE(piece_lens)];
    uint8_t backing[TOTAL], buf[TOTAL];
    unsigned int cnt = make_iov(iov, backing);
    size_t off, i, used;

    for (i = 0; i < TOTAL; i++) {
        backing[i] = i;
    }
    for (off = 0; off <= TOTAL; off++) {
        IOVCursor c;

        iov_cursor_init(&c, iov, cnt);
        iov_cursor_advance(&c, off);
        used = iov_cursor_export(&c, dst, ARRAY_SIZE(dst));
        g_assert_cmpuint(iov_size(dst, used), ==, TOTAL - off);
        for (i = 0; i < used; i++) {
            g_assert_cmpuint(dst[i].iov_len, >, 0);
        }
        if (used) {
            g_assert(dst[0].iov_base == backing + off);
        }
        g_assert_cmpuint(iov_to_buf(dst, used, 0, buf, TOTAL), ==, TOTAL - off);
        g_assert_cmpmem(buf, TOTAL - off, backing + off, TOTAL - off);
        /* exporting does not move the cursor */
        g_assert_cmpuint(iov_cursor_remaining(&c), ==, TOTAL - off);
    }
    /* a small dst gets the first elements only */
    {
        IOVCursor c;

        iov_cursor_init(&c, iov, cnt);
        g_assert_cmpuint(iov_cursor_export(&c, dst, 2), ==, 2);
        g_assert_cmpuint(dst[0].iov_len + dst[1].iov_len, ==, 8);
    }
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/iov/size-sums-lengths", test_iov_size_sums_lengths);
    g_test_add_func("/iov/to-from-buf-memset-every-offset-and-length",
                    test_iov_to_from_buf_every_offset_and_length);
    g_test_add_func("/iov/discard-front-trims-and-advances",
                    test_iov_discard_front_trims_and_advances);
    g_test_add_func("/iov/discard-back-trims-and-shrinks",
                    test_iov_discard_back_trims_and_shrinks);
    g_test_add_func("/iov/copy-points-into-source",
                    test_iov_copy_points_into_source);
    g_test_add_func("/iov/cursor-advance-and-piece-every-offset",
                    test_iov_cursor_advance_and_piece_every_offset);
    g_test_add_func("/iov/cursor-copies-match-flat-buffer",
                    test_iov_cursor_copies_match_flat_buffer);
    g_test_add_func("/iov/cursor-export-trims-first-and-skips-empty",
                    test_iov_cursor_export_trims_first_and_skips_empty);
    return g_test_run();
}
