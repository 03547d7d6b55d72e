"""Keyspace notifications against redis-server 7.0.

The differential cases run one script of commands on Ringmaster and on
redis-server side by side, with a listener subscribed to
PSUBSCRIBE __key*__:* on each, and compare after every command its reply
and the messages the listener received, in order and byte for byte. A
listener's messages for a step are everything it received up to the
answer to a PING sent after the command's reply: a command's events are
queued before its reply, so nothing depends on timing.

The script covers every write command Ringmaster implements and the
reads that miss (keymiss); it runs once per notify-keyspace-events value
of CLASS_FILTERS, so each class is seen alone and with others. Random
choices (SPOP) are compared by their events only. Expiry is covered
lazily (active expiry off, the key touched after its time) and actively
(the cron deletes it), blocked clients served by another client's push,
and a replica's events for the stream it applies. The config directive
itself: CONFIG SET/GET round trips, the file, CONFIG REWRITE.
"""

import time

import pytest

import rmtest
from repl_helpers import wait_for
from test_dump_restore import payload_for

MARK = b"mark-5e1b"
PATTERN = "__key*__:*"
FUTURE_S = 4102444800  # 2100-01-01, an EXPIREAT/EXAT that never passes

# ---- the script -------------------------------------------------------------

# Each step is a command, or one of:
#   ("~", command...)     compare the events only (the reply is random)
#   ("MULTI", [cmds])     the commands inside MULTI/EXEC, sent at once
#   ("SLEEP", seconds)    wait on both servers' side (nothing sent)
STRINGS = [
    ("SET", "s1", "v"), ("SET", "s1", "v2"), ("SET", "s1", "v3", "EX", "100"),
    ("SET", "s1", "v4", "PX", "100000", "KEEPTTL"), ("SET", "s1", "x", "GET"),
    ("SET", "s1", "y", "KEEPTTL"), ("SET", "s2", "x", "NX"), ("SET", "s2", "y", "NX"),
    ("SET", "s3", "y", "XX"), ("SET", "s2", "z", "XX", "GET"), ("SETNX", "s4", "a"),
    ("SETNX", "s4", "b"), ("SETEX", "s5", "100", "v"), ("PSETEX", "s6", "100000", "v"),
    ("SET", "s7", "v", "EXAT", str(FUTURE_S)), ("SET", "s8", "v", "PXAT", str(FUTURE_S * 1000)),
    ("SETEX", "s5", "0", "v"), ("GETSET", "s1", "z"), ("GETSET", "gs", "z"),
    ("GETDEL", "s1"), ("GETDEL", "missing"), ("GETEX", "s2", "EX", "100"),
    ("GETEX", "s2", "PERSIST"), ("GETEX", "s2", "PERSIST"), ("GETEX", "s2"),
    ("GETEX", "missing", "EX", "10"), ("GETEX", "s2", "PXAT", "1"),
    ("MSET", "a", "1", "b", "2", "a", "3"), ("MSETNX", "a", "1", "c", "3"),
    ("MSETNX", "c", "3", "d", "4"), ("APPEND", "a", "x"), ("APPEND", "newapp", "y"),
    ("INCR", "n"), ("INCRBY", "n", "5"), ("DECR", "n"), ("DECRBY", "n", "2"), ("INCR", "a"),
    ("INCRBYFLOAT", "f", "1.5"), ("INCRBYFLOAT", "f", "x"), ("SETRANGE", "a", "0", "zz"),
    ("SETRANGE", "sr", "5", "x"), ("SETRANGE", "sr2", "0", ""), ("SETRANGE", "a", "1", ""),
    ("GET", "missing"), ("GET", "a"), ("MGET", "a", "missing", "gone"), ("STRLEN", "missing"),
    ("GETRANGE", "missing", "0", "1"), ("SET", "lst", "v", "GET"),
]

