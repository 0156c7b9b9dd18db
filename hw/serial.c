/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * serial.c: a 16550 UART, transmit side only (see hw/serial.h).
 *
 * Register map (offsets from base; DLAB = LCR bit 7):
 *   0  RBR (read) / THR (write) / DLL when DLAB
 *   1  IER / DLM when DLAB
 *   2  IIR (read) / FCR (write)
 *   3  LCR   4 MCR   5 LSR   6 MSR   7 SCR
 * No interrupts are raised (the machine has no interrupt controller):
 * guests poll LSR, which always says "transmitter empty".
 */
#include "qemu/osdep.h"
#include "qemu/cutils.h"
#include "hw/ioport.h"
#include "hw/serial.h"
#include "migration/register.h"
#include "migration/vmstate.h"

#define UART_LSR_THRE 0x20
#define UART_LSR_TEMT 0x40
#define UART_IIR_NO_INT 0x01
#define UART_IIR_FIFO_ON 0xc0
#define UART_LCR_DLAB 0x80
#define UART_MSR_DCD 0x80
#define UART_MSR_DSR 0x20
#define UART_MSR_CTS 0x10
#define UART_FCR_FIFO_ENABLE 0x01

typedef struct SerialState {
    /* Protects the registers below against the vCPU and migration. */
    GMutex lock;
    uint16_t divider;
    uint8_t rbr;
    uint8_t ier;
    uint8_t iir;
    uint8_t lcr;
    uint8_t mcr;
    uint8_t lsr;
    uint8_t msr;
    uint8_t scr;
    uint8_t fcr;
} SerialState;

static SerialState serial_state;

/* Backend fd: -1 = discard.  Protected by backend_lock. */
static GMutex backend_lock;
static int backend_fd = -1;
static bool backend_owned;
static bool backend_set;

bool serial_set_backend(const char *spec, Error **errp)
{
    int fd = -1;
    bool owned = false;

    if (!strcmp(spec, "stdio") || !strcmp(spec, "mon:stdio")) {
        fd = STDOUT_FILENO;
    } else if (!strncmp(spec, "fd:", 3)) {
        /* an open file descriptor, handed over (the -chardev code) */
        if (qemu_strtoi(spec + 3, NULL, 10, &fd) < 0 || fd < 0 ||
            fcntl(fd, F_GETFD) < 0) {
            error_setg(errp, "'%s' is not an open file descriptor", spec + 3);
            return false;
        }
        owned = true;
    } else if (!strncmp(spec, "file:", 5)) {
        const char *path = spec + 5;

        if (!*path) {
            error_setg(errp, "chardev: file: no filename given");
            return false;
        }
        fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
        if (fd < 0) {
            error_setg_errno(errp, errno, "Could not open '%s'", path);
            return false;
        }
        owned = true;
    } else if (strcmp(spec, "none") && strcmp(spec, "null")) {
        error_setg(errp, "'%s' is not a valid char driver", spec);
        return false;
    }

    g_mutex_lock(&backend_lock);
    if (backend_owned && backend_fd >= 0) {
        close(backend_fd);
    }
    backend_fd = fd;
    backend_owned = owned;
    backend_set = true;
    g_mutex_unlock(&backend_lock);
    return true;
}

void serial_backend_write(const uint8_t *buf, size_t len)
{
    g_mutex_lock(&backend_lock);
    if (!backend_set) {
        /* -serial not given: QEMU's default with -display none is stdio */
        backend_fd = STDOUT_FILENO;
        backend_set = true;
    }
    while (backend_fd >= 0 && len > 0) {
        ssize_t n = write(backend_fd, buf, len);

        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            break; /* a full disk must not stop the guest */
        }
        buf += n;
        len -= n;
    }
    g_mutex_unlock(&backend_lock);
}

