"""Pub/Sub against redis-server 7.0: replies, messages, limits, replication.

The differential cases run one script of (connection, command) steps on
Ringmaster and on redis-server side by side and compare what each
connection received, byte for byte. A step's output is everything its
connection received up to the answer to a `PING <mark>` sent after the
command: in subscriber mode that answer is the ["pong", mark] array,
otherwise the bulk mark, and either way it comes after every reply and
message the server queued for that connection before, so listeners can
be read without timing guesses.

Where Redis's own order comes from a hash table, the comparison is of
what may not vary (see Step modes): UNSUBSCRIBE/SUNSUBSCRIBE without
arguments (which channel goes first), PUBSUB CHANNELS (order of names),
and a message that matches several patterns of one client. Scripts avoid
the last. RESP3 is not spoken by the server (HELLO 3 answers NOPROTO, as
before this module), so its push replies are covered by the unit test
tests/unit/test_pubsub.c.

Beyond the scripts: the order of a burst of 10000 messages, a subscriber
that does not read closed at a small client-output-buffer-limit pubsub
while others are served, and PUBLISH on a Ringmaster master reaching
subscribers on a Ringmaster replica and on a redis-server replica.
"""

import re
import socket
import time

import pytest

import rmtest
from repl_helpers import info, wait_for
from rmtest import RespConn, encode_command

MARK = b"mark-7f3a"

# Patterns and channels for the glob cases: every pattern gets its own
# subscriber, so each subscriber's messages have one order on both servers.
PATTERNS = [b"*", b"h?llo", b"h*llo", b"h[ae]llo", b"h[^e]llo", b"h[a-b]llo", b"[a-z]",
            b"news.[0-9]*", b"\\*", b"a\\?b", b"h\\[ae]llo", b"[z-a]", b"x[", b"\\",
            b"*\\", b"[]]", b"[\\]]", b"[a-]", b"H*", b"??", b"*.*", b"[!a]", b"[^]"]
CHANNELS = [b"hello", b"hallo", b"hxllo", b"hllo", b"heeeello", b"*", b"a?b", b"a\\?b",
            b"h[ae]llo", b"news.1", b"news.x", b"z", b"b", b"-", b"x[", b"]", b"\\",
            b"Hello", b"ab", b"a.b", b"!", b"^", b"", b"bin\x00\r\nary"]


class Step:
    """One command on one named connection, and how to compare its output.

    modes: "exact" bytes; "set" one array reply compared as a sorted list;
    "unsub_all" (un)subscribe confirmations compared as the sorted names
    and the sorted counts, since the order they come in is a hash table's;
    "queued" exactly one reply, with no PING after it (inside MULTI the
    PING would be queued too).
    """

    def __init__(self, conn, *args, mode="exact"):
        self.conn = conn
        self.args = args
        self.mode = mode


def S(conn, *args, **kw):
    return Step(conn, *args, **kw)


def collect(conn):
    """Replies received on conn up to the PING mark's answer: (raw, values)."""
    conn.send_command("PING", MARK)
    raws, values = [], []
    while True:
        raw, value = conn.read_reply()
        if value == MARK or value == [b"pong", MARK]:
            return raws, values
        raws.append(raw)
        values.append(value)


def comparable(step, raws, values):
    if step.mode in ("exact", "queued"):
        return b"".join(raws)
    if step.mode == "set":
        assert len(values) == 1 and isinstance(values[0], list), values
        return sorted(values[0])
    assert step.mode == "unsub_all"
    return (sorted(v[1] or b"" for v in values), sorted(v[2] for v in values),
            sorted(v[0] for v in values))


def run_script(server, steps, listeners=()):
    """Each step's output on the stepping connection, then what each listener
    received since the previous step."""
    conns = {}
    out = []
    try:
        for step in steps:
            if step.conn not in conns:
                conns[step.conn] = server.raw()
            c = conns[step.conn]
            c.send_command(*step.args)
            values = None
            if step.mode == "queued":
                raws = [c.read_reply()[0]]
            else:
                raws, values = collect(c)
            out.append((step.conn, step.args, comparable(step, raws, values)))
            for name in listeners:
                if name != step.conn and name in conns:
                    raws, _ = collect(conns[name])
                    out.append((name, b"heard", b"".join(raws)))
    finally:
        for c in conns.values():
            c.close()
    return out


