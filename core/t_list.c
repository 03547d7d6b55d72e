/* t_list: the list commands, blocking pops included.
 *
 * Values. Every list is a quicklist (quicklist.h) and reports the encoding
 * "quicklist", as every list does in Redis 7.0 (the listpack encoding for
 * small lists only arrived in 7.2). A list is never empty: the command that
 * removes the last element deletes the key.
 *
 * Replies and errors follow Redis 7.0 command by command, including the
 * order in which arguments are checked: LRANGE, LTRIM, LREM and LPOP with
 * a count parse their numbers before looking at the key, LINDEX and LSET
 * look at the key first; LINSERT and LMOVE check their LEFT/RIGHT/BEFORE/
 * AFTER words first; LPOS parses all options first.
 *
 * Propagation (what Redis 7.0 replicates):
 *   LMPOP / BLMPOP        -> LPOP|RPOP key <number actually popped>
 *   BLPOP / BRPOP         -> LPOP|RPOP key
 *   BLMOVE                -> LMOVE src dst <wherefrom> <whereto>, the words
 *                            as typed when served at once, LEFT/RIGHT when
 *                            served after blocking (Redis builds that argv
 *                            from its shared objects)
 *   BRPOPLPUSH            -> RPOPLPUSH src dst
 * everything else as sent. LTRIM that removes nothing, LREM that finds
 * nothing and a pop from a missing key are not propagated (dirty stays).
 *
 * Blocking. A blocking pop that finds nothing calls block_for_keys(); when
 * one of its keys receives a list the same command runs again with the
 * same argv (blocking.h) and takes the non-blocking path above. Inside
 * MULTI, or for clients that may not block, the reply comes at once: *-1
 * for BLPOP/BRPOP/BLMPOP, $-1 for BLMOVE/BRPOPLPUSH (as LMOVE would). A
 * timeout after blocking is *-1 for all five, BLMOVE included: Redis 7.0
 * answers every timed-out list waiter with a null array. */
#include "core/t_list.h"

#include <limits.h>
#include <string.h>

#include "core/blocking.h"
#include "core/commands.h"
#include "core/db.h"
#include "core/debug.h"
#include "core/mem.h"
#include "core/notify.h"
#include "core/reply.h"
#include "core/types.h"
#include "core/util.h"

#define QL(o) ((quicklist *)(o)->ptr)

/* ---- values ---- */

obj *list_obj_new(const server *s) {
    obj *o = mem_alloc(sizeof(*o));
    o->type = OBJ_LIST;
    o->enc = ENC_QUICKLIST;
    o->lru = obj_lru_clock();
    o->ptr = ql_create(s->cfg.list_max_listpack_size, s->cfg.list_compress_depth);
    return o;
}

void list_obj_push(obj *o, const void *p, size_t len, int where) {
    ql_push(QL(o), p, len, where);
}

unsigned long list_obj_length(const obj *o) { return ql_count(QL(o)); }

void list_iter_init(list_iter *li, const obj *o) { ql_iter_init(&li->it, QL(o), 0, 1); }

int list_iter_next(list_iter *li, lpl_elem *out) {
    const unsigned char *p = ql_iter_next(&li->it);
    if (!p) return 0;
    lpl_read(p, out);
    return 1;
}

static void list_free_value(obj *o) { ql_release(QL(o)); }
static void *list_dup_value(const obj *o) { return ql_dup(QL(o)); }

/* Redis 7.0's xorObjectDigest mixes every element's string form, in
 * order, into the key's digest. */
static void list_digest(const obj *o, unsigned char digest[20]) {
    ql_iter it;
    ql_iter_init(&it, QL(o), 0, 1);
    const unsigned char *p;
    while ((p = ql_iter_next(&it))) {
        lpl_elem e;
        char buf[UTIL_LONG_STR_SIZE];
        size_t len;
        lpl_read(p, &e);
        const char *s = lpl_elem_bytes(&e, buf, &len);
        digest_mix(digest, s, len);
    }
}

