/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * memory-backend.c: memory-backend-{ram,file,memfd} objects (see
 * sysemu/hostmem.h).
 *
 * The object only records its properties; host_memory_backend_use()
 * creates the RAM block when the machine asks for it, so the block gets
 * its guest-physical address from the machine.
 */
#include "qemu/osdep.h"
#include "qom/object.h"
#include "sysemu/hostmem.h"

typedef struct HostMemoryBackend {
    Object parent_obj;
    uint64_t size;
    char *mem_path; /* file backend only */
    bool share;
    bool prealloc;
    bool memfd;
    RAMBlock *rb; /* set once a machine uses the backend */
} HostMemoryBackend;

/*
 * Properties QEMU accepts that Tern parses but does not act on (NUMA
 * policy, dumps, merge hints): accepted so that QEMU command lines work.
 */
#define BACKEND_COMMON_PROPS                                                   \
    "size", "share", "prealloc", "prealloc-threads", "merge", "dump",          \
        "reserve", "policy", "host-nodes",                                     \
        "x-use-canonical-path-for-ramblock-id"

static const char *const ram_props[] = {BACKEND_COMMON_PROPS, NULL};
static const char *const file_props[] = {
    BACKEND_COMMON_PROPS, "mem-path", "align", "discard-data", "pmem",
    "readonly",           NULL};
static const char *const memfd_props[] = {BACKEND_COMMON_PROPS, "hugetlb",
                                          "hugetlbsize", "seal", NULL};

static bool host_memory_backend_complete_common(HostMemoryBackend *be,
                                                QemuOpts *props, Error **errp)
{
    Error *err = NULL;

    if (!qemu_opt_has(props, "size")) {
        error_setg(errp, "Parameter 'size' is missing");
        return false;
    }
    be->size = qemu_opt_get_size(props, "size", 0, &err);
    if (!err) {
        be->share = qemu_opt_get_bool(props, "share", be->share, &err);
    }
    if (!err) {
        be->prealloc = qemu_opt_get_bool(props, "prealloc", false, &err);
    }
    if (err) {
        error_propagate(errp, err);
        return false;
    }
    if (!be->size) {
        error_setg(errp, "property 'size' of %s doesn't take value '0'",
                   be->parent_obj.type->name);
        return false;
    }
    /* The block's used length is rounded up to pages, as QEMU's. */
    be->size = QEMU_ALIGN_UP(be->size, TARGET_PAGE_SIZE);
    return true;
}

static bool host_memory_backend_ram_complete(Object *obj, QemuOpts *props,
                                             Error **errp)
{
    HostMemoryBackend *be = (HostMemoryBackend *)obj;

    return host_memory_backend_complete_common(be, props, errp);
}

static bool host_memory_backend_file_complete(Object *obj, QemuOpts *props,
                                              Error **errp)
{
    HostMemoryBackend *be = (HostMemoryBackend *)obj;
    const char *path = qemu_opt_get(props, "mem-path");

    if (!host_memory_backend_complete_common(be, props, errp)) {
        return false;
    }
    if (!path || !*path) {
        error_setg(errp, "Parameter 'mem-path' is missing");
        return false;
    }
    be->mem_path = g_strdup(path);
    return true;
}

static bool host_memory_backend_memfd_complete(Object *obj, QemuOpts *props,
                                               Error **errp)
{
    HostMemoryBackend *be = (HostMemoryBackend *)obj;
    Error *err = NULL;

    be->memfd = true;
    be->share = true; /* memfd's default, as QEMU's */
    if (!host_memory_backend_complete_common(be, props, errp)) {
        return false;
    }
    if (qemu_opt_get_bool(props, "hugetlb", false, &err)) {
        error_setg(errp, "memory-backend-memfd: hugetlb is not supported");
        return false;
    }
    if (err) {
        error_propagate(errp, err);
        return false;
    }
    return true;
}

static bool host_memory_backend_can_delete(Object *obj, Error **errp)
{
    HostMemoryBackend *be = (HostMemoryBackend *)obj;

    if (be->rb) {
        error_setg(errp, "object '%s' is in use, can not be deleted", obj->id);
        return false;
    }
    return true;
}

static void host_memory_backend_finalize(Object *obj)
{
    HostMemoryBackend *be = (HostMemoryBackend *)obj;

    g_free(be->mem_path);
    be->mem_path = NULL;
}

static const ObjectTypeInfo memory_backend_ram_info = {
    .name = TYPE_MEMORY_BACKEND_RAM,
    .instance_size = sizeof(HostMemoryBackend),
    .props = ram_props,
    .complete = host_memory_backend_ram_complete,
    .can_delete = host_memory_backend_can_delete,
    .finalize = host_memory_backend_finalize,
};

static const ObjectTypeInfo memory_backend_file_info = {
    .name = TYPE_MEMORY_BACKEND_FILE,
    .instance_size = sizeof(HostMemoryBackend),
    .props = file_props,
    .complete = host_memory_backend_file_complete,
    .can_delete = host_memory_backend_can_delete,
    .finalize = host_memory_backend_finalize,
};

static const ObjectTypeInfo memory_backend_memfd_info = {
    .name = TYPE_MEMORY_BACKEND_MEMFD,
    .instance_size = sizeof(HostMemoryBackend),
    .props = memfd_props,
    .complete = host_memory_backend_memfd_complete,
    .can_delete = host_memory_backend_can_delete,
    .finalize = host_memory_backend_finalize,
};

void memory_backend_register_types(void)
{
    object_type_register(&memory_backend_ram_info);
    object_type_register(&memory_backend_file_info);
    object_type_register(&memory_backend_memfd_info);
}

static HostMemoryBackend *host_memory_backend_find(const char *id, Error **errp)
{
    Object *obj = object_resolve_id(id);

    if (!obj) {
        error_setg(errp, "Memory backend '%s' not found", id);
        return NULL;
    }
    if (obj->type != &memory_backend_ram_info &&
        obj->type != &memory_backend_file_info &&
        obj->type != &memory_backend_memfd_info) {
        error_setg(errp, "Invalid parameter type for 'memory-backend', "
                         "expected: memory-backend");
        return NULL;
    }
    return (HostMemoryBackend *)obj;
}

uint64_t host_memory_backend_size(const char *id, Error **errp)
{
    HostMemoryBackend *be = host_memory_backend_find(id, errp);

    return be ? be->size : 0;
}

RAMBlock *host_memory_backend_use(const char *id, uint64_t gpa, Error **errp)
{
    HostMemoryBackend *be = host_memory_backend_find(id, errp);
    RAMBlockOptions opts = {0};

    if (!be) {
        return NULL;
    }
    if (be->rb) {
        error_setg(errp, "memory backend '%s' can't be used multiple times.",
                   id);
        return NULL;
    }
    opts.mem_path = be->mem_path;
    opts.memfd = be->memfd;
    opts.share = be->share;
    opts.prealloc = be->prealloc;
    opts.gpa = gpa;
    be->rb = ram_block_add(id, be->size, &opts, errp);
    return be->rb;
}
