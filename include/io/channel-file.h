/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * channel-file.h: QIOChannelFile, a channel over a file descriptor that is
 * not a socket: a regular file, a pipe, a character device.
 *
 * SEEKABLE is set when lseek works on the fd (regular files, block
 * devices), and then preadv/pwritev/seek are available; they do not move
 * the fd's offset (seek does).  No shutdown.
 */
#ifndef QIO_CHANNEL_FILE_H
#define QIO_CHANNEL_FILE_H

#include <sys/stat.h>
#include "io/channel.h"

typedef struct QIOChannelFile {
    QIOChannel parent;
    int fd; /* owned; -1 when closed */
} QIOChannelFile;

#define QIO_CHANNEL_FILE(obj) ((QIOChannelFile *)(obj))

/* Wrap @fd; the channel owns it from now on.  Never fails. */
QIOChannelFile *qio_channel_file_new_fd(int fd);

/*
 * Open @path with open(2) @flags (O_CLOEXEC added) and @mode.  Returns a
 * new channel the caller owns, or NULL with errp set ("Unable to open
 * PATH: <strerror>").
 */
QIOChannelFile *qio_channel_file_new_path(const char *path, int flags,
                                          mode_t mode, Error **errp);

#endif /* QIO_CHANNEL_FILE_H */
