/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * mapped-ram-format.c: QEMU 9.x mapped-ram headers and a pread-only
 * reader of mapped-ram files (layout in mapped-ram-format.h).
 *
 * The reader walks the stream's prefix with a cursor (MRCursor): the
 * stream header, the CONFIGURATION record and its known subsections,
 * COMMAND records, then the START record of "ram", whose block list
 * gives every block's header.  Every length read from the file is
 * checked before it is used; a short file is an error, never a crash.
 * No locks: a MappedRamFile belongs to one thread at a time.
 */
#include "qemu/osdep.h"
#include <sys/stat.h>
#include "qemu/bitmap.h"
#include "qemu/bswap.h"
#include "migration/savevm.h"
#include "mapped-ram-format.h"
#include "ram-format.h"

uint64_t mapped_ram_bitmap_bytes(uint64_t pages)
{
    return DIV_ROUND_UP(pages, BITS_PER_LONG) * sizeof(unsigned long);
}

void mapped_ram_header_layout(MappedRamHeader *h, uint64_t pos,
                              uint64_t used_length)
{
    uint64_t bitmap = mapped_ram_bitmap_bytes(used_length / TARGET_PAGE_SIZE);

    h->version = MAPPED_RAM_HDR_VERSION;
    h->page_size = TARGET_PAGE_SIZE;
    h->bitmap_offset = pos;
    h->pages_offset = DIV_ROUND_UP(pos + bitmap, MAPPED_RAM_FILE_ALIGNMENT) *
                      MAPPED_RAM_FILE_ALIGNMENT;
}

void mapped_ram_header_encode(const MappedRamHeader *h, uint8_t *buf)
{
    stl_be_p(buf, h->version);
    stq_be_p(buf + 4, h->page_size);
    stq_be_p(buf + 12, h->bitmap_offset);
    stq_be_p(buf + 20, h->pages_offset);
}

void mapped_ram_header_decode(const uint8_t *buf, MappedRamHeader *h)
{
    h->version = ldl_be_p(buf);
    h->page_size = ldq_be_p(buf + 4);
    h->bitmap_offset = ldq_be_p(buf + 12);
    h->pages_offset = ldq_be_p(buf + 20);
}

bool mapped_ram_header_check(const MappedRamHeader *h, const char *idstr,
                             uint64_t used_length, uint64_t file_size,
                             Error **errp)
{
    uint64_t bitmap = mapped_ram_bitmap_bytes(used_length / TARGET_PAGE_SIZE);

    if (h->version > MAPPED_RAM_HDR_VERSION) {
        error_setg(errp,
                   "Migration mapped-ram capability version not supported "
                   "(expected <= %d, got %" PRIu32 ")",
                   MAPPED_RAM_HDR_VERSION, h->version);
        return false;
    }
    if (h->page_size != TARGET_PAGE_SIZE) {
        error_setg(errp,
                   "mapped-ram: ramblock %s has page size %" PRIu64
                   ", expected %u",
                   idstr, h->page_size, TARGET_PAGE_SIZE);
        return false;
    }
    if (h->pages_offset % TARGET_PAGE_SIZE) {
        error_setg(errp,
                   "Error reading ramblock %s pages, region has bad "
                   "alignment",
                   idstr);
        return false;
    }
    if (file_size && (h->bitmap_offset > file_size ||
                      bitmap > file_size - h->bitmap_offset)) {
        error_setg(errp,
                   "mapped-ram: ramblock %s bitmap at 0x%" PRIx64 " (%" PRIu64
                   " bytes) lies past the end of the file "
                   "(0x%" PRIx64 " bytes)",
                   idstr, h->bitmap_offset, bitmap, file_size);
        return false;
    }
    if (file_size && (h->pages_offset > file_size ||
                      used_length > file_size - h->pages_offset)) {
        error_setg(errp,
                   "mapped-ram: ramblock %s region (pages at 0x%" PRIx64
                   ", 0x%" PRIx64 " bytes) lies past the end of the file "
                   "(0x%" PRIx64 " bytes): the file is truncated",
                   idstr, h->pages_offset, used_length, file_size);
        return false;
    }
    if (h->bitmap_offset > h->pages_offset ||
        h->pages_offset - h->bitmap_offset < bitmap) {
        error_setg(errp,
                   "mapped-ram: ramblock %s bitmap at 0x%" PRIx64 " (%" PRIu64
                   " bytes) overlaps its pages at 0x%" PRIx64,
                   idstr, h->bitmap_offset, bitmap, h->pages_offset);
        return false;
    }
    return true;
}

/* ---------------- the stream prefix ---------------- */

typedef struct MRCursor {
    int fd;
    uint64_t pos;
    uint64_t size;
    Error **errp;
    bool failed;
} MRCursor;