def assert_same(ringmaster, redis_ref, steps, listeners=()):
    ours = run_script(ringmaster, steps, listeners)
    theirs = run_script(redis_ref, steps, listeners)
    for got, want in zip(ours, theirs):
        assert got == want, "Ringmaster %r\n     Redis %r" % (got, want)
    assert len(ours) == len(theirs)


@pytest.fixture(scope="module")
def pair(module_servers):
    return module_servers.ringmaster(), module_servers.redis()


# ---- replies, byte for byte ----------------------------------------------

NOT_SUBSCRIBED = [
    S("a", "UNSUBSCRIBE"), S("a", "PUNSUBSCRIBE"), S("a", "SUNSUBSCRIBE"),
    S("a", "UNSUBSCRIBE", "x", "y"), S("a", "PUNSUBSCRIBE", "x*"), S("a", "SUNSUBSCRIBE", "s"),
    S("a", "PING"), S("a", "PUBLISH", "nobody", "hi"), S("a", "SPUBLISH", "nobody", "hi"),
    S("a", "SUBSCRIBE"), S("a", "PSUBSCRIBE"), S("a", "SSUBSCRIBE"), S("a", "PUBLISH", "a"),
    S("a", "PUBLISH", "a", "b", "c"), S("a", "SPUBLISH", "a"),
    S("a", "PUBSUB"), S("a", "PUBSUB", "HELP"), S("a", "PUBSUB", "help", "x"),
    S("a", "PUBSUB", "FOO"), S("a", "PUBSUB", "NUMPAT"), S("a", "PUBSUB", "NUMPAT", "x"),
    S("a", "PUBSUB", "NUMSUB"), S("a", "PUBSUB", "NUMSUB", "a", "b"),
    S("a", "PUBSUB", "CHANNELS"), S("a", "PUBSUB", "CHANNELS", "*"),
    S("a", "PUBSUB", "channels", "a", "b"), S("a", "PUBSUB", "SHARDCHANNELS", "x", "y"),
    S("a", "PUBSUB", "SHARDCHANNELS"), S("a", "PUBSUB", "SHARDNUMSUB", "s"),
]


def test_replies_when_subscribed_to_nothing(pair):
    assert_same(*pair, NOT_SUBSCRIBED)


SUBSCRIBER_MODE = [
    S("sub", "SUBSCRIBE", "news", "sport", "news"),
    S("sub", "PSUBSCRIBE", "n*", "n*"),
    S("sub", "SSUBSCRIBE", "shard1", "shard1", "shard2"),
    # Only (P|S)(UN)SUBSCRIBE, PING, QUIT and RESET run in RESP2 subscriber mode.
    S("sub", "GET", "k"), S("sub", "SET", "k", "v"), S("sub", "MULTI"), S("sub", "EXEC"),
    S("sub", "CONFIG", "GET", "maxmemory"), S("sub", "CLIENT", "INFO"),
    S("sub", "PUBLISH", "a", "b"),
    S("sub", "PUBSUB", "NUMPAT"), S("sub", "SELECT", "1"), S("sub", "INFO"), S("sub", "HELLO"),
    S("sub", "WATCH", "k"), S("sub", "AUTH", "x"), S("sub", "ECHO", "e"),
    # Checks before the subscriber-mode one still come first.
    S("sub", "NOSUCHCMD", "x"), S("sub", "GET"), S("sub", "CLIENT", "NOSUCH"),
    S("sub", "PING"), S("sub", "PING", "hello"), S("sub", "ping", ""), S("sub", "PING", "a", "b"),
    S("pub", "PUBLISH", "news", "breaking"),
    S("pub", "PUBLISH", "sport", "goal"),
    S("pub", "PUBLISH", "nothing", "n* hears it"),
    S("pub", "PUBLISH", "elsewhere", "nobody"),
    S("pub", "SPUBLISH", "shard1", "sharded"),
    S("pub", "SPUBLISH", "news", "shard namespace: nobody"),
    S("pub", "PUBLISH", "shard1", "channel namespace: only n*? no"),
    S("pub", "PUBSUB", "NUMSUB", "news", "sport", "shard1", "none"),
    S("pub", "PUBSUB", "SHARDNUMSUB", "shard1", "shard2", "news"),
    S("pub", "PUBSUB", "NUMPAT"),
    S("pub", "PUBSUB", "CHANNELS", mode="set"),
    S("pub", "PUBSUB", "CHANNELS", "s*", mode="set"),
    S("pub", "PUBSUB", "CHANNELS", "[nx]ews"),
    S("pub", "PUBSUB", "SHARDCHANNELS", mode="set"),
    S("pub", "PUBSUB", "SHARDCHANNELS", "*1"),
    S("sub", "UNSUBSCRIBE", "sport", "never"),
    S("sub", "SUNSUBSCRIBE", "shard2"),
    S("pub", "PUBSUB", "NUMSUB", "news", "sport"),
    S("sub", "UNSUBSCRIBE"),
    S("sub", "PUNSUBSCRIBE"),
    # Still subscribed to a shard channel: still in subscriber mode.
    S("sub", "GET", "k"),
    S("sub", "SUNSUBSCRIBE"),
    S("sub", "GET", "k"), S("sub", "PING"),
    S("pub", "PUBSUB", "NUMPAT"), S("pub", "PUBSUB", "CHANNELS"),
    S("pub", "PUBSUB", "SHARDCHANNELS"),
]