static const obj_type_ops list_ops = {list_free_value, list_dup_value, list_digest};

/* ---- shared helpers ---- */

static int wrong_type(client *c, const obj *o) {
    if (o && o->type != OBJ_LIST) {
        reply_error(c, ERR_WRONGTYPE);
        return 1;
    }
    return 0;
}

/* An element longer than a run can describe (only reachable when
 * proto-max-bulk-len was raised past 4 GiB). */
static int too_big(client *c, int from, int to) {
    for (int j = from; j <= to; j++) {
        if (dstr_len(c->argv[j]) > LPL_MAX_STRING) {
            reply_error(c, "ERR element too large for a list");
            return 1;
        }
    }
    return 0;
}

static void reply_elem(client *c, const lpl_elem *e) {
    if (e->str)
        reply_bulk(c, e->str, e->len);
    else
        reply_bulk_ll(c, e->ival);
}

/* After elements left a list (the command's `event`): delete the key if
 * it is now empty (the value is freed then), otherwise tell WATCH. */
static void list_removed(client *c, const dstr key, obj *o, long long n, const char *event) {
    notify_event(c->srv, NOTIFY_LIST, event, key, c->db->id);
    if (ql_count(QL(o)) == 0)
        notify_delete(c->srv, c->db, key);
    else
        db_signal_modified(c->srv, c->db, key);
    server_dirty(c, n);
}

static int parse_side(client *c, const dstr a, int *where) {
    if (arg_is(a, "left")) {
        *where = QL_HEAD;
    } else if (arg_is(a, "right")) {
        *where = QL_TAIL;
    } else {
        reply_error(c, ERR_SYNTAX);
        return -1;
    }
    return 0;
}

/* Redis's getPositiveLongFromObjectOrReply: a parse failure and a
 * negative number give the same message. */
static int arg_non_negative(client *c, const dstr a, long long *out, const char *msg) {
    if (!util_str_to_ll(a, dstr_len(a), out) || *out < 0) {
        reply_error(c, msg);
        return -1;
    }
    return 0;
}

/* LRANGE's reply, built in a local buffer and handed to the client in big
 * pieces: on long ranges this is most of the command's cost. */
typedef struct range_writer {
    client *c;
    size_t used;
    char buf[16384];
} range_writer;

static void rw_flush(range_writer *w) {
    if (w->used) reply_raw(w->c, w->buf, w->used);
    w->used = 0;
}

static void rw_add(range_writer *w, const unsigned char *p) {
    lpl_elem e;
    char num[UTIL_LONG_STR_SIZE];
    size_t len;
    lpl_read(p, &e);
    const char *s = lpl_elem_bytes(&e, num, &len);
    if (len + 32 > sizeof(w->buf) - w->used) {
        rw_flush(w);
        if (len + 32 > sizeof(w->buf)) {
            reply_bulk(w->c, s, len);
            return;
        }
    }
    char *d = w->buf + w->used;
    *d++ = '$';
    d += util_ull_to_str(d, UTIL_LONG_STR_SIZE, len);
    *d++ = '\r';
    *d++ = '\n';
    memcpy(d, s, len);
    d += len;
    *d++ = '\r';
    *d++ = '\n';
    w->used = (size_t)(d - w->buf);
}

/* Reply n elements starting at index `from`, towards the tail or the
 * head. */
static void reply_range(client *c, quicklist *ql, unsigned long from, unsigned long n,
                        int forward) {
    range_writer *w = mem_alloc(sizeof(*w));
    w->c = c;
    w->used = 0;
    reply_array(c, (long long)n);
    ql_iter it;
    ql_iter_init(&it, ql, from, forward);
    const unsigned char *p;
    while (n-- && (p = ql_iter_next(&it))) rw_add(w, p);
    rw_flush(w);
    mem_free(w);
}

