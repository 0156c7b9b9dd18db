"""ternlib: helpers for two-process tests (stdlib only).

Starts build/tern (or QEMU) with a QMP socket, talks QMP, waits for
serial output, and cleans up.  Every test script imports this.

    from ternlib import Vm, build_dir, guest_elf, skip
    with Vm(['-accel', 'soft', '-kernel', guest_elf(), ...]) as vm:
        vm.qmp('query-status')
"""
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

SKIP = 77  # meson's "skipped" exit code


def build_dir():
    return os.environ.get('TERN_BUILD_DIR',
                          os.path.join(os.path.dirname(__file__), '..', '..', 'build'))


def source_dir():
    return os.environ.get('TERN_SOURCE_DIR',
                          os.path.join(os.path.dirname(__file__), '..', '..'))


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


def skip(reason):
    print(f'SKIP: {reason}')
    sys.exit(SKIP)


def skip_unless_built(guest=False):
    """Skip (exit 77) unless build/tern exists and, with guest, the
    stress guest ELF too."""
    for path in [tern_binary()] + ([guest_elf()] if guest else []):
        if not os.path.exists(path):
            skip(f'{path} is not built')


def free_port():
    s = socket.socket()
    s.bind(('127.0.0.1', 0))
    port = s.getsockname()[1]
    s.close()
    return port


class QMPError(Exception):
    def __init__(self, reply):
        self.reply = reply
        err = reply.get('error', {})
        self.cls = err.get('class')
        self.desc = err.get('desc')
        super().__init__(f"{self.cls}: {self.desc}")


class QMP:
    """A QMP client on a unix socket path."""

    def __init__(self, path, timeout=30.0):
        deadline = time.time() + timeout
        while True:
            try:
                self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                self.sock.connect(path)
                break
            except OSError:
                self.sock.close()
                if time.time() > deadline:
                    raise
                time.sleep(0.05)
        self.sock.settimeout(timeout)
        self.buf = b''
        self.events = []
        self.greeting = self._recv()
        self.cmd('qmp_capabilities')

    def _recv(self):
        while b'\n' not in self.buf:
            data = self.sock.recv(65536)
            if not data:
                raise EOFError('QMP connection closed')
            self.buf += data
        line, self.buf = self.buf.split(b'\n', 1)
        return json.loads(line)

    def send_raw(self, data):
        self.sock.sendall(data if isinstance(data, bytes) else data.encode())

    def recv_reply(self):
        """Next non-event message; events are kept in self.events."""
        while True:
            msg = self._recv()
            if 'event' in msg:
                self.events.append(msg)
                continue
            return msg

    def cmd_raw(self, name, args=None, id=None):
        req = {'execute': name}
        if args is not None:
            req['arguments'] = args
        if id is not None:
            req['id'] = id
        self.send_raw(json.dumps(req) + '\n')
        return self.recv_reply()

    def cmd(self, name, **args):
        """Run a command; return its 'return' value or raise QMPError."""
        reply = self.cmd_raw(name, {k.replace('_', '-'): v for k, v in args.items()} or None)
        if 'error' in reply:
            raise QMPError(reply)
        return reply['return']

    def hmp(self, line):
        return self.cmd('human-monitor-command', command_line=line)

    def wait_event(self, name, timeout=60.0, pred=None):
        deadline = time.time() + timeout
        while True:
            for i, ev in enumerate(self.events):
                if ev['event'] == name and (pred is None or pred(ev)):
                    return self.events.pop(i)
            left = deadline - time.time()
            if left <= 0:
                raise TimeoutError(f'event {name} not seen')
            self.sock.settimeout(left)
            try:
                msg = self._recv()
            finally:
                self.sock.settimeout(30.0)
            if 'event' in msg:
                self.events.append(msg)

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


