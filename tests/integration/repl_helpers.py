"""Helpers for the replication tests: real redis-server 7.0 replicas of a
Ringmaster master, bounded waits on INFO fields, digests and write load.

Every wait here has a deadline scaled by rmtest.SLOWDOWN; a wait that runs
out fails the test with what it last saw, never hangs it.
"""

import subprocess
import time

import rmtest


def info(server, section="replication"):
    """INFO <section> as a dict of str -> str."""
    with server.raw() as c:
        text = c.call("INFO", section).decode()
    out = {}
    for line in text.splitlines():
        if ":" in line and not line.startswith("#"):
            k, v = line.split(":", 1)
            out[k] = v
    return out


def call(server, *args):
    with server.raw() as c:
        return c.call(*args)


def wait_for(what, predicate, timeout=10.0, interval=0.05):
    """Poll predicate() until it returns a truthy value; fail after timeout."""
    deadline = time.monotonic() + timeout * rmtest.SLOWDOWN
    last = None
    while time.monotonic() < deadline:
        last = predicate()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError("timed out waiting for %s (last: %r)" % (what, last))


def start_replica(servers, master, name="replica", *extra):
    """A redis-server replicating `master`."""
    return servers.redis("--replicaof", "127.0.0.1", master.port, "--repl-timeout", "60",
                         *extra, name=name)


def link_up(replica):
    return info(replica).get("master_link_status") == "up"


def caught_up(master, replica, timeout=30.0):
    """Wait until the replica's link is up and its master_repl_offset equals
    the master's; return that offset."""
    def check():
        r = info(replica)
        if r.get("master_link_status") != "up":
            return None
        m = int(info(master)["master_repl_offset"])
        return m if int(r["master_repl_offset"]) == m else None
    return wait_for("%s to catch up" % getattr(replica, "name", "the replica"), check, timeout)


def wait_synced(master, replicas, timeout=20.0):
    """Wait until every replica's link is up and its offset equals the master's."""
    def synced():
        minfo = info(master)
        m = int(minfo["master_repl_offset"])
        states = [v for k, v in minfo.items() if k.startswith("slave")]
        if len(states) < len(replicas) or not all(",state=online," in v for v in states):
            return None
        offs = []
        for r in replicas:
            i = info(r)
            if i.get("master_link_status") != "up":
                return None
            offs.append(int(i["master_repl_offset"]))
        return m if all(o == m for o in offs) else None
    return wait_for("replicas in sync with the master", synced, timeout)


def wait_snapshots_taken(master, count, timeout=30.0):
    """Wait until the master lists `count` replicas, each past the fork of
    its snapshot (sending it, or online). A test whose load holds one of the
    effects Redis 7.0 leaves unpropagated (a BITFIELD whose only write
    OVERFLOW FAIL refused still grows the string) calls this before the load,
    so replicas that got separate snapshots hold the same data."""
    def taken():
        states = [v for k, v in info(master).items() if k.startswith("slave")]
        return len(states) == count and all(
            ",state=send_bulk," in v or ",state=online," in v for v in states)
    return wait_for("%d replicas' snapshots to be taken" % count, taken, timeout)


EMPTY_DIGEST = b"0" * 40


def assert_same_digest(master, replicas):
    """Every replica's DEBUG DIGEST equals the master's, which must not be
    the empty dataset's (40 zeros): two empty datasets prove nothing, so
    callers write some data first. Returns the digest."""
    want = call(master, "DEBUG", "DIGEST")
    assert isinstance(want, bytes) and len(want) == 40, "bad DEBUG DIGEST reply %r" % (want,)
    assert want != EMPTY_DIGEST, "the master's dataset is empty: the digest comparison is void"
    for r in replicas:
        got = call(r, "DEBUG", "DIGEST")
        assert got == want, "digest of %s %r != master's %r; keys that differ: %s" % (
            r.name, got, want, differing_keys(master, r))
    return want


def differing_keys(a, b, limit=10):
    """The first `limit` keys (db, key, type on a, type on b) whose DEBUG
    DIGEST-VALUE differs between a and b, in every database: what a failed
    digest comparison reports so the divergence can be found."""
    out = []
    with a.raw() as ca, b.raw() as cb:
        for db in range(16):
            ca.call("SELECT", db)
            cb.call("SELECT", db)
            keys = set(ca.call("KEYS", "*")) | set(cb.call("KEYS", "*"))
            for k in sorted(keys):
                if ca.call("DEBUG", "DIGEST-VALUE", k) != cb.call("DEBUG", "DIGEST-VALUE", k):
                    out.append((db, k, ca.call("TYPE", k), cb.call("TYPE", k)))
                    if len(out) >= limit:
                        return out
    return out


def write_every_type(master, prefix="k", n=200):
    """Writes of every data type, a few expiries, MULTI/EXEC and a SELECT."""
    with master.raw() as c:
        out = []
        for i in range(n):
            out.append(rmtest.encode_command("SET", "%s:s:%d" % (prefix, i), "v%d" % i))
            out.append(rmtest.encode_command("RPUSH", "%s:l" % prefix, i))
            out.append(rmtest.encode_command("SADD", "%s:set" % prefix, i))
            out.append(rmtest.encode_command("HSET", "%s:h" % prefix, "f%d" % i, i))
            out.append(rmtest.encode_command("ZADD", "%s:z" % prefix, i, "m%d" % i))
            out.append(rmtest.encode_command("INCR", "%s:ctr" % prefix))
        out.append(rmtest.encode_command("EXPIRE", "%s:s:0" % prefix, 1000))
        out.append(rmtest.encode_command("MULTI"))
        out.append(rmtest.encode_command("LPOP", "%s:l" % prefix))
        out.append(rmtest.encode_command("SREM", "%s:set" % prefix, 1))
        out.append(rmtest.encode_command("EXEC"))
        out.append(rmtest.encode_command("SELECT", 3))
        out.append(rmtest.encode_command("SET", "%s:db3" % prefix, "x"))
        out.append(rmtest.encode_command("SELECT", 0))
        c.send(b"".join(out))
        for _ in range(6 * n + 8):
            c.read_reply()


def benchmark_load(master, requests=20000, tests="set,incr,lpush,rpush,sadd,hset,zadd,lpop,spop"):
    """redis-benchmark write load against the master (bounded in time)."""
    cmd = ["redis-benchmark", "-h", "127.0.0.1", "-p", str(master.port), "-q", "-P", "16",
           "-c", "10", "-r", "1000", "-n", str(rmtest.scaled(requests, 1000)), "-t", tests]
    subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                   timeout=60 * rmtest.SLOWDOWN, check=True)
