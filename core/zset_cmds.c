/* zset_cmds: the sorted set commands that touch one member or pop: ZADD,
 * ZINCRBY, ZREM, ZCARD, ZSCORE, ZMSCORE, ZRANK, ZREVRANK, ZPOPMIN/MAX,
 * BZPOPMIN/MAX, ZMPOP, BZMPOP, ZRANDMEMBER and ZSCAN.
 *
 * Argument checks come in Redis 7.0's order, so that a command with
 * several mistakes gets the same error: ZADD checks its option
 * combination, then parses every score, and only then looks at the key
 * (a bad float beats WRONGTYPE).
 *
 * Propagation (what server_dirty makes call_command queue): ZADD, ZINCRBY,
 * ZREM and ZPOPMIN/MAX go as they came; ZMPOP becomes
 * `ZPOPMIN|ZPOPMAX key <popped>`; a BZPOPMIN/MAX that serves becomes
 * `ZPOPMIN|ZPOPMAX key`, a BZMPOP `ZPOPMIN|ZPOPMAX key <popped>`. A
 * blocking pop that finds nothing waits through block_for_keys and is run
 * again, with the same arguments, when a sorted set appears on one of its
 * keys; inside MULTI it answers nil at once. */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/blocking.h"
#include "core/commands.h"
#include "core/db.h"
#include "core/mem.h"
#include "core/notify.h"
#include "core/reply.h"
#include "core/util.h"
#include "core/zset_cmds.h"

enum { ZSET_MIN, ZSET_MAX };

int zset_wrong_type(client *c, const obj *o) {
    if (o && o->type != OBJ_ZSET) {
        reply_error(c, ERR_WRONGTYPE);
        return 1;
    }
    return 0;
}

static void reply_entry(client *c, const zentry *e, int withscore) {
    reply_bulk(c, e->m, e->len);
    if (withscore) reply_double(c, e->score);
}

/* ---- ZADD / ZINCRBY --------------------------------------------------- */

static void zadd_generic(client *c, int flags) {
    server *s = c->srv;
    const dstr key = c->argv[1];
    int scoreidx = 2, ch = 0;
    for (; scoreidx < c->argc; scoreidx++) {
        const dstr a = c->argv[scoreidx];
        if (arg_is(a, "nx"))
            flags |= ZADD_IN_NX;
        else if (arg_is(a, "xx"))
            flags |= ZADD_IN_XX;
        else if (arg_is(a, "ch"))
            ch = 1;
        else if (arg_is(a, "incr"))
            flags |= ZADD_IN_INCR;
        else if (arg_is(a, "gt"))
            flags |= ZADD_IN_GT;
        else if (arg_is(a, "lt"))
            flags |= ZADD_IN_LT;
        else
            break;
    }
    int incr = flags & ZADD_IN_INCR, nx = flags & ZADD_IN_NX, xx = flags & ZADD_IN_XX;
    int gt = flags & ZADD_IN_GT, lt = flags & ZADD_IN_LT;
    int elements = c->argc - scoreidx;
    if (elements % 2 || elements == 0) {
        reply_error(c, ERR_SYNTAX);
        return;
    }
    elements /= 2;
    if (nx && xx) {
        reply_error(c, "ERR XX and NX options at the same time are not compatible");
        return;
    }
    if ((gt && nx) || (lt && nx) || (gt && lt)) {
        reply_error(c, "ERR GT, LT, and/or NX options at the same time are not compatible");
        return;
    }
    if (incr && elements > 1) {
        reply_error(c, "ERR INCR option supports a single increment-element pair");
        return;
    }
    double stack_scores[16];
    double *scores = elements <= 16 ? stack_scores : mem_alloc(sizeof(double) * (size_t)elements);
    int added = 0, updated = 0, processed = 0;
    double score = 0;
    for (int j = 0; j < elements; j++)
        if (arg_double(c, c->argv[scoreidx + j * 2], &scores[j]) < 0) goto cleanup;

    obj *o = db_lookup_write(s, c->db, key);
    if (zset_wrong_type(c, o)) goto cleanup;
    if (!o) {
        if (xx) goto reply;
        /* Redis 7.0 sizes the new set by its first member only. */
        if (s->cfg.zset_max_listpack_entries == 0 ||
            (size_t)s->cfg.zset_max_listpack_value < dstr_len(c->argv[scoreidx + 1]))
            o = zset_new_big(0);
        else
            o = zset_new_small();
        db_add(s, c->db, key, o);
    }
    for (int j = 0; j < elements; j++) {
        int out;
        double newscore;
        if (!zset_add(&s->cfg, o, scores[j], c->argv[scoreidx + 1 + j * 2], flags, &out,
                      &newscore)) {
            reply_error(c, "ERR resulting score is not a number (NaN)");
            goto cleanup;
        }
        if (out & ZADD_OUT_ADDED) added++;
        if (out & ZADD_OUT_UPDATED) updated++;
        if (!(out & ZADD_OUT_NOP)) processed++;
        score = newscore;
    }
    server_dirty(c, added + updated);
reply:
    if (incr) {
        if (processed)
            reply_double(c, score);
        else
            reply_null(c);
    } else {
        reply_int(c, ch ? added + updated : added);
    }
cleanup:
    if (scores != stack_scores) mem_free(scores);
    if (added || updated) {
        db_signal_modified(s, c->db, key);
        notify_event(s, NOTIFY_ZSET, incr ? "zincr" : "zadd", key, c->db->id);
    }
}

