/* Unit tests of Pub/Sub on fake clients: what the integration tests cannot
 * reach over the wire. The server does not negotiate RESP3 yet (HELLO 3
 * answers NOPROTO), so RESP3 subscribers are made here by setting
 * c->resp: their confirmations and messages are push data ('>') and they
 * may run any command while subscribed. Also: PUBLISH reaches the
 * replication stream though it dirties nothing, pubsub_publish (the hook
 * for keyspace notifications) counts receivers without propagating, and
 * closing subscribers leave their channels behind them. */
#include <check.h>
#include <stdarg.h>
#include <string.h>

#include "core/config.h"
#include "core/propagate.h"
#include "core/pubsub.h"
#include "core/server.h"
#include "test_support.h"

static server srv;
static client *c2, *c3, *pub;
static stream_encoder enc;

static void setup(void) {
    memset(&srv, 0, sizeof(srv));
    config_defaults(&srv.cfg);
    server_init(&srv);
    c2 = client_create(&srv, -1, CLIENT_FAKE);
    c3 = client_create(&srv, -1, CLIENT_FAKE);
    c3->resp = 3;
    pub = client_create(&srv, -1, CLIENT_FAKE);
    stream_encoder_init(&enc);
    propagate_set_sink(&srv, stream_encoder_feed, &enc);
}

static void teardown(void) {
    client_free(c2);
    client_free(c3);
    client_free(pub);
    stream_encoder_free(&enc);
    server_free(&srv);
}

/* What c received so far, taken out of its output. */
static dstr taken(client *c) {
    dstr r = dstr_dup(c->reply);
    dstr_clear(c->reply);
    return r;
}

static dstr run(client *c, int argc, ...) {
    va_list ap;
    va_start(ap, argc);
    dstr r = test_vcommand(c, argc, ap);
    va_end(ap);
    return r;
}

#define EXPECT(got, want)                                                                       \
    do {                                                                                        \
        dstr g_ = (got);                                                                        \
        ck_assert_msg(dstr_len(g_) == strlen(want) && !memcmp(g_, want, strlen(want)),          \
                      "got %s want %s", g_, want);                                              \
        dstr_free(g_);                                                                          \
    } while (0)

START_TEST(resp3_confirmations_and_messages_are_push_data) {
    EXPECT(run(c3, 2, "SUBSCRIBE", "ch"), ">3\r\n$9\r\nsubscribe\r\n$2\r\nch\r\n:1\r\n");
    EXPECT(run(c3, 2, "PSUBSCRIBE", "c*"), ">3\r\n$10\r\npsubscribe\r\n$2\r\nc*\r\n:2\r\n");
    EXPECT(run(c2, 2, "SUBSCRIBE", "ch"), "*3\r\n$9\r\nsubscribe\r\n$2\r\nch\r\n:1\r\n");
    EXPECT(run(pub, 3, "PUBLISH", "ch", "hi"), ":3\r\n");
    EXPECT(taken(c3), ">3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$2\r\nhi\r\n"
                      ">4\r\n$8\r\npmessage\r\n$2\r\nc*\r\n$2\r\nch\r\n$2\r\nhi\r\n");
    EXPECT(taken(c2), "*3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$2\r\nhi\r\n");
    EXPECT(run(c3, 1, "UNSUBSCRIBE"), ">3\r\n$11\r\nunsubscribe\r\n$2\r\nch\r\n:1\r\n");
}
END_TEST

START_TEST(resp3_subscribers_run_any_command) {
    dstr_free(run(c3, 2, "SSUBSCRIBE", "s"));
    dstr_free(run(c2, 2, "SSUBSCRIBE", "s"));
    EXPECT(run(c3, 2, "GET", "k"), "_\r\n");
    EXPECT(run(c3, 1, "PING"), "+PONG\r\n");
    /* Its own message comes before the reply to its PUBLISH, as in Redis. */
    EXPECT(run(c3, 3, "SPUBLISH", "s", "own"),
           ">3\r\n$8\r\nsmessage\r\n$1\r\ns\r\n$3\r\nown\r\n:2\r\n");
    EXPECT(taken(c2), "*3\r\n$8\r\nsmessage\r\n$1\r\ns\r\n$3\r\nown\r\n");
    EXPECT(run(c2, 2, "GET", "k"),
           "-ERR Can't execute 'get': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / "
           "RESET are allowed in this context\r\n");
    EXPECT(run(c2, 1, "PING"), "*2\r\n$4\r\npong\r\n$0\r\n\r\n");
}
END_TEST

