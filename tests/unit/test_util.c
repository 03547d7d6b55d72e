/* test_util: the wire-visible number and pattern helpers.
 *
 * Every expected value here was checked against a real redis-server 7.0.15
 * (x86_64): INCRBY/INCR for integers, INCRBYFLOAT for long doubles, ZADD +
 * ZSCORE for doubles, KEYS and COMMAND LIST FILTERBY PATTERN (nocase) for
 * globs, CONFIG SET maxmemory for memory sizes and INFO's maxmemory_human
 * for bytesToHuman. A failure means Ringmaster would answer a client
 * differently from Redis. */
#include "core/util.h"

#include <check.h>
#include <float.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---- integers ----------------------------------------------------------- */

static int ll_ok(const char *s, long long *v) { return util_str_to_ll(s, strlen(s), v); }

START_TEST(test_str_to_ll_accepts) {
    long long v;
    ck_assert(ll_ok("0", &v) && v == 0);
    ck_assert(ll_ok("1", &v) && v == 1);
    ck_assert(ll_ok("-1", &v) && v == -1);
    ck_assert(ll_ok("99", &v) && v == 99);
    ck_assert(ll_ok("-99", &v) && v == -99);
    ck_assert(ll_ok("9223372036854775807", &v) && v == LLONG_MAX);
    ck_assert(ll_ok("-9223372036854775808", &v) && v == LLONG_MIN);
    ck_assert(ll_ok("10", NULL));
    /* Only the first len bytes count. */
    ck_assert(util_str_to_ll("123abc", 3, &v) && v == 123);
}
END_TEST

START_TEST(test_str_to_ll_rejects) {
    static const char *bad[] = {
        "",
        "-",
        "+1",
        " 1",
        "1 ",
        "01",
        "00",
        "-0",
        "-01",
        "1a",
        "a1",
        "1.0",
        "1e3",
        "0x1",
        "9223372036854775808",
        "-9223372036854775809",
        "18446744073709551616",
        "99999999999999999999",
        "000000000000000000001",
        "--1",
        "\t1",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        long long v = 42;
        ck_assert_msg(!ll_ok(bad[i], &v), "accepted \"%s\"", bad[i]);
        ck_assert_int_eq(v, 42); /* untouched on failure */
    }
    /* Embedded NUL is not a digit. */
    static const char nul_inside[] = {'1', '\0', '2'};
    ck_assert(!util_str_to_ll(nul_inside, sizeof(nul_inside), NULL));
}
END_TEST

START_TEST(test_str_to_l) {
    long v;
    ck_assert(util_str_to_l("-42", 3, &v) && v == -42);
    ck_assert(util_str_to_l("9223372036854775807", 19, &v) && v == LONG_MAX);
    ck_assert(!util_str_to_l("01", 2, &v));
    ck_assert(!util_str_to_l("9223372036854775808", 19, &v));
}
END_TEST

START_TEST(test_ll_to_str) {
    char buf[UTIL_LONG_STR_SIZE];
    ck_assert_int_eq(util_ll_to_str(buf, sizeof(buf), 0), 1);
    ck_assert_str_eq(buf, "0");
    ck_assert_int_eq(util_ll_to_str(buf, sizeof(buf), -1), 2);
    ck_assert_str_eq(buf, "-1");
    ck_assert_int_eq(util_ll_to_str(buf, sizeof(buf), 1234567890), 10);
    ck_assert_str_eq(buf, "1234567890");
    ck_assert_int_eq(util_ll_to_str(buf, sizeof(buf), LLONG_MAX), 19);
    ck_assert_str_eq(buf, "9223372036854775807");
    ck_assert_int_eq(util_ll_to_str(buf, sizeof(buf), LLONG_MIN), 20);
    ck_assert_str_eq(buf, "-9223372036854775808");
    ck_assert_int_eq(util_ull_to_str(buf, sizeof(buf), ULLONG_MAX), 20);
    ck_assert_str_eq(buf, "18446744073709551615");

    /* Round trip through the parser for a spread of values. */
    long long samples[] = {1, -7, 10, 100, -1000, 123456789, LLONG_MAX - 1, LLONG_MIN + 1};
    for (size_t i = 0; i < sizeof(samples) / sizeof(samples[0]); i++) {
        long long back;
        int n = util_ll_to_str(buf, sizeof(buf), samples[i]);
        ck_assert(util_str_to_ll(buf, (size_t)n, &back) && back == samples[i]);
    }

    /* Too small: 0 and an empty string, never a truncated number. */
    char small[3];
    ck_assert_int_eq(util_ll_to_str(small, sizeof(small), 123), 0);
    ck_assert_str_eq(small, "");
    ck_assert_int_eq(util_ll_to_str(small, sizeof(small), -12), 0);
    ck_assert_str_eq(small, "");
    ck_assert_int_eq(util_ll_to_str(small, sizeof(small), -1), 2);
    ck_assert_str_eq(small, "-1");
    ck_assert_int_eq(util_ull_to_str(small, 0, 1), 0);
}
END_TEST

