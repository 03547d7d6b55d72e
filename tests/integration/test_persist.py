"""Persistence and the write guards, against real Redis 7.0 where it applies.

FLUSHALL against a running BGSAVE child, BGSAVE SCHEDULE behind a replication
snapshot's child, stop-writes-on-bgsave-error (-MISCONF) and min-replicas-to-write
(-NOREPLICAS) inside MULTI and at EXEC. Tests marked with the `both` fixture run the
same steps on Ringmaster and on redis-server 7.0 and check the exact reply bytes on
each, so a test that is wrong about Redis fails on Redis.

A background save is made to fail by killing its child with SIGKILL: Redis counts a
child killed by any signal but SIGUSR1 as a failed save, and so does Ringmaster.
"""

import os
import re
import signal
import socket
import time

import pytest

import rmtest

MISCONF = (b"-MISCONF Redis is configured to save RDB snapshots, but it's currently unable to "
           b"persist to disk. Commands that may modify the data set are disabled, because this "
           b"instance is configured to report errors during writes if RDB snapshotting fails "
           b"(stop-writes-on-bgsave-error option). Please check the Redis logs for details about "
           b"the RDB error.\r\n")
NOREPLICAS = b"-NOREPLICAS Not enough good replicas to write.\r\n"
EXECABORT_PREVIOUS = b"-EXECABORT Transaction discarded because of previous errors.\r\n"
EXECABORT_NOREPLICAS = (b"-EXECABORT Transaction discarded because of: NOREPLICAS Not enough "
                        b"good replicas to write.\r\n")


def persistence(conn):
    text = conn.call("INFO", "persistence").decode()
    return dict(line.split(":", 1) for line in text.splitlines() if ":" in line)


def wait_until(what, predicate, timeout=10.0):
    deadline = time.monotonic() + timeout * rmtest.SLOWDOWN
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.02)
    raise AssertionError("timed out waiting for " + what)


def bgsave_child_pid(server):
    """The pid of the last background save the server logged."""
    pids = re.findall(r"Background saving started by pid (\d+)", server.log_text())
    assert pids, server.log_tail()
    return int(pids[-1])


def fail_one_bgsave(server, conn):
    """Start a BGSAVE and SIGKILL its child: the save ends in error."""
    assert conn.call_raw("CONFIG", "SET", "rdb-key-save-delay", "100000") == b"+OK\r\n"
    assert conn.call_raw("BGSAVE") == b"+Background saving started\r\n"
    os.kill(bgsave_child_pid(server), signal.SIGKILL)
    wait_until("the failed save", lambda: persistence(conn)["rdb_last_bgsave_status"] == "err")
    assert conn.call_raw("CONFIG", "SET", "rdb-key-save-delay", "0") == b"+OK\r\n"


# ---- FLUSHALL and the BGSAVE child ------------------------------------------------

def test_flushall_kills_the_bgsave_child(both):
    srv = both()
    c = srv.raw()
    for i in range(10):
        c.call("SET", "old%d" % i, i)
    assert c.call_raw("SAVE") == b"+OK\r\n"
    assert c.call_raw("DEBUG", "POPULATE", "1000") == b"+OK\r\n"
    c.call("CONFIG", "SET", "rdb-key-save-delay", "1000")  # about a second for 1010 keys
    assert c.call_raw("BGSAVE") == b"+Background saving started\r\n"
    assert c.call_raw("FLUSHALL") == b"+OK\r\n"
    # Redis reaps the killed child on its next cron tick; Ringmaster waits for it.
    wait_until("the BGSAVE child to go", lambda: persistence(c)["rdb_bgsave_in_progress"] == "0",
               timeout=0.5)
    info = persistence(c)
    assert info["rdb_last_bgsave_status"] == "ok"  # cancelled, not failed
    assert int(info["rdb_changes_since_last_save"]) >= 1000
    assert srv.wait_log("Background saving terminated by signal 10")
    assert not [f for f in os.listdir(srv.workdir) if f.startswith("temp-")]
    # The file is still the one SAVE wrote: the killed snapshot never replaced it.
    time.sleep(1.2 * rmtest.SLOWDOWN)
    assert c.call_raw("DEBUG", "RELOAD", "NOSAVE") == b"+OK\r\n"
    assert c.call("DBSIZE") == 10


