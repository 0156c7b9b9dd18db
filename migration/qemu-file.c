/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * qemu-file.c: QEMUFile, the buffered big-endian stream every migration
 * stream is (see include/migration/qemu-file.h for the contract).
 *
 * Output
 *   Puts are gathered in an iovec array (MAX_IOV entries).  Small puts are
 *   copied into buf[] and adjacent copies share one iovec; the async put
 *   queues the caller's pointer (guest RAM) as its own iovec, or extends
 *   the previous one when the memory is contiguous.  One writev
 *   (qio_channel_writev_all) sends everything when the iovec array or
 *   buf[] fills up, at qemu_fflush() and at qemu_fclose().
 *
 * Input
 *   buf[buf_index, buf_size) holds bytes read but not consumed.  A refill
 *   moves them to the front and reads once (one syscall) into the rest.
 *   A qemu_get_buffer() bigger than what is buffered copies the buffered
 *   part and then reads with one readv into [rest of the destination,
 *   buf[]]: the bulk lands in place (no double copy) and whatever else the
 *   kernel has ready is prefetched into buf[] by the same syscall.
 *
 * Errors
 *   The first error wins: last_error (negative errno, atomic because
 *   qemu_file_shutdown() may race with the user thread) plus an optional
 *   Error (protected by err_lock).  With an error set, puts are dropped and
 *   gets return zeros.  End of input in the middle of a read is -EIO.
 */
#include "qemu/osdep.h"
#include "qemu/error-report.h"
#include "migration/qemu-file.h"

/*
 * Output copy buffer (headers and device state only; page payloads are
 * queued as pointers) and iovec array.  MAX_IOV is the kernel's IOV_MAX:
 * a RAM page takes two entries (its 8-byte record header in buf[] and the
 * page itself), so one writev carries 512 pages (2 MiB) instead of 32
 * with 64 entries.  Measured (512 MiB over loopback TCP, medians of 6 in
 * one run): source CPU 0.18 -> 0.16 s; the rest of the send path is the
 * kernel's copy, which no batching changes.
 */
#define IO_BUF_SIZE_OUT (32 * KiB)
#define MAX_IOV IOV_MAX
/*
 * Input buffer.  A RAM page record is 4104 bytes, so a 32 KiB buffer
 * meant one recvmsg per 8 pages; 256 KiB reads ~64 pages per syscall and
 * still fits in L2, where the copy into guest RAM reads it back from.
 * Measured (512 MiB over loopback TCP, medians of 5 in one run):
 * destination CPU 0.35 -> 0.29 s; with 32 KiB the load thread also spent
 * its time in recvmsg entry/exit and the refill memmove.
 */
#define IO_BUF_SIZE_IN (256 * KiB)

struct QEMUFile {
    QIOChannel *ioc;
    bool is_writable;

    /* Output: buf[0, buf_index) used; iov[0, iovcnt) queued. */
    /* Input: buf[buf_index, buf_size) unread. */
    size_t buf_index;
    size_t buf_size;
    unsigned int iovcnt;
    struct iovec iov[MAX_IOV];

    /* Bytes put (output, incl. queued) or consumed (input). */
    uint64_t total_transferred;
    /* Bytes the channel took or gave (relaxed atomic: any thread reads). */
    uint64_t io_bytes;

    /*
     * First error: read lock-free (atomic) on every put/get; written once
     * under err_lock together with last_error_obj.
     */
    int last_error;
    GMutex err_lock;

    Error *last_error_obj;

    size_t buf_cap; /* IO_BUF_SIZE_OUT or IO_BUF_SIZE_IN */
    uint8_t buf[];
};

static QEMUFile *qemu_file_new_impl(QIOChannel *ioc, bool is_writable)
{
    size_t cap = is_writable ? IO_BUF_SIZE_OUT : IO_BUF_SIZE_IN;
    QEMUFile *f = g_malloc0(sizeof(QEMUFile) + cap);

    f->buf_cap = cap;
    f->ioc = qio_channel_ref(ioc);
    f->is_writable = is_writable;
    g_mutex_init(&f->err_lock);
    return f;
}

QEMUFile *qemu_file_new_output(QIOChannel *ioc)
{
    return qemu_file_new_impl(ioc, true);
}

QEMUFile *qemu_file_new_input(QIOChannel *ioc)
{
    return qemu_file_new_impl(ioc, false);
}

QIOChannel *qemu_file_get_ioc(QEMUFile *f)
{
    return f->ioc;
}

