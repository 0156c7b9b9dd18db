/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * fuzz-compress-page.c: feed arbitrary bytes to the destination's
 * compressed-page loader: one "ram" section payload (records up to
 * EOS) parsed by ram-load.c with the compress capability on, so
 * COMPRESS_PAGE records go to the decompress threads of
 * ram-load-compress.c (three of them), into one 64 KiB RAM block
 * "mem".  Any input must end in success or an Error; crashes, hangs,
 * an Error on success, a failure without one, and sanitizer reports
 * (make fuzz) are bugs.  inflate's output bound keeps every write
 * inside its page; ASan checks it in the libFuzzer build.
 *
 * Seeds are built here with the source's own encoder (ram-compress.c,
 * whose records QEMU 7.2 loads: tests/interop/test-interop-compress.py):
 * a named first page, CONTINUE records of compressed text, random and
 * one-byte pages, ZERO records, a page sent twice, and a PAGE record
 * after a compressed one for the same page.  Each seed must load and
 * leave exactly the RAM it describes.
 *
 * libFuzzer build: make fuzz (docs/testing.md).
 * Plain build (meson): the main() below
 *   fuzz-compress-page FILE...     replays each file
 *   fuzz-compress-page --write-seeds DIR
 *                                  writes the built-in seeds
 *   fuzz-compress-page [--tap] [-n N] [--corpus DIR]
 *                                  the seeds (checked), DIR's saved
 *                                  inputs, then N (default 3000)
 *                                  deterministic mutations of the seeds
 */
#include "qemu/osdep.h"
#include "qemu/bswap.h"
#include "io/channel-buffer.h"
#include "migration/qemu-file.h"
#include "sysemu/ramblock.h"
#include "../../migration/ram-compress.h"
#include "../../migration/ram-format.h"
#include "../../migration/ram-load.h"
#include "fuzz-corpus.h"
#include "fuzz-mutate.h"
#include "fuzz-stderr.h"

#define FUZZ_PAGES 16
#define FUZZ_SIZE (FUZZ_PAGES * TARGET_PAGE_SIZE)

static RAMBlock *fuzz_block;

static void fuzz_setup(void)
{
    if (!fuzz_block) {
        fuzz_block = ram_block_add("mem", FUZZ_SIZE, NULL, &error_abort);
    }
}

/* Load one section payload; 0 when it loaded. */
static int fuzz_load(const uint8_t *data, size_t size)
{
    QIOChannelBuffer *bioc = qio_channel_buffer_new(size);
    RAMLoadState *ls = ram_load_state_new();
    Error *err = NULL;
    QEMUFile *f;
    int ret;

    if (size) {
        memcpy(bioc->data, data, size);
    }
    bioc->usage = size;
    f = qemu_file_new_input(QIO_CHANNEL(bioc));
    qio_channel_unref(QIO_CHANNEL(bioc));
    ram_load_state_set_compress(ls, 3);
    ret = ram_load_section(ls, f, RAM_SECTION_VERSION, &err);
    ram_load_state_free(ls);
    qemu_fclose(f);
    if ((ret < 0) != (err != NULL)) {
        fprintf(stderr, "fuzz-compress-page: ret %d with%s an Error\n", ret,
                err ? "" : "out");
        abort();
    }
    error_free(err);
    return ret;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_setup();
    fuzz_load(data, size);
    return 0;
}

#ifndef CONFIG_LIBFUZZER

/* Page content i of a seed: text, random, one byte, zero. */
static void fuzz_page(uint8_t *p, unsigned i, unsigned seed)
{
    static const char text[] = "QEMU 7.2 compressed page ";
    GRand *r = g_rand_new_with_seed(seed * 131 + i);

    for (size_t j = 0; j < TARGET_PAGE_SIZE; j++) {
        switch ((i + seed) % 4) {
        case 0:
            p[j] = text[(j + i) % (sizeof(text) - 1)];
            break;
        case 1:
            p[j] = g_rand_int(r);
            break;
        case 2:
            p[j] = i | 1;
            break;
        default:
            p[j] = 0;
            break;
        }
    }
    g_rand_free(r);
}

/* Append one record for page i (content want) to b, as a worker would. */
static void fuzz_put_page(GByteArray *b, z_stream *zs, unsigned i,
                          const uint8_t *want, bool first)
{
    uint8_t rec[RAM_COMPRESS_RECORD_MAX];
    bool zero;
    ssize_t n = ram_compress_record(zs, (uint64_t)i * TARGET_PAGE_SIZE, want,
                                    rec, &zero);

    g_assert(n > 0);
    if (first) {
        /* the first record names the block: drop CONTINUE, add "mem" */
        stq_be_p(rec, ldq_be_p(rec) & ~(uint64_t)RAM_SAVE_FLAG_CONTINUE);
        g_byte_array_append(b, rec, RAM_RECORD_HEADER_BYTES);
        g_byte_array_append(b, (const uint8_t *)"\3mem", 4);
        g_byte_array_append(b, rec + RAM_RECORD_HEADER_BYTES,
                            n - RAM_RECORD_HEADER_BYTES);
    } else {
        g_byte_array_append(b, rec, n);
    }
}

