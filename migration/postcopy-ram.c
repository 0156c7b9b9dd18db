/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * postcopy-ram.c: the destination side of postcopy (see postcopy-ram.h).
 */
#include "qemu/osdep.h"
#include <linux/userfaultfd.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include "qemu/bswap.h"
#include "qemu/error-report.h"
#include "qemu/thread.h"
#include "sysemu/runstate.h"
#include "qemu/trace.h"
#include "migration/messages.h"
#include "migration/options.h"
#include "migration/register.h"
#include "migration/savevm.h"
#include "sysemu/ramblock.h"
#include "migration.h"
#include "postcopy-blocktime.h"
#include "postcopy-cpu.h"
#include "postcopy-idle-poll.h"
#include "postcopy-preempt.h"
#include "postcopy-ram.h"
#include "ram.h"

/* The load's postcopy state; the fault thread's resources. */
typedef struct PostcopyIncoming {
    int state;   /* PostcopyIncomingState, atomic */
    int uffd;    /* -1 when not listening */
    int quit_fd; /* eventfd: wakes the fault thread to exit */
    GThread *fault_thread;
    bool load_raised; /* the load thread's nice lowered at LISTEN */
    int load_nice;    /* its nice value before */
} PostcopyIncoming;

static PostcopyIncoming pci = {.uffd = -1, .quit_fd = -1};

/*
 * From LISTEN on, the load thread (the rest of the main stream) is on
 * the path of every fault whose page the bulk had already taken when
 * its request came: it runs at nice QEMU_THREAD_NICE_FAULT_PATH until
 * the end, so that a burst of the bulk does not wait for CPU behind the
 * vCPU and the host's other work (not SCHED_FIFO: it works for long
 * stretches, and would starve the vCPU).  Best effort.  Load thread.
 */
static void postcopy_load_thread_raise(void)
{
    int before;

    errno = 0;
    before = getpriority(PRIO_PROCESS, syscall(SYS_gettid));
    if ((before == -1 && errno) || before <= QEMU_THREAD_NICE_FAULT_PATH) {
        return;
    }
    if (!qemu_thread_set_nice(QEMU_THREAD_NICE_FAULT_PATH)) {
        TRACE("postcopy_thread_priority",
              "load thread: nice not permitted "
              "(%s)",
              strerror(errno));
        return;
    }
    TRACE("postcopy_thread_priority", "load thread: nice %d",
          QEMU_THREAD_NICE_FAULT_PATH);
    pci.load_nice = before;
    pci.load_raised = true;
}

/* Back to the load thread's nice value before LISTEN.  Load thread. */
static void postcopy_load_thread_restore(void)
{
    if (pci.load_raised) {
        qemu_thread_set_nice(pci.load_nice);
        pci.load_raised = false;
    }
}

PostcopyIncomingState postcopy_ram_incoming_state(void)
{
    return __atomic_load_n(&pci.state, __ATOMIC_ACQUIRE);
}

static void postcopy_state_set(PostcopyIncomingState st)
{
    __atomic_store_n(&pci.state, st, __ATOMIC_RELEASE);
}

/* A userfaultfd after its API handshake asking features; -errno. */
static int postcopy_uffd_handshake(uint64_t features)
{
    struct uffdio_api api = {.api = UFFD_API, .features = features};
    int fd = syscall(__NR_userfaultfd, O_CLOEXEC | O_NONBLOCK);
    int err;

    if (fd < 0) {
        return -errno;
    }
    if (ioctl(fd, UFFDIO_API, &api) < 0) {
        err = errno;
        close(fd);
        return -err;
    }
    return fd;
}

/*
 * A userfaultfd with the API handshake done, or -1 with errp set.  It
 * reports the faulting thread's id (postcopy-blocktime) if the kernel
 * can.
 */
static int postcopy_uffd_open(Error **errp)
{
    int fd = postcopy_uffd_handshake(UFFD_FEATURE_THREAD_ID);

    if (fd == -EINVAL) {
        fd = postcopy_uffd_handshake(0);
    }
    if (fd < 0) {
        error_setg(errp, "Postcopy: userfaultfd not available: %s",
                   strerror(-fd));
        return -1;
    }
    return fd;
}

