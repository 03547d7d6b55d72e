"""COMMAND introspection compared with redis-server 7.0: COMMAND INFO's ten
fields (ACL categories, tips, key specs, subcommands included), COMMAND DOCS
(facts only: summaries, complexities, history texts, key-spec notes and
replaced_by are our own words, so only their presence is compared), COMMAND
GETKEYS / GETKEYSANDFLAGS on invocations that exercise every kind of key
spec and every command's own key parser, and COMMAND LIST's filters.

Replies are read with their RESP3 types kept (map, set, array, status,
bulk), so a set sent where Redis sends an array is a difference; sets are
compared as unordered.
"""

import socket

import pytest

import rmtest

PROSE_DOC_FIELDS = {b"summary", b"complexity", b"replaced_by"}


@pytest.fixture(scope="module")
def pair(module_servers):
    return module_servers.ringmaster(), module_servers.redis()


class Typed:
    """A connection whose replies keep their RESP types."""

    def __init__(self, port, resp):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=10 * rmtest.SLOWDOWN)
        self.f = self.sock.makefile("rb")
        if resp == 3:
            self.call("HELLO", "3")

    def close(self):
        self.f.close()
        self.sock.close()

    def call(self, *args):
        self.sock.sendall(rmtest.encode_command(*args))
        return self.read()

    def read(self):
        line = self.f.readline()
        kind, body = line[:1], line[1:-2]
        if kind in (b"+", b"-"):
            return (kind.decode(), body)
        if kind == b":":
            return int(body)
        if kind == b"$":
            n = int(body)
            return None if n < 0 else self.f.read(n + 2)[:-2]
        if kind == b"_":
            return None
        n = int(body)
        if kind == b"*":
            return ("arr", [self.read() for _ in range(n)])
        if kind == b"~":
            return ("set", [self.read() for _ in range(n)])
        if kind == b"%":
            return ("map", [(self.read(), self.read()) for _ in range(n)])
        raise ValueError(line)


def fields(reply):
    """A map reply (or its RESP2 flat array) as a list of (key, value)."""
    kind, items = reply
    if kind == "map":
        return items
    assert kind == "arr" and len(items) % 2 == 0
    return list(zip(items[::2], items[1::2]))


def rebuild(reply, pairs):
    kind, items = reply
    if kind == "map":
        return ("map", pairs)
    return ("arr", [x for p in pairs for x in p])


def unordered(value):
    """Sets (and only sets) become sorted, recursively."""
    if isinstance(value, tuple) and value[0] in ("arr", "set", "map"):
        kind, items = value
        if kind == "map":
            return ("map", [(unordered(k), unordered(v)) for k, v in items])
        items = [unordered(x) for x in items]
        if kind == "set":
            items = sorted(items, key=repr)
        return (kind, items)
    return value


def blank_notes(spec):
    return rebuild(spec, [(k, b"<prose>" if k == b"notes" else v) for k, v in fields(spec)])


def shape_info(entry, keep_subs=None):
    """One COMMAND INFO entry, notes blanked, subcommands limited to
    keep_subs (the ones Ringmaster has)."""
    kind, items = entry
    items = list(items)
    skind, specs = items[8]
    items[8] = (skind, [blank_notes(s) for s in specs])
    subkind, subs = items[9]
    if keep_subs is not None:
        subs = [s for s in subs if s[1][0] in keep_subs]
        if not subs:
            subkind = items[7][0]  # an empty set (an array in RESP2)
    # Redis lists subcommands in its hash table's order, seeded at random.
    items[9] = (subkind, sorted((shape_info(s) for s in subs), key=repr))
    return unordered((kind, items))


def shape_docs(doc, keep_subs=None):
    out = []
    for k, v in fields(doc):
        if k in PROSE_DOC_FIELDS:
            assert isinstance(v, bytes) and v, k
            v = b"<prose>"
        elif k == b"history":
            hk, entries = v
            v = (hk, [("arr", [e[1][0], b"<prose>"]) for e in entries])
            for e in entries:
                assert e[1][1], "history text missing"
        elif k == b"subcommands":
            sub = sorted((n, shape_docs(d)) for n, d in fields(v)
                         if keep_subs is None or n in keep_subs)
            v = rebuild(v, sub)
        out.append((k, v))
    return unordered(rebuild(doc, out))


def our_commands(conn):
    names = conn.call("COMMAND", "LIST")[1]
    return sorted(n for n in names if b"|" not in n)


def subs_of(entry):
    return {s[1][0] for s in entry[1][9][1]}


