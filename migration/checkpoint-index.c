/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * checkpoint-index.c: index a checkpoint file by page digest and by
 * guest-physical address (see checkpoint-index.h).
 *
 * The file's layout is read first (the PT_LOAD segments of a
 * dump-guest-memory ELF, or a mapped-ram file's present pages), then the
 * segments are cut into chunks of CKPT_INDEX_CHUNK_PAGES pages, which one
 * thread per processor claims in turn: it reads the chunk and hashes its
 * non-zero pages into the chunk's own slots of the entry array (one slot
 * per page of the file, so the threads never share a slot).  Once every
 * chunk is done, the two lookup tables (open addressing, slot numbers;
 * zero pages' slots left out) are built over the array.
 *
 * While indexing runs, the chunks finished so far are readable: a chunk
 * is marked done (release) after its slots are written, and ready_slots,
 * the slots of the leading run of done chunks, only grows (under
 * ready_lock, read with acquire), so a streamed offer can go out in file
 * order as the indexing proceeds.
 *
 * Locking: the indexing threads own the unfinished chunks; the tables
 * are published (release) once built and read-only afterwards; done is
 * set under lock, with cond broadcast.  The progress counters are relaxed
 * atomics.
 */
#include "qemu/osdep.h"
#include "qemu/buffer-zero.h"
#include "qemu/error-report.h"
#include <elf.h>
#include <sys/stat.h>
#include "qemu/bitmap.h"
#include "qemu/thread.h"
#include "sysemu/ramblock.h"
#include "checkpoint-index.h"
#include "mapped-ram-format.h"

/*
 * Pages read from the file at a time by an indexing thread: 256 KiB, so
 * that the buffer stays in the core's cache while its pages are hashed.
 */
#define CKPT_INDEX_CHUNK_PAGES 64
/* Indexing threads: one per processor, at most this many. */
#define CKPT_INDEX_MAX_THREADS 16
/* file_off of an entry slot whose page is zero (dropped after hashing). */
#define CKPT_NO_FILE_OFF UINT64_MAX
/* More PT_LOAD segments than a dump of any Tern machine has. */
#define CKPT_INDEX_MAX_SEGMENTS 1024

/* A run of pages in the file and where they sit in the guest. */
typedef struct CkptSegment {
    uint64_t file_off;
    uint64_t len;
    uint64_t gpa; /* CKPT_NO_GPA: not page-aligned, no address */
} CkptSegment;

struct CheckpointIndex {
    char *path;
    int fd;
    GThread *thread;
    bool cancel; /* atomic: stop indexing */
    bool paused; /* set under lock, read atomic: the threads wait */
    bool idle;   /* set under lock, read atomic: threads at SCHED_IDLE */

    GMutex lock;
    GCond cond;
    bool done; /* under lock */
    Error *err;

    GArray *entries;      /* CkptIndexEntry, one slot per page of the file */
    uint64_t nr_slots;    /* atomic: entries->len once laid out */
    GArray *chunks;       /* CkptChunk, in file order */
    uint8_t *chunk_done;  /* atomic: per chunk, its slots are written */
    GMutex ready_lock;    /* advances ready_chunks */
    guint ready_chunks;   /* under ready_lock: leading done chunks */
    uint64_t ready_slots; /* atomic: their slots */
    uint32_t *by_digest;  /* atomic ptr: slot + 1 by digest key, 0: empty */
    uint32_t *by_gpa;     /* atomic ptr: slot + 1 by page address, 0: empty */
    uint64_t mask;        /* of both tables (size - 1) */
    unsigned int threads; /* indexing threads used */
    int64_t start_us;
    int64_t end_us;       /* atomic; 0 while indexing */
    uint64_t pages, zero; /* atomic */
    uint64_t bytes_read;  /* atomic */
};

/* ---- the file's layout ---- */

static bool ckpt_pread_all(int fd, void *buf, size_t len, uint64_t off)
{
    uint8_t *p = buf;

    while (len) {
        ssize_t n = pread(fd, p, len, off);

        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            if (n == 0) {
                errno = ENODATA;
            }
            return false;
        }
        p += n;
        off += n;
        len -= n;
    }
    return true;
}

