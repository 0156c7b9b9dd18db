/*
 * ram.c: the "ram" live section (precopy), QEMU 7.2 format, version 4.
 *
 * Payload of every START/PART/END section is a list of records, each
 * starting with a be64 header word "offset | flags" (offsets are 4 KiB
 * aligned, flags live in the low 12 bits), ending with EOS:
 *
 *   MEM_SIZE 0x04  START only: header = sum of the listed blocks' sizes;
 *                  then per block: str8 idstr, be64 used_length
 *   ZERO     0x02  [str8 block] + u8 fill (always 0 when we send)
 *   PAGE     0x08  [str8 block] + 4096 bytes
 *   EOS      0x10  end of this section's data
 *   CONTINUE 0x20  on ZERO/PAGE: same block as the previous page record
 *                  (the "last block" persists across sections)
 *
 * Source: one dirty bitmap per block (rb->bmap, one bit per page, all set
 * at setup).  Each iteration walks the bitmap from a cursor, clears bits
 * and sends pages: zero pages as ZERO records, others as PAGE records
 * queued straight from guest RAM with qemu_put_buffer_async (written
 * with one writev per batch by the QEMUFile).  A page the guest changes
 * after it was queued is caught by the dirty log and sent again.  The
 * pending-exact hook syncs the dirty log into the bitmaps (one "pass").
 *
 * Destination: records are parsed with QEMU 7.2's checks and texts;
 * pages are read with qemu_get_buffer straight into guest RAM; zero
 * pages are written only when the target page is not already zero (so
 * untouched anonymous memory stays unallocated).
 *
 * Threads: save hooks run in the migration thread; the statistics are
 * written there and read by the monitor with relaxed atomics.  Load hooks
 * run in the incoming load thread.
 */
#include "qemu/osdep.h"
#include <sys/mman.h>
#include <emmintrin.h>
#include "qapi/error.h"
#include "qemu/error-report.h"
#include "qemu/bitmap.h"
#include "qemu/bitops.h"
#include "qemu/buffer-zero.h"
#include "qemu/trace.h"
#include "migration/register.h"
#include "migration/options.h"
#include "sysemu/ramblock.h"
#include "sysemu/runstate.h"
#include "migration.h"
#include "migration-stats.h"
#include "rate-limit.h"
#include "ram.h"
#include "shrink.h"

#define RAM_SAVE_FLAG_FULL 0x01
#define RAM_SAVE_FLAG_ZERO 0x02
#define RAM_SAVE_FLAG_MEM_SIZE 0x04
#define RAM_SAVE_FLAG_PAGE 0x08
#define RAM_SAVE_FLAG_EOS 0x10
#define RAM_SAVE_FLAG_CONTINUE 0x20
#define RAM_SAVE_FLAG_XBZRLE 0x40
#define RAM_SAVE_FLAG_HOOK 0x80
#define RAM_SAVE_FLAG_COMPRESS_PAGE 0x100

/* An iteration (one PART) stops after this long even below the limit. */
#define RAM_ITERATE_MAX_NS (50 * 1000 * 1000)
/* Period over which dirty rate and auto-converge are evaluated. */
#define RAM_SYNC_PERIOD_MS 1000

typedef struct RAMState {
    QEMUFile *f;
    RAMBlock *cur_block; /* scan cursor */
    uint64_t cur_page;
    RAMBlock *last_sent_block; /* CONTINUE applies to this block */

    /* dirty-rate / auto-converge period */
    int64_t period_start_ms;
    uint64_t period_dirty_pages;
    uint64_t period_start_bytes;
    int dirty_rate_high_cnt;

    /* Cost of the last dirty-log sync (the final one costs about as much). */
    int64_t last_sync_us;

    /* Dirty-rate estimate between the last two syncs (see ram_dirty_rate) */
    int64_t prev_sync_end_us; /* 0: no sync yet */
    double dirty_rate;        /* bytes per ms; < 0: unknown */
} RAMState;

static RAMState ram_state;

/* Incoming: block of the previous page record (CONTINUE). */
static RAMBlock *last_recv_block;

