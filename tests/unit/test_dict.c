/* Unit tests for core/dict: lookups and updates at scale, correctness while
 * a rehash is half done, deletion under a safe iterator, the SCAN guarantee
 * across growth, shrink and rehash, sampling, and the SipHash core. */
#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/dict.h"
#include "core/dstr.h"
#include "core/mem.h"

/* Check's ck_assert_* record their location on every call, a write(2)
 * each, which dominates loops of millions of operations (worse under ASan).
 * These involve Check only when they fail. */
#define REQUIRE_MSG(cond, ...)                                                             \
    do {                                                                               \
        if (!(cond)) ck_abort_msg(__VA_ARGS__);                                        \
    } while (0)
#define REQUIRE(cond) REQUIRE_MSG(cond, "Assertion '%s' failed", #cond)
#define REQUIRE_CMP(a, op, b)                                                              \
    do {                                                                               \
        long long a_ = (long long)(a), b_ = (long long)(b);                            \
        REQUIRE_MSG(a_ op b_, "'%s %s %s' failed: %lld vs %lld", #a, #op, #b, a_, b_); \
    } while (0)
#define REQUIRE_EQ(a, b) REQUIRE_CMP(a, ==, b)
#define REQUIRE_NE(a, b) REQUIRE_CMP(a, !=, b)
#define REQUIRE_GT(a, b) REQUIRE_CMP(a, >, b)
#define REQUIRE_GE(a, b) REQUIRE_CMP(a, >=, b)
#define REQUIRE_LE(a, b) REQUIRE_CMP(a, <=, b)
#define REQUIRE_NULL(p) REQUIRE((p) == NULL)
#define REQUIRE_NONNULL(p) REQUIRE((p) != NULL)
#define REQUIRE_PTR_EQ(a, b) REQUIRE((const void *)(a) == (const void *)(b))
#define REQUIRE_STR_EQ(a, b) REQUIRE(strcmp((a), (b)) == 0)

/* ---- fixtures --------------------------------------------------------- */

static size_t keys_freed, vals_freed;

static void count_key_free(void *k) {
    keys_freed++;
    dstr_free(k);
}

static void count_val_free(void *v) {
    vals_freed++;
    dstr_free(v);
}

static const dict_type dstr_type = {dict_dstr_hash, dict_dstr_eq, count_key_free, count_val_free};

static dstr fmt_key(const char *prefix, long i) {
    return dstr_catfmt(dstr_empty(), "%s%ld", prefix, i);
}

static long key_index(const void *key) {
    return strtol((const char *)key + 4, NULL, 10); /* "key:<n>" */
}

static dict *dstr_dict_with(long n) {
    dict *d = dict_create(&dstr_type);
    for (long i = 0; i < n; i++)
        REQUIRE_EQ(dict_add(d, fmt_key("key:", i), fmt_key("val:", i)), 0);
    return d;
}

/* Check that key:i is present with value val:i. */
static void assert_present(dict *d, long i) {
    dstr k = fmt_key("key:", i);
    dict_entry *e = dict_find(d, k);
    REQUIRE_MSG(e != NULL, "key:%ld missing", i);
    REQUIRE(dict_dstr_eq(e->key, k));
    char want[32];
    snprintf(want, sizeof(want), "val:%ld", i);
    REQUIRE_EQ(dstr_len(e->v.val), strlen(want));
    REQUIRE_STR_EQ(e->v.val, want);
    dstr_free(k);
}

static void assert_absent(dict *d, const char *prefix, long i) {
    dstr k = fmt_key(prefix, i);
    REQUIRE_MSG(dict_find(d, k) == NULL, "%s%ld unexpectedly present", prefix, i);
    dstr_free(k);
}

/* Integer keys stored in the pointer itself (never 0): no allocation, so
 * the scan tests can churn hundreds of thousands of keys quickly. */
static uint64_t int_hash(const void *k) {
    uintptr_t v = (uintptr_t)k;
    return dict_hash_bytes(&v, sizeof(v));
}

static int int_eq(const void *a, const void *b) {
    return a == b;
}

static const dict_type int_type = {int_hash, int_eq, NULL, NULL};

#define IKEY(n) ((void *)(uintptr_t)(n))

/* Deliberately poor hash: long chains in every bucket. */
static uint64_t clumped_hash(const void *k) {
    return (uintptr_t)k % 3;
}

static const dict_type clumped_type = {clumped_hash, int_eq, NULL, NULL};

static uint64_t test_rng_state;

static uint64_t test_rand(void) {
    uint64_t x = test_rng_state;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return test_rng_state = x;
}

static void finish_rehash(dict *d) {
    while (dict_rehash_steps(d, 100)) {
    }
}

static int is_pow2(size_t n) {
    return n && (n & (n - 1)) == 0;
}

/* ---- basic operations ------------------------------------------------- */

START_TEST(test_add_find_delete_100k) {
    const long n = 100000;
    keys_freed = vals_freed = 0;
    dict *d = dstr_dict_with(n);
    REQUIRE_EQ(dict_size(d), n);
    for (long i = 0; i < n; i++) assert_present(d, i);
    for (long i = 0; i < 1000; i++) assert_absent(d, "nokey:", i);

    /* Duplicates are refused and leave ownership with the caller. */
    dstr dup = fmt_key("key:", 42);
    REQUIRE_EQ(dict_add(d, dup, NULL), -1);
    dict_entry *existing = NULL;
    REQUIRE_NULL(dict_add_raw(d, dup, &existing));
    REQUIRE_NONNULL(existing);
    REQUIRE_STR_EQ(existing->v.val, "val:42");
    dstr_free(dup);
    REQUIRE_EQ(keys_freed, 0);

    for (long i = 0; i < n; i += 2) {
        dstr k = fmt_key("key:", i);
        REQUIRE_EQ(dict_delete(d, k), 0);
        REQUIRE_EQ(dict_delete(d, k), -1);
        dstr_free(k);
    }
    REQUIRE_EQ(keys_freed, n / 2);
    REQUIRE_EQ(vals_freed, n / 2);
    REQUIRE_EQ(dict_size(d), n / 2);
    for (long i = 0; i < n; i++) {
        if (i % 2)
            assert_present(d, i);
        else
            assert_absent(d, "key:", i);
    }
    finish_rehash(d);
    REQUIRE(is_pow2(dict_buckets(d)));
    REQUIRE_GE(dict_buckets(d), n);
    dict_release(d);
    REQUIRE_EQ(keys_freed, n);
    REQUIRE_EQ(vals_freed, n);
}
END_TEST

START_TEST(test_add_raw_sets_value) {
    dict *d = dict_create(&int_type);
    dict_entry *e = dict_add_raw(d, IKEY(7), NULL);
    REQUIRE_NONNULL(e);
    REQUIRE_EQ(e->v.u64, 0);
    e->v.s64 = -12345;
    REQUIRE_EQ(dict_find(d, IKEY(7))->v.s64, -12345);
    REQUIRE_NULL(dict_add_raw(d, IKEY(7), NULL));
    dict_find(d, IKEY(7))->v.d = 2.5;
    REQUIRE(dict_find(d, IKEY(7))->v.d == 2.5);
    REQUIRE_NULL(dict_fetch_val(d, IKEY(8)));
    REQUIRE_EQ(dict_buckets(d), 4);
    dict_release(d);
}
END_TEST

START_TEST(test_long_chains) {
    dict *d = dict_create(&clumped_type);
    for (uintptr_t k = 1; k <= 3000; k++) REQUIRE_EQ(dict_add(d, IKEY(k), IKEY(k * 2)), 0);
    for (uintptr_t k = 1; k <= 3000; k++) REQUIRE_PTR_EQ(dict_fetch_val(d, IKEY(k)), IKEY(k * 2));
    for (uintptr_t k = 1; k <= 3000; k += 3) REQUIRE_EQ(dict_delete(d, IKEY(k)), 0);
    for (uintptr_t k = 1; k <= 3000; k++)
        REQUIRE_EQ(dict_find(d, IKEY(k)) != NULL, (k - 1) % 3 != 0);
    REQUIRE_EQ(dict_size(d), 2000);
    dict_release(d);
}
END_TEST

START_TEST(test_unlink_and_free) {
    keys_freed = vals_freed = 0;
    dict *d = dstr_dict_with(100);
    dstr k = fmt_key("key:", 17);
    dict_entry *e = dict_unlink(d, k);
    REQUIRE_NONNULL(e);
    REQUIRE_EQ(keys_freed, 0);
    REQUIRE_STR_EQ(e->v.val, "val:17"); /* still usable after unlinking */
    REQUIRE_NULL(dict_find(d, k));
    REQUIRE_NULL(dict_unlink(d, k));
    REQUIRE_EQ(dict_size(d), 99);
    dict_free_unlinked(d, e);
    REQUIRE_EQ(keys_freed, 1);
    REQUIRE_EQ(vals_freed, 1);
    dstr_free(k);
    dict_release(d);
}
END_TEST

START_TEST(test_empty) {
    keys_freed = vals_freed = 0;
    dict *d = dstr_dict_with(1000);
    REQUIRE_EQ(dict_expand(d, 8192), 0); /* leave a rehash half done */
    dict_rehash_steps(d, 10);
    REQUIRE(dict_is_rehashing(d));
    dict_empty(d);
    REQUIRE_EQ(keys_freed, 1000);
    REQUIRE_EQ(vals_freed, 1000);
    REQUIRE_EQ(dict_size(d), 0);
    REQUIRE_EQ(dict_buckets(d), 0);
    REQUIRE(!dict_is_rehashing(d));
    assert_absent(d, "key:", 5);
    REQUIRE_NULL(dict_random_entry(d));
    REQUIRE_EQ(dict_add(d, fmt_key("key:", 5), fmt_key("val:", 5)), 0);
    REQUIRE_EQ(dict_buckets(d), 4);
    assert_present(d, 5);
    dict_release(d);
    REQUIRE_EQ(keys_freed, 1001);
}
END_TEST

START_TEST(test_expand_errors) {
    dict *d = dict_create(&int_type);
    REQUIRE_EQ(dict_expand(d, 100), 0); /* pre-size an empty dict */
    REQUIRE_EQ(dict_buckets(d), 128);
    REQUIRE(!dict_is_rehashing(d));
    for (uintptr_t k = 1; k <= 100; k++) dict_add(d, IKEY(k), NULL);
    REQUIRE_EQ(dict_buckets(d), 128); /* no growth needed */
    REQUIRE_EQ(dict_expand(d, 50), -1);  /* below the entry count */
    REQUIRE_EQ(dict_expand(d, 128), -1); /* same size */
    REQUIRE_EQ(dict_expand(d, SIZE_MAX), -1);
    REQUIRE_EQ(dict_expand(d, 1000), 0);
    REQUIRE(dict_is_rehashing(d));
    REQUIRE_EQ(dict_expand(d, 4096), -1); /* one resize at a time */
    dict_release(d);
}
END_TEST

/* ---- rehashing -------------------------------------------------------- */

START_TEST(test_find_during_rehash) {
    const long n = 2000;
    dict *d = dstr_dict_with(n);
    finish_rehash(d);
    REQUIRE_EQ(dict_buckets(d), 2048);
    REQUIRE_EQ(dict_expand(d, 65536), 0);
    REQUIRE(dict_is_rehashing(d));
    REQUIRE_EQ(dict_buckets(d), 2048 + 65536);

    /* Every find moves one bucket; check each key and add/delete extras
     * until the rehash completes, then check everything again. */
    long finds_while_rehashing = 0, extra = 0;
    for (long i = 0; dict_is_rehashing(d); i = (i + 1) % n) {
        finds_while_rehashing++;
        assert_present(d, i);
        if (i % 8 == 0) {
            REQUIRE_EQ(dict_add(d, fmt_key("xtr:", extra), fmt_key("val:", extra)), 0);
            dstr k = fmt_key("xtr:", extra);
            REQUIRE_NONNULL(dict_find(d, k));
            dstr_free(k);
            if (extra % 2) {
                k = fmt_key("xtr:", extra - 1);
                REQUIRE_EQ(dict_delete(d, k), 0);
                dstr_free(k);
            }
            extra++;
        }
    }
    REQUIRE_GT(finds_while_rehashing, 100);
    REQUIRE_EQ(dict_buckets(d), 65536);
    for (long i = 0; i < n; i++) assert_present(d, i);
    for (long x = 0; x < extra; x++) {
        dstr k = fmt_key("xtr:", x);
        int want = (x % 2 == 1) || x == extra - 1;
        REQUIRE_EQ(dict_find(d, k) != NULL, want);
        dstr_free(k);
    }
    REQUIRE_EQ(dict_size(d), n + (size_t)(extra + 1) / 2);
    dict_release(d);
}
END_TEST

START_TEST(test_shrink) {
    keys_freed = vals_freed = 0;
    dict *d = dstr_dict_with(1000);
    finish_rehash(d);
    REQUIRE_EQ(dict_buckets(d), 1024);
    REQUIRE_EQ(dict_shrink_if_needed(d), 0); /* full enough */
    for (long i = 10; i < 1000; i++) {
        dstr k = fmt_key("key:", i);
        REQUIRE_EQ(dict_delete(d, k), 0);
        dstr_free(k);
    }
    REQUIRE_EQ(dict_buckets(d), 1024); /* deletes never shrink */

    dict_resize_enabled(0);
    REQUIRE_EQ(dict_shrink_if_needed(d), 0);
    dict_resize_enabled(1);
    REQUIRE_EQ(dict_shrink_if_needed(d), 1);
    REQUIRE(dict_is_rehashing(d));
    for (long i = 0; i < 10; i++) assert_present(d, i); /* mid-shrink */
    dict_rehash_ms(d, 1000);
    REQUIRE(!dict_is_rehashing(d));
    REQUIRE_EQ(dict_buckets(d), 16);
    for (long i = 0; i < 10; i++) assert_present(d, i);
    REQUIRE_EQ(dict_shrink_if_needed(d), 0);

    /* An empty dict shrinks to the minimum size, not to nothing. */
    for (long i = 0; i < 10; i++) {
        dstr k = fmt_key("key:", i);
        dict_delete(d, k);
        dstr_free(k);
    }
    REQUIRE_EQ(dict_shrink_if_needed(d), 1);
    finish_rehash(d);
    REQUIRE_EQ(dict_buckets(d), 4);
    REQUIRE_EQ(dict_shrink_if_needed(d), 0);
    dict_release(d);
    REQUIRE_EQ(keys_freed, 1000);
}
END_TEST

START_TEST(test_growth_policy) {
    dict *d = dict_create(&int_type);
    /* Load factor 1: the add that finds size == buckets doubles the table. */
    for (uintptr_t k = 1; k <= 4; k++) dict_add(d, IKEY(k), NULL);
    REQUIRE_EQ(dict_buckets(d), 4);
    dict_add(d, IKEY(5), NULL);
    finish_rehash(d);
    REQUIRE_EQ(dict_buckets(d), 8);

    /* With resizing disabled, grow only past 5 entries per bucket. */
    dict_resize_enabled(0);
    uintptr_t k = 6;
    for (; dict_size(d) < 48; k++) dict_add(d, IKEY(k), NULL);
    REQUIRE_EQ(dict_buckets(d), 8);
    REQUIRE(!dict_is_rehashing(d));
    dict_add(d, IKEY(k++), NULL); /* 48 / 8 = 6 > 5 */
    REQUIRE(dict_is_rehashing(d));
    finish_rehash(d);
    REQUIRE_EQ(dict_buckets(d), 128);
    dict_resize_enabled(1);
    for (uintptr_t j = 1; j < k; j++) REQUIRE_NONNULL(dict_find(d, IKEY(j)));
    dict_release(d);
}
END_TEST

START_TEST(test_rehash_ms) {
    dict *d = dict_create(&int_type);
    for (uintptr_t k = 1; k <= 20000; k++) dict_add(d, IKEY(k), NULL);
    finish_rehash(d);
    REQUIRE_EQ(dict_rehash_ms(d, 10), 0); /* nothing to do */
    REQUIRE_EQ(dict_expand(d, 1 << 20), 0);
    int moved = 0;
    while (dict_is_rehashing(d)) moved += dict_rehash_ms(d, 1);
    REQUIRE_GT(moved, 0);
    REQUIRE_LE(moved, 32768);
    for (uintptr_t k = 1; k <= 20000; k++) REQUIRE_NONNULL(dict_find(d, IKEY(k)));
    dict_release(d);
}
END_TEST

/* ---- iteration -------------------------------------------------------- */

START_TEST(test_delete_during_safe_iteration) {
    const long n = 10000;
    keys_freed = vals_freed = 0;
    dict *d = dstr_dict_with(n);
    finish_rehash(d);
    REQUIRE_EQ(dict_expand(d, 65536), 0);
    dict_rehash_steps(d, 500); /* half-moved: entries in both tables */
    REQUIRE(dict_is_rehashing(d));

    unsigned char *seen = calloc((size_t)n, 1);
    dict_iter it;
    dict_iter_init(d, &it);
    dict_entry *e;
    long visited = 0;
    while ((e = dict_iter_next(&it)) != NULL) {
        long i = key_index(e->key);
        REQUIRE(i >= 0 && i < n);
        REQUIRE_MSG(!seen[i], "key:%ld returned twice", i);
        /* Lookups must not move chains under the iterator. Keys already
         * visited are gone unless kept (i % 3 == 2). */
        long j = (i * 7919) % n;
        if (seen[j] && j % 3 != 2)
            assert_absent(d, "key:", j);
        else
            assert_present(d, j);
        seen[i] = 1;
        visited++;
        if (i % 3 == 0) {
            REQUIRE_EQ(dict_delete(d, e->key), 0);
        } else if (i % 3 == 1) {
            dict_entry *u = dict_unlink(d, e->key);
            REQUIRE_PTR_EQ(u, e);
            dict_free_unlinked(d, u);
        }
    }
    REQUIRE_NULL(dict_iter_next(&it)); /* stays finished */
    /* 10000 lookups would have completed the rehash had it not paused. */
    REQUIRE(dict_is_rehashing(d));
    REQUIRE_EQ(dict_rehash_steps(d, 100000), 1);
    dict_iter_done(&it);

    REQUIRE_EQ(visited, n);
    size_t kept = 0;
    for (long i = 0; i < n; i++) kept += i % 3 == 2;
    REQUIRE_EQ(keys_freed, (size_t)n - kept);
    for (long i = 0; i < n; i++) {
        if (i % 3 == 2)
            assert_present(d, i);
        else
            assert_absent(d, "key:", i);
    }
    REQUIRE_EQ(dict_rehash_steps(d, 100000), 0); /* resumes after done */
    free(seen);
    dict_release(d);
}
END_TEST

START_TEST(test_iterate_empty_and_small) {
    dict *d = dict_create(&int_type);
    dict_iter it;
    dict_iter_init(d, &it);
    REQUIRE_NULL(dict_iter_next(&it));
    dict_iter_done(&it);
    dict_add(d, IKEY(1), NULL);
    dict_add(d, IKEY(2), NULL);
    int count = 0;
    dict_iter_init(d, &it);
    while (dict_iter_next(&it)) count++;
    dict_iter_done(&it);
    REQUIRE_EQ(count, 2);
    dict_release(d);
}
END_TEST

/* ---- scan ------------------------------------------------------------- */

struct scan_log {
    unsigned *seen; /* per stable key */
    uintptr_t stable;
    uintptr_t temp_base;
};

static void record(void *priv, const dict_entry *e) {
    struct scan_log *log = priv;
    uintptr_t k = (uintptr_t)e->key;
    if (k <= log->stable)
        log->seen[k]++;
    else
        REQUIRE_GE(k, log->temp_base);
}

/* Scan a dict holding `stable` keys while churning temporary keys between
 * calls: bursts of adds (growth, rehash left half done), bursts of deletes
 * with shrinks, and random extra rehash steps. Each stable key must be
 * reported. Returns a bitmask of the situations the scan went through. */
static unsigned churned_scan(uintptr_t stable, uint64_t seed, unsigned add_burst) {
    test_rng_state = seed;
    dict *d = dict_create(&int_type);
    struct scan_log log = {calloc(stable + 1, sizeof(unsigned)), stable, 1u << 30};
    for (uintptr_t k = 1; k <= stable; k++) dict_add(d, IKEY(k), NULL);

    size_t temp_cap = 1u << 20, temp_n = 0;
    uintptr_t *temps = malloc(temp_cap * sizeof(*temps));
    uintptr_t next_temp = log.temp_base;
    unsigned situations = 0;
    unsigned long cursor = 0;
    unsigned calls = 0;
    do {
        size_t before = dict_buckets(d);
        if (dict_is_rehashing(d)) situations |= 1;
        cursor = dict_scan(d, cursor, record, &log);
        calls++;
        int growing = (calls / 16) % 2 == 0;
        if (growing) {
            unsigned adds = (unsigned)(test_rand() % (add_burst + 1));
            for (unsigned j = 0; j < adds && temp_n < temp_cap; j++) {
                temps[temp_n++] = next_temp;
                REQUIRE_EQ(dict_add(d, IKEY(next_temp), NULL), 0);
                next_temp++;
            }
        } else {
            unsigned dels = (unsigned)(test_rand() % (2 * add_burst + 2));
            for (unsigned j = 0; j < dels && temp_n > 0; j++) {
                size_t pick = test_rand() % temp_n;
                REQUIRE_EQ(dict_delete(d, IKEY(temps[pick])), 0);
                temps[pick] = temps[--temp_n];
            }
            if (dict_shrink_if_needed(d)) situations |= 2;
        }
        dict_rehash_steps(d, (int)(test_rand() % 4));
        if (dict_buckets(d) > before) situations |= 4;
        if (dict_buckets(d) < before) situations |= 8;
    } while (cursor != 0);

    for (uintptr_t k = 1; k <= stable; k++)
        REQUIRE_MSG(log.seen[k] > 0, "stable key %lu missed (seed %llu)", (unsigned long)k,
                      (unsigned long long)seed);
    free(log.seen);
    free(temps);
    dict_release(d);
    return situations;
}

START_TEST(test_scan_guarantee_under_churn) {
    unsigned all = 0;
    /* One large scan (thousands of calls), then many small ones: the
     * small tables cross 4-8-16 boundaries often, and many seeds vary the
     * points where growth and shrink land. With REQUIRE instead of ck_assert
     * in the loops this takes well under a second even under ASan. */
    all |= churned_scan(1000, 0x9e3779b97f4a7c15ULL, 400);
    for (uint64_t seed = 1; seed <= 30; seed++) {
        all |= churned_scan(300, seed * 0x9e3779b97f4a7c15ULL, 150);
        all |= churned_scan(40, seed * 0x2545f4914f6cdd1dULL, 30);
    }
    /* The test is only meaningful if it hit every situation. */
    REQUIRE_EQ(all, 15);
}
END_TEST

START_TEST(test_scan_tiny_table_grows) {
    /* Three keys in a 4-bucket table, which a scan covers in 4 calls; the
     * table grows (and later shrinks back) after the first, second or third
     * of them. */
    for (unsigned first_calls = 0; first_calls <= 2; first_calls++) {
        for (unsigned growth = 1; growth <= 64; growth *= 2) {
            for (unsigned steps = 0; steps <= 2; steps++) {
                dict *d = dict_create(&int_type);
                for (uintptr_t k = 1; k <= 3; k++) dict_add(d, IKEY(k), NULL);
                REQUIRE_EQ(dict_buckets(d), 4);
                unsigned seen[4] = {0};
                struct scan_log log = {seen, 3, 100};
                unsigned long cursor = 0;
                unsigned calls = 0, saw_rehash = 0;
                uintptr_t next = 100;
                do {
                    cursor = dict_scan(d, cursor, record, &log);
                    calls++;
                    if (calls == first_calls + 1) {
                        for (unsigned j = 0; j < growth + 1; j++) dict_add(d, IKEY(next++), NULL);
                    } else if (calls == first_calls + 3) {
                        while (next > 100) dict_delete(d, IKEY(--next));
                        dict_shrink_if_needed(d);
                    }
                    saw_rehash |= dict_is_rehashing(d);
                    dict_rehash_steps(d, (int)steps);
                } while (cursor != 0);
                for (int k = 1; k <= 3; k++)
                    REQUIRE_MSG(seen[k] > 0, "key %d missed (first=%u growth=%u)", k,
                                  first_calls, growth);
                if (growth == 1 && steps == 0) REQUIRE(saw_rehash);
                dict_release(d);
            }
        }
    }
}
END_TEST

static void count_visit(void *priv, const dict_entry *e) {
    (void)e;
    (*(size_t *)priv)++;
}

START_TEST(test_scan_stable_table_exact) {
    dict *d = dict_create(&int_type);
    REQUIRE_EQ(dict_scan(d, 0, count_visit, NULL), 0);
    for (uintptr_t k = 1; k <= 5000; k++) dict_add(d, IKEY(k), NULL);
    finish_rehash(d);
    size_t visits = 0, calls = 0;
    unsigned long cursor = 0;
    do {
        cursor = dict_scan(d, cursor, count_visit, &visits);
        calls++;
    } while (cursor);
    REQUIRE_EQ(visits, 5000); /* no repeats without a resize */
    REQUIRE_EQ(calls, dict_buckets(d));
    dict_release(d);
}
END_TEST

/* ---- sampling --------------------------------------------------------- */

START_TEST(test_random_and_sample) {
    dict *d = dict_create(&int_type);
    REQUIRE_NULL(dict_random_entry(d));
    dict_entry *out[64];
    REQUIRE_EQ(dict_sample(d, out, 16), 0);

    const uintptr_t n = 100;
    unsigned hits[101] = {0};
    for (uintptr_t k = 1; k <= n; k++) dict_add(d, IKEY(k), NULL);
    finish_rehash(d);
    for (int round = 0; round < 2; round++) {
        if (round == 1) {
            REQUIRE_EQ(dict_expand(d, 4096), 0);
            REQUIRE(dict_is_rehashing(d));
        }
        /* Samples first: they only move 16 buckets each, so the first ones
         * of round 1 see a half-done rehash (lookups move one each). */
        for (int i = 0; i < 2000; i++) {
            if (round == 1 && i == 0) REQUIRE(dict_is_rehashing(d));
            size_t got = dict_sample(d, out, 16);
            REQUIRE_GT(got, 0);
            REQUIRE_LE(got, 16);
            for (size_t j = 0; j < got; j++) REQUIRE_PTR_EQ(dict_find(d, out[j]->key), out[j]);
        }
        for (int i = 0; i < 20000; i++) {
            dict_entry *e = dict_random_entry(d);
            REQUIRE_NONNULL(e);
            REQUIRE_PTR_EQ(dict_find(d, e->key), e);
            hits[(uintptr_t)e->key]++;
        }
    }
    for (uintptr_t k = 1; k <= n; k++) REQUIRE_MSG(hits[k] > 50, "key %lu drawn %u times", k, hits[k]);
    /* Asking for more than there is returns at most everything. */
    REQUIRE_LE(dict_sample(d, out, 64), n < 64 ? n : 64);
    dict_release(d);

    /* A sparse, shrinking table still yields members. */
    d = dict_create(&int_type);
    for (uintptr_t k = 1; k <= 50000; k++) dict_add(d, IKEY(k), NULL);
    for (uintptr_t k = 1; k <= 50000; k++)
        if (k % 1000) dict_delete(d, IKEY(k));
    REQUIRE_EQ(dict_shrink_if_needed(d), 1);
    dict_rehash_steps(d, 20);
    REQUIRE(dict_is_rehashing(d));
    dict_entry *e = dict_random_entry(d);
    REQUIRE_NONNULL(e);
    REQUIRE_EQ((uintptr_t)e->key % 1000, 0);
    size_t got = dict_sample(d, out, 8);
    for (size_t j = 0; j < got; j++) REQUIRE_EQ((uintptr_t)out[j]->key % 1000, 0);
    dict_release(d);
}
END_TEST

/* ---- model check ------------------------------------------------------ */

START_TEST(test_random_ops_match_model) {
    enum { KEYS = 4096 };
    static unsigned char model[KEYS + 1];
    memset(model, 0, sizeof(model));
    test_rng_state = 0x1234567;
    dict *d = dict_create(&int_type);
    size_t live = 0;
    for (int op = 0; op < 300000; op++) {
        uintptr_t k = 1 + test_rand() % KEYS;
        switch (test_rand() % 8) {
        case 0:
        case 1:
        case 2:
            REQUIRE_EQ(dict_add(d, IKEY(k), IKEY(k)), model[k] ? -1 : 0);
            live += !model[k];
            model[k] = 1;
            break;
        case 3:
        case 4:
            REQUIRE_EQ(dict_delete(d, IKEY(k)), model[k] ? 0 : -1);
            live -= model[k];
            model[k] = 0;
            break;
        case 5:
            REQUIRE_EQ(dict_find(d, IKEY(k)) != NULL, model[k]);
            break;
        case 6:
            dict_shrink_if_needed(d);
            break;
        default:
            dict_rehash_steps(d, 1);
            break;
        }
        REQUIRE_EQ(dict_size(d), live);
    }
    for (uintptr_t k = 1; k <= KEYS; k++) REQUIRE_EQ(dict_find(d, IKEY(k)) != NULL, model[k]);
    dict_release(d);
}
END_TEST

/* ---- hashing ---------------------------------------------------------- */

static uint64_t hash_with_seed(const uint8_t seed[16], const void *p, size_t len) {
    dict_set_hash_seed(seed);
    return dict_hash_bytes(p, len);
}

START_TEST(test_siphash_known_answers) {
    uint8_t key[16], msg[16];
    for (int i = 0; i < 16; i++) key[i] = msg[i] = (uint8_t)i;
#if DICT_SIPHASH_C_ROUNDS == 2 && DICT_SIPHASH_D_ROUNDS == 4
    /* Reference SipHash-2-4 vectors (key 00..0f, message 00..len-1), output
     * bytes read as a big-endian number as they are usually published. */
    static const uint64_t want[16] = {
        0x310e0edd47db6f72, 0xfd67dc93c539f874, 0x5a4fa9d909806c0d, 0x2d7efbd796666785,
        0xb7877127e09427cf, 0x8da699cd64557618, 0xcee3fe586e46c9cb, 0x37d1018bf50002ab,
        0x6224939a79f5f593, 0xb0e4a90bdf82009e, 0xf3b9dd94c5bb5d7a, 0xa7ad6b22462fb3f4,
        0xfbe50e86bc8f1e75, 0x903d84c02756ea14, 0xeef27a8e90ca23f7, 0xe545be4961ca29a1,
    };
    for (size_t len = 0; len < 16; len++)
        REQUIRE_EQ(hash_with_seed(key, msg, len), __builtin_bswap64(want[len]));
#else
    /* SipHash-1-2 has no published vectors. These agree with a separate
     * implementation written from the paper, and dict.c passes the 2-4
     * reference vectors above when this file and dict.c are built with
     * -DDICT_SIPHASH_C_ROUNDS=2 -DDICT_SIPHASH_D_ROUNDS=4. */
    static const uint64_t want[16] = {
        0xcea28b51565c12e2, 0x94aaf38c34ce7ba6, 0xfe7a42c2c5fab434, 0x1c0d255229c3364c,
        0x8be7847a474dfdf5, 0x2858f0420f752296, 0xe61a8a7d8ac52626, 0xf03c4cbcf492b05a,
        0x606845b4d093af74, 0xe304e78271c74a56, 0xc936e00e33b32633, 0x226212e5f29ab45c,
        0xa4377b74fbbfe0da, 0x624317667190806f, 0x4a72ad78e3e197d7, 0xec8f61bc1c8966a6,
    };
    for (size_t len = 0; len < 16; len++)
        REQUIRE_EQ(hash_with_seed(key, msg, len), want[len]);
#endif
}
END_TEST

START_TEST(test_hash_properties) {
    uint8_t seed_a[16] = {0}, seed_b[16] = {1};
    uint64_t a = hash_with_seed(seed_a, "hello", 5);
    uint64_t b = hash_with_seed(seed_b, "hello", 5);
    REQUIRE_NE(a, b);
    REQUIRE_EQ(hash_with_seed(seed_a, "hello", 5), a);
    REQUIRE_NE(dict_hash_bytes("a\0b", 3), dict_hash_bytes("a\0c", 3));
    REQUIRE_NE(dict_hash_bytes("ab", 2), dict_hash_bytes("ab\0", 3));
    REQUIRE_NE(dict_hash_bytes("Hello", 5), dict_hash_bytes("hello", 5));
    const char *mixed = "GeT-ScanCommand-LONGER-THAN-8";
    const char *lower = "get-scancommand-longer-than-8";
    REQUIRE_EQ(dict_hash_bytes_nocase(mixed, 29), dict_hash_bytes_nocase(lower, 29));
    REQUIRE_EQ(dict_hash_bytes_nocase(lower, 29), dict_hash_bytes(lower, 29));
    REQUIRE_NE(dict_hash_bytes_nocase("[", 1), dict_hash_bytes_nocase("{", 1));

    dstr x = dstr_from("MultiBulk"), y = dstr_from("multibulk"), z = dstr_from("multibul");
    REQUIRE(!dict_dstr_eq(x, y));
    REQUIRE(dict_dstr_eq_nocase(x, y));
    REQUIRE(!dict_dstr_eq_nocase(y, z));
    REQUIRE_EQ(dict_dstr_hash_nocase(x), dict_dstr_hash_nocase(y));
    dstr bin1 = dstr_new("k\0\1", 3), bin2 = dstr_new("k\0\2", 3);
    REQUIRE(!dict_dstr_eq(bin1, bin2));
    REQUIRE_NE(dict_dstr_hash(bin1), dict_dstr_hash(bin2));
    dstr_free(x);
    dstr_free(y);
    dstr_free(z);
    dstr_free(bin1);
    dstr_free(bin2);
}
END_TEST

/* ---- runner ----------------------------------------------------------- */

static Suite *dict_suite(void) {
    Suite *s = suite_create("dict");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_add_find_delete_100k);
    tcase_add_test(tc, test_add_raw_sets_value);
    tcase_add_test(tc, test_long_chains);
    tcase_add_test(tc, test_unlink_and_free);
    tcase_add_test(tc, test_empty);
    tcase_add_test(tc, test_expand_errors);
    tcase_add_test(tc, test_find_during_rehash);
    tcase_add_test(tc, test_shrink);
    tcase_add_test(tc, test_growth_policy);
    tcase_add_test(tc, test_rehash_ms);
    tcase_add_test(tc, test_delete_during_safe_iteration);
    tcase_add_test(tc, test_iterate_empty_and_small);
    tcase_add_test(tc, test_scan_guarantee_under_churn);
    tcase_add_test(tc, test_scan_tiny_table_grows);
    tcase_add_test(tc, test_scan_stable_table_exact);
    tcase_add_test(tc, test_random_and_sample);
    tcase_add_test(tc, test_random_ops_match_model);
    tcase_add_test(tc, test_siphash_known_answers);
    tcase_add_test(tc, test_hash_properties);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) {
    SRunner *sr = srunner_create(dict_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
