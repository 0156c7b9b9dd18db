/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * hmp.c: the human monitor: command table, line splitting, dispatch,
 * help, and the "(qemu) " prompt.
 *
 * Argument checking is driven by each command's usage string: after the
 * name, a bare word is a required argument, "[word]" an optional one,
 * "[-x]" a flag that may appear anywhere, and "..." anywhere in a word
 * means any number of further arguments.  Too few or too many arguments
 * get QEMU's two-line complaint; the command itself checks values.
 */
#include "qemu/osdep.h"
#include "monitor-internal.h"
#include "qapi/version.h"
#include "sysemu/main-loop.h"

typedef struct HmpCommand {
    const char *name;  /* "stop|s": alternatives split by '|' */
    const char *usage; /* "stop" / "migrate [-d] uri", or NULL */
    const char *help;
    HmpCommandFunc *cmd_fn;
    HmpInfoFunc *info_fn;
    int min_args;
    int max_args; /* -1: unlimited */
    char **flags; /* "-d", ...; NULL-terminated */
} HmpCommand;

static GPtrArray *hmp_commands; /* HmpCommand * */
static GPtrArray *hmp_infos;
/* The command being run (for hmp_usage_error). */
static const HmpCommand *hmp_cur_cmd;
static const char *hmp_cur_typed;

static void hmp_parse_usage(HmpCommand *cmd)
{
    g_auto(GStrv) words = NULL;
    GPtrArray *flags = g_ptr_array_new();

    cmd->min_args = 0;
    cmd->max_args = 0;
    if (!cmd->usage) {
        cmd->max_args = -1;
        g_ptr_array_add(flags, NULL);
        cmd->flags = (char **)g_ptr_array_free(flags, FALSE);
        return;
    }
    words = g_strsplit_set(cmd->usage, " \t", -1);
    for (int i = 1; words[i]; i++) {
        const char *w = words[i];
        bool many = strstr(w, "...") != NULL;

        if (!*w) {
            continue;
        }
        if (w[0] == '[' && w[1] == '-') {
            size_t n = strcspn(w + 1, "]");

            g_ptr_array_add(flags, g_strndup(w + 1, n));
            continue;
        }
        /* "/fmt" (QEMU's format suffix) is optional like "[word]". */
        if (w[0] != '[' && w[0] != '/') {
            cmd->min_args++;
        }
        if (cmd->max_args >= 0) {
            cmd->max_args = many ? -1 : cmd->max_args + 1;
        }
    }
    g_ptr_array_add(flags, NULL);
    cmd->flags = (char **)g_ptr_array_free(flags, FALSE);
}

/* Does typed match one of name's '|'-separated alternatives? */
static bool hmp_name_matches(const char *name, const char *typed)
{
    size_t len = strlen(typed);

    while (*name) {
        size_t n = strcspn(name, "|");

        if (n == len && !strncmp(name, typed, len)) {
            return true;
        }
        name += n;
        if (*name == '|') {
            name++;
        }
    }
    return false;
}

/* Do names a and b ("x|y") share an alternative? */
static bool hmp_names_overlap(const char *a, const char *b)
{
    g_auto(GStrv) alts = g_strsplit(b, "|", -1);

    for (int i = 0; alts[i]; i++) {
        if (hmp_name_matches(a, alts[i])) {
            return true;
        }
    }
    return false;
}

void hmp_register_command(const char *name, const char *usage, const char *help,
                          HmpCommandFunc *fn)
{
    HmpCommand *cmd = g_new0(HmpCommand, 1);

    if (!hmp_commands) {
        hmp_commands = g_ptr_array_new();
    }
    cmd->name = name;
    cmd->usage = usage;
    cmd->help = help;
    cmd->cmd_fn = fn;
    hmp_parse_usage(cmd);
    /*
     * A later registration replaces every earlier command that answers to
     * one of its names ("cont|c" replaces "cont" and "c").
     */
    for (guint i = 0; i < hmp_commands->len;) {
        HmpCommand *old = g_ptr_array_index(hmp_commands, i);

        if (hmp_names_overlap(old->name, name)) {
            g_ptr_array_remove_index(hmp_commands, i);
            g_strfreev(old->flags);
            g_free(old);
            continue;
        }
        i++;
    }
    g_ptr_array_add(hmp_commands, cmd);
}

