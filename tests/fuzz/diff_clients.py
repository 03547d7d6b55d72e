#!/usr/bin/python3
"""Differential byte-stream fuzzer: Ringmaster against redis-server 7.0 as clients see them.

A seeded generator writes byte streams that a client could send: valid
commands (multibulk and inline, binary values included) mixed with malformed
RESP -- bad multibulk counts, negative and oversized bulk lengths, missing or
stray CR/LF, inline requests with quotes (balanced or not), binary junk, huge
declared bulks followed by a trickle, nested arrays, truncations and byte
flips of valid requests. Each stream goes, in the same random chunking and
with the same pauses, to a fresh connection on each server. What each server
writes back is collected until it closes the connection or goes quiet, and
the two must match byte for byte, with the same closed/open outcome: after a
protocol error Redis answers "-ERR Protocol error: ..." and closes, and so
must Ringmaster, with the same words.

A mismatch is rerun once with a long quiet period before it counts (a busy
machine can make one server late, never different); a confirmed mismatch
prints the seed, stream number, the bytes sent and both answers, and
`--seed S --stream I` replays that stream alone.

Only commands whose replies are deterministic are generated (no TIME, INFO,
CLIENT LIST, RANDOMKEY, DEBUG, HELLO, SCAN, SMEMBERS...), and every stream
uses its own keys so that streams running in parallel never meet. Excluded
on purpose, with the reason:
  - NUL bytes. Redis 7.0 finds line ends with strchr(), so a NUL in an
    inline request or a header line hides the newline and Redis waits for
    more input forever; that is an accident of its C strings, not protocol,
    and Ringmaster answers instead. A NUL inside a well-framed bulk is data
    and is covered by the other differential tests; here a framing mistake
    can turn payload into header, so no NUL is generated at all.
  - Inputs that reach a size limit (64 KiB inline or header line,
    client-query-buffer-limit). Redis checks those against however much its
    last read() happened to bring in, so the outcome depends on chunking;
    tests/integration/test_protocol.py checks the limits themselves.
    Streams here stay well under 16 KiB.

Run it long (minutes, many seeds):
  tests/fuzz/diff_clients.py --ringmaster build/ringmaster --seconds 600
  tests/fuzz/diff_clients.py --ringmaster build/ringmaster --seed 7 --stream 123   # replay
tests/integration/test_differential_bytes.py runs a bounded slice in CI;
RM_DIFF_BYTES_SECONDS=600 there runs it long under pytest.
"""

import argparse
import os
import random
import select
import socket
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))
import rmtest  # noqa: E402

QUIET = 0.15  # seconds of silence after which a connection counts as waiting
CONFIRM_QUIET = 1.0
STREAMS_PER_SEED = 200

# Streams that once showed a difference (or guard a rule Redis follows that
# is easy to miss). They run before the random ones, every time.
REGRESSIONS = [
    ("cr-not-lf-after-count", b"*1\rX$4\r\nPING\r\n"),
    ("cr-at-end-of-count", b"*1\r"),
    ("bulk-crlf-not-checked", b"*2\r\n$4\r\nECHO\r\n$2\r\nabXY*1\r\n$4\r\nPING\r\n"),
    ("nested-array", b"*2\r\n*1\r\n$4\r\nPING\r\n"),
    ("negative-count-skipped", b"*-7\r\n*1\r\n$4\r\nPING\r\n"),
    ("inline-quote-then-char", b'ECHO "a"b\r\nPING\r\n'),
    ("inline-lf-only-then-mbulk", b"PING\n*1\r\n$4\r\nPING\r\n"),
    ("huge-declared-bulk-trickle", b"*2\r\n$4\r\nECHO\r\n$500000000\r\nabc"),
    ("bulk-over-proto-max", b"*2\r\n$4\r\nECHO\r\n$1000000000\r\nabc"),
    ("quit-then-more", b"PING\r\nQUIT\r\nPING\r\n"),
]


