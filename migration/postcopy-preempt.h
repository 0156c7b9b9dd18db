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
 *
 * Page requests on the preempt channel (Tern only, docs/wire-format.md
 * section 14).  In 7.2 requests go on the return path, the main
 * connection's other direction, which the bulk keeps busy: the kernel
 * serialises a socket's two directions (its lock), so a request waited
 * for the bulk's write on the source and the load thread's read on the
 * destination.  A Tern source with postcopy-preempt asks with PING
 * POSTCOPY_PREEMPT_PING_REQUESTS after PING 1; a Tern destination with
 * the capability answers PONG POSTCOPY_PREEMPT_PONG_REQUESTS (QEMU
 * echoes the PING's value) and from then on writes its page requests
 * (REQ_PAGES_ID / REQ_PAGES, the return path's encoding, the first on
 * each channel naming its block) on the preempt channel's other
 * direction whenever its preempt reader runs; the source reads them
 * there on a thread of its own and serves them as the return path's.
 * Every other message stays on the return path.
 */
#ifndef MIGRATION_POSTCOPY_PREEMPT_H
#define MIGRATION_POSTCOPY_PREEMPT_H

#include "qemu/osdep.h"
#include "qapi/error.h"
#include "io/channel.h"
#include "migration/qemu-file.h"

typedef struct MigrationState MigrationState;
typedef struct MigrationIncomingState MigrationIncomingState;
typedef struct RAMBlock RAMBlock;

#define POSTCOPY_PREEMPT_PING_REQUESTS 0x54505131u /* "TPQ1" */
#define POSTCOPY_PREEMPT_PONG_REQUESTS 0x54505141u /* "TPQA" */

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

/*
 * Source, a new migration's first step (migration thread), before its
 * channels connect: forget an earlier migration's agreement (a
 * recovery keeps it).
 */
void postcopy_preempt_requests_reset(MigrationState *s);

/*
 * Source, setup (migration thread): with postcopy-preempt, ask for
 * requests on the preempt channel (PING on f, which has a return path).
 */
void postcopy_preempt_ask_requests(MigrationState *s, QEMUFile *f);

/*
 * Source, return-path thread: a PONG of value.  True if it was the
 * destination's agreement (the request reader starts once the channel
 * is there), false for any other value.
 */
bool postcopy_preempt_pong(MigrationState *s, uint32_t value);

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

/*
 * Destination, load thread: a PING of value; the PONG value to answer
 * (the agreement for POSTCOPY_PREEMPT_PING_REQUESTS with the
 * capability, otherwise value itself).
 */
uint32_t postcopy_preempt_incoming_ping(MigrationIncomingState *mis,
                                        uint32_t value);

/*
 * Destination, fault thread: send the request for [start, start + len)
 * of rb on the preempt channel.  False when requests do not go there
 * (not agreed, no reader running, or the channel failed): the caller
 * sends it on the return path.
 */
bool postcopy_preempt_send_request(MigrationIncomingState *mis, RAMBlock *rb,
                                   uint64_t start, uint32_t len);

#endif /* MIGRATION_POSTCOPY_PREEMPT_H */
