"""Each chaos scenario of tests/chaos/ run briefly, so CI covers them.

tests/chaos/run.py does the work (a fault proxy per replica, a seeded
schedule, a write load, the final DEBUG DIGEST and offset check); this file
runs each scenario for a few seconds with a fixed seed and checks the JSON it
prints: no failure, no crash, nothing lost, and the numbers each scenario
promises (partial resyncs dominating under link cuts, one full resync per
outage past the backlog). The long runs are `run.py SCENARIO --seconds N`
or `--soak`; tests/chaos/README.md has their table.

The proxy itself is checked first against a plain echo server: bytes pass
unchanged both ways, stall holds them, cut and reset end the link; and
faultfs.py (the FUSE mount of the fsync scenario) against plain file calls.
The fsync scenario runs once on Ringmaster and once on redis-server 7.0
with the same seed: the replies to the failed saves must be the same.
"""

import errno
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time

import pytest

import rmtest

CHAOS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "chaos")
sys.path.insert(0, CHAOS)

import chaoslib  # noqa: E402

RUN_TIMEOUT = 150 * rmtest.SLOWDOWN


def run_scenario(scenario, seconds, seed, topology="rm", tls=False):
    if rmtest.ringmaster_bin() is None:
        pytest.skip("RINGMASTER_BIN is not set")
    if rmtest.redis_server_bin() is None and topology != "rm":
        pytest.skip("redis-server is not installed")
    cmd = ["/usr/bin/python3", os.path.join(CHAOS, "run.py"), scenario, "--seconds",
           str(seconds * rmtest.SLOWDOWN), "--seed", str(seed), "--topology", topology]
    if tls:
        cmd.append("--tls")
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          timeout=RUN_TIMEOUT, env=dict(os.environ))
    out = proc.stdout.decode().strip().splitlines()
    assert out, "run.py printed nothing\n%s" % proc.stderr.decode()[-4000:]
    result = json.loads(out[-1])
    assert proc.returncode == 0, "%s\n%s" % (out[-1], proc.stderr.decode()[-6000:])
    assert result["crashes"] == 0 and result["data_lost"] == 0, result
    return result


class EchoServer(threading.Thread):
    def __init__(self):
        super().__init__(daemon=True)
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]

    def run(self):
        while True:
            try:
                s, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self.echo, args=(s,), daemon=True).start()

    @staticmethod
    def echo(s):
        with s:
            while True:
                try:
                    data = s.recv(65536)
                except OSError:
                    return
                if not data:
                    return
                s.sendall(data)


def recv_exact(s, n):
    data = b""
    while len(data) < n:
        chunk = s.recv(n - len(data))
        if not chunk:
            break
        data += chunk
    return data


