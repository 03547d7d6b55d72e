#!/usr/bin/python3
"""A fault-injecting TCP proxy for one replication link (loopback only).

A replica is configured `replicaof 127.0.0.1 <listen port>`; every
connection it opens is forwarded to 127.0.0.1:<upstream port>, its master.
The proxy is byte-transparent (it never changes a byte, so TLS passes
through untouched) and, on command, damages the link:

  cut                close both sockets (FIN to each side)
  reset              close both sockets with SO_LINGER 0 (RST to each side)
  halfclose SIDE     shutdown(SHUT_WR) towards SIDE (replica or master) and
                     stop forwarding into it; the other direction still flows
  stall / resume     stop moving bytes while keeping the sockets open
                     (stall-all: the links opened later too, until resume)
  delay MS [PORT]    every chunk is delivered MS milliseconds after it came;
                     with PORT only on the links of the replica that announced
                     that listening-port (REPLCONF listening-port, read from
                     the replica's first bytes), so one replica of a master
                     lags while its siblings do not. `delay MS` without PORT
                     also lifts every per-replica delay
  throttle BPS       at most BPS bytes per second in each direction (0: off)
  down / up          refuse new links (accept, then close) and cut the live
                     ones / accept again
  arm PHASE FAULT [N] apply FAULT (cut, reset, halfclose, stall) once a link
                     is in PHASE (handshake, payload, stream) and N more bytes
                     of that phase came from the master
  random SEED MIN MAX KINDS / random off
                     a seeded schedule: every MIN..MAX ms one of KINDS
                     (comma separated: cut, reset, halfclose, stall)
  upstream PORT      new links go to PORT
  stats              one line of JSON: counters, live links and their phase
  quit               close everything and exit

The control channel is a TCP port on 127.0.0.1 (--control): one command
per line, one reply line each ("OK ..." or "ERR ..."). SIGUSR1 cuts and
SIGUSR2 resets the live links; SIGTERM exits.

The phase is read from the master's bytes: "handshake" until +FULLRESYNC
or +CONTINUE, "payload" while the snapshot arrives ($<len> or $EOF:<mark>
framing, the newlines a master sends while it prepares it included), then
"stream". Under TLS the bytes are opaque: every link stays in "handshake".

Standard library only; one thread, one selector loop, 10 ms granularity.
"""

import argparse
import collections
import json
import os
import random
import selectors
import signal
import socket
import struct
import sys
import time

CHUNK = 65536
QUEUE_LIMIT = 1 << 20  # bytes queued per direction before reading pauses
FAULT_KINDS = ("cut", "reset", "halfclose", "stall")


class Direction:
    """Bytes read from `src` waiting to be written to `dst`."""

    def __init__(self, src, dst):
        self.src = src
        self.dst = dst
        self.queue = collections.deque()  # (due time, bytes)
        self.queued = 0
        self.eof = False      # src said EOF: shut dst's write side once drained
        self.shut = False     # dst's write side is shut
        self.tokens = 0.0
        self.last_refill = time.monotonic()


class PhaseTracker:
    """Follows the master's side of a replication handshake."""

    def __init__(self):
        self.phase = "handshake"
        self.line = b""
        self.payload_left = None  # bytes of a $<len> payload still to come
        self.eof_mark = None      # the 40-byte mark of an EOF-framed payload
        self.tail = b""
        self.in_phase = 0         # bytes seen since the phase began
        self.fullresyncs = 0
        self.continues = 0

    def feed(self, data):
        """Consume master bytes; return True when the phase changed."""
        changed = False
        i = 0
        while i < len(data):
            if self.phase == "stream":
                self.in_phase += len(data) - i
                return changed
            if self.phase == "handshake" or (self.phase == "payload" and self.payload_left is None
                                             and self.eof_mark is None):
                nl = data.find(b"\n", i)
                if nl < 0:
                    self.line += data[i:]
                    self.in_phase += len(data) - i
                    return changed
                self.line += data[i:nl + 1]
                self.in_phase += nl + 1 - i
                i = nl + 1
                line, self.line = self.line.strip(), b""
                if self.phase == "handshake":
                    if line.startswith(b"+FULLRESYNC"):
                        self._enter("payload")
                        self.fullresyncs += 1
                        changed = True
                    elif line.startswith(b"+CONTINUE"):
                        self._enter("stream")
                        self.continues += 1
                        changed = True
                elif line.startswith(b"$EOF:"):
                    self.eof_mark = line[5:45]
                elif line.startswith(b"$"):
                    try:
                        self.payload_left = int(line[1:])
                    except ValueError:
                        self.payload_left = 0
                continue
            # Inside the payload body.
            n = len(data) - i
            if self.payload_left is not None:
                take = min(n, self.payload_left)
                self.payload_left -= take
                self.in_phase += take
                i += take
                if self.payload_left == 0:
                    self._enter("stream")
                    changed = True
                continue
            take = data[i:]
            self.in_phase += len(take)
            i = len(data)
            self.tail = (self.tail + take)[-40:]
            if self.tail == self.eof_mark:
                self._enter("stream")
                changed = True
        return changed

    def _enter(self, phase):
        self.phase = phase
        self.in_phase = 0
        self.payload_left = None
        self.eof_mark = None
        self.tail = b""


