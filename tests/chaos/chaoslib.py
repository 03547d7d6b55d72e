"""The pieces the chaos scenarios share: a cluster of servers and fault
proxies that always gets cleaned up, a write load, sync counters and the
final convergence check.

Servers are started as the integration tests start them (rmtest.ServerProcess:
loopback, free ports, PR_SET_PDEATHSIG, bounded waits); proxies are
faultproxy.py processes with the same parent-death signal. Every wait here
has a deadline.
"""

import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))

import rmtest  # noqa: E402
from repl_helpers import info, wait_for  # noqa: E402

PYTHON = "/usr/bin/python3"


class ScenarioFailure(Exception):
    """A property the scenario promises did not hold."""


def check(cond, what):
    if not cond:
        raise ScenarioFailure(what)


class LineControl:
    """The control channel of faultproxy.py and faultfs.py: one command a
    line, one reply line each ("OK ..." or "ERR ..."); needs self.sock,
    self.buf and self.name."""

    def cmd(self, line):
        self.sock.sendall(line.encode() + b"\n")
        while b"\n" not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise RuntimeError("%s closed its control socket" % self.name)
            self.buf += chunk
        reply, self.buf = self.buf.split(b"\n", 1)
        reply = reply.decode()
        if not reply.startswith("OK"):
            raise RuntimeError("%s: %s -> %s" % (self.name, line, reply))
        return reply[3:]


class FaultProxy(LineControl):
    """A faultproxy.py process in front of a master."""

    def __init__(self, workdir, upstream_port, name="proxy"):
        self.name = name
        self.port = rmtest.free_port()
        self.control_port = rmtest.free_port()
        self.log_path = os.path.join(workdir, "%s.log" % name)
        self.proc = subprocess.Popen(
            [PYTHON, os.path.join(HERE, "faultproxy.py"), "--listen", str(self.port),
             "--upstream", str(upstream_port), "--control", str(self.control_port),
             "--log", self.log_path],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=open(
                self.log_path + ".err", "ab"), preexec_fn=rmtest._die_with_parent)
        self.sock = None
        deadline = time.monotonic() + 10
        while True:
            try:
                self.sock = socket.create_connection(("127.0.0.1", self.control_port), timeout=5)
                break
            except OSError:
                if time.monotonic() > deadline or self.proc.poll() is not None:
                    raise RuntimeError("%s did not start" % name)
                time.sleep(0.02)
        self.buf = b""
        self.faults = 0

    def fault(self, line):
        self.faults += 1
        return self.cmd(line)

    def stats(self):
        return json.loads(self.cmd("stats"))

    def heal(self):
        """Every fault off: links flow freely again."""
        for line in ("random off", "disarm", "up", "resume", "delay 0", "throttle 0"):
            self.cmd(line)

    def stop(self):
        if self.proc.poll() is None:
            try:
                self.cmd("quit")
            except (OSError, RuntimeError):
                pass
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)
        if self.sock:
            self.sock.close()


