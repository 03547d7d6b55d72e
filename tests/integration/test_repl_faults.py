"""A Ringmaster master facing replicas and snapshot children that misbehave.

Three kinds of fault, each with a real redis-server 7.0 replica attached at
the same time that must not notice anything but a delay:

  * a "replica" driven from Python over a raw socket sends PSYNC ? -1 and
    then hangs up, or sends garbage, while its payload is in flight:
    diskless (the child streams through a pipe, slowed down with
    rdb-key-save-delay) and disk (a file big enough that the splice takes
    a while). The master logs the loss, frees the replica's record and its
    backlog reader (the backlog trims again), and keeps serving;
  * the snapshot child is killed with SIGKILL, disk and diskless: the
    master logs it, drops the replicas waiting for that payload (and, for
    disk, removes the child's temp file), and the real replica comes back
    for a full sync that completes;
  * an online raw replica sends a malformed REPLCONF, or random bytes: it
    is dropped with a protocol-error line, the other replica keeps
    streaming;
  * more raw replicas than the backlog has reader slots: the ones that do
    not fit are refused up front, one log line each, and the others, the
    server and a replica arriving once slots are free are not disturbed.

Every wait is bounded (repl_helpers.wait_for, scaled by rmtest.SLOWDOWN).
"""

import os
import random
import re
import selectors
import signal
import socket
import threading
import time

import pytest

import rmtest
from repl_helpers import (assert_same_digest, call, info, start_replica, wait_for, wait_synced,
                          write_every_type)


class RawReplica:
    """A replica's side of the handshake on a raw socket, driven by the test.

    It announces a listening port nobody listens on (the master only uses
    it for names and INFO), so the master's log calls it 127.0.0.1:<port>.
    """

    def __init__(self, master, capa_eof=True, port=None):
        self.conn = rmtest.RespConn(master.port)
        self.port = port or rmtest.free_port()
        self.name = "127.0.0.1:%d" % self.port
        assert self.conn.call("REPLCONF", "listening-port", self.port) == b"OK"
        if capa_eof:
            assert self.conn.call("REPLCONF", "capa", "eof", "capa", "psync2") == b"OK"
        self.conn.send_command("PSYNC", "?", "-1")
        self.received = 0

    def line(self):
        """The next CRLF line, without the keep-alive newlines before it."""
        return self.conn._line().lstrip(b"\n")

    def read_preamble(self):
        """+FULLRESYNC, then the payload header: returns (offset, header)."""
        full = self.line()
        m = re.match(rb"\+FULLRESYNC ([0-9a-f]{40}) (\d+)\r\n$", full)
        assert m, "expected +FULLRESYNC, got %r" % full
        header = self.line()
        assert header.startswith(b"$"), "expected a payload header, got %r" % header
        return int(m.group(2)), header

    def read_payload(self, n):
        """Read n bytes of the payload (or up to it, if the master stops).
        Bytes past it that came in the same read (the stream, a PING) stay
        buffered for the next line."""
        got = min(n, len(self.conn.pending()))
        self.conn.pos += got
        while got < n:
            chunk = self.conn.sock.recv(min(65536, n - got))
            if not chunk:
                break
            got += len(chunk)
        self.received += got
        return got

    def send(self, data):
        try:
            self.conn.send(data)
            return True
        except OSError:
            return False  # the master closed first: fine for a garbage test

    def close(self):
        self.conn.close()


def stats(server):
    return info(server, "stats")


def replica_states(master):
    return {int(re.search(r"port=(\d+)", v).group(1)): re.search(r"state=(\w+)", v).group(1)
            for k, v in info(master).items() if re.match(r"slave\d+$", k)}


def connected(master):
    return int(info(master)["connected_slaves"])


def populate(master, count, size):
    with master.raw(timeout=60) as c:
        assert c.call("DEBUG", "POPULATE", count, "key", size) == b"OK"


def child_pid(master, started_line):
    """The pid of the snapshot child, from the master's "... started by pid N"."""
    assert master.wait_log(started_line, timeout=10), master.log_tail()
    pids = re.findall(re.escape(started_line) + r" (\d+)", master.log_text())
    return int(pids[-1])


