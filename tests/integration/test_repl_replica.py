"""Ringmaster as a replica: following a real redis-server 7.0 master and a
Ringmaster master, full and partial resynchronisation, REPLICAOF at runtime,
serving rules while a replica, and masters that misbehave.

Every comparison is against the master itself: DEBUG DIGEST of the whole
dataset and master_repl_offset, once the replica says it caught up.
"""

import os
import socket
import threading
import time

import pytest

import rmtest
from repl_helpers import (assert_same_digest, benchmark_load, call, caught_up, info, wait_for,
                          write_every_type)


def ringmaster_replica(servers, master, *extra, name="rm-replica"):
    return servers.ringmaster("--replicaof", "127.0.0.1", str(master.port),
                              "--repl-timeout", "60", *extra, name=name)


@pytest.mark.parametrize("master_kind", ["redis", "ringmaster"])
@pytest.mark.parametrize("load", ["disabled", "on-empty-db", "swapdb"])
@pytest.mark.parametrize("diskless_sync", ["no", "yes"])
def test_follows_a_master_under_write_load(servers, master_kind, load, diskless_sync):
    start = servers.redis if master_kind == "redis" else servers.ringmaster
    master = start("--repl-diskless-sync", diskless_sync, "--repl-diskless-sync-delay", "0",
                   "--save", "", name="master")
    write_every_type(master, prefix="before")
    replica = ringmaster_replica(servers, master, "--repl-diskless-load", load)
    load_thread = threading.Thread(target=benchmark_load, args=(master,), daemon=True)
    load_thread.start()
    write_every_type(master, prefix="during", n=100)
    load_thread.join(timeout=120 * rmtest.SLOWDOWN)
    assert not load_thread.is_alive()
    caught_up(master, replica)
    assert_same_digest(master, [replica])
    rinfo = info(replica)
    assert rinfo["role"] == "slave"
    assert rinfo["master_replid"] == info(master)["master_replid"]
    # The replica refuses writes, and still serves reads.
    with replica.raw() as c:
        assert c.call_raw("SET", "x", "y") == \
            b"-READONLY You can't write against a read only replica.\r\n"
        assert c.call("GET", "before:s:5") == b"v5"


@pytest.mark.parametrize("master_kind", ["redis", "ringmaster"])
@pytest.mark.parametrize("killer", ["replica", "master"])
def test_killed_link_resumes_with_partial_resync(servers, master_kind, killer):
    """CLIENT KILL TYPE master on the replica, or TYPE replica on the
    master: the link comes back by PSYNC from the cached master, with no
    full resync."""
    start = servers.redis if master_kind == "redis" else servers.ringmaster
    master = start("--save", "", name="master")
    write_every_type(master)
    replica = ringmaster_replica(servers, master)
    caught_up(master, replica)
    before = info(master, "stats")
    side, kind = (replica, "master") if killer == "replica" else (master, "replica")
    with side.raw() as c:
        assert c.call("CLIENT", "KILL", "TYPE", kind) == 1
    write_every_type(master, prefix="after")
    caught_up(master, replica)
    after = info(master, "stats")
    assert int(after["sync_partial_ok"]) == int(before["sync_partial_ok"]) + 1
    assert after["sync_full"] == before["sync_full"]
    assert_same_digest(master, [replica])
    assert replica.wait_log("Successful partial resynchronization with master.")


@pytest.mark.parametrize("has_data", [False, True])
def test_disk_payload_ends_up_as_dbfilename(servers, has_data):
    """repl-diskless-load disabled: the payload becomes dbfilename, whole,
    whether it was loaded as it arrived (an empty replica) or once the file
    was complete (a replica with data of its own, kept until then): the
    replica restarted from that file alone has the master's data."""
    master = servers.ringmaster("--repl-diskless-sync", "yes", "--repl-diskless-sync-delay", "0",
                                name="master")
    write_every_type(master, prefix="m", n=300)
    replica = servers.ringmaster("--repl-diskless-load", "disabled", name="disk-replica")
    if has_data:
        write_every_type(replica, prefix="own", n=50)
    with replica.raw() as c:
        assert c.call_raw("REPLICAOF", "127.0.0.1", str(master.port)) == b"+OK\r\n"
    caught_up(master, replica)
    digest = assert_same_digest(master, [replica])
    assert replica.wait_log("MASTER <-> REPLICA sync: Finished with success")
    as_written = "loading the payload as it is written to disk" in replica.log_text()
    assert as_written == (not has_data)
    assert os.path.exists(os.path.join(str(replica.workdir), "dump.rdb"))
    with replica.raw() as c:
        c.call("REPLICAOF", "NO", "ONE")
        c.send_command("SHUTDOWN", "NOSAVE")
    replica.expect_exit()
    assert replica.wait_exit(20 * rmtest.SLOWDOWN) == 0
    replica.start()
    replica.exit_expected = False
    assert call(replica, "DEBUG", "DIGEST") == digest


