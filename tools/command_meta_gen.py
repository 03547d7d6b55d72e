#!/usr/bin/python3
"""Dev-time tool: write core/command_meta_data.c, the facts COMMAND INFO and
COMMAND DOCS report for each command Ringmaster implements (ACL categories,
tips, key specs, group, since, doc flags, argument trees), read from a
running redis-server 7.0 and written in Ringmaster's own line format (see
core/command_meta.c for the grammar). Prose (summaries, complexity, history
text, key-spec notes, replaced_by) is not taken: it lives, hand-written, in
core/command_prose.c.

usage: command_meta_gen.py REDIS_PORT RINGMASTER_PORT > core/command_meta_data.c
"""
import sys

sys.path.insert(0, __file__.rsplit("/", 2)[0] + "/tests/integration")
import rmtest  # noqa: E402


def pairs(flat):
    return dict(zip(flat[::2], flat[1::2]))


def s(b):
    v = b.decode() if isinstance(b, bytes) else str(b)
    assert v and " " not in v and '"' not in v and "\\" not in v, v
    return v


def spec_line(spec):
    m = pairs(spec)
    bs, fk = pairs(m[b"begin_search"]), pairs(m[b"find_keys"])
    bsp, fkp = pairs(bs[b"spec"]), pairs(fk[b"spec"])
    out = [",".join(s(f) for f in m[b"flags"]) or "-"]
    if bs[b"type"] == b"index":
        out.append("index:%d" % bsp[b"index"])
    elif bs[b"type"] == b"keyword":
        out.append("keyword:%s,%d" % (s(bsp[b"keyword"]), bsp[b"startfrom"]))
    else:
        out.append(s(bs[b"type"]))
    if fk[b"type"] == b"range":
        out.append("range:%d,%d,%d" % (fkp[b"lastkey"], fkp[b"keystep"], fkp[b"limit"]))
    elif fk[b"type"] == b"keynum":
        out.append("keynum:%d,%d,%d" % (fkp[b"keynumidx"], fkp[b"firstkey"], fkp[b"keystep"]))
    else:
        out.append(s(fk[b"type"]))
    return " ".join(out)


ARG_ORDER = [b"name", b"type", b"key_spec_index", b"token", b"since", b"deprecated_since",
             b"flags", b"arguments"]


def arg_lines(args, depth, out):
    for a in args:
        m = pairs(a)
        assert set(m) <= set(ARG_ORDER), m.keys()
        assert [k for k in a[::2]] == [k for k in ARG_ORDER if k in m], a[::2]
        words = [s(m[b"name"]), s(m[b"type"])]
        if b"key_spec_index" in m:
            words.append("key:%d" % m[b"key_spec_index"])
        if b"token" in m:
            words.append("token:%s" % s(m[b"token"]))
        if b"since" in m:
            words.append("since:%s" % s(m[b"since"]))
        if b"deprecated_since" in m:
            words.append("deprecated:%s" % s(m[b"deprecated_since"]))
        words += [s(f) for f in m.get(b"flags", [])]
        out.append(" " * (1 + 2 * depth) + "arg " + " ".join(words))
        arg_lines(m.get(b"arguments", []), depth + 1, out)


def record(info, doc, out):
    name = s(info[0])
    out.append("=" + name)
    if info[6]:
        out.append(" acl " + " ".join(s(a)[1:] for a in info[6]))
    if info[7]:
        out.append(" tips " + " ".join(s(t) for t in info[7]))
    for spec in info[8]:
        out.append(" spec " + spec_line(spec))
    d = pairs(doc)
    out.append(" doc %s %s" % (s(d[b"group"]), s(d[b"since"])))
    if b"doc_flags" in d:
        out.append(" docflags " + " ".join(s(f) for f in d[b"doc_flags"]))
    if b"deprecated_since" in d:
        out.append(" deprecated " + s(d[b"deprecated_since"]))
    if b"history" in d:
        out.append(" history " + " ".join(s(h[0]) for h in d[b"history"]))
    arg_lines(d.get(b"arguments", []), 0, out)
    subdocs = pairs(d.get(b"subcommands", []))
    for sub in sorted(info[9], key=lambda x: x[0]):
        if sub[0] in ours_subs.get(name, ()):
            record(sub, subdocs[sub[0]], out)


ref = rmtest.RespConn(int(sys.argv[1]))
ours = rmtest.RespConn(int(sys.argv[2]))
names = sorted(n.decode() for n in ours.call("COMMAND", "LIST") if b"|" not in n)
ours_subs = {}
for info in ours.call("COMMAND", "INFO", *names):
    ours_subs[info[0].decode()] = {sub[0] for sub in info[9]}
lines = []
docs = pairs(ref.call("COMMAND", "DOCS", *names))
for name, info in zip(names, ref.call("COMMAND", "INFO", *names)):
    if info is not None:
        record(info, docs[name.encode()], lines)

print("/* command_meta_data: the facts of COMMAND INFO and COMMAND DOCS for every")
print(" * command, in the line format core/command_meta.c parses. Written by")
print(" * tools/command_meta_gen.py from a redis-server 7.0 at development time;")
print(" * the prose is in command_prose.c. */")
print('#include "core/command_meta.h"\n')
print("const char command_meta_facts[] =")
for ln in lines:
    print('    "%s\\n"' % ln)
print("    ;")
