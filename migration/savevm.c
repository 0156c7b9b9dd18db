/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * savevm.c: the handler registry and the whole-stream writer/reader in
 * QEMU 7.2's format (layout at the top of include/migration/savevm.h).
 *
 * Registry: an array of SaveStateEntry in registration order; section ids
 * are handed out in that order and never reused.  It is filled on the
 * main thread at start-up and only read during a migration.
 *
 * Loader: one load runs at a time (LoadVMState below).  It maps the
 * sender's section ids to entries at START/FULL so that PART/END can be
 * routed; nested PACKAGED streams share that map.  COMMAND records go
 * through loadvm_cmds[], one row per sub-command with its length: savevm
 * handles OPEN_RETURN_PATH, PING and PACKAGED, other subsystems register
 * the rest (loadvm_command_register).  What savevm needs from the rest of
 * the VMM comes through SaveVMHooks and qemu_machine_type_name().  Every
 * malformed input ends in an Error with QEMU 7.2's text, never in a crash.
 */
#include "qemu/osdep.h"
#include "qemu/bswap.h"
#include "qemu/error-report.h"
#include "io/channel-buffer.h"
#include "migration/register.h"
#include "migration/savevm.h"
#include "sysemu/runstate.h"
#include "migration/vmstate.h"
#include "rate-limit.h"

/* The machine type name in CONFIGURATION (be32 length) is capped too. */
#define SAVEVM_MACHINE_NAME_MAX 255
/* -uuid and the configuration/uuid subsection: 16 raw bytes. */
#define SAVEVM_UUID_LEN 16
/* The VMDESCRIPTION trailer is skipped in reads of at most this size. */
#define LOADVM_VMDESC_SKIP_CHUNK (64 * KiB)

typedef struct SaveStateEntry {
    char idstr[QEMU_COUNTED_STRING_BUF];
    uint32_t instance_id;
    int section_id;
    int version_id;
    const SaveVMHandlers *ops;      /* live handler, or NULL */
    const VMStateDescription *vmsd; /* device state, or NULL */
    void *opaque;
} SaveStateEntry;

/* Registration order.  Main thread at start-up; read-only afterwards. */
static GPtrArray *savevm_entries;
static int savevm_next_section_id;

/* ------------------------------------------------------------------ */
/* Registry */

static GPtrArray *savevm_list(void)
{
    if (!savevm_entries) {
        savevm_entries = g_ptr_array_new_with_free_func(g_free);
    }
    return savevm_entries;
}

static SaveStateEntry *savevm_find(const char *idstr, uint32_t instance_id)
{
    GPtrArray *list = savevm_list();
    guint i;

    for (i = 0; i < list->len; i++) {
        SaveStateEntry *se = g_ptr_array_index(list, i);

        if (se->instance_id == instance_id && !strcmp(se->idstr, idstr)) {
            return se;
        }
    }
    return NULL;
}

static uint32_t savevm_next_instance_id(const char *idstr)
{
    GPtrArray *list = savevm_list();
    uint32_t next = 0;
    guint i;

    for (i = 0; i < list->len; i++) {
        SaveStateEntry *se = g_ptr_array_index(list, i);

        if (!strcmp(se->idstr, idstr) && se->instance_id >= next) {
            next = se->instance_id + 1;
        }
    }
    return next;
}

static int savevm_register(const char *idstr, uint32_t instance_id,
                           int version_id, const SaveVMHandlers *ops,
                           const VMStateDescription *vmsd, void *opaque)
{
    SaveStateEntry *se;

    g_assert(strlen(idstr) <= QEMU_COUNTED_STRING_MAX);
    if (instance_id == VMSTATE_INSTANCE_ID_ANY) {
        instance_id = savevm_next_instance_id(idstr);
    }
    if (savevm_find(idstr, instance_id)) {
        error_report("savevm: section '%s' instance %" PRIu32
                     " registered twice",
                     idstr, instance_id);
        return -EEXIST;
    }
    se = g_new0(SaveStateEntry, 1);
    g_strlcpy(se->idstr, idstr, sizeof(se->idstr));
    se->instance_id = instance_id;
    se->version_id = version_id;
    se->ops = ops;
    se->vmsd = vmsd;
    se->opaque = opaque;
    se->section_id = savevm_next_section_id++;
    g_ptr_array_add(savevm_list(), se);
    return se->section_id;
}

int register_savevm_live(const char *idstr, uint32_t instance_id,
                         int version_id, const SaveVMHandlers *ops,
                         void *opaque)
{
    return savevm_register(idstr, instance_id, version_id, ops, NULL, opaque);
}

int vmstate_register(uint32_t instance_id, const VMStateDescription *vmsd,
                     void *opaque)
{
    return savevm_register(vmsd->name, instance_id, vmsd->version_id, NULL,
                           vmsd, opaque);
}

void unregister_savevm(const char *idstr, void *opaque)
{
    GPtrArray *list = savevm_list();
    guint i = 0;

    while (i < list->len) {
        SaveStateEntry *se = g_ptr_array_index(list, i);

        if (!strcmp(se->idstr, idstr) && se->opaque == opaque) {
            g_ptr_array_remove_index(list, i);
        } else {
            i++;
        }
    }
}

void vmstate_unregister(const VMStateDescription *vmsd, void *opaque)
{
    GPtrArray *list = savevm_list();
    guint i = 0;

    while (i < list->len) {
        SaveStateEntry *se = g_ptr_array_index(list, i);

        if (se->vmsd == vmsd && se->opaque == opaque) {
            g_ptr_array_remove_index(list, i);
        } else {
            i++;
        }
    }
}

static bool savevm_is_live(SaveStateEntry *se)
{
    return se->ops && !se->vmsd;
}

static bool savevm_is_active(SaveStateEntry *se)
{
    return !se->ops || !se->ops->is_active || se->ops->is_active(se->opaque);
}

/* ------------------------------------------------------------------ */
/* Hooks */

/* Set at start-up (savevm_set_hooks); read-only afterwards. */
static const SaveVMHooks savevm_no_hooks;
static const SaveVMHooks *savevm_hooks = &savevm_no_hooks;

