/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * kvm-cpu.c: the KVM vCPU thread and its migratable state.
 *
 * Threading (one vCPU):
 *  - The vCPU thread owns the vCPU fd.  Every vCPU ioctl (KVM_RUN, the
 *    register get/set for migration, system_reset, info registers,
 *    KVM_GET_TSC_KHZ, dirty-ring harvests) runs IN THE vCPU THREAD: other
 *    threads hand it a work item (kvm_vcpu_run_on()), which kicks it out
 *    of guest code if needed, and wait.  The only exception is
 *    vcpus_create, which sets the boot registers before the thread exists.
 *  - cpu->lock protects the control flags (want_run, quit, halted, failed,
 *    parked, work); cpu->cond signals every change of them.
 *  - Kick: set a flag under the lock, then run->immediate_exit = 1, then
 *    pthread_kill(SIGUSR1).  The thread clears immediate_exit right after
 *    KVM_RUN returns and only then looks at the flags, so a kick is never
 *    lost: a flag set after the look comes with immediate_exit = 1 seen by
 *    the next KVM_RUN (which returns EINTR at once).
 *  - Exits: port I/O goes to ioport_read/write (no BQL); HLT parks the
 *    vCPU for good (no interrupt can wake it: there is no interrupt
 *    controller); SHUTDOWN, INTERNAL_ERROR, FAIL_ENTRY and unknown exits
 *    print why and stop the VM in state internal-error (on the main loop).
 */
#include "qemu/osdep.h"
#include "qemu/bswap.h"
#include "qemu/error-report.h"
#include "hw/ioport.h"
#include "migration/blocker.h"
#include "migration/register.h"
#include "migration/vmstate.h"
#include "monitor/monitor.h"
#include "sysemu/cpus.h"
#include "sysemu/main-loop.h"
#include "sysemu/runstate.h"
#include "kvm-int.h"

#include <linux/kvm.h>
#include <pthread.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/mman.h>

#define SIG_IPI SIGUSR1

/* MSRs a 32-bit protected-mode guest can touch, saved in "cpu". */
#define MSR_IA32_TSC 0x00000010
#define MSR_IA32_APICBASE 0x0000001b
#define MSR_IA32_TSC_ADJUST 0x0000003b
#define MSR_IA32_SPEC_CTRL 0x00000048
#define MSR_IA32_SYSENTER_CS 0x00000174
#define MSR_IA32_SYSENTER_ESP 0x00000175
#define MSR_IA32_SYSENTER_EIP 0x00000176
#define MSR_IA32_MISC_ENABLE 0x000001a0
#define MSR_IA32_CR_PAT 0x00000277
#define MSR_STAR 0xc0000081
#define MSR_LSTAR 0xc0000082
#define MSR_CSTAR 0xc0000083
#define MSR_SYSCALL_MASK 0xc0000084
#define MSR_KERNEL_GS_BASE 0xc0000102
#define MSR_TSC_AUX 0xc0000103

/*
 * Order is the wire order of msr_value[]; msr_valid bit i says entry i was
 * read on the source.  Append only (bump the section version).
 */
static const uint32_t kvm_cpu_msrs[] = {
    MSR_IA32_TSC, /* restored last-write-wins: guest time goes on */
    MSR_IA32_SYSENTER_CS,
    MSR_IA32_SYSENTER_ESP,
    MSR_IA32_SYSENTER_EIP,
    MSR_IA32_CR_PAT,
    MSR_IA32_MISC_ENABLE,
    MSR_STAR,
    MSR_LSTAR,
    MSR_CSTAR,
    MSR_SYSCALL_MASK,
    MSR_KERNEL_GS_BASE,
    MSR_TSC_AUX,
    MSR_IA32_TSC_ADJUST,
    MSR_IA32_SPEC_CTRL,
};
#define KVM_CPU_NR_MSRS ((int)ARRAY_SIZE(kvm_cpu_msrs))
#define KVM_CPU_MSR_SLOTS 16
G_STATIC_ASSERT(ARRAY_SIZE(kvm_cpu_msrs) <= KVM_CPU_MSR_SLOTS);

#define KVM_CPU_NR_SEGS 8 /* cs ds es fs gs ss tr ldt */
#define KVM_XSAVE_SIZE 4096
/* Offsets in the legacy (FXSAVE) region of the XSAVE area, little-endian. */
#define XSAVE_FCW 0
#define XSAVE_FSW 2
#define XSAVE_MXCSR 24
#define XSAVE_XMM0 160
#define XSAVE_FCW_RESET 0x037f
#define XSAVE_MXCSR_RESET 0x1f80

/* One segment register with its descriptor cache (struct kvm_segment). */
typedef struct KVMSegState {
    uint64_t base;
    uint32_t limit;
    uint16_t selector;
    uint8_t type;
    uint8_t present;
    uint8_t dpl;
    uint8_t db;
    uint8_t s;
    uint8_t l;
    uint8_t g;
    uint8_t avl;
    uint8_t unusable;
} KVMSegState;

/* Everything the "cpu" section carries; filled by pre_save. */
typedef struct KVMCPUState {
    /* general registers: rax rbx rcx rdx rsi rdi rsp rbp r8..r15 rip rflags */
    uint64_t regs[18];
    KVMSegState segs[KVM_CPU_NR_SEGS];
    uint64_t gdt_base;
    uint64_t idt_base;
    uint16_t gdt_limit;
    uint16_t idt_limit;
    uint64_t cr0;
    uint64_t cr2;
    uint64_t cr3;
    uint64_t cr4;
    uint64_t cr8;
    uint64_t efer;
    uint64_t apic_base;
    uint64_t interrupt_bitmap[4];
    /* FPU/SSE/AVX: the KVM_GET_XSAVE area (legacy FXSAVE image first). */
    uint8_t xsave[KVM_XSAVE_SIZE];
    uint64_t xcr0;
    uint32_t msr_valid;
    uint64_t msr_value[KVM_CPU_MSR_SLOTS];
    /* struct kvm_vcpu_events */
    uint8_t exc_injected;
    uint8_t exc_nr;
    uint8_t exc_has_error_code;
    uint8_t exc_pending;
    uint32_t exc_error_code;
    uint8_t exc_has_payload;
    uint64_t exc_payload;
    uint8_t int_injected;
    uint8_t int_nr;
    uint8_t int_soft;
    uint8_t int_shadow;
    uint8_t nmi_injected;
    uint8_t nmi_pending;
    uint8_t nmi_masked;
    uint32_t sipi_vector;
    uint32_t events_flags;
    uint8_t smi_smm;
    uint8_t smi_pending;
    uint8_t smi_inside_nmi;
    uint8_t smi_latched_init;
    uint32_t mp_state;
    uint64_t dr[4];
    uint64_t dr6;
    uint64_t dr7;
    uint32_t tsc_khz;
    uint8_t halted; /* the guest executed HLT (done) */
} KVMCPUState;

typedef struct KVMCPU {
    int fd;
    struct kvm_run *run;
    pthread_t thread;
    bool thread_started;

    GMutex lock;   /* protects the flags below */
    GCond cond;    /* any change of them */
    bool want_run; /* resumed by vm_start */
    bool quit;
    bool parked; /* in the wait loop, out of guest code */
    bool halted;
    bool failed;                /* internal error: never runs again */
    void (*work)(void *opaque); /* run_on request */
    void *work_opaque;
    bool work_done;
    GMutex work_serial; /* one run_on request at a time */

    /* Dirty ring (kvm_state.dirty_ring_entries != 0); vCPU thread only. */
    struct kvm_dirty_gfn *ring;
    uint32_t ring_fetch;

    KVMCPUState st;      /* the migration image */
    int state_ret;       /* result of the last get/set */
    char state_msg[160]; /* what failed when state_ret < 0 */
} KVMCPU;

