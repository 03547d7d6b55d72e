"""CLIENT TRACKING (client-side caching) in RESP2, compared with
redis-server 7.0: invalidations redirected to a Pub/Sub client on
__redis__:invalidate, default mode (with OPTIN, OPTOUT and NOLOOP), BCAST
with prefixes, FLUSHALL's null invalidation, a broken redirection, and
every refusal. Client ids differ between the two servers: each reply has
them replaced by a placeholder before the byte comparison.
"""

import time

import pytest

import rmtest
from rmtest import RespConn


def pubsub_messages(sub):
    """Everything the subscriber received so far (quiet for a moment)."""
    data, _ = rmtest.read_until_closed_or_quiet(sub.sock, quiet=0.15)
    return sub.pending() + data


def session(server):
    """Run the script on `server`; returns the list of replies and messages
    seen, with client ids replaced."""
    out = []
    w = server.raw()
    w.call("FLUSHALL")
    sub = server.raw()
    sid = sub.call("CLIENT", "ID")
    ids = {str(sid).encode(): b"SUB"}
    assert sub.call("SUBSCRIBE", "__redis__:invalidate")
    t = server.raw()

    def run(conn, *cmd):
        out.append(conn.call_raw(*cmd))

    run(t, "CLIENT", "TRACKING", "on", "REDIRECT", str(sid))
    run(t, "GET", "a")
    run(t, "MGET", "b", "c")
    run(t, "CLIENT", "TRACKINGINFO")
    run(t, "CLIENT", "GETREDIR")
    w.call("SET", "a", "1")
    w.call("MSET", "b", "1", "c", "2", "a", "3")  # a: nobody reads it since
    out.append(b"SUB:" + pubsub_messages(sub))
    t.call("GET", "a")
    t.call("SET", "a", "2")  # its own change, without NOLOOP: told
    out.append(b"SELF:" + pubsub_messages(sub))
    run(t, "CLIENT", "TRACKING", "on", "REDIRECT", str(sid), "NOLOOP")
    t.call("GET", "a")
    t.call("SET", "a", "5")
    out.append(b"NOLOOP:" + pubsub_messages(sub))
    # Movable keys, found as COMMAND GETKEYS finds them: SORT_RO's key (not
    # its BY/GET patterns), ZUNION's and SINTERCARD's after numkeys.
    w.call("RPUSH", "sl", "1")
    w.call("SET", "w_1", "9")
    t.call("SORT_RO", "sl", "BY", "w_*", "GET", "g_*")
    t.call("ZUNION", "2", "z1", "z2")
    t.call("SINTERCARD", "1", "s1", "LIMIT", "1")
    w.call("RPUSH", "sl", "2")
    w.call("SET", "w_1", "8")
    w.call("SET", "g_1", "8")
    w.call("ZADD", "z2", "1", "m")
    w.call("SADD", "s1", "m")
    out.append(b"MOVABLE:" + pubsub_messages(sub))
    t.call("GET", "x")
    w.call("FLUSHALL")
    out.append(b"FLUSH:" + pubsub_messages(sub))

    t2 = server.raw()
    t2.call("CLIENT", "TRACKING", "on", "REDIRECT", str(sid), "OPTIN")
    t2.call("GET", "o1")
    t2.call("CLIENT", "CACHING", "yes")
    t2.call("GET", "o2")
    t2.call("GET", "o3")
    w.call("MSET", "o1", "1", "o2", "2", "o3", "3")
    out.append(b"OPTIN:" + pubsub_messages(sub))
    run(t2, "CLIENT", "TRACKINGINFO")

    t3 = server.raw()
    run(t3, "CLIENT", "TRACKING", "on", "REDIRECT", str(sid), "BCAST", "PREFIX", "user:",
        "PREFIX", "obj:")
    w.call("SET", "user:1", "x")
    w.call("SET", "other", "x")
    w.call("SET", "obj:2", "y")
    out.append(b"BCAST:" + pubsub_messages(sub))
    run(t3, "CLIENT", "TRACKINGINFO")
    run(w, "INFO", "stats")
    out[-1] = b"\n".join(l for l in out[-1].split(b"\r\n") if l.startswith(b"tracking"))

    for cmd in REFUSALS(sid):
        with server.raw() as c:
            run(c, *cmd)

    t5 = server.raw()
    t5.call("CLIENT", "TRACKING", "on", "OPTOUT")
    for cmd in [("CLIENT", "CACHING", "yes"), ("CLIENT", "CACHING", "no"),
                ("CLIENT", "TRACKINGINFO"), ("CLIENT", "TRACKING", "on", "OPTIN"),
                ("CLIENT", "TRACKING", "on", "BCAST"), ("CLIENT", "NO-EVICT", "on"),
                ("CLIENT", "NO-EVICT", "maybe"), ("CLIENT", "NO-EVICT")]:
        run(t5, *cmd)
    listing = t5.call("CLIENT", "INFO")
    assert b" flags=te " in listing, listing

    r = server.raw()
    rid = r.call("CLIENT", "ID")
    ids[str(rid).encode()] = b"GONE"
    t6 = server.raw()
    t6.call("CLIENT", "TRACKING", "on", "REDIRECT", str(rid))
    r.close()
    time.sleep(0.1 * rmtest.SLOWDOWN)
    t6.call("GET", "br")
    w.call("SET", "br", "1")
    run(t6, "CLIENT", "TRACKINGINFO")
    assert b" flags=tR " in t6.call("CLIENT", "INFO")

    for conn in (w, sub, t, t2, t3, t5, t6):
        conn.close()
    normalised = []
    for reply in out:
        for real, placeholder in ids.items():
            reply = reply.replace(b":" + real + b"\r\n", b":" + placeholder + b"\r\n")
        normalised.append(reply)
    return normalised


