"""Differential test of the sorted set commands against real redis-server 7.0.

Seeded random sequences of every sorted set command (ZADD with all its
options, ZINCRBY, ZREM, ZCARD, ZSCORE, ZMSCORE, ZRANK, ZREVRANK, the ZRANGE
family and ZRANGESTORE, ZCOUNT, ZLEXCOUNT, ZREMRANGEBY*, the pops, blocking
pops, ZMPOP/BZMPOP, ZUNION/ZINTER/ZDIFF and their STORE forms, ZINTERCARD,
ZSCAN, ZRANDMEMBER), with edge-case arguments (bad floats, "(", "-inf",
"+inf", "-0", huge integers, binary and long members), over a small key
space shared with sets and strings so that types collide, inside and
outside MULTI. Each seed runs under its own zset-max-listpack-* settings so
both encodings and the conversions between them are exercised.

Replies must be byte-identical, except where Redis itself is not
deterministic:
  - ZSCAN order follows the hash table: each side is scanned to completion
    and the (member, score) pairs compared as sorted lists;
  - ZRANDMEMBER: compared exactly when the answer is determined (a positive
    count at least the size returns the whole set, from the top), otherwise
    checked per side: reply length, distinctness when asked, membership
    and scores;
  - a lex range over members with different scores is answered by a walk
    (listpack) or a skiplist search whose shape is random in Redis: such
    commands are only sent to keys whose scores are all equal, or which
    OBJECT ENCODING says are listpacks.
After every few hundred commands and at the end of each sequence the DEBUG
DIGEST of both servers must match; DEBUG DIGEST-VALUE and OBJECT ENCODING
are among the random commands. A second test drives real blocking: clients
blocked in BZPOPMIN/BZPOPMAX/BZMPOP and woken by other clients' writes.
RM_ZSET_SEEDS=5,9 reruns chosen seeds.
"""

import collections
import os
import random
import time

import pytest

import rmtest
from rmtest import RespConn, RespError

COMMANDS_PER_SEED = rmtest.scaled(2600)
DIGEST_EVERY = 200
DEFAULT_SEEDS = [7001, 7002, 7003, 7004, 7005, 7006, 7007, 7008, 7009, 7010]
# (entries, value) thresholds, one per seed in turn.
LISTPACK_LIMITS = [(128, 64), (4, 64), (16, 8), (128, 64), (1, 64), (8, 16), (0, 64),
                   (32, 3), (128, 64), (6, 64)]

ZKEYS = [b"z0", b"z1", b"z2", b"z3", b"z4", b"{z}5"]
LEXKEYS = [b"lex0", b"lex1"]  # every score is 0
SETKEYS = [b"s0", b"s1"]
OTHERKEYS = [b"str", b"nokey"]
ALLKEYS = ZKEYS + LEXKEYS + SETKEYS + OTHERKEYS

MEMBERS = ([bytes([c]) for c in b"abcdefghijklmnop"] +
           [b"1", b"2", b"10", b"-5", b"007", b"3.0", b"", b"a b", b"\x00bin\xff", b"\r\n",
            b"member:%d" % 1, b"member:%d" % 22, b"x" * 10, b"y" * 63, b"z" * 64, b"w" * 65,
            b"v" * 200])
SCORES = [b"0", b"1", b"2", b"-1", b"3", b"1.5", b"-0", b"+0", b"0.1", b"-2.5", b"inf", b"-inf",
          b"+inf", b"1e17", b"4e18", b"5e18", b"-1e300", b"123456789", b"0x10", b"1e-320",
          b"17179869184", b".5", b"5."]
BAD_FLOATS = [b"abc", b"nan", b"", b" 1", b"1 ", b"1e400", b"--1", b"(1", b"1.2.3"]
SCORE_BOUNDS = [b"-inf", b"+inf", b"inf", b"(-inf", b"(inf", b"0", b"1", b"(1", b"1.5", b"(1.5",
                b"2", b"(2", b"-1", b"3", b"(3", b"1e17", b"", b"(", b" 2", b"0x1", b"1e400"]
BAD_BOUNDS = [b"abc", b"nan", b"(nan", b"1x", b"((1"]
LEX_BOUNDS = [b"-", b"+", b"[a", b"(a", b"[c", b"(c", b"[f", b"(f", b"[", b"(", b"[m", b"(p",
              b"[member:1", b"[\x00bin\xff", b"[z"]
BAD_LEX = [b"a", b"", b"+a", b"-a", b"{a"]
INTS = [b"0", b"1", b"2", b"-1", b"-2", b"3", b"5", b"-3", b"10", b"-100", b"100"]
BAD_INTS = [b"1.5", b"abc", b"", b"9223372036854775808", b" 1"]
COUNTS = [b"1", b"2", b"3", b"5", b"10", b"100", b"0"]


