/* Unit tests of the propagation point: what each write leaves in the
 * replication stream, in Redis 7.0's propagated form. Commands run on a
 * fake client against a real keyspace; the stream encoder is the sink. */
#include <check.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/config.h"
#include "core/mem.h"
#include "core/propagate.h"
#include "core/server.h"
#include "core/util.h"

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

/* Run one command given as C strings; returns its reply (owned by the
 * caller). */
static dstr run(int argc, ...) {
    va_list ap;
    va_start(ap, argc);
    dstr *argv = mem_alloc(sizeof(dstr) * (size_t)argc);
    for (int i = 0; i < argc; i++) argv[i] = dstr_from(va_arg(ap, const char *));
    va_end(ap);
    client_set_argv(cli, argv, argc);
    process_command(cli);
    client_reset_argv(cli);
    dstr r = dstr_dup(cli->reply);
    dstr_clear(cli->reply);
    return r;
}

#define RUN(...) dstr_free(run(__VA_ARGS__))

/* The expected stream for a list of commands, each a NULL-terminated
 * list of words, the whole list terminated by NULL. */
static dstr expect(const char *const *cmds[]) {
    dstr out = dstr_empty();
    for (int i = 0; cmds[i]; i++) {
        int n = 0;
        while (cmds[i][n]) n++;
        dstr argv[16];
        for (int j = 0; j < n; j++) argv[j] = dstr_from(cmds[i][j]);
        out = resp_encode_command(out, argv, n);
        for (int j = 0; j < n; j++) dstr_free(argv[j]);
    }
    return out;
}

static void assert_stream(const char *const *cmds[]) {
    dstr want = expect(cmds);
    ck_assert_msg(dstr_len(want) == dstr_len(enc.buf) && !memcmp(want, enc.buf, dstr_len(want)),
                  "stream mismatch:\nwant: %s\ngot:  %s", want, enc.buf);
    dstr_free(want);
    dstr_clear(enc.buf);
}

static const char *SEL0[] = {"SELECT", "0", NULL};

START_TEST(plain_set_and_select) {
    RUN(3, "SET", "k", "v");
    const char *c1[] = {"SET", "k", "v", NULL};
    const char *const *want[] = {SEL0, c1, NULL};
    assert_stream(want);
    /* Same db: no second SELECT. */
    RUN(3, "SET", "k2", "v");
    const char *c2[] = {"SET", "k2", "v", NULL};
    const char *const *want2[] = {c2, NULL};
    assert_stream(want2);
    RUN(2, "SELECT", "3");
    RUN(3, "SET", "x", "1");
    const char *sel3[] = {"SELECT", "3", NULL};
    const char *c3[] = {"SET", "x", "1", NULL};
    const char *const *want3[] = {sel3, c3, NULL};
    assert_stream(want3);
}
END_TEST

/* Pull the PXAT argument out of a "SET k v PXAT <ms>" stream. */
static long long stream_last_number(void) {
    const char *p = enc.buf + dstr_len(enc.buf) - 2; /* before final CRLF */
    const char *start = p;
    while (start > enc.buf && start[-1] != '\n') start--;
    long long v = 0;
    ck_assert(util_str_to_ll(start, (size_t)(p - start), &v));
    return v;
}

START_TEST(set_ex_becomes_pxat) {
    long long before = util_ms_time();
    RUN(5, "SET", "k", "v", "EX", "100");
    long long ms = stream_last_number();
    ck_assert(ms >= before + 100000 && ms <= util_ms_time() + 100000);
    char buf[32];
    snprintf(buf, sizeof(buf), "%lld", ms);
    const char *c1[] = {"SET", "k", "v", "PXAT", buf, NULL};
    const char *const *want[] = {SEL0, c1, NULL};
    assert_stream(want);
    /* SETEX and PSETEX take the same form. */
    RUN(4, "PSETEX", "k", "5000", "v2");
    ms = stream_last_number();
    snprintf(buf, sizeof(buf), "%lld", ms);
    const char *c2[] = {"SET", "k", "v2", "PXAT", buf, NULL};
    const char *const *want2[] = {c2, NULL};
    assert_stream(want2);
}
END_TEST

