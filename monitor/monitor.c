/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * monitor.c: what QMP and HMP monitors share: connections (listening
 * sockets, stdio), output buffering, the current monitor, and the fd table
 * filled by getfd.
 *
 * Everything here runs on the main loop thread with the BQL held.
 */
#include "qemu/osdep.h"
#include <glib-unix.h>
#include "monitor-internal.h"
#include "qemu/cutils.h"
#include "qemu/sockets.h"
#include "io/channel-socket.h"
#include "qemu/error-report.h"
#include "sysemu/main-loop.h"

/* Bytes read from a monitor connection at once. */
#define MONITOR_READ_CHUNK 4096

typedef struct MonitorListener {
    QIOChannelSocket *sioc; /* listening; a unix path goes on close */
    bool is_qmp;
    guint watch;
} MonitorListener;

/* Pending output beyond this means the client stopped reading. */
#define MONITOR_OUTBUF_MAX (64 * MiB)
/* fds received and not yet claimed by a command, per connection */
#define MONITOR_RECV_FDS_MAX 64

static GList *monitors;  /* Monitor *, live connections */
static GList *listeners; /* MonitorListener * */
static Monitor *cur_mon;

GList *monitor_list(void)
{
    return monitors;
}

Monitor *monitor_cur(void)
{
    return cur_mon;
}

Monitor *monitor_set_cur(Monitor *mon)
{
    Monitor *old = cur_mon;

    cur_mon = mon;
    return old;
}

Monitor *monitor_ref(Monitor *mon)
{
    mon->refcnt++;
    return mon;
}

static void monitor_free(Monitor *mon)
{
    GHashTableIter iter;
    gpointer key, value;

    monitor_drop_recv_fds(mon);
    if (mon->fds) {
        g_hash_table_iter_init(&iter, mon->fds);
        while (g_hash_table_iter_next(&iter, &key, &value)) {
            close(GPOINTER_TO_INT(value));
        }
        g_hash_table_destroy(mon->fds);
    }
    json_stream_parser_free(mon->parser);
    g_string_free(mon->outbuf, TRUE);
    if (mon->capture) {
        g_string_free(mon->capture, TRUE);
    }
    g_string_free(mon->linebuf, TRUE);
    g_free(mon);
}

void monitor_unref(Monitor *mon)
{
    g_assert(mon->refcnt > 0);
    if (--mon->refcnt == 0) {
        if (cur_mon == mon) {
            cur_mon = NULL;
        }
        monitor_free(mon);
    }
}

Monitor *monitor_new(bool is_qmp)
{
    Monitor *mon = g_new0(Monitor, 1);

    mon->refcnt = 1;
    mon->is_qmp = is_qmp;
    mon->fd_in = -1;
    mon->fd_out = -1;
    mon->outbuf = g_string_new(NULL);
    mon->linebuf = g_string_new(NULL);
    g_queue_init(&mon->recv_fds);
    mon->fds = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    return mon;
}

bool monitor_is_tty(Monitor *mon)
{
    return mon && mon->tty;
}

/* The Ctrl-C claim of a suspended stdio HMP command (main thread). */
static MonitorInterruptFunc *monitor_interrupt_fn;
static void *monitor_interrupt_opaque;

bool monitor_claim_interrupt(Monitor *mon, MonitorInterruptFunc *fn,
                             void *opaque)
{
    if (!mon || mon->is_qmp || !mon->is_stdio) {
        return false;
    }
    monitor_interrupt_fn = fn;
    monitor_interrupt_opaque = opaque;
    return true;
}

void monitor_release_interrupt(void *opaque)
{
    if (monitor_interrupt_opaque == opaque) {
        monitor_interrupt_fn = NULL;
        monitor_interrupt_opaque = NULL;
    }
}

bool monitor_interrupt(void)
{
    if (!monitor_interrupt_fn) {
        return false;
    }
    monitor_interrupt_fn(monitor_interrupt_opaque);
    return true;
}

