/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * ram-sink-mapped.c: the mapped-ram page sink (see ram-sink.h, layout in
 * mapped-ram-format.h).
 *
 * START: after each block entry, block_listed writes the block's 28-byte
 * header (bitmap right after it, pages at the next 1 MiB boundary) and
 * moves the stream past the block's region.  Each data page is then
 * written at pages_offset + its offset in the block, whatever pass it
 * belongs to, so the file never grows past RAM + headers; consecutive
 * pages are gathered into one transfer (up to one 1 MiB chunk of the
 * file when the transfer is a CPU copy into the page cache, so the pages
 * the zero check just read are still in the CPU's cache; up to one
 * MAPPED_RAM_IO_STRIPE with direct-io, where each write is one disk
 * request and fewer, larger ones go faster), written by the migration
 * thread on the main channel, or with multifd handed to the transfer
 * pool (mapped-ram-io.h: multifd-channels writers with their own
 * descriptors; their bytes count as multifd-bytes).  A zero page is not
 * written: its bit is cleared, so a page that was written in an earlier pass
 * and is zero now loads as zero. section_end waits for the pool, writes the
 * bitmaps that changed (host-order words, at bitmap_offset) and then EOS, so
 * after every section the file describes every page saved so far.
 *
 * Disk: a buffered save has a flusher (mapped-ram-flush.h) that starts
 * the writeback while pages are still being written, so the fsync that
 * makes the file durable finds little left.  A direct-io save
 * allocates each block's page region when it lists the block
 * (fallocate, best effort): its O_DIRECT writes then neither extend
 * the file nor allocate blocks as they go (ext4 takes the inode's lock
 * exclusively for an allocating O_DIRECT write, so such writes do not
 * overlap), and the fsync has no allocation left to journal.  The
 * cost: the file's zero pages take disk space (its size is unchanged).
 *
 * Threads: every op runs in the migration thread; the pool's workers
 * only read guest RAM and write the file.
 */
#include "qemu/osdep.h"
#include "qemu/bitmap.h"
#include "migration/options.h"
#include "migration-stats.h"
#include "mapped-ram-format.h"
#include "mapped-ram-flush.h"
#include "mapped-ram-io.h"
#include "ram-format.h"
#include "ram-sink.h"

typedef struct MappedBlock {
    RAMBlock *rb;
    MappedRamHeader hdr;
    unsigned long *bmap; /* pages present in the file */
    bool bmap_dirty;     /* changed since it was last written */
} MappedBlock;

typedef struct RAMMappedSink {
    RAMPageSink base;
    QEMUFile *f;      /* main stream; the caller's */
    bool direct;      /* direct-io writers: regions allocated up front */
    uint64_t run_max; /* bytes per transfer at most; divides the stripe */
    MappedRamIO *io;
    MappedRamFlusher *flusher; /* buffered saves only */
    GHashTable *blocks;        /* RAMBlock * -> MappedBlock * */
    MappedBlock *last;         /* block of the previous page */
    /* the transfer being gathered: run_pages pages from run_first */
    MappedBlock *run_blk;
    uint64_t run_first;
    uint64_t run_pages;
} RAMMappedSink;

static MappedBlock *ram_sink_mapped_block(RAMMappedSink *ms, RAMBlock *rb)
{
    if (!ms->last || ms->last->rb != rb) {
        ms->last = g_hash_table_lookup(ms->blocks, rb);
    }
    return ms->last;
}

/*
 * Write the gathered run: without multifd on the main channel (counted
 * in its transferred bytes, errors in f), else through the pool's
 * writers (counted as multifd bytes).  Either way the bytes reach the
 * bandwidth estimate that decides the switch-over.
 */
static int ram_sink_mapped_flush(RAMMappedSink *ms)
{
    MappedBlock *mb = ms->run_blk;
    uint64_t offset = ms->run_first << TARGET_PAGE_BITS;
    size_t len = ms->run_pages << TARGET_PAGE_BITS;
    int ret = 0;

    if (!ms->run_pages) {
        return 0;
    }
    ms->run_pages = 0;
    if (ms->flusher) {
        mapped_ram_flusher_note(ms->flusher, len);
    }
    if (!ms->io) {
        if (!qemu_put_buffer_at(ms->f, mb->rb->host + offset, len,
                                mb->hdr.pages_offset + offset)) {
            return -EIO;
        }
        return 0;
    }
    ret = mapped_ram_io_queue(ms->io, mb->rb->host + offset, len,
                              mb->hdr.pages_offset + offset);
    stat64_add(&mig_stats.multifd_bytes, len);
    return ret < 0 ? -EIO : 0;
}

/* Make the pool's first error the stream's; returns -EIO. */
static int ram_sink_mapped_fail(RAMMappedSink *ms)
{
    Error *err = NULL;

    if (ms->io && mapped_ram_io_drain(ms->io, &err) < 0) {
        qemu_file_set_error_obj(ms->f, -EIO, err);
    }
    return -EIO;
}

static int ram_sink_mapped_save_page(RAMPageSink *sink, RAMBlock *rb,
                                     uint64_t page)
{
    RAMMappedSink *ms = (RAMMappedSink *)sink;
    MappedBlock *mb = ram_sink_mapped_block(ms, rb);
    uint64_t file_off;

    if (!mb || page >= ram_block_pages(rb)) {
        qemu_file_set_error(ms->f, -EINVAL);
        return -EINVAL;
    }
    if (ram_sink_page_is_zero(rb->host + (page << TARGET_PAGE_BITS))) {
        if (test_bit(page, mb->bmap)) {
            clear_bit(page, mb->bmap);
            mb->bmap_dirty = true;
        }
        stat64_add(&mig_stats.zero_pages, 1);
        return 0;
    }
    if (!test_bit(page, mb->bmap)) {
        set_bit(page, mb->bmap);
        mb->bmap_dirty = true;
    }
    stat64_add(&mig_stats.normal_pages, 1);
    migration_stats_account_ram(TARGET_PAGE_SIZE);
    file_off = mb->hdr.pages_offset + (page << TARGET_PAGE_BITS);
    if (ms->run_pages && ms->run_blk == mb &&
        page == ms->run_first + ms->run_pages && file_off % ms->run_max) {
        ms->run_pages++;
        return 0;
    }
    if (ram_sink_mapped_flush(ms) < 0) {
        return ram_sink_mapped_fail(ms);
    }
    ms->run_blk = mb;
    ms->run_first = page;
    ms->run_pages = 1;
    return 0;
}

