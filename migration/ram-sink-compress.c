/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * ram-sink-compress.c: the "compress" page sink (see ram-sink.h,
 * ram-compress.h), QEMU 7.2's scheme.
 *
 * compress-threads worker threads each take one page at a time: they
 * copy it (the guest may go on writing it), and turn it into a ZERO
 * record or a COMPRESS_PAGE record in their own buffer, always with
 * CONTINUE.  The migration thread hands a page to an idle worker after
 * moving that worker's previous record into the main stream; with no
 * idle worker it waits (compress-wait-thread on) or sends the page
 * itself uncompressed and counts it as "busy".
 *
 * CONTINUE is only right while every record is for the block of the
 * previous one, so the first page of each new block is sent by the
 * migration thread itself through an inner stream sink (as 7.2 does)
 * after every worker's record is out: a "flush".  section_end flushes
 * too, before EOS: a section's pages are all in it (the destination
 * has placed them when it reads EOS, and a page dirtied again is sent
 * after its older copy).
 *
 * Locking: lock protects every worker's has_work and the quit flag;
 * a worker's page, offset and record are handed over with has_work
 * under the lock and otherwise touched only by the side that owns them
 * (the worker while has_work, the migration thread otherwise).
 */
#include "qemu/osdep.h"
#include "qapi/error.h"
#include "migration/options.h"
#include "migration-stats.h"
#include "ram-compress.h"
#include "ram-format.h"
#include "ram-sink.h"

/* Period of busy-rate and compression-rate (as 7.2's rate period). */
#define RAM_COMPRESS_RATE_PERIOD_MS 1000

typedef struct RAMCompressSink RAMCompressSink;

typedef struct CompressWorker {
    RAMCompressSink *cs;
    GThread *thread;
    GCond cond;          /* has_work or quit */
    bool has_work;       /* under cs->lock: the worker owns page/record */
    bool pending;        /* migration thread: record not yet in the stream */
    bool zero;           /* the record is a ZERO record */
    const uint8_t *host; /* the page (guest RAM) */
    uint64_t offset;     /* its offset in the block */
    ssize_t len;         /* record length, -1: compression failed */
    z_stream zs;
    uint8_t src[TARGET_PAGE_SIZE];
    uint8_t out[RAM_COMPRESS_RECORD_MAX];
} CompressWorker;

struct RAMCompressSink {
    RAMPageSink base;
    RAMPageSink *stream; /* first pages of blocks, busy pages, EOS */
    QEMUFile *f;         /* main stream; the caller's */
    RAMBlock *block;     /* block of the previous page record */
    bool stopped;        /* every page goes through stream now */
    GMutex lock;
    GCond done; /* a worker finished its page */
    bool quit;
    int nworkers;
    int next; /* where the search for an idle worker starts */
    CompressWorker *w;
    /* the rate period */
    int64_t period_start_ms;
    uint64_t period_pages, period_busy, period_cpages, period_csize;
};

static gpointer ram_compress_worker(gpointer opaque)
{
    CompressWorker *w = opaque;
    RAMCompressSink *cs = w->cs;

    g_mutex_lock(&cs->lock);
    for (;;) {
        while (!w->has_work && !cs->quit) {
            g_cond_wait(&w->cond, &cs->lock);
        }
        if (cs->quit) {
            break;
        }
        g_mutex_unlock(&cs->lock);
        memcpy(w->src, w->host, TARGET_PAGE_SIZE);
        w->len =
            ram_compress_record(&w->zs, w->offset, w->src, w->out, &w->zero);
        g_mutex_lock(&cs->lock);
        w->has_work = false;
        g_cond_broadcast(&cs->done);
    }
    g_mutex_unlock(&cs->lock);
    return NULL;
}

/* Move w's finished record into the main stream and count it. */
static int ram_compress_emit(RAMCompressSink *cs, CompressWorker *w)
{
    if (!w->pending) {
        return 0;
    }
    w->pending = false;
    if (w->len < 0) {
        Error *err = NULL;

        error_setg(&err, "compressed data failed!");
        qemu_file_set_error_obj(cs->f, -EIO, err);
        return -EIO;
    }
    qemu_put_buffer(cs->f, w->out, w->len);
    migration_stats_account_ram(w->len);
    if (w->zero) {
        stat64_add(&mig_stats.zero_pages, 1);
        return 0;
    }
    /* as 7.2: the record's bytes after its 8-byte header */
    stat64_add(&mig_stats.compressed_pages, 1);
    ram_compress_stats_add(0, w->len - RAM_RECORD_HEADER_BYTES);
    cs->period_cpages++;
    cs->period_csize += w->len - RAM_RECORD_HEADER_BYTES;
    return 0;
}

/* Wait until no worker has a page, then emit every record. */
static int ram_compress_flush(RAMCompressSink *cs)
{
    int ret = 0;

    g_mutex_lock(&cs->lock);
    for (int i = 0; i < cs->nworkers; i++) {
        while (cs->w[i].has_work) {
            g_cond_wait(&cs->done, &cs->lock);
        }
    }
    g_mutex_unlock(&cs->lock);
    for (int i = 0; i < cs->nworkers; i++) {
        int r = ram_compress_emit(cs, &cs->w[i]);

        ret = ret < 0 ? ret : r;
    }
    return ret;
}

/*
 * An idle worker, waiting for one when compress-wait-thread is on; NULL
 * when all are busy and it is off.
 */