/* Read len bytes at the cursor; false (errp set once) when short. */
static bool mr_read(MRCursor *c, void *buf, size_t len, const char *what)
{
    size_t done = 0;

    if (c->failed) {
        return false;
    }
    while (done < len) {
        ssize_t n =
            pread(c->fd, (uint8_t *)buf + done, len - done, c->pos + done);

        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            if (n < 0) {
                error_setg_errno(c->errp, errno,
                                 "mapped-ram: cannot read %s at offset "
                                 "0x%" PRIx64,
                                 what, c->pos);
            } else {
                error_setg(c->errp,
                           "mapped-ram: file truncated: %s at offset "
                           "0x%" PRIx64 " (file size 0x%" PRIx64 ")",
                           what, c->pos, c->size);
            }
            c->failed = true;
            return false;
        }
        done += n;
    }
    c->pos += len;
    return true;
}

static uint8_t mr_u8(MRCursor *c, const char *what)
{
    uint8_t v = 0;

    mr_read(c, &v, 1, what);
    return v;
}

static uint32_t mr_be32(MRCursor *c, const char *what)
{
    uint8_t b[4] = {0};

    mr_read(c, b, 4, what);
    return ldl_be_p(b);
}

static uint64_t mr_be64(MRCursor *c, const char *what)
{
    uint8_t b[8] = {0};

    mr_read(c, b, 8, what);
    return ldq_be_p(b);
}

/* A str8 into buf (MAPPED_RAM_IDSTR_MAX + 1 bytes, NUL-terminated). */
static bool mr_str8(MRCursor *c, char *buf, const char *what)
{
    uint8_t len = mr_u8(c, what);

    buf[0] = '\0';
    if (!mr_read(c, buf, len, what)) {
        return false;
    }
    buf[len] = '\0';
    return true;
}

static bool mr_fail(MRCursor *c, const char *fmt, const char *arg)
{
    if (!c->failed) {
        error_setg(c->errp, fmt, arg);
        c->failed = true;
    }
    return false;
}

/* The subsections of the configuration record this reader knows. */
static bool mr_config_subsection(MRCursor *c, MappedRamFile *mf)
{
    char name[MAPPED_RAM_IDSTR_MAX + 1];
    char cap[MAPPED_RAM_IDSTR_MAX + 1];

    c->pos++; /* the QEMU_VM_SUBSECTION byte */
    if (!mr_str8(c, name, "subsection name")) {
        return false;
    }
    mr_be32(c, "subsection version");
    if (!strcmp(name, "configuration/target-page-bits")) {
        if (mr_be32(c, "target page bits") != TARGET_PAGE_BITS && !c->failed) {
            return mr_fail(c, "mapped-ram: %s is not 12", name);
        }
    } else if (!strcmp(name, "configuration/capabilities")) {
        uint32_t n = mr_be32(c, "capability count");

        for (uint32_t i = 0; i < n && !c->failed; i++) {
            if (mr_str8(c, cap, "capability name")) {
                g_ptr_array_add(mf->caps, g_strdup(cap));
            }
        }
    } else if (!strcmp(name, "configuration/uuid")) {
        uint8_t uuid[16];

        mr_read(c, uuid, sizeof(uuid), "uuid");
    } else {
        return mr_fail(c, "mapped-ram: unknown configuration subsection %s",
                       name);
    }
    return !c->failed;
}

static bool mr_has_cap(MappedRamFile *mf, const char *name)
{
    for (guint i = 0; i < mf->caps->len; i++) {
        if (!strcmp(g_ptr_array_index(mf->caps, i), name)) {
            return true;
        }
    }
    return false;
}

/* Stream header and CONFIGURATION. */
static bool mr_parse_config(MRCursor *c, MappedRamFile *mf)
{
    uint32_t len;
    uint8_t next;

    if (mr_be32(c, "stream magic") != QEMU_VM_FILE_MAGIC) {
        return mr_fail(c, "%s", "Not a migration stream");
    }
    if (mr_be32(c, "stream version") != QEMU_VM_FILE_VERSION) {
        return mr_fail(c, "%s", "Unsupported migration stream version");
    }
    if (mr_u8(c, "configuration") != QEMU_VM_CONFIGURATION) {
        return mr_fail(c, "%s", "Configuration section missing");
    }
    len = mr_be32(c, "machine name length");
    if (len >= sizeof(mf->machine)) {
        return mr_fail(c, "%s", "mapped-ram: machine name too long");
    }
    if (!mr_read(c, mf->machine, len, "machine name")) {
        return false;
    }
    mf->machine[len] = '\0';
    while (!c->failed) {
        if (!mr_read(c, &next, 1, "record type")) {
            return false;
        }
        c->pos--;
        if (next != QEMU_VM_SUBSECTION) {
            break;
        }
        mr_config_subsection(c, mf);
    }
    if (!c->failed && !mr_has_cap(mf, "mapped-ram")) {
        return mr_fail(c, "%s",
                       "mapped-ram: the stream was not saved with the "
                       "mapped-ram capability");
    }
    return !c->failed;
}

