"""The `sentinel` chaos scenario: real redis-sentinel fails a deployment
over, again and again, while its links are faulted, and no write that WAIT
confirmed is lost.

Topology. Three data nodes (one master, two replicas) and three
redis-sentinel processes (quorum 2, down-after 2 s, failover-timeout 10 s).
Every data node X sits behind its own inbound fault proxy P_X: clients,
Sentinel and the replicas of X all reach X through P_X, and X announces
P_X as its address (`replica-announce-ip 127.0.0.1`,
`replica-announce-port <P_X>`), so its master lists it in INFO
(`slaveN:ip=127.0.0.1,port=<P_X>`) under the proxy's port. Sentinel
monitors the master through its proxy and learns the replicas from those
lines; when it fails over it sends `REPLICAOF 127.0.0.1 <P_new>`, so every
replication link still goes through a proxy after any number of failovers,
and a fault on P_X hits every link into X (replication, Sentinel's, the
clients'). The runner itself talks to the nodes on their own ports.

What WAIT promises, in Redis 7.0 under Sentinel. `WAIT n timeout` blocks
until n replicas acknowledged (REPLCONF ACK) the offset of the client's
last write, or the timeout; it returns how many did. It makes nothing
durable: a write stays on the master either way, and a failover that
promotes a node lacking it loses it. Sentinel promotes, among the replicas
it reaches with fresh INFO (not down, link to the old master not down
for too long), the one with the best replica-priority, then the highest
replication offset (`slave_repl_offset` of its last INFO), then the
smallest run id. So:

- a write that WAIT confirmed on every replica (WAIT 2 here returned 2) is
  on every node Sentinel can promote, provided the replicas then are the
  nodes the failover chooses from: it survives. The runner fails a master
  only when both replicas are online and known to every sentinel (a node
  restarted empty and not yet synced is never a candidate), so this is
  asserted: none lost, ever.
- a write confirmed by one replica only survives when Sentinel promotes
  that replica (or one at least as far): it does when both replicas are
  reachable and their INFO was read after the old master stopped writing
  (the offsets are final), since the highest offset then has every write
  any replica acknowledged. Sentinel reads its replicas' INFO every second
  once the master is objectively down, before it elects a leader and picks
  a replica, and the link faults are off while a failover runs here, so
  this scenario asserts that too; it is not a general guarantee (a
  replica unreachable at that moment, or a different replica-priority,
  breaks it).
- a write acknowledged with no replica confirming it (WAIT returned 0, or
  its reply never came) can be lost; those are counted and listed.
- the old master, cut off from its replicas but not from some clients,
  keeps accepting writes that the failover will discard. With
  `min-replicas-to-write 1` and `min-replicas-max-lag 2` it refuses them
  (-NOREPLICAS) once no replica acknowledged for more than 2 s, which
  bounds the window: a client on its side of the partition writes to it
  directly, and the refusal must come within the lag plus a few seconds.

The schedule, seeded: link faults on every proxy (cut, reset, half-close,
stall up to 0.8 s, delay) for 2-5 s; once the master has both replicas
online, half of the time one replica's link lags (lag_replica), and the
master fails in one of four ways: kill -9 (restarted on its port and config file once Sentinel has
moved on), SIGSTOP (SIGCONT after), partition (its proxy refuses and cuts
every link) or stall-partition (its proxy holds every link open and moves
no bytes); each lasts until the sentinels agree on a new master, then is
undone, and Sentinel must turn the old master into a replica of the new
one. At least two failovers per run. At the end, faults off: every node a
replica of the final master with equal offsets and DEBUG DIGEST, and the
WAIT check above.
"""

import os
import threading
import time

import chaoslib as cl
from chaoslib import check, ScenarioFailure

