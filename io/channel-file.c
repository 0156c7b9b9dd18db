/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * channel-file.c: QIOChannelFile, read/write/preadv/pwritev on an fd.
 */
#include "qemu/osdep.h"
#include "io/channel-file.h"

static const QIOChannelClass qio_channel_file_class;

QIOChannelFile *qio_channel_file_new_fd(int fd)
{
    QIOChannelFile *fioc = g_new0(QIOChannelFile, 1);

    qio_channel_init(QIO_CHANNEL(fioc), &qio_channel_file_class);
    fioc->fd = fd;
    if (lseek(fd, 0, SEEK_CUR) != (off_t)-1) {
        qio_channel_set_feature(QIO_CHANNEL(fioc),
                                QIO_CHANNEL_FEATURE_SEEKABLE);
    }
    return fioc;
}

QIOChannelFile *qio_channel_file_new_path(const char *path, int flags,
                                          mode_t mode, Error **errp)
{
    int fd;

    do {
        fd = open(path, flags | O_CLOEXEC, mode);
    } while (fd < 0 && errno == EINTR);
    if (fd < 0) {
        error_setg_errno(errp, errno, "Unable to open %s", path);
        return NULL;
    }
    return qio_channel_file_new_fd(fd);
}

/*
 * One readv/writev (or, when @positioned, preadv/pwritev at @offset) on
 * the descriptor, restarted after EINTR.  QIO_CHANNEL_ERR_BLOCK when it
 * would block.
 */
static ssize_t qio_channel_file_io(QIOChannel *ioc, bool is_write,
                                   bool positioned, const struct iovec *iov,
                                   size_t niov, off_t offset, Error **errp)
{
    QIOChannelFile *fioc = QIO_CHANNEL_FILE(ioc);
    const char *what = is_write ? "write to" : "read from";
    ssize_t ret;

    do {
        if (positioned) {
            ret = is_write ? pwritev(fioc->fd, iov, niov, offset)
                           : preadv(fioc->fd, iov, niov, offset);
        } else {
            ret = is_write ? writev(fioc->fd, iov, niov)
                           : readv(fioc->fd, iov, niov);
        }
    } while (ret < 0 && errno == EINTR);
    if (ret < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK) {
            return QIO_CHANNEL_ERR_BLOCK;
        }
        if (positioned) {
            error_setg_errno(errp, errno, "Unable to %s file at offset %lld",
                             what, (long long)offset);
        } else {
            error_setg_errno(errp, errno, "Unable to %s file", what);
        }
        return -1;
    }
    return ret;
}

static ssize_t qio_channel_file_readv(QIOChannel *ioc, const struct iovec *iov,
                                      size_t niov, int **fds, size_t *nfds,
                                      int flags, Error **errp)
{
    return qio_channel_file_io(ioc, false, false, iov, niov, 0, errp);
}

static ssize_t qio_channel_file_writev(QIOChannel *ioc, const struct iovec *iov,
                                       size_t niov, int *fds, size_t nfds,
                                       int flags, Error **errp)
{
    return qio_channel_file_io(ioc, true, false, iov, niov, 0, errp);
}

static ssize_t qio_channel_file_preadv(QIOChannel *ioc, const struct iovec *iov,
                                       size_t niov, off_t offset, Error **errp)
{
    return qio_channel_file_io(ioc, false, true, iov, niov, offset, errp);
}

static ssize_t qio_channel_file_pwritev(QIOChannel *ioc,
                                        const struct iovec *iov, size_t niov,
                                        off_t offset, Error **errp)
{
    return qio_channel_file_io(ioc, true, true, iov, niov, offset, errp);
}

static off_t qio_channel_file_seek(QIOChannel *ioc, off_t offset, int whence,
                                   Error **errp)
{
    QIOChannelFile *fioc = QIO_CHANNEL_FILE(ioc);
    off_t ret = lseek(fioc->fd, offset, whence);

    if (ret == (off_t)-1) {
        error_setg_errno(errp, errno,
                         "Unable to seek to offset %lld "
                         "whence %d in file",
                         (long long)offset, whence);
        return -1;
    }
    return ret;
}

static int qio_channel_file_set_blocking(QIOChannel *ioc, bool enabled,
                                         Error **errp)
{
    QIOChannelFile *fioc = QIO_CHANNEL_FILE(ioc);
    int fl = fcntl(fioc->fd, F_GETFL);

    if (fl < 0) {
        error_setg_errno(errp, errno, "Unable to get file flags");
        return -1;
    }
    fl = enabled ? (fl & ~O_NONBLOCK) : (fl | O_NONBLOCK);
    if (fcntl(fioc->fd, F_SETFL, fl) < 0) {
        error_setg_errno(errp, errno, "Unable to set file flags");
        return -1;
    }
    return 0;
}

static int qio_channel_file_close(QIOChannel *ioc, Error **errp)
{
    QIOChannelFile *fioc = QIO_CHANNEL_FILE(ioc);
    int fd = fioc->fd;

    if (fd == -1) {
        return 0;
    }
    fioc->fd = -1;
    /* On Linux the fd is gone even when close reports EINTR. */
    if (close(fd) < 0 && errno != EINTR) {
        error_setg_errno(errp, errno, "Unable to close file");
        return -1;
    }
    return 0;
}

static GSource *qio_channel_file_create_watch(QIOChannel *ioc,
                                              GIOCondition condition)
{
    return qio_channel_create_fd_watch(ioc, QIO_CHANNEL_FILE(ioc)->fd,
                                       condition);
}

static int qio_channel_file_get_fd(QIOChannel *ioc)
{
    return QIO_CHANNEL_FILE(ioc)->fd;
}

static void qio_channel_file_finalize(QIOChannel *ioc)
{
    qio_channel_file_close(ioc, NULL);
}

static const QIOChannelClass qio_channel_file_class = {
    .type_name = "qio-channel-file",
    .io_writev = qio_channel_file_writev,
    .io_readv = qio_channel_file_readv,
    .io_close = qio_channel_file_close,
    .io_create_watch = qio_channel_file_create_watch,
    .io_set_blocking = qio_channel_file_set_blocking,
    .io_finalize = qio_channel_file_finalize,
    .io_seek = qio_channel_file_seek,
    .io_preadv = qio_channel_file_preadv,
    .io_pwritev = qio_channel_file_pwritev,
    .io_get_fd = qio_channel_file_get_fd,
};
