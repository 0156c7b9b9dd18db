/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * qtest.c: the -qtest protocol subset (see sysemu/qtest.h).
 *
 * Line-based, one command per line, words separated by spaces; numbers
 * in C syntax (0x hex, 0 octal, decimal).  Replies, as QEMU's qtest:
 *
 *   writeb|writew|writel|writeq ADDR VALUE   OK
 *   readb|readw|readl|readq ADDR             OK 0x%016x (the value)
 *   read ADDR SIZE                           OK 0x<2 hex digits per byte>
 *   write ADDR SIZE 0xDATA                   OK  (missing digits: zeros)
 *   memset ADDR SIZE VALUE                   OK
 *   anything else                            FAIL Unknown command 'X'
 *
 * Values are little-endian in memory (x86 guests).  Addresses are
 * guest-physical and must fall inside one RAM block (Tern has no other
 * memory to reach): outside, or a malformed line, the reply is "FAIL"
 * and a reason (QEMU would assert or ignore the access).  Writes go
 * through ram_gpa_write(), so a running migration sends the pages again.
 *
 * Threads: everything runs on the main loop, with the BQL.
 */
#include "qemu/osdep.h"
#include <glib-unix.h>
#include <sys/socket.h>
#include <sys/un.h>
#include "qemu/error-report.h"
#include "sysemu/qtest.h"
#include "sysemu/ramblock.h"

/* Longest command line accepted (a 64 KiB write and change). */
#define QTEST_LINE_MAX (132 * 1024)
/* Largest read/write/memset size. */
#define QTEST_SIZE_MAX (64 * 1024)

typedef struct QTestState {
    int listen_fd; /* server=on, until a client connects; else -1 */
    int fd;        /* the connection, or -1 */
    GString *in;   /* bytes received, not yet a whole line */
} QTestState;

static QTestState qtest = {.listen_fd = -1, .fd = -1};

static void qtest_send(const char *s, size_t len)
{
    while (len) {
        ssize_t n = write(qtest.fd, s, len);

        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            return; /* the peer went away; the read side notices */
        }
        s += n;
        len -= n;
    }
}

static void G_GNUC_PRINTF(1, 2) qtest_sendf(const char *fmt, ...)
{
    g_autofree char *s = NULL;
    va_list ap;

    va_start(ap, fmt);
    s = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    qtest_send(s, strlen(s));
}

static bool qtest_u64(const char *s, uint64_t *v)
{
    char *end;

    if (!s || !*s || *s == '-') {
        return false;
    }
    errno = 0;
    *v = g_ascii_strtoull(s, &end, 0);
    return !errno && !*end;
}

/* writeX ADDR VALUE (size bytes, little-endian). */
static void qtest_cmd_write_n(char **w, unsigned size)
{
    uint64_t addr, val;
    uint8_t b[8];

    if (!qtest_u64(w[1], &addr) || !qtest_u64(w[2], &val)) {
        qtest_sendf("FAIL bad arguments\n");
        return;
    }
    for (unsigned i = 0; i < size; i++) {
        b[i] = val >> (8 * i);
    }
    qtest_sendf(ram_gpa_write(addr, b, size) ? "OK\n"
                                             : "FAIL address not in RAM\n");
}

/* readX ADDR */
static void qtest_cmd_read_n(char **w, unsigned size)
{
    uint64_t addr, val = 0;
    uint8_t b[8];

    if (!qtest_u64(w[1], &addr)) {
        qtest_sendf("FAIL bad arguments\n");
        return;
    }
    if (!ram_gpa_read(addr, b, size)) {
        qtest_sendf("FAIL address not in RAM\n");
        return;
    }
    for (unsigned i = 0; i < size; i++) {
        val |= (uint64_t)b[i] << (8 * i);
    }
    qtest_sendf("OK 0x%016" PRIx64 "\n", val);
}

/* ADDR SIZE of read/write/memset into *addr, *size; false if bad. */
static bool qtest_range(char **w, uint64_t *addr, uint64_t *size)
{
    return qtest_u64(w[1], addr) && qtest_u64(w[2], size) &&
           *size <= QTEST_SIZE_MAX;
}