def assert_backlog_not_pinned(master, since):
    """No reader is left at an offset <= `since`: the backlog trims past it.

    A reader slot that outlived its replica would pin every block from its
    offset on, and repl_backlog_first_byte_offset would never move.
    """
    assert call(master, "CONFIG", "SET", "repl-backlog-size", "16384") == b"OK"
    with master.raw() as c:
        for i in range(300):
            c.call("SET", "trim:%d" % i, "t" * 1000)
    wait_for("the backlog trimmed past offset %d" % since,
             lambda: int(info(master)["repl_backlog_first_byte_offset"]) > since + 100000)


def assert_still_serving(master):
    with master.raw() as c:
        assert c.call("SET", "alive", "yes") == b"OK"
        assert c.call("GET", "alive") == b"yes"


def finish_with_good_replica(master, good, since):
    """The good replica is in sync, stays in sync under writes, and the
    master's books hold it alone."""
    wait_synced(master, [good], timeout=30)
    assert master.wait_log("Synchronization with replica 127.0.0.1:%d succeeded" % good.port)
    assert_still_serving(master)
    write_every_type(master, "after", 50)
    assert_backlog_not_pinned(master, since)
    wait_synced(master, [good], timeout=30)
    assert_same_digest(master, [good])
    assert connected(master) == 1
    assert list(replica_states(master)) == [good.port]


# ---- (1) a replica that goes away, or talks nonsense, mid-transfer ---------

GARBAGE = b"\x00\xff garbage that is no command at all " * 200  # no newline, > 4 KiB


def act(raw, action):
    if action == "disconnect":
        raw.close()
    else:
        raw.send(GARBAGE)


@pytest.mark.parametrize("action", ["disconnect", "garbage"])
def test_raw_replica_fails_mid_diskless_transfer(servers, action):
    # Both replicas share one snapshot (max-replicas 2); the per-key delay
    # keeps the child streaming for about a second.
    master = servers.ringmaster("--repl-diskless-sync", "yes", "--repl-diskless-sync-delay", "5",
                                "--repl-diskless-sync-max-replicas", "2",
                                "--rdb-key-save-delay", "100")
    populate(master, rmtest.scaled(10000, 5000), 32)
    raw = RawReplica(master)
    good = start_replica(servers, master, name="good")
    offset, header = raw.read_preamble()
    assert header.startswith(b"$EOF:") and len(header) == 5 + 40 + 2, header
    assert raw.read_payload(4096) == 4096
    # The transfer is under way: the child has not finished.
    assert "Background RDB transfer terminated" not in master.log_text()
    act(raw, action)
    if action == "garbage":
        assert master.wait_log("Protocol error from replica %s: closing the link" % raw.name)
    assert master.wait_log("Connection with replica %s lost." % raw.name)
    wait_for("the raw replica gone from INFO", lambda: raw.port not in replica_states(master))
    assert_still_serving(master)
    assert good.wait_log("receiving streamed RDB from master with EOF", timeout=10)
    assert master.wait_log("Background RDB transfer terminated with success", timeout=30)
    assert call(master, "CONFIG", "SET", "rdb-key-save-delay", "0") == b"OK"
    finish_with_good_replica(master, good, offset)
    assert stats(master)["sync_full"] == "2"
    raw.close()


@pytest.mark.parametrize("action", ["disconnect", "garbage"])
def test_raw_replica_fails_mid_disk_transfer(servers, action):
    master = servers.ringmaster("--repl-diskless-sync", "no", "--rdbcompression", "no")
    # About 25 MB of RDB (6 MB under a sanitizer), uncompressed since
    # POPULATE pads its values with zeros: more than the socket buffers
    # hold, so the master is still splicing when the raw replica gives up.
    populate(master, rmtest.scaled(200000, 50000), 100)
    raw = RawReplica(master, capa_eof=False)
    good = start_replica(servers, master, name="good")
    offset, header = raw.read_preamble()
    size = int(header[1:-2])
    assert size > 4 << 20, header
    assert raw.read_payload(1 << 20) == 1 << 20
    act(raw, action)
    if action == "garbage":
        assert master.wait_log("Protocol error from replica %s: closing the link" % raw.name)
    assert master.wait_log("Connection with replica %s lost." % raw.name)
    wait_for("the raw replica gone from INFO", lambda: raw.port not in replica_states(master))
    assert_still_serving(master)
    assert master.log_text().count("Starting BGSAVE for SYNC with target: disk") == 1
    finish_with_good_replica(master, good, offset)
    raw.close()


