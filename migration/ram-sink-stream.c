/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * ram-sink-stream.c: the single-stream page sink (see ram-sink.h).
 *
 * Each page becomes one record on the main stream: a ZERO record (header
 * and a 0 fill byte) when the page holds only zeros, else a PAGE record
 * whose 4 KiB are queued straight from guest RAM with
 * qemu_put_buffer_async (the QEMUFile writes them with one writev per
 * batch).  The block name is sent only when the block differs from the
 * previous page record's, otherwise the header carries CONTINUE.  A page
 * the guest changes after it was queued is caught by the dirty log and
 * sent again.
 */
#include "qemu/osdep.h"
#include "migration-stats.h"
#include "ram-format.h"
#include "ram-sink.h"

/* Pages ahead of the one being sent whose first line is prefetched. */
#define RAM_PREFETCH_PAGES 4

typedef struct RAMStreamSink {
    RAMPageSink base;
    QEMUFile *f;               /* main stream; the caller's */
    RAMBlock *last_sent_block; /* CONTINUE applies to this block */
} RAMStreamSink;

/* Write the header word and, unless CONTINUE applies, the block name. */
static size_t ram_sink_stream_header(RAMStreamSink *ss, RAMBlock *rb,
                                     uint64_t offset, uint64_t flags)
{
    QEMUFile *f = ss->f;

    if (rb == ss->last_sent_block) {
        qemu_put_be64(f, offset | flags | RAM_SAVE_FLAG_CONTINUE);
        return RAM_RECORD_HEADER_BYTES;
    }
    qemu_put_be64(f, offset | flags);
    qemu_put_counted_string(f, rb->idstr);
    ss->last_sent_block = rb;
    return ram_record_header_bytes_named(rb->idstr);
}

static int ram_sink_stream_save_page(RAMPageSink *sink, RAMBlock *rb,
                                     uint64_t page)
{
    RAMStreamSink *ss = (RAMStreamSink *)sink;
    uint64_t offset = page << TARGET_PAGE_BITS;
    uint8_t *host = rb->host + offset;
    size_t bytes;

    if (page + RAM_PREFETCH_PAGES < ram_block_pages(rb)) {
        __builtin_prefetch(host + RAM_PREFETCH_PAGES * TARGET_PAGE_SIZE);
    }
    if (ram_sink_page_is_zero(host)) {
        bytes = ram_sink_stream_header(ss, rb, offset, RAM_SAVE_FLAG_ZERO);
        qemu_put_byte(ss->f, 0);
        stat64_add(&mig_stats.zero_pages, 1);
        bytes += RAM_ZERO_FILL_BYTES;
    } else {
        bytes = ram_sink_stream_header(ss, rb, offset, RAM_SAVE_FLAG_PAGE);
        qemu_put_buffer_async(ss->f, host, TARGET_PAGE_SIZE, false);
        stat64_add(&mig_stats.normal_pages, 1);
        bytes += TARGET_PAGE_SIZE;
    }
    migration_stats_account_ram(bytes);
    return qemu_file_get_error(ss->f);
}

static void ram_sink_stream_section_begin(RAMPageSink *sink, QEMUFile *f)
{
    ((RAMStreamSink *)sink)->f = f;
}

static int ram_sink_stream_section_end(RAMPageSink *sink, QEMUFile *f)
{
    qemu_put_be64(f, RAM_SAVE_FLAG_EOS);
    migration_stats_account_ram(RAM_RECORD_HEADER_BYTES);
    return qemu_file_get_error(f);
}

static void ram_sink_stream_free(RAMPageSink *sink)
{
    g_free(sink);
}

static const RAMPageSinkOps ram_sink_stream_ops = {
    .name = "stream",
    .save_page = ram_sink_stream_save_page,
    .section_end = ram_sink_stream_section_end,
    .free = ram_sink_stream_free,
    .section_begin = ram_sink_stream_section_begin,
};

RAMPageSink *ram_sink_stream_new(QEMUFile *f)
{
    RAMStreamSink *ss = g_new0(RAMStreamSink, 1);

    ss->base.ops = &ram_sink_stream_ops;
    ss->f = f;
    return &ss->base;
}