def test_flushall_with_save_points_saves_the_empty_dataset(both):
    srv = both("--save", "3600", "1")
    c = srv.raw()
    assert c.call_raw("DEBUG", "POPULATE", "1000") == b"+OK\r\n"
    c.call("CONFIG", "SET", "rdb-key-save-delay", "1000")
    assert c.call_raw("BGSAVE") == b"+Background saving started\r\n"
    assert c.call_raw("FLUSHALL") == b"+OK\r\n"
    info = persistence(c)
    assert info["rdb_changes_since_last_save"] == "0"
    assert info["rdb_last_bgsave_status"] == "ok"
    wait_until("the BGSAVE child to go", lambda: persistence(c)["rdb_bgsave_in_progress"] == "0",
               timeout=0.5)
    time.sleep(1.2 * rmtest.SLOWDOWN)
    assert c.call_raw("DEBUG", "RELOAD", "NOSAVE") == b"+OK\r\n"
    assert c.call("DBSIZE") == 0


# ---- BGSAVE SCHEDULE ----------------------------------------------------------------

def test_bgsave_during_a_replication_snapshot(both):
    """A replication snapshot's child is an RDB child, for Redis as for us:
    BGSAVE, with or without SCHEDULE, is refused while it runs; the disk
    snapshot it writes counts as a save (LASTSAVE, the change counter)."""
    srv = both("--repl-diskless-sync", "no", "--save", "")
    c = srv.raw()
    assert c.call_raw("DEBUG", "POPULATE", "500") == b"+OK\r\n"
    for i in range(5):
        c.call("SET", "w%d" % i, i)
    assert int(persistence(c)["rdb_changes_since_last_save"]) == 5
    c.call("CONFIG", "SET", "rdb-key-save-delay", "2000")  # about a second
    lastsave = c.call("LASTSAVE")
    time.sleep(1.1)  # LASTSAVE counts seconds
    replica = socket.create_connection(("127.0.0.1", srv.port), timeout=10)
    try:
        replica.sendall(b"PSYNC ? -1\r\n")
        assert srv.wait_log("Starting BGSAVE for SYNC with target: disk")
        assert persistence(c)["rdb_bgsave_in_progress"] == "1"
        assert c.call_raw("BGSAVE") == b"-ERR Background save already in progress\r\n"
        assert c.call_raw("BGSAVE", "SCHEDULE") == b"-ERR Background save already in progress\r\n"
        assert c.call_raw("SAVE") == b"-ERR Background save already in progress\r\n"
        wait_until("the replication snapshot", lambda: "Background saving terminated with success"
                   in srv.log_text(), timeout=20)
    finally:
        replica.close()
    wait_until("the child to be reaped",
               lambda: persistence(c)["rdb_bgsave_in_progress"] == "0", timeout=5)
    info = persistence(c)
    assert info["rdb_last_bgsave_status"] == "ok"
    assert info["rdb_changes_since_last_save"] == "0"
    assert c.call("LASTSAVE") > lastsave


def test_bgsave_inside_multi_is_scheduled(both):
    srv = both("--save", "")
    c = srv.raw()
    c.call("SET", "k", "v")
    assert c.call_raw("MULTI") == b"+OK\r\n"
    assert c.call_raw("BGSAVE") == b"+QUEUED\r\n"
    assert c.call_raw("EXEC") == b"*1\r\n+Background saving scheduled\r\n"
    wait_until("the scheduled save", lambda: "Background saving terminated with success"
               in srv.log_text(), timeout=10)
    assert persistence(c)["rdb_changes_since_last_save"] == "0"


def test_flushall_kills_a_disk_replication_snapshot(servers):
    """Its file would bring the flushed keys back at the next start."""
    rm = servers.ringmaster("--repl-diskless-sync", "no", "--save", "")
    c = rm.raw()
    assert c.call_raw("DEBUG", "POPULATE", "1000") == b"+OK\r\n"
    c.call("CONFIG", "SET", "rdb-key-save-delay", "2000")
    replica = socket.create_connection(("127.0.0.1", rm.port), timeout=10)
    try:
        replica.sendall(b"PSYNC ? -1\r\n")
        assert rm.wait_log("Starting BGSAVE for SYNC with target: disk")
        assert c.call_raw("FLUSHALL") == b"+OK\r\n"
        assert persistence(c)["rdb_bgsave_in_progress"] == "0"
        assert persistence(c)["rdb_last_bgsave_status"] == "ok"  # cancelled, not failed
        assert rm.wait_log("SYNC failed. BGSAVE child returned an error")
    finally:
        replica.close()
    assert not [f for f in os.listdir(rm.workdir) if f.startswith("temp-")]
    assert not os.path.exists(os.path.join(rm.workdir, "dump.rdb"))
    assert c.call_raw("PING") == b"+PONG\r\n"