/* Write what we can without blocking; true when outbuf is empty. */
static bool monitor_flush_some(Monitor *mon)
{
    while (mon->outbuf->len > 0) {
        ssize_t n;

        if (mon->ioc) {
            n = qio_channel_write(mon->ioc, mon->outbuf->str, mon->outbuf->len,
                                  NULL);
            if (n == QIO_CHANNEL_ERR_BLOCK) {
                return false;
            }
            if (n < 0) {
                /* Peer gone: drop the output; the input side sees EOF. */
                g_string_truncate(mon->outbuf, 0);
                return true;
            }
            g_string_erase(mon->outbuf, 0, n);
            continue;
        }
        n = write(mon->fd_out, mon->outbuf->str, mon->outbuf->len);
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            if (errno == EAGAIN || errno == EWOULDBLOCK) {
                return false;
            }
            /* Peer gone: drop the output; input side sees EOF/error. */
            g_string_truncate(mon->outbuf, 0);
            return true;
        }
        g_string_erase(mon->outbuf, 0, n);
    }
    return true;
}

static gboolean monitor_out_ready(Monitor *mon)
{
    if (mon->dead || monitor_flush_some(mon)) {
        mon->out_watch = 0;
        return G_SOURCE_REMOVE;
    }
    return G_SOURCE_CONTINUE;
}

static gboolean monitor_out_ready_fd(gint fd, GIOCondition cond,
                                     gpointer opaque)
{
    return monitor_out_ready(opaque);
}

static gboolean monitor_out_ready_ioc(QIOChannel *ioc, GIOCondition cond,
                                      gpointer opaque)
{
    return monitor_out_ready(opaque);
}

/* Has mon somewhere to write to? */
static bool monitor_has_output(Monitor *mon)
{
    return mon->ioc || mon->fd_out >= 0;
}

static void monitor_disconnect_bh(void *opaque)
{
    Monitor *mon = opaque;

    monitor_disconnect(mon);
    monitor_unref(mon);
}

void monitor_write(Monitor *mon, const char *buf, size_t len)
{
    if (mon->capture) {
        g_string_append_len(mon->capture, buf, len);
        return;
    }
    if (mon->dead || !monitor_has_output(mon) || mon->fd_out_full) {
        return;
    }
    if (mon->outbuf->len + len > MONITOR_OUTBUF_MAX) {
        /* A client that never reads must not eat our memory. */
        warn_report("monitor: client not reading its output, "
                    "disconnecting");
        g_string_truncate(mon->outbuf, 0);
        mon->fd_out_full = true;
        main_loop_schedule(monitor_disconnect_bh, monitor_ref(mon));
        return;
    }
    g_string_append_len(mon->outbuf, buf, len);
    if (mon->out_watch) {
        return;
    }
    if (monitor_flush_some(mon)) {
        return;
    }
    if (mon->ioc) {
        mon->out_watch = qio_channel_add_watch(
            mon->ioc, G_IO_OUT, monitor_out_ready_ioc, mon, NULL);
    } else {
        mon->out_watch =
            g_unix_fd_add(mon->fd_out, G_IO_OUT, monitor_out_ready_fd, mon);
    }
}

void monitor_printf(Monitor *mon, const char *fmt, ...)
{
    va_list ap;
    g_autofree char *text = NULL;
    GString *out;

    if (!mon) {
        return;
    }
    va_start(ap, fmt);
    text = g_strdup_vprintf(fmt, ap);
    va_end(ap);

    /* HMP output lines end "\r\n", as QEMU's monitor writes them. */
    out = g_string_sized_new(strlen(text) + 16);
    for (const char *p = text; *p; p++) {
        if (*p == '\n' && (p == text || p[-1] != '\r')) {
            g_string_append_c(out, '\r');
        }
        g_string_append_c(out, *p);
    }
    monitor_write(mon, out->str, out->len);
    g_string_free(out, TRUE);
}

