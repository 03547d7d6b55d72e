"""ringmaster-bench (bench/ringmaster-bench/) against real servers.

The tool is found through RINGMASTER_BENCH_BIN (CTest sets it), else next
to RINGMASTER_BIN. Each run is a few seconds: the asked rate must be held
within 5%, the files complete, a replica frozen with DEBUG SLEEP 1.5 must
show as that much time lag, and a replica that goes away, or a server that
is not there, must end the run with a report and a non-zero status, never
a hang. The numbers themselves (lag, throughput) are not asserted beyond
that: they depend on the machine.

With --tls every connection (load, probe, INFO monitors, the full-sync
commands) goes to the servers' tls-port through OpenSSL: a Ringmaster pair
and a redis-server pair replicating over TLS are measured like plain ones,
and a certificate from a CA the tool does not trust, or a plaintext port,
ends the run with OpenSSL's reason. Certificates come from
tls_helpers.make_certs.
"""

import csv
import json
import os
import shutil
import subprocess
import threading
import time

import pytest

import rmtest
from repl_helpers import start_replica, wait_synced
from tls_helpers import make_certs, tls_node, tls_replica

FAST_SYNC = ("--repl-diskless-sync", "yes", "--repl-diskless-sync-delay", "0")
PROBE_MS = 10


def bench_bin():
    path = os.environ.get("RINGMASTER_BENCH_BIN")
    if not path and rmtest.ringmaster_bin():
        path = os.path.join(os.path.dirname(rmtest.ringmaster_bin()), "ringmaster-bench")
    if not path or not os.access(path, os.X_OK):
        pytest.skip("ringmaster-bench not built (RINGMASTER_BENCH_BIN)")
    return path


def run_bench(out, master_port, replica_ports, *extra, timeout=60):
    argv = [bench_bin(), "--master", "127.0.0.1:%d" % master_port, "--out", str(out), "--quiet",
            "--probe-interval", str(PROBE_MS)]
    for p in replica_ports:
        argv += ["--replica", "127.0.0.1:%d" % p]
    argv += [str(a) for a in extra]
    t0 = time.monotonic()
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=timeout * rmtest.SLOWDOWN)
    proc.elapsed = time.monotonic() - t0
    return proc


def summary(out):
    with open(os.path.join(out, "summary.json")) as f:
        return json.load(f)


def redis_pair(servers, replicas=1):
    # A redis-server master's offset first matches its replicas' after its
    # first PING to them: every second here, not every ten.
    master = servers.redis(*FAST_SYNC, "--repl-ping-replica-period", "1")
    reps = [start_replica(servers, master, "replica%d" % i) for i in range(replicas)]
    wait_synced(master, reps)
    return master, reps


def test_rate_held_files_complete(servers, tmp_path):
    master, reps = redis_pair(servers, 2)
    rate, seconds = 5000, 3
    proc = run_bench(tmp_path, master.port, [r.port for r in reps], "--rate", rate, "--duration",
                     seconds)
    assert proc.returncode == 0, proc.stderr + proc.stdout
    s = summary(tmp_path)
    assert abs(s["throughput"] - rate) <= 0.05 * rate, s
    assert s["ops"] == rate * seconds and s["errors"] == 0
    assert s["probes"] > 0 and s["probe_bytes"] > 0
    for r in s["replicas"]:
        assert not r["unreachable"] and r["lag_ms"]["count"] > 0
    names = ["127.0.0.1:%d" % r.port for r in reps]
    with open(tmp_path / "samples.csv") as f:
        rows = list(csv.reader(f))
    assert rows[0] == ["time_s"] + [n + suffix for n in names for suffix in ("_lag_bytes", "_lag_ms")]
    # One row per 100 ms sample, every field known: the replicas were up.
    assert len(rows) - 1 >= seconds * 10 * 0.8
    times = [float(r[0]) for r in rows[1:]]
    assert times == sorted(times) and times[-1] >= seconds * 0.95
    for row in rows[1:]:
        assert len(row) == 5 and all(v != "" for v in row), row
    svg = (tmp_path / "lag.svg").read_text()
    assert svg.startswith("<svg ") and svg.rstrip().endswith("</svg>")
    assert svg.count("<path ") == 4 and all(n in svg for n in names)
    assert "replication lag (ms)" in svg and "time since start (s)" in svg
    assert "throughput" in proc.stdout and names[0] in proc.stdout