# -- generator -----------------------------------------------------------------------------

def _token(rng):
    """A value: printable, binary (never NUL), or with CR/LF inside."""
    r = rng.random()
    if r < 0.5:
        return b"".join(rng.choice([b"a", b"b", b"x", b"1", b"0", b"-", b" ", b"foo"])
                        for _ in range(rng.randint(0, 6)))
    if r < 0.7:
        return rng.choice([b"0", b"1", b"-1", b"42", b"9223372036854775807", b"3.5", b"nan"])
    if r < 0.9:
        return bytes(rng.randrange(1, 256) for _ in range(rng.randint(0, 12)))
    return rng.choice([b"\r\n", b"a\r\nb", b"*1\r\n", b"$3\r\n", b'"', b"'", b"\\x41"])


def _command(rng, keys):
    k = rng.choice(keys)
    k2 = rng.choice(keys)
    v = _token(rng)
    n = rng.choice([b"0", b"1", b"3", b"-1", b"10", b"abc"])
    table = [
        [b"PING"], [b"PING", v], [b"ECHO", v], [b"SET", k, v], [b"GET", k],
        [b"SET", k, v, rng.choice([b"NX", b"XX", b"GET", b"EX", b"KEEPTTL"])],
        [b"SET", k, v, b"EX", b"100000"], [b"TTL", k], [b"PERSIST", k],
        [b"INCR", k], [b"INCRBY", k, n], [b"DECR", k], [b"DEL", k, k2], [b"EXISTS", k, k2],
        [b"MGET", k, k2], [b"MSET", k, v, k2, v], [b"APPEND", k, v], [b"STRLEN", k],
        [b"GETRANGE", k, n, b"-1"], [b"SETRANGE", k, rng.choice([b"0", b"3", b"-1"]), v],
        [b"TYPE", k], [b"RPUSH", k, v, v], [b"LPUSH", k, v], [b"LRANGE", k, b"0", b"-1"],
        [b"LLEN", k], [b"LPOP", k], [b"HSET", k, v, v], [b"HGET", k, v], [b"HLEN", k],
        [b"HGETALL", k], [b"SADD", k, v], [b"SCARD", k], [b"SISMEMBER", k, v],
        [b"ZADD", k, n, v], [b"ZRANGE", k, b"0", b"-1", b"WITHSCORES"], [b"ZSCORE", k, v],
        [b"MULTI"], [b"EXEC"], [b"DISCARD"], [b"SELECT", rng.choice([b"0", b"1", b"99", b"x"])],
        [b"GET"], [b"SET", k], [b"NOSUCHCMD", v, k], [v], [b"get", k], [b"Echo", v],
        [b"GETDEL", k], [b"SETNX", k, v], [b"LINDEX", k, n], [b"LSET", k, n, v],
        [b"HINCRBY", k, v, n], [b"HDEL", k, v], [b"SREM", k, v], [b"ZINCRBY", k, n, v],
        [b"ZCARD", k], [b"RENAME", k, k2], [b"WATCH", k], [b"UNWATCH"],
        [b"SUBSCRIBE", k], [b"PSUBSCRIBE", k + b"*"], [b"UNSUBSCRIBE"], [b"PUNSUBSCRIBE"],
        [b"RESET"], [b"AUTH", v], [b"CLIENT", b"SETNAME", v], [b"CLIENT", b"GETNAME"],
        [b"ECHO", v, v], [b"PING", v, v], [b"MULTI"], [b"EXEC"],
    ]
    if rng.random() < 0.01:
        return [b"QUIT"]
    return rng.choice(table)


def _multibulk(args):
    return b"*%d\r\n" % len(args) + b"".join(b"$%d\r\n%s\r\n" % (len(a), a) for a in args)


