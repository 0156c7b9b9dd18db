#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""test-migration-postcopy-recover: postcopy recovery between two Terns.

The stress guest (soft vCPU, 16 MiB/s of random writes over 32 MiB)
is switched to postcopy with max-postcopy-bandwidth low, so that the
postcopy phase lasts while the connection breaks:

1. Commands out of place get QEMU 7.2's errors: migrate-pause and
   migrate-recover before any postcopy, migrate with resume: true
   without a paused migration.
2. migrate-pause on the source, then (after a first recovery) on the
   destination: both sides go postcopy-paused, the destination guest
   keeps its state, the source's error-desc says why; migrate-recover
   on a new port, migrate -r (HMP) / resume: true (QMP); both sides
   go postcopy-recover then postcopy-active; a second migrate-recover
   while one is pending is refused.  The migration completes and the
   guest re-verifies every page (no MISMATCH).
3. A real cut: the migration goes through a TCP proxy that closes
   both connections in postcopy; both sides pause; recovery straight
   to the destination; completes, guest verified.
4. The same with postcopy-preempt (requested pages on the second
   channel); the recovery opens both channels again.
5. With KVM (when /dev/kvm opens): paused on the destination,
   recovered, completed; the guest goes on without a MISMATCH.
6. migrate_cancel while paused: the source fails for good, its guest
   stays paused (it ran on the destination).
