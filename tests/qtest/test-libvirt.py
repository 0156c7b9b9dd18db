#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""test-libvirt: Debian's libvirt 9.0 drives build/tern as the emulator
of a domain (docs/libvirt.md).

Two private libvirtd (+ virtlogd) run in their own mount namespaces
(python/tern/libvirt.py); the host's libvirt is never touched and both
are killed by PID at the end, also on failure.  The domain is
docs/libvirt.md's: type kvm, machine pc-lite, the stress guest as its
kernel, the UART to a file.  After each step the guest must still be
the same boot (one "stress: start" line in the serial log), keep
verifying its pages ("stress: ok" with a growing verified count) and
never report a MISMATCH.

Default cases: virsh domcapabilities; define/start/destroy; save and
restore; managedsave then start; migrate --live over tcp and with
--migrateuri unix://; a migration whose destination is killed fails
with libvirt's error carrying Tern's cause, and the source keeps running.
--slow adds: domjobinfo during a save slowed by stopping libvirt's I/O
helper; migrate --live --tls (certificates from tests/tls-certs.sh);
--postcopy with --postcopy-after-precopy; --parallel (multifd).
Skipped (77) without libvirt, root, a mount namespace or /dev/kvm.
"""
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(__file__))
from ternlib import (build_dir, certs_or_skip, check, guest_elf,  # noqa: E402
                     have_kvm, skip, skip_unless_built, tern_binary)
from tern.libvirt import Libvirtd, domain_xml, why_not_usable  # noqa: E402

DOM = 'tern1'
SOFT = 'ternsoft'
CMDLINE = 'mem=16M-112M rate=16 report_ms=200'


class Guest:
    """The domain's serial log and the checks made on it."""

    def __init__(self, serial):
        self.serial = serial
        self.verified = 0

    def text(self):
        try:
            with open(self.serial, 'rb') as f:
                return f.read().decode(errors='replace')
        except OSError:
            return ''

    def check_alive(self, what, timeout=30):
        """The guest verifies more pages than before; same boot."""
        deadline = time.time() + timeout
        while True:
            out = self.text()
            check('MISMATCH' not in out, f'{what}: {out[-1500:]}')
            check(out.count('stress: start') <= 1,
                  f'{what}: the guest booted again:\n{out[-1500:]}')
            counts = [int(v) for v in re.findall(r'stress: ok .*verified=(\d+)',
                                                 out)]
            if counts and counts[-1] > self.verified:
                self.verified = counts[-1]
                return
            check(time.time() < deadline,
                  f'{what}: no new verified pages:\n{out[-1500:]}')
            time.sleep(0.1)


def state(d, dom=DOM):
    return d.virsh('domstate', dom).strip()


def wait_state(d, want, timeout=30):
    deadline = time.time() + timeout
    while state(d) != want:
        check(time.time() < deadline, f'{d.name}: state {state(d)} != {want}')
        time.sleep(0.1)


def case_domcapabilities(a):
    caps = a.virsh('domcapabilities', '--emulatorbin', tern_binary(),
                   '--virttype', 'kvm', '--machine', 'pc-lite')
    check('<machine>pc-lite</machine>' in caps and
          "<domain>kvm</domain>" in caps, f'domcapabilities:\n{caps[:800]}')


def case_define_start(a, g, xml):
    a.virsh('define', xml)
    a.virsh('start', DOM)
    check(state(a) == 'running', 'not running after start')
    g.check_alive('start')
    log = a.qemu_log(DOM)
    check('-no-shutdown' in log and '-chardev socket,id=charmonitor,fd=' in log,
          f'unexpected command line:\n{log[-2000:]}')


def case_save_restore(a, g, tmp):
    path = os.path.join(tmp, 'tern1.save')
    a.virsh('save', DOM, path)
    check(state(a) == 'shut off', 'running after save')
    a.virsh('restore', path)
    check(state(a) == 'running', 'not running after restore')
    g.check_alive('save/restore')
    os.unlink(path)


def case_managedsave(a, g):
    a.virsh('managedsave', DOM)
    check(state(a) == 'shut off', 'running after managedsave')
    check(re.search(r'Managed save:\s+yes', a.virsh('dominfo', DOM)),
          'no managed save')
    a.virsh('start', DOM)
    check(state(a) == 'running', 'not running after start')
    g.check_alive('managedsave + start')


