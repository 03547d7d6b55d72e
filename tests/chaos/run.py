#!/usr/bin/python3
"""Run one chaos scenario against a replication topology for a given time.

    RINGMASTER_BIN=build/ringmaster /usr/bin/python3 tests/chaos/run.py SCENARIO \
        [--seconds N] [--seed S] [--topology T] [--tls] [--diskless-load L] [--soak] [--keep]

Scenarios (each a seeded random schedule of faults, a write load on the
master while they happen, and a final check once they stop that every
replica's DEBUG DIGEST and master_repl_offset equal its master's):

  linkcut   the links cut, reset, half-closed, stalled, delayed and throttled
            every 0.5-3 s, at random moments and armed mid handshake and mid
            stream; partial resyncs must dominate full ones
  backlog   a link down longer than the backlog: exactly one full resync per
            outage, and no resync loop after it
  kills     kill -9 of a replica mid full sync (payload throttled, killed in
            the payload phase); of the master mid stream, restarted from its
            RDB (every write acknowledged before the last SAVE must be there);
            of a promoted replica (every write WAIT confirmed on all replicas
            must survive the failover back)
  sigstop   SIGSTOP of a replica until the master drops it (past
            client-output-buffer-limit replica, or past repl-timeout with no
            writes), then SIGCONT: it resyncs
  disk      the replica's dir on a small tmpfs: a disk-based full sync that
            does not fit (ENOSPC), then a read-only dir (EROFS): a clear log
            line, the replica keeps serving its old data; the master's SAVE
            into a full or read-only dir fails with an error and the old
            dump.rdb is kept. Skipped (exit 0, "skipped") when no tmpfs can
            be mounted.
  fsync     the master's and the replica's dirs on faultfs.py (FUSE)
            mounts whose fsync, fdatasync or directory fsync fails (EIO,
            ENOSPC, EDQUOT): SAVE, BGSAVE, the master's disk snapshot for a
            full sync and CONFIG REWRITE fail with the errno, logged by step,
            and keep the old file; -MISCONF until a BGSAVE succeeds; the
            replica (disk-based load) keeps serving its old data and retries
            no faster than once a second; all converge once the faults
            clear. At least one cycle per replica fault (fdatasync, fsync,
            directory fsync). Skipped when no FUSE mount can be made.
  sentinel  three redis-sentinel processes fail the master over (kill -9,
            SIGSTOP, partition by its proxy, stalled partition) at least
            twice while every link into every node, Sentinel's included,
            goes through a fault proxy; every write WAIT confirmed on a
            replica survives; a partitioned old master refuses writes
            (min-replicas-to-write) within the lag (see sentinel.py)

Topologies (--topology): rm (Ringmaster master and replicas, the default),
redis-master (redis-server 7.0 master, Ringmaster replicas), redis-replica
(Ringmaster master, redis-server replicas), redis (redis-server on both
ends: the control that a scenario's expectations are Redis's). --tls puts
the replication links on the master's tls-port with tls-replication yes;
the proxy stays byte-transparent (it only loses sight of the phases: armed
payload and stream faults do not fire, handshake ones count TLS bytes).

The last line on stdout is the result as JSON; the exit code is 0 when every
check held, 1 otherwise (the reason on stderr). --soak runs for an hour
unless --seconds says otherwise.
"""

import argparse
import json
import os
import random
import subprocess
import sys
import time
import traceback

import chaoslib as cl
import sentinel as sentinel_scenario
from chaoslib import check, ScenarioFailure

ROLES = {
    "rm": ("ringmaster", "ringmaster"),
    "redis-master": ("redis", "ringmaster"),
    "redis-replica": ("ringmaster", "redis"),
    "redis": ("redis", "redis"),
}


