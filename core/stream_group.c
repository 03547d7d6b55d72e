/* stream_group: consumer groups. XGROUP, XREAD and XREADGROUP (blocking
 * included), XACK, XCLAIM, XAUTOCLAIM, XPENDING.
 *
 * Replication follows Redis 7.0 exactly, because a replica must end with
 * the same PEL without re-running anything that depends on time or on who
 * read what: XREADGROUP, XCLAIM and XAUTOCLAIM are never propagated as
 * themselves. Each NACK they create, move or drop is propagated as
 *   XCLAIM <key> <group> <consumer> 0 <id> TIME <ms> RETRYCOUNT <n> FORCE
 *          JUSTID LASTID <group last id>
 * a consumer XREADGROUP creates as XGROUP CREATECONSUMER, and a move of the
 * group's last ID that no XCLAIM carried (XREADGROUP ... NOACK; XCLAIM's
 * LASTID) as
 *   XGROUP SETID <key> <group> <last id> ENTRIESREAD <n>
 * several of them in one command going out wrapped in MULTI/EXEC. The
 * XCLAIM form does not carry entries_read, so a replica's counter can lag
 * its master's (XINFO's entries-read, lag): that is Redis 7.0's behaviour
 * too, and a Ringmaster replica matches a redis-server replica there.
 *
 * A blocked XREAD/XREADGROUP is re-executed when its key is signalled (see
 * blocking.h): before blocking, an XREAD's `$` is rewritten to the stream's
 * last ID at that moment, so the re-execution waits for entries after it
 * as Redis does, not after whatever the last ID has become. */
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "core/blocking.h"
#include "core/commands.h"
#include "core/db.h"
#include "core/mem.h"
#include "core/notify.h"
#include "core/propagate.h"
#include "core/reply.h"
#include "core/stream_cmds.h"
#include "core/util.h"

/* ---- propagation ------------------------------------------------------------ */

void xs_propagate_xclaim(client *c, const dstr key, const stream_group *g, const dstr groupname,
                         const stream_id *id, const stream_nack *n) {
    char t[32], r[32];
    util_ll_to_str(t, sizeof(t), n->delivery_time);
    util_ll_to_str(r, sizeof(r), (long long)n->delivery_count);
    dstr argv[14];
    argv[0] = dstr_from("XCLAIM");
    argv[1] = dstr_dup(key);
    argv[2] = dstr_dup(groupname);
    argv[3] = dstr_dup(n->consumer->name);
    argv[4] = dstr_from("0");
    argv[5] = stream_id_dstr(id);
    argv[6] = dstr_from("TIME");
    argv[7] = dstr_from(t);
    argv[8] = dstr_from("RETRYCOUNT");
    argv[9] = dstr_from(r);
    argv[10] = dstr_from("FORCE");
    argv[11] = dstr_from("JUSTID");
    argv[12] = dstr_from("LASTID");
    argv[13] = stream_id_dstr(&g->last_id);
    propagate_add(c->srv, c->db->id, argv, 14);
    for (int i = 0; i < 14; i++) dstr_free(argv[i]);
}

void xs_propagate_setid(client *c, const dstr key, const stream_group *g, const dstr groupname) {
    char er[32];
    util_ll_to_str(er, sizeof(er), g->entries_read);
    dstr argv[7] = {dstr_from("XGROUP"), dstr_from("SETID"), dstr_dup(key), dstr_dup(groupname),
                    stream_id_dstr(&g->last_id), dstr_from("ENTRIESREAD"), dstr_from(er)};
    propagate_add(c->srv, c->db->id, argv, 7);
    for (int i = 0; i < 7; i++) dstr_free(argv[i]);
}

stream_consumer *xs_consumer_get(client *c, stream_group *g, const dstr name, const dstr key,
                                 int *created) {
    stream_consumer *cons = stream_consumer_find(g, name, dstr_len(name));
    if (created) *created = 0;
    if (cons) return cons;
    cons = stream_consumer_create(g, name, dstr_len(name), util_ms_time());
    notify_event(c->srv, NOTIFY_STREAM, "xgroup-createconsumer", key, c->db->id);
    server_dirty(c, 1);
    if (created) *created = 1;
    return cons;
}

