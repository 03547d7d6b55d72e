/* Unit tests of the replication backlog: offsets as Redis counts them,
 * trimming by window and by readers, and one producer with a reader thread
 * streaming millions of bytes (run under ThreadSanitizer in CI). */
#include <check.h>
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "repl/backlog.h"

/* The stream's byte at offset o is a function of o, so a reader can check
 * every byte without a copy of the stream. */
static unsigned char byte_at(long long o) {
    uint64_t x = (uint64_t)o * 0x9e3779b97f4a7c15ULL;
    return (unsigned char)(x >> 56);
}

static void append_range(backlog *b, long long from, size_t n) {
    unsigned char buf[4096];
    while (n) {
        size_t k = n < sizeof(buf) ? n : sizeof(buf);
        for (size_t i = 0; i < k; i++) buf[i] = byte_at(from + (long long)i);
        backlog_append(b, buf, k);
        from += (long long)k;
        n -= k;
    }
}

START_TEST(offsets_like_redis) {
    backlog *b = backlog_create(100, 1000, 64);
    ck_assert_int_eq(backlog_end(b), 100);
    ck_assert_int_eq(backlog_first(b), 101);
    ck_assert_int_eq(backlog_histlen(b), 0);
    append_range(b, 101, 10);
    ck_assert_int_eq(backlog_end(b), 110);
    ck_assert_int_eq(backlog_histlen(b), 10);
    backlog_publish(b);
    backlog_cursor cur;
    ck_assert_int_eq(backlog_seek(b, 105, &cur), 0);
    const char *p;
    size_t n = backlog_peek(b, &cur, &p);
    ck_assert_uint_eq(n, 6);
    for (size_t i = 0; i < n; i++) ck_assert_uint_eq((unsigned char)p[i], byte_at(105 + (long long)i));
    /* Outside the window: before the first byte, or beyond end+1. */
    ck_assert_int_eq(backlog_seek(b, 100, &cur), -ERANGE);
    ck_assert_int_eq(backlog_seek(b, 112, &cur), -ERANGE);
    ck_assert_int_eq(backlog_seek(b, 111, &cur), 0);
    ck_assert_uint_eq(backlog_peek(b, &cur, &p), 0);
    backlog_free(b);
}
END_TEST

START_TEST(unpublished_bytes_are_invisible) {
    backlog *b = backlog_create(0, 1000, 16);
    backlog_cursor cur;
    ck_assert_int_eq(backlog_seek(b, 1, &cur), 0);
    append_range(b, 1, 40);
    const char *p;
    ck_assert_uint_eq(backlog_peek(b, &cur, &p), 0);
    backlog_publish(b);
    size_t total = 0;
    for (;;) {
        size_t n = backlog_peek(b, &cur, &p);
        if (!n) break;
        ck_assert_uint_le(n, 16);
        for (size_t i = 0; i < n; i++)
            ck_assert_uint_eq((unsigned char)p[i], byte_at(cur.offset + (long long)i));
        backlog_advance(&cur, n);
        total += n;
    }
    ck_assert_uint_eq(total, 40);
    backlog_free(b);
}
END_TEST

START_TEST(trim_by_window_and_reader) {
    backlog *b = backlog_create(0, 100, 32);
    int slot = backlog_reader_add(b, 1); /* pins everything from byte 1 */
    ck_assert_int_ge(slot, 0);
    append_range(b, 1, 1000);
    backlog_publish(b);
    backlog_trim(b);
    ck_assert_int_eq(backlog_first(b), 1); /* the reader holds it */
    backlog_reader_release(b, slot, 500);
    backlog_trim(b);
    /* Blocks wholly at or below 500 go; the block holding 501 stays. */
    ck_assert_int_le(backlog_first(b), 501);
    ck_assert_int_gt(backlog_first(b), 500 - 32);
    backlog_reader_remove(b, slot);
    backlog_trim(b);
    /* Only the window pins now: at least 100 bytes kept, at most one
     * block more. */
    ck_assert_int_ge(backlog_histlen(b), 100);
    ck_assert_int_le(backlog_histlen(b), 100 + 32);
    backlog_cursor cur;
    ck_assert_int_eq(backlog_seek(b, 1000 - 99, &cur), 0);
    ck_assert_int_eq(backlog_seek(b, 10, &cur), -ERANGE);
    backlog_resize(b, 10);
    ck_assert_int_le(backlog_histlen(b), 10 + 32);
    backlog_free(b);
}
END_TEST

