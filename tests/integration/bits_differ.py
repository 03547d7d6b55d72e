"""A side-by-side runner for the bitmap, HyperLogLog and geo differential tests.

Every command goes to Ringmaster and to redis-server 7.0 and the replies
must match byte for byte. After each command the runner also compares what
a replica would see:
  - the dirty counter (INFO's rdb_changes_since_last_save) moved by the
    same amount: a command propagates exactly when it moves it;
  - the keyspace notifications it sent (notify-keyspace-events KEA), in
    order: each side's subscriber reads up to a marker message published
    after the command.
DEBUG DIGEST is compared every `digest_every` commands and at the end. A
mismatch fails with the seed, the command, both replies and the commands
before it.
"""

import collections
import os

import pytest

from rmtest import RespConn

MARKER = b"bits-differ-marker"


def seeds(default):
    """The seeds to run: RM_DIFF_SEEDS=5,9 reruns only those."""
    env = os.environ.get("RM_DIFF_SEEDS", "")
    if env:
        return [int(s) for s in env.split(",") if s.strip()]
    return default


def dirty(conn):
    info = conn.call(b"INFO", b"persistence")
    for line in info.split(b"\r\n"):
        if line.startswith(b"rdb_changes_since_last_save:"):
            return int(line.split(b":")[1])
    raise AssertionError("no rdb_changes_since_last_save in INFO")


class Side:
    """One server: a command connection, a control one and a subscriber."""

    def __init__(self, server):
        self.cmd = RespConn(server.port)
        self.ctl = RespConn(server.port)
        assert self.ctl.call(b"CONFIG", b"SET", b"notify-keyspace-events", b"KEA") == b"OK"
        self.sub = RespConn(server.port)
        self.sub.send_command(b"PSUBSCRIBE", b"__key*__:*")
        self.sub.read_reply()
        self.sub.send_command(b"SUBSCRIBE", MARKER)
        self.sub.read_reply()
        self.marks = 0

    def events(self):
        """The notifications since the last call, up to a fresh marker."""
        self.marks += 1
        self.ctl.call(b"PUBLISH", MARKER, b"%d" % self.marks)
        out = []
        while True:
            msg = self.sub.read_reply()[1]
            if msg[0] == b"message" and msg[1] == MARKER:
                if msg[2] == b"%d" % self.marks:
                    return out
                continue
            out.append(tuple(msg[2:]))

    def close(self):
        for c in (self.cmd, self.ctl, self.sub):
            c.close()


class Differ:
    def __init__(self, seed, rm_server, ref_server, digest_every=200):
        self.seed = seed
        self.rm = Side(rm_server)
        self.ref = Side(ref_server)
        self.history = collections.deque(maxlen=20)
        self.index = 0
        self.digest_every = digest_every
        self.dirty = (dirty(self.rm.ctl), dirty(self.ref.ctl))

    def close(self):
        self.rm.close()
        self.ref.close()

    def fail(self, args, what, rm, ref):
        lines = ["seed %r, command #%d %r: %s" % (self.seed, self.index, args, what),
                 "  ringmaster: %r" % (rm,), "  redis:      %r" % (ref,),
                 "commands before it (newest last):"]
        lines += ["  #%d %r -> %r" % h for h in self.history]
        pytest.fail("\n".join(lines), pytrace=False)

    def reset(self):
        self.both_ctl(b"FLUSHALL")
        self.dirty = (dirty(self.rm.ctl), dirty(self.ref.ctl))
        self.rm.events()
        self.ref.events()

    def both_ctl(self, *args):
        """A control command on both sides; the replies must match."""
        rm, ref = self.rm.ctl.call_raw(*args), self.ref.ctl.call_raw(*args)
        if rm != ref:
            self.fail(list(args), "control command differs", rm, ref)
        return ref

    def run_one(self, args, compare=True):
        """Run `args` on both sides; returns (rm_raw, ref_raw)."""
        self.rm.cmd.send_command(*args)
        self.ref.cmd.send_command(*args)
        rm_raw, ref_raw = self.rm.cmd.read_reply()[0], self.ref.cmd.read_reply()[0]
        if compare and rm_raw != ref_raw:
            self.fail(args, "replies differ", rm_raw, ref_raw)
        now = (dirty(self.rm.ctl), dirty(self.ref.ctl))
        moved = (now[0] - self.dirty[0], now[1] - self.dirty[1])
        self.dirty = now
        if moved[0] != moved[1]:
            self.fail(args, "dirty counter moved differently", moved[0], moved[1])
        rm_ev, ref_ev = self.rm.events(), self.ref.events()
        if rm_ev != ref_ev:
            self.fail(args, "keyspace notifications differ", rm_ev, ref_ev)
        self.history.append((self.index, args, ref_raw[:160]))
        self.index += 1
        if self.index % self.digest_every == 0:
            self.check_digest(args)
        return rm_raw, ref_raw

    def check_digest(self, args=(b"(digest)",)):
        rm = self.rm.ctl.call_raw(b"DEBUG", b"DIGEST")
        ref = self.ref.ctl.call_raw(b"DEBUG", b"DIGEST")
        if rm != ref:
            self.fail(list(args), "DEBUG DIGEST differs", rm, ref)

    def final_check(self, keys, extra=()):
        """The digest, then each key's bytes, encoding and digest (and the
        `extra` commands on each key) equal on both sides."""
        self.check_digest()
        for key in keys:
            for args in ([b"GET", key], [b"OBJECT", b"ENCODING", key],
                         [b"DEBUG", b"DIGEST-VALUE", key]) + tuple(e + [key] for e in extra):
                self.both_ctl(*args)

    def run_random(self, gen, count, keys, extra=()):
        """`count` commands from `gen` from an empty dataset, then the
        final checks of `keys`."""
        self.reset()
        for _ in range(count):
            self.run_one(gen.next())
        self.final_check(keys, extra)
