/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * postcopy-preempt.h (private to migration/): capability
 * postcopy-preempt, QEMU 7.2's second channel for urgent pages.
 *
 * The source opens a second connection right after the main one, at the
 * start of the migration (the destination takes the second connection as
 * the preempt channel, 7.2's order, and starts loading once it has
 * both).  The channel stays silent until postcopy; then every page the
 * destination requests goes there at once from the return-path thread
 * (ram.c), one ram record each with its block named, while the bulk
 * goes on on the main stream; at the end a be64 EOS.  A page is sent
 * once whichever channel claims its dirty bit first (ram-select.h).
 *
 * The destination reads it on its own thread from LISTEN until EOS,
 * placing pages through its own postcopy placer.  A recovery opens both
 * channels again, main first.
 */
#ifndef MIGRATION_POSTCOPY_PREEMPT_H
#define MIGRATION_POSTCOPY_PREEMPT_H

#include "qemu/osdep.h"
#include "qapi/error.h"
#include "io/channel.h"
#include "migration/qemu-file.h"

typedef struct MigrationState MigrationState;
typedef struct MigrationIncomingState MigrationIncomingState;

/* ---- source ---- */

/* Use ioc (a reference is taken) as the preempt channel.  Migration thread. */
void postcopy_preempt_set_channel(MigrationState *s, QIOChannel *ioc);

/*
 * The preempt stream with its lock held, or NULL (no preempt channel;
 * nothing held).  Pair with postcopy_preempt_put(), which flushes.
 */
QEMUFile *postcopy_preempt_get(MigrationState *s);
void postcopy_preempt_put(MigrationState *s);

/* The final EOS on the preempt channel (if any); negative errno. */
int postcopy_preempt_send_eos(MigrationState *s);

/* Close the preempt stream (end, failure, pause).  Migration thread. */
void postcopy_preempt_close(MigrationState *s);

/* ---- destination ---- */

/*
 * LISTEN (load thread): start reading the preempt channel (in
 * mis->channels, when the capability is on) into guest RAM registered
 * with uffd.  false with errp set.
 */
bool postcopy_preempt_incoming_start(MigrationIncomingState *mis, int uffd,
                                     Error **errp);

/*
 * Stop the reader: wait for its EOS (abort false) or shut its channel
 * down first (abort true: failure, pause).  Any thread but the reader.
 */
void postcopy_preempt_incoming_stop(bool abort);

#endif /* MIGRATION_POSTCOPY_PREEMPT_H */
