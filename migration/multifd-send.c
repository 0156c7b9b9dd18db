/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * multifd-send.c: the source's multifd channels and their sender
 * threads (see multifd.h).
 *
 * One thread per channel.  The page sink (migration thread) queues each
 * packet (block, page offsets) on the channel of its 2 MiB region (up to
 * MULTIFD_SEND_DEPTH packets per channel); the channel's thread
 * writes the 1344-byte header and the pages with one writev straight
 * from guest RAM (or the compressed payload).  The bytes (multifd-bytes,
 * the RAM counters and the shared rate limiter) are counted as each
 * page joins a packet and each header is queued, as the stream sink
 * counts what it queues, so the limiter stops the sink within a page;
 * a compressed packet is counted once its size is known.  A sync
 * queues one SYNC packet per channel and waits until all are written.
 *
 * Locking: ms->lock protects every channel's job ring (head, count and
 * the packets) and the error; a channel thread holds it only to take and
 * to finish a job.  The first error of any channel is kept, prefixed with
 * the channel's id, and every later queue or sync fails with -EIO.
 */
#include "qemu/osdep.h"
#include "qapi/error.h"
#include "qemu/iov.h"
#include "qemu/trace.h"
#include "migration/options.h"
#include "migration.h"
#include "migration-stats.h"
#include "multifd.h"
#include "multifd-compress.h"
#include "transport.h"

/*
 * Packets queued per channel: three 2 MiB regions (four packets each).
 * The sink fills the channels region by region in turn, so with room for
 * only one region it waited on one channel while the other ran dry
 * (measured, 2 channels: each sender idle half the time).
 */
#define MULTIFD_SEND_DEPTH 12

/* One packet to send. */
typedef struct MultiFDSendJob {
    uint32_t flags;
    RAMBlock *block;
    uint32_t npages;
    uint64_t packet_num;
    uint64_t offset[MULTIFD_PACKET_PAGES];
} MultiFDSendJob;

typedef struct MultiFDSendChannel {
    MultiFDSend *ms;
    int id;
    QIOChannel *ioc; /* a reference */
    GThread *thread;
    GCond cond; /* a job was posted, or quit */
    /*
     * A ring of count jobs from head, under ms->lock; the head job is
     * the thread's while it sends it (it counts until written).
     */
    MultiFDSendJob job[MULTIFD_SEND_DEPTH];
    unsigned int head, count;
    /* the thread's own */
    MultiFDCompressor *comp;
    uint8_t header[MULTIFD_PACKET_HEADER_SIZE];
    struct iovec iov[1 + MULTIFD_COMPRESS_IOV_MAX];
} MultiFDSendChannel;

/* Pages of one 2 MiB region travel on one channel. */
#define MULTIFD_REGION_BITS 21

struct MultiFDSend {
    GMutex lock;
    GCond idle; /* a channel finished a job (or failed) */
    bool quit;
    Error *err; /* first channel error */
    uint32_t comp_flag;
    uint64_t packet_num;
    int n;
    MultiFDSendChannel *ch;
};

/* Open channel id: transport, TLS, registration, initial packet. */
static bool multifd_send_open_one(MigrationState *s,
                                  const MigrationTransport *t, const char *arg,
                                  const char *host, int id, Error **errp)
{
    uint8_t init[MULTIFD_INIT_PACKET_SIZE];
    QIOChannel *ioc = t->outgoing_open(s, arg, errp);
    QIOChannel *tls;
    bool ok;

    if (!ioc) {
        return false;
    }
    migrate_channel_add(s, MIGRATION_CHANNEL_MULTIFD, ioc);
    qio_channel_ref(ioc); /* kept while TLS may replace it in the list */
    tls = migration_channel_outgoing(ioc, host, errp); /* takes a ref */
    if (tls && tls != ioc) {
        migrate_channel_remove(s, ioc);
        migrate_channel_add(s, MIGRATION_CHANNEL_MULTIFD, tls);
    }
    qio_channel_unref(ioc);
    if (!tls) {
        return false;
    }
    qio_channel_set_name(tls, "migration-multifd-outgoing");
    multifd_init_packet_encode(init, id);
    ok = qio_channel_write_all(tls, (char *)init, sizeof(init), errp) == 0;
    if (ok) {
        stat64_add(&mig_stats.multifd_bytes, sizeof(init));
    }
    qio_channel_unref(tls);
    return ok;
}

bool multifd_send_connect(MigrationState *s, const MigrationTransport *t,
                          const char *arg, const char *host, Error **errp)
{
    int n = migrate_multifd_channels();

    if (!t->multi_channel) {
        error_setg(errp, "multifd is not supported by current protocol");
        return false;
    }
    for (int id = 0; id < n; id++) {
        if (!multifd_send_open_one(s, t, arg, host, id, errp)) {
            error_prepend(errp, "multifd channel %d: ", id);
            return false;
        }
        TRACE("multifd_send_connected", "channel %d", id);
    }
    return true;
}

