# SPDX-License-Identifier: GPL-2.0-or-later
"""A Tern (or QEMU) process with a QMP socket and a serial log, and where
the build puts the binaries."""
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time

from .qmp import QMP

_REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..'))


def build_dir():
    return os.environ.get('TERN_BUILD_DIR', os.path.join(_REPO, 'build'))


def source_dir():
    return os.environ.get('TERN_SOURCE_DIR', _REPO)


def tern_binary():
    return os.path.join(build_dir(), 'tern')


def guest_elf():
    return os.path.join(build_dir(), 'guest', 'stress.elf')


def qemu_binary():
    return shutil.which('qemu-system-x86_64')


def have_kvm():
    try:
        fd = os.open('/dev/kvm', os.O_RDWR)
        os.close(fd)
        return True
    except OSError:
        return False


def free_port():
    s = socket.socket()
    s.bind(('127.0.0.1', 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Vm:
    """A tern (or qemu, binary=qemu_binary()) process with QMP and a
    serial log in tmpdir (a fresh one, removed by kill(), by default).
    The constructor returns once QMP is negotiated; kill() (or leaving a
    with block) SIGKILLs the process."""

    def __init__(self, args, binary=None, name='vm', qmp=True, serial=True,
                 tmpdir=None, env=None):
        self.binary = binary or tern_binary()
        self.name = name
        self.own_tmp = tmpdir is None
        self.tmpdir = tmpdir or tempfile.mkdtemp(prefix=f'tern-{name}-')
        self.qmp_path = os.path.join(self.tmpdir, f'{name}.qmp')
        self.serial_path = os.path.join(self.tmpdir, f'{name}.serial')
        self.stderr_path = os.path.join(self.tmpdir, f'{name}.stderr')
        cmd = [self.binary]
        if qmp:
            cmd += ['-qmp', f'unix:{self.qmp_path},server=on,wait=off']
        if serial:
            cmd += ['-serial', f'file:{self.serial_path}']
        cmd += ['-display', 'none'] + list(args)
        self.cmdline = cmd
        self.stderr_f = open(self.stderr_path, 'wb')
        self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL,
                                     stdout=self.stderr_f,
                                     stderr=self.stderr_f, env=env)
        self.qmp = None
        if qmp:
            try:
                self.qmp = QMP(self.qmp_path)
            except BaseException:
                self.kill()
                raise

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.kill()

    def cmd(self, name, **args):
        return self.qmp.cmd(name, **args)

    def hmp(self, line):
        return self.qmp.hmp(line)

    def serial(self):
        try:
            with open(self.serial_path, 'rb') as f:
                return f.read().decode(errors='replace')
        except OSError:
            return ''

    def stderr(self):
        with open(self.stderr_path, 'rb') as f:
            return f.read().decode(errors='replace')

    def wait_serial(self, text, timeout=30.0, start=0):
        """Wait until text appears in the serial log after offset start,
        and the line holding it is complete (so a caller's regex over the
        rest of that line sees all of it)."""
        deadline = time.time() + timeout
        seen = None     # when text was first seen on an unfinished line
        while time.time() < deadline:
            out = self.serial()
            at = out.find(text, start)
            if at >= 0:
                if (text.endswith('\n') or '\n' in out[at + len(text):]
                        or self.proc.poll() is not None):
                    return out
                seen = seen or time.time()
                if time.time() - seen > 2.0:    # a line never finished
                    return out
            elif self.proc.poll() is not None:
                break
            time.sleep(0.05)
        raise TimeoutError(f'{self.name}: {text!r} not in serial output:\n'
                           f'{self.serial()[-2000:]}\nstderr:\n'
                           f'{self.stderr()[-2000:]}')

    def wait_exit(self, timeout=30.0):
        return self.proc.wait(timeout)

    def kill(self):
        if self.qmp:
            self.qmp.close()
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()
        if not self.stderr_f.closed:
            self.stderr_f.close()
        if self.own_tmp:
            shutil.rmtree(self.tmpdir, ignore_errors=True)
