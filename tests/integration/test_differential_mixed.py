"""Differential test of every data type at once against real redis-server 7.0.

The per-type differential tests (test_differential_{core,list,hash,set,zset})
each drive one type over its own keys. This one reuses their generators and
their comparison logic, unchanged, but points all of them at ONE small key
space, so every command meets keys of every type: WRONGTYPE on each path,
type changes through DEL/RENAME/COPY/MOVE/SWAPDB/FLUSHDB, SET over an
aggregate, SMOVE/SINTERSTORE/SUNIONSTORE over lists and zsets,
ZUNIONSTORE/ZINTERSTORE/ZDIFFSTORE/ZRANGESTORE over sets and zsets (Redis
takes a plain set as a zset of score 1), LMOVE/LMPOP/RPOPLPUSH between keys
of any type, blocking pops on keys that exist (served or WRONGTYPE at once)
and on missing keys (timeout 0.001 or 0.01 s, or inside MULTI), expiry far in
the future or in the past (which deletes at once), MULTI/EXEC blocks mixing
all types, WATCH with a second connection, SELECT and the other databases.
A small generator of its own adds edge counts (LLONG_MIN, LONG_MAX/2 around
WITHSCORES/WITHVALUES) for ZRANDMEMBER, SRANDMEMBER, HRANDFIELD and the pops.

Each step is executed by the Differ of the type that generated it, sharing
this test's connections, so each nondeterministic reply is compared the way
its own test compares it (SCAN/KEYS sorted or to completion, SMEMBERS in
Redis's order only when defined, SPOP/SRANDMEMBER/HRANDFIELD/ZRANDMEMBER by
properties and the state re-synchronized, hash listpack order exactly).
What only the mixed key space can make nondeterministic is handled here:
  - a lex range over a skiplist zset whose scores differ (RENAME or COPY can
    now bring one under a lex key): Redis's answer depends on the random
    skiplist levels, so such a command is not sent (checked on the
    reference first; never generated inside MULTI);
  - the control connections that inspect state follow connection A's
    SELECT (never sent inside MULTI).
DEBUG DIGEST is compared every DIGEST_EVERY commands, after every EXEC, and
at the end of each sequence, followed by TYPE, OBJECT ENCODING, DEBUG
DIGEST-VALUE and EXPIRETIME of every key in databases 0-3.

Edge cases that once broke Ringmaster (ZRANDMEMBER with a count below
-LONG_MAX, or below -LONG_MAX/2 with WITHSCORES, hung the server; a blocking
pop with timeout 0.001 never timed out) are sent by the random sequences and
run one by one in test_known_edge_cases, each on a fresh server of either
kind (restarted after a hang), with a short timeout: any difference fails.

RM_DIFF_SEEDS=5,9 reruns only those seeds.
"""

import collections
import os
import random

import pytest

import rmtest
from rmtest import RespConn

import test_differential_core as core
import test_differential_hash as hashes
import test_differential_list as lists
import test_differential_set as sets
import test_differential_zset as zsets

# Eight seeds of this many commands: 40,000 per run (a quarter under a
# sanitizer).
COMMANDS_PER_SEED = rmtest.scaled(5000)
DIGEST_EVERY = 250
DEFAULT_SEEDS = [8101, 8102, 8103, 8104, 8105, 8106, 8107, 8108]
DBS = 4

# The zset test's keys (its generator names them directly) plus a few:
# every other generator draws from the whole list, with a preference for
# a few home keys of its own (shared_key).
KEYS = list(zsets.ALLKEYS) + [b"l0", b"l1", b"h0", b"h1", b"t0", b"", b"bin\x00k"]
HOME_SHARE = 0.6

LLONG_MIN = b"-9223372036854775808"
LONG_MAX = b"9223372036854775807"
HALF_MIN = b"-4611686018427387904"  # -(LONG_MAX/2) - 1
SHORT_TIMEOUT = b"0.001"

KNOWN_BUGS = {
    "zrandmember-range": "ZRANDMEMBER with a count below -LONG_MAX, or below -LONG_MAX/2 "
                         "WITHSCORES, hangs or answers unlike Redis (being fixed on main)",
    "short-block-timeout": "a blocking pop with timeout 0.001 on missing keys never times out "
                           "(being fixed on main)",
}


