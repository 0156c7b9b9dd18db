/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * checkpoint-verify.c: pages copied from the checkpoint, verified on
 * worker threads (see checkpoint-verify.h).
 *
 * A ring of CKPT_VERIFY_RING jobs; the load thread adds at the tail
 * (never waiting: a full ring is refused), one worker per processor takes up to
 * CKPT_VERIFY_BATCH jobs at a time from the head.  lock guards the ring,
 * the counters and the first error; the workers' placements are fenced
 * (the placer's sync) before they count as done.
 */
#include "qemu/osdep.h"
#include "qapi/error.h"
#include "checkpoint-exchange.h"
#include "checkpoint-verify.h"

#define CKPT_VERIFY_RING CKPT_VERIFY_QUEUE
#define CKPT_VERIFY_BATCH 16
#define CKPT_VERIFY_MAX_THREADS 16

typedef struct CkptVerifyJob {
    RAMPlacer *pl;
    RAMBlock *rb;
    uint8_t *host;
    uint64_t addr;
    uint8_t digest[CKPT_DIGEST_BYTES];
} CkptVerifyJob;

struct CkptVerify {
    CheckpointIndex *ci;
    CkptVerifyLookupFn lookup;
    CkptVerifyFailFn fail;
    GThread **threads;
    unsigned int nr_threads;

    GMutex lock;
    GCond work;          /* jobs queued, or quit */
    GCond progress;      /* jobs done (room in the ring, or all done) */
    CkptVerifyJob *ring; /* CKPT_VERIFY_RING */
    uint64_t queued;     /* jobs ever queued; ring slot = number % RING */
    uint64_t taken;      /* jobs ever taken by a worker */
    uint64_t done;       /* jobs ever finished */
    bool quit;
    int ret; /* first failure */
    Error *err;
    uint64_t *loaded; /* the caller's, atomic */
};

/* One job: 0, or negative errno with errp set (no way to ask again). */
static int ckpt_verify_one(CkptVerify *v, const CkptVerifyJob *j, uint8_t *buf,
                           Error **errp)
{
    const CkptIndexEntry *e = v->lookup(v->ci, j->rb, j->addr, j->digest);
    uint8_t check[CKPT_DIGEST_BYTES];
    Error *err = NULL;
    int ret;

    if (!e) {
        return v->fail(j->rb, j->addr, "not in the checkpoint", errp);
    }
    if (!checkpoint_index_read(v->ci, e, buf, &err)) {
        ret = v->fail(j->rb, j->addr, error_get_pretty(err), errp);
        error_free(err);
        return ret;
    }
    checkpoint_hash_page(buf, check);
    if (memcmp(check, j->digest, CKPT_DIGEST_BYTES)) {
        return v->fail(j->rb, j->addr, "checkpoint page changed", errp);
    }
    ret = j->pl->ops->place_buf(j->pl, j->rb, j->host, buf);
    if (ret < 0) {
        error_setg_errno(errp, -ret,
                         "checkpoint: cannot place page 0x%" PRIx64 " of %s",
                         j->addr, j->rb->idstr);
        return ret;
    }
    __atomic_fetch_add(v->loaded, 1, __ATOMIC_RELAXED);
    return 0;
}

/* Run n jobs copied out of the ring; record the first failure. */
static void ckpt_verify_batch(CkptVerify *v, CkptVerifyJob *jobs,
                              unsigned int n, uint8_t *buf)
{
    for (unsigned int i = 0; i < n; i++) {
        Error *err = NULL;
        int ret = ckpt_verify_one(v, &jobs[i], buf, &err);

        if (ret < 0) {
            g_mutex_lock(&v->lock);
            if (!v->ret) {
                v->ret = ret;
                v->err = g_steal_pointer(&err);
            }
            g_mutex_unlock(&v->lock);
            error_free(err);
        }
    }
    if (n) {
        jobs[0].pl->ops->sync(jobs[0].pl); /* fence this thread's stores */
    }
}

static gpointer ckpt_verify_thread(gpointer opaque)
{
    CkptVerify *v = opaque;
    CkptVerifyJob jobs[CKPT_VERIFY_BATCH];
    uint8_t buf[TARGET_PAGE_SIZE] __attribute__((aligned(64)));

    g_mutex_lock(&v->lock);
    for (;;) {
        unsigned int n = 0;

        while (!v->quit && v->taken == v->queued) {
            g_cond_wait(&v->work, &v->lock);
        }
        if (v->taken == v->queued) {
            break; /* quit, and nothing left */
        }
        while (n < CKPT_VERIFY_BATCH && v->taken < v->queued) {
            jobs[n++] = v->ring[v->taken++ % CKPT_VERIFY_RING];
        }
        g_mutex_unlock(&v->lock);
        ckpt_verify_batch(v, jobs, n, buf);
        g_mutex_lock(&v->lock);
        v->done += n;
        g_cond_broadcast(&v->progress);
    }
    g_mutex_unlock(&v->lock);
    return NULL;
}

CkptVerify *checkpoint_verify_new(CheckpointIndex *ci,
                                  CkptVerifyLookupFn lookup,
                                  CkptVerifyFailFn fail, uint64_t *loaded)
{
    CkptVerify *v = g_new0(CkptVerify, 1);

    v->ring = g_new(CkptVerifyJob, CKPT_VERIFY_RING);
    v->ci = ci;
    v->lookup = lookup;
    v->fail = fail;
    v->loaded = loaded;
    g_mutex_init(&v->lock);
    g_cond_init(&v->work);
    g_cond_init(&v->progress);
    v->nr_threads =
        MIN(MAX(g_get_num_processors(), 1), CKPT_VERIFY_MAX_THREADS);
    v->threads = g_new(GThread *, v->nr_threads);
    for (unsigned int i = 0; i < v->nr_threads; i++) {
        v->threads[i] = g_thread_new("ckpt-verify", ckpt_verify_thread, v);
    }
    return v;
}

bool checkpoint_verify_queue(CkptVerify *v, RAMPlacer *pl, RAMBlock *rb,
                             uint8_t *host, uint64_t addr,
                             const uint8_t *digest)
{
    CkptVerifyJob *j;

    g_mutex_lock(&v->lock);
    if (v->queued - v->done >= CKPT_VERIFY_RING) {
        g_mutex_unlock(&v->lock);
        return false;
    }
    j = &v->ring[v->queued % CKPT_VERIFY_RING];
    j->pl = pl;
    j->rb = rb;
    j->host = host;
    j->addr = addr;
    memcpy(j->digest, digest, CKPT_DIGEST_BYTES);
    v->queued++;
    g_cond_signal(&v->work);
    g_mutex_unlock(&v->lock);
    return true;
}

int checkpoint_verify_wait(CkptVerify *v, Error **errp)
{
    int ret;

    g_mutex_lock(&v->lock);
    while (v->done != v->queued) {
        g_cond_wait(&v->progress, &v->lock);
    }
    ret = v->ret;
    if (ret < 0) {
        error_propagate(errp, error_copy(v->err));
    }
    g_mutex_unlock(&v->lock);
    return ret;
}

void checkpoint_verify_free(CkptVerify *v)
{
    if (!v) {
        return;
    }
    g_mutex_lock(&v->lock);
    v->quit = true;
    g_cond_broadcast(&v->work);
    g_mutex_unlock(&v->lock);
    for (unsigned int i = 0; i < v->nr_threads; i++) {
        g_thread_join(v->threads[i]);
    }
    error_free(v->err);
    g_mutex_clear(&v->lock);
    g_cond_clear(&v->work);
    g_cond_clear(&v->progress);
    g_free(v->threads);
    g_free(v->ring);
    g_free(v);
}
