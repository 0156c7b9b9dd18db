/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test-checkpoint-exchange.c: the pieces of checkpoint-assisted
 * migration that need no migration: page digests, the offer's codec,
 * the source's key set and the destination's checkpoint index.
 * Proves: SHA-256 matches a known value; offers survive a round trip and
 * every malformed one is refused with an error (never a crash); the key
 * set holds exactly the offered keys; the index finds each non-zero page
 * of a dump-guest-memory ELF by digest and by address, skips zero pages,
 * refuses a file that is not a dump, and reports reads of a file
 * truncated after indexing as errors.
 */
#include "qemu/osdep.h"
#include "qemu/bswap.h"
#include <elf.h>
#include "../../migration/checkpoint-exchange.h"
#include "../../migration/checkpoint-index.h"

static void fill_page(uint8_t *p, unsigned seed)
{
    for (unsigned i = 0; i < TARGET_PAGE_SIZE; i++) {
        p[i] = (uint8_t)(seed * 131 + i * 7 + (i >> 8));
    }
}

static void test_hash_known(void)
{
    static const char zero_sha[] = "ad7facb2586fc6e966c004d7d1d16b02"
                                   "4f5805ff7cb47c7a85dabd8b48892ca7";
    uint8_t page[TARGET_PAGE_SIZE] = {0};
    uint8_t d[CKPT_DIGEST_BYTES];
    char hex[2 * CKPT_DIGEST_BYTES + 1];

    checkpoint_hash_page(page, d);
    for (int i = 0; i < CKPT_DIGEST_BYTES; i++) {
        sprintf(hex + 2 * i, "%02x", d[i]);
    }
    g_assert_cmpstr(hex, ==, zero_sha);
    g_assert_cmphex(checkpoint_digest_key(d), ==, 0xad7facb2586fc6e9ull);
    memset(d, 0, sizeof(d));
    g_assert_cmphex(checkpoint_digest_key(d), ==, 1); /* 0 is "none" */
}

static CkptOffer *sample_offer(void)
{
    CkptOffer *o = checkpoint_offer_new();
    CkptOfferBlock *b = checkpoint_offer_add_block(o, "pc.ram", 5);

    b->keys[0] = 0x1111;
    b->keys[3] = 0x2222;
    checkpoint_offer_add_block(o, "empty", 0);
    o->nr_extra = 2;
    o->extra = g_new(uint64_t, 2);
    o->extra[0] = 0x3333;
    o->extra[1] = 0x1111;
    return o;
}

static void test_offer_roundtrip(void)
{
    CkptOffer *o = sample_offer();
    g_autoptr(GByteArray) w = checkpoint_offer_encode(o);
    CkptOffer *p = checkpoint_offer_parse(w->data, w->len, &error_abort);
    CkptOfferBlock *b = g_ptr_array_index(p->blocks, 0);
    CkptKeySet *ks = checkpoint_keyset_new(p);

    g_assert_cmpuint(w->len, ==,
                     8 + (1 + 6 + 8 + 5 * 8) + (1 + 5 + 8) + 8 + 2 * 8);
    g_assert_cmpuint(p->blocks->len, ==, 2);
    g_assert_cmpstr(b->idstr, ==, "pc.ram");
    g_assert_cmpuint(b->pages, ==, 5);
    g_assert_cmphex(b->keys[3], ==, 0x2222);
    g_assert_cmphex(b->keys[1], ==, 0);
    g_assert_cmpuint(p->nr_extra, ==, 2);
    g_assert_cmpuint(ks->count, ==, 3); /* 0x1111 counted once */
    g_assert_true(checkpoint_keyset_has(ks, 0x1111));
    g_assert_true(checkpoint_keyset_has(ks, 0x2222));
    g_assert_true(checkpoint_keyset_has(ks, 0x3333));
    for (uint64_t k = 1; k < 5000; k++) {
        g_assert_true(checkpoint_keyset_has(ks, k * 0x10001) ==
                      (k * 0x10001 == 0x1111 || k * 0x10001 == 0x2222 ||
                       k * 0x10001 == 0x3333));
    }
    checkpoint_keyset_free(ks);
    checkpoint_offer_free(p);
    checkpoint_offer_free(o);
}

static void expect_bad(const uint8_t *buf, size_t len, const char *msg)
{
    Error *err = NULL;

    g_assert_null(checkpoint_offer_parse(buf, len, &err));
    g_assert_nonnull(err);
    g_assert_nonnull(strstr(error_get_pretty(err), msg));
    error_free(err);
}