def _seeds():
    env = os.environ.get("RM_ZSET_SEEDS", "")
    if env:
        return [int(s) for s in env.split(",") if s.strip()]
    return DEFAULT_SEEDS


class Step:
    __slots__ = ("args", "mode", "key")

    def __init__(self, args, mode="exact", key=None):
        self.args = [a if isinstance(a, bytes) else str(a).encode() for a in args]
        self.mode = mode
        self.key = key

    def __repr__(self):
        return " ".join(repr(a)[1:] for a in self.args)


class Generator:
    """Random sorted set commands, reproducible per seed."""

    # Commands not sent inside MULTI: their replies are compared per side.
    MULTI_UNSAFE = {"zscan", "zrandmember", "lexmixed"}

    def __init__(self, rng):
        self.rng = rng
        table = [
            ("zadd", 16), ("zadd_bulk", 1.2), ("zadd_opts", 6), ("zadd_lex", 4), ("zincrby", 3), ("zrem", 4),
            ("zcard", 2), ("zscore", 3), ("zmscore", 2), ("zrank", 3), ("zrange", 6),
            ("zrange_score", 5), ("zrange_lex", 3), ("zrangebyscore", 4), ("zrangebylex", 3),
            ("zrevrange", 2), ("zrangestore", 3), ("zcount", 3), ("zlexcount", 2),
            ("zremrange", 3), ("zpop", 4), ("bzpop", 2), ("zmpop", 3), ("zsetop", 5),
            ("zsetop_store", 4), ("zintercard", 1.5), ("zscan", 1.5), ("zrandmember", 2),
            ("lexmixed", 2), ("sadd", 2), ("other", 3), ("object", 2), ("digest_value", 1),
            ("multi", 1.5), ("arity", 0.5),
        ]
        self.names = [n for n, _ in table]
        self.weights = [w for _, w in table]

    # -- arguments ----------------------------------------------------------

    def pick(self, seq):
        return self.rng.choice(seq)

    def zkey(self):
        r = self.rng.random()
        if r < 0.82:
            return self.pick(ZKEYS)
        if r < 0.90:
            return self.pick(LEXKEYS)
        return self.pick(SETKEYS + OTHERKEYS)

    def anykey(self):
        return self.pick(ALLKEYS)

    def member(self):
        if self.rng.random() < 0.2:
            return b"m%d" % self.rng.randint(0, 299)  # grows sets past 128
        return self.pick(MEMBERS)

    def score(self):
        r = self.rng.random()
        if r < 0.45:
            return b"%d" % self.rng.randint(-5, 20)
        if r < 0.97:
            return self.pick(SCORES)
        return self.pick(BAD_FLOATS)

    def bound(self):
        return self.pick(SCORE_BOUNDS) if self.rng.random() < 0.97 else self.pick(BAD_BOUNDS)

    def lex(self):
        return self.pick(LEX_BOUNDS) if self.rng.random() < 0.96 else self.pick(BAD_LEX)

    def index(self):
        return self.pick(INTS) if self.rng.random() < 0.97 else self.pick(BAD_INTS)

    def limit(self):
        if self.rng.random() < 0.7:
            return []
        off = self.pick([b"0", b"0", b"1", b"2", b"-1", b"5"])
        cnt = self.pick([b"1", b"2", b"3", b"-1", b"0", b"10"])
        if self.rng.random() < 0.03:
            cnt = self.pick(BAD_INTS)
        return [self.pick([b"LIMIT", b"limit"]), off, cnt]

    def pairs(self, lo=1, hi=4, score=None):
        out = []
        for _ in range(self.rng.randint(lo, hi)):
            out += [score() if score else self.score(), self.member()]
        return out

    def keys_list(self, lo=1, hi=3):
        return [self.zkey() for _ in range(self.rng.randint(lo, hi))]

    # -- commands -----------------------------------------------------------

    def next(self, in_multi):
        while True:
            name = self.rng.choices(self.names, self.weights)[0]
            if in_multi and name in self.MULTI_UNSAFE:
                continue
            if name == "multi" and in_multi:
                continue
            return getattr(self, "gen_" + name)()

    def gen_zadd(self):
        key = self.pick(ZKEYS) if self.rng.random() < 0.93 else self.anykey()
        if key in LEXKEYS:
            return self.gen_zadd_lex()
        return Step([b"ZADD", key] + self.pairs())

    def gen_zadd_bulk(self):
        """Many members at once, so that sets pass the default 128 entries."""
        args = [b"ZADD", self.pick(ZKEYS)]
        for _ in range(self.rng.randint(20, 70)):
            args += [b"%d" % self.rng.randint(-50, 50), b"m%d" % self.rng.randint(0, 299)]
        return Step(args)

    def gen_zadd_opts(self):
        key = self.pick(ZKEYS) if self.rng.random() < 0.95 else self.anykey()
        opts = [o for o in (b"NX", b"XX", b"GT", b"LT", b"CH", b"INCR") if self.rng.random() < 0.25]
        self.rng.shuffle(opts)
        pairs = self.pairs(1, 1) if b"INCR" in opts and self.rng.random() < 0.9 else self.pairs()
        if key in LEXKEYS:
            return self.gen_zadd_lex()
        if self.rng.random() < 0.03:
            pairs = pairs[:-1]  # odd number of arguments
        return Step([b"ZADD", key] + opts + pairs)

    def gen_zadd_lex(self):
        opts = [o for o in (b"NX", b"XX", b"CH") if self.rng.random() < 0.15]
        if b"NX" in opts and b"XX" in opts:
            opts.remove(b"XX")
        return Step([b"ZADD", self.pick(LEXKEYS)] + opts + self.pairs(1, 5, lambda: b"0"))

    def gen_zincrby(self):
        key = self.pick(ZKEYS) if self.rng.random() < 0.95 else self.pick(SETKEYS + OTHERKEYS)
        return Step([b"ZINCRBY", key, self.score(), self.member()])

    def gen_zrem(self):
        return Step([b"ZREM", self.zkey()] + [self.member() for _ in range(self.rng.randint(1, 4))])

    def gen_zcard(self):
        return Step([b"ZCARD", self.zkey()])

    def gen_zscore(self):
        return Step([b"ZSCORE", self.zkey(), self.member()])

    def gen_zmscore(self):
        return Step([b"ZMSCORE", self.zkey()] + [self.member() for _ in range(self.rng.randint(1, 4))])

    def gen_zrank(self):
        return Step([self.pick([b"ZRANK", b"ZREVRANK"]), self.zkey(), self.member()])

    def zrange_opts(self, store=False):
        opts = []
        if self.rng.random() < 0.3:
            opts.append(b"REV")
        if not store and self.rng.random() < 0.5:
            opts.append(b"WITHSCORES")
        if self.rng.random() < 0.04:
            opts.append(self.pick([b"BYSCORE", b"BYLEX", b"FOO"]))
        self.rng.shuffle(opts)
        return opts

    def gen_zrange(self):
        args = [b"ZRANGE", self.zkey(), self.index(), self.index()] + self.zrange_opts()
        if self.rng.random() < 0.05:
            args += self.limit()
        return Step(args)

    def gen_zrange_score(self):
        opts = self.zrange_opts() + [b"BYSCORE"] + self.limit()
        return Step([b"ZRANGE", self.zkey(), self.bound(), self.bound()] + opts)

    def gen_zrange_lex(self):
        opts = [o for o in self.zrange_opts() if o != b"WITHSCORES" or self.rng.random() < 0.1]
        return Step([b"ZRANGE", self.pick(LEXKEYS), self.lex(), self.lex(), b"BYLEX"] + opts +
                    self.limit())

    def gen_zrangebyscore(self):
        cmd = self.pick([b"ZRANGEBYSCORE", b"ZREVRANGEBYSCORE"])
        opts = ([b"WITHSCORES"] if self.rng.random() < 0.5 else []) + self.limit()
        if self.rng.random() < 0.03:
            opts.append(self.pick([b"REV", b"BYSCORE"]))
        return Step([cmd, self.zkey(), self.bound(), self.bound()] + opts)

    def gen_zrangebylex(self):
        cmd = self.pick([b"ZRANGEBYLEX", b"ZREVRANGEBYLEX"])
        opts = self.limit()
        if self.rng.random() < 0.05:
            opts.append(b"WITHSCORES")
        return Step([cmd, self.pick(LEXKEYS), self.lex(), self.lex()] + opts)

    def gen_zrevrange(self):
        opts = [b"WITHSCORES"] if self.rng.random() < 0.5 else []
        return Step([b"ZREVRANGE", self.zkey(), self.index(), self.index()] + opts)

    def gen_zrangestore(self):
        dst, src = self.pick(ZKEYS + [b"nokey", b"str"]), self.zkey()
        kind = self.rng.random()
        if kind < 0.5:
            args = [dst, src, self.index(), self.index()] + self.zrange_opts(store=True)
        elif kind < 0.85:
            args = [dst, src, self.bound(), self.bound(), b"BYSCORE"] + self.limit()
        else:
            args = [dst, self.pick(LEXKEYS), self.lex(), self.lex(), b"BYLEX"] + self.limit()
        if self.rng.random() < 0.03:
            args.append(b"WITHSCORES")
        return Step([b"ZRANGESTORE"] + args)

    def gen_zcount(self):
        return Step([b"ZCOUNT", self.zkey(), self.bound(), self.bound()])

    def gen_zlexcount(self):
        return Step([b"ZLEXCOUNT", self.pick(LEXKEYS), self.lex(), self.lex()])

    def gen_zremrange(self):
        r = self.rng.random()
        if r < 0.35:
            return Step([b"ZREMRANGEBYRANK", self.zkey(), self.index(), self.index()])
        if r < 0.75:
            return Step([b"ZREMRANGEBYSCORE", self.zkey(), self.bound(), self.bound()])
        return Step([b"ZREMRANGEBYLEX", self.pick(LEXKEYS), self.lex(), self.lex()])

    def gen_zpop(self):
        args = [self.pick([b"ZPOPMIN", b"ZPOPMAX"]), self.zkey()]
        if self.rng.random() < 0.5:
            args.append(self.pick(COUNTS + [b"-1", b"abc"]))
        if self.rng.random() < 0.02:
            args.append(b"1")
        return Step(args)

    def gen_bzpop(self):
        keys = self.keys_list(1, 3)
        if self.rng.random() < 0.6:
            # Mostly keys that exist, so that nothing waits; else a short wait.
            return Step([self.pick([b"BZPOPMIN", b"BZPOPMAX"])] + keys +
                        [self.pick([b"0.01", b"0.01", b"-1", b"abc"])])
        count = [b"COUNT", self.pick(COUNTS[:-1] + [b"0", b"-1"])] if self.rng.random() < 0.6 else []
        return Step([b"BZMPOP", self.pick([b"0.01", b"0.01", b"-1", b"x"]), b"%d" % len(keys)] +
                    keys + [self.pick([b"MIN", b"MAX", b"max", b"mid"])] + count)

    def gen_zmpop(self):
        keys = self.keys_list(1, 3)
        n = b"%d" % len(keys)
        if self.rng.random() < 0.05:
            n = self.pick([b"0", b"-1", b"abc", b"9"])
        args = [b"ZMPOP", n] + keys + [self.pick([b"MIN", b"MAX", b"min", b"max", b"mid"])]
        if self.rng.random() < 0.6:
            args += [b"COUNT", self.pick(COUNTS + [b"-1", b"abc"])]
        if self.rng.random() < 0.03:
            args += [b"COUNT", b"1"]
        return Step(args)

    def setop_tail(self, nkeys, cmd):
        tail = []
        if cmd not in (b"ZDIFF", b"ZDIFFSTORE") or self.rng.random() < 0.05:
            if self.rng.random() < 0.4:
                ws = [self.pick([b"1", b"2", b"-1", b"0.5", b"0", b"inf", b"-inf", b"1e300"])
                      for _ in range(nkeys)]
                if self.rng.random() < 0.05:
                    ws[-1] = self.pick(BAD_FLOATS)
                tail += [b"WEIGHTS"] + ws
            if self.rng.random() < 0.4:
                tail += [b"AGGREGATE", self.pick([b"SUM", b"MIN", b"MAX", b"max", b"avg"])]
        return tail

    def setop_keys(self):
        return [self.pick(ZKEYS + ZKEYS + SETKEYS + LEXKEYS + [b"nokey", b"str"])
                for _ in range(self.rng.randint(1, 4))]

    def gen_zsetop(self):
        cmd = self.pick([b"ZUNION", b"ZINTER", b"ZDIFF"])
        keys = self.setop_keys()
        n = b"%d" % len(keys)
        if self.rng.random() < 0.04:
            n = self.pick([b"0", b"-1", b"x", b"9"])
        tail = self.setop_tail(len(keys), cmd)
        if self.rng.random() < 0.6:
            tail.append(b"WITHSCORES")
        return Step([cmd, n] + keys + tail)

    def gen_zsetop_store(self):
        cmd = self.pick([b"ZUNIONSTORE", b"ZINTERSTORE", b"ZDIFFSTORE"])
        keys = self.setop_keys()
        n = b"%d" % len(keys)
        if self.rng.random() < 0.04:
            n = self.pick([b"0", b"-1", b"x", b"9"])
        tail = self.setop_tail(len(keys), cmd)
        if self.rng.random() < 0.03:
            tail.append(b"WITHSCORES")
        return Step([cmd, self.pick(ZKEYS + [b"str", b"nokey"]), n] + keys + tail)

    def gen_zintercard(self):
        keys = self.setop_keys()
        n = b"%d" % len(keys)
        if self.rng.random() < 0.05:
            n = self.pick([b"0", b"x", b"9"])
        tail = [b"LIMIT", self.pick([b"0", b"1", b"2", b"-1", b"x"])] if self.rng.random() < 0.5 else []
        return Step([b"ZINTERCARD", n] + keys + tail)

    def gen_zscan(self):
        extra = []
        if self.rng.random() < 0.4:
            extra += [b"COUNT", self.pick([b"1", b"2", b"5", b"100", b"0", b"x"])]
        if self.rng.random() < 0.4:
            extra += [b"MATCH", self.pick([b"*", b"a*", b"?", b"*e*", b"[a-f]", b"member:*", b"x"])]
        if self.rng.random() < 0.03:
            extra += [b"TYPE", b"zset"]
        return Step([b"ZSCAN", self.zkey(), b"0"] + extra, mode="zscan")

    def gen_zrandmember(self):
        args = [b"ZRANDMEMBER", self.zkey()]
        if self.rng.random() < 0.8:
            args.append(self.pick([b"1", b"2", b"3", b"5", b"50", b"500", b"0", b"-1", b"-3",
                                   b"-20", b"abc"]))
            if self.rng.random() < 0.5:
                args.append(self.pick([b"WITHSCORES", b"WITHSCORES", b"foo"]))
        return Step(args, mode="zrandmember", key=args[1])

    def gen_lexmixed(self):
        """A lex command on a key with mixed scores: only while a listpack."""
        key = self.pick(ZKEYS)
        r = self.rng.random()
        if r < 0.4:
            args = [self.pick([b"ZRANGEBYLEX", b"ZREVRANGEBYLEX"]), key, self.lex(), self.lex()]
            args += self.limit()
        elif r < 0.7:
            args = [b"ZLEXCOUNT", key, self.lex(), self.lex()]
        else:
            args = [b"ZREMRANGEBYLEX", key, self.lex(), self.lex()]
        return Step(args, mode="lexmixed", key=key)

    def gen_sadd(self):
        cmd = self.pick([b"SADD", b"SADD", b"SREM"])
        return Step([cmd, self.pick(SETKEYS)] + [self.member() for _ in range(self.rng.randint(1, 3))])

    def gen_other(self):
        key = self.anykey()
        r = self.rng.random()
        if r < 0.25:
            return Step([b"SET", b"str" if self.rng.random() < 0.7 else self.pick(ZKEYS), b"v"])
        if r < 0.45:
            return Step([b"DEL", key])
        if r < 0.55:
            return Step([b"EXPIRE", key, b"100000"])
        if r < 0.6:
            return Step([b"PERSIST", key])
        if r < 0.7:
            return Step([b"TYPE", key])
        if r < 0.8:
            return Step([b"EXISTS", key])
        return Step([b"GET", key])

    def gen_object(self):
        return Step([b"OBJECT", b"ENCODING", self.anykey()])

    def gen_digest_value(self):
        return Step([b"DEBUG", b"DIGEST-VALUE"] + [self.anykey() for _ in range(self.rng.randint(1, 3))])

    def gen_multi(self):
        return Step([b"MULTI"])

    def gen_arity(self):
        cmd = self.pick([b"ZADD", b"ZINCRBY", b"ZREM", b"ZCARD", b"ZSCORE", b"ZMSCORE", b"ZRANK",
                         b"ZRANGE", b"ZRANGESTORE", b"ZCOUNT", b"ZLEXCOUNT", b"ZREMRANGEBYRANK",
                         b"ZPOPMIN", b"BZPOPMIN", b"ZMPOP", b"BZMPOP", b"ZUNIONSTORE", b"ZUNION",
                         b"ZINTERCARD", b"ZSCAN", b"ZRANDMEMBER", b"zrevrangebyscore"])
        extra = 0 if cmd == b"ZRANDMEMBER" else self.rng.randint(0, 1)
        return Step([cmd] + [b"z0"] * extra)