/* Records up to the START of "ram" (COMMANDs are skipped). */
static bool mr_find_ram_start(MRCursor *c, MappedRamFile *mf)
{
    char idstr[MAPPED_RAM_IDSTR_MAX + 1];

    for (;;) {
        uint8_t type = mr_u8(c, "record type");

        if (c->failed) {
            return false;
        }
        if (type == QEMU_VM_COMMAND) {
            /* be16 command, be16 length, data */
            c->pos += mr_be32(c, "command") & 0xffff;
            continue;
        }
        if (type != QEMU_VM_SECTION_START) {
            char t[8];

            g_snprintf(t, sizeof(t), "%u", type);
            return mr_fail(c,
                           "mapped-ram: record type %s before the ram "
                           "section's START",
                           t);
        }
        mf->ram_section_id = mr_be32(c, "section id");
        if (!mr_str8(c, idstr, "section name")) {
            return false;
        }
        mr_be32(c, "instance id");
        if (strcmp(idstr, "ram")) {
            return mr_fail(c,
                           "mapped-ram: live section '%s' before ram is "
                           "not supported",
                           idstr);
        }
        if (mr_be32(c, "section version") != RAM_SECTION_VERSION &&
            !c->failed) {
            return mr_fail(c, "%s", "mapped-ram: ram section version is not 4");
        }
        return !c->failed;
    }
}

/* One block entry at the cursor; the cursor ends after its region. */
static bool mr_parse_block(MRCursor *c, MappedRamFile *mf, MappedRamBlock *blk,
                           bool has_gpa)
{
    uint8_t hdr[MAPPED_RAM_HDR_BYTES];
    Error *err = NULL;

    if (!mr_str8(c, blk->idstr, "block name")) {
        return false;
    }
    blk->used_length = mr_be64(c, "block length");
    if (has_gpa) {
        blk->gpa = mr_be64(c, "block address");
    }
    blk->header_offset = c->pos;
    if (!mr_read(c, hdr, sizeof(hdr), "mapped-ram header")) {
        return false;
    }
    mapped_ram_header_decode(hdr, &blk->hdr);
    if (has_gpa && !blk->hdr.bitmap_offset && !blk->hdr.pages_offset) {
        return true; /* a shared block, not in the file */
    }
    if (!mapped_ram_header_check(&blk->hdr, blk->idstr, blk->used_length,
                                 mf->size, &err)) {
        error_propagate(c->errp, err);
        c->failed = true;
        return false;
    }
    if (!blk->used_length || blk->used_length % TARGET_PAGE_SIZE) {
        return mr_fail(c,
                       "mapped-ram: ramblock %s length is zero or not page "
                       "aligned",
                       blk->idstr);
    }
    if (blk->hdr.bitmap_offset < c->pos) {
        /* every block lies after the previous one: the walk ends */
        return mr_fail(c,
                       "mapped-ram: ramblock %s bitmap lies before its "
                       "header's end",
                       blk->idstr);
    }
    c->pos = blk->hdr.pages_offset + blk->used_length;
    return true;
}

/* The START payload: MEM_SIZE word, block entries, EOS, footer. */
static bool mr_parse_block_list(MRCursor *c, MappedRamFile *mf)
{
    uint64_t word = mr_be64(c, "ram block list");
    bool has_gpa = mr_has_cap(mf, "x-ignore-shared");
    uint64_t left;
    GArray *blocks = g_array_new(false, true, sizeof(MappedRamBlock));

    if (!c->failed && (word & ~TARGET_PAGE_MASK) != RAM_SAVE_FLAG_MEM_SIZE) {
        mr_fail(c, "%s", "mapped-ram: ram START does not begin with MEM_SIZE");
    }
    mf->ram_total = left = word & TARGET_PAGE_MASK;
    while (!c->failed && left) {
        MappedRamBlock blk = {0};

        if (mr_parse_block(c, mf, &blk, has_gpa) && blk.used_length > left) {
            mr_fail(c, "mapped-ram: ramblock %s is longer than the total",
                    blk.idstr);
        }
        if (!c->failed) {
            g_array_append_val(blocks, blk);
            left -= blk.used_length;
        }
    }
    if (!c->failed && mr_be64(c, "ram EOS") != RAM_SAVE_FLAG_EOS) {
        mr_fail(c, "%s", "mapped-ram: ram block list does not end with EOS");
    }
    if (!c->failed && (mr_u8(c, "footer") != QEMU_VM_SECTION_FOOTER ||
                       mr_be32(c, "footer id") != mf->ram_section_id)) {
        mr_fail(c, "%s", "Missing section footer for ram");
    }
    mf->nblocks = blocks->len;
    mf->blocks = (MappedRamBlock *)g_array_free(blocks, false);
    mf->stream_next = c->pos;
    return !c->failed;
}