class Vm:
    """A tern (or qemu, binary=qemu_binary()) process with QMP and a serial log."""

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
                                     stdout=self.stderr_f, stderr=self.stderr_f,
                                     env=env)
        self.qmp = QMP(self.qmp_path) if qmp else None

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
        """Wait until text appears in the serial log after offset start."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            out = self.serial()
            if text in out[start:]:
                return out
            if self.proc.poll() is not None:
                break
            time.sleep(0.05)
        raise TimeoutError(f'{self.name}: {text!r} not in serial output:\n'
                           f'{self.serial()[-2000:]}\nstderr:\n{self.stderr()[-2000:]}')

    def wait_exit(self, timeout=30.0):
        return self.proc.wait(timeout)

    def kill(self):
        if self.qmp:
            self.qmp.close()
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()
        self.stderr_f.close()
        if self.own_tmp:
            shutil.rmtree(self.tmpdir, ignore_errors=True)


def check(cond, msg):
    if not cond:
        raise AssertionError(msg)


# ---- ELF helpers (MACHINE) ---------------------------------------------

def tiny_multiboot_elf(path, code, load=0x100000):
    """Write a minimal multiboot v1 ELF32 whose entry runs `code` (bytes,
    32-bit protected mode, flat segments).  Returns path."""
    import struct
    mb = struct.pack('<III', 0x1BADB002, 0, (-0x1BADB002) & 0xffffffff)
    hdr_len = 52 + 32
    total = hdr_len + len(mb) + len(code)
    entry = load + hdr_len + len(mb)
    eh = b'\x7fELF' + bytes([1, 1, 1, 0]) + bytes(8)
    eh += struct.pack('<HHIIIIIHHHHHH', 2, 3, 1, entry, 52, 0, 0, 52, 32,
                      1, 40, 0, 0)
    ph = struct.pack('<IIIIIIII', 1, 0, load, load, total, total, 7, 0x1000)
    with open(path, 'wb') as f:
        f.write(eh + ph + mb + code)
    return path


# Guest code snippets for tiny_multiboot_elf (hand-assembled, 32-bit).
def code_serial_puts(text):
    """mov dx, 0x3f8; then for each byte: mov al, c; out dx, al."""
    out = bytes.fromhex('66baf803')
    for c in text.encode():
        out += bytes([0xb0, c, 0xee])
    return out


def code_debug_exit(value):
    """mov dx, 0x501; mov al, value; out dx, al; then hlt forever."""
    return bytes.fromhex('66ba0105') + bytes([0xb0, value & 0xff, 0xee]) + \
        CODE_HLT_LOOP


CODE_HLT_LOOP = bytes.fromhex('f4ebfd')      # hlt; jmp hlt
CODE_UD2 = bytes.fromhex('0f0b')             # #UD with no IDT: triple fault


def elf_load_segments(path):
    """PT_LOAD segments of an ELF32/ELF64 little-endian file as a list of
    dicts (paddr, vaddr, offset, filesz, memsz), plus the header fields
    e_type, e_machine.  Raises ValueError on a malformed file."""
    import struct
    with open(path, 'rb') as f:
        data = f.read()
    if data[:4] != b'\x7fELF' or data[5] != 1:
        raise ValueError('not a little-endian ELF file')
    if data[4] == 2:
        (e_type, e_machine, _, _, e_phoff, _, _, _, e_phentsize,
         e_phnum) = struct.unpack_from('<HHIQQQIHHH', data, 16)
        fmt, keys = '<IIQQQQQQ', ('type', 'flags', 'offset', 'vaddr',
                                  'paddr', 'filesz', 'memsz', 'align')
    else:
        (e_type, e_machine, _, _, e_phoff, _, _, _, e_phentsize,
         e_phnum) = struct.unpack_from('<HHIIIIIHHH', data, 16)
        fmt, keys = '<IIIIIIII', ('type', 'offset', 'vaddr', 'paddr',
                                  'filesz', 'memsz', 'flags', 'align')
    segs = []
    for i in range(e_phnum):
        ph = dict(zip(keys, struct.unpack_from(fmt, data,
                                               e_phoff + i * e_phentsize)))
        if ph['type'] == 1:
            segs.append(ph)
    return {'type': e_type, 'machine': e_machine, 'segments': segs,
            'size': len(data)}


# ---- migration helpers (MIG) ----

def wait_migration(vm, timeout=50.0, want=('completed',)):
    """Poll query-migrate until its status is in want; raise on
    failed/cancelled (unless wanted) or timeout.  Returns the info."""
    deadline = time.time() + timeout
    info = {}
    while time.time() < deadline:
        info = vm.cmd('query-migrate')
        status = info.get('status')
        if status in want:
            return info
        if status in ('failed', 'cancelled'):
            raise AssertionError(f'{vm.name}: migration {status}: {info}')
        time.sleep(0.05)
    raise AssertionError(f'{vm.name}: migration not {want} after '
                         f'{timeout}s: {info}')


def stress_args(accel='soft', append='mem=16M-48M rate=16 report_ms=250',
                mem='64M', extra=()):
    """Command line for a pc-lite stress guest under accel."""
    return ['-accel', accel, '-M', 'pc-lite', '-m', mem,
            '-kernel', guest_elf(), '-append', append] + list(extra)


def accels():
    """Accelerators to test: soft always, kvm when /dev/kvm opens."""
    return ['soft'] + (['kvm'] if have_kvm() else [])