/* Does the file start with the ELF magic? */
static bool checkpoint_index_is_elf(CheckpointIndex *ci)
{
    uint8_t magic[SELFMAG];

    return ckpt_pread_all(ci->fd, magic, SELFMAG, 0) &&
           !memcmp(magic, ELFMAG, SELFMAG);
}

/* The PT_LOAD segments of an ELF64 little-endian core file. */
static GArray *checkpoint_index_elf(CheckpointIndex *ci, uint64_t size,
                                    Error **errp)
{
    g_autofree Elf64_Phdr *ph = NULL;
    Elf64_Ehdr eh;
    GArray *segs;

    if (!ckpt_pread_all(ci->fd, &eh, sizeof(eh), 0) ||
        memcmp(eh.e_ident, ELFMAG, SELFMAG) ||
        eh.e_ident[EI_CLASS] != ELFCLASS64 ||
        eh.e_ident[EI_DATA] != ELFDATA2LSB) {
        error_setg(errp, "checkpoint '%s': not a dump-guest-memory ELF file",
                   ci->path);
        return NULL;
    }
    if (eh.e_phentsize != sizeof(Elf64_Phdr) || !eh.e_phnum ||
        eh.e_phnum > CKPT_INDEX_MAX_SEGMENTS || eh.e_phoff > size ||
        (uint64_t)eh.e_phnum * sizeof(Elf64_Phdr) > size - eh.e_phoff) {
        error_setg(errp, "checkpoint '%s': bad ELF program headers", ci->path);
        return NULL;
    }
    ph = g_new(Elf64_Phdr, eh.e_phnum);
    if (!ckpt_pread_all(ci->fd, ph, eh.e_phnum * sizeof(Elf64_Phdr),
                        eh.e_phoff)) {
        error_setg_errno(errp, errno, "checkpoint '%s'", ci->path);
        return NULL;
    }
    segs = g_array_new(false, false, sizeof(CkptSegment));
    for (int i = 0; i < eh.e_phnum; i++) {
        CkptSegment s;

        if (ph[i].p_type != PT_LOAD || ph[i].p_offset >= size) {
            continue;
        }
        s.file_off = ph[i].p_offset;
        s.len = MIN(ph[i].p_filesz, size - ph[i].p_offset);
        s.gpa = ph[i].p_paddr % TARGET_PAGE_SIZE ? CKPT_NO_GPA : ph[i].p_paddr;
        g_array_append_val(segs, s);
    }
    return segs;
}

/* The runs of pages present in one mapped-ram block. */
static bool checkpoint_index_mapped_block(CheckpointIndex *ci,
                                          MappedRamFile *mf,
                                          MappedRamBlock *blk, GArray *segs,
                                          Error **errp)
{
    const unsigned long *bmap = mapped_ram_block_bitmap(mf, blk, errp);
    uint64_t pages = mapped_ram_block_pages(blk);
    RAMBlock *rb = ram_block_by_name(blk->idstr);
    uint64_t p = 0;

    if (!bmap) {
        return false;
    }
    if (rb && rb->used_length != blk->used_length) {
        rb = NULL; /* another machine's block: its pages have no address */
    }
    while ((p = find_next_bit(bmap, pages, p)) < pages) {
        uint64_t end = find_next_zero_bit(bmap, pages, p);
        CkptSegment s = {
            .file_off = mapped_ram_block_page_offset(blk, p),
            .len = (end - p) * TARGET_PAGE_SIZE,
            .gpa = rb ? rb->gpa + p * TARGET_PAGE_SIZE : CKPT_NO_GPA,
        };

        g_array_append_val(segs, s);
        p = end;
    }
    return true;
}

/*
 * The pages of a mapped-ram file (a Tern or QEMU 9 save with the
 * mapped-ram capability): each block's present pages, at the address of
 * our block of the same name and size.
 */
