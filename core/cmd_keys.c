/* cmd_keys: the generic keyspace commands (DEL, EXISTS, SCAN, RENAME,
 * EXPIRE and friends, OBJECT, FLUSHDB, SELECT, SWAPDB...).
 *
 * Expire commands are propagated as PEXPIREAT with an absolute time (or
 * DEL when the time is already past), as Redis 7.0 does, so a replica
 * applies exactly the master's deadline. */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/commands.h"
#include "core/db.h"
#include "core/mem.h"
#include "core/notify.h"
#include "core/persist.h"
#include "core/reply.h"
#include "core/util.h"

static void del_generic(client *c, int lazy) {
    int (*del)(server *, db *, const dstr) = lazy ? db_delete_async : db_delete;
    long long n = 0;
    for (int j = 1; j < c->argc; j++) {
        db_expire_if_needed(c->srv, c->db, c->argv[j]);
        if (del(c->srv, c->db, c->argv[j])) {
            notify_event(c->srv, NOTIFY_GENERIC, "del", c->argv[j], c->db->id);
            n++;
        }
    }
    server_dirty(c, n);
    reply_int(c, n);
}

void cmd_del(client *c) { del_generic(c, c->srv->cfg.lazyfree_lazy_user_del); }
void cmd_unlink(client *c) { del_generic(c, 1); }

void cmd_exists(client *c) {
    long long n = 0;
    for (int j = 1; j < c->argc; j++)
        if (db_lookup_read(c->srv, c->db, c->argv[j])) n++;
    reply_int(c, n);
}

void cmd_touch(client *c) { cmd_exists(c); }

void cmd_type(client *c) {
    obj *o = db_lookup_read(c->srv, c->db, c->argv[1]);
    reply_status(c, o ? obj_type_name(o) : "none");
}

void cmd_keys(client *c) {
    const dstr pat = c->argv[1];
    size_t plen = dstr_len(pat);
    int all = plen == 1 && pat[0] == '*';
    size_t handle = reply_defer_len(c);
    long long n = 0;
    dict_iter it;
    dict_iter_init(c->db->keys, &it);
    dict_entry *de;
    while ((de = dict_iter_next(&it))) {
        dstr key = de->key;
        if (!all && !util_glob_match(pat, plen, key, dstr_len(key), 0)) continue;
        if (db_key_is_expired(c->db, key)) continue;
        reply_bulk(c, key, dstr_len(key));
        n++;
    }
    dict_iter_done(&it);
    reply_set_deferred_len(c, handle, n);
}

typedef struct scan_keys {
    dstr *v;
    long n, cap;
} scan_keys;

static void scan_collect(void *priv, const dict_entry *de) {
    scan_keys *k = priv;
    if (k->n == k->cap) {
        k->cap = k->cap ? k->cap * 2 : 16;
        k->v = mem_realloc(k->v, sizeof(dstr) * (size_t)k->cap);
    }
    k->v[k->n++] = dstr_dup(de->key);
}

/* Redis's parseScanCursorOrReply: strtoul semantics, no leading space, no
 * trailing bytes. */
static int parse_cursor(client *c, const dstr arg, unsigned long *out) {
    char *end;
    errno = 0;
    if (dstr_len(arg) == 0 || arg[0] == ' ' || (arg[0] >= '\t' && arg[0] <= '\r')) {
        reply_error(c, "ERR invalid cursor");
        return -1;
    }
    *out = strtoul(arg, &end, 10);
    if (*end != '\0' || errno == ERANGE) {
        reply_error(c, "ERR invalid cursor");
        return -1;
    }
    return 0;
}

