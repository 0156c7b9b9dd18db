/* SPDX-License-Identifier: GPL-2.0-or-later */
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

/*
 * Use the KVM dirty ring with this many entries per vCPU (a power of 2)
 * instead of the dirty bitmap; 0 = bitmap (default).  Before accel_init.
 */
void kvm_set_dirty_ring_size(uint32_t entries);

#endif /* SYSEMU_KVM_H */