void cmd_zadd(client *c) { zadd_generic(c, 0); }
void cmd_zincrby(client *c) { zadd_generic(c, ZADD_IN_INCR); }

/* ---- single members --------------------------------------------------- */

void cmd_zrem(client *c) {
    server *s = c->srv;
    const dstr key = c->argv[1];
    obj *o = db_lookup_write(s, c->db, key);
    if (!o) {
        reply_int(c, 0);
        return;
    }
    if (zset_wrong_type(c, o)) return;
    long long deleted = 0;
    int emptied = 0;
    for (int j = 2; j < c->argc; j++) {
        deleted += zset_delete(o, c->argv[j]);
        if (zset_length(o) == 0) {
            db_delete(s, c->db, key);
            emptied = 1;
            break;
        }
    }
    if (deleted) {
        db_signal_modified(s, c->db, key);
        notify_event(s, NOTIFY_ZSET, "zrem", key, c->db->id);
        if (emptied) notify_event(s, NOTIFY_GENERIC, "del", key, c->db->id);
        server_dirty(c, deleted);
    }
    reply_int(c, deleted);
}

void cmd_zcard(client *c) {
    obj *o = db_lookup_read(c->srv, c->db, c->argv[1]);
    if (zset_wrong_type(c, o)) return;
    reply_int(c, o ? (long long)zset_length(o) : 0);
}

void cmd_zscore(client *c) {
    obj *o = db_lookup_read(c->srv, c->db, c->argv[1]);
    double score;
    if (zset_wrong_type(c, o)) return;
    if (o && zset_score(o, c->argv[2], &score))
        reply_double(c, score);
    else
        reply_null(c);
}

void cmd_zmscore(client *c) {
    obj *o = db_lookup_read(c->srv, c->db, c->argv[1]);
    if (zset_wrong_type(c, o)) return;
    reply_array(c, c->argc - 2);
    for (int j = 2; j < c->argc; j++) {
        double score;
        if (o && zset_score(o, c->argv[j], &score))
            reply_double(c, score);
        else
            reply_null(c);
    }
}

static void zrank_generic(client *c, int reverse) {
    obj *o = db_lookup_read(c->srv, c->db, c->argv[1]);
    if (zset_wrong_type(c, o)) return;
    long rank = o ? zset_rank(o, c->argv[2], reverse) : -1;
    if (rank >= 0)
        reply_int(c, rank);
    else
        reply_null(c);
}

