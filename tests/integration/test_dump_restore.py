"""DUMP and RESTORE against real redis-server 7.0.

Every type in every encoding is built the same way on both servers; each
side's DUMP is RESTOREd into the other, and the restored value must have the
same DEBUG DIGEST-VALUE and OBJECT ENCODING as the original on both. Where
the payload does not depend on hash-table order the two DUMPs must be the
same bytes. The error paths (BUSYKEY, bad TTL, IDLETIME/FREQ, a corrupt
payload, a payload from a newer RDB version) are compared byte for byte,
and TTL handling (relative, ABSTTL, already expired) by its effect.
"""

import random
import struct

import pytest

import rmtest
from rmtest import RespConn

BIG = b"x" * 80

# name -> (commands building key b"k", whether the two DUMPs are equal bytes)
VALUES = {
    "string-raw": ([(b"SET", b"k", b"hello world")], True),
    "string-int": ([(b"SET", b"k", b"-123456789")], True),
    "string-long": ([(b"SET", b"k", b"abc" * 200)], True),  # LZF-compressed
    "string-emb": ([(b"SET", b"k", b"12345678901234567890123")], True),
    "list-listpack": ([(b"RPUSH", b"k", b"a", b"1", b"-5", b"", BIG)], True),
    "list-quicklist": ([(b"RPUSH", b"k") + tuple(b"e%d" % i for i in range(600))], True),
    # Node boundaries follow Redis 7.0's estimate, so the nodes match too.
    "list-many-nodes": ([(b"RPUSH", b"k") + tuple(b"element-%05d" % i for i in range(4000))],
                        True),
    "list-many-nodes-ints": ([(b"LPUSH", b"k") + tuple(b"%d" % (i * 37) for i in range(5000))],
                             True),
    "list-compressed": ([(b"CONFIG", b"SET", b"list-compress-depth", b"1"),
                         (b"RPUSH", b"k") + tuple(b"element-%05d" % i for i in range(4000)),
                         (b"CONFIG", b"SET", b"list-compress-depth", b"0")], False),
    "list-big-elements": ([(b"RPUSH", b"k", b"a" * 9000, b"b", b"c" * 20000)], True),
    "set-intset": ([(b"SADD", b"k", b"1", b"-7", b"300000", b"9223372036854775807")], True),
    "set-hashtable": ([(b"SADD", b"k", b"a", b"b", b"c", BIG)], False),
    "zset-listpack": ([(b"ZADD", b"k", b"1", b"a", b"2.5", b"b", b"-inf", b"c")], True),
    "zset-skiplist": ([(b"ZADD", b"k", b"1", b"a", b"2", BIG, b"3.25", b"c")], True),
    "hash-listpack": ([(b"HSET", b"k", b"f", b"v", b"n", b"17")], True),
    "hash-hashtable": ([(b"HSET", b"k", b"f", b"v", b"g", BIG)], False),
    "stream": ([(b"XADD", b"k", b"1-1", b"a", b"1"), (b"XADD", b"k", b"2-1", b"a", b"2", b"b", b"3"),
                (b"XGROUP", b"CREATE", b"k", b"g", b"0"),
                (b"XREADGROUP", b"GROUP", b"g", b"c", b"COUNT", b"1", b"STREAMS", b"k", b">")],
               False),  # delivery and seen times differ
}


@pytest.fixture(scope="module")
def pair(module_servers):
    return module_servers.ringmaster(), module_servers.redis()


def both(pair, *args):
    out = []
    for srv in pair:
        with RespConn(srv.port) as c:
            out.append(c.call_raw(*args))
    return out


def call(srv, *args):
    with RespConn(srv.port) as c:
        return c.call(*args)