/* XREADGROUP's consumer: a new one is propagated as XGROUP CREATECONSUMER
 * (XCLAIM's are not: the XCLAIM it propagates names the consumer). */
static stream_consumer *reader_get(client *c, stream_group *g, const dstr name,
                                  const dstr key, const dstr groupname) {
    int created;
    stream_consumer *cons = xs_consumer_get(c, g, name, key, &created);
    if (created) {
        dstr argv[5] = {dstr_from("XGROUP"), dstr_from("CREATECONSUMER"), dstr_dup(key),
                        dstr_dup(groupname), dstr_dup(name)};
        propagate_add(c->srv, c->db->id, argv, 5);
        for (int i = 0; i < 5; i++) dstr_free(argv[i]);
    }
    return cons;
}

void xs_reply_nogroup(client *c, const dstr key, const dstr group) {
    reply_errorf(c, "NOGROUP No such key '%s' or consumer group '%s'", key, group);
}

/* ---- ranges ------------------------------------------------------------------- */

/* One entry by ID (the PEL walks); 0 when it no longer exists. */
int xs_reply_one(client *c, stream *s, const stream_id *id) {
    stream_iter it;
    stream_id got;
    int64_t nf;
    stream_iter_start(&it, s, id, id, 0);
    if (!stream_iter_next(&it, &got, &nf)) return 0;
    xs_reply_entry(c, &it, &got, nf);
    return 1;
}

int xs_entry_exists(stream *s, const stream_id *id) {
    stream_iter it;
    stream_id got;
    int64_t nf;
    stream_iter_start(&it, s, id, id, 0);
    return stream_iter_next(&it, &got, &nf);
}

/* XREADGROUP with an ID other than ">": the consumer's own history. */
size_t xs_reply_history(client *c, stream *s, const stream_id *start, size_t count,
                            stream_consumer *cons) {
    size_t handle = reply_defer_len(c), n = 0;
    long long now = util_ms_time();
    for (size_t i = stream_pel_lower(&cons->pel, start); i < cons->pel.n; i++) {
        if (count && n >= count) break;
        stream_nack *nk = cons->pel.v[i];
        if (!xs_reply_one(c, s, &nk->id)) {
            reply_array(c, 2);
            xs_reply_id(c, &nk->id);
            reply_null_array(c);
        } else {
            nk->delivery_time = now;
            nk->delivery_count++;
        }
        n++;
    }
    reply_set_deferred_len(c, handle, (long long)n);
    return n;
}

size_t xs_reply_range(client *c, stream *s, const stream_id *start, const stream_id *end,
                      size_t count, int rev, xs_group_ctx *g) {
    size_t handle = reply_defer_len(c), n = 0;
    int propagate_last = 0;
    long long now = util_ms_time();
    stream_iter it;
    stream_id id;
    int64_t nf;
    stream_iter_start(&it, s, start, end, rev);
    while (stream_iter_next(&it, &id, &nf)) {
        stream_group *grp = g ? g->group : NULL;
        if (grp && stream_id_cmp(&id, &grp->last_id) > 0) {
            if (grp->entries_read != STREAM_ENTRIES_READ_INVALID &&
                !stream_range_has_tombstones(s, &id, NULL))
                grp->entries_read++;
            else if (s->entries_added)
                grp->entries_read = stream_estimate_distance(s, &id);
            grp->last_id = id;
            propagate_last = 1;
        }
        xs_reply_entry(c, &it, &id, nf);
        if (grp && !g->noack) {
            stream_nack *nk = stream_pel_find(&grp->pel, &id);
            if (!nk) {
                nk = stream_nack_add(grp, g->consumer, &id, now);
            } else {
                stream_nack_move(nk, g->consumer);
                nk->delivery_time = now;
                nk->delivery_count = 1;
            }
            xs_propagate_xclaim(c, g->key, grp, g->groupname, &id, nk);
        } else if (grp && propagate_last) {
            /* Redis 7.0 sends this once per entry from the first one that
             * moved the last ID on (the flag is never cleared). */
            xs_propagate_setid(c, g->key, grp, g->groupname);
        }
        n++;
        if (count && count == n) break;
    }
    reply_set_deferred_len(c, handle, (long long)n);
    return n;
}

