/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * multifd.h (private to migration/): QEMU 7.2's multifd channels.
 *
 * With the multifd capability the source opens N extra channels after
 * the main one (channel ids 0..N-1).  Each begins with a 64-byte initial
 * packet (magic, version, the VM UUID, the id), then carries packets: a
 * fixed 1344-byte header (flags, page count, payload size, packet
 * number, block name, 128 page offsets) and the payload (the pages, raw
 * or compressed).  Only non-zero pages travel there; zero pages stay
 * ZERO records on the main stream.  Before every EOS of the ram section
 * on the main stream, every channel gets one packet with the SYNC flag;
 * the destination, at each EOS, waits for one SYNC from every channel.
 *
 *   multifd.c          the packet codec (encode, decode and check);
 *   multifd-send.c     the source's sender threads;
 *   ram-sink-multifd.c the page sink feeding them;
 *   multifd-recv.c     the destination's receiver threads.
 */
#ifndef MIGRATION_MULTIFD_H
#define MIGRATION_MULTIFD_H

#include "qemu/osdep.h"
#include "qapi/error.h"
#include "io/channel.h"
#include "migration/qemu-file.h"
#include "migration/options.h"
#include "sysemu/ramblock.h"

#define MULTIFD_MAGIC 0x11223344U
#define MULTIFD_VERSION 1
#define MULTIFD_FLAG_SYNC 0x1
#define MULTIFD_FLAG_COMPRESSION_MASK 0xe
#define MULTIFD_FLAG_NOCOMP 0x0
#define MULTIFD_FLAG_ZLIB 0x2
#define MULTIFD_FLAG_ZSTD 0x4
/* Pages per packet: 512 KiB of 4 KiB pages, fixed by 7.2's format. */
#define MULTIFD_PACKET_PAGES 128
#define MULTIFD_INIT_PACKET_SIZE 64
#define MULTIFD_RAMBLOCK_LEN 256
#define MULTIFD_PACKET_HEADER_SIZE                                             \
    (64 + MULTIFD_RAMBLOCK_LEN + 8 * MULTIFD_PACKET_PAGES)
/* The largest payload a packet may announce (compressed or not). */
#define MULTIFD_PAYLOAD_MAX (2 * MULTIFD_PACKET_PAGES * TARGET_PAGE_SIZE)

/* A packet header, decoded (host byte order). */
typedef struct MultiFDPacket {
    uint32_t flags;
    uint32_t pages_alloc;
    uint32_t normal_pages;
    uint32_t next_packet_size;
    uint64_t packet_num;
    char ramblock[MULTIFD_RAMBLOCK_LEN];
    uint64_t offset[MULTIFD_PACKET_PAGES];
} MultiFDPacket;

/* The flag bits of a compression method (MULTIFD_FLAG_*). */
uint32_t multifd_compression_flag(MultiFDCompression c);

/* Write the 64-byte initial packet of channel id (with qemu_uuid). */
void multifd_init_packet_encode(uint8_t buf[MULTIFD_INIT_PACKET_SIZE],
                                uint8_t id);

/*
 * Check a received initial packet against this side's UUID and its
 * channel count; the id in *id.  False with errp set (QEMU's texts).
 */
bool multifd_init_packet_decode(const uint8_t buf[MULTIFD_INIT_PACKET_SIZE],
                                int channels, uint8_t *id, Error **errp);

/*
 * Write a packet header for n pages of rb (rb may be NULL when n is 0)
 * at the given offsets, with flags and payload size.
 */
void multifd_packet_encode(uint8_t buf[MULTIFD_PACKET_HEADER_SIZE],
                           uint32_t flags, RAMBlock *rb, const uint64_t *offset,
                           uint32_t n, uint32_t payload, uint64_t packet_num);

/*
 * Decode and check a received packet header field by field: magic,
 * version, page counts, and when it carries pages the compression flag
 * (comp_flag expected), the payload size, the block and every offset.
 * Pages of 7.2's SYNC-only packets carry stale fields: not checked.
 * Fills *p and *rb (NULL without pages); false with errp set.
 */
bool multifd_packet_decode(const uint8_t buf[MULTIFD_PACKET_HEADER_SIZE],
                           uint32_t comp_flag, MultiFDPacket *p, RAMBlock **rb,
                           Error **errp);

/* ---- source: sender threads (multifd-send.c) ---- */

typedef struct MultiFDSend MultiFDSend;
struct MigrationState;
struct MigrationTransport;

/*
 * Open the migration's multifd-channels channels through transport t
 * (arg as for its outgoing_open), each wrapped in TLS when tls-creds is
 * set (hostname host), registered in s->channels and started with its
 * initial packet.  Migration thread, after the main channel.  False
 * with errp set naming the channel.
 */
bool multifd_send_connect(struct MigrationState *s,
                          const struct MigrationTransport *t, const char *arg,
                          const char *host, Error **errp);

/*
 * Sender threads over the multifd channels of s->channels (in order),
 * compressing with the multifd-compression parameter.  NULL with errp
 * set.  Caller frees with multifd_send_free().
 */
MultiFDSend *multifd_send_new(struct MigrationState *s, Error **errp);

/*
 * A page joins the packet being built: count its bytes now (not
 * compressed; else when compressed).  Migration thread.
 */
void multifd_send_count_page(MultiFDSend *ms);

/*
 * Queue a packet of n (1..MULTIFD_PACKET_PAGES) pages of rb at the page
 * offsets (bytes) on the next idle channel; blocks while every channel
 * is busy.  The pages are read from guest RAM by the channel's thread.
 * 0, or -EIO once a channel has failed (multifd_send_error()).
 */
int multifd_send_pages(MultiFDSend *ms, RAMBlock *rb, const uint64_t *offset,
                       uint32_t n);

/*
 * 7.2's sync: one SYNC packet on every channel after what is queued;
 * returns once all are written.  0 or -EIO (see multifd_send_error()).
 */
int multifd_send_sync(MultiFDSend *ms);

/* The first channel error (copied into errp); false if none. */
bool multifd_send_error(MultiFDSend *ms, Error **errp);

/* Stop and join the threads (after the last sync, or after an error). */
void multifd_send_free(MultiFDSend *ms);

/* ---- destination: receiver threads (multifd-recv.c) ---- */

/*
 * Start one receiver thread per multifd channel of channels (the
 * destination's MigrationChannel list): each reads and checks its
 * initial packet, then places the pages of its packets.  A channel's
 * error goes into main (the main stream, whose channel is shut down so
 * the loader stops).  Main thread.  False with errp set.
 */
bool multifd_recv_start(GPtrArray *channels, QEMUFile *main, Error **errp);

/*
 * Load thread, at each ram EOS: wait until every channel has received
 * its SYNC packet, then let them read on.  0 (also without multifd) or
 * negative errno with errp set (a channel failed or closed).
 */
int multifd_recv_sync_main(Error **errp);

/* Stop and join the receivers (main thread; nothing if none). */
void multifd_recv_cleanup(void);

/* Packets the receivers have read so far (any thread; only grows). */
uint64_t multifd_recv_packets(void);

#endif /* MIGRATION_MULTIFD_H */
