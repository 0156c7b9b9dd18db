/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * main-loop.h: the main loop (GLib's default GMainContext on the main
 * thread) and how other threads hand work to it.
 *
 * The main thread holds the big lock (BQL, sysemu/runstate.h) while it
 * dispatches GSources and releases it only while it waits in poll().
 * So every GSource callback attached to the default context runs with the
 * BQL held, and a thread that takes the BQL excludes the main loop.
 */
#ifndef SYSEMU_MAIN_LOOP_H
#define SYSEMU_MAIN_LOOP_H

#include "qemu/osdep.h"

/*
 * Make the calling thread the main loop thread (owner of the default
 * GMainContext).  Call once at start-up, before main_loop_run(), with the
 * BQL held.
 */
void main_loop_init(void);

/* Is the caller the main loop thread? (false before main_loop_init) */
bool qemu_in_main_thread(void);

/*
 * One iteration: prepare, poll (BQL released; at most timeout_ms, -1 =
 * as GLib's sources ask, 0 = don't block), dispatch (BQL held).  Main
 * thread only, BQL held on entry and on return.  Returns true if
 * anything was dispatched.
 */
bool main_loop_wait(int timeout_ms);

/*
 * Run until qemu_system_shutdown_request(); returns its exit code.  Main
 * thread, BQL held on entry and on return.
 */
int main_loop_run(void);

/*
 * True once a shutdown has been requested (qemu_system_shutdown_request);
 * *exit_code gets its code.  Any thread.
 */
bool main_loop_shutdown_requested(int *exit_code);
/*
 * Emit the SHUTDOWN event (once) and set the run state to shutdown.
 * main_loop_run() calls it; main thread, BQL held.
 */
void runstate_shutdown_finish(void);

/*
 * Run fn(opaque) on the main loop thread with the BQL held, later (never
 * synchronously, even when called from the main thread).  Any thread;
 * calls are run in the order they were scheduled.
 */
void main_loop_schedule(void (*fn)(void *opaque), void *opaque);

/* Wake the main loop from poll().  Any thread. */
void main_loop_wakeup(void);

#endif /* SYSEMU_MAIN_LOOP_H */
