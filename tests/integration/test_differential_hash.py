"""Differential test of the hash commands against real redis-server 7.0.

A seeded generator sends every hash command (HSET HSETNX HGET HMGET HMSET
HDEL HLEN HSTRLEN HEXISTS HKEYS HVALS HGETALL HINCRBY HINCRBYFLOAT HSCAN
HRANDFIELD) to Ringmaster and to redis-server, over a small key space that
string commands (SET, GET, APPEND) and key commands (DEL, EXPIRE, PERSIST,
COPY, RENAME, TYPE) share, so that WRONGTYPE paths, key creation and
deletion, and the digest's expire mark are all exercised. The encoding
thresholds are changed mid-sequence (CONFIG SET hash-max-listpack-*) so
that conversions happen at many sizes, and after long fields were stored.

Comparison:
  - byte for byte: every reply whose content does not depend on hash order
    or randomness, errors included, OBJECT ENCODING, DEBUG DIGEST-VALUE, and
    DEBUG DIGEST every few hundred commands and at the end of each seed;
  - HKEYS / HVALS / HGETALL: byte for byte while the hash is a listpack
    (insertion order is part of the contract), as multisets once it is a
    hashtable;
  - HSCAN: byte for byte on a listpack (one call, cursor 0); on a hashtable
    both sides are scanned to completion with the same options and the
    pairs compared as sets;
  - HRANDFIELD: by properties on each side (reply size, membership, values
    matching fields, uniqueness for positive counts), and byte for byte
    when the result is deterministic (count 0, count covering a listpack).
RM_DIFF_SEEDS=5,9 reruns only those seeds.
"""

import collections
import os
import random

import pytest

import rmtest
from rmtest import RespConn, RespError

# Five seeds of this many commands: over 25,000 per run (a quarter under a
# sanitizer).
COMMANDS_PER_SEED = rmtest.scaled(5200)
DIGEST_EVERY = 200
DEFAULT_SEEDS = [701, 702, 703, 704, 705]


def _seeds():
    env = os.environ.get("RM_DIFF_SEEDS", "")
    if env:
        return [int(s) for s in env.split(",") if s.strip()]
    return DEFAULT_SEEDS


KEYS = [b"h0", b"h1", b"h2", b"h3", b"h4", b"big", b"str", b"", b"bin\x00key"]
FIELDS = ([b"f%d" % i for i in range(12)] +
          [b"1", b"01", b"-0", b"100", b"-7", b"", b"bin\x00\xff", b"9223372036854775807",
           b"4611686018427387904", b"F0", b"f*", b"[f]", b"\xe2\x82\xac"])
INT_EDGES = [b"9223372036854775807", b"9223372036854775806", b"-9223372036854775808",
             b"-9223372036854775807", b"9223372036854775808", b"4611686018427387904",
             b"-4611686018427387905", b"2305843009213693952", b"99999999999999999999"]
ODD_NUMBERS = [b"007", b"+5", b" 5", b"5 ", b"0x1f", b"-0", b"", b"1e3", b"--1", b"1.5", b"abc"]
FLOATS = [b"3.14", b"-0.5", b"1e10", b"1.5e-5", b"inf", b"-inf", b"nan", b"1e308", b"0.1",
          b"5.", b".5", b"1e400", b"0x1p3", b" 1.5", b"1.2.3", b"1e4932", b"-1e4932", b"17"]
GLOBS = [b"*", b"f*", b"f1*", b"f?", b"[0-9]*", b"*\x00*", b"\\*", b"f[", b"[^f]*", b"?",
         b"f\\[f\\]", b""]
FUTURE_S = 4_000_000_000


class Step:
    """One command: arguments and how the replies are compared."""

    __slots__ = ("args", "mode")

    def __init__(self, args, mode="exact"):
        self.args = [a if isinstance(a, bytes) else str(a).encode() for a in args]
        self.mode = mode

    def __repr__(self):
        return " ".join(repr(a)[1:] for a in self.args)