@pytest.mark.parametrize("resp", [2, 3])
def test_command_info_matches_redis(pair, resp):
    rm, ref = (Typed(s.port, resp) for s in pair)
    try:
        names = our_commands(rm)
        ours = rm.call("COMMAND", "INFO", *names)[1]
        theirs = ref.call("COMMAND", "INFO", *names)[1]
        differ, matched = [], 0
        for name, a, b in zip(names, ours, theirs):
            assert a is not None, name
            if b is None:
                continue
            if shape_info(a) == shape_info(b, keep_subs=subs_of(a)):
                matched += 1
            else:
                differ.append(name)
        assert differ == [] and matched == len(names)
        # A subcommand asked for by its full name, and the whole table.
        for name in ("config|get", "object|freq", "xinfo|stream", "command|getkeysandflags"):
            a, b = rm.call("COMMAND", "INFO", name), ref.call("COMMAND", "INFO", name)
            assert shape_info(a[1][0]) == shape_info(b[1][0]), name
        assert rm.call("COMMAND", "INFO", "nosuch") == ("arr", [None])
        everything = rm.call("COMMAND")[1]
        assert len(everything) == rm.call("COMMAND", "COUNT") == len(names)
    finally:
        rm.close()
        ref.close()


@pytest.mark.parametrize("resp", [2, 3])
def test_command_docs_match_redis(pair, resp):
    rm, ref = (Typed(s.port, resp) for s in pair)
    try:
        names = our_commands(rm)
        subs = {}
        for entry in rm.call("COMMAND", "INFO", *names)[1]:
            subs[entry[1][0]] = subs_of(entry)
        ours = dict(fields(rm.call("COMMAND", "DOCS", *names)))
        theirs = dict(fields(ref.call("COMMAND", "DOCS", *names)))
        assert sorted(ours) == names
        differ = [n for n in names
                  if shape_docs(ours[n]) != shape_docs(theirs[n], keep_subs=subs[n])]
        assert differ == []
        # No names: every command; unknown names are left out.
        assert len(fields(rm.call("COMMAND", "DOCS"))) == len(names)
        a = rm.call("COMMAND", "DOCS", "nosuch", "get", "config|get")
        b = ref.call("COMMAND", "DOCS", "nosuch", "get", "config|get")
        assert [k for k, _ in fields(a)] == [b"get", b"config|get"]
        assert [shape_docs(d) for _, d in fields(a)] == [shape_docs(d) for _, d in fields(b)]
    finally:
        rm.close()
        ref.close()


