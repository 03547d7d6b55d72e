"""Blocking list pops (BLPOP BRPOP BLMOVE BRPOPLPUSH BLMPOP), side by side
with real redis-server 7.0.

Each scenario is a function of one server that drives several raw
connections and returns a transcript: every reply in the order the test
observed it, plus the data left behind. The same scenario runs against
Ringmaster and against redis-server, and the transcripts must be equal.
Timing-dependent facts (a timeout fired roughly when asked) are checked on
each server separately.

Clients are made to block in a known order by waiting, after each blocking
command, until INFO reports one more blocked client.
"""

import time

import pytest

import rmtest
from rmtest import RespConn

SLOW = rmtest.SLOWDOWN


def blocked_count(conn):
    info = conn.call("INFO", "clients")
    for line in info.split(b"\r\n"):
        if line.startswith(b"blocked_clients:"):
            return int(line.split(b":")[1])
    raise AssertionError("no blocked_clients in INFO")


def wait_blocked(admin, n, timeout=5.0):
    deadline = time.monotonic() + timeout * SLOW
    while time.monotonic() < deadline:
        if blocked_count(admin) == n:
            return
        time.sleep(0.005)
    raise AssertionError("expected %d blocked clients, INFO says %d" % (n, blocked_count(admin)))


def block(admin, conn, n, *args):
    """Send a blocking command on conn and wait until n clients block."""
    conn.send_command(*args)
    wait_blocked(admin, n)


def read(conn):
    return conn.read_reply()[0]


@pytest.fixture(scope="module")
def both(module_servers):
    return module_servers.ringmaster(), module_servers.redis()


def run_on_both(both, scenario):
    out = []
    for server in both:
        conns = []

        def new_conn():
            c = RespConn(server.port)
            conns.append(c)
            return c

        admin = new_conn()
        admin.call("FLUSHALL")
        try:
            out.append(scenario(admin, new_conn))
        finally:
            for c in conns:
                c.close()
    rm, ref = out
    assert rm == ref, "ringmaster:\n%r\nredis:\n%r" % (rm, ref)
    return ref


def dump(admin, *keys):
    return [(k, admin.call_raw("TYPE", k), admin.call_raw("LRANGE", k, 0, -1)
             if admin.call("TYPE", k) == b"list" else admin.call_raw("GET", k)
             if admin.call("TYPE", k) == b"string" else None) for k in keys]


def test_fifo_wakeup_order(both):
    def scenario(admin, new_conn):
        waiters = [new_conn() for _ in range(4)]
        block(admin, waiters[0], 1, "BLPOP", "q", "0")
        block(admin, waiters[1], 2, "BRPOP", "q", "0")
        block(admin, waiters[2], 3, "BLMPOP", "0", "1", "q", "LEFT", "COUNT", "2")
        block(admin, waiters[3], 4, "BLPOP", "q", "0")
        got = [admin.call_raw("RPUSH", "q", "a", "b", "c", "d")]
        got += [read(w) for w in waiters[:3]]
        got.append(blocked_count(admin))  # the last one: nothing left
        got.append(admin.call_raw("LPUSH", "q", "e", "f"))
        got.append(read(waiters[3]))
        got += dump(admin, "q")
        return got

    run_on_both(both, scenario)


def test_one_push_serves_one_waiter_per_element(both):
    def scenario(admin, new_conn):
        waiters = [new_conn() for _ in range(3)]
        for i, w in enumerate(waiters):
            block(admin, w, i + 1, "BLPOP", "k", "0")
        got = [admin.call_raw("LPUSH", "k", "x", "y")]
        got += [read(w) for w in waiters[:2]]
        got.append(blocked_count(admin))
        got.append(admin.call_raw("RPUSH", "k", "z"))
        got.append(read(waiters[2]))
        got.append(admin.call_raw("EXISTS", "k"))
        return got

    run_on_both(both, scenario)


