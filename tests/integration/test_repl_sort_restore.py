"""SORT ... STORE and RESTORE across replication.

A Ringmaster replica of a redis-server 7.0 master that runs SORT ...
STORE, RESTORE (relative TTL, ABSTTL, REPLACE, an already expired TTL),
and the read-only SORT_RO, LCS and DUMP between them: the replica applies
the stream Redis propagates (SORT as itself, RESTORE with ABSTTL, DEL) and
ends with the master's DEBUG DIGEST and the same expiry times. And as a
master: the frames Ringmaster sends a replica for the same commands are
the ones redis-server sends."""

import time

from repl_helpers import assert_same_digest, call, caught_up
from rmtest import RespConn
from test_repl_replica import ringmaster_replica


def test_replica_follows_sort_store_and_restore(servers):
    master = servers.redis("--save", "", name="master")
    replica = ringmaster_replica(servers, master)
    caught_up(master, replica)
    call(master, "RPUSH", "l", "3", "10", "b", "2", "a", "7")
    call(master, "SADD", "s", "5", "x", "1", "y", "30", "z")
    call(master, "ZADD", "z", "1", "m1", "2", "m2", "3", "m3")
    for i, e in enumerate(["3", "10", "2", "7", "5", "1", "30", "m1", "m2", "m3"]):
        call(master, "SET", "w_" + e, str((i * 7) % 5))
        call(master, "HSET", "h_" + e, "f", "v%d" % i, "n", str(100 - i))
    stores = [
        ("SORT", "l", "BY", "nosort", "STORE", "d1"),
        ("SORT", "s", "BY", "nosort", "STORE", "d2"),
        ("SORT", "s", "ALPHA", "DESC", "LIMIT", "1", "3", "STORE", "d3"),
        ("SORT", "z", "BY", "w_*", "GET", "#", "GET", "h_*->f", "STORE", "d4"),
        ("SORT", "l", "BY", "h_*->n", "ALPHA", "GET", "w_*", "STORE", "d5"),
        ("SORT", "missing", "STORE", "d1"),
    ]
    for cmd in stores:
        call(master, *cmd)
    call(master, "SORT_RO", "l", "ALPHA")
    call(master, "SET", "t1", "ohmytext")
    call(master, "SET", "t2", "mynewtext")
    call(master, "LCS", "t1", "t2", "IDX")
    for key in ("l", "s", "z", "h_3", "d4"):
        payload = call(master, "DUMP", key)
        call(master, "RESTORE", "r_" + key, "0", payload)
        call(master, "RESTORE", "t_" + key, "500000", payload)
        call(master, "RESTORE", "a_" + key, "4102444800000", payload, "ABSTTL")
        call(master, "RESTORE", "r_" + key, "0", call(master, "DUMP", "t1"), "REPLACE")
        call(master, "RESTORE", "a_" + key, "1", payload, "ABSTTL", "REPLACE")  # expired: DEL
    caught_up(master, replica)
    assert_same_digest(master, [replica])
    for key in ("t_l", "t_z", "t_d4"):
        assert call(replica, "PEXPIRETIME", key) == call(master, "PEXPIRETIME", key)
    assert call(replica, "EXISTS", "a_l") == 0
    assert call(replica, "LRANGE", "d2", "0", "-1") == call(master, "LRANGE", "d2", "0", "-1")
    assert call(replica, "EXISTS", "d1") == 0


def replication_stream(server, commands):
    """The commands `server` sends a replica (SYNC) while `commands` run,
    up to a marker write, PINGs and SELECTs left out."""
    link = RespConn(server.port)
    link.send(b"SYNC\r\n")
    line = link._line()
    while not line.startswith(b"$"):  # newlines while the RDB is made
        line = line[1:] if line.startswith(b"\n") else link._line()
    link._exact(int(line[1:-2]))
    with RespConn(server.port) as c:
        for cmd in commands:
            c.call(*cmd)
        c.call("SET", "marker", "1")
    frames = []
    now_ms = int(time.time() * 1000)
    while True:
        frame = link.read_reply()[1]
        if frame[0].upper() in (b"PING", b"SELECT"):
            continue
        if frame == [b"SET", b"marker", b"1"]:
            link.close()
            return frames
        if frame[:2] == [b"RESTORE", b"t"]:
            # The relative TTL (100 s) went out as an absolute one.
            assert abs(int(frame[2]) - now_ms - 100000) < 30000, frame
            frame[2] = b"<abs>"
        frames.append(frame)


def test_propagated_forms_match_redis(servers):
    """SORT ... STORE goes out as itself, RESTORE with a relative TTL as
    the absolute deadline plus ABSTTL, an expired REPLACE as DEL, and the
    read-only commands not at all: byte for byte the frames Redis sends."""
    rm = servers.ringmaster("--repl-diskless-sync", "no", name="rm-master")
    ref = servers.redis("--repl-diskless-sync", "no", name="redis-master")
    call(ref, "SET", "src", "v")
    payload = call(ref, "DUMP", "src")
    commands = [
        ("RPUSH", "l", "3", "1", "2"),
        ("SORT", "l", "STORE", "d"),
        ("SORT", "l", "DESC", "STORE", "d"),
        ("SORT", "missing", "STORE", "d"),
        ("SORT_RO", "l"),
        ("LCS", "src", "src"),
        ("DUMP", "l"),
        ("RESTORE", "r", "0", payload),
        ("RESTORE", "t", "100000", payload),
        ("RESTORE", "r", "1", payload, "ABSTTL", "REPLACE"),
        ("RESTORE", "a", "4102444800000", payload, "ABSTTL", "IDLETIME", "5"),
    ]
    ours = replication_stream(rm, commands)
    theirs = replication_stream(ref, commands)
    assert ours == theirs
    assert [b"SORT", b"l", b"STORE", b"d"] in ours
    assert [b"DEL", b"r"] in ours
    assert [b"RESTORE", b"t", b"<abs>", payload, b"ABSTTL"] in ours
    assert not any(f[0] in (b"SORT_RO", b"LCS", b"DUMP") for f in ours)
