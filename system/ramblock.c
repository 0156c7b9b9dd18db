/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * ramblock.c: the guest RAM block list (see sysemu/ramblock.h).
 *
 * Backends:
 *   anonymous  mmap(MAP_ANONYMOUS), private unless share=on
 *   file       mem_path is a file (created/extended to size) or a
 *              directory (an unlinked temporary file is made inside);
 *              MAP_SHARED with share=on, MAP_PRIVATE otherwise
 *   memfd      memfd_create(), always MAP_SHARED (share is implied)
 *
 * prealloc touches every page at creation so that a missing hugetlbfs page
 * or an exhausted tmpfs fails here, at start-up, and not in the guest.
 */
#include "qemu/osdep.h"
#include "qemu/error-report.h"
#include "qemu/bitmap.h"
#include "sysemu/ramblock.h"

#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/vfs.h>

#ifndef MFD_CLOEXEC
#define MFD_CLOEXEC 0x0001U
#endif
#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif

#define HUGETLBFS_MAGIC_NUMBER 0x958458f6

/* The list; built on the main thread at start-up, read-only afterwards. */
static RAMBlock *ram_list_head;
static const RAMDirtyLogOps *dirty_log_ops;

/*
 * Pages the VMM wrote itself (ram_gpa_write(), e.g. -qtest) while dirty
 * logging is on: vmm_dirty_lock protects vmm_dirty_on and every block's
 * vmm_dirty map.  The writer stores into guest RAM and then sets the
 * bits under the lock; the sync takes the bits under the lock before
 * migration reads the pages, so a write is never lost.
 */
static GMutex vmm_dirty_lock;
static bool vmm_dirty_on;

static uint64_t ram_fd_page_size(int fd)
{
    struct statfs fs;

    if (fstatfs(fd, &fs) == 0 && fs.f_type == HUGETLBFS_MAGIC_NUMBER) {
        return fs.f_bsize;
    }
    return getpagesize();
}

/*
 * Open (or create) the backing file for a file backend.  A directory gets
 * an unlinked temporary file inside it.  Returns an fd or -1 with errp set.
 */
static int ram_file_open(const char *path, const char *idstr, uint64_t size,
                         Error **errp)
{
    struct stat st;
    int fd;

    if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
        g_autofree char *tmpl =
            g_strdup_printf("%s/tern_back_mem.%s.XXXXXX", path, idstr);
        char *p;

        /* mkstemp refuses '/' in the template's file part */
        for (p = tmpl + strlen(path) + 1; *p; p++) {
            if (*p == '/') {
                *p = '_';
            }
        }
        fd = mkstemp(tmpl);
        if (fd < 0) {
            error_setg_errno(errp, errno,
                             "can't open backing store %s for guest RAM", path);
            return -1;
        }
        unlink(tmpl);
        (void)fcntl(fd, F_SETFD, FD_CLOEXEC);
    } else {
        fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
        if (fd < 0 && errno == EACCES) {
            fd = open(path, O_RDONLY | O_CLOEXEC);
        }
        if (fd < 0) {
            error_setg_errno(errp, errno,
                             "can't open backing store %s for guest RAM", path);
            return -1;
        }
    }

    if (fstat(fd, &st) < 0) {
        error_setg_errno(errp, errno, "can't stat backing store %s", path);
        goto err_close;
    }
    if (S_ISREG(st.st_mode) && (uint64_t)st.st_size < size) {
        if (ftruncate(fd, size) < 0) {
            error_setg_errno(errp, errno,
                             "can't extend backing store %s to %" PRIu64
                             " bytes",
                             path, size);
            goto err_close;
        }
    }
    return fd;

err_close:
    close(fd);
    return -1;
}

/*
 * A shared file mapping needs file space behind every page: reserve it
 * first, so a file system without room says so (ENOSPC) instead of the
 * populate failing with a bare EFAULT (or a store dying of SIGBUS).
 * File systems that cannot fallocate are left to the populate.
 */
static bool ram_prealloc_file(RAMBlock *rb, Error **errp)
{
    if (rb->fd < 0 || !rb->shared ||
        fallocate(rb->fd, 0, 0, rb->used_length) == 0 || errno == EOPNOTSUPP ||
        errno == ENOSYS || errno == EINVAL) {
        return true;
    }
    error_setg_errno(errp, errno,
                     "memory backend '%s': cannot preallocate %" PRIu64
                     " bytes in its file",
                     rb->idstr, rb->used_length);
    return false;
}