static GArray *checkpoint_index_mapped(CheckpointIndex *ci, Error **errp)
{
    MappedRamFile *mf = mapped_ram_file_open_fd(ci->fd, 0, errp);
    GArray *segs;

    if (!mf) {
        error_prepend(errp,
                      "checkpoint '%s': not a dump-guest-memory ELF "
                      "or mapped-ram file: ",
                      ci->path);
        return NULL;
    }
    segs = g_array_new(false, false, sizeof(CkptSegment));
    for (size_t i = 0; i < mf->nblocks; i++) {
        if (mf->blocks[i].hdr.page_size != TARGET_PAGE_SIZE ||
            !checkpoint_index_mapped_block(ci, mf, &mf->blocks[i], segs,
                                           errp)) {
            if (!*errp) {
                error_setg(errp,
                           "checkpoint '%s': block '%s' has pages of "
                           "%" PRIu64 " bytes",
                           ci->path, mf->blocks[i].idstr,
                           mf->blocks[i].hdr.page_size);
            }
            g_array_free(segs, true);
            segs = NULL;
            break;
        }
    }
    mapped_ram_file_free(mf);
    return segs;
}

/* ---- indexing ---- */

/* One piece of work: up to CKPT_INDEX_CHUNK_PAGES pages of a segment. */
typedef struct CkptChunk {
    uint64_t file_off;
    uint64_t gpa;  /* of the first page, or CKPT_NO_GPA */
    uint64_t slot; /* entry slot of the first page */
    uint32_t pages;
} CkptChunk;

/* Split the segments into chunks; returns the number of page slots. */
static uint64_t checkpoint_index_chunks(GArray *segs, GArray *chunks)
{
    uint64_t slot = 0;

    for (guint i = 0; i < segs->len; i++) {
        const CkptSegment *s = &g_array_index(segs, CkptSegment, i);
        uint64_t pages = s->len / TARGET_PAGE_SIZE;

        for (uint64_t p = 0; p < pages; p += CKPT_INDEX_CHUNK_PAGES) {
            CkptChunk c = {
                .file_off = s->file_off + p * TARGET_PAGE_SIZE,
                .gpa = s->gpa == CKPT_NO_GPA ? CKPT_NO_GPA
                                             : s->gpa + p * TARGET_PAGE_SIZE,
                .slot = slot,
                .pages = MIN(pages - p, CKPT_INDEX_CHUNK_PAGES),
            };

            g_array_append_val(chunks, c);
            slot += c.pages;
        }
    }
    return slot;
}

/* A zero page, answered after one word for most data pages. */
static bool ckpt_page_is_zero(const uint8_t *page)
{
    uint64_t first;

    memcpy(&first, page, sizeof(first));
    return first == 0 && buffer_is_zero(page, TARGET_PAGE_SIZE);
}

/* Read and hash one chunk into its slots (zero pages: file_off unset). */
static bool checkpoint_index_chunk(CheckpointIndex *ci, const CkptChunk *c,
                                   uint8_t *buf, Error **errp)
{
    CkptIndexEntry *slots = &g_array_index(ci->entries, CkptIndexEntry, 0);
    uint64_t zero = 0;

    if (!ckpt_pread_all(ci->fd, buf, c->pages * TARGET_PAGE_SIZE,
                        c->file_off)) {
        error_setg_errno(errp, errno, "checkpoint '%s': read failed", ci->path);
        return false;
    }
    for (uint32_t i = 0; i < c->pages; i++) {
        const uint8_t *page = buf + i * TARGET_PAGE_SIZE;
        CkptIndexEntry *e = &slots[c->slot + i];

        if (ckpt_page_is_zero(page)) {
            e->file_off = CKPT_NO_FILE_OFF;
            zero++;
            continue;
        }
        checkpoint_hash_page(page, e->digest);
        e->file_off = c->file_off + i * TARGET_PAGE_SIZE;
        e->gpa =
            c->gpa == CKPT_NO_GPA ? CKPT_NO_GPA : c->gpa + i * TARGET_PAGE_SIZE;
    }
    __atomic_fetch_add(&ci->zero, zero, __ATOMIC_RELAXED);
    __atomic_fetch_add(&ci->pages, c->pages - zero, __ATOMIC_RELAXED);
    __atomic_fetch_add(&ci->bytes_read, c->pages * TARGET_PAGE_SIZE,
                       __ATOMIC_RELAXED);
    return true;
}

