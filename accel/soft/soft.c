/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * soft.c: the "soft" accelerator — a vCPU that runs the stress workload
 * (guest/stress-core.c) as native code against guest RAM, for hosts
 * without /dev/kvm.
 *
 * It does not execute the -kernel image: it knows what the stress guest
 * would do and does it itself, with the same RAM layout and the same page
 * contents, so migration sees the same guest.  Guest-physical address a is
 * offset a of the RAM block that starts at guest-physical 0.  Output goes
 * to the UART (ioport_write(0x3f8)), the end to debug-exit
 * (ioport_write(0x501)), exactly like the guest's out instructions.
 *
 * All workload state lives in guest RAM (see stress-core.h), so a
 * migrated soft VM continues where the source stopped.  Whether to start
 * fresh or to resume is decided when the vCPU is FIRST resumed, not at
 * vcpus_create: on an incoming migration the RAM is loaded between the
 * two.  Resume when RAM holds a valid state block (found at the -append
 * mem= start, else on any 1 MiB boundary), else start fresh from -append.
 *
 * Threading:
 *  - soft.lock protects want_run, in_guest, quit; soft.cond signals
 *    every change of them and wakes rate-limit sleeps.
 *  - stop_req is read without the lock at every safe point (between page
 *    writes).  vcpus_pause sets it, then waits for in_guest == false,
 *    which the vCPU thread sets under the lock at its next safe point, so
 *    when vcpus_pause returns no page write is half done and every write
 *    so far is in the dirty bitmap.
 *  - The vCPU thread never takes the BQL (port I/O needs none).
 *
 * Dirty log: one bitmap per RAM block in rb->accel_priv, a bit per target
 * page.  The vCPU sets bits with set_bit_atomic AFTER storing to the page
 * (the seq-cst RMW orders the stores before the bit); sync exchanges each
 * word with 0 and ORs it into rb->bmap.  A page written during a sync is
 * either seen by this sync after its store, or its bit lands in the next.
 * Bits are set always, logging or not: a write racing with start can
 * then never be lost, and the first sync after start just reports extra
 * pages (migration sends everything on its first pass anyway).
 */
#include "qemu/osdep.h"
#include "qemu/atomic.h"
#include "qemu/bitmap.h"
#include "qemu/bitops.h"
#include "qemu/error-report.h"
#include "hw/boards.h"
#include "hw/ioport.h"
#include "sysemu/accel.h"
#include "sysemu/cpus.h"
#include "sysemu/ramblock.h"
#include "sysemu/runstate.h"
#include "stress-core.h"

#define SOFT_UART_PORT 0x3f8
#define SOFT_DEBUG_EXIT 0x501

typedef struct SoftDirty {
    unsigned long *bits; /* one bit per target page, set atomically */
    long pages;
} SoftDirty;

typedef struct SoftVcpu {
    GThread *thread;
    GMutex lock;
    GCond cond;
    bool want_run; /* resumed and not paused */
    bool in_guest; /* thread is between safe points */
    bool quit;     /* cleanup: leave the thread */
    int stop_req;  /* atomic: reach a safe point and park */

    /* vCPU thread only: */
    bool started; /* fresh-or-resume decided */
    bool active;  /* a workload is running */
    MachineState *ms;
    RAMBlock *rb;     /* the block at guest-physical 0 */
    SoftDirty *dirty; /* rb's bitmap */
    StressPlatform plat;
    StressCtx ctx;
} SoftVcpu;

static SoftVcpu soft;

/* ---- dirty log -------------------------------------------------------- */

static void soft_dirty_alloc(void)
{
    RAMBlock *rb;

    for (rb = ram_block_first(); rb; rb = rb->next) {
        SoftDirty *d;

        if (rb->accel_priv) {
            continue;
        }
        d = g_new0(SoftDirty, 1);
        d->pages = ram_block_pages(rb);
        d->bits = bitmap_new(d->pages);
        rb->accel_priv = d;
    }
}

static void soft_dirty_free(void)
{
    RAMBlock *rb;

    for (rb = ram_block_first(); rb; rb = rb->next) {
        SoftDirty *d = rb->accel_priv;

        if (d) {
            bitmap_free(d->bits);
            g_free(d);
            rb->accel_priv = NULL;
        }
    }
}

static bool soft_dirty_log_start(Error **errp)
{
    soft_dirty_alloc();
    return true;
}

static void soft_dirty_log_stop(void)
{
    /* bits keep being set; they cost one atomic OR per page write */
}