@pytest.mark.parametrize("master_kind", ["redis", "ringmaster"])
def test_link_down_past_the_backlog_means_one_full_resync(servers, master_kind):
    """While the replica cannot get back in (the master asks for a password
    it does not have), the master writes more than its backlog holds: the
    PSYNC that follows fails and exactly one full resync brings the replica
    back, with no loop."""
    start = servers.redis if master_kind == "redis" else servers.ringmaster
    master = start("--save", "", "--repl-backlog-size", "16kb", "--repl-diskless-sync-delay", "0",
                   name="master")
    write_every_type(master)
    replica = ringmaster_replica(servers, master)
    caught_up(master, replica)
    before = info(master, "stats")
    with master.raw() as c:
        assert c.call("CONFIG", "SET", "requirepass", "sesame") == b"OK"
        assert c.call("AUTH", "sesame") == b"OK"
        assert c.call("CLIENT", "KILL", "TYPE", "replica") == 1
        wait_for("the link to drop", lambda: info(replica)["master_link_status"] == "down")
        value = "v" * 1000
        for i in range(100):  # 100 KB: far past the 16 KB backlog
            assert c.call("SET", "big:%d" % i, value) == b"OK"
        time.sleep(1.5 * rmtest.SLOWDOWN)  # the replica tries, and is refused
        assert info(replica)["master_link_status"] == "down"
        assert c.call("CONFIG", "SET", "requirepass", "") == b"OK"
    caught_up(master, replica)
    time.sleep(1.0 * rmtest.SLOWDOWN)  # a loop would show as more syncs
    after = info(master, "stats")
    assert int(after["sync_full"]) == int(before["sync_full"]) + 1
    assert int(after["sync_partial_err"]) == int(before["sync_partial_err"]) + 1
    assert after["sync_partial_ok"] == before["sync_partial_ok"]
    assert_same_digest(master, [replica])


def test_shutdown_while_following(servers):
    """A replica stopped while its link is up frees its master client once
    (under ASan a second free fails the test through the log check)."""
    master = servers.ringmaster("--save", "", name="master")
    write_every_type(master)
    replica = ringmaster_replica(servers, master)
    caught_up(master, replica)
    replica.stop()
    assert replica.sanitizer_report() == ""
    assert "Caching the disconnected master state." in replica.log_text()


def test_replicaof_at_runtime_and_no_one(servers):
    master = servers.redis("--save", "", name="master")
    write_every_type(master)
    replica = servers.ringmaster(name="rm")
    with replica.raw() as c:
        assert c.call("SET", "mine", "1") == b"OK"
        assert c.call_raw("REPLICAOF", "127.0.0.1", str(master.port)) == b"+OK\r\n"
        assert c.call_raw("REPLICAOF", "127.0.0.1", str(master.port)) == \
            b"+OK Already connected to specified master\r\n"
    assert replica.wait_log("Connecting to MASTER 127.0.0.1:%d" % master.port)
    assert replica.wait_log("MASTER <-> REPLICA sync started")
    caught_up(master, replica)
    assert_same_digest(master, [replica])
    assert call(replica, "GET", "mine") is None  # the master's dataset replaced ours
    role = call(replica, "ROLE")
    assert role[0] == b"slave" and role[2] == master.port and role[3] == b"connected"
    old_id = info(replica)["master_replid"]
    offset = int(info(replica)["master_repl_offset"])
    with replica.raw() as c:
        assert c.call_raw("REPLICAOF", "NO", "ONE") == b"+OK\r\n"
        assert c.call("SET", "mine", "2") == b"OK"
    r = info(replica)
    assert r["role"] == "master"
    assert r["master_replid2"] == old_id
    assert int(r["second_repl_offset"]) == offset + 1
    assert r["master_replid"] != old_id


