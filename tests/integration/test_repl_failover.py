"""FAILOVER [TO host port [FORCE]] [ABORT] [TIMEOUT ms]: a master hands its
role to a replica (writes held until the replica has everything, then the
old master follows it by partial resync), with Ringmaster and redis-server
on either side; its errors compared with redis-server's.
"""

import socket
import threading
import time

import pytest

import rmtest
from repl_helpers import call, info, wait_for, write_every_type, assert_same_digest


def start(servers, kind, *args, name):
    begin = servers.redis if kind == "redis" else servers.ringmaster
    return begin("--repl-diskless-sync-delay", "0", *args, name=name)


def in_sync(master, replicas):
    def check():
        m = info(master)
        if any(info(r).get("master_link_status") != "up" for r in replicas):
            return None
        offs = {info(r)["master_repl_offset"] for r in replicas}
        return offs == {m["master_repl_offset"]} or None
    wait_for("replicas in sync", check, timeout=20 * rmtest.SLOWDOWN)


def role(server):
    return call(server, "ROLE")[0]


def pair(servers, master_kind, replica_kind):
    master = start(servers, master_kind, name="master")
    replica = start(servers, replica_kind, "--replicaof", "127.0.0.1", str(master.port),
                    name="replica")
    write_every_type(master, prefix="before", n=100)
    in_sync(master, [replica])
    return master, replica


@pytest.mark.parametrize("kinds", ["rm-rm", "redis-rm", "rm-redis"])
def test_failover_swaps_roles_without_losing_a_write(servers, kinds):
    """The master holds writes, waits for its replica, makes it the master
    with PSYNC ... FAILOVER, and continues as its replica by partial resync."""
    master_kind, replica_kind = ["redis" if k == "redis" else "ringmaster"
                                 for k in kinds.split("-")]
    master, replica = pair(servers, master_kind, replica_kind)
    last = call(master, "INCR", "before:ctr")
    assert call(master, "FAILOVER") == b"OK"
    wait_for("the roles to swap", lambda: role(replica) == b"master" and
             info(master).get("master_link_status") == "up", timeout=20 * rmtest.SLOWDOWN)
    assert role(master) == b"slave"
    assert info(master)["master_failover_state"] == "no-failover"
    assert call(replica, "GET", "before:ctr") == b"%d" % last
    write_every_type(replica, prefix="after", n=50)
    in_sync(replica, [master])
    assert_same_digest(replica, [master])
    stats = info(replica, "stats")
    assert (stats["sync_full"], stats["sync_partial_ok"]) == ("0", "1")
    assert info(replica)["master_replid2"] == info(master)["master_replid2"]


def test_failover_to_a_named_replica(servers):
    master = start(servers, "ringmaster", name="master")
    a = start(servers, "ringmaster", "--replicaof", "127.0.0.1", str(master.port), name="a")
    b = start(servers, "ringmaster", "--replicaof", "127.0.0.1", str(master.port), name="b")
    write_every_type(master, n=50)
    in_sync(master, [a, b])
    assert call(master, "FAILOVER", "TO", "127.0.0.1", str(b.port), "TIMEOUT", "5000") == b"OK"
    wait_for("b to be the master", lambda: role(b) == b"master" and
             info(master).get("master_link_status") == "up", timeout=20 * rmtest.SLOWDOWN)
    assert role(a) == b"slave"
    assert master.wait_log("FAILOVER requested to 127.0.0.1:%d." % b.port)
    assert master.wait_log("Failover target 127.0.0.1:%d is synced, failing over." % b.port)
    # a still follows the old master, now b's replica: a chain.
    call(b, "SET", "via-b", "1")
    in_sync(b, [master])
    wait_for("a to get b's write", lambda: call(a, "GET", "via-b") == b"1",
             timeout=10 * rmtest.SLOWDOWN)


def sleeping_replica(servers, master_kind, seconds):
    master, replica = pair(servers, master_kind, "ringmaster")
    threading.Thread(target=call, args=(replica, "DEBUG", "SLEEP", str(seconds)),
                     daemon=True).start()
    time.sleep(0.2)
    call(master, "SET", "unseen", "1")
    return master, replica


@pytest.mark.parametrize("master_kind", ["ringmaster", "redis"])
def test_failover_abort_while_waiting(servers, master_kind):
    master, replica = sleeping_replica(servers, master_kind, 3)
    assert call(master, "FAILOVER") == b"OK"
    assert info(master)["master_failover_state"] == "waiting-for-sync"
    writer = socket.create_connection(("127.0.0.1", master.port), timeout=10)
    writer.sendall(rmtest.encode_command("SET", "held", "1"))
    writer.settimeout(0.5)
    with pytest.raises(socket.timeout):
        writer.recv(100)
    assert call(master, "FAILOVER", "ABORT") == b"OK"
    writer.settimeout(5)
    assert writer.recv(100) == b"+OK\r\n"
    assert info(master)["master_failover_state"] == "no-failover"
    assert role(master) == b"master"
    assert master.wait_log("FAILOVER to any replica aborted: Failover manually aborted")
    writer.close()


@pytest.mark.parametrize("master_kind", ["ringmaster", "redis"])
def test_failover_timeout_without_force_gives_up(servers, master_kind):
    master, replica = sleeping_replica(servers, master_kind, 3)
    assert call(master, "FAILOVER", "TIMEOUT", "500") == b"OK"
    assert master.wait_log("FAILOVER to any replica aborted: Replica never caught up before "
                           "timeout", timeout=5)
    assert role(master) == b"master"
    assert call(master, "SET", "writable", "1") == b"OK"


ERROR_CASES = [
    ["FAILOVER", "ABORT"],
    ["FAILOVER", "TIMEOUT", "0"],
    ["FAILOVER", "TIMEOUT", "-5"],
    ["FAILOVER", "TIMEOUT", "abc"],
    ["FAILOVER", "FORCE"],
    ["FAILOVER", "TO", "127.0.0.1", "1", "FORCE"],
    ["FAILOVER", "TO", "127.0.0.1", "1"],
    ["FAILOVER", "TO", "127.0.0.1", "x"],
    ["FAILOVER", "bogus"],
    ["FAILOVER", "FORCE", "FORCE"],
]


def test_failover_errors_match_redis(servers):
    rm_master, rm_replica = pair(servers, "ringmaster", "ringmaster")
    redis_master, redis_replica = pair(servers, "redis", "redis")
    lone_rm, lone_redis = start(servers, "ringmaster", name="lone-rm"), \
        start(servers, "redis", name="lone-redis")
    with rm_master.raw() as a, redis_master.raw() as b:
        for args in ERROR_CASES:
            assert a.call_raw(*args) == b.call_raw(*args), args
    for args in (["FAILOVER"], ["FAILOVER", "ABORT"]):
        assert call(lone_rm, *args) == call(lone_redis, *args)
        with rm_replica.raw() as a, redis_replica.raw() as b:
            assert a.call_raw(*args) == b.call_raw(*args), args
    # PSYNC ... FAILOVER sent to a master, and to a replica with another history.
    for a_server, b_server in ((lone_rm, lone_redis), (rm_replica, redis_replica)):
        with a_server.raw() as a, b_server.raw() as b:
            assert a.call_raw("PSYNC", "x" * 40, "1", "FAILOVER") == \
                b.call_raw("PSYNC", "x" * 40, "1", "FAILOVER")
