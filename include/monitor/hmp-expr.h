/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * hmp-expr.h: the HMP expression language, a small version of QEMU's
 * monitor expressions: numbers in C bases (0x, 0, decimal), + - * / % &
 * | ^ ~, unary minus and parentheses, 64-bit unsigned arithmetic.  No
 * registers or symbols.  Precedence from loosest: + -, then & | ^, then
 * * / %, then unary.
 */
#ifndef MONITOR_HMP_EXPR_H
#define MONITOR_HMP_EXPR_H

#include "qemu/osdep.h"
#include "qapi/error.h"

/*
 * Evaluate the expression at *p, leaving *p after it (at the first
 * character that cannot continue it: the caller decides whether trailing
 * text is an error).  Returns true with *val set, or false with errp set
 * ("division by zero", "')' expected", ...).  Pure: any thread.
 */
bool hmp_expr_eval(const char **p, uint64_t *val, Error **errp);

#endif /* MONITOR_HMP_EXPR_H */
