#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Print 'tests: N passed, N failed[, N skipped]' from meson's testlog.json.

Exit status 1 if any test failed or the log is missing/empty."""
import json
import sys


def main():
    path = sys.argv[1] if len(sys.argv) > 1 else 'build/meson-logs/testlog.json'
    passed = failed = skipped = 0
    try:
        with open(path) as f:
            for line in f:
                line = line.strip()
                if not line:
                    continue
                r = json.loads(line)
                res = r.get('result')
                if res in ('OK', 'EXPECTEDFAIL'):
                    passed += 1
                elif res == 'SKIP':
                    skipped += 1
                else:
                    failed += 1
    except OSError as e:
        print(f'test-summary: {e}', file=sys.stderr)
        failed += 1
    line = f'tests: {passed} passed, {failed} failed'
    if skipped:
        line += f', {skipped} skipped'
    print(line)
    return 1 if failed or passed == 0 else 0


if __name__ == '__main__':
    sys.exit(main())
