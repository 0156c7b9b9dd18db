#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""scripts/tern-migrate drives QEMU 7.2 and Tern unchanged.

For each system (QEMU -> QEMU, Tern -> Tern): a -M none source whose RAM is a
file of known content migrates through tern-migrate over tcp into a
destination started with -incoming defer; tern-migrate must exit 0 and print
its summary, and the destination's RAM (a shared file backend) must equal
the source's byte for byte.  Then a migration to a closed port must make
tern-migrate exit 1 with the source's error-desc.

Destinations started with -incoming tcp:... (both systems): tern-migrate
uses that listener (with no URI, with a URI naming its port, and with a
wildcard 0.0.0.0 listener) and says which URI it used; a destination
with no -incoming, or -incoming defer and no URI, gives exit 1 and the
hint.  These Tern cases run without QEMU too.
"""
import os
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), '..', 'qtest'))
from ternlib import Vm, free_port, qemu_binary, tern_binary, source_dir, check  # noqa: E402

SIZE_MB = 32


def qmp_arg(path):
    return f'unix:{path},server=on,wait=off'


def wait_sockets(*paths, timeout=30.0):
    """Wait until the QMP sockets exist (Vm(qmp=False) does not wait;
    QEMU can take a moment to create them)."""
    deadline = time.time() + timeout
    for path in paths:
        while not os.path.exists(path) and time.time() < deadline:
            time.sleep(0.05)
        check(os.path.exists(path), f'{path} did not appear')


def run(binary, name, tmp):
    src_ram = os.path.join(tmp, f'{name}-src.ram')
    dst_ram = os.path.join(tmp, f'{name}-dst.ram')
    with open(src_ram, 'wb') as f:
        for i in range(SIZE_MB * 256):
            # a mix of zero pages and pages of known content
            f.write(bytes(4096) if i % 3 == 0 else (i.to_bytes(4, 'little') * 1024))
    with open(dst_ram, 'wb') as f:
        f.truncate(SIZE_MB << 20)
    common = ['-M', 'none', '-m', f'{SIZE_MB}M', '-nodefaults',
              '-machine', 'none,memory-backend=mem']
    # QMP accepts one client at a time: the Vm keeps no connection open
    sq, dq = os.path.join(tmp, f'{name}-s.qmp'), os.path.join(tmp, f'{name}-d.qmp')
    src = Vm(common + ['-object', f'memory-backend-file,id=mem,size={SIZE_MB}M,'
                       f'mem-path={src_ram},share=on', '-qmp', qmp_arg(sq)],
             binary=binary, name=f'{name}-src', qmp=False, serial=False, tmpdir=tmp)
    dst = Vm(common + ['-object', f'memory-backend-file,id=mem,size={SIZE_MB}M,'
                       f'mem-path={dst_ram},share=on', '-incoming', 'defer',
                       '-qmp', qmp_arg(dq)],
             binary=binary, name=f'{name}-dst', qmp=False, serial=False, tmpdir=tmp)
    tool = os.path.join(source_dir(), 'scripts', 'tern-migrate')
    try:
        wait_sockets(sq, dq)
        r = subprocess.run([tool, '--source', f'unix:{sq}',
                            '--dest', f'unix:{dq}',
                            '--max-bandwidth', str(1 << 30),
                            f'tcp:127.0.0.1:{free_port()}'],
                           capture_output=True, text=True, timeout=60)
        check(r.returncode == 0, f'{name}: tern-migrate failed: {r.stdout}{r.stderr}')
        check('completed in' in r.stdout, f'{name}: no summary: {r.stdout}')
        with open(src_ram, 'rb') as a, open(dst_ram, 'rb') as b:
            check(a.read() == b.read(), f'{name}: destination RAM differs')
        print(f'{name}: ok: {r.stdout.strip().splitlines()[-1]}')
    finally:
        src.kill()
        dst.kill()

    # a closed port: tern-migrate reports the error and fails
    src = Vm(['-M', 'none', '-m', f'{SIZE_MB}M', '-qmp', qmp_arg(sq + '2')],
             binary=binary, name=f'{name}-src2', qmp=False, serial=False, tmpdir=tmp)
    dst = Vm(['-M', 'none', '-m', f'{SIZE_MB}M', '-incoming', 'defer',
              '-qmp', qmp_arg(dq + '2')],
             binary=binary, name=f'{name}-dst2', qmp=False, serial=False, tmpdir=tmp)
    try:
        port = free_port()
        wait_sockets(sq + '2', dq + '2')
        # nothing listens on port: the source's connection is refused
        r = subprocess.run([tool, '--source', f'unix:{sq}2',
                            '--dest', f'unix:{dq}2',
                            '--dest-uri', f'tcp:127.0.0.1:{free_port()}',
                            f'tcp:127.0.0.1:{port}'],
                           capture_output=True, text=True, timeout=60)
        check(r.returncode == 1, f'{name}: expected failure, got {r.returncode}')
        check('Connection refused' in r.stderr, f'{name}: error-desc not shown: {r.stderr}')
        print(f'{name}: failure reported: {r.stderr.strip()}')
    finally:
        src.kill()
        dst.kill()


def tool_run(sq, dq, *extra):
    wait_sockets(sq, dq)
    tool = os.path.join(source_dir(), 'scripts', 'tern-migrate')
    return subprocess.run([tool, '--source', f'unix:{sq}', '--dest',
                           f'unix:{dq}', '--max-bandwidth', str(1 << 30)]
                          + list(extra),
                          capture_output=True, text=True, timeout=60)


def pair(binary, name, tmp, incoming):
    """A -M none source and a destination with -incoming incoming (or
    none); returns (src, dst, src qmp path, dst qmp path)."""
    sq, dq = (os.path.join(tmp, f'{name}-s.qmp'),
              os.path.join(tmp, f'{name}-d.qmp'))
    args = ['-M', 'none', '-m', '16M']
    src = Vm(args + ['-qmp', qmp_arg(sq)], binary=binary, name=f'{name}-s',
             qmp=False, serial=False, tmpdir=tmp)
    try:
        dst = Vm(args + ['-qmp', qmp_arg(dq)]
                 + (['-incoming', incoming] if incoming else []),
                 binary=binary, name=f'{name}-d', qmp=False, serial=False,
                 tmpdir=tmp)
    except BaseException:
        src.kill()
        raise
    return src, dst, sq, dq


def run_listener(binary, name, tmp):
    """tern-migrate against destinations that already listen."""
    cases = [('tcp:127.0.0.1:{p}', [], 'tcp:127.0.0.1:{p}'),
             ('tcp:127.0.0.1:{p}', ['tcp:localhost:{p}'], 'tcp:localhost:{p}'),
             ('tcp:0.0.0.0:{p}', [], 'tcp:127.0.0.1:{p}'),
             ('tcp:127.0.0.1:{p}', ['tcp:127.0.0.1:{q}'],
              'tcp:127.0.0.1:{p}')]
    for i, (incoming, uri, used) in enumerate(cases):
        p, q = free_port(), free_port()
        src, dst, sq, dq = pair(binary, f'{name}-l{i}', tmp,
                                incoming.format(p=p))
        try:
            r = tool_run(sq, dq, *[u.format(p=p, q=q) for u in uri])
            check(r.returncode == 0,
                  f'{name}: -incoming {incoming} {uri}: {r.stdout}{r.stderr}')
            check(f'migrating to {used.format(p=p)}' in r.stdout and
                  f'already listens on {incoming.format(p=p)}' in r.stdout,
                  f'{name}: listener or URI used not said: {r.stdout}')
            check('completed in' in r.stdout, f'{name}: no summary: {r.stdout}')
        finally:
            src.kill()
            dst.kill()
        print(f'{name}: -incoming {incoming.format(p=p)} '
              f'{[u.format(p=p, q=q) for u in uri]}: '
              f'{r.stdout.splitlines()[0]}')
    # neither works: a hint on how to start the destination
    for incoming, uri, want in [(None, [f'tcp:127.0.0.1:{free_port()}'],
                                 'refused migrate-incoming'),
                                ('defer', [], 'no URI given')]:
        src, dst, sq, dq = pair(binary, f'{name}-h', tmp, incoming)
        try:
            r = tool_run(sq, dq, *uri)
            check(r.returncode == 1 and want in r.stderr
                  and 'hint: start the destination with "-incoming defer"'
                  in r.stderr,
                  f'{name}: -incoming {incoming}: no hint: {r.returncode} '
                  f'{r.stdout}{r.stderr}')
        finally:
            src.kill()
            dst.kill()
        print(f'{name}: -incoming {incoming}: {r.stderr.splitlines()[0]}')


def main():
    with tempfile.TemporaryDirectory(prefix='tern-tm-') as tmp:
        run_listener(tern_binary(), 'tern', tmp)
        if qemu_binary():
            run_listener(qemu_binary(), 'qemu', tmp)
            run(qemu_binary(), 'qemu', tmp)
        run(tern_binary(), 'tern', tmp)
    if not qemu_binary():
        print('qemu-system-x86_64 is not installed: QEMU cases left out')
    return 0


if __name__ == '__main__':
    sys.exit(main())
