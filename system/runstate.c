/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * runstate.c: the VM run state, the big lock, change-state handlers and
 * shutdown requests.
 *
 * The vCPU side lives in cpus.c (vm_stop, vm_start) and cpu-throttle.c
 * (throttling), which every binary that calls them links.
 */
#include "qemu/osdep.h"
#include "sysemu/runstate.h"
#include "sysemu/main-loop.h"
#include "qapi/qmp/dispatch.h"
#include "sysemu/sysemu.h"

/* runstate_name() and runstate_parse() live in runstate-names.c. */

/*
 * The current state.  Written with the BQL held; read by anyone (an int,
 * read atomically; readers that act on it take the BQL).
 */
static gint current_run_state = RUN_STATE_PRELAUNCH;

/* The BQL and whether this thread holds it. */
static GMutex bql;
static __thread bool bql_held;

typedef struct VMChangeStateEntry {
    VMChangeStateHandler *cb;
    void *opaque;
} VMChangeStateEntry;

/* Change-state handlers, in registration order.  Protected by the BQL. */
static GArray *vm_change_handlers;

/* Shutdown request: set once (first wins), read by the main loop. */
static gint shutdown_requested;
static int shutdown_exit_code;
static const char *shutdown_reason;
static bool shutdown_guest;
/* -no-shutdown's handler (set at start-up) and a request waiting for it. */
static void (*guest_shutdown_handler)(void);
static gint guest_stop_pending;

void runstate_set_guest_shutdown_handler(void (*fn)(void))
{
    guest_shutdown_handler = fn;
}

RunState runstate_get(void)
{
    return g_atomic_int_get(&current_run_state);
}

void runstate_set(RunState state)
{
    g_assert((unsigned)state < RUN_STATE__MAX);
    g_atomic_int_set(&current_run_state, state);
}

bool runstate_is_running(void)
{
    return runstate_get() == RUN_STATE_RUNNING;
}

void bql_lock(void)
{
    g_assert(!bql_held);
    g_mutex_lock(&bql);
    bql_held = true;
}

void bql_unlock(void)
{
    g_assert(bql_held);
    bql_held = false;
    g_mutex_unlock(&bql);
}

bool bql_locked(void)
{
    return bql_held;
}

void qemu_add_vm_change_state_handler(VMChangeStateHandler *cb, void *opaque)
{
    VMChangeStateEntry e = {.cb = cb, .opaque = opaque};

    if (!vm_change_handlers) {
        vm_change_handlers = g_array_new(FALSE, FALSE, sizeof(e));
    }
    g_array_append_val(vm_change_handlers, e);
}

void vm_state_notify(bool running, RunState state)
{
    guint n;

    if (!vm_change_handlers) {
        return;
    }
    n = vm_change_handlers->len;
    for (guint i = 0; i < n; i++) {
        /* Devices start in order and stop in reverse, as QEMU does. */
        guint k = running ? i : n - 1 - i;
        VMChangeStateEntry *e =
            &g_array_index(vm_change_handlers, VMChangeStateEntry, k);
        e->cb(e->opaque, running, state);
    }
}

void qemu_system_shutdown_request_reason(int exit_code, const char *reason,
                                         bool guest)
{
    static GMutex lock;

    if (guest && guest_shutdown_handler) {
        g_atomic_int_set(&guest_stop_pending, 1);
        main_loop_wakeup();
        return;
    }
    g_mutex_lock(&lock);
    if (!g_atomic_int_get(&shutdown_requested)) {
        shutdown_exit_code = exit_code;
        shutdown_reason = reason ? reason : "host-error";
        shutdown_guest = guest;
        g_atomic_int_set(&shutdown_requested, 1);
    }
    g_mutex_unlock(&lock);
    main_loop_wakeup();
}

void qemu_system_shutdown_request(int exit_code)
{
    qemu_system_shutdown_request_reason(exit_code, "guest-shutdown", true);
}

/*
 * Called by the main loop once it sees the request: SHUTDOWN event and
 * state.  Returns false if no shutdown is pending.
 */
bool main_loop_shutdown_requested(int *exit_code)
{
    if (g_atomic_int_compare_and_exchange(&guest_stop_pending, 1, 0)) {
        guest_shutdown_handler();
    }
    if (!g_atomic_int_get(&shutdown_requested)) {
        return false;
    }
    if (exit_code) {
        *exit_code = shutdown_exit_code;
    }
    return true;
}

/* Emit SHUTDOWN once (main thread, BQL held). */
void runstate_shutdown_finish(void)
{
    static bool done;
    json_object *data;

    if (done) {
        return;
    }
    done = true;
    data = json_object_new_object();
    json_object_object_add(data, "guest",
                           json_object_new_boolean(shutdown_guest));
    json_object_object_add(data, "reason",
                           json_object_new_string(shutdown_reason));
    qapi_event_send("SHUTDOWN", data);
    runstate_set(RUN_STATE_SHUTDOWN);
}

/* --- process-wide settings (sysemu/sysemu.h) --- */

uint8_t qemu_uuid[16];
bool qemu_uuid_set;
bool autostart = true;
static char *vm_name;

/* Registered once at start-up (vl.c); read-only afterwards. */
static MachineTypeNameFn *machine_type_name_fn;

void qemu_register_machine_type_name(MachineTypeNameFn *fn)
{
    machine_type_name_fn = fn;
}

const char *qemu_machine_type_name(void)
{
    return machine_type_name_fn ? machine_type_name_fn() : NULL;
}

const char *qemu_get_vm_name(void)
{
    return vm_name;
}

void qemu_set_vm_name(const char *name)
{
    g_free(vm_name);
    vm_name = g_strdup(name);
}

bool qemu_uuid_parse(const char *str, uint8_t uuid[16])
{
    static const int dash_at[] = {8, 13, 18, 23};
    int n = 0;

    if (!str || strlen(str) != 36) {
        return false;
    }
    for (int i = 0; i < 36; i++) {
        bool dash = false;

        for (size_t k = 0; k < ARRAY_SIZE(dash_at); k++) {
            dash |= i == dash_at[k];
        }
        if (dash) {
            if (str[i] != '-') {
                return false;
            }
            continue;
        }
        if (!g_ascii_isxdigit(str[i]) || !g_ascii_isxdigit(str[i + 1])) {
            return false;
        }
        uuid[n++] = g_ascii_xdigit_value(str[i]) << 4 |
                    g_ascii_xdigit_value(str[i + 1]);
        i++;
    }
    return n == 16;
}

char *qemu_uuid_unparse(const uint8_t uuid[16])
{
    const uint8_t *u = uuid;

    return g_strdup_printf("%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-"
                           "%02x%02x%02x%02x%02x%02x",
                           u[0], u[1], u[2], u[3], u[4], u[5], u[6], u[7], u[8],
                           u[9], u[10], u[11], u[12], u[13], u[14], u[15]);
}
