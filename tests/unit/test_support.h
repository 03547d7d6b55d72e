/* test_support: small helpers the Check unit tests share. Header-only:
 * every tests/unit/test_*.c is its own executable. */
#ifndef RM_TEST_SUPPORT_H
#define RM_TEST_SUPPORT_H

#include <check.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "core/dstr.h"
#include "core/mem.h"
#include "core/server.h"
#include "repl/backlog.h"

/* The whole content of a file, which must exist. */
static inline dstr test_read_file(const char *path) {
    FILE *f = fopen(path, "r");
    ck_assert_ptr_nonnull(f);
    dstr text = dstr_empty();
    char buf[4096];
    size_t n;
    while ((n = fread(buf, 1, sizeof(buf), f)) > 0) text = dstr_cat(text, buf, n);
    fclose(f);
    return text;
}

/* Run argc C-string arguments from ap as a command of client c; what c
 * received, taken out of its output (the caller frees it). */
static inline dstr test_vcommand(client *c, int argc, va_list ap) {
    dstr *argv = mem_alloc(sizeof(dstr) * (size_t)argc);
    for (int i = 0; i < argc; i++) argv[i] = dstr_from(va_arg(ap, const char *));
    client_set_argv(c, argv, argc);
    process_command(c);
    client_reset_argv(c);
    dstr r = dstr_dup(c->reply);
    dstr_clear(c->reply);
    return r;
}

/* Run every test of `s`, print the results, and return main()'s exit
 * status for CTest. Takes `s`. */
static inline int test_run_suite(Suite *s) {
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

/* Fill the backlog with n more bytes, each the test's pattern byte for its
 * stream offset, so that a reader can check every byte it gets against
 * the offset it expects it at. */
static inline void test_append_pattern(backlog *bl, long long n, char (*pattern)(long long)) {
    char buf[4096];
    while (n > 0) {
        long long start = backlog_end(bl) + 1;
        size_t k = n < (long long)sizeof(buf) ? (size_t)n : sizeof(buf);
        for (size_t i = 0; i < k; i++) buf[i] = pattern(start + (long long)i);
        backlog_append(bl, buf, k);
        n -= (long long)k;
    }
}

/* test_run_suite for a file whose tests form one test case: `tests` (a
 * NULL ended list) with the fixture and timeout given. */
static inline int test_run_case(const char *name, const TTest *const *tests,
                                void (*setup)(void), void (*teardown)(void), int timeout) {
    Suite *s = suite_create(name);
    TCase *tc = tcase_create(name);
    tcase_add_checked_fixture(tc, setup, teardown);
    for (int i = 0; tests[i]; i++) tcase_add_test(tc, tests[i]);
    tcase_set_timeout(tc, timeout);
    suite_add_tcase(s, tc);
    return test_run_suite(s);
}

#endif