def test_raw_replica_garbage_while_waiting_for_bgsave(servers):
    """Garbage before the payload starts: dropped while the child still saves."""
    master = servers.ringmaster("--repl-diskless-sync", "no", "--rdb-key-save-delay", "200")
    populate(master, rmtest.scaled(5000, 2000), 16)
    raw = RawReplica(master, capa_eof=False)
    good = start_replica(servers, master, name="good")
    full = raw.line()
    assert full.startswith(b"+FULLRESYNC "), full
    offset = int(full.split()[2])
    raw.send(b"*3\r\n$8\r\nREPLCONF\r\n$3\r\nACK\r\n$-7\r\n")
    assert master.wait_log("Protocol error from replica %s: closing the link" % raw.name)
    assert master.wait_log("Connection with replica %s lost." % raw.name)
    assert "Background saving terminated" not in master.log_text()
    wait_for("the raw replica gone from INFO", lambda: raw.port not in replica_states(master))
    assert_still_serving(master)
    assert call(master, "CONFIG", "SET", "rdb-key-save-delay", "0") == b"OK"
    finish_with_good_replica(master, good, offset)
    raw.close()


# ---- (2) the snapshot child dies -------------------------------------------

@pytest.mark.parametrize("diskless", [True, False], ids=["diskless", "disk"])
def test_snapshot_child_killed(servers, diskless):
    master = servers.ringmaster("--repl-diskless-sync", "yes" if diskless else "no",
                                "--repl-diskless-sync-delay", "0",
                                "--rdb-key-save-delay", "1000")
    populate(master, 5000, 16)  # five seconds of child at 1 ms a key
    good = start_replica(servers, master, name="good")
    started = ("Background RDB transfer started by pid" if diskless
               else "Background saving started by pid")
    pid = child_pid(master, started)
    # Only the next child runs at full speed: this one has its own copy.
    assert call(master, "CONFIG", "SET", "rdb-key-save-delay", "0") == b"OK"
    os.kill(pid, signal.SIGKILL)
    if diskless:
        assert master.wait_log("Background transfer terminated by signal 9")
    else:
        assert master.wait_log("Background saving terminated by signal 9")
        assert master.wait_log("SYNC failed. BGSAVE child returned an error")
    assert_still_serving(master)
    # The replica was dropped with the child and asks again, by itself.
    wait_for("a second full sync", lambda: stats(master)["sync_full"] == "2", timeout=20)
    wait_synced(master, [good], timeout=30)
    assert_same_digest(master, [good])
    write_every_type(master, "after", 50)
    wait_synced(master, [good])
    assert_same_digest(master, [good])
    assert connected(master) == 1
    # A killed disk child leaves no temp-<pid>.rdb behind (Redis removes it too).
    assert not os.path.exists(os.path.join(master.workdir, "temp-%d.rdb" % pid))
    assert master.log_text().count(started) == 2


# ---- (3) an online replica that sends nonsense ------------------------------

def random_bytes_without_newline(n, seed=5):
    rng = random.Random(seed)
    return bytes(b for b in (rng.randrange(256) for _ in range(n * 2)) if b != 10)[:n]


ONLINE_GARBAGE = {
    "replconf-bad-bulk-length":
        b"*3\r\n$8\r\nREPLCONF\r\n$3\r\nACK\r\n$zz\r\n12\r\n",
    "replconf-negative-bulk-length":
        b"*3\r\n$8\r\nREPLCONF\r\n$3\r\nACK\r\n$-3\r\n",
    "replconf-bad-multibulk-length":
        b"*x\r\n$8\r\nREPLCONF\r\n$3\r\nACK\r\n$1\r\n0\r\n",
    "replconf-missing-dollar":
        b"*3\r\n$8\r\nREPLCONF\r\n:3\r\nACK\r\n$1\r\n0\r\n",
    "replconf-oversized-bulk":
        b"*3\r\n$8\r\nREPLCONF\r\n$3\r\nACK\r\n$999999\r\n",
    "random-bytes": random_bytes_without_newline(6000),
}


