/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * migration.h (private to migration/): the outgoing and incoming
 * migration state, shared by migration.c (statuses, start, cancel),
 * migration-thread.c (the outgoing phases), migration-incoming.c,
 * channel.c (each side's channel list), ram.c, the transports, the
 * return path and the monitor commands.
 *
 * Threads and locks:
 *  - The main thread (BQL held) runs the monitor commands and the
 *    transports' accept callbacks.
 *  - The migration thread (one per outgoing migration) writes the stream;
 *    the return-path thread reads the destination's replies.
 *  - The incoming load thread reads the stream on the destination.
 *  - MigrationState.status is read and changed with atomic operations
 *    (migrate_set_status() is a compare-and-swap), so any thread may look
 *    at it; MigrationState.lock protects error, the channel list and the
 *    timing the monitor reads while the migration thread updates them.
 */
#ifndef MIGRATION_MIGRATION_H
#define MIGRATION_MIGRATION_H

#include "qemu/osdep.h"
#include "qapi/error.h"
#include "io/channel.h"
#include "migration/qemu-file.h"
#include "migration/misc.h"

/*
 * The times and rates of an outgoing migration, as query-migrate shows
 * them.  Written by the migration thread, read by the monitor, both
 * under MigrationState.lock.
 */
typedef struct MigrationTiming {
    int64_t setup_time;        /* ms from start to active */
    int64_t total_time;        /* ms from start to completed */
    int64_t downtime;          /* ms the guest was stopped (completed) */
    int64_t expected_downtime; /* ms, estimate while active */
    double mbps;               /* last period; over the whole at the end */
    uint64_t pages_per_second; /* last period */
} MigrationTiming;

/*
 * The kinds of channel a migration may use (QEMU 7.2's set).  The source
 * opens the main channel first; the destination tells the others apart
 * as 7.2 does (see migration_channel_incoming()).
 */
typedef enum MigrationChannelType {
    MIGRATION_CHANNEL_MAIN,    /* the stream: header, sections, commands */
    MIGRATION_CHANNEL_MULTIFD, /* a multifd page channel (initial packet) */
    MIGRATION_CHANNEL_PREEMPT, /* postcopy-preempt: urgent pages */
    MIGRATION_CHANNEL__MAX,
} MigrationChannelType;

/* One channel of a migration: a reference on ioc, and what it carries. */
typedef struct MigrationChannel {
    MigrationChannelType type;
    QIOChannel *ioc;
} MigrationChannel;

typedef struct MigrationState {
    int status;   /* MigrationStatus, atomic */
    GMutex lock;  /* protects error, channels, the timing below */
    Error *error; /* first error (error-desc) */

    char *uri; /* the URI given to migrate */
    int fd;    /* fd: URI, taken from the monitor */
    /*
     * MigrationChannel *: every channel of the migration (the main one
     * now; multifd and postcopy-preempt later), so that cancel and
     * failure shut all of them down.  Under lock.
     */
    GPtrArray *channels;
    QEMUFile *to_dst_file; /* owned by the migration thread */
    GThread *thread;
    bool thread_running;

    /* pause-before-switchover: migrate-continue posts */
    GMutex pause_lock;
    GCond pause_cond;
    bool pause_continue;

    /* return path (source side) */
    QEMUFile *rp_file;
    GThread *rp_thread;
    bool rp_shut_received;
    bool rp_dest_failed; /* SHUT with an error: the destination did not start */
    int rp_error;        /* 0 or negative errno */
    bool rp_channel_failed; /* rp_error is the channel's, not a bad message */
    Error *rp_err;

    /*
     * Recovery (postcopy-paused -> postcopy-recover -> postcopy-active):
     * the return-path thread counts the RECV_BITMAPs it took in and
     * moves the status on RESUME_ACK; migrate_resume() and cancel wake
     * the migration thread.  All under pause_lock, signalled on
     * pause_cond.
     */
    unsigned int recv_bitmaps;

    /*
     * postcopy-preempt (postcopy-preempt.h): the urgent-page stream,
     * written by the return-path thread (pages) and the migration thread
     * (EOS, close) under preempt_lock.
     */
    GMutex preempt_lock;
    QEMUFile *preempt_file;

    bool vm_was_running;

    /* written by the migration thread, read under lock */
    int64_t start_time; /* realtime ms */
    int64_t downtime_start;
    MigrationTiming timing;
    uint64_t threshold_size; /* bytes that fit in downtime-limit */
    bool rate_limit_changed; /* max-bandwidth changed meanwhile */
    bool start_postcopy;     /* migrate-start-postcopy was given (atomic) */
} MigrationState;

typedef struct MigrationIncomingState {
    int status; /* MigrationStatus, atomic */
    QEMUFile *from_src_file;
    QEMUFile *to_src_file; /* return path, if opened */
    GMutex rp_lock;        /* serialises return-path messages */
    GThread *load_thread;
    /*
     * MigrationChannel *: the channels accepted so far, sorted by
     * migration_channel_incoming().  Main thread.
     */
    GPtrArray *channels;
    bool loading; /* all channels there, the load thread started */
    GPtrArray *socket_addresses; /* SocketAddress *, for query-migrate */
    bool deferred;               /* -incoming defer, not started yet */
    bool started;                /* incoming URI given */
    int64_t start_time;
    bool postcopy_started; /* the guest was started at postcopy RUN */
    /*
     * Postcopy recovery: the load thread waits in postcopy-paused on
     * recover_cond until migrate-recover's channel is there (main
     * thread: recovering, new from_src_file/to_src_file, status
     * postcopy-recover).  recover_triggered: migrate-recover was
     * accepted for this pause.  Under recover_lock.
     */
    GMutex recover_lock;
    GCond recover_cond;
    bool recover_triggered;
    bool recovering;      /* channels now come for a recovery (7.2's order) */
    unsigned int resumes; /* RESUME count: page-request senders restart */
    Error *abort_err;     /* why it was aborted (watchdog, cancel) */
    bool cancelled;       /* migrate_cancel here: no precopy pause */
    /* x-precopy-recover: the source asked, we agreed (precopy-recover.h) */
    bool precopy_armed;
    /* page requests on the preempt channel agreed (postcopy-preempt.h) */
    bool preempt_requests;
    Error *pause_err; /* why it paused (query-migrate's error-desc) */
} MigrationIncomingState;

/* The singletons. */
MigrationState *migrate_get_current(void);
MigrationIncomingState *migration_incoming_get_current(void);

/* Realtime clock in ms. */
int64_t migration_clock_ms(void);

/*
 * Atomically move *status from old to new; emit MIGRATION when it moved
 * (source: only with the events capability).  Returns true if it moved.
 */
bool migrate_set_status(MigrationState *s, int old_state, int new_state);
/* Incoming: MIGRATION only with the events capability, as 7.2. */
void migrate_incoming_set_status(MigrationIncomingState *mis, int new_state);

/*
 * Move the outgoing status from whatever it is now to new_state (failed
 * becomes cancelled when a cancel is under way).  Migration thread.
 */
void migrate_set_status_from_current(MigrationState *s, int new_state);

/* Record the first error of the outgoing migration (copied). */
void migrate_set_error(MigrationState *s, const Error *err);

/* Is an outgoing migration between setup and its end? (any thread) */
bool migration_is_running(void);
/* Options changed: pick up a new max-bandwidth.  Main thread. */
void migration_parameters_changed(void);

/* MIGRATION {"status": NAME} event, whatever the events capability. */
void migration_event_status(MigrationStatus status);

/* MIGRATION_PASS event (events capability), from ram.c's dirty sync. */
void migration_event_pass(uint64_t pass);

/*
 * Start an outgoing migration to uri: check it, set status setup and
 * start the migration thread, which opens the transport itself.
 * Errors: "There's a migration process in progress", "Parameter 'uri'
 * expects a valid migration protocol", fd-lookup errors.  Main thread.
 */
bool migrate_start(const char *uri, Error **errp);
/*
 * QMP/HMP migrate-incoming: only after -incoming defer, once.  Main
 * thread.
 */
bool migrate_incoming_qmp(const char *uri, Error **errp);
/*
 * Start the migration thread of s (migration-thread.c); it runs the
 * migration to a final status, then has itself joined on the main loop.
 */
void migration_thread_start(MigrationState *s);
/*
 * migrate_cancel: shut the channel down, status cancelling.  On a
 * destination (no outgoing migration) it ends the incoming one
 * (migration_incoming_cancel()).
 */
void migrate_cancel(void);
/*
 * migrate with resume: a paused migration (postcopy-paused or
 * precopy-paused) connects again to uri: postcopy-recover or
 * precopy-recover, the migration thread takes over.
 * 7.2's errors.  Main thread.
 */
bool migrate_resume(const char *uri, Error **errp);
/*
 * The watchdog saw no progress: record err as the migration's error and
 * wake its threads as a cancel does; the migration then fails (status
 * failed, not cancelled).  Main thread.
 */
void migrate_fail_stalled(MigrationState *s, const Error *err);
/*
 * Destination: end the incoming migration because of err (taken): its
 * channels are shut down, the load fails and the process reports err
 * and exits as after any failed load.  Not once the guest runs here
 * (postcopy) or the load finished.  Main thread.
 */
void migration_incoming_abort(Error *err);
/*
 * migrate_cancel on a destination: abort a listening or loading
 * incoming migration.  false when there is none (nothing done).
 */
bool migration_incoming_cancel(void);
/* migrate-continue STATE. */
bool migrate_continue(const char *state, Error **errp);
/*
 * migrate-start-postcopy: switch to postcopy at the next iteration
 * (QEMU 7.2's checks and texts).  Main thread.
 */
bool migrate_start_postcopy(Error **errp);

/*
 * Bytes the outgoing migration has put on its channels: the main
 * stream's plus the multifd channels'.  Migration thread.
 */
uint64_t migration_transferred_bytes(QEMUFile *main_file);

/* ---- transports (transport.h has the table) ---- */

/* Stop listening on the destination's socket (if it listens). */
void socket_incoming_stop(void);
/*
 * Hand every client the kernel already accepted on the destination's
 * socket to the channel sorter now (before socket_incoming_stop()), so
 * a connection too many is dropped with its reason, not reset unseen.
 */
void socket_incoming_drain(void);
/* Is the socket transport still accepting clients (TLS handshakes)? */
bool socket_incoming_listening(void);

/*
 * channel.c: a connected channel on the source is maybe TLS-wrapped
 * (blocking, migration thread); on the destination maybe TLS-wrapped
 * asynchronously, then loading starts.  hostname is the URI's host for
 * tcp: (or NULL).
 */
QIOChannel *migration_channel_outgoing(QIOChannel *ioc, const char *hostname,
                                       Error **errp);
void migration_channel_incoming(QIOChannel *ioc);

/*
 * Source: add ioc (a new reference is taken) to s's channels as type;
 * remove one (its reference dropped); shut every channel down (wakes
 * threads blocked on them; cancel and failure); drop them all.  Any
 * thread; they take s->lock.
 */
void migrate_channel_add(MigrationState *s, MigrationChannelType type,
                         QIOChannel *ioc);
void migrate_channel_remove(MigrationState *s, QIOChannel *ioc);
void migrate_channels_shutdown(MigrationState *s);
void migrate_channels_release(MigrationState *s);
/* Destination: drop the accepted channels (load ended).  Main thread. */
void migration_incoming_channels_release(MigrationIncomingState *mis);
/*
 * Kernel buffer tuning of a migration channel, best effort.  out: this
 * side sends the stream on it.
 */
void migration_channel_tune(QIOChannel *ioc, bool out);

/*
 * A channel reading prefix[0..len) (len <= 8) first, then inner; every
 * other operation is inner's.  Holds a reference on inner
 * (channel-prefix.c: how the sorter gives back what it read of a TLS
 * channel).
 */
QIOChannel *migration_channel_prefix_new(QIOChannel *inner,
                                         const uint8_t *prefix, size_t len);
/* Begin loading from ioc (after TLS if any).  Main thread. */
void migration_incoming_process(QIOChannel *ioc);
/* A fatal incoming error before loading: report and exit(1). */
void migration_incoming_fail(Error *err);
/*
 * Postcopy RUN (load thread): start the guest from the main loop as the
 * end of a precopy load would; the load thread keeps reading the stream.
 */
void migration_incoming_postcopy_run(void);

/* ---- return path (return-path.c) ---- */

/* Source: open the return path and start the reader thread. */
bool migrate_rp_start(MigrationState *s, Error **errp);
/*
 * Source: wait until the destination sent SHUT (or the return path
 * failed).  Returns 0 on a clean SHUT 0, negative errno with errp
 * otherwise.  Joins the reader thread.
 */
int migrate_rp_wait_shut(MigrationState *s, Error **errp);
/* Source: stop the reader (on failure/cancel) and release it. */
void migrate_rp_cleanup(MigrationState *s);

/* Destination messages. */
void migrate_send_rp_pong(MigrationIncomingState *mis, uint32_t value);
void migrate_send_rp_shut(MigrationIncomingState *mis, uint32_t value);
void migrate_send_rp_resume_ack(MigrationIncomingState *mis, uint32_t value);
/*
 * RECV_BITMAP for block name with its size-byte wire bitmap (see
 * recv-bitmap.h); false when there is no return path or it failed.
 */
bool migrate_send_rp_recv_bitmap(MigrationIncomingState *mis, const char *name,
                                 const uint8_t *bitmap, uint64_t size);
/*
 * Postcopy: ask for len bytes at start of block rbname (NULL: the block
 * of the previous request, sent as REQ_PAGES).  Any thread.
 */
void migrate_send_rp_req_pages(MigrationIncomingState *mis, const char *rbname,
                               uint64_t start, uint32_t len);

#endif /* MIGRATION_MIGRATION_H */
