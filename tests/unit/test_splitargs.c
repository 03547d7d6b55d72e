/* Unit tests for split_args(): Redis sdssplitargs() semantics, the quirks
 * included, plus the binary safety that a length-based line gives. */
#include <check.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "core/dstr.h"
#include "core/mem.h"
#include "core/splitargs.h"

/* Split `line` (length `len`) and check the result against `want`, given as
 * `nwant` (pointer, length) pairs. */
static void expect_split_n(const char *line, size_t len, int nwant, ...) {
    int argc = -1;
    dstr *argv = split_args(line, len, &argc);
    ck_assert_msg(argv != NULL, "split of [%.*s] failed", (int)len, line);
    ck_assert_int_eq(argc, nwant);
    va_list ap;
    va_start(ap, nwant);
    for (int j = 0; j < nwant; j++) {
        const char *w = va_arg(ap, const char *);
        size_t wl = va_arg(ap, size_t);
        ck_assert_msg(dstr_len(argv[j]) == wl && memcmp(argv[j], w, wl) == 0,
                      "arg %d of [%.*s]: got [%s] want [%.*s]", j, (int)len, line, argv[j], (int)wl,
                      w);
        ck_assert_int_eq(argv[j][wl], '\0');
    }
    va_end(ap);
    split_args_free(argv, argc);
}

#define S(lit) (lit), (sizeof(lit) - 1)
#define EXPECT(line, n, ...) expect_split_n(S(line), n, ##__VA_ARGS__)

static void expect_invalid(const char *line, size_t len) {
    int argc = 42;
    dstr *argv = split_args(line, len, &argc);
    ck_assert_msg(argv == NULL, "split of [%.*s] should fail", (int)len, line);
    ck_assert_int_eq(argc, 0);
}
#define INVALID(line) expect_invalid(S(line))

START_TEST(test_plain_words) {
    EXPECT("set key value", 3, S("set"), S("key"), S("value"));
    EXPECT("  \t set\tkey   value \r\n", 3, S("set"), S("key"), S("value"));
    EXPECT("one", 1, S("one"));
    EXPECT("a\nb\rc", 3, S("a"), S("b"), S("c"));
}
END_TEST

START_TEST(test_blank_lines_give_empty_nonnull_array) {
    int argc = -1;
    dstr *argv = split_args("", 0, &argc);
    ck_assert_ptr_nonnull(argv);
    ck_assert_int_eq(argc, 0);
    split_args_free(argv, argc);

    argv = split_args(" \t\r\n\v\f ", 7, &argc);
    ck_assert_ptr_nonnull(argv);
    ck_assert_int_eq(argc, 0);
    split_args_free(argv, argc);
}
END_TEST

/* \v and \f are skipped between arguments but kept inside unquoted ones:
 * Redis uses isspace() for the first and a fixed list for the second. */
START_TEST(test_vertical_tab_quirk) {
    EXPECT("\va \fb", 2, S("a"), S("b"));
    EXPECT("a\vb", 1, S("a\vb"));
    EXPECT("a\fb c", 2, S("a\fb"), S("c"));
}
END_TEST

START_TEST(test_double_quote_escapes) {
    EXPECT("\"a\\nb\\rc\\td\\be\\af\\\\g\\\"h\"", 1, S("a\nb\rc\td\be\af\\g\"h"));
    EXPECT("\"\\x41\\x6a\\x7A\\x00z\"", 1, S("Aj\x7a\0z"));
    /* Unknown escapes give the character itself. */
    EXPECT("\"\\q\\'\\ \"", 1, S("q' "));
    /* \x needs two hex digits, otherwise it is just 'x'. */
    EXPECT("\"\\xZZ\"", 1, S("xZZ"));
    EXPECT("\"\\x4\"", 1, S("x4"));
    EXPECT("\"\\x4g\"", 1, S("x4g"));
    EXPECT("\"\\xff\"", 1, S("\xff"));
    EXPECT("\"hello world\" x", 2, S("hello world"), S("x"));
    EXPECT("\"'\"", 1, S("'"));
}
END_TEST

START_TEST(test_single_quotes) {
    EXPECT("'a\\'b'", 1, S("a'b"));
    /* Only \' is an escape inside single quotes. */
    EXPECT("'a\\nb\\\\x'", 1, S("a\\nb\\\\x"));
    /* ...so a backslash right before the closing quote escapes it. */
    INVALID("'a\\\\'");
    EXPECT("'hello \"world\"' x", 2, S("hello \"world\""), S("x"));
    EXPECT("'\\x41'", 1, S("\\x41"));
}
END_TEST

START_TEST(test_empty_quoted_arguments) {
    EXPECT("\"\"", 1, S(""));
    EXPECT("''", 1, S(""));
    EXPECT("set k \"\"", 3, S("set"), S("k"), S(""));
    EXPECT("\"\" ''\t\"\"", 3, S(""), S(""), S(""));
}
END_TEST

/* A quote inside an unquoted word opens a quoted section of the same word. */
START_TEST(test_quote_inside_word) {
    EXPECT("foo\"bar baz\" x", 2, S("foobar baz"), S("x"));
    EXPECT("a'b c'", 1, S("ab c"));
    EXPECT("a\"\"", 1, S("a"));
}
END_TEST