def go_online(master, raw):
    """Take the $<len> payload, ACK it: the raw replica is then online."""
    offset, header = raw.read_preamble()
    size = int(header[1:-2])
    assert raw.read_payload(size) == size
    raw.send(rmtest.encode_command("REPLCONF", "ACK", offset))
    wait_for("the raw replica online", lambda: replica_states(master).get(raw.port) == "online")
    return offset


@pytest.fixture(scope="module")
def online_pair(module_servers):
    """One master and one good replica for the whole table below."""
    master = module_servers.ringmaster("--repl-diskless-sync", "no")
    good = start_replica(module_servers, master, name="good")
    return master, good


@pytest.mark.parametrize("garbage", list(ONLINE_GARBAGE), ids=list(ONLINE_GARBAGE))
def test_online_replica_sends_garbage(online_pair, garbage):
    # Each case adds a raw replica, takes it online, and has it misbehave.
    master, good = online_pair
    wait_synced(master, [good])
    raw = RawReplica(master, capa_eof=False)
    try:
        go_online(master, raw)
        lost_before = master.log_text().count("Connection with replica %s lost." % raw.name)
        assert lost_before == 0
        # A well-formed ACK (and a PING) are fine and change nothing.
        assert raw.send(rmtest.encode_command("REPLCONF", "ACK", 1) + b"PING\r\n")
        assert raw.send(ONLINE_GARBAGE[garbage])
        assert master.wait_log("Protocol error from replica %s: closing the link" % raw.name)
        assert master.wait_log("Connection with replica %s lost." % raw.name)
        data, closed = rmtest.read_until_closed_or_quiet(raw.conn.sock, quiet=2.0, limit=5.0)
        assert closed, "the master kept the link open"
    finally:
        raw.close()
    wait_for("one replica left", lambda: list(replica_states(master)) == [good.port])
    write_every_type(master, garbage, 30)
    wait_synced(master, [good])
    assert_same_digest(master, [good])
    assert master.log_text().count("Connection with replica 127.0.0.1:%d lost." % good.port) == 0


# ---- (4) more replicas than backlog reader slots -----------------------------

READER_SLOTS = 64  # BACKLOG_MAX_READERS in repl/backlog.h
REFUSED_LINE = "refused: all %d replication backlog reader slots are in use" % READER_SLOTS


class Drain(threading.Thread):
    """Reads the given connections (rmtest.RespConn) in the background,
    keeping what each received, as replicas that keep up would."""

    def __init__(self):
        super().__init__(daemon=True)
        self.sel = selectors.DefaultSelector()
        self.lock = threading.Lock()
        self.data = {}
        self.stopping = False

    def add(self, conn):
        with self.lock:
            self.data[conn] = bytearray(conn.pending())
            conn.sock.setblocking(False)
            self.sel.register(conn.sock, selectors.EVENT_READ, conn)

    def remove(self, conn):
        with self.lock:
            self.sel.unregister(conn.sock)
        conn.close()

    def received(self, conn):
        with self.lock:
            return bytes(self.data[conn])

    def run(self):
        while not self.stopping:
            with self.lock:
                for key, _ in self.sel.select(0.02):
                    try:
                        chunk = key.fileobj.recv(1 << 16)
                    except (BlockingIOError, InterruptedError):
                        continue
                    except OSError:
                        chunk = b""
                    if chunk:
                        self.data[key.data] += chunk
                    else:
                        self.sel.unregister(key.fileobj)
            time.sleep(0.001)  # let add/remove take the lock

    def stop(self):
        self.stopping = True
        self.join(timeout=5)


def expect_refused(master, raw):
    """The reply is an error, and the master closes the connection after it."""
    first = raw.line()
    assert first.startswith(b"-ERR too many replicas"), first
    data, closed = rmtest.read_until_closed_or_quiet(raw.conn.sock, quiet=2.0, limit=5.0)
    assert closed and data == b"", (closed, data)
    assert raw.port not in replica_states(master)


