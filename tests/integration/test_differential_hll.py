"""Differential test of the HyperLogLog commands against real redis-server 7.0.

The value of an HLL key is a string other servers read, so the test
compares the bytes themselves: a seeded generator sends PFADD (from one
element to batches of thousands, so sparse HLLs grow, split and merge their
opcodes and turn dense), PFCOUNT of one key (which writes the cached
cardinality) and of several, PFMERGE (sparse and dense sources, the
destination among them), PFDEBUG (ENCODING DECODE TODENSE GETREG) and
GET of every key involved, while CONFIG SET hll-sparse-max-bytes moves the
promotion point. Strings that are not HLLs, or are damaged ones (bad magic,
unknown encoding, a dense one cut short, a sparse one with opcodes
appended or overwritten) test the error paths.

bits_differ compares each reply byte for byte (GET included), the dirty
counter (what propagates: PFCOUNT's cache write too), the keyspace
notifications, and DEBUG DIGEST. RM_DIFF_SEEDS=5,9 reruns only those seeds.
"""

import random

import pytest

import rmtest
from bits_differ import Differ, seeds

COMMANDS_PER_SEED = rmtest.scaled(3000)
DEFAULT_SEEDS = [8101, 8102, 8103, 8104, 8105, 8106]
KEYS = [b"h0", b"h1", b"h2", b"h3", b"missing", b"str"]
SPARSE_MAX = [b"3000", b"3000", b"200", b"40", b"0", b"12000", b"1kb"]



class Generator:
    def __init__(self, rng):
        self.r = rng
        self.serial = 0

    def key(self):
        return self.r.choice(KEYS)

    def element(self):
        r = self.r.random()
        if r < 0.5:
            return b"e%d" % self.r.randint(0, 3000)
        if r < 0.6:
            return self.r.choice([b"", b"\x00", b"a" * 7, b"b" * 8, b"c" * 9, b"\xff" * 15])
        return bytes(self.r.randrange(256) for _ in range(self.r.randint(1, 24)))

    def fresh(self, n):
        self.serial += 1
        return [b"batch%d-%d" % (self.serial, i) for i in range(n)]

    def damaged(self):
        r = self.r.random()
        head = b"HYLL\x01\x00\x00\x00" + b"\x00" * 8
        if r < 0.2:
            return b"HYLX\x01\x00\x00\x00" + b"\x00" * 8 + b"\x7f\xff\x7f\xff"
        if r < 0.4:
            return b"HYLL\x02\x00\x00\x00" + b"\x00" * 8 + b"\x7f\xff\x7f\xff"
        if r < 0.55:
            return b"HYLL\x00\x00\x00\x00" + b"\x00" * (8 + self.r.randint(0, 20))
        if r < 0.7:
            return head + b"\x7f\xff\x7f\xfe"  # one register short
        if r < 0.85:
            return head + b"\x7f\xff\x7f\xff\x80"  # one register too many
        return head[:self.r.randint(0, 15)]

    def next(self):
        r = self.r.random()
        k = self.key()
        if r < 0.30:
            n = self.r.choice([0, 1, 1, 2, 3, 5, 10, 20])
            return [b"PFADD", k] + [self.element() for _ in range(n)]
        if r < 0.36:
            n = self.r.choice([100, 300, 700, 1500, 3000])
            return [b"PFADD", k] + self.fresh(n)
        if r < 0.50:
            return [b"PFCOUNT", k]
        if r < 0.56:
            return [b"PFCOUNT"] + [self.key() for _ in range(self.r.randint(2, 4))]
        if r < 0.63:
            return [b"PFMERGE", k] + [self.key() for _ in range(self.r.randint(0, 3))]
        if r < 0.75:
            return [b"GET", k]
        if r < 0.80:
            sub = self.r.choice([b"ENCODING", b"DECODE", b"TODENSE", b"encoding", b"NOPE"])
            return [b"PFDEBUG", sub, k]
        if r < 0.81:
            return [b"PFDEBUG", b"GETREG", k]
        if r < 0.84:
            return [b"SET", k, self.r.choice([b"foo", b"12", b"", b"x" * 50])]
        if r < 0.87:
            return [b"SET", k, self.damaged()]
        if r < 0.89:
            return [b"APPEND", k, self.r.choice([b"\x80", b"\x00", b"\x7f\xff", b"\xfc"])]
        if r < 0.91:
            return [b"SETRANGE", k, b"%d" % self.r.randint(0, 30), bytes([self.r.randrange(256)])]
        if r < 0.94:
            return [b"DEL", k]
        if r < 0.96:
            return [b"LPUSH", b"lst", b"x"] if self.r.random() < 0.5 else [b"PFADD", b"lst", b"a"]
        if r < 0.98:
            return [b"CONFIG", b"SET", b"hll-sparse-max-bytes", self.r.choice(SPARSE_MAX)]
        return self.r.choice([[b"PFADD"], [b"PFCOUNT"], [b"PFMERGE"], [b"PFDEBUG", b"ENCODING"],
                              [b"PFDEBUG", b"ENCODING", k, b"x"], [b"PFDEBUG", b"DECODE", k, b"x"],
                              [b"PFSELFTEST", b"x"]])


