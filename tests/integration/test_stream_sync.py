"""Streams across servers: RDB files both ways with redis-server 7.0, and
replication both ways (a redis-server master with a Ringmaster replica, a
Ringmaster master with a redis-server replica) under a stream write load.

What must match after a load or a sync: DEBUG DIGEST, and XINFO STREAM FULL
of every stream byte for byte (entries, node counts, IDs, counters, groups,
PELs with their delivery times and counts, consumers). After an RDB load the
consumers' seen-time travels in the file and is compared too; over
replication a consumer is created on the replica when the XCLAIM that names
it arrives, so seen-time is the one field masked there.
"""

import os
import shutil
import subprocess
import threading

import pytest

import rmtest
from repl_helpers import assert_same_digest, call, info, wait_for

STREAM_KEYS = [b"orders", b"events", b"empty", b"trimmed", b"nogroups"]


def populate_streams(conn, n=400):
    """Streams with several nodes, deleted entries, groups, PELs, idle
    consumers, an emptied stream and an approximately trimmed one."""
    cmds = []
    for i in range(1, n + 1):
        cmds.append([b"XADD", b"orders", b"%d-%d" % (1000 + i // 3, i % 3), b"item", b"%d" % i,
                     b"qty", b"%d" % (i % 7)])
        if i % 5 == 0:
            cmds.append([b"XADD", b"events", b"%d-0" % i, b"type", b"e%d" % (i % 4),
                         b"payload", b"x" * (i % 120)])
    for i in range(1, 300):
        cmds.append([b"XADD", b"trimmed", b"%d-0" % i, b"f", b"v"])
    cmds += [
        [b"XADD", b"nogroups", b"5-5", b"only", b"entry"],
        [b"XDEL", b"orders", b"1010-0", b"1011-1", b"1100-2"],
        [b"XTRIM", b"trimmed", b"MAXLEN", b"~", b"150"],
        [b"XADD", b"empty", b"1-1", b"a", b"b"],
        [b"XDEL", b"empty", b"1-1"],
        [b"XGROUP", b"CREATE", b"orders", b"billing", b"0"],
        [b"XGROUP", b"CREATE", b"orders", b"audit", b"$"],
        [b"XGROUP", b"CREATE", b"orders", b"a-late", b"1050-0", b"ENTRIESREAD", b"40"],
        [b"XGROUP", b"CREATE", b"events", b"g", b"0"],
        [b"XGROUP", b"CREATE", b"empty", b"g", b"$"],
        [b"XREADGROUP", b"GROUP", b"billing", b"alice", b"COUNT", b"30", b"STREAMS", b"orders",
         b">"],
        [b"XREADGROUP", b"GROUP", b"billing", b"bob", b"COUNT", b"20", b"STREAMS", b"orders",
         b">"],
        [b"XREADGROUP", b"GROUP", b"g", b"c1", b"COUNT", b"5", b"NOACK", b"STREAMS", b"events",
         b">"],
        [b"XREADGROUP", b"GROUP", b"g", b"c2", b"COUNT", b"5", b"STREAMS", b"events", b">"],
        [b"XACK", b"orders", b"billing", b"1000-1", b"1000-2", b"1001-0"],
        [b"XCLAIM", b"orders", b"billing", b"carol", b"0", b"1005-0", b"1006-1", b"TIME",
         b"1700000000000", b"RETRYCOUNT", b"4"],
        [b"XGROUP", b"CREATECONSUMER", b"orders", b"billing", b"idle-one"],
        [b"XSETID", b"empty", b"9-9", b"ENTRIESADDED", b"7", b"MAXDELETEDID", b"2-0"],
    ]
    for c in cmds:
        r = conn.call(*c)
        assert not isinstance(r, rmtest.RespError), (c, r)


def stream_load(conn, rounds=150):
    """Writes of every kind a consumer-group deployment makes."""
    for i in range(rounds):
        ms = 5000 + i
        for c in ([b"XADD", b"orders", b"%d-0" % ms, b"item", b"n%d" % i, b"qty", b"1"],
                  [b"XADD", b"orders", b"MAXLEN", b"~", b"300", b"*", b"item", b"auto"],
                  [b"XREADGROUP", b"GROUP", b"billing", b"alice" if i % 2 else b"bob",
                   b"COUNT", b"3", b"STREAMS", b"orders", b">"],
                  [b"XREADGROUP", b"GROUP", b"audit", b"dan", b"COUNT", b"2", b"NOACK",
                   b"STREAMS", b"orders", b">"],
                  [b"XADD", b"events", b"*", b"type", b"t", b"payload", b"p%d" % i]):
            conn.call(*c)
        if i % 3 == 0:
            pend = conn.call(b"XPENDING", b"orders", b"billing", b"-", b"+", b"3")
            if pend:
                conn.call(b"XACK", b"orders", b"billing", *[p[0] for p in pend[:2]])
        if i % 7 == 0:
            conn.call(b"XCLAIM", b"orders", b"billing", b"carol", b"0", b"1050-0", b"1051-1",
                      b"%d-0" % (ms - 1), b"JUSTID")
            conn.call(b"XAUTOCLAIM", b"orders", b"billing", b"erin", b"0", b"0", b"COUNT", b"2")
        if i % 11 == 0:
            conn.call(b"XTRIM", b"events", b"MINID", b"~", b"%d" % (i * 5))
            conn.call(b"XDEL", b"orders", b"%d-0" % (ms - 3))
            conn.call(b"XGROUP", b"SETID", b"orders", b"a-late", b"$")
            conn.call(b"XREADGROUP", b"GROUP", b"g", b"c2", b"STREAMS", b"events", b"0")
    conn.call(b"XGROUP", b"DELCONSUMER", b"orders", b"billing", b"idle-one")
    conn.call(b"XGROUP", b"DESTROY", b"events", b"g")


def full_info(conn, key, level):
    v = conn.call(b"XINFO", b"STREAM", key, b"FULL", b"COUNT", b"0")
    return mask(v, level) if level else v


def mask(v, level):
    """level 1: consumers' seen-time; level 2: delivery times as well (two
    servers that ran the same commands at different moments)."""
    if not isinstance(v, list):
        return v
    out = []
    i = 0
    while i < len(v):
        if v[i] == b"seen-time" and i + 1 < len(v):
            out += [b"seen-time", b"T"]
            i += 2
        elif level >= 2 and v[i] == b"pending" and i + 1 < len(v):
            out += [b"pending", [n[:-2] + [b"T", n[-1]] for n in v[i + 1]]]
            i += 2
        else:
            out.append(mask(v[i], level))
            i += 1
    return out


def first_difference(x, y, path="info"):
    if isinstance(x, list) and isinstance(y, list) and len(x) == len(y):
        for i, (p, q) in enumerate(zip(x, y)):
            if p != q:
                return first_difference(p, q, "%s[%d]" % (path, i))
    return "%s: %r != %r" % (path, str(x)[:300], str(y)[:300])


def assert_same_streams(a, b, level=0):
    with a.raw() as ca, b.raw() as cb:
        for k in STREAM_KEYS:
            assert ca.call(b"TYPE", k) == b"stream", k
            x, y = full_info(ca, k, level), full_info(cb, k, level)
            assert x == y, "XINFO STREAM FULL %r: %s" % (k, first_difference(x, y))
        assert ca.call(b"DEBUG", b"DIGEST") == cb.call(b"DEBUG", b"DIGEST")


def workdir_with(servers, name, rdb):
    d = servers._workdir(name)
    os.makedirs(d, exist_ok=True)
    shutil.copyfile(rdb, os.path.join(d, "dump.rdb"))
    return d


# ---- RDB files ----------------------------------------------------------------------

def test_redis_rdb_with_streams_loads_in_ringmaster(servers):
    ref = servers.redis()
    with ref.raw() as c:
        populate_streams(c)
        assert c.call(b"SAVE") == b"OK"
    rm = servers.ringmaster(workdir=workdir_with(servers, "rm",
                                                 os.path.join(ref.workdir, "dump.rdb")))
    assert_same_streams(rm, ref)
    # And back: what Ringmaster saves from it loads in Redis the same.
    with rm.raw() as c:
        assert c.call(b"SAVE") == b"OK"
    ref2 = servers.redis(workdir=workdir_with(servers, "redis2",
                                              os.path.join(rm.workdir, "dump.rdb")),
                         name="redis2")
    assert_same_streams(ref2, ref)


def test_ringmaster_rdb_with_streams_loads_in_redis(servers):
    rm = servers.ringmaster()
    with rm.raw() as c:
        populate_streams(c)
        assert c.call(b"SAVE") == b"OK"
    path = os.path.join(rm.workdir, "dump.rdb")
    check = subprocess.run(["redis-check-rdb", path], capture_output=True, text=True,
                           timeout=60)
    assert check.returncode == 0 and "RDB looks OK" in check.stdout, check.stdout
    ref = servers.redis(workdir=workdir_with(servers, "redis", path))
    assert_same_streams(ref, rm)
    # The same commands on Redis itself give the same streams.
    ref2 = servers.redis(name="redis2")
    with ref2.raw() as c:
        populate_streams(c)
    assert_same_streams(ref2, rm, level=2)


# ---- replication --------------------------------------------------------------------

@pytest.mark.parametrize("master_kind", ["redis", "ringmaster"])
def test_streams_replicate_under_load(servers, master_kind):
    """A Ringmaster replica and a redis-server replica of the same master
    end up with the same streams, down to the consumer-group counters that
    the replication stream does not carry exactly (entries-read after an
    XCLAIM ... LASTID): the replica must apply what a Redis master sends
    the way a Redis replica does, and a Ringmaster master must send what
    makes a Redis replica agree."""
    if master_kind == "redis":
        master = servers.redis("--save", "", name="master")
    else:
        master = servers.ringmaster("--save", "", name="master")
    with master.raw() as c:
        populate_streams(c)
    args = ("--replicaof", "127.0.0.1", str(master.port), "--repl-timeout", "60")
    rm_replica = servers.ringmaster(*args, name="rm-replica")
    redis_replica = servers.redis(*args, name="redis-replica")
    replicas = [rm_replica, redis_replica]
    for r in replicas:
        wait_for("the replica link", lambda: info(r).get("master_link_status") == "up",
                 timeout=30)
    # Load while the replicas stream: two writers, so XREADGROUP and XCLAIM
    # interleave with XADD and trims.
    errors = []

    def writer():
        try:
            with master.raw() as c:
                stream_load(c)
        except Exception as e:  # reported below
            errors.append(e)

    t = threading.Thread(target=writer, daemon=True)
    t.start()
    with master.raw() as c:
        for i in range(200):
            c.call(b"XADD", b"nogroups", b"*", b"i", b"%d" % i)
    t.join(timeout=120 * rmtest.SLOWDOWN)
    assert not t.is_alive() and not errors, errors

    def caught_up():
        m = int(info(master)["master_repl_offset"])
        return all(info(r).get("master_link_status") == "up" and
                   int(info(r)["master_repl_offset"]) == m for r in replicas)
    wait_for("the replicas to catch up", caught_up, timeout=30)
    assert_same_digest(master, replicas)
    assert_same_streams(rm_replica, redis_replica, level=1)
    # A replica that full-syncs now, from the loaded master, has the
    # master's streams exactly (the RDB carries every counter and time).
    if master_kind == "redis":
        late = servers.ringmaster(*args, name="late")
    else:
        late = servers.redis(*args, name="late")
    wait_for("the late replica", lambda: int(info(late).get("master_repl_offset", 0)) ==
             int(info(master)["master_repl_offset"]), timeout=30)
    assert_same_streams(master, late)
    assert call(late, "XLEN", "nogroups") == call(master, "XLEN", "nogroups")
