/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * multifd-floor.c: the machine's floor for the multifd-tcp-none bench
 * case.  The same bytes move the same way with nothing else: no zero
 * check, no protocol, no page tracking.
 *
 * A sender process maps the source RAM file as the bench's source VMMs
 * do (MAP_SHARED of a tmpfs file, mapped fresh in each run) and its
 * threads writev it over loopback TCP connections in packets of 512 KiB
 * (128 pages) behind a 16-byte header, each 2 MiB region on one
 * connection (region i on connection i % N, as Tern's sender does).  A
 * receiver process maps fresh anonymous memory as the destination VMMs
 * map guest RAM (MAP_PRIVATE | MAP_NORESERVE, MADV_HUGEPAGE) and its
 * threads read each header and then readv the payload straight into
 * that memory.  The kernel's work is then all there is: the first touch
 * (zeroing fresh huge pages), a copy into each socket and a copy out.
 *
 *   multifd-floor [--channels N] [--verify] [--prefault] [--wait] FILE SIZE_MIB
 *     FILE   the source RAM (at least SIZE_MIB MiB)
 *     --verify  compare the destination with FILE afterwards (not timed)
 *     --prefault  populate the destination before timing (what is left
 *               without the first touch)
 *     --wait    once both processes are set up, print "ready PID" (the
 *               receiver's) and wait for a line on stdin before sending
 *               (tests/bench/run.py starts its first-touch hand-over
 *               there, as it does at a VMM's migrate command)
 *
 * Prints one JSON line: wall_s (the sender's first connect to the
 * receiver's last byte), gibs, and CPU seconds of each process from
 * before its first socket call to its last byte (src_cpu_s, dst_cpu_s).
 */
#include "qemu/osdep.h"
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/wait.h>

#define FLOOR_PACKET (512 * 1024)
#define FLOOR_REGION (2 * 1024 * 1024)
#define FLOOR_MAX_CHANNELS 16
#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif

/* The header in front of each packet: where its payload goes. */
typedef struct FloorHeader {
    uint64_t offset;
    uint32_t len;
    uint32_t magic;
} FloorHeader;

#define FLOOR_MAGIC 0x666c6f72U

typedef struct FloorChannel {
    int fd;
    int id;
    GThread *thread;
} FloorChannel;

static int opt_channels = 2;
static bool opt_verify, opt_wait, opt_prefault;
static uint8_t *floor_ram;
static uint64_t floor_size;

/* CLOCK_MONOTONIC in ns (one clock for both processes). */
static int64_t floor_now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * (int64_t)1000000000 + ts.tv_nsec;
}

/* utime + stime of the calling process, in seconds. */
static double floor_cpu_s(void)
{
    struct rusage ru;

    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + ru.ru_stime.tv_sec +
           ru.ru_stime.tv_usec / 1e6;
}

static void floor_die(const char *what)
{
    perror(what);
    exit(1);
}

/* readv/writev until every byte of iov[0..n) moved; false at EOF. */
static bool floor_iov_all(int fd, struct iovec *iov, int n, bool out)
{
    while (n) {
        ssize_t r = out ? writev(fd, iov, n) : readv(fd, iov, n);

        if (r < 0 && errno == EINTR) {
            continue;
        }
        if (r <= 0) {
            return false;
        }
        while (n && (size_t)r >= iov->iov_len) {
            r -= iov->iov_len;
            iov++;
            n--;
        }
        if (n) {
            iov->iov_base = (uint8_t *)iov->iov_base + r;
            iov->iov_len -= r;
        }
    }
    return true;
}

static gpointer floor_send_thread(gpointer opaque)
{
    FloorChannel *c = opaque;
    uint64_t region = (uint64_t)c->id * FLOOR_REGION;

    for (; region < floor_size;
         region += (uint64_t)opt_channels * FLOOR_REGION) {
        uint64_t end = MIN(region + FLOOR_REGION, floor_size);

        for (uint64_t off = region; off < end; off += FLOOR_PACKET) {
            FloorHeader h = {.offset = off,
                             .len = MIN(FLOOR_PACKET, end - off),
                             .magic = FLOOR_MAGIC};
            struct iovec iov[2] = {{&h, sizeof(h)}, {floor_ram + off, h.len}};

            if (!floor_iov_all(c->fd, iov, 2, true)) {
                floor_die("writev");
            }
        }
    }
    shutdown(c->fd, SHUT_WR);
    return NULL;
}

static gpointer floor_recv_thread(gpointer opaque)
{
    FloorChannel *c = opaque;

    for (;;) {
        FloorHeader h;
        struct iovec hv = {&h, sizeof(h)};
        struct iovec pv;

        if (!floor_iov_all(c->fd, &hv, 1, false)) {
            break; /* the sender is done */
        }
        if (h.magic != FLOOR_MAGIC || h.len > FLOOR_PACKET ||
            h.offset > floor_size - h.len) {
            fprintf(stderr, "multifd-floor: bad header\n");
            exit(1);
        }
        pv.iov_base = floor_ram + h.offset;
        pv.iov_len = h.len;
        if (!floor_iov_all(c->fd, &pv, 1, false)) {
            fprintf(stderr, "multifd-floor: short packet\n");
            exit(1);
        }
    }
    return NULL;
}

/* Run one thread per channel over fds[] and wait for them all. */
static void floor_run_threads(const int *fds, bool out)
{
    FloorChannel ch[FLOOR_MAX_CHANNELS];

    for (int i = 0; i < opt_channels; i++) {
        ch[i].fd = fds[i];
        ch[i].id = i;
        ch[i].thread =
            g_thread_new(out ? "floor/send" : "floor/recv",
                         out ? floor_send_thread : floor_recv_thread, &ch[i]);
    }
    for (int i = 0; i < opt_channels; i++) {
        g_thread_join(ch[i].thread);
    }
}

/* The receiver: fresh anonymous RAM, accept, read; report on out. */
static void floor_receiver(int lfd, int out, int ready, const char *file)
{
    int fds[FLOOR_MAX_CHANNELS];
    double cpu0;
    int64_t t1;
    char line[128];

    floor_ram = mmap(NULL, floor_size, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (floor_ram == MAP_FAILED) {
        floor_die("mmap");
    }
    (void)madvise(floor_ram, floor_size, MADV_HUGEPAGE);
    if (opt_prefault && madvise(floor_ram, floor_size, MADV_POPULATE_WRITE)) {
        floor_die("MADV_POPULATE_WRITE");
    }
    if (write(ready, "r", 1) != 1) {
        floor_die("write");
    }
    cpu0 = floor_cpu_s();
    for (int i = 0; i < opt_channels; i++) {
        int on = 1;

        fds[i] = accept(lfd, NULL, NULL);
        if (fds[i] < 0) {
            floor_die("accept");
        }
        setsockopt(fds[i], IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
    }
    floor_run_threads(fds, false);
    t1 = floor_now_ns();
    snprintf(line, sizeof(line), "%" PRId64 " %.3f\n", t1,
             floor_cpu_s() - cpu0);
    if (write(out, line, strlen(line)) < 0) {
        floor_die("write");
    }
    if (opt_verify) {
        int fd = open(file, O_RDONLY);
        uint8_t *src = mmap(NULL, floor_size, PROT_READ, MAP_SHARED, fd, 0);

        if (fd < 0 || src == MAP_FAILED || memcmp(src, floor_ram, floor_size)) {
            fprintf(stderr, "multifd-floor: destination differs\n");
            exit(1);
        }
    }
    exit(0);
}

/* The sender: map the file, connect, write; report on out. */
static void floor_sender(const char *file, int port, int out, int go)
{
    struct sockaddr_in sa = {.sin_family = AF_INET,
                             .sin_port = htons(port),
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    int fds[FLOOR_MAX_CHANNELS];
    int fd = open(file, O_RDWR);
    int64_t t0;
    double cpu0;
    char line[128];

    if (fd < 0) {
        floor_die(file);
    }
    floor_ram =
        mmap(NULL, floor_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (floor_ram == MAP_FAILED) {
        floor_die("mmap");
    }
    if (read(go, line, 1) != 1) {
        floor_die("read");
    }
    t0 = floor_now_ns();
    cpu0 = floor_cpu_s();
    for (int i = 0; i < opt_channels; i++) {
        int on = 1;

        fds[i] = socket(AF_INET, SOCK_STREAM, 0);
        if (fds[i] < 0 ||
            connect(fds[i], (struct sockaddr *)&sa, sizeof(sa)) < 0) {
            floor_die("connect");
        }
        setsockopt(fds[i], IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
    }
    floor_run_threads(fds, true);
    snprintf(line, sizeof(line), "%" PRId64 " %.3f\n", t0,
             floor_cpu_s() - cpu0);
    if (write(out, line, strlen(line)) < 0) {
        floor_die("write");
    }
    exit(0);
}

/* Read one "ns cpu" line a child wrote on fd. */
static void floor_read_report(int fd, int64_t *ns, double *cpu)
{
    char buf[128];
    ssize_t n = read(fd, buf, sizeof(buf) - 1);

    if (n <= 0 || sscanf((buf[n] = 0, buf), "%" SCNd64 " %lf", ns, cpu) != 2) {
        fprintf(stderr, "multifd-floor: a child failed\n");
        exit(1);
    }
}

/* A loopback listening socket; its port in *port. */
static int floor_listen(int *port)
{
    struct sockaddr_in sa = {.sin_family = AF_INET,
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(sa);
    int fd = socket(AF_INET, SOCK_STREAM, 0);

    if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
        listen(fd, FLOOR_MAX_CHANNELS) < 0 ||
        getsockname(fd, (struct sockaddr *)&sa, &len) < 0) {
        floor_die("listen");
    }
    *port = ntohs(sa.sin_port);
    return fd;
}

int main(int argc, char **argv)
{
    int rpipe[2], spipe[2], readyp[2], gop[2], lfd, port, st, fails = 0;
    char c;
    int64_t t0, t1;
    double src_cpu, dst_cpu;
    pid_t rpid, spid;

    while (argc > 1 && !strncmp(argv[1], "--", 2)) {
        if (!strcmp(argv[1], "--channels") && argc > 2) {
            opt_channels = atoi(argv[2]);
            argv++, argc--;
        } else if (!strcmp(argv[1], "--verify")) {
            opt_verify = true;
        } else if (!strcmp(argv[1], "--prefault")) {
            opt_prefault = true;
        } else if (!strcmp(argv[1], "--wait")) {
            opt_wait = true;
        } else {
            break;
        }
        argv++, argc--;
    }
    if (argc != 3 || opt_channels < 1 || opt_channels > FLOOR_MAX_CHANNELS) {
        fprintf(stderr, "usage: multifd-floor [--channels N] [--verify] "
                        "[--prefault] [--wait] FILE SIZE_MIB\n");
        return 2;
    }
    floor_size = (uint64_t)atoll(argv[2]) << 20;
    if (!floor_size || pipe(rpipe) < 0 || pipe(spipe) < 0 || pipe(readyp) < 0 ||
        pipe(gop) < 0) {
        floor_die("setup");
    }
    lfd = floor_listen(&port);
    rpid = fork();
    if (rpid == 0) {
        floor_receiver(lfd, rpipe[1], readyp[1], argv[1]);
    }
    close(lfd);
    spid = fork();
    if (spid == 0) {
        floor_sender(argv[1], port, spipe[1], gop[0]);
    }
    if (read(readyp[0], &c, 1) != 1) {
        floor_die("receiver");
    }
    if (opt_wait) {
        char line[16];

        printf("ready %d\n", (int)rpid);
        fflush(stdout);
        if (!fgets(line, sizeof(line), stdin)) {
            floor_die("stdin");
        }
    }
    if (write(gop[1], "g", 1) != 1) {
        floor_die("write");
    }
    floor_read_report(spipe[0], &t0, &src_cpu);
    floor_read_report(rpipe[0], &t1, &dst_cpu);
    for (int i = 0; i < 2; i++) {
        if (wait(&st) < 0 || !WIFEXITED(st) || WEXITSTATUS(st)) {
            fails++;
        }
    }
    if (fails) {
        fprintf(stderr, "multifd-floor: a child failed\n");
        return 1;
    }
    printf("{\"wall_s\": %.4f, \"gibs\": %.4f, \"src_cpu_s\": %.3f, "
           "\"dst_cpu_s\": %.3f, \"channels\": %d}\n",
           (t1 - t0) / 1e9, (double)floor_size / (1 << 30) / ((t1 - t0) / 1e9),
           src_cpu, dst_cpu, opt_channels);
    return 0;
}