MASTER_NAME = "chaos"
DOWN_AFTER_MS = 2000  # not less: see tests/integration/test_sentinel.py
FAILOVER_TIMEOUT_MS = 10000
MIN_REPLICAS_MAX_LAG = 2
WAIT_TIMEOUT_MS = 500
# The sentinels agree on a new master within down-after + election; a
# restarted or released old master is converted after ~8 s (Sentinel waits
# 4 hello periods before it reconfigures a node that says it is a master).
FAILOVER_DEADLINE = 45.0
REJOIN_DEADLINE = 60.0
FAILURES = ("kill9", "sigstop", "partition", "stall-partition")
LINK_FAULTS = ("cut", "reset", "halfclose", "halfclose-master", "stall", "delay")

KINDS = {
    "rm": ("ringmaster", "ringmaster", "ringmaster"),
    "redis-master": ("redis", "ringmaster", "ringmaster"),
    "redis-replica": ("ringmaster", "redis", "redis"),
    "redis": ("redis", "redis", "redis"),
}


def write_conf(path, lines):
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")


def common_lines(port, workdir):
    return ["port %d" % port, "bind 127.0.0.1", 'dir "%s"' % workdir, 'logfile ""',
            "daemonize no"]


class Node:
    """A data node and the proxy every link into it goes through."""

    def __init__(self, index, kind, proxy, srv):
        self.name = "node%d" % index
        self.kind = kind
        self.proxy = proxy
        self.srv = srv

    @property
    def addr(self):
        """The port the world knows it by: its proxy's."""
        return self.proxy.port


def sentinel_call(sentinel, *args):
    with cl.rmtest.RespConn(sentinel.port, timeout=2.0) as c:
        return c.call(*args)


def pairs(flat):
    return {flat[i].decode(): flat[i + 1].decode() for i in range(0, len(flat), 2)}


class WaitWriter(threading.Thread):
    """One client writing unique keys, each SET followed by WAIT 2, to the
    master the sentinels name (asked again after any error).

    `acked[n]` lists the keys whose SET said OK and whose WAIT said n
    replicas (a WAIT whose reply never came counts as 0); `in_doubt` counts
    SETs without a reply, `refused` error replies (READONLY, NOREPLICAS)."""

    def __init__(self, cid, sentinels):
        super().__init__(daemon=True)
        self.cid = cid
        self.sentinels = sentinels
        self.acked = {0: [], 1: [], 2: []}
        self.in_doubt = 0
        self.refused = 0
        self.stopping = threading.Event()

    def discover(self, attempt):
        s = self.sentinels[attempt % len(self.sentinels)]
        try:
            reply = sentinel_call(s, "SENTINEL", "GET-MASTER-ADDR-BY-NAME", MASTER_NAME)
            return int(reply[1])
        except (OSError, cl.rmtest.ConnectionClosed, TypeError, IndexError, ValueError):
            return None

    def run(self):
        conn, seq, attempt = None, 0, 0
        while not self.stopping.is_set():
            if conn is None:
                attempt += 1
                port = self.discover(attempt)
                try:
                    conn = cl.rmtest.RespConn(port, timeout=2.0) if port else None
                except OSError:
                    conn = None
                if conn is None:
                    time.sleep(0.1)
                    continue
            seq += 1
            key = "w:%d:%d" % (self.cid, seq)
            got_set = False
            try:
                conn.send(cl.rmtest.encode_command("SET", key, key) +
                          cl.rmtest.encode_command("WAIT", 2, WAIT_TIMEOUT_MS))
                set_reply = conn.read_reply()[1]
                got_set = True
                n = conn.read_reply()[1]
                if set_reply != b"OK":
                    self.refused += 1
                    raise ValueError("refused")
                self.acked[min(n, 2) if isinstance(n, int) else 0].append(key)
            except (OSError, cl.rmtest.ConnectionClosed, ValueError):
                if not got_set:
                    self.in_doubt += 1
                elif set_reply == b"OK":
                    self.acked[0].append(key)  # OK, but no WAIT reply
                conn.close()
                conn = None
                time.sleep(0.05)

    def stop(self):
        self.stopping.set()
        self.join(timeout=30)