"""
import os
import socket
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ternlib import (accels, check, free_port, MigrationPair,  # noqa
                     QMPError, poll_migration, skip_unless_built, stress_args)

APPEND = 'mem=16M-{top}M rate=16 pattern=random report_ms=250'
LIMIT = 4 << 20
SLOW = 1 << 20   # max-postcopy-bandwidth while we break things


def vm_args(mem_mb=64):
    return stress_args('soft', APPEND.format(top=mem_mb - 16), f'{mem_mb}M')


def expect_error(vm, text, name, **args):
    try:
        vm.cmd(name, **args)
    except QMPError as e:
        check(text in str(e), f'{name}: {e}')
        return
    raise AssertionError(f'{name} accepted')


class Proxy:
    """A one-connection TCP relay from a free port to port; cut() closes
    both sides at once (a network failure as both ends see it)."""

    def __init__(self, port):
        self.port = free_port()
        self.target = port
        self.lsock = socket.socket()
        self.lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.lsock.bind(('127.0.0.1', self.port))
        self.lsock.listen(1)
        self.socks = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _pipe(self, a, b):
        try:
            while True:
                data = a.recv(65536)
                if not data:
                    break
                b.sendall(data)
        except OSError:
            pass

    def _accept(self):
        c, _ = self.lsock.accept()
        s = socket.create_connection(('127.0.0.1', self.target))
        self.socks = [c, s]
        threading.Thread(target=self._pipe, args=(c, s), daemon=True).start()
        threading.Thread(target=self._pipe, args=(s, c), daemon=True).start()

    def cut(self):
        for s in self.socks:
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            s.close()
        self.lsock.close()


def start_postcopy(pair, extra=()):
    src, dst = pair
    caps = ['postcopy-ram', 'events'] + list(extra)
    src.wait_serial('stress: ok pass=1', 30)
    pair.start(caps=caps, dst_caps=caps,
               params={'max-bandwidth': LIMIT,
                       'max-postcopy-bandwidth': SLOW})
    poll_migration(src, ('active',), 20, 0.01)
    time.sleep(1.5)
    src.cmd('migrate-start-postcopy')
    poll_migration(src, ('postcopy-active',), 20, 0.01)
    poll_migration(dst, ('postcopy-active',), 20, 0.01)


def both_paused(src, dst):
    sinfo = poll_migration(src, ('postcopy-paused', 'failed', 'completed'),
                           20, 0.02)
    dinfo = poll_migration(dst, ('postcopy-paused', 'failed', 'completed'),
                           20, 0.02)
    check(sinfo['status'] == 'postcopy-paused', f'source: {sinfo}')
    check(dinfo['status'] == 'postcopy-paused', f'destination: {dinfo}')
    check(sinfo.get('error-desc'), f'paused source says no why: {sinfo}')
    check(src.cmd('query-status')['status'] != 'running',
          'source guest runs while paused')
    return sinfo


def recover(src, dst, hmp=False, fast=False):
    port = free_port()
    dst.cmd('migrate-recover', uri=f'tcp:127.0.0.1:{port}')
    expect_error(dst, 'Migrate recovery is triggered already',
                 'migrate-recover', uri=f'tcp:127.0.0.1:{free_port()}')
    if fast:
        src.cmd('migrate-set-parameters', **{'max-postcopy-bandwidth': 0})
    if hmp:
        out = src.hmp(f'migrate -d -r tcp:127.0.0.1:{port}')
        check('Error' not in out, out)
    else:
        src.cmd('migrate', uri=f'tcp:127.0.0.1:{port}', resume=True)
    info = poll_migration(src, ('postcopy-active', 'completed', 'failed',
                                'postcopy-paused'), 20, 0.01)
    check(info['status'] in ('postcopy-active', 'completed'),
          f'source after recovery: {info}')
    check('error-desc' not in info, f'recovered source: {info}')
    poll_migration(dst, ('postcopy-active', 'completed'), 20, 0.01)


def finish(src, dst):
    info = poll_migration(src, ('completed', 'failed'), 90)
    check(info['status'] == 'completed', f'source: {info}')
    poll_migration(dst, ('completed',), 20)
    out = dst.wait_serial('stress: resume verified', 30)
    dst.wait_serial('stress: ok', 30, out.index('stress: resume'))
    check('MISMATCH' not in dst.serial(), dst.serial())
    check(dst.cmd('query-status')['status'] == 'running', 'dst not running')
    for vm in (src, dst):
        seen = [e['data']['status'] for e in vm.qmp.events
                if e['event'] == 'MIGRATION']
        check('postcopy-paused' in seen and 'postcopy-recover' in seen,
              f'{vm.name} MIGRATION events {seen}')
    return info


def out_of_place():
    with MigrationPair(vm_args()) as pair:
        src, dst = pair
        expect_error(src, 'migrate-pause is currently only supported',
                     'migrate-pause')
        expect_error(dst, 'Migrate recover can only be run when postcopy '
                     'is paused.', 'migrate-recover', uri='tcp:127.0.0.1:1')
        expect_error(src, 'Cannot resume if there is no paused migration',
                     'migrate', uri='tcp:127.0.0.1:1', resume=True)


def pause_twice():
    # requested pages go at once whatever max-postcopy-bandwidth says (as
    # in QEMU), and the guest checks every page of its range as soon as
    # it runs on the destination: with 32 MiB that pulls everything in
    # about half a second after the first recovery, so the second pause
    # would find the migration completed.  160 MiB take several seconds.
    with MigrationPair(vm_args(mem_mb=192)) as pair:
        src, dst = pair
        start_postcopy(pair)
        src.cmd('migrate-pause')
        info = both_paused(src, dst)
        print(f'paused by the source: {info.get("error-desc")}')
        recover(src, dst)
        dst.cmd('migrate-pause')
        both_paused(src, dst)
        recover(src, dst, hmp=True, fast=True)
        info = finish(src, dst)
        print(f'recovered twice: postcopy-bytes '
              f'{info["ram"]["postcopy-bytes"]}, requests '
              f'{info["ram"]["postcopy-requests"]}')


def real_cut():
    port = free_port()
    proxy = Proxy(port)
    # 160 MiB for the guest to pull (see pause_twice): postcopy is still
    # going when the cut comes
    with MigrationPair(vm_args(mem_mb=192),
                       uri=f'tcp:127.0.0.1:{proxy.port}',
                       listen=f'tcp:127.0.0.1:{port}') as pair:
        src, dst = pair
        start_postcopy(pair)
        time.sleep(0.2)
        proxy.cut()
        info = both_paused(src, dst)
        print(f'cut: {info.get("error-desc")}')
        recover(src, dst, fast=True)
        finish(src, dst)


def preempt_requests(src):
    """The request counts of the source's preempt-channel readers (one
    per channel: before the pause, after the recovery)."""
    return [int(line.split('postcopy_preempt_requests_end')[1].split()[0])
            for line in src.stderr().splitlines()
            if 'postcopy_preempt_requests_end' in line]


def preempt():
    """postcopy-preempt: requested pages on the second channel; a
    recovery opens both channels again.  Between two Terns the page
    requests too go on the preempt channel (its other direction), before
    the pause and after the recovery."""
    trace = ['-trace', 'postcopy_preempt_requests*']
    with MigrationPair(vm_args() + trace) as pair:
        src, dst = pair
        start_postcopy(pair, ['postcopy-preempt'])
        # faults are served at once: the guest pulls its RAM in quickly
        time.sleep(0.3)
        src.cmd('migrate-pause')
        both_paused(src, dst)
        recover(src, dst)
        info = finish(src, dst)
        print(f'preempt: requests {info["ram"]["postcopy-requests"]}, '
              f'postcopy-bytes {info["ram"]["postcopy-bytes"]}')
        check(info['ram']['postcopy-requests'] > 0, f'no requests: {info}')
        check('destination agreed' in src.stderr(), src.stderr()[-2000:])
        check('source asked' in dst.stderr(), dst.stderr()[-2000:])
        counts = preempt_requests(src)
        print(f'preempt: requests read on the preempt channel {counts}')
        check(len(counts) == 2 and all(counts), f'readers: {counts}')


def kvm_pause():
    """A KVM guest (slow under nested virtualisation: its precopy is
    throttled hard so most of RAM goes in postcopy): pause on the
    destination, recover, completes; the guest goes on with its checks
    without a MISMATCH."""
    args = stress_args('kvm', APPEND.format(top=48), '64M')
    with MigrationPair(args) as pair:
        src, dst = pair
        src.wait_serial('stress: ok', 30)
        caps = ['postcopy-ram', 'events']
        pair.start(caps=caps, dst_caps=caps,
                   params={'max-bandwidth': 32 << 10,
                           'max-postcopy-bandwidth': SLOW})
        poll_migration(src, ('active',), 20, 0.01)
        src.cmd('migrate-start-postcopy')
        poll_migration(dst, ('postcopy-active',), 20, 0.01)
        dst.cmd('migrate-pause')
        both_paused(src, dst)
        recover(src, dst, fast=True)
        info = poll_migration(src, ('completed', 'failed'), 60)
        check(info['status'] == 'completed', f'source: {info}')
        poll_migration(dst, ('completed',), 20)
        dst.wait_serial('stress: ok', 30, len(dst.serial()))
        check('MISMATCH' not in dst.serial(), dst.serial())


def cancel_paused():
    with MigrationPair(vm_args()) as pair:
        src, dst = pair
        start_postcopy(pair)
        dst.cmd('migrate-pause')
        both_paused(src, dst)
        src.cmd('migrate_cancel')
        info = poll_migration(src, ('failed', 'cancelled'), 20)
        check(info['status'] == 'failed', f'source: {info}')
        check('Postcopy failed' in info.get('error-desc', ''), info)
        check(src.cmd('query-status')['status'] == 'paused', 'source guest')


def main():
    skip_unless_built(guest=True)
    out_of_place()
    pause_twice()
    real_cut()
    preempt()
    if 'kvm' in accels():
        kvm_pause()
    cancel_paused()
    return 0


if __name__ == '__main__':
    sys.exit(main())
