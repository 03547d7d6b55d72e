"""The configuration Redis 7.0's own test suite starts its servers with
(tests/assets/default.conf) must start Ringmaster too, with nothing refused:
it is what the Redis test helpers and many tools derived from them assume.
The file below is written for this test with the same directives and values.
Also here: shutdown-on-sigint and shutdown-on-sigterm, which that file sets.
"""

import os
import signal

import pytest

from rmtest import free_port

# The directives of Redis 7.0's tests/assets/default.conf, with its values;
# port, dir and pidfile are filled in per run.
REDIS_TEST_CONFIG = """\
always-show-logo yes
notify-keyspace-events KEA
daemonize no
pidfile {dir}/redis.pid
port {port}
timeout 0
bind 127.0.0.1
loglevel verbose
logfile ''
databases 16
latency-monitor-threshold 1
repl-diskless-sync-delay 0

# No RDB by default, as the Redis test suite
save ''

rdbcompression yes
dbfilename dump.rdb
dir {dir}

slave-serve-stale-data yes
appendonly no
appendfsync everysec
no-appendfsync-on-rewrite no
activerehashing yes

enable-protected-configs yes
enable-debug-command yes
enable-module-command yes

propagation-error-behavior panic

# Make sure shutdown doesn't fail if there's an initial AOFRW
shutdown-on-sigterm force
"""

CHECKED = [
    ("notify-keyspace-events", b"AKE"), ("latency-monitor-threshold", b"1"),
    ("save", b""), ("appendonly", b"no"), ("enable-debug-command", b"yes"),
    ("enable-protected-configs", b"yes"), ("enable-module-command", b"yes"),
    ("propagation-error-behavior", b"panic"), ("shutdown-on-sigterm", b"force"),
    ("repl-diskless-sync-delay", b"0"), ("replica-serve-stale-data", b"yes"),
    ("loglevel", b"verbose"), ("databases", b"16"),
]


def start_with(servers, kind, tmp_path, text):
    port = free_port()
    workdir = tmp_path / kind
    workdir.mkdir()
    conf = workdir / "test.conf"
    conf.write_text(text.format(port=port, dir=workdir))
    start = servers.ringmaster if kind == "ringmaster" else servers.redis
    return start(config_file=str(conf), standard=False, port=port, workdir=workdir)


@pytest.mark.parametrize("kind", ["ringmaster", "redis"])
def test_redis_test_suite_config_starts(servers, tmp_path, kind):
    server = start_with(servers, kind, tmp_path, REDIS_TEST_CONFIG)
    with server.raw() as c:
        for name, value in CHECKED:
            assert c.call("CONFIG", "GET", name) == [name.encode(), value], name
        # What the test suite then does with it: DEBUG, protected configs,
        # keyspace events, the latency monitor.
        assert c.call("DEBUG", "SLEEP", "0") == b"OK"
        assert c.call("CONFIG", "SET", "dir", str(server.workdir)) == b"OK"
        # (threshold 1 ms: a slow machine may have logged an event already)
        assert isinstance(c.call("LATENCY", "LATEST"), list)
    assert "refused" not in server.log_text().lower()


@pytest.mark.parametrize("setting,saved", [("default", True), ("nosave", False),
                                           ("save", True)])
def test_shutdown_on_sigterm_obeys_its_setting(servers, tmp_path, setting, saved):
    """With save points and unsaved changes, SIGTERM saves by default (and
    with save), not with nosave."""
    text = REDIS_TEST_CONFIG.replace("save ''", "save 3600 1").replace(
        "shutdown-on-sigterm force", "shutdown-on-sigterm %s" % setting)
    server = start_with(servers, "ringmaster", tmp_path, text)
    with server.raw() as c:
        c.call("SET", "k", "v")
    server.expect_exit()
    server.proc.send_signal(signal.SIGTERM)
    assert server.wait_exit() == 0
    assert os.path.exists(os.path.join(server.workdir, "dump.rdb")) == saved


def test_shutdown_on_sigint_now_skips_waiting_for_replicas(servers, tmp_path):
    """shutdown-on-sigint takes the same words; CONFIG SET changes it."""
    server = start_with(servers, "ringmaster", tmp_path, REDIS_TEST_CONFIG)
    with server.raw() as c:
        assert c.call("CONFIG", "SET", "shutdown-on-sigint", "nosave now force") == b"OK"
        assert c.call("CONFIG", "GET", "shutdown-on-sigint") == [b"shutdown-on-sigint",
                                                                 b"nosave now force"]
    server.expect_exit()
    server.proc.send_signal(signal.SIGINT)
    assert server.wait_exit() == 0
    assert "Received SIGINT scheduling shutdown" in server.log_text()