static KVMCPU *kvm_cpu;

/* ---- plumbing ------------------------------------------------------ */

static int kvm_vcpu_ioctl(KVMCPU *cpu, unsigned long req, void *arg)
{
    int ret;

    do {
        ret = ioctl(cpu->fd, req, arg);
    } while (ret < 0 && errno == EINTR);
    return ret < 0 ? -errno : ret;
}

static void kvm_sig_ipi_handler(int sig)
{
    /* Only here to make KVM_RUN return -EINTR. */
}

/* Caller holds cpu->lock and has just set a flag the thread must see. */
static void kvm_vcpu_kick_locked(KVMCPU *cpu)
{
    g_cond_broadcast(&cpu->cond);
    __atomic_store_n(&cpu->run->immediate_exit, 1, __ATOMIC_SEQ_CST);
    if (cpu->thread_started) {
        pthread_kill(cpu->thread, SIG_IPI);
    }
}

void kvm_vcpu_kick(void)
{
    KVMCPU *cpu = kvm_cpu;

    if (!cpu) {
        return;
    }
    g_mutex_lock(&cpu->lock);
    kvm_vcpu_kick_locked(cpu);
    g_mutex_unlock(&cpu->lock);
}

/*
 * Run fn(opaque) in the vCPU thread and wait for it.  From the vCPU
 * thread itself it runs directly.  The vCPU is out of guest code while fn
 * runs.
 */
static void kvm_vcpu_run_on(KVMCPU *cpu, void (*fn)(void *), void *opaque)
{
    if (!cpu->thread_started || pthread_equal(pthread_self(), cpu->thread)) {
        fn(opaque);
        return;
    }
    g_mutex_lock(&cpu->work_serial);
    g_mutex_lock(&cpu->lock);
    cpu->work = fn;
    cpu->work_opaque = opaque;
    cpu->work_done = false;
    kvm_vcpu_kick_locked(cpu);
    while (!cpu->work_done) {
        g_cond_wait(&cpu->cond, &cpu->lock);
    }
    cpu->work = NULL;
    g_mutex_unlock(&cpu->lock);
    g_mutex_unlock(&cpu->work_serial);
}

/* ---- boot state ---------------------------------------------------- */

static void kvm_seg_flat(struct kvm_segment *seg, uint16_t sel, uint8_t type)
{
    memset(seg, 0, sizeof(*seg));
    seg->base = 0;
    seg->limit = 0xffffffff;
    seg->selector = sel;
    seg->type = type;
    seg->present = 1;
    seg->dpl = 0;
    seg->db = 1;
    seg->s = 1;
    seg->l = 0;
    seg->g = 1;
}

/* 32-bit protected mode, flat 4 GiB segments, no paging (multiboot). */
static bool kvm_vcpu_set_boot_state(KVMCPU *cpu, const BootState *boot,
                                    Error **errp)
{
    struct kvm_sregs sregs;
    struct kvm_regs regs;
    int ret;

    ret = kvm_vcpu_ioctl(cpu, KVM_GET_SREGS, &sregs);
    if (ret < 0) {
        error_setg_errno(errp, -ret, "kvm: KVM_GET_SREGS failed");
        return false;
    }
    kvm_seg_flat(&sregs.cs, 0x08, 0xb); /* code, exec/read, accessed */
    kvm_seg_flat(&sregs.ds, 0x10, 0x3); /* data, read/write, accessed */
    sregs.es = sregs.fs = sregs.gs = sregs.ss = sregs.ds;
    memset(&sregs.tr, 0, sizeof(sregs.tr));
    sregs.tr.limit = 0xffff;
    sregs.tr.type = 0xb; /* busy 32-bit TSS */
    sregs.tr.present = 1;
    memset(&sregs.ldt, 0, sizeof(sregs.ldt));
    sregs.ldt.type = 0x2;
    sregs.ldt.present = 1;
    sregs.ldt.unusable = 1;
    sregs.gdt.base = boot->gdt_base;
    sregs.gdt.limit = boot->gdt_limit;
    sregs.cr0 = 0x11; /* PE | ET */
    sregs.cr4 = 0;
    sregs.efer = 0;
    ret = kvm_vcpu_ioctl(cpu, KVM_SET_SREGS, &sregs);
    if (ret < 0) {
        error_setg_errno(errp, -ret, "kvm: KVM_SET_SREGS failed");
        return false;
    }

    memset(&regs, 0, sizeof(regs));
    regs.rip = boot->entry;
    regs.rax = boot->eax;
    regs.rbx = boot->ebx;
    regs.rflags = 0x2;
    ret = kvm_vcpu_ioctl(cpu, KVM_SET_REGS, &regs);
    if (ret < 0) {
        error_setg_errno(errp, -ret, "kvm: KVM_SET_REGS failed");
        return false;
    }
    return true;
}

/* CPUID 0x80000007 EDX bit 8: the TSC runs at a constant rate. */
#define CPUID_APM_INVTSC (1u << 8)

/*
 * Migration blocker while the guest is told its TSC is invariant: the
 * destination host's TSC may tick at another rate (QEMU's reason text).
 */
static Error *kvm_invtsc_blocker;

/*
 * invtsc: unless asked for (-cpu host,+invtsc), hide it, as QEMU's
 * migratable host CPU does; when asked for, register the migration
 * blocker (refused under -only-migratable).
 */
static bool kvm_cpuid_invtsc(struct kvm_cpuid2 *cpuid, bool want, Error **errp)
{
    for (uint32_t i = 0; i < cpuid->nent; i++) {
        struct kvm_cpuid_entry2 *e = &cpuid->entries[i];

        if (e->function != 0x80000007) {
            continue;
        }
        if (!want) {
            e->edx &= ~CPUID_APM_INVTSC;
            return true;
        }
        if (!(e->edx & CPUID_APM_INVTSC)) {
            break;
        }
        if (!kvm_invtsc_blocker) {
            error_setg(&kvm_invtsc_blocker,
                       "State blocked by non-migratable CPU device "
                       "(invtsc flag)");
        }
        return migrate_add_blocker(kvm_invtsc_blocker, errp) == 0;
    }
    if (want) {
        error_setg(errp, "kvm: the host CPU has no invariant TSC (invtsc)");
        return false;
    }
    return true;
}

static bool kvm_vcpu_set_cpuid(KVMCPU *cpu, bool invtsc, Error **errp)
{
    int nent = 128, ret;
    struct kvm_cpuid2 *cpuid;

    for (;;) {
        cpuid =
            g_malloc0(sizeof(*cpuid) + nent * sizeof(struct kvm_cpuid_entry2));
        cpuid->nent = nent;
        ret = ioctl(kvm_state.fd, KVM_GET_SUPPORTED_CPUID, cpuid);
        if (ret == 0) {
            break;
        }
        g_free(cpuid);
        if (errno != E2BIG || nent >= 4096) {
            error_setg_errno(errp, errno,
                             "kvm: KVM_GET_SUPPORTED_CPUID failed");
            return false;
        }
        nent *= 2;
    }
    if (!kvm_cpuid_invtsc(cpuid, invtsc, errp)) {
        g_free(cpuid);
        return false;
    }
    ret = kvm_vcpu_ioctl(cpu, KVM_SET_CPUID2, cpuid);
    g_free(cpuid);
    if (ret < 0) {
        error_setg_errno(errp, -ret, "kvm: KVM_SET_CPUID2 failed");
        return false;
    }
    return true;
}

