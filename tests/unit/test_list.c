/* Unit tests of the list type: the packed entry codec, the quicklist
 * against a plain array model under random operations (every fill value
 * class, iteration while deleting and inserting, node splits and merges),
 * and the commands through a fake client: replies, digests equal to Redis
 * 7.0's, and the propagated forms, blocked-and-served pops included. */
#include <check.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/blocking.h"
#include "core/config.h"
#include "core/db.h"
#include "core/lpack_list.h"
#include "core/mem.h"
#include "core/propagate.h"
#include "core/quicklist.h"
#include "core/server.h"
#include "core/t_list.h"
#include "core/util.h"

/* ---- codec ---- */

static void roundtrip(const char *s, size_t len) {
    lpl_entry e;
    lpl_prepare(&e, s, len);
    unsigned char *buf = malloc(e.total + 16);
    memset(buf, 0xAA, e.total + 16);
    lpl_write(buf + 8, &e);
    ck_assert_uint_eq(lpl_size_at(buf + 8), e.total);
    ck_assert_uint_eq(lpl_size_before(buf + 8 + e.total), e.total);
    ck_assert(lpl_matches(buf + 8, &e));
    ck_assert_int_eq(buf[7], 0xAA);
    ck_assert_int_eq(buf[8 + e.total], 0xAA);
    lpl_elem el;
    lpl_read(buf + 8, &el);
    char num[32];
    size_t olen;
    const char *out = lpl_elem_bytes(&el, num, &olen);
    ck_assert_uint_eq(olen, len);
    ck_assert(len == 0 || !memcmp(out, s, len));
    free(buf);
}

START_TEST(codec_roundtrip) {
    const char *ints[] = {"0",      "1",       "127",    "128",         "-1",
                          "-4096",  "4095",    "4096",   "-4097",       "32767",
                          "-32768", "32768",   "8388607", "-8388608",   "8388608",
                          "2147483647", "-2147483648", "2147483648",
                          "9223372036854775807", "-9223372036854775808"};
    for (size_t i = 0; i < sizeof(ints) / sizeof(ints[0]); i++) {
        lpl_entry e;
        lpl_prepare(&e, ints[i], strlen(ints[i]));
        ck_assert_msg(e.str == NULL, "%s should be an integer", ints[i]);
        roundtrip(ints[i], strlen(ints[i]));
    }
    const char *strs[] = {"", "-0", "007", "+1", " 1", "1 ", "9223372036854775808",
                          "-9223372036854775809", "abc", "1.5"};
    for (size_t i = 0; i < sizeof(strs) / sizeof(strs[0]); i++) {
        lpl_entry e;
        lpl_prepare(&e, strs[i], strlen(strs[i]));
        ck_assert_msg(e.str != NULL, "'%s' must stay a string", strs[i]);
        roundtrip(strs[i], strlen(strs[i]));
    }
    size_t lens[] = {62, 63, 64, 65, 120, 121, 122, 127, 128, 4094, 4095, 4096, 16379, 16384,
                     70000, 2100000};
    for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
        char *s = malloc(lens[i]);
        for (size_t k = 0; k < lens[i]; k++) s[k] = (char)('a' + k % 26);
        roundtrip(s, lens[i]);
        free(s);
    }
    /* Same bytes, different kinds never match. */
    lpl_entry a, b;
    lpl_prepare(&a, "5", 1);
    lpl_prepare(&b, "05", 2);
    unsigned char buf[16];
    lpl_write(buf, &a);
    ck_assert(!lpl_matches(buf, &b));
    ck_assert(lpl_matches(buf, &a));
}
END_TEST

/* ---- quicklist against a model ---- */

typedef struct model {
    char **v;
    size_t *l;
    size_t n, cap;
} model;

