"""Configuration against Redis 7.0: CONFIG SET's all-or-nothing rule and its
errors, protected configs, defaults, directives whose feature Ringmaster
lacks, daemonize, and the sample config file.

Where the point is an exact reply, the same requests go to a real
redis-server 7.0 and the raw reply bytes must be equal.
"""

import os
import re
import signal
import subprocess
import time

import pytest

import rmtest
from rmtest import RespConn, RespError, free_port

SLOW = rmtest.SLOWDOWN
REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def write_file(path, text):
    with open(path, "w") as f:
        f.write(text)
    return str(path)


def same_replies(rm, ref, script):
    """Send each request to both servers; the raw replies must be equal.
    CONFIG GET lists its pairs in hash order: those compare as dicts."""
    with RespConn(rm.port) as a, RespConn(ref.port) as b:
        for args in script:
            a.send_command(*args)
            b.send_command(*args)
            (ra, va), (rb, vb) = a.read_reply(), b.read_reply()
            if args[:2] == ["CONFIG", "GET"] and isinstance(va, list):
                ra, rb = dict(zip(va[0::2], va[1::2])), dict(zip(vb[0::2], vb[1::2]))
            assert ra == rb, "%r: ringmaster %r, redis %r" % (args, ra, rb)


# -- CONFIG SET: all or nothing, and Redis's errors ---------------------------

ATOMIC_SCRIPT = [
    ["CONFIG", "SET", "maxclients", "77", "timeout", "abc"],
    ["CONFIG", "GET", "maxclients"],
    ["CONFIG", "SET", "timeout", "5", "hz", "abc"],
    ["CONFIG", "GET", "timeout"],
    ["CONFIG", "SET", "loglevel", "warning", "hz", "20", "maxmemory-policy", "sometimes"],
    ["CONFIG", "GET", "loglevel"],
    ["CONFIG", "GET", "hz"],
    ["CONFIG", "SET", "save", "100 10", "repl-backlog-size", "nope"],
    ["CONFIG", "GET", "save"],
    ["CONFIG", "SET", "slowlog-max-len", "64", "maxclients", "many"],
    ["CONFIG", "GET", "slowlog-max-len"],
    ["CONFIG", "SET", "maxclients", "77", "timeout", "9"],
    ["CONFIG", "GET", "maxclients"],
    ["CONFIG", "GET", "timeout"],
]


def test_config_set_is_all_or_nothing(ringmaster, redis_ref):
    same_replies(ringmaster, redis_ref, ATOMIC_SCRIPT)


def test_config_set_rolls_back_dir(servers, tmp_path):
    """dir changes the working directory when set: a later bad pair must
    change it back."""
    other = tmp_path / "elsewhere"
    other.mkdir()
    rm = servers.ringmaster("--enable-protected-configs", "yes")
    with rm.raw() as c:
        before = c.call("CONFIG", "GET", "dir")
        reply = c.call("CONFIG", "SET", "dir", str(other), "timeout", "abc")
        assert isinstance(reply, RespError), reply
        assert c.call("CONFIG", "GET", "dir") == before
        assert c.call("CONFIG", "SET", "dir", str(other), "timeout", "3") == b"OK"
        assert c.call("CONFIG", "GET", "dir") == [b"dir", str(other).encode()]