/* ---- migration state: get (pre_save) / set (post_load) ------------- */

/*
 * The state each direction copies: KVMCPUState and KVMSegState use the
 * kernel's field names where they can, so one list serves get and set.
 * X(kvm_struct_member, state_member).
 */
/* clang-format off */
#define KVM_SEG_FIELDS(X)                                               \
    X(base, base) X(limit, limit) X(selector, selector) X(type, type)   \
    X(present, present) X(dpl, dpl) X(db, db) X(s, s) X(l, l) X(g, g)   \
    X(avl, avl) X(unusable, unusable)
/* clang-format on */

/* struct kvm_regs members in KVMCPUState.regs[] order. */
static const size_t kvm_cpu_regs_offsets[] = {
    offsetof(struct kvm_regs, rax), offsetof(struct kvm_regs, rbx),
    offsetof(struct kvm_regs, rcx), offsetof(struct kvm_regs, rdx),
    offsetof(struct kvm_regs, rsi), offsetof(struct kvm_regs, rdi),
    offsetof(struct kvm_regs, rsp), offsetof(struct kvm_regs, rbp),
    offsetof(struct kvm_regs, r8),  offsetof(struct kvm_regs, r9),
    offsetof(struct kvm_regs, r10), offsetof(struct kvm_regs, r11),
    offsetof(struct kvm_regs, r12), offsetof(struct kvm_regs, r13),
    offsetof(struct kvm_regs, r14), offsetof(struct kvm_regs, r15),
    offsetof(struct kvm_regs, rip), offsetof(struct kvm_regs, rflags),
};
G_STATIC_ASSERT(G_N_ELEMENTS(kvm_cpu_regs_offsets) ==
                G_N_ELEMENTS(((KVMCPUState *)0)->regs));

static uint64_t *kvm_regs_slot(struct kvm_regs *regs, size_t i)
{
    return (uint64_t *)((char *)regs + kvm_cpu_regs_offsets[i]);
}

/* struct kvm_sregs scalars (the segments and the bitmap go apart). */
/* clang-format off */
#define KVM_SREGS_FIELDS(X)                                             \
    X(gdt.base, gdt_base) X(gdt.limit, gdt_limit)                       \
    X(idt.base, idt_base) X(idt.limit, idt_limit)                       \
    X(cr0, cr0) X(cr2, cr2) X(cr3, cr3) X(cr4, cr4) X(cr8, cr8)         \
    X(efer, efer) X(apic_base, apic_base)
/* clang-format on */

/*
 * struct kvm_vcpu_events members restored as they were saved (the
 * payload and the flags are handled apart on the way back).
 */
/* clang-format off */
#define KVM_EVENTS_FIELDS(X)                                            \
    X(exception.injected, exc_injected) X(exception.nr, exc_nr)         \
    X(exception.has_error_code, exc_has_error_code)                     \
    X(exception.pending, exc_pending)                                   \
    X(exception.error_code, exc_error_code)                             \
    X(interrupt.injected, int_injected) X(interrupt.nr, int_nr)         \
    X(interrupt.soft, int_soft) X(interrupt.shadow, int_shadow)         \
    X(nmi.injected, nmi_injected) X(nmi.pending, nmi_pending)           \
    X(nmi.masked, nmi_masked) X(sipi_vector, sipi_vector)               \
    X(smi.smm, smi_smm) X(smi.pending, smi_pending)                     \
    X(smi.smm_inside_nmi, smi_inside_nmi)                               \
    X(smi.latched_init, smi_latched_init)
/* clang-format on */

static void kvm_seg_save(KVMSegState *d, const struct kvm_segment *s)
{
#define KVM_GET_FIELD(k, m) d->m = s->k;
    KVM_SEG_FIELDS(KVM_GET_FIELD)
#undef KVM_GET_FIELD
}

static void kvm_seg_load(struct kvm_segment *d, const KVMSegState *s)
{
    memset(d, 0, sizeof(*d));
#define KVM_SET_FIELD(k, m) d->k = s->m;
    KVM_SEG_FIELDS(KVM_SET_FIELD)
#undef KVM_SET_FIELD
}

static struct kvm_segment *kvm_sregs_seg(struct kvm_sregs *sr, int i)
{
    struct kvm_segment *segs[KVM_CPU_NR_SEGS] = {
        &sr->cs, &sr->ds, &sr->es, &sr->fs, &sr->gs, &sr->ss, &sr->tr, &sr->ldt,
    };

    return segs[i];
}

#define KVM_CPU_FAIL(what, r)                                                  \
    do {                                                                       \
        snprintf(cpu->state_msg, sizeof(cpu->state_msg), "%s failed: %s",      \
                 (what), strerror(-(r)));                                      \
        cpu->state_ret = (r);                                                  \
        return;                                                                \
    } while (0)

