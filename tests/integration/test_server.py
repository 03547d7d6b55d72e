"""Behaviour of the server process itself, as Redis 7.0 behaves.

Not differential: these check the things an operator and a client library
see around the data commands. Configuration (files, quoting, include,
command-line overrides, fatal errors with their line number, CONFIG SET /
GET / REWRITE), the log's line format, signals and SHUTDOWN, AUTH, CLIENT
subcommands, CLIENT PAUSE, INFO field names, active expiry, unix sockets,
maxclients and the idle timeout. Where the exact wording matters to clients
(error replies) a reference redis-server answers the same script.

Every wait is a poll with a deadline, scaled for sanitizer builds.
"""

import os
import re
import select
import shutil
import signal
import socket
import stat
import tempfile
import time

import pytest

import rmtest
from rmtest import RespConn, RespError, free_port

SLOW = rmtest.SLOWDOWN

LOG_LINE = re.compile(
    r"^(\d+):([XCSM]) (\d{2}) (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) (\d{4}) "
    r"(\d{2}):(\d{2}):(\d{2})\.(\d{3}) ([.\-*#]) (.*)$")


def wait_for(predicate, timeout, interval=0.02):
    """Poll until predicate() is true; return its last value."""
    deadline = time.monotonic() + timeout * SLOW
    while True:
        value = predicate()
        if value or time.monotonic() >= deadline:
            return value
        time.sleep(interval)


def is_closed(conn, timeout=0.05):
    """True when the server has closed this raw connection."""
    r, _, _ = select.select([conn.sock], [], [], timeout)
    if not r:
        return False
    try:
        return conn.sock.recv(4096, socket.MSG_PEEK) == b""
    except (ConnectionResetError, OSError):
        return True


def write_file(path, text):
    with open(path, "w") as f:
        f.write(text)
    return str(path)


def start_from_file(servers, conf, port, *args, wait=True, password=None):
    return servers.ringmaster(*args, config_file=conf, standard=False, port=port, wait=wait,
                              password=password)


def base_config(port, workdir):
    return ('bind 127.0.0.1\nport %d\ndir "%s"\nsave ""\nappendonly no\n'
            'enable-debug-command yes\nlogfile ""\ndaemonize no\n' % (port, workdir))


# -- configuration ----------------------------------------------------------

def test_config_file_with_quotes_include_and_overrides(servers, tmp_path):
    port = free_port()
    data_dir = tmp_path / "data dir"
    data_dir.mkdir()
    extra = write_file(tmp_path / "extra.conf", "databases 4\nhz 25\n")
    conf = write_file(tmp_path / "main.conf",
                      "# Ringmaster test configuration\n\n"
                      "bind 127.0.0.1\n"
                      "port %d\n"
                      "dir \"%s\"\n"
                      "save \"\"\n"
                      "appendonly no\n"
                      "logfile ''\n"
                      "requirepass \"pass word\\x21\"\n"
                      "   repl-backlog-size    100mb   \n"
                      "include %s\n" % (port, data_dir, extra))
    server = start_from_file(servers, conf, port, "--hz", "30", password="pass word!")
    c = server.raw()
    assert c.call("CONFIG", "GET", "port") == [b"port", b"%d" % port]
    assert c.call("CONFIG", "GET", "dir") == [b"dir", str(data_dir).encode()]
    assert c.call("CONFIG", "GET", "repl-backlog-size") == [b"repl-backlog-size", b"104857600"]
    assert c.call("CONFIG", "GET", "databases") == [b"databases", b"4"]
    assert c.call("CONFIG", "GET", "hz") == [b"hz", b"30"], "command line must override the file"
    assert c.call("SELECT", "3") == b"OK"
    assert c.call("SELECT", "4") == RespError("ERR DB index is out of range")
    with RespConn(server.port) as fresh:
        assert fresh.call("PING") == RespError("NOAUTH Authentication required.")
        assert fresh.call("AUTH", "pass word!") == b"OK"
    c.close()


