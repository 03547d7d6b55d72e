"""TLS for clients (tls-port), against redis-cli --tls, redis-py and raw sockets.

Each module run makes its own CA, server certificates and a client
certificate with the openssl CLI in the test's tmp dir. Where it is cheap
the same setup runs on redis-server (Debian's is built with TLS) so that
both servers are held to the same behaviour. The replication link over TLS
is test_repl_tls.py's.
"""

import shutil
import socket
import ssl
import subprocess
import time

import pytest

import rmtest
from rmtest import free_port
from tls_helpers import make_certs, openssl

SLOW = rmtest.SLOWDOWN

pytestmark = pytest.mark.skipif(shutil.which("openssl") is None,
                                reason="openssl CLI missing (apt-get install openssl)")


@pytest.fixture(scope="module")
def certs(tmp_path_factory):
    return make_certs(tmp_path_factory.mktemp("tls"))


def tls_args(certs, tls_port, auth="yes", **extra):
    args = ["--tls-port", tls_port, "--tls-cert-file", certs["cert"],
            "--tls-key-file", certs["key"], "--tls-ca-cert-file", certs["ca"],
            "--tls-auth-clients", auth]
    for k, v in extra.items():
        args += ["--" + k.replace("_", "-"), v]
    return args


def start(servers, kind, certs, auth="yes", *more):
    tls_port = free_port()
    server = getattr(servers, kind)(*(tls_args(certs, tls_port, auth) + list(more)))
    server.tls_port = tls_port
    return server


def tls_context(certs, with_cert=True):
    ctx = ssl.create_default_context(cafile=certs["ca"])
    if with_cert:
        ctx.load_cert_chain(certs["client_cert"], certs["client_key"])
    return ctx


def tls_socket(certs, port, with_cert=True):
    raw = socket.create_connection(("127.0.0.1", port), timeout=5 * SLOW)
    return tls_context(certs, with_cert).wrap_socket(raw, server_hostname="localhost")


def tls_call(sock, *args):
    sock.sendall(rmtest.encode_command(*args))
    return read_line(sock)


def read_line(sock):
    data = b""
    while not data.endswith(b"\r\n"):
        chunk = sock.recv(4096)
        if not chunk:
            raise ConnectionError("closed after %r" % data)
        data += chunk
    return data


def refused(certs, port, with_cert=True):
    """Whether a TLS client's PING fails (handshake refused or closed)."""
    try:
        with tls_socket(certs, port, with_cert) as s:
            return tls_call(s, "PING") != b"+PONG\r\n"
    except (OSError, ConnectionError):
        return True


def redis_py(server, certs, with_cert=True):
    import redis
    kw = dict(ssl=True, ssl_ca_certs=certs["ca"], ssl_cert_reqs="required")
    if with_cert:
        kw.update(ssl_certfile=certs["client_cert"], ssl_keyfile=certs["client_key"])
    return redis.Redis(host="127.0.0.1", port=server.tls_port, socket_timeout=10.0 * SLOW,
                       socket_connect_timeout=5.0 * SLOW, **kw)


def cli(certs, port, *args, with_cert=True):
    argv = ["redis-cli", "-p", str(port), "--tls", "--cacert", certs["ca"]]
    if with_cert:
        argv += ["--cert", certs["client_cert"], "--key", certs["client_key"]]
    return subprocess.run(argv + list(args), capture_output=True, text=True, timeout=20 * SLOW)


@pytest.mark.parametrize("kind", ["ringmaster", "redis"])
def test_redis_cli_over_tls(servers, certs, kind):
    server = start(servers, kind, certs)
    assert cli(certs, server.tls_port, "PING").stdout.strip() == "PONG"
    assert cli(certs, server.tls_port, "SET", "k", "v1").stdout.strip() == "OK"
    assert cli(certs, server.tls_port, "GET", "k").stdout.strip() == "v1"
    # the plain port still serves the same data
    with server.raw() as c:
        assert c.call("GET", "k") == b"v1"


