"""Differential test of the stream commands against real redis-server 7.0.

A seeded generator sends every stream command (XADD with NOMKSTREAM,
MAXLEN/MINID, = and ~, LIMIT, explicit and ms-* IDs; XDEL XTRIM XSETID XLEN
XRANGE XREVRANGE XREAD; XGROUP CREATE/SETID/DESTROY/CREATECONSUMER/
DELCONSUMER; XREADGROUP with and without NOACK, new and history reads;
XACK XCLAIM XAUTOCLAIM XPENDING; XINFO STREAM [FULL]/GROUPS/CONSUMERS) to
Ringmaster and to redis-server over a small key space shared with a string
key and key commands (DEL, COPY, RENAME, TYPE, OBJECT ENCODING), so that
WRONGTYPE, key creation and deletion are exercised. stream-node-max-entries
and -bytes change mid-sequence, so node boundaries (what MAXLEN ~ trims,
XINFO's radix-tree-keys and radix-tree-nodes) are compared at many sizes.

IDs are explicit (a generator-side clock) so both servers hold the same
entries; `*` is covered by test_fixed_stream_script. Replies are compared
byte for byte, except the fields that hold the time of a delivery or of a
consumer's last activity (XPENDING's idle, XINFO's seen-time, idle and
delivery times), which are masked, and DEBUG DIGEST is compared every
DIGEST_EVERY commands and at the end of each seed.
RM_DIFF_SEEDS=5,9 reruns only those seeds.
"""

import os
import random

import pytest

import rmtest
from rmtest import RespError

COMMANDS_PER_SEED = rmtest.scaled(4000)
DIGEST_EVERY = 150
DEFAULT_SEEDS = [1601, 1602, 1603, 1604, 1605, 1606]


def _seeds():
    env = os.environ.get("RM_DIFF_SEEDS", "")
    if env:
        return [int(s) for s in env.split(",") if s.strip()]
    return DEFAULT_SEEDS


KEYS = [b"s0", b"s1", b"s2", b"str", b"bin\x00s"]
GROUPS = [b"g0", b"g1", b"G", b""]
CONSUMERS = [b"alice", b"bob", b"c", b""]
FIELDS = [b"f", b"g", b"name", b"1", b"-5", b"", b"x" * 70, b"12345678901"]


def b(x):
    return x if isinstance(x, bytes) else str(x).encode()