@pytest.mark.parametrize("lines,bad_line,needle", [
    (["# comment", "bogus-directive yes"], 3, "bogus-directive"),
    (["", "", "port notanumber"], 4, "port"),
    (["maxmemory"], 2, "maxmemory"),
    (["appendonly no", "maxmemory 100mb"], 3, "maxmemory"),
])
def test_bad_config_file_exits_with_line_number(servers, tmp_path, lines, bad_line, needle):
    port = free_port()
    conf = write_file(tmp_path / "bad.conf", "port %d\n%s\n" % (port, "\n".join(lines)))
    server = start_from_file(servers, conf, port, wait=False)
    server.expect_exit()
    code = server.wait_exit(10)
    assert code not in (None, 0), "server accepted a bad config (exit %s)" % code
    log = server.log_text()
    assert "line %d" % bad_line in log, log
    assert needle in log, log


def test_bad_directive_in_included_file(servers, tmp_path):
    port = free_port()
    inc = write_file(tmp_path / "inc.conf", "hz 20\n\nno-such-thing 1 2\n")
    conf = write_file(tmp_path / "main.conf", "port %d\ninclude %s\n" % (port, inc))
    server = start_from_file(servers, conf, port, wait=False)
    server.expect_exit()
    assert server.wait_exit(10) not in (None, 0)
    log = server.log_text()
    assert "line 3" in log and "no-such-thing" in log, log  # the line in inc.conf


def test_unknown_command_line_option_exits(servers):
    server = servers.ringmaster("--no-such-option", "yes", wait=False)
    server.expect_exit()
    assert server.wait_exit(10) not in (None, 0)
    assert "no-such-option" in server.log_text()


CONFIG_SCRIPT = [
    ["CONFIG", "SET", "client-query-buffer-limit", "100mb"],
    ["CONFIG", "GET", "client-query-buffer-limit"],
    ["CONFIG", "SET", "hz", "50", "timeout", "300"],
    ["CONFIG", "GET", "hz"],
    ["CONFIG", "GET", "timeout"],
    ["CONFIG", "SET", "maxmemory-policy", "noeviction"],
    ["CONFIG", "GET", "maxmemory-policy"],
    ["CONFIG", "SET", "maxmemory-policy", "sometimes"],
    ["CONFIG", "SET", "no-such-parameter", "1"],
    ["CONFIG", "SET", "hz", "abc"],
    ["CONFIG", "SET", "hz"],
    ["CONFIG", "SET", "hz", "10", "hz", "20"],
    ["CONFIG", "GET", "no-such-parameter"],
    ["CONFIG", "GET", "client-query*"],
    ["CONFIG", "GET", "maxmemory*"],
    ["CONFIG", "GET", "hz", "timeout"],
    ["CONFIG", "SET", "maxmemory", "0"],
    ["CONFIG", "BOGUS"],
    ["CONFIG"],
]


def _config_reply(args, value):
    """CONFIG GET pairs come in hash order: compare them as a dict."""
    if args[:2] == ["CONFIG", "GET"] and isinstance(value, list):
        return dict(zip(value[0::2], value[1::2]))
    return value


def test_config_set_get_like_redis(ringmaster, redis_ref):
    with RespConn(ringmaster.port) as rm, RespConn(redis_ref.port) as ref:
        for args in CONFIG_SCRIPT:
            a, b = rm.call(*args), ref.call(*args)
            assert _config_reply(args, a) == _config_reply(args, b), "%r: %r vs %r" % (args, a, b)


def test_config_rewrite(servers, tmp_path):
    port = free_port()
    conf = write_file(tmp_path / "rewrite.conf",
                      "# keep this comment\n" + base_config(port, tmp_path) + "hz 10\n")
    server = start_from_file(servers, conf, port)
    with server.raw() as c:
        assert c.call("CONFIG", "SET", "repl-backlog-size", "123mb") == b"OK"
        assert c.call("CONFIG", "SET", "hz", "33") == b"OK"
        assert c.call("CONFIG", "REWRITE") == b"OK"
    text = open(conf).read()
    assert "# keep this comment" in text
    assert re.search(r"^repl-backlog-size (123mb|128974848)$", text, re.M), text
    assert re.search(r"^hz 33$", text, re.M), text
    assert len(re.findall(r"^hz ", text, re.M)) == 1, text
    server.stop()
    again = start_from_file(servers, conf, port)
    with again.raw() as c:
        assert c.call("CONFIG", "GET", "hz") == [b"hz", b"33"]
        assert c.call("CONFIG", "GET", "repl-backlog-size") == [b"repl-backlog-size", b"128974848"]


