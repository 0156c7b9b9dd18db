# SPDX-License-Identifier: GPL-2.0-or-later
"""A private libvirtd (+ virtlogd) driving Tern, for tests and benchmarks.

Each Libvirtd runs in its own mount namespace (unshare -m) where scratch
directories are bind-mounted over /run/libvirt, /var/lib/libvirt,
/var/cache/libvirt, /var/log/libvirt and /etc/libvirt, so the host's
libvirt (if any) is never touched.  qemu.conf runs domains as root with
security_driver "none", no cgroups and no per-domain namespace.  Clients
reach the daemon as qemu+unix:///system?socket=SCRATCH/run/libvirt-sock
(virsh migrate between two Libvirtd objects uses the same URIs).  stop()
(or leaving a with block) kills the domains' processes, libvirtd and
virtlogd by PID.  See docs/libvirt.md.

    with Libvirtd('/tmp/x', 'src') as d:
        d.virsh('define', xml_path)
"""
import os
import shutil
import signal
import subprocess
import time
import uuid

LIBVIRT_DIRS = ['/run/libvirt', '/var/lib/libvirt', '/var/cache/libvirt',
                '/var/log/libvirt', '/etc/libvirt']


def why_not_usable():
    """None if a private libvirtd can run here, else the reason."""
    for prog in ('libvirtd', 'virtlogd', 'virsh', 'unshare'):
        if not shutil.which(prog) and not os.path.exists('/usr/sbin/' + prog):
            return f'{prog} is not installed (scripts/install-deps.sh)'
    if os.geteuid() != 0:
        return 'libvirtd in a private mount namespace needs root'
    r = subprocess.run(['unshare', '-m', 'true'], capture_output=True)
    if r.returncode != 0:
        return ('cannot create a mount namespace (unshare -m: '
                f'{r.stderr.decode().strip()})')
    return None


def _sbin(prog):
    return shutil.which(prog) or '/usr/sbin/' + prog


class VirshError(Exception):
    def __init__(self, args, rc, out, err):
        super().__init__(f'virsh {" ".join(args)}: exit {rc}: {err.strip()}')
        self.rc, self.out, self.err = rc, out, err


