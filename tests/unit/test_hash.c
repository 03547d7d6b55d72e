/* Unit tests of the hash type: the compact pack on its own (layout edge
 * cases, integer entries, header growth, a randomized comparison against a
 * plain model), the value API (conversions at Redis 7.0's thresholds,
 * iteration, digest independent of the encoding, COPY), and the commands
 * through a fake client (replies, errors, propagation of HINCRBYFLOAT,
 * HSCAN and HRANDFIELD cases). Expected replies were checked against a
 * real redis-server 7.0.15. */
#include <check.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/config.h"
#include "core/db.h"
#include "core/debug.h"
#include "core/hash_pack.h"
#include "core/mem.h"
#include "core/propagate.h"
#include "core/server.h"
#include "core/t_hash.h"
#include "core/types.h"

/* ---- the pack ----------------------------------------------------------- */

static int pack_get_str(const hpack *p, const char *f, const char *want) {
    hpack_pair pair;
    if (!hpack_get(p, f, strlen(f), &pair)) return want == NULL;
    return want && pair.vlen == strlen(want) && memcmp(pair.value, want, pair.vlen) == 0;
}

START_TEST(pack_basics) {
    hpack *p = hpack_new();
    ck_assert_int_eq(hpack_count(p), 0);
    ck_assert_int_eq(hpack_bytes(p), 2);
    ck_assert_int_eq(hpack_set(&p, "a", 1, "1", 1), 0);
    ck_assert_int_eq(hpack_set(&p, "b", 1, "hello", 5), 0);
    ck_assert_int_eq(hpack_set(&p, "", 0, "", 0), 0);
    ck_assert_int_eq(hpack_count(p), 3);
    ck_assert(pack_get_str(p, "a", "1"));
    ck_assert(pack_get_str(p, "b", "hello"));
    ck_assert(pack_get_str(p, "", ""));
    ck_assert(pack_get_str(p, "c", NULL));
    /* Update in place keeps the order; a longer value moves the tail. */
    ck_assert_int_eq(hpack_set(&p, "a", 1, "a much longer value", 19), 1);
    ck_assert_int_eq(hpack_count(p), 3);
    const char *order[] = {"a", "b", ""};
    size_t pos = 0;
    int i = 0;
    hpack_pair pair;
    while (hpack_iter(p, &pos, &pair)) {
        ck_assert_int_eq(pair.flen, strlen(order[i]));
        ck_assert(memcmp(pair.field, order[i], pair.flen) == 0);
        i++;
    }
    ck_assert_int_eq(i, 3);
    ck_assert(pack_get_str(p, "a", "a much longer value"));
    ck_assert_int_eq(hpack_delete(&p, "b", 1), 1);
    ck_assert_int_eq(hpack_delete(&p, "b", 1), 0);
    ck_assert_int_eq(hpack_count(p), 2);
    ck_assert(pack_get_str(p, "", ""));
    ck_assert_int_eq(hpack_delete(&p, "a", 1), 1);
    ck_assert_int_eq(hpack_delete(&p, "", 0), 1);
    ck_assert_int_eq(hpack_count(p), 0);
    ck_assert_int_eq(hpack_bytes(p), 2);
    hpack_free(p);
}
END_TEST

/* Strings that look like numbers: only canonical integers become integer
 * entries, and every one reads back as the exact bytes written. */