/* ---- XGROUP --------------------------------------------------------------------- */

static void subcommand_syntax(client *c) {
    reply_errorf(c, "ERR unknown subcommand or wrong number of arguments for '%.128s'. Try "
                    "XGROUP HELP.",
                 c->argv[1]);
}

/* The shared prologue of the subcommands that name a key and a group:
 * key type, key existence (unless MKSTREAM), and the group where needed. */
static int xgroup_prologue(client *c, stream **s, stream_group **g, int mkstream,
                           int need_group) {
    int wrongtype;
    obj *o = xs_lookup_write(c, c->argv[2], &wrongtype);
    if (wrongtype) return -1;
    *s = o ? o->ptr : NULL;
    *g = NULL;
    if (!*s && !mkstream) {
        reply_error(c, "ERR The XGROUP subcommand requires the key to exist. Note that for "
                       "CREATE you may want to use the MKSTREAM option to create an empty "
                       "stream automatically.");
        return -1;
    }
    if (*s) *g = stream_group_find(*s, c->argv[3], dstr_len(c->argv[3]));
    if (need_group && !*g) {
        reply_errorf(c, "NOGROUP No such consumer group '%s' for key name '%s'", c->argv[3],
                     c->argv[2]);
        return -1;
    }
    return 0;
}

static int parse_entries_read(client *c, const dstr arg, long long *out) {
    if (arg_ll(c, arg, out) < 0) return -1;
    if (*out < 0 && *out != STREAM_ENTRIES_READ_INVALID) {
        reply_error(c, "ERR value for ENTRIESREAD must be positive or -1");
        return -1;
    }
    return 0;
}

void cmd_xgroup_create(client *c) {
    int mkstream = 0;
    long long entries_read = STREAM_ENTRIES_READ_INVALID;
    for (int i = 5; i < c->argc;) {
        if (arg_is(c->argv[i], "mkstream")) {
            mkstream = 1;
            i++;
        } else if (arg_is(c->argv[i], "entriesread") && i + 1 < c->argc) {
            if (parse_entries_read(c, c->argv[i + 1], &entries_read) < 0) return;
            i += 2;
        } else {
            subcommand_syntax(c);
            return;
        }
    }
    stream *s;
    stream_group *g;
    if (xgroup_prologue(c, &s, &g, mkstream, 0) < 0) return;
    if (c->argc > 8) {
        subcommand_syntax(c);
        return;
    }
    stream_id id;
    if (dstr_len(c->argv[4]) == 1 && c->argv[4][0] == '$') {
        if (s) id = s->last_id;
        else id.ms = id.seq = 0;
    } else if (xs_parse_id(c, c->argv[4], &id, 0, 1, NULL) < 0) {
        return;
    }
    if (!s) {
        obj *o = stream_obj_new();
        db_add(c->srv, c->db, c->argv[2], o);
        s = o->ptr;
        db_signal_modified(c->srv, c->db, c->argv[2]);
    }
    if (!stream_group_create(s, c->argv[3], dstr_len(c->argv[3]), &id, entries_read)) {
        reply_error(c, "BUSYGROUP Consumer Group name already exists");
        return;
    }
    reply_ok(c);
    server_dirty(c, 1);
    notify_event(c->srv, NOTIFY_STREAM, "xgroup-create", c->argv[2], c->db->id);
}

void cmd_xgroup_setid(client *c) {
    stream *s;
    stream_group *g;
    long long entries_read = STREAM_ENTRIES_READ_INVALID;
    if (xgroup_prologue(c, &s, &g, 0, 1) < 0) return;
    if (c->argc != 5 && c->argc != 7) {
        subcommand_syntax(c);
        return;
    }
    stream_id id;
    if (dstr_len(c->argv[4]) == 1 && c->argv[4][0] == '$') {
        id = s->last_id;
    } else if (xs_parse_id(c, c->argv[4], &id, 0, 0, NULL) < 0) {
        return;
    }
    if (c->argc == 7) {
        if (!arg_is(c->argv[5], "entriesread")) {
            subcommand_syntax(c);
            return;
        }
        if (parse_entries_read(c, c->argv[6], &entries_read) < 0) return;
    }
    g->last_id = id;
    g->entries_read = entries_read;
    reply_ok(c);
    server_dirty(c, 1);
    notify_event(c->srv, NOTIFY_STREAM, "xgroup-setid", c->argv[2], c->db->id);
}