bool qemu_file_is_writable(QEMUFile *f)
{
    return f->is_writable;
}

/* ------------------------------------------------------------------ */
/* Errors */

int qemu_file_get_error(QEMUFile *f)
{
    return g_atomic_int_get(&f->last_error);
}

int qemu_file_get_error_obj(QEMUFile *f, Error **errp)
{
    int ret;

    g_mutex_lock(&f->err_lock);
    ret = qemu_file_get_error(f);
    if (ret && errp) {
        if (f->last_error_obj) {
            error_propagate(errp, error_copy(f->last_error_obj));
        } else {
            error_setg(errp, "%s", strerror(-ret));
        }
    }
    g_mutex_unlock(&f->err_lock);
    return ret;
}

void qemu_file_set_error_obj(QEMUFile *f, int ret, Error *err)
{
    if (ret < 0) {
        /* Under err_lock so that readers see the code and text together. */
        g_mutex_lock(&f->err_lock);
        if (!g_atomic_int_get(&f->last_error)) {
            f->last_error_obj = err;
            err = NULL;
            g_atomic_int_set(&f->last_error, ret);
        }
        g_mutex_unlock(&f->err_lock);
    }
    error_free(err);
}

void qemu_file_set_error(QEMUFile *f, int ret)
{
    qemu_file_set_error_obj(f, ret, NULL);
}

/* ------------------------------------------------------------------ */
/* Output */

/* Send every queued iovec with one writev (retried on short writes). */
static void qemu_file_write_iov(QEMUFile *f)
{
    Error *local_err = NULL;

    if (f->iovcnt && !qemu_file_get_error(f)) {
        if (qio_channel_writev_all(f->ioc, f->iov, f->iovcnt, &local_err) < 0) {
            qemu_file_set_error_obj(f, -EIO, local_err);
        } else {
            size_t n = 0;

            for (unsigned int i = 0; i < f->iovcnt; i++) {
                n += f->iov[i].iov_len;
            }
            __atomic_fetch_add(&f->io_bytes, n, __ATOMIC_RELAXED);
        }
    }
    f->iovcnt = 0;
    f->buf_index = 0;
}

int qemu_fflush(QEMUFile *f)
{
    if (f->is_writable) {
        qemu_file_write_iov(f);
    }
    return qemu_file_get_error(f);
}

/* Queue [base, base + size); extends the last iovec when contiguous. */
static inline void qemu_file_add_iov(QEMUFile *f, const uint8_t *base,
                                     size_t size)
{
    if (f->iovcnt > 0) {
        struct iovec *last = &f->iov[f->iovcnt - 1];

        if ((const uint8_t *)last->iov_base + last->iov_len == base) {
            last->iov_len += size;
            return;
        }
    }
    f->iov[f->iovcnt].iov_base = (void *)base;
    f->iov[f->iovcnt].iov_len = size;
    f->iovcnt++;
}

/*
 * Reserve n (<= 8) contiguous bytes in buf[] for a small put; flushes
 * first if buf[] or the iovec array is full.  Returns where to write.
 */
static inline uint8_t *qemu_file_put_reserve(QEMUFile *f, size_t n)
{
    uint8_t *p;

    if (G_UNLIKELY(f->buf_index + n > f->buf_cap || f->iovcnt == MAX_IOV)) {
        qemu_file_write_iov(f);
    }
    p = f->buf + f->buf_index;
    qemu_file_add_iov(f, p, n);
    f->buf_index += n;
    f->total_transferred += n;
    return p;
}

void qemu_put_byte(QEMUFile *f, int v)
{
    if (G_UNLIKELY(qemu_file_get_error(f))) {
        return;
    }
    *qemu_file_put_reserve(f, 1) = v;
}

void qemu_put_be16(QEMUFile *f, unsigned int v)
{
    uint8_t *p;

    if (G_UNLIKELY(qemu_file_get_error(f))) {
        return;
    }
    p = qemu_file_put_reserve(f, 2);
    p[0] = v >> 8;
    p[1] = v;
}

void qemu_put_be32(QEMUFile *f, unsigned int v)
{
    uint32_t be = GUINT32_TO_BE(v);

    if (G_UNLIKELY(qemu_file_get_error(f))) {
        return;
    }
    memcpy(qemu_file_put_reserve(f, 4), &be, 4);
}

