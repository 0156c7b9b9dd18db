/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * precopy-recover.h (private to migration/): a precopy that survives a
 * broken connection (capability x-precopy-recover, Tern only; needs
 * return-path; docs/migration.md, "What happens when things go wrong").
 *
 * QEMU recovers a broken postcopy only; a broken precopy starts again
 * from zero.  With x-precopy-recover on both Tern sides it pauses
 * instead, and resumes with postcopy recovery's commands and handshake
 * (postcopy-recover.h), sending only what the destination misses.
 *
 * Negotiation, on the return path, nothing new to a QEMU peer: after
 * OPEN_RETURN_PATH and PING 1 the source sends PING 0x54505231 ("TPR1").
 * Any destination answers a PING with its value; a Tern destination with
 * the capability answers PONG 0x54505241 ("TPRA") instead and is armed.
 * Only then may either side pause: a source with the capability and a
 * QEMU or capability-less destination fails on a cut as before.  At the
 * switch-over the source sends PING 0x54505230 ("TPR0"): both disarm,
 * and a cut from there on follows the switch-over rule (section 11).
 *
 *   source       active --(channel error, stall)--> precopy-paused: the
 *                guest keeps running, dirty logging goes on, channels
 *                closed, error-desc says why and what to do
 *                --(migrate URI resume=true / migrate -r)--> precopy-recover:
 *                connect (no header); RECV_BITMAP per block, each
 *                answered with the destination's received bitmap: pages
 *                it lacks become dirty (ORed into our own dirty bitmap),
 *                as do pages sent but not acknowledged (ram-unacked.h);
 *                POSTCOPY_RESUME --(RESUME_ACK 1)--> active: the
 *                iterations go on and converge as usual.  A failed
 *                attempt pauses again; migrate_cancel ends it (cancelled,
 *                the guest running).
 *   destination  active --(stream error)--> precopy-paused: the load
 *                thread waits with the RAM and the received bitmap (the
 *                pages it placed) --(migrate-recover URI)-->
 *                precopy-recover: RECV_BITMAP answered from that bitmap;
 *                POSTCOPY_RESUME --> active, RESUME_ACK, loading goes on.
 *                migrate_cancel while paused fails the load (exit 1, as
 *                any failed load).
 *
 * While active the source sends PING 0x5445nnnn ("TE" + sequence) after
 * an iteration when none is in flight; its PONG acknowledges every page
 * sent before it (ram-unacked.h).
 */
#ifndef MIGRATION_PRECOPY_RECOVER_H
#define MIGRATION_PRECOPY_RECOVER_H

#include "qemu/osdep.h"
#include "qapi/error.h"
#include "migration/qemu-file.h"

typedef struct MigrationState MigrationState;
typedef struct MigrationIncomingState MigrationIncomingState;

/*
 * Source, migration thread, setup of every migration: forget any earlier
 * agreement; with the capability and a return path, ask the destination
 * (PING TPR1).
 */
void precopy_recover_setup(QEMUFile *f, bool return_path);

/* Source: did the destination agree (PONG TPRA), and not disarmed since? */
bool precopy_recover_armed(void);

/*
 * Source, return-path thread: a PONG value; true if it was one of ours
 * (TPRA, an acknowledgement).
 */
bool precopy_recover_pong(uint32_t value);

/*
 * Source, migration thread, after each iteration: forget the pages an
 * answered PING acknowledged, and send a new PING when none is in flight.
 */
void precopy_recover_tick(QEMUFile *f);

/*
 * Source, migration thread, at the switch-over (before the final state):
 * no pause from here on, on either side (PING TPR0).
 */
void precopy_recover_disarm(QEMUFile *f);

/*
 * Source, migration thread, status precopy-recover, on the new stream f:
 * make the unacknowledged pages dirty, then postcopy recovery's
 * handshake (the received bitmaps ORed in, POSTCOPY_RESUME, RESUME_ACK).
 * true once active again; false with errp set.
 */
bool precopy_resume_handshake(MigrationState *s, QEMUFile *f, Error **errp);

/*
 * Destination, loading thread, a PING value: the PONG value to answer
 * (TPR1 with the capability: armed, TPRA; TPR0: disarmed).
 */
uint32_t precopy_incoming_ping(MigrationIncomingState *mis, uint32_t value);

/*
 * Destination, loading thread (savevm's load_pause hook): the stream f
 * failed with err.  If armed, go precopy-paused and wait for
 * migrate-recover's channel: the new stream to go on with, or NULL (not
 * armed, or cancelled: the load fails as before).
 */
QEMUFile *precopy_incoming_pause(QEMUFile *f, const Error *err);

/*
 * Destination, loading thread, POSTCOPY_RESUME in precopy-recover: the
 * status goes back to active and the progress watchdog starts again.
 */
void precopy_incoming_resumed(MigrationIncomingState *mis);

/*
 * Destination, migrate_cancel while precopy-paused or precopy-recover:
 * the load fails.  false when not paused.  Main thread.
 */
bool precopy_incoming_cancel(MigrationIncomingState *mis);

#endif /* MIGRATION_PRECOPY_RECOVER_H */
