/* stream_cmds: XADD, XDEL, XTRIM, XSETID, XLEN, XRANGE, XREVRANGE, and the
 * helpers every stream command file shares (stream_cmds.h).
 *
 * Checks come in Redis 7.0's order, with its error strings: options and
 * IDs are parsed before the key is looked up, so a bad ID on a missing key
 * is still an error. Writes are propagated in the form that makes a
 * replica end up with the same stream whatever its clock and node limits:
 * XADD with the ID it generated (never `*` or `ms-*`), and an approximate
 * trim (`~`, LIMIT) as an exact one to the length or first ID it left
 * (MAXLEN = <length> / MINID = <first id>). A command from our master is
 * applied as sent, without LIMIT checks, as Redis does for its master. */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "core/blocking.h"
#include "core/commands.h"
#include "core/db.h"
#include "core/mem.h"
#include "core/notify.h"
#include "core/reply.h"
#include "core/stream_cmds.h"
#include "core/util.h"

/* ---- shared helpers ---------------------------------------------------------- */

static stream *lookup(client *c, const dstr key, const char *missing, int write) {
    obj *o = write ? db_lookup_write(c->srv, c->db, key) : db_lookup_read(c->srv, c->db, key);
    if (!o) {
        if (missing) reply_canned(c, missing);
        return NULL;
    }
    if (o->type != OBJ_STREAM) {
        reply_error(c, ERR_WRONGTYPE);
        return NULL;
    }
    return o->ptr;
}

stream *xs_lookup_read(client *c, const dstr key, const char *missing) {
    return lookup(c, key, missing, 0);
}

stream *xs_lookup_write_or_reply(client *c, const dstr key, const char *missing) {
    return lookup(c, key, missing, 1);
}

obj *xs_lookup_write(client *c, const dstr key, int *wrongtype) {
    obj *o = db_lookup_write(c->srv, c->db, key);
    *wrongtype = 0;
    if (o && o->type != OBJ_STREAM) {
        reply_error(c, ERR_WRONGTYPE);
        *wrongtype = 1;
        return NULL;
    }
    return o;
}

int xs_parse_id(client *c, const dstr arg, stream_id *id, uint64_t missing_seq, int strict,
                int *seq_given) {
    if (!stream_id_parse(arg, dstr_len(arg), id, missing_seq, strict, seq_given)) {
        reply_error(c, ERR_INVALID_ID);
        return -1;
    }
    return 0;
}

void xs_reply_id(client *c, const stream_id *id) {
    char buf[48];
    int n = stream_id_fmt(buf, id);
    reply_bulk(c, buf, (size_t)n);
}

void xs_reply_entry(client *c, stream_iter *it, const stream_id *id, int64_t nf) {
    reply_array(c, 2);
    xs_reply_id(c, id);
    reply_array(c, nf * 2);
    while (nf--) {
        const char *f, *v;
        size_t fl, vl;
        stream_iter_field(it, &f, &fl, &v, &vl);
        reply_bulk(c, f, fl);
        reply_bulk(c, v, vl);
    }
}

void xs_modified(client *c, const dstr key, const char *event, long long dirty) {
    db_signal_modified(c->srv, c->db, key);
    notify_event(c->srv, NOTIFY_STREAM, event, key, c->db->id);
    server_dirty(c, dirty);
}

int xs_from_master(const client *c) { return (c->flags & CLIENT_MASTER) != 0; }

/* ---- trimming arguments (streamParseAddOrTrimArgsOrReply) ------------------- */

typedef struct add_args {
    stream_trim_args trim;
    int trim_arg; /* index of the MAXLEN count / MINID id */
    int id_given, seq_given, nomkstream;
    stream_id id;
} add_args;

/* Returns the index of the ID argument (XADD) or of the last option
 * (XTRIM), -1 after replying an error. */