class Link:
    """One replica connection and its upstream connection."""

    def __init__(self, proxy, replica_sock, master_sock):
        self.proxy = proxy
        self.replica = replica_sock
        self.master = master_sock
        self.up = Direction(replica_sock, master_sock)    # replica -> master
        self.down = Direction(master_sock, replica_sock)  # master -> replica
        self.phase = PhaseTracker()
        self.replica_port = None  # the REPLCONF listening-port it announced
        self.head = b""           # the replica's first bytes, until that is known
        self.stalled = False
        self.closed = False

    def directions(self):
        return (self.up, self.down)

    def learn_port(self, data):
        """Find REPLCONF listening-port <port> in the replica's first bytes."""
        if self.replica_port is not None or len(self.head) > 4096:
            return
        self.head += data
        at = self.head.find(b"listening-port\r\n$")
        if at < 0:
            return
        parts = self.head[at:].split(b"\r\n", 3)
        if len(parts) == 4:
            try:
                self.replica_port = int(parts[2])
            except ValueError:
                self.replica_port = 0
            self.head = b""

    def close(self, rst=False):
        if self.closed:
            return
        self.closed = True
        for s in (self.replica, self.master):
            try:
                self.proxy.sel.unregister(s)
            except (KeyError, ValueError):
                pass
            try:
                if rst:
                    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                s.close()
            except OSError:
                pass

    def halfclose(self, side):
        """Shut the write side towards `side` and stop forwarding into it."""
        d = self.down if side == "replica" else self.up
        d.queue.clear()
        d.queued = 0
        d.eof = True
        try:
            d.dst.shutdown(socket.SHUT_WR)
        except OSError:
            pass
        d.shut = True