/* True if the 4 KiB page at p holds only zero bytes (SIMD check). */
static inline bool ram_page_is_zero(const uint8_t *p)
{
    return buffer_is_zero(p, TARGET_PAGE_SIZE);
}

/*
 * Source side: the same answer, cheaper for data pages.  Guest RAM being
 * sent is cold; buffer_is_zero() starts by loading the first and the last
 * 32 bytes, i.e. two cache misses in a row per page, and the source's
 * profile showed it at 7% of the migration thread (2 GiB of random pages
 * over TCP).  A non-zero first word answers "not zero" after one line;
 * the caller also prefetches that line a few pages ahead.
 */
static inline bool ram_page_is_zero_src(const uint8_t *p)
{
    uint64_t first;

    memcpy(&first, p, sizeof(first));
    return first == 0 && buffer_is_zero(p, TARGET_PAGE_SIZE);
}

/* Pages ahead of the one being sent whose first line is prefetched. */
#define RAM_PREFETCH_PAGES 4

static void ram_account(RAMState *rs, uint64_t bytes)
{
    migration_stats_account_ram(bytes);
}

/* ---------------- source ---------------- */

static void ram_bitmaps_free(void)
{
    RAMBlock *rb;

    RAMBLOCK_FOREACH(rb)
    {
        g_free(rb->bmap);
        rb->bmap = NULL;
    }
}

/*
 * Auto-converge, evaluated once per sync period (as QEMU 7.2 does): when
 * the bytes dirtied in the period exceed throttle-trigger-threshold % of
 * the bytes sent in it for the second time, throttle the vCPUs harder.
 */
static void ram_throttle_check(RAMState *rs, uint64_t bytes_dirty_period,
                               uint64_t bytes_xfer_period)
{
    uint64_t threshold =
        bytes_xfer_period * migrate_throttle_trigger_threshold() / 100;
    int pct_max = migrate_max_cpu_throttle();
    int now, inc;

    if (!migrate_auto_converge() || bytes_dirty_period <= threshold) {
        return;
    }
    if (++rs->dirty_rate_high_cnt < 2) {
        return;
    }
    rs->dirty_rate_high_cnt = 0;
    if (!cpu_throttle_active()) {
        cpu_throttle_set(migrate_cpu_throttle_initial());
        return;
    }
    now = cpu_throttle_get_percentage();
    inc = migrate_cpu_throttle_increment();
    if (migrate_cpu_throttle_tailslow() && bytes_dirty_period) {
        /* Aim at the CPU share whose dirty rate meets the threshold. */
        double cpu_now = 100 - now;
        double cpu_ideal = cpu_now * ((double)threshold / bytes_dirty_period);
        int ideal_inc = (int)(cpu_now - cpu_ideal);

        inc = MIN(ideal_inc, inc);
    }
    cpu_throttle_set(MIN(now + inc, pct_max));
}

int64_t ram_last_sync_us(void)
{
    return __atomic_load_n(&ram_state.last_sync_us, __ATOMIC_RELAXED);
}

double ram_dirty_rate(void)
{
    return ram_state.dirty_rate;
}

/* Dirty rate from this sync and the previous one (see shrink.h). */
static void ram_dirty_rate_update(RAMState *rs, uint64_t newly, uint64_t dirty,
                                  int64_t now_us)
{
    rs->dirty_rate = -1;
    if (rs->prev_sync_end_us) {
        rs->dirty_rate = migration_dirty_rate_estimate(
            newly, dirty, ram_bytes_total() / TARGET_PAGE_SIZE,
            (now_us - rs->prev_sync_end_us) / 1000.0);
    }
    rs->prev_sync_end_us = now_us;
}

