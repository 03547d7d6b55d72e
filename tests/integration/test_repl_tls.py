"""Replication over TLS, in every pairing with redis-server 7.0.

The master serves the replica on its tls-port; the replica connects with
`tls-replication yes`, presents its certificate and verifies the master's.
On Ringmaster both ends run on the replication I/O threads (io/tlsio.c):
these tests check that the bytes arrive (digests equal under write load,
disk and diskless payloads, partial resync after a cut link) and that every
certificate problem is refused, logged, and retried without disturbing
anything else. Certificates come from tls_helpers.make_certs.
"""

import os
import shutil
import socket
import ssl
import struct
import subprocess
import threading
import time

import pytest

import rmtest
from repl_helpers import (assert_same_digest, benchmark_load, call, caught_up, info, wait_for,
                          write_every_type)
from tls_helpers import make_certs, signed_cert, tls_node, tls_replica

SLOW = rmtest.SLOWDOWN

pytestmark = pytest.mark.skipif(shutil.which("openssl") is None,
                                reason="openssl CLI missing (apt-get install openssl)")


@pytest.fixture(scope="module")
def certs(tmp_path_factory):
    c = make_certs(tmp_path_factory.mktemp("repl-tls"))
    # Expired the moment it is made: -days 0 puts notAfter at notBefore.
    c["expired_cert"], c["expired_key"] = signed_cert(
        c["dir"], "expired", "expired-server", ext="subjectAltName=IP:127.0.0.1\n", days=0)
    time.sleep(1.1)
    return c


PAIRS = [("ringmaster", "redis"), ("redis", "ringmaster"), ("ringmaster", "ringmaster")]


@pytest.mark.parametrize("master_kind,replica_kind", PAIRS)
@pytest.mark.parametrize("diskless", ["no", "yes"])
def test_replica_follows_master_over_tls_under_load(servers, certs, master_kind, replica_kind,
                                                    diskless):
    master = tls_node(servers, master_kind, certs, "--repl-diskless-sync", diskless,
                      "--repl-diskless-sync-delay", "0", name="master")
    write_every_type(master, prefix="before", n=2000)
    # A payload of a few MB, so the transfer spans many TLS records.
    call(master, "DEBUG", "POPULATE", rmtest.scaled(50000, 5000), "bulk", 64)
    load = "swapdb" if diskless == "yes" else "disabled"
    replica = tls_replica(servers, replica_kind, certs, master, "--repl-diskless-load", load)
    load_thread = threading.Thread(target=benchmark_load, args=(master,), daemon=True)
    load_thread.start()
    write_every_type(master, prefix="during", n=200)
    load_thread.join(timeout=120 * SLOW)
    assert not load_thread.is_alive()
    caught_up(master, replica)
    assert_same_digest(master, [replica])
    # The stream keeps flowing after the sync: one more write shows up.
    call(master, "SET", "after-sync", "x" * 70000)
    wait_for("the write after the sync", lambda: call(replica, "STRLEN", "after-sync") == 70000)


@pytest.mark.parametrize("killer", ["replica", "master"])
def test_cut_link_resumes_with_partial_resync(servers, certs, killer):
    master = tls_node(servers, "ringmaster", certs, name="master")
    write_every_type(master)
    replica = tls_replica(servers, "ringmaster", certs, master)
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


def log_count(server, needle):
    return server.log_text().count(needle)


def test_master_certificate_that_does_not_verify_is_retried(servers, certs):
    """The master presents a certificate of another CA: the replica logs
    why, retries, and connects once it is told to trust that CA."""
    master = tls_node(servers, "ringmaster", certs, name="master", cert="other_cert",
                      auth="no")
    write_every_type(master)
    replica = tls_replica(servers, "ringmaster", certs, master)
    wait_for("two refused attempts",
             lambda: log_count(replica, "certificate verify failed") >= 2, timeout=10)
    assert info(replica)["master_link_status"] == "down"
    assert call(master, "PING") == b"PONG"
    assert call(replica, "CONFIG", "SET", "tls-ca-cert-file", certs["other_ca"]) == b"OK"
    caught_up(master, replica)
    assert_same_digest(master, [replica])