static void m_insert(model *m, size_t at, const char *s, size_t len) {
    if (m->n == m->cap) {
        m->cap = m->cap ? m->cap * 2 : 16;
        m->v = realloc(m->v, m->cap * sizeof(char *));
        m->l = realloc(m->l, m->cap * sizeof(size_t));
    }
    memmove(m->v + at + 1, m->v + at, (m->n - at) * sizeof(char *));
    memmove(m->l + at + 1, m->l + at, (m->n - at) * sizeof(size_t));
    m->v[at] = malloc(len + 1);
    memcpy(m->v[at], s, len);
    m->l[at] = len;
    m->n++;
}

static void m_delete(model *m, size_t at) {
    free(m->v[at]);
    memmove(m->v + at, m->v + at + 1, (m->n - at - 1) * sizeof(char *));
    memmove(m->l + at, m->l + at + 1, (m->n - at - 1) * sizeof(size_t));
    m->n--;
}

static void m_free(model *m) {
    for (size_t i = 0; i < m->n; i++) free(m->v[i]);
    free(m->v);
    free(m->l);
}

static unsigned long long rng_state;
static unsigned rnd(unsigned n) {
    rng_state = rng_state * 6364136223846793005ULL + 1442695040888963407ULL;
    return (unsigned)((rng_state >> 33) % n);
}

static size_t random_elem(char *buf) {
    switch (rnd(8)) {
    case 0: return (size_t)snprintf(buf, 64, "%u", rnd(200));
    case 1: return (size_t)snprintf(buf, 64, "%d", (int)rnd(20000) - 10000);
    case 2: return (size_t)snprintf(buf, 64, "%lld", (long long)rnd(1u << 30) * 1000003LL * (rnd(2) ? 1 : -1));
    case 3: return (size_t)snprintf(buf, 64, "0%u", rnd(100));
    case 4: {
        size_t len = rnd(3) == 0 ? 0 : rnd(70);
        for (size_t i = 0; i < len; i++) buf[i] = (char)('a' + rnd(3));
        return len;
    }
    case 5: {
        size_t len = 60 + rnd(200);
        memset(buf, 'x', len);
        buf[0] = (char)('a' + rnd(3));
        return len;
    }
    case 6: {
        size_t len = rnd(6) == 0 ? 3000 + rnd(7000) : 1 + rnd(3);
        memset(buf, 'q', len);
        return len;
    }
    default: return (size_t)snprintf(buf, 64, "e%u", rnd(10));
    }
}

static void assert_same(quicklist *ql, model *m) {
    ck_assert(ql_check(ql));
    ck_assert_uint_eq(ql_count(ql), m->n);
    ql_iter it;
    ql_iter_init(&it, ql, 0, 1);
    const unsigned char *p;
    size_t i = 0;
    while ((p = ql_iter_next(&it))) {
        lpl_elem e;
        char num[32];
        size_t len;
        lpl_read(p, &e);
        const char *s = lpl_elem_bytes(&e, num, &len);
        ck_assert_msg(i < m->n && len == m->l[i] && !memcmp(s, m->v[i], len),
                      "element %zu differs", i);
        i++;
    }
    ck_assert_uint_eq(i, m->n);
    if (m->n) {
        ql_iter_init(&it, ql, m->n - 1, 0);
        while ((p = ql_iter_next(&it))) {
            i--;
            lpl_entry want;
            lpl_prepare(&want, m->v[i], m->l[i]);
            ck_assert(lpl_matches(p, &want));
        }
        ck_assert_uint_eq(i, 0);
    }
}

