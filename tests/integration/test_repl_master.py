"""A Ringmaster master serving real redis-server 7.0 replicas.

Full sync (disk and diskless, one and three replicas), then the live stream
under write load of every data type: the replicas' DEBUG DIGEST and
master_repl_offset must equal the master's. Partial resync after CLIENT
KILL TYPE replica, a full resync when the backlog is too short, WAIT with
real ACKs, min-replicas-to-write, the output-buffer limit and repl-timeout
drops with their one log line, redis-cli --rdb and --replica.

Ringmaster runs with --enable-debug-command yes (the harness's standard
arguments); replicas are started by repl_helpers.start_replica.
"""

import os
import signal
import subprocess
import threading
import time

import pytest

import rmtest
from repl_helpers import (assert_same_digest, benchmark_load, call, info, start_replica,
                          wait_for, wait_synced, write_every_type)
from rmtest import RespError

FAST_DISKLESS = ("--repl-diskless-sync", "yes", "--repl-diskless-sync-delay", "0")


def stats(server):
    return info(server, "stats")


def test_full_sync_disk_then_stream(servers):
    master = servers.ringmaster("--repl-diskless-sync", "no")
    write_every_type(master, "pre")
    replica = start_replica(servers, master)
    wait_synced(master, [replica])
    assert master.wait_log("Starting BGSAVE for SYNC with target: disk")
    assert master.wait_log("Synchronization with replica 127.0.0.1:%d succeeded" % replica.port)
    assert replica.wait_log("MASTER <-> REPLICA sync: Finished with success")
    write_every_type(master, "post")
    benchmark_load(master)
    wait_synced(master, [replica])
    assert_same_digest(master, [replica])
    st = stats(master)
    assert st["sync_full"] == "1" and st["sync_partial_ok"] == "0"
    rinfo = info(master)
    assert rinfo["connected_slaves"] == "1"
    assert rinfo["slave0"].startswith("ip=127.0.0.1,port=%d,state=online,offset=" % replica.port)
    role = call(master, "ROLE")
    assert role[0] == b"master" and role[2][0][:2] == [b"127.0.0.1", str(replica.port).encode()]


def test_diskless_three_replicas(servers):
    master = servers.ringmaster("--repl-diskless-sync", "yes", "--repl-diskless-sync-delay", "5",
                                "--repl-diskless-sync-max-replicas", "3")
    write_every_type(master, "pre")
    replicas = [start_replica(servers, master, name="replica%d" % i) for i in range(3)]
    wait_synced(master, replicas, timeout=30)
    log = master.log_text()
    # max-replicas gathered all three into one snapshot, long before the delay.
    assert log.count("Starting BGSAVE for SYNC with target: replicas sockets") == 1
    assert log.count("Streamed RDB transfer with replica") == 3
    for r in replicas:
        assert r.wait_log("receiving streamed RDB from master with EOF")
    benchmark_load(master)
    write_every_type(master, "post")
    wait_synced(master, replicas)
    assert_same_digest(master, replicas)
    rinfo = info(master)
    assert rinfo["connected_slaves"] == "3"
    ports = sorted(int(rinfo["slave%d" % i].split(",")[1].split("=")[1]) for i in range(3))
    assert ports == sorted(r.port for r in replicas)
    assert call(master, "WAIT", 3, 2000) == 3


def test_psync_after_client_kill(servers):
    master = servers.ringmaster(*FAST_DISKLESS)
    replicas = [start_replica(servers, master, name="replica%d" % i) for i in range(2)]
    wait_synced(master, replicas)
    write_every_type(master, "a", 50)
    wait_synced(master, replicas)
    full_before = int(stats(master)["sync_full"])
    assert call(master, "CLIENT", "KILL", "TYPE", "replica") == 2
    write_every_type(master, "b", 50)
    wait_for("partial resyncs", lambda: int(stats(master)["sync_partial_ok"]) >= 2)
    wait_synced(master, replicas)
    assert int(stats(master)["sync_full"]) == full_before
    assert_same_digest(master, replicas)
    assert master.wait_log("Partial resynchronization request from 127.0.0.1:")
    assert master.wait_log("accepted. Sending ")
    for r in replicas:
        assert r.wait_log("Successful partial resynchronization with master.")