/* vCPU thread: read every register group into st. */
static void kvm_cpu_read_state(KVMCPU *cpu, KVMCPUState *st)
{
    struct kvm_regs regs;
    struct kvm_sregs sregs;
    struct kvm_vcpu_events ev;
    struct kvm_mp_state mp;
    struct {
        struct kvm_msrs hdr;
        struct kvm_msr_entry e[KVM_CPU_MSR_SLOTS];
    } msrs;
    int i, ret;

    cpu->state_ret = 0;
    ret = kvm_vcpu_ioctl(cpu, KVM_GET_REGS, &regs);
    if (ret < 0) {
        KVM_CPU_FAIL("KVM_GET_REGS", ret);
    }
    for (i = 0; i < (int)G_N_ELEMENTS(st->regs); i++) {
        st->regs[i] = *kvm_regs_slot(&regs, i);
    }

    ret = kvm_vcpu_ioctl(cpu, KVM_GET_SREGS, &sregs);
    if (ret < 0) {
        KVM_CPU_FAIL("KVM_GET_SREGS", ret);
    }
    for (i = 0; i < KVM_CPU_NR_SEGS; i++) {
        kvm_seg_save(&st->segs[i], kvm_sregs_seg(&sregs, i));
    }
#define KVM_GET_FIELD(k, m) st->m = sregs.k;
    KVM_SREGS_FIELDS(KVM_GET_FIELD)
#undef KVM_GET_FIELD
    memcpy(st->interrupt_bitmap, sregs.interrupt_bitmap,
           sizeof(st->interrupt_bitmap));

    memset(st->xsave, 0, sizeof(st->xsave));
    if (kvm_state.xsave) {
        G_STATIC_ASSERT(sizeof(struct kvm_xsave) == KVM_XSAVE_SIZE);
        ret = kvm_vcpu_ioctl(cpu, KVM_GET_XSAVE, st->xsave);
        if (ret < 0) {
            KVM_CPU_FAIL("KVM_GET_XSAVE", ret);
        }
    } else {
        struct kvm_fpu fpu;

        ret = kvm_vcpu_ioctl(cpu, KVM_GET_FPU, &fpu);
        if (ret < 0) {
            KVM_CPU_FAIL("KVM_GET_FPU", ret);
        }
        memcpy(st->xsave, &fpu, MIN(sizeof(fpu), sizeof(st->xsave)));
    }

    st->xcr0 = 1;
    if (kvm_state.xcrs) {
        struct kvm_xcrs xcrs;

        ret = kvm_vcpu_ioctl(cpu, KVM_GET_XCRS, &xcrs);
        if (ret < 0) {
            KVM_CPU_FAIL("KVM_GET_XCRS", ret);
        }
        for (i = 0; i < (int)xcrs.nr_xcrs && i < KVM_MAX_XCRS; i++) {
            if (xcrs.xcrs[i].xcr == 0) {
                st->xcr0 = xcrs.xcrs[i].value;
            }
        }
    }

    /* MSRs one at a time: an MSR the host lacks must not hide the rest. */
    st->msr_valid = 0;
    memset(st->msr_value, 0, sizeof(st->msr_value));
    for (i = 0; i < KVM_CPU_NR_MSRS; i++) {
        memset(&msrs, 0, sizeof(msrs));
        msrs.hdr.nmsrs = 1;
        msrs.e[0].index = kvm_cpu_msrs[i];
        if (kvm_vcpu_ioctl(cpu, KVM_GET_MSRS, &msrs) == 1) {
            st->msr_value[i] = msrs.e[0].data;
            st->msr_valid |= 1u << i;
        }
    }

    ret = kvm_vcpu_ioctl(cpu, KVM_GET_VCPU_EVENTS, &ev);
    if (ret < 0) {
        KVM_CPU_FAIL("KVM_GET_VCPU_EVENTS", ret);
    }
#define KVM_GET_FIELD(k, m) st->m = ev.k;
    KVM_EVENTS_FIELDS(KVM_GET_FIELD)
#undef KVM_GET_FIELD
    st->exc_has_payload = ev.exception_has_payload;
    st->exc_payload = ev.exception_payload;
    st->events_flags = ev.flags;

    ret = kvm_vcpu_ioctl(cpu, KVM_GET_MP_STATE, &mp);
    st->mp_state = ret < 0 ? KVM_MP_STATE_RUNNABLE : mp.mp_state;

    memset(st->dr, 0, sizeof(st->dr));
    st->dr6 = 0xffff0ff0;
    st->dr7 = 0x400;
    if (kvm_state.debugregs) {
        struct kvm_debugregs dbg;

        ret = kvm_vcpu_ioctl(cpu, KVM_GET_DEBUGREGS, &dbg);
        if (ret < 0) {
            KVM_CPU_FAIL("KVM_GET_DEBUGREGS", ret);
        }
        memcpy(st->dr, dbg.db, sizeof(st->dr));
        st->dr6 = dbg.dr6;
        st->dr7 = dbg.dr7;
    }

    ret = ioctl(cpu->fd, KVM_GET_TSC_KHZ, 0);
    st->tsc_khz = ret > 0 ? ret : 0;

    g_mutex_lock(&cpu->lock);
    st->halted = cpu->halted;
    g_mutex_unlock(&cpu->lock);
}

/* vCPU thread: read every register group into cpu->st. */
static void kvm_cpu_get_state(void *opaque)
{
    KVMCPU *cpu = opaque;

    kvm_cpu_read_state(cpu, &cpu->st);
}

/* vCPU thread: write cpu->st back into the vCPU. */
static void kvm_cpu_set_state(void *opaque)
{
    KVMCPU *cpu = opaque;
    KVMCPUState *st = &cpu->st;
    struct kvm_regs regs;
    struct kvm_sregs sregs;
    struct kvm_vcpu_events ev;
    struct {
        struct kvm_msrs hdr;
        struct kvm_msr_entry e[KVM_CPU_MSR_SLOTS];
    } msrs;
    int i, ret;

    cpu->state_ret = 0;

    /* Frequency first: KVM scales the TSC value set below with it. */
    if (st->tsc_khz && kvm_state.tsc_control) {
        ret = ioctl(cpu->fd, KVM_GET_TSC_KHZ, 0);
        if (ret > 0 && (uint32_t)ret != st->tsc_khz &&
            kvm_vcpu_ioctl(cpu, KVM_SET_TSC_KHZ,
                           (void *)(uintptr_t)st->tsc_khz) < 0) {
            warn_report("kvm: cannot set the guest TSC to %u kHz (host %d "
                        "kHz): guest time will run at a different rate",
                        st->tsc_khz, ret);
        }
    }

    ret = kvm_vcpu_ioctl(cpu, KVM_GET_SREGS, &sregs);
    if (ret < 0) {
        KVM_CPU_FAIL("KVM_GET_SREGS", ret);
    }
    for (i = 0; i < KVM_CPU_NR_SEGS; i++) {
        kvm_seg_load(kvm_sregs_seg(&sregs, i), &st->segs[i]);
    }
#define KVM_SET_FIELD(k, m) sregs.k = st->m;
    KVM_SREGS_FIELDS(KVM_SET_FIELD)
#undef KVM_SET_FIELD
    memcpy(sregs.interrupt_bitmap, st->interrupt_bitmap,
           sizeof(sregs.interrupt_bitmap));

    /* XCR0 before XSAVE (the area's features) and CR4 (OSXSAVE). */
    if (kvm_state.xcrs) {
        struct kvm_xcrs xcrs;

        memset(&xcrs, 0, sizeof(xcrs));
        xcrs.nr_xcrs = 1;
        xcrs.xcrs[0].xcr = 0;
        xcrs.xcrs[0].value = st->xcr0;
        ret = kvm_vcpu_ioctl(cpu, KVM_SET_XCRS, &xcrs);
        if (ret < 0) {
            KVM_CPU_FAIL("KVM_SET_XCRS (xcr0 from the stream)", ret);
        }
    }
    ret = kvm_vcpu_ioctl(cpu, KVM_SET_SREGS, &sregs);
    if (ret < 0) {
        KVM_CPU_FAIL("KVM_SET_SREGS (segment/control registers from the "
                     "stream)",
                     ret);
    }

    for (i = 0; i < (int)G_N_ELEMENTS(st->regs); i++) {
        *kvm_regs_slot(&regs, i) = st->regs[i];
    }
    regs.rflags |= 0x2;
    ret = kvm_vcpu_ioctl(cpu, KVM_SET_REGS, &regs);
    if (ret < 0) {
        KVM_CPU_FAIL("KVM_SET_REGS", ret);
    }

    if (kvm_state.xsave) {
        ret = kvm_vcpu_ioctl(cpu, KVM_SET_XSAVE, st->xsave);
        if (ret < 0) {
            KVM_CPU_FAIL("KVM_SET_XSAVE (FPU state from the stream)", ret);
        }
    } else {
        struct kvm_fpu fpu;

        memcpy(&fpu, st->xsave, sizeof(fpu));
        ret = kvm_vcpu_ioctl(cpu, KVM_SET_FPU, &fpu);
        if (ret < 0) {
            KVM_CPU_FAIL("KVM_SET_FPU", ret);
        }
    }

    /* MSRs one at a time; TSC restores the guest's clock. */
    for (i = 0; i < KVM_CPU_NR_MSRS; i++) {
        if (!(st->msr_valid & (1u << i))) {
            continue;
        }
        memset(&msrs, 0, sizeof(msrs));
        msrs.hdr.nmsrs = 1;
        msrs.e[0].index = kvm_cpu_msrs[i];
        msrs.e[0].data = st->msr_value[i];
        if (kvm_vcpu_ioctl(cpu, KVM_SET_MSRS, &msrs) != 1) {
            warn_report("kvm: cannot restore MSR 0x%x = 0x%" PRIx64,
                        kvm_cpu_msrs[i], st->msr_value[i]);
        }
    }

    memset(&ev, 0, sizeof(ev));
#define KVM_SET_FIELD(k, m) ev.k = st->m;
    KVM_EVENTS_FIELDS(KVM_SET_FIELD)
#undef KVM_SET_FIELD
    ev.flags = KVM_VCPUEVENT_VALID_NMI_PENDING |
               KVM_VCPUEVENT_VALID_SIPI_VECTOR | KVM_VCPUEVENT_VALID_SHADOW;
    if (st->events_flags & KVM_VCPUEVENT_VALID_SMM) {
        ev.flags |= KVM_VCPUEVENT_VALID_SMM;
    }
    if (st->exc_has_payload) {
        /* Only meaningful with KVM_CAP_EXCEPTION_PAYLOAD, never enabled. */
        ev.exception.pending = 0;
        ev.exception.injected = st->exc_injected || st->exc_pending;
    }
    ret = kvm_vcpu_ioctl(cpu, KVM_SET_VCPU_EVENTS, &ev);
    if (ret < 0) {
        KVM_CPU_FAIL("KVM_SET_VCPU_EVENTS", ret);
    }

    if (st->mp_state != KVM_MP_STATE_RUNNABLE) {
        struct kvm_mp_state mp = {.mp_state = st->mp_state};

        /* Without an in-kernel APIC only RUNNABLE is accepted. */
        if (kvm_vcpu_ioctl(cpu, KVM_SET_MP_STATE, &mp) < 0) {
            warn_report("kvm: cannot restore MP state %u", st->mp_state);
        }
    }

    if (kvm_state.debugregs) {
        struct kvm_debugregs dbg;

        memset(&dbg, 0, sizeof(dbg));
        memcpy(dbg.db, st->dr, sizeof(dbg.db));
        dbg.dr6 = st->dr6;
        dbg.dr7 = st->dr7;
        ret = kvm_vcpu_ioctl(cpu, KVM_SET_DEBUGREGS, &dbg);
        if (ret < 0) {
            KVM_CPU_FAIL("KVM_SET_DEBUGREGS", ret);
        }
    }

    g_mutex_lock(&cpu->lock);
    cpu->halted = st->halted;
    g_cond_broadcast(&cpu->cond);
    g_mutex_unlock(&cpu->lock);
}

