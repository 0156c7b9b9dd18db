/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * channel-socket.c: QIOChannelSocket, stream sockets (TCP, unix, fd).
 *
 * readv/writev map to one recvmsg/sendmsg each, the caller's iovec passed
 * straight through (the generic layer caps it at IOV_MAX), so page-sized
 * iovecs from RAM go to the kernel without a copy.
 */
#include "qemu/osdep.h"
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <netdb.h>
#include <poll.h>
#include <linux/vm_sockets.h>
#include "io/channel-socket.h"
#include "qemu/trace.h"

/* Most fds accepted in one SCM_RIGHTS message. */
#define QIO_SOCKET_MAX_FDS 16

static const QIOChannelClass qio_channel_socket_class;

static QIOChannelSocketFdResolver qio_socket_fd_resolver;

/* A NULL-safe string for trace output. */
static const char *qio_socket_trace_str(const char *s)
{
    return s ? s : "";
}

#define QIO_SOCKET_TRACE_ADDR(name_, ioc_, addr_)                              \
    TRACE(name_, "ioc=%p type=%d host=%s port=%s path=%s fd=%s cid=%s",        \
          (void *)(ioc_), (int)(addr_)->type,                                  \
          qio_socket_trace_str((addr_)->host),                                 \
          qio_socket_trace_str((addr_)->port),                                 \
          qio_socket_trace_str((addr_)->path),                                 \
          qio_socket_trace_str((addr_)->fd_name),                              \
          qio_socket_trace_str((addr_)->cid))

void qio_channel_socket_set_fd_resolver(QIOChannelSocketFdResolver fn)
{
    qio_socket_fd_resolver = fn;
}

/* ---- SocketAddress helpers (dup/free come from util/qemu-sockets.c) ---- */

void qio_socket_address_free(SocketAddress *addr)
{
    socket_address_free(addr);
}

/* A SocketAddress for a kernel address (numeric host/port or a path). */
static SocketAddress *
qio_socket_address_from_sockaddr(const struct sockaddr_storage *sa,
                                 socklen_t salen, Error **errp)
{
    SocketAddress *addr;

    if (sa->ss_family == AF_INET || sa->ss_family == AF_INET6) {
        char host[NI_MAXHOST], serv[NI_MAXSERV];
        int rc =
            getnameinfo((const struct sockaddr *)sa, salen, host, sizeof(host),
                        serv, sizeof(serv), NI_NUMERICHOST | NI_NUMERICSERV);

        if (rc != 0) {
            error_setg(errp, "Cannot format numeric socket address: %s",
                       gai_strerror(rc));
            return NULL;
        }
        addr = g_new0(SocketAddress, 1);
        addr->type = SOCKET_ADDRESS_TYPE_INET;
        addr->host = g_strdup(host);
        addr->port = g_strdup(serv);
        addr->ipv4_only = sa->ss_family == AF_INET;
        addr->ipv6_only = sa->ss_family == AF_INET6;
        return addr;
    }
    if (sa->ss_family == AF_UNIX) {
        const struct sockaddr_un *su = (const struct sockaddr_un *)sa;
        size_t off = offsetof(struct sockaddr_un, sun_path);
        size_t len = salen > off ? salen - off : 0;

        addr = g_new0(SocketAddress, 1);
        addr->type = SOCKET_ADDRESS_TYPE_UNIX;
        addr->path = g_strndup(su->sun_path, MIN(len, sizeof(su->sun_path)));
        return addr;
    }
    if (sa->ss_family == AF_VSOCK) {
        const struct sockaddr_vm *svm = (const struct sockaddr_vm *)sa;

        addr = g_new0(SocketAddress, 1);
        addr->type = SOCKET_ADDRESS_TYPE_VSOCK;
        addr->cid = g_strdup_printf("%u", svm->svm_cid);
        addr->port = g_strdup_printf("%u", svm->svm_port);
        return addr;
    }
    error_setg(errp, "Unknown socket address family %d", sa->ss_family);
    return NULL;
}

/* ---- construction ---- */

QIOChannelSocket *qio_channel_socket_new(void)
{
    QIOChannelSocket *sioc = g_new0(QIOChannelSocket, 1);

    qio_channel_init(QIO_CHANNEL(sioc), &qio_channel_socket_class);
    sioc->fd = -1;
    return sioc;
}

