"""RESP3 (HELLO 3) against redis-server 7.0, byte for byte.

The differential tests of every data type run unchanged with both
servers' connections switched to RESP3 (rmtest.RESP3_ROUTES): each reply
is compared as raw bytes, so every map, set, double, null and verbatim
string a command sends must be the one Redis 7.0 sends. Fixed cases cover
HELLO itself, DEBUG PROTOCOL (every type, and attributes) and the
replies the generators do not reach.
"""

import shutil
import subprocess
import time

import pytest

import rmtest
from rmtest import RespConn

# The hash and zset generators read RESP3's pairs of HRANDFIELD WITHVALUES
# and ZRANDMEMBER/ZRANGE WITHSCORES through rmtest.flat_pairs.
DIFF_MODULES = ["test_differential_core", "test_differential_set", "test_differential_stream",
                "test_differential_hash"]


def run_differ(module, rm, ref, commands):
    diff = __import__(module)
    differ = diff.Differ(diff.DEFAULT_SEEDS[0], rm, ref)
    try:
        differ.run(commands)
    finally:
        differ.close()


@pytest.mark.parametrize("module", DIFF_MODULES)
def test_differential_suite_in_resp3(servers, module):
    rm = servers.ringmaster(name="rm")
    ref = servers.redis(name="ref")
    rmtest.RESP3_ROUTES.update({rm.port: True, ref.port: True})
    try:
        run_differ(module, rm, ref, rmtest.scaled(1500))
    finally:
        rmtest.RESP3_ROUTES.clear()


def test_list_suite_in_resp3(servers):
    """The list differential (pops with counts, LPOS, LMPOP, blocking
    timeouts: RESP3's nulls) in RESP3, two of its seeds."""
    import test_differential_list as dl
    rm = servers.ringmaster(name="rm")
    ref = servers.redis(name="ref")
    rmtest.RESP3_ROUTES.update({rm.port: True, ref.port: True})
    try:
        pair = dl.Pair(rm, ref)
        try:
            for seed in dl.DEFAULT_SEEDS[:2]:
                dl.run_sequence(pair, seed)
        finally:
            pair.close()
    finally:
        rmtest.RESP3_ROUTES.clear()


# Generators whose test function takes (seed, (ringmaster, redis)).
PAIR_TESTS = [("test_differential_bits", "test_random_bit_commands"),
              ("test_differential_hll", "test_random_hll_commands"),
              ("test_differential_geo", "test_random_geo_commands"),
              ("test_differential_zset", "test_random_zset_commands")]


@pytest.mark.parametrize("module,test", PAIR_TESTS)
def test_differential_types_in_resp3(servers, module, test):
    diff = __import__(module)
    rm = servers.ringmaster(name="rm")
    ref = servers.redis(name="ref")
    rmtest.RESP3_ROUTES.update({rm.port: True, ref.port: True})
    try:
        getattr(diff, test)(diff.DEFAULT_SEEDS[0], (rm, ref))
    finally:
        rmtest.RESP3_ROUTES.clear()


def both(rm, ref, *cmds, resp=3):
    """Each command's raw reply from both servers, on fresh connections."""
    out = []
    with RespConn(rm.port) as a, RespConn(ref.port) as b:
        if resp == 3:
            a.call("HELLO", "3")
            b.call("HELLO", "3")
        for cmd in cmds:
            got, want = a.call_raw(*cmd), b.call_raw(*cmd)
            if want.startswith(b">"):
                # Push data, then the command's own reply.
                got, want = got + a.read_reply()[0], want + b.read_reply()[0]
            out.append((cmd, got, want))
    return out


