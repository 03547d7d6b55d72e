"""Differential test of LCS against real redis-server 7.0.

Seeded random strings over small alphabets (so that long and many common
runs exist), integers, empty and missing keys, and a key of another type;
LCS with every combination of LEN, IDX, MINMATCHLEN and WITHMATCHLEN, plus
malformed options. Every reply is compared byte for byte.
RM_DIFF_SEEDS=5,6 reruns only those seeds.
"""

import random

import pytest

import rmtest
from rmtest import RespConn

COMMANDS_PER_SEED = rmtest.scaled(1500)
DEFAULT_SEEDS = [1701, 1702, 1703]
KEYS = [b"a", b"b", b"c", b"missing", b"list"]


def random_value(rng):
    r = rng.random()
    if r < 0.1:
        return b"%d" % rng.randint(-1000, 100000)
    if r < 0.15:
        return b""
    alphabet = rng.choice([b"ab", b"abc", b"ACGT", b"abcdefgh", bytes(range(256))])
    return bytes(rng.choice(alphabet) for _ in range(rng.randint(1, rng.choice([8, 40, 200]))))


def random_lcs(rng):
    args = [b"LCS", rng.choice(KEYS), rng.choice(KEYS)]
    opts = []
    if rng.random() < 0.5:
        opts.append(b"IDX")
    if rng.random() < 0.2:
        opts.append(b"LEN")
    if rng.random() < 0.4:
        opts.append(b"WITHMATCHLEN")
    if rng.random() < 0.4:
        opts += [b"MINMATCHLEN", rng.choice([b"0", b"1", b"2", b"3", b"5", b"-1", b"x"])]
    if rng.random() < 0.03:
        opts.append(rng.choice([b"bogus", b"MINMATCHLEN"]))
    rng.shuffle(opts) if rng.random() < 0.1 else None
    return args + [o.lower() if rng.random() < 0.2 else o for o in opts]


@pytest.fixture(scope="module")
def pair(module_servers):
    return module_servers.ringmaster(), module_servers.redis()


@pytest.mark.parametrize("seed", rmtest.diff_seeds(DEFAULT_SEEDS))
def test_lcs_matches_redis(pair, seed):
    rng = random.Random(seed)
    conns = [RespConn(srv.port) for srv in pair]
    try:
        for c in conns:
            assert c.call(b"FLUSHALL") == b"OK"
            c.call(b"RPUSH", b"list", b"x")
        for index in range(COMMANDS_PER_SEED):
            if rng.random() < 0.3:
                args = [b"SET", rng.choice(KEYS[:3]), random_value(rng)]
            else:
                args = random_lcs(rng)
            replies = []
            for c in conns:
                c.send_command(*args)
            for c in conns:
                replies.append(c.read_reply()[0])
            assert replies[0] == replies[1], "seed %d #%d %r" % (seed, index, args)
    finally:
        for c in conns:
            c.close()


def test_lcs_fixed_cases(pair):
    rm = pair[0]
    with RespConn(rm.port) as c:
        c.call(b"MSET", b"key1", b"ohmytext", b"key2", b"mynewtext")
        assert c.call(b"LCS", b"key1", b"key2") == b"mytext"
        assert c.call(b"LCS", b"key1", b"key2", b"LEN") == 6
        assert c.call(b"LCS", b"key1", b"key2", b"IDX", b"MINMATCHLEN", b"4",
                      b"WITHMATCHLEN") == [b"matches", [[[4, 7], [5, 8], 4]], b"len", 6]
        c.call(b"CONFIG", b"SET", b"proto-max-bulk-len", b"1mb")
        c.call(b"SET", b"big", b"x" * 1000)
        err = c.call_raw(b"LCS", b"big", b"big")
        c.call(b"CONFIG", b"SET", b"proto-max-bulk-len", b"512mb")
        assert err.startswith(b"-ERR Insufficient memory, transient memory for LCS exceeds")


def test_lcs_idx_is_a_map_in_resp3(pair):
    conns = [RespConn(srv.port) for srv in pair]
    try:
        for c in conns:
            c.call(b"HELLO", b"3")
            c.call(b"MSET", b"key1", b"ohmytext", b"key2", b"mynewtext")
        for args in ([b"LCS", b"key1", b"key2", b"IDX", b"WITHMATCHLEN"],
                     [b"LCS", b"key1", b"key2", b"IDX", b"MINMATCHLEN", b"3"],
                     [b"LCS", b"key1", b"missing", b"IDX"]):
            rm, ref = (c.call_raw(*args) for c in conns)
            assert rm == ref, args
            assert rm.startswith(b"%2\r\n")
    finally:
        for c in conns:
            c.close()
