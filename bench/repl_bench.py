#!/usr/bin/python3
"""Replication benchmark: the pairs a user chooses between, alternating in one
session: a Ringmaster master with two Ringmaster replicas against
redis-server with two redis-server replicas (--pairs rm/rm,redis/redis, the
default), and the mixed pairs (redis/rm: a Redis master with Ringmaster
replicas; rm/redis).

Per round and per pair (in the order given, so machine noise hits all alike):
  * master SET throughput (redis-benchmark -t set -P 16 -c 50) with 0, 1 and
    2 replicas attached;
  * replication lag in bytes (master_repl_offset minus each replica's),
    sampled every 100 ms during the 2-replica load: p50, p99, max;
  * under a load that does not saturate the machine (redis-benchmark -P 1,
    --light-n requests), once the replicas caught up again: the same lag
    in bytes, and lag by time (a probe key SET on
    the master every 100 ms, and the milliseconds from its reply until
    each replica shows it). On 2 cores the -P 16 load leaves the replicas
    short of CPU, so its lag mostly measures how much faster the master
    writes than a starved replica applies; the light load measures the
    delivery path itself. (The probe polls the replicas, so it stays out
    of the -P 16 load, whose conditions the issue fixes.)
  * at a fixed offered rate (--rate SET/s, open loop: batches sent on a
    fixed schedule whatever the server does, the same rate for every pair;
    by default half of redis/redis's full-speed 2-replica throughput in the
    first round): lag in bytes and by time, measured by ringmaster-bench
    (--bench; its PUBLISH probe every 10 ms gives hundreds of samples per
    replica), or as above when the tool is not built;
  * full-sync time: a fresh master holding --sync-mb of data (DEBUG POPULATE),
    both replicas attached at once, until both links are up and in sync;
    and the master's peak memory meanwhile (its RSS plus its snapshot
    child's private pages), also as growth over its RSS before the sync.

and the peak memory of the replicas while they load it.

Reported: medians over rounds, and each pair's ratio to the last pair given
(by default rm/rm against redis/redis; throughput: above 1.0 is better; lag,
sync time and memory: below 1.0 is better).

  bench/repl_bench.py [--ringmaster build/ringmaster] [-n 1000000] [--rounds 3]
                      [--pairs rm/rm,redis/redis] [--rate 0] [--sync-mb 2048]
                      [--csv out.csv] [--ringmaster-args "..."] [--tls]

--tls runs every replication link over TLS (the clients stay plain).
"""
import argparse
import csv
import json
import os
import select
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Conn:
    """A tiny blocking RESP client (enough for INFO, REPLICAOF, DEBUG)."""

    def __init__(self, port, timeout=600):
        self.s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.buf = b""

    def close(self):
        self.s.close()

    def _line(self):
        while b"\r\n" not in self.buf:
            chunk = self.s.recv(65536)
            if not chunk:
                raise ConnectionError("closed")
            self.buf += chunk
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def call(self, *args):
        out = b"*%d\r\n" % len(args)
        for a in args:
            a = str(a).encode()
            out += b"$%d\r\n%s\r\n" % (len(a), a)
        self.s.sendall(out)
        line = self._line()
        if line[:1] == b"$":
            n = int(line[1:])
            if n < 0:
                return None
            while len(self.buf) < n + 2:
                self.buf += self.s.recv(65536)
            data, self.buf = self.buf[:n], self.buf[n + 2:]
            return data
        if line[:1] == b"-":
            raise RuntimeError(line.decode())
        return line[1:]


def info(port, section="replication"):
    c = Conn(port, timeout=10)
    try:
        text = c.call("INFO", section).decode()
    finally:
        c.close()
    return dict(l.split(":", 1) for l in text.splitlines() if ":" in l and not l.startswith("#"))


def wait_ready(port, proc, timeout=20.0):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError("server exited early on port %d" % port)
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5) as s:
                s.sendall(b"PING\r\n")
                if s.recv(16).startswith(b"+PONG"):
                    return
        except OSError:
            pass
        time.sleep(0.05)
    raise RuntimeError("server on port %d not ready" % port)


# --tls: every server also listens on a tls-port with these files and sets
# tls-replication, and replicas are pointed at their master's tls-port, so
# the replication links are encrypted. The benchmark's own clients stay on
# the plain port: what is measured is what TLS costs replication.
TLS = {}