def test_bgsave_while_bgsave_runs(both):
    srv = both()
    c = srv.raw()
    assert c.call_raw("DEBUG", "POPULATE", "200") == b"+OK\r\n"
    c.call("CONFIG", "SET", "rdb-key-save-delay", "100000")
    assert c.call_raw("BGSAVE") == b"+Background saving started\r\n"
    assert c.call_raw("BGSAVE") == b"-ERR Background save already in progress\r\n"
    assert c.call_raw("BGSAVE", "SCHEDULE") == b"-ERR Background save already in progress\r\n"
    assert c.call("INFO", "persistence").count(b"rdb_saves:1\r\n") == 1
    assert c.call_raw("FLUSHALL") == b"+OK\r\n"  # ends the slow child


# ---- stop-writes-on-bgsave-error --------------------------------------------------------

def test_failed_bgsave_refuses_writes(both):
    srv = both("--save", "3600", "1")
    c = srv.raw()
    assert c.call_raw("SET", "k", "v") == b"+OK\r\n"
    fail_one_bgsave(srv, c)
    assert c.call_raw("SET", "k", "2") == MISCONF
    assert c.call_raw("DEL", "k") == MISCONF
    assert c.call_raw("PING") == MISCONF  # as in Redis: health checks see it
    assert c.call_raw("GET", "k") == b"$1\r\nv\r\n"
    assert c.call_raw("ECHO", "x") == b"$1\r\nx\r\n"
    # Queued inside MULTI: refused, and the transaction is discarded at EXEC.
    assert c.call_raw("MULTI") == b"+OK\r\n"
    assert c.call_raw("SET", "k", "3") == MISCONF
    assert c.call_raw("GET", "k") == b"+QUEUED\r\n"
    assert c.call_raw("EXEC") == EXECABORT_PREVIOUS
    # The option, and the save points, are what make it refuse.
    assert c.call_raw("CONFIG", "SET", "stop-writes-on-bgsave-error", "no") == b"+OK\r\n"
    assert c.call_raw("SET", "k", "4") == b"+OK\r\n"
    assert c.call_raw("CONFIG", "SET", "stop-writes-on-bgsave-error", "yes") == b"+OK\r\n"
    assert c.call_raw("SET", "k", "5") == MISCONF
    assert c.call_raw("CONFIG", "SET", "save", "") == b"+OK\r\n"
    assert c.call_raw("SET", "k", "6") == b"+OK\r\n"
    assert c.call_raw("CONFIG", "SET", "save", "3600 1") == b"+OK\r\n"
    assert c.call_raw("SET", "k", "7") == MISCONF
    # A successful save clears the error.
    assert c.call_raw("SAVE") == b"+OK\r\n"
    assert persistence(c)["rdb_last_bgsave_status"] == "ok"
    assert c.call_raw("SET", "k", "8") == b"+OK\r\n"
    assert c.call_raw("PING") == b"+PONG\r\n"


def test_failed_bgsave_refuses_exec_of_writes(both):
    srv = both("--save", "3600", "1")
    c = srv.raw()
    assert c.call_raw("MULTI") == b"+OK\r\n"
    assert c.call_raw("SET", "k", "1") == b"+QUEUED\r\n"
    other = srv.raw()
    fail_one_bgsave(srv, other)
    assert c.call_raw("EXEC") == (b"-EXECABORT Transaction discarded because of: " + MISCONF[1:])
    # A read-only transaction still runs.
    assert c.call_raw("MULTI") == b"+OK\r\n"
    assert c.call_raw("GET", "k") == b"+QUEUED\r\n"
    assert c.call_raw("EXEC") == b"*1\r\n$-1\r\n"


# ---- min-replicas-to-write --------------------------------------------------------------