def test_link_down_since_counts_from_a_link_that_was_up(both, servers):
    """master_link_down_since_seconds reads -1 while no link to a master
    was ever up (failed attempts do not start the count), counts from the
    drop of a link that was, and reads -1 again after REPLICAOF NO ONE: as
    Redis 7.0, which the test runs against too."""
    dead = str(rmtest.free_port())  # nobody listens there
    replica = both("--replicaof", "127.0.0.1", dead)

    def down_since_after_two_attempts():
        start = replica.log_text().count("Connecting to MASTER 127.0.0.1:" + dead)
        wait_for("two attempts to connect", lambda: replica.log_text().count(
            "Connecting to MASTER 127.0.0.1:" + dead) >= start + 2)
        r = info(replica)
        assert r["master_link_status"] == "down"
        return int(r["master_link_down_since_seconds"])

    assert down_since_after_two_attempts() == -1
    master = servers.ringmaster("--save", "", "--repl-diskless-sync", "no", name="master")
    assert call(replica, "REPLICAOF", "127.0.0.1", str(master.port)) == b"OK"
    wait_for("the link to be up", lambda: info(replica).get("master_link_status") == "up")
    assert call(replica, "REPLICAOF", "127.0.0.1", dead) == b"OK"
    assert down_since_after_two_attempts() >= 1
    assert call(replica, "REPLICAOF", "NO", "ONE") == b"OK"
    assert call(replica, "REPLICAOF", "127.0.0.1", dead) == b"OK"
    assert down_since_after_two_attempts() == -1


def test_invalid_replicaof_arguments(ringmaster, redis_ref):
    for server in (ringmaster, redis_ref):
        with server.raw() as c:
            assert c.call_raw("REPLICAOF", "127.0.0.1", "notaport") == \
                b"-ERR Invalid master port\r\n"
            assert c.call_raw("REPLICAOF", "127.0.0.1", "70000") == \
                b"-ERR Invalid master port\r\n"
            assert c.call_raw("REPLICAOF", "NO", "ONE") == b"+OK\r\n"


STALE_PROBES = [("PING",), ("GET", "x"), ("DBSIZE",), ("TYPE", "a"), ("INFO", "server"),
                ("CONFIG", "GET", "port"), ("ROLE",), ("ECHO", "a"), ("SELECT", "1"),
                ("CLIENT", "ID"), ("COMMAND", "COUNT"), ("SET", "a", "b")]


def test_masterdown_when_stale_data_is_refused(both):
    """With the link down and replica-serve-stale-data no, the same commands
    are refused with -MASTERDOWN as on Redis 7.0 (PING included), the
    others still answer."""
    port = rmtest.free_port()  # nobody listens there
    server = both("--replicaof", "127.0.0.1", str(port), "--replica-serve-stale-data", "no",
                  "--replica-read-only", "no")
    masterdown = (b"-MASTERDOWN Link with MASTER is down and "
                  b"replica-serve-stale-data is set to 'no'.\r\n")
    refused = set()
    with server.raw() as c:
        for probe in STALE_PROBES:
            if c.call_raw(*probe) == masterdown:
                refused.add(probe[0])
        assert "master_link_status:down" in c.call("INFO", "replication").decode()
    assert refused == {"PING", "GET", "DBSIZE", "TYPE", "SET"}


def test_stale_and_loading_flags_like_redis(ringmaster, redis_ref):
    """Which commands a replica answers while its link is down (stale) or
    while it loads: the command flags, compared with Redis 7.0 for every
    command Ringmaster implements."""
    with ringmaster.raw() as m, redis_ref.raw() as r:
        differ = []
        for name in m.call("COMMAND", "LIST"):
            ours, theirs = m.call("COMMAND", "INFO", name)[0], r.call("COMMAND", "INFO", name)[0]
            if ours is None or theirs is None:
                continue
            for flag in (b"stale", b"loading"):
                if (flag in ours[2]) != (flag in theirs[2]):
                    differ.append((name, flag))
    assert differ == []