def test_subscriber_mode_replies_and_messages(pair):
    assert_same(*pair, SUBSCRIBER_MODE, listeners=("sub", "pub"))


def test_unsubscribe_all_names_every_subscription(pair):
    steps = [
        S("s", "SUBSCRIBE", "a", "b", "c"), S("s", "PSUBSCRIBE", "p1*", "p2*"),
        S("s", "SSUBSCRIBE", "x", "y"),
        S("s", "UNSUBSCRIBE", mode="unsub_all"),
        S("s", "SUNSUBSCRIBE", mode="unsub_all"),
        # Patterns are left in subscription order, by Redis too.
        S("s", "PUNSUBSCRIBE"),
        S("s", "UNSUBSCRIBE"), S("s", "PING"),
    ]
    assert_same(*pair, steps)


def test_pattern_matching_like_redis(pair):
    """Each pattern's subscriber hears exactly the channels Redis's
    stringmatch lets through, and each PUBLISH counts them."""
    steps = [S("p%d" % i, "PSUBSCRIBE", pat) for i, pat in enumerate(PATTERNS)]
    steps += [S("pub", "PUBLISH", ch, b"to " + ch) for ch in CHANNELS]
    steps.append(S("pub", "PUBSUB", "NUMPAT"))
    steps += [S("pub", "PUBSUB", "CHANNELS", pat) for pat in PATTERNS]
    listeners = ["p%d" % i for i in range(len(PATTERNS))]
    assert_same(*pair, steps, listeners=listeners)


def test_channel_names_are_binary_safe(pair):
    odd = [b"", b"\x00", b"a\r\nb", b"\xff\xfe", b"x" * 300]
    steps = [S("s", "SUBSCRIBE", *odd), S("s", "PSUBSCRIBE", b"a\r\n*")]
    steps += [S("pub", "PUBLISH", ch, ch + b"!") for ch in odd]
    steps += [S("pub", "PUBSUB", "NUMSUB", *odd), S("pub", "PUBSUB", "CHANNELS", mode="set")]
    steps += [S("s", "UNSUBSCRIBE", *odd), S("s", "PUNSUBSCRIBE")]
    assert_same(*pair, steps, listeners=("s",))


def test_reset_quit_and_transactions(pair):
    steps = [
        S("r", "SUBSCRIBE", "a"), S("r", "PSUBSCRIBE", "a*"), S("r", "SSUBSCRIBE", "sa"),
        S("r", "RESET"), S("r", "PING"), S("r", "GET", "k"),
        S("pub", "PUBLISH", "a", "left"), S("pub", "SPUBLISH", "sa", "left"),
        S("pub", "PUBSUB", "NUMPAT"), S("pub", "PUBSUB", "CHANNELS"),
        # SUBSCRIBE runs inside EXEC; SSUBSCRIBE refuses it, as in Redis 7.0.
        S("m", "MULTI", mode="queued"), S("m", "SUBSCRIBE", "x", mode="queued"),
        S("m", "SSUBSCRIBE", "y", mode="queued"), S("m", "PSUBSCRIBE", "z*", mode="queued"),
        S("m", "PUBLISH", "x", "own", mode="queued"), S("m", "EXEC"),
        S("m", "PING"), S("m", "MULTI"),
        S("pub", "PUBLISH", "x", "one"), S("pub", "PUBLISH", "zz", "two"),
        S("pub", "PUBSUB", "SHARDCHANNELS"),
    ]
    assert_same(*pair, steps, listeners=("r", "m"))
    for server in pair:
        with server.raw() as c:
            assert c.call("SUBSCRIBE", "q") == [b"subscribe", b"q", 1]
            c.send_command("QUIT")
            assert c.read_reply()[0] == b"+OK\r\n"
            with pytest.raises(rmtest.ConnectionClosed):
                c.read_reply()


