/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * wake-pingpong.c: the floor of one postcopy fault's two hops on this
 * machine.  Two processes bounce a message over loopback TCP
 * (TCP_NODELAY), each blocking in recv() between messages as the
 * return-path thread and the preempt reader do; the round trips are
 * spaced (200 us) so that every message wakes a sleeping process.
 * Prints the round trip's p50/p90/p99/p99.9/max in us as JSON.
 *
 *   wake-pingpong [--bytes N] [--reply-bytes N] [--rounds N] [--gap-us N]
 *                 [--fifo] [--cpu C] [--idle-poll] [--load-mibs R]
 *                 [--load-vcpu]
 *     --bytes        message size (32: a page request; 4120: a page
 *                    record); the reply is as long unless --reply-bytes
 *     --fifo         both processes SCHED_FIFO (the fault path's policy)
 *     --cpu          both processes held to CPU C (else free to move);
 *                    the fault path's policy (postcopy-cpu.c)
 *     --idle-poll    one more process per CPU (at most 2), held to it at
 *                    SCHED_IDLE, spinning throughout: the destination's
 *                    idle pollers while faults come (postcopy-idle-poll.c)
 *     --load-mibs    a bulk loopback TCP stream between two more
 *                    processes at R MiB/s, paced as Tern's rate limit
 *                    (a burst of R/10 MiB every 100 ms, 64 KiB writes);
 *                    the reader copies each 4 KiB page out (as the
 *                    placement does) at nice -10 (as the load thread)
 *     --load-vcpu    one more process, normal policy, busy all the time
 *                    writing random 4 KiB pages of 128 MiB at 16 MiB/s
 *                    (the stress guest's soft vCPU in the bench case)
 */
#include "qemu/osdep.h"
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sched.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>

#define PINGPONG_MAX_BYTES 65536
#define LOAD_PERIOD_NS 100000000 /* the rate limiter's period */
#define LOAD_WRITE 65536         /* bytes per bulk write */
#define LOAD_PAGE 4096
#define VCPU_RAM (128 << 20) /* the stress guest's range */
#define VCPU_MIBS 16         /* its write rate */

/* CLOCK_MONOTONIC in ns. */
static int64_t pingpong_now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * (int64_t)1000000000 + ts.tv_nsec;
}

static int opt_bytes = 32, opt_reply = -1, opt_rounds = 5000, opt_cpu = -1;
static int opt_gap_us = 200, opt_load_mibs;
static bool opt_fifo, opt_idle_poll, opt_load_vcpu;

#define PINGPONG_POLLERS 2 /* as POSTCOPY_IDLE_POLLERS */

/* Hold the calling process to cpu. */
static void pingpong_set_cpu(int cpu)
{
    cpu_set_t set;

    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    if (sched_setaffinity(0, sizeof(set), &set) < 0) {
        perror("sched_setaffinity");
        exit(1);
    }
}

/* Policy and CPU of the calling process, as the options ask. */
static void pingpong_sched(int prio)
{
    struct sched_param sp = {.sched_priority = prio};

    if (opt_cpu >= 0) {
        pingpong_set_cpu(opt_cpu);
    }
    if (opt_fifo && sched_setscheduler(0, SCHED_FIFO, &sp) < 0) {
        perror("SCHED_FIFO");
        exit(1);
    }
}

/* Read exactly n bytes; false at EOF. */
static bool pingpong_recv(int fd, char *buf, int n)
{
    int got = 0;

    while (got < n) {
        ssize_t r = recv(fd, buf + got, n - got, 0);

        if (r <= 0) {
            return false;
        }
        got += r;
    }
    return true;
}

/* Write all n bytes; false on error. */
static bool pingpong_send(int fd, const char *buf, int n)
{
    int put = 0;

    while (put < n) {
        ssize_t r = send(fd, buf + put, n - put, MSG_NOSIGNAL);

        if (r <= 0) {
            return false;
        }
        put += r;
    }
    return true;
}

static void pingpong_echo(int fd)
{
    static char buf[PINGPONG_MAX_BYTES];

    pingpong_sched(2);
    while (pingpong_recv(fd, buf, opt_bytes)) {
        if (!pingpong_send(fd, buf, opt_reply)) {
            break;
        }
    }
    exit(0);
}

static int pingpong_cmp(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

    return x < y ? -1 : x > y;
}

/* A connected loopback pair: *a and *b. */
static void pingpong_connect(int *a, int *b)
{
    struct sockaddr_in addr = {.sin_family = AF_INET,
                               .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(addr);
    int l = socket(AF_INET, SOCK_STREAM, 0), one = 1;

    if (l < 0 || bind(l, (struct sockaddr *)&addr, sizeof(addr)) < 0 ||
        listen(l, 1) < 0 ||
        getsockname(l, (struct sockaddr *)&addr, &len) < 0) {
        perror("listen");
        exit(1);
    }
    *a = socket(AF_INET, SOCK_STREAM, 0);
    if (*a < 0 || connect(*a, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
        perror("connect");
        exit(1);
    }
    *b = accept(l, NULL, NULL);
    if (*b < 0) {
        perror("accept");
        exit(1);
    }
    setsockopt(*a, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    setsockopt(*b, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    close(l);
}

/* The bulk's sender: a burst of rate/10 MiB each 100 ms, then sleep. */
static void load_send(int fd)
{
    static char buf[LOAD_WRITE];
    int64_t burst = (int64_t)opt_load_mibs * (1 << 20) / 10;
    int64_t next = pingpong_now_ns();

    memset(buf, 0x5a, sizeof(buf));
    for (;;) {
        struct timespec ts;

        for (int64_t sent = 0; sent < burst; sent += LOAD_WRITE) {
            if (!pingpong_send(fd, buf, LOAD_WRITE)) {
                exit(0);
            }
        }
        next += LOAD_PERIOD_NS;
        ts.tv_sec = next / 1000000000;
        ts.tv_nsec = next % 1000000000;
        clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
    }
}

/* The bulk's receiver: every page copied out, at nice -10. */
static void load_recv(int fd)
{
    static char buf[LOAD_WRITE];
    char *ram = g_malloc0(VCPU_RAM);
    size_t off = 0;

    setpriority(PRIO_PROCESS, 0, -10);
    while (pingpong_recv(fd, buf, LOAD_WRITE)) {
        for (int i = 0; i < LOAD_WRITE; i += LOAD_PAGE) {
            memcpy(ram + off, buf + i, LOAD_PAGE);
            off = (off + LOAD_PAGE) % VCPU_RAM;
        }
    }
    exit(0);
}

/* The "vCPU": always busy, writing random pages at VCPU_MIBS. */
static void load_vcpu(void)
{
    char *ram = g_malloc0(VCPU_RAM);
    int64_t t0 = pingpong_now_ns(), pages = 0;
    uint64_t x = 88172645463325252ull;

    for (;;) {
        int64_t due = (pingpong_now_ns() - t0) * VCPU_MIBS * 256 / 1000000000;

        while (pages < due) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            memset(ram + (x % (VCPU_RAM / LOAD_PAGE)) * LOAD_PAGE, (int)pages,
                   LOAD_PAGE);
            pages++;
        }
        __builtin_ia32_pause();
    }
}

/* Fork fn(fd) as a child process; its pid. */
static pid_t load_fork(void (*fn)(int), int fd, int close_fd)
{
    pid_t pid = fork();

    if (pid < 0) {
        perror("fork");
        exit(1);
    }
    if (pid == 0) {
        if (close_fd >= 0) {
            close(close_fd);
        }
        fn(fd);
        exit(0);
    }
    return pid;
}

static void load_vcpu_fn(int fd)
{
    load_vcpu();
}

/* --idle-poll: spin on CPU cpu at SCHED_IDLE (no PAUSE, as the pollers). */
static void idle_poll_fn(int cpu)
{
    struct sched_param sp = {0};
    volatile uint64_t spins = 0;

    pingpong_set_cpu(cpu);
    if (sched_setscheduler(0, SCHED_IDLE, &sp) < 0) {
        perror("SCHED_IDLE");
        exit(1);
    }
    for (;;) {
        spins++;
    }
}

#define LOAD_PROCS (3 + PINGPONG_POLLERS)

/* Start the load processes the options ask for (pids in pids[LOAD_PROCS]). */
static void load_start(pid_t *pids)
{
    cpu_set_t allowed;
    int a, b;

    for (int i = 0; i < LOAD_PROCS; i++) {
        pids[i] = -1;
    }
    if (opt_load_mibs > 0) {
        pingpong_connect(&a, &b);
        pids[0] = load_fork(load_send, a, b);
        pids[1] = load_fork(load_recv, b, a);
        close(a);
        close(b);
    }
    if (opt_load_vcpu) {
        pids[2] = load_fork(load_vcpu_fn, -1, -1);
    }
    if (opt_idle_poll && sched_getaffinity(0, sizeof(allowed), &allowed) == 0) {
        for (int cpu = 0, n = 0; cpu < CPU_SETSIZE && n < PINGPONG_POLLERS;
             cpu++) {
            if (CPU_ISSET(cpu, &allowed)) {
                pids[3 + n++] = load_fork(idle_poll_fn, cpu, -1);
            }
        }
    }
    usleep(300000); /* let the stream and the vCPU settle */
}

static void load_stop(pid_t *pids)
{
    for (int i = 0; i < LOAD_PROCS; i++) {
        if (pids[i] > 0) {
            kill(pids[i], SIGKILL);
            waitpid(pids[i], NULL, 0);
        }
    }
}

static void pingpong_usage(const char *argv0)
{
    fprintf(stderr,
            "usage: %s [--bytes N] [--reply-bytes N] [--rounds N] "
            "[--gap-us N] [--fifo] [--cpu C] [--idle-poll] [--load-mibs R] "
            "[--load-vcpu]\n",
            argv0);
    exit(2);
}

/* An option's integer value. */
static int pingpong_int_arg(int argc, char **argv, int *i)
{
    if (*i + 1 >= argc) {
        pingpong_usage(argv[0]);
    }
    return atoi(argv[++*i]);
}

static void pingpong_options(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--fifo")) {
            opt_fifo = true;
        } else if (!strcmp(argv[i], "--idle-poll")) {
            opt_idle_poll = true;
        } else if (!strcmp(argv[i], "--load-vcpu")) {
            opt_load_vcpu = true;
        } else if (!strcmp(argv[i], "--bytes")) {
            opt_bytes = pingpong_int_arg(argc, argv, &i);
        } else if (!strcmp(argv[i], "--reply-bytes")) {
            opt_reply = pingpong_int_arg(argc, argv, &i);
        } else if (!strcmp(argv[i], "--rounds")) {
            opt_rounds = pingpong_int_arg(argc, argv, &i);
        } else if (!strcmp(argv[i], "--gap-us")) {
            opt_gap_us = pingpong_int_arg(argc, argv, &i);
        } else if (!strcmp(argv[i], "--cpu")) {
            opt_cpu = pingpong_int_arg(argc, argv, &i);
        } else if (!strcmp(argv[i], "--load-mibs")) {
            opt_load_mibs = pingpong_int_arg(argc, argv, &i);
        } else {
            pingpong_usage(argv[0]);
        }
    }
    if (opt_reply < 0) {
        opt_reply = opt_bytes;
    }
    if (opt_bytes < 1 || opt_bytes > PINGPONG_MAX_BYTES || opt_reply < 1 ||
        opt_reply > PINGPONG_MAX_BYTES || opt_rounds < 1 || opt_gap_us < 0 ||
        opt_load_mibs < 0) {
        fprintf(stderr, "bad --bytes, --reply-bytes, --rounds, --gap-us or "
                        "--load-mibs\n");
        exit(2);
    }
}

/* One request and its reply; the round trip in ns. */
static int64_t pingpong_round(int fd)
{
    static char buf[PINGPONG_MAX_BYTES];
    int64_t t0 = pingpong_now_ns();

    if (!pingpong_send(fd, buf, opt_bytes) ||
        !pingpong_recv(fd, buf, opt_reply)) {
        perror("round trip");
        exit(1);
    }
    return pingpong_now_ns() - t0;
}

int main(int argc, char **argv)
{
    int64_t *rtt;
    int a, b, n;
    pid_t child, load[LOAD_PROCS];

    pingpong_options(argc, argv);
    n = opt_rounds;
    load_start(load);
    pingpong_connect(&a, &b);
    child = fork();
    if (child == 0) {
        close(a);
        pingpong_echo(b);
    }
    close(b);
    pingpong_sched(1);
    rtt = g_new(int64_t, n);
    for (int i = 0; i < n; i++) {
        rtt[i] = pingpong_round(a);
        g_usleep(opt_gap_us);
    }
    close(a);
    waitpid(child, NULL, 0);
    load_stop(load);
    qsort(rtt, n, sizeof(*rtt), pingpong_cmp);
    printf("{\"bytes\": %d, \"reply_bytes\": %d, \"fifo\": %s, \"cpu\": %d, "
           "\"idle_poll\": %s, \"load_mibs\": %d, \"load_vcpu\": %s, "
           "\"rounds\": %d, \"gap_us\": %d, "
           "\"rtt_p50_us\": %.1f, \"rtt_p90_us\": %.1f, \"rtt_p99_us\": %.1f, "
           "\"rtt_p999_us\": %.1f, \"rtt_max_us\": %.1f}\n",
           opt_bytes, opt_reply, opt_fifo ? "true" : "false", opt_cpu,
           opt_idle_poll ? "true" : "false", opt_load_mibs,
           load[2] > 0 ? "true" : "false", n, opt_gap_us, rtt[n / 2] / 1e3,
           rtt[n * 9 / 10] / 1e3, rtt[n * 99 / 100] / 1e3,
           rtt[n * 999 / 1000] / 1e3, rtt[n - 1] / 1e3);
    g_free(rtt);
    return 0;
}
