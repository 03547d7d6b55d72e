/* t_zset: the sorted set type: encodings, conversions, the operations the
 * commands and RDB build on, the value hooks (free, COPY, DEBUG DIGEST)
 * and the command table. See t_zset.h for the encodings and when each is
 * used.
 *
 * Conversions follow Redis 7.0 exactly, because OBJECT ENCODING and the
 * RDB type written depend on them:
 *   - ZADD on a missing key creates a skiplist when
 *     zset-max-listpack-entries is 0 or the first member is longer than
 *     zset-max-listpack-value, else a small set (whatever the number of
 *     pairs given; duplicates do not count twice);
 *   - zset_add converts a small set before adding a member that would make
 *     it exceed either threshold; updates never convert;
 *   - deletions never convert back;
 *   - Z*STORE builds its result big and shrinks it when it fits;
 *     ZRANGESTORE starts small unless the rank range is longer than the
 *     entries threshold.
 *
 * DEBUG DIGEST: each element contributes, xor-combined so that order does
 * not matter, mix(mix(0, member), score as "%.17g"), as in Redis 7.0's
 * xorObjectDigest. The small encoding keeps -0 as 0 like Redis's listpack
 * does, so both servers digest the same text. */
#include "core/t_zset.h"

#include <math.h>
#include <string.h>

#include "core/commands.h"
#include "core/debug.h"
#include "core/mem.h"
#include "core/util.h"
#include "core/zset_cmds.h"

static const dict_type zset_dict_type = {dict_dstr_hash, dict_dstr_eq, NULL, NULL};

static obj *zset_obj(int enc, void *ptr) {
    obj *o = mem_alloc(sizeof(*o));
    o->type = OBJ_ZSET;
    o->enc = (uint8_t)enc;
    o->lru = obj_lru_clock();
    o->ptr = ptr;
    return o;
}

static zset_big *big_new(size_t size_hint) {
    zset_big *zb = mem_alloc(sizeof(*zb));
    zb->dict = dict_create(&zset_dict_type);
    zb->zsl = zsl_create();
    if (size_hint) dict_expand(zb->dict, size_hint);
    return zb;
}

static void big_free(zset_big *zb) {
    dict_release(zb->dict); /* keys belong to the nodes */
    zsl_free(zb->zsl);
    mem_free(zb);
}

/* Insert a member known to be absent. */
static void big_insert(zset_big *zb, double score, const char *m, size_t len) {
    dstr ele = dstr_new(m, len);
    zsl_node *n = zsl_insert(zb->zsl, score, ele);
    dict_add(zb->dict, ele, n);
}

void zset_insert_new(obj *o, double score, dstr ele) {
    zset_big *zb = o->ptr;
    zsl_node *n = zsl_insert(zb->zsl, score, ele);
    dict_add(zb->dict, ele, n);
}

obj *zset_new_small(void) { return zset_obj(ENC_LISTPACK, zpack_new()); }
obj *zset_new_big(size_t size_hint) { return zset_obj(ENC_SKIPLIST, big_new(size_hint)); }

size_t zset_length(const obj *o) {
    if (o->enc == ENC_LISTPACK) return zpack_count(o->ptr);
    return ((const zset_big *)o->ptr)->zsl->length;
}

int zset_fits_small(const config *cfg, size_t count, size_t maxlen) {
    return count <= (size_t)cfg->zset_max_listpack_entries &&
           maxlen <= (size_t)cfg->zset_max_listpack_value;
}

void zset_convert(obj *o, int enc) {
    if (o->enc == enc) return;
    if (enc == ENC_SKIPLIST) {
        uint8_t *zp = o->ptr;
        zset_big *zb = big_new(zpack_count(zp));
        size_t end = zpack_bytes(zp), off = ZPACK_HEADER;
        while (off < end) {
            zentry e;
            off = zpack_next(zp, off, &e);
            big_insert(zb, e.score, e.m, e.len);
        }
        zpack_free(zp);
        o->ptr = zb;
        o->enc = ENC_SKIPLIST;
    } else {
        zset_big *zb = o->ptr;
        uint8_t *zp = zpack_new();
        for (zsl_node *n = zb->zsl->header->level[0].forward; n; n = n->level[0].forward)
            zp = zpack_append(zp, n->score, n->ele, dstr_len(n->ele));
        big_free(zb);
        o->ptr = zp;
        o->enc = ENC_LISTPACK;
    }
}

