/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * monitor.h: the human monitor (HMP) command table, monitor output, and
 * the fd table filled by getfd.
 *
 * HMP commands receive the words after the command name, split like a
 * shell splits them (double quotes group, backslash escapes), and print
 * with monitor_printf.  They run on the main loop thread with the BQL.
 * A long-running command (HMP "migrate" without -d) calls
 * monitor_suspend(), returns, and later monitor_resume() when done: the
 * prompt comes back then, while the main loop keeps running meanwhile.
 *
 * Lines printed over HMP end "\r\n" when carried by QMP
 * human-monitor-command, "\n" on a terminal; monitor_printf takes care.
 */
#ifndef MONITOR_MONITOR_H
#define MONITOR_MONITOR_H

#include "qemu/osdep.h"
#include "qapi/error.h"
#include "qapi/qmp/dispatch.h"

typedef struct Monitor Monitor;

typedef void HmpCommandFunc(Monitor *mon, int argc, char **argv);
typedef void HmpInfoFunc(Monitor *mon);

/*
 * Register "name" with its usage ("migrate [-d] uri") and one-line help.
 * Static strings.  Main thread at start-up.
 */
void hmp_register_command(const char *name, const char *usage, const char *help,
                          HmpCommandFunc *fn);
/* Register "info name". */
void hmp_register_info(const char *name, const char *help, HmpInfoFunc *fn);

void monitor_printf(Monitor *mon, const char *fmt, ...) QEMU_PRINTF(2, 3);
/*
 * From an HMP command: complain about its arguments as QEMU does,
 * "NAME: MSG" then "Try \"help NAME\" for more information".  msg is e.g.
 * "string expected", "extraneous characters at the end of line".
 */
void hmp_usage_error(Monitor *mon, const char *msg);
/* Print "Error: <msg>" the way QEMU's HMP does (hmp_handle_error). */
void hmp_handle_error(Monitor *mon, Error *err);
/* The Monitor whose command is being run now (main thread), or NULL. */
Monitor *monitor_cur(void);
/* Is this monitor writing to a terminal (progress in place)? */
bool monitor_is_tty(Monitor *mon);
/*
 * Stop reading mon's input (no prompt) until monitor_resume.  Returns 0,
 * or -ENOTTY when mon cannot be suspended (QMP human-monitor-command's
 * temporary monitor): QEMU's HMP migrate then prints "terminal does not
 * allow synchronous migration, continuing detached".  Nests.
 */
int monitor_suspend(Monitor *mon);
void monitor_resume(Monitor *mon);
/*
 * Ctrl-C for a suspended command: while the stdio HMP monitor waits for
 * one (HMP "migrate" without -d), the command may claim SIGINT so that
 * Ctrl-C calls fn(opaque) instead of ending the process.  Returns false
 * (nothing claimed) unless mon is the stdio HMP monitor, the only one a
 * terminal's Ctrl-C belongs to.  One claim at a time; a new one replaces
 * the old.  Main thread.
 */
typedef void MonitorInterruptFunc(void *opaque);
bool monitor_claim_interrupt(Monitor *mon, MonitorInterruptFunc *fn,
                             void *opaque);
/* Drop the claim made with opaque (no-op when another claim replaced it). */
void monitor_release_interrupt(void *opaque);
/*
 * From the SIGINT handler (main loop): run the claimed handler and return
 * true, or return false when nothing claimed Ctrl-C (the process ends).
 */
bool monitor_interrupt(void);
/* Keep mon alive across a suspended command. */
Monitor *monitor_ref(Monitor *mon);
void monitor_unref(Monitor *mon);

/*
 * The fd named name from getfd (its ownership moves to the caller), or a
 * decimal fd number for fd: URIs when no such name exists and the string is
 * numeric (QEMU's monitor_fd_param).  -1 with errp:
 * "File descriptor named 'NAME' has not been found".
 */
int monitor_fd_param(const char *name, Error **errp);

/* Start monitors from command-line specs; false with errp on bad spec. */
bool monitor_init_qmp(const char *spec, Error **errp);
bool monitor_init_hmp(const char *spec, Error **errp);
/*
 * Register the front end's own commands (QMP qmp_capabilities,
 * query-version, query-status, query-commands, quit, stop, cont,
 * object-add, object-del, getfd, closefd, human-monitor-command; HMP
 * help, info, info status/version/name, stop, cont, quit, object_add,
 * object_del, getfd, closefd).  Main thread, once at start-up.  A
 * later registration of a name replaces the earlier one (HMP: any
 * command answering to one of the new names, so "cont|c" replaces "c").
 */
void monitor_register_commands(void);
/* Flush pending output (blocking) and remove unix socket files.  At exit. */
void monitor_cleanup(void);
/* Run an HMP command line; returns the output text (caller frees). */
char *hmp_run_command_line(const char *line);
/*
 * The QMP command human-monitor-command (QmpCommandFunc shape): runs
 * args' "command-line" with hmp_run_command_line, *ret = its output as a
 * JSON string.  false with errp set on bad arguments.
 */
bool qmp_human_monitor_command(json_object *args, json_object **ret,
                               Error **errp);

#endif /* MONITOR_MONITOR_H */