/* ---- long double (INCRBYFLOAT) ----------------------------------------- */

static int ld_ok(const char *s, long double *v) { return util_str_to_ld(s, strlen(s), v); }

/* INCRBYFLOAT as Redis computes it: parse both, add, format. */
static const char *incrbyfloat(const char *cur, const char *incr) {
    static char out[UTIL_LD_STR_SIZE];
    long double a, b;
    ck_assert(ld_ok(cur, &a));
    ck_assert(ld_ok(incr, &b));
    ck_assert_int_gt(util_ld_to_str(out, sizeof(out), a + b), 0);
    return out;
}

START_TEST(test_incrbyfloat_results) {
    ck_assert_str_eq(incrbyfloat("10.5", "0.1"), "10.6");
    ck_assert_str_eq(incrbyfloat("5.0e3", "0"), "5000");
    ck_assert_str_eq(incrbyfloat("3.0e3", "0"), "3000");
    ck_assert_str_eq(incrbyfloat("1", "1.1"), "2.1");
    ck_assert_str_eq(incrbyfloat("0", "0.1"), "0.1");
    ck_assert_str_eq(incrbyfloat("0", "1e20"), "100000000000000000000");
    ck_assert_str_eq(incrbyfloat("0", "1.5e-18"), "0"); /* below 17 decimals */
    ck_assert_str_eq(incrbyfloat("0", "-1e-18"), "0");  /* "-0" becomes "0" */
    ck_assert_str_eq(incrbyfloat("-0.0", "0"), "0");
    ck_assert_str_eq(incrbyfloat("0", "-0.0"), "0");
    ck_assert_str_eq(incrbyfloat("1", "-1"), "0");
    ck_assert_str_eq(incrbyfloat("1", "-1.0000000000000001"), "-0.0000000000000001");
    ck_assert_str_eq(incrbyfloat("3", "1.1e-17"), "3.00000000000000001");
    ck_assert_str_eq(incrbyfloat("1", "0x10"), "17");
    ck_assert_str_eq(incrbyfloat("0", "0x1p-2"), "0.25");
    ck_assert_str_eq(incrbyfloat("0", "+.5"), "0.5");
    ck_assert_str_eq(incrbyfloat("0", "1e-400"), "0"); /* representable in 80 bits */
    ck_assert_str_eq(incrbyfloat("0", "123456789012345678901234567890"),
                     "123456789012345678899921813504");

    /* 1e400 is a valid long double: Redis prints all 401 digits. */
    const char *big = incrbyfloat("1", "1e400");
    ck_assert_uint_eq(strlen(big), 401);
    ck_assert(strncmp(big, "10000000000000000000281880683947586514586453433629", 50) == 0);
    ck_assert(strcmp(big + strlen(big) - 7, "1946880") == 0);
}
END_TEST

