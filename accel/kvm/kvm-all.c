/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * kvm-all.c: the KVM accelerator's VM side (see kvm-int.h).
 *
 * One KVM memory slot per RAM block, at the block's guest-physical
 * address.  Dirty logging for migration:
 *
 *  1. start: set KVM_MEM_LOG_DIRTY_PAGES on every slot.  With
 *     KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2 (enabled at init, with
 *     KVM_DIRTY_LOG_INITIALLY_SET when offered) KVM does not write-protect
 *     all of RAM at once: pages start dirty and are protected as we clear.
 *  2. sync: KVM_GET_DIRTY_LOG per slot, OR the bits into rb->bmap
 *     (counting the newly set ones), then KVM_CLEAR_DIRTY_LOG for exactly
 *     the fetched bits.  Clearing happens before ram.c reads the pages, so
 *     a write racing with the sync is either in the copy ram.c sends or
 *     faults and is caught by the next sync.  Without the capability
 *     KVM_GET_DIRTY_LOG fetches and re-protects in one step.
 *  3. stop: drop the flag.
 * VM ioctls are safe from any thread; sync runs in the migration thread
 * while the vCPU keeps running.
 */
#include "qemu/osdep.h"
#include "qemu/error-report.h"
#include "sysemu/accel.h"
#include "sysemu/kvm.h"
#include "sysemu/ramblock.h"
#include "kvm-int.h"

#include <sys/ioctl.h>

#define KVM_TSS_ADDR 0xfeffd000u
#define KVM_IDENTITY_MAP_ADDR 0xfeffc000u

KVMState kvm_state = {.fd = -1, .vm_fd = -1};
static bool kvm_active;

/* Per RAM block (rb->accel_priv).  Dirty bitmap owned by the slot. */
typedef struct KVMSlot {
    uint32_t slot;
    uint32_t flags;
    uint64_t npages;
    /*
     * Pages seen dirty and not yet merged into rb->bmap: the
     * KVM_GET_DIRTY_LOG buffer, or what ring harvests collected.
     */
    uint64_t *dirty;
} KVMSlot;

/*
 * Protects the slots' flags and dirty bitmaps: slot flag changes
 * (migration start/stop), syncs (migration thread) and ring harvests
 * (vCPU thread).
 */
static GMutex kvm_slots_lock;
/* Slot id -> KVMSlot, for dirty ring entries (read-only after init). */
static GPtrArray *kvm_slot_table;
/* Entries were lost: syncs must report everything (kvm_slots_lock). */
static bool kvm_dirty_ring_overflowed;

bool kvm_enabled(void)
{
    return kvm_active;
}

static int kvm_vm_ioctl(unsigned long req, void *arg)
{
    int ret;

    do {
        ret = ioctl(kvm_state.vm_fd, req, arg);
    } while (ret < 0 && errno == EINTR);
    return ret < 0 ? -errno : ret;
}

static int kvm_check_extension(int fd, int cap)
{
    int ret = ioctl(fd, KVM_CHECK_EXTENSION, cap);

    return ret < 0 ? 0 : ret;
}

static int kvm_slot_set(RAMBlock *rb, KVMSlot *s)
{
    struct kvm_userspace_memory_region mr = {
        .slot = s->slot,
        .flags = s->flags,
        .guest_phys_addr = rb->gpa,
        .memory_size = rb->used_length,
        .userspace_addr = (uintptr_t)rb->host,
    };

    return kvm_vm_ioctl(KVM_SET_USER_MEMORY_REGION, &mr);
}

static bool kvm_map_ram(Error **errp)
{
    RAMBlock *rb;
    uint32_t n = 0;
    int max = kvm_check_extension(kvm_state.fd, KVM_CAP_NR_MEMSLOTS);

    kvm_slot_table = g_ptr_array_new();

    RAMBLOCK_FOREACH(rb)
    {
        KVMSlot *s = g_new0(KVMSlot, 1);
        int ret;

        if (max > 0 && n >= (uint32_t)max) {
            error_setg(errp, "kvm: too many RAM blocks (%d memory slots)", max);
            g_free(s);
            return false;
        }
        s->slot = n++;
        g_ptr_array_add(kvm_slot_table, s);
        s->npages = ram_block_pages(rb);
        s->dirty = g_new0(uint64_t, DIV_ROUND_UP(s->npages, 64));
        rb->accel_priv = s;
        ret = kvm_slot_set(rb, s);
        if (ret < 0) {
            error_setg_errno(errp, -ret,
                             "kvm: cannot map RAM block '%s' at "
                             "0x%" PRIx64,
                             rb->idstr, rb->gpa);
            return false;
        }
    }
    return true;
}

