"""FUNCTION libraries against redis-server 7.0: replies byte for byte, the
RDB function opcode both ways, FUNCTION DUMP/RESTORE, and replication from
a redis-server master (full sync and the live stream) and to one.

Ringmaster stores functions but runs none (no Lua): where Redis runs the
code, a function that exists is checked by FCALL on the Redis side only.

Redis lists libraries and their functions in its dicts' order, which is
arbitrary; byte-for-byte comparisons use at most one library with one
function where order could matter, and FUNCTION LIST is otherwise compared
normalised (sorted).
"""

import os
import shutil
import socket
import time

import repl_helpers as rh
import rmtest

LIB_A = ("#!lua name=liba\n"
         "redis.register_function('fa1', function(keys, args) return 1 end)\n"
         "redis.register_function{function_name='fa2', callback=function() return 2 end, "
         "flags={'no-writes','allow-stale'}, description='second one'}\n")
LIB_B = ("#!LUA name=libb\n"
         "local function f(keys, args) return redis.call('GET', keys[1]) end\n"
         "redis.register_function{function_name=\"fb\", callback=f, flags={\"no-writes\"}}\n")
LIB_ONE = "#!lua name=one\nredis.register_function('only', function() return 7 end)\n"

# Replies compared raw; the state carries from one command to the next.
CASES = [
    ("FUNCTION", "LOAD", LIB_ONE),
    ("FUNCTION", "LOAD", LIB_ONE),
    ("FUNCTION", "LOAD", "REPLACE", LIB_ONE),
    ("FUNCTION", "LOAD", "return 1"),
    ("FUNCTION", "LOAD", "#!lua name=x"),
    ("FUNCTION", "LOAD", "#!lua\nredis.register_function('q', function() end)"),
    ("FUNCTION", "LOAD", "#!js name=x\nredis.register_function('q', function() end)"),
    ("FUNCTION", "LOAD", "#!lua name=x foo=bar\nredis.register_function('q', function() end)"),
    ("FUNCTION", "LOAD", "#!lua name=x name=y\nredis.register_function('q', function() end)"),
    ("FUNCTION", "LOAD", "#!lua name=a-b\nredis.register_function('q', function() end)"),
    ("FUNCTION", "LOAD", "#!js name=a-b\nredis.register_function('q', function() end)"),
    ("FUNCTION", "LOAD", "#! lua name=y\nredis.register_function('q', function() end)"),
    ("FUNCTION", "LOAD", "#!lua name=y\n"),
    ("FUNCTION", "LOAD", "#!lua name=y\n-- redis.register_function('q', function() end)\n"
                         "local s = [[redis.register_function('r', function() end)]]\n"),
    ("FUNCTION", "LOAD", "#!lua name=y\nredis.register_function('', function() end)"),
    ("FUNCTION", "LOAD", "#!lua name=y\nredis.register_function('q', function() end)\n"
                         "redis.register_function('q', function() end)"),
    ("FUNCTION", "LOAD", "#!lua name=y\nredis.register_function{function_name='q', "
                         "callback=function() end, flags={'bad'}}"),
    ("FUNCTION", "LOAD", "#!lua name=one\nredis.register_function('a-b', function() end)"),
    ("FUNCTION", "LOAD", "#!lua name=y\nredis.register_function('only', function() end)"),
    ("FUNCTION", "LOAD", "FOO", LIB_ONE),
    ("FUNCTION", "LOAD"),
    ("FUNCTION", "LIST"),
    ("FUNCTION", "LIST", "WITHCODE"),
    ("FUNCTION", "LIST", "libraryname", "O*", "withcode"),
    ("FUNCTION", "LIST", "libraryname", "nomatch"),
    ("FUNCTION", "LIST", "withcode", "libraryname"),
    ("FUNCTION", "LIST", "withcode", "withcode"),
    ("FUNCTION", "LIST", "libraryname", "a", "libraryname", "b"),
    ("FUNCTION", "STATS"),
    ("FUNCTION", "STATS", "x"),
    ("FUNCTION", "KILL"),
    ("FUNCTION", "DUMP"),
    ("FCALL", "nosuch", "0"),
    ("FCALL_RO", "nosuch", "0"),
    ("FCALL", "nosuch"),
    ("FUNCTION", "DELETE", "nosuch"),
    ("FUNCTION", "DELETE", "ONE"),
    ("FUNCTION", "DELETE"),
    ("FUNCTION", "FLUSH", "foo"),
    ("FUNCTION", "FLUSH", "async"),
    ("FUNCTION", "LOAD", LIB_ONE),
    ("FUNCTION", "DELETE", "one"),
    ("FUNCTION", "DUMP"),
    ("FUNCTION", "RESTORE", "\xf5"),
    ("FUNCTION", "RESTORE", "abc", "foo"),
    ("FUNCTION", "RESTORE", b"\x00\x0a\x00AAAAAAAA"),
    ("FUNCTION", "HELP"),
    ("FUNCTION",),
    ("FUNCTION", "nosuch"),
    ("FUNCTION", "FLUSH", "SYNC"),
]