/* A cursor parked at the end of an exactly full block (no next block yet),
 * whose reader released everything: the block must outlive the cursor's
 * move to the next block, or peek reads a freed block's `next`. */
START_TEST(parked_cursor_keeps_its_block) {
    backlog *b = backlog_create(0, 16, 16);
    int slot = backlog_reader_add(b, 1);
    append_range(b, 1, 16);
    backlog_publish(b);
    backlog_cursor cur;
    ck_assert_int_eq(backlog_seek(b, 1, &cur), 0);
    const char *p;
    size_t n = backlog_peek(b, &cur, &p);
    ck_assert_uint_eq(n, 16);
    backlog_advance(&cur, n);
    backlog_reader_release(b, slot, 16);
    append_range(b, 17, 32);
    backlog_publish(b);
    backlog_trim(b);
    ck_assert_int_eq(backlog_first(b), 1);
    n = backlog_peek(b, &cur, &p);
    ck_assert_uint_eq(n, 16);
    for (size_t i = 0; i < n; i++) ck_assert_uint_eq((unsigned char)p[i], byte_at(17 + (long long)i));
    backlog_advance(&cur, n);
    backlog_reader_release(b, slot, 32);
    backlog_trim(b);
    ck_assert_int_eq(backlog_first(b), 17);
    backlog_free(b);
}
END_TEST

/* Reader slots are finite: the 65th reader is told so (-ENOSPC), and a
 * slot for bytes trim already freed is refused (-ERANGE) instead of
 * handing out a slot no cursor can be seeked for. A removed slot is
 * reusable. */
START_TEST(reader_slots_run_out) {
    backlog *b = backlog_create(0, 64, 32);
    append_range(b, 1, 1000);
    backlog_publish(b);
    backlog_trim(b);
    long long first = backlog_first(b);
    ck_assert_int_gt(first, 1);
    ck_assert_int_eq(backlog_readers_free(b), BACKLOG_MAX_READERS);
    ck_assert_int_eq(backlog_reader_add(b, first - 1), -ERANGE);
    ck_assert_int_eq(backlog_reader_add(b, 1002), -ERANGE);
    int slots[BACKLOG_MAX_READERS];
    for (int i = 0; i < BACKLOG_MAX_READERS; i++) {
        /* from == end + 1: a reader that has everything so far. */
        slots[i] = backlog_reader_add(b, i % 2 ? first : 1001);
        ck_assert_int_ge(slots[i], 0);
    }
    ck_assert_int_eq(backlog_readers_free(b), 0);
    ck_assert_int_eq(backlog_reader_add(b, first), -ENOSPC);
    backlog_reader_remove(b, slots[7]);
    ck_assert_int_eq(backlog_readers_free(b), 1);
    ck_assert_int_eq(backlog_reader_add(b, first), slots[7]);
    /* A failed seek leaves the cursor as it was. */
    backlog_cursor cur = {.block = NULL, .offset = 42};
    ck_assert_int_eq(backlog_seek(b, first - 1, &cur), -ERANGE);
    ck_assert_ptr_null(cur.block);
    ck_assert_int_eq(cur.offset, 42);
    backlog_free(b);
}
END_TEST

/* A vectored peek returns the published bytes as one span per block, in
 * order, and advancing over all of them lands the cursor past the last. */