def test_timeouts(both):
    for server in both:
        conn = RespConn(server.port)
        try:
            conn.call("DEL", "nothing", "dst")
            for args in (("BLPOP", "nothing", "0.3"), ("BRPOP", "nothing", "nothing2", "0.3"),
                         ("BLMOVE", "nothing", "dst", "LEFT", "RIGHT", "0.3"),
                         ("BRPOPLPUSH", "nothing", "dst", "0.3"),
                         ("BLMPOP", "0.3", "1", "nothing", "LEFT")):
                start = time.monotonic()
                reply = conn.call_raw(*args)
                elapsed = time.monotonic() - start
                # Every list waiter times out with a null array in 7.0.
                assert reply == b"*-1\r\n", (server.name, args, reply)
                assert 0.25 <= elapsed < 0.3 + 0.5 * SLOW, (server.name, args, elapsed)
            assert conn.call("EXISTS", "dst") == 0
        finally:
            conn.close()


def test_sub_millisecond_timeouts_round_up(both):
    """Redis 7.0 rounds a timeout up to whole milliseconds: 0.0001 s waits
    1 ms, it does not become 0 (block forever)."""
    for server in both:
        conn = RespConn(server.port, timeout=3)
        try:
            for args in (("BLPOP", "nothing", "0.001"), ("BLPOP", "nothing", "0.0001"),
                         ("BRPOP", "nothing", "1e-400"), ("BZPOPMIN", "nothing", "0.0009"),
                         ("BLMPOP", "0.0001", "1", "nothing", "LEFT")):
                start = time.monotonic()
                reply = conn.call_raw(*args)
                assert reply in (b"*-1\r\n", b"$-1\r\n"), (server.name, args, reply)
                assert time.monotonic() - start < 0.5 * SLOW, (server.name, args)
        finally:
            conn.close()


def test_timeout_then_next_waiter_is_served(both):
    def scenario(admin, new_conn):
        a, b = new_conn(), new_conn()
        block(admin, a, 1, "BLPOP", "k", "0.2")
        block(admin, b, 2, "BLPOP", "k", "0")
        got = [read(a)]  # times out first
        got.append(admin.call_raw("RPUSH", "k", "v"))
        got.append(read(b))
        return got

    run_on_both(both, scenario)


def test_key_replaced_by_other_type_while_waiting(both):
    """A string at the key does not serve a list waiter; it stays blocked
    and is served once a list appears there again."""
    def scenario(admin, new_conn):
        w = new_conn()
        block(admin, w, 1, "BLPOP", "k", "0")
        got = [admin.call_raw("SET", "k", "str"), blocked_count(admin)]
        got.append(admin.call_raw("DEL", "k"))
        got.append(admin.call_raw("RPUSH", "k", "v1", "v2"))
        got.append(read(w))
        got += dump(admin, "k")
        return got

    run_on_both(both, scenario)


def test_key_created_and_deleted_inside_multi(both):
    """Served only after the transaction: a list that is gone by then
    serves nobody, and one turned into a string neither."""
    def scenario(admin, new_conn):
        w = new_conn()
        block(admin, w, 1, "BRPOP", "k", "0")
        got = [admin.call_raw("MULTI"), admin.call_raw("RPUSH", "k", "a"),
               admin.call_raw("DEL", "k"), admin.call_raw("EXEC"), blocked_count(admin)]
        got += [admin.call_raw("MULTI"), admin.call_raw("RPUSH", "k", "a"),
                admin.call_raw("SET", "k", "s"), admin.call_raw("EXEC"), blocked_count(admin)]
        got += [admin.call_raw("DEL", "k")]
        got += [admin.call_raw("MULTI"), admin.call_raw("RPUSH", "k", "a", "b"),
                admin.call_raw("RPOP", "k"), admin.call_raw("EXEC")]
        got.append(read(w))
        got += dump(admin, "k")
        return got

    run_on_both(both, scenario)