/* Reply and remove up to `count` elements from one end (LPOP/RPOP with a
 * count, LMPOP): the array is in popping order. Returns how many. */
static long long pop_range(client *c, obj *o, int where, long long count) {
    quicklist *ql = QL(o);
    unsigned long n = (unsigned long)count < ql->count ? (unsigned long)count : ql->count;
    if (where == QL_HEAD) {
        reply_range(c, ql, 0, n, 1);
        ql_del_range(ql, 0, n);
    } else {
        reply_range(c, ql, ql->count - 1, n, 0);
        ql_del_range(ql, ql->count - n, n);
    }
    return (long long)n;
}

/* Reply and remove the element at one end. */
static void pop_one(client *c, obj *o, int where) {
    lpl_elem e;
    ql_peek(QL(o), where, &e);
    reply_elem(c, &e);
    ql_pop(QL(o), where);
}

static dstr pop_word(int where) { return dstr_from(where == QL_HEAD ? "LPOP" : "RPOP"); }
static const char *pop_event(int where) { return where == QL_HEAD ? "lpop" : "rpop"; }
static const char *push_event(int where) { return where == QL_HEAD ? "lpush" : "rpush"; }

/* ---- push ---- */

static void push_generic(client *c, int where, int only_existing) {
    obj *o = db_lookup_write(c->srv, c->db, c->argv[1]);
    if (wrong_type(c, o)) return;
    if (!o && only_existing) {
        reply_int(c, 0);
        return;
    }
    if (too_big(c, 2, c->argc - 1)) return;
    if (!o) {
        o = list_obj_new(c->srv);
        db_add(c->srv, c->db, c->argv[1], o);
    }
    for (int j = 2; j < c->argc; j++) ql_push(QL(o), c->argv[j], dstr_len(c->argv[j]), where);
    reply_int(c, (long long)ql_count(QL(o)));
    db_signal_modified(c->srv, c->db, c->argv[1]);
    notify_event(c->srv, NOTIFY_LIST, push_event(where), c->argv[1], c->db->id);
    server_dirty(c, c->argc - 2);
}

static void cmd_lpush(client *c) { push_generic(c, QL_HEAD, 0); }
static void cmd_rpush(client *c) { push_generic(c, QL_TAIL, 0); }
static void cmd_lpushx(client *c) { push_generic(c, QL_HEAD, 1); }
static void cmd_rpushx(client *c) { push_generic(c, QL_TAIL, 1); }

static void cmd_linsert(client *c) {
    int after;
    if (arg_is(c->argv[2], "after")) {
        after = 1;
    } else if (arg_is(c->argv[2], "before")) {
        after = 0;
    } else {
        reply_error(c, ERR_SYNTAX);
        return;
    }
    obj *o = db_lookup_write(c->srv, c->db, c->argv[1]);
    if (!o) {
        reply_int(c, 0);
        return;
    }
    if (wrong_type(c, o) || too_big(c, 4, 4)) return;
    lpl_entry pivot, e;
    lpl_prepare(&pivot, c->argv[3], dstr_len(c->argv[3]));
    lpl_prepare(&e, c->argv[4], dstr_len(c->argv[4]));
    ql_iter it;
    ql_iter_init(&it, QL(o), 0, 1);
    const unsigned char *p;
    while ((p = ql_iter_next(&it))) {
        if (lpl_matches(p, &pivot)) {
            ql_iter_insert(&it, &e, after);
            db_signal_modified(c->srv, c->db, c->argv[1]);
            notify_event(c->srv, NOTIFY_LIST, "linsert", c->argv[1], c->db->id);
            server_dirty(c, 1);
            reply_int(c, (long long)ql_count(QL(o)));
            return;
        }
    }
    reply_int(c, -1);
}

/* ---- reads ---- */