void savevm_set_hooks(const SaveVMHooks *hooks)
{
    savevm_hooks = hooks ? hooks : &savevm_no_hooks;
}

/* ------------------------------------------------------------------ */
/* The configuration record */

typedef struct SaveState {
    uint32_t len;
    char name[SAVEVM_MACHINE_NAME_MAX + 1];
    uint32_t target_page_bits;
    uint32_t caps_count;
    char unknown_cap[QEMU_COUNTED_STRING_BUF]; /* first unknown capability */
    GPtrArray *caps;                           /* received capability names */
    uint8_t uuid[SAVEVM_UUID_LEN];
} SaveState;

static SaveState savevm_config;

/* Every capability name known to 7.2 and later QEMUs. */
static const char *const savevm_known_caps[] = {
    "xbzrle",
    "rdma-pin-all",
    "auto-converge",
    "zero-blocks",
    "compress",
    "events",
    "postcopy-ram",
    "x-colo",
    "release-ram",
    "block",
    "return-path",
    "pause-before-switchover",
    "multifd",
    "dirty-bitmaps",
    "postcopy-blocktime",
    "late-block-activate",
    "x-ignore-shared",
    "validate-uuid",
    "background-snapshot",
    "zero-copy-send",
    "postcopy-preempt",
    "switchover-ack",
    "dirty-limit",
    "mapped-ram",
    NULL,
};

/* More capability names than any QEMU sends (about 25 exist). */
#define SAVEVM_MAX_CAPS 256

/* Capabilities whose state must match on both sides. */
static const char *const savevm_validated_caps[] = {
    "x-ignore-shared",
    "mapped-ram",
    NULL,
};

static bool savevm_cap_in(const char *const *list, const char *name)
{
    for (; *list; list++) {
        if (!strcmp(*list, name)) {
            return true;
        }
    }
    return false;
}

static bool savevm_caps_received(SaveState *s, const char *name)
{
    guint i;

    for (i = 0; s->caps && i < s->caps->len; i++) {
        if (!strcmp(g_ptr_array_index(s->caps, i), name)) {
            return true;
        }
    }
    return false;
}

/* caps_count × str8 names, into s->caps (pv points at caps_count). */
static int get_capabilities(QEMUFile *f, void *pv, size_t size,
                            const VMStateField *field)
{
    SaveState *s = container_of(pv, SaveState, caps);
    uint32_t i;

    /* Names are unique and few; don't let a peer make us store millions. */
    if (s->caps_count > SAVEVM_MAX_CAPS) {
        error_report("Received %" PRIu32 " capabilities, at most %d are "
                     "known",
                     s->caps_count, SAVEVM_MAX_CAPS);
        return -EINVAL;
    }
    for (i = 0; i < s->caps_count && !qemu_file_get_error(f); i++) {
        char name[QEMU_COUNTED_STRING_BUF];

        if (qemu_get_counted_string(f, name) == 0 && qemu_file_get_error(f)) {
            break;
        }
        if (!savevm_cap_in(savevm_known_caps, name) && !s->unknown_cap[0]) {
            g_strlcpy(s->unknown_cap, name, sizeof(s->unknown_cap));
        }
        g_ptr_array_add(s->caps, g_strdup(name));
    }
    return qemu_file_get_error(f);
}

static int put_capabilities(QEMUFile *f, void *pv, size_t size,
                            const VMStateField *field)
{
    SaveState *s = container_of(pv, SaveState, caps);
    guint i;

    for (i = 0; i < s->caps->len; i++) {
        qemu_put_counted_string(f, g_ptr_array_index(s->caps, i));
    }
    return 0;
}

static const VMStateInfo vmstate_info_capabilities = {
    .name = "capability",
    .get = get_capabilities,
    .put = put_capabilities,
};

static bool configuration_caps_needed(void *opaque)
{
    SaveState *s = opaque;

    return s->caps && s->caps->len > 0;
}

static int configuration_caps_post_load(void *opaque, int version_id,
                                        Error **errp)
{
    SaveState *s = opaque;

    if (s->unknown_cap[0]) {
        error_setg(errp, "Received unknown capability %s", s->unknown_cap);
        return -EINVAL;
    }
    return 0;
}

static const VMStateDescription vmstate_configuration_caps = {
    .name = "configuration/capabilities",
    .version_id = 1,
    .minimum_version_id = 1,
    .needed = configuration_caps_needed,
    .post_load_errp = configuration_caps_post_load,
    .fields =
        (const VMStateField[]){
            VMSTATE_UINT32_V(caps_count, SaveState, 1),
            {
                .name = "capabilities",
                .version_id = 1,
                .info = &vmstate_info_capabilities,
                .flags = VMS_SINGLE,
                .offset = offsetof(SaveState, caps),
            },
            VMSTATE_END_OF_LIST(),
        },
};

static bool configuration_page_bits_needed(void *opaque)
{
    return false; /* x86: TARGET_PAGE_BITS is the minimum, never sent */
}

static const VMStateDescription vmstate_configuration_page_bits = {
    .name = "configuration/target-page-bits",
    .version_id = 1,
    .minimum_version_id = 1,
    .needed = configuration_page_bits_needed,
    .fields =
        (const VMStateField[]){
            VMSTATE_UINT32(target_page_bits, SaveState),
            VMSTATE_END_OF_LIST(),
        },
};

static char *savevm_uuid_str(const uint8_t *u)
{
    return g_strdup_printf("%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-"
                           "%02x%02x%02x%02x%02x%02x",
                           u[0], u[1], u[2], u[3], u[4], u[5], u[6], u[7], u[8],
                           u[9], u[10], u[11], u[12], u[13], u[14], u[15]);
}

static bool configuration_uuid_needed(void *opaque)
{
    return savevm_hooks->send_uuid && savevm_hooks->send_uuid();
}

/* The VM's -uuid into uuid; false (uuid untouched) if none is set. */
static bool savevm_local_uuid(uint8_t uuid[SAVEVM_UUID_LEN])
{
    return savevm_hooks->local_uuid && savevm_hooks->local_uuid(uuid);
}

