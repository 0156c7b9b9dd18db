/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * qmp-event.c: QMP events.  Any thread queues; the sink's thread (the
 * main loop, told here through a registered QAPIEventDelivery) delivers
 * them to the sink (the QMP server) in order.
 */
#include "qemu/osdep.h"
#include "qapi/qmp/dispatch.h"

/*
 * Pending events (json_object *, owned).  event_lock protects the queue
 * and flush_scheduled; delivery itself happens on the main thread only.
 */
static GMutex event_lock;
static GQueue event_queue = G_QUEUE_INIT;
static bool flush_scheduled;
static void (*event_sink)(json_object *event);
static const QAPIEventDelivery *event_delivery;

void qapi_event_set_sink(void (*emit)(json_object *event))
{
    event_sink = emit;
}

void qapi_event_set_delivery(const QAPIEventDelivery *delivery)
{
    event_delivery = delivery;
}

void qapi_event_flush(void)
{
    for (;;) {
        json_object *ev;

        g_mutex_lock(&event_lock);
        ev = g_queue_pop_head(&event_queue);
        if (!ev) {
            flush_scheduled = false;
            g_mutex_unlock(&event_lock);
            return;
        }
        g_mutex_unlock(&event_lock);
        if (event_sink) {
            event_sink(ev);
        }
        json_object_put(ev);
    }
}

static void qapi_event_flush_cb(void *opaque)
{
    qapi_event_flush();
}

void qapi_event_send(const char *name, json_object *data)
{
    json_object *ev = json_object_new_object();
    json_object *ts = json_object_new_object();
    gint64 now = g_get_real_time();
    bool schedule;

    json_object_object_add(ts, "seconds",
                           json_object_new_int64(now / G_USEC_PER_SEC));
    json_object_object_add(ts, "microseconds",
                           json_object_new_int64(now % G_USEC_PER_SEC));
    json_object_object_add(ev, "timestamp", ts);
    json_object_object_add(ev, "event", json_object_new_string(name));
    if (data) {
        json_object_object_add(ev, "data", data);
    }

    g_mutex_lock(&event_lock);
    g_queue_push_tail(&event_queue, ev);
    schedule = !flush_scheduled;
    flush_scheduled = true;
    g_mutex_unlock(&event_lock);

    if (!event_delivery) {
        return; /* queued until someone calls qapi_event_flush() */
    }
    if (event_delivery->in_sink_thread()) {
        /* Keep events ahead of the reply of the command that caused them. */
        qapi_event_flush();
    } else if (schedule) {
        event_delivery->schedule(qapi_event_flush_cb, NULL);
    }
}