static void random_ops(int fill, unsigned seed, int rounds) {
    rng_state = seed;
    quicklist *ql = ql_create(fill, 0);
    model m = {0};
    char *buf = malloc(20000);
    for (int r = 0; r < rounds; r++) {
        unsigned op = rnd(12);
        if (op <= 3) { /* push */
            size_t len = random_elem(buf);
            int where = rnd(2) ? QL_HEAD : QL_TAIL;
            ql_push(ql, buf, len, where);
            m_insert(&m, where == QL_HEAD ? 0 : m.n, buf, len);
        } else if (op == 4 && m.n) { /* pop */
            int where = rnd(2) ? QL_HEAD : QL_TAIL;
            size_t at = where == QL_HEAD ? 0 : m.n - 1;
            lpl_elem e;
            ck_assert(ql_peek(ql, where, &e));
            lpl_entry want;
            lpl_prepare(&want, m.v[at], m.l[at]);
            lpl_entry got;
            lpl_prepare_elem(&got, &e);
            ck_assert_uint_eq(got.total, want.total);
            ql_pop(ql, where);
            m_delete(&m, at);
        } else if (op == 5 && m.n) { /* index */
            long long idx = (long long)rnd((unsigned)m.n * 2 + 2) - (long long)m.n - 1;
            lpl_elem e;
            int ok = ql_index(ql, idx, &e);
            long long norm = idx < 0 ? idx + (long long)m.n : idx;
            ck_assert_int_eq(ok, norm >= 0 && norm < (long long)m.n);
            if (ok) {
                char num[32];
                size_t len;
                const char *s = lpl_elem_bytes(&e, num, &len);
                ck_assert(len == m.l[norm] && !memcmp(s, m.v[norm], len));
            }
        } else if (op == 6 && m.n) { /* replace */
            size_t at = rnd((unsigned)m.n);
            size_t len = random_elem(buf);
            lpl_entry e;
            lpl_prepare(&e, buf, len);
            ck_assert(ql_replace(ql, (long long)at, &e));
            m_delete(&m, at);
            m_insert(&m, at, buf, len);
        } else if (op == 7 && m.n) { /* delete a range */
            size_t start = rnd((unsigned)m.n);
            size_t count = rnd((unsigned)(m.n - start) + 1);
            if (rnd(4) == 0) count = rnd(3);
            if (count > m.n - start) count = m.n - start;
            ql_del_range(ql, start, count);
            for (size_t k = 0; k < count; k++) m_delete(&m, start);
        } else if (op == 8 && m.n) { /* delete while iterating */
            int forward = (int)rnd(2);
            size_t start = rnd((unsigned)m.n);
            unsigned every = 1 + rnd(4);
            ql_iter it;
            ql_iter_init(&it, ql, start, forward);
            size_t pos = start;
            unsigned k = 0;
            while (ql_iter_next(&it)) {
                if (k++ % every == 0) {
                    ql_iter_delete(&it);
                    m_delete(&m, pos);
                    if (forward) pos--;
                }
                if (forward)
                    pos++;
                else if (pos == 0)
                    break;
                else
                    pos--;
            }
        } else if (op == 9 && m.n) { /* insert next to an element */
            size_t at = rnd((unsigned)m.n);
            int after = (int)rnd(2);
            size_t len = random_elem(buf);
            lpl_entry e;
            lpl_prepare(&e, buf, len);
            ql_iter it;
            ql_iter_init(&it, ql, at, (int)rnd(2));
            ck_assert(ql_iter_next(&it) != NULL);
            ql_iter_insert(&it, &e, after);
            m_insert(&m, at + (size_t)after, buf, len);
        } else if (op == 10 && rnd(20) == 0) { /* duplicate */
            quicklist *d = ql_dup(ql);
            assert_same(d, &m);
            ql_release(ql);
            ql = d;
        } else if (op == 11) { /* bulk growth to get many nodes */
            for (int k = 0; k < 50; k++) {
                size_t len = random_elem(buf);
                ql_push(ql, buf, len, QL_TAIL);
                m_insert(&m, m.n, buf, len);
            }
        }
        if (r % 16 == 0 || m.n < 8) assert_same(ql, &m);
    }
    assert_same(ql, &m);
    ql_release(ql);
    m_free(&m);
    free(buf);
}

START_TEST(quicklist_random_ops) {
    int fills[] = {-5, -4, -3, -2, -1, 0, 1, 2, 3, 7, 128, 1000};
    for (size_t i = 0; i < sizeof(fills) / sizeof(fills[0]); i++)
        random_ops(fills[i], 1000 + (unsigned)i, 3000);
}
END_TEST

/* Redis 7.0's plain nodes: with a low packed threshold many elements get
 * a node of their own; ql_check verifies a plain node holds exactly one,
 * and the random walk that every operation keeps the list's content. */