class Generator:
    def __init__(self, rng):
        self.rng = rng
        self.clock = 1000  # ms part of the next explicit ID

    def key(self):
        return self.rng.choice(KEYS)

    def new_id(self):
        r = self.rng.random()
        if r < 0.5:
            self.clock += self.rng.randint(0, 3)
            return b"%d-%d" % (self.clock, self.rng.randint(0, 3))
        if r < 0.75:
            self.clock += self.rng.randint(0, 2)
            return b"%d-*" % self.clock
        if r < 0.85:
            self.clock += 1
            return b"%d" % self.clock
        return self.rng.choice([b"0-0", b"0-1", b"5-5", b"abc", b"1-2-3", b"-", b"+",
                                b"18446744073709551615-18446744073709551615", b"%d-0" % self.clock])

    def some_id(self):
        r = self.rng.random()
        if r < 0.6:
            return b"%d-%d" % (self.rng.randint(990, self.clock + 2), self.rng.randint(0, 3))
        if r < 0.8:
            return b"%d" % self.rng.randint(990, self.clock + 2)
        return self.rng.choice([b"-", b"+", b"0", b"0-0", b"bad", b"(1000-1", b"(0-0", b"(+",
                                b"18446744073709551615-18446744073709551615"])

    def pairs(self):
        out = []
        if self.rng.random() < 0.5:
            fields = [b"f", b"g"]  # same fields: SAMEFIELDS entries
        else:
            fields = [self.rng.choice(FIELDS) for _ in range(self.rng.randint(1, 4))]
        for f in fields:
            v = self.rng.choice([b"v", b"%d" % self.rng.randint(-5000, 5000), b"", b"y" * 90])
            out += [f, v]
        return out

    def trim(self):
        if self.rng.random() < 0.5:
            thr = b"%d" % self.rng.randint(0, 40)
            kind = b"MAXLEN"
        else:
            thr = self.some_id()
            kind = b"MINID"
        out = [kind]
        op = self.rng.choice([None, b"=", b"~", b"~"])
        if op:
            out.append(op)
        out.append(thr)
        if self.rng.random() < 0.3:
            out += [b"LIMIT", b"%d" % self.rng.randint(0, 200)]
        return out

    def next(self):
        rng = self.rng
        r = rng.random()
        k = self.key()
        g = rng.choice(GROUPS)
        c = rng.choice(CONSUMERS)
        if r < 0.30:
            args = [b"XADD", k]
            if rng.random() < 0.1:
                args.append(b"NOMKSTREAM")
            if rng.random() < 0.25:
                args += self.trim()
            return args + [self.new_id()] + self.pairs()
        if r < 0.35:
            return [b"XDEL", k] + [self.some_id() for _ in range(rng.randint(1, 4))]
        if r < 0.39:
            return [b"XTRIM", k] + self.trim()
        if r < 0.41:
            args = [b"XSETID", k, self.some_id()]
            if rng.random() < 0.3:
                args += [b"ENTRIESADDED", b"%d" % rng.randint(-1, 300)]
            if rng.random() < 0.3:
                args += [b"MAXDELETEDID", self.some_id()]
            return args
        if r < 0.48:
            cmd = rng.choice([b"XRANGE", b"XREVRANGE"])
            args = [cmd, k, self.some_id(), self.some_id()]
            if cmd == b"XRANGE" and rng.random() < 0.5:
                args[2:4] = [rng.choice([b"-", self.some_id()]), rng.choice([b"+", self.some_id()])]
            if rng.random() < 0.5:
                args += [b"COUNT", b"%d" % rng.randint(-1, 10)]
            return args
        if r < 0.50:
            return [b"XLEN", k]
        if r < 0.53:
            keys = [self.key() for _ in range(rng.randint(1, 2))]
            args = [b"XREAD"]
            if rng.random() < 0.5:
                args += [b"COUNT", b"%d" % rng.randint(0, 5)]
            return args + [b"STREAMS"] + keys + [rng.choice([self.some_id(), b"$", b"0"])
                                                 for _ in keys]
        if r < 0.60:
            sub = rng.choice([b"CREATE", b"CREATE", b"SETID", b"DESTROY", b"CREATECONSUMER",
                              b"DELCONSUMER"])
            if sub == b"CREATE":
                args = [b"XGROUP", sub, k, g, rng.choice([b"$", b"0", self.some_id()])]
                if rng.random() < 0.3:
                    args.append(b"MKSTREAM")
                if rng.random() < 0.2:
                    args += [b"ENTRIESREAD", b"%d" % rng.randint(-2, 20)]
                return args
            if sub == b"SETID":
                args = [b"XGROUP", sub, k, g, rng.choice([b"$", b"0", self.some_id()])]
                if rng.random() < 0.3:
                    args += [b"ENTRIESREAD", b"%d" % rng.randint(-1, 20)]
                return args
            if sub == b"DESTROY":
                return [b"XGROUP", sub, k, g]
            return [b"XGROUP", sub, k, g, c]
        if r < 0.70:
            args = [b"XREADGROUP", b"GROUP", g, c]
            if rng.random() < 0.6:
                args += [b"COUNT", b"%d" % rng.randint(0, 6)]
            if rng.random() < 0.15:
                args.append(b"NOACK")
            return args + [b"STREAMS", k, rng.choice([b">", b">", b"0", self.some_id()])]
        if r < 0.74:
            return [b"XACK", k, g] + [self.some_id() for _ in range(rng.randint(1, 3))]
        if r < 0.78:
            args = [b"XCLAIM", k, g, c, rng.choice([b"0", b"0", b"100000000", b"-5", b"x"])]
            args += [self.some_id() for _ in range(rng.randint(1, 3))]
            for opt in rng.sample([b"FORCE", b"JUSTID", b"TIME", b"RETRYCOUNT", b"LASTID",
                                   b"IDLE"], rng.randint(0, 3)):
                if opt in (b"FORCE", b"JUSTID"):
                    args.append(opt)
                elif opt == b"TIME":
                    args += [opt, b"1700000000000"]
                elif opt == b"IDLE":
                    args += [opt, b"5000"]
                elif opt == b"RETRYCOUNT":
                    args += [opt, b"%d" % rng.randint(0, 9)]
                else:
                    args += [opt, self.some_id()]
            return args
        if r < 0.81:
            args = [b"XAUTOCLAIM", k, g, c, rng.choice([b"0", b"100000000"]), self.some_id()]
            if rng.random() < 0.5:
                args += [b"COUNT", b"%d" % rng.randint(0, 5)]
            if rng.random() < 0.3:
                args.append(b"JUSTID")
            return args
        if r < 0.86:
            if rng.random() < 0.4:
                return [b"XPENDING", k, g]
            args = [b"XPENDING", k, g]
            if rng.random() < 0.3:
                args += [b"IDLE", rng.choice([b"0", b"100000000"])]
            args += [self.some_id(), self.some_id(), b"%d" % rng.randint(-1, 10)]
            if rng.random() < 0.3:
                args.append(c)
            return args
        if r < 0.91:
            sub = rng.choice([b"STREAM", b"FULL", b"GROUPS", b"CONSUMERS"])
            if sub == b"FULL":
                return [b"XINFO", b"STREAM", k, b"FULL", b"COUNT", b"%d" % rng.randint(0, 3)]
            if sub == b"CONSUMERS":
                return [b"XINFO", sub, k, g]
            return [b"XINFO", sub, k]
        if r < 0.93:
            # Only the entry limit moves: redis-server 7.0.15 corrupts its
            # own nodes (listpack assertions in XRANGE and DEBUG DIGEST)
            # after stream-node-max-bytes changes at run time, so the byte
            # limit is covered by test_fixed_stream_script at fixed values.
            return [b"CONFIG", b"SET", b"stream-node-max-entries",
                    rng.choice([b"3", b"10", b"100", b"0"])]
        return rng.choice([[b"SET", b"str", b"v"], [b"DEL", k], [b"TYPE", k],
                           [b"OBJECT", b"ENCODING", k], [b"COPY", k, self.key()],
                           [b"RENAME", k, self.key()], [b"DEBUG", b"DIGEST-VALUE", k],
                           [b"XADD", k], [b"XGROUP", b"HELP"], [b"XINFO", b"HELP"]])


