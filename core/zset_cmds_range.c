/* zset_cmds_range: the range commands: ZRANGE (BYSCORE, BYLEX, REV,
 * LIMIT, WITHSCORES), ZRANGESTORE, the older ZREVRANGE,
 * Z[REV]RANGEBYSCORE and Z[REV]RANGEBYLEX forms, ZCOUNT, ZLEXCOUNT and
 * ZREMRANGEBYRANK/SCORE/LEX.
 *
 * Every form goes through one parser (zrange_generic) with the form's
 * fixed range type and direction, which is how Redis 7.0 gives each of
 * them the same errors in the same order: options first (a bad LIMIT
 * integer, an unknown word), then the LIMIT/WITHSCORES combination
 * errors, then the range bounds, and the key last. Results go to a
 * range_out: the client's reply, or for ZRANGESTORE a new sorted set that
 * replaces the destination.
 *
 * Walks use a zset_cursor, so each command is written once for both
 * encodings. Where Redis's two encodings answer differently (a lex range
 * over members whose scores differ: the listpack is walked in order, the
 * skiplist is searched), the cursor reproduces each encoding's answer. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/commands.h"
#include "core/db.h"
#include "core/mem.h"
#include "core/notify.h"
#include "core/reply.h"
#include "core/util.h"
#include "core/zset_cmds.h"

enum range_type { RANGE_AUTO, RANGE_RANK, RANGE_SCORE, RANGE_LEX };
enum range_dir { DIR_AUTO, DIR_FORWARD, DIR_REVERSE };

/* ---- range arguments -------------------------------------------------- */

/* strtod on the whole argument, with what strtod forgives (leading
 * spaces, hex, "inf", an empty string read as 0): Redis parses score
 * bounds that way. */
static int parse_score_bound(const dstr arg, double *v, int *ex) {
    const char *p = arg;
    char *end;
    *ex = 0;
    if (p[0] == '(') {
        p++;
        *ex = 1;
    }
    *v = strtod(p, &end);
    return (*end != '\0' || isnan(*v)) ? -1 : 0;
}

int zset_parse_score_range(const dstr min, const dstr max, zscore_range *r) {
    if (parse_score_bound(min, &r->min, &r->minex) < 0) return -1;
    if (parse_score_bound(max, &r->max, &r->maxex) < 0) return -1;
    return 0;
}

static int parse_lex_bound(const dstr arg, zlex_bound *b) {
    b->inf = 0;
    switch (arg[0]) {
    case '+':
    case '-':
        if (arg[1] != '\0') return -1;
        b->inf = arg[0] == '+' ? 1 : -1;
        b->ex = 1;
        b->p = NULL;
        b->len = 0;
        return 0;
    case '(':
    case '[':
        b->ex = arg[0] == '(';
        b->p = arg + 1;
        b->len = dstr_len(arg) - 1;
        return 0;
    default:
        return -1;
    }
}

int zset_parse_lex_range(const dstr min, const dstr max, zlex_range *r) {
    if (parse_lex_bound(min, &r->min) < 0 || parse_lex_bound(max, &r->max) < 0) return -1;
    return 0;
}

/* ---- where results go ------------------------------------------------- */

void zset_store_result(client *c, const dstr key, obj *dst, const char *event) {
    server *s = c->srv;
    if (dst && zset_length(dst)) {
        long long n = (long long)zset_length(dst);
        db_lookup_write(s, c->db, key); /* an expired destination goes first */
        db_set(s, c->db, key, dst, 0);
        reply_int(c, n);
        notify_event(s, NOTIFY_ZSET, event, key, c->db->id);
        server_dirty(c, 1);
        return;
    }
    if (dst) obj_free(dst);
    reply_int(c, 0);
    if (notify_delete(s, c->db, key)) server_dirty(c, 1);
}

typedef struct range_out {
    client *c;
    int withscores;
    const dstr dstkey; /* ZRANGESTORE */
    obj *dst;
    size_t handle;
    int deferred;
    long emitted;
} range_out;