def iohelper_pids(d):
    """libvirt's I/O helpers started by daemon d (children of libvirtd)."""
    pids = []
    for p in os.listdir('/proc'):
        if not p.isdigit():
            continue
        try:
            with open(f'/proc/{p}/stat') as f:
                ppid = int(f.read().rsplit(')', 1)[1].split()[1])
            with open(f'/proc/{p}/cmdline', 'rb') as f:
                cmd = f.read()
        except (OSError, IndexError, ValueError):
            continue
        if ppid == d.proc.pid and b'libvirt_iohelper' in cmd:
            pids.append(int(p))
    return pids


def soft_domain(d, root, name):
    """Create (transient) a type 'qemu' domain: Tern's soft vCPU running
    the stress workload at 64 MiB/s, so its RAM holds real data.  Returns
    its Guest once it has verified pages."""
    serial = os.path.join(root, f'{name}.serial')
    xml = os.path.join(root, f'{name}.xml')
    with open(xml, 'w') as f:
        f.write(domain_xml(name, guest_elf(), 'mem=16M-112M rate=64',
                           serial, tern_binary(), virt_type='qemu'))
    d.virsh('create', xml)
    g = Guest(serial)
    g.check_alive(f'{name} start')
    return g


def slowed_save(a, dom, path):
    """virsh save --bypass-cache with libvirt's I/O helper stopped as
    soon as it appears (Tern then blocks on the full pipe, so the job
    stays in progress); domjobinfo's output meanwhile, or None if the
    save ended before the helper was caught."""
    bg = a.virsh_bg('save', '--bypass-cache', dom, path)
    stopped, seen = [], None
    try:
        deadline = time.time() + 30
        while not stopped and bg.poll() is None and time.time() < deadline:
            for pid in iohelper_pids(a):
                os.kill(pid, signal.SIGSTOP)
                stopped.append(pid)
        while stopped and not seen and time.time() < deadline:
            rc, out, _ = a.virsh('domjobinfo', dom, check=False)
            if rc == 0 and re.search(r'Operation: +Save', out):
                seen = out
            time.sleep(0.05)
    finally:
        for pid in stopped:
            os.kill(pid, signal.SIGCONT)
    out, err = bg.communicate(timeout=120)
    check(bg.returncode == 0, f'slowed save failed: {err}')
    return seen


def case_domjobinfo(a, tmp):
    """domjobinfo while a save is held up (see slowed_save), on a soft
    domain whose ~96 MiB of data cannot hide in the pipe; a save that
    outruns the helper scan is restored and tried again."""
    path = os.path.join(tmp, 'slow.save')
    g = soft_domain(a, tmp, SOFT)
    for _ in range(5):
        seen = slowed_save(a, SOFT, path)
        a.virsh('restore', path)
        os.unlink(path)
        if seen:
            break
    check(seen, 'domjobinfo never showed the save job')
    check(re.search(r'Job type: +Unbounded', seen) and
          re.search(r'Memory processed: +\d', seen), f'domjobinfo:\n{seen}')
    g.check_alive('slowed save/restore')
    a.virsh('destroy', SOFT)


def migrate(src, dst, g, what, *extra):
    src.virsh('migrate', '--live', DOM, dst.uri, *extra, timeout=180)
    check(state(dst) == 'running', f'{what}: not running on the destination')
    check(DOM not in src.virsh('list', '--name'), f'{what}: still on source')
    g.check_alive(what)
    return dst, src


