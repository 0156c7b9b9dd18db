/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * checkpoint-stream.h (private to migration/): the destination's
 * streamed offer for checkpoint-assisted migration (docs/wire-format.md
 * section 12, "streamed offer").
 *
 * Instead of waiting for its whole index before the source may send a
 * page, the destination sends the offer in pieces while indexing runs:
 * as each leading run of the file's pages is indexed, the keys of the
 * pages it holds at addresses of our RAM blocks go out as CKPT_PART
 * messages (file order, which is address order for a dump); once the
 * index is complete, a CKPT_OFFER without blocks carries the keys of the
 * pages at no address of ours and ends the exchange.  The source never
 * waits: a page whose address is not offered yet goes whole (or as HASH
 * once the final offer says its digest is held elsewhere).
 *
 * The stream also remembers which file page it offered at each address,
 * so that a HASH record arriving before the index is complete is
 * verified against that page (checkpoint_stream_lookup()).
 *
 * Threads: start/free from the load thread; the pieces are sent by the
 * stream's own thread; lookup from any thread.
 */
#ifndef MIGRATION_CHECKPOINT_STREAM_H
#define MIGRATION_CHECKPOINT_STREAM_H

#include "qemu/osdep.h"
#include "sysemu/ramblock.h"
#include "checkpoint-index.h"

typedef struct CkptStream CkptStream;

/*
 * Start streaming the offer of ci (NULL: no usable checkpoint, the final
 * empty offer goes at once).  announce: the first message is sent before
 * this returns (an empty piece), so the source learns at once that the
 * destination streams; without it the caller announced already
 * (checkpoint_stream_announce()).  ci must outlive the result.
 */
CkptStream *checkpoint_stream_start(CheckpointIndex *ci, bool announce);

/*
 * Send the empty piece that tells the source the offer is streamed (or,
 * on demand, held until asked for).  False, sending nothing, when there
 * is no RAM block to name in it.  Load thread.
 */
bool checkpoint_stream_announce(void);

/*
 * The entry offered at offset addr of rb if its digest is digest, else
 * NULL.  Any thread.
 */
const CkptIndexEntry *checkpoint_stream_lookup(CkptStream *st, RAMBlock *rb,
                                               uint64_t addr,
                                               const uint8_t *digest);

/*
 * A checkpoint_index_foreach() callback: appends the key of e to the
 * GArray of uint64_t opaque when e is at no address of our RAM blocks
 * (an "extra" key of the final offer, for pages that moved).
 */
void checkpoint_stream_extra_key(const CkptIndexEntry *e, void *opaque);

/* Stop sending (if still), free (NULL is fine).  Load thread. */
void checkpoint_stream_free(CkptStream *st);

#endif /* MIGRATION_CHECKPOINT_STREAM_H */