/* length: the number of results when known, -1 otherwise. */
static void out_begin(range_out *out, long length) {
    out->emitted = 0;
    if (out->dstkey) {
        out->dst = length > (long)out->c->srv->cfg.zset_max_listpack_entries ? zset_new_big(0)
                                                                             : zset_new_small();
        return;
    }
    out->deferred = length <= 0;
    if (out->deferred)
        out->handle = reply_defer_len(out->c);
    else
        reply_pair_list(out->c, length, out->withscores);
}

static void out_emit(range_out *out, const zentry *e) {
    out->emitted++;
    if (out->dstkey) {
        int flags;
        dstr m = dstr_new(e->m, e->len);
        zset_add(&out->c->srv->cfg, out->dst, e->score, m, 0, &flags, NULL);
        dstr_free(m);
        return;
    }
    reply_pair(out->c, out->withscores);
    reply_bulk(out->c, e->m, e->len);
    if (out->withscores) reply_double(out->c, e->score);
}

static void out_end(range_out *out) {
    if (out->dstkey) {
        zset_store_result(out->c, out->dstkey, out->dst, "zrangestore");
        out->dst = NULL;
        return;
    }
    if (out->deferred)
        reply_set_deferred_len(out->c, out->handle,
                               reply_pair_list_len(out->c, out->emitted, out->withscores));
}

/* ---- the three kinds of range ----------------------------------------- */

static void range_by_rank(range_out *out, const obj *o, long start, long end, int reverse) {
    long llen = (long)zset_length(o);
    if (start < 0) start = llen + start;
    if (end < 0) end = llen + end;
    if (start < 0) start = 0;
    if (start > end || start >= llen) {
        out_begin(out, 0);
        out_end(out);
        return;
    }
    if (end >= llen) end = llen - 1;
    long n = end - start + 1;
    out_begin(out, n);
    zset_cursor cur;
    zcur_open(&cur, o);
    zcur_seek_rank(&cur, reverse ? llen - 1 - start : start);
    while (n--) {
        zentry e;
        zcur_get(&cur, &e);
        out_emit(out, &e);
        if (reverse)
            zcur_prev(&cur);
        else
            zcur_next(&cur);
    }
    zcur_close(&cur);
    out_end(out);
}

/* Score and lex ranges: find the first element from the chosen end, skip
 * `offset` (a negative offset walks off the end, as in Redis), then emit
 * up to `limit` (negative: no limit) while inside the range. */
static void range_by_bounds(range_out *out, const obj *o, const zscore_range *sr,
                            const zlex_range *lr, long offset, long limit, int reverse) {
    out_begin(out, -1);
    if (sr && offset > 0 && offset >= (long)zset_length(o)) {
        out_end(out);
        return;
    }
    zset_cursor cur;
    zcur_open(&cur, o);
    if (sr)
        zcur_seek_score(&cur, sr, reverse);
    else
        zcur_seek_lex(&cur, lr, reverse);
    while (zcur_valid(&cur) && offset--) {
        if (reverse)
            zcur_prev(&cur);
        else
            zcur_next(&cur);
    }
    while (zcur_valid(&cur) && limit--) {
        zentry e;
        zcur_get(&cur, &e);
        int inside;
        if (sr)
            inside = reverse ? zscore_gte_min(e.score, sr) : zscore_lte_max(e.score, sr);
        else
            inside = reverse ? zlex_gte_min(e.m, e.len, lr) : zlex_lte_max(e.m, e.len, lr);
        if (!inside) break;
        out_emit(out, &e);
        if (reverse)
            zcur_prev(&cur);
        else
            zcur_next(&cur);
    }
    zcur_close(&cur);
    out_end(out);
}

