"""Differential test of the server core against real redis-server 7.0.

A seeded generator produces command sequences over a small key space (so
commands collide: renames onto existing keys, INCR on binary strings, expiry
flags on keys with and without a TTL) and sends each command to Ringmaster
and to redis-server. The replies must be identical byte for byte, error
wording included; the whole dataset must have the same DEBUG DIGEST every
few hundred commands and at the end of each sequence.

What may legitimately differ is kept out of the byte comparison, never out
of the test:
  - TTL, PTTL, EXPIRETIME and PEXPIRETIME after a relative expiry depend on
    when each server ran the command: compared with a small tolerance.
  - KEYS and SCAN order depends on the hash table: compared as sorted sets,
    SCAN iterated to completion on each side.
  - RANDOMKEY: checked on each side to name an existing key (nil iff empty).
Expiry times are either far in the future or far in the past, never within
reach of the test's own runtime, so no key expires between two commands and
both servers always hold the same keys.

Each command goes to connection A (which also runs MULTI/EXEC and WATCH) or,
sometimes, connection B (which touches keys A watches); a third connection
takes the digests. On a mismatch the failure shows the seed, the command,
both replies and the commands before it; RM_DIFF_SEEDS=5,9 reruns just
those seeds.
"""

import collections
import os
import random

import pytest

import rmtest
from rmtest import RespConn, RespError

COMMANDS_PER_SEED = rmtest.scaled(2500)
DIGEST_EVERY = 250
DEFAULT_SEEDS = [1, 2, 3, 4, 5, 6, 7, 8]


def _seeds():
    env = os.environ.get("RM_DIFF_SEEDS", "")
    if env:
        return [int(s) for s in env.split(",") if s.strip()]
    return DEFAULT_SEEDS


KEYS = ([b"k%d" % i for i in range(18)] + [b"n%d" % i for i in range(6)] +
        [b"", b"bin\x00\r\nkey", b"\xff\xfe\xfd", b"key with spaces", b"{user}:1", b"*"])
DBS = [b"0", b"1", b"2", b"3"]
BAD_DBS = [b"16", b"-1", b"x", b"1.5", b"99999999999999999999"]

INT_EDGES = [b"9223372036854775807", b"9223372036854775806", b"-9223372036854775808",
             b"-9223372036854775807", b"9223372036854775808", b"-9223372036854775809",
             b"4611686018427387904", b"18446744073709551615", b"99999999999999999999",
             b"1000000000000000000"]
ODD_NUMBERS = [b"007", b"+5", b" 5", b"5 ", b"0x1f", b"-0", b"", b"1e3", b"--1", b"\x001", b"0"]
FLOATS = [b"3.14", b"-0.5", b"1e10", b"1.5e-5", b"inf", b"-inf", b"nan", b"1e308", b"-1e308",
          b"0.1", b"5.", b".5", b"1e400", b"0x1p3", b" 1.5", b"1.5 ", b"1.2.3", b"abc",
          b"17179869184", b"-3", b"0.0000001"]
GLOBS = [b"*", b"k*", b"k1*", b"k?", b"n[0-3]", b"[^k]*", b"*\x00*", b"*e*", b"k[", b"k\\1",
         b"{user}*", b"\\*", b"[a-z]?", b"n[!1]", b"*[s]*", b"?"]
UNKNOWN_NAMES = [b"FOOBAR", b"GETT", b"sett", b"x", b"", b"\x00bin", b"get\r\nset",
                 b"a" * 150, b"CONFIGG"]

# Fixed instants far from "now": expiries set with them never fire during
# the test and are identical on both servers (year 2096 and 1970).
FUTURE_S = 4_000_000_000
FUTURE_MS = FUTURE_S * 1000


class Step:
    """One command: arguments, connection ('A' or 'B') and comparison mode."""

    __slots__ = ("args", "conn", "mode")

    def __init__(self, args, mode="exact", conn="A"):
        self.args = [a if isinstance(a, bytes) else str(a).encode() for a in args]
        self.mode = mode
        self.conn = conn

    def name(self):
        return self.args[0].upper() if self.args else b""

    def __repr__(self):
        return "%s: %s" % (self.conn, " ".join(repr(a)[1:] for a in self.args))


