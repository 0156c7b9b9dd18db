/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * qemu-file.h: QEMUFile, a buffered big-endian byte stream over a
 * QIOChannel; every migration stream is one.
 *
 * A QEMUFile is either for output or for input.  It keeps the FIRST error
 * that happened (a negative errno plus an optional Error with the text);
 * after that every put is dropped and every get returns zeros, so callers
 * check qemu_file_get_error() at sync points instead of after each call.
 *
 * Output: puts are gathered in an iovec array.  Small puts are copied into
 * an internal buffer; qemu_put_buffer_async() queues a pointer to the
 * caller's memory (guest RAM) without copying, which must stay valid and
 * unchanged until the next qemu_fflush().  The iovec is written with one
 * writev when it fills up, at qemu_fflush(), and at qemu_fclose().
 *
 * Input: a buffer of 256 KiB refilled with one read per refill;
 * qemu_get_buffer() reads large requests straight into the destination;
 * qemu_get_buffer_in_place() returns a pointer into that buffer when the
 * bytes are already there (no copy).
 *
 * Blocking: a put blocks in writev when the IOV_MAX-entry iovec array or
 * the 32 KiB copy buffer is full; a get blocks in read when the buffer is
 * empty.  Non-blocking channels are waited on with qio_channel_wait().
 *
 * Threads: a QEMUFile is used by one thread at a time, except
 * qemu_file_shutdown(), qemu_file_get_error*() and qemu_file_set_error*()
 * which any thread may call (e.g. to wake or fail the user).
 */
#ifndef MIGRATION_QEMU_FILE_H
#define MIGRATION_QEMU_FILE_H

#include "qemu/osdep.h"
#include "qapi/error.h"
#include "io/channel.h"

typedef struct QEMUFile QEMUFile;

/* A file writing to ioc (takes a reference on ioc). */
QEMUFile *qemu_file_new_output(QIOChannel *ioc);
/* A file reading from ioc (takes a reference on ioc). */
QEMUFile *qemu_file_new_input(QIOChannel *ioc);
/*
 * Flush (output), close the channel, free f.  Returns the file's first
 * error (negative errno) or the close error, 0 on success.
 */
int qemu_fclose(QEMUFile *f);
/* The channel (borrowed; the file holds a reference). */
QIOChannel *qemu_file_get_ioc(QEMUFile *f);
bool qemu_file_is_writable(QEMUFile *f);

void qemu_put_byte(QEMUFile *f, int v);
void qemu_put_be16(QEMUFile *f, unsigned int v);
void qemu_put_be32(QEMUFile *f, unsigned int v);
void qemu_put_be64(QEMUFile *f, uint64_t v);
/* Copy size bytes into the stream. */
void qemu_put_buffer(QEMUFile *f, const uint8_t *buf, size_t size);
/*
 * Queue buf without copying; buf must stay valid and unmodified until the
 * next qemu_fflush() returns.  may_free is advisory (QEMU compatibility).
 */
void qemu_put_buffer_async(QEMUFile *f, const uint8_t *buf, size_t size,
                           bool may_free);
/* One length byte then the bytes (len <= 255); no NUL. */
void qemu_put_counted_string(QEMUFile *f, const char *name);

int qemu_get_byte(QEMUFile *f);
unsigned int qemu_get_be16(QEMUFile *f);
unsigned int qemu_get_be32(QEMUFile *f);
uint64_t qemu_get_be64(QEMUFile *f);
static inline void qemu_put_8s(QEMUFile *f, const uint8_t *pv)
{
    qemu_put_byte(f, *pv);
}
static inline void qemu_put_be16s(QEMUFile *f, const uint16_t *pv)
{
    qemu_put_be16(f, *pv);
}
static inline void qemu_put_be32s(QEMUFile *f, const uint32_t *pv)
{
    qemu_put_be32(f, *pv);
}
static inline void qemu_put_be64s(QEMUFile *f, const uint64_t *pv)
{
    qemu_put_be64(f, *pv);
}
static inline void qemu_get_8s(QEMUFile *f, uint8_t *pv)
{
    *pv = qemu_get_byte(f);
}
static inline void qemu_get_be16s(QEMUFile *f, uint16_t *pv)
{
    *pv = qemu_get_be16(f);
}
static inline void qemu_get_be32s(QEMUFile *f, uint32_t *pv)
{
    *pv = qemu_get_be32(f);
}
static inline void qemu_get_be64s(QEMUFile *f, uint64_t *pv)
{
    *pv = qemu_get_be64(f);
}
/*
 * Read up to size bytes; returns the number read (< size on EOF/error,
 * EOF then being recorded as -EIO).  Bytes already buffered are copied;
 * the rest is read straight into buf (one readv per syscall, which also
 * refills the internal buffer).  Blocks.
 */