def REFUSALS(sid):
    return [
        ("CLIENT", "TRACKING", "on", "PREFIX", "x"),
        ("CLIENT", "TRACKING", "on", "BCAST", "PREFIX", "ab", "PREFIX", "abc"),
        ("CLIENT", "TRACKING", "on", "BCAST", "PREFIX", "abc", "PREFIX", "ab"),
        ("CLIENT", "TRACKING", "on", "BCAST", "OPTIN"),
        ("CLIENT", "TRACKING", "on", "OPTIN", "OPTOUT"),
        ("CLIENT", "TRACKING", "on", "REDIRECT", "999999"),
        ("CLIENT", "TRACKING", "on", "REDIRECT", "x"),
        ("CLIENT", "TRACKING", "on", "REDIRECT", str(sid), "REDIRECT", str(sid)),
        ("CLIENT", "TRACKING", "maybe"),
        ("CLIENT", "TRACKING", "on", "FOO"),
        ("CLIENT", "TRACKING"),
        ("CLIENT", "CACHING", "yes"),
        ("CLIENT", "CACHING", "maybe"),
        ("CLIENT", "TRACKING", "on"),
        ("CLIENT", "TRACKING", "off"),
        ("CLIENT", "GETREDIR"),
        ("CLIENT", "TRACKINGINFO"),
        ("CLIENT", "GETREDIR", "x"),
    ]


def test_tracking_matches_redis(servers):
    ours = session(servers.ringmaster())
    theirs = session(servers.redis())
    for i, (a, b) in enumerate(zip(ours, theirs)):
        assert a == b, "reply %d differs" % i
    assert len(ours) == len(theirs)
    # and the script did see invalidations
    assert any(r.startswith(b"SUB:*3") for r in ours)


def test_tracking_client_gone_leaves_nothing_behind(servers):
    """A tracking client that disconnects is skipped (its ids stay in the
    table until the key changes), and tracking_clients counts it out."""
    rm = servers.ringmaster()
    sub = rm.raw()
    sid = sub.call("CLIENT", "ID")
    sub.call("SUBSCRIBE", "__redis__:invalidate")
    t = rm.raw()
    t.call("CLIENT", "TRACKING", "on", "REDIRECT", str(sid))
    t.call("GET", "k")
    with rm.raw() as w:
        assert b"tracking_clients:1" in w.call("INFO", "clients")
        t.close()
        time.sleep(0.1 * rmtest.SLOWDOWN)
        assert b"tracking_clients:0" in w.call("INFO", "clients")
        assert w.call("SET", "k", "v") == b"OK"
        assert b"tracking_total_keys:0" in w.call("INFO", "stats")
    assert pubsub_messages(sub) == b""


def test_tracking_table_max_keys_evicts_with_invalidations(servers):
    """Past tracking-table-max-keys, keys are forgotten at random and their
    clients told, as if the keys had changed."""
    rm = servers.ringmaster()
    sub = rm.raw()
    sid = sub.call("CLIENT", "ID")
    sub.call("SUBSCRIBE", "__redis__:invalidate")
    t = rm.raw()
    assert t.call("CONFIG", "GET", "tracking-table-max-keys") == [b"tracking-table-max-keys",
                                                                   b"1000000"]
    t.call("CONFIG", "SET", "tracking-table-max-keys", "5")
    t.call("CLIENT", "TRACKING", "on", "REDIRECT", str(sid))
    for i in range(20):
        t.call("GET", "key:%d" % i)
    t.call("PING")  # a few more passes of the event loop
    with rm.raw() as w:
        stats = w.call("INFO", "stats").decode()
    assert "tracking_total_keys:5\r\n" in stats, stats
    got = pubsub_messages(sub)
    assert got.count(b"__redis__:invalidate") == 15
    t.close()
    sub.close()
