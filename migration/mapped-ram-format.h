/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * mapped-ram-format.h (private to migration/): QEMU 9.x's mapped-ram
 * file layout, and a reader for such files that needs nothing but a file
 * descriptor (used by the loader's checks, checkpoint users, the fuzz
 * target and tests).
 *
 * A mapped-ram file is an ordinary migration stream (header,
 * CONFIGURATION naming the capability mapped-ram, sections, EOF,
 * VMDESCRIPTION) except for the "ram" section.  In its START payload,
 * after each block entry (str8 idstr, be64 used_length, be64 gpa only
 * with x-ignore-shared) comes a 28-byte big-endian header:
 *
 *   off size field
 *     0    4 version        1
 *     4    8 page_size      4096 (target page size)
 *    12    8 bitmap_offset  absolute file offset of the block's bitmap
 *    20    8 pages_offset   absolute file offset of the block's page 0
 *
 * then the stream jumps to pages_offset + used_length and goes on there.
 * Each block's region of the file is therefore
 *
 *   header | bitmap | padding to 1 MiB | pages[used_length] | next entry
 *
 * The bitmap has one bit per target page (set = the page's data is in
 * the file at pages_offset + page * page_size, clear = the page is zero)
 * stored as the writer's unsigned long words in host byte order
 * (little-endian 64-bit words on x86-64): ceil(pages / 64) * 8 bytes.
 * It is written when the save completes.  Every offset is absolute in
 * the file, including a stream that starts at file:PATH,offset=N.
 * PART/END payloads of "ram" carry nothing but EOS.
 */
#ifndef MIGRATION_MAPPED_RAM_FORMAT_H
#define MIGRATION_MAPPED_RAM_FORMAT_H

#include "qemu/osdep.h"
#include "qapi/error.h"

#define MAPPED_RAM_HDR_VERSION 1
#define MAPPED_RAM_HDR_BYTES 28
/* pages_offset is rounded up to this (O_DIRECT friendly). */
#define MAPPED_RAM_FILE_ALIGNMENT 0x100000ULL
/* The longest block name (a str8). */
#define MAPPED_RAM_IDSTR_MAX 255

typedef struct MappedRamHeader {
    uint32_t version;
    uint64_t page_size;
    uint64_t bitmap_offset;
    uint64_t pages_offset;
} MappedRamHeader;

/* Bytes of the bitmap of a block of pages target pages. */
uint64_t mapped_ram_bitmap_bytes(uint64_t pages);

/*
 * The header the writer uses for a block of used_length bytes whose
 * header ends at file offset pos: bitmap at pos, pages at the next
 * MAPPED_RAM_FILE_ALIGNMENT boundary after the bitmap.
 */
void mapped_ram_header_layout(MappedRamHeader *h, uint64_t pos,
                              uint64_t used_length);

/* Store h as the 28 big-endian bytes at buf. */
void mapped_ram_header_encode(const MappedRamHeader *h, uint8_t *buf);

/* Read the 28 bytes at buf into h (no checks). */
void mapped_ram_header_decode(const uint8_t *buf, MappedRamHeader *h);

/*
 * Check the header of block idstr (used_length bytes) against what a
 * loader needs: version (QEMU's "capability version not supported"
 * text), page size, page-aligned pages_offset (QEMU's "bad alignment"
 * text), bitmap before the pages, and, when file_size is not 0, bitmap
 * and pages inside the file.  false with errp set.
 */
bool mapped_ram_header_check(const MappedRamHeader *h, const char *idstr,
                             uint64_t used_length, uint64_t file_size,
                             Error **errp);

/* ---------------- reading a file ---------------- */

typedef struct MappedRamBlock {
    char idstr[MAPPED_RAM_IDSTR_MAX + 1];
    uint64_t used_length;
    uint64_t gpa;           /* with x-ignore-shared, else 0 */
    uint64_t header_offset; /* file offset of its 28-byte header */
    MappedRamHeader hdr;
    unsigned long *bitmap; /* loaded by mapped_ram_block_bitmap() */
} MappedRamBlock;

typedef struct MappedRamFile {
    int fd;         /* read with pread only */
    bool own_fd;    /* closed by mapped_ram_file_free() */
    uint64_t start; /* file offset of the stream header */
    uint64_t size;  /* file size when opened */
    char machine[256];
    GPtrArray *caps; /* capability names of the configuration */
    uint32_t ram_section_id;
    uint64_t ram_total; /* the MEM_SIZE word's value */
    size_t nblocks;
    MappedRamBlock *blocks;
    uint64_t stream_next; /* file offset after the START record's footer */
} MappedRamFile;

/*
 * Parse the stream of fd from file offset start up to the end of the
 * "ram" START record: header, configuration (which must name
 * mapped-ram), then every block entry with its checked header.  fd is
 * borrowed (the caller closes it after mapped_ram_file_free()); it is
 * only read with pread.  NULL with errp set for anything that is not a
 * well-formed mapped-ram file, never a crash.
 */
MappedRamFile *mapped_ram_file_open_fd(int fd, uint64_t start, Error **errp);

/* The same on path, opened read-only and owned by the result. */
MappedRamFile *mapped_ram_file_open(const char *path, uint64_t start,
                                    Error **errp);

/* Free mf, its bitmaps and (if owned) its fd.  NULL is fine. */
void mapped_ram_file_free(MappedRamFile *mf);

/* The block named idstr, or NULL. */
MappedRamBlock *mapped_ram_file_find(MappedRamFile *mf, const char *idstr);

/* Pages (target pages) of blk. */
static inline uint64_t mapped_ram_block_pages(const MappedRamBlock *blk)
{
    return blk->used_length / blk->hdr.page_size;
}

/*
 * The bitmap of blk, read from the file at the first call and kept in
 * blk (owned by mf), one bit per page in host unsigned long words.  NULL
 * with errp set when it cannot be read.
 */
const unsigned long *mapped_ram_block_bitmap(MappedRamFile *mf,
                                             MappedRamBlock *blk, Error **errp);

/* File offset of page number page of blk (present or not). */
static inline uint64_t mapped_ram_block_page_offset(const MappedRamBlock *blk,
                                                    uint64_t page)
{
    return blk->hdr.pages_offset + page * blk->hdr.page_size;
}

/* Number of pages whose bit is set (reads the bitmap); -1 with errp. */
int64_t mapped_ram_block_pages_present(MappedRamFile *mf, MappedRamBlock *blk,
                                       Error **errp);

/*
 * Read page number page of blk into buf (page_size bytes): 1 when the
 * file holds it, 0 when its bit is clear (buf is zeroed), -1 with errp
 * set (bad page number, read error, short file).
 */
int mapped_ram_file_read_page(MappedRamFile *mf, MappedRamBlock *blk,
                              uint64_t page, void *buf, Error **errp);

#endif /* MIGRATION_MAPPED_RAM_FORMAT_H */
