# SPDX-License-Identifier: GPL-2.0-or-later
"""The libvirt case of make bench: the same libvirt 9.0 drives Tern and
Debian's QEMU 7.2 through virsh save, restore and migrate --live.

Each run starts two private libvirtd (python/tern/libvirt.py), defines
the stress-guest domain (Tern: machine pc-lite; QEMU: machine pc, the
same multiboot kernel and command line), and times each virsh command
from start to exit -- libvirt's own work included, which dominates for
a small guest -- plus the job time libvirt reports for the save and the
migration (domjobinfo --completed, "Time elapsed").
"""
import os
import re
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                '..', '..', 'python'))
from tern.libvirt import Libvirtd, domain_xml, why_not_usable  # noqa: E402

DOM = 'benchdom'

# key, label, better (added to run.py's METRICS)
METRICS = [
    ('virsh_save_s', 'virsh save s', 'lower'),
    ('save_job_ms', 'save job ms (domjobinfo)', 'lower'),
    ('virsh_restore_s', 'virsh restore s', 'lower'),
    ('virsh_migrate_s', 'virsh migrate --live s', 'lower'),
    ('migrate_job_ms', 'migration job ms (domjobinfo)', 'lower'),
]


def unusable():
    """None, or why the libvirt case cannot run here."""
    return why_not_usable()


def _job_ms(d, dom):
    """'Time elapsed' of the last completed job, in ms, or None."""
    rc, out, _ = d.virsh('domjobinfo', '--completed', dom, check=False)
    m = re.search(r'Time elapsed: +(\d+) +ms', out) if rc == 0 else None
    return int(m.group(1)) if m else None


def _timed(d, *args):
    t0 = time.monotonic()
    d.virsh(*args, timeout=300)
    return time.monotonic() - t0


def run_case(system, binary, case, tmp, guest, cache_root):
    """One run for system ('qemu' or 'tern'); a dict of METRICS keys."""
    root = os.path.join(tmp, f'libvirt-{system}-{time.monotonic_ns()}')
    os.makedirs(root)
    serial = os.path.join(root, 'serial.log')
    xml = os.path.join(root, 'dom.xml')
    machine = 'pc-lite' if system == 'tern' else 'pc'
    with open(xml, 'w') as f:
        f.write(domain_xml(DOM, guest,
                           f"mem=16M-{case['mem_mb'] - 16}M rate=64",
                           serial, binary, mem_mib=case['mem_mb'])
                .replace("machine='pc-lite'", f"machine='{machine}'"))
    daemons = []
    try:
        a = Libvirtd(root, 'src', port_base=49152,
                     cache_dir=os.path.join(cache_root, 'src'))
        daemons.append(a)
        b = Libvirtd(root, 'dst', port_base=49216,
                     cache_dir=os.path.join(cache_root, 'dst'))
        daemons.append(b)
        a.virsh('define', xml)
        a.virsh('start', DOM)
        deadline = time.time() + 60
        while 'stress: ok' not in open(serial, errors='replace').read():
            if time.time() > deadline:
                raise RuntimeError('the guest never reported')
            time.sleep(0.1)
        save = os.path.join(root, 'dom.save')
        r = {'virsh_save_s': _timed(a, 'save', DOM, save)}
        r['save_job_ms'] = _job_ms(a, DOM)
        r['virsh_restore_s'] = _timed(a, 'restore', save)
        os.unlink(save)
        r['virsh_migrate_s'] = _timed(a, 'migrate', '--live', DOM, b.uri,
                                      '--migrateuri', 'tcp://127.0.0.1')
        r['migrate_job_ms'] = _job_ms(b, DOM) or _job_ms(a, DOM)
        b.virsh('destroy', DOM)
        return r
    finally:
        for d in daemons:
            d.stop()