void cmd_zrank(client *c) { zrank_generic(c, 0); }
void cmd_zrevrank(client *c) { zrank_generic(c, 1); }

/* ---- pops ------------------------------------------------------------- */

enum { POP_EMIT_KEY = 1, POP_NESTED = 2, POP_NIL_WHEN_EMPTY = 4, POP_REWRITE = 8 };

/* Pop up to `count` (-1: one, unnested) elements from the first of the
 * keys that exists, replying in the shape the flags ask for. With
 * POP_REWRITE the command is rewritten as ZPOPMIN/ZPOPMAX key n for
 * propagation. Returns 1 when something was popped. */
static int zpop_generic(client *c, dstr *keys, int nkeys, int where, long count, int flags) {
    server *s = c->srv;
    obj *o = NULL;
    dstr key = NULL;
    for (int i = 0; i < nkeys && !o; i++) {
        key = keys[i];
        o = db_lookup_write(s, c->db, key);
        if (zset_wrong_type(c, o)) return 0;
    }
    if (!o) {
        if (flags & POP_NIL_WHEN_EMPTY)
            reply_null_array(c);
        else
            reply_array(c, 0);
        return 0;
    }
    if (count == 0) {
        reply_array(c, 0);
        return 0;
    }
    if (count == -1) count = 1;
    long llen = (long)zset_length(o);
    long n = count > llen ? llen : count;
    int nested = flags & POP_NESTED;
    if (flags & POP_EMIT_KEY) {
        if (nested) {
            reply_array(c, 2);
            reply_bulk(c, key, dstr_len(key));
            reply_array(c, n);
        } else {
            reply_array(c, n * 2 + 1);
            reply_bulk(c, key, dstr_len(key));
        }
    } else {
        reply_array(c, nested ? n : n * 2);
    }
    zset_cursor cur;
    zcur_open(&cur, o);
    zcur_seek_rank(&cur, where == ZSET_MIN ? 0 : llen - 1);
    for (long i = 0; i < n; i++) {
        zentry e;
        zcur_get(&cur, &e);
        if (nested) reply_array(c, 2);
        reply_entry(c, &e, 1);
        if (where == ZSET_MIN)
            zcur_next(&cur);
        else
            zcur_prev(&cur);
    }
    zcur_close(&cur);
    if (where == ZSET_MIN)
        zset_delete_ranks(o, 0, (size_t)n - 1);
    else
        zset_delete_ranks(o, (size_t)(llen - n), (size_t)llen - 1);
    server_dirty(c, n);
    dstr k = dstr_dup(key); /* the rewrite below frees argv */
    db_signal_modified(s, c->db, k);
    notify_event(s, NOTIFY_ZSET, where == ZSET_MAX ? "zpopmax" : "zpopmin", k, c->db->id);
    if (zset_length(o) == 0) notify_delete(s, c->db, k);
    if (flags & POP_REWRITE) {
        dstr name = dstr_from(where == ZSET_MAX ? "ZPOPMAX" : "ZPOPMIN");
        if (!nested)
            client_rewrite_argv(c, 2, name, k);
        else
            client_rewrite_argv(c, 3, name, k, dstr_from_ll(n));
    } else {
        dstr_free(k);
    }
    return 1;
}

static void zpop_command(client *c, int where) {
    long long count = -1;
    if (c->argc > 3) {
        reply_error(c, ERR_SYNTAX);
        return;
    }
    if (c->argc == 3 && arg_ll_range(c, c->argv[2], 0, LONG_MAX, &count,
                                     "ERR value is out of range, must be positive") < 0)
        return;
    /* With a count, RESP3 nests each member with its score. */
    zpop_generic(c, &c->argv[1], 1, where, (long)count,
                 c->argc == 3 && c->resp == 3 ? POP_NESTED : 0);
}