void qemu_put_be64(QEMUFile *f, uint64_t v)
{
    uint64_t be = GUINT64_TO_BE(v);

    if (G_UNLIKELY(qemu_file_get_error(f))) {
        return;
    }
    memcpy(qemu_file_put_reserve(f, 8), &be, 8);
}

void qemu_put_buffer(QEMUFile *f, const uint8_t *buf, size_t size)
{
    while (size > 0 && !qemu_file_get_error(f)) {
        size_t l;

        if (f->buf_index == f->buf_cap || f->iovcnt == MAX_IOV) {
            qemu_file_write_iov(f);
        }
        l = MIN(size, f->buf_cap - f->buf_index);
        memcpy(f->buf + f->buf_index, buf, l);
        qemu_file_add_iov(f, f->buf + f->buf_index, l);
        f->buf_index += l;
        f->total_transferred += l;
        buf += l;
        size -= l;
    }
}

void qemu_put_buffer_async(QEMUFile *f, const uint8_t *buf, size_t size,
                           bool may_free)
{
    if (qemu_file_get_error(f) || size == 0) {
        return;
    }
    if (f->iovcnt == MAX_IOV) {
        qemu_file_write_iov(f);
    }
    qemu_file_add_iov(f, buf, size);
    f->total_transferred += size;
    if (f->iovcnt == MAX_IOV) {
        /*
         * Send now rather than at the next put: the caller may modify buf
         * after the next qemu_fflush() only, and this keeps the array
         * from ever being full at entry to the small-put fast path.
         */
        qemu_file_write_iov(f);
    }
}

void qemu_put_counted_string(QEMUFile *f, const char *name)
{
    size_t len = strlen(name);

    g_assert(len <= 255); /* our own names only */
    qemu_put_byte(f, len);
    qemu_put_buffer(f, (const uint8_t *)name, len);
}

/* ------------------------------------------------------------------ */
/* Rate limiting */

uint64_t qemu_file_io_bytes(QEMUFile *f)
{
    return __atomic_load_n(&f->io_bytes, __ATOMIC_RELAXED);
}

uint64_t qemu_file_transferred(QEMUFile *f)
{
    return f->total_transferred;
}

/* ------------------------------------------------------------------ */
/* Input */

/*
 * Read once from the channel with iov, waiting if the channel is
 * non-blocking.  Returns bytes read, 0 on EOF, -1 with the file error set.
 */
static ssize_t qemu_file_readv_once(QEMUFile *f, const struct iovec *iov,
                                    size_t niov)
{
    Error *local_err = NULL;
    ssize_t len;

    for (;;) {
        len = qio_channel_readv(f->ioc, iov, niov, &local_err);
        if (len != QIO_CHANNEL_ERR_BLOCK) {
            break;
        }
        qio_channel_wait(f->ioc, G_IO_IN);
    }
    if (len < 0) {
        qemu_file_set_error_obj(f, -EIO, local_err);
        return -1;
    }
    __atomic_fetch_add(&f->io_bytes, len, __ATOMIC_RELAXED);
    return len;
}

/*
 * Move unread bytes to the front of buf[] and read once into the rest.
 * Returns the number of new bytes; 0 on EOF or error.  EOF sets -EIO
 * only when set_eof_error (a caller that needed the bytes).
 */
static size_t qemu_file_fill_buffer(QEMUFile *f, bool set_eof_error)
{
    size_t pending = f->buf_size - f->buf_index;
    struct iovec iov;
    ssize_t len;

    if (qemu_file_get_error(f)) {
        return 0;
    }
    if (pending > 0 && f->buf_index > 0) {
        memmove(f->buf, f->buf + f->buf_index, pending);
    }
    f->buf_index = 0;
    f->buf_size = pending;
    if (pending == f->buf_cap) {
        return 0;
    }

    iov.iov_base = f->buf + pending;
    iov.iov_len = f->buf_cap - pending;
    len = qemu_file_readv_once(f, &iov, 1);
    if (len == 0 && set_eof_error) {
        qemu_file_set_error(f, -EIO);
    }
    if (len <= 0) {
        return 0;
    }
    f->buf_size += len;
    return len;
}

