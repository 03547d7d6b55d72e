/* zset_cmds_setop: ZUNION, ZINTER, ZDIFF, their *STORE forms and
 * ZINTERCARD.
 *
 * Inputs may be sorted sets or plain sets (every member of a set scores
 * 1); a missing key is an empty input. The result is built as a large
 * sorted set (hash table + skiplist), then replied in order or stored,
 * shrunk to the small encoding when it fits, exactly as Redis 7.0 does.
 *
 * Floating point: sums are not associative, so the order in which the
 * inputs are combined is part of the answer. Like Redis, ZUNION and ZINTER
 * first sort the inputs by cardinality, smallest first; Redis sorts with
 * glibc's qsort, a stable merge sort, so inputs of equal size keep their
 * argument order here too. ZUNION accumulates each member's score input
 * by input; ZINTER walks the smallest input and adds the others in that
 * order. A NaN from a weight times an infinite score, or from inf + -inf,
 * becomes 0, as in Redis.
 *
 * ZDIFF picks between Redis's two algorithms by the same estimate: test
 * each member of the first input against the others, or copy the first
 * input and remove the others' members. */
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/commands.h"
#include "core/db.h"
#include "core/mem.h"
#include "core/notify.h"
#include "core/reply.h"
#include "core/t_set.h"
#include "core/util.h"
#include "core/zset_cmds.h"

enum setop { OP_UNION, OP_INTER, OP_DIFF };
enum aggregate { AGG_SUM, AGG_MIN, AGG_MAX };

/* One input: a sorted set, a set, or nothing (missing key). */
typedef struct zsrc {
    obj *o;
    double weight;
    size_t len;
    int pos; /* argument order, for the stable sort */
} zsrc;

/* A member of an input; `m` is valid until the next zsrc_next. */
typedef struct zval {
    dstr m;
    double score;
} zval;

typedef struct zsrc_iter {
    const zsrc *src;
    zset_iter zi;
    set_iter si;
    dstr tmp; /* member built for this step (small sets, intsets) */
} zsrc_iter;

static void zsrc_iter_init(zsrc_iter *it, const zsrc *src) {
    it->src = src;
    it->tmp = NULL;
    if (src->o->type == OBJ_ZSET)
        zset_iter_init(&it->zi, src->o);
    else
        set_iter_init(src->o, &it->si);
}

static int zsrc_next(zsrc_iter *it, zval *v) {
    if (it->tmp) dstr_free(it->tmp);
    it->tmp = NULL;
    const obj *o = it->src->o;
    if (o->type == OBJ_ZSET) {
        zentry e;
        if (!zset_iter_next(&it->zi, &e)) return 0;
        v->score = e.score;
        /* A large set's members are the nodes' dstrs: no copy needed. */
        v->m = o->enc == ENC_SKIPLIST ? (dstr)e.m : (it->tmp = dstr_new(e.m, e.len));
        return 1;
    }
    set_elem e;
    if (!set_iter_next(&it->si, &e)) return 0;
    v->score = 1.0;
    v->m = e.is_int ? (it->tmp = set_elem_dstr(&e)) : (dstr)e.p;
    return 1;
}

/* The current member as a dstr the caller owns. */
static dstr zsrc_take(zsrc_iter *it, const zval *v) {
    if (it->tmp && it->tmp == v->m) {
        it->tmp = NULL;
        return v->m;
    }
    return dstr_dup(v->m);
}

static void zsrc_iter_done(zsrc_iter *it) {
    if (it->tmp) dstr_free(it->tmp);
    it->tmp = NULL;
    if (it->src->o->type == OBJ_SET) set_iter_done(&it->si);
}

static int zsrc_find(const zsrc *src, const dstr m, double *score) {
    if (!src->o) return 0;
    if (src->o->type == OBJ_ZSET) return zset_score(src->o, m, score);
    if (!set_is_member(src->o, m)) return 0;
    *score = 1.0;
    return 1;
}

static void aggregate(double *target, double v, int agg) {
    if (agg == AGG_SUM) {
        *target = *target + v;
        if (isnan(*target)) *target = 0.0; /* inf + -inf */
    } else if (agg == AGG_MIN) {
        *target = v < *target ? v : *target;
    } else {
        *target = v > *target ? v : *target;
    }
}

static int by_cardinality(const void *a, const void *b) {
    const zsrc *x = a, *y = b;
    if (x->len != y->len) return x->len < y->len ? -1 : 1;
    return x->pos - y->pos;
}

