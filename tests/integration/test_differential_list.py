"""Differential test of the list type against real redis-server 7.0.

A seeded generator produces sequences of every list command (LPUSH RPUSH
LPUSHX RPUSHX LPOP RPOP with and without a count, LLEN LRANGE LINDEX LSET
LINSERT LREM LTRIM LPOS, RPOPLPUSH LMOVE LMPOP and the blocking BLPOP BRPOP
BLMOVE BRPOPLPUSH BLMPOP), with edge-case arguments (negative and huge
indexes, LLONG_MIN ranks and counts, bad words, wrong arity), over a small
key space shared with strings (SET/GET/DEL/EXPIRE/RENAME/COPY on the same
keys) so that WRONGTYPE paths and key deletion on emptiness are exercised.
Elements mix small and big integers, non-canonical numbers ("007", "-0"),
binary bytes and strings long enough to split quicklist nodes; each seed
also runs with its own list-max-listpack-size.

Every command goes to Ringmaster and to redis-server; the raw RESP replies
must be identical byte for byte. DEBUG DIGEST is compared every few hundred
commands, and then and at the end of each sequence DEBUG DIGEST-VALUE,
OBJECT ENCODING, TYPE and the DUMP payload (the quicklist's node
boundaries) of every key as well. Transactions (MULTI ... EXEC) wrap
some commands, blocking ones included: inside MULTI they never block.

A blocking command outside MULTI must not hang the test: when all its keys
are missing (the reference server is asked with EXISTS, a read that changes
nothing) its timeout is replaced by 0.01 s, so both servers answer the
timeout reply; when some key exists it is served at once on both.

RM_DIFF_SEEDS=5,9 reruns just those seeds.
"""

import os
import random

import pytest

import rmtest
from rmtest import RespConn

COMMANDS_PER_SEED = rmtest.scaled(2600)
DIGEST_EVERY = 200
DEFAULT_SEEDS = [7101, 7202, 7303, 7404, 7505, 7606, 7707, 7808, 7909, 7999]

LIST_KEYS = [b"l0", b"l1", b"l2", b"l3", b"{q}a", b"bin\x00k"]
OTHER_KEYS = [b"s0", b"s1"]
KEYS = LIST_KEYS + OTHER_KEYS

INT_EDGES = [b"9223372036854775807", b"-9223372036854775808", b"9223372036854775808",
             b"-9223372036854775809", b"4294967296", b"-2147483649", b"8388608", b"-4097",
             b"4095", b"127", b"128", b"0", b"-1", b"32767", b"-32768"]
ODD = [b"007", b"-0", b"+1", b" 1", b"1 ", b"", b"0x10", b"1e3", b"1.5", b"\x00", b"-"]
BAD_INTS = [b"abc", b"1.5", b"", b"9223372036854775808", b" 3", b"0x1"]
SIDES = [b"LEFT", b"RIGHT", b"left", b"Right", b"rIgHt"]
BAD_SIDES = [b"middle", b"", b"lef", b"RIGHTT"]
FILLS = [b"-1", b"-2", b"-3", b"-5", b"1", b"2", b"3", b"5", b"16", b"0", b"-2"]


def _seeds():
    env = os.environ.get("RM_DIFF_SEEDS", "")
    if env:
        return [int(s) for s in env.split(",") if s.strip()]
    return DEFAULT_SEEDS