/* Sync the dirty log into the bitmaps: one pass. */
static void ram_bitmap_sync(RAMState *rs)
{
    int64_t t0 = g_get_monotonic_time();
    uint64_t newly = ram_dirty_log_sync();
    uint64_t pass, dirty = 0;
    int64_t now, now_us;
    RAMBlock *rb;

    /*
     * Recount rather than trust a running total: the count decides when
     * to switch over, so an accelerator that misreports "newly set" must
     * not make it drift.  (A popcount of one bit per page: cheap.)
     */
    RAMBLOCK_FOREACH(rb)
    {
        dirty += bitmap_count_one(rb->bmap, ram_block_pages(rb));
    }
    stat64_set(&mig_stats.remaining_pages, dirty);
    rs->period_dirty_pages += newly;
    pass = __atomic_add_fetch(&mig_stats.dirty_sync_count, 1, __ATOMIC_RELAXED);
    now_us = g_get_monotonic_time();
    __atomic_store_n(&rs->last_sync_us, now_us - t0, __ATOMIC_RELAXED);
    ram_dirty_rate_update(rs, newly, dirty, now_us);
    TRACE("migration_ram_sync",
          "pass %" PRIu64 " newly %" PRIu64 " dirty %" PRIu64 " us %" PRId64
          " rate %.0f B/ms",
          pass, newly, dirty, rs->last_sync_us, rs->dirty_rate);

    now = migration_clock_ms();
    if (now > rs->period_start_ms + RAM_SYNC_PERIOD_MS) {
        uint64_t xfer = qemu_file_transferred(rs->f) - rs->period_start_bytes;

        stat64_set(&mig_stats.dirty_pages_rate,
                   rs->period_dirty_pages * 1000 / (now - rs->period_start_ms));
        ram_throttle_check(rs, rs->period_dirty_pages * TARGET_PAGE_SIZE, xfer);
        rs->period_start_ms = now;
        rs->period_dirty_pages = 0;
        rs->period_start_bytes = qemu_file_transferred(rs->f);
    }
    migration_event_pass(pass);
}

static int ram_save_setup(QEMUFile *f, void *opaque, Error **errp)
{
    RAMState *rs = opaque;
    uint64_t total = 0;
    RAMBlock *rb;

    memset(rs, 0, sizeof(*rs));
    rs->dirty_rate = -1;
    rs->f = f;
    last_recv_block = NULL;

    RAMBLOCK_FOREACH(rb)
    {
        uint64_t pages = ram_block_pages(rb);

        g_free(rb->bmap);
        rb->bmap = bitmap_new(pages ? pages : 1);
        bitmap_set(rb->bmap, 0, pages);
        total += pages;
    }
    stat64_set(&mig_stats.remaining_pages, total);
    rs->cur_block = ram_block_first();

    if (!ram_dirty_log_start(errp)) {
        ram_bitmaps_free();
        return -EINVAL;
    }
    rs->period_start_ms = migration_clock_ms();
    rs->period_start_bytes = qemu_file_transferred(f);
    /* First pass: the log starts clean; every page is dirty anyway. */
    ram_bitmap_sync(rs);

    qemu_put_be64(f, ram_bytes_total() | RAM_SAVE_FLAG_MEM_SIZE);
    RAMBLOCK_FOREACH(rb)
    {
        qemu_put_counted_string(f, rb->idstr);
        qemu_put_be64(f, rb->used_length);
    }
    qemu_put_be64(f, RAM_SAVE_FLAG_EOS);
    return qemu_file_get_error(f);
}

/* Write the header word and, unless CONTINUE applies, the block name. */
static size_t ram_put_page_header(RAMState *rs, RAMBlock *rb, uint64_t offset,
                                  uint64_t flags)
{
    QEMUFile *f = rs->f;

    if (rb == rs->last_sent_block) {
        qemu_put_be64(f, offset | flags | RAM_SAVE_FLAG_CONTINUE);
        return 8;
    }
    qemu_put_be64(f, offset | flags);
    qemu_put_counted_string(f, rb->idstr);
    rs->last_sent_block = rb;
    return 8 + 1 + strlen(rb->idstr);
}

/* Send page number page of rb (its dirty bit already cleared). */
static void ram_save_page(RAMState *rs, RAMBlock *rb, uint64_t page)
{
    uint64_t offset = page << TARGET_PAGE_BITS;
    uint8_t *host = rb->host + offset;
    size_t bytes;

    if (page + RAM_PREFETCH_PAGES < ram_block_pages(rb)) {
        __builtin_prefetch(host + RAM_PREFETCH_PAGES * TARGET_PAGE_SIZE);
    }
    if (ram_page_is_zero_src(host)) {
        bytes = ram_put_page_header(rs, rb, offset, RAM_SAVE_FLAG_ZERO);
        qemu_put_byte(rs->f, 0);
        stat64_add(&mig_stats.zero_pages, 1);
        bytes += 1;
    } else {
        bytes = ram_put_page_header(rs, rb, offset, RAM_SAVE_FLAG_PAGE);
        qemu_put_buffer_async(rs->f, host, TARGET_PAGE_SIZE, false);
        stat64_add(&mig_stats.normal_pages, 1);
        bytes += TARGET_PAGE_SIZE;
    }
    ram_account(rs, bytes);
}

