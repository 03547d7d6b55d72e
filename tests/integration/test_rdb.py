"""RDB persistence against real Redis 7.0: the corpus a real redis-server wrote, files
Ringmaster writes loaded by redis-server (and checked by redis-check-rdb) and the reverse,
SAVE / BGSAVE / save points / SHUTDOWN, DEBUG RELOAD and the refusal of types Ringmaster
does not implement.

Equality is checked three ways: against the corpus JSON, with DEBUG DIGEST (Redis's own
dataset hash, which Ringmaster computes identically), and with OBJECT ENCODING per key.
"""

import json
import os
import shutil
import signal
import subprocess
import time

import pytest

import rmtest

CORPUS = os.environ.get("RM_RDB_CORPUS") or os.path.normpath(
    os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "shared",
                 "rdb-corpus"))
LOADABLE = ["small-encodings", "big-encodings", "nocompress-nochecksum", "empty"]


def corpus_path(name):
    path = os.path.join(CORPUS, name)
    if not os.path.exists(path):
        pytest.skip("corpus not found at %s" % CORPUS)
    return path


def workdir_with(servers, name, rdb):
    """A fresh server directory holding `rdb` as dump.rdb."""
    d = servers.tmp_path / ("%s-%d" % (name, len(servers.started)))
    d.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(rdb, d / "dump.rdb")
    os.chmod(d / "dump.rdb", 0o644)
    return d


def dump_dataset(r):
    """{db: {key_hex: {type, value, has_expire}}}, as the corpus generator writes it."""
    out = {}
    for db in range(16):
        r.execute_command("SELECT", db)
        keys = sorted(r.keys("*"))
        if not keys:
            continue
        ent = {}
        for k in keys:
            t = r.type(k).decode()
            pttl = r.pttl(k)
            if t == "string":
                v = r.get(k).hex()
            elif t == "list":
                v = [x.hex() for x in r.lrange(k, 0, -1)]
            elif t == "set":
                v = sorted(x.hex() for x in r.smembers(k))
            elif t == "hash":
                v = {a.hex(): b.hex() for a, b in r.hgetall(k).items()}
            elif t == "zset":
                v = [[m.hex(), repr(s)] for m, s in r.zrange(k, 0, -1, withscores=True)]
            else:
                v = None
            ent[k.hex()] = {"type": t, "value": v, "has_expire": pttl > 0}
        out[str(db)] = ent
    r.execute_command("SELECT", 0)
    return out


def encodings(r):
    out = {}
    for db in range(16):
        r.execute_command("SELECT", db)
        for k in r.keys("*"):
            out[(db, k)] = r.object("encoding", k)
    r.execute_command("SELECT", 0)
    return out


def digest(r):
    return r.execute_command("DEBUG", "DIGEST")


def info_persistence(r):
    return r.info("persistence")


def populate_every_encoding(r):
    """Every type in each encoding Redis 7.0 has for it, expires, several dbs."""
    p = r.pipeline(transaction=False)
    p.set("s:small", "hello")
    p.set("s:int", "12345")
    p.set("s:neg", "-9007199254740993")
    p.set("s:empty", "")
    p.set("s:bin", bytes(range(256)))
    p.set("s:long", "x" * 5000)
    p.set("s:rand", os.urandom(300))
    p.append("s:raw", "appended")
    p.rpush("l:small", "a", "1", "-2", "3.5", "zz" * 30)
    for i in range(3000):
        p.rpush("l:big", "item-%d-%s" % (i, "p" * (i % 70)))
    p.rpush("l:huge", "z" * 20000, "y" * 16378, "w")
    p.sadd("set:int", 1, 2, 3, -5, 100000, 2 ** 40)
    p.sadd("set:str", "a", "b", "c")
    for i in range(700):
        p.sadd("set:bigint", i * 7)
    p.sadd("set:intthenstr", 1, 2, 3, "notint")
    p.hset("h:small", mapping={"f1": "v1", "f2": "2", "num": "-17"})
    for i in range(300):
        p.hset("h:big", "field-%d" % i, "v" * (i % 80))
    p.hset("h:longval", "f", "y" * 100)
    p.zadd("z:small", {"a": 1.5, "b": -2, "c": 3e10, "d": 0, "e": float("inf")})
    for i in range(300):
        p.zadd("z:big", {"m%d" % i: (i * 7919 % 1000) / 3.0 - 150})
    p.zadd("z:longmember", {"m" * 100: 1})
    p.set("ttl:s", "v", px=3600_000)
    p.hset("ttl:h", "a", "1")
    p.pexpire("ttl:h", 7200_000)
    p.execute()
    r.execute_command("SELECT", 3)
    r.set("db3:key", "in db 3")
    r.rpush("db3:list", "x")
    r.execute_command("SELECT", 15)
    r.set("db15:key", "in db 15")
    r.execute_command("SELECT", 0)


