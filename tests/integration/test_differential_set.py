"""Differential test of the set commands against real redis-server 7.0.

A seeded generator sends every set command (SADD SREM SISMEMBER SMISMEMBER
SMEMBERS SCARD SPOP SRANDMEMBER SMOVE SINTER SUNION SDIFF SINTERSTORE
SUNIONSTORE SDIFFSTORE SINTERCARD SSCAN) to Ringmaster and to redis-server,
over a small key space that string and key commands (SET, GET, DEL,
EXPIRE, PERSIST, COPY, RENAME, TYPE) share, so that WRONGTYPE paths, key
creation and deletion, TTLs kept or dropped, and the digest's expire mark
are exercised. Members mix canonical integers (with the 16/32/64-bit edges
an intset widens at), non-canonical ones ("01", "-0", "+1") and strings, so
sets move between the intset and hashtable encodings; CONFIG SET
set-max-intset-entries changes mid-sequence so the conversion happens at
many sizes.

Comparison:
  - byte for byte: every reply whose content does not depend on hash order
    or randomness (errors included), OBJECT ENCODING, DEBUG DIGEST-VALUE,
    and DEBUG DIGEST every few hundred commands and at the end of a seed;
  - replies listing members (SMEMBERS, SINTER, SUNION, SDIFF, and SPOP or
    SRANDMEMBER of a whole set): byte for byte whenever Redis's order is
    defined, which is when the members come out of an intset (ascending):
    the test works out from the reference's state which intset, if any,
    Redis iterated (the smallest SINTER operand, the intermediate result of
    SUNION/SDIFF including SDIFF's algorithm choice); otherwise as sets;
  - SSCAN: byte for byte on an intset (one call, cursor 0); on a hashtable
    both sides are scanned to completion with the same options and the
    members compared as sets; a scan from a made-up cursor is only checked
    for well-formed members of the set;
  - SPOP and SRANDMEMBER: by properties on each side (sizes, membership,
    uniqueness for positive counts), then the state is made equal again:
    Ringmaster gets back what only it popped and loses what only Redis
    popped (which leaves its encoding as Redis's), except after a pop of
    most of a set, where Redis rebuilds the survivors into a new set whose
    encoding depends on which members survived: that key is deleted on
    both sides.
RM_DIFF_SEEDS=5,9 reruns only those seeds.
"""

import collections
import os
import random

import pytest

import rmtest
from rmtest import RespConn, RespError

# Six seeds of this many commands: over 25,000 per run (a quarter under a
# sanitizer).
COMMANDS_PER_SEED = rmtest.scaled(4400)
DIGEST_EVERY = 200
DEFAULT_SEEDS = [9301, 9302, 9303, 9304, 9305, 9306]


def _seeds():
    env = os.environ.get("RM_DIFF_SEEDS", "")
    if env:
        return [int(s) for s in env.split(",") if s.strip()]
    return DEFAULT_SEEDS


KEYS = [b"s0", b"s1", b"s2", b"s3", b"s4", b"big", b"str", b"", b"bin\x00key"]
INT_KEYS = {b"s0", b"s1", b"s2", b"big"}
INT_EDGES = [b"9223372036854775807", b"-9223372036854775808", b"32767", b"32768", b"-32768",
             b"-32769", b"2147483647", b"2147483648", b"-2147483648", b"-2147483649", b"0"]
NON_CANONICAL = [b"01", b"-0", b"+1", b" 1", b"1 ", b"9223372036854775808",
                 b"-9223372036854775809", b"1.0", b"0x1", b"", b"--1"]
STRINGS = [b"a", b"b", b"c", b"d", b"e", b"f", b"g", b"h", b"bin\x00\xff", b"m*", b"[a]",
           b"\xe2\x82\xac", b"A", b"ab", b"x" * 50]
GLOBS = [b"*", b"a*", b"1*", b"?", b"[0-9]*", b"*\x00*", b"\\*", b"[", b"[^a]*", b"-*", b""]
COUNTS = [b"0", b"1", b"2", b"3", b"5", b"10", b"100", b"1000", b"-1", b"-3", b"-10", b"x",
          b"1.5", b"", b"-9223372036854775808", b"9223372036854775807", b" 2"]