GENERIC = [
    ("DEL", "a", "b", "missing"), ("UNLINK", "c", "missing"), ("EXISTS", "missing", "d"),
    ("TYPE", "missing"), ("TTL", "missing"), ("PTTL", "d"), ("EXPIRETIME", "missing"),
    ("EXPIRE", "d", "100"), ("PEXPIRE", "d", "100000"), ("EXPIREAT", "d", str(FUTURE_S)),
    ("PEXPIREAT", "d", str(FUTURE_S * 1000)), ("EXPIRE", "d", "100", "NX"),
    ("EXPIRE", "d", "200", "GT"), ("EXPIRE", "missing", "10"), ("PERSIST", "d"),
    ("PERSIST", "d"), ("PERSIST", "missing"), ("EXPIRE", "d", "-1"), ("SET", "d", "1"),
    ("PEXPIREAT", "d", "1"), ("RENAME", "e", "f"), ("SET", "e", "1"), ("RENAME", "e", "f"),
    ("RENAME", "f", "f"), ("SET", "g", "1"), ("EXPIRE", "f", "100"), ("RENAME", "f", "g"),
    ("RENAMENX", "g", "h"), ("SET", "i", "1"), ("RENAMENX", "h", "i"), ("MOVE", "h", "1"),
    ("MOVE", "missing", "1"), ("SET", "h", "2"), ("MOVE", "h", "1"), ("SET", "j", "1"),
    ("COPY", "j", "k"), ("COPY", "j", "k"), ("COPY", "j", "k", "REPLACE"),
    ("COPY", "j", "k", "DB", "2"), ("COPY", "missing", "k"), ("SELECT", "2"), ("DEL", "k"),
    ("SET", "in2", "v"), ("SELECT", "1"), ("MOVE", "h", "0"), ("SELECT", "0"),
    ("TOUCH", "j", "missing"), ("OBJECT", "ENCODING", "missing"), ("DBSIZE",),
    ("DEBUG", "POPULATE", "3", "pop"), ("SWAPDB", "0", "1"), ("SWAPDB", "0", "1"),
    ("FLUSHDB",), ("SET", "x", "1"), ("FLUSHALL",),
]

LISTS = [
    ("LPUSH", "l", "a", "b", "c"), ("RPUSH", "l", "d"), ("LPUSHX", "nol", "a"),
    ("RPUSHX", "l", "e", "f"), ("LINSERT", "l", "BEFORE", "a", "x"),
    ("LINSERT", "l", "AFTER", "nothere", "y"), ("LINSERT", "nol", "AFTER", "a", "y"),
    ("LSET", "l", "0", "q"), ("LSET", "l", "99", "q"), ("LSET", "nol", "0", "q"),
    ("LREM", "l", "0", "x"), ("LREM", "l", "0", "nothere"), ("LTRIM", "l", "0", "100"),
    ("LTRIM", "l", "1", "-1"), ("LTRIM", "nol", "0", "1"), ("LPOP", "l"), ("RPOP", "l"),
    ("LPOP", "l", "2"), ("LPOP", "l", "0"), ("RPOP", "l", "10"), ("LPOP", "missing"),
    ("RPOP", "missing", "2"), ("RPUSH", "l2", "a", "b", "c"), ("RPOPLPUSH", "l2", "l3"),
    ("LMOVE", "l2", "l3", "LEFT", "RIGHT"), ("LMOVE", "l2", "l3", "LEFT", "LEFT"),
    ("LMOVE", "l3", "l3", "LEFT", "RIGHT"), ("RPOPLPUSH", "missing", "l3"),
    ("LMPOP", "2", "missing", "l3", "LEFT", "COUNT", "1"),
    ("LMPOP", "1", "l3", "RIGHT", "COUNT", "10"), ("LMPOP", "1", "missing", "LEFT"),
    ("RPUSH", "bl", "a", "b", "c"), ("BLPOP", "missing", "bl", "0"), ("BRPOP", "bl", "0"),
    ("BLMOVE", "bl", "bl2", "LEFT", "RIGHT", "0"), ("BRPOPLPUSH", "bl2", "bl", "0"),
    ("BLMPOP", "0", "2", "missing", "bl", "LEFT", "COUNT", "5"),
    ("LRANGE", "missing", "0", "-1"), ("LLEN", "missing"), ("LINDEX", "missing", "0"),
    ("LPOS", "missing", "a"), ("LPUSH", "s4", "x"), ("RPUSH", "wt", "a"), ("SET", "wt", "s"),
]