class Generator:
    def __init__(self, rng):
        self.rng = rng
        table = [
            ("hset", 14), ("hmset", 3), ("hsetnx", 3), ("hget", 6), ("hmget", 3), ("hdel", 6),
            ("hlen", 2), ("hstrlen", 2), ("hexists", 2), ("hkeys", 1.5), ("hvals", 1.5),
            ("hgetall", 2), ("hincrby", 4), ("hincrbyfloat", 4), ("hscan", 3),
            ("hrandfield", 4), ("fill", 0.3), ("string", 1.5), ("keyop", 3),
            ("encoding", 3), ("digest_value", 1), ("config", 0.5), ("arity", 1),
            ("delete", 3),
        ]
        self.names = [n for n, _ in table]
        self.weights = [w for _, w in table]

    def key(self):
        return self.rng.choice(KEYS)

    def field(self):
        r = self.rng.random()
        if r < 0.99:
            return self.rng.choice(FIELDS)
        return self.text(60, 70)  # around the default 64-byte limit

    def text(self, lo, hi):
        n = self.rng.randint(lo, hi)
        return bytes(self.rng.choice(b"abcdefghij0123456789 _-") for _ in range(n))

    def value(self):
        r = self.rng.random()
        if r < 0.3:
            return b"%d" % self.rng.randint(-100, 1000)
        if r < 0.38:
            return self.rng.choice(INT_EDGES)
        if r < 0.46:
            return self.rng.choice(FLOATS)
        if r < 0.52:
            return self.rng.choice(ODD_NUMBERS)
        if r < 0.62:
            return bytes(self.rng.randrange(256) for _ in range(self.rng.randint(0, 12)))
        if r < 0.985:
            return self.text(1, 20)
        if r < 0.995:
            return self.text(60, 70)
        return self.text(100, 300)

    def int_arg(self):
        r = self.rng.random()
        if r < 0.7:
            return b"%d" % self.rng.randint(-1000, 1000)
        if r < 0.9:
            return self.rng.choice(INT_EDGES)
        return self.rng.choice(ODD_NUMBERS)

    def float_arg(self):
        if self.rng.random() < 0.5:
            return b"%d" % self.rng.randint(-50, 50)
        return self.rng.choice(FLOATS + INT_EDGES[:3])

    def pairs(self, lo=1, hi=5):
        out = []
        for _ in range(self.rng.randint(lo, hi)):
            out += [self.field(), self.value()]
        return out

    # -- commands -----------------------------------------------------------

    def cmd_hset(self):
        return Step([b"HSET", self.key()] + self.pairs())

    def cmd_hmset(self):
        return Step([b"HMSET", self.key()] + self.pairs(1, 3))

    def cmd_hsetnx(self):
        return Step([b"HSETNX", self.key(), self.field(), self.value()])

    def cmd_hget(self):
        return Step([b"HGET", self.key(), self.field()])

    def cmd_hmget(self):
        return Step([b"HMGET", self.key()] + [self.field() for _ in range(self.rng.randint(1, 5))])

    def cmd_hdel(self):
        return Step([b"HDEL", self.key()] + [self.field() for _ in range(self.rng.randint(1, 4))])

    def cmd_hlen(self):
        return Step([b"HLEN", self.key()])

    def cmd_hstrlen(self):
        return Step([b"HSTRLEN", self.key(), self.field()])

    def cmd_hexists(self):
        return Step([b"HEXISTS", self.key(), self.field()])

    def cmd_hkeys(self):
        return Step([b"HKEYS", self.key()], "ordered")

    def cmd_hvals(self):
        return Step([b"HVALS", self.key()], "ordered")

    def cmd_hgetall(self):
        return Step([b"HGETALL", self.key()], "ordered_pairs")

    def cmd_hincrby(self):
        return Step([b"HINCRBY", self.key(), self.field(), self.int_arg()])

    def cmd_hincrbyfloat(self):
        return Step([b"HINCRBYFLOAT", self.key(), self.field(), self.float_arg()])

    def cmd_hscan(self):
        r = self.rng.random()
        if r < 0.6:
            cursor = b"0"
        elif r < 0.8:
            cursor = b"%d" % self.rng.randint(1, 1000)
        else:
            cursor = self.rng.choice([b"-1", b"", b"+3", b" 1", b"1x", b"18446744073709551615",
                                      b"18446744073709551616", b"0x10"])
        args = [b"HSCAN", self.key(), cursor]
        for _ in range(self.rng.randint(0, 2)):
            opt = self.rng.random()
            if opt < 0.45:
                args += [b"MATCH", self.rng.choice(GLOBS)]
            elif opt < 0.85:
                args += [b"COUNT", self.rng.choice([b"1", b"3", b"10", b"100", b"0", b"-1",
                                                    b"x", b"9223372036854775807"])]
            else:
                args += self.rng.choice([[b"TYPE", b"hash"], [b"COUNT"], [b"MATCH"], [b"bogus"]])
        if self.rng.random() < 0.3:
            args[3:3] = [self.rng.choice([b"count", b"match"]), self.rng.choice([b"5", b"f*"])]
        return Step(args, "hscan")

    def cmd_hrandfield(self):
        r = self.rng.random()
        key = self.key()
        if r < 0.2:
            return Step([b"HRANDFIELD", key], "rand")
        # Counts stay small in magnitude when negative: Redis really
        # returns |count| picks, so a huge one would take forever.
        count = self.rng.choice([b"0", b"1", b"2", b"3", b"5", b"20", b"100", b"-1", b"-3",
                                 b"-20", b"-100", b"x", b"1.5", b"", b"-9223372036854775808",
                                 b"9223372036854775807"])
        args = [b"HRANDFIELD", key, count]
        if r < 0.6:
            args.append(self.rng.choice([b"WITHVALUES", b"withvalues", b"WITHVALUES", b"bad"]))
            if self.rng.random() < 0.1:
                args.append(b"extra")
            if self.rng.random() < 0.15:
                # Around the WITHVALUES limit of LONG_MAX/2 (out of range when
                # negative, so never executed).
                args[2] = self.rng.choice([b"4611686018427387903", b"4611686018427387904",
                                           b"-4611686018427387904", b"-9223372036854775807"])
        return Step(args, "rand")

    def cmd_fill(self):
        """Many pairs at once: pushes hashes across the entries threshold."""
        key = self.key()
        n = self.rng.randint(20, 140)
        base = self.rng.randint(0, 1000)
        args = [b"HSET", key]
        for i in range(n):
            args += [b"fill:%d" % (base + i), b"%d" % (i * 7)]
        return Step(args)

    def cmd_string(self):
        # Mostly the one string key, sometimes turning a hash key into a string.
        key = b"str" if self.rng.random() < 0.7 else self.key()
        return self.rng.choice([
            Step([b"SET", key, self.value()]), Step([b"GET", key]),
            Step([b"APPEND", key, b"x"]), Step([b"TYPE", key]),
        ])

    def cmd_keyop(self):
        key = self.key()
        r = self.rng.random()
        if r < 0.4:
            return Step([b"DEL", key])
        if r < 0.5:
            return Step([b"EXPIRE", key, b"%d" % self.rng.randint(10**6, 10**8)])
        if r < 0.6:
            return Step([b"PERSIST", key])
        if r < 0.75:
            return Step([b"COPY", key, self.key(), b"REPLACE"])
        if r < 0.85:
            return Step([b"RENAME", key, self.key()])
        return Step([b"EXISTS", key])

    def cmd_delete(self):
        """Frequent deletes keep recreating hashes, so that listpacks (whose
        order is compared byte for byte) stay common."""
        return Step([b"DEL", self.key()])

    def cmd_encoding(self):
        return Step([b"OBJECT", b"ENCODING", self.key()])

    def cmd_digest_value(self):
        return Step([b"DEBUG", b"DIGEST-VALUE", self.key(), self.key()])

    def cmd_config(self):
        """Move a threshold; most changes put the default back, so small
        limits come and go (and hashes built under one limit meet another)."""
        which = self.rng.choice([b"hash-max-listpack-entries", b"hash-max-ziplist-entries",
                                 b"hash-max-listpack-value", b"hash-max-ziplist-value"])
        if b"entries" in which:
            v = self.rng.choice([b"128"] * 16 + [b"0", b"1", b"4", b"16", b"512"])
        else:
            v = self.rng.choice([b"64"] * 16 + [b"0", b"3", b"8", b"100"])
        return Step([b"CONFIG", b"SET", which, v], "config")

    # Arity of each hash command (Redis's convention: -N means at least N).
    ARITY = {b"HSET": -4, b"HMSET": -4, b"HSETNX": 4, b"HGET": 3, b"HMGET": -3, b"HDEL": -3,
             b"HLEN": 2, b"HSTRLEN": 3, b"HEXISTS": 3, b"HKEYS": 2, b"HVALS": 2,
             b"HGETALL": 2, b"HINCRBY": 4, b"HINCRBYFLOAT": 4, b"HSCAN": -3,
             b"HRANDFIELD": -2}

    def cmd_arity(self):
        """A hash command with a wrong number of arguments (for HSET and
        HMSET also an odd number of field/value arguments)."""
        name = self.rng.choice(sorted(self.ARITY))
        arity = self.ARITY[name]
        if arity > 0:
            argc = self.rng.choice([n for n in range(1, 7) if n != arity])
        elif name in (b"HSET", b"HMSET") and self.rng.random() < 0.5:
            argc = self.rng.choice([5, 7, 9])
        else:
            argc = self.rng.randint(1, -arity - 1)
        return Step([name] + [self.field() for _ in range(argc - 1)])

    def next(self):
        name = self.rng.choices(self.names, self.weights)[0]
        step = getattr(self, "cmd_" + name)()
        if self.rng.random() < 0.1:
            step.args[0] = step.args[0].lower()
        return step