void cmd_xgroup_destroy(client *c) {
    stream *s;
    stream_group *g;
    if (xgroup_prologue(c, &s, &g, 0, 0) < 0) return;
    if (!g) {
        reply_int(c, 0);
        return;
    }
    stream_group_destroy(s, g);
    reply_int(c, 1);
    server_dirty(c, 1);
    notify_event(c->srv, NOTIFY_STREAM, "xgroup-destroy", c->argv[2], c->db->id);
    blocking_signal_key(c->srv, c->db, c->argv[2]);
}

void cmd_xgroup_createconsumer(client *c) {
    stream *s;
    stream_group *g;
    if (xgroup_prologue(c, &s, &g, 0, 1) < 0) return;
    int created;
    xs_consumer_get(c, g, c->argv[4], c->argv[2], &created);
    reply_int(c, created);
}

void cmd_xgroup_delconsumer(client *c) {
    stream *s;
    stream_group *g;
    if (xgroup_prologue(c, &s, &g, 0, 1) < 0) return;
    stream_consumer *cons = stream_consumer_find(g, c->argv[4], dstr_len(c->argv[4]));
    long long pending = 0;
    if (cons) {
        pending = (long long)stream_consumer_delete(g, cons);
        server_dirty(c, 1);
        notify_event(c->srv, NOTIFY_STREAM, "xgroup-delconsumer", c->argv[2], c->db->id);
    }
    reply_int(c, pending);
}

void cmd_xgroup_help(client *c) {
    static const char *lines[] = {
        "XGROUP <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "CREATE <key> <groupname> <id|$> [option]",
        "    Create a new consumer group. Options are:",
        "    * MKSTREAM",
        "      Create the empty stream if it does not exist.",
        "    * ENTRIESREAD entries_read",
        "      Set the group's entries_read counter (internal use).",
        "CREATECONSUMER <key> <groupname> <consumer>",
        "    Create a new consumer in the specified group.",
        "DELCONSUMER <key> <groupname> <consumer>",
        "    Remove the specified consumer.",
        "DESTROY <key> <groupname>",
        "    Remove the specified group.",
        "SETID <key> <groupname> <id|$> [ENTRIESREAD entries_read]",
        "    Set the current group ID and entries_read counter.",
    };
    reply_help(c, lines, (int)(sizeof(lines) / sizeof(lines[0])));
}

/* ---- XACK ------------------------------------------------------------------------- */

void cmd_xack(client *c) {
    obj *o = db_lookup_read(c->srv, c->db, c->argv[1]);
    stream_group *g = NULL;
    if (o) {
        if (o->type != OBJ_STREAM) {
            reply_error(c, ERR_WRONGTYPE);
            return;
        }
        g = stream_group_find(o->ptr, c->argv[2], dstr_len(c->argv[2]));
    }
    if (!g) {
        reply_int(c, 0);
        return;
    }
    int n = c->argc - 3;
    stream_id *ids = mem_alloc(sizeof(stream_id) * (size_t)n);
    for (int j = 0; j < n; j++) {
        if (xs_parse_id(c, c->argv[j + 3], &ids[j], 0, 1, NULL) < 0) {
            mem_free(ids);
            return;
        }
    }
    long long acked = 0;
    for (int j = 0; j < n; j++) {
        stream_nack *nk = stream_pel_find(&g->pel, &ids[j]);
        if (!nk) continue;
        stream_nack_remove(g, nk);
        acked++;
    }
    mem_free(ids);
    server_dirty(c, acked);
    reply_int(c, acked);
}

/* ---- XPENDING ---------------------------------------------------------------------- */