void cmd_zpopmin(client *c) { zpop_command(c, ZSET_MIN); }
void cmd_zpopmax(client *c) { zpop_command(c, ZSET_MAX); }

/* BZPOPMIN/BZPOPMAX (count -1) and BZMPOP (count >= 1, nested reply). */
static void zpop_blocking(client *c, dstr *keys, int nkeys, int where, const dstr timeout_arg,
                          long count) {
    long long timeout;
    if (parse_block_timeout(c, timeout_arg, &timeout) < 0) return;
    int nested = count != -1;
    /* A woken client is served from the key that became ready first, as
     * Redis serves it, then from its other keys in order. */
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
        if (zset_wrong_type(c, o)) return;
        if (zset_length(o) == 0) continue;
        /* Served: the replica sees the plain pop of what was popped. */
        zpop_generic(c, &keys[j], 1, where, count,
                     POP_EMIT_KEY | POP_REWRITE | (nested ? POP_NESTED | POP_NIL_WHEN_EMPTY : 0));
        return;
    }
    if (!client_may_block(c)) {
        reply_null_array(c);
        return;
    }
    block_for_keys(c, keys, nkeys, OBJ_ZSET, timeout, "*-1\r\n");
}

void cmd_bzpopmin(client *c) {
    zpop_blocking(c, &c->argv[1], c->argc - 2, ZSET_MIN, c->argv[c->argc - 1], -1);
}

void cmd_bzpopmax(client *c) {
    zpop_blocking(c, &c->argv[1], c->argc - 2, ZSET_MAX, c->argv[c->argc - 1], -1);
}

/* [B]ZMPOP [timeout] numkeys key... MIN|MAX [COUNT n] */
static void zmpop_generic(client *c, int numkeys_idx, int block) {
    long long numkeys, count = -1;
    if (arg_ll_range(c, c->argv[numkeys_idx], 1, LONG_MAX, &numkeys,
                     "ERR numkeys should be greater than 0") < 0)
        return;
    if (numkeys >= c->argc - numkeys_idx - 1) {
        reply_error(c, ERR_SYNTAX);
        return;
    }
    int where_idx = numkeys_idx + (int)numkeys + 1, where;
    if (arg_is(c->argv[where_idx], "min")) {
        where = ZSET_MIN;
    } else if (arg_is(c->argv[where_idx], "max")) {
        where = ZSET_MAX;
    } else {
        reply_error(c, ERR_SYNTAX);
        return;
    }
    for (int j = where_idx + 1; j < c->argc; j++) {
        if (count == -1 && arg_is(c->argv[j], "count") && j + 1 < c->argc) {
            j++;
            if (arg_ll_range(c, c->argv[j], 1, LONG_MAX, &count,
                             "ERR count should be greater than 0") < 0)
                return;
        } else {
            reply_error(c, ERR_SYNTAX);
            return;
        }
    }
    if (count == -1) count = 1;
    dstr *keys = &c->argv[numkeys_idx + 1];
    if (block)
        zpop_blocking(c, keys, (int)numkeys, where, c->argv[1], (long)count);
    else
        zpop_generic(c, keys, (int)numkeys, where, (long)count,
                     POP_EMIT_KEY | POP_NESTED | POP_NIL_WHEN_EMPTY | POP_REWRITE);
}

void cmd_zmpop(client *c) { zmpop_generic(c, 1, 0); }
void cmd_bzmpop(client *c) { zmpop_generic(c, 2, 1); }

/* ---- ZRANDMEMBER ------------------------------------------------------ */

static uint64_t rand_state = 0x853c49e6748fea9bULL;

