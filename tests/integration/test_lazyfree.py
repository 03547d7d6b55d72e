"""Lazy freeing: FLUSHALL/FLUSHDB ASYNC, UNLINK, DEL and FLUSH* under the
lazyfree-lazy-user-* settings, and a replica's replica-lazy-flush.

Nothing here times a command: what shows that the freeing happened in the
background is INFO memory's lazyfreed_objects (objects freed by the
lazyfree thread since start, one per key of a flushed db) growing while
lazyfree_pending_objects drains to 0, exactly as Redis 7.0 counts them.
The tests that take `both` run against redis-server 7.0 too, so the counts
expected are Redis's own.
"""

import pytest

import rmtest
from repl_helpers import assert_same_digest, call, info, wait_for, write_every_type

BIG = b"x" * 1024  # 1 KB: 8 to a quicklist node at list-max-listpack-size -2


def lazy_counts(server):
    m = info(server, "memory")
    return int(m["lazyfree_pending_objects"]), int(m["lazyfreed_objects"])


def wait_freed(server, expected):
    """Wait for nothing pending, then lazyfreed_objects must be `expected`."""
    def drained():
        pending, freed = lazy_counts(server)
        return pending == 0 and freed >= expected and (freed,)
    freed = wait_for("lazyfree to drain to %d freed" % expected, drained, timeout=60)[0]
    assert freed == expected, "lazyfreed_objects %d, expected %d" % (freed, expected)


def marker(c, key="marker"):
    """A value that is always freed in the background: once it is counted,
    whatever was handed over before it has been counted too (FIFO)."""
    assert c.call("RPUSH", key, *([BIG] * 1000)) == 1000
    assert c.call("UNLINK", key) == 1


# -- FLUSHALL / FLUSHDB ------------------------------------------------------

# (setup directives, command, keys it frees in the background)
FLUSHES = {
    "flushall-async": ((), ("FLUSHALL", "ASYNC"), "all"),
    "flushdb-async": ((), ("FLUSHDB", "ASYNC"), "db0"),
    "flushall-sync": ((), ("FLUSHALL", "SYNC"), "none"),
    "flushall-plain": ((), ("FLUSHALL",), "none"),
    "flushall-lazy-user-flush": (("--lazyfree-lazy-user-flush", "yes"), ("FLUSHALL",), "all"),
    "flushdb-lazy-user-flush": (("--lazyfree-lazy-user-flush", "yes"), ("FLUSHDB",), "db0"),
    "flushall-sync-despite-lazy-user-flush": (("--lazyfree-lazy-user-flush", "yes"),
                                              ("FLUSHALL", "SYNC"), "none"),
}


@pytest.mark.parametrize("case", sorted(FLUSHES))
def test_flush_frees_in_background_when_redis_does(both, case):
    args, command, frees = FLUSHES[case]
    server = both(*args)
    n0, n1 = rmtest.scaled(50000, 1000), 500
    with server.raw(timeout=60) as c:
        assert c.call("DEBUG", "POPULATE", n0) == b"OK"
        assert c.call("SELECT", 1) == b"OK"
        assert c.call("DEBUG", "POPULATE", n1) == b"OK"
        assert c.call("SELECT", 0) == b"OK"
        assert c.call(*command) == b"OK"
        assert c.call("DBSIZE") == 0
        assert c.call("SELECT", 1) == b"OK"
        assert c.call("DBSIZE") == (n1 if frees == "db0" else 0)
        marker(c)
    expected = {"all": n0 + n1, "db0": n0, "none": 0}[frees]
    wait_freed(server, expected + 1)


def test_flushall_async_of_a_large_dataset(servers):
    """The dataset is gone at once, writes and WATCH work meanwhile, and the
    lazyfree thread frees every key."""
    n = rmtest.scaled(2000000, 100000)
    server = servers.ringmaster()
    with server.raw(timeout=120) as c, server.raw() as watcher:
        assert c.call("DEBUG", "POPULATE", n) == b"OK"
        assert watcher.call("WATCH", "key:1") == b"OK"
        assert c.call("FLUSHALL", "ASYNC") == b"OK"
        assert c.call("DBSIZE") == 0
        assert c.call("GET", "key:1") is None
        assert c.call("SET", "new", "v") == b"OK"
        assert c.call("RPUSH", "list", "a", "b") == 2
        assert c.call("GET", "new") == b"v"
        # The flush touched the watched key: the transaction fails.
        assert watcher.call("MULTI") == b"OK"
        assert watcher.call("SET", "key:1", "x") == b"QUEUED"
        assert watcher.call("EXEC") is None
    wait_freed(server, n)
    assert call(server, "DBSIZE") == 2
    assert call(server, "LRANGE", "list", 0, -1) == [b"a", b"b"]


def test_shutdown_with_background_work_pending(servers):
    """SHUTDOWN right after a large FLUSHALL ASYNC exits cleanly (the
    teardown fails the test on a hang, an exit code or a leak report)."""
    server = servers.ringmaster()
    with server.raw(timeout=120) as c:
        assert c.call("DEBUG", "POPULATE", rmtest.scaled(1000000, 50000)) == b"OK"
        assert c.call("FLUSHALL", "ASYNC") == b"OK"
    server.stop()
    assert server.stop_problem is None, server.stop_problem