/* ---- the operations --------------------------------------------------- */

static const dict_type accumulator_type = {dict_dstr_hash, dict_dstr_eq, NULL, NULL};

static void do_union(zsrc *src, long n, int agg, obj *dst) {
    dict *acc = dict_create(&accumulator_type);
    dict_expand(acc, src[n - 1].len);
    for (long i = 0; i < n; i++) {
        if (src[i].len == 0) continue;
        zsrc_iter it;
        zval v;
        zsrc_iter_init(&it, &src[i]);
        while (zsrc_next(&it, &v)) {
            double score = src[i].weight * v.score;
            if (isnan(score)) score = 0;
            dict_entry *existing;
            dict_entry *de = dict_add_raw(acc, v.m, &existing);
            if (de) {
                de->key = zsrc_take(&it, &v);
                de->v.d = score;
            } else {
                aggregate(&existing->v.d, score, agg);
            }
        }
        zsrc_iter_done(&it);
    }
    dict_iter di;
    dict_entry *de;
    dict_expand(((zset_big *)dst->ptr)->dict, dict_size(acc));
    dict_iter_init(acc, &di);
    while ((de = dict_iter_next(&di))) zset_insert_new(dst, de->v.d, de->key);
    dict_iter_done(&di);
    dict_release(acc); /* the keys moved into dst */
}

/* Returns the cardinality (for ZINTERCARD, which passes dst NULL). */
static unsigned long do_inter(zsrc *src, long n, int agg, obj *dst, long limit) {
    unsigned long card = 0;
    if (src[0].len == 0) return 0;
    zsrc_iter it;
    zval v;
    zsrc_iter_init(&it, &src[0]);
    while (zsrc_next(&it, &v)) {
        double score = src[0].weight * v.score, value;
        if (isnan(score)) score = 0;
        long j;
        for (j = 1; j < n; j++) {
            if (src[j].o == src[0].o) {
                value = v.score * src[j].weight;
            } else if (zsrc_find(&src[j], v.m, &value)) {
                value *= src[j].weight;
            } else {
                break;
            }
            aggregate(&score, value, agg);
        }
        if (j < n) continue;
        card++;
        if (dst)
            zset_insert_new(dst, score, zsrc_take(&it, &v));
        else if (limit && card >= (unsigned long)limit)
            break;
    }
    zsrc_iter_done(&it);
    return card;
}

static void do_diff(zsrc *src, long n, obj *dst) {
    if (src[0].len == 0) return;
    long long work1 = 0, work2 = 0;
    for (long j = 0; j < n; j++) {
        if (j > 0 && src[j].o == src[0].o) return; /* A - A - ... is empty */
        work1 += (long long)src[0].len;
        work2 += (long long)src[j].len;
    }
    zsrc_iter it;
    zval v;
    if (work1 / 2 <= work2) {
        /* Each member of the first input against every other input. */
        zsrc_iter_init(&it, &src[0]);
        while (zsrc_next(&it, &v)) {
            double ignored;
            long j;
            for (j = 1; j < n; j++)
                if (zsrc_find(&src[j], v.m, &ignored)) break;
            if (j == n) zset_insert_new(dst, v.score, zsrc_take(&it, &v));
        }
        zsrc_iter_done(&it);
        return;
    }
    /* Copy the first input, then remove every member of the others. */
    size_t card = 0;
    for (long j = 0; j < n; j++) {
        if (src[j].len == 0) continue;
        zsrc_iter_init(&it, &src[j]);
        while (zsrc_next(&it, &v)) {
            if (j == 0) {
                zset_insert_new(dst, v.score, zsrc_take(&it, &v));
                card++;
            } else if (zset_delete(dst, v.m)) {
                card--;
            }
            if (card == 0) break;
        }
        zsrc_iter_done(&it);
        if (card == 0) break;
    }
}

/* ---- the commands ----------------------------------------------------- */

static const char *const setop_events[] = {
    [OP_UNION] = "zunionstore",
    [OP_INTER] = "zinterstore",
    [OP_DIFF] = "zdiffstore",
};

