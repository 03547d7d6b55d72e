"""PSYNC2 topologies: chained replicas, promotion of a replica, and restart
with a partial resync, with Ringmaster and redis-server mixed along the way.

Every check compares real processes: DEBUG DIGEST and master_repl_offset at
every node, and the sync_full / sync_partial_ok counters of the node a
replica synchronised with.
"""

import threading

import pytest

import rmtest
from repl_helpers import (assert_same_digest, benchmark_load, call, info, wait_for,
                          write_every_type)


def start(servers, kind, *args, name):
    begin = servers.redis if kind == "redis" else servers.ringmaster
    return begin("--repl-diskless-sync-delay", "0", *args, name=name)


def follow(replica, master):
    assert call(replica, "REPLICAOF", "127.0.0.1", str(master.port)) == b"OK"


def sync_counts(server):
    i = info(server, "stats")
    return int(i["sync_full"]), int(i["sync_partial_ok"])


def shutdown_save(server):
    """SHUTDOWN SAVE, and the process gone with exit code 0."""
    with server.raw() as c:
        c.send_command("SHUTDOWN", "SAVE")
        try:
            c.read_reply()
        except (OSError, rmtest.ConnectionClosed):
            pass
    assert server.wait_exit(30 * rmtest.SLOWDOWN) == 0


def same_offsets(nodes, timeout=30.0):
    """Every link along the way is up and every node shows the top's offset."""
    def check():
        offs = []
        for n in nodes:
            i = info(n)
            if i["role"] == "slave" and i.get("master_link_status") != "up":
                return None
            offs.append(int(i["master_repl_offset"]))
        return offs[0] if len(set(offs)) == 1 else None
    return wait_for("every node at the same offset", check, timeout=timeout * rmtest.SLOWDOWN)


CHAINS = {
    "rm-rm-rm": ["ringmaster", "ringmaster", "ringmaster"],
    "redis-rm-rm-redis": ["redis", "ringmaster", "ringmaster", "redis"],
}


@pytest.mark.parametrize("chain", sorted(CHAINS))
def test_chain_under_write_load(servers, chain):
    """Each node replicates the one before it: the middle ones proxy the bytes
    they applied, so offsets and data agree at every node, and the stream's
    db carries over a full sync taken from a replica."""
    kinds = CHAINS[chain]
    nodes = [start(servers, kinds[0], name="top")]
    write_every_type(nodes[0], prefix="before", n=100)
    for i, kind in enumerate(kinds[1:], 1):
        nodes.append(start(servers, kind, name="node%d" % i))
        follow(nodes[i], nodes[i - 1])
        same_offsets(nodes)
    # The top's stream is now in db 5: a node that syncs from a middle one
    # from here on must continue in db 5 (the snapshot says so).
    with nodes[0].raw() as c:
        c.call("SELECT", "5")
        c.call("SET", "in5", "first")
    same_offsets(nodes)
    late = start(servers, "ringmaster", name="late")
    follow(late, nodes[1])
    same_offsets(nodes + [late])
    with nodes[0].raw() as c:
        c.call("SELECT", "5")
        c.call("SET", "in5-after", "second")
    load = threading.Thread(target=benchmark_load, args=(nodes[0],), daemon=True)
    load.start()
    write_every_type(nodes[0], prefix="during", n=100)
    load.join(timeout=120 * rmtest.SLOWDOWN)
    assert not load.is_alive()
    same_offsets(nodes + [late])
    assert_same_digest(nodes[0], nodes[1:] + [late])
    with late.raw() as c:
        c.call("SELECT", "5")
        assert c.call("GET", "in5-after") == b"second"
    # Each middle node served its replica: one full sync, listed in its INFO.
    for mid in nodes[1:-1]:
        assert info(mid)["connected_slaves"] in ("1", "2")
        assert info(mid)["slave0"].startswith("ip=127.0.0.1,port=")


def test_full_resync_of_a_middle_node_resyncs_its_replicas(servers):
    """A middle node that must full-sync from a new master drops its own
    replicas (their history ended), which then sync the new data from it."""
    top = start(servers, "ringmaster", name="top")
    mid = start(servers, "ringmaster", name="mid")
    leaf = start(servers, "ringmaster", name="leaf")
    write_every_type(top, prefix="old", n=50)
    follow(mid, top)
    same_offsets([top, mid])
    follow(leaf, mid)
    same_offsets([top, mid, leaf])
    other = start(servers, "redis", name="other")
    write_every_type(other, prefix="new", n=80)
    follow(mid, other)
    same_offsets([other, mid, leaf])
    assert_same_digest(other, [mid, leaf])
    assert info(leaf)["master_replid"] == info(other)["master_replid"]


