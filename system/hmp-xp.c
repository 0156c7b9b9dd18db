/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * hmp-xp.c: HMP xp, a dump of guest-physical memory in QEMU's layout.
 */
#include "qemu/osdep.h"
#include "monitor/monitor.h"
#include "monitor/hmp-expr.h"
#include "hw/boards.h"
#include "qemu/bswap.h"
#include "sysemu/ramblock.h"
#include "machine-cmds.h"

/* Most units one xp prints. */
#define XP_MAX_COUNT (1024 * 1024)

/* Last format, as QEMU's monitor remembers it between x/xp commands. */
static int xp_last_format = 'x';
static int xp_last_size = 4;

static bool xp_parse_format(const char *s, int *count, int *format, int *size,
                            Error **errp)
{
    *count = 1;
    *format = xp_last_format;
    *size = -1;

    if (*s == '/') {
        s++;
        if (g_ascii_isdigit(*s)) {
            *count = 0;
            while (g_ascii_isdigit(*s)) {
                *count = *count * 10 + (*s++ - '0');
                if (*count > XP_MAX_COUNT) {
                    error_setg(errp, "count too large");
                    return false;
                }
            }
        }
        for (; *s; s++) {
            switch (*s) {
            case 'o':
            case 'x':
            case 'd':
            case 'u':
            case 'c':
                *format = *s;
                break;
            case 'b':
                *size = 1;
                break;
            case 'h':
                *size = 2;
                break;
            case 'w':
                *size = 4;
                break;
            case 'g':
            case 'L':
                *size = 8;
                break;
            case 'i':
                *format = *s;
                break;
            default:
                error_setg(errp, "invalid char in format: '%c'", *s);
                return false;
            }
        }
    }
    if (*format == 'c') {
        *size = 1;
    } else if (*size < 0) {
        *size = (xp_last_format == 'c') ? 4 : xp_last_size;
    }
    xp_last_format = *format;
    xp_last_size = *size;
    return true;
}

/* The size-byte unit at p (the guest is little-endian). */
static uint64_t xp_load(const uint8_t *p, int size)
{
    switch (size) {
    case 1:
        return *p;
    case 2:
        return lduw_le_p(p);
    case 4:
        return ldl_le_p(p);
    default:
        return ldq_le_p(p);
    }
}

static void xp_print_char(Monitor *mon, uint64_t v)
{
    monitor_printf(mon, "'");
    switch (v) {
    case '\'':
        monitor_printf(mon, "\\'");
        break;
    case '\\':
        monitor_printf(mon, "\\\\");
        break;
    case '\n':
        monitor_printf(mon, "\\n");
        break;
    case '\r':
        monitor_printf(mon, "\\r");
        break;
    default:
        if (v >= 32 && v <= 126) {
            monitor_printf(mon, "%c", (int)v);
        } else {
            monitor_printf(mon, "\\x%02x", (unsigned)v);
        }
        break;
    }
    monitor_printf(mon, "'");
}

/* Print count units of size bytes from guest-physical addr, QEMU's layout. */
static void xp_dump(Monitor *mon, int count, int format, int size,
                    uint64_t addr)
{
    int line_size = (size == 1) ? 8 : 16;
    int digits;
    int64_t len = (int64_t)count * size;

    switch (format) {
    case 'o':
        digits = DIV_ROUND_UP(size * 8, 3);
        break;
    case 'u':
    case 'd':
        digits = DIV_ROUND_UP(size * 8 * 10, 33);
        break;
    default:
        digits = size * 2;
        break;
    }

    while (len > 0) {
        int l = MIN(len, line_size), i;
        const uint8_t *buf;

        monitor_printf(mon, "%016" PRIx64 ":", addr);
        buf = ram_gpa_to_host(addr, l);
        if (!buf) {
            monitor_printf(mon, " Cannot access memory\n");
            break;
        }
        for (i = 0; i < l; i += size) {
            uint64_t v = xp_load(buf + i, size);

            monitor_printf(mon, " ");
            switch (format) {
            case 'o':
                monitor_printf(mon, "%#*" PRIo64, digits, v);
                break;
            case 'u':
                monitor_printf(mon, "%*" PRIu64, digits, v);
                break;
            case 'd':
                /* QEMU loads units unsigned: only 'g' shows negatives */
                monitor_printf(mon, "%*" PRId64, digits, (int64_t)v);
                break;
            case 'c':
                xp_print_char(mon, v);
                break;
            default:
                monitor_printf(mon, "0x%0*" PRIx64, digits, v);
                break;
            }
        }
        monitor_printf(mon, "\n");
        addr += l;
        len -= l;
    }
}

static void hmp_xp(Monitor *mon, int argc, char **argv)
{
    Error *err = NULL;
    int count, format, size, argi = 0;
    const char *fmt = "";
    g_autofree char *line = NULL;
    const char *p;
    uint64_t addr;

    if (argc > 0 && argv[0][0] == '/') {
        fmt = argv[argi++];
    }
    if (!xp_parse_format(fmt, &count, &format, &size, &err)) {
        goto err;
    }
    if (format == 'i') {
        MachineState *ms = current_machine();

        error_setg(&err, ms && ms->has_vcpu
                             ? "format 'i' (disassembly) is not supported"
                             : "Can not dump without CPU");
        monitor_printf(mon, "%s\n", error_get_pretty(err));
        error_free(err);
        return;
    }
    line = g_strjoinv(" ", argv + argi);
    p = line;
    if (!hmp_expr_eval(&p, &addr, &err)) {
        goto err;
    }
    if (*p) {
        error_setg(&err, "xp: extraneous characters at the end of line");
        goto err;
    }
    xp_dump(mon, count, format, size, addr);
    return;

err:
    monitor_printf(mon, "%s\nTry \"help xp\" for more information\n",
                   error_get_pretty(err));
    error_free(err);
}

void hmp_xp_register_commands(void)
{
    hmp_register_command("xp", "xp /fmt [addr]",
                         "physical memory dump starting at 'addr'", hmp_xp);
}
