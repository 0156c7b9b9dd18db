/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * main-loop.c: GLib's default main context driven by hand so that the
 * BQL is held while sources dispatch and dropped while we poll.
 *
 * Why by hand rather than g_main_loop_run():
 *  1. other threads (migration, vCPUs) take the BQL for short sections;
 *     the main thread must not sit on it while idle in poll();
 *  2. every callback dispatched on the main loop (monitor commands,
 *     channel watches, scheduled work) must see the BQL held.
 * g_main_context_prepare/query/check/dispatch give us the gap between
 * "what to wait for" and "dispatch" in which to unlock.
 */
#include "qemu/osdep.h"
#include "sysemu/main-loop.h"
#include "sysemu/runstate.h"

static GThread *main_thread;

/* Scheduled calls: a FIFO protected by sched_lock, drained by a source. */
typedef struct MainLoopCall {
    void (*fn)(void *opaque);
    void *opaque;
} MainLoopCall;

static GMutex sched_lock;
static GQueue sched_queue = G_QUEUE_INIT;
static bool sched_pending; /* an idle source is attached; sched_lock */

void main_loop_init(void)
{
    GMainContext *ctx = g_main_context_default();

    main_thread = g_thread_self();
    /* We own the default context for good: nobody else iterates it. */
    if (!g_main_context_acquire(ctx)) {
        g_error("main loop: default GMainContext owned by another thread");
    }
}

bool qemu_in_main_thread(void)
{
    return main_thread && g_thread_self() == main_thread;
}

void main_loop_wakeup(void)
{
    g_main_context_wakeup(g_main_context_default());
}

static gboolean main_loop_run_scheduled(gpointer unused)
{
    for (;;) {
        MainLoopCall *call;

        g_mutex_lock(&sched_lock);
        call = g_queue_pop_head(&sched_queue);
        if (!call) {
            sched_pending = false;
            g_mutex_unlock(&sched_lock);
            break;
        }
        g_mutex_unlock(&sched_lock);
        call->fn(call->opaque);
        g_free(call);
    }
    return G_SOURCE_REMOVE;
}

void main_loop_schedule(void (*fn)(void *opaque), void *opaque)
{
    MainLoopCall *call = g_new0(MainLoopCall, 1);
    bool attach;

    call->fn = fn;
    call->opaque = opaque;
    g_mutex_lock(&sched_lock);
    g_queue_push_tail(&sched_queue, call);
    attach = !sched_pending;
    sched_pending = true;
    g_mutex_unlock(&sched_lock);

    if (attach) {
        GSource *src = g_idle_source_new();

        g_source_set_priority(src, G_PRIORITY_DEFAULT);
        g_source_set_callback(src, main_loop_run_scheduled, NULL, NULL);
        g_source_attach(src, g_main_context_default()); /* wakes it */
        g_source_unref(src);
    }
}

bool main_loop_wait(int timeout_ms)
{
    GMainContext *ctx = g_main_context_default();
    static GPollFD *fds;
    static gint nfds_alloc;
    gint max_priority, nfds, timeout;
    bool dispatched;

    g_main_context_prepare(ctx, &max_priority);
    for (;;) {
        nfds =
            g_main_context_query(ctx, max_priority, &timeout, fds, nfds_alloc);
        if (nfds <= nfds_alloc) {
            break;
        }
        nfds_alloc = nfds;
        fds = g_renew(GPollFD, fds, nfds_alloc);
    }
    if (timeout_ms >= 0 && (timeout < 0 || timeout > timeout_ms)) {
        timeout = timeout_ms;
    }

    if (timeout != 0) {
        bql_unlock();
        g_poll(fds, nfds, timeout);
        bql_lock();
    } else {
        g_poll(fds, nfds, 0);
    }

    dispatched = g_main_context_check(ctx, max_priority, fds, nfds);
    if (dispatched) {
        g_main_context_dispatch(ctx);
    }
    return dispatched;
}

int main_loop_run(void)
{
    int code = 0;

    g_assert(qemu_in_main_thread() && bql_locked());
    while (!main_loop_shutdown_requested(&code)) {
        main_loop_wait(-1);
    }
    runstate_shutdown_finish();
    /* Let the SHUTDOWN event and last replies reach the monitors. */
    for (int i = 0; i < 8 && main_loop_wait(0); i++) {
    }
    return code;
}
