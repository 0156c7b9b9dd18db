/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * ramblock.h: the guest RAM block list.
 *
 * Every piece of guest RAM is a RAMBlock with an id string (the name that
 * travels in the migration stream: "ram" for the machine's default RAM,
 * the memory-backend object's id otherwise), a host mapping, a used length
 * and a page size.  The list is built at start-up on the main thread and
 * not changed afterwards (no hotplug), so readers need no lock.
 *
 * Dirty tracking for migration: each block has a migration bitmap `bmap`
 * (one bit per target page, owned by migration/ram-select.c while a migration
 * runs).  ram_dirty_log_sync() asks the accelerator for the pages written
 * since the last sync and ORs them into every block's bmap.
 */
#ifndef SYSEMU_RAMBLOCK_H
#define SYSEMU_RAMBLOCK_H

#include "qemu/osdep.h"
#include "qapi/error.h"

typedef struct RAMBlock RAMBlock;

/*
 * Room for a block's id and its NUL.  The migration stream sends an id
 * with a one-byte length, so an id is at most 255 characters.
 */
#define RAMBLOCK_IDSTR_SIZE 256

struct RAMBlock {
    char idstr[RAMBLOCK_IDSTR_SIZE];
    uint8_t *host;        /* mapping of used_length bytes */
    uint64_t used_length; /* bytes */
    uint64_t page_size;   /* host page size backing the block */
    uint64_t gpa;         /* guest-physical base address */
    int fd;               /* backing fd (file/memfd) or -1 */
    bool shared;          /* MAP_SHARED */
    /* Migration dirty bitmap, owned by ram-select.c during a migration. */
    unsigned long *bmap;
    /* Accelerator's private dirty state (soft vCPU bitmap, KVM slot...). */
    void *accel_priv;
    /* Pages the VMM itself wrote while logging (ram_gpa_write()). */
    unsigned long *vmm_dirty;
    RAMBlock *next;
};

/* Options for ram_block_add(). */
typedef struct RAMBlockOptions {
    const char *mem_path; /* file backend path, or NULL */
    bool memfd;           /* memfd backend */
    bool share;           /* MAP_SHARED */
    bool prealloc;        /* touch every page at creation */
    uint64_t gpa;
} RAMBlockOptions;

/*
 * Create a block named idstr of size bytes (page aligned) and append it to
 * the list.  Errors name the backend problem (e.g. the file that could not
 * be opened).  Returns the block (owned by the list) or NULL.
 */
RAMBlock *ram_block_add(const char *idstr, uint64_t size,
                        const RAMBlockOptions *opts, Error **errp);
/* First block, then ->next; NULL-terminated. */
RAMBlock *ram_block_first(void);
#define RAMBLOCK_FOREACH(rb)                                                   \
    for ((rb) = ram_block_first(); (rb); (rb) = (rb)->next)
/* Block by id string, or NULL. */
RAMBlock *ram_block_by_name(const char *name);
/* Sum of used_length over all blocks. */
uint64_t ram_bytes_total(void);
/* Number of target pages in rb. */
static inline uint64_t ram_block_pages(const RAMBlock *rb)
{
    return rb->used_length >> TARGET_PAGE_BITS;
}
/* Host pointer for guest-physical address gpa, or NULL if unmapped. */
void *ram_gpa_to_host(uint64_t gpa, uint64_t len);
/*
 * Copy len bytes from buf into guest RAM at gpa, as the VMM writing (not
 * a vCPU: no accelerator sees it): while dirty logging is on, the pages
 * are reported by the next ram_dirty_log_sync().  False if the range is
 * not inside one block.  Any thread.
 */
bool ram_gpa_write(uint64_t gpa, const void *buf, uint64_t len);
/* Copy len bytes of guest RAM at gpa to buf; false as above. */
bool ram_gpa_read(uint64_t gpa, void *buf, uint64_t len);
/* Unmap and free every block (at exit). */
void ram_block_list_free(void);

/*
 * Dirty logging, implemented by the accelerator (kvm: KVM dirty log;
 * soft: the soft vCPU's bitmap).  start/stop are called by migration;
 * sync ORs the pages dirtied since the previous sync (or start) into each
 * block's bmap and returns how many bits it newly set.  All three are
 * safe to call from the migration thread.  ram_dirty_log_sync() also
 * reports the pages written through ram_gpa_write().
 */
bool ram_dirty_log_start(Error **errp);
void ram_dirty_log_stop(void);
uint64_t ram_dirty_log_sync(void);

typedef struct RAMDirtyLogOps {
    bool (*start)(Error **errp);
    void (*stop)(void);
    uint64_t (*sync)(void);
} RAMDirtyLogOps;
/* The accelerator installs its dirty-log implementation at init. */
void ram_dirty_log_set_ops(const RAMDirtyLogOps *ops);

#endif /* SYSEMU_RAMBLOCK_H */