START_TEST(quicklist_plain_nodes) {
    ck_assert_int_eq(ql_set_packed_threshold(60), 0);
    int fills[] = {-2, 1, 3, 128};
    for (size_t i = 0; i < sizeof(fills) / sizeof(fills[0]); i++)
        random_ops(fills[i], 2000 + (unsigned)i, 3000);
    char big[100];
    memset(big, 'x', sizeof(big));
    quicklist *ql = ql_create(-2, 0);
    ql_push(ql, "a", 1, QL_TAIL);
    ql_push(ql, big, sizeof(big), QL_TAIL);
    ql_push(ql, "b", 1, QL_TAIL);
    ql_push(ql, big, 60, QL_HEAD); /* the threshold itself is large */
    ql_push(ql, big, 59, QL_HEAD);
    ck_assert_uint_eq(ql->len, 5);
    ck_assert(!ql->head->plain && ql->head->next->plain && ql->tail->prev->plain);
    lpl_entry e;
    lpl_prepare(&e, "small", 5);
    ck_assert(ql_replace(ql, 3, &e)); /* a plain node's element becomes small */
    ck_assert(!ql->tail->prev->plain);
    lpl_prepare(&e, big, 80);
    ck_assert(ql_replace(ql, 0, &e)); /* and a lone packed one becomes large */
    ck_assert(ql->head->plain);
    ck_assert(ql_check(ql));
    quicklist *d = ql_dup(ql);
    ck_assert(d->head->plain && ql_check(d));
    ql_release(d);
    ql_release(ql);
    ck_assert_int_eq(ql_set_packed_threshold((1ULL << 32)), -1);
    ck_assert_int_eq(ql_set_packed_threshold(0), 0);
}
END_TEST

START_TEST(quicklist_node_limits) {
    /* -2: 8 KiB runs. 1000 three-byte entries fit in one node. */
    quicklist *ql = ql_create(-2, 0);
    for (int i = 0; i < 1000; i++) ql_push(ql, "abc" + (i % 3), 1, QL_TAIL);
    ck_assert_uint_eq(ql->len, 1);
    for (int i = 0; i < 5000; i++) ql_push(ql, "abc", 3, QL_TAIL);
    ck_assert_uint_gt(ql->len, 2);
    for (ql_node *n = ql->head; n; n = n->next) ck_assert_uint_le(n->bytes, 8192);
    ql_release(ql);
    /* Redis 7.0's estimate decides, not the exact size: a 10-byte string
     * takes 12 bytes in a run, but counts as 10 + 8 on top of the node's
     * listpack (run + 7). The node takes entry k+1 while 12k + 7 + 18 <=
     * 8192: 681 entries, where an exact fit would take 682. */
    ql = ql_create(-2, 0);
    for (int i = 0; i < 2000; i++) ql_push(ql, "0123456789", 10, QL_TAIL);
    ck_assert_uint_eq(ql->head->count, 681);
    ck_assert_uint_eq(ql->head->bytes, 681 * 12);
    ql_release(ql);
    /* Positive fill: entry count per node. */
    ql = ql_create(4, 0);
    for (int i = 0; i < 10; i++) ql_push(ql, "x", 1, QL_HEAD);
    ck_assert_uint_eq(ql->len, 3);
    ql_release(ql);
    /* An element bigger than the limit gets a node of its own. */
    ql = ql_create(-1, 0);
    char *big = malloc(10000);
    memset(big, 'b', 10000);
    ql_push(ql, "a", 1, QL_TAIL);
    ql_push(ql, big, 10000, QL_TAIL);
    ql_push(ql, "c", 1, QL_TAIL);
    ck_assert_uint_eq(ql->len, 3);
    ck_assert(ql_check(ql));
    free(big);
    ql_release(ql);
    /* Inserting into the middle of full nodes splits them, and the pieces
     * merge back: the node count stays proportional to the size. */
    ql = ql_create(16, 0);
    for (int i = 0; i < 64; i++) ql_push(ql, "m", 1, QL_TAIL);
    for (int i = 0; i < 200; i++) {
        ql_iter it;
        ql_iter_init(&it, ql, (unsigned long)(i * 7) % ql_count(ql), 1);
        ql_iter_next(&it);
        lpl_entry e;
        lpl_prepare(&e, "ins", 3);
        ql_iter_insert(&it, &e, i & 1);
    }
    ck_assert(ql_check(ql));
    ck_assert_uint_le(ql->len, ql_count(ql) / 4);
    ql_release(ql);
}
END_TEST