START_TEST(pack_integer_entries) {
    static const char *vals[] = {"0",    "-1",  "7",   "63",  "64",  "-64", "1700000000",
                                 "-0",   "01",  "+1",  " 1",  "1 ",  "1.0", "",
                                 "9223372036854775807", "-9223372036854775808",
                                 "4611686018427387903", "-4611686018427387904",
                                 "2305843009213693951", "2305843009213693952",
                                 "-2305843009213693952", "-2305843009213693953",
                                 "99999999999999999999", "1e3"};
    size_t n = sizeof(vals) / sizeof(vals[0]);
    hpack *p = hpack_new();
    for (size_t i = 0; i < n; i++) {
        hpack_set(&p, vals[i], strlen(vals[i]), vals[i], strlen(vals[i]));
    }
    ck_assert_int_eq(hpack_count(p), n);
    for (size_t i = 0; i < n; i++) ck_assert_msg(pack_get_str(p, vals[i], vals[i]), "%s", vals[i]);
    /* "1" and "01" are different fields. */
    hpack_set(&p, "1", 1, "one", 3);
    ck_assert(pack_get_str(p, "01", "01"));
    ck_assert(pack_get_str(p, "1", "one"));
    ck_assert_int_eq(hpack_count(p), n + 1);
    hpack_free(p);
    /* Small integers are one byte each. */
    p = hpack_new();
    hpack_set(&p, "5", 1, "-3", 2);
    ck_assert_int_eq(hpack_bytes(p), 4);
    hpack_free(p);
}
END_TEST

/* Crossing 128 pairs and 128/16384 payload bytes grows the header; the
 * pairs must survive the move in both directions. */
START_TEST(pack_header_growth) {
    hpack *p = hpack_new();
    char f[32], v[400];
    for (int i = 0; i < 300; i++) {
        int flen = snprintf(f, sizeof(f), "field:%d", i);
        int vlen = i % 7 == 0 ? 300 : snprintf(v, sizeof(v), "v%d", i);
        if (i % 7 == 0) memset(v, 'a' + i % 26, 300);
        hpack_set(&p, f, (size_t)flen, v, (size_t)vlen);
        ck_assert_int_eq(hpack_count(p), (size_t)i + 1);
    }
    for (int i = 0; i < 300; i += 2) {
        int flen = snprintf(f, sizeof(f), "field:%d", i);
        ck_assert_int_eq(hpack_delete(&p, f, (size_t)flen), 1);
    }
    ck_assert_int_eq(hpack_count(p), 150);
    for (int i = 1; i < 300; i += 2) {
        int flen = snprintf(f, sizeof(f), "field:%d", i);
        hpack_pair pair;
        ck_assert(hpack_get(p, f, (size_t)flen, &pair));
        if (i % 7 == 0) {
            ck_assert_int_eq(pair.vlen, 300);
        } else {
            int vlen = snprintf(v, sizeof(v), "v%d", i);
            ck_assert_int_eq(pair.vlen, (size_t)vlen);
            ck_assert(memcmp(pair.value, v, pair.vlen) == 0);
        }
    }
    for (int i = 1; i < 300; i += 2) {
        int flen = snprintf(f, sizeof(f), "field:%d", i);
        ck_assert_int_eq(hpack_delete(&p, f, (size_t)flen), 1);
    }
    ck_assert_int_eq(hpack_count(p), 0);
    ck_assert_int_eq(hpack_bytes(p), 2);
    hpack_free(p);
}
END_TEST

/* Random operations against a plain array model, comparing contents and
 * order after each one. */
typedef struct model_pair {
    char f[32], v[200];
    size_t flen, vlen;
} model_pair;

static void random_string(char *out, size_t *len, size_t max) {
    int kind = rand() % 4;
    if (kind == 0) {
        *len = (size_t)snprintf(out, 24, "%d", rand() % 2000 - 1000);
    } else if (kind == 1) {
        *len = (size_t)snprintf(out, 24, "%lld", (long long)rand() * rand() * (rand() % 3 - 1));
    } else {
        *len = (size_t)rand() % max;
        for (size_t i = 0; i < *len; i++) out[i] = (char)("ab0\x00-9"[rand() % 6]);
    }
    if (*len > max) *len = max;
}

