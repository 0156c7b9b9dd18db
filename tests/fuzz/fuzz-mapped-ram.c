/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * fuzz-mapped-ram.c: feed arbitrary files to the mapped-ram reader
 * (migration/mapped-ram-format.c): stream header, configuration, the
 * ram START block list with each block's 28-byte header, then every
 * block's bitmap and the present pages it points at.
 *
 * The input is written to a memfd and opened with
 * mapped_ram_file_open_fd(); when it opens, each block's bitmap is read,
 * its present pages counted, and the first and last present pages read.
 * The raw 28 bytes after the configuration also go through
 * mapped_ram_header_check() against a length and size taken from the
 * input.  Any input must end in success or an Error; crashes, hangs and
 * sanitizer reports are bugs.
 *
 * libFuzzer build: make fuzz (docs/testing.md); -Dfuzzing=true compiles
 * this file with CONFIG_LIBFUZZER.
 * Plain build (meson, gcc): the main() below
 *   fuzz-mapped-ram FILE...    replays each file
 *   fuzz-mapped-ram --write-seeds DIR
 *                              writes the built-in corpus
 *   fuzz-mapped-ram [--tap] [-n N] [--corpus DIR]
 *                              built-in corpus, the saved inputs of DIR
 *                              and N (default 3000) deterministic
 *                              mutations of the built-in ones
 */
#include "qemu/osdep.h"
#include <sys/mman.h>
#include "qemu/bitmap.h"
#include "qemu/bswap.h"
#include "../../migration/mapped-ram-format.h"
#include "fuzz-corpus.h"
#include "fuzz-mutate.h"

/* Read everything the reader offers about mf; true when it all read. */
static bool fuzz_walk(MappedRamFile *mf)
{
    uint8_t page[TARGET_PAGE_SIZE];
    bool ok = true;

    for (size_t i = 0; i < mf->nblocks; i++) {
        MappedRamBlock *blk = &mf->blocks[i];
        uint64_t pages = mapped_ram_block_pages(blk);
        const unsigned long *map;
        Error *err = NULL;
        uint64_t first, last;

        map = mapped_ram_block_bitmap(mf, blk, &err);
        if (!map) {
            error_free(err);
            ok = false;
            continue;
        }
        if (mapped_ram_block_pages_present(mf, blk, NULL) < 0) {
            abort(); /* the bitmap is loaded: counting cannot fail */
        }
        first = find_first_bit(map, pages);
        last = first;
        for (uint64_t p = first; p < pages;
             p = find_next_bit(map, pages, p + 1)) {
            last = p;
        }
        for (int k = 0; k < 2 && first < pages; k++) {
            if (mapped_ram_file_read_page(mf, blk, k ? last : first, page,
                                          &err) < 0) {
                error_free(err);
                err = NULL;
                ok = false;
            }
        }
        if (mapped_ram_file_read_page(mf, blk, pages, page, &err) >= 0) {
            abort(); /* past the end must be refused */
        }
        error_free(err);
    }
    return ok;
}

/* The header codec and checks on 28 raw bytes of the input. */
static void fuzz_header(const uint8_t *data, size_t size)
{
    MappedRamHeader h;
    Error *err = NULL;
    uint64_t len, fsize;

    if (size < MAPPED_RAM_HDR_BYTES + 16) {
        return;
    }
    mapped_ram_header_decode(data + size - MAPPED_RAM_HDR_BYTES - 16, &h);
    len = ldq_be_p(data + size - 16) & TARGET_PAGE_MASK;
    fsize = ldq_be_p(data + size - 8);
    if (mapped_ram_header_check(&h, "fuzz", len, fsize, &err)) {
        /* accepted: the regions must really fit */
        if (fsize && (h.pages_offset > fsize || len > fsize - h.pages_offset ||
                      h.bitmap_offset > h.pages_offset)) {
            abort();
        }
    }
    error_free(err);
}

static int fuzz_one(const uint8_t *data, size_t size)
{
    int fd = memfd_create("fuzz-mapped-ram", MFD_CLOEXEC);
    MappedRamFile *mf;
    Error *err = NULL;
    int ret = 1;

    fuzz_header(data, size);
    if (fd < 0) {
        perror("memfd_create");
        abort();
    }
    if (size && write(fd, data, size) != (ssize_t)size) {
        perror("write");
        abort();
    }
    mf = mapped_ram_file_open_fd(fd, 0, &err);
    if (mf) {
        ret = fuzz_walk(mf) ? 0 : 1;
        mapped_ram_file_free(mf);
    } else {
        g_assert(err);
        error_free(err);
    }
    close(fd);
    return ret;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_one(data, size);
    return 0;
}

#ifndef CONFIG_LIBFUZZER

static void put8(GByteArray *b, uint8_t v)
{
    g_byte_array_append(b, &v, 1);
}

static void put32(GByteArray *b, uint32_t v)
{
    uint8_t x[4];

    stl_be_p(x, v);
    g_byte_array_append(b, x, 4);
}

static void put64(GByteArray *b, uint64_t v)
{
    uint8_t x[8];

    stq_be_p(x, v);
    g_byte_array_append(b, x, 8);
}

static void putstr8(GByteArray *b, const char *s)
{
    put8(b, strlen(s));
    g_byte_array_append(b, (const uint8_t *)s, strlen(s));
}

/*
 * One block entry with its region.  Pages start at the next page after
 * the bitmap (the reader only needs page alignment), so the seeds stay
 * small and mutations land on headers and bitmaps.
 */