def test_config_rewrite_without_file(ringmaster):
    with ringmaster.raw() as c:
        assert c.call("CONFIG", "REWRITE") == RespError("ERR The server is running without a config file")


# -- log ------------------------------------------------------------------------

def test_log_line_format(ringmaster):
    assert ringmaster.wait_log("Ready to accept connections")
    pid = ringmaster.proc.pid
    lines = [l for l in ringmaster.log_text().splitlines() if re.match(r"^\d+:", l)]
    assert lines, ringmaster.log_tail()
    for line in lines:
        m = LOG_LINE.match(line)
        assert m, "bad log line: %r" % line
        assert int(m.group(1)) == pid, line
    assert "pid=%d" % pid in ringmaster.log_text()


def test_log_shows_pid_in_logo(servers):
    server = servers.ringmaster("--always-show-logo", "yes")
    assert re.search(r" PID: %d\b" % server.proc.pid, server.log_text()), server.log_tail()


# -- process lifecycle ------------------------------------------------------

def test_sigterm_exits_cleanly(ringmaster):
    ringmaster.expect_exit()
    ringmaster.proc.send_signal(signal.SIGTERM)
    assert ringmaster.wait_exit(10) == 0, ringmaster.log_tail()
    log = ringmaster.log_text()
    assert "SIGTERM" in log and "bye bye" in log, ringmaster.log_tail()


def test_sighup_is_ignored(ringmaster):
    """As Redis: a hang-up (a closed terminal) does not stop the server."""
    ringmaster.proc.send_signal(signal.SIGHUP)
    time.sleep(0.2)
    assert ringmaster.alive()
    with ringmaster.raw() as c:
        assert c.call_raw("PING") == b"+PONG\r\n"


def test_shutdown_nosave(ringmaster):
    ringmaster.expect_exit()
    c = ringmaster.raw()
    c.send_command("SHUTDOWN", "NOSAVE")
    with pytest.raises((rmtest.ConnectionClosed, ConnectionResetError)):
        c.read_reply()
    c.close()
    assert ringmaster.wait_exit(10) == 0, ringmaster.log_tail()
    assert "bye bye" in ringmaster.log_text()


def test_debug_sleep(ringmaster):
    with ringmaster.raw() as c:
        assert c.call("DEBUG", "SLEEP", "0") == b"OK"
        start = time.monotonic()
        assert c.call("DEBUG", "SLEEP", "0.2") == b"OK"
        assert time.monotonic() - start >= 0.19


# -- authentication ---------------------------------------------------------

def test_requirepass(servers):
    server = servers.ringmaster("--requirepass", "secret", password="secret")
    with RespConn(server.port) as c:
        assert c.call_raw("PING") == b"-NOAUTH Authentication required.\r\n"
        assert c.call_raw("GET", "k") == b"-NOAUTH Authentication required.\r\n"
        assert c.call_raw("AUTH", "wrong") == \
            b"-WRONGPASS invalid username-password pair or user is disabled.\r\n"
        assert c.call_raw("AUTH", "a", "b", "c") == b"-ERR syntax error\r\n"
        assert c.call_raw("AUTH", "secret") == b"+OK\r\n"
        assert c.call_raw("PING") == b"+PONG\r\n"
    with RespConn(server.port) as c:
        assert c.call_raw("AUTH", "default", "secret") == b"+OK\r\n"
        assert c.call_raw("CONFIG", "SET", "requirepass", "") == b"+OK\r\n"
    with RespConn(server.port) as c:
        assert c.call_raw("PING") == b"+PONG\r\n"
    server.password = None


def test_auth_without_password_configured(ringmaster, redis_ref):
    replies = []
    for server in (ringmaster, redis_ref):
        with RespConn(server.port) as c:
            replies.append(c.call_raw("AUTH", "x"))
    assert replies[0] == replies[1]
    assert replies[1].startswith(b"-ERR AUTH <password> called without any password configured")


# -- CLIENT ---------------------------------------------------------------------

