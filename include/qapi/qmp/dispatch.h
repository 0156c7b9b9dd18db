/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * dispatch.h: the QMP command table and events.
 *
 * Commands are plain C functions taking the "arguments" object (json-c,
 * borrowed, never NULL: an empty object when absent) and returning the
 * "return" value through *ret (a new reference; NULL means {}).  On error
 * they set errp and return false; the server sends
 * {"error": {"class": ..., "desc": ...}}.
 *
 * Commands run on the main loop thread with the BQL held.
 *
 * Argument helpers give QEMU's error texts:
 *   "Parameter 'NAME' is missing"
 *   "Invalid parameter type for 'NAME', expected: string|integer|boolean"
 *   "Parameter 'NAME' is unexpected"   (qmp_args_check_known)
 */
#ifndef QAPI_QMP_DISPATCH_H
#define QAPI_QMP_DISPATCH_H

#include "qemu/osdep.h"
#include "qapi/error.h"
#include <json-c/json.h>

typedef bool QmpCommandFunc(json_object *args, json_object **ret, Error **errp);

typedef enum QmpCommandOptions {
    QCO_NO_OPTIONS = 0,
    QCO_ALLOW_PRECONFIG = 1,
} QmpCommandOptions;

/* Register name (static string) -> fn.  Main thread, at start-up. */
void qmp_register_command(const char *name, QmpCommandFunc *fn,
                          QmpCommandOptions options);
/* Is a command registered? */
bool qmp_command_exists(const char *name);
/* Sorted list of names (for query-commands); caller frees the array only. */
const char **qmp_command_list(size_t *n);

/*
 * Run one command object {"execute":..., "arguments":..., "id":...} and
 * return the reply object (new reference), with "id" echoed.  Used by the
 * QMP server and by tests.  Handles qmp_capabilities negotiation state via
 * the caller (see monitor/qmp.c).
 */
json_object *qmp_dispatch(json_object *request);
/*
 * As qmp_dispatch; with cap_negotiation true only "qmp_capabilities" may
 * run ("Expecting capabilities negotiation with 'qmp_capabilities'",
 * class CommandNotFound), with false "qmp_capabilities" is refused
 * ("Capabilities negotiation is already complete, command ignored").
 * request may be NULL with parse_err set (JSON syntax error): the reply
 * is that error.  Reference to request is borrowed.
 */
json_object *qmp_dispatch_full(json_object *request, bool cap_negotiation,
                               const Error *parse_err);
/*
 * obj as QEMU formats QMP output: one line, ", " and ": " separators
 * ({"return": {}, "id": 1}).  Caller frees.
 */
char *qmp_json_to_string(json_object *obj);
/* {"error": {"class": ..., "desc": ...}} (+ "id" if id); new reference. */
json_object *qmp_error_response(const Error *err, json_object *id);

/*
 * Emit event NAME with data (reference stolen; NULL = no "data" member)
 * to every QMP monitor that finished capabilities negotiation, with a
 * timestamp.  Any thread: the event is queued and written by the main
 * loop, in order.
 */
void qapi_event_send(const char *name, json_object *data);
/*
 * Where events go: emit(event) is called on the main thread with the BQL
 * held for each event object (borrowed) in order.  One sink (the QMP
 * server); NULL drops events.  Set at start-up.
 */
void qapi_event_set_sink(void (*emit)(json_object *event));
/* Deliver queued events now.  Main thread, BQL held. */
void qapi_event_flush(void);

/*
 * How queued events reach the sink's thread, registered by whoever runs
 * that thread (the main loop) so that qapi need not know it:
 * in_sink_thread() says whether the caller may deliver right away;
 * schedule(fn, opaque) runs fn(opaque) later on the sink's thread.  Both
 * are called from any thread.
 */
typedef struct QAPIEventDelivery {
    bool (*in_sink_thread)(void);
    void (*schedule)(void (*fn)(void *opaque), void *opaque);
} QAPIEventDelivery;

/*
 * Register delivery (static storage, kept).  Until then, or with NULL,
 * events stay queued until qapi_event_flush() is called.  Set at start-up.
 */
void qapi_event_set_delivery(const QAPIEventDelivery *delivery);

/*
 * JSON framing for QMP input: bytes in, whole JSON values out.  Built on
 * json-c's streaming tokener, so values may be split over reads and one
 * read may hold several.  On a syntax error the callback gets obj NULL
 * and err ("JSON parse error, ..."), then input is skipped up to the next
 * newline or '{' and parsing resumes: the connection stays usable.
 */
typedef void JsonStreamFunc(void *opaque, json_object *obj, Error *err);
typedef struct JsonStreamParser JsonStreamParser;

/* New parser calling cb(opaque, obj (owned by cb), err (owned by cb)). */
JsonStreamParser *json_stream_parser_new(JsonStreamFunc *cb, void *opaque);
void json_stream_parser_feed(JsonStreamParser *p, const char *buf, size_t len);
/* Does the parser hold the start of an unfinished value? */
bool json_stream_parser_busy(JsonStreamParser *p);
void json_stream_parser_free(JsonStreamParser *p);

/* Argument helpers.  Return false with errp set on a missing/bad arg. */
bool qmp_arg_str(json_object *args, const char *name, bool required,
                 const char **out, Error **errp);
bool qmp_arg_int(json_object *args, const char *name, bool required,
                 int64_t *out, Error **errp);
bool qmp_arg_bool(json_object *args, const char *name, bool required, bool *out,
                  Error **errp);
/* Every key of args must be in known (NULL-terminated). */
bool qmp_args_check_known(json_object *args, const char *const *known,
                          Error **errp);

#endif /* QAPI_QMP_DISPATCH_H */