void hmp_handle_error(Monitor *mon, Error *err)
{
    if (err) {
        monitor_printf(mon, "Error: %s\n", error_get_pretty(err));
        error_free(err);
    }
}

void monitor_flush_all_blocking(void)
{
    for (GList *l = monitors; l; l = l->next) {
        Monitor *mon = l->data;

        if (mon->dead || !monitor_has_output(mon) || !mon->outbuf->len) {
            continue;
        }
        if (mon->ioc) {
            qio_channel_set_blocking(mon->ioc, true, NULL);
        }
        monitor_flush_some(mon);
    }
}

/* --- fds --- */

int monitor_take_recv_fd(Monitor *mon)
{
    if (g_queue_is_empty(&mon->recv_fds)) {
        return -1;
    }
    return GPOINTER_TO_INT(g_queue_pop_head(&mon->recv_fds));
}

void monitor_drop_recv_fds(Monitor *mon)
{
    int fd;

    while ((fd = monitor_take_recv_fd(mon)) >= 0) {
        close(fd);
    }
}

void monitor_add_fd(Monitor *mon, const char *name, int fd)
{
    gpointer old;

    if (g_hash_table_lookup_extended(mon->fds, name, NULL, &old)) {
        close(GPOINTER_TO_INT(old));
    }
    g_hash_table_replace(mon->fds, g_strdup(name), GINT_TO_POINTER(fd));
}

bool monitor_close_fd(Monitor *mon, const char *name)
{
    gpointer old;

    if (!g_hash_table_lookup_extended(mon->fds, name, NULL, &old)) {
        return false;
    }
    close(GPOINTER_TO_INT(old));
    g_hash_table_remove(mon->fds, name);
    return true;
}

/* Take name out of mon's table; -1 if absent. */
static int monitor_steal_fd(Monitor *mon, const char *name)
{
    gpointer val;

    if (!mon || !g_hash_table_lookup_extended(mon->fds, name, NULL, &val)) {
        return -1;
    }
    g_hash_table_remove(mon->fds, name);
    return GPOINTER_TO_INT(val);
}

/*
 * Is fd one of the monitors' own descriptors (a listening socket, a
 * connection, stdio)?  Handing it to a command would destroy a monitor.
 */
static bool monitor_fd_is_own(int fd)
{
    for (GList *l = listeners; l; l = l->next) {
        MonitorListener *ml = l->data;

        if (ml->sioc && ml->sioc->fd == fd) {
            return true;
        }
    }
    for (GList *l = monitors; l; l = l->next) {
        Monitor *mon = l->data;

        if (mon->fd_in == fd || mon->fd_out == fd ||
            (mon->ioc && QIO_CHANNEL_SOCKET(mon->ioc)->fd == fd)) {
            return true;
        }
    }
    return false;
}

int monitor_fd_param(const char *name, Error **errp)
{
    int fd;

    if (!name || !*name) {
        error_setg(errp, "File descriptor named '' has not been found");
        return -1;
    }
    if (g_ascii_isdigit(name[0])) {
        char *end;
        long v;

        errno = 0;
        v = strtol(name, &end, 10);
        if (errno || *end || v < 0 || v > INT_MAX) {
            error_setg(errp, "Invalid file descriptor number '%s'", name);
            return -1;
        }
        if (monitor_fd_is_own(v)) {
            error_setg(errp, "File descriptor %ld belongs to a monitor", v);
            return -1;
        }
        return (int)v;
    }
    /* The current monitor first, then any other (e.g. -incoming fd:). */
    fd = monitor_steal_fd(cur_mon, name);
    for (GList *l = monitors; fd < 0 && l; l = l->next) {
        fd = monitor_steal_fd(l->data, name);
    }
    if (fd < 0) {
        error_setg(errp, "File descriptor named '%s' has not been found", name);
    }
    return fd;
}

/* --- connections --- */