void cmd_scan(client *c) {
    unsigned long cursor;
    if (parse_cursor(c, c->argv[1], &cursor) < 0) return;
    long long count = 10;
    const char *pat = NULL;
    size_t plen = 0;
    dstr type = NULL;
    for (int i = 2; i < c->argc;) {
        int left = c->argc - i;
        if (arg_is(c->argv[i], "count") && left >= 2) {
            if (arg_ll(c, c->argv[i + 1], &count) < 0) return;
            if (count < 1) {
                reply_error(c, ERR_SYNTAX);
                return;
            }
            i += 2;
        } else if (arg_is(c->argv[i], "match") && left >= 2) {
            pat = c->argv[i + 1];
            plen = dstr_len(c->argv[i + 1]);
            if (plen == 1 && pat[0] == '*') pat = NULL;
            i += 2;
        } else if (arg_is(c->argv[i], "type") && left >= 2) {
            type = c->argv[i + 1];
            i += 2;
        } else {
            reply_error(c, ERR_SYNTAX);
            return;
        }
    }
    scan_keys keys = {NULL, 0, 0};
    long long maxiter = count > LLONG_MAX / 10 ? LLONG_MAX : count * 10;
    do {
        cursor = dict_scan(c->db->keys, cursor, scan_collect, &keys);
    } while (cursor && maxiter-- && keys.n < count);
    reply_array(c, 2);
    char buf[32];
    int n = util_ull_to_str(buf, sizeof(buf), cursor);
    reply_bulk(c, buf, (size_t)n);
    size_t handle = reply_defer_len(c);
    long long out = 0;
    for (long i = 0; i < keys.n; i++) {
        dstr k = keys.v[i];
        int keep = 1;
        if (pat && !util_glob_match(pat, plen, k, dstr_len(k), 0)) keep = 0;
        if (keep && type) {
            obj *o = db_peek(c->db, k);
            if (!o || !arg_is(type, obj_type_name(o))) keep = 0;
        }
        if (keep && db_expire_if_needed(c->srv, c->db, k)) keep = 0;
        if (keep) {
            reply_bulk(c, k, dstr_len(k));
            out++;
        }
        dstr_free(k);
    }
    mem_free(keys.v);
    reply_set_deferred_len(c, handle, out);
}

void cmd_randomkey(client *c) {
    dstr k = db_random_key(c->srv, c->db);
    if (!k) {
        reply_null(c);
        return;
    }
    reply_bulk(c, k, dstr_len(k));
    dstr_free(k);
}

static void rename_generic(client *c, int nx) {
    server *s = c->srv;
    int same = !dstr_cmp(c->argv[1], c->argv[2]);
    obj *o = db_lookup_write(s, c->db, c->argv[1]);
    if (!o) {
        reply_error(c, ERR_NO_KEY);
        return;
    }
    if (same) {
        if (nx)
            reply_int(c, 0);
        else
            reply_ok(c);
        return;
    }
    long long expire = db_get_expire(c->db, c->argv[1]);
    if (db_lookup_write(s, c->db, c->argv[2])) {
        if (nx) {
            reply_int(c, 0);
            return;
        }
        db_delete(s, c->db, c->argv[2]);
    }
    /* Move the value without copying it: unlink from the old name. */
    dict_entry *de = dict_unlink(c->db->keys, c->argv[1]);
    obj *val = de->v.val;
    de->v.val = NULL;
    if (dict_size(c->db->expires)) dict_delete(c->db->expires, c->argv[1]);
    db_add(s, c->db, c->argv[2], val);
    if (expire != -1) db_set_expire(s, c->db, c->argv[2], expire);
    db_signal_modified(s, c->db, c->argv[1]);
    /* The entry's key is freed with the entry; its value is now owned by
     * the new name. */
    dict_free_unlinked(c->db->keys, de);
    notify_event(s, NOTIFY_GENERIC, "rename_from", c->argv[1], c->db->id);
    notify_event(s, NOTIFY_GENERIC, "rename_to", c->argv[2], c->db->id);
    server_dirty(c, 1);
    if (nx)
        reply_int(c, 1);
    else
        reply_ok(c);
}

void cmd_rename(client *c) { rename_generic(c, 0); }
void cmd_renamenx(client *c) { rename_generic(c, 1); }

static int arg_int(client *c, const dstr arg, long long *out, const char *msg) {
    long long v;
    if (!util_str_to_ll(arg, dstr_len(arg), &v) || v < INT_MIN || v > INT_MAX) {
        reply_error(c, msg ? msg : ERR_NOT_INT);
        return -1;
    }
    *out = v;
    return 0;
}