/*
 * Find the next dirty page from the cursor, wrapping over the block list
 * once.  Returns false when every bitmap is clean.
 */
static bool ram_find_dirty(RAMState *rs, RAMBlock **prb, uint64_t *ppage)
{
    RAMBlock *rb = rs->cur_block ? rs->cur_block : ram_block_first();
    uint64_t page = rs->cur_block ? rs->cur_page : 0;
    bool wrapped = false;

    if (!rb || !stat64_get(&mig_stats.remaining_pages)) {
        return false;
    }
    for (;;) {
        uint64_t pages = ram_block_pages(rb);

        if (page < pages) {
            uint64_t next = find_next_bit(rb->bmap, pages, page);

            if (next < pages) {
                *prb = rb;
                *ppage = next;
                return true;
            }
        }
        rb = rb->next;
        page = 0;
        if (!rb) {
            if (wrapped) {
                return false;
            }
            wrapped = true;
            rb = ram_block_first();
        }
    }
}

/*
 * Send dirty pages until the rate limit is reached, time_limit_ns passed
 * (0 = none) or nothing is dirty.  Returns true when nothing is dirty.
 */
static bool ram_send_dirty(RAMState *rs, bool limited, int64_t time_limit_ns)
{
    int64_t start = g_get_monotonic_time();
    unsigned int n = 0;
    RAMBlock *rb;
    uint64_t page;

    while (!limited || !migration_rate_exceeded()) {
        if (!ram_find_dirty(rs, &rb, &page)) {
            return true;
        }
        clear_bit(page, rb->bmap);
        stat64_sub(&mig_stats.remaining_pages, 1);
        ram_save_page(rs, rb, page);
        rs->cur_block = rb;
        rs->cur_page = page + 1;
        if (qemu_file_get_error(rs->f)) {
            return false;
        }
        if (time_limit_ns && (++n & 63) == 0 &&
            (g_get_monotonic_time() - start) * 1000 > time_limit_ns) {
            break;
        }
    }
    return false;
}

static int ram_save_iterate(QEMUFile *f, void *opaque)
{
    RAMState *rs = opaque;
    bool done;
    int ret;

    rs->f = f;
    done = ram_send_dirty(rs, true, RAM_ITERATE_MAX_NS);
    qemu_put_be64(f, RAM_SAVE_FLAG_EOS);
    ram_account(rs, 8);
    ret = qemu_file_get_error(f);
    if (ret < 0) {
        return ret;
    }
    return done ? 1 : 0;
}

static int ram_save_complete(QEMUFile *f, void *opaque)
{
    RAMState *rs = opaque;

    uint64_t pages;

    rs->f = f;
    migration_stats_set_phase(MIGRATION_PHASE_DOWNTIME);
    /* vCPUs are stopped: this last pass is final. */
    ram_bitmap_sync(rs);
    pages = stat64_get(&mig_stats.remaining_pages);
    ram_send_dirty(rs, false, 0);
    qemu_put_be64(f, RAM_SAVE_FLAG_EOS);
    ram_account(rs, 8);
    TRACE("migration_ram_complete", "pages %" PRIu64 " queued", pages);
    return qemu_file_get_error(f);
}

static void ram_state_pending_estimate(void *opaque, uint64_t *must,
                                       uint64_t *can)
{
    *must += migration_stats_bytes_remaining();
}

static void ram_state_pending_exact(void *opaque, uint64_t *must, uint64_t *can)
{
    RAMState *rs = opaque;

    ram_bitmap_sync(rs);
    *must += migration_stats_bytes_remaining();
}

