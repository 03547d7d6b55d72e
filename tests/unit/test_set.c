/* Unit tests of the set type: the intset on its own (width upgrades at both
 * ends, removal, blob validation, a randomized comparison against a plain
 * model), the set value (conversions at Redis 7.0's thresholds, canonical
 * integers only, iteration and removal while iterating, random pops,
 * COPY, a digest independent of the encoding and equal to Redis's), and
 * the commands through a fake client: replies, WRONGTYPE, the propagated
 * forms of SPOP (single, counted, whole set, rebuilt set), *STORE and
 * SMOVE, and the encodings Redis leaves behind. Expected digests and
 * encodings were checked against a real redis-server 7.0.15. */
#include <check.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/config.h"
#include "core/db.h"
#include "core/debug.h"
#include "core/intset.h"
#include "core/mem.h"
#include "core/propagate.h"
#include "core/server.h"
#include "core/t_set.h"
#include "core/types.h"
#include "core/util.h"

/* ---- intset ------------------------------------------------------------ */

static void assert_intset(const intset *is, const int64_t *want, uint32_t n) {
    ck_assert_uint_eq(intset_len(is), n);
    for (uint32_t i = 0; i < n; i++) {
        int64_t v;
        ck_assert(intset_get(is, i, &v));
        ck_assert_msg(v == want[i], "pos %u: %lld != %lld", i, (long long)v, (long long)want[i]);
    }
    int64_t v;
    ck_assert(!intset_get(is, n, &v));
    ck_assert_uint_eq(intset_blob_len(is), 8 + (size_t)n * intset_width(is));
    ck_assert(intset_validate(intset_blob(is), intset_blob_len(is), 1) == (n > 0));
}

START_TEST(intset_basics) {
    intset *is = intset_new();
    int added, removed;
    ck_assert_uint_eq(intset_width(is), 2);
    is = intset_add(is, 5, &added);
    ck_assert(added);
    is = intset_add(is, 1, &added);
    is = intset_add(is, 3, &added);
    is = intset_add(is, 3, &added);
    ck_assert(!added);
    int64_t w1[] = {1, 3, 5};
    assert_intset(is, w1, 3);
    ck_assert(intset_find(is, 3) && !intset_find(is, 4) && !intset_find(is, 1LL << 40));
    /* Upgrade at the top, then at the bottom. */
    is = intset_add(is, 100000, &added);
    ck_assert_uint_eq(intset_width(is), 4);
    is = intset_add(is, INT64_MIN, &added);
    ck_assert_uint_eq(intset_width(is), 8);
    is = intset_add(is, INT64_MAX, &added);
    int64_t w2[] = {INT64_MIN, 1, 3, 5, 100000, INT64_MAX};
    assert_intset(is, w2, 6);
    /* Removal never narrows; a value wider than the set is simply absent. */
    is = intset_remove(is, INT64_MIN, &removed);
    ck_assert(removed);
    is = intset_remove(is, INT64_MIN, &removed);
    ck_assert(!removed);
    is = intset_remove(is, 3, &removed);
    ck_assert_uint_eq(intset_width(is), 8);
    int64_t w3[] = {1, 5, 100000, INT64_MAX};
    assert_intset(is, w3, 4);
    intset *copy = intset_dup(is);
    assert_intset(copy, w3, 4);
    intset_free(copy);
    intset_free(is);

    /* A narrow set that cannot hold the value does not have it. */
    is = intset_new();
    is = intset_add(is, -7, NULL);
    is = intset_remove(is, 1LL << 33, &removed);
    ck_assert(!removed);
    is = intset_add(is, -(1LL << 20), NULL); /* upgrade to 4 bytes, prepended */
    int64_t w4[] = {-(1LL << 20), -7};
    assert_intset(is, w4, 2);
    intset_free(is);
}
END_TEST