class CommandGenerator:
    """Random commands from the 'server core' set, reproducible per seed."""

    # Modes: exact (bytes), ttl (integers within a tolerance), sorted (arrays
    # compared as sorted lists), scan / randomkey (checked per side).
    MULTI_UNSAFE = {"ttl", "keys", "scan", "randomkey"}

    def __init__(self, rng):
        self.rng = rng
        table = [
            ("set", 10), ("get", 6), ("getset", 1), ("getdel", 1), ("getex", 2), ("mget", 2),
            ("mset", 2), ("msetnx", 1), ("setnx", 1), ("setex", 1), ("psetex", 1),
            ("append", 3), ("strlen", 2), ("incr", 2), ("decr", 1), ("incrby", 2),
            ("decrby", 1), ("incrbyfloat", 2), ("getrange", 2), ("setrange", 2),
            ("del", 2), ("unlink", 1), ("exists", 2), ("type", 1), ("keys", 1), ("scan", 1),
            ("scan_bad", 0.3), ("randomkey", 0.5), ("rename", 1.5), ("renamenx", 1),
            ("move", 1), ("copy", 1.5), ("expire", 4), ("ttl", 3), ("persist", 1),
            ("object", 1.5), ("dbsize", 0.5), ("flushdb", 0.04), ("select", 1),
            ("swapdb", 0.3), ("ping", 0.3), ("echo", 0.3), ("multi", 1), ("watch", 0.7),
            ("unwatch", 0.2), ("stray_exec", 0.1), ("digest_value", 0.5), ("unknown", 0.3),
            ("arity", 1),
        ]
        self.names = [n for n, _ in table]
        self.weights = [w for _, w in table]
        self.multi_names = [n for n in self.names if n not in self.MULTI_UNSAFE]
        self.multi_weights = [w for n, w in table if n not in self.MULTI_UNSAFE]

    # -- arguments ----------------------------------------------------------

    def key(self):
        return self.rng.choice(KEYS)

    def keys(self, lo=1, hi=4):
        return [self.key() for _ in range(self.rng.randint(lo, hi))]

    def text(self, lo, hi):
        n = self.rng.randint(lo, hi)
        return bytes(self.rng.choice(b"abcdefghijklmnopqrstuvwxyz0123456789 _-") for _ in range(n))

    def value(self):
        r = self.rng.random()
        if r < 0.25:
            return b"%d" % self.rng.randint(-20, 200)
        if r < 0.32:
            return self.rng.choice(INT_EDGES)
        if r < 0.40:
            return self.rng.choice(FLOATS)
        if r < 0.46:
            return self.rng.choice(ODD_NUMBERS)
        if r < 0.60:
            return bytes(self.rng.randrange(256) for _ in range(self.rng.randint(0, 16)))
        if r < 0.75:
            return self.text(1, 30)
        if r < 0.87:
            return self.text(40, 48)  # around the 44-byte embstr limit
        return self.text(50, 300)

    def int_arg(self):
        r = self.rng.random()
        if r < 0.6:
            return b"%d" % self.rng.randint(-100, 100)
        if r < 0.85:
            return self.rng.choice(INT_EDGES)
        return self.rng.choice(ODD_NUMBERS + [b"1.5", b"abc"])

    def float_arg(self):
        if self.rng.random() < 0.4:
            return b"%d" % self.rng.randint(-50, 50)
        return self.rng.choice(FLOATS + INT_EDGES[:4])

    def range_index(self):
        if self.rng.random() < 0.85:
            return b"%d" % self.rng.randint(-60, 60)
        return self.rng.choice([b"9223372036854775807", b"-9223372036854775808", b"a", b""])

    def db(self):
        return self.rng.choice(DBS) if self.rng.random() < 0.9 else self.rng.choice(BAD_DBS)

    def rel_seconds(self):
        if self.rng.random() < 0.85:
            return b"%d" % self.rng.randint(10**6, 10**8)
        return self.rng.choice([b"0", b"-1", b"-100000", b"abc", b"1.5", b"", b"9223372036854775807",
                                b"9223372036854775", b"9223372036854776", b"4611686018427387904",
                                b"-9223372036854775808"])

    def rel_ms(self):
        if self.rng.random() < 0.85:
            return b"%d" % self.rng.randint(10**9, 10**11)
        return self.rng.choice([b"0", b"-1", b"-5000", b"x", b"9223372036854775807",
                                b"9223372036854775000", b"9000000000000000", b"-9223372036854775808"])

    def abs_seconds(self, allow_past=True):
        r = self.rng.random()
        if r < 0.4:
            return b"%d" % (FUTURE_S + 1000 * self.rng.randint(0, 9))  # collide on purpose
        if r < 0.8 or not allow_past:
            return b"%d" % (FUTURE_S + self.rng.randint(0, 10**8))
        return self.rng.choice([b"1", b"1000000", b"0", b"-1", b"9223372036854775807",
                                b"9223372036854775", b"abc"])

    def abs_ms(self, allow_past=True):
        r = self.rng.random()
        if r < 0.4:
            return b"%d" % (FUTURE_MS + 1000000 * self.rng.randint(0, 9))
        if r < 0.8 or not allow_past:
            return b"%d" % (FUTURE_MS + self.rng.randint(0, 10**11))
        return self.rng.choice([b"1", b"1000000000", b"0", b"-1", b"9223372036854775807", b"y"])

    def expiry_option(self, allow_past):
        unit = self.rng.choice([b"EX", b"PX", b"EXAT", b"PXAT"])
        if unit == b"EX":
            arg = self.rel_seconds()
        elif unit == b"PX":
            arg = self.rel_ms()
        elif unit == b"EXAT":
            arg = self.abs_seconds(allow_past)
        else:
            arg = self.abs_ms(allow_past)
        if not allow_past and arg in (b"1", b"1000000", b"1000000000", b"-1", b"-100000", b"-5000"):
            arg = b"0"  # SET rejects <= 0; a positive past instant would leave a dead key
        return [unit, arg]

    # -- commands -----------------------------------------------------------

    def cmd_set(self):
        groups = []
        if self.rng.random() < 0.5:
            groups.append(self.expiry_option(allow_past=False))
        if self.rng.random() < 0.3:
            groups.append([self.rng.choice([b"NX", b"XX"])])
        if self.rng.random() < 0.1:
            groups.append([b"KEEPTTL"])
        if self.rng.random() < 0.2:
            groups.append([b"GET"])
        if self.rng.random() < 0.04:
            groups.append([self.rng.choice([b"FOO", b"EX", b"NX", b"PXAT"])])
        self.rng.shuffle(groups)
        args = [b"SET", self.key(), self.value()]
        for g in groups:
            args += g
        return Step(args)

    def cmd_get(self):
        return Step([b"GET", self.key()])

    def cmd_getset(self):
        return Step([b"GETSET", self.key(), self.value()])

    def cmd_getdel(self):
        return Step([b"GETDEL", self.key()])

    def cmd_getex(self):
        args = [b"GETEX", self.key()]
        r = self.rng.random()
        if r < 0.55:
            args += self.expiry_option(allow_past=True)
        elif r < 0.75:
            args.append(b"PERSIST")
        elif r < 0.82:
            args += [b"PERSIST"] + self.expiry_option(allow_past=True)
        elif r < 0.86:
            args.append(b"EX")
        return Step(args)

    def cmd_mget(self):
        return Step([b"MGET"] + self.keys(1, 5))

    def cmd_mset(self):
        args = [b"MSET"]
        for _ in range(self.rng.randint(1, 4)):
            args += [self.key(), self.value()]
        return Step(args)

    def cmd_msetnx(self):
        return Step([b"MSETNX"] + self.cmd_mset().args[1:])

    def cmd_setnx(self):
        return Step([b"SETNX", self.key(), self.value()])

    def cmd_setex(self):
        return Step([b"SETEX", self.key(), self.rel_seconds(), self.value()])

    def cmd_psetex(self):
        return Step([b"PSETEX", self.key(), self.rel_ms(), self.value()])

    def cmd_append(self):
        return Step([b"APPEND", self.key(), self.value()])

    def cmd_strlen(self):
        return Step([b"STRLEN", self.key()])

    def cmd_incr(self):
        return Step([b"INCR", self.key()])

    def cmd_decr(self):
        return Step([b"DECR", self.key()])

    def cmd_incrby(self):
        return Step([b"INCRBY", self.key(), self.int_arg()])

    def cmd_decrby(self):
        return Step([b"DECRBY", self.key(), self.int_arg()])

    def cmd_incrbyfloat(self):
        return Step([b"INCRBYFLOAT", self.key(), self.float_arg()])

    def cmd_getrange(self):
        return Step([b"GETRANGE", self.key(), self.range_index(), self.range_index()])

    def cmd_setrange(self):
        r = self.rng.random()
        if r < 0.75:
            offset = b"%d" % self.rng.randint(0, 64)
        elif r < 0.88:
            offset = b"%d" % self.rng.randint(100, 200)
        else:
            # Never 536870911 with a value: that would really allocate 512MB.
            offset = self.rng.choice([b"-1", b"536870912", b"536870913", b"1099511627776",
                                      b"9223372036854775807", b"abc"])
        return Step([b"SETRANGE", self.key(), offset, self.value()])

    def cmd_del(self):
        return Step([b"DEL"] + self.keys())

    def cmd_unlink(self):
        return Step([b"UNLINK"] + self.keys())

    def cmd_exists(self):
        return Step([b"EXISTS"] + self.keys(1, 5))

    def cmd_type(self):
        return Step([b"TYPE", self.key()])

    def cmd_keys(self):
        return Step([b"KEYS", self.rng.choice(GLOBS)], mode="sorted")

    def cmd_scan(self):
        args = [b"SCAN", b"0"]
        if self.rng.random() < 0.5:
            args += [b"MATCH", self.rng.choice(GLOBS)]
        if self.rng.random() < 0.5:
            args += [b"COUNT", b"%d" % self.rng.randint(1, 20)]
        if self.rng.random() < 0.3:
            args += [b"TYPE", self.rng.choice([b"string", b"list", b"hash", b"STRING"])]
        return Step(args, mode="scan")

    def cmd_scan_bad(self):
        return Step(self.rng.choice([
            [b"SCAN", b"abc"], [b"SCAN", b"1x"], [b"SCAN", b"0", b"COUNT", b"0"],
            [b"SCAN", b"0", b"COUNT", b"x"], [b"SCAN", b"0", b"MATCH"], [b"SCAN", b"0", b"FOO", b"1"],
            [b"SCAN", b"18446744073709551616"]]))

    def cmd_randomkey(self):
        return Step([b"RANDOMKEY"], mode="randomkey")

    def cmd_rename(self):
        return Step([b"RENAME", self.key(), self.key()])

    def cmd_renamenx(self):
        return Step([b"RENAMENX", self.key(), self.key()])

    def cmd_move(self):
        return Step([b"MOVE", self.key(), self.db()])

    def cmd_copy(self):
        args = [b"COPY", self.key(), self.key()]
        if self.rng.random() < 0.5:
            args += [b"DB", self.db()]
        if self.rng.random() < 0.4:
            args.append(b"REPLACE")
        if self.rng.random() < 0.03:
            args.append(b"BOGUS")
        return Step(args)

    def cmd_expire(self):
        name = self.rng.choice([b"EXPIRE", b"PEXPIRE", b"EXPIREAT", b"PEXPIREAT"])
        when = {b"EXPIRE": self.rel_seconds, b"PEXPIRE": self.rel_ms,
                b"EXPIREAT": self.abs_seconds, b"PEXPIREAT": self.abs_ms}[name]()
        args = [name, self.key(), when]
        r = self.rng.random()
        if r < 0.5:
            args.append(self.rng.choice([b"NX", b"XX", b"GT", b"LT"]))
        elif r < 0.56:
            args += self.rng.sample([b"NX", b"XX", b"GT", b"LT", b"FOO"], 2)
        return Step(args)

    def cmd_ttl(self):
        name = self.rng.choice([b"TTL", b"PTTL", b"EXPIRETIME", b"PEXPIRETIME"])
        return Step([name, self.key()], mode="ttl")

    def cmd_persist(self):
        return Step([b"PERSIST", self.key()])

    def cmd_object(self):
        if self.rng.random() < 0.9:
            return Step([b"OBJECT", b"ENCODING", self.key()])
        return Step(self.rng.choice([[b"OBJECT", b"FOO", self.key()], [b"OBJECT", b"ENCODING"],
                                     [b"OBJECT", b"encoding", self.key(), self.key()]]))

    def cmd_dbsize(self):
        return Step([b"DBSIZE"])

    def cmd_flushdb(self):
        return Step(self.rng.choice([[b"FLUSHDB"], [b"FLUSHDB", b"ASYNC"], [b"FLUSHDB", b"SYNC"]]))

    def cmd_select(self):
        return Step([b"SELECT", self.db()])

    def cmd_swapdb(self):
        return Step([b"SWAPDB", self.db(), self.db()])

    def cmd_ping(self):
        return Step(self.rng.choice([[b"PING"], [b"PING", self.value()]]))

    def cmd_echo(self):
        return Step([b"ECHO", self.value()])

    def cmd_multi(self):
        return Step([b"MULTI"])

    def cmd_watch(self):
        return Step([b"WATCH"] + self.keys(1, 3))

    def cmd_unwatch(self):
        return Step([b"UNWATCH"])

    def cmd_stray_exec(self):
        return Step([self.rng.choice([b"EXEC", b"DISCARD"])])

    def cmd_digest_value(self):
        return Step([b"DEBUG", b"DIGEST-VALUE"] + self.keys(1, 3))

    def cmd_unknown(self):
        args = [self.rng.choice(UNKNOWN_NAMES)]
        for _ in range(self.rng.randint(0, 3)):
            args.append(self.value())
        return Step(args)

    def cmd_arity(self):
        """A valid command with arguments dropped or added."""
        name = self.rng.choice([n for n in self.multi_names if n not in ("arity", "unknown", "scan_bad")])
        step = getattr(self, "cmd_" + name)()
        if self.rng.random() < 0.5 and len(step.args) > 1:
            del step.args[self.rng.randint(1, len(step.args) - 1):]
        else:
            step.args += [self.value() for _ in range(self.rng.randint(1, 3))]
        return step

    def next(self, in_multi):
        if in_multi:
            name = self.rng.choices(self.multi_names, self.multi_weights)[0]
        else:
            name = self.rng.choices(self.names, self.weights)[0]
        step = getattr(self, "cmd_" + name)()
        if self.rng.random() < 0.15 and step.args and step.args[0]:
            step.args[0] = bytes(self.rng.choice((c, c ^ 0x20)) if 65 <= (c & ~0x20) <= 90 else c
                                 for c in step.args[0])
        if (step.mode == "exact" and name not in ("multi", "watch", "unwatch", "stray_exec")
                and self.rng.random() < 0.1):
            step.conn = "B"
        return step


