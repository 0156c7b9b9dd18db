# SPDX-License-Identifier: GPL-2.0-or-later
"""ternlib: helpers for two-process tests (stdlib only).

Re-exports the shared helpers of python/tern (the QMP client, Vm, the
migration steps and MigrationPair, TLS credentials) and adds what only
tests need: skipping, check(), tiny guest ELFs, stress guest command
lines.  Every test script imports this.

    from ternlib import Vm, build_dir, guest_elf, skip
    with Vm(['-accel', 'soft', '-kernel', guest_elf(), ...]) as vm:
        vm.cmd('query-status')
"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                '..', '..', 'python'))
from tern.migration import (FINAL, incoming_vm, MigrationPair,  # noqa
                            poll_migration, set_migration, start_migration,
                            wait_incoming, wait_migration)
from tern.qmp import QMP, QMPError  # noqa: E402,F401
from tern.tlscerts import CerttoolMissing, make_certs  # noqa: E402,F401
from tern.vm import (Vm, build_dir, free_port, guest_elf,  # noqa: E402,F401
                     have_kvm, qemu_binary, source_dir, tern_binary)

SKIP = 77  # meson's "skipped" exit code


def skip(reason):
    print(f'SKIP: {reason}')
    sys.exit(SKIP)


def skip_unless_built(guest=False):
    """Skip (exit 77) unless build/tern exists and, with guest, the
    stress guest ELF too."""
    for path in [tern_binary()] + ([guest_elf()] if guest else []):
        if not os.path.exists(path):
            skip(f'{path} is not built')


def certs_or_skip(outdir):
    """make_certs(outdir), or skip (exit 77) without certtool."""
    try:
        return make_certs(outdir)
    except CerttoolMissing as e:
        skip(str(e))


def check(cond, msg):
    if not cond:
        raise AssertionError(msg)


# ---- ELF helpers ----

def tiny_multiboot_elf(path, code, load=0x100000):
    """Write a minimal multiboot v1 ELF32 whose entry runs `code` (bytes,
    32-bit protected mode, flat segments).  Returns path."""
    import struct
    mb = struct.pack('<III', 0x1BADB002, 0, (-0x1BADB002) & 0xffffffff)
    hdr_len = 52 + 32
    total = hdr_len + len(mb) + len(code)
    entry = load + hdr_len + len(mb)
    eh = b'\x7fELF' + bytes([1, 1, 1, 0]) + bytes(8)
    eh += struct.pack('<HHIIIIIHHHHHH', 2, 3, 1, entry, 52, 0, 0, 52, 32,
                      1, 40, 0, 0)
    ph = struct.pack('<IIIIIIII', 1, 0, load, load, total, total, 7, 0x1000)
    with open(path, 'wb') as f:
        f.write(eh + ph + mb + code)
    return path


# Guest code snippets for tiny_multiboot_elf (hand-assembled, 32-bit).
def code_serial_puts(text):
    """mov dx, 0x3f8; then for each byte: mov al, c; out dx, al."""
    out = bytes.fromhex('66baf803')
    for c in text.encode():
        out += bytes([0xb0, c, 0xee])
    return out


def code_debug_exit(value):
    """mov dx, 0x501; mov al, value; out dx, al; then hlt forever."""
    return bytes.fromhex('66ba0105') + bytes([0xb0, value & 0xff, 0xee]) + \
        CODE_HLT_LOOP


CODE_HLT_LOOP = bytes.fromhex('f4ebfd')      # hlt; jmp hlt
CODE_UD2 = bytes.fromhex('0f0b')             # #UD with no IDT: triple fault


def elf_load_segments(path):
    """PT_LOAD segments of an ELF32/ELF64 little-endian file as a list of
    dicts (paddr, vaddr, offset, filesz, memsz), plus the header fields
    e_type, e_machine.  Raises ValueError on a malformed file."""
    import struct
    with open(path, 'rb') as f:
        data = f.read()
    if data[:4] != b'\x7fELF' or data[5] != 1:
        raise ValueError('not a little-endian ELF file')
    if data[4] == 2:
        (e_type, e_machine, _, _, e_phoff, _, _, _, e_phentsize,
         e_phnum) = struct.unpack_from('<HHIQQQIHHH', data, 16)
        fmt, keys = '<IIQQQQQQ', ('type', 'flags', 'offset', 'vaddr',
                                  'paddr', 'filesz', 'memsz', 'align')
    else:
        (e_type, e_machine, _, _, e_phoff, _, _, _, e_phentsize,
         e_phnum) = struct.unpack_from('<HHIIIIIHHH', data, 16)
        fmt, keys = '<IIIIIIII', ('type', 'offset', 'vaddr', 'paddr',
                                  'filesz', 'memsz', 'flags', 'align')
    segs = []
    for i in range(e_phnum):
        ph = dict(zip(keys, struct.unpack_from(fmt, data,
                                               e_phoff + i * e_phentsize)))
        if ph['type'] == 1:
            segs.append(ph)
    return {'type': e_type, 'machine': e_machine, 'segments': segs,
            'size': len(data)}


# ---- the stress guest ----

def stress_args(accel='soft', append='mem=16M-48M rate=16 report_ms=250',
                mem='64M', extra=()):
    """Command line for a pc-lite stress guest under accel."""
    return ['-accel', accel, '-M', 'pc-lite', '-m', mem,
            '-kernel', guest_elf(), '-append', append] + list(extra)


def accels():
    """Accelerators to test: soft always, kvm when /dev/kvm opens."""
    return ['soft'] + (['kvm'] if have_kvm() else [])