static void xpending_summary(client *c, stream_group *g) {
    reply_array(c, 4);
    reply_int(c, (long long)g->pel.n);
    if (g->pel.n == 0) {
        reply_null(c);
        reply_null(c);
        reply_null_array(c);
        return;
    }
    xs_reply_id(c, &((stream_nack *)g->pel.v[0])->id);
    xs_reply_id(c, &((stream_nack *)g->pel.v[g->pel.n - 1])->id);
    size_t handle = reply_defer_len(c);
    long long n = 0;
    for (size_t i = 0; i < g->consumers.n; i++) {
        stream_consumer *cons = g->consumers.v[i];
        if (cons->pel.n == 0) continue;
        reply_array(c, 2);
        reply_bulk_dstr(c, cons->name);
        reply_bulk_ll(c, (long long)cons->pel.n);
        n++;
    }
    reply_set_deferred_len(c, handle, n);
}

void cmd_xpending(client *c) {
    int justinfo = c->argc == 3;
    stream_id start, end;
    long long count = 0, minidle = 0;
    dstr consumer = NULL;
    if (c->argc != 3 && (c->argc < 6 || c->argc > 9)) {
        reply_error(c, ERR_SYNTAX);
        return;
    }
    if (c->argc >= 6) {
        int si = 3, sx, ex;
        if (arg_is(c->argv[3], "idle")) {
            if (arg_ll(c, c->argv[4], &minidle) < 0) return;
            if (c->argc < 8) {
                reply_error(c, ERR_SYNTAX);
                return;
            }
            si += 2;
        }
        if (arg_ll(c, c->argv[si + 2], &count) < 0) return;
        if (count < 0) count = 0;
        if (xs_parse_interval(c, c->argv[si], &start, &sx, 0) < 0) return;
        if (sx && stream_id_incr(&start) < 0) {
            reply_error(c, "ERR invalid start ID for the interval");
            return;
        }
        if (xs_parse_interval(c, c->argv[si + 1], &end, &ex, UINT64_MAX) < 0) return;
        if (ex && stream_id_decr(&end) < 0) {
            reply_error(c, "ERR invalid end ID for the interval");
            return;
        }
        if (si + 3 < c->argc) consumer = c->argv[si + 3];
    }
    obj *o = db_lookup_read(c->srv, c->db, c->argv[1]);
    if (o && o->type != OBJ_STREAM) {
        reply_error(c, ERR_WRONGTYPE);
        return;
    }
    stream_group *g = o ? stream_group_find(o->ptr, c->argv[2], dstr_len(c->argv[2])) : NULL;
    if (!g) {
        xs_reply_nogroup(c, c->argv[1], c->argv[2]);
        return;
    }
    if (justinfo) {
        xpending_summary(c, g);
        return;
    }
    const ptrvec *pel = &g->pel;
    if (consumer) {
        stream_consumer *cons = stream_consumer_find(g, consumer, dstr_len(consumer));
        if (!cons) {
            reply_array(c, 0);
            return;
        }
        pel = &cons->pel;
    }
    long long now = util_ms_time();
    size_t handle = reply_defer_len(c);
    long long n = 0;
    for (size_t i = stream_pel_lower(pel, &start); count && i < pel->n; i++) {
        stream_nack *nk = pel->v[i];
        if (stream_id_cmp(&nk->id, &end) > 0) break;
        if (minidle && now - nk->delivery_time < minidle) continue;
        n++;
        count--;
        reply_array(c, 4);
        xs_reply_id(c, &nk->id);
        reply_bulk_dstr(c, nk->consumer->name);
        long long elapsed = now - nk->delivery_time;
        reply_int(c, elapsed < 0 ? 0 : elapsed);
        reply_int(c, (long long)nk->delivery_count);
    }
    reply_set_deferred_len(c, handle, n);
}

/* ---- XREAD / XREADGROUP -------------------------------------------------------------- */

/* BLOCK's argument: milliseconds, an absolute deadline (0 = forever). */
static int parse_ms_timeout(client *c, const dstr arg, long long *abs_ms) {
    long long ms;
    if (!util_str_to_ll(arg, dstr_len(arg), &ms)) {
        reply_error(c, "ERR timeout is not an integer or out of range");
        return -1;
    }
    if (ms < 0) {
        reply_error(c, "ERR timeout is negative");
        return -1;
    }
    long long now = util_ms_time();
    if (ms > 0 && ms > LLONG_MAX - now) {
        reply_error(c, "ERR timeout is out of range");
        return -1;
    }
    *abs_ms = ms > 0 ? now + ms : 0;
    return 0;
}