def normalised_list(server):
    """FUNCTION LIST WITHCODE as sorted plain data."""
    out = []
    for lib in rh.call(server, "FUNCTION", "LIST", "WITHCODE"):
        d = dict(zip(lib[0::2], lib[1::2]))
        funcs = sorted(tuple(tuple(x) if isinstance(x, list) else x for x in fn)
                       for fn in d[b"functions"])
        out.append((d[b"library_name"], d[b"engine"], tuple(funcs), d[b"library_code"]))
    return sorted(out)


def load_libs(server, *codes):
    for code in codes:
        name = code.split("name=", 1)[1].split("\n", 1)[0]
        assert rh.call(server, "FUNCTION", "LOAD", code) == name.encode()


def test_replies_match_redis(servers):
    rm, ref = servers.ringmaster(), servers.redis()
    with rm.raw() as a, ref.raw() as b:
        for args in CASES:
            got, want = a.call_raw(*args), b.call_raw(*args)
            assert got == want, "%r: ringmaster %r, redis %r" % (args, got, want)


def test_dump_restore_policies_match_redis(servers):
    rm, ref = servers.ringmaster(), servers.redis()
    for s in (rm, ref):
        load_libs(s, LIB_ONE)
    dump = rh.call(ref, "FUNCTION", "DUMP")
    assert rh.call(rm, "FUNCTION", "DUMP") == dump  # same bytes, LZF and CRC included
    other = "#!lua name=two\nredis.register_function('only', function() return 8 end)\n"
    steps = [("FUNCTION", "RESTORE", dump), ("FUNCTION", "RESTORE", dump, "APPEND"),
             ("FUNCTION", "RESTORE", dump, "REPLACE"), ("FUNCTION", "FLUSH"),
             ("FUNCTION", "LOAD", other), ("FUNCTION", "RESTORE", dump, "replace"),
             ("FUNCTION", "RESTORE", dump, "FLUSH"), ("FUNCTION", "LIST", "WITHCODE"),
             ("FUNCTION", "RESTORE", dump[:-1] + bytes([dump[-1] ^ 1])),
             ("FUNCTION", "RESTORE", b"\x07" + dump[1:]),
             ("FUNCTION", "RESTORE", dump, "APPEND", "x")]
    with rm.raw() as a, ref.raw() as b:
        for args in steps[:-1]:
            got, want = a.call_raw(*args), b.call_raw(*args)
            assert got == want, "%r: ringmaster %r, redis %r" % (args[:3], got, want)
        assert a.call_raw(*steps[-1]).startswith(b"-ERR")


def _copy_rdb(servers, src, name):
    d = servers.tmp_path / ("%s-%d" % (name, len(servers.started)))
    d.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(os.path.join(src.workdir, "dump.rdb"), d / "dump.rdb")
    return d


