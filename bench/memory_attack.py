#!/usr/bin/python3
"""Memory under attack: Ringmaster and redis-server 7.0 side by side, figures printed.

Each attack runs against a fresh server of each kind, started with the limit
the attack leans on, while a sampler watches the server from outside:
VmRSS from /proc/<pid>/status and used_memory from INFO memory every few
milliseconds, and the round trip of that INFO on a normal client's
connection (the server must keep answering it throughout). The figures are
peaks above the server's own figures just before the attack: RSS from VmHWM
(exact), used_memory as sampled (a spike shorter than ~10 ms can hide).

  huge-bulk-over-max  clients declare $1000000000, past proto-max-bulk-len
                      (512mb), then trickle bytes: each must get the protocol
                      error and be closed, nothing allocated for the
                      declared size.
  huge-bulk-trickle   clients declare $400000000 (allowed) and then send
                      12 MB of it in 64 KB pieces, past
                      client-query-buffer-limit 8mb: each must be closed at
                      the limit, so memory is bounded by clients x limit.
  slow-readers        clients pipeline GETs of a 512 KB value (50 MB of
                      replies each) and never read, with
                      client-output-buffer-limit normal 4mb 2mb 5: each must
                      be closed near 4 MB of pending output.
  idle-replicas       connections send SYNC and never read while a writer
                      streams 64 MB of writes, with client-output-buffer-limit
                      replica 16mb 8mb 5: each must be dropped once it is
                      16 MB behind.

Run: bench/memory_attack.py --ringmaster build/ringmaster [--attack NAME ...]
tests/integration/test_memory_attack.py runs the same attacks and checks
Ringmaster's peaks against the limits.
"""

import argparse
import os
import shutil
import socket
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "integration"))
import rmtest  # noqa: E402
from rmtest import RespConn, encode_command  # noqa: E402

MB = 1024 * 1024
REPLICA_WRITE_BYTES = 128 * MB  # what the writer sends while the replicas sit idle


def proc_status_bytes(pid, field):
    """A size from /proc/<pid>/status: VmRSS now, or VmHWM (the peak RSS so far,
    exact where sampling may miss a spike)."""
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    return 0


def info_field(conn, section, field):
    text = conn.call("INFO", section).decode()
    for line in text.split("\r\n"):
        if line.startswith(field + ":"):
            return int(line.split(":", 1)[1])
    raise KeyError(field)


class Sampler:
    """Peaks of RSS and used_memory, and the worst INFO round trip, in a thread."""

    def __init__(self, server):
        self.server = server
        self.conn = RespConn(server.port, timeout=10)
        self.base_rss = proc_status_bytes(server.proc.pid, "VmRSS")
        self.base_used = info_field(self.conn, "memory", "used_memory")
        self.peak_rss = self.base_rss
        self.peak_used = self.base_used
        self.worst_rtt = 0.0
        self.failure = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self):
        while not self._stop.is_set():
            try:
                rss = proc_status_bytes(self.server.proc.pid, "VmRSS")
                self.peak_rss = max(self.peak_rss, rss)
                t0 = time.monotonic()
                used = info_field(self.conn, "memory", "used_memory")
                self.worst_rtt = max(self.worst_rtt, time.monotonic() - t0)
                self.peak_used = max(self.peak_used, used)
            except Exception as e:  # reported by the caller
                self.failure = repr(e)
                return
            time.sleep(0.01)

    def stop(self):
        self._stop.set()
        self._thread.join(30)
        self.conn.close()
        if self.server.alive():
            self.peak_rss = max(self.peak_rss, proc_status_bytes(self.server.proc.pid, "VmHWM"))


def _connect(port):
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s


def _send_quietly(sock, data):
    """Send; return False once the server has closed the connection."""
    try:
        sock.sendall(data)
        return True
    except (BrokenPipeError, ConnectionResetError, socket.timeout):
        return False


def _parallel(targets):
    threads = [threading.Thread(target=t, daemon=True) for t in targets]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)


def _closed_by_server(sock, wait=2.0):
    """Whether the server closed `sock` (reading and discarding what it sent)."""
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        sock.settimeout(max(0.01, deadline - time.monotonic()))
        try:
            if not sock.recv(1 << 20):
                return True
        except ConnectionResetError:
            return True
        except socket.timeout:
            return False
    return False


# -- attacks: each returns the attackers' sockets (still open on our side) --------

def attack_huge_bulk_over_max(server, clients):
    socks = [_connect(server.port) for _ in range(clients)]

    def one(s):
        def run():
            if not _send_quietly(s, b"*2\r\n$4\r\nECHO\r\n$1000000000\r\n"):
                return
            for _ in range(20):
                if not _send_quietly(s, b"z" * 1024):
                    return
                time.sleep(0.01)
        return run
    _parallel([one(s) for s in socks])
    return socks


