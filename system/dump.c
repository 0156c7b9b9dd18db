/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * dump.c: guest memory as an ELF64 core file (see sysemu/dump.h).
 */
#include "qemu/osdep.h"
#include "sysemu/dump.h"
#include "sysemu/ramblock.h"

#include <elf.h>

typedef struct DumpSegment {
    uint64_t gpa;
    const uint8_t *host;
    uint64_t len;
} DumpSegment;

static bool dump_write_all(int fd, const void *buf, size_t len, Error **errp)
{
    const uint8_t *p = buf;

    while (len > 0) {
        ssize_t n = write(fd, p, MIN(len, (size_t)(64 * MiB)));

        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            error_setg_errno(errp, n < 0 ? errno : ENOSPC,
                             "dump: failed to write the dump file");
            return false;
        }
        p += n;
        len -= n;
    }
    return true;
}

/* The parts of the RAM blocks inside the range; caller frees. */
static GArray *dump_collect(bool has_range, uint64_t begin, uint64_t length)
{
    GArray *segs = g_array_new(false, false, sizeof(DumpSegment));
    uint64_t end = has_range ? begin + length : UINT64_MAX;
    RAMBlock *rb;

    if (has_range && end < begin) {
        end = UINT64_MAX;
    }
    RAMBLOCK_FOREACH(rb)
    {
        uint64_t s = rb->gpa, e = rb->gpa + rb->used_length;
        DumpSegment seg;

        if (has_range) {
            s = MAX(s, begin);
            e = MIN(e, end);
        }
        if (s >= e) {
            continue;
        }
        seg.gpa = s;
        seg.host = rb->host + (s - rb->gpa);
        seg.len = e - s;
        g_array_append_val(segs, seg);
    }
    return segs;
}

uint64_t dump_guest_memory_size(bool has_range, uint64_t begin, uint64_t length)
{
    g_autoptr(GArray) segs = dump_collect(has_range, begin, length);
    uint64_t size = 0;

    for (guint i = 0; i < segs->len; i++) {
        size += g_array_index(segs, DumpSegment, i).len;
    }
    return size;
}

bool dump_guest_memory_elf(int fd, bool has_range, uint64_t begin,
                           uint64_t length, uint64_t *total, Error **errp)
{
    g_autoptr(GArray) segs = dump_collect(has_range, begin, length);
    g_autofree Elf64_Phdr *ph = NULL;
    g_autofree uint8_t *pad = NULL;
    Elf64_Ehdr eh;
    uint64_t off, hdr_end;
    guint i;

    *total = 0;
    if (has_range && segs->len == 0) {
        error_setg(
            errp, "dump: no guest memory in the range 0x%" PRIx64 "+0x%" PRIx64,
            begin, length);
        return false;
    }
    if (segs->len >= PN_XNUM) {
        error_setg(errp, "dump: too many memory segments");
        return false;
    }

    memset(&eh, 0, sizeof(eh));
    memcpy(eh.e_ident, ELFMAG, SELFMAG);
    eh.e_ident[EI_CLASS] = ELFCLASS64;
    eh.e_ident[EI_DATA] = ELFDATA2LSB;
    eh.e_ident[EI_VERSION] = EV_CURRENT;
    eh.e_ident[EI_OSABI] = ELFOSABI_NONE;
    eh.e_type = ET_CORE;
    eh.e_machine = EM_X86_64;
    eh.e_version = EV_CURRENT;
    eh.e_ehsize = sizeof(eh);
    eh.e_phoff = sizeof(eh);
    eh.e_phentsize = sizeof(Elf64_Phdr);
    eh.e_phnum = segs->len;

    hdr_end = sizeof(eh) + (uint64_t)segs->len * sizeof(Elf64_Phdr);
    off = QEMU_ALIGN_UP(hdr_end, TARGET_PAGE_SIZE);
    ph = g_new0(Elf64_Phdr, MAX(segs->len, 1));
    for (i = 0; i < segs->len; i++) {
        DumpSegment *s = &g_array_index(segs, DumpSegment, i);

        ph[i].p_type = PT_LOAD;
        ph[i].p_flags = PF_R | PF_W | PF_X;
        ph[i].p_offset = off;
        ph[i].p_vaddr = 0;
        ph[i].p_paddr = s->gpa;
        ph[i].p_filesz = s->len;
        ph[i].p_memsz = s->len;
        ph[i].p_align = 0;
        off += s->len;
    }

    pad = g_malloc0(TARGET_PAGE_SIZE);
    if (!dump_write_all(fd, &eh, sizeof(eh), errp) ||
        !dump_write_all(fd, ph, segs->len * sizeof(Elf64_Phdr), errp) ||
        !dump_write_all(fd, pad,
                        QEMU_ALIGN_UP(hdr_end, TARGET_PAGE_SIZE) - hdr_end,
                        errp)) {
        return false;
    }
    for (i = 0; i < segs->len; i++) {
        DumpSegment *s = &g_array_index(segs, DumpSegment, i);

        if (!dump_write_all(fd, s->host, s->len, errp)) {
            return false;
        }
        /* read by query-dump while a detached dump runs */
        __atomic_store_n(total, *total + s->len, __ATOMIC_RELAXED);
    }
    return true;
}
