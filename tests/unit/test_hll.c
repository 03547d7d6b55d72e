/* Unit tests of the HyperLogLog value (core/hll.c): the hash and register
 * choice, the bytes of a new HLL, sparse updates against a dense model,
 * promotion on a value above 32 and at the size limit, corrupted sparse
 * data, and the estimator. Expected registers and estimates were read from
 * a real redis-server 7.0.15 (PFDEBUG DECODE, PFCOUNT). */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/dstr.h"
#include "core/hll.h"
#include "core/mem.h"

START_TEST(test_pattern_matches_redis) {
    /* PFADD x <element>; PFDEBUG DECODE x on Redis 7.0.15. */
    static const struct {
        const char *ele;
        long reg;
        int count;
    } cases[] = {{"hello", 9216, 1}, {"", 5938, 2}, {"abcdefghijk", 14121, 1},
                 {"a", 12711, 2}, {"b", 15780, 1}, {"c", 8436, 1}};
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        long reg;
        int count = hll_pattern(cases[i].ele, strlen(cases[i].ele), &reg);
        ck_assert_msg(reg == cases[i].reg && count == cases[i].count, "%s: %ld %d",
                      cases[i].ele, reg, count);
    }
}
END_TEST

START_TEST(test_new_hll_bytes) {
    dstr h = hll_new();
    static const char want[] = "HYLL\x01\0\0\0\0\0\0\0\0\0\0\0\x7f\xff";
    ck_assert_uint_eq(dstr_len(h), 18);
    ck_assert(memcmp(h, want, 18) == 0);
    ck_assert(hll_header_ok(h, dstr_len(h)));
    ck_assert(hll_cache_valid(h));
    ck_assert_uint_eq(hll_cache_get(h), 0);
    hll_cache_invalidate(h);
    ck_assert(!hll_cache_valid(h));
    ck_assert_uint_eq((unsigned char)h[15], 0x80);
    hll_cache_set(h, 0x0102030405060708ULL);
    ck_assert(hll_cache_valid(h));
    ck_assert_uint_eq(hll_cache_get(h), 0x0102030405060708ULL);
    ck_assert_uint_eq(hll_count(h, NULL), 0);
    ck_assert(!hll_header_ok("HYLL\x00", 5));
    ck_assert(!hll_header_ok("HYLL\x02\0\0\0\0\0\0\0\0\0\0\0\x7f\xff", 18));
    ck_assert(!hll_header_ok("HYLL\x00\0\0\0\0\0\0\0\0\0\0\0\x7f\xff", 18));
    dstr_free(h);
}
END_TEST

/* Random register updates in a sparse HLL (no size limit) and a dense one
 * read back the same, give the same estimate, and the sparse one turns
 * into exactly the dense bytes. */
START_TEST(test_sparse_matches_dense) {
    srand(42);
    for (int round = 0; round < 20; round++) {
        dstr sparse = hll_new(), dense = hll_new();
        ck_assert_int_eq(hll_to_dense(&dense), 0);
        int n = 1 + rand() % 3000;
        for (int i = 0; i < n; i++) {
            long reg = rand() % HLL_REGISTERS;
            uint8_t val = (uint8_t)(1 + rand() % 32);
            int a = hll_set(&sparse, reg, val, 1 << 30);
            int b = hll_set(&dense, reg, val, 1 << 30);
            ck_assert_int_eq(a, b);
        }
        ck_assert_int_eq(hll_encoding(sparse), HLL_SPARSE);
        ck_assert_uint_eq(hll_count(sparse, NULL), hll_count(dense, NULL));
        uint8_t *max = mem_calloc(HLL_REGISTERS);
        ck_assert_int_eq(hll_merge_into(max, sparse), 0);
        for (long j = 0; j < HLL_REGISTERS; j++)
            ck_assert_uint_eq(max[j], hll_dense_get((unsigned char *)dense + HLL_HDR_SIZE, j));
        ck_assert_uint_eq(hll_count_registers(max), hll_count(dense, NULL));
        mem_free(max);
        ck_assert_int_eq(hll_to_dense(&sparse), 0);
        sparse[15] = dense[15]; /* only the cache bit differs */
        ck_assert(memcmp(sparse, dense, HLL_DENSE_SIZE) == 0);
        dstr_free(sparse);
        dstr_free(dense);
    }
}
END_TEST