static void cmd_llen(client *c) {
    obj *o = db_lookup_read(c->srv, c->db, c->argv[1]);
    if (!o) {
        reply_int(c, 0);
        return;
    }
    if (wrong_type(c, o)) return;
    reply_int(c, (long long)ql_count(QL(o)));
}

static void cmd_lindex(client *c) {
    obj *o = db_lookup_read(c->srv, c->db, c->argv[1]);
    if (!o) {
        reply_null(c);
        return;
    }
    long long index;
    if (wrong_type(c, o) || arg_ll(c, c->argv[2], &index)) return;
    lpl_elem e;
    if (ql_index(QL(o), index, &e))
        reply_elem(c, &e);
    else
        reply_null(c);
}

/* Redis's index arithmetic for LRANGE and LTRIM: negative indexes count
 * from the tail, start is clamped at 0, end at the last element. Returns
 * 0 when the range is empty. */
static int clamp_range(long long start, long long end, long long llen, long long *from,
                       long long *to) {
    if (start < 0) start = llen + start;
    if (end < 0) end = llen + end;
    if (start < 0) start = 0;
    if (start > end || start >= llen) return 0;
    if (end >= llen) end = llen - 1;
    *from = start;
    *to = end;
    return 1;
}

static void cmd_lrange(client *c) {
    long long start, end, from, to;
    if (arg_ll(c, c->argv[2], &start) || arg_ll(c, c->argv[3], &end)) return;
    obj *o = db_lookup_read(c->srv, c->db, c->argv[1]);
    if (!o) {
        reply_array(c, 0);
        return;
    }
    if (wrong_type(c, o)) return;
    if (!clamp_range(start, end, (long long)ql_count(QL(o)), &from, &to)) {
        reply_array(c, 0);
        return;
    }
    reply_range(c, QL(o), (unsigned long)from, (unsigned long)(to - from + 1), 1);
}

static void cmd_lpos(client *c) {
    long long rank = 1, count = -1, maxlen = 0;
    for (int j = 3; j < c->argc; j++) {
        int more = j + 1 < c->argc;
        if (arg_is(c->argv[j], "rank") && more) {
            if (arg_ll(c, c->argv[++j], &rank)) return;
            if (rank == 0) {
                reply_error(c, "ERR RANK can't be zero: use 1 to start from the first match, 2 "
                               "from the second ... or use negative to start from the end of "
                               "the list");
                return;
            }
        } else if (arg_is(c->argv[j], "count") && more) {
            if (arg_non_negative(c, c->argv[++j], &count, "ERR COUNT can't be negative")) return;
        } else if (arg_is(c->argv[j], "maxlen") && more) {
            if (arg_non_negative(c, c->argv[++j], &maxlen, "ERR MAXLEN can't be negative"))
                return;
        } else {
            reply_error(c, ERR_SYNTAX);
            return;
        }
    }
    int forward = 1;
    if (rank < 0) {
        /* Redis negates a long: LLONG_MIN stays negative, and then every
         * match satisfies "matches >= rank". */
        if (rank != LLONG_MIN) rank = -rank;
        forward = 0;
    }
    obj *o = db_lookup_read(c->srv, c->db, c->argv[1]);
    if (!o) {
        if (count != -1)
            reply_array(c, 0);
        else
            reply_null(c);
        return;
    }
    if (wrong_type(c, o)) return;
    lpl_entry want;
    lpl_prepare(&want, c->argv[2], dstr_len(c->argv[2]));
    size_t handle = count != -1 ? reply_defer_len(c) : 0;
    long long llen = (long long)ql_count(QL(o));
    long long index = 0, matches = 0, matchindex = -1, arraylen = 0;
    ql_iter it;
    ql_iter_init(&it, QL(o), forward ? 0 : (unsigned long)(llen - 1), forward);
    const unsigned char *p;
    while ((p = ql_iter_next(&it)) && (maxlen == 0 || index < maxlen)) {
        if (lpl_matches(p, &want)) {
            matches++;
            matchindex = forward ? index : llen - index - 1;
            if (matches >= rank) {
                if (count == -1) break;
                arraylen++;
                reply_int(c, matchindex);
                /* matches - rank + 1, wrapping like Redis's long math. */
                long long got =
                    (long long)((unsigned long long)matches - (unsigned long long)rank + 1);
                if (count && got >= count) break;
            }
        }
        index++;
        matchindex = -1;
    }
    if (count != -1)
        reply_set_deferred_len(c, handle, arraylen);
    else if (matchindex != -1)
        reply_int(c, matchindex);
    else
        reply_null(c);
}