START_TEST(test_str_to_ld) {
    long double v;
    ck_assert(ld_ok("inf", &v) && isinf(v) && v > 0);
    ck_assert(ld_ok("-inf", &v) && isinf(v) && v < 0);
    ck_assert(ld_ok("1e4932", &v));
    ck_assert(ld_ok("1e-4940", &v) && v > 0); /* denormal, not zero */

    static const char *bad[] = {"",    " 1",    "1 ",     "\t1",     "nan",     "-nan", "1e",
                                "abc", "1.2.3", "1e4933", "-1e4933", "1e-5000", "--1",  "0x"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        ck_assert_msg(!ld_ok(bad[i], &v), "accepted \"%s\"", bad[i]);
    ck_assert(!util_str_to_ld("1\0junk", 6, &v));

    /* Length limit: 5119 bytes ok, 5120 rejected. */
    char *s = malloc(UTIL_LD_STR_SIZE + 1);
    memset(s, '0', UTIL_LD_STR_SIZE);
    s[UTIL_LD_STR_SIZE - 2] = '1';
    ck_assert(util_str_to_ld(s, UTIL_LD_STR_SIZE - 1, &v) && v == 1);
    s[UTIL_LD_STR_SIZE - 2] = '0';
    s[UTIL_LD_STR_SIZE - 1] = '1';
    ck_assert(!util_str_to_ld(s, UTIL_LD_STR_SIZE, &v));
    free(s);
}
END_TEST

START_TEST(test_ld_to_str) {
    char buf[UTIL_LD_STR_SIZE];
    ck_assert_int_eq(util_ld_to_str(buf, sizeof(buf), INFINITY), 3);
    ck_assert_str_eq(buf, "inf");
    ck_assert_int_eq(util_ld_to_str(buf, sizeof(buf), -INFINITY), 4);
    ck_assert_str_eq(buf, "-inf");
    ck_assert_int_eq(util_ld_to_str(buf, sizeof(buf), 3.0e3L), 4);
    ck_assert_str_eq(buf, "3000");
    ck_assert_int_eq(util_ld_to_str(buf, sizeof(buf), -2.5L), 4);
    ck_assert_str_eq(buf, "-2.5");
    ck_assert_int_eq(util_ld_to_str(buf, sizeof(buf), 0.0L), 1);
    ck_assert_str_eq(buf, "0");
    /* The largest long double fits the documented buffer. */
    ck_assert_int_eq(util_ld_to_str(buf, sizeof(buf), LDBL_MAX), 4933);

    char small[5];
    ck_assert_int_eq(util_ld_to_str(small, sizeof(small), 3.0L), 0); /* "3.000..." */
    ck_assert_int_eq(util_ld_to_str(small, sizeof(small), -INFINITY), 4);
    ck_assert_int_eq(util_ld_to_str(small, 4, -INFINITY), 0);
}
END_TEST

/* ---- double (scores) ---------------------------------------------------- */

static int d_ok(const char *s, double *v) { return util_str_to_d(s, strlen(s), v); }

/* ZADD z <s> m; ZSCORE z m */
static const char *zscore(const char *s) {
    static char out[UTIL_DOUBLE_STR_SIZE];
    double v;
    ck_assert_msg(d_ok(s, &v), "rejected \"%s\"", s);
    ck_assert_int_gt(util_d_to_str(out, sizeof(out), v), 0);
    return out;
}

START_TEST(test_scores) {
    ck_assert_str_eq(zscore("1.1"), "1.1000000000000001");
    ck_assert_str_eq(zscore("5000"), "5000");
    ck_assert_str_eq(zscore("5.0e3"), "5000");
    ck_assert_str_eq(zscore("0"), "0");
    ck_assert_str_eq(zscore("-0.0"), "-0"); /* skiplist-encoded zset */
    ck_assert_str_eq(zscore("inf"), "inf");
    ck_assert_str_eq(zscore("+inf"), "inf");
    ck_assert_str_eq(zscore("-inf"), "-inf");
    ck_assert_str_eq(zscore("infinity"), "inf");
    ck_assert_str_eq(zscore("-Infinity"), "-inf");
    ck_assert_str_eq(zscore("+5"), "5");
    ck_assert_str_eq(zscore("0x10"), "16");
    ck_assert_str_eq(zscore("1e-310"), "9.9999999999999694e-311");
    ck_assert_str_eq(zscore("1e17"), "1e+17");
    ck_assert_str_eq(zscore("1e16"), "10000000000000000");
    ck_assert_str_eq(zscore("123456789012345678"), "1.2345678901234568e+17");
    ck_assert_str_eq(zscore("0.1"), "0.10000000000000001");
    ck_assert_str_eq(zscore("1e-5"), "1.0000000000000001e-05");
    ck_assert_str_eq(zscore(".5"), "0.5");
    ck_assert_str_eq(zscore("5."), "5");
    ck_assert_str_eq(zscore("3.0000000000000004"), "3.0000000000000004");
    ck_assert_str_eq(zscore("-2.2250738585072014e-308"), "-2.2250738585072014e-308");
}
END_TEST

START_TEST(test_str_to_d_rejects) {
    static const char *bad[] = {"",       " 1",     "1 ", "\n1", "nan", "NaN", "1e400",
                                "-1e400", "1e-400", "1e", "abc", "1,5", "--1", "0x"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        double v = 42;
        ck_assert_msg(!d_ok(bad[i], &v), "accepted \"%s\"", bad[i]);
        ck_assert(v == 42);
    }
    ck_assert(!util_str_to_d("1\0", 2, NULL));
    /* Only len bytes are read, even if more follow. */
    double v;
    ck_assert(util_str_to_d("2.5e1", 3, &v) && v == 2.5);

    /* Long inputs go through the heap copy. */
    size_t n = 10000;
    char *s = malloc(n + 4);
    memset(s, '0', n);
    memcpy(s + n, "2.5", 3);
    ck_assert(util_str_to_d(s, n + 3, &v) && v == 2.5);
    free(s);
}
END_TEST

START_TEST(test_d_to_str_edges) {
    char buf[UTIL_DOUBLE_STR_SIZE];
    ck_assert_int_eq(util_d_to_str(buf, sizeof(buf), NAN), 3);
    ck_assert_str_eq(buf, "nan");
    ck_assert_int_eq(util_d_to_str(buf, sizeof(buf), -NAN), 3);
    ck_assert_str_eq(buf, "nan");
    ck_assert_int_eq(util_d_to_str(buf, sizeof(buf), -DBL_MAX), 24);
    ck_assert_str_eq(buf, "-1.7976931348623157e+308");
    ck_assert_int_eq(util_d_to_str(buf, sizeof(buf), -DBL_TRUE_MIN), 24);
    ck_assert_int_eq(util_d_to_str(buf, 4, 1234.0), 0);
    ck_assert_int_eq(util_d_to_str(buf, 4, -INFINITY), 0);
}
END_TEST

/* ---- glob --------------------------------------------------------------- */

static int gm(const char *pat, const char *str) {
    return util_glob_match(pat, strlen(pat), str, strlen(str), 0);
}
static int gmi(const char *pat, const char *str) {
    return util_glob_match(pat, strlen(pat), str, strlen(str), 1);
}

START_TEST(test_glob_basics) {
    /* The KEYS documentation examples. */
    ck_assert(gm("h?llo", "hello") && gm("h?llo", "hallo") && gm("h?llo", "hxllo"));
    ck_assert(!gm("h?llo", "hllo") && !gm("h?llo", "heello"));
    ck_assert(gm("h*llo", "hllo") && gm("h*llo", "heeeello"));
    ck_assert(gm("h[ae]llo", "hello") && gm("h[ae]llo", "hallo") && !gm("h[ae]llo", "hillo"));
    ck_assert(gm("h[^e]llo", "hallo") && gm("h[^e]llo", "hbllo") && !gm("h[^e]llo", "hello"));
    ck_assert(gm("h[a-b]llo", "hallo") && gm("h[a-b]llo", "hbllo") && !gm("h[a-b]llo", "hcllo"));
    ck_assert(gm("h\\*llo", "h*llo") && !gm("h\\*llo", "hello"));
    ck_assert(gm("h\\?llo", "h?llo") && !gm("h\\?llo", "hello"));
    ck_assert(gm("\\[x]", "[x]") && gm("a\\\\b", "a\\b"));

    ck_assert(gm("a*b*c", "aXbYc") && gm("a*b*c", "abc") && !gm("a*b*c", "acb"));
    ck_assert(gm("a*", "a") && gm("*a", "a") && gm("*", "anything") && gm("**", "x"));
    ck_assert(gm("?*?", "ab") && !gm("?*?", "a"));
    ck_assert(gm("", "") && !gm("", "a") && !gm("a", ""));
    ck_assert(gm("[z-a]", "m")); /* reversed range */
    ck_assert(gm("[--0]", "/"));
    ck_assert(gm("[\\]]", "]"));
    ck_assert(gm("*.txt", "notes.txt") && !gm("*.txt", "notes.txt.bak"));
    ck_assert(gm("user:*:name", "user:1000:name") && !gm("user:*:name", "user:1000:mail"));
}
END_TEST

/* Redis quirks, each checked with KEYS against 7.0.15. */
START_TEST(test_glob_quirks) {
    ck_assert(!gm("**", "")); /* a star never matches an empty string... */
    ck_assert(!gm("*", ""));  /* ...KEYS special-cases "*" itself */
    ck_assert(!gm("?", ""));
    ck_assert(gm("[a-]", "]")); /* range 'a'..']' */
    ck_assert(!gm("[a-]", "-"));
    ck_assert(!gm("[a-]", "b"));
    ck_assert(gm("[abc", "c")); /* unterminated class runs to the end */
    ck_assert(!gm("[abc", "d"));
    ck_assert(gm("[^", "x"));
    ck_assert(!gm("[", "["));
    ck_assert(gm("[\\", "\\"));
    ck_assert(gm("\\", "\\")); /* trailing backslash is literal */
    ck_assert(gm("a\\", "a\\"));
    ck_assert(!gm("[]]", "]")); /* "[]" is an empty class */
    ck_assert(!gm("[]a]", "a"));
    ck_assert(!gm("[^]a]", "b"));
    ck_assert(!gm("x[a-c-e]", "xd"));
    ck_assert(gm("x[a-c-e]", "x-"));
    /* Range ends compare as signed chars: [a-\xff] is really [\xff-a]. */
    ck_assert(gm("[a-\xff]", "\x10"));
    ck_assert(gm("[a-\xff]", "\xff"));
    ck_assert(!gm("[a-\xff]", "b"));
    ck_assert(!gm("[a-\xff]", "\x80"));
    ck_assert(gm("[\xff-a]", "\x10"));
    ck_assert(!gm("[\xff-a]", "\x80"));
    ck_assert(gm("[\x80-\xff]", "\x90"));
    ck_assert(!gm("[\x80-\xff]", "a"));
    /* Binary-safe: embedded NULs on both sides. */
    ck_assert(util_glob_match("a\0*", 3, "a\0bc", 4, 0));
    ck_assert(!util_glob_match("a\0*", 3, "a", 1, 0));
}
END_TEST

START_TEST(test_glob_nocase) {
    ck_assert(gmi("HELLO", "hello") && gmi("h?LLo", "HeLlO") && !gm("HELLO", "hello"));
    ck_assert(gmi("h[AE]llo", "hello") && gmi("h[^E]llo", "hallo") && !gmi("h[^E]llo", "hEllo"));
    ck_assert(gmi("[A-Z]", "q") && gmi("[a-z]", "Q"));
    ck_assert(gmi("\\H*", "hi"));
    /* An escaped class member compares exactly, even with nocase. */
    ck_assert(!gmi("[\\A]", "a") && gmi("[\\A]", "A"));
    /* Ends are swapped before folding: [Z-a] folds to the empty [z-a]. */
    ck_assert(!gmi("[Z-a]", "z") && !gmi("[Z-a]", "a") && gm("[Z-a]", "_"));
    ck_assert(gmi("CONFIG*", "config|get"));
}
END_TEST

static char *repeat(const char *unit, size_t times, const char *tail) {
    size_t ul = strlen(unit), tl = strlen(tail);
    char *s = malloc(ul * times + tl + 1);
    for (size_t i = 0; i < times; i++) memcpy(s + i * ul, unit, ul);
    memcpy(s + ul * times, tail, tl + 1);
    return s;
}

/* Redis 7.0.15 gives up past 1000 nested '*' groups; a trailing star does
 * not nest. Checked with KEYS against a key of 1001 'a's. */
START_TEST(test_glob_star_limit) {
    char *key = repeat("a", 1001, "");
    struct {
        const char *unit;
        size_t times;
        const char *tail;
        int match;
    } cases[] = {
        {"a*", 1001, "", 1},  {"*a", 1001, "*", 0},  {"*a", 1000, "*", 1},
        {"**a", 1000, "", 1}, {"*a", 1000, "*a", 0}, {"*a", 999, "*a*", 1},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char *p = repeat(cases[i].unit, cases[i].times, cases[i].tail);
        ck_assert_msg(gm(p, key) == cases[i].match, "case %zu", i);
        free(p);
    }
    free(key);
}
END_TEST

/* "a*a*a*...b" against a long run of 'a's is exponential for a naive
 * backtracking matcher; it must finish at once. */
START_TEST(test_glob_pathological) {
    size_t n = 200000;
    char *str = malloc(n + 1);
    memset(str, 'a', n);
    str[n] = '\0';
    char *pat = repeat("a*", 60, "b");
    ck_assert(!gm(pat, str));
    str[n - 1] = 'b';
    ck_assert(gm(pat, str));
    free(pat);
    pat = repeat("*?", 500, "*b");
    ck_assert(gm(pat, str));
    str[n - 1] = 'a';
    ck_assert(!gm(pat, str));
    free(pat);
    free(str);
}
END_TEST

/* ---- hex, clocks, random ids -------------------------------------------- */

START_TEST(test_hex) {
    char out[9];
    const unsigned char in[] = {0x00, 0x9f, 0xa0, 0xff};
    util_hex(out, in, 4);
    ck_assert_str_eq(out, "009fa0ff");
    util_hex(out, in, 0);
    ck_assert_str_eq(out, "");
}
END_TEST

START_TEST(test_clocks) {
    long long ms = util_ms_time(), us = util_us_time();
    ck_assert(ms > 1600000000000LL); /* after 2020 */
    ck_assert(us / 1000 >= ms && us / 1000 - ms < 1000);
    long long a = util_mono_us(), b = util_mono_us();
    ck_assert(b >= a);
}
END_TEST

START_TEST(test_random_hex) {
    char a[41], b[41];
    memset(a, 'x', sizeof(a));
    util_random_hex(a, 40);
    util_random_hex(b, 40);
    ck_assert_uint_eq(strlen(a), 40);
    ck_assert_str_ne(a, b);
    for (int i = 0; i < 40; i++) ck_assert(strchr("0123456789abcdef", a[i]));
    char odd[8];
    util_random_hex(odd, 7);
    ck_assert_uint_eq(strlen(odd), 7);
    char big[301];
    util_random_hex(big, 300);
    ck_assert_uint_eq(strlen(big), 300);
}
END_TEST

/* ---- memory sizes and INFO's human bytes -------------------------------- */

START_TEST(test_mem_to_ull) {
    struct {
        const char *in;
        unsigned long long out;
    } ok[] = {
        {"1gb", 1073741824ULL},
        {"1GB", 1073741824ULL},
        {"1Gb", 1073741824ULL},
        {"512mb", 536870912ULL},
        {"100k", 100000ULL},
        {"10kb", 10240ULL},
        {"1kB", 1024ULL},
        {"5", 5ULL},
        {"5b", 5ULL},
        {"5B", 5ULL},
        {"2m", 2000000ULL},
        {"3g", 3000000000ULL},
        {"gb", 0},
        {"", 0},
        {"18446744073709551615", ULLONG_MAX},
        {"18446744073709551616", ULLONG_MAX}, /* saturates */
        {"99999999999999999999", ULLONG_MAX},
        {"17179869184gb", 0}, /* 2^34 * 2^30 wraps */
    };
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        unsigned long long v = 7;
        ck_assert_msg(util_mem_to_ull(ok[i].in, &v), "rejected \"%s\"", ok[i].in);
        ck_assert_msg(v == ok[i].out, "\"%s\" -> %llu", ok[i].in, v);
    }
    static const char *bad[] = {"-1", "+1", "1.5gb", " 1", "1 ", "0x10", "1t", "1kbb", "k1"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        ck_assert_msg(!util_mem_to_ull(bad[i], NULL), "accepted \"%s\"", bad[i]);

    char *digits = repeat("0", 127, "");
    ck_assert(util_mem_to_ull(digits, NULL));
    free(digits);
    digits = repeat("0", 128, "");
    ck_assert(!util_mem_to_ull(digits, NULL));
    free(digits);
}
END_TEST

START_TEST(test_bytes_to_human) {
    struct {
        unsigned long long n;
        const char *s;
    } cases[] = {
        {0, "0B"},
        {1, "1B"},
        {1023, "1023B"},
        {1024, "1.00K"},
        {1536, "1.50K"},
        {1048575, "1024.00K"},
        {1048576, "1.00M"},
        {5000000, "4.77M"},
        {1073741823, "1024.00M"},
        {1073741824, "1.00G"},
        {1099511627776ULL, "1.00T"},
        {1125899906842624ULL, "1.00P"},
        {1152921504606846976ULL, "1152921504606846976B"},
        {ULLONG_MAX, "18446744073709551615B"},
    };
    char buf[64];
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        util_bytes_to_human(buf, sizeof(buf), cases[i].n);
        ck_assert_str_eq(buf, cases[i].s);
    }
    char small[4];
    util_bytes_to_human(small, sizeof(small), 1536);
    ck_assert_str_eq(small, "1.5");
}
END_TEST

