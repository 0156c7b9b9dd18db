/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * checkpoint-exchange.c: page digests, the offer's codec and the key set
 * (see checkpoint-exchange.h).
 *
 * SHA-256 comes from nettle: tests/bench/sha256-bench.c measured it
 * against GnuTLS on the development machines (both use the SHA
 * extensions there, within a few percent of each other) and nettle needs
 * no handle, so any thread hashes with a context on its stack.
 */
#include "qemu/osdep.h"
#include "qemu/bswap.h"
#include <nettle/sha2.h>
#include "checkpoint-exchange.h"

void checkpoint_hash_page(const uint8_t *page, uint8_t *digest)
{
    struct sha256_ctx ctx;

    sha256_init(&ctx);
    sha256_update(&ctx, TARGET_PAGE_SIZE, page);
    sha256_digest(&ctx, CKPT_DIGEST_BYTES, digest);
}

uint64_t checkpoint_digest_key(const uint8_t *digest)
{
    uint64_t key = ldq_be_p(digest);

    return key ? key : 1;
}

CkptOffer *checkpoint_offer_new(void)
{
    CkptOffer *o = g_new0(CkptOffer, 1);

    o->blocks = g_ptr_array_new();
    return o;
}

CkptOfferBlock *checkpoint_offer_add_block(CkptOffer *o, const char *idstr,
                                           uint64_t pages)
{
    CkptOfferBlock *b = g_new0(CkptOfferBlock, 1);

    g_strlcpy(b->idstr, idstr, sizeof(b->idstr));
    b->pages = pages;
    b->keys = g_new0(uint64_t, pages ? pages : 1);
    g_ptr_array_add(o->blocks, b);
    return b;
}

void checkpoint_offer_free(CkptOffer *o)
{
    if (!o) {
        return;
    }
    for (guint i = 0; i < o->blocks->len; i++) {
        CkptOfferBlock *b = g_ptr_array_index(o->blocks, i);

        g_free(b->keys);
        g_free(b);
    }
    g_ptr_array_free(o->blocks, true);
    g_free(o->extra);
    g_free(o);
}

static void offer_put_be32(GByteArray *a, uint32_t v)
{
    uint8_t b[4];

    stl_be_p(b, v);
    g_byte_array_append(a, b, sizeof(b));
}

static void offer_put_be64(GByteArray *a, uint64_t v)
{
    uint8_t b[8];

    stq_be_p(b, v);
    g_byte_array_append(a, b, sizeof(b));
}

static void offer_put_keys(GByteArray *a, const uint64_t *keys, uint64_t n)
{
    guint start = a->len;

    g_byte_array_set_size(a, start + n * 8);
    for (uint64_t i = 0; i < n; i++) {
        stq_be_p(a->data + start + i * 8, keys[i]);
    }
}

GByteArray *checkpoint_offer_encode(const CkptOffer *o)
{
    GByteArray *a = g_byte_array_new();

    offer_put_be32(a, CKPT_OFFER_MAGIC);
    offer_put_be32(a, o->blocks->len);
    for (guint i = 0; i < o->blocks->len; i++) {
        const CkptOfferBlock *b = g_ptr_array_index(o->blocks, i);
        uint8_t len = MIN(strlen(b->idstr), 255);

        g_byte_array_append(a, &len, 1);
        g_byte_array_append(a, (const uint8_t *)b->idstr, len);
        offer_put_be64(a, b->pages);
        offer_put_keys(a, b->keys, b->pages);
    }
    offer_put_be64(a, o->nr_extra);
    offer_put_keys(a, o->extra, o->nr_extra);
    return a;
}

/* A cursor over the peer's bytes; every read checks what is left. */
typedef struct OfferReader {
    const uint8_t *p;
    size_t left;
} OfferReader;

static bool offer_get(OfferReader *r, void *out, size_t n)
{
    if (r->left < n) {
        return false;
    }
    memcpy(out, r->p, n);
    r->p += n;
    r->left -= n;
    return true;
}

/* n be64 keys into a new array; false if fewer bytes are left. */
static bool offer_get_keys(OfferReader *r, uint64_t n, uint64_t **out)
{
    if (n > r->left / 8) {
        return false;
    }
    *out = g_new(uint64_t, n ? n : 1);
    for (uint64_t i = 0; i < n; i++) {
        (*out)[i] = ldq_be_p(r->p + i * 8);
    }
    r->p += n * 8;
    r->left -= n * 8;
    return true;
}

static bool offer_parse_block(OfferReader *r, CkptOffer *o, Error **errp)
{
    CkptOfferBlock *b = g_new0(CkptOfferBlock, 1);
    uint8_t len, be[8];

    g_ptr_array_add(o->blocks, b);
    if (!offer_get(r, &len, 1) || !offer_get(r, b->idstr, len) ||
        !offer_get(r, be, 8)) {
        error_setg(errp, "checkpoint offer: block %u truncated",
                   o->blocks->len - 1);
        return false;
    }
    if (memchr(b->idstr, 0, len)) {
        error_setg(errp, "checkpoint offer: block %u name holds a NUL byte",
                   o->blocks->len - 1);
        return false;
    }
    b->pages = ldq_be_p(be);
    if (!offer_get_keys(r, b->pages, &b->keys)) {
        error_setg(errp,
                   "checkpoint offer: block '%s' claims %" PRIu64
                   " pages, more than the offer holds",
                   b->idstr, b->pages);
        return false;
    }
    return true;
}

