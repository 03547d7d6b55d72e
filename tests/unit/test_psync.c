/* Unit tests of the master's PSYNC decision. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "repl/psync.h"

#define ID1 "1111111111111111111111111111111111111111"
#define ID2 "2222222222222222222222222222222222222222"
#define ID0 "0000000000000000000000000000000000000000"
#define IDX "9999999999999999999999999999999999999999"

static psync_state fresh(void) {
    psync_state st = {ID1, ID0, -1, 1, 101, 500};
    return st;
}

START_TEST(continue_on_current_id_inside_backlog) {
    psync_state st = fresh();
    char why[256];
    ck_assert_int_eq(psync_decide(&st, ID1, 101, why, sizeof(why)), PSYNC_CONTINUE);
    ck_assert_int_eq(psync_decide(&st, ID1, 300, why, sizeof(why)), PSYNC_CONTINUE);
    /* A replica that has everything asks for end+1: nothing to send, but
     * still a partial resync. */
    ck_assert_int_eq(psync_decide(&st, ID1, 501, why, sizeof(why)), PSYNC_CONTINUE);
}
END_TEST

START_TEST(full_outside_backlog) {
    psync_state st = fresh();
    char why[256];
    ck_assert_int_eq(psync_decide(&st, ID1, 100, why, sizeof(why)), PSYNC_FULL);
    ck_assert_ptr_nonnull(strstr(why, "lack of backlog"));
    ck_assert_int_eq(psync_decide(&st, ID1, 502, why, sizeof(why)), PSYNC_FULL);
    ck_assert_ptr_nonnull(strstr(why, "greater than the master replication offset"));
    st.has_backlog = 0;
    ck_assert_int_eq(psync_decide(&st, ID1, 200, why, sizeof(why)), PSYNC_FULL);
}
END_TEST

START_TEST(previous_id_up_to_second_offset) {
    /* After a promotion: the old id is valid up to second_replid_offset. */
    psync_state st = {ID2, ID1, 400, 1, 101, 500};
    char why[256];
    ck_assert_int_eq(psync_decide(&st, ID1, 400, why, sizeof(why)), PSYNC_CONTINUE);
    ck_assert_int_eq(psync_decide(&st, ID1, 401, why, sizeof(why)), PSYNC_FULL);
    ck_assert_ptr_nonnull(strstr(why, "Requested offset for second ID was 401"));
    ck_assert_int_eq(psync_decide(&st, ID2, 450, why, sizeof(why)), PSYNC_CONTINUE);
}
END_TEST

START_TEST(unknown_id_and_forced_full) {
    psync_state st = fresh();
    char why[256];
    ck_assert_int_eq(psync_decide(&st, IDX, 200, why, sizeof(why)), PSYNC_FULL);
    ck_assert_ptr_nonnull(strstr(why, "Replication ID mismatch"));
    ck_assert_int_eq(psync_decide(&st, "?", -1, why, sizeof(why)), PSYNC_FULL);
    ck_assert_str_eq(why, "");
    /* replid2 unset (all zeros, offset -1) never matches. */
    ck_assert_int_eq(psync_decide(&st, ID0, 200, why, sizeof(why)), PSYNC_FULL);
}
END_TEST

START_TEST(reply_lines) {
    char buf[128];
    psync_continue_reply(buf, sizeof(buf), ID1, 1);
    ck_assert_str_eq(buf, "+CONTINUE " ID1 "\r\n");
    psync_continue_reply(buf, sizeof(buf), ID1, 0);
    ck_assert_str_eq(buf, "+CONTINUE\r\n");
    psync_fullresync_reply(buf, sizeof(buf), ID1, 12345);
    ck_assert_str_eq(buf, "+FULLRESYNC " ID1 " 12345\r\n");
}
END_TEST

int main(void) {
    Suite *s = suite_create("psync");
    TCase *tc = tcase_create("decide");
    tcase_add_test(tc, continue_on_current_id_inside_backlog);
    tcase_add_test(tc, full_outside_backlog);
    tcase_add_test(tc, previous_id_up_to_second_offset);
    tcase_add_test(tc, unknown_id_and_forced_full);
    tcase_add_test(tc, reply_lines);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