def _inline_arg(rng, a):
    """An argument as an inline request spells it: bare, double- or single-quoted."""
    safe = a and all(33 <= c < 127 and c not in b"\"'\\" for c in a)
    r = rng.random()
    if safe and r < 0.6:
        return a
    if r < 0.85 or b"'" in a:
        body = b"".join(bytes([c]) if 32 <= c < 127 and c not in b'"\\' else b"\\x%02x" % c
                        for c in a)
        return b'"' + body + b'"'
    return b"'" + a.replace(b"\\", b"\\\\") + b"'"


def _inline(rng, args):
    sep = rng.choice([b" ", b"  ", b"\t", b" \t "])
    line = sep.join(_inline_arg(rng, a) for a in args)
    return rng.choice([b"", b" "]) + line + rng.choice([b"\r\n", b"\r\n", b"\n"])


BAD_COUNTS = [b"abc", b"-5", b"+1", b"01", b"18446744073709551616", b"2147483648", b"",
              b" 1", b"1 ", b"0", b"-1", b"1000000", b"9" * 19, b"0x10", b"1.0"]
BAD_BULKS = [b"abc", b"-1", b"-5", b"+4", b"04", b"600000000", b"2147483648", b"",
             b"1000000000", b"500000000", b"9223372036854775808", b" 4", b"4 "]
JUNK_TOKENS = [b"*", b"$", b"-1", b"0", b"1", b"2", b"100", b"\r\n", b"\r", b"\n", b"PING",
               b"ECHO", b"k", b'"', b"'", b" ", b"\\x", b"+", b":", b"-", b"\xff", b"*1\r\n"]


def _malformed(rng, keys):
    kind = rng.randrange(12)
    if kind == 0:
        return b"*%s\r\n" % rng.choice(BAD_COUNTS)
    if kind == 1:
        return b"*2\r\n$4\r\nECHO\r\n$%s\r\n" % rng.choice(BAD_BULKS) + _token(rng)
    if kind == 2:  # something other than a bulk where one belongs (nested arrays too)
        inner = rng.choice([b"*1\r\n$4\r\nPING\r\n", b":1\r\n", b"+OK\r\n", b"-ERR\r\n",
                            b"PING\r\n", b"\r\n", b"x\r\n"])
        return b"*2\r\n" + rng.choice([b"", b"$4\r\nECHO\r\n"]) + inner
    if kind == 3:  # line ends wrong: LF only, CR only, CR then another byte
        cmd = _multibulk(_command(rng, keys))
        return cmd.replace(b"\r\n", rng.choice([b"\n", b"\r", b"\rX", b"\r\r\n"]),
                           rng.randint(1, 3))
    if kind == 4:  # bulk payload longer or shorter than declared
        a = _token(rng) + b"z"
        return b"*2\r\n$4\r\nECHO\r\n$%d\r\n%s\r\n" % (len(a) + rng.choice([-1, 1, 2, -2]), a)
    if kind == 5:  # inline with broken quoting
        return rng.choice([b'ECHO "abc\r\n', b"ECHO 'abc\r\n", b'ECHO "a"b\r\n',
                           b"ECHO 'a'b\r\n", b'SET "k" "v\\"\r\n', b'ECHO "\\x4g"\r\n',
                           b'ECHO "\\xZZ" x\r\n', b'""\r\n', b"''\r\n", b'ECHO ""x\r\n'])
    if kind == 6:  # binary junk, no NUL (see the module comment)
        return bytes(rng.randrange(1, 256) for _ in range(rng.randint(1, 120)))
    if kind == 7:
        return b"".join(rng.choice(JUNK_TOKENS) for _ in range(rng.randint(1, 30)))
    if kind == 8:  # a huge declared bulk, then a trickle of its bytes
        return (b"*2\r\n$4\r\nECHO\r\n$%d\r\n" % rng.choice([100000, 500000000, 536870912]) +
                b"y" * rng.randint(0, 3000))
    if kind == 9:  # a valid request cut short
        cmd = _multibulk(_command(rng, keys))
        return cmd[:rng.randrange(1, len(cmd))]
    if kind == 10:  # a valid request with a few bytes flipped, inserted or deleted
        data = bytearray(_multibulk(_command(rng, keys)))
        for _ in range(rng.randint(1, 3)):
            pos = rng.randrange(len(data))
            op = rng.random()
            if op < 0.4:
                data[pos] = rng.randrange(1, 256)
            elif op < 0.7:
                data[pos:pos] = rng.choice(JUNK_TOKENS)
            elif len(data) > 1:
                del data[pos:pos + rng.randint(1, 4)]
        return bytes(data)
    return b"*%d\r\n" % rng.randint(1, 5) + b"".join(  # more arguments declared than sent
        b"$%d\r\n%s\r\n" % (len(a), a) for a in _command(rng, keys)[:1])


