/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * monitor-internal.h: what monitor.c, qmp.c, hmp.c and the command files
 * share.  Not for other subsystems (they use monitor/monitor.h).
 *
 * A Monitor is one conversation: a QMP or HMP client on a socket, HMP on
 * stdio, or a temporary HMP monitor whose output is captured (QMP
 * human-monitor-command).  All monitor state is touched only on the main
 * loop thread with the BQL held.
 */
#ifndef MONITOR_INTERNAL_H
#define MONITOR_INTERNAL_H

#include "qemu/osdep.h"
#include "monitor/monitor.h"
#include "qapi/qmp/dispatch.h"
#include "io/channel.h"

struct Monitor {
    int refcnt;
    bool is_qmp;
    bool dead;       /* connection gone; freed at last unref */
    QIOChannel *ioc; /* socket connection, or NULL (stdio, capture) */
    int fd_in;       /* stdio: 0, else -1 */
    int fd_out;      /* stdio: 1, else -1 */
    bool is_stdio;   /* don't close 0/1; blocking writes */
    bool tty;
    guint in_watch; /* input watch source id, 0 if none */
    guint out_watch;
    GString *outbuf;  /* bytes not yet written */
    bool fd_out_full; /* client stopped reading: drop output */
    GString *capture; /* capture monitor: output collects here */
    Monitor *parent;  /* capture monitor: who ran it, or NULL */

    /* QMP */
    JsonStreamParser *parser;
    bool commands_mode; /* qmp_capabilities done */

    /* HMP */
    GString *linebuf; /* partial input line */
    int suspend_cnt;
    bool prompt_pending; /* print the prompt on resume */
    bool line_too_long;  /* dropping input up to the next newline */

    /* fds: received by SCM_RIGHTS but not claimed, then named by getfd */
    GQueue recv_fds; /* GINT_TO_POINTER(fd) */
    GHashTable *fds; /* name (owned) -> GINT_TO_POINTER(fd) */
};

/* monitor.c */
Monitor *monitor_new(bool is_qmp);
/*
 * Serve a connected, non-blocking socket fd (owned by the monitor from
 * now on): greeting, then input is watched on the main loop.
 */
Monitor *monitor_new_socket(bool is_qmp, int fd);
/* Append raw bytes to the output and try to write them (never blocks
 * for sockets: the rest waits for POLLOUT). */
void monitor_write(Monitor *mon, const char *buf, size_t len);
/* Write everything pending, blocking (at exit). */
void monitor_flush_all_blocking(void);
/* Close the connection (EOF/error); the struct lives until unref. */
void monitor_disconnect(Monitor *mon);
/* Watch mon's input (again) / stop watching it (suspend). */
void monitor_watch_input(Monitor *mon);
void monitor_unwatch_input(Monitor *mon);
/* Set the monitor whose command runs now; returns the previous one. */
Monitor *monitor_set_cur(Monitor *mon);
/* All live monitors (GList of Monitor *, borrowed). */
GList *monitor_list(void);
/* Take the oldest fd received by SCM_RIGHTS (-1 if none). */
int monitor_take_recv_fd(Monitor *mon);
/* Close fds received but not claimed by a command. */
void monitor_drop_recv_fds(Monitor *mon);
/* Name fd in mon's table (replacing and closing an older one). */
void monitor_add_fd(Monitor *mon, const char *name, int fd);
/* Close and forget name; false if unknown. */
bool monitor_close_fd(Monitor *mon, const char *name);

/* qmp.c */
/* Feed bytes from a QMP client. */
void monitor_qmp_input(Monitor *mon, const char *buf, size_t len);
/* Set up the parser and send the greeting (on connect). */
void monitor_qmp_greet(Monitor *mon);
/* Write one JSON value as a QMP line ("...\r\n"). */
void monitor_qmp_send(Monitor *mon, json_object *obj);
/* The event sink: every QMP monitor in command mode. */
void monitor_qmp_broadcast_event(json_object *event);
/* {"qemu": {"micro", "minor", "major"}, "package"}: a new reference. */
json_object *monitor_qmp_version_info(void);

/* hmp.c */
void monitor_hmp_input(Monitor *mon, const char *buf, size_t len);
void monitor_hmp_greet(Monitor *mon);
/*
 * Split a command line like a shell: blanks separate words, "..." and
 * '...' group, backslash escapes the next character (\n \r \t inside
 * quotes too).  Returns a NULL-terminated vector (g_strfreev) or NULL
 * with errp set ("unterminated string literal").  The first word (the
 * command name) also ends before an unquoted '/', as in QEMU, so
 * "xp/4xw 0x10" gives "xp" "/4xw" "0x10".
 */
char **hmp_split_line(const char *line, int *argc, Error **errp);
/* Run one line on mon (output via monitor_printf). */
void hmp_handle_command(Monitor *mon, const char *line);

/* QMP command bodies HMP reuses (qmp-cmds.c). */
bool qmp_stop_cmd(Error **errp);
bool qmp_cont_cmd(Error **errp);
bool qmp_getfd_cmd(Monitor *mon, const char *fdname, Error **errp);
bool qmp_closefd_cmd(Monitor *mon, const char *fdname, Error **errp);

/* The QMP/HMP commands owned by the front end (qmp-cmds.c, hmp-cmds.c). */
void monitor_register_qmp_commands(void);
/* query-qmp-schema (qmp-schema.c). */
void monitor_register_schema_commands(void);
void monitor_register_hmp_commands(void);

#endif /* MONITOR_INTERNAL_H */
