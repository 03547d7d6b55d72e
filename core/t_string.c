/* t_string: the string commands.
 *
 * Behaviour, replies and the propagated form follow Redis 7.0 command by
 * command: SET/SETEX/PSETEX with a relative or second-based expiry are
 * propagated as `SET key value PXAT <ms>` so that replicas never compute
 * a time themselves; SET ... GET without expiry loses its GET; GETSET is
 * propagated as SET, GETDEL as DEL, GETEX as PEXPIREAT/PERSIST/DEL and
 * INCRBYFLOAT as `SET key <result> KEEPTTL`, so floating point formatting
 * on the replica cannot diverge. */
#include <limits.h>
#include <math.h>
#include <string.h>

#include "core/commands.h"
#include "core/db.h"
#include "core/mem.h"
#include "core/notify.h"
#include "core/reply.h"
#include "core/util.h"

enum {
    SET_NX = 1 << 0,
    SET_XX = 1 << 1,
    SET_GET = 1 << 2,
    SET_KEEPTTL = 1 << 3,
    SET_PERSIST = 1 << 4,
    SET_EX = 1 << 5,
    SET_PX = 1 << 6,
    SET_EXAT = 1 << 7,
    SET_PXAT = 1 << 8,
};
#define SET_ANY_EXPIRE (SET_EX | SET_PX | SET_EXAT | SET_PXAT)

enum { FOR_SET, FOR_GETEX };

/* Wrong type check: replies and returns 1 when `o` is not a string. */
static int not_string(client *c, obj *o) {
    if (o && o->type != OBJ_STRING) {
        reply_error(c, ERR_WRONGTYPE);
        return 1;
    }
    return 0;
}

static int parse_set_options(client *c, int start, int mode, int *flags, int *expire_idx) {
    *flags = 0;
    *expire_idx = -1;
    for (int j = start; j < c->argc; j++) {
        const dstr a = c->argv[j];
        int has_next = j + 1 < c->argc;
        if (arg_is(a, "nx") && !(*flags & SET_XX) && mode == FOR_SET) {
            *flags |= SET_NX;
        } else if (arg_is(a, "xx") && !(*flags & SET_NX) && mode == FOR_SET) {
            *flags |= SET_XX;
        } else if (arg_is(a, "get") && mode == FOR_SET) {
            *flags |= SET_GET;
        } else if (arg_is(a, "keepttl") && !(*flags & SET_PERSIST) &&
                   !(*flags & SET_ANY_EXPIRE) && mode == FOR_SET) {
            *flags |= SET_KEEPTTL;
        } else if (arg_is(a, "persist") && mode == FOR_GETEX && !(*flags & SET_ANY_EXPIRE) &&
                   !(*flags & SET_KEEPTTL)) {
            *flags |= SET_PERSIST;
        } else if (arg_is(a, "ex") && !(*flags & (SET_KEEPTTL | SET_PERSIST | SET_EXAT |
                                                   SET_PX | SET_PXAT)) && has_next) {
            *flags |= SET_EX;
            *expire_idx = ++j;
        } else if (arg_is(a, "px") && !(*flags & (SET_KEEPTTL | SET_PERSIST | SET_EX |
                                                   SET_EXAT | SET_PXAT)) && has_next) {
            *flags |= SET_PX;
            *expire_idx = ++j;
        } else if (arg_is(a, "exat") && !(*flags & (SET_KEEPTTL | SET_PERSIST | SET_EX |
                                                     SET_PX | SET_PXAT)) && has_next) {
            *flags |= SET_EXAT;
            *expire_idx = ++j;
        } else if (arg_is(a, "pxat") && !(*flags & (SET_KEEPTTL | SET_PERSIST | SET_EX |
                                                     SET_EXAT | SET_PX)) && has_next) {
            *flags |= SET_PXAT;
            *expire_idx = ++j;
        } else {
            reply_error(c, ERR_SYNTAX);
            return -1;
        }
    }
    return 0;
}

