/* Unit tests of the sorted set type: the skiplist (ranks, spans, score
 * and lex ranges against a brute-force model), the compact pack (score
 * encodings, find, rank, deletes), conversions between the encodings in
 * both directions, digests equal to Redis 7.0's, and commands run on a
 * fake client: encodings after each kind of write, commands whose
 * destination is also a source, and the forms propagated to replicas. */
#include <check.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/config.h"
#include "core/db.h"
#include "core/mem.h"
#include "core/propagate.h"
#include "core/server.h"
#include "core/skiplist.h"
#include "core/t_zset.h"
#include "core/types.h"
#include "core/util.h"
#include "core/zset_pack.h"

static uint64_t rng = 88172645463325252ULL;
static uint64_t rnd(void) {
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

/* ---- skiplist against a sorted array ---------------------------------- */

typedef struct ref_elem {
    double score;
    char m[16];
} ref_elem;

static int ref_cmp(const void *a, const void *b) {
    const ref_elem *x = a, *y = b;
    if (x->score != y->score) return x->score < y->score ? -1 : 1;
    return zsl_member_cmp(x->m, strlen(x->m), y->m, strlen(y->m));
}

/* Every level's spans add up to the length; level 0 matches the model. */
static void check_skiplist(const zskiplist *zsl, ref_elem *ref, size_t n) {
    ck_assert_uint_eq(zsl->length, n);
    for (int lvl = 0; lvl < zsl->level; lvl++) {
        unsigned long total = 0;
        for (const zsl_node *x = zsl->header; x; x = x->level[lvl].forward)
            total += x->level[lvl].forward ? x->level[lvl].span : 0;
        const zsl_node *last = zsl->header;
        while (last->level[lvl].forward) last = last->level[lvl].forward;
        unsigned long last_rank =
            last == zsl->header ? 0 : zsl_rank(zsl, last->score, last->ele, dstr_len(last->ele));
        ck_assert_uint_eq(total, last_rank);
    }
    const zsl_node *x = zsl->header->level[0].forward, *prev = NULL;
    for (size_t i = 0; i < n; i++, prev = x, x = x->level[0].forward) {
        ck_assert_ptr_nonnull(x);
        ck_assert(x->score == ref[i].score);
        ck_assert_str_eq(x->ele, ref[i].m);
        ck_assert_ptr_eq(x->backward, prev);
        ck_assert_uint_eq(zsl_rank(zsl, x->score, x->ele, dstr_len(x->ele)), i + 1);
        ck_assert_ptr_eq(zsl_at_rank(zsl, i + 1), x);
    }
    ck_assert_ptr_null(x);
    ck_assert_ptr_eq(zsl->tail, prev);
}

static long ref_first(ref_elem *ref, size_t n, const zscore_range *r) {
    for (size_t i = 0; i < n; i++)
        if (zscore_gte_min(ref[i].score, r)) return zscore_lte_max(ref[i].score, r) ? (long)i : -1;
    return -1;
}

static long ref_last(ref_elem *ref, size_t n, const zscore_range *r) {
    for (long i = (long)n - 1; i >= 0; i--)
        if (zscore_lte_max(ref[i].score, r)) return zscore_gte_min(ref[i].score, r) ? i : -1;
    return -1;
}

START_TEST(skiplist_ranks_and_ranges) {
    enum { N = 3000 };
    ref_elem *ref = mem_alloc(sizeof(ref_elem) * N);
    zskiplist *zsl = zsl_create();
    for (int i = 0; i < N; i++) {
        ref[i].score = (double)(rnd() % 200) - 100;
        snprintf(ref[i].m, sizeof(ref[i].m), "m%d", i);
        zsl_insert(zsl, ref[i].score, dstr_from(ref[i].m));
    }
    qsort(ref, N, sizeof(ref_elem), ref_cmp);
    check_skiplist(zsl, ref, N);

    for (int t = 0; t < 500; t++) {
        zscore_range r = {(double)(rnd() % 240) - 120, (double)(rnd() % 240) - 120, (int)(rnd() & 1),
                          (int)(rnd() & 1)};
        long f = ref_first(ref, N, &r), l = ref_last(ref, N, &r);
        zsl_node *a = zsl_first_in_score(zsl, &r), *b = zsl_last_in_score(zsl, &r);
        if (f < 0) {
            ck_assert_ptr_null(a);
        } else {
            ck_assert_ptr_nonnull(a);
            ck_assert_uint_eq(zsl_rank(zsl, a->score, a->ele, dstr_len(a->ele)), (unsigned long)f + 1);
        }
        if (l < 0) {
            ck_assert_ptr_null(b);
        } else {
            ck_assert_ptr_nonnull(b);
            ck_assert_uint_eq(zsl_rank(zsl, b->score, b->ele, dstr_len(b->ele)), (unsigned long)l + 1);
        }
    }

    /* Score updates, in place or moving, keep ranks and spans right. */
    for (int t = 0; t < 1000; t++) {
        size_t i = rnd() % N;
        double ns = (rnd() & 3) ? ref[i].score + 0.5 : (double)(rnd() % 200) - 100;
        zsl_node *x = zsl_update_score(zsl, ref[i].score, ref[i].m, strlen(ref[i].m), ns);
        ck_assert_ptr_nonnull(x);
        ck_assert(x->score == ns);
        ref[i].score = ns;
        qsort(ref, N, sizeof(ref_elem), ref_cmp);
    }
    check_skiplist(zsl, ref, N);

    /* Rank range deletes, then single unlinks. */
    unsigned long gone = zsl_delete_rank_range(zsl, 101, 600, NULL, NULL);
    ck_assert_uint_eq(gone, 500);
    memmove(&ref[100], &ref[600], sizeof(ref_elem) * (N - 600));
    size_t n = N - 500;
    check_skiplist(zsl, ref, n);
    for (int t = 0; t < 300; t++) {
        size_t i = rnd() % n;
        zsl_node *x = zsl_unlink(zsl, ref[i].score, ref[i].m, strlen(ref[i].m));
        ck_assert_ptr_nonnull(x);
        zsl_free_node(x);
        ck_assert_ptr_null(zsl_unlink(zsl, ref[i].score, ref[i].m, strlen(ref[i].m)));
        memmove(&ref[i], &ref[i + 1], sizeof(ref_elem) * (n - i - 1));
        n--;
    }
    check_skiplist(zsl, ref, n);
    zsl_free(zsl);
    mem_free(ref);
}
END_TEST

START_TEST(skiplist_lex_ranges) {
    const char *words[] = {"", "a", "aa", "ab", "b", "ba", "c", "d\x00x", "zz", "\xff"};
    size_t lens[] = {0, 1, 2, 2, 1, 2, 1, 3, 2, 1};
    int n = 10;
    zskiplist *zsl = zsl_create();
    for (int i = n - 1; i >= 0; i--) zsl_insert(zsl, 0, dstr_new(words[i], lens[i]));
    const char *items[] = {"-", "+", "[", "(", "[a", "(a", "[ab", "(b", "[c", "(zz", "[\xff"};
    for (size_t i = 0; i < 11; i++) {
        for (size_t j = 0; j < 11; j++) {
            zlex_range r;
            zlex_bound *bs[2] = {&r.min, &r.max};
            const char *its[2] = {items[i], items[j]};
            for (int k = 0; k < 2; k++) {
                const char *it = its[k];
                if (!strcmp(it, "-") || !strcmp(it, "+")) {
                    bs[k]->inf = it[0] == '+' ? 1 : -1;
                    bs[k]->ex = 1;
                } else {
                    bs[k]->inf = 0;
                    bs[k]->ex = it[0] == '(';
                    bs[k]->p = it + 1;
                    bs[k]->len = strlen(it) - 1;
                }
            }
            long first = -1, last = -1;
            for (int w = 0; w < n; w++)
                if (zlex_gte_min(words[w], lens[w], &r) && zlex_lte_max(words[w], lens[w], &r)) {
                    if (first < 0) first = w;
                    last = w;
                }
            zsl_node *a = zsl_first_in_lex(zsl, &r), *b = zsl_last_in_lex(zsl, &r);
            if (first < 0) {
                ck_assert_ptr_null(a);
                ck_assert_ptr_null(b);
                continue;
            }
            ck_assert_ptr_nonnull(a);
            ck_assert_ptr_nonnull(b);
            ck_assert_uint_eq(zsl_rank(zsl, 0, a->ele, dstr_len(a->ele)), (unsigned long)first + 1);
            ck_assert_uint_eq(zsl_rank(zsl, 0, b->ele, dstr_len(b->ele)), (unsigned long)last + 1);
        }
    }
    zsl_free(zsl);
}
END_TEST

/* ---- the compact pack ------------------------------------------------- */

START_TEST(pack_scores_round_trip) {
    const double scores[] = {0,     -0.0,  1,       -1,       127,        128,         -128,
                             -129,  32767, 32768,   1.5,      0.1,        1e17,        -1e17,
                             4611686018427387904.0, -4611686018427387904.0, 4611686018427389952.0,
                             9007199254740993.0,    1e300,    -1e300,     5e-324,      INFINITY,
                             -INFINITY,             123456789012.0,       -2.5e-10};
    size_t n = sizeof(scores) / sizeof(scores[0]);
    uint8_t *zp = zpack_new();
    char m[16];
    for (size_t i = 0; i < n; i++) {
        snprintf(m, sizeof(m), "m%zu", i);
        zp = zpack_insert(zp, scores[i], m, strlen(m));
    }
    ck_assert_uint_eq(zpack_count(zp), n);
    for (size_t i = 0; i < n; i++) {
        snprintf(m, sizeof(m), "m%zu", i);
        double s;
        ck_assert(zpack_find(zp, m, strlen(m), &s) != 0);
        ck_assert(s == scores[i]);
        ck_assert(!signbit(s) || s != 0); /* -0 is kept as 0, like Redis */
    }
    zentry v[64];
    ck_assert_uint_eq(zpack_view(zp, v), n);
    for (size_t i = 1; i < n; i++)
        ck_assert(v[i - 1].score < v[i].score ||
                  (v[i - 1].score == v[i].score &&
                   zsl_member_cmp(v[i - 1].m, v[i - 1].len, v[i].m, v[i].len) < 0));
    for (size_t i = 0; i < n; i++) ck_assert_int_eq(zpack_rank(zp, v[i].m, v[i].len), (long)i);
    ck_assert_int_eq(zpack_rank(zp, "nope", 4), -1);
    ck_assert_uint_eq(zpack_find(zp, "nope", 4, NULL), 0);

    zp = zpack_delete_ranks(zp, 3, 7);
    ck_assert_uint_eq(zpack_count(zp), n - 5);
    zentry w[64];
    zpack_view(zp, w);
    ck_assert(w[3].score == v[8].score);
    size_t off = zpack_find(zp, w[0].m, w[0].len, NULL);
    zp = zpack_delete_at(zp, off);
    ck_assert_uint_eq(zpack_count(zp), n - 6);
    zp = zpack_delete_ranks(zp, 0, 1000);
    ck_assert_uint_eq(zpack_count(zp), 0);
    ck_assert_uint_eq(zpack_bytes(zp), ZPACK_HEADER);
    zpack_free(zp);

    long long ll;
    ck_assert(zpack_score_is_integer(4e18, &ll) && ll == 4000000000000000000LL);
    ck_assert(!zpack_score_is_integer(5e18, &ll));
    ck_assert(!zpack_score_is_integer(1.5, &ll));
}
END_TEST

/* ---- the type: conversions, iteration, digests ------------------------- */

static dstr mk(const char *s) { return dstr_from(s); }

static void add(config *cfg, obj *o, double score, const char *m) {
    int out;
    dstr d = mk(m);
    ck_assert(zset_add(cfg, o, score, d, 0, &out, NULL));
    dstr_free(d);
}

START_TEST(conversions_keep_elements) {
    config cfg;
    config_defaults(&cfg);
    cfg.zset_max_listpack_entries = 4;
    cfg.zset_max_listpack_value = 8;
    obj *o = zset_new_small();
    add(&cfg, o, 3, "c");
    add(&cfg, o, 1, "a");
    add(&cfg, o, 2, "b");
    add(&cfg, o, 2, "b2");
    ck_assert_int_eq(o->enc, ENC_LISTPACK);
    /* Updates never convert, additions past a threshold do. */
    int out;
    double ns;
    dstr b = mk("b");
    ck_assert(zset_add(&cfg, o, 10, b, ZADD_IN_INCR, &out, &ns));
    ck_assert(ns == 12 && (out & ZADD_OUT_UPDATED));
    ck_assert_int_eq(o->enc, ENC_LISTPACK);
    add(&cfg, o, 0, "z");
    ck_assert_int_eq(o->enc, ENC_SKIPLIST);
    ck_assert_uint_eq(zset_length(o), 5);
    const char *order[] = {"z", "a", "b2", "c", "b"};
    zset_iter it;
    zentry e;
    int i = 0;
    zset_iter_init(&it, o);
    while (zset_iter_next(&it, &e)) ck_assert(e.len == strlen(order[i]) && !memcmp(e.m, order[i++], e.len));
    ck_assert_int_eq(i, 5);
    ck_assert_int_eq(zset_rank(o, b, 0), 4);
    ck_assert_int_eq(zset_rank(o, b, 1), 0);
    /* Too many for the small encoding... */
    zset_convert_to_small_if_fits(&cfg, o);
    ck_assert_int_eq(o->enc, ENC_SKIPLIST);
    /* ...until one goes. */
    ck_assert(zset_delete(o, b));
    ck_assert(!zset_delete(o, b));
    zset_convert_to_small_if_fits(&cfg, o);
    ck_assert_int_eq(o->enc, ENC_LISTPACK);
    ck_assert_int_eq(zset_rank(o, b, 0), -1);
    /* A long member converts at once. */
    add(&cfg, o, 5, "a-long-member");
    ck_assert_int_eq(o->enc, ENC_SKIPLIST);
    ck_assert_uint_eq(zset_delete_ranks(o, 1, 2), 2);
    ck_assert_uint_eq(zset_length(o), 3);
    obj *copy = obj_dup(o);
    ck_assert_int_eq(copy->enc, ENC_SKIPLIST);
    ck_assert_uint_eq(zset_length(copy), 3);
    zset_convert(copy, ENC_LISTPACK);
    zset_convert(copy, ENC_SKIPLIST);
    ck_assert_uint_eq(zset_max_member_len(copy), 13);
    dstr_free(b);
    obj_free(copy);
    obj_free(o);
    config_free(&cfg);
}
END_TEST

/* Deleting the element just returned while walking a large set is safe:
 * the iterator already points at the next node. */
START_TEST(iteration_while_deleting) {
    config cfg;
    config_defaults(&cfg);
    obj *o = zset_new_big(0);
    char m[16];
    for (int i = 0; i < 500; i++) {
        snprintf(m, sizeof(m), "m%03d", i);
        add(&cfg, o, i % 7, m);
    }
    zset_iter it;
    zentry e;
    size_t seen = 0;
    zset_iter_init(&it, o);
    while (zset_iter_next(&it, &e)) {
        seen++;
        if (seen % 2) {
            dstr d = dstr_new(e.m, e.len);
            ck_assert(zset_delete(o, d));
            dstr_free(d);
        }
    }
    ck_assert_uint_eq(seen, 500);
    ck_assert_uint_eq(zset_length(o), 250);
    obj_free(o);
    config_free(&cfg);
}
END_TEST

/* ---- commands on a fake client ---------------------------------------- */

static server srv;
static client *cli;
static stream_encoder enc;

static void setup(void) {
    memset(&srv, 0, sizeof(srv));
    config_defaults(&srv.cfg);
    srv.cfg.enable_debug_command = DEBUG_CMD_YES;
    server_init(&srv);
    cli = client_create(&srv, -1, CLIENT_FAKE);
    stream_encoder_init(&enc);
    propagate_set_sink(&srv, stream_encoder_feed, &enc);
}

static void teardown(void) {
    client_free(cli);
    stream_encoder_free(&enc);
    server_free(&srv);
}

/* Run a command given as one string of space-separated words; returns the
 * raw reply, owned by the caller. */
static dstr run(const char *line) {
    int argc = 0, words = 1;
    for (const char *q = line; *q; q++) words += *q == ' ';
    dstr *argv = mem_alloc(sizeof(dstr) * (size_t)words);
    const char *p = line;
    while (*p) {
        const char *s = p;
        while (*p && *p != ' ') p++;
        argv[argc++] = dstr_new(s, (size_t)(p - s));
        while (*p == ' ') p++;
    }
    client_set_argv(cli, argv, argc);
    process_command(cli);
    client_reset_argv(cli);
    dstr r = dstr_dup(cli->reply);
    dstr_clear(cli->reply);
    return r;
}

static void expect(const char *line, const char *reply) {
    dstr r = run(line);
    ck_assert_msg(!strcmp(r, reply), "%s: got %s want %s", line, r, reply);
    dstr_free(r);
}

static void expect_encoding(const char *key, const char *enc_name) {
    char cmd[64], want[64];
    snprintf(cmd, sizeof(cmd), "OBJECT ENCODING %s", key);
    snprintf(want, sizeof(want), "$%zu\r\n%s\r\n", strlen(enc_name), enc_name);
    expect(cmd, want);
}

/* The replication stream since the last call, as space-separated words
 * per command, one command per line (SELECT included). */
static dstr stream_words(void) {
    dstr out = dstr_empty();
    const char *p = enc.buf, *end = enc.buf + dstr_len(enc.buf);
    while (p < end) {
        long n = strtol(p + 1, NULL, 10);
        p = strstr(p, "\r\n") + 2;
        for (long i = 0; i < n; i++) {
            long len = strtol(p + 1, NULL, 10);
            p = strstr(p, "\r\n") + 2;
            out = dstr_cat(out, p, (size_t)len);
            out = dstr_cats(out, i + 1 < n ? " " : "\n");
            p += len + 2;
        }
    }
    dstr_clear(enc.buf);
    return out;
}

static void expect_stream(const char *want) {
    dstr got = stream_words();
    ck_assert_msg(!strcmp(got, want), "stream: got [%s] want [%s]", got, want);
    dstr_free(got);
}

START_TEST(encodings_follow_redis) {
    /* 129 pairs of one member: Redis 7.0 sizes a new set by its first
     * member only, so this stays small. */
    dstr line = dstr_from("ZADD dup");
    for (int i = 0; i < 129; i++) line = dstr_cats(line, " 1 a");
    dstr_free(run(line));
    dstr_free(line);
    expect_encoding("dup", "listpack");
    expect("CONFIG SET zset-max-listpack-entries 3", "+OK\r\n");
    expect("ZADD z 1 a 2 b 3 c", ":3\r\n");
    expect_encoding("z", "listpack");
    expect("ZADD z 4 d", ":1\r\n");
    expect_encoding("z", "skiplist");
    expect("ZREM z a b c", ":3\r\n");
    expect_encoding("z", "skiplist"); /* never back */
    /* Results are built to fit: ZUNIONSTORE shrinks, ZRANGESTORE sizes by
     * the rank range. */
    expect("ZUNIONSTORE u 1 z", ":1\r\n");
    expect_encoding("u", "listpack");
    expect("ZADD big 1 a 2 b 3 c 4 d 5 e", ":5\r\n");
    expect("ZRANGESTORE r big 0 3", ":4\r\n");
    expect_encoding("r", "skiplist");
    expect("ZRANGESTORE r big 0 2", ":3\r\n");
    expect_encoding("r", "listpack");
    expect("ZRANGESTORE r big -inf +inf BYSCORE LIMIT 0 3", ":3\r\n");
    expect_encoding("r", "listpack");
    expect("CONFIG SET zset-max-listpack-entries 0", "+OK\r\n");
    expect("ZADD zero 1 a", ":1\r\n");
    expect_encoding("zero", "skiplist");
}
END_TEST

START_TEST(destination_is_a_source) {
    expect("ZADD k 1 a 2 b 3 c", ":3\r\n");
    expect("ZRANGESTORE k k 1 -1", ":2\r\n");
    expect("ZRANGE k 0 -1 WITHSCORES", "*4\r\n$1\r\nb\r\n$1\r\n2\r\n$1\r\nc\r\n$1\r\n3\r\n");
    expect("ZADD o 10 c 20 d", ":2\r\n");
    expect("ZUNIONSTORE k 2 k o WEIGHTS 2 1", ":3\r\n");
    expect("ZRANGE k 0 -1 WITHSCORES",
           "*6\r\n$1\r\nb\r\n$1\r\n4\r\n$1\r\nc\r\n$2\r\n16\r\n$1\r\nd\r\n$2\r\n20\r\n");
    expect("ZINTERSTORE k 2 k k", ":3\r\n");
    expect("ZSCORE k c", "$2\r\n32\r\n");
    expect("ZDIFFSTORE k 2 k k", ":0\r\n");
    expect("EXISTS k", ":0\r\n");
}
END_TEST

START_TEST(digests_match_redis) {
    /* Values taken from redis-server 7.0.15 DEBUG DIGEST-VALUE. */
    const char *add = "ZADD z 1 a 1.5 b 0.1 c -0 d 1e100 e inf f -inf g 123456789 h -2.5e-10 i";
    dstr_free(run(add));
    expect("DEBUG DIGEST-VALUE z", "*1\r\n+a6702c56037073db12ba740eb8f6cfa8525a990c\r\n");
    expect("CONFIG SET zset-max-listpack-entries 0", "+OK\r\n");
    dstr_free(run("ZADD zs 1 a 1.5 b 0.1 c -0 d 1e100 e inf f -inf g 123456789 h -2.5e-10 i"));
    expect_encoding("zs", "skiplist");
    expect("DEBUG DIGEST-VALUE zs", "*1\r\n+e5fe3c600e9bcc0d4acafe929447bf7f3fff1c2f\r\n");
    /* A skiplist keeps -0 (and digests "-0"); a listpack keeps 0. */
    expect("ZADD zs2 0 d", ":1\r\n");
    expect("DEBUG DIGEST-VALUE zs2", "*1\r\n+baebd57bc339c2d9a156cb2911ecf2234f499b86\r\n");
    expect("ZADD zs3 -0 d", ":1\r\n");
    expect("DEBUG DIGEST-VALUE zs3", "*1\r\n+f965c54dced27d0ff92641b53d5d82f422ec1ea5\r\n");
}
END_TEST

START_TEST(propagated_forms) {
    expect("ZADD z 1 a 2 b 3 c 4 d", ":4\r\n");
    expect_stream("SELECT 0\nZADD z 1 a 2 b 3 c 4 d\n");
    /* Nothing changed: nothing propagated. */
    expect("ZADD z 1 a", ":0\r\n");
    expect("ZREMRANGEBYSCORE z 10 20", ":0\r\n");
    expect("ZPOPMIN nokey", "*0\r\n");
    expect_stream("");
    expect("ZINCRBY z 1 a", "$1\r\n2\r\n");
    expect_stream("ZINCRBY z 1 a\n");
    expect("ZMPOP 2 nokey z MIN COUNT 10", "*2\r\n$1\r\nz\r\n*4\r\n*2\r\n$1\r\na\r\n$1\r\n2\r\n"
                                           "*2\r\n$1\r\nb\r\n$1\r\n2\r\n*2\r\n$1\r\nc\r\n$1\r\n3\r\n"
                                           "*2\r\n$1\r\nd\r\n$1\r\n4\r\n");
    expect_stream("ZPOPMIN z 4\n");
    expect("ZADD z 1 a 2 b 3 c", ":3\r\n");
    dstr_free(stream_words());
    expect("BZPOPMAX nokey z 0", "*3\r\n$1\r\nz\r\n$1\r\nc\r\n$1\r\n3\r\n");
    expect_stream("ZPOPMAX z\n");
    expect("BZMPOP 0 1 z MAX COUNT 1", "*2\r\n$1\r\nz\r\n*1\r\n*2\r\n$1\r\nb\r\n$1\r\n2\r\n");
    expect_stream("ZPOPMAX z 1\n");
    expect("ZPOPMIN z 5", "*2\r\n$1\r\na\r\n$1\r\n1\r\n");
    expect_stream("ZPOPMIN z 5\n");
    /* A fake client cannot block: the timeout reply at once. */
    expect("BZPOPMIN z 0", "*-1\r\n");
    expect("BZMPOP 0 1 z MIN", "*-1\r\n");
    expect_stream("");
    expect("ZADD s 1 a", ":1\r\n");
    expect("ZUNIONSTORE d 1 s", ":1\r\n");
    expect("ZUNIONSTORE d 1 nokey", ":0\r\n");
    expect("ZUNIONSTORE d 1 nokey", ":0\r\n");
    expect_stream("ZADD s 1 a\nZUNIONSTORE d 1 s\nZUNIONSTORE d 1 nokey\n");
}
END_TEST

int main(void) {
    types_register(); /* value hooks for the structure tests */
    Suite *s = suite_create("zset");
    TCase *tc = tcase_create("structures");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, skiplist_ranks_and_ranges);
    tcase_add_test(tc, skiplist_lex_ranges);
    tcase_add_test(tc, pack_scores_round_trip);
    tcase_add_test(tc, conversions_keep_elements);
    tcase_add_test(tc, iteration_while_deleting);
    suite_add_tcase(s, tc);
    TCase *tcc = tcase_create("commands");
    tcase_add_checked_fixture(tcc, setup, teardown);
    tcase_add_test(tcc, encodings_follow_redis);
    tcase_add_test(tcc, destination_is_a_source);
    tcase_add_test(tcc, digests_match_redis);
    tcase_add_test(tcc, propagated_forms);
    suite_add_tcase(s, tcc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
