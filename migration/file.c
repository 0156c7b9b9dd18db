/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * file.c: the file: migration transport, "file:PATH[,offset=N]" (QEMU
 * 8.2+ syntax).  The source creates/truncates PATH (mode 0600) and
 * writes the stream from byte N; the destination (-incoming file:PATH)
 * reads it from byte N.  N is a size (suffixes allowed).
 */
#include "qemu/osdep.h"
#include "qapi/error.h"
#include "qemu/cutils.h"
#include "io/channel-file.h"
#include "migration.h"
#include "transport.h"

/* The stream file is private to its owner. */
#define FILE_MIGRATION_MODE 0600

/* Split "PATH[,offset=N]"; *path is new. */
static bool file_parse(const char *spec, char **path, uint64_t *offset,
                       Error **errp)
{
    const char *opt = strstr(spec, ",offset=");

    *offset = 0;
    if (!opt) {
        *path = g_strdup(spec);
    } else {
        if (qemu_strtosz(opt + strlen(",offset="), NULL, offset) < 0) {
            error_setg(errp, "Parameter 'offset' expects a size");
            return false;
        }
        *path = g_strndup(spec, opt - spec);
    }
    if (!**path) {
        error_setg(errp, "Parameter 'uri' expects a valid migration "
                         "protocol");
        g_free(*path);
        return false;
    }
    return true;
}

/*
 * Open path for writing without blocking on a FIFO nobody reads yet:
 * O_NONBLOCK makes that open fail with ENXIO, so try again every 50 ms
 * until a reader comes or migrate_cancel.  The fd is blocking again on
 * return.  -1 with errp set.
 */
static int file_open_for_write(const char *path, int flags, Error **errp)
{
    int fd;

    for (;;) {
        fd = open(path, flags | O_NONBLOCK | O_CLOEXEC, FILE_MIGRATION_MODE);
        if (fd >= 0) {
            break;
        }
        if (errno == EINTR) {
            continue;
        }
        if (errno != ENXIO) {
            error_setg_errno(errp, errno, "Unable to open %s", path);
            return -1;
        }
        if (migration_status() == MIGRATION_STATUS_CANCELLING ||
            migration_transport_cancelled(50)) {
            error_setg(errp,
                       "Unable to open %s: no reader before the "
                       "migration was cancelled",
                       path);
            return -1;
        }
    }
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
    return fd;
}

static QIOChannel *file_open(const char *spec, int flags, Error **errp)
{
    QIOChannelFile *fioc;
    uint64_t offset;
    char *path;

    if (!file_parse(spec, &path, &offset, errp)) {
        return NULL;
    }
    if ((flags & O_ACCMODE) == O_WRONLY) {
        int fd = file_open_for_write(path, flags, errp);

        fioc = fd < 0 ? NULL : qio_channel_file_new_fd(fd);
    } else {
        fioc =
            qio_channel_file_new_path(path, flags, FILE_MIGRATION_MODE, errp);
    }
    g_free(path);
    if (!fioc) {
        return NULL;
    }
    if (offset &&
        qio_channel_io_seek(QIO_CHANNEL(fioc), offset, SEEK_SET, errp) < 0) {
        qio_channel_unref(QIO_CHANNEL(fioc));
        return NULL;
    }
    return QIO_CHANNEL(fioc);
}

QIOChannel *file_outgoing_open(MigrationState *s, const char *spec,
                               Error **errp)
{
    QIOChannel *ioc = file_open(spec, O_CREAT | O_WRONLY | O_TRUNC, errp);

    if (ioc) {
        qio_channel_set_name(ioc, "migration-file-outgoing");
    }
    return ioc;
}

bool file_incoming_start(const char *spec, Error **errp)
{
    QIOChannel *ioc = file_open(spec, O_RDONLY, errp);

    if (!ioc) {
        return false;
    }
    qio_channel_set_name(ioc, "migration-file-incoming");
    migration_channel_incoming(ioc);
    qio_channel_unref(ioc);
    return true;
}