static void ram_save_cleanup(void *opaque)
{
    RAMState *rs = opaque;

    ram_dirty_log_stop();
    ram_bitmaps_free();
    cpu_throttle_stop();
    rs->f = NULL;
}

/* ---------------- destination ---------------- */

/*
 * Destination prefault helper.
 *
 * Why: writing a page into never-touched anonymous guest RAM makes the
 * kernel allocate and zero it first (a 2 MiB clear per transparent huge
 * page); on the load thread that was a quarter of its CPU time.  So a
 * helper thread populates (MADV_POPULATE_WRITE) the 2 MiB chunks just
 * ahead of where PAGE data is landing, in parallel with the load thread.
 *
 * Only PAGE records move the window, and only RAM_PREFAULT_AHEAD bytes
 * ahead of them, so guest RAM that only ever receives ZERO records stays
 * untouched (no RSS growth beyond one window per dense run).  File-backed
 * blocks are left alone (populating would allocate file blocks).
 * Populating a page the load thread is writing at the same moment is
 * harmless: populate never changes the content of a present page.
 */
#define RAM_PREFAULT_CHUNK (2 * MiB)
#define RAM_PREFAULT_AHEAD (32 * MiB)

typedef struct RAMPrefault {
    GThread *thread;
    GMutex lock; /* protects the fields below */
    GCond cond;
    RAMBlock *block;  /* block PAGE data lands in */
    uint64_t chunk;   /* chunk index it lands in */
    GHashTable *done; /* RAMBlock * -> unsigned long * bitmap */
    bool quit;
    /* load thread only: last chunk reported, to signal only on change */
    RAMBlock *last_block;
    uint64_t last_chunk;
} RAMPrefault;

static RAMPrefault ram_prefault;

static gpointer ram_prefault_thread(gpointer opaque)
{
    RAMPrefault *pf = opaque;

    g_mutex_lock(&pf->lock);
    while (!pf->quit) {
        RAMBlock *rb = pf->block;
        uint64_t nchunks, first, last, c;
        unsigned long *done;

        if (!rb) {
            g_cond_wait(&pf->cond, &pf->lock);
            continue;
        }
        nchunks = DIV_ROUND_UP(rb->used_length, RAM_PREFAULT_CHUNK);
        done = g_hash_table_lookup(pf->done, rb);
        if (!done) {
            done = bitmap_new(nchunks);
            g_hash_table_insert(pf->done, rb, done);
        }
        first = pf->chunk + 1;
        last = MIN(nchunks,
                   pf->chunk + RAM_PREFAULT_AHEAD / RAM_PREFAULT_CHUNK + 1);
        c = first < last ? find_next_zero_bit(done, last, first) : last;
        if (c >= last) {
            g_cond_wait(&pf->cond, &pf->lock);
            continue;
        }
        set_bit(c, done);
        g_mutex_unlock(&pf->lock);
        {
            uint64_t off = c * RAM_PREFAULT_CHUNK;
            uint64_t len = MIN(RAM_PREFAULT_CHUNK, rb->used_length - off);

            if (madvise(rb->host + off, len, MADV_POPULATE_WRITE) < 0 &&
                errno == EINVAL) {
                /* Kernel without MADV_POPULATE_WRITE: give up quietly. */
                g_mutex_lock(&pf->lock);
                break;
            }
        }
        g_mutex_lock(&pf->lock);
    }
    g_mutex_unlock(&pf->lock);
    return NULL;
}

/* Load thread: PAGE data is about to land at offset addr of rb. */
static inline void ram_prefault_note(RAMBlock *rb, uint64_t addr)
{
    RAMPrefault *pf = &ram_prefault;
    uint64_t chunk = addr / RAM_PREFAULT_CHUNK;

    if (rb == pf->last_block && chunk == pf->last_chunk) {
        return;
    }
    pf->last_block = rb;
    pf->last_chunk = chunk;
    if (!pf->thread || rb->fd >= 0) {
        return;
    }
    g_mutex_lock(&pf->lock);
    pf->block = rb;
    pf->chunk = chunk;
    g_cond_signal(&pf->cond);
    g_mutex_unlock(&pf->lock);
}

