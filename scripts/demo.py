#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""make demo: live-migrate a running guest between two Tern processes.

Generates throwaway TLS certificates, starts a destination
(`tern -incoming defer`) and a source running the stress guest (KVM when
/dev/kvm opens, else the soft vCPU), sets TLS up over QMP, migrates while
the guest dirties memory, shows a live progress line, the final
`info migrate`, and the guest's own verdict from the destination's serial
output.  Cleans up everything it made; exits non-zero if anything failed.
"""
import argparse
import os
import shutil
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.realpath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, '..', 'python'))
from ternmigrate import Progress, summary  # noqa: E402
from tern.migration import FINAL, poll_migration, start_migration  # noqa
from tern.tlscerts import make_x509  # noqa: E402
from tern.vm import Vm, free_port, have_kvm  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('build', nargs='?',
                    default=os.environ.get('TERN_BUILD_DIR') or
                    os.path.join(HERE, '..', 'build'),
                    help='build directory (default: build/ of the tree '
                         'this script is in, even through a symlink)')
    ap.add_argument('--mem', type=int, default=512, help='guest RAM in MiB')
    ap.add_argument('--rate', type=int, default=64, help='guest dirty rate MiB/s')
    ap.add_argument('--working-set', type=int, default=128,
                    help='MiB of guest RAM the stress guest writes and verifies')
    args = ap.parse_args()
    build = os.path.abspath(args.build)
    os.environ['TERN_BUILD_DIR'] = build
    tern = os.path.join(build, 'tern')
    guest = os.path.join(build, 'guest', 'stress.elf')
    accel = 'kvm' if have_kvm() else 'soft'
    print(f'demo: accelerator {accel}'
          + ('' if accel == 'kvm' else ' (/dev/kvm cannot be opened: soft vCPU)'))

    tmp = tempfile.mkdtemp(prefix='tern-demo-')
    src = dst = None
    try:
        creds = make_x509(os.path.join(tmp, 'tls'))
        print(f'demo: generated throwaway x509 certificates in {creds}')
        mem = args.mem
        top = min(mem - 16, args.working_set + 16)
        common = ['-M', 'pc-lite', '-accel', accel, '-m', f'{mem}M',
                  '-kernel', guest,
                  '-append', f'mem=16M-{top}M rate={args.rate} pattern=random']
        dst = Vm(common + ['-object', f'tls-creds-x509,id=tls0,dir={creds},endpoint=server',
                           '-incoming', 'defer'], name='dst', tmpdir=tmp)
        src = Vm(common + ['-object', f'tls-creds-x509,id=tls0,dir={creds},endpoint=client'],
                 name='src', tmpdir=tmp)
        print('demo: source booted the stress guest; waiting for it to write '
              'its whole range once')
        src.wait_serial('stress: ok', timeout=60)
        deadline = time.time() + 20
        while time.time() < deadline and 'stress: ok pass=1' not in src.serial():
            time.sleep(0.2)
        if 'stress: ok pass=1' not in src.serial():
            print('demo: (the guest is slow here: migrating before its first '
                  'full pass; every page it wrote is still verified)')
        for line in src.serial().splitlines()[-2:]:
            print(f'  source serial | {line}')

        port = free_port()
        uri = f'tcp:localhost:{port}'
        print(f'demo: migrating over TLS to {uri} while the guest dirties '
              f'{args.rate} MiB/s')
        start_migration(src, uri, dst, uri, caps=['events'],
                        params={'tls-creds': 'tls0',
                                'tls-hostname': 'localhost',
                                'max-bandwidth': 10 << 30,
                                'downtime-limit': 300},
                        dst_params={'tls-creds': 'tls0'})
        info = poll_migration(src, FINAL, None, 0.1, Progress(period=0.5))
        st = info.get('status')
        print('demo: info migrate on the source:')
        for line in src.hmp('info migrate').splitlines():
            print(f'  {line}')
        if st != 'completed':
            print(f"demo: migration {st}: {info.get('error-desc')}")
            return 1
        mark = len(dst.serial())
        print('demo: waiting for the guest on the destination to verify its pages')
        dst.wait_serial('stress: ok', timeout=30, start=mark)
        time.sleep(1.5)
        out = dst.serial()[mark:]
        for line in out.splitlines()[-3:]:
            print(f'  destination serial | {line}')
        if 'MISMATCH' in out:
            print('demo: FAILED: the guest found a corrupted page')
            return 1
        print(f"demo: OK: {summary(info)}; source is "
              f"{src.cmd('query-status')['status']}, destination is "
              f"{dst.cmd('query-status')['status']}")
        print('demo: the same with libvirt (virsh start/save/restore/migrate '
              'with tern as <emulator>): docs/libvirt.md; '
              'tests/qtest/test-libvirt.py runs it')
        return 0
    except Exception as e:
        print(f'\ndemo: FAILED: {e}')
        for vm in (src, dst):
            if vm:
                print(f'--- {vm.name} stderr ---\n{vm.stderr()[-1500:]}')
        return 1
    finally:
        for vm in (src, dst):
            if vm:
                vm.kill()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == '__main__':
    sys.exit(main())
