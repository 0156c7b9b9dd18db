/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * checkpoint-pace.h (private to migration/): does hashing pay on this
 * link?  The checkpoint-assisted source's measured answer.
 *
 * A page sent as HASH costs about three SHA-256 passes of processor time
 * over 4 KiB (the source's hash; the destination's read, verification and
 * copy of the page from its checkpoint) instead of 4 KiB on the link.  So
 * hashing pays only while the link carries whole pages at less than a
 * third of the speed one thread hashes them.  Both speeds are measured:
 * the hashing once, at the start, by hashing a few pages on the calling
 * thread (CPU time); the link continuously, as the bytes the sender puts
 * on it per wall-clock window (CKPT_PACE_WINDOW_US), so max-bandwidth, a
 * slow network and a loopback whose speed is that of the processors are
 * all seen as they are.  On a busy host (the sender waits for a processor
 * part of the window: /proc/thread-self/schedstat) the hash speed counts
 * only for the rest, since hashing would wait the same way.  Until the first
 * window ends, a max-bandwidth low enough decides (the link cannot be faster
 * than it); without one, pages go whole.  The switch has some hysteresis so a
 * link near the threshold does not flip every window, and hashing starts only
 * after two slow windows in a row.  While hashing, the bytes per window
 * understate the link (HASH records are small), which only errs towards
 * hashing; on a link faster than the hashing most pages still go whole
 * there and the window shows the link's speed.
 *
 * Threads: one CkptPace belongs to the migration thread.
 */
#ifndef MIGRATION_CHECKPOINT_PACE_H
#define MIGRATION_CHECKPOINT_PACE_H

#include "qemu/osdep.h"

/* The link's speed is taken over windows at least this long (us). */
#define CKPT_PACE_WINDOW_US 100000

typedef struct CkptPace {
    uint64_t hash_bps;         /* one thread's hashing of pages, bytes/s */
    bool hashing;              /* send pages as HASH where possible */
    int64_t win_start_us;      /* 0: no page sent yet */
    uint64_t win_bytes;        /* put on the link since win_start_us */
    uint64_t link_bps;         /* the last window's speed; 0: none yet */
    unsigned int calls;        /* checkpoint_pace_account() since the clock */
    unsigned int slow_windows; /* in a row, slow enough to hash */
    unsigned int cpu_share;    /* per mille of the last window the sender
                                  did not wait for a processor */
    uint64_t wait_ns;          /* the sender's wait, at the window's start */
    uint32_t switches;         /* decisions changed */
} CkptPace;

/* One thread's SHA-256 speed over non-zero pages here (bytes/s), measured. */
uint64_t checkpoint_pace_hash_speed(void);

/*
 * Start deciding for a link limited to max_bw bytes/s (0: unlimited)
 * where one thread hashes hash_bps bytes/s.
 */
void checkpoint_pace_init(CkptPace *p, uint64_t hash_bps, uint64_t max_bw);

/*
 * bytes went on the link at now_us: true when a window ended and the
 * decision (p->hashing) changed.
 */
bool checkpoint_pace_update(CkptPace *p, int64_t now_us, uint64_t bytes);

/* The same, reading the clock only every few calls (the sender's). */
bool checkpoint_pace_account(CkptPace *p, uint64_t bytes);

#endif