def _seeds():
    env = os.environ.get("RM_DIFF_SEEDS", "")
    if env:
        return [int(s) for s in env.split(",") if s.strip()]
    return DEFAULT_SEEDS


# -- the per-type generators, on the shared key space ---------------------------

def shared_key(rng, home):
    """Any key, but mostly one of the type's home keys: values grow past
    their encoding limits instead of meeting WRONGTYPE nearly every time."""
    return rng.choice(home if rng.random() < HOME_SHARE else KEYS)


class CoreGen(core.CommandGenerator):
    def key(self):
        return self.rng.choice(KEYS)


class ListGen(lists.Gen):
    def key(self):
        return shared_key(self.rng, [b"l0", b"l1", b"nokey"])


class HashGen(hashes.Generator):
    def key(self):
        return shared_key(self.rng, [b"h0", b"h1", b""])


class SetGen(sets.Generator):
    def key(self):
        return shared_key(self.rng, [b"s0", b"s1", b"t0"])


class ZsetGen(zsets.Generator):
    def anykey(self):
        return self.pick(KEYS)


class EdgeGen:
    """Edge counts the per-type generators do not send (or send rarely)."""

    def __init__(self, rng):
        self.rng = rng

    def key(self):
        return self.rng.choice(KEYS)

    def next(self):
        r = self.rng.random()
        key = self.key()
        if r < 0.35:
            count = self.rng.choice([LLONG_MIN, LLONG_MIN, HALF_MIN, b"-9223372036854775807",
                                     LONG_MAX, b"4611686018427387904"])
            args = [b"ZRANDMEMBER", key, count]
            # A negative count of -LONG_MAX/2 or more in magnitude without
            # WITHSCORES is valid: Redis would really build that reply.
            if count in (HALF_MIN, b"-9223372036854775807") or self.rng.random() < 0.5:
                args.append(b"WITHSCORES")
            return "zset", zsets.Step(args, mode="zrandmember", key=key)
        if r < 0.55:
            args = [b"HRANDFIELD", key, self.rng.choice([LLONG_MIN, HALF_MIN, LONG_MAX,
                                                         b"4611686018427387904"])]
            if args[2] == HALF_MIN or self.rng.random() < 0.5:
                args.append(b"WITHVALUES")
            return "hash", hashes.Step(args, "rand")
        if r < 0.7:
            args = [self.rng.choice([b"SRANDMEMBER", b"SPOP"]), key,
                    self.rng.choice([LLONG_MIN, LONG_MAX])]
            return "set", sets.Step(args, "srand" if args[0] == b"SRANDMEMBER" else "spop")
        if r < 0.85:
            pop = self.rng.choice([
                [b"LMPOP", b"2", key, self.key(), b"LEFT"],
                [b"ZMPOP", b"2", key, self.key(), b"MAX"],
                [b"LPOP", key], [b"RPOP", key], [b"ZPOPMIN", key], [b"ZPOPMAX", key]])
            if pop[0] in (b"LMPOP", b"ZMPOP"):
                pop.append(b"COUNT")
            pop.append(self.rng.choice([LLONG_MIN, LONG_MAX, b"-1", b"0"]))
            return "core", core.Step(pop)
        if r < 0.93:
            return "core", core.Step([self.rng.choice([b"LRANGE", b"ZRANGE", b"GETRANGE"]), key,
                                      self.rng.choice([LLONG_MIN, LONG_MAX, b"0", b"-1"]),
                                      self.rng.choice([LLONG_MIN, LONG_MAX, b"0", b"-1"])])
        return "core", core.Step([self.rng.choice([b"PEXPIRE", b"EXPIRE"]), key,
                                  self.rng.choice([b"0", b"-1", LLONG_MIN, b"%d" % 10**11])])


# -- what the mixed key space adds ----------------------------------------------

LEX_COMMANDS = {b"ZRANGEBYLEX", b"ZREVRANGEBYLEX", b"ZLEXCOUNT", b"ZREMRANGEBYLEX"}


def lex_key(args):
    """The key a lex range command reads, or None for any other command."""
    name = args[0].upper()
    if name in LEX_COMMANDS and len(args) > 1:
        return args[1]
    bylex = any(a.upper() == b"BYLEX" for a in args[1:])
    if name == b"ZRANGE" and bylex and len(args) > 1:
        return args[1]
    if name == b"ZRANGESTORE" and bylex and len(args) > 2:
        return args[2]
    return None


