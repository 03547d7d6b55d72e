"""Acceptance tests of the replication master, against real redis-server 7.0.

  * full sync then streaming for 1 and 3 replicas, disk and diskless, under
    redis-benchmark load of every data type plus expiries, deletes, MULTI/EXEC
    and writes in another db: digests and offsets equal the master's;
  * writes made while the snapshot child runs reach the replicas;
  * liveness of an idle master: every ACK counts (lag, min-replicas);
  * a replica that loads for longer than repl-timeout is not timed out;
  * a replica that stops reading its payload is timed out (full sync) and
    does not hold back the replica that shares its snapshot;
  * a plain SYNC replica is never timed out;
  * the replica soft output-buffer limit drops a stalled replica once;
  * repl-backlog-ttl frees the backlog after its replicas are gone.

Slow paths are made to happen fast: rdb-key-save-delay on the master,
key-load-delay on a replica, repl-timeout 2. Every wait is bounded
(repl_helpers.wait_for, scaled by rmtest.SLOWDOWN).
"""

import re
import socket
import signal
import subprocess
import time

import pytest

import rmtest
from repl_helpers import (assert_same_digest, call, info, start_replica, wait_for, wait_synced,
                          write_every_type)
from test_repl_faults import RawReplica, populate, replica_states

MODES = {
    "disk": ("--repl-diskless-sync", "no"),
    "diskless": ("--repl-diskless-sync", "yes", "--repl-diskless-sync-delay", "0"),
}

BENCH_ALL = "set,incr,lpush,rpush,lpop,rpop,sadd,spop,hset,zadd,zpopmin,mset"
# lpop/rpop, spop and zpopmin empty what lpush/rpush, sadd and zadd filled:
# a second, shorter run leaves a list, a set and a sorted set behind.
BENCH_FILL = "lpush,rpush,sadd,zadd,hset"


def stats(server):
    return info(server, "stats")


def offset(server):
    return int(info(server)["master_repl_offset"])


def benchmark(master, tests, requests):
    """redis-benchmark against the master; any error reply fails the test."""
    cmd = ["redis-benchmark", "-h", "127.0.0.1", "-p", str(master.port), "-q", "-P", "16",
           "-c", "8", "-r", "1000", "-n", str(rmtest.scaled(requests, 500)), "-t", tests]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=60 * rmtest.SLOWDOWN)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "rror" not in out.stdout + out.stderr, out.stdout + out.stderr


def extra_writes(master, tag):
    """The writes redis-benchmark does not make, through redis-py: expiries
    (one that fires), DEL, ZREM, HDEL, SREM, LTRIM, MULTI/EXEC, another db."""
    r = master.client()
    assert r.llen("mylist") > 10 and r.scard("myset") > 0 and r.zcard("myzset") > 0
    r.set("%s:short" % tag, "gone soon")
    assert r.pexpire("%s:short" % tag, 100)
    r.set("%s:long" % tag, "stays")
    assert r.expire("%s:long" % tag, 100000)
    r.hset("%s:h" % tag, mapping={"a": 1, "b": 2, "c": 3})
    assert r.pexpire("%s:h" % tag, 10000000)
    r.mset({"%s:d1" % tag: 1, "%s:d2" % tag: 2, "%s:d3" % tag: 3})
    assert r.delete("%s:d1" % tag, "%s:d2" % tag) == 2
    r.zadd("%s:z" % tag, {"x": 1, "y": 2, "z": 3})
    assert r.zrem("%s:z" % tag, "y") == 1
    assert r.zrem("myzset", *[r.zrange("myzset", 0, 0)[0]]) == 1
    r.hset("myhash", "extra", "1")
    assert r.hdel("myhash", "extra") == 1
    r.sadd("%s:s" % tag, "a", "b", "c")
    assert r.srem("%s:s" % tag, "a", "nope") == 1
    assert r.srem("myset", r.srandmember("myset")) == 1
    assert r.ltrim("mylist", 0, 9)
    assert r.llen("mylist") == 10
    p = r.pipeline(transaction=True)
    p.incr("%s:ctr" % tag).lpush("%s:l" % tag, "a", "b").hset("%s:h" % tag, "d", 4)
    p.zadd("%s:z" % tag, {"w": 0}).expire("%s:l" % tag, 5000)
    assert p.execute() == [1, 2, 1, 1, True]
    other = master.client(db=5)  # redis-py sends SELECT 5 on connect
    other.set("%s:db5" % tag, "x")
    other.rpush("%s:db5:l" % tag, 1, 2, 3)
    p = other.pipeline(transaction=True)
    p.sadd("%s:db5:s" % tag, 1, 2).delete("%s:db5" % tag).pexpire("%s:db5:l" % tag, 900000)
    assert p.execute() == [2, 1, True]
    r.set("%s:back-in-db0" % tag, "y")
    # The short expiry fires: the access deletes the key and propagates a DEL.
    wait_for("the short-lived key to expire", lambda: r.exists("%s:short" % tag) == 0)
    other.close()
    r.close()