SETS = [
    ("SADD", "s", "a", "b", "c"), ("SADD", "s", "a"), ("SREM", "s", "a", "z"),
    ("SREM", "s", "zz"), ("SREM", "missing", "a"), ("SMOVE", "s", "s2", "b"),
    ("SMOVE", "s", "s2", "zz"), ("SMOVE", "s2", "s2", "b"), ("SMOVE", "missing", "s2", "b"),
    ("SADD", "s", "b"), ("SMOVE", "s", "s2", "c"), ("SMOVE", "s2", "s", "b"),
    ("SMOVE", "s", "s2", "b"), ("SADD", "t", "1", "2", "3"), ("~", "SPOP", "t"),
    ("SPOP", "t", "0"), ("~", "SPOP", "t", "1"), ("~", "SPOP", "t", "5"), ("SPOP", "missing"),
    ("SPOP", "missing", "3"), ("SADD", "u", *[str(i) for i in range(10)]),
    ("~", "SPOP", "u", "8"), ("~", "SPOP", "u", "1"), ("SREM", "u", *[str(i) for i in range(10)]),
    ("SADD", "x", "1", "2"), ("SADD", "y", "2", "3"), ("SINTERSTORE", "d1", "x", "y"),
    ("SUNIONSTORE", "d2", "x", "y"), ("SDIFFSTORE", "d3", "x", "y"),
    ("SDIFFSTORE", "d3", "x", "x"), ("SINTERSTORE", "d1", "x", "missing"),
    ("SINTERSTORE", "d1", "x", "missing"), ("SUNIONSTORE", "d2", "missing", "gone"),
    ("SDIFFSTORE", "d4", "missing", "x"), ("SUNIONSTORE", "x", "x", "y"),
    ("SINTER", "missing", "x"), ("SUNION", "missing"), ("SDIFF", "missing", "x"),
    ("SISMEMBER", "missing", "a"), ("SCARD", "missing"), ("SMEMBERS", "missing"),
    ("SMISMEMBER", "missing", "a"), ("SINTERCARD", "2", "x", "missing"),
    ("SRANDMEMBER", "missing"), ("SSCAN", "missing", "0"),
]

HASHES = [
    ("HSET", "h", "a", "1", "b", "2"), ("HSET", "h", "a", "3"), ("HSETNX", "h", "a", "1"),
    ("HSETNX", "h", "c", "1"), ("HSETNX", "h2", "c", "1"), ("HMSET", "h", "d", "4"),
    ("HINCRBY", "h", "n", "5"), ("HINCRBYFLOAT", "h", "f", "1.5"), ("HINCRBY", "h", "a", "x"),
    ("HINCRBY", "h", "f", "1"), ("HINCRBY", "h3", "n", "1"), ("HINCRBYFLOAT", "h4", "n", "1"),
    ("HDEL", "h", "a", "zz"), ("HDEL", "h", "zz"), ("HDEL", "missing", "a"),
    ("HDEL", "h", "b", "c", "d", "n", "f", "zz"), ("HGET", "missing", "a"),
    ("HGETALL", "missing"), ("HLEN", "missing"), ("HEXISTS", "missing", "a"),
    ("HMGET", "missing", "a"), ("HKEYS", "missing"), ("HSTRLEN", "missing", "a"),
    ("HRANDFIELD", "missing"), ("HSET", "s4", "a", "1"),
]