/* Chunk i is written: advance the leading run of done chunks. */
static void checkpoint_index_chunk_done(CheckpointIndex *ci, guint i)
{
    __atomic_store_n(&ci->chunk_done[i], 1, __ATOMIC_RELEASE);
    g_mutex_lock(&ci->ready_lock);
    while (
        ci->ready_chunks < ci->chunks->len &&
        __atomic_load_n(&ci->chunk_done[ci->ready_chunks], __ATOMIC_ACQUIRE)) {
        ci->ready_chunks++;
    }
    __atomic_store_n(
        &ci->ready_slots,
        ci->ready_chunks < ci->chunks->len
            ? g_array_index(ci->chunks, CkptChunk, ci->ready_chunks).slot
            : ci->entries->len,
        __ATOMIC_RELEASE);
    g_mutex_unlock(&ci->ready_lock);
}

/* Wait while the indexing is paused (or until it is stopped). */
static void checkpoint_index_wait_resumed(CheckpointIndex *ci)
{
    g_mutex_lock(&ci->lock);
    while (ci->paused && !__atomic_load_n(&ci->cancel, __ATOMIC_RELAXED)) {
        g_cond_wait(&ci->cond, &ci->lock);
    }
    g_mutex_unlock(&ci->lock);
}

/*
 * Follow ci->idle (*idle: the calling thread's state).  A pause means a
 * migration wanted the processors (checkpoint_index_pause()): what is
 * left after it is for a later one, so it goes on at SCHED_IDLE, not
 * against the guest that just started here (at normal priority it took
 * 80 ms from the end of a 1 s loopback migration); until a migration
 * waits for it again (checkpoint_index_hurry()).  Best effort.
 */
static void checkpoint_index_follow_idle(CheckpointIndex *ci, bool *idle)
{
    bool want = __atomic_load_n(&ci->idle, __ATOMIC_RELAXED);

    if (want != *idle) {
        *idle = want;
        if (want) {
            qemu_thread_set_idle();
        } else {
            qemu_thread_set_normal();
        }
    }
}

/* The work shared by the indexing threads. */
typedef struct CkptIndexJob {
    CheckpointIndex *ci;
    GArray *chunks;  /* CkptChunk */
    guint next;      /* atomic: next chunk to claim */
    bool failed;     /* atomic: a worker failed, everyone stops */
    GMutex err_lock; /* protects err */
    Error *err;      /* the first failure */
} CkptIndexJob;

static gpointer checkpoint_index_worker(gpointer opaque)
{
    CkptIndexJob *job = opaque;
    CheckpointIndex *ci = job->ci;
    g_autofree uint8_t *buf =
        g_malloc(CKPT_INDEX_CHUNK_PAGES * TARGET_PAGE_SIZE);
    Error *err = NULL;
    bool idle = false;
    guint i;

    while ((i = __atomic_fetch_add(&job->next, 1, __ATOMIC_RELAXED)) <
           job->chunks->len) {
        if (__atomic_load_n(&ci->paused, __ATOMIC_RELAXED)) {
            checkpoint_index_wait_resumed(ci);
        }
        checkpoint_index_follow_idle(ci, &idle);
        if (__atomic_load_n(&ci->cancel, __ATOMIC_RELAXED)) {
            error_setg(&err, "checkpoint '%s': indexing stopped", ci->path);
        } else if (__atomic_load_n(&job->failed, __ATOMIC_RELAXED)) {
            break;
        } else {
            if (checkpoint_index_chunk(
                    ci, &g_array_index(job->chunks, CkptChunk, i), buf, &err)) {
                checkpoint_index_chunk_done(ci, i);
            }
        }
        if (err) {
            __atomic_store_n(&job->failed, true, __ATOMIC_RELAXED);
            g_mutex_lock(&job->err_lock);
            if (!job->err) {
                job->err = g_steal_pointer(&err);
            }
            g_mutex_unlock(&job->err_lock);
            error_free(err);
            break;
        }
    }
    return NULL;
}

