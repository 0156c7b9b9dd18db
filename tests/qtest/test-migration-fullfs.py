#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""test-migration-fullfs: a destination whose file-backed RAM does not fit.

The destination's memory-backend-file (share=on, 32M) lives on an 8M
tmpfs (a private mount namespace: unshare -rm; skipped with the reason
where that is not allowed).  The source's RAM is 32M of non-zero data.
Storing a page the file system cannot back used to raise SIGBUS and
kill the destination without a word; now the load fails with the
backend's name and the cause, the destination exits 1, and the source
(return-path on) shows the reason in error-desc and resumes its guest.
The same backend with prealloc=on is refused at start-up naming the
backend and the cause (it used to say only `Bad address`).
"""
import os
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ternlib import (Vm, check, free_port, poll_migration, skip,  # noqa
                     tern_binary, FINAL)

SIZE = 32 << 20
WANT = "ram: memory backend 'mem' cannot hold guest RAM at 0x"


def main():
    if not shutil.which('unshare'):
        skip('no unshare(1)')
    tmp = tempfile.mkdtemp(prefix='tern-fullfs-')
    mnt = os.path.join(tmp, 'small')
    os.mkdir(mnt)
    probe = subprocess.run(['unshare', '-rm', 'sh', '-c',
                            f'mount -t tmpfs -o size=8m tmpfs {mnt}'],
                           capture_output=True, text=True)
    if probe.returncode != 0:
        skip(f'cannot mount a tmpfs in a user namespace: {probe.stderr}')
    wrapper = os.path.join(tmp, 'tern-small-fs')
    with open(wrapper, 'w') as f:
        f.write('#!/bin/sh\n'
                f'exec unshare -rm sh -c \'mount -t tmpfs -o size=8m tmpfs '
                f'{mnt} && exec "$0" "$@"\' {tern_binary()} "$@"\n')
    os.chmod(wrapper, 0o755)

    srcfile = os.path.join(tmp, 'src.ram')
    with open(srcfile, 'wb') as f:
        block = bytes(range(256)) * 16
        for _ in range(SIZE // len(block)):
            f.write(block)
    port = free_port()

    def backend(path):
        return ['-object', f'memory-backend-file,id=mem,size=32M,'
                f'mem-path={path},share=on',
                '-machine', 'none,memory-backend=mem', '-m', '32M']

    with Vm(backend(os.path.join(mnt, 'dst.ram')) +
            ['-incoming', f'tcp:127.0.0.1:{port}'], binary=wrapper,
            name='dst', tmpdir=tmp) as dst, \
            Vm(backend(srcfile), name='src', tmpdir=tmp) as src:
        for vm in (src, dst):
            vm.cmd('migrate-set-capabilities', capabilities=[
                {'capability': 'return-path', 'state': True}])
        src.cmd('migrate', uri=f'tcp:127.0.0.1:{port}')
        info = poll_migration(src, FINAL, timeout=30)
        rc = dst.wait_exit(20)
        err = dst.stderr()
        check(rc == 1, f'destination exit {rc} (SIGBUS is -7):\n{err}')
        check(WANT in err and 'No space left on device' in err,
              f'destination message:\n{err}')
        check(info['status'] == 'failed' and
              WANT in info.get('error-desc', ''), f'source: {info}')
        check(src.cmd('query-status')['status'] == 'running',
              'source resumed')
        print(f"destination: {err.strip().splitlines()[0]}")

    # prealloc=on: the start-up says which backend and why
    pre = subprocess.run([wrapper, '-display', 'none', '-S', '-object',
                          f'memory-backend-file,id=mem,size=32M,mem-path='
                          f'{os.path.join(mnt, "pre.ram")},share=on,'
                          'prealloc=on', '-machine',
                          'none,memory-backend=mem', '-m', '32M'],
                         capture_output=True, text=True, timeout=60)
    want = ("memory backend 'mem': cannot preallocate 33554432 bytes in "
            "its file: No space left on device")
    check(pre.returncode == 1 and want in pre.stderr,
          f'prealloc=on: exit {pre.returncode}: {pre.stderr}')
    print(f'prealloc=on: {pre.stderr.strip()}')
    print('test-migration-fullfs: ok')


if __name__ == '__main__':
    main()