def test_wait_and_min_replicas_count_ringmaster_replicas(servers):
    master = servers.ringmaster("--save", "", name="master")
    replicas = [ringmaster_replica(servers, master, name="r%d" % i) for i in range(2)]
    for r in replicas:
        caught_up(master, r)
    with master.raw() as c:
        c.call("SET", "k", "v")
        assert c.call("WAIT", "2", "5000") == 2
        assert c.call("CONFIG", "SET", "min-replicas-max-lag", "10") == b"OK"
        assert c.call("CONFIG", "SET", "min-replicas-to-write", "2") == b"OK"
        wait_for("two good replicas", lambda: c.call("SET", "k2", "v") == b"OK")
        assert c.call("CONFIG", "SET", "min-replicas-to-write", "3") == b"OK"
        assert c.call_raw("SET", "k3", "v") == \
            b"-NOREPLICAS Not enough good replicas to write.\r\n"


@pytest.mark.parametrize("master_kind", ["redis", "ringmaster"])
def test_masterauth_masteruser_and_announced_address(servers, master_kind):
    start = servers.redis if master_kind == "redis" else servers.ringmaster
    master = start("--save", "", "--requirepass", "s3cret", name="master")
    replica = ringmaster_replica(servers, master, "--masteruser", "default", "--masterauth",
                                 "s3cret", "--replica-announce-ip", "10.1.2.3",
                                 "--replica-announce-port", "7777")
    def announced():
        with master.raw() as c:
            c.call("AUTH", "s3cret")
            text = c.call("INFO", "replication").decode()
        return "slave0:ip=10.1.2.3,port=7777,state=online" in text
    try:
        wait_for("the replica to be online under its announced address", announced)
        # The master calls it online once the payload is sent; the replica
        # says "up" once it has loaded it.
        wait_for("the replica's link", lambda: info(replica)["master_link_status"] == "up")
        with replica.raw() as c:
            listing = c.call("CLIENT", "LIST", "TYPE", "master").decode()
            assert c.call("CONFIG", "SET", "replica-announced", "no") == b"OK"
            assert "replica_announced:0" in c.call("INFO", "replication").decode()
        assert "flags=M" in listing
    finally:
        with master.raw() as c:  # the harness stops servers without a password
            c.call("AUTH", "s3cret")
            assert c.call("CONFIG", "SET", "requirepass", "") == b"OK"


# ---- masters that misbehave ---------------------------------------------------------