FUTURE_S = 4_000_000_000
INTSET_HARD_MAX = 1 << 30
# Writes whose destination's encoding is compared right after them.
WRITES = {b"SADD", b"SREM", b"SMOVE", b"SINTERSTORE", b"SUNIONSTORE", b"SDIFFSTORE"}


class Step:
    """One command: arguments and how the replies are compared."""

    __slots__ = ("args", "mode")

    def __init__(self, args, mode="exact"):
        self.args = [a if isinstance(a, bytes) else str(a).encode() for a in args]
        self.mode = mode

    def name(self):
        return self.args[0].upper()

    def __repr__(self):
        return " ".join(repr(a)[1:] for a in self.args)


class Generator:
    def __init__(self, rng):
        self.rng = rng
        table = [
            ("sadd", 14), ("srem", 6), ("sismember", 3), ("smismember", 2), ("scard", 3),
            ("smembers", 3), ("spop", 4), ("srandmember", 4), ("smove", 4), ("sinter", 3),
            ("sunion", 3), ("sdiff", 3), ("sinterstore", 2), ("sunionstore", 2),
            ("sdiffstore", 2), ("sintercard", 3), ("sscan", 3), ("fill", 0.6),
            ("string", 1.5), ("keyop", 3), ("encoding", 3), ("digest_value", 1),
            ("config", 0.5), ("arity", 1), ("delete", 5),
        ]
        self.names = [n for n, _ in table]
        self.weights = [w for _, w in table]

    def key(self):
        return self.rng.choice(KEYS)

    def keys(self, lo=1, hi=4):
        return [self.key() for _ in range(self.rng.randint(lo, hi))]

    def member(self, key=None):
        r = self.rng.random()
        if key in INT_KEYS and r < 0.95:
            # Integer-leaning keys: sets that stay intsets for longer.
            r = self.rng.random() * 0.65
        if r < 0.55:
            return b"%d" % self.rng.randint(-20, 40)
        if r < 0.65:
            return self.rng.choice(INT_EDGES)
        if r < 0.73:
            return self.rng.choice(NON_CANONICAL)
        return self.rng.choice(STRINGS)

    def members(self, lo=1, hi=5, key=None):
        return [self.member(key) for _ in range(self.rng.randint(lo, hi))]

    # -- commands -----------------------------------------------------------

    def cmd_sadd(self):
        key = self.key()
        return Step([b"SADD", key] + self.members(key=key))

    def cmd_srem(self):
        return Step([b"SREM", self.key()] + self.members(1, 4))

    def cmd_sismember(self):
        return Step([b"SISMEMBER", self.key(), self.member()])

    def cmd_smismember(self):
        return Step([b"SMISMEMBER", self.key()] + self.members(1, 4))

    def cmd_scard(self):
        return Step([b"SCARD", self.key()])

    def cmd_smembers(self):
        return Step([b"SMEMBERS", self.key()], "members")

    def cmd_spop(self):
        if self.rng.random() < 0.35:
            return Step([b"SPOP", self.key()], "spop")
        args = [b"SPOP", self.key(), self.rng.choice(COUNTS)]
        if self.rng.random() < 0.05:
            args.append(b"extra")
        return Step(args, "spop")

    def cmd_srandmember(self):
        if self.rng.random() < 0.3:
            return Step([b"SRANDMEMBER", self.key()], "srand")
        args = [b"SRANDMEMBER", self.key(), self.rng.choice(COUNTS)]
        if self.rng.random() < 0.05:
            args.append(b"extra")
        return Step(args, "srand")

    def cmd_smove(self):
        return Step([b"SMOVE", self.key(), self.key(), self.member()])

    def cmd_sinter(self):
        return Step([b"SINTER"] + self.keys(), "members")

    def cmd_sunion(self):
        return Step([b"SUNION"] + self.keys(), "members")

    def cmd_sdiff(self):
        return Step([b"SDIFF"] + self.keys(), "members")

    def cmd_sinterstore(self):
        return Step([b"SINTERSTORE", self.key()] + self.keys())

    def cmd_sunionstore(self):
        return Step([b"SUNIONSTORE", self.key()] + self.keys())

    def cmd_sdiffstore(self):
        return Step([b"SDIFFSTORE", self.key()] + self.keys())

    def cmd_sintercard(self):
        keys = self.keys(1, 4)
        r = self.rng.random()
        if r < 0.8:
            numkeys = b"%d" % len(keys)
        else:
            numkeys = self.rng.choice([b"0", b"-1", b"x", b"", b"%d" % (len(keys) + 1),
                                       b"%d" % max(1, len(keys) - 1), b"9223372036854775807"])
        args = [b"SINTERCARD", numkeys] + keys
        r = self.rng.random()
        if r < 0.4:
            args += [self.rng.choice([b"LIMIT", b"limit"]),
                     self.rng.choice([b"0", b"1", b"2", b"5", b"-1", b"x", b"",
                                      b"9223372036854775807"])]
        elif r < 0.45:
            args += self.rng.choice([[b"LIMIT"], [b"bogus", b"1"], [b"LIMIT", b"1", b"LIMIT", b"2"]])
        return Step(args)

    def cmd_sscan(self):
        r = self.rng.random()
        if r < 0.65:
            cursor = b"0"
        elif r < 0.8:
            cursor = b"%d" % self.rng.randint(1, 1000)
        else:
            cursor = self.rng.choice([b"-1", b"", b"+3", b" 1", b"1x", b"18446744073709551615",
                                      b"18446744073709551616", b"0x10"])
        args = [b"SSCAN", self.key(), cursor]
        for _ in range(self.rng.randint(0, 2)):
            opt = self.rng.random()
            if opt < 0.45:
                args += [b"MATCH", self.rng.choice(GLOBS)]
            elif opt < 0.85:
                args += [b"COUNT", self.rng.choice([b"1", b"3", b"10", b"100", b"0", b"-1",
                                                    b"x", b"9223372036854775807"])]
            else:
                args += self.rng.choice([[b"TYPE", b"set"], [b"COUNT"], [b"MATCH"], [b"bogus"]])
        return Step(args, "sscan")

    def cmd_fill(self):
        """Many members at once: pushes sets across the intset limit."""
        key = self.key()
        n = self.rng.randint(20, 600 if self.rng.random() < 0.3 else 500)
        base = self.rng.randint(-300, 1000)
        if self.rng.random() < 0.75:
            members = [b"%d" % (base + i) for i in range(n)]
        else:
            members = [b"fill:%d" % (base + i) for i in range(n)]
        return Step([b"SADD", key] + members)

    def cmd_string(self):
        key = b"str" if self.rng.random() < 0.7 else self.key()
        return self.rng.choice([
            Step([b"SET", key, self.member()]), Step([b"GET", key]),
            Step([b"APPEND", key, b"x"]), Step([b"TYPE", key]),
        ])

    def cmd_keyop(self):
        key = self.key()
        r = self.rng.random()
        if r < 0.35:
            return Step([b"DEL", key])
        if r < 0.5:
            return Step([b"EXPIREAT", key, b"%d" % (FUTURE_S + self.rng.randint(0, 1000))])
        if r < 0.6:
            return Step([b"PERSIST", key])
        if r < 0.75:
            return Step([b"COPY", key, self.key(), b"REPLACE"])
        if r < 0.85:
            return Step([b"RENAME", key, self.key()])
        return Step([b"EXISTS", key])

    def cmd_delete(self):
        """Frequent deletes keep recreating sets: once a hashtable, a set
        never goes back to an intset, whose order is compared exactly."""
        return Step([b"DEL", self.key()])

    def cmd_encoding(self):
        return Step([b"OBJECT", b"ENCODING", self.key()])

    def cmd_digest_value(self):
        return Step([b"DEBUG", b"DIGEST-VALUE", self.key(), self.key()])

    def cmd_config(self):
        """Move the intset limit; most changes put the default back."""
        v = self.rng.choice([b"512"] * 12 + [b"0", b"1", b"3", b"8", b"30", b"700"])
        return Step([b"CONFIG", b"SET", b"set-max-intset-entries", v], "config")

    ARITY = {b"SADD": -3, b"SREM": -3, b"SMOVE": 4, b"SISMEMBER": 3, b"SMISMEMBER": -3,
             b"SCARD": 2, b"SPOP": -2, b"SRANDMEMBER": -2, b"SMEMBERS": 2, b"SINTER": -2,
             b"SINTERCARD": -3, b"SINTERSTORE": -3, b"SUNION": -2, b"SUNIONSTORE": -3,
             b"SDIFF": -2, b"SDIFFSTORE": -3, b"SSCAN": -3}

    def cmd_arity(self):
        name = self.rng.choice(sorted(self.ARITY))
        arity = self.ARITY[name]
        if arity > 0:
            argc = self.rng.choice([n for n in range(1, 7) if n != arity])
        else:
            argc = self.rng.randint(1, -arity - 1)
        return Step([name] + [self.key() for _ in range(argc - 1)])

    def next(self):
        name = self.rng.choices(self.names, self.weights)[0]
        step = getattr(self, "cmd_" + name)()
        if self.rng.random() < 0.1:
            step.args[0] = step.args[0].lower()
        return step