START_TEST(intset_blobs) {
    /* What Redis writes for {1, 2, 3}: int16 encoding, little-endian. */
    const unsigned char redis_blob[] = {2, 0, 0, 0, 3, 0, 0, 0, 1, 0, 2, 0, 3, 0};
    intset *is = intset_from_blob(redis_blob, sizeof(redis_blob));
    ck_assert_ptr_nonnull(is);
    int64_t w[] = {1, 2, 3};
    assert_intset(is, w, 3);
    ck_assert(!memcmp(intset_blob(is), redis_blob, sizeof(redis_blob)));
    intset_free(is);
    /* Truncated, bad width, empty, unsorted, duplicated. */
    ck_assert_ptr_null(intset_from_blob(redis_blob, sizeof(redis_blob) - 1));
    ck_assert_ptr_null(intset_from_blob(redis_blob, 4));
    unsigned char bad[sizeof(redis_blob)];
    memcpy(bad, redis_blob, sizeof(bad));
    bad[0] = 3;
    ck_assert_ptr_null(intset_from_blob(bad, sizeof(bad)));
    const unsigned char empty[] = {2, 0, 0, 0, 0, 0, 0, 0};
    ck_assert(!intset_validate(empty, sizeof(empty), 0));
    memcpy(bad, redis_blob, sizeof(bad));
    bad[8] = 9; /* 9, 2, 3 */
    ck_assert(intset_validate(bad, sizeof(bad), 0));
    ck_assert(!intset_validate(bad, sizeof(bad), 1));
    bad[8] = 2; /* 2, 2, 3 */
    ck_assert(!intset_validate(bad, sizeof(bad), 1));
}
END_TEST

