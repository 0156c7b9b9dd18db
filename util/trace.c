/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * trace.c: glob-enabled trace points (see qemu/trace.h).
 *
 * trace_lock protects trace_patterns and trace_out.  trace_generation is
 * written only under trace_lock (after the pattern change, release) and
 * read locklessly by every TRACE site (relaxed: a site that sees the old
 * generation a little late just keeps its old answer for a pass).
 */
#include "qemu/osdep.h"
#include "qemu/trace.h"
#include "qemu/option.h"

int trace_generation = 2;

static GMutex trace_lock;
static GPtrArray *trace_patterns; /* char *, "-" prefix = disable */
static FILE *trace_out;           /* NULL: stderr */

/* Decide enabled for name from the patterns; trace_lock held. */
static bool trace_patterns_match(const char *name)
{
    bool enabled = false;
    guint i;

    for (i = 0; trace_patterns && i < trace_patterns->len; i++) {
        const char *pat = g_ptr_array_index(trace_patterns, i);
        bool negate = pat[0] == '-';

        if (g_pattern_match_simple(negate ? pat + 1 : pat, name)) {
            enabled = !negate;
        }
    }
    return enabled;
}

bool trace_site_enabled(TraceSite *site)
{
    int state = __atomic_load_n(&site->state, __ATOMIC_ACQUIRE);
    int gen = __atomic_load_n(&trace_generation, __ATOMIC_ACQUIRE);
    bool enabled;

    if ((state & ~1) == gen) {
        return state & 1;
    }
    g_mutex_lock(&trace_lock);
    gen = trace_generation;
    enabled = trace_patterns_match(site->name);
    __atomic_store_n(&site->state, gen | (enabled ? 1 : 0), __ATOMIC_RELEASE);
    g_mutex_unlock(&trace_lock);
    return enabled;
}

bool trace_name_is_enabled(const char *name)
{
    bool enabled;

    g_mutex_lock(&trace_lock);
    enabled = trace_patterns_match(name);
    g_mutex_unlock(&trace_lock);
    return enabled;
}

void trace_site_print(const TraceSite *site, const char *fmt, ...)
{
    g_autofree char *msg = NULL;
    gint64 now = g_get_real_time();
    va_list ap;
    FILE *out;

    if (!fmt) {
        return;
    }
    va_start(ap, fmt);
    msg = g_strdup_vprintf(fmt, ap);
    va_end(ap);

    g_mutex_lock(&trace_lock);
    out = trace_out ? trace_out : stderr;
    /* one fprintf per line keeps lines from different threads whole */
    fprintf(out, "%d@%" G_GINT64_FORMAT ".%06" G_GINT64_FORMAT ":%s %s\n",
            (int)getpid(), now / G_USEC_PER_SEC, now % G_USEC_PER_SEC,
            site->name, msg);
    fflush(out);
    g_mutex_unlock(&trace_lock);
}

/* Bump the generation; trace_lock held. */
static void trace_patterns_changed(void)
{
    __atomic_store_n(&trace_generation, trace_generation + 2, __ATOMIC_RELEASE);
}

void trace_enable_pattern(const char *globs)
{
    g_auto(GStrv) parts = g_strsplit(globs ? globs : "", ",", -1);
    size_t i;

    g_mutex_lock(&trace_lock);
    if (!trace_patterns) {
        trace_patterns = g_ptr_array_new_with_free_func(g_free);
    }
    for (i = 0; parts[i]; i++) {
        const char *pat = g_strstrip(parts[i]);

        if (*pat) {
            g_ptr_array_add(trace_patterns, g_strdup(pat));
        }
    }
    trace_patterns_changed();
    g_mutex_unlock(&trace_lock);
}

void trace_disable_all(void)
{
    g_mutex_lock(&trace_lock);
    if (trace_patterns) {
        g_ptr_array_set_size(trace_patterns, 0);
    }
    trace_patterns_changed();
    g_mutex_unlock(&trace_lock);
}

bool trace_set_output_file(const char *path, Error **errp)
{
    FILE *f = NULL;

    if (path) {
        f = fopen(path, "a");
        if (!f) {
            error_setg_errno(errp, errno, "Could not open trace file '%s'",
                             path);
            return false;
        }
    }
    g_mutex_lock(&trace_lock);
    if (trace_out) {
        fclose(trace_out);
    }
    trace_out = f;
    g_mutex_unlock(&trace_lock);
    return true;
}

/* Enable every non-comment line of an events file. */
static bool trace_load_events_file(const char *path, Error **errp)
{
    g_autofree char *contents = NULL;
    g_autoptr(GError) gerr = NULL;
    g_auto(GStrv) lines = NULL;
    size_t i;

    if (!g_file_get_contents(path, &contents, NULL, &gerr)) {
        error_setg(errp, "Could not open trace events file '%s': %s", path,
                   gerr->message);
        return false;
    }
    lines = g_strsplit(contents, "\n", -1);
    for (i = 0; lines[i]; i++) {
        const char *line = g_strstrip(lines[i]);

        if (*line && *line != '#') {
            trace_enable_pattern(line);
        }
    }
    return true;
}

bool trace_opt_parse(const char *optarg, Error **errp)
{
    QemuOpts *opts = qemu_opts_parse(optarg, "enable", errp);
    bool ok = true;
    size_t i;

    if (!opts) {
        return false;
    }
    for (i = 0; ok && i < qemu_opts_count(opts); i++) {
        const char *key = qemu_opts_key(opts, i);
        const char *value = qemu_opts_value(opts, i);

        if (!strcmp(key, "enable")) {
            trace_enable_pattern(value);
        } else if (!strcmp(key, "events")) {
            ok = trace_load_events_file(value, errp);
        } else if (!strcmp(key, "file")) {
            ok = trace_set_output_file(value, errp);
        } else if (!strcmp(value, "on") && !strchr(optarg, '=')) {
            /* "-trace a*,b*": a plain list of patterns */
            trace_enable_pattern(key);
        } else {
            error_setg(errp, "Invalid parameter '%s'", key);
            ok = false;
        }
    }
    qemu_opts_free(opts);
    return ok;
}