ERROR_SCRIPT = [
    ["CONFIG", "SET", "hz", "10", "hz", "20"],
    ["CONFIG", "SET", "hz", "10", "HZ", "20"],
    # a name and its old alias are two configs to Redis 7.0
    ["CONFIG", "SET", "hash-max-listpack-entries", "10", "hash-max-ziplist-entries", "20"],
    ["CONFIG", "GET", "hash-max-listpack-entries"],
    ["CONFIG", "SET", "daemonize", "yes", "no-such", "1"],
    ["CONFIG", "SET", "no-such", "1", "daemonize", "yes"],
    ["CONFIG", "SET", "timeout", "1", "no-such", "1"],
    ["CONFIG", "GET", "timeout"],
    ["CONFIG", "SET", "HZ", "abc"],
    ["CONFIG", "SET", "slave-priority", "abc"],
    ["CONFIG", "SET", "replicaof", "no", "one"],
    ["CONFIG", "SET", "replicaof", "no one"],
    ["CONFIG", "SET", "enable-protected-configs", "yes"],
    ["CONFIG", "SET", "appendonly", "maybe"],
    ["CONFIG", "SET", "maxmemory-policy", "sometimes"],
    ["CONFIG", "SET", "rename-command", "x"],
    ["CONFIG", "SET", "user", "x"],
    ["CONFIG", "SET", "loadmodule", "x"],
    ["CONFIG", "SET", "slowlog-max-len", "64"],
    ["CONFIG", "GET", "slowlog-max-len"],
    ["CONFIG", "GET", "rdb-key*"],
    ["CONFIG", "GET", "rdb-key-save-delay"],
    ["CONFIG", "GET", "loadmodule"],
    ["CONFIG", "GET", "*priority*"],
    ["CONFIG", "GET", "enable-protected-configs"],
]


def test_config_set_errors_like_redis(ringmaster, redis_ref):
    same_replies(ringmaster, redis_ref, ERROR_SCRIPT)


# -- protected configs --------------------------------------------------------

PROTECTED_SCRIPT = [
    ["CONFIG", "SET", "dbfilename", "other.rdb"],
    ["CONFIG", "GET", "dbfilename"],
    ["CONFIG", "SET", "dir", "."],
    ["CONFIG", "SET", "timeout", "5", "dir", "."],
    ["CONFIG", "GET", "timeout"],
]


@pytest.mark.parametrize("mode", ["no", "yes", "local"])
def test_protected_configs(servers, mode):
    rm = servers.ringmaster("--enable-protected-configs", mode)
    ref = servers.redis("--enable-protected-configs", mode)
    same_replies(rm, ref, PROTECTED_SCRIPT)
    with rm.raw() as c:
        expected = b"other.rdb" if mode != "no" else b"dump.rdb"
        assert c.call("CONFIG", "GET", "dbfilename") == [b"dbfilename", expected]


def test_protected_config_error_text(ringmaster):
    with ringmaster.raw() as c:
        assert c.call("CONFIG", "SET", "dir", "/tmp") == RespError(
            "ERR CONFIG SET failed (possibly related to argument 'dir') - "
            "can't set protected config")


# -- hz and loglevel ----------------------------------------------------------

HZ_SCRIPT = [
    ["CONFIG", "SET", "hz", "1000"],
    ["CONFIG", "GET", "hz"],
    ["CONFIG", "SET", "hz", "0"],
    ["CONFIG", "GET", "hz"],
    ["CONFIG", "SET", "hz", "-1"],
    ["CONFIG", "SET", "hz", "500"],
    ["CONFIG", "GET", "hz"],
    ["CONFIG", "SET", "loglevel", "nothing"],
    ["CONFIG", "SET", "loglevel", "verbose"],
    ["CONFIG", "GET", "loglevel"],
]


def info_field(conn, section, name):
    text = conn.call("INFO", section).decode()
    m = re.search(r"^%s:(.*)\r$" % re.escape(name), text, re.M)
    return m.group(1) if m else None


def test_hz_clamped_and_loglevels_like_redis(ringmaster, redis_ref):
    same_replies(ringmaster, redis_ref, HZ_SCRIPT)
    with ringmaster.raw() as c:
        c.call("CONFIG", "SET", "hz", "1000")
        assert info_field(c, "server", "hz") == "500"
        assert info_field(c, "server", "configured_hz") == "500"


@pytest.mark.parametrize("given,shown", [("1000", b"500"), ("0", b"1")])
def test_hz_clamped_at_startup(servers, given, shown):
    rm = servers.ringmaster("--hz", given)
    ref = servers.redis("--hz", given)
    for server in (rm, ref):
        with server.raw() as c:
            assert c.call("CONFIG", "GET", "hz") == [b"hz", shown], server.name


