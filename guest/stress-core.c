/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * stress-core.c: the stress workload (see stress-core.h for the RAM
 * layout, the page contents and the command line).
 *
 * Freestanding on purpose: this file is compiled into the bare-metal
 * guest (-ffreestanding -m32, no libc) and, natively as its own library
 * (accel/soft/meson.build), into the soft vCPU.  It is the one Tern .c
 * that does not start with qemu/osdep.h.  So: no libc calls, no 64-bit
 * division in the hot path (the guest links libgcc for the rare ones).
 */
#include "stress-core.h"

#define STRESS_DEFAULT_START    (2u << 20)
#define STRESS_VERIFY_PER_WRITE 2
#define STRESS_RESUME_CHUNK     64
#define STRESS_WINDOW_US        1000000u

/* ---- output ---------------------------------------------------------- */

static void out_str(const StressPlatform *plat, const char *s)
{
    if (!plat) {
        return;
    }
    while (*s) {
        plat->putc(plat->opaque, *s++);
    }
}

static void out_dec(const StressPlatform *plat, uint64_t v)
{
    char buf[24];
    int n = 0;

    if (!plat) {
        return;
    }
    do {
        buf[n++] = '0' + (char)(v % 10);
        v /= 10;
    } while (v);
    while (n) {
        plat->putc(plat->opaque, buf[--n]);
    }
}

static void out_hex(const StressPlatform *plat, uint64_t v)
{
    static const char digits[] = "0123456789abcdef";
    char buf[16];
    int n = 0;

    if (!plat) {
        return;
    }
    out_str(plat, "0x");
    do {
        buf[n++] = digits[v & 15];
        v >>= 4;
    } while (v);
    while (n) {
        plat->putc(plat->opaque, buf[--n]);
    }
}

/* An address or size: "16M" when MiB aligned, else hex. */
static void out_size(const StressPlatform *plat, uint64_t v)
{
    if (v && (v & ((1u << 20) - 1)) == 0) {
        out_dec(plat, v >> 20);
        out_str(plat, "M");
    } else if (v == 0) {
        out_str(plat, "0");
    } else {
        out_hex(plat, v);
    }
}

/* ---- command line ---------------------------------------------------- */

void stress_config_default(StressConfig *cfg)
{
    StressConfig d = {
        .rate_mib = 0,
        .pattern = STRESS_PATTERN_RANDOM,
        .verify = 1,
        .passes = 0,
        .report_ms = 1000,
    };

    *cfg = d;
}

static bool word_eq(const char *s, size_t len, const char *lit)
{
    size_t i;

    for (i = 0; i < len; i++) {
        if (lit[i] != s[i]) {
            return false;
        }
    }
    return lit[len] == '\0';
}

static bool word_prefix(const char *s, size_t len, const char *lit,
                        size_t *used)
{
    size_t i;

    for (i = 0; lit[i]; i++) {
        if (i >= len || lit[i] != s[i]) {
            return false;
        }
    }
    *used = i;
    return true;
}

/*
 * Parse a number at s[0..len): decimal or 0x hex, with an optional K/M/G
 * suffix when size is true.  All of s must be consumed.
 */
static bool parse_num(const char *s, size_t len, bool size, uint64_t *out)
{
    uint64_t v = 0;
    unsigned base = 10;
    size_t i = 0;
    bool any = false;

    if (len > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
        base = 16;
        i = 2;
    }
    for (; i < len; i++) {
        char c = s[i];
        unsigned d;

        if (c >= '0' && c <= '9') {
            d = c - '0';
        } else if (base == 16 && c >= 'a' && c <= 'f') {
            d = c - 'a' + 10;
        } else if (base == 16 && c >= 'A' && c <= 'F') {
            d = c - 'A' + 10;
        } else {
            break;
        }
        if (v > (UINT64_MAX - d) / base) {
            return false;
        }
        v = v * base + d;
        any = true;
    }
    if (!any) {
        return false;
    }
    if (i < len && size) {
        unsigned shift;

        switch (s[i]) {
        case 'k': case 'K':
            shift = 10;
            break;
        case 'm': case 'M':
            shift = 20;
            break;
        case 'g': case 'G':
            shift = 30;
            break;
        default:
            return false;
        }
        if (v > (UINT64_MAX >> shift)) {
            return false;
        }
        v <<= shift;
        i++;
    }
    if (i != len) {
        return false;
    }
    *out = v;
    return true;
}