def make_tls_files(workdir):
    d = os.path.join(workdir, "tls")
    os.makedirs(d, exist_ok=True)

    def ssl(*a):
        subprocess.run(["openssl"] + list(a), cwd=d, check=True, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)
    ssl("req", "-x509", "-new", "-nodes", "-newkey", "rsa:2048", "-keyout", "ca.key", "-out",
        "ca.crt", "-days", "2", "-subj", "/CN=bench CA")
    ssl("req", "-new", "-nodes", "-newkey", "rsa:2048", "-keyout", "node.key", "-out",
        "node.csr", "-subj", "/CN=bench node")
    ssl("x509", "-req", "-in", "node.csr", "-CA", "ca.crt", "-CAkey", "ca.key",
        "-CAcreateserial", "-out", "node.crt", "-days", "2")
    TLS.update(cert=os.path.join(d, "node.crt"), key=os.path.join(d, "node.key"),
               ca=os.path.join(d, "ca.crt"))


class Server:
    def __init__(self, binary, workdir, name, extra=()):
        self.port = free_port()
        self.dir = os.path.join(workdir, name)
        os.makedirs(self.dir, exist_ok=True)
        cmd = [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
               "--appendonly", "no", "--dir", self.dir, "--enable-debug-command", "yes",
               "--daemonize", "no", "--logfile", ""] + list(extra)
        self.repl_port = self.port
        if TLS:
            self.repl_port = free_port()
            cmd += ["--tls-port", str(self.repl_port), "--tls-cert-file", TLS["cert"],
                    "--tls-key-file", TLS["key"], "--tls-ca-cert-file", TLS["ca"],
                    "--tls-replication", "yes"]
        self.log = open(os.path.join(self.dir, "server.log"), "w")
        self.proc = subprocess.Popen(cmd, stdout=self.log, stderr=subprocess.STDOUT, cwd=self.dir)
        wait_ready(self.port, self.proc)

    def call(self, *args):
        c = Conn(self.port)
        try:
            return c.call(*args)
        finally:
            c.close()

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


MASTER_ARGS = ("--repl-diskless-sync", "yes", "--repl-diskless-sync-delay", "0",
               "--repl-backlog-size", "64mb", "--client-output-buffer-limit", "replica", "0",
               "0", "0")
# The full sync gathers both replicas into one snapshot on either master:
# they start as soon as both asked (max-replicas), the delay is a fallback.
SYNC_ARGS = ("--repl-diskless-sync", "yes", "--repl-diskless-sync-delay", "5",
             "--repl-diskless-sync-max-replicas", "2", "--client-output-buffer-limit", "replica",
             "0", "0", "0")


def attach(replicas, master, wait_timeout=600):
    """Point the replicas at master; return seconds until all are in sync."""
    t0 = time.time()
    for r in replicas:
        r.call("REPLICAOF", "127.0.0.1", master.repl_port)
    caught_up(replicas, master, t0 + wait_timeout)
    return time.time() - t0


def caught_up(replicas, master, deadline):
    """Wait until every replica's link is up and its offset is the master's."""
    while time.time() < deadline:
        moff = int(info(master.port)["master_repl_offset"])
        done = True
        for r in replicas:
            i = info(r.port)
            if i.get("master_link_status") != "up" or int(i.get("master_repl_offset", -1)) < moff:
                done = False
                break
        if done:
            return
        time.sleep(0.02)
    raise RuntimeError("replicas did not catch up in time")


def detach(replicas):
    for r in replicas:
        r.call("REPLICAOF", "NO", "ONE")


def set_throughput(master, n, clients, pipeline):
    out = subprocess.run(["redis-benchmark", "-h", "127.0.0.1", "-p", str(master.port), "-t",
                          "set", "-n", str(n), "-c", str(clients), "-P", str(pipeline), "-r",
                          "100000", "-d", "64", "--csv", "-q"],
                         capture_output=True, text=True, timeout=600, check=True)
    for row in csv.reader(out.stdout.splitlines()):
        if row and row[0] == "SET":
            return float(row[1])
    raise RuntimeError("no SET line from redis-benchmark:\n" + out.stdout)


