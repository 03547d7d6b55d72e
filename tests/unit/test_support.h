/* test_support: small helpers the Check unit tests share. Header-only:
 * every tests/unit/test_*.c is its own executable. */
#ifndef RM_TEST_SUPPORT_H
#define RM_TEST_SUPPORT_H

#include <check.h>
#include <stdio.h>
#include <stdlib.h>

#include "core/dstr.h"

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

/* Run every test of `s`, print the results, and return main()'s exit
 * status for CTest. Takes `s`. */
static inline int test_run_suite(Suite *s) {
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
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
