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
 *       PAGE record per page in the format of ram-format.h.
 *   multifd (ram-sink-multifd.c): data pages go in packets on the
 *       multifd channels, zero pages as ZERO records on the main stream;
 *       section_end flushes and syncs every channel before EOS.
 *
 * Sinks that will slot in beside them, each in its own ram-sink-*.c
 * with a constructor filling an ops table, chosen once at setup:
 *
 *   mapped-ram: save_page pwrite()s the page at its fixed offset in the
 *       file and sets its bit in the file's page bitmap; section_end
 *       writes nothing but EOS.
 *   checkpoint-hash: a stream sink that first compares the page's hash
 *       with the destination's checkpoint and sends a short "unchanged"
 *       record instead of the data when they match.
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

/* See RAMPageSinkOps.section_end. */
static inline int ram_sink_section_end(RAMPageSink *sink, QEMUFile *f)
{
    return sink->ops->section_end(sink, f);
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

/*
 * The multifd sink (ram-sink-multifd.c): data pages in packets on the
 * sender threads of the migration's multifd channels (already open),
 * zero pages and EOS on f.  NULL with errp set.
 */
RAMPageSink *ram_sink_multifd_new(QEMUFile *f, Error **errp);

#endif /* MIGRATION_RAM_SINK_H */