class FixedRateLoad:
    """Open-loop SET load at `rate` per second for `seconds`: every 10 ms one
    pipelined batch of rate/100 SETs goes out on each of 4 connections in
    turn, on schedule whatever the server does (a late tick sends its batch
    at once, so the offered total stays the rate); a thread per connection
    reads the replies away. Returns the SETs acknowledged per second."""

    TICK = 0.01

    def __init__(self, master, rate, seconds, conns=4):
        self.master, self.rate, self.seconds, self.nconn = master, rate, seconds, conns

    def run(self):
        per_tick = max(1, int(self.rate * self.TICK))
        socks = [socket.create_connection(("127.0.0.1", self.master.port), timeout=60)
                 for _ in range(self.nconn)]
        value = b"x" * 64
        batches = []
        for b in range(64):
            cmds = []
            for i in range(per_tick):
                key = b"key:%d" % ((b * per_tick + i) % 100000)
                cmds.append(b"*3\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$64\r\n%s\r\n"
                            % (len(key), key, value))
            batches.append(b"".join(cmds))
        acked = [0] * self.nconn
        sent = [0] * self.nconn
        done = threading.Event()

        def drain(i):
            buf = b""
            while not done.is_set() or acked[i] < sent[i]:
                # Wait with a bound, to see `done` even when no reply is due.
                if not select.select([socks[i]], [], [], 0.2)[0]:
                    continue
                try:
                    chunk = socks[i].recv(1 << 16)
                except OSError:
                    return
                if not chunk:
                    return
                buf += chunk
                n = buf.count(b"\r\n")
                acked[i] += n
                buf = buf[buf.rfind(b"\r\n") + 2:] if n else buf

        readers = [threading.Thread(target=drain, args=(i,), daemon=True)
                   for i in range(self.nconn)]
        for t in readers:
            t.start()
        t0 = time.perf_counter()
        ticks = int(self.seconds / self.TICK)
        for k in range(ticks):
            delay = t0 + k * self.TICK - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            i = k % self.nconn
            socks[i].sendall(batches[k % len(batches)])
            sent[i] += per_tick
        done.set()
        for t in readers:
            t.join(timeout=60)
        elapsed = time.perf_counter() - t0
        for sk in socks:
            sk.close()
        return sum(acked) / elapsed


class LagSampler(threading.Thread):
    """Samples master offset minus replica offsets every `period` seconds."""

    def __init__(self, master, replicas, period=0.1):
        super().__init__(daemon=True)
        self.master, self.replicas, self.period = master, replicas, period
        self.samples = []
        self.stop_flag = threading.Event()

    def run(self):
        while not self.stop_flag.is_set():
            try:
                moff = int(info(self.master.port)["master_repl_offset"])
                for r in self.replicas:
                    roff = int(info(r.port).get("master_repl_offset", 0))
                    self.samples.append(max(0, moff - roff))
            except (OSError, RuntimeError, ValueError):
                pass
            self.stop_flag.wait(self.period)

    def stop(self):
        self.stop_flag.set()
        self.join(timeout=5)


class TimeLagProbe(threading.Thread):
    """Lag by time: how long after the master acknowledged a write each
    replica shows it. Every `period` seconds, SET a probe key on the master
    and, from its reply on, poll each replica until it shows the new value.
    One sample per replica, in milliseconds."""

    def __init__(self, master, replicas, period=0.1, give_up=10.0):
        super().__init__(daemon=True)
        self.master, self.replicas = master, replicas
        self.period, self.give_up = period, give_up
        self.samples = []
        self.stop_flag = threading.Event()

    def run(self):
        mc = Conn(self.master.port, timeout=30)
        rcs = [Conn(r.port, timeout=30) for r in self.replicas]
        n = 0
        try:
            while not self.stop_flag.is_set():
                n += 1
                want = b"%d" % n
                mc.call("SET", "ringmaster-bench:lag-probe", n)
                t0 = time.perf_counter()
                waiting = set(range(len(rcs)))
                while waiting and time.perf_counter() - t0 < self.give_up:
                    for i in list(waiting):
                        if rcs[i].call("GET", "ringmaster-bench:lag-probe") == want:
                            self.samples.append((time.perf_counter() - t0) * 1000.0)
                            waiting.discard(i)
                    # Poll back to back for 2 ms (sub-ms resolution), then
                    # every ms, so a slow replica does not cost a whole core.
                    if waiting and time.perf_counter() - t0 > 0.002:
                        time.sleep(0.001)
                self.stop_flag.wait(self.period)
        except (OSError, RuntimeError, ConnectionError):
            pass
        finally:
            mc.close()
            for c in rcs:
                c.close()

    def stop(self):
        self.stop_flag.set()
        self.join(timeout=self.give_up + 5)