/* Any thread; the vCPU is paused (vm_stop before the device state). */
static int kvm_cpu_pre_save(void *opaque)
{
    KVMCPU *cpu = opaque;

    kvm_vcpu_run_on(cpu, kvm_cpu_get_state, cpu);
    if (cpu->state_ret < 0) {
        error_report("kvm: cannot read the vCPU state: %s", cpu->state_msg);
    }
    return cpu->state_ret;
}

/* Any thread (incoming load); the vCPU is parked (not running yet). */
static int kvm_cpu_post_load(void *opaque, int version_id, Error **errp)
{
    KVMCPU *cpu = opaque;

    kvm_vcpu_run_on(cpu, kvm_cpu_set_state, cpu);
    if (cpu->state_ret < 0) {
        error_setg(errp, "kvm: cannot restore the vCPU state: %s",
                   cpu->state_msg);
    }
    return cpu->state_ret;
}

static const VMStateField vmstate_kvm_seg_fields[] = {
    VMSTATE_UINT64(base, KVMSegState),
    VMSTATE_UINT32(limit, KVMSegState),
    VMSTATE_UINT16(selector, KVMSegState),
    VMSTATE_UINT8(type, KVMSegState),
    VMSTATE_UINT8(present, KVMSegState),
    VMSTATE_UINT8(dpl, KVMSegState),
    VMSTATE_UINT8(db, KVMSegState),
    VMSTATE_UINT8(s, KVMSegState),
    VMSTATE_UINT8(l, KVMSegState),
    VMSTATE_UINT8(g, KVMSegState),
    VMSTATE_UINT8(avl, KVMSegState),
    VMSTATE_UINT8(unusable, KVMSegState),
    VMSTATE_END_OF_LIST()};

static const VMStateDescription vmstate_kvm_seg = {
    .name = "cpu/segment",
    .version_id = 1,
    .minimum_version_id = 1,
    .fields = vmstate_kvm_seg_fields,
};

#define CPU_F(f) offsetof(KVMCPU, st) + offsetof(KVMCPUState, f)
/* One VMS_SINGLE field of KVMCPUState; the wire width is the info's. */
#define CPU_SINGLE(f, bytes, inf)                                              \
    {                                                                          \
        .name = #f, .offset = CPU_F(f), .size = (bytes), .info = &(inf),       \
        .flags = VMS_SINGLE                                                    \
    }
#define CPU_U8(f) CPU_SINGLE(f, 1, vmstate_info_uint8)
#define CPU_U16(f) CPU_SINGLE(f, 2, vmstate_info_uint16)
#define CPU_U32(f) CPU_SINGLE(f, 4, vmstate_info_uint32)
#define CPU_U64(f) CPU_SINGLE(f, 8, vmstate_info_uint64)
#define CPU_U64_ARRAY(f, n)                                                    \
    {                                                                          \
        .name = #f, .offset = CPU_F(f), .size = 8, .num = (n),                 \
        .info = &vmstate_info_uint64, .flags = VMS_ARRAY                       \
    }

static const VMStateField vmstate_kvm_cpu_fields[] = {
    CPU_U64_ARRAY(regs, 18),
    {.name = "segs",
     .offset = CPU_F(segs),
     .num = KVM_CPU_NR_SEGS,
     .vmsd = &vmstate_kvm_seg,
     .size = sizeof(KVMSegState),
     .flags = VMS_STRUCT | VMS_ARRAY},
    CPU_U64(gdt_base),
    CPU_U16(gdt_limit),
    CPU_U64(idt_base),
    CPU_U16(idt_limit),
    CPU_U64(cr0),
    CPU_U64(cr2),
    CPU_U64(cr3),
    CPU_U64(cr4),
    CPU_U64(cr8),
    CPU_U64(efer),
    CPU_U64(apic_base),
    CPU_U64_ARRAY(interrupt_bitmap, 4),
    {.name = "xsave",
     .offset = CPU_F(xsave),
     .size = KVM_XSAVE_SIZE,
     .info = &vmstate_info_buffer,
     .flags = VMS_BUFFER},
    CPU_U64(xcr0),
    CPU_U32(msr_valid),
    CPU_U64_ARRAY(msr_value, KVM_CPU_MSR_SLOTS),
    CPU_U8(exc_injected),
    CPU_U8(exc_nr),
    CPU_U8(exc_has_error_code),
    CPU_U8(exc_pending),
    CPU_U32(exc_error_code),
    CPU_U8(exc_has_payload),
    CPU_U64(exc_payload),
    CPU_U8(int_injected),
    CPU_U8(int_nr),
    CPU_U8(int_soft),
    CPU_U8(int_shadow),
    CPU_U8(nmi_injected),
    CPU_U8(nmi_pending),
    CPU_U8(nmi_masked),
    CPU_U32(sipi_vector),
    CPU_U32(events_flags),
    CPU_U8(smi_smm),
    CPU_U8(smi_pending),
    CPU_U8(smi_inside_nmi),
    CPU_U8(smi_latched_init),
    CPU_U32(mp_state),
    CPU_U64_ARRAY(dr, 4),
    CPU_U64(dr6),
    CPU_U64(dr7),
    CPU_U32(tsc_khz),
    CPU_U8(halted),
    VMSTATE_END_OF_LIST()};