# ---- the corpus ---------------------------------------------------------------

@pytest.mark.parametrize("name", LOADABLE)
def test_corpus_loads_as_described(servers, name):
    rdb = corpus_path(name + ".rdb")
    with open(corpus_path(name + ".json")) as f:
        want = json.load(f)
    rm = servers.ringmaster(workdir=workdir_with(servers, "rm", rdb))
    ref = servers.redis(workdir=workdir_with(servers, "redis", rdb))
    r, rr = rm.client(), ref.client()
    got = dump_dataset(r)
    # Keys with a TTL may have expired since the corpus was generated: a master skips them
    # on load (Redis too). Every other key must be exactly as described.
    for db, keys in want.items():
        for k, ent in keys.items():
            have = got.get(db, {}).get(k)
            if ent["has_expire"] and have is None:
                continue
            assert have == ent, "db %s key %s" % (db, bytes.fromhex(k))
    for db, keys in got.items():
        for k in keys:
            assert k in want.get(db, {}), "unexpected key %s in db %s" % (bytes.fromhex(k), db)
    assert digest(r) == digest(rr)
    assert encodings(r) == encodings(rr)
    assert rm.wait_log("DB loaded from disk")
    assert "Loading RDB produced by version 7.0" in rm.log_text()


def test_stream_file_loads_at_startup(servers):
    d = workdir_with(servers, "rm", corpus_path("with-stream.rdb"))
    rm = servers.ringmaster(workdir=d)
    r = rm.client()
    assert r.type("stream:1") == b"stream"
    assert r.xlen("stream:1") == 1
    assert r.get("plain") == b"v"
    assert rm.wait_log("DB loaded from disk")


def test_stream_file_loaded_at_runtime(servers):
    rm = servers.ringmaster()
    r = rm.client()
    r.set("previous", "data")
    shutil.copyfile(corpus_path("with-stream.rdb"), os.path.join(rm.workdir, "dump.rdb"))
    r.execute_command("DEBUG", "RELOAD", "NOSAVE")
    assert r.get("previous") is None
    assert r.type("stream:1") == b"stream"
    [(_, fields)] = r.xrange("stream:1")
    assert fields == {b"f": b"v"}


# ---- both directions with a real Redis ---------------------------------------------

def test_ringmaster_file_loads_in_redis(servers):
    rm = servers.ringmaster()
    r = rm.client()
    populate_every_encoding(r)
    assert r.execute_command("SAVE")
    path = os.path.join(rm.workdir, "dump.rdb")
    check = subprocess.run(["redis-check-rdb", path], capture_output=True, text=True,
                           timeout=60)
    assert check.returncode == 0 and "RDB looks OK" in check.stdout, check.stdout
    ref = servers.redis(workdir=workdir_with(servers, "redis", path))
    rr = ref.client()
    assert rr.dbsize() == r.dbsize()
    assert digest(rr) == digest(r)
    assert encodings(rr) == encodings(r)


def test_redis_file_loads_in_ringmaster(servers):
    ref = servers.redis()
    rr = ref.client()
    populate_every_encoding(rr)
    assert rr.execute_command("SAVE")
    rm = servers.ringmaster(workdir=workdir_with(servers, "rm",
                                                 os.path.join(ref.workdir, "dump.rdb")))
    r = rm.client()
    assert digest(r) == digest(rr)
    assert encodings(r) == encodings(rr)
    assert r.pttl("ttl:s") > 0


def test_debug_reload_keeps_digest(servers):
    rm = servers.ringmaster()
    r = rm.client()
    populate_every_encoding(r)
    before = digest(r)
    assert r.execute_command("DEBUG", "RELOAD") in (True, b"OK")
    assert digest(r) == before
    assert rm.wait_log("DB reloaded by DEBUG RELOAD")


# ---- SAVE, BGSAVE, save points, shutdown ---------------------------------------------

