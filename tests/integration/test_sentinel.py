"""Ringmaster under a real, unchanged redis-sentinel 7.0.

One master and two replicas, each started from its own config file (which
Sentinel has them rewrite), and three redis-sentinel processes with low
timeouts (quorum 2, down-after 2 s, failover-timeout 10 s), all on
127.0.0.1. The sentinels must discover the replicas and
each other, then fail over three times in a row: each time the current
master is killed (SIGKILL), a replica is promoted, its sibling follows it by
partial resync, no write that both replicas acknowledged (WAIT 2) is lost,
and the killed node, started again on the same port and config file, is
turned into a replica of the new master by Sentinel.

The same scenario with three redis-server data nodes (one round) is the
control that the test itself is right. Smaller tests pin what Sentinel
sends: its reconfiguration transaction and SCRIPT KILL, against both
servers. bench/failover_bench.py times the same failover.
"""

import time

import pytest

import rmtest
from repl_helpers import assert_same_digest, call, info, wait_for

MASTER_NAME = "mymaster"
# Not 1000: a sentinel that switches to the new master resets its link and
# may reconnect only a second after its last attempt at the dead one, so
# with 1000 it sometimes takes the healthy new master for down too and
# fails over again (seen with either server behind it).
DOWN_AFTER_MS = 2000
# Sentinel retries a failed election only after 2 * failover-timeout, and
# turns a restarted old master into a replica after ~8-10 s: generous bounds.
FAILOVER_DEADLINE = 45.0
REJOIN_DEADLINE = 40.0


def config_file(servers, name, filename, lines):
    """(port, workdir, path) of a new config file in the test's tmp dir:
    `lines` after the port, bind, dir and log directives every process has."""
    port = rmtest.free_port()
    workdir = servers.tmp_path / name
    workdir.mkdir()
    conf = workdir / filename
    common = ["port %d" % port, "bind 127.0.0.1", 'dir "%s"' % workdir, 'logfile ""',
              "daemonize no"]
    conf.write_text("\n".join(common + lines + [""]))
    return port, workdir, conf


def data_node(servers, kind, name):
    """A data node started from its own config file, as a deployment has it:
    Sentinel makes it CONFIG REWRITE that file after each REPLICAOF."""
    port, workdir, conf = config_file(servers, name, "node.conf", [
        'save ""', "appendonly no", "enable-debug-command yes",
        "repl-diskless-sync-delay 0"])
    begin = servers.redis if kind == "redis" else servers.ringmaster
    return begin(name=name, config_file=conf, standard=False, port=port, workdir=workdir)


def sentinel_node(servers, master, name):
    port, _, conf = config_file(servers, name, "sentinel.conf", [
        "sentinel resolve-hostnames no",
        "sentinel monitor %s 127.0.0.1 %d 2" % (MASTER_NAME, master.port),
        "sentinel down-after-milliseconds %s %d" % (MASTER_NAME, DOWN_AFTER_MS),
        "sentinel failover-timeout %s 10000" % MASTER_NAME])
    return servers.sentinel(conf, port, name=name)


def pairs(flat):
    """A SENTINEL reply entry [k1, v1, k2, v2, ...] as a dict of str."""
    return {flat[i].decode(): flat[i + 1].decode() for i in range(0, len(flat), 2)}


def sentinel_call(sentinel, *args):
    with rmtest.RespConn(sentinel.port, timeout=5.0) as c:
        return c.call(*args)


def sentinel_events(sentinels):
    """The event lines of every sentinel's log, for a failure message."""
    out = []
    for s in sentinels:
        lines = [l for l in s.log_text().splitlines() if " # " in l or " * " in l]
        out.append("---- %s ----\n%s" % (s.name, "\n".join(lines[-60:])))
    return "\n".join(out)