START_TEST(set_get_drops_get) {
    RUN(4, "SET", "k", "v", "GET");
    const char *c1[] = {"SET", "k", "v", NULL};
    const char *const *want[] = {SEL0, c1, NULL};
    assert_stream(want);
}
END_TEST

START_TEST(expire_forms) {
    RUN(3, "SET", "k", "v");
    dstr_clear(enc.buf);
    long long before = util_ms_time();
    RUN(3, "EXPIRE", "k", "100");
    long long ms = stream_last_number();
    ck_assert(ms >= before + 100000);
    char buf[32];
    snprintf(buf, sizeof(buf), "%lld", ms);
    const char *c1[] = {"PEXPIREAT", "k", buf, NULL};
    const char *const *want[] = {c1, NULL};
    assert_stream(want);
    /* A time in the past deletes: propagated as DEL. */
    RUN(3, "EXPIRE", "k", "-1");
    const char *c2[] = {"DEL", "k", NULL};
    const char *const *want2[] = {c2, NULL};
    assert_stream(want2);
    /* Nothing to expire: nothing propagated. */
    RUN(3, "EXPIRE", "missing", "10");
    ck_assert_int_eq(dstr_len(enc.buf), 0);
}
END_TEST

START_TEST(incrbyfloat_getset_getdel) {
    RUN(3, "SET", "n", "10.5");
    dstr_clear(enc.buf);
    RUN(3, "INCRBYFLOAT", "n", "0.1");
    const char *c1[] = {"SET", "n", "10.6", "KEEPTTL", NULL};
    const char *const *w1[] = {c1, NULL};
    assert_stream(w1);
    RUN(3, "GETSET", "n", "x");
    const char *c2[] = {"SET", "n", "x", NULL};
    const char *const *w2[] = {c2, NULL};
    assert_stream(w2);
    RUN(2, "GETDEL", "n");
    const char *c3[] = {"DEL", "n", NULL};
    const char *const *w3[] = {c3, NULL};
    assert_stream(w3);
    /* No-op writes propagate nothing. */
    RUN(2, "DEL", "n");
    RUN(2, "GETDEL", "n");
    ck_assert_int_eq(dstr_len(enc.buf), 0);
}
END_TEST

START_TEST(transactions) {
    RUN(1, "MULTI");
    RUN(3, "SET", "a", "1");
    RUN(3, "SET", "b", "2");
    RUN(2, "GET", "a");
    dstr r = run(1, "EXEC");
    ck_assert_str_eq(r, "*3\r\n+OK\r\n+OK\r\n$1\r\n1\r\n");
    dstr_free(r);
    const char *m[] = {"MULTI", NULL};
    const char *c1[] = {"SET", "a", "1", NULL};
    const char *c2[] = {"SET", "b", "2", NULL};
    const char *e[] = {"EXEC", NULL};
    /* MULTI carries the first write's db: SELECT comes before it, as in
     * the stream a real Redis 7.0 master writes. */
    const char *const *want[] = {SEL0, m, c1, c2, e, NULL};
    assert_stream(want);
    /* A transaction with a single write propagates it bare. */
    RUN(1, "MULTI");
    RUN(3, "SET", "c", "3");
    RUN(1, "EXEC");
    const char *c3[] = {"SET", "c", "3", NULL};
    const char *const *want2[] = {c3, NULL};
    assert_stream(want2);
    /* Only reads: nothing. */
    RUN(1, "MULTI");
    RUN(2, "GET", "c");
    RUN(1, "EXEC");
    ck_assert_int_eq(dstr_len(enc.buf), 0);
}
END_TEST