def test_full_resync_when_backlog_is_too_short(servers):
    master = servers.ringmaster(*FAST_DISKLESS, "--repl-backlog-size", "16384")
    replica = start_replica(servers, master)
    wait_synced(master, [replica])
    replica.proc.send_signal(signal.SIGSTOP)
    try:
        call(master, "CLIENT", "KILL", "TYPE", "replica")
        with master.raw() as c:
            for i in range(200):
                c.call("SET", "big:%d" % i, "x" * 1000)
        # The backlog drops whole blocks from the cron: let a tick pass.
        wait_for("the backlog trimmed",
                 lambda: int(info(master)["repl_backlog_first_byte_offset"]) > 100000)
    finally:
        replica.proc.send_signal(signal.SIGCONT)
    wait_for("a second full sync", lambda: stats(master)["sync_full"] == "2")
    wait_synced(master, [replica])
    assert int(stats(master)["sync_partial_err"]) >= 1
    assert master.wait_log("Partial resynchronization not accepted")
    assert_same_digest(master, [replica])


def test_wait_and_min_replicas(servers):
    master = servers.ringmaster(*FAST_DISKLESS)
    with master.raw() as c:
        assert c.call("WAIT", 0, 0) == 0
        assert c.call("WAIT", 1, 100) == 0
    replica = start_replica(servers, master)
    wait_synced(master, [replica])
    with master.raw() as c:
        c.call("SET", "w", "1")
        assert c.call("WAIT", 1, 5000) == 1
        t0 = time.monotonic()
        assert c.call("WAIT", 2, 300) == 1
        assert time.monotonic() - t0 >= 0.25
        # Pipelined commands behind a blocked WAIT run once it answers.
        c.send(rmtest.encode_command("WAIT", 2, 200) + rmtest.encode_command("PING"))
        assert c.read_reply()[1] == 1
        assert c.read_reply()[1] == b"PONG"
        assert c.call("CONFIG", "SET", "min-replicas-to-write", "1") == b"OK"
        assert c.call("CONFIG", "SET", "min-replicas-max-lag", "2") == b"OK"
        wait_for("min_slaves_good_slaves", lambda: info(master).get("min_slaves_good_slaves") == "1")
        assert c.call("SET", "w", "2") == b"OK"
    replica.stop()
    wait_for("connected_slaves 0", lambda: info(master)["connected_slaves"] == "0")
    with master.raw() as c:
        assert c.call("SET", "w", "3") == RespError("NOREPLICAS Not enough good replicas to write.")
        assert c.call("GET", "w") == b"2"


def test_output_buffer_limit_drops_a_stalled_replica(servers):
    master = servers.ringmaster(*FAST_DISKLESS, "--client-output-buffer-limit",
                                "replica", "1mb", "0", "0", "--repl-backlog-size", "64mb")
    fast = start_replica(servers, master, name="fast")
    slow = start_replica(servers, master, name="slow")
    wait_synced(master, [fast, slow])
    slow.proc.send_signal(signal.SIGSTOP)
    try:
        value = "y" * 100000
        def dropped():
            with master.raw() as c:
                for i in range(20):
                    c.call("SET", "v:%d" % i, value)
            return "overcoming of output buffer limits" in master.log_text()
        wait_for("the output-buffer limit drop", dropped, timeout=30)
        # While the replica is still frozen (its window closed, zero-copy
        # sends unacknowledged), the link must go: its socket is reset and
        # its backlog reader released, not held until the peer reads again.
        assert master.wait_log("Connection with replica 127.0.0.1:%d lost" % slow.port,
                               timeout=10)
        wait_for("connected_slaves 1", lambda: info(master)["connected_slaves"] == "1")
    finally:
        slow.proc.send_signal(signal.SIGCONT)
    text = master.log_text()
    assert text.count("overcoming of output buffer limits") == 1
    assert "replica hard limit 1048576 bytes" in text
    # The other replica never stopped; the stalled one comes back.
    wait_synced(master, [fast, slow], timeout=30)
    assert_same_digest(master, [fast, slow])