/* ---- in-place changes ---- */

static void cmd_lset(client *c) {
    obj *o = db_lookup_write(c->srv, c->db, c->argv[1]);
    if (!o) {
        reply_error(c, ERR_NO_KEY);
        return;
    }
    long long index;
    if (wrong_type(c, o) || arg_ll(c, c->argv[2], &index) || too_big(c, 3, 3)) return;
    lpl_entry e;
    lpl_prepare(&e, c->argv[3], dstr_len(c->argv[3]));
    if (!ql_replace(QL(o), index, &e)) {
        reply_error(c, "ERR index out of range");
        return;
    }
    reply_ok(c);
    db_signal_modified(c->srv, c->db, c->argv[1]);
    notify_event(c->srv, NOTIFY_LIST, "lset", c->argv[1], c->db->id);
    server_dirty(c, 1);
}

static void cmd_lrem(client *c) {
    long long toremove;
    if (arg_ll(c, c->argv[2], &toremove)) return;
    obj *o = db_lookup_write(c->srv, c->db, c->argv[1]);
    if (!o) {
        reply_int(c, 0);
        return;
    }
    if (wrong_type(c, o)) return;
    lpl_entry want;
    lpl_prepare(&want, c->argv[3], dstr_len(c->argv[3]));
    quicklist *ql = QL(o);
    int forward = toremove >= 0;
    /* LLEN_MIN negated stays negative in Redis and never equals the
     * removed count: it removes every match, like 0. */
    if (toremove < 0) toremove = toremove == LLONG_MIN ? 0 : -toremove;
    ql_iter it;
    ql_iter_init(&it, ql, forward ? 0 : ql->count - 1, forward);
    long long removed = 0;
    const unsigned char *p;
    while ((p = ql_iter_next(&it))) {
        if (!lpl_matches(p, &want)) continue;
        ql_iter_delete(&it);
        removed++;
        if (toremove && removed == toremove) break;
    }
    if (removed) list_removed(c, c->argv[1], o, removed, "lrem");
    reply_int(c, removed);
}

static void cmd_ltrim(client *c) {
    long long start, end, from, to;
    if (arg_ll(c, c->argv[2], &start) || arg_ll(c, c->argv[3], &end)) return;
    obj *o = db_lookup_write(c->srv, c->db, c->argv[1]);
    if (!o) {
        reply_ok(c);
        return;
    }
    if (wrong_type(c, o)) return;
    quicklist *ql = QL(o);
    long long llen = (long long)ql_count(ql), ltrim, rtrim;
    if (clamp_range(start, end, llen, &from, &to)) {
        ltrim = from;
        rtrim = llen - to - 1;
    } else {
        ltrim = llen;
        rtrim = 0;
    }
    ql_del_range(ql, 0, (unsigned long)ltrim);
    ql_del_range(ql, ql->count - (unsigned long)rtrim, (unsigned long)rtrim);
    list_removed(c, c->argv[1], o, ltrim + rtrim, "ltrim");
    reply_ok(c);
}

/* ---- pops ---- */