/* ---- dirty log ---------------------------------------------------- */

static int kvm_slots_set_logging(bool on)
{
    RAMBlock *rb;
    int ret = 0;

    g_mutex_lock(&kvm_slots_lock);
    RAMBLOCK_FOREACH(rb)
    {
        KVMSlot *s = rb->accel_priv;

        if (!s) {
            continue;
        }
        s->flags = on ? KVM_MEM_LOG_DIRTY_PAGES : 0;
        ret = kvm_slot_set(rb, s);
        if (ret < 0) {
            break;
        }
    }
    g_mutex_unlock(&kvm_slots_lock);
    return ret;
}

static bool kvm_dirty_log_start(Error **errp)
{
    int ret = kvm_slots_set_logging(true);

    if (ret < 0) {
        error_setg_errno(errp, -ret, "kvm: cannot enable dirty logging");
        kvm_slots_set_logging(false);
        return false;
    }
    return true;
}

static void kvm_dirty_log_stop(void)
{
    int ret = kvm_slots_set_logging(false);

    if (ret < 0) {
        warn_report("kvm: cannot disable dirty logging: %s", strerror(-ret));
    }
}

/* OR the fetched bits into rb->bmap; return how many were new there. */
static uint64_t kvm_dirty_merge(RAMBlock *rb, KVMSlot *s)
{
    uint64_t nwords = DIV_ROUND_UP(s->npages, 64), i, fresh = 0;
    unsigned long *bmap = rb->bmap;

    for (i = 0; i < nwords; i++) {
        uint64_t bits = s->dirty[i];

        if (!bits) {
            continue;
        }
        if (bmap) {
            uint64_t newbits = bits & ~(uint64_t)bmap[i];

            fresh += __builtin_popcountll(newbits);
            bmap[i] |= newbits;
        } else {
            fresh += __builtin_popcountll(bits);
        }
    }
    return fresh;
}

uint32_t kvm_dirty_ring_harvest(struct kvm_dirty_gfn *ring, uint32_t *fetch)
{
    uint32_t mask = kvm_state.dirty_ring_entries - 1, n = 0;

    g_mutex_lock(&kvm_slots_lock);
    for (;;) {
        struct kvm_dirty_gfn *e = &ring[*fetch & mask];
        uint32_t flags = __atomic_load_n(&e->flags, __ATOMIC_ACQUIRE);
        uint32_t id = e->slot & 0xffff; /* high half: address space */
        KVMSlot *s;

        if (!(flags & KVM_DIRTY_GFN_F_DIRTY)) {
            break;
        }
        s = id < kvm_slot_table->len ? g_ptr_array_index(kvm_slot_table, id)
                                     : NULL;
        if (s && e->offset < s->npages) {
            s->dirty[e->offset / 64] |= 1ULL << (e->offset % 64);
        }
        __atomic_store_n(&e->flags, KVM_DIRTY_GFN_F_RESET, __ATOMIC_RELEASE);
        (*fetch)++;
        n++;
    }
    /*
     * KVM exits with KVM_EXIT_DIRTY_RING_FULL before the ring fills (it
     * keeps entries in reserve), so a completely full ring means entries
     * were overwritten: from now on every sync reports all of RAM dirty.
     */
    if (n >= kvm_state.dirty_ring_entries && !kvm_dirty_ring_overflowed) {
        kvm_dirty_ring_overflowed = true;
        error_report("kvm: the dirty ring overflowed (host KVM bug); "
                     "treating all guest RAM as dirty - use the dirty "
                     "bitmap (no dirty-ring-size)");
    }
    if (n && kvm_vm_ioctl(KVM_RESET_DIRTY_RINGS, NULL) < 0) {
        error_report("kvm: KVM_RESET_DIRTY_RINGS failed: %s", strerror(errno));
    }
    g_mutex_unlock(&kvm_slots_lock);
    return n;
}