@pytest.mark.parametrize("name", sorted(VALUES))
def test_cross_server_round_trip(pair, name):
    commands, same_bytes = VALUES[name]
    rm, ref = pair
    for srv in pair:
        call(srv, b"FLUSHALL")
        for cmd in commands:
            call(srv, *cmd)
    if same_bytes:
        # LZF output is the compressor's choice: compare uncompressed.
        for srv in pair:
            call(srv, b"CONFIG", b"SET", b"rdbcompression", b"no")
        plain = [call(srv, b"DUMP", b"k") for srv in pair]
        for srv in pair:
            call(srv, b"CONFIG", b"SET", b"rdbcompression", b"yes")
        assert plain[0] == plain[1]
    dumps = [call(srv, b"DUMP", b"k") for srv in pair]
    digest = call(ref, b"DEBUG", b"DIGEST-VALUE", b"k")
    encoding = call(ref, b"OBJECT", b"ENCODING", b"k")
    assert call(rm, b"DEBUG", b"DIGEST-VALUE", b"k") == digest
    # Ringmaster's payload into both, Redis's payload into both.
    for tag, payload in ((b"from-rm", dumps[0]), (b"from-redis", dumps[1])):
        for srv in pair:
            assert call(srv, b"RESTORE", tag, b"0", payload) == b"OK"
            assert call(srv, b"DEBUG", b"DIGEST-VALUE", tag) == digest, (srv.name, tag)
            assert call(srv, b"OBJECT", b"ENCODING", tag) == encoding, (srv.name, tag)
    rm_digest, ref_digest = both(pair, b"DEBUG", b"DIGEST")
    assert rm_digest == ref_digest


def test_restored_list_keeps_its_nodes(pair):
    """A list payload made under another fill (64 KB nodes, then split by
    LINSERTs) comes back node for node: Redis 7.0 keeps each loaded node
    whole, whatever the fill in force, and so does Ringmaster."""
    rm, ref = pair
    for srv in pair:
        call(srv, b"FLUSHALL")
        call(srv, b"CONFIG", b"SET", b"rdbcompression", b"no")
    try:
        call(ref, b"CONFIG", b"SET", b"list-max-listpack-size", b"-5")
        call(ref, b"RPUSH", b"src", *[b"item-%d" % i for i in range(12000)])
        for i in range(0, 12000, 1500):
            call(ref, b"LINSERT", b"src", b"AFTER", b"item-%d" % i, b"y" * 300)
        call(ref, b"CONFIG", b"SET", b"list-max-listpack-size", b"-2")
        payload = call(ref, b"DUMP", b"src")
        for srv in pair:
            assert call(srv, b"RESTORE", b"k", b"0", payload) == b"OK"
            assert call(srv, b"DUMP", b"k") == payload, srv.name
    finally:
        for srv in pair:
            call(srv, b"CONFIG", b"SET", b"rdbcompression", b"yes")
            call(srv, b"CONFIG", b"SET", b"list-max-listpack-size", b"-2")


def test_errors_match_redis(pair):
    for srv in pair:
        call(srv, b"FLUSHALL")
        call(srv, b"RPUSH", b"l", b"a")
    good = call(pair[1], b"DUMP", b"l")
    newer = good[:-10] + struct.pack("<H", 11)
    newer += struct.pack("<Q", 0)  # any checksum: the version is checked first
    flipped = good[:-1] + bytes([good[-1] ^ 1])
    cases = [
        (b"RESTORE", b"l", b"0", good),
        (b"RESTORE", b"l", b"-1", good),
        (b"RESTORE", b"n", b"-1", good),
        (b"RESTORE", b"n", b"x", good),
        (b"RESTORE", b"n", b"0", b"short"),
        (b"RESTORE", b"n", b"0", flipped),
        (b"RESTORE", b"n", b"0", newer),
        (b"RESTORE", b"n", b"0", good, b"IDLETIME", b"-1"),
        (b"RESTORE", b"n", b"0", good, b"FREQ", b"256"),
        (b"RESTORE", b"n", b"0", good, b"IDLETIME", b"1", b"FREQ", b"1"),
        (b"RESTORE", b"n", b"0", good, b"IDLETIME"),
        (b"RESTORE", b"n", b"0", good, b"BOGUS"),
        (b"RESTORE", b"n", b"0"),
        (b"DUMP", b"missing"),
        (b"DUMP",),
    ]
    for args in cases:
        rm_reply, ref_reply = both(pair, *args)
        assert rm_reply == ref_reply, args


def crc64_jones(data):
    poly = 0x95AC9329AC4BC9B5
    crc = 0
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ poly if crc & 1 else crc >> 1
    return crc


def payload_for(body):
    body += struct.pack("<H", 10)
    return body + struct.pack("<Q", crc64_jones(body))


