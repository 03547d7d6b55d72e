"""Client-supplied bytes against the server's C strings.

A password, a config value, a client name, a filter or an option reaches
code that may read it as a C string (stop at a NUL) or write it into a line
(a log line, a CLIENT LIST or INFO line). These tests send the bytes that
would slip through: a NUL with something after it, a newline, a byte
outside printable ASCII. Where Redis 7.0 already gets it right the reply
must be the reference's, byte for byte; where Redis itself cuts a value at
the NUL (dbfilename, option words, CLIENT KILL filters) Ringmaster refuses
or matches nothing instead, and the test says so.
"""

import re

import rmtest
from rmtest import RespConn, RespError, free_port

SLOW = rmtest.SLOWDOWN

PASSWORD = b"abc\x00def"
WRONGPASS = b"-WRONGPASS invalid username-password pair or user is disabled.\r\n"


def write_file(path, text):
    with open(path, "wb") as f:
        f.write(text if isinstance(text, bytes) else text.encode())
    return str(path)


def same_raw_replies(rm, ref, script, rm_conn=None, ref_conn=None):
    a = rm_conn or RespConn(rm.port)
    b = ref_conn or RespConn(ref.port)
    try:
        for args in script:
            ra, rb = a.call_raw(*args), b.call_raw(*args)
            assert ra == rb, "%r: ringmaster %r, redis %r" % (args, ra, rb)
    finally:
        if not rm_conn:
            a.close()
        if not ref_conn:
            b.close()


# -- passwords ----------------------------------------------------------------

def test_requirepass_is_binary_safe_like_redis(servers):
    rm, ref = servers.ringmaster(), servers.redis()
    for server in (rm, ref):
        with RespConn(server.port) as c:
            assert c.call("CONFIG", "SET", "requirepass", PASSWORD) == b"OK"
        server.password = PASSWORD
    script = [
        ["PING"],
        ["AUTH", "abc"],  # the bytes before the NUL are not the password
        ["AUTH", b"abc\x00de"],
        ["AUTH", b"abc\x00defg"],
        ["AUTH", b"default\x00", PASSWORD],  # nor is that the default user
        ["HELLO", "2", "AUTH", "default", "abc"],
        ["PING"],
        ["AUTH", PASSWORD],
        ["CONFIG", "GET", "requirepass"],
        ["AUTH", "default", PASSWORD],
    ]
    same_raw_replies(rm, ref, script)
    with RespConn(rm.port) as c:
        assert c.call_raw("AUTH", "abc") == WRONGPASS
        reply = c.call("HELLO", "2", "AUTH", "default", PASSWORD)
        assert isinstance(reply, list) and reply[0] == b"server", reply
        assert c.call("CONFIG", "GET", "requirepass") == [b"requirepass", PASSWORD]


def test_requirepass_with_nul_survives_rewrite(servers, tmp_path):
    """CONFIG REWRITE writes the password quoted with escapes (as Redis's
    sdscatrepr does); the server started again from that file has the very
    same password."""
    secret = b'p\x00\n"w\\\xe9'
    port = free_port()
    conf = write_file(tmp_path / "rm.conf",
                      'bind 127.0.0.1\nport %d\ndir "%s"\nsave ""\nlogfile ""\n'
                      % (port, tmp_path))
    server = servers.ringmaster(config_file=conf, standard=False, port=port)
    with server.raw() as c:
        assert c.call("CONFIG", "SET", "requirepass", secret) == b"OK"
        server.password = secret
        assert c.call("CONFIG", "REWRITE") == b"OK"
    text = open(conf, "rb").read()
    assert b'\nrequirepass "p\\x00\\n\\"w\\\\\\xe9"\n' in text, text
    server.stop()
    again = servers.ringmaster(config_file=conf, standard=False, port=port, password=secret)
    with RespConn(again.port) as c:
        assert c.call_raw("AUTH", "p") == WRONGPASS
        assert c.call("AUTH", secret) == b"OK"
        assert c.call("CONFIG", "GET", "requirepass") == [b"requirepass", secret]


