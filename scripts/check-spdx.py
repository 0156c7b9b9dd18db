#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Check (or with --fix, add) the SPDX licence line at the top of every
source file git tracks: the first line, or the second after a '#!' line.
Exit 1 listing the files without one."""
import subprocess
import sys

LICENCE = 'GPL-2.0-or-later'
TAG = 'SPDX-License-Identifier: '
C_LIKE = ('.c', '.h', '.S', '.ld')
HASH_LIKE = ('.py', '.sh', 'meson.build', 'Makefile', 'configure',
             'scripts/tern-migrate', '.ci/run')


def comment_for(path):
    if path.endswith(C_LIKE):
        return f'/* {TAG}{LICENCE} */'
    if path.endswith(HASH_LIKE):
        return f'# {TAG}{LICENCE}'
    return None


def has_tag(lines):
    head = lines[:2]
    return any(TAG in line for line in head)


def main():
    fix = '--fix' in sys.argv[1:]
    files = subprocess.run(['git', 'ls-files'], capture_output=True,
                           text=True, check=True).stdout.split()
    missing = []
    for path in files:
        line = comment_for(path)
        if line is None:
            continue
        with open(path, encoding='utf-8') as f:
            lines = f.read().split('\n')
        if has_tag(lines):
            continue
        if not fix:
            missing.append(path)
            continue
        at = 1 if lines and lines[0].startswith('#!') else 0
        lines.insert(at, line)
        with open(path, 'w', encoding='utf-8') as f:
            f.write('\n'.join(lines))
    for path in missing:
        print(f'{path}: no SPDX licence line ({TAG}{LICENCE})')
    return 1 if missing else 0


if __name__ == '__main__':
    sys.exit(main())