class MinorityWriter(threading.Thread):
    """A client on the old master's side of a partition: SETs straight to
    its own port until stopped. `accepted` are the keys it took,
    `refused_after` the seconds until its first -NOREPLICAS."""

    def __init__(self, srv, tag):
        super().__init__(daemon=True)
        self.srv = srv
        self.tag = tag
        self.accepted = []
        self.refused_after = None
        self.errors = []
        self.stopping = threading.Event()

    def run(self):
        t0 = time.monotonic()
        seq = 0
        try:
            with cl.rmtest.RespConn(self.srv.port, timeout=2.0) as c:
                while not self.stopping.is_set():
                    seq += 1
                    key = "minority:%s:%d" % (self.tag, seq)
                    reply = c.call("SET", key, key)
                    if reply == b"OK":
                        self.accepted.append(key)
                    elif isinstance(reply, cl.rmtest.RespError) and \
                            reply.message.startswith("NOREPLICAS"):
                        if self.refused_after is None:
                            self.refused_after = time.monotonic() - t0
                    else:
                        self.errors.append(repr(reply))
                    time.sleep(0.02)
        except (OSError, cl.rmtest.ConnectionClosed) as e:
            self.errors.append(repr(e))

    def stop(self):
        self.stopping.set()
        self.join(timeout=10)