/* Take ownership of connected or listening @fd: addresses and features. */
static int qio_channel_socket_set_fd(QIOChannelSocket *sioc, int fd,
                                     Error **errp)
{
    QIOChannel *ioc = QIO_CHANNEL(sioc);
    int listening = 0;
    socklen_t optlen = sizeof(listening);

    sioc->localAddrLen = sizeof(sioc->localAddr);
    if (getsockname(fd, (struct sockaddr *)&sioc->localAddr,
                    &sioc->localAddrLen) < 0) {
        error_setg_errno(errp, errno, "Unable to query local socket address");
        return -1;
    }
    sioc->remoteAddrLen = sizeof(sioc->remoteAddr);
    if (getpeername(fd, (struct sockaddr *)&sioc->remoteAddr,
                    &sioc->remoteAddrLen) < 0) {
        if (errno != ENOTCONN) {
            error_setg_errno(errp, errno,
                             "Unable to query remote socket address");
            return -1;
        }
        sioc->remoteAddrLen = 0;
    }
    sioc->fd = fd;

    if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &optlen) == 0 &&
        listening) {
        qio_channel_set_feature(ioc, QIO_CHANNEL_FEATURE_LISTEN);
    }
    qio_channel_set_feature(ioc, QIO_CHANNEL_FEATURE_SHUTDOWN);
    qio_channel_set_feature(ioc, QIO_CHANNEL_FEATURE_READ_MSG_PEEK);
    if (sioc->localAddr.ss_family == AF_UNIX) {
        qio_channel_set_feature(ioc, QIO_CHANNEL_FEATURE_FD_PASS);
    }
    return 0;
}

QIOChannelSocket *qio_channel_socket_new_fd(int fd, Error **errp)
{
    QIOChannelSocket *sioc = qio_channel_socket_new();

    if (qio_channel_socket_set_fd(sioc, fd, errp) < 0) {
        qio_channel_unref(QIO_CHANNEL(sioc)); /* fd still the caller's */
        return NULL;
    }
    return sioc;
}

static void qio_socket_set_nodelay(int fd, int family)
{
    int on = 1;

    if (family == AF_INET || family == AF_INET6) {
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
    }
}

/* ---- connect ---- */

/*
 * The cancel fd of the connect running in this thread, or -1: set by
 * qio_channel_socket_connect_cancellable() around the blocking connect.
 */
static __thread int qio_socket_cancel_fd = -1;

/* Has the cancel fd become readable within timeout_ms? */
static bool qio_socket_cancelled(int timeout_ms)
{
    struct pollfd pfd = {.fd = qio_socket_cancel_fd, .events = POLLIN};

    return poll(&pfd, 1, timeout_ms) > 0;
}

/*
 * Connect fd non-blocking while watching the cancel fd: -1/ECANCELED as
 * soon as it is readable.  A unix socket whose listener's backlog is
 * full answers EAGAIN at once (it cannot be waited for): try again every
 * 50 ms.  The socket is blocking again on return.
 */
static int qio_socket_do_connect_cancellable(int fd, const struct sockaddr *sa,
                                             socklen_t salen)
{
    struct pollfd pfd[2] = {
        {.fd = fd, .events = POLLOUT},
        {.fd = qio_socket_cancel_fd, .events = POLLIN},
    };
    int flags = fcntl(fd, F_GETFL);
    socklen_t len = sizeof(int);
    int err = 0;

    fcntl(fd, F_SETFL, flags | O_NONBLOCK);
    while (connect(fd, sa, salen) < 0) {
        if (errno == EAGAIN) {
            if (!qio_socket_cancelled(50)) {
                continue;
            }
            err = ECANCELED;
        } else if (errno != EINPROGRESS && errno != EINTR) {
            err = errno;
        } else {
            while (poll(pfd, 2, -1) < 0 && errno == EINTR) {
                /* the connection carries on: wait again */
            }
            if (pfd[1].revents) {
                err = ECANCELED;
            } else if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0) {
                err = errno;
            }
        }
        break;
    }
    fcntl(fd, F_SETFL, flags);
    if (err) {
        errno = err;
        return -1;
    }
    return 0;
}

/*
 * connect() that survives EINTR: the connection carries on in the
 * kernel, so wait for it and read its outcome.  Returns 0 or -1/errno.
 */
static int qio_socket_do_connect(int fd, const struct sockaddr *sa,
                                 socklen_t salen)
{
    struct pollfd pfd = {.fd = fd, .events = POLLOUT};
    int err = 0;
    socklen_t len = sizeof(err);

    if (qio_socket_cancel_fd >= 0) {
        return qio_socket_do_connect_cancellable(fd, sa, salen);
    }
    if (connect(fd, sa, salen) == 0) {
        return 0;
    }
    if (errno != EINTR && errno != EINPROGRESS) {
        return -1;
    }
    while (poll(&pfd, 1, -1) < 0) {
        if (errno != EINTR) {
            return -1;
        }
    }
    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0) {
        return -1;
    }
    if (err) {
        errno = err;
        return -1;
    }
    return 0;
}

static int qio_socket_inet_family(const SocketAddress *addr)
{
    if (addr->ipv4_only && !addr->ipv6_only) {
        return AF_INET;
    }
    if (addr->ipv6_only && !addr->ipv4_only) {
        return AF_INET6;
    }
    return AF_UNSPEC;
}

