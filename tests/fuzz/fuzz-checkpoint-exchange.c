/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * fuzz-checkpoint-exchange.c: feed arbitrary bytes to the parser of the
 * checkpoint offer, the message a destination sends the source in
 * checkpoint-assisted migration (migration/checkpoint-exchange.h).
 *
 * Every input must be either refused with an Error or accepted; an
 * accepted offer must encode back to exactly the input, and its key set
 * must hold every non-zero key it lists.  Crashes, hangs, sanitizer
 * reports and failed checks are bugs.
 *
 * Entry points and plain run: fuzz-driver.h (4 built-in offers, 50000
 * mutations by default).
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

/* Parse one input; 0 if accepted (and checked), 1 if refused. */
static int fuzz_offer(const uint8_t *data, size_t size)
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

static GByteArray *fuzz_builtin_seed(unsigned i)
{
    static const unsigned shape[][3] = {
        {0, 0, 0}, {1, 8, 0}, {2, 5, 3}, {3, 1, 1}};

    return fuzz_seed(shape[i][0], shape[i][1], shape[i][2]);
}

const FuzzDriver fuzz_driver = {
    .name = "fuzz-checkpoint-exchange",
    .input = fuzz_offer,
    .taken = "accepted",
    .seed = fuzz_builtin_seed,
    .n_seeds = 4,
    .rand_seed = 0xc4e7,
    .iterations = 50000,
};
