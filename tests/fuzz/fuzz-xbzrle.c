/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * fuzz-xbzrle.c: feed arbitrary bytes to the XBZRLE decoder
 * (migration/xbzrle.c), as a destination gets them in an XBZRLE record.
 *
 * Input: byte 0 picks the old page (0: zeros, else a pattern seeded by
 * it), the rest is the delta.  The delta is decoded into a page with
 * guard areas on both sides; checks:
 *   - the guards are untouched and the result is -1 or <= the page size;
 *   - when it decodes, encoding the old page against the result and
 *     decoding that again gives the same page (encoder and decoder
 *     agree on anything the decoder accepts), and every encoder the CPU
 *     has gives the same bytes.
 * Any failed check aborts (a bug); a refused delta is fine.
 *
 * libFuzzer build (not part of the default build):
 *   clang -g -O1 -fsanitize=fuzzer,address -DCONFIG_LIBFUZZER \
 *     -Iinclude $(pkg-config --cflags glib-2.0) tests/fuzz/fuzz-xbzrle.c \
 *     migration/xbzrle.c $(pkg-config --libs glib-2.0) -o fuzz-xbzrle
 * Plain build (meson, gcc): the main() below
 *   fuzz-xbzrle FILE...       replays each file
 *   fuzz-xbzrle --write-seeds DIR
 *                             writes the built-in corpus
 *   fuzz-xbzrle [--tap] [-n N] [--corpus DIR]
 *                             built-in corpus, the saved inputs of DIR
 *                             (fuzz-corpus.h) and N (default 100000)
 *                             deterministic mutations of the built-in ones
 */
#include "qemu/osdep.h"
#include "../../migration/xbzrle.h"
#include "fuzz-corpus.h"

#define PAGE ((int)TARGET_PAGE_SIZE)
#define GUARD 256

static void fuzz_old_page(uint8_t *old, uint8_t sel)
{
    uint32_t x = sel * 2654435761u;

    for (int i = 0; i < PAGE; i++) {
        x = x * 1103515245u + 12345u;
        old[i] = sel ? x >> 24 : 0;
    }
}

static void fuzz_check(bool ok, const char *what)
{
    if (!ok) {
        fprintf(stderr, "fuzz-xbzrle: %s\n", what);
        abort();
    }
}

/* Decode one input; returns the decoder's result. */
static int fuzz_one(const uint8_t *data, size_t size)
{
    static const char *encs[] = {"avx2", "sse2", "plain"};
    uint8_t *buf = g_malloc(PAGE + 2 * GUARD);
    uint8_t *page = buf + GUARD;
    uint8_t old[PAGE], enc[PAGE], ref[PAGE], again[PAGE];
    int slen = size > 1 ? (int)MIN(size - 1, (size_t)INT_MAX) : 0;
    int ret, len, rlen;

    fuzz_old_page(old, size ? data[0] : 0);
    memset(buf, 0xa5, PAGE + 2 * GUARD);
    memcpy(page, old, PAGE);
    ret = xbzrle_decode_buffer(data + (size ? 1 : 0), slen, page, PAGE);
    for (int i = 0; i < GUARD; i++) {
        fuzz_check(buf[i] == 0xa5 && page[PAGE + i] == 0xa5,
                   "write outside the page");
    }
    fuzz_check(ret >= -1 && ret <= PAGE, "result out of range");
    if (ret >= 0) {
        rlen = xbzrle_encode_buffer_plain(old, page, PAGE, ref, PAGE);
        for (size_t e = 0; e < G_N_ELEMENTS(encs); e++) {
            if (!xbzrle_encoder_select(encs[e])) {
                continue;
            }
            len = xbzrle_encode_buffer(old, page, PAGE, enc, PAGE);
            fuzz_check(len == rlen && (len <= 0 || !memcmp(enc, ref, len)),
                       "encoders disagree");
        }
        if (rlen > 0) {
            memcpy(again, old, PAGE);
            fuzz_check(xbzrle_decode_buffer(ref, rlen, again, PAGE) >= 0 &&
                           !memcmp(again, page, PAGE),
                       "re-encoded delta does not round-trip");
        } else {
            fuzz_check(rlen == -1 || !memcmp(old, page, PAGE),
                       "empty delta for a changed page");
        }
    }
    g_free(buf);
    return ret;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_one(data, size);
    return 0;
}

#ifndef CONFIG_LIBFUZZER

/* fuzz-corpus.h's view: 0 when the delta decoded. */
static int fuzz_input(const uint8_t *data, size_t size)
{
    return fuzz_one(data, size) >= 0 ? 0 : 1;
}

