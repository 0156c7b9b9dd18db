/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * vl-mgmt.h: the command-line options a management tool passes (libvirt
 * 9.0 starting a domain or probing the binary), kept out of vl.c.
 *
 * (-name ...,debug-threads=on is vl.c's: Tern always names its threads.)
 * Each option is accepted with QEMU's meaning or refused with a one-line
 * error saying what Tern cannot do; none is silently misread.  Options
 * are parsed in command-line order into a VlMgmtConfig; vl.c applies it
 * at the right start-up steps (vl_mgmt_init_*).  Main thread only.
 */
#ifndef SYSTEM_VL_MGMT_H
#define SYSTEM_VL_MGMT_H

#include "qemu/osdep.h"
#include "qapi/error.h"
#include "qemu/option.h"

typedef struct VlMgmtConfig {
    GPtrArray *chardevs; /* VlChardev *, -chardev in order */
    GPtrArray *mons;     /* QemuOpts *, -mon in order */
    GPtrArray *devices;  /* QemuOpts *, -device in order */
    bool mem_lock;       /* -overcommit mem-lock=on */
} VlMgmtConfig;

/* -h: one line per option of vl-mgmt.c. */
void vl_mgmt_print_help(void);
/* -1: not one of ours; 0: takes no argument; 1: takes one. */
int vl_mgmt_option_arity(const char *name);
/* Parse one option (arg NULL when it takes none). */
bool vl_mgmt_option(const char *name, const char *arg, VlMgmtConfig *cfg,
                    Error **errp);
/*
 * -object '{"qom-type": ..., "id": ..., ...}' (QEMU's JSON form): the
 * properties as strings.  Returns NULL with errp set on bad JSON.
 */
QemuOpts *vl_mgmt_json_to_opts(const char *json, Error **errp);
/*
 * -machine's usb= and dump-guest-core= (the rest is vl.c's).  usb=on
 * is refused (pc-lite has no USB); dump-guest-core=off is applied to
 * guest RAM by vl_mgmt_init_machine().
 */
bool vl_mgmt_machine_opts(QemuOpts *opts, Error **errp);
/*
 * An accelerator list as libvirt writes it ("kvm:tcg"): the first that
 * can work here, with the options after the first comma kept.  "tcg"
 * means Tern's soft vCPU (see docs/libvirt.md).  NULL spec stays NULL.
 * Returns a new string or NULL with errp set.
 */
char *vl_mgmt_accel_resolve(const char *spec, Error **errp);

/* Step 4: -mon chardev=ID (after -qmp/-monitor). */
bool vl_mgmt_init_monitors(VlMgmtConfig *cfg, Error **errp);
/* Step 5: -object in JSON form, -device isa-serial,chardev=ID. */
bool vl_mgmt_init_devices(VlMgmtConfig *cfg, Error **errp);
/* Step 6, after the machine exists: dump-guest-core, mem-lock. */
bool vl_mgmt_init_machine(VlMgmtConfig *cfg, Error **errp);
/*
 * Register query-chardev (the -chardev table) and the probing commands
 * of qmp-probe.c.
 */
void vl_mgmt_register_commands(void);
/* qmp-probe.c: query-target, query-kvm, qom-list-types, ... */
void qmp_probe_register_commands(void);

#endif /* SYSTEM_VL_MGMT_H */
