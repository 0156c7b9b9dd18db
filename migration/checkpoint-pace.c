/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * checkpoint-pace.c: does hashing pay on this link (see
 * checkpoint-pace.h).
 */
#include "qemu/osdep.h"
#include <time.h>
#include "checkpoint-exchange.h"
#include "checkpoint-pace.h"

/* Pages hashed per calibration round, and rounds (the fastest counts). */
#define CKPT_PACE_CAL_PAGES 16
#define CKPT_PACE_CAL_ROUNDS 3
/*
 * A page sent as HASH costs about this many times one SHA-256 pass of
 * processor time: the source's hash (3.6 us a page here) and the
 * destination's read, hash and copy of the checkpoint's page (5.9 us),
 * against about 1 us a side to send and receive it whole.
 */
#define CKPT_PACE_HASHES 3
/*
 * Consecutive windows slow enough before hashing starts: the first one
 * often holds the destination's start (fresh RAM faulted in), slower
 * than the link.
 */
#define CKPT_PACE_SLOW_WINDOWS 2
/* The sender reads the clock once per this many pages. */
#define CKPT_PACE_CLOCK_EVERY 64

static int64_t ckpt_pace_cpu_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return ts.tv_sec * 1000000000ll + ts.tv_nsec;
}

uint64_t checkpoint_pace_hash_speed(void)
{
    size_t len = CKPT_PACE_CAL_PAGES * TARGET_PAGE_SIZE;
    g_autofree uint8_t *buf = g_malloc(len);
    uint8_t digest[CKPT_DIGEST_BYTES];
    int64_t best = INT64_MAX;

    for (size_t i = 0; i < len; i++) {
        buf[i] = i * 131 + (i >> 12); /* any non-zero content */
    }
    for (int r = 0; r < CKPT_PACE_CAL_ROUNDS; r++) {
        int64_t t0 = ckpt_pace_cpu_ns(), dt;

        for (int i = 0; i < CKPT_PACE_CAL_PAGES; i++) {
            checkpoint_hash_page(buf + i * TARGET_PAGE_SIZE, digest);
        }
        dt = ckpt_pace_cpu_ns() - t0;
        best = MIN(best, MAX(dt, 1));
    }
    return len * 1000000000ull / best;
}

/* Does hashing pay on a link of link_bps?  (was: the current answer) */
static bool ckpt_pace_pays(const CkptPace *p, uint64_t link_bps, bool was)
{
    uint64_t need = link_bps * CKPT_PACE_HASHES;
    uint64_t mark = p->hash_bps / 1000 * p->cpu_share;

    /* to start hashing the link must be clearly (1/8) below the mark */
    return was ? need <= mark : need < mark - mark / 8;
}

void checkpoint_pace_init(CkptPace *p, uint64_t hash_bps, uint64_t max_bw)
{
    memset(p, 0, sizeof(*p));
    p->hash_bps = hash_bps;
    p->cpu_share = 1000;
    p->hashing = max_bw && ckpt_pace_pays(p, max_bw, false);
}

bool checkpoint_pace_update(CkptPace *p, int64_t now_us, uint64_t bytes)
{
    int64_t span;
    bool was = p->hashing;

    if (!p->win_start_us) {
        p->win_start_us = now_us; /* the first page starts the clock */
        p->win_bytes = 0;
        return false;
    }
    p->win_bytes += bytes;
    span = now_us - p->win_start_us;
    if (span < CKPT_PACE_WINDOW_US) {
        return false;
    }
    p->link_bps = p->win_bytes * G_USEC_PER_SEC / span;
    p->win_start_us = now_us;
    p->win_bytes = 0;
    if (!ckpt_pace_pays(p, p->link_bps, was)) {
        p->slow_windows = 0;
        p->hashing = false;
    } else if (++p->slow_windows >= CKPT_PACE_SLOW_WINDOWS) {
        p->hashing = true;
    }
    if (p->hashing != was) {
        p->switches++;
        return true;
    }
    return false;
}

/*
 * The calling thread's time on a processor and waiting for one (ns), from
 * /proc/thread-self/schedstat; false where the kernel does not say.
 */
static bool ckpt_pace_schedstat(uint64_t *run_ns, uint64_t *wait_ns)
{
    g_autofree char *text = NULL;

    return g_file_get_contents("/proc/thread-self/schedstat", &text, NULL,
                               NULL) &&
           sscanf(text, "%" SCNu64 " %" SCNu64, run_ns, wait_ns) == 2;
}

/*
 * A window of span_us ends (0: the first starts): the share of it the
 * sender did not spend waiting for a processor.  Other work on the host
 * (or the destination on the same one) makes hashing take that much
 * longer than on an idle processor.  A sender that sleeps on a slow link
 * waits little, whatever it runs.
 */
static void ckpt_pace_measure_share(CkptPace *p, int64_t span_us)
{
    uint64_t run, wait;

    if (!ckpt_pace_schedstat(&run, &wait)) {
        p->cpu_share = 1000;
        return;
    }
    if (span_us > 0) {
        /* ns waited per us of the window is per mille of it */
        p->cpu_share = 1000 - MIN((wait - p->wait_ns) / span_us, 1000);
    }
    p->wait_ns = wait;
}

bool checkpoint_pace_account(CkptPace *p, uint64_t bytes)
{
    int64_t now;

    p->win_bytes += bytes;
    if (++p->calls < CKPT_PACE_CLOCK_EVERY && p->win_start_us) {
        return false;
    }
    p->calls = 0;
    now = g_get_monotonic_time();
    if (!p->win_start_us || now - p->win_start_us >= CKPT_PACE_WINDOW_US) {
        ckpt_pace_measure_share(p, p->win_start_us ? now - p->win_start_us : 0);
    }
    return checkpoint_pace_update(p, now, 0);
}