START_TEST(test_closing_quote_must_end_word) {
    INVALID("\"a\"b");
    INVALID("'a'b");
    INVALID("x \"a\"\"b\"");
    /* Any blank may follow, \v included (isspace). */
    EXPECT("\"a\"\tb", 2, S("a"), S("b"));
    EXPECT("\"a\"\vb", 2, S("a"), S("b"));
    EXPECT("'a'\nb", 2, S("a"), S("b"));
}
END_TEST

START_TEST(test_unbalanced_quotes) {
    INVALID("\"abc");
    INVALID("'abc");
    INVALID("set \"abc");
    INVALID("\"abc\\\""); /* the quote is escaped */
    INVALID("'abc\\'");   /* likewise */
    INVALID("\"abc\\");   /* backslash at the very end */
    INVALID("\"");
    INVALID("'");
    INVALID("a \"b\" 'c");
}
END_TEST

START_TEST(test_binary_safe) {
    EXPECT("a\0b c", 2, S("a\0b"), S("c"));
    EXPECT("\"\0\" '\0'", 2, S("\0"), S("\0"));
    /* The length bounds the line: what follows is not read. */
    expect_split_n("ab cd", 4, 2, S("ab"), S("c"));
    expect_split_n("\"ab\"x", 4, 1, S("ab"));
    expect_invalid("\"ab\"", 3);
}
END_TEST

START_TEST(test_config_style_line) {
    EXPECT("save 900 1", 3, S("save"), S("900"), S("1"));
    EXPECT("requirepass \"p@ss word\\x21\"", 2, S("requirepass"), S("p@ss word!"));
    EXPECT("rename-command CONFIG \"\"", 3, S("rename-command"), S("CONFIG"), S(""));
}
END_TEST

START_TEST(test_many_arguments) {
    dstr line = dstr_empty();
    for (int j = 0; j < 5000; j++) line = dstr_catfmt(line, "%s%d", j ? " " : "", j);
    int argc;
    dstr *argv = split_args(line, dstr_len(line), &argc);
    ck_assert_ptr_nonnull(argv);
    ck_assert_int_eq(argc, 5000);
    for (int j = 0; j < argc; j++) ck_assert_int_eq(atoi(argv[j]), j);
    split_args_free(argv, argc);
    dstr_free(line);
}
END_TEST

/* Random lines over the bytes that matter: never crash, never report an
 * argument longer than the line, and a valid split of a line re-joined with
 * quoting splits back to the same arguments. */
START_TEST(test_random_lines) {
    static const char alphabet[] = "ab \t\r\n\v\"'\\x0fF9\0";
    unsigned long long seed = 0x5eed1234ULL;
    char line[64];
    for (int iter = 0; iter < 200000; iter++) {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        size_t len = (size_t)(seed % sizeof(line));
        unsigned long long r = seed;
        for (size_t i = 0; i < len; i++) {
            r = r * 6364136223846793005ULL + 1442695040888963407ULL;
            line[i] = alphabet[(r >> 33) % (sizeof(alphabet) - 1)];
        }
        int argc;
        dstr *argv = split_args(line, len, &argc);
        if (!argv) continue;
        dstr joined = dstr_empty();
        for (int j = 0; j < argc; j++) {
            if (dstr_len(argv[j]) > len) ck_abort_msg("argument longer than its line");
            joined = dstr_cats(joined, j ? " \"" : "\"");
            for (size_t i = 0; i < dstr_len(argv[j]); i++)
                joined = dstr_catfmt(joined, "\\x%02x", (unsigned char)argv[j][i]);
            joined = dstr_cats(joined, "\"");
        }
        int argc2;
        dstr *argv2 = split_args(joined, dstr_len(joined), &argc2);
        /* Check's assertions cost a system call each: test first. */
        if (!argv2 || argc2 != argc) ck_abort_msg("re-quoted line did not split back");
        for (int j = 0; j < argc; j++)
            if (dstr_cmp(argv[j], argv2[j]) != 0) ck_abort_msg("argument %d changed", j);
        split_args_free(argv2, argc2);
        split_args_free(argv, argc);
        dstr_free(joined);
    }
}
END_TEST

static Suite *splitargs_suite(void) {
    Suite *s = suite_create("splitargs");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_plain_words);
    tcase_add_test(tc, test_blank_lines_give_empty_nonnull_array);
    tcase_add_test(tc, test_vertical_tab_quirk);
    tcase_add_test(tc, test_double_quote_escapes);
    tcase_add_test(tc, test_single_quotes);
    tcase_add_test(tc, test_empty_quoted_arguments);
    tcase_add_test(tc, test_quote_inside_word);
    tcase_add_test(tc, test_closing_quote_must_end_word);
    tcase_add_test(tc, test_unbalanced_quotes);
    tcase_add_test(tc, test_binary_safe);
    tcase_add_test(tc, test_config_style_line);
    tcase_add_test(tc, test_many_arguments);
    tcase_add_test(tc, test_random_lines);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) {
    SRunner *sr = srunner_create(splitargs_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
