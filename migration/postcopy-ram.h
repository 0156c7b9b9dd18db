/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * postcopy-ram.h (private to migration/): the destination side of
 * postcopy (capability postcopy-ram), QEMU 7.2's protocol.
 *
 * The COMMAND handlers (ADVISE, RAM_DISCARD, LISTEN, RUN) are installed
 * in savevm's table by postcopy_ram_init().  States, in order:
 *
 *   none -> advise (ADVISE: host checked, page sizes match)
 *        -> discard (RAM_DISCARD: MADV_DONTNEED of the ranges)
 *        -> listening (LISTEN: guest RAM registered with userfaultfd in
 *           missing mode, the fault thread started, pages now placed with
 *           UFFDIO_COPY / UFFDIO_ZEROPAGE, ram-place-postcopy.c)
 *        -> running (RUN: the guest starts; the load thread goes on
 *           reading the rest of the stream, migration-incoming.c)
 *
 * QEMU starts a separate listen thread at LISTEN, so that device state
 * loaded from the package may touch guest RAM (and fault) while the
 * stream is still being read.  Tern's load thread itself reads the rest
 * after RUN: savevm's section table is not shared between threads, and
 * no Tern device touches guest RAM when it loads (serial, timer,
 * globalstate, the KVM vCPU's registers), so the load thread is never
 * one that faults.  A device that does would need the listen thread.
 *        -> end (postcopy_ram_incoming_end(): unregistered, thread gone)
 *
 * Threads: the handlers run on the load thread; the fault thread reads
 * faults (from vCPUs of any accelerator and Tern's own accesses to guest
 * RAM) and sends REQ_PAGES_ID / REQ_PAGES on the return path.
 *
 * Recovery after a broken connection: postcopy-recover.h.
 * postcopy-preempt's second channel: postcopy-preempt.h.
 * vCPU blocktime and fault latency: postcopy-blocktime.h.
 */
#ifndef MIGRATION_POSTCOPY_RAM_H
#define MIGRATION_POSTCOPY_RAM_H

#include "qemu/osdep.h"
#include "qapi/error.h"
#include "postcopy-blocktime.h"
#include "ram-place.h"

typedef enum PostcopyIncomingState {
    POSTCOPY_INCOMING_NONE,
    POSTCOPY_INCOMING_ADVISE,
    POSTCOPY_INCOMING_DISCARD,
    POSTCOPY_INCOMING_LISTENING,
    POSTCOPY_INCOMING_RUNNING,
    POSTCOPY_INCOMING_END,
} PostcopyIncomingState;

/* Install the COMMAND handlers.  Start-up, main thread. */
void postcopy_ram_init(void);

/*
 * Can this host do postcopy on this machine's RAM (userfaultfd with
 * missing mode, every block anonymous and private)?  false with errp
 * set naming the reason.
 */
bool postcopy_ram_supported_by_host(Error **errp);

/* The destination's state (any thread). */
PostcopyIncomingState postcopy_ram_incoming_state(void);

/*
 * End of the load in postcopy, however it ended (ok: the stream loaded):
 * stop the preempt reader (after its EOS when ok) and the fault thread,
 * unregister guest RAM, back to none.  Load thread.
 */
void postcopy_ram_incoming_end(bool ok);

/*
 * SCHED_FIFO priorities of a fault's path, rising along it: a fault
 * wakes the fault thread, whose request wakes the source's return-path
 * thread, whose page wakes the destination's preempt reader.  Each
 * wakes a thread above itself, which preempts whatever runs on the CPU
 * it wakes on, the waker's remaining work (back to its poll) waiting a
 * moment when that is the waker's CPU.  Linux wakes a real-time thread
 * on the CPU it last ran on: postcopy-cpu.h keeps the path on one CPU.
 */
#define POSTCOPY_RT_FAULT 1
#define POSTCOPY_RT_RETURN_PATH 2
#define POSTCOPY_RT_PREEMPT 3

/*
 * The calling thread is on a postcopy fault's path (fault thread,
 * preempt reader, the source's return-path thread): raise its
 * scheduling priority if permitted (SCHED_FIFO at rt_prio, else nice
 * -10: qemu_thread_set_realtime/_nice; the postcopy_thread_priority
 * trace says which), so that on a loaded host it runs before bulk work.
 * Best effort.
 */
void postcopy_thread_prioritise(const char *thread, int rt_prio);

/*
 * The source's return-path thread, once per thread: prioritised as
 * above when postcopy starts (so the first page request does not meet
 * it at normal priority behind the bulk).
 */
void postcopy_rp_thread_prioritise(void);

/* The userfaultfd guest RAM is registered with, or -1. */
int postcopy_ram_uffd(void);

/*
 * Wake every thread waiting on a missing page so that it faults again
 * (and the fault thread asks for the page again): after a recovery, the
 * source has lost the earlier requests.  Any thread; nothing when not
 * listening.
 */
void postcopy_ram_wake_faults(void);

/*
 * A placer installing pages with UFFDIO_COPY / UFFDIO_ZEROPAGE through
 * uffd (ram-place-postcopy.c) for the stream via (fault latency figures
 * by stream, postcopy-blocktime.h).  Caller owns it.
 */
RAMPlacer *ram_placer_postcopy_new(int uffd, PostcopyVia via);

#endif /* MIGRATION_POSTCOPY_RAM_H */