/* Move dirty bits into every block's bmap; count the newly set ones. */
static uint64_t soft_dirty_log_sync(void)
{
    uint64_t newly = 0;
    RAMBlock *rb;

    for (rb = ram_block_first(); rb; rb = rb->next) {
        SoftDirty *d = rb->accel_priv;
        long i, words;

        if (!d || !rb->bmap) {
            continue;
        }
        words = BITS_TO_LONGS(d->pages);
        for (i = 0; i < words; i++) {
            unsigned long w;

            if (!qatomic_read(&d->bits[i])) {
                continue;
            }
            w = qatomic_xchg(&d->bits[i], 0);
            newly += ctpopl(w & ~rb->bmap[i]);
            rb->bmap[i] |= w;
        }
    }
    return newly;
}

static const RAMDirtyLogOps soft_dirty_log_ops = {
    .start = soft_dirty_log_start,
    .stop = soft_dirty_log_stop,
    .sync = soft_dirty_log_sync,
};

/* ---- the workload's platform ------------------------------------------ */

static uint64_t soft_now_us(void *opaque)
{
    return g_get_monotonic_time();
}

static void soft_putc(void *opaque, char c)
{
    ioport_write(SOFT_UART_PORT, (uint8_t)c, 1);
}

static void soft_exit(void *opaque, unsigned code)
{
    ioport_write(SOFT_DEBUG_EXIT, code, 1);
}

/* Safe point: honour throttle and pause; false = quit. */
static bool soft_poll(void *opaque)
{
    if (cpu_throttle_pending() && !qatomic_read(&soft.stop_req)) {
        cpu_throttle_vcpu_sleep();
    }
    if (!qatomic_load_acquire(&soft.stop_req)) {
        return true;
    }
    g_mutex_lock(&soft.lock);
    soft.in_guest = false;
    g_cond_broadcast(&soft.cond);
    while (!soft.want_run && !soft.quit) {
        g_cond_wait(&soft.cond, &soft.lock);
    }
    if (soft.quit) {
        g_mutex_unlock(&soft.lock);
        return false;
    }
    soft.in_guest = true;
    g_mutex_unlock(&soft.lock);
    return true;
}

/* Rate limit: sleep, but wake at once for a pause. */
static void soft_wait_us(void *opaque, uint64_t us)
{
    gint64 deadline = g_get_monotonic_time() + (gint64)MIN(us, 100000);

    g_mutex_lock(&soft.lock);
    while (!qatomic_read(&soft.stop_req) &&
           g_cond_wait_until(&soft.cond, &soft.lock, deadline)) {
        /* woken: recheck */
    }
    g_mutex_unlock(&soft.lock);
}

static void soft_mark_dirty(void *opaque, uint64_t addr, uint64_t len)
{
    SoftDirty *d = soft.dirty;
    long first, last, p;

    if (!d || !len) {
        return;
    }
    first = addr >> TARGET_PAGE_BITS;
    last = (addr + len - 1) >> TARGET_PAGE_BITS;
    for (p = first; p <= last && p < d->pages; p++) {
        set_bit_atomic(p, d->bits);
    }
}

/* ---- the vCPU thread -------------------------------------------------- */

static RAMBlock *soft_find_ram(void)
{
    RAMBlock *rb;

    for (rb = ram_block_first(); rb; rb = rb->next) {
        if (rb->gpa == 0) {
            return rb;
        }
    }
    return ram_block_first();
}

/*
 * First resume: continue the workload found in RAM, or start the one the
 * command line asks for.  True when a workload is ready to run.
 */
static bool soft_workload_begin(void)
{
    MachineState *ms = soft.ms;
    StressConfig cfg;
    uint64_t hint = STRESS_NO_STATE, addr;
    uintptr_t base;

    soft.rb = soft_find_ram();
    if (!soft.rb) {
        warn_report("soft: no guest RAM; the vCPU stays idle");
        return false;
    }
    soft_dirty_alloc();
    soft.dirty = soft.rb->accel_priv;
    base = (uintptr_t)soft.rb->host;

    stress_config_default(&cfg);
    if (stress_parse_args(NULL, ms->kernel_cmdline, &cfg) && cfg.has_mem) {
        hint = cfg.mem_start;
    } else {
        hint = 2 * MiB;
    }
    addr = stress_find_state(base, soft.rb->used_length, hint);
    if (addr != STRESS_NO_STATE && stress_attach(&soft.ctx, &soft.plat, base,
                                                 soft.rb->used_length, addr)) {
        return !soft.ctx.st->finished;
    }

    if (!ms->kernel_filename) {
        return false; /* nothing to run */
    }
    stress_config_default(&cfg);
    if (!stress_parse_args(&soft.plat, ms->kernel_cmdline, &cfg)) {
        soft_exit(NULL, STRESS_EXIT_BADARG);
        return false;
    }
    cfg.tsc_khz = 0; /* no TSC here: time is the host's */
    cfg.has_tsc_khz = 0;
    if (!stress_setup(&soft.ctx, &soft.plat, base, soft.rb->used_length, 0,
                      &cfg)) {
        soft_exit(NULL, STRESS_EXIT_BADARG);
        return false;
    }
    return true;
}