bool postcopy_ram_supported_by_host(Error **errp)
{
    RAMBlock *rb;
    int fd;

    RAMBLOCK_FOREACH(rb)
    {
        if (rb->page_size != TARGET_PAGE_SIZE) {
            error_setg(errp,
                       "Postcopy is not supported on RAM block '%s': "
                       "huge-page-backed RAM (page size 0x%" PRIx64 ")",
                       rb->idstr, rb->page_size);
            return false;
        }
        if (rb->fd >= 0 || rb->shared) {
            error_setg(errp,
                       "Postcopy is not supported on RAM block '%s': "
                       "userfaultfd needs anonymous private memory "
                       "(memory-backend-ram)",
                       rb->idstr);
            return false;
        }
    }
    fd = postcopy_uffd_open(errp);
    if (fd < 0) {
        return false;
    }
    close(fd);
    return true;
}

/* ---- COMMAND handlers ---- */

/* 7.2's wrong-state text for cmd unless the state is one of a or b. */
static bool postcopy_state_check(const LoadVMCommand *c, int a, int b,
                                 Error **errp)
{
    int st = postcopy_ram_incoming_state();

    if (st != a && st != b) {
        error_setg(errp, "CMD_%s in wrong postcopy state (%d)",
                   qemu_savevm_command_name(c->cmd), st);
        return false;
    }
    return true;
}

/* ADVISE: the source will switch to postcopy; check we can follow. */
static int postcopy_handle_advise(const LoadVMCommand *c, Error **errp)
{
    uint64_t remote_summary, remote_tps;

    if (!postcopy_state_check(c, POSTCOPY_INCOMING_NONE, -1, errp)) {
        return -EINVAL;
    }
    if (c->len == 0) {
        if (migrate_postcopy_ram()) {
            error_setg(errp, "RAM postcopy is enabled but have 0 byte advise");
            return -EINVAL;
        }
        return 0;
    }
    if (c->len != MIG_CMD_POSTCOPY_ADVISE_LEN) {
        error_setg(errp, "CMD_POSTCOPY_ADVISE invalid length (%d)", c->len);
        return -EINVAL;
    }
    if (!migrate_postcopy_ram()) {
        error_setg(errp, "RAM postcopy is disabled but have 16 byte advise");
        return -EINVAL;
    }
    if (!postcopy_ram_supported_by_host(errp)) {
        return -EINVAL;
    }
    remote_summary = ldq_be_p(c->data);
    remote_tps = ldq_be_p(c->data + 8);
    if (remote_summary != ram_pagesize_summary()) {
        error_setg(errp,
                   "Postcopy needs matching RAM page sizes "
                   "(s=%" PRIx64 " d=%" PRIx64 ")",
                   remote_summary, ram_pagesize_summary());
        return -EINVAL;
    }
    if (remote_tps != TARGET_PAGE_SIZE) {
        error_setg(errp,
                   "Postcopy needs matching target page sizes "
                   "(s=%d d=%zd)",
                   (int)remote_tps, (size_t)TARGET_PAGE_SIZE);
        return -EINVAL;
    }
    postcopy_state_set(POSTCOPY_INCOMING_ADVISE);
    return 0;
}

/* Drop [start, start + len) of the block named name (MADV_DONTNEED). */
static int postcopy_discard_range(const char *name, uint64_t start,
                                  uint64_t len, Error **errp)
{
    RAMBlock *rb = ram_block_by_name(name);

    if (!rb) {
        error_setg(errp, "ram_discard_range: Failed to find block '%s'", name);
        return -EINVAL;
    }
    if (start > rb->used_length || len > rb->used_length - start) {
        error_setg(errp,
                   "ram_discard_range: Overrun block '%s' (%" PRIu64 "/%" PRIx64
                   "/%" PRIx64 ")",
                   name, start, len, rb->used_length);
        return -EINVAL;
    }
    if (start & ~TARGET_PAGE_MASK) {
        error_setg(errp, "ram_block_discard_range: Unaligned start address: %p",
                   rb->host + start);
        return -EINVAL;
    }
    if (len & ~TARGET_PAGE_MASK) {
        error_setg(errp, "ram_block_discard_range: Unaligned length: %" PRIx64,
                   len);
        return -EINVAL;
    }
    if (len && madvise(rb->host + start, len, MADV_DONTNEED) < 0) {
        error_setg_errno(errp, errno,
                         "ram_block_discard_range: Failed to discard range "
                         "%s:%" PRIx64 " +%" PRIx64,
                         name, start, len);
        return -errno;
    }
    return 0;
}

