/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * cutils.h: string to number conversions with QEMU's semantics.
 *
 * All qemu_strto*() functions return 0 on success or a negative errno:
 *   -EINVAL  nptr is NULL, holds no number, or (when end is NULL) has
 *            characters after the number;
 *   -ERANGE  the value does not fit (*result is then clamped).
 * When end is not NULL it is set to the first unparsed character (to nptr
 * when nothing was parsed) and trailing characters are not an error.
 * Leading white space is skipped; trailing white space is garbage.
 */
#ifndef QEMU_CUTILS_H
#define QEMU_CUTILS_H

#include "qemu/osdep.h"

int qemu_strtoi(const char *nptr, const char **end, int base, int *result);
int qemu_strtoui(const char *nptr, const char **end, int base,
                 unsigned int *result);
int qemu_strtol(const char *nptr, const char **end, int base, long *result);
int qemu_strtoul(const char *nptr, const char **end, int base,
                 unsigned long *result);
int qemu_strtoi64(const char *nptr, const char **end, int base,
                  int64_t *result);
/*
 * Unsigned conversions accept a leading '-' and wrap it like strtoull
 * ("-1" is UINT64_MAX), as QEMU does.
 */
int qemu_strtou64(const char *nptr, const char **end, int base,
                  uint64_t *result);

/*
 * Parse a size: a decimal number (optionally with a fraction, "1.5G") or
 * a hexadecimal integer ("0x1000"), followed by an optional suffix B, K,
 * M, G, T, P or E (either case; powers of 1024).  Without a suffix the
 * unit is bytes (qemu_strtosz) or MiB (qemu_strtosz_MiB, as -m uses).
 * Negative numbers, fractional bytes and garbage are -EINVAL; values of
 * 2^64 and above are -ERANGE.
 */
int qemu_strtosz(const char *nptr, const char **end, uint64_t *result);
int qemu_strtosz_MiB(const char *nptr, const char **end, uint64_t *result);
/* As qemu_strtosz but a suffix-less number is in units of default_unit. */
int qemu_strtosz_unit(const char *nptr, const char **end, uint64_t default_unit,
                      uint64_t *result);

/*
 * A human-readable size: "0 B", "512 B", "1.5 KiB", "4 GiB" (three
 * significant digits; a value of 1000 units or more moves to the next
 * unit).  Caller frees.
 */
char *size_to_str(uint64_t val);

/* Parse on/yes/true/y and off/no/false/n.  false if str is neither. */
bool qemu_parse_bool(const char *str, bool *result);

#endif /* QEMU_CUTILS_H */