# ---- masking of time-dependent fields ---------------------------------------------

def mask(args, value):
    """The reply with delivery/activity times replaced by a marker."""
    cmd = args[0].upper()
    if isinstance(value, RespError) or value is None:
        return value
    if cmd == b"XPENDING" and len(args) > 3 and isinstance(value, list):
        return [[e[0], e[1], b"T", e[3]] for e in value]
    if cmd == b"XINFO":
        return mask_info(value)
    return value


def mask_info(v):
    if not isinstance(v, list):
        return v
    out = []
    i = 0
    while i < len(v):
        item = v[i]
        if item in (b"seen-time", b"idle") and i + 1 < len(v) and isinstance(v[i + 1], int):
            out += [item, b"T"]
            i += 2
            continue
        if item == b"pending" and i + 1 < len(v) and isinstance(v[i + 1], list):
            out += [item, [mask_nack(n) for n in v[i + 1]]]
            i += 2
            continue
        out.append(mask_info(item))
        i += 1
    return out


def mask_nack(n):
    if isinstance(n, list) and len(n) == 4:
        return [n[0], n[1], b"T", n[3]]
    if isinstance(n, list) and len(n) == 3:
        return [n[0], b"T", n[2]]
    return n


TIME_DEPENDENT = {b"XPENDING", b"XINFO"}


class Differ:
    def __init__(self, seed, rm_srv, ref_srv):
        self.seed = seed
        self.rm = rm_srv.raw()
        self.ref = ref_srv.raw()
        self.gen = Generator(random.Random(seed))
        self.log = []
        for conn in (self.rm, self.ref):
            assert conn.call(b"FLUSHALL") == b"OK"
            conn.call(b"CONFIG", b"SET", b"stream-node-max-entries", b"100")
            conn.call(b"CONFIG", b"SET", b"stream-node-max-bytes", b"4096")

    def close(self):
        self.rm.close()
        self.ref.close()

    def fail(self, what, a, b_):
        tail = "\n".join(self.log[-25:])
        pytest.fail("seed %d: %s differs\n  ringmaster: %r\n  redis:      %r\nlast commands:\n%s"
                    % (self.seed, what, a, b_, tail))

    def step(self, args):
        self.log.append(" ".join(repr(x)[1:] for x in args))
        if args[0].upper() in TIME_DEPENDENT:
            a = mask(args, self.rm.call(*args))
            r = mask(args, self.ref.call(*args))
        else:
            a = self.rm.call_raw(*args)
            r = self.ref.call_raw(*args)
        if a != r:
            self.fail(self.log[-1], a, r)

    def digest(self):
        a = self.rm.call(b"DEBUG", b"DIGEST")
        r = self.ref.call(b"DEBUG", b"DIGEST")
        if a != r:
            self.fail("DEBUG DIGEST", a, r)

    def run(self, n):
        for i in range(n):
            self.step(self.gen.next())
            if i % DIGEST_EVERY == DIGEST_EVERY - 1:
                self.digest()
        self.digest()
        for k in KEYS:
            self.step([b"XINFO", b"STREAM", k, b"FULL", b"COUNT", b"0"])
            self.step([b"XINFO", b"GROUPS", k])


@pytest.fixture(scope="module")
def pair(module_servers):
    return module_servers.ringmaster(), module_servers.redis()


@pytest.mark.parametrize("seed", _seeds())
def test_random_stream_commands(seed, pair):
    differ = Differ(seed, *pair)
    try:
        differ.run(COMMANDS_PER_SEED)
    finally:
        differ.close()