@pytest.mark.parametrize("kind", ["ringmaster", "redis"])
def test_redis_py_pipeline_and_large_values(servers, certs, kind):
    server = start(servers, kind, certs)
    r = redis_py(server, certs)
    big = bytes(range(256)) * 4096  # 1 MB
    assert r.set("big", big)
    assert r.get("big") == big
    pipe = r.pipeline(transaction=False)
    for i in range(2000):
        pipe.set("key:%d" % i, "value:%d" % i)
        pipe.get("key:%d" % i)
    replies = pipe.execute()
    assert replies[1::2] == [b"value:%d" % i for i in range(2000)]
    # big values in one pipeline, both ways at once
    pipe = r.pipeline(transaction=False)
    for i in range(8):
        pipe.set("big:%d" % i, big[i:] + big[:i])
    for i in range(8):
        pipe.get("big:%d" % i)
    replies = pipe.execute()
    assert replies[8:] == [big[i:] + big[:i] for i in range(8)]
    r.close()


@pytest.mark.parametrize("kind", ["ringmaster", "redis"])
def test_tls_auth_clients_modes(servers, certs, kind):
    server = start(servers, kind, certs, "yes")
    port = server.tls_port
    assert refused(certs, port, with_cert=False)
    assert not refused(certs, port, with_cert=True)
    with server.raw() as c:
        # per connection: no context rebuild needed
        assert c.call("CONFIG", "SET", "tls-auth-clients", "no") == b"OK"
        assert not refused(certs, port, with_cert=False)
        assert not refused(certs, port, with_cert=True)
        assert c.call("CONFIG", "SET", "tls-auth-clients", "optional") == b"OK"
        assert not refused(certs, port, with_cert=False)
        assert not refused(certs, port, with_cert=True)
        assert c.call("CONFIG", "GET", "tls-auth-clients") == [b"tls-auth-clients", b"optional"]
        assert c.call("CONFIG", "SET", "tls-auth-clients", "yes") == b"OK"
    assert refused(certs, port, with_cert=False)
    if kind == "ringmaster":
        assert "Error accepting a client connection:" in server.log_text()


def test_plaintext_on_tls_port_and_tls_on_plain_port_refused(servers, certs):
    server = start(servers, "ringmaster", certs)
    keeper = tls_socket(certs, server.tls_port)
    assert tls_call(keeper, "SET", "x", "1") == b"+OK\r\n"
    # plaintext on the TLS port: closed, one log line
    with socket.create_connection(("127.0.0.1", server.tls_port), timeout=5 * SLOW) as s:
        s.sendall(b"PING\r\n")
        got = rmtest.read_until_closed_or_quiet(s, limit=5.0 * SLOW)
        assert b"PONG" not in got
    # TLS on the plain port: the handshake fails
    assert refused(certs, server.port)
    # everyone else is served throughout
    assert tls_call(keeper, "INCR", "x") == b":2\r\n"
    with server.raw() as c:
        assert c.call("PING") == b"PONG"
    keeper.close()
    log = server.log_text()
    assert log.count("Error accepting a client connection:") == 1, log


def client_hello():
    """The first flight of a TLS client, from a memory BIO."""
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    obj = ctx.wrap_bio(incoming, outgoing)
    with pytest.raises(ssl.SSLWantReadError):
        obj.do_handshake()
    return outgoing.read()


