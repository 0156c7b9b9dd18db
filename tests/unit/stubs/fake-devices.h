/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * stubs/fake-devices.h: stand-ins for the machine's savevm participants,
 * shared by tests/unit/test-savevm.c and tests/fuzz/fuzz-loadvm.c.
 *
 *  - fake_ram: a live "ram" handler (version 4) over FAKE_RAM_PAGES pages
 *    of one block "ram", speaking the ram record format (block list in
 *    START, ZERO/PAGE records with CONTINUE, EOS) and counting its calls;
 *  - fake_dev ("fakedev", v3): two fields and a subsection, like serial;
 *  - fake_arrays ("fakearrays", v2): a variable array, a struct array, a
 *    versioned buffer and a subsection, for the fuzzer.
 * The programs register them (register_savevm_live / vmstate_register)
 * in the order they want.
 */
#ifndef TESTS_STUBS_FAKE_DEVICES_H
#define TESTS_STUBS_FAKE_DEVICES_H

#include "migration/register.h"
#include "migration/vmstate.h"

#define FAKE_PAGE_SIZE 4096
#define FAKE_RAM_PAGES 16
#define FAKE_RAM_SIZE (FAKE_RAM_PAGES * FAKE_PAGE_SIZE)
/* The ram section's version. */
#define FAKE_RAM_VERSION 4

/* ram record flags, in the low bits of each record's be64 header. */
#define RAM_FLAG_ZERO 0x02
#define RAM_FLAG_MEM_SIZE 0x04
#define RAM_FLAG_PAGE 0x08
#define RAM_FLAG_EOS 0x10
#define RAM_FLAG_CONTINUE 0x20

typedef struct FakeRam {
    uint8_t mem[FAKE_RAM_SIZE];
    int next_page;      /* save side: next page to send */
    int pages_per_iter; /* pages per PART section */
    int iterations;
    int setups, cleanups, load_setups, load_cleanups;
    int loads;
} FakeRam;

extern FakeRam fake_ram;
extern const SaveVMHandlers fake_ram_handlers;

typedef struct FakeDev {
    uint32_t reg;
    uint8_t fifo[16];
    bool extra_needed;
    uint64_t extra;
} FakeDev;

extern FakeDev fake_dev;
extern const VMStateDescription vmstate_fake_dev;

typedef struct FakeInner {
    uint16_t a;
    uint64_t b;
} FakeInner;

typedef struct FakeArrays {
    uint32_t count;
    uint32_t vals[4];
    FakeInner inner[2];
    uint8_t fifo[16];
    bool extra_on;
    uint64_t extra;
} FakeArrays;

extern FakeArrays fake_arrays;
extern const VMStateDescription vmstate_fake_arrays;

#endif