static int parse_add_trim(client *c, add_args *a, int xadd) {
    memset(a, 0, sizeof(*a));
    int i = 2, limit_given = 0;
    for (; i < c->argc; i++) {
        int more = c->argc - 1 - i;
        const dstr opt = c->argv[i];
        if (xadd && dstr_len(opt) == 1 && opt[0] == '*') break;
        int maxlen = arg_is(opt, "maxlen"), minid = arg_is(opt, "minid");
        if ((maxlen || minid) && more) {
            if (a->trim.strategy != TRIM_NONE) {
                reply_error(c, "ERR syntax error, MAXLEN and MINID options at the same time are "
                               "not compatible");
                return -1;
            }
            a->trim.approx = 0;
            const dstr next = c->argv[i + 1];
            if (more >= 2 && dstr_len(next) == 1 && (next[0] == '~' || next[0] == '=')) {
                a->trim.approx = next[0] == '~';
                i++;
            }
            if (maxlen) {
                if (arg_ll(c, c->argv[i + 1], &a->trim.maxlen) < 0) return -1;
                if (a->trim.maxlen < 0) {
                    reply_error(c, "ERR The MAXLEN argument must be >= 0.");
                    return -1;
                }
            } else if (xs_parse_id(c, c->argv[i + 1], &a->trim.minid, 0, 1, NULL) < 0) {
                return -1;
            }
            i++;
            a->trim.strategy = maxlen ? TRIM_MAXLEN : TRIM_MINID;
            a->trim_arg = i;
        } else if (arg_is(opt, "limit") && more) {
            if (arg_ll(c, c->argv[i + 1], &a->trim.limit) < 0) return -1;
            if (a->trim.limit < 0) {
                reply_error(c, "ERR The LIMIT argument must be >= 0.");
                return -1;
            }
            limit_given = 1;
            i++;
        } else if (xadd && arg_is(opt, "nomkstream")) {
            a->nomkstream = 1;
        } else if (xadd) {
            if (xs_parse_id(c, opt, &a->id, 0, 1, &a->seq_given) < 0) return -1;
            a->id_given = 1;
            break;
        } else {
            reply_error(c, ERR_SYNTAX);
            return -1;
        }
    }
    if (a->trim.limit && a->trim.strategy == TRIM_NONE) {
        reply_error(c, "ERR syntax error, LIMIT cannot be used without specifying a trimming "
                       "strategy");
        return -1;
    }
    if (!xadd && a->trim.strategy == TRIM_NONE) {
        reply_error(c, "ERR syntax error, XTRIM must be called with a trimming strategy");
        return -1;
    }
    if (xs_from_master(c)) {
        a->trim.limit = 0;
    } else if (limit_given) {
        if (!a->trim.approx) {
            reply_error(c, "ERR syntax error, LIMIT cannot be used without the special ~ option");
            return -1;
        }
    } else if (a->trim.approx) {
        long long l = 100 * c->srv->cfg.stream_node_max_entries;
        a->trim.limit = (l <= 0 || l > 10000) ? 10000 : l;
    } else {
        a->trim.limit = 0;
    }
    return i;
}

/* After an approximate trim, the exact form for replicas and the AOF:
 * "~" becomes "=", and the count or ID what the trim left. */
static void rewrite_trim(client *c, const stream *s, const add_args *a) {
    int idx = a->trim_arg;
    dstr_free(c->argv[idx - 1]);
    c->argv[idx - 1] = dstr_new("=", 1);
    dstr_free(c->argv[idx]);
    if (a->trim.strategy == TRIM_MAXLEN) {
        char buf[32];
        int n = util_ll_to_str(buf, sizeof(buf), (long long)s->length);
        c->argv[idx] = dstr_new(buf, (size_t)n);
    } else {
        c->argv[idx] = stream_id_dstr(&s->first_id);
    }
}

/* ---- writes ---------------------------------------------------------------------- */