/* Hash every chunk on indexing threads; false with errp on failure. */
static bool checkpoint_index_hash_all(CheckpointIndex *ci, GArray *chunks,
                                      Error **errp)
{
    CkptIndexJob job = {.ci = ci, .chunks = chunks};
    unsigned int n =
        MIN(MAX(g_get_num_processors(), 1), CKPT_INDEX_MAX_THREADS);
    g_autofree GThread **threads = g_new(GThread *, n);

    g_mutex_init(&job.err_lock);
    ci->threads = n;
    for (unsigned int i = 0; i < n; i++) {
        threads[i] =
            g_thread_new("ckpt-idx-work", checkpoint_index_worker, &job);
    }
    for (unsigned int i = 0; i < n; i++) {
        g_thread_join(threads[i]);
    }
    g_mutex_clear(&job.err_lock);
    if (job.err) {
        error_propagate(errp, job.err);
        return false;
    }
    return true;
}

/* Slot of key in an open-addressing table of entry numbers + 1. */
static uint64_t ckpt_table_slot(uint64_t key, uint64_t mask)
{
    return (key * 0x9e3779b97f4a7c15ull >> 20) & mask;
}

/*
 * The lookup tables over the finished entry array: slot numbers + 1 (0:
 * empty) in open-addressing tables at most half full, by digest (the
 * first entry of a digest wins) and by guest-physical address (the last
 * entry at an address wins); zero pages' slots are left out.  Published
 * when complete, since lookups may already run (streamed offer).
 */
static void checkpoint_index_tables(CheckpointIndex *ci)
{
    const CkptIndexEntry *e = &g_array_index(ci->entries, CkptIndexEntry, 0);
    uint64_t size = 16, mask;
    uint32_t *by_digest, *by_gpa;

    while (size < 2 * ci->pages) {
        size *= 2;
    }
    mask = size - 1;
    by_digest = g_new0(uint32_t, size);
    by_gpa = g_new0(uint32_t, size);
    for (guint i = 0; i < ci->entries->len; i++) {
        uint64_t s = ckpt_table_slot(checkpoint_digest_key(e[i].digest), mask);

        if (e[i].file_off == CKPT_NO_FILE_OFF) {
            continue;
        }
        for (; by_digest[s]; s = (s + 1) & mask) {
            if (!memcmp(e[by_digest[s] - 1].digest, e[i].digest,
                        CKPT_DIGEST_BYTES)) {
                break;
            }
        }
        if (!by_digest[s]) {
            by_digest[s] = i + 1;
        }
        if (e[i].gpa == CKPT_NO_GPA) {
            continue;
        }
        s = ckpt_table_slot(e[i].gpa >> TARGET_PAGE_BITS, mask);
        while (by_gpa[s] && e[by_gpa[s] - 1].gpa != e[i].gpa) {
            s = (s + 1) & mask;
        }
        by_gpa[s] = i + 1;
    }
    ci->mask = mask;
    __atomic_store_n(&ci->by_gpa, by_gpa, __ATOMIC_RELEASE);
    __atomic_store_n(&ci->by_digest, by_digest, __ATOMIC_RELEASE);
}

static bool checkpoint_index_run(CheckpointIndex *ci, Error **errp)
{
    g_autoptr(GArray) segs = NULL;
    GArray *chunks = ci->chunks;
    struct stat st;
    uint64_t slots;

    if (fstat(ci->fd, &st) < 0) {
        error_setg_errno(errp, errno, "checkpoint '%s'", ci->path);
        return false;
    }
    segs = checkpoint_index_is_elf(ci)
               ? checkpoint_index_elf(ci, st.st_size, errp)
               : checkpoint_index_mapped(ci, errp);
    if (!segs) {
        return false;
    }
    slots = checkpoint_index_chunks(segs, chunks);
    if (slots >= UINT32_MAX / 2) {
        error_setg(errp, "checkpoint '%s': more than %u pages", ci->path,
                   UINT32_MAX / 2);
        return false;
    }
    g_array_set_size(ci->entries, slots);
    ci->chunk_done = g_new0(uint8_t, MAX(chunks->len, 1));
    __atomic_store_n(&ci->nr_slots, slots, __ATOMIC_RELEASE);
    if (!checkpoint_index_hash_all(ci, chunks, errp)) {
        return false;
    }
    checkpoint_index_tables(ci);
    return true;
}

