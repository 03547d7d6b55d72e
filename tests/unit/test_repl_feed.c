/* Unit tests of the master's stream feed: what lands in the backlog and
 * how master_repl_offset counts it. */
#include <check.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "core/config.h"
#include "core/mem.h"
#include "core/propagate.h"
#include "core/server.h"
#include "repl/backlog.h"
#include "repl/repl.h"

static server srv;
static client *cli;

static void setup(void) {
    memset(&srv, 0, sizeof(srv));
    config_defaults(&srv.cfg);
    server_init(&srv);
    cli = client_create(&srv, -1, CLIENT_FAKE);
}

static void teardown(void) {
    client_free(cli);
    server_free(&srv);
}

static void run(int argc, ...) {
    va_list ap;
    va_start(ap, argc);
    dstr *argv = mem_alloc(sizeof(dstr) * (size_t)argc);
    for (int i = 0; i < argc; i++) argv[i] = dstr_from(va_arg(ap, const char *));
    va_end(ap);
    client_set_argv(cli, argv, argc);
    process_command(cli);
    client_reset_argv(cli);
    dstr_clear(cli->reply);
}

START_TEST(no_backlog_no_offset) {
    run(3, "SET", "a", "1");
    ck_assert_int_eq(repl_offset(&srv), 0);
}
END_TEST

START_TEST(stream_bytes_and_offsets) {
    repl_create_backlog(&srv);
    run(3, "SET", "a", "1");
    const char *want = "*2\r\n$6\r\nSELECT\r\n$1\r\n0\r\n*3\r\n$3\r\nSET\r\n$1\r\na\r\n$1\r\n1\r\n";
    ck_assert_int_eq(repl_offset(&srv), (long long)strlen(want));
    repl_before_sleep(&srv); /* publishes */
    run(2, "SELECT", "2");
    run(3, "SET", "b", "2");
    const char *more = "*2\r\n$6\r\nSELECT\r\n$1\r\n2\r\n*3\r\n$3\r\nSET\r\n$1\r\nb\r\n$1\r\n2\r\n";
    ck_assert_int_eq(repl_offset(&srv), (long long)(strlen(want) + strlen(more)));
    /* A read is not in the stream. */
    long long before = repl_offset(&srv);
    run(2, "GET", "b");
    ck_assert_int_eq(repl_offset(&srv), before);
}
END_TEST

int main(void) {
    Suite *s = suite_create("repl_feed");
    TCase *tc = tcase_create("feed");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, no_backlog_no_offset);
    tcase_add_test(tc, stream_bytes_and_offsets);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