static void cmd_xadd(client *c) {
    add_args a;
    int idpos = parse_add_trim(c, &a, 1);
    if (idpos < 0) return;
    int fpos = idpos + 1;
    if (c->argc - fpos < 2 || (c->argc - fpos) % 2 == 1) {
        reply_error(c, "ERR wrong number of arguments for 'xadd' command");
        return;
    }
    if (a.id_given && a.seq_given && a.id.ms == 0 && a.id.seq == 0) {
        reply_error(c, "ERR The ID specified in XADD must be greater than 0-0");
        return;
    }
    int wrongtype;
    obj *o = xs_lookup_write(c, c->argv[1], &wrongtype);
    if (wrongtype) return;
    if (!o) {
        if (a.nomkstream) {
            reply_null(c);
            return;
        }
        o = stream_obj_new();
        db_add(c->srv, c->db, c->argv[1], o);
    }
    stream *s = o->ptr;
    if (s->last_id.ms == UINT64_MAX && s->last_id.seq == UINT64_MAX) {
        reply_error(c, "ERR The stream has exhausted the last possible ID, unable to add more "
                       "items");
        return;
    }
    stream_id id;
    const config *cfg = &c->srv->cfg;
    int rc = stream_append(s, c->argv + fpos, (c->argc - fpos) / 2, &id,
                           a.id_given ? &a.id : NULL, a.seq_given, cfg->stream_node_max_bytes,
                           cfg->stream_node_max_entries);
    if (rc < 0) {
        if (rc == -1)
            reply_error(c, "ERR The ID specified in XADD is equal or smaller than the target "
                           "stream top item");
        else
            reply_error(c, "ERR Elements are too large to be stored");
        return;
    }
    xs_reply_id(c, &id);
    xs_modified(c, c->argv[1], "xadd", 1);
    if (a.trim.strategy != TRIM_NONE) {
        if (stream_trim(s, &a.trim))
            notify_event(c->srv, NOTIFY_STREAM, "xtrim", c->argv[1], c->db->id);
        if (a.trim.approx) rewrite_trim(c, s, &a);
    }
    if (!a.id_given || !a.seq_given) {
        dstr_free(c->argv[idpos]);
        c->argv[idpos] = stream_id_dstr(&id);
    }
    blocking_signal_key(c->srv, c->db, c->argv[1]);
}

static void cmd_xtrim(client *c) {
    add_args a;
    if (parse_add_trim(c, &a, 0) < 0) return;
    stream *s = xs_lookup_write_or_reply(c, c->argv[1], ":0\r\n");
    if (!s) return;
    int64_t deleted = stream_trim(s, &a.trim);
    if (deleted) {
        notify_event(c->srv, NOTIFY_STREAM, "xtrim", c->argv[1], c->db->id);
        if (a.trim.approx) rewrite_trim(c, s, &a);
        db_signal_modified(c->srv, c->db, c->argv[1]);
        server_dirty(c, deleted);
    }
    reply_int(c, deleted);
}

static void cmd_xdel(client *c) {
    stream *s = xs_lookup_write_or_reply(c, c->argv[1], ":0\r\n");
    if (!s) return;
    /* Every ID is checked before any is deleted: all or nothing. */
    int n = c->argc - 2;
    stream_id *ids = mem_alloc(sizeof(stream_id) * (size_t)n);
    for (int j = 0; j < n; j++) {
        if (xs_parse_id(c, c->argv[j + 2], &ids[j], 0, 1, NULL) < 0) {
            mem_free(ids);
            return;
        }
    }
    long long deleted = 0;
    int first_entry = 0;
    for (int j = 0; j < n; j++) {
        if (!stream_delete_id(s, &ids[j])) continue;
        if (stream_id_cmp(&ids[j], &s->first_id) == 0) first_entry = 1;
        if (stream_id_cmp(&ids[j], &s->max_deleted_id) > 0) s->max_deleted_id = ids[j];
        deleted++;
    }
    mem_free(ids);
    if (deleted) {
        if (s->length == 0) s->first_id.ms = s->first_id.seq = 0;
        else if (first_entry) stream_edge_id(s, 1, &s->first_id);
        xs_modified(c, c->argv[1], "xdel", deleted);
    }
    reply_int(c, deleted);
}