def zscan_all(conn, key, extra):
    """(member, score) pairs of a ZSCAN to completion, or the first error."""
    cursor = b"0"
    pairs = []
    for _ in range(100000):
        reply = conn.call(b"ZSCAN", key, cursor, *extra)
        if isinstance(reply, RespError):
            return reply
        cursor, flat = reply
        pairs += list(zip(flat[0::2], flat[1::2]))
        if cursor == b"0":
            return sorted(set(pairs))
    raise AssertionError("ZSCAN did not finish")


class Side:
    def __init__(self, label, server):
        self.label = label
        self.server = server
        self.conn = RespConn(server.port)
        self.control = RespConn(server.port)

    def close(self):
        self.conn.close()
        self.control.close()


class Differ:
    def __init__(self, seed, rm_server, ref_server):
        self.seed = seed
        self.rm = Side("ringmaster", rm_server)
        self.ref = Side("redis", ref_server)
        self.history = collections.deque(maxlen=25)

    def close(self):
        self.rm.close()
        self.ref.close()

    def fail(self, index, step, what, rm_reply, ref_reply):
        lines = ["seed %d, command #%d %r: %s" % (self.seed, index, step, what),
                 "  ringmaster: %r" % (rm_reply,),
                 "  redis:      %r" % (ref_reply,),
                 "commands before it (newest last):"]
        lines += ["  #%d %r -> %r" % h for h in self.history]
        lines.append("rerun only this seed with RM_ZSET_SEEDS=%d" % self.seed)
        pytest.fail("\n".join(lines), pytrace=False)

    def both(self, args, conn="conn"):
        for side in (self.rm, self.ref):
            getattr(side, conn).send_command(*args)
        out = []
        for side in (self.rm, self.ref):
            try:
                out.append(getattr(side, conn).read_reply())
            except (OSError, ValueError, rmtest.ConnectionClosed) as e:
                pytest.fail("seed %d: no valid reply from %s to %r: %r\n%s" %
                            (self.seed, side.label, args, e, side.server.log_tail()), pytrace=False)
        return out

    def check_digest(self, index, step):
        (rm, _), (ref, _) = self.both([b"DEBUG", b"DIGEST"], "control")
        if rm != ref:
            diffs = []
            for k in ALLKEYS:
                (a, _), (b, _) = self.both([b"DEBUG", b"DIGEST-VALUE", k], "control")
                if a != b:
                    diffs.append(k)
            self.fail(index, step, "DEBUG DIGEST differs (keys %r)" % diffs, rm, ref)

    def setup(self, entries, value):
        for args in ([b"FLUSHALL"],
                     [b"CONFIG", b"SET", b"zset-max-listpack-entries", b"%d" % entries],
                     [b"CONFIG", b"SET", b"zset-max-listpack-value", b"%d" % value]):
            (rm, _), (ref, _) = self.both(args, "control")
            assert rm == ref, (args, rm, ref)

    def run(self, count):
        gen = Generator(random.Random(self.seed))
        in_multi, queued = False, 0
        for index in range(count):
            if in_multi and (queued >= 6 or gen.rng.random() < 0.2):
                step = Step([gen.rng.choice([b"EXEC", b"EXEC", b"EXEC", b"DISCARD"])])
            else:
                step = gen.next(in_multi)
            result = self.execute(index, step)
            self.history.append((index, step, result))
            name = step.args[0].upper()
            if in_multi and name in (b"EXEC", b"DISCARD"):
                in_multi = False
            elif not in_multi and name == b"MULTI":
                in_multi, queued = True, 0
            elif in_multi:
                queued += 1
            if index % DIGEST_EVERY == DIGEST_EVERY - 1 and not in_multi:
                self.check_digest(index, step)
        if in_multi:
            self.both([b"DISCARD"])
        self.check_digest(count, Step([b"(end of sequence)"]))

    def execute(self, index, step):
        if step.mode == "zscan":
            key, extra = step.args[1], step.args[3:]
            rm, ref = zscan_all(self.rm.conn, key, extra), zscan_all(self.ref.conn, key, extra)
            if rm != ref:
                self.fail(index, step, "ZSCAN to completion differs", rm, ref)
            return ref
        if step.mode == "lexmixed":
            (rm, _), (ref, _) = self.both([b"OBJECT", b"ENCODING", step.key])
            if rm != ref:
                self.fail(index, step, "OBJECT ENCODING differs", rm, ref)
            if ref != b"$8\r\nlistpack\r\n":
                return b"(skipped: not a listpack)"
        (rm_raw, rm_val), (ref_raw, ref_val) = self.both(step.args)
        if step.mode == "zrandmember":
            self.check_zrandmember(index, step, rm_raw, rm_val, ref_raw, ref_val)
            return ref_raw
        if rm_raw != ref_raw:
            self.fail(index, step, "replies differ", rm_raw, ref_raw)
        return ref_raw

    def check_zrandmember(self, index, step, rm_raw, rm_val, ref_raw, ref_val):
        args = step.args
        if len(args) == 2 or isinstance(ref_val, RespError) or not ref_val:
            if len(args) == 2 and ref_val is not None and not isinstance(ref_val, RespError):
                contents = dict(self.zset_contents(self.ref, step.key))
                if rm_val not in contents or ref_val not in contents:
                    self.fail(index, step, "ZRANDMEMBER returned a non-member", rm_raw, ref_raw)
                return
            if rm_raw != ref_raw:
                self.fail(index, step, "replies differ", rm_raw, ref_raw)
            return
        count = int(args[2])
        withscores = len(args) == 4
        contents = self.zset_contents(self.ref, step.key)
        if contents != self.zset_contents(self.rm, step.key):
            self.fail(index, step, "sets differ", None, None)
        if count >= len(contents):
            if rm_raw != ref_raw:
                self.fail(index, step, "whole-set ZRANDMEMBER differs", rm_raw, ref_raw)
            return
        scores = dict(contents)
        for label, val in (("ringmaster", rm_val), ("redis", ref_val)):
            val = rmtest.flat_pairs(val)
            items = list(zip(val[0::2], val[1::2])) if withscores else [(m, None) for m in val]
            ok = len(items) == abs(count)
            ok = ok and all(m in scores and (s is None or s == scores[m]) for m, s in items)
            if count > 0:
                ok = ok and len(set(m for m, _ in items)) == len(items)
            if not ok:
                self.fail(index, step, "ZRANDMEMBER reply of %s is not valid" % label, rm_raw, ref_raw)

    @staticmethod
    def zset_contents(side, key):
        flat = rmtest.flat_pairs(side.control.call(b"ZRANGE", key, b"0", b"-1", b"WITHSCORES"))
        return list(zip(flat[0::2], flat[1::2]))


