/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * trace.h: developer trace points, off by default.
 *
 *     TRACE("migrate_set_state", "new state %s", name);
 *
 * prints, when enabled, one line to stderr (or the -trace file=):
 *
 *     12345@1700000000.123456:migrate_set_state new state active
 *
 * (pid@seconds.microseconds:name message).  Trace points are enabled by
 * name with glob patterns (-trace PATTERN, trace_enable_pattern()).
 *
 * Cost when off: each TRACE site owns a static TraceSite whose state
 * caches "resolved at generation G, disabled" as the value G.  The check
 * is one compare of that int with the global generation and a branch
 * predicted not-taken; the arguments are not evaluated.  Changing the
 * patterns bumps the generation, so every site re-resolves lazily on its
 * next pass (once), then is cheap again.
 */
#ifndef QEMU_TRACE_H
#define QEMU_TRACE_H

#include "qemu/osdep.h"
#include "qapi/error.h"

typedef struct TraceSite {
    const char *name;
    int state; /* generation | 1 if enabled; 0: never resolved */
} TraceSite;

/* Even, >= 2; bumped by 2 whenever the enabled patterns change. */
extern int trace_generation;

/*
 * Slow path of TRACE: re-resolve site against the patterns if the
 * generation moved; true if the site is enabled.
 */
bool trace_site_enabled(TraceSite *site);
/* Print one trace line for site (a no-op if fmt is NULL). */
void trace_site_print(const TraceSite *site, const char *fmt, ...)
    QEMU_PRINTF(2, 3);

#define TRACE(name_, fmt_, ...)                                                \
    do {                                                                       \
        static TraceSite trace_site_ = {.name = (name_)};                      \
        if (G_UNLIKELY(                                                        \
                __atomic_load_n(&trace_site_.state, __ATOMIC_RELAXED) !=       \
                __atomic_load_n(&trace_generation, __ATOMIC_RELAXED)) &&       \
            trace_site_enabled(&trace_site_)) {                                \
            trace_site_print(&trace_site_, fmt_, ##__VA_ARGS__);               \
        }                                                                      \
    } while (0)

/*
 * Add patterns: a comma-separated list of globs (g_pattern_match_simple:
 * '*' and '?').  A pattern starting with '-' disables what it matches.
 * Later patterns win over earlier ones.  Takes effect for every site on
 * its next pass.  Thread-safe.
 */
void trace_enable_pattern(const char *globs);
/* Forget every pattern: all trace points off. */
void trace_disable_all(void);
/* Whether a trace point of this name would print now. */
bool trace_name_is_enabled(const char *name);

/*
 * Parse a -trace argument: "PATTERN", "enable=PATTERN", "events=FILE"
 * (one pattern per line, '#' comments) and "file=FILE" (output file,
 * opened for appending), combined with commas as QEMU allows, e.g.
 * "enable=migrate_*,file=/tmp/t.log".  false with errp set on an
 * unreadable events file or an unwritable output file.
 */
bool trace_opt_parse(const char *optarg, Error **errp);

/* Send trace output to path (NULL: back to stderr). */
bool trace_set_output_file(const char *path, Error **errp);

#endif /* QEMU_TRACE_H */