static void test_offer_malformed(void)
{
    CkptOffer *o = sample_offer();
    g_autoptr(GByteArray) w = checkpoint_offer_encode(o);
    g_autofree uint8_t *b = g_memdup2(w->data, w->len);

    checkpoint_offer_free(o);
    expect_bad(b, 0, "bad magic");
    expect_bad(b, w->len - 1, "extra keys truncated");
    for (size_t cut = 9; cut < w->len - 24; cut++) {
        expect_bad(b, cut, "checkpoint offer");
    }
    b[0] ^= 1;
    expect_bad(b, w->len, "bad magic");
    b[0] ^= 1;
    stl_be_p(b + 4, CKPT_OFFER_MAX_BLOCKS + 1);
    expect_bad(b, w->len, "blocks (at most");
    stl_be_p(b + 4, 2);
    stq_be_p(b + 8 + 7, UINT64_MAX / 8); /* pc.ram's page count */
    expect_bad(b, w->len, "more than the offer holds");
    stq_be_p(b + 8 + 7, 5);
    b[8 + 2] = 0; /* "pc\0ram" */
    expect_bad(b, w->len, "name holds a NUL byte");
    b[8 + 2] = '.';
    {
        g_autofree uint8_t *longer = g_malloc0(w->len + 3);

        memcpy(longer, b, w->len);
        expect_bad(longer, w->len + 3, "3 trailing bytes");
    }
    o = checkpoint_offer_parse(b, w->len, &error_abort);
    checkpoint_offer_free(o);
}

/* A Tern dump: ELF header, phdrs, pages; segment 2 at an odd address. */
static char *write_dump(const uint8_t *pages, unsigned n1, unsigned n2)
{
    g_autofree char *path = NULL;
    Elf64_Ehdr eh = {0};
    Elf64_Phdr ph[2] = {{0}};
    int fd = g_file_open_tmp("ckpt-XXXXXX.elf", &path, NULL);

    g_assert_cmpint(fd, >=, 0);
    memcpy(eh.e_ident, ELFMAG, SELFMAG);
    eh.e_ident[EI_CLASS] = ELFCLASS64;
    eh.e_ident[EI_DATA] = ELFDATA2LSB;
    eh.e_phoff = sizeof(eh);
    eh.e_phentsize = sizeof(Elf64_Phdr);
    eh.e_phnum = 2;
    ph[0].p_type = ph[1].p_type = PT_LOAD;
    ph[0].p_offset = TARGET_PAGE_SIZE;
    ph[0].p_paddr = 0x100000;
    ph[0].p_filesz = n1 * TARGET_PAGE_SIZE;
    ph[1].p_offset = (1 + n1) * TARGET_PAGE_SIZE;
    ph[1].p_paddr = 0x200800; /* not page-aligned: no address */
    ph[1].p_filesz = n2 * TARGET_PAGE_SIZE;
    g_assert_true(pwrite(fd, &eh, sizeof(eh), 0) == sizeof(eh));
    g_assert_true(pwrite(fd, ph, sizeof(ph), sizeof(eh)) == sizeof(ph));
    g_assert_true(
        pwrite(fd, pages, (n1 + n2) * TARGET_PAGE_SIZE, TARGET_PAGE_SIZE) ==
        (ssize_t)((n1 + n2) * TARGET_PAGE_SIZE));
    close(fd);
    return g_steal_pointer(&path);
}

static void test_part_roundtrip(void)
{
    const uint64_t keys[3] = {0x1234, 0, 0xffffffffffffffffull};
    g_autoptr(GByteArray) a = checkpoint_part_encode("pc.ram", 10, 7, keys, 3);
    g_autoptr(GByteArray) empty =
        checkpoint_part_encode("pc.ram", 10, 0, NULL, 0);
    CkptOfferPart p;

    /* str8 name, be64 pages, be64 first, be64 count, the keys */
    g_assert_cmpuint(a->len, ==, 1 + 6 + 24 + 3 * 8);
    g_assert_true(checkpoint_part_parse(a->data, a->len, &p, &error_abort));
    g_assert_cmpstr(p.idstr, ==, "pc.ram");
    g_assert_cmpuint(p.pages, ==, 10);
    g_assert_cmpuint(p.first, ==, 7);
    g_assert_cmpuint(p.count, ==, 3);
    g_assert_cmpmem(p.keys, sizeof(keys), keys, sizeof(keys));
    g_free(p.keys);
    g_assert_true(
        checkpoint_part_parse(empty->data, empty->len, &p, &error_abort));
    g_assert_cmpuint(p.count, ==, 0);
    g_free(p.keys);
}

static void expect_bad_part(const uint8_t *buf, size_t len, const char *msg)
{
    Error *err = NULL;
    CkptOfferPart p;

    g_assert_false(checkpoint_part_parse(buf, len, &p, &err));
    g_assert_nonnull(err);
    g_assert_nonnull(strstr(error_get_pretty(err), msg));
    error_free(err);
}

