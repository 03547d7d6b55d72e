#!/usr/bin/python3
"""SAVE time, load time and RDB size: Ringmaster against redis-server 7.0, same dataset.

The dataset: `--keys` keys in all, most of them DEBUG POPULATE strings, the rest split
evenly between small hashes, lists, sets (intset and hashtable), and sorted sets, so every
writer and reader path is on the clock. Both servers get the identical dataset (checked with
DEBUG DIGEST), then each repeat runs SAVE (timed from the client) and a restart that loads
the file (timed from the "DB loaded from disk: X seconds" line both servers log), the two
servers measured back to back in alternating order. Reports
medians and the Ringmaster/Redis ratios (the goal is <= 0.8 for both times).

    /usr/bin/python3 bench/rdb_bench.py --ringmaster build/ringmaster [--keys 5000000]
"""

import argparse
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time

import redis


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    def __init__(self, binary, workdir, name):
        self.binary, self.workdir, self.name = binary, workdir, name
        self.port = free_port()
        self.log = os.path.join(workdir, name + ".log")
        self.proc = None

    def start(self):
        args = [self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--dir",
                self.workdir, "--save", "", "--appendonly", "no", "--enable-debug-command",
                "yes", "--logfile", self.log]
        self.proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline:
            try:
                c = self.client()
                c.ping()
                return c
            except (redis.ConnectionError, redis.BusyLoadingError):
                time.sleep(0.05)
        raise SystemExit("%s did not start" % self.name)

    def client(self):
        return redis.Redis(port=self.port, socket_timeout=600)

    def stop(self):
        try:
            self.client().shutdown(nosave=True)
        except Exception:
            pass
        self.proc.wait(timeout=60)

    def last_load_seconds(self):
        with open(self.log) as f:
            found = re.findall(r"DB loaded from disk: ([0-9.]+) seconds", f.read())
        return float(found[-1]) if found else None


def populate(c, keys):
    strings = keys * 4 // 5
    per_type = (keys - strings) // 5
    c.execute_command("DEBUG", "POPULATE", strings, "key", 16)
    batch = 5000
    for start in range(0, per_type, batch):
        p = c.pipeline(transaction=False)
        for i in range(start, min(per_type, start + batch)):
            p.hset("hash:%d" % i, mapping={"name": "user%d" % i, "age": i % 90,
                                            "city": "c%d" % (i % 1000), "score": i * 3})
            p.rpush("list:%d" % i, *["item-%d" % j for j in range(10)])
            p.sadd("iset:%d" % i, *range(i % 7, i % 7 + 8))
            p.sadd("sset:%d" % i, *["m%d" % j for j in range(6)])
            p.zadd("zset:%d" % i, {"a%d" % j: j * 1.5 for j in range(5)})
        p.execute()


def run_pair(binaries, keys, repeats, workroot):
    """Both servers hold the dataset at once; each repeat measures them back to back,
    alternating which goes first, so machine noise hits both alike."""
    servers, clients, digests = {}, {}, {}
    for name, binary in binaries.items():
        wd = os.path.join(workroot, name)
        os.makedirs(wd, exist_ok=True)
        servers[name] = Server(binary, wd, name)
        clients[name] = servers[name].start()
        populate(clients[name], keys)
        digests[name] = clients[name].execute_command("DEBUG", "DIGEST")
    res = {n: {"save": [], "load": [], "size": 0, "digest": digests[n]} for n in binaries}
    order = list(binaries)
    for rep in range(repeats):
        for name in (order if rep % 2 == 0 else order[::-1]):
            s, c = servers[name], clients[name]
            t = time.monotonic()
            c.execute_command("SAVE")
            res[name]["save"].append(time.monotonic() - t)
            res[name]["size"] = os.path.getsize(os.path.join(s.workdir, "dump.rdb"))
            s.stop()
            clients[name] = c = s.start()
            res[name]["load"].append(s.last_load_seconds())
            assert c.execute_command("DEBUG", "DIGEST") == digests[name], "digest changed"
    for s in servers.values():
        s.stop()
    for r in res.values():
        r["save"] = statistics.median(r["save"])
        r["load"] = statistics.median(r["load"])
    return res["redis"], res["ringmaster"]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--ringmaster", required=True)
    ap.add_argument("--redis", default=shutil.which("redis-server"))
    ap.add_argument("--keys", type=int, default=5_000_000)
    ap.add_argument("--repeats", type=int, default=3)
    a = ap.parse_args()
    root = tempfile.mkdtemp(prefix="rdb-bench-")
    try:
        ref, rm = run_pair({"redis": a.redis, "ringmaster": a.ringmaster}, a.keys, a.repeats,
                           root)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    same = "same" if ref["digest"] == rm["digest"] else "DIFFERENT"
    print("dataset: %d keys, digest %s on both servers" % (a.keys, same))
    print("%-10s %12s %12s %8s" % ("", "redis", "ringmaster", "ratio"))
    for k, unit in (("save", "s"), ("load", "s")):
        print("%-10s %11.3f%s %11.3f%s %8.2f" % (k, ref[k], unit, rm[k], unit, rm[k] / ref[k]))
    print("%-10s %11.1fM %11.1fM %8.2f" % ("size", ref["size"] / 1e6, rm["size"] / 1e6,
                                            rm["size"] / ref["size"]))
    return 0 if same == "same" else 1


if __name__ == "__main__":
    sys.exit(main())