/* Seeds: valid deltas of several shapes (old page selector first). */
static GByteArray *fuzz_seed(int kind)
{
    GByteArray *b = g_byte_array_new();
    uint8_t old[PAGE], new[PAGE], enc[PAGE];
    uint8_t sel = kind * 37;
    int len;

    fuzz_old_page(old, sel);
    memcpy(new, old, PAGE);
    switch (kind) {
    case 0: /* first byte */
        new[0] ^= 1;
        break;
    case 1: /* last byte: two-byte zrun */
        new[PAGE - 1] ^= 0xff;
        break;
    case 2: /* one 8-byte word per 512 bytes */
        for (int i = 0; i < PAGE; i += 512) {
            memset(new + i + 40, 0x77, 8);
        }
        break;
    default: /* a long changed run: two-byte nzrun */
        for (int i = 100; i < 900; i++) {
            new[i] ^= 0x3c;
        }
        break;
    }
    len = xbzrle_encode_buffer_plain(old, new, PAGE, enc, PAGE);
    g_assert(len > 0);
    g_byte_array_append(b, &sel, 1);
    g_byte_array_append(b, enc, len);
    return b;
}

static void fuzz_mutate(GRand *r, GByteArray *b)
{
    int n = g_rand_int_range(r, 1, 5);

    for (int i = 0; i < n && b->len > 1; i++) {
        guint at = g_rand_int_range(r, 1, b->len);

        switch (g_rand_int_range(r, 0, 5)) {
        case 0:
            b->data[at] = g_rand_int(r);
            break;
        case 1:
            b->data[at] ^= 1u << g_rand_int_range(r, 0, 8);
            break;
        case 2:
            g_byte_array_set_size(b, at); /* truncate */
            break;
        case 3: {
            static const uint8_t edge[] = {0x00, 0x7f, 0x80, 0xff, 0x1f, 0x20};

            b->data[at] = edge[g_rand_int_range(r, 0, G_N_ELEMENTS(edge))];
            break;
        }
        default: {
            uint8_t byte = g_rand_int(r);

            g_byte_array_append(b, &byte, 1);
            memmove(b->data + at + 1, b->data + at, b->len - at - 1);
            b->data[at] = byte;
            break;
        }
        }
    }
}

static int fuzz_replay_file(const char *path)
{
    g_autofree char *data = NULL;
    gsize len;

    if (!g_file_get_contents(path, &data, &len, NULL)) {
        fprintf(stderr, "fuzz-xbzrle: cannot read %s\n", path);
        return 1;
    }
    printf("%s: %d\n", path, fuzz_one((uint8_t *)data, len));
    return 0;
}

int main(int argc, char **argv)
{
    bool tap = false;
    const char *seed_dir = NULL, *corpus_dir = NULL;
    FuzzCorpusStats corpus = {0};
    long iterations = 100000, decoded = 0;
    GByteArray *seeds[4];
    GRand *r;
    int files = 0;

    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--tap")) {
            tap = true;
        } else if (!strcmp(argv[i], "-n") && i + 1 < argc) {
            iterations = atol(argv[++i]);
        } else if (!strcmp(argv[i], "--write-seeds") && i + 1 < argc) {
            seed_dir = argv[++i];
        } else if (!strcmp(argv[i], "--corpus") && i + 1 < argc) {
            corpus_dir = argv[++i];
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
    for (int i = 0; i < (int)G_N_ELEMENTS(seeds); i++) {
        seeds[i] = fuzz_seed(i);
        if (fuzz_one(seeds[i]->data, seeds[i]->len) < 0) {
            fprintf(stderr, "fuzz-xbzrle: seed %d does not decode\n", i);
            return 1;
        }
        if (seed_dir) {
            g_autofree char *name = g_strdup_printf("builtin-%d", i);

            if (!fuzz_corpus_write("fuzz-xbzrle", seed_dir, name,
                                   seeds[i]->data, seeds[i]->len)) {
                return 1;
            }
        }
    }
    if (seed_dir) {
        return 0;
    }
    if (corpus_dir &&
        !fuzz_corpus_replay("fuzz-xbzrle", corpus_dir, fuzz_input, &corpus)) {
        return 1;
    }
    r = g_rand_new_with_seed(0x8b2);
    for (long it = 0; it < iterations; it++) {
        GByteArray *seed = seeds[it % G_N_ELEMENTS(seeds)];
        GByteArray *b = g_byte_array_sized_new(seed->len + 8);

        g_byte_array_append(b, seed->data, seed->len);
        fuzz_mutate(r, b);
        if (fuzz_one(b->data, b->len) >= 0) {
            decoded++;
        }
        g_byte_array_free(b, true);
    }
    g_rand_free(r);
    for (int i = 0; i < (int)G_N_ELEMENTS(seeds); i++) {
        g_byte_array_free(seeds[i], true);
    }
    if (tap) {
        printf("1..2\nok 1 /fuzz-xbzrle/corpus %u saved inputs, %u decoded\n"
               "ok 2 /fuzz-xbzrle/mutations %ld inputs, %ld decoded\n",
               corpus.files, corpus.accepted, iterations, decoded);
    } else {
        printf("fuzz-xbzrle: %u saved inputs (%u decoded), %ld mutated "
               "inputs (%ld decoded), no crash\n",
               corpus.files, corpus.accepted, iterations, decoded);
    }
    return 0;
}

#endif /* CONFIG_LIBFUZZER */