/* Seed number s and the RAM it leaves (ram, FUZZ_SIZE bytes). */
static GByteArray *fuzz_seed(unsigned s, uint8_t *ram)
{
    GByteArray *b = g_byte_array_new();
    uint8_t hdr[8];
    z_stream zs;

    g_assert(ram_compress_init(&zs, s % 10));
    memset(ram, 0, FUZZ_SIZE);
    for (unsigned k = 0; k < FUZZ_PAGES + s; k++) {
        unsigned i = (k * (2 * s + 1) * 7) % FUZZ_PAGES; /* a permutation */

        fuzz_page(ram + i * TARGET_PAGE_SIZE, i, s + k / FUZZ_PAGES);
        fuzz_put_page(b, &zs, i, ram + i * TARGET_PAGE_SIZE, k == 0);
    }
    if (s % 2) {
        /* then a whole PAGE record for page 1: it must win */
        memset(ram + TARGET_PAGE_SIZE, 0x5e, TARGET_PAGE_SIZE);
        stq_be_p(hdr, TARGET_PAGE_SIZE | RAM_SAVE_FLAG_PAGE |
                          RAM_SAVE_FLAG_CONTINUE);
        g_byte_array_append(b, hdr, 8);
        g_byte_array_append(b, ram + TARGET_PAGE_SIZE, TARGET_PAGE_SIZE);
    }
    stq_be_p(hdr, RAM_SAVE_FLAG_EOS);
    g_byte_array_append(b, hdr, 8);
    ram_compress_end(&zs);
    return b;
}

#define FUZZ_SEEDS 6

static bool fuzz_check_seeds(GPtrArray *seeds)
{
    g_autofree uint8_t *want = g_malloc(FUZZ_SIZE);

    for (unsigned s = 0; s < FUZZ_SEEDS; s++) {
        GByteArray *b = fuzz_seed(s, want);

        memset(fuzz_block->host, 0xa5, FUZZ_SIZE);
        if (fuzz_load(b->data, b->len) != 0 ||
            memcmp(fuzz_block->host, want, FUZZ_SIZE)) {
            fprintf(stderr, "fuzz-compress-page: seed %u does not load\n", s);
            return false;
        }
        g_ptr_array_add(seeds, b);
    }
    return true;
}

static int fuzz_write_seeds(const char *dir)
{
    g_autofree uint8_t *ram = g_malloc(FUZZ_SIZE);

    g_mkdir_with_parents(dir, 0755);
    for (unsigned s = 0; s < FUZZ_SEEDS; s++) {
        GByteArray *b = fuzz_seed(s, ram);
        g_autofree char *path = g_strdup_printf("%s/seed-%u", dir, s);

        if (!g_file_set_contents(path, (const char *)b->data, b->len, NULL)) {
            return 1;
        }
        g_byte_array_unref(b);
    }
    return 0;
}

static int fuzz_input(const uint8_t *data, size_t size)
{
    return fuzz_load(data, size) == 0 ? 0 : 1;
}

/* N mutations of the seeds, round robin; returns how many loaded. */
static long fuzz_mutations(GPtrArray *seeds, long iterations)
{
    GRand *r = g_rand_new_with_seed(0x100);
    long accepted = 0;

    for (long it = 0; it < iterations; it++) {
        GByteArray *seed = seeds->pdata[it % seeds->len];
        GByteArray *b = g_byte_array_sized_new(seed->len);

        g_byte_array_append(b, seed->data, seed->len);
        fuzz_mutate_bytes(r, b);
        accepted += fuzz_load(b->data, b->len) == 0;
        g_byte_array_free(b, true);
    }
    g_rand_free(r);
    return accepted;
}

static int fuzz_replay_files(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        g_autofree char *data = NULL;
        gsize len;

        if (!g_file_get_contents(argv[i], &data, &len, NULL)) {
            fprintf(stderr, "fuzz-compress-page: cannot read %s\n", argv[i]);
            return 1;
        }
        printf("%s: %s\n", argv[i],
               fuzz_load((uint8_t *)data, len) == 0 ? "loaded" : "rejected");
    }
    return 0;
}

int main(int argc, char **argv)
{
    GPtrArray *seeds =
        g_ptr_array_new_with_free_func((GDestroyNotify)g_byte_array_unref);
    const char *corpus_dir = NULL;
    FuzzCorpusStats corpus = {0};
    long iterations = 3000, accepted;
    bool tap = false, ok;
    int saved_stderr;

    fuzz_setup();
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--tap")) {
            tap = true;
        } else if (!strcmp(argv[i], "-n") && i + 1 < argc) {
            iterations = atol(argv[++i]);
        } else if (!strcmp(argv[i], "--write-seeds") && i + 1 < argc) {
            return fuzz_write_seeds(argv[i + 1]);
        } else if (!strcmp(argv[i], "--corpus") && i + 1 < argc) {
            corpus_dir = argv[++i];
        } else {
            return fuzz_replay_files(argc, argv);
        }
    }
    if (!fuzz_check_seeds(seeds)) {
        return 1;
    }
    saved_stderr = fuzz_stderr_silence();
    ok = !corpus_dir || fuzz_corpus_replay("fuzz-compress-page", corpus_dir,
                                           fuzz_input, &corpus);
    accepted = ok ? fuzz_mutations(seeds, iterations) : 0;
    fuzz_stderr_restore(saved_stderr);
    if (!ok) {
        return 1;
    }
    if (tap) {
        printf("1..3\nok 1 /fuzz-compress-page/seeds %u load exactly\n"
               "ok 2 /fuzz-compress-page/corpus %u saved inputs, %u loaded\n"
               "ok 3 /fuzz-compress-page/mutations %ld inputs, %ld loaded\n",
               seeds->len, corpus.files, corpus.accepted, iterations, accepted);
    } else {
        printf("fuzz-compress-page: %u seeds, %u saved inputs, %ld mutated "
               "inputs (%ld loaded), no crash\n",
               seeds->len, corpus.files, iterations, accepted);
    }
    g_ptr_array_free(seeds, true);
    return 0;
}

#endif /* CONFIG_LIBFUZZER */
