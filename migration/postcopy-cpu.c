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
#include "postcopy-cpu.h"

/* The CPU the destination's fault thread holds, -1: none yet; atomic. */
static int postcopy_path_cpu = -1;

void postcopy_cpu_start(void)
{
    __atomic_store_n(&postcopy_path_cpu, -1, __ATOMIC_RELAXED);
}

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

void postcopy_cpu_hold_fault_path(int *mine)
{
    int cpu = sched_getcpu();

    postcopy_cpu_move(cpu, mine, "fault thread");
    if (*mine >= 0) {
        __atomic_store_n(&postcopy_path_cpu, *mine, __ATOMIC_RELAXED);
    }
}

void postcopy_cpu_join_fault_path(int *mine)
{
    postcopy_cpu_move(__atomic_load_n(&postcopy_path_cpu, __ATOMIC_RELAXED),
                      mine, "preempt reader");
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
