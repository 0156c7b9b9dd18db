/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * task.h: QIOTask, an asynchronous operation with one completion callback.
 *
 * A task is created with the object it works on (its "source", a channel
 * it holds a reference on), a completion callback and the callback's
 * opaque.  Work either completes inline (qio_task_complete) or runs in a
 * worker thread (qio_task_run_in_thread), in which case the completion
 * callback is delivered on a GMainContext's loop, never in the worker.
 *
 * The completion callback reads the outcome with qio_task_propagate_error
 * (or qio_task_get_result_pointer).  After the callback returns the task
 * is freed: the opaque's destroy notify runs and the source reference is
 * dropped.  A task must be completed exactly once.
 */
#ifndef QIO_TASK_H
#define QIO_TASK_H

#include "io/channel.h"

typedef struct QIOTask QIOTask;

/* Completion callback: runs once, on the context given (or inline). */
typedef void (*QIOTaskFunc)(QIOTask *task, gpointer opaque);
/* Worker: runs in a new thread; report failure with qio_task_set_error. */
typedef void (*QIOTaskWorker)(QIOTask *task, gpointer opaque);

/*
 * A new task on @source (may be NULL; a reference is taken).  @func gets
 * @opaque when the task completes; @destroy (may be NULL) frees @opaque
 * after that.  Never fails.
 */
QIOTask *qio_task_new(QIOChannel *source, QIOTaskFunc func, gpointer opaque,
                      GDestroyNotify destroy);

/*
 * Run @worker(task, @opaque) in a new thread; when it returns, complete
 * the task on @context's main loop (NULL = the default context).
 * @destroy (may be NULL) frees @opaque after the worker ran.  Returns at
 * once; the caller must not touch the task afterwards.
 */
void qio_task_run_in_thread(QIOTask *task, QIOTaskWorker worker,
                            gpointer opaque, GDestroyNotify destroy,
                            GMainContext *context);

/*
 * Block until the worker started by qio_task_run_in_thread has finished,
 * then complete the task in the calling thread (the pending completion on
 * the context is cancelled).  For callers that cannot run a main loop.
 */
void qio_task_wait_thread(QIOTask *task);

/* Call the completion callback now and free the task. */
void qio_task_complete(QIOTask *task);

/*
 * Record a failure; the task takes ownership of @err.  The first error is
 * kept, later ones are freed.  Callable from the worker thread.
 */
void qio_task_set_error(QIOTask *task, Error *err);

/*
 * In the completion callback: if the task failed, move its error to
 * @errp (the task no longer owns it) and return true; else return false.
 */
bool qio_task_propagate_error(QIOTask *task, Error **errp);

/* A result for the callback; @destroy (may be NULL) frees it with the task. */
void qio_task_set_result_pointer(QIOTask *task, gpointer result,
                                 GDestroyNotify destroy);
gpointer qio_task_get_result_pointer(QIOTask *task);

/* The source channel (borrowed; valid while the task lives), or NULL. */
QIOChannel *qio_task_get_source(QIOTask *task);

#endif /* QIO_TASK_H */
