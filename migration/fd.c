/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * fd.c: the fd: migration transport.  "fd:NAME" names a descriptor
 * passed to the monitor with getfd (SCM_RIGHTS), or is a decimal fd
 * number (monitor_fd_param's rule).  A socket fd becomes a socket
 * channel, anything else (pipe, file) a file channel.
 */
#include "qemu/osdep.h"
#include "qapi/error.h"
#include <sys/stat.h>
#include "monitor/monitor.h"
#include "io/channel-socket.h"
#include "io/channel-file.h"
#include "migration.h"
#include "transport.h"

/* A channel owning fd (closed on failure). */
static QIOChannel *fd_channel_new(int fd, Error **errp)
{
    struct stat st;

    if (fstat(fd, &st) < 0) {
        error_setg_errno(errp, errno, "Unable to stat file descriptor %d", fd);
        close(fd);
        return NULL;
    }
    if (S_ISSOCK(st.st_mode)) {
        QIOChannelSocket *sioc = qio_channel_socket_new_fd(fd, errp);

        if (!sioc) {
            close(fd);
            return NULL;
        }
        return QIO_CHANNEL(sioc);
    }
    return QIO_CHANNEL(qio_channel_file_new_fd(fd));
}

/* The fd was taken from the monitor by migrate_start (s->fd); ours now. */
QIOChannel *fd_outgoing_open(MigrationState *s, const char *name, Error **errp)
{
    int fd = s->fd;
    QIOChannel *ioc;

    s->fd = -1;
    if (fd < 0) {
        error_setg(errp, "No file descriptor for the fd: migration");
        return NULL;
    }
    ioc = fd_channel_new(fd, errp);
    if (ioc) {
        qio_channel_set_name(ioc, "migration-fd-outgoing");
    }
    return ioc;
}

bool fd_incoming_start(const char *name, Error **errp)
{
    QIOChannel *ioc;
    int fd = monitor_fd_param(name, errp);

    if (fd < 0) {
        return false;
    }
    ioc = fd_channel_new(fd, errp);
    if (!ioc) {
        return false;
    }
    qio_channel_set_name(ioc, "migration-fd-incoming");
    migration_channel_incoming(ioc);
    qio_channel_unref(ioc);
    return true;
}
