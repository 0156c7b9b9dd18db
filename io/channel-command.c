/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * channel-command.c: QIOChannelCommand, pipes to a child process.
 */
#include "qemu/osdep.h"
#include <signal.h>
#include <pthread.h>
#include <sys/wait.h>
#include "io/channel-command.h"

/* How long an EOF/EPIPE waits for the child to finish exiting. */
#define QIO_COMMAND_EOF_WAIT_MS 1000

static const QIOChannelClass qio_channel_command_class;

/* In the child, before exec: SIGPIPE back to default, unblocked. */
static void qio_channel_command_child_setup(gpointer opaque)
{
    sigset_t set;

    signal(SIGPIPE, SIG_DFL);
    sigemptyset(&set);
    sigaddset(&set, SIGPIPE);
    pthread_sigmask(SIG_UNBLOCK, &set, NULL);
}

QIOChannelCommand *qio_channel_command_new_spawn(const char *const argv[],
                                                 int flags, Error **errp)
{
    int acc = flags & O_ACCMODE;
    GSpawnFlags sflags = G_SPAWN_SEARCH_PATH | G_SPAWN_DO_NOT_REAP_CHILD;
    QIOChannelCommand *cioc;
    GError *gerr = NULL;
    int infd = -1, outfd = -1;
    char *cmdline;
    GPid pid;

    if (!argv || !argv[0]) {
        error_setg(errp, "No command given");
        return NULL;
    }
    cmdline = g_strjoinv(" ", (char **)argv);
    if (acc == O_WRONLY) {
        sflags |= G_SPAWN_STDOUT_TO_DEV_NULL;
    }
    if (!g_spawn_async_with_pipes(
            NULL, (char **)argv, NULL, sflags, qio_channel_command_child_setup,
            NULL, &pid, acc != O_RDONLY ? &infd : NULL,
            acc != O_WRONLY ? &outfd : NULL, NULL, &gerr)) {
        error_setg(errp, "Unable to spawn '%s': %s", cmdline, gerr->message);
        g_error_free(gerr);
        g_free(cmdline);
        return NULL;
    }
    if (infd >= 0) {
        fcntl(infd, F_SETFD, FD_CLOEXEC);
    }
    if (outfd >= 0) {
        fcntl(outfd, F_SETFD, FD_CLOEXEC);
    }

    cioc = g_new0(QIOChannelCommand, 1);
    qio_channel_init(QIO_CHANNEL(cioc), &qio_channel_command_class);
    cioc->writefd = infd;
    cioc->readfd = outfd;
    cioc->pid = pid;
    cioc->blocking = true;
    cioc->cmdline = cmdline;
    cioc->close_timeout_ms = infd >= 0 ? 10000 : 1000;
    qio_channel_set_feature(QIO_CHANNEL(cioc), QIO_CHANNEL_FEATURE_PIPE);
    return cioc;
}

void qio_channel_command_set_close_timeout(QIOChannelCommand *cioc,
                                           unsigned timeout_ms)
{
    cioc->close_timeout_ms = timeout_ms;
}

/*
 * Reap the child if it has exited, waiting up to @timeout_ms.  Returns
 * true once reaped (status in cioc->status).
 */
static bool qio_channel_command_reap(QIOChannelCommand *cioc,
                                     unsigned timeout_ms)
{
    gint64 deadline = g_get_monotonic_time() + timeout_ms * 1000LL;
    unsigned delay_us = 200;

    while (!cioc->reaped) {
        int status;
        pid_t ret = waitpid(cioc->pid, &status, WNOHANG);

        if (ret == cioc->pid) {
            cioc->status = status;
            cioc->reaped = true;
            cioc->pid = 0;
            break;
        }
        if (ret < 0 && errno != EINTR) {
            /* Reaped elsewhere (ECHILD): nothing more to learn. */
            cioc->status = 0;
            cioc->reaped = true;
            cioc->pid = 0;
            break;
        }
        if (g_get_monotonic_time() >= deadline) {
            return false;
        }
        g_usleep(delay_us);
        delay_us = MIN(delay_us * 2, 20000);
    }
    return true;
}

/*
 * If the reaped child failed, say so in errp and return true.  A child
 * killed by SIGPIPE after we stopped reading, or one we killed while only
 * reading from it, is not a failure.
 */
