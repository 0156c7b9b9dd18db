/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * checkpoint-exchange.h (private to migration/): the page hashes of
 * checkpoint-assisted migration and the offer a destination sends to the
 * source before the first pass (docs/wire-format.md section 12).
 *
 * A page is named by its SHA-256 digest; the offer carries each digest's
 * "key", its first 8 bytes as a be64 (0 is reserved for "no page"), so
 * it costs 8 bytes per guest page:
 *
 *   be32 magic "TCK1" | be32 nr_blocks
 *   per block: str8 idstr | be64 pages | pages x be64 key (0: none)
 *   be64 nr_extra | nr_extra x be64 key   (pages held at no address)
 *
 * The per-address keys say what the checkpoint holds at each page of
 * each block; together with the extra keys they are the set of every
 * page the destination can supply, wherever it lies.  A key only selects
 * a candidate: the full digest travels in the HASH record and the
 * destination checks the page it reads against it.
 *
 * Nothing here keeps global state or does I/O: the parser takes bytes
 * from the peer and is fuzzed (tests/fuzz/fuzz-checkpoint-exchange.c).
 */
#ifndef MIGRATION_CHECKPOINT_EXCHANGE_H
#define MIGRATION_CHECKPOINT_EXCHANGE_H

#include "qemu/osdep.h"
#include "qapi/error.h"

#define CKPT_DIGEST_BYTES 32
#define CKPT_OFFER_MAGIC 0x54434b31 /* "TCK1" */
/* More blocks than any machine has: an offer with more is invalid. */
#define CKPT_OFFER_MAX_BLOCKS 64

/*
 * CKPT_CTL arguments (checkpoint.h has the exchange): 0 advise (the
 * destination answers with the whole offer once indexed), n = 1, 2, ...
 * sync n, and the ones below.  This one: advise, streamed offer.  A
 * destination that does not stream takes it for a sync and answers
 * CKPT_ACK with it, so the source falls back to advise.
 */
#define CKPT_CTL_ADVISE_STREAMED 0x80000002u
/*
 * The same, from a source on a fast link (max-bandwidth above 1 GiB/s or
 * unlimited): pages will come faster than the checkpoint is indexed, so
 * the destination's indexing yields the processors to the load
 * (SCHED_IDLE) from then on.
 */
#define CKPT_CTL_ADVISE_STREAMED_FAST 0x80000003u
/*
 * Advise from a source on a fast link, offer on demand: the destination
 * starts verifying, pauses its indexing (as for _FAST) and answers with an
 * empty piece only; it streams the offer (from the start, as for
 * advise-streamed, indexing resumed at normal priority) when the source
 * sends CKPT_CTL_OFFER_NOW, which it does once hashing pays on the link
 * (checkpoint-pace.h).  A destination that predates it answers CKPT_ACK
 * (a sync); the source then falls back to _FAST.
 */
#define CKPT_CTL_ADVISE_ON_DEMAND 0x80000004u
/* After an on-demand advise: "stream the offer now" (at most once). */
#define CKPT_CTL_OFFER_NOW 0x80000005u
/* The max-bandwidth (bytes/s) above which a link counts as fast. */
#define CKPT_FAST_LINK (1ull << 30)

/*
 * The advise a source sends first for a link of max_bw bytes/s (0:
 * unlimited): on a fast link, offer on demand, else streamed.
 */
uint32_t checkpoint_advise_first(uint64_t max_bw);

/*
 * The advise to send after a destination took refused (an advise it
 * predates) for a sync: on demand -> streamed on a fast link, streamed
 * (either) -> 0, the first version's advise (the whole offer, once
 * indexed), after which nothing is left to fall back to.
 */
uint32_t checkpoint_advise_fallback(uint32_t refused);

/* digest = SHA-256 of the TARGET_PAGE_SIZE bytes at page. */
void checkpoint_hash_page(const uint8_t *page, uint8_t *digest);

/* The offer key of a digest: its first 8 bytes (big-endian), never 0. */
uint64_t checkpoint_digest_key(const uint8_t *digest);

typedef struct CkptOfferBlock {
    char idstr[256];
    uint64_t pages;
    uint64_t *keys; /* pages entries, 0 = no page at that address */
} CkptOfferBlock;

typedef struct CkptOffer {
    GPtrArray *blocks; /* CkptOfferBlock *, owned */
    uint64_t *extra;   /* keys of pages held at no block address */
    uint64_t nr_extra;
} CkptOffer;

/* An empty offer (no block, no extra key); free with checkpoint_offer_free. */
CkptOffer *checkpoint_offer_new(void);

/* Add a block of pages keys (all 0); returns it for the caller to fill. */
CkptOfferBlock *checkpoint_offer_add_block(CkptOffer *o, const char *idstr,
                                           uint64_t pages);

/* Free o and everything in it (NULL is fine). */
void checkpoint_offer_free(CkptOffer *o);

/* The offer's wire form (caller frees with g_byte_array_unref). */
GByteArray *checkpoint_offer_encode(const CkptOffer *o);

/*
 * Parse len bytes of a peer's offer.  NULL with errp set when the bytes
 * are not exactly one well-formed offer (bad magic, counts that run past
 * the end, trailing bytes, more than CKPT_OFFER_MAX_BLOCKS blocks).
 */
CkptOffer *checkpoint_offer_parse(const uint8_t *buf, size_t len, Error **errp);

/*
 * A piece of a streamed offer (the CKPT_PART message): the keys at count
 * pages of block idstr (which has pages pages) from page first:
 *
 *   str8 idstr | be64 pages | be64 first | be64 count | count x be64 key
 */
#define CKPT_PART_MAX_KEYS 65536

typedef struct CkptOfferPart {
    char idstr[256];
    uint64_t pages;
    uint64_t first;
    uint64_t count;
    uint64_t *keys; /* count entries, owned (g_free) */
} CkptOfferPart;

/* The wire form of a piece (caller frees with g_byte_array_unref). */
GByteArray *checkpoint_part_encode(const char *idstr, uint64_t pages,
                                   uint64_t first, const uint64_t *keys,
                                   uint64_t count);

/*
 * Parse len bytes of a peer's piece into *p (p->keys to be freed by the
 * caller on success).  False with errp set when the bytes are not exactly
 * one well-formed piece (truncated, trailing bytes, a NUL in the name,
 * more than CKPT_PART_MAX_KEYS keys, a range past the block's end).
 */
bool checkpoint_part_parse(const uint8_t *buf, size_t len, CkptOfferPart *p,
                           Error **errp);

/*
 * The set of every non-zero key of an offer (per-address and extra), for
 * the source's one-lookup-per-page test: open addressing, power-of-two
 * table at most half full.
 */
typedef struct CkptKeySet {
    uint64_t *slots; /* 0 = empty */
    uint64_t mask;
    uint64_t count;
} CkptKeySet;

/* The set of o's keys; caller frees with checkpoint_keyset_free. */
CkptKeySet *checkpoint_keyset_new(const CkptOffer *o);
void checkpoint_keyset_free(CkptKeySet *s);

/* True if key (non-zero) is in s. */
static inline bool checkpoint_keyset_has(const CkptKeySet *s, uint64_t key)
{
    uint64_t i = (key * 0x9e3779b97f4a7c15ull) >> 20;

    for (;; i++) {
        uint64_t v = s->slots[i & s->mask];

        if (v == key) {
            return true;
        }
        if (!v) {
            return false;
        }
    }
}

#endif /* MIGRATION_CHECKPOINT_EXCHANGE_H */
