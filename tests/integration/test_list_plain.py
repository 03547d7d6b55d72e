"""Plain (non-packed) quicklist nodes against redis-server 7.0.

DEBUG QUICKLIST-PACKED-THRESHOLD lowers the size from which a list element
gets a node of its own (1 GB by default), so the tests use elements of a
few hundred bytes. Replies are compared byte for byte under a random mix of
list commands around the threshold; the RDB's PLAIN containers are checked
in the files both servers write, and each loads the other's; a redis-server
master with function libraries and large elements full-syncs and streams
to a Ringmaster replica.
"""

import os
import random
import shutil

import repl_helpers as rh
from test_functions import LIB_A, LIB_B, load_libs, normalised_list

THRESHOLD = 100
KEYS = [b"pl0", b"pl1", b"pl2"]


def element(rng):
    kind = rng.random()
    if kind < 0.2:
        return str(rng.randint(-10**12, 10**12)).encode()
    size = rng.choice([1, 10, THRESHOLD - 1, THRESHOLD, THRESHOLD + 1, 300, 5000])
    return bytes([rng.randint(97, 122)]) * size + b"%d" % rng.randint(0, 99)


def command(rng):
    k = rng.choice(KEYS)
    op = rng.choice(["lpush", "rpush", "rpush", "linsert", "lset", "lpop", "rpop", "lrem",
                     "ltrim", "lrange", "lindex", "llen", "lmove"])
    if op in ("lpush", "rpush"):
        return (op, k) + tuple(element(rng) for _ in range(rng.randint(1, 4)))
    if op == "linsert":
        return (op, k, rng.choice(["BEFORE", "AFTER"]), element(rng), element(rng))
    if op == "lset":
        return (op, k, rng.randint(-6, 6), element(rng))
    if op in ("lpop", "rpop"):
        return (op, k)
    if op == "lrem":
        return (op, k, rng.randint(-2, 2), element(rng))
    if op == "ltrim":
        return (op, k, rng.randint(0, 3), rng.randint(-1, 40))
    if op == "lrange":
        return (op, k, 0, -1)
    if op == "lindex":
        return (op, k, rng.randint(-5, 5))
    if op == "lmove":
        return (op, k, rng.choice(KEYS), rng.choice(["LEFT", "RIGHT"]), "LEFT")
    return (op, k)


def test_threshold_command_matches_redis(servers):
    rm, ref = servers.ringmaster(), servers.redis()
    with rm.raw() as a, ref.raw() as b:
        for arg in ["100", "1kb", "0", "abc", "-1", "5000000000", "4gb", "1"]:
            cmd = ("DEBUG", "QUICKLIST-PACKED-THRESHOLD", arg)
            assert a.call_raw(*cmd) == b.call_raw(*cmd), arg
        cmd = ("DEBUG", "QUICKLIST-PACKED-THRESHOLD")
        assert a.call_raw(*cmd) == b.call_raw(*cmd)


def test_random_commands_match_redis(servers):
    rm = servers.ringmaster("--list-max-listpack-size", "4")
    ref = servers.redis("--list-max-listpack-size", "4")
    for s in (rm, ref):
        assert rh.call(s, "DEBUG", "QUICKLIST-PACKED-THRESHOLD", THRESHOLD) == b"OK"
    rng = random.Random(1618)
    with rm.raw() as a, ref.raw() as b:
        for i in range(3000):
            cmd = command(rng)
            got, want = a.call_raw(*cmd), b.call_raw(*cmd)
            assert got == want, "step %d %r: ringmaster %r, redis %r" % (i, cmd[:3], got, want)
            if i % 250 == 0:
                assert a.call_raw("DEBUG", "DIGEST") == b.call_raw("DEBUG", "DIGEST"), i
        for k in KEYS:
            for q in (("OBJECT", "ENCODING", k), ("DEBUG", "DIGEST-VALUE", k)):
                assert a.call_raw(*q) == b.call_raw(*q)


