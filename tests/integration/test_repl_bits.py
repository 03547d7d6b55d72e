"""Bitmaps, HyperLogLogs and geo sets across a replication link.

A master runs the differential tests' random command streams (bitmaps,
HLLs: PFADD through promotions, PFCOUNT's cache writes, PFMERGE, PFDEBUG,
damaged values; geo when its generator exists) once before the replica
attaches (so the values travel in the RDB) and again while it is attached
(so they travel as the propagated commands). Then the replica's DEBUG
DIGEST and the bytes of every key (GET) must equal the master's.

Each master (a redis-server 7.0, then a Ringmaster) has two replicas, a
redis-server and a Ringmaster, and the Ringmaster replica must hold exactly
what the Redis replica holds. Not the master's data byte for byte: Redis
itself leaves a few effects unpropagated (a PFADD that fails halfway
through a damaged HLL keeps the registers it raised; a BITFIELD whose only
write OVERFLOW FAIL refused still creates the key), and a replica must
diverge from its master exactly as Redis's own replica does.
CONFIG SET is left out of the streams: configuration does not replicate,
in Redis either.
"""

import random
import sys

import pytest

import rmtest
import test_differential_bits
import test_differential_hll
from repl_helpers import call, caught_up, wait_snapshots_taken

COMMANDS_PER_PHASE = rmtest.scaled(1500)


def generators(seed):
    gens = [test_differential_bits.Generator(random.Random(seed)),
            test_differential_hll.Generator(random.Random(seed + 1))]
    try:
        import test_differential_geo
        gens.append(test_differential_geo.Generator(random.Random(seed + 2)))
    except ImportError:
        pass
    return gens


def keys_of(gens):
    """Every key the generators' modules name."""
    keys = set()
    for g in gens:
        keys.update(sys.modules[type(g).__module__].KEYS)
    return sorted(keys)


def run_load(server, gens, rng, n):
    """n commands drawn from the generators, pipelined in batches."""
    with server.raw() as c:
        batch = []
        for i in range(n):
            args = rng.choice(gens).next()
            if args[0].upper() == b"CONFIG":
                continue
            batch.append(rmtest.encode_command(*args))
            if len(batch) == 50 or i == n - 1:
                c.send(b"".join(batch))
                for _ in batch:
                    c.read_reply()
                batch = []


@pytest.mark.parametrize("master_kind", ["redis", "ringmaster"])
def test_replicas_agree_after_bit_hll_geo_load(servers, master_kind):
    start_master = servers.redis if master_kind == "redis" else servers.ringmaster
    master = start_master("--save", "", "--repl-diskless-sync", "no", name="master")
    gens = generators(4242)
    rng = random.Random(4243)
    run_load(master, gens, rng, COMMANDS_PER_PHASE)
    replica_args = ("--replicaof", "127.0.0.1", str(master.port), "--repl-timeout", "60",
                    "--save", "")
    reference = servers.redis(*replica_args, name="redis-replica")
    replica = servers.ringmaster(*replica_args, name="rm-replica")
    wait_snapshots_taken(master, 2)
    run_load(master, gens, rng, COMMANDS_PER_PHASE)
    caught_up(master, reference)
    caught_up(master, replica)
    want = call(reference, "DEBUG", "DIGEST")
    assert want != b"0" * 40
    assert call(replica, "DEBUG", "DIGEST") == want
    for key in keys_of(gens):
        assert call(replica, "GET", key) == call(reference, "GET", key), key


def test_pfcount_on_a_replica_writes_only_its_own_cache(servers):
    """PFCOUNT on a replica writes the cached cardinality into the replica's
    copy, as a Redis replica does, but a replica never propagates its own
    changes: its offset stays the master's and the stream goes on (a
    replica that sent its PFCOUNT on would be ahead and never catch up)."""
    master = servers.redis("--save", "", "--repl-diskless-sync", "yes",
                           "--repl-diskless-sync-delay", "0", name="master")
    call(master, "PFADD", "h", "a", "b", "c")
    replica_args = ("--replicaof", "127.0.0.1", str(master.port), "--save", "")
    reference = servers.redis(*replica_args, name="redis-replica")
    replica = servers.ringmaster(*replica_args, name="rm-replica")
    caught_up(master, reference)
    caught_up(master, replica)
    stale = call(master, "GET", "h")
    assert stale[15] & 0x80  # the cache is stale
    assert call(replica, "PFCOUNT", "h") == call(reference, "PFCOUNT", "h") == 3
    assert call(replica, "GET", "h") == call(reference, "GET", "h") != stale
    assert call(master, "GET", "h") == stale
    call(master, "PFADD", "h", "d")
    caught_up(master, replica)
    caught_up(master, reference)
    # The replicas keep the stale count's bytes under the stale mark (the
    # master never computed one): the same bytes on both replicas.
    assert call(replica, "GET", "h") == call(reference, "GET", "h")
    assert call(replica, "PFCOUNT", "h") == call(master, "PFCOUNT", "h") == 4