static void setop_generic(client *c, const dstr dstkey, int numkeys_idx, int op, int card_only) {
    long long setnum;
    if (arg_ll(c, c->argv[numkeys_idx], &setnum) < 0) return;
    if (setnum < 1) {
        reply_errorf(c, "ERR at least 1 input key is needed for '%s' command", c->cmd->name);
        return;
    }
    if (setnum > c->argc - (numkeys_idx + 1)) {
        reply_error(c, ERR_SYNTAX);
        return;
    }
    zsrc *src = mem_calloc(sizeof(zsrc) * (size_t)setnum);
    int j = numkeys_idx + 1;
    for (long i = 0; i < setnum; i++, j++) {
        obj *o = db_lookup_read(c->srv, c->db, c->argv[j]);
        if (o && o->type != OBJ_ZSET && o->type != OBJ_SET) {
            mem_free(src);
            reply_error(c, ERR_WRONGTYPE);
            return;
        }
        src[i].o = o;
        src[i].len = !o ? 0 : (o->type == OBJ_ZSET ? zset_length(o) : set_size(o));
        src[i].weight = 1.0;
        src[i].pos = (int)i;
    }
    int agg = AGG_SUM, withscores = 0;
    long long limit = 0;
    while (j < c->argc) {
        long remaining = c->argc - j;
        const dstr a = c->argv[j];
        if (op != OP_DIFF && !card_only && remaining >= setnum + 1 && arg_is(a, "weights")) {
            j++;
            for (long i = 0; i < setnum; i++, j++) {
                if (!util_str_to_d(c->argv[j], dstr_len(c->argv[j]), &src[i].weight)) {
                    mem_free(src);
                    reply_error(c, "ERR weight value is not a float");
                    return;
                }
            }
        } else if (op != OP_DIFF && !card_only && remaining >= 2 && arg_is(a, "aggregate")) {
            const dstr how = c->argv[j + 1];
            if (arg_is(how, "sum")) {
                agg = AGG_SUM;
            } else if (arg_is(how, "min")) {
                agg = AGG_MIN;
            } else if (arg_is(how, "max")) {
                agg = AGG_MAX;
            } else {
                mem_free(src);
                reply_error(c, ERR_SYNTAX);
                return;
            }
            j += 2;
        } else if (!dstkey && !card_only && arg_is(a, "withscores")) {
            withscores = 1;
            j++;
        } else if (card_only && remaining >= 2 && arg_is(a, "limit")) {
            if (arg_ll_range(c, c->argv[j + 1], 0, LONG_MAX, &limit,
                             "ERR LIMIT can't be negative") < 0) {
                mem_free(src);
                return;
            }
            j += 2;
        } else {
            mem_free(src);
            reply_error(c, ERR_SYNTAX);
            return;
        }
    }
    if (op != OP_DIFF) qsort(src, (size_t)setnum, sizeof(zsrc), by_cardinality);

    if (card_only) {
        reply_int(c, (long long)do_inter(src, setnum, agg, NULL, (long)limit));
        mem_free(src);
        return;
    }
    obj *dst = zset_new_big(0);
    if (op == OP_UNION)
        do_union(src, setnum, agg, dst);
    else if (op == OP_INTER)
        do_inter(src, setnum, agg, dst, 0);
    else
        do_diff(src, setnum, dst);
    mem_free(src);

    if (dstkey) {
        if (zset_length(dst)) zset_convert_to_small_if_fits(&c->srv->cfg, dst);
        zset_store_result(c, dstkey, dst, setop_events[op]);
        return;
    }
    size_t len = zset_length(dst);
    reply_pair_list(c, (long long)len, withscores);
    zset_iter it;
    zentry e;
    zset_iter_init(&it, dst);
    while (zset_iter_next(&it, &e)) {
        reply_pair(c, withscores);
        reply_bulk(c, e.m, e.len);
        if (withscores) reply_double(c, e.score);
    }
    obj_free(dst);
}

void cmd_zunionstore(client *c) { setop_generic(c, c->argv[1], 2, OP_UNION, 0); }
void cmd_zinterstore(client *c) { setop_generic(c, c->argv[1], 2, OP_INTER, 0); }
void cmd_zdiffstore(client *c) { setop_generic(c, c->argv[1], 2, OP_DIFF, 0); }
void cmd_zunion(client *c) { setop_generic(c, NULL, 1, OP_UNION, 0); }
void cmd_zinter(client *c) { setop_generic(c, NULL, 1, OP_INTER, 0); }
void cmd_zdiff(client *c) { setop_generic(c, NULL, 1, OP_DIFF, 0); }
void cmd_zintercard(client *c) { setop_generic(c, NULL, 1, OP_INTER, 1); }