class Cluster:
    """Servers and proxies of one scenario run, all stopped by close()."""

    def __init__(self, keep=False):
        self.base = tempfile.mkdtemp(prefix="rm-chaos-")
        self.keep = keep
        self.servers = []
        self.proxies = []
        self.mounts = []  # FaultFs mounts, unmounted after the servers stopped
        self.killed = set()  # servers this run killed on purpose (by id)
        self.crashes = []

    def start(self, kind, name, *args, workdir=None, port=None, config_file=None,
              whole_config=False):
        """A server of `kind` (ringmaster, redis, sentinel). A `config_file`
        comes before the standard directives (port, dir, ...) and `args`;
        with `whole_config` the file is the whole configuration (its port
        too: pass `port`), as a deployment that Sentinel rewrites has it."""
        binary = {"ringmaster": rmtest.ringmaster_bin, "redis": rmtest.redis_server_bin,
                  "sentinel": rmtest.redis_sentinel_bin}[kind]()
        if not binary:
            raise RuntimeError("no %s binary (set RINGMASTER_BIN)" % kind)
        wd = workdir or os.path.join(self.base, name)
        srv = rmtest.ServerProcess(binary, wd, name=name, args=args, port=port,
                                   config_file=config_file, standard=not whole_config)
        srv.whole_config = whole_config
        srv.kind = kind
        srv.extra = args
        srv.tls_port = None  # the caller sets it when it gave one
        self.servers.append(srv)
        srv.start()
        return srv

    def proxy(self, upstream, name):
        p = FaultProxy(self.base, upstream.port if hasattr(upstream, "port") else upstream, name)
        self.proxies.append(p)
        return p

    def faultfs(self, name):
        """A FaultFs mount under this run's dir (raises FaultFsUnavailable)."""
        fs = FaultFs(self.base, os.path.join(self.base, name + "-backing"),
                     os.path.join(self.base, name), name)
        self.mounts.append(fs)
        return fs

    def kill9(self, srv):
        srv.expect_exit()
        srv.proc.kill()
        srv.wait_exit(10)
        self.killed.add(id(srv))

    def restart(self, srv, *args, loaded=False):
        """The same server (binary, port, dir, arguments) started again;
        with `loaded`, also done loading its RDB (PONG, not -LOADING)."""
        if srv.alive():
            raise RuntimeError("%s is still running" % srv.name)
        srv.stop()
        new = self.start(srv.kind, srv.name, *(args or srv.extra), workdir=srv.workdir,
                         port=srv.port, config_file=srv.config_file,
                         whole_config=srv.whole_config)
        new.tls_port = srv.tls_port
        self.servers.remove(srv)
        if loaded:
            wait_for("%s done loading" % new.name, lambda: call(new, "PING") == b"PONG", 60)
        return new

    def check_crashes(self):
        """Servers that died without being killed, and sanitizer reports."""
        out = []
        for s in self.servers:
            if not s.alive() and not s.exit_expected:
                out.append("%s died (exit %s)\n%s" % (s.name, s.proc.returncode, s.log_tail()))
            rep = s.sanitizer_report()
            if rep:
                out.append("%s: sanitizer report\n%s" % (s.name, rep))
        return out

    def close(self):
        problems = self.check_crashes()
        for p in self.proxies:
            p.stop()
        for s in self.servers:
            if s.proc is not None:
                died = not s.alive() and not s.exit_expected
                s.stop()
                if not died and s.stop_problem:
                    problems.append("%s %s" % (s.name, s.stop_problem))
        for fs in self.mounts:
            fs.stop()
        if not self.keep and not problems:
            shutil.rmtree(self.base, ignore_errors=True)
        return problems


def call(srv, *args, timeout=10.0):
    with srv.raw(timeout=timeout) as c:
        return c.call(*args)


class SyncCounter:
    """sync_full / sync_partial_ok / sync_partial_err summed over masters,
    carried across a master's restart (its counters start at zero again)."""

    FIELDS = ("sync_full", "sync_partial_ok", "sync_partial_err")

    def __init__(self):
        self.carried = dict.fromkeys(self.FIELDS, 0)
        self.last = {}

    def read(self, srv):
        st = info(srv, "stats")
        now = {f: int(st.get(f, 0)) for f in self.FIELDS}
        self.last[srv.name] = now
        return now

    def bank(self, srv):
        """Call before a master dies or stops being one: keep its counts."""
        now = self.last.get(srv.name)
        try:
            now = self.read(srv)
        except (OSError, rmtest.ConnectionClosed):
            pass
        if now:
            for f in self.FIELDS:
                self.carried[f] += now[f]
        self.last.pop(srv.name, None)

    def total(self, masters):
        out = dict(self.carried)
        for m in masters:
            now = self.read(m)
            for f in self.FIELDS:
                out[f] += now[f]
        return out


