/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test-multifd-packet.c: the multifd packet codec (migration/multifd.c).
 * Proves: an encoded header decodes to the same fields; each bad field
 * is refused with QEMU 7.2's text (magic, version, pages_alloc,
 * normal_pages, compression flag, payload size, unknown block, offset
 * beyond the block, misaligned offset); SYNC-only packets with 7.2's
 * stale fields pass; the initial packet checks magic, version, UUID and
 * id.  Then a fuzz loop: 200000 headers mutated at random (bytes, fields
 * set to edge values) never crash, and whatever the decoder accepts is
 * within its limits (the block exists, every offset is a page inside
 * it, the payload fits).
 */
#include "qemu/osdep.h"
#include "qapi/error.h"
#include "qemu/bswap.h"
#include "sysemu/sysemu.h"
#include "../../migration/multifd.h"

#define BLOCK_SIZE (1 * MiB)

static RAMBlock *blk;

/* The VM UUID (system/runstate.c in tern): zero, as without -uuid. */
uint8_t qemu_uuid[16];
bool qemu_uuid_set;

char *qemu_uuid_unparse(const uint8_t u[16])
{
    return g_strdup_printf("%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-"
                           "%02x%02x%02x%02x%02x%02x",
                           u[0], u[1], u[2], u[3], u[4], u[5], u[6], u[7], u[8],
                           u[9], u[10], u[11], u[12], u[13], u[14], u[15]);
}

static void encode(uint8_t *buf, uint32_t flags, uint32_t n)
{
    uint64_t off[MULTIFD_PACKET_PAGES] = {0};

    for (uint32_t i = 0; i < n; i++) {
        off[i] = (uint64_t)((i * 7) % (BLOCK_SIZE / TARGET_PAGE_SIZE))
                 << TARGET_PAGE_BITS;
    }
    multifd_packet_encode(buf, flags, n ? blk : NULL, off, n,
                          n * TARGET_PAGE_SIZE, 42);
}

/* Decode buf expecting failure with text want. */
static void expect_error(const uint8_t *buf, uint32_t comp, const char *want)
{
    MultiFDPacket p;
    RAMBlock *rb;
    Error *err = NULL;

    g_assert_false(multifd_packet_decode(buf, comp, &p, &rb, &err));
    g_assert_nonnull(err);
    g_assert_cmpstr(error_get_pretty(err), ==, want);
    error_free(err);
}

static void test_roundtrip(void)
{
    uint8_t buf[MULTIFD_PACKET_HEADER_SIZE];
    MultiFDPacket p;
    RAMBlock *rb;

    encode(buf, MULTIFD_FLAG_SYNC, 5);
    g_assert_true(
        multifd_packet_decode(buf, MULTIFD_FLAG_NOCOMP, &p, &rb, &error_abort));
    g_assert_true(rb == blk);
    g_assert_cmpuint(p.flags, ==, MULTIFD_FLAG_SYNC);
    g_assert_cmpuint(p.pages_alloc, ==, MULTIFD_PACKET_PAGES);
    g_assert_cmpuint(p.normal_pages, ==, 5);
    g_assert_cmpuint(p.next_packet_size, ==, 5 * TARGET_PAGE_SIZE);
    g_assert_cmpuint(p.packet_num, ==, 42);
    g_assert_cmpuint(p.offset[1], ==, 7 * TARGET_PAGE_SIZE);
    g_assert_cmpuint(buf[0], ==, 0x11);
    g_assert_cmpuint(buf[3], ==, 0x44);
}

static void test_bad_fields(void)
{
    uint8_t buf[MULTIFD_PACKET_HEADER_SIZE];

    encode(buf, 0, 2);
    stl_be_p(buf, 0x5145564d);
    expect_error(buf, 0,
                 "multifd: received packet magic 5145564d and "
                 "expected magic 11223344");
    encode(buf, 0, 2);
    stl_be_p(buf + 4, 2);
    expect_error(buf, 0,
                 "multifd: received packet version 2 and expected "
                 "version 1");
    encode(buf, 0, 2);
    stl_be_p(buf + 12, 129);
    expect_error(buf, 0,
                 "multifd: received packet with 129 pages and "
                 "expected maximum pages are 128");
    encode(buf, 0, 2);
    stl_be_p(buf + 12, 1);
    expect_error(buf, 0,
                 "multifd: received packet with 2 normal pages and "
                 "expected maximum pages are 1");
    encode(buf, MULTIFD_FLAG_ZLIB, 2);
    expect_error(buf, MULTIFD_FLAG_ZSTD,
                 "multifd: flags received 2 flags expected 4");
    encode(buf, 0, 2);
    stl_be_p(buf + 20, 3 * TARGET_PAGE_SIZE);
    expect_error(buf, 0,
                 "multifd: received packet payload of 12288 bytes "
                 "for 2 pages");
    encode(buf, MULTIFD_FLAG_ZSTD, 2);
    stl_be_p(buf + 20, MULTIFD_PAYLOAD_MAX + 1);
    expect_error(buf, MULTIFD_FLAG_ZSTD,
                 "multifd: received packet payload of 1048577 bytes for 2 "
                 "pages");
    encode(buf, 0, 2);
    memcpy(buf + 64, "nosuch", 7);
    expect_error(buf, 0, "multifd: unknown ram block nosuch");
    encode(buf, 0, 2);
    stq_be_p(buf + 320 + 8, BLOCK_SIZE);
    expect_error(buf, 0, "multifd: offset too long 1048576 (max 1048576)");
    encode(buf, 0, 2);
    stq_be_p(buf + 320 + 8, 100);
    expect_error(buf, 0, "multifd: offset too long 100 (max 1048576)");
}