def test_client_setname_getname_list_kill(ringmaster, redis_ref):
    with ringmaster.raw() as c1, ringmaster.raw() as c2:
        assert c1.call("CLIENT", "GETNAME") is None
        assert c1.call("CLIENT", "SETNAME", "worker-1") == b"OK"
        assert c1.call("CLIENT", "GETNAME") == b"worker-1"
        id1 = c1.call("CLIENT", "ID")
        assert isinstance(id1, int) and id1 > 0
        listing = c2.call("CLIENT", "LIST").decode()
        mine = [l for l in listing.splitlines() if l.startswith("id=%d " % id1)]
        assert len(mine) == 1, listing
        assert " name=worker-1 " in mine[0] and " addr=127.0.0.1:" in mine[0], mine[0]
        assert " cmd=client|id " in mine[0] or " cmd=client " in mine[0], mine[0]
        assert c2.call("CLIENT", "KILL", "ID", id1) == 1
        assert wait_for(lambda: is_closed(c1), 5), "killed client still connected"
        assert c2.call("CLIENT", "KILL", "ID", id1) == 0  # new-style KILL counts
    # Error wording, against the reference.
    script = [["CLIENT", "SETNAME", "bad name"], ["CLIENT", "SETNAME", "a\nb"],
              ["CLIENT", "SETNAME"], ["CLIENT", "KILL", "ID", "abc"], ["CLIENT", "NOSUCH"],
              ["CLIENT", "SETNAME", ""], ["CLIENT", "GETNAME"]]
    with RespConn(ringmaster.port) as rm, RespConn(redis_ref.port) as ref:
        for args in script:
            a, b = rm.call_raw(*args), ref.call_raw(*args)
            assert a == b, "%r: %r vs %r" % (args, a, b)


def test_client_pause_write_blocks_writes_until_unpause(ringmaster):
    with ringmaster.raw() as admin, ringmaster.raw() as writer, ringmaster.raw() as reader:
        assert admin.call("CLIENT", "PAUSE", "10000", "WRITE") == b"OK"
        writer.send_command("SET", "k", "v")
        r, _, _ = select.select([writer.sock], [], [], 0.3)
        assert not r, "SET was answered during CLIENT PAUSE WRITE"
        assert reader.call("GET", "k") is None, "reads must go on during PAUSE WRITE"
        assert reader.call("PING") == b"PONG"
        assert admin.call("CLIENT", "UNPAUSE") == b"OK"
        r, _, _ = select.select([writer.sock], [], [], 5 * SLOW)
        assert r, "SET still blocked after CLIENT UNPAUSE"
        assert writer.read_reply()[1] == b"OK"
        assert reader.call("GET", "k") == b"v"


def test_client_pause_ends_by_itself(ringmaster):
    with ringmaster.raw() as admin, ringmaster.raw() as writer:
        assert admin.call("CLIENT", "PAUSE", "300", "WRITE") == b"OK"
        start = time.monotonic()
        assert writer.call("SET", "k", "v") == b"OK"
        assert time.monotonic() - start >= 0.2


# -- INFO -------------------------------------------------------------------------

def parse_info(text):
    sections, fields = [], {}
    for line in text.decode().splitlines():
        if line.startswith("# "):
            sections.append(line[2:])
        elif ":" in line:
            k, v = line.split(":", 1)
            fields[k] = v
    return sections, fields


def test_info_fields(ringmaster):
    with ringmaster.raw() as c:
        sections, _ = parse_info(c.call("INFO", "keyspace"))
        assert sections == ["Keyspace"]
        c.call("SET", "a", "1")
        c.call("SET", "b", "2", "EX", "1000")
        c.call("SELECT", "3")
        c.call("SET", "c", "3")
        sections, f = parse_info(c.call("INFO"))
        for s in ("Server", "Clients", "Memory", "Persistence", "Stats", "Replication", "CPU",
                  "Keyspace"):
            assert s in sections, sections
        assert f["redis_version"].startswith("7.0."), f["redis_version"]
        assert f["role"] == "master"
        assert f["connected_slaves"] == "0"
        assert f["tcp_port"] == str(ringmaster.port)
        assert f["process_id"] == str(ringmaster.proc.pid)
        assert re.fullmatch(r"[0-9a-f]{40}", f["run_id"])
        assert int(f["connected_clients"]) >= 1
        for k in ("used_memory", "uptime_in_seconds", "total_commands_processed",
                  "total_connections_received", "expired_keys", "keyspace_hits",
                  "keyspace_misses", "master_repl_offset"):
            assert re.fullmatch(r"\d+", f[k]), (k, f.get(k))
        assert re.fullmatch(r"keys=2,expires=1,avg_ttl=\d+", f["db0"]), f["db0"]
        assert f["db3"] == "keys=1,expires=0,avg_ttl=0"
        assert "db1" not in f
        sections, _ = parse_info(c.call("INFO", "server"))
        assert sections == ["Server"]


