#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""test-migration-failures: every way a migration can fail leaves the
source running, says why in QEMU's words, and a later migration works.

Source side (stress guest, soft vCPU): destination port closed (exact
error-desc), unresolvable host, the destination killed mid-stream,
an exec command that exits non-zero, migrate_cancel; after each one the
source is "running", its guest keeps printing "stress: ok", and the next
migration to a good destination completes and verifies.

Destination side (tern -incoming, exits 1 like QEMU 7.2): the source
killed mid-stream, a stream with a bad magic, a truncated stream, a RAM
size mismatch, an unknown RAM block name and an unknown device section,
crafted ram records (a page beyond the block, an unknown flag, CONTINUE
with no block yet, an unknown block name) and an unknown device section,
each with QEMU 7.2's message followed by "load of migration failed:
<strerror>".
"""
import os
import subprocess
import struct
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ternlib import (check, free_port, incoming_vm,  # noqa
                     skip_unless_built, start_migration, stress_args, Vm,
                     wait_migration)

APPEND = 'mem=16M-48M rate=16 pattern=random report_ms=250'


def vm_args(extra=()):
    return stress_args('soft', APPEND, '64M', extra)


def wait_failed(vm, timeout=30):
    return wait_migration(vm, timeout, want=('failed', 'cancelled'))


def migrate_slowly(src, uri):
    """Start a 4 MiB/s migration to uri; return once it is active."""
    start_migration(src, uri, params={'max-bandwidth': 4 << 20})
    wait_migration(src, 20, want=('active',))


def check_source_alive(src, what):
    check(src.cmd('query-status')['status'] == 'running',
          f'{what}: source not running')
    n = src.serial().count('stress: ok')
    deadline = time.time() + 10
    while src.serial().count('stress: ok') < n + 2:
        check(time.time() < deadline, f'{what}: source guest stalled')
        time.sleep(0.1)


def migrate_ok(src, what):
    """A good migration after a failure completes and verifies."""
    with incoming_vm(vm_args(), name='dst-ok') as dst:
        start_migration(src, dst.uri, params={'max-bandwidth': 1 << 30})
        wait_migration(src, 40)
        out = dst.wait_serial('stress: resume verified', 30)
        dst.wait_serial('stress: ok', 30, out.index('stress: resume verified'))
        check('MISMATCH' not in dst.serial(), f'{what}: {dst.serial()}')
    print(f'{what}: source kept running; next migration completed')


def source_failures(tmp):
    with Vm(vm_args(), name='src') as src:
        src.wait_serial('stress: ok pass=1', 30)

        # 1. Nobody listens on the port.
        port = free_port()
        src.cmd('migrate', uri=f'tcp:localhost:{port}')
        info = wait_failed(src)
        check(info == {'status': 'failed', 'error-desc':
                       f"Failed to connect to 'localhost:{port}': "
                       "Connection refused"}, f'port closed: {info}')
        check_source_alive(src, 'port closed')
        hmp = src.hmp('info migrate')
        check(f"Migration status: failed (Failed to connect to 'localhost:"
              f"{port}': Connection refused)" in hmp, hmp)

        # 2. A host name that does not resolve.
        src.cmd('migrate', uri='tcp:nosuchhost.invalid:4444')
        info = wait_failed(src)
        check(info['status'] == 'failed' and info['error-desc'].startswith(
            'address resolution failed for nosuchhost.invalid:4444'),
            f'unresolvable: {info}')
        check_source_alive(src, 'unresolvable host')

        # 3. The destination dies in the middle of the stream.
        dst = incoming_vm(vm_args(), name='dst-killed')
        try:
            migrate_slowly(src, dst.uri)
            time.sleep(0.5)
        finally:
            dst.kill()
        info = wait_failed(src)
        check(info['status'] == 'failed' and info.get('error-desc'),
              f'destination killed: {info}')
        check_source_alive(src, 'destination killed')

        # 4. exec: command that exits with status 3 without reading.
        src.cmd('migrate', uri='exec:exit 3')
        info = wait_failed(src)
        check(info['status'] == 'failed' and info.get('error-desc'),
              f'exec exit 3: {info}')
        print(f"exec exit 3: {info['error-desc']}")
        check_source_alive(src, 'exec exit 3')

        # 5. Cancel, then retry.
        with incoming_vm(vm_args(), name='dst-cancel') as dst:
            migrate_slowly(src, dst.uri)
            src.cmd('migrate_cancel')
            info = wait_failed(src)
            check(info == {'status': 'cancelled'}, f'cancel: {info}')
            check_source_alive(src, 'cancel')
            # A stream cut after its header fails the load: exit 1.  A
            # source cancelled before its first flush closed the
            # connection with no byte sent; the destination only drops
            # such a connection and keeps listening (the peek rule).
            try:
                rc = dst.wait_exit(20)
                check(rc == 1, f'destination exit status {rc}')
                check('load of migration failed' in dst.stderr(),
                      dst.stderr())
            except subprocess.TimeoutExpired:
                check('dropping an incoming connection' in dst.stderr(),
                      f'cancelled destination:\n{dst.stderr()}')
                check(dst.cmd('query-status')['status'] == 'inmigrate',
                      'cancelled destination left inmigrate')

        migrate_ok(src, 'after failures')


def dest_fails(tmp, stream, dst_args, expect, what):
    """Feed stream (bytes) to a destination; check exit 1 and stderr."""
    path = os.path.join(tmp, what.replace(' ', '-') + '.mig')
    with open(path, 'wb') as f:
        f.write(stream)
    with Vm(dst_args + ['-incoming', f'exec:cat {path}'], name='dst',
            qmp=False) as dst:
        rc = dst.wait_exit(20)
        err = dst.stderr()
    check(rc == 1, f'{what}: exit status {rc}, stderr:\n{err}')
    for line in expect:
        check(line in err, f'{what}: {line!r} not in stderr:\n{err}')
    print(f'{what}: {err.strip().splitlines()[-1]}')


def save_stream(tmp, args):
    path = os.path.join(tmp, 'good.mig')
    with Vm(args, name='saver') as vm:
        vm.cmd('migrate', uri=f'exec:cat > {path}')
        wait_migration(vm, 30)
    with open(path, 'rb') as f:
        return f.read()


def section_full(section_id, name, payload):
    return (b'\x04' + struct.pack('>I', section_id) +
            bytes([len(name)]) + name.encode() + struct.pack('>II', 0, 1) +
            payload + b'\x7e' + struct.pack('>I', section_id))


def ram_stream(records):
    """header, configuration "none", ram START (block "ram" 16 MiB) whose
    payload continues with records (bytes) then EOS, and an EOF."""
    be64 = lambda v: struct.pack('>Q', v)  # noqa: E731
    payload = (be64((16 << 20) | 0x04) + b'\x03ram' + be64(16 << 20) +
               records + be64(0x10))
    return (b'QEVM\0\0\0\3' + b'\x07' + struct.pack('>I', 4) + b'none' +
            b'\x01' + struct.pack('>I', 2) + b'\x03ram' +
            struct.pack('>II', 0, 4) + payload + b'\x7e' +
            struct.pack('>I', 2) + b'\x00')


def dest_failures(tmp):
    none64 = ['-M', 'none', '-m', '64M']
    good = save_stream(tmp, none64 + ['-S'])
    check(good[:8] == b'QEVM\0\0\0\3', 'saved stream header')

    dest_fails(tmp, b'XXXX' + good[4:], none64,
               ['tern: Not a migration stream',
                'tern: load of migration failed: Invalid argument'],
               'bad magic')
    dest_fails(tmp, good[:len(good) // 2], none64,
               ['tern: load of migration failed: Input/output error'],
               'truncated')
    dest_fails(tmp, good, ['-M', 'none', '-m', '32M'],
               ['Size mismatch: ram: 0x4000000 != 0x2000000: '
                'Invalid argument',
                'load of migration failed: Invalid argument'],
               'ram size mismatch')
    dest_fails(tmp, good, ['-M', 'none', '-object',
                           'memory-backend-ram,id=mem,size=64M',
                           '-machine', 'memory-backend=mem'],
               ['Unknown ramblock "ram", cannot accept migration',
                'load of migration failed: Invalid argument'],
               'ram name mismatch')
    be64 = lambda v: struct.pack('>Q', v)  # noqa: E731
    none16 = ['-M', 'none', '-m', '16M']
    dest_fails(tmp, ram_stream(be64(0x1000000 | 0x08) + b'\x03ram' +
                               bytes(4096)), none16,
               ['Illegal RAM offset 1000000',
                'load of migration failed: Invalid argument'],
               'page beyond the block')
    dest_fails(tmp, ram_stream(be64(0x1000 | 0x800)), none16,
               ['Unknown combination of migration flags: 0x800',
                'load of migration failed: Invalid argument'],
               'unknown ram flag')
    # 0x400 is Tern's checkpoint control record (x-checkpoint-assisted):
    # it needs the return path the source asked for
    dest_fails(tmp, ram_stream(be64(0x1000 | 0x400)), none16,
               ['checkpoint: sync 1 without a return path',
                'load of migration failed: Invalid argument'],
               'checkpoint control without a return path')
    dest_fails(tmp, ram_stream(be64(0x1000 | 0x20 | 0x02) + b'\x00'),
               none16,
               ['tern: Ack, bad migration stream!', 'Illegal RAM offset 1000',
                'load of migration failed: Invalid argument'],
               'continue without a block')
    dest_fails(tmp, ram_stream(be64(0x2000 | 0x02) + b'\x06nosuch\x00'),
               none16,
               ["tern: Can't find block nosuch", 'Illegal RAM offset 2000',
                'load of migration failed: Invalid argument'],
               'page in an unknown block')
    # An unknown device section right after the configuration record.
    hdr = b'QEVM\0\0\0\3' + b'\x07' + struct.pack('>I', 4) + b'none'
    bogus = hdr + section_full(9, 'nosuchdev', b'') + good[len(hdr):]
    dest_fails(tmp, bogus, none64,
               ["Unknown savevm section or instance 'nosuchdev' 0",
                'load of migration failed: Invalid argument'],
               'unknown section')


def source_killed(tmp):
    src = Vm(vm_args(), name='src-killed')
    with incoming_vm(vm_args(), name='dst') as dst:
        try:
            src.wait_serial('stress: ok pass=1', 30)
            migrate_slowly(src, dst.uri)
            time.sleep(0.5)
        finally:
            src.kill()
        rc = dst.wait_exit(20)
        err = dst.stderr()
        check(rc == 1, f'source killed: destination exit {rc}')
        check('tern: load of migration failed: ' in err, err)
        print(f'source killed: {err.strip().splitlines()[-1]}')


def main():
    skip_unless_built(guest=True)
    with tempfile.TemporaryDirectory(prefix='tern-migfail-') as tmp:
        dest_failures(tmp)
        source_killed(tmp)
        source_failures(tmp)
    return 0


if __name__ == '__main__':
    sys.exit(main())