static bool ram_prealloc(RAMBlock *rb, Error **errp)
{
    uint64_t off;

    if (!ram_prealloc_file(rb, errp)) {
        return false;
    }
    if (madvise(rb->host, rb->used_length, MADV_POPULATE_WRITE) == 0) {
        return true;
    }
    if (errno == EFAULT && rb->fd >= 0) {
        /* the kernel's answer when a page of the file cannot be backed */
        error_setg(errp,
                   "os_mem_prealloc: preallocating memory for '%s' failed: "
                   "its file cannot back every page (file system full, "
                   "or no free huge pages)",
                   rb->idstr);
        return false;
    }
    if (errno != EINVAL) {
        error_setg_errno(errp, errno,
                         "os_mem_prealloc: preallocating memory for '%s' "
                         "failed",
                         rb->idstr);
        return false;
    }
    /* Older kernels: write each page (reading first keeps file content). */
    for (off = 0; off < rb->used_length; off += rb->page_size) {
        volatile uint8_t *p = rb->host + off;
        *p = *p;
    }
    return true;
}

RAMBlock *ram_block_add(const char *idstr, uint64_t size,
                        const RAMBlockOptions *opts, Error **errp)
{
    static const RAMBlockOptions defaults;
    RAMBlock *rb, **tail;
    int flags, fd = -1;
    void *host;

    if (!opts) {
        opts = &defaults;
    }
    if (!idstr || !*idstr || strlen(idstr) >= sizeof(rb->idstr)) {
        error_setg(errp, "invalid RAM block name");
        return NULL;
    }
    if (ram_block_by_name(idstr)) {
        error_setg(errp, "RAM block '%s' already exists", idstr);
        return NULL;
    }
    if (size == 0) {
        error_setg(errp, "can't create backend with size 0");
        return NULL;
    }
    if (!QEMU_IS_ALIGNED(size, TARGET_PAGE_SIZE) ||
        !QEMU_IS_ALIGNED(opts->gpa, TARGET_PAGE_SIZE)) {
        error_setg(errp,
                   "RAM block '%s': size and address must be "
                   "multiples of %u",
                   idstr, TARGET_PAGE_SIZE);
        return NULL;
    }

    rb = g_new0(RAMBlock, 1);
    g_strlcpy(rb->idstr, idstr, sizeof(rb->idstr));
    rb->used_length = size;
    rb->gpa = opts->gpa;
    rb->fd = -1;
    rb->page_size = getpagesize();

    if (opts->mem_path) {
        fd = ram_file_open(opts->mem_path, idstr, size, errp);
        if (fd < 0) {
            goto err_free;
        }
        rb->page_size = ram_fd_page_size(fd);
        rb->shared = opts->share;
        flags = opts->share ? MAP_SHARED : MAP_PRIVATE;
    } else if (opts->memfd) {
        fd = memfd_create(idstr, MFD_CLOEXEC);
        if (fd < 0) {
            error_setg_errno(errp, errno, "failed to create memfd");
            goto err_free;
        }
        if (ftruncate(fd, size) < 0) {
            error_setg_errno(errp, errno, "failed to resize memfd to %" PRIu64,
                             size);
            goto err_close;
        }
        rb->shared = true;
        flags = MAP_SHARED;
    } else {
        rb->shared = opts->share;
        flags = MAP_ANONYMOUS | MAP_NORESERVE |
                (opts->share ? MAP_SHARED : MAP_PRIVATE);
    }
    if (!QEMU_IS_ALIGNED(size, rb->page_size)) {
        error_setg(errp,
                   "RAM block '%s': size %" PRIu64 " is not a "
                   "multiple of the backing page size %" PRIu64,
                   idstr, size, rb->page_size);
        goto err_close;
    }

    host = mmap(NULL, size, PROT_READ | PROT_WRITE, flags, fd, 0);
    if (host == MAP_FAILED) {
        if (opts->mem_path) {
            error_setg_errno(errp, errno,
                             "unable to map backing store %s "
                             "for guest RAM",
                             opts->mem_path);
        } else {
            error_setg_errno(errp, errno, "cannot set up guest memory '%s'",
                             idstr);
        }
        goto err_close;
    }
    rb->host = host;
    rb->fd = fd;
    if (fd < 0 && rb->page_size == (uint64_t)getpagesize()) {
        /* Optional: fewer TLB misses for the guest; failure is harmless. */
        (void)madvise(host, size, MADV_HUGEPAGE);
    }
    if (opts->prealloc && !ram_prealloc(rb, errp)) {
        munmap(host, size);
        goto err_close;
    }

    for (tail = &ram_list_head; *tail; tail = &(*tail)->next) {
        /* find the end: blocks keep creation order */
    }
    *tail = rb;
    return rb;

err_close:
    if (fd >= 0) {
        close(fd);
    }
err_free:
    g_free(rb);
    return NULL;
}

RAMBlock *ram_block_first(void)
{
    return ram_list_head;
}