# Every movable-key command, every kind of key spec, the commands' own key
# parsers (SORT, SET, BITFIELD, GEORADIUS, numkeys read with atoi), and the
# errors.
GETKEYS_CASES = [
    ("GET", "k"), ("SET", "k", "v"), ("SET", "k", "v", "GET"), ("SET", "k", "v", "get", "EX", "1"),
    ("SET", "k", "v", "GETX"), ("MSET", "a", "1", "b", "2"), ("MGET", "a", "b", "c"),
    ("DEL", "a", "b"), ("RENAME", "a", "b"), ("COPY", "a", "b"), ("LMOVE", "a", "b", "LEFT", "RIGHT"),
    ("BLMOVE", "a", "b", "LEFT", "RIGHT", "0"), ("BRPOPLPUSH", "a", "b", "0"),
    ("BLPOP", "a", "b", "0"), ("BZPOPMIN", "a", "b", "0"),
    ("BITOP", "AND", "d", "a", "b"), ("BITFIELD", "k", "GET", "u8", "0"),
    ("BITFIELD", "k", "SET", "u8", "0", "1"), ("BITFIELD", "k", "OVERFLOW", "SAT", "GET", "u8", "0"),
    ("BITFIELD", "k", "INCRBY", "u8"), ("BITFIELD_RO", "k", "GET", "u8", "0"),
    ("SORT", "k"), ("SORT", "k", "STORE", "d"), ("SORT", "k", "BY", "store", "STORE", "d"),
    ("SORT", "k", "LIMIT", "0", "1", "GET", "#", "STORE", "d1", "STORE", "d2"),
    ("SORT", "k", "STORE"), ("SORT_RO", "k", "BY", "w_*"),
    ("ZUNIONSTORE", "d", "2", "a", "b"), ("ZUNIONSTORE", "d", "2", "a", "b", "WEIGHTS", "1", "2"),
    ("ZUNIONSTORE", "d", "0", "a"), ("ZUNIONSTORE", "d", "3", "a", "b"),
    ("ZUNIONSTORE", "d", "2x", "a", "b"), ("ZUNIONSTORE", "d", "-1", "a"),
    ("ZINTERSTORE", "d", "1", "a"), ("ZDIFFSTORE", "d", "2", "a", "b"),
    ("ZUNION", "2", "a", "b", "WITHSCORES"), ("ZINTER", "1", "a"), ("ZDIFF", "2", "a", "b"),
    ("ZINTERCARD", "2", "a", "b", "LIMIT", "1"), ("ZINTERCARD", "5", "a", "b"),
    ("SINTERCARD", "2", "a", "b"), ("SINTERCARD", "1", "a", "LIMIT", "3"),
    ("SINTER", "a", "b"), ("SUNIONSTORE", "d", "a", "b"), ("SMOVE", "a", "b", "m"),
    ("LMPOP", "2", "a", "b", "LEFT"), ("LMPOP", "1", "a", "RIGHT", "COUNT", "2"),
    ("BLMPOP", "0", "2", "a", "b", "LEFT"), ("ZMPOP", "1", "a", "MIN"),
    ("BZMPOP", "1.5", "2", "a", "b", "MAX", "COUNT", "3"), ("BZMPOP", "0", "9", "a", "MAX"),
    ("XREAD", "STREAMS", "a", "b", "0", "0"), ("XREAD", "COUNT", "2", "STREAMS", "a", "0"),
    ("XREAD", "BLOCK", "0", "STREAMS", "a", "b", "c", "0", "0", "0"),
    ("XREAD", "STREAMS", "a", "b", "0"), ("XREAD", "COUNT", "1", "streams", "a"),
    ("XREADGROUP", "GROUP", "g", "c", "STREAMS", "a", ">"),
    ("XREADGROUP", "GROUP", "g", "c", "COUNT", "1", "NOACK", "STREAMS", "a", "b", ">", ">"),
    ("XREADGROUP", "GROUP", "streams", "c", "STREAMS", "a", ">"),
    ("XADD", "s", "*", "f", "v"), ("XGROUP", "CREATE", "s", "g", "$"),
    ("XINFO", "STREAM", "s"), ("OBJECT", "ENCODING", "k"), ("MEMORY", "USAGE", "k"),
    ("GEORADIUS", "k", "0", "0", "1", "km"), ("GEORADIUS", "k", "0", "0", "1", "km", "STORE", "d"),
    ("GEORADIUS", "k", "0", "0", "1", "km", "STORE", "d", "STOREDIST", "e"),
    ("GEORADIUS", "k", "0", "0", "1", "km", "STORE"),
    ("GEORADIUSBYMEMBER", "k", "m", "1", "km", "STOREDIST", "d"),
    ("GEOSEARCHSTORE", "d", "s", "FROMMEMBER", "m", "BYRADIUS", "1", "km"),
    ("FCALL", "f", "2", "a", "b", "x"), ("FCALL", "f", "0"), ("FCALL_RO", "f", "1", "a"),
    ("FCALL", "f", "5", "a"),
    ("LCS", "a", "b"), ("PFCOUNT", "a", "b"), ("PFMERGE", "d", "a"), ("WATCH", "a", "b"),
    ("PUBLISH", "c", "m"), ("SPUBLISH", "c", "m"),
    ("SSUBSCRIBE", "a", "b"), ("PING",), ("GET",), ("GET", "a", "b"), ("NOSUCH", "a"),
    ("ZUNIONSTORE", "d"), ("EXPIRE", "k", "10", "NX"), ("TOUCH", "a", "b"),
    ("OBJECT",), ("OBJECT", "NOSUCH", "k"), ("CONFIG", "GET", "x"), ("EXEC",),
    (b"GET\x00", "k"), ("get", "k"), ("XINFO", "STREAM"),
]


@pytest.mark.parametrize("resp", [2, 3])
def test_getkeys_matches_redis(pair, resp):
    rm, ref = (Typed(s.port, resp) for s in pair)
    try:
        differ = []
        for case in GETKEYS_CASES:
            for sub in ("GETKEYS", "GETKEYSANDFLAGS"):
                a = unordered(rm.call("COMMAND", sub, *case))
                b = unordered(ref.call("COMMAND", sub, *case))
                if a != b:
                    differ.append((sub, case, a, b))
        assert differ == []
        for sub in ("GETKEYS", "GETKEYSANDFLAGS"):
            assert rm.call("COMMAND", sub, "GET") == ref.call("COMMAND", sub, "GET")
    finally:
        rm.close()
        ref.close()


def test_getkeys_finds_movable_keys(pair):
    """The answers themselves, so a change on both sides is noticed."""
    if True:
        with pair[0].raw() as c:
            assert c.call("COMMAND", "GETKEYS", "XREAD", "COUNT", "2", "STREAMS", "a", "b", "0",
                          "0") == [b"a", b"b"]
            assert c.call("COMMAND", "GETKEYS", "ZUNIONSTORE", "d", "2", "a", "b") == \
                [b"d", b"a", b"b"]
            assert c.call("COMMAND", "GETKEYS", "SORT", "k", "STORE", "d") == [b"k", b"d"]
            assert c.call("COMMAND", "GETKEYSANDFLAGS", "SET", "k", "v", "GET") == \
                [[b"k", [b"RW", b"access", b"update"]]]
            assert c.call("COMMAND", "GETKEYS", "FCALL", "f", "0") == []
            err = c.call("COMMAND", "GETKEYS", "LMPOP", "0", "a", "LEFT")
            assert err.message == "ERR Invalid arguments specified for command"


