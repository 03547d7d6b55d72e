/* Unit tests of the lazyfree thread: a detached keyspace and large values
 * are freed in the background and counted as Redis 7.0 counts them
 * (lazyfree_pending_objects, lazyfreed_objects); small values are freed
 * inline; shutdown with work pending finishes it. The freeing runs on a
 * real second thread, so this file also runs under ThreadSanitizer. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/config.h"
#include "core/db.h"
#include "core/lazyfree.h"
#include "core/log.h"
#include "core/quicklist.h"
#include "core/server.h"
#include "core/t_list.h"
#include "core/t_set.h"
#include "core/util.h"
#include "tests/unit/test_support.h"

static server srv;

static void setup(void) {
    log_setup(LL_WARNING, NULL);
    memset(&srv, 0, sizeof(srv));
    config_defaults(&srv.cfg);
    server_init(&srv);
}

static void teardown(void) { server_free(&srv); }

/* n string keys in db 0, every tenth with a TTL. */
static void fill(long n) {
    db *d = &srv.dbs[0];
    char key[32], val[64];
    for (long i = 0; i < n; i++) {
        snprintf(key, sizeof(key), "key:%ld", i);
        int len = snprintf(val, sizeof(val), "value-%ld-padded-past-the-embstr-limit......", i);
        dstr k = dstr_from(key);
        db_add(&srv, d, k, obj_string_new(val, (size_t)len));
        if (i % 10 == 0) db_set_expire(&srv, d, k, util_ms_time() + 100000);
        dstr_free(k);
    }
}

/* Bounded: a thread that never frees fails the test, never hangs it. */
static void wait_pending_zero(void) {
    for (int i = 0; i < 6000 && lazyfree_pending() != 0; i++)
        nanosleep(&(struct timespec){0, 5 * 1000 * 1000}, NULL);
    ck_assert_int_eq(lazyfree_pending(), 0);
}

static obj *list_of(int n, size_t elem_len) {
    obj *o = list_obj_new(&srv);
    char *buf = calloc(1, elem_len);
    memset(buf, 'x', elem_len);
    for (int i = 0; i < n; i++) list_obj_push(o, buf, elem_len, QL_TAIL);
    free(buf);
    return o;
}

START_TEST(flushed_keyspace_is_freed_in_background) {
    const long n = 200000;
    fill(n);
    long long before = lazyfree_freed();
    ck_assert_int_eq(db_empty(&srv, 0, 1), n);
    /* The db is empty and usable at once. */
    ck_assert_uint_eq(dict_size(srv.dbs[0].keys), 0);
    ck_assert_uint_eq(dict_size(srv.dbs[0].expires), 0);
    ck_assert_int_le(lazyfree_pending(), n);
    fill(10);
    ck_assert_uint_eq(dict_size(srv.dbs[0].keys), 10);
    wait_pending_zero();
    ck_assert_int_eq(lazyfree_freed() - before, n);
}
END_TEST

START_TEST(sync_flush_counts_nothing) {
    fill(1000);
    ck_assert_int_eq(db_empty(&srv, -1, 0), 1000);
    ck_assert_int_eq(lazyfree_pending(), 0);
    ck_assert_int_eq(lazyfree_freed(), 0);
    /* Nothing to hand over either way. */
    ck_assert_int_eq(db_empty(&srv, -1, 1), 0);
    ck_assert_int_eq(lazyfree_freed(), 0);
}
END_TEST

START_TEST(effort_follows_redis) {
    /* A list's effort is its quicklist nodes, not its elements. */
    obj *small_elems = list_of(1000, 4);
    ck_assert_uint_le(lazyfree_effort(small_elems), LAZYFREE_THRESHOLD);
    obj *big_elems = list_of(1000, 1024);
    ck_assert_uint_eq(lazyfree_effort(big_elems), ((quicklist *)big_elems->ptr)->len);
    ck_assert_uint_gt(lazyfree_effort(big_elems), LAZYFREE_THRESHOLD);
    obj *set = set_create_hashtable(0);
    char m[16];
    for (int i = 0; i < 100; i++) {
        snprintf(m, sizeof(m), "m%d", i);
        dstr e = dstr_from(m);
        set_add(set, e, 512);
        dstr_free(e);
    }
    ck_assert_uint_eq(lazyfree_effort(set), 100);
    obj *str = obj_string_new("x", 1);
    ck_assert_uint_eq(lazyfree_effort(str), 1);
    obj_free(small_elems);
    obj_free(big_elems);
    obj_free(set);
    obj_free(str);
}
END_TEST

START_TEST(large_value_in_background_small_inline) {
    lazyfree_value(list_of(10, 1024));
    ck_assert_int_eq(lazyfree_pending(), 0);
    ck_assert_int_eq(lazyfree_freed(), 0);
    lazyfree_value(list_of(1000, 1024));
    wait_pending_zero();
    ck_assert_int_eq(lazyfree_freed(), 1);
}
END_TEST

START_TEST(unlink_hands_over_the_value) {
    dstr big = dstr_from("big"), small = dstr_from("small");
    db_add(&srv, &srv.dbs[0], big, list_of(1000, 1024));
    db_add(&srv, &srv.dbs[0], small, list_of(10, 1024));
    ck_assert_int_eq(db_delete_async(&srv, &srv.dbs[0], small), 1);
    ck_assert_int_eq(db_delete_async(&srv, &srv.dbs[0], big), 1);
    ck_assert_int_eq(db_delete_async(&srv, &srv.dbs[0], big), 0);
    ck_assert_ptr_null(db_peek(&srv.dbs[0], big));
    wait_pending_zero();
    ck_assert_int_eq(lazyfree_freed(), 1);
    dstr_free(big);
    dstr_free(small);
}
END_TEST

START_TEST(shutdown_finishes_pending_work) {
    const long n = 200000;
    fill(n);
    db_empty(&srv, -1, 1);
    lazyfree_shutdown();
    ck_assert_int_eq(lazyfree_pending(), 0);
    ck_assert_int_eq(lazyfree_freed(), n);
    /* A hand-over after shutdown starts the thread again. */
    fill(100);
    db_empty(&srv, -1, 1);
    wait_pending_zero();
    ck_assert_int_eq(lazyfree_freed(), n + 100);
    lazyfree_reset_stats();
    ck_assert_int_eq(lazyfree_freed(), 0);
}
END_TEST

int main(void) {
    const TTest *const tests[] = {
        flushed_keyspace_is_freed_in_background,
        sync_flush_counts_nothing,
        effort_follows_redis,
        large_value_in_background_small_inline,
        unlink_hands_over_the_value,
        shutdown_finishes_pending_work,
        NULL,
    };
    return test_run_case("lazyfree", tests, setup, teardown, 120);
}
