#!/usr/bin/python3
"""Failover under redis-sentinel: a Ringmaster trio against a redis-server
trio, the same three sentinels' settings as tests/integration/test_sentinel.py
(whose deployment this script reuses).

Per round: 200 keys written and WAIT-acknowledged by both replicas, then the
master is killed (SIGKILL) and the script measures
  * write_s: from the kill until a SET succeeds on the address a sentinel
    gives for the master (what a Sentinel-aware client sees);
  * sibling_s: until the other replica follows the new master, link up and
    at its offset;
  * refetched: the bytes the promoted node sent that sibling from its backlog
    (the "Sending N bytes of backlog" line of its log), with its sync_full /
    sync_partial_ok after the sibling came back and the promoted node's
    master_repl_offset then;
  * rejoin_s: from restarting the killed node until it is a replica of the
    new master in sync (Sentinel converts it after ~10 s, by design).

Lightweight (the servers are idle but for the sentinels): one line per
round, then medians per kind.

  bench/failover_bench.py [--ringmaster build/ringmaster] [--rounds 3]
                          [--kinds ringmaster,redis]
"""
import argparse
import os
import pathlib
import re
import shutil
import statistics
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "integration"))

import conftest  # noqa: E402
import rmtest  # noqa: E402
from repl_helpers import info  # noqa: E402
from test_sentinel import Deployment, sync_counts  # noqa: E402

BACKLOG_LINE = re.compile(r"Sending (\d+) bytes of backlog starting from offset (\d+)")


def try_set(port):
    try:
        with rmtest.RespConn(port, timeout=0.5) as c:
            return c.call("SET", "failover-probe", "x") == b"OK"
    except (OSError, rmtest.ConnectionClosed):
        return False


def one_round(d, rnd):
    old = d.master
    replicas = [n for n in d.nodes if n is not old]
    d.write_acknowledged("bench%d" % rnd)
    log_len = {n.name: len(n.log_text()) for n in replicas}

    t0 = time.monotonic()
    d.kill_master()
    while True:
        try:
            port = d.master_addr(d.sentinels[rnd % len(d.sentinels)])
        except (OSError, rmtest.ConnectionClosed):
            port = old.port
        if port != old.port and try_set(port):
            break
        if time.monotonic() - t0 > 120:
            raise RuntimeError("no writable master 120 s after the kill")
        time.sleep(0.01)
    write_s = time.monotonic() - t0
    new = d.by_port(port)
    sibling = next(n for n in replicas if n is not new)
    d.wait_replicas_of(new, [sibling], timeout=60)
    sibling_s = time.monotonic() - t0
    full, partial = sync_counts(new)
    offset = int(info(new)["master_repl_offset"])
    sent = BACKLOG_LINE.findall(new.log_text()[log_len[new.name]:])
    refetched = sum(int(n) for n, _ in sent) if sent else None

    t1 = time.monotonic()
    old.start()
    old.exit_expected = False
    d.wait_replicas_of(new, [old, sibling], timeout=60)
    rejoin_s = time.monotonic() - t1
    d.master = new
    return dict(write_s=write_s, sibling_s=sibling_s, refetched=refetched, sync_full=full,
                sync_partial_ok=partial, offset=offset, rejoin_s=rejoin_s)


def run_kind(kind, rounds, tmp):
    factory = conftest.ServerFactory(tmp)
    results = []
    try:
        d = Deployment(factory, kind)
        d.wait_discovery()
        for rnd in range(rounds):
            r = one_round(d, rnd)
            print("%-10s round %d: write after %.2f s, sibling after %.2f s, refetched %s bytes "
                  "(promoted node: sync_full=%d sync_partial_ok=%d offset=%d), rejoin %.1f s" % (
                      kind, rnd, r["write_s"], r["sibling_s"], r["refetched"], r["sync_full"],
                      r["sync_partial_ok"], r["offset"], r["rejoin_s"]), flush=True)
            results.append(r)
    finally:
        factory.finish()
    return results


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--ringmaster", default=os.path.join(HERE, "..", "build", "ringmaster"))
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--kinds", default="ringmaster,redis")
    args = ap.parse_args()
    os.environ["RINGMASTER_BIN"] = os.path.abspath(args.ringmaster)
    tmp = tempfile.mkdtemp(prefix="failover-bench-")
    summary = {}
    try:
        for kind in args.kinds.split(","):
            os.makedirs(os.path.join(tmp, kind))
            summary[kind] = run_kind(kind, args.rounds, pathlib.Path(tmp, kind))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print("\nmedians over %d rounds" % args.rounds)
    for kind, rs in summary.items():
        print("%-10s write %.2f s  sibling %.2f s  rejoin %.1f s  refetched %s bytes" % (
            kind, statistics.median(r["write_s"] for r in rs),
            statistics.median(r["sibling_s"] for r in rs),
            statistics.median(r["rejoin_s"] for r in rs),
            [r["refetched"] for r in rs]))


if __name__ == "__main__":
    main()