def test_proxy_is_transparent_and_faults_links(tmp_path):
    echo = EchoServer()
    echo.start()
    proxy = chaoslib.FaultProxy(str(tmp_path), echo.port)
    try:
        c = socket.create_connection(("127.0.0.1", proxy.port), timeout=5)
        payload = bytes(range(256)) * 2000
        c.sendall(payload)
        assert recv_exact(c, len(payload)) == payload
        # stall holds the bytes, resume lets them through
        assert proxy.fault("stall") == "1"
        c.sendall(b"held")
        c.settimeout(0.5)
        with pytest.raises(socket.timeout):
            c.recv(10)
        proxy.cmd("resume")
        c.settimeout(5)
        assert recv_exact(c, 4) == b"held"
        # cut: the client reads EOF
        assert proxy.fault("cut") == "1"
        assert c.recv(10) == b""
        c.close()
        # reset: the client sees ECONNRESET
        c = socket.create_connection(("127.0.0.1", proxy.port), timeout=5)
        c.sendall(b"x")
        assert recv_exact(c, 1) == b"x"
        proxy.fault("reset")
        with pytest.raises(ConnectionResetError):
            c.recv(10)
        c.close()
        # down: new links are accepted and closed at once
        proxy.fault("down")
        c = socket.create_connection(("127.0.0.1", proxy.port), timeout=5)
        assert c.recv(10) == b""
        c.close()
        st = proxy.stats()
        assert st["counts"]["refused"] == 1 and st["counts"]["cut"] == 2
        proxy.cmd("up")
        # SIGUSR1 cuts the live links
        c = socket.create_connection(("127.0.0.1", proxy.port), timeout=5)
        c.sendall(b"y")
        assert recv_exact(c, 1) == b"y"
        os.kill(proxy.proc.pid, signal.SIGUSR1)
        assert c.recv(10) == b""
        c.close()
        # the proxy's own seeded schedule: cuts every 50-100 ms
        proxy.cmd("random 7 50 100 cut")
        c = socket.create_connection(("127.0.0.1", proxy.port), timeout=5)
        assert c.recv(10) == b""
        c.close()
        proxy.cmd("random off")
        assert proxy.stats()["counts"]["cut"] >= 4
        # delay MS PORT: only the link whose client announced that
        # REPLCONF listening-port is delayed
        tagged = socket.create_connection(("127.0.0.1", proxy.port), timeout=5)
        hello = b"*3\r\n$8\r\nREPLCONF\r\n$14\r\nlistening-port\r\n$4\r\n4321\r\n"
        tagged.sendall(hello)
        assert recv_exact(tagged, len(hello)) == hello
        plain = socket.create_connection(("127.0.0.1", proxy.port), timeout=5)
        assert sorted(proxy.stats()["replica_ports"], key=str) == [4321, None]
        proxy.cmd("delay 400 4321")
        t0 = time.monotonic()
        plain.sendall(b"p")
        assert recv_exact(plain, 1) == b"p" and time.monotonic() - t0 < 0.3
        t0 = time.monotonic()
        tagged.sendall(b"t")
        assert recv_exact(tagged, 1) == b"t" and time.monotonic() - t0 >= 0.8
        proxy.cmd("delay 0")  # lifts the per-replica delay too
        t0 = time.monotonic()
        tagged.sendall(b"u")
        assert recv_exact(tagged, 1) == b"u" and time.monotonic() - t0 < 0.3
        tagged.close()
        plain.close()
        with pytest.raises(RuntimeError, match="ERR unknown command"):
            proxy.cmd("explode")
    finally:
        proxy.stop()
        echo.listener.close()


def test_faultfs_fails_sync_calls_on_command(tmp_path):
    """faultfs.py passes files through and fails fsync, fdatasync, a
    directory's fsync and write on command, for the names a rule matches."""
    try:
        fs = chaoslib.FaultFs(str(tmp_path), str(tmp_path / "backing"), str(tmp_path / "mnt"))
    except chaoslib.FaultFsUnavailable as e:
        pytest.skip(str(e))
    try:
        path = os.path.join(fs.mountpoint, "a.rdb")
        fd = os.open(path, os.O_CREAT | os.O_WRONLY, 0o644)
        try:
            os.write(fd, b"x" * 300000)
            os.fsync(fd)
            fs.fail("sync", "*.rdb", "EIO")
            for call in (os.fsync, os.fdatasync):
                with pytest.raises(OSError) as e:
                    call(fd)
                assert e.value.errno == errno.EIO
            fs.heal()
            os.fsync(fd)
        finally:
            os.close(fd)
        with open(tmp_path / "backing" / "a.rdb", "rb") as f:
            assert f.read() == b"x" * 300000
        fs.fail("fsyncdir", "*", "ENOSPC")
        dfd = os.open(fs.mountpoint, os.O_RDONLY | os.O_DIRECTORY)
        try:
            with pytest.raises(OSError) as e:
                os.fsync(dfd)
            assert e.value.errno == errno.ENOSPC
        finally:
            os.close(dfd)
        fs.fail("write", "b*", "EDQUOT")
        with open(os.path.join(fs.mountpoint, "c"), "wb") as f:
            f.write(b"unaffected")
        with pytest.raises(OSError) as e:
            with open(os.path.join(fs.mountpoint, "b"), "wb") as f:
                f.write(b"y")
        assert e.value.errno == errno.EDQUOT
        st = fs.stats()
        assert st["failed"] == {"fsync": 1, "fdatasync": 1, "fsyncdir": 1, "write": 1}, st
        with pytest.raises(RuntimeError, match="ERR unknown operation"):
            fs.cmd("fail chmod * EIO")
    finally:
        fs.stop()
    assert not fs.mounted()


def test_linkcut_partial_resyncs_dominate():
    r = run_scenario("linkcut", 12, seed=11)
    assert r["faults"] >= 3 and r["sync_partial_ok"] > r["full_after_initial"], r