static bool parse_u32(const char *s, size_t len, uint32_t *out)
{
    uint64_t v;

    if (!parse_num(s, len, false, &v) || v > UINT32_MAX) {
        return false;
    }
    *out = (uint32_t)v;
    return true;
}

static void out_word(const StressPlatform *plat, const char *s, size_t len)
{
    size_t i;

    if (!plat) {
        return;
    }
    for (i = 0; i < len; i++) {
        plat->putc(plat->opaque, s[i]);
    }
}

/* One key=value word; false on a bad value. */
static bool parse_one(const StressPlatform *plat, const char *w, size_t len,
                      StressConfig *cfg)
{
    size_t klen, used;
    const char *v;
    size_t vlen;

    for (klen = 0; klen < len && w[klen] != '='; klen++) {
        /* find '=' */
    }
    if (klen == len) {
        return true;            /* a word without '=' (e.g. the kernel) */
    }
    v = w + klen + 1;
    vlen = len - klen - 1;

    if (word_eq(w, klen, "mem")) {
        size_t dash;

        for (dash = 0; dash < vlen && v[dash] != '-'; dash++) {
            /* find '-' */
        }
        if (dash == vlen ||
            !parse_num(v, dash, true, &cfg->mem_start) ||
            !parse_num(v + dash + 1, vlen - dash - 1, true, &cfg->mem_end)) {
            goto bad;
        }
        cfg->has_mem = 1;
    } else if (word_eq(w, klen, "rate")) {
        if (!parse_u32(v, vlen, &cfg->rate_mib)) {
            goto bad;
        }
    } else if (word_eq(w, klen, "pattern")) {
        if (word_eq(v, vlen, "seq")) {
            cfg->pattern = STRESS_PATTERN_SEQ;
        } else if (word_eq(v, vlen, "random")) {
            cfg->pattern = STRESS_PATTERN_RANDOM;
        } else if (word_prefix(v, vlen, "hot:", &used) &&
                   parse_u32(v + used, vlen - used, &cfg->hot_mib) &&
                   cfg->hot_mib > 0) {
            cfg->pattern = STRESS_PATTERN_HOT;
        } else {
            goto bad;
        }
    } else if (word_eq(w, klen, "write")) {
        if (word_eq(v, vlen, "page")) {
            cfg->write_word = 0;
        } else if (word_eq(v, vlen, "word")) {
            cfg->write_word = 1;
        } else {
            goto bad;
        }
    } else if (word_eq(w, klen, "verify")) {
        if (word_eq(v, vlen, "on") || word_eq(v, vlen, "1") ||
            word_eq(v, vlen, "yes")) {
            cfg->verify = 1;
        } else if (word_eq(v, vlen, "off") || word_eq(v, vlen, "0") ||
                   word_eq(v, vlen, "no")) {
            cfg->verify = 0;
        } else {
            goto bad;
        }
    } else if (word_eq(w, klen, "passes")) {
        if (!parse_u32(v, vlen, &cfg->passes)) {
            goto bad;
        }
    } else if (word_eq(w, klen, "report_ms")) {
        if (!parse_u32(v, vlen, &cfg->report_ms)) {
            goto bad;
        }
    } else if (word_eq(w, klen, "tsc_khz")) {
        if (!parse_num(v, vlen, false, &cfg->tsc_khz) || !cfg->tsc_khz) {
            goto bad;
        }
        cfg->has_tsc_khz = 1;
    } else {
        out_str(plat, "stress: ignoring unknown argument '");
        out_word(plat, w, len);
        out_str(plat, "'\n");
    }
    return true;

bad:
    out_str(plat, "stress: error: bad argument '");
    out_word(plat, w, len);
    out_str(plat, "'\n");
    return false;
}