void monitor_disconnect(Monitor *mon)
{
    if (mon->dead) {
        return;
    }
    mon->dead = true;
    if (mon->in_watch) {
        g_source_remove(mon->in_watch);
        mon->in_watch = 0;
    }
    if (mon->out_watch) {
        g_source_remove(mon->out_watch);
        mon->out_watch = 0;
    }
    if (mon->ioc) {
        qio_channel_close(mon->ioc, NULL);
        qio_channel_unref(mon->ioc);
        mon->ioc = NULL;
    }
    /* stdio stays open: others (the serial port, logs) may use it. */
    mon->fd_in = mon->fd_out = -1;
    monitors = g_list_remove(monitors, mon);
    monitor_unref(mon); /* the list's reference */
}

/* Read once and feed the protocol; false on EOF or a hard error. */
static bool monitor_read_some(Monitor *mon)
{
    char buf[MONITOR_READ_CHUNK];
    ssize_t n;

    if (mon->ioc) {
        struct iovec iov = {.iov_base = buf, .iov_len = sizeof(buf)};
        bool fd_pass =
            qio_channel_has_feature(mon->ioc, QIO_CHANNEL_FEATURE_FD_PASS);
        int *fds = NULL;
        size_t nfds = 0;

        n = qio_channel_readv_full(mon->ioc, &iov, 1, fd_pass ? &fds : NULL,
                                   fd_pass ? &nfds : NULL, 0, NULL);
        for (size_t i = 0; i < nfds; i++) {
            if (g_queue_get_length(&mon->recv_fds) >= MONITOR_RECV_FDS_MAX) {
                /* unclaimed fds must not exhaust our descriptor table */
                close(fds[i]);
                continue;
            }
            g_queue_push_tail(&mon->recv_fds, GINT_TO_POINTER(fds[i]));
        }
        g_free(fds);
        if (n == QIO_CHANNEL_ERR_BLOCK) {
            return true;
        }
    } else {
        do {
            n = read(mon->fd_in, buf, sizeof(buf));
        } while (n < 0 && errno == EINTR);
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            return true;
        }
    }
    if (n <= 0) {
        return false;
    }
    if (mon->is_qmp) {
        monitor_qmp_input(mon, buf, n);
    } else {
        monitor_hmp_input(mon, buf, n);
    }
    return true;
}

static gboolean monitor_in_ready(Monitor *mon)
{
    bool alive;

    monitor_ref(mon);
    alive = monitor_read_some(mon) && !mon->dead;
    if (!alive) {
        mon->in_watch = 0;
        if (!(mon->is_stdio && !mon->is_qmp)) {
            monitor_disconnect(mon);
        }
        /* HMP on a closed stdin: stop reading but keep running (QEMU). */
        monitor_unref(mon);
        return G_SOURCE_REMOVE;
    }
    if (mon->in_watch == 0) {
        /* Suspended (HMP) while handling this input. */
        monitor_unref(mon);
        return G_SOURCE_REMOVE;
    }
    monitor_unref(mon);
    return G_SOURCE_CONTINUE;
}

static gboolean monitor_in_ready_fd(gint fd, GIOCondition cond, gpointer opaque)
{
    return monitor_in_ready(opaque);
}

static gboolean monitor_in_ready_ioc(QIOChannel *ioc, GIOCondition cond,
                                     gpointer opaque)
{
    return monitor_in_ready(opaque);
}

void monitor_watch_input(Monitor *mon)
{
    GIOCondition cond = G_IO_IN | G_IO_HUP | G_IO_ERR;

    if (mon->dead || mon->in_watch) {
        return;
    }
    if (mon->ioc) {
        mon->in_watch = qio_channel_add_watch(mon->ioc, cond,
                                              monitor_in_ready_ioc, mon, NULL);
    } else if (mon->fd_in >= 0) {
        mon->in_watch =
            g_unix_fd_add(mon->fd_in, cond, monitor_in_ready_fd, mon);
    }
}

void monitor_unwatch_input(Monitor *mon)
{
    if (mon->in_watch) {
        g_source_remove(mon->in_watch);
        mon->in_watch = 0;
    }
}