/* 7.2 leaves block, offsets and size of the previous packet on a SYNC. */
static void test_sync_only_stale(void)
{
    uint8_t buf[MULTIFD_PACKET_HEADER_SIZE];
    MultiFDPacket p;
    RAMBlock *rb;

    encode(buf, MULTIFD_FLAG_SYNC, 0);
    memcpy(buf + 64, "stale-block", 12);
    stl_be_p(buf + 20, 44 * TARGET_PAGE_SIZE);
    stq_be_p(buf + 320, ~0ULL);
    g_assert_true(
        multifd_packet_decode(buf, MULTIFD_FLAG_ZLIB, &p, &rb, &error_abort));
    g_assert_null(rb);
    g_assert_cmpuint(p.flags, ==, MULTIFD_FLAG_SYNC);
}

static void test_initial_packet(void)
{
    uint8_t buf[MULTIFD_INIT_PACKET_SIZE];
    Error *err = NULL;
    uint8_t id;

    multifd_init_packet_encode(buf, 1);
    g_assert_true(multifd_init_packet_decode(buf, 2, &id, &error_abort));
    g_assert_cmpuint(id, ==, 1);
    g_assert_false(multifd_init_packet_decode(buf, 1, &id, &err));
    g_assert_cmpstr(error_get_pretty(err), ==,
                    "multifd: received channel id 1 but only 1 channels are "
                    "expected");
    error_free(err);
    err = NULL;
    buf[8] = 0x12;
    g_assert_false(multifd_init_packet_decode(buf, 2, &id, &err));
    g_assert_cmpstr(error_get_pretty(err), ==,
                    "multifd: received uuid '12000000-0000-0000-0000-"
                    "000000000000' and expected uuid '00000000-0000-0000-"
                    "0000-000000000000' for channel 1");
    error_free(err);
    err = NULL;
    stl_be_p(buf, 0x5145564d);
    g_assert_false(multifd_init_packet_decode(buf, 2, &id, &err));
    g_assert_cmpstr(error_get_pretty(err), ==,
                    "multifd: received packet magic 5145564d expected "
                    "11223344");
    error_free(err);
}

/* One random mutation of buf. */
static void mutate(GRand *r, uint8_t *buf)
{
    static const uint32_t edges[] = {0,   1,          127,        128,
                                     129, 0x7fffffff, 0xffffffff, BLOCK_SIZE};
    int n = g_rand_int_range(r, 1, 6);

    for (int i = 0; i < n; i++) {
        switch (g_rand_int_range(r, 0, 3)) {
        case 0:
            buf[g_rand_int_range(r, 0, MULTIFD_PACKET_HEADER_SIZE)] =
                g_rand_int(r);
            break;
        case 1: /* a 32-bit field of the fixed part to an edge value */
            stl_be_p(buf + 4 * g_rand_int_range(r, 0, 6),
                     edges[g_rand_int_range(r, 0, G_N_ELEMENTS(edges))]);
            break;
        default: /* an offset slot */
            stq_be_p(buf + 320 + 8 * g_rand_int_range(r, 0, 128),
                     (uint64_t)g_rand_int(r) << g_rand_int_range(r, 0, 33));
        }
    }
}

static void test_fuzz(void)
{
    GRand *r = g_rand_new_with_seed(1234);
    uint8_t buf[MULTIFD_PACKET_HEADER_SIZE];
    unsigned accepted = 0, refused = 0;

    for (int iter = 0; iter < 200000; iter++) {
        uint32_t comp = g_rand_int_range(r, 0, 3) * 2;
        MultiFDPacket p;
        RAMBlock *rb;
        Error *err = NULL;

        encode(buf, g_rand_int_range(r, 0, 2) | comp,
               g_rand_int_range(r, 0, MULTIFD_PACKET_PAGES + 1));
        mutate(r, buf);
        if (!multifd_packet_decode(buf, comp, &p, &rb, &err)) {
            g_assert_nonnull(err);
            error_free(err);
            refused++;
            continue;
        }
        accepted++;
        g_assert_cmpuint(p.pages_alloc, <=, MULTIFD_PACKET_PAGES);
        g_assert_cmpuint(p.normal_pages, <=, p.pages_alloc);
        if (!p.normal_pages) {
            continue;
        }
        g_assert_true(rb == blk);
        g_assert_cmpuint(p.next_packet_size, <=, MULTIFD_PAYLOAD_MAX);
        for (uint32_t i = 0; i < p.normal_pages; i++) {
            g_assert_cmpuint(p.offset[i] % TARGET_PAGE_SIZE, ==, 0);
            g_assert_cmpuint(p.offset[i] + TARGET_PAGE_SIZE, <=, BLOCK_SIZE);
        }
    }
    g_assert_cmpuint(accepted, >, 1000);
    g_assert_cmpuint(refused, >, 1000);
    g_rand_free(r);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    blk = ram_block_add("pc.ram", BLOCK_SIZE, NULL, &error_abort);
    g_test_add_func("/multifd/packet/roundtrip", test_roundtrip);
    g_test_add_func("/multifd/packet/bad-fields", test_bad_fields);
    g_test_add_func("/multifd/packet/sync-only-stale", test_sync_only_stale);
    g_test_add_func("/multifd/packet/initial", test_initial_packet);
    g_test_add_func("/multifd/packet/fuzz", test_fuzz);
    return g_test_run();
}