def test_redis_rdb_with_functions_loads_in_ringmaster(servers):
    ref = servers.redis()
    load_libs(ref, LIB_A, LIB_B)
    rh.call(ref, "SET", "k", "v")
    assert rh.call(ref, "SAVE") == b"OK"
    rm = servers.ringmaster(workdir=_copy_rdb(servers, ref, "rm"))
    assert normalised_list(rm) == normalised_list(ref)
    assert rh.call(rm, "FUNCTION", "STATS") == rh.call(ref, "FUNCTION", "STATS")
    assert rh.call(rm, "DEBUG", "DIGEST") == rh.call(ref, "DEBUG", "DIGEST")
    # DEBUG RELOAD writes and reads them back.
    assert rh.call(rm, "DEBUG", "RELOAD") == b"OK"
    assert normalised_list(rm) == normalised_list(ref)


def test_ringmaster_rdb_with_functions_runs_in_redis(servers):
    rm = servers.ringmaster()
    load_libs(rm, LIB_A, LIB_B)
    rh.call(rm, "SET", "k", "hello")
    assert rh.call(rm, "SAVE") == b"OK"
    ref = servers.redis(workdir=_copy_rdb(servers, rm, "redis"))
    assert normalised_list(ref) == normalised_list(rm)
    assert rh.call(ref, "FCALL", "fa1", "0") == 1
    assert rh.call(ref, "FCALL_RO", "fb", "1", "k") == b"hello"
    # The FUNCTION DUMP payload goes the other way too.
    for lib in (b"liba", b"libb"):
        rh.call(rm, "FUNCTION", "DELETE", lib)
    assert rh.call(rm, "FUNCTION", "RESTORE", rh.call(ref, "FUNCTION", "DUMP")) == b"OK"
    assert normalised_list(rm) == normalised_list(ref)


def test_fcall_of_a_stored_function_is_refused_clearly(ringmaster):
    load_libs(ringmaster, LIB_ONE)
    with ringmaster.raw() as c:
        assert c.call_raw("FCALL", "only", "0") == (
            b"-ERR Ringmaster does not support scripting: function 'only' is stored but cannot "
            b"be executed\r\n")


def _replica_of(servers, master):
    return servers.ringmaster("--replicaof", "127.0.0.1", str(master.port),
                              "--repl-timeout", "60", name="rm-replica")


def test_redis_master_functions_reach_a_ringmaster_replica(servers):
    master = servers.redis()
    load_libs(master, LIB_A)  # in the full sync's RDB
    rh.call(master, "SET", "x", "1")
    replica = _replica_of(servers, master)
    rh.wait_synced(master, [replica])
    assert normalised_list(replica) == normalised_list(master)
    # Then streamed: LOAD, REPLACE, DELETE, RESTORE, FLUSH.
    load_libs(master, LIB_B)
    rh.call(master, "FUNCTION", "LOAD", "REPLACE", LIB_A.replace("second one", "changed"))
    dump = rh.call(master, "FUNCTION", "DUMP")
    rh.call(master, "FUNCTION", "DELETE", "libb")
    rh.call(master, "FUNCTION", "LOAD", LIB_ONE)
    rh.wait_synced(master, [replica])
    assert normalised_list(replica) == normalised_list(master)
    rh.call(master, "FUNCTION", "RESTORE", dump, "FLUSH")
    rh.call(master, "SET", "y", "2")
    rh.wait_synced(master, [replica])
    assert normalised_list(replica) == normalised_list(master)
    rh.assert_same_digest(master, [replica])
    rh.call(master, "FUNCTION", "FLUSH")
    rh.wait_synced(master, [replica])
    assert rh.call(replica, "FUNCTION", "LIST") == []


def test_ringmaster_master_propagates_functions_to_redis(servers):
    master = servers.ringmaster()
    load_libs(master, LIB_A)
    replica = rh.start_replica(servers, master)
    rh.wait_synced(master, [replica])
    load_libs(master, LIB_B)
    rh.call(master, "SET", "k", "v")
    rh.wait_synced(master, [replica])
    assert normalised_list(replica) == normalised_list(master)
    assert rh.call(replica, "FCALL_RO", "fb", "1", "k") == b"v"
    rh.call(master, "FUNCTION", "DELETE", "liba")
    rh.wait_synced(master, [replica])
    assert normalised_list(replica) == normalised_list(master)
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and len(normalised_list(replica)) != 1:
        time.sleep(0.05)
    assert len(normalised_list(replica)) == 1


