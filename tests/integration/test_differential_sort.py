"""Differential test of SORT and SORT_RO against real redis-server 7.0.

A seeded generator fills lists, sets and sorted sets with numbers, words
and odd strings, and the weight keys their BY and GET patterns name
(strings w_<elem>, hashes h_<elem> with a field f, strings d_<elem>), then
sends SORT / SORT_RO with every option (BY pattern, BY hash field, BY a
constant, GET #, GET pattern, GET hash field, LIMIT, ASC/DESC, ALPHA, STORE)
to both servers. Weights are sometimes missing or not numbers, so the
"can't be converted into double" error and the missing-weight rules are
exercised.

Comparison: byte for byte, errors included, except where Redis itself
leaves the order to its set's hash table (a set sorted BY a constant, or
ALPHA BY a pattern with equal weights): then the replies are compared as
multisets, or only for their length when a LIMIT cuts such an order. On a
list, ALPHA BY with equal weights is compared byte for byte, with and
without LIMIT (Redis's partial quicksort, then glibc's qsort). STORE
is only generated where the stored order is defined. After each STORE the
destination is compared with LRANGE; DEBUG DIGEST every few hundred
commands and at the end of each seed. RM_DIFF_SEEDS=3,4 reruns those seeds.
"""

import collections
import random

import pytest

import rmtest
from rmtest import RespConn, RespError

COMMANDS_PER_SEED = rmtest.scaled(4000)
DIGEST_EVERY = 150
DEFAULT_SEEDS = [1601, 1602, 1603]

ELEMENTS = ([b"%d" % i for i in range(-3, 25)] +
            [b"3.5", b"-0.25", b"1e3", b"007", b"", b"apple", b"Banana", b"cherry", b"date",
             b"Zed", b"x y", b"inf", b"-inf", b"0x1f", b" 12", b"12 ", b"\xc3\xa9t\xc3\xa9"])
SORTED = [b"l0", b"l1", b"s0", b"s1", b"z0", b"z1"]
WEIGHTS = [b"1", b"2", b"2", b"-7", b"3.25", b"1e2", b"100", b"0", b"", b"-inf", b"5", b"9",
           b"11", b"0.5", b"4", b"-3", b"6", b"8"]
# No overflowing weight ("1e400"): Redis reads errno after strtod without
# clearing it first, so one ERANGE fails later SORTs of that connection
# until some other call resets errno; Ringmaster fails only the SORT whose
# weight overflows.
BAD_WEIGHTS = [b"abc", b"nan", b"zz", b"AA", b"12 "]


class Step:
    def __init__(self, args, mode="exact", store=None):
        self.args = args
        self.mode = mode
        self.store = store

    def __repr__(self):
        return repr(self.args)


class Generator:
    def __init__(self, rng):
        self.rng = rng

    def elem(self):
        return self.rng.choice(ELEMENTS)

    def fill(self):
        key = self.rng.choice(SORTED + [b"str"])
        elems = [self.elem() for _ in range(self.rng.randint(1, 12))]
        if key == b"str":
            return Step([b"SET", key, self.elem()])
        if key.startswith(b"l"):
            return Step([self.rng.choice([b"RPUSH", b"LPUSH"]), key] + elems)
        if key.startswith(b"s"):
            return Step([b"SADD", key] + elems)
        args = [b"ZADD", key]
        for e in elems:
            args += [self.rng.choice([b"1", b"2", b"-1.5", b"%d" % self.rng.randint(0, 9)]), e]
        return Step(args)

    def weight(self):
        e = self.elem()
        r = self.rng.random()
        if r < 0.45:
            bad = self.rng.random() < 0.04
            return Step([b"SET", b"w_" + e, self.rng.choice(BAD_WEIGHTS if bad else WEIGHTS)])
        if r < 0.75:
            return Step([b"HSET", b"h_" + e, b"f", self.rng.choice(WEIGHTS + BAD_WEIGHTS[:1])])
        if r < 0.9:
            return Step([b"SET", b"d_" + e, b"data-" + e])
        return Step([b"DEL", self.rng.choice([b"w_", b"w_", b"h_", b"d_"]) + e])

    def sort(self):
        rng = self.rng
        key = rng.choice(SORTED + [b"str", b"missing"])
        is_set = key.startswith(b"s") and key != b"str"
        hashed = is_set or key.startswith(b"z")  # initial order: a hash table's
        readonly = rng.random() < 0.25
        args = [b"SORT_RO" if readonly else b"SORT", key]
        by = None
        r = rng.random()
        if r < 0.3:
            by = b"w_*"
        elif r < 0.45:
            by = b"h_*->f"
        elif r < 0.55:
            by = rng.choice([b"nosort", b"w_", b"h_->f"])
        if by is not None:
            args += [b"BY", by]
        alpha = rng.random() < 0.4
        if alpha:
            args.append(b"ALPHA")
        if rng.random() < 0.4:
            args.append(rng.choice([b"ASC", b"DESC"]))
        limited = rng.random() < 0.35
        if limited:
            args += [b"LIMIT", b"%d" % rng.randint(-2, 8), b"%d" % rng.randint(-2, 8)]
        for _ in range(rng.choice([0, 0, 1, 2])):
            args += [b"GET", rng.choice([b"#", b"d_*", b"w_*", b"h_*->f", b"h_*->", b"nokey"])]
        constant = by is not None and b"*" not in by
        unordered = (is_set and constant) or (hashed and alpha and by is not None)
        store = None
        if not readonly and rng.random() < 0.3 and not (unordered and not constant):
            store = rng.choice([b"dst", b"l1", b"str"])
            args += [b"STORE", store]
            unordered = False  # STORE sorts a set ALPHA when BY is a constant
        if rng.random() < 0.03:
            args.insert(rng.randint(2, len(args)), rng.choice([b"bogus", b"LIMIT", b"STORE"]))
        mode = "exact"
        if unordered:
            mode = "cut" if limited else "multiset"
        return Step(args, mode, store)

    def next(self):
        r = self.rng.random()
        if r < 0.25:
            return self.fill()
        if r < 0.45:
            return self.weight()
        if r < 0.47:
            return Step([b"DEL", self.rng.choice(SORTED)])
        if r < 0.49:
            return Step([b"OBJECT", b"ENCODING", self.rng.choice(SORTED)])
        return self.sort()


