/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * ram-sink.h (private to migration/): the way a selected page leaves the
 * source.
 *
 * ram.c selects pages (ram-select.h) and hands each one to the
 * migration's page sink through its ops table; the sink decides how the
 * page is encoded and on which channel it travels, and accounts the
 * bytes (migration_stats_account_ram(), which also charges the rate
 * limiter).  Sinks today:
 *
 *   stream (ram-sink-stream.c): the main migration stream, one ZERO or
 *       PAGE record per page in the format of ram-format.h (or, with
 *       XBZRLE, an XBZRLE record or nothing: ram-xbzrle.h).
 *   multifd (ram-sink-multifd.c): data pages go in packets on the
 *       multifd channels, zero pages as ZERO records on the main stream;
 *       section_end flushes and syncs every channel before EOS.
 *   mapped-ram (ram-sink-mapped.c): data pages are written at their
 *       fixed offsets in the file (positional writes, on worker threads
 *       with multifd), zero pages only clear their bit in the block's
 *       bitmap; block_listed writes each block's mapped-ram header;
 *       section_end waits for the writes, writes the changed bitmaps
 *       and EOS.
 *   compress (ram-sink-compress.c): worker threads turn pages into
 *       zlib COMPRESS_PAGE records on the main stream; section_end
 *       waits for them before EOS.
 *   checkpoint (ram-sink-checkpoint.c): the stream sink's records plus
 *       HASH records, a page's SHA-256 instead of its data when the
 *       destination's checkpoint holds it (hashed ahead on a helper).
 *
 * Cost: one indirect call per page.  A sink must not copy guest RAM or
 * take a lock per page on its fast path (the stream sink queues a
 * pointer to guest RAM; the QEMUFile gathers it into its iovec).
 *
 * Threads: every op is called from the migration thread; a sink that
 * owns helper threads (multifd) synchronises with them itself.
 */
#ifndef MIGRATION_RAM_SINK_H
#define MIGRATION_RAM_SINK_H

#include "qemu/osdep.h"
#include "migration/qemu-file.h"
#include "qemu/buffer-zero.h"
#include "sysemu/ramblock.h"

typedef struct RAMPageSink RAMPageSink;

typedef struct RAMPageSinkOps {
    const char *name;
    /* ---- mandatory ---- */
    /*
     * Send page number page of rb (selected, its dirty bit cleared).
     * The page's memory must stay mapped until section_end.  Returns 0
     * or the first error of the sink's channels (negative errno); after
     * an error further pages may be dropped.  May block on a channel.
     */
    int (*save_page)(RAMPageSink *sink, RAMBlock *rb, uint64_t page);
    /*
     * A START/PART/END payload ends: make every page saved so far part
     * of it and write the payload's EOS record on f, the main stream.
     * Returns 0 or negative errno.
     */
    int (*section_end)(RAMPageSink *sink, QEMUFile *f);
    /* Free the sink (after the last section_end or after an error). */
    void (*free)(RAMPageSink *sink);
    /* ---- optional ---- */
    /*
     * A payload starts on f, the main stream (each START/PART/END is
     * handed its stream by savevm).  NULL: nothing to do.
     */
    void (*section_begin)(RAMPageSink *sink, QEMUFile *f);
    /*
     * START: block rb's entry (str8 idstr, be64 used_length) was just
     * written on f; write what the sink's format adds after it (the
     * mapped-ram header, then a jump past the block's region).  Returns
     * 0 or negative errno.  NULL: nothing.
     */
    int (*block_listed)(RAMPageSink *sink, QEMUFile *f, RAMBlock *rb);
    /*
     * The guest is stopped and every dirty page was handed over: make
     * sure the destination needs nothing more.  Returns 0 when settled,
     * > 0 when pages were queued again (send the dirty pages and settle
     * again), negative errno on error.  NULL: always settled.
     */
    int (*settle)(RAMPageSink *sink, QEMUFile *f);
} RAMPageSinkOps;

/* The base of every sink: embed first in the sink's own struct. */
struct RAMPageSink {
    const RAMPageSinkOps *ops;
};

/* A payload starts on f (calls the optional section_begin). */
static inline void ram_sink_section_begin(RAMPageSink *sink, QEMUFile *f)
{
    if (sink->ops->section_begin) {
        sink->ops->section_begin(sink, f);
    }
}