/* Ring mode: flush the vCPU's ring, then merge what was collected. */
static uint64_t kvm_dirty_ring_sync(void)
{
    uint64_t nwords, fresh = 0;
    RAMBlock *rb;

    kvm_vcpu_dirty_ring_flush();
    g_mutex_lock(&kvm_slots_lock);
    RAMBLOCK_FOREACH(rb)
    {
        KVMSlot *s = rb->accel_priv;

        if (!s || !(s->flags & KVM_MEM_LOG_DIRTY_PAGES)) {
            continue;
        }
        nwords = DIV_ROUND_UP(s->npages, 64);
        if (kvm_dirty_ring_overflowed) {
            memset(s->dirty, 0xff, nwords * sizeof(uint64_t));
            if (s->npages % 64) {
                s->dirty[nwords - 1] = (1ULL << (s->npages % 64)) - 1;
            }
        }
        fresh += kvm_dirty_merge(rb, s);
        memset(s->dirty, 0, nwords * sizeof(uint64_t));
    }
    g_mutex_unlock(&kvm_slots_lock);
    return fresh;
}

static uint64_t kvm_dirty_log_sync(void)
{
    RAMBlock *rb;
    uint64_t fresh = 0;

    G_STATIC_ASSERT(sizeof(unsigned long) == sizeof(uint64_t));
    if (kvm_state.dirty_ring_entries) {
        return kvm_dirty_ring_sync();
    }
    g_mutex_lock(&kvm_slots_lock);
    RAMBLOCK_FOREACH(rb)
    {
        KVMSlot *s = rb->accel_priv;
        struct kvm_dirty_log log = {0};
        int ret;

        if (!s || !(s->flags & KVM_MEM_LOG_DIRTY_PAGES)) {
            continue;
        }
        log.slot = s->slot;
        log.dirty_bitmap = s->dirty;
        ret = kvm_vm_ioctl(KVM_GET_DIRTY_LOG, &log);
        if (ret < 0) {
            /* Losing track of writes would corrupt the destination. */
            error_report("kvm: KVM_GET_DIRTY_LOG failed for '%s': %s - "
                         "marking the whole block dirty",
                         rb->idstr, strerror(-ret));
            memset(s->dirty, 0xff, DIV_ROUND_UP(s->npages, 64) * 8);
            if (s->npages % 64) {
                s->dirty[s->npages / 64] = (1ULL << (s->npages % 64)) - 1;
            }
        }
        fresh += kvm_dirty_merge(rb, s);
        if (kvm_state.manual_dirty_log && ret >= 0) {
            struct kvm_clear_dirty_log clear = {
                .slot = s->slot,
                .num_pages = s->npages,
                .first_page = 0,
                .dirty_bitmap = s->dirty,
            };

            ret = kvm_vm_ioctl(KVM_CLEAR_DIRTY_LOG, &clear);
            if (ret < 0) {
                error_report("kvm: KVM_CLEAR_DIRTY_LOG failed for '%s': %s",
                             rb->idstr, strerror(-ret));
            }
        }
    }
    g_mutex_unlock(&kvm_slots_lock);
    return fresh;
}

static const RAMDirtyLogOps kvm_dirty_log_ops = {
    .start = kvm_dirty_log_start,
    .stop = kvm_dirty_log_stop,
    .sync = kvm_dirty_log_sync,
};

/* ---- init / cleanup ----------------------------------------------- */

static void kvm_enable_manual_dirty_log(void)
{
    int caps =
        kvm_check_extension(kvm_state.vm_fd, KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2);
    uint64_t want =
        KVM_DIRTY_LOG_MANUAL_PROTECT_ENABLE | KVM_DIRTY_LOG_INITIALLY_SET;
    struct kvm_enable_cap cap = {
        .cap = KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2,
    };

    if (!caps) {
        return;
    }
    cap.args[0] = want & caps;
    if (kvm_vm_ioctl(KVM_ENABLE_CAP, &cap) == 0) {
        kvm_state.manual_dirty_log = cap.args[0];
        return;
    }
    cap.args[0] = KVM_DIRTY_LOG_MANUAL_PROTECT_ENABLE;
    if (kvm_vm_ioctl(KVM_ENABLE_CAP, &cap) == 0) {
        kvm_state.manual_dirty_log = cap.args[0];
    }
}