@pytest.mark.parametrize("kind", ["ringmaster", "redis"])
def test_promoted_replica_serves_its_siblings_by_partial_resync(servers, kind):
    """REPLICAOF NO ONE on one replica; the other follows it and continues
    through replid2 without a full sync, with the writes that only the
    promoted node had (the sibling was away for them)."""
    master = start(servers, "ringmaster", name="master")
    a = start(servers, "ringmaster", name="a")
    b = start(servers, kind, name="b")
    follow(a, master)
    follow(b, master)
    write_every_type(master, prefix="one", n=100)
    same_offsets([master, a, b])
    # b is away while a receives more: a ends up ahead of b.
    assert call(b, "REPLICAOF", "127.0.0.1", str(rmtest.free_port())) == b"OK"
    write_every_type(master, prefix="two", n=100)
    same_offsets([master, a])
    assert int(info(b)["master_repl_offset"]) < int(info(a)["master_repl_offset"])
    assert call(a, "REPLICAOF", "NO", "ONE") == b"OK"
    follow(b, a)
    write_every_type(a, prefix="three", n=50)
    same_offsets([a, b])
    assert_same_digest(a, [b])
    full, partial = sync_counts(a)
    assert full == 0 and partial == 1, (full, partial)
    ai = info(a)
    assert ai["master_replid2"] == info(master)["master_replid"]


def test_sibling_ahead_of_the_promoted_node_full_syncs(servers):
    """A sibling that applied bytes the promoted node never saw cannot
    continue from it: PSYNC must give a full sync, never a silent merge of
    two histories."""
    master = start(servers, "ringmaster", name="master")
    a = start(servers, "ringmaster", name="a")
    b = start(servers, "ringmaster", name="b")
    follow(a, master)
    follow(b, master)
    write_every_type(master, prefix="one", n=50)
    same_offsets([master, a, b])
    assert call(a, "REPLICAOF", "NO", "ONE") == b"OK"
    write_every_type(master, prefix="only-b", n=50)  # b sees these, a does not
    same_offsets([master, b])
    write_every_type(a, prefix="only-a", n=20)
    follow(b, a)
    same_offsets([a, b])
    assert_same_digest(a, [b])
    full, partial = sync_counts(a)
    assert full == 1 and partial == 0, (full, partial)
    assert call(b, "EXISTS", "only-b:ctr") == 0


@pytest.mark.parametrize("master_kind", ["ringmaster", "redis"])
def test_replica_restarted_from_its_rdb_resumes_by_partial_resync(servers, master_kind):
    """SHUTDOWN SAVE on a replica, then the same replica again: its RDB's
    repl-id / repl-offset / repl-stream-db make it continue where it stopped,
    in the right db, with only the bytes it missed."""
    master = start(servers, master_kind, name="master")
    replica = start(servers, "ringmaster", "--replicaof", "127.0.0.1", str(master.port),
                    name="replica")
    write_every_type(master, prefix="before", n=100)
    with master.raw() as c:
        c.call("SELECT", "4")
        c.call("SET", "in4", "x")
    same_offsets([master, replica])
    full0, partial0 = sync_counts(master)
    shutdown_save(replica)
    # Missed while down, in db 4 without a new SELECT from the master.
    with master.raw() as c:
        c.call("SELECT", "4")
        c.call("SET", "while-down", "y")
    replica.start()
    replica.exit_expected = False
    same_offsets([master, replica])
    assert_same_digest(master, [replica])
    with replica.raw() as c:
        c.call("SELECT", "4")
        assert c.call("GET", "while-down") == b"y"
    full, partial = sync_counts(master)
    assert (full, partial) == (full0, partial0 + 1), (full0, partial0, full, partial)
    assert replica.wait_log("Successful partial resynchronization with master", timeout=5)


def test_master_restarted_from_its_rdb_lets_replicas_continue(servers):
    """A master stopped with SHUTDOWN SAVE and started again keeps its history
    as replid2 up to where it stopped: its replicas continue by partial
    resync, and its new writes start a new id."""
    master = start(servers, "ringmaster", name="master")
    replica = start(servers, "ringmaster", "--replicaof", "127.0.0.1", str(master.port),
                    name="replica")
    write_every_type(master, prefix="before", n=100)
    same_offsets([master, replica])
    old_id = info(master)["master_replid"]
    shutdown_save(master)
    master.start()
    master.exit_expected = False
    minfo = info(master)
    assert minfo["master_replid2"] == old_id
    assert minfo["master_replid"] != old_id
    write_every_type(master, prefix="after", n=50)
    same_offsets([master, replica])
    assert_same_digest(master, [replica])
    full, partial = sync_counts(master)
    assert (full, partial) == (0, 1), (full, partial)