void cmd_move(client *c) {
    server *s = c->srv;
    long long dbid;
    if (arg_int(c, c->argv[2], &dbid, NULL) < 0) return;
    if (dbid < 0 || dbid >= s->dbnum) {
        reply_error(c, ERR_DB_RANGE);
        return;
    }
    db *src = c->db, *dst = &s->dbs[dbid];
    if (src == dst) {
        reply_error(c, ERR_SAME_OBJ);
        return;
    }
    obj *o = db_lookup_write(s, src, c->argv[1]);
    if (!o) {
        reply_int(c, 0);
        return;
    }
    long long expire = db_get_expire(src, c->argv[1]);
    if (db_lookup_write(s, dst, c->argv[1])) {
        reply_int(c, 0);
        return;
    }
    dict_entry *de = dict_unlink(src->keys, c->argv[1]);
    obj *val = de->v.val;
    de->v.val = NULL;
    if (dict_size(src->expires)) dict_delete(src->expires, c->argv[1]);
    db_add(s, dst, c->argv[1], val);
    if (expire != -1) db_set_expire(s, dst, c->argv[1], expire);
    db_signal_modified(s, src, c->argv[1]);
    dict_free_unlinked(src->keys, de);
    notify_event(s, NOTIFY_GENERIC, "move_from", c->argv[1], src->id);
    notify_event(s, NOTIFY_GENERIC, "move_to", c->argv[1], dst->id);
    server_dirty(c, 1);
    reply_int(c, 1);
}

void cmd_copy(client *c) {
    server *s = c->srv;
    db *src = c->db, *dst = c->db;
    int replace = 0;
    for (int j = 3; j < c->argc; j++) {
        int additional = c->argc - j - 1;
        if (arg_is(c->argv[j], "replace")) {
            replace = 1;
        } else if (arg_is(c->argv[j], "db") && additional >= 1) {
            long long dbid;
            if (arg_ll(c, c->argv[j + 1], &dbid) < 0) return;
            if (dbid < 0 || dbid >= s->dbnum) {
                reply_error(c, ERR_DB_RANGE);
                return;
            }
            dst = &s->dbs[dbid];
            j++;
        } else {
            reply_error(c, ERR_SYNTAX);
            return;
        }
    }
    if (src == dst && !dstr_cmp(c->argv[1], c->argv[2])) {
        reply_error(c, ERR_SAME_OBJ);
        return;
    }
    obj *o = db_lookup_read(s, src, c->argv[1]);
    if (!o) {
        reply_int(c, 0);
        return;
    }
    long long expire = db_get_expire(src, c->argv[1]);
    if (db_lookup_write(s, dst, c->argv[2])) {
        if (!replace) {
            reply_int(c, 0);
            return;
        }
        db_delete(s, dst, c->argv[2]);
    }
    db_add(s, dst, c->argv[2], obj_dup(o));
    if (expire != -1) db_set_expire(s, dst, c->argv[2], expire);
    notify_event(s, NOTIFY_GENERIC, "copy_to", c->argv[2], dst->id);
    server_dirty(c, 1);
    reply_int(c, 1);
}

enum { EXP_NX = 1, EXP_XX = 2, EXP_GT = 4, EXP_LT = 8 };