size_t qemu_peek_buffer(QEMUFile *f, uint8_t **buf, size_t size, size_t offset)
{
    size_t avail;

    g_assert(!f->is_writable);
    g_assert(offset < f->buf_cap && size <= f->buf_cap - offset);
    if (qemu_file_get_error(f)) {
        *buf = f->buf;
        return 0;
    }

    for (;;) {
        avail = f->buf_size - f->buf_index;
        if (avail >= offset + size) {
            break;
        }
        if (qemu_file_fill_buffer(f, true) == 0) {
            avail = f->buf_size - f->buf_index;
            break;
        }
    }
    *buf = f->buf + f->buf_index + offset;
    if (avail <= offset) {
        return 0;
    }
    return MIN(avail - offset, size);
}

int qemu_peek_byte(QEMUFile *f, int offset)
{
    uint8_t *p;

    if (offset < 0 || qemu_peek_buffer(f, &p, 1, offset) < 1) {
        return 0;
    }
    return *p;
}

int qemu_file_try_peek_byte(QEMUFile *f)
{
    g_assert(!f->is_writable);
    while (f->buf_index == f->buf_size) {
        if (qemu_file_fill_buffer(f, false) == 0) {
            return -1;
        }
    }
    return f->buf[f->buf_index];
}

void qemu_file_skip(QEMUFile *f, int size)
{
    size_t avail;

    while (size > 0 && !qemu_file_get_error(f)) {
        avail = f->buf_size - f->buf_index;
        if (avail == 0) {
            if (qemu_file_fill_buffer(f, true) == 0) {
                return;
            }
            continue;
        }
        avail = MIN(avail, (size_t)size);
        f->buf_index += avail;
        f->total_transferred += avail;
        size -= avail;
    }
}

int qemu_get_byte(QEMUFile *f)
{
    if (G_UNLIKELY(f->buf_index == f->buf_size || qemu_file_get_error(f))) {
        if (qemu_file_fill_buffer(f, true) == 0) {
            return 0;
        }
    }
    f->total_transferred++;
    return f->buf[f->buf_index++];
}

/* Make n (<= 8) bytes available at buf[buf_index]; false on EOF/error. */
static inline bool qemu_file_get_ensure(QEMUFile *f, size_t n)
{
    if (G_UNLIKELY(qemu_file_get_error(f))) {
        return false;
    }
    while (G_UNLIKELY(f->buf_size - f->buf_index < n)) {
        if (qemu_file_fill_buffer(f, true) == 0) {
            return false;
        }
    }
    return true;
}

unsigned int qemu_get_be16(QEMUFile *f)
{
    const uint8_t *p;

    if (!qemu_file_get_ensure(f, 2)) {
        return 0;
    }
    p = f->buf + f->buf_index;
    f->buf_index += 2;
    f->total_transferred += 2;
    return (p[0] << 8) | p[1];
}

unsigned int qemu_get_be32(QEMUFile *f)
{
    uint32_t be;

    if (!qemu_file_get_ensure(f, 4)) {
        return 0;
    }
    memcpy(&be, f->buf + f->buf_index, 4);
    f->buf_index += 4;
    f->total_transferred += 4;
    return GUINT32_FROM_BE(be);
}

uint64_t qemu_get_be64(QEMUFile *f)
{
    uint64_t be;

    if (!qemu_file_get_ensure(f, 8)) {
        return 0;
    }
    memcpy(&be, f->buf + f->buf_index, 8);
    f->buf_index += 8;
    f->total_transferred += 8;
    return GUINT64_FROM_BE(be);
}

size_t qemu_get_buffer(QEMUFile *f, uint8_t *buf, size_t size)
{
    size_t done = 0;

    g_assert(!f->is_writable);
    if (size == 0 || qemu_file_get_error(f)) {
        return 0;
    }

    /* Whatever is buffered first. */
    if (f->buf_index < f->buf_size) {
        done = MIN(size, f->buf_size - f->buf_index);
        memcpy(buf, f->buf + f->buf_index, done);
        f->buf_index += done;
    }

    /*
     * Then straight into the destination; the same readv prefetches into
     * the (now empty) buf[] whatever else is ready.
     */
    while (done < size && !qemu_file_get_error(f)) {
        struct iovec iov[2];
        ssize_t len;

        f->buf_index = 0;
        f->buf_size = 0;
        iov[0].iov_base = buf + done;
        iov[0].iov_len = size - done;
        iov[1].iov_base = f->buf;
        iov[1].iov_len = f->buf_cap;
        len = qemu_file_readv_once(f, iov, 2);
        if (len == 0) {
            qemu_file_set_error(f, -EIO);
        }
        if (len <= 0) {
            break;
        }
        if ((size_t)len > size - done) {
            f->buf_size = len - (size - done);
            done = size;
        } else {
            done += len;
        }
    }
    f->total_transferred += done;
    return done;
}