def assert_streamed_extra_writes(replica, tag):
    r = replica.client()
    assert r.exists("%s:short" % tag) == 0
    assert r.get("%s:long" % tag) == b"stays" and r.ttl("%s:long" % tag) > 0
    assert r.llen("mylist") == 10
    assert r.zrange("%s:z" % tag, 0, -1) == [b"w", b"x", b"z"]
    assert r.exists("%s:d1" % tag, "%s:d2" % tag, "%s:d3" % tag) == 1
    db5 = replica.client(db=5)
    assert db5.smembers("%s:db5:s" % tag) == {b"1", b"2"}
    assert db5.exists("%s:db5" % tag) == 0 and db5.pttl("%s:db5:l" % tag) > 0
    db5.close()
    r.close()


# ---- (1) full sync, then the stream, for every shape -----------------------

@pytest.mark.parametrize("nreplicas", [1, 3])
@pytest.mark.parametrize("mode", list(MODES))
def test_full_sync_then_stream(servers, mode, nreplicas):
    args = MODES[mode]
    if mode == "diskless":
        # All replicas share one snapshot: the delay waits for them, the
        # max-replicas count starts it as soon as they are all there.
        args = ("--repl-diskless-sync", "yes", "--repl-diskless-sync-delay", "5",
                "--repl-diskless-sync-max-replicas", str(nreplicas))
    master = servers.ringmaster(*args)
    write_every_type(master, "pre", 200)
    replicas = [start_replica(servers, master, name="replica%d" % i) for i in range(nreplicas)]
    wait_synced(master, replicas, timeout=30)
    target = "disk" if mode == "disk" else "replicas sockets"
    assert master.wait_log("Starting BGSAVE for SYNC with target: %s" % target)
    for r in replicas:
        assert master.wait_log("Synchronization with replica 127.0.0.1:%d succeeded" % r.port)
        assert r.wait_log("MASTER <-> REPLICA sync: Finished with success")
        if mode == "diskless":
            assert r.wait_log("receiving streamed RDB from master with EOF")
    assert stats(master)["sync_full"] == str(nreplicas)
    synced_at = offset(master)
    benchmark(master, BENCH_ALL, 10000)
    benchmark(master, BENCH_FILL, 2000)
    extra_writes(master, "x")
    write_every_type(master, "post", 100)
    final = wait_synced(master, replicas)
    assert final > synced_at + 100000, "the stream carried too little: %d" % (final - synced_at)
    assert_same_digest(master, replicas)
    for r in replicas:
        assert int(info(r)["master_repl_offset"]) == offset(master)
        assert_streamed_extra_writes(r, "x")
    st = stats(master)
    assert st["sync_full"] == str(nreplicas) and st["sync_partial_ok"] == "0"
    assert info(master)["connected_slaves"] == str(nreplicas)


# ---- (2) writes while the child produces the snapshot -----------------------

@pytest.mark.parametrize("mode", list(MODES))
def test_writes_during_snapshot_reach_replicas(servers, mode):
    # 3000 keys at 0.5 ms each: the child runs for about 1.5 s.
    master = servers.ringmaster(*MODES[mode], "--rdb-key-save-delay", "500")
    populate(master, 3000, 16)
    replica = start_replica(servers, master)
    started = ("Background RDB transfer started by pid" if mode == "diskless"
               else "Background saving started by pid")
    ended = ("Background RDB transfer terminated" if mode == "diskless"
             else "Background saving terminated")
    assert master.wait_log(started, timeout=10), master.log_tail()
    fork_offset = offset(master)
    write_every_type(master, "during", 100)
    with master.raw() as c:
        assert c.call("DEL", "key:0", "key:1") == 2
        assert c.call("SET", "key:2", "changed") == b"OK"
        assert c.call("PEXPIRE", "key:3", 100000000) == 1
        assert c.call("SELECT", 7) == b"OK"
        assert c.call("HSET", "db7hash", "f", "v") == 1
    # The writes landed while the child still ran (it snapshotted the fork).
    assert ended not in master.log_text(), "the child finished too soon: the test proves nothing"
    assert offset(master) > fork_offset
    assert master.wait_log(ended + " with success", timeout=20)
    wait_synced(master, [replica], timeout=20)
    assert_same_digest(master, [replica])
    r = replica.client()
    assert r.get("key:2") == b"changed" and r.exists("key:0") == 0 and r.pttl("key:3") > 0
    assert r.get("during:s:99") == b"v99" and r.dbsize() == 3000 - 2 + 100 + 5
    assert replica.client(db=7).hget("db7hash", "f") == b"v"
    assert stats(master)["sync_full"] == "1"