def test_loglevel_nothing_refused_in_file(servers, tmp_path):
    port = free_port()
    conf = write_file(tmp_path / "ll.conf", "port %d\nloglevel nothing\n" % port)
    server = servers.ringmaster(config_file=conf, standard=False, port=port, wait=False)
    server.expect_exit()
    assert server.wait_exit(10) not in (None, 0)
    log = server.log_text()
    assert "line 2" in log and "loglevel" in log, log


# -- defaults -----------------------------------------------------------------

# Directives whose value legitimately differs between two bare servers.
DEFAULT_EXCLUDED = {
    "port": "each server listens on its own test port",
    "dir": "each server runs in its own working directory",
}
# Ringmaster's own directives, unknown to Redis.
RINGMASTER_ONLY = {"repl-io-threads", "repl-backpressure-lag"}


def config_all(server):
    with server.raw() as c:
        flat = c.call("CONFIG", "GET", "*")
    return dict(zip(flat[0::2], flat[1::2]))


def test_defaults_match_bare_redis(servers):
    """Both servers started with nothing but a port, as `redis-server --port
    N` would be: every directive must report Redis 7.0's compiled default."""
    rm_port, ref_port = free_port(), free_port()
    rm = servers.ringmaster("--port", rm_port, standard=False, port=rm_port)
    ref = servers.redis("--port", ref_port, standard=False, port=ref_port)
    ours, theirs = config_all(rm), config_all(ref)
    mismatches = []
    for name, value in sorted(ours.items()):
        key = name.decode()
        if key in DEFAULT_EXCLUDED:
            continue
        if key in RINGMASTER_ONLY:
            assert name not in theirs
            continue
        if name not in theirs:
            mismatches.append("%s: not a Redis 7.0 config" % key)
        elif theirs[name] != value:
            mismatches.append("%s: ringmaster %r, redis %r" % (key, value, theirs[name]))
    for name in sorted(set(theirs) - set(ours)):
        mismatches.append("%s: missing from ringmaster" % name.decode())
    assert not mismatches, "\n".join(mismatches)
    for hidden in (b"rdb-key-save-delay",):
        with rm.raw() as a, ref.raw() as b:
            assert a.call("CONFIG", "GET", hidden) == b.call("CONFIG", "GET", hidden)


# -- save lines as a templated redis.conf writes them --------------------------

SAVE_FILES = [
    ("save \n", b""),  # what tools that template redis.conf write
    ("save\n", b""),
    ("save \"\"\n", b""),
    ("save 900 1\nsave 300 10\nsave 60 10000\n", b"900 1 300 10 60 10000"),
    ("save 900 1\nsave\n", b"900 1"),
    ("save 900 1\nsave \"\"\nsave 300 10\n", b"300 10"),
]


@pytest.mark.parametrize("lines,expected", SAVE_FILES)
def test_save_lines_in_a_file_like_redis(servers, tmp_path, lines, expected):
    """Both servers start from the same file (no --save on the command line)
    and report the same save points."""
    for name, start in (("ringmaster", servers.ringmaster), ("redis", servers.redis)):
        port = free_port()
        conf = write_file(tmp_path / ("%s.conf" % name),
                          "port %d\nbind 127.0.0.1\ndir \"%s\"\n%s" % (port, tmp_path, lines))
        server = start(config_file=conf, standard=False, port=port, name=name)
        with server.raw() as c:
            assert c.call("CONFIG", "GET", "save") == [b"save", expected], name


# -- directives whose feature Ringmaster lacks --------------------------------

# Each asks for something Ringmaster would not do (see config_absent.c).
REFUSED_LINES = [
    "appendonly yes",
    "cluster-enabled yes",
    "maxmemory 100mb",
    "maxmemory-policy allkeys-lfu",
    "maxmemory-policy volatile-lfu",
    "maxmemory-clients 10mb",
    "aclfile /etc/redis/users.acl",
    "rename-command FLUSHALL \"\"",
    "user alice on >secret ~* +@all",
    "loadmodule /usr/lib/redis/modules/x.so",
    "syslog-enabled yes",
    "rdb-del-sync-files yes",
]