typedef struct xread_args {
    long long timeout; /* -1: no BLOCK */
    long long count;
    int streams_arg, nstreams, noack, xreadgroup;
    dstr groupname, consumername;
} xread_args;

static int parse_xread(client *c, xread_args *a) {
    memset(a, 0, sizeof(*a));
    a->timeout = -1;
    a->xreadgroup = dstr_len(c->argv[0]) == 10;
    for (int i = 1; i < c->argc; i++) {
        int more = c->argc - i - 1;
        const dstr o = c->argv[i];
        if (arg_is(o, "block") && more) {
            i++;
            if (parse_ms_timeout(c, c->argv[i], &a->timeout) < 0) return -1;
        } else if (arg_is(o, "count") && more) {
            i++;
            if (arg_ll(c, c->argv[i], &a->count) < 0) return -1;
            if (a->count < 0) a->count = 0;
        } else if (arg_is(o, "streams") && more) {
            a->streams_arg = i + 1;
            a->nstreams = c->argc - a->streams_arg;
            if (a->nstreams % 2 != 0) {
                reply_errorf(c, "ERR Unbalanced '%s' list of streams: for each stream key an ID "
                                "or '%s' must be specified.",
                             a->xreadgroup ? "xreadgroup" : "xread",
                             a->xreadgroup ? ">" : "$");
                return -1;
            }
            a->nstreams /= 2;
            break;
        } else if (arg_is(o, "group") && more >= 2) {
            if (!a->xreadgroup) {
                reply_error(c, "ERR The GROUP option is only supported by XREADGROUP. You "
                               "called XREAD instead.");
                return -1;
            }
            a->groupname = c->argv[i + 1];
            a->consumername = c->argv[i + 2];
            i += 2;
        } else if (arg_is(o, "noack")) {
            if (!a->xreadgroup) {
                reply_error(c, "ERR The NOACK option is only supported by XREADGROUP. You "
                               "called XREAD instead.");
                return -1;
            }
            a->noack = 1;
        } else {
            reply_error(c, ERR_SYNTAX);
            return -1;
        }
    }
    if (a->streams_arg == 0) {
        reply_error(c, ERR_SYNTAX);
        return -1;
    }
    if (a->xreadgroup && !a->groupname) {
        reply_error(c, "ERR Missing GROUP option for XREADGROUP");
        return -1;
    }
    return 0;
}

/* The IDs (and groups) of every stream; -1 after replying an error. */
static int resolve_ids(client *c, const xread_args *a, stream_id *ids, stream_group **groups) {
    for (int k = 0; k < a->nstreams; k++) {
        const dstr key = c->argv[a->streams_arg + k];
        const dstr arg = c->argv[a->streams_arg + a->nstreams + k];
        obj *o = db_lookup_read(c->srv, c->db, key);
        if (o && o->type != OBJ_STREAM) {
            reply_error(c, ERR_WRONGTYPE);
            return -1;
        }
        if (a->groupname) {
            stream_group *g =
                o ? stream_group_find(o->ptr, a->groupname, dstr_len(a->groupname)) : NULL;
            if (!g && (c->flags & CLIENT_BLOCKED)) {
                /* Re-executed after XGROUP DESTROY signalled the key. */
                reply_error(c, "NOGROUP the consumer group this client was blocked on no longer "
                               "exists");
                return -1;
            }
            if (!g) {
                reply_errorf(c, "NOGROUP No such key '%s' or consumer group '%s' in XREADGROUP "
                                "with GROUP option",
                             key, a->groupname);
                return -1;
            }
            groups[k] = g;
        }
        if (dstr_len(arg) == 1 && arg[0] == '$') {
            if (a->xreadgroup) {
                reply_error(c, "ERR The $ ID is meaningless in the context of XREADGROUP: you "
                               "want to read the history of this consumer by specifying a "
                               "proper ID, or use the > ID to get new messages. The $ ID would "
                               "just return an empty result set.");
                return -1;
            }
            if (o) ids[k] = ((stream *)o->ptr)->last_id;
            else ids[k].ms = ids[k].seq = 0;
            continue;
        }
        if (dstr_len(arg) == 1 && arg[0] == '>') {
            if (!a->xreadgroup) {
                reply_error(c, "ERR The > ID can be specified only when calling XREADGROUP "
                               "using the GROUP <group> <consumer> option.");
                return -1;
            }
            ids[k].ms = ids[k].seq = UINT64_MAX;
            continue;
        }
        if (xs_parse_id(c, arg, &ids[k], 0, 1, NULL) < 0) return -1;
    }
    return 0;
}