class Deployment:
    def __init__(self, servers, kind):
        self.servers = servers
        self.nodes = [data_node(servers, kind, "node%d" % i) for i in range(3)]
        self.master = self.nodes[0]
        for r in self.nodes[1:]:
            assert call(r, "REPLICAOF", "127.0.0.1", str(self.master.port)) == b"OK"
        self.wait_replicas_of(self.master, self.nodes[1:])
        self.sentinels = [sentinel_node(servers, self.master, "sentinel%d" % i)
                          for i in range(3)]

    def by_port(self, port):
        return next(n for n in self.nodes if n.port == port)

    def wait(self, what, predicate, timeout):
        try:
            return wait_for(what, predicate, timeout=timeout, interval=0.1)
        except AssertionError as e:
            logs = "\n".join(n.log_tail(30) for n in self.nodes)
            raise AssertionError("%s\n%s\n%s" % (e, sentinel_events(self.sentinels), logs))

    def wait_replicas_of(self, master, replicas, timeout=30.0):
        """Each replica's link to `master` is up and all are at its offset."""
        def synced():
            m = int(info(master)["master_repl_offset"])
            for r in replicas:
                i = info(r)
                if (i.get("role") != "slave" or i.get("master_port") != str(master.port)
                        or i.get("master_link_status") != "up"
                        or int(i["master_repl_offset"]) != m):
                    return None
            return m
        return self.wait("%s in sync with %s" % ([r.name for r in replicas], master.name),
                         synced, timeout)

    def wait_discovery(self):
        """Every sentinel lists both replicas (flags exactly 'slave') and
        the two other sentinels."""
        want = sorted(n.port for n in self.nodes if n is not self.master)

        def discovered():
            for s in self.sentinels:
                replicas = [pairs(r) for r in sentinel_call(s, "SENTINEL", "REPLICAS",
                                                             MASTER_NAME)]
                ok = sorted(int(r["port"]) for r in replicas if r["flags"] == "slave")
                if ok != want:
                    return None
                others = sentinel_call(s, "SENTINEL", "SENTINELS", MASTER_NAME)
                if len(others) != 2:
                    return None
            return True
        self.wait("sentinels discovering the replicas and each other", discovered, 30.0)

    def master_addr(self, sentinel):
        addr = sentinel_call(sentinel, "SENTINEL", "GET-MASTER-ADDR-BY-NAME", MASTER_NAME)
        return int(addr[1])

    def write_acknowledged(self, prefix):
        """200 keys set on the master and acknowledged by both replicas."""
        keys = ["%s:key%d" % (prefix, i) for i in range(200)]
        with self.master.raw() as c:
            for k in keys:
                assert c.call("SET", k, k) == b"OK"
            assert c.call("WAIT", "2", "5000") == 2
        return keys

    def kill_master(self):
        self.master.expect_exit()
        self.master.proc.kill()
        assert self.master.wait_exit(10) is not None

    def failover_round(self, rnd):
        old = self.master
        replicas = [n for n in self.nodes if n is not old]
        keys = self.write_acknowledged("round%d" % rnd)
        before = {n.name: sync_counts(n) for n in replicas}
        self.kill_master()

        def promoted():
            ports = {self.master_addr(s) for s in self.sentinels}
            if len(ports) != 1 or old.port in ports:
                return None
            new = self.by_port(ports.pop())
            return new if call(new, "ROLE")[0] == b"master" else None
        new = self.wait("a replica promoted by every sentinel", promoted, FAILOVER_DEADLINE)
        sibling = next(n for n in replicas if n is not new)
        self.wait_replicas_of(new, [sibling], timeout=FAILOVER_DEADLINE)

        # The sibling continued from the promoted node's history: no full sync.
        full, partial = sync_counts(new)
        full0, partial0 = before[new.name]
        assert full == full0 and partial > partial0, \
            "%s: sync_full %d -> %d, sync_partial_ok %d -> %d" % (
                new.name, full0, full, partial0, partial)
        for n in (new, sibling):
            with n.raw() as c:
                assert c.call("MGET", *keys) == [k.encode() for k in keys], \
                    "acknowledged writes lost on %s" % n.name

        # The old master comes back on its port and config file; Sentinel
        # makes it a replica of the new master.
        old.start()
        old.exit_expected = False
        self.wait_replicas_of(new, [old, sibling], timeout=REJOIN_DEADLINE)
        assert_same_digest(new, [old, sibling])
        self.master = new