static bool savevm_validated_capability(const char *name)
{
    return savevm_hooks->validated_capability &&
           savevm_hooks->validated_capability(name);
}

/* The local machine type's name ("" when the VMM has none). */
static const char *savevm_machine_type_name(void)
{
    const char *name = qemu_machine_type_name();

    return name ? name : "";
}

static int configuration_uuid_pre_save(void *opaque)
{
    SaveState *s = opaque;

    if (!savevm_local_uuid(s->uuid)) {
        memset(s->uuid, 0, sizeof(s->uuid));
    }
    return 0;
}

static int configuration_uuid_post_load(void *opaque, int version_id,
                                        Error **errp)
{
    SaveState *s = opaque;
    uint8_t local[SAVEVM_UUID_LEN];
    g_autofree char *rcv = savevm_uuid_str(s->uuid);
    g_autofree char *loc = NULL;

    if (!savevm_local_uuid(local)) {
        warn_report("UUID is received %s, but local uuid isn't set", rcv);
        return 0;
    }
    if (memcmp(local, s->uuid, sizeof(local)) != 0) {
        loc = savevm_uuid_str(local);
        error_setg(errp, "UUID received is %s and local is %s", rcv, loc);
        return -EINVAL;
    }
    return 0;
}

static const VMStateDescription vmstate_configuration_uuid = {
    .name = "configuration/uuid",
    .version_id = 1,
    .minimum_version_id = 1,
    .needed = configuration_uuid_needed,
    .pre_save = configuration_uuid_pre_save,
    .post_load_errp = configuration_uuid_post_load,
    .fields =
        (const VMStateField[]){
            VMSTATE_UINT8_ARRAY(uuid, SaveState, SAVEVM_UUID_LEN),
            VMSTATE_END_OF_LIST(),
        },
};

static int configuration_pre_load(void *opaque)
{
    SaveState *s = opaque;

    s->target_page_bits = TARGET_PAGE_BITS;
    s->caps_count = 0;
    s->unknown_cap[0] = '\0';
    if (s->caps) {
        g_ptr_array_set_size(s->caps, 0);
    } else {
        s->caps = g_ptr_array_new_with_free_func(g_free);
    }
    return 0;
}

static int configuration_post_load(void *opaque, int version_id, Error **errp)
{
    SaveState *s = opaque;
    const char *local = savevm_machine_type_name();
    const char *const *cap;

    if (strcmp(s->name, local) != 0) {
        error_setg(errp, "Machine type received is '%s' and local is '%s'",
                   s->name, local);
        return -EINVAL;
    }
    if (s->target_page_bits != TARGET_PAGE_BITS) {
        error_setg(errp,
                   "Received TARGET_PAGE_BITS is %" PRIu32 " but local is %d",
                   s->target_page_bits, TARGET_PAGE_BITS);
        return -EINVAL;
    }
    for (cap = savevm_validated_caps; *cap; cap++) {
        bool source = savevm_caps_received(s, *cap);
        bool target = savevm_validated_capability(*cap);

        if (source != target) {
            error_setg(errp,
                       "Capability %s is %s, but received capability "
                       "is %s",
                       *cap, target ? "on" : "off", source ? "on" : "off");
            return -EINVAL;
        }
    }
    return 0;
}

/* Fields: none (len and name are read by hand); then the subsections. */
static const VMStateDescription vmstate_configuration = {
    .name = "configuration",
    .version_id = 1,
    .minimum_version_id = 0,
    .pre_load = configuration_pre_load,
    .post_load_errp = configuration_post_load,
    .fields =
        (const VMStateField[]){
            VMSTATE_END_OF_LIST(),
        },
    .subsections =
        (const VMStateDescription *const[]){
            &vmstate_configuration_page_bits,
            &vmstate_configuration_caps,
            &vmstate_configuration_uuid,
            NULL,
        },
};

/* ------------------------------------------------------------------ */
/* Source side */

static void savevm_section_header(QEMUFile *f, SaveStateEntry *se, uint8_t type)
{
    qemu_put_byte(f, type);
    qemu_put_be32(f, se->section_id);
    if (type == QEMU_VM_SECTION_START || type == QEMU_VM_SECTION_FULL) {
        qemu_put_counted_string(f, se->idstr);
        qemu_put_be32(f, se->instance_id);
        qemu_put_be32(f, se->version_id);
    }
}

static void savevm_section_footer(QEMUFile *f, SaveStateEntry *se)
{
    qemu_put_byte(f, QEMU_VM_SECTION_FOOTER);
    qemu_put_be32(f, se->section_id);
}

/* Set errp from the file's error, or a generic text for ret. */
static int savevm_fail(QEMUFile *f, SaveStateEntry *se, int ret,
                       const char *what, Error **errp)
{
    Error *local_err = NULL;

    if (ret >= 0) {
        ret = -EIO;
    }
    qemu_file_set_error(f, ret);
    ret = qemu_file_get_error(f);
    qemu_file_get_error_obj(f, &local_err);
    error_propagate_prepend(errp, local_err,
                            "%s of section '%s' failed: ", what, se->idstr);
    return ret;
}

void qemu_savevm_state_header(QEMUFile *f)
{
    const char *name = savevm_machine_type_name();
    GPtrArray *caps = g_ptr_array_new();
    const char *const *cap;
    SaveState s = {0};

    qemu_put_be32(f, QEMU_VM_FILE_MAGIC);
    qemu_put_be32(f, QEMU_VM_FILE_VERSION);

    qemu_put_byte(f, QEMU_VM_CONFIGURATION);
    qemu_put_be32(f, strlen(name));
    qemu_put_buffer(f, (const uint8_t *)name, strlen(name));

    for (cap = savevm_validated_caps; *cap; cap++) {
        if (savevm_validated_capability(*cap)) {
            g_ptr_array_add(caps, (char *)*cap);
        }
    }
    s.caps_count = caps->len;
    s.caps = caps;
    s.target_page_bits = TARGET_PAGE_BITS;
    vmstate_save_state(f, &vmstate_configuration, &s, NULL, NULL);
    g_ptr_array_free(caps, true);
}