static const VMStateDescription vmstate_kvm_cpu = {
    .name = "cpu",
    .version_id = 1,
    .minimum_version_id = 1,
    .pre_save = kvm_cpu_pre_save,
    .post_load_errp = kvm_cpu_post_load,
    .fields = vmstate_kvm_cpu_fields,
};

/* ---- the vCPU thread ----------------------------------------------- */

static void kvm_vcpu_fail_bh(void *opaque)
{
    /* main loop, BQL held */
    vm_stop(RUN_STATE_INTERNAL_ERROR);
}

/* vCPU thread: report, stop running guest code, stop the VM. */
static void kvm_vcpu_fail(KVMCPU *cpu, const char *fmt, ...) QEMU_PRINTF(2, 3);
static void kvm_vcpu_fail(KVMCPU *cpu, const char *fmt, ...)
{
    g_autofree char *msg = NULL;
    struct kvm_regs regs;
    va_list ap;

    va_start(ap, fmt);
    msg = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    if (kvm_vcpu_ioctl(cpu, KVM_GET_REGS, &regs) == 0) {
        error_report("kvm: %s (EIP=0x%08" PRIx64 " EAX=0x%08" PRIx64
                     " ESP=0x%08" PRIx64 ") - the VM is stopped "
                     "(internal-error)",
                     msg, (uint64_t)regs.rip, (uint64_t)regs.rax,
                     (uint64_t)regs.rsp);
    } else {
        error_report("kvm: %s - the VM is stopped (internal-error)", msg);
    }
    g_mutex_lock(&cpu->lock);
    cpu->failed = true;
    g_mutex_unlock(&cpu->lock);
    main_loop_schedule(kvm_vcpu_fail_bh, NULL);
}

static void kvm_vcpu_handle_io(KVMCPU *cpu)
{
    struct kvm_run *run = cpu->run;
    uint8_t *data = (uint8_t *)run + run->io.data_offset;
    int size = run->io.size;
    uint32_t i;

    if (run->io.data_offset + (uint64_t)run->io.count * size >
            (uint64_t)kvm_state.vcpu_mmap_size ||
        size < 1 || size > 4) {
        kvm_vcpu_fail(cpu, "bad KVM_EXIT_IO data");
        return;
    }
    for (i = 0; i < run->io.count; i++, data += size) {
        if (run->io.direction == KVM_EXIT_IO_OUT) {
            uint32_t v = 0;

            memcpy(&v, data, size);
            ioport_write(run->io.port, v, size);
        } else {
            uint32_t v = ioport_read(run->io.port, size);

            memcpy(data, &v, size);
        }
    }
}

static void kvm_vcpu_handle_exit(KVMCPU *cpu)
{
    struct kvm_run *run = cpu->run;

    switch (run->exit_reason) {
    case KVM_EXIT_IO:
        kvm_vcpu_handle_io(cpu);
        break;
    case KVM_EXIT_MMIO:
        /* No MMIO devices: reads see all-ones, writes are dropped. */
        if (!run->mmio.is_write) {
            memset(run->mmio.data, 0xff, sizeof(run->mmio.data));
        }
        break;
    case KVM_EXIT_HLT:
        /* Nothing can raise an interrupt: the guest is done. */
        g_mutex_lock(&cpu->lock);
        cpu->halted = true;
        g_mutex_unlock(&cpu->lock);
        break;
    case KVM_EXIT_INTR:
        break;
    case KVM_EXIT_DIRTY_RING_FULL:
        if (!cpu->ring ||
            !kvm_dirty_ring_harvest(cpu->ring, &cpu->ring_fetch)) {
            /* full yet nothing to harvest: KVM lost track of the ring */
            kvm_vcpu_fail(cpu, "dirty ring stuck full (host KVM "
                               "overflowed it) - use the dirty bitmap (no "
                               "dirty-ring-size)");
        }
        break;
    case KVM_EXIT_SHUTDOWN:
        kvm_vcpu_fail(cpu, "guest triple fault (KVM_EXIT_SHUTDOWN)");
        break;
    case KVM_EXIT_FAIL_ENTRY:
        kvm_vcpu_fail(
            cpu,
            "KVM_EXIT_FAIL_ENTRY: hardware entry failure "
            "reason 0x%llx",
            (unsigned long long)run->fail_entry.hardware_entry_failure_reason);
        break;
    case KVM_EXIT_INTERNAL_ERROR:
        kvm_vcpu_fail(cpu, "KVM_EXIT_INTERNAL_ERROR: suberror %u%s",
                      run->internal.suberror,
                      run->internal.suberror == KVM_INTERNAL_ERROR_EMULATION
                          ? " (instruction emulation failed)"
                          : "");
        break;
    default:
        kvm_vcpu_fail(cpu, "unhandled KVM exit reason %u", run->exit_reason);
        break;
    }
}

static void *kvm_vcpu_thread_fn(void *arg)
{
    KVMCPU *cpu = arg;
    sigset_t set;

    cpus_note_vcpu_thread();
    sigemptyset(&set);
    sigaddset(&set, SIG_IPI);
    pthread_sigmask(SIG_UNBLOCK, &set, NULL);

    g_mutex_lock(&cpu->lock);
    for (;;) {
        int ret;

        while (cpu->quit || (cpu->work && !cpu->work_done) || !cpu->want_run ||
               cpu->halted || cpu->failed) {
            if (cpu->work && !cpu->work_done) {
                void (*fn)(void *) = cpu->work;

                cpu->parked = true;
                g_mutex_unlock(&cpu->lock);
                fn(cpu->work_opaque);
                g_mutex_lock(&cpu->lock);
                cpu->work_done = true;
                g_cond_broadcast(&cpu->cond);
                continue;
            }
            if (cpu->quit) {
                cpu->parked = true;
                g_cond_broadcast(&cpu->cond);
                g_mutex_unlock(&cpu->lock);
                return NULL;
            }
            if (!cpu->parked) {
                cpu->parked = true;
                g_cond_broadcast(&cpu->cond);
            }
            g_cond_wait(&cpu->cond, &cpu->lock);
        }
        cpu->parked = false;
        g_mutex_unlock(&cpu->lock);

        if (cpu_throttle_pending()) {
            cpu_throttle_vcpu_sleep();
        }
        ret = ioctl(cpu->fd, KVM_RUN, 0);
        __atomic_store_n(&cpu->run->immediate_exit, 0, __ATOMIC_SEQ_CST);
        if (ret < 0) {
            if (errno != EINTR && errno != EAGAIN) {
                kvm_vcpu_fail(cpu, "KVM_RUN failed: %s", strerror(errno));
            }
        } else {
            kvm_vcpu_handle_exit(cpu);
        }
        g_mutex_lock(&cpu->lock);
    }
}

/* ---- HMP info registers ------------------------------------------- */

typedef struct KVMDumpWork {
    KVMCPU *cpu;
    KVMCPUState st;
} KVMDumpWork;

static void kvm_cpu_dump_work(void *opaque)
{
    KVMDumpWork *w = opaque;

    w->cpu->state_ret = 0;
    kvm_cpu_read_state(w->cpu, &w->st);
}

/* The descriptor-cache flags word as QEMU prints it (type at bit 8). */
static uint32_t kvm_seg_flags(const KVMSegState *sg)
{
    return (sg->type << 8) | (sg->s << 12) | (sg->dpl << 13) |
           (sg->present << 15) | (sg->avl << 20) | (sg->l << 21) |
           (sg->db << 22) | (sg->g << 23);
}