@pytest.mark.parametrize("line", REFUSED_LINES)
def test_directive_needing_missing_feature_refused_at_startup(servers, tmp_path, line):
    port = free_port()
    conf = write_file(tmp_path / "redis.conf",
                      "port %d\nbind 127.0.0.1\n\n%s\n" % (port, line))
    server = servers.ringmaster(config_file=conf, standard=False, port=port, wait=False)
    server.expect_exit()
    code = server.wait_exit(10)
    assert code not in (None, 0), "accepted %r (exit %s)" % (line, code)
    log = server.log_text()
    directive = line.split()[0]
    assert conf in log, log
    assert "line 4" in log, log
    assert directive in log, log


# Each only tunes an absent mechanism: Ringmaster still does what was asked.
ACCEPTED_LINES = [
    "enable-module-command yes",
    "supervised systemd",
    "maxmemory-policy allkeys-lru",
    "latency-monitor-threshold 100",
    "activerehashing no",
    "jemalloc-bg-thread no",
    "oom-score-adj relative",
    "disable-thp no",
    "always-show-logo yes",
    "set-proc-title no",
    "crash-log-enabled no",
    "lazyfree-lazy-server-del yes",
    "slowlog-max-len 64",
    "slowlog-log-slower-than 5000",
    "lazyfree-lazy-eviction yes",
    "lazyfree-lazy-expire yes",
    "activedefrag no",
    "appendonly no",
    "appendfsync always",
    "cluster-enabled no",
    "maxmemory 0",
    "maxmemory-policy noeviction",
    "notify-keyspace-events \"\"",
    "latency-monitor-threshold 0",
    "aclfile \"\"",
    "io-threads 4",
    "tls-cert-file /etc/ssl/x.pem",
    "hash-max-ziplist-entries 128",
    "slave-read-only yes",
]


def test_directives_tuning_missing_features_load_with_warning(servers, tmp_path):
    port = free_port()
    conf = write_file(tmp_path / "redis.conf",
                      "port %d\nbind 127.0.0.1\nsave \"\"\n%s\n" % (port, "\n".join(ACCEPTED_LINES)))
    server = servers.ringmaster(config_file=conf, standard=False, port=port)
    with server.raw() as c:
        assert c.call("CONFIG", "GET", "slowlog-max-len") == [b"slowlog-max-len", b"64"]
        assert c.call("CONFIG", "GET", "appendfsync") == [b"appendfsync", b"always"]
        assert c.call("CONFIG", "GET", "enable-module-command") == [b"enable-module-command",
                                                                    b"yes"]
    log = server.log_text()
    for name in ("activerehashing", "enable-module-command", "supervised", "io-threads"):
        assert "Directive '%s' is accepted but not implemented" % name in log, name


def test_accepted_lines_load_in_redis_too(servers, tmp_path):
    """The accepted sample is valid redis.conf: the reference loads it too."""
    port = free_port()
    conf = write_file(tmp_path / "redis.conf",
                      "port %d\nbind 127.0.0.1\nsave \"\"\n%s\n" % (port, "\n".join(ACCEPTED_LINES)))
    ref = servers.redis(config_file=conf, standard=False, port=port)
    with ref.raw() as c:
        assert c.call("CONFIG", "GET", "enable-module-command") == [b"enable-module-command",
                                                                    b"yes"]


CONFIG_SET_REFUSED = [
    ("appendonly", "yes"),
    ("maxmemory", "10mb"),
    ("maxmemory-policy", "allkeys-lfu"),
    ("rdb-del-sync-files", "yes"),
]


