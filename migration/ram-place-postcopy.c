/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * ram-place-postcopy.c: the postcopy placer (see ram-place.h).  Guest
 * RAM is registered with userfaultfd: a page is read into a private
 * buffer and installed atomically with UFFDIO_COPY, which also wakes
 * every thread faulting on it; a zero page uses UFFDIO_ZEROPAGE.  Guest
 * RAM is never written directly.  A page already there (EEXIST: placed
 * earlier and not discarded) is left alone.
 */
#include "qemu/osdep.h"
#include <linux/userfaultfd.h>
#include <sys/ioctl.h>
#include "postcopy-blocktime.h"
#include "postcopy-cpu.h"
#include "postcopy-ram.h"
#include "ram-place.h"

typedef struct RAMPlacerPostcopy {
    RAMPlacer base;
    int uffd;
    PostcopyVia via;
    int cpu;      /* preempt: the CPU its reader is held to, -1: none */
    uint8_t *tmp; /* one target page, page aligned */
} RAMPlacerPostcopy;

/* host (of rb) is in guest RAM now; its record was read at recv_ns. */
static void ram_place_postcopy_done(RAMPlacerPostcopy *pp, RAMBlock *rb,
                                    uint8_t *host, int64_t recv_ns)
{
    PostcopyPlaced how = {
        .via = pp->via,
        .rb = rb,
        .offset = host - rb->host,
        .recv_ns = recv_ns,
    };

    postcopy_blocktime_placed((uintptr_t)host, &how);
    if (pp->via == POSTCOPY_VIA_PREEMPT) {
        /* the next page's wake-up comes sooner on the fault path's CPU */
        postcopy_cpu_join_fault_path(&pp->cpu);
    }
}

static int ram_place_postcopy_copy(RAMPlacerPostcopy *pp, RAMBlock *rb,
                                   uint8_t *host, int64_t recv_ns)
{
    struct uffdio_copy copy = {
        .dst = (uintptr_t)host,
        .src = (uintptr_t)pp->tmp,
        .len = TARGET_PAGE_SIZE,
    };

    if (ioctl(pp->uffd, UFFDIO_COPY, &copy) < 0 && errno != EEXIST) {
        return -errno;
    }
    ram_place_postcopy_done(pp, rb, host, recv_ns);
    return 0;
}

static int ram_place_postcopy_page(RAMPlacer *pl, QEMUFile *f, RAMBlock *rb,
                                   uint8_t *host)
{
    RAMPlacerPostcopy *pp = (RAMPlacerPostcopy *)pl;
    int64_t recv_ns = postcopy_clock_ns();

    if (qemu_get_buffer(f, pp->tmp, TARGET_PAGE_SIZE) != TARGET_PAGE_SIZE) {
        return 0; /* f's error, for the caller's next check */
    }
    return ram_place_postcopy_copy(pp, rb, host, recv_ns);
}

/* A page already in memory (an inflated compressed page): copy, install. */
static int ram_place_postcopy_buf(RAMPlacer *pl, RAMBlock *rb, uint8_t *host,
                                  const uint8_t *buf)
{
    RAMPlacerPostcopy *pp = (RAMPlacerPostcopy *)pl;

    memcpy(pp->tmp, buf, TARGET_PAGE_SIZE);
    return ram_place_postcopy_copy(pp, rb, host, postcopy_clock_ns());
}

static int ram_place_postcopy_fill(RAMPlacer *pl, RAMBlock *rb, uint8_t *host,
                                   uint8_t fill)
{
    RAMPlacerPostcopy *pp = (RAMPlacerPostcopy *)pl;
    struct uffdio_zeropage zero = {
        .range = {.start = (uintptr_t)host, .len = TARGET_PAGE_SIZE},
    };
    int64_t recv_ns = postcopy_clock_ns();

    if (fill) {
        memset(pp->tmp, fill, TARGET_PAGE_SIZE);
        return ram_place_postcopy_copy(pp, rb, host, recv_ns);
    }
    if (ioctl(pp->uffd, UFFDIO_ZEROPAGE, &zero) < 0 && errno != EEXIST) {
        return -errno;
    }
    ram_place_postcopy_done(pp, rb, host, recv_ns);
    return 0;
}

/* UFFDIO_COPY is a system call: its stores are visible when it returns. */
static void ram_place_postcopy_sync(RAMPlacer *pl)
{
}

static void ram_place_postcopy_free(RAMPlacer *pl)
{
    RAMPlacerPostcopy *pp = (RAMPlacerPostcopy *)pl;

    free(pp->tmp);
    g_free(pp);
}

static const RAMPlaceOps ram_place_postcopy_ops = {
    .name = "postcopy",
    .place_page = ram_place_postcopy_page,
    .place_buf = ram_place_postcopy_buf,
    .place_fill = ram_place_postcopy_fill,
    .sync = ram_place_postcopy_sync,
    .free = ram_place_postcopy_free,
};

RAMPlacer *ram_placer_postcopy_new(int uffd, PostcopyVia via)
{
    RAMPlacerPostcopy *pp = g_new0(RAMPlacerPostcopy, 1);

    pp->base.ops = &ram_place_postcopy_ops;
    pp->uffd = uffd;
    pp->via = via;
    pp->cpu = -1;
    if (posix_memalign((void **)&pp->tmp, TARGET_PAGE_SIZE, TARGET_PAGE_SIZE)) {
        g_free(pp);
        return NULL;
    }
    return &pp->base;
}