size_t qemu_get_buffer_in_place(QEMUFile *f, uint8_t **buf, size_t size)
{
    if (size <= f->buf_cap) {
        uint8_t *src;
        size_t got = qemu_peek_buffer(f, &src, size, 0);

        if (got == size) {
            f->buf_index += size;
            f->total_transferred += size;
            *buf = src;
            return size;
        }
        if (qemu_file_get_error(f)) {
            return 0;
        }
    }
    return qemu_get_buffer(f, *buf, size);
}

size_t qemu_get_counted_string(QEMUFile *f, char buf[QEMU_COUNTED_STRING_BUF])
{
    size_t len = qemu_get_byte(f);
    size_t got = qemu_get_buffer(f, (uint8_t *)buf, len);

    buf[got] = '\0';
    return got == len ? len : 0;
}

/* ------------------------------------------------------------------ */
/* Positional I/O */

off_t qemu_get_offset(QEMUFile *f)
{
    Error *local_err = NULL;
    off_t pos;

    if (f->is_writable) {
        qemu_fflush(f);
    }
    if (qemu_file_get_error(f)) {
        return -1;
    }
    pos = qio_channel_io_seek(f->ioc, 0, SEEK_CUR, &local_err);
    if (pos < 0) {
        qemu_file_set_error_obj(f, -EIO, local_err);
        return -1;
    }
    if (!f->is_writable) {
        pos -= f->buf_size - f->buf_index;
    }
    return pos;
}

void qemu_set_offset(QEMUFile *f, off_t off, int whence)
{
    Error *local_err = NULL;

    if (f->is_writable) {
        qemu_fflush(f);
    } else {
        if (whence == SEEK_CUR) {
            off -= f->buf_size - f->buf_index;
        }
        f->buf_index = 0;
        f->buf_size = 0;
    }
    if (qemu_file_get_error(f)) {
        return;
    }
    if (qio_channel_io_seek(f->ioc, off, whence, &local_err) < 0) {
        qemu_file_set_error_obj(f, -EIO, local_err);
    }
}

size_t qemu_put_buffer_at(QEMUFile *f, const uint8_t *buf, size_t len,
                          off_t pos)
{
    Error *local_err = NULL;

    if (qemu_file_get_error(f)) {
        return 0;
    }
    if (qio_channel_pwrite_all(f->ioc, buf, len, pos, &local_err) < 0) {
        qemu_file_set_error_obj(f, -EIO, local_err);
        return 0;
    }
    f->total_transferred += len;
    return len;
}

size_t qemu_get_buffer_at(QEMUFile *f, uint8_t *buf, size_t len, off_t pos)
{
    Error *local_err = NULL;

    if (qemu_file_get_error(f)) {
        return 0;
    }
    if (qio_channel_pread_all(f->ioc, buf, len, pos, &local_err) < 0) {
        qemu_file_set_error_obj(f, -EIO, local_err);
        return 0;
    }
    f->total_transferred += len;
    return len;
}

/* ------------------------------------------------------------------ */
/* Lifetime, return path, shutdown */

int qemu_fclose(QEMUFile *f)
{
    Error *local_err = NULL;
    int ret;

    ret = qemu_fflush(f);
    if (qio_channel_close(f->ioc, &local_err) < 0) {
        if (!ret) {
            ret = -EIO;
        }
        error_free(local_err);
    }
    qio_channel_unref(f->ioc);
    g_mutex_lock(&f->err_lock);
    error_free(f->last_error_obj);
    g_mutex_unlock(&f->err_lock);
    g_mutex_clear(&f->err_lock);
    g_free(f);
    return ret;
}

QEMUFile *qemu_file_get_return_path(QEMUFile *f)
{
    return qemu_file_new_impl(f->ioc, !f->is_writable);
}

int qemu_file_shutdown(QEMUFile *f)
{
    /*
     * Record the error first: a user blocked in the channel that wakes up
     * with EOF must see that this was a shutdown, not a clean end.
     */
    qemu_file_set_error(f, -EIO);
    if (!qio_channel_has_feature(f->ioc, QIO_CHANNEL_FEATURE_SHUTDOWN)) {
        return -ENOSYS;
    }
    if (qio_channel_shutdown(f->ioc, QIO_CHANNEL_SHUTDOWN_BOTH, NULL) < 0) {
        return -EIO;
    }
    return 0;
}
