"""Differential test of the bitmap commands against real redis-server 7.0.

A seeded generator sends SETBIT GETBIT BITCOUNT BITPOS BITOP BITFIELD and
BITFIELD_RO, mixed with the string commands that make the values they meet
(SET of integers, binary and empty strings, APPEND, SETRANGE, DEL, EXPIRE)
and a list key for WRONGTYPE, over a few keys. Offsets stay small (the
strings stay under a few hundred bytes) except for arguments meant to be
refused. Ranges are drawn around the string's length in bytes and bits,
negative and reversed; BITFIELD gets random sequences of GET/SET/INCRBY
with every OVERFLOW mode, widths from 1 to 64 and "#" offsets.

bits_differ compares each reply byte for byte, the dirty counter (what
propagates), the keyspace notifications, and DEBUG DIGEST; at the end of a
seed each key's GET, OBJECT ENCODING and TTL are compared too.
RM_DIFF_SEEDS=5,9 reruns only those seeds.
"""

import random

import pytest

import rmtest
from bits_differ import Differ, seeds

COMMANDS_PER_SEED = rmtest.scaled(5000)
DEFAULT_SEEDS = [7101, 7102, 7103, 7104, 7105, 7106]
KEYS = [b"b0", b"b1", b"b2", b"b3", b"missing", b"lst"]
FUTURE_S = 4_000_000_000



class Generator:
    def __init__(self, rng):
        self.r = rng

    def key(self):
        return self.r.choice(KEYS)

    def num(self, lo, hi):
        return b"%d" % self.r.randint(lo, hi)

    def offset(self):
        r = self.r.random()
        if r < 0.85:
            return self.num(0, 400)
        return self.r.choice([b"-1", b"x", b"", b"4294967296", b"1.5", b" 3", b"+3",
                              b"9223372036854775807", b"#3", b"007"])

    def index(self):
        r = self.r.random()
        if r < 0.7:
            return self.num(-60, 60)
        if r < 0.9:
            return self.num(-500, 500)
        return self.r.choice([b"9223372036854775807", b"-9223372036854775808", b"x",
                              b"99999999999999999999", b"-0"])

    def unit(self):
        return self.r.choice([b"BIT", b"BYTE", b"bit", b"byte", b"BITS", b""])

    def value(self):
        return self.r.choice([
            b"", b"0", b"12345", b"-1", b"9223372036854775807", b"\xff\x00\xff",
            b"foobar", bytes(self.r.randrange(256) for _ in range(self.r.randint(1, 40))),
            b"\xff" * self.r.randint(1, 20), b"\x00" * self.r.randint(1, 20)])

    def range_args(self, lengths):
        """start, end, unit and a stray argument, the first n of them."""
        n = self.r.choice(lengths)
        args = [self.index(), self.index(), self.unit(), b"extra"]
        return args[:n]

    def bf_type(self):
        r = self.r.random()
        if r < 0.9:
            sign = self.r.choice([b"i", b"u"])
            width = self.r.choice([1, 2, 3, 5, 7, 8, 9, 15, 16, 31, 32, 33, 62, 63, 64])
            return sign + b"%d" % width
        return self.r.choice([b"u64", b"i65", b"i0", b"x8", b"I8", b"", b"u", b"i-1"])

    def bf_offset(self):
        if self.r.random() < 0.3:
            return b"#%d" % self.r.randint(0, 20)
        return self.offset() if self.r.random() < 0.1 else self.num(0, 300)

    def bf_int(self):
        r = self.r.random()
        if r < 0.6:
            return self.num(-300, 300)
        return self.r.choice([b"9223372036854775807", b"-9223372036854775808", b"255",
                              b"256", b"-129", b"127", b"4294967295", b"x", b"1.0"])

    def bitfield(self, ro):
        args = [b"BITFIELD_RO" if ro else b"BITFIELD", self.key()]
        for _ in range(self.r.randint(0, 5)):
            r = self.r.random()
            if r < 0.35 or (ro and r < 0.9):
                args += [b"GET", self.bf_type(), self.bf_offset()]
            elif r < 0.6:
                args += [b"SET", self.bf_type(), self.bf_offset(), self.bf_int()]
            elif r < 0.85:
                args += [b"INCRBY", self.bf_type(), self.bf_offset(), self.bf_int()]
            elif r < 0.97:
                args += [b"OVERFLOW", self.r.choice([b"WRAP", b"SAT", b"FAIL", b"fail",
                                                     b"sat", b"nope"])]
            else:
                args += [self.r.choice([b"GET", b"SET", b"INCRBY", b"OVERFLOW", b"FOO"])]
        return args

    def next(self):
        r = self.r.random()
        k = self.key()
        if r < 0.22:
            bit = self.r.choice([b"0", b"1"] * 6 + [b"2", b"-1", b"x", b""])
            return [b"SETBIT", k, self.offset(), bit]
        if r < 0.30:
            return [b"GETBIT", k, self.offset()]
        if r < 0.40:
            return [b"BITCOUNT", k] + self.range_args([0, 2, 2, 3, 1, 4])
        if r < 0.52:
            bit = self.r.choice([b"0", b"1"] * 5 + [b"2", b"x"])
            return [b"BITPOS", k, bit] + self.range_args([0, 1, 2, 3, 3, 4])
        if r < 0.60:
            op = self.r.choice([b"AND", b"OR", b"XOR", b"NOT", b"and", b"not", b"NAND"])
            n = 1 if op.upper() == b"NOT" and self.r.random() < 0.8 else self.r.randint(1, 3)
            return [b"BITOP", op, self.key()] + [self.key() for _ in range(n)]
        if r < 0.75:
            return self.bitfield(False)
        if r < 0.80:
            return self.bitfield(True)
        if r < 0.88:
            return [b"SET", k, self.value()]
        if r < 0.90:
            return [b"APPEND", k, self.value()]
        if r < 0.92:
            return [b"SETRANGE", k, self.num(0, 40), self.value()]
        if r < 0.94:
            return [b"DEL", k]
        if r < 0.96:
            return [b"EXPIRE", k, b"%d" % FUTURE_S]
        if r < 0.975:
            return [b"RPUSH", b"lst", b"x"]
        if r < 0.99:
            return [b"GET", k]
        return self.r.choice([[b"SETBIT", k, b"1"], [b"GETBIT", k], [b"BITOP", b"AND", k],
                              [b"BITPOS", k], [b"BITCOUNT"], [b"BITFIELD"]])