static void qtest_cmd_read(char **w)
{
    static const char hex[] = "0123456789abcdef";
    g_autofree uint8_t *data = NULL;
    g_autofree char *out = NULL;
    uint64_t addr, size;

    if (!qtest_range(w, &addr, &size)) {
        qtest_sendf("FAIL bad arguments\n");
        return;
    }
    data = g_malloc(size + 1);
    if (!ram_gpa_read(addr, data, size)) {
        qtest_sendf("FAIL address not in RAM\n");
        return;
    }
    out = g_malloc(2 * size + 7);
    memcpy(out, "OK 0x", 5);
    for (uint64_t i = 0; i < size; i++) {
        out[5 + 2 * i] = hex[data[i] >> 4];
        out[6 + 2 * i] = hex[data[i] & 15];
    }
    out[5 + 2 * size] = '\n';
    qtest_send(out, 2 * size + 6);
}

static int qtest_hex_digit(char c)
{
    return g_ascii_isxdigit(c) ? g_ascii_xdigit_value(c) : -1;
}

/* write ADDR SIZE 0xDATA: digit pairs; bytes past the data are zero. */
static void qtest_cmd_write(char **w)
{
    g_autofree uint8_t *data = NULL;
    uint64_t addr, size;
    const char *hex = w[3];
    size_t ndigits;

    if (!qtest_range(w, &addr, &size) || !hex ||
        (hex[0] != '0' || (hex[1] != 'x' && hex[1] != 'X'))) {
        qtest_sendf("FAIL bad arguments\n");
        return;
    }
    hex += 2;
    ndigits = strlen(hex);
    data = g_malloc0(size + 1);
    for (uint64_t i = 0; i < size && 2 * i + 1 < ndigits; i++) {
        int hi = qtest_hex_digit(hex[2 * i]),
            lo = qtest_hex_digit(hex[2 * i + 1]);

        if (hi < 0 || lo < 0) {
            qtest_sendf("FAIL bad hex data\n");
            return;
        }
        data[i] = hi << 4 | lo;
    }
    qtest_sendf(ram_gpa_write(addr, data, size) ? "OK\n"
                                                : "FAIL address not in RAM\n");
}

static void qtest_cmd_memset(char **w)
{
    g_autofree uint8_t *data = NULL;
    uint64_t addr, size, val;

    if (!qtest_range(w, &addr, &size) || !qtest_u64(w[3], &val) || val > 0xff) {
        qtest_sendf("FAIL bad arguments\n");
        return;
    }
    data = g_malloc(size + 1);
    memset(data, val, size);
    qtest_sendf(ram_gpa_write(addr, data, size) ? "OK\n"
                                                : "FAIL address not in RAM\n");
}

/* Word count of w (a NULL-terminated vector). */
static unsigned qtest_nwords(char **w)
{
    unsigned n = 0;

    while (w[n]) {
        n++;
    }
    return n;
}

static void qtest_process_line(char *line)
{
    static const char *const sizes = "bwlq";
    g_auto(GStrv) w = NULL;
    unsigned n;

    g_strstrip(line);
    w = g_strsplit_set(line, " ", -1);
    n = qtest_nwords(w);
    if (!n || !*w[0]) {
        return; /* empty line */
    }
    if ((g_str_has_prefix(w[0], "write") || g_str_has_prefix(w[0], "read")) &&
        strlen(w[0]) == (w[0][0] == 'w' ? 6 : 5) &&
        strchr(sizes, w[0][strlen(w[0]) - 1])) {
        unsigned size = 1u << (strchr(sizes, w[0][strlen(w[0]) - 1]) - sizes);

        if (n != (w[0][0] == 'w' ? 3u : 2u)) {
            qtest_sendf("FAIL bad arguments\n");
        } else if (w[0][0] == 'w') {
            qtest_cmd_write_n(w, size);
        } else {
            qtest_cmd_read_n(w, size);
        }
    } else if (!strcmp(w[0], "read") && n == 3) {
        qtest_cmd_read(w);
    } else if (!strcmp(w[0], "write") && n == 4) {
        qtest_cmd_write(w);
    } else if (!strcmp(w[0], "memset") && n == 4) {
        qtest_cmd_memset(w);
    } else {
        qtest_sendf("FAIL Unknown command '%s'\n", w[0]);
    }
}

static void qtest_close(void)
{
    if (qtest.fd >= 0) {
        close(qtest.fd);
        qtest.fd = -1;
    }
    g_string_truncate(qtest.in, 0);
}