def test_blocking_pops_inside_multi_do_not_block(both):
    def scenario(admin, new_conn):
        c = new_conn()
        got = [c.call_raw("MULTI")]
        for args in (("BLPOP", "none", "0"), ("BRPOP", "none", "0"),
                     ("BLMOVE", "none", "d", "LEFT", "LEFT", "0"),
                     ("BRPOPLPUSH", "none", "d", "0"), ("BLMPOP", "0", "1", "none", "RIGHT"),
                     ("RPUSH", "full", "x", "y"), ("BLPOP", "none", "full", "0"),
                     ("BLMOVE", "full", "d", "RIGHT", "LEFT", "0")):
            got.append(c.call_raw(*args))
        got.append(c.call_raw("EXEC"))
        got += dump(admin, "full", "d")
        return got

    run_on_both(both, scenario)


def test_blmove_chain(both):
    def scenario(admin, new_conn):
        c1, c2, c3 = new_conn(), new_conn(), new_conn()
        block(admin, c1, 1, "BLMOVE", "a", "b", "RIGHT", "LEFT", "0")
        block(admin, c2, 2, "BLMOVE", "b", "c", "LEFT", "RIGHT", "0")
        block(admin, c3, 3, "BRPOPLPUSH", "c", "d", "0")
        got = [admin.call_raw("RPUSH", "a", "x")]
        got += [read(c1), read(c2), read(c3)]
        got += dump(admin, "a", "b", "c", "d")
        return got

    run_on_both(both, scenario)


def test_blmove_to_wrong_type_destination(both):
    """Served with WRONGTYPE: the element stays in the source and the next
    waiter gets it."""
    def scenario(admin, new_conn):
        c1, c2 = new_conn(), new_conn()
        admin.call("SET", "str", "x")
        block(admin, c1, 1, "BLMOVE", "src", "str", "LEFT", "LEFT", "0")
        block(admin, c2, 2, "BLPOP", "src", "0")
        got = [admin.call_raw("RPUSH", "src", "e1", "e2")]
        got += [read(c1), read(c2), blocked_count(admin)]
        got += dump(admin, "src", "str")
        return got

    run_on_both(both, scenario)


def test_multi_key_waiter_and_pipelined_commands(both):
    def scenario(admin, new_conn):
        c = new_conn()
        # Pipelined behind the blocking command: runs once it is served.
        c.send(rmtest.encode_command("BLPOP", "k1", "k2", "0") +
               rmtest.encode_command("LLEN", "k2") + rmtest.encode_command("PING"))
        wait_blocked(admin, 1)
        got = [admin.call_raw("RPUSH", "k2", "v", "w")]
        got += [read(c), read(c), read(c)]
        got += dump(admin, "k1", "k2")
        return got

    run_on_both(both, scenario)


def test_disconnected_waiter_is_skipped(both):
    def scenario(admin, new_conn):
        gone, stays = new_conn(), new_conn()
        block(admin, gone, 1, "BLPOP", "k", "0")
        block(admin, stays, 2, "BLPOP", "k", "0")
        gone.close()
        wait_blocked(admin, 1)
        got = [admin.call_raw("RPUSH", "k", "only")]
        got.append(read(stays))
        got.append(admin.call_raw("EXISTS", "k"))
        return got

    run_on_both(both, scenario)


def test_blmpop_served_count_and_side(both):
    def scenario(admin, new_conn):
        c = new_conn()
        block(admin, c, 1, "BLMPOP", "0", "2", "a", "b", "RIGHT", "COUNT", "10")
        got = [admin.call_raw("RPUSH", "b", "1", "2", "3"), read(c)]
        got += dump(admin, "a", "b")
        return got

    run_on_both(both, scenario)


def test_multi_key_waiter_served_from_first_ready_key(both):
    def scenario(admin, new_conn):
        c = new_conn()
        block(admin, c, 1, "BLPOP", "k1", "k2", "0")
        got = [admin.call_raw("MULTI"), admin.call_raw("RPUSH", "k2", "from-k2"),
               admin.call_raw("RPUSH", "k1", "from-k1"), admin.call_raw("EXEC"), read(c)]
        got += dump(admin, "k1", "k2")
        return got

    run_on_both(both, scenario)