class Libvirtd:
    """libvirtd + virtlogd in a private mount namespace under root/name.
    tls_dir: a directory with ca-cert.pem, server-*.pem, client-*.pem for
    migrate --tls.  port_base: start of this daemon's migration ports.
    cache_dir: where /var/cache/libvirt lives (kept between runs, it
    saves libvirt probing every emulator again; default: under root)."""

    def __init__(self, root, name, port_base=49152, tls_dir=None,
                 debug=False, cache_dir=None):
        self.name = name
        self.dir = os.path.join(root, name)
        self.host_uuid = str(uuid.uuid4())
        self.dirs = {d: os.path.join(self.dir, d.strip('/').replace('/', '-'))
                     for d in LIBVIRT_DIRS}
        if cache_dir:
            self.dirs['/var/cache/libvirt'] = cache_dir
        for d in self.dirs.values():
            os.makedirs(d, exist_ok=True)
        self.sock = os.path.join(self.dirs['/run/libvirt'], 'libvirt-sock')
        self.uri = f'qemu+unix:///system?socket={self.sock}'
        self.log = os.path.join(self.dir, 'libvirtd.log')
        self._write_config(port_base, tls_dir, debug)
        self.proc = None
        self._start()

    def _write_config(self, port_base, tls_dir, debug):
        etc = self.dirs['/etc/libvirt']
        conf = [f'host_uuid = "{self.host_uuid}"',
                'unix_sock_group = "root"', 'unix_sock_rw_perms = "0770"',
                'auth_unix_rw = "none"', 'auth_unix_ro = "none"',
                f'log_outputs = "{1 if debug else 3}:file:{self.log}"']
        if debug:
            conf.append('log_filters = "1:qemu 1:libvirt 4:object 4:json '
                        '4:event 3:util 3:rpc 3:access"')
        with open(os.path.join(etc, 'libvirtd.conf'), 'w') as f:
            f.write('\n'.join(conf) + '\n')
        qemu = ['security_driver = "none"', 'user = "root"', 'group = "root"',
                'cgroup_controllers = [ ]', 'namespaces = [ ]',
                'remember_owner = 0',
                f'migration_port_min = {port_base}',
                f'migration_port_max = {port_base + 63}',
                'stdio_handler = "logd"']
        if tls_dir:
            qemu.append(f'migrate_tls_x509_cert_dir = "{tls_dir}"')
            qemu.append('migrate_tls_x509_verify = 1')
        with open(os.path.join(etc, 'qemu.conf'), 'w') as f:
            f.write('\n'.join(qemu) + '\n')
        with open(os.path.join(etc, 'virtlogd.conf'), 'w') as f:
            f.write(f'log_outputs = "3:file:{self.dir}/virtlogd.log"\n')

    def _start(self):
        # A missing mount point (no libvirt ever ran here) is made empty.
        binds = ' '.join(f'mkdir -p {dst} && mount --bind {src} {dst} &&'
                         for dst, src in self.dirs.items())
        vpid = os.path.join(self.dir, 'virtlogd.pid')
        script = (f'mount --make-rprivate / && {binds} '
                  f'{{ {_sbin("virtlogd")} -p {self.dir}/virtlogd.run.pid '
                  f'& echo $! > {vpid}; }} && '
                  f'exec {_sbin("libvirtd")} -p {self.dir}/libvirtd.pid')
        self.stderr = open(os.path.join(self.dir, 'libvirtd.stderr'), 'wb')
        self.proc = subprocess.Popen(['unshare', '-m', 'sh', '-c', script],
                                     stdin=subprocess.DEVNULL,
                                     stdout=self.stderr, stderr=self.stderr)
        deadline = time.time() + 60
        while time.time() < deadline:
            if self.proc.poll() is not None:
                break
            if os.path.exists(self.sock):
                r = subprocess.run(['virsh', '-c', self.uri, 'version'],
                                   capture_output=True, timeout=60)
                if r.returncode == 0:
                    return
            time.sleep(0.1)
        out = self.tail()
        self.stop()
        raise RuntimeError(f'libvirtd {self.name} did not start:\n{out}')

    def tail(self, n=3000):
        text = ''
        for path in (os.path.join(self.dir, 'libvirtd.stderr'), self.log):
            try:
                with open(path, 'rb') as f:
                    text += f.read().decode(errors='replace')[-n:]
            except OSError:
                pass
        return text

    def qemu_log(self, domain):
        """libvirt's log of the domain's emulator (command line, stderr)."""
        path = os.path.join(self.dirs['/var/log/libvirt'], 'qemu',
                            f'{domain}.log')
        try:
            with open(path, 'rb') as f:
                return f.read().decode(errors='replace')
        except OSError:
            return ''

    def virsh(self, *args, check=True, timeout=120):
        """Run virsh against this daemon; its stdout (VirshError if
        check and it fails)."""
        cmd = ['virsh', '-q', '-c', self.uri] + [str(a) for a in args]
        r = subprocess.run(cmd, capture_output=True, timeout=timeout)
        out, err = r.stdout.decode(), r.stderr.decode()
        if check and r.returncode != 0:
            raise VirshError(list(args), r.returncode, out, err)
        return out if check else (r.returncode, out, err)

    def virsh_bg(self, *args):
        """Start virsh in the background; a Popen with text pipes."""
        return subprocess.Popen(['virsh', '-q', '-c', self.uri] +
                                [str(a) for a in args],
                                stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)

    def domain_pid(self, domain):
        path = os.path.join(self.dirs['/run/libvirt'], 'qemu',
                            f'{domain}.pid')
        try:
            with open(path) as f:
                return int(f.read().strip())
        except (OSError, ValueError):
            return None

    def _pids(self):
        pids = []
        qdir = os.path.join(self.dirs['/run/libvirt'], 'qemu')
        if os.path.isdir(qdir):
            for n in os.listdir(qdir):
                if n.endswith('.pid'):
                    pid = self.domain_pid(n[:-4])
                    if pid:
                        pids.append(pid)
        try:
            with open(os.path.join(self.dir, 'virtlogd.pid')) as f:
                pids.append(int(f.read().strip()))
        except (OSError, ValueError):
            pass
        return pids

    def stop(self):
        """Kill the domains' emulators, libvirtd and virtlogd by PID."""
        pids = self._pids()
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        if not self.stderr.closed:
            self.stderr.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


def domain_xml(name, kernel, cmdline, serial_path, emulator, mem_mib=128,
               acpi=False, dom_uuid=None, virt_type='kvm'):
    """The domain docs/libvirt.md describes: Tern's pc-lite with the
    stress guest as its kernel and its UART appended to serial_path.
    virt_type 'qemu' makes libvirt ask for TCG, which Tern runs on its
    soft vCPU."""
    features = '<features><acpi/></features>' if acpi else ''
    uid = f'<uuid>{dom_uuid}</uuid>' if dom_uuid else ''
    return f"""<domain type='{virt_type}'>
  <name>{name}</name>{uid}
  <memory unit='MiB'>{mem_mib}</memory>
  <vcpu>1</vcpu>
  <os>
    <type arch='x86_64' machine='pc-lite'>hvm</type>
    <kernel>{kernel}</kernel>
    <cmdline>{cmdline}</cmdline>
  </os>
  {features}
  <on_poweroff>destroy</on_poweroff>
  <devices>
    <emulator>{emulator}</emulator>
    <controller type='usb' model='none'/>
    <memballoon model='none'/>
    <serial type='file'>
      <source path='{serial_path}' append='on'/>
      <target port='0'/>
    </serial>
  </devices>
</domain>
"""