size_t zset_max_member_len(const obj *o) {
    size_t max = 0;
    zset_iter it;
    zentry e;
    zset_iter_init(&it, o);
    while (zset_iter_next(&it, &e))
        if (e.len > max) max = e.len;
    return max;
}

void zset_convert_to_small_if_fits(const config *cfg, obj *o) {
    if (o->enc == ENC_LISTPACK) return;
    if (zset_fits_small(cfg, zset_length(o), zset_max_member_len(o))) zset_convert(o, ENC_LISTPACK);
}

int zset_score(const obj *o, const dstr m, double *score) {
    if (o->enc == ENC_LISTPACK) return zpack_find(o->ptr, m, dstr_len(m), score) != 0;
    const zset_big *zb = o->ptr;
    dict_entry *de = dict_find(zb->dict, m);
    if (!de) return 0;
    *score = ((zsl_node *)de->v.val)->score;
    return 1;
}

/* The part of zset_add that decides what happens to a present member:
 * returns -1 for NaN, 0 for nothing to do, 1 to set *score. */
static int existing_member_update(int in_flags, double cur, double *score, int *out_flags) {
    if (in_flags & ZADD_IN_NX) {
        *out_flags |= ZADD_OUT_NOP;
        return 0;
    }
    if (in_flags & ZADD_IN_INCR) {
        *score += cur;
        if (isnan(*score)) {
            *out_flags |= ZADD_OUT_NAN;
            return -1;
        }
    }
    if (((in_flags & ZADD_IN_LT) && *score >= cur) || ((in_flags & ZADD_IN_GT) && *score <= cur)) {
        *out_flags |= ZADD_OUT_NOP;
        return 0;
    }
    return 1;
}

int zset_add(const config *cfg, obj *o, double score, const dstr m, int in_flags, int *out_flags,
             double *newscore) {
    size_t len = dstr_len(m);
    *out_flags = 0;
    if (isnan(score)) {
        *out_flags = ZADD_OUT_NAN;
        return 0;
    }
    if (o->enc == ENC_LISTPACK) {
        double cur;
        size_t off = zpack_find(o->ptr, m, len, &cur);
        if (off) {
            int r = existing_member_update(in_flags, cur, &score, out_flags);
            if (r <= 0) return r == 0;
            if (newscore) *newscore = score;
            if (score != cur) {
                o->ptr = zpack_delete_at(o->ptr, off);
                o->ptr = zpack_insert(o->ptr, score, m, len);
                *out_flags |= ZADD_OUT_UPDATED;
            }
            return 1;
        }
        if (in_flags & ZADD_IN_XX) {
            *out_flags |= ZADD_OUT_NOP;
            return 1;
        }
        if (zpack_count(o->ptr) + 1 <= (size_t)cfg->zset_max_listpack_entries &&
            len <= (size_t)cfg->zset_max_listpack_value) {
            o->ptr = zpack_insert(o->ptr, score, m, len);
            if (newscore) *newscore = score;
            *out_flags |= ZADD_OUT_ADDED;
            return 1;
        }
        zset_convert(o, ENC_SKIPLIST);
    }
    zset_big *zb = o->ptr;
    dict_entry *de = dict_find(zb->dict, m);
    if (de) {
        zsl_node *n = de->v.val;
        double cur = n->score;
        int r = existing_member_update(in_flags, cur, &score, out_flags);
        if (r <= 0) return r == 0;
        if (newscore) *newscore = score;
        if (score != cur) {
            zsl_update_score(zb->zsl, cur, m, len, score);
            *out_flags |= ZADD_OUT_UPDATED;
        }
        return 1;
    }
    if (in_flags & ZADD_IN_XX) {
        *out_flags |= ZADD_OUT_NOP;
        return 1;
    }
    big_insert(zb, score, m, len);
    if (newscore) *newscore = score;
    *out_flags |= ZADD_OUT_ADDED;
    return 1;
}