static void reply_expire_error(client *c) {
    reply_errorf(c, "ERR invalid expire time in '%s' command", c->cmd->name);
}

/* The absolute unix time in ms for an expire argument, Redis's
 * getExpireMillisecondsOrReply. */
static int expire_ms(client *c, const dstr arg, int flags, long long *ms) {
    long long v;
    if (arg_ll(c, arg, &v) < 0) return -1;
    int seconds = flags & (SET_EX | SET_EXAT);
    if (v <= 0 || (seconds && v > LLONG_MAX / 1000)) {
        reply_expire_error(c);
        return -1;
    }
    if (seconds) v *= 1000;
    if (flags & (SET_EX | SET_PX)) {
        long long now = util_ms_time();
        if (v > LLONG_MAX - now) {
            reply_expire_error(c);
            return -1;
        }
        v += now;
    }
    *ms = v;
    return 0;
}

/* GET's reply for SET ... GET, GETSET, GETDEL. Returns -1 on WRONGTYPE. */
static int reply_current(client *c, const dstr key) {
    obj *o = db_lookup_read(c->srv, c->db, key);
    if (!o) {
        reply_null(c);
        return 0;
    }
    if (not_string(c, o)) return -1;
    reply_bulk_obj(c, o);
    return 0;
}

static obj *value_from_arg(client *c, int idx) {
    dstr v = c->argv[idx];
    /* The stored value must outlive argv, which propagation may still
     * need: store a copy. */
    return obj_string_from_dstr_encoded(dstr_dup(v));
}

static void set_generic(client *c, int flags, int key_idx, int val_idx, int expire_idx,
                        const char *ok_reply, const char *abort_reply) {
    server *s = c->srv;
    long long ms = 0;
    if (expire_idx >= 0 && expire_ms(c, c->argv[expire_idx], flags, &ms) < 0) return;
    if (flags & SET_GET) {
        if (reply_current(c, c->argv[key_idx]) < 0) return;
    }
    obj *cur = db_lookup_write(s, c->db, c->argv[key_idx]);
    int found = cur != NULL;
    if (((flags & SET_NX) && found) || ((flags & SET_XX) && !found)) {
        if (!(flags & SET_GET)) {
            if (abort_reply)
                reply_canned(c, abort_reply);
            else
                reply_null(c);
        }
        return;
    }
    const dstr val = c->argv[val_idx];
    if (cur && obj_string_overwrite(cur, val, dstr_len(val)))
        db_value_rewritten(s, c->db, c->argv[key_idx], flags & SET_KEEPTTL);
    else
        db_set(s, c->db, c->argv[key_idx], value_from_arg(c, val_idx), flags & SET_KEEPTTL);
    server_dirty(c, 1);
    notify_event(s, NOTIFY_STRING, "set", c->argv[key_idx], c->db->id);
    if (expire_idx >= 0) {
        db_set_expire(s, c->db, c->argv[key_idx], ms);
        notify_event(s, NOTIFY_GENERIC, "expire", c->argv[key_idx], c->db->id);
        if (!(flags & SET_PXAT)) {
            char buf[32];
            int n = util_ll_to_str(buf, sizeof(buf), ms);
            client_rewrite_argv(c, 5, dstr_from("SET"), dstr_dup(c->argv[key_idx]),
                                dstr_dup(c->argv[val_idx]), dstr_from("PXAT"),
                                dstr_new(buf, (size_t)n));
        }
    }
    if (!(flags & SET_GET)) {
        if (ok_reply)
            reply_raw(c, ok_reply, strlen(ok_reply));
        else
            reply_ok(c);
    }
    if ((flags & SET_GET) && expire_idx < 0) {
        /* Propagate without GET (which may be repeated). */
        dstr *argv = mem_alloc(sizeof(dstr) * (size_t)c->argc);
        int n = 0;
        for (int j = 0; j < c->argc; j++) {
            if (j >= 3 && arg_is(c->argv[j], "get")) continue;
            argv[n++] = dstr_dup(c->argv[j]);
        }
        client_set_argv(c, argv, n);
    }
}