# -- file names -----------------------------------------------------------------

DBFILENAME_SCRIPT = [
    ["CONFIG", "SET", "dbfilename", "../escape.rdb"],
    ["CONFIG", "SET", "dbfilename", "/etc/cron.d/job"],
    ["CONFIG", "SET", "dbfilename", "sub/dump.rdb"],
    ["CONFIG", "SET", "dbfilename", "a\\b.rdb"],
    ["CONFIG", "GET", "dbfilename"],
    ["CONFIG", "SET", "dbfilename", "other.rdb"],
    ["CONFIG", "GET", "dbfilename"],
]


def test_dbfilename_cannot_be_a_path_like_redis(servers):
    rm = servers.ringmaster("--enable-protected-configs", "yes")
    ref = servers.redis("--enable-protected-configs", "yes")
    same_raw_replies(rm, ref, DBFILENAME_SCRIPT)


def test_dbfilename_path_refused_at_startup(servers, tmp_path):
    port = free_port()
    conf = write_file(tmp_path / "rm.conf",
                      "bind 127.0.0.1\nport %d\ndbfilename ../escape.rdb\n" % port)
    server = servers.ringmaster(config_file=conf, standard=False, port=port, wait=False)
    server.expect_exit()
    assert server.wait_exit(10) not in (None, 0)
    log = server.log_text()
    assert "line 3" in log and "dbfilename can't be a path, just a filename" in log, log


def test_file_name_with_nul_refused_not_cut(servers, tmp_path):
    """Redis 7.0 keeps "dump" of "dump\\0.rdb" without a word; here the
    value is refused and the old one stays."""
    rm = servers.ringmaster("--enable-protected-configs", "yes")
    with rm.raw() as c:
        reply = c.call("CONFIG", "SET", "dbfilename", b"dump\x00.rdb")
        assert reply == RespError("ERR CONFIG SET failed (possibly related to argument "
                                  "'dbfilename') - argument can't contain a NUL byte"), reply
        assert c.call("CONFIG", "GET", "dbfilename") == [b"dbfilename", b"dump.rdb"]
        reply = c.call("CONFIG", "SET", "dir", b"%s\x00/elsewhere" % str(tmp_path).encode())
        assert isinstance(reply, RespError) and "NUL" in reply.message, reply
    port = free_port()
    conf = write_file(tmp_path / "nul.conf", 'port %d\nlogfile "/tmp/x\\x00y"\n' % port)
    server = servers.ringmaster(config_file=conf, standard=False, port=port, wait=False)
    server.expect_exit()
    assert server.wait_exit(10) not in (None, 0)
    assert "NUL" in server.log_text()


# -- names, filters, options ------------------------------------------------------

NAMES = [b"a\x00b", b"a\x7fb", b"caf\xc3\xa9", b"\x01", b"tab\there", b"a b", b"cr\r",
         b"ok-name~!"]


def test_client_names_printable_ascii_only_like_redis(ringmaster, redis_ref):
    script = []
    for name in NAMES:
        script += [["CLIENT", "SETNAME", name], ["CLIENT", "GETNAME"]]
        script += [["HELLO", "2", "SETNAME", name, "foo"], ["CLIENT", "GETNAME"]]
    same_raw_replies(ringmaster, redis_ref, script)


def client_addr(conn):
    info = conn.call("CLIENT", "INFO").decode()
    return re.search(r"\baddr=(\S+)", info).group(1).encode()