/* Put mon in the list, greet the client, watch its input. */
static Monitor *monitor_start(Monitor *mon)
{
    monitors = g_list_append(monitors, mon);
    if (mon->is_qmp) {
        monitor_qmp_greet(mon);
    } else {
        monitor_hmp_greet(mon);
    }
    monitor_watch_input(mon);
    return mon;
}

/* Serve a connected socket channel (reference taken over). */
static Monitor *monitor_new_channel(bool is_qmp, QIOChannelSocket *sioc)
{
    Monitor *mon = monitor_new(is_qmp);

    mon->ioc = QIO_CHANNEL(sioc);
    qio_channel_set_blocking(mon->ioc, false, NULL);
    qio_channel_set_name(mon->ioc, is_qmp ? "monitor-qmp" : "monitor-hmp");
    return monitor_start(mon);
}

Monitor *monitor_new_socket(bool is_qmp, int fd)
{
    Error *err = NULL;
    QIOChannelSocket *sioc = qio_channel_socket_new_fd(fd, &err);

    if (!sioc) {
        warn_report("monitor: %s", error_get_pretty(err));
        error_free(err);
        close(fd);
        return NULL;
    }
    return monitor_new_channel(is_qmp, sioc);
}

static void monitor_accept_one(MonitorListener *l)
{
    QIOChannelSocket *sioc = qio_channel_socket_accept(l->sioc, NULL);

    if (sioc) {
        monitor_new_channel(l->is_qmp, sioc);
    }
}

static gboolean monitor_listener_ready(QIOChannel *ioc, GIOCondition cond,
                                       gpointer opaque)
{
    monitor_accept_one(opaque);
    return G_SOURCE_CONTINUE;
}

/*
 * fd:N: a socket the caller (libvirt) already bound and made listen,
 * inherited as fd N.  A new channel on it, or NULL with errp set.
 */
static QIOChannelSocket *monitor_listener_from_fd(const char *str, Error **errp)
{
    int fd = -1, listening = 0;
    socklen_t len = sizeof(listening);
    QIOChannelSocket *sioc;

    if (qemu_strtoi(str, NULL, 10, &fd) < 0 || fd < 0) {
        error_setg(errp, "'%s' is not a file descriptor number", str);
        return NULL;
    }
    if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &len) < 0 ||
        !listening) {
        error_setg(errp, "fd %d is not a listening socket", fd);
        return NULL;
    }
    sioc = qio_channel_socket_new_fd(fd, errp);
    if (sioc) {
        fcntl(fd, F_SETFD, FD_CLOEXEC);
    }
    return sioc;
}

/*
 * Parse "unix:PATH[,opts]", "tcp:HOST:PORT[,opts]", "fd:N[,opts]",
 * "stdio" and start the monitor.  opts: server[=on|off], wait=on|off,
 * nowait; ipv4/ipv6 are passed to the address parser.
 */
