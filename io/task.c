/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * task.c: QIOTask, one asynchronous operation and its completion.
 *
 * Thread handoff (run_in_thread):
 *   1. the caller starts a detached GThread running the worker;
 *   2. the worker sets the error/result on the task, then, under
 *      task->lock, marks the thread done and attaches an idle source to
 *      the completion context;
 *   3. the idle source calls qio_task_complete on that context's thread.
 * The GSource attach/dispatch hand-off orders the worker's writes before
 * the completion's reads (GMainContext takes its own lock on both sides).
 */
#include "qemu/osdep.h"
#include "io/task.h"

typedef struct QIOTaskThreadData {
    QIOTask *task;
    QIOTaskWorker worker;
    gpointer opaque;
    GDestroyNotify destroy;
    GMainContext *context; /* referenced */
} QIOTaskThreadData;

struct QIOTask {
    QIOChannel *source; /* referenced, may be NULL */
    QIOTaskFunc func;
    gpointer opaque;
    GDestroyNotify destroy;
    Error *err;
    gpointer result;
    GDestroyNotify destroy_result;

    /* Protects thread_done and completion (worker vs. wait_thread). */
    GMutex lock;
    GCond cond;
    bool thread_done;
    GSource *completion; /* idle source posted by the worker */
};

QIOTask *qio_task_new(QIOChannel *source, QIOTaskFunc func, gpointer opaque,
                      GDestroyNotify destroy)
{
    QIOTask *task = g_new0(QIOTask, 1);

    task->source = source ? qio_channel_ref(source) : NULL;
    task->func = func;
    task->opaque = opaque;
    task->destroy = destroy;
    g_mutex_init(&task->lock);
    g_cond_init(&task->cond);
    return task;
}

static void qio_task_free(QIOTask *task)
{
    if (task->destroy) {
        task->destroy(task->opaque);
    }
    if (task->destroy_result) {
        task->destroy_result(task->result);
    }
    error_free(task->err);
    qio_channel_unref(task->source);
    g_mutex_clear(&task->lock);
    g_cond_clear(&task->cond);
    g_free(task);
}

void qio_task_complete(QIOTask *task)
{
    if (task->func) {
        task->func(task, task->opaque);
    }
    qio_task_free(task);
}

static gboolean qio_task_thread_result(gpointer opaque)
{
    QIOTask *task = opaque;

    g_mutex_lock(&task->lock);
    g_source_unref(task->completion);
    task->completion = NULL;
    g_mutex_unlock(&task->lock);
    qio_task_complete(task);
    return G_SOURCE_REMOVE;
}

static gpointer qio_task_thread_worker(gpointer opaque)
{
    QIOTaskThreadData *data = opaque;
    QIOTask *task = data->task;

    data->worker(task, data->opaque);
    if (data->destroy) {
        data->destroy(data->opaque);
    }

    g_mutex_lock(&task->lock);
    task->thread_done = true;
    task->completion = g_idle_source_new();
    g_source_set_callback(task->completion, qio_task_thread_result, task, NULL);
    g_source_attach(task->completion, data->context);
    g_cond_broadcast(&task->cond);
    g_mutex_unlock(&task->lock);

    g_main_context_unref(data->context);
    g_free(data);
    return NULL;
}

void qio_task_run_in_thread(QIOTask *task, QIOTaskWorker worker,
                            gpointer opaque, GDestroyNotify destroy,
                            GMainContext *context)
{
    QIOTaskThreadData *data = g_new0(QIOTaskThreadData, 1);
    GThread *thread;

    data->task = task;
    data->worker = worker;
    data->opaque = opaque;
    data->destroy = destroy;
    data->context =
        g_main_context_ref(context ? context : g_main_context_default());
    thread = g_thread_new("io-task-worker", qio_task_thread_worker, data);
    g_thread_unref(thread);
}

void qio_task_wait_thread(QIOTask *task)
{
    g_mutex_lock(&task->lock);
    while (!task->thread_done) {
        g_cond_wait(&task->cond, &task->lock);
    }
    if (task->completion) {
        g_source_destroy(task->completion);
        g_source_unref(task->completion);
        task->completion = NULL;
    }
    g_mutex_unlock(&task->lock);
    qio_task_complete(task);
}

void qio_task_set_error(QIOTask *task, Error *err)
{
    if (!err) {
        return;
    }
    if (task->err) {
        error_free(err);
        return;
    }
    task->err = err;
}

bool qio_task_propagate_error(QIOTask *task, Error **errp)
{
    if (task->err) {
        error_propagate(errp, task->err);
        task->err = NULL;
        return true;
    }
    return false;
}

void qio_task_set_result_pointer(QIOTask *task, gpointer result,
                                 GDestroyNotify destroy)
{
    if (task->destroy_result) {
        task->destroy_result(task->result);
    }
    task->result = result;
    task->destroy_result = destroy;
}

gpointer qio_task_get_result_pointer(QIOTask *task)
{
    return task->result;
}

QIOChannel *qio_task_get_source(QIOTask *task)
{
    return task->source;
}