static uint64_t rand_next(void) {
    uint64_t z = (rand_state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static size_t rand_below(size_t n) { return (size_t)(rand_next() % n); }

/* A random element: fair for both encodings (for a large set, a random
 * rank; Redis picks a fair random hash table entry, which is also
 * uniform). */
static void random_entry(zset_cursor *cur, size_t size, zentry *e) {
    zcur_seek_rank(cur, (long)rand_below(size));
    zcur_get(cur, e);
}

/* A set of ranks (stored as rank + 1, so never NULL). */
static uint64_t rank_hash(const void *k) {
    uintptr_t v = (uintptr_t)k;
    return dict_hash_bytes(&v, sizeof(v));
}
static int rank_eq(const void *a, const void *b) { return a == b; }
static const dict_type rank_set_type = {rank_hash, rank_eq, NULL, NULL};

static void zrandmember_with_count(client *c, long l, int withscores) {
    obj *o = db_lookup_read(c->srv, c->db, c->argv[1]);
    if (!o) {
        reply_array(c, 0);
        return;
    }
    if (zset_wrong_type(c, o)) return;
    size_t size = zset_length(o);
    unsigned long count = l >= 0 ? (unsigned long)l : 0UL - (unsigned long)l;
    int uniq = l >= 0;
    if (count == 0) {
        reply_array(c, 0);
        return;
    }
    zset_cursor cur;
    zcur_open(&cur, o);
    zentry e;
    if (!uniq || count == 1) {
        /* With repetitions: independent draws. */
        reply_pair_list(c, (long long)count, withscores);
        while (count--) {
            random_entry(&cur, size, &e);
            reply_pair(c, withscores);
            reply_entry(c, &e, withscores);
            if (c->flags & CLIENT_CLOSE_ASAP) break;
        }
    } else if (count >= size) {
        /* The whole set, walked from the top as Redis does. */
        reply_pair_list(c, (long long)size, withscores);
        for (zcur_seek_rank(&cur, (long)size - 1); zcur_valid(&cur); zcur_prev(&cur)) {
            zcur_get(&cur, &e);
            reply_pair(c, withscores);
            reply_entry(c, &e, withscores);
        }
    } else if (count * 3 > size) {
        /* Distinct members, many of them: the first `count` places of a
         * partial Fisher-Yates shuffle of all the ranks. */
        reply_pair_list(c, (long long)count, withscores);
        size_t *ranks = mem_alloc(sizeof(size_t) * size);
        for (size_t i = 0; i < size; i++) ranks[i] = i;
        for (size_t i = 0; i < count; i++) {
            size_t j = i + rand_below(size - i);
            size_t t = ranks[i];
            ranks[i] = ranks[j];
            ranks[j] = t;
            zcur_seek_rank(&cur, (long)ranks[i]);
            zcur_get(&cur, &e);
            reply_pair(c, withscores);
            reply_entry(c, &e, withscores);
        }
        mem_free(ranks);
    } else {
        /* Distinct members, few of them: random ranks, skipping repeats,
         * in O(count) memory. */
        reply_pair_list(c, (long long)count, withscores);
        dict *seen = dict_create(&rank_set_type);
        dict_expand(seen, count);
        for (unsigned long added = 0; added < count;) {
            uintptr_t rank = rand_below(size);
            if (dict_add(seen, (void *)(rank + 1), NULL) < 0) continue;
            added++;
            zcur_seek_rank(&cur, (long)rank);
            zcur_get(&cur, &e);
            reply_pair(c, withscores);
            reply_entry(c, &e, withscores);
        }
        dict_release(seen);
    }
    zcur_close(&cur);
}

void cmd_zrandmember(client *c) {
    if (c->argc >= 3) {
        long long l;
        int withscores = c->argc == 4 && arg_is(c->argv[3], "withscores");
        if (arg_rand_count(c, c->argv[2], withscores, &l) < 0) return;
        if (c->argc > 4 || (c->argc == 4 && !withscores)) {
            reply_error(c, ERR_SYNTAX);
            return;
        }
        zrandmember_with_count(c, (long)l, withscores);
        return;
    }
    obj *o = db_lookup_read(c->srv, c->db, c->argv[1]);
    if (!o) {
        reply_null(c);
        return;
    }
    if (zset_wrong_type(c, o)) return;
    zset_cursor cur;
    zentry e;
    zcur_open(&cur, o);
    random_entry(&cur, zset_length(o), &e);
    reply_entry(c, &e, 0);
    zcur_close(&cur);
}

/* ---- ZSCAN ------------------------------------------------------------ */

typedef struct scan_batch {
    dstr *v; /* member, score text, member, score text... */
    size_t n, cap;
} scan_batch;

static void batch_push(scan_batch *b, dstr s) {
    if (b->n == b->cap) {
        b->cap = b->cap ? b->cap * 2 : 16;
        b->v = mem_realloc(b->v, sizeof(dstr) * b->cap);
    }
    b->v[b->n++] = s;
}

static dstr score_text(double score, int small) {
    char buf[UTIL_DOUBLE_STR_SIZE];
    long long ll;
    /* A small set answers with the score as its listpack keeps it. */
    if (small && zpack_score_is_integer(score, &ll)) return dstr_from_ll(ll);
    int n = util_d_to_str(buf, sizeof(buf), score);
    return dstr_new(buf, (size_t)n);
}

static void scan_collect(void *priv, const dict_entry *de) {
    const zsl_node *n = de->v.val;
    batch_push(priv, dstr_dup(n->ele));
    batch_push(priv, score_text(n->score, 0));
}

/* Redis's parseScanCursorOrReply: strtoul, no leading space, no tail. */
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

void cmd_zscan(client *c) {
    unsigned long cursor;
    if (parse_cursor(c, c->argv[2], &cursor) < 0) return;
    obj *o = db_lookup_read(c->srv, c->db, c->argv[1]);
    if (!o) {
        reply_raw(c, "*2\r\n$1\r\n0\r\n*0\r\n", 15);
        return;
    }
    if (zset_wrong_type(c, o)) return;
    long long count = 10;
    dstr pat = NULL;
    size_t plen = 0;
    for (int i = 3; i < c->argc; i += 2) {
        if (arg_is(c->argv[i], "count") && i + 1 < c->argc) {
            if (arg_ll(c, c->argv[i + 1], &count) < 0) return;
            if (count < 1) {
                reply_error(c, ERR_SYNTAX);
                return;
            }
        } else if (arg_is(c->argv[i], "match") && i + 1 < c->argc) {
            pat = c->argv[i + 1];
            plen = dstr_len(pat);
            if (plen == 1 && pat[0] == '*') pat = NULL;
        } else {
            reply_error(c, ERR_SYNTAX);
            return;
        }
    }
    scan_batch b = {NULL, 0, 0};
    if (o->enc == ENC_LISTPACK) {
        zset_iter it;
        zentry e;
        zset_iter_init(&it, o);
        while (zset_iter_next(&it, &e)) {
            batch_push(&b, dstr_new(e.m, e.len));
            batch_push(&b, score_text(e.score, 1));
        }
        cursor = 0;
    } else {
        zset_big *zb = o->ptr;
        long long maxiter = count * 10;
        do {
            cursor = dict_scan(zb->dict, cursor, scan_collect, &b);
        } while (cursor && maxiter-- && b.n < (size_t)count);
    }
    reply_array(c, 2);
    char buf[UTIL_LONG_STR_SIZE];
    int n = util_ull_to_str(buf, sizeof(buf), cursor);
    reply_bulk(c, buf, (size_t)n);
    size_t handle = reply_defer_len(c);
    long long out = 0;
    for (size_t i = 0; i < b.n; i += 2) {
        if (!pat || util_glob_match(pat, plen, b.v[i], dstr_len(b.v[i]), 0)) {
            reply_bulk(c, b.v[i], dstr_len(b.v[i]));
            reply_bulk(c, b.v[i + 1], dstr_len(b.v[i + 1]));
            out += 2;
        }
        dstr_free(b.v[i]);
        dstr_free(b.v[i + 1]);
    }
    mem_free(b.v);
    reply_set_deferred_len(c, handle, out);
}