@pytest.fixture(scope="module")
def pair(module_servers):
    return module_servers.ringmaster(), module_servers.redis()



@pytest.mark.parametrize("seed", seeds(DEFAULT_SEEDS))
def test_random_hll_commands(seed, pair):
    differ = Differ(seed, *pair, digest_every=100)
    try:
        differ.both_ctl(b"CONFIG", b"SET", b"hll-sparse-max-bytes", b"3000")
        differ.run_random(Generator(random.Random(seed)), COMMANDS_PER_SEED, KEYS)
    finally:
        differ.close()


def test_hll_promotion_and_cache_bytes(pair):
    """Step by step: the sparse bytes, the cache, promotion at the limit."""
    differ = Differ("fixed", *pair, digest_every=5)
    try:
        differ.reset()
        differ.both_ctl(b"CONFIG", b"SET", b"hll-sparse-max-bytes", b"3000")
        script = [[b"PFADD", b"h"], [b"GET", b"h"], [b"PFCOUNT", b"h"], [b"GET", b"h"],
                  [b"PFADD", b"h", b"a", b"b", b"c"], [b"GET", b"h"], [b"PFCOUNT", b"h"],
                  [b"PFCOUNT", b"h"], [b"GET", b"h"], [b"PFADD", b"h", b"a"],
                  [b"PFDEBUG", b"DECODE", b"h"], [b"CONFIG", b"SET", b"hll-sparse-max-bytes", b"30"],
                  [b"PFADD", b"h", b"d"], [b"PFDEBUG", b"ENCODING", b"h"],
                  [b"PFADD", b"h", b"e", b"f", b"g"], [b"PFDEBUG", b"ENCODING", b"h"],
                  [b"GET", b"h"], [b"PFCOUNT", b"h"], [b"GET", b"h"], [b"PFADD", b"s", b"z"],
                  [b"PFMERGE", b"m", b"s", b"h"], [b"PFDEBUG", b"ENCODING", b"m"], [b"GET", b"m"],
                  [b"PFCOUNT", b"m", b"s", b"h"], [b"PFSELFTEST"],
                  [b"CONFIG", b"GET", b"hll-sparse-max-bytes"]]
        for args in script:
            differ.run_one(args)
        differ.both_ctl(b"CONFIG", b"SET", b"hll-sparse-max-bytes", b"3000")
        # Grow one HLL a few elements at a time through the promotion.
        for i in range(0, 3000, 25):
            differ.run_one([b"PFADD", b"big"] + [b"el%d" % j for j in range(i, i + 25)])
            differ.run_one([b"PFCOUNT", b"big"])
        differ.run_one([b"GET", b"big"])
        differ.final_check(KEYS)
    finally:
        differ.close()