void cmd_set(client *c) {
    int flags, expire_idx;
    if (parse_set_options(c, 3, FOR_SET, &flags, &expire_idx) < 0) return;
    set_generic(c, flags, 1, 2, expire_idx, NULL, NULL);
}

void cmd_setnx(client *c) { set_generic(c, SET_NX, 1, 2, -1, ":1\r\n", ":0\r\n"); }
void cmd_setex(client *c) { set_generic(c, SET_EX, 1, 3, 2, NULL, NULL); }
void cmd_psetex(client *c) { set_generic(c, SET_PX, 1, 3, 2, NULL, NULL); }

void cmd_get(client *c) { reply_current(c, c->argv[1]); }

void cmd_getset(client *c) {
    if (reply_current(c, c->argv[1]) < 0) return;
    db_set(c->srv, c->db, c->argv[1], value_from_arg(c, 2), 0);
    notify_event(c->srv, NOTIFY_STRING, "set", c->argv[1], c->db->id);
    server_dirty(c, 1);
    client_replace_arg(c, 0, dstr_from("SET"));
}

void cmd_getdel(client *c) {
    if (reply_current(c, c->argv[1]) < 0) return;
    if (db_delete(c->srv, c->db, c->argv[1])) {
        client_rewrite_argv(c, 2, dstr_from("DEL"), dstr_dup(c->argv[1]));
        notify_event(c->srv, NOTIFY_GENERIC, "del", c->argv[1], c->db->id);
        server_dirty(c, 1);
    }
}

void cmd_getex(client *c) {
    server *s = c->srv;
    int flags, expire_idx;
    if (parse_set_options(c, 2, FOR_GETEX, &flags, &expire_idx) < 0) return;
    obj *o = db_lookup_read(s, c->db, c->argv[1]);
    if (!o) {
        reply_null(c);
        return;
    }
    if (not_string(c, o)) return;
    long long ms = 0;
    if (expire_idx >= 0 && expire_ms(c, c->argv[expire_idx], flags, &ms) < 0) return;
    reply_bulk_obj(c, o);
    if ((flags & (SET_PXAT | SET_EXAT)) && ms <= util_ms_time()) {
        db_delete(s, c->db, c->argv[1]);
        client_rewrite_argv(c, 2, dstr_from("DEL"), dstr_dup(c->argv[1]));
        notify_event(s, NOTIFY_GENERIC, "del", c->argv[1], c->db->id);
        server_dirty(c, 1);
    } else if (expire_idx >= 0) {
        db_set_expire(s, c->db, c->argv[1], ms);
        db_signal_modified(s, c->db, c->argv[1]);
        notify_event(s, NOTIFY_GENERIC, "expire", c->argv[1], c->db->id);
        if (!(flags & SET_PXAT)) {
            char buf[32];
            int n = util_ll_to_str(buf, sizeof(buf), ms);
            client_rewrite_argv(c, 3, dstr_from("PEXPIREAT"), dstr_dup(c->argv[1]),
                                dstr_new(buf, (size_t)n));
        }
        server_dirty(c, 1);
    } else if (flags & SET_PERSIST) {
        if (db_remove_expire(c->db, c->argv[1])) {
            db_signal_modified(s, c->db, c->argv[1]);
            client_rewrite_argv(c, 2, dstr_from("PERSIST"), dstr_dup(c->argv[1]));
            notify_event(s, NOTIFY_GENERIC, "persist", c->argv[1], c->db->id);
            server_dirty(c, 1);
        }
    }
}

void cmd_mget(client *c) {
    reply_array(c, c->argc - 1);
    for (int j = 1; j < c->argc; j++) {
        obj *o = db_lookup_read(c->srv, c->db, c->argv[j]);
        if (!o || o->type != OBJ_STRING)
            reply_null(c);
        else
            reply_bulk_obj(c, o);
    }
}