class Side:
    """One server's three connections: A (transactions), B (interferes), control."""

    def __init__(self, label, server):
        self.label = label
        self.server = server
        self.conns = {"A": RespConn(server.port), "B": RespConn(server.port)}
        self.control = RespConn(server.port)

    def close(self):
        for c in self.conns.values():
            c.close()
        self.control.close()


def tolerance(name):
    return 2000 if name.startswith(b"P") else 2


def same_ttl(name, a, b):
    if isinstance(a, int) and isinstance(b, int) and a >= 0 and b >= 0:
        return abs(a - b) <= tolerance(name)
    return a == b


def scan_all(conn, extra):
    """Iterate SCAN to completion; the sorted keys, or the first error."""
    cursor = b"0"
    found = set()
    for _ in range(10000):
        reply = conn.call(b"SCAN", cursor, *extra)
        if isinstance(reply, RespError):
            return reply
        cursor, batch = reply
        found.update(batch)
        if cursor == b"0":
            return sorted(found)
    raise AssertionError("SCAN did not finish within 10000 calls")


def random_key_ok(conn):
    """RANDOMKEY names an existing key, or is nil only when the db is empty."""
    key = conn.call(b"RANDOMKEY")
    if key is None:
        return key, conn.call(b"DBSIZE") == 0
    return b"<a key>", conn.call(b"EXISTS", key) == 1


