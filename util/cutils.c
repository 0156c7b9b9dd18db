/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * cutils.c: string to number conversions (see qemu/cutils.h).
 */
#include "qemu/osdep.h"
#include "qemu/cutils.h"

/*
 * Common tail of the qemu_strto*() functions: decide what the parse of
 * nptr that stopped at ep means given the caller's end pointer.
 */
static int check_strtox_error(const char *nptr, char *ep, const char **end,
                              bool no_conversion, int libc_errno)
{
    if (no_conversion) {
        if (end) {
            *end = nptr;
        }
        return -EINVAL;
    }
    if (end) {
        *end = ep;
    } else if (*ep != '\0') {
        return -EINVAL;
    }
    return libc_errno == ERANGE ? -ERANGE : 0;
}

int qemu_strtoi64(const char *nptr, const char **end, int base, int64_t *result)
{
    char *ep;
    long long v;

    if (!nptr) {
        if (end) {
            *end = NULL;
        }
        return -EINVAL;
    }
    errno = 0;
    v = strtoll(nptr, &ep, base);
    *result = v;
    return check_strtox_error(nptr, ep, end, ep == nptr, errno);
}

int qemu_strtou64(const char *nptr, const char **end, int base,
                  uint64_t *result)
{
    char *ep;
    unsigned long long v;

    if (!nptr) {
        if (end) {
            *end = NULL;
        }
        return -EINVAL;
    }
    errno = 0;
    v = strtoull(nptr, &ep, base);
    *result = v;
    return check_strtox_error(nptr, ep, end, ep == nptr, errno);
}

int qemu_strtol(const char *nptr, const char **end, int base, long *result)
{
    int64_t v = 0;
    int ret = qemu_strtoi64(nptr, end, base, &v);

    *result = (long)v; /* long is 64-bit on every host Tern runs on */
    return ret;
}

int qemu_strtoul(const char *nptr, const char **end, int base,
                 unsigned long *result)
{
    uint64_t v = 0;
    int ret = qemu_strtou64(nptr, end, base, &v);

    *result = (unsigned long)v;
    return ret;
}

int qemu_strtoi(const char *nptr, const char **end, int base, int *result)
{
    int64_t v = 0;
    int ret = qemu_strtoi64(nptr, end, base, &v);

    if (ret == -EINVAL) {
        *result = 0;
        return ret;
    }
    if (v > INT_MAX) {
        *result = INT_MAX;
        return -ERANGE;
    }
    if (v < INT_MIN) {
        *result = INT_MIN;
        return -ERANGE;
    }
    *result = (int)v;
    return ret;
}

int qemu_strtoui(const char *nptr, const char **end, int base,
                 unsigned int *result)
{
    uint64_t v = 0;
    const char *p;
    bool negative;
    int ret = qemu_strtou64(nptr, end, base, &v);

    if (ret == -EINVAL) {
        *result = 0;
        return ret;
    }
    p = nptr;
    while (g_ascii_isspace(*p)) {
        p++;
    }
    negative = *p == '-';
    if (ret == -ERANGE) {
        *result = UINT_MAX;
        return ret;
    }
    /* "-N" wraps like strtoul on a 32-bit unsigned long */
    if (negative) {
        uint64_t magnitude = -v;

        if (magnitude > UINT_MAX) {
            *result = UINT_MAX;
            return -ERANGE;
        }
        *result = (unsigned int)-(unsigned int)magnitude;
        return 0;
    }
    if (v > UINT_MAX) {
        *result = UINT_MAX;
        return -ERANGE;
    }
    *result = (unsigned int)v;
    return 0;
}

/* Power-of-1024 multiplier for a size suffix; 0 if c is not a suffix. */
static uint64_t suffix_to_unit(char c)
{
    switch (g_ascii_toupper(c)) {
    case 'B':
        return 1;
    case 'K':
        return KiB;
    case 'M':
        return MiB;
    case 'G':
        return GiB;
    case 'T':
        return 1ULL << 40;
    case 'P':
        return 1ULL << 50;
    case 'E':
        return 1ULL << 60;
    default:
        return 0;
    }
}

