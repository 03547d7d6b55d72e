"""What operators watch a production node with: SLOWLOG, LATENCY, MONITOR,
INFO errorstats and latencystats, compared with redis-server 7.0.

Replies that hold times, ids or client ports are compared after those
fields are normalised (ids made relative, times and ports blanked); the
rest is compared byte for byte. Behaviour that has no deterministic
counterpart on Redis (a command really taking longer than a threshold) is
checked on Ringmaster alone, with DEBUG SLEEP making it slow.
"""

import re
import time

import pytest

import rmtest
from rmtest import RespError


@pytest.fixture(scope="module")
def pair(module_servers):
    return module_servers.ringmaster(), module_servers.redis()


def both_call(pair, *args):
    """Run one command on both servers; return the two raw replies."""
    out = []
    for server in pair:
        with server.raw() as c:
            out.append(c.call_raw(*args))
    return out


# ---- SLOWLOG ---------------------------------------------------------------

def slowlog_entries(conn):
    """SLOWLOG GET -1 with what differs between two runs taken out: ids made
    relative to the newest, times and durations checked for type and
    blanked, the client's port blanked."""
    entries = conn.call("SLOWLOG", "GET", "-1")
    shaped = []
    newest = entries[0][0] if entries else 0
    for e in entries:
        assert len(e) == 6
        ident, when, duration, argv, peer, name = e
        assert isinstance(when, int) and abs(when - time.time()) < 60
        assert isinstance(duration, int) and duration >= 0
        assert peer.startswith(b"127.0.0.1:")
        shaped.append((newest - ident, argv, name))
    return shaped


