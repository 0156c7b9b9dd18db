/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * return-path.h (private to migration/): the source's table of
 * return-path message handlers.
 *
 * The reader thread (return-path.c) reads "be16 type | be16 len |
 * data[len]" (numbers in include/migration/messages.h), checks type and
 * length against the type's row, reads the data into a buffer of exactly
 * len bytes and calls the row's handler.  A type with no handler fails
 * the migration as "not expected".  Precopy registers SHUT and PONG;
 * postcopy adds REQ_PAGES_ID, REQ_PAGES, RECV_BITMAP and RESUME_ACK with
 * migrate_rp_register_handler(), checkpoint-assisted migration its hash
 * messages as new types.
 */
#ifndef MIGRATION_RETURN_PATH_H
#define MIGRATION_RETURN_PATH_H

#include "qemu/osdep.h"
#include "qapi/error.h"
#include "migration/messages.h"
#include "migration/qemu-file.h"

typedef struct MigrationState MigrationState;
typedef struct MigrationIncomingState MigrationIncomingState;

/* One message as the handler sees it; valid only during the call. */
typedef struct MigRPMessage {
    MigrationState *s;
    QEMUFile *rp;        /* for data sent outside the message (bitmaps) */
    uint16_t type;       /* enum mig_rp_message_type */
    uint16_t len;        /* checked against the type's row */
    const uint8_t *data; /* len bytes (NULL when len is 0) */
    bool preempt;        /* read from the postcopy-preempt channel */
} MigRPMessage;

/* A handler's answer that the destination ended the return path. */
#define MIG_RP_END 1

/*
 * Handle one message on the source's return-path thread.  Returns 0 to
 * keep reading, MIG_RP_END when the return path is finished cleanly, or
 * a negative errno with errp set (the migration fails with that error).
 */
typedef int MigRPMessageHandler(const MigRPMessage *msg, Error **errp);

/*
 * Install handler for type (replacing any earlier one; NULL makes the
 * type unexpected again).  Main thread at start-up, before any
 * migration: the table is read without a lock by the reader thread.
 */
void migrate_rp_register_handler(enum mig_rp_message_type type,
                                 MigRPMessageHandler *handler);

/*
 * Source: read one message from rp and run its handler (the reader
 * thread's step; also the return-path fuzz target's entry).  Returns
 * the handler's answer, or a negative errno: with errp set for a bad
 * message, unset when the channel failed (its error is in rp).
 */
int migrate_rp_read_message(MigrationState *s, QEMUFile *rp, Error **errp);

/*
 * Source: the same for a Tern destination's page requests on the
 * postcopy-preempt channel's other direction (postcopy-preempt.h): only
 * REQ_PAGES and REQ_PAGES_ID are valid there.
 */
int migrate_rp_read_request(MigrationState *s, QEMUFile *rp, Error **errp);

/*
 * Source: a reader of destination messages other than the return-path
 * thread found a bad message: the migration fails with err (taken), as
 * for a bad message on the return path.  The first such error is kept.
 */
void migrate_rp_fail_message(MigrationState *s, Error *err);

/* Register precopy's handlers (SHUT, PONG).  Start-up, main thread. */
void migrate_rp_init(void);

/*
 * Destination, loading thread (savevm's hooks): OPEN_RETURN_PATH opens
 * the path back to the source on f's channel (ignored on a one-way
 * channel such as a file); false with errp set if it cannot.  PING is
 * answered with PONG when a return path is open.
 */
bool migrate_rp_open_incoming(QEMUFile *f, Error **errp);
bool migrate_rp_answer_ping(uint32_t value, Error **errp);

/*
 * Destination, the load failed: SHUT 1, then (a Tern extension) why, so
 * that a Tern source's error-desc says it.  A QEMU source stops reading
 * at SHUT 1 and never sees the reason.  Nothing without a return path.
 */
void migrate_send_rp_failure(MigrationIncomingState *mis, const char *reason);

/*
 * Destination: write the page request for [start, start + len) of the
 * block named rbname (NULL: the block of the previous request on the
 * same channel) to f, REQ_PAGES_ID or REQ_PAGES, not flushed.
 */
void migrate_put_rp_req_pages(QEMUFile *f, const char *rbname, uint64_t start,
                              uint32_t len);

/*
 * Destination, checkpoint-assisted migration (Tern only, sent when the
 * source asked; docs/wire-format.md section 12): the offer (len bytes
 * after a CKPT_OFFER message carrying len), a piece of a streamed offer
 * (len bytes after a CKPT_PART message), a page to send again
 * (CKPT_REQ), the answer to sync record seq (CKPT_ACK).  Nothing
 * without a return path.  Any thread.
 */
void migrate_send_rp_ckpt_offer(MigrationIncomingState *mis,
                                const uint8_t *offer, uint64_t len);
void migrate_send_rp_ckpt_part(MigrationIncomingState *mis, const uint8_t *part,
                               uint64_t len);
void migrate_send_rp_ckpt_req(MigrationIncomingState *mis, const char *rbname,
                              uint64_t offset);
void migrate_send_rp_ckpt_ack(MigrationIncomingState *mis, uint32_t seq);

/*
 * Source, failure path: the stream broke; give the return path up to
 * timeout_ms to say why (the destination's SHUT 1 and reason arrive just
 * before its connection goes), so that its reason is the error recorded
 * first rather than "Connection reset by peer".
 */
void migrate_rp_wait_verdict(MigrationState *s, int timeout_ms);

#endif /* MIGRATION_RETURN_PATH_H */