class MemorySampler(threading.Thread):
    """Peak memory of a master process and of its children (the snapshot
    child), sampled every `period` seconds from /proc: the master's RSS
    plus each child's private pages, which are what fork's copy-on-write
    and the child's own allocations cost beyond the shared dataset."""

    def __init__(self, pid, period=0.05):
        super().__init__(daemon=True)
        self.pid, self.period = pid, period
        self.peak_kb = 0
        self.stop_flag = threading.Event()

    @staticmethod
    def _field_kb(path, names):
        total = 0
        try:
            with open(path) as f:
                for line in f:
                    key = line.split(":", 1)[0]
                    if key in names:
                        total += int(line.split()[1])
        except OSError:
            pass
        return total

    def _children(self):
        try:
            with open("/proc/%d/task/%d/children" % (self.pid, self.pid)) as f:
                return [int(c) for c in f.read().split()]
        except OSError:
            return []

    def run(self):
        while not self.stop_flag.is_set():
            kb = self._field_kb("/proc/%d/status" % self.pid, ("VmRSS",))
            for c in self._children():
                kb += self._field_kb("/proc/%d/smaps_rollup" % c,
                                     ("Private_Clean", "Private_Dirty"))
            self.peak_kb = max(self.peak_kb, kb)
            self.stop_flag.wait(self.period)

    def stop(self):
        self.stop_flag.set()
        self.join(timeout=5)


def pct(values, p):
    if not values:
        return 0
    v = sorted(values)
    return v[min(len(v) - 1, int(round(p / 100.0 * (len(v) - 1))))]


def replica_peak_kb(replicas):
    return sum(MemorySampler._field_kb("/proc/%d/status" % r.proc.pid, ("VmHWM",))
               for r in replicas)


def one_round(pair, binary, replicas, workdir, args, rnd):
    res = {}
    kind = pair.split("/")[0]
    extra = tuple(args.ringmaster_args.split()) if kind == "rm" else ()
    name = pair.replace("/", "-")
    master = Server(binary, workdir, "%s-master-%d" % (name, rnd), MASTER_ARGS + extra)
    try:
        detach(replicas)
        res["set_0"] = set_throughput(master, args.n, args.clients, args.pipeline)
        attach(replicas[:1], master)
        res["set_1"] = set_throughput(master, args.n, args.clients, args.pipeline)
        attach(replicas, master)
        sampler = LagSampler(master, replicas)
        sampler.start()
        res["set_2"] = set_throughput(master, args.n, args.clients, args.pipeline)
        sampler.stop()
        res["lag_p50"] = pct(sampler.samples, 50)
        res["lag_p99"] = pct(sampler.samples, 99)
        res["lag_max"] = max(sampler.samples) if sampler.samples else 0
        # The light load starts from replicas that are in sync again.
        caught_up(replicas, master, time.time() + 600)
        sampler, probe = LagSampler(master, replicas), TimeLagProbe(master, replicas)
        sampler.start()
        probe.start()
        res["light_set"] = set_throughput(master, args.light_n, args.clients, 1)
        sampler.stop()
        probe.stop()
        res["light_p50"] = pct(sampler.samples, 50)
        res["light_p99"] = pct(sampler.samples, 99)
        res["light_ms_p50"] = pct(probe.samples, 50)
        res["light_ms_p99"] = pct(probe.samples, 99)
        # The same offered rate for every pair.
        if not args.rate:
            args.rate = int(res["set_2"] / 2) if pair == args.rate_from else 0
        if args.rate and os.access(args.bench, os.X_OK):
            caught_up(replicas, master, time.time() + 600)
            res.update(rate_with_tool(args, master, replicas, "%s-%d" % (name, rnd)))
        elif args.rate:
            caught_up(replicas, master, time.time() + 600)
            sampler, probe = LagSampler(master, replicas), TimeLagProbe(master, replicas)
            sampler.start()
            probe.start()
            res["rate_set"] = FixedRateLoad(master, args.rate, args.rate_seconds).run()
            sampler.stop()
            probe.stop()
            res["rate_p50"] = pct(sampler.samples, 50)
            res["rate_p99"] = pct(sampler.samples, 99)
            res["rate_ms_p50"] = pct(probe.samples, 50)
            res["rate_ms_p99"] = pct(probe.samples, 99)
        detach(replicas)
    finally:
        master.stop()
    # Full sync: a fresh master (a new history, so nothing can continue).
    master = Server(binary, workdir, "%s-sync-%d" % (name, rnd), SYNC_ARGS + extra)
    try:
        size = 1000
        keys = args.sync_mb * 1024 * 1024 // size
        master.call("DEBUG", "POPULATE", keys, "key", size)
        mem = MemorySampler(master.proc.pid)
        base_kb = MemorySampler._field_kb("/proc/%d/status" % master.proc.pid, ("VmRSS",))
        mem.start()
        res["sync_s"] = attach(replicas, master)
        mem.stop()
        res["sync_mem_mb"] = mem.peak_kb / 1024.0
        res["sync_extra_mb"] = max(0, mem.peak_kb - base_kb) / 1024.0
        # VmHWM: the replicas' own peak since they started, which is this
        # load's (they are restarted for every full sync, empty).
        res["replica_peak_mb"] = replica_peak_kb(replicas) / 1024.0
        detach(replicas)
    finally:
        master.stop()
    return res