static void pop_generic(client *c, int where) {
    int hascount = c->argc == 3;
    long long count = 0;
    if (c->argc > 3) {
        reply_errorf(c, "ERR wrong number of arguments for '%s' command", c->cmd->name);
        return;
    }
    if (hascount &&
        arg_non_negative(c, c->argv[2], &count, "ERR value is out of range, must be positive"))
        return;
    obj *o = db_lookup_write(c->srv, c->db, c->argv[1]);
    if (!o) {
        if (hascount)
            reply_null_array(c);
        else
            reply_null(c);
        return;
    }
    if (wrong_type(c, o)) return;
    if (!hascount) {
        pop_one(c, o, where);
        list_removed(c, c->argv[1], o, 1, pop_event(where));
    } else if (count == 0) {
        reply_array(c, 0);
    } else {
        long long n = pop_range(c, o, where, count);
        list_removed(c, c->argv[1], o, n, pop_event(where));
    }
}

static void cmd_lpop(client *c) { pop_generic(c, QL_HEAD); }
static void cmd_rpop(client *c) { pop_generic(c, QL_TAIL); }

/* Pop from the first non-empty list among keys, as LMPOP, BLMPOP (count
 * >= 1) and BLPOP/BRPOP (count -1: a single element, flat reply) do.
 * Returns 1 when served (or on WRONGTYPE), 0 when every key was empty. */
static int pop_first_nonempty(client *c, dstr *keys, int nkeys, int where, long long count) {
    /* A blocked client is served from the key that became ready, as Redis
     * does, not from the first of its keys that happens to hold data. */
    dstr ready = blocking_ready_key(c);
    int first = 0;
    for (int j = 0; ready && j < nkeys; j++) {
        if (!dstr_cmp(keys[j], ready)) {
            first = j;
            break;
        }
    }
    for (int jj = 0; jj < nkeys; jj++) {
        int j = jj == 0 ? first : (jj <= first ? jj - 1 : jj);
        obj *o = db_lookup_write(c->srv, c->db, keys[j]);
        if (!o) continue;
        if (wrong_type(c, o)) return 1;
        dstr key = dstr_dup(keys[j]);
        reply_array(c, 2);
        reply_bulk_dstr(c, key);
        if (count < 0) {
            pop_one(c, o, where);
            list_removed(c, key, o, 1, pop_event(where));
            client_rewrite_argv(c, 2, pop_word(where), key);
        } else {
            long long n = pop_range(c, o, where, count);
            list_removed(c, key, o, n, pop_event(where));
            client_rewrite_argv(c, 3, pop_word(where), key, dstr_from_ll(n));
        }
        return 1;
    }
    return 0;
}

/* LMPOP numkeys key [key ...] LEFT|RIGHT [COUNT n] and BLMPOP timeout
 * numkeys ...: numkeys, the side and COUNT are checked before the timeout,
 * as in Redis. */
static void mpop_generic(client *c, int numkeys_idx, int blocking) {
    long long numkeys, count = -1;
    int where;
    if (arg_ll_range(c, c->argv[numkeys_idx], 1, LLONG_MAX, &numkeys,
                     "ERR numkeys should be greater than 0"))
        return;
    if (numkeys >= c->argc - numkeys_idx - 1) {
        reply_error(c, ERR_SYNTAX);
        return;
    }
    int where_idx = numkeys_idx + (int)numkeys + 1;
    if (parse_side(c, c->argv[where_idx], &where)) return;
    for (int j = where_idx + 1; j < c->argc; j++) {
        if (count == -1 && arg_is(c->argv[j], "count") && j + 1 < c->argc) {
            if (arg_ll_range(c, c->argv[++j], 1, LLONG_MAX, &count,
                             "ERR count should be greater than 0"))
                return;
        } else {
            reply_error(c, ERR_SYNTAX);
            return;
        }
    }
    if (count == -1) count = 1;
    dstr *keys = c->argv + numkeys_idx + 1;
    long long timeout = 0;
    if (blocking && parse_block_timeout(c, c->argv[1], &timeout) < 0) return;
    if (pop_first_nonempty(c, keys, (int)numkeys, where, count)) return;
    if (blocking && client_may_block(c))
        block_for_keys(c, keys, (int)numkeys, OBJ_LIST, timeout, "*-1\r\n");
    else
        reply_null_array(c);
}