def case_migrate_fail(src, dst, root):
    """The destination emulator dies mid-migration: virsh reports
    libvirt's error with Tern's cause (peer-to-peer, so the source
    daemon, which watches Tern's query-migrate, reports); the guest
    keeps running.  This domain is type 'qemu' (Tern's soft vCPU, which
    dirties 64 MiB/s), so at 1 MiB/s the job cannot end on its own."""
    g = soft_domain(src, root, SOFT + '2')
    src.virsh('migrate-setspeed', SOFT + '2', '1')  # MiB/s
    bg = src.virsh_bg('migrate', '--live', '--p2p', SOFT + '2', dst.uri,
                      'tcp://127.0.0.1')
    deadline = time.time() + 60
    pid = None
    while time.time() < deadline and not pid:
        pid = dst.domain_pid(SOFT + '2')
        if pid:
            rc, out, _ = src.virsh('domjobinfo', SOFT + '2', check=False)
            if 'Memory processed' not in out:
                pid = None
        time.sleep(0.05)
    check(pid, 'the destination emulator never appeared')
    os.kill(pid, signal.SIGKILL)
    out, err = bg.communicate(timeout=120)

    check(bg.returncode != 0, 'migration to a killed destination succeeded')
    # libvirt's words, then Tern's own reason (query-migrate error-desc).
    info = json.loads(src.virsh('qemu-monitor-command', SOFT + '2',
                                '{"execute": "query-migrate"}'))['return']
    check(info.get('status') == 'failed' and info.get('error-desc'),
          f'query-migrate after the failure: {info}')
    # Which daemon reports first is libvirt's race: the source's (the
    # job failed, with Tern's reason) or, on a slow host, the
    # destination's (its emulator closed the monitor).
    check("operation failed: job 'migration out' failed: " +
          info['error-desc'] in err or
          'qemu unexpectedly closed the monitor' in err,
          f'virsh error: {err!r}, Tern: {info}')
    check(state(src, SOFT + '2') == 'running',
          'source stopped after the failure')
    g.check_alive('failed migration')
    src.virsh('destroy', SOFT + '2')


def main():
    skip_unless_built(guest=True)
    reason = why_not_usable()
    if reason:
        skip(reason)
    if not have_kvm():
        skip('/dev/kvm cannot be opened (the domain is type kvm)')
    slow = '--slow' in sys.argv
    # meson's timeout sends SIGTERM: unwind so the daemons are killed.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit('killed (SIGTERM)'))
    root = tempfile.mkdtemp(prefix='tern-libvirt-')
    tls_dir = None
    if slow:
        tls_dir = os.path.join(certs_or_skip(os.path.join(root, 'certs')),
                               'x509')
    serial = os.path.join(root, 'tern1.serial')
    xml = os.path.join(root, 'tern1.xml')
    with open(xml, 'w') as f:
        f.write(domain_xml(DOM, guest_elf(), CMDLINE, serial, tern_binary()))
    cache = os.path.join(build_dir(), 'tests-libvirt-cache')
    daemons = []
    ok = False
    try:
        a = Libvirtd(root, 'src', port_base=49152, tls_dir=tls_dir,
                     cache_dir=os.path.join(cache, 'src'))
        daemons.append(a)
        b = Libvirtd(root, 'dst', port_base=49216, tls_dir=tls_dir,
                     cache_dir=os.path.join(cache, 'dst'))
        daemons.append(b)
        g = Guest(serial)
        case_domcapabilities(a)
        case_define_start(a, g, xml)
        case_save_restore(a, g, root)
        case_managedsave(a, g)
        if slow:
            case_domjobinfo(a, root)
        src, dst = migrate(a, b, g, 'migrate --live tcp', '--migrateuri',
                           'tcp://127.0.0.1')
        src, dst = migrate(src, dst, g, 'migrate --live unix',
                           '--migrateuri',
                           f'unix://{os.path.join(root, "mig.sock")}')
        if slow:
            src, dst = migrate(src, dst, g, 'migrate --live --tls', '--tls',
                               '--migrateuri', 'tcp://127.0.0.1')
            src, dst = migrate(src, dst, g, 'migrate --postcopy',
                               '--postcopy', '--postcopy-after-precopy',
                               '--migrateuri', 'tcp://127.0.0.1')
            src, dst = migrate(src, dst, g, 'migrate --parallel',
                               '--parallel', '--parallel-connections', '2',
                               '--migrateuri', 'tcp://127.0.0.1')
        src.virsh('destroy', DOM)
        check(DOM not in src.virsh('list', '--name'), 'running after destroy')
        case_migrate_fail(a, b, root)
        ok = True
    finally:
        if not ok:
            for d in daemons:
                print(f'--- libvirtd {d.name} ---\n{d.tail()}\n'
                      f'--- {DOM}.log ---\n{d.qemu_log(DOM)[-3000:]}')
        for d in daemons:
            d.stop()
        if ok:
            subprocess.run(['rm', '-rf', root])
    print('test-libvirt' + (' --slow' if slow else '') + ': ok')


if __name__ == '__main__':
    main()