static gpointer checkpoint_index_thread(gpointer opaque)
{
    CheckpointIndex *ci = opaque;
    Error *err = NULL;
    bool ok = checkpoint_index_run(ci, &err);
    int64_t ms;

    __atomic_store_n(&ci->end_us, g_get_monotonic_time(), __ATOMIC_RELAXED);
    ms = (ci->end_us - ci->start_us) / 1000;
    if (ok) {
        info_report("checkpoint '%s' indexed in %" PRId64 " ms by %u "
                    "threads: %" PRIu64 " pages, %" PRIu64 " zero pages",
                    ci->path, ms, ci->threads, ci->pages, ci->zero);
    } else {
        warn_report("%s", error_get_pretty(err));
    }
    g_mutex_lock(&ci->lock);
    ci->err = err;
    ci->done = true;
    g_cond_broadcast(&ci->cond);
    g_mutex_unlock(&ci->lock);
    return NULL;
}

CheckpointIndex *checkpoint_index_start(const char *path, Error **errp)
{
    CheckpointIndex *ci;
    int fd = open(path, O_RDONLY | O_CLOEXEC);

    if (fd < 0) {
        error_setg_errno(errp, errno, "Could not open checkpoint '%s'", path);
        return NULL;
    }
    ci = g_new0(CheckpointIndex, 1);
    ci->path = g_strdup(path);
    ci->fd = fd;
    g_mutex_init(&ci->lock);
    g_cond_init(&ci->cond);
    ci->entries = g_array_new(false, false, sizeof(CkptIndexEntry));
    ci->chunks = g_array_new(false, false, sizeof(CkptChunk));
    g_mutex_init(&ci->ready_lock);
    ci->start_us = g_get_monotonic_time();
    ci->thread = g_thread_new("ckpt-idx-main", checkpoint_index_thread, ci);
    return ci;
}

const char *checkpoint_index_path(const CheckpointIndex *ci)
{
    return ci->path;
}

bool checkpoint_index_wait(CheckpointIndex *ci, Error **errp)
{
    bool ok;

    g_mutex_lock(&ci->lock);
    while (!ci->done) {
        g_cond_wait(&ci->cond, &ci->lock);
    }
    ok = !ci->err;
    if (!ok) {
        error_propagate(errp, error_copy(ci->err));
    }
    g_mutex_unlock(&ci->lock);
    return ok;
}

bool checkpoint_index_done_within(CheckpointIndex *ci, int ms)
{
    gint64 end = g_get_monotonic_time() + ms * G_TIME_SPAN_MILLISECOND;
    bool done;

    g_mutex_lock(&ci->lock);
    while (!ci->done && g_cond_wait_until(&ci->cond, &ci->lock, end)) {
        /* woken: done, or spuriously */
    }
    done = ci->done;
    g_mutex_unlock(&ci->lock);
    return done;
}

void checkpoint_index_stats(CheckpointIndex *ci, CkptIndexStats *st)
{
    int64_t end = __atomic_load_n(&ci->end_us, __ATOMIC_RELAXED);

    g_mutex_lock(&ci->lock);
    st->done = ci->done;
    st->ok = ci->done && !ci->err;
    g_mutex_unlock(&ci->lock);
    st->pages = __atomic_load_n(&ci->pages, __ATOMIC_RELAXED);
    st->zero = __atomic_load_n(&ci->zero, __ATOMIC_RELAXED);
    st->bytes_read = __atomic_load_n(&ci->bytes_read, __ATOMIC_RELAXED);
    st->index_ms = ((end ? end : g_get_monotonic_time()) - ci->start_us) / 1000;
}

const CkptIndexEntry *checkpoint_index_find(CheckpointIndex *ci,
                                            const uint8_t *digest)
{
    const CkptIndexEntry *e = &g_array_index(ci->entries, CkptIndexEntry, 0);
    const uint32_t *t = __atomic_load_n(&ci->by_digest, __ATOMIC_ACQUIRE);
    uint64_t s;

    if (!t) {
        return NULL;
    }
    s = ckpt_table_slot(checkpoint_digest_key(digest), ci->mask);
    for (; t[s]; s = (s + 1) & ci->mask) {
        if (!memcmp(e[t[s] - 1].digest, digest, CKPT_DIGEST_BYTES)) {
            return &e[t[s] - 1];
        }
    }
    return NULL;
}