# ---- (4) liveness of an idle master ------------------------------------------

def test_idle_master_counts_every_ack(servers):
    master = servers.ringmaster(*MODES["diskless"], "--repl-ping-replica-period", "10")
    write_every_type(master, "idle", 20)
    replica = start_replica(servers, master)
    wait_synced(master, [replica])
    assert call(master, "CONFIG", "SET", "min-replicas-to-write", "1") == b"OK"
    assert call(master, "CONFIG", "SET", "min-replicas-max-lag", "2") == b"OK"
    # No write and no PING for the next few seconds: the offset stays put,
    # so the replica's once-a-second ACKs all repeat the same offset.
    idle_offset = offset(master)
    seen = []
    t_end = time.monotonic() + 3.5
    while time.monotonic() < t_end:
        i = info(master)
        lag = int(re.search(r",lag=(\d+)$", i["slave0"]).group(1))
        seen.append((lag, i.get("min_slaves_good_slaves")))
        assert lag <= 1, "lag %d on an idle link with ACKs every second: %r" % (lag, seen)
        assert i["min_slaves_good_slaves"] == "1", seen
        time.sleep(0.2)
    assert offset(master) == idle_offset, "the master wrote during the idle window"
    assert call(master, "SET", "after-idle", "ok") == b"OK"
    wait_synced(master, [replica])
    assert_same_digest(master, [replica])


# ---- (5) a replica that loads for longer than repl-timeout -------------------

@pytest.mark.parametrize("mode", list(MODES))
def test_loading_replica_is_not_timed_out(servers, mode):
    master = servers.ringmaster(*MODES[mode], "--repl-timeout", "2")
    populate(master, 4000, 16)
    # About 4 s of loading (1 ms a key). A loading redis sends a newline to
    # its master at most once a second, from the loading progress callback,
    # which runs every loading-process-events-interval-bytes (2 MB by
    # default, more than this dataset: hence 1024, as Redis's own tests do).
    replica = start_replica(servers, master, "replica", "--key-load-delay", "1000",
                            "--loading-process-events-interval-bytes", "1024")
    # From the log, not INFO: a replica that loads without processing
    # events would not answer INFO until it is done.
    assert replica.wait_log("MASTER <-> REPLICA sync: Loading DB in memory", timeout=10)
    t0 = time.monotonic()
    assert replica.wait_log("Done loading RDB, keys loaded: 4000", timeout=30)
    loading = time.monotonic() - t0
    assert loading > 2.5, "loading took %.1fs, not longer than repl-timeout" % loading
    wait_synced(master, [replica])
    assert master.wait_log("Synchronization with replica 127.0.0.1:%d succeeded" % replica.port)
    assert replica.wait_log("MASTER <-> REPLICA sync: Finished with success")
    assert "Disconnecting timedout replica" not in master.log_text()
    assert "Connection with replica" not in master.log_text()
    assert call(master, "SET", "after-load", "1") == b"OK"
    wait_synced(master, [replica])
    assert_same_digest(master, [replica])
    assert stats(master)["sync_full"] == "1"


# ---- (6) a replica that stops reading its payload -----------------------------

def test_full_sync_timeout_frees_the_shared_snapshot(servers):
    master = servers.ringmaster("--repl-diskless-sync", "yes", "--repl-diskless-sync-delay", "5",
                                "--repl-diskless-sync-max-replicas", "2", "--repl-timeout", "2",
                                "--rdbcompression", "no")
    # About 6 MB of payload, not scaled down under sanitizers: more than the
    # pipe and both socket buffers hold (the raw replica's receive buffer is
    # also made small, before the payload starts).
    populate(master, 24000, 256)
    raw = RawReplica(master)  # PSYNC ? -1, then never reads a byte
    raw.conn.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
    try:
        good = start_replica(servers, master, name="good")
        # repl-timeout 2, checked at the once-a-second TICK, after the
        # payload stops moving: well within 8 s.
        assert master.wait_log("Disconnecting timedout replica (full sync): %s" % raw.name,
                               timeout=8), master.log_tail()
        assert master.wait_log("Connection with replica %s lost." % raw.name)
        wait_synced(master, [good], timeout=30)
        assert master.wait_log("Synchronization with replica 127.0.0.1:%d succeeded" % good.port)
        assert list(replica_states(master)) == [good.port]
        assert_same_digest(master, [good])
        write_every_type(master, "after", 50)
        wait_synced(master, [good])
        assert_same_digest(master, [good])
        text = master.log_text()
        assert text.count("Starting BGSAVE for SYNC with target: replicas sockets") == 1
        assert text.count("Disconnecting timedout replica") == 1
    finally:
        raw.close()