static bool qio_channel_command_failed(QIOChannelCommand *cioc,
                                       bool we_closed_read, Error **errp)
{
    int st = cioc->status;

    if (!cioc->reaped) {
        return false;
    }
    if (WIFEXITED(st)) {
        if (WEXITSTATUS(st) != 0) {
            error_setg(errp, "Command '%s' exited with status %d",
                       cioc->cmdline, WEXITSTATUS(st));
            return true;
        }
        return false;
    }
    if (WIFSIGNALED(st)) {
        if (cioc->killed) {
            return false; /* reported by the caller */
        }
        if (WTERMSIG(st) == SIGPIPE && we_closed_read) {
            return false;
        }
        error_setg(errp, "Command '%s' was killed by signal %d", cioc->cmdline,
                   WTERMSIG(st));
        return true;
    }
    return false;
}

static ssize_t qio_channel_command_readv(QIOChannel *ioc,
                                         const struct iovec *iov, size_t niov,
                                         int **fds, size_t *nfds, int flags,
                                         Error **errp)
{
    QIOChannelCommand *cioc = QIO_CHANNEL_COMMAND(ioc);
    ssize_t ret;

    if (cioc->readfd < 0) {
        error_setg_errno(errp, EBADF, "Unable to read from command");
        return -1;
    }
    do {
        ret = readv(cioc->readfd, iov, niov);
    } while (ret < 0 && errno == EINTR);
    if (ret < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK) {
            return QIO_CHANNEL_ERR_BLOCK;
        }
        error_setg_errno(errp, errno, "Unable to read from command");
        return -1;
    }
    if (ret == 0) {
        cioc->read_eof = true;
        qio_channel_command_reap(cioc,
                                 cioc->blocking ? QIO_COMMAND_EOF_WAIT_MS : 0);
        if (qio_channel_command_failed(cioc, false, errp)) {
            return -1;
        }
    }
    return ret;
}

/* writev, restarted when a signal interrupts it. */
static ssize_t qio_command_writev_retry(int fd, const struct iovec *iov,
                                        size_t niov)
{
    ssize_t ret;

    do {
        ret = writev(fd, iov, niov);
    } while (ret < 0 && errno == EINTR);
    return ret;
}

/* writev without SIGPIPE reaching the process (see the header). */
static ssize_t qio_command_writev_nosigpipe(int fd, const struct iovec *iov,
                                            size_t niov)
{
    struct sigaction sa;
    sigset_t pipe_set, old_set, pending;
    bool was_pending;
    ssize_t ret;
    int saved_errno;

    if (sigaction(SIGPIPE, NULL, &sa) == 0 && sa.sa_handler == SIG_IGN) {
        return qio_command_writev_retry(fd, iov, niov);
    }

    sigemptyset(&pipe_set);
    sigaddset(&pipe_set, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe_set, &old_set);
    sigpending(&pending);
    was_pending = sigismember(&pending, SIGPIPE);
    ret = qio_command_writev_retry(fd, iov, niov);
    saved_errno = errno;
    if (ret < 0 && saved_errno == EPIPE && !was_pending) {
        static const struct timespec zero = {0, 0};

        while (sigtimedwait(&pipe_set, NULL, &zero) < 0 && errno == EINTR) {
            /* retry */
        }
    }
    pthread_sigmask(SIG_SETMASK, &old_set, NULL);
    errno = saved_errno;
    return ret;
}

static ssize_t qio_channel_command_writev(QIOChannel *ioc,
                                          const struct iovec *iov, size_t niov,
                                          int *fds, size_t nfds, int flags,
                                          Error **errp)
{
    QIOChannelCommand *cioc = QIO_CHANNEL_COMMAND(ioc);
    ssize_t ret;

    if (cioc->writefd < 0) {
        error_setg_errno(errp, EBADF, "Unable to write to command");
        return -1;
    }
    ret = qio_command_writev_nosigpipe(cioc->writefd, iov, niov);
    if (ret < 0) {
        int err = errno;

        if (err == EAGAIN || err == EWOULDBLOCK) {
            return QIO_CHANNEL_ERR_BLOCK;
        }
        if (err == EPIPE) {
            qio_channel_command_reap(
                cioc, cioc->blocking ? QIO_COMMAND_EOF_WAIT_MS : 0);
            if (qio_channel_command_failed(cioc, false, errp)) {
                return -1;
            }
        }
        error_setg_errno(errp, err, "Unable to write to command");
        return -1;
    }
    return ret;
}

