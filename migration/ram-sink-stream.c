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
 *
 * With XBZRLE (ram_sink_stream_set_xbzrle(), ram-xbzrle.h) a data page
 * may instead go as an XBZRLE record (header, encoding byte, be16
 * length, the delta), whole from a copy (copied into the stream's
 * buffer: the copy changes with the next page), or not at all when it
 * did not change.
 */
#include "qemu/osdep.h"
#include "migration-stats.h"
#include "ram-format.h"
#include "ram-sink.h"
#include "ram-xbzrle.h"
#include "xbzrle.h"

/* Pages ahead of the one being sent whose first line is prefetched. */
#define RAM_PREFETCH_PAGES 4

typedef struct RAMStreamSink {
    RAMPageSink base;
    QEMUFile *f;               /* main stream; the caller's */
    RAMBlock *last_sent_block; /* CONTINUE applies to this block */
    RAMXbzrle *xbzrle;         /* the caller's, or NULL */
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

/* A non-zero page with XBZRLE: whatever ram-xbzrle.c decides.  Bytes. */
static size_t ram_sink_stream_xbzrle(RAMStreamSink *ss, RAMBlock *rb,
                                     uint64_t offset, uint8_t *host)
{
    const uint8_t *data;
    size_t len, bytes;

    switch (ram_xbzrle_save_page(ss->xbzrle, host, &data, &len)) {
    case RAM_XBZRLE_SKIP:
        return 0;
    case RAM_XBZRLE_SEND_DELTA:
        bytes = ram_sink_stream_header(ss, rb, offset, RAM_SAVE_FLAG_XBZRLE);
        qemu_put_byte(ss->f, XBZRLE_ENCODING_FLAG);
        qemu_put_be16(ss->f, len);
        qemu_put_buffer(ss->f, data, len);
        bytes += XBZRLE_RECORD_HEADER_BYTES + len;
        ram_xbzrle_account_record(bytes);
        return bytes;
    default:
        bytes = ram_sink_stream_header(ss, rb, offset, RAM_SAVE_FLAG_PAGE);
        if (data == host) {
            qemu_put_buffer_async(ss->f, host, TARGET_PAGE_SIZE, false);
        } else {
            qemu_put_buffer(ss->f, data, TARGET_PAGE_SIZE);
        }
        stat64_add(&mig_stats.normal_pages, 1);
        return bytes + TARGET_PAGE_SIZE;
    }
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
        if (ss->xbzrle) {
            ram_xbzrle_zero_page(ss->xbzrle, host);
        }
    } else if (ss->xbzrle) {
        bytes = ram_sink_stream_xbzrle(ss, rb, offset, host);
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

void ram_sink_stream_set_xbzrle(RAMPageSink *sink, RAMXbzrle *x)
{
    g_assert(sink->ops == &ram_sink_stream_ops);
    ((RAMStreamSink *)sink)->xbzrle = x;
}

RAMPageSink *ram_sink_stream_new(QEMUFile *f)
{
    RAMStreamSink *ss = g_new0(RAMStreamSink, 1);

    ss->base.ops = &ram_sink_stream_ops;
    ss->f = f;
    return &ss->base;
}