static gboolean qtest_readable(gint fd, GIOCondition cond, gpointer opaque)
{
    char buf[4096];
    ssize_t n = read(fd, buf, sizeof(buf));
    char *nl;

    if (n < 0 && (errno == EINTR || errno == EAGAIN)) {
        return G_SOURCE_CONTINUE;
    }
    if (n <= 0) {
        qtest_close();
        return G_SOURCE_REMOVE;
    }
    g_string_append_len(qtest.in, buf, n);
    while ((nl = memchr(qtest.in->str, '\n', qtest.in->len))) {
        size_t len = nl - qtest.in->str;
        g_autofree char *line = g_strndup(qtest.in->str, len);

        g_string_erase(qtest.in, 0, len + 1);
        qtest_process_line(line);
    }
    if (qtest.in->len > QTEST_LINE_MAX) {
        qtest_sendf("FAIL line too long\n");
        qtest_close();
        return G_SOURCE_REMOVE;
    }
    return G_SOURCE_CONTINUE;
}

static void qtest_serve(int fd)
{
    qtest.fd = fd;
    g_unix_fd_add(fd, G_IO_IN | G_IO_HUP | G_IO_ERR, qtest_readable, NULL);
}

static gboolean qtest_accept(gint fd, GIOCondition cond, gpointer opaque)
{
    int c = accept4(fd, NULL, NULL, SOCK_CLOEXEC);

    if (c < 0) {
        return errno == EINTR || errno == EAGAIN ? G_SOURCE_CONTINUE
                                                 : G_SOURCE_REMOVE;
    }
    close(fd);
    qtest.listen_fd = -1;
    qtest_serve(c);
    return G_SOURCE_REMOVE;
}

/* Parse "unix:PATH[,server=on|off][,wait=on|off]". */
static bool qtest_parse(const char *spec, struct sockaddr_un *sa, bool *server,
                        bool *wait, Error **errp)
{
    g_auto(GStrv) parts = NULL;

    if (!g_str_has_prefix(spec, "unix:")) {
        error_setg(errp, "qtest: only unix:PATH is supported, not '%s'", spec);
        return false;
    }
    parts = g_strsplit(spec + 5, ",", -1);
    if (!parts[0] || !*parts[0] || strlen(parts[0]) >= sizeof(sa->sun_path)) {
        error_setg(errp, "qtest: bad socket path in '%s'", spec);
        return false;
    }
    memset(sa, 0, sizeof(*sa));
    sa->sun_family = AF_UNIX;
    strcpy(sa->sun_path, parts[0]);
    *server = false;
    *wait = true;
    for (int i = 1; parts[i]; i++) {
        if (!strcmp(parts[i], "server=on") || !strcmp(parts[i], "server")) {
            *server = true;
        } else if (!strcmp(parts[i], "server=off")) {
            *server = false;
        } else if (!strcmp(parts[i], "wait=off") ||
                   !strcmp(parts[i], "nowait")) {
            *wait = false;
        } else if (!strcmp(parts[i], "wait=on")) {
            *wait = true;
        } else {
            error_setg(errp, "qtest: unknown option '%s'", parts[i]);
            return false;
        }
    }
    return true;
}

bool qtest_init(const char *spec, Error **errp)
{
    struct sockaddr_un sa;
    bool server, wait;
    int fd;

    if (!qtest_parse(spec, &sa, &server, &wait, errp)) {
        return false;
    }
    qtest.in = g_string_new(NULL);
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        error_setg_errno(errp, errno, "qtest: socket");
        return false;
    }
    if (!server) {
        if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
            error_setg_errno(errp, errno, "qtest: cannot connect to %s",
                             sa.sun_path);
            close(fd);
            return false;
        }
        qtest_serve(fd);
        return true;
    }
    unlink(sa.sun_path);
    if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 1) < 0) {
        error_setg_errno(errp, errno, "qtest: cannot listen on %s",
                         sa.sun_path);
        close(fd);
        return false;
    }
    if (wait) {
        int c = accept4(fd, NULL, NULL, SOCK_CLOEXEC);

        close(fd);
        if (c < 0) {
            error_setg_errno(errp, errno, "qtest: accept");
            return false;
        }
        qtest_serve(c);
        return true;
    }
    qtest.listen_fd = fd;
    g_unix_fd_add(fd, G_IO_IN, qtest_accept, NULL);
    return true;
}