class FakeMaster:
    """A listening socket that plays a master: answers the handshake, then
    does what the test tells it to."""

    def __init__(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(4)
        self.sock.settimeout(15 * rmtest.SLOWDOWN)
        self.port = self.sock.getsockname()[1]

    def accept_and_handshake(self):
        """Accept the replica's connection and answer its handshake (+PONG to
        PING, +OK to AUTH and REPLCONF) up to its PSYNC or SYNC; returns the
        socket, for the test to send the rest."""
        conn, _ = self.sock.accept()
        conn.settimeout(15 * rmtest.SLOWDOWN)
        buf = b""
        while True:
            chunk = conn.recv(4096)
            if not chunk:
                raise AssertionError("replica closed during handshake: %r" % buf)
            buf += chunk
            while True:
                cmd, buf = split_command(buf)
                if cmd is None:
                    break
                name = cmd[0].upper()
                if name in (b"PSYNC", b"SYNC"):
                    self.sync_command = cmd
                    return conn
                conn.sendall(b"+PONG\r\n" if name == b"PING" else b"+OK\r\n")

    def close(self):
        self.sock.close()


def split_command(buf):
    """One RESP multibulk command from buf, or (None, buf) if incomplete."""
    if not buf.startswith(b"*"):
        return None, buf
    end = buf.find(b"\r\n")
    if end < 0:
        return None, buf
    n = int(buf[1:end])
    pos = end + 2
    args = []
    for _ in range(n):
        e = buf.find(b"\r\n", pos)
        if e < 0:
            return None, buf
        ln = int(buf[pos + 1:e])
        if len(buf) < e + 2 + ln + 2:
            return None, buf
        args.append(buf[e + 2:e + 2 + ln])
        pos = e + 2 + ln + 2
    return args, buf[pos:]


REPLID = b"a" * 40
MARK = b"m" * 40


def valid_rdb(servers):
    """An RDB file written by Ringmaster with a few keys."""
    src = servers.ringmaster(name="rdb-source")
    with src.raw() as c:
        c.call("SET", "good", "1")
        c.call("SAVE")
    with open(os.path.join(str(src.workdir), "dump.rdb"), "rb") as f:
        return f.read()


BAD_MASTERS = {
    "closes_mid_payload": lambda rdb: b"+FULLRESYNC " + REPLID + b" 0\r\n$%d\r\n" % len(rdb)
    + rdb[:len(rdb) // 2],
    "corrupt_rdb": lambda rdb: b"+FULLRESYNC " + REPLID + b" 0\r\n$%d\r\n" % len(rdb)
    + rdb[:9] + b"\xff" * (len(rdb) - 9),
    "wrong_eof_mark": lambda rdb: b"+FULLRESYNC " + REPLID + b" 0\r\n$EOF:" + MARK + b"\r\n"
    + rdb + b"x" * 40,
    "garbage_bulk_length": lambda rdb: b"+FULLRESYNC " + REPLID + b" 0\r\n$abc\r\n",
    "huge_bulk_length": lambda rdb: b"+FULLRESYNC " + REPLID + b" 0\r\n$99999999999999999999\r\n",
    "garbage_stream": lambda rdb: b"+FULLRESYNC " + REPLID + b" 0\r\n$%d\r\n" % len(rdb)
    + rdb + b"*1\r\n$abc\r\nnot resp at all\r\n",
    "unknown_command_in_stream": lambda rdb: b"+FULLRESYNC " + REPLID + b" 0\r\n$%d\r\n"
    % len(rdb) + rdb + b"*1\r\n$11\r\nNOSUCHTHING\r\n*3\r\n$3\r\nSET\r\n$5\r\nafter\r\n$1\r\n1\r\n",
    "error_to_psync": lambda rdb: b"-ERR something is wrong\r\n",
}


def synced_to_fake(servers, fake, name, *extra):
    """A Ringmaster replica (diskless load) of `fake`, with directives
    `extra`, sent a valid payload at offset 1000; returns it and the master
    side of its link."""
    rdb = valid_rdb(servers)
    replica = servers.ringmaster("--repl-diskless-load", "on-empty-db", *extra, name=name)
    with replica.raw() as c:
        assert c.call_raw("REPLICAOF", "127.0.0.1", str(fake.port)) == b"+OK\r\n"
    conn = fake.accept_and_handshake()
    conn.sendall(b"+FULLRESYNC " + REPLID + b" 1000\r\n$%d\r\n" % len(rdb) + rdb)
    return replica, conn


def test_stream_in_any_chunking_counts_exact_offsets(servers):
    """A stream that arrives a few bytes at a time (commands split at every
    place) is applied in order, and the replica's offset moves by exactly
    the bytes of the commands it ran."""
    fake = FakeMaster()
    try:
        replica, conn = synced_to_fake(servers, fake, "chunks")
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        stream = [rmtest.encode_command("SELECT", "2")]
        for i in range(40):
            stream.append(rmtest.encode_command("RPUSH", "list", "item-%d" % i, "x" * (i * 7)))
        stream.append(rmtest.encode_command("PING"))
        stream.append(rmtest.encode_command("SET", "last", "one"))
        data = b"".join(stream)
        pos, step = 0, 0
        while pos < len(data):
            n = 1 + step % 7
            conn.sendall(data[pos:pos + n])
            pos += n
            step += 1
            if step % 50 == 0:
                time.sleep(0.002)
        want = 1000 + len(data)
        wait_for("the replica to apply the stream",
                 lambda: int(info(replica)["master_repl_offset"]) == want)
        with replica.raw() as c:
            c.call("SELECT", "2")
            assert c.call("LLEN", "list") == 80  # two elements per RPUSH
            assert c.call("LINDEX", "list", "-2") == b"item-39"
            assert c.call("LINDEX", "list", "-1") == b"x" * (39 * 7)
            assert c.call("GET", "last") == b"one"
            assert c.call("GET", "good") is None  # in db 0
        conn.close()
    finally:
        fake.close()


CRITICAL = "== CRITICAL == This replica is sending an error to its master"


def test_failing_stream_commands_are_logged_counted_and_skipped(servers):
    """A command of the stream that fails here (one Ringmaster lacks, a type
    error) is logged with Redis's line naming the command, at most 10 lines
    a second, counted in unexpected_error_replies, and, under the default
    propagation-error-behavior (ignore), the stream goes on."""
    fake = FakeMaster()
    try:
        replica, conn = synced_to_fake(servers, fake, "ignore")
        stream = [rmtest.encode_command("NOSUCHCMD", "s", "*", "f", "v")]
        stream += [rmtest.encode_command("SET", "str", "x"),
                   rmtest.encode_command("LPUSH", "str", "y")]
        stream += [rmtest.encode_command("SADD", "str", "e%d" % i) for i in range(30)]
        # An error inside a transaction of the stream counts as well.
        stream += [rmtest.encode_command("MULTI"), rmtest.encode_command("INCR", "n"),
                   rmtest.encode_command("INCR", "str"), rmtest.encode_command("EXEC")]
        stream.append(rmtest.encode_command("SET", "after", "1"))
        data = b"".join(stream)
        conn.sendall(data)
        wait_for("the replica to apply the stream",
                 lambda: int(info(replica)["master_repl_offset"]) == 1000 + len(data))
        assert info(replica, "stats")["unexpected_error_replies"] == "33"
        assert info(replica)["master_link_status"] == "up"
        with replica.raw() as c:
            assert c.call("GET", "after") == b"1"
            assert c.call("GET", "str") == b"x"
            assert c.call("GET", "n") == b"1"
        log = replica.log_text()
        assert CRITICAL + ": 'unknown command 'NOSUCHCMD'" in log
        assert "after processing the command 'NOSUCHCMD'" in log
        assert ("'WRONGTYPE Operation against a key holding the wrong kind of value' "
                "after processing the command 'LPUSH'") in log
        # 33 errors within a second or two: the log has at most 10 a second.
        assert log.count(CRITICAL) < 33
        conn.close()
    finally:
        fake.close()


@pytest.mark.parametrize("behavior,read_only,panics", [
    ("panic", "yes", True), ("panic-on-replicas", "yes", True), ("panic", "no", False)])
def test_propagation_error_behavior_panic(servers, behavior, read_only, panics):
    """Under panic and panic-on-replicas a read-only replica stops at the
    first failing stream command rather than serve diverging data; a
    writable replica does not (as Redis 7.0)."""
    fake = FakeMaster()
    try:
        replica, conn = synced_to_fake(servers, fake, "panic", "--propagation-error-behavior",
                                       behavior, "--replica-read-only", read_only)
        with replica.raw() as c:
            assert c.call("CONFIG", "GET", "propagation-error-behavior") == [
                b"propagation-error-behavior", behavior.encode()]
        if panics:
            replica.expect_exit()
        data = rmtest.encode_command("NOSUCHCOMMAND", "a") + rmtest.encode_command("SET", "b", "1")
        conn.sendall(data)
        if panics:
            code = replica.wait_exit()
            assert code is not None and code != 0
            assert "panicked sending an error to its master after processing the command " \
                   "'NOSUCHCOMMAND'" in replica.log_text()
        else:
            wait_for("the replica to apply the stream",
                     lambda: int(info(replica)["master_repl_offset"]) == 1000 + len(data))
            assert info(replica, "stats")["unexpected_error_replies"] == "1"
        conn.close()
    finally:
        fake.close()


def test_transaction_cut_by_a_lost_link_is_fetched_again_whole(servers):
    """A MULTI of the stream counts only once its EXEC has run: a link lost
    inside it leaves the offset before its MULTI, so the next PSYNC asks for
    all of it again and nothing of it is lost or applied twice."""
    fake = FakeMaster()
    try:
        replica, conn = synced_to_fake(servers, fake, "txn")
        before = rmtest.encode_command("SET", "a", "1")
        # (A GETACK inside it, which no master sends, must not cut it short.)
        head = (rmtest.encode_command("MULTI") + rmtest.encode_command("SET", "b", "2")
                + rmtest.encode_command("REPLCONF", "GETACK", "*")
                + rmtest.encode_command("INCR", "a"))
        conn.sendall(before + head)
        read_all = 1000 + len(before) + len(head)
        wait_for("the replica to read the transaction's start",
                 lambda: int(info(replica)["slave_read_repl_offset"]) == read_all)
        fields = info(replica)
        assert int(fields["master_repl_offset"]) == 1000 + len(before)
        with replica.raw() as c:
            assert c.call("GET", "a") == b"1"
            assert c.call("GET", "b") is None
        conn.close()
        conn = fake.accept_and_handshake()
        assert fake.sync_command == [b"PSYNC", REPLID, b"%d" % (1000 + len(before) + 1)]
        tail = rmtest.encode_command("EXEC")
        conn.sendall(b"+CONTINUE\r\n" + head + tail)
        want = 1000 + len(before) + len(head) + len(tail)
        wait_for("the replica to apply the transaction",
                 lambda: int(info(replica)["master_repl_offset"]) == want)
        with replica.raw() as c:
            assert c.call("GET", "a") == b"2"
            assert c.call("GET", "b") == b"2"
        conn.close()
    finally:
        fake.close()


@pytest.mark.parametrize("load", ["disabled", "on-empty-db"])
def test_first_ack_follows_the_loaded_payload(servers, load):
    """After an EOF-marked payload a master streams nothing until the
    replica's first REPLCONF ACK: it comes as soon as the payload is loaded,
    with the payload's offset. (How soon, against the once-a-second ACKs,
    is what the replication benchmark's lag shows.)"""
    rdb = valid_rdb(servers)
    fake = FakeMaster()
    try:
        replica = servers.ringmaster("--repl-diskless-load", load, name="acker")
        with replica.raw() as c:
            assert c.call_raw("REPLICAOF", "127.0.0.1", str(fake.port)) == b"+OK\r\n"
        conn = fake.accept_and_handshake()
        time.sleep(0.3)  # past the replica's first tick, which came with the connection
        conn.sendall(b"+FULLRESYNC " + REPLID + b" 4242\r\n$EOF:" + MARK + b"\r\n" + rdb + MARK)
        # The replica's periodic ACKs come once a second; this one must not
        # wait for them (0.6 s, not scaled: loading a few bytes takes
        # milliseconds even under a sanitizer).
        conn.settimeout(0.6)
        got = b""
        while b"\r\n4242\r\n" not in got:
            chunk = conn.recv(4096)
            assert chunk, "the replica closed: %r" % got
            got += chunk
        assert got.startswith(b"*3\r\n$8\r\nREPLCONF\r\n$3\r\nACK\r\n$4\r\n4242\r\n"), got
        assert replica.wait_log("MASTER <-> REPLICA sync: Finished with success")
        conn.close()
    finally:
        fake.close()


@pytest.mark.parametrize("case", sorted(BAD_MASTERS))
@pytest.mark.parametrize("load", ["disabled", "swapdb"])
def test_bad_master_never_crashes_the_replica(servers, case, load):
    rdb = valid_rdb(servers)
    fake = FakeMaster()
    try:
        replica = servers.ringmaster("--repl-diskless-load", load, "--repl-timeout", "3",
                                     name="victim")
        with replica.raw() as c:
            c.call("SET", "old", "kept")
            c.call("CONFIG", "SET", "replica-read-only", "no")
            assert c.call_raw("REPLICAOF", "127.0.0.1", str(fake.port)) == b"+OK\r\n"
        conn = fake.accept_and_handshake()
        conn.sendall(BAD_MASTERS[case](rdb))
        if case == "unknown_command_in_stream":
            # Redis's replicas log the error and go on with the stream.
            wait_for("the command after the unknown one",
                     lambda: call(replica, "GET", "after") == b"1")
        time.sleep(0.5 * rmtest.SLOWDOWN)
        conn.close()
        # The replica is alive and serving, and asks again.
        conn2 = fake.accept_and_handshake()
        conn2.close()
        with replica.raw() as c:
            assert c.call("PING") in (b"PONG", "PONG")
            c.call("INFO", "replication")
            if load == "swapdb" and case in ("closes_mid_payload", "corrupt_rdb",
                                             "wrong_eof_mark"):
                assert c.call("GET", "old") == b"kept"
        assert replica.alive()
    finally:
        fake.close()


def test_live_link_outlasts_repl_timeout(servers):
    """The master's PINGs keep a quiet link up for longer than repl-timeout:
    the timeout counts from the last byte the replica read, not from the
    start of the stream."""
    master = servers.ringmaster("--save", "", "--repl-ping-replica-period", "1", name="master")
    replica = servers.ringmaster("--replicaof", "127.0.0.1", str(master.port),
                                 "--repl-timeout", "2", name="rm-replica")
    caught_up(master, replica)
    time.sleep(4.5 * rmtest.SLOWDOWN)
    assert info(replica)["master_link_status"] == "up"
    assert "MASTER timeout" not in replica.log_text()
    assert int(info(master, "stats")["sync_full"]) == 1


READ_LIMIT = 64 * 1024 * 1024  # RCONN_READ_LIMIT in repl/replica_conn.h
FLOW_VALUE = b"v" * 65536


def flow_block(i):
    """About 1 MB of stream: SETs of 64 KB values, then the block's number
    pushed on a list, so that the list shows the order blocks ran in."""
    cmds = [rmtest.encode_command("SET", "big:%d" % k, FLOW_VALUE) for k in range(16)]
    cmds.append(rmtest.encode_command("RPUSH", "order", str(i)))
    return b"".join(cmds)


def send_until_stalled(conn, data, busy):
    """Send data without blocking while busy() holds, until the replica
    takes nothing for a second; returns how many bytes went."""
    conn.setblocking(False)
    sent, last_progress = 0, time.monotonic()
    while sent < len(data) and busy() and time.monotonic() - last_progress < 1.0:
        try:
            n = conn.send(data[sent:sent + 1024 * 1024])
        except BlockingIOError:
            time.sleep(0.01)
            continue
        sent += n
        last_progress = time.monotonic()
    conn.setblocking(True)
    return sent


def ack_of(offset):
    return rmtest.encode_command("REPLCONF", "ACK", str(offset))


@pytest.mark.parametrize("when", ["loading", "streaming"])
def test_slow_replica_stops_reading_and_loses_nothing(servers, when):
    """While the replica's keyspace is busy (DEBUG SLEEP; with a disk
    payload still to load when it wakes, or on a live stream), its I/O
    thread reads no more than the read limit of the stream the master
    writes, then stops: TCP holds the master back. Afterwards every byte
    is applied once, in order, GETACK is answered at its exact place, and
    the link survived a pause longer than repl-timeout."""
    rdb = valid_rdb(servers)
    fake = FakeMaster()
    try:
        replica = servers.ringmaster("--repl-diskless-load", "disabled", "--repl-timeout", "3",
                                     name="slow")
        with replica.raw() as c:
            assert c.call_raw("REPLICAOF", "127.0.0.1", str(fake.port)) == b"+OK\r\n"
        conn = fake.accept_and_handshake()
        conn.sendall(b"+FULLRESYNC " + REPLID + b" 1000\r\n")
        payload = b"$%d\r\n" % len(rdb) + rdb
        if when == "streaming":
            conn.sendall(payload)
            wait_for("the load", lambda: info(replica)["master_link_status"] == "up")
        nblocks = 256
        data = bytearray()
        for i in range(nblocks):
            data += flow_block(i)
        getack_at = 1000 + len(data)
        data += rmtest.encode_command("REPLCONF", "GETACK", "*")
        data += rmtest.encode_command("SET", "last", "one")
        sleeper = threading.Thread(target=call_slowly, args=(replica, 4 * rmtest.SLOWDOWN),
                                   daemon=True)
        sleeper.start()
        time.sleep(0.3 * rmtest.SLOWDOWN)  # the keyspace is asleep
        if when == "loading":
            data = payload + data
        sent = send_until_stalled(conn, data, sleeper.is_alive)
        assert sleeper.is_alive(), "the replica took %d bytes of %d" % (sent, len(data))
        # The limit, one recv, and what the two sockets' buffers hold.
        assert READ_LIMIT < sent < READ_LIMIT + 48 * 1024 * 1024, sent
        conn.sendall(data[sent:])
        conn.settimeout(30 * rmtest.SLOWDOWN)
        got = b""
        while ack_of(getack_at) not in got:
            chunk = conn.recv(65536)
            assert chunk, "the replica closed"
            got += chunk
        want = getack_at + len(rmtest.encode_command("REPLCONF", "GETACK", "*")) + \
            len(rmtest.encode_command("SET", "last", "one"))
        wait_for("the replica to apply the stream",
                 lambda: int(info(replica)["master_repl_offset"]) == want)
        with replica.raw() as c:
            assert c.call("GET", "last") == b"one"
            assert c.call("LRANGE", "order", "0", "-1") == [b"%d" % i for i in range(nblocks)]
            assert c.call("GET", "big:15") == FLOW_VALUE
        assert "MASTER timeout" not in replica.log_text()
        assert info(replica)["master_link_status"] == "up"
        conn.close()
    finally:
        fake.close()


def call_slowly(server, seconds):
    with server.raw(timeout=seconds + 30) as c:
        assert c.call("DEBUG", "SLEEP", str(seconds)) == b"OK"