BIG = [b"A" * 300, b"12345", b"B" * 100, b"C" * 99, b"D" * 5000]


def fill(server):
    assert rh.call(server, "DEBUG", "QUICKLIST-PACKED-THRESHOLD", THRESHOLD) == b"OK"
    rh.call(server, "RPUSH", "big", *BIG)
    rh.call(server, "LINSERT", "big", "AFTER", b"12345", b"E" * 400)
    rh.call(server, "LSET", "big", 0, b"small")
    rh.call(server, "RPUSH", "small", "a", "b", "c")


def plain_record(elem):
    """A PLAIN container holding elem, as both servers write it uncompressed."""
    n = len(elem)
    head = bytes([n]) if n < 64 else bytes([0x40 | (n >> 8), n & 0xFF])
    return b"\x01" + head + elem


def saved(server, name, servers):
    assert rh.call(server, "SAVE") == b"OK"
    path = os.path.join(server.workdir, "dump.rdb")
    data = open(path, "rb").read()
    d = servers.tmp_path / ("%s-%d" % (name, len(servers.started)))
    d.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(path, d / "dump.rdb")
    return data, d


def test_rdb_plain_nodes_both_ways(servers):
    rm = servers.ringmaster("--rdbcompression", "no")
    ref = servers.redis("--rdbcompression", "no")
    for s in (rm, ref):
        fill(s)
    assert rh.call(rm, "DEBUG", "DIGEST") == rh.call(ref, "DEBUG", "DIGEST")
    rm_file, rm_dir = saved(rm, "to-redis", servers)
    ref_file, ref_dir = saved(ref, "to-rm", servers)
    for elem in (b"B" * 100, b"D" * 5000, b"E" * 400):  # (A*300 was LSET away)
        assert plain_record(elem) in ref_file  # what Redis writes...
        assert plain_record(elem) in rm_file   # ...and Ringmaster too
    assert plain_record(b"C" * 99) not in rm_file
    # Each loads the other's file (with the default threshold: the
    # containers, not the knob, decide).
    ref2 = servers.redis(workdir=rm_dir, name="redis-loaded")
    rm2 = servers.ringmaster("--rdbcompression", "no", workdir=ref_dir, name="rm-loaded")
    want = rh.call(ref, "DEBUG", "DIGEST")
    for s in (ref2, rm2):
        assert rh.call(s, "DEBUG", "DIGEST") == want
        assert rh.call(s, "OBJECT", "ENCODING", "big") == b"quicklist"
        assert rh.call(s, "LRANGE", "big", 0, -1) == rh.call(ref, "LRANGE", "big", 0, -1)
    # A plain node loaded from the file stays plain when saved again.
    again, _ = saved(rm2, "again", servers)
    assert plain_record(b"E" * 400) in again


def test_redis_master_with_functions_and_big_elements_to_ringmaster(servers):
    master = servers.redis()
    load_libs(master, LIB_A)
    fill(master)
    replica = servers.ringmaster("--replicaof", "127.0.0.1", str(master.port),
                                 "--repl-timeout", "60", name="rm-replica")
    rh.wait_synced(master, [replica])
    # The stream: the replica applies pushes with its own threshold.
    assert rh.call(replica, "DEBUG", "QUICKLIST-PACKED-THRESHOLD", THRESHOLD) == b"OK"
    load_libs(master, LIB_B)
    rh.call(master, "RPUSH", "big", b"F" * 700, b"tiny", b"G" * 150)
    rh.call(master, "LINSERT", "big", "BEFORE", b"tiny", b"H" * 250)
    rh.call(master, "LSET", "big", -1, b"short")
    rh.wait_synced(master, [replica])
    rh.assert_same_digest(master, [replica])
    assert normalised_list(replica) == normalised_list(master)
    assert rh.call(replica, "LRANGE", "big", 0, -1) == rh.call(master, "LRANGE", "big", 0, -1)