int qemu_savevm_state_setup(QEMUFile *f, Error **errp)
{
    GPtrArray *list = savevm_list();
    guint i;

    for (i = 0; i < list->len; i++) {
        SaveStateEntry *se = g_ptr_array_index(list, i);
        Error *local_err = NULL;
        int ret;

        if (!savevm_is_live(se) || !se->ops->save_setup ||
            !savevm_is_active(se)) {
            continue;
        }
        savevm_section_header(f, se, QEMU_VM_SECTION_START);
        ret = se->ops->save_setup(f, se->opaque, &local_err);
        savevm_section_footer(f, se);
        if (ret < 0 || qemu_file_get_error(f)) {
            if (local_err) {
                qemu_file_set_error_obj(f, ret < 0 ? ret : -EIO,
                                        error_copy(local_err));
                error_propagate(errp, local_err);
                return ret < 0 ? ret : qemu_file_get_error(f);
            }
            return savevm_fail(f, se, ret, "Setup", errp);
        }
        error_free(local_err);
    }
    return 0;
}

int qemu_savevm_state_iterate(QEMUFile *f)
{
    GPtrArray *list = savevm_list();
    guint i;

    for (i = 0; i < list->len; i++) {
        SaveStateEntry *se = g_ptr_array_index(list, i);
        int ret;

        if (!savevm_is_live(se) || !se->ops->save_live_iterate ||
            !savevm_is_active(se)) {
            continue;
        }
        if (migration_rate_exceeded()) {
            return qemu_file_get_error(f);
        }
        savevm_section_header(f, se, QEMU_VM_SECTION_PART);
        ret = se->ops->save_live_iterate(f, se->opaque);
        savevm_section_footer(f, se);
        if (ret < 0) {
            qemu_file_set_error(f, ret);
            return ret;
        }
        if (qemu_file_get_error(f)) {
            return qemu_file_get_error(f);
        }
        if (ret == 0) {
            /*
             * Finish this handler's stage before the next one starts, so a
             * fast-changing handler does not starve the others.
             */
            return 0;
        }
    }
    return 1;
}

static void savevm_pending(bool exact, uint64_t *must_precopy,
                           uint64_t *can_postcopy)
{
    GPtrArray *list = savevm_list();
    guint i;

    *must_precopy = 0;
    *can_postcopy = 0;
    for (i = 0; i < list->len; i++) {
        SaveStateEntry *se = g_ptr_array_index(list, i);

        if (!savevm_is_live(se) || !savevm_is_active(se)) {
            continue;
        }
        if (exact && se->ops->state_pending_exact) {
            se->ops->state_pending_exact(se->opaque, must_precopy,
                                         can_postcopy);
        } else if (se->ops->state_pending_estimate) {
            se->ops->state_pending_estimate(se->opaque, must_precopy,
                                            can_postcopy);
        }
    }
}

void qemu_savevm_state_pending_estimate(uint64_t *must_precopy,
                                        uint64_t *can_postcopy)
{
    savevm_pending(false, must_precopy, can_postcopy);
}

void qemu_savevm_state_pending_exact(uint64_t *must_precopy,
                                     uint64_t *can_postcopy)
{
    savevm_pending(true, must_precopy, can_postcopy);
}

/* END sections of the active live handlers. */
static int savevm_complete_live(QEMUFile *f, Error **errp)
{
    GPtrArray *list = savevm_list();
    guint i;
    int ret;

    for (i = 0; i < list->len; i++) {
        SaveStateEntry *se = g_ptr_array_index(list, i);

        if (!savevm_is_live(se) || !se->ops->save_live_complete_precopy ||
            !savevm_is_active(se)) {
            continue;
        }
        savevm_section_header(f, se, QEMU_VM_SECTION_END);
        ret = se->ops->save_live_complete_precopy(f, se->opaque);
        savevm_section_footer(f, se);
        if (ret < 0 || qemu_file_get_error(f)) {
            return savevm_fail(f, se, ret, "Completion", errp);
        }
    }
    return 0;
}

/* FULL sections of every needed VMState device; vmdesc lists them. */
static int savevm_complete_vmstate(QEMUFile *f, GString *vmdesc, Error **errp)
{
    GPtrArray *list = savevm_list();
    guint i;
    int ret;

    for (i = 0; i < list->len; i++) {
        SaveStateEntry *se = g_ptr_array_index(list, i);
        Error *local_err = NULL;

        if (!se->vmsd || (se->vmsd->needed && !se->vmsd->needed(se->opaque))) {
            continue;
        }
        if (vmdesc) {
            vmdesc_sep(vmdesc);
            g_string_append_c(vmdesc, '{');
            vmdesc_kv_str(vmdesc, "name", se->idstr);
            vmdesc_kv_int(vmdesc, "instance_id", se->instance_id);
        }
        savevm_section_header(f, se, QEMU_VM_SECTION_FULL);
        ret = vmstate_save_state(f, se->vmsd, se->opaque, vmdesc, &local_err);
        savevm_section_footer(f, se);
        if (vmdesc) {
            g_string_append_c(vmdesc, '}');
        }
        if (ret < 0) {
            qemu_file_set_error(f, ret);
            error_propagate_prepend(errp, local_err,
                                    "Save of section '%s' failed: ", se->idstr);
            return ret;
        }
        if (qemu_file_get_error(f)) {
            return savevm_fail(f, se, -EIO, "Save", errp);
        }
    }
    return 0;
}

int qemu_savevm_state_complete_live(QEMUFile *f, Error **errp)
{
    return savevm_complete_live(f, errp);
}

int qemu_savevm_state_complete_devices(QEMUFile *f, Error **errp)
{
    return savevm_complete_vmstate(f, NULL, errp);
}

void qemu_savevm_state_send_eof(QEMUFile *f)
{
    qemu_put_byte(f, QEMU_VM_EOF);
}

