#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""test-docs: the recipes marked runnable in README.md and docs/*.md run.

As Python's doctest does for code, this runs every fenced block that an
HTML comment marks as runnable, in page order, against real Tern (and,
where a page asks for it, QEMU) processes, so a recipe that stops working
fails `make check`.  The markers (invisible on the rendered page):

  <!-- runnable -->             the next ```sh block runs in bash -e; its
                                 exit status must be 0.  Processes it
                                 starts with & keep running until the page
                                 is done; `unix:PATH,server=on` sockets it
                                 names must appear within 10 s (QMP ones
                                 must greet: the process is then past
                                 its start-up, -incoming listening).
  <!-- runnable background -->  the next ```sh block runs in the
                                 background (a program that waits for
                                 input, e.g. `-monitor stdio`); its stdin
                                 stays open for the next hmp=stdin block.
  <!-- runnable hmp=stdin -->    each `(qemu) COMMAND` line of the next
                                 block is typed into the last background
                                 block's stdin; the prompt must come back
                                 (within 60 s) without an `Error:` line
                                 (after a blocking `migrate`: with
                                 `Migration completed`).
  <!-- runnable hmp=PATH -->     the same, through QMP's
                                 human-monitor-command on the QMP socket
                                 PATH; `migrate` must then complete.
  <!-- runnable qmp=PATH -->     each `{"execute": ...}` line of the next
                                 block is sent to the QMP socket PATH and
                                 must not get an error; `migrate` must
                                 then complete.
  needs=PROG (any marker)        skip the block (saying so) when PROG is
                                 not installed, e.g. needs=qemu-system-x86_64.

