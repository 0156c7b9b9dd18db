/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * hmp-expr.c: the HMP expression language (see monitor/hmp-expr.h).
 */
#include "qemu/osdep.h"
#include "monitor/hmp-expr.h"

/* A recursive-descent parser: the text left, and its first error. */
typedef struct HmpExpr {
    const char *p;
    Error *err;
} HmpExpr;

static uint64_t hmp_expr_sum(HmpExpr *e);

static void hmp_expr_skip(HmpExpr *e)
{
    while (*e->p == ' ' || *e->p == '\t') {
        e->p++;
    }
}

static uint64_t hmp_expr_unary(HmpExpr *e)
{
    uint64_t v;
    char *end;

    hmp_expr_skip(e);
    switch (*e->p) {
    case '+':
        e->p++;
        return hmp_expr_unary(e);
    case '-':
        e->p++;
        return -hmp_expr_unary(e);
    case '~':
        e->p++;
        return ~hmp_expr_unary(e);
    case '(':
        e->p++;
        v = hmp_expr_sum(e);
        hmp_expr_skip(e);
        if (*e->p != ')') {
            if (!e->err) {
                error_setg(&e->err, "')' expected");
            }
            return 0;
        }
        e->p++;
        return v;
    case '\0':
        if (!e->err) {
            error_setg(&e->err, "unexpected end of expression");
        }
        return 0;
    default:
        if (!g_ascii_isdigit(*e->p)) {
            if (!e->err) {
                error_setg(&e->err, "invalid char '%c' in expression", *e->p);
            }
            return 0;
        }
        errno = 0;
        v = strtoull(e->p, &end, 0);
        if (errno == ERANGE && !e->err) {
            error_setg(&e->err, "number too large");
        }
        e->p = end;
        return v;
    }
}

static uint64_t hmp_expr_prod(HmpExpr *e)
{
    uint64_t v = hmp_expr_unary(e), w;

    for (;;) {
        char op;

        hmp_expr_skip(e);
        op = *e->p;
        if (op != '*' && op != '/' && op != '%') {
            return v;
        }
        e->p++;
        w = hmp_expr_unary(e);
        if (op == '*') {
            v *= w;
        } else if (w == 0) {
            if (!e->err) {
                error_setg(&e->err, "division by zero");
            }
            return 0;
        } else {
            v = op == '/' ? v / w : v % w;
        }
    }
}

static uint64_t hmp_expr_logic(HmpExpr *e)
{
    uint64_t v = hmp_expr_prod(e);

    for (;;) {
        char op;

        hmp_expr_skip(e);
        op = *e->p;
        if (op != '&' && op != '|' && op != '^') {
            return v;
        }
        e->p++;
        if (op == '&') {
            v &= hmp_expr_prod(e);
        } else if (op == '|') {
            v |= hmp_expr_prod(e);
        } else {
            v ^= hmp_expr_prod(e);
        }
    }
}

static uint64_t hmp_expr_sum(HmpExpr *e)
{
    uint64_t v = hmp_expr_logic(e);

    for (;;) {
        char op;

        hmp_expr_skip(e);
        op = *e->p;
        if (op != '+' && op != '-') {
            return v;
        }
        e->p++;
        if (op == '+') {
            v += hmp_expr_logic(e);
        } else {
            v -= hmp_expr_logic(e);
        }
    }
}

bool hmp_expr_eval(const char **p, uint64_t *val, Error **errp)
{
    HmpExpr e = {.p = *p};

    *val = hmp_expr_sum(&e);
    hmp_expr_skip(&e);
    *p = e.p;
    if (e.err) {
        error_propagate(errp, e.err);
        return false;
    }
    return true;
}