int qemu_savevm_state_complete_precopy(QEMUFile *f, Error **errp)
{
    g_autoptr(GString) vmdesc = g_string_new(NULL);
    int ret;

    g_string_append_printf(vmdesc, "{\"page_size\": %u, \"devices\": [",
                           TARGET_PAGE_SIZE);
    ret = savevm_complete_live(f, errp);
    if (ret == 0) {
        ret = savevm_complete_vmstate(f, vmdesc, errp);
    }
    if (ret < 0) {
        return ret;
    }
    g_string_append(vmdesc, "]}");

    qemu_put_byte(f, QEMU_VM_EOF);
    qemu_put_byte(f, QEMU_VM_VMDESCRIPTION);
    qemu_put_be32(f, vmdesc->len);
    qemu_put_buffer(f, (const uint8_t *)vmdesc->str, vmdesc->len);
    return qemu_file_get_error_obj(f, errp);
}

void qemu_savevm_state_cleanup(void)
{
    GPtrArray *list = savevm_list();
    guint i;

    for (i = 0; i < list->len; i++) {
        SaveStateEntry *se = g_ptr_array_index(list, i);

        if (savevm_is_live(se) && se->ops->save_cleanup) {
            se->ops->save_cleanup(se->opaque);
        }
    }
}

/* ------------------------------------------------------------------ */
/* Commands */

/*
 * One COMMAND sub-command the loader knows: its name (error texts), its
 * data length (QEMU 7.2's) and what to do with it.  The handlers of
 * OPEN_RETURN_PATH, PING and PACKAGED are savevm's own (below); the
 * others are installed by loadvm_command_register() at start-up.
 */
typedef struct LoadVMCommandDef {
    const char *name;
    int len; /* fixed data length, or -1: variable */
    /* A stream that carries this command ends without VMDESCRIPTION. */
    bool no_vmdesc;
    bool builtin; /* handled by savevm itself, not registrable */
    LoadVMCommandHandler *handler; /* NULL: not supported */
} LoadVMCommandDef;

static int loadvm_cmd_open_return_path(const LoadVMCommand *c, Error **errp);
static int loadvm_cmd_ping(const LoadVMCommand *c, Error **errp);
static int loadvm_cmd_packaged(const LoadVMCommand *c, Error **errp);

/* Indexed by command; handlers written at start-up, read-only afterwards. */
static LoadVMCommandDef loadvm_cmds[MIG_CMD_MAX] = {
    [MIG_CMD_INVALID] = {.len = -1, .name = "INVALID"},
    [MIG_CMD_OPEN_RETURN_PATH] = {.len = 0,
                                  .name = "OPEN_RETURN_PATH",
                                  .builtin = true,
                                  .handler = loadvm_cmd_open_return_path},
    [MIG_CMD_PING] = {.len = MIG_CMD_PING_LEN,
                      .name = "PING",
                      .builtin = true,
                      .handler = loadvm_cmd_ping},
    [MIG_CMD_POSTCOPY_ADVISE] = {.len = -1,
                                 .name = "POSTCOPY_ADVISE",
                                 .no_vmdesc = true},
    [MIG_CMD_POSTCOPY_LISTEN] = {.len = 0, .name = "POSTCOPY_LISTEN"},
    [MIG_CMD_POSTCOPY_RUN] = {.len = 0, .name = "POSTCOPY_RUN"},
    [MIG_CMD_POSTCOPY_RAM_DISCARD] = {.len = -1,
                                      .name = "POSTCOPY_RAM_DISCARD"},
    [MIG_CMD_PACKAGED] = {.len = MIG_CMD_PACKAGED_LEN,
                          .name = "PACKAGED",
                          .builtin = true,
                          .handler = loadvm_cmd_packaged},
    [MIG_CMD_ENABLE_COLO] = {.len = 0, .name = "ENABLE_COLO"},
    [MIG_CMD_POSTCOPY_RESUME] = {.len = 0, .name = "POSTCOPY_RESUME"},
    [MIG_CMD_RECV_BITMAP] = {.len = -1, .name = "RECV_BITMAP"},
};

void loadvm_command_register(enum qemu_vm_cmd cmd,
                             LoadVMCommandHandler *handler)
{
    g_assert(cmd > MIG_CMD_INVALID && cmd < MIG_CMD_MAX);
    g_assert(!loadvm_cmds[cmd].builtin);
    loadvm_cmds[cmd].handler = handler;
}

const char *qemu_savevm_command_name(unsigned int cmd)
{
    if (cmd >= MIG_CMD_MAX) {
        return "INVALID";
    }
    return loadvm_cmds[cmd].name;
}

void qemu_savevm_command_send(QEMUFile *f, enum qemu_vm_cmd cmd, uint16_t len,
                              const uint8_t *data)
{
    qemu_put_byte(f, QEMU_VM_COMMAND);
    qemu_put_be16(f, cmd);
    qemu_put_be16(f, len);
    if (len) {
        qemu_put_buffer(f, data, len);
    }
}

void qemu_savevm_send_open_return_path(QEMUFile *f)
{
    qemu_savevm_command_send(f, MIG_CMD_OPEN_RETURN_PATH, 0, NULL);
}

void qemu_savevm_send_ping(QEMUFile *f, uint32_t value)
{
    uint8_t data[MIG_CMD_PING_LEN];

    stl_be_p(data, value);
    qemu_savevm_command_send(f, MIG_CMD_PING, sizeof(data), data);
}

int qemu_savevm_send_packaged(QEMUFile *f, const uint8_t *buf, size_t len,
                              Error **errp)
{
    uint8_t data[MIG_CMD_PACKAGED_LEN];

    if (len > MAX_VM_CMD_PACKAGED_SIZE) {
        error_setg(errp, "Unreasonably large packaged state: %zu", len);
        return -E2BIG;
    }
    stl_be_p(data, len);
    qemu_savevm_command_send(f, MIG_CMD_PACKAGED, sizeof(data), data);
    qemu_put_buffer(f, buf, len);
    return qemu_file_get_error_obj(f, errp);
}

/* ------------------------------------------------------------------ */
/* Destination side */

typedef struct LoadSection {
    uint32_t section_id;
    int version_id;
    SaveStateEntry *se;
} LoadSection;