/* Keep the first error (prefixed with the channel); wake the sink. */
static void multifd_send_fail(MultiFDSendChannel *c, Error *err)
{
    MultiFDSend *ms = c->ms;

    g_mutex_lock(&ms->lock);
    if (!ms->err) {
        error_prepend(&err, "multifd channel %d: ", c->id);
        ms->err = err;
        err = NULL;
    }
    g_cond_broadcast(&ms->idle);
    g_mutex_unlock(&ms->lock);
    error_free(err);
}

/* Count bytes put on a channel (and charge the rate limiter). */
static void multifd_send_account(uint64_t bytes)
{
    stat64_add(&mig_stats.multifd_bytes, bytes);
    migration_stats_account_ram(bytes);
}

/* Write job j: header, then the pages or their compression. */
static bool multifd_send_packet(MultiFDSendChannel *c, const MultiFDSendJob *j,
                                Error **errp)
{
    MultiFDSend *ms = c->ms;
    uint32_t flags = j->flags, payload = 0;
    size_t niov = 1;

    for (uint32_t i = 0; i < j->npages; i++) {
        c->iov[1 + i].iov_base = j->block->host + j->offset[i];
        c->iov[1 + i].iov_len = TARGET_PAGE_SIZE;
    }
    if (j->npages && c->comp) {
        const struct iovec *out;
        size_t outn;

        if (!multifd_compress(c->comp, c->iov + 1, j->npages, &out, &outn,
                              errp)) {
            return false;
        }
        memcpy(c->iov + 1, out, outn * sizeof(*out));
        payload = iov_size(out, outn);
        niov = 1 + outn;
        flags |= ms->comp_flag;
    } else if (j->npages) {
        payload = j->npages * TARGET_PAGE_SIZE;
        niov = 1 + j->npages;
    }
    multifd_packet_encode(c->header, flags, j->block, j->offset, j->npages,
                          payload, j->packet_num);
    c->iov[0].iov_base = c->header;
    c->iov[0].iov_len = sizeof(c->header);
    if (qio_channel_writev_all(c->ioc, c->iov, niov, errp) < 0) {
        return false;
    }
    if (c->comp && j->npages) { /* compressed: its size is known only now */
        multifd_send_account(sizeof(c->header) + payload);
    }
    return true;
}

static gpointer multifd_send_thread(gpointer opaque)
{
    MultiFDSendChannel *c = opaque;
    MultiFDSend *ms = c->ms;

    g_mutex_lock(&ms->lock);
    for (;;) {
        Error *err = NULL;
        const MultiFDSendJob *j;

        while (!c->count && !ms->quit) {
            g_cond_wait(&c->cond, &ms->lock);
        }
        if (!c->count) {
            break;
        }
        j = &c->job[c->head];
        g_mutex_unlock(&ms->lock);
        if (!multifd_send_packet(c, j, &err)) {
            multifd_send_fail(c, err);
            return NULL;
        }
        g_mutex_lock(&ms->lock);
        c->head = (c->head + 1) % MULTIFD_SEND_DEPTH;
        c->count--;
        g_cond_broadcast(&ms->idle);
    }
    g_mutex_unlock(&ms->lock);
    return NULL;
}

MultiFDSend *multifd_send_new(MigrationState *s, Error **errp)
{
    MultiFDSend *ms = g_new0(MultiFDSend, 1);
    MultiFDCompression comp = migrate_multifd_compression();

    g_mutex_init(&ms->lock);
    g_cond_init(&ms->idle);
    ms->comp_flag = multifd_compression_flag(comp);
    ms->ch = g_new0(MultiFDSendChannel, migrate_multifd_channels());
    g_mutex_lock(&s->lock);
    for (guint i = 0; s->channels && i < s->channels->len; i++) {
        MigrationChannel *mc = g_ptr_array_index(s->channels, i);

        if (mc->type == MIGRATION_CHANNEL_MULTIFD &&
            ms->n < migrate_multifd_channels()) {
            ms->ch[ms->n].ioc = qio_channel_ref(mc->ioc);
            ms->ch[ms->n].id = ms->n;
            ms->n++;
        }
    }
    g_mutex_unlock(&s->lock);
    for (int i = 0; i < ms->n; i++) {
        MultiFDSendChannel *c = &ms->ch[i];

        c->ms = ms;
        g_cond_init(&c->cond);
        if (comp != MULTIFD_COMPRESSION_NONE) {
            c->comp = multifd_compressor_new(comp, errp);
            if (!c->comp) {
                multifd_send_free(ms);
                return NULL;
            }
        }
    }
    if (ms->n != migrate_multifd_channels()) {
        error_setg(errp, "multifd: %d channels open, %d expected", ms->n,
                   migrate_multifd_channels());
        multifd_send_free(ms);
        return NULL;
    }
    for (int i = 0; i < ms->n; i++) {
        ms->ch[i].thread =
            g_thread_new("mig/src/multifd", multifd_send_thread, &ms->ch[i]);
    }
    return ms;
}