/*
 * QEMU's 32-bit register layout (general, segment, descriptor tables,
 * control and debug registers), then FPU control words and XMM0-7 from
 * the XSAVE area.  The TSC is left out (it keeps counting while paused).
 */
static void hmp_info_registers(Monitor *mon)
{
    static const char *const seg_names[] = {
        "CS ", "DS ", "ES ", "FS ", "GS ", "SS ", "TR ", "LDT",
    };
    static const int seg_order[] = {2, 0, 5, 1, 3, 4, 7, 6};
    g_autofree KVMDumpWork *w = g_new0(KVMDumpWork, 1);
    const KVMCPUState *st = &w->st;
    uint64_t fl;
    int i;

    if (!kvm_cpu) {
        monitor_printf(mon, "No CPU available\n");
        return;
    }
    w->cpu = kvm_cpu;
    kvm_vcpu_run_on(kvm_cpu, kvm_cpu_dump_work, w);
    if (kvm_cpu->state_ret < 0) {
        monitor_printf(mon, "kvm: %s\n", kvm_cpu->state_msg);
        return;
    }
    fl = st->regs[17];
    monitor_printf(mon,
                   "EAX=%08x EBX=%08x ECX=%08x EDX=%08x\n"
                   "ESI=%08x EDI=%08x EBP=%08x ESP=%08x\n",
                   (uint32_t)st->regs[0], (uint32_t)st->regs[1],
                   (uint32_t)st->regs[2], (uint32_t)st->regs[3],
                   (uint32_t)st->regs[4], (uint32_t)st->regs[5],
                   (uint32_t)st->regs[7], (uint32_t)st->regs[6]);
    monitor_printf(mon,
                   "EIP=%08x EFL=%08x [%c%c%c%c%c%c%c] CPL=%d II=%d "
                   "A20=1 SMM=%d HLT=%d\n",
                   (uint32_t)st->regs[16], (uint32_t)fl, fl & 0x400 ? 'D' : '-',
                   fl & 0x800 ? 'O' : '-', fl & 0x80 ? 'S' : '-',
                   fl & 0x40 ? 'Z' : '-', fl & 0x10 ? 'A' : '-',
                   fl & 0x4 ? 'P' : '-', fl & 0x1 ? 'C' : '-', st->segs[5].dpl,
                   st->int_shadow ? 1 : 0, st->smi_smm, st->halted);
    for (i = 0; i < KVM_CPU_NR_SEGS; i++) {
        const KVMSegState *sg = &st->segs[seg_order[i]];

        monitor_printf(mon, "%s=%04x %08x %08x %08x\n", seg_names[seg_order[i]],
                       sg->selector, (uint32_t)sg->base, sg->limit,
                       kvm_seg_flags(sg));
    }
    monitor_printf(mon, "GDT=     %08x %08x\nIDT=     %08x %08x\n",
                   (uint32_t)st->gdt_base, st->gdt_limit,
                   (uint32_t)st->idt_base, st->idt_limit);
    monitor_printf(mon, "CR0=%08x CR2=%08x CR3=%08x CR4=%08x\n",
                   (uint32_t)st->cr0, (uint32_t)st->cr2, (uint32_t)st->cr3,
                   (uint32_t)st->cr4);
    monitor_printf(mon,
                   "DR0=%08x DR1=%08x DR2=%08x DR3=%08x\n"
                   "DR6=%08x DR7=%08x\n",
                   (uint32_t)st->dr[0], (uint32_t)st->dr[1],
                   (uint32_t)st->dr[2], (uint32_t)st->dr[3], (uint32_t)st->dr6,
                   (uint32_t)st->dr7);
    monitor_printf(mon, "EFER=%016" PRIx64 " XCR0=%016" PRIx64 "\n", st->efer,
                   st->xcr0);
    /* kvm_cpu_msrs[1..4]: SYSENTER_CS/ESP/EIP, PAT */
    monitor_printf(mon,
                   "SYSENTER_CS=%08x SYSENTER_ESP=%08x "
                   "SYSENTER_EIP=%08x PAT=%016" PRIx64 "\n",
                   (uint32_t)st->msr_value[1], (uint32_t)st->msr_value[2],
                   (uint32_t)st->msr_value[3], st->msr_value[4]);
    monitor_printf(
        mon, "FCW=%04x FSW=%04x MXCSR=%08x\n", lduw_le_p(st->xsave + XSAVE_FCW),
        lduw_le_p(st->xsave + XSAVE_FSW), ldl_le_p(st->xsave + XSAVE_MXCSR));
    for (i = 0; i < 8; i++) {
        uint64_t lo, hi;

        lo = ldq_le_p(st->xsave + XSAVE_XMM0 + i * 16);
        hi = ldq_le_p(st->xsave + XSAVE_XMM0 + 8 + i * 16);
        monitor_printf(mon, "XMM%02d=%016" PRIx64 "%016" PRIx64 "%s", i, hi, lo,
                       (i & 1) ? "\n" : " ");
    }
}

/* ---- AccelOps hooks ------------------------------------------------ */

bool kvm_vcpu_create(MachineState *ms, Error **errp)
{
    KVMCPU *cpu;
    struct sigaction sa;
    sigset_t set, old;
    int ret;

    if (!ms->boot.valid) {
        error_setg(errp, "kvm: no boot state (the machine loaded no "
                         "kernel)");
        return false;
    }
    cpu = g_new0(KVMCPU, 1);
    g_mutex_init(&cpu->lock);
    g_cond_init(&cpu->cond);
    g_mutex_init(&cpu->work_serial);

    cpu->fd = ioctl(kvm_state.vm_fd, KVM_CREATE_VCPU, 0);
    if (cpu->fd < 0) {
        error_setg_errno(errp, errno, "kvm: KVM_CREATE_VCPU failed");
        goto err_free;
    }
    (void)fcntl(cpu->fd, F_SETFD, FD_CLOEXEC);
    cpu->run = mmap(NULL, kvm_state.vcpu_mmap_size, PROT_READ | PROT_WRITE,
                    MAP_SHARED, cpu->fd, 0);
    if (cpu->run == MAP_FAILED) {
        error_setg_errno(errp, errno, "kvm: cannot map the vCPU run area");
        goto err_close_vcpu;
    }
    if (kvm_state.dirty_ring_entries) {
        size_t bytes =
            (size_t)kvm_state.dirty_ring_entries * sizeof(struct kvm_dirty_gfn);

        cpu->ring = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_SHARED,
                         cpu->fd, getpagesize() * KVM_DIRTY_LOG_PAGE_OFFSET);
        if (cpu->ring == MAP_FAILED) {
            cpu->ring = NULL;
            error_setg_errno(errp, errno, "kvm: cannot map the dirty ring");
            goto err_unmap;
        }
    }
    if (!kvm_vcpu_set_cpuid(cpu, ms->invtsc, errp) ||
        !kvm_vcpu_set_boot_state(cpu, &ms->boot, errp)) {
        goto err_unmap;
    }

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = kvm_sig_ipi_handler; /* no SA_RESTART */
    sigemptyset(&sa.sa_mask);
    sigaction(SIG_IPI, &sa, NULL);

    /* Only the vCPU thread takes SIG_IPI: block it around the creation. */
    sigemptyset(&set);
    sigaddset(&set, SIG_IPI);
    pthread_sigmask(SIG_BLOCK, &set, &old);
    ret = pthread_create(&cpu->thread, NULL, kvm_vcpu_thread_fn, cpu);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (ret) {
        error_setg_errno(errp, ret, "kvm: cannot create the vCPU thread");
        goto err_unmap;
    }
    pthread_setname_np(cpu->thread, "CPU 0/KVM");
    cpu->thread_started = true;
    kvm_cpu = cpu;
    vmstate_register(0, &vmstate_kvm_cpu, cpu);
    hmp_register_info("registers", "show the cpu registers",
                      hmp_info_registers);
    return true;

