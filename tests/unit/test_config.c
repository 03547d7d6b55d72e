/* test_config: values keep their bytes, and the file reads like Redis's.
 *
 * A string directive is binary safe from CONFIG SET through CONFIG GET,
 * CONFIG REWRITE and loading the rewritten file again; a directive the OS
 * takes as a C string refuses a NUL instead of being cut short at it; a
 * word or a number followed by a NUL is not that word or number. The
 * `save` lines of a file follow Redis 7.0 (checked on redis-server
 * 7.0.15): the first replaces the defaults, later ones add, a bare `save`
 * adds nothing. And the password compare looks at every byte. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/config.h"
#include "core/dstr.h"
#include "core/util.h"
#include "tests/unit/test_support.h"

#define LIT(s) (s), sizeof(s) - 1

static config cfg;

static void setup(void) { config_defaults(&cfg); }
static void teardown(void) { config_free(&cfg); }

/* CONFIG SET of one value; returns the error text, "" on success. */
static const char *set(const char *name, const char *value, size_t len) {
    static char err[512];
    int unknown = 0;
    err[0] = '\0';
    if (config_set(&cfg, name, value, len, &unknown, err, sizeof(err)) < 0 && !err[0])
        snprintf(err, sizeof(err), unknown ? "unknown" : "failed");
    return err;
}

static void collect(void *priv, const char *name, const char *value, size_t vlen) {
    (void)name;
    dstr *out = priv;
    if (*out) *out = dstr_cats(*out, "|");
    *out = *out ? dstr_cat(*out, value, vlen) : dstr_new(value, vlen);
}

/* CONFIG GET of one pattern: the values found, '|'-joined; NULL if none. */
static dstr get(const char *pattern, size_t plen) {
    dstr out = NULL;
    config_get(&cfg, pattern, plen, collect, &out);
    return out;
}

static int load(const char *text) {
    char err[4096];
    return config_load_string(&cfg, text, "(test)", err, sizeof(err));
}

START_TEST(test_requirepass_keeps_every_byte) {
    ck_assert_str_eq(set("requirepass", LIT("abc\0def")), "");
    ck_assert_uint_eq(dstr_len(cfg.requirepass), 7);
    ck_assert(!memcmp(cfg.requirepass, "abc\0def", 7));
    dstr v = get(LIT("requirepass"));
    ck_assert_ptr_nonnull(v);
    ck_assert_uint_eq(dstr_len(v), 7);
    ck_assert(!memcmp(v, "abc\0def", 7));
    dstr_free(v);
    /* masterauth, the other secret, too; "" still means none */
    ck_assert_str_eq(set("masterauth", LIT("\0x")), "");
    ck_assert_uint_eq(dstr_len(cfg.masterauth), 2);
    ck_assert_str_eq(set("requirepass", LIT("")), "");
    ck_assert_ptr_null(cfg.requirepass);
}
END_TEST

START_TEST(test_c_string_directives_refuse_nul) {
    ck_assert_str_eq(set("dbfilename", LIT("dump\0.rdb")), "argument can't contain a NUL byte");
    ck_assert_str_eq(cfg.dbfilename, "dump.rdb");
    ck_assert_str_eq(set("masteruser", LIT("bob\0x")), "argument can't contain a NUL byte");
    ck_assert_str_eq(set("replica-announce-ip", LIT("10.0.0.1\0x")),
                     "argument can't contain a NUL byte");
    /* the immutable ones, from a file */
    ck_assert_int_eq(load("unixsocket \"/tmp/a\\x00b\"\n"), -1);
    ck_assert_int_eq(load("pidfile \"/tmp/a\\x00b\"\n"), -1);
    ck_assert_int_eq(load("logfile \"/tmp/a\\x00b\"\n"), -1);
    ck_assert_int_eq(load("bind \"127.0.0.1\\x00junk\"\n"), -1);
    ck_assert_ptr_null(cfg.unixsocket);
    ck_assert_int_eq(load("unixsocket \"/tmp/ok.sock\"\n"), 0);
    ck_assert_str_eq(cfg.unixsocket, "/tmp/ok.sock");
}
END_TEST

START_TEST(test_dbfilename_is_a_file_name) {
    const char *refusal = "dbfilename can't be a path, just a filename";
    ck_assert_str_eq(set("dbfilename", LIT("../escape.rdb")), refusal);
    ck_assert_str_eq(set("dbfilename", LIT("/etc/cron.d/x")), refusal);
    ck_assert_str_eq(set("dbfilename", LIT("a\\b")), refusal);
    ck_assert_str_eq(cfg.dbfilename, "dump.rdb");
    ck_assert_int_eq(load("dbfilename sub/dump.rdb\n"), -1);
    ck_assert_str_eq(set("dbfilename", LIT("other.rdb")), "");
    ck_assert_str_eq(cfg.dbfilename, "other.rdb");
}
END_TEST

START_TEST(test_word_or_number_with_nul_refused) {
    ck_assert_str_eq(set("rdbcompression", LIT("no\0x")), "argument must be 'yes' or 'no'");
    ck_assert_int_eq(cfg.rdbcompression, 1);
    ck_assert_str_ne(set("loglevel", LIT("debug\0x")), "");
    ck_assert_int_eq(cfg.loglevel, LL_NOTICE);
    ck_assert_str_ne(set("hz", LIT("50\0x")), "");
    ck_assert_int_eq(cfg.hz, 10);
    ck_assert_str_ne(set("repl-backlog-size", LIT("2mb\0x")), "");
    ck_assert_str_ne(set("appendonly", LIT("no\0x")), "");
    ck_assert_str_ne(set("save", LIT("100 1\0")), "");
    /* and a name with a NUL is no name */
    dstr name = dstr_new(LIT("hz\0x")), value = dstr_from("20");
    config_set_error res;
    ck_assert_int_eq(config_set_many(&cfg, &name, &value, 1, 1, &res), -1);
    ck_assert_int_eq(res.unknown, 1);
    ck_assert_int_eq(cfg.hz, 10);
    dstr_free(name);
    dstr_free(value);
}
END_TEST