def online_count(master):
    return sum(",state=online," in v for k, v in info(master).items() if re.match(r"slave\d+$", k))


def psync_continue(master, replid):
    """A raw replica that continues from the master's current offset."""
    offset = int(info(master)["master_repl_offset"])
    conn = rmtest.RespConn(master.port)
    conn.send_command("PSYNC", replid, offset + 1)
    line = conn._line()
    assert line == b"+CONTINUE\r\n", line  # no capa psync2: no id on the line
    return conn


def test_more_replicas_than_backlog_reader_slots(servers):
    # Disk snapshots, each slowed to about a second by its dozen keys, so
    # replicas attach to a running one; a 16 KB backlog trims quickly.
    master = servers.ringmaster("--repl-diskless-sync", "no", "--repl-backlog-size", "16384",
                                "--rdb-key-save-delay", "100000")
    with master.raw() as c:
        for i in range(10):
            c.call("SET", "seed:%d" % i, i)
    # Announced ports name them in the log and INFO: distinct by
    # construction (free_port may hand out a port twice).
    ports = iter(range(40000, 40100))
    raws = [RawReplica(master, port=next(ports)) for _ in range(READER_SLOTS + 6)]
    admitted, refused = [], []
    for raw in raws:
        first = raw.line()
        if first.startswith(b"+FULLRESYNC "):
            admitted.append(raw)
        else:
            assert first.startswith(b"-ERR too many replicas"), first
            refused.append(raw)
    # One slot stays with the snapshot while it runs.
    assert len(admitted) == READER_SLOTS - 1 and len(refused) == 7
    for raw in refused:
        data, closed = rmtest.read_until_closed_or_quiet(raw.conn.sock, quiet=2.0, limit=5.0)
        assert closed and data == b"", (closed, data)
        assert master.log_text().count("Replica %s %s" % (raw.name, REFUSED_LINE)) == 1
        raw.close()
    assert master.log_text().count(REFUSED_LINE) == 7
    assert_still_serving(master)

    drain = Drain()
    drain.start()
    try:
        for raw in admitted:
            drain.add(raw.conn)
        wait_for("the admitted replicas online",
                 lambda: online_count(master) == len(admitted), timeout=30)
        # The last free slot goes to a partial resync; nothing is left.
        replid = info(master)["master_replid"]
        cont = psync_continue(master, replid)
        drain.add(cont)
        since = int(info(master)["master_repl_offset"])
        expect_refused(master, RawReplica(master, port=next(ports)))
        assert master.log_text().count(REFUSED_LINE) == 8

        # The admitted replicas get the stream, the backlog trims behind them.
        with master.raw() as c:
            for i in range(300):
                c.call("SET", "big", "%d:" % i + "b" * 1000)
            c.call("SET", "marker-1", "seen")
        everyone = [r.conn for r in admitted] + [cont]
        wait_for("the stream at every admitted replica",
                 lambda: all(b"marker-1" in drain.received(conn) for conn in everyone))
        for raw in admitted:
            got = drain.received(raw.conn)
            assert re.match(rb"\n*\$\d+\r\nREDIS", got), got[:80]
        wait_for("the backlog trimmed",
                 lambda: int(info(master)["repl_backlog_first_byte_offset"]) > since + 1)

        # Two replicas leave; their slots take a newcomer (and its snapshot).
        for raw in admitted[:2]:
            drain.remove(raw.conn)
        wait_for("two slots free", lambda: connected(master) == len(admitted) - 1)
        late = RawReplica(master, port=next(ports))
        offset, header = late.read_preamble()
        size = int(header[1:-2])
        with master.raw() as c:
            c.call("SET", "marker-2", "late")
        # The payload, then the stream (a PING may come first: it is not
        # read apart from the payload, both are just bytes here).
        data, _ = rmtest.read_until_closed_or_quiet(late.conn.sock, until=b"late\r\n", limit=10)
        data = late.conn.pending() + data
        assert data.startswith(b"REDIS") and len(data) > size, data[:80]
        assert b"marker-2" in data[size:], data[-200:]
        assert master.log_text().count(REFUSED_LINE) == 8
        assert_still_serving(master)
        late.close()
    finally:
        drain.stop()
        for conn in drain.data:
            conn.close()
