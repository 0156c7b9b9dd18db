/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * transport.h (private to migration/): the migration transports, one row
 * per URI prefix.
 *
 * A row says how to open the source's channel (blocking, migration
 * thread), how to start the destination (main thread; the channel comes
 * back through migration_channel_incoming()), and whether the transport
 * can carry more than one channel per migration (a socket can connect
 * again for multifd or postcopy-preempt; an fd, a command or a file is
 * one stream).  socket.c, fd.c, exec.c and file.c implement the rows.
 */
#ifndef MIGRATION_TRANSPORT_H
#define MIGRATION_TRANSPORT_H

#include "qemu/osdep.h"
#include "qapi/error.h"
#include "io/channel.h"
#include "migration.h"

typedef struct MigrationTransport {
    const char *prefix; /* "tcp:", ... */
    bool keep_prefix;   /* the functions get the whole URI, not the rest */
    bool monitor_fd;    /* the rest names a monitor fd (taken at start) */
    bool multi_channel; /* can carry several channels */
    /*
     * The stream only goes to storage (file:): no destination can start
     * from it while the source runs, so a failed source may resume.
     */
    bool stores_stream;
    /*
     * The channel carries the destination's answers (a socket): the
     * source always opens a return path on it to learn the verdict.
     * fd: carries them when its fd is a socket (see
     * migration_transport_carries_reply()).
     */
    bool carries_reply;
    /* Can be seekable (file:, and fd: when the fd is a file). */
    bool seekable;
    /*
     * Source: open the channel for arg (blocking).  Returns a channel
     * (owned by the caller) or NULL with errp set.
     */
    QIOChannel *(*outgoing_open)(MigrationState *s, const char *arg,
                                 Error **errp);
    /* Destination: listen/spawn/open for arg; false with errp set. */
    bool (*incoming_start)(const char *arg, Error **errp);
    /* Source: the host TLS checks the certificate against, or NULL. */
    char *(*tls_hostname)(const char *arg);
    /*
     * Source, main thread, migrate_cancel: end what a channel shutdown
     * cannot (a command that never reads).  NULL: nothing to do.
     */
    void (*outgoing_cancel)(MigrationState *s);
} MigrationTransport;

/*
 * Can t carry a migration with the current capabilities?  multifd needs
 * a multi-channel transport (QEMU 7.2's text), mapped-ram a seekable one
 * (QEMU 9's text; QEMU's rules on the other capabilities and TLS too).
 * false with errp set.
 */
bool migration_transport_check_caps(const MigrationTransport *t, Error **errp);

/*
 * Does ioc, the source's main channel for t, carry the destination's
 * answers?  A socket transport always does; any other (fd:) when its
 * channel is a connection, the only channels that can be shut down
 * (fd.c gives a socket fd a socket channel, TLS keeps the feature): a
 * socketpair or TCP fd replies like tcp:/unix:, a pipe or a file not.
 */
bool migration_transport_carries_reply(const MigrationTransport *t,
                                       QIOChannel *ioc);

/* The row for uri's prefix, or NULL (rdma: and unknown prefixes). */
const MigrationTransport *migration_transport_find(const char *uri);

/*
 * migration_transport_find() for the commands, with QEMU 7.2's text when
 * no row matches: "Parameter 'uri' expects a valid migration protocol"
 * (outgoing: migrate) or "unknown migration protocol: URI" (incoming:
 * -incoming, migrate-incoming, migrate-recover).
 */
const MigrationTransport *migration_transport_find_outgoing(const char *uri,
                                                            Error **errp);
const MigrationTransport *migration_transport_find_incoming(const char *uri,
                                                            Error **errp);

/* What t's functions get of uri (the URI without or with its prefix). */
const char *migration_transport_arg(const MigrationTransport *t,
                                    const char *uri);

/*
 * rdma: URIs are refused (no RDMA transport yet; with tls-creds set,
 * TLS is named as the reason).  Returns true with errp set for them.
 */
bool migration_transport_refuse(const char *uri, Error **errp);

/*
 * The rows' functions (socket.c, fd.c, exec.c, file.c).  *_outgoing_open:
 * source, blocking, returns a new channel the caller owns or NULL with
 * errp set (fd: takes s->fd, leaving -1).  *_incoming_start: destination,
 * main thread, returns once listening/spawned/opened; the channel goes
 * to migration_channel_incoming() (a socket: each client, later).
 */
QIOChannel *socket_outgoing_open(MigrationState *s, const char *addr,
                                 Error **errp);
QIOChannel *fd_outgoing_open(MigrationState *s, const char *name, Error **errp);
QIOChannel *exec_outgoing_open(MigrationState *s, const char *cmd,
                               Error **errp);
QIOChannel *file_outgoing_open(MigrationState *s, const char *spec,
                               Error **errp);
bool socket_incoming_start(const char *addr, Error **errp);
bool fd_incoming_start(const char *name, Error **errp);
bool exec_incoming_start(const char *cmd, Error **errp);
bool file_incoming_start(const char *spec, Error **errp);
void exec_outgoing_cancel(MigrationState *s);

/*
 * Cancelling a blocked open.  The source's opens (a connect, a FIFO's
 * open) wait on migration_transport_cancel_fd() too, an eventfd that
 * migration_transport_cancel() makes readable; migrate_start clears it
 * with migration_transport_cancel_reset() before the thread starts.
 */
int migration_transport_cancel_fd(void);
void migration_transport_cancel_reset(void);
/* migrate_cancel (main thread): wake the opens, run outgoing_cancel. */
void migration_transport_cancel(MigrationState *s);
/* Has migration_transport_cancel() run (within timeout_ms)? */
bool migration_transport_cancelled(int timeout_ms);

/* The host of a tcp: address (after "tcp:"), or NULL. */
char *socket_tls_hostname(const char *addr);

#endif /* MIGRATION_TRANSPORT_H */