class Differ:
    """Runs one seed's sequence against both servers and reports mismatches."""

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
        lines.append("rerun only this seed with RM_DIFF_SEEDS=%d" % self.seed)
        pytest.fail("\n".join(lines), pytrace=False)

    def exchange(self, conn, args):
        """Send to both servers, then read both replies: (rm, ref) as (raw, value)."""
        replies = []
        for side in (self.rm, self.ref):
            side.conns[conn].send_command(*args)
        for side in (self.rm, self.ref):
            try:
                replies.append(side.conns[conn].read_reply())
            except (OSError, ValueError, rmtest.ConnectionClosed) as e:
                pytest.fail("seed %d: no valid reply from %s to %r: %r\n%s" %
                            (self.seed, side.label, args, e, side.server.log_tail()), pytrace=False)
        return replies

    def check_digest(self, index, step):
        rm = self.rm.control.call_raw(b"DEBUG", b"DIGEST")
        ref = self.ref.control.call_raw(b"DEBUG", b"DIGEST")
        if rm != ref:
            self.fail(index, step, "DEBUG DIGEST differs after this command\n" +
                      self.dataset_diff(), rm, ref)

    def dataset_diff(self):
        """The first differences between the two datasets, for the report."""
        try:
            return self._dataset_diff()
        except Exception as e:  # the report must not hide the digest mismatch
            return "  (could not compare the datasets: %r)" % e

    def _dataset_diff(self):
        out = []
        for db in range(4):
            dumps = []
            for side in (self.rm, self.ref):
                c = side.control
                c.call(b"SELECT", db)
                entries = {}
                for k in c.call(b"KEYS", b"*"):
                    entries[k] = (c.call(b"GET", k), c.call(b"PTTL", k) >= 0,
                                  c.call(b"OBJECT", b"ENCODING", k))
                c.call(b"SELECT", 0)
                dumps.append(entries)
            for k in sorted(set(dumps[0]) | set(dumps[1])):
                a, b = dumps[0].get(k), dumps[1].get(k)
                if a != b:
                    out.append("  db%d %r: ringmaster %r, redis %r" % (db, k, a, b))
        return "\n".join(out[:15]) or "  (no difference in GET/TTL-presence/encoding of db0-3)"

    def run(self, count):
        gen = CommandGenerator(random.Random(self.seed))
        in_multi = False
        queued = 0
        for index in range(count):
            if in_multi and (queued >= 8 or gen.rng.random() < 0.15):
                step = Step([gen.rng.choice([b"EXEC", b"EXEC", b"EXEC", b"DISCARD"])])
            else:
                step = gen.next(in_multi)
            result = self.execute(index, step)
            self.history.append((index, step, result))
            if step.conn == "A":
                name = step.name()
                # EXEC ends a transaction even with the wrong arity (EXECABORT);
                # a malformed DISCARD only flags it.
                if in_multi and (name == b"EXEC" or (name == b"DISCARD" and len(step.args) == 1)):
                    in_multi = False
                elif (not in_multi and len(step.args) == 1 and name == b"MULTI"
                      and result == b"+OK\r\n"):
                    in_multi, queued = True, 0
                elif in_multi:
                    queued += 1
            if index % DIGEST_EVERY == DIGEST_EVERY - 1:
                self.check_digest(index, step)
        if in_multi:
            self.exchange("A", [b"DISCARD"])
        self.check_digest(count, Step([b"(end of sequence)"]))

    def execute(self, index, step):
        if step.mode == "scan":
            rm = scan_all(self.rm.conns["A"], step.args[2:])
            ref = scan_all(self.ref.conns["A"], step.args[2:])
            if rm != ref:
                self.fail(index, step, "SCAN to completion found different keys", rm, ref)
            return ref
        if step.mode == "randomkey":
            rm = random_key_ok(self.rm.conns["A"])
            ref = random_key_ok(self.ref.conns["A"])
            if not rm[1] or not ref[1] or (rm[0] is None) != (ref[0] is None):
                self.fail(index, step, "RANDOMKEY inconsistent with the keyspace", rm, ref)
            return ref
        (rm_raw, rm_val), (ref_raw, ref_val) = self.exchange(step.conn, step.args)
        if step.mode == "ttl":
            ok = same_ttl(step.name(), rm_val, ref_val)
        elif step.mode == "sorted" and isinstance(rm_val, list) and isinstance(ref_val, list):
            ok = sorted(rm_val) == sorted(ref_val)
        else:
            ok = rm_raw == ref_raw
        if not ok:
            self.fail(index, step, "replies differ", rm_raw, ref_raw)
        return ref_raw