FIXED = [
    ("DEBUG", "PROTOCOL", t) for t in ("string", "integer", "double", "bignum", "null", "array",
                                       "set", "map", "attrib", "push", "verbatim", "true",
                                       "false", "nosuch")
] + [
    ("SET", "s", "1"), ("GET", "nosuch"), ("MGET", "s", "nosuch"),
    ("HSET", "h", "a", "1", "b", "2"), ("HGETALL", "h"), ("HGETALL", "nosuch"),
    ("SADD", "set", "x", "y"), ("SMEMBERS", "set"), ("SINTER", "set"), ("SUNION", "set", "n"),
    ("ZADD", "z", "1.5", "m", "2", "n"), ("ZSCORE", "z", "m"), ("ZSCORE", "z", "nosuch"),
    ("ZMSCORE", "z", "m", "nosuch"), ("ZINCRBY", "z", "0.25", "m"),
    ("ZRANGE", "z", "0", "-1", "WITHSCORES"), ("ZPOPMIN", "z"), ("ZADD", "z", "3", "o"),
    ("ZPOPMAX", "z", "5"), ("INCRBYFLOAT", "f", "1.5"), ("HINCRBYFLOAT", "h", "c", "2.5"),
    ("CONFIG", "GET", "maxmemory"), ("CONFIG", "GET", "nosuch*"),
    ("BLPOP", "nosuch", "0.01"), ("LPOS", "nosuch", "a"),
    ("WATCH", "s"), ("MULTI",), ("EXEC",),
    ("PUBSUB", "NUMSUB", "a", "b"), ("EXISTS", "s"), ("TYPE", "s"),
    ("OBJECT", "ENCODING", "nosuch"), ("SRANDMEMBER", "set", "5"), ("SADD", "set2", "p", "q"), ("SPOP", "set2", "1"),
    ("SPOP", "nosuch", "3"), ("SINTER", "nosuch", "set"),
    ("HRANDFIELD", "h", "2", "WITHVALUES"), ("ZRANDMEMBER", "z", "1", "WITHSCORES"),
    ("HKEYS", "h"), ("HVALS", "h"), ("HMGET", "h", "a", "nosuch"), ("HSCAN", "h", "0"),
    ("ZADD", "zz", "1", "a", "2.5", "b", "3", "c", "4", "d"),
    ("ZRANGE", "zz", "0", "1"), ("ZRANGE", "zz", "(1", "+inf", "BYSCORE", "WITHSCORES"),
    ("ZRANGE", "zz", "0", "-1", "REV", "WITHSCORES"), ("ZREVRANGE", "zz", "0", "1", "WITHSCORES"),
    ("ZRANGEBYSCORE", "zz", "-inf", "+inf", "WITHSCORES", "LIMIT", "1", "2"),
    ("ZREVRANGEBYSCORE", "zz", "+inf", "-inf", "WITHSCORES"),
    ("ZRANGEBYSCORE", "zz", "10", "20", "WITHSCORES"),
    ("ZUNION", "2", "zz", "z", "WITHSCORES"), ("ZINTER", "2", "zz", "zz", "WITHSCORES"),
    ("ZDIFF", "1", "zz", "WITHSCORES"), ("ZUNION", "1", "nosuch", "WITHSCORES"),
    ("ZSCAN", "zz", "0"), ("ZMSCORE", "zz", "a", "nosuch", "b"),
    ("ZADD", "zz", "INCR", "1", "a"), ("ZADD", "zz", "NX", "INCR", "1", "a"),
    ("ZRANK", "zz", "b"), ("ZRANK", "zz", "nosuch"),
    ("ZPOPMIN", "zz", "1"), ("ZPOPMIN", "zz", "0"), ("ZPOPMAX", "zz"), ("ZPOPMIN", "nosuch"),
    ("ZPOPMIN", "nosuch", "2"), ("BZPOPMIN", "zz", "0"), ("BZPOPMAX", "nosuch", "0.01"),
    ("ZADD", "zz", "1", "a", "2", "b"), ("ZMPOP", "1", "zz", "MIN", "COUNT", "5"),
    ("ZMPOP", "1", "zz", "MIN"), ("BZMPOP", "0.01", "1", "zz", "MAX"),
    ("ZRANDMEMBER", "nosuch", "3", "WITHSCORES"), ("HRANDFIELD", "nosuch", "3", "WITHVALUES"),
    ("LPUSH", "l", "a"), ("LPOP", "l", "3"), ("LPOP", "nosuch", "3"), ("BLPOP", "l", "0.01"),
    ("LMPOP", "1", "nosuch", "LEFT"), ("BRPOPLPUSH", "nosuch", "d", "0.01"),
    ("SMISMEMBER", "set", "x", "q"), ("SCAN", "0", "COUNT", "1000", "MATCH", "nosuch*"),
    ("GEOADD", "g", "13.361389", "38.115556", "a", "15.087269", "37.502669", "b"),
    ("GEOPOS", "g", "a", "nosuch"), ("GEODIST", "g", "a", "b"), ("GEOHASH", "g", "a"),
    ("GEORADIUS", "g", "15", "37", "200", "km", "WITHDIST", "WITHCOORD", "WITHHASH"),
    ("GEOSEARCH", "g", "FROMMEMBER", "a", "BYBOX", "400", "400", "km", "ASC", "WITHCOORD"),
    ("BITFIELD", "bf", "SET", "u8", "0", "200", "GET", "u8", "0", "INCRBY", "u8", "0", "100"),
    ("BITFIELD", "bf", "OVERFLOW", "FAIL", "INCRBY", "u8", "0", "200"),
    ("PFADD", "hll", "a", "b"), ("PFCOUNT", "hll"),
]