def test_replica_lost_mid_diskless_payload_is_freed_at_once(servers, certs):
    """A TLS replica that hangs up while the snapshot child is between two
    writes of an EOF-framed payload: the master frees it (its socket, its
    backlog reader slot) at once, not when the child next writes. The child
    here writes the header, then nothing for about 30 s (30 small keys, one
    second each, all in one buffered write)."""
    master = tls_node(servers, "ringmaster", certs, "--repl-diskless-sync", "yes",
                      "--repl-diskless-sync-delay", "0", "--rdb-key-save-delay", "1000000",
                      name="master", auth="no")
    for i in range(30):
        call(master, "SET", "k%d" % i, "v")
    ctx = ssl.create_default_context(cafile=certs["ca"])
    raw = socket.create_connection(("127.0.0.1", master.tls_port), timeout=10 * SLOW)
    conn = ctx.wrap_socket(raw, server_hostname="localhost")
    got = b""
    try:
        conn.sendall(rmtest.encode_command("REPLCONF", "capa", "eof", "capa", "psync2"))
        conn.sendall(rmtest.encode_command("PSYNC", "?", "-1"))
        while b"$EOF:" not in got or not got.endswith(b"\r\n"):
            chunk = conn.recv(4096)
            assert chunk, "the master closed before the payload header: %r" % got
            got += chunk
        assert b"+FULLRESYNC" in got
        assert info(master)["connected_slaves"] == "1"
    finally:
        # An RST, not a FIN: nothing about the close waits for the peer.
        conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        conn.close()
    lost = time.monotonic()
    wait_for("the master to free the lost replica",
             lambda: info(master)["connected_slaves"] == "0", timeout=3)
    assert time.monotonic() - lost < 3 * SLOW
    assert master.wait_log("Connection with replica")
    assert call(master, "PING") == b"PONG"


# Loaded before libssl, it makes every SSL_CTX_up_ref fail: the replica's
# TLS client context exists but cannot be handed to a connection.
NO_CTX_REFERENCE_SHIM = """
#include <openssl/ssl.h>
int SSL_CTX_up_ref(SSL_CTX *ctx) { (void)ctx; return 0; }
"""


def test_no_tls_client_context_means_no_plaintext_connection(servers, certs, tmp_path):
    """tls-replication yes and no TLS client context to connect with: the
    replica never falls back to plaintext, not even towards a master's plain
    port that would accept it; it logs why and tries again each second."""
    cc = shutil.which("cc")
    if cc is None:
        pytest.skip("no C compiler for the fault-injection shim")
    src = tmp_path / "no_ctx_reference.c"
    src.write_text(NO_CTX_REFERENCE_SHIM)
    shim = str(tmp_path / "no_ctx_reference.so")
    subprocess.run([cc, "-shared", "-fPIC", "-o", shim, str(src)], check=True)
    env = {"LD_PRELOAD": shim,
           "ASAN_OPTIONS": os.environ.get("ASAN_OPTIONS", "") + ":verify_asan_link_order=0"}
    master = tls_node(servers, "ringmaster", certs, name="master")
    write_every_type(master)
    replica = tls_node(servers, "ringmaster", certs, "--replicaof", "127.0.0.1", master.port,
                       name="replica", env=env)
    refused = "Unable to connect to MASTER: TLS client context not available"
    wait_for("two attempts refused for want of a context",
             lambda: log_count(replica, refused) >= 2, timeout=10)
    assert "Connecting to MASTER" not in replica.log_text()
    assert info(replica)["master_link_status"] == "down"
    assert call(replica, "DBSIZE") == 0
    assert info(master)["connected_slaves"] == "0"


@pytest.mark.parametrize("replica_kind", ["ringmaster", "redis"])
def test_expired_master_certificate_refused(servers, certs, replica_kind):
    master = tls_node(servers, "ringmaster", certs, name="master", cert="expired_cert",
                      auth="no")
    replica = tls_replica(servers, replica_kind, certs, master)
    wait_for("a refused attempt",
             lambda: "certificate verify failed" in replica.log_text(), timeout=10)
    if replica_kind == "ringmaster":
        # Ringmaster's line also says which check failed.
        assert "certificate has expired" in replica.log_text()
    time.sleep(0.5)
    assert info(replica)["master_link_status"] == "down"
    assert info(master)["connected_slaves"] == "0"