def generate(seed, index):
    """The bytes of stream `index` of `seed`, and its chunking (sizes, pauses)."""
    rng = random.Random(seed * 1000003 + index)
    keys = [b"s%d.%d:%s" % (seed, index, n) for n in (b"a", b"b", b"c")]
    pieces = []
    for _ in range(rng.randint(1, 14)):
        r = rng.random()
        if r < 0.55:
            args = _command(rng, keys)
            if rng.random() < 0.35 and all(args):
                pieces.append(_inline(rng, args))
            else:
                pieces.append(_multibulk(args))
        elif r < 0.62:
            pieces.append(rng.choice([b"\r\n", b"\n", b"   \r\n", b"*0\r\n", b"*-1\r\n"]))
        elif r < 0.65:  # replies far bigger than the request: the close must not cut them
            k = rng.choice(keys)
            pieces.append(_multibulk([b"SET", k, b"r" * rng.randint(1000, 9000)]) +
                          _multibulk([b"GET", k]) * rng.randint(1, 60))
        else:
            pieces.append(_malformed(rng, keys))
    data = b"".join(pieces)
    chunks = []
    pos = 0
    mode = rng.random()
    while pos < len(data):
        if mode < 0.2:
            size = len(data) - pos
        elif mode < 0.4:
            size = 1
        else:
            size = rng.randint(1, 40)
        chunks.append((data[pos:pos + size], rng.random() < 0.3))
        pos += size
    return data, chunks


# -- one stream against both servers --------------------------------------------------------

def _drain(sock, out):
    """Read what is there without waiting; return True if the peer closed."""
    while True:
        try:
            chunk = sock.recv(65536)
        except BlockingIOError:
            return False
        except ConnectionResetError:
            return True
        if not chunk:
            return True
        out += chunk