START_TEST(test_get_pattern_uses_its_length) {
    dstr v = get(LIT("hz"));
    ck_assert_ptr_nonnull(v);
    ck_assert_str_eq(v, "10");
    dstr_free(v);
    ck_assert_ptr_null(get(LIT("hz\0junk")));
    ck_assert_ptr_null(get(LIT("rdb-key-save-delay\0")));
    ck_assert_ptr_null(get(LIT("slowlog-max-len\0")));
}
END_TEST

static int save_is(int n, const long long *pairs) {
    if (cfg.nsave != n) return 0;
    for (int i = 0; i < n; i++)
        if (cfg.save[i].seconds != pairs[2 * i] || cfg.save[i].changes != pairs[2 * i + 1])
            return 0;
    return 1;
}

START_TEST(test_save_lines_like_redis) {
    ck_assert_int_eq(cfg.nsave, 3); /* the defaults */
    ck_assert_int_eq(load("save\n"), 0);
    ck_assert(save_is(0, NULL));
    config_free(&cfg);
    config_defaults(&cfg);
    ck_assert_int_eq(load("save 900 1\nsave 300 10\n"), 0);
    ck_assert(save_is(2, (long long[]){900, 1, 300, 10}));
    ck_assert_int_eq(load("save\nsave \"60 5\"\n"), 0); /* adds nothing, then adds */
    ck_assert(save_is(3, (long long[]){900, 1, 300, 10, 60, 5}));
    ck_assert_int_eq(load("save \"\"\nsave 30 2\n"), 0);
    ck_assert(save_is(1, (long long[]){30, 2}));
    ck_assert_int_eq(load("save 30\n"), -1);
    ck_assert(save_is(1, (long long[]){30, 2}));
    /* CONFIG SET replaces */
    ck_assert_str_eq(set("save", LIT("100 10")), "");
    ck_assert(save_is(1, (long long[]){100, 10}));
    ck_assert_str_eq(set("save", LIT("")), "");
    ck_assert(save_is(0, NULL));
}
END_TEST

START_TEST(test_rewrite_round_trips_bytes) {
    static const char secret[] = "a\0b\"c\\d\ne\x7f\xe9 f";
    char path[] = "/tmp/rm-test-config-XXXXXX";
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(write(fd, "# kept\nport 7000\n", 17), 17);
    close(fd);
    ck_assert_str_eq(set("requirepass", secret, sizeof(secret) - 1), "");
    char err[512];
    ck_assert_int_eq(config_rewrite(&cfg, path, err, sizeof(err)), 0);
    dstr text = test_read_file(path);
    /* written as Redis's sdscatrepr() writes it */
    ck_assert_ptr_nonnull(strstr(text, "requirepass \"a\\x00b\\\"c\\\\d\\ne\\x7f\\xe9 f\"\n"));
    /* the file's own lines stay, a directive's line gets the current value */
    ck_assert_ptr_nonnull(strstr(text, "# kept\nport 6379\n"));
    dstr_free(text);

    config again;
    config_defaults(&again);
    ck_assert_int_eq(config_load_file(&again, path, err, sizeof(err)), 0);
    ck_assert_ptr_nonnull(again.requirepass);
    ck_assert_uint_eq(dstr_len(again.requirepass), sizeof(secret) - 1);
    ck_assert(!memcmp(again.requirepass, secret, sizeof(secret) - 1));
    ck_assert_int_eq(again.port, 6379);
    config_free(&again);
    unlink(path);
}
END_TEST

START_TEST(test_secret_equal_whole_length) {
    ck_assert(util_secret_equal(LIT("abc\0def"), LIT("abc\0def")));
    ck_assert(!util_secret_equal(LIT("abc\0def"), LIT("abc")));
    ck_assert(!util_secret_equal(LIT("abc"), LIT("abc\0def")));
    ck_assert(!util_secret_equal(LIT("abc\0def"), LIT("abc\0deg")));
    ck_assert(!util_secret_equal(LIT("abc"), LIT("abd")));
    ck_assert(!util_secret_equal(LIT("abc"), LIT("")));
    ck_assert(!util_secret_equal(LIT(""), LIT("x")));
    ck_assert(util_secret_equal(LIT(""), LIT("")));
    /* a secret that repeats is not matched by one of its periods */
    ck_assert(!util_secret_equal(LIT("abab"), LIT("ab")));
    ck_assert(!util_secret_equal(LIT("ab"), LIT("abab")));
}
END_TEST

static Suite *config_suite(void) {
    Suite *s = suite_create("config");
    TCase *tc = tcase_create("values");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_requirepass_keeps_every_byte);
    tcase_add_test(tc, test_c_string_directives_refuse_nul);
    tcase_add_test(tc, test_dbfilename_is_a_file_name);
    tcase_add_test(tc, test_word_or_number_with_nul_refused);
    tcase_add_test(tc, test_get_pattern_uses_its_length);
    tcase_add_test(tc, test_save_lines_like_redis);
    tcase_add_test(tc, test_rewrite_round_trips_bytes);
    suite_add_tcase(s, tc);

    tc = tcase_create("secret");
    tcase_add_test(tc, test_secret_equal_whole_length);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) {
    SRunner *sr = srunner_create(config_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