size_t qemu_get_buffer(QEMUFile *f, uint8_t *buf, size_t size);
/*
 * Make size bytes available and point *buf at them: into the file's own
 * buffer when possible (valid until the next get), else copy into the
 * caller's *buf.  Returns the number of bytes available.
 */
size_t qemu_get_buffer_in_place(QEMUFile *f, uint8_t **buf, size_t size);
/* Peek without consuming; returns bytes available (<= size). */
size_t qemu_peek_buffer(QEMUFile *f, uint8_t **buf, size_t size, size_t offset);
int qemu_peek_byte(QEMUFile *f, int offset);
/*
 * The next byte without consuming it, or -1 at end of input.  Unlike
 * qemu_peek_byte(), reaching the end is not recorded as an error (a
 * channel error still is).  Blocks until a byte or EOF arrives.
 */
int qemu_file_try_peek_byte(QEMUFile *f);
void qemu_file_skip(QEMUFile *f, int size);
/* Longest string a counted string (a length byte, then the bytes) holds. */
#define QEMU_COUNTED_STRING_MAX 255
/* Size of a buffer for one counted string and its NUL. */
#define QEMU_COUNTED_STRING_BUF (QEMU_COUNTED_STRING_MAX + 1)

/* Read a counted string into buf (NUL-terminated); returns its length. */
size_t qemu_get_counted_string(QEMUFile *f, char buf[QEMU_COUNTED_STRING_BUF]);

/* Write everything queued; returns the file error (0 = ok). */
int qemu_fflush(QEMUFile *f);

/* First error: 0 or a negative errno. */
int qemu_file_get_error(QEMUFile *f);
/* As above, also copying the Error (if any) into *errp. */
int qemu_file_get_error_obj(QEMUFile *f, Error **errp);
/* Record ret (negative errno) as the error unless one is already kept. */
void qemu_file_set_error(QEMUFile *f, int ret);
/* As above with a message; takes ownership of err. */
void qemu_file_set_error_obj(QEMUFile *f, int ret, Error *err);

/* Bytes put (output) or consumed (input) so far, incl. buffered ones. */
uint64_t qemu_file_transferred(QEMUFile *f);
/*
 * Bytes the channel actually took (output) or gave (input) so far; any
 * thread may read it while another uses f (the progress watchdogs).
 */
uint64_t qemu_file_io_bytes(QEMUFile *f);

/*
 * Positional I/O for seekable channels (mapped-ram style files).  Errors
 * (including "not seekable") are recorded in f like any other.
 *
 * qemu_get_offset: the stream position as the user sees it (output:
 * flushes first; input: the channel position minus unread bytes), or -1.
 * qemu_set_offset: flush (output) or drop read-ahead (input), then seek
 * the channel (whence as lseek).
 * qemu_put_buffer_at / qemu_get_buffer_at: pwrite/pread all of len bytes
 * at pos without moving the stream position; return len or 0 on error.
 */
off_t qemu_get_offset(QEMUFile *f);
void qemu_set_offset(QEMUFile *f, off_t off, int whence);
size_t qemu_put_buffer_at(QEMUFile *f, const uint8_t *buf, size_t len,
                          off_t pos);
size_t qemu_get_buffer_at(QEMUFile *f, uint8_t *buf, size_t len, off_t pos);

/*
 * A second QEMUFile over the same channel in the opposite direction (the
 * postcopy/return-path channel).  Each call makes a new file holding its
 * own channel reference; the caller owns it and frees it with
 * qemu_fclose() (which also closes the shared channel).  Never NULL.
 */
QEMUFile *qemu_file_get_return_path(QEMUFile *f);
/* Shut the channel both ways and record -EIO; wakes blocked users. */
int qemu_file_shutdown(QEMUFile *f);

#endif /* MIGRATION_QEMU_FILE_H */