static void mset_generic(client *c, int nx) {
    if (c->argc % 2 == 0) {
        reply_errorf(c, "ERR wrong number of arguments for '%s' command", c->cmd->name);
        return;
    }
    if (nx) {
        for (int j = 1; j < c->argc; j += 2) {
            if (db_lookup_write(c->srv, c->db, c->argv[j])) {
                reply_int(c, 0);
                return;
            }
        }
    }
    for (int j = 1; j < c->argc; j += 2) {
        db_set(c->srv, c->db, c->argv[j], value_from_arg(c, j + 1), 0);
        notify_event(c->srv, NOTIFY_STRING, "set", c->argv[j], c->db->id);
    }
    server_dirty(c, (c->argc - 1) / 2);
    if (nx)
        reply_int(c, 1);
    else
        reply_ok(c);
}

void cmd_mset(client *c) { mset_generic(c, 0); }
void cmd_msetnx(client *c) { mset_generic(c, 1); }

obj *string_unshare_raw(client *c, obj *o, const dstr key) {
    if (o->enc == ENC_RAW) return o;
    char buf[32];
    size_t len;
    const char *p = obj_string_bytes(o, buf, &len);
    obj *n = obj_string_raw(dstr_new(p, len));
    db_replace_value(c->srv, c->db, key, n);
    return n;
}

void cmd_append(client *c) {
    server *s = c->srv;
    size_t total;
    obj *o = db_lookup_write(s, c->db, c->argv[1]);
    if (!o) {
        obj *n = value_from_arg(c, 2);
        db_add(s, c->db, c->argv[1], n);
        total = obj_string_len(n);
    } else {
        if (not_string(c, o)) return;
        size_t add = dstr_len(c->argv[2]);
        if (check_string_length(c, (long long)obj_string_len(o), (long long)add) < 0) return;
        o = string_unshare_raw(c, o, c->argv[1]);
        o->ptr = dstr_cat(o->ptr, c->argv[2], add);
        total = dstr_len(o->ptr);
        db_signal_modified(s, c->db, c->argv[1]);
    }
    notify_event(s, NOTIFY_STRING, "append", c->argv[1], c->db->id);
    server_dirty(c, 1);
    reply_int(c, (long long)total);
}

void cmd_strlen(client *c) {
    obj *o = db_lookup_read(c->srv, c->db, c->argv[1]);
    if (!o) {
        reply_int(c, 0);
        return;
    }
    if (not_string(c, o)) return;
    reply_int(c, (long long)obj_string_len(o));
}

static void incr_generic(client *c, long long incr) {
    server *s = c->srv;
    obj *o = db_lookup_write(s, c->db, c->argv[1]);
    if (not_string(c, o)) return;
    long long value = 0;
    if (o && !obj_string_to_ll(o, &value)) {
        reply_error(c, ERR_NOT_INT);
        return;
    }
    if ((incr < 0 && value < 0 && incr < (LLONG_MIN - value)) ||
        (incr > 0 && value > 0 && incr > (LLONG_MAX - value))) {
        reply_error(c, ERR_OVERFLOW);
        return;
    }
    value += incr;
    if (o && o->enc == ENC_INT) {
        o->ival = value;
        db_signal_modified(s, c->db, c->argv[1]);
    } else if (o) {
        db_replace_value(s, c->db, c->argv[1], obj_string_from_ll(value));
    } else {
        db_add(s, c->db, c->argv[1], obj_string_from_ll(value));
    }
    notify_event(s, NOTIFY_STRING, "incrby", c->argv[1], c->db->id);
    server_dirty(c, 1);
    reply_int(c, value);
}

void cmd_incr(client *c) { incr_generic(c, 1); }
void cmd_decr(client *c) { incr_generic(c, -1); }

void cmd_incrby(client *c) {
    long long incr;
    if (arg_ll(c, c->argv[2], &incr) < 0) return;
    incr_generic(c, incr);
}

void cmd_decrby(client *c) {
    long long incr;
    if (arg_ll(c, c->argv[2], &incr) < 0) return;
    if (incr == LLONG_MIN) {
        reply_error(c, "ERR decrement would overflow");
        return;
    }
    incr_generic(c, -incr);
}