def test_huge_timeouts_error_like_redis(both):
    def scenario(admin, new_conn):
        c = new_conn()
        return [c.call_raw("BLPOP", "k", t) for t in ("1e20", "inf", "-inf", "1e17")]

    run_on_both(both, scenario)


def test_client_unblock(both):
    """CLIENT UNBLOCK answers a blocked client at once: its timeout reply
    (the default, or TIMEOUT) or the UNBLOCKED error (ERROR), for list,
    sorted-set and stream reads and for WAIT; the client then runs what it
    pipelined. The errors and the 0 for a client that is not blocked are
    Redis's."""
    blocking = [("BLPOP", "nosuch", "0"), ("BRPOPLPUSH", "nosuch", "d", "0"),
                ("BLMPOP", "0", "1", "nosuch", "LEFT"), ("BZPOPMIN", "nosuch", "0"),
                ("XREAD", "BLOCK", "0", "STREAMS", "nosuch", "$"), ("WAIT", "1", "0")]

    def scenario(admin, new_conn):
        t = []
        for args in blocking:
            for reason in ((), ("TIMEOUT",), ("ERROR",)):
                c = new_conn()
                cid = c.call("CLIENT", "ID")
                block(admin, c, 1, *args)
                c.send_command("PING")  # pipelined behind the blocked command
                t.append((args, reason, admin.call_raw("CLIENT", "UNBLOCK", cid, *reason)))
                t.append(c.read_reply()[0])
                t.append(c.read_reply()[0])
                wait_blocked(admin, 0)
                t.append(admin.call_raw("CLIENT", "UNBLOCK", cid))  # no longer blocked
        me = admin.call("CLIENT", "ID")
        for args in [("CLIENT", "UNBLOCK", me), ("CLIENT", "UNBLOCK", "999999"),
                     ("CLIENT", "UNBLOCK", "x"), ("CLIENT", "UNBLOCK", me, "LATER"),
                     ("CLIENT", "UNBLOCK", me, "ERROR", "x"), ("CLIENT", "UNBLOCK"),
                     ("CLIENT", "UNBLOCK", "-1")]:
            t.append(admin.call_raw(*args))
        return t
    run_on_both(both, scenario)


def test_client_unblock_resumes_after_the_command(both):
    """The released client's pipeline runs after the command that released
    it (here a whole transaction), never inside it; a waiter released while
    WAIT's timeouts are being answered leaves the other waiters in place."""
    def scenario(admin, new_conn):
        t = []
        blocked = new_conn()
        bid = blocked.call("CLIENT", "ID")
        admin.call("SET", "counter", "10")
        block(admin, blocked, 1, "BLPOP", "nosuch", "0")
        blocked.send_command("INCR", "counter")
        x = new_conn()
        for args in (("MULTI",), ("SET", "counter", "20"), ("CLIENT", "UNBLOCK", bid),
                     ("GET", "counter"), ("EXEC",)):
            t.append(x.call_raw(*args))
        t.append(blocked.read_reply()[0])
        t.append(blocked.read_reply()[0])
        t.append(admin.call_raw("GET", "counter"))
        # WAIT: b waits forever, a for 200 ms then releases b, c for 600 ms.
        b, a, c = new_conn(), new_conn(), new_conn()
        b_id = b.call("CLIENT", "ID")
        block(admin, b, 1, "WAIT", "1", "0")
        a.send(rmtest.encode_command("WAIT", "1", "200") +
               rmtest.encode_command("CLIENT", "UNBLOCK", b_id))
        wait_blocked(admin, 2)
        block(admin, c, 3, "WAIT", "1", "600")
        t += [a.read_reply()[0], a.read_reply()[0], b.read_reply()[0], c.read_reply()[0]]
        return t
    run_on_both(both, scenario)