def test_fixed_replies_in_resp3(servers):
    rm = servers.ringmaster("--enable-debug-command", "yes", name="rm")
    ref = servers.redis("--enable-debug-command", "yes", name="ref")
    bad = []
    for cmd, got, want in both(rm, ref, *FIXED):
        if cmd[0] in ("SUNION", "SMEMBERS", "SINTER"):
            # Set order follows each server's encoding: compare as sets.
            got, want = sorted(got.split(b"\r\n")), sorted(want.split(b"\r\n"))
        if cmd[0] in ("HRANDFIELD", "SRANDMEMBER", "ZRANDMEMBER", "SPOP"):
            # Random picks: the same shape (the header and the first line).
            got, want = got.split(b"\r\n")[:2], want.split(b"\r\n")[:2]
        if got != want:
            bad.append("%r:\n  ringmaster %r\n  redis      %r" % (cmd, got, want))
    assert not bad, "\n".join(bad)


def test_hello_3_and_back(servers):
    rm = servers.ringmaster(name="rm")
    ref = servers.redis(name="ref")
    with RespConn(rm.port) as a, RespConn(ref.port) as b:
        for c in (a, b):
            c.send_command("HELLO", "3")
        ra, rb = a.read_reply()[0], b.read_reply()[0]
        # The id differs; everything else is the same map.
        assert ra.startswith(b"%7\r\n$6\r\nserver\r\n$5\r\nredis\r\n"), ra
        strip = lambda r: r.split(b"$2\r\nid\r\n")[0] + r.split(b"$4\r\nmode\r\n")[1]
        assert strip(ra).replace(b"255.255.255", b"7.0.15") == strip(rb) or \
            strip(ra).split(b"proto")[1] == strip(rb).split(b"proto")[1], (ra, rb)
        for c in (a, b):
            assert c.call_raw("GET", "nosuch") == b"_\r\n"
            c.call("HELLO", "2")
            assert c.call_raw("GET", "nosuch") == b"$-1\r\n"
        assert a.call_raw("HELLO", "4") == b.call_raw("HELLO", "4")


def shape(raw):
    """The RESP3 type tree of one raw reply, without the data, except a
    map's keys (they name the fields, which must be Redis's)."""
    pos = 0

    def one(keep=False):
        nonlocal pos
        end = raw.index(b"\r\n", pos)
        kind, body = raw[pos:pos + 1], raw[pos + 1:end]
        pos = end + 2
        if kind in (b"$", b"="):
            n = int(body)
            if n < 0:
                return "null-bulk"
            data = raw[pos:pos + n]
            pos += n + 2
            return (kind.decode(), data) if keep else kind.decode()
        if kind in (b"*", b"~", b">"):
            return (kind.decode(), [one() for _ in range(int(body))])
        if kind == b"%":
            return ("%", [(one(True), one()) for _ in range(int(body))])
        return kind.decode()

    return one()


SHAPED = [
    ("INFO", "server"), ("CLIENT", "INFO"), ("CLIENT", "LIST"), ("ROLE",), ("TIME",),
    ("XADD", "st", "1-1", "f", "v"), ("XGROUP", "CREATE", "st", "g", "0"),
    ("XREADGROUP", "GROUP", "g", "alice", "STREAMS", "st", ">"),
    ("XINFO", "STREAM", "st"), ("XINFO", "STREAM", "st", "FULL"), ("XINFO", "GROUPS", "st"),
    ("XINFO", "CONSUMERS", "st", "g"), ("XPENDING", "st", "g"),
    ("PUBSUB", "NUMSUB", "a"), ("PUBSUB", "SHARDNUMSUB", "a"), ("PUBSUB", "NUMPAT"),
    ("COMMAND", "COUNT"), ("CONFIG", "GET", "save"), ("OBJECT", "HELP"),
    ("SLOWLOG", "GET"), ("SLOWLOG", "LEN"), ("LATENCY", "LATEST"), ("LATENCY", "HISTOGRAM", "set"),
    ("CLIENT", "TRACKINGINFO"), ("CLIENT", "TRACKING", "on", "BCAST"), ("CLIENT", "TRACKINGINFO"),
    ("CLIENT", "GETREDIR"),
    ("FUNCTION", "LOAD", "#!lua name=lib\nredis.register_function('f', function() return 1 end)"),
    ("FUNCTION", "LIST"), ("FUNCTION", "LIST", "WITHCODE"), ("FUNCTION", "STATS"),
]