static void ram_prefault_start(void)
{
    RAMPrefault *pf = &ram_prefault;

    if (pf->thread) {
        return;
    }
    g_mutex_init(&pf->lock);
    g_cond_init(&pf->cond);
    pf->done = g_hash_table_new_full(NULL, NULL, NULL, g_free);
    pf->block = pf->last_block = NULL;
    pf->quit = false;
    pf->thread = g_thread_new("mig/dst/pf", ram_prefault_thread, pf);
}

static void ram_prefault_stop(void)
{
    RAMPrefault *pf = &ram_prefault;

    if (!pf->thread) {
        return;
    }
    g_mutex_lock(&pf->lock);
    pf->quit = true;
    g_cond_signal(&pf->cond);
    g_mutex_unlock(&pf->lock);
    g_thread_join(pf->thread);
    pf->thread = NULL;
    g_hash_table_destroy(pf->done);
    pf->done = NULL;
}

static int ram_load_setup(QEMUFile *f, void *opaque, Error **errp)
{
    last_recv_block = NULL;
    ram_prefault_start();
    return 0;
}

static int ram_load_cleanup(void *opaque)
{
    _mm_sfence(); /* whatever path ended the load: stores are visible */
    last_recv_block = NULL;
    ram_prefault_stop();
    return 0;
}

/*
 * Copy one page from the stream buffer into guest RAM with streaming
 * (non-temporal) stores: guest RAM being loaded is cold, and bypassing the
 * cache avoids reading each destination line first (measured: half the
 * time of memcpy for 1 GiB).  Ordered by the sfence at EOS.
 */
static void ram_copy_page_nt(uint8_t *dst, const uint8_t *src)
{
    __m128i *d = (__m128i *)dst;
    const __m128i *s = (const __m128i *)src;

    for (size_t i = 0; i < TARGET_PAGE_SIZE / 16; i += 4) {
        __m128i a = _mm_loadu_si128(s + i);
        __m128i b = _mm_loadu_si128(s + i + 1);
        __m128i c = _mm_loadu_si128(s + i + 2);
        __m128i e = _mm_loadu_si128(s + i + 3);

        _mm_stream_si128(d + i, a);
        _mm_stream_si128(d + i + 1, b);
        _mm_stream_si128(d + i + 2, c);
        _mm_stream_si128(d + i + 3, e);
    }
}

/*
 * One PAGE payload into place: from the stream's buffer (one large read
 * brings in several pages) with streaming stores; when the buffer cannot
 * hold it, qemu_get_buffer reads the rest straight into guest RAM.
 */
static void ram_load_page(QEMUFile *f, uint8_t *host)
{
    uint8_t *src = host;

    if (qemu_get_buffer_in_place(f, &src, TARGET_PAGE_SIZE) ==
            TARGET_PAGE_SIZE &&
        src != host) {
        ram_copy_page_nt(host, src);
    }
}

/* The block list of the START section (after the MEM_SIZE word). */
static int ram_load_block_list(QEMUFile *f, uint64_t total, Error **errp)
{
    while (total > 0) {
        char id[256];
        uint64_t length;
        RAMBlock *rb;

        qemu_get_counted_string(f, id);
        length = qemu_get_be64(f);
        if (qemu_file_get_error(f)) {
            return qemu_file_get_error(f);
        }
        rb = ram_block_by_name(id);
        if (!rb) {
            error_setg(errp,
                       "Unknown ramblock \"%s\", cannot accept "
                       "migration",
                       id);
            return -EINVAL;
        }
        if (length != rb->used_length) {
            error_setg_errno(errp, EINVAL,
                             "Size mismatch: %s: 0x%" PRIx64 " != 0x%" PRIx64,
                             id, length, rb->used_length);
            return -EINVAL;
        }
        if (length > total) {
            error_setg(errp,
                       "RAM block list longer than its total size "
                       "0x%" PRIx64,
                       total);
            return -EINVAL;
        }
        total -= length;
    }
    return 0;
}

/*
 * Host address of the page record's target, or NULL with errp set (the
 * caller's "Illegal RAM offset" is the final error, as in 7.2).
 */
