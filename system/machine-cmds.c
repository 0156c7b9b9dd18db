/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * machine-cmds.c: the machine's monitor commands, registered together
 * (see machine-cmds.h for each file's part), and HMP info ramblock.
 */
#include "qemu/osdep.h"
#include "monitor/monitor.h"
#include "sysemu/cpus.h"
#include "sysemu/ramblock.h"
#include "machine-cmds.h"

static void hmp_info_ramblock(Monitor *mon)
{
    RAMBlock *rb;
    uint64_t offset = 0;

    monitor_printf(mon, "%24s %8s  %18s %18s %18s\n", "Block Name", "PSize",
                   "Offset", "Used", "Total");
    RAMBLOCK_FOREACH(rb)
    {
        uint64_t ps = rb->page_size;
        g_autofree char *psize =
            ps >= GiB   ? g_strdup_printf("%" PRIu64 " GiB", ps >> 30)
            : ps >= MiB ? g_strdup_printf("%" PRIu64 " MiB", ps >> 20)
                        : g_strdup_printf("%" PRIu64 " KiB", ps >> 10);

        monitor_printf(
            mon,
            "%24s %8s  0x%016" PRIx64 " 0x%016" PRIx64 " 0x%016" PRIx64 "\n",
            rb->idstr, psize, offset, rb->used_length, rb->used_length);
        offset += rb->used_length;
    }
}

void machine_register_commands(void)
{
    hmp_register_info("ramblock", "Display system RAMBlock information",
                      hmp_info_ramblock);
    dump_register_commands();
    system_reset_register_commands();
    hmp_xp_register_commands();
}
