/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * ram-load-mapped.c: the destination's loader of a mapped-ram block list
 * (see ram-load.h; layout in mapped-ram-format.h).
 *
 * For each block entry of START, after the name and length were checked
 * against the local block: read the 28-byte header from the stream and
 * check it (mapped_ram_header_check(), QEMU's texts, against the file's
 * size), read the bitmap at bitmap_offset, read every run of present
 * pages straight into guest RAM in transfers of at most one 1 MiB chunk
 * of the file (transfer pool of mapped-ram-io.h: this thread, or
 * multifd-channels readers with their own descriptors, each reading one
 * contiguous stretch of the block in order), wait for them,
 * and move the stream to the end of the block's region.  Absent pages
 * stay as they are: zero in fresh guest RAM.
 *
 * Memory: the guest RAM a read lands in is populated ahead of it by a
 * prefault helper (ram-prefault.h; the load thread moves its window as it
 * queues), so the kernel's allocation and zeroing of fresh huge pages
 * runs beside the readers' copies rather than inside them.  Only present
 * pages move the window: RAM that stays zero is not touched.
 *
 * Threads: the load thread; the readers write guest RAM, which no one
 * else touches until the load ends (the drain orders their stores).
 */
#include "qemu/osdep.h"
#include <sys/stat.h>
#include "qemu/bitmap.h"
#include "migration/options.h"
#include "mapped-ram-format.h"
#include "mapped-ram-io.h"
#include "ram-load.h"
#include "ram-prefault.h"

/*
 * Bytes per O_DIRECT read at most: each is one request to the disk (no
 * readahead), and 4 MiB ones read faster than 1 MiB ones here.
 */
#define MAPPED_RAM_LOAD_DIRECT_READ (4ULL << 20)

struct RAMLoadMapped {
    MappedRamIO *io;
    RAMPrefault *pf;
    uint64_t file_size;
    uint64_t read_max; /* bytes per read at most, a multiple of 1 MiB */
};

RAMLoadMapped *ram_load_mapped_new(QEMUFile *f, Error **errp)
{
    QIOChannel *ioc = qemu_file_get_ioc(f);
    int fd = qio_channel_get_fd(ioc);
    int n = migrate_multifd() ? migrate_multifd_channels() : 0;
    RAMLoadMapped *lm;
    struct stat st;

    if (fd < 0 || !qio_channel_has_feature(ioc, QIO_CHANNEL_FEATURE_SEEKABLE) ||
        fstat(fd, &st) < 0) {
        error_setg(errp, "Migration requires seekable transport (e.g. file)");
        return NULL;
    }
    lm = g_new0(RAMLoadMapped, 1);
    lm->file_size = st.st_size;
    lm->pf = ram_prefault_new();
    lm->read_max = n && migrate_direct_io() ? MAPPED_RAM_LOAD_DIRECT_READ
                                            : MAPPED_RAM_FILE_ALIGNMENT;
    lm->io = mapped_ram_io_new(fd, false, n, n && migrate_direct_io(), errp);
    if (!lm->io) {
        ram_prefault_free(lm->pf);
        g_free(lm);
        return NULL;
    }
    return lm;
}

void ram_load_mapped_free(RAMLoadMapped *lm)
{
    if (lm) {
        mapped_ram_io_free(lm->io); /* no read is in flight after it */
        ram_prefault_free(lm->pf);
        g_free(lm);
    }
}

/* One reader's contiguous stretch of a block's pages. */
typedef struct MappedSpan {
    uint64_t next; /* first page not queued yet */
    uint64_t end;  /* the span's pages end here */
    RAMPrefaultCursor cur;
} MappedSpan;

/*
 * Queue the next read of span (the present pages from its next one, at
 * most to the next multiple of read_max in the file) on worker w.  1 when
 * queued, 0 when the span is done, -1 after a failure.
 */
