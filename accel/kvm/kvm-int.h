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

typedef struct KVMState {
    int fd;                     /* /dev/kvm */
    int vm_fd;
    int vcpu_mmap_size;
    /* KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2 flags enabled (0 = classic). */
    uint64_t manual_dirty_log;
    bool xsave;                 /* KVM_CAP_XSAVE */
    bool xcrs;                  /* KVM_CAP_XCRS */
    bool debugregs;             /* KVM_CAP_DEBUGREGS */
    bool tsc_control;           /* KVM_CAP_TSC_CONTROL */
} KVMState;

extern KVMState kvm_state;

/* vCPU side (kvm-cpu.c). */
bool kvm_vcpu_create(MachineState *ms, Error **errp);
void kvm_vcpu_resume(void);
void kvm_vcpu_pause(void);
void kvm_vcpu_kick(void);
void kvm_vcpu_destroy(void);
/* KVM_GET_TSC_KHZ of the running vCPU, or 0 when there is none. */
uint32_t kvm_vcpu_tsc_khz(void);

#endif /* ACCEL_KVM_INT_H */