static gpointer soft_vcpu_thread(gpointer opaque)
{
    cpus_note_vcpu_thread();
    g_mutex_lock(&soft.lock);
    for (;;) {
        int rc;

        /* run when resumed with a workload (or none decided yet) */
        while (!soft.quit && !(soft.want_run && soft.active) &&
               !(soft.want_run && !soft.started)) {
            g_cond_wait(&soft.cond, &soft.lock);
        }
        if (soft.quit) {
            break;
        }
        soft.in_guest = true;
        g_mutex_unlock(&soft.lock);

        if (!soft.started) {
            soft.started = true;
            soft.active = soft_workload_begin();
        }
        if (soft.active) {
            rc = stress_run(&soft.ctx);
            if (rc != STRESS_RUN_STOPPED || soft.ctx.st->finished) {
                soft.active = false; /* finished: exit was requested */
            }
        }

        g_mutex_lock(&soft.lock);
        soft.in_guest = false;
        g_cond_broadcast(&soft.cond);
    }
    soft.in_guest = false;
    g_cond_broadcast(&soft.cond);
    g_mutex_unlock(&soft.lock);
    return NULL;
}

/* ---- AccelOps --------------------------------------------------------- */

static bool soft_init(MachineState *ms, Error **errp)
{
    soft_dirty_alloc();
    ram_dirty_log_set_ops(&soft_dirty_log_ops);
    return true;
}

static bool soft_vcpus_create(MachineState *ms, Error **errp)
{
    if (soft.thread) {
        error_setg(errp, "soft: vCPU already created");
        return false;
    }
    if (ms->invtsc) {
        error_setg(errp, "soft: -cpu invtsc needs -accel kvm (the soft vCPU "
                         "has no TSC of its own)");
        return false;
    }
    soft.ms = ms;
    soft.plat = (StressPlatform){
        .now_us = soft_now_us,
        .putc = soft_putc,
        .exit = soft_exit,
        .poll = soft_poll,
        .wait_us = soft_wait_us,
        .dirty = soft_mark_dirty,
    };
    soft.thread = g_thread_try_new("soft-vcpu", soft_vcpu_thread, NULL, NULL);
    if (!soft.thread) {
        error_setg(errp, "soft: cannot create the vCPU thread");
        return false;
    }
    return true;
}

/* Ask the vCPU thread to run (@run) or to stop, and wake it. */
static void soft_vcpus_request(bool run)
{
    g_mutex_lock(&soft.lock);
    soft.want_run = run;
    qatomic_store_release(&soft.stop_req, run ? 0 : 1);
    g_cond_broadcast(&soft.cond);
    g_mutex_unlock(&soft.lock);
}

static void soft_vcpus_resume(void)
{
    soft_vcpus_request(true);
}

static void soft_vcpus_pause(void)
{
    soft_vcpus_request(false);
    /* end a throttle sleep that began before stop_req was seen */
    cpu_throttle_wakeup();
    g_mutex_lock(&soft.lock);
    while (soft.in_guest) {
        g_cond_wait(&soft.cond, &soft.lock);
    }
    g_mutex_unlock(&soft.lock);
}

static void soft_vcpus_kick(void)
{
    g_mutex_lock(&soft.lock);
    g_cond_broadcast(&soft.cond);
    g_mutex_unlock(&soft.lock);
}

static void soft_cleanup(void)
{
    if (soft.thread) {
        g_mutex_lock(&soft.lock);
        soft.quit = true;
        soft.want_run = false;
        qatomic_store_release(&soft.stop_req, 1);
        g_cond_broadcast(&soft.cond);
        g_mutex_unlock(&soft.lock);
        cpu_throttle_wakeup();
        g_thread_join(soft.thread);
        soft.thread = NULL;
    }
    soft.dirty = NULL;
    soft_dirty_free();
}

const AccelOps soft_accel_ops = {
    .name = "soft",
    .init = soft_init,
    .vcpus_create = soft_vcpus_create,
    .vcpus_resume = soft_vcpus_resume,
    .vcpus_pause = soft_vcpus_pause,
    .vcpus_kick = soft_vcpus_kick,
    .cleanup = soft_cleanup,
};