static void expire_generic(client *c, long long basetime, int seconds) {
    server *s = c->srv;
    int flags = 0;
    for (int j = 3; j < c->argc; j++) {
        if (arg_is(c->argv[j], "nx"))
            flags |= EXP_NX;
        else if (arg_is(c->argv[j], "xx"))
            flags |= EXP_XX;
        else if (arg_is(c->argv[j], "gt"))
            flags |= EXP_GT;
        else if (arg_is(c->argv[j], "lt"))
            flags |= EXP_LT;
        else {
            reply_errorf(c, "ERR Unsupported option %s", c->argv[j]);
            return;
        }
    }
    if ((flags & EXP_NX) && (flags & (EXP_XX | EXP_GT | EXP_LT))) {
        reply_error(c, "ERR NX and XX, GT or LT options at the same time are not compatible");
        return;
    }
    if ((flags & EXP_GT) && (flags & EXP_LT)) {
        reply_error(c, "ERR GT and LT options at the same time are not compatible");
        return;
    }
    long long when;
    if (arg_ll(c, c->argv[2], &when) < 0) return;
    if (seconds) {
        if (when > LLONG_MAX / 1000 || when < LLONG_MIN / 1000) {
            reply_errorf(c, "ERR invalid expire time in '%s' command", c->cmd->name);
            return;
        }
        when *= 1000;
    }
    if (when > LLONG_MAX - basetime) {
        reply_errorf(c, "ERR invalid expire time in '%s' command", c->cmd->name);
        return;
    }
    when += basetime;
    const dstr key = c->argv[1];
    if (!db_lookup_write(s, c->db, key)) {
        reply_int(c, 0);
        return;
    }
    if (flags) {
        long long cur = db_get_expire(c->db, key);
        if (((flags & EXP_NX) && cur != -1) || ((flags & EXP_XX) && cur == -1) ||
            ((flags & EXP_GT) && (when <= cur || cur == -1)) ||
            ((flags & EXP_LT) && cur != -1 && when >= cur)) {
            reply_int(c, 0);
            return;
        }
    }
    if (when <= util_ms_time() && !s->loading) {
        db_delete(s, c->db, key);
        server_dirty(c, 1);
        notify_event(s, NOTIFY_GENERIC, "del", key, c->db->id);
        client_rewrite_argv(c, 2, dstr_from("DEL"), dstr_dup(key));
        reply_int(c, 1);
        return;
    }
    db_set_expire(s, c->db, key, when);
    db_signal_modified(s, c->db, key);
    notify_event(s, NOTIFY_GENERIC, "expire", key, c->db->id);
    reply_int(c, 1);
    if (c->cmd->proc != cmd_pexpireat) {
        client_replace_arg(c, 0, dstr_from("PEXPIREAT"));
    }
    if (basetime != 0 || seconds) {
        client_replace_arg(c, 2, dstr_from_ll(when));
    }
    server_dirty(c, 1);
}

void cmd_expire(client *c) { expire_generic(c, util_ms_time(), 1); }
void cmd_pexpire(client *c) { expire_generic(c, util_ms_time(), 0); }
void cmd_expireat(client *c) { expire_generic(c, 0, 1); }
void cmd_pexpireat(client *c) { expire_generic(c, 0, 0); }

static void ttl_generic(client *c, int ms, int absolute) {
    if (!db_lookup_read(c->srv, c->db, c->argv[1])) {
        reply_int(c, -2);
        return;
    }
    long long expire = db_get_expire(c->db, c->argv[1]);
    if (expire == -1) {
        reply_int(c, -1);
        return;
    }
    long long ttl = absolute ? expire : expire - util_ms_time();
    if (ttl < 0) ttl = 0;
    reply_int(c, ms ? ttl : (ttl + 500) / 1000);
}

void cmd_ttl(client *c) { ttl_generic(c, 0, 0); }
void cmd_pttl(client *c) { ttl_generic(c, 1, 0); }
void cmd_expiretime(client *c) { ttl_generic(c, 0, 1); }
void cmd_pexpiretime(client *c) { ttl_generic(c, 1, 1); }

void cmd_persist(client *c) {
    if (!db_lookup_write(c->srv, c->db, c->argv[1])) {
        reply_int(c, 0);
        return;
    }
    if (db_remove_expire(c->db, c->argv[1])) {
        db_signal_modified(c->srv, c->db, c->argv[1]);
        notify_event(c->srv, NOTIFY_GENERIC, "persist", c->argv[1], c->db->id);
        server_dirty(c, 1);
        reply_int(c, 1);
    } else {
        reply_int(c, 0);
    }
}

static obj *object_target(client *c) {
    db_expire_if_needed(c->srv, c->db, c->argv[2]);
    obj *o = db_peek(c->db, c->argv[2]);
    if (!o) reply_null(c);
    return o;
}

