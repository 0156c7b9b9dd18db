/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * multifd-recv.c: the destination's multifd receiver threads (see
 * multifd.h).
 *
 * One thread per channel: the 64-byte initial packet (magic, version,
 * UUID, an id below multifd-channels not seen before), then packets.
 * Each header is checked field by field (multifd.c); the pages are read
 * (none) or decompressed (zlib, zstd) straight into guest RAM when the
 * placer allows it, else through a buffer and the placer's place_buf.
 * Each packet first moves the window of one prefault helper shared by
 * the channels (ram-prefault.h): the kernel's zeroing of fresh guest RAM
 * (most of a receiver's CPU time, measured) then runs beside the copy
 * out of the sockets instead of inside it.
 * A packet with the SYNC flag makes the thread wait until the load
 * thread, at the section's EOS, has seen one SYNC from every channel.
 *
 * Failure of any channel (bad packet, reset, EOF while a sync is due) is
 * recorded once, "failed to receive packet via multifd channel N: ...",
 * copied into the main stream, and every channel (main included) is
 * shut down so the loader fails with it.  A channel that ends between
 * packets (EOF, or a read error there: a 7.2 source closes TLS without
 * close_notify) is how a source finishes; it is an error, with that
 * cause, only if the load still waits for that channel's SYNC.
 *
 * Locking: mr->lock and mr->cond cover the sync counters, the error and
 * quit.
 */
#include "qemu/osdep.h"
#include "qapi/error.h"
#include "qemu/error-report.h"
#include "qemu/iov.h"
#include "qemu/trace.h"
#include "migration/options.h"
#include "migration.h"
#include "multifd.h"
#include "multifd-compress.h"
#include "ram-place.h"
#include "ram-prefault.h"

typedef struct MultiFDRecv MultiFDRecv;

typedef struct MultiFDRecvChannel {
    MultiFDRecv *mr;
    int idx; /* arrival order */
    int id;  /* from the initial packet; -1 before */
    QIOChannel *ioc;
    GThread *thread;
    uint64_t syncs_received; /* under mr->lock */
    bool eof;                /* under mr->lock */
    Error *eof_err;          /* why it ended between packets, or NULL */
    RAMPlacer *placer;
    RAMPrefaultCursor pf_cur; /* last chunk reported to mr->prefault */
    MultiFDDecompressor *dec;
    uint8_t *buf; /* payload bounce buffer */
    uint8_t header[MULTIFD_PACKET_HEADER_SIZE];
    MultiFDPacket packet;
    uint8_t *page[MULTIFD_PACKET_PAGES];
    struct iovec iov[MULTIFD_COMPRESS_IOV_MAX];
} MultiFDRecvChannel;

struct MultiFDRecv {
    GMutex lock;
    GCond cond;
    uint64_t syncs_done; /* EOS records the load thread has passed */
    bool quit;
    Error *err;
    QEMUFile *main;
    QIOChannel *main_ioc;
    MultiFDCompression comp;
    uint32_t comp_flag;
    bool id_seen[256];
    RAMPrefault *prefault; /* populates guest RAM ahead of the packets */
    int n;
    MultiFDRecvChannel *ch;
};

static MultiFDRecv *multifd_recv;

/* Record the first error, wake everyone, shut every channel down. */
static void multifd_recv_fail(MultiFDRecvChannel *c, Error *err)
{
    MultiFDRecv *mr = c->mr;
    bool first;

    g_mutex_lock(&mr->lock);
    first = !mr->err && !mr->quit;
    if (first) {
        error_prepend(&err,
                      "failed to receive packet via multifd channel "
                      "%d: ",
                      c->id >= 0 ? c->id : c->idx);
        mr->err = err;
        err = NULL;
        qemu_file_set_error_obj(mr->main, -EIO, error_copy(mr->err));
    }
    g_cond_broadcast(&mr->cond);
    g_mutex_unlock(&mr->lock);
    error_free(err);
    if (first) {
        /* the loader may fail on the shut-down main stream with its own text */
        error_report("%s", error_get_pretty(mr->err));
        for (int i = 0; i < mr->n; i++) {
            qio_channel_shutdown(mr->ch[i].ioc, QIO_CHANNEL_SHUTDOWN_BOTH,
                                 NULL);
        }
        /*
         * Only the main stream's read side: the loader stops, and the
         * return path (its write side) can still carry SHUT and the
         * reason to the source.
         */
        qio_channel_shutdown(mr->main_ioc, QIO_CHANNEL_SHUTDOWN_READ, NULL);
    }
}

static bool multifd_recv_initial(MultiFDRecvChannel *c, Error **errp)
{
    MultiFDRecv *mr = c->mr;
    uint8_t buf[MULTIFD_INIT_PACKET_SIZE];
    uint8_t id;
    bool dup;

    if (qio_channel_read_all(c->ioc, (char *)buf, sizeof(buf), errp) < 0 ||
        !multifd_init_packet_decode(buf, mr->n, &id, errp)) {
        return false;
    }
    g_mutex_lock(&mr->lock);
    dup = mr->id_seen[id];
    mr->id_seen[id] = true;
    g_mutex_unlock(&mr->lock);
    if (dup) {
        error_setg(errp, "multifd: received id '%d' already setup'", id);
        return false;
    }
    c->id = id;
    TRACE("multifd_recv_channel", "channel %d (arrived %d)", id, c->idx);
    return true;
}

/*
 * Read and decompress a compressed payload into c->page[]; a raw zstd
 * frame (multifd-compress.h) is read straight into the pages.
 */
static bool multifd_recv_decompress(MultiFDRecvChannel *c, Error **errp)
{
    MultiFDPacket *p = &c->packet;
    uint32_t n = p->normal_pages, len = p->next_packet_size;
    uint8_t *in = c->buf + MULTIFD_PACKET_PAGES * TARGET_PAGE_SIZE;
    size_t niov = multifd_decompress_raw_iov(c->dec, len, c->page, n, c->iov);

    if (niov) {
        if (qio_channel_readv_all(c->ioc, c->iov, niov, errp) < 0) {
            return false;
        }
        if (multifd_decompress_raw_check(c->dec, n)) {
            return true;
        }
        iov_to_buf(c->iov, niov, 0, in, len);
    } else if (qio_channel_read_all(c->ioc, (char *)in, len, errp) < 0) {
        return false;
    }
    return multifd_decompress(c->dec, in, len, c->page, n, errp);
}

/* Read the payload of c->packet into guest RAM (through the placer). */
static bool multifd_recv_pages(MultiFDRecvChannel *c, RAMBlock *rb,
                               Error **errp)
{
    MultiFDPacket *p = &c->packet;
    bool direct = c->placer->direct;
    uint32_t n = p->normal_pages;

    for (uint32_t i = 0; i < n; i++) {
        /* every chunk the packet touches (a compare when it is the same) */
        ram_prefault_note_at(c->mr->prefault, &c->pf_cur, rb, p->offset[i]);
        c->page[i] = direct ? rb->host + p->offset[i]
                            : c->buf + (size_t)i * TARGET_PAGE_SIZE;
        c->iov[i].iov_base = c->page[i];
        c->iov[i].iov_len = TARGET_PAGE_SIZE;
    }
    if (!c->dec) {
        if (qio_channel_readv_all(c->ioc, c->iov, n, errp) < 0) {
            return false;
        }
    } else if (!multifd_recv_decompress(c, errp)) {
        return false;
    }
    for (uint32_t i = 0; !direct && i < n; i++) {
        c->placer->ops->place_buf(c->placer, rb, rb->host + p->offset[i],
                                  c->page[i]);
    }
    return true;
}

/* A SYNC packet: count it, wait until the load thread lets us go on. */
static void multifd_recv_synced(MultiFDRecvChannel *c)
{
    MultiFDRecv *mr = c->mr;

    c->placer->ops->sync(c->placer);
    g_mutex_lock(&mr->lock);
    c->syncs_received++;
    g_cond_broadcast(&mr->cond);
    while (mr->syncs_done < c->syncs_received && !mr->quit && !mr->err) {
        g_cond_wait(&mr->cond, &mr->lock);
    }
    g_mutex_unlock(&mr->lock);
}

/* Packets received on every channel so far (the progress watchdog). */
static uint64_t multifd_recv_packet_count;

/*
 * One packet; 1 done, 0 the channel ended between packets (errp set if
 * by an error: a 7.2 source ends TLS without close_notify), -1 error in
 * a packet (errp set).
 */
static int multifd_recv_packet(MultiFDRecvChannel *c, Error **errp)
{
    RAMBlock *rb;
    int ret = qio_channel_read_all_eof(c->ioc, (char *)c->header,
                                       sizeof(c->header), errp);

    if (ret <= 0) {
        return 0;
    }
    if (!multifd_packet_decode(c->header, c->mr->comp_flag, &c->packet, &rb,
                               errp)) {
        return -1;
    }
    if (c->packet.normal_pages && !multifd_recv_pages(c, rb, errp)) {
        return -1;
    }
    if (c->packet.flags & MULTIFD_FLAG_SYNC) {
        multifd_recv_synced(c);
    }
    __atomic_fetch_add(&multifd_recv_packet_count, 1, __ATOMIC_RELAXED);
    return 1;
}

uint64_t multifd_recv_packets(void)
{
    return __atomic_load_n(&multifd_recv_packet_count, __ATOMIC_RELAXED);
}

static gpointer multifd_recv_thread(gpointer opaque)
{
    MultiFDRecvChannel *c = opaque;
    MultiFDRecv *mr = c->mr;
    Error *err = NULL;
    int ret;

    if (!multifd_recv_initial(c, &err)) {
        multifd_recv_fail(c, err);
        return NULL;
    }
    do {
        ret = multifd_recv_packet(c, &err);
    } while (ret > 0);
    if (ret < 0) {
        multifd_recv_fail(c, err);
        return NULL;
    }
    g_mutex_lock(&mr->lock);
    c->eof = true;
    c->eof_err = err;
    g_cond_broadcast(&mr->cond);
    g_mutex_unlock(&mr->lock);
    return NULL;
}

/* Set up channel i (arrival order) on ioc. */
static bool multifd_recv_channel_init(MultiFDRecv *mr, int i, QIOChannel *ioc,
                                      Error **errp)
{
    MultiFDRecvChannel *c = &mr->ch[i];

    c->mr = mr;
    c->idx = i;
    c->id = -1;
    c->ioc = qio_channel_ref(ioc);
    c->placer = ram_placer_copy_new();
    c->buf = g_malloc(MULTIFD_PACKET_PAGES * TARGET_PAGE_SIZE +
                      (mr->comp_flag ? MULTIFD_PAYLOAD_MAX : 0));
    if (mr->comp != MULTIFD_COMPRESSION_NONE) {
        c->dec = multifd_decompressor_new(mr->comp, errp);
        return c->dec != NULL;
    }
    return true;
}

static void multifd_recv_free(MultiFDRecv *mr)
{
    for (int i = 0; i < mr->n; i++) {
        MultiFDRecvChannel *c = &mr->ch[i];

        if (c->thread) {
            g_thread_join(c->thread);
        }
        ram_placer_free(c->placer);
        error_free(c->eof_err);
        multifd_decompressor_free(c->dec);
        g_free(c->buf);
        if (c->ioc) {
            qio_channel_unref(c->ioc);
        }
    }
    ram_prefault_free(mr->prefault);
    qio_channel_unref(mr->main_ioc);
    error_free(mr->err);
    g_cond_clear(&mr->cond);
    g_mutex_clear(&mr->lock);
    g_free(mr->ch);
    g_free(mr);
}

bool multifd_recv_start(GPtrArray *channels, QEMUFile *main, Error **errp)
{
    MultiFDRecv *mr = g_new0(MultiFDRecv, 1);

    g_mutex_init(&mr->lock);
    g_cond_init(&mr->cond);
    mr->main = main;
    mr->main_ioc = qio_channel_ref(qemu_file_get_ioc(main));
    mr->comp = migrate_multifd_compression();
    mr->comp_flag = multifd_compression_flag(mr->comp);
    mr->ch = g_new0(MultiFDRecvChannel, channels->len);
    mr->prefault = ram_prefault_new();
    for (guint i = 0; i < channels->len; i++) {
        MigrationChannel *mc = g_ptr_array_index(channels, i);

        if (mc->type != MIGRATION_CHANNEL_MULTIFD) {
            continue;
        }
        if (!multifd_recv_channel_init(mr, mr->n++, mc->ioc, errp)) {
            multifd_recv_free(mr);
            return false;
        }
    }
    for (int i = 0; i < mr->n; i++) {
        mr->ch[i].thread =
            g_thread_new("mig/dst/multifd", multifd_recv_thread, &mr->ch[i]);
    }
    multifd_recv = mr;
    return true;
}

/* Has every channel delivered the SYNC for the next EOS? (under lock) */
static bool multifd_recv_all_synced(MultiFDRecv *mr, Error **errp)
{
    for (int i = 0; i < mr->n; i++) {
        MultiFDRecvChannel *c = &mr->ch[i];

        if (c->syncs_received > mr->syncs_done) {
            continue;
        }
        if (c->eof) {
            error_setg(errp,
                       "failed to receive packet via multifd channel "
                       "%d: the channel closed before its sync",
                       c->id);
        }
        return false;
    }
    return true;
}

int multifd_recv_sync_main(Error **errp)
{
    MultiFDRecv *mr = multifd_recv;
    Error *err = NULL;

    if (!mr) {
        return 0;
    }
    g_mutex_lock(&mr->lock);
    while (!mr->err && !mr->quit && !multifd_recv_all_synced(mr, &err) &&
           !err) {
        g_cond_wait(&mr->cond, &mr->lock);
    }
    if (mr->err && !err) {
        err = error_copy(mr->err);
    }
    if (!err) {
        mr->syncs_done++;
        g_cond_broadcast(&mr->cond);
    }
    g_mutex_unlock(&mr->lock);
    if (err) {
        error_propagate(errp, err);
        return -EIO;
    }
    return 0;
}

void multifd_recv_cleanup(void)
{
    MultiFDRecv *mr = multifd_recv;

    if (!mr) {
        return;
    }
    multifd_recv = NULL;
    g_mutex_lock(&mr->lock);
    mr->quit = true;
    g_cond_broadcast(&mr->cond);
    g_mutex_unlock(&mr->lock);
    for (int i = 0; i < mr->n; i++) {
        qio_channel_shutdown(mr->ch[i].ioc, QIO_CHANNEL_SHUTDOWN_BOTH, NULL);
    }
    multifd_recv_free(mr);
}