START_TEST(pack_random_vs_model) {
    srand(12345);
    model_pair *m = mem_alloc(sizeof(model_pair) * 64);
    size_t mn = 0;
    hpack *p = hpack_new();
    for (int step = 0; step < 20000; step++) {
        char f[32], v[200];
        size_t flen, vlen;
        random_string(f, &flen, 3);
        random_string(v, &vlen, rand() % 10 == 0 ? 200 : 8);
        size_t at = mn;
        for (size_t i = 0; i < mn; i++)
            if (m[i].flen == flen && !memcmp(m[i].f, f, flen)) at = i;
        if (rand() % 3 == 0) {
            int had = at < mn;
            ck_assert_int_eq(hpack_delete(&p, f, flen), had);
            if (had) {
                memmove(&m[at], &m[at + 1], (mn - at - 1) * sizeof(*m));
                mn--;
            }
        } else if (at < mn || mn < 64) {
            ck_assert_int_eq(hpack_set(&p, f, flen, v, vlen), at < mn);
            if (at == mn) mn++;
            memcpy(m[at].f, f, flen);
            m[at].flen = flen;
            memcpy(m[at].v, v, vlen);
            m[at].vlen = vlen;
        }
        ck_assert_int_eq(hpack_count(p), mn);
        size_t pos = 0, i = 0;
        hpack_pair pair;
        while (hpack_iter(p, &pos, &pair)) {
            ck_assert(i < mn);
            ck_assert(pair.flen == m[i].flen && !memcmp(pair.field, m[i].f, pair.flen));
            ck_assert(pair.vlen == m[i].vlen && !memcmp(pair.value, m[i].v, pair.vlen));
            i++;
        }
        ck_assert_int_eq(i, mn);
    }
    hpack_pair pair;
    hpack *d = hpack_dup(p);
    ck_assert_int_eq(hpack_bytes(d), hpack_bytes(p));
    ck_assert(memcmp(d, p, hpack_bytes(p)) == 0);
    if (mn) ck_assert(hpack_get(d, m[0].f, m[0].flen, &pair));
    hpack_free(d);
    hpack_free(p);
    mem_free(m);
}
END_TEST

/* ---- the value API ------------------------------------------------------ */

static config cfg;

static void set_cstr(obj *o, const char *f, const char *v) {
    dstr fd = dstr_from(f);
    hash_set(o, &cfg, fd, v, strlen(v));
    dstr_free(fd);
}

static void digest_of(const obj *o, unsigned char out[20]) {
    memset(out, 0, 20);
    obj_get_type_ops(OBJ_HASH)->digest(o, out);
}

START_TEST(value_conversions) {
    config_defaults(&cfg);
    cfg.hash_max_listpack_entries = 4;
    cfg.hash_max_listpack_value = 8;
    obj *o = hash_new();
    set_cstr(o, "a", "1");
    set_cstr(o, "b", "2");
    set_cstr(o, "c", "3");
    set_cstr(o, "d", "4");
    ck_assert_int_eq(o->enc, ENC_LISTPACK);
    set_cstr(o, "d", "5"); /* update: still four pairs */
    ck_assert_int_eq(o->enc, ENC_LISTPACK);
    unsigned char before[20], after[20];
    digest_of(o, before);
    obj *copy = obj_dup(o);
    set_cstr(o, "e", "5"); /* fifth pair: converts after inserting */
    ck_assert_int_eq(o->enc, ENC_HASHTABLE);
    ck_assert_int_eq(hash_len(o), 5);
    dstr e = dstr_from("e");
    ck_assert_int_eq(hash_delete(o, e), 1);
    dstr_free(e);
    ck_assert_int_eq(o->enc, ENC_HASHTABLE); /* one way */
    digest_of(o, after);
    ck_assert(memcmp(before, after, 20) == 0); /* same content, other encoding */
    digest_of(copy, after);
    ck_assert(memcmp(before, after, 20) == 0);
    ck_assert_int_eq(copy->enc, ENC_LISTPACK);
    obj_free(copy);
    /* The COPY of a table is an independent table. */
    copy = obj_dup(o);
    set_cstr(o, "a", "changed");
    digest_of(copy, after);
    ck_assert(memcmp(before, after, 20) == 0);
    obj_free(copy);
    obj_free(o);

    /* A long value converts before it is written; so does a long field. */
    o = hash_new();
    set_cstr(o, "a", "12345678");
    ck_assert_int_eq(o->enc, ENC_LISTPACK);
    set_cstr(o, "a", "123456789");
    ck_assert_int_eq(o->enc, ENC_HASHTABLE);
    obj_free(o);
    o = hash_new();
    set_cstr(o, "123456789", "x");
    ck_assert_int_eq(o->enc, ENC_HASHTABLE);
    obj_free(o);

    /* hash_try_convert looks at every argument, written or not. */
    o = hash_new();
    dstr args[4] = {dstr_from("f"), dstr_from("v"), dstr_from("g"), dstr_from("toolongvalue")};
    hash_try_convert(o, &cfg, args, 0, 1);
    ck_assert_int_eq(o->enc, ENC_LISTPACK);
    hash_try_convert(o, &cfg, args, 0, 3);
    ck_assert_int_eq(o->enc, ENC_HASHTABLE);
    ck_assert_int_eq(hash_len(o), 0);
    for (int i = 0; i < 4; i++) dstr_free(args[i]);
    obj_free(o);
}
END_TEST