class Run:
    """One scenario run: the cluster, the rng, the counters, the report."""

    def __init__(self, args):
        self.args = args
        self.rng = random.Random(args.seed)
        self.cluster = cl.Cluster(keep=args.keep)
        self.counter = cl.SyncCounter()
        self.deadline = time.monotonic() + args.seconds
        self.master_kind, self.replica_kind = ROLES[args.topology]
        self.tls_args = ()
        self.faults = 0
        self.data_lost = 0
        self.notes = []
        self.result = {}

    def left(self):
        return self.deadline - time.monotonic()

    def say(self, msg):
        if self.args.verbose:
            print("[%7.2f] %s" % (self.args.seconds - self.left(), msg), file=sys.stderr)

    # -- topology -----------------------------------------------------------

    def master_args(self, backlog="16mb", *extra):
        return ("--repl-backlog-size", backlog, "--repl-timeout", "10",
                "--repl-ping-replica-period", "1",
                "--repl-diskless-sync-delay", "0") + self.tls_args + tuple(extra)

    def start_master(self, *args, name="master", config_file=None):
        return self.cluster.start(self.master_kind, name, *args, config_file=config_file)

    def start_replica(self, proxy, name, *extra):
        args = ("--replicaof", "127.0.0.1", proxy.port, "--repl-timeout", "10",
                "--repl-diskless-load", self.args.diskless_load) + self.tls_args + tuple(extra)
        if self.args.tls:
            # Its own tls-port too: promoted, it serves its siblings over TLS.
            tls_port = cl.rmtest.free_port()
            args += ("--tls-replication", "yes", "--tls-port", tls_port)
        srv = self.cluster.start(self.replica_kind, name, *args)
        srv.tls_port = tls_port if self.args.tls else None
        return srv

    def link_port(self, srv):
        """The port a replica of `srv` connects to: its tls-port under --tls."""
        return srv.tls_port if self.args.tls else srv.port

    def setup_tls(self):
        d = os.path.join(self.cluster.base, "tls")
        os.makedirs(d)

        def ossl(*a):
            subprocess.run(["openssl"] + list(a), cwd=d, check=True, timeout=60,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        ossl("req", "-x509", "-new", "-nodes", "-newkey", "rsa:2048", "-keyout", "ca.key",
             "-out", "ca.crt", "-days", "2", "-subj", "/CN=chaos-ca")
        ossl("req", "-new", "-nodes", "-newkey", "rsa:2048", "-keyout", "s.key", "-out", "s.csr",
             "-subj", "/CN=127.0.0.1")
        ossl("x509", "-req", "-in", "s.csr", "-CA", "ca.crt", "-CAkey", "ca.key",
             "-CAcreateserial", "-out", "s.crt", "-days", "2")
        # The master's plain port stays for the runner's own commands; the
        # replication link uses tls-port (see topology()).
        self.tls_args = ("--tls-cert-file", os.path.join(d, "s.crt"), "--tls-key-file",
                         os.path.join(d, "s.key"), "--tls-ca-cert-file",
                         os.path.join(d, "ca.crt"), "--tls-auth-clients", "no")

    def topology(self, replicas=2, backlog="16mb", master_extra=(), replica_extra=(),
                 master_config=None):
        """A master, `replicas` replicas each behind its own fault proxy."""
        tls_port = None
        if self.args.tls:
            self.setup_tls()
            tls_port = cl.rmtest.free_port()
            master_extra = tuple(master_extra) + ("--tls-port", tls_port)
        m = self.start_master(*self.master_args(backlog, *master_extra), config_file=master_config)
        m.tls_port = tls_port
        reps, proxies = [], []
        for i in range(replicas):
            p = self.cluster.proxy(self.link_port(m), "proxy%d" % (i + 1))
            proxies.append(p)
            reps.append(self.start_replica(p, "replica%d" % (i + 1), *replica_extra))
        self.deadline = time.monotonic() + self.args.seconds  # faults for the whole time
        return m, reps, proxies

    def loaded_topology(self, keys=2000, size=100, load_args=None, **topo):
        """topology(), `keys` keys of `size` bytes synced, a write load running."""
        m, reps, proxies = self.topology(**topo)
        self.preload(m, keys, size)
        cl.wait_converged(m, reps)
        load = cl.WriteLoad(m.port, self.rng.random(), **(load_args or {}))
        load.start()
        return m, reps, proxies, load

    def preload(self, master, keys, size):
        with master.raw() as c:
            for base in range(0, keys, 1000):
                # Random bytes: the payload's size is the dataset's (no LZF win).
                cmds = [cl.rmtest.encode_command("SET", "pre:%d" % i, os.urandom(size // 2).hex())
                        for i in range(base, min(keys, base + 1000))]
                c.send(b"".join(cmds))
                for _ in cmds:
                    c.read_reply()

    def converge(self, master, replicas, load=None, proxies=()):
        for p in proxies:
            p.heal()
        if load:
            load.paused.set()
            time.sleep(0.1)
        cl.wait_converged(master, replicas, timeout=60 * cl.rmtest.SLOWDOWN)
        if load:
            lost = cl.check_counter(master, load)
            if lost:
                self.notes.append("%d acknowledged INCRs missing on %s" % (lost, master.name))
            self.data_lost += lost
            load.paused.clear()

    def finish(self, master, replicas, load, proxies, **extra):
        self.faults += sum(p.faults for p in proxies)
        if load:
            load.stop()
        self.converge(master, replicas, None, proxies)
        if load:
            self.data_lost += cl.check_counter(master, load)
        counts = self.counter.total([master])
        self.result.update(counts)
        self.result.update(extra)
        if load:
            self.result["write_batches"] = load.batches
        return counts

    # -- scenarios ----------------------------------------------------------

    def linkcut(self):
        m, reps, proxies, load = self.loaded_topology()
        initial = self.counter.total([m])["sync_full"]
        kinds = ["cut", "reset", "halfclose", "halfclose-master", "stall", "delay", "throttle",
                 "arm-handshake", "arm-stream"]
        fired = {}
        while self.left() > 0:
            time.sleep(min(self.left(), self.rng.uniform(0.5, 3.0)))
            if self.left() <= 0:
                break
            p = self.rng.choice(proxies)
            kind = self.rng.choice(kinds)
            fired[kind] = fired.get(kind, 0) + 1
            self.say("%s on %s" % (kind, p.name))
            if kind == "throttle":
                p.fault("throttle %d" % self.rng.randint(20000, 500000))
                time.sleep(self.rng.uniform(0.5, 2.0))
                p.cmd("throttle 0")
            elif kind == "arm-handshake":
                # The next link dies while it is still handshaking.
                p.cmd("arm handshake %s %d" % (self.rng.choice(["cut", "reset"]),
                                               self.rng.randint(0, 20)))
                p.fault("cut")
            elif kind == "arm-stream":
                p.fault("arm stream %s %d" % (self.rng.choice(["cut", "reset", "halfclose"]),
                                              self.rng.randint(0, 200000)))
            else:
                cl.link_fault(p, kind, self.rng)
        counts = self.finish(m, reps, load, proxies, fault_kinds=fired)
        full_after = counts["sync_full"] - initial
        self.result["full_after_initial"] = full_after
        check(counts["sync_partial_ok"] > full_after,
              "partial resyncs do not dominate: %d partial, %d full after the initial syncs" %
              (counts["sync_partial_ok"], full_after))

    def backlog(self):
        m, reps, proxies, load = self.loaded_topology(backlog="256kb",
                                                      load_args=dict(pause=0.01))
        outages = payload_cuts = 0
        while self.left() > 6 or outages == 0:
            p = self.rng.choice(proxies)
            before = self.counter.total([m])
            armed0 = p.stats()["counts"].get("armed-payload", 0)
            # Disk or diskless payload; sometimes it is cut or reset midway,
            # which costs exactly one more full resync.
            mode = self.rng.choice(["yes", "no"])
            cl.call(m, "CONFIG", "SET", "repl-diskless-sync", mode)
            if self.rng.random() < 0.4:
                p.cmd("arm payload %s %d" % (self.rng.choice(["cut", "reset", "halfclose"]),
                                             self.rng.randint(0, 200000)))
            off0 = int(cl.info(m)["master_repl_offset"])
            p.fault("down")
            self.say("%s down" % p.name)
            # Past the backlog: the master writes more than 2x its size.
            cl.wait_for("the master's offset past the backlog",
                        lambda: int(cl.info(m)["master_repl_offset"]) > off0 + 512 * 1024,
                        timeout=60)
            time.sleep(self.rng.uniform(0, 1.0))
            p.cmd("up")
            outages += 1
            self.converge(m, reps, load)
            quiet = self.rng.uniform(2.0, 3.0)
            time.sleep(quiet)  # no resync loop: nothing changes while the load runs
            after = self.counter.total([m])
            cut = p.stats()["counts"].get("armed-payload", 0) - armed0
            p.cmd("disarm")  # a payload smaller than the armed offset never fired
            full = after["sync_full"] - before["sync_full"]
            err = after["sync_partial_err"] - before["sync_partial_err"]
            self.say("outage %d (diskless %s, %d payload cut): %d full, %d partial_err" %
                     (outages, mode, cut, full, err))
            check(full == 1 + cut, "outage %d: %d full resyncs, want exactly %d" %
                  (outages, full, 1 + cut))
            payload_cuts += cut
            self.faults += cut
            check(all(cl.info(r).get("master_link_status") == "up" for r in reps),
                  "a link is down again after the resync")
        self.finish(m, reps, load, proxies, outages=outages, payload_cuts=payload_cuts)

    def kills(self):
        m, reps, proxies, load = self.loaded_topology(20000, 200, backlog="4mb",
                                                      load_args=dict(wait_replicas=2))
        steps = ["replica-mid-sync", "master-mid-stream", "promoted-replica"]
        self.rng.shuffle(steps)
        done = {}
        i = 0
        while self.left() > 0 or i < len(steps):
            step = steps[i % len(steps)]
            i += 1
            self.say(step)
            if step == "replica-mid-sync":
                k = self.rng.randrange(len(reps))
                reps[k] = self.kill_replica_mid_sync(reps[k], proxies[k])
            elif step == "master-mid-stream":
                m = self.kill_master_mid_stream(m, load)
            else:
                m, reps = self.kill_promoted(m, reps, proxies, load)
            self.faults += 1
            done[step] = done.get(step, 0) + 1
            self.converge(m, reps, load, proxies)
        self.finish(m, reps, load, proxies, kills=done)

    def kill_replica_mid_sync(self, r, proxy):
        """kill -9 a replica while its full-sync payload is in flight."""
        self.cluster.kill9(r)
        for f in os.listdir(r.workdir):
            if f.endswith(".rdb"):
                os.unlink(os.path.join(r.workdir, f))  # a fresh replica: a full sync
        proxy.cmd("throttle 2000000")
        r = self.cluster.restart(r)

        # Under TLS the proxy cannot see the phases: every link stays in
        # "handshake", and 100 KB into it is well into the payload.
        phase = "handshake" if self.args.tls else "payload"

        def mid_payload():
            st = proxy.stats()
            return any(ph == phase and n > 100000
                       for ph, n in zip(st["phases"], st["phase_bytes"]))
        cl.wait_for("%s in the payload phase" % r.name, mid_payload, timeout=30, interval=0.02)
        self.cluster.kill9(r)
        proxy.cmd("throttle 0")
        return self.cluster.restart(r)

    def kill_master_mid_stream(self, m, load):
        """SAVE, more writes, kill -9 the master, restart it from its RDB."""
        saved = load.acked
        reply = self.save(m)
        check(reply == b"OK", "SAVE on %s said %r" % (m.name, reply))
        time.sleep(self.rng.uniform(0.3, 1.5))
        self.counter.bank(m)
        self.cluster.kill9(m)
        lost_by_design = load.acked - saved
        m = self.cluster.restart(m, loaded=True)
        have = cl.counter_on(m)
        if have < saved:
            self.data_lost += saved - have
            self.notes.append("master restart: chaos:ctr %d < %d saved" % (have, saved))
        self.result["writes_after_save_lost_by_rdb_design"] = \
            self.result.get("writes_after_save_lost_by_rdb_design", 0) + max(0, lost_by_design)
        # The counter continues from what the RDB holds: writes after the
        # SAVE are gone (replicas included, by their full resync), and so
        # are the WAIT confirmations of them.
        load.acked = load.replicated = have
        load.in_doubt = 1 << 30 if load.in_doubt else 0
        return m

    def kill_promoted(self, m, reps, proxies, load):
        """Promote replica1, move the master and replica2 under it, kill -9 it,
        fail back to the old master: what WAIT confirmed on both survives."""
        r1, r2 = reps
        p1, p2 = proxies
        # Let replica1 catch up first, as a failover tool waits for it.
        load.paused.set()
        time.sleep(0.1)
        cl.wait_converged(m, reps)
        cl.call(r1, "REPLICAOF", "NO", "ONE")
        cl.call(m, "REPLICAOF", "127.0.0.1", r1.port)
        p2.cmd("upstream %d" % self.link_port(r1))
        p2.fault("cut")
        self.counter.bank(m)
        load.retarget(r1.port)
        load.paused.clear()
        time.sleep(self.rng.uniform(0.5, 2.0))
        self.counter.bank(r1)
        self.cluster.kill9(r1)
        confirmed = load.replicated
        # Fail back: the old master (a replica of replica1 since) is promoted.
        cl.call(m, "REPLICAOF", "NO", "ONE")
        p2.cmd("upstream %d" % self.link_port(m))
        p2.fault("cut")
        load.retarget(m.port)
        have = cl.counter_on(m)
        if have < confirmed:
            self.data_lost += confirmed - have
            self.notes.append("failover: chaos:ctr %d < %d confirmed by WAIT" % (have, confirmed))
        load.acked = load.replicated = have
        load.in_doubt = 1 << 30
        for f in os.listdir(r1.workdir):
            if f.endswith(".rdb"):
                os.unlink(os.path.join(r1.workdir, f))
        r1 = self.cluster.restart(r1)  # replicaof proxy1 -> the master again
        return m, [r1, r2]

    def sigstop(self):
        m, reps, proxies, load = self.loaded_topology(
            backlog="1mb", master_extra=("--client-output-buffer-limit", "replica 1mb 256kb 2",
                                         "--repl-timeout", "4"))
        stops = {}
        while self.left() > 0 or not stops:
            r = self.rng.choice(reps)
            variant = self.rng.choice(["obuf", "timeout"])
            if variant == "timeout":
                load.paused.set()
            slaves0 = int(cl.info(m)["connected_slaves"])
            limit_lines = m.log_text().count("overcoming of output buffer limits")
            self.say("SIGSTOP %s (%s)" % (r.name, variant))
            cl.send_signal(r, cl.SIGSTOP)
            t0 = time.monotonic()
            try:
                if variant == "obuf":
                    # A burst far past the hard limit and what the proxy and
                    # the kernel buffer, well before repl-timeout.
                    self.preload_big(m, 16 * 1024 * 1024, prefix="burst")
                    cl.wait_for("the master's output-buffer-limit line",
                                lambda: m.log_text().count("overcoming of output buffer limits")
                                > limit_lines, timeout=10)
                cl.wait_for("the master dropping the stopped replica",
                            lambda: int(cl.info(m)["connected_slaves"]) < slaves0, timeout=30)
                time.sleep(self.rng.uniform(0, 1.5))
            finally:
                cl.send_signal(r, cl.SIGCONT)
            self.say("SIGCONT after %.1fs" % (time.monotonic() - t0))
            load.paused.clear()
            stops[variant] = stops.get(variant, 0) + 1
            self.faults += 1
            self.converge(m, reps, load)
        self.finish(m, reps, load, proxies, stops=stops)

    def disk(self):
        mdir = os.path.join(self.cluster.base, "master-disk")
        rdir = os.path.join(self.cluster.base, "replica-disk")
        if not (cl.mount_tmpfs(mdir, "8m") and cl.mount_tmpfs(rdir, "8m")):
            cl.umount(mdir)
            self.result["skipped"] = "cannot mount a tmpfs here"
            return
        try:
            self.disk_cycles(mdir, rdir)
        finally:
            cl.umount(mdir)
            cl.umount(rdir)

    def disk_cycles(self, mdir, rdir):
        m, reps, proxies = self.topology(
            replicas=1, backlog="256kb", master_extra=("--dir", mdir),
            replica_extra=("--dir", rdir, "--repl-diskless-load", "disabled"))
        r, p = reps[0], proxies[0]
        cycles = 0
        while self.left() > 0 or cycles == 0:
            cycles += 1
            cl.call(m, "FLUSHALL")
            cl.wait_offsets(m, reps)
            for d in (mdir, rdir):
                for f in os.listdir(d):
                    os.unlink(os.path.join(d, f))
                cl.remount(d, "rw,size=8m")
            # The replica's old data: some keys, or none (Ringmaster loads a
            # payload into an empty dataset while it writes it to disk).
            empty = self.rng.random() < 0.5
            if not empty:
                self.preload(m, 2000, 100 + cycles)
                cl.wait_converged(m, reps)
            else:
                cl.wait_offsets(m, reps)
            reply = self.save(m)
            check(reply == b"OK", "SAVE of a small dataset said %r" % (reply,))
            old_rdb = open(os.path.join(mdir, "dump.rdb"), "rb").read()
            old_digest = cl.call(r, "DEBUG", "DIGEST")
            # The link goes down; the master grows past both disks.
            p.fault("down")
            self.preload_big(m, 12 * 1024 * 1024)
            reply = self.save(m)
            check(isinstance(reply, cl.rmtest.RespError), "SAVE onto a full disk said %r" % reply)
            check(open(os.path.join(mdir, "dump.rdb"), "rb").read() == old_rdb,
                  "the old dump.rdb changed after a failed SAVE")
            # The replica's disk-based full sync cannot fit.
            p.cmd("up")
            cl.wait_for("the replica's ENOSPC log line",
                        lambda: "No space left on device" in r.log_text(), timeout=30)
            self.faults += 1
            check(cl.call(r, "DEBUG", "DIGEST") == old_digest,
                  "the replica's data changed after a failed full sync (%s before)" %
                  ("empty" if empty else "2000 keys"))
            temps = [f for f in os.listdir(rdir) if f.startswith("temp-")]
            check(len(temps) <= 1, "failed syncs left temp files behind: %s" % temps)
            # Then its dir turns read-only.
            cl.remount(rdir, "ro")
            cl.remount(mdir, "ro")
            p.fault("cut")
            cl.wait_for("the replica's EROFS log line",
                        lambda: "Read-only file system" in r.log_text(), timeout=30)
            self.faults += 1
            check(cl.call(r, "DEBUG", "DIGEST") == old_digest,
                  "the replica lost its old data in a read-only dir")
            check(cl.call(r, "DBSIZE") == (0 if empty else 2000), "the replica stopped serving")
            reply = self.save(m)
            check(isinstance(reply, cl.rmtest.RespError),
                  "SAVE into a read-only dir said %r" % reply)
            check(open(os.path.join(mdir, "dump.rdb"), "rb").read() == old_rdb,
                  "the old dump.rdb changed after a SAVE into a read-only dir")
            self.faults += 1
            # Room again: the sync completes.
            cl.remount(rdir, "rw,size=64m")
            cl.remount(mdir, "rw,size=64m")
            self.converge(m, reps)
            self.say("disk cycle %d done" % cycles)
        self.result["cycles"] = cycles
        self.finish(m, reps, None, proxies)

    # The replica's fault in each fsync cycle, in turn: the fdatasync every
    # 8 MB of payload, the fsync at its end, the directory's after the rename.
    REPLICA_SYNC_FAULTS = ("fdatasync", "fsync", "fsyncdir")
    ERRNOS = (("EIO", "Input/output error"), ("ENOSPC", "No space left on device"),
              ("EDQUOT", "Disk quota exceeded"))
    RETRY_WINDOW = 4.0  # seconds of failing replica syncs counted for the cadence

    def fsync(self):
        try:
            mfs = self.cluster.faultfs("master-fs")
            rfs = self.cluster.faultfs("replica-fs")
        except cl.FaultFsUnavailable as e:
            self.result["skipped"] = "no FUSE mount here: %s" % e
            return
        conf = os.path.join(mfs.mountpoint, "chaos.conf")
        with open(conf, "w") as f:
            f.write("# the fsync scenario's master\nhz 10\n")
        m, reps, proxies = self.topology(
            replicas=1, backlog="1mb", master_config=conf,
            master_extra=("--dir", mfs.mountpoint, "--save", "3600 1",
                          "--repl-diskless-sync", "no"),
            replica_extra=("--dir", rfs.mountpoint, "--repl-diskless-load", "disabled"))
        r, p = reps[0], proxies[0]
        # A payload of about 13 MB (hex values, LZF-compressed): more than
        # one fdatasync interval (8 MB), so the replica's periodic one runs.
        self.preload_big(m, 16 * 1024 * 1024)
        cl.wait_converged(m, reps)
        load = cl.WriteLoad(m.port, self.rng.random(), pause=0.02)
        load.start()
        replies, retry, replica_outcomes = {}, {}, []
        cycles = 0
        while cycles < len(self.REPLICA_SYNC_FAULTS) or self.left() > 0:
            op = self.REPLICA_SYNC_FAULTS[cycles % len(self.REPLICA_SYNC_FAULTS)]
            err = self.rng.choice(self.ERRNOS)
            cycles += 1
            self.say("fsync cycle %d: %s, replica %s" % (cycles, err[0], op))
            # The replica's old dataset: the big keys, or nothing (then
            # Ringmaster loads the payload as it writes it, and must drop
            # what it loaded when the file fails). Empty in the first
            # fsync cycle, where the whole payload is loaded before the
            # failing fsync; at random after the first round.
            empty = op == "fsync" if cycles <= len(self.REPLICA_SYNC_FAULTS) else \
                self.rng.random() < 0.5
            frozen = self.master_snapshot_fault(m, mfs, r, p, err, empty)
            self.master_fsync_faults(m, mfs, conf, err, replies)
            outcome = self.replica_fsync_fault(m, mfs, r, rfs, p, op, err, frozen)
            replica_outcomes.append(outcome)
            if "seconds_per_attempt" in outcome:
                retry.setdefault(op, []).append(outcome["seconds_per_attempt"])
            rfs.heal()
            self.converge(m, reps, load)
        self.faults += mfs.faults + rfs.faults
        self.result["fs_failed"] = {"master": mfs.stats()["failed"],
                                    "replica": rfs.stats()["failed"]}
        self.result.update({"cycles": cycles, "fsync_replies": replies,
                            "replica_seconds_per_attempt": retry,
                            "replica_outcomes": replica_outcomes})
        self.finish(m, reps, load, proxies)

    def master_fsync_faults(self, m, fs, conf, err, replies):
        """SAVE, BGSAVE and CONFIG REWRITE while fsync fails with `err` in
        the master's dir: each fails with an error that says so, and the old
        file stays byte for byte; a failed BGSAVE refuses writes (MISCONF)."""
        errname, errtext = err
        dump = os.path.join(fs.mountpoint, "dump.rdb")
        check(self.save(m) == b"OK", "SAVE before the fault failed")
        old_rdb = read_file(dump)

        fs.fail("fsync", "temp-*", errname)
        reply = self.save(m)
        check(isinstance(reply, cl.rmtest.RespError), "SAVE with fsync failing said %r" % reply)
        replies.setdefault("SAVE, fsync fails (%s)" % errname, reply.message)
        line = "Write error saving DB on disk(fsync): %s" % errtext
        check(line in m.log_text(), "the master's log lacks %r" % line)
        status = self.bgsave(m)
        replies.setdefault("BGSAVE, fsync fails (%s): rdb_last_bgsave_status" % errname, status)
        check(status == "err", "BGSAVE with fsync failing: status %s" % status)
        check(read_file(dump) == old_rdb, "the old dump.rdb changed after a failed fsync")
        leftovers = [f for f in os.listdir(fs.mountpoint) if f.startswith("temp-")]
        check(not leftovers, "failed saves left temp files: %s" % leftovers)
        reply = cl.call(m, "SET", "chaos:probe", "1")
        check(isinstance(reply, cl.rmtest.RespError) and reply.message.startswith("MISCONF"),
              "a write after a failed BGSAVE said %r" % (reply,))
        replies.setdefault("SET after the failed BGSAVE", reply.message)

        fs.heal()
        fs.fail("fsyncdir", "*", errname)
        reply = self.save(m)
        check(isinstance(reply, cl.rmtest.RespError),
              "SAVE with the directory's fsync failing said %r" % reply)
        replies.setdefault("SAVE, directory fsync fails (%s)" % errname, reply.message)
        line = "Write error saving DB on disk(fsyncFileDir): %s" % errtext
        check(line in m.log_text(), "the master's log lacks %r" % line)

        fs.heal()
        hz = self.rng.randint(11, 50)
        cl.call(m, "CONFIG", "SET", "hz", hz)
        old_conf = read_file(conf)
        for fop in ("fsync", "fsyncdir"):
            fs.fail(fop, "*" if fop == "fsyncdir" else "*.conf*", errname)
            reply = cl.call(m, "CONFIG", "REWRITE")
            fs.heal()
            check(reply == cl.rmtest.RespError("ERR Rewriting config file: %s" % errtext),
                  "CONFIG REWRITE with %s failing said %r" % (fop, reply))
            replies.setdefault("CONFIG REWRITE, %s fails (%s)" % (fop, errname), reply.message)
            if fop == "fsync":
                check(read_file(conf) == old_conf, "a failed CONFIG REWRITE changed the file")
            leftovers = [f for f in os.listdir(fs.mountpoint) if f.startswith("chaos.conf.")]
            check(not leftovers, "a failed CONFIG REWRITE left %s" % leftovers)
        check(cl.call(m, "CONFIG", "REWRITE") == b"OK", "CONFIG REWRITE after the fault failed")
        check(("\nhz %d\n" % hz) in read_file(conf).decode(), "CONFIG REWRITE lost hz %d" % hz)

    def master_snapshot_fault(self, m, fs, r, p, err, empty):
        """The master's disk snapshot for a full sync fails its fsync: the
        replica (detached first, then pointed back, so it needs a full sync)
        keeps its data. The failure is a failed BGSAVE: the master now
        answers -MISCONF, to the replica's PING too, as redis-server does.
        The link then stays down until the replica's own faults. Returns the
        replica's frozen state."""
        fs.fail("fsync", "temp-*", err[0])
        cl.call(r, "REPLICAOF", "NO", "ONE")
        if empty:
            cl.call(r, "FLUSHALL")
        frozen = {"empty": empty, "digest": cl.call(r, "DEBUG", "DIGEST"),
                  "dbsize": cl.call(r, "DBSIZE"), "big:0": cl.call(r, "GET", "big:0")}
        check((frozen["big:0"] is None) == empty,
              "the replica's big:0 before the fault (flushed: %s)" % empty)
        line = "Write error saving DB on disk(fsync): %s" % err[1]
        before = m.log_text().count(line)
        cl.call(r, "REPLICAOF", "127.0.0.1", p.port)
        cl.wait_for("the master's failed snapshot for the replica",
                    lambda: m.log_text().count(line) > before, timeout=30)
        check(cl.call(r, "DEBUG", "DIGEST") == frozen["digest"],
              "the replica's data changed while its master could not snapshot")
        p.fault("down")
        fs.heal()
        return frozen

    def replica_fsync_fault(self, m, mfs, r, rfs, p, op, err, frozen):
        """`op` fails with `err` in the replica's dir while it full-syncs
        (repl-diskless-load disabled): it logs why, keeps serving its old
        data, retries no faster than once a second. The master is healed
        first: a BGSAVE succeeds and writes are accepted again."""
        errname, errtext = err
        if op == "fsyncdir":
            rfs.fail(op, "*", errname)
            line = "Failed trying to sync DB directory dump.rdb in MASTER <-> REPLICA " \
                   "synchronization: %s" % errtext
        else:
            rfs.fail(op, "temp-*", errname)
            line = "Failed trying to sync the temp DB to disk in MASTER <-> REPLICA " \
                   "synchronization: %s" % errtext
        before = r.log_text().count(line)
        mfs.heal()
        status = self.bgsave(m)
        check(status == "ok", "BGSAVE after the fault cleared: status %s" % status)
        check(cl.call(m, "SET", "chaos:probe", "1") == b"OK",
              "writes still refused after a successful BGSAVE")
        p.cmd("up")
        outcome = {"op": op, "errno": errname, "replica_empty": frozen["empty"]}
        if r.kind != "ringmaster":
            # redis-server's replica: recorded, not required (its fdatasync
            # is sync_file_range, and it flushes its data before its fsync).
            time.sleep(self.RETRY_WINDOW)
            times = failure_times(r.log_text(), line)[before:]
            outcome["failures"] = len(times)
            if len(times) > 1:
                outcome["seconds_per_attempt"] = round(
                    (times[-1] - times[0]) / (len(times) - 1), 2)
            outcome["kept_old_data"] = cl.call(r, "DEBUG", "DIGEST") == frozen["digest"]
            return outcome
        cl.wait_for("the replica's log line %r" % line,
                    lambda: r.log_text().count(line) > before, timeout=30)
        time.sleep(self.RETRY_WINDOW)
        times = failure_times(r.log_text(), line)[before:]
        attempts = len(times) - 1  # the retries after the first failure
        check(r.alive(), "the replica died")
        check(cl.call(r, "DEBUG", "DIGEST") == frozen["digest"],
              "the replica's data changed after failed syncs (%s failing)" % op)
        check(cl.call(r, "DBSIZE") == frozen["dbsize"], "the replica's DBSIZE changed")
        check(cl.call(r, "GET", "big:0") == frozen["big:0"], "the replica stopped serving big:0")
        temps = [f for f in os.listdir(rfs.mountpoint) if f.startswith("temp-")]
        check(len(temps) <= 1, "failed syncs left temp files behind: %s" % temps)
        # The mean time between failed attempts, from the log's timestamps.
        outcome["seconds_per_attempt"] = round(
            (times[-1] - times[0]) / attempts if attempts else self.RETRY_WINDOW, 2)
        check(outcome["seconds_per_attempt"] >= 0.8,
              "%d failed syncs in %.1f s: faster than one a second" %
              (attempts + 1, times[-1] - times[0]))
        return outcome

    @staticmethod
    def bgsave(m):
        """BGSAVE (once no other child runs), waited for; returns
        rdb_last_bgsave_status."""
        deadline = time.monotonic() + 30
        while True:
            reply = cl.call(m, "BGSAVE")
            if not isinstance(reply, cl.rmtest.RespError):
                break
            check(time.monotonic() < deadline, "BGSAVE refused: %s" % reply.message)
            time.sleep(0.05)
        cl.wait_for("the BGSAVE to end",
                    lambda: cl.info(m, "persistence")["rdb_bgsave_in_progress"] == "0",
                    timeout=60)
        return cl.info(m, "persistence")["rdb_last_bgsave_status"]

    def sentinel(self):
        sentinel_scenario.run(self)

    @staticmethod
    def save(m):
        """SAVE, waiting out a replication snapshot child still running."""
        deadline = time.monotonic() + 20
        while True:
            reply = cl.call(m, "SAVE", timeout=60)
            if not (isinstance(reply, cl.rmtest.RespError) and "in progress" in reply.message
                    and time.monotonic() < deadline):
                return reply
            time.sleep(0.05)

    def preload_big(self, m, total, prefix="big"):
        with m.raw() as c:
            size, n = 16384, total // 16384
            for base in range(0, n, 100):
                cmds = [cl.rmtest.encode_command("SET", "%s:%d" % (prefix, i),
                                                 os.urandom(size // 2).hex())
                        for i in range(base, min(n, base + 100))]
                c.send(b"".join(cmds))
                for _ in cmds:
                    c.read_reply()

    # -- driver -------------------------------------------------------------

    def execute(self):
        t0 = time.monotonic()
        error = None
        try:
            getattr(self, self.args.scenario)()
        except (ScenarioFailure, AssertionError) as e:
            error = "%s: %s" % (type(e).__name__, e)
        except Exception:  # noqa: BLE001 - whatever broke, the cluster is cleaned up
            error = traceback.format_exc()
        crashes = self.cluster.check_crashes()
        if error or crashes or self.data_lost:
            self.cluster.keep = True
        problems = self.cluster.close()
        self.result.update({
            "scenario": self.args.scenario, "topology": self.args.topology,
            "seed": self.args.seed, "diskless_load": self.args.diskless_load,
            "tls": self.args.tls,
            "seconds": round(time.monotonic() - t0, 1),
            "faults": self.faults, "data_lost": self.data_lost, "crashes": len(crashes),
        })
        if self.notes:
            self.result["notes"] = self.notes
        failures = ([error] if error else []) + problems
        if self.data_lost:
            failures.append("data lost: %d acknowledged writes" % self.data_lost)
        if failures:
            self.result["failure"] = failures[0][:2000]
            print("\n\n".join(failures), file=sys.stderr)
            print("logs kept in %s" % self.cluster.base, file=sys.stderr)
        print(json.dumps(self.result, sort_keys=True))
        return 1 if failures else 0


def failure_times(log, line):
    """The times (seconds) of the log lines holding `line`, in the log
    format both servers share: "pid:R 05 Dec 2026 03:24:18.375 # ..."."""
    out = []
    for entry in log.splitlines():
        if line not in entry:
            continue
        stamp = entry.split(" ", 1)[1][:24]
        out.append(time.mktime(time.strptime(stamp[:20], "%d %b %Y %H:%M:%S")) +
                   float(stamp[20:24]))
    return out


def read_file(path):
    with open(path, "rb") as f:
        return f.read()


def main():
    ap = argparse.ArgumentParser(description="Run one chaos scenario (see the module doc).")
    ap.add_argument("scenario", choices=["linkcut", "backlog", "kills", "sigstop", "disk",
                                         "fsync", "sentinel"])
    ap.add_argument("--seconds", type=float, default=None)
    ap.add_argument("--seed", type=int, default=None)
    ap.add_argument("--topology", choices=sorted(ROLES), default="rm")
    ap.add_argument("--tls", action="store_true",
                    help="the replication links over TLS (the proxy stays byte-transparent)")
    ap.add_argument("--diskless-load", choices=["disabled", "on-empty-db", "swapdb"],
                    default="disabled", help="the replicas' repl-diskless-load")
    ap.add_argument("--soak", action="store_true", help="a long run (default an hour)")
    ap.add_argument("--keep", action="store_true", help="keep the logs and data dirs")
    ap.add_argument("-v", "--verbose", action="store_true")
    args = ap.parse_args()
    if args.seconds is None:
        args.seconds = 3600.0 if args.soak else 60.0
    if args.seed is None:
        args.seed = int(time.time())
    if not cl.rmtest.ringmaster_bin() and "ringmaster" in ROLES[args.topology]:
        sys.exit("set RINGMASTER_BIN to the ringmaster binary")
    sys.exit(Run(args).execute())


if __name__ == "__main__":
    main()
