/* Unit tests of the key-spec walker (keyspec.c) on hand-made specs, each
 * kind of begin_search and find_keys and each way a spec fails to apply
 * (numkeys not a number, negative, too large; a range past argv; a missing
 * keyword), then on the parsed command metadata: every command and
 * subcommand has its meta, and the commands' own key parsers answer where
 * the specs cannot. */
#include <check.h>
#include <stdarg.h>
#include <string.h>

#include "core/command_meta.h"
#include "core/commands.h"
#include "core/config.h"
#include "core/server.h"
#include "test_support.h"

static dstr argv_buf[32];
static int argc_buf;

static const dstr *vargs(int argc, va_list ap) {
    for (int i = 0; i < argc_buf; i++) dstr_free(argv_buf[i]);
    for (int i = 0; i < argc; i++) argv_buf[i] = dstr_from(va_arg(ap, const char *));
    argc_buf = argc;
    return argv_buf;
}

/* argv from C strings, argv[0] the command name. */
static const dstr *args(int argc, ...) {
    va_list ap;
    va_start(ap, argc);
    const dstr *argv = vargs(argc, ap);
    va_end(ap);
    return argv;
}

static void free_args(void) {
    for (int i = 0; i < argc_buf; i++) dstr_free(argv_buf[i]);
    argc_buf = 0;
}

/* The positions found, as "1,3,5" ("-" for a failed walk). */
static const char *walk(const key_spec *specs, int nspecs, const dstr *argv, int argc) {
    static char out[128];
    keys_result r = {0};
    int n = keyspec_find_keys(specs, nspecs, argv, argc, &r);
    if (n < 0) {
        ck_assert_int_eq(r.n, 0);
        keys_result_free(&r);
        return "-";
    }
    out[0] = '\0';
    for (int i = 0; i < n; i++)
        snprintf(out + strlen(out), sizeof(out) - strlen(out), "%s%d", i ? "," : "", r.keys[i].pos);
    keys_result_free(&r);
    return out;
}

static const key_spec range_all = {.flags = KS_RW,
                                   .bs_type = KS_BS_INDEX,
                                   .bs_index = 1,
                                   .fk_type = KS_FK_RANGE,
                                   .fk = {-1, 1, 0}};
static const key_spec pairs = {.flags = KS_OW,
                               .bs_type = KS_BS_INDEX,
                               .bs_index = 1,
                               .fk_type = KS_FK_RANGE,
                               .fk = {-1, 2, 0}};
static const key_spec streams = {.flags = KS_RO,
                                 .bs_type = KS_BS_KEYWORD,
                                 .bs_keyword = "STREAMS",
                                 .bs_startfrom = 1,
                                 .fk_type = KS_FK_RANGE,
                                 .fk = {-1, 1, 2}};
static const key_spec numkeys[2] = {
    {.flags = KS_OW,
     .bs_type = KS_BS_INDEX,
     .bs_index = 1,
     .fk_type = KS_FK_RANGE,
     .fk = {0, 1, 0}},
    {.flags = KS_RO,
     .bs_type = KS_BS_INDEX,
     .bs_index = 2,
     .fk_type = KS_FK_KEYNUM,
     .fk = {0, 1, 1}},
};
static const key_spec keys_backwards = {.flags = KS_RW,
                                        .bs_type = KS_BS_KEYWORD,
                                        .bs_keyword = "KEYS",
                                        .bs_startfrom = -2,
                                        .fk_type = KS_FK_RANGE,
                                        .fk = {-1, 1, 0}};
static const key_spec unknown = {.flags = KS_RO, .bs_type = KS_BS_UNKNOWN};
static const key_spec not_key = {.flags = KS_NOT_KEY,
                                 .bs_type = KS_BS_INDEX,
                                 .bs_index = 1,
                                 .fk_type = KS_FK_RANGE,
                                 .fk = {0, 1, 0}};

START_TEST(test_ranges) {
    ck_assert_str_eq(walk(&range_all, 1, args(4, "del", "a", "b", "c"), 4), "1,2,3");
    ck_assert_str_eq(walk(&pairs, 1, args(5, "mset", "a", "1", "b", "2"), 5), "1,3");
    /* The range ends before it starts: the command's syntax error. */
    ck_assert_str_eq(walk(&range_all, 1, args(1, "del"), 1), "-");
    ck_assert_str_eq(walk(&not_key, 1, args(2, "spublish", "c"), 2), "");
    free_args();
}
END_TEST

START_TEST(test_keyword_and_limit) {
    /* Half of what follows STREAMS, rounded down. */
    ck_assert_str_eq(walk(&streams, 1, args(6, "xread", "STREAMS", "a", "b", "0", "0"), 6), "2,3");
    ck_assert_str_eq(walk(&streams, 1, args(5, "xread", "streams", "a", "b", "0"), 5), "2");
    ck_assert_str_eq(walk(&streams, 1, args(3, "xread", "STREAMS", "a"), 3), "-");
    /* No keyword: this spec has no keys, which is no failure. */
    ck_assert_str_eq(walk(&streams, 1, args(3, "xread", "COUNT", "1"), 3), "");
    /* Searched backwards from the second-to-last argument. */
    ck_assert_str_eq(
        walk(&keys_backwards, 1, args(7, "migrate", "h", "p", "", "0", "KEYS", "k1"), 7), "6");
    /* The search starts before a trailing KEYS: not found. */
    ck_assert_str_eq(walk(&keys_backwards, 1, args(6, "migrate", "h", "p", "", "0", "KEYS"), 6),
                     "");
    ck_assert_str_eq(
        walk(&keys_backwards, 1, args(8, "migrate", "h", "p", "", "0", "KEYS", "k1", "k2"), 8),
        "6,7");
    free_args();
}
END_TEST