/* The load in progress (one at a time). */
typedef struct LoadVMState {
    GArray *sections;      /* LoadSection, by sender's id */
    bool rp_open;          /* OPEN_RETURN_PATH succeeded */
    bool postcopy_advised; /* no VMDESCRIPTION will follow */
    bool in_package;       /* reading a PACKAGED nested stream */
} LoadVMState;

static LoadVMState loadvm;

static int loadvm_main(QEMUFile *f, bool nested, Error **errp);

/* The file's error as the load's error (-EIO with the channel's text). */
static int loadvm_file_error(QEMUFile *f, Error **errp)
{
    int ret = qemu_file_get_error(f);

    if (!ret) {
        qemu_file_set_error(f, -EIO);
        ret = -EIO;
    }
    qemu_file_get_error_obj(f, errp);
    return ret;
}

static LoadSection *loadvm_find_section(uint32_t section_id)
{
    guint i;

    for (i = 0; loadvm.sections && i < loadvm.sections->len; i++) {
        LoadSection *ls = &g_array_index(loadvm.sections, LoadSection, i);

        if (ls->section_id == section_id) {
            return ls;
        }
    }
    return NULL;
}

/*
 * Section ids a stream may open.  A real stream opens one per registered
 * entry; the bound keeps a hostile one from growing the table (and its
 * linear lookups) without end.
 */
#define LOADVM_MAX_SECTIONS 4096

static bool loadvm_add_section(uint32_t section_id, SaveStateEntry *se,
                               int version_id, Error **errp)
{
    LoadSection *ls = loadvm_find_section(section_id);
    LoadSection n = {
        .section_id = section_id,
        .se = se,
        .version_id = version_id,
    };

    if (!loadvm.sections) {
        loadvm.sections = g_array_new(false, true, sizeof(LoadSection));
    }
    if (ls) {
        *ls = n;
    } else if (loadvm.sections->len >= LOADVM_MAX_SECTIONS) {
        error_setg(errp, "Too many savevm sections (more than %d)",
                   LOADVM_MAX_SECTIONS);
        return false;
    } else {
        g_array_append_val(loadvm.sections, n);
    }
    return true;
}

static int loadvm_check_footer(QEMUFile *f, SaveStateEntry *se,
                               uint32_t section_id, Error **errp)
{
    uint8_t type = qemu_get_byte(f);
    uint32_t read_id;

    if (qemu_file_get_error(f)) {
        return loadvm_file_error(f, errp);
    }
    if (type != QEMU_VM_SECTION_FOOTER) {
        error_setg(errp, "Missing section footer for %s", se->idstr);
        return -EINVAL;
    }
    read_id = qemu_get_be32(f);
    if (qemu_file_get_error(f)) {
        return loadvm_file_error(f, errp);
    }
    if (read_id != section_id) {
        error_setg(errp,
                   "Mismatched section id in footer for %s - read 0x%" PRIx32
                   " expected 0x%" PRIx32,
                   se->idstr, read_id, section_id);
        return -EINVAL;
    }
    return 0;
}

static int loadvm_load_entry(QEMUFile *f, SaveStateEntry *se, int version_id,
                             Error **errp)
{
    int ret;

    if (se->vmsd) {
        /*
         * Device models (serial, cpu, globalstate) are shared with the main
         * loop, which may be serving the monitor meanwhile: load them under
         * the BQL.  Live sections (ram) are loaded without it, so the
         * monitor stays responsive during the bulk of the transfer.
         */
        bool locked = bql_locked();

        if (!locked) {
            bql_lock();
        }
        ret = vmstate_load_state(f, se->vmsd, se->opaque, version_id, errp);
        if (!locked) {
            bql_unlock();
        }
    } else if (se->ops && se->ops->load_state) {
        ret = se->ops->load_state(f, se->opaque, version_id, errp);
    } else {
        error_setg(errp, "section '%s' cannot be loaded", se->idstr);
        ret = -EINVAL;
    }
    if (ret == 0 && qemu_file_get_error(f)) {
        ret = qemu_file_get_error(f);
        qemu_file_get_error_obj(f, errp);
    }
    return ret;
}

static int loadvm_section_start_full(QEMUFile *f, Error **errp)
{
    SaveStateEntry *se;
    Error *local_err = NULL;
    char idstr[QEMU_COUNTED_STRING_BUF];
    uint32_t section_id, instance_id, version_id;
    int ret;

    section_id = qemu_get_be32(f);
    qemu_get_counted_string(f, idstr);
    instance_id = qemu_get_be32(f);
    version_id = qemu_get_be32(f); /* unsigned: 0xffffffff is too new */
    if (qemu_file_get_error(f)) {
        return loadvm_file_error(f, errp);
    }

    se = savevm_find(idstr, instance_id);
    if (!se) {
        error_setg(errp,
                   "Unknown savevm section or instance '%s' %" PRIu32
                   ". Make sure that your current VM setup matches your "
                   "saved VM setup, including any hotplugged devices",
                   idstr, instance_id);
        return -EINVAL;
    }
    if (version_id > (uint32_t)se->version_id) {
        error_setg(errp, "savevm: unsupported version %" PRIu32 " for '%s' v%d",
                   version_id, idstr, se->version_id);
        return -EINVAL;
    }
    if (!loadvm_add_section(section_id, se, version_id, errp)) {
        return -EINVAL;
    }

    ret = loadvm_load_entry(f, se, version_id, &local_err);
    if (ret < 0) {
        if (local_err) {
            error_propagate_prepend(errp, local_err,
                                    "error while loading state for instance "
                                    "0x%" PRIx32 " of device '%s': ",
                                    instance_id, idstr);
        } else {
            error_setg(errp,
                       "error while loading state for instance 0x%" PRIx32
                       " of device '%s'",
                       instance_id, idstr);
        }
        return ret;
    }
    return loadvm_check_footer(f, se, section_id, errp);
}