# -- reply helpers -------------------------------------------------------------

def pairs_of(flat):
    return sorted(zip(flat[0::2], flat[1::2]))


def encoding(conn, key):
    return conn.call(b"OBJECT", b"ENCODING", key)


def hscan_all(conn, key, options):
    """HSCAN to completion from cursor 0; the sorted pairs, or the error."""
    cursor = b"0"
    found = set()
    for _ in range(100000):
        reply = conn.call(b"HSCAN", key, cursor, *options)
        if isinstance(reply, RespError):
            return reply
        cursor, batch = reply
        found.update(zip(batch[0::2], batch[1::2]))
        if cursor == b"0":
            return sorted(found)
    raise AssertionError("HSCAN did not finish")


def check_randfield(step, reply, contents):
    """Properties of one side's HRANDFIELD reply; returns an error string."""
    args = step.args
    if contents is None:
        want = None if len(args) == 2 else []
        return None if reply == want else "missing key must give %r" % (want,)
    fields = dict(contents)
    if len(args) == 2:
        return None if reply in fields else "not a field"
    count = int(args[2])
    withvalues = len(args) == 4
    if not isinstance(reply, list):
        return "not an array"
    if withvalues:
        reply = rmtest.flat_pairs(reply)
        items = list(zip(reply[0::2], reply[1::2]))
        if len(reply) % 2:
            return "odd length with values"
        if any(fields.get(f) != v for f, v in items):
            return "a value does not match its field"
        picked = [f for f, _ in items]
    else:
        picked = reply
    if any(f not in fields for f in picked):
        return "not a field"
    if count < 0:
        return None if len(picked) == -count else "wrong count"
    if len(picked) != min(count, len(fields)):
        return "wrong count"
    if len(set(picked)) != len(picked):
        return "duplicates in a positive count"
    return None


