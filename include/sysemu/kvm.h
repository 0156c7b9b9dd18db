/*
 * kvm.h: what the rest of Tern may ask the KVM accelerator.
 */
#ifndef SYSEMU_KVM_H
#define SYSEMU_KVM_H

#include "qemu/osdep.h"

/* Is KVM the running accelerator? */
bool kvm_enabled(void);

/*
 * The guest's TSC frequency in kHz: KVM_GET_TSC_KHZ (from the running VM
 * or a short-lived probe VM), else the host's "cpu MHz" in /proc/cpuinfo,
 * else 0.  Main thread.
 */
uint32_t kvm_host_tsc_khz(void);

#endif /* SYSEMU_KVM_H */