void hmp_register_info(const char *name, const char *help, HmpInfoFunc *fn)
{
    HmpCommand *cmd = g_new0(HmpCommand, 1);

    if (!hmp_infos) {
        hmp_infos = g_ptr_array_new();
    }
    cmd->name = name;
    cmd->help = help;
    cmd->info_fn = fn;
    for (guint i = 0; i < hmp_infos->len; i++) {
        HmpCommand *old = g_ptr_array_index(hmp_infos, i);

        if (!strcmp(old->name, name)) {
            hmp_infos->pdata[i] = cmd;
            g_free(old);
            return;
        }
    }
    g_ptr_array_add(hmp_infos, cmd);
}

static HmpCommand *hmp_find(GPtrArray *table, const char *typed)
{
    for (guint i = 0; table && i < table->len; i++) {
        HmpCommand *cmd = g_ptr_array_index(table, i);

        if (hmp_name_matches(cmd->name, typed)) {
            return cmd;
        }
    }
    return NULL;
}

static gint hmp_cmd_cmp(gconstpointer a, gconstpointer b)
{
    const HmpCommand *x = *(HmpCommand *const *)a;
    const HmpCommand *y = *(HmpCommand *const *)b;

    return strcmp(x->name, y->name);
}

/* "NAME PARAMS -- HELP" as QEMU's help prints it. */
static void hmp_print_help_line(Monitor *mon, const char *prefix,
                                const HmpCommand *cmd)
{
    const char *params = "";

    if (cmd->usage) {
        const char *sp = strchr(cmd->usage, ' ');

        params = sp ? sp + 1 : "";
    }
    monitor_printf(mon, "%s%s %s -- %s\n", prefix, cmd->name, params,
                   cmd->help ? cmd->help : "");
}

static void hmp_print_table(Monitor *mon, GPtrArray *table, const char *prefix)
{
    g_autoptr(GPtrArray) sorted = g_ptr_array_new();

    for (guint i = 0; table && i < table->len; i++) {
        g_ptr_array_add(sorted, g_ptr_array_index(table, i));
    }
    g_ptr_array_sort(sorted, hmp_cmd_cmp);
    for (guint i = 0; i < sorted->len; i++) {
        hmp_print_help_line(mon, prefix, g_ptr_array_index(sorted, i));
    }
}

/* help [command|info] */
static void hmp_help(Monitor *mon, int argc, char **argv)
{
    HmpCommand *cmd;

    if (argc == 0) {
        hmp_print_table(mon, hmp_commands, "");
        monitor_printf(mon, "info [subcommand] -- show various information "
                            "about the system state\n");
        return;
    }
    if (!strcmp(argv[0], "info")) {
        if (argc > 1) {
            cmd = hmp_find(hmp_infos, argv[1]);
            if (!cmd) {
                monitor_printf(mon, "unknown command: 'info %s'\n", argv[1]);
                return;
            }
            hmp_print_help_line(mon, "info ", cmd);
            return;
        }
        hmp_print_table(mon, hmp_infos, "info ");
        return;
    }
    cmd = hmp_find(hmp_commands, argv[0]);
    if (!cmd) {
        monitor_printf(mon, "unknown command: '%s'\n", argv[0]);
        return;
    }
    hmp_print_help_line(mon, "", cmd);
}

void hmp_usage_error(Monitor *mon, const char *msg)
{
    if (!hmp_cur_cmd) {
        monitor_printf(mon, "%s\n", msg);
        return;
    }
    monitor_printf(mon, "%s: %s\n", hmp_cur_cmd->name, msg);
    monitor_printf(mon, "Try \"help %s\" for more information\n",
                   hmp_cur_typed);
}