ZSETS = [
    ("ZADD", "z", "1", "a", "2", "b", "3", "c"), ("ZADD", "z", "1", "a"),
    ("ZADD", "z", "XX", "5", "nothere"), ("ZADD", "nz", "XX", "1", "a"),
    ("ZADD", "z", "CH", "10", "a"), ("ZADD", "z", "INCR", "1", "a"), ("ZINCRBY", "z", "2", "b"),
    ("ZADD", "z", "NX", "INCR", "1", "a"), ("ZINCRBY", "nz2", "1", "m"),
    ("ZADD", "z", "GT", "0", "a"), ("ZADD", "z", "LT", "0", "a"), ("ZREM", "z", "a", "zz"),
    ("ZREM", "z", "zz"), ("ZREM", "missing", "a"), ("ZADD", "z", "4", "d", "5", "e", "6", "f"),
    ("ZREMRANGEBYRANK", "z", "0", "0"), ("ZREMRANGEBYRANK", "z", "100", "200"),
    ("ZREMRANGEBYSCORE", "z", "5", "5"), ("ZREMRANGEBYSCORE", "z", "100", "200"),
    ("ZADD", "zl", "0", "a", "0", "b", "0", "c"), ("ZREMRANGEBYLEX", "zl", "[a", "[b"),
    ("ZREMRANGEBYLEX", "zl", "[x", "[y"), ("ZREMRANGEBYLEX", "zl", "-", "+"),
    ("ZREMRANGEBYRANK", "missing", "0", "1"), ("ZPOPMIN", "z"), ("ZPOPMAX", "z", "2"),
    ("ZPOPMIN", "z", "0"), ("ZPOPMIN", "missing"), ("ZADD", "z2", "1", "a", "2", "b"),
    ("ZPOPMIN", "z2", "10"), ("ZADD", "za", "1", "a", "2", "b", "3", "c"),
    ("ZADD", "zb", "2", "b", "3", "c", "4", "d"), ("ZUNIONSTORE", "zu", "2", "za", "zb"),
    ("ZINTERSTORE", "zi", "2", "za", "zb"), ("ZDIFFSTORE", "zd", "2", "za", "zb"),
    ("ZDIFFSTORE", "zd", "2", "za", "za"), ("ZINTERSTORE", "zi", "2", "za", "missing"),
    ("ZINTERSTORE", "zi", "2", "za", "missing"), ("ZUNIONSTORE", "zu", "1", "zu"),
    ("ZRANGESTORE", "zr", "za", "0", "1"), ("ZRANGESTORE", "zr", "za", "5", "10"),
    ("ZRANGESTORE", "zr", "missing", "0", "1"), ("ZRANGESTORE", "zr2", "za", "0", "0"),
    ("ZRANGESTORE", "zr2", "missing", "0", "1"),
    ("ZMPOP", "2", "missing", "za", "MIN", "COUNT", "2"), ("ZMPOP", "1", "missing", "MAX"),
    ("BZPOPMIN", "za", "0"), ("BZPOPMAX", "missing", "zb", "0"),
    ("BZMPOP", "0", "1", "zb", "MAX", "COUNT", "10"), ("ZSCORE", "missing", "a"),
    ("ZCARD", "missing"), ("ZRANGE", "missing", "0", "-1"), ("ZRANK", "missing", "a"),
    ("ZCOUNT", "missing", "0", "1"), ("ZUNION", "2", "missing", "gone"),
    ("ZRANDMEMBER", "missing"), ("ZMSCORE", "missing", "a"), ("ZADD", "s4", "1", "a"),
]

TRANSACTIONS = [
    ("MULTI", [("SET", "m", "1"), ("INCR", "m"), ("LPUSH", "ml", "a"), ("DEL", "m", "ml"),
               ("GET", "m")]),
    ("MULTI", [("SADD", "ms", "a"), ("SPOP", "ms"), ("EXPIRE", "missing", "1")]),
]

