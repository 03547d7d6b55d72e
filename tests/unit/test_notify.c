/* test_notify: notify-keyspace-events, letters to classes and back.
 *
 * Every expected string was read back from a real redis-server 7.0.15
 * with CONFIG SET then CONFIG GET notify-keyspace-events: Redis keeps the
 * classes as a mask and prints them in its own order, with A for all the
 * classes it groups (n is then hidden, though still set). */
#include "core/notify.h"

#include <check.h>
#include <string.h>

#include "tests/unit/test_support.h"

/* The canonical form of `in`, or NULL when Redis refuses it. */
static dstr canonical(const char *in, size_t len) {
    int flags = notify_flags_parse(in, len);
    return flags < 0 ? NULL : notify_flags_string(flags);
}

static void check_canonical(const char *in, const char *want) {
    dstr got = canonical(in, strlen(in));
    ck_assert_msg(got != NULL, "'%s' refused", in);
    ck_assert_msg(!strcmp(got, want), "'%s' read back as '%s', Redis says '%s'", in, got, want);
    dstr_free(got);
}

START_TEST(test_canonical_forms) {
    check_canonical("", "");
    check_canonical("KEA", "AKE");
    check_canonical("A", "A");
    check_canonical("KA", "AK");
    check_canonical("g$lshzxetd", "A");
    check_canonical("g$lshzxet", "g$lshzxet");
    check_canonical("Kn", "nK");
    check_canonical("KEAmn", "AKEm");
    check_canonical("Em", "Em");
    check_canonical("KKK", "K");
    check_canonical("nmEK", "nKEm");
    check_canonical("$lshzxetdgKE", "AKE");
    check_canonical("Exg", "gxE");
}
END_TEST

START_TEST(test_refused_letters) {
    static const char *bad[] = {"KEAq", "kea", " ", "KEA ", "a", "G", "*"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        ck_assert_int_eq(notify_flags_parse(bad[i], strlen(bad[i])), -1);
}
END_TEST

START_TEST(test_masks) {
    ck_assert_int_eq(notify_flags_parse("A", 1) & (NOTIFY_NEW | NOTIFY_KEY_MISS), 0);
    ck_assert_int_eq(notify_flags_parse("KEAn", 4) & NOTIFY_NEW, NOTIFY_NEW);
    ck_assert_int_eq(notify_flags_parse("x", 1), NOTIFY_EXPIRED);
    /* Redis reads the letters as a C string: a NUL ends them. */
    ck_assert_int_eq(notify_flags_parse("K\0q", 3), NOTIFY_KEYSPACE);
    ck_assert_int_eq(notify_flags_parse("q\0K", 3), -1);
}
END_TEST

static Suite *notify_suite(void) {
    Suite *s = suite_create("notify");
    TCase *tc = tcase_create("flags");
    tcase_add_test(tc, test_canonical_forms);
    tcase_add_test(tc, test_refused_letters);
    tcase_add_test(tc, test_masks);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return test_run_suite(notify_suite()); }