/* ---- peers ------------------------------------------------------------- */

START_TEST(test_addr_is_loopback) {
    ck_assert(util_addr_is_loopback("127.0.0.1:6379"));
    ck_assert(util_addr_is_loopback("127.1.2.3:1"));
    ck_assert(util_addr_is_loopback("::1:50000"));
    ck_assert(!util_addr_is_loopback("10.0.0.1:6379"));
    ck_assert(!util_addr_is_loopback("128.0.0.1:6379"));
    /* an IPv6 peer whose text merely starts with "::1" is another host */
    ck_assert(!util_addr_is_loopback("::1234:50000"));
    ck_assert(!util_addr_is_loopback("::1.2.3.4:50000"));
    ck_assert(!util_addr_is_loopback("::ffff:10.0.0.1:50000"));
}
END_TEST

static Suite *util_suite(void) {
    Suite *s = suite_create("util");
    TCase *tc = tcase_create("numbers");
    tcase_add_test(tc, test_str_to_ll_accepts);
    tcase_add_test(tc, test_str_to_ll_rejects);
    tcase_add_test(tc, test_str_to_l);
    tcase_add_test(tc, test_ll_to_str);
    tcase_add_test(tc, test_incrbyfloat_results);
    tcase_add_test(tc, test_str_to_ld);
    tcase_add_test(tc, test_ld_to_str);
    tcase_add_test(tc, test_scores);
    tcase_add_test(tc, test_str_to_d_rejects);
    tcase_add_test(tc, test_d_to_str_edges);
    tcase_add_test(tc, test_mem_to_ull);
    tcase_add_test(tc, test_bytes_to_human);
    suite_add_tcase(s, tc);

    tc = tcase_create("glob");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, test_glob_basics);
    tcase_add_test(tc, test_glob_quirks);
    tcase_add_test(tc, test_glob_nocase);
    tcase_add_test(tc, test_glob_star_limit);
    tcase_add_test(tc, test_glob_pathological);
    suite_add_tcase(s, tc);

    tc = tcase_create("misc");
    tcase_add_test(tc, test_hex);
    tcase_add_test(tc, test_clocks);
    tcase_add_test(tc, test_random_hex);
    tcase_add_test(tc, test_addr_is_loopback);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) {
    SRunner *sr = srunner_create(util_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
