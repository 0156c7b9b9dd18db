/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * checkpoint-index.c: index a checkpoint file by page digest and by
 * guest-physical address (see checkpoint-index.h).
 *
 * The file's layout is read first (checkpoint_index_layout(): the
 * PT_LOAD segments of a dump-guest-memory ELF), then the segments are
 * read in CKPT_INDEX_CHUNK pieces and every non-zero page is hashed.
 * Entries go into one array; the two lookup tables point into it and are
 * built once the array is complete.
 *
 * Locking: the indexing thread owns everything until it sets done (under
 * lock, with cond broadcast); afterwards the tables are read-only.  The
 * progress counters are relaxed atomics.
 */
#include "qemu/osdep.h"
#include "qemu/buffer-zero.h"
#include "qemu/error-report.h"
#include <elf.h>
#include <sys/stat.h>
#include "qemu/bitmap.h"
#include "sysemu/ramblock.h"
#include "checkpoint-index.h"
#include "mapped-ram-format.h"

/* Bytes read from the file at a time while indexing. */
#define CKPT_INDEX_CHUNK (2 * MiB)
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

    GMutex lock;
    GCond cond;
    bool done; /* under lock */
    Error *err;

    GArray *entries;       /* CkptIndexEntry */
    GHashTable *by_digest; /* digest -> entry */
    GHashTable *by_gpa;    /* &entry->gpa -> entry */
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

static void checkpoint_index_page(CheckpointIndex *ci, const uint8_t *page,
                                  uint64_t file_off, uint64_t gpa)
{
    CkptIndexEntry e;

    if (buffer_is_zero(page, TARGET_PAGE_SIZE)) {
        __atomic_fetch_add(&ci->zero, 1, __ATOMIC_RELAXED);
        return;
    }
    checkpoint_hash_page(page, e.digest);
    e.file_off = file_off;
    e.gpa = gpa;
    g_array_append_val(ci->entries, e);
    __atomic_fetch_add(&ci->pages, 1, __ATOMIC_RELAXED);
}

/* Hash the whole pages of one segment. */
static bool checkpoint_index_segment(CheckpointIndex *ci, const CkptSegment *s,
                                     uint8_t *buf, Error **errp)
{
    uint64_t pages = s->len / TARGET_PAGE_SIZE;

    for (uint64_t done = 0; done < pages;) {
        uint64_t n = MIN(pages - done, CKPT_INDEX_CHUNK / TARGET_PAGE_SIZE);
        uint64_t off = s->file_off + done * TARGET_PAGE_SIZE;

        if (__atomic_load_n(&ci->cancel, __ATOMIC_RELAXED)) {
            error_setg(errp, "checkpoint '%s': indexing stopped", ci->path);
            return false;
        }
        if (!ckpt_pread_all(ci->fd, buf, n * TARGET_PAGE_SIZE, off)) {
            error_setg_errno(errp, errno, "checkpoint '%s': read failed",
                             ci->path);
            return false;
        }
        __atomic_fetch_add(&ci->bytes_read, n * TARGET_PAGE_SIZE,
                           __ATOMIC_RELAXED);
        for (uint64_t i = 0; i < n; i++) {
            uint64_t k = done + i;

            checkpoint_index_page(
                ci, buf + i * TARGET_PAGE_SIZE, off + i * TARGET_PAGE_SIZE,
                s->gpa == CKPT_NO_GPA ? CKPT_NO_GPA
                                      : s->gpa + k * TARGET_PAGE_SIZE);
        }
        done += n;
    }
    return true;
}

static guint ckpt_digest_hash(gconstpointer key)
{
    guint h;

    memcpy(&h, key, sizeof(h));
    return h;
}

static gboolean ckpt_digest_equal(gconstpointer a, gconstpointer b)
{
    return !memcmp(a, b, CKPT_DIGEST_BYTES);
}

/* The lookup tables over the finished entry array. */
static void checkpoint_index_tables(CheckpointIndex *ci)
{
    ci->by_digest = g_hash_table_new(ckpt_digest_hash, ckpt_digest_equal);
    ci->by_gpa = g_hash_table_new(g_int64_hash, g_int64_equal);
    for (guint i = 0; i < ci->entries->len; i++) {
        CkptIndexEntry *e = &g_array_index(ci->entries, CkptIndexEntry, i);

        if (!g_hash_table_contains(ci->by_digest, e->digest)) {
            g_hash_table_insert(ci->by_digest, e->digest, e);
        }
        if (e->gpa != CKPT_NO_GPA) {
            g_hash_table_insert(ci->by_gpa, &e->gpa, e);
        }
    }
}

static bool checkpoint_index_run(CheckpointIndex *ci, Error **errp)
{
    g_autoptr(GArray) segs = NULL;
    g_autofree uint8_t *buf = NULL;
    struct stat st;

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
    buf = g_malloc(CKPT_INDEX_CHUNK);
    for (guint i = 0; i < segs->len; i++) {
        if (!checkpoint_index_segment(ci, &g_array_index(segs, CkptSegment, i),
                                      buf, errp)) {
            return false;
        }
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
        info_report("checkpoint '%s' indexed in %" PRId64 " ms: %" PRIu64
                    " pages, %" PRIu64 " zero pages",
                    ci->path, ms, ci->pages, ci->zero);
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
    ci->start_us = g_get_monotonic_time();
    ci->thread = g_thread_new("ckpt index", checkpoint_index_thread, ci);
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
    return ci->by_digest ? g_hash_table_lookup(ci->by_digest, digest) : NULL;
}

const CkptIndexEntry *checkpoint_index_at(CheckpointIndex *ci, uint64_t gpa)
{
    return ci->by_gpa ? g_hash_table_lookup(ci->by_gpa, &gpa) : NULL;
}

void checkpoint_index_foreach(CheckpointIndex *ci,
                              void (*fn)(const CkptIndexEntry *e, void *opaque),
                              void *opaque)
{
    for (guint i = 0; ci->by_digest && i < ci->entries->len; i++) {
        fn(&g_array_index(ci->entries, CkptIndexEntry, i), opaque);
    }
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

void checkpoint_index_free(CheckpointIndex *ci)
{
    if (!ci) {
        return;
    }
    __atomic_store_n(&ci->cancel, true, __ATOMIC_RELAXED);
    g_thread_join(ci->thread);
    if (ci->by_digest) {
        g_hash_table_destroy(ci->by_digest);
        g_hash_table_destroy(ci->by_gpa);
    }
    g_array_free(ci->entries, true);
    error_free(ci->err);
    close(ci->fd);
    g_mutex_clear(&ci->lock);
    g_cond_clear(&ci->cond);
    g_free(ci->path);
    g_free(ci);
}