def test_frozen_replica_shows_time_lag(servers, tmp_path):
    master, (replica,) = redis_pair(servers)
    slept = {}

    def freeze():
        time.sleep(1.0)
        t0 = time.monotonic()
        with replica.raw(timeout=10) as c:
            c.call("DEBUG", "SLEEP", "1.5")
        slept["s"] = time.monotonic() - t0

    t = threading.Thread(target=freeze)
    t.start()
    proc = run_bench(tmp_path, master.port, [replica.port], "--rate", 2000, "--duration", 4)
    t.join()
    assert proc.returncode == 0, proc.stderr + proc.stdout
    assert slept["s"] >= 1.5
    lag = summary(tmp_path)["replicas"][0]
    # The first probe acknowledged after the freeze began waited for the
    # replica until it woke: 1.5 s, less at most one probe interval for
    # when within the interval the freeze began.
    assert lag["lag_ms"]["max"] >= 1500 - PROBE_MS - 5, lag
    assert lag["lag_bytes"]["max"] > 0
    with open(tmp_path / "samples.csv") as f:
        rows = list(csv.DictReader(f))
    col = "127.0.0.1:%d_lag_ms" % replica.port
    # Sampled every 100 ms, the live lag reaches 1.5 s less a sample period.
    assert max(float(r[col]) for r in rows) >= 1500 - 100 - PROBE_MS - 5
    assert float(rows[-1][col]) < 100  # and it caught up


def test_replica_going_away_is_reported(servers, tmp_path):
    master, reps = redis_pair(servers, 2)

    def kill():
        time.sleep(1.0)
        reps[1].expect_exit()
        reps[1].proc.kill()

    t = threading.Thread(target=kill)
    t.start()
    proc = run_bench(tmp_path, master.port, [r.port for r in reps], "--rate", 2000, "--duration",
                     3, "--timeout", 2)
    t.join()
    assert proc.returncode == 3, proc.stderr + proc.stdout
    assert proc.elapsed < 3 + 2 + 5
    gone = "127.0.0.1:%d" % reps[1].port
    assert "replica %s unreachable" % gone in proc.stderr
    assert "UNREACHABLE" in proc.stdout
    s = summary(tmp_path)
    assert [r["unreachable"] for r in s["replicas"]] == [False, True]
    assert s["throughput"] > 0 and s["exit_status"] == 3
    with open(tmp_path / "samples.csv") as f:
        rows = list(csv.DictReader(f))
    assert rows[-1][gone + "_lag_bytes"] == ""  # unknown once it is gone
    assert (tmp_path / "lag.svg").read_text().rstrip().endswith("</svg>")


def test_unreachable_servers(servers, tmp_path):
    master, (replica,) = redis_pair(servers)
    nobody = rmtest.free_port()
    proc = run_bench(tmp_path, nobody, [replica.port], "--duration", 1, timeout=20)
    assert proc.returncode == 2 and "cannot reach master" in proc.stderr
    proc = run_bench(tmp_path, master.port, [nobody], "--duration", 1, timeout=20)
    assert proc.returncode == 3 and "cannot reach replica" in proc.stderr
    proc = run_bench(tmp_path, master.port, [replica.port], "--cacert", "ca.crt", timeout=20)
    assert proc.returncode == 1 and "--cacert needs --tls" in proc.stderr