# -- what Redis's reply order is ---------------------------------------------

def canonical_int(b):
    """Redis's string2ll acceptance: what an intset can hold."""
    if not b or len(b) > 20:
        return False
    digits = b[1:] if b[:1] == b"-" else b
    if not digits or not all(48 <= ch <= 57 for ch in digits):
        return False
    if digits[:1] == b"0" and b != b"0":
        return False
    return -(1 << 63) <= int(b) < (1 << 63)


def fits_intset(members, limit):
    return len(members) <= limit and all(canonical_int(m) for m in members)


class RefState:
    """The reference server's sets, read through a control connection."""

    def __init__(self, conn):
        self.conn = conn

    def kind(self, key):
        return self.conn.call(b"TYPE", key)

    def members(self, key):
        """None when missing, False when not a set, else the member set."""
        t = self.kind(key)
        if t == b"none":
            return None
        if t != b"set":
            return False
        return set(self.conn.call(b"SMEMBERS", key))

    def encoding(self, key):
        return self.conn.call(b"OBJECT", b"ENCODING", key)


def order_is_defined(step, ref, limit):
    """Whether Redis's reply lists members in a defined (ascending) order,
    judged from the reference's state before the command."""
    name = step.name()
    if name == b"SMEMBERS" or name == b"SRANDMEMBER":
        return ref.kind(step.args[1]) != b"set" or ref.encoding(step.args[1]) == b"intset"
    keys = step.args[1:]
    if name == b"SPOP":  # the whole set, replied as SUNION of the key
        name, keys = b"SUNION", keys[:1]
    sets = [ref.members(k) for k in keys]
    if any(s is False for s in sets):
        return True  # WRONGTYPE
    if name == b"SINTER":
        if any(s is None for s in sets):
            return True
        # Iterates the smallest set (stable among equal sizes).
        first = min(range(len(sets)), key=lambda i: (len(sets[i]), i))
        return ref.encoding(keys[first]) == b"intset"
    if name == b"SUNION":
        union = set().union(*[s for s in sets if s])
        return fits_intset(union, limit)
    # SDIFF: the algorithm decides what went through the result set.
    if sets[0] is None:
        return True
    present = [s for s in sets if s is not None]
    one = sum(len(sets[0]) for _ in present) // 2
    two = sum(len(s) for s in present)
    result = set(sets[0]).difference(*[s for s in sets[1:] if s])
    if not result:
        return True
    if one <= two:
        return fits_intset(result, limit)
    return fits_intset(sets[0], limit)