def test_reply_types_of_server_commands(servers):
    """Commands whose data differs between the servers (INFO, CLIENT LIST,
    times and ids) still send Redis 7.0's RESP3 types: verbatim text, maps
    with Redis's field names, sets, doubles."""
    rm = servers.ringmaster(name="rm")
    ref = servers.redis(name="ref")
    bad = []
    for cmd, got, want in both(rm, ref, *SHAPED):
        if shape(got) != shape(want):
            bad.append("%r:\n  ringmaster %r\n  redis      %r" % (cmd, got[:300], want[:300]))
    assert not bad, "\n".join(bad)


def test_tracking_invalidations_are_push_data(servers):
    """CLIENT TRACKING in RESP3 needs no REDIRECT: invalidations come as
    push data on the tracking connection itself (keys read, BCAST
    prefixes, FLUSHALL's null, a vanished redirection), as Redis 7.0 sends
    them."""
    rm = servers.ringmaster(name="rm")
    ref = servers.redis(name="ref")
    seen = []
    for server in (rm, ref):
        out = []
        with RespConn(server.port) as a, RespConn(server.port) as b, \
                RespConn(server.port) as gone:
            a.call("HELLO", "3")
            out.append(a.call_raw("CLIENT", "TRACKING", "on"))
            out.append(a.call_raw("GET", "k"))
            b.call("SET", "k", "1")
            out.append(a.read_reply()[0])
            out.append(a.call_raw("MGET", "k", "j"))
            b.call("MSET", "k", "2", "j", "3")
            out += [a.read_reply()[0], a.read_reply()[0]]
            out.append(a.call_raw("GET", "k"))
            b.call("FLUSHALL")
            out.append(a.read_reply()[0])
            out.append(a.call_raw("CLIENT", "TRACKING", "off"))
            out.append(a.call_raw("CLIENT", "TRACKING", "on", "BCAST", "PREFIX", "p:"))
            b.call("SET", "p:1", "x")
            b.call("SET", "q:1", "x")
            out.append(a.read_reply()[0])
            gid = gone.call("CLIENT", "ID")
            out.append(a.call_raw("CLIENT", "TRACKING", "off"))
            out.append(a.call_raw("CLIENT", "TRACKING", "on", "REDIRECT", str(gid)))
            out.append(a.call_raw("GET", "k2"))
            gone.close()
            time.sleep(0.2)
            b.call("SET", "k2", "x")
            raw = a.read_reply()[0]
            out.append(raw.replace(str(gid).encode(), b"ID"))
        seen.append(out)
    assert seen[0] == seen[1], (seen[0], seen[1])


CLI_SCRIPT = [
    "HSET h a 1 b 2", "HGETALL h", "SADD s 3 1 2", "SMEMBERS s", "ZADD z 1.5 a 2 b",
    "ZSCORE z a", "ZRANGE z 0 -1 WITHSCORES", "ZPOPMIN z", "EXISTS h",
    "GET nosuch", "CONFIG GET maxmemory", "XADD st 1-1 f v", "XINFO STREAM st",
    "DEBUG PROTOCOL double", "DEBUG PROTOCOL true",
    "DEBUG PROTOCOL false", "DEBUG PROTOCOL null", "DEBUG PROTOCOL map", "DEBUG PROTOCOL set",
    "DEBUG PROTOCOL verbatim", "LPOS nosuch a", "HRANDFIELD h 0",
    "OBJECT HELP",
]


@pytest.mark.skipif(shutil.which("redis-cli") is None, reason="redis-tools are not installed")
def test_redis_cli_negotiates_resp3(servers):
    """redis-cli -3, a RESP3 client that is not ours, negotiates HELLO 3 and
    prints every reply type the same way for both servers: maps as
    "1# key => value", sets, doubles, booleans, nulls, verbatim text
    (redis-cli 7.0 itself cannot read big numbers or attributes)."""
    outputs = []
    for server in (servers.ringmaster("--enable-debug-command", "yes", name="rm"),
                   servers.redis("--enable-debug-command", "yes", name="ref")):
        done = subprocess.run(
            ["redis-cli", "-3", "--no-raw", "-h", "127.0.0.1", "-p", str(server.port)],
            input="\n".join(CLI_SCRIPT).encode() + b"\n", capture_output=True,
            timeout=30 * rmtest.SLOWDOWN)
        assert done.returncode == 0, done.stderr
        outputs.append(done.stdout.decode("utf-8", "replace"))
    assert outputs[0] == outputs[1]
    for marker in ("1# \"a\" => \"1\"", "(double) 1.5", "(true)", "(false)",
                   "This is a verbatim\nstring", "1~ (integer) 0", "1~ \"1\""):
        assert marker in outputs[0], (marker, outputs[0])