def test_noreplicas_applies_inside_multi(both):
    srv = both()
    c = srv.raw()
    assert c.call_raw("CONFIG", "SET", "min-replicas-to-write", "1") == b"+OK\r\n"
    assert c.call_raw("SET", "x", "1") == NOREPLICAS
    assert c.call_raw("MULTI") == b"+OK\r\n"
    assert c.call_raw("SET", "x", "2") == NOREPLICAS
    assert c.call_raw("GET", "x") == b"+QUEUED\r\n"
    assert c.call_raw("EXEC") == EXECABORT_PREVIOUS
    assert c.call_raw("GET", "x") == b"$-1\r\n"
    # Reads are not writes.
    assert c.call_raw("MULTI") == b"+OK\r\n"
    assert c.call_raw("GET", "x") == b"+QUEUED\r\n"
    assert c.call_raw("EXEC") == b"*1\r\n$-1\r\n"
    errors = c.call("INFO", "errorstats").decode()
    assert "errorstat_NOREPLICAS:count=2" in errors
    assert "errorstat_EXECABORT:count=1" in errors


def test_noreplicas_checked_again_at_exec(both):
    srv = both()
    c = srv.raw()
    other = srv.raw()
    assert c.call_raw("WATCH", "w") == b"+OK\r\n"
    assert c.call_raw("MULTI") == b"+OK\r\n"
    assert c.call_raw("SET", "x", "2") == b"+QUEUED\r\n"
    assert other.call_raw("CONFIG", "SET", "min-replicas-to-write", "1") == b"+OK\r\n"
    assert c.call_raw("EXEC") == EXECABORT_NOREPLICAS
    assert c.call_raw("GET", "x") == b"$-1\r\n"
    # The transaction is gone, and its WATCH with it.
    assert c.call_raw("EXEC") == b"-ERR EXEC without MULTI\r\n"
    assert other.call_raw("CONFIG", "SET", "min-replicas-to-write", "0") == b"+OK\r\n"
    assert other.call_raw("SET", "w", "touched") == b"+OK\r\n"
    assert c.call_raw("MULTI") == b"+OK\r\n"
    assert c.call_raw("SET", "x", "3") == b"+QUEUED\r\n"
    assert c.call_raw("EXEC") == b"*1\r\n+OK\r\n"
    errors = c.call("INFO", "errorstats").decode()
    assert "errorstat_EXECABORT:count=1" in errors
    assert "NOREPLICAS" not in errors


def test_shutdown_save_outlives_a_disk_replication_snapshot(servers):
    """SHUTDOWN SAVE while a replication snapshot writes dbfilename: the
    snapshot is killed first, so its older file cannot replace the final
    one (writes made after it started survive the restart)."""
    rm = servers.ringmaster("--repl-diskless-sync", "no", "--save", "")
    c = rm.raw()
    assert c.call_raw("DEBUG", "POPULATE", "500") == b"+OK\r\n"
    c.call("CONFIG", "SET", "rdb-key-save-delay", "4000")  # about two seconds
    replica = socket.create_connection(("127.0.0.1", rm.port), timeout=10)
    try:
        replica.sendall(b"PSYNC ? -1\r\n")
        assert rm.wait_log("Starting BGSAVE for SYNC with target: disk")
        assert c.call_raw("SET", "after-the-fork", "kept") == b"+OK\r\n"
        c.call("CONFIG", "SET", "rdb-key-save-delay", "0")
        # NOW: the fake replica never acknowledges anything, and a plain
        # SHUTDOWN would wait shutdown-timeout for it, as Redis's does.
        c.send_command("SHUTDOWN", "SAVE", "NOW")
        rm.expect_exit()
        assert rm.wait_exit() == 0, rm.log_tail()
    finally:
        replica.close()
    assert "Killing the disk snapshot child" in rm.log_text()
    assert not [f for f in os.listdir(rm.workdir) if f.startswith("temp-")]
    # Had the killed child finished instead, it would have renamed its
    # snapshot (without the key) over the final save a second later.
    time.sleep(2.5 * rmtest.SLOWDOWN)
    rm.start()
    c = rm.raw()
    assert c.call("GET", "after-the-fork") == b"kept"
    assert c.call("DBSIZE") == 501


# ---- what INFO says about a running child --------------------------------------------

def stats(conn):
    text = conn.call("INFO", "stats").decode()
    return dict(line.split(":", 1) for line in text.splitlines() if ":" in line)