static struct addrinfo *qio_socket_inet_resolve(const SocketAddress *addr,
                                                bool passive, Error **errp)
{
    struct addrinfo hints = {0}, *res = NULL;
    const char *host = addr->host && addr->host[0] ? addr->host : NULL;
    int rc;

    if (!addr->port || !addr->port[0] || (!host && !passive)) {
        error_setg(errp, "host and/or port not specified");
        return NULL;
    }
    hints.ai_family = qio_socket_inet_family(addr);
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = passive ? AI_PASSIVE : 0;
    rc = getaddrinfo(host, addr->port, &hints, &res);
    if (rc != 0) {
        error_setg(errp, "address resolution failed for %s:%s: %s",
                   addr->host ? addr->host : "", addr->port, gai_strerror(rc));
        return NULL;
    }
    return res;
}

static int qio_socket_inet_connect(const SocketAddress *addr, Error **errp)
{
    struct addrinfo *res, *e;
    Error *local_err = NULL;
    int fd = -1;

    res = qio_socket_inet_resolve(addr, false, errp);
    if (!res) {
        return -1;
    }
    for (e = res; e; e = e->ai_next) {
        error_free(local_err);
        local_err = NULL;
        fd =
            socket(e->ai_family, e->ai_socktype | SOCK_CLOEXEC, e->ai_protocol);
        if (fd < 0) {
            error_setg_errno(&local_err, errno,
                             "Failed to create socket family %d", e->ai_family);
            continue;
        }
        if (qio_socket_do_connect(fd, e->ai_addr, e->ai_addrlen) == 0) {
            qio_socket_set_nodelay(fd, e->ai_family);
            break;
        }
        error_setg_errno(&local_err, errno, "Failed to connect to '%s:%s'",
                         addr->host, addr->port);
        close(fd);
        fd = -1;
    }
    freeaddrinfo(res);
    if (fd < 0) {
        error_propagate(errp, local_err);
    } else {
        error_free(local_err);
    }
    return fd;
}

static bool qio_socket_unix_sockaddr(const SocketAddress *addr,
                                     struct sockaddr_un *un, socklen_t *len,
                                     Error **errp)
{
    size_t plen = addr->path ? strlen(addr->path) : 0;

    if (plen == 0) {
        error_setg(errp, "UNIX socket path not specified");
        return false;
    }
    if (plen >= sizeof(un->sun_path)) {
        error_setg(errp, "UNIX socket path '%s' is too long", addr->path);
        return false;
    }
    memset(un, 0, sizeof(*un));
    un->sun_family = AF_UNIX;
    memcpy(un->sun_path, addr->path, plen);
    *len = offsetof(struct sockaddr_un, sun_path) + plen + 1;
    return true;
}

/*
 * Parse a unix address into *un / *len and open an unbound stream socket
 * for it; -1 with errp set on failure.
 */
static int qio_socket_unix_open(const SocketAddress *addr,
                                struct sockaddr_un *un, socklen_t *len,
                                Error **errp)
{
    int fd;

    if (!qio_socket_unix_sockaddr(addr, un, len, errp)) {
        return -1;
    }
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        error_setg_errno(errp, errno, "Failed to create Unix socket");
        return -1;
    }
    return fd;
}

static int qio_socket_unix_connect(const SocketAddress *addr, Error **errp)
{
    struct sockaddr_un un;
    socklen_t len;
    int fd = qio_socket_unix_open(addr, &un, &len, errp);

    if (fd < 0) {
        return -1;
    }
    if (qio_socket_do_connect(fd, (struct sockaddr *)&un, len) < 0) {
        error_setg_errno(errp, errno, "Failed to connect to '%s'", addr->path);
        close(fd);
        return -1;
    }
    return fd;
}

static int qio_socket_fd_lookup(const SocketAddress *addr, Error **errp)
{
    struct stat st;
    int fd;

    if (!addr->fd_name || !addr->fd_name[0]) {
        error_setg(errp, "File descriptor name not specified");
        return -1;
    }
    if (qio_socket_fd_resolver) {
        fd = qio_socket_fd_resolver(addr->fd_name, errp);
        if (fd < 0) {
            return -1;
        }
    } else {
        char *end = NULL;
        long val;

        errno = 0;
        val = strtol(addr->fd_name, &end, 10);
        if (errno || *end || val < 0 || val > INT_MAX ||
            !g_ascii_isdigit(addr->fd_name[0])) {
            error_setg(errp, "Unable to parse FD number %s", addr->fd_name);
            return -1;
        }
        fd = val;
    }
    if (fstat(fd, &st) < 0 || !S_ISSOCK(st.st_mode)) {
        error_setg(errp, "File descriptor '%s' is not a socket", addr->fd_name);
        if (qio_socket_fd_resolver) {
            close(fd);
        }
        return -1;
    }
    return fd;
}

