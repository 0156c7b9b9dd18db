/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * postcopy-cpu.c: keep a postcopy fault's path on one CPU (see
 * postcopy-cpu.h).
 */
#include "qemu/osdep.h"
#include <sched.h>
#include <sys/socket.h>
#include "qemu/thread.h"
#include "qemu/trace.h"
#include "sysemu/cpus.h"
#include "postcopy-cpu.h"

/* The destination's view of its vCPU thread. */
typedef struct PostcopyCpu {
    int stat_fd;        /* /proc/self/task/<vCPU>/stat, -1: none */
    int vcpu_cpu;       /* where the vCPU last ran, -1: unknown; atomic */
    int64_t checked_ns; /* fault thread only */
} PostcopyCpu;

static PostcopyCpu pcpu = {.stat_fd = -1, .vcpu_cpu = -1};

/* Field 39 of /proc/.../stat ("processor"), the 37th after "(comm)". */
#define STAT_PROCESSOR_AFTER_COMM 37

void postcopy_cpu_start(void)
{
    int tid = cpus_vcpu_thread_id();
    g_autofree char *path = NULL;

    postcopy_cpu_end();
    if (tid <= 0) {
        return;
    }
    path = g_strdup_printf("/proc/self/task/%d/stat", tid);
    pcpu.stat_fd = open(path, O_RDONLY | O_CLOEXEC);
    pcpu.checked_ns = 0;
}

void postcopy_cpu_end(void)
{
    if (pcpu.stat_fd >= 0) {
        close(pcpu.stat_fd);
        pcpu.stat_fd = -1;
    }
    __atomic_store_n(&pcpu.vcpu_cpu, -1, __ATOMIC_RELAXED);
}

/* The CPU the vCPU thread last ran on, or -1. */
static int postcopy_cpu_read_vcpu(void)
{
    char buf[1024];
    ssize_t n = pread(pcpu.stat_fd, buf, sizeof(buf) - 1, 0);
    char *p, *end;
    long cpu;

    if (n <= 0) {
        return -1;
    }
    buf[n] = '\0';
    p = strrchr(buf, ')'); /* the thread name may hold spaces */
    for (int i = 0; p && i < STAT_PROCESSOR_AFTER_COMM; i++) {
        p = strchr(p + 1, ' ');
    }
    if (!p) {
        return -1;
    }
    cpu = strtol(p + 1, &end, 10);
    return end != p + 1 && cpu >= 0 && cpu < CPU_SETSIZE ? (int)cpu : -1;
}

/*
 * Whether the calling thread may go to cpu: one of the CPUs it was
 * allowed before its first move (an operator's taskset or the cgroup's
 * cpuset is kept; a vCPU pinned elsewhere is not followed).
 */
static bool postcopy_cpu_allowed(int cpu)
{
    static __thread cpu_set_t allowed;
    static __thread bool known;

    if (!known) {
        if (sched_getaffinity(0, sizeof(allowed), &allowed) < 0) {
            CPU_ZERO(&allowed);
        }
        known = true;
    }
    return cpu >= 0 && cpu < CPU_SETSIZE && CPU_ISSET(cpu, &allowed);
}

/* Hold the calling thread to cpu if it is not there already. */
static void postcopy_cpu_move(int cpu, int *mine, const char *why)
{
    if (cpu < 0 || cpu == *mine || !postcopy_cpu_allowed(cpu)) {
        return;
    }
    if (qemu_thread_set_cpu(cpu)) {
        TRACE("postcopy_cpu_follow", "%s: CPU %d -> %d", why, *mine, cpu);
        *mine = cpu;
    }
}

void postcopy_cpu_note_fault(int64_t now_ns, int *mine)
{
    int cpu;

    if (pcpu.stat_fd < 0 || now_ns - pcpu.checked_ns < POSTCOPY_CPU_CHECK_NS) {
        return;
    }
    pcpu.checked_ns = now_ns;
    cpu = postcopy_cpu_read_vcpu();
    __atomic_store_n(&pcpu.vcpu_cpu, cpu, __ATOMIC_RELAXED);
    postcopy_cpu_move(cpu, mine, "fault thread");
}

void postcopy_cpu_follow_vcpu(int *mine)
{
    postcopy_cpu_move(__atomic_load_n(&pcpu.vcpu_cpu, __ATOMIC_RELAXED), mine,
                      "preempt reader");
}

void postcopy_cpu_follow_socket(QIOChannel *ioc, int *mine)
{
#ifdef SO_INCOMING_CPU
    int fd = ioc ? qio_channel_get_fd(ioc) : -1;
    int cpu = -1;
    socklen_t len = sizeof(cpu);

    if (fd < 0 || getsockopt(fd, SOL_SOCKET, SO_INCOMING_CPU, &cpu, &len) < 0) {
        return;
    }
    postcopy_cpu_move(cpu, mine, "return path");
#endif
}