/* RAM_DISCARD: u8 0, str8 block, NUL, then (be64 start, be64 len) pairs. */
static int postcopy_handle_discard(const LoadVMCommand *c, Error **errp)
{
    char name[256];
    size_t off, name_len;
    int ret;

    if (!postcopy_state_check(c, POSTCOPY_INCOMING_ADVISE,
                              POSTCOPY_INCOMING_DISCARD, errp)) {
        return -EINVAL;
    }
    if (c->len < 1 + 1 + 1 + 1 + 8 + 8) {
        error_setg(errp, "CMD_POSTCOPY_RAM_DISCARD invalid length (%d)",
                   c->len);
        return -EINVAL;
    }
    if (c->data[0] != 0) {
        error_setg(errp, "CMD_POSTCOPY_RAM_DISCARD invalid version (%d)",
                   c->data[0]);
        return -EINVAL;
    }
    name_len = c->data[1];
    if (3 + name_len > c->len) {
        error_setg(errp, "CMD_POSTCOPY_RAM_DISCARD invalid length (%d)",
                   c->len);
        return -EINVAL;
    }
    memcpy(name, c->data + 2, name_len);
    name[name_len] = '\0';
    if (c->data[2 + name_len] != 0) {
        error_setg(errp, "CMD_POSTCOPY_RAM_DISCARD missing nil (%d)",
                   c->data[2 + name_len]);
        return -EINVAL;
    }
    off = 3 + name_len;
    if ((c->len - off) % 16) {
        error_setg(errp, "CMD_POSTCOPY_RAM_DISCARD invalid length (%d)",
                   c->len);
        return -EINVAL;
    }
    /* no more precopy placement: stop helpers that touch guest RAM */
    ram_load_postcopy_prepare();
    postcopy_state_set(POSTCOPY_INCOMING_DISCARD);
    TRACE("postcopy_switch_discard", "%s: %zu ranges", name,
          (c->len - off) / 16);
    for (; off < c->len; off += 16) {
        ret = postcopy_discard_range(name, ldq_be_p(c->data + off),
                                     ldq_be_p(c->data + off + 8), errp);
        if (ret < 0) {
            return ret;
        }
    }
    TRACE("postcopy_switch_discard", "%s: dropped", name);
    return 0;
}

/* ---- the fault thread ---- */

/* The block holding host address addr, or NULL. */
static RAMBlock *postcopy_block_of(uint64_t addr)
{
    RAMBlock *rb;

    RAMBLOCK_FOREACH(rb)
    {
        if (addr >= (uintptr_t)rb->host &&
            addr - (uintptr_t)rb->host < rb->used_length) {
            return rb;
        }
    }
    return NULL;
}

void postcopy_thread_prioritise(const char *thread, int rt_prio)
{
    if (qemu_thread_set_realtime(rt_prio)) {
        TRACE("postcopy_thread_priority", "%s thread: SCHED_FIFO %d", thread,
              rt_prio);
        return;
    }
    TRACE("postcopy_thread_priority",
          "%s thread: SCHED_FIFO not permitted (%s)", thread, strerror(errno));
    if (!qemu_thread_set_nice(QEMU_THREAD_NICE_FAULT_PATH)) {
        TRACE("postcopy_thread_priority", "%s thread: nice not permitted (%s)",
              thread, strerror(errno));
    }
}

void postcopy_rp_thread_prioritise(void)
{
    static __thread bool prioritised;

    if (!prioritised) {
        postcopy_thread_prioritise("return path", POSTCOPY_RT_RETURN_PATH);
        prioritised = true;
    }
}

/* One fault (read at read_ns): ask the source for its page. */
static void postcopy_fault(MigrationIncomingState *mis, uint64_t addr,
                           int64_t read_ns, RAMBlock **last)
{
    RAMBlock *rb = postcopy_block_of(addr);
    uint64_t offset;
    int64_t req_ns;

    if (!rb) {
        return; /* not guest RAM: nothing we registered */
    }
    offset = (addr - (uintptr_t)rb->host) & TARGET_PAGE_MASK;
    TRACE("postcopy_fault", "%s:0x%" PRIx64, rb->idstr, offset);
    req_ns = postcopy_clock_ns();
    if (!postcopy_preempt_send_request(mis, rb, offset, TARGET_PAGE_SIZE)) {
        migrate_send_rp_req_pages(mis, rb == *last ? NULL : rb->idstr, offset,
                                  TARGET_PAGE_SIZE);
        *last = rb; /* the return path's own "previous block" */
    }
    TRACE("postcopy_hop_req",
          "%s:0x%" PRIx64 " fault %" PRId64 " req %" PRId64 " written %" PRId64,
          rb->idstr, offset, read_ns, req_ns, postcopy_clock_ns());
}

/*
 * A fault: ask for the page, unless paused or recovering (no return
 * path; POSTCOPY_RESUME wakes the faulting threads, which fault again).
 * After a resume the first request names its block again.
 */