static void cmd_xsetid(client *c) {
    stream_id id, max_xdel = {0, 0};
    long long entries_added = -1;
    if (xs_parse_id(c, c->argv[2], &id, 0, 1, NULL) < 0) return;
    for (int i = 3; i < c->argc;) {
        int more = c->argc - 1 - i;
        if (arg_is(c->argv[i], "entriesadded") && more) {
            if (arg_ll(c, c->argv[i + 1], &entries_added) < 0) return;
            if (entries_added < 0) {
                reply_error(c, "ERR entries_added must be positive");
                return;
            }
            i += 2;
        } else if (arg_is(c->argv[i], "maxdeletedid") && more) {
            if (xs_parse_id(c, c->argv[i + 1], &max_xdel, 0, 1, NULL) < 0) return;
            if (stream_id_cmp(&id, &max_xdel) < 0) {
                reply_error(c, "ERR The ID specified in XSETID is smaller than the provided "
                               "max_deleted_entry_id");
                return;
            }
            i += 2;
        } else {
            reply_error(c, ERR_SYNTAX);
            return;
        }
    }
    stream *s = xs_lookup_write_or_reply(c, c->argv[1], "-ERR no such key\r\n");
    if (!s) return;
    if (s->length > 0) {
        stream_id top;
        stream_edge_id(s, 0, &top);
        if (stream_id_cmp(&id, &top) < 0) {
            reply_error(c, "ERR The ID specified in XSETID is smaller than the target stream top "
                           "item");
            return;
        }
        if (entries_added != -1 && s->length > (uint64_t)entries_added) {
            reply_error(c, "ERR The entries_added specified in XSETID is smaller than the "
                           "target stream length");
            return;
        }
    }
    s->last_id = id;
    if (entries_added != -1) s->entries_added = (uint64_t)entries_added;
    if (max_xdel.ms || max_xdel.seq) s->max_deleted_id = max_xdel;
    reply_ok(c);
    xs_modified(c, c->argv[1], "xsetid", 1);
}

/* ---- reads ------------------------------------------------------------------------ */

static void cmd_xlen(client *c) {
    stream *s = xs_lookup_read(c, c->argv[1], ":0\r\n");
    if (s) reply_int(c, (long long)s->length);
}

int xs_parse_interval(client *c, const dstr arg, stream_id *id, int *excl, uint64_t miss) {
    size_t len = dstr_len(arg);
    *excl = len > 1 && arg[0] == '(';
    int ok = *excl ? stream_id_parse(arg + 1, len - 1, id, miss, 1, NULL)
                   : stream_id_parse(arg, len, id, miss, 0, NULL);
    if (!ok) reply_error(c, ERR_INVALID_ID);
    return ok ? 0 : -1;
}

static void xrange_generic(client *c, int rev) {
    stream_id start, end;
    int sx, ex;
    long long count = -1;
    if (xs_parse_interval(c, c->argv[rev ? 3 : 2], &start, &sx, 0) < 0) return;
    if (sx && stream_id_incr(&start) < 0) {
        reply_error(c, "ERR invalid start ID for the interval");
        return;
    }
    if (xs_parse_interval(c, c->argv[rev ? 2 : 3], &end, &ex, UINT64_MAX) < 0) return;
    if (ex && stream_id_decr(&end) < 0) {
        reply_error(c, "ERR invalid end ID for the interval");
        return;
    }
    for (int j = 4; j < c->argc; j++) {
        if (arg_is(c->argv[j], "count") && c->argc - j - 1 >= 1) {
            if (arg_ll(c, c->argv[j + 1], &count) < 0) return;
            if (count < 0) count = 0;
            j++;
        } else {
            reply_error(c, ERR_SYNTAX);
            return;
        }
    }
    stream *s = xs_lookup_read(c, c->argv[1], "*0\r\n");
    if (!s) return;
    if (count == 0) {
        reply_null_array(c);
        return;
    }
    xs_reply_range(c, s, &start, &end, count == -1 ? 0 : (size_t)count, rev, NULL);
}