/* See RAMPageSinkOps.save_page. */
static inline int ram_sink_save_page(RAMPageSink *sink, RAMBlock *rb,
                                     uint64_t page)
{
    return sink->ops->save_page(sink, rb, page);
}

/* See RAMPageSinkOps.block_listed (0 when the sink has none). */
static inline int ram_sink_block_listed(RAMPageSink *sink, QEMUFile *f,
                                        RAMBlock *rb)
{
    return sink->ops->block_listed ? sink->ops->block_listed(sink, f, rb) : 0;
}

/* See RAMPageSinkOps.section_end. */
static inline int ram_sink_section_end(RAMPageSink *sink, QEMUFile *f)
{
    return sink->ops->section_end(sink, f);
}

/*
 * True if the page at p holds only zero bytes, cheap for data pages.
 * Guest RAM being sent is cold; buffer_is_zero() starts by loading the
 * first and the last 32 bytes, i.e. two cache misses in a row per page,
 * and the source's profile showed it at 7% of the migration thread
 * (2 GiB of random pages over TCP).  A non-zero first word answers "not
 * zero" after one line; the caller also prefetches that line a few pages
 * ahead.
 */
static inline bool ram_sink_page_is_zero(const uint8_t *p)
{
    uint64_t first;

    memcpy(&first, p, sizeof(first));
    return first == 0 && buffer_is_zero(p, TARGET_PAGE_SIZE);
}

/* See RAMPageSinkOps.settle. */
static inline int ram_sink_settle(RAMPageSink *sink, QEMUFile *f)
{
    return sink->ops->settle ? sink->ops->settle(sink, f) : 0;
}

/* Free sink (NULL is fine). */
static inline void ram_sink_free(RAMPageSink *sink)
{
    if (sink) {
        sink->ops->free(sink);
    }
}

/*
 * The single-stream sink: pages go on the main stream f as ZERO/PAGE
 * records (ram-format.h), data pages queued from guest RAM without a
 * copy.  CONTINUE applies across sections, so one sink serves the whole
 * migration.  Caller owns the result (ram_sink_free()); f stays the
 * caller's.
 */
RAMPageSink *ram_sink_stream_new(QEMUFile *f);

typedef struct RAMXbzrle RAMXbzrle;

/*
 * Let the stream sink's data pages go through XBZRLE's decision
 * (ram-xbzrle.h); x stays the caller's and must outlive the sink's
 * last save_page.
 */
void ram_sink_stream_set_xbzrle(RAMPageSink *sink, RAMXbzrle *x);

/*
 * The multifd sink (ram-sink-multifd.c): data pages in packets on the
 * sender threads of the migration's multifd channels (already open),
 * zero pages and EOS on f.  NULL with errp set.
 */
RAMPageSink *ram_sink_multifd_new(QEMUFile *f, Error **errp);

/*
 * The mapped-ram sink (ram-sink-mapped.c) on f, a seekable file channel:
 * with multifd, multifd-channels writer threads with their own
 * descriptors of the file (O_DIRECT with direct-io).  NULL with errp set.
 */
RAMPageSink *ram_sink_mapped_new(QEMUFile *f, Error **errp);

/*
 * The compress sink (ram-sink-compress.c): pages compressed with zlib
 * on compress-threads worker threads into COMPRESS_PAGE records (zero
 * pages as ZERO records) on f.  Starts the threads; NULL with errp set.
 */
RAMPageSink *ram_sink_compress_new(QEMUFile *f, Error **errp);

/*
 * The stream sink inside a compress sink (first pages of blocks, pages
 * no thread could take, and every page after ram_sink_compress_stop()):
 * where XBZRLE is set.  It belongs to sink.
 */
RAMPageSink *ram_sink_compress_stream(RAMPageSink *sink);

/*
 * Compress no more: emit what the threads have done, then send every
 * page through the inner stream sink (with XBZRLE after round one, as
 * 7.2).  0 or negative errno.
 */
int ram_sink_compress_stop(RAMPageSink *sink);

/*
 * The checkpoint-assisted sink (ram-sink-checkpoint.c): stream records
 * plus HASH records for pages the destination's offer lists; starts its
 * hashing helper and checkpoint_src_begin().
 */
RAMPageSink *ram_sink_checkpoint_new(QEMUFile *f);

#endif /* MIGRATION_RAM_SINK_H */