def test_client_kill_filters_compare_whole_argument(ringmaster):
    with ringmaster.raw() as victim, ringmaster.raw() as admin:
        addr = client_addr(victim)
        assert admin.call("CLIENT", "KILL", "ADDR", addr + b"\x00junk", "SKIPME", "no") == 0
        assert admin.call("CLIENT", "KILL", "LADDR", b"127.0.0.1\x00", "SKIPME", "no") == 0
        assert admin.call("CLIENT", "KILL", addr + b"\x00") == RespError("ERR No such client")
        assert admin.call("CLIENT", "KILL", "USER", b"default\x00x") == RespError(
            "ERR No such user 'default'")
        reply = admin.call("CLIENT", "KILL", "TYPE", b"normal\x00")
        assert isinstance(reply, RespError) and "Unknown client type" in reply.message
        reply = admin.call("CLIENT", "LIST", "TYPE", b"normal\x00")
        assert isinstance(reply, RespError) and "Unknown client type" in reply.message
        assert victim.call("PING") == b"PONG"
        assert admin.call("CLIENT", "KILL", "ADDR", addr, "SKIPME", "no") == 1


def test_option_followed_by_nul_is_no_option(ringmaster):
    """strcasecmp() would take "NX\\0junk" for NX (Redis 7.0 does)."""
    with ringmaster.raw() as c:
        assert c.call("SET", "k", "v", b"NX\x00junk") == RespError("ERR syntax error")
        assert c.call("EXISTS", "k") == 0
        assert c.call("SET", "k", "v", "NX") == b"OK"
        assert c.call("SCAN", "0", "TYPE", b"string\x00x") == [b"0", []]
        assert c.call("SCAN", "0", "TYPE", "string") == [b"0", [b"k"]]


# COMMAND LIST's pattern is matched with its length in Redis 7.0 too.
PATTERN_SCRIPT = [
    ["COMMAND", "INFO", "nosuchcommand"],
    ["COMMAND", "LIST", "FILTERBY", "PATTERN", b"get\x00*"],
    ["COMMAND", "LIST", "FILTERBY", "PATTERN", b"ge?\x00"],
]


def test_patterns_use_their_length_like_redis(ringmaster, redis_ref):
    same_raw_replies(ringmaster, redis_ref, PATTERN_SCRIPT)


def test_command_name_with_nul_is_unknown(ringmaster):
    """Redis 7.0 hashes a command or config name by its length but compares
    with strcasecmp(), so "GET\\0x" is unknown there unless the two hashes
    share a bucket (it varies with the seed): not a reference to compare
    with. Here such a name is never found."""
    with ringmaster.raw() as c:
        assert c.call("SET", "k", "v") == b"OK"
        assert c.call(b"GET\x00x", "k") == RespError(
            "ERR unknown command 'GET', with args beginning with: 'k' ")
        reply = c.call(b"FLUSHALL\x00")
        assert isinstance(reply, RespError) and "unknown command" in reply.message, reply
        assert c.call("CONFIG", b"GET\x00x", "hz") == RespError(
            "ERR unknown subcommand 'GET'. Try CONFIG HELP.")
        assert c.call("DBSIZE") == 1
        # and so are command and config names given as arguments
        assert c.call("COMMAND", "INFO", b"get\x00x") == [None]
        assert c.call("CONFIG", "GET", b"hz\x00") == []
        # Redis 7.0 matches a glob CONFIG GET pattern as a C string ("h?\\0"
        # finds hz there); here a pattern is all its bytes
        assert c.call("CONFIG", "GET", b"h?\x00") == []
        assert c.call("CONFIG", "GET", b"slowlog-max-len\x00*") == []
        assert c.call("CONFIG", "SET", b"hz\x00", "20") == RespError(
            "ERR Unknown option or number of arguments for CONFIG SET - 'hz'")
        assert c.call("CONFIG", "GET", "hz") == [b"hz", b"10"]


# -- log lines and announced addresses ------------------------------------------------

def test_debug_log_cannot_forge_a_log_line(ringmaster):
    forged = b"1:M 01 Jan 2030 00:00:00.000 # forged"
    with ringmaster.raw() as c:
        assert c.call("DEBUG", "LOG", b"hello\n" + forged + b"\x00tail") == b"OK"
        assert c.call("DEBUG", "LOG", "marker-end") == b"OK"
    assert ringmaster.wait_log("marker-end")
    log = ringmaster.log_text()
    assert "DEBUG LOG: hello\\n1:M 01 Jan 2030 00:00:00.000 # forged\\x00tail" in log, log
    assert not any(line.startswith(forged.decode()) for line in log.splitlines()), log