int zset_delete(obj *o, const dstr m) {
    if (o->enc == ENC_LISTPACK) {
        size_t off = zpack_find(o->ptr, m, dstr_len(m), NULL);
        if (!off) return 0;
        o->ptr = zpack_delete_at(o->ptr, off);
        return 1;
    }
    zset_big *zb = o->ptr;
    dict_entry *de = dict_unlink(zb->dict, m);
    if (!de) return 0;
    zsl_node *n = de->v.val;
    dict_free_unlinked(zb->dict, de);
    n = zsl_unlink(zb->zsl, n->score, m, dstr_len(m));
    zsl_free_node(n);
    dict_shrink_if_needed(zb->dict);
    return 1;
}

static void drop_from_dict(void *priv, zsl_node *n) { dict_delete(priv, n->ele); }

size_t zset_delete_ranks(obj *o, size_t start, size_t end) {
    if (o->enc == ENC_LISTPACK) {
        size_t before = zpack_count(o->ptr);
        o->ptr = zpack_delete_ranks(o->ptr, start, end);
        return before - zpack_count(o->ptr);
    }
    zset_big *zb = o->ptr;
    size_t n = zsl_delete_rank_range(zb->zsl, start + 1, end + 1, drop_from_dict, zb->dict);
    dict_shrink_if_needed(zb->dict);
    return n;
}

long zset_rank(const obj *o, const dstr m, int reverse) {
    long len = (long)zset_length(o), rank;
    if (o->enc == ENC_LISTPACK) {
        rank = zpack_rank(o->ptr, m, dstr_len(m));
        if (rank < 0) return -1;
    } else {
        const zset_big *zb = o->ptr;
        dict_entry *de = dict_find(zb->dict, m);
        if (!de) return -1;
        zsl_node *n = de->v.val;
        rank = (long)zsl_rank(zb->zsl, n->score, m, dstr_len(m)) - 1;
    }
    return reverse ? len - 1 - rank : rank;
}

/* ---- iteration -------------------------------------------------------- */

void zset_iter_init(zset_iter *it, const obj *o) {
    it->o = o;
    it->off = ZPACK_HEADER;
    it->node = o->enc == ENC_SKIPLIST ? ((const zset_big *)o->ptr)->zsl->header->level[0].forward
                                      : NULL;
}

int zset_iter_next(zset_iter *it, zentry *e) {
    if (it->o->enc == ENC_LISTPACK) {
        if (it->off >= zpack_bytes(it->o->ptr)) return 0;
        it->off = zpack_next(it->o->ptr, it->off, e);
        return 1;
    }
    if (!it->node) return 0;
    e->m = it->node->ele;
    e->len = dstr_len(it->node->ele);
    e->score = it->node->score;
    it->node = it->node->level[0].forward;
    return 1;
}

/* ---- cursors ---------------------------------------------------------- */

void zcur_open(zset_cursor *cur, const obj *o) {
    cur->node = NULL;
    cur->view = NULL;
    cur->n = 0;
    cur->i = -1;
    if (o->enc == ENC_SKIPLIST) {
        cur->zsl = ((const zset_big *)o->ptr)->zsl;
        return;
    }
    cur->zsl = NULL;
    size_t n = zpack_count(o->ptr);
    cur->view = n <= ZSET_CURSOR_INLINE ? cur->inline_view : mem_alloc(n * sizeof(zentry));
    cur->n = (long)zpack_view(o->ptr, cur->view);
}

void zcur_close(zset_cursor *cur) {
    if (cur->view && cur->view != cur->inline_view) mem_free(cur->view);
    cur->view = NULL;
}

int zcur_valid(const zset_cursor *cur) {
    return cur->zsl ? cur->node != NULL : (cur->i >= 0 && cur->i < cur->n);
}

void zcur_get(const zset_cursor *cur, zentry *e) {
    if (cur->zsl) {
        e->m = cur->node->ele;
        e->len = dstr_len(cur->node->ele);
        e->score = cur->node->score;
    } else {
        *e = cur->view[cur->i];
    }
}

void zcur_next(zset_cursor *cur) {
    if (cur->zsl)
        cur->node = cur->node->level[0].forward;
    else
        cur->i++;
}

void zcur_prev(zset_cursor *cur) {
    if (cur->zsl)
        cur->node = cur->node->backward;
    else
        cur->i--;
}