class Gen:
    """Random list-centric commands, reproducible per seed."""

    def __init__(self, rng):
        self.rng = rng
        table = [
            ("lpush", 9), ("rpush", 9), ("lpushx", 2), ("rpushx", 2), ("lpop", 5), ("rpop", 5),
            ("llen", 2), ("lrange", 6), ("lindex", 4), ("lset", 3), ("linsert", 4),
            ("lrem", 4), ("ltrim", 3), ("lpos", 6), ("rpoplpush", 2), ("lmove", 4),
            ("lmpop", 4), ("blpop", 2), ("brpop", 2), ("blmove", 2), ("brpoplpush", 1),
            ("blmpop", 2), ("set", 1), ("get", 1), ("del", 1), ("expire", 1.5),
            ("persist", 0.5), ("rename", 0.7), ("copy", 0.7), ("type", 0.5), ("exists", 0.5),
            ("multi", 2), ("arity", 1), ("config", 0.2), ("grow", 0.4),
        ]
        self.names = [n for n, _ in table]
        self.weights = [w for _, w in table]

    def pick(self):
        return self.rng.choices(self.names, self.weights)[0]

    def key(self):
        r = self.rng.random()
        if r < 0.8:
            return self.rng.choice(LIST_KEYS[:4])
        if r < 0.9:
            return self.rng.choice(LIST_KEYS[4:])
        return self.rng.choice(OTHER_KEYS)

    def hot(self):
        """An element likely to be in the lists (LPOS, LREM, LINSERT)."""
        if self.rng.random() < 0.6:
            return self.rng.choice([b"1", b"2", b"3", b"e1", b"e2", b"-1"])
        return self.elem()

    def elem(self):
        r = self.rng.random()
        if r < 0.30:
            return b"%d" % self.rng.randint(-2, 6)
        if r < 0.42:
            return b"e%d" % self.rng.randint(0, 4)
        if r < 0.50:
            return self.rng.choice(INT_EDGES)
        if r < 0.56:
            return self.rng.choice(ODD)
        if r < 0.66:
            return bytes(self.rng.randrange(256) for _ in range(self.rng.randint(0, 12)))
        if r < 0.80:
            return b"%d" % self.rng.randint(-10**6, 10**12)
        if r < 0.95:
            n = self.rng.choice([62, 63, 64, 65, 100, 127, 128, 300])
            return bytes([self.rng.choice(b"xyz")]) * n
        return b"L" * self.rng.choice([4000, 4095, 4096, 9000, 17000])

    def elems(self, lo=1, hi=5):
        return [self.elem() for _ in range(self.rng.randint(lo, hi))]

    def index(self):
        r = self.rng.random()
        if r < 0.8:
            return b"%d" % self.rng.randint(-25, 25)
        if r < 0.93:
            return self.rng.choice([b"9223372036854775807", b"-9223372036854775808",
                                    b"-9223372036854775807", b"1000000", b"-1000000"])
        return self.rng.choice(BAD_INTS)

    def count(self):
        r = self.rng.random()
        if r < 0.75:
            return b"%d" % self.rng.randint(0, 8)
        if r < 0.85:
            return self.rng.choice([b"9223372036854775807", b"-1", b"-9223372036854775808"])
        return self.rng.choice(BAD_INTS)

    def side(self):
        return self.rng.choice(SIDES) if self.rng.random() < 0.95 else self.rng.choice(BAD_SIDES)

    def timeout(self):
        r = self.rng.random()
        if r < 0.9:
            return self.rng.choice([b"0", b"1", b"0.5", b"100", b"3.5"])
        return self.rng.choice([b"-1", b"abc", b"", b"nan", b"-0.5"])

    def keys(self, lo=1, hi=3):
        return [self.key() for _ in range(self.rng.randint(lo, hi))]

    def mpop_tail(self, keys):
        args = [b"%d" % len(keys)] + keys + [self.side()]
        r = self.rng.random()
        if r < 0.1:
            args[0] = self.rng.choice([b"0", b"-1", b"abc", b"%d" % (len(keys) + 1),
                                       b"9223372036854775807"])
        if r > 0.4:
            args += [self.rng.choice([b"COUNT", b"count"]), self.count()]
        if self.rng.random() < 0.05:
            args += self.rng.choice([[b"COUNT", b"1"], [b"extra"], [b"COUNT"]])
        return args

    # Each returns (args, blocking_info) where blocking_info is None or
    # (keys that would serve it, index of the timeout argument).
    def make(self, name):
        g = self
        k = g.key
        if name in ("lpush", "rpush", "lpushx", "rpushx"):
            return [name.upper().encode(), k()] + g.elems(), None
        if name in ("lpop", "rpop"):
            args = [name.upper().encode(), k()]
            if g.rng.random() < 0.5:
                args.append(g.count())
            return args, None
        if name == "llen":
            return [b"LLEN", k()], None
        if name == "lrange":
            return [b"LRANGE", k(), g.index(), g.index()], None
        if name == "lindex":
            return [b"LINDEX", k(), g.index()], None
        if name == "lset":
            return [b"LSET", k(), g.index(), g.elem()], None
        if name == "linsert":
            where = g.rng.choice([b"BEFORE", b"AFTER", b"before", b"after"])
            if g.rng.random() < 0.05:
                where = b"middle"
            return [b"LINSERT", k(), where, g.hot(), g.elem()], None
        if name == "lrem":
            return [b"LREM", k(), g.count() if g.rng.random() < 0.3 else
                    b"%d" % g.rng.randint(-3, 3), g.hot()], None
        if name == "ltrim":
            return [b"LTRIM", k(), g.index(), g.index()], None
        if name == "lpos":
            args = [b"LPOS", k(), g.hot()]
            for _ in range(g.rng.randint(0, 3)):
                opt = g.rng.choice([b"RANK", b"COUNT", b"MAXLEN", b"rank", b"count", b"maxlen"])
                if g.rng.random() < 0.03:
                    opt = b"bogus"
                if opt.upper() == b"RANK":
                    val = g.rng.choice([b"1", b"2", b"-1", b"-2", b"3", b"0",
                                        b"-9223372036854775808", b"9223372036854775807",
                                        b"abc"])
                elif g.rng.random() < 0.8:
                    val = b"%d" % g.rng.randint(0, 6)
                else:
                    val = g.count()
                args += [opt, val] if g.rng.random() < 0.97 else [opt]
            return args, None
        if name == "rpoplpush":
            return [b"RPOPLPUSH", k(), k()], None
        if name == "lmove":
            return [b"LMOVE", k(), k(), g.side(), g.side()], None
        if name == "lmpop":
            return [b"LMPOP"] + g.mpop_tail(g.keys()), None
        if name in ("blpop", "brpop"):
            keys = g.keys()
            args = [name.upper().encode()] + keys + [g.timeout()]
            return args, (keys, len(args) - 1)
        if name == "blmove":
            src = k()
            return [b"BLMOVE", src, k(), g.side(), g.side(), g.timeout()], ([src], 5)
        if name == "brpoplpush":
            src = k()
            return [b"BRPOPLPUSH", src, k(), g.timeout()], ([src], 3)
        if name == "blmpop":
            keys = g.keys()
            return [b"BLMPOP", g.timeout()] + g.mpop_tail(keys), (keys, 1)
        if name == "set":
            key = k() if g.rng.random() < 0.25 else g.rng.choice(OTHER_KEYS)
            return [b"SET", key, g.elem()], None
        if name == "get":
            return [b"GET", k()], None
        if name == "del":
            return [b"DEL"] + g.keys(), None
        if name == "expire":
            return [b"EXPIRE", k(), b"%d" % g.rng.randint(10**6, 10**7)], None
        if name == "persist":
            return [b"PERSIST", k()], None
        if name == "rename":
            return [b"RENAME", k(), k()], None
        if name == "copy":
            return [b"COPY", k(), k()] + ([b"REPLACE"] if g.rng.random() < 0.5 else []), None
        if name == "type":
            return [b"TYPE", k()], None
        if name == "exists":
            return [b"EXISTS"] + g.keys(), None
        if name == "arity":
            cmd = g.rng.choice([b"LPUSH", b"LPOP", b"LRANGE", b"LINSERT", b"LMOVE", b"BLPOP",
                                b"BLMOVE", b"LMPOP", b"BLMPOP", b"LPOS", b"LSET", b"LTRIM",
                                b"LREM", b"RPOPLPUSH", b"BRPOPLPUSH", b"LLEN", b"LINDEX"])
            n = g.rng.randint(0, 2)
            return [cmd] + [k() for _ in range(n)], None
        if name == "config":
            return [b"CONFIG", b"SET", b"list-max-listpack-size", g.rng.choice(FILLS)], None
        raise AssertionError(name)


