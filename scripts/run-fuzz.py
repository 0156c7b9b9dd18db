#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""run-fuzz.py: run every libFuzzer target of a -Dfuzzing=true build for a
bounded time (make fuzz; docs/testing.md).

For each tests/fuzz target found in FUZZ_BUILD/tests/fuzz/: its working
corpus FUZZ_BUILD/fuzz-corpus/NAME starts with the target's built-in
inputs (the plain build's `NAME --write-seeds`), libFuzzer also reads
the saved inputs of tests/fuzz/corpus/NAME, and runs for --seconds.  A
crash, leak, timeout or sanitizer report leaves its input in
FUZZ_BUILD/fuzz-artifacts/ and fails the run; the exit status is 0 only
if every target ran clean."""
import argparse
import os
import subprocess
import sys

SRC = os.path.abspath(os.path.join(os.path.dirname(__file__), '..'))


def targets(fuzz_build, only):
    d = os.path.join(fuzz_build, 'tests', 'fuzz')
    names = sorted(n for n in os.listdir(d)
                   if n.startswith('fuzz-') and
                   os.access(os.path.join(d, n), os.X_OK) and
                   os.path.isfile(os.path.join(d, n)))
    return [n for n in names if not only or n in only]


def run_one(name, a):
    exe = os.path.join(a.fuzz_build, 'tests', 'fuzz', name)
    work = os.path.join(a.fuzz_build, 'fuzz-corpus', name)
    artifacts = os.path.join(a.fuzz_build, 'fuzz-artifacts')
    saved = os.path.join(SRC, 'tests', 'fuzz', 'corpus', name)
    os.makedirs(work, exist_ok=True)
    os.makedirs(artifacts, exist_ok=True)
    plain = os.path.join(a.plain_build, 'tests', 'fuzz', name)
    if os.path.exists(plain):
        subprocess.run([plain, '--write-seeds', work], check=True,
                       stdout=subprocess.DEVNULL)
    cmd = [exe, f'-max_total_time={a.seconds}', '-timeout=20',
           '-rss_limit_mb=2048', '-print_final_stats=1',
           f'-artifact_prefix={artifacts}/{name}-', work]
    if os.path.isdir(saved):
        cmd.append(saved)
    log = os.path.join(a.fuzz_build, 'fuzz-artifacts', f'{name}.log')
    env = dict(os.environ)
    env.setdefault('ASAN_OPTIONS', 'abort_on_error=1')
    env.setdefault('UBSAN_OPTIONS', 'print_stacktrace=1:halt_on_error=1')
    print(f'run-fuzz: {name} for {a.seconds} s (log {log})', flush=True)
    with open(log, 'wb') as f:
        rc = subprocess.run(cmd, stdout=f, stderr=subprocess.STDOUT,
                            env=env).returncode
    with open(log, 'rb') as f:
        tail = f.read().decode(errors='replace').splitlines()
    stats = [line for line in tail if line.startswith('stat::number_of_'
                                                      'executed_units')]
    if rc != 0:
        print(f'run-fuzz: {name} FAILED (exit {rc}); last lines of {log}:')
        print('\n'.join(tail[-30:]))
        print(f'run-fuzz: replay a reproducer with '
              f'{plain} {artifacts}/{name}-...; once fixed, add it to '
              f'tests/fuzz/corpus/{name}/')
        return False
    print(f'run-fuzz: {name} ok, {stats[0].split(":")[-1].strip() if stats else "?"}'
          f' inputs, corpus {len(os.listdir(work))} files')
    return True


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--fuzz-build', default='build-fuzz')
    ap.add_argument('--plain-build', default='build')
    ap.add_argument('--seconds', type=int, default=30)
    ap.add_argument('only', nargs='*', help='targets (default: all)')
    a = ap.parse_args()
    names = targets(a.fuzz_build, a.only)
    if not names:
        print('run-fuzz: no fuzz targets built', file=sys.stderr)
        return 1
    failed = [n for n in names if not run_one(n, a)]
    print(f'run-fuzz: {len(names) - len(failed)}/{len(names)} targets clean'
          + (f'; failed: {" ".join(failed)}' if failed else ''))
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