static bool qio_socket_parse_u32(const char *str, uint32_t *val)
{
    char *end = NULL;
    unsigned long long v;

    if (!str || !g_ascii_isdigit(str[0])) {
        return false;
    }
    errno = 0;
    v = strtoull(str, &end, 10);
    if (errno || *end || v > UINT32_MAX) {
        return false;
    }
    *val = v;
    return true;
}

static bool qio_socket_vsock_sockaddr(const SocketAddress *addr,
                                      struct sockaddr_vm *svm, Error **errp)
{
    uint32_t cid, port;

    if (!qio_socket_parse_u32(addr->cid, &cid)) {
        error_setg(errp, "Failed to parse cid '%s'",
                   addr->cid ? addr->cid : "");
        return false;
    }
    if (!qio_socket_parse_u32(addr->port, &port)) {
        error_setg(errp, "Failed to parse port '%s'",
                   addr->port ? addr->port : "");
        return false;
    }
    memset(svm, 0, sizeof(*svm));
    svm->svm_family = AF_VSOCK;
    svm->svm_cid = cid;
    svm->svm_port = port;
    return true;
}

/*
 * Parse a vsock address into *svm and open an unbound stream socket for
 * it; -1 with errp set on failure.
 */
static int qio_socket_vsock_open(const SocketAddress *addr,
                                 struct sockaddr_vm *svm, Error **errp)
{
    int fd;

    if (!qio_socket_vsock_sockaddr(addr, svm, errp)) {
        return -1;
    }
    fd = socket(AF_VSOCK, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        error_setg_errno(errp, errno, "Failed to create socket");
        return -1;
    }
    return fd;
}

static int qio_socket_vsock_connect(const SocketAddress *addr, Error **errp)
{
    struct sockaddr_vm svm;
    int fd = qio_socket_vsock_open(addr, &svm, errp);

    if (fd < 0) {
        return -1;
    }
    if (qio_socket_do_connect(fd, (struct sockaddr *)&svm, sizeof(svm)) < 0) {
        error_setg_errno(errp, errno, "Failed to connect socket");
        close(fd);
        return -1;
    }
    return fd;
}

static int qio_socket_vsock_listen(const SocketAddress *addr, int num,
                                   Error **errp)
{
    struct sockaddr_vm svm;
    int fd = qio_socket_vsock_open(addr, &svm, errp);

    if (fd < 0) {
        return -1;
    }
    if (bind(fd, (struct sockaddr *)&svm, sizeof(svm)) < 0) {
        error_setg_errno(errp, errno, "Failed to bind socket");
        close(fd);
        return -1;
    }
    if (listen(fd, num) < 0) {
        error_setg_errno(errp, errno, "Failed to listen on socket");
        close(fd);
        return -1;
    }
    return fd;
}

int qio_channel_socket_connect_sync(QIOChannelSocket *ioc, SocketAddress *addr,
                                    Error **errp)
{
    int fd;

    if (ioc->fd != -1) {
        error_setg(errp, "Socket channel is already connected");
        return -1;
    }
    QIO_SOCKET_TRACE_ADDR("io_channel_socket_connect", ioc, addr);
    switch (addr->type) {
    case SOCKET_ADDRESS_TYPE_INET:
        fd = qio_socket_inet_connect(addr, errp);
        break;
    case SOCKET_ADDRESS_TYPE_UNIX:
        fd = qio_socket_unix_connect(addr, errp);
        break;
    case SOCKET_ADDRESS_TYPE_FD:
        fd = qio_socket_fd_lookup(addr, errp);
        break;
    case SOCKET_ADDRESS_TYPE_VSOCK:
        fd = qio_socket_vsock_connect(addr, errp);
        break;
    default:
        error_setg(errp, "Unknown socket address type %d", addr->type);
        fd = -1;
        break;
    }
    if (fd < 0) {
        TRACE("io_channel_socket_connect_fail", "ioc=%p", (void *)ioc);
        return -1;
    }
    if (qio_channel_socket_set_fd(ioc, fd, errp) < 0) {
        TRACE("io_channel_socket_connect_fail", "ioc=%p", (void *)ioc);
        close(fd);
        return -1;
    }
    TRACE("io_channel_socket_connect_complete", "ioc=%p fd=%d", (void *)ioc,
          fd);
    return 0;
}

int qio_channel_socket_connect_cancellable(QIOChannelSocket *ioc,
                                           SocketAddress *addr, int cancel_fd,
                                           Error **errp)
{
    int ret;

    qio_socket_cancel_fd = cancel_fd;
    ret = qio_channel_socket_connect_sync(ioc, addr, errp);
    qio_socket_cancel_fd = -1;
    return ret;
}

static void qio_channel_socket_connect_worker(QIOTask *task, gpointer opaque)
{
    QIOChannelSocket *ioc = QIO_CHANNEL_SOCKET(qio_task_get_source(task));
    SocketAddress *addr = opaque;
    Error *err = NULL;

    qio_channel_socket_connect_sync(ioc, addr, &err);
    qio_task_set_error(task, err);
}