static uint8_t *ram_load_host(QEMUFile *f, uint64_t addr, int flags)
{
    RAMBlock *rb = last_recv_block;

    if (flags & RAM_SAVE_FLAG_CONTINUE) {
        if (!rb) {
            error_report("Ack, bad migration stream!");
            return NULL;
        }
    } else {
        char id[256];

        qemu_get_counted_string(f, id);
        if (qemu_file_get_error(f)) {
            return NULL;
        }
        rb = ram_block_by_name(id);
        if (!rb) {
            error_report("Can't find block %s", id);
            return NULL;
        }
        last_recv_block = rb;
    }
    if (addr >= rb->used_length) {
        return NULL;
    }
    return rb->host + addr;
}

static int ram_load_state(QEMUFile *f, void *opaque, int version_id,
                          Error **errp)
{
    const uint64_t known = RAM_SAVE_FLAG_ZERO | RAM_SAVE_FLAG_MEM_SIZE |
                           RAM_SAVE_FLAG_PAGE | RAM_SAVE_FLAG_EOS |
                           RAM_SAVE_FLAG_CONTINUE;

    if (version_id != 4) {
        error_setg(errp, "ram: unsupported version %d", version_id);
        return -EINVAL;
    }
    for (;;) {
        uint64_t word = qemu_get_be64(f);
        uint64_t addr = word & TARGET_PAGE_MASK;
        int flags = word & ~TARGET_PAGE_MASK;
        uint8_t *host = NULL;
        int ret;

        ret = qemu_file_get_error(f);
        if (ret < 0) {
            qemu_file_get_error_obj(f, errp);
            return ret;
        }
        if (flags & ~known) {
            error_setg(errp, "Unknown combination of migration flags: 0x%x",
                       flags);
            return -EINVAL;
        }
        if (flags & (RAM_SAVE_FLAG_ZERO | RAM_SAVE_FLAG_PAGE)) {
            host = ram_load_host(f, addr, flags);
            if (!host && qemu_file_get_error(f)) {
                ret = qemu_file_get_error_obj(f, errp);
                return ret;
            }
            if (!host) {
                error_setg(errp, "Illegal RAM offset %" PRIx64, addr);
                return -EINVAL;
            }
        }
        switch (flags & ~RAM_SAVE_FLAG_CONTINUE) {
        case RAM_SAVE_FLAG_MEM_SIZE:
            ret = ram_load_block_list(f, addr, errp);
            if (ret < 0) {
                return ret;
            }
            break;
        case RAM_SAVE_FLAG_ZERO: {
            int ch = qemu_get_byte(f);

            if (ch != 0 || !ram_page_is_zero(host)) {
                memset(host, ch, TARGET_PAGE_SIZE);
            }
            break;
        }
        case RAM_SAVE_FLAG_PAGE:
            ram_prefault_note(last_recv_block, host - last_recv_block->host);
            ram_load_page(f, host);
            break;
        case RAM_SAVE_FLAG_EOS:
            /* Order the streaming stores before anyone looks at RAM. */
            _mm_sfence();
            return 0;
        default:
            error_setg(errp, "Unknown combination of migration flags: 0x%x",
                       flags);
            return -EINVAL;
        }
    }
}

static const SaveVMHandlers savevm_ram_handlers = {
    .save_setup = ram_save_setup,
    .save_live_iterate = ram_save_iterate,
    .save_live_complete_precopy = ram_save_complete,
    .state_pending_estimate = ram_state_pending_estimate,
    .state_pending_exact = ram_state_pending_exact,
    .save_cleanup = ram_save_cleanup,
    .load_setup = ram_load_setup,
    .load_state = ram_load_state,
    .load_cleanup = ram_load_cleanup,
};

/*
 * Registered lazily, at the first migration in either direction, so the
 * machine's device sections (timer, globalstate, ...) come first and ram
 * never gets section id 0: a QEMU 7.2 destination matches PART/END
 * records by a per-handler id that defaults to 0, so a ram section with
 * id 0 would be routed to whichever handler comes first in its list
 * ("timer: incoming version_id 0 is too old").  QEMU itself numbers
 * timer 0, ram 2.
 */
void ram_mig_init(void)
{
    static bool registered;

    if (!registered) {
        registered = true;
        register_savevm_live("ram", 0, 4, &savevm_ram_handlers, &ram_state);
    }
}