static uint32_t serial_ioport_read(void *opaque, uint16_t port, int size)
{
    SerialState *s = opaque;
    uint32_t ret = 0;

    g_mutex_lock(&s->lock);
    switch (port & 7) {
    case 0:
        ret = (s->lcr & UART_LCR_DLAB) ? (s->divider & 0xff) : s->rbr;
        break;
    case 1:
        ret = (s->lcr & UART_LCR_DLAB) ? (s->divider >> 8) : s->ier;
        break;
    case 2:
        ret = s->iir;
        break;
    case 3:
        ret = s->lcr;
        break;
    case 4:
        ret = s->mcr;
        break;
    case 5:
        ret = s->lsr;
        break;
    case 6:
        ret = s->msr;
        break;
    case 7:
        ret = s->scr;
        break;
    }
    g_mutex_unlock(&s->lock);
    return ret;
}

static void serial_ioport_write(void *opaque, uint16_t port, uint32_t val,
                                int size)
{
    SerialState *s = opaque;
    uint8_t v = val;

    g_mutex_lock(&s->lock);
    switch (port & 7) {
    case 0:
        if (s->lcr & UART_LCR_DLAB) {
            s->divider = (s->divider & 0xff00) | v;
        } else {
            g_mutex_unlock(&s->lock);
            serial_backend_write(&v, 1);
            return;
        }
        break;
    case 1:
        if (s->lcr & UART_LCR_DLAB) {
            s->divider = (s->divider & 0x00ff) | (v << 8);
        } else {
            s->ier = v & 0x0f;
        }
        break;
    case 2:
        s->fcr = v & 0xc9;
        s->iir = UART_IIR_NO_INT |
                 ((v & UART_FCR_FIFO_ENABLE) ? UART_IIR_FIFO_ON : 0);
        break;
    case 3:
        s->lcr = v;
        break;
    case 4:
        s->mcr = v & 0x1f;
        break;
    case 5:
        break; /* LSR is read-only */
    case 6:
        break; /* MSR is read-only */
    case 7:
        s->scr = v;
        break;
    }
    g_mutex_unlock(&s->lock);
}

static const IOPortOps serial_ioport_ops = {
    .read = serial_ioport_read,
    .write = serial_ioport_write,
};

static int serial_pre_save(void *opaque)
{
    SerialState *s = opaque;

    /* vCPUs are stopped; take the lock to order with their last write */
    g_mutex_lock(&s->lock);
    g_mutex_unlock(&s->lock);
    return 0;
}

static int serial_post_load(void *opaque, int version_id)
{
    SerialState *s = opaque;

    g_mutex_lock(&s->lock);
    /* Output is synchronous: nothing can be left in the transmitter. */
    s->lsr |= UART_LSR_THRE | UART_LSR_TEMT;
    s->iir = UART_IIR_NO_INT |
             ((s->fcr & UART_FCR_FIFO_ENABLE) ? UART_IIR_FIFO_ON : 0);
    g_mutex_unlock(&s->lock);
    return 0;
}

static const VMStateField vmstate_serial_fields[] = {
    VMSTATE_UINT16(divider, SerialState),
    VMSTATE_UINT8(rbr, SerialState),
    VMSTATE_UINT8(ier, SerialState),
    VMSTATE_UINT8(iir, SerialState),
    VMSTATE_UINT8(lcr, SerialState),
    VMSTATE_UINT8(mcr, SerialState),
    VMSTATE_UINT8(lsr, SerialState),
    VMSTATE_UINT8(msr, SerialState),
    VMSTATE_UINT8(scr, SerialState),
    VMSTATE_UINT8(fcr, SerialState),
    VMSTATE_END_OF_LIST()};

static const VMStateDescription vmstate_serial = {
    .name = "serial",
    .version_id = 1,
    .minimum_version_id = 1,
    .pre_save = serial_pre_save,
    .post_load = serial_post_load,
    .fields = vmstate_serial_fields,
};

void serial_init(uint16_t base)
{
    SerialState *s = &serial_state;

    g_mutex_init(&s->lock);
    s->divider = 12; /* 9600 baud */
    s->lsr = UART_LSR_THRE | UART_LSR_TEMT;
    s->iir = UART_IIR_NO_INT;
    s->msr = UART_MSR_DCD | UART_MSR_DSR | UART_MSR_CTS;
    ioport_register(base, 8, &serial_ioport_ops, s);
    vmstate_register(0, &vmstate_serial, s);
}
