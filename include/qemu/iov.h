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

#endif /* QEMU_IOV_H */