const CkptIndexEntry *checkpoint_index_at(CheckpointIndex *ci, uint64_t gpa)
{
    const CkptIndexEntry *e = &g_array_index(ci->entries, CkptIndexEntry, 0);
    const uint32_t *t = __atomic_load_n(&ci->by_gpa, __ATOMIC_ACQUIRE);
    uint64_t s;

    if (!t || !__atomic_load_n(&ci->by_digest, __ATOMIC_ACQUIRE)) {
        return NULL;
    }
    s = ckpt_table_slot(gpa >> TARGET_PAGE_BITS, ci->mask);
    for (; t[s]; s = (s + 1) & ci->mask) {
        if (e[t[s] - 1].gpa == gpa) {
            return &e[t[s] - 1];
        }
    }
    return NULL;
}

void checkpoint_index_foreach(CheckpointIndex *ci,
                              void (*fn)(const CkptIndexEntry *e, void *opaque),
                              void *opaque)
{
    if (!__atomic_load_n(&ci->by_digest, __ATOMIC_ACQUIRE)) {
        return;
    }
    for (guint i = 0; i < ci->entries->len; i++) {
        const CkptIndexEntry *e =
            &g_array_index(ci->entries, CkptIndexEntry, i);

        if (e->file_off != CKPT_NO_FILE_OFF) {
            fn(e, opaque);
        }
    }
}

uint64_t checkpoint_index_ready_slots(CheckpointIndex *ci)
{
    return __atomic_load_n(&ci->ready_slots, __ATOMIC_ACQUIRE);
}

const CkptIndexEntry *checkpoint_index_slot(CheckpointIndex *ci, uint64_t slot)
{
    const CkptIndexEntry *e;

    if (slot >= checkpoint_index_ready_slots(ci)) {
        return NULL;
    }
    e = &g_array_index(ci->entries, CkptIndexEntry, slot);
    return e->file_off == CKPT_NO_FILE_OFF ? NULL : e;
}

bool checkpoint_index_read(CheckpointIndex *ci, const CkptIndexEntry *e,
                           uint8_t *buf, Error **errp)
{
    if (!ckpt_pread_all(ci->fd, buf, TARGET_PAGE_SIZE, e->file_off)) {
        error_setg_errno(errp, errno,
                         "checkpoint '%s': cannot read the page at file "
                         "offset 0x%" PRIx64,
                         ci->path, e->file_off);
        return false;
    }
    return true;
}

void checkpoint_index_pause(CheckpointIndex *ci, bool paused)
{
    g_mutex_lock(&ci->lock);
    if (!paused && ci->paused) {
        __atomic_store_n(&ci->idle, true, __ATOMIC_RELAXED);
    }
    __atomic_store_n(&ci->paused, paused, __ATOMIC_RELAXED);
    g_cond_broadcast(&ci->cond);
    g_mutex_unlock(&ci->lock);
}

void checkpoint_index_hurry(CheckpointIndex *ci)
{
    g_mutex_lock(&ci->lock);
    __atomic_store_n(&ci->idle, false, __ATOMIC_RELAXED);
    __atomic_store_n(&ci->paused, false, __ATOMIC_RELAXED);
    g_cond_broadcast(&ci->cond);
    g_mutex_unlock(&ci->lock);
}

void checkpoint_index_free(CheckpointIndex *ci)
{
    if (!ci) {
        return;
    }
    __atomic_store_n(&ci->cancel, true, __ATOMIC_RELAXED);
    checkpoint_index_pause(ci, false); /* wakes paused threads */
    g_thread_join(ci->thread);
    g_free(ci->by_digest);
    g_free(ci->by_gpa);
    g_array_free(ci->entries, true);
    g_array_free(ci->chunks, true);
    g_free(ci->chunk_done);
    g_mutex_clear(&ci->ready_lock);
    error_free(ci->err);
    close(ci->fd);
    g_mutex_clear(&ci->lock);
    g_cond_clear(&ci->cond);
    g_free(ci->path);
    g_free(ci);
}