Each page runs in a fresh scratch directory (the current directory of
its blocks) against a staged `make install` (meson install --destdir):
`tern`, `tern-migrate` and `qmp-shell` are on PATH, and the recipes'
install prefix (/usr/local/, the default PREFIX) points into the staged
tree whatever PREFIX the build was configured with.  `/tmp/` in a
recipe becomes the scratch directory's tmp/, and port 4444 a free port,
so runs never collide.  When the page is done every process it started
is killed.  The sections on a newcomer's path (README's first steps,
migration.md §2, §4.1, §4.4, §7, §9, qemu-users.md's QMP by hand) must
each keep at least one runnable block.  TERN_DOCS=page.md runs one page.
"""
import glob
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ternlib import (build_dir, check, free_port, QMP,  # noqa: E402
                     skip_unless_built, source_dir)

MARKER = re.compile(r'^<!--\s*runnable\b(.*?)-->\s*$')
PROMPT = '(qemu) '
FINAL = ('completed', 'failed', 'cancelled')


def extract(path):
    """[(attrs dict, info string, block text, line number)] of the
    runnable blocks of the page at path."""
    with open(path) as f:
        lines = f.read().splitlines()
    blocks = []
    i = 0
    while i < len(lines):
        m = MARKER.match(lines[i])
        if not m:
            i += 1
            continue
        attrs = {}
        for word in m.group(1).split():
            key, _, value = word.partition('=')
            attrs[key] = value
        j = i + 1
        while j < len(lines) and not lines[j].startswith('```'):
            check(not lines[j].strip(),
                  f'{path}:{i + 1}: runnable marker not before a block')
            j += 1
        check(j < len(lines), f'{path}:{i + 1}: runnable marker at the end')
        info = lines[j][3:].strip()
        k = j + 1
        while k < len(lines) and not lines[k].startswith('```'):
            k += 1
        blocks.append((attrs, info, '\n'.join(lines[j + 1:k]) + '\n', j + 1))
        i = k + 1
    return blocks


class Page:
    """The processes and the substitutions of one page."""

    def __init__(self, name, stage_prefix, bindir):
        self.name = name
        self.dir = tempfile.mkdtemp(prefix='tern-docs-')
        os.mkdir(os.path.join(self.dir, 'tmp'))
        # the recipes are written for the default PREFIX, /usr/local
        self.subst = [('/usr/local/', stage_prefix + '/'),
                      ('/tmp/', self.dir + '/tmp/'),
                      (':4444', f':{free_port()}')]
        self.env = dict(os.environ, PATH=bindir + ':' + os.environ['PATH'])
        self.groups = []
        self.background = None
        self.n = 0

    def sub(self, text):
        """All substitutions in one pass (a replacement is not rescanned)."""
        table = dict(self.subst)
        pat = '|'.join(re.escape(old) for old, _ in self.subst)
        return re.sub(pat, lambda m: table[m.group(0)], text)

    def log(self, what):
        self.n += 1
        return os.path.join(self.dir, f'block{self.n}-{what}.log')

    def run_sh(self, script, where, background=False):
        log = self.log('sh')
        with open(log, 'wb') as out:
            proc = subprocess.Popen(
                ['bash', '-e', '-o', 'pipefail', '-c', script],
                cwd=self.dir, env=self.env, start_new_session=True,
                stdin=subprocess.PIPE if background else subprocess.DEVNULL,
                stdout=out, stderr=subprocess.STDOUT)
        self.groups.append(proc.pid)
        if background:
            self.background = (proc, log)
        else:
            try:
                rc = proc.wait(120)
            except subprocess.TimeoutExpired:
                rc = 'timeout'
            check(rc == 0, f'{where}: exit status {rc}:\n{script}\n'
                           f'output:\n{read(log)[-3000:]}')
        for path in re.findall(r'unix:([^,\s\'"]+),server=on', script):
            deadline = time.time() + 10
            while not os.path.exists(path) and time.time() < deadline:
                time.sleep(0.05)
            check(os.path.exists(path),
                  f'{where}: socket {path} did not appear:\n'
                  f'{read(log)[-3000:]}')
        # a QMP greeting means the main loop runs: -incoming listens
        for path in re.findall(r'-qmp unix:([^,\s\'"]+),server=on', script):
            QMP(path, timeout=10).close()

    def run_hmp_stdin(self, text, where):
        check(self.background, f'{where}: no background block before')
        proc, log = self.background
        for cmd in commands(text, PROMPT):
            before = read(log)
            want = before.count(PROMPT) + 1
            try:
                proc.stdin.write(cmd.encode() + b'\n')
                proc.stdin.flush()
            except BrokenPipeError:
                pass
            check(proc.poll() is None or time.sleep(1) or proc.poll() is None,
                  f'{where}: the background process exited:\n{read(log)}')
            deadline = time.time() + 60
            while read(log).count(PROMPT) < want and time.time() < deadline:
                check(proc.poll() is None,
                      f'{where}: {cmd}: the process exited:\n{read(log)}')
                time.sleep(0.05)
            new = read(log)[len(before):]
            check(read(log).count(PROMPT) >= want,
                  f'{where}: {cmd}: no prompt after 60 s:\n{new}')
            check('Error:' not in new, f'{where}: {cmd}:\n{new}')
            if cmd.split()[0] == 'migrate' and '-d' not in cmd.split():
                check('Migration completed' in new,
                      f'{where}: {cmd}: did not complete:\n{new}')

    def run_monitor(self, path, text, where, hmp):
        qmp = QMP(path, timeout=60)
        try:
            if hmp:
                for cmd in commands(text, PROMPT):
                    out = qmp.hmp(cmd)
                    check('Error:' not in out, f'{where}: {cmd}: {out}')
                    if cmd.split()[0] == 'migrate':
                        self.wait_migration(qmp, where)
            else:
                for line in text.splitlines():
                    if not line.startswith('{"execute"'):
                        continue
                    qmp.send_raw(line + '\n')
                    reply = qmp.recv_reply()
                    check('error' not in reply, f'{where}: {line}: {reply}')
                    if '"migrate"' in line:
                        self.wait_migration(qmp, where)
        finally:
            qmp.close()

    @staticmethod
    def wait_migration(qmp, where):
        deadline = time.time() + 60
        while True:
            info = qmp.cmd('query-migrate')
            if info.get('status') in FINAL:
                break
            check(time.time() < deadline, f'{where}: migration: {info}')
            time.sleep(0.1)
        check(info['status'] == 'completed', f'{where}: migration: {info}')

    def close(self):
        if self.background:
            try:
                self.background[0].stdin.close()
            except BrokenPipeError:
                pass
        for pgid in self.groups:
            try:
                os.killpg(pgid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        shutil.rmtree(self.dir, ignore_errors=True)


def read(path):
    with open(path, 'rb') as f:
        return f.read().decode(errors='replace').replace('\r\n', '\n')


def commands(text, prompt):
    return [ln[len(prompt):].strip() for ln in text.splitlines()
            if ln.startswith(prompt)]


def stage():
    """meson install --destdir into a temporary tree: (destdir, the
    staged prefix, the staged bindir)."""
    dest = tempfile.mkdtemp(prefix='tern-docs-install-')
    r = subprocess.run(['meson', 'install', '-C', build_dir(), '--no-rebuild',
                        '--destdir', dest, '--quiet'],
                       capture_output=True, text=True, timeout=120)
    check(r.returncode == 0, f'meson install: {r.stdout}{r.stderr}')
    tern = [os.path.join(d, 'tern') for d, _, files in os.walk(dest)
            if 'tern' in files and d.endswith('/bin')]
    check(len(tern) == 1, f'staged tern: {tern}')
    bindir = os.path.dirname(tern[0])
    stage_prefix = os.path.dirname(bindir)
    return dest, stage_prefix, bindir


# The newcomer's path (README -> migration.md §2 -> TLS -> QEMU interop)
# must stay covered: (page, heading prefix) that need runnable blocks.
REQUIRED = [('README.md', '## First steps'),
            ('docs/migration.md', '## 2. '),
            ('docs/migration.md', '### 4.1 '),
            ('docs/migration.md', '### 4.4 '),
            ('docs/migration.md', '## 7. '),
            ('docs/migration.md', '## 9. '),
            ('docs/qemu-users.md', '## QMP by hand')]


def check_coverage():
    """Every REQUIRED section has at least one runnable block."""
    for page, heading in REQUIRED:
        path = os.path.join(source_dir(), page)
        with open(path) as f:
            lines = f.read().splitlines()
        starts = [i for i, ln in enumerate(lines) if ln.startswith(heading)]
        check(starts, f'{page}: no section {heading!r}')
        level = heading.split()[0]
        end = next((i for i in range(starts[0] + 1, len(lines))
                    if lines[i].startswith('#') and
                    len(lines[i].split()[0]) <= len(level) and
                    set(lines[i].split()[0]) == {'#'}), len(lines))
        check(any(MARKER.match(ln) for ln in lines[starts[0]:end]),
              f'{page}: section {heading!r} has no runnable recipe')


def run_page(path, staged):
    dest, stage_prefix, bindir = staged
    name = os.path.relpath(path, source_dir())
    blocks = extract(path)
    if not blocks:
        return 0
    page = Page(name, stage_prefix, bindir)
    t0 = time.time()
    try:
        for attrs, info, text, line in blocks:
            where = f'{name}:{line}'
            need = attrs.get('needs')
            if need and not shutil.which(need):
                print(f'{where}: {need} is not installed, block left out')
                continue
            text = page.sub(text)
            if 'hmp' in attrs and attrs['hmp'] == 'stdin':
                page.run_hmp_stdin(text, where)
            elif 'hmp' in attrs or 'qmp' in attrs:
                path_ = page.sub(attrs.get('hmp') or attrs.get('qmp'))
                page.run_monitor(path_, text, where, 'hmp' in attrs)
            else:
                check(info in ('sh', 'bash', 'shell'),
                      f'{where}: a runnable block without hmp=/qmp= must '
                      f'be ```sh, not ```{info}')
                page.run_sh(text, where, 'background' in attrs)
    finally:
        page.close()
    print(f'{name}: {len(blocks)} runnable blocks ok '
          f'({time.time() - t0:.1f} s)')
    return len(blocks)


def main():
    skip_unless_built(guest=True)
    pages = [os.path.join(source_dir(), 'README.md')] + sorted(
        glob.glob(os.path.join(source_dir(), 'docs', '*.md')))
    only = os.environ.get('TERN_DOCS')
    if only:
        pages = [p for p in pages if p.endswith(only)]
    if not only:
        check_coverage()
    staged = stage()
    try:
        total = sum(run_page(p, staged) for p in pages)
    finally:
        shutil.rmtree(staged[0], ignore_errors=True)
    check(only or total >= 10, f'only {total} runnable blocks in the docs')
    print(f'ok: {total} runnable blocks')


if __name__ == '__main__':
    main()