@pytest.fixture(scope="module")
def pair(module_servers):
    return module_servers.ringmaster(), module_servers.redis()


@pytest.mark.parametrize("seed", _seeds())
def test_random_zset_commands(seed, pair):
    rm_server, ref_server = pair
    differ = Differ(seed, rm_server, ref_server)
    try:
        limits = LISTPACK_LIMITS[DEFAULT_SEEDS.index(seed) % len(LISTPACK_LIMITS)] \
            if seed in DEFAULT_SEEDS else LISTPACK_LIMITS[seed % len(LISTPACK_LIMITS)]
        differ.setup(*limits)
        differ.run(COMMANDS_PER_SEED)
    finally:
        differ.close()


# -- blocking pops ----------------------------------------------------------

def wait_blocked(conn, n):
    """Wait until INFO reports n blocked clients (no fixed sleeps)."""
    deadline = time.monotonic() + 5.0 * rmtest.SLOWDOWN
    while time.monotonic() < deadline:
        for line in conn.call(b"INFO", b"clients").split(b"\r\n"):
            if line.startswith(b"blocked_clients:") and int(line.split(b":")[1]) == n:
                return
        time.sleep(0.003)
    raise AssertionError("expected %d blocked clients" % n)


def blocking_script(port):
    """Blocked clients woken by other clients; returns every reply in order."""
    out = []
    a, b, c = RespConn(port), RespConn(port), RespConn(port)
    try:
        a.call(b"FLUSHALL")
        a.call(b"CONFIG", b"SET", b"zset-max-listpack-entries", b"128")
        # 1. BZPOPMIN on two keys, the second gets data.
        a.send_command(b"BZPOPMIN", b"k1", b"k2", b"0")
        wait_blocked(b, 1)
        out.append(b.call_raw(b"ZADD", b"k2", b"5", b"x", b"1", b"y"))
        out.append(a.read_reply()[0])
        # 2. Two clients on one key: FIFO, one element each.
        a.send_command(b"BZPOPMAX", b"k3", b"0")
        wait_blocked(b, 1)
        c.send_command(b"BZMPOP", b"0", b"2", b"k4", b"k3", b"MIN", b"COUNT", b"5")
        wait_blocked(b, 2)
        out.append(b.call_raw(b"ZADD", b"k3", b"1", b"a"))
        out.append(a.read_reply()[0])
        out.append(b.call_raw(b"ZADD", b"k3", b"1", b"a", b"2", b"b", b"3", b"c"))
        out.append(c.read_reply()[0])
        # 3. A key of another type does not wake; DEL then ZADD does.
        a.send_command(b"BZPOPMIN", b"k5", b"0")
        wait_blocked(b, 1)
        out.append(b.call_raw(b"SET", b"k5", b"str"))
        out.append(b.call_raw(b"DEL", b"k5"))
        out.append(b.call_raw(b"ZADD", b"k5", b"7", b"m"))
        out.append(a.read_reply()[0])
        # 4. Woken after EXEC, seeing the transaction's final state.
        a.send_command(b"BZMPOP", b"0", b"1", b"k6", b"MAX")
        wait_blocked(b, 1)
        out.append(b.call_raw(b"MULTI"))
        out.append(b.call_raw(b"ZADD", b"k6", b"1", b"p", b"2", b"q"))
        out.append(b.call_raw(b"ZADD", b"k6", b"3", b"r"))
        out.append(b.call_raw(b"EXEC"))
        out.append(a.read_reply()[0])
        # 5. Served from the key that became ready first, not the first
        #    key of the command.
        a.send_command(b"BZPOPMIN", b"k7", b"k8", b"0")
        wait_blocked(b, 1)
        out.append(b.call_raw(b"MULTI"))
        out.append(b.call_raw(b"ZADD", b"k8", b"1", b"x"))
        out.append(b.call_raw(b"ZADD", b"k7", b"1", b"y"))
        out.append(b.call_raw(b"EXEC"))
        out.append(a.read_reply()[0])
        # 6. Timeouts, and no blocking inside MULTI.
        out.append(a.call_raw(b"BZPOPMIN", b"none", b"0.05"))
        out.append(a.call_raw(b"BZMPOP", b"0.05", b"1", b"none", b"MIN"))
        out.append(a.call_raw(b"MULTI"))
        out.append(a.call_raw(b"BZPOPMAX", b"none", b"0"))
        out.append(a.call_raw(b"EXEC"))
        # 7. Served at once when data is there; WRONGTYPE when a key is wrong.
        out.append(a.call_raw(b"BZPOPMIN", b"none", b"k6", b"0"))
        out.append(a.call_raw(b"BZPOPMIN", b"k2", b"0"))
        out.append(a.call_raw(b"SET", b"str", b"v"))
        out.append(a.call_raw(b"BZPOPMIN", b"str", b"k2", b"0"))
        out.append(a.call_raw(b"DEBUG", b"DIGEST"))
    finally:
        for conn in (a, b, c):
            conn.close()
    return out