static void seed_block(GByteArray *b, const char *name, uint64_t pages,
                       unsigned stride)
{
    MappedRamHeader h = {.version = 1, .page_size = TARGET_PAGE_SIZE};
    uint8_t hdr[MAPPED_RAM_HDR_BYTES];
    unsigned long *map = bitmap_new(pages);
    uint64_t len = pages * TARGET_PAGE_SIZE;

    putstr8(b, name);
    put64(b, len);
    h.bitmap_offset = b->len + MAPPED_RAM_HDR_BYTES;
    h.pages_offset =
        DIV_ROUND_UP(h.bitmap_offset + mapped_ram_bitmap_bytes(pages),
                     TARGET_PAGE_SIZE) *
        TARGET_PAGE_SIZE;
    mapped_ram_header_encode(&h, hdr);
    g_byte_array_append(b, hdr, sizeof(hdr));
    g_byte_array_set_size(b, h.pages_offset + len);
    memset(b->data + h.bitmap_offset, 0,
           h.pages_offset + len - h.bitmap_offset);
    for (uint64_t p = 0; p < pages; p += stride) {
        set_bit(p, map);
        memset(b->data + h.pages_offset + p * TARGET_PAGE_SIZE, p + 1,
               TARGET_PAGE_SIZE);
    }
    memcpy(b->data + h.bitmap_offset, map, mapped_ram_bitmap_bytes(pages));
    g_free(map);
}

/* Built-in seeds: 1 or 2 blocks, with x-ignore-shared's gpa or not. */
static GByteArray *fuzz_seed(int kind)
{
    GByteArray *b = g_byte_array_new();
    uint64_t p1 = kind == 2 ? 70 : 3, p2 = 2;

    put32(b, 0x5145564d);
    put32(b, 3);
    put8(b, 0x07);
    put32(b, 4);
    g_byte_array_append(b, (const uint8_t *)"none", 4);
    put8(b, 0x05);
    putstr8(b, "configuration/capabilities");
    put32(b, 1);
    put32(b, 1);
    putstr8(b, "mapped-ram");
    if (kind == 1) {
        put8(b, 0x08); /* a COMMAND (PING) before ram */
        put32(b, (3 << 16) | 4);
        put32(b, 1);
    }
    put8(b, 0x01);
    put32(b, 2);
    putstr8(b, "ram");
    put32(b, 0);
    put32(b, 4);
    put64(b, ((kind ? p1 + p2 : p1) * TARGET_PAGE_SIZE) | 0x04);
    seed_block(b, "pc.ram", p1, kind == 2 ? 5 : 2);
    if (kind) {
        seed_block(b, "b2", p2, 1);
    }
    put64(b, 0x10);
    put8(b, 0x7e);
    put32(b, 2);
    put8(b, 0x00);
    return b;
}

static int fuzz_replay_file(const char *path)
{
    g_autofree char *data = NULL;
    gsize len;

    if (!g_file_get_contents(path, &data, &len, NULL)) {
        fprintf(stderr, "fuzz-mapped-ram: cannot read %s\n", path);
        return 1;
    }
    printf("%s: %s\n", path,
           fuzz_one((uint8_t *)data, len) ? "refused" : "read");
    return 0;
}

#define SEEDS 3

/* Write the seeds to dir; 0 or 1. */
static int fuzz_write_seeds(GByteArray **seeds, const char *dir)
{
    for (int i = 0; i < SEEDS; i++) {
        g_autofree char *name = g_strdup_printf("%s/builtin-%d", dir, i);

        if (!g_file_set_contents(name, (char *)seeds[i]->data, seeds[i]->len,
                                 NULL)) {
            fprintf(stderr, "fuzz-mapped-ram: cannot write %s\n", name);
            return 1;
        }
    }
    return 0;
}

static long fuzz_mutations(GByteArray **seeds, long iterations)
{
    GRand *r = g_rand_new_with_seed(0x3a9);
    long read_ok = 0;

    for (long it = 0; it < iterations; it++) {
        GByteArray *seed = seeds[it % SEEDS];
        GByteArray *b = g_byte_array_sized_new(seed->len + 8);

        g_byte_array_append(b, seed->data, seed->len);
        fuzz_mutate_bytes(r, b);
        if (!fuzz_one(b->data, b->len)) {
            read_ok++;
        }
        g_byte_array_free(b, true);
    }
    g_rand_free(r);
    return read_ok;
}

int main(int argc, char **argv)
{
    const char *seed_dir = NULL, *corpus_dir = NULL;
    FuzzCorpusStats corpus = {0};
    long iterations = 3000, read_ok;
    GByteArray *seeds[SEEDS];
    bool tap = false;
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
    for (int i = 0; i < SEEDS; i++) {
        seeds[i] = fuzz_seed(i);
        if (fuzz_one(seeds[i]->data, seeds[i]->len)) {
            fprintf(stderr, "fuzz-mapped-ram: seed %d does not read\n", i);
            return 1;
        }
    }
    if (seed_dir) {
        return fuzz_write_seeds(seeds, seed_dir);
    }
    if (corpus_dir &&
        !fuzz_corpus_replay("fuzz-mapped-ram", corpus_dir, fuzz_one, &corpus)) {
        return 1;
    }
    read_ok = fuzz_mutations(seeds, iterations);
    for (int i = 0; i < SEEDS; i++) {
        g_byte_array_free(seeds[i], true);
    }
    if (tap) {
        printf("1..2\nok 1 /fuzz-mapped-ram/corpus %u saved inputs, %u read\n"
               "ok 2 /fuzz-mapped-ram/mutations %ld inputs, %ld read\n",
               corpus.files, corpus.accepted, iterations, read_ok);
    } else {
        printf("fuzz-mapped-ram: %u saved inputs, %ld mutated inputs (%ld "
               "read), no crash\n",
               corpus.files, iterations, read_ok);
    }
    return 0;
}

#endif /* CONFIG_LIBFUZZER */