static void zrange_generic(client *c, int argc_start, const dstr dstkey, int type, int dir) {
    const dstr key = c->argv[argc_start];
    int minidx = argc_start + 1, maxidx = argc_start + 2;
    long long opt_start = 0, opt_end = 0, offset = 0, limit = -1;
    int withscores = 0;
    for (int j = argc_start + 3; j < c->argc; j++) {
        int left = c->argc - j - 1;
        const dstr a = c->argv[j];
        if (!dstkey && arg_is(a, "withscores")) {
            withscores = 1;
        } else if (arg_is(a, "limit") && left >= 2) {
            if (arg_ll(c, c->argv[j + 1], &offset) < 0 || arg_ll(c, c->argv[j + 2], &limit) < 0)
                return;
            j += 2;
        } else if (dir == DIR_AUTO && arg_is(a, "rev")) {
            dir = DIR_REVERSE;
        } else if (type == RANGE_AUTO && arg_is(a, "bylex")) {
            type = RANGE_LEX;
        } else if (type == RANGE_AUTO && arg_is(a, "byscore")) {
            type = RANGE_SCORE;
        } else {
            reply_error(c, ERR_SYNTAX);
            return;
        }
    }
    if (dir == DIR_AUTO) dir = DIR_FORWARD;
    if (type == RANGE_AUTO) type = RANGE_RANK;
    if (limit != -1 && type == RANGE_RANK) {
        reply_error(c, "ERR syntax error, LIMIT is only supported in combination with either "
                       "BYSCORE or BYLEX");
        return;
    }
    if (withscores && type == RANGE_LEX) {
        reply_error(c, "ERR syntax error, WITHSCORES not supported in combination with BYLEX");
        return;
    }
    int reverse = dir == DIR_REVERSE;
    if (reverse && type != RANGE_RANK) {
        int t = minidx;
        minidx = maxidx;
        maxidx = t;
    }
    zscore_range sr;
    zlex_range lr;
    if (type == RANGE_RANK) {
        if (arg_ll(c, c->argv[minidx], &opt_start) < 0 || arg_ll(c, c->argv[maxidx], &opt_end) < 0)
            return;
    } else if (type == RANGE_SCORE) {
        if (zset_parse_score_range(c->argv[minidx], c->argv[maxidx], &sr) < 0) {
            reply_error(c, "ERR min or max is not a float");
            return;
        }
    } else if (zset_parse_lex_range(c->argv[minidx], c->argv[maxidx], &lr) < 0) {
        reply_error(c, "ERR min or max not valid string range item");
        return;
    }
    range_out out = {c, withscores || dstkey, dstkey, NULL, 0, 0, 0};
    obj *o = db_lookup_read(c->srv, c->db, key);
    if (!o) {
        if (dstkey) {
            out_begin(&out, -1);
            out_end(&out);
        } else {
            reply_array(c, 0);
        }
        return;
    }
    if (zset_wrong_type(c, o)) return;
    if (type == RANGE_RANK)
        range_by_rank(&out, o, (long)opt_start, (long)opt_end, reverse);
    else
        range_by_bounds(&out, o, type == RANGE_SCORE ? &sr : NULL, type == RANGE_LEX ? &lr : NULL,
                        (long)offset, (long)limit, reverse);
}

void cmd_zrange(client *c) { zrange_generic(c, 1, NULL, RANGE_AUTO, DIR_AUTO); }
void cmd_zrangestore(client *c) { zrange_generic(c, 2, c->argv[1], RANGE_AUTO, DIR_AUTO); }
void cmd_zrevrange(client *c) { zrange_generic(c, 1, NULL, RANGE_RANK, DIR_REVERSE); }
void cmd_zrangebyscore(client *c) { zrange_generic(c, 1, NULL, RANGE_SCORE, DIR_FORWARD); }
void cmd_zrevrangebyscore(client *c) { zrange_generic(c, 1, NULL, RANGE_SCORE, DIR_REVERSE); }
void cmd_zrangebylex(client *c) { zrange_generic(c, 1, NULL, RANGE_LEX, DIR_FORWARD); }
void cmd_zrevrangebylex(client *c) { zrange_generic(c, 1, NULL, RANGE_LEX, DIR_REVERSE); }

/* ---- counting and removing by range ----------------------------------- */

/* Position on the first element of the range and return how many
 * consecutive elements from there are inside it. A small set is walked
 * (Redis's listpack code); a large one is measured by ranks, except when
 * removing, which walks in both encodings. *first gets the first rank. */
