/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * exec.c: the exec: migration transport.  "exec:CMD" runs CMD with
 * /bin/sh -c; the source writes the stream to its stdin, the destination
 * reads it from its stdout.  The command's exit status is checked when
 * the channel is closed (a non-zero exit fails the migration).
 * migrate_cancel kills the source's command (exec_outgoing_cancel).
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

/*
 * The source's command, for migrate_cancel: a command that never reads
 * leaves the migration thread blocked in a write that no shutdown ends.
 * Held (a reference) until the next exec: migration replaces it.
 */
static GMutex exec_outgoing_lock;
static QIOChannelCommand *exec_outgoing_cmd;

/* Kill the command unless reaped (called with exec_outgoing_lock held). */
static void exec_outgoing_kill_locked(void)
{
    QIOChannelCommand *cioc = exec_outgoing_cmd;

    if (cioc && !cioc->reaped && cioc->pid > 0) {
        kill(cioc->pid, SIGKILL);
    }
}

QIOChannel *exec_outgoing_open(MigrationState *s, const char *cmd, Error **errp)
{
    QIOChannel *ioc = exec_spawn(cmd, O_WRONLY, errp);
    QIOChannelCommand *old;

    if (!ioc) {
        return NULL;
    }
    qio_channel_set_name(ioc, "migration-exec-outgoing");
    g_mutex_lock(&exec_outgoing_lock);
    old = exec_outgoing_cmd;
    exec_outgoing_cmd = QIO_CHANNEL_COMMAND(qio_channel_ref(ioc));
    /* a cancel that came while spawning found nothing to kill */
    if (migration_status() == MIGRATION_STATUS_CANCELLING) {
        exec_outgoing_kill_locked();
    }
    g_mutex_unlock(&exec_outgoing_lock);
    if (old) {
        qio_channel_unref(QIO_CHANNEL(old));
    }
    return ioc;
}

/*
 * migrate_cancel: SIGKILL the command, so that a write blocked on its
 * full pipe fails with EPIPE and closing does not wait for it to exit.
 */
void exec_outgoing_cancel(MigrationState *s)
{
    g_mutex_lock(&exec_outgoing_lock);
    exec_outgoing_kill_locked();
    g_mutex_unlock(&exec_outgoing_lock);
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