static int ram_load_mapped_next(RAMLoadMapped *lm, RAMBlock *rb,
                                const MappedRamHeader *h,
                                const unsigned long *bmap, MappedSpan *span,
                                unsigned w)
{
    uint64_t max_pages = lm->read_max / TARGET_PAGE_SIZE;
    uint64_t start = find_next_bit(bmap, span->end, span->next);
    uint64_t end, file_off, room, n;

    if (start >= span->end) {
        span->next = span->end;
        return 0;
    }
    end = find_next_zero_bit(bmap, span->end, start);
    file_off = h->pages_offset + (start << TARGET_PAGE_BITS);
    room = max_pages - (file_off % lm->read_max) / TARGET_PAGE_SIZE;
    n = MIN(end - start, room);
    ram_prefault_note_range(lm->pf, &span->cur, rb, start << TARGET_PAGE_BITS,
                            n << TARGET_PAGE_BITS);
    if (mapped_ram_io_queue_read_on(lm->io, w,
                                    rb->host + (start << TARGET_PAGE_BITS),
                                    n << TARGET_PAGE_BITS, file_off) < 0) {
        return -1;
    }
    span->next = start + n;
    return 1;
}

/*
 * Queue the reads of the present pages of rb; false after a failure.
 * Each reader gets one contiguous stretch of the block (split at chunk
 * boundaries), and the stretches are queued a transfer at a time in
 * turn, so every reader has work while each reads sequentially.
 */
static bool ram_load_mapped_pages(RAMLoadMapped *lm, RAMBlock *rb,
                                  const MappedRamHeader *h,
                                  const unsigned long *bmap)
{
    uint64_t pages = ram_block_pages(rb);
    uint64_t chunk_pages = MAPPED_RAM_FILE_ALIGNMENT / TARGET_PAGE_SIZE;
    unsigned nspans = MAX(mapped_ram_io_workers(lm->io), 1);
    g_autofree MappedSpan *spans = g_new0(MappedSpan, nspans);
    bool busy = true;

    for (unsigned i = 0; i < nspans; i++) {
        spans[i].next = QEMU_ALIGN_DOWN(pages * i / nspans, chunk_pages);
        spans[i].end =
            i + 1 < nspans
                ? QEMU_ALIGN_DOWN(pages * (i + 1) / nspans, chunk_pages)
                : pages;
    }
    while (busy) {
        busy = false;
        for (unsigned i = 0; i < nspans; i++) {
            int ret = ram_load_mapped_next(lm, rb, h, bmap, &spans[i], i);

            if (ret < 0) {
                return false;
            }
            busy |= ret > 0;
        }
    }
    return true;
}

int ram_load_mapped_block(void *opaque, QEMUFile *f, RAMBlock *rb, Error **errp)
{
    RAMLoadMapped *lm = opaque;
    uint8_t buf[MAPPED_RAM_HDR_BYTES];
    uint64_t pages = ram_block_pages(rb);
    uint64_t bytes = mapped_ram_bitmap_bytes(pages);
    g_autofree unsigned long *bmap = bitmap_try_new(pages);
    MappedRamHeader h;

    qemu_get_buffer(f, buf, sizeof(buf));
    if (qemu_file_get_error(f)) {
        qemu_file_get_error_obj(f, errp);
        return qemu_file_get_error(f);
    }
    mapped_ram_header_decode(buf, &h);
    if (!mapped_ram_header_check(&h, rb->idstr, rb->used_length, lm->file_size,
                                 errp)) {
        return -EINVAL;
    }
    if (!bmap) {
        error_setg(errp, "mapped-ram: no memory for the bitmap of %s",
                   rb->idstr);
        return -ENOMEM;
    }
    if (qemu_get_buffer_at(f, (uint8_t *)bmap, bytes, h.bitmap_offset) !=
        bytes) {
        error_setg(errp, "Error reading dirty bitmap");
        return -EIO;
    }
    if (pages % BITS_PER_LONG) {
        bmap[pages / BITS_PER_LONG] &= BITMAP_LAST_WORD_MASK(pages);
    }
    ram_load_mapped_pages(lm, rb, &h, bmap);
    if (mapped_ram_io_drain(lm->io, errp) < 0) {
        error_prepend(errp, "Error reading ramblock %s pages: ", rb->idstr);
        return -EIO;
    }
    qemu_set_offset(f, h.pages_offset + rb->used_length, SEEK_SET);
    if (qemu_file_get_error(f)) {
        qemu_file_get_error_obj(f, errp);
        return qemu_file_get_error(f);
    }
    return 0;
}
