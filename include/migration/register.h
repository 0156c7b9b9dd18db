/*
 * register.h: the savevm handler registry.
 *
 * Two kinds of participants in a migration stream:
 *  - live (iterative) savers such as "ram", registered with
 *    register_savevm_live(): they send a START section at setup, PART
 *    sections while iterating, an END section at completion;
 *  - device state described by a VMStateDescription, registered with
 *    vmstate_register(): sent once as a FULL section at completion.
 * On load, START/FULL records are routed by (idstr, instance_id).
 *
 * Registration happens on the main thread at start-up; the registry is
 * read by the migration thread during a migration, never modified then.
 */
#ifndef MIGRATION_REGISTER_H
#define MIGRATION_REGISTER_H

#include "qemu/osdep.h"
#include "qapi/error.h"
#include "migration/qemu-file.h"
#include "migration/vmstate.h"

/* instance_id for vmstate_register/register_savevm_live: next free one. */
#define VMSTATE_INSTANCE_ID_ANY UINT32_MAX

/*
 * Payloads: savevm writes the section header (type, id, name, instance,
 * version) and the footer; the handler writes everything in between,
 * including its own terminator (ram ends each payload with its be64 EOS
 * word 0x10, as QEMU's ram does).
 */
typedef struct SaveVMHandlers {
    /* ---- source side, called in the migration thread ---- */
    /* Write the START payload (incl. its EOS).  0 or negative errno. */
    int (*save_setup)(QEMUFile *f, void *opaque, Error **errp);
    /*
     * Write one PART payload's worth of data, honouring the file's rate
     * limit.  Returns 1 when there is nothing left to send right now,
     * 0 when more remains, negative errno on error.
     */
    int (*save_live_iterate)(QEMUFile *f, void *opaque);
    /* Write the END payload (vCPUs stopped).  0 or negative errno. */
    int (*save_live_complete_precopy)(QEMUFile *f, void *opaque);
    /* Bytes still to send: cheap estimate and exact (may sync dirty log). */
    void (*state_pending_estimate)(void *opaque, uint64_t *must_precopy,
                                   uint64_t *can_postcopy);
    void (*state_pending_exact)(void *opaque, uint64_t *must_precopy,
                                uint64_t *can_postcopy);
    /* Release what save_setup allocated; called on success and failure. */
    void (*save_cleanup)(void *opaque);
    /* Optional: skip this handler when false. */
    bool (*is_active)(void *opaque);

    /* ---- destination side ---- */
    int (*load_setup)(QEMUFile *f, void *opaque, Error **errp);
    /*
     * Read one START/PART/END/FULL payload (up to and incl. its EOS, not
     * the footer).  0 or negative errno with errp set.
     */
    int (*load_state)(QEMUFile *f, void *opaque, int version_id, Error **errp);
    int (*load_cleanup)(void *opaque);
} SaveVMHandlers;

/*
 * Register a live saver; returns its section id (>= 0, in registration
 * order), or -EEXIST if (idstr, instance_id) is taken.  Main thread.
 */
int register_savevm_live(const char *idstr, uint32_t instance_id,
                         int version_id, const SaveVMHandlers *ops,
                         void *opaque);
/* Register VMState device state; returns its section id (>= 0). */
int vmstate_register(uint32_t instance_id, const VMStateDescription *vmsd,
                     void *opaque);
void unregister_savevm(const char *idstr, void *opaque);
void vmstate_unregister(const VMStateDescription *vmsd, void *opaque);

#endif /* MIGRATION_REGISTER_H */