static void cmd_lmpop(client *c) { mpop_generic(c, 1, 0); }
static void cmd_blmpop(client *c) { mpop_generic(c, 2, 1); }

static void bpop_generic(client *c, int where) {
    long long timeout;
    if (parse_block_timeout(c, c->argv[c->argc - 1], &timeout) < 0) return;
    if (pop_first_nonempty(c, c->argv + 1, c->argc - 2, where, -1)) return;
    if (client_may_block(c))
        block_for_keys(c, c->argv + 1, c->argc - 2, OBJ_LIST, timeout, "*-1\r\n");
    else
        reply_null_array(c);
}

static void cmd_blpop(client *c) { bpop_generic(c, QL_HEAD); }
static void cmd_brpop(client *c) { bpop_generic(c, QL_TAIL); }

/* ---- moves ---- */

enum move_form { MOVE_AS_SENT, MOVE_AS_LMOVE, MOVE_AS_RPOPLPUSH };

/* Move one element from the non-empty list src (argv[1]) to argv[2]. */
static void move_element(client *c, obj *src, int from, int to, enum move_form form) {
    obj *dst = db_lookup_write(c->srv, c->db, c->argv[2]);
    if (wrong_type(c, dst)) return;
    /* Copy the element out first: popping frees its bytes, and src may be
     * dst. */
    lpl_elem e;
    ql_peek(QL(src), from, &e);
    dstr copy = e.str ? dstr_new(e.str, e.len) : NULL;
    if (copy) e.str = (const unsigned char *)copy;
    ql_pop(QL(src), from);
    if (!dst) {
        dst = list_obj_new(c->srv);
        db_add(c->srv, c->db, c->argv[2], dst);
    }
    lpl_entry ent;
    lpl_prepare_elem(&ent, &e);
    ql_push_entry(QL(dst), &ent, to);
    db_signal_modified(c->srv, c->db, c->argv[2]);
    notify_event(c->srv, NOTIFY_LIST, push_event(to), c->argv[2], c->db->id);
    reply_elem(c, &e);
    dstr_free(copy);
    list_removed(c, c->argv[1], src, 1, pop_event(from));
    if (form == MOVE_AS_RPOPLPUSH) {
        client_rewrite_argv(c, 3, dstr_from("RPOPLPUSH"), dstr_dup(c->argv[1]),
                            dstr_dup(c->argv[2]));
    } else if (form == MOVE_AS_LMOVE) {
        /* A BLMOVE served at once keeps its words as typed; one served
         * after blocking is rebuilt with lowercase left/right, the words
         * Redis 7.0 propagates (its shared.left and shared.right). */
        int served = (c->flags & CLIENT_BLOCKED) != 0;
        dstr wf = served ? dstr_from(from == QL_HEAD ? "left" : "right") : dstr_dup(c->argv[3]);
        dstr wt = served ? dstr_from(to == QL_HEAD ? "left" : "right") : dstr_dup(c->argv[4]);
        client_rewrite_argv(c, 5, dstr_from("LMOVE"), dstr_dup(c->argv[1]), dstr_dup(c->argv[2]),
                            wf, wt);
    }
}

static void move_generic(client *c, int from, int to) {
    obj *src = db_lookup_write(c->srv, c->db, c->argv[1]);
    if (!src) {
        reply_null(c);
        return;
    }
    if (wrong_type(c, src)) return;
    move_element(c, src, from, to, MOVE_AS_SENT);
}

static void cmd_rpoplpush(client *c) { move_generic(c, QL_TAIL, QL_HEAD); }

static void cmd_lmove(client *c) {
    int from, to;
    if (parse_side(c, c->argv[3], &from) || parse_side(c, c->argv[4], &to)) return;
    move_generic(c, from, to);
}