START_TEST(value_iteration_both_encodings) {
    config_defaults(&cfg);
    for (int enc = 0; enc < 2; enc++) {
        obj *o = hash_new();
        char f[32], v[32];
        for (int i = 0; i < 100; i++) {
            snprintf(f, sizeof(f), "f%d", i);
            snprintf(v, sizeof(v), "%d", i * 3);
            set_cstr(o, f, v);
        }
        if (enc) hash_convert_to_table(o);
        ck_assert_int_eq(o->enc, enc ? ENC_HASHTABLE : ENC_LISTPACK);
        int seen[100] = {0}, n = 0;
        hash_iter it;
        hash_pair pair;
        hash_iter_init(o, &it);
        while (hash_iter_next(&it, &pair)) {
            char num[32];
            ck_assert(pair.flen < sizeof(num) && pair.vlen < sizeof(num));
            memcpy(num, pair.field + 1, pair.flen - 1);
            num[pair.flen - 1] = '\0';
            int i = atoi(num); /* strings are not NUL-terminated */
            ck_assert(i >= 0 && i < 100 && !seen[i]);
            if (!enc) ck_assert_int_eq(i, n); /* pack: insertion order */
            seen[i] = 1;
            memcpy(num, pair.value, pair.vlen);
            num[pair.vlen] = '\0';
            ck_assert_int_eq(atoi(num), i * 3);
            n++;
        }
        hash_iter_done(&it);
        ck_assert_int_eq(n, 100);
        for (int k = 0; k < 200; k++) {
            hash_random_pair(o, &pair);
            ck_assert(pair.field[0] == 'f');
        }
        obj_free(o);
    }
}
END_TEST

/* ---- commands ----------------------------------------------------------- */

static server srv;
static client *cli;
static stream_encoder enc;