START_TEST(lazy_expiry_is_a_del) {
    RUN(5, "SET", "k", "v", "PX", "1");
    dstr_clear(enc.buf);
    usleep(5000);
    dstr r = run(2, "GET", "k");
    ck_assert_str_eq(r, "$-1\r\n");
    dstr_free(r);
    const char *c1[] = {"DEL", "k", NULL};
    const char *const *want[] = {c1, NULL};
    assert_stream(want);
    /* A write on an expired key: the DEL and the write go out together,
     * wrapped in MULTI/EXEC as one unit. */
    RUN(5, "SET", "k", "v", "PX", "1");
    dstr_clear(enc.buf);
    usleep(5000);
    RUN(3, "SET", "k", "w");
    const char *m[] = {"MULTI", NULL};
    const char *c2[] = {"SET", "k", "w", NULL};
    const char *e[] = {"EXEC", NULL};
    const char *const *want2[] = {m, c1, c2, e, NULL};
    assert_stream(want2);
}
END_TEST

START_TEST(active_expiry_is_a_del) {
    RUN(5, "SET", "k", "v", "PX", "1");
    dstr_clear(enc.buf);
    usleep(5000);
    server_cron(&srv);
    const char *c1[] = {"DEL", "k", NULL};
    const char *const *want[] = {c1, NULL};
    assert_stream(want);
    ck_assert_int_eq(srv.stat_expiredkeys, 1);
}
END_TEST

START_TEST(flushdb_always_propagates) {
    RUN(1, "FLUSHDB");
    const char *c1[] = {"FLUSHDB", NULL};
    const char *const *want[] = {SEL0, c1, NULL};
    assert_stream(want);
}
END_TEST

/* FLUSHALL moves the dirty counter by the keys it removed, and its save
 * (with save points) resets the counter: it must be propagated anyway. */
START_TEST(flushall_always_propagates) {
    srv.cfg.nsave = 0;
    RUN(1, "FLUSHALL");
    const char *c1[] = {"FLUSHALL", NULL};
    const char *const *want[] = {SEL0, c1, NULL};
    assert_stream(want);
    ck_assert_int_eq(srv.dirty, 0);
}
END_TEST

START_TEST(flushall_propagates_after_its_save) {
    char dir[] = "/tmp/rm-test-propagate-XXXXXX";
    ck_assert_ptr_nonnull(mkdtemp(dir));
    char old[4096];
    ck_assert_ptr_nonnull(getcwd(old, sizeof(old)));
    ck_assert_int_eq(chdir(dir), 0);
    srv.cfg.nsave = 1;
    srv.cfg.save[0].seconds = 3600;
    srv.cfg.save[0].changes = 1;
    RUN(3, "SET", "k", "v");
    dstr_clear(enc.buf);
    RUN(1, "FLUSHALL");
    ck_assert_int_eq(srv.dirty, 0); /* the save took the flush with it */
    ck_assert_int_eq(access("dump.rdb", F_OK), 0);
    const char *c1[] = {"FLUSHALL", NULL};
    const char *const *want[] = {c1, NULL};
    assert_stream(want);
    unlink("dump.rdb");
    ck_assert_int_eq(chdir(old), 0);
    rmdir(dir);
}
END_TEST

int main(void) {
    Suite *s = suite_create("propagate");
    TCase *tc = tcase_create("forms");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, plain_set_and_select);
    tcase_add_test(tc, set_ex_becomes_pxat);
    tcase_add_test(tc, set_get_drops_get);
    tcase_add_test(tc, expire_forms);
    tcase_add_test(tc, incrbyfloat_getset_getdel);
    tcase_add_test(tc, transactions);
    tcase_add_test(tc, lazy_expiry_is_a_del);
    tcase_add_test(tc, active_expiry_is_a_del);
    tcase_add_test(tc, flushdb_always_propagates);
    tcase_add_test(tc, flushall_always_propagates);
    tcase_add_test(tc, flushall_propagates_after_its_save);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
