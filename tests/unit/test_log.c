/* test_log: one message is one line, whatever the strings in it.
 *
 * log_repr() turns any bytes into printable ASCII that says which bytes
 * they were; log_msg() never lets a newline (or another control byte) in
 * a formatted message start a forged line of its own. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/config.h"
#include "core/dstr.h"
#include "core/log.h"
#include "tests/unit/test_support.h"

#define LIT(s) (s), sizeof(s) - 1

START_TEST(test_repr_escapes) {
    char buf[64];
    ck_assert_str_eq(log_repr(buf, sizeof(buf), LIT("plain name")), "plain name");
    ck_assert_str_eq(log_repr(buf, sizeof(buf), LIT("a\nb\rc\td")), "a\\nb\\rc\\td");
    ck_assert_str_eq(log_repr(buf, sizeof(buf), LIT("nul\0tail")), "nul\\x00tail");
    ck_assert_str_eq(log_repr(buf, sizeof(buf), LIT("back\\slash")), "back\\\\slash");
    ck_assert_str_eq(log_repr(buf, sizeof(buf), LIT("\x7f\xe9\x01")), "\\x7f\\xe9\\x01");
    ck_assert_str_eq(log_repr(buf, sizeof(buf), LIT("")), "");
}
END_TEST

START_TEST(test_repr_cut_short) {
    char buf[12];
    ck_assert_str_eq(log_repr(buf, sizeof(buf), LIT("abcdefghijklmnop")), "abcdefgh...");
    /* an escape is never split */
    ck_assert_str_eq(log_repr(buf, sizeof(buf), LIT("abcde\nfghij")), "abcde\\nf...");
    ck_assert_str_eq(log_repr(buf, sizeof(buf), LIT("abcdef\x01xyz")), "abcdef...");
    char tiny[2];
    ck_assert_str_eq(log_repr(tiny, sizeof(tiny), LIT("abc")), "");
}
END_TEST

static char path[] = "/tmp/rm-test-log-XXXXXX";

static void setup(void) {
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    close(fd);
    log_setup(LL_NOTICE, path);
}

static void teardown(void) {
    unlink(path);
    log_setup(LL_NOTICE, NULL);
    strcpy(path, "/tmp/rm-test-log-XXXXXX");
}

static dstr log_text(void) { return test_read_file(path); }

static int count_lines(const dstr text) {
    int n = 0;
    for (size_t i = 0; i < dstr_len(text); i++) n += text[i] == '\n';
    return n;
}

START_TEST(test_newline_cannot_forge_a_line) {
    log_msg(LL_WARNING, "DEBUG LOG: %s", "hello\n1:M 01 Jan 2030 00:00:00.000 # forged\r");
    dstr text = log_text();
    ck_assert_int_eq(count_lines(text), 1);
    ck_assert_ptr_nonnull(strstr(text, "DEBUG LOG: hello\\n1:M 01 Jan 2030 00:00:00.000 # forged\\r\n"));
    dstr_free(text);
}
END_TEST

START_TEST(test_level_filters) {
    log_set_level(LL_WARNING);
    log_msg(LL_NOTICE, "not written");
    log_msg(LL_WARNING, "written");
    log_set_level(LL_NOTICE);
    log_msg(LL_NOTICE, "written too, path /x/\xc3\xa9 as it is");
    dstr text = log_text();
    ck_assert_int_eq(count_lines(text), 2);
    ck_assert_ptr_null(strstr(text, "not written"));
    ck_assert_ptr_nonnull(strstr(text, "written too, path /x/\xc3\xa9 as it is\n"));
    dstr_free(text);
}
END_TEST

static Suite *log_suite(void) {
    Suite *s = suite_create("log");
    TCase *tc = tcase_create("repr");
    tcase_add_test(tc, test_repr_escapes);
    tcase_add_test(tc, test_repr_cut_short);
    suite_add_tcase(s, tc);
    tc = tcase_create("lines");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_newline_cannot_forge_a_line);
    tcase_add_test(tc, test_level_filters);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) {
    SRunner *sr = srunner_create(log_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