# Expiry with the active cycle off: the key is found expired by whatever
# touches it next, read or write.
LAZY_EXPIRY = [
    ("DEBUG", "SET-ACTIVE-EXPIRE", "0"),
    ("SET", "ex1", "v", "PX", "30"), ("SET", "ex2", "v", "PX", "30"),
    ("RPUSH", "ex3", "a", "b"), ("PEXPIRE", "ex3", "30"), ("HSET", "ex4", "f", "v"),
    ("PEXPIRE", "ex4", "30"), ("SET", "ex5", "v", "PX", "30"), ("SET", "ex6", "v", "PX", "30"),
    ("SADD", "ex7", "a"), ("PEXPIRE", "ex7", "30"), ("SET", "ex8", "v", "PX", "30"),
    ("SET", "ex9", "v", "PX", "30"), ("SET", "ex10", "v", "PX", "30"),
    ("SLEEP", 0.1),
    ("GET", "ex1"), ("SET", "ex2", "w"), ("RPUSH", "ex3", "c"), ("HGET", "ex4", "f"),
    ("EXISTS", "ex5"), ("DEL", "ex6"), ("SINTERSTORE", "ex7", "ex7", "ex7"),
    ("RENAME", "ex8", "ex8b"), ("COPY", "ex9", "ex9b"), ("SET", "ex9b", "v"),
    ("RENAME", "ex9b", "ex10"),
    ("DEBUG", "SET-ACTIVE-EXPIRE", "1"),
]

# SORT ... STORE and RESTORE (the payload: the string "v", RDB version 10).
STRING_V_PAYLOAD = payload_for(b"\x00\x01v")
KEYS2 = [
    ("RPUSH", "sl", "3", "1", "2"), ("SORT", "sl", "STORE", "sd"), ("SORT", "sl", "STORE", "sd"),
    ("SORT", "nokey", "STORE", "sd"), ("SORT", "nokey", "STORE", "sd"),
    ("SORT_RO", "sl", "ALPHA"),
    ("RESTORE", "rk", "0", STRING_V_PAYLOAD), ("RESTORE", "rk", "0", STRING_V_PAYLOAD),
    ("RESTORE", "rk", "100000", STRING_V_PAYLOAD, "REPLACE"),
    ("RESTORE", "rk", "1", STRING_V_PAYLOAD, "REPLACE", "ABSTTL"),
    ("RESTORE", "rk", "1", STRING_V_PAYLOAD, "ABSTTL"),
]
SCRIPT = (STRINGS + GENERIC + LISTS + SETS + HASHES + ZSETS + TRANSACTIONS + LAZY_EXPIRY +
          KEYS2)

# Each class alone and with others, keyspace and keyevent channels.
CLASS_FILTERS = ["KEA", "Kl", "E$", "Ex", "Kn", "Eg", "Ks", "Eh", "Kz", "KEm", "AKEnm", "A",
                 "KE", "Ke", "E$lshzxn", "Kt"]


# ---- running it ---------------------------------------------------------------

def collect(conn):
    """What conn received up to the PING mark's answer, as raw replies."""
    conn.send_command("PING", MARK)
    raws = []
    while True:
        raw, value = conn.read_reply()
        if value == MARK or value == [b"pong", MARK]:
            return raws
        raws.append(raw)


def listen(server):
    listener = server.raw()
    listener.send_command("PSUBSCRIBE", PATTERN)
    listener.read_reply()
    return listener


def run_step(conn, step):
    """Send one step; its comparable reply (None when random)."""
    if step[0] == "SLEEP":
        return None
    if step[0] == "MULTI":
        cmds = [("MULTI",)] + step[1] + [("EXEC",)]
        for cmd in cmds:
            conn.send_command(*cmd)
        return b"".join(conn.read_reply()[0] for _ in cmds)
    if step[0] == "~":
        conn.call_raw(*step[1:])
        return None
    return conn.call_raw(*step)


def assert_same(ours, theirs):
    for got, want in zip(ours, theirs):
        assert got == want, "step %r\nRingmaster %r\n     Redis %r" % (got[0], got[1:], want[1:])
    assert len(ours) == len(theirs)


@pytest.fixture(scope="module")
def pair(module_servers):
    return module_servers.ringmaster(), module_servers.redis()


