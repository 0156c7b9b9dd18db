/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * channel-command.h: QIOChannelCommand, a channel to a child process's
 * stdin and/or stdout (migration's "exec:" transport).
 *
 * The child runs argv (PATH searched) with pipes: O_WRONLY gives us its
 * stdin (its stdout goes to /dev/null), O_RDONLY its stdout (its stdin is
 * /dev/null), O_RDWR both.  Its stderr is ours.  The child gets SIGPIPE
 * back at its default disposition even if Tern ignores it.
 *
 * Writes never raise SIGPIPE in Tern: when the child is gone a write
 * fails with EPIPE (SIGPIPE is blocked around the write and a pending one
 * is consumed), so callers need not ignore SIGPIPE process-wide (vl.c may
 * still do so).
 *
 * The child's fate is an error where it matters: a read that reaches EOF
 * or a write that meets EPIPE reaps the child (waiting briefly) and, if
 * it exited non-zero, fails with "Command 'CMD' exited with status N";
 * close reports the same.  Close closes our pipe ends, waits up to the
 * close timeout for the child, then sends SIGTERM and finally SIGKILL.
 */
#ifndef QIO_CHANNEL_COMMAND_H
#define QIO_CHANNEL_COMMAND_H

#include <sys/types.h>
#include "io/channel.h"

typedef struct QIOChannelCommand {
    QIOChannel parent;
    int writefd; /* the child's stdin; owned; -1 if none */
    int readfd;  /* the child's stdout; owned; -1 if none */
    pid_t pid;   /* the child; 0 once reaped */
    int status;  /* waitpid status once reaped */
    bool reaped;
    bool killed;   /* we had to signal it on close */
    bool read_eof; /* readfd reached EOF */
    bool closed;   /* io_close ran */
    bool blocking;
    unsigned close_timeout_ms;
    char *cmdline; /* argv joined by spaces, for messages */
} QIOChannelCommand;

#define QIO_CHANNEL_COMMAND(obj) ((QIOChannelCommand *)(obj))

/*
 * Spawn @argv (argv[0] searched in PATH) with pipes per @flags (O_RDONLY,
 * O_WRONLY or O_RDWR).  Returns a new channel the caller owns, or NULL
 * with errp set ("Unable to spawn 'CMD': ...").
 */
QIOChannelCommand *qio_channel_command_new_spawn(const char *const argv[],
                                                 int flags, Error **errp);

/*
 * How long close waits for the child to exit on its own before signalling
 * it (default 10000 ms when we write to it, 1000 ms when we only read).
 */
void qio_channel_command_set_close_timeout(QIOChannelCommand *cioc,
                                           unsigned timeout_ms);

#endif /* QIO_CHANNEL_COMMAND_H */