def check_members_reply(reply, contents, count):
    """Properties of one side's SPOP/SRANDMEMBER reply; an error string or None."""
    if contents is None:
        want = None if count is None else []
        return None if reply == want else "missing key must give %r" % (want,)
    if count is None:
        return None if reply in contents else "not a member"
    if not isinstance(reply, list):
        return "not an array"
    if any(m not in contents for m in reply):
        return "not a member"
    if count < 0:
        return None if len(reply) == -count else "wrong count"
    if len(reply) != min(count, len(contents)):
        return "wrong count"
    if len(set(reply)) != len(reply):
        return "duplicates in a positive count"
    return None


def sscan_all(conn, key, options):
    """SSCAN to completion from cursor 0; the sorted members, or the error."""
    cursor = b"0"
    found = set()
    for _ in range(100000):
        reply = conn.call(b"SSCAN", key, cursor, *options)
        if isinstance(reply, RespError):
            return reply
        cursor, batch = reply
        found.update(batch)
        if cursor == b"0":
            return sorted(found)
    raise AssertionError("SSCAN did not finish")


def parse_count(arg):
    """The count as Redis would take it, or None when Redis rejects it."""
    if not canonical_int(arg):
        return None
    return int(arg)


class Differ:
    def __init__(self, seed, rm_server, ref_server):
        self.seed = seed
        self.rm = RespConn(rm_server.port)
        self.ref = RespConn(ref_server.port)
        self.rm_ctl = RespConn(rm_server.port)
        self.ref_ctl = RespConn(ref_server.port)
        self.ref_state = RefState(self.ref_ctl)
        self.rm_state = RefState(self.rm_ctl)
        self.history = collections.deque(maxlen=20)
        self.index = 0
        self.limit = 512

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

    def both_ctl(self, *args):
        a, b = self.rm_ctl.call_raw(*args), self.ref_ctl.call_raw(*args)
        return a, b

    def reset(self):
        for c in (self.rm_ctl, self.ref_ctl):
            assert c.call(b"FLUSHALL") == b"OK"
            assert c.call(b"CONFIG", b"SET", b"set-max-intset-entries", b"512") == b"OK"
        self.limit = 512

    def check_digest(self, step):
        rm, ref = self.both_ctl(b"DEBUG", b"DIGEST")
        if rm != ref:
            self.fail(step, "DEBUG DIGEST differs", rm, ref)

    def check_encodings(self, step):
        """The written keys' encodings, right after the write."""
        for key in step.args[1:3 if step.name() == b"SMOVE" else 2]:
            rm, ref = self.both_ctl(b"OBJECT", b"ENCODING", key)
            if rm != ref:
                self.fail(step, "OBJECT ENCODING of %r differs after this write" % key, rm, ref)

    # -- modes ----------------------------------------------------------------

    def execute(self, step):
        mode = step.mode
        defined = None
        pre = None
        if mode == "members" or (mode in ("spop", "srand") and len(step.args) >= 2):
            defined = order_is_defined(step, self.ref_state, self.limit)
        if mode in ("spop", "srand") and len(step.args) >= 2:
            key = step.args[1]
            pre = (self.rm_state.members(key), self.ref_state.members(key))
            if pre[0] != pre[1]:
                self.fail(step, "the set differs before the command", pre[0], pre[1])
        (rm_raw, rm_val), (ref_raw, ref_val) = self.both(step.args)
        if mode == "config":
            if rm_raw != b"+OK\r\n" or ref_raw != b"+OK\r\n":
                self.fail(step, "CONFIG SET refused", rm_raw, ref_raw)
            self.limit = min(int(step.args[3]), INTSET_HARD_MAX)
            return ref_raw
        errors = isinstance(rm_val, RespError) or isinstance(ref_val, RespError)
        if mode == "exact" or errors:
            if rm_raw != ref_raw:
                self.fail(step, "replies differ", rm_raw, ref_raw)
            if not errors and step.name() in WRITES:
                self.check_encodings(step)
            return ref_raw
        if mode == "members":
            if rm_raw == ref_raw:
                return ref_raw
            if defined:
                self.fail(step, "members must come in Redis's (ascending) order", rm_raw, ref_raw)
            if sorted(rm_val) != sorted(ref_val):
                self.fail(step, "members differ", rm_raw, ref_raw)
            return ref_raw
        if mode == "sscan":
            return self.execute_sscan(step, rm_raw, rm_val, ref_raw, ref_val)
        return self.execute_random(step, pre[1], defined, rm_raw, rm_val, ref_raw, ref_val)

    def execute_sscan(self, step, rm_raw, rm_val, ref_raw, ref_val):
        key, opts = step.args[1], step.args[3:]
        if rm_raw == ref_raw:
            return ref_raw
        if self.ref_state.encoding(key) != b"hashtable":
            self.fail(step, "SSCAN of an intset must match Redis", rm_raw, ref_raw)
        if step.args[2] != b"0":
            contents = self.ref_state.members(key)
            for label, val in (("ringmaster", rm_val), ("redis", ref_val)):
                if any(m not in contents for m in val[1]):
                    self.fail(step, "%s's SSCAN returned a non-member" % label, rm_raw, ref_raw)
            return ref_raw
        rm_all, ref_all = sscan_all(self.rm_ctl, key, opts), sscan_all(self.ref_ctl, key, opts)
        if rm_all != ref_all:
            self.fail(step, "SSCAN to completion differs", rm_all, ref_all)
        return ref_raw

    def execute_random(self, step, contents, defined, rm_raw, rm_val, ref_raw, ref_val):
        """SPOP / SRANDMEMBER: check properties, then make the states equal."""
        name, key = step.name(), step.args[1]
        count = parse_count(step.args[2]) if len(step.args) == 3 else None
        for label, val in (("ringmaster", rm_val), ("redis", ref_val)):
            problem = check_members_reply(val, contents, count)
            if problem:
                self.fail(step, "%s's %s reply is wrong: %s" % (label, name.decode(), problem),
                          rm_raw, ref_raw)
        whole = contents is not None and count is not None and count >= len(contents)
        if whole and rm_raw != ref_raw:
            if defined:
                self.fail(step, "the whole set must come in Redis's order", rm_raw, ref_raw)
            if sorted(rm_val) != sorted(ref_val):
                self.fail(step, "the whole set differs", rm_raw, ref_raw)
        if name != b"SPOP" or contents is None or whole or count == 0:
            return ref_raw
        popped_rm = {rm_val} if count is None else set(rm_val)
        popped_ref = {ref_val} if count is None else set(ref_val)
        size = len(contents)
        if count is not None and not (size - count) * 5 > count:
            # Survivors were moved to a new set: its encoding depends on
            # which ones survived. Drop the key on both sides.
            for c in (self.rm_ctl, self.ref_ctl):
                c.call(b"DEL", key)
            return ref_raw
        only_rm, only_ref = popped_rm - popped_ref, popped_ref - popped_rm
        left = size - len(popped_ref)
        if only_rm and left > self.limit and self.ref_state.encoding(key) == b"intset":
            # An intset already over a lowered limit: giving members back
            # would convert Ringmaster's copy. Drop the key on both sides.
            for c in (self.rm_ctl, self.ref_ctl):
                c.call(b"DEL", key)
            return ref_raw
        if only_rm:
            self.rm_ctl.call(b"SADD", key, *sorted(only_rm))
        if only_ref:
            self.rm_ctl.call(b"SREM", key, *sorted(only_ref))
        return ref_raw

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
        for key in KEYS:
            for args in ([b"OBJECT", b"ENCODING", key], [b"DEBUG", b"DIGEST-VALUE", key],
                         [b"SCARD", key], [b"EXPIRETIME", key]):
                rm, ref = self.both_ctl(*args)
                if rm != ref:
                    self.fail(Step(args), "final check differs", rm, ref)
            a, b = self.rm_state.members(key), self.ref_state.members(key)
            if a != b:
                self.fail(Step([b"SMEMBERS", key]), "final contents differ", a, b)