static void cmd_xrange(client *c) { xrange_generic(c, 0); }
static void cmd_xrevrange(client *c) { xrange_generic(c, 1); }

/* ---- registration ------------------------------------------------------------------ */

void cmd_xgroup_create(client *c);
void cmd_xgroup_setid(client *c);
void cmd_xgroup_destroy(client *c);
void cmd_xgroup_createconsumer(client *c);
void cmd_xgroup_delconsumer(client *c);
void cmd_xgroup_help(client *c);
void cmd_xread(client *c);
void cmd_xack(client *c);
void cmd_xclaim(client *c);
void cmd_xautoclaim(client *c);
void cmd_xpending(client *c);
void cmd_xinfo_stream(client *c);
void cmd_xinfo_groups(client *c);
void cmd_xinfo_consumers(client *c);
void cmd_xinfo_help(client *c);

#define W CMD_WRITE
#define R CMD_READONLY
#define D CMD_DENYOOM
#define F CMD_FAST
#define B CMD_BLOCKING
#define CMD(n, p, a, f, fk, lk, st) COMMAND_ROW(n, p, a, f, fk, lk, st)
#define CMDS(n, a, f, subs) COMMAND_WITH_SUBS(n, a, f, subs)
#define END COMMAND_END

static command xgroup_subs[] = {
    CMD("xgroup|create", cmd_xgroup_create, -5, W | D, 2, 2, 1),
    CMD("xgroup|setid", cmd_xgroup_setid, -5, W, 2, 2, 1),
    CMD("xgroup|destroy", cmd_xgroup_destroy, 4, W, 2, 2, 1),
    CMD("xgroup|createconsumer", cmd_xgroup_createconsumer, 5, W | D, 2, 2, 1),
    CMD("xgroup|delconsumer", cmd_xgroup_delconsumer, 5, W, 2, 2, 1),
    CMD("xgroup|help", cmd_xgroup_help, 2, CMD_LOADING | CMD_STALE, 0, 0, 0),
    END,
};

static command xinfo_subs[] = {
    CMD("xinfo|stream", cmd_xinfo_stream, -3, R, 2, 2, 1),
    CMD("xinfo|groups", cmd_xinfo_groups, 3, R, 2, 2, 1),
    CMD("xinfo|consumers", cmd_xinfo_consumers, 4, R, 2, 2, 1),
    CMD("xinfo|help", cmd_xinfo_help, 2, CMD_LOADING | CMD_STALE, 0, 0, 0),
    END,
};

static command stream_commands[] = {
    CMD("xadd", cmd_xadd, -5, W | D | F, 1, 1, 1),
    CMD("xtrim", cmd_xtrim, -4, W, 1, 1, 1),
    CMD("xdel", cmd_xdel, -3, W | F, 1, 1, 1),
    CMD("xsetid", cmd_xsetid, -3, W | D | F, 1, 1, 1),
    CMD("xlen", cmd_xlen, 2, R | F, 1, 1, 1),
    CMD("xrange", cmd_xrange, -4, R, 1, 1, 1),
    CMD("xrevrange", cmd_xrevrange, -4, R, 1, 1, 1),
    CMD("xread", cmd_xread, -4, R | B | CMD_MOVABLE_KEYS, 0, 0, 0),
    CMD("xreadgroup", cmd_xread, -7, W | B | CMD_MOVABLE_KEYS, 0, 0, 0),
    CMD("xack", cmd_xack, -4, W | F, 1, 1, 1),
    CMD("xclaim", cmd_xclaim, -6, W | F, 1, 1, 1),
    CMD("xautoclaim", cmd_xautoclaim, -6, W | F, 1, 1, 1),
    CMD("xpending", cmd_xpending, -3, R, 1, 1, 1),
    CMDS("xgroup", -2, 0, xgroup_subs),
    CMDS("xinfo", -2, 0, xinfo_subs),
    END,
};

void t_stream_register(void) {
    stream_register_type();
    commands_register_table(stream_commands);
}