static void test_part_malformed(void)
{
    const uint64_t keys[2] = {1, 2};
    g_autoptr(GByteArray) a = checkpoint_part_encode("ram", 4, 2, keys, 2);
    g_autoptr(GByteArray) b = NULL;

    /* every truncation is refused */
    for (guint len = 0; len < a->len; len++) {
        expect_bad_part(a->data, len,
                        len < 1 + 3 + 24 ? "truncated" : "bytes of keys");
    }
    /* a trailing byte */
    b = g_byte_array_new();
    g_byte_array_append(b, a->data, a->len);
    g_byte_array_append(b, (const uint8_t *)"", 1);
    expect_bad_part(b->data, b->len, "bytes of keys");
    /* a range past the block's end: first + count > pages */
    b->data[1 + 3 + 7] = 3; /* pages 4 -> 3 */
    expect_bad_part(b->data, a->len, "of block 'ram' (3 pages)");
    /* first past the end, and a count that wraps */
    g_byte_array_set_size(b, 0);
    g_byte_array_append(b, a->data, a->len);
    b->data[1 + 3 + 15] = 9;
    expect_bad_part(b->data, b->len, "pages 9+2");
    g_byte_array_set_size(b, 0);
    g_byte_array_append(b, a->data, a->len);
    memset(b->data + 1 + 3 + 16, 0xff, 8);
    expect_bad_part(b->data, b->len, "of block 'ram'");
    /* a NUL in the block name */
    g_byte_array_set_size(b, 0);
    g_byte_array_append(b, a->data, a->len);
    b->data[2] = 0;
    expect_bad_part(b->data, b->len, "NUL");
}

/*
 * The advise a source starts with, and the chain it falls back along
 * while the destination takes each advise for a sync: on demand, then
 * streamed (fast link), then 0 (whole offer), which ends it.
 */
static void test_advise_fallback(void)
{
    uint32_t arg = checkpoint_advise_first(0), chain[4];
    unsigned int n = 0;

    g_assert_cmphex(checkpoint_advise_first(CKPT_FAST_LINK + 1), ==,
                    CKPT_CTL_ADVISE_ON_DEMAND);
    g_assert_cmphex(checkpoint_advise_first(CKPT_FAST_LINK), ==,
                    CKPT_CTL_ADVISE_STREAMED);
    g_assert_cmphex(checkpoint_advise_first(100 << 20), ==,
                    CKPT_CTL_ADVISE_STREAMED);
    do {
        chain[n++] = arg;
        arg = checkpoint_advise_fallback(arg);
    } while (chain[n - 1] && n < G_N_ELEMENTS(chain));
    g_assert_cmpuint(n, ==, 3);
    g_assert_cmphex(chain[0], ==, CKPT_CTL_ADVISE_ON_DEMAND);
    g_assert_cmphex(chain[1], ==, CKPT_CTL_ADVISE_STREAMED_FAST);
    g_assert_cmphex(chain[2], ==, 0);
    /* a slow link's streamed advise falls back to the whole offer */
    g_assert_cmphex(checkpoint_advise_fallback(CKPT_CTL_ADVISE_STREAMED), ==,
                    0);
    /* none of them can be taken for an early sync number, nor each other */
    g_assert_cmphex(CKPT_CTL_OFFER_NOW, >, 0x80000000u);
    g_assert_cmphex(CKPT_CTL_OFFER_NOW, !=, CKPT_CTL_ADVISE_ON_DEMAND);
}

