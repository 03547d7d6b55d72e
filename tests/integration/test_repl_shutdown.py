"""SHUTDOWN of a master with replicas, as Redis 7.0 does it: unless NOW, with
shutdown-timeout set, writes are held and the shutdown waits for lagging
replicas to acknowledge the whole stream (or the timeout), then saves and
exits; SHUTDOWN ABORT cancels the wait. A replica is made to lag with DEBUG
SLEEP, which stops it from applying anything for that long.

Each behaviour is checked on a Ringmaster master and on a redis-server master
(with a Ringmaster replica), so the expectations are Redis's.
"""

import socket
import threading
import time

import pytest

import rmtest
from repl_helpers import call, info, wait_for


def start_pair(servers, master_kind, *master_args):
    begin = servers.redis if master_kind == "redis" else servers.ringmaster
    master = begin("--repl-diskless-sync-delay", "0", *master_args, name="master")
    replica = servers.ringmaster("--replicaof", "127.0.0.1", str(master.port), name="replica")
    call(master, "SET", "seed", "1")
    wait_for("the replica to be in sync", lambda: info(replica).get("master_link_status") == "up"
             and info(replica)["master_repl_offset"] == info(master)["master_repl_offset"],
             timeout=20 * rmtest.SLOWDOWN)
    return master, replica


def put_to_sleep(replica, seconds):
    """DEBUG SLEEP on the replica, from a thread (the call blocks that long)."""
    t = threading.Thread(target=call, args=(replica, "DEBUG", "SLEEP", str(seconds)), daemon=True)
    t.start()
    time.sleep(0.2)
    return t


def send_raw(server, *args):
    s = socket.create_connection(("127.0.0.1", server.port), timeout=30 * rmtest.SLOWDOWN)
    s.sendall(rmtest.encode_command(*args))
    return s


def shutdown_while_lagging(master, replica, *shutdown_args):
    """The replica sleeps 4 s, the master takes a write and then the SHUTDOWN
    (expected to end it); returns the SHUTDOWN's socket."""
    put_to_sleep(replica, 4)
    call(master, "SET", "k", "v")
    master.expect_exit()
    return send_raw(master, "SHUTDOWN", *shutdown_args)


def pending(sock, wait=0.5):
    """Whether nothing has arrived on sock within `wait` seconds."""
    sock.settimeout(wait)
    try:
        return sock.recv(1000) == b""
    except socket.timeout:
        return True


@pytest.mark.parametrize("master_kind", ["ringmaster", "redis"])
def test_shutdown_waits_for_a_lagging_replica_then_exits(servers, master_kind):
    master, replica = start_pair(servers, master_kind)
    sleeper = put_to_sleep(replica, 2)
    for i in range(50):
        call(master, "SET", "late:%d" % i, i)
    master.expect_exit()
    sock = send_raw(master, "SHUTDOWN", "NOSAVE")
    assert master.wait_log("Waiting for replicas before shutting down.")
    # Writes are held meanwhile.
    writer = send_raw(master, "SET", "held", "1")
    assert pending(writer)
    assert master.wait_exit(20 * rmtest.SLOWDOWN) is not None
    assert master.wait_log("1 of 1 replicas are in sync when shutting down.")
    sleeper.join(10)
    assert call(replica, "GET", "late:49") == b"49"
    assert call(replica, "EXISTS", "held") == 0
    sock.close()
    writer.close()


@pytest.mark.parametrize("master_kind", ["ringmaster", "redis"])
def test_shutdown_abort_cancels_the_wait(servers, master_kind):
    master, replica = start_pair(servers, master_kind)
    put_to_sleep(replica, 3)
    call(master, "SET", "k", "v")
    sock = send_raw(master, "SHUTDOWN")
    assert master.wait_log("Waiting for replicas before shutting down.")
    writer = send_raw(master, "SET", "held", "1")
    assert pending(writer)
    assert call(master, "SHUTDOWN", "ABORT") == b"OK"
    sock.settimeout(5 * rmtest.SLOWDOWN)
    assert sock.recv(1000) == b"-ERR Errors trying to SHUTDOWN. Check logs.\r\n"
    writer.settimeout(5 * rmtest.SLOWDOWN)
    assert writer.recv(1000) == b"+OK\r\n"
    assert master.wait_log("Shutdown manually aborted.")
    assert call(master, "PING") == b"PONG"
    assert master.alive()
    sock.close()
    writer.close()


@pytest.mark.parametrize("master_kind", ["ringmaster", "redis"])
def test_shutdown_timeout_gives_up_on_the_replica(servers, master_kind):
    master, replica = start_pair(servers, master_kind, "--shutdown-timeout", "1")
    sock = shutdown_while_lagging(master, replica, "NOSAVE")
    assert master.wait_exit(20 * rmtest.SLOWDOWN) is not None
    assert master.wait_log("0 of 1 replicas are in sync when shutting down.")
    assert master.wait_log("Lagging replica")
    sock.close()


@pytest.mark.parametrize("master_kind", ["ringmaster", "redis"])
def test_shutdown_now_does_not_wait(servers, master_kind):
    master, replica = start_pair(servers, master_kind)
    sock = shutdown_while_lagging(master, replica, "NOSAVE", "NOW")
    assert master.wait_exit(3 * rmtest.SLOWDOWN) is not None
    with open(master.log_path, "rb") as f:
        assert b"Waiting for replicas" not in f.read()
    sock.close()


def test_shutdown_timeout_is_a_config_setting(both):
    server = both()
    assert call(server, "CONFIG", "GET", "shutdown-timeout") == [b"shutdown-timeout", b"10"]
    assert call(server, "CONFIG", "SET", "shutdown-timeout", "0") == b"OK"
    assert call(server, "CONFIG", "GET", "shutdown-timeout") == [b"shutdown-timeout", b"0"]
    with server.raw() as c:
        assert c.call_raw("SHUTDOWN", "ABORT") == b"-ERR No shutdown in progress.\r\n"
        assert c.call_raw("SHUTDOWN", "ABORT", "NOW") == b"-ERR syntax error\r\n"