class Differ:
    def __init__(self, seed, rm_server, ref_server):
        self.seed = seed
        self.rm = RespConn(rm_server.port)
        self.ref = RespConn(ref_server.port)
        self.rm_ctl = RespConn(rm_server.port)
        self.ref_ctl = RespConn(ref_server.port)
        self.servers = (rm_server, ref_server)
        self.history = collections.deque(maxlen=20)
        self.index = 0

    def close(self):
        for c in (self.rm, self.ref, self.rm_ctl, self.ref_ctl):
            c.close()

    def fail(self, step, what, rm, ref):
        lines = ["seed %d, command #%d %r: %s" % (self.seed, self.index, step, what),
                 "  ringmaster: %r" % (rm,), "  redis:      %r" % (ref,),
                 "commands before it (newest last):"]
        lines += ["  #%d %r -> %r" % h for h in self.history]
        lines.append("rerun only this seed with RM_DIFF_SEEDS=%d" % self.seed)
        pytest.fail("\n".join(lines), pytrace=False)

    def both(self, args):
        self.rm.send_command(*args)
        self.ref.send_command(*args)
        return self.rm.read_reply(), self.ref.read_reply()

    def reset(self):
        for c in (self.rm_ctl, self.ref_ctl):
            assert c.call(b"FLUSHALL") == b"OK"
            assert c.call(b"CONFIG", b"SET", b"hash-max-listpack-entries", b"128") == b"OK"
            assert c.call(b"CONFIG", b"SET", b"hash-max-listpack-value", b"64") == b"OK"

    def check_digest(self, step):
        rm = self.rm_ctl.call_raw(b"DEBUG", b"DIGEST")
        ref = self.ref_ctl.call_raw(b"DEBUG", b"DIGEST")
        if rm != ref:
            self.fail(step, "DEBUG DIGEST differs", rm, ref)

    def contents(self, conn, key):
        """A side's hash as a dict via HGETALL, None when missing/not a hash."""
        if conn.call(b"TYPE", key) != b"hash":
            return None
        return dict(pairs_of(conn.call(b"HGETALL", key)))

    def execute(self, step):
        mode = step.mode
        key = step.args[1] if len(step.args) > 1 else None
        (rm_raw, rm_val), (ref_raw, ref_val) = self.both(step.args)
        if mode == "skip" or rm_raw == ref_raw:
            if mode == "config" and rm_raw != b"+OK\r\n":
                self.fail(step, "CONFIG SET refused", rm_raw, ref_raw)
            return ref_raw
        both_ok = not isinstance(rm_val, RespError) and not isinstance(ref_val, RespError)
        if mode in ("ordered", "ordered_pairs") and both_ok:
            if encoding(self.rm_ctl, key) != b"hashtable":
                self.fail(step, "listpack order must match Redis", rm_raw, ref_raw)
            same = (pairs_of(rm_val) == pairs_of(ref_val) if mode == "ordered_pairs"
                    else sorted(rm_val) == sorted(ref_val))
            if same:
                return ref_raw
        elif mode == "hscan" and both_ok:
            if encoding(self.rm_ctl, key) != b"hashtable":
                self.fail(step, "HSCAN of a listpack must match Redis", rm_raw, ref_raw)
            opts = step.args[3:]
            rm_all, ref_all = hscan_all(self.rm_ctl, key, opts), hscan_all(self.ref_ctl, key, opts)
            if rm_all != ref_all:
                self.fail(step, "HSCAN to completion differs", rm_all, ref_all)
            return ref_raw
        elif mode == "rand" and both_ok:
            for label, reply, conn in (("ringmaster", rm_val, self.rm_ctl),
                                       ("redis", ref_val, self.ref_ctl)):
                problem = check_randfield(step, reply, self.contents(conn, key))
                if problem:
                    self.fail(step, "%s's HRANDFIELD reply is wrong: %s" % (label, problem),
                              rm_raw, ref_raw)
            if isinstance(rm_val, list) != isinstance(ref_val, list) or (
                    isinstance(rm_val, list) and len(rm_val) != len(ref_val)):
                self.fail(step, "HRANDFIELD reply sizes differ", rm_raw, ref_raw)
            return ref_raw
        self.fail(step, "replies differ", rm_raw, ref_raw)

    def run(self, count):
        self.reset()
        gen = Generator(random.Random(self.seed))
        for self.index in range(count):
            step = gen.next()
            result = self.execute(step)
            self.history.append((self.index, step, result[:200] if result else result))
            if self.index % DIGEST_EVERY == DIGEST_EVERY - 1:
                self.check_digest(step)
        self.check_digest(Step([b"(end of sequence)"]))
        # Final, per key: contents, encodings and per-key digests.
        for key in KEYS:
            for args in ([b"OBJECT", b"ENCODING", key], [b"DEBUG", b"DIGEST-VALUE", key],
                         [b"HLEN", key]):
                rm, ref = self.rm_ctl.call_raw(*args), self.ref_ctl.call_raw(*args)
                if rm != ref:
                    self.fail(Step(args), "final check differs", rm, ref)
            a, b = self.contents(self.rm_ctl, key), self.contents(self.ref_ctl, key)
            if a != b:
                self.fail(Step([b"HGETALL", key]), "final contents differ", a, b)