char **hmp_split_line(const char *line, int *argc, Error **errp)
{
    GPtrArray *words = g_ptr_array_new_with_free_func(g_free);
    const char *p = line;

    for (;;) {
        GString *w;
        char quote = 0;

        while (*p && g_ascii_isspace(*p)) {
            p++;
        }
        if (!*p) {
            break;
        }
        w = g_string_new(NULL);
        while (*p && (quote || !g_ascii_isspace(*p))) {
            char c;

            /*
             * The command name ends at '/' too, as in QEMU: "xp/4xw 0x10"
             * is "xp" "/4xw" "0x10" (a line starting with '/' has an
             * empty command name).
             */
            if (words->len == 0 && !quote && *p == '/') {
                break;
            }
            c = *p++;

            if (quote && c == quote) {
                quote = 0;
            } else if (!quote && (c == '"' || c == '\'')) {
                quote = c;
            } else if (c == '\\' && *p) {
                c = *p++;
                if (quote) {
                    switch (c) {
                    case 'n':
                        c = '\n';
                        break;
                    case 'r':
                        c = '\r';
                        break;
                    case 't':
                        c = '\t';
                        break;
                    default:
                        break;
                    }
                }
                g_string_append_c(w, c);
            } else {
                g_string_append_c(w, c);
            }
        }
        if (quote) {
            g_string_free(w, TRUE);
            g_ptr_array_free(words, TRUE);
            error_setg(errp, "unterminated string literal");
            return NULL;
        }
        g_ptr_array_add(words, g_string_free(w, FALSE));
    }
    *argc = words->len;
    g_ptr_array_set_free_func(words, NULL);
    g_ptr_array_add(words, NULL);
    return (char **)g_ptr_array_free(words, FALSE);
}

/* Count positional arguments (not declared flags) against the usage. */
static bool hmp_check_args(Monitor *mon, const HmpCommand *cmd, int argc,
                           char **argv)
{
    int n = 0;

    for (int i = 0; i < argc; i++) {
        bool flag = false;

        for (char **f = cmd->flags; f && *f; f++) {
            if (!strcmp(*f, argv[i])) {
                flag = true;
                break;
            }
        }
        n += !flag;
    }
    if (n < cmd->min_args) {
        hmp_usage_error(mon, "string expected");
        return false;
    }
    if (cmd->max_args >= 0 && n > cmd->max_args) {
        hmp_usage_error(mon, "extraneous characters at the end of line");
        return false;
    }
    return true;
}

void hmp_handle_command(Monitor *mon, const char *line)
{
    Error *err = NULL;
    g_auto(GStrv) argv = NULL;
    const HmpCommand *cmd, *saved_cmd = hmp_cur_cmd;
    const char *saved_typed = hmp_cur_typed;
    Monitor *old;
    int argc = 0;

    argv = hmp_split_line(line, &argc, &err);
    if (!argv) {
        monitor_printf(mon, "%s\n", error_get_pretty(err));
        error_free(err);
        return;
    }
    if (argc == 0) {
        return;
    }
    old = monitor_set_cur(mon);
    if (!strcmp(argv[0], "info")) {
        if (argc == 1) {
            hmp_print_table(mon, hmp_infos, "info ");
            goto out;
        }
        cmd = hmp_find(hmp_infos, argv[1]);
        if (!cmd) {
            monitor_printf(mon, "unknown command: 'info %s'\n", argv[1]);
            goto out;
        }
        cmd->info_fn(mon);
        goto out;
    }
    if (!strcmp(argv[0], "help") || !strcmp(argv[0], "?")) {
        hmp_help(mon, argc - 1, argv + 1);
        goto out;
    }
    cmd = hmp_find(hmp_commands, argv[0]);
    if (!cmd) {
        monitor_printf(mon, "unknown command: '%s'\n", argv[0]);
        goto out;
    }
    hmp_cur_cmd = cmd;
    hmp_cur_typed = argv[0];
    if (hmp_check_args(mon, cmd, argc - 1, argv + 1)) {
        cmd->cmd_fn(mon, argc - 1, argv + 1);
    }
    hmp_cur_cmd = saved_cmd;
    hmp_cur_typed = saved_typed;
out:
    monitor_set_cur(old);
}

