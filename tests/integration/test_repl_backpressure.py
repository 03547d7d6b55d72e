"""repl-backpressure-lag: writes wait while a replica is too far behind.

A real redis-server replica is made to stall with DEBUG SLEEP. While it
sleeps, writes on the master that take the stream past the limit must wait
(reads must not), INFO must say so, and the writes must complete once the
replica catches up, with the replica's data equal to the master's. A
replica silent for longer than the backpressure grace (2 s) stops holding
writes, and a plain SYNC client (`redis-cli --replica`, which never ACKs)
never holds them at all. With the setting at 0 nothing is ever held.
"""

import subprocess
import threading
import time

import rmtest
from repl_helpers import assert_same_digest, call, info, start_replica, wait_for, wait_synced

FAST = ("--repl-diskless-sync", "yes", "--repl-diskless-sync-delay", "0")
VALUE = "v" * 1000


def synced_and_acked(master, replica):
    """In sync, and ACKed within the last second: a replica silent for 2 s
    (one just back from a DEBUG SLEEP) does not hold writes."""
    wait_synced(master, [replica])
    wait_for("a fresh ACK", lambda: info(master)["slave0"].endswith(",lag=0"))


class stall(threading.Thread):
    """DEBUG SLEEP on the replica, from a thread; done() joins and checks."""

    def __init__(self, replica, seconds):
        super().__init__(daemon=True)
        self.replica, self.seconds, self.reply = replica, seconds, None
        self.start()
        time.sleep(0.2)  # the sleep has started: the replica no longer reads

    def run(self):
        with self.replica.raw() as c:
            c.sock.settimeout(self.seconds + 30)
            self.reply = c.call("DEBUG", "SLEEP", str(self.seconds))

    def done(self):
        self.join(timeout=60)
        assert self.reply == b"OK", self.reply


def timed_writes(master, n, prefix):
    """n SETs of 1 KB, pipelined on one connection; seconds until all replied."""
    with master.raw() as c:
        c.sock.settimeout(60)
        t0 = time.monotonic()
        for i in range(n):
            c.send_command("SET", "%s:%d" % (prefix, i), VALUE)
        for _ in range(n):
            assert c.read_reply()[1] == b"OK"
        return time.monotonic() - t0


def test_writes_wait_for_a_stalled_replica_reads_do_not(servers):
    master = servers.ringmaster("--repl-backpressure-lag", "100kb", *FAST)
    replica = start_replica(servers, master)
    call(master, "SET", "readable", "yes")
    synced_and_acked(master, replica)
    assert info(master)["repl_backpressure_active"] == "0"

    sleeper = stall(replica, 1.5)
    result = {}
    writer = threading.Thread(target=lambda: result.update(t=timed_writes(master, 400, "a")))
    writer.start()
    # While the writes wait: INFO says so and a read is served at once.
    wait_for("backpressure to engage", lambda: info(master)["repl_backpressure_active"] == "1")
    # Checked before every command: the stream stops within one command
    # (and a GETACK) of the limit, not a whole read's worth past it.
    minfo = info(master)
    acked = int(minfo["slave0"].split(",offset=")[1].split(",")[0])
    assert int(minfo["master_repl_offset"]) - acked <= 100 * 1024 + 2048, minfo
    t0 = time.monotonic()
    assert call(master, "GET", "readable") == b"yes"
    assert time.monotonic() - t0 < 0.5 * rmtest.SLOWDOWN
    writer.join(timeout=60)
    sleeper.done()
    # 400 KB against a 100 KB limit: most of them waited for the sleep.
    assert result["t"] >= 0.8, result
    # The last writes may leave the replica behind again: released once it
    # catches up, with no writer waiting.
    wait_for("backpressure to end", lambda: info(master)["repl_backpressure_active"] == "0")
    assert int(info(master)["repl_backpressure_holds"]) >= 1
    wait_synced(master, [replica])
    assert_same_digest(master, [replica])


def test_a_silent_replica_stops_holding_writes(servers):
    master = servers.ringmaster("--repl-backpressure-lag", "100kb", *FAST)
    replica = start_replica(servers, master)
    synced_and_acked(master, replica)
    sleeper = stall(replica, 8)
    # Held at first, released once the replica has been silent for 2 s:
    # long before its 8 s sleep ends.
    took = timed_writes(master, 400, "b")
    assert took < 6 * rmtest.SLOWDOWN, took
    assert int(info(master)["repl_backpressure_holds"]) >= 1
    sleeper.done()
    wait_synced(master, [replica])
    assert_same_digest(master, [replica])


def test_off_by_default_and_sync_clients_never_hold(servers):
    # A plain SYNC client never ACKs: it must not count.
    master = servers.ringmaster("--repl-backpressure-lag", "10kb", *FAST)
    proc = subprocess.Popen(["redis-cli", "-p", str(master.port), "--replica"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for("redis-cli --replica online", lambda: ",state=online," in
                 info(master).get("slave0", ""))
        assert timed_writes(master, 200, "c") < 5 * rmtest.SLOWDOWN
        assert info(master)["repl_backpressure_holds"] == "0"
    finally:
        proc.kill()
        proc.wait()

    # The default: a stalled replica holds nothing.
    master = servers.ringmaster(*FAST, name="default")
    assert call(master, "CONFIG", "GET", "repl-backpressure-lag") == [b"repl-backpressure-lag",
                                                                        b"0"]
    replica = start_replica(servers, master, "replica2")
    wait_synced(master, [replica])
    sleeper = stall(replica, 2)
    assert timed_writes(master, 400, "d") < 1.5 * rmtest.SLOWDOWN
    assert info(master)["repl_backpressure_holds"] == "0"
    sleeper.done()

    # And CONFIG SET turns it on at runtime.
    assert call(master, "CONFIG", "SET", "repl-backpressure-lag", "100kb") == b"OK"
    synced_and_acked(master, replica)
    sleeper = stall(replica, 1.5)
    assert timed_writes(master, 400, "e") >= 0.8
    sleeper.done()
    wait_synced(master, [replica])
    assert_same_digest(master, [replica])


def test_a_loading_replica_holds_nothing(servers):
    # Disk-based sync: the replica is online for the master once the file
    # is sent, then loads it (slowly, key-load-delay) sending only
    # newlines. Until its first real ACK it must not hold writes.
    master = servers.ringmaster("--repl-backpressure-lag", "10kb", "--repl-diskless-sync", "no")
    call(master, "DEBUG", "POPULATE", "20000", "pre", "100")
    replica = start_replica(servers, master, "replica", "--key-load-delay", "150")
    # (A replica loading a small file answers nobody: watch its log.)
    assert replica.wait_log("MASTER <-> REPLICA sync: Loading DB in memory")
    assert ",state=online," in info(master)["slave0"]
    assert timed_writes(master, 200, "f") < 1.0 * rmtest.SLOWDOWN
    assert info(master)["repl_backpressure_holds"] == "0"
    assert "Done loading RDB" not in replica.log_text()  # it was still loading
    wait_synced(master, [replica], timeout=60)
    assert_same_digest(master, [replica])