long zcur_rank(const zset_cursor *cur) {
    if (!cur->zsl) return cur->i;
    const zsl_node *n = cur->node;
    return (long)zsl_rank(cur->zsl, n->score, n->ele, dstr_len(n->ele)) - 1;
}

void zcur_seek_rank(zset_cursor *cur, long rank) {
    if (cur->zsl)
        cur->node = zsl_at_rank(cur->zsl, (unsigned long)rank + 1);
    else
        cur->i = rank;
}

int zcur_seek_score(zset_cursor *cur, const zscore_range *r, int last) {
    if (cur->zsl) {
        cur->node = last ? zsl_last_in_score(cur->zsl, r) : zsl_first_in_score(cur->zsl, r);
        return cur->node != NULL;
    }
    cur->i = -1;
    if (!zscore_range_nonempty(r) || cur->n == 0) return 0;
    if (!zscore_gte_min(cur->view[cur->n - 1].score, r) || !zscore_lte_max(cur->view[0].score, r))
        return 0;
    if (last) {
        for (long i = cur->n - 1; i >= 0; i--)
            if (zscore_lte_max(cur->view[i].score, r)) {
                if (zscore_gte_min(cur->view[i].score, r)) cur->i = i;
                break;
            }
    } else {
        for (long i = 0; i < cur->n; i++)
            if (zscore_gte_min(cur->view[i].score, r)) {
                if (zscore_lte_max(cur->view[i].score, r)) cur->i = i;
                break;
            }
    }
    return cur->i >= 0;
}

/* For a small set this is Redis's listpack walk, element by element, which
 * matters when the scores differ (lex ranges are only meaningful when
 * they are all equal, but the answer must still be Redis's). */
int zcur_seek_lex(zset_cursor *cur, const zlex_range *r, int last) {
    if (cur->zsl) {
        cur->node = last ? zsl_last_in_lex(cur->zsl, r) : zsl_first_in_lex(cur->zsl, r);
        return cur->node != NULL;
    }
    cur->i = -1;
    if (!zlex_range_nonempty(r) || cur->n == 0) return 0;
    const zentry *v = cur->view;
    if (!zlex_gte_min(v[cur->n - 1].m, v[cur->n - 1].len, r) || !zlex_lte_max(v[0].m, v[0].len, r))
        return 0;
    if (last) {
        for (long i = cur->n - 1; i >= 0; i--)
            if (zlex_lte_max(v[i].m, v[i].len, r)) {
                if (zlex_gte_min(v[i].m, v[i].len, r)) cur->i = i;
                break;
            }
    } else {
        for (long i = 0; i < cur->n; i++)
            if (zlex_gte_min(v[i].m, v[i].len, r)) {
                if (zlex_lte_max(v[i].m, v[i].len, r)) cur->i = i;
                break;
            }
    }
    return cur->i >= 0;
}

/* ---- value hooks ------------------------------------------------------ */

static void zset_free_value(obj *o) {
    if (o->enc == ENC_LISTPACK)
        zpack_free(o->ptr);
    else
        big_free(o->ptr);
}

static void *zset_dup_value(const obj *o) {
    if (o->enc == ENC_LISTPACK) return zpack_dup(o->ptr);
    const zset_big *src = o->ptr;
    zset_big *zb = big_new(src->zsl->length);
    /* From the tail: each insertion lands at the head, the cheap end. */
    for (zsl_node *n = src->zsl->tail; n; n = n->backward)
        big_insert(zb, n->score, n->ele, dstr_len(n->ele));
    return zb;
}

static void zset_digest(const obj *o, unsigned char digest[20]) {
    zset_iter it;
    zentry e;
    zset_iter_init(&it, o);
    while (zset_iter_next(&it, &e)) {
        unsigned char ele[20];
        char buf[UTIL_DOUBLE_STR_SIZE];
        memset(ele, 0, sizeof(ele));
        digest_mix(ele, e.m, e.len);
        int n = util_d_to_str(buf, sizeof(buf), e.score);
        digest_mix(ele, buf, (size_t)n);
        digest_xor(digest, ele, sizeof(ele));
    }
}

static const obj_type_ops zset_ops = {zset_free_value, zset_dup_value, zset_digest};

