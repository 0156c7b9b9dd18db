/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * wake-pingpong.c: the floor of one postcopy fault's two hops on this
 * machine.  Two processes bounce a message over loopback TCP
 * (TCP_NODELAY), each blocking in recv() between messages as the
 * return-path thread and the preempt reader do; the round trips are
 * spaced (200 us) so that every message wakes a sleeping process.
 * Prints the round trip's p50/p90/p99/p99.9/max in us as JSON.
 *
 *   wake-pingpong [--bytes N] [--rounds N] [--fifo] [--cpu C]
 *     --bytes   message size (32: a page request; 4120: a page record)
 *     --fifo    both processes SCHED_FIFO (the fault path's policy)
 *     --cpu     both processes held to CPU C (else free to move)
 */
#include "qemu/osdep.h"
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sched.h>
#include <sys/socket.h>
#include <sys/wait.h>

#define PINGPONG_GAP_US 200
#define PINGPONG_MAX_BYTES 65536

/* CLOCK_MONOTONIC in ns. */
static int64_t pingpong_now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * (int64_t)1000000000 + ts.tv_nsec;
}

static int opt_bytes = 32, opt_rounds = 5000, opt_cpu = -1;
static bool opt_fifo;

/* Policy and CPU of the calling process, as the options ask. */
static void pingpong_sched(int prio)
{
    struct sched_param sp = {.sched_priority = prio};
    cpu_set_t set;

    if (opt_cpu >= 0) {
        CPU_ZERO(&set);
        CPU_SET(opt_cpu, &set);
        if (sched_setaffinity(0, sizeof(set), &set) < 0) {
            perror("sched_setaffinity");
            exit(1);
        }
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

static void pingpong_echo(int fd)
{
    static char buf[PINGPONG_MAX_BYTES];

    pingpong_sched(2);
    while (pingpong_recv(fd, buf, opt_bytes) &&
           send(fd, buf, opt_bytes, 0) == opt_bytes) {
        /* next */
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

static void pingpong_options(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--fifo")) {
            opt_fifo = true;
        } else if (!strcmp(argv[i], "--bytes") && i + 1 < argc) {
            opt_bytes = atoi(argv[++i]);
        } else if (!strcmp(argv[i], "--rounds") && i + 1 < argc) {
            opt_rounds = atoi(argv[++i]);
        } else if (!strcmp(argv[i], "--cpu") && i + 1 < argc) {
            opt_cpu = atoi(argv[++i]);
        } else {
            fprintf(stderr,
                    "usage: %s [--bytes N] [--rounds N] [--fifo] "
                    "[--cpu C]\n",
                    argv[0]);
            exit(2);
        }
    }
    if (opt_bytes < 1 || opt_bytes > PINGPONG_MAX_BYTES || opt_rounds < 1) {
        fprintf(stderr, "bad --bytes or --rounds\n");
        exit(2);
    }
}

int main(int argc, char **argv)
{
    static char buf[PINGPONG_MAX_BYTES];
    int64_t *rtt;
    int a, b, n;
    pid_t child;

    pingpong_options(argc, argv);
    n = opt_rounds;
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
        int64_t t0 = pingpong_now_ns();

        if (send(a, buf, opt_bytes, 0) != opt_bytes ||
            !pingpong_recv(a, buf, opt_bytes)) {
            perror("round trip");
            return 1;
        }
        rtt[i] = pingpong_now_ns() - t0;
        g_usleep(PINGPONG_GAP_US);
    }
    close(a);
    waitpid(child, NULL, 0);
    qsort(rtt, n, sizeof(*rtt), pingpong_cmp);
    printf("{\"bytes\": %d, \"fifo\": %s, \"cpu\": %d, \"rounds\": %d, "
           "\"rtt_p50_us\": %.1f, \"rtt_p90_us\": %.1f, \"rtt_p99_us\": %.1f, "
           "\"rtt_p999_us\": %.1f, \"rtt_max_us\": %.1f}\n",
           opt_bytes, opt_fifo ? "true" : "false", opt_cpu, n, rtt[n / 2] / 1e3,
           rtt[n * 9 / 10] / 1e3, rtt[n * 99 / 100] / 1e3,
           rtt[n * 999 / 1000] / 1e3, rtt[n - 1] / 1e3);
    g_free(rtt);
    return 0;
}
