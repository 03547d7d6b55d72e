/* Unit tests of what replication's snapshot children mean to persistence:
 * a disk snapshot counts as a save (INFO in progress, LASTSAVE, the dirty
 * counter, rdb_saves, the error status that drives -MISCONF), a diskless
 * one only shows as in progress. No child is forked: the hooks are called
 * as repl/snapshot.c calls them, with a pid that is never waited for. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/config.h"
#include "core/persist.h"
#include "core/server.h"

static server srv;

static void setup(void) {
    memset(&srv, 0, sizeof(srv));
    config_defaults(&srv.cfg);
    server_init(&srv);
}

static void teardown(void) { server_free(&srv); }

/* One INFO persistence field, as a number. */
static long long info_field(const char *name) {
    dstr info = persist_info(&srv, dstr_empty());
    char key[64];
    snprintf(key, sizeof(key), "\r\n%s:", name);
    const char *p = strstr(info, key);
    ck_assert_msg(p != NULL, "no %s in INFO", name);
    long long v = strtoll(p + strlen(key), NULL, 10);
    dstr_free(info);
    return v;
}

static int info_has(const char *text) {
    dstr info = persist_info(&srv, dstr_empty());
    int found = strstr(info, text) != NULL;
    dstr_free(info);
    return found;
}

START_TEST(disk_snapshot_counts_as_a_save) {
    srv.lastsave = 1000;
    srv.dirty = 7;
    ck_assert_int_eq(info_field("rdb_bgsave_in_progress"), 0);
    persist_repl_child_started(&srv, 424242, 1);
    ck_assert_int_eq(info_field("rdb_bgsave_in_progress"), 1);
    ck_assert_int_eq(info_field("rdb_current_bgsave_time_sec"), 0);
    ck_assert_int_eq(info_field("rdb_saves"), 1);
    srv.dirty += 3; /* writes made while the child runs */
    persist_repl_child_done(&srv, PERSIST_CHILD_OK);
    ck_assert_int_eq(info_field("rdb_bgsave_in_progress"), 0);
    ck_assert_int_eq(info_field("rdb_current_bgsave_time_sec"), -1);
    ck_assert_int_eq(srv.dirty, 3);
    ck_assert_int_eq(info_field("rdb_changes_since_last_save"), 3);
    ck_assert_int_gt(srv.lastsave, 1000);
    ck_assert(info_has("\r\nrdb_last_bgsave_status:ok\r\n"));
    ck_assert_int_eq(info_field("rdb_last_bgsave_time_sec"), 0);
}
END_TEST

START_TEST(failed_disk_snapshot_refuses_writes) {
    ck_assert_int_gt(srv.cfg.nsave, 0); /* the default save points */
    ck_assert_int_eq(srv.cfg.stop_writes_on_bgsave_error, 1);
    srv.lastsave = 1000;
    srv.dirty = 5;
    persist_repl_child_started(&srv, 424242, 1);
    persist_repl_child_done(&srv, PERSIST_CHILD_FAILED);
    ck_assert(info_has("\r\nrdb_last_bgsave_status:err\r\n"));
    ck_assert_int_eq(srv.dirty, 5);
    ck_assert_int_eq(srv.lastsave, 1000);
    ck_assert_int_eq(persist_writes_refused(&srv), 1);
    srv.cfg.stop_writes_on_bgsave_error = 0;
    ck_assert_int_eq(persist_writes_refused(&srv), 0);
    srv.cfg.stop_writes_on_bgsave_error = 1;
    srv.cfg.nsave = 0;
    ck_assert_int_eq(persist_writes_refused(&srv), 0);
    srv.cfg.nsave = 1;
    /* The next successful snapshot clears the error. */
    persist_repl_child_started(&srv, 424243, 1);
    persist_repl_child_done(&srv, PERSIST_CHILD_OK);
    ck_assert(info_has("\r\nrdb_last_bgsave_status:ok\r\n"));
    ck_assert_int_eq(persist_writes_refused(&srv), 0);
    ck_assert_int_eq(info_field("rdb_saves"), 2);
}
END_TEST

START_TEST(cancelled_disk_snapshot_is_not_an_error) {
    srv.lastsave = 1000;
    srv.dirty = 5;
    persist_repl_child_started(&srv, 424242, 1);
    persist_repl_child_done(&srv, PERSIST_CHILD_CANCELLED);
    ck_assert_int_eq(info_field("rdb_bgsave_in_progress"), 0);
    ck_assert(info_has("\r\nrdb_last_bgsave_status:ok\r\n"));
    ck_assert_int_eq(persist_writes_refused(&srv), 0);
    ck_assert_int_eq(srv.dirty, 5);
    ck_assert_int_eq(srv.lastsave, 1000);
}
END_TEST

START_TEST(diskless_snapshot_is_not_a_save) {
    srv.lastsave = 1000;
    srv.dirty = 5;
    persist_repl_child_started(&srv, 424242, 0);
    ck_assert_int_eq(info_field("rdb_bgsave_in_progress"), 1);
    persist_repl_child_done(&srv, PERSIST_CHILD_FAILED);
    ck_assert_int_eq(info_field("rdb_bgsave_in_progress"), 0);
    ck_assert(info_has("\r\nrdb_last_bgsave_status:ok\r\n"));
    ck_assert_int_eq(info_field("rdb_saves"), 0);
    ck_assert_int_eq(srv.dirty, 5);
    ck_assert_int_eq(srv.lastsave, 1000);
    /* done() without a started child (a second reap) changes nothing. */
    persist_repl_child_done(&srv, PERSIST_CHILD_OK);
    ck_assert_int_eq(srv.dirty, 5);
}
END_TEST

int main(void) {
    Suite *s = suite_create("persist");
    TCase *tc = tcase_create("replication children");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, disk_snapshot_counts_as_a_save);
    tcase_add_test(tc, failed_disk_snapshot_refuses_writes);
    tcase_add_test(tc, cancelled_disk_snapshot_is_not_an_error);
    tcase_add_test(tc, diskless_snapshot_is_not_a_save);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
