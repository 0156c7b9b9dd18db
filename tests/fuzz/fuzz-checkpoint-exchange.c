/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * fuzz-checkpoint-exchange.c: feed arbitrary bytes to the parsers of the
 * checkpoint offer and of a streamed offer's piece, what a destination
 * sends the source in checkpoint-assisted migration
 * (migration/checkpoint-exchange.h).
 *
 * Every input goes to both parsers and must be either refused with an
 * Error or accepted by each; an accepted offer or piece must encode back
 * to exactly the input, an offer's key set must hold every non-zero key
 * it lists, and a piece's range must lie inside its block.  Crashes,
 * hangs, sanitizer reports and failed checks are bugs.
 *
 * Entry points and plain run: fuzz-driver.h (4 built-in offers and 3
 * pieces, 50000 mutations by default).
 */
#include "qemu/osdep.h"
#include "qapi/error.h"
#include "../../migration/checkpoint-exchange.h"
#include "fuzz-driver.h"

static G_NORETURN_FN void fuzz_fail(const char *why)
{
    fprintf(stderr, "fuzz-checkpoint-exchange: %s\n", why);
    abort();
}

/* Parse one input as a piece; 0 if accepted (and checked), 1 if refused. */
static int fuzz_part(const uint8_t *data, size_t size)
{
    Error *err = NULL;
    CkptOfferPart p;
    GByteArray *again;

    if (!checkpoint_part_parse(data, size, &p, &err)) {
        if (!err) {
            fuzz_fail("piece refused without an error");
        }
        error_free(err);
        return 1;
    }
    if (p.first > p.pages || p.count > p.pages - p.first ||
        p.count > CKPT_PART_MAX_KEYS) {
        fuzz_fail("accepted a piece past its block's end");
    }
    again = checkpoint_part_encode(p.idstr, p.pages, p.first, p.keys, p.count);
    if (again->len != size || memcmp(again->data, data, size)) {
        fuzz_fail("accepted piece bytes that do not encode back");
    }
    g_byte_array_unref(again);
    g_free(p.keys);
    return 0;
}

/* Parse one input as an offer; 0 if accepted (and checked), 1 if not. */
static int fuzz_offer_only(const uint8_t *data, size_t size)
{
    Error *err = NULL;
    CkptOffer *o = checkpoint_offer_parse(data, size, &err);
    GByteArray *again;
    CkptKeySet *ks;

    if (!o) {
        if (!err) {
            fuzz_fail("refused without an error");
        }
        error_free(err);
        return 1;
    }
    again = checkpoint_offer_encode(o);
    if (again->len != size || memcmp(again->data, data, size)) {
        fuzz_fail("accepted bytes that do not encode back");
    }
    g_byte_array_unref(again);
    ks = checkpoint_keyset_new(o);
    for (uint64_t i = 0; i < o->nr_extra; i++) {
        if (o->extra[i] && !checkpoint_keyset_has(ks, o->extra[i])) {
            fuzz_fail("an offered key is not in the set");
        }
    }
    checkpoint_keyset_free(ks);
    checkpoint_offer_free(o);
    return 0;
}

/* One input to both parsers; 0 if either accepted it. */
static int fuzz_offer(const uint8_t *data, size_t size)
{
    int offer = fuzz_offer_only(data, size);

    return fuzz_part(data, size) && offer;
}

/* A well-formed offer: blocks with some keys, extra keys. */
static GByteArray *fuzz_seed(unsigned blocks, unsigned pages, unsigned extra)
{
    CkptOffer *o = checkpoint_offer_new();
    GByteArray *b;

    for (unsigned i = 0; i < blocks; i++) {
        g_autofree char *name = g_strdup_printf("ram%u", i);
        CkptOfferBlock *ob = checkpoint_offer_add_block(o, name, pages);

        for (unsigned p = 0; p < pages; p += 2) {
            ob->keys[p] = 0x0102030405060708ull * (p + 1) + i;
        }
    }
    o->nr_extra = extra;
    o->extra = g_new0(uint64_t, extra ? extra : 1);
    for (unsigned i = 0; i < extra; i++) {
        o->extra[i] = 0xfedcba9876543210ull ^ i;
    }
    b = checkpoint_offer_encode(o);
    checkpoint_offer_free(o);
    return b;
}

/* A well-formed piece: count keys from page first of a block. */
static GByteArray *fuzz_part_seed(uint64_t pages, uint64_t first,
                                  uint64_t count)
{
    g_autofree uint64_t *keys = g_new0(uint64_t, count ? count : 1);

    for (uint64_t i = 0; i < count; i += 3) {
        keys[i] = 0x1122334455667788ull * (i + 1);
    }
    return checkpoint_part_encode("pc.ram", pages, first, keys, count);
}

static GByteArray *fuzz_builtin_seed(unsigned i)
{
    static const unsigned shape[][3] = {
        {0, 0, 0}, {1, 8, 0}, {2, 5, 3}, {3, 1, 1}};
    static const uint64_t part[][3] = {{16, 0, 0}, {16, 4, 12}, {64, 60, 4}};

    if (i >= G_N_ELEMENTS(shape)) {
        i -= G_N_ELEMENTS(shape);
        return fuzz_part_seed(part[i][0], part[i][1], part[i][2]);
    }
    return fuzz_seed(shape[i][0], shape[i][1], shape[i][2]);
}

const FuzzDriver fuzz_driver = {
    .name = "fuzz-checkpoint-exchange",
    .input = fuzz_offer,
    .taken = "accepted",
    .seed = fuzz_builtin_seed,
    .n_seeds = 7,
    .rand_seed = 0xc4e7,
    .iterations = 50000,
};