def run_both(pair, steps, classes):
    """Both servers in step: a SLEEP happens once, with both waiting."""
    rm, ref = pair
    out = ([], [])
    with rm.raw() as c1, listen(rm) as l1, ref.raw() as c2, listen(ref) as l2:
        sides = ((c1, l1, out[0]), (c2, l2, out[1]))
        for conn, listener, _ in sides:
            assert conn.call("CONFIG", "SET", "notify-keyspace-events", classes) == b"OK"
            conn.call("FLUSHALL")
            collect(listener)
        for step in steps:
            if step[0] == "SLEEP":
                time.sleep(step[1] * rmtest.SLOWDOWN)
            for conn, listener, acc in sides:
                reply = run_step(conn, step)
                acc.append((step, reply, collect(listener)))
        for conn, _, _ in sides:
            conn.call("CONFIG", "SET", "notify-keyspace-events", "")
    return out


@pytest.mark.parametrize("classes", CLASS_FILTERS)
def test_script_events_like_redis(pair, classes):
    ours, theirs = run_both(pair, SCRIPT, classes)
    assert_same(ours, theirs)
    # A class without K or E publishes nothing, in Redis as here.
    if set(classes) & set("KE") and set(classes) & set("A$lshzxgnm"):
        assert any(heard for _, _, heard in ours), "no event at all"


def test_events_off_sends_nothing(pair):
    ours, theirs = run_both(pair, STRINGS + LISTS, "")
    assert_same(ours, theirs)
    assert not any(heard for _, _, heard in ours)


# ---- active expiry --------------------------------------------------------------

def wait_expired(server, n):
    with server.raw() as c:
        wait_for("active expiry", lambda: c.call("DBSIZE") == n, timeout=10)


@pytest.mark.parametrize("classes", ["KEA", "Ex", "Kg"])
def test_active_expiry_events_like_redis(pair, classes):
    setup = [("SET", "keep", "v"), ("SET", "a1", "v", "PX", "30"), ("RPUSH", "a2", "x"),
             ("PEXPIRE", "a2", "30"), ("SELECT", "3"), ("SET", "a3", "v", "PX", "30"),
             ("SELECT", "0")]
    heard = []
    for server in pair:
        with server.raw() as conn, listen(server) as listener:
            conn.call("FLUSHALL")
            conn.call("CONFIG", "SET", "notify-keyspace-events", classes)
            for step in setup:
                conn.call(*step)
            collect(listener)
            wait_expired(server, 1)
            with server.raw() as c3:
                c3.call("SELECT", "3")
                wait_for("db 3 expiry", lambda: c3.call("DBSIZE") == 0, timeout=10)
            got = collect(listener)
            conn.call("CONFIG", "SET", "notify-keyspace-events", "")
        # The cycle's order among keys is a hash table's: compare as a set,
        # and the count.
        heard.append((len(got), sorted(got)))
    assert heard[0] == heard[1]
    if classes != "Kg":
        assert heard[0][0] > 0


# ---- blocked clients served by another client -----------------------------------

BLOCKING_CASES = [
    # (blocked command, then the command that serves it)
    (("BLPOP", "bk", "0"), ("RPUSH", "bk", "a")),
    (("BRPOP", "bk", "other", "0"), ("RPUSH", "bk", "a", "b")),
    (("BLMOVE", "bk", "dst", "RIGHT", "LEFT", "0"), ("RPUSH", "bk", "a")),
    (("BRPOPLPUSH", "bk", "bk", "0"), ("LPUSH", "bk", "a")),
    (("BLMPOP", "0", "1", "bk", "LEFT", "COUNT", "3"), ("RPUSH", "bk", "a", "b")),
    (("BZPOPMIN", "bz", "0"), ("ZADD", "bz", "1", "a", "2", "b")),
    (("BZPOPMAX", "bz", "0"), ("ZADD", "bz", "1", "a")),
    (("BZMPOP", "0", "1", "bz", "MIN", "COUNT", "5"), ("ZADD", "bz", "1", "a")),
]


