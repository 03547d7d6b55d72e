"""Harness for Ringmaster's integration tests.

Every test here talks to real server processes over 127.0.0.1: the Ringmaster
binary named by RINGMASTER_BIN and, for the differential tests, a real
redis-server 7.0 as the reference. This module owns their lifecycle:

  ServerProcess  starts one server with its stdout and stderr in a log file,
                 waits until it answers PING, and stops it (SHUTDOWN NOSAVE,
                 then SIGTERM, then SIGKILL, each bounded in time). The log is
                 what a failing test shows, and what the sanitizer check reads.
  RespConn       a minimal RESP2 client on a raw socket. It returns each reply
                 as the exact bytes the server wrote, so two servers can be
                 compared byte for byte (error wording included), and parses
                 the same bytes when a test needs the value.

Nothing here may wait without a bound: every socket has a timeout and every
process wait has one, so a hung server fails a test instead of hanging CTest.
Children get PR_SET_PDEATHSIG so a killed pytest never leaves servers behind.

RINGMASTER_SANITIZE="address" (ASan/UBSan) or "thread" (TSan) means the binary
runs under a sanitizer, about three times slower: tests scale their counts with
scaled() and their waits with SLOWDOWN.
"""

import ctypes
import os
import shutil
import signal
import socket
import subprocess
import time

SANITIZE = os.environ.get("RINGMASTER_SANITIZE", "")
SLOWDOWN = 3 if SANITIZE else 1
READY_TIMEOUT = 10.0 * SLOWDOWN
STOP_TIMEOUT = 10.0 * SLOWDOWN

# Lines a sanitizer writes to the server's stderr when it finds a bug.
SANITIZER_MARKERS = (
    "ERROR: AddressSanitizer",
    "ERROR: LeakSanitizer",
    "runtime error:",
    "WARNING: ThreadSanitizer",
    "ERROR: ThreadSanitizer",
)


