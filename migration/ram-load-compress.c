/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * ram-load-compress.c: decompress-threads on the destination (see
 * ram-load-compress.h).
 *
 * Locking: lock protects each worker's has_work, the failed flag and
 * quit.  A worker's input buffer and target are filled by the load
 * thread while has_work is false and read by the worker while it is
 * true.  inflate's output is bounded by TARGET_PAGE_SIZE (avail_out),
 * so no data can make a worker write outside its page.
 */
#include "qemu/osdep.h"
#include "ram-compress.h"
#include "ram-load-compress.h"

typedef struct DecompressWorker {
    RAMDecompress *dc;
    GThread *thread;
    GCond cond;    /* has_work or quit */
    bool has_work; /* under dc->lock */
    uint8_t *host; /* target page */
    size_t len;    /* bytes in in[] */
    z_stream zs;
    uint8_t in[RAM_COMPRESS_MAX_LEN];
} DecompressWorker;

struct RAMDecompress {
    GMutex lock;
    GCond done; /* a worker finished */
    bool quit;
    bool failed; /* a page did not inflate; sticky until reported */
    int n;
    int next;
    DecompressWorker *w;
    /* load thread only: a placer that is not direct */
    z_stream zs;
    uint8_t in[RAM_COMPRESS_MAX_LEN];
    uint8_t page[TARGET_PAGE_SIZE];
};

static gpointer ram_decompress_worker(gpointer opaque)
{
    DecompressWorker *w = opaque;
    RAMDecompress *dc = w->dc;

    g_mutex_lock(&dc->lock);
    for (;;) {
        int ret;

        while (!w->has_work && !dc->quit) {
            g_cond_wait(&w->cond, &dc->lock);
        }
        if (!w->has_work) {
            break;
        }
        g_mutex_unlock(&dc->lock);
        ret = ram_decompress_page(&w->zs, w->in, w->len, w->host);
        g_mutex_lock(&dc->lock);
        if (ret < 0) {
            dc->failed = true;
        }
        w->has_work = false;
        g_cond_broadcast(&dc->done);
    }
    g_mutex_unlock(&dc->lock);
    return NULL;
}

RAMDecompress *ram_decompress_new(int threads)
{
    RAMDecompress *dc = g_new0(RAMDecompress, 1);

    g_mutex_init(&dc->lock);
    g_cond_init(&dc->done);
    dc->n = MAX(threads, 1);
    dc->w = g_new0(DecompressWorker, dc->n);
    ram_decompress_init(&dc->zs);
    for (int i = 0; i < dc->n; i++) {
        DecompressWorker *w = &dc->w[i];

        w->dc = dc;
        g_cond_init(&w->cond);
        ram_decompress_init(&w->zs);
        w->thread = g_thread_new("mig/decompress", ram_decompress_worker, w);
    }
    return dc;
}

void ram_decompress_free(RAMDecompress *dc)
{
    if (!dc) {
        return;
    }
    g_mutex_lock(&dc->lock);
    dc->quit = true; /* workers finish the page they have, then leave */
    for (int i = 0; i < dc->n; i++) {
        g_cond_signal(&dc->w[i].cond);
    }
    g_mutex_unlock(&dc->lock);
    for (int i = 0; i < dc->n; i++) {
        g_thread_join(dc->w[i].thread);
        ram_decompress_end(&dc->w[i].zs);
        g_cond_clear(&dc->w[i].cond);
    }
    ram_decompress_end(&dc->zs);
    g_mutex_clear(&dc->lock);
    g_cond_clear(&dc->done);
    g_free(dc->w);
    g_free(dc);
}

void ram_decompress_wait_page(RAMDecompress *dc, const uint8_t *host)
{
    g_mutex_lock(&dc->lock);
    for (int i = 0; i < dc->n; i++) {
        while (dc->w[i].has_work && dc->w[i].host == host) {
            g_cond_wait(&dc->done, &dc->lock);
        }
    }
    g_mutex_unlock(&dc->lock);
}

/* errp "decompress data failed" (QEMU 7.2's text); -EIO. */
static int ram_decompress_failed(Error **errp)
{
    error_setg(errp, "decompress data failed");
    return -EIO;
}

int ram_decompress_wait(RAMDecompress *dc, Error **errp)
{
    bool failed;

    g_mutex_lock(&dc->lock);
    for (int i = 0; i < dc->n; i++) {
        while (dc->w[i].has_work) {
            g_cond_wait(&dc->done, &dc->lock);
        }
    }
    failed = dc->failed;
    if (errp) {
        dc->failed = false; /* reported now */
    }
    g_mutex_unlock(&dc->lock);
    return failed ? ram_decompress_failed(errp) : 0;
}

/* An idle worker (waiting for one); NULL once a page failed. */
static DecompressWorker *ram_decompress_idle(RAMDecompress *dc)
{
    DecompressWorker *found = NULL;

    g_mutex_lock(&dc->lock);
    while (!found && !dc->failed) {
        for (int k = 0; k < dc->n && !found; k++) {
            int i = (dc->next + k) % dc->n;

            if (!dc->w[i].has_work) {
                found = &dc->w[i];
                dc->next = (i + 1) % dc->n;
            }
        }
        if (!found) {
            g_cond_wait(&dc->done, &dc->lock);
        }
    }
    g_mutex_unlock(&dc->lock);
    return found;
}

/* Read len bytes of f into buf; negative errno with errp if short. */
static int ram_decompress_read(QEMUFile *f, uint8_t *buf, size_t len,
                               Error **errp)
{
    if (qemu_get_buffer(f, buf, len) != len || qemu_file_get_error(f) < 0) {
        int ret = qemu_file_get_error(f);

        qemu_file_get_error_obj(f, errp);
        if (!ret) {
            error_setg(errp, "ram: compressed page cut short");
            ret = -EIO;
        }
        return ret;
    }
    return 0;
}

int ram_decompress_load(RAMDecompress *dc, QEMUFile *f, RAMPlacer *pl,
                        RAMBlock *rb, uint8_t *host, Error **errp)
{
    int len = (int)qemu_get_be32(f);
    DecompressWorker *w;
    int ret;

    if (qemu_file_get_error(f)) {
        qemu_file_get_error_obj(f, errp);
        return qemu_file_get_error(f);
    }
    if (len < 0 || len > (int)RAM_COMPRESS_MAX_LEN) {
        error_setg(errp, "Invalid compressed data length: %d", len);
        return -EINVAL;
    }
    if (!pl->direct) {
        if (!pl->ops->place_buf) {
            error_setg(errp,
                       "ram: the %s placer cannot take compressed "
                       "pages",
                       pl->ops->name);
            return -EINVAL;
        }
        ret = ram_decompress_read(f, dc->in, len, errp);
        if (ret < 0) {
            return ret;
        }
        if (ram_decompress_page(&dc->zs, dc->in, len, dc->page) < 0) {
            return ram_decompress_failed(errp);
        }
        return pl->ops->place_buf(pl, rb, host, dc->page);
    }
    ram_decompress_wait_page(dc, host); /* a later record wins */
    w = ram_decompress_idle(dc);
    if (!w) {
        return ram_decompress_wait(dc, errp);
    }
    ret = ram_decompress_read(f, w->in, len, errp);
    if (ret < 0) {
        return ret;
    }
    w->host = host;
    w->len = len;
    g_mutex_lock(&dc->lock);
    w->has_work = true;
    g_cond_signal(&w->cond);
    g_mutex_unlock(&dc->lock);
    return 0;
}
