/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * hooks.c: the migration subsystem's start-up registrations.
 *
 * savevm.c (stream format) asks the rest of the VMM a few questions
 * through SaveVMHooks: the capabilities and uuid that go into the
 * CONFIGURATION record, and what to do with OPEN_RETURN_PATH and PING.
 * Here the answers come from options.c, the -uuid setting and
 * return-path.c.  The return path's own message handlers are registered
 * at the same time.  Unit tests that link savevm.c alone install their
 * own hooks instead.
 */
#include "qemu/osdep.h"
#include "qemu/bswap.h"
#include "qemu/trace.h"
#include "migration/options.h"
#include "migration/register.h"
#include "sysemu/sysemu.h"
#include "migration.h"
#include "postcopy-preempt.h"
#include "precopy-recover.h"
#include "return-path.h"

static bool migration_validated_capability(const char *name)
{
    if (!strcmp(name, "x-ignore-shared")) {
        return migrate_ignore_shared();
    }
    if (!strcmp(name, "mapped-ram")) {
        return migrate_mapped_ram();
    }
    return false;
}

static bool migration_local_uuid(uint8_t uuid[16])
{
    if (!qemu_uuid_set) {
        return false;
    }
    memcpy(uuid, qemu_uuid, sizeof(qemu_uuid));
    return true;
}

/*
 * PONG with the PING's value, or the answer of a Tern extension
 * (x-precopy-recover's, requests on the preempt channel).
 */
static bool migration_answer_ping(uint32_t value, Error **errp)
{
    MigrationIncomingState *mis = migration_incoming_get_current();
    uint32_t answer = precopy_incoming_ping(mis, value);

    if (answer == value) {
        answer = postcopy_preempt_incoming_ping(mis, value);
    }
    return migrate_rp_answer_ping(answer, errp);
}

/*
 * Source, return-path thread: a PONG; a Tern extension's answer
 * (x-precopy-recover's, requests on the preempt channel) is taken, any
 * other value needs nothing.
 */
static int migration_rp_handle_pong(const MigRPMessage *msg, Error **errp)
{
    uint32_t value = ldl_be_p(msg->data);

    TRACE("migration_rp_recv_pong", "value %u", value);
    if (!precopy_recover_pong(value)) {
        postcopy_preempt_pong(msg->s, value);
    }
    return 0;
}

static const SaveVMHooks migration_savevm_hooks = {
    .validated_capability = migration_validated_capability,
    .send_uuid = migrate_validate_uuid,
    .local_uuid = migration_local_uuid,
    .open_return_path = migrate_rp_open_incoming,
    .answer_ping = migration_answer_ping,
    .load_pause = precopy_incoming_pause,
};

void migration_register_hooks(void)
{
    savevm_set_hooks(&migration_savevm_hooks);
    migrate_rp_init();
    /* after: replaces precopy's PONG handler */
    migrate_rp_register_handler(MIG_RP_MSG_PONG, migration_rp_handle_pong);
}
