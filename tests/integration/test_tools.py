"""The stock Redis tools work against Ringmaster.

redis-cli and redis-benchmark are what operators reach for first; each
exercises a slice of the server that unit tests do not: redis-cli's --scan
and --bigkeys loops, -x reading stdin, --pipe's mass insertion (which ends
with an ECHO of random bytes to find the last reply), and redis-benchmark's
pipelined, many-client load with its CONFIG GET probes at start-up.
"""

import shutil
import subprocess

import pytest

import rmtest

TOOL_TIMEOUT = 60 * rmtest.SLOWDOWN

pytestmark = pytest.mark.skipif(
    shutil.which("redis-cli") is None or shutil.which("redis-benchmark") is None,
    reason="redis-tools are not installed (apt-get install redis-tools)")


def cli(server, *args, stdin=None):
    """Run redis-cli against the server; return its stdout as text."""
    cmd = ["redis-cli", "-h", "127.0.0.1", "-p", str(server.port)] + [str(a) for a in args]
    done = subprocess.run(cmd, input=stdin, capture_output=True, timeout=TOOL_TIMEOUT)
    assert done.returncode == 0, "%s failed (%d): %s %s" % (
        cmd, done.returncode, done.stdout[-2000:], done.stderr[-2000:])
    return done.stdout.decode("utf-8", "replace")


def benchmark(server, *args):
    cmd = ["redis-benchmark", "-h", "127.0.0.1", "-p", str(server.port)] + [str(a) for a in args]
    done = subprocess.run(cmd, capture_output=True, timeout=TOOL_TIMEOUT)
    out = (done.stdout + done.stderr).decode("utf-8", "replace")
    assert done.returncode == 0, "%s failed (%d):\n%s" % (cmd, done.returncode, out[-3000:])
    assert "ERR" not in out, out[-3000:]
    assert "Could not fetch server CONFIG" not in out, out[-3000:]
    return out


def test_cli_ping_set_get(ringmaster):
    assert cli(ringmaster, "ping").strip() == "PONG"
    assert cli(ringmaster, "set", "greeting", "hello world").strip() == "OK"
    assert cli(ringmaster, "get", "greeting").strip() == "hello world"
    assert cli(ringmaster, "-n", "2", "set", "other", "db2").strip() == "OK"
    assert cli(ringmaster, "-n", "2", "get", "other").strip() == "db2"
    assert cli(ringmaster, "get", "other").strip() == ""
    assert cli(ringmaster, "incrby", "n", "5").strip() == "5"  # not a tty: raw output


def test_cli_errors_are_shown(ringmaster):
    assert cli(ringmaster, "incr", "counter").strip() == "1"
    cli(ringmaster, "set", "s", "abc")
    out = cli(ringmaster, "incr", "s")
    assert "ERR value is not an integer or out of range" in out


def test_cli_info(ringmaster):
    out = cli(ringmaster, "info")
    for field in ("redis_version:", "role:master", "connected_clients:", "used_memory:"):
        assert field in out, field
    assert "# Server" in cli(ringmaster, "info", "server")


def test_cli_scan(ringmaster):
    c = ringmaster.client()
    names = {b"user:%d" % i for i in range(300)} | {b"other:%d" % i for i in range(20)}
    with c.pipeline(transaction=False) as p:
        for n in names:
            p.set(n, b"v")
        p.execute()
    listed = set(cli(ringmaster, "--scan").split())
    assert listed == {n.decode() for n in names}
    listed = set(cli(ringmaster, "--scan", "--pattern", "other:*").split())
    assert listed == {"other:%d" % i for i in range(20)}


def test_cli_x_reads_value_from_stdin(ringmaster):
    blob = bytes(range(256)) * 64 + b"\r\n\x00end\n"
    assert cli(ringmaster, "-x", "set", "blob", stdin=blob).strip() == "OK"
    assert ringmaster.client().get(b"blob") == blob


def test_cli_pipe_mass_insertion(ringmaster):
    count = rmtest.scaled(5000, 500)
    lines = b"".join(rmtest.encode_command("SET", "mass:%d" % i, "value-%d" % i) for i in range(count))
    out = cli(ringmaster, "--pipe", stdin=lines)
    assert "errors: 0, replies: %d" % count in out, out
    assert ringmaster.client().dbsize() == count


def test_cli_bigkeys(ringmaster):
    c = ringmaster.client()
    c.set(b"small", b"x")
    c.set(b"big", b"y" * 5000)
    out = cli(ringmaster, "--bigkeys")
    assert "Biggest string found" in out and "big" in out, out


def test_benchmark_pipelined(ringmaster):
    n = rmtest.scaled(20000, 2000)
    out = benchmark(ringmaster, "-t", "set,get,incr,mset", "-n", n, "-P", 16, "-q")
    for name in ("SET", "GET", "INCR", "MSET"):
        assert name in out and "requests per second" in out, out


def test_benchmark_many_clients(ringmaster):
    n = rmtest.scaled(5000, 1000)
    out = benchmark(ringmaster, "-c", 20, "-n", n, "-t", "set,get,incr", "-q")
    assert out.count("requests per second") == 3, out
    assert ringmaster.client().ping()