static void monitor_hmp_prompt(Monitor *mon)
{
    monitor_write(mon, "(qemu) ", 7);
}

void monitor_hmp_greet(Monitor *mon)
{
    monitor_printf(mon,
                   "Tern %s monitor - type 'help' for more "
                   "information\n",
                   TERN_VERSION);
    monitor_hmp_prompt(mon);
}

/* Run the complete lines in mon->linebuf until suspended. */
static void monitor_hmp_run_lines(Monitor *mon)
{
    while (!mon->dead && mon->suspend_cnt == 0) {
        char *nl = memchr(mon->linebuf->str, '\n', mon->linebuf->len);
        g_autofree char *line = NULL;
        size_t len;

        if (!nl) {
            break;
        }
        len = nl - mon->linebuf->str;
        line = g_strndup(mon->linebuf->str, len);
        g_string_erase(mon->linebuf, 0, len + 1);
        g_strchomp(line); /* "\r" of CRLF clients */
        hmp_handle_command(mon, line);
        if (mon->suspend_cnt == 0) {
            monitor_hmp_prompt(mon);
        } else {
            mon->prompt_pending = true;
        }
    }
}

/*
 * Longest HMP line we keep (QEMU's readline stops at 4 KiB; object_add
 * lines with long paths need more).  A longer line is dropped whole,
 * with a message, rather than run cut short or buffered without end.
 */
#define HMP_LINE_MAX 65536

void monitor_hmp_input(Monitor *mon, const char *buf, size_t len)
{
    const char *nl, *last_nl;
    size_t tail;

    if (mon->line_too_long) {
        nl = memchr(buf, '\n', len);
        if (!nl) {
            return;
        }
        mon->line_too_long = false;
        len -= nl + 1 - buf;
        buf = nl + 1;
        monitor_printf(mon, "line too long (more than %d bytes), ignored\n",
                       HMP_LINE_MAX);
        monitor_hmp_prompt(mon);
    }
    g_string_append_len(mon->linebuf, buf, len);
    monitor_hmp_run_lines(mon);
    /* What follows the last newline is one partial line. */
    last_nl = memrchr(mon->linebuf->str, '\n', mon->linebuf->len);
    tail = mon->linebuf->len - (last_nl ? last_nl + 1 - mon->linebuf->str : 0);
    if (tail > HMP_LINE_MAX) {
        g_string_truncate(mon->linebuf, mon->linebuf->len - tail);
        mon->line_too_long = true;
    }
}

int monitor_suspend(Monitor *mon)
{
    if (!mon || mon->capture || mon->is_qmp) {
        return -ENOTTY;
    }
    if (mon->suspend_cnt++ == 0) {
        monitor_unwatch_input(mon);
    }
    return 0;
}

static void monitor_hmp_resume_bh(void *opaque)
{
    Monitor *mon = opaque;

    monitor_hmp_run_lines(mon);
    monitor_unref(mon);
}

void monitor_resume(Monitor *mon)
{
    if (!mon || mon->capture || mon->is_qmp || mon->suspend_cnt == 0) {
        return;
    }
    if (--mon->suspend_cnt > 0 || mon->dead) {
        return;
    }
    if (mon->prompt_pending) {
        mon->prompt_pending = false;
        monitor_hmp_prompt(mon);
    }
    monitor_watch_input(mon);
    /* Lines typed while suspended run from the main loop, not from here. */
    main_loop_schedule(monitor_hmp_resume_bh, monitor_ref(mon));
}