def sync_counts(server):
    i = info(server, "stats")
    return int(i["sync_full"]), int(i["sync_partial_ok"])


def reconfigure_like_sentinel(node, *replicaof):
    """The transaction Sentinel sends to make a node a replica (or, with
    NO ONE, a master): replies exactly as the node gave them."""
    with node.raw() as c:
        c.send(b"".join(rmtest.encode_command(*cmd) for cmd in [
            ("MULTI",), ("SLAVEOF",) + replicaof, ("CONFIG", "REWRITE"),
            ("CLIENT", "KILL", "TYPE", "normal"), ("CLIENT", "KILL", "TYPE", "pubsub"),
            ("EXEC",)]))
        return [c.read_reply()[0] for _ in range(6)]


@pytest.mark.parametrize("kind", ["ringmaster", "redis"])
def test_sentinel_reconfiguration_transaction(servers, kind):
    """MULTI / SLAVEOF / CONFIG REWRITE / CLIENT KILL TYPE normal and pubsub /
    EXEC: the other clients are gone, the file names the new master (and no
    master at all after SLAVEOF NO ONE), and a restart follows the file."""
    top = data_node(servers, kind, "top")
    node = data_node(servers, kind, "node")
    conf = node.config_file
    normal, sub = node.raw(), node.raw()
    assert sub.call("SUBSCRIBE", "__sentinel__:hello")[0] == b"subscribe"
    queued = [b"+QUEUED\r\n"] * 4
    assert reconfigure_like_sentinel(node, "127.0.0.1", str(top.port)) == [b"+OK\r\n"] + queued + [
        b"*4\r\n+OK\r\n+OK\r\n:1\r\n:1\r\n"]
    for c in (normal, sub):
        with pytest.raises((rmtest.ConnectionClosed, OSError)):
            c.call("PING")
        c.close()
    assert "\nreplicaof 127.0.0.1 %d\n" % top.port in conf.read_text()
    node.stop()
    node.start()
    node.exit_expected = False
    assert call(node, "ROLE")[:3] == [b"slave", b"127.0.0.1", top.port]

    assert reconfigure_like_sentinel(node, "NO", "ONE") == [b"+OK\r\n"] + queued + [
        b"*4\r\n+OK\r\n+OK\r\n:0\r\n:0\r\n"]
    assert "replicaof" not in conf.read_text()
    node.stop()
    node.start()
    node.exit_expected = False
    assert call(node, "ROLE")[0] == b"master"


def test_script_kill_like_redis(ringmaster, redis_ref):
    """Sentinel sends SCRIPT KILL to a master that answers -BUSY; with no
    script running the reply is NOTBUSY, in or out of a transaction."""
    script = [("SCRIPT", "KILL"), ("script", "kill"), ("SCRIPT", "KILL", "x"),
              ("MULTI",), ("SCRIPT", "KILL"), ("EXEC",)]
    got = {}
    for server in (ringmaster, redis_ref):
        with server.raw() as c:
            got[server.name] = [c.call_raw(*cmd) for cmd in script]
    assert got["ringmaster"] == got["redis"]
    assert got["redis"][0] == b"-NOTBUSY No scripts in execution right now.\r\n"


@pytest.mark.parametrize("kind,rounds", [("ringmaster", 3), ("redis", 1)])
def test_sentinel_failover(servers, kind, rounds):
    if rmtest.redis_sentinel_bin() is None:
        pytest.skip("redis-sentinel is not installed (apt-get install redis-sentinel)")
    d = Deployment(servers, kind)
    d.wait_discovery()
    for rnd in range(rounds):
        d.failover_round(rnd)