static void postcopy_fault_maybe_request(MigrationIncomingState *mis,
                                         uint64_t addr, int64_t read_ns,
                                         RAMBlock **last, unsigned int *resumes)
{
    unsigned int now = __atomic_load_n(&mis->resumes, __ATOMIC_ACQUIRE);

    if (migration_incoming_status() != MIGRATION_STATUS_POSTCOPY_ACTIVE) {
        return;
    }
    if (now != *resumes) {
        *resumes = now;
        *last = NULL;
    }
    postcopy_fault(mis, addr, read_ns, last);
}

static gpointer postcopy_fault_thread(gpointer opaque)
{
    MigrationIncomingState *mis = opaque;
    unsigned int resumes = __atomic_load_n(&mis->resumes, __ATOMIC_ACQUIRE);
    RAMBlock *last = NULL;
    int cpu = -1; /* the CPU this thread is held to (postcopy-cpu.h) */

    postcopy_thread_prioritise("fault", POSTCOPY_RT_FAULT);
    postcopy_cpu_hold_fault_path(&cpu);
    for (;;) {
        struct pollfd pfd[2] = {
            {.fd = pci.uffd, .events = POLLIN},
            {.fd = pci.quit_fd, .events = POLLIN},
        };
        struct uffd_msg msg;

        if (poll(pfd, 2, -1) < 0) {
            if (errno == EINTR) {
                continue;
            }
            break;
        }
        if (pfd[1].revents) {
            break;
        }
        while (read(pci.uffd, &msg, sizeof(msg)) == sizeof(msg)) {
            if (msg.event == UFFD_EVENT_PAGEFAULT) {
                int64_t read_ns = postcopy_clock_ns();

                postcopy_blocktime_fault(msg.arg.pagefault.address &
                                             ~(uint64_t)(TARGET_PAGE_SIZE - 1),
                                         msg.arg.pagefault.feat.ptid, read_ns);
                postcopy_fault_maybe_request(mis, msg.arg.pagefault.address,
                                             read_ns, &last, &resumes);
                postcopy_idle_poll_kick(read_ns);
            }
        }
    }
    return NULL;
}

/* Register every block in missing mode; false with errp set. */
static bool postcopy_register_ram(Error **errp)
{
    RAMBlock *rb;

    RAMBLOCK_FOREACH(rb)
    {
        struct uffdio_register reg = {
            .range = {.start = (uintptr_t)rb->host, .len = rb->used_length},
            .mode = UFFDIO_REGISTER_MODE_MISSING,
        };
        uint64_t need = (1ULL << _UFFDIO_COPY) | (1ULL << _UFFDIO_ZEROPAGE);

        if (ioctl(pci.uffd, UFFDIO_REGISTER, &reg) < 0) {
            error_setg(errp, "Postcopy: userfault register of '%s': %s",
                       rb->idstr, strerror(errno));
            return false;
        }
        if ((reg.ioctls & need) != need) {
            error_setg(errp,
                       "Postcopy: RAM block '%s' cannot be filled "
                       "by userfaultfd (missing UFFDIO_COPY/ZEROPAGE)",
                       rb->idstr);
            return false;
        }
    }
    return true;
}

/*
 * The idle pollers' CPUs (postcopy-idle-poll.h): the vCPU's (Tern's
 * machines have one, sysemu/cpus.h) and the fault path's.
 */
#define POSTCOPY_IDLE_POLLERS 2

/* LISTEN: from now on missing pages are requested, pages placed atomically. */
static int postcopy_handle_listen(const LoadVMCommand *c, Error **errp)
{
    MigrationIncomingState *mis = migration_incoming_get_current();
    RAMPlacer *pl;

    if (!postcopy_state_check(c, POSTCOPY_INCOMING_ADVISE,
                              POSTCOPY_INCOMING_DISCARD, errp)) {
        return -EINVAL;
    }
    if (!mis->to_src_file) {
        error_setg(errp, "Postcopy needs a return path to request pages");
        return -EINVAL;
    }
    TRACE("postcopy_switch_listen", "start");
    ram_load_postcopy_prepare();
    pci.uffd = postcopy_uffd_open(errp);
    if (pci.uffd < 0) {
        return -EINVAL;
    }
    postcopy_state_set(POSTCOPY_INCOMING_LISTENING);
    if (!postcopy_register_ram(errp)) {
        return -EINVAL; /* postcopy_ram_incoming_end() undoes it */
    }
    TRACE("postcopy_switch_listen", "registered");
    pl = ram_placer_postcopy_new(pci.uffd, POSTCOPY_VIA_MAIN);
    if (!pl) {
        error_setg(errp, "Postcopy: cannot allocate the placement buffer");
        return -ENOMEM;
    }
    ram_load_set_placer(pl);
    pci.quit_fd = eventfd(0, EFD_CLOEXEC);
    if (pci.quit_fd < 0) {
        error_setg_errno(errp, errno, "Postcopy: eventfd");
        return -errno;
    }
    postcopy_blocktime_start();
    postcopy_cpu_start();
    postcopy_load_thread_raise();
    if (!postcopy_preempt_incoming_start(mis, pci.uffd, errp)) {
        return -EINVAL;
    }
    postcopy_idle_poll_start(POSTCOPY_IDLE_POLLERS);
    pci.fault_thread =
        g_thread_new("mig/dst/fault", postcopy_fault_thread, mis);
    migrate_incoming_set_status(mis, MIGRATION_STATUS_POSTCOPY_ACTIVE);
    TRACE("postcopy_switch_listen", "threads started");
    return 0;
}

