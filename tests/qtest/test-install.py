#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""test-install: what `make install` puts in place, and the man page.

`meson install --destdir TMP` of the build tree must produce bin/tern,
bin/tern-migrate, bin/qmp-shell, share/tern/stress.elf (the build's
guest, byte for byte), share/tern/python/{ternmigrate.py,tern/*.py} and
share/man/man1/tern.1.  The installed scripts run from anywhere (their
modules are found from their own resolved path): tern-migrate --help,
and qmp-shell against the installed tern answering query-status.
docs/tern.1 names every option `tern --help` lists, and --help's
-monitor/-qmp lines name every backend the monitor accepts.
scripts/demo.py runs through a symlink from another directory.
"""
import os
import re
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ternlib import (build_dir, check, guest_elf, skip_unless_built,  # noqa
                     source_dir, tern_binary)


def find(root, suffix):
    """The one file under root whose path ends with suffix."""
    hits = [os.path.join(d, f) for d, _, files in os.walk(root)
            for f in files if os.path.join(d, f).endswith(suffix)]
    check(len(hits) == 1, f'installed {suffix}: {hits}')
    return hits[0]


def help_options():
    out = subprocess.run([tern_binary(), '--help'], capture_output=True,
                         text=True, check=True).stdout
    opts = []
    for ln in out.splitlines():
        if ln.startswith('  -'):
            usage = ln.strip().split('  ')[0]
            first = usage.split(' ')[0]
            opts += first.split('|')
    check(len(opts) > 20, f'--help lists too few options: {opts}')
    return out, opts


def test_man_page():
    out, opts = help_options()
    with open(os.path.join(source_dir(), 'docs', 'tern.1')) as f:
        man = f.read()
    # the tag lines (after .TP) of the OPTIONS section; roff spells "-"
    # as "\-" in option names
    section = man.split('.SH OPTIONS', 1)[-1].split('.SH ', 1)[0]
    lines = section.replace('\\-', '-').splitlines()
    tags = [lines[i + 1] for i, ln in enumerate(lines[:-1]) if ln == '.TP']
    for opt in opts:
        pat = re.compile(r'(?<![\w-])' + re.escape(opt) + r'(?![\w-])')
        check(any(pat.search(t) for t in tags),
              f'docs/tern.1 OPTIONS does not document {opt}')
    for sect in ('OPTIONS', 'MONITORS', 'MIGRATION URIS', 'EXIT STATUS',
                 'EXAMPLES'):
        check(f'.SH {sect}' in man, f'docs/tern.1 has no {sect} section')
    mon = [ln for ln in out.splitlines() if ln.startswith('  -monitor')][0]
    qmp = [ln for ln in out.splitlines() if ln.startswith('  -qmp')][0]
    for backend in ('stdio', 'unix:', 'tcp:', 'none'):
        check(backend in mon, f'--help -monitor lacks {backend}: {mon}')
    for backend in ('stdio', 'unix:', 'tcp:'):
        check(backend in qmp, f'--help -qmp lacks {backend}: {qmp}')
    print(f'man page: {len(opts)} options of --help documented')


def test_install(tmp):
    dest = os.path.join(tmp, 'dest')
    r = subprocess.run(['meson', 'install', '-C', build_dir(), '--no-rebuild',
                        '--destdir', dest, '--quiet'],
                       capture_output=True, text=True, timeout=120)
    check(r.returncode == 0, f'meson install: {r.stdout}{r.stderr}')
    tern = find(dest, '/bin/tern')
    tool = find(dest, '/bin/tern-migrate')
    shell = find(dest, '/bin/qmp-shell')
    elf = find(dest, '/share/tern/stress.elf')
    find(dest, '/share/tern/python/ternmigrate.py')
    find(dest, '/share/tern/python/tern/qmp.py')
    man = find(dest, '/man1/tern.1')
    for path in (tern, tool, shell):
        check(os.access(path, os.X_OK), f'{path} is not executable')
    with open(elf, 'rb') as a, open(guest_elf(), 'rb') as b:
        check(a.read() == b.read(), 'installed stress.elf differs')
    with open(man) as a, open(os.path.join(source_dir(), 'docs',
                                           'tern.1')) as b:
        check(a.read() == b.read(), 'installed tern.1 differs')
    r = subprocess.run([tern, '-version'], capture_output=True, text=True)
    check(r.returncode == 0 and 'Tern emulator version' in r.stdout,
          f'installed tern -version: {r.stdout}{r.stderr}')
    # the scripts find their modules from the installed tree (cwd /)
    env = dict(os.environ, PYTHONPATH='')
    r = subprocess.run([tool, '--help'], capture_output=True, text=True,
                       cwd='/', env=env)
    check(r.returncode == 0 and '--source' in r.stdout,
          f'installed tern-migrate --help: {r.stdout}{r.stderr}')
    qmp = os.path.join(tmp, 'i.qmp')
    vm = subprocess.Popen([tern, '-M', 'none', '-m', '16', '-display', 'none',
                           '-qmp', f'unix:{qmp},server=on,wait=off'],
                          stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                          stderr=subprocess.DEVNULL)
    try:
        import time
        for _ in range(200):
            if os.path.exists(qmp):
                break
            time.sleep(0.05)
        r = subprocess.run([shell, qmp], input='query-status\n',
                           capture_output=True, text=True, cwd='/', env=env,
                           timeout=30)
        check(r.returncode == 0 and '"status": "running"' in r.stdout,
              f'installed qmp-shell: {r.stdout}{r.stderr}')
    finally:
        vm.kill()
        vm.wait()
    print(f'install: {len(list(os.walk(dest)))} directories, all files '
          f'in place')


def test_demo_symlink(tmp):
    link = os.path.join(tmp, 'demo')
    os.symlink(os.path.join(source_dir(), 'scripts', 'demo.py'), link)
    r = subprocess.run([sys.executable, link, '--help'], capture_output=True,
                       text=True, cwd=tmp)
    check(r.returncode == 0 and 'usage:' in r.stdout,
          f'demo.py through a symlink: {r.stdout}{r.stderr}')


def main():
    skip_unless_built(guest=True)
    test_man_page()
    with tempfile.TemporaryDirectory(prefix='tern-install-') as tmp:
        test_install(tmp)
        test_demo_symlink(tmp)
    print('ok')


if __name__ == '__main__':
    main()
