/*
 * accel.c: choosing and starting the accelerator (see sysemu/accel.h).
 */
#include "qemu/osdep.h"
#include "qemu/error-report.h"
#include "sysemu/accel.h"

/*
 * soft_accel_ops lives in accel/soft (another area); a weak reference
 * keeps a tree without it linkable, and accel_find() then says soft is
 * not built in.
 */
#pragma weak soft_accel_ops

static const AccelOps *current_accel;

const AccelOps *accel_find(const char *name)
{
    if (!strcmp(name, "kvm")) {
        return &kvm_accel_ops;
    }
    if (!strcmp(name, "soft") && &soft_accel_ops) {
        return &soft_accel_ops;
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

bool accel_init(MachineState *ms, const char *name, Error **errp)
{
    const AccelOps *ops;
    int err;

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
