#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""test-soft-migrate: a soft-vCPU guest migrates live and goes on checking.

Source: tern -accel soft running the stress workload (rate-limited so the
precopy converges).  Destination: the same command line plus -incoming.
After `migrate` completes, the destination's soft vCPU must find the
workload's state block in the migrated RAM, re-verify every page the
source ever wrote ("stress: resume verified N pages", N = every data
page), and continue writing and verifying without a MISMATCH.  That is
the end-to-end proof that RAM migration lost no dirty page.

Second case: rate=0 (the vCPU dirties as fast as it can, faster than the
bandwidth limit) only converges because auto-converge throttles the soft
vCPU, which must honour cpu_throttle.
"""
import os
import re
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ternlib import (check, MigrationPair, QMPError, skip,  # noqa
                     skip_unless_built, stress_args)

APPEND = 'mem=16M-80M rate=32 pattern=random report_ms=250'


def soft_args(extra=(), append=APPEND):
    return stress_args('soft', append, '96M', extra)


def check_resumed(src, dst, info):
    """The destination resumed the workload and re-verified every page."""
    src_out = src.serial()
    out = dst.wait_serial('stress: resume verified', 30)
    m = re.search(r'stress: resume pass=(\d+) dirtied=(\d+)MiB', out)
    check(m, out)
    npages = int(re.search(r'pages=(\d+)', src_out).group(1))
    m2 = re.search(r'stress: resume verified (\d+) pages', out)
    check(int(m2.group(1)) == npages,
          f'verified {m2.group(1)} of {npages} pages')
    start = out.index('stress: resume verified')
    dst.wait_serial('stress: ok pass=', 30, start)
    check(dst.cmd('query-status')['status'] == 'running',
          'destination not running')
    time.sleep(1)
    out = dst.serial()
    check('MISMATCH' not in out, out)
    check('MISMATCH' not in src_out, src_out)
    # the source stopped writing once migration completed
    check(src.cmd('query-status')['status'] == 'postmigrate',
          'source not postmigrate')
    check(src.serial() == src_out, 'source still running')
    print('  resumed at pass', m.group(1), 'after', m.group(2),
          'MiB dirtied; verified', npages, 'pages; downtime',
          info.get('downtime'), 'ms')


def test_precopy():
    with MigrationPair(soft_args()) as pair:
        src, dst = pair
        src.wait_serial('stress: ok pass=1', 30)
        try:
            src.cmd('migrate-set-parameters', max_bandwidth=1 << 30)
        except QMPError as e:
            skip(f'migrate-set-parameters: {e}')
        check(dst.cmd('query-status')['status'] == 'inmigrate',
              'destination not inmigrate')
        info = pair.migrate()
        print('precopy, rate=32:')
        check_resumed(src, dst, info)


def test_auto_converge():
    append = 'mem=16M-80M rate=0 report_ms=250'
    with MigrationPair(soft_args(append=append)) as pair:
        src, dst = pair
        src.wait_serial('stress: ok pass=1', 30)
        try:
            src.cmd('migrate-set-capabilities', capabilities=[
                {'capability': 'auto-converge', 'state': True}])
            src.cmd('migrate-set-parameters', max_bandwidth=64 << 20,
                    cpu_throttle_initial=50, cpu_throttle_increment=20)
        except QMPError as e:
            skip(f'auto-converge: {e}')
        info = pair.migrate(90)
        print('precopy, rate=0, auto-converge:')
        check_resumed(src, dst, info)


def main():
    skip_unless_built(guest=True)
    test_precopy()
    test_auto_converge()


if __name__ == '__main__':
    main()