class Pair:
    """The two servers, driven in lockstep."""

    def __init__(self, rm, ref):
        self.rm = RespConn(rm.port)
        self.ref = RespConn(ref.port)
        self.log = []

    def close(self):
        self.rm.close()
        self.ref.close()

    def both(self, args):
        a = self.rm.call_raw(*args)
        b = self.ref.call_raw(*args)
        self.log.append(args)
        if a != b:
            tail = "\n".join(repr(x) for x in self.log[-15:])
            pytest.fail("reply mismatch for %r\nringmaster: %r\nredis:      %r\nlast commands:\n%s"
                        % (args, a, b, tail))
        return b

    def check_digest(self, where):
        a = self.rm.call_raw("DEBUG", "DIGEST")
        b = self.ref.call_raw("DEBUG", "DIGEST")
        if a != b:
            details = []
            for key in KEYS:
                details.append("%r: rm=%r ref=%r" % (
                    key, self.rm.call("DEBUG", "DIGEST-VALUE", key),
                    self.ref.call("DEBUG", "DIGEST-VALUE", key)))
                details.append("    rm=%r\n    ref=%r" % (
                    self.rm.call("LRANGE", key, 0, -1) if self.ref.call("TYPE", key) == b"list"
                    else None,
                    self.ref.call("LRANGE", key, 0, -1) if self.ref.call("TYPE", key) == b"list"
                    else None))
            pytest.fail("DEBUG DIGEST differs %s: %r vs %r\n%s\nlast: %r"
                        % (where, a, b, "\n".join(details), self.log[-10:]))

    def check_keys(self):
        """Per key: the value, the encoding and the DUMP payload, whose
        bytes hold the quicklist's nodes: they must split where Redis's
        do."""
        for key in KEYS:
            for cmd in (("DEBUG", "DIGEST-VALUE", key), ("OBJECT", "ENCODING", key),
                        ("TYPE", key), ("LLEN", key), ("DUMP", key)):
                self.both(list(cmd))