@pytest.mark.parametrize("seed", _seeds())
def test_random_core_commands(seed, ringmaster, redis_ref):
    differ = Differ(seed, ringmaster, redis_ref)
    try:
        differ.run(COMMANDS_PER_SEED)
    finally:
        differ.close()


def test_digest_of_empty_and_simple_datasets(ringmaster, redis_ref):
    """Fixed cases first: a digest mismatch here is easier to read than a seed's."""
    script = [
        [b"DEBUG", b"DIGEST"],
        [b"SET", b"a", b"1"],
        [b"DEBUG", b"DIGEST"],
        [b"SET", b"b", b"hello", b"EXAT", b"%d" % FUTURE_S],
        [b"DEBUG", b"DIGEST"],
        [b"DEBUG", b"DIGEST-VALUE", b"a", b"b", b"missing"],
        [b"SELECT", b"1"],
        [b"SET", b"a", b"x" * 100],
        [b"DEBUG", b"DIGEST"],
        [b"OBJECT", b"ENCODING", b"a"],
        [b"SELECT", b"0"],
        [b"OBJECT", b"ENCODING", b"a"],
        [b"APPEND", b"a", b"2"],
        [b"OBJECT", b"ENCODING", b"a"],
        [b"SET", b"c", b"x" * 44],
        [b"OBJECT", b"ENCODING", b"c"],
        [b"SET", b"c", b"x" * 45],
        [b"OBJECT", b"ENCODING", b"c"],
        [b"INCRBYFLOAT", b"a", b"0.1"],
        [b"OBJECT", b"ENCODING", b"a"],
        [b"DEBUG", b"DIGEST"],
    ]
    with RespConn(ringmaster.port) as rm, RespConn(redis_ref.port) as ref:
        for args in script:
            a, b = rm.call_raw(*args), ref.call_raw(*args)
            assert a == b, "%r: ringmaster %r, redis %r" % (args, a, b)