def test_replica_announced_address_must_be_an_address(ringmaster):
    with ringmaster.raw() as c:
        for bad in (b"10.0.0.1\r\nslave9:ip=evil", b"10.0.0.1\x00x", b"10.0.0.1,port=1",
                    b"a b"):
            reply = c.call("REPLCONF", "ip-address", bad)
            assert isinstance(reply, RespError), (bad, reply)
            assert "ip-address" in reply.message, reply
        assert c.call("REPLCONF", "ip-address", "10.0.0.1") == b"OK"
        assert c.call("REPLCONF", "ip-address", "replica-1.example") == b"OK"


# -- protected mode ----------------------------------------------------------------

def first_reply_from(port, source, dest="127.0.0.2"):
    """PING from `source` (an address of the loopback range): what the
    server sends, and whether it closed the connection."""
    import socket
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.bind((source, 0))
        sock.connect((dest, port))
        sock.sendall(b"PING\r\n")
        return rmtest.read_until_closed_or_quiet(sock, quiet=0.5)
    finally:
        sock.close()


def test_protected_mode_like_redis(servers):
    """Without a password only 127.0.0.1 and ::1 may connect over TCP, as
    Redis 7.0 decides it (127.0.0.2 is another peer); a password, or
    protected-mode no, lets everyone in."""
    rm = servers.ringmaster("--bind", "127.0.0.1", "127.0.0.2")
    ref = servers.redis("--bind", "127.0.0.1", "127.0.0.2")
    denied = {}
    for server in (rm, ref):
        data, closed = first_reply_from(server.port, "127.0.0.2")
        assert closed, (server.name, data)
        assert data.startswith(b"-DENIED Redis is running in protected mode"), data
        denied[server.name] = data
        assert first_reply_from(server.port, "127.0.0.1") == (b"+PONG\r\n", False)
        with server.raw() as c:
            assert b"rejected_connections:1\r\n" in c.call("INFO", "stats")
    assert denied["ringmaster"] == denied["redis"]
    with rm.raw() as c:
        assert c.call("CONFIG", "SET", "protected-mode", "no") == b"OK"
        assert first_reply_from(rm.port, "127.0.0.2") == (b"+PONG\r\n", False)
        assert c.call("CONFIG", "SET", "protected-mode", "yes", "requirepass", "pw") == b"OK"
        rm.password = "pw"
    data, closed = first_reply_from(rm.port, "127.0.0.2")
    assert data == b"-NOAUTH Authentication required.\r\n" and not closed, data


def test_protected_mode_lets_unix_socket_in(servers):
    import shutil
    import tempfile
    sockdir = tempfile.mkdtemp(prefix="rm-")
    try:
        path = sockdir + "/rm.sock"
        servers.ringmaster("--unixsocket", path)
        with RespConn(unix_path=path) as c:
            assert c.call("PING") == b"PONG"
    finally:
        shutil.rmtree(sockdir, ignore_errors=True)


def test_unixsocket_path_too_long_refused_not_cut(servers, tmp_path):
    """sun_path holds 107 bytes: a longer path cut to fit would put the
    socket somewhere the operator did not name."""
    import os
    import tempfile
    base = tempfile.mkdtemp(prefix="rm-")
    try:
        longdir = os.path.join(base, "d" * 100)
        os.mkdir(longdir)
        path = os.path.join(longdir, "rm.sock")
        server = servers.ringmaster("--unixsocket", path, wait=False)
        server.expect_exit()
        assert server.wait_exit(10) not in (None, 0)
        assert "path longer than 107 bytes" in server.log_text()
        assert os.listdir(longdir) == [] and sorted(os.listdir(base)) == ["d" * 100]
    finally:
        import shutil
        shutil.rmtree(base, ignore_errors=True)
