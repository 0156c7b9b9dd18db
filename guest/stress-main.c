/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * stress-main.c: the bare-metal platform of the stress guest.
 *
 * A multiboot v1 kernel (start.S) running in 32-bit protected mode with
 * paging off, so guest-physical addresses are pointers.  It reads its
 * command line and RAM size from the multiboot information, writes its
 * output to the 16550 UART at 0x3f8, keeps time with the TSC (tsc_khz=
 * from the VMM, else calibrated against PIT channel 2) and leaves through
 * the debug-exit port 0x501 (QEMU's isa-debug-exit, tern's debug-exit:
 * the process exits with status (value << 1) | 1, see stress-core.h).
 *
 * Not a Tern host file: no libc, no osdep.h.
 */
#include "stress-core.h"

#define UART_BASE       0x3f8
#define DEBUG_EXIT_PORT 0x501
#define MB_BOOT_MAGIC   0x2BADB002u
#define MB_INFO_MEM     (1u << 0)
#define MB_INFO_CMDLINE (1u << 2)
#define CMDLINE_MAX     1024
#define PIT_HZ          1193182u
#define DEFAULT_TSC_KHZ 2000000u
#define RAM_END_MAX     0xfec00000u     /* no paging: stay below 4 GiB MMIO */

/* The multiboot information fields we use. */
typedef struct MultibootInfo {
    uint32_t flags;
    uint32_t mem_lower;     /* KiB below 1 MiB */
    uint32_t mem_upper;     /* KiB above 1 MiB */
    uint32_t boot_device;
    uint32_t cmdline;       /* physical address of a NUL-terminated string */
} MultibootInfo;

void stress_main(uint32_t magic, const MultibootInfo *mbi);

extern char _end[];

static char cmdline[CMDLINE_MAX];
static uint64_t tsc_khz;
static uint64_t tsc0;
static StressCtx ctx;

/* GCC may emit calls to these even in freestanding code. */
void *memset(void *s, int c, size_t n);
void *memcpy(void *d, const void *s, size_t n);

void *memset(void *s, int c, size_t n)
{
    unsigned char *p = s;

    while (n--) {
        *p++ = (unsigned char)c;
    }
    return s;
}

void *memcpy(void *d, const void *s, size_t n)
{
    unsigned char *dp = d;
    const unsigned char *sp = s;

    while (n--) {
        *dp++ = *sp++;
    }
    return d;
}

static inline void outb(uint16_t port, uint8_t v)
{
    __asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(port));
}

static inline uint8_t inb(uint16_t port)
{
    uint8_t v;

    __asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
    return v;
}

static inline uint64_t rdtsc(void)
{
    uint32_t lo, hi;

    __asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
    return ((uint64_t)hi << 32) | lo;
}

static inline void cpu_relax(void)
{
    __asm__ volatile("pause");
}

static void uart_init(void)
{
    outb(UART_BASE + 1, 0x00);      /* no interrupts */
    outb(UART_BASE + 3, 0x80);      /* DLAB */
    outb(UART_BASE + 0, 0x01);      /* 115200 */
    outb(UART_BASE + 1, 0x00);
    outb(UART_BASE + 3, 0x03);      /* 8N1 */
    outb(UART_BASE + 2, 0x07);      /* FIFO on, cleared */
    outb(UART_BASE + 4, 0x03);      /* DTR, RTS */
}

static void plat_putc(void *opaque, char c)
{
    int spins = 100000;

    /* wait for THR empty; bounded in case the UART is missing */
    while (!(inb(UART_BASE + 5) & 0x20) && --spins) {
        cpu_relax();
    }
    outb(UART_BASE, (uint8_t)c);
}

static uint64_t plat_now_us(void *opaque)
{
    uint64_t d = rdtsc() - tsc0;

    return d / tsc_khz * 1000 + d % tsc_khz * 1000 / tsc_khz;
}

static void halt_forever(void)
{
    for (;;) {
        __asm__ volatile("cli; hlt");
    }
}