/* ---- commands ---- */

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

static void set_argv_v(client *c, int argc, va_list ap) {
    dstr *argv = mem_alloc(sizeof(dstr) * (size_t)argc);
    for (int i = 0; i < argc; i++) argv[i] = dstr_from(va_arg(ap, const char *));
    client_set_argv(c, argv, argc);
}

/* Run a command on the fake client; the reply must be `want`. */
static void expect_reply(const char *want, int argc, ...) {
    va_list ap;
    va_start(ap, argc);
    set_argv_v(cli, argc, ap);
    va_end(ap);
    process_command(cli);
    client_reset_argv(cli);
    blocking_handle_ready(&srv);
    ck_assert_msg(!strcmp(cli->reply, want), "reply %s, want %s", cli->reply, want);
    dstr_clear(cli->reply);
}

/* The replication stream since the last call must be `want` (RESP). */
static void expect_stream(const char *want) {
    ck_assert_msg(!strcmp(enc.buf, want), "stream:\n%s\nwant:\n%s", enc.buf, want);
    dstr_clear(enc.buf);
}

START_TEST(replies_and_digest) {
    expect_reply(":11\r\n", 13, "RPUSH", "l", "a", "b", "c", "1", "2", "300", "-5000",
                 "99999999999", "-0", "007", "hello");
    /* DEBUG DIGEST-VALUE of this list, taken from redis-server 7.0.15. */
    expect_reply("*1\r\n+1d49162725ce2cdfcbcf69568ef95b78911ec831\r\n", 3, "DEBUG",
                 "DIGEST-VALUE", "l");
    expect_reply("$9\r\nquicklist\r\n", 3, "OBJECT", "ENCODING", "l");
    expect_reply("*3\r\n$5\r\nhello\r\n$3\r\n007\r\n$2\r\n-0\r\n", 3, "RPOP", "l", "3");
    expect_reply("*-1\r\n", 3, "LPOP", "nokey", "2");
    expect_reply("$-1\r\n", 2, "LPOP", "nokey");
    expect_reply("*0\r\n", 3, "LPOP", "l", "0");
    expect_reply("-ERR value is out of range, must be positive\r\n", 3, "LPOP", "l", "-1");
    expect_reply("-ERR wrong number of arguments for 'lpop' command\r\n", 4, "LPOP", "l", "1",
                 "2");
    expect_reply("$1\r\n2\r\n", 3, "LINDEX", "l", "4");
    expect_reply("$-1\r\n", 3, "LINDEX", "nokey", "x");
    expect_reply("-ERR value is not an integer or out of range\r\n", 3, "LINDEX", "l", "x");
    expect_reply("-ERR no such key\r\n", 4, "LSET", "nokey", "0", "v");
    expect_reply("-ERR index out of range\r\n", 4, "LSET", "l", "100", "v");
    expect_reply(":3\r\n", 3, "LPOS", "l", "1");
    expect_reply("*0\r\n", 5, "LPOS", "nokey", "1", "COUNT", "0");
    expect_reply("-ERR syntax error\r\n", 5, "LINSERT", "l", "middle", "1", "2");
    expect_reply(":-1\r\n", 5, "LINSERT", "l", "before", "nothere", "2");
    expect_reply(":0\r\n", 3, "LPUSHX", "nokey", "a");
    expect_reply("+OK\r\n", 3, "SET", "s", "str");
    expect_reply("-WRONGTYPE Operation against a key holding the wrong kind of value\r\n", 3,
                 "LPUSH", "s", "a");
    expect_reply("-WRONGTYPE Operation against a key holding the wrong kind of value\r\n", 5,
                 "LMOVE", "l", "s", "left", "left");
    expect_reply("$-1\r\n", 5, "LMOVE", "nokey", "s", "left", "left");
    expect_reply("*-1\r\n", 3, "BLPOP", "nokey", "0");
    expect_reply("$-1\r\n", 6, "BLMOVE", "nokey", "x", "left", "left", "0");
    /* Emptying a list deletes its key. */
    expect_reply("+OK\r\n", 4, "LTRIM", "l", "1", "0");
    expect_reply(":0\r\n", 2, "EXISTS", "l");
}
END_TEST