class Proxy:
    def __init__(self, listen_port, upstream_port, control_port, log):
        self.sel = selectors.DefaultSelector()
        self.upstream = upstream_port
        self.log = log
        self.listener = self._listen(listen_port)
        self.control = self._listen(control_port) if control_port is not None else None
        self.links = []
        self.controls = {}  # control socket -> input buffer
        self.refusing = False
        self.delay = 0.0
        self.port_delay = {}  # replica listening-port -> seconds
        self.throttle = 0
        self.stalled = False
        self.armed = []  # [phase, fault, after_bytes]
        self.rng = None
        self.random_kinds = ()
        self.random_range = (0, 0)
        self.next_random = None
        self.counts = collections.Counter()
        self.bytes_down = 0
        self.bytes_up = 0
        self.running = True
        self.pending_signal_faults = []
        self.sel.register(self.listener, selectors.EVENT_READ, "listener")
        if self.control is not None:
            self.sel.register(self.control, selectors.EVENT_READ, "control")

    @staticmethod
    def _listen(port):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("127.0.0.1", port))
        s.listen(64)
        s.setblocking(False)
        return s

    def note(self, msg):
        if self.log:
            self.log.write("%.3f %s\n" % (time.time(), msg))
            self.log.flush()

    # -- faults -------------------------------------------------------------

    def apply(self, fault, link=None):
        """Apply `fault` to one link or to every live link."""
        targets = [link] if link else [lk for lk in self.links if not lk.closed]
        self.counts[fault] += 1
        self.note("fault %s on %d link(s)" % (fault, len(targets)))
        for lk in targets:
            if fault == "cut":
                lk.close()
            elif fault == "reset":
                lk.close(rst=True)
            elif fault == "halfclose":
                lk.halfclose("replica")
            elif fault == "halfclose-master":
                lk.halfclose("master")
            elif fault == "stall":
                lk.stalled = True
        self.links = [lk for lk in self.links if not lk.closed]
        return len(targets)

    def check_armed(self, link):
        for a in list(self.armed):
            phase, fault, after = a
            if link.phase.phase == phase and link.phase.in_phase >= after:
                self.armed.remove(a)
                self.note("armed %s fired in %s after %d bytes" % (fault, phase,
                                                                   link.phase.in_phase))
                self.apply(fault, link)
                self.counts["armed-" + phase] += 1
                return

    # -- accept and forward -------------------------------------------------

    def accept(self):
        try:
            rs, _ = self.listener.accept()
        except OSError:
            return
        self.counts["accepted"] += 1
        if self.refusing:
            self.counts["refused"] += 1
            rs.close()
            return
        try:
            ms = socket.create_connection(("127.0.0.1", self.upstream), timeout=2.0)
        except OSError as e:
            self.counts["upstream-failed"] += 1
            self.note("upstream %d: %s" % (self.upstream, e))
            rs.close()
            return
        for s in (rs, ms):
            s.setblocking(False)
            s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        link = Link(self, rs, ms)
        link.stalled = self.stalled
        self.links.append(link)
        self.refresh_interest(link)
        self.note("link %d opened" % self.counts["accepted"])
        self.check_armed(link)

    def read_from(self, link, d):
        if link.closed or link.stalled or d.eof or d.queued >= QUEUE_LIMIT:
            return
        try:
            data = d.src.recv(CHUNK)
        except BlockingIOError:
            return
        except OSError:
            link.close()
            return
        if not data:
            d.eof = True
            return
        if d.shut:
            return  # half-closed towards dst: drop what would go there
        delay = self.port_delay.get(link.replica_port, self.delay)
        d.queue.append((time.monotonic() + delay, data))
        d.queued += len(data)
        if d is link.down:
            self.bytes_down += len(data)
            link.phase.feed(data)
            self.check_armed(link)
        else:
            self.bytes_up += len(data)
            link.learn_port(data)

    def write_to(self, link, d, now):
        if link.closed or link.stalled or d.shut:
            return
        if self.throttle:
            d.tokens = min(max(self.throttle / 10.0, 1024.0),
                           d.tokens + (now - d.last_refill) * self.throttle)
        d.last_refill = now
        while d.queue and d.queue[0][0] <= now:
            due, data = d.queue[0]
            n = len(data)
            if self.throttle:
                n = min(n, int(d.tokens))
                if n <= 0:
                    return
            try:
                sent = d.dst.send(data[:n])
            except BlockingIOError:
                return
            except OSError:
                link.close()
                return
            if self.throttle:
                d.tokens -= sent
            d.queued -= sent
            if sent == len(data):
                d.queue.popleft()
            else:
                d.queue[0] = (due, data[sent:])
                return
        if not d.queue and d.eof and not d.shut:
            try:
                d.dst.shutdown(socket.SHUT_WR)
            except OSError:
                pass
            d.shut = True

    def refresh_interest(self, link):
        """Watch a socket for reading only while its bytes can be taken, so a
        stalled link or a full queue does not spin the loop."""
        if link.closed:
            return
        for d in link.directions():
            want = not link.stalled and not d.eof and d.queued < QUEUE_LIMIT
            registered = d.src.fileno() in self.sel.get_map()
            if want and not registered:
                self.sel.register(d.src, selectors.EVENT_READ, (link, d))
            elif not want and registered:
                self.sel.unregister(d.src)

    def sweep(self, now):
        for link in list(self.links):
            for d in link.directions():
                self.write_to(link, d, now)
            if not link.closed and link.up.eof and link.down.eof and \
                    not link.up.queue and not link.down.queue:
                link.close()
            if not link.closed and ((link.up.eof and link.up.shut and link.down.shut) or
                                    (link.down.eof and link.down.shut and link.up.shut)):
                link.close()
        self.links = [lk for lk in self.links if not lk.closed]
        for link in self.links:
            self.refresh_interest(link)

    # -- control ------------------------------------------------------------

    def command(self, line):
        words = line.split()
        if not words:
            return "ERR empty command"
        cmd, args = words[0].lower(), words[1:]
        try:
            if cmd in ("cut", "reset", "stall"):
                return "OK %d" % self.apply(cmd)
            if cmd == "halfclose":
                side = args[0] if args else "replica"
                if side not in ("replica", "master"):
                    return "ERR halfclose takes replica or master"
                return "OK %d" % self.apply("halfclose" if side == "replica" else
                                            "halfclose-master")
            if cmd == "resume":
                self.stalled = False
                for lk in self.links:
                    lk.stalled = False
                return "OK"
            if cmd == "stall-all":
                self.stalled = True
                return "OK %d" % self.apply("stall")
            if cmd == "delay":
                if len(args) > 1:
                    self.port_delay[int(args[1])] = max(0, int(args[0])) / 1000.0
                    return "OK"
                self.delay = max(0, int(args[0])) / 1000.0
                self.port_delay = {}
                return "OK"
            if cmd == "throttle":
                self.throttle = max(0, int(args[0]))
                return "OK"
            if cmd == "down":
                self.refusing = True
                return "OK %d" % self.apply("cut")
            if cmd == "up":
                self.refusing = False
                return "OK"
            if cmd == "arm":
                phase, fault = args[0], args[1]
                after = int(args[2]) if len(args) > 2 else 0
                if phase not in ("handshake", "payload", "stream") or fault not in FAULT_KINDS:
                    return "ERR arm PHASE(handshake|payload|stream) FAULT(%s) [BYTES]" % \
                        "|".join(FAULT_KINDS)
                self.armed.append([phase, fault, after])
                for lk in list(self.links):
                    self.check_armed(lk)
                return "OK"
            if cmd == "disarm":
                self.armed = []
                return "OK"
            if cmd == "random":
                if args and args[0] == "off":
                    self.rng = None
                    self.next_random = None
                    return "OK"
                seed, lo, hi = int(args[0]), int(args[1]), int(args[2])
                kinds = tuple(args[3].split(",")) if len(args) > 3 else ("cut",)
                if any(k not in FAULT_KINDS for k in kinds) or not 0 < lo <= hi:
                    return "ERR random SEED MINMS MAXMS KINDS"
                self.rng = random.Random(seed)
                self.random_kinds = kinds
                self.random_range = (lo / 1000.0, hi / 1000.0)
                self.next_random = time.monotonic() + self.rng.uniform(*self.random_range)
                return "OK"
            if cmd == "upstream":
                self.upstream = int(args[0])
                return "OK"
            if cmd == "stats":
                return "OK " + json.dumps(self.stats())
            if cmd == "quit":
                self.running = False
                return "OK"
        except (IndexError, ValueError):
            return "ERR bad arguments for %s" % cmd
        return "ERR unknown command %s" % cmd

    def stats(self):
        return {
            "counts": dict(self.counts),
            "links": len(self.links),
            "phases": [lk.phase.phase for lk in self.links],
            "replica_ports": [lk.replica_port for lk in self.links],
            "phase_bytes": [lk.phase.in_phase for lk in self.links],
            "stalled": self.stalled,
            "refusing": self.refusing,
            "bytes_down": self.bytes_down,
            "bytes_up": self.bytes_up,
            "fullresyncs": self.counts["fullresync"],
            "continues": self.counts["continue"],
        }

    def control_accept(self):
        try:
            s, _ = self.control.accept()
        except OSError:
            return
        s.setblocking(False)
        self.controls[s] = b""
        self.sel.register(s, selectors.EVENT_READ, "ctl")

    def control_read(self, s):
        try:
            data = s.recv(4096)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if not data:
            self.sel.unregister(s)
            self.controls.pop(s, None)
            s.close()
            return
        buf = self.controls[s] + data
        while b"\n" in buf:
            line, buf = buf.split(b"\n", 1)
            reply = self.command(line.decode("ascii", "replace").strip())
            try:
                s.setblocking(True)
                s.sendall(reply.encode() + b"\n")
                s.setblocking(False)
            except OSError:
                pass
        self.controls[s] = buf

    # -- loop ---------------------------------------------------------------

    def run(self):
        while self.running:
            now = time.monotonic()
            busy = any(d.queue for lk in self.links for d in lk.directions())
            timeout = 0.01 if busy else 0.1
            for key, _ in self.sel.select(timeout):
                tag = key.data
                if tag == "listener":
                    self.accept()
                elif tag == "control":
                    self.control_accept()
                elif tag == "ctl":
                    self.control_read(key.fileobj)
                else:
                    link, d = tag
                    self.read_from(link, d)
            now = time.monotonic()
            self.count_phases()
            while self.pending_signal_faults:
                self.apply(self.pending_signal_faults.pop(0))
            if self.next_random is not None and now >= self.next_random:
                self.apply(self.rng.choice(self.random_kinds))
                self.next_random = now + self.rng.uniform(*self.random_range)
            self.sweep(now)
        for lk in self.links:
            lk.close()

    def count_phases(self):
        for lk in self.links:
            t = lk.phase
            if t.fullresyncs:
                self.counts["fullresync"] += t.fullresyncs
                t.fullresyncs = 0
            if t.continues:
                self.counts["continue"] += t.continues
                t.continues = 0


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--listen", type=int, required=True)
    ap.add_argument("--upstream", type=int, required=True)
    ap.add_argument("--control", type=int)
    ap.add_argument("--log")
    ap.add_argument("--random", help="SEED:MINMS:MAXMS:KINDS, a schedule from the start")
    args = ap.parse_args()
    log = open(args.log, "a") if args.log else None
    proxy = Proxy(args.listen, args.upstream, args.control, log)

    def on_signal(signum, _frame):
        if signum == signal.SIGUSR1:
            proxy.pending_signal_faults.append("cut")
        elif signum == signal.SIGUSR2:
            proxy.pending_signal_faults.append("reset")
        else:
            proxy.running = False

    for sig in (signal.SIGUSR1, signal.SIGUSR2, signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, on_signal)
    if args.random:
        reply = proxy.command("random " + " ".join(args.random.split(":")))
        if not reply.startswith("OK"):
            sys.exit("faultproxy: " + reply)
    proxy.note("listening on %d, upstream %d" % (args.listen, args.upstream))
    proxy.run()
    os._exit(0)


if __name__ == "__main__":
    main()
