/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * fuzz-load.h: inputs as incoming migration streams, for the targets
 * that read them (fuzz-loadvm.c, fuzz-ram.c, fuzz-compress-page.c,
 * fuzz-postcopy-cmd.c).
 */
#ifndef TESTS_FUZZ_LOAD_H
#define TESTS_FUZZ_LOAD_H

#include "io/channel-buffer.h"
#include "migration/global_state.h"
#include "migration/qemu-file.h"
#include "migration/savevm.h"

/* An input QEMUFile over a copy of data[0..size); the caller closes it. */
static inline QEMUFile *fuzz_file_new_input(const uint8_t *data, size_t size)
{
    QIOChannelBuffer *bioc = qio_channel_buffer_new(size);
    QEMUFile *f;

    if (size) {
        memcpy(bioc->data, data, size);
    }
    bioc->usage = size;
    f = qemu_file_new_input(QIO_CHANNEL(bioc));
    qio_channel_unref(QIO_CHANNEL(bioc));
    return f;
}

/*
 * Load data[0..size) as an incoming stream: 0 when it loaded, negative
 * errno when refused, then *why (if why) is the Error's text for the
 * caller to g_free.  A failure without an Error or a success with one
 * aborts (prog names the target in the message).
 */
static inline int fuzz_load_stream(const char *prog, const uint8_t *data,
                                   size_t size, char **why)
{
    QEMUFile *f = fuzz_file_new_input(data, size);
    Error *err = NULL;
    int ret;

    global_state_reset_received();
    ret = qemu_loadvm_state(f, &err);
    if ((ret < 0) != (err != NULL)) {
        fprintf(stderr, "%s: result %d with%s an Error%s%s\n", prog, ret,
                err ? "" : "out", err ? ": " : "",
                err ? error_get_pretty(err) : "");
        abort();
    }
    if (why) {
        *why = err ? g_strdup(error_get_pretty(err)) : NULL;
    }
    error_free(err);
    qemu_fclose(f);
    return ret;
}

#endif
