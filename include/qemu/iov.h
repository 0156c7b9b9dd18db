/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * iov.h: helpers for struct iovec arrays (scatter/gather buffers as
 * QIOChannel readv/writev use them).
 *
 * Offsets and byte counts are in bytes from the start of the whole
 * vector.  Copies stop at the end of the vector: the return value says
 * how many bytes were actually handled.  None of these block or allocate.
 */
#ifndef QEMU_IOV_H
#define QEMU_IOV_H

#include "qemu/osdep.h"

/* Total length of the iov_cnt elements. */
size_t iov_size(const struct iovec *iov, unsigned int iov_cnt);

/* Copy bytes from buf into the vector at offset; returns bytes copied. */
size_t iov_from_buf(const struct iovec *iov, unsigned int iov_cnt,
                    size_t offset, const void *buf, size_t bytes);

/* Copy bytes from the vector at offset into buf; returns bytes copied. */
size_t iov_to_buf(const struct iovec *iov, unsigned int iov_cnt, size_t offset,
                  void *buf, size_t bytes);

/* Fill bytes of the vector at offset with fillc; returns bytes filled. */
size_t iov_memset(const struct iovec *iov, unsigned int iov_cnt, size_t offset,
                  int fillc, size_t bytes);

/*
 * Drop bytes from the front: *iov and *iov_cnt advance past elements
 * consumed entirely and the first remaining element is trimmed in place
 * (the caller's array is modified).  Returns bytes discarded (less than
 * bytes if the vector was shorter; it is then empty).
 */
size_t iov_discard_front(struct iovec **iov, unsigned int *iov_cnt,
                         size_t bytes);

/*
 * Drop bytes from the back: *iov_cnt shrinks past elements dropped
 * entirely and the last remaining element is trimmed in place.  Returns
 * bytes discarded.
 */
size_t iov_discard_back(struct iovec *iov, unsigned int *iov_cnt, size_t bytes);

/*
 * Fill dst_iov (room for dst_iov_cnt elements) with elements pointing at
 * the [offset, offset + bytes) part of iov (no data is copied).  Returns
 * the number of dst elements used; stops early when dst is full or iov
 * ends.
 */
unsigned int iov_copy(struct iovec *dst_iov, unsigned int dst_iov_cnt,
                      const struct iovec *iov, unsigned int iov_cnt,
                      size_t offset, size_t bytes);

/*
 * IOVCursor: a read position in a caller's iovec array, for code that
 * walks a vector piece by piece (record layers, short-transfer loops).
 * The array is never modified; the cursor only remembers the element
 * (idx) and the offset in it (off).  A cursor is a plain value: copy it
 * to look ahead without moving.  It must not outlive the array.
 */
typedef struct IOVCursor {
    const struct iovec *iov;
    size_t niov;
    size_t idx; /* current element; niov when at the end */
    size_t off; /* bytes of iov[idx] already passed */
} IOVCursor;

/* Start a cursor at the first byte of iov[0..niov). */
static inline void iov_cursor_init(IOVCursor *c, const struct iovec *iov,
                                   size_t niov)
{
    c->iov = iov;
    c->niov = niov;
    c->idx = 0;
    c->off = 0;
}

/*
 * The contiguous bytes at the cursor: sets *p to them and returns their
 * length, skipping empty elements (the cursor moves past them, no byte
 * is passed).  Returns 0 with *p = NULL at the end of the vector.
 */
static inline size_t iov_cursor_piece(IOVCursor *c, void **p)
{
    while (c->idx < c->niov && c->off == c->iov[c->idx].iov_len) {
        c->idx++;
        c->off = 0;
    }
    if (c->idx == c->niov) {
        *p = NULL;
        return 0;
    }
    *p = (char *)c->iov[c->idx].iov_base + c->off;
    return c->iov[c->idx].iov_len - c->off;
}

/* Move the cursor n bytes forward (stopping at the end of the vector). */
static inline void iov_cursor_advance(IOVCursor *c, size_t n)
{
    while (n && c->idx < c->niov) {
        size_t avail = c->iov[c->idx].iov_len - c->off;

        if (n < avail) {
            c->off += n;
            return;
        }
        n -= avail;
        c->idx++;
        c->off = 0;
    }
}

/* Bytes between the cursor and the end of the vector. */
size_t iov_cursor_remaining(const IOVCursor *c);

/*
 * Copy up to n bytes at the cursor into buf and advance past them.
 * Returns bytes copied (less than n only at the end of the vector).
 */
size_t iov_cursor_to_buf(IOVCursor *c, void *buf, size_t n);

/*
 * Copy up to n bytes from buf into the vector at the cursor and advance
 * past them.  Returns bytes copied (less than n only at the end).
 */
size_t iov_cursor_from_buf(IOVCursor *c, const void *buf, size_t n);

/*
 * Describe the rest of the vector in dst (room for dst_cnt elements), the
 * first element trimmed to start at the cursor and empty elements left
 * out, ready for readv/writev.  dst points into the caller's buffers; no
 * data is copied and the cursor does not move.  Returns elements used (0
 * at the end; fewer than needed if dst is too small).
 */
size_t iov_cursor_export(const IOVCursor *c, struct iovec *dst, size_t dst_cnt);

#endif /* QEMU_IOV_H */