static void test_index_dump(void)
{
    enum { N1 = 6, N2 = 2 };
    g_autofree uint8_t *pages = g_malloc0((N1 + N2) * TARGET_PAGE_SIZE);
    g_autofree char *path = NULL;
    uint8_t d[CKPT_DIGEST_BYTES], buf[TARGET_PAGE_SIZE];
    const CkptIndexEntry *e;
    CheckpointIndex *ci;
    CkptIndexStats st;
    Error *err = NULL;

    for (unsigned i = 0; i < N1 + N2; i++) {
        if (i != 2) { /* page 2 stays zero */
            fill_page(pages + i * TARGET_PAGE_SIZE, i);
        }
    }
    path = write_dump(pages, N1, N2);
    ci = checkpoint_index_start(path, &error_abort);
    g_assert_true(checkpoint_index_wait(ci, &error_abort));
    checkpoint_index_stats(ci, &st);
    g_assert_true(st.done && st.ok);
    g_assert_cmpuint(st.pages, ==, N1 + N2 - 1);
    g_assert_cmpuint(st.zero, ==, 1);
    /* every slot ready, in file order; the zero page's has no entry */
    g_assert_cmpuint(checkpoint_index_ready_slots(ci), ==, N1 + N2);
    g_assert_null(checkpoint_index_slot(ci, 2));
    g_assert_null(checkpoint_index_slot(ci, N1 + N2));
    e = checkpoint_index_slot(ci, 4);
    g_assert_nonnull(e);
    g_assert_cmphex(e->gpa, ==, 0x104000);

    checkpoint_hash_page(pages + 4 * TARGET_PAGE_SIZE, d);
    e = checkpoint_index_find(ci, d);
    g_assert_nonnull(e);
    g_assert_cmphex(e->gpa, ==, 0x104000);
    g_assert_true(checkpoint_index_at(ci, 0x104000) == e);
    g_assert_null(checkpoint_index_at(ci, 0x102000)); /* the zero page */
    g_assert_true(checkpoint_index_read(ci, e, buf, &error_abort));
    g_assert_cmpmem(buf, TARGET_PAGE_SIZE, pages + 4 * TARGET_PAGE_SIZE,
                    TARGET_PAGE_SIZE);
    /* segment 2 holds its pages at no address, found by digest only */
    checkpoint_hash_page(pages + (N1 + 1) * TARGET_PAGE_SIZE, d);
    e = checkpoint_index_find(ci, d);
    g_assert_nonnull(e);
    g_assert_cmphex(e->gpa, ==, CKPT_NO_GPA);

    /* truncated after indexing: the read fails, it does not crash */
    g_assert_cmpint(truncate(path, 3 * TARGET_PAGE_SIZE), ==, 0);
    checkpoint_hash_page(pages + 5 * TARGET_PAGE_SIZE, d);
    e = checkpoint_index_find(ci, d);
    g_assert_false(checkpoint_index_read(ci, e, buf, &err));
    g_assert_nonnull(strstr(error_get_pretty(err), "cannot read the page"));
    error_free(err);
    checkpoint_index_free(ci);
    unlink(path);
}

/*
 * Paused, the indexing goes on when resumed (at SCHED_IDLE) and when
 * hurried (at normal priority, also after such a resume): every page is
 * indexed either way.
 */
static void test_index_pause_hurry(void)
{
    enum { N = 64 * 8 }; /* 8 chunks */
    g_autofree uint8_t *pages = g_malloc0(N * TARGET_PAGE_SIZE);
    g_autofree char *path = NULL;
    CkptIndexStats st;

    for (unsigned i = 0; i < N; i++) {
        fill_page(pages + i * TARGET_PAGE_SIZE, i);
    }
    path = write_dump(pages, N, 0);
    for (int round = 0; round < 2; round++) {
        CheckpointIndex *ci = checkpoint_index_start(path, &error_abort);

        checkpoint_index_pause(ci, true);
        if (round) {
            /* resumed to SCHED_IDLE, paused again, then hurried */
            checkpoint_index_pause(ci, false);
            checkpoint_index_pause(ci, true);
        }
        checkpoint_index_hurry(ci);
        g_assert_true(checkpoint_index_wait(ci, &error_abort));
        checkpoint_index_stats(ci, &st);
        g_assert_cmpuint(st.pages, ==, N);
        g_assert_cmpuint(checkpoint_index_ready_slots(ci), ==, N);
        checkpoint_index_free(ci);
    }
    unlink(path);
}

static void test_index_not_a_dump(void)
{
    g_autofree char *path = NULL;
    Error *err = NULL;
    CheckpointIndex *ci;
    int fd = g_file_open_tmp("ckpt-XXXXXX.bin", &path, NULL);

    g_assert_true(write(fd, "not an elf file", 15) == 15);
    close(fd);
    ci = checkpoint_index_start(path, &error_abort);
    g_assert_false(checkpoint_index_wait(ci, &err));
    g_assert_nonnull(strstr(error_get_pretty(err), "not a dump-guest-memory"));
    error_free(err);
    err = NULL;
    checkpoint_index_free(ci);
    unlink(path);
    g_assert_null(checkpoint_index_start(path, &err));
    g_assert_nonnull(strstr(error_get_pretty(err), "Could not open"));
    error_free(err);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/checkpoint/hash-known", test_hash_known);
    g_test_add_func("/checkpoint/offer-roundtrip", test_offer_roundtrip);
    g_test_add_func("/checkpoint/offer-malformed", test_offer_malformed);
    g_test_add_func("/checkpoint/part-roundtrip", test_part_roundtrip);
    g_test_add_func("/checkpoint/part-malformed", test_part_malformed);
    g_test_add_func("/checkpoint/advise-fallback", test_advise_fallback);
    g_test_add_func("/checkpoint/index-dump", test_index_dump);
    g_test_add_func("/checkpoint/index-pause-hurry", test_index_pause_hurry);
    g_test_add_func("/checkpoint/index-not-a-dump", test_index_not_a_dump);
    return g_test_run();
}