@pytest.fixture(scope="module")
def pair(module_servers):
    return module_servers.ringmaster(), module_servers.redis()


@pytest.mark.parametrize("seed", _seeds())
def test_random_set_commands(seed, pair):
    differ = Differ(seed, *pair)
    try:
        differ.run(COMMANDS_PER_SEED)
    finally:
        differ.close()


def test_fixed_set_script(pair):
    """Readable fixed cases: orders, conversions, algorithms and digests."""
    rm_srv, ref_srv = pair
    big = [b"%d" % i for i in range(600)]
    script = [
        [b"FLUSHALL"],
        [b"CONFIG", b"SET", b"set-max-intset-entries", b"512"],
        [b"SADD", b"s", b"5", b"-3", b"40000", b"-9223372036854775808", b"5"],
        [b"SMEMBERS", b"s"],
        [b"OBJECT", b"ENCODING", b"s"],
        [b"DEBUG", b"DIGEST-VALUE", b"s"],
        [b"SADD", b"t", b"01", b"1"],
        [b"OBJECT", b"ENCODING", b"t"],
        [b"SUNION", b"s", b"nokey"],
        [b"SINTER", b"s", b"s"],
        [b"SDIFF", b"s", b"nokey", b"t"],
        [b"SSCAN", b"s", b"0", b"MATCH", b"-*"],
        [b"SSCAN", b"s", b"", b"COUNT", b"1"],
        [b"SRANDMEMBER", b"s", b"10"],
        [b"SRANDMEMBER", b"s", b"0"],
        [b"SPOP", b"s", b"0"],
        [b"SINTERCARD", b"2", b"s", b"t", b"LIMIT", b"0"],
        [b"SADD", b"big"] + big,
        [b"OBJECT", b"ENCODING", b"big"],
        [b"SDIFFSTORE", b"d", b"big", b"s", b"t"],
        [b"OBJECT", b"ENCODING", b"d"],
    ]
    # 600 integers minus ten sets of ten: Redis's estimate picks the
    # add-then-remove algorithm, so 500 integers end up in a hashtable.
    for k in range(10):
        script.append([b"SADD", b"r%d" % k] + big[k * 10:k * 10 + 10])
    script += [
        [b"SDIFFSTORE", b"d", b"big"] + [b"r%d" % k for k in range(10)],
        [b"OBJECT", b"ENCODING", b"d"],
        [b"SDIFFSTORE", b"d", b"big", b"r0"],
        [b"OBJECT", b"ENCODING", b"d"],
        [b"SDIFF", b"r0", b"big", b"r1"],
        [b"SREM", b"r0", b"0", b"1", b"2", b"3", b"4", b"5", b"6", b"7", b"8"],
        [b"SINTER", b"r0", b"big"],
        [b"SINTERCARD", b"3", b"big", b"r1", b"r1", b"LIMIT", b"3"],
        [b"SREM", b"big"] + big[100:],
        [b"SUNIONSTORE", b"u", b"big"],
        [b"OBJECT", b"ENCODING", b"u"],
        [b"SMEMBERS", b"u"],
        [b"SPOP", b"big", b"100"],
        [b"EXISTS", b"big"],
        [b"SET", b"str", b"x"],
        [b"SINTERSTORE", b"str", b"u", b"u"],
        [b"TYPE", b"str"],
        [b"SMOVE", b"u", b"str", b"7"],
        [b"SMOVE", b"u", b"fresh", b"word"],
        [b"SMOVE", b"u", b"fresh", b"7"],
        [b"OBJECT", b"ENCODING", b"fresh"],
        [b"EXPIREAT", b"fresh", b"%d" % FUTURE_S],
        [b"SADD", b"fresh", b"a"],
        [b"OBJECT", b"ENCODING", b"fresh"],
        [b"EXPIRETIME", b"fresh"],
        [b"CONFIG", b"SET", b"set-max-intset-entries", b"0"],
        [b"SADD", b"z", b"1"],
        [b"OBJECT", b"ENCODING", b"z"],
        [b"CONFIG", b"SET", b"set-max-intset-entries", b"512"],
        [b"DEBUG", b"DIGEST"],
    ]
    with RespConn(rm_srv.port) as rm, RespConn(ref_srv.port) as ref:
        for args in script:
            a, b = rm.call_raw(*args), ref.call_raw(*args)
            assert a == b, "%r: ringmaster %r, redis %r" % (args, a, b)