def test_blocking_pops(pair):
    rm_server, ref_server = pair
    rm, ref = blocking_script(rm_server.port), blocking_script(ref_server.port)
    for i, (x, y) in enumerate(zip(rm, ref)):
        assert x == y, "blocking step %d: ringmaster %r, redis %r" % (i, x, y)
    assert len(rm) == len(ref)


def test_encodings_and_digests(pair):
    """Fixed cases: encodings after each kind of write, and digests."""
    rm_server, ref_server = pair
    script = [
        [b"FLUSHALL"],
        [b"CONFIG", b"SET", b"zset-max-listpack-entries", b"4"],
        [b"CONFIG", b"SET", b"zset-max-listpack-value", b"10"],
        [b"ZADD", b"a", b"1", b"x", b"-0", b"y", b"1e17", b"z", b"4e18", b"w"],
        [b"OBJECT", b"ENCODING", b"a"],
        [b"ZSCAN", b"a", b"0"],
        [b"DEBUG", b"DIGEST-VALUE", b"a"],
        [b"ZADD", b"a", b"5e18", b"v"],
        [b"OBJECT", b"ENCODING", b"a"],
        [b"DEBUG", b"DIGEST-VALUE", b"a"],
        [b"ZADD", b"b", b"1", b"a-very-long-member"],
        [b"OBJECT", b"ENCODING", b"b"],
        # Counts at the edges of the range Redis accepts (LONG_MIN has no
        # positive twin; WITHSCORES halves the range).
        [b"ZRANDMEMBER", b"a", b"-9223372036854775808"],
        [b"ZRANDMEMBER", b"a", b"-4611686018427387904", b"WITHSCORES"],
        [b"ZRANDMEMBER", b"a", b"4611686018427387904", b"WITHSCORES"],
        [b"ZRANDMEMBER", b"a", b"-4611686018427387904", b"WITHSCORES", b"x"],
        [b"ZRANDMEMBER", b"a", b"9223372036854775807"],
        [b"ZADD", b"c"] + [b"1", b"m"] * 20,
        [b"OBJECT", b"ENCODING", b"c"],
        [b"ZUNIONSTORE", b"d", b"2", b"a", b"c", b"WEIGHTS", b"1", b"0"],
        [b"ZRANGE", b"d", b"0", b"-1", b"WITHSCORES"],
        [b"OBJECT", b"ENCODING", b"d"],
        [b"ZREMRANGEBYRANK", b"a", b"0", b"1"],
        [b"OBJECT", b"ENCODING", b"a"],
        [b"ZUNIONSTORE", b"e", b"1", b"a"],
        [b"OBJECT", b"ENCODING", b"e"],
        [b"ZRANGESTORE", b"f", b"a", b"0", b"-1"],
        [b"OBJECT", b"ENCODING", b"f"],
        [b"ZRANGESTORE", b"f", b"a", b"0", b"2"],
        [b"OBJECT", b"ENCODING", b"f"],
        [b"ZRANGESTORE", b"f", b"a", b"-inf", b"+inf", b"BYSCORE"],
        [b"OBJECT", b"ENCODING", b"f"],
        [b"SADD", b"s", b"1", b"2", b"x"],
        [b"ZINTERSTORE", b"g", b"2", b"s", b"a", b"WEIGHTS", b"2", b"3"],
        [b"ZRANGE", b"g", b"0", b"-1", b"WITHSCORES"],
        [b"DEBUG", b"DIGEST"],
        [b"CONFIG", b"SET", b"zset-max-listpack-entries", b"128"],
        [b"CONFIG", b"SET", b"zset-max-listpack-value", b"64"],
    ]
    with RespConn(rm_server.port) as rm, RespConn(ref_server.port) as ref:
        for args in script:
            x, y = rm.call_raw(*args), ref.call_raw(*args)
            assert x == y, "%r: ringmaster %r, redis %r" % (args, x, y)
