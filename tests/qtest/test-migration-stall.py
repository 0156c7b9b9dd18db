#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""test-migration-stall: a stalled peer is noticed, and a destination can
be told to give up (issue 17, finding 5).

With x-progress-timeout 3 (Tern's parameter; default 30 s):
  1. the destination stops (SIGSTOP) in the middle of a precopy: the
     source fails with "No progress from the destination for 3 s" and its
     guest goes on running;
  2. the source stops (SIGSTOP) in the middle: the destination exits 1
     with "No progress from the source for 3 s";
  3. migrate_cancel on a loading destination ends it ("Migration
     cancelled on the destination"), and on a destination still
     listening too;
  4. the tcp connection of a migration has TCP keepalive on (ss -o shows
     its keepalive timer).
Each case ends with the stress guest verifying and a second migration
into a fresh destination completing.
"""
import os
import shutil
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ternlib import (check, free_port, incoming_vm, poll_migration,  # noqa
                     skip_unless_built, stress_args, Vm, wait_incoming,
                     wait_migration, FINAL)

APPEND = 'mem=16M-48M rate=16 pattern=random report_ms=250'
TIMEOUT = 3
SLOW = {'max-bandwidth': 4 << 20, 'x-progress-timeout': TIMEOUT}


def guest_args():
    return stress_args('soft', APPEND, '64M')


def wait_active(src, min_bytes=1 << 20, timeout=30):
    """Until the source is active and has sent min_bytes."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        info = src.cmd('query-migrate')
        if info.get('status') == 'active' and \
                info.get('ram', {}).get('transferred', 0) >= min_bytes:
            return info
        check(info.get('status') in ('setup', 'active'), f'source: {info}')
        time.sleep(0.05)
    raise AssertionError(f'source never active: {src.cmd("query-migrate")}')


def wait_exit(vm, timeout=20):
    try:
        return vm.proc.wait(timeout)
    except subprocess.TimeoutExpired:
        raise AssertionError(f'{vm.name} still running:\n{vm.stderr()}') \
            from None


def guest_still_good(src, what):
    """The source's guest runs and its stress workload keeps verifying."""
    check(src.cmd('query-status')['status'] == 'running',
          f'{what}: source not running: {src.cmd("query-status")}')
    n = src.serial().count('stress: ok pass=')
    deadline = time.time() + 20
    while src.serial().count('stress: ok pass=') <= n:
        check(time.time() < deadline, f'{what}: guest stopped verifying')
        time.sleep(0.1)
    check('MISMATCH' not in src.serial(), f'{what}: {src.serial()}')


def migrate_again(src, what):
    """A second migration into a fresh destination completes and the
    destination's guest re-verifies every page."""
    src.cmd('migrate-set-parameters', max_bandwidth=1 << 30)
    with incoming_vm(guest_args(), name=f'{what}-dst2') as dst:
        src.cmd('migrate', uri=dst.uri)
        wait_migration(src, 60)
        wait_incoming(dst, 30)
        out = dst.wait_serial('stress: resume verified', 30)
        check('MISMATCH' not in out, f'{what}: {out}')
        check(dst.cmd('query-status')['status'] == 'running',
              f'{what}: second destination not running')
    print(f'{what}: second migration completed, guest verified')


def case_destination_stalls():
    with Vm(guest_args(), name='src-a') as src:
        src.wait_serial('stress: ok pass=1', 30)
        with incoming_vm(guest_args(), name='dst-a') as dst:
            src.cmd('migrate-set-parameters', **SLOW)
            src.cmd('migrate', uri=dst.uri)
            wait_active(src)
            os.kill(dst.proc.pid, signal.SIGSTOP)
            info = poll_migration(src, FINAL, timeout=TIMEOUT + 20)
            os.kill(dst.proc.pid, signal.SIGCONT)
            check(info['status'] == 'failed', f'stalled destination: {info}')
            check(info.get('error-desc') ==
                  f'No progress from the destination for {TIMEOUT} s',
                  f'error-desc: {info.get("error-desc")!r}')
            print(f'destination stalled: source failed: '
                  f'{info["error-desc"]}')
        guest_still_good(src, 'destination stalled')
        migrate_again(src, 'destination-stalled')


def defer_destination(name):
    """A destination with -incoming defer, x-progress-timeout set, then
    listening on a free port."""
    dst = incoming_vm(guest_args(), uri='defer', name=name)
    dst.cmd('migrate-set-parameters', x_progress_timeout=TIMEOUT)
    dst.uri = f'tcp:127.0.0.1:{free_port()}'
    dst.cmd('migrate-incoming', uri=dst.uri)
    return dst


def case_source_stalls():
    with Vm(guest_args(), name='src-b') as src:
        src.wait_serial('stress: ok pass=1', 30)
        with defer_destination('dst-b') as dst:
            src.cmd('migrate-set-parameters', max_bandwidth=4 << 20)
            src.cmd('migrate', uri=dst.uri)
            wait_active(src)
            os.kill(src.proc.pid, signal.SIGSTOP)
            try:
                rc = wait_exit(dst, TIMEOUT + 20)
            finally:
                os.kill(src.proc.pid, signal.SIGCONT)
            err = dst.stderr()
            check(rc == 1, f'destination exit {rc}: {err}')
            check(f'No progress from the source for {TIMEOUT} s' in err, err)
            print('source stalled: destination exited 1: '
                  f'No progress from the source for {TIMEOUT} s')
        info = poll_migration(src, FINAL, timeout=30)
        check(info['status'] == 'failed', f'source after stall: {info}')
        guest_still_good(src, 'source stalled')
        migrate_again(src, 'source-stalled')


def case_cancel_destination():
    with Vm(guest_args(), name='src-c') as src:
        src.wait_serial('stress: ok pass=1', 30)
        with incoming_vm(guest_args(), name='dst-c') as dst:
            src.cmd('migrate-set-parameters', max_bandwidth=4 << 20)
            src.cmd('migrate', uri=dst.uri)
            wait_active(src)
            check(dst.cmd('query-migrate').get('status') == 'active',
                  f'destination: {dst.cmd("query-migrate")}')
            dst.cmd('migrate_cancel')
            rc = wait_exit(dst)
            err = dst.stderr()
            check(rc == 1, f'destination exit {rc}: {err}')
            check('Migration cancelled on the destination' in err, err)
        info = poll_migration(src, FINAL, timeout=30)
        check(info['status'] == 'failed', f'source after cancel: {info}')
        print(f'destination cancelled: exited 1; source failed: '
              f'{info.get("error-desc")}')
        guest_still_good(src, 'destination cancelled')
        migrate_again(src, 'destination-cancelled')
    # a destination that is still only listening
    with incoming_vm(guest_args(), name='dst-d') as dst:
        dst.cmd('migrate_cancel')
        rc = wait_exit(dst)
        check(rc == 1 and 'Migration cancelled on the destination'
              in dst.stderr(), f'listening destination: {rc} '
              f'{dst.stderr()}')
    print('listening destination cancelled: exited 1')


def case_keepalive():
    if not shutil.which('ss'):
        print('keepalive: SKIP (no ss)')
        return
    with Vm(['-M', 'none', '-m', '64M'], name='src-e') as src, \
            incoming_vm(['-M', 'none', '-m', '64M'], name='dst-e') as dst:
        port = dst.uri.rsplit(':', 1)[1]
        src.cmd('migrate-set-parameters', max_bandwidth=1 << 20)
        src.cmd('migrate', uri=dst.uri)
        wait_active(src, 1)
        lines = []
        # until both ends are listed with their keepalive timer: ss shows
        # a socket's retransmit timer instead while its data is unacked
        # (loaded hosts, ASan)
        for _ in range(100):
            out = subprocess.run(['ss', '-tnoH', 'state', 'established',
                                  f'( sport = :{port} or dport = :{port} )'],
                                 capture_output=True, text=True).stdout
            lines = [ln for ln in out.splitlines() if ln.strip()]
            if len(lines) >= 2 and \
                    all('timer:(keepalive' in ln for ln in lines):
                break
            time.sleep(0.1)
        src.cmd('migrate_cancel')
        check(len(lines) == 2, f'ss: {out}')
        check(all('timer:(keepalive' in ln for ln in lines),
              f'no keepalive on both ends: {out}')
    print('keepalive: on at both ends of the connection')


def main():
    skip_unless_built(guest=True)
    case_destination_stalls()
    case_source_stalls()
    case_cancel_destination()
    case_keepalive()
    print('test-migration-stall: ok')


if __name__ == '__main__':
    main()
