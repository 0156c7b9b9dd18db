/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * hmp-cmds.c: the front end's HMP commands.
 */
#include "qemu/osdep.h"
#include "monitor-internal.h"
#include "qapi/version.h"
#include "qom/object.h"
#include "sysemu/runstate.h"
#include "sysemu/sysemu.h"
#include "sysemu/main-loop.h"

static void hmp_info_status(Monitor *mon)
{
    RunState s = runstate_get();
    bool running = runstate_is_running();

    monitor_printf(mon, "VM status: %s", running ? "running" : "paused");
    if (!running && s != RUN_STATE_PAUSED) {
        monitor_printf(mon, " (%s)", runstate_name(s));
    }
    monitor_printf(mon, "\n");
}

static void hmp_info_version(Monitor *mon)
{
    /* As QEMU: "VERSION (PACKAGE)"; the package names Tern's version. */
    monitor_printf(mon, "%d.%d.%d (%s %s)\n", TERN_QEMU_COMPAT_MAJOR,
                   TERN_QEMU_COMPAT_MINOR, TERN_QEMU_COMPAT_MICRO,
                   TERN_PKGVERSION, TERN_VERSION);
}

static void hmp_info_name(Monitor *mon)
{
    if (qemu_get_vm_name()) {
        monitor_printf(mon, "%s\n", qemu_get_vm_name());
    }
}

static void hmp_info_uuid(Monitor *mon)
{
    g_autofree char *str = qemu_uuid_unparse(qemu_uuid);

    monitor_printf(mon, "%s\n", str);
}

static void hmp_stop(Monitor *mon, int argc, char **argv)
{
    Error *err = NULL;

    qmp_stop_cmd(&err);
    hmp_handle_error(mon, err);
}

static void hmp_cont(Monitor *mon, int argc, char **argv)
{
    Error *err = NULL;

    qmp_cont_cmd(&err);
    hmp_handle_error(mon, err);
}

static void hmp_quit(Monitor *mon, int argc, char **argv)
{
    monitor_suspend(mon);
    qemu_system_shutdown_request_reason(0, "host-qmp-quit", false);
    runstate_shutdown_finish();
}

static void hmp_object_add(Monitor *mon, int argc, char **argv)
{
    Error *err = NULL;

    user_creatable_add_opts_str(argv[0], &err);
    hmp_handle_error(mon, err);
}

static void hmp_object_del(Monitor *mon, int argc, char **argv)
{
    Error *err = NULL;

    user_creatable_del(argv[0], &err);
    hmp_handle_error(mon, err);
}

/* fds arrive on the connection: a captured monitor uses its caller's. */
static Monitor *hmp_fd_monitor(Monitor *mon)
{
    return mon->capture && mon->parent ? mon->parent : mon;
}

static void hmp_getfd(Monitor *mon, int argc, char **argv)
{
    Error *err = NULL;

    qmp_getfd_cmd(hmp_fd_monitor(mon), argv[0], &err);
    hmp_handle_error(mon, err);
}

static void hmp_closefd(Monitor *mon, int argc, char **argv)
{
    Error *err = NULL;

    qmp_closefd_cmd(hmp_fd_monitor(mon), argv[0], &err);
    hmp_handle_error(mon, err);
}

void monitor_register_hmp_commands(void)
{
    hmp_register_command("stop|s", "stop", "stop emulation", hmp_stop);
    hmp_register_command("cont|c", "cont", "resume emulation", hmp_cont);
    hmp_register_command("quit|q", "quit", "quit the emulator", hmp_quit);
    hmp_register_command("object_add",
                         "object_add [qom-type=]type,id=str[,prop=value][,...]",
                         "create QOM object", hmp_object_add);
    hmp_register_command("object_del", "object_del id", "destroy QOM object",
                         hmp_object_del);
    hmp_register_command("getfd", "getfd name",
                         "receive a file descriptor via SCM rights and "
                         "assign it a name",
                         hmp_getfd);
    hmp_register_command("closefd", "closefd name",
                         "close a file descriptor previously passed via "
                         "SCM rights",
                         hmp_closefd);
    hmp_register_info("status", "show the current VM status (running|paused)",
                      hmp_info_status);
    hmp_register_info("version", "show the version of QEMU", hmp_info_version);
    hmp_register_info("uuid", "show the current VM UUID", hmp_info_uuid);
    hmp_register_info("name", "show the current VM name", hmp_info_name);
}