static int qio_command_set_fd_blocking(int fd, bool enabled, Error **errp)
{
    int fl;

    if (fd < 0) {
        return 0;
    }
    fl = fcntl(fd, F_GETFL);
    if (fl < 0) {
        error_setg_errno(errp, errno, "Unable to get command pipe flags");
        return -1;
    }
    fl = enabled ? (fl & ~O_NONBLOCK) : (fl | O_NONBLOCK);
    if (fcntl(fd, F_SETFL, fl) < 0) {
        error_setg_errno(errp, errno, "Unable to set command pipe flags");
        return -1;
    }
    return 0;
}

static int qio_channel_command_set_blocking(QIOChannel *ioc, bool enabled,
                                            Error **errp)
{
    QIOChannelCommand *cioc = QIO_CHANNEL_COMMAND(ioc);

    if (qio_command_set_fd_blocking(cioc->writefd, enabled, errp) < 0 ||
        qio_command_set_fd_blocking(cioc->readfd, enabled, errp) < 0) {
        return -1;
    }
    cioc->blocking = enabled;
    return 0;
}

static int qio_channel_command_close(QIOChannel *ioc, Error **errp)
{
    QIOChannelCommand *cioc = QIO_CHANNEL_COMMAND(ioc);
    bool was_writer = cioc->writefd >= 0;
    bool closed_read_early = cioc->readfd >= 0 && !cioc->read_eof;
    int ret = 0;

    if (cioc->closed) {
        return 0;
    }
    cioc->closed = true;
    if (cioc->writefd >= 0) {
        close(cioc->writefd);
        cioc->writefd = -1;
    }
    if (cioc->readfd >= 0) {
        close(cioc->readfd);
        cioc->readfd = -1;
    }
    if (!cioc->reaped && cioc->pid > 0) {
        if (!qio_channel_command_reap(cioc, cioc->close_timeout_ms)) {
            cioc->killed = true;
            kill(cioc->pid, SIGTERM);
            if (!qio_channel_command_reap(cioc, 500)) {
                kill(cioc->pid, SIGKILL);
                while (!qio_channel_command_reap(cioc, 1000)) {
                    /* SIGKILL cannot be ignored: it will go */
                }
            }
            if (was_writer) {
                error_setg(errp,
                           "Command '%s' did not exit after its input "
                           "was closed and was killed",
                           cioc->cmdline);
                ret = -1;
            }
        }
    }
    if (ret == 0 && qio_channel_command_failed(cioc, closed_read_early, errp)) {
        ret = -1;
    }
    return ret;
}

static GSource *qio_channel_command_create_watch(QIOChannel *ioc,
                                                 GIOCondition condition)
{
    QIOChannelCommand *cioc = QIO_CHANNEL_COMMAND(ioc);

    return qio_channel_create_fd_pair_watch(ioc, cioc->readfd, cioc->writefd,
                                            condition);
}

static int qio_channel_command_get_fd(QIOChannel *ioc)
{
    QIOChannelCommand *cioc = QIO_CHANNEL_COMMAND(ioc);

    return cioc->readfd >= 0 ? cioc->readfd : cioc->writefd;
}

static int qio_channel_command_get_pipe_fd(QIOChannel *ioc, bool write)
{
    QIOChannelCommand *cioc = QIO_CHANNEL_COMMAND(ioc);

    return write ? cioc->writefd : cioc->readfd;
}

static void qio_channel_command_finalize(QIOChannel *ioc)
{
    QIOChannelCommand *cioc = QIO_CHANNEL_COMMAND(ioc);

    qio_channel_command_close(ioc, NULL);
    g_free(cioc->cmdline);
}

static const QIOChannelClass qio_channel_command_class = {
    .type_name = "qio-channel-command",
    .io_writev = qio_channel_command_writev,
    .io_readv = qio_channel_command_readv,
    .io_close = qio_channel_command_close,
    .io_create_watch = qio_channel_command_create_watch,
    .io_set_blocking = qio_channel_command_set_blocking,
    .io_finalize = qio_channel_command_finalize,
    .io_get_fd = qio_channel_command_get_fd,
    .io_get_pipe_fd = qio_channel_command_get_pipe_fd,
};