class Differ:
    def __init__(self, seed, rm_server, ref_server):
        self.seed = seed
        self.rm = RespConn(rm_server.port)
        self.ref = RespConn(ref_server.port)
        self.history = collections.deque(maxlen=20)
        self.index = 0

    def close(self):
        self.rm.close()
        self.ref.close()

    def fail(self, step, what, rm, ref):
        lines = ["seed %d, command #%d %r: %s" % (self.seed, self.index, step, what),
                 "  ringmaster: %r" % (rm,), "  redis:      %r" % (ref,),
                 "commands before it (newest last):"]
        lines += ["  #%d %r -> %r" % h for h in self.history]
        lines.append("rerun only this seed with RM_DIFF_SEEDS=%d" % self.seed)
        pytest.fail("\n".join(lines), pytrace=False)

    def both_raw(self, args):
        self.rm.send_command(*args)
        self.ref.send_command(*args)
        return self.rm.read_reply(), self.ref.read_reply()

    def check_digest(self, step):
        (rm, _), (ref, _) = self.both_raw([b"DEBUG", b"DIGEST"])
        if rm != ref:
            self.fail(step, "DEBUG DIGEST differs", rm, ref)

    def execute(self, step):
        (rm_raw, rm_val), (ref_raw, ref_val) = self.both_raw(step.args)
        if rm_raw != ref_raw:
            errors = isinstance(rm_val, RespError), isinstance(ref_val, RespError)
            if step.mode == "multiset" and errors == (False, False):
                if sorted(rm_val, key=repr) != sorted(ref_val, key=repr):
                    self.fail(step, "replies differ as multisets", rm_raw, ref_raw)
            elif step.mode == "cut" and errors == (False, False):
                if len(rm_val) != len(ref_val):
                    self.fail(step, "reply lengths differ", rm_raw, ref_raw)
            else:
                self.fail(step, "replies differ", rm_raw, ref_raw)
        if step.store is not None:
            args = [b"LRANGE", step.store, b"0", b"-1"]
            (rm, _), (ref, _) = self.both_raw(args)
            if rm != ref:
                self.fail(step, "stored lists differ", rm, ref)
        return ref_raw

    def run(self, count):
        for conn in (self.rm, self.ref):
            assert conn.call(b"FLUSHALL") == b"OK"
        gen = Generator(random.Random(self.seed))
        for self.index in range(count):
            step = gen.next()
            result = self.execute(step)
            self.history.append((self.index, step, result[:120]))
            if self.index % DIGEST_EVERY == DIGEST_EVERY - 1:
                self.check_digest(step)
        self.check_digest("end of seed")


@pytest.fixture(scope="module")
def pair(module_servers):
    return module_servers.ringmaster(), module_servers.redis()


@pytest.mark.parametrize("seed", rmtest.diff_seeds(DEFAULT_SEEDS))
def test_sort_matches_redis(pair, seed):
    differ = Differ(seed, *pair)
    try:
        differ.run(COMMANDS_PER_SEED)
    finally:
        differ.close()


def test_sort_store_fixed_cases(pair):
    """A set stored BY a constant is sorted ALPHA (what lets a replica
    recompute it); an empty result deletes the destination."""
    for srv in pair:
        with RespConn(srv.port) as c:
            c.call(b"FLUSHALL")
            c.call(b"SADD", b"s", b"b", b"c", b"a", b"10", b"9")
            assert c.call(b"SORT", b"s", b"BY", b"nosort", b"STORE", b"d") == 5
            assert c.call(b"LRANGE", b"d", b"0", b"-1") == [b"10", b"9", b"a", b"b", b"c"]
            assert c.call(b"SORT", b"missing", b"STORE", b"d") == 0
            assert c.call(b"EXISTS", b"d") == 0


def test_alpha_by_ties_in_long_lists(pair):
    """Many equal weights in lists past the ninther threshold (40): the
    order Redis's partial quicksort leaves them in, and glibc's qsort's."""
    rng = random.Random(16)
    conns = [RespConn(srv.port) for srv in pair]
    try:
        for c in conns:
            c.call(b"FLUSHALL")
            for i in range(8):
                c.call(b"SET", b"w_e%d" % i, b"%d" % (i % 3))
        for length in (7, 8, 41, 100, 300):
            elems = [b"e%d" % rng.randint(0, 20) for _ in range(length)]
            for c in conns:
                c.call(b"DEL", b"tl")
                c.call(b"RPUSH", b"tl", *elems)
            for start, count in ((0, -1), (0, 5), (3, 10), (length // 2, 7), (length - 2, 9)):
                args = [b"SORT", b"tl", b"BY", b"w_*", b"ALPHA", b"LIMIT", b"%d" % start,
                        b"%d" % count, b"STORE", b"dst"]
                rm, ref = (c.call_raw(*args) for c in conns)
                assert rm == ref, args
                rm, ref = (c.call_raw(b"LRANGE", b"dst", b"0", b"-1") for c in conns)
                assert rm == ref, args
                args = args[:-2] + [b"DESC"]
                rm, ref = (c.call_raw(*args) for c in conns)
                assert rm == ref, args
    finally:
        for c in conns:
            c.close()