START_TEST(propagated_forms) {
    expect_reply(":3\r\n", 5, "RPUSH", "k", "a", "b", "c");
    expect_stream("*2\r\n$6\r\nSELECT\r\n$1\r\n0\r\n*5\r\n$5\r\nRPUSH\r\n$1\r\nk\r\n$1\r\na\r\n"
                  "$1\r\nb\r\n$1\r\nc\r\n");
    expect_reply("*2\r\n$1\r\nk\r\n*3\r\n$1\r\nc\r\n$1\r\nb\r\n$1\r\na\r\n", 7, "LMPOP", "2", "x", "k",
                 "right", "count", "9");
    expect_stream("*3\r\n$4\r\nRPOP\r\n$1\r\nk\r\n$1\r\n3\r\n");
    expect_reply(":3\r\n", 5, "RPUSH", "k", "a", "d", "e");
    dstr_clear(enc.buf);
    expect_reply("*2\r\n$1\r\nk\r\n$1\r\na\r\n", 3, "BLPOP", "k", "1");
    expect_stream("*2\r\n$4\r\nLPOP\r\n$1\r\nk\r\n");
    expect_reply("*2\r\n$1\r\nk\r\n*1\r\n$1\r\ne\r\n", 5, "BLMPOP", "0", "1", "k", "right");
    expect_stream("*3\r\n$4\r\nRPOP\r\n$1\r\nk\r\n$1\r\n1\r\n");
    expect_reply("$1\r\nd\r\n", 6, "BLMOVE", "k", "k2", "left", "Right", "0");
    expect_stream("*5\r\n$5\r\nLMOVE\r\n$1\r\nk\r\n$2\r\nk2\r\n$4\r\nleft\r\n$5\r\nRight\r\n");
    expect_reply("$1\r\nd\r\n", 4, "BRPOPLPUSH", "k2", "k3", "0");
    expect_stream("*3\r\n$9\r\nRPOPLPUSH\r\n$2\r\nk2\r\n$2\r\nk3\r\n");
    /* Nothing removed, nothing propagated. */
    expect_reply("+OK\r\n", 4, "LTRIM", "k3", "0", "-1");
    expect_reply(":0\r\n", 4, "LREM", "k3", "0", "zz");
    expect_reply("$-1\r\n", 2, "LPOP", "nokey");
    expect_stream("");
}
END_TEST

/* A client that may block: a real (socketpair) fd, not fake. */
static client *blocking_client(int fds[2]) {
    ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, fds), 0);
    return client_create(&srv, fds[0], 0);
}

static void run_on(client *c, int argc, ...) {
    va_list ap;
    va_start(ap, argc);
    set_argv_v(c, argc, ap);
    va_end(ap);
    process_command(c);
    if (!(c->flags & CLIENT_BLOCKED)) client_reset_argv(c);
}