def test_ringmaster_pair_full_sync(servers, tmp_path):
    master = servers.ringmaster(*FAST_SYNC)
    replica = servers.ringmaster("--replicaof", "127.0.0.1", master.port, name="replica")
    wait_synced(master, [replica])
    proc = run_bench(tmp_path, master.port, [replica.port], "--clients", 4, "--pipeline", 8,
                     "--duration", 3, "--full-sync", "--workload", "mixed")
    assert proc.returncode == 0, proc.stderr + proc.stdout
    s = summary(tmp_path)
    assert s["ops"] > 0 and s["errors"] == 0
    fs = s["full_sync"]
    assert fs["ok"] and fs["full"] and fs["seconds"] > 0, fs
    assert fs["peak_kb"] > 0 and fs["stream_bytes"] > 0
    assert "full sync of 127.0.0.1:%d (full resync)" % replica.port in proc.stdout
    wait_synced(master, [replica])


# ---- TLS --------------------------------------------------------------------

needs_openssl = pytest.mark.skipif(shutil.which("openssl") is None,
                                   reason="openssl CLI missing (apt-get install openssl)")


@pytest.fixture(scope="module")
def certs(tmp_path_factory):
    return make_certs(tmp_path_factory.mktemp("bench-tls"))


def tls_args(certs, ca="ca"):
    return ["--tls", "--cacert", certs[ca], "--cert", certs["client_cert"], "--key",
            certs["client_key"]]


def tls_pair(servers, certs, kind, *extra):
    master = tls_node(servers, kind, certs, *FAST_SYNC, *extra, name="master")
    replica = tls_replica(servers, kind, certs, master, name="replica")
    wait_synced(master, [replica])
    return master, replica


def tls_clients(server):
    """Clients of server that came in on its TLS port (CLIENT LIST laddr)."""
    with server.raw() as c:
        text = c.call("CLIENT", "LIST").decode()
    return sum(1 for line in text.splitlines() if ":%d " % server.tls_port in line)


@needs_openssl
def test_tls_ringmaster_pair_with_full_sync(servers, certs, tmp_path):
    """Open loop at a fixed rate, both lags measured and a full sync over
    TLS: REPLICAOF to the master's tls-port, which the replica reaches with
    tls-replication."""
    master, replica = tls_pair(servers, certs, "ringmaster")
    rate, seconds = 2000, 3
    seen = {}

    def count_clients():
        time.sleep(1.5)
        seen["master"], seen["replica"] = tls_clients(master), tls_clients(replica)

    t = threading.Thread(target=count_clients)
    t.start()
    proc = run_bench(tmp_path, master.tls_port, [replica.tls_port], *tls_args(certs), "--rate",
                     rate, "--duration", seconds, "--clients", 4, "--workload", "mixed",
                     "--full-sync")
    t.join()
    assert proc.returncode == 0, proc.stderr + proc.stdout
    s = summary(tmp_path)
    assert s["ops"] == rate * seconds and s["errors"] == 0
    assert abs(s["throughput"] - rate) <= 0.05 * rate, s
    lag = s["replicas"][0]
    assert not lag["unreachable"] and lag["lag_ms"]["count"] > 0
    fs = s["full_sync"]
    assert fs["ok"] and fs["full"] and fs["seconds"] > 0, fs
    # 4 load connections, the probe's publisher and the INFO monitor on the
    # master, the probe's subscriber and the monitor on the replica (plus
    # the full-sync thread's own while it runs): all on the TLS ports.
    assert seen["master"] >= 6 and seen["replica"] >= 2, seen
    wait_synced(master, [replica])