static void qio_socket_address_destroy(gpointer opaque)
{
    qio_socket_address_free(opaque);
}

void qio_channel_socket_connect_async(QIOChannelSocket *ioc,
                                      SocketAddress *addr, QIOTaskFunc callback,
                                      gpointer opaque, GDestroyNotify destroy,
                                      GMainContext *context)
{
    QIOTask *task = qio_task_new(QIO_CHANNEL(ioc), callback, opaque, destroy);

    qio_task_run_in_thread(task, qio_channel_socket_connect_worker,
                           socket_address_dup(addr), qio_socket_address_destroy,
                           context);
}

/* ---- listen ---- */

static int qio_socket_inet_bind(int fd, const SocketAddress *addr,
                                struct addrinfo *e)
{
    int on = 1;

    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
    if (e->ai_family == AF_INET6) {
        /*
         * Dual-stack unless exactly one family was asked for; if the IPv4
         * side is taken, fall back to IPv6 only (like QEMU).
         */
        int v6only = addr->ipv6_only && !addr->ipv4_only;

        setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &v6only, sizeof(v6only));
        if (bind(fd, e->ai_addr, e->ai_addrlen) == 0) {
            return 0;
        }
        if (errno != EADDRINUSE || v6only) {
            return -1;
        }
        v6only = 1;
        setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &v6only, sizeof(v6only));
    }
    return bind(fd, e->ai_addr, e->ai_addrlen);
}

static int qio_socket_inet_listen(const SocketAddress *addr, int num,
                                  Error **errp)
{
    struct addrinfo *res, *e;
    bool created = false;
    int saved_errno = 0;
    int fd = -1;

    res = qio_socket_inet_resolve(addr, true, errp);
    if (!res) {
        return -1;
    }
    for (e = res; e; e = e->ai_next) {
        fd =
            socket(e->ai_family, e->ai_socktype | SOCK_CLOEXEC, e->ai_protocol);
        if (fd < 0) {
            saved_errno = errno;
            continue;
        }
        created = true;
        if (qio_socket_inet_bind(fd, addr, e) < 0) {
            saved_errno = errno;
            if (errno != EADDRINUSE) {
                error_setg_errno(errp, errno, "Failed to bind socket");
                goto fail;
            }
        } else if (listen(fd, num) == 0) {
            break;
        } else {
            saved_errno = errno;
            if (errno != EADDRINUSE) {
                error_setg_errno(errp, errno, "Failed to listen on socket");
                goto fail;
            }
        }
        close(fd);
        fd = -1;
    }
    freeaddrinfo(res);
    if (fd < 0) {
        error_setg_errno(errp, saved_errno,
                         created ? "Failed to find an available port"
                                 : "Failed to create a socket");
    }
    return fd;

fail:
    close(fd);
    freeaddrinfo(res);
    return -1;
}

static int qio_socket_unix_listen(const SocketAddress *addr, int num,
                                  Error **errp)
{
    struct sockaddr_un un;
    struct stat st;
    socklen_t len;
    int fd = qio_socket_unix_open(addr, &un, &len, errp);

    if (fd < 0) {
        return -1;
    }
    /* A socket file left by a previous run: remove it (never a file). */
    if (lstat(addr->path, &st) == 0 && S_ISSOCK(st.st_mode)) {
        if (unlink(addr->path) < 0 && errno != ENOENT) {
            error_setg_errno(errp, errno, "Failed to unlink socket %s",
                             addr->path);
            goto fail;
        }
    }
    if (bind(fd, (struct sockaddr *)&un, len) < 0) {
        error_setg_errno(errp, errno, "Failed to bind socket to %s",
                         addr->path);
        goto fail;
    }
    if (listen(fd, num) < 0) {
        error_setg_errno(errp, errno, "Failed to listen on socket");
        unlink(addr->path);
        goto fail;
    }
    return fd;

fail:
    close(fd);
    return -1;
}

