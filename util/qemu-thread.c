/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * qemu-thread.c: counting semaphore and manual-reset event on GMutex and
 * GCond (see qemu/thread.h).
 */
#include "qemu/osdep.h"
#include <sched.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include "qemu/thread.h"

bool qemu_thread_set_nice(int nice)
{
    /* PRIO_PROCESS with a thread id: that thread alone (Linux) */
    return setpriority(PRIO_PROCESS, syscall(SYS_gettid), nice) == 0;
}

bool qemu_thread_set_realtime(int prio)
{
    struct sched_param sp = {.sched_priority = prio};

    /* pid 0: the calling thread alone (Linux) */
    return sched_setscheduler(0, SCHED_FIFO | SCHED_RESET_ON_FORK, &sp) == 0;
}

bool qemu_thread_set_cpu(int cpu)
{
    cpu_set_t set;

    if (cpu < 0 || cpu >= CPU_SETSIZE) {
        return false;
    }
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    /* pid 0: the calling thread alone (Linux) */
    return sched_setaffinity(0, sizeof(set), &set) == 0;
}

bool qemu_thread_set_idle(void)
{
    struct sched_param sp = {0};

    /* pid 0: the calling thread alone (Linux) */
    return sched_setscheduler(0, SCHED_IDLE, &sp) == 0;
}

bool qemu_thread_set_normal(void)
{
    struct sched_param sp = {0};

    /* pid 0: the calling thread alone (Linux) */
    return sched_setscheduler(0, SCHED_OTHER, &sp) == 0;
}

void qemu_sem_init(QemuSemaphore *sem, unsigned int init)
{
    g_mutex_init(&sem->lock);
    g_cond_init(&sem->cond);
    sem->count = init;
}

void qemu_sem_destroy(QemuSemaphore *sem)
{
    g_cond_clear(&sem->cond);
    g_mutex_clear(&sem->lock);
}

void qemu_sem_post(QemuSemaphore *sem)
{
    g_mutex_lock(&sem->lock);
    g_assert(sem->count < UINT_MAX);
    sem->count++;
    g_cond_signal(&sem->cond);
    g_mutex_unlock(&sem->lock);
}

void qemu_sem_wait(QemuSemaphore *sem)
{
    g_mutex_lock(&sem->lock);
    while (sem->count == 0) {
        g_cond_wait(&sem->cond, &sem->lock);
    }
    sem->count--;
    g_mutex_unlock(&sem->lock);
}

int qemu_sem_timedwait(QemuSemaphore *sem, int ms)
{
    gint64 deadline = g_get_monotonic_time() + (gint64)ms * 1000;
    int ret = 0;

    g_mutex_lock(&sem->lock);
    while (sem->count == 0) {
        if (!g_cond_wait_until(&sem->cond, &sem->lock, deadline) &&
            sem->count == 0) {
            ret = -1;
            goto out;
        }
    }
    sem->count--;
out:
    g_mutex_unlock(&sem->lock);
    return ret;
}

void qemu_event_init(QemuEvent *ev, bool init)
{
    g_mutex_init(&ev->lock);
    g_cond_init(&ev->cond);
    ev->set = init;
}

void qemu_event_destroy(QemuEvent *ev)
{
    g_cond_clear(&ev->cond);
    g_mutex_clear(&ev->lock);
}

void qemu_event_set(QemuEvent *ev)
{
    g_mutex_lock(&ev->lock);
    ev->set = true;
    g_cond_broadcast(&ev->cond);
    g_mutex_unlock(&ev->lock);
}

void qemu_event_reset(QemuEvent *ev)
{
    g_mutex_lock(&ev->lock);
    ev->set = false;
    g_mutex_unlock(&ev->lock);
}

void qemu_event_wait(QemuEvent *ev)
{
    g_mutex_lock(&ev->lock);
    while (!ev->set) {
        g_cond_wait(&ev->cond, &ev->lock);
    }
    g_mutex_unlock(&ev->lock);
}