@needs_openssl
def test_tls_redis_pair_closed_loop(servers, certs, tmp_path):
    master, replica = tls_pair(servers, certs, "redis", "--repl-ping-replica-period", "1")
    # 64 KB values, 8 in flight on each of 4 connections: the socket
    # fills, so SSL_write blocks halfway and is retried on a grown buffer.
    proc = run_bench(tmp_path, master.tls_port, [replica.tls_port], *tls_args(certs),
                     "--clients", 4, "--pipeline", 8, "--duration", 2, "--value-size", 65536,
                     "--keyspace", 50)
    assert proc.returncode == 0, proc.stderr + proc.stdout
    s = summary(tmp_path)
    assert s["ops"] > 100 and s["errors"] == 0
    with master.raw() as c:
        key = c.call("RANDOMKEY")
        assert c.call("GET", key) == b"x" * 65536
    lag = s["replicas"][0]
    assert not lag["unreachable"] and lag["lag_ms"]["count"] > 0
    assert lag["lag_bytes"]["count"] > 0
    assert "throughput" in proc.stdout


@needs_openssl
def test_tls_refused(servers, certs, tmp_path):
    """A server whose certificate another CA signed, a plaintext port, a
    key that is not the certificate's, no client certificate for a server
    that wants one: each ends the run at once with the reason, and no load
    is sent. --insecure then skips the verification that failed."""
    master, replica = tls_pair(servers, certs, "ringmaster")
    proc = run_bench(tmp_path, master.tls_port, [replica.tls_port],
                     *tls_args(certs, ca="other_ca"), "--duration", 1, timeout=20)
    assert proc.returncode == 2, proc.stderr
    # OpenSSL's reason: the chain ends at a root the tool does not trust
    # (how it says so depends on whether the server sends its CA along).
    assert ("cannot reach master 127.0.0.1:%d: TLS handshake failed: certificate verify failed: "
            % master.tls_port) in proc.stderr
    assert ("unable to get local issuer certificate" in proc.stderr or
            "self-signed certificate in certificate chain" in proc.stderr), proc.stderr
    # A plaintext port: Ringmaster answers the ClientHello with a RESP
    # error, redis-server waits for the end of the "command".
    proc = run_bench(tmp_path, master.port, [replica.tls_port], *tls_args(certs), "--duration", 1,
                     timeout=20)
    assert proc.returncode == 2, proc.stderr
    assert "TLS handshake failed: wrong version number (is %d the server's tls-port?)" \
        % master.port in proc.stderr
    redis = servers.redis()
    proc = run_bench(tmp_path, redis.port, [replica.tls_port], *tls_args(certs), "--duration", 1,
                     "--timeout", 1, timeout=20)
    assert proc.returncode == 2, proc.stderr
    assert "TLS handshake: timed out after 1.0 s (is %d the server's tls-port?)" % redis.port \
        in proc.stderr
    proc = run_bench(tmp_path, master.tls_port, [replica.tls_port], "--tls", "--cacert",
                     certs["ca"], "--cert", certs["client_cert"], "--key", certs["other_key"],
                     timeout=20)
    assert proc.returncode == 1 and "--key %s: key values mismatch" % certs["other_key"] \
        in proc.stderr, proc.stderr
    missing = str(tmp_path / "no-such-ca.crt")
    proc = run_bench(tmp_path, master.tls_port, [replica.tls_port], "--tls", "--cacert", missing,
                     timeout=20)
    assert proc.returncode == 1 and "--cacert %s: No such file or directory" % missing \
        in proc.stderr, proc.stderr
    proc = run_bench(tmp_path, master.tls_port, [replica.tls_port], "--tls", "--cacert",
                     certs["ca"], timeout=20)
    assert proc.returncode == 2, proc.stderr
    assert ("cannot reach master 127.0.0.1:%d: PING: TLS read: tlsv13 alert certificate required"
            % master.tls_port) in proc.stderr
    with master.raw() as c:
        assert c.call("DBSIZE") == 0
    proc = run_bench(tmp_path, master.tls_port, [replica.tls_port],
                     *tls_args(certs, ca="other_ca"), "--insecure", "--sni", "localhost",
                     "--rate", 1000, "--duration", 1, timeout=20)
    assert proc.returncode == 0, proc.stderr
    assert summary(tmp_path)["ops"] == 1000
