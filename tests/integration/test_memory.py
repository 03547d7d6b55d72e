"""Memory cost of many small hashes, Ringmaster against redis-server 7.0.

The target (a million small hashes must not cost more than 1.3x Redis's
used_memory for the same data) is measured, not asserted tightly: memory
figures depend on the allocator build and the machine. This test fills the
same small hashes into both servers with pipelined HSET, prints
used_memory for each (total, and net of the empty server's baseline) and
the ratios, checks that both hold the same data (DEBUG DIGEST, and that the
hashes are listpack-encoded on both), and fails only past a generous
sanity bound that would mean something is badly wrong (a per-field
allocation, a leak).

RM_MEMORY_HASHES=1000000 runs the full-size measurement by hand.
"""

import os

import rmtest
from rmtest import RespConn, encode_command

HASHES = int(os.environ.get("RM_MEMORY_HASHES", "0")) or rmtest.scaled(200_000)
BATCH = 1000
SANITY_RATIO = 3.0


def used_memory(conn):
    info = conn.call(b"INFO", b"memory").decode()
    for line in info.split("\r\n"):
        if line.startswith("used_memory:"):
            return int(line.split(":", 1)[1])
    raise AssertionError("INFO memory has no used_memory")


def hash_command(i):
    """2 to 4 short fields per hash: names, small numbers, short text."""
    args = [b"HSET", b"user:%d" % i, b"name", b"user%d" % i, b"age", b"%d" % (18 + i % 60)]
    if i % 3:
        args += [b"city", (b"paris", b"lyon", b"oslo", b"lima")[i % 4]]
    if i % 5 == 0:
        args += [b"score", b"%d" % (i * 37 % 100000)]
    return encode_command(*args)


def fill(conn, count):
    for start in range(0, count, BATCH):
        n = min(BATCH, count - start)
        conn.send(b"".join(hash_command(i) for i in range(start, start + n)))
        for _ in range(n):
            raw, value = conn.read_reply()
            assert isinstance(value, int), raw


def measure(server):
    with RespConn(server.port, timeout=120) as conn:
        assert conn.call(b"FLUSHALL") == b"OK"
        base = used_memory(conn)
        fill(conn, HASHES)
        total = used_memory(conn)
        digest = conn.call(b"DEBUG", b"DIGEST")
        encodings = {conn.call(b"OBJECT", b"ENCODING", b"user:%d" % i) for i in (0, 1, 7, HASHES - 1)}
        assert conn.call(b"DBSIZE") == HASHES
    return base, total, digest, encodings


def test_small_hashes_memory(module_servers):
    rm_server = module_servers.ringmaster()
    ref_server = module_servers.redis()
    rm_base, rm_total, rm_digest, rm_enc = measure(rm_server)
    ref_base, ref_total, ref_digest, ref_enc = measure(ref_server)

    assert rm_digest == ref_digest, "the two servers hold different data"
    assert rm_enc == ref_enc == {b"listpack"}, (rm_enc, ref_enc)

    rm_net, ref_net = rm_total - rm_base, ref_total - ref_base
    ratio_total = rm_total / ref_total
    ratio_net = rm_net / ref_net
    print("\n%d small hashes: used_memory ringmaster %d (net %d, %.1f B/hash), "
          "redis %d (net %d, %.1f B/hash); ratio %.3f total, %.3f net" %
          (HASHES, rm_total, rm_net, rm_net / HASHES, ref_total, ref_net, ref_net / HASHES,
           ratio_total, ratio_net))
    if rmtest.SANITIZE:
        return  # libc malloc under a sanitizer: sizes say nothing about production
    assert ratio_total < SANITY_RATIO, "used_memory %.2fx Redis's" % ratio_total