# ---- (7) a plain SYNC replica is never timed out ------------------------------

def test_sync_replica_is_not_timed_out(servers):
    master = servers.ringmaster(*MODES["diskless"], "--repl-timeout", "2")
    write_every_type(master, "sync", 20)
    conn = rmtest.RespConn(master.port)
    try:
        conn.send(b"SYNC\r\n")
        header = conn._line().lstrip(b"\n")
        assert re.match(rb"\$\d+\r\n$", header), header
        size = int(header[1:-2])
        payload = conn._exact(size)
        assert payload.startswith(b"REDIS"), payload[:16]
        wait_for("the SYNC replica online",
                 lambda: ",state=online," in info(master).get("slave0", ""))
        # Twice repl-timeout without a single ACK: still a replica.
        t_end = time.monotonic() + 4.0
        while time.monotonic() < t_end:
            assert info(master)["connected_slaves"] == "1"
            time.sleep(0.25)
        assert "Disconnecting timedout replica" not in master.log_text()
        assert call(master, "SET", "late-write", "reaches-sync-replica") == b"OK"
        want = rmtest.encode_command("SET", "late-write", "reaches-sync-replica")
        data, closed = rmtest.read_until_closed_or_quiet(conn.sock, quiet=2.0, limit=5.0,
                                                         until=want)
        data = conn.pending() + data
        assert want in data, data[-300:]
        assert not closed
        assert info(master)["connected_slaves"] == "1"
    finally:
        conn.close()


# ---- (8) the replica soft output-buffer limit ---------------------------------

def test_soft_output_buffer_limit_drops_a_stalled_replica_once(servers):
    master = servers.ringmaster(*MODES["diskless"], "--client-output-buffer-limit",
                                "replica", "0", "256kb", "1")
    write_every_type(master, "pre", 50)
    replica = start_replica(servers, master)
    wait_synced(master, [replica])
    replica.proc.send_signal(signal.SIGSTOP)
    try:
        value = "s" * 100000
        t0 = time.monotonic()
        rounds = [0]

        def dropped():
            with master.raw() as c:
                for i in range(10):
                    c.call("SET", "big:%d" % (i + 10 * (rounds[0] % 5)), value)
            rounds[0] += 1
            return "overcoming of output buffer limits" in master.log_text()
        wait_for("the soft-limit drop", dropped, timeout=30, interval=0.1)
        # Above the soft limit for more than a second, not at once.
        assert time.monotonic() - t0 > 1.0
        assert master.wait_log("Connection with replica 127.0.0.1:%d lost" % replica.port,
                               timeout=10)
        wait_for("connected_slaves 0", lambda: info(master)["connected_slaves"] == "0")
    finally:
        replica.proc.send_signal(signal.SIGCONT)
    text = master.log_text()
    assert text.count("overcoming of output buffer limits") == 1
    assert text.count("replica soft limit 262144 bytes") == 1
    assert "hard limit" not in text
    wait_synced(master, [replica], timeout=30)
    assert_same_digest(master, [replica])
    assert master.log_text().count("overcoming of output buffer limits") == 1


# ---- (9) repl-backlog-ttl -----------------------------------------------------

def test_backlog_freed_after_ttl_without_replicas(servers):
    master = servers.ringmaster(*MODES["diskless"], "--repl-backlog-ttl", "2")
    write_every_type(master, "ttl", 20)
    replica = start_replica(servers, master)
    wait_synced(master, [replica])
    before = info(master)
    assert before["repl_backlog_active"] == "1"
    replica.stop()
    wait_for("connected_slaves 0", lambda: info(master)["connected_slaves"] == "0")
    t0 = time.monotonic()
    assert master.wait_log("Replication backlog freed after 2 seconds without connected replicas.",
                           timeout=10), master.log_tail()
    elapsed = time.monotonic() - t0
    assert elapsed > 1.5, "freed %.1fs after the last replica left" % elapsed
    after = info(master)
    assert after["repl_backlog_active"] == "0"
    assert after["master_replid"] != before["master_replid"], "no new history"
    # Without a backlog nothing is counted; a new replica starts from a full sync.
    stopped_at = int(after["master_repl_offset"])
    write_every_type(master, "nobacklog", 20)
    assert offset(master) == stopped_at
    again = start_replica(servers, master, name="again")
    wait_synced(master, [again])
    assert info(master)["repl_backlog_active"] == "1"
    assert stats(master)["sync_full"] == "2"
    assert_same_digest(master, [again])
