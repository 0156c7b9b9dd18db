/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * postcopy-recover.h (private to migration/): recovery of a postcopy
 * migration whose connection broke, QEMU 7.2's protocol.
 *
 * When a channel fails in postcopy-active, neither side gives up: the
 * guest runs on the destination and lives on both halves.
 *
 *   source       postcopy-active --(channel error, migrate-pause)-->
 *                postcopy-paused: channels closed, every page kept,
 *                the migration thread waits (migration-thread.c)
 *                --(migrate -r / resume: true, new URI)--> postcopy-recover:
 *                connect; COMMAND RECV_BITMAP per RAM block, each answered
 *                by return-path RECV_BITMAP with the block's received
 *                bitmap (recv-bitmap.h): pages not received are dirty
 *                again; COMMAND POSTCOPY_RESUME --(RESUME_ACK 1)-->
 *                postcopy-active, sending the rest.  A failure during
 *                recovery pauses again; migrate_cancel fails for good.
 *   destination  postcopy-active --(stream error, migrate-pause)-->
 *                postcopy-paused: the load thread waits, the guest keeps
 *                running on what it has, vCPUs faulting on a missing page
 *                wait (their requests are dropped: no return path)
 *                --(migrate-recover URI: listens, the first connection
 *                is the new stream, no header, as 7.2)--> postcopy-recover:
 *                RECV_BITMAP answered from the pages present in guest RAM
 *                (mincore); POSTCOPY_RESUME --> postcopy-active, RESUME_ACK,
 *                waiting vCPUs are woken to fault (and request) again.
 *
 * The source's pause/reconnect loop is generic (any phase may pause with
 * its own resume handshake); the handshake here is postcopy's.
 */
#ifndef MIGRATION_POSTCOPY_RECOVER_H
#define MIGRATION_POSTCOPY_RECOVER_H

#include "qemu/osdep.h"
#include "qapi/error.h"
#include "io/channel.h"
#include "migration/qemu-file.h"

typedef struct MigrationState MigrationState;
typedef struct MigrationIncomingState MigrationIncomingState;

/* Install the return-path and COMMAND handlers.  Start-up, main thread. */
void postcopy_recover_init(void);

/*
 * Source, migration thread, status postcopy-recover, on the new stream
 * f (return path started): re-sync the dirty bitmaps from the
 * destination's received bitmaps, then POSTCOPY_RESUME and wait for
 * RESUME_ACK.  true once postcopy-active again; false with errp set.
 */
bool postcopy_resume_handshake(MigrationState *s, QEMUFile *f, Error **errp);

/*
 * Destination, load thread, the postcopy stream failed with err: if the
 * guest runs here in postcopy with a return path, close the channels,
 * go postcopy-paused and wait for migrate-recover's channel.  true when
 * mis->from_src_file is the new stream (status postcopy-recover);
 * false: not a postcopy that can pause (fail as before).
 */
bool postcopy_incoming_pause(MigrationIncomingState *mis, const Error *err);

/*
 * Destination, load thread, the stream failed with err: close the
 * channels, go to status paused (postcopy-paused or precopy-paused) and
 * wait for migrate-recover's channel (status then postcopy-recover or
 * precopy-recover) or a cancel.  true when mis->from_src_file is the new
 * stream.
 */
bool migration_incoming_pause_wait(MigrationIncomingState *mis,
                                   const Error *err, int paused);

/* The recover status after paused; the running status after recover. */
int migration_recover_status(int paused);
int migration_recover_active_status(int status);

/*
 * QMP migrate-recover / HMP migrate_recover (destination, main thread):
 * listen on uri for the source's new connection.  7.2's errors.
 */
bool migrate_recover(const char *uri, Error **errp);

/*
 * Destination, main thread: the recovery's channels are all there
 * (channel.c); ioc is the main one.  Wakes the load thread.
 */
void postcopy_incoming_recover_channel(QIOChannel *ioc);

/*
 * QMP migrate-pause / HMP migrate_pause (either side, main thread): in
 * postcopy-active, shut the channels down so that the migration pauses.
 */
bool migrate_pause(Error **errp);

#endif /* MIGRATION_POSTCOPY_RECOVER_H */
