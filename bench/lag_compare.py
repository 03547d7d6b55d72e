#!/usr/bin/python3
"""Side-by-side replication lag with ringmaster-bench: a Ringmaster master
with two Ringmaster replicas against a redis-server master with two
redis-server replicas, on free loopback ports, each loaded at the same
open-loop --rate for --duration seconds (Redis first, then Ringmaster, then
again for each further --rounds). Prints each run's summary, then per metric
the median over rounds of both and the Ringmaster/Redis ratio (below 1.0 is
better for latency and lag). Each run's samples.csv, lag.svg and
summary.json stay in --out/<pair>-<round>/.

  bench/lag_compare.py [--ringmaster build/ringmaster] [--bench build/ringmaster-bench]
                       [--rate 20000] [--duration 10] [--rounds 1] [--out lag-compare]
                       [-- extra ringmaster-bench arguments]
"""
import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

from repl_bench import MASTER_ARGS, Server, attach, info

HERE = os.path.dirname(os.path.abspath(__file__))


def wait_online(master, n, timeout=60):
    """Until the master lists n replicas online (a replica's offset can
    match before its own sync ran, when the master had no writes yet)."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        states = [v for k, v in info(master.port).items() if k.startswith("slave")]
        if sum("state=online" in v for v in states) >= n:
            time.sleep(1.0)  # let the sync's aftermath (freeing, the child's exit) pass
            return
        time.sleep(0.05)
    raise RuntimeError("replicas not online")


def one_run(kind, binary, args, rnd, workdir):
    master = Server(binary, workdir, "%s-master-%d" % (kind, rnd), MASTER_ARGS)
    replicas = [Server(binary, workdir, "%s-replica-%d-%d" % (kind, rnd, i)) for i in range(2)]
    out = os.path.join(args.out, "%s-%d" % (kind, rnd))
    try:
        attach(replicas, master)
        wait_online(master, len(replicas))
        cmd = [args.bench, "--master", "127.0.0.1:%d" % master.port, "--rate", str(args.rate),
               "--duration", str(args.duration), "--out", out, "--quiet"]
        for r in replicas:
            cmd += ["--replica", "127.0.0.1:%d" % r.port]
        proc = subprocess.run(cmd + args.extra, capture_output=True, text=True,
                              timeout=args.duration + 120)
        print("== %s, round %d (%s)%s" % (kind, rnd, out, proc.stdout), flush=True)
        if proc.returncode:
            print(proc.stderr, file=sys.stderr)
            raise RuntimeError("ringmaster-bench exited with %d" % proc.returncode)
        with open(os.path.join(out, "summary.json")) as f:
            return json.load(f)
    finally:
        for s in [master] + replicas:
            s.stop()


def metrics(s):
    """The numbers compared: throughput, latency, and the worse replica's lag."""
    m = {"throughput ops/s": s["throughput"]}
    for p in ("p50", "p99", "p999", "max"):
        m["latency %s ms" % p] = s["latency_ms"][p]
    for unit in ("bytes", "ms"):
        for p in ("p50", "p99", "max"):
            m["lag %s %s" % (unit, p)] = max(r["lag_" + unit][p] for r in s["replicas"])
    return m


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--ringmaster", default=os.path.join(HERE, "..", "build", "ringmaster"))
    ap.add_argument("--bench", default=os.path.join(HERE, "..", "build", "ringmaster-bench"))
    ap.add_argument("--redis-server", default=shutil.which("redis-server"))
    ap.add_argument("--rate", type=int, default=20000)
    ap.add_argument("--duration", type=float, default=10)
    ap.add_argument("--rounds", type=int, default=1)
    ap.add_argument("--out", default="lag-compare")
    ap.add_argument("extra", nargs="*", help="more ringmaster-bench arguments (after --)")
    args = ap.parse_args()
    args.bench = os.path.abspath(args.bench)
    workdir = tempfile.mkdtemp(prefix="lag-compare-")
    binaries = {"redis": args.redis_server, "ringmaster": os.path.abspath(args.ringmaster)}
    results = {k: [] for k in binaries}
    try:
        for rnd in range(args.rounds):
            for kind, binary in binaries.items():
                results[kind].append(metrics(one_run(kind, binary, args, rnd, workdir)))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    print("\nrate %d ops/s, %.0f s, median of %d round(s); lag: the worse of the 2 replicas"
          % (args.rate, args.duration, args.rounds))
    print("%-20s %14s %14s %10s" % ("metric", "ringmaster", "redis", "ratio"))
    for k in results["redis"][0]:
        rm = statistics.median(r[k] for r in results["ringmaster"])
        rd = statistics.median(r[k] for r in results["redis"])
        print("%-20s %14.3f %14.3f %10s" % (k, rm, rd, "%.2f" % (rm / rd) if rd else "-"))


if __name__ == "__main__":
    sys.exit(main())