static int loadvm_section_part_end(QEMUFile *f, Error **errp)
{
    Error *local_err = NULL;
    LoadSection *ls;
    uint32_t section_id;
    int ret;

    section_id = qemu_get_be32(f);
    if (qemu_file_get_error(f)) {
        return loadvm_file_error(f, errp);
    }
    ls = loadvm_find_section(section_id);
    if (!ls) {
        error_setg(errp, "Unknown savevm section %" PRIu32, section_id);
        return -EINVAL;
    }
    ret = loadvm_load_entry(f, ls->se, ls->version_id, &local_err);
    if (ret < 0) {
        if (local_err) {
            error_propagate_prepend(errp, local_err,
                                    "error while loading state section id "
                                    "%" PRIu32 "(%s): ",
                                    section_id, ls->se->idstr);
        } else {
            error_setg(errp,
                       "error while loading state section id %" PRIu32 "(%s)",
                       section_id, ls->se->idstr);
        }
        return ret;
    }
    return loadvm_check_footer(f, ls->se, section_id, errp);
}

/* OPEN_RETURN_PATH: open the path back to the source (once per load). */
static int loadvm_cmd_open_return_path(const LoadVMCommand *c, Error **errp)
{
    if (loadvm.rp_open) {
        warn_report("CMD_OPEN_RETURN_PATH called when RP already open");
        return 0;
    }
    if (!savevm_hooks->open_return_path) {
        error_setg(errp, "CMD_OPEN_RETURN_PATH failed");
        return -EPERM;
    }
    if (!savevm_hooks->open_return_path(c->f, errp)) {
        return -EPERM;
    }
    loadvm.rp_open = true;
    return 0;
}

/* PING: answered with PONG on the return path, which must be open. */
static int loadvm_cmd_ping(const LoadVMCommand *c, Error **errp)
{
    uint32_t value = ldl_be_p(c->data);

    if (!loadvm.rp_open || !savevm_hooks->answer_ping) {
        error_setg(errp,
                   "CMD_PING (0x%" PRIx32 ") received with no "
                   "return path",
                   value);
        return -EPERM;
    }
    if (!savevm_hooks->answer_ping(value, errp)) {
        return -EIO;
    }
    return 0;
}

/* PACKAGED: read the nested stream and run the loop over it. */
static int loadvm_cmd_packaged(const LoadVMCommand *c, Error **errp)
{
    uint32_t length = ldl_be_p(c->data);
    QIOChannelBuffer *bioc;
    QEMUFile *packf;
    int ret;

    /*
     * A package holds one level: nesting would let each level copy the
     * rest of its parent again (quadratic memory and time).
     */
    if (loadvm.in_package) {
        error_setg(errp, "loadvm_handle_cmd_packaged: "
                         "packaged state inside packaged state");
        return -EINVAL;
    }
    if (length > MAX_VM_CMD_PACKAGED_SIZE) {
        error_setg(errp,
                   "loadvm_handle_cmd_packaged: Unreasonably large "
                   "packaged state: %" PRIu32,
                   length);
        return -EINVAL;
    }
    bioc = qio_channel_buffer_new(length);
    if (qemu_get_buffer(c->f, bioc->data, length) != length) {
        qio_channel_unref(QIO_CHANNEL(bioc));
        return loadvm_file_error(c->f, errp);
    }
    bioc->usage = length;
    packf = qemu_file_new_input(QIO_CHANNEL(bioc));
    qio_channel_unref(QIO_CHANNEL(bioc));
    loadvm.in_package = true;
    ret = loadvm_main(packf, true, errp);
    loadvm.in_package = false;
    qemu_fclose(packf);
    return ret;
}

/* A command with no handler (postcopy, COLO ... in a precopy VMM). */
static int loadvm_cmd_unsupported(const LoadVMCommand *c, Error **errp)
{
    error_setg(errp, "Migration command %s (0x%x) is not supported",
               qemu_savevm_command_name(c->cmd), c->cmd);
    return -ENOTSUP;
}

/* The command's row, or NULL with errp set and *ret the errno. */
static const LoadVMCommandDef *loadvm_command_check(uint16_t cmd, uint16_t len,
                                                    int *ret, Error **errp)
{
    const LoadVMCommandDef *def;

    if (cmd >= MIG_CMD_MAX || cmd == MIG_CMD_INVALID) {
        error_setg(errp, "MIG_CMD 0x%x unknown (len 0x%x)", cmd, len);
        *ret = -EINVAL;
        return NULL;
    }
    def = &loadvm_cmds[cmd];
    if (def->len != -1 && def->len != len) {
        error_setg(errp, "%s received with bad length - expecting %d, got %d",
                   def->name, def->len, len);
        *ret = -ERANGE;
        return NULL;
    }
    return def;
}

/*
 * A COMMAND record: header checked against the command's row, its data
 * read (at most 64 KiB - 1, the be16 length), then its handler called.
 */
static int loadvm_process_command(QEMUFile *f, Error **errp)
{
    g_autofree uint8_t *data = NULL;
    const LoadVMCommandDef *def;
    LoadVMCommand c = {.f = f};
    uint16_t cmd;
    int ret;

    cmd = qemu_get_be16(f);
    c.len = qemu_get_be16(f);
    if (qemu_file_get_error(f)) {
        return loadvm_file_error(f, errp);
    }
    def = loadvm_command_check(cmd, c.len, &ret, errp);
    if (!def) {
        return ret;
    }
    c.cmd = cmd;
    if (c.len) {
        data = g_malloc(c.len);
        if (qemu_get_buffer(f, data, c.len) != c.len) {
            return loadvm_file_error(f, errp);
        }
    }
    c.data = data;
    if (def->no_vmdesc) {
        loadvm.postcopy_advised = true;
    }
    return (def->handler ? def->handler : loadvm_cmd_unsupported)(&c, errp);
}