/* RUN: start the guest; the rest of the stream loads in the background. */
static int postcopy_handle_run(const LoadVMCommand *c, Error **errp)
{
    if (!postcopy_state_check(c, POSTCOPY_INCOMING_LISTENING, -1, errp)) {
        return -EINVAL;
    }
    postcopy_state_set(POSTCOPY_INCOMING_RUNNING);
    TRACE("postcopy_switch_run", "scheduling the guest start");
    migration_incoming_postcopy_run();
    return LOADVM_QUIT;
}

int postcopy_ram_uffd(void)
{
    return pci.uffd;
}

void postcopy_ram_wake_faults(void)
{
    RAMBlock *rb;

    if (pci.uffd < 0) {
        return;
    }
    RAMBLOCK_FOREACH(rb)
    {
        struct uffdio_range r = {.start = (uintptr_t)rb->host,
                                 .len = rb->used_length};

        ioctl(pci.uffd, UFFDIO_WAKE, &r);
    }
}

void postcopy_ram_incoming_end(bool ok)
{
    RAMBlock *rb;

    /* its pages must be in before guest RAM leaves userfaultfd */
    postcopy_preempt_incoming_stop(!ok);
    if (pci.uffd >= 0) {
        postcopy_blocktime_end();
    }

    if (pci.fault_thread) {
        uint64_t one = 1;

        if (write(pci.quit_fd, &one, sizeof(one)) != sizeof(one)) {
            /* eventfd write of 1 cannot fail short of a bug */
        }
        g_thread_join(pci.fault_thread);
        pci.fault_thread = NULL;
    }
    postcopy_idle_poll_stop(); /* after its last kick */
    if (pci.quit_fd >= 0) {
        close(pci.quit_fd);
        pci.quit_fd = -1;
    }
    if (pci.uffd >= 0) {
        RAMBLOCK_FOREACH(rb)
        {
            struct uffdio_range r = {.start = (uintptr_t)rb->host,
                                     .len = rb->used_length};

            ioctl(pci.uffd, UFFDIO_UNREGISTER, &r);
        }
        close(pci.uffd);
        pci.uffd = -1;
    }
    postcopy_load_thread_restore();
    postcopy_state_set(POSTCOPY_INCOMING_NONE);
}

/*
 * Switching postcopy-ram on, as QEMU 7.2 checks it: only a destination
 * (-incoming) needs userfaultfd; the reason is printed, the error is
 * QEMU's.
 */
static bool postcopy_ram_cap_check(Error **errp)
{
    Error *err = NULL;

    if (runstate_get() != RUN_STATE_INMIGRATE ||
        postcopy_ram_supported_by_host(&err)) {
        return true;
    }
    error_report_err(err);
    error_setg(errp, "Postcopy is not supported");
    return false;
}

void postcopy_ram_init(void)
{
    migrate_capability_set_supported(MIGRATION_CAPABILITY_POSTCOPY_RAM, true);
    migrate_capability_set_supported(MIGRATION_CAPABILITY_POSTCOPY_PREEMPT,
                                     true);
    migrate_capability_set_supported(MIGRATION_CAPABILITY_POSTCOPY_BLOCKTIME,
                                     true);
    migrate_capability_set_check(MIGRATION_CAPABILITY_POSTCOPY_RAM,
                                 postcopy_ram_cap_check);
    loadvm_command_register(MIG_CMD_POSTCOPY_ADVISE, postcopy_handle_advise);
    loadvm_command_register(MIG_CMD_POSTCOPY_RAM_DISCARD,
                            postcopy_handle_discard);
    loadvm_command_register(MIG_CMD_POSTCOPY_LISTEN, postcopy_handle_listen);
    loadvm_command_register(MIG_CMD_POSTCOPY_RUN, postcopy_handle_run);
}
