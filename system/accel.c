/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * accel.c: choosing and starting the accelerator (see sysemu/accel.h).
 */
#include "qemu/osdep.h"
#include "qemu/error-report.h"
#include "qemu/option.h"
#include "sysemu/accel.h"
#include "sysemu/kvm.h"

/* Enough for every accelerator Tern may grow (kvm, soft today). */
#define ACCEL_MAX 8

/*
 * The accelerators built in, in registration order.  Filled at start-up
 * on the main thread (accel_register) before the command line is read;
 * read-only afterwards.
 */
static const AccelOps *accels[ACCEL_MAX];
static unsigned accel_count;

static const AccelOps *current_accel;

void accel_register(const AccelOps *ops)
{
    g_assert(accel_count < ACCEL_MAX);
    g_assert(!accel_find(ops->name));
    accels[accel_count++] = ops;
}

const AccelOps *accel_find(const char *name)
{
    for (unsigned i = 0; i < accel_count; i++) {
        if (!strcmp(accels[i]->name, name)) {
            return accels[i];
        }
    }
    return NULL;
}

const AccelOps *accel_current(void)
{
    return current_accel;
}

/* Can /dev/kvm be opened read-write?  errno of the failure otherwise. */
static int accel_kvm_probe(void)
{
    int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);

    if (fd < 0) {
        return errno;
    }
    close(fd);
    return 0;
}

/*
 * Options after the name ("kvm,dirty-ring-size=4096", QEMU's syntax).
 * Only kvm has one.  false with errp on an unknown key or a bad value.
 */
static bool accel_apply_options(const char *name, QemuOpts *opts, Error **errp)
{
    static const char *const kvm_known[] = {"accel", "dirty-ring-size", NULL};
    static const char *const none_known[] = {"accel", NULL};
    Error *err = NULL;
    uint64_t entries;

    if (!qemu_opts_check_known(
            opts, strcmp(name, "kvm") ? none_known : kvm_known, errp)) {
        return false;
    }
    if (strcmp(name, "kvm") || !qemu_opt_has(opts, "dirty-ring-size")) {
        return true;
    }
    entries = qemu_opt_get_number(opts, "dirty-ring-size", 0, &err);
    if (err) {
        error_propagate(errp, err);
        return false;
    }
    if (entries &&
        (entries & (entries - 1) || entries > 65536 || entries < 1024)) {
        error_setg(errp,
                   "Invalid value for dirty-ring-size (%" PRIu64
                   "): must be a power of two between 1024 and 65536",
                   entries);
        return false;
    }
    kvm_set_dirty_ring_size(entries);
    return true;
}

bool accel_init(MachineState *ms, const char *spec, Error **errp)
{
    g_autoptr(GString) namebuf = NULL;
    QemuOpts *opts = NULL;
    const char *name = spec;
    const AccelOps *ops;
    bool ok;
    int err;

    if (spec && strchr(spec, ',')) {
        opts = qemu_opts_parse(spec, "accel", errp);
        if (!opts) {
            return false;
        }
        namebuf = g_string_new(qemu_opt_get(opts, "accel"));
        name = namebuf->str;
        ok = accel_apply_options(name, opts, errp);
        qemu_opts_free(opts);
        if (!ok) {
            return false;
        }
    }

    if (!name) {
        err = accel_kvm_probe();
        if (err == 0) {
            name = "kvm";
        } else {
            info_report("/dev/kvm: %s - using -accel soft", strerror(err));
            name = "soft";
        }
    } else if (!strcmp(name, "kvm")) {
        err = accel_kvm_probe();
        if (err) {
            error_setg(errp, "/dev/kvm: %s - enable KVM or use -accel soft",
                       strerror(err));
            return false;
        }
    }

    ops = accel_find(name);
    if (!ops) {
        error_setg(errp, "invalid accelerator %s", name);
        return false;
    }
    if (!ops->init(ms, errp)) {
        return false;
    }
    current_accel = ops;
    return true;
}