def lex_range_is_defined(ctl, key):
    """False for a skiplist zset whose scores are not all equal."""
    if ctl.call(b"TYPE", key) != b"zset" or ctl.call(b"OBJECT", b"ENCODING", key) != b"skiplist":
        return True
    flat = ctl.call(b"ZRANGE", key, b"0", b"-1", b"WITHSCORES")
    return len(set(flat[1::2])) <= 1


def known_bug(args, bugs):
    """The known bug a command would hit, or None (blocking ones: see block)."""
    if "zrandmember-range" in bugs and args[0].upper() == b"ZRANDMEMBER" and len(args) >= 3:
        try:
            count = int(args[2])
        except ValueError:
            return None
        if count < -(2**63 - 1) or (len(args) >= 4 and count < -(2**62 - 1)):
            return "zrandmember-range"
    return None


def valid_timeout(t):
    try:
        return float(t) >= 0 and t.strip() == t and t.lower() != b"nan"
    except ValueError:
        return False


class Side(core.Side):
    """The core test's three connections, plus `conn` (connection A), which
    the hash, list and set Differs use."""

    def __init__(self, label, server):
        super().__init__(label, server)
        self.conn = self.conns["A"]


def _borrow(differ, seed, rm, ref, history):
    """Point a per-type Differ (built by its own __init__, so that it has all
    its attributes) at the shared connections and the shared history."""
    for attr in ("rm", "ref", "rm_ctl", "ref_ctl"):
        old = getattr(differ, attr, None)
        if old is not None:
            old.close()  # a RespConn, or a Side of the core/zset tests
    differ.seed = seed
    differ.history = history
    if isinstance(differ, (core.Differ, zsets.Differ)):
        differ.rm, differ.ref = rm, ref
    else:
        differ.rm, differ.ref = rm.conn, ref.conn
        differ.rm_ctl, differ.ref_ctl = rm.control, ref.control
        if isinstance(differ, sets.Differ):
            differ.rm_state = sets.RefState(rm.control)
            differ.ref_state = sets.RefState(ref.control)
    return differ


class _NoServer:
    """Stands in for a server in the per-type Differs' constructors."""

    def __init__(self, port):
        self.port = port