def _attach_as_replica(server):
    """A raw connection that full-syncs from server (disk payload) and is
    left at the start of the command stream."""
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=10)
    buf = b""

    def line():
        nonlocal buf
        while b"\r\n" not in buf:
            buf += sock.recv(65536)
        out, buf = buf.split(b"\r\n", 1)
        return out

    sock.sendall(rmtest.encode_command("REPLCONF", "capa", "psync2"))
    assert line() == b"+OK"
    sock.sendall(rmtest.encode_command("PSYNC", "?", "-1"))
    assert line().startswith(b"+FULLRESYNC")
    head = line()
    while head in (b"", b"\n") or head.startswith(b"\n"):  # keepalive newlines
        head = head.lstrip(b"\n") or line()
    assert head.startswith(b"$"), head
    need = int(head[1:])
    while len(buf) < need:
        buf += sock.recv(65536)
    return sock, buf[need:]


def _stream(sock, rest, until, timeout=10.0):
    data = rest
    deadline = time.monotonic() + timeout
    while until not in data and time.monotonic() < deadline:
        data += sock.recv(65536)
    return data


def test_propagated_bytes_match_redis(servers):
    """What LOAD, REPLACE, DELETE, RESTORE and FLUSH put in the replication
    stream, byte for byte, with redis-server's."""
    got = []
    for s in (servers.ringmaster("--repl-diskless-sync", "no"),
              servers.redis("--repl-diskless-sync", "no")):
        sock, rest = _attach_as_replica(s)
        load_libs(s, LIB_ONE)
        dump = rh.call(s, "FUNCTION", "DUMP")
        rh.call(s, "FUNCTION", "LOAD", "REPLACE", LIB_ONE)
        rh.call(s, "FUNCTION", "LOAD", "bad")  # refused: not propagated
        rh.call(s, "FUNCTION", "DELETE", "one")
        rh.call(s, "FUNCTION", "RESTORE", dump, "APPEND")
        rh.call(s, "FUNCTION", "FLUSH", "SYNC")
        rh.call(s, "SET", "end", "mark")
        data = _stream(sock, rest, b"mark\r\n")
        sock.close()
        # PINGs come on each server's own schedule: not part of the comparison.
        got.append(data.replace(rmtest.encode_command("PING"), b""))
    assert got[0] == got[1]
    assert b"RESTORE" in got[0]


def test_info_counts_functions_and_libraries_as_redis(servers):
    """INFO memory's number_of_functions and number_of_libraries follow
    loads, replacements, deletes and flushes as Redis's do; the store's
    memory (used_memory_functions, part of used_memory_scripts) grows with a
    library and returns when it goes."""
    rm, redis = servers.ringmaster(), servers.redis()
    steps = [("FUNCTION", "LOAD", LIB_A), ("FUNCTION", "LOAD", LIB_B),
             ("FUNCTION", "LOAD", "REPLACE", LIB_ONE.replace("one", "liba")),
             ("FUNCTION", "DELETE", "libb"), ("FUNCTION", "FLUSH", "ASYNC")]

    def counts(server):
        i = rh.info(server, "memory")
        return (int(i["number_of_functions"]), int(i["number_of_libraries"]),
                int(i["number_of_cached_scripts"]))

    seen, sizes = [], []
    empty = int(rh.info(rm, "memory")["used_memory_functions"])
    for step in steps:
        assert rh.call(rm, *step) == rh.call(redis, *step), step
        assert counts(rm) == counts(redis), step
        seen.append(counts(rm))
        mem = rh.info(rm, "memory")
        assert int(mem["used_memory_scripts"]) == int(mem["used_memory_functions"])
        if step[1] == "LOAD" and len(step) == 3:
            assert int(mem["used_memory_functions"]) > empty
        sizes.append(int(mem["used_memory_functions"]))
    assert seen == [(2, 1, 0), (3, 2, 0), (2, 2, 0), (1, 1, 0), (0, 0, 0)]
    # Flushed: the store keeps only its (grown) table of libraries.
    assert sizes[-1] < min(sizes[:-1])