RAMBlock *ram_block_by_name(const char *name)
{
    RAMBlock *rb;

    RAMBLOCK_FOREACH(rb)
    {
        if (!strcmp(rb->idstr, name)) {
            return rb;
        }
    }
    return NULL;
}

uint64_t ram_bytes_total(void)
{
    RAMBlock *rb;
    uint64_t total = 0;

    RAMBLOCK_FOREACH(rb)
    {
        total += rb->used_length;
    }
    return total;
}

void *ram_gpa_to_host(uint64_t gpa, uint64_t len)
{
    RAMBlock *rb;

    RAMBLOCK_FOREACH(rb)
    {
        if (gpa >= rb->gpa && gpa - rb->gpa < rb->used_length &&
            len <= rb->used_length - (gpa - rb->gpa)) {
            return rb->host + (gpa - rb->gpa);
        }
    }
    return NULL;
}

void ram_block_list_free(void)
{
    RAMBlock *rb = ram_list_head, *next;

    ram_list_head = NULL;
    for (; rb; rb = next) {
        next = rb->next;
        munmap(rb->host, rb->used_length);
        if (rb->fd >= 0) {
            close(rb->fd);
        }
        g_free(rb->bmap);
        g_free(rb->vmm_dirty);
        g_free(rb);
    }
}

bool ram_gpa_read(uint64_t gpa, void *buf, uint64_t len)
{
    void *host = ram_gpa_to_host(gpa, len);

    if (!host) {
        return false;
    }
    memcpy(buf, host, len);
    return true;
}

bool ram_gpa_write(uint64_t gpa, const void *buf, uint64_t len)
{
    uint8_t *host = ram_gpa_to_host(gpa, len);
    RAMBlock *rb;

    if (!host) {
        return false;
    }
    memcpy(host, buf, len);
    if (!len) {
        return true;
    }
    g_mutex_lock(&vmm_dirty_lock);
    RAMBLOCK_FOREACH(rb)
    {
        if (vmm_dirty_on && host >= rb->host &&
            host < rb->host + rb->used_length) {
            uint64_t first = (host - rb->host) >> TARGET_PAGE_BITS;
            uint64_t last = (host - rb->host + len - 1) >> TARGET_PAGE_BITS;

            if (!rb->vmm_dirty) {
                rb->vmm_dirty = bitmap_new(ram_block_pages(rb));
            }
            bitmap_set(rb->vmm_dirty, first, last - first + 1);
        }
    }
    g_mutex_unlock(&vmm_dirty_lock);
    return true;
}

/* Move the VMM's dirty bits into the blocks' bmap; newly set bits. */
static uint64_t ram_vmm_dirty_sync(void)
{
    uint64_t newly = 0;
    RAMBlock *rb;

    g_mutex_lock(&vmm_dirty_lock);
    RAMBLOCK_FOREACH(rb)
    {
        uint64_t words = BITS_TO_LONGS(ram_block_pages(rb));

        if (!rb->vmm_dirty || !rb->bmap) {
            continue;
        }
        for (uint64_t i = 0; i < words; i++) {
            unsigned long bits = rb->vmm_dirty[i];

            if (bits) {
                newly += __builtin_popcountl(bits & ~rb->bmap[i]);
                rb->bmap[i] |= bits;
                rb->vmm_dirty[i] = 0;
            }
        }
    }
    g_mutex_unlock(&vmm_dirty_lock);
    return newly;
}

/* Logging of VMM writes on or off (off forgets what was logged). */
static void ram_vmm_dirty_log(bool on)
{
    RAMBlock *rb;

    g_mutex_lock(&vmm_dirty_lock);
    vmm_dirty_on = on;
    RAMBLOCK_FOREACH(rb)
    {
        g_free(rb->vmm_dirty);
        rb->vmm_dirty = NULL;
    }
    g_mutex_unlock(&vmm_dirty_lock);
}

void ram_dirty_log_set_ops(const RAMDirtyLogOps *ops)
{
    dirty_log_ops = ops;
}

bool ram_dirty_log_start(Error **errp)
{
    ram_vmm_dirty_log(true);
    if (!dirty_log_ops || !dirty_log_ops->start) {
        /* No accelerator writes guest RAM: nothing to track. */
        return true;
    }
    return dirty_log_ops->start(errp);
}

void ram_dirty_log_stop(void)
{
    ram_vmm_dirty_log(false);
    if (dirty_log_ops && dirty_log_ops->stop) {
        dirty_log_ops->stop();
    }
}

uint64_t ram_dirty_log_sync(void)
{
    uint64_t newly = 0;

    if (dirty_log_ops && dirty_log_ops->sync) {
        newly = dirty_log_ops->sync();
    }
    return newly + ram_vmm_dirty_sync();
}