def rate_with_tool(args, master, replicas, tag):
    """The fixed-rate phase through ringmaster-bench: its open-loop load
    (latency from the intended send time), lag in bytes every 100 ms and in
    time from a PUBLISH probe every 10 ms that each replica delivers when it
    applies it (hundreds of samples per replica, where the Python probe gets
    a few dozen). The worse replica's figures."""
    out = os.path.join(args.bench_out, tag)
    cmd = [args.bench, "--master", "127.0.0.1:%d" % master.port, "--rate", str(args.rate),
           "--duration", str(args.rate_seconds), "--out", out, "--quiet"]
    for r in replicas:
        cmd += ["--replica", "127.0.0.1:%d" % r.port]
    subprocess.run(cmd, capture_output=True, timeout=args.rate_seconds + 120, check=True)
    with open(os.path.join(out, "summary.json")) as f:
        s = json.load(f)
    worst = lambda unit, p: max(r["lag_" + unit][p] for r in s["replicas"])
    return {"rate_set": s["throughput"], "rate_p50": worst("bytes", "p50"),
            "rate_p99": worst("bytes", "p99"), "rate_ms_p50": worst("ms", "p50"),
            "rate_ms_p99": worst("ms", "p99")}


def start_replicas(kind, binary, workdir, tag):
    load = ("--repl-diskless-load", "disabled")
    return [Server(binary, workdir, "%s-replica-%s-%d" % (kind, tag, i), load) for i in range(2)]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--ringmaster", default=os.path.join(os.path.dirname(__file__), "..", "build",
                                                         "ringmaster"))
    ap.add_argument("--redis-server", default=shutil.which("redis-server"))
    ap.add_argument("-n", type=int, default=1000000, help="SET requests per measurement")
    ap.add_argument("-c", "--clients", type=int, default=50)
    ap.add_argument("-P", "--pipeline", type=int, default=16)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--light-n", type=int, default=300000,
                    help="SET requests of the unsaturated (-P 1) lag measurement")
    ap.add_argument("--sync-mb", type=int, default=2048, help="dataset size for the full sync")
    ap.add_argument("--csv", help="write every round's numbers here")
    ap.add_argument("--pairs", default="rm/rm,redis/redis",
                    help="master/replicas pairs to compare, the last one the reference "
                         "(rm or redis each side), e.g. rm/rm,redis/rm,rm/redis,redis/redis")
    ap.add_argument("--rate", type=int, default=0,
                    help="offered SET/s of the fixed-rate lag measurement (0: half of the "
                         "reference pair's 2-replica full-speed throughput)")
    ap.add_argument("--rate-seconds", type=float, default=10.0)
    ap.add_argument("--bench", default=os.path.join(os.path.dirname(__file__), "..", "build",
                                                     "ringmaster-bench"),
                    help="ringmaster-bench, for the fixed-rate phase (else a Python load)")
    ap.add_argument("--bench-out", default=tempfile.gettempdir() + "/repl-bench-rate",
                    help="where ringmaster-bench leaves each fixed-rate run's CSV and SVG")
    ap.add_argument("--ringmaster-args", default="",
                    help="extra arguments for the Ringmaster masters, e.g. "
                         "\"--repl-backpressure-lag 1mb\"")
    ap.add_argument("--tls", action="store_true",
                    help="replication links over TLS (certificates made with openssl)")
    args = ap.parse_args()
    args.ringmaster = os.path.abspath(args.ringmaster)

    workdir = tempfile.mkdtemp(prefix="repl-bench-")
    if args.tls:
        make_tls_files(workdir)
    binaries = {"rm": args.ringmaster, "redis": args.redis_server}
    pairs = args.pairs.split(",")
    args.rate_from = pairs[-1]
    # The pair that sets the fixed rate runs first in each round.
    order = [pairs[-1]] + pairs[:-1]
    rows = []
    for rnd in range(args.rounds):
        for pair in order:
            mkind, rkind = pair.split("/")
            # Fresh replicas per pair and round: the full sync's peak memory
            # is then theirs alone.
            replicas = start_replicas(rkind, binaries[rkind], workdir, "%s-%d" % (
                pair.replace("/", "-"), rnd))
            try:
                r = one_round(pair, binaries[mkind], replicas, workdir, args, rnd)
            finally:
                for rep in replicas:
                    rep.stop()
            r.update(kind=pair, round=rnd)
            rows.append(r)
            print("round %d %-12s SET/s 0r=%.0f 1r=%.0f 2r=%.0f  lag p50=%d p99=%d max=%d  "
                  "light: SET/s=%.0f lag p50=%d p99=%d (ms p50=%.2f p99=%.2f)  "
                  "rate %d: SET/s=%.0f lag p50=%d p99=%d (ms p50=%.2f p99=%.2f)  "
                  "full sync %.2fs, master peak %.0f MB (+%.0f MB), replicas peak %.0f MB"
                  % (rnd, pair, r["set_0"], r["set_1"], r["set_2"], r["lag_p50"], r["lag_p99"],
                     r["lag_max"], r["light_set"], r["light_p50"], r["light_p99"],
                     r["light_ms_p50"], r["light_ms_p99"], args.rate, r.get("rate_set", 0),
                     r.get("rate_p50", 0), r.get("rate_p99", 0), r.get("rate_ms_p50", 0),
                     r.get("rate_ms_p99", 0), r["sync_s"], r["sync_mem_mb"],
                     r["sync_extra_mb"], r["replica_peak_mb"]), flush=True)
    fields = ["set_0", "set_1", "set_2", "lag_p50", "lag_p99", "lag_max", "light_set",
              "light_p50", "light_p99", "light_ms_p50", "light_ms_p99", "rate_set", "rate_p50",
              "rate_p99", "rate_ms_p50", "rate_ms_p99", "sync_s", "sync_mem_mb", "sync_extra_mb",
              "replica_peak_mb"]
    if args.csv:
        with open(args.csv, "w", newline="") as f:
            w = csv.DictWriter(f, ["kind", "round"] + fields, extrasaction="ignore")
            w.writeheader()
            w.writerows(rows)
    base = pairs[-1]
    print("\nfixed rate: %d SET/s; ratios against %s" % (args.rate, base))
    print("%-16s" % "metric" + "".join("%14s" % p for p in pairs) +
          "".join("%16s" % ("ratio " + p) for p in pairs[:-1]))
    for k in fields:
        med = {p: statistics.median(r.get(k, 0) for r in rows if r["kind"] == p) for p in pairs}
        line = "%-16s" % k + "".join("%14.2f" % med[p] for p in pairs)
        line += "".join("%16.2f" % (med[p] / med[base] if med[base] else float("nan"))
                        for p in pairs[:-1])
        print(line)
    shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