static int loadvm_main(QEMUFile *f, bool nested, Error **errp)
{
    for (;;) {
        int type, ret;

        if (nested && qemu_file_try_peek_byte(f) < 0 &&
            !qemu_file_get_error(f)) {
            return 0; /* a packaged stream just ends */
        }
        type = qemu_get_byte(f);
        if (qemu_file_get_error(f)) {
            return loadvm_file_error(f, errp);
        }
        switch (type) {
        case QEMU_VM_EOF:
            return 0;
        case QEMU_VM_SECTION_START:
        case QEMU_VM_SECTION_FULL:
            ret = loadvm_section_start_full(f, errp);
            break;
        case QEMU_VM_SECTION_PART:
        case QEMU_VM_SECTION_END:
            ret = loadvm_section_part_end(f, errp);
            break;
        case QEMU_VM_COMMAND:
            ret = loadvm_process_command(f, errp);
            if (ret == LOADVM_QUIT) {
                return ret;
            }
            break;
        default:
            error_setg(errp, "Unknown savevm section type %d", type);
            ret = -EINVAL;
            break;
        }
        if (ret < 0) {
            qemu_file_set_error(f, ret);
            return ret;
        }
    }
}

int qemu_loadvm_state_main(QEMUFile *f, Error **errp)
{
    return loadvm_main(f, false, errp);
}

/* After EOF: skip the VMDESCRIPTION trailer if there is one. */
static void loadvm_read_vmdesc(QEMUFile *f)
{
    int type = qemu_file_try_peek_byte(f);
    uint32_t size;

    if (type != QEMU_VM_VMDESCRIPTION) {
        warn_report("Expected vmdescription section, but got %d",
                    type < 0 ? 0 : type);
        return;
    }
    qemu_file_skip(f, 1);
    size = qemu_get_be32(f);
    while (size > 0 && !qemu_file_get_error(f)) {
        uint32_t chunk = MIN(size, LOADVM_VMDESC_SKIP_CHUNK);

        qemu_file_skip(f, chunk);
        size -= chunk;
    }
}

static int loadvm_read_header(QEMUFile *f, Error **errp)
{
    uint32_t magic, version, len;
    int ret;

    magic = qemu_get_be32(f);
    if (magic != QEMU_VM_FILE_MAGIC) {
        error_setg(errp, "Not a migration stream");
        return -EINVAL;
    }
    version = qemu_get_be32(f);
    if (version == QEMU_VM_FILE_VERSION_COMPAT) {
        error_setg(errp, "SaveVM v2 format is obsolete and don't work "
                         "anymore");
        return -ENOTSUP;
    }
    if (version != QEMU_VM_FILE_VERSION) {
        error_setg(errp, "Unsupported migration stream version");
        return -ENOTSUP;
    }

    if (qemu_get_byte(f) != QEMU_VM_CONFIGURATION) {
        if (qemu_file_get_error(f)) {
            return loadvm_file_error(f, errp);
        }
        error_setg(errp, "Configuration section missing");
        return -EINVAL;
    }
    len = qemu_get_be32(f);
    if (qemu_file_get_error(f)) {
        return loadvm_file_error(f, errp);
    }
    if (len >= sizeof(savevm_config.name)) {
        error_setg(errp, "Machine type received is %" PRIu32 " bytes long",
                   len);
        return -EINVAL;
    }
    if (qemu_get_buffer(f, (uint8_t *)savevm_config.name, len) != len) {
        return loadvm_file_error(f, errp);
    }
    savevm_config.name[len] = '\0';
    savevm_config.len = len;
    if (strlen(savevm_config.name) != len) {
        error_setg(errp, "Machine type received is '%s' and local is '%s'",
                   savevm_config.name, savevm_machine_type_name());
        return -EINVAL;
    }
    ret =
        vmstate_load_state(f, &vmstate_configuration, &savevm_config, 0, errp);
    if (ret == 0 && qemu_file_get_error(f)) {
        ret = loadvm_file_error(f, errp);
    }
    return ret;
}

static void loadvm_state_reset(void)
{
    if (loadvm.sections) {
        g_array_free(loadvm.sections, true);
    }
    memset(&loadvm, 0, sizeof(loadvm));
}

void qemu_loadvm_state_cleanup(void)
{
    GPtrArray *list = savevm_list();
    guint i;

    for (i = 0; i < list->len; i++) {
        SaveStateEntry *se = g_ptr_array_index(list, i);

        if (se->ops && se->ops->load_cleanup) {
            se->ops->load_cleanup(se->opaque);
        }
    }
}

/*
 * The top-level load loop; a failure may pause and go on from a new
 * stream (savevm_hooks->load_pause: precopy recovery), *f is then that
 * stream.
 */
static int loadvm_main_or_pause(QEMUFile **f, Error **errp)
{
    Error *err = NULL;
    QEMUFile *next;
    int ret = loadvm_main(*f, false, &err);

    while (ret < 0 && savevm_hooks->load_pause &&
           (next = savevm_hooks->load_pause(*f, err))) {
        error_free(err);
        err = NULL;
        *f = next;
        ret = loadvm_main(*f, false, &err);
    }
    error_propagate(errp, err);
    return ret;
}

int qemu_loadvm_state(QEMUFile *f, Error **errp)
{
    GPtrArray *list = savevm_list();
    guint i;
    int ret;

    loadvm_state_reset();
    ret = loadvm_read_header(f, errp);
    if (ret < 0) {
        return ret;
    }

    for (i = 0; i < list->len; i++) {
        SaveStateEntry *se = g_ptr_array_index(list, i);
        Error *local_err = NULL;

        if (!se->ops || !se->ops->load_setup) {
            continue;
        }
        ret = se->ops->load_setup(f, se->opaque, &local_err);
        if (ret < 0) {
            if (local_err) {
                error_propagate_prepend(
                    errp, local_err,
                    "Load state of device %s failed: ", se->idstr);
            } else {
                error_setg(errp, "Load state of device %s failed", se->idstr);
            }
            qemu_file_set_error(f, ret);
            goto out;
        }
        error_free(local_err);
    }

    ret = loadvm_main_or_pause(&f, errp);
    if (ret == LOADVM_QUIT) {
        /* Postcopy: the rest of the stream is read elsewhere. */
        return 0;
    }
    if (ret == 0 && qemu_file_get_error(f)) {
        ret = loadvm_file_error(f, errp);
    }
    if (ret == 0 && !loadvm.postcopy_advised) {
        loadvm_read_vmdesc(f);
    }

out:
    qemu_loadvm_state_cleanup();
    return ret;
}
