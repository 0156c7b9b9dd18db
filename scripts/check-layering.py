#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""check-layering.py: refuse #include lines that cross Tern's layers.

Tern is built in layers (see docs/architecture.md): the base libraries
(util, qom, io, crypto, qapi) know nothing of the machine; migration
knows the system layer's public API (include/sysemu/, include/qom, ...)
but nothing of the accelerators or the devices.  The rules:

  1. util/ qom/ io/ crypto/ qapi/ and their public headers
     (include/qemu, include/qom, include/io, include/crypto, include/qapi)
     include nothing from migration, system, monitor, hw or accel.
  2. migration/ and include/migration include nothing from hw or accel.
     What belongs to an accelerator: everything under accel/ and the
     accelerator-specific headers in include/sysemu (sysemu/kvm.h).
     Migration asks "the accelerator" through sysemu/accel.h, which hides
     which one runs.

A quoted include is resolved the way the compiler does (beside the file
first, then include/), so relative paths ("../hw/x.h") are caught too.
Prints one line per violation and exits 1 if there is any.

    scripts/check-layering.py [SRCDIR]
"""
import os
import re
import sys

BASE_LAYERS = ["util", "qom", "io", "crypto", "qapi"]
BASE_HEADERS = ["include/" + d for d in ["qemu", "qom", "io", "crypto", "qapi"]]

# Public header folders and the layer they belong to.
HEADER_LAYER = {
    "include/migration": "migration",
    "include/sysemu": "system",
    "include/monitor": "monitor",
    "include/hw": "hw",
    "include/accel": "accel",
}

# Headers in include/sysemu that belong to an accelerator, not to the
# system layer (rule 2).
ACCEL_HEADERS = {"include/sysemu/kvm.h"}

RULES = [
    (BASE_LAYERS + BASE_HEADERS,
     {"migration", "system", "monitor", "hw", "accel"}),
    (["migration", "include/migration"], {"hw", "accel"}),
]

INCLUDE_RE = re.compile(r'^\s*#\s*include\s+"([^"]+)"')


def layer_of(path):
    """The layer a repository-relative path belongs to, or None."""
    if path in ACCEL_HEADERS:
        return "accel"
    for prefix, layer in HEADER_LAYER.items():
        if path.startswith(prefix + "/"):
            return layer
    top = path.split("/", 1)[0]
    if top in ("migration", "system", "monitor", "hw", "accel"):
        return top
    return None


def resolve(srcdir, src, name):
    """Repository-relative path the quoted include name refers to."""
    beside = os.path.normpath(os.path.join(os.path.dirname(src), name))
    if os.path.exists(os.path.join(srcdir, beside)):
        return beside
    return os.path.normpath(os.path.join("include", name))


def sources(srcdir, folder):
    root = os.path.join(srcdir, folder)
    for dirpath, _, names in os.walk(root):
        for n in sorted(names):
            if n.endswith((".c", ".h")):
                yield os.path.relpath(os.path.join(dirpath, n), srcdir)


def main():
    srcdir = sys.argv[1] if len(sys.argv) > 1 else "."
    bad = 0
    for folders, forbidden in RULES:
        for folder in folders:
            for src in sources(srcdir, folder):
                with open(os.path.join(srcdir, src), errors="replace") as f:
                    for lineno, line in enumerate(f, 1):
                        m = INCLUDE_RE.match(line)
                        if not m:
                            continue
                        target = resolve(srcdir, src, m.group(1))
                        layer = layer_of(target)
                        if layer in forbidden:
                            print("%s:%d: includes %s (%s layer)"
                                  % (src, lineno, m.group(1), layer))
                            bad += 1
    if bad:
        print("check-layering: %d include(s) cross a layer "
              "(see scripts/check-layering.py)" % bad)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