static long range_span(const obj *o, const zscore_range *sr, const zlex_range *lr, int by_rank,
                       long *first) {
    zset_cursor cur;
    long n = 0;
    zcur_open(&cur, o);
    int found = sr ? zcur_seek_score(&cur, sr, 0) : zcur_seek_lex(&cur, lr, 0);
    if (!found) {
        zcur_close(&cur);
        return 0;
    }
    *first = zcur_rank(&cur);
    if (by_rank && o->enc == ENC_SKIPLIST) {
        long r1 = *first;
        int has_last = sr ? zcur_seek_score(&cur, sr, 1) : zcur_seek_lex(&cur, lr, 1);
        n = has_last ? zcur_rank(&cur) - r1 + 1 : (long)zset_length(o) - r1;
    } else {
        for (; zcur_valid(&cur); zcur_next(&cur), n++) {
            zentry e;
            zcur_get(&cur, &e);
            if (sr ? !zscore_lte_max(e.score, sr) : !zlex_lte_max(e.m, e.len, lr)) break;
        }
    }
    zcur_close(&cur);
    return n;
}

static void count_generic(client *c, int lex) {
    zscore_range sr;
    zlex_range lr;
    if (lex ? zset_parse_lex_range(c->argv[2], c->argv[3], &lr) < 0
            : zset_parse_score_range(c->argv[2], c->argv[3], &sr) < 0) {
        reply_error(c, lex ? "ERR min or max not valid string range item"
                           : "ERR min or max is not a float");
        return;
    }
    obj *o = db_lookup_read(c->srv, c->db, c->argv[1]);
    if (!o) {
        reply_int(c, 0);
        return;
    }
    if (zset_wrong_type(c, o)) return;
    long first;
    reply_int(c, range_span(o, lex ? NULL : &sr, lex ? &lr : NULL, 1, &first));
}

void cmd_zcount(client *c) { count_generic(c, 0); }
void cmd_zlexcount(client *c) { count_generic(c, 1); }

static const char *const remrange_events[] = {
    [RANGE_RANK] = "zremrangebyrank",
    [RANGE_SCORE] = "zremrangebyscore",
    [RANGE_LEX] = "zremrangebylex",
};

static void zremrange_generic(client *c, int type) {
    server *s = c->srv;
    const dstr key = c->argv[1];
    long long start = 0, end = 0;
    zscore_range sr;
    zlex_range lr;
    if (type == RANGE_RANK) {
        if (arg_ll(c, c->argv[2], &start) < 0 || arg_ll(c, c->argv[3], &end) < 0) return;
    } else if (type == RANGE_SCORE) {
        if (zset_parse_score_range(c->argv[2], c->argv[3], &sr) < 0) {
            reply_error(c, "ERR min or max is not a float");
            return;
        }
    } else if (zset_parse_lex_range(c->argv[2], c->argv[3], &lr) < 0) {
        reply_error(c, "ERR min or max not valid string range item");
        return;
    }
    obj *o = db_lookup_write(s, c->db, key);
    if (!o) {
        reply_int(c, 0);
        return;
    }
    if (zset_wrong_type(c, o)) return;
    long long llen = (long long)zset_length(o);
    size_t deleted = 0;
    if (type == RANGE_RANK) {
        if (start < 0) start = llen + start;
        if (end < 0) end = llen + end;
        if (start < 0) start = 0;
        if (start > end || start >= llen) {
            reply_int(c, 0);
            return;
        }
        if (end >= llen) end = llen - 1;
        deleted = zset_delete_ranks(o, (size_t)start, (size_t)end);
    } else {
        long first = 0;
        long n = range_span(o, type == RANGE_SCORE ? &sr : NULL, type == RANGE_LEX ? &lr : NULL, 0,
                            &first);
        if (n > 0) deleted = zset_delete_ranks(o, (size_t)first, (size_t)(first + n - 1));
    }
    int emptied = zset_length(o) == 0;
    if (emptied) db_delete(s, c->db, key);
    if (deleted) {
        db_signal_modified(s, c->db, key);
        notify_event(s, NOTIFY_ZSET, remrange_events[type], key, c->db->id);
        if (emptied) notify_event(s, NOTIFY_GENERIC, "del", key, c->db->id);
        server_dirty(c, (long long)deleted);
    }
    reply_int(c, (long long)deleted);
}

void cmd_zremrangebyrank(client *c) { zremrange_generic(c, RANGE_RANK); }
void cmd_zremrangebyscore(client *c) { zremrange_generic(c, RANGE_SCORE); }
void cmd_zremrangebylex(client *c) { zremrange_generic(c, RANGE_LEX); }
