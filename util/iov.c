/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * iov.c: struct iovec helpers (see qemu/iov.h).
 */
#include "qemu/osdep.h"
#include "qemu/iov.h"

size_t iov_size(const struct iovec *iov, unsigned int iov_cnt)
{
    size_t total = 0;
    unsigned int i;

    for (i = 0; i < iov_cnt; i++) {
        total += iov[i].iov_len;
    }
    return total;
}

/*
 * Walk [offset, offset + bytes) of the vector, calling fn on each
 * contiguous piece with its position in the caller's linear buffer.
 * Returns the number of bytes walked.
 */
typedef void (*IovPieceFn)(void *piece, size_t done, size_t len, void *opaque);

static size_t iov_walk(const struct iovec *iov, unsigned int iov_cnt,
                       size_t offset, size_t bytes, IovPieceFn fn, void *opaque)
{
    size_t done = 0;
    unsigned int i;

    for (i = 0; i < iov_cnt && done < bytes; i++) {
        size_t len;

        if (offset >= iov[i].iov_len) {
            offset -= iov[i].iov_len;
            continue;
        }
        len = MIN(iov[i].iov_len - offset, bytes - done);
        fn((char *)iov[i].iov_base + offset, done, len, opaque);
        done += len;
        offset = 0;
    }
    return done;
}

static void piece_from_buf(void *piece, size_t done, size_t len, void *opaque)
{
    memcpy(piece, (const char *)opaque + done, len);
}

static void piece_to_buf(void *piece, size_t done, size_t len, void *opaque)
{
    memcpy((char *)opaque + done, piece, len);
}

static void piece_memset(void *piece, size_t done, size_t len, void *opaque)
{
    memset(piece, *(int *)opaque, len);
}

size_t iov_from_buf(const struct iovec *iov, unsigned int iov_cnt,
                    size_t offset, const void *buf, size_t bytes)
{
    return iov_walk(iov, iov_cnt, offset, bytes, piece_from_buf, (void *)buf);
}

size_t iov_to_buf(const struct iovec *iov, unsigned int iov_cnt, size_t offset,
                  void *buf, size_t bytes)
{
    return iov_walk(iov, iov_cnt, offset, bytes, piece_to_buf, buf);
}

size_t iov_memset(const struct iovec *iov, unsigned int iov_cnt, size_t offset,
                  int fillc, size_t bytes)
{
    return iov_walk(iov, iov_cnt, offset, bytes, piece_memset, &fillc);
}

size_t iov_discard_front(struct iovec **iov, unsigned int *iov_cnt,
                         size_t bytes)
{
    size_t done = 0;

    while (*iov_cnt > 0 && done < bytes) {
        struct iovec *cur = *iov;
        size_t want = bytes - done;

        if (cur->iov_len > want) {
            cur->iov_base = (char *)cur->iov_base + want;
            cur->iov_len -= want;
            return bytes;
        }
        done += cur->iov_len;
        (*iov)++;
        (*iov_cnt)--;
    }
    return done;
}

size_t iov_discard_back(struct iovec *iov, unsigned int *iov_cnt, size_t bytes)
{
    size_t done = 0;

    while (*iov_cnt > 0 && done < bytes) {
        struct iovec *cur = &iov[*iov_cnt - 1];
        size_t want = bytes - done;

        if (cur->iov_len > want) {
            cur->iov_len -= want;
            return bytes;
        }
        done += cur->iov_len;
        (*iov_cnt)--;
    }
    return done;
}

unsigned int iov_copy(struct iovec *dst_iov, unsigned int dst_iov_cnt,
                      const struct iovec *iov, unsigned int iov_cnt,
                      size_t offset, size_t bytes)
{
    unsigned int i, used = 0;

    for (i = 0; i < iov_cnt && used < dst_iov_cnt && bytes; i++) {
        size_t len;

        if (offset >= iov[i].iov_len) {
            offset -= iov[i].iov_len;
            continue;
        }
        len = MIN(iov[i].iov_len - offset, bytes);
        dst_iov[used].iov_base = (char *)iov[i].iov_base + offset;
        dst_iov[used].iov_len = len;
        used++;
        bytes -= len;
        offset = 0;
    }
    return used;
}

size_t iov_cursor_remaining(const IOVCursor *c)
{
    size_t n = 0;
    size_t i;

    for (i = c->idx; i < c->niov; i++) {
        n += c->iov[i].iov_len;
    }
    return n - (c->idx < c->niov ? c->off : 0);
}

/* Copy n bytes between the cursor and buf (to_buf: out of the vector). */
static size_t iov_cursor_copy(IOVCursor *c, void *buf, size_t n, bool to_buf)
{
    size_t done = 0;

    while (done < n) {
        void *p;
        size_t piece = MIN(iov_cursor_piece(c, &p), n - done);

        if (!piece) {
            break;
        }
        if (to_buf) {
            memcpy((char *)buf + done, p, piece);
        } else {
            memcpy(p, (const char *)buf + done, piece);
        }
        c->off += piece;
        done += piece;
    }
    return done;
}

size_t iov_cursor_to_buf(IOVCursor *c, void *buf, size_t n)
{
    return iov_cursor_copy(c, buf, n, true);
}

size_t iov_cursor_from_buf(IOVCursor *c, const void *buf, size_t n)
{
    return iov_cursor_copy(c, (void *)buf, n, false);
}

size_t iov_cursor_export(const IOVCursor *c, struct iovec *dst, size_t dst_cnt)
{
    size_t used = 0;
    size_t i, off = c->off;

    for (i = c->idx; i < c->niov && used < dst_cnt; i++, off = 0) {
        if (c->iov[i].iov_len == off) {
            continue;
        }
        dst[used].iov_base = (char *)c->iov[i].iov_base + off;
        dst[used].iov_len = c->iov[i].iov_len - off;
        used++;
    }
    return used;
}