def test_zero_copy_sends_say_whether_the_kernel_copied(servers):
    """Large stream sends go out as zero-copy requests, and each request's
    notification says whether the kernel copied the bytes after all. Over
    loopback it always does: the bytes are delivered to a local socket,
    whose receive queue cannot keep the sender's pages."""
    master = servers.ringmaster(*FAST_DISKLESS)
    replica = start_replica(servers, master)
    wait_synced(master, [replica])
    with master.raw() as c:
        # Pipelined: one event-loop pass publishes them all, and the I/O
        # thread sends spans far past the 16 KB zero-copy threshold.
        c.send(b"".join(rmtest.encode_command("SET", "zc:%d" % i, "z" * 100000)
                        for i in range(40)))
        for _ in range(40):
            assert c.read_reply()[1] == b"OK"
    wait_synced(master, [replica])
    assert_same_digest(master, [replica])
    st = info(master)
    if st["repl_zerocopy_usage_reported"] != "1":
        # Before Linux 6.2 the kernel does not say: nothing is claimed.
        assert st["repl_zerocopy_sends_copied"] == st["repl_zerocopy_sends_zerocopy"] == "0"
        pytest.skip("the kernel does not report zero-copy usage (Linux < 6.2)")
    sends = int(st["repl_zerocopy_sends"])
    assert sends > 0, st

    def answered():
        i = info(master)
        n = int(i["repl_zerocopy_sends_copied"]) + int(i["repl_zerocopy_sends_zerocopy"])
        return i if n == int(i["repl_zerocopy_sends"]) else None
    st = wait_for("every zero-copy send's notification", answered)
    assert int(st["repl_zerocopy_sends_copied"]) == int(st["repl_zerocopy_sends"]) >= sends
    assert st["repl_zerocopy_sends_zerocopy"] == "0"


def test_replication_bytes_in_info(servers):
    """INFO's replication network counters measure what the I/O threads
    move, with Redis's meaning: output to replicas is replication output
    (part of total_net_output_bytes too), what a master reads from its
    replicas (their ACKs) is ordinary input, and replication input, read
    from a master, is none on a master. The redis-server replica counts the
    same bytes from its side: its replication input is the master's
    replication output, less the few control lines it reads apart."""
    master = servers.ringmaster(*FAST_DISKLESS)
    st = stats(master)
    assert st["total_net_repl_output_bytes"] == "0"
    assert st["instantaneous_output_repl_kbps"] == "0.00"
    write_every_type(master, "pre")
    replica = start_replica(servers, master)
    wait_synced(master, [replica])

    def both():
        # The replica first: what it got the master had sent before. Only a
        # PING (14 bytes) sent between the two reads could be seen by the
        # replica before the I/O thread counted it: SLACK allows for it.
        got = int(stats(replica)["total_net_repl_input_bytes"])
        return int(stats(master)["total_net_repl_output_bytes"]), got
    SLACK = 64
    out, got = both()
    # +FULLRESYNC, the $EOF:<mark> header and keep-alive newlines are read
    # line by line by the replica, which does not count them.
    assert got > 1000 and -SLACK <= out - got < 1000, (out, got)

    # Streaming: the counter follows the stream, and the rate shows it.
    offset0 = int(info(master)["master_repl_offset"])
    stop = threading.Event()
    done = []

    def load():
        with master.raw() as c:
            while not stop.is_set() or len(done) < 100:
                c.call("SET", "load", "x" * 2000)
                done.append(1)
    writer = threading.Thread(target=load)
    writer.start()
    try:
        wait_for("instantaneous_output_repl_kbps above zero",
                 lambda: float(stats(master)["instantaneous_output_repl_kbps"]) > 0)
    finally:
        stop.set()
        writer.join()
    wait_synced(master, [replica])
    streamed = int(info(master)["master_repl_offset"]) - offset0
    out2, got2 = both()
    assert out2 - out >= streamed > 200000, (out2 - out, streamed)
    assert -SLACK <= out2 - got2 < 1000 + (out - got), (out2, got2)
    st = stats(master)
    assert int(st["total_net_output_bytes"]) >= int(st["total_net_repl_output_bytes"]) == out2
    assert st["total_net_repl_input_bytes"] == "0"
    assert st["instantaneous_input_repl_kbps"] == "0.00"

    # The replica's once-a-second ACKs are the master's input, though the
    # only command it gets meanwhile is this INFO.
    in1 = int(stats(master)["total_net_input_bytes"])
    time.sleep(2.5)
    in2 = int(stats(master)["total_net_input_bytes"])
    info_cmd = len(rmtest.encode_command("INFO", "stats"))
    assert in2 - in1 >= info_cmd + 2 * len(b"*3\r\n$8\r\nREPLCONF\r\n$3\r\nACK\r\n"), in2 - in1

    # CONFIG RESETSTAT restarts the counters from zero.
    assert call(master, "CONFIG", "RESETSTAT") == b"OK"
    assert int(stats(master)["total_net_repl_output_bytes"]) < 1000
    call(master, "SET", "after-reset", "y" * 5000)
    wait_for("the counter growing again",
             lambda: int(stats(master)["total_net_repl_output_bytes"]) > 5000)


