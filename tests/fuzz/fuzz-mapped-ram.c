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
 * Entry points and plain run: fuzz-driver.h (3 built-in files, 3000
 * mutations by default).
 */
#include "qemu/osdep.h"
#include <sys/mman.h>
#include "qemu/bitmap.h"
#include "qemu/bswap.h"
#include "../unit/byte-array-put.h"
#include "../../migration/mapped-ram-format.h"
#include "fuzz-driver.h"

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

    byte_array_put_str8(b, name);
    byte_array_put_be64(b, len);
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
static GByteArray *fuzz_seed(unsigned kind)
{
    GByteArray *b = g_byte_array_new();
    uint64_t p1 = kind == 2 ? 70 : 3, p2 = 2;

    byte_array_put_be32(b, 0x5145564d);
    byte_array_put_be32(b, 3);
    byte_array_put8(b, 0x07);
    byte_array_put_be32(b, 4);
    g_byte_array_append(b, (const uint8_t *)"none", 4);
    byte_array_put8(b, 0x05);
    byte_array_put_str8(b, "configuration/capabilities");
    byte_array_put_be32(b, 1);
    byte_array_put_be32(b, 1);
    byte_array_put_str8(b, "mapped-ram");
    if (kind == 1) {
        byte_array_put8(b, 0x08); /* a COMMAND (PING) before ram */
        byte_array_put_be32(b, (3 << 16) | 4);
        byte_array_put_be32(b, 1);
    }
    byte_array_put8(b, 0x01);
    byte_array_put_be32(b, 2);
    byte_array_put_str8(b, "ram");
    byte_array_put_be32(b, 0);
    byte_array_put_be32(b, 4);
    byte_array_put_be64(b, ((kind ? p1 + p2 : p1) * TARGET_PAGE_SIZE) | 0x04);
    seed_block(b, "pc.ram", p1, kind == 2 ? 5 : 2);
    if (kind) {
        seed_block(b, "b2", p2, 1);
    }
    byte_array_put_be64(b, 0x10);
    byte_array_put8(b, 0x7e);
    byte_array_put_be32(b, 2);
    byte_array_put8(b, 0x00);
    return b;
}

const FuzzDriver fuzz_driver = {
    .name = "fuzz-mapped-ram",
    .input = fuzz_one,
    .taken = "read",
    .seed = fuzz_seed,
    .n_seeds = 3,
    .rand_seed = 0x3a9,
    .iterations = 3000,
};