void kvm_set_dirty_ring_size(uint32_t entries)
{
    kvm_state.dirty_ring_entries = entries;
}

static bool kvm_enable_dirty_ring(Error **errp)
{
    uint64_t bytes =
        (uint64_t)kvm_state.dirty_ring_entries * sizeof(struct kvm_dirty_gfn);
    int cap = KVM_CAP_DIRTY_LOG_RING_ACQ_REL;
    int max = kvm_check_extension(kvm_state.vm_fd, cap);
    struct kvm_enable_cap ec = {0};
    int ret;

    if (!max) {
        cap = KVM_CAP_DIRTY_LOG_RING;
        max = kvm_check_extension(kvm_state.vm_fd, cap);
    }
    if (!max) {
        error_setg(errp, "kvm: dirty ring not supported by this host "
                         "(KVM_CAP_DIRTY_LOG_RING) - drop dirty-ring-size");
        return false;
    }
    if (bytes > (uint64_t)max) {
        error_setg(errp,
                   "kvm: dirty-ring-size %u is too large (host "
                   "maximum %u)",
                   kvm_state.dirty_ring_entries,
                   (unsigned)(max / sizeof(struct kvm_dirty_gfn)));
        return false;
    }
    ec.cap = cap;
    ec.args[0] = bytes;
    ret = kvm_vm_ioctl(KVM_ENABLE_CAP, &ec);
    if (ret < 0) {
        error_setg_errno(errp, -ret, "kvm: cannot enable the dirty ring");
        return false;
    }
    return true;
}

static bool kvm_init(MachineState *ms, Error **errp)
{
    int ret;

    kvm_state.fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
    if (kvm_state.fd < 0) {
        error_setg_errno(errp, errno,
                         "/dev/kvm: cannot open - enable KVM "
                         "or use -accel soft");
        return false;
    }
    ret = ioctl(kvm_state.fd, KVM_GET_API_VERSION, 0);
    if (ret != KVM_API_VERSION) {
        error_setg(errp,
                   "kvm: API version %d, expected %d - use -accel "
                   "soft",
                   ret, KVM_API_VERSION);
        goto err_close_kvm;
    }
    do {
        kvm_state.vm_fd = ioctl(kvm_state.fd, KVM_CREATE_VM, 0);
    } while (kvm_state.vm_fd < 0 && errno == EINTR);
    if (kvm_state.vm_fd < 0) {
        error_setg_errno(errp, errno, "kvm: KVM_CREATE_VM failed");
        goto err_close_kvm;
    }
    (void)fcntl(kvm_state.vm_fd, F_SETFD, FD_CLOEXEC);
    kvm_state.vcpu_mmap_size = ioctl(kvm_state.fd, KVM_GET_VCPU_MMAP_SIZE, 0);
    if (kvm_state.vcpu_mmap_size < (int)sizeof(struct kvm_run)) {
        error_setg(errp, "kvm: bad KVM_GET_VCPU_MMAP_SIZE");
        goto err_close_vm;
    }
    kvm_state.xsave = kvm_check_extension(kvm_state.fd, KVM_CAP_XSAVE);
    kvm_state.xcrs = kvm_check_extension(kvm_state.fd, KVM_CAP_XCRS);
    kvm_state.debugregs = kvm_check_extension(kvm_state.fd, KVM_CAP_DEBUGREGS);
    kvm_state.tsc_control =
        kvm_check_extension(kvm_state.fd, KVM_CAP_TSC_CONTROL);

    /*
     * Real-mode support areas for hosts without unrestricted guest; placed
     * below 4 GiB where pc-lite never has RAM.
     */
    ret = kvm_vm_ioctl(KVM_SET_TSS_ADDR, (void *)(uintptr_t)KVM_TSS_ADDR);
    if (ret < 0) {
        error_setg_errno(errp, -ret, "kvm: KVM_SET_TSS_ADDR failed");
        goto err_close_vm;
    }
    if (kvm_check_extension(kvm_state.fd, KVM_CAP_SET_IDENTITY_MAP_ADDR)) {
        uint64_t addr = KVM_IDENTITY_MAP_ADDR;

        ret = kvm_vm_ioctl(KVM_SET_IDENTITY_MAP_ADDR, &addr);
        if (ret < 0) {
            error_setg_errno(errp, -ret,
                             "kvm: KVM_SET_IDENTITY_MAP_ADDR failed");
            goto err_close_vm;
        }
    }
    if (kvm_state.dirty_ring_entries) {
        if (!kvm_enable_dirty_ring(errp)) {
            goto err_close_vm;
        }
    } else {
        kvm_enable_manual_dirty_log();
    }
    if (!kvm_map_ram(errp)) {
        goto err_close_vm;
    }
    ram_dirty_log_set_ops(&kvm_dirty_log_ops);
    kvm_active = true;
    return true;

err_close_vm:
    close(kvm_state.vm_fd);
    kvm_state.vm_fd = -1;
err_close_kvm:
    close(kvm_state.fd);
    kvm_state.fd = -1;
    return false;
}

