"""Blocking XREAD and XREADGROUP, side by side with real redis-server 7.0
(the scenario style of test_blocking.py: each scenario returns a
transcript, which must be equal on both servers), plus the key operations
a stream value must survive (COPY, RENAME, MOVE, UNLINK of a large one)
and the keyspace events of every stream write.
"""

import time

import pytest

import rmtest
from rmtest import RespConn
from test_blocking import block, blocked_count, read, run_on_both  # noqa: F401

SLOW = rmtest.SLOWDOWN


@pytest.fixture(scope="module")
def both(module_servers):
    return module_servers.ringmaster(), module_servers.redis()


def test_xread_block_served_by_xadd(both):
    def scenario(admin, new_conn):
        a, b_, c = new_conn(), new_conn(), new_conn()
        got = [admin.call_raw("XADD", "s", "1-1", "f", "old")]
        # "$" means after the last ID at the time of blocking.
        block(admin, a, 1, "XREAD", "BLOCK", "0", "STREAMS", "s", "$")
        block(admin, b_, 2, "XREAD", "BLOCK", "0", "COUNT", "1", "STREAMS", "other", "s", "0",
              "1-1")
        block(admin, c, 3, "XREAD", "BLOCK", "0", "STREAMS", "nokey", "$")
        got.append(admin.call_raw("XADD", "s", "2-1", "f", "new", "g", "2"))
        got += [read(a), read(b_)]
        got.append(blocked_count(admin))
        got.append(admin.call_raw("XADD", "nokey", "5-5", "x", "y"))
        got.append(read(c))
        return got

    run_on_both(both, scenario)


def test_xreadgroup_block_creates_pel_and_nogroup_on_destroy(both):
    def scenario(admin, new_conn):
        a, b_ = new_conn(), new_conn()
        got = [admin.call_raw("XGROUP", "CREATE", "s", "g", "$", "MKSTREAM")]
        block(admin, a, 1, "XREADGROUP", "GROUP", "g", "alice", "BLOCK", "0", "STREAMS", "s",
              ">")
        got.append(admin.call_raw("XADD", "s", "1-1", "f", "v"))
        got.append(read(a))
        got.append(admin.call_raw("XPENDING", "s", "g"))
        block(admin, b_, 1, "XREADGROUP", "GROUP", "g", "bob", "BLOCK", "0", "STREAMS", "s",
              ">")
        got.append(admin.call_raw("XGROUP", "DESTROY", "s", "g"))
        got.append(read(b_))
        got.append(blocked_count(admin))
        return got

    run_on_both(both, scenario)


def test_xread_block_timeout_and_multi(both):
    for server in both:
        with RespConn(server.port) as c:
            c.call("DEL", "s")
            t0 = time.monotonic()
            assert c.call_raw("XREAD", "BLOCK", "150", "STREAMS", "s", "$") == b"*-1\r\n"
            assert time.monotonic() - t0 >= 0.14
            # Inside MULTI a BLOCK answers at once, as a timeout would.
            assert c.call("MULTI") == b"OK"
            assert c.call("XREAD", "BLOCK", "0", "STREAMS", "s", "$") == b"QUEUED"
            assert c.call_raw("EXEC") == b"*1\r\n*-1\r\n"
            assert c.call_raw("XREAD", "BLOCK", "-1", "STREAMS", "s", "$") == \
                b"-ERR timeout is negative\r\n"
            assert c.call_raw("XREAD", "BLOCK", "x", "STREAMS", "s", "$") == \
                b"-ERR timeout is not an integer or out of range\r\n"


def test_copy_rename_move_unlink_keep_the_stream(both):
    def scenario(admin, new_conn):
        got = []
        for i in range(1, 600):
            admin.call("XADD", "s", "%d-0" % i, "f", "v%d" % i)
        admin.call("XGROUP", "CREATE", "s", "g", "0")
        admin.call("XREADGROUP", "GROUP", "g", "c", "COUNT", "10", "STREAMS", "s", ">")
        got.append(admin.call_raw("COPY", "s", "s2"))
        got.append(admin.call_raw("XDEL", "s", "1-0"))
        got.append(admin.call_raw("XPENDING", "s2", "g"))
        got.append(admin.call_raw("XLEN", "s2"))
        got.append(admin.call_raw("RENAME", "s2", "s3"))
        got.append(admin.call_raw("TYPE", "s3"))
        got.append(admin.call_raw("OBJECT", "ENCODING", "s3"))
        got.append(admin.call_raw("MOVE", "s3", "5"))
        got.append(admin.call_raw("SELECT", "5"))
        got.append(admin.call_raw("XINFO", "GROUPS", "s3"))
        got.append(admin.call_raw("DEBUG", "DIGEST-VALUE", "s3"))
        got.append(admin.call_raw("FLUSHDB"))
        got.append(admin.call_raw("SELECT", "0"))
        got.append(admin.call_raw("UNLINK", "s"))
        got.append(admin.call_raw("EXISTS", "s"))
        got.append(admin.call_raw("DEBUG", "DIGEST"))
        return got

    run_on_both(both, scenario)


def test_keyspace_events(both):
    """Every stream write notifies what Redis 7.0 notifies, in its order
    (xadd, xtrim, xdel, xsetid, xgroup-*, consumer creation by XREADGROUP,
    XCLAIM and XAUTOCLAIM; nothing for XACK)."""
    cmds = [["XADD", "s", "1-1", "a", "1"], ["XADD", "s", "MAXLEN", "1", "2-1", "a", "1"],
            ["XDEL", "s", "2-1"], ["XADD", "s", "3-1", "a", "b"], ["XSETID", "s", "5-0"],
            ["XGROUP", "CREATE", "s", "g", "0"], ["XGROUP", "CREATE", "s2", "g", "$", "MKSTREAM"],
            ["XREADGROUP", "GROUP", "g", "c1", "STREAMS", "s", ">"],
            ["XCLAIM", "s", "g", "c2", "0", "3-1"], ["XAUTOCLAIM", "s", "g", "c3", "0", "0"],
            ["XGROUP", "CREATECONSUMER", "s", "g", "c4"], ["XGROUP", "DELCONSUMER", "s", "g", "c4"],
            ["XGROUP", "SETID", "s", "g", "0"], ["XACK", "s", "g", "3-1"],
            ["XTRIM", "s", "MAXLEN", "0"], ["XGROUP", "DESTROY", "s", "g"], ["DEL", "s"]]

    def scenario(admin, new_conn):
        admin.call("CONFIG", "SET", "notify-keyspace-events", "KEA")
        sub = new_conn()
        sub.send_command("PSUBSCRIBE", "__key*__:*")
        sub.read_reply()
        for c in cmds:
            admin.call(*c)
        events = []
        while True:
            msg = sub.read_reply()[1]
            events.append((msg[2], msg[3]))
            if msg[3] == b"del":
                break
        admin.call("CONFIG", "SET", "notify-keyspace-events", "")
        return events

    run_on_both(both, scenario)
