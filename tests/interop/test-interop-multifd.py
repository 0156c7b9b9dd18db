#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""test-interop-multifd: multifd between QEMU 7.2 and Tern, RAM compared
byte for byte.

For multifd-channels 2 and 4 and each multifd-compression (none, zlib,
zstd): a QEMU 7.2 `-M none` source whose RAM is a shared file of known
content (zero pages, pages of one byte, random pages, text, and 16 MiB
of random pages in the middle, so that Tern's zstd sender switches to
raw frames and back, see multifd-compress.c) migrates
into a Tern destination started with `-incoming defer` (multifd set
before migrate-incoming, as QEMU requires); the Tern RAM file must equal
the source's.  That Tern then migrates, with multifd, into a fresh QEMU
7.2, whose file must equal it too.  With --tls the same over x509 TLS
(every channel its own handshake), channels 2, none and zstd.
"""
import os
import random
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                '..', 'qtest'))
from ternlib import (certs_or_skip, check, free_port,  # noqa: E402
                     qemu_binary, skip, skip_unless_built,
                     start_migration, Vm, wait_migration)
from tern import ramfile  # noqa: E402
from tern.migration import wait_incoming  # noqa: E402

SIZE = 32 << 20
RANDOM_AT, RANDOM_SIZE = 8 << 20, 16 << 20
TEXT = b'The quick brown fox jumps over the lazy dog. 0123456789\n'


def make_ram(path, seed):
    ramfile.make_ram(path, SIZE, seed, TEXT)
    with open(path, 'r+b') as f:
        f.seek(RANDOM_AT)
        f.write(random.Random(seed).randbytes(RANDOM_SIZE))


def empty_ram(path):
    ramfile.empty_ram(path, SIZE)


def mem_args(path, qemu, tls=None):
    """RAM from path; with tls (an x509 dir) creds tlss (server) and
    tlsc (client), so each process can be either side."""
    creds = []
    for ident, end in (('tlss', 'server'), ('tlsc', 'client')) if tls else ():
        creds += ['-object', f'tls-creds-x509,id={ident},dir={tls},'
                  f'endpoint={end}']
    return (['-M', 'none,memory-backend=mem', '-m', f'{SIZE >> 20}M'] +
            (['-nodefaults'] if qemu else []) +
            ['-object', f'memory-backend-file,id=mem,size={SIZE >> 20}M,'
             f'mem-path={path},share=on'] + creds)


def hop(src, dst_args, qemu, name, settings, tls=None):
    """Migrate src into a new -incoming defer destination with multifd
    settings; return the destination (running)."""
    port = free_port()
    params = dict(settings)
    src_params = dict(settings)
    if tls:
        params['tls-creds'] = 'tlss'
        src_params['tls-creds'] = 'tlsc'
    dst = Vm(dst_args + ['-incoming', 'defer'], name=name,
             binary=qemu_binary() if qemu else None, serial=False)
    try:
        start_migration(src, f'tcp:localhost:{port}', dst,
                        f'tcp:localhost:{port}', caps=['multifd'],
                        params=src_params, dst_caps=['multifd'],
                        dst_params=params)
        info = wait_migration(src, 60)
        wait_incoming(dst, 60)
    except BaseException:
        print(src.stderr() if hasattr(src, 'stderr') else '', dst.stderr())
        dst.kill()
        raise
    return dst, info


def run(tmp, channels, comp, tls=None):
    tag = f'{channels}-{comp}{"-tls" if tls else ""}'
    a, b, c = (os.path.join(tmp, f'{tag}-{n}.ram') for n in 'abc')
    make_ram(a, channels)
    empty_ram(b)
    empty_ram(c)
    settings = {'multifd-channels': channels, 'multifd-compression': comp}
    with Vm(mem_args(a, True, tls), binary=qemu_binary(), name='qemu-src',
            serial=False) as qsrc:
        tdst, _ = hop(qsrc, mem_args(b, False, tls), False, 'tern-dst',
                      settings, tls)
    with tdst:
        check(ramfile.same_ram(a, b), f'{tag}: QEMU -> Tern RAM differs')
        qdst, info = hop(tdst, mem_args(c, True, tls), True, 'qemu-dst',
                         settings, tls)
        with qdst:
            check(ramfile.same_ram(b, c), f'{tag}: Tern -> QEMU RAM differs')
    ram = info['ram']
    check(ram['multifd-bytes'] > 0, f'{tag}: no multifd-bytes: {ram}')
    print(f'{tag}: QEMU -> Tern -> QEMU identical (Tern sent '
          f'{ram["multifd-bytes"] >> 10} KiB on multifd channels, '
          f'{ram["duplicate"]} zero pages)')


def main():
    if not qemu_binary():
        skip('qemu-system-x86_64 is not installed')
    skip_unless_built()
    with tempfile.TemporaryDirectory(prefix='tern-mfd-interop-') as tmp:
        if '--tls' in sys.argv:
            certs = os.path.join(certs_or_skip(os.path.join(tmp, 'certs')),
                                 'x509')
            for comp in ('none', 'zstd'):
                run(tmp, 2, comp, certs)
            return 0
        for channels in (2, 4):
            for comp in ('none', 'zlib', 'zstd'):
                run(tmp, channels, comp)
    return 0


if __name__ == '__main__':
    sys.exit(main())