/* START: the block's header after its entry, then skip its region. */
static int ram_sink_mapped_block_listed(RAMPageSink *sink, QEMUFile *f,
                                        RAMBlock *rb)
{
    RAMMappedSink *ms = (RAMMappedSink *)sink;
    MappedBlock *mb = g_new0(MappedBlock, 1);
    uint8_t buf[MAPPED_RAM_HDR_BYTES];
    off_t pos = qemu_get_offset(f);

    mb->rb = rb;
    mb->bmap = bitmap_new(ram_block_pages(rb));
    mb->bmap_dirty = true; /* written once even if no page is */
    g_hash_table_insert(ms->blocks, rb, mb);
    if (pos < 0) {
        return qemu_file_get_error(f);
    }
    mapped_ram_header_layout(&mb->hdr, pos + MAPPED_RAM_HDR_BYTES,
                             rb->used_length);
    mapped_ram_header_encode(&mb->hdr, buf);
    if (ms->direct && rb->used_length) {
        /* best effort: without it the writes allocate as they go */
        (void)fallocate(qio_channel_get_fd(qemu_file_get_ioc(f)), 0,
                        mb->hdr.pages_offset, rb->used_length);
    }
    qemu_put_buffer(f, buf, sizeof(buf));
    qemu_set_offset(f, mb->hdr.pages_offset + rb->used_length, SEEK_SET);
    return qemu_file_get_error(f);
}

/* Wait for the page writes, then write every bitmap that changed. */
static int ram_sink_mapped_section_end(RAMPageSink *sink, QEMUFile *f)
{
    RAMMappedSink *ms = (RAMMappedSink *)sink;
    GHashTableIter it;
    gpointer value;

    ms->f = f;
    if (ram_sink_mapped_flush(ms) < 0 ||
        (ms->io && mapped_ram_io_drain(ms->io, NULL) < 0)) {
        return ram_sink_mapped_fail(ms);
    }
    g_hash_table_iter_init(&it, ms->blocks);
    while (g_hash_table_iter_next(&it, NULL, &value)) {
        MappedBlock *mb = value;

        if (mb->bmap_dirty) {
            qemu_put_buffer_at(f, (const uint8_t *)mb->bmap,
                               mapped_ram_bitmap_bytes(ram_block_pages(mb->rb)),
                               mb->hdr.bitmap_offset);
            mb->bmap_dirty = false;
        }
    }
    qemu_put_be64(f, RAM_SAVE_FLAG_EOS);
    migration_stats_account_ram(RAM_RECORD_HEADER_BYTES);
    return qemu_file_get_error(f);
}

static void ram_sink_mapped_section_begin(RAMPageSink *sink, QEMUFile *f)
{
    ((RAMMappedSink *)sink)->f = f;
}

static void ram_sink_mapped_block_free(gpointer p)
{
    MappedBlock *mb = p;

    g_free(mb->bmap);
    g_free(mb);
}

static void ram_sink_mapped_free(RAMPageSink *sink)
{
    RAMMappedSink *ms = (RAMMappedSink *)sink;

    mapped_ram_io_free(ms->io);
    mapped_ram_flusher_free(ms->flusher);
    g_hash_table_destroy(ms->blocks);
    g_free(ms);
}

static const RAMPageSinkOps ram_sink_mapped_ops = {
    .name = "mapped-ram",
    .save_page = ram_sink_mapped_save_page,
    .section_end = ram_sink_mapped_section_end,
    .free = ram_sink_mapped_free,
    .section_begin = ram_sink_mapped_section_begin,
    .block_listed = ram_sink_mapped_block_listed,
};

RAMPageSink *ram_sink_mapped_new(QEMUFile *f, Error **errp)
{
    QIOChannel *ioc = qemu_file_get_ioc(f);
    int fd = qio_channel_get_fd(ioc);
    int n = migrate_multifd() ? migrate_multifd_channels() : 0;
    RAMMappedSink *ms;

    if (fd < 0 || !qio_channel_has_feature(ioc, QIO_CHANNEL_FEATURE_SEEKABLE)) {
        error_setg(errp, "Migration requires seekable transport (e.g. file)");
        return NULL;
    }
    ms = g_new0(RAMMappedSink, 1);
    ms->base.ops = &ram_sink_mapped_ops;
    ms->f = f;
    ms->direct = n && migrate_direct_io();
    ms->run_max = ms->direct ? MAPPED_RAM_IO_STRIPE : MAPPED_RAM_FILE_ALIGNMENT;
    ms->blocks =
        g_hash_table_new_full(NULL, NULL, NULL, ram_sink_mapped_block_free);
    if (!ms->direct) {
        ms->flusher = mapped_ram_flusher_new(fd);
    }
    if (!n) {
        return &ms->base; /* the migration thread writes on f itself */
    }
    ms->io = mapped_ram_io_new(fd, true, n, migrate_direct_io(), errp);
    if (!ms->io) {
        ram_sink_mapped_free(&ms->base);
        return NULL;
    }
    return &ms->base;
}