def test_stalled_handshakes_do_not_block_others(servers, certs):
    server = start(servers, "ringmaster", certs, "yes", "--timeout", "2")
    hello = client_hello()
    stalled = []
    for n in (0, 5, len(hello) // 2, len(hello)):  # silent, torn header, half, whole
        s = socket.create_connection(("127.0.0.1", server.tls_port), timeout=5 * SLOW)
        s.sendall(hello[:n])
        stalled.append(s)
    t0 = time.monotonic()
    for i in range(20):
        assert cli(certs, server.tls_port, "PING").stdout.strip() == "PONG"
    assert time.monotonic() - t0 < 20 * SLOW
    # `timeout` ends them, each with the log line
    deadline = time.monotonic() + 10 * SLOW
    while time.monotonic() < deadline:
        if server.log_text().count("TLS handshake timed out") >= 4:
            break
        time.sleep(0.1)
    assert server.log_text().count("TLS handshake timed out") == 4, server.log_tail()
    for s in stalled:
        assert rmtest.read_until_closed_or_quiet(s, limit=5.0 * SLOW) is not None
        s.close()
    assert cli(certs, server.tls_port, "PING").stdout.strip() == "PONG"


def test_port_zero_serves_tls_only(servers, certs):
    tls_port = free_port()
    server = servers.ringmaster(*(tls_args(certs, tls_port) + ["--port", "0"]), wait=False)
    deadline = time.monotonic() + 10 * SLOW
    while True:
        try:
            with tls_socket(certs, tls_port) as s:
                assert tls_call(s, "PING") == b"+PONG\r\n"
                reply = tls_call(s, "CONFIG", "GET", "port")
                while not reply.endswith(b"$1\r\n0\r\n"):
                    reply += read_line(s)
                break
        except (OSError, ConnectionError):
            assert time.monotonic() < deadline, server.log_tail()
            time.sleep(0.05)
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", server.port), timeout=2).close()
    server.expect_exit()
    with tls_socket(certs, tls_port) as s:
        s.sendall(rmtest.encode_command("SHUTDOWN", "NOSAVE"))
        try:
            s.recv(100)
        except OSError:
            pass
    assert server.wait_exit(10 * SLOW) == 0


def peer_cn(certs, port):
    with tls_socket(certs, port) as s:
        subject = dict(x[0] for x in s.getpeercert()["subject"])
        return subject["commonName"]


@pytest.mark.parametrize("kind", ["ringmaster", "redis"])
def test_config_set_cert_rebuilds_context(servers, certs, kind):
    server = start(servers, kind, certs)
    port = server.tls_port
    kept = tls_socket(certs, port)  # an open connection keeps working throughout
    assert peer_cn(certs, port) == "server-one"
    with server.raw() as c:
        assert c.call("CONFIG", "SET", "tls-cert-file", certs["cert2"],
                      "tls-key-file", certs["key2"]) == b"OK"
        assert peer_cn(certs, port) == "server-two"
        assert c.call("CONFIG", "GET", "tls-cert-file") == [b"tls-cert-file",
                                                            certs["cert2"].encode()]
        # a file that does not load: an error, the values and context kept
        reply = c.call("CONFIG", "SET", "tls-cert-file", str(certs["dir"] / "missing.crt"))
        assert isinstance(reply, rmtest.RespError), reply
        assert "Unable to update TLS configuration" in reply.message, reply
        assert c.call("CONFIG", "GET", "tls-cert-file") == [b"tls-cert-file",
                                                            certs["cert2"].encode()]
        assert peer_cn(certs, port) == "server-two"
        # a key that does not match the certificate: refused too
        reply = c.call("CONFIG", "SET", "tls-key-file", certs["key"])
        assert isinstance(reply, rmtest.RespError), reply
        assert peer_cn(certs, port) == "server-two"
        reply = c.call("CONFIG", "SET", "tls-protocols", "TLSv9")
        assert isinstance(reply, rmtest.RespError), reply
        assert c.call("CONFIG", "SET", "tls-protocols", "TLSv1.2") == b"OK"
        with tls_socket(certs, port) as s:
            assert s.version() == "TLSv1.2"
    assert tls_call(kept, "PING") == b"+PONG\r\n"
    kept.close()


def test_config_get_defaults_match_redis(servers):
    rm = servers.ringmaster()
    ref = servers.redis()
    with rm.raw() as a, ref.raw() as b:
        got = dict(zip(*[iter(a.call("CONFIG", "GET", "tls-*"))] * 2))
        want = dict(zip(*[iter(b.call("CONFIG", "GET", "tls-*"))] * 2))
    assert got == want


def test_config_file_and_rewrite(servers, certs, tmp_path):
    port, tls_port = free_port(), free_port()
    conf = tmp_path / "redis.conf"
    conf.write_text("port %d\nbind 127.0.0.1\nsave \"\"\ntls-port %d\ntls-cert-file %s\n"
                    "tls-key-file %s\ntls-ca-cert-file %s\ntls-auth-clients optional\n"
                    "tls-session-cache-size 1000\ntls-ciphersuites TLS_AES_256_GCM_SHA384\n"
                    % (port, tls_port, certs["cert"], certs["key"], certs["ca"]))
    server = servers.ringmaster(config_file=str(conf), standard=False, port=port)
    with tls_socket(certs, tls_port, with_cert=False) as s:
        assert tls_call(s, "PING") == b"+PONG\r\n"
        assert s.cipher()[0] == "TLS_AES_256_GCM_SHA384"
    with server.raw() as c:
        assert c.call("CONFIG", "SET", "tls-session-cache-timeout", "60") == b"OK"
        assert c.call("CONFIG", "REWRITE") == b"OK"
    text = conf.read_text()
    for line in ("tls-port %d" % tls_port, "tls-auth-clients optional",
                 "tls-session-cache-size 1000", "tls-session-cache-timeout 60"):
        assert line in text, text


@pytest.mark.parametrize("kind", ["ringmaster", "redis"])
def test_config_set_ports_at_runtime(servers, certs, kind):
    """CONFIG SET tls-port and port move the listeners, as on Redis 7.0:
    the new port serves, the old one is closed, connected clients stay; a
    port that cannot be bound is refused with the old one kept; tls-port 0
    closes TLS."""
    server = start(servers, kind, certs, "no")
    kept = server.raw()
    new_tls, new_plain = free_port(), free_port()
    assert kept.call("CONFIG", "SET", "tls-port", str(new_tls)) == b"OK"
    assert refused(certs, server.tls_port)
    with tls_socket(certs, new_tls) as s:
        assert tls_call(s, "PING") == b"+PONG\r\n"
    assert kept.call("CONFIG", "SET", "port", str(new_plain)) == b"OK"
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", server.port), timeout=2).close()
    with rmtest.RespConn(port=new_plain) as c:
        assert c.call("PING") == b"PONG"
    assert kept.call("PING") == b"PONG"
    # A port somebody else holds: refused, the current one still serves.
    blocker = socket.socket()
    blocker.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    blocker.bind(("127.0.0.1", 0))
    blocker.listen(1)
    taken = blocker.getsockname()[1]
    reply = kept.call("CONFIG", "SET", "port", str(taken))
    assert isinstance(reply, rmtest.RespError), reply
    assert "Unable to listen on this port" in reply.message, reply
    assert kept.call("CONFIG", "GET", "port") == [b"port", str(new_plain).encode()]
    with rmtest.RespConn(port=new_plain) as c:
        assert c.call("PING") == b"PONG"
    blocker.close()
    assert kept.call("CONFIG", "SET", "tls-port", "0") == b"OK"
    assert refused(certs, new_tls)
    kept.close()
    server.port = new_plain  # for the fixture's shutdown


def test_missing_cert_refuses_to_start(servers, certs):
    server = servers.ringmaster("--tls-port", free_port(), "--tls-cert-file", certs["cert"],
                                wait=False)
    server.expect_exit()
    assert server.wait_exit(10 * SLOW) not in (None, 0)
    log = server.log_text()
    assert "No tls-key-file configured!" in log, log
    assert "Failed to configure TLS" in log, log



@pytest.mark.parametrize("transport", ["plain", "tls"])
def test_behaviour_same_over_both_transports(servers, certs, transport):
    """A slice of the suite's protocol behaviour, over each transport."""
    server = start(servers, "ringmaster", certs, "no")
    r = redis_py(server, certs) if transport == "tls" else server.client()
    pipe = r.pipeline(transaction=True)
    pipe.rpush("l", *range(100))
    pipe.lrange("l", 0, -1)
    pipe.incrby("n", 5)
    res = pipe.execute()
    assert res[0] == 100 and res[1] == [b"%d" % i for i in range(100)] and res[2] == 5
    value = b"x" * (3 * 1024 * 1024 + 7)
    r.set("v", value)
    assert r.strlen("v") == len(value) and r.get("v") == value
    p = r.pubsub()
    p.subscribe("ch")
    assert p.get_message(timeout=5)["type"] == "subscribe"
    assert server.client().publish("ch", "hello") == 1
    msg = p.get_message(timeout=5)
    assert msg["data"] == b"hello"
    p.close()
    assert r.blpop("empty", timeout=0.2) is None
    r.close()


@pytest.mark.parametrize("module", ["test_differential_core", "test_differential_hash",
                                    "test_differential_set"])
def test_differential_suite_over_tls(servers, certs, module):
    """A representative part of the suite, unchanged, over TLS: each
    differential module's first seed (fewer commands) with every connection
    to both servers going through their tls-port, replies compared byte for
    byte and digests equal, as over plain TCP."""
    diff = __import__(module)
    rm = start(servers, "ringmaster", certs, "no")
    ref = start(servers, "redis", certs, "no")
    ctx = tls_context(certs)
    rmtest.TLS_ROUTES.update({rm.port: (rm.tls_port, ctx), ref.port: (ref.tls_port, ctx)})
    try:
        differ = diff.Differ(diff.DEFAULT_SEEDS[0], rm, ref)
        try:
            conns = [c for side in (differ.rm, differ.ref)
                     for c in (side.conns.values() if hasattr(side, "conns") else [side])]
            assert conns and all(isinstance(c.sock, ssl.SSLSocket) for c in conns)
            differ.run(rmtest.scaled(800))
        finally:
            differ.close()
    finally:
        rmtest.TLS_ROUTES.clear()


def test_encrypted_key_with_pass(servers, certs):
    enc = str(certs["dir"] / "server-enc.key")
    openssl("rsa", "-in", certs["key"], "-aes256", "-passout", "pass:s3cret", "-out", enc,
            cwd=certs["dir"])
    server = start(servers, "ringmaster", certs, "no", "--tls-key-file", enc,
                   "--tls-key-file-pass", "s3cret")
    assert not refused(certs, server.tls_port, with_cert=False)
    with server.raw() as c:
        reply = c.call("CONFIG", "SET", "tls-key-file-pass", "wrong")
        assert isinstance(reply, rmtest.RespError), reply
        assert c.call("CONFIG", "GET", "tls-key-file-pass") == [b"tls-key-file-pass", b"s3cret"]
    assert not refused(certs, server.tls_port, with_cert=False)


def session_reused(certs, port):
    """Whether a second TLSv1.2 connection resumes the first one's session."""
    ctx = tls_context(certs)
    ctx.maximum_version = ssl.TLSVersion.TLSv1_2
    with ctx.wrap_socket(socket.create_connection(("127.0.0.1", port), timeout=5 * SLOW),
                         server_hostname="localhost") as s:
        assert tls_call(s, "PING") == b"+PONG\r\n"
        session = s.session
    with ctx.wrap_socket(socket.create_connection(("127.0.0.1", port), timeout=5 * SLOW),
                         server_hostname="localhost", session=session) as s:
        assert tls_call(s, "PING") == b"+PONG\r\n"
        return s.session_reused


def test_session_caching(servers, certs):
    # Ringmaster only: Debian's redis-server 7.0.15 answers this resumption
    # (client certificate, TLSv1.2) with an internal-error alert.
    server = start(servers, "ringmaster", certs)
    assert session_reused(certs, server.tls_port)
    with server.raw() as c:
        assert c.call("CONFIG", "SET", "tls-session-caching", "no") == b"OK"
    assert not session_reused(certs, server.tls_port)