@pytest.fixture(scope="module")
def pair(module_servers):
    return module_servers.ringmaster(), module_servers.redis()


@pytest.mark.parametrize("seed", _seeds())
def test_random_hash_commands(seed, pair):
    differ = Differ(seed, *pair)
    try:
        differ.run(COMMANDS_PER_SEED)
    finally:
        differ.close()


def test_fixed_hash_script(pair):
    """Readable fixed cases: orders, conversions and digests at the edges."""
    rm_srv, ref_srv = pair
    script = [
        [b"FLUSHALL"],
        [b"CONFIG", b"SET", b"hash-max-listpack-entries", b"128"],
        [b"CONFIG", b"SET", b"hash-max-listpack-value", b"64"],
        [b"HSET", b"h", b"z", b"1", b"a", b"2", b"m", b"-0", b"10", b"010"],
        [b"HGETALL", b"h"],
        [b"HSET", b"h", b"z", b"updated"],
        [b"HKEYS", b"h"],
        [b"HRANDFIELD", b"h", b"10", b"WITHVALUES"],
        [b"HSCAN", b"h", b"0", b"MATCH", b"*"],
        [b"HSCAN", b"h", b"123", b"COUNT", b"1"],
        [b"OBJECT", b"ENCODING", b"h"],
        [b"DEBUG", b"DIGEST-VALUE", b"h"],
        [b"HSET", b"h", b"long", b"x" * 64],
        [b"OBJECT", b"ENCODING", b"h"],
        [b"HSET", b"h", b"long", b"x" * 65],
        [b"OBJECT", b"ENCODING", b"h"],
        [b"HDEL", b"h", b"long"],
        [b"OBJECT", b"ENCODING", b"h"],
        [b"DEBUG", b"DIGEST-VALUE", b"h"],
        [b"HINCRBYFLOAT", b"n", b"f", b"10.5"],
        [b"HINCRBYFLOAT", b"n", b"f", b"-0.5"],
        [b"HINCRBY", b"n", b"f", b"1"],
        [b"HINCRBYFLOAT", b"n", b"g", b"5.0e3"],
        [b"HGETALL", b"n"],
        [b"EXPIRE", b"n", b"%d" % 10**7],
        [b"DEBUG", b"DIGEST"],
        [b"CONFIG", b"SET", b"hash-max-listpack-entries", b"2"],
        [b"HSET", b"n", b"a", b"1"],
        [b"OBJECT", b"ENCODING", b"n"],
        [b"HSETNX", b"n", b"b", b"2"],
        [b"OBJECT", b"ENCODING", b"n"],
        [b"DEBUG", b"DIGEST"],
        # Edges the unit tests assert, checked here against Redis itself.
        [b"CONFIG", b"SET", b"hash-max-listpack-entries", b"3"],
        [b"CONFIG", b"SET", b"hash-max-listpack-value", b"4"],
        [b"HSET", b"g", b"a", b"1"],
        [b"HSETNX", b"g", b"a", b"toolong"],
        [b"OBJECT", b"ENCODING", b"g"],
        [b"HSET", b"g", b"a", b"1", b"a", b"toolong", b"a", b"1"],
        [b"OBJECT", b"ENCODING", b"g"],
        [b"HSET", b"f", b"a", b"1"],
        [b"HINCRBYFLOAT", b"f", b"a", b"0.125"],
        [b"OBJECT", b"ENCODING", b"f"],
        [b"HSET", b"e", b"a", b"1", b"b", b"2", b"c", b"3"],
        [b"CONFIG", b"SET", b"hash-max-listpack-entries", b"2"],
        [b"HINCRBY", b"e", b"a", b"1"],
        [b"OBJECT", b"ENCODING", b"e"],
        [b"CONFIG", b"SET", b"hash-max-listpack-entries", b"128"],
        [b"CONFIG", b"SET", b"hash-max-listpack-value", b"64"],
        [b"HSET", b"x", b"big", b"1e4932", b"m", b"9223372036854775807", b"s", b"abc"],
        [b"HINCRBYFLOAT", b"x", b"big", b"1e4932"],
        [b"HINCRBYFLOAT", b"x", b"s", b"1"],
        [b"HINCRBYFLOAT", b"x", b"m", b"inf"],
        [b"HINCRBYFLOAT", b"x", b"m", b"nan"],
        [b"HINCRBY", b"x", b"m", b"1"],
        [b"HINCRBY", b"x", b"s", b"1"],
        [b"HSCAN", b"x", b"-1"],
        [b"HSCAN", b"x", b""],
        [b"HSCAN", b"x", b" 1"],
        [b"HSCAN", b"x", b"18446744073709551616"],
        [b"HSCAN", b"x", b"0", b"COUNT", b"0"],
        [b"HSCAN", b"x", b"0", b"TYPE", b"hash"],
        [b"HSCAN", b"nokey", b"0", b"COUNT", b"0"],
        [b"HRANDFIELD", b"x", b"-9223372036854775808"],
        [b"HRANDFIELD", b"x", b"4611686018427387904", b"WITHVALUES"],
        [b"HRANDFIELD", b"x", b"1", b"WITHVALUES", b"x"],
        [b"HRANDFIELD", b"nokey", b"5"],
        [b"HRANDFIELD", b"nokey"],
        [b"HSTRLEN", b"x", b"m"],
        [b"SET", b"str", b"v"],
        [b"HINCRBY", b"str", b"a", b"x"],
        [b"HINCRBYFLOAT", b"str", b"a", b"x"],
        [b"HSCAN", b"str", b"x"],
        [b"HRANDFIELD", b"str", b"1", b"bad"],
        [b"HGETALL", b"str"],
    ]
    with RespConn(rm_srv.port) as rm, RespConn(ref_srv.port) as ref:
        for args in script:
            a, b = rm.call_raw(*args), ref.call_raw(*args)
            assert a == b, "%r: ringmaster %r, redis %r" % (args, a, b)
