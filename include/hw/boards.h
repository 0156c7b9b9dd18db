/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * boards.h: machine types (none, pc-lite) and the machine state.
 *
 *  none     RAM only (block "ram", or the memory-backend's id), no vCPU;
 *           registers the "timer" and "globalstate" sections as QEMU's
 *           -M none does, so QEMU 7.2 RAM-only streams load into it.
 *  pc-lite  RAM from guest-physical 0, one vCPU, a 16550 UART at 0x3f8,
 *           a debug-exit port at 0x501 (isa-debug-exit), multiboot
 *           -kernel loading.
 */
#ifndef HW_BOARDS_H
#define HW_BOARDS_H

#include "qemu/osdep.h"
#include "qapi/error.h"

/* Where the vCPU starts (filled by the multiboot loader). */
typedef struct BootState {
    bool valid;
    uint32_t entry; /* EIP, 32-bit protected mode, flat segments */
    uint32_t eax;   /* multiboot magic 0x2BADB002 */
    uint32_t ebx;   /* guest-physical address of multiboot info */
    /*
     * GDTR: a flat GDT (null, 0x08 code, 0x10 data) the loader wrote to
     * guest RAM, so that the segment registers' descriptor caches match a
     * real table (as after QEMU's multiboot option ROM).  0/0 = none.
     */
    uint32_t gdt_base;
    uint16_t gdt_limit;
} BootState;

typedef struct MachineClass MachineClass;

typedef struct MachineState {
    const MachineClass *mc;
    uint64_t ram_size;     /* -m, bytes */
    char *memory_backend;  /* -machine memory-backend=ID or NULL */
    char *kernel_filename; /* -kernel */
    char *kernel_cmdline;  /* -append */
    int smp;               /* 1 */
    BootState boot;
    bool has_vcpu; /* false for none */
    bool invtsc;   /* -cpu host,+invtsc: expose the invariant TSC (KVM) */
} MachineState;

struct MachineClass {
    const char *name; /* sent in the CONFIGURATION record */
    const char *desc;
    bool has_vcpu;
    /* Create RAM, devices, load the kernel.  Main thread, BQL held. */
    bool (*init)(MachineState *ms, Error **errp);
    /*
     * Optional: put devices and the boot image back as at power-on
     * (system_reset); vCPUs are paused.  Main thread, BQL held.
     */
    bool (*reset)(MachineState *ms, Error **errp);
};

const MachineClass *machine_class_find(const char *name);
/* The i-th machine type (0, 1, ...), NULL past the last. */
const MachineClass *machine_class_nth(size_t i);
/* For -machine help. */
void machine_class_list(FILE *out);
/* The machine in use (after creation), or NULL. */
MachineState *current_machine(void);
void set_current_machine(MachineState *ms);
/* Name of the machine type, as sent in the CONFIGURATION record. */
const char *current_machine_type_name(void);

#endif /* HW_BOARDS_H */