class StreamReader:
    """A replica's side of the handshake on a raw socket: the payload is
    skipped and the command stream that follows is what the test reads."""

    def __init__(self, master):
        self.conn = rmtest.RespConn(master.port)
        assert self.conn.call("REPLCONF", "listening-port", rmtest.free_port()) == b"OK"
        self.conn.send_command("PSYNC", "?", "-1")
        full = self.conn._line().lstrip(b"\n")
        assert full.startswith(b"+FULLRESYNC "), full
        header = self.conn._line().lstrip(b"\n")
        assert header.startswith(b"$") and not header.startswith(b"$EOF:"), header
        self.conn._exact(int(header[1:-2]))

    def stream(self):
        """Everything sent since the payload, without the PINGs."""
        data = self.conn.pending()
        more, _ = rmtest.read_until_closed_or_quiet(self.conn.sock, quiet=0.5)
        return (data + more).replace(b"*1\r\n$4\r\nPING\r\n", b"")

    def close(self):
        self.conn.close()


# Commands whose propagation is not simply "the command, when it changed
# something": GEOADD as ZADD, PFCOUNT writing the cache, the writes that
# change nothing, the STORE forms, a deleted destination, a transaction.
PROPAGATION_SCRIPT = [
    ["SETBIT", "k", "7", "1"], ["SETBIT", "k", "7", "1"], ["SETBIT", "k", "100", "0"],
    ["BITFIELD", "f", "SET", "u8", "0", "0"], ["BITFIELD", "f", "SET", "u8", "0", "0"],
    ["BITFIELD", "f", "OVERFLOW", "FAIL", "INCRBY", "u8", "0", "300"],
    ["BITFIELD", "f", "INCRBY", "u8", "0", "300", "GET", "u4", "0"],
    ["BITFIELD_RO", "f", "GET", "u8", "0"], ["BITOP", "NOT", "d", "k"],
    ["BITOP", "AND", "d", "nosuchkey"], ["BITOP", "AND", "d", "nosuchkey"],
    ["PFADD", "h", "a", "b", "c"], ["PFADD", "h", "a"], ["PFCOUNT", "h"], ["PFCOUNT", "h"],
    ["PFCOUNT", "h", "nosuchkey"], ["PFMERGE", "m", "h"], ["PFDEBUG", "TODENSE", "m"],
    ["PFDEBUG", "TODENSE", "m"], ["PFDEBUG", "ENCODING", "h"],
    ["GEOADD", "g", "13.361389", "38.115556", "Palermo", "15.087269", "37.502669", "Catania"],
    ["GEOADD", "g", "XX", "CH", "13", "38", "Palermo", "1", "1", "Nowhere"],
    ["GEOADD", "g", "NX", "13", "38", "Palermo"],
    ["GEORADIUS", "g", "15", "37", "200", "km", "STORE", "s"],
    ["GEORADIUSBYMEMBER", "g", "Palermo", "300", "km", "STOREDIST", "s2"],
    ["GEOSEARCHSTORE", "s", "g", "FROMLONLAT", "0", "0", "BYRADIUS", "1", "m"],
    ["GEOSEARCHSTORE", "s", "g", "FROMLONLAT", "0", "0", "BYRADIUS", "1", "m"],
    ["GEORADIUS_RO", "g", "15", "37", "200", "km"],
    ["MULTI"], ["GEOADD", "g", "2", "2", "x"], ["PFADD", "h", "z"], ["PFCOUNT", "h"],
    ["SETBIT", "k", "7", "1"], ["EXEC"],
]


def test_propagated_stream_is_redis_stream(servers):
    """The same script on a redis-server master and a Ringmaster master: the
    bytes each sends its replica after the payload are the same."""
    streams = []
    for start in (servers.redis, servers.ringmaster):
        master = start("--save", "", "--repl-diskless-sync", "no", "--repl-ping-replica-period",
                       "3600", name="master")
        reader = StreamReader(master)
        with master.raw() as c:
            for args in PROPAGATION_SCRIPT:
                c.call(*args)
        streams.append(reader.stream())
        reader.close()
    redis_stream, rm_stream = streams
    assert b"ZADD" in redis_stream.upper() and b"PFCOUNT" in redis_stream
    assert rm_stream == redis_stream
