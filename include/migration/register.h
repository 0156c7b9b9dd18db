/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * register.h: what registers with savevm: section handlers, COMMAND
 * handlers and the hooks through which savevm asks the rest of the VMM.
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
#include "migration/messages.h"
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

/* ---- COMMAND sub-commands on the destination ---- */

/* One COMMAND record as its handler sees it; valid only during the call. */
typedef struct LoadVMCommand {
    QEMUFile *f; /* the stream (PACKAGED reads its nested stream from it) */
    enum qemu_vm_cmd cmd;
    uint16_t len;        /* checked against the command's fixed length */
    const uint8_t *data; /* the len bytes after the record's header */
} LoadVMCommand;

/*
 * Handle one COMMAND record on the loading thread.  Returns 0, LOADVM_QUIT
 * (savevm.h) to end the load loop successfully now, or a negative errno
 * with errp set (the load fails with it).
 */
typedef int LoadVMCommandHandler(const LoadVMCommand *c, Error **errp);

/*
 * Install handler for cmd, one of the commands savevm does not handle
 * itself (everything but OPEN_RETURN_PATH, PING and PACKAGED); NULL puts
 * back the default, which fails with "Migration command %s (0x%x) is not
 * supported".  Main thread at start-up, before any load: the table is
 * read without a lock by the loading thread.
 */
void loadvm_command_register(enum qemu_vm_cmd cmd,
                             LoadVMCommandHandler *handler);

/* ---- questions savevm asks the rest of the VMM ---- */

/*
 * Set once at start-up by the migration subsystem (unit tests set their
 * own).  Any member may be NULL: the answer is then "off" / "not set",
 * and OPEN_RETURN_PATH fails with "CMD_OPEN_RETURN_PATH failed".  Called
 * on the migration thread (source) or the loading thread (destination).
 */
typedef struct SaveVMHooks {
    /*
     * Is the named validated capability on locally ("x-ignore-shared",
     * "mapped-ram")?  Sent in, and compared with, the configuration.
     */
    bool (*validated_capability)(const char *name);
    /* Does the source send the uuid subsection (validate-uuid)? */
    bool (*send_uuid)(void);
    /* Copy the VM's -uuid to uuid; false if none is set. */
    bool (*local_uuid)(uint8_t uuid[16]);
    /*
     * OPEN_RETURN_PATH: open the path back to the source on f's channel.
     * false with errp set if it cannot be opened.
     */
    bool (*open_return_path)(QEMUFile *f, Error **errp);
    /* PING value, after a successful OPEN_RETURN_PATH: answer PONG. */
    bool (*answer_ping)(uint32_t value, Error **errp);
    /*
     * The load of f failed with err (qemu_loadvm_state, after the
     * header): the stream to go on loading from (a recovery's new
     * connection), or NULL to fail.  May wait for as long as it likes.
     */
    QEMUFile *(*load_pause)(QEMUFile *f, const Error *err);
} SaveVMHooks;

/* Install hooks (kept by reference; NULL: all defaults).  Start-up. */
void savevm_set_hooks(const SaveVMHooks *hooks);

/*
 * The migration subsystem's own registrations: savevm's hooks and the
 * return-path message handlers (migration/hooks.c).  Called once at
 * start-up, on the main thread, after migration_init().
 */
void migration_register_hooks(void);

#endif /* MIGRATION_REGISTER_H */