def test_corrupt_values_are_refused(pair):
    """Well-checksummed payloads whose value is bad: an opcode instead of a
    type, an empty set, an unknown type, nothing."""
    cases = [payload_for(b"\xfe\x00"),            # SELECTDB opcode
             payload_for(b"\x02\x00"),            # empty set
             payload_for(b"\x63\x00"),            # unknown type
             payload_for(b"")]
    for payload in cases:
        rm_reply, ref_reply = both(pair, b"RESTORE", b"bad", b"0", payload)
        assert rm_reply == ref_reply, payload
    assert call(pair[0], b"EXISTS", b"bad") == 0
    assert call(pair[0], b"RESTORE", b"ok", b"0", payload_for(b"\x00\x02ab")) == b"OK"
    assert call(pair[0], b"GET", b"ok") == b"ab"


def test_ttl_replace_idletime(pair):
    rm = pair[0]
    call(rm, b"FLUSHALL")
    call(rm, b"SET", b"s", b"v")
    payload = call(rm, b"DUMP", b"s")
    assert call(rm, b"RESTORE", b"t", b"100000", payload) == b"OK"
    assert 90000 < call(rm, b"PTTL", b"t") <= 100000
    far = 4102444800000  # 2100-01-01
    assert call(rm, b"RESTORE", b"a", str(far).encode(), payload, b"ABSTTL") == b"OK"
    assert call(rm, b"PEXPIRETIME", b"a") == far
    # An expired absolute TTL deletes the old value under REPLACE and adds nothing.
    assert call(rm, b"RESTORE", b"a", b"1", payload, b"ABSTTL", b"REPLACE") == b"OK"
    assert call(rm, b"EXISTS", b"a") == 0
    assert call(rm, b"RESTORE", b"i", b"0", payload, b"IDLETIME", b"1000") == b"OK"
    assert 999 <= call(rm, b"OBJECT", b"IDLETIME", b"i") <= 1001
    call(rm, b"SET", b"s", b"other")
    assert call(rm, b"RESTORE", b"s", b"0", payload, b"REPLACE") == b"OK"
    assert call(rm, b"GET", b"s") == b"v"
    assert call(rm, b"TTL", b"s") == -1


def test_mutated_payloads_never_crash(pair):
    """Valid payloads of every type with random bytes changed, cut or
    inserted, re-checksummed so that the value parser sees them: RESTORE
    answers OK or an error, and a restored value can be read and dumped
    again. The server must survive every one (sanitizer builds check the
    memory accesses too)."""
    rm = pair[0]
    rng = random.Random(1616)
    with RespConn(rm.port) as c:
        c.call(b"FLUSHALL")
        payloads = []
        for name in sorted(VALUES):
            c.call(b"FLUSHALL")
            for cmd in VALUES[name][0]:
                c.call(*cmd)
            payloads.append(c.call(b"DUMP", b"k")[:-10])
        c.call(b"FLUSHALL")
        for i in range(rmtest.scaled(3000)):
            body = bytearray(rng.choice(payloads))
            for _ in range(rng.randint(1, 4)):
                op = rng.random()
                at = rng.randrange(len(body)) if body else 0
                if op < 0.6 and body:
                    body[at] = rng.randrange(256)
                elif op < 0.8:
                    del body[at:at + rng.randint(1, 8)]
                else:
                    body[at:at] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 4)))
            reply = c.call(b"RESTORE", b"m", b"0", payload_for(bytes(body)), b"REPLACE")
            if reply == b"OK":
                c.call(b"DEBUG", b"DIGEST-VALUE", b"m")
                c.call(b"DUMP", b"m")
                read = {b"string": (b"GET", b"m"), b"list": (b"LRANGE", b"m", b"0", b"-1"),
                        b"set": (b"SMEMBERS", b"m"), b"hash": (b"HGETALL", b"m"),
                        b"zset": (b"ZRANGE", b"m", b"0", b"-1", b"WITHSCORES"),
                        b"stream": (b"XINFO", b"STREAM", b"m", b"FULL")}
                c.call(*read[c.call(b"TYPE", b"m")])
            else:
                assert isinstance(reply, rmtest.RespError), reply
                assert str(reply) == "ERR Bad data format", (i, reply)
        assert c.call(b"PING") == b"PONG"
