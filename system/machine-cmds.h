/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * machine-cmds.h: each file's share of the machine's monitor commands,
 * called once by machine_register_commands() (main thread, start-up).
 */
#ifndef SYSTEM_MACHINE_CMDS_H
#define SYSTEM_MACHINE_CMDS_H

/* QMP dump-guest-memory, query-dump(-guest-memory-capability); HMP dump. */
void dump_register_commands(void);
/* QMP and HMP system_reset. */
void system_reset_register_commands(void);
/* HMP xp. */
void hmp_xp_register_commands(void);

#endif /* SYSTEM_MACHINE_CMDS_H */