def scaled(count, minimum=1):
    """Scale a workload count down when the binary runs under a sanitizer."""
    if SANITIZE:
        return max(minimum, count // 4)
    return count


def diff_seeds(defaults):
    """The seeds a differential test runs: RM_DIFF_SEEDS=3,4 or `defaults`."""
    env = os.environ.get("RM_DIFF_SEEDS", "")
    if env:
        return [int(s) for s in env.split(",") if s.strip()]
    return defaults


def free_port():
    """A TCP port on 127.0.0.1 that nobody listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def ringmaster_bin():
    """Absolute path of the binary under test, or None when not configured."""
    path = os.environ.get("RINGMASTER_BIN", "")
    return path or None


def redis_server_bin():
    return shutil.which("redis-server")


def redis_sentinel_bin():
    return shutil.which("redis-sentinel")


def _die_with_parent():
    # Runs in the child between fork and exec: if pytest is killed (CTest
    # timeout), the kernel sends the server SIGKILL instead of orphaning it.
    libc = ctypes.CDLL(None, use_errno=True)
    pr_set_pdeathsig = 1
    libc.prctl(pr_set_pdeathsig, signal.SIGKILL, 0, 0, 0)


class RespError(Exception):
    """An error reply (-ERR ...), carrying the message without the '-'."""

    def __init__(self, message):
        super().__init__(message)
        self.message = message

    def __eq__(self, other):
        return isinstance(other, RespError) and other.message == self.message

    def __hash__(self):
        return hash(self.message)

    def __repr__(self):
        return "RespError(%r)" % self.message


class ConnectionClosed(Exception):
    """The server closed the connection while a reply was expected."""


def flat_pairs(reply):
    """A reply of pairs as the flat list RESP2 gives: RESP3 sends
    HRANDFIELD WITHVALUES, ZRANDMEMBER WITHSCORES and ZRANGE WITHSCORES as
    an array of 2-element arrays. Anything else comes back unchanged."""
    if isinstance(reply, list) and reply and all(
            isinstance(p, list) and len(p) == 2 for p in reply):
        return [x for p in reply for x in p]
    return reply


def encode_command(*args):
    """Encode arguments as a RESP multibulk request."""
    out = [b"*%d\r\n" % len(args)]
    for a in args:
        if isinstance(a, int):
            a = str(a).encode()
        elif isinstance(a, str):
            a = a.encode()
        out.append(b"$%d\r\n%s\r\n" % (len(a), a))
    return b"".join(out)


# A server's plain port -> (its tls-port, an ssl.SSLContext): while a port
# is listed, RespConn(port) connects to the TLS port instead, so a test
# written against plain connections runs unchanged over TLS (test_tls.py
# runs the differential tests that way).
TLS_ROUTES = {}
# Ports whose RespConn connections switch to RESP3 (HELLO 3) as they open:
# the differential tests run unchanged in RESP3 that way (test_resp3.py).
RESP3_ROUTES = {}


class RespConn:
    """A blocking RESP2 connection that keeps every reply's raw bytes."""

    def __init__(self, port=None, host="127.0.0.1", timeout=10.0, unix_path=None):
        self.timeout = timeout * SLOWDOWN
        route = unix_path or port
        if unix_path:
            self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            self.sock.settimeout(self.timeout)
            self.sock.connect(unix_path)
        else:
            tls = TLS_ROUTES.get(port)
            if tls:
                port = tls[0]
            self.sock = socket.create_connection((host, port), timeout=self.timeout)
            self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            if tls:
                self.sock = tls[1].wrap_socket(self.sock, server_hostname="localhost")
        self.buf = b""
        self.pos = 0
        if RESP3_ROUTES.get(route):
            hello = self.call("HELLO", "3")
            if isinstance(hello, RespError):
                raise ConnectionError("HELLO 3 refused: %s" % hello.message)

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def send(self, data):
        self.sock.sendall(data)

    def send_command(self, *args):
        self.sock.sendall(encode_command(*args))

    def _fill(self):
        chunk = self.sock.recv(65536)
        if not chunk:
            raise ConnectionClosed("server closed the connection")
        if self.pos:
            self.buf = self.buf[self.pos:]
            self.pos = 0
        self.buf += chunk

    def _line(self):
        while True:
            end = self.buf.find(b"\r\n", self.pos)
            if end >= 0:
                line = self.buf[self.pos:end + 2]
                self.pos = end + 2
                return line
            self._fill()

    def _exact(self, n):
        while len(self.buf) - self.pos < n:
            self._fill()
        data = self.buf[self.pos:self.pos + n]
        self.pos += n
        return data

    def _reply(self, pieces):
        line = self._line()
        pieces.append(line)
        kind, body = line[:1], line[1:-2]
        if kind == b"+":
            return body
        if kind == b"-":
            return RespError(body.decode("utf-8", "replace"))
        if kind == b":":
            return int(body)
        if kind == b"$":
            n = int(body)
            if n < 0:
                return None
            data = self._exact(n + 2)
            pieces.append(data)
            return data[:-2]
        if kind == b"*":
            n = int(body)
            if n < 0:
                return None
            return [self._reply(pieces) for _ in range(n)]
        # RESP3 (after HELLO 3), parsed to what the RESP2 form would give,
        # so tests written for RESP2 read either: a map as its flat list of
        # pairs, a set as a list, a double as its text, a boolean as 0/1.
        if kind == b"_":
            return None
        if kind in (b",", b"("):
            return body
        if kind == b"#":
            return 1 if body == b"t" else 0
        if kind in (b"~", b">"):
            return [self._reply(pieces) for _ in range(int(body))]
        if kind == b"%":
            return [self._reply(pieces) for _ in range(2 * int(body))]
        if kind == b"=":
            data = self._exact(int(body) + 2)
            pieces.append(data)
            return data[4:-2]
        if kind == b"|":
            for _ in range(2 * int(body)):
                self._reply(pieces)
            return self._reply(pieces)
        raise ValueError("not a RESP reply: %r" % line)

    def read_reply(self):
        """Read one reply: (raw bytes, parsed value). Errors are values."""
        pieces = []
        value = self._reply(pieces)
        return b"".join(pieces), value

    def call_raw(self, *args):
        self.send_command(*args)
        return self.read_reply()[0]

    def call(self, *args):
        """Send a command and return its parsed reply (errors as RespError)."""
        self.send_command(*args)
        return self.read_reply()[1]

    def pending(self):
        """Bytes already received but not consumed by a reply."""
        return self.buf[self.pos:]


def _spawn_args(config_file, args):
    cmd = []
    if config_file:
        cmd.append(str(config_file))
    for a in args:
        cmd.append(str(a))
    return cmd


class ServerProcess:
    """One server process (Ringmaster or redis-server) under test.

    `args` are command-line directives appended after the standard ones
    (port, bind, dir, no persistence, DEBUG enabled, log to stdout); pass
    standard=False to give the whole command line yourself, in which case
    `port` must say where the server will listen.
    """

    def __init__(self, binary, workdir, name="server", args=(), config_file=None,
                 standard=True, port=None, password=None, env=None):
        self.binary = binary
        self.workdir = str(workdir)
        self.name = name
        self.port = port if port is not None else free_port()
        self.password = password
        self.config_file = config_file
        os.makedirs(self.workdir, exist_ok=True)
        self.log_path = os.path.join(self.workdir, "%s.log" % name)
        argv = []
        if standard:
            argv += ["--port", self.port, "--bind", "127.0.0.1", "--dir", self.workdir,
                     "--save", "", "--appendonly", "no", "--enable-debug-command", "yes",
                     "--logfile", "", "--daemonize", "no"]
        argv += list(args)
        self.argv = [binary] + _spawn_args(config_file, argv)
        self.env = dict(os.environ)
        if env:
            self.env.update(env)
        self.proc = None
        self.exit_expected = False
        self.stop_problem = None
        self._log = None

    # -- lifecycle -------------------------------------------------------

    def start(self, wait=True):
        self._log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(self.argv, stdin=subprocess.DEVNULL, stdout=self._log,
                                     stderr=subprocess.STDOUT, cwd=self.workdir, env=self.env,
                                     preexec_fn=_die_with_parent)
        if wait:
            self.wait_ready()
        return self

    def wait_ready(self, timeout=READY_TIMEOUT):
        """Wait until the server answers PING (any reply, NOAUTH included)."""
        deadline = time.monotonic() + timeout
        last = "no attempt"
        while time.monotonic() < deadline:
            if not self.alive():
                raise RuntimeError("%s exited with code %s before answering PING\n%s" %
                                   (self.name, self.proc.returncode, self.log_tail()))
            try:
                with RespConn(self.port, timeout=1.0) as c:
                    c.send(b"PING\r\n")
                    line = c._line()
                    if line[:1] in (b"+", b"-"):
                        return
                    last = "unexpected reply %r" % line
            except (OSError, ConnectionClosed) as e:
                last = repr(e)
            time.sleep(0.02)
        raise RuntimeError("%s did not answer PING within %.0fs (%s)\n%s" %
                           (self.name, timeout, last, self.log_tail()))

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def expect_exit(self):
        """Tell the teardown check that this test ends the process on purpose."""
        self.exit_expected = True

    def wait_exit(self, timeout=STOP_TIMEOUT):
        """Wait for the process to exit; return its exit code or None."""
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return None

    def stop(self):
        """SHUTDOWN NOSAVE, then SIGTERM, then SIGKILL; returns the exit code.

        A server that needs the signals, or exits with a non-zero code after
        SHUTDOWN NOSAVE, has a bug: stop_problem says which, for the report.
        """
        if self.proc is None:
            return None
        was_running = self.alive()
        self.exit_expected = True
        if was_running:
            try:
                with RespConn(self.port, timeout=2.0) as c:
                    if self.password:
                        c.send_command("AUTH", self.password)
                    c.send_command("SHUTDOWN", "NOSAVE")
                    try:
                        c.read_reply()
                    except (OSError, ConnectionClosed):
                        pass
            except OSError:
                pass
            code = self.wait_exit(STOP_TIMEOUT)
            if code is None:
                self.stop_problem = "did not exit within %.0fs of SHUTDOWN NOSAVE" % STOP_TIMEOUT
                self.proc.terminate()
                if self.wait_exit(5.0 * SLOWDOWN) is None:
                    self.proc.kill()
                    self.proc.wait(timeout=10)
            elif code != 0:
                self.stop_problem = "exited with code %d after SHUTDOWN NOSAVE" % code
        if self._log:
            self._log.close()
            self._log = None
        return self.proc.returncode

    # -- clients ----------------------------------------------------------

    def client(self, **kw):
        """A redis-py client with bytes replies."""
        import redis
        kw.setdefault("socket_timeout", 10.0 * SLOWDOWN)
        kw.setdefault("socket_connect_timeout", 5.0 * SLOWDOWN)
        if self.password and "password" not in kw:
            kw["password"] = self.password
        return redis.Redis(host="127.0.0.1", port=self.port, decode_responses=False, **kw)

    def raw(self, timeout=10.0):
        """A raw RESP connection (authenticated when the server has a password)."""
        c = RespConn(self.port, timeout=timeout)
        if self.password:
            c.call("AUTH", self.password)
        return c

    # -- log --------------------------------------------------------------

    def log_text(self):
        if self._log:
            self._log.flush()
        try:
            with open(self.log_path, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except FileNotFoundError:
            return ""

    def log_tail(self, lines=40):
        text = self.log_text().splitlines()
        return "---- last %d lines of %s ----\n%s" % (
            min(lines, len(text)), self.log_path, "\n".join(text[-lines:]))

    def sanitizer_report(self):
        """The sanitizer's output in the log, or '' when there is none."""
        text = self.log_text()
        starts = [text.find(m) for m in SANITIZER_MARKERS if m in text]
        if not starts:
            return ""
        start = text.rfind("\n", 0, min(starts)) + 1
        return text[start:start + 6000]

    def wait_log(self, needle, timeout=5.0):
        """Wait until `needle` appears in the log; return whether it did."""
        deadline = time.monotonic() + timeout * SLOWDOWN
        while time.monotonic() < deadline:
            if needle in self.log_text():
                return True
            time.sleep(0.02)
        return needle in self.log_text()


def read_until_closed_or_quiet(sock, quiet=0.3, limit=5.0, until=None):
    """Collect what a server sends on a raw socket.

    Returns (bytes, closed): stops when the peer closes, when `until` (a
    bytes suffix) has arrived, when nothing arrives for `quiet` seconds, or
    after `limit` seconds in all.
    """
    quiet *= SLOWDOWN
    limit *= SLOWDOWN
    data = b""
    deadline = time.monotonic() + limit
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            return data, False
        sock.settimeout(min(quiet, left))
        try:
            chunk = sock.recv(65536)
        except socket.timeout:
            return data, False
        except ConnectionResetError:
            return data, True
        if not chunk:
            return data, True
        data += chunk
        if until is not None and data.endswith(until):
            return data, False
