"""MEMORY USAGE, STATS, DOCTOR, MALLOC-STATS, PURGE and HELP against
redis-server 7.0: what does not depend on the figures (HELP, errors, the
doctor's answer for a small instance, STATS's field names and reply
shape, USAGE's null for a missing key) byte for byte or structurally; the
figures themselves are Ringmaster's own and checked for sense. Also the
COMMAND INFO entries of MEMORY, SORT, SORT_RO, DUMP, RESTORE and LCS."""

import pytest

from rmtest import RespConn


@pytest.fixture(scope="module")
def pair(module_servers):
    return module_servers.ringmaster(), module_servers.redis()


def fill(conn):
    conn.call(b"FLUSHALL")
    conn.call(b"SET", b"str", b"x" * 100)
    conn.call(b"SET", b"int", b"12345")
    conn.call(b"RPUSH", b"list", *[b"e%d" % i for i in range(50)])
    conn.call(b"SADD", b"intset", *[b"%d" % i for i in range(50)])
    conn.call(b"SADD", b"set", *[b"m%d" % i for i in range(200)])
    conn.call(b"HSET", b"hash", b"a", b"1", b"b", b"2")
    conn.call(b"HSET", b"bighash", *[b"f%d" % (i // 2) for i in range(600)])
    conn.call(b"ZADD", b"zset", b"1", b"a", b"2", b"b")
    conn.call(b"ZADD", b"bigzset", *[b"%d" % (i // 2) for i in range(600)])
    conn.call(b"XADD", b"stream", b"1-1", b"f", b"v")


def test_replies_shaped_as_redis(pair):
    conns = [RespConn(srv.port) for srv in pair]
    try:
        for c in conns:
            fill(c)
        same = [
            (b"MEMORY", b"HELP"),
            (b"MEMORY", b"DOCTOR"),
            (b"MEMORY", b"PURGE"),
            (b"MEMORY", b"USAGE", b"missing"),
            (b"MEMORY", b"USAGE", b"list", b"SAMPLES", b"-1"),
            (b"MEMORY", b"USAGE", b"list", b"SAMPLES", b"x"),
            (b"MEMORY", b"USAGE", b"list", b"SAMPLES"),
            (b"MEMORY", b"USAGE", b"list", b"BOGUS"),
            (b"MEMORY", b"USAGE"),
            (b"MEMORY", b"BOGUS"),
            (b"MEMORY",),
        ]
        for args in same:
            rm, ref = (c.call_raw(*args) for c in conns)
            assert rm == ref, args
        rm_stats, ref_stats = (c.call(b"MEMORY", b"STATS") for c in conns)
        assert rm_stats[0::2] == ref_stats[0::2]
        db0 = rm_stats[rm_stats.index(b"db.0") + 1]
        assert db0[0::2] == ref_stats[ref_stats.index(b"db.0") + 1][0::2]
        stats = dict(zip(rm_stats[0::2], rm_stats[1::2]))
        assert stats[b"keys.count"] == 10
        assert stats[b"total.allocated"] > stats[b"startup.allocated"] > 0
        assert stats[b"peak.allocated"] >= stats[b"total.allocated"]
        assert float(stats[b"peak.percentage"]) <= 100.0
    finally:
        for c in conns:
            c.close()


def test_usage_figures_make_sense(pair):
    with RespConn(pair[0].port) as c:
        fill(c)
        for key in (b"str", b"int", b"list", b"intset", b"set", b"hash", b"bighash", b"zset",
                    b"bigzset", b"stream"):
            usage = c.call(b"MEMORY", b"USAGE", key)
            assert isinstance(usage, int) and usage > 0, key
            assert c.call(b"MEMORY", b"USAGE", key, b"SAMPLES", b"0") > 0
        assert c.call(b"MEMORY", b"USAGE", b"str") > 100
        assert c.call(b"MEMORY", b"USAGE", b"set") > 200 * 10
        assert c.call(b"MEMORY", b"USAGE", b"bigzset") > c.call(b"MEMORY", b"USAGE", b"zset")
        text = c.call(b"MEMORY", b"MALLOC-STATS")
        assert text.startswith(b"heap stats") or text == \
            b"Stats not supported for the current allocator"


def test_command_info_of_the_new_commands(pair):
    """Name, arity, flags and key positions as Redis 7.0 lists them."""
    conns = [RespConn(srv.port) for srv in pair]
    try:
        for name in (b"sort", b"sort_ro", b"dump", b"restore", b"lcs", b"memory"):
            rm, ref = (c.call(b"COMMAND", b"INFO", name)[0] for c in conns)
            assert rm[:6] == ref[:6], name
        rm, ref = (c.call(b"COMMAND", b"INFO", b"memory")[0][9] for c in conns)
        assert sorted(s[:6] for s in rm) == sorted(s[:6] for s in ref)
    finally:
        for c in conns:
            c.close()


def test_resp3_shapes(pair):
    conns = [RespConn(srv.port) for srv in pair]
    try:
        for c in conns:
            c.call(b"HELLO", b"3")
            c.call(b"FLUSHALL")
            c.call(b"SET", b"k", b"v")
        rm, ref = (c.call_raw(b"MEMORY", b"DOCTOR") for c in conns)
        assert rm == ref
        rm, ref = (c.call_raw(b"MEMORY", b"STATS") for c in conns)
        assert rm[:1] == ref[:1] == b"%"
        assert rm.split(b"\r\n")[0] == ref.split(b"\r\n")[0]
        assert b"%3\r\n" in rm and b"%3\r\n" in ref  # db.0
    finally:
        for c in conns:
            c.close()
