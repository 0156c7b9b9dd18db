/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * ram-sink-multifd.c: the multifd page sink (see ram-sink.h, multifd.h).
 *
 * As QEMU 7.2 does, zero pages stay ZERO records on the main stream
 * (through an inner stream sink, so CONTINUE follows the main stream's
 * own previous record), and every other page joins the current packet:
 * up to MULTIFD_PACKET_PAGES pages of one block, handed to an idle
 * sender thread when full or when the block changes.  section_end
 * queues the partial packet, syncs every channel (one SYNC packet each)
 * and only then writes the EOS record on the main stream, and flushes it.  A
 * channel's error is copied into the main stream, so the migration reports it.
 */
#include "qemu/osdep.h"
#include "qapi/error.h"
#include "qemu/buffer-zero.h"
#include "migration.h"
#include "migration-stats.h"
#include "multifd.h"
#include "ram-sink.h"

typedef struct RAMMultiFDSink {
    RAMPageSink base;
    RAMPageSink *zero; /* stream sink for ZERO records and EOS */
    QEMUFile *f;       /* main stream; the caller's */
    MultiFDSend *ms;
    RAMBlock *block; /* of the pending packet */
    uint32_t npages;
    uint64_t offset[MULTIFD_PACKET_PAGES];
} RAMMultiFDSink;

/* Copy the channels' error into the main stream; returns -EIO. */
static int ram_sink_multifd_fail(RAMMultiFDSink *ms)
{
    Error *err = NULL;

    if (multifd_send_error(ms->ms, &err)) {
        qemu_file_set_error_obj(ms->f, -EIO, err);
    }
    return -EIO;
}

/* Queue the pending packet (if any). */
static int ram_sink_multifd_flush(RAMMultiFDSink *ms)
{
    int ret = 0;

    if (ms->npages) {
        ret = multifd_send_pages(ms->ms, ms->block, ms->offset, ms->npages);
        ms->npages = 0;
    }
    return ret < 0 ? ram_sink_multifd_fail(ms) : 0;
}

static int ram_sink_multifd_save_page(RAMPageSink *sink, RAMBlock *rb,
                                      uint64_t page)
{
    RAMMultiFDSink *ms = (RAMMultiFDSink *)sink;
    uint64_t offset = page << TARGET_PAGE_BITS;
    const uint8_t *host = rb->host + offset;
    uint64_t first;

    memcpy(&first, host, sizeof(first));
    if (first == 0 && buffer_is_zero(host, TARGET_PAGE_SIZE)) {
        return ram_sink_save_page(ms->zero, rb, page); /* a ZERO record */
    }
    if ((ms->block != rb || ms->npages == MULTIFD_PACKET_PAGES) &&
        ram_sink_multifd_flush(ms) < 0) {
        return -EIO;
    }
    ms->block = rb;
    ms->offset[ms->npages++] = offset;
    stat64_add(&mig_stats.normal_pages, 1);
    multifd_send_count_page(ms->ms);
    return 0;
}

static void ram_sink_multifd_section_begin(RAMPageSink *sink, QEMUFile *f)
{
    RAMMultiFDSink *ms = (RAMMultiFDSink *)sink;

    ms->f = f;
    ram_sink_section_begin(ms->zero, f);
}

static int ram_sink_multifd_section_end(RAMPageSink *sink, QEMUFile *f)
{
    RAMMultiFDSink *ms = (RAMMultiFDSink *)sink;
    int ret;

    ms->f = f;
    if (ram_sink_multifd_flush(ms) < 0 || multifd_send_sync(ms->ms) < 0) {
        return ram_sink_multifd_fail(ms);
    }
    ret = ram_sink_section_end(ms->zero, f);
    /*
     * Flush: the destination's channels wait for this EOS before they
     * read on, so it must not sit in our buffer while the next
     * section's packets fill theirs.
     */
    return ret < 0 ? ret : qemu_fflush(f);
}

static void ram_sink_multifd_free(RAMPageSink *sink)
{
    RAMMultiFDSink *ms = (RAMMultiFDSink *)sink;

    multifd_send_free(ms->ms);
    ram_sink_free(ms->zero);
    g_free(ms);
}

static const RAMPageSinkOps ram_sink_multifd_ops = {
    .name = "multifd",
    .save_page = ram_sink_multifd_save_page,
    .section_end = ram_sink_multifd_section_end,
    .free = ram_sink_multifd_free,
    .section_begin = ram_sink_multifd_section_begin,
};

RAMPageSink *ram_sink_multifd_new(QEMUFile *f, Error **errp)
{
    RAMMultiFDSink *ms;
    MultiFDSend *send = multifd_send_new(migrate_get_current(), errp);

    if (!send) {
        return NULL;
    }
    ms = g_new0(RAMMultiFDSink, 1);
    ms->base.ops = &ram_sink_multifd_ops;
    ms->f = f;
    ms->ms = send;
    ms->zero = ram_sink_stream_new(f);
    return &ms->base;
}