def test_fixed_stream_script(pair):
    """Readable cases: auto IDs, node boundaries, trims, and the errors."""
    differ = Differ(0, *pair)
    try:
        script = [
            [b"XADD", b"s", b"1-1", b"a", b"1"],
            [b"XADD", b"s", b"1-1", b"a", b"1"],
            [b"XADD", b"s", b"0-0", b"a", b"1"],
            [b"XADD", b"s", b"MAXLEN", b"1", b"MINID", b"1", b"2-1", b"a", b"1"],
            [b"XADD", b"s", b"LIMIT", b"5", b"2-1", b"a", b"1"],
            [b"XADD", b"s", b"MAXLEN", b"-1", b"2-1", b"a", b"1"],
            [b"XADD", b"s", b"2-1", b"a"],
            [b"XADD", b"nokey", b"NOMKSTREAM", b"1-1", b"a", b"1"],
            [b"EXISTS", b"nokey"],
            [b"XTRIM", b"s"],
            [b"XTRIM", b"s", b"MAXLEN", b"=", b"0", b"LIMIT", b"1"],
            [b"XGROUP", b"CREATE", b"nokey", b"g", b"$"],
            [b"XGROUP", b"FOO", b"s", b"g"],
            [b"XREADGROUP", b"GROUP", b"g", b"c", b"STREAMS", b"s", b"$"],
            [b"XREAD", b"STREAMS", b"s", b">"],
            [b"XREAD", b"STREAMS", b"s"],
            [b"XREADGROUP", b"STREAMS", b"s", b">"],
            [b"XINFO", b"STREAM", b"s", b"FULL", b"COUNT"],
            [b"XSETID", b"s", b"0-5"],
            [b"XAUTOCLAIM", b"s", b"g", b"c", b"0", b"0", b"COUNT", b"0"],
        ]
        for args in script:
            differ.step(args)
        # 1000 entries over 10-entry nodes, then approximate trims that can
        # only drop whole nodes: both servers must drop the same ones.
        differ.step([b"CONFIG", b"SET", b"stream-node-max-entries", b"10"])
        for i in range(1000):
            differ.step([b"XADD", b"big", b"%d-0" % (i + 1), b"f", b"%d" % i])
        for args in ([b"XTRIM", b"big", b"MAXLEN", b"~", b"955"],
                     [b"XADD", b"big", b"MAXLEN", b"~", b"500", b"LIMIT", b"30", b"2000-0",
                      b"f", b"x"],
                     [b"XTRIM", b"big", b"MINID", b"~", b"700"],
                     [b"XDEL", b"big", b"700-0", b"701-0", b"702-0"],
                     [b"XTRIM", b"big", b"MINID", b"=", b"705"],
                     [b"XINFO", b"STREAM", b"big"]):
            differ.step(args)
        differ.digest()
        # The byte limit: nodes close when the next entry's fields and values
        # would take the node to stream-node-max-bytes.
        differ.step([b"CONFIG", b"SET", b"stream-node-max-entries", b"100"])
        differ.step([b"CONFIG", b"SET", b"stream-node-max-bytes", b"300"])
        for i in range(200):
            differ.step([b"XADD", b"bytes", b"%d-0" % (i + 1), b"f", b"v" * (i % 50),
                         b"n", b"%d" % (i * 7919)])
        for args in ([b"XINFO", b"STREAM", b"bytes"],
                     [b"XTRIM", b"bytes", b"MAXLEN", b"~", b"150"],
                     [b"XRANGE", b"bytes", b"-", b"+", b"COUNT", b"3"],
                     [b"XREVRANGE", b"bytes", b"+", b"-", b"COUNT", b"3"],
                     [b"XINFO", b"STREAM", b"bytes", b"FULL", b"COUNT", b"2"]):
            differ.step(args)
        differ.digest()
        differ.step([b"CONFIG", b"SET", b"stream-node-max-bytes", b"4096"])
        # Auto IDs: not comparable as values, so check their shape on each
        # side and that both servers agree on everything else.
        for conn in (differ.rm, differ.ref):
            id1 = conn.call(b"XADD", b"auto", b"*", b"f", b"v")
            id2 = conn.call(b"XADD", b"auto", b"*", b"f", b"v")
            ms1, seq1 = map(int, id1.split(b"-"))
            ms2, seq2 = map(int, id2.split(b"-"))
            assert (ms2, seq2) > (ms1, seq1)
            assert conn.call(b"XADD", b"auto", b"%d-*" % ms2, b"f", b"v") == \
                b"%d-%d" % (ms2, seq2 + 1)
            conn.call(b"DEL", b"auto")
        differ.digest()
    finally:
        differ.close()
