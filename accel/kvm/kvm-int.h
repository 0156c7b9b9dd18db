/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * kvm-int.h: state shared by the KVM accelerator's files (private).
 *
 *   kvm-all.c   /dev/kvm, the VM, memory slots, dirty logging, AccelOps
 *   kvm-cpu.c   the vCPU thread, its run loop, pause/resume/kick, and the
 *               "cpu" VMState section (register state for migration)
 */
#ifndef ACCEL_KVM_INT_H
#define ACCEL_KVM_INT_H

#include "qemu/osdep.h"
#include "qapi/error.h"
#include "hw/boards.h"

#include <linux/kvm.h>

typedef struct KVMState {
    int fd; /* /dev/kvm */
    int vm_fd;
    int vcpu_mmap_size;
    /* KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2 flags enabled (0 = classic). */
    uint64_t manual_dirty_log;
    bool xsave;       /* KVM_CAP_XSAVE */
    bool xcrs;        /* KVM_CAP_XCRS */
    bool debugregs;   /* KVM_CAP_DEBUGREGS */
    bool tsc_control; /* KVM_CAP_TSC_CONTROL */
    /* Dirty ring entries per vCPU (power of 2), 0 = dirty bitmap. */
    uint32_t dirty_ring_entries;
} KVMState;

extern KVMState kvm_state;

/* vCPU side (kvm-cpu.c). */
bool kvm_vcpu_create(MachineState *ms, Error **errp);
void kvm_vcpu_resume(void);
void kvm_vcpu_pause(void);
void kvm_vcpu_kick(void);
void kvm_vcpu_destroy(void);
/* Power-on state at ms->boot (system_reset); the vCPU is paused. */
bool kvm_vcpu_reset(MachineState *ms, Error **errp);
/* KVM_GET_TSC_KHZ of the running vCPU, or 0 when there is none. */
uint32_t kvm_vcpu_tsc_khz(void);

/*
 * Dirty ring (kvm_state.dirty_ring_entries != 0):
 * kvm_dirty_ring_harvest() moves the DIRTY entries of one vCPU ring,
 * from *fetch on, into the slots' pending bitmaps, marks them RESET and
 * calls KVM_RESET_DIRTY_RINGS; returns how many it took.  Called by the
 * vCPU thread only (ring full exit, or on request from a sync).
 * kvm_vcpu_dirty_ring_flush() makes the vCPU leave guest code (which
 * flushes the hardware's PML buffer into the ring) and harvest; returns
 * once done.  Any thread but the vCPU's.
 */
uint32_t kvm_dirty_ring_harvest(struct kvm_dirty_gfn *ring, uint32_t *fetch);
void kvm_vcpu_dirty_ring_flush(void);

#endif /* ACCEL_KVM_INT_H */