CkptOffer *checkpoint_offer_parse(const uint8_t *buf, size_t len, Error **errp)
{
    OfferReader r = {.p = buf, .left = len};
    CkptOffer *o = checkpoint_offer_new();
    uint8_t be[8];
    uint32_t n;

    if (!offer_get(&r, be, 8) || ldl_be_p(be) != CKPT_OFFER_MAGIC) {
        error_setg(errp, "checkpoint offer: bad magic");
        goto fail;
    }
    n = ldl_be_p(be + 4);
    if (n > CKPT_OFFER_MAX_BLOCKS) {
        error_setg(errp, "checkpoint offer: %u blocks (at most %d)", n,
                   CKPT_OFFER_MAX_BLOCKS);
        goto fail;
    }
    for (uint32_t i = 0; i < n; i++) {
        if (!offer_parse_block(&r, o, errp)) {
            goto fail;
        }
    }
    if (!offer_get(&r, be, 8) || !offer_get_keys(&r, ldq_be_p(be), &o->extra)) {
        error_setg(errp, "checkpoint offer: extra keys truncated");
        goto fail;
    }
    o->nr_extra = ldq_be_p(be);
    if (r.left) {
        error_setg(errp, "checkpoint offer: %zu trailing bytes", r.left);
        goto fail;
    }
    return o;

fail:
    checkpoint_offer_free(o);
    return NULL;
}

GByteArray *checkpoint_part_encode(const char *idstr, uint64_t pages,
                                   uint64_t first, const uint64_t *keys,
                                   uint64_t count)
{
    GByteArray *a = g_byte_array_new();
    uint8_t len = MIN(strlen(idstr), 255);

    g_byte_array_append(a, &len, 1);
    g_byte_array_append(a, (const uint8_t *)idstr, len);
    offer_put_be64(a, pages);
    offer_put_be64(a, first);
    offer_put_be64(a, count);
    offer_put_keys(a, keys, count);
    return a;
}

bool checkpoint_part_parse(const uint8_t *buf, size_t len, CkptOfferPart *p,
                           Error **errp)
{
    OfferReader r = {.p = buf, .left = len};
    uint8_t name_len, be[24];

    memset(p, 0, sizeof(*p));
    if (!offer_get(&r, &name_len, 1) || !offer_get(&r, p->idstr, name_len) ||
        !offer_get(&r, be, sizeof(be))) {
        error_setg(errp, "checkpoint offer part: truncated header");
        return false;
    }
    if (memchr(p->idstr, 0, name_len)) {
        error_setg(errp, "checkpoint offer part: block name holds a NUL byte");
        return false;
    }
    p->pages = ldq_be_p(be);
    p->first = ldq_be_p(be + 8);
    p->count = ldq_be_p(be + 16);
    if (p->count > CKPT_PART_MAX_KEYS || p->first > p->pages ||
        p->count > p->pages - p->first) {
        error_setg(errp,
                   "checkpoint offer part: pages %" PRIu64 "+%" PRIu64
                   " of block '%s' (%" PRIu64 " pages)",
                   p->first, p->count, p->idstr, p->pages);
        return false;
    }
    if (r.left != p->count * 8) {
        error_setg(errp,
                   "checkpoint offer part: %zu bytes of keys for %" PRIu64
                   " keys",
                   r.left, p->count);
        return false;
    }
    return offer_get_keys(&r, p->count, &p->keys);
}

static void keyset_add(CkptKeySet *s, uint64_t key)
{
    uint64_t i = (key * 0x9e3779b97f4a7c15ull) >> 20;

    if (!key) {
        return;
    }
    for (;; i++) {
        uint64_t *slot = &s->slots[i & s->mask];

        if (*slot == key) {
            return;
        }
        if (!*slot) {
            *slot = key;
            s->count++;
            return;
        }
    }
}

CkptKeySet *checkpoint_keyset_new(const CkptOffer *o)
{
    CkptKeySet *s = g_new0(CkptKeySet, 1);
    uint64_t n = o->nr_extra, size = 64;

    for (guint i = 0; i < o->blocks->len; i++) {
        n += ((CkptOfferBlock *)g_ptr_array_index(o->blocks, i))->pages;
    }
    while (size < 2 * n) {
        size *= 2;
    }
    s->slots = g_new0(uint64_t, size);
    s->mask = size - 1;
    for (guint i = 0; i < o->blocks->len; i++) {
        const CkptOfferBlock *b = g_ptr_array_index(o->blocks, i);

        for (uint64_t p = 0; p < b->pages; p++) {
            keyset_add(s, b->keys[p]);
        }
    }
    for (uint64_t i = 0; i < o->nr_extra; i++) {
        keyset_add(s, o->extra[i]);
    }
    return s;
}

void checkpoint_keyset_free(CkptKeySet *s)
{
    if (s) {
        g_free(s->slots);
        g_free(s);
    }
}

uint32_t checkpoint_advise_first(uint64_t max_bw)
{
    return !max_bw || max_bw > CKPT_FAST_LINK ? CKPT_CTL_ADVISE_ON_DEMAND
                                              : CKPT_CTL_ADVISE_STREAMED;
}

uint32_t checkpoint_advise_fallback(uint32_t refused)
{
    return refused == CKPT_CTL_ADVISE_ON_DEMAND ? CKPT_CTL_ADVISE_STREAMED_FAST
                                                : 0;
}