static bool kvm_vcpus_create(MachineState *ms, Error **errp)
{
    if (!ms->has_vcpu) {
        return true;
    }
    return kvm_vcpu_create(ms, errp);
}

static void kvm_cleanup(void)
{
    RAMBlock *rb;

    kvm_vcpu_destroy();
    ram_dirty_log_set_ops(NULL);
    if (kvm_slot_table) {
        g_ptr_array_free(kvm_slot_table, true);
        kvm_slot_table = NULL;
    }
    RAMBLOCK_FOREACH(rb)
    {
        KVMSlot *s = rb->accel_priv;

        if (s) {
            g_free(s->dirty);
            g_free(s);
            rb->accel_priv = NULL;
        }
    }
    if (kvm_state.vm_fd >= 0) {
        close(kvm_state.vm_fd);
        kvm_state.vm_fd = -1;
    }
    if (kvm_state.fd >= 0) {
        close(kvm_state.fd);
        kvm_state.fd = -1;
    }
    kvm_active = false;
}

const AccelOps kvm_accel_ops = {
    .name = "kvm",
    .init = kvm_init,
    .vcpus_create = kvm_vcpus_create,
    .vcpus_resume = kvm_vcpu_resume,
    .vcpus_pause = kvm_vcpu_pause,
    .vcpus_kick = kvm_vcpu_kick,
    .cleanup = kvm_cleanup,
    .vcpus_reset = kvm_vcpu_reset,
};

/* ---- TSC frequency ------------------------------------------------ */

static uint32_t cpuinfo_tsc_khz(void)
{
    g_autofree gchar *text = NULL;
    const char *p;
    double mhz;

    if (!g_file_get_contents("/proc/cpuinfo", &text, NULL, NULL)) {
        return 0;
    }
    p = strstr(text, "cpu MHz");
    if (!p || !(p = strchr(p, ':'))) {
        return 0;
    }
    mhz = g_ascii_strtod(p + 1, NULL);
    return mhz > 0 && mhz < 100000 ? (uint32_t)(mhz * 1000) : 0;
}

/* A throw-away VM and vCPU to ask KVM_GET_TSC_KHZ before the real one. */
static uint32_t kvm_probe_tsc_khz(void)
{
    int kfd, vmfd = -1, cpufd = -1, ret = 0;

    kfd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
    if (kfd < 0) {
        return 0;
    }
    if (!kvm_check_extension(kfd, KVM_CAP_GET_TSC_KHZ)) {
        goto out;
    }
    vmfd = ioctl(kfd, KVM_CREATE_VM, 0);
    if (vmfd < 0) {
        goto out;
    }
    cpufd = ioctl(vmfd, KVM_CREATE_VCPU, 0);
    if (cpufd < 0) {
        goto out;
    }
    ret = ioctl(cpufd, KVM_GET_TSC_KHZ, 0);
out:
    if (cpufd >= 0) {
        close(cpufd);
    }
    if (vmfd >= 0) {
        close(vmfd);
    }
    close(kfd);
    return ret > 0 ? ret : 0;
}

uint32_t kvm_host_tsc_khz(void)
{
    static uint32_t cached;
    uint32_t khz;

    if (cached) {
        return cached;
    }
    khz = kvm_vcpu_tsc_khz();
    if (!khz) {
        khz = kvm_probe_tsc_khz();
    }
    if (!khz) {
        khz = cpuinfo_tsc_khz();
    }
    cached = khz;
    return khz;
}