void cmd_xread(client *c) {
    xread_args a;
    if (parse_xread(c, &a) < 0) return;
    int n = a.nstreams;
    stream_id *ids = mem_alloc(sizeof(stream_id) * (size_t)(n ? n : 1));
    stream_group **groups = mem_calloc(sizeof(stream_group *) * (size_t)(n ? n : 1));
    if (resolve_ids(c, &a, ids, groups) < 0) goto done;
    size_t handle = 0;
    long long served = 0;
    for (int k = 0; k < n; k++) {
        const dstr key = c->argv[a.streams_arg + k];
        obj *o = db_lookup_read(c->srv, c->db, key);
        if (!o) continue;
        stream *s = o->ptr;
        stream_id gt = ids[k], maxid = {0, 0};
        int sync = 0, history = 0;
        /* Served now when the last live entry is past the ID (not the last
         * ID generated: XSETID, XDEL and trims can leave nothing after it). */
        if (s->length) stream_edge_id(s, 0, &maxid);
        if (a.groupname) {
            if (gt.ms != UINT64_MAX || gt.seq != UINT64_MAX) {
                sync = history = 1;
            } else if (s->length && stream_id_cmp(&maxid, &groups[k]->last_id) > 0) {
                sync = 1;
                gt = groups[k]->last_id;
            }
        } else if (s->length && stream_id_cmp(&maxid, &gt) > 0) {
            sync = 1;
        }
        if (!sync) continue;
        if (++served == 1) handle = reply_defer_len(c);
        stream_id start = gt;
        stream_id_incr(&start);
        /* A map from stream to entries in RESP3, pairs in RESP2. */
        if (c->resp != 3) reply_array(c, 2);
        reply_bulk_dstr(c, key);
        if (a.groupname) {
            stream_consumer *cons =
                reader_get(c, groups[k], a.consumername, key, a.groupname);
            cons->seen_time = util_ms_time();
            if (history) {
                xs_reply_history(c, s, &start, (size_t)a.count, cons);
            } else {
                xs_group_ctx g = {groups[k], cons, a.noack, key, a.groupname};
                xs_reply_range(c, s, &start, NULL, (size_t)a.count, 0, &g);
            }
            server_dirty(c, 1);
        } else {
            xs_reply_range(c, s, &start, NULL, (size_t)a.count, 0, NULL);
        }
    }
    if (served) {
        if (c->resp == 3) reply_set_deferred_map(c, handle, served);
        else reply_set_deferred_len(c, handle, served);
    } else if (a.timeout != -1 && client_may_block(c)) {
        /* Wait for entries after the IDs resolved now: "$" becomes the ID
         * it stands for, so a re-execution does not move the target. */
        for (int k = 0; k < n; k++) {
            dstr *arg = &c->argv[a.streams_arg + n + k];
            if (dstr_len(*arg) == 1 && (*arg)[0] == '$') {
                dstr_free(*arg);
                *arg = stream_id_dstr(&ids[k]);
            }
        }
        block_for_keys(c, c->argv + a.streams_arg, n, OBJ_STREAM, a.timeout, "*-1\r\n");
    } else {
        reply_null_array(c);
    }
done:
    /* Effects went out as XCLAIM / XGROUP SETID: never the command itself. */
    if (a.xreadgroup) c->flags |= CLIENT_PREVENT_PROPAGATE;
    mem_free(ids);
    mem_free(groups);
}
