#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""test-migration-kvm: the transports test with a KVM guest (the stress
ELF running in a real vCPU, dirty pages from KVM's dirty log).  tcp,
unix and file (save/restore); the destination guest keeps running its
page checks without a MISMATCH.  Skipped (77) when /dev/kvm cannot be
opened.
"""
import importlib.util
import os
import sys

os.environ['TERN_TEST_ACCEL'] = 'kvm'
HERE = os.path.dirname(os.path.abspath(__file__))
spec = importlib.util.spec_from_file_location(
    'transports', os.path.join(HERE, 'test-migration-transports.py'))
mod = importlib.util.module_from_spec(spec)
spec.loader.exec_module(mod)

if __name__ == '__main__':
    sys.argv[1:] = sys.argv[1:] or ['tcp', 'unix', 'file']
    sys.exit(mod.main())
