/* Unit tests for the FUNCTION store: the shebang parser, the
 * register_function scan (what it finds and what it cannot), the store's
 * checks, and FUNCTION DUMP payloads: round trip and every malformed
 * payload (truncated, bad CRC, wrong type, random bytes) refused cleanly. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/crc64.h"
#include "core/functions.h"
#include "core/mem.h"

static fn_lib *parse(const char *code, int flags, char *err) {
    return fn_lib_parse(code, strlen(code), NULL, flags, err, 256);
}

START_TEST(test_shebang_errors_in_redis_order) {
    char err[256];
    static const struct {
        const char *code, *want;
    } cases[] = {
        {"return 1", "Missing library metadata"},
        {"#!lua name=x", "Invalid library metadata"},
        {"#!lua\nx", "Library name was not given"},
        {"#!lua name=x foo=1\n", "Invalid metadata value given: foo=1"},
        {"#!lua name=x NAME=y\n", "Invalid metadata value, name argument was given multiple times"},
        {"#!js name=a-b\n", "Library names can only contain letters, numbers, or underscores(_) "
                            "and must be at least one character long"},
        {"#!js name=ab\n", "Engine 'js' not found"},
        {"#! lua name=ab\n", "Invalid metadata value given: lua"},
        {"#!lua name=\"unclosed\n", "Invalid library metadata"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        err[0] = '\0';
        ck_assert_ptr_null(parse(cases[i].code, 0, err));
        ck_assert_str_eq(err, cases[i].want);
    }
}
END_TEST

START_TEST(test_scan_finds_both_call_forms) {
    char err[256];
    fn_lib *lib = parse("#!LUA name=lib_1\n"
                        "redis.register_function('a', function() return 1 end)\n"
                        "redis.register_function ( \"b\\\"q\" , f)\n"
                        "redis.register_function{callback=function(k) return {1,2} end,\n"
                        "  description='d, {x}', flags={'allow-oom', \"no-writes\"},\n"
                        "  function_name='c'}\n"
                        "redis.register_function(name_from_a_variable, f)\n"
                        "-- redis.register_function('in_a_comment', f)\n"
                        "--[==[ redis.register_function('in_a_block', f) ]==]\n"
                        "local s = [[ redis.register_function('in_a_string', f) ]]\n"
                        "local t = \"redis.register_function('quoted', f)\"\n"
                        "my_register_function('not_redis', f)\n",
                        0, err);
    ck_assert_ptr_nonnull(lib);
    ck_assert_str_eq(lib->name, "lib_1");
    ck_assert_int_eq(lib->nfuncs, 3);
    ck_assert_str_eq(lib->funcs[0].name, "a");
    ck_assert_ptr_null(lib->funcs[0].desc);
    ck_assert_str_eq(lib->funcs[1].name, "b\"q");
    ck_assert_str_eq(lib->funcs[2].name, "c");
    ck_assert_str_eq(lib->funcs[2].desc, "d, {x}");
    ck_assert_uint_eq(lib->funcs[2].flags, FN_FLAG_ALLOW_OOM | FN_FLAG_NO_WRITES);
    fn_lib_free(lib);
}
END_TEST

START_TEST(test_strict_checks_only_for_clients) {
    char err[256];
    const char *bad_name = "#!lua name=l\nredis.register_function('a-b', f)\n";
    const char *bad_flag = "#!lua name=l\nredis.register_function{function_name='a', flags={'x'}}";
    const char *dup = "#!lua name=l\nredis.register_function('a', "
                      "f)\nredis.register_function('a', f)";
    const char *none = "#!lua name=l\nlocal x = 1\n";
    ck_assert_ptr_null(parse(bad_name, FN_STRICT, err));
    ck_assert_ptr_null(parse(bad_flag, FN_STRICT, err));
    ck_assert_str_eq(err, "Error registering functions: ERR unknown flag given");
    ck_assert_ptr_null(parse(dup, FN_STRICT, err));
    ck_assert_str_eq(err, "Error registering functions: ERR Function already "
                          "exists in the library");
    ck_assert_ptr_null(parse(none, FN_STRICT, err));
    ck_assert_str_eq(err, "No functions registered");
    /* A master or an RDB file already accepted these: stored as they are. */
    const char *all[] = {bad_name, bad_flag, dup, none};
    for (int i = 0; i < 4; i++) {
        fn_lib *lib = parse(all[i], 0, err);
        ck_assert_ptr_nonnull(lib);
        fn_lib_free(lib);
    }
}
END_TEST

START_TEST(test_store_add_replace_delete) {
    char err[256];
    fn_store *fs = fn_store_new();
    const char *names[] = {"m", "c", "x", "a"};
    for (int i = 0; i < 4; i++) {
        char code[128];
        snprintf(code, sizeof(code), "#!lua name=%s\nredis.register_function('f%s', f)", names[i],
                 names[i]);
        fn_lib *lib = fn_lib_parse(code, strlen(code), fs, FN_STRICT, err, sizeof(err));
        ck_assert_ptr_nonnull(lib);
        ck_assert_int_eq(fn_store_add(fs, lib, FN_STRICT, err, sizeof(err)), 0);
    }
    ck_assert_int_eq(fs->n, 4);
    ck_assert_str_eq(fs->libs[0]->name, "a");
    ck_assert_str_eq(fs->libs[3]->name, "x");
    const char *again = "#!lua name=c\nredis.register_function('fz', f)";
    ck_assert_ptr_null(fn_lib_parse(again, strlen(again), fs, FN_STRICT, err, sizeof(err)));
    ck_assert_str_eq(err, "Library 'c' already exists");
    const char *clash = "#!lua name=z\nredis.register_function('fm', f)";
    fn_lib *lib = fn_lib_parse(clash, strlen(clash), fs, FN_STRICT, err, sizeof(err));
    ck_assert_ptr_nonnull(lib);
    ck_assert_int_eq(fn_store_add(fs, lib, FN_STRICT, err, sizeof(err)), -1);
    ck_assert_str_eq(err, "Function fm already exists");
    fn_lib_free(lib);
    lib = fn_lib_parse(again, strlen(again), fs, FN_STRICT | FN_REPLACE, err, sizeof(err));
    ck_assert_int_eq(fn_store_add(fs, lib, FN_STRICT | FN_REPLACE, err, sizeof(err)), 0);
    ck_assert(fn_store_has_function(fs, "fz", 2));
    ck_assert(!fn_store_has_function(fs, "fc", 2));
    ck_assert_int_eq(fn_store_delete(fs, "m", 1), 0);
    ck_assert_int_eq(fn_store_delete(fs, "m", 1), -1);
    ck_assert_int_eq(fs->n, 3);
    ck_assert_int_eq(fs->nfuncs, 3);
    fn_store_free(fs);
}
END_TEST