def test_command_info_flags_like_redis(pair):
    names = ["subscribe", "unsubscribe", "psubscribe", "punsubscribe", "publish",
             "ssubscribe", "sunsubscribe", "spublish", "pubsub|channels", "pubsub|numsub",
             "pubsub|numpat", "pubsub|shardchannels", "pubsub|shardnumsub", "pubsub|help",
             "ping"]
    rm, ref = pair
    with rm.raw() as a, ref.raw() as b:
        for name in names:
            ours, theirs = a.call("COMMAND", "INFO", name)[0], b.call("COMMAND", "INFO", name)[0]
            # name, arity, flags, first key, last key, step
            assert ours[:2] == theirs[:2] and ours[3:6] == theirs[3:6], name
            assert sorted(ours[2]) == sorted(theirs[2]), name
        ours = a.call("COMMAND", "INFO", "pubsub")[0]
        theirs = b.call("COMMAND", "INFO", "pubsub")[0]
        assert ours[:6] == theirs[:6]
        assert sorted(s[0] for s in ours[9]) == sorted(s[0] for s in theirs[9])


def client_fields(c):
    line = c.call("CLIENT", "LIST", "TYPE", "pubsub").decode().strip()
    return [dict(f.split("=", 1) for f in ln.split(" ")) for ln in line.splitlines() if ln]


def test_introspection_counts_like_redis(pair):
    """INFO stats, CLIENT LIST (flag P, sub/psub/ssub, TYPE pubsub) and
    CLIENT KILL TYPE pubsub agree with Redis."""
    seen = []
    for server in pair:
        s1, s2, admin = server.raw(), server.raw(), server.raw()
        try:
            s1.call("SUBSCRIBE", "a")
            s1.send_command("SUBSCRIBE", "b", "c")
            s1.read_reply(), s1.read_reply()
            s1.call("PSUBSCRIBE", "x*")
            s2.send_command("SSUBSCRIBE", "s1", "s2", "s3")
            for _ in range(3):
                s2.read_reply()
            s2.call("PSUBSCRIBE", "x*")
            text = admin.call("INFO", "stats").decode()
            stats = dict(re.findall(r"^(pubsub\w*):(\d+)", text, re.M))
            rows = sorted((r["flags"], r["sub"], r["psub"], r["ssub"])
                          for r in client_fields(admin))
            normal = admin.call("CLIENT", "LIST", "TYPE", "normal").decode()
            mine = [dict(f.split("=", 1) for f in admin.call("CLIENT", "INFO").decode().split())]
            killed = admin.call("CLIENT", "KILL", "TYPE", "pubsub")
            after = dict(re.findall(r"^(pubsub\w*):(\d+)", admin.call("INFO", "stats").decode(),
                                    re.M))
            after_wait = wait_for("subscribers gone", lambda: admin.call(
                "PUBSUB", "NUMPAT") == 0 or None)
            seen.append((stats, rows, normal.count("\n"), mine[0]["flags"], mine[0]["sub"],
                         killed, after_wait, sorted(after)))
        finally:
            for c in (s1, s2, admin):
                c.close()
    assert seen[0] == seen[1]
    assert seen[0][0] == {"pubsub_channels": "3", "pubsub_patterns": "1",
                          "pubsubshard_channels": "3"}


# ---- delivery --------------------------------------------------------------

def test_burst_of_messages_arrives_in_order(both):
    server = both()
    n = 10000
    with server.raw() as sub, server.raw() as pub:
        sub.call("SUBSCRIBE", "burst")
        sub.call("PSUBSCRIBE", "bu*")
        pub.send(b"".join(encode_command("PUBLISH", "burst", "m%d" % i) for i in range(n)))
        for i in range(n):
            assert pub.read_reply()[1] == 2
        for i in range(n):
            want = b"m%d" % i
            assert sub.read_reply()[1] == [b"message", b"burst", want]
            assert sub.read_reply()[1] == [b"pmessage", b"bu*", b"burst", want]


LIMIT_LOG = "scheduled to be closed ASAP for overcoming of output buffer limits."