def test_config_resetstat_clears_lazyfreed_objects(both):
    server = both()
    with server.raw() as c:
        marker(c)
    wait_freed(server, 1)
    assert call(server, "CONFIG", "RESETSTAT") == b"OK"
    assert lazy_counts(server) == (0, 0)


# -- UNLINK and DEL ----------------------------------------------------------

def rpush(n, elem):
    return ("RPUSH", "k") + (elem,) * n


def members(cmd, n, pairs=False):
    out = (cmd, "k")
    for i in range(n):
        out += ("%d" % i, "m%d" % i) if pairs else ("m%d" % i,)
    return out


# (command that builds key k, whether freeing it goes to the background).
# Redis 7.0's rule: a list weighs its quicklist nodes, a set, hash or
# sorted set in a table encoding its elements, anything else 1; more than
# 64 goes to the background.
VALUES = {
    "list-1000-big-elements": (rpush(1000, BIG), True),
    "list-10-big-elements": (rpush(10, BIG), False),
    "list-1000-small-elements": (rpush(1000, b"1"), False),  # a node or two
    "set-1000": (members("SADD", 1000), True),
    "set-10": (members("SADD", 10), False),
    "hash-1000": (members("HSET", 1000, pairs=True), True),
    "hash-10": (members("HSET", 10, pairs=True), False),
    "zset-1000": (members("ZADD", 1000, pairs=True), True),
    "zset-10": (members("ZADD", 10, pairs=True), False),
    "string-1mb": (("SET", "k", b"x" * (1 << 20)), False),
}


def freed_in_background(server, delete):
    """For each value: build it, delete it with `delete`, and see whether
    lazyfreed_objects counted it (a marker after it shows it would have)."""
    out = {}
    for name in sorted(VALUES):
        with server.raw() as c:
            c.call(*VALUES[name][0])
            _, before = lazy_counts(server)
            assert c.call(delete, "k") == 1
            assert c.call("EXISTS", "k") == 0
            marker(c)
        def drained():
            pending, freed = lazy_counts(server)
            return pending == 0 and freed > before and (freed,)
        freed = wait_for("the marker to be freed", drained)[0]
        out[name] = freed - before == 2
    return out


def test_unlink_frees_large_values_in_background(both):
    server = both()
    got = freed_in_background(server, "UNLINK")
    assert got == {name: lazy for name, (_, lazy) in VALUES.items()}


@pytest.mark.parametrize("lazy_user_del", ["no", "yes"])
def test_del_follows_lazyfree_lazy_user_del(both, lazy_user_del):
    server = both("--lazyfree-lazy-user-del", lazy_user_del)
    got = freed_in_background(server, "DEL")
    assert got == {name: lazy and lazy_user_del == "yes" for name, (_, lazy) in VALUES.items()}


def test_lazy_settings_are_real_configs(both):
    server = both()
    with server.raw() as c:
        for name in ("replica-lazy-flush", "slave-lazy-flush", "lazyfree-lazy-user-del",
                     "lazyfree-lazy-user-flush"):
            assert c.call("CONFIG", "GET", name) == [name.encode(), b"no"]
            assert c.call("CONFIG", "SET", name, "yes") == b"OK"
            assert c.call("CONFIG", "GET", name) == [name.encode(), b"yes"]
            assert c.call("CONFIG", "SET", name, "no") == b"OK"
        assert c.call("CONFIG", "SET", "slave-lazy-flush", "yes") == b"OK"
        assert c.call("CONFIG", "GET", "replica-lazy-flush") == [b"replica-lazy-flush", b"yes"]


# -- replica-lazy-flush --------------------------------------------------------

@pytest.mark.parametrize("load", ["disabled", "swapdb"])
@pytest.mark.parametrize("lazy", ["yes", "no"])
def test_replica_lazy_flush_drops_the_old_dataset_in_background(servers, load, lazy):
    """A Ringmaster with data of its own becomes a replica: the full sync
    replaces its dataset, flushed before loading (disabled) or after the
    new one is in (swapdb), by the lazyfree thread under replica-lazy-flush."""
    master = servers.ringmaster("--repl-diskless-sync-delay", "0", name="master")
    with master.raw(timeout=60) as c:
        assert c.call("DEBUG", "POPULATE", rmtest.scaled(20000, 1000), "m") == b"OK"
    write_every_type(master)
    replica = servers.ringmaster("--repl-diskless-load", load, name="replica")
    own = rmtest.scaled(50000, 2000)
    with replica.raw(timeout=60) as c:
        assert c.call("DEBUG", "POPULATE", own, "mine") == b"OK"
        assert c.call("CONFIG", "SET", "replica-lazy-flush", lazy) == b"OK"
        assert c.call("REPLICAOF", "127.0.0.1", str(master.port)) == b"OK"

    def caught_up():
        r = info(replica)
        m = int(info(master)["master_repl_offset"])
        return r.get("master_link_status") == "up" and int(r["master_repl_offset"]) == m
    wait_for("the replica to catch up", caught_up, timeout=60)
    assert_same_digest(master, [replica])
    assert call(replica, "EXISTS", "mine:1") == 0
    wait_freed(replica, own if lazy == "yes" else 0)