def test_backlog_keeps_at_least_16kb(servers):
    """Redis never keeps less than 16 KB of backlog, whatever the setting."""
    master = servers.ringmaster(*FAST_DISKLESS, "--repl-backlog-size", "1000")
    replica = start_replica(servers, master)
    wait_synced(master, [replica])
    assert info(master)["repl_backlog_size"] == "16384"
    for i in range(200):
        call(master, "SET", "k%d" % i, "v" * 100)
    wait_synced(master, [replica])
    assert int(info(master)["repl_backlog_histlen"]) >= 16384


def test_repl_timeout_drops_a_silent_replica(servers):
    master = servers.ringmaster(*FAST_DISKLESS, "--repl-timeout", "2")
    replica = start_replica(servers, master)
    wait_synced(master, [replica])
    replica.proc.send_signal(signal.SIGSTOP)
    try:
        assert master.wait_log("Disconnecting timedout replica (streaming sync): 127.0.0.1:%d"
                               % replica.port, timeout=10)
        wait_for("connected_slaves 0", lambda: info(master)["connected_slaves"] == "0")
    finally:
        replica.proc.send_signal(signal.SIGCONT)
    wait_synced(master, [replica])
    assert master.log_text().count("Disconnecting timedout replica") == 1


def test_redis_cli_rdb_and_replica(servers, tmp_path):
    master = servers.ringmaster(*FAST_DISKLESS)
    write_every_type(master, "cli", 50)
    path = str(tmp_path / "cli.rdb")
    subprocess.run(["redis-cli", "-p", str(master.port), "--rdb", path], check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                   timeout=20 * rmtest.SLOWDOWN)
    check = subprocess.run(["redis-check-rdb", path], capture_output=True, text=True,
                           timeout=20 * rmtest.SLOWDOWN)
    assert check.returncode == 0, check.stdout + check.stderr
    assert "RDB looks OK" in check.stdout or "\\o/" in check.stdout
    proc = subprocess.Popen(["redis-cli", "-p", str(master.port), "--replica"],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        wait_for("redis-cli --replica attached", lambda: info(master)["connected_slaves"] == "1")
        call(master, "SET", "seen-by", "cli")
        time.sleep(0.3 * rmtest.SLOWDOWN)
    finally:
        proc.terminate()
        out = proc.communicate(timeout=10)[0].decode()
    assert '"set","seen-by","cli"' in out.lower() or '"SET","seen-by","cli"' in out