static fn_store *store_of(int nlibs) {
    char err[256];
    fn_store *fs = fn_store_new();
    for (int i = 0; i < nlibs; i++) {
        char code[256];
        snprintf(code, sizeof(code),
                 "#!lua name=lib%d\nredis.register_function('fn%d', function() return "
                 "%d end) "
                 "-- padding so that LZF has something to do, padding padding padding",
                 i, i, i);
        fn_lib *lib = fn_lib_parse(code, strlen(code), fs, FN_STRICT, err, sizeof(err));
        ck_assert_ptr_nonnull(lib);
        ck_assert_int_eq(fn_store_add(fs, lib, FN_STRICT, err, sizeof(err)), 0);
    }
    return fs;
}

START_TEST(test_dump_round_trip) {
    for (int compress = 0; compress <= 1; compress++) {
        fn_store *fs = store_of(5);
        dstr p = fn_dump_payload(fs, compress);
        char err[256];
        fn_store *back =
            fn_restore_payload((unsigned char *)p, dstr_len(p), FN_STRICT, err, sizeof(err));
        ck_assert_ptr_nonnull(back);
        ck_assert_int_eq(back->n, 5);
        for (int i = 0; i < 5; i++) ck_assert_str_eq(back->libs[i]->code, fs->libs[i]->code);
        fn_store_free(back);
        dstr_free(p);
        fn_store_free(fs);
    }
}
END_TEST

/* Re-seal a payload body with a valid version and CRC. */
static dstr seal(const unsigned char *body, size_t len) {
    dstr p = dstr_new(body, len);
    unsigned char f[8] = {10, 0};
    p = dstr_cat(p, f, 2);
    uint64_t crc = crc64(0, (unsigned char *)p, dstr_len(p));
    for (int i = 0; i < 8; i++) f[i] = (unsigned char)(crc >> (8 * i));
    return dstr_cat(p, f, 8);
}

START_TEST(test_malformed_payloads_are_refused) {
    char err[256];
    fn_store *fs = store_of(2);
    dstr good = fn_dump_payload(fs, 1);
    size_t body = dstr_len(good) - 10;
    /* every truncation of the body, re-sealed: refused or a valid prefix */
    for (size_t cut = 0; cut < body; cut++) {
        dstr p = seal((unsigned char *)good, cut);
        fn_store *r =
            fn_restore_payload((unsigned char *)p, dstr_len(p), FN_STRICT, err, sizeof(err));
        fn_store_free(r);
        dstr_free(p);
    }
    /* truncated without re-sealing, a flipped CRC bit, a newer version */
    for (size_t cut = 0; cut < dstr_len(good); cut++)
        ck_assert_ptr_null(fn_restore_payload((unsigned char *)good, cut, 0, err, sizeof(err)));
    dstr p = dstr_dup(good);
    p[dstr_len(p) - 1] ^= 1;
    ck_assert_ptr_null(fn_restore_payload((unsigned char *)p, dstr_len(p), 0, err, sizeof(err)));
    ck_assert_str_eq(err, "DUMP payload version or checksum are wrong");
    dstr_free(p);
    static const unsigned char not_fn[] = {0x00, 0x01, 'a'};
    p = seal(not_fn, sizeof(not_fn));
    ck_assert_ptr_null(fn_restore_payload((unsigned char *)p, dstr_len(p), 0, err, sizeof(err)));
    ck_assert_str_eq(err, "given type is not a function");
    dstr_free(p);
    /* random bodies behind an F5 opcode */
    srand(16);
    for (int round = 0; round < 2000; round++) {
        unsigned char b[64];
        size_t n = 1 + (size_t)(rand() % 63);
        b[0] = 0xF5;
        for (size_t i = 1; i < n; i++) b[i] = (unsigned char)rand();
        p = seal(b, n);
        fn_store_free(fn_restore_payload((unsigned char *)p, dstr_len(p), 0, err, sizeof(err)));
        dstr_free(p);
    }
    dstr_free(good);
    fn_store_free(fs);
}
END_TEST

static Suite *functions_suite(void) {
    Suite *s = suite_create("functions");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_shebang_errors_in_redis_order);
    tcase_add_test(tc, test_scan_finds_both_call_forms);
    tcase_add_test(tc, test_strict_checks_only_for_clients);
    tcase_add_test(tc, test_store_add_replace_delete);
    tcase_add_test(tc, test_dump_round_trip);
    tcase_add_test(tc, test_malformed_payloads_are_refused);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) {
    SRunner *sr = srunner_create(functions_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