err_unmap:
    if (cpu->ring) {
        munmap(cpu->ring, (size_t)kvm_state.dirty_ring_entries *
                              sizeof(struct kvm_dirty_gfn));
    }
    munmap(cpu->run, kvm_state.vcpu_mmap_size);
err_close_vcpu:
    close(cpu->fd);
err_free:
    g_free(cpu);
    return false;
}

void kvm_vcpu_resume(void)
{
    KVMCPU *cpu = kvm_cpu;

    if (!cpu) {
        return;
    }
    g_mutex_lock(&cpu->lock);
    cpu->want_run = true;
    g_cond_broadcast(&cpu->cond);
    g_mutex_unlock(&cpu->lock);
}

void kvm_vcpu_pause(void)
{
    KVMCPU *cpu = kvm_cpu;

    if (!cpu) {
        return;
    }
    g_mutex_lock(&cpu->lock);
    cpu->want_run = false;
    /*
     * The vCPU may be in a throttle sleep rather than in KVM_RUN: wake
     * that too.  Pausing is on the migration's downtime path, so re-kick
     * every millisecond (a 10 ms interval showed as 10 and 22 ms downtime
     * outliers in the stress-kvm benchmark).
     */
    cpu_throttle_wakeup();
    kvm_vcpu_kick_locked(cpu);
    while (!cpu->parked) {
        /* re-kick: a throttle sleep may have swallowed the first one */
        if (!g_cond_wait_until(&cpu->cond, &cpu->lock,
                               g_get_monotonic_time() + 1000)) {
            cpu_throttle_wakeup();
            kvm_vcpu_kick_locked(cpu);
        }
    }
    g_mutex_unlock(&cpu->lock);
}

static void kvm_vcpu_get_tsc_khz(void *opaque)
{
    KVMCPU *cpu = kvm_cpu;
    int ret = ioctl(cpu->fd, KVM_GET_TSC_KHZ, 0);

    *(uint32_t *)opaque = ret > 0 ? ret : 0;
}

uint32_t kvm_vcpu_tsc_khz(void)
{
    uint32_t khz = 0;

    if (!kvm_cpu) {
        return 0;
    }
    kvm_vcpu_run_on(kvm_cpu, kvm_vcpu_get_tsc_khz, &khz);
    return khz;
}

typedef struct KVMResetWork {
    KVMCPU *cpu;
    const BootState *boot;
    Error *err;
} KVMResetWork;

/*
 * vCPU thread: power-on state.  The register groups the boot state does
 * not set (FPU/SSE, XCR0, SYSENTER/SYSCALL MSRs, PAT, pending events,
 * debug registers) get their architectural reset values through the same
 * path as a migration load; the TSC keeps counting (it is not reset).
 */
static void kvm_vcpu_reset_work(void *opaque)
{
    KVMResetWork *w = opaque;
    KVMCPU *cpu = w->cpu;
    KVMCPUState *st = &cpu->st;
    int i;

    kvm_cpu_get_state(cpu);
    if (cpu->state_ret < 0) {
        error_setg(&w->err, "kvm: reset: %s", cpu->state_msg);
        return;
    }
    memset(st->xsave, 0, sizeof(st->xsave));
    stw_le_p(st->xsave + XSAVE_FCW, XSAVE_FCW_RESET);
    stl_le_p(st->xsave + XSAVE_MXCSR, XSAVE_MXCSR_RESET);
    st->xcr0 = 1;
    st->cr4 = 0; /* before XCR0 may drop AVX */
    for (i = 0; i < KVM_CPU_NR_MSRS; i++) {
        switch (kvm_cpu_msrs[i]) {
        case MSR_IA32_TSC:
        case MSR_IA32_TSC_ADJUST:
        case MSR_IA32_MISC_ENABLE:
            st->msr_valid &= ~(1u << i);
            break;
        case MSR_IA32_CR_PAT:
            st->msr_value[i] = 0x0007040600070406ULL;
            break;
        default:
            st->msr_value[i] = 0;
            break;
        }
    }
    st->exc_injected = st->exc_pending = st->exc_has_payload = 0;
    st->int_injected = st->int_shadow = 0;
    st->nmi_injected = st->nmi_pending = st->nmi_masked = 0;
    st->smi_smm = st->smi_pending = st->smi_inside_nmi = 0;
    st->smi_latched_init = 0;
    st->mp_state = KVM_MP_STATE_RUNNABLE;
    memset(st->dr, 0, sizeof(st->dr));
    st->dr6 = 0xffff0ff0;
    st->dr7 = 0x400;
    st->tsc_khz = 0;
    st->halted = 0;
    memset(st->interrupt_bitmap, 0, sizeof(st->interrupt_bitmap));
    kvm_cpu_set_state(cpu);
    if (cpu->state_ret < 0) {
        error_setg(&w->err, "kvm: reset: %s", cpu->state_msg);
        return;
    }
    if (!kvm_vcpu_set_boot_state(cpu, w->boot, &w->err)) {
        return;
    }
    g_mutex_lock(&cpu->lock);
    cpu->halted = false;
    cpu->failed = false;
    g_mutex_unlock(&cpu->lock);
}

bool kvm_vcpu_reset(MachineState *ms, Error **errp)
{
    KVMResetWork w = {.cpu = kvm_cpu, .boot = &ms->boot};

    if (!kvm_cpu) {
        return true;
    }
    kvm_vcpu_run_on(kvm_cpu, kvm_vcpu_reset_work, &w);
    if (w.err) {
        error_propagate(errp, w.err);
        return false;
    }
    return true;
}

static void kvm_vcpu_harvest_work(void *opaque)
{
    KVMCPU *cpu = opaque;

    kvm_dirty_ring_harvest(cpu->ring, &cpu->ring_fetch);
}

void kvm_vcpu_dirty_ring_flush(void)
{
    KVMCPU *cpu = kvm_cpu;

    if (cpu && cpu->ring) {
        /* run_on kicks the vCPU out of KVM_RUN: that flushes PML first */
        kvm_vcpu_run_on(cpu, kvm_vcpu_harvest_work, cpu);
    }
}

void kvm_vcpu_destroy(void)
{
    KVMCPU *cpu = kvm_cpu;

    if (!cpu) {
        return;
    }
    vmstate_unregister(&vmstate_kvm_cpu, cpu);
    g_mutex_lock(&cpu->lock);
    cpu->quit = true;
    kvm_vcpu_kick_locked(cpu);
    g_mutex_unlock(&cpu->lock);
    cpu_throttle_wakeup();
    pthread_join(cpu->thread, NULL);
    kvm_cpu = NULL;
    if (cpu->ring) {
        munmap(cpu->ring, (size_t)kvm_state.dirty_ring_entries *
                              sizeof(struct kvm_dirty_gfn));
    }
    munmap(cpu->run, kvm_state.vcpu_mmap_size);
    close(cpu->fd);
    g_free(cpu);
}