int qio_channel_socket_listen_sync(QIOChannelSocket *ioc, SocketAddress *addr,
                                   int num, Error **errp)
{
    int fd;

    if (ioc->fd != -1) {
        error_setg(errp, "Socket channel is already in use");
        return -1;
    }
    if (num <= 0) {
        num = SOMAXCONN;
    }
    QIO_SOCKET_TRACE_ADDR("io_channel_socket_listen", ioc, addr);
    switch (addr->type) {
    case SOCKET_ADDRESS_TYPE_INET:
        fd = qio_socket_inet_listen(addr, num, errp);
        break;
    case SOCKET_ADDRESS_TYPE_UNIX:
        fd = qio_socket_unix_listen(addr, num, errp);
        break;
    case SOCKET_ADDRESS_TYPE_FD:
        fd = qio_socket_fd_lookup(addr, errp);
        if (fd >= 0 && listen(fd, num) < 0) {
            error_setg_errno(errp, errno, "Failed to listen on socket");
            fd = -1;
        }
        break;
    case SOCKET_ADDRESS_TYPE_VSOCK:
        fd = qio_socket_vsock_listen(addr, num, errp);
        break;
    default:
        error_setg(errp, "Unknown socket address type %d", addr->type);
        fd = -1;
        break;
    }
    if (fd < 0) {
        return -1;
    }
    if (qio_channel_socket_set_fd(ioc, fd, errp) < 0) {
        close(fd);
        return -1;
    }
    qio_channel_set_feature(QIO_CHANNEL(ioc), QIO_CHANNEL_FEATURE_LISTEN);
    if (addr->type == SOCKET_ADDRESS_TYPE_UNIX) {
        ioc->unlink_path = g_strdup(addr->path);
    }
    TRACE("io_channel_socket_listen_complete", "ioc=%p fd=%d", (void *)ioc, fd);
    return 0;
}

typedef struct QIOSocketListenData {
    SocketAddress *addr;
    int num;
} QIOSocketListenData;

static void qio_channel_socket_listen_worker(QIOTask *task, gpointer opaque)
{
    QIOChannelSocket *ioc = QIO_CHANNEL_SOCKET(qio_task_get_source(task));
    QIOSocketListenData *data = opaque;
    Error *err = NULL;

    qio_channel_socket_listen_sync(ioc, data->addr, data->num, &err);
    qio_task_set_error(task, err);
}

static void qio_socket_listen_data_free(gpointer opaque)
{
    QIOSocketListenData *data = opaque;

    qio_socket_address_free(data->addr);
    g_free(data);
}

void qio_channel_socket_listen_async(QIOChannelSocket *ioc, SocketAddress *addr,
                                     int num, QIOTaskFunc callback,
                                     gpointer opaque, GDestroyNotify destroy,
                                     GMainContext *context)
{
    QIOTask *task = qio_task_new(QIO_CHANNEL(ioc), callback, opaque, destroy);
    QIOSocketListenData *data = g_new0(QIOSocketListenData, 1);

    data->addr = socket_address_dup(addr);
    data->num = num;
    qio_task_run_in_thread(task, qio_channel_socket_listen_worker, data,
                           qio_socket_listen_data_free, context);
}

int qio_socket_address_resolve(SocketAddress *addr, SocketAddress ***addrs,
                               Error **errp)
{
    struct addrinfo *res, *e;
    GPtrArray *out;
    int n;

    if (addr->type != SOCKET_ADDRESS_TYPE_INET) {
        *addrs = g_new0(SocketAddress *, 1);
        (*addrs)[0] = socket_address_dup(addr);
        return 1;
    }
    res = qio_socket_inet_resolve(addr, true, errp);
    if (!res) {
        return -1;
    }
    out = g_ptr_array_new();
    for (e = res; e; e = e->ai_next) {
        struct sockaddr_storage ss;
        SocketAddress *one;

        memcpy(&ss, e->ai_addr, MIN(e->ai_addrlen, sizeof(ss)));
        one = qio_socket_address_from_sockaddr(&ss, e->ai_addrlen, NULL);
        if (!one) {
            continue;
        }
        /* Keep the caller's family restriction for the dual-stack rule. */
        one->ipv4_only = addr->ipv4_only;
        one->ipv6_only = addr->ipv6_only;
        /* getaddrinfo lists an address once per protocol: de-duplicate. */
        for (guint i = 0; i < out->len; i++) {
            SocketAddress *prev = g_ptr_array_index(out, i);

            if (g_str_equal(prev->host, one->host) &&
                g_str_equal(prev->port, one->port)) {
                qio_socket_address_free(one);
                one = NULL;
                break;
            }
        }
        if (one) {
            g_ptr_array_add(out, one);
        }
    }
    freeaddrinfo(res);
    if (out->len == 0) {
        g_ptr_array_free(out, TRUE);
        error_setg(errp, "address resolution failed for %s:%s: %s",
                   addr->host ? addr->host : "", addr->port,
                   gai_strerror(EAI_NONAME));
        return -1;
    }
    n = out->len;
    *addrs = (SocketAddress **)g_ptr_array_free(out, FALSE);
    return n;
}

/* ---- accept ---- */

QIOChannelSocket *qio_channel_socket_accept(QIOChannelSocket *ioc, Error **errp)
{
    QIOChannelSocket *cioc;
    int fd;

    do {
        fd = accept4(ioc->fd, NULL, NULL, SOCK_CLOEXEC);
    } while (fd < 0 && errno == EINTR);
    if (fd < 0) {
        error_setg_errno(errp, errno, "Unable to accept connection");
        TRACE("io_channel_socket_accept_fail", "ioc=%p", (void *)ioc);
        return NULL;
    }
    cioc = qio_channel_socket_new();
    if (qio_channel_socket_set_fd(cioc, fd, errp) < 0) {
        close(fd);
        qio_channel_unref(QIO_CHANNEL(cioc));
        return NULL;
    }
    qio_socket_set_nodelay(fd, cioc->localAddr.ss_family);
    TRACE("io_channel_socket_accept", "ioc=%p fd=%d cioc=%p", (void *)ioc, fd,
          (void *)cioc);
    return cioc;
}