class MixedDiffer:
    # "delete" frees a key for another type: without it a key, once taken by
    # a type, would mostly meet the other types' commands as WRONGTYPE.
    KINDS = ["core", "list", "hash", "set", "zset", "edge", "delete"]
    WEIGHTS = [22, 20, 18, 18, 20, 2, 4]

    def __init__(self, seed, rm_server, ref_server, bugs):
        self.seed = seed
        self.bugs = bugs
        self.rm = Side("ringmaster", rm_server)
        self.ref = Side("redis", ref_server)
        self.history = collections.deque(maxlen=25)
        self.skipped = collections.Counter()
        self.db = 0
        rm_p, ref_p = _NoServer(rm_server.port), _NoServer(ref_server.port)
        args = (seed, self.rm, self.ref, self.history)
        self.core = _borrow(core.Differ(seed, rm_p, ref_p), *args)
        self.hash = _borrow(hashes.Differ(seed, rm_p, ref_p), *args)
        self.set = _borrow(sets.Differ(seed, rm_p, ref_p), *args)
        self.zset = _borrow(zsets.Differ(seed, rm_p, ref_p), *args)

    def close(self):
        self.rm.close()
        self.ref.close()

    def fail(self, index, step, what, rm_reply, ref_reply):
        self.core.fail(index, step, what, rm_reply, ref_reply)

    # -- generation -----------------------------------------------------------

    def make_generators(self, rng):
        self.rng = rng
        self.gens = {"core": CoreGen(rng), "list": ListGen(rng), "hash": HashGen(rng),
                     "set": SetGen(rng), "zset": ZsetGen(rng), "edge": EdgeGen(rng)}

    def produce(self, kind, in_multi):
        """(executor kind, step, blocking info) from one generator."""
        if kind == "delete":
            name = self.rng.choice([b"DEL", b"UNLINK"])
            return "core", core.Step([name, self.rng.choice(KEYS)]), None
        g = self.gens[kind]
        if kind == "core":
            return "core", g.next(in_multi), None
        if kind == "list":
            name = g.pick()
            if name == "multi":
                return "core", core.Step([b"MULTI"]), None
            if name == "grow":
                return "core", core.Step([self.rng.choice([b"RPUSH", b"LPUSH"]), g.key()] +
                                         g.elems(5, 30)), None
            args, info = g.make(name)
            return "list", core.Step(args), info
        if kind == "zset":
            return "zset", g.next(in_multi), None
        if kind == "edge":
            executor, step = g.next()
            return executor, step, None
        return kind, g.next(), None

    def multi_safe(self, step):
        args = step.args
        if step.mode != "exact" or not args:
            return False
        if args[0].upper() == b"SELECT" and len(args) == 2:
            return False
        return lex_key(args) is None and known_bug(args, self.bugs) is None

    def draw(self, in_multi):
        while True:
            kind = self.rng.choices(self.KINDS, self.WEIGHTS)[0]
            executor, step, info = self.produce(kind, in_multi)
            if not in_multi or self.multi_safe(step):
                return executor, step, info

    # -- execution ------------------------------------------------------------

    def skip(self, reason):
        self.skipped[reason] += 1
        return b"(not sent: %s)" % reason.encode()

    def execute(self, index, executor, step, info, in_multi):
        key = lex_key(step.args) if step.args else None
        if key is not None and not lex_range_is_defined(self.ref.control, key):
            return b"(not sent: lex range over a skiplist with mixed scores)"
        bug = known_bug(step.args, self.bugs) if step.args else None
        if bug:
            return self.skip(bug)
        if executor == "list":
            if info is not None and not in_multi:
                return self.execute_blocking(index, step, info)
            return self.core.execute(index, step)
        if executor == "core":
            return self.core.execute(index, step)
        if executor == "zset":
            return self.zset.execute(index, step)
        differ = self.hash if executor == "hash" else self.set
        differ.index = index
        return differ.execute(step)

    def execute_blocking(self, index, step, info):
        """A blocking list pop outside MULTI: at once when a key exists;
        else inside MULTI, or with a short timeout."""
        keys, tidx = info
        if self.ref.control.call(b"EXISTS", *keys):
            return self.core.execute(index, step)
        if self.rng.random() < 0.4:
            out = [self.core.execute(index, core.Step([b"MULTI"]))]
            out.append(self.core.execute(index, step))
            out.append(self.core.execute(index, core.Step([b"EXEC"])))
            return b"".join(out)
        if valid_timeout(step.args[tidx]):
            step.args[tidx] = self.rng.choice([SHORT_TIMEOUT, b"0.01"])
            if step.args[tidx] == SHORT_TIMEOUT and "short-block-timeout" in self.bugs:
                return self.skip("short-block-timeout")
        return self.core.execute(index, step)

    def follow_select(self, step):
        """Connection A changed database: the control connections follow."""
        db = step.args[1]
        for side in (self.rm, self.ref):
            assert side.control.call(b"SELECT", db) == b"OK"
        self.db = int(db)

    # -- digests --------------------------------------------------------------

    # The core test's: DEBUG DIGEST on both sides, reported through this
    # class's fail() and dataset_diff().
    check_digest = core.Differ.check_digest

    def key_facts(self, conn, key):
        return tuple(conn.call_raw(*args) for args in (
            [b"TYPE", key], [b"OBJECT", b"ENCODING", key], [b"DEBUG", b"DIGEST-VALUE", key],
            [b"EXPIRETIME", key]))

    def dataset_diff(self):
        out = []
        try:
            for db in range(DBS):
                facts = []
                for side in (self.rm, self.ref):
                    c = side.control
                    c.call(b"SELECT", db)
                    facts.append({k: self.key_facts(c, k) for k in c.call(b"KEYS", b"*")})
                    c.call(b"SELECT", self.db)
                for k in sorted(set(facts[0]) | set(facts[1])):
                    a, b = facts[0].get(k), facts[1].get(k)
                    if a != b:
                        out.append("  db%d %r: ringmaster %r, redis %r" % (db, k, a, b))
        except Exception as e:  # the report must not hide the digest mismatch
            out.append("  (could not compare the datasets: %r)" % e)
        return "\n".join(out[:15]) or "  (no difference in TYPE/ENCODING/DIGEST-VALUE/EXPIRETIME)"

    def final_check(self, count):
        for db in range(DBS):
            for side in (self.rm, self.ref):
                side.control.call(b"SELECT", db)
            for key in KEYS:
                a, b = self.key_facts(self.rm.control, key), self.key_facts(self.ref.control, key)
                if a != b:
                    self.fail(count, core.Step([b"(final check of db%d)" % db, key]),
                              "TYPE/ENCODING/DIGEST-VALUE/EXPIRETIME differ", a, b)
        for side in (self.rm, self.ref):
            side.control.call(b"SELECT", self.db)

    # -- one sequence ---------------------------------------------------------

    def setup(self, rng):
        self.hash.reset()  # FLUSHALL and the hash thresholds
        self.set.reset()   # FLUSHALL and the intset limit
        entries, value = zsets.LISTPACK_LIMITS[self.seed % len(zsets.LISTPACK_LIMITS)]
        for args in ([b"CONFIG", b"SET", b"list-max-listpack-size", rng.choice(lists.FILLS)],
                     [b"CONFIG", b"SET", b"zset-max-listpack-entries", b"%d" % entries],
                     [b"CONFIG", b"SET", b"zset-max-listpack-value", b"%d" % value]):
            for side in (self.rm, self.ref):
                assert side.control.call(*args) == b"OK", args

    def run(self, count):
        rng = random.Random(self.seed)
        self.make_generators(rng)
        self.setup(rng)
        in_multi, queued = False, 0
        for index in range(count):
            if in_multi and (queued >= 8 or rng.random() < 0.15):
                executor, step, info = "core", core.Step([rng.choice([b"EXEC", b"EXEC", b"EXEC",
                                                                       b"DISCARD"])]), None
            else:
                executor, step, info = self.draw(in_multi)
            result = self.execute(index, executor, step, info, in_multi)
            if isinstance(result, bytes):
                result = result[:200]
            self.history.append((index, step, result))
            conn = getattr(step, "conn", "A")
            name = step.args[0].upper() if step.args else b""
            if conn == "A":
                if in_multi and (name == b"EXEC" or (name == b"DISCARD" and len(step.args) == 1)):
                    in_multi = False
                    self.check_digest(index, step)
                elif (not in_multi and len(step.args) == 1 and name == b"MULTI"
                      and result == b"+OK\r\n"):
                    in_multi, queued = True, 0
                elif in_multi:
                    queued += 1
                elif name == b"SELECT" and len(step.args) == 2 and result == b"+OK\r\n":
                    self.follow_select(step)
            if index % DIGEST_EVERY == DIGEST_EVERY - 1:
                self.check_digest(index, step)
        if in_multi:
            self.core.exchange("A", [b"DISCARD"])
        self.check_digest(count, core.Step([b"(end of sequence)"]))
        self.final_check(count)