static void blocking_move(client *c, int from, int to, long long timeout, enum move_form form) {
    obj *src = db_lookup_write(c->srv, c->db, c->argv[1]);
    if (wrong_type(c, src)) return;
    if (src) {
        move_element(c, src, from, to, form);
    } else if (client_may_block(c)) {
        block_for_keys(c, c->argv + 1, 1, OBJ_LIST, timeout, "*-1\r\n");
    } else {
        reply_null(c);
    }
}

static void cmd_blmove(client *c) {
    int from, to;
    long long timeout;
    if (parse_side(c, c->argv[3], &from) || parse_side(c, c->argv[4], &to)) return;
    if (parse_block_timeout(c, c->argv[5], &timeout) < 0) return;
    blocking_move(c, from, to, timeout, MOVE_AS_LMOVE);
}

static void cmd_brpoplpush(client *c) {
    long long timeout;
    if (parse_block_timeout(c, c->argv[3], &timeout) < 0) return;
    blocking_move(c, QL_TAIL, QL_HEAD, timeout, MOVE_AS_RPOPLPUSH);
}

/* ---- registration ---- */

#define W CMD_WRITE
#define R CMD_READONLY
#define D CMD_DENYOOM
#define F CMD_FAST
#define NS CMD_NOSCRIPT
#define B CMD_BLOCKING
#define CMD(n, p, a, f, fk, lk, ks) COMMAND_ROW(n, p, a, f, fk, lk, ks)

/* Arity, flags and key positions as COMMAND INFO shows them in Redis 7.0
 * (LMPOP and BLMPOP have movable keys: 0 0 0). */
static command list_commands[] = {
    CMD("lpush", cmd_lpush, -3, W | D | F, 1, 1, 1),
    CMD("rpush", cmd_rpush, -3, W | D | F, 1, 1, 1),
    CMD("lpushx", cmd_lpushx, -3, W | D | F, 1, 1, 1),
    CMD("rpushx", cmd_rpushx, -3, W | D | F, 1, 1, 1),
    CMD("linsert", cmd_linsert, 5, W | D, 1, 1, 1),
    CMD("llen", cmd_llen, 2, R | F, 1, 1, 1),
    CMD("lindex", cmd_lindex, 3, R, 1, 1, 1),
    CMD("lrange", cmd_lrange, 4, R, 1, 1, 1),
    CMD("lpos", cmd_lpos, -3, R, 1, 1, 1),
    CMD("lset", cmd_lset, 4, W | D, 1, 1, 1),
    CMD("lrem", cmd_lrem, 4, W, 1, 1, 1),
    CMD("ltrim", cmd_ltrim, 4, W, 1, 1, 1),
    CMD("lpop", cmd_lpop, -2, W | F, 1, 1, 1),
    CMD("rpop", cmd_rpop, -2, W | F, 1, 1, 1),
    CMD("lmpop", cmd_lmpop, -4, W | CMD_MOVABLE_KEYS, 0, 0, 0),
    CMD("rpoplpush", cmd_rpoplpush, 3, W | D, 1, 2, 1),
    CMD("lmove", cmd_lmove, 5, W | D, 1, 2, 1),
    CMD("blpop", cmd_blpop, -3, W | NS | B, 1, -2, 1),
    CMD("brpop", cmd_brpop, -3, W | NS | B, 1, -2, 1),
    CMD("brpoplpush", cmd_brpoplpush, 4, W | D | NS | B, 1, 2, 1),
    CMD("blmove", cmd_blmove, 6, W | D | NS | B, 1, 2, 1),
    CMD("blmpop", cmd_blmpop, -5, W | B | CMD_MOVABLE_KEYS, 0, 0, 0),
    COMMAND_END,
};

void t_list_register(void) {
    obj_register_type(OBJ_LIST, &list_ops);
    commands_register_table(list_commands);
}