def test_command_list_filters_match_redis(pair):
    rm, ref = pair
    with rm.raw() as a, ref.raw() as b:
        def same(*args):
            ours, theirs = a.call("COMMAND", "LIST", *args), b.call("COMMAND", "LIST", *args)
            if isinstance(ours, list):
                known = set(a.call("COMMAND", "LIST"))
                ours, theirs = sorted(ours), sorted(n for n in theirs if n in known)
            assert ours == theirs, args
            return ours
        everything = same()
        assert b"config|get" in everything and b"get" in everything
        for cat in ("read", "WRITE", "keyspace", "fast", "slow", "dangerous", "pubsub",
                    "connection", "transaction", "scripting", "blocking", "hyperloglog", "geo"):
            assert same("FILTERBY", "ACLCAT", cat), cat
        assert same("FILTERBY", "ACLCAT", "@read") == []
        # Redis reads the category as a C string.
        assert same("FILTERBY", "ACLCAT", b"read\x00x") == same("FILTERBY", "ACLCAT", "read")
        assert same("FILTERBY", "ACLCAT", "nosuch") == []
        assert same("FILTERBY", "MODULE", "x") == []
        assert same("FILTERBY", "PATTERN", "config*") == sorted(
            [b"config", b"config|get", b"config|set", b"config|resetstat", b"config|rewrite",
             b"config|help"])
        assert same("FILTERBY", "PATTERN", "nomatch", "FILTERBY", "PATTERN", "x*")
        for bad in (("FILTERBY",), ("FILTERBY", "ACLCAT"), ("FILTERBY", "FOO", "x"),
                    ("FILTERBY", "ACLCAT", "read", "extra"), ("BOGUS", "a", "b")):
            same(*bad)


def test_redis_py_command_parser_like_redis(pair):
    """redis-py's CommandsParser (what its cluster client routes with) reads
    COMMAND and asks COMMAND GETKEYS for movable keys: the same answers."""
    from redis.commands.parser import CommandsParser

    lines = [("XREAD", "COUNT", "2", "STREAMS", "a", "b", "0", "0"),
             ("XREADGROUP", "GROUP", "g", "c", "STREAMS", "s", ">"),
             ("ZUNIONSTORE", "d", "2", "x", "y"), ("SORT", "k", "STORE", "d"),
             ("LMPOP", "2", "a", "b", "LEFT"), ("FCALL", "f", "1", "k"),
             ("GEORADIUS", "k", "0", "0", "1", "km", "STORE", "d"), ("MSET", "a", "1", "b", "2"),
             ("GET", "k"), ("OBJECT", "ENCODING", "k")]
    answers = []
    for server in pair:
        r = server.client()
        parser = CommandsParser(r)
        answers.append([parser.get_keys(r, *line) for line in lines])
        r.close()
    assert answers[0] == answers[1]
    assert answers[0][0] == ["a", "b"] and answers[0][3] == ["k", "d"]


def test_getkeys_random_lines_match_redis(pair):
    """Seeded random argument lists for every command (words that are
    keywords somewhere, numbers, malformed numkeys): GETKEYSANDFLAGS gives
    what redis-server gives, errors included."""
    import random

    vocab = ["0", "1", "2", "3", "-1", "x", "k", "STREAMS", "STORE", "STOREDIST", "GET",
             "LIMIT", "BY", "GROUP", "COUNT", "BLOCK", "NOACK", "KEYS", "WEIGHTS", "SET",
             "INCRBY", "OVERFLOW", "u8", "2x", ">", "$"]
    with pair[0].raw() as a, pair[1].raw() as b:
        names = [n.decode() for n in a.call("COMMAND", "LIST")]
        for seed in rmtest.diff_seeds([1, 2]):
            rnd = random.Random(seed)
            differ = []
            for _ in range(rmtest.scaled(1500)):
                line = rnd.choice(names).split("|")
                line += [rnd.choice(vocab) for _ in range(rnd.randint(0, 9))]
                ours = a.call("COMMAND", "GETKEYSANDFLAGS", *line)
                theirs = b.call("COMMAND", "GETKEYSANDFLAGS", *line)
                if isinstance(ours, list) and isinstance(theirs, list):
                    ours = [(k, sorted(f)) for k, f in ours]
                    theirs = [(k, sorted(f)) for k, f in theirs]
                if ours != theirs:
                    differ.append((line, ours, theirs))
            assert differ == [], "seed %d" % seed
