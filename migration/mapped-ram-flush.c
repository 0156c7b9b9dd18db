/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * mapped-ram-flush.c: the writeback thread of a buffered mapped-ram
 * save (see mapped-ram-flush.h).
 *
 * The thread sleeps until MAPPED_RAM_FLUSH_STEP bytes were noted since
 * its last pass (or it is told to quit), then starts the writeback of
 * the whole file: the kernel only walks the file's dirty pages and
 * skips those already being written, so one call covers whatever the
 * writers left since, in any order.  Doing it here rather than in the
 * writers keeps them copying while the request queue is full.
 */
#include "qemu/osdep.h"
#include "mapped-ram-flush.h"

/* Bytes written between two writeback passes. */
#define MAPPED_RAM_FLUSH_STEP (16ULL << 20)

struct MappedRamFlusher {
    int fd;
    GThread *thread;
    GMutex lock; /* protects pending, quit */
    GCond cond;  /* pending grew past a step, or quit */
    uint64_t pending;
    bool quit;
};

static gpointer mapped_ram_flusher_thread(gpointer opaque)
{
    MappedRamFlusher *fl = opaque;

    g_mutex_lock(&fl->lock);
    for (;;) {
        while (fl->pending < MAPPED_RAM_FLUSH_STEP && !fl->quit) {
            g_cond_wait(&fl->cond, &fl->lock);
        }
        if (fl->quit) {
            break;
        }
        fl->pending = 0;
        g_mutex_unlock(&fl->lock);
#ifdef SYNC_FILE_RANGE_WRITE
        /* best effort: on failure the final fsync does the work */
        (void)sync_file_range(fl->fd, 0, 0, SYNC_FILE_RANGE_WRITE);
#endif
        g_mutex_lock(&fl->lock);
    }
    g_mutex_unlock(&fl->lock);
    return NULL;
}

MappedRamFlusher *mapped_ram_flusher_new(int fd)
{
    MappedRamFlusher *fl = g_new0(MappedRamFlusher, 1);

    fl->fd = fd;
    g_mutex_init(&fl->lock);
    g_cond_init(&fl->cond);
    fl->thread = g_thread_new("mig/mapped/wb", mapped_ram_flusher_thread, fl);
    return fl;
}

void mapped_ram_flusher_note(MappedRamFlusher *fl, uint64_t len)
{
    g_mutex_lock(&fl->lock);
    fl->pending += len;
    if (fl->pending >= MAPPED_RAM_FLUSH_STEP) {
        g_cond_signal(&fl->cond);
    }
    g_mutex_unlock(&fl->lock);
}

void mapped_ram_flusher_free(MappedRamFlusher *fl)
{
    if (!fl) {
        return;
    }
    g_mutex_lock(&fl->lock);
    fl->quit = true;
    g_cond_signal(&fl->cond);
    g_mutex_unlock(&fl->lock);
    g_thread_join(fl->thread);
    g_mutex_clear(&fl->lock);
    g_cond_clear(&fl->cond);
    g_free(fl);
}
