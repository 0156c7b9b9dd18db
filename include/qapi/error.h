/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * error.h: Error **errp reporting, in QEMU's style.
 *
 * A function that can fail takes "Error **errp" as its last argument,
 * sets it on every failure path (error_setg*), and also returns a success
 * indicator.  Callers pass:
 *   - NULL to ignore the error,
 *   - &local_err to inspect it (then error_free or error_propagate),
 *   - &error_abort when failure is a programming error (aborts),
 *   - &error_fatal while parsing the command line (prints, exit(1)).
 *
 * Messages are one phrase, no trailing period, QEMU's wording where QEMU
 * has one.
 */
#ifndef QAPI_ERROR_H
#define QAPI_ERROR_H

#include "qemu/osdep.h"

typedef enum ErrorClass {
    ERROR_CLASS_GENERIC_ERROR = 0,
    ERROR_CLASS_COMMAND_NOT_FOUND,
    ERROR_CLASS_DEVICE_NOT_ACTIVE,
    ERROR_CLASS_DEVICE_NOT_FOUND,
    ERROR_CLASS_KVM_MISSING_CAP,
} ErrorClass;

typedef struct Error Error;

extern Error *error_abort;
extern Error *error_fatal;

/* QMP spelling of an error class ("GenericError", ...). */
const char *error_class_name(ErrorClass cls);

/*
 * Set *errp (if errp is not NULL and *errp is NULL) to a new error.
 * If *errp is already set the new error is dropped: the first one wins.
 */
#define error_setg(errp, ...)                                                  \
    error_setg_internal((errp), __FILE__, __LINE__, __func__, __VA_ARGS__)
/* As error_setg, with ": <strerror(os_errno)>" appended. */
#define error_setg_errno(errp, os_errno, ...)                                  \
    error_setg_errno_internal((errp), __FILE__, __LINE__, __func__,            \
                              (os_errno), __VA_ARGS__)
/* As error_setg with an explicit class (QMP "class" member). */
#define error_set(errp, cls, ...)                                              \
    error_set_internal((errp), __FILE__, __LINE__, __func__, (cls), __VA_ARGS__)

void error_setg_internal(Error **errp, const char *src, int line,
                         const char *func, const char *fmt, ...)
    QEMU_PRINTF(5, 6);
void error_setg_errno_internal(Error **errp, const char *src, int line,
                               const char *func, int os_errno, const char *fmt,
                               ...) QEMU_PRINTF(6, 7);
void error_set_internal(Error **errp, const char *src, int line,
                        const char *func, ErrorClass cls, const char *fmt, ...)
    QEMU_PRINTF(6, 7);

/* The message, owned by err. */
const char *error_get_pretty(const Error *err);
/* The class of err. */
ErrorClass error_get_class(const Error *err);
/* A deep copy of err. */
Error *error_copy(const Error *err);
/* Free err; NULL is fine. */
void error_free(Error *err);
/* Free *errp if set and set it to NULL. */
void error_free_or_abort(Error **errp);

/*
 * Move local_err into *dst_errp: if dst_errp is NULL the error is freed,
 * &error_abort/&error_fatal act, if *dst_errp is already set local_err is
 * dropped (first error wins).
 */
void error_propagate(Error **dst_errp, Error *local_err);
/* As error_propagate, prefixing the message with fmt. */
void error_propagate_prepend(Error **dst_errp, Error *local_err,
                             const char *fmt, ...) QEMU_PRINTF(3, 4);
/* Prefix the message of *errp (if set) with fmt. */
void error_prepend(Error **errp, const char *fmt, ...) QEMU_PRINTF(2, 3);

/* Print "<prog>: <msg>\n" to stderr. */
void error_report_err(Error *err);

#endif /* QAPI_ERROR_H */