MappedRamFile *mapped_ram_file_open_fd(int fd, uint64_t start, Error **errp)
{
    MappedRamFile *mf = g_new0(MappedRamFile, 1);
    struct stat st;
    MRCursor c = {.fd = fd, .pos = start, .errp = errp};

    mf->fd = fd;
    mf->start = start;
    mf->caps = g_ptr_array_new_with_free_func(g_free);
    if (fstat(fd, &st) < 0) {
        error_setg_errno(errp, errno, "mapped-ram: cannot stat the file");
        goto fail;
    }
    mf->size = c.size = st.st_size;
    if (!mr_parse_config(&c, mf) || !mr_find_ram_start(&c, mf) ||
        !mr_parse_block_list(&c, mf)) {
        goto fail;
    }
    return mf;

fail:
    mapped_ram_file_free(mf);
    return NULL;
}

MappedRamFile *mapped_ram_file_open(const char *path, uint64_t start,
                                    Error **errp)
{
    MappedRamFile *mf;
    int fd = open(path, O_RDONLY | O_CLOEXEC);

    if (fd < 0) {
        error_setg_errno(errp, errno, "Unable to open %s", path);
        return NULL;
    }
    mf = mapped_ram_file_open_fd(fd, start, errp);
    if (!mf) {
        close(fd);
        return NULL;
    }
    mf->own_fd = true;
    return mf;
}

void mapped_ram_file_free(MappedRamFile *mf)
{
    if (!mf) {
        return;
    }
    for (size_t i = 0; i < mf->nblocks; i++) {
        g_free(mf->blocks[i].bitmap);
    }
    g_free(mf->blocks);
    g_ptr_array_free(mf->caps, true);
    if (mf->own_fd) {
        close(mf->fd);
    }
    g_free(mf);
}

MappedRamBlock *mapped_ram_file_find(MappedRamFile *mf, const char *idstr)
{
    for (size_t i = 0; i < mf->nblocks; i++) {
        if (!strcmp(mf->blocks[i].idstr, idstr)) {
            return &mf->blocks[i];
        }
    }
    return NULL;
}

/* ---------------- bitmap and pages ---------------- */

const unsigned long *mapped_ram_block_bitmap(MappedRamFile *mf,
                                             MappedRamBlock *blk, Error **errp)
{
    uint64_t pages = mapped_ram_block_pages(blk);
    uint64_t bytes = mapped_ram_bitmap_bytes(pages);
    MRCursor c = {.fd = mf->fd,
                  .pos = blk->hdr.bitmap_offset,
                  .size = mf->size,
                  .errp = errp};
    unsigned long *map;

    if (blk->bitmap) {
        return blk->bitmap;
    }
    map = bitmap_try_new(pages);
    if (!map && pages) {
        error_setg(errp, "mapped-ram: no memory for the bitmap of %s",
                   blk->idstr);
        return NULL;
    }
    if (!mr_read(&c, map, bytes, "dirty bitmap")) {
        g_free(map);
        return NULL;
    }
    if (pages % BITS_PER_LONG) {
        /* bits past the block's end mean nothing */
        map[pages / BITS_PER_LONG] &= BITMAP_LAST_WORD_MASK(pages);
    }
    blk->bitmap = map;
    return map;
}

int64_t mapped_ram_block_pages_present(MappedRamFile *mf, MappedRamBlock *blk,
                                       Error **errp)
{
    const unsigned long *map = mapped_ram_block_bitmap(mf, blk, errp);

    if (!map) {
        return -1;
    }
    return bitmap_count_one(map, mapped_ram_block_pages(blk));
}

int mapped_ram_file_read_page(MappedRamFile *mf, MappedRamBlock *blk,
                              uint64_t page, void *buf, Error **errp)
{
    const unsigned long *map;
    MRCursor c = {.fd = mf->fd, .size = mf->size, .errp = errp};

    if (page >= mapped_ram_block_pages(blk)) {
        error_setg(errp, "mapped-ram: page %" PRIu64 " is past the end of %s",
                   page, blk->idstr);
        return -1;
    }
    map = mapped_ram_block_bitmap(mf, blk, errp);
    if (!map) {
        return -1;
    }
    if (!test_bit(page, map)) {
        memset(buf, 0, blk->hdr.page_size);
        return 0;
    }
    c.pos = mapped_ram_block_page_offset(blk, page);
    return mr_read(&c, buf, blk->hdr.page_size, "page") ? 1 : -1;
}
