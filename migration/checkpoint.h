/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * checkpoint.h (private to migration/): checkpoint-assisted migration,
 * capability x-checkpoint-assisted (Tern <-> Tern, with return-path).
 *
 * The destination holds an older checkpoint of the guest's RAM (its
 * "checkpoint" parameter, or -checkpoint PATH) and indexes it in the
 * background (checkpoint-index.h).  The exchange (docs/wire-format.md
 * section 12):
 *
 *   source                                  destination
 *   START ... CKPT_CTL advise-streamed  ->  starts streaming the offer:
 *                                       <-  CKPT_PART: per-address keys of
 *                                           each range indexed so far
 *                                           (checkpoint-stream.h), ...
 *                                       <-  CKPT_OFFER (no block): extra
 *                                           keys, once the index is done
 *   waits for the first piece only; a
 *   non-zero page whose digest key is
 *   offered at its address (or, after
 *   the final offer, anywhere) goes as
 *   HASH, any other whole               ->  reads the page from the file,
 *                                           checks its SHA-256; if the
 *                                           page is missing, unreadable
 *                                           or different:
 *                                       <-  CKPT_REQ block offset
 *   the page is queued as urgent and
 *   sent whole (never as HASH again)
 *   END: CKPT_CTL n (sync)              ->
 *                                       <-  CKPT_ACK n (after every REQ
 *                                           for the records before it)
 *   pages requested since: sent, sync
 *   again until none is outstanding
 *
 * On a fast link (max-bandwidth unlimited or above CKPT_FAST_LINK) every
 * page goes whole until the source measures that hashing pays
 * (checkpoint-pace.h), so the offer waits until asked for:
 *
 *   START ... CKPT_CTL advise-on-demand ->  starts verifying, pauses its
 *                                           indexing
 *                                       <-  CKPT_PART, empty: nothing more
 *   pages go whole; if hashing comes
 *   to pay (the link got slower):
 *   CKPT_CTL offer-now                  ->  indexing resumes (normal
 *                                           priority), the offer streams
 *                                           from the start as above
 *                                       <-  CKPT_PART ..., CKPT_OFFER
 *   then as in the streamed case
 *
 * A destination that predates an advise takes it for a sync and answers
 * CKPT_ACK with it; the source falls back: advise-on-demand ->
 * advise-streamed (fast link), advise-streamed -> CKPT_CTL 0 (advise), for
 * which it waits for the whole offer (one CKPT_OFFER with every block's
 * keys), as in the first version of the exchange.
 *
 * checkpoint-src.c is the source side (return-path handlers, the offer,
 * the sync), checkpoint-dst.c the destination side (index, offer, page
 * loads, statistics); ram-sink-checkpoint.c the source's page sink.
 */
#ifndef MIGRATION_CHECKPOINT_H
#define MIGRATION_CHECKPOINT_H

#include "qemu/osdep.h"
#include "qapi/error.h"
#include "migration/qemu-file.h"
#include "sysemu/ramblock.h"

typedef struct RAMPlacer RAMPlacer;

/* CKPT_CTL arguments and CKPT_FAST_LINK: checkpoint-exchange.h */
typedef struct CkptKeySet CkptKeySet;

/* Register the return-path handlers.  Start-up, main thread. */
void checkpoint_init(void);

/* ---- source ---- */

/*
 * A migration with x-checkpoint-assisted starts (migration thread, ram
 * setup): forget the previous offer, count from zero.
 */
void checkpoint_src_begin(void);

/*
 * A migration without x-checkpoint-assisted starts: query-migrate drops
 * the previous one's checkpoint figures.  Migration thread.
 */
void checkpoint_src_not_used(void);

/* The migration ended (any way): free the offer.  Migration thread. */
void checkpoint_src_end(void);

/* Write the advise record into the START payload on f (counts it). */
void checkpoint_src_send_advise(QEMUFile *f);

/*
 * Wait for the destination's offer (read by the return-path thread).
 * False with errp set if the migration fails or is cancelled first.
 */
bool checkpoint_src_wait_offer(QEMUFile *f, Error **errp);

/*
 * Hashing pays now (checkpoint-pace.h): if the destination holds the offer
 * back until asked (on-demand advise), ask for it on f (CKPT_CTL
 * OFFER_NOW, flushed); its pieces then arrive as in a streamed offer.
 * Once per migration; a no-op otherwise.  Migration thread.
 */
void checkpoint_src_offer_now(QEMUFile *f);

/* The offer's key set (after a successful wait), or NULL. */
const CkptKeySet *checkpoint_src_keys(void);

/* The key the offer lists at page of rb (0: none or unknown block). */
uint64_t checkpoint_src_key_at(RAMBlock *rb, uint64_t page);