/* ---- commands --------------------------------------------------------- */

#define W CMD_WRITE
#define R CMD_READONLY
#define D CMD_DENYOOM
#define F CMD_FAST
#define NS CMD_NOSCRIPT
#define BL CMD_BLOCKING
#define CMD(n, p, a, f, fk, lk, ks) COMMAND_ROW(n, p, a, f, fk, lk, ks)

static command zset_commands[] = {
    CMD("zadd", cmd_zadd, -4, W | D | F, 1, 1, 1),
    CMD("zincrby", cmd_zincrby, 4, W | D | F, 1, 1, 1),
    CMD("zrem", cmd_zrem, -3, W | F, 1, 1, 1),
    CMD("zcard", cmd_zcard, 2, R | F, 1, 1, 1),
    CMD("zscore", cmd_zscore, 3, R | F, 1, 1, 1),
    CMD("zmscore", cmd_zmscore, -3, R | F, 1, 1, 1),
    CMD("zrank", cmd_zrank, 3, R | F, 1, 1, 1),
    CMD("zrevrank", cmd_zrevrank, 3, R | F, 1, 1, 1),
    CMD("zrange", cmd_zrange, -4, R, 1, 1, 1),
    CMD("zrangestore", cmd_zrangestore, -5, W | D, 1, 2, 1),
    CMD("zrevrange", cmd_zrevrange, -4, R, 1, 1, 1),
    CMD("zrangebyscore", cmd_zrangebyscore, -4, R, 1, 1, 1),
    CMD("zrevrangebyscore", cmd_zrevrangebyscore, -4, R, 1, 1, 1),
    CMD("zrangebylex", cmd_zrangebylex, -4, R, 1, 1, 1),
    CMD("zrevrangebylex", cmd_zrevrangebylex, -4, R, 1, 1, 1),
    CMD("zcount", cmd_zcount, 4, R | F, 1, 1, 1),
    CMD("zlexcount", cmd_zlexcount, 4, R | F, 1, 1, 1),
    CMD("zremrangebyrank", cmd_zremrangebyrank, 4, W, 1, 1, 1),
    CMD("zremrangebyscore", cmd_zremrangebyscore, 4, W, 1, 1, 1),
    CMD("zremrangebylex", cmd_zremrangebylex, 4, W, 1, 1, 1),
    CMD("zpopmin", cmd_zpopmin, -2, W | F, 1, 1, 1),
    CMD("zpopmax", cmd_zpopmax, -2, W | F, 1, 1, 1),
    CMD("bzpopmin", cmd_bzpopmin, -3, W | NS | BL | F, 1, -2, 1),
    CMD("bzpopmax", cmd_bzpopmax, -3, W | NS | BL | F, 1, -2, 1),
    CMD("zmpop", cmd_zmpop, -4, W | CMD_MOVABLE_KEYS, 0, 0, 0),
    CMD("bzmpop", cmd_bzmpop, -5, W | BL | CMD_MOVABLE_KEYS, 0, 0, 0),
    CMD("zunionstore", cmd_zunionstore, -4, W | D | CMD_MOVABLE_KEYS, 1, 1, 1),
    CMD("zinterstore", cmd_zinterstore, -4, W | D | CMD_MOVABLE_KEYS, 1, 1, 1),
    CMD("zdiffstore", cmd_zdiffstore, -4, W | D | CMD_MOVABLE_KEYS, 1, 1, 1),
    CMD("zunion", cmd_zunion, -3, R | CMD_MOVABLE_KEYS, 0, 0, 0),
    CMD("zinter", cmd_zinter, -3, R | CMD_MOVABLE_KEYS, 0, 0, 0),
    CMD("zdiff", cmd_zdiff, -3, R | CMD_MOVABLE_KEYS, 0, 0, 0),
    CMD("zintercard", cmd_zintercard, -3, R | CMD_MOVABLE_KEYS, 0, 0, 0),
    CMD("zscan", cmd_zscan, -3, R, 1, 1, 1),
    CMD("zrandmember", cmd_zrandmember, -2, R, 1, 1, 1),
    COMMAND_END,
};

void t_zset_register(void) {
    obj_register_type(OBJ_ZSET, &zset_ops);
    commands_register_table(zset_commands);
}