def test_slow_subscriber_is_closed_at_the_pubsub_limit(both):
    server = both()
    with server.raw() as admin:
        assert admin.call("CONFIG", "SET", "client-output-buffer-limit",
                          "pubsub 1mb 512kb 1") == b"OK"
        slow = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        slow.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        slow.settimeout(10 * rmtest.SLOWDOWN)
        slow.connect(("127.0.0.1", server.port))
        slow.sendall(encode_command("SUBSCRIBE", "firehose"))
        wait_for("the subscription", lambda: admin.call("PUBSUB", "NUMSUB", "firehose")[1] == 1)
        payload = b"x" * 8192
        with server.raw() as pub:
            # Far more than the socket buffers and the 1 MB limit hold.
            for _ in range(40):
                pub.send(b"".join(encode_command("PUBLISH", "firehose", payload)
                                  for _ in range(100)))
                for _ in range(100):
                    pub.read_reply()
            assert server.wait_log(LIMIT_LOG), server.log_tail()
            wait_for("the slow subscriber closed",
                     lambda: admin.call("PUBSUB", "NUMSUB", "firehose")[1] == 0)
            # Everyone else is still served.
            assert pub.call("PING") == b"PONG"
            assert admin.call("SET", "k", "v") == b"OK"
        line = [ln for ln in server.log_text().splitlines() if LIMIT_LOG in ln][0]
        assert "flags=P" in line and "sub=1" in line, line
        # The slow reader drains what was sent before the close, then EOF.
        assert drained_to_eof(slow)
        slow.close()


def drained_to_eof(sock):
    """Read and drop everything until the peer closes: whether it did."""
    deadline = time.monotonic() + 30 * rmtest.SLOWDOWN
    while time.monotonic() < deadline:
        try:
            if not sock.recv(1 << 20):
                return True
        except ConnectionResetError:
            return True
    return False


def test_normal_class_limit_closes_a_big_reply(both):
    """The same mechanism serves the normal class (default: no limit)."""
    server = both()
    with server.raw() as admin:
        admin.call("CONFIG", "SET", "client-output-buffer-limit", "normal 100kb 0 0")
        admin.call("SET", "big", "x" * 200000)
        with server.raw() as c:
            c.send_command("GET", "big")
            with pytest.raises((rmtest.ConnectionClosed, ConnectionResetError)):
                c.read_reply()
        assert server.wait_log(LIMIT_LOG)
        admin.call("CONFIG", "SET", "client-output-buffer-limit", "normal 0 0 0")
        assert len(admin.call("GET", "big")) == 200000


# ---- replication -----------------------------------------------------------

@pytest.mark.parametrize("replica_kind", ["ringmaster", "redis"])
def test_publish_on_the_master_reaches_replica_subscribers(servers, replica_kind):
    master = servers.ringmaster(name="master")
    start = servers.ringmaster if replica_kind == "ringmaster" else servers.redis
    replica = start("--replicaof", "127.0.0.1", str(master.port), "--repl-timeout", "60",
                    name="replica")
    wait_for("the replica's link", lambda: info(replica).get("master_link_status") == "up",
             timeout=30)
    with replica.raw() as sub, master.raw() as pub:
        sub.call("SUBSCRIBE", "ch")
        sub.call("PSUBSCRIBE", "c*")
        sub.call("SSUBSCRIBE", "sh")
        # Nobody listens on the master itself.
        assert pub.call("PUBLISH", "ch", "hello") == 0
        assert pub.call("SPUBLISH", "sh", "sharded") == 0
        pub.call("SELECT", "3")
        assert pub.call("PUBLISH", "cx", "after select") == 0
        pub.call("MULTI")
        pub.call("PUBLISH", "ch", "in exec")
        pub.call("SET", "k", "v")
        assert pub.call("EXEC") == [0, b"OK"]
        got = [sub.read_reply()[1] for _ in range(6)]
        assert got == [[b"message", b"ch", b"hello"],
                       [b"pmessage", b"c*", b"ch", b"hello"],
                       [b"smessage", b"sh", b"sharded"],
                       [b"pmessage", b"c*", b"cx", b"after select"],
                       [b"message", b"ch", b"in exec"],
                       [b"pmessage", b"c*", b"ch", b"in exec"]]
        # A replica serves PUBLISH to its own subscribers too.
        with replica.raw() as local:
            assert local.call("PUBLISH", "ch", "local") == 2
        assert sub.read_reply()[1] == [b"message", b"ch", b"local"]
    wait_for("the replica's offset", lambda: info(replica)["master_repl_offset"] ==
             info(master)["master_repl_offset"], timeout=30)