def blocking_run(server, cases, classes):
    out = []
    with server.raw() as conn, server.raw() as blocked, listen(server) as listener:
        conn.call("CONFIG", "SET", "notify-keyspace-events", classes)
        for block_cmd, serve_cmd in cases:
            conn.call("FLUSHALL")
            collect(listener)
            blocked.send_command(*block_cmd)
            # The blocked client is registered once CLIENT LIST shows it.
            wait_for("client blocked", lambda: b"cmd=" + block_cmd[0].lower().encode() in
                     conn.call("CLIENT", "LIST"), timeout=10)
            reply = conn.call_raw(*serve_cmd)
            served = blocked.read_reply()[0]
            out.append((block_cmd, reply, served, collect(listener)))
        # Two clients on one key: the key goes once both are served.
        conn.call("FLUSHALL")
        collect(listener)
        with server.raw() as second:
            blocked.send_command("BLPOP", "two", "0")
            second.send_command("BLPOP", "two", "0")
            wait_for("two clients blocked",
                     lambda: conn.call("CLIENT", "LIST").count(b"cmd=blpop") == 2, timeout=10)
            reply = conn.call_raw("RPUSH", "two", "a", "b", "c")
            out.append((reply, blocked.read_reply()[0], second.read_reply()[0],
                        collect(listener)))
        conn.call("CONFIG", "SET", "notify-keyspace-events", "")
    return out


@pytest.mark.parametrize("classes", ["KEA", "KEAn"])
def test_blocked_clients_served_events_like_redis(pair, classes):
    ours = blocking_run(pair[0], BLOCKING_CASES, classes)
    theirs = blocking_run(pair[1], BLOCKING_CASES, classes)
    for got, want in zip(ours, theirs):
        assert got == want, "Ringmaster %r\n     Redis %r" % (got, want)


# ---- a replica's events ------------------------------------------------------------

REPLICATED = [
    ("SET", "r1", "v"), ("INCR", "n"), ("RPUSH", "l", "a", "b"), ("LPOP", "l", "2"),
    ("SADD", "s", "a"), ("EXPIRE", "r1", "100"), ("SET", "r2", "v", "EX", "100"),
    ("HINCRBYFLOAT", "h", "f", "1.5"), ("INCRBYFLOAT", "fl", "2.5"), ("GETDEL", "r2"),
    ("RENAME", "r1", "r3"), ("ZADD", "z", "1", "a"), ("ZPOPMIN", "z"),
    ("SET", "short", "v", "PX", "50"),
]


def replica_run(master, replica, classes):
    out = []
    with master.raw() as m, replica.raw() as r, listen(replica) as listener:
        r.call("CONFIG", "SET", "notify-keyspace-events", classes)
        for step in REPLICATED:
            m.call(*step)
            assert m.call("WAIT", "1", "5000") == 1
            out.append((step, collect(listener)))
        # The master's active cycle expires the key and sends DEL; the
        # replica only applies it.
        wait_expired(master, 5)
        assert m.call("WAIT", "1", "5000") == 1
        out.append(("expired on the master", collect(listener)))
    return out


def start_pair(servers, start):
    master = start(servers, "master")
    replica = start(servers, "replica")
    with replica.raw() as r:
        r.call("REPLICAOF", "127.0.0.1", str(master.port))
    with master.raw() as m:
        wait_for("replica online", lambda: m.call("WAIT", "1", "100") == 1, timeout=20)
    return master, replica


@pytest.mark.parametrize("classes", ["KEA", "KEAn"])
def test_replica_events_for_the_stream_like_redis(servers, classes):
    rm = start_pair(servers, lambda s, n: s.ringmaster(name="rm-" + n))
    ref = start_pair(servers, lambda s, n: s.redis(name="redis-" + n))
    assert replica_run(*rm, classes) == replica_run(*ref, classes)


def test_ringmaster_replica_of_redis_events_like_redis_replica(servers):
    master = servers.redis(name="master")
    rm = servers.ringmaster(name="rm-replica")
    ref = servers.redis(name="redis-replica")
    for replica in (rm, ref):
        with replica.raw() as r:
            r.call("REPLICAOF", "127.0.0.1", str(master.port))
    with master.raw() as m:
        wait_for("replicas online", lambda: m.call("WAIT", "2", "100") == 2, timeout=20)
    listeners = []
    for replica in (rm, ref):
        with replica.raw() as r:
            r.call("CONFIG", "SET", "notify-keyspace-events", "KEA")
        listeners.append(listen(replica))
    try:
        heard = ([], [])
        with master.raw() as m:
            for step in REPLICATED:
                m.call(*step)
                assert m.call("WAIT", "2", "5000") == 2
                for i, listener in enumerate(listeners):
                    heard[i].append((step, collect(listener)))
        assert heard[0] == heard[1]
    finally:
        for listener in listeners:
            listener.close()