static bool monitor_init_spec(const char *spec, bool is_qmp, Error **errp)
{
    g_auto(GStrv) parts = NULL;
    g_autoptr(GString) addr_str = NULL;
    bool server = false, wait = true;
    SocketAddress *addr;
    MonitorListener *l;
    QIOChannelSocket *sioc;

    if (!strcmp(spec, "stdio")) {
        Monitor *mon;

        for (GList *m = monitors; m; m = m->next) {
            if (((Monitor *)m->data)->is_stdio) {
                error_setg(errp, "stdio is already in use by a monitor");
                return false;
            }
        }
        mon = monitor_new(is_qmp);
        mon->fd_in = STDIN_FILENO;
        mon->fd_out = STDOUT_FILENO;
        mon->is_stdio = true;
        mon->tty = isatty(STDOUT_FILENO) == 1;
        monitor_start(mon);
        return true;
    }
    parts = g_strsplit(spec, ",", -1);
    if (g_str_has_prefix(parts[0], "fd:")) {
        addr_str = NULL;
    } else if (g_str_has_prefix(parts[0], "unix:")) {
        if (!parts[0][5]) {
            error_setg(errp, "UNIX socket path is missing");
            return false;
        }
        addr_str = g_string_new(parts[0]);
    } else if (g_str_has_prefix(parts[0], "tcp:")) {
        addr_str = g_string_new(parts[0] + 4);
    } else {
        error_setg(errp,
                   "'%s' is not a valid monitor backend "
                   "(use stdio, unix:PATH,server=on or "
                   "tcp:HOST:PORT,server=on)",
                   parts[0]);
        return false;
    }
    for (int i = 1; parts[i]; i++) {
        const char *o = parts[i];

        if (!strcmp(o, "server") || !strcmp(o, "server=on")) {
            server = true;
        } else if (!strcmp(o, "server=off")) {
            server = false;
        } else if (!strcmp(o, "nowait") || !strcmp(o, "wait=off")) {
            wait = false;
        } else if (!strcmp(o, "wait") || !strcmp(o, "wait=on")) {
            wait = true;
        } else if (addr_str && (g_str_has_prefix(o, "ipv4") ||
                                g_str_has_prefix(o, "ipv6"))) {
            g_string_append_printf(addr_str, ",%s", o);
        } else {
            error_setg(errp, "Invalid parameter '%s'", o);
            return false;
        }
    }
    if (!server) {
        error_setg(errp, "client sockets are not supported: add server=on");
        return false;
    }
    if (!addr_str) {
        sioc = monitor_listener_from_fd(parts[0] + 3, errp);
        if (!sioc) {
            return false;
        }
    } else {
        addr = socket_parse(addr_str->str, errp);
        if (!addr) {
            return false;
        }
        sioc = qio_channel_socket_new();
        if (qio_channel_socket_listen_sync(sioc, addr, 8, errp) < 0) {
            socket_address_free(addr);
            qio_channel_unref(QIO_CHANNEL(sioc));
            return false;
        }
        socket_address_free(addr);
    }
    l = g_new0(MonitorListener, 1);
    l->sioc = sioc;
    l->is_qmp = is_qmp;
    listeners = g_list_append(listeners, l);
    if (wait) {
        info_report("waiting for connection on: %s", spec);
        qio_channel_set_blocking(QIO_CHANNEL(sioc), true, NULL);
        monitor_accept_one(l);
    }
    qio_channel_set_blocking(QIO_CHANNEL(sioc), false, NULL);
    l->watch = qio_channel_add_watch(QIO_CHANNEL(sioc), G_IO_IN,
                                     monitor_listener_ready, l, NULL);
    return true;
}

bool monitor_init_qmp(const char *spec, Error **errp)
{
    return monitor_init_spec(spec, true, errp);
}

bool monitor_init_hmp(const char *spec, Error **errp)
{
    return monitor_init_spec(spec, false, errp);
}

void monitor_cleanup(void)
{
    monitor_flush_all_blocking();
    for (GList *l = listeners; l; l = l->next) {
        MonitorListener *ml = l->data;

        if (ml->watch) {
            g_source_remove(ml->watch);
        }
        /* Closing a unix listener removes its socket file. */
        qio_channel_close(QIO_CHANNEL(ml->sioc), NULL);
        qio_channel_unref(QIO_CHANNEL(ml->sioc));
        g_free(ml);
    }
    g_list_free(listeners);
    listeners = NULL;
}

/*
 * Run line on a temporary HMP monitor and return what it printed (for
 * QMP human-monitor-command and tests).
 */
char *hmp_run_command_line(const char *line)
{
    Monitor *mon = monitor_new(false);
    Monitor *old;
    char *out;

    mon->capture = g_string_new(NULL);
    mon->parent = monitor_cur();
    old = monitor_set_cur(mon);
    hmp_handle_command(mon, line);
    monitor_set_cur(old);
    out = g_string_free(mon->capture, FALSE);
    mon->capture = NULL;
    monitor_unref(mon);
    return out;
}