def test_string_overwrites_match_redis(ringmaster, redis_ref):
    """SET over a string rewrites it in place when the bytes fit: value, encoding, TTL and
    WATCH must come out as from a new value (same size, shorter, longer, numeric, after APPEND,
    with KEEPTTL, over another type)."""
    v64, w64 = b"a" * 64, b"b" * 64
    script = [
        [b"SET", b"k", v64], [b"SET", b"k", w64], [b"GET", b"k"], [b"OBJECT", b"ENCODING", b"k"],
        [b"SET", b"k", b"c" * 60], [b"GET", b"k"], [b"OBJECT", b"ENCODING", b"k"],
        [b"SET", b"k", b"d" * 30], [b"GET", b"k"], [b"OBJECT", b"ENCODING", b"k"],
        [b"SET", b"k", b"e" * 30], [b"OBJECT", b"ENCODING", b"k"],
        [b"SET", b"k", b"12345678901234567890"], [b"OBJECT", b"ENCODING", b"k"],
        [b"SET", b"k", b"1234567890123456789"], [b"OBJECT", b"ENCODING", b"k"],
        [b"SET", b"k", b"f" * 19], [b"OBJECT", b"ENCODING", b"k"],
        [b"SET", b"k", b"g" * 19], [b"GET", b"k"],
        [b"SET", b"k", v64, b"EX", b"100"], [b"SET", b"k", w64], [b"TTL", b"k"],
        [b"SET", b"k", v64, b"EX", b"100"], [b"SET", b"k", w64, b"KEEPTTL"], [b"TTL", b"k"],
        [b"SET", b"k", w64, b"GET"], [b"SETEX", b"k", b"50", v64], [b"TTL", b"k"], [b"GET", b"k"],
        [b"SET", b"a", b"x" * 40], [b"APPEND", b"a", b"yy"], [b"OBJECT", b"ENCODING", b"a"],
        [b"SET", b"a", b"z" * 42], [b"OBJECT", b"ENCODING", b"a"], [b"GET", b"a"],
        [b"RPUSH", b"l", b"1"], [b"SET", b"l", v64], [b"TYPE", b"l"], [b"GET", b"l"],
        [b"SET", b"k", b""], [b"GET", b"k"], [b"SET", b"k", b""], [b"STRLEN", b"k"],
        [b"DEBUG", b"DIGEST"],
    ]
    with RespConn(ringmaster.port) as rm, RespConn(redis_ref.port) as ref:
        for args in script:
            a, b = rm.call_raw(*args), ref.call_raw(*args)
            assert a == b, "%r: ringmaster %r, redis %r" % (args, a, b)
        # WATCH sees an in-place overwrite as a change.
        for c in (rm, ref):
            c.call(b"SET", b"w", v64)
            c.call(b"WATCH", b"w")
        with RespConn(ringmaster.port) as rm2, RespConn(redis_ref.port) as ref2:
            rm2.call(b"SET", b"w", w64)
            ref2.call(b"SET", b"w", w64)
        for c in (rm, ref):
            c.call(b"MULTI")
            c.call(b"GET", b"w")
        assert rm.call_raw(b"EXEC") == ref.call_raw(b"EXEC") == b"*-1\r\n"