def _run_blocking(pair, rng, args, info):
    """Run a blocking command so that it answers at once: when none of its
    keys exists, either inside MULTI (where it never blocks) or with its
    timeout replaced by 10 ms (when it was a valid one)."""
    keys, tidx = info
    if pair.ref.call("EXISTS", *keys):
        pair.both(args)
        return
    if rng.random() < 0.8:
        pair.both([b"MULTI"])
        pair.both(args)
        pair.both([b"EXEC"])
        return
    t = args[tidx]
    try:
        ok = float(t) >= 0 and t.strip() == t and t not in (b"nan",)
    except ValueError:
        ok = False
    if ok:
        args = list(args)
        args[tidx] = b"0.01"
    pair.both(args)


def run_sequence(pair, seed):
    rng = random.Random(seed)
    gen = Gen(rng)
    pair.both([b"FLUSHALL"])
    pair.both([b"CONFIG", b"SET", b"list-max-listpack-size", rng.choice(FILLS)])
    # DUMP payloads are compared for their nodes: without LZF, whose
    # output depends on the compressor's state (liblzf does not even clear
    # its hash table), not on the value.
    pair.both([b"CONFIG", b"SET", b"rdbcompression", b"no"])
    done = 0
    while done < COMMANDS_PER_SEED:
        name = gen.pick()
        if name == "multi":
            pair.both([b"MULTI"])
            for _ in range(rng.randint(1, 5)):
                sub = rng.choice([n for n in gen.names if n not in ("multi", "config", "grow")])
                args, _ = gen.make(sub)
                pair.both(args)
                done += 1
            pair.both([b"EXEC"] if rng.random() < 0.9 else [b"DISCARD"])
        elif name == "grow":
            # Bulk pushes: nodes split and lists reach many nodes.
            key = gen.key()
            for _ in range(rng.randint(5, 20)):
                pair.both([b"RPUSH" if rng.random() < 0.5 else b"LPUSH", key] + gen.elems(5, 30))
                done += 1
        else:
            args, info = gen.make(name)
            if info is not None:
                _run_blocking(pair, rng, args, info)
            else:
                pair.both(args)
            done += 1
        if done % DIGEST_EVERY < 6:
            pair.check_digest("after %d commands" % done)
            pair.check_keys()
    pair.check_digest("at the end")
    pair.check_keys()


@pytest.fixture(scope="module")
def pair(module_servers):
    p = Pair(module_servers.ringmaster(), module_servers.redis())
    yield p
    p.close()


@pytest.mark.parametrize("seed", _seeds())
def test_random_list_commands(pair, seed):
    pair.log = []
    run_sequence(pair, seed)


