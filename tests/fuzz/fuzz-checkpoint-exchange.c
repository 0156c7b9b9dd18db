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
 * libFuzzer build (not part of the default build):
 *   clang -g -O1 -fsanitize=fuzzer,address -DCONFIG_LIBFUZZER \
 *     -Iinclude $(pkg-config --cflags glib-2.0) \
 *     tests/fuzz/fuzz-checkpoint-exchange.c migration/checkpoint-exchange.c \
 *     util/error.c util/error-report.c \
 *     $(pkg-config --libs glib-2.0 nettle) -o fuzz-checkpoint-exchange
 * Plain build (meson, gcc): the main() below
 *   fuzz-checkpoint-exchange FILE...   replays each file
 *   fuzz-checkpoint-exchange --write-seeds DIR
 *                                      writes the built-in corpus
 *   fuzz-checkpoint-exchange [--tap] [-n N] [--corpus DIR]
 *                                      built-in corpus, the saved inputs
 *                                      of DIR (fuzz-corpus.h) and N
 *                                      (default 50000) deterministic
 *                                      mutations
 */
#include "qemu/osdep.h"
#include "qapi/error.h"
#include "../../migration/checkpoint-exchange.h"
#include "fuzz-corpus.h"
#include "fuzz-mutate.h"

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

/* fuzz_offer() for fuzz_corpus_replay(): 0 when accepted. */
static int fuzz_offer_input(const uint8_t *data, size_t size)
{
    return fuzz_offer(data, size);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_offer(data, size);
    return 0;
}

#ifndef CONFIG_LIBFUZZER

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

static int fuzz_replay_file(const char *path)
{
    g_autofree char *data = NULL;
    gsize len;

    if (!g_file_get_contents(path, &data, &len, NULL)) {
        fprintf(stderr, "fuzz-checkpoint-exchange: cannot read %s\n", path);
        return 1;
    }
    printf("%s: %s\n", path,
           fuzz_offer((uint8_t *)data, len) == 0 ? "accepted" : "refused");
    return 0;
}

/* Write the seeds into dir; false on error. */
static bool fuzz_write_seeds(GByteArray **seeds, int n, const char *dir)
{
    for (int i = 0; i < n; i++) {
        g_autofree char *name = g_strdup_printf("builtin-%d", i);

        if (!fuzz_corpus_write("fuzz-checkpoint-exchange", dir, name,
                               seeds[i]->data, seeds[i]->len)) {
            return false;
        }
    }
    return true;
}

int main(int argc, char **argv)
{
    bool tap = false;
    const char *seed_dir = NULL, *corpus_dir = NULL;
    FuzzCorpusStats corpus = {0};
    long iterations = 50000, accepted = 0;
    GByteArray *seeds[4];
    int files = 0;
    GRand *r;

    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--tap")) {
            tap = true;
        } else if (!strcmp(argv[i], "-n") && i + 1 < argc) {
            iterations = atol(argv[++i]);
        } else if (!strcmp(argv[i], "--corpus") && i + 1 < argc) {
            corpus_dir = argv[++i];
        } else if (!strcmp(argv[i], "--write-seeds") && i + 1 < argc) {
            seed_dir = argv[++i];
        } else {
            files++;
            if (fuzz_replay_file(argv[i])) {
                return 1;
            }
        }
    }
    if (files) {
        return 0;
    }
    seeds[0] = fuzz_seed(0, 0, 0);
    seeds[1] = fuzz_seed(1, 8, 0);
    seeds[2] = fuzz_seed(2, 5, 3);
    seeds[3] = fuzz_seed(3, 1, 1);
    for (int i = 0; i < 4; i++) {
        if (fuzz_offer(seeds[i]->data, seeds[i]->len) != 0) {
            fprintf(stderr, "fuzz-checkpoint-exchange: seed %d refused\n", i);
            return 1;
        }
    }
    if (seed_dir) {
        return fuzz_write_seeds(seeds, 4, seed_dir) ? 0 : 1;
    }
    if (corpus_dir &&
        !fuzz_corpus_replay("fuzz-checkpoint-exchange", corpus_dir,
                            fuzz_offer_input, &corpus)) {
        return 1;
    }
    r = g_rand_new_with_seed(0xc4e7);
    for (long it = 0; it < iterations; it++) {
        GByteArray *seed = seeds[it % 4];
        GByteArray *b = g_byte_array_sized_new(seed->len);

        g_byte_array_append(b, seed->data, seed->len);
        fuzz_mutate_bytes(r, b);
        accepted += fuzz_offer(b->data, b->len) == 0;
        g_byte_array_free(b, true);
    }
    g_rand_free(r);
    for (int i = 0; i < 4; i++) {
        g_byte_array_free(seeds[i], true);
    }
    if (tap) {
        printf("1..2\nok 1 /fuzz-checkpoint-exchange/corpus %u saved inputs, "
               "%u accepted\nok 2 /fuzz-checkpoint-exchange/mutations %ld "
               "inputs, %ld accepted\n",
               corpus.files, corpus.accepted, iterations, accepted);
    } else {
        printf("fuzz-checkpoint-exchange: %ld mutated inputs, %ld accepted, "
               "no crash\n",
               iterations, accepted);
    }
    return 0;
}

#endif /* CONFIG_LIBFUZZER */
