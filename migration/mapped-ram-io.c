/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * mapped-ram-io.c: the pool of positional transfers of a mapped-ram
 * migration (see mapped-ram-io.h).
 *
 * Each worker owns a descriptor, a FIFO of jobs and a lock protecting
 * the FIFO; the owner appends under that lock and signals.  The pool's
 * lock protects inflight and err: a worker decrements inflight after the
 * job's transfer and broadcasts, so a drain that sees 0 under the lock
 * also sees the transferred memory (the unlock/lock pair orders it).
 */
#include "qemu/osdep.h"
#include "mapped-ram-format.h"
#include "mapped-ram-io.h"

/* Jobs queued per worker before the owner waits. */
#define MAPPED_RAM_IO_QUEUE_MAX 16

typedef struct MRJob {
    void *buf;
    size_t len;
    uint64_t off;
} MRJob;

typedef struct MRWorker {
    MappedRamIO *io;
    GThread *thread;
    int fd;
    GMutex lock; /* protects jobs, quit */
    GCond cond;  /* jobs changed or quit */
    GQueue jobs;
    bool quit;
} MRWorker;

struct MappedRamIO {
    int base_fd;
    bool write;
    int n;
    MRWorker *workers;
    GMutex lock; /* protects inflight, err */
    GCond done;  /* inflight decreased */
    unsigned inflight;
    Error *err;
    bool failed; /* err is set (read without the lock as a hint) */
    uint64_t bytes;
};

/* The whole transfer on fd; false with *errp set. */
static bool mr_io_transfer(int fd, bool write, void *buf, size_t len,
                           uint64_t off, Error **errp)
{
    size_t done = 0;

    while (done < len) {
        ssize_t n = write
                        ? pwrite(fd, (char *)buf + done, len - done, off + done)
                        : pread(fd, (char *)buf + done, len - done, off + done);

        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0) {
            error_setg_errno(errp, errno,
                             "Unable to %s file at offset %" PRIu64,
                             write ? "write to" : "read from", off + done);
            return false;
        }
        if (n == 0) {
            error_setg(errp,
                       "mapped-ram: file ends before offset %" PRIu64
                       " (truncated)",
                       off + done);
            return false;
        }
        done += n;
    }
    return true;
}

/* Record a failure (the first one is kept). */
static void mr_io_fail(MappedRamIO *io, Error *err)
{
    if (!io->err) {
        io->err = err;
        __atomic_store_n(&io->failed, true, __ATOMIC_RELAXED);
    } else {
        error_free(err);
    }
}

static gpointer mr_io_worker(gpointer opaque)
{
    MRWorker *w = opaque;
    MappedRamIO *io = w->io;

    for (;;) {
        MRJob *job;
        Error *err = NULL;
        bool ok = true;

        g_mutex_lock(&w->lock);
        while (g_queue_is_empty(&w->jobs) && !w->quit) {
            g_cond_wait(&w->cond, &w->lock);
        }
        job = g_queue_peek_head(&w->jobs);
        g_mutex_unlock(&w->lock);
        if (!job) {
            return NULL;
        }
        if (!__atomic_load_n(&io->failed, __ATOMIC_RELAXED)) {
            ok = mr_io_transfer(w->fd, io->write, job->buf, job->len, job->off,
                                &err);
        }
        g_mutex_lock(&w->lock);
        g_queue_pop_head(&w->jobs);
        g_cond_broadcast(&w->cond); /* room in the queue */
        g_mutex_unlock(&w->lock);

        g_mutex_lock(&io->lock);
        if (!ok) {
            mr_io_fail(io, err);
        } else {
            io->bytes += job->len;
        }
        io->inflight--;
        g_cond_broadcast(&io->done);
        g_mutex_unlock(&io->lock);
        g_free(job);
    }
}

/* A new open file description of base_fd's file. */
static int mr_io_reopen(int base_fd, bool write, bool direct, Error **errp)
{
    char path[64];
    int flags = (write ? O_WRONLY : O_RDONLY) | O_CLOEXEC;
    int fd;

    if (direct) {
        flags |= O_DIRECT;
    }
    g_snprintf(path, sizeof(path), "/proc/self/fd/%d", base_fd);
    fd = open(path, flags);
    if (fd < 0 && direct && errno == EINVAL) {
        error_setg(errp,
                   "direct-io: the file system of the migration file does "
                   "not support O_DIRECT (open: %s); set direct-io off",
                   g_strerror(errno));
        return -1;
    }
    if (fd < 0) {
        error_setg_errno(errp, errno,
                         "mapped-ram: cannot open another descriptor of the "
                         "migration file");
        return -1;
    }
    return fd;
}