bool stress_parse_args(const StressPlatform *plat, const char *cmdline,
                       StressConfig *cfg)
{
    const char *p = cmdline;

    if (!p) {
        return true;
    }
    while (*p) {
        const char *w;

        while (*p == ' ' || *p == '\t' || *p == '\n') {
            p++;
        }
        w = p;
        while (*p && *p != ' ' && *p != '\t' && *p != '\n') {
            p++;
        }
        if (p > w && !parse_one(plat, w, (size_t)(p - w), cfg)) {
            return false;
        }
    }
    return true;
}

/* ---- page contents --------------------------------------------------- */

static inline uint64_t splitmix64(uint64_t x)
{
    x += 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

static inline uint64_t stress_page_seed(uint64_t p, uint32_t g)
{
    uint64_t s = splitmix64((p << 32) ^ g ^ STRESS_MAGIC);

    return s ? s : 1;
}

static inline uint64_t xorshift64(uint64_t x)
{
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return x;
}

uint64_t stress_page_word(uint64_t p, uint32_t g, unsigned i)
{
    uint64_t x = stress_page_seed(p, g);
    unsigned k;

    for (k = 0; k <= i; k++) {
        x = xorshift64(x);
    }
    return x;
}

static inline uint64_t *page_ptr(StressCtx *ctx, uint64_t p)
{
    return (uint64_t *)(ctx->base + (uintptr_t)(ctx->st->data_start +
                                                p * STRESS_PAGE_SIZE));
}

static inline void mark(StressCtx *ctx, uint64_t addr, uint64_t len)
{
    if (ctx->plat->dirty) {
        ctx->plat->dirty(ctx->plat->opaque, addr, len);
    }
}

/*
 * Word 0 of page p at generation g (the first of the xorshift stream from
 * stress_page_seed(p, g)).  write=page: every word comes from that
 * stream.  write=word: word 0 as in write=page, the other words those of
 * generation 1, so a rewrite changes 8 bytes.
 */
static uint64_t page_word0(uint64_t p, uint32_t g)
{
    return xorshift64(stress_page_seed(p, g));
}

static void page_fill(StressCtx *ctx, uint64_t p, uint32_t g)
{
    uint64_t *w = page_ptr(ctx, p);
    uint64_t x;
    unsigned i;

    if (ctx->st->cfg.write_word && ctx->gen[p] != 0) {
        w[0] = page_word0(p, g);    /* the rest is already there */
        return;
    }
    x = stress_page_seed(p, ctx->st->cfg.write_word ? 1 : g);
    for (i = 0; i < STRESS_PAGE_WORDS; i++) {
        x = xorshift64(x);
        w[i] = x;
    }
    w[0] = page_word0(p, g);
}

/* Check page p against its generation; print MISMATCH and fail if not. */
static bool page_check(StressCtx *ctx, uint64_t p)
{
    const uint64_t *w = page_ptr(ctx, p);
    uint32_t g = ctx->gen[p];
    uint64_t x;
    unsigned i;

    if (g == 0) {
        return true;            /* never written */
    }
    x = stress_page_seed(p, ctx->st->cfg.write_word ? 1 : g);
    for (i = 0; i < STRESS_PAGE_WORDS; i++) {
        uint64_t got = w[i];
        uint64_t want;

        x = xorshift64(x);
        /* word 0: the same as the stream's in write=page */
        want = i == 0 ? page_word0(p, g) : x;
        if (got != want) {
            const StressPlatform *plat = ctx->plat;

            out_str(plat, "stress: MISMATCH page=");
            out_hex(plat, ctx->st->data_start + p * STRESS_PAGE_SIZE);
            out_str(plat, " expected=");
            out_hex(plat, want);
            out_str(plat, " got=");
            out_hex(plat, got);
            out_str(plat, " gen=");
            out_dec(plat, g);
            out_str(plat, " word=");
            out_dec(plat, i);
            out_str(plat, "\n");
            return false;
        }
    }
    return true;
}

/* ---- state block ----------------------------------------------------- */

static uint64_t state_check(const StressState *st)
{
    return st->magic ^ st->self ^ st->npages ^ st->data_start ^
           st->gen_table ^ ((uint64_t)st->version << 32) ^ st->page_size;
}

static void mark_state(StressCtx *ctx)
{
    mark(ctx, ctx->st->self, sizeof(StressState));
}

static void ctx_bind(StressCtx *ctx, const StressPlatform *plat,
                     uintptr_t base, uint64_t ram_size, uint64_t addr)
{
    ctx->plat = plat;
    ctx->base = base;
    ctx->ram_size = ram_size;
    ctx->st = (StressState *)(base + (uintptr_t)addr);
    ctx->gen = (uint32_t *)(base + (uintptr_t)ctx->st->gen_table);
    ctx->report_t = plat->now_us(plat->opaque);
    ctx->report_writes = ctx->st->writes;
    ctx->window_t = ctx->report_t;
    ctx->window_writes = 0;
    ctx->resume_left = 0;
    ctx->resume_checked = 0;
}

static void print_pattern(const StressPlatform *plat, const StressConfig *c)
{
    switch (c->pattern) {
    case STRESS_PATTERN_SEQ:
        out_str(plat, "seq");
        break;
    case STRESS_PATTERN_HOT:
        out_str(plat, "hot:");
        out_dec(plat, c->hot_mib);
        break;
    default:
        out_str(plat, "random");
        break;
    }
}

bool stress_setup(StressCtx *ctx, const StressPlatform *plat,
                  uintptr_t base, uint64_t ram_size, uint64_t min_addr,
                  const StressConfig *cfg)
{
    uint64_t start, end, range, npages, gpages;
    StressState *st;
    volatile uint8_t *z;
    uint64_t i;

    if (cfg->has_mem) {
        start = cfg->mem_start;
        end = cfg->mem_end;
    } else {
        start = min_addr > STRESS_DEFAULT_START ? min_addr
                                                : STRESS_DEFAULT_START;
        end = ram_size;
    }
    start = (start + STRESS_PAGE_SIZE - 1) & ~(uint64_t)(STRESS_PAGE_SIZE - 1);
    end &= ~(uint64_t)(STRESS_PAGE_SIZE - 1);
    if (start < min_addr || end > ram_size || start >= end ||
        end - start < 3 * STRESS_PAGE_SIZE) {
        out_str(plat, "stress: error: mem=");
        out_size(plat, start);
        out_str(plat, "-");
        out_size(plat, end);
        out_str(plat, " does not fit RAM ");
        out_size(plat, min_addr);
        out_str(plat, "-");
        out_size(plat, ram_size);
        out_str(plat, "\n");
        return false;
    }

    /* State page, then gen[] (4 bytes per page), then data pages. */
    range = (end - start) / STRESS_PAGE_SIZE;
    npages = range - 1;
    for (;;) {
        gpages = (npages * 4 + STRESS_PAGE_SIZE - 1) / STRESS_PAGE_SIZE;
        if (1 + gpages + npages <= range) {
            break;
        }
        npages--;
    }

    st = (StressState *)(base + (uintptr_t)start);
    z = (volatile uint8_t *)st;
    for (i = 0; i < (1 + gpages) * STRESS_PAGE_SIZE; i++) {
        z[i] = 0;
    }
    st->self = start;
    st->version = STRESS_VERSION;
    st->page_size = STRESS_PAGE_SIZE;
    st->cfg = *cfg;
    st->cfg.mem_start = start;
    st->cfg.mem_end = end;
    st->cfg.has_mem = 1;
    st->gen_table = start + STRESS_PAGE_SIZE;
    st->data_start = start + (1 + gpages) * STRESS_PAGE_SIZE;
    st->npages = npages;
    st->hot_pages = npages;
    if (cfg->pattern == STRESS_PATTERN_HOT) {
        uint64_t hot = ((uint64_t)cfg->hot_mib << 20) / STRESS_PAGE_SIZE;

        st->hot_pages = hot && hot < npages ? hot : npages;
    }
    st->rng = splitmix64(start ^ end ^ 0x5eed);
    if (!st->rng) {
        st->rng = 1;
    }
    st->magic = STRESS_MAGIC;
    st->check = state_check(st);

    ctx_bind(ctx, plat, base, ram_size, start);
    mark(ctx, start, (1 + gpages) * STRESS_PAGE_SIZE);

    out_str(plat, "stress: start mem=");
    out_size(plat, start);
    out_str(plat, "-");
    out_size(plat, end);
    out_str(plat, " rate=");
    out_dec(plat, cfg->rate_mib);
    out_str(plat, " pattern=");
    print_pattern(plat, cfg);
    if (cfg->write_word) {
        out_str(plat, " write=word");
    }
    out_str(plat, " verify=");
    out_str(plat, cfg->verify ? "on" : "off");
    out_str(plat, " tsc_khz=");
    out_dec(plat, cfg->tsc_khz);
    out_str(plat, " pages=");
    out_dec(plat, npages);
    out_str(plat, "\n");
    return true;
}

/* Is there a valid state block at guest address addr? */
static bool state_valid(uintptr_t base, uint64_t ram_size, uint64_t addr)
{
    const StressState *st;
    uint64_t gbytes;

    if (addr & (STRESS_PAGE_SIZE - 1) ||
        addr > ram_size - STRESS_PAGE_SIZE) {
        return false;
    }
    st = (const StressState *)(base + (uintptr_t)addr);
    if (st->magic != STRESS_MAGIC || st->self != addr ||
        st->version != STRESS_VERSION ||
        st->page_size != STRESS_PAGE_SIZE || st->check != state_check(st)) {
        return false;
    }
    gbytes = st->npages * 4;
    if (st->npages == 0 || st->npages > ram_size / STRESS_PAGE_SIZE ||
        st->gen_table != addr + STRESS_PAGE_SIZE ||
        st->data_start < st->gen_table + gbytes ||
        st->data_start > ram_size ||
        st->npages > (ram_size - st->data_start) / STRESS_PAGE_SIZE ||
        st->hot_pages == 0 || st->hot_pages > st->npages ||
        st->cursor >= st->npages || st->vcursor >= st->npages ||
        st->pass_writes > st->npages) {
        return false;
    }
    return true;
}

uint64_t stress_find_state(uintptr_t base, uint64_t ram_size, uint64_t hint)
{
    uint64_t a;

    if (hint != STRESS_NO_STATE && state_valid(base, ram_size, hint)) {
        return hint;
    }
    for (a = 0; a + STRESS_PAGE_SIZE <= ram_size; a += 1u << 20) {
        if (state_valid(base, ram_size, a)) {
            return a;
        }
    }
    return STRESS_NO_STATE;
}

static void print_counters(StressCtx *ctx)
{
    const StressPlatform *plat = ctx->plat;
    StressState *st = ctx->st;

    out_str(plat, "pass=");
    out_dec(plat, st->pass);
    out_str(plat, " dirtied=");
    out_dec(plat, st->writes >> (20 - 12));
    out_str(plat, "MiB");
}

bool stress_attach(StressCtx *ctx, const StressPlatform *plat,
                   uintptr_t base, uint64_t ram_size, uint64_t addr)
{
    if (!state_valid(base, ram_size, addr)) {
        return false;
    }
    ctx_bind(ctx, plat, base, ram_size, addr);
    if (!ctx->st->finished && ctx->st->cfg.verify) {
        /*
         * Pages written so far: all of them after the first pass.  Not
         * with verify=off: the work after a migration is then the same
         * as a KVM/TCG guest's (which cannot tell it was migrated).
         */
        ctx->resume_left = ctx->st->pass ? ctx->st->npages
                                         : ctx->st->pass_writes;
    }
    out_str(plat, "stress: resume ");
    print_counters(ctx);
    out_str(plat, " verified=");
    out_dec(plat, ctx->st->verified);
    out_str(plat, ctx->st->finished ? " finished\n" : "\n");
    return true;
}

bool stress_verify_all(StressCtx *ctx)
{
    uint64_t p;

    for (p = 0; p < ctx->st->npages; p++) {
        if (!page_check(ctx, p)) {
            return false;
        }
    }
    return true;
}

/* ---- the loop -------------------------------------------------------- */

static inline uint64_t rng_next(StressState *st)
{
    uint64_t x = xorshift64(st->rng);

    st->rng = x;
    return x;
}

/* A uniform-enough index below n without a 64-bit division. */
static inline uint64_t rng_below(StressState *st, uint64_t n)
{
    uint64_t r = rng_next(st);

    if (n <= UINT32_MAX) {
        return ((r >> 32) * (uint32_t)n) >> 32;
    }
    return r % n;
}

static uint64_t pick_page(StressCtx *ctx)
{
    StressState *st = ctx->st;
    uint64_t p;

    if (st->pass == 0 || st->cfg.pattern == STRESS_PATTERN_SEQ) {
        p = st->cursor;
        st->cursor = p + 1 == st->npages ? 0 : p + 1;
        return p;
    }
    if (st->cfg.pattern == STRESS_PATTERN_HOT) {
        return rng_below(st, st->hot_pages);
    }
    return rng_below(st, st->npages);
}

/* Verify the next page in the sweep; false on mismatch. */
static bool verify_next(StressCtx *ctx)
{
    StressState *st = ctx->st;
    uint64_t limit = st->pass ? st->npages : st->pass_writes;
    uint64_t p = st->vcursor;

    if (limit == 0) {
        return true;
    }
    if (p >= limit) {
        p = 0;
    }
    st->vcursor = p + 1 >= limit ? 0 : p + 1;
    st->verified++;
    return page_check(ctx, p);
}

static void report(StressCtx *ctx, uint64_t now)
{
    const StressPlatform *plat = ctx->plat;
    uint64_t dt = now - ctx->report_t;
    uint64_t dw = ctx->st->writes - ctx->report_writes;
    /* pages/s, then MiB/s (256 pages per MiB) */
    uint64_t rate = dt ? (dw * 1000000u / dt) >> 8 : 0;

    out_str(plat, "stress: ok ");
    print_counters(ctx);
    out_str(plat, " rate=");
    out_dec(plat, rate);
    out_str(plat, "MiB/s verified=");
    out_dec(plat, ctx->st->verified);
    out_str(plat, "\n");
    ctx->report_t = now;
    ctx->report_writes = ctx->st->writes;
}

static int finish(StressCtx *ctx, unsigned code)
{
    ctx->st->finished = 1;
    mark_state(ctx);
    ctx->plat->exit(ctx->plat->opaque, code);
    return (int)code;
}

/* How long to wait before the next write to keep to rate=, 0 = go. */
static uint64_t rate_wait(StressCtx *ctx, uint64_t now)
{
    uint64_t rate = ctx->st->cfg.rate_mib;
    uint64_t dt, allowed;

    if (!rate) {
        return 0;
    }
    if (now < ctx->window_t || now - ctx->window_t >= STRESS_WINDOW_US) {
        ctx->window_t = now;
        ctx->window_writes = 0;
    }
    dt = now - ctx->window_t;
    /* pages allowed so far in this window: rate MiB/s = rate*256 pages/s */
    allowed = rate * 256 * dt / 1000000u + 1;
    if (ctx->window_writes < allowed) {
        return 0;
    }
    /* time at which window_writes + 1 pages are allowed */
    return (ctx->window_writes * 1000000u) / (rate * 256) - dt + 1;
}

int stress_run(StressCtx *ctx)
{
    const StressPlatform *plat = ctx->plat;
    StressState *st = ctx->st;

    if (st->finished) {
        return STRESS_RUN_STOPPED;
    }
    for (;;) {
        uint64_t now, wait, p;
        uint32_t g;
        int i;

        if (plat->poll && !plat->poll(plat->opaque)) {
            return STRESS_RUN_STOPPED;
        }

        /* After a resume, check every written page before writing. */
        if (ctx->resume_left) {
            for (i = 0; i < STRESS_RESUME_CHUNK && ctx->resume_left; i++) {
                uint64_t n = ctx->resume_checked++;

                ctx->resume_left--;
                if (!page_check(ctx, n)) {
                    return finish(ctx, STRESS_EXIT_MISMATCH);
                }
            }
            if (!ctx->resume_left) {
                out_str(plat, "stress: resume verified ");
                out_dec(plat, ctx->resume_checked);
                out_str(plat, " pages\n");
                ctx->report_t = plat->now_us(plat->opaque);
                ctx->report_writes = st->writes;
            }
            continue;
        }

        now = plat->now_us(plat->opaque);
        if (now < ctx->report_t) {
            /* time went backwards (new host): restart the period */
            ctx->report_t = now;
            ctx->report_writes = st->writes;
        } else if (st->cfg.report_ms &&
                   now - ctx->report_t >= (uint64_t)st->cfg.report_ms * 1000) {
            report(ctx, now);
        }
        wait = rate_wait(ctx, now);
        if (wait) {
            if (plat->busy_wait && st->cfg.verify) {
                for (i = 0; i < STRESS_RESUME_CHUNK; i++) {
                    if (!verify_next(ctx)) {
                        return finish(ctx, STRESS_EXIT_MISMATCH);
                    }
                    if (plat->now_us(plat->opaque) - now >= wait) {
                        break;
                    }
                }
                mark_state(ctx);
            } else if (plat->wait_us) {
                plat->wait_us(plat->opaque, wait);
            }
            continue;
        }

        /* One page write: data, then its generation, then counters. */
        p = pick_page(ctx);
        g = ctx->gen[p] + 1;
        if (g == 0) {
            g = 1;
        }
        page_fill(ctx, p, g);
        mark(ctx, st->data_start + p * STRESS_PAGE_SIZE, STRESS_PAGE_SIZE);
        ((volatile uint32_t *)ctx->gen)[p] = g;
        mark(ctx, st->gen_table + p * 4, 4);
        st->writes++;
        ctx->window_writes++;
        if (++st->pass_writes == st->npages) {
            st->pass++;
            st->pass_writes = 0;
        }

        if (st->cfg.verify) {
            for (i = 0; i < STRESS_VERIFY_PER_WRITE; i++) {
                if (!verify_next(ctx)) {
                    return finish(ctx, STRESS_EXIT_MISMATCH);
                }
            }
        }
        mark_state(ctx);

        if (st->cfg.passes && st->pass >= st->cfg.passes &&
            st->pass_writes == 0) {
            if (st->cfg.verify && !stress_verify_all(ctx)) {
                return finish(ctx, STRESS_EXIT_MISMATCH);
            }
            out_str(plat, "stress: done ");
            print_counters(ctx);
            out_str(plat, " verified=");
            out_dec(plat, st->verified);
            out_str(plat, "\n");
            return finish(ctx, STRESS_EXIT_DONE);
        }
    }
}