static void plat_exit(void *opaque, unsigned code)
{
    outb(DEBUG_EXIT_PORT, (uint8_t)code);
    halt_forever();                 /* no debug-exit device: just stop */
}

static void plat_wait_us(void *opaque, uint64_t us)
{
    uint64_t end = plat_now_us(opaque) + us;

    while (plat_now_us(opaque) < end) {
        cpu_relax();
    }
}

static const StressPlatform plat = {
    .now_us = plat_now_us,
    .putc = plat_putc,
    .exit = plat_exit,
    .wait_us = plat_wait_us,
    .busy_wait = true,
};

static void puts_raw(const char *s)
{
    while (*s) {
        plat_putc(NULL, *s++);
    }
}

/*
 * Measure the TSC against PIT channel 2 for 50 ms (gate through port
 * 0x61, one-shot mode 0, OUT2 readable as bit 5 of 0x61).  0 if there
 * is no PIT to measure against.
 */
static uint64_t tsc_calibrate(void)
{
    const uint32_t count = PIT_HZ / 20;         /* 50 ms */
    uint64_t t0, t1;
    uint8_t v;
    uint32_t spins = 0;

    v = inb(0x61);
    outb(0x61, (v & ~0x02) | 0x01);             /* gate on, speaker off */
    outb(0x43, 0xb0);                           /* ch2, lo/hi, mode 0 */
    outb(0x42, count & 0xff);
    outb(0x42, count >> 8);
    t0 = rdtsc();
    while (!(inb(0x61) & 0x20)) {
        if (++spins > 100000000u) {
            return 0;
        }
    }
    t1 = rdtsc();
    if (spins < 10) {
        return 0;                               /* OUT2 stuck high: no PIT */
    }
    return (t1 - t0) / 50;
}

void stress_main(uint32_t magic, const MultibootInfo *mbi)
{
    StressConfig cfg;
    uint64_t ram_end = 0, min_addr;
    int i;

    uart_init();
    if (magic != MB_BOOT_MAGIC) {
        puts_raw("stress: error: not started by a multiboot loader\n");
        plat_exit(NULL, STRESS_EXIT_BADARG);
    }

    /* Copy what we need out of the loader's data before touching RAM. */
    if (mbi->flags & MB_INFO_CMDLINE) {
        const char *src = (const char *)(uintptr_t)mbi->cmdline;

        for (i = 0; i < CMDLINE_MAX - 1 && src[i]; i++) {
            cmdline[i] = src[i];
        }
        cmdline[i] = '\0';
    }
    if (mbi->flags & MB_INFO_MEM) {
        ram_end = (1u << 20) + (uint64_t)mbi->mem_upper * 1024;
        if (ram_end > RAM_END_MAX) {
            ram_end = RAM_END_MAX;
        }
    }

    stress_config_default(&cfg);
    if (!stress_parse_args(&plat, cmdline, &cfg)) {
        plat_exit(NULL, STRESS_EXIT_BADARG);
    }
    if (!ram_end) {
        puts_raw("stress: error: no memory size from the loader\n");
        plat_exit(NULL, STRESS_EXIT_BADARG);
    }

    if (cfg.has_tsc_khz) {
        tsc_khz = cfg.tsc_khz;
    } else {
        tsc_khz = tsc_calibrate();
        if (!tsc_khz) {
            puts_raw("stress: no tsc_khz= and no PIT, assuming 2 GHz\n");
            tsc_khz = DEFAULT_TSC_KHZ;
        }
        cfg.tsc_khz = tsc_khz;
    }
    tsc0 = rdtsc();

    min_addr = ((uintptr_t)_end + STRESS_PAGE_SIZE - 1) &
               ~(uintptr_t)(STRESS_PAGE_SIZE - 1);
    if (!stress_setup(&ctx, &plat, 0, ram_end, min_addr, &cfg)) {
        plat_exit(NULL, STRESS_EXIT_BADARG);
    }
    stress_run(&ctx);
    halt_forever();
}
