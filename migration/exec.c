/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * exec.c: the exec: migration transport.  "exec:CMD" runs CMD with
 * /bin/sh -c; the source writes the stream to its stdin, the destination
 * reads it from its stdout.  The command's exit status is checked when
 * the channel is closed (a non-zero exit fails the migration).
 */
#include "qemu/osdep.h"
#include "qapi/error.h"
#include "io/channel-command.h"
#include "migration.h"
#include "transport.h"

static QIOChannel *exec_spawn(const char *cmd, int flags, Error **errp)
{
    const char *argv[] = {"/bin/sh", "-c", cmd, NULL};
    QIOChannelCommand *cioc;

    /*
     * "sh -c ''" exits 0 at once: depending on timing the stream would
     * vanish into a pipe nobody reads and the migration "complete".
     */
    if (!cmd[strspn(cmd, " \t\n")]) {
        error_setg(errp, "exec: migration needs a command to run");
        return NULL;
    }
    cioc = qio_channel_command_new_spawn(argv, flags, errp);
    if (!cioc) {
        return NULL;
    }
    return QIO_CHANNEL(cioc);
}

QIOChannel *exec_outgoing_open(MigrationState *s, const char *cmd, Error **errp)
{
    QIOChannel *ioc = exec_spawn(cmd, O_WRONLY, errp);

    if (ioc) {
        qio_channel_set_name(ioc, "migration-exec-outgoing");
    }
    return ioc;
}

bool exec_incoming_start(const char *cmd, Error **errp)
{
    QIOChannel *ioc = exec_spawn(cmd, O_RDONLY, errp);

    if (!ioc) {
        return false;
    }
    qio_channel_set_name(ioc, "migration-exec-incoming");
    migration_channel_incoming(ioc);
    qio_channel_unref(ioc);
    return true;
}
