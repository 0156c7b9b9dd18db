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
 * Entry points and plain run: fuzz-driver.h (--write-seeds names the
 * seeds seed-N; 3000 mutations by default).
 */
#include "qemu/osdep.h"
#include "qemu/bswap.h"
#include "migration/qemu-file.h"
#include "sysemu/ramblock.h"
#include "../../migration/ram-compress.h"
#include "../../migration/ram-format.h"
#include "../../migration/ram-load.h"
#include "fuzz-driver.h"
#include "fuzz-load.h"

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
    QEMUFile *f = fuzz_file_new_input(data, size);
    RAMLoadState *ls = ram_load_state_new();
    Error *err = NULL;
    int ret;

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

/* Seed i as the driver wants it (its RAM is fuzz_seed_check()'s job). */
static GByteArray *fuzz_builtin_seed(unsigned i)
{
    g_autofree uint8_t *ram = g_malloc(FUZZ_SIZE);

    return fuzz_seed(i, ram);
}

/* Seed i loads and leaves exactly the RAM it describes. */
static bool fuzz_seed_check(unsigned i, const char *name, const GByteArray *b)
{
    g_autofree uint8_t *want = g_malloc(FUZZ_SIZE);

    g_byte_array_unref(fuzz_seed(i, want)); /* for the RAM it describes */
    memset(fuzz_block->host, 0xa5, FUZZ_SIZE);
    if (fuzz_load(b->data, b->len) != 0 ||
        memcmp(fuzz_block->host, want, FUZZ_SIZE)) {
        fprintf(stderr, "fuzz-compress-page: seed %s does not load\n", name);
        return false;
    }
    return true;
}

/* fuzz_load() for the driver: 0 when the input loaded. */
static int fuzz_input(const uint8_t *data, size_t size)
{
    return fuzz_load(data, size) == 0 ? 0 : 1;
}

const FuzzDriver fuzz_driver = {
    .name = "fuzz-compress-page",
    .setup = fuzz_setup,
    .input = fuzz_input,
    .taken = "loaded",
    .seed = fuzz_builtin_seed,
    .n_seeds = FUZZ_SEEDS,
    .seed_prefix = "seed",
    .seed_check = fuzz_seed_check,
    .rand_seed = 0x100,
    .iterations = 3000,
    .quiet = true,
};