static int obj_to_ld(const obj *o, long double *out) {
    if (o->enc == ENC_INT) {
        *out = (long double)o->ival;
        return 1;
    }
    return util_str_to_ld(o->ptr, dstr_len(o->ptr), out);
}

void cmd_incrbyfloat(client *c) {
    server *s = c->srv;
    obj *o = db_lookup_write(s, c->db, c->argv[1]);
    if (not_string(c, o)) return;
    long double value = 0, incr;
    if ((o && !obj_to_ld(o, &value)) ||
        !util_str_to_ld(c->argv[2], dstr_len(c->argv[2]), &incr)) {
        reply_error(c, ERR_NOT_FLOAT);
        return;
    }
    value += incr;
    if (isnan(value) || isinf(value)) {
        reply_error(c, "ERR increment would produce NaN or Infinity");
        return;
    }
    char buf[5600];
    int len = util_ld_to_str(buf, sizeof(buf), value);
    obj *n = obj_string_new(buf, (size_t)len);
    if (o)
        db_replace_value(s, c->db, c->argv[1], n);
    else
        db_add(s, c->db, c->argv[1], n);
    notify_event(s, NOTIFY_STRING, "incrbyfloat", c->argv[1], c->db->id);
    server_dirty(c, 1);
    reply_bulk(c, buf, (size_t)len);
    client_rewrite_argv(c, 4, dstr_from("SET"), dstr_dup(c->argv[1]), dstr_new(buf, (size_t)len),
                        dstr_from("KEEPTTL"));
}

void cmd_getrange(client *c) {
    long long start, end;
    if (arg_ll(c, c->argv[2], &start) < 0) return;
    if (arg_ll(c, c->argv[3], &end) < 0) return;
    obj *o = db_lookup_read(c->srv, c->db, c->argv[1]);
    if (!o) {
        reply_bulk(c, "", 0);
        return;
    }
    if (not_string(c, o)) return;
    char buf[32];
    size_t slen;
    const char *str = obj_string_bytes(o, buf, &slen);
    long long len = (long long)slen;
    if (start < 0 && end < 0 && start > end) {
        reply_bulk(c, "", 0);
        return;
    }
    if (start < 0) start = len + start;
    if (end < 0) end = len + end;
    if (start < 0) start = 0;
    if (end < 0) end = 0;
    if (end >= len) end = len - 1;
    if (start > end || len == 0)
        reply_bulk(c, "", 0);
    else
        reply_bulk(c, str + start, (size_t)(end - start + 1));
}

void cmd_setrange(client *c) {
    server *s = c->srv;
    long long offset;
    if (arg_ll(c, c->argv[2], &offset) < 0) return;
    if (offset < 0) {
        reply_error(c, "ERR offset is out of range");
        return;
    }
    const dstr value = c->argv[3];
    size_t vlen = dstr_len(value);
    obj *o = db_lookup_write(s, c->db, c->argv[1]);
    if (!o) {
        if (vlen == 0) {
            reply_int(c, 0);
            return;
        }
        if (check_string_length(c, offset, (long long)vlen) < 0) return;
        o = obj_string_raw(dstr_grow_zero(dstr_empty(), (size_t)offset + vlen));
        db_add(s, c->db, c->argv[1], o);
    } else {
        if (not_string(c, o)) return;
        if (vlen == 0) {
            reply_int(c, (long long)obj_string_len(o));
            return;
        }
        if (check_string_length(c, offset, (long long)vlen) < 0) return;
        o = string_unshare_raw(c, o, c->argv[1]);
    }
    o->ptr = dstr_grow_zero(o->ptr, (size_t)offset + vlen);
    memcpy(o->ptr + offset, value, vlen);
    db_signal_modified(s, c->db, c->argv[1]);
    notify_event(s, NOTIFY_STRING, "setrange", c->argv[1], c->db->id);
    server_dirty(c, 1);
    reply_int(c, (long long)dstr_len(o->ptr));
}
