/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * hostmem.h: memory-backend-{ram,file,memfd} user-creatable objects.
 *
 *   -object memory-backend-ram,id=ID,size=S[,share=on|off][,prealloc=on]
 *   -object memory-backend-file,id=ID,size=S,mem-path=PATH[,share=on|off]
 *   -object memory-backend-memfd,id=ID,size=S[,prealloc=on]
 *
 * Creating the object only checks its properties; the RAM block (named ID,
 * the name that travels in the migration stream) is created when a machine
 * uses the backend (-machine memory-backend=ID).  A backend in use cannot
 * be deleted.
 */
#ifndef SYSEMU_HOSTMEM_H
#define SYSEMU_HOSTMEM_H

#include "qemu/osdep.h"
#include "qapi/error.h"
#include "sysemu/ramblock.h"

#define TYPE_MEMORY_BACKEND_RAM "memory-backend-ram"
#define TYPE_MEMORY_BACKEND_FILE "memory-backend-file"
#define TYPE_MEMORY_BACKEND_MEMFD "memory-backend-memfd"

/* Register the three object types.  Main thread, once at start-up. */
void memory_backend_register_types(void);

/*
 * Create the RAM block of backend object id at guest-physical gpa and mark
 * the backend used.  Errors: no such object, not a memory backend, already
 * used, mapping failures (naming the file).  Returns the block (owned by
 * the RAM list) or NULL.  Main thread.
 */
RAMBlock *host_memory_backend_use(const char *id, uint64_t gpa, Error **errp);
/* Size of backend id in bytes, or 0 with errp set. */
uint64_t host_memory_backend_size(const char *id, Error **errp);

#endif /* SYSEMU_HOSTMEM_H */
