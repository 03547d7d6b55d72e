#!/usr/bin/python3
"""Compare Ringmaster with redis-server 7.0 under redis-benchmark.

Both servers run on loopback at the same time; each round runs the same
redis-benchmark invocation against Ringmaster, then against redis-server, so
machine noise hits both alike. Reported: the median requests/s of the rounds
per test, and the ratio Ringmaster / redis-server (above 1.0 = faster).

  bench/core_bench.py [--ringmaster build/ringmaster] [-n 2000000] [--rounds 3]
                      [--tests set,get,incr,mset] [--pipelines 16,1] [-c 50]

The data-type suite (redis-benchmark's default tests, LPUSH to MSET):

  bench/core_bench.py --tests all -n 1000000 --pipelines 16
"""
import argparse
import csv
import io
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_ready(port, proc, timeout=10.0):
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
            time.sleep(0.05)
    raise RuntimeError("server on port %d not ready" % port)


def start(cmd, port, workdir):
    log = open(os.path.join(workdir, "server-%d.log" % port), "w")
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, cwd=workdir)
    wait_ready(port, proc)
    return proc


def stop(proc, port):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=2) as s:
            s.sendall(b"SHUTDOWN NOSAVE\r\n")
    except OSError:
        pass
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()


def run_benchmark(port, tests, n, pipeline, clients, extra):
    cmd = ["redis-benchmark", "-h", "127.0.0.1", "-p", str(port)]
    if tests != "all":  # "all": redis-benchmark's default suite
        cmd += ["-t", tests]
    cmd += ["-n", str(n), "-P", str(pipeline), "-c", str(clients), "--csv"] + extra
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=3600).stdout
    rows = {}
    for row in csv.reader(io.StringIO(out)):
        if not row or row[0] == "test":
            continue
        rows[row[0]] = float(row[1])
    return rows


def flush(port):
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall(b"FLUSHALL\r\n")
        s.recv(64)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ringmaster", default=os.path.join(os.path.dirname(__file__), "..", "build", "ringmaster"))
    ap.add_argument("-n", type=int, default=2000000)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--tests", default="set,get,incr,mset",
                    help="redis-benchmark -t list, or 'all' for its default suite (issue 3's)")
    ap.add_argument("--pipelines", default="16,1")
    ap.add_argument("-c", type=int, default=50)
    ap.add_argument("--extra", default="", help="extra redis-benchmark args, e.g. '-q'")
    args = ap.parse_args()

    work = tempfile.mkdtemp(prefix="rm-bench-")
    rp, xp = free_port(), free_port()
    common = ["--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", work]
    rm = start([os.path.abspath(args.ringmaster), "--port", str(rp)] + common, rp, work)
    rd = start(["redis-server", "--port", str(xp)] + common, xp, work)
    extra = args.extra.split() if args.extra else []
    try:
        for pipeline in [int(p) for p in args.pipelines.split(",")]:
            res = {"ringmaster": {}, "redis": {}}
            for r in range(args.rounds):
                for name, port in (("ringmaster", rp), ("redis", xp)):
                    flush(port)
                    for test, rps in run_benchmark(port, args.tests, args.n, pipeline, args.c, extra).items():
                        res[name].setdefault(test, []).append(rps)
            print("\nredis-benchmark -P %d -c %d -n %d, median of %d rounds (requests/s)"
                  % (pipeline, args.c, args.n, args.rounds))
            print("%-28s %14s %14s %8s" % ("test", "ringmaster", "redis-7.0", "ratio"))
            for test in res["redis"]:
                a = statistics.median(res["ringmaster"].get(test, [0]))
                b = statistics.median(res["redis"][test])
                print("%-28s %14.0f %14.0f %8.2f" % (test, a, b, a / b if b else 0))
            sys.stdout.flush()
    finally:
        stop(rm, rp)
        stop(rd, xp)


if __name__ == "__main__":
    main()