# -- known bugs -------------------------------------------------------------------

# (bug, setup, command): the reference's reply is the expected one.
ZSET = [b"ZADD", b"z", b"1", b"a", b"2", b"b"]
EDGE_CASES = [
    ("zrandmember-range", ZSET, [b"ZRANDMEMBER", b"z", LLONG_MIN]),
    ("zrandmember-range", ZSET, [b"ZRANDMEMBER", b"z", LLONG_MIN, b"WITHSCORES"]),
    ("zrandmember-range", ZSET, [b"ZRANDMEMBER", b"z", HALF_MIN, b"WITHSCORES"]),
    ("zrandmember-range", ZSET, [b"ZRANDMEMBER", b"z", b"-9223372036854775807", b"WITHSCORES"]),
    ("zrandmember-range", [b"DEL", b"z"], [b"ZRANDMEMBER", b"z", LLONG_MIN]),
    ("zrandmember-range", [b"DEL", b"z"], [b"ZRANDMEMBER", b"z", LLONG_MIN, b"WITHSCORES"]),
    ("zrandmember-range", [b"SADD", b"s", b"a"], [b"ZRANDMEMBER", b"s", LLONG_MIN]),
    (None, [b"SADD", b"s", b"a"], [b"SRANDMEMBER", b"s", LLONG_MIN]),
    (None, [b"HSET", b"h", b"a", b"1"], [b"HRANDFIELD", b"h", LLONG_MIN]),
    (None, [b"HSET", b"h", b"a", b"1"], [b"HRANDFIELD", b"h", LLONG_MIN, b"WITHVALUES"]),
    (None, [b"HSET", b"h", b"a", b"1"], [b"HRANDFIELD", b"h", HALF_MIN, b"WITHVALUES"]),
    (None, [b"ZADD", b"z", b"1", b"a"], [b"ZRANDMEMBER", b"z", LONG_MAX, b"WITHSCORES"]),
    ("short-block-timeout", [b"DEL", b"nokey"], [b"BLPOP", b"nokey", SHORT_TIMEOUT]),
    ("short-block-timeout", [b"DEL", b"nokey"], [b"BRPOP", b"nokey", b"n2", SHORT_TIMEOUT]),
    ("short-block-timeout", [b"DEL", b"nokey"],
     [b"BLMOVE", b"nokey", b"l", b"LEFT", b"RIGHT", SHORT_TIMEOUT]),
    ("short-block-timeout", [b"DEL", b"nokey"], [b"BRPOPLPUSH", b"nokey", b"l", SHORT_TIMEOUT]),
    ("short-block-timeout", [b"DEL", b"nokey"],
     [b"BLMPOP", SHORT_TIMEOUT, b"1", b"nokey", b"LEFT"]),
    ("short-block-timeout", [b"DEL", b"nokey"], [b"BZPOPMIN", b"nokey", SHORT_TIMEOUT]),
    ("short-block-timeout", [b"DEL", b"nokey"],
     [b"BZMPOP", SHORT_TIMEOUT, b"1", b"nokey", b"MIN"]),
    (None, [b"RPUSH", b"l", b"x"], [b"BLPOP", b"l", SHORT_TIMEOUT]),
    (None, [b"ZADD", b"z", b"1", b"a"], [b"BZPOPMAX", b"z", SHORT_TIMEOUT]),
]
PROBE_TIMEOUT = 0.5