def play(ports, chunks, quiet=QUIET):
    """Send `chunks` to a fresh connection on each port; return [(bytes, closed)]."""
    socks = []
    for port in ports:
        s = socket.create_connection(("127.0.0.1", port), timeout=5)
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        s.setblocking(False)
        socks.append(s)
    out = [bytearray() for _ in ports]
    closed = [False for _ in ports]
    try:
        for data, pause in chunks:
            for i, s in enumerate(socks):
                if closed[i]:
                    continue
                try:
                    s.setblocking(True)
                    s.settimeout(5)
                    s.sendall(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # it closed on us; what it said before still counts
                finally:
                    s.setblocking(False)
                closed[i] = _drain(s, out[i])
            if pause:
                time.sleep(0.001)
        quiet *= rmtest.SLOWDOWN
        while not all(closed):
            live = [s for i, s in enumerate(socks) if not closed[i]]
            ready, _, _ = select.select(live, [], [], quiet)
            if not ready:
                break
            for i, s in enumerate(socks):
                if s in ready and not closed[i]:
                    closed[i] = _drain(s, out[i])
    finally:
        for s in socks:
            s.close()
    return [(bytes(o), c) for o, c in zip(out, closed)]


class Mismatch(Exception):
    pass


def describe(label, data, results):
    lines = ["%s" % label, "  sent (%d bytes): %r" % (len(data), data[:600])]
    for name, (out, closed) in zip(("ringmaster", "redis"), results):
        lines.append("  %-10s closed=%-5s %r" % (name, closed, out[:600]))
    return "\n".join(lines)


def check(ports, label, data, chunks):
    """Play one stream; a difference is replayed once, slowly, before it counts."""
    results = play(ports, chunks)
    if results[0] == results[1]:
        return
    results = play(ports, chunks, quiet=CONFIRM_QUIET)
    if results[0] != results[1]:
        raise Mismatch(describe(label, data, results))


def run(ports, seeds, seconds, jobs=6, streams_per_seed=STREAMS_PER_SEED, log=print):
    """Fuzz until `seconds` pass or the seeds run out; return (streams, mismatches)."""
    mismatches = []
    for name, data in REGRESSIONS:
        for chunks in ([(data, False)], [(data[i:i + 1], True) for i in range(len(data))]):
            try:
                check(ports, "regression %s" % name, data, chunks)
            except Mismatch as e:
                mismatches.append(str(e))
    deadline = time.monotonic() + seconds
    work = ((seed, i) for seed in seeds for i in range(streams_per_seed))
    lock = threading.Lock()
    count = [0]

    def worker():
        while time.monotonic() < deadline and len(mismatches) < 20:
            with lock:
                item = next(work, None)
            if item is None:
                return
            data, chunks = generate(*item)
            try:
                check(ports, "seed %d stream %d" % item, data, chunks)
            except Mismatch as e:
                with lock:
                    mismatches.append(str(e))
            except OSError as e:  # a server that stops reading or accepting
                with lock:
                    mismatches.append("seed %d stream %d: %r" % (item + (e,)))
            with lock:
                count[0] += 1

    threads = [threading.Thread(target=worker, daemon=True) for _ in range(jobs)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    log("diff_clients: %d random streams, %d regression cases, %d mismatches" %
        (count[0], len(REGRESSIONS), len(mismatches)))
    return count[0], mismatches


def _start_pair(ringmaster, redis):
    workdir = tempfile.mkdtemp(prefix="diff_clients.")
    pair = [rmtest.ServerProcess(ringmaster, os.path.join(workdir, "rm"), name="ringmaster"),
            rmtest.ServerProcess(redis, os.path.join(workdir, "redis"), name="redis")]
    for server in pair:
        server.start()
    return pair


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--ringmaster", default=os.environ.get("RINGMASTER_BIN", "build/ringmaster"))
    ap.add_argument("--redis", default=rmtest.redis_server_bin() or "redis-server")
    ap.add_argument("--seconds", type=float, default=60)
    ap.add_argument("--first-seed", type=int, default=1)
    ap.add_argument("--seeds", type=int, default=100000, help="how many seeds at most")
    ap.add_argument("--jobs", type=int, default=6)
    ap.add_argument("--seed", type=int, help="replay one stream: its seed")
    ap.add_argument("--stream", type=int, help="replay one stream: its number")
    args = ap.parse_args()
    pair = _start_pair(os.path.abspath(args.ringmaster), args.redis)
    ports = [s.port for s in pair]
    try:
        if args.seed is not None:
            data, chunks = generate(args.seed, args.stream or 0)
            print(describe("seed %d stream %d" % (args.seed, args.stream or 0), data,
                           play(ports, chunks, quiet=CONFIRM_QUIET)))
            return 0
        seeds = range(args.first_seed, args.first_seed + args.seeds)
        _, mismatches = run(ports, seeds, args.seconds, jobs=args.jobs)
        for m in mismatches:
            print(m)
        for server in pair:
            if not server.alive():
                print("%s died\n%s" % (server.name, server.log_tail()))
                return 1
        return 1 if mismatches else 0
    finally:
        for server in pair:
            server.stop()


if __name__ == "__main__":
    sys.exit(main())