static int cmp_i64(const void *a, const void *b) {
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

START_TEST(intset_random_vs_model) {
    srand(12345);
    int64_t *model = malloc(sizeof(int64_t) * 4096);
    uint32_t n = 0;
    intset *is = intset_new();
    for (int round = 0; round < 60000; round++) {
        int64_t v;
        int r = rand() % 10;
        if (r < 6)
            v = rand() % 300 - 150;
        else if (r < 8)
            v = (int64_t)(rand() % 200000) - 100000;
        else
            v = (int64_t)(((uint64_t)rand() << 33) ^ (uint64_t)rand());
        int present = 0;
        for (uint32_t i = 0; i < n; i++) present |= model[i] == v;
        ck_assert_int_eq(intset_find(is, v), present);
        int changed;
        if (rand() % 3 && n < 4000) {
            is = intset_add(is, v, &changed);
            ck_assert_int_eq(changed, !present);
            if (!present) model[n++] = v;
        } else {
            is = intset_remove(is, v, &changed);
            ck_assert_int_eq(changed, present);
            if (present) {
                for (uint32_t i = 0; i < n; i++)
                    if (model[i] == v) model[i] = model[--n];
            }
        }
        if (round % 5000 == 0) {
            qsort(model, n, sizeof(int64_t), cmp_i64);
            assert_intset(is, model, n);
        }
    }
    qsort(model, n, sizeof(int64_t), cmp_i64);
    assert_intset(is, model, n);
    /* Random picks are members. */
    for (int i = 0; i < 1000 && n; i++) ck_assert(intset_find(is, intset_random(is, (uint64_t)rand())));
    intset_free(is);
    free(model);
}
END_TEST

/* ---- the set value ------------------------------------------------------ */

static int add_str(obj *o, const char *s, long long max) {
    dstr d = dstr_from(s);
    int r = set_add(o, d, max);
    dstr_free(d);
    return r;
}

static int has_str(const obj *o, const char *s) {
    dstr d = dstr_from(s);
    int r = set_is_member(o, d);
    dstr_free(d);
    return r;
}

START_TEST(value_conversions) {
    types_register();
    dstr one = dstr_from("1"), word = dstr_from("a");
    obj *o = set_create_for(one);
    ck_assert_int_eq(o->enc, ENC_INTSET);
    obj_free(o);
    o = set_create_for(word);
    ck_assert_int_eq(o->enc, ENC_HASHTABLE);
    obj_free(o);
    dstr_free(one);
    dstr_free(word);

    /* Past the limit: the member that makes it limit+1 converts. */
    o = set_create_intset();
    for (int i = 0; i < 4; i++) ck_assert(set_add_ll(o, i, 4));
    ck_assert(!set_add_ll(o, 2, 4));
    ck_assert_int_eq(o->enc, ENC_INTSET);
    ck_assert(set_add_ll(o, 4, 4));
    ck_assert_int_eq(o->enc, ENC_HASHTABLE);
    ck_assert_uint_eq(set_size(o), 5);
    ck_assert(has_str(o, "4") && has_str(o, "0") && !has_str(o, "5"));
    ck_assert(set_is_member_ll(o, 3) && !set_is_member_ll(o, 7));
    /* Removing back under the limit does not convert back. */
    dstr three = dstr_from("3");
    ck_assert(set_remove(o, three));
    ck_assert(!set_remove(o, three));
    dstr_free(three);
    ck_assert_int_eq(o->enc, ENC_HASHTABLE);
    obj_free(o);

    /* Only canonical integers stay in an intset. */
    const char *not_ints[] = {"01", "-0", "+1", " 1", "1 ", "9223372036854775808", "1.0", ""};
    for (size_t i = 0; i < sizeof(not_ints) / sizeof(*not_ints); i++) {
        o = set_create_intset();
        add_str(o, "7", 512);
        ck_assert(!has_str(o, not_ints[i]));
        ck_assert(add_str(o, not_ints[i], 512));
        ck_assert_msg(o->enc == ENC_HASHTABLE, "%s kept the intset", not_ints[i]);
        ck_assert(has_str(o, not_ints[i]) && has_str(o, "7"));
        obj_free(o);
    }
    o = set_create_intset();
    ck_assert(add_str(o, "-9223372036854775808", 512));
    ck_assert(add_str(o, "9223372036854775807", 512));
    ck_assert_int_eq(o->enc, ENC_INTSET);
    obj_free(o);

    /* An RDB intset larger than the limit loads as a hashtable. */
    const unsigned char blob[] = {2, 0, 0, 0, 3, 0, 0, 0, 1, 0, 2, 0, 3, 0};
    o = set_from_intset_blob(blob, sizeof(blob), 512);
    ck_assert_int_eq(o->enc, ENC_INTSET);
    ck_assert_ptr_nonnull(set_intset(o));
    obj_free(o);
    o = set_from_intset_blob(blob, sizeof(blob), 2);
    ck_assert_int_eq(o->enc, ENC_HASHTABLE);
    ck_assert_ptr_nonnull(set_dict(o));
    ck_assert(has_str(o, "2"));
    obj_free(o);
    ck_assert_ptr_null(set_from_intset_blob(blob, sizeof(blob) - 2, 512));
}
END_TEST

START_TEST(value_iteration_and_pops) {
    types_register();
    obj *o = set_create_intset();
    for (int i = 9; i >= 0; i--) set_add_ll(o, i * 3, 512);
    set_iter it;
    set_elem e;
    long long expect = 0;
    set_iter_init(o, &it);
    while (set_iter_next(&it, &e)) {
        ck_assert(e.is_int);
        ck_assert_int_eq(e.ll, expect);
        expect += 3;
    }
    set_iter_done(&it);
    ck_assert_int_eq(expect, 30);

    /* Hashtable: removing the member just returned is allowed. */
    obj *h = set_create_hashtable(0);
    char buf[32];
    for (int i = 0; i < 2000; i++) {
        snprintf(buf, sizeof(buf), "m%d", i);
        add_str(h, buf, 512);
    }
    size_t seen = 0;
    set_iter_init(h, &it);
    while (set_iter_next(&it, &e)) {
        ck_assert(!e.is_int);
        seen++;
        if (seen % 2) {
            dstr m = dstr_new(e.p, e.len);
            ck_assert(set_remove(h, m));
            dstr_free(m);
        }
    }
    set_iter_done(&it);
    ck_assert_uint_eq(seen, 2000);
    ck_assert_uint_eq(set_size(h), 1000);

    /* Pops drain both encodings without repeats. */
    obj *sets[2] = {o, h};
    for (int k = 0; k < 2; k++) {
        size_t n = set_size(sets[k]);
        obj *seen_set = set_create_hashtable(0);
        for (size_t i = 0; i < n; i++) {
            set_elem r;
            set_random_member(sets[k], &r, NULL);
            dstr m = set_pop_random(sets[k]);
            ck_assert(!set_is_member(sets[k], m));
            ck_assert(set_add(seen_set, m, 0));
            dstr_free(m);
        }
        ck_assert_uint_eq(set_size(sets[k]), 0);
        ck_assert_uint_eq(set_size(seen_set), n);
        obj_free(seen_set);
        obj_free(sets[k]);
    }
}
END_TEST

START_TEST(value_dup_and_digest) {
    types_register();
    const obj_type_ops *ops = obj_get_type_ops(OBJ_SET);
    ck_assert_ptr_nonnull(ops);
    obj *a = set_create_intset();
    set_add_ll(a, 1, 512);
    set_add_ll(a, 2, 512);
    set_add_ll(a, 3, 512);
    obj *b = set_create_hashtable(0);
    add_str(b, "3", 512);
    add_str(b, "1", 512);
    add_str(b, "2", 512);
    unsigned char da[20] = {0}, db_[20] = {0};
    ops->digest(a, da);
    ops->digest(b, db_);
    ck_assert(!memcmp(da, db_, 20));
    obj *ca = obj_dup(a), *cb = obj_dup(b);
    ck_assert_int_eq(ca->enc, ENC_INTSET);
    ck_assert_int_eq(cb->enc, ENC_HASHTABLE);
    ck_assert_uint_eq(set_size(cb), 3);
    ck_assert(has_str(cb, "2"));
    /* The copy is independent. */
    set_add_ll(ca, 4, 512);
    ck_assert_uint_eq(set_size(a), 3);
    obj_free(a);
    obj_free(b);
    obj_free(ca);
    obj_free(cb);
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

/* Run a command given as one line of space-separated words; the reply is
 * returned (owned by the caller). */
static dstr run(const char *line) {
    dstr *argv = NULL;
    int argc = 0;
    const char *p = line;
    while (*p) {
        while (*p == ' ') p++;
        if (!*p) break;
        const char *start = p;
        while (*p && *p != ' ') p++;
        argv = mem_realloc(argv, sizeof(dstr) * (size_t)(argc + 1));
        argv[argc++] = dstr_new(start, (size_t)(p - start));
    }
    client_set_argv(cli, argv, argc);
    process_command(cli);
    client_reset_argv(cli);
    dstr r = dstr_dup(cli->reply);
    dstr_clear(cli->reply);
    return r;
}

static void check(const char *line, const char *want) {
    dstr r = run(line);
    ck_assert_msg(!strcmp(r, want), "%s:\n want %s\n got  %s", line, want, r);
    dstr_free(r);
}

#define RUN(line) dstr_free(run(line))

/* Members of a flat RESP array of bulks, in reply order. */
static int parse_bulks(const char *r, dstr *out, int max) {
    int n = 0;
    ck_assert(r[0] == '*');
    const char *p = strchr(r, '\n') + 1;
    while (*p == '$' && n < max) {
        long len = strtol(p + 1, NULL, 10);
        p = strchr(p, '\n') + 1;
        out[n++] = dstr_new(p, (size_t)len);
        p += len + 2;
    }
    return n;
}

/* The stream expected for these commands (each a space-separated line). */
static void assert_stream(const char *const *lines, int n) {
    dstr want = dstr_empty();
    for (int i = 0; i < n; i++) {
        dstr argv[32];
        int argc = 0;
        char tmp[256];
        snprintf(tmp, sizeof(tmp), "%s", lines[i]);
        for (char *w = strtok(tmp, " "); w && argc < 32; w = strtok(NULL, " "))
            argv[argc++] = dstr_from(w);
        want = resp_encode_command(want, argv, argc);
        for (int j = 0; j < argc; j++) dstr_free(argv[j]);
    }
    ck_assert_msg(dstr_len(want) == dstr_len(enc.buf) && !memcmp(want, enc.buf, dstr_len(want)),
                  "stream mismatch:\nwant: %s\ngot:  %s", want, enc.buf);
    dstr_free(want);
    dstr_clear(enc.buf);
}

static const char *encoding_of(const char *key) {
    dstr k = dstr_from(key);
    obj *o = db_peek(cli->db, k);
    dstr_free(k);
    return o ? obj_encoding_name(o) : "none";
}

START_TEST(cmd_basic_replies) {
    check("SADD s 3 1 2 2", ":3\r\n");
    check("SMEMBERS s", "*3\r\n$1\r\n1\r\n$1\r\n2\r\n$1\r\n3\r\n");
    check("SCARD s", ":3\r\n");
    check("SISMEMBER s 2", ":1\r\n");
    check("SISMEMBER s 02", ":0\r\n");
    check("SMISMEMBER s 1 9 3", "*3\r\n:1\r\n:0\r\n:1\r\n");
    check("SMISMEMBER nokey a", "*1\r\n:0\r\n");
    check("SREM s 9 1", ":1\r\n");
    check("SADD t 2 x", ":2\r\n");
    check("SINTER s t", "*1\r\n$1\r\n2\r\n");
    check("SINTER s nokey", "*0\r\n");
    check("SINTERCARD 2 s t", ":1\r\n");
    check("SINTERCARD 1 s LIMIT 1", ":1\r\n");
    check("SDIFF s t", "*1\r\n$1\r\n3\r\n");
    check("SDIFF nokey s", "*0\r\n");
    check("SUNIONSTORE u s nokey", ":2\r\n");
    ck_assert_str_eq(encoding_of("u"), "intset");
    check("SMOVE s t 3", ":1\r\n");
    check("SMOVE s t 3", ":0\r\n");
    check("SMOVE t t x", ":1\r\n");
    check("SSCAN s 0", "*2\r\n$1\r\n0\r\n*1\r\n$1\r\n2\r\n");
    check("SSCAN nokey 0 COUNT 0", "*2\r\n$1\r\n0\r\n*0\r\n");
    check("SSCAN s 0 COUNT 0", "-ERR syntax error\r\n");
    check("SSCAN s x", "-ERR invalid cursor\r\n");
    check("SPOP nokey", "$-1\r\n");
    check("SPOP nokey 2", "*0\r\n");
    check("SPOP s -1", "-ERR value is out of range, must be positive\r\n");
    check("SRANDMEMBER nokey", "$-1\r\n");
    check("SRANDMEMBER s -9223372036854775808",
          "-ERR value is out of range, value must between -9223372036854775807 and "
          "9223372036854775807\r\n");
    check("SRANDMEMBER s 2 3", "-ERR syntax error\r\n");
    check("SRANDMEMBER s 5", "*1\r\n$1\r\n2\r\n");
    check("SRANDMEMBER s -3", "*3\r\n$1\r\n2\r\n$1\r\n2\r\n$1\r\n2\r\n");
    check("SINTERCARD 0 s", "-ERR numkeys should be greater than 0\r\n");
    check("SINTERCARD 3 s t", "-ERR Number of keys can't be greater than number of args\r\n");
    check("SINTERCARD 1 s LIMIT -1", "-ERR LIMIT can't be negative\r\n");
    /* The last member removed takes the key with it. */
    check("SREM s 2", ":1\r\n");
    check("EXISTS s", ":0\r\n");
}
END_TEST

START_TEST(cmd_wrongtype) {
    const char *wt = "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n";
    RUN("SET str v");
    RUN("SADD s 1");
    const char *cmds[] = {"SADD str a",        "SREM str a",         "SISMEMBER str a",
                          "SMISMEMBER str a",  "SCARD str",          "SMEMBERS str",
                          "SPOP str",          "SPOP str 0",         "SRANDMEMBER str",
                          "SRANDMEMBER str 0", "SINTER nokey str",   "SINTERCARD 2 nokey str",
                          "SUNION s str",      "SDIFF nokey str",    "SINTERSTORE d nokey str",
                          "SMOVE str s 1",     "SMOVE s str 1",      "SSCAN str 0 COUNT 0"};
    for (size_t i = 0; i < sizeof(cmds) / sizeof(*cmds); i++) check(cmds[i], wt);
    /* A missing source wins over a wrong destination type. */
    check("SMOVE nokey str 1", ":0\r\n");
    /* Argument errors are found before the key is looked at. */
    check("SPOP str x", "-ERR value is out of range, must be positive\r\n");
    check("SRANDMEMBER str x", "-ERR value is not an integer or out of range\r\n");
    /* STORE overwrites any type. */
    check("SUNIONSTORE str s", ":1\r\n");
    ck_assert_str_eq(encoding_of("str"), "intset");
}
END_TEST

START_TEST(cmd_spop_propagation) {
    RUN("SADD s 1 2 3 4 5 6 7 8 9 10 11 12");
    const char *w0[] = {"SELECT 0", "SADD s 1 2 3 4 5 6 7 8 9 10 11 12"};
    assert_stream(w0, 2);

    long long dirty = srv.dirty;
    dstr r = run("SPOP s");
    dstr m[16];
    char line[256];
    ck_assert(r[0] == '$');
    snprintf(line, sizeof(line), "SREM s %s", strchr(r, '\n') + 1);
    line[strlen(line) - 2] = '\0';
    const char *w1[] = {line};
    assert_stream(w1, 1);
    ck_assert_int_eq(srv.dirty, dirty + 1);
    dstr_free(r);

    /* A count of one: a single SREM, no transaction. */
    r = run("SPOP s 1");
    ck_assert_int_eq(parse_bulks(r, m, 16), 1);
    snprintf(line, sizeof(line), "SREM s %s", m[0]);
    const char *w2[] = {line};
    assert_stream(w2, 1);
    dstr_free(m[0]);
    dstr_free(r);

    /* Several (case 2, picked one by one): one SREM each in MULTI/EXEC, in
     * reply order; the dirty counter counts them all. */
    dirty = srv.dirty;
    r = run("SPOP s 3");
    ck_assert_int_eq(parse_bulks(r, m, 16), 3);
    char l1[64], l2[64], l3[64];
    snprintf(l1, sizeof(l1), "SREM s %s", m[0]);
    snprintf(l2, sizeof(l2), "SREM s %s", m[1]);
    snprintf(l3, sizeof(l3), "SREM s %s", m[2]);
    const char *w3[] = {"MULTI", l1, l2, l3, "EXEC"};
    assert_stream(w3, 5);
    ck_assert_int_eq(srv.dirty, dirty + 3);
    for (int i = 0; i < 3; i++) dstr_free(m[i]);
    dstr_free(r);
    check("SCARD s", ":7\r\n");

    /* Case 3 (most of the set): same form. */
    r = run("SPOP s 6");
    ck_assert_int_eq(parse_bulks(r, m, 16), 6);
    dstr_free(r);
    ck_assert(strncmp(enc.buf, "*1\r\n$5\r\nMULTI\r\n", 15) == 0);
    for (int i = 0; i < 6; i++) {
        snprintf(line, sizeof(line), "$%zu\r\n%s\r\n", dstr_len(m[i]), m[i]);
        ck_assert(strstr(enc.buf, line));
        dstr_free(m[i]);
    }
    dstr_clear(enc.buf);
    check("SCARD s", ":1\r\n");

    /* The whole set: DEL. */
    dirty = srv.dirty;
    r = run("SPOP s 5");
    ck_assert_int_eq(parse_bulks(r, m, 16), 1);
    dstr_free(m[0]);
    dstr_free(r);
    const char *w4[] = {"DEL s"};
    assert_stream(w4, 1);
    ck_assert_int_eq(srv.dirty, dirty + 1);
    check("EXISTS s", ":0\r\n");

    /* Nothing popped: nothing propagated. */
    RUN("SPOP s 3");
    RUN("SADD s a");
    dstr_clear(enc.buf);
    RUN("SPOP s 0");
    ck_assert_uint_eq(dstr_len(enc.buf), 0);
}
END_TEST

START_TEST(cmd_spop_rebuild_encoding) {
    /* 10 integers in a hashtable (limit 5). Popping 9 keeps one survivor,
     * moved to a fresh set: an intset again, as in Redis. Popping fewer
     * picks one by one and the hashtable stays. */
    srv.cfg.set_max_intset_entries = 5;
    RUN("SADD h 1 2 3 4 5 6 7 8 9 10");
    ck_assert_str_eq(encoding_of("h"), "hashtable");
    RUN("EXPIRE h 1000");
    RUN("SPOP h 9");
    ck_assert_str_eq(encoding_of("h"), "intset");
    check("SCARD h", ":1\r\n");
    check("TTL h", ":1000\r\n");
    RUN("SADD g 1 2 3 4 5 6 7 8 9 10");
    RUN("SPOP g 5");
    ck_assert_str_eq(encoding_of("g"), "hashtable");
}
END_TEST

START_TEST(cmd_store_and_smove_propagation) {
    RUN("SADD a 1 2 3");
    RUN("SADD b 3 4");
    dstr_clear(enc.buf);
    check("SINTERSTORE d a b", ":1\r\n");
    const char *w1[] = {"SINTERSTORE d a b"};
    assert_stream(w1, 1);
    /* Empty result over an existing destination deletes it: propagated. */
    check("SINTERSTORE d a nokey", ":0\r\n");
    const char *w1b[] = {"SINTERSTORE d a nokey"};
    assert_stream(w1b, 1);
    check("EXISTS d", ":0\r\n");
    /* ... and over a missing one changes nothing: not propagated. */
    check("SDIFFSTORE d a a", ":0\r\n");
    ck_assert_uint_eq(dstr_len(enc.buf), 0);
    /* SMOVE within one key and SMOVE of a non-member: not propagated. */
    check("SMOVE a a 1", ":1\r\n");
    check("SMOVE a b 9", ":0\r\n");
    ck_assert_uint_eq(dstr_len(enc.buf), 0);
    check("SMOVE a b 1", ":1\r\n");
    const char *w2[] = {"SMOVE a b 1"};
    assert_stream(w2, 1);
    /* STORE drops the destination's TTL. */
    RUN("SADD e x");
    RUN("EXPIRE e 100");
    check("SUNIONSTORE e a b", ":4\r\n");
    check("TTL e", ":-1\r\n");
}
END_TEST

START_TEST(cmd_diff_algorithm_encoding) {
    /* 600 integers minus ten sets of ten: the cost estimate picks the
     * add-then-remove algorithm, so the result went through 600 members and
     * stays a hashtable even with 500 left. Checked against Redis 7.0. */
    dstr line = dstr_from("SADD big");
    for (int i = 0; i < 600; i++) line = dstr_catfmt(line, " %d", i);
    RUN(line);
    dstr_free(line);
    dstr cmd = dstr_from("SDIFFSTORE d big");
    for (int k = 0; k < 10; k++) {
        line = dstr_catfmt(dstr_empty(), "SADD r%d", k);
        for (int i = 0; i < 10; i++) line = dstr_catfmt(line, " %d", k * 10 + i);
        RUN(line);
        dstr_free(line);
        cmd = dstr_catfmt(cmd, " r%d", k);
    }
    check(cmd, ":500\r\n");
    dstr_free(cmd);
    ck_assert_str_eq(encoding_of("d"), "hashtable");
    /* Two sets: the per-member algorithm; only survivors are added. */
    line = dstr_from("SREM big");
    for (int i = 100; i < 600; i++) line = dstr_catfmt(line, " %d", i);
    RUN(line);
    dstr_free(line);
    ck_assert_str_eq(encoding_of("big"), "hashtable");
    check("SDIFFSTORE d2 big r0", ":90\r\n");
    ck_assert_str_eq(encoding_of("d2"), "intset");
    check("SINTERSTORE d3 big r1", ":10\r\n");
    ck_assert_str_eq(encoding_of("d3"), "intset");
}
END_TEST

START_TEST(cmd_sscan_hashtable) {
    /* Iterating to completion reports every member at least once, while
     * members are added and removed between calls. */
    dstr line = dstr_from("SADD h");
    for (int i = 0; i < 300; i++) line = dstr_catfmt(line, " m%d", i);
    RUN(line);
    dstr_free(line);
    char cursor[32] = "0";
    int seen[300] = {0};
    int calls = 0;
    do {
        char cmd[64];
        snprintf(cmd, sizeof(cmd), "SSCAN h %s COUNT 7 MATCH m*", cursor);
        dstr r = run(cmd);
        ck_assert(!strncmp(r, "*2\r\n$", 5));
        const char *p = strchr(r + 4, '\n') + 1;
        size_t clen = strcspn(p, "\r");
        memcpy(cursor, p, clen);
        cursor[clen] = '\0';
        p = strchr(p, '\n') + 1;
        dstr m[400];
        int n = parse_bulks(p, m, 400);
        for (int i = 0; i < n; i++) {
            int idx = atoi(m[i] + 1);
            if (idx < 300) seen[idx] = 1;
            dstr_free(m[i]);
        }
        dstr_free(r);
        char mut[64];
        snprintf(mut, sizeof(mut), "SADD h extra%d", calls);
        RUN(mut);
        calls++;
    } while (strcmp(cursor, "0") && calls < 10000);
    for (int i = 0; i < 300; i++) ck_assert_msg(seen[i], "m%d never reported", i);
}
END_TEST

START_TEST(cmd_digest_matches_redis) {
    /* DEBUG DIGEST-VALUE of the same sets on redis-server 7.0.15. */
    srv.cfg.enable_debug_command = DEBUG_CMD_YES;
    RUN("SADD f 9223372036854775807 -9223372036854775808 0");
    RUN("SADD s 1 2 3");
    RUN("SADD h a b c");
    check("DEBUG DIGEST-VALUE f s h",
          "*3\r\n+20b0ead1f9e32c58814eefdf2cb3f93037b22544\r\n"
          "+2a462a3f51a1db89738ebbeef0c47ce1bbc85246\r\n"
          "+593c2414786d75446e97f4ea5d4b731f3313da72\r\n");
    /* Encoding does not matter. */
    srv.cfg.set_max_intset_entries = 1;
    RUN("SADD s2 1 2 3");
    ck_assert_str_eq(encoding_of("s2"), "hashtable");
    check("DEBUG DIGEST-VALUE s2", "*1\r\n+2a462a3f51a1db89738ebbeef0c47ce1bbc85246\r\n");
}
END_TEST

static Suite *set_suite(void) {
    Suite *s = suite_create("set");
    TCase *ti = tcase_create("intset");
    tcase_add_test(ti, intset_basics);
    tcase_add_test(ti, intset_blobs);
    tcase_add_test(ti, intset_random_vs_model);
    tcase_set_timeout(ti, 120);
    suite_add_tcase(s, ti);
    TCase *tv = tcase_create("value");
    tcase_add_test(tv, value_conversions);
    tcase_add_test(tv, value_iteration_and_pops);
    tcase_add_test(tv, value_dup_and_digest);
    suite_add_tcase(s, tv);
    TCase *tc = tcase_create("commands");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, cmd_basic_replies);
    tcase_add_test(tc, cmd_wrongtype);
    tcase_add_test(tc, cmd_spop_propagation);
    tcase_add_test(tc, cmd_spop_rebuild_encoding);
    tcase_add_test(tc, cmd_store_and_smove_propagation);
    tcase_add_test(tc, cmd_diff_algorithm_encoding);
    tcase_add_test(tc, cmd_sscan_hashtable);
    tcase_add_test(tc, cmd_digest_matches_redis);
    tcase_set_timeout(tc, 120);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) {
    SRunner *sr = srunner_create(set_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