def test_big_lists_and_lrange(pair):
    """Long lists spanning many nodes: ranges, trims and removals across
    node boundaries, compared whole."""
    rng = random.Random(4242)
    gen = Gen(rng)
    pair.both([b"FLUSHALL"])
    for fill in (b"-2", b"5", b"-1"):
        pair.both([b"CONFIG", b"SET", b"list-max-listpack-size", fill])
        pair.both([b"DEL", b"big"])
        for _ in range(rmtest.scaled(60, 10)):
            pair.both([b"RPUSH", b"big"] + [gen.elem() for _ in range(50)])
        for _ in range(rmtest.scaled(150, 20)):
            op = rng.random()
            a, b = rng.randint(-3000, 3000), rng.randint(-3000, 3000)
            if op < 0.4:
                pair.both([b"LRANGE", b"big", b"%d" % a, b"%d" % b])
            elif op < 0.5:
                pair.both([b"LTRIM", b"big", b"%d" % rng.randint(0, 3), b"%d" % -rng.randint(1, 4)])
            elif op < 0.6:
                pair.both([b"LREM", b"big", b"%d" % rng.randint(-4, 4), gen.elem()])
            elif op < 0.7:
                pair.both([b"LINSERT", b"big", rng.choice([b"BEFORE", b"AFTER"]), gen.elem(),
                           gen.elem()])
            elif op < 0.8:
                pair.both([b"LSET", b"big", b"%d" % a, gen.elem()])
            elif op < 0.9:
                pair.both([b"LPOS", b"big", gen.elem(), b"RANK", b"%d" % rng.choice([1, -1, 2]),
                           b"COUNT", b"0"])
            else:
                pair.both([rng.choice([b"LPOP", b"RPOP"]), b"big", b"%d" % rng.randint(1, 120)])
        pair.both([b"LRANGE", b"big", b"0", b"-1"])
        pair.check_digest("big list, fill %r" % fill)


def test_encoding_is_quicklist_for_every_size(pair):
    """Redis 7.0 reports every list as a quicklist, whatever its size."""
    pair.both([b"FLUSHALL"])
    pair.both([b"CONFIG", b"SET", b"list-max-listpack-size", b"-2"])
    pair.both([b"RPUSH", b"small", b"a"])
    pair.both([b"OBJECT", b"ENCODING", b"small"])
    pair.both([b"RPUSH", b"large"] + [b"x" * 100] * 500)
    pair.both([b"OBJECT", b"ENCODING", b"large"])
    pair.both([b"LTRIM", b"large", b"0", b"0"])
    pair.both([b"OBJECT", b"ENCODING", b"large"])


@pytest.mark.parametrize("fill", [b"-1", b"-2", b"5"])
def test_node_layout_matches_redis(pair, fill):
    """Pushes, LINSERTs on both sides of a pivot, LSETs and LREMs of
    distinct, incompressible elements of many lengths: after every command
    the list's DUMP (without LZF) is Redis's, so every node fills, splits
    and merges where Redis's does (merges may pass the size level by up to
    4 bytes, as Redis's estimate lets them)."""
    rng = random.Random(int(fill) + 4400)
    alphabet = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
    pair.both([b"CONFIG", b"SET", b"rdbcompression", b"no"])
    pair.both([b"CONFIG", b"SET", b"list-max-listpack-size", fill])
    try:
        for trial in range(rmtest.scaled(12, 3)):
            pair.both([b"DEL", b"nodes"])
            elems = []
            for step in range(rng.randint(100, 500)):
                n = rng.choice([1, 5, 10, 20, 60, 63, 64, 70, 200, 300])
                v = bytes(rng.choice(alphabet) for _ in range(n)) + b"%d.%d" % (trial, step)
                op = rng.random()
                if op < 0.55 or not elems:
                    where = b"RPUSH" if rng.random() < 0.7 else b"LPUSH"
                    pair.both([where, b"nodes", v])
                    elems.insert(len(elems) if where == b"RPUSH" else 0, v)
                elif op < 0.85:
                    i = rng.randrange(len(elems))
                    side = rng.choice([b"BEFORE", b"AFTER"])
                    pair.both([b"LINSERT", b"nodes", side, elems[i], v])
                    elems.insert(i if side == b"BEFORE" else i + 1, v)
                elif op < 0.95:
                    i = rng.randrange(len(elems))
                    pair.both([b"LSET", b"nodes", str(i).encode(), v])
                    elems[i] = v
                else:
                    i = rng.randrange(len(elems))
                    pair.both([b"LREM", b"nodes", b"1", elems.pop(i)])
                pair.both([b"DUMP", b"nodes"])
    finally:
        pair.both([b"CONFIG", b"SET", b"rdbcompression", b"yes"])
        pair.both([b"CONFIG", b"SET", b"list-max-listpack-size", b"-2"])
