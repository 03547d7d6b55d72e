/* Unit tests for the request parser.
 *
 * Most tests go through feed(), which plays the server's part: it appends
 * the input to a query buffer in chunks (whole, one byte at a time, or
 * random sizes from a seed), calls req_parse() until it needs more, and
 * drops what was consumed. What came out is written as a transcript:
 *
 *     [SET|key|value][PING] +0          two commands, then NEED_MORE with
 *                                       0 unconsumed bytes
 *     [GET|k] !ERR Protocol error: ...  a command, then a protocol error
 *
 * and every chunking of the same input must give the same transcript.
 * (Arguments are written raw, so binary ones compare exactly.) */
#include <check.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/dstr.h"
#include "core/mem.h"
#include "core/reqparse.h"

#define S(lit) (lit), (sizeof(lit) - 1)
#define ERR_PREFIX "ERR Protocol error: "

/* Check's assertions cost a system call each (they record the last
 * location); the hot loops below check first and only then report. */
#define REQUIRE(cond)                                            \
    do {                                                         \
        if (!(cond)) ck_abort_msg("requirement failed: " #cond); \
    } while (0)

enum { CHUNK_WHOLE, CHUNK_BYTE, CHUNK_RANDOM };

typedef struct feed_opts {
    long long max_bulk_len; /* 0: default */
    int auth_required;
    int chunking;
    uint64_t seed;    /* CHUNK_RANDOM */
    size_t max_chunk; /* CHUNK_RANDOM: sizes 1..max_chunk */
} feed_opts;

static uint64_t next_random(uint64_t *s) {
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

static dstr log_command(dstr log, dstr *argv, int argc) {
    log = dstr_cats(log, "[");
    for (int j = 0; j < argc; j++) {
        if (j) log = dstr_cats(log, "|");
        log = dstr_catd(log, argv[j]);
    }
    return dstr_cats(log, "]");
}

static dstr feed(const char *in, size_t len, const feed_opts *o) {
    req_parser p;
    req_parser_init(&p, o->max_bulk_len);
    p.auth_required = o->auth_required;
    dstr qbuf = dstr_empty();
    dstr log = dstr_empty();
    uint64_t rnd = o->seed ? o->seed : 1;
    size_t off = 0;
    int ncmd = 0;
    req_status st = REQ_NEED_MORE;

    while (off < len && st != REQ_ERROR) {
        size_t n = len - off;
        if (o->chunking == CHUNK_BYTE) n = 1;
        if (o->chunking == CHUNK_RANDOM) {
            size_t r = (size_t)(next_random(&rnd) % o->max_chunk) + 1;
            if (r < n) n = r;
        }
        qbuf = dstr_cat(qbuf, in + off, n);
        off += n;
        for (;;) {
            size_t used = SIZE_MAX;
            st = req_parse(&p, qbuf, dstr_len(qbuf), &used);
            REQUIRE(st == REQ_READY || st == REQ_NEED_MORE || st == REQ_ERROR);
            REQUIRE(used <= dstr_len(qbuf));
            dstr_keep(qbuf, used, dstr_len(qbuf) - used);
            if (st == REQ_ERROR) {
                REQUIRE(p.error != NULL);
                log = dstr_catfmt(log, " !%s", p.error);
                break;
            }
            if (st == REQ_NEED_MORE) break;
            REQUIRE(p.argc >= 1);
            log = log_command(log, p.argv, p.argc);
            /* Exercise both ways of finishing with a command. */
            if (ncmd++ % 2) {
                int argc;
                dstr *argv = req_take_argv(&p, &argc);
                REQUIRE(p.argv == NULL);
                for (int j = 0; j < argc; j++) dstr_free(argv[j]);
                mem_free(argv);
            } else {
                req_reset_command(&p);
            }
        }
    }
    if (st == REQ_NEED_MORE) log = dstr_catfmt(log, " +%zu", dstr_len(qbuf));
    req_parser_free(&p);
    dstr_free(qbuf);
    return log;
}

static void expect_transcript(const char *in, size_t len, const feed_opts *o, const char *want,
                              size_t wantlen) {
    dstr got = feed(in, len, o);
    if (dstr_len(got) != wantlen || memcmp(got, want, wantlen) != 0)
        ck_abort_msg("chunking %d seed %llu: got %zu bytes \"%.300s\", want %zu bytes \"%.*s\"",
                     o->chunking, (unsigned long long)o->seed, dstr_len(got), got, wantlen,
                     (int)(wantlen < 300 ? wantlen : 300), want);
    dstr_free(got);
}

/* Whole, byte by byte, and in random chunks of a few sizes: all the same. */
static void check_feed_opts(const char *in, size_t len, feed_opts o, const char *want,
                            size_t wantlen) {
    o.chunking = CHUNK_WHOLE;
    expect_transcript(in, len, &o, want, wantlen);
    o.chunking = CHUNK_BYTE;
    expect_transcript(in, len, &o, want, wantlen);
    static const size_t max_chunks[] = {2, 3, 7, 64, 4096};
    for (size_t k = 0; k < sizeof(max_chunks) / sizeof(max_chunks[0]); k++) {
        o.chunking = CHUNK_RANDOM;
        o.seed = 0x9e3779b97f4a7c15ULL * (k + 1);
        o.max_chunk = max_chunks[k];
        expect_transcript(in, len, &o, want, wantlen);
    }
}

static void check_feed(const char *in, size_t len, const char *want, size_t wantlen) {
    feed_opts o = {0};
    check_feed_opts(in, len, o, want, wantlen);
}

#define CHECK(in, want) check_feed(S(in), S(want))
#define CHECK_MAX(in, maxbulk, want)                \
    do {                                            \
        feed_opts o_ = {.max_bulk_len = (maxbulk)}; \
        check_feed_opts(S(in), o_, S(want));        \
    } while (0)
#define CHECK_AUTH(in, want)                 \
    do {                                     \
        feed_opts o_ = {.auth_required = 1}; \
        check_feed_opts(S(in), o_, S(want)); \
    } while (0)

/* ---- basic commands ---------------------------------------------------- */

START_TEST(test_multibulk_command) {
    req_parser p;
    req_parser_init(&p, 0);
    const char in[] = "*3\r\n$3\r\nSET\r\n$3\r\nkey\r\n$5\r\nvalue\r\n";
    size_t used;
    ck_assert_int_eq(req_parse(&p, in, sizeof(in) - 1, &used), REQ_READY);
    ck_assert_uint_eq(used, sizeof(in) - 1);
    ck_assert_int_eq(p.argc, 3);
    ck_assert_str_eq(p.argv[0], "SET");
    ck_assert_str_eq(p.argv[1], "key");
    ck_assert_str_eq(p.argv[2], "value");
    ck_assert_uint_eq(dstr_len(p.argv[2]), 5);

    int argc;
    dstr *argv = req_take_argv(&p, &argc);
    ck_assert_int_eq(argc, 3);
    ck_assert_ptr_null(p.argv);
    ck_assert_int_eq(p.argc, 0);
    for (int j = 0; j < argc; j++) dstr_free(argv[j]);
    mem_free(argv);

    /* The parser goes on with the next command. */
    ck_assert_int_eq(req_parse(&p, S("*1\r\n$4\r\nPING\r\n"), &used), REQ_READY);
    ck_assert_str_eq(p.argv[0], "PING");
    req_parser_free(&p);

    CHECK("*3\r\n$3\r\nSET\r\n$3\r\nkey\r\n$5\r\nvalue\r\n", "[SET|key|value] +0");
    CHECK("*1\r\n$0\r\n\r\n", "[] +0");
    CHECK("*2\r\n$0\r\n\r\n$0\r\n\r\n", "[|] +0");
}
END_TEST

START_TEST(test_inline_command) {
    CHECK("SET key value\r\n", "[SET|key|value] +0");
    CHECK("PING\n", "[PING] +0");
    CHECK("  PING  \t\r\n", "[PING] +0");
    CHECK("PING\r\r\n", "[PING] +0");
    CHECK("SET \"a b\" 'c d'\r\n", "[SET|a b|c d] +0");
    CHECK("SET k \"\"\r\n", "[SET|k|] +0");
    CHECK("SET k ''\r\n", "[SET|k|] +0");
    CHECK("ECHO \"\\x00\\r\\n\\\\\\\"\"\n", "[ECHO|\0\r\n\\\"] +0");
    CHECK("ECHO 'it\\'s'\n", "[ECHO|it's] +0");
    /* Only a leading '*' makes a multibulk request. */
    CHECK("$3\r\n", "[$3] +0");
    CHECK(" *1\r\n", "[*1] +0");
    CHECK(":1 +2 -3\r\n", "[:1|+2|-3] +0");
    /* No newline yet: nothing consumed. */
    CHECK("PING", " +4");
    CHECK("PING\r", " +5");
}
END_TEST

START_TEST(test_inline_waits_for_newline) {
    req_parser p;
    req_parser_init(&p, 0);
    size_t used;
    ck_assert_int_eq(req_parse(&p, S("GET ke"), &used), REQ_NEED_MORE);
    ck_assert_uint_eq(used, 0);
    ck_assert_int_eq(req_parse(&p, S("GET key\r"), &used), REQ_NEED_MORE);
    ck_assert_uint_eq(used, 0);
    ck_assert_int_eq(req_parse(&p, S("GET key\r\nPI"), &used), REQ_READY);
    ck_assert_uint_eq(used, 9);
    ck_assert_int_eq(p.argc, 2);
    ck_assert_str_eq(p.argv[1], "key");
    req_reset_command(&p);
    ck_assert_int_eq(req_parse(&p, S("PI"), &used), REQ_NEED_MORE);
    ck_assert_uint_eq(used, 0);
    req_parser_free(&p);
}
END_TEST

START_TEST(test_pipeline_in_one_buffer) {
    const char in[] =
        "*2\r\n$3\r\nGET\r\n$1\r\na\r\n"
        "PING\r\n"
        "*3\r\n$3\r\nSET\r\n$1\r\nb\r\n$2\r\nxy\r\n"
        "ECHO hi\n"
        "*1\r\n$4\r\nQUIT\r\n";
    req_parser p;
    req_parser_init(&p, 0);
    const char *want[][3] = {{"GET", "a", NULL},
                             {"PING", NULL, NULL},
                             {"SET", "b", "xy"},
                             {"ECHO", "hi", NULL},
                             {"QUIT", NULL, NULL}};
    size_t off = 0, len = sizeof(in) - 1;
    for (int c = 0; c < 5; c++) {
        size_t used;
        ck_assert_int_eq(req_parse(&p, in + off, len - off, &used), REQ_READY);
        off += used;
        int argc = 0;
        while (argc < 3 && want[c][argc]) argc++;
        ck_assert_int_eq(p.argc, argc);
        for (int j = 0; j < argc; j++) ck_assert_str_eq(p.argv[j], want[c][j]);
        req_reset_command(&p);
    }
    ck_assert_uint_eq(off, len);
    size_t used;
    ck_assert_int_eq(req_parse(&p, in + off, 0, &used), REQ_NEED_MORE);
    ck_assert_uint_eq(used, 0);
    req_parser_free(&p);

    check_feed(in, sizeof(in) - 1, S("[GET|a][PING][SET|b|xy][ECHO|hi][QUIT] +0"));
}
END_TEST

/* ---- any chunking, same result ----------------------------------------- */

static dstr build_corpus(dstr *want) {
    dstr in = dstr_empty();
    *want = dstr_empty();
    uint64_t rnd = 42;

    in = dstr_cats(in, "*3\r\n$3\r\nSET\r\n$3\r\nkey\r\n$5\r\nvalue\r\n");
    *want = dstr_cats(*want, "[SET|key|value]");
    in = dstr_cats(in, "PING\r\n\r\n\n   \r\n*0\r\n*-1\r\n");
    *want = dstr_cats(*want, "[PING]");
    in = dstr_cats(in, "SET \"a b\" 'c d' \"\\x00\\r\\n\"\n");
    *want = dstr_cat(*want, S("[SET|a b|c d|\0\r\n]"));
    /* A payload full of protocol lookalikes. */
    const char tricky[] = "\r\n*3\r\n$0\r\n\0\n\r";
    in = dstr_catfmt(in, "*2\r\n$4\r\nECHO\r\n$%zu\r\n", sizeof(tricky) - 1);
    in = dstr_cat(in, tricky, sizeof(tricky) - 1);
    in = dstr_cats(in, "\r\n");
    *want = dstr_cats(*want, "[ECHO|");
    *want = dstr_cat(*want, tricky, sizeof(tricky) - 1);
    *want = dstr_cats(*want, "]");
    /* A 100KB random binary value. */
    dstr big = dstr_grow_zero(dstr_empty(), 100000);
    for (size_t i = 0; i < dstr_len(big); i++) big[i] = (char)next_random(&rnd);
    in = dstr_catfmt(in, "*3\r\n$3\r\nSET\r\n$3\r\nbig\r\n$%zu\r\n", dstr_len(big));
    in = dstr_catd(in, big);
    in = dstr_cats(in, "\r\n");
    *want = dstr_cats(*want, "[SET|big|");
    *want = dstr_catd(*want, big);
    *want = dstr_cats(*want, "]");
    dstr_free(big);
    /* More arguments than argv's first allocation holds. */
    in = dstr_catfmt(in, "*%d\r\n", 3000);
    *want = dstr_cats(*want, "[");
    for (int j = 0; j < 3000; j++) {
        char arg[16];
        int n = snprintf(arg, sizeof(arg), "%d", j);
        in = dstr_catfmt(in, "$%d\r\n%s\r\n", n, arg);
        *want = dstr_catfmt(*want, "%s%s", j ? "|" : "", arg);
    }
    *want = dstr_cats(*want, "]");
    in = dstr_cats(in, "GET k\n*1\r\n$4\r\nPING\r\n");
    *want = dstr_cats(*want, "[GET|k][PING]");
    /* An unfinished command at the end: its complete parts are consumed,
     * the partial payload "ab" stays. */
    in = dstr_cats(in, "*2\r\n$3\r\nGET\r\n$5\r\nab");
    *want = dstr_cats(*want, " +2");
    return in;
}

START_TEST(test_chunking_invariance) {
    dstr want;
    dstr in = build_corpus(&want);
    check_feed(in, dstr_len(in), want, dstr_len(want));
    feed_opts o = {.chunking = CHUNK_RANDOM, .max_chunk = 1000};
    for (uint64_t seed = 1; seed <= 20; seed++) {
        o.seed = seed * 7919;
        expect_transcript(in, dstr_len(in), &o, want, dstr_len(want));
    }
    dstr_free(in);
    dstr_free(want);
}
END_TEST

START_TEST(test_binary_payloads) {
    CHECK("*2\r\n$4\r\nECHO\r\n$6\r\na\r\nb\r\n\r\n", "[ECHO|a\r\nb\r\n] +0");
    CHECK("*1\r\n$3\r\n\0\0\0\r\n", "[\0\0\0] +0");
    CHECK("*1\r\n$4\r\n$1\r\n\r\n", "[$1\r\n] +0");

    req_parser p;
    req_parser_init(&p, 0);
    size_t used;
    ck_assert_int_eq(req_parse(&p, S("*1\r\n$5\r\n\0\r\n\xff\n\r\n"), &used), REQ_READY);
    ck_assert_uint_eq(dstr_len(p.argv[0]), 5);
    ck_assert_int_eq(memcmp(p.argv[0], "\0\r\n\xff\n", 5), 0);
    ck_assert_int_eq(p.argv[0][5], '\0');
    req_parser_free(&p);
}
END_TEST

/* A big payload is not consumed until it is complete; req_bytes_wanted()
 * tells how much is still missing. */
START_TEST(test_big_bulk_in_chunks) {
    const size_t size = 1024 * 1024;
    dstr payload = dstr_grow_zero(dstr_empty(), size);
    uint64_t rnd = 7;
    for (size_t i = 0; i < size; i++) payload[i] = (char)next_random(&rnd);
    dstr in = dstr_catfmt(dstr_empty(), "*2\r\n$3\r\nSET\r\n$%zu\r\n", size);
    size_t header = dstr_len(in);
    in = dstr_catd(in, payload);
    in = dstr_cats(in, "\r\n");

    req_parser p;
    req_parser_init(&p, 0);
    ck_assert_uint_eq(req_bytes_wanted(&p), 0);
    dstr qbuf = dstr_empty();
    size_t off = 0, total_used = 0;
    req_status st = REQ_NEED_MORE;
    while (st == REQ_NEED_MORE) {
        size_t n = dstr_len(in) - off < 16384 ? dstr_len(in) - off : 16384;
        qbuf = dstr_cat(qbuf, in + off, n);
        off += n;
        size_t used;
        st = req_parse(&p, qbuf, dstr_len(qbuf), &used);
        dstr_keep(qbuf, used, dstr_len(qbuf) - used);
        total_used += used;
        if (st == REQ_NEED_MORE) {
            ck_assert_uint_eq(total_used, header);
            ck_assert_uint_eq(req_bytes_wanted(&p), size + 2 - dstr_len(qbuf));
        }
    }
    ck_assert_int_eq(st, REQ_READY);
    ck_assert_uint_eq(off, dstr_len(in));
    ck_assert_uint_eq(dstr_len(qbuf), 0);
    ck_assert_uint_eq(req_bytes_wanted(&p), 0);
    ck_assert_int_eq(p.argc, 2);
    ck_assert_int_eq(dstr_cmp(p.argv[1], payload), 0);
    req_parser_free(&p);
    dstr_free(qbuf);
    dstr_free(in);
    dstr_free(payload);
}
END_TEST

/* ---- empty requests ------------------------------------------------------ */

START_TEST(test_empty_requests_skipped) {
    CHECK("\r\n", " +0");
    CHECK("\n", " +0");
    CHECK("   \t \r\n", " +0");
    CHECK("*0\r\n", " +0");
    CHECK("*-1\r\n", " +0");
    CHECK("*-10\r\n", " +0");
    CHECK("*-9223372036854775808\r\n", " +0");
    CHECK("\r\n\n  \r\n*0\r\n*-1\r\n*-10\r\nPING\r\n\r\n", "[PING] +0");
    CHECK("*0\r\n*1\r\n$4\r\nPING\r\n", "[PING] +0");
}
END_TEST

/* ---- what Redis does not check ------------------------------------------ */

/* Redis skips the two bytes after a payload, and the byte after a line's
 * '\r', without looking at them. */
START_TEST(test_crlf_not_verified) {
    CHECK("*1\r\n$3\r\nfooXY*1\r\n$1\r\na\r\n", "[foo][a] +0");
    CHECK("*1\rX$3\rYfoo\r\n", "[foo] +0");
    /* ...but they must have arrived. */
    CHECK("*1\r\n$3\r\nfoo\r", " +4");
    CHECK("*1\r", " +3");
    CHECK("*1\r\n$3\r", " +3");
}
END_TEST

/* ---- errors ----------------------------------------------------------------- */

START_TEST(test_unbalanced_quotes) {
    CHECK("SET \"abc\r\n", " !" ERR_PREFIX "unbalanced quotes in request");
    CHECK("SET 'abc\n", " !" ERR_PREFIX "unbalanced quotes in request");
    CHECK("SET \"a\"b c\r\n", " !" ERR_PREFIX "unbalanced quotes in request");
    CHECK("PING\r\nSET \"x\n", "[PING] !" ERR_PREFIX "unbalanced quotes in request");
}
END_TEST

START_TEST(test_expected_dollar) {
    CHECK("*3\r\n$3\r\nSET\r\n$1\r\nx\r\nfooz\r\n", " !" ERR_PREFIX "expected '$', got 'f'");
    CHECK("*1\r\n:1\r\n", " !" ERR_PREFIX "expected '$', got ':'");
    CHECK("*2\r\n$1\r\na\r\n*1\r\n", " !" ERR_PREFIX "expected '$', got '*'");
    /* Line-breaking bytes are shown as a space, as Redis does. */
    CHECK("*1\r\n\r\n", " !" ERR_PREFIX "expected '$', got ' '");
    CHECK("*1\r\n\n\r\n", " !" ERR_PREFIX "expected '$', got ' '");
    /* The check waits for the whole line. */
    CHECK("*1\r\nfoo", " +3");
}
END_TEST

START_TEST(test_invalid_multibulk_length) {
    /* clang-format off */
    static const char *bad[] = {
        "*abc\r\n", "*+1\r\n", "*01\r\n", "* 1\r\n", "*1 \r\n", "*\r\n", "*-\r\n", "*-0\r\n",
        "*1x\r\n", "*0x10\r\n", "*99999999999999999999\r\n", "*000000000000000000001\r\n",
        "*2147483648\r\n", "*9223372036854775807\r\n", "*9223372036854775808\r\n",
        "*-9223372036854775809\r\n"
    };
    /* clang-format on */
    for (size_t k = 0; k < sizeof(bad) / sizeof(bad[0]); k++)
        check_feed(bad[k], strlen(bad[k]), S(" !" ERR_PREFIX "invalid multibulk length"));
}
END_TEST

/* Redis 7.0 accepts counts up to INT_MAX and grows argv as arguments come,
 * so announcing a huge count allocates nothing big. */
START_TEST(test_multibulk_count_limit) {
    CHECK("*2147483647\r\n", " +0");
    CHECK("*2147483647\r\n$1\r\na\r\n", " +0");
    CHECK("*2147483648\r\n", " !" ERR_PREFIX "invalid multibulk length");
    CHECK("*1048576\r\n", " +0");
    CHECK("*1048577\r\n", " +0");
}
END_TEST

/* A real command with 1024*1024+1 arguments: past the pre-7.0 cap. */
START_TEST(test_huge_argument_count) {
    const int n = 1024 * 1024 + 1;
    dstr in = dstr_catfmt(dstr_empty(), "*%d\r\n", n);
    for (int j = 0; j < n; j++) in = dstr_cat(in, S("$1\r\nx\r\n"));
    req_parser p;
    req_parser_init(&p, 0);
    size_t used;
    ck_assert_int_eq(req_parse(&p, in, dstr_len(in), &used), REQ_READY);
    ck_assert_uint_eq(used, dstr_len(in));
    int argc;
    dstr *argv = req_take_argv(&p, &argc);
    ck_assert_int_eq(argc, n);
    ck_assert_str_eq(argv[n - 1], "x");
    for (int j = 0; j < argc; j++) dstr_free(argv[j]);
    mem_free(argv);
    req_parser_free(&p);
    dstr_free(in);
}
END_TEST

START_TEST(test_invalid_bulk_length) {
    /* clang-format off */
    static const char *bad[] = {
        "$-1\r\n", "$+1\r\n", "$01\r\n", "$ 1\r\n", "$1 \r\n", "$\r\n", "$abc\r\n", "$-0\r\n",
        "$1e3\r\n", "$9223372036854775807\r\n", "$9223372036854775808\r\n",
        "$0000000000000000000001\r\n"
    };
    /* clang-format on */
    for (size_t k = 0; k < sizeof(bad) / sizeof(bad[0]); k++) {
        dstr in = dstr_cats(dstr_from("*1\r\n"), bad[k]);
        check_feed(in, dstr_len(in), S(" !" ERR_PREFIX "invalid bulk length"));
        dstr_free(in);
    }
}
END_TEST

START_TEST(test_max_bulk_len) {
    /* A small configured limit: exactly at it is fine, one more is not. */
    CHECK_MAX("*2\r\n$4\r\nECHO\r\n$16\r\n0123456789abcdef\r\n", 16, "[ECHO|0123456789abcdef] +0");
    CHECK_MAX("*2\r\n$4\r\nECHO\r\n$17\r\n0123456789abcdefg\r\n", 16,
              " !" ERR_PREFIX "invalid bulk length");
    /* The limit applies to every argument, the command name included. */
    CHECK_MAX("*1\r\n$17\r\n", 16, " !" ERR_PREFIX "invalid bulk length");
    /* The default is 512MB. */
    CHECK("*1\r\n$536870912\r\n", " +0");
    CHECK("*1\r\n$536870913\r\n", " !" ERR_PREFIX "invalid bulk length");

    req_parser p;
    req_parser_init(&p, 0);
    ck_assert_int_eq(p.max_bulk_len, 512LL * 1024 * 1024);
    size_t used;
    ck_assert_int_eq(req_parse(&p, S("*1\r\n$536870912\r\nabc"), &used), REQ_NEED_MORE);
    ck_assert_uint_eq(used, 16);
    ck_assert_uint_eq(req_bytes_wanted(&p), 536870912ULL + 2 - 3);
    req_parser_free(&p);
}
END_TEST

static dstr repeat(const char *prefix, char c, size_t n) {
    dstr s = dstr_from(prefix);
    size_t at = dstr_len(s);
    s = dstr_grow_zero(s, at + n);
    memset(s + at, c, n);
    return s;
}

/* The 64KB limits count every pending byte while no terminator has come. */
START_TEST(test_too_big_inline) {
    dstr in = repeat("", 'a', REQ_INLINE_MAX_SIZE);
    check_feed(in, dstr_len(in), S(" +65536"));
    in = dstr_cat(in, S("a"));
    check_feed(in, dstr_len(in), S(" !" ERR_PREFIX "too big inline request"));
    dstr_free(in);

    /* A line of exactly 64KB with its newline is accepted whichever way it
     * arrives. */
    in = repeat("", 'a', REQ_INLINE_MAX_SIZE);
    in = dstr_cats(in, "\n");
    dstr want = dstr_cats(repeat("[", 'a', REQ_INLINE_MAX_SIZE), "] +0");
    check_feed(in, dstr_len(in), want, dstr_len(want));
    dstr_free(want);
    dstr_free(in);

    /* One more byte: as in Redis, whether it fits depends on whether the
     * newline arrives in the same read. */
    in = repeat("", 'a', REQ_INLINE_MAX_SIZE + 1);
    in = dstr_cats(in, "\n");
    feed_opts o = {.chunking = CHUNK_WHOLE};
    want = dstr_cats(repeat("[", 'a', REQ_INLINE_MAX_SIZE + 1), "] +0");
    expect_transcript(in, dstr_len(in), &o, want, dstr_len(want));
    o.chunking = CHUNK_BYTE;
    expect_transcript(in, dstr_len(in), &o, S(" !" ERR_PREFIX "too big inline request"));
    dstr_free(want);
    dstr_free(in);
}
END_TEST

START_TEST(test_too_big_mbulk_count) {
    dstr in = repeat("*", '1', REQ_INLINE_MAX_SIZE - 1);
    check_feed(in, dstr_len(in), S(" +65536"));
    in = dstr_cat(in, S("1"));
    check_feed(in, dstr_len(in), S(" !" ERR_PREFIX "too big mbulk count string"));
    dstr_free(in);
    /* A 64KB line whose "\r" has arrived is judged on its value. */
    in = repeat("*", '1', REQ_INLINE_MAX_SIZE - 1);
    in = dstr_cats(in, "\r\n");
    check_feed(in, dstr_len(in), S(" !" ERR_PREFIX "invalid multibulk length"));
    dstr_free(in);
}
END_TEST

START_TEST(test_too_big_bulk_count) {
    dstr in = repeat("*1\r\n$", '1', REQ_INLINE_MAX_SIZE - 1);
    check_feed(in, dstr_len(in), S(" +65536"));
    in = dstr_cat(in, S("1"));
    check_feed(in, dstr_len(in), S(" !" ERR_PREFIX "too big bulk count string"));
    dstr_free(in);
    /* The size check comes before the '$' check. */
    in = repeat("*1\r\n", 'X', 70000);
    check_feed(in, dstr_len(in), S(" !" ERR_PREFIX "too big bulk count string"));
    dstr_free(in);
    in = repeat("*1\r\n$", '1', REQ_INLINE_MAX_SIZE - 1);
    in = dstr_cats(in, "\r\n");
    check_feed(in, dstr_len(in), S(" !" ERR_PREFIX "invalid bulk length"));
    dstr_free(in);
}
END_TEST

START_TEST(test_unauthenticated_limits) {
    CHECK_AUTH("*10\r\n", " +0");
    CHECK_AUTH("*11\r\n", " !" ERR_PREFIX "unauthenticated multibulk length");
    CHECK_AUTH("*1\r\n$16384\r\n", " +0");
    CHECK_AUTH("*1\r\n$16385\r\n", " !" ERR_PREFIX "unauthenticated bulk length");
    /* The general checks come first. */
    CHECK_AUTH("*2147483648\r\n", " !" ERR_PREFIX "invalid multibulk length");
    CHECK_AUTH("*1\r\n$-1\r\n", " !" ERR_PREFIX "invalid bulk length");
    /* Inline requests are not limited beyond 64KB. */
    CHECK_AUTH("AUTH a b c d e f g h i j k l\r\n", "[AUTH|a|b|c|d|e|f|g|h|i|j|k|l] +0");
    /* Once authenticated the normal limits apply. */
    CHECK("*11\r\n", " +0");
}
END_TEST

/* ---- parser life cycle -------------------------------------------------- */

START_TEST(test_ready_until_taken) {
    req_parser p;
    req_parser_init(&p, 0);
    size_t used;
    const char in[] = "PING\r\nECHO x\r\n";
    ck_assert_int_eq(req_parse(&p, S(in), &used), REQ_READY);
    ck_assert_uint_eq(used, 6);
    /* Not taken yet: the same command again, nothing consumed. */
    ck_assert_int_eq(req_parse(&p, in + 6, sizeof(in) - 1 - 6, &used), REQ_READY);
    ck_assert_uint_eq(used, 0);
    ck_assert_str_eq(p.argv[0], "PING");
    req_reset_command(&p);
    ck_assert_ptr_null(p.argv);
    ck_assert_int_eq(req_parse(&p, in + 6, sizeof(in) - 1 - 6, &used), REQ_READY);
    ck_assert_str_eq(p.argv[0], "ECHO");
    req_parser_free(&p);

    /* Taking with nothing ready gives nothing. */
    req_parser_init(&p, 0);
    int argc = 5;
    ck_assert_ptr_null(req_take_argv(&p, &argc));
    ck_assert_int_eq(argc, 0);
    req_parser_free(&p);
}
END_TEST

START_TEST(test_error_is_sticky) {
    req_parser p;
    req_parser_init(&p, 0);
    size_t used;
    ck_assert_int_eq(req_parse(&p, S("*x\r\n"), &used), REQ_ERROR);
    ck_assert_str_eq(p.error, ERR_PREFIX "invalid multibulk length");
    ck_assert_int_eq(req_parse(&p, S("PING\r\n"), &used), REQ_ERROR);
    ck_assert_uint_eq(used, 0);
    req_parser_free(&p);

    /* An error in the middle of a command frees what was built. */
    req_parser_init(&p, 0);
    ck_assert_int_eq(req_parse(&p, S("*3\r\n$3\r\nSET\r\n$1\r\nk\r\n?"), &used), REQ_NEED_MORE);
    ck_assert_int_eq(req_parse(&p, S("?\r\n"), &used), REQ_ERROR);
    ck_assert_str_eq(p.error, ERR_PREFIX "expected '$', got '?'");
    req_parser_free(&p); /* ASan checks the two argv entries are freed */

    /* A freed parser can be initialised and used again. */
    req_parser_init(&p, 0);
    ck_assert_int_eq(req_parse(&p, S("PING\n"), &used), REQ_READY);
    req_parser_free(&p);
}
END_TEST

/* Feeding a 60KB inline line one byte at a time must stay cheap: the line
 * end search resumes where it stopped. */
START_TEST(test_long_line_byte_by_byte) {
    dstr in = repeat("SET k ", 'v', 60000);
    in = dstr_cats(in, "\r\n");
    feed_opts o = {.chunking = CHUNK_BYTE};
    dstr want = dstr_cats(repeat("[SET|k|", 'v', 60000), "] +0");
    expect_transcript(in, dstr_len(in), &o, want, dstr_len(want));
    dstr_free(want);
    dstr_free(in);
}
END_TEST

/* ---- malformed input ---------------------------------------------------- */

/* Random garbage and mutated valid traffic: never a crash, only the three
 * outcomes, and the same transcript however the bytes are split. */
static void fuzz_one(const char *in, size_t len, int auth) {
    feed_opts o = {.auth_required = auth, .max_bulk_len = auth ? 0 : 64};
    o.chunking = CHUNK_WHOLE;
    dstr whole = feed(in, len, &o);
    o.chunking = CHUNK_BYTE;
    expect_transcript(in, len, &o, whole, dstr_len(whole));
    o.chunking = CHUNK_RANDOM;
    o.seed = len * 31 + 1;
    o.max_chunk = 5;
    expect_transcript(in, len, &o, whole, dstr_len(whole));
    dstr_free(whole);
}

START_TEST(test_fuzz_garbage) {
    static const char alphabet[] = "*$\r\n\r\n0123456789-+ \"'\\xabcSETGET\0\xff";
    uint64_t rnd = 0xC0FFEEULL;
    char buf[256];
    for (int iter = 0; iter < 20000; iter++) {
        size_t len = (size_t)(next_random(&rnd) % sizeof(buf));
        int biased = iter % 4 != 0;
        for (size_t i = 0; i < len; i++) {
            uint64_t r = next_random(&rnd);
            buf[i] = biased ? alphabet[r % (sizeof(alphabet) - 1)] : (char)r;
        }
        fuzz_one(buf, len, iter % 5 == 0);
    }
}
END_TEST

START_TEST(test_fuzz_mutated_traffic) {
    static const char valid[] =
        "*3\r\n$3\r\nSET\r\n$3\r\nkey\r\n$5\r\nvalue\r\n"
        "PING\r\n*2\r\n$3\r\nGET\r\n$3\r\nkey\r\n"
        "SET \"a b\" 'c'\n*0\r\n\r\n*1\r\n$4\r\nQUIT\r\n";
    uint64_t rnd = 0xBADC0DEULL;
    char buf[sizeof(valid) + 16];
    for (int iter = 0; iter < 20000; iter++) {
        size_t len = sizeof(valid) - 1;
        memcpy(buf, valid, len);
        int edits = 1 + (int)(next_random(&rnd) % 4);
        for (int e = 0; e < edits; e++) {
            uint64_t r = next_random(&rnd);
            size_t at = (size_t)((r >> 8) % len);
            /* Replace a byte, delete one, or insert a protocol byte. */
            if (r % 3 == 0) {
                buf[at] = (char)(r >> 40);
            } else if (r % 3 == 1) {
                memmove(buf + at, buf + at + 1, len - at - 1);
                len--;
            } else if (len < sizeof(buf)) {
                memmove(buf + at + 1, buf + at, len - at);
                buf[at] = "*$\r\n-09"[(r >> 40) % 7];
                len++;
            }
        }
        fuzz_one(buf, len, iter % 3 == 0);
    }
}
END_TEST

static Suite *reqparse_suite(void) {
    Suite *s = suite_create("reqparse");
    TCase *tc = tcase_create("commands");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_multibulk_command);
    tcase_add_test(tc, test_inline_command);
    tcase_add_test(tc, test_inline_waits_for_newline);
    tcase_add_test(tc, test_pipeline_in_one_buffer);
    tcase_add_test(tc, test_chunking_invariance);
    tcase_add_test(tc, test_binary_payloads);
    tcase_add_test(tc, test_big_bulk_in_chunks);
    tcase_add_test(tc, test_empty_requests_skipped);
    tcase_add_test(tc, test_crlf_not_verified);
    tcase_add_test(tc, test_ready_until_taken);
    tcase_add_test(tc, test_long_line_byte_by_byte);
    suite_add_tcase(s, tc);

    tc = tcase_create("errors");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_unbalanced_quotes);
    tcase_add_test(tc, test_expected_dollar);
    tcase_add_test(tc, test_invalid_multibulk_length);
    tcase_add_test(tc, test_multibulk_count_limit);
    tcase_add_test(tc, test_huge_argument_count);
    tcase_add_test(tc, test_invalid_bulk_length);
    tcase_add_test(tc, test_max_bulk_len);
    tcase_add_test(tc, test_too_big_inline);
    tcase_add_test(tc, test_too_big_mbulk_count);
    tcase_add_test(tc, test_too_big_bulk_count);
    tcase_add_test(tc, test_unauthenticated_limits);
    tcase_add_test(tc, test_error_is_sticky);
    suite_add_tcase(s, tc);

    tc = tcase_create("malformed");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, test_fuzz_garbage);
    tcase_add_test(tc, test_fuzz_mutated_traffic);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) {
    SRunner *sr = srunner_create(reqparse_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
