"""INFO fields that report measurements, checked against what they measure.

Each test runs on Ringmaster and on redis-server 7.0 (the `both` fixture), so
an expectation that is wrong about Redis fails on Redis. The persistence and
fork figures are in test_persist.py, the replication byte counters in the
replication files.
"""

import os
import socket
import time

import pytest

import rmtest


def info(conn, section):
    text = conn.call("INFO", section).decode()
    return dict(line.split(":", 1) for line in text.splitlines() if ":" in line)


def test_executable_is_the_absolute_path_of_the_binary(both):
    srv = both()
    exe = info(srv.raw(), "server")["executable"]
    assert os.path.isabs(exe)
    assert os.path.realpath(exe) == os.path.realpath("/proc/%d/exe" % srv.proc.pid)


def test_memory_startup_and_peak(both):
    srv = both("--save", "")
    c = srv.raw()
    before = info(c, "memory")
    startup = int(before["used_memory_startup"])
    assert 0 < startup <= int(before["used_memory"])
    value = "x" * 1000
    for start in range(0, 20000, 1000):
        for i in range(start, start + 1000):
            c.send_command("SET", "k%d" % i, value)
        for _ in range(1000):
            c.read_reply()
    grown = info(c, "memory")
    assert int(grown["used_memory"]) > startup + 20000 * 1000
    assert c.call_raw("FLUSHALL") == b"+OK\r\n"
    after = info(c, "memory")
    assert int(after["used_memory"]) < int(grown["used_memory"])
    assert int(after["used_memory_peak"]) >= int(grown["used_memory"])
    assert after["used_memory_startup"] == before["used_memory_startup"]


def wait_clients(conn, predicate):
    deadline = time.monotonic() + 5 * rmtest.SLOWDOWN
    while True:
        fields = info(conn, "clients")
        if predicate(fields) or time.monotonic() > deadline:
            return fields
        time.sleep(0.02)


def test_clients_in_timeout_table_counts_blocked_clients_with_a_timeout(both):
    srv = both()
    c = srv.raw()
    forever = socket.create_connection(("127.0.0.1", srv.port), timeout=10)
    timed = socket.create_connection(("127.0.0.1", srv.port), timeout=10)
    try:
        forever.sendall(rmtest.encode_command("BLPOP", "nothing", "0"))
        timed.sendall(rmtest.encode_command("BLPOP", "nothing", "30"))
        fields = wait_clients(c, lambda f: f["blocked_clients"] == "2")
        assert fields["blocked_clients"] == "2"
        assert fields["clients_in_timeout_table"] == "1"
        assert c.call("LPUSH", "nothing", "a", "b") == 2  # one element each
        assert forever.recv(100).startswith(b"*2")
        assert timed.recv(100).startswith(b"*2")
        fields = wait_clients(c, lambda f: f["blocked_clients"] == "0")
        assert fields["blocked_clients"] == "0"
        assert fields["clients_in_timeout_table"] == "0"
    finally:
        forever.close()
        timed.close()