SocketAddress *qio_channel_socket_get_local_address(QIOChannelSocket *ioc,
                                                    Error **errp)
{
    if (ioc->fd < 0) {
        error_setg(errp, "Socket channel is not connected");
        return NULL;
    }
    return qio_socket_address_from_sockaddr(&ioc->localAddr, ioc->localAddrLen,
                                            errp);
}

SocketAddress *qio_channel_socket_get_remote_address(QIOChannelSocket *ioc,
                                                     Error **errp)
{
    if (ioc->fd < 0 || ioc->remoteAddrLen == 0) {
        error_setg_errno(errp, ENOTCONN,
                         "Unable to query remote socket address");
        return NULL;
    }
    return qio_socket_address_from_sockaddr(&ioc->remoteAddr,
                                            ioc->remoteAddrLen, errp);
}

/* ---- I/O ---- */

static ssize_t qio_channel_socket_readv(QIOChannel *ioc,
                                        const struct iovec *iov, size_t niov,
                                        int **fds, size_t *nfds, int flags,
                                        Error **errp)
{
    QIOChannelSocket *sioc = QIO_CHANNEL_SOCKET(ioc);
    union {
        char buf[CMSG_SPACE(sizeof(int) * QIO_SOCKET_MAX_FDS)];
        struct cmsghdr align;
    } control;
    struct msghdr msg = {0};
    struct cmsghdr *cmsg;
    int sflags = 0;
    ssize_t ret;

    msg.msg_iov = (struct iovec *)iov;
    msg.msg_iovlen = niov;
    if (fds && nfds) {
        *fds = NULL;
        *nfds = 0;
        msg.msg_control = control.buf;
        msg.msg_controllen = sizeof(control.buf);
        sflags |= MSG_CMSG_CLOEXEC;
    }
    if (flags & QIO_CHANNEL_READ_FLAG_MSG_PEEK) {
        sflags |= MSG_PEEK;
    }

    do {
        ret = recvmsg(sioc->fd, &msg, sflags);
    } while (ret < 0 && errno == EINTR);
    if (ret < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK) {
            return QIO_CHANNEL_ERR_BLOCK;
        }
        error_setg_errno(errp, errno, "Unable to read from socket");
        return -1;
    }

    if (fds && nfds) {
        for (cmsg = CMSG_FIRSTHDR(&msg); cmsg; cmsg = CMSG_NXTHDR(&msg, cmsg)) {
            size_t n;

            if (cmsg->cmsg_level != SOL_SOCKET ||
                cmsg->cmsg_type != SCM_RIGHTS || cmsg->cmsg_len < CMSG_LEN(0)) {
                continue;
            }
            n = (cmsg->cmsg_len - CMSG_LEN(0)) / sizeof(int);
            if (n == 0) {
                continue;
            }
            *fds = g_renew(int, *fds, *nfds + n);
            memcpy(*fds + *nfds, CMSG_DATA(cmsg), n * sizeof(int));
            *nfds += n;
        }
    }
    return ret;
}

static ssize_t qio_channel_socket_writev(QIOChannel *ioc,
                                         const struct iovec *iov, size_t niov,
                                         int *fds, size_t nfds, int flags,
                                         Error **errp)
{
    QIOChannelSocket *sioc = QIO_CHANNEL_SOCKET(ioc);
    union {
        char buf[CMSG_SPACE(sizeof(int) * QIO_SOCKET_MAX_FDS)];
        struct cmsghdr align;
    } control;
    struct msghdr msg = {0};
    ssize_t ret;

    msg.msg_iov = (struct iovec *)iov;
    msg.msg_iovlen = niov;
    if (nfds) {
        struct cmsghdr *cmsg;

        if (nfds > QIO_SOCKET_MAX_FDS) {
            error_setg_errno(errp, EINVAL, "Only %d FDs can be sent, got %zu",
                             QIO_SOCKET_MAX_FDS, nfds);
            return -1;
        }
        memset(control.buf, 0, sizeof(control.buf));
        msg.msg_control = control.buf;
        msg.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
        cmsg = CMSG_FIRSTHDR(&msg);
        cmsg->cmsg_level = SOL_SOCKET;
        cmsg->cmsg_type = SCM_RIGHTS;
        cmsg->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
        memcpy(CMSG_DATA(cmsg), fds, sizeof(int) * nfds);
    }

    do {
        ret = sendmsg(sioc->fd, &msg, MSG_NOSIGNAL);
    } while (ret < 0 && errno == EINTR);
    if (ret < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK) {
            return QIO_CHANNEL_ERR_BLOCK;
        }
        error_setg_errno(errp, errno, "Unable to write to socket");
        return -1;
    }
    return ret;
}