START_TEST(test_promotions) {
    dstr h = hll_new();
    ck_assert_int_eq(hll_set(&h, 100, 5, 3000), 1);
    ck_assert_int_eq(hll_set(&h, 100, 5, 3000), 0);
    ck_assert_int_eq(hll_encoding(h), HLL_SPARSE);
    /* A value above 32 has no sparse opcode. */
    ck_assert_int_eq(hll_set(&h, 200, 40, 3000), 1);
    ck_assert_int_eq(hll_encoding(h), HLL_DENSE);
    ck_assert_uint_eq(dstr_len(h), HLL_DENSE_SIZE);
    ck_assert_uint_eq(hll_dense_get((unsigned char *)h + HLL_HDR_SIZE, 200), 40);
    ck_assert_uint_eq(hll_dense_get((unsigned char *)h + HLL_HDR_SIZE, 100), 5);
    ck_assert_uint_eq(hll_dense_get((unsigned char *)h + HLL_HDR_SIZE, HLL_REGISTERS - 1), 0);
    dstr_free(h);
    /* The size limit: a split that would pass it promotes instead. */
    h = hll_new();
    ck_assert_int_eq(hll_set(&h, 1000, 3, 21), 1); /* 18 + 3 bytes: fits */
    ck_assert_int_eq(hll_encoding(h), HLL_SPARSE);
    ck_assert_uint_eq(dstr_len(h), 21);
    ck_assert_int_eq(hll_set(&h, 5000, 3, 21), 1);
    ck_assert_int_eq(hll_encoding(h), HLL_DENSE);
    dstr_free(h);
}
END_TEST

START_TEST(test_corrupted_sparse) {
    dstr h = hll_new();
    h[HLL_HDR_SIZE + 1] = (char)0xfe; /* 16383 registers */
    int invalid = 0;
    hll_count(h, &invalid);
    ck_assert_int_eq(invalid, 1);
    uint8_t *max = mem_calloc(HLL_REGISTERS);
    ck_assert_int_eq(hll_merge_into(max, h), -1);
    ck_assert_int_eq(hll_to_dense(&h), -1);
    ck_assert_int_eq(hll_set(&h, 16383, 1, 3000), -1);
    h = dstr_cat(h, "\x80\x80", 2); /* two registers too many */
    ck_assert_int_eq(hll_to_dense(&h), -1);
    ck_assert_int_eq(hll_encoding(h), HLL_SPARSE);
    mem_free(max);
    dstr_free(h);
}
END_TEST

/* PFADD u e0 ... e999 and then e0 ... e99999 (in two batches) on Redis
 * 7.0.15 answer PFCOUNT 1008 (sparse) and 100853 (dense). */
START_TEST(test_estimates_match_redis) {
    dstr h = hll_new();
    char ele[32];
    for (int i = 0; i < 1000; i++) {
        int n = snprintf(ele, sizeof(ele), "e%d", i);
        ck_assert_int_ge(hll_add(&h, ele, (size_t)n, 3000), 0);
    }
    ck_assert_int_eq(hll_encoding(h), HLL_SPARSE);
    ck_assert_uint_eq(hll_count(h, NULL), 1008);
    dstr_free(h);
    h = hll_new();
    for (int i = 0; i < 100000; i++) {
        int n = snprintf(ele, sizeof(ele), "e%d", i);
        ck_assert_int_ge(hll_add(&h, ele, (size_t)n, 3000), 0);
    }
    ck_assert_int_eq(hll_encoding(h), HLL_DENSE);
    ck_assert_uint_eq(hll_count(h, NULL), 100853);
    dstr_free(h);
}
END_TEST

static Suite *hll_suite(void) {
    Suite *s = suite_create("hll");
    TCase *tc = tcase_create("hll");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_pattern_matches_redis);
    tcase_add_test(tc, test_new_hll_bytes);
    tcase_add_test(tc, test_sparse_matches_dense);
    tcase_add_test(tc, test_promotions);
    tcase_add_test(tc, test_corrupted_sparse);
    tcase_add_test(tc, test_estimates_match_redis);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) {
    SRunner *sr = srunner_create(hll_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