@pytest.fixture(scope="module")
def pair(module_servers):
    return module_servers.ringmaster(), module_servers.redis()



@pytest.mark.parametrize("seed", seeds(DEFAULT_SEEDS))
def test_random_bit_commands(seed, pair):
    differ = Differ(seed, *pair)
    try:
        differ.run_random(Generator(random.Random(seed)), COMMANDS_PER_SEED, KEYS, [[b"TTL"]])
    finally:
        differ.close()


def test_fixed_bit_script(pair):
    """Readable edge cases: ranges at the ends, overflow modes, BITOP NOT."""
    script = [
        [b"SETBIT", b"k", b"7", b"1"], [b"SETBIT", b"k", b"7", b"1"], [b"SETBIT", b"k", b"7", b"0"],
        [b"SETBIT", b"k", b"100", b"0"], [b"GET", b"k"], [b"OBJECT", b"ENCODING", b"k"],
        [b"BITCOUNT", b"k"], [b"BITCOUNT", b"k", b"0", b"-1", b"BIT"],
        [b"BITCOUNT", b"k", b"-1", b"-2"], [b"BITCOUNT", b"k", b"1"],
        [b"BITCOUNT", b"nokey", b"a", b"b", b"c"],
        [b"BITPOS", b"k", b"0"], [b"BITPOS", b"k", b"1", b"0", b"-1", b"BIT"],
        [b"BITPOS", b"k", b"0", b"0", b"-1"], [b"SET", b"ones", b"\xff\xff"],
        [b"BITPOS", b"ones", b"0"], [b"BITPOS", b"ones", b"0", b"0", b"-1"],
        [b"BITPOS", b"ones", b"0", b"3", b"BIT"], [b"BITPOS", b"ones", b"0", b"3", b"9", b"BIT"],
        [b"BITPOS", b"nokey", b"0"], [b"BITPOS", b"nokey", b"1"], [b"BITPOS", b"k", b"2"],
        [b"SET", b"n", b"12345"], [b"GETBIT", b"n", b"2"], [b"BITCOUNT", b"n"],
        [b"SETBIT", b"n", b"0", b"1"], [b"OBJECT", b"ENCODING", b"n"], [b"GET", b"n"],
        [b"BITFIELD", b"f", b"SET", b"u8", b"0", b"255", b"INCRBY", b"u8", b"0", b"10",
         b"OVERFLOW", b"SAT", b"INCRBY", b"u8", b"0", b"1000", b"OVERFLOW", b"FAIL",
         b"INCRBY", b"u8", b"0", b"1", b"GET", b"i8", b"0", b"GET", b"u4", b"#1"],
        [b"BITFIELD", b"f", b"OVERFLOW", b"FAIL", b"SET", b"i8", b"#5", b"200"], [b"GET", b"f"],
        [b"BITFIELD", b"f", b"INCRBY", b"i64", b"0", b"9223372036854775807",
         b"INCRBY", b"i64", b"0", b"2", b"OVERFLOW", b"SAT", b"INCRBY", b"i64", b"0",
         b"9223372036854775807"],
        [b"BITFIELD_RO", b"f", b"GET", b"u63", b"3"],
        [b"BITFIELD_RO", b"f", b"SET", b"u8", b"0", b"1"], [b"BITFIELD", b"f"],
        [b"BITFIELD", b"f", b"GET", b"u64", b"0"], [b"BITFIELD", b"f", b"OVERFLOW", b"x"],
        [b"BITOP", b"NOT", b"dest", b"k"], [b"GET", b"dest"],
        [b"BITOP", b"NOT", b"dest", b"k", b"f"], [b"BITOP", b"AND", b"dest", b"nokey"],
        [b"EXISTS", b"dest"], [b"BITOP", b"XOR", b"dest", b"k", b"f", b"ones"], [b"GET", b"dest"],
        [b"LPUSH", b"l", b"a"], [b"SETBIT", b"l", b"0", b"1"], [b"BITOP", b"OR", b"d", b"l"],
        [b"BITCOUNT", b"l", b"x", b"y"], [b"SETBIT", b"k", b"4294967296", b"1"],
        [b"SETBIT", b"k", b"1", b"-1"], [b"GETBIT", b"k", b"-1"],
    ]
    differ = Differ("fixed", *pair, digest_every=10)
    try:
        differ.reset()
        for args in script:
            differ.run_one(args)
        differ.final_check(KEYS, [[b"TTL"]])
    finally:
        differ.close()