def test_save_and_lastsave(ringmaster):
    r = ringmaster.client()
    r.set("a", "1")
    assert info_persistence(r)["rdb_changes_since_last_save"] >= 1
    before = r.lastsave()
    time.sleep(1.1)
    assert r.execute_command("SAVE")
    assert r.lastsave() > before
    info = info_persistence(r)
    assert info["rdb_changes_since_last_save"] == 0
    assert info["rdb_last_bgsave_status"] == "ok"
    assert ringmaster.wait_log("DB saved on disk")
    assert os.path.exists(os.path.join(ringmaster.workdir, "dump.rdb"))


def test_bgsave_runs_in_a_child(servers):
    rm = servers.ringmaster("--rdb-key-save-delay", "20000")
    r = rm.client()
    for i in range(50):
        r.set("k%d" % i, i)
    assert r.execute_command("BGSAVE") in (True, b"Background saving started")
    assert info_persistence(r)["rdb_bgsave_in_progress"] == 1
    with pytest.raises(Exception) as e:
        r.execute_command("BGSAVE")
    assert "already in progress" in str(e.value)
    with pytest.raises(Exception):
        r.execute_command("SAVE")
    r.set("during", "x")  # served while the child writes
    deadline = time.monotonic() + 20 * rmtest.SLOWDOWN
    while info_persistence(r)["rdb_bgsave_in_progress"] and time.monotonic() < deadline:
        time.sleep(0.05)
    info = info_persistence(r)
    assert info["rdb_bgsave_in_progress"] == 0
    assert info["rdb_last_bgsave_status"] == "ok"
    assert info["rdb_changes_since_last_save"] == 1  # the write made during the save
    log = rm.log_text()
    assert "Background saving started by pid" in log
    assert "Background saving terminated with success" in log
    assert "DB saved on disk" in log
    # The snapshot is the dataset at fork time.
    ref = servers.redis(workdir=workdir_with(servers, "redis",
                                             os.path.join(rm.workdir, "dump.rdb")))
    assert ref.client().dbsize() == 50


def test_bgsave_schedule_and_no_torn_file(servers):
    rm = servers.ringmaster("--rdb-key-save-delay", "5000")
    r = rm.client()
    r.set("old", "1")
    r.execute_command("SAVE")
    path = os.path.join(rm.workdir, "dump.rdb")
    old = open(path, "rb").read()
    for i in range(200):
        r.set("k%d" % i, i)
    assert r.execute_command("BGSAVE", "SCHEDULE") in (True, b"Background saving started")
    # Until the rename, readers see the previous complete file, never a partial one.
    assert open(path, "rb").read() == old
    deadline = time.monotonic() + 20 * rmtest.SLOWDOWN
    while info_persistence(r)["rdb_bgsave_in_progress"] and time.monotonic() < deadline:
        time.sleep(0.05)
    assert open(path, "rb").read() != old
    assert not [f for f in os.listdir(rm.workdir) if f.startswith("temp-")]


def test_save_point_triggers_bgsave(servers):
    rm = servers.ringmaster()
    r = rm.client()
    r.config_set("save", "1 1")
    r.set("a", "1")
    assert rm.wait_log("changes in 1 seconds. Saving...", timeout=10)
    assert rm.wait_log("Background saving terminated with success", timeout=10)
    r.config_set("save", "")
    assert r.config_get("save")["save"] == ""


def test_shutdown_save_and_restart_loads(servers):
    rm = servers.ringmaster()
    r = rm.client()
    populate_every_encoding(r)
    before = digest(r)
    rm.expect_exit()
    try:
        r.shutdown(save=True)
    except Exception:
        pass
    assert rm.wait_exit() == 0
    assert "Saving the final RDB snapshot before exiting." in rm.log_text()
    again = servers.ringmaster(workdir=rm.workdir)
    assert digest(again.client()) == before


def test_sigterm_saves_when_save_points_are_set(servers):
    rm = servers.ringmaster("--save", "3600", "1")
    r = rm.client()
    r.set("k", "v")
    rm.expect_exit()
    rm.proc.send_signal(signal.SIGTERM)
    assert rm.wait_exit() == 0
    assert os.path.exists(os.path.join(rm.workdir, "dump.rdb"))
    again = servers.ringmaster(workdir=rm.workdir)
    assert again.client().get("k") == b"v"


def test_shutdown_nosave_does_not_save(servers):
    rm = servers.ringmaster("--save", "3600", "1")
    r = rm.client()
    r.set("k", "v")
    rm.expect_exit()
    try:
        r.shutdown(nosave=True)
    except Exception:
        pass
    assert rm.wait_exit() == 0
    assert not os.path.exists(os.path.join(rm.workdir, "dump.rdb"))
