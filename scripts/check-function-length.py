#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""List C functions longer than a limit (default 80 lines, body braces
included) in the given files; exit 1 if any.  A function starts at a line
that begins in column 0 with an identifier and ends with ')' or ') {' ...
followed by a '{' line in column 0, and ends at the next '}' in column 0
(QEMU/kernel brace style, which clang-format enforces here)."""
import re
import sys


def functions(path):
    lines = open(path, encoding='utf-8', errors='replace').read().split('\n')
    start = None
    name = None
    for i, line in enumerate(lines):
        if line == '{' and i > 0:
            # walk back to the line holding the name
            j = i - 1
            while j > 0 and not re.match(r'^[A-Za-z_]', lines[j]):
                j -= 1
            m = re.search(r'(\w+)\s*\(', lines[j])
            if m is None and j + 1 < i:
                m = re.search(r'(\w+)\s*\(', lines[j + 1])
            if m and not lines[j].startswith(('typedef', 'struct', 'enum',
                                              'union', 'static const',
                                              'const')):
                start, name = j, m.group(1)
        elif line.startswith('}') and start is not None:
            yield name, start + 1, i - start + 1
            start = None


def main():
    limit = 80
    args = sys.argv[1:]
    if args and args[0].startswith('--max='):
        limit = int(args[0][6:])
        args = args[1:]
    bad = 0
    for path in args:
        for name, line, length in functions(path):
            if length > limit:
                print(f'{path}:{line}: {name}() is {length} lines '
                      f'(limit {limit})')
                bad += 1
    return 1 if bad else 0


if __name__ == '__main__':
    sys.exit(main())