def run_edge_cases(binary, workdir, name):
    """Each case's reply on a server of its own (restarted after a hang):
    raw bytes, or 'no reply within 1 s'."""
    out = []
    server = None
    try:
        for _, setup, args in EDGE_CASES:
            if server is None:
                server = rmtest.ServerProcess(binary, workdir, name=name)
                server.start()
            with RespConn(server.port, timeout=PROBE_TIMEOUT) as c:
                c.call(b"FLUSHALL")
                c.call(*setup)
                try:
                    out.append(c.call_raw(*args))
                    continue
                except OSError:
                    out.append("no reply within %.1f s" % (PROBE_TIMEOUT * rmtest.SLOWDOWN))
            server.proc.kill()  # a hung server: not worth a clean shutdown
            server.proc.wait(timeout=10)
            server = None
    finally:
        if server is not None:
            server.stop()
    return out


@pytest.fixture(scope="module")
def edge_results(tmp_path_factory):
    rm_bin, ref_bin = rmtest.ringmaster_bin(), rmtest.redis_server_bin()
    if rm_bin is None:
        pytest.skip("RINGMASTER_BIN is not set")
    if ref_bin is None:
        pytest.skip("redis-server is not installed (apt-get install redis-server)")
    work = tmp_path_factory.mktemp("edge")
    return (run_edge_cases(rm_bin, work / "rm", "ringmaster-probe"),
            run_edge_cases(ref_bin, work / "ref", "redis-probe"))


@pytest.fixture(scope="module")
def known_bugs():
    """Cases not to send: none (the generators can skip a case while a bug
    of it is being fixed, by naming it here)."""
    return frozenset()


def test_known_edge_cases(edge_results):
    rm, ref = edge_results
    unexpected = ["%r (after %r): ringmaster %r, redis %r" % (args, setup, a, b)
                  for (_, setup, args), a, b in zip(EDGE_CASES, rm, ref) if a != b]
    assert not unexpected, "\n".join(unexpected)


# -- the random sequences -------------------------------------------------------

@pytest.fixture(scope="module")
def pair(module_servers):
    return module_servers.ringmaster(), module_servers.redis()


@pytest.mark.parametrize("seed", _seeds())
def test_random_mixed_commands(seed, pair, known_bugs):
    differ = MixedDiffer(seed, pair[0], pair[1], known_bugs)
    try:
        differ.run(COMMANDS_PER_SEED)
    finally:
        differ.close()
    if differ.skipped:
        pytest.xfail("every command compared except %s, not sent for known bugs: %s" % (
            dict(differ.skipped), "; ".join(KNOWN_BUGS[b] for b in sorted(differ.skipped))))