def test_replica_certificate_checked_by_the_master(servers, certs):
    """tls-auth-clients yes: a replica whose certificate the master does not
    trust is refused (one line in the master's log per attempt); given a
    client certificate the master trusts (tls-client-cert-file, which a
    replica presents instead of tls-cert-file), it connects."""
    master = tls_node(servers, "ringmaster", certs, name="master")
    write_every_type(master)
    replica = tls_replica(servers, "ringmaster", certs, master, cert="other_cert")
    wait_for("two refused attempts", lambda: log_count(master, "certificate") >= 2, timeout=10)
    assert info(replica)["master_link_status"] == "down"
    assert info(master)["connected_slaves"] == "0"
    with replica.raw() as c:
        assert c.call("CONFIG", "SET", "tls-client-cert-file", certs["client_cert"],
                      "tls-client-key-file", certs["client_key"]) == b"OK"
    caught_up(master, replica)
    assert_same_digest(master, [replica])
    with replica.raw() as c:
        got = dict(zip(*[iter(c.call("CONFIG", "GET", "tls-client-*"))] * 2))
    assert got[b"tls-client-cert-file"] == certs["client_cert"].encode()


def test_plaintext_replica_on_tls_port_and_tls_replica_on_plain_port(servers, certs):
    """Each side refuses the other's protocol with one log line per attempt
    and keeps serving; neither replica gets a byte of the dataset."""
    master = tls_node(servers, "ringmaster", certs, name="master")
    write_every_type(master)
    plain = servers.ringmaster("--replicaof", "127.0.0.1", master.tls_port, "--repl-timeout",
                               "3", name="plain-replica")
    tls_to_plain = tls_node(servers, "ringmaster", certs, "--replicaof", "127.0.0.1",
                            master.port, "--repl-timeout", "3", name="tls-replica")
    wait_for("the plain replica's attempts refused",
             lambda: log_count(plain, "Connecting to MASTER") >= 2, timeout=15)
    wait_for("the TLS replica's handshakes refused",
             lambda: log_count(tls_to_plain, "TLS handshake with MASTER failed") >= 1,
             timeout=15)
    for r in (plain, tls_to_plain):
        assert info(r)["master_link_status"] == "down"
        assert call(r, "DBSIZE") == 0
    assert info(master)["connected_slaves"] == "0"
    assert call(master, "PING") == b"PONG"


def test_master_that_stalls_the_handshake_times_out(servers, certs):
    """A "master" that accepts and never answers the ClientHello: the
    replica gives up after repl-timeout and tries again."""
    lsock = socket.socket()
    lsock.bind(("127.0.0.1", 0))
    lsock.listen(8)
    held = []

    def accept_and_hold():
        lsock.settimeout(30 * SLOW)
        try:
            while len(held) < 2:
                conn, _ = lsock.accept()
                held.append(conn)
        except OSError:
            pass

    t = threading.Thread(target=accept_and_hold, daemon=True)
    t.start()
    try:
        replica = tls_node(servers, "ringmaster", certs, "--replicaof", "127.0.0.1",
                           lsock.getsockname()[1], "--repl-timeout", "2", name="replica")
        wait_for("a second attempt after the timeout", lambda: len(held) >= 2, timeout=20)
        assert "Timeout connecting to the MASTER" in replica.log_text()
        assert call(replica, "PING") == b"PONG"
    finally:
        lsock.close()
        for c in held:
            c.close()


def test_config_set_tls_replication_needs_certificates(servers):
    """Without certificates, turning tls-replication on fails as on Redis,
    and the server keeps its plain replication."""
    rm = servers.ringmaster(name="rm")
    ref = servers.redis(name="ref")
    got = call(rm, "CONFIG", "SET", "tls-replication", "yes")
    want = call(ref, "CONFIG", "SET", "tls-replication", "yes")
    assert isinstance(got, rmtest.RespError) and isinstance(want, rmtest.RespError)
    assert got == want
    assert call(rm, "CONFIG", "GET", "tls-replication") == [b"tls-replication", b"no"]
