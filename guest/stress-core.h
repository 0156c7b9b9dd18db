/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * stress-core.h: the stress workload, shared by the bare-metal guest
 * (guest/stress-main.c, a multiboot ELF) and the soft vCPU
 * (accel/soft/soft.c, which runs it natively against guest RAM).
 *
 * The core is freestanding C: it includes only the compiler's own
 * <stdint.h>/<stdbool.h>/<stddef.h> and reaches the outside world through
 * a StressPlatform (time, a character out, exit, a pause point, dirty
 * marking).  Guest addresses are offsets from a base host address (0 on
 * bare metal, the RAM block's mapping in the soft vCPU).
 *
 * Everything needed to continue and to check the workload lives in guest
 * RAM, inside the range it stresses, so a migrated guest goes on checking
 * every page it ever wrote:
 *
 *   mem_start                  StressState (one page): magic, config,
 *                              cursors, PRNG, counters
 *   mem_start + 4 KiB          generation table: uint32_t gen[npages]
 *   data_start (page aligned)  npages data pages ... up to mem_end
 *
 * Data page p written at generation g (g >= 1; 0 = never written) holds
 * 512 little-endian 64-bit words w[i] = xorshift64 stream seeded by
 * stress_page_seed(p, g).  A page's content is therefore fully derived
 * from its generation entry.  Every page write is followed by the
 * generation entry and the counters; in the soft vCPU each of those
 * writes is then reported through StressPlatform.dirty (after the store,
 * so a concurrent dirty-log sync never misses it).
 *
 * Exit values written to the debug-exit port (isa-debug-exit, tern's
 * port 0x501) and the resulting process exit status ((v << 1) | 1):
 *   STRESS_EXIT_DONE      0x00 -> 1   passes=N completed, all verified
 *   STRESS_EXIT_MISMATCH  0x10 -> 33  a page did not hold what was written
 *   STRESS_EXIT_BADARG    0x11 -> 35  bad command line
 *
 * Command line (space separated key=value; other words are ignored):
 *   mem=START-END  range to stress (K/M/G suffixes, 0x hex), default
 *                  2M to the end of RAM
 *   rate=N         MiB/s to dirty, 0 (default) = as fast as possible
 *   pattern=seq|random|hot:N   after the first sequential pass: keep
 *                  sweeping, pick random pages, or random pages in the
 *                  first N MiB (default random)
 *   write=page|word  a write rewrites the whole page (default), or only
 *                  its first 8-byte word once the page was written (the
 *                  delta-friendly load of the XBZRLE tests and bench;
 *                  rate= still counts page writes)
 *   verify=on|off  re-read and check 2 pages per page written (default on)
 *   passes=N       stop after N passes (N * npages writes) with
 *                  STRESS_EXIT_DONE, 0 (default) = forever
 *   report_ms=N    progress line period (default 1000, 0 = none)
 *   tsc_khz=N      guest TSC frequency (bare metal only; calibrated with
 *                  the PIT when absent)
 *
 * Output lines:
 *   stress: start mem=16M-112M rate=0 pattern=random verify=on tsc_khz=N
 *   stress: ok pass=N dirtied=NMiB rate=NMiB/s verified=N
 *   stress: MISMATCH page=0x.. expected=0x.. got=0x.. gen=N word=N
 *   stress: done pass=N dirtied=NMiB verified=N
 *   stress: resume pass=N dirtied=NMiB          (soft vCPU, after migration)
 *   stress: resume verified N pages             (full check after resume)
 */
#ifndef GUEST_STRESS_CORE_H
#define GUEST_STRESS_CORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define STRESS_MAGIC        0x31525453204e5254ULL   /* "TRN STR1" */
#define STRESS_VERSION      1
#define STRESS_PAGE_SIZE    4096u
#define STRESS_PAGE_WORDS   (STRESS_PAGE_SIZE / 8)

#define STRESS_EXIT_DONE        0x00
#define STRESS_EXIT_MISMATCH    0x10
#define STRESS_EXIT_BADARG      0x11

/* stress_run() result when StressPlatform.poll asked it to stop. */
#define STRESS_RUN_STOPPED      (-1)

/* Not found (stress_find_state). */
#define STRESS_NO_STATE         UINT64_MAX

enum {
    STRESS_PATTERN_SEQ = 0,
    STRESS_PATTERN_RANDOM = 1,
    STRESS_PATTERN_HOT = 2,
};

/*
 * Parsed command line.  Fixed layout (every 64-bit field 8-aligned), so a
 * 32-bit guest and a 64-bit host agree on it: it is stored in RAM.
 */
typedef struct StressConfig {
    uint64_t mem_start;         /* guest address, 0 with has_mem == 0 */
    uint64_t mem_end;
    uint64_t tsc_khz;
    uint32_t rate_mib;          /* MiB/s, 0 = unlimited */
    uint32_t pattern;           /* STRESS_PATTERN_* */
    uint32_t hot_mib;           /* pattern=hot:N */
    uint32_t verify;            /* bool */
    uint32_t passes;            /* 0 = forever */
    uint32_t report_ms;         /* 0 = no reports */
    uint32_t has_mem;           /* mem= given */
    uint32_t has_tsc_khz;       /* tsc_khz= given */
    uint32_t write_word;        /* write=word */
    uint32_t reserved;
} StressConfig;

/* The state block at mem_start, in guest RAM. */
typedef struct StressState {
    uint64_t magic;             /* STRESS_MAGIC */
    uint64_t self;              /* guest address of this block */
    uint32_t version;           /* STRESS_VERSION */
    uint32_t page_size;         /* STRESS_PAGE_SIZE */
    StressConfig cfg;
    uint64_t gen_table;         /* guest address of gen[] */
    uint64_t data_start;        /* guest address of data page 0 */
    uint64_t npages;            /* data pages */
    uint64_t hot_pages;         /* pages in the hot set (pattern=hot) */
    uint64_t rng;               /* xorshift64 state for page choice */
    uint64_t cursor;            /* next page of a sequential sweep */
    uint64_t pass;              /* completed passes */
    uint64_t pass_writes;       /* page writes in the current pass */
    uint64_t writes;            /* page writes in total */
    uint64_t verified;          /* page verifications in total */
    uint64_t vcursor;           /* next page to verify */
    uint64_t finished;          /* 1 once done or failed: stay idle */
    uint64_t check;             /* magic ^ self ^ npages ^ data_start */
} StressState;

/* Same layout in the 32-bit guest and the 64-bit host. */
_Static_assert(sizeof(StressConfig) == 64, "StressConfig layout");
_Static_assert(sizeof(StressState) == 192, "StressState layout");
_Static_assert(offsetof(StressState, writes) == 152, "StressState layout");

/*
 * What the core needs from its host.  All callbacks receive opaque.
 * poll, wait_us and dirty may be NULL.
 */
typedef struct StressPlatform {
    /* Monotonic microseconds (any origin). */
    uint64_t (*now_us)(void *opaque);
    /* Write one character of output. */
    void (*putc)(void *opaque, char c);
    /* Leave with debug-exit value code; may return (then run() returns). */
    void (*exit)(void *opaque, unsigned code);
    /*
     * Safe point between two page writes (all state is in RAM and
     * consistent).  May block (pause); false = stop running now.
     */
    bool (*poll)(void *opaque);
    /* Idle for about us microseconds (rate limit); may return early. */
    void (*wait_us)(void *opaque, uint64_t us);
    /* Guest bytes [addr, addr + len) were just written. */
    void (*dirty)(void *opaque, uint64_t addr, uint64_t len);
    void *opaque;
    /*
     * Waiting costs nothing here (bare metal spins anyway): spend rate
     * limit waits verifying pages instead of calling wait_us.
     */
    bool busy_wait;
} StressPlatform;

/* A running workload: the RAM state plus host-side bookkeeping. */
typedef struct StressCtx {
    const StressPlatform *plat;
    uintptr_t base;             /* host address of guest address 0 */
    uint64_t ram_size;          /* guest addresses [0, ram_size) */
    StressState *st;
    uint32_t *gen;
    /* Not in RAM (time has no meaning across hosts): */
    uint64_t report_t;
    uint64_t report_writes;
    uint64_t window_t;
    uint64_t window_writes;
    uint64_t resume_left;       /* pages still to check after resume */
    uint64_t resume_checked;
} StressCtx;

/* Defaults (mem unset, rate 0, random, verify on, forever, 1000 ms). */
void stress_config_default(StressConfig *cfg);

/*
 * Parse a command line into cfg (which the caller filled with defaults).
 * Bad values are reported on plat as "stress: error: ..." (plat may be
 * NULL for silence).  Returns false on a bad value.
 */
bool stress_parse_args(const StressPlatform *plat, const char *cmdline,
                       StressConfig *cfg);

/*
 * Start fresh: validate cfg against RAM [min_addr, ram_size) (a missing
 * mem= means 2 MiB or min_addr, whichever is higher, to ram_size), write
 * a new state block and print the start line.  Nothing else is written
 * yet.  Returns false (after printing why) on a bad range.
 */
bool stress_setup(StressCtx *ctx, const StressPlatform *plat,
                  uintptr_t base, uint64_t ram_size, uint64_t min_addr,
                  const StressConfig *cfg);

/*
 * Look for a valid state block: first at hint (if not STRESS_NO_STATE),
 * then at every 1 MiB boundary of RAM.  Returns its guest address or
 * STRESS_NO_STATE.  Only reads RAM.
 */
uint64_t stress_find_state(uintptr_t base, uint64_t ram_size, uint64_t hint);

/*
 * Continue the workload whose state block is at guest address addr (from
 * stress_find_state).  Prints the resume line and arranges a full check
 * of every written page before writing resumes.  False if the block is
 * not valid for this RAM.
 */
bool stress_attach(StressCtx *ctx, const StressPlatform *plat,
                   uintptr_t base, uint64_t ram_size, uint64_t addr);

/*
 * Run until poll says stop (returns STRESS_RUN_STOPPED; call again to
 * continue) or the workload ends (returns the STRESS_EXIT_* value after
 * calling plat->exit with it, if that returned).
 */
int stress_run(StressCtx *ctx);

/*
 * Check every written page now.  Returns false after printing the
 * MISMATCH line (it does not call exit).  For tests and resume.
 */
bool stress_verify_all(StressCtx *ctx);

/* The first word of data page p at generation g (for tests). */
uint64_t stress_page_word(uint64_t p, uint32_t g, unsigned i);

#endif /* GUEST_STRESS_CORE_H */