# -- expiry ------------------------------------------------------------------------

def set_short_lived(c, count, ms=100):
    for i in range(count):
        c.send_command("SET", "tmp:%d" % i, "v", "PX", ms)
    for _ in range(count):
        assert c.read_reply()[1] == b"OK"


def test_active_expiry_removes_untouched_keys(ringmaster):
    with ringmaster.raw() as c:
        c.call("SET", "stays", "1")
        set_short_lived(c, 100)
        assert wait_for(lambda: c.call("DBSIZE") == 1, 2), \
            "keys with a 100ms TTL still counted: DBSIZE %d" % c.call("DBSIZE")
        _, f = parse_info(c.call("INFO", "stats"))
        assert int(f["expired_keys"]) >= 100


def test_active_expiry_can_be_disabled(ringmaster):
    with ringmaster.raw() as c:
        assert c.call("DEBUG", "SET-ACTIVE-EXPIRE", "0") == b"OK"
        set_short_lived(c, 50)
        time.sleep(0.5)
        assert c.call("DBSIZE") == 50, "active expiry ran while disabled"
        assert c.call("GET", "tmp:7") is None  # lazy expiry still applies
        assert c.call("DBSIZE") == 49
        assert c.call("DEBUG", "SET-ACTIVE-EXPIRE", "1") == b"OK"
        assert wait_for(lambda: c.call("DBSIZE") == 0, 2)


# -- connections -----------------------------------------------------------------

def test_unixsocket(servers):
    sockdir = tempfile.mkdtemp(prefix="rm-")  # short: sun_path holds 107 bytes
    try:
        path = os.path.join(sockdir, "rm.sock")
        server = servers.ringmaster("--unixsocket", path, "--unixsocketperm", "700")
        assert wait_for(lambda: os.path.exists(path), 2)
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o700
        with RespConn(unix_path=path) as c:
            assert c.call("SET", "via", "unix") == b"OK"
        with server.raw() as c:
            assert c.call("GET", "via") == b"unix"
        import redis
        assert redis.Redis(unix_socket_path=path, socket_timeout=10).ping()
    finally:
        shutil.rmtree(sockdir, ignore_errors=True)


def test_maxclients(ringmaster):
    conns = []
    try:
        first = ringmaster.raw()
        conns.append(first)
        assert first.call("CONFIG", "SET", "maxclients", "3") == b"OK"
        for _ in range(2):
            conns.append(ringmaster.raw())
            assert conns[-1].call("PING") == b"PONG"
        with socket.create_connection(("127.0.0.1", ringmaster.port), timeout=5) as s:
            data, closed = rmtest.read_until_closed_or_quiet(s, quiet=2, limit=5)
        assert data == b"-ERR max number of clients reached\r\n"
        assert closed
        conns.pop().close()

        def fourth_gets_in():
            with RespConn(ringmaster.port) as c:
                try:
                    return c.call("PING") == b"PONG"
                except (rmtest.ConnectionClosed, OSError):
                    return False

        assert wait_for(fourth_gets_in, 3, interval=0.1), "slot not freed after a client left"
        assert first.call("PING") == b"PONG"
    finally:
        for c in conns:
            c.close()


def test_timeout_closes_idle_clients(ringmaster):
    with ringmaster.raw() as admin, ringmaster.raw() as idle:
        assert admin.call("CONFIG", "SET", "timeout", "1") == b"OK"
        assert idle.call("PING") == b"PONG"
        deadline = time.monotonic() + 6 * SLOW
        while time.monotonic() < deadline and not is_closed(idle, 0.2):
            assert admin.call("PING") == b"PONG"  # the busy client must survive
        assert is_closed(idle), "idle client not closed within 6s of a 1s timeout"
        assert admin.call("PING") == b"PONG"
