/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * accel.h: what an accelerator (kvm, soft) provides to the machine.
 *
 * One accelerator is chosen at start-up (-accel kvm|soft; default kvm when
 * /dev/kvm opens, else soft).  Its AccelOps are called on the main thread
 * with the BQL held, except where noted.  The accelerator also installs
 * its RAMDirtyLogOps (see sysemu/ramblock.h) in init.
 */
#ifndef SYSEMU_ACCEL_H
#define SYSEMU_ACCEL_H

#include "qemu/osdep.h"
#include "qapi/error.h"

typedef struct MachineState MachineState;

typedef struct AccelOps {
    const char *name; /* "kvm", "soft" */
    /* Open the hypervisor, map all RAM blocks, install dirty-log ops. */
    bool (*init)(MachineState *ms, Error **errp);
    /*
     * Create the vCPU thread(s), not yet running guest code, with the
     * machine's boot state (entry point, registers) from ms->boot.
     */
    bool (*vcpus_create)(MachineState *ms, Error **errp);
    /* Let the vCPUs run guest code. */
    void (*vcpus_resume)(void);
    /*
     * Stop the vCPUs; returns once none is executing guest code (so their
     * state and guest RAM are stable).  May drop and retake the BQL.
     */
    void (*vcpus_pause)(void);
    /* Wake a vCPU out of guest code (throttle, pause).  Any thread. */
    void (*vcpus_kick)(void);
    /* Tear down at exit (vCPUs paused). */
    void (*cleanup)(void);
    /*
     * Optional: put the (paused) vCPUs back in their power-on state at
     * ms->boot, clearing halted/failed (system_reset).  NULL = the
     * accelerator cannot reset.  Main thread, BQL held.
     */
    bool (*vcpus_reset)(MachineState *ms, Error **errp);
} AccelOps;

/*
 * Make ops available by its name.  Each accelerator built in is
 * registered once at start-up (vl.c), before the command line is read.
 * Main thread.
 */
void accel_register(const AccelOps *ops);
/* A registered accelerator by name ("kvm", "soft"), or NULL. */
const AccelOps *accel_find(const char *name);
/* The running accelerator (after accel_init), or NULL. */
const AccelOps *accel_current(void);
/*
 * Choose and init: name NULL = kvm when /dev/kvm opens, else soft (and
 * say so once on stderr).  Errors tell the user what to do, e.g.
 * "/dev/kvm: No such file or directory - enable KVM or use -accel soft".
 */
/* name may carry options: "kvm,dirty-ring-size=4096" (KVM dirty ring). */
bool accel_init(MachineState *ms, const char *name, Error **errp);

/* The accelerators' ops, for accel_register() (accel/kvm, accel/soft). */
extern const AccelOps kvm_accel_ops;
extern const AccelOps soft_accel_ops;

#endif /* SYSEMU_ACCEL_H */