@pytest.mark.parametrize("topology", ["redis-master", "redis-replica"])
def test_linkcut_mixed_topologies(topology):
    r = run_scenario("linkcut", 6, seed=12, topology=topology)
    assert r["sync_partial_ok"] > r["full_after_initial"], r


@pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl CLI missing")
def test_linkcut_over_tls():
    """The proxy is byte-transparent: the same faults on TLS replication links."""
    r = run_scenario("linkcut", 6, seed=17, tls=True)
    assert r["tls"] and r["sync_partial_ok"] > r["full_after_initial"], r


def test_backlog_outage_one_full_resync():
    r = run_scenario("backlog", 6, seed=13)
    assert r["outages"] >= 1, r


def test_kills():
    r = run_scenario("kills", 8, seed=14)
    assert set(r["kills"]) == {"replica-mid-sync", "master-mid-stream", "promoted-replica"}, r


def test_sigstop():
    r = run_scenario("sigstop", 8, seed=15)
    assert sum(r["stops"].values()) >= 1, r


@pytest.mark.skipif(rmtest.redis_sentinel_bin() is None, reason="redis-sentinel is not installed")
def test_sentinel_failovers_keep_waited_writes():
    """Real redis-sentinel fails the master over (kill -9, SIGSTOP,
    partition, stalled partition) at least twice while every link into each
    node, Sentinel's and the replicas' included, goes through that node's
    fault proxy (each node announces its proxy's port).

    What is asserted is what WAIT promises under Sentinel in Redis 7.0: WAIT
    only counts the replicas that acknowledged the write's offset, it makes
    nothing durable, and Sentinel promotes the reachable replica with the
    best priority, then the highest offset. So a write WAIT confirmed on
    both replicas is on every node Sentinel can promote and is never lost;
    a write confirmed on one replica survives too here, because the
    failovers start with both replicas reachable and their offsets final (a
    replica lagging through a delayed link is behind, and not chosen); a
    write no replica confirmed may be lost (counted, not asserted). With
    min-replicas-to-write 1 / min-replicas-max-lag 2 a partitioned old
    master refuses writes (-NOREPLICAS) within a few seconds."""
    r = run_scenario("sentinel", 15, seed=18)
    assert r["failovers"] >= 2 and r["sentinel_switches"] >= r["failovers"], r
    assert r["acked"]["wait2"] > 0 and r["lost"]["wait2"] == 0 and r["lost"]["wait1"] == 0, r
    assert r["sync_full"] == r["proxied_full"] and r["sync_partial_ok"] == r["proxied_partial"], r
    assert r["minority"]["kept"] == 0, r


def test_disk():
    r = run_scenario("disk", 3, seed=16)
    if "skipped" in r:
        pytest.skip(r["skipped"])
    assert r["cycles"] >= 1, r


@pytest.fixture(scope="module")
def fsync_rm():
    """The fsync scenario on Ringmaster, run once for the tests below."""
    r = run_scenario("fsync", 3, seed=18)
    if "skipped" in r:
        pytest.skip(r["skipped"])
    return r


def test_fsync(fsync_rm):
    """fsync, fdatasync and the directory's fsync fail under a FUSE mount
    (tests/chaos/faultfs.py): SAVE, BGSAVE, the master's replication
    snapshot and CONFIG REWRITE fail with the errno and keep the old files;
    the replica keeps its data and retries at most once a second; all
    converge once the faults clear (run.py checks each)."""
    r = fsync_rm
    assert r["cycles"] >= 3, r
    assert sorted(r["replica_seconds_per_attempt"]) == ["fdatasync", "fsync", "fsyncdir"], r
    assert all(s >= 0.8 for v in r["replica_seconds_per_attempt"].values() for s in v), r


def test_fsync_errors_match_redis(fsync_rm):
    """The same seed under redis-server 7.0 on both ends: the same replies
    to SAVE, BGSAVE, a write under MISCONF and CONFIG REWRITE."""
    if rmtest.redis_server_bin() is None:
        pytest.skip("redis-server is not installed")
    ref = run_scenario("fsync", 3, seed=18, topology="redis")
    assert ref["fsync_replies"] == fsync_rm["fsync_replies"]