/*
 * The page's address is not offered yet, the streamed offer still comes:
 * wait for it (up to 100 ms) if that beats sending the page whole (the
 * offer covers pages faster than a limited link carries them).  True if
 * the offer reached the page (or is complete).  Migration thread.
 */
bool checkpoint_src_wait_cover(RAMBlock *rb, uint64_t page);

/*
 * Page page of rb was requested again: it must go whole from now on.
 * checkpoint_src_whole() tells.  Any thread.
 */
void checkpoint_src_mark_whole(RAMBlock *rb, uint64_t page);
bool checkpoint_src_whole(RAMBlock *rb, uint64_t page);

/* The sink sent pages HASH records, moved of them for moved pages. */
void checkpoint_src_count(uint64_t pages, uint64_t moved);

/*
 * The sink's hashing so far: pages hashed ahead, non-zero pages the
 * sender reached before their hash (sent whole).  Migration thread.
 */
void checkpoint_src_count_hashing(uint64_t hashed, uint64_t unhashed);

/*
 * The sink's choice between hashes and whole pages (checkpoint-pace.h):
 * non-zero pages sent whole because hashing did not pay on the link, the
 * link's last measured speed and one thread's hash speed (bytes/s).
 * Migration thread.
 */
void checkpoint_src_count_pace(uint64_t whole, uint64_t link_bps,
                               uint64_t hash_bps);

/*
 * Write sync record n on f, flush, wait for its CKPT_ACK.  Returns how
 * many pages the destination asked for since the previous sync (they are
 * queued), or a negative errno with errp set.  Migration thread.
 */
int checkpoint_src_sync(QEMUFile *f, Error **errp);

/* ---- destination ---- */

/* The "checkpoint" parameter changed: (re)start or drop the index. */
void checkpoint_dst_configure(void);

/*
 * A CKPT_CTL record: arg 0 (advise) waits for the index and sends the
 * offer; the CKPT_CTL_* advises start the streamed offer or hold it until
 * CKPT_CTL_OFFER_NOW; arg n answers sync n with CKPT_ACK n.  Load thread.
 */
int checkpoint_dst_control(uint64_t arg, Error **errp);

/*
 * A HASH record for the page at host (offset addr in rb): copy it from
 * the checkpoint if its SHA-256 matches digest, else ask the source for
 * it; queued to worker threads (checkpoint_dst_wait()).  Returns 0, or
 * negative errno with errp set (no return path to ask on).  Load thread.
 */
int checkpoint_dst_load_page(RAMPlacer *pl, RAMBlock *rb, uint8_t *host,
                             uint64_t addr, const uint8_t *digest,
                             Error **errp);

/*
 * The end of a payload (EOS): wait until every HASH record's page is
 * placed or asked for again (they are verified on worker threads).
 * Returns 0, or negative errno with errp set.  Load thread.
 */
int checkpoint_dst_wait(Error **errp);

/*
 * The load ended (any way): stop the verification workers and drop the
 * index reference.  Load thread.
 */
void checkpoint_dst_load_end(void);

/* ---- statistics (query-migrate "checkpoint") ---- */

typedef struct MigrationCheckpointInfo {
    /* source: set when the last outgoing migration used the capability */
    bool has_source;
    uint64_t pages;       /* pages sent as HASH records */
    uint64_t moved_pages; /* ... found at another address */
    uint64_t bytes_saved; /* page bytes not sent, minus the digests */
    uint64_t requested;   /* pages the destination asked for again */
    uint64_t offer_bytes; /* the exchange: advise + offer bytes */
    int64_t offer_time;   /* ms from advise to offer parsed */
    uint64_t hashed;      /* pages hashed ahead of the sender */
    uint64_t unhashed;    /* non-zero pages sent before their hash */
    uint64_t whole;       /* non-zero pages sent whole: the link was faster */
    uint64_t link_speed;  /* bytes/s, last measured; 0: not yet */
    uint64_t hash_speed;  /* bytes/s, one thread */
    /* destination: set when a checkpoint is configured */
    bool has_destination;
    char *file;               /* owned */
    const char *index_status; /* "indexing", "ready", "failed" */
    int64_t index_time;       /* ms */
    uint64_t indexed_pages;
    uint64_t loaded_pages; /* pages copied from the checkpoint */
    uint64_t rerequested;  /* HASH pages asked from the source again */
    uint64_t busy;         /* of them, because verification was behind */
} MigrationCheckpointInfo;

/* Fill *info (caller frees info->file). Any thread. */
void checkpoint_info_get(MigrationCheckpointInfo *info);

/* The source's members of *info (checkpoint-src.c). */
void checkpoint_src_info(MigrationCheckpointInfo *info);

#endif /* MIGRATION_CHECKPOINT_H */