# ---- the directive ----------------------------------------------------------------

CONFIG_VALUES = ["", "KEA", "AKE", "A", "KA", "g$lshzxetd", "g$lshzxet", "Kn", "KEAmn", "Em",
                 "x", "KKK", "n", "m", "KEAq", "kea", " ", "AKEmn", "K\x00q", "q\x00K",
                 "$lshzxetdgKE", "nmEK", "e", "t", "d", "AAAA", "KEA "]


def test_config_set_get_like_redis(pair):
    """Each value set, then read back: the replies and the canonical form."""
    got = ([], [])
    for i, server in enumerate(pair):
        with server.raw() as c:
            for value in CONFIG_VALUES:
                got[i].append((value, c.call_raw("CONFIG", "SET", "notify-keyspace-events",
                                                 value),
                               c.call_raw("CONFIG", "GET", "notify-keyspace-events")))
            got[i].append(c.call_raw("CONFIG", "SET", "notify-keyspace-events", "K", "x"))
            got[i].append(c.call_raw("CONFIG", "GET", "notify*"))
            c.call("CONFIG", "SET", "notify-keyspace-events", "")
    for ours, theirs in zip(*got):
        assert ours == theirs


def write_file(path, text):
    with open(path, "w") as f:
        f.write(text)
    return str(path)


def config_lines(path):
    return [line for line in open(path).read().splitlines()
            if line.startswith("notify-keyspace-events")]


@pytest.mark.parametrize("line, expected", [
    ("notify-keyspace-events KEA", b"AKE"),
    ("notify-keyspace-events \"Exg\"", b"gxE"),
    ("notify-keyspace-events \"\"", b""),
    ("notify-keyspace-events Kxn", b"xnK"),
])
def test_config_file_and_rewrite_like_redis(servers, tmp_path, line, expected):
    """The file's value reads back canonical, and CONFIG REWRITE writes the
    line Redis writes, for the value from the file and for a new one."""
    written = []
    for name, start in (("ringmaster", servers.ringmaster), ("redis", servers.redis)):
        port = rmtest.free_port()
        conf = write_file(tmp_path / ("%s.conf" % name),
                          "port %d\nbind 127.0.0.1\nsave \"\"\ndir \"%s\"\n%s\n" %
                          (port, tmp_path, line))
        server = start(config_file=conf, standard=False, port=port, name=name)
        lines = []
        with server.raw() as c:
            assert c.call("CONFIG", "GET", "notify-keyspace-events") == [
                b"notify-keyspace-events", expected], name
            assert c.call("CONFIG", "REWRITE") == b"OK"
            lines.append(config_lines(conf))
            for value in ("lz", "", "AKEm"):
                c.call("CONFIG", "SET", "notify-keyspace-events", value)
                assert c.call("CONFIG", "REWRITE") == b"OK"
                lines.append(config_lines(conf))
        written.append(lines)
    assert written[0] == written[1]


def test_command_line_directive(servers):
    rm = servers.ringmaster("--notify-keyspace-events", "Elg")
    with rm.raw() as c, listen(rm) as listener:
        assert c.call("CONFIG", "GET", "notify-keyspace-events") == [b"notify-keyspace-events",
                                                                     b"glE"]
        c.call("RPUSH", "k", "v")
        c.call("SET", "s", "v")
        c.call("DEL", "k")
        heard = collect(listener)
    def pmessage(channel, message):
        return rmtest.encode_command("pmessage", PATTERN, channel, message)
    assert heard == [pmessage("__keyevent@0__:rpush", "k"), pmessage("__keyevent@0__:del", "k")]