class WriteLoad(threading.Thread):
    """Pipelined writes of every type on the master, in batches, until stopped.

    Each batch ends with INCR chaos:ctr; `acked` is the last value it
    returned, `in_doubt` how many INCRs were sent without a reply since then
    (a batch cut by a fault). With `wait_replicas` every batch is followed by
    WAIT n 200 and `replicated` is the highest counter value WAIT confirmed on
    that many replicas: the promise a failover must keep.
    """

    def __init__(self, port, seed, batch=50, value_size=(8, 200), keys=5000, pause=0.005,
                 wait_replicas=0):
        super().__init__(daemon=True)
        self.port = port
        self.rng = random.Random(seed)
        self.batch = batch
        self.value_size = value_size
        self.keys = keys
        self.pause = pause
        self.wait_replicas = wait_replicas
        self.acked = 0
        self.in_doubt = 0
        self.replicated = 0
        self.batches = 0
        self.errors = 0
        self.stopping = threading.Event()
        self.paused = threading.Event()
        self.lock = threading.Lock()

    def retarget(self, port):
        with self.lock:
            self.port = port

    def commands(self):
        r = self.rng
        out = []
        for _ in range(self.batch):
            k = r.randrange(self.keys)
            v = os.urandom(r.randint(*self.value_size) // 2).hex() or "x"
            op = r.randrange(8)
            if op < 3:
                out.append(("SET", "chaos:s:%d" % k, v))
            elif op == 3:
                out.append(("HSET", "chaos:h:%d" % (k % 100), "f%d" % k, v))
            elif op == 4:
                out.append(("ZADD", "chaos:z:%d" % (k % 50), r.randrange(10 ** 6), "m%d" % k))
            elif op == 5:
                out.append(("SADD", "chaos:set:%d" % (k % 50), k))
            elif op == 6:
                out.append(("RPUSH", "chaos:l:%d" % (k % 20), v))
                out.append(("LTRIM", "chaos:l:%d" % (k % 20), -200, -1))
            else:
                out.append(("DEL", "chaos:s:%d" % k))
        if r.random() < 0.05:
            out.append(("EXPIRE", "chaos:s:%d" % r.randrange(self.keys), 100000))
        out.append(("INCR", "chaos:ctr"))
        return out

    def run(self):
        conn = None
        while not self.stopping.is_set():
            if self.paused.is_set():
                time.sleep(0.02)
                continue
            try:
                if conn is None:
                    with self.lock:
                        port = self.port
                    conn = rmtest.RespConn(port, timeout=5.0)
                cmds = self.commands()
                conn.send(b"".join(rmtest.encode_command(*c) for c in cmds))
                self.in_doubt += 1
                last = None
                for _ in cmds:
                    last = conn.read_reply()[1]
                if isinstance(last, int):
                    self.acked = last
                    self.in_doubt = 0
                else:
                    self.errors += 1
                    conn.close()
                    conn = None
                    time.sleep(0.1)
                    continue
                if self.wait_replicas:
                    n = conn.call("WAIT", self.wait_replicas, 200)
                    if isinstance(n, int) and n >= self.wait_replicas:
                        self.replicated = self.acked
                self.batches += 1
            except (OSError, rmtest.ConnectionClosed, ValueError):
                self.errors += 1
                if conn:
                    conn.close()
                conn = None
                time.sleep(0.1)
                continue
            if self.pause:
                time.sleep(self.pause)
        if conn:
            conn.close()

    def stop(self):
        self.stopping.set()
        self.join(timeout=30)


def link_fault(proxy, kind, rng, stall_s=(0.1, 2.0), delay_ms=(20, 300), hold_s=(0.5, 2.0)):
    """Apply a link fault through `proxy`: cut, reset, halfclose (towards
    the connecting side), halfclose-master, stall (lifted after `stall_s`
    seconds) or delay (`delay_ms`, lifted after `hold_s` seconds). False
    for any other kind (the caller's own)."""
    if kind in ("cut", "reset"):
        proxy.fault(kind)
    elif kind == "halfclose":
        proxy.fault("halfclose replica")
    elif kind == "halfclose-master":
        proxy.fault("halfclose master")
    elif kind == "stall":
        proxy.fault("stall")
        time.sleep(rng.uniform(*stall_s))
        proxy.cmd("resume")
    elif kind == "delay":
        proxy.fault("delay %d" % rng.randint(*delay_ms))
        time.sleep(rng.uniform(*hold_s))
        proxy.cmd("delay 0")
    else:
        return False
    return True


def wait_offsets(master, replicas, timeout=60.0):
    """Wait until every replica's link is up and its offset equals the
    master's; returns that offset."""
    def synced():
        m = int(info(master)["master_repl_offset"])
        for r in replicas:
            i = info(r)
            if i.get("master_link_status") != "up" or int(i["master_repl_offset"]) != m:
                return None
        return m
    try:
        off = wait_for("replicas in sync with %s" % master.name, synced, timeout)
    except AssertionError as e:
        raise ScenarioFailure("%s; %s" % (e, "; ".join(
            "%s: %s" % (r.name, {k: v for k, v in info(r).items()
                                 if k in ("master_link_status", "master_repl_offset",
                                          "master_sync_in_progress")})
            for r in replicas)))
    return off


def wait_converged(master, replicas, timeout=60.0):
    """wait_offsets, then DEBUG DIGEST of every replica equal to the
    master's and the offsets equal again. The master must have no writer."""
    wait_offsets(master, replicas, timeout)
    want = call(master, "DEBUG", "DIGEST")
    check(want != b"0" * 40, "the master's dataset is empty: nothing to compare")
    for r in replicas:
        got = call(r, "DEBUG", "DIGEST")
        check(got == want, "DEBUG DIGEST of %s %r != %s's %r" % (r.name, got, master.name, want))
    # The offsets again, after the digests: the master's PINGs move both, so
    # this waits for them to meet again instead of reading them once.
    return wait_offsets(master, replicas, timeout)


def counter_on(srv):
    v = call(srv, "GET", "chaos:ctr")
    return int(v) if v else 0


def check_counter(master, load):
    """Every acknowledged INCR is on the master: returns the writes lost."""
    have = counter_on(master)
    if have < load.acked:
        return load.acked - have
    check(have <= load.acked + load.in_doubt,
          "chaos:ctr %d is past every INCR sent (%d acked, %d in doubt)" %
          (have, load.acked, load.in_doubt))
    return 0


def mount_tmpfs(path, size):
    """Mount a tmpfs of `size` at `path`; False when this host cannot."""
    os.makedirs(path, exist_ok=True)
    if os.geteuid() != 0 or shutil.which("mount") is None:
        return False
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=%s" % size, "tmpfs", path],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=10)
    return r.returncode == 0


def remount(path, opts):
    subprocess.run(["mount", "-o", "remount,%s" % opts, path], check=True, timeout=10,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def umount(path):
    subprocess.run(["umount", "-l", path], timeout=10, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)


class FaultFsUnavailable(Exception):
    """This host cannot mount a FUSE filesystem (the reason is the message)."""


class FaultFs(LineControl):
    """A faultfs.py passthrough mount of `backing` at `mountpoint`, steered
    over its control port. stop() always unmounts, even when the process
    died: fusermount3 -u, then umount -l."""

    def __init__(self, workdir, backing, mountpoint, name="faultfs"):
        why = faultfs_unavailable()
        if why:
            raise FaultFsUnavailable(why)
        os.makedirs(backing, exist_ok=True)
        os.makedirs(mountpoint, exist_ok=True)
        self.name = name
        self.mountpoint = os.path.realpath(mountpoint)
        self.control_port = rmtest.free_port()
        self.log_path = os.path.join(workdir, "%s.log" % name)
        self.proc = subprocess.Popen(
            [PYTHON, os.path.join(HERE, "faultfs.py"), "--source", backing, "--mount",
             self.mountpoint, "--control", str(self.control_port), "--log", self.log_path],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            preexec_fn=rmtest._die_with_parent)
        self.sock = None
        self.buf = b""
        self.faults = 0
        deadline = time.monotonic() + 10
        while not (self.mounted() and self._connect()):
            if time.monotonic() > deadline or self.proc.poll() is not None:
                self.stop()
                raise FaultFsUnavailable("faultfs did not mount: %s" % self.log_tail())
            time.sleep(0.05)

    def _connect(self):
        try:
            self.sock = socket.create_connection(("127.0.0.1", self.control_port), timeout=10)
            return True
        except OSError:
            return False

    def mounted(self):
        with open("/proc/self/mounts") as f:
            return any(line.split()[1] == self.mountpoint and "fuse" in line.split()[2]
                       for line in f)

    def log_tail(self):
        try:
            with open(self.log_path, errors="replace") as f:
                return f.read()[-2000:]
        except OSError:
            return ""

    def fail(self, op, glob, err):
        """`op` (fsync, fdatasync, sync, fsyncdir, write) on names matching
        `glob` fails with `err` (EIO, ENOSPC, ...) until heal()."""
        self.faults += 1
        return self.cmd("fail %s %s %s" % (op, glob, err))

    def heal(self):
        self.cmd("heal")

    def stats(self):
        return json.loads(self.cmd("stats"))

    def stop(self):
        if self.sock:
            try:
                self.cmd("quit")
            except (OSError, RuntimeError):
                pass
            self.sock.close()
            self.sock = None
        for argv in (["fusermount3", "-u", self.mountpoint], ["umount", "-l", self.mountpoint]):
            if not self.mounted():
                break
            subprocess.run(argv, timeout=10, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=5)


def faultfs_unavailable():
    """Why faultfs cannot run here, or None."""
    if os.geteuid() != 0:
        return "not root"
    if not os.path.exists("/dev/fuse"):
        return "no /dev/fuse"
    if shutil.which("umount") is None:
        return "no umount"
    r = subprocess.run([PYTHON, "-c", "import fusepy"], stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL, timeout=30)
    if r.returncode != 0:
        return "python3-fusepy is not installed (tests/install-deps.sh)"
    return None


def send_signal(srv, sig):
    os.kill(srv.proc.pid, sig)


SIGSTOP = signal.SIGSTOP
SIGCONT = signal.SIGCONT