START_TEST(publish_is_propagated_the_hook_is_not) {
    EXPECT(run(pub, 3, "PUBLISH", "ch", "m"), ":0\r\n");
    EXPECT(run(pub, 3, "SPUBLISH", "sh", "m"), ":0\r\n");
    const char *want = "*2\r\n$6\r\nSELECT\r\n$1\r\n0\r\n"
                       "*3\r\n$7\r\nPUBLISH\r\n$2\r\nch\r\n$1\r\nm\r\n"
                       "*3\r\n$8\r\nSPUBLISH\r\n$2\r\nsh\r\n$1\r\nm\r\n";
    EXPECT(dstr_dup(enc.buf), want);
    dstr_clear(enc.buf);
    dstr_free(run(c2, 2, "PSUBSCRIBE", "__keyspace@0__:*"));
    dstr ch = dstr_from("__keyspace@0__:k"), msg = dstr_from("set");
    ck_assert_int_eq(pubsub_publish(&srv, ch, msg), 1);
    dstr_free(ch);
    dstr_free(msg);
    EXPECT(taken(c2), "*4\r\n$8\r\npmessage\r\n$16\r\n__keyspace@0__:*\r\n$16\r\n__keyspace@0__:k"
                      "\r\n$3\r\nset\r\n");
    ck_assert_uint_eq(dstr_len(enc.buf), 0);
}
END_TEST

START_TEST(closing_subscribers_leave_their_channels) {
    client *x = client_create(&srv, -1, CLIENT_FAKE);
    dstr_free(run(x, 3, "SUBSCRIBE", "a", "b"));
    dstr_free(run(x, 2, "PSUBSCRIBE", "p*"));
    dstr_free(run(x, 2, "SSUBSCRIBE", "s"));
    dstr_free(run(c2, 2, "SUBSCRIBE", "a"));
    ck_assert_int_eq(pubsub_server_count(&srv, PUBSUB_CHANNEL), 2);
    ck_assert_int_eq(pubsub_client_count(x, PUBSUB_CHANNEL), 2);
    ck_assert(x->flags & CLIENT_PUBSUB);
    client_free(x);
    ck_assert_int_eq(pubsub_server_count(&srv, PUBSUB_CHANNEL), 1);
    ck_assert_int_eq(pubsub_server_count(&srv, PUBSUB_PATTERN), 0);
    ck_assert_int_eq(pubsub_server_count(&srv, PUBSUB_SHARD), 0);
    EXPECT(run(pub, 3, "PUBLISH", "a", "m"), ":1\r\n");
    EXPECT(taken(c2), "*3\r\n$7\r\nmessage\r\n$1\r\na\r\n$1\r\nm\r\n");
    EXPECT(run(c2, 1, "RESET"), "+RESET\r\n");
    ck_assert(!(c2->flags & CLIENT_PUBSUB));
    ck_assert_int_eq(pubsub_server_count(&srv, PUBSUB_CHANNEL), 0);
}
END_TEST

int main(void) {
    Suite *s = suite_create("pubsub");
    TCase *tc = tcase_create("pubsub");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, resp3_confirmations_and_messages_are_push_data);
    tcase_add_test(tc, resp3_subscribers_run_any_command);
    tcase_add_test(tc, publish_is_propagated_the_hook_is_not);
    tcase_add_test(tc, closing_subscribers_leave_their_channels);
    suite_add_tcase(s, tc);
    return test_run_suite(s);
}