SLOW_SESSION = [
    ("CLIENT", "SETNAME", "slowpoke"),
    ("SET", "k", "v"),
    ("MULTI",), ("INCR", "n"), ("GET", "k"), ("EXEC",),
    ("AUTH", "secret"), ("AUTH", "user", "secret"),
    ("HELLO", "2", "AUTH", "default", "pw", "SETNAME", "slowpoke"),
    ("HELLO", "2", "SETNAME", "slowpoke", "AUTH", "u"),
    ("RPUSH", "list") + tuple("e%d" % i for i in range(40)),
    ("SET", "big", "x" * 300),
    ("MSET",) + tuple("k%d" % (i // 2) for i in range(64)),
    ("NOSUCHCOMMAND", "a"),
    ("GET",),
    ("SLOWLOG", "LEN"),
]


def test_slowlog_entries_match_redis(pair):
    shaped = []
    for server in pair:
        with server.raw() as admin:
            admin.call("CONFIG", "SET", "slowlog-log-slower-than", "0")
            admin.call("SLOWLOG", "RESET")
        with server.raw() as c:
            for cmd in SLOW_SESSION:
                c.call(*cmd)
            shaped.append(slowlog_entries(c))
        with server.raw() as admin:
            admin.call("CONFIG", "SET", "slowlog-log-slower-than", "10000")
            admin.call("SLOWLOG", "RESET")
    assert shaped[0] == shaped[1]
    ringmaster_entries = shaped[0]
    argvs = [argv for _, argv, _ in ringmaster_entries]
    # Secrets never reach the log; EXEC is not an entry, its commands are.
    assert [b"AUTH", b"(redacted)", b"(redacted)"] in argvs
    assert not any(argv[0] == b"EXEC" for argv in argvs)
    trimmed = [argv for argv in argvs if argv[0] == b"RPUSH"][0]
    assert len(trimmed) == 32 and trimmed[-1] == b"... (11 more arguments)"
    big = [argv for argv in argvs if argv[:2] == [b"SET", b"big"]][0]
    assert big[2] == b"x" * 128 + b"... (172 more bytes)"


@pytest.mark.parametrize("args", [
    ("SLOWLOG", "HELP"), ("SLOWLOG", "GET", "x"), ("SLOWLOG", "GET", "-2"),
    ("SLOWLOG", "GET", "1", "2"), ("SLOWLOG", "LEN", "x"), ("SLOWLOG", "NOPE"),
    ("SLOWLOG",), ("SLOWLOG", "RESET", "x"), ("SLOWLOG", "GET", "0"),
    ("CONFIG", "SET", "slowlog-log-slower-than", "-2"),
    ("CONFIG", "SET", "slowlog-max-len", "-1"),
])
def test_slowlog_replies_match_redis(pair, args):
    ours, theirs = both_call(pair, *args)
    assert ours == theirs


def test_slowlog_config_defaults_match_redis(pair):
    got = []
    for server in pair:
        with server.raw() as c:
            flat = c.call("CONFIG", "GET", "slowlog*")
            got.append(dict(zip(flat[::2], flat[1::2])))
    assert got[0] == got[1] == {b"slowlog-log-slower-than": b"10000",
                                b"slowlog-max-len": b"128"}


def test_slowlog_threshold_and_max_len(servers):
    rm = servers.ringmaster("--slowlog-log-slower-than", "20000", "--slowlog-max-len", "3")
    c = rm.raw()
    c.call("SET", "fast", "1")
    assert c.call("SLOWLOG", "LEN") == 0
    c.call("DEBUG", "SLEEP", "0.03")
    entries = c.call("SLOWLOG", "GET")
    assert len(entries) == 1
    assert entries[0][3] == [b"DEBUG", b"SLEEP", b"0.03"]
    assert entries[0][2] >= 30000
    # Ids keep growing across RESET; the list keeps the newest max-len.
    c.call("CONFIG", "SET", "slowlog-log-slower-than", "0")
    first = entries[0][0]
    c.call("SLOWLOG", "RESET")
    for i in range(5):
        c.call("SET", "k", str(i))
    entries = c.call("SLOWLOG", "GET", "-1")
    assert len(entries) == 3
    assert entries[0][3] == [b"SET", b"k", b"4"]
    assert entries[0][0] > first + 5
    # A negative threshold turns the log off.
    c.call("CONFIG", "SET", "slowlog-log-slower-than", "-1")
    c.call("SLOWLOG", "RESET")
    c.call("DEBUG", "SLEEP", "0")
    assert c.call("SLOWLOG", "LEN") == 0
    c.close()


def test_slowlog_keeps_the_command_as_sent(servers):
    """A command rewritten for propagation (SET EX becomes SET PXAT... or
    SETEX) is logged as the client sent it."""
    rm = servers.ringmaster("--slowlog-log-slower-than", "0")
    c = rm.raw()
    c.call("SET", "k", "v", "EX", "100")
    c.call("EXPIRE", "k", "200")
    c.call("INCRBYFLOAT", "f", "1.5")
    entries = c.call("SLOWLOG", "GET", "3")
    assert [e[3] for e in entries] == [[b"INCRBYFLOAT", b"f", b"1.5"],
                                       [b"EXPIRE", b"k", b"200"],
                                       [b"SET", b"k", b"v", b"EX", b"100"]]
    c.close()


# ---- MONITOR ---------------------------------------------------------------

def normalise_monitor(data, master_port=None):
    """MONITOR's lines with the time and the client's port blanked (the
    address of a master shown as MASTER)."""
    lines = data.split(b"\r\n")
    out = []
    for line in lines:
        line = re.sub(rb"^\+\d+\.\d{6} ", b"+T ", line)
        if master_port:
            line = line.replace(b"127.0.0.1:%d]" % master_port, b"MASTER]")
        out.append(re.sub(rb"127\.0\.0\.1:\d+", b"ADDR", line))
    return out


def monitor_session(server, commands, settle=2.0):
    """What a MONITOR client receives while another client runs `commands`."""
    with server.raw() as mon, server.raw() as c:
        assert mon.call_raw("MONITOR") == b"+OK\r\n"
        for cmd in commands:
            c.send_command(*cmd)
            c.read_reply()
        c.call("PING", "end")
        got, _ = rmtest.read_until_closed_or_quiet(mon.sock, quiet=settle,
                                                    until=b'"PING" "end"\r\n')
        return mon.pending() + got


MONITOR_SESSION = [
    ("SET", "a", "1"),
    ("SET", "x y", b"q\"\n\r\t\x07\x08\x01\xff\\"),
    ("CONFIG", "GET", "maxclients"),  # admin: never shown
    ("DEBUG", "SLEEP", "0"),
    ("NOSUCH", "x"),                   # refused before running: not shown
    ("GET",),
    ("AUTH", "foo"), ("HELLO", "2", "AUTH", "u", "p"),
    ("MULTI",), ("INCR", "n"), ("LPUSH", "a", "x"), ("EXEC",),
    ("SELECT", "3"), ("SET", "b", "2"),
    ("BLPOP", "q", "0.05"),
    ("EXPIRE", "b", "100"),            # shown as sent, not as propagated
    ("SLOWLOG", "LEN"),
    ("CLIENT", "SETNAME", "x"),
    ("FLUSHALL",),
]


def test_monitor_lines_match_redis(pair):
    got = [normalise_monitor(monitor_session(server, MONITOR_SESSION)) for server in pair]
    assert got[0] == got[1]
    assert b'+T [0 ADDR] "SET" "x y" "q\\"\\n\\r\\t\\a\\b\\x01\\xff\\\\"' in got[0]
    assert b'+T [0 ADDR] "AUTH" "(redacted)"' in got[0]


@pytest.mark.parametrize("script", [
    [("MULTI",), ("MONITOR",), ("EXEC",)],
    [("MONITOR",), ("MONITOR",), ("GET", "a"), ("SET", "a", "1"), ("PING",), ("RESET",),
     ("GET", "a")],
    [("SUBSCRIBE", "ch"), ("MONITOR",)],
])
def test_monitor_client_rules_match_redis(pair, script):
    replies = []
    for server in pair:
        with server.raw() as c:
            for cmd in script:
                c.send_command(*cmd)
            c.send_command("PING", "done")
            got, _ = rmtest.read_until_closed_or_quiet(c.sock, quiet=2.0, until=b"done\r\n")
            replies.append(normalise_monitor(c.pending() + got))
    assert replies[0] == replies[1]


def test_monitor_flag_and_reset(servers):
    rm = servers.ringmaster()
    with rm.raw() as mon, rm.raw() as c:
        mon.call("MONITOR")
        listing = c.call("CLIENT", "LIST").decode()
        assert "flags=O " in listing
        c.call("SET", "k", "v")
        assert mon.read_reply()[0].endswith(b'"SET" "k" "v"\r\n')
        mon.call("RESET")
        c.call("SET", "k", "w")
        assert mon.call("PING") == b"PONG"  # no line for the second SET
        assert "flags=O " not in c.call("CLIENT", "LIST").decode()


def test_replica_monitor_shows_its_masters_stream(servers):
    """A replica's MONITOR shows the commands its master's stream makes it
    run, with the master's address, exactly as a redis-server replica of the
    same master shows them."""
    master = servers.redis("--repl-diskless-sync", "no")
    replicas = [servers.ringmaster("--replicaof", "127.0.0.1", str(master.port)),
                servers.redis("--replicaof", "127.0.0.1", str(master.port))]
    for r in replicas:
        def up(r=r):
            with r.raw() as c:
                return b"master_link_status:up" in c.call("INFO", "replication")
        deadline = time.monotonic() + 20 * rmtest.SLOWDOWN
        while not up():
            assert time.monotonic() < deadline, "replica never came up"
            time.sleep(0.05)
    monitors = [r.raw() for r in replicas]
    for m in monitors:
        assert m.call_raw("MONITOR") == b"+OK\r\n"
    with master.raw() as c:
        c.call("SET", "a", "1")
        c.call("SELECT", "2")
        c.call("SET", "b", "2")
        c.call("EXPIRE", "b", "100")
        c.call("MULTI")
        c.call("INCR", "n")
        c.call("SET", "c", "3")
        c.call("EXEC")
        c.call("SET", "last", "x")
    got = []
    for m in monitors:
        data, _ = rmtest.read_until_closed_or_quiet(m.sock, quiet=2.0,
                                                    until=b'"last" "x"\r\n')
        got.append(normalise_monitor(m.pending() + data, master.port))
        m.close()
    assert got[0] == got[1]
    assert b'+T [2 MASTER] "SET" "b" "2"' in got[0]



# ---- LATENCY ---------------------------------------------------------------

@pytest.mark.parametrize("args", [
    ("LATENCY", "HELP"), ("LATENCY", "DOCTOR"), ("LATENCY", "LATEST"),
    ("LATENCY", "HISTORY", "nosuch"), ("LATENCY", "GRAPH", "nosuch"),
    ("LATENCY", "RESET", "nosuch", "other"), ("LATENCY", "FOO"), ("LATENCY", "HISTORY"),
    ("LATENCY", "GRAPH"), ("LATENCY", "LATEST", "x"), ("LATENCY",),
    ("LATENCY", "HISTOGRAM", "nosuch", "get|x"),
    ("CONFIG", "SET", "latency-monitor-threshold", "-1"),
    ("CONFIG", "SET", "latency-tracking-info-percentiles", "50 abc"),
    ("CONFIG", "SET", "latency-tracking-info-percentiles", "101"),
    ("CONFIG", "SET", "latency-tracking", "maybe"),
    ("CONFIG", "GET", "latency-tracking-info-percentiles"),
    ("CONFIG", "GET", "latency-monitor-threshold"),
])
def test_latency_replies_match_redis(pair, args):
    ours, theirs = both_call(pair, *args)
    assert ours == theirs


def test_latency_percentiles_config_round_trip(pair):
    for value, shown in [("0 12.5 99.99 100", b"0 12.5 99.99 100"), ("", b""),
                         ("50 99 99.9", b"50 99 99.9")]:
        replies = []
        for server in pair:
            with server.raw() as c:
                assert c.call("CONFIG", "SET", "latency-tracking-info-percentiles",
                              value) == b"OK"
                replies.append(c.call("CONFIG", "GET", "latency-tracking-info-percentiles"))
        assert replies[0] == replies[1] == [b"latency-tracking-info-percentiles", shown]


def slow_session(server):
    """Two latency spikes of the "command" event and one SET. (A 40 ms
    threshold: a sanitizer build may take over 1 ms for anything.)"""
    c = server.raw()
    c.call("CONFIG", "SET", "latency-monitor-threshold", "40")
    c.call("CONFIG", "RESETSTAT")
    c.call("DEBUG", "SLEEP", "0.05")
    time.sleep(1.05)  # a new second: a second sample, not a higher first one
    c.call("DEBUG", "SLEEP", "0.12")
    c.call("SET", "k", "v")
    return c


def test_latency_monitor_matches_redis(servers):
    got = []
    for server in (servers.ringmaster(), servers.redis()):
        c = slow_session(server)
        latest = c.call("LATENCY", "LATEST")
        assert len(latest) == 1
        name, when, last, worst = latest[0]
        assert name == b"command" and abs(when - time.time()) < 30
        history = c.call("LATENCY", "HISTORY", "command")
        assert [h[1] // 10 for h in history] == [5, 12]  # 50 and 120 ms
        doctor = c.call("LATENCY", "DOCTOR").decode()
        doctor = re.sub(r"period [0-9.]+ sec", "period P sec", doctor)
        doctor = re.sub(r"\d+ latency spikes \(average \d+ms, mean deviation \d+ms",
                        "N latency spikes (A, D", doctor)
        graph = c.call("LATENCY", "GRAPH", "command").decode().split("\n")
        # The labels (how long ago each sample was) depend on timing, and a
        # loaded machine may oversleep DEBUG SLEEP by a millisecond or two.
        got.append((last // 10, worst // 10, doctor, graph[:2], len(graph)))
        assert c.call("LATENCY", "RESET") == 1
        assert c.call("LATENCY", "LATEST") == []
        c.close()
    assert got[0] == got[1]


def test_latency_histogram_buckets_match_redis(servers):
    got = []
    for server in (servers.ringmaster(), servers.redis()):
        c = slow_session(server)
        hist = c.call("LATENCY", "HISTOGRAM", "debug", "set", "nosuch")
        as_dict = {hist[i]: hist[i + 1] for i in range(0, len(hist), 2)}
        debug = as_dict[b"debug"]
        assert debug[:3] == [b"calls", 2, b"histogram_usec"]
        got.append(debug[3])  # 50 ms and 120 ms: the 67633 and 135266 buckets
        assert as_dict[b"set"][1] == 1
        info = c.call("INFO", "latencystats").decode()
        line = [l for l in info.split("\r\n") if l.startswith("latency_percentiles_usec_debug:")]
        assert len(line) == 1
        p50 = float(re.search(r"p50=([0-9.]+)", line[0]).group(1))
        assert 50000 <= p50 <= 67633
        assert re.fullmatch(r"latency_percentiles_usec_debug:p50=\d+\.\d{3},p99=\d+\.\d{3},"
                            r"p99\.9=\d+\.\d{3}", line[0])
        # CONFIG RESETSTAT drops the histograms; latency-tracking no stops them.
        c.call("CONFIG", "SET", "latency-tracking", "no")
        c.call("CONFIG", "RESETSTAT")
        c.call("SET", "k", "v")
        assert "latency_percentiles_usec_set" not in c.call("INFO", "latencystats").decode()
        assert c.call("LATENCY", "HISTOGRAM") == []
        c.close()
    assert got[0] == got[1] == [67633, 1, 135266, 2]


def test_latencystats_not_in_default_info(pair):
    for server in pair:
        with server.raw() as c:
            assert b"# Latencystats" not in c.call("INFO")
            assert b"# Latencystats" in c.call("INFO", "all")


# ---- errorstats and commandstats ---------------------------------------------

ERROR_SESSION = [
    ("SET", "s", "v"), ("LPUSH", "s", "x"), ("GET",), ("NOSUCH",), ("CONFIG", "NOPE"),
    ("INCR", "s"), ("MULTI",), ("GET",), ("EXEC",), ("AUTH", "x"), ("SET", "k", "v", "EX", "0"),
    ("CLIENT", "NOPE"), ("SET", "k", "v", "XX", "NX"),
]


def test_errorstats_and_commandstats_match_redis(pair):
    got = []
    for server in pair:
        with server.raw() as c:
            c.call("FLUSHALL")
            c.call("CONFIG", "RESETSTAT")
            for cmd in ERROR_SESSION:
                c.call(*cmd)
            errors = sorted(c.call("INFO", "errorstats").decode().split("\r\n"))
            stats = [l for l in c.call("INFO", "stats").decode().split("\r\n")
                     if l.startswith(("total_error_replies", "unexpected_error_replies"))]
            cmdstats = sorted(re.sub(r"usec=\d+,usec_per_call=[0-9.]+,", "", l)
                              for l in c.call("INFO", "commandstats").decode().split("\r\n"))
            got.append((errors, stats, cmdstats))
    assert got[0] == got[1]
    assert "errorstat_WRONGTYPE:count=1" in got[0][0]


def test_slowlog_blocked_commands_match_redis(pair):
    """A blocking command is logged once, when it is served (after the
    command that served it); one that times out is not logged."""
    got = []
    for server in pair:
        with server.raw() as a, server.raw() as b:
            a.call("CONFIG", "SET", "slowlog-log-slower-than", "0")
            a.call("DEL", "q")
            a.call("SLOWLOG", "RESET")
            b.send_command("BLPOP", "q", "0")
            time.sleep(0.1 * rmtest.SLOWDOWN)
            a.call("LPUSH", "q", "x")
            assert b.read_reply()[1] == [b"q", b"x"]
            assert b.call("BLPOP", "q", "0.05") is None
            shaped = slowlog_entries(a)
            a.call("CONFIG", "SET", "slowlog-log-slower-than", "10000")
            got.append(shaped)
    assert got[0] == got[1]
    assert [argv[0] for _, argv, _ in got[0]] == [b"BLPOP", b"LPUSH", b"SLOWLOG"]


NOCLUSTER_CASES = [
    ("CLUSTER", "INFO"), ("CLUSTER", "SLOTS"), ("CLUSTER", "SHARDS"), ("CLUSTER", "HELP"),
    ("CLUSTER", "KEYSLOT", "k"), ("CLUSTER", "NOSUCH"), ("CLUSTER",), ("CLUSTER", "INFO", "x"),
    ("CLUSTER", "ADDSLOTS"), ("READONLY",), ("READWRITE",), ("ASKING",), ("READONLY", "x"),
    ("MODULE", "LIST"), ("MODULE", "LOAD", "/nonexistent.so"), ("MODULE", "UNLOAD", "m"),
    ("MODULE",), ("MODULE", "NOSUCH"), ("MODULE", "LIST", "x"),
    ("RESTORE-ASKING", "k", "0", "bad"), ("MULTI",), ("CLUSTER", "INFO"), ("EXEC",),
]


@pytest.mark.parametrize("module_command", ["no", "yes"])
def test_cluster_and_module_commands_answer_as_redis(servers, module_command):
    """A client probing for cluster mode or modules gets what a non-cluster
    redis-server without modules answers: cluster support disabled (not an
    unknown command), no modules, MODULE LOAD refused as enable-module-command
    says (or, when allowed, failing to load); RESTORE-ASKING is RESTORE."""
    rm = servers.ringmaster("--enable-module-command", module_command, name="rm")
    ref = servers.redis("--enable-module-command", module_command, name="ref")
    with rm.raw() as a, ref.raw() as b:
        for args in NOCLUSTER_CASES:
            assert a.call_raw(*args) == b.call_raw(*args), args
        payload = b.call("DUMP", "nosuch")
        assert payload is None
        b.call("SET", "src", "v")
        payload = b.call("DUMP", "src")
        for c in (a, b):
            assert c.call_raw("RESTORE-ASKING", "k", "0", payload) == b"+OK\r\n"
            assert c.call("GET", "k") == b"v"
