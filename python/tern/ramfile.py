# SPDX-License-Identifier: GPL-2.0-or-later
"""RAM contents for interop tests: files that back a -M none guest's
memory-backend-file, so the same bytes can be loaded into Tern and QEMU
and compared after a migration."""
import random

PAGE = 4096


def make_ram(path, size, seed, text=None):
    """Write size bytes of test RAM to path, page by page in a cycle:
    a zero page, a page of one repeated byte, [a page of text if text is
    given,] a random page (random.Random(seed))."""
    rnd = random.Random(seed)
    with open(path, 'wb') as f:
        for i in range(size // PAGE):
            kind = i % 4
            if kind == 0:
                f.write(bytes(PAGE))
            elif kind == 1:
                f.write(bytes([i & 0xff or 1]) * PAGE)
            elif kind == 2 and text is not None:
                f.write((text * (PAGE // len(text) + 1))[:PAGE])
            else:
                f.write(rnd.randbytes(PAGE))


def empty_ram(path, size):
    """Make path a sparse file of size zero bytes (a destination's RAM)."""
    with open(path, 'wb') as f:
        f.truncate(size)


def same_ram(a, b):
    """Do files a and b hold the same bytes?  (Read in 1 MiB pieces.)"""
    with open(a, 'rb') as fa, open(b, 'rb') as fb:
        while True:
            x, y = fa.read(1 << 20), fb.read(1 << 20)
            if x != y:
                return False
            if not x:
                return True
