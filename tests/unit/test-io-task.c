/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test-io-task.c: QIOTask completion inline and from a worker thread
 * (delivered on the given context's thread), errors, results, source
 * references, wait_thread.
 */
#include "qemu/osdep.h"
#include "io/task.h"
#include "io/channel-buffer.h"

typedef struct TaskData {
    GMainLoop *loop;
    GThread *main_thread;
    GThread *worker_thread;
    QIOChannel *source;
    Error *err;
    gpointer result;
    int completed;
    int freed;
} TaskData;

static void task_done(QIOTask *task, gpointer opaque)
{
    TaskData *d = opaque;

    g_assert_true(g_thread_self() == d->main_thread);
    g_assert_true(qio_task_get_source(task) == d->source);
    qio_task_propagate_error(task, &d->err);
    d->result = qio_task_get_result_pointer(task);
    d->completed++;
    if (d->loop) {
        g_main_loop_quit(d->loop);
    }
}

static void task_data_freed(gpointer opaque)
{
    TaskData *d = opaque;

    d->freed++;
}

static void test_task_complete_inline(void)
{
    QIOChannel *src = QIO_CHANNEL(qio_channel_buffer_new(0));
    TaskData d = {.main_thread = g_thread_self(), .source = src};
    QIOTask *task = qio_task_new(src, task_done, &d, task_data_freed);
    Error *err = NULL;

    /* The task holds a reference on its source. */
    g_assert_cmpint(src->refcount, ==, 2);
    error_setg(&err, "first");
    qio_task_set_error(task, err);
    err = NULL;
    error_setg(&err, "second");
    qio_task_set_error(task, err); /* dropped: first error wins */
    qio_task_set_result_pointer(task, g_strdup("res"), g_free);
    qio_task_complete(task);
    g_assert_cmpint(d.completed, ==, 1);
    g_assert_cmpint(d.freed, ==, 1);
    g_assert_cmpstr(error_get_pretty(d.err), ==, "first");
    g_assert_nonnull(d.result); /* freed with the task: don't touch */
    error_free(d.err);
    g_assert_cmpint(src->refcount, ==, 1);
    qio_channel_unref(src);
}

static void worker_ok(QIOTask *task, gpointer opaque)
{
    TaskData *d = opaque;

    d->worker_thread = g_thread_self();
    g_usleep(10 * 1000);
}

static void worker_fail(QIOTask *task, gpointer opaque)
{
    Error *err = NULL;

    worker_ok(task, opaque);
    error_setg(&err, "worker failed");
    qio_task_set_error(task, err);
}

static void worker_opaque_freed(gpointer opaque)
{
    int *n = opaque;

    (*n)++;
}

static void test_task_thread(bool fail)
{
    GMainContext *ctx = g_main_context_new();
    TaskData d = {.loop = g_main_loop_new(ctx, FALSE),
                  .main_thread = g_thread_self()};
    QIOTask *task = qio_task_new(NULL, task_done, &d, task_data_freed);
    qio_task_run_in_thread(task, fail ? worker_fail : worker_ok, &d, NULL, ctx);
    /* Nothing is delivered on the default context. */
    g_main_loop_run(d.loop);
    g_assert_cmpint(d.completed, ==, 1);
    g_assert_cmpint(d.freed, ==, 1);
    g_assert_true(d.worker_thread != d.main_thread);
    if (fail) {
        g_assert_cmpstr(error_get_pretty(d.err), ==, "worker failed");
        error_free(d.err);
    } else {
        g_assert_null(d.err);
    }
    g_main_loop_unref(d.loop);
    g_main_context_unref(ctx);
}

static void test_task_thread_ok(void)
{
    test_task_thread(false);
}

static void test_task_thread_error(void)
{
    test_task_thread(true);
}

static void worker_count(QIOTask *task, gpointer opaque)
{
    int *n = opaque;

    g_assert_cmpint(*n, ==, 0); /* destroy runs after the worker */
}

static void test_task_worker_destroy(void)
{
    GMainContext *ctx = g_main_context_new();
    TaskData d = {.loop = g_main_loop_new(ctx, FALSE),
                  .main_thread = g_thread_self()};
    QIOTask *task = qio_task_new(NULL, task_done, &d, NULL);
    int wfreed = 0;

    qio_task_run_in_thread(task, worker_count, &wfreed, worker_opaque_freed,
                           ctx);
    g_main_loop_run(d.loop);
    g_assert_cmpint(d.completed, ==, 1);
    g_assert_cmpint(wfreed, ==, 1);
    g_main_loop_unref(d.loop);
    g_main_context_unref(ctx);
}

static void test_task_wait_thread(void)
{
    TaskData d = {.main_thread = g_thread_self()};
    QIOTask *task = qio_task_new(NULL, task_done, &d, NULL);

    /* Completion on the default context, which nobody iterates here. */
    qio_task_run_in_thread(task, worker_fail, &d, NULL, NULL);
    qio_task_wait_thread(task);
    g_assert_cmpint(d.completed, ==, 1);
    g_assert_cmpstr(error_get_pretty(d.err), ==, "worker failed");
    error_free(d.err);
    /* Nothing left pending on the default context. */
    g_assert_false(g_main_context_iteration(NULL, FALSE));
    g_assert_cmpint(d.completed, ==, 1);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/io/task/complete-inline", test_task_complete_inline);
    g_test_add_func("/io/task/thread-ok", test_task_thread_ok);
    g_test_add_func("/io/task/thread-error", test_task_thread_error);
    g_test_add_func("/io/task/worker-destroy", test_task_worker_destroy);
    g_test_add_func("/io/task/wait-thread", test_task_wait_thread);
    return g_test_run();
}