def test_config_set_needing_missing_feature_refused(ringmaster):
    with ringmaster.raw() as c:
        for name, value in CONFIG_SET_REFUSED:
            before = c.call("CONFIG", "GET", name)
            reply = c.call("CONFIG", "SET", name, value)
            assert isinstance(reply, RespError), (name, reply)
            assert reply.message.startswith(
                "ERR CONFIG SET failed (possibly related to argument '%s') - " % name), reply
            assert "Ringmaster does not implement" in reply.message, reply
            assert c.call("CONFIG", "GET", name) == before
        # the defaults themselves are fine
        for name, value in [("appendonly", "no"), ("maxmemory", "0"),
                            ("maxmemory-policy", "noeviction"), ("notify-keyspace-events", ""),
                            ("slowlog-max-len", "64"), ("activedefrag", "no"),
                            ("maxmemory-policy", "volatile-lru"),
                            ("latency-monitor-threshold", "100"),
                            ("activerehashing", "no")]:
            assert c.call("CONFIG", "SET", name, value) == b"OK", name


# -- HELLO and DEBUG ----------------------------------------------------------

HELLO_UNAUTH_SCRIPT = [
    ["HELLO"],
    ["HELLO", "2"],
    ["HELLO", "3"],
    ["HELLO", "4"],
    ["HELLO", "1"],
    ["HELLO", "abc"],
    ["HELLO", "2", "SETNAME", "x"],
    ["HELLO", "3", "SETNAME", "x"],
    ["HELLO", "2", "foo"],
    ["HELLO", "3", "AUTH", "default", "wrong"],
    ["HELLO", "2", "AUTH", "default", "wrong"],
    # options apply as they are read: this AUTH holds despite the error
    ["HELLO", "2", "AUTH", "default", "pw", "SETNAME"],
    ["PING"],
    ["CLIENT", "GETNAME"],
]


def test_hello_before_auth_like_redis(servers):
    rm = servers.ringmaster("--requirepass", "pw", password="pw")
    ref = servers.redis("--requirepass", "pw", password="pw")
    with RespConn(rm.port) as a, RespConn(ref.port) as b:
        for args in HELLO_UNAUTH_SCRIPT:
            ra, rb = a.call_raw(*args), b.call_raw(*args)
            assert ra == rb, "%r: ringmaster %r, redis %r" % (args, ra, rb)


def test_hello_3_with_auth_switches_protocol(servers):
    """HELLO 3 AUTH authenticates and answers in RESP3 at once (a map);
    HELLO 2 goes back to RESP2's flat array."""
    rm = servers.ringmaster("--requirepass", "pw", password="pw")
    with RespConn(rm.port) as c:
        c.send_command("HELLO", "3", "AUTH", "default", "pw")
        raw = c.read_reply()[0]
        assert raw.startswith(b"%7\r\n"), raw
        assert b"$5\r\nproto\r\n:3\r\n" in raw, raw
        reply = c.call("HELLO", "2")
        assert isinstance(reply, list) and reply[5] == 2, reply


DEBUG_SCRIPT = [
    ["DEBUG", "foo"],
    ["DEBUG", "foo", "bar"],
    ["DEBUG", "NoSuchThing", "1", "2"],
    ["DEBUG"],
]


def test_debug_unknown_subcommand_like_redis(ringmaster, redis_ref):
    same_replies(ringmaster, redis_ref, DEBUG_SCRIPT)


# -- expiry during CLIENT PAUSE -----------------------------------------------

PAUSE_READS = [["DBSIZE"], ["EXISTS", "k"], ["GET", "k"], ["PTTL", "k"], ["TYPE", "k"],
               ["KEYS", "*"], ["DBSIZE"]]