static int qio_channel_socket_set_blocking(QIOChannel *ioc, bool enabled,
                                           Error **errp)
{
    QIOChannelSocket *sioc = QIO_CHANNEL_SOCKET(ioc);
    int fl = fcntl(sioc->fd, F_GETFL);

    if (fl < 0) {
        error_setg_errno(errp, errno, "Unable to get socket flags");
        return -1;
    }
    fl = enabled ? (fl & ~O_NONBLOCK) : (fl | O_NONBLOCK);
    if (fcntl(sioc->fd, F_SETFL, fl) < 0) {
        error_setg_errno(errp, errno, "Unable to set socket flags");
        return -1;
    }
    return 0;
}

static int qio_channel_socket_close(QIOChannel *ioc, Error **errp)
{
    QIOChannelSocket *sioc = QIO_CHANNEL_SOCKET(ioc);
    int ret = 0;

    if (sioc->fd == -1) {
        return 0;
    }
    if (sioc->unlink_path) {
        if (unlink(sioc->unlink_path) < 0 && errno != ENOENT) {
            error_setg_errno(errp, errno, "Failed to unlink socket %s",
                             sioc->unlink_path);
            ret = -1;
        }
        g_free(sioc->unlink_path);
        sioc->unlink_path = NULL;
    }
    if (close(sioc->fd) < 0 && errno != EINTR) {
        error_setg_errno(errp, errno, "Unable to close socket");
        ret = -1;
    }
    sioc->fd = -1;
    return ret;
}

static int qio_channel_socket_shutdown(QIOChannel *ioc, QIOChannelShutdown how,
                                       Error **errp)
{
    QIOChannelSocket *sioc = QIO_CHANNEL_SOCKET(ioc);
    int sockhow;

    switch (how) {
    case QIO_CHANNEL_SHUTDOWN_READ:
        sockhow = SHUT_RD;
        break;
    case QIO_CHANNEL_SHUTDOWN_WRITE:
        sockhow = SHUT_WR;
        break;
    default:
        sockhow = SHUT_RDWR;
        break;
    }
    /* ENOTCONN: the peer is already gone, which is what was wanted. */
    if (shutdown(sioc->fd, sockhow) < 0 && errno != ENOTCONN) {
        error_setg_errno(errp, errno, "Unable to shutdown socket");
        return -1;
    }
    return 0;
}

static void qio_channel_socket_set_cork(QIOChannel *ioc, bool enabled)
{
    QIOChannelSocket *sioc = QIO_CHANNEL_SOCKET(ioc);
    int v = enabled;

    if (sioc->localAddr.ss_family == AF_INET ||
        sioc->localAddr.ss_family == AF_INET6) {
        setsockopt(sioc->fd, IPPROTO_TCP, TCP_CORK, &v, sizeof(v));
    }
}

static void qio_channel_socket_set_delay(QIOChannel *ioc, bool enabled)
{
    QIOChannelSocket *sioc = QIO_CHANNEL_SOCKET(ioc);
    int v = !enabled;

    if (sioc->localAddr.ss_family == AF_INET ||
        sioc->localAddr.ss_family == AF_INET6) {
        setsockopt(sioc->fd, IPPROTO_TCP, TCP_NODELAY, &v, sizeof(v));
    }
}

static GSource *qio_channel_socket_create_watch(QIOChannel *ioc,
                                                GIOCondition condition)
{
    return qio_channel_create_fd_watch(ioc, QIO_CHANNEL_SOCKET(ioc)->fd,
                                       condition);
}

static int qio_channel_socket_get_fd(QIOChannel *ioc)
{
    return QIO_CHANNEL_SOCKET(ioc)->fd;
}

static void qio_channel_socket_finalize(QIOChannel *ioc)
{
    QIOChannelSocket *sioc = QIO_CHANNEL_SOCKET(ioc);

    qio_channel_socket_close(ioc, NULL);
    g_free(sioc->unlink_path);
}

static const QIOChannelClass qio_channel_socket_class = {
    .type_name = "qio-channel-socket",
    .io_writev = qio_channel_socket_writev,
    .io_readv = qio_channel_socket_readv,
    .io_close = qio_channel_socket_close,
    .io_create_watch = qio_channel_socket_create_watch,
    .io_set_blocking = qio_channel_socket_set_blocking,
    .io_finalize = qio_channel_socket_finalize,
    .io_shutdown = qio_channel_socket_shutdown,
    .io_set_cork = qio_channel_socket_set_cork,
    .io_set_delay = qio_channel_socket_set_delay,
    .io_get_fd = qio_channel_socket_get_fd,
};