START_TEST(served_after_blocking) {
    int f1[2], f2[2], f3[2];
    client *b1 = blocking_client(f1), *b2 = blocking_client(f2), *b3 = blocking_client(f3);
    run_on(b1, 3, "BLPOP", "q", "0");
    run_on(b2, 6, "blmove", "q", "dst", "left", "right", "0");
    run_on(b3, 7, "BLMPOP", "0", "1", "q", "LEFT", "COUNT", "5");
    ck_assert(b1->flags & CLIENT_BLOCKED);
    ck_assert(b2->flags & CLIENT_BLOCKED);
    ck_assert(b3->flags & CLIENT_BLOCKED);
    ck_assert_int_eq(blocking_count(&srv), 3);
    dstr_clear(enc.buf);
    /* Four elements: b1 takes one, b2 moves one, b3 takes the last two. */
    expect_reply(":4\r\n", 6, "RPUSH", "q", "1", "2", "3", "4");
    ck_assert_str_eq(b1->reply, "*2\r\n$1\r\nq\r\n$1\r\n1\r\n");
    ck_assert_str_eq(b2->reply, "$1\r\n2\r\n");
    ck_assert_str_eq(b3->reply, "*2\r\n$1\r\nq\r\n*2\r\n$1\r\n3\r\n$1\r\n4\r\n");
    expect_stream("*2\r\n$6\r\nSELECT\r\n$1\r\n0\r\n"
                  "*6\r\n$5\r\nRPUSH\r\n$1\r\nq\r\n$1\r\n1\r\n$1\r\n2\r\n$1\r\n3\r\n$1\r\n4\r\n"
                  "*2\r\n$4\r\nLPOP\r\n$1\r\nq\r\n"
                  "*5\r\n$5\r\nLMOVE\r\n$1\r\nq\r\n$3\r\ndst\r\n$4\r\nleft\r\n$5\r\nright\r\n"
                  "*3\r\n$4\r\nLPOP\r\n$1\r\nq\r\n$1\r\n2\r\n");
    ck_assert_int_eq(blocking_count(&srv), 0);
    expect_reply(":0\r\n", 2, "EXISTS", "q");
    /* A key of another type does not wake a list waiter. */
    run_on(b1, 3, "BRPOP", "w", "0");
    expect_reply("+OK\r\n", 3, "SET", "w", "x");
    ck_assert(b1->flags & CLIENT_BLOCKED);
    expect_reply(":1\r\n", 2, "DEL", "w");
    expect_reply(":1\r\n", 3, "LPUSH", "w", "v");
    ck_assert(!(b1->flags & CLIENT_BLOCKED));
    client_free(b1);
    client_free(b2);
    client_free(b3);
    for (int i = 0; i < 2; i++) {
        close(f1[i]);
        close(f2[i]);
        close(f3[i]);
    }
}
END_TEST

START_TEST(loader_api) {
    obj *o = list_obj_new(&srv);
    list_obj_push(o, "b", 1, QL_TAIL);
    list_obj_push(o, "12", 2, QL_TAIL);
    list_obj_push(o, "a", 1, QL_HEAD);
    ck_assert_uint_eq(list_obj_length(o), 3);
    list_iter li;
    lpl_elem e;
    list_iter_init(&li, o);
    ck_assert(list_iter_next(&li, &e) && e.str && e.str[0] == 'a');
    ck_assert(list_iter_next(&li, &e) && e.str && e.str[0] == 'b');
    ck_assert(list_iter_next(&li, &e) && !e.str && e.ival == 12);
    ck_assert(!list_iter_next(&li, &e));
    dstr key = dstr_from("loaded");
    db_add(&srv, &srv.dbs[0], key, o);
    dstr_free(key);
    expect_reply("*3\r\n$1\r\na\r\n$1\r\nb\r\n$2\r\n12\r\n", 4, "LRANGE", "loaded", "0", "-1");
}
END_TEST

int main(void) {
    Suite *s = suite_create("list");
    TCase *tc = tcase_create("structures");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, codec_roundtrip);
    tcase_add_test(tc, quicklist_random_ops);
    tcase_add_test(tc, quicklist_node_limits);
    tcase_add_test(tc, quicklist_plain_nodes);
    suite_add_tcase(s, tc);
    TCase *tcc = tcase_create("commands");
    tcase_add_checked_fixture(tcc, setup, teardown);
    tcase_add_test(tcc, replies_and_digest);
    tcase_add_test(tcc, propagated_forms);
    tcase_add_test(tcc, served_after_blocking);
    tcase_add_test(tcc, loader_api);
    suite_add_tcase(s, tcc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
