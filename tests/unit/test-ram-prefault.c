/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test-ram-prefault.c: the destination's prefault helper with several
 * writers.  Proves, with mincore() on a 64 MiB anonymous block: the
 * helper populates the 16 chunks (2 MiB each) after the chunk a writer
 * reports and nothing beyond them; a chunk a writer reported before the
 * helper reached it is never populated by the helper (the writer's own
 * faults populate it: one thread per chunk); a writer reporting a chunk
 * the helper already populated goes on; the window follows the latest
 * report of either writer.  Waits have a generous deadline only to fail instead
 * of hang.
 */
#include "qemu/osdep.h"
#include <sys/mman.h>
#include "sysemu/ramblock.h"
#include "../../migration/ram-prefault.h"

#define CHUNK (2 * MiB)
#define BLOCK_CHUNKS 32

/* Is the first page of chunk c of rb resident? */
static bool chunk_resident(RAMBlock *rb, uint64_t c)
{
    unsigned char vec;

    g_assert_cmpint(mincore(rb->host + c * CHUNK, TARGET_PAGE_SIZE, &vec), ==,
                    0);
    return vec & 1;
}

/* Wait (at most 60 s) until chunks first..last of rb are resident. */
static void wait_resident(RAMBlock *rb, uint64_t first, uint64_t last)
{
    gint64 deadline = g_get_monotonic_time() + 60 * G_USEC_PER_SEC;

    for (uint64_t c = first; c <= last; c++) {
        while (!chunk_resident(rb, c)) {
            g_assert_cmpint(g_get_monotonic_time(), <, deadline);
            g_usleep(1000);
        }
    }
}

static void test_ram_prefault_writers(void)
{
    RAMBlock rb = {.idstr = "pc.ram", .fd = -1};
    RAMPrefaultCursor w0 = {0}, w1 = {0};
    RAMPrefault *pf;

    rb.used_length = BLOCK_CHUNKS * CHUNK;
    rb.host = mmap(NULL, rb.used_length, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    g_assert(rb.host != MAP_FAILED);
    /* 4 KiB pages: a huge page could straddle two chunks of this mapping */
    madvise(rb.host, rb.used_length, MADV_NOHUGEPAGE);
    if (madvise(rb.host, TARGET_PAGE_SIZE, MADV_POPULATE_WRITE)) {
        g_test_skip("no MADV_POPULATE_WRITE");
        munmap(rb.host, rb.used_length);
        return;
    }
    madvise(rb.host, rb.used_length, MADV_DONTNEED);

    pf = ram_prefault_new();
    ram_prefault_note_at(pf, &w0, &rb, 0); /* w0 takes chunk 0 */
    wait_resident(&rb, 1, 16);
    /* the window is full: the helper goes no further */
    g_assert_false(chunk_resident(&rb, 17));
    /* w1 takes 24, beyond the helper: the window moves after it */
    ram_prefault_note_at(pf, &w1, &rb, 24 * CHUNK + 4096);
    wait_resident(&rb, 25, BLOCK_CHUNKS - 1);
    /* w0 reports a chunk the helper populated: no wait, window after it */
    ram_prefault_note_at(pf, &w0, &rb, 8 * CHUNK);
    wait_resident(&rb, 17, 23);
    /*
     * 24 comes after 23 in the helper's order: give a helper that would
     * wrongly populate it the time to (correct code passes either way).
     */
    g_usleep(100 * 1000);
    ram_prefault_free(pf);

    /* the writers' own chunks: never populated by the helper */
    g_assert_false(chunk_resident(&rb, 0));
    g_assert_false(chunk_resident(&rb, 24));
    munmap(rb.host, rb.used_length);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/ram-prefault/writers", test_ram_prefault_writers);
    return g_test_run();
}