START_TEST(peekv_spans_blocks) {
    backlog *b = backlog_create(0, 1000, 16);
    append_range(b, 1, 70); /* blocks 1-16, 17-32, 33-48, 49-64, 65-70 */
    backlog_publish(b);
    backlog_cursor cur;
    ck_assert_int_eq(backlog_seek(b, 10, &cur), 0);
    struct iovec iov[3];
    int n;
    /* Capped at three spans: 10-16, 17-32, 33-48. */
    ck_assert_uint_eq(backlog_peekv(b, &cur, iov, 3, &n), 7 + 16 + 16);
    ck_assert_int_eq(n, 3);
    ck_assert_uint_eq(iov[0].iov_len, 7);
    long long o = 10;
    for (int i = 0; i < n; i++)
        for (size_t j = 0; j < iov[i].iov_len; j++, o++)
            ck_assert_uint_eq(((unsigned char *)iov[i].iov_base)[j], byte_at(o));
    ck_assert_int_eq(cur.offset, 10); /* peeking does not move */
    backlog_advance(&cur, 7 + 16 + 16);
    ck_assert_int_eq(cur.offset, 49);
    const char *p;
    ck_assert_uint_eq(backlog_peek(b, &cur, &p), 16);
    ck_assert_uint_eq((unsigned char)p[0], byte_at(49));
    /* The rest, then nothing. */
    ck_assert_uint_eq(backlog_peekv(b, &cur, iov, 3, &n), 22);
    ck_assert_int_eq(n, 2);
    backlog_advance(&cur, 22);
    ck_assert_int_eq(cur.offset, 71);
    ck_assert_uint_eq(backlog_peekv(b, &cur, iov, 3, &n), 0);
    ck_assert_int_eq(n, 0);
    backlog_free(b);
}
END_TEST

#define STREAM_BYTES (8LL * 1024 * 1024)

typedef struct shared {
    backlog *b;
    int slot;
    backlog_cursor cur;
    long long checked;
} shared;

static void *reader_main(void *arg) {
    shared *sh = arg;
    while (sh->cur.offset <= STREAM_BYTES) {
        const char *p;
        size_t n = backlog_peek(sh->b, &sh->cur, &p);
        if (!n) {
            sched_yield();
            continue;
        }
        for (size_t i = 0; i < n; i++)
            if ((unsigned char)p[i] != byte_at(sh->cur.offset + (long long)i)) return (void *)1;
        backlog_advance(&sh->cur, n);
        sh->checked += (long long)n;
        backlog_reader_release(sh->b, sh->slot, sh->cur.offset - 1);
    }
    return NULL;
}

START_TEST(producer_and_reader_threads) {
    shared sh = {0};
    sh.b = backlog_create(0, 64 * 1024, 4096);
    sh.slot = backlog_reader_add(sh.b, 1);
    ck_assert_int_eq(backlog_seek(sh.b, 1, &sh.cur), 0);
    pthread_t t;
    ck_assert_int_eq(pthread_create(&t, NULL, reader_main, &sh), 0);
    long long off = 1;
    unsigned seed = 7;
    size_t max_blocks = 0;
    while (off <= STREAM_BYTES) {
        seed = seed * 1103515245u + 12345u;
        size_t n = 1 + (seed >> 8) % 3000;
        if (off + (long long)n - 1 > STREAM_BYTES) n = (size_t)(STREAM_BYTES - off + 1);
        append_range(sh.b, off, n);
        off += (long long)n;
        backlog_publish(sh.b);
        backlog_trim(sh.b);
        if (sh.b->blocks > max_blocks) max_blocks = sh.b->blocks;
        /* Keep the producer from running away: a real master drops a
         * replica past its output limit; here we wait. */
        while (sh.b->blocks > 512) {
            sched_yield();
            backlog_trim(sh.b);
        }
    }
    void *rc;
    pthread_join(t, &rc);
    ck_assert_ptr_null(rc);
    ck_assert_int_eq(sh.checked, STREAM_BYTES);
    backlog_reader_remove(sh.b, sh.slot);
    backlog_trim(sh.b);
    /* With the reader gone, only the window remains. */
    ck_assert_int_le(backlog_histlen(sh.b), 64 * 1024 + 4096);
    backlog_free(sh.b);
}
END_TEST

int main(void) {
    Suite *s = suite_create("backlog");
    TCase *tc = tcase_create("backlog");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, offsets_like_redis);
    tcase_add_test(tc, unpublished_bytes_are_invisible);
    tcase_add_test(tc, trim_by_window_and_reader);
    tcase_add_test(tc, parked_cursor_keeps_its_block);
    tcase_add_test(tc, peekv_spans_blocks);
    tcase_add_test(tc, reader_slots_run_out);
    tcase_add_test(tc, producer_and_reader_threads);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
