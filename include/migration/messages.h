/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * messages.h: the numbers of the two kinds of control messages a
 * migration carries (QEMU 7.2 values; docs/wire-format.md sections 8 and 9).
 * Both the code that sends a message and the code that reads it take its
 * number and fixed length from here.
 *
 * Source -> destination, inside the migration stream (savevm.c reads
 * them; a handler per sub-command, see loadvm_command_register()):
 *
 *   08 | be16 cmd | be16 len | data[len]        QEMU_VM_COMMAND record
 *
 *   cmd                          len   data
 *   1  OPEN_RETURN_PATH          0
 *   2  PING                      4     be32 value (answered with PONG)
 *   3  POSTCOPY_ADVISE           16|0  be64 page size summary, be64 target
 *                                      page size
 *   4  POSTCOPY_LISTEN           0
 *   5  POSTCOPY_RUN              0
 *   6  POSTCOPY_RAM_DISCARD      var   u8 0, str8 block, NUL, be64 pairs
 *   7  PACKAGED                  4     be32 n; n bytes of nested stream
 *                                      follow outside the record
 *   8  ENABLE_COLO               0
 *   9  POSTCOPY_RESUME           0
 *   10 RECV_BITMAP               var   str8 block name
 *
 * Destination -> source, on the return path (the same connection in the
 * other direction; return-path.c reads them, a handler per type, see
 * migrate_rp_register_handler()):
 *
 *   be16 type | be16 len | data[len]
 *
 *   type                         len   data
 *   1  SHUT                      4     be32 0 = clean end, else error
 *   2  PONG                      4     be32 echo of the PING value
 *   3  REQ_PAGES_ID              var   be64 start, be32 len, str8 block
 *   4  REQ_PAGES                 12    be64 start, be32 len (same block)
 *   5  RECV_BITMAP               var   str8 block name; the bitmap
 *                                      follows outside the message
 *   6  RESUME_ACK                4     be32 1
 *   7  SWITCHOVER_ACK            0
 *
 * Tern only (x-checkpoint-assisted, docs/wire-format.md section 12):
 *
 *   8  CKPT_OFFER                8     be64 n; n bytes of offer follow
 *                                      outside the message
 *   9  CKPT_REQ                  var   be64 page offset, str8 block
 *   10 CKPT_ACK                  4     be32 sync sequence number
 *   11 CKPT_PART                 8     be64 n; n bytes of an offer piece
 *                                      follow outside the message
 */
#ifndef MIGRATION_MESSAGES_H
#define MIGRATION_MESSAGES_H

/* ---- COMMAND records (source -> destination) ---- */

/* COMMAND record sub-commands (be16). */
enum qemu_vm_cmd {
    MIG_CMD_INVALID = 0,
    MIG_CMD_OPEN_RETURN_PATH,
    MIG_CMD_PING,
    MIG_CMD_POSTCOPY_ADVISE,
    MIG_CMD_POSTCOPY_LISTEN,
    MIG_CMD_POSTCOPY_RUN,
    MIG_CMD_POSTCOPY_RAM_DISCARD,
    MIG_CMD_PACKAGED,
    MIG_CMD_ENABLE_COLO,
    MIG_CMD_POSTCOPY_RESUME,
    MIG_CMD_RECV_BITMAP,
    MIG_CMD_MAX, /* 7.2: 11 and above are unknown */
};

/* Fixed data lengths of the commands that carry data. */
#define MIG_CMD_PING_LEN 4
#define MIG_CMD_PACKAGED_LEN 4
#define MIG_CMD_POSTCOPY_ADVISE_LEN 16

/* Largest PACKAGED nested stream accepted (QEMU's limit). */
#define MAX_VM_CMD_PACKAGED_SIZE (1ul << 24)

/* ---- return-path messages (destination -> source) ---- */

enum mig_rp_message_type {
    MIG_RP_MSG_INVALID = 0,
    MIG_RP_MSG_SHUT,
    MIG_RP_MSG_PONG,
    MIG_RP_MSG_REQ_PAGES_ID,
    MIG_RP_MSG_REQ_PAGES,
    MIG_RP_MSG_RECV_BITMAP,
    MIG_RP_MSG_RESUME_ACK,
    MIG_RP_MSG_SWITCHOVER_ACK,
    /*
     * Tern's checkpoint-assisted migration (x-checkpoint-assisted): sent
     * only after a Tern source asked for them with a checkpoint control
     * record in the ram section, never to a QEMU source.
     */
    MIG_RP_MSG_CKPT_OFFER,
    MIG_RP_MSG_CKPT_REQ,
    MIG_RP_MSG_CKPT_ACK,
    MIG_RP_MSG_CKPT_PART, /* a streamed offer's piece */
    MIG_RP_MSG_MAX,
};

/* Fixed data lengths. */
#define MIG_RP_MSG_SHUT_LEN 4
#define MIG_RP_MSG_PONG_LEN 4
#define MIG_RP_MSG_REQ_PAGES_LEN 12
#define MIG_RP_MSG_RESUME_ACK_LEN 4
#define MIG_RP_MSG_SWITCHOVER_ACK_LEN 0
/* be64 length of the offer that follows outside the message */
#define MIG_RP_MSG_CKPT_OFFER_LEN 8
/* be64 length of the offer piece that follows outside the message */
#define MIG_RP_MSG_CKPT_PART_LEN 8
/* be32 sequence number of the sync record answered */
#define MIG_RP_MSG_CKPT_ACK_LEN 4

/*
 * Longest data any return-path message may carry: QEMU 7.2 reads them
 * into a 512-byte buffer, and a longer one is an invalid message.
 */
#define MIG_RP_MSG_MAX_LEN 512
/* Variable types: be64 start, be32 length, str8 block (up to 255 bytes). */
#define MIG_RP_MSG_REQ_PAGES_ID_MAX_LEN (8 + 4 + 1 + 255)
/* str8 block name. */
#define MIG_RP_MSG_RECV_BITMAP_MAX_LEN (1 + 255)
/* be64 page offset, str8 block. */
#define MIG_RP_MSG_CKPT_REQ_MAX_LEN (8 + 1 + 255)

#endif /* MIGRATION_MESSAGES_H */