START_TEST(test_keynum) {
    ck_assert_str_eq(walk(numkeys, 2, args(5, "zunionstore", "d", "2", "a", "b"), 5), "1,3,4");
    ck_assert_str_eq(walk(numkeys, 2, args(5, "zunionstore", "d", "3", "a", "b"), 5), "-");
    ck_assert_str_eq(walk(numkeys, 2, args(4, "zunionstore", "d", "0", "a"), 4), "-");
    ck_assert_str_eq(walk(numkeys, 2, args(4, "zunionstore", "d", "-1", "a"), 4), "-");
    ck_assert_str_eq(walk(numkeys, 2, args(4, "zunionstore", "d", "1x", "a"), 4), "-");
    ck_assert_str_eq(walk(numkeys, 2, args(4, "zunionstore", "d", "99999999999999", "a"), 4), "-");
    /* numkeys itself past argv */
    ck_assert_str_eq(walk(numkeys, 2, args(2, "zunionstore", "d"), 2), "-");
    ck_assert_str_eq(walk(&unknown, 1, args(2, "sort", "k"), 2), "-");
    free_args();
}
END_TEST

static server srv;

static void setup(void) {
    memset(&srv, 0, sizeof(srv));
    config_defaults(&srv.cfg);
    server_init(&srv);
}

static void teardown(void) { server_free(&srv); }

static const char *keys_of(int argc, ...) {
    static char out[128];
    va_list ap;
    va_start(ap, argc);
    vargs(argc, ap);
    va_end(ap);
    const command *cmd = command_find(&srv, argv_buf[0]);
    ck_assert_ptr_nonnull(cmd);
    keys_result r = {0};
    int n = keyspec_command_keys(cmd, argv_buf, argc, &r);
    out[0] = '\0';
    for (int i = 0; i < n; i++)
        snprintf(out + strlen(out), sizeof(out) - strlen(out), "%s%d:%x", i ? "," : "",
                 r.keys[i].pos, (unsigned)r.keys[i].flags);
    keys_result_free(&r);
    return out;
}

START_TEST(test_every_command_has_meta) {
    dict_iter it;
    dict_iter_init(srv.commands, &it);
    dict_entry *de;
    while ((de = dict_iter_next(&it))) {
        const command *cmd = de->v.val;
        ck_assert_msg(cmd->meta && cmd->meta->summary && cmd->meta->group, "%s", cmd->name);
        if (cmd->subcommands)
            for (const command *sub = cmd->subcommands; sub->name; sub++)
                ck_assert_msg(sub->meta && sub->meta->summary, "%s", sub->name);
    }
    dict_iter_done(&it);
}
END_TEST

START_TEST(test_command_parsers) {
    /* SORT's STORE spec is unknown: its own parser, the last STORE. */
    ck_assert_str_eq(keys_of(6, "sort", "k", "STORE", "a", "STORE", "b"), "1:11,5:24");
    ck_assert_str_eq(keys_of(4, "sort", "k", "BY", "store"), "1:11");
    /* SET's flags depend on GET. */
    ck_assert_str_eq(keys_of(3, "set", "k", "v"), "1:24");
    ck_assert_str_eq(keys_of(4, "set", "k", "v", "get"), "1:32");
    ck_assert_str_eq(keys_of(5, "bitfield", "k", "GET", "u8", "0"), "1:11");
    /* numkeys that is no number: atoi, and no flags. */
    ck_assert_str_eq(keys_of(6, "zunionstore", "d", "2x", "a", "b", "c"), "3:0,4:0,1:0");
    ck_assert_str_eq(keys_of(3, "fcall", "f", "0"), "");
    /* A trailing STORE is not searched (nor is it a key). */
    ck_assert_str_eq(keys_of(7, "georadius", "k", "0", "0", "1", "m", "STORE"), "1:11");
    ck_assert_str_eq(keys_of(8, "georadius", "k", "0", "0", "1", "m", "STORE", "d"), "1:11,7:24");
    free_args();
}
END_TEST

static Suite *keyspec_suite(void) {
    Suite *s = suite_create("keyspec");
    TCase *pure = tcase_create("walker");
    tcase_add_test(pure, test_ranges);
    tcase_add_test(pure, test_keyword_and_limit);
    tcase_add_test(pure, test_keynum);
    suite_add_tcase(s, pure);
    TCase *meta = tcase_create("commands");
    tcase_add_checked_fixture(meta, setup, teardown);
    tcase_add_test(meta, test_every_command_has_meta);
    tcase_add_test(meta, test_command_parsers);
    suite_add_tcase(s, meta);
    return s;
}

int main(void) { return test_run_suite(keyspec_suite()); }