static CompressWorker *ram_compress_idle_worker(RAMCompressSink *cs)
{
    bool wait = migrate_compress_wait_thread();
    CompressWorker *found = NULL;

    g_mutex_lock(&cs->lock);
    for (;;) {
        for (int k = 0; k < cs->nworkers && !found; k++) {
            int i = (cs->next + k) % cs->nworkers;

            if (!cs->w[i].has_work) {
                found = &cs->w[i];
                cs->next = (i + 1) % cs->nworkers;
            }
        }
        if (found || !wait) {
            break;
        }
        g_cond_wait(&cs->done, &cs->lock);
    }
    g_mutex_unlock(&cs->lock);
    return found;
}

static int ram_sink_compress_save_page(RAMPageSink *sink, RAMBlock *rb,
                                       uint64_t page)
{
    RAMCompressSink *cs = (RAMCompressSink *)sink;
    CompressWorker *w;
    int ret;

    cs->period_pages++;
    if (cs->stopped) {
        return ram_sink_save_page(cs->stream, rb, page);
    }
    if (rb != cs->block) {
        /* a new block: its first page names it, uncompressed */
        ret = ram_compress_flush(cs);
        cs->block = rb;
        return ret < 0 ? ret : ram_sink_save_page(cs->stream, rb, page);
    }
    w = ram_compress_idle_worker(cs);
    if (!w) {
        ram_compress_stats_add(1, 0);
        cs->period_busy++;
        return ram_sink_save_page(cs->stream, rb, page);
    }
    ret = ram_compress_emit(cs, w);
    w->host = rb->host + (page << TARGET_PAGE_BITS);
    w->offset = page << TARGET_PAGE_BITS;
    w->pending = true;
    g_mutex_lock(&cs->lock);
    w->has_work = true;
    g_cond_signal(&w->cond);
    g_mutex_unlock(&cs->lock);
    return ret < 0 ? ret : qemu_file_get_error(cs->f);
}

static void ram_sink_compress_section_begin(RAMPageSink *sink, QEMUFile *f)
{
    RAMCompressSink *cs = (RAMCompressSink *)sink;

    cs->f = f;
    ram_sink_section_begin(cs->stream, f);
}

/* busy-rate and compression-rate, once per period (as 7.2). */
static void ram_compress_update_rates(RAMCompressSink *cs)
{
    int64_t now = g_get_monotonic_time() / 1000;
    RAMCompressStats st;
    double ratio;

    if (now - cs->period_start_ms < RAM_COMPRESS_RATE_PERIOD_MS ||
        !cs->period_pages) {
        return;
    }
    ram_compress_stats_get(&st);
    ratio = st.compression_rate;
    if (cs->period_csize) {
        ratio = (double)cs->period_cpages * TARGET_PAGE_SIZE / cs->period_csize;
    }
    ram_compress_stats_set_rates((double)cs->period_busy / cs->period_pages,
                                 ratio);
    cs->period_start_ms = now;
    cs->period_pages = cs->period_busy = 0;
    cs->period_cpages = cs->period_csize = 0;
}

static int ram_sink_compress_section_end(RAMPageSink *sink, QEMUFile *f)
{
    RAMCompressSink *cs = (RAMCompressSink *)sink;
    int ret;

    cs->f = f;
    ret = ram_compress_flush(cs);
    ram_compress_update_rates(cs);
    return ret < 0 ? ret : ram_sink_section_end(cs->stream, f);
}

static void ram_sink_compress_free(RAMPageSink *sink)
{
    RAMCompressSink *cs = (RAMCompressSink *)sink;

    g_mutex_lock(&cs->lock);
    cs->quit = true;
    for (int i = 0; i < cs->nworkers; i++) {
        g_cond_signal(&cs->w[i].cond);
    }
    g_mutex_unlock(&cs->lock);
    for (int i = 0; i < cs->nworkers; i++) {
        if (cs->w[i].thread) {
            g_thread_join(cs->w[i].thread);
        }
        ram_compress_end(&cs->w[i].zs);
        g_cond_clear(&cs->w[i].cond);
    }
    ram_sink_free(cs->stream);
    g_mutex_clear(&cs->lock);
    g_cond_clear(&cs->done);
    g_free(cs->w);
    g_free(cs);
}

RAMPageSink *ram_sink_compress_stream(RAMPageSink *sink)
{
    return ((RAMCompressSink *)sink)->stream;
}

int ram_sink_compress_stop(RAMPageSink *sink)
{
    RAMCompressSink *cs = (RAMCompressSink *)sink;

    cs->stopped = true;
    return ram_compress_flush(cs);
}

static const RAMPageSinkOps ram_sink_compress_ops = {
    .name = "compress",
    .save_page = ram_sink_compress_save_page,
    .section_end = ram_sink_compress_section_end,
    .free = ram_sink_compress_free,
    .section_begin = ram_sink_compress_section_begin,
};

RAMPageSink *ram_sink_compress_new(QEMUFile *f, Error **errp)
{
    RAMCompressSink *cs = g_new0(RAMCompressSink, 1);
    int level = migrate_compress_level();

    cs->base.ops = &ram_sink_compress_ops;
    cs->f = f;
    cs->stream = ram_sink_stream_new(f);
    g_mutex_init(&cs->lock);
    g_cond_init(&cs->done);
    cs->nworkers = migrate_compress_threads();
    cs->w = g_new0(CompressWorker, cs->nworkers);
    cs->period_start_ms = g_get_monotonic_time() / 1000;
    ram_compress_stats_reset();
    for (int i = 0; i < cs->nworkers; i++) {
        CompressWorker *w = &cs->w[i];

        w->cs = cs;
        g_cond_init(&w->cond);
        if (!ram_compress_init(&w->zs, level)) {
            error_setg(errp, "compress: cannot set up zlib at level %d", level);
            ram_sink_compress_free(&cs->base);
            return NULL;
        }
        w->thread = g_thread_new("mig/compress", ram_compress_worker, w);
    }
    return &cs->base;
}
