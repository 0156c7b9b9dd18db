/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * ram-unacked.c: pages sent but not yet acknowledged, per block (see
 * ram-unacked.h).  Migration thread only: no locks.
 */
#include "qemu/osdep.h"
#include "qemu/bitmap.h"
#include "qemu/bitops.h"
#include "ram-unacked.h"

typedef struct RAMUnackedBlock {
    unsigned long *set[2];
    uint64_t pages;
} RAMUnackedBlock;

struct RAMUnacked {
    GHashTable *blocks; /* RAMBlock * -> RAMUnackedBlock * */
    RAMBlock *last_rb;  /* the last lookup */
    RAMUnackedBlock *last;
    int cur; /* index of the current set; the other is covered */
};

static void ram_unacked_block_free(gpointer p)
{
    RAMUnackedBlock *b = p;

    g_free(b->set[0]);
    g_free(b->set[1]);
    g_free(b);
}

RAMUnacked *ram_unacked_new(void)
{
    RAMUnacked *u = g_new0(RAMUnacked, 1);

    u->blocks = g_hash_table_new_full(NULL, NULL, NULL, ram_unacked_block_free);
    return u;
}

void ram_unacked_free(RAMUnacked *u)
{
    if (u) {
        g_hash_table_destroy(u->blocks);
        g_free(u);
    }
}

void ram_unacked_note(RAMUnacked *u, RAMBlock *rb, uint64_t page)
{
    if (u->last_rb != rb) {
        RAMUnackedBlock *b = g_hash_table_lookup(u->blocks, rb);

        if (!b) {
            b = g_new0(RAMUnackedBlock, 1);
            b->pages = ram_block_pages(rb);
            b->set[0] = bitmap_new(b->pages);
            b->set[1] = bitmap_new(b->pages);
            g_hash_table_insert(u->blocks, rb, b);
        }
        u->last_rb = rb;
        u->last = b;
    }
    if (page < u->last->pages) {
        set_bit(page, u->last->set[u->cur]);
    }
}

void ram_unacked_flip(RAMUnacked *u)
{
    GHashTableIter it;
    gpointer value;

    u->cur ^= 1;
    g_hash_table_iter_init(&it, u->blocks);
    while (g_hash_table_iter_next(&it, NULL, &value)) {
        RAMUnackedBlock *b = value;

        bitmap_zero(b->set[u->cur], b->pages);
    }
}

void ram_unacked_acked(RAMUnacked *u)
{
    GHashTableIter it;
    gpointer value;

    g_hash_table_iter_init(&it, u->blocks);
    while (g_hash_table_iter_next(&it, NULL, &value)) {
        RAMUnackedBlock *b = value;

        bitmap_zero(b->set[u->cur ^ 1], b->pages);
    }
}

uint64_t ram_unacked_to_dirty(RAMUnacked *u)
{
    GHashTableIter it;
    gpointer key, value;
    uint64_t n = 0;

    g_hash_table_iter_init(&it, u->blocks);
    while (g_hash_table_iter_next(&it, &key, &value)) {
        RAMBlock *rb = key;
        RAMUnackedBlock *b = value;

        bitmap_or(b->set[0], b->set[0], b->set[1], b->pages);
        n += bitmap_count_one(b->set[0], b->pages);
        if (rb->bmap && ram_block_pages(rb) == b->pages) {
            bitmap_or(rb->bmap, rb->bmap, b->set[0], b->pages);
        }
        bitmap_zero(b->set[0], b->pages);
        bitmap_zero(b->set[1], b->pages);
    }
    return n;
}