int qemu_strtosz_unit(const char *nptr, const char **end, uint64_t default_unit,
                      uint64_t *result)
{
    const char *p = nptr;
    uint64_t whole = 0, unit, frac_num = 0, frac_den = 1, frac_bytes;
    bool any_digit = false, frac_nonzero = false, overflow = false;
    int ret = -EINVAL;

    *result = 0;
    if (!nptr) {
        if (end) {
            *end = NULL;
        }
        return -EINVAL;
    }
    while (g_ascii_isspace(*p)) {
        p++;
    }
    if (*p == '-' || *p == '+') {
        goto fail;
    }

    if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X') && g_ascii_isxdigit(p[2])) {
        /* hexadecimal: an integer only */
        p += 2;
        while (g_ascii_isxdigit(*p)) {
            unsigned d = g_ascii_xdigit_value(*p++);

            if (whole > (UINT64_MAX - d) / 16) {
                overflow = true;
            } else {
                whole = whole * 16 + d;
            }
        }
        if (*p == '.') {
            goto fail;
        }
        any_digit = true;
    } else {
        while (g_ascii_isdigit(*p)) {
            unsigned d = *p++ - '0';

            any_digit = true;
            if (whole > (UINT64_MAX - d) / 10) {
                overflow = true;
            } else {
                whole = whole * 10 + d;
            }
        }
        if (*p == '.') {
            p++;
            if (!any_digit || !g_ascii_isdigit(*p)) {
                goto fail;
            }
            /* keep 18 digits: exact enough for any unit up to 2^60 */
            while (g_ascii_isdigit(*p)) {
                unsigned d = *p++ - '0';

                any_digit = true;
                if (d) {
                    frac_nonzero = true;
                }
                if (frac_den < 1000000000000000000ULL) {
                    frac_num = frac_num * 10 + d;
                    frac_den *= 10;
                }
            }
        }
    }
    if (!any_digit) {
        goto fail;
    }

    unit = suffix_to_unit(*p);
    if (unit) {
        p++;
    } else {
        unit = default_unit;
    }
    if (end) {
        *end = p;
    } else if (*p != '\0') {
        goto fail_no_end;
    }
    if (unit == 1 && frac_nonzero) {
        /* no fractional bytes */
        ret = -EINVAL;
        goto fail_no_end;
    }
    frac_bytes = (uint64_t)((unsigned __int128)frac_num * unit / frac_den);
    if (overflow || whole > UINT64_MAX / unit ||
        whole * unit > UINT64_MAX - frac_bytes) {
        *result = UINT64_MAX;
        return -ERANGE;
    }
    *result = whole * unit + frac_bytes;
    return 0;

fail:
    if (end) {
        *end = nptr;
    }
fail_no_end:
    return ret;
}

int qemu_strtosz(const char *nptr, const char **end, uint64_t *result)
{
    return qemu_strtosz_unit(nptr, end, 1, result);
}

int qemu_strtosz_MiB(const char *nptr, const char **end, uint64_t *result)
{
    return qemu_strtosz_unit(nptr, end, MiB, result);
}

char *size_to_str(uint64_t val)
{
    static const char *const prefixes[] = {
        "", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei",
    };
    unsigned i = 0;
    uint64_t div = 1;

    /* move up while the value would print as 1000 or more units */
    while (i + 1 < ARRAY_SIZE(prefixes) && val / div >= 1000) {
        i++;
        div <<= 10;
    }
    return g_strdup_printf("%0.3g %sB", (double)val / (double)div, prefixes[i]);
}

bool qemu_parse_bool(const char *str, bool *result)
{
    if (!str) {
        return false;
    }
    if (!strcmp(str, "on") || !strcmp(str, "yes") || !strcmp(str, "true") ||
        !strcmp(str, "y")) {
        *result = true;
        return true;
    }
    if (!strcmp(str, "off") || !strcmp(str, "no") || !strcmp(str, "false") ||
        !strcmp(str, "n")) {
        *result = false;
        return true;
    }
    return false;
}
