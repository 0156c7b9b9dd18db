/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * machine.c: the machine types "none" and "pc-lite" (see hw/boards.h).
 *
 * RAM: the -machine memory-backend=ID object's block (named ID), else a
 * block named "ram" of -m bytes, as QEMU names them, at guest-physical 0.
 */
#include "qemu/osdep.h"
#include "hw/boards.h"
#include "hw/debugexit.h"
#include "hw/multiboot.h"
#include "hw/serial.h"
#include "migration/global_state.h"
#include "sysemu/hostmem.h"
#include "sysemu/ramblock.h"

#define PC_LITE_DEFAULT_RAM (128 * MiB)
#define SERIAL_COM1_BASE 0x3f8
#define DEBUGEXIT_BASE 0x501

static MachineState *the_machine;

static bool machine_ram_init(MachineState *ms, Error **errp)
{
    if (ms->memory_backend) {
        uint64_t size = host_memory_backend_size(ms->memory_backend, errp);
        RAMBlock *rb;

        if (!size) {
            return false;
        }
        /* -m given (non-zero) must agree with the backend, as in QEMU */
        if (ms->ram_size && ms->ram_size != size) {
            error_setg(errp, "Machine memory size does not match the size "
                             "of the memory backend");
            return false;
        }
        rb = host_memory_backend_use(ms->memory_backend, 0, errp);
        if (!rb) {
            return false;
        }
        ms->ram_size = rb->used_length;
        return true;
    }
    if (ms->ram_size == 0) {
        return true; /* -M none without -m: no RAM, as QEMU */
    }
    return ram_block_add("ram", ms->ram_size, NULL, errp) != NULL;
}

static bool machine_none_init(MachineState *ms, Error **errp)
{
    ms->has_vcpu = false;
    timer_state_register();
    if (!machine_ram_init(ms, errp)) {
        return false;
    }
    global_state_register();
    return true;
}

static bool machine_pc_lite_init(MachineState *ms, Error **errp)
{
    ms->has_vcpu = true;
    ms->smp = 1;
    if (!ms->memory_backend && ms->ram_size == 0) {
        ms->ram_size = PC_LITE_DEFAULT_RAM;
    }
    if (!ms->kernel_filename) {
        error_setg(errp, "machine pc-lite needs a multiboot kernel: use "
                         "-kernel FILE");
        return false;
    }
    if (!machine_ram_init(ms, errp)) {
        return false;
    }
    if (ms->ram_size < 2 * MiB) {
        error_setg(errp, "machine pc-lite needs at least 2 MiB of RAM");
        return false;
    }
    if (!multiboot_load(ms, errp)) {
        return false;
    }
    timer_state_register();
    serial_init(SERIAL_COM1_BASE);
    debugexit_init(DEBUGEXIT_BASE);
    global_state_register();
    return true;
}

static bool machine_pc_lite_reset(MachineState *ms, Error **errp)
{
    /* The kernel may have overwritten itself: load it again. */
    return multiboot_load(ms, errp);
}

static const MachineClass machine_classes[] = {
    {
        .name = "none",
        .desc = "empty machine",
        .has_vcpu = false,
        .init = machine_none_init,
    },
    {
        .name = "pc-lite",
        .desc = "RAM, one vCPU, 16550 UART, isa-debug-exit, multiboot",
        .has_vcpu = true,
        .init = machine_pc_lite_init,
        .reset = machine_pc_lite_reset,
    },
};

const MachineClass *machine_class_find(const char *name)
{
    size_t i;

    for (i = 0; i < ARRAY_SIZE(machine_classes); i++) {
        if (!strcmp(machine_classes[i].name, name)) {
            return &machine_classes[i];
        }
    }
    return NULL;
}

const MachineClass *machine_class_nth(size_t i)
{
    return i < ARRAY_SIZE(machine_classes) ? &machine_classes[i] : NULL;
}

void machine_class_list(FILE *out)
{
    size_t i;

    fprintf(out, "Supported machines are:\n");
    for (i = 0; i < ARRAY_SIZE(machine_classes); i++) {
        fprintf(out, "%-20s %s\n", machine_classes[i].name,
                machine_classes[i].desc);
    }
}

MachineState *current_machine(void)
{
    return the_machine;
}

void set_current_machine(MachineState *ms)
{
    the_machine = ms;
}

const char *current_machine_type_name(void)
{
    return the_machine && the_machine->mc ? the_machine->mc->name : "none";
}