class SentinelScenario:
    def __init__(self, run):
        self.run = run
        self.rng = run.rng
        self.cluster = run.cluster
        self.nodes = []
        self.sentinels = []
        self.writers = []
        self.failovers = {}
        self.link_faults = {}
        self.minority = []
        self.lagged = 0
        self.wait1_lagging = 0  # WAIT-1 writes while a replica lagged, just before a failure

    # -- deployment ---------------------------------------------------------

    def start(self):
        kinds = KINDS[self.run.args.topology]
        for i, kind in enumerate(kinds):
            port = cl.rmtest.free_port()
            proxy = self.cluster.proxy(port, "proxy-node%d" % i)
            workdir = os.path.join(self.cluster.base, "node%d" % i)
            os.makedirs(workdir)
            lines = common_lines(port, workdir) + [
                'save ""', "appendonly no", "enable-debug-command yes",
                "repl-diskless-sync-delay 0", "repl-backlog-size 16mb", "repl-timeout 5",
                "repl-ping-replica-period 1", "replica-announce-ip 127.0.0.1",
                "replica-announce-port %d" % proxy.port, "min-replicas-to-write 1",
                "min-replicas-max-lag %d" % MIN_REPLICAS_MAX_LAG]
            if i:
                lines.append("replicaof 127.0.0.1 %d" % self.nodes[0].addr)
            conf = os.path.join(workdir, "node.conf")
            write_conf(conf, lines)
            srv = self.cluster.start(kind, "node%d" % i, workdir=workdir, port=port,
                                     config_file=conf, whole_config=True)
            self.nodes.append(Node(i, kind, proxy, srv))
        for i in range(3):
            port = cl.rmtest.free_port()
            workdir = os.path.join(self.cluster.base, "sentinel%d" % i)
            os.makedirs(workdir)
            conf = os.path.join(workdir, "sentinel.conf")
            write_conf(conf, common_lines(port, workdir) + [
                "sentinel resolve-hostnames no",
                "sentinel monitor %s 127.0.0.1 %d 2" % (MASTER_NAME, self.nodes[0].addr),
                "sentinel down-after-milliseconds %s %d" % (MASTER_NAME, DOWN_AFTER_MS),
                "sentinel failover-timeout %s %d" % (MASTER_NAME, FAILOVER_TIMEOUT_MS)])
            self.sentinels.append(self.cluster.start("sentinel", "sentinel%d" % i,
                                                     workdir=workdir, port=port,
                                                     config_file=conf, whole_config=True))
        self.wait_settled(REJOIN_DEADLINE)
        self.run.deadline = time.monotonic() + self.run.args.seconds

    def by_addr(self, port):
        return next((n for n in self.nodes if n.addr == port), None)

    def agreed_master(self):
        """The node every sentinel names as master, or None."""
        ports = set()
        for s in self.sentinels:
            try:
                reply = sentinel_call(s, "SENTINEL", "GET-MASTER-ADDR-BY-NAME", MASTER_NAME)
                ports.add(int(reply[1]))
            except (OSError, cl.rmtest.ConnectionClosed, TypeError, IndexError, ValueError):
                return None
        return self.by_addr(ports.pop()) if len(ports) == 1 else None

    def settled(self):
        """The master when every sentinel names the same node, which is one;
        the two others are its replicas with their link up and no sync
        running, the master lists both online, and every sentinel lists
        both as plain replicas. None otherwise."""
        master = self.agreed_master()
        if master is None:
            return None
        others = [n for n in self.nodes if n is not master]
        want = sorted(n.addr for n in others)
        try:
            if cl.info(master.srv)["role"] != "master":
                return None
            for n in others:
                i = cl.info(n.srv)
                if (i.get("role") != "slave" or i.get("master_port") != str(master.addr)
                        or i.get("master_link_status") != "up"
                        or i.get("master_sync_in_progress") != "0"):
                    return None
            i = cl.info(master.srv)
            online = sorted(int(v.split("port=")[1].split(",")[0]) for k, v in i.items()
                            if k.startswith("slave") and "port=" in v and "state=online" in v)
            if online != want:
                return None
            for s in self.sentinels:
                reps = [pairs(r) for r in sentinel_call(s, "SENTINEL", "REPLICAS", MASTER_NAME)]
                if sorted(int(r["port"]) for r in reps if r["flags"] == "slave") != want:
                    return None
        except (OSError, cl.rmtest.ConnectionClosed, KeyError, IndexError, ValueError):
            return None
        return master

    def wait_settled(self, timeout):
        """The master once settled() names one (whichever: a failover
        nobody asked for is not an error, the sentinels count it)."""
        try:
            return cl.wait_for("a master settled with both replicas", self.settled, timeout,
                               interval=0.1)
        except AssertionError as e:
            raise ScenarioFailure("%s\n%s" % (e, self.describe()))

    def describe(self):
        out = []
        for n in self.nodes:
            try:
                i = cl.info(n.srv)
                out.append("%s (%s, proxy %d): %s" % (n.name, n.kind, n.addr, {
                    k: v for k, v in i.items() if k in (
                        "role", "master_port", "master_link_status", "master_sync_in_progress",
                        "master_repl_offset", "connected_slaves") or k.startswith("slave")}))
            except (OSError, cl.rmtest.ConnectionClosed) as e:
                out.append("%s: %r" % (n.name, e))
        for s in self.sentinels:
            events = [ln for ln in s.log_text().splitlines() if " # " in ln][-15:]
            out.append("---- %s ----\n%s" % (s.name, "\n".join(events)))
        return "\n".join(out)

    # -- faults -------------------------------------------------------------

    def link_fault_window(self, seconds):
        """Faults on every proxy's links, none long enough for a failover."""
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            time.sleep(self.rng.uniform(0.3, 1.2))
            node = self.rng.choice(self.nodes)
            p = node.proxy
            kind = self.rng.choice(LINK_FAULTS)
            self.link_faults[kind] = self.link_faults.get(kind, 0) + 1
            self.run.say("%s on %s" % (kind, p.name))
            cl.link_fault(p, kind, self.rng, stall_s=(0.1, 0.8), delay_ms=(20, 200),
                          hold_s=(0.3, 1.5))

    def lag_replica(self, master):
        """The master's proxy delays one replica's link 300-600 ms each way
        (the proxy knows it by the listening-port it announced), so the
        master fails while that replica lags: WAIT 2 (500 ms) returns 1 for
        the last writes, which only the other replica has (a partition cuts
        the links and drops the bytes still delayed). The delay stays on
        through the failover; the next fault window's heal lifts it."""
        node = self.rng.choice([n for n in self.nodes if n is not master])
        master.proxy.fault("delay %d %d" % (self.rng.randint(300, 600), node.addr))
        self.lagged += 1
        self.run.say("%s lags" % node.name)
        before = self.count_acked(1)
        time.sleep(self.rng.uniform(1.0, 2.0))
        self.wait1_lagging += self.count_acked(1) - before

    def count_acked(self, cls):
        return sum(len(w.acked[cls]) for w in self.writers)

    def fail_master(self, master, how):
        """Fail `master` in way `how` until the sentinels agree on another,
        undo it, wait until Sentinel made it a replica."""
        self.run.say("master %s: %s" % (master.name, how))
        minority = None
        t0 = time.monotonic()
        if how == "kill9":
            self.run.counter.bank(master.srv)
            self.cluster.kill9(master.srv)
        elif how == "sigstop":
            cl.send_signal(master.srv, cl.SIGSTOP)
        else:
            minority = MinorityWriter(master.srv, "%d" % (sum(self.failovers.values()) + 1))
            master.proxy.fault("down" if how == "partition" else "stall-all")
            minority.start()
        try:
            new = self.wait_new_master(master)
            sibling = next(n for n in self.nodes if n not in (master, new))
            cl.wait_for("%s following %s" % (sibling.name, new.name),
                        lambda: cl.info(sibling.srv).get("master_port") == str(new.addr),
                        FAILOVER_DEADLINE, interval=0.1)
            took = time.monotonic() - t0
            if minority:
                bound = (MIN_REPLICAS_MAX_LAG + 4) * cl.rmtest.SLOWDOWN
                while minority.refused_after is None and time.monotonic() - t0 < bound:
                    time.sleep(0.05)
                check(minority.refused_after is not None,
                      "the partitioned old master %s still took writes %.0f s into the %s "
                      "(min-replicas-max-lag %d; its client saw %s)" % (
                          master.name, bound, how, MIN_REPLICAS_MAX_LAG, minority.errors[:3]))
        finally:
            if minority:
                minority.stop()
                self.minority.append(minority)
            if how == "kill9":
                master.srv = self.cluster.restart(master.srv)
            elif how == "sigstop":
                cl.send_signal(master.srv, cl.SIGCONT)
            else:
                master.proxy.heal()
        self.run.say("%s promoted after %.1fs" % (new.name, took))
        self.failovers[how] = self.failovers.get(how, 0) + 1
        self.wait_settled(REJOIN_DEADLINE)

    def wait_new_master(self, old):
        def promoted():
            m = self.agreed_master()
            if m is None or m is old:
                return None
            try:
                return m if cl.info(m.srv).get("role") == "master" else None
            except (OSError, cl.rmtest.ConnectionClosed):
                return None
        try:
            return cl.wait_for("the sentinels agreeing on a new master", promoted,
                               FAILOVER_DEADLINE, interval=0.1)
        except AssertionError as e:
            raise ScenarioFailure("%s\n%s" % (e, self.describe()))

    # -- the run ------------------------------------------------------------

    def execute(self):
        self.start()
        self.writers = [WaitWriter(i, self.sentinels) for i in range(2)]
        for w in self.writers:
            w.start()
        order = list(FAILURES)
        self.rng.shuffle(order)
        done = 0
        while self.run.left() > 0 or done < 2:
            self.link_fault_window(self.rng.uniform(2.0, 5.0))
            for n in self.nodes:
                n.proxy.heal()
            master = self.wait_settled(REJOIN_DEADLINE)
            if self.rng.random() < 0.5:
                self.lag_replica(master)
            self.fail_master(master, order[done % len(order)])
            done += 1
        for w in self.writers:
            w.stop()
        self.finish()

    def finish(self):
        for n in self.nodes:
            n.proxy.heal()
        master = self.wait_settled(REJOIN_DEADLINE)
        others = [n.srv for n in self.nodes if n is not master]
        cl.wait_converged(master.srv, others, timeout=60 * cl.rmtest.SLOWDOWN)
        # Every replication link goes through a proxy: the final master's
        # carries both replicas' streams, and the handshakes the proxies saw
        # are the syncs the nodes served.
        stats = {n.name: n.proxy.stats() for n in self.nodes}
        streams = stats[master.name]["phases"].count("stream")
        check(streams == 2, "%s's proxy carries %d replication streams, not 2: %s" %
              (master.name, streams, stats[master.name]["phases"]))
        counts = self.run.counter.total([n.srv for n in self.nodes])
        check(counts["sync_full"] == sum(st["fullresyncs"] for st in stats.values()) and
              counts["sync_partial_ok"] == sum(st["continues"] for st in stats.values()),
              "a sync bypassed the proxies: %s served, proxies saw %s" % (counts, {
                  k: (st["fullresyncs"], st["continues"]) for k, st in stats.items()}))
        acked, lost = {}, {}
        for cls in (2, 1, 0):
            keys = [k for w in self.writers for k in w.acked[cls]]
            acked["wait%d" % cls] = len(keys)
            lost["wait%d" % cls] = self.missing(master.srv, keys)
        minority_keys = [k for m in self.minority for k in m.accepted]
        minority_kept = len(minority_keys) - len(self.missing(master.srv, minority_keys))
        switches = max(s.log_text().count("+switch-master") for s in self.sentinels)
        r = self.run.result
        r.update(counts)
        r.update({
            "failovers": sum(self.failovers.values()), "failover_kinds": self.failovers,
            "failovers_with_lagging_replica": self.lagged,
            "wait1_just_before_failure": self.wait1_lagging,
            "sentinel_switches": switches, "link_faults": self.link_faults,
            "proxied_full": sum(st["fullresyncs"] for st in stats.values()),
            "proxied_partial": sum(st["continues"] for st in stats.values()),
            "acked": acked, "lost": {k: len(v) for k, v in lost.items()},
            "lost_keys": {k: v[:10] for k, v in lost.items() if v},
            "in_doubt": sum(w.in_doubt for w in self.writers),
            "refused": sum(w.refused for w in self.writers),
            "minority": {
                "partitions": len(self.minority), "accepted": len(minority_keys),
                "kept": minority_kept,
                "refused_after_s": [round(m.refused_after, 1) for m in self.minority
                                    if m.refused_after is not None]},
        })
        self.run.faults += sum(self.link_faults.values()) + sum(self.failovers.values())
        if switches != sum(self.failovers.values()):
            self.run.notes.append("the sentinels switched masters %d times for %d failures" %
                                  (switches, sum(self.failovers.values())))
        self.run.data_lost += len(lost["wait2"]) + len(lost["wait1"])
        check(not lost["wait2"], "%d writes WAIT confirmed on both replicas lost: %s" %
              (len(lost["wait2"]), lost["wait2"][:10]))
        check(not lost["wait1"], "%d writes WAIT confirmed on one replica lost: %s" %
              (len(lost["wait1"]), lost["wait1"][:10]))
        check(acked["wait2"] > 0, "no write was confirmed by both replicas")

    @staticmethod
    def missing(srv, keys):
        out = []
        with srv.raw(timeout=30) as c:
            for i in range(0, len(keys), 500):
                chunk = keys[i:i + 500]
                vals = c.call("MGET", *chunk)
                out += [k for k, v in zip(chunk, vals) if v != k.encode()]
        return out


def run(r):
    if r.args.tls:
        raise ScenarioFailure("the sentinel scenario has no --tls variant")
    if cl.rmtest.redis_sentinel_bin() is None:
        r.result["skipped"] = "redis-sentinel is not installed"
        return
    SentinelScenario(r).execute()