def test_a_running_save_reports_its_progress_and_its_fork(both):
    """While a child saves, INFO shows how far it got and what copy-on-write
    costs; the fork itself is counted and timed; once the child is gone the
    running figures return to zero and the final CoW size stays."""
    srv = both("--save", "", "--repl-diskless-sync", "yes", "--repl-diskless-sync-delay", "0")
    c = srv.raw()
    assert c.call_raw("DEBUG", "POPULATE", "4000") == b"+OK\r\n"
    forks = int(stats(c)["total_forks"])
    c.call("CONFIG", "SET", "rdb-key-save-delay", "500")  # about two seconds
    assert c.call_raw("BGSAVE") == b"+Background saving started\r\n"
    st = stats(c)
    assert int(st["total_forks"]) == forks + 1
    assert int(st["latest_fork_usec"]) > 0
    wait_until("a progress report",
               lambda: int(persistence(c)["current_save_keys_processed"]) > 0, timeout=5)
    info = persistence(c)
    assert info["rdb_bgsave_in_progress"] == "1"
    assert info["current_save_keys_total"] == "4000"
    done = int(info["current_save_keys_processed"])
    assert 0 < done < 4000
    assert float(info["current_fork_perc"]) == pytest.approx(done * 100 / 4000, abs=0.01)
    assert int(info["current_cow_size"]) > 0
    assert int(info["current_cow_peak"]) >= int(info["current_cow_size"])
    assert int(info["current_cow_size_age"]) >= 0
    wait_until("the save to end", lambda: persistence(c)["rdb_bgsave_in_progress"] == "0",
               timeout=20)
    info = persistence(c)
    assert info["rdb_last_bgsave_status"] == "ok"
    for field in ("current_save_keys_processed", "current_save_keys_total", "current_cow_size",
                  "current_cow_peak"):
        assert info[field] == "0", field
    assert info["current_fork_perc"] == "0.00"
    assert int(info["rdb_last_cow_size"]) > 0
    # A replication snapshot forks too, and is counted the same way.
    c.call("CONFIG", "SET", "rdb-key-save-delay", "0")
    replica = socket.create_connection(("127.0.0.1", srv.port), timeout=10)
    try:
        replica.sendall(b"REPLCONF capa eof capa psync2\r\n")
        assert replica.recv(5) == b"+OK\r\n"  # Redis refuses PSYNC with replies pending
        replica.sendall(b"PSYNC ? -1\r\n")
        wait_until("the replication fork", lambda: int(stats(c)["total_forks"]) == forks + 2)
    finally:
        replica.close()


def test_expiry_time_cap_is_counted(servers):
    """An active-expiry cycle cut short by its time budget is counted
    (expired_time_cap_reached_count). Ringmaster only: Redis's fast cycles
    often take the burst before a slow cycle runs out of time."""
    srv = servers.ringmaster("--save", "", "--hz", "100")
    c = srv.raw()
    n = rmtest.scaled(100000, 20000)
    # Every key expires at the same instant, after they are all written, so
    # the cycles that follow find nothing but expired keys.
    at = int(time.time() * 1000) + 4000 * rmtest.SLOWDOWN
    for start in range(0, n, 1000):
        for i in range(start, start + 1000):
            c.send_command("SET", "e%d" % i, "v", "PXAT", str(at))
        for _ in range(1000):
            c.read_reply()
    assert int(time.time() * 1000) < at, "writing the keys took too long"
    assert stats(c)["expired_time_cap_reached_count"] == "0"
    wait_until("a capped expiry cycle",
               lambda: int(stats(c)["expired_time_cap_reached_count"]) > 0, timeout=15)
    wait_until("every key to expire", lambda: c.call("DBSIZE") == 0, timeout=20)
    assert c.call_raw("CONFIG", "RESETSTAT") == b"+OK\r\n"
    assert stats(c)["expired_time_cap_reached_count"] == "0"


def test_resetstat_zeroes_the_fork_counters(both):
    srv = both("--save", "")
    c = srv.raw()
    assert c.call_raw("BGSAVE") == b"+Background saving started\r\n"
    assert int(stats(c)["total_forks"]) == 1
    wait_until("the save to end", lambda: persistence(c)["rdb_bgsave_in_progress"] == "0",
               timeout=20)
    assert c.call_raw("CONFIG", "RESETSTAT") == b"+OK\r\n"
    st = stats(c)
    assert st["total_forks"] == "0"
    assert st["latest_fork_usec"] == "0"
