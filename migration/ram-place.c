/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * ram-place.c: the precopy copy placer (see ram-place.h).
 */
#include "qemu/osdep.h"
#include "qemu/buffer-zero.h"
#include "qemu/memcpy-nt.h"
#include "ram-place.h"

/*
 * From the stream's buffer (one large read brings in several pages)
 * with streaming stores: guest RAM being loaded is cold, and bypassing
 * the cache avoids reading each destination line first.  When the
 * buffer cannot hold the page, qemu_get_buffer_in_place reads it
 * straight into guest RAM (src stays host).  Ordered by sync.
 */
static int ram_place_copy_page(RAMPlacer *pl, QEMUFile *f, RAMBlock *rb,
                               uint8_t *host)
{
    uint8_t *src = host;

    if (qemu_get_buffer_in_place(f, &src, TARGET_PAGE_SIZE) ==
            TARGET_PAGE_SIZE &&
        src != host) {
        memcpy_nt(host, src, TARGET_PAGE_SIZE);
    }
    return 0;
}

static int ram_place_copy_buf(RAMPlacer *pl, RAMBlock *rb, uint8_t *host,
                              const uint8_t *buf)
{
    memcpy_nt(host, buf, TARGET_PAGE_SIZE);
    return 0;
}

/* Zero pages: leave a page that is already zero untouched. */
static int ram_place_copy_fill(RAMPlacer *pl, RAMBlock *rb, uint8_t *host,
                               uint8_t fill)
{
    if (fill != 0 || !buffer_is_zero(host, TARGET_PAGE_SIZE)) {
        memset(host, fill, TARGET_PAGE_SIZE);
    }
    return 0;
}

static void ram_place_copy_sync(RAMPlacer *pl)
{
    memcpy_nt_fence();
}

static void ram_place_copy_free(RAMPlacer *pl)
{
    g_free(pl);
}

static const RAMPlaceOps ram_place_copy_ops = {
    .name = "copy",
    .place_page = ram_place_copy_page,
    .place_buf = ram_place_copy_buf,
    .place_fill = ram_place_copy_fill,
    .sync = ram_place_copy_sync,
    .free = ram_place_copy_free,
};

RAMPlacer *ram_placer_copy_new(void)
{
    RAMPlacer *pl = g_new0(RAMPlacer, 1);

    pl->ops = &ram_place_copy_ops;
    pl->direct = true;
    return pl;
}

void ram_placer_free(RAMPlacer *pl)
{
    if (pl) {
        pl->ops->free(pl);
    }
}