def test_pause_write_suspends_expiry_like_redis(servers):
    """Under CLIENT PAUSE WRITE (Redis 7.0 pauses expiry for ALL too, the
    same code path here) an expired key reads as absent but is not deleted,
    neither lazily nor by the active cycle, until the pause ends."""
    rm = servers.ringmaster()
    ref = servers.redis()
    pause_ms = int(1500 * SLOW)
    conns = []
    try:
        for server in (rm, ref):
            c = server.raw()
            conns.append(c)
            assert c.call("SET", "k", "v", "PX", "100") == b"OK"
            assert c.call("CLIENT", "PAUSE", pause_ms, "WRITE") == b"OK"
        time.sleep(0.3 * SLOW)
        for args in PAUSE_READS:
            ra, rb = conns[0].call_raw(*args), conns[1].call_raw(*args)
            assert ra == rb, "%r: ringmaster %r, redis %r" % (args, ra, rb)
        assert conns[0].call("DBSIZE") == 1
        assert info_field(conns[0], "stats", "expired_keys") == "0"
    finally:
        for c in conns:
            c.close()
    # once the pause ends, expiry resumes
    deadline = time.monotonic() + pause_ms / 1000.0 + 5 * SLOW
    with rm.raw() as c:
        while time.monotonic() < deadline and c.call("DBSIZE") != 0:
            time.sleep(0.05)
        assert c.call("DBSIZE") == 0
        assert info_field(c, "stats", "expired_keys") == "1"


# -- daemonize ----------------------------------------------------------------

def test_daemonize_forks_and_writes_pidfile(tmp_path):
    binary = rmtest.ringmaster_bin()
    if binary is None:
        pytest.skip("RINGMASTER_BIN is not set")
    port = free_port()
    pidfile = tmp_path / "rm.pid"
    logfile = tmp_path / "rm.log"
    proc = subprocess.run(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--dir",
         str(tmp_path), "--daemonize", "yes", "--pidfile", str(pidfile), "--logfile",
         str(logfile)], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, timeout=10 * SLOW)
    assert proc.returncode == 0, proc.stdout
    daemon_pid = None
    try:
        deadline = time.monotonic() + 10 * SLOW
        while time.monotonic() < deadline and not pidfile.exists():
            time.sleep(0.02)
        assert pidfile.exists(), logfile.read_text() if logfile.exists() else "no log"
        deadline = time.monotonic() + 10 * SLOW
        text = ""
        while time.monotonic() < deadline and not text.endswith("\n"):
            text = pidfile.read_text()
            time.sleep(0.02)
        daemon_pid = int(text)
        with RespConn(port) as c:
            assert c.call("PING") == b"PONG"
            assert c.call("CONFIG", "GET", "daemonize") == [b"daemonize", b"yes"]
            # a new session: the daemon is no longer in pytest's
            assert os.getsid(daemon_pid) == daemon_pid
            c.send_command("SHUTDOWN", "NOSAVE")
        deadline = time.monotonic() + 10 * SLOW
        while time.monotonic() < deadline:
            try:
                os.kill(daemon_pid, 0)
            except ProcessLookupError:
                break
            time.sleep(0.05)
        else:
            pytest.fail("daemon did not exit after SHUTDOWN")
        daemon_pid = None
        assert not pidfile.exists(), "pidfile left behind at shutdown"
        assert "Ready to accept connections" in logfile.read_text()
    finally:
        if daemon_pid:
            try:
                os.kill(daemon_pid, signal.SIGKILL)
            except ProcessLookupError:
                pass


# -- the sample config file ---------------------------------------------------

def test_sample_config_documents_every_directive(servers, tmp_path):
    """conf/ringmaster.conf loads, and names every directive the server has
    (active or commented out), so it is the reference it claims to be."""
    path = os.path.join(REPO, "conf", "ringmaster.conf")
    text = open(path).read()
    documented = set(re.findall(r"^#? ?([a-z][a-z0-9_-]+) ", text, re.M))
    port = free_port()
    server = servers.ringmaster("--port", port, "--dir", str(tmp_path), "--save", "",
                                config_file=path, standard=False, port=port)
    names = [n.decode() for n in config_all(server)]
    # the old slave-* and *-ziplist-* names are documented once, as aliases
    aliases = re.compile(r"slave|ziplist")
    missing = sorted(n for n in names if n not in documented and not aliases.search(n))
    assert not missing, "not in conf/ringmaster.conf: %s" % ", ".join(missing)
    for refused in ("loadmodule", "rename-command", "user"):
        assert refused in text
    assert not re.search(r"^loglevel.*nothing", text, re.M)