def attack_huge_bulk_trickle(server, clients):
    socks = [_connect(server.port) for _ in range(clients)]
    piece = b"y" * 65536

    def one(s):
        def run():
            if not _send_quietly(s, b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$400000000\r\n"):
                return
            for i in range(12 * MB // len(piece)):
                if not _send_quietly(s, piece):
                    return
                if i % 16 == 0:
                    time.sleep(0.005)
        return run
    _parallel([one(s) for s in socks])
    return socks


def attack_slow_readers(server, clients):
    with RespConn(server.port) as c:
        c.call("SET", "big", b"v" * (512 * 1024))
    socks = []
    for _ in range(clients):
        s = _connect(server.port)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 * 1024)
        socks.append(s)
    pipeline = encode_command("GET", "big") * 100
    _parallel([(lambda s=s: _send_quietly(s, pipeline)) for s in socks])
    time.sleep(1.0)  # let the server run them all
    return socks


def attack_idle_replicas(server, clients):
    with RespConn(server.port) as c:
        c.call("DEBUG", "POPULATE", "1000", "seed", "100")
    socks = []
    for _ in range(clients):
        s = _connect(server.port)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 * 1024)
        _send_quietly(s, b"SYNC\r\n")
        socks.append(s)
    time.sleep(1.0)  # the snapshot, then the replicas are streaming
    value = b"w" * (64 * 1024)
    with RespConn(server.port) as c:
        for i in range(REPLICA_WRITE_BYTES // len(value) // 64):
            c.send(encode_command("SET", "stream:%d" % (i % 32), value) * 64)
            for _ in range(64):
                c.read_reply()
    time.sleep(1.0)
    return socks


ATTACKS = {
    # name: (attack, clients, limit text, server directives, expected bound in bytes)
    "huge-bulk-over-max": (attack_huge_bulk_over_max, 50, "proto-max-bulk-len 512mb",
                           [], lambda n: 16 * MB),
    "huge-bulk-trickle": (attack_huge_bulk_trickle, 30, "client-query-buffer-limit 8mb",
                          ["--client-query-buffer-limit", "8mb"], lambda n: n * 8 * MB),
    "slow-readers": (attack_slow_readers, 40, "client-output-buffer-limit normal 4mb 2mb 5",
                     ["--client-output-buffer-limit", "normal 4mb 2mb 5"],
                     lambda n: n * (4 * MB + 512 * 1024)),
    "idle-replicas": (attack_idle_replicas, 8, "client-output-buffer-limit replica 16mb 8mb 5",
                      ["--client-output-buffer-limit", "replica 16mb 8mb 5",
                       "--repl-diskless-sync", "no", "--repl-backlog-size", "1mb"],
                      lambda n: n * 16 * MB),
}


def run_attack(binary, name, workdir, kind="server", scale=1):
    """Run one attack on a fresh server; return a dict of figures."""
    attack, clients, limit, directives, bound = ATTACKS[name]
    clients = max(2, clients // scale)
    server = rmtest.ServerProcess(binary, os.path.join(workdir, "%s-%s" % (kind, name)),
                                  name=kind, args=directives)
    server.start()
    try:
        sampler = Sampler(server)
        t0 = time.monotonic()
        socks = attack(server, clients)
        dropped = sum(1 for s in socks if _closed_by_server(s))
        elapsed = time.monotonic() - t0
        sampler.stop()
        with RespConn(server.port, timeout=10) as c:
            answers = c.call("PING") == b"PONG"
        for s in socks:
            s.close()
        return {
            "attack": name, "server": kind, "limit": limit, "clients": clients,
            "dropped": dropped, "seconds": elapsed, "bound": bound(clients),
            "rss_growth": sampler.peak_rss - sampler.base_rss,
            "used_growth": sampler.peak_used - sampler.base_used,
            "peak_rss": sampler.peak_rss, "peak_used": sampler.peak_used,
            "worst_rtt": sampler.worst_rtt, "sampler_failure": sampler.failure,
            "alive": server.alive(), "answers": answers,
        }
    finally:
        server.stop()


def table(rows):
    out = ["%-19s %-46s %-10s %12s %12s %8s %8s" % (
        "attack", "limit", "server", "peak RSS+", "used_mem+", "dropped", "max RTT")]
    for r in rows:
        out.append("%-19s %-46s %-10s %10.1fMB %10.1fMB %4d/%-3d %7.0fms" % (
            r["attack"], r["limit"], r["server"], r["rss_growth"] / MB, r["used_growth"] / MB,
            r["dropped"], r["clients"], r["worst_rtt"] * 1000))
    return "\n".join(out)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--ringmaster", default=os.environ.get("RINGMASTER_BIN", "build/ringmaster"))
    ap.add_argument("--redis", default=rmtest.redis_server_bin() or "redis-server")
    ap.add_argument("--attack", action="append", choices=sorted(ATTACKS))
    args = ap.parse_args()
    workdir = tempfile.mkdtemp(prefix="memory_attack.")
    rows = []
    try:
        for name in args.attack or list(ATTACKS):
            rows.append(run_attack(os.path.abspath(args.ringmaster), name, workdir, "ringmaster"))
            rows.append(run_attack(args.redis, name, workdir, "redis"))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    print(table(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
