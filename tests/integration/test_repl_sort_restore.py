"""A Ringmaster replica of a redis-server 7.0 master that runs SORT ...
STORE, RESTORE (relative TTL, ABSTTL, REPLACE, an already expired TTL),
and the read-only SORT_RO, LCS and DUMP between them: the replica applies
the stream Redis propagates (SORT as itself, RESTORE with ABSTTL, DEL) and
ends with the master's DEBUG DIGEST and the same expiry times."""

from repl_helpers import assert_same_digest, call
from test_repl_replica import caught_up, ringmaster_replica


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