MappedRamIO *mapped_ram_io_new(int base_fd, bool write, int nthreads,
                               bool direct, Error **errp)
{
    MappedRamIO *io = g_new0(MappedRamIO, 1);

    io->base_fd = base_fd;
    io->write = write;
    g_mutex_init(&io->lock);
    g_cond_init(&io->done);
    if (write && direct) {
        nthreads *= MAPPED_RAM_IO_DIRECT_DEPTH;
    }
    io->workers = g_new0(MRWorker, MAX(nthreads, 1));
    for (int i = 0; i < nthreads; i++) {
        MRWorker *w = &io->workers[i];
        int fd = mr_io_reopen(base_fd, write, direct, errp);

        if (fd < 0) {
            mapped_ram_io_free(io);
            return NULL;
        }
        w->io = io;
        w->fd = fd;
        g_mutex_init(&w->lock);
        g_cond_init(&w->cond);
        g_queue_init(&w->jobs);
        w->thread = g_thread_new(write ? "mig/mapped/w" : "mig/mapped/r",
                                 mr_io_worker, w);
        io->n = i + 1;
    }
    return io;
}

/* Queue on worker w, or run on the caller's thread without workers. */
static int mr_io_queue_on(MappedRamIO *io, MRWorker *w, void *buf, size_t len,
                          uint64_t off)
{
    MRJob *job;

    if (__atomic_load_n(&io->failed, __ATOMIC_RELAXED)) {
        return -1;
    }
    if (!io->n) {
        Error *err = NULL;

        if (!mr_io_transfer(io->base_fd, io->write, buf, len, off, &err)) {
            mr_io_fail(io, err);
            return -1;
        }
        io->bytes += len;
        return 0;
    }
    job = g_new(MRJob, 1);
    job->buf = buf;
    job->len = len;
    job->off = off;
    g_mutex_lock(&io->lock);
    io->inflight++;
    g_mutex_unlock(&io->lock);
    g_mutex_lock(&w->lock);
    while (g_queue_get_length(&w->jobs) >= MAPPED_RAM_IO_QUEUE_MAX) {
        g_cond_wait(&w->cond, &w->lock);
    }
    g_queue_push_tail(&w->jobs, job);
    g_cond_broadcast(&w->cond);
    g_mutex_unlock(&w->lock);
    return 0;
}

int mapped_ram_io_queue(MappedRamIO *io, void *buf, size_t len, uint64_t off)
{
    MRWorker *w =
        io->n ? &io->workers[(off / MAPPED_RAM_IO_STRIPE) % io->n] : NULL;

    return mr_io_queue_on(io, w, buf, len, off);
}

int mapped_ram_io_queue_read_on(MappedRamIO *io, unsigned worker, void *buf,
                                size_t len, uint64_t off)
{
    g_assert(!io->write);
    return mr_io_queue_on(io, io->n ? &io->workers[worker % io->n] : NULL, buf,
                          len, off);
}

unsigned mapped_ram_io_workers(MappedRamIO *io)
{
    return io->n;
}

int mapped_ram_io_drain(MappedRamIO *io, Error **errp)
{
    int ret = 0;

    g_mutex_lock(&io->lock);
    while (io->inflight) {
        g_cond_wait(&io->done, &io->lock);
    }
    if (io->err) {
        error_propagate(errp, error_copy(io->err));
        ret = -1;
    }
    g_mutex_unlock(&io->lock);
    return ret;
}

uint64_t mapped_ram_io_bytes(MappedRamIO *io)
{
    uint64_t b;

    g_mutex_lock(&io->lock);
    b = io->bytes;
    g_mutex_unlock(&io->lock);
    return b;
}

void mapped_ram_io_free(MappedRamIO *io)
{
    if (!io) {
        return;
    }
    mapped_ram_io_drain(io, NULL);
    for (int i = 0; i < io->n; i++) {
        MRWorker *w = &io->workers[i];

        g_mutex_lock(&w->lock);
        w->quit = true;
        g_cond_broadcast(&w->cond);
        g_mutex_unlock(&w->lock);
        g_thread_join(w->thread);
        close(w->fd);
        g_mutex_clear(&w->lock);
        g_cond_clear(&w->cond);
    }
    error_free(io->err);
    g_free(io->workers);
    g_mutex_clear(&io->lock);
    g_cond_clear(&io->done);
    g_free(io);
}