/*
 * Queue a job on channel c, once it has room (under lock); false if a
 * channel failed meanwhile.
 */
static bool multifd_send_post(MultiFDSend *ms, MultiFDSendChannel *c,
                              uint32_t flags, RAMBlock *rb,
                              const uint64_t *offset, uint32_t n)
{
    MultiFDSendJob *j;

    while (c->count == MULTIFD_SEND_DEPTH && !ms->err) {
        g_cond_wait(&ms->idle, &ms->lock);
    }
    if (ms->err) {
        return false;
    }
    j = &c->job[(c->head + c->count) % MULTIFD_SEND_DEPTH];
    j->flags = flags;
    j->block = rb;
    j->npages = n;
    if (n) {
        memcpy(j->offset, offset, n * sizeof(offset[0]));
    }
    j->packet_num = ms->packet_num++;
    if (!ms->comp_flag || !n) {
        /* the pages were counted by multifd_send_count_page() */
        multifd_send_account(MULTIFD_PACKET_HEADER_SIZE);
    }
    c->count++;
    g_cond_signal(&c->cond);
    return true;
}

void multifd_send_count_page(MultiFDSend *ms)
{
    if (!ms->comp_flag) {
        multifd_send_account(TARGET_PAGE_SIZE);
    }
}

int multifd_send_pages(MultiFDSend *ms, RAMBlock *rb, const uint64_t *offset,
                       uint32_t n)
{
    /*
     * Every packet of one 2 MiB region goes to the same channel: the
     * destination's receivers then never fault in the same huge page
     * at once (measured: 2 channels alternating packets ran at a third
     * of 1 channel's speed, the kernel zeroing huge pages twice).
     */
    MultiFDSendChannel *c = &ms->ch[(offset[0] >> MULTIFD_REGION_BITS) % ms->n];
    bool ok;

    g_mutex_lock(&ms->lock);
    ok = multifd_send_post(ms, c, 0, rb, offset, n);
    g_mutex_unlock(&ms->lock);
    return ok ? 0 : -EIO;
}

/* Wait (under lock) until c has sent everything or a channel failed. */
static bool multifd_send_wait_idle(MultiFDSend *ms, MultiFDSendChannel *c)
{
    while (c->count && !ms->err) {
        g_cond_wait(&ms->idle, &ms->lock);
    }
    return !ms->err;
}

int multifd_send_sync(MultiFDSend *ms)
{
    bool ok = true;

    g_mutex_lock(&ms->lock);
    /* each channel's SYNC after what it has queued */
    for (int i = 0; ok && i < ms->n; i++) {
        ok =
            multifd_send_post(ms, &ms->ch[i], MULTIFD_FLAG_SYNC, NULL, NULL, 0);
    }
    for (int i = 0; ok && i < ms->n; i++) {
        ok = multifd_send_wait_idle(ms, &ms->ch[i]);
    }
    g_mutex_unlock(&ms->lock);
    return ok ? 0 : -EIO;
}

bool multifd_send_error(MultiFDSend *ms, Error **errp)
{
    bool failed;

    g_mutex_lock(&ms->lock);
    failed = ms->err != NULL;
    if (failed) {
        error_propagate(errp, error_copy(ms->err));
    }
    g_mutex_unlock(&ms->lock);
    return failed;
}

void multifd_send_free(MultiFDSend *ms)
{
    if (!ms) {
        return;
    }
    g_mutex_lock(&ms->lock);
    ms->quit = true;
    for (int i = 0; i < ms->n; i++) {
        g_cond_signal(&ms->ch[i].cond);
    }
    g_mutex_unlock(&ms->lock);
    for (int i = 0; i < ms->n; i++) {
        MultiFDSendChannel *c = &ms->ch[i];

        if (c->thread) {
            g_thread_join(c->thread);
        }
        g_cond_clear(&c->cond);
        multifd_compressor_free(c->comp);
        qio_channel_unref(c->ioc);
    }
    error_free(ms->err);
    g_cond_clear(&ms->idle);
    g_mutex_clear(&ms->lock);
    g_free(ms->ch);
    g_free(ms);
}