void cmd_object_encoding(client *c) {
    obj *o = object_target(c);
    if (o) reply_bulk_cstr(c, obj_encoding_name(o));
}

void cmd_object_refcount(client *c) {
    obj *o = object_target(c);
    if (!o) return;
    /* Redis shares the integers 0..9999 and reports INT_MAX for them. */
    int shared = o->type == OBJ_STRING && o->enc == ENC_INT && o->ival >= 0 &&
                 o->ival < OBJ_SHARED_INTEGERS;
    reply_int(c, shared ? INT_MAX : 1);
}

void cmd_object_idletime(client *c) {
    obj *o = object_target(c);
    if (o) reply_int(c, (long long)obj_idle_seconds(o));
}

void cmd_object_freq(client *c) {
    obj *o = object_target(c);
    if (o)
        reply_error(c, "ERR An LFU maxmemory policy is not selected, access frequency not "
                       "tracked. Please note that when switching between policies at runtime LRU "
                       "and LFU data will take some time to adjust.");
}

void cmd_object_help(client *c) {
    static const char *lines[] = {
        "OBJECT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "ENCODING <key>",
        "    Return the kind of internal representation used in order to store the value",
        "    associated with a <key>.",
        "FREQ <key>",
        "    Return the access frequency index of the <key>. The returned integer is",
        "    proportional to the logarithm of the recent access frequency of the key.",
        "IDLETIME <key>",
        "    Return the idle time of the <key>, that is the approximated number of",
        "    seconds elapsed since the last access to the key.",
        "REFCOUNT <key>",
        "    Return the number of references of the value associated with the specified",
        "    <key>.",
    };
    reply_help(c, lines, (int)(sizeof(lines) / sizeof(lines[0])));
}

void cmd_dbsize(client *c) { reply_int(c, (long long)dict_size(c->db->keys)); }

/* Redis 7.0's getFlushCommandFlags: 1 to free in the background (ASYNC,
 * or no argument under lazyfree-lazy-user-flush), 0 not to, -1 after a
 * syntax error reply. */
static int flush_async(client *c) {
    if (c->argc == 1) return c->srv->cfg.lazyfree_lazy_user_flush;
    if (c->argc == 2 && arg_is(c->argv[1], "sync")) return 0;
    if (c->argc == 2 && arg_is(c->argv[1], "async")) return 1;
    reply_error(c, ERR_SYNTAX);
    return -1;
}

void cmd_flushdb(client *c) {
    int async = flush_async(c);
    if (async < 0) return;
    server_dirty(c, db_empty(c->srv, c->db->id, async) + 1);
    reply_ok(c);
}

/* As Redis 7.0 counts it: the dirty counter moves by the keys removed,
 * and the save persist_flushall makes with save points resets it, so the
 * command asks to be propagated even when the dataset was already empty
 * or the counter went back to zero. */
void cmd_flushall(client *c) {
    int async = flush_async(c);
    if (async < 0) return;
    server_dirty(c, db_empty(c->srv, -1, async));
    persist_flushall(c->srv);
    c->flags |= CLIENT_FORCE_PROPAGATE;
    reply_ok(c);
}

void cmd_select(client *c) {
    long long id;
    if (arg_int(c, c->argv[1], &id, NULL) < 0) return;
    if (id < 0 || id >= c->srv->dbnum) {
        reply_error(c, ERR_DB_RANGE);
        return;
    }
    c->db = &c->srv->dbs[id];
    reply_ok(c);
}

void cmd_swapdb(client *c) {
    long long a, b;
    if (arg_int(c, c->argv[1], &a, "ERR invalid first DB index") < 0) return;
    if (arg_int(c, c->argv[2], &b, "ERR invalid second DB index") < 0) return;
    if (a < 0 || a >= c->srv->dbnum || b < 0 || b >= c->srv->dbnum) {
        reply_error(c, ERR_DB_RANGE);
        return;
    }
    if (a != b) db_swap(c->srv, (int)a, (int)b);
    server_dirty(c, 1);
    reply_ok(c);
}