static void setup(void) {
    memset(&srv, 0, sizeof(srv));
    config_defaults(&srv.cfg);
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

static dstr runv(int argc, const char **args) {
    dstr *argv = mem_alloc(sizeof(dstr) * (size_t)argc);
    for (int i = 0; i < argc; i++) argv[i] = dstr_from(args[i]);
    client_set_argv(cli, argv, argc);
    process_command(cli);
    client_reset_argv(cli);
    dstr r = dstr_dup(cli->reply);
    dstr_clear(cli->reply);
    return r;
}

#define EXPECT(want, ...)                                                         \
    do {                                                                          \
        const char *args_[] = {__VA_ARGS__};                                      \
        dstr got_ = runv((int)(sizeof(args_) / sizeof(args_[0])), args_);         \
        ck_assert_msg(strcmp(got_, want) == 0, "%s: got %s want %s", args_[0], got_, \
                      want);                                                      \
        dstr_free(got_);                                                          \
    } while (0)

static const char *encoding_of(const char *key) {
    dstr k = dstr_from(key);
    obj *o = db_peek(cli->db, k);
    dstr_free(k);
    return o ? obj_encoding_name(o) : "none";
}

START_TEST(cmd_basic_replies) {
    EXPECT(":2\r\n", "HSET", "h", "a", "1", "b", "2");
    EXPECT(":0\r\n", "HSET", "h", "a", "x");
    EXPECT("-ERR wrong number of arguments for 'hset' command\r\n", "HSET", "h", "a", "1", "b");
    EXPECT("-ERR wrong number of arguments for 'hmset' command\r\n", "HMSET", "h", "a");
    EXPECT("+OK\r\n", "HMSET", "h", "c", "3");
    EXPECT("$1\r\nx\r\n", "HGET", "h", "a");
    EXPECT("$-1\r\n", "HGET", "h", "zz");
    EXPECT("$-1\r\n", "HGET", "nokey", "a");
    EXPECT("*3\r\n$1\r\nx\r\n$-1\r\n$1\r\n3\r\n", "HMGET", "h", "a", "zz", "c");
    EXPECT("*2\r\n$-1\r\n$-1\r\n", "HMGET", "nokey", "a", "b");
    EXPECT(":3\r\n", "HLEN", "h");
    EXPECT(":1\r\n", "HSTRLEN", "h", "c");
    EXPECT(":0\r\n", "HSTRLEN", "h", "zz");
    EXPECT(":1\r\n", "HEXISTS", "h", "b");
    EXPECT(":0\r\n", "HEXISTS", "h", "zz");
    EXPECT("*3\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\nc\r\n", "HKEYS", "h");
    EXPECT("*3\r\n$1\r\nx\r\n$1\r\n2\r\n$1\r\n3\r\n", "HVALS", "h");
    EXPECT("*6\r\n$1\r\na\r\n$1\r\nx\r\n$1\r\nb\r\n$1\r\n2\r\n$1\r\nc\r\n$1\r\n3\r\n",
           "HGETALL", "h");
    EXPECT("*0\r\n", "HGETALL", "nokey");
    EXPECT(":0\r\n", "HSETNX", "h", "a", "y");
    EXPECT(":1\r\n", "HSETNX", "h", "d", "4");
    EXPECT(":2\r\n", "HDEL", "h", "a", "a", "b", "zz");
    EXPECT(":0\r\n", "HDEL", "nokey", "a");
    EXPECT(":2\r\n", "HDEL", "h", "c", "d", "never-reached");
    EXPECT(":0\r\n", "EXISTS", "h"); /* emptied key is gone */
}
END_TEST

START_TEST(cmd_wrongtype) {
    const char *wt = "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n";
    EXPECT("+OK\r\n", "SET", "s", "v");
    EXPECT(wt, "HSET", "s", "a", "1");
    EXPECT(wt, "HGET", "s", "a");
    EXPECT(wt, "HMGET", "s", "a");
    EXPECT(wt, "HDEL", "s", "a");
    EXPECT(wt, "HLEN", "s");
    EXPECT(wt, "HGETALL", "s");
    EXPECT(wt, "HSCAN", "s", "0");
    EXPECT(wt, "HRANDFIELD", "s");
    EXPECT(wt, "HRANDFIELD", "s", "2");
    EXPECT(wt, "HINCRBY", "s", "a", "1");
    /* Argument errors parsed before the lookup win over WRONGTYPE. */
    EXPECT("-ERR value is not an integer or out of range\r\n", "HINCRBY", "s", "a", "x");
    EXPECT("-ERR value is not a valid float\r\n", "HINCRBYFLOAT", "s", "a", "x");
    EXPECT("-ERR invalid cursor\r\n", "HSCAN", "s", "x");
    EXPECT("-ERR syntax error\r\n", "HRANDFIELD", "s", "1", "bad");
}
END_TEST

START_TEST(cmd_incr) {
    EXPECT(":5\r\n", "HINCRBY", "h", "n", "5");
    EXPECT(":-4\r\n", "HINCRBY", "h", "n", "-9");
    EXPECT(":1\r\n", "HSET", "h", "s", "abc");
    EXPECT("-ERR hash value is not an integer\r\n", "HINCRBY", "h", "s", "1");
    EXPECT("-ERR hash value is not a float\r\n", "HINCRBYFLOAT", "h", "s", "1");
    EXPECT(":1\r\n", "HSET", "h", "m", "9223372036854775807");
    EXPECT("-ERR increment or decrement would overflow\r\n", "HINCRBY", "h", "m", "1");
    EXPECT("$3\r\n1.5\r\n", "HINCRBYFLOAT", "h", "f", "1.5");
    EXPECT("$3\r\n4.5\r\n", "HINCRBYFLOAT", "h", "f", "3");
    EXPECT("-ERR value is NaN or Infinity\r\n", "HINCRBYFLOAT", "h", "f", "inf");
    EXPECT(":1\r\n", "HSET", "h", "big", "1e4932");
    EXPECT("-ERR increment would produce NaN or Infinity\r\n", "HINCRBYFLOAT", "h", "big",
           "1e4932");
    EXPECT("$2\r\n-4\r\n", "HGET", "h", "n");
}
END_TEST

START_TEST(cmd_propagation) {
    EXPECT(":1\r\n", "HSET", "h", "a", "1");
    dstr_clear(enc.buf);
    EXPECT("$3\r\n3.5\r\n", "HINCRBYFLOAT", "h", "a", "2.5");
    const char *want = "*4\r\n$4\r\nHSET\r\n$1\r\nh\r\n$1\r\na\r\n$3\r\n3.5\r\n";
    ck_assert_msg(strcmp(enc.buf, want) == 0, "stream %s", enc.buf);
    dstr_clear(enc.buf);
    /* Writes that change nothing are not propagated. */
    EXPECT(":0\r\n", "HSETNX", "h", "a", "x");
    EXPECT(":0\r\n", "HDEL", "h", "zz");
    EXPECT("-ERR hash value is not an integer\r\n", "HINCRBY", "h", "a", "1");
    ck_assert_int_eq(dstr_len(enc.buf), 0);
    EXPECT(":1\r\n", "HDEL", "h", "a");
    want = "*3\r\n$4\r\nHDEL\r\n$1\r\nh\r\n$1\r\na\r\n";
    ck_assert_msg(strcmp(enc.buf, want) == 0, "stream %s", enc.buf);
}
END_TEST

START_TEST(cmd_encodings) {
    EXPECT("+OK\r\n", "CONFIG", "SET", "hash-max-listpack-entries", "3");
    EXPECT("+OK\r\n", "CONFIG", "SET", "hash-max-listpack-value", "4");
    EXPECT(":3\r\n", "HSET", "h", "a", "1", "b", "2", "c", "3");
    ck_assert_str_eq(encoding_of("h"), "listpack");
    EXPECT(":1\r\n", "HSET", "h", "d", "4");
    ck_assert_str_eq(encoding_of("h"), "hashtable");
    /* HSETNX on an existing field does not look at the value's length. */
    EXPECT(":1\r\n", "HSET", "g", "a", "1");
    EXPECT(":0\r\n", "HSETNX", "g", "a", "toolong");
    ck_assert_str_eq(encoding_of("g"), "listpack");
    /* HSET converts on any long argument, even for a no-op update... */
    EXPECT(":0\r\n", "HSET", "g", "a", "1", "a", "toolong", "a", "1");
    ck_assert_str_eq(encoding_of("g"), "hashtable");
    /* ...and HINCRBYFLOAT when its result is long. */
    EXPECT(":1\r\n", "HSET", "f", "a", "1");
    EXPECT("$5\r\n1.125\r\n", "HINCRBYFLOAT", "f", "a", "0.125");
    ck_assert_str_eq(encoding_of("f"), "hashtable");
}
END_TEST

START_TEST(cmd_hscan) {
    EXPECT("*2\r\n$1\r\n0\r\n*0\r\n", "HSCAN", "nokey", "0", "COUNT", "0");
    EXPECT(":3\r\n", "HSET", "h", "a1", "1", "b1", "2", "a2", "3");
    EXPECT("*2\r\n$1\r\n0\r\n*4\r\n$2\r\na1\r\n$1\r\n1\r\n$2\r\na2\r\n$1\r\n3\r\n", "HSCAN", "h",
           "17", "MATCH", "a*");
    EXPECT("-ERR syntax error\r\n", "HSCAN", "h", "0", "COUNT", "0");
    EXPECT("-ERR syntax error\r\n", "HSCAN", "h", "0", "MATCH");
    EXPECT("-ERR syntax error\r\n", "HSCAN", "h", "0", "TYPE", "string");
    EXPECT("-ERR value is not an integer or out of range\r\n", "HSCAN", "h", "0", "COUNT", "x");
    EXPECT("-ERR invalid cursor\r\n", "HSCAN", "h", " 1");
    EXPECT("-ERR invalid cursor\r\n", "HSCAN", "h", "18446744073709551616");
    EXPECT("*2\r\n$1\r\n0\r\n*6\r\n$2\r\na1\r\n$1\r\n1\r\n$2\r\nb1\r\n$1\r\n2\r\n$2\r\na2\r\n$1\r\n3\r\n",
           "HSCAN", "h", "-1");
}
END_TEST

/* A full HSCAN of a table returns every field present for the whole scan,
 * even while fields are added and removed between the calls. */
START_TEST(cmd_hscan_table_while_modifying) {
    char f[32];
    for (int i = 0; i < 1000; i++) {
        snprintf(f, sizeof(f), "keep%d", i);
        const char *args[] = {"HSET", "h", f, "v"};
        dstr_free(runv(4, args));
    }
    ck_assert_str_eq(encoding_of("h"), "hashtable");
    char seen[1000] = {0};
    dstr cursor = dstr_from("0");
    int round = 0;
    do {
        const char *args[] = {"HSCAN", "h", cursor, "COUNT", "7"};
        dstr r = runv(5, args);
        /* *2\r\n$<n>\r\n<cursor>\r\n*<m>\r\n then m bulks */
        char *p = strchr(r, '\n') + 1;
        p = strchr(p, '\n') + 1;
        char *end = strchr(p, '\r');
        dstr_free(cursor);
        cursor = dstr_new(p, (size_t)(end - p));
        p = end + 2;
        long m = strtol(p + 1, &p, 10);
        p += 2;
        for (long j = 0; j < m; j++) {
            long len = strtol(p + 1, &p, 10);
            p += 2;
            if (j % 2 == 0 && len > 4 && !memcmp(p, "keep", 4)) seen[atoi(p + 4)] = 1;
            p += len + 2;
        }
        dstr_free(r);
        /* Churn: add and remove other fields, growing and shrinking. */
        for (int k = 0; k < 40; k++) {
            snprintf(f, sizeof(f), "tmp%d", round * 40 + k);
            const char *add[] = {"HSET", "h", f, "v"};
            dstr_free(runv(4, add));
            if (round > 2) {
                snprintf(f, sizeof(f), "tmp%d", (round - 2) * 40 + k);
                const char *del[] = {"HDEL", "h", f};
                dstr_free(runv(3, del));
            }
        }
        round++;
    } while (strcmp(cursor, "0") != 0 && round < 100000);
    dstr_free(cursor);
    for (int i = 0; i < 1000; i++) ck_assert_msg(seen[i], "keep%d not scanned", i);
}
END_TEST

START_TEST(cmd_hrandfield) {
    EXPECT("$-1\r\n", "HRANDFIELD", "nokey");
    EXPECT("*0\r\n", "HRANDFIELD", "nokey", "5");
    EXPECT("-ERR value is out of range, value must between -9223372036854775807 and "
           "9223372036854775807\r\n",
           "HRANDFIELD", "h", "-9223372036854775808");
    EXPECT("-ERR value is out of range\r\n", "HRANDFIELD", "h", "4611686018427387904",
           "WITHVALUES");
    EXPECT("-ERR syntax error\r\n", "HRANDFIELD", "h", "1", "WITHVALUES", "x");
    EXPECT(":3\r\n", "HSET", "h", "a", "1", "b", "2", "c", "3");
    EXPECT("*0\r\n", "HRANDFIELD", "h", "0");
    /* count >= size: the whole hash, in order. */
    EXPECT("*6\r\n$1\r\na\r\n$1\r\n1\r\n$1\r\nb\r\n$1\r\n2\r\n$1\r\nc\r\n$1\r\n3\r\n",
           "HRANDFIELD", "h", "3", "WITHVALUES");
    /* Negative: exactly |count| picks. */
    const char *args[] = {"HRANDFIELD", "h", "-10", "WITHVALUES"};
    dstr r = runv(4, args);
    ck_assert(strncmp(r, "*20\r\n", 5) == 0);
    dstr_free(r);
    /* Unique samples from a pack come out in pack order. */
    for (int i = 0; i < 50; i++) {
        const char *a2[] = {"HRANDFIELD", "h", "2"};
        r = runv(3, a2);
        ck_assert(!strcmp(r, "*2\r\n$1\r\na\r\n$1\r\nb\r\n") ||
                  !strcmp(r, "*2\r\n$1\r\na\r\n$1\r\nc\r\n") ||
                  !strcmp(r, "*2\r\n$1\r\nb\r\n$1\r\nc\r\n"));
        dstr_free(r);
    }
    /* Table: unique samples, both sampling strategies. */
    char f[32];
    for (int i = 0; i < 300; i++) {
        snprintf(f, sizeof(f), "f%d", i);
        const char *a3[] = {"HSET", "t", f, "v"};
        dstr_free(runv(4, a3));
    }
    const char *counts[] = {"250", "20"};
    for (int k = 0; k < 2; k++) {
        const char *a4[] = {"HRANDFIELD", "t", counts[k]};
        r = runv(3, a4);
        long n = atol(counts[k]);
        char head[16];
        snprintf(head, sizeof(head), "*%ld\r\n", n);
        ck_assert(strncmp(r, head, strlen(head)) == 0);
        char seen[300] = {0};
        char *p = r;
        for (long j = 0; j < n; j++) {
            p = strstr(p, "\r\nf") + 3;
            int idx = atoi(p);
            ck_assert_msg(!seen[idx], "duplicate f%d", idx);
            seen[idx] = 1;
        }
        dstr_free(r);
    }
}
END_TEST

START_TEST(cmd_digest_matches_redis) {
    /* DEBUG DIGEST-VALUE of {a:1, b:2, c:3} after HINCRBYFLOAT a 1.5, as
     * reported by redis-server 7.0.15. */
    srv.cfg.enable_debug_command = DEBUG_CMD_YES;
    EXPECT(":3\r\n", "HSET", "h", "a", "1", "b", "2", "c", "3");
    EXPECT("$3\r\n2.5\r\n", "HINCRBYFLOAT", "h", "a", "1.5");
    EXPECT("+7e717293ff74b9c17b93781cbcda1dce6b7143d0\r\n", "DEBUG", "DIGEST");
}
END_TEST

int main(void) {
    types_register(); /* the hash's free/dup/digest hooks, for every test */
    Suite *s = suite_create("hash");
    TCase *tp = tcase_create("pack");
    tcase_add_test(tp, pack_basics);
    tcase_add_test(tp, pack_integer_entries);
    tcase_add_test(tp, pack_header_growth);
    tcase_add_test(tp, pack_random_vs_model);
    tcase_set_timeout(tp, 120);
    suite_add_tcase(s, tp);
    TCase *tv = tcase_create("value");
    tcase_add_test(tv, value_conversions);
    tcase_add_test(tv, value_iteration_both_encodings);
    suite_add_tcase(s, tv);
    TCase *tc = tcase_create("commands");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, cmd_basic_replies);
    tcase_add_test(tc, cmd_wrongtype);
    tcase_add_test(tc, cmd_incr);
    tcase_add_test(tc, cmd_propagation);
    tcase_add_test(tc, cmd_encodings);
    tcase_add_test(tc, cmd_hscan);
    tcase_add_test(tc, cmd_hscan_table_while_modifying);
    tcase_add_test(tc, cmd_hrandfield);
    tcase_add_test(tc, cmd_digest_matches_redis);
    tcase_set_timeout(tc, 120);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
