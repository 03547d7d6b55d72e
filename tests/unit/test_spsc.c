/* test_spsc: the single-producer single-consumer ring and its sleep/wake
 * handshake.
 *
 * Single-threaded tests pin the edges (empty, full, index wrap, partial
 * batches, the park flags). Two-threaded tests push millions of messages
 * through rings of several sizes and check every message's order and
 * contents. The sleep tests make the consumer (and, on a full ring, the
 * producer) really sleep on an eventfd between bursts; a lost wake-up would
 * leave a sleeper waiting with messages in the ring, which the tests detect
 * as a timed-out wait and report instead of hanging.
 *
 * Under a sanitizer the message counts shrink tenfold; RM_SPSC_MESSAGES
 * overrides the count of the big runs. */
#include "io/spsc.h"
#include "io/wake.h"

#include <check.h>
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#if defined(__SANITIZE_THREAD__) || defined(__SANITIZE_ADDRESS__)
#define UNDER_SANITIZER 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer) || __has_feature(address_sanitizer)
#define UNDER_SANITIZER 1
#endif
#endif
#ifndef UNDER_SANITIZER
#define UNDER_SANITIZER 0
#endif

/* A wait longer than this with work pending is a lost wake-up. */
#define LOST_WAKE_MS 5000

static uint64_t big_count(void) {
    const char *env = getenv("RM_SPSC_MESSAGES");
    if (env != NULL && atoll(env) > 0) return (uint64_t)atoll(env);
    return UNDER_SANITIZER ? 500000 : 5000000;
}

/* Every field of message `seq` is derived from seq, so a torn or reordered
 * slot shows up as a mismatch. */
static spsc_msg make_msg(uint64_t seq) {
    spsc_msg m = {
        .type = (uint32_t)(seq % 7),
        .fd = (int32_t)(seq & 0x7fffffff),
        .id = seq,
        .val = seq * 0x9E3779B97F4A7C15ull,
        .ptr = (void *)(uintptr_t)(~seq),
    };
    return m;
}

static bool msg_is(const spsc_msg *m, uint64_t seq) {
    spsc_msg want = make_msg(seq);
    return m->type == want.type && m->fd == want.fd && m->id == want.id && m->val == want.val &&
           m->ptr == want.ptr;
}

static spsc_ring *new_ring(uint32_t cap) {
    spsc_ring *r;
    ck_assert_int_eq(spsc_create(&r, cap), 0);
    return r;
}

/* ---- single thread: edges ---------------------------------------------- */

START_TEST(test_create_capacity) {
    spsc_ring *r;
    ck_assert_int_eq(spsc_create(&r, 0), -EINVAL);
    ck_assert_int_eq(spsc_create(&r, 1), -EINVAL);
    ck_assert_int_eq(spsc_create(&r, 3), -EINVAL);
    ck_assert_int_eq(spsc_create(&r, 1000), -EINVAL);
    ck_assert_ptr_null(r);
    ck_assert_int_eq(spsc_create(&r, 2), 0);
    ck_assert_uint_eq(spsc_capacity(r), 2);
    ck_assert_uint_eq((uintptr_t)r % SPSC_CACHE_LINE, 0);
    /* Producer, consumer and flags each on a line of their own. */
    ck_assert_uint_ge((uintptr_t)&r->head - (uintptr_t)&r->tail, SPSC_CACHE_LINE);
    ck_assert_uint_ge((uintptr_t)&r->consumer_parked - (uintptr_t)&r->head, SPSC_CACHE_LINE);
    spsc_destroy(r);
    spsc_destroy(NULL);
}
END_TEST

START_TEST(test_empty_and_full) {
    spsc_ring *r = new_ring(8);
    spsc_msg m;
    ck_assert(spsc_empty(r));
    ck_assert(!spsc_try_pop(r, &m));
    ck_assert_uint_eq(spsc_pop_batch(r, &m, 1), 0);
    for (uint64_t i = 0; i < 8; i++) {
        m = make_msg(i);
        ck_assert(spsc_try_push(r, &m));
    }
    m = make_msg(99);
    ck_assert(!spsc_try_push(r, &m));
    ck_assert_uint_eq(spsc_push_batch(r, &m, 1), 0);
    ck_assert(!spsc_empty(r));
    for (uint64_t i = 0; i < 8; i++) {
        ck_assert(spsc_try_pop(r, &m));
        ck_assert(msg_is(&m, i));
    }
    ck_assert(!spsc_try_pop(r, &m));
    ck_assert(spsc_empty(r));
    spsc_destroy(r);
}
END_TEST

/* Capacity 4, many laps: the slot index wraps constantly, and the batch
 * sizes cross the end of the slot array at every offset. */
START_TEST(test_wrap_around_batches) {
    spsc_ring *r = new_ring(4);
    spsc_msg in[6], out[6];
    uint64_t pushed = 0, popped = 0;
    for (int lap = 0; lap < 10000; lap++) {
        size_t want = (size_t)(lap % 6) + 1;
        for (size_t i = 0; i < want; i++) in[i] = make_msg(pushed + i);
        size_t room = 4 - (size_t)(pushed - popped);
        size_t n = spsc_push_batch(r, in, want);
        ck_assert_uint_eq(n, want < room ? want : room);
        pushed += n;
        size_t take = (size_t)((lap * 7) % 6) + 1;
        size_t got = spsc_pop_batch(r, out, take);
        size_t avail = (size_t)(pushed - popped);
        ck_assert_uint_eq(got, take < avail ? take : avail);
        for (size_t i = 0; i < got; i++) ck_assert(msg_is(&out[i], popped + i));
        popped += got;
    }
    ck_assert_uint_gt(pushed, 10000);
    /* Drain: what is left comes out in order. */
    spsc_msg m;
    while (spsc_try_pop(r, &m)) ck_assert(msg_is(&m, popped++));
    ck_assert_uint_eq(popped, pushed);
    spsc_destroy(r);
}
END_TEST

START_TEST(test_partial_push_batch) {
    spsc_ring *r = new_ring(8);
    spsc_msg in[10], out[10];
    for (uint64_t i = 0; i < 10; i++) in[i] = make_msg(i);
    ck_assert_uint_eq(spsc_push_batch(r, in, 5), 5);
    ck_assert_uint_eq(spsc_push_batch(r, in + 5, 5), 3); /* only 3 fit */
    ck_assert_uint_eq(spsc_pop_batch(r, out, 10), 8);
    for (uint64_t i = 0; i < 8; i++) ck_assert(msg_is(&out[i], i));
    ck_assert_uint_eq(spsc_push_batch(r, in + 8, 2), 2);
    ck_assert_uint_eq(spsc_pop_batch(r, out, 10), 2);
    ck_assert(msg_is(&out[0], 8) && msg_is(&out[1], 9));
    spsc_destroy(r);
}
END_TEST

START_TEST(test_park_flags) {
    spsc_ring *r = new_ring(2);
    spsc_msg m = make_msg(1);
    /* Nobody parked: pushing and popping signal nobody. */
    ck_assert(spsc_try_push(r, &m));
    ck_assert(!spsc_consumer_wake_needed(r));
    ck_assert(spsc_try_pop(r, &m));
    ck_assert(!spsc_producer_wake_needed(r));

    /* Consumer parks on an empty ring; one push needs exactly one signal. */
    ck_assert(spsc_park_consumer(r));
    ck_assert(spsc_try_push(r, &m));
    ck_assert(spsc_consumer_wake_needed(r));
    ck_assert(!spsc_consumer_wake_needed(r));
    /* Parking on a non-empty ring is refused and leaves no flag behind. */
    ck_assert(!spsc_park_consumer(r));
    ck_assert(spsc_try_push(r, &m));
    ck_assert(!spsc_consumer_wake_needed(r));
    /* Unpark withdraws an announcement. */
    ck_assert(spsc_try_pop(r, &m) && spsc_try_pop(r, &m));
    ck_assert(spsc_park_consumer(r));
    spsc_unpark_consumer(r);
    ck_assert(spsc_try_push(r, &m));
    ck_assert(!spsc_consumer_wake_needed(r));

    /* Producer parks on a full ring; one pop needs exactly one signal. */
    ck_assert(spsc_try_push(r, &m));
    ck_assert(spsc_park_producer(r));
    ck_assert(spsc_try_pop(r, &m));
    ck_assert(spsc_producer_wake_needed(r));
    ck_assert(!spsc_producer_wake_needed(r));
    ck_assert(!spsc_park_producer(r)); /* room now */
    ck_assert(!spsc_producer_wake_needed(r));
    spsc_destroy(r);
}
END_TEST

/* What a lost wake-up looks like, so that the threaded tests' detection is
 * known to work: a producer that skips the wake check leaves the parked
 * consumer's wait to time out with a message in the ring. */
START_TEST(test_lost_wake_is_detected) {
    spsc_ring *r = new_ring(4);
    int efd = wake_open();
    ck_assert_int_ge(efd, 0);
    spsc_msg m = make_msg(5);

    ck_assert(spsc_park_consumer(r));
    ck_assert(spsc_try_push(r, &m)); /* ...and no spsc_consumer_wake_needed */
    ck_assert_int_eq(wake_wait(efd, 50), 0);
    ck_assert(!spsc_empty(r));

    /* The protocol followed: the wait ends at once. */
    ck_assert(spsc_try_pop(r, &m));
    ck_assert(spsc_park_consumer(r));
    ck_assert(spsc_try_push(r, &m));
    if (spsc_consumer_wake_needed(r)) ck_assert_int_eq(wake_signal(efd), 0);
    ck_assert_int_eq(wake_wait(efd, LOST_WAKE_MS), 1);
    /* Signals collapse: several before a drain are one wake-up. */
    ck_assert_int_eq(wake_signal(efd), 0);
    ck_assert_int_eq(wake_signal(efd), 0);
    ck_assert_int_eq(wake_drain(efd), 1);
    ck_assert_int_eq(wake_drain(efd), 0);
    wake_close(efd);
    spsc_destroy(r);
}
END_TEST

/* ---- two threads, spinning ---------------------------------------------- */

typedef struct stream_test {
    spsc_ring *r;
    uint64_t count;
    bool batch;      /* use push_batch / pop_batch with varying sizes */
    uint64_t bad_at; /* first sequence number that did not match, or UINT64_MAX */
    uint64_t received;
} stream_test;

static void *spin_producer(void *arg) {
    stream_test *st = arg;
    spsc_msg buf[37];
    uint64_t seq = 0;
    unsigned spins = 0;
    while (seq < st->count) {
        size_t n;
        if (st->batch) {
            size_t want = (size_t)(seq % 37) + 1;
            if (want > st->count - seq) want = (size_t)(st->count - seq);
            for (size_t i = 0; i < want; i++) buf[i] = make_msg(seq + i);
            n = spsc_push_batch(st->r, buf, want);
        } else {
            buf[0] = make_msg(seq);
            n = spsc_try_push(st->r, &buf[0]) ? 1 : 0;
        }
        seq += n;
        /* Two CPUs and sanitizer threads: spin a little, then yield. */
        if (n == 0 && ++spins % 64 == 0) sched_yield();
    }
    return NULL;
}

static void *spin_consumer(void *arg) {
    stream_test *st = arg;
    spsc_msg buf[29];
    unsigned spins = 0;
    while (st->received < st->count) {
        size_t n;
        if (st->batch)
            n = spsc_pop_batch(st->r, buf, (size_t)(st->received % 29) + 1);
        else
            n = spsc_try_pop(st->r, &buf[0]) ? 1 : 0;
        for (size_t i = 0; i < n; i++) {
            if (st->bad_at == UINT64_MAX && !msg_is(&buf[i], st->received))
                st->bad_at = st->received;
            st->received++;
        }
        if (n == 0 && ++spins % 64 == 0) sched_yield();
    }
    return NULL;
}

static void run_stream(uint32_t cap, uint64_t count, bool batch) {
    stream_test st = {.r = new_ring(cap), .count = count, .batch = batch, .bad_at = UINT64_MAX};
    pthread_t p, c;
    ck_assert_int_eq(pthread_create(&c, NULL, spin_consumer, &st), 0);
    ck_assert_int_eq(pthread_create(&p, NULL, spin_producer, &st), 0);
    pthread_join(p, NULL);
    pthread_join(c, NULL);
    ck_assert_msg(st.bad_at == UINT64_MAX, "message %llu out of order or torn",
                  (unsigned long long)st.bad_at);
    ck_assert_uint_eq(st.received, count);
    ck_assert(spsc_empty(st.r));
    spsc_destroy(st.r);
}

START_TEST(test_two_threads_millions) { run_stream(1024, big_count(), false); }
END_TEST

START_TEST(test_two_threads_batches) { run_stream(256, big_count(), true); }
END_TEST

/* The smallest ring: every other push finds it full, every pop wraps. */
START_TEST(test_two_threads_capacity_two) { run_stream(2, big_count() / 10, false); }
END_TEST

/* ---- two threads, sleeping ---------------------------------------------- */

typedef struct sleep_test {
    spsc_ring *r;
    int consumer_fd; /* the consumer sleeps on it (ring empty) */
    int producer_fd; /* the producer sleeps on it (ring full) */
    uint64_t count;
    /* Results, each written by one thread and read after the joins. */
    uint64_t received;
    uint64_t bad_at;
    uint64_t consumer_sleeps, producer_sleeps;
    uint64_t consumer_signals, producer_signals;
    bool consumer_lost, producer_lost;
    _Atomic bool abandon; /* the producer failed: the consumer stops too */
} sleep_test;

static unsigned next_rand(unsigned *s) {
    *s = *s * 1103515245u + 12345u;
    return (*s >> 16) & 0x7fff;
}

static void *sleepy_producer(void *arg) {
    sleep_test *st = arg;
    unsigned seed = 42;
    uint64_t seq = 0;
    while (seq < st->count && !atomic_load(&st->abandon)) {
        /* A burst of 1..64 messages, then maybe a pause long enough for the
         * consumer to fall asleep. */
        unsigned burst = next_rand(&seed) % 64 + 1;
        for (unsigned i = 0; i < burst && seq < st->count; i++) {
            spsc_msg m = make_msg(seq);
            while (!spsc_try_push(st->r, &m)) {
                if (atomic_load(&st->abandon)) return NULL;
                /* Full. Whatever this burst pushed so far must be announced
                 * before sleeping: the consumer may be asleep waiting for
                 * it, and would never make the room we wait for. */
                if (spsc_consumer_wake_needed(st->r)) {
                    st->consumer_signals++;
                    wake_signal(st->consumer_fd);
                }
                /* Announce, re-check, sleep until the consumer pops. */
                if (!spsc_park_producer(st->r)) continue;
                st->producer_sleeps++;
                if (wake_wait(st->producer_fd, LOST_WAKE_MS) == 0 && !spsc_park_producer(st->r)) {
                    st->producer_lost = true; /* room for seconds, nobody said so */
                    atomic_store(&st->abandon, true);
                    wake_signal(st->consumer_fd);
                    return NULL;
                }
                spsc_unpark_producer(st->r);
            }
            seq++;
        }
        if (spsc_consumer_wake_needed(st->r)) {
            st->consumer_signals++;
            wake_signal(st->consumer_fd);
        }
        unsigned pause = next_rand(&seed) % 16;
        if (pause == 0) {
            struct timespec ts = {0, 20000};
            nanosleep(&ts, NULL);
        } else if (pause < 4) {
            sched_yield();
        }
    }
    return NULL;
}

static void *sleepy_consumer(void *arg) {
    sleep_test *st = arg;
    spsc_msg buf[16];
    while (st->received < st->count && !atomic_load(&st->abandon)) {
        size_t n = spsc_pop_batch(st->r, buf, 16);
        if (n > 0) {
            for (size_t i = 0; i < n; i++) {
                if (st->bad_at == UINT64_MAX && !msg_is(&buf[i], st->received))
                    st->bad_at = st->received;
                st->received++;
            }
            if (spsc_producer_wake_needed(st->r)) {
                st->producer_signals++;
                wake_signal(st->producer_fd);
            }
            continue;
        }
        if (!spsc_park_consumer(st->r)) continue;
        st->consumer_sleeps++;
        if (wake_wait(st->consumer_fd, LOST_WAKE_MS) == 0 && !spsc_empty(st->r)) {
            st->consumer_lost = true; /* data for seconds, nobody said so */
            atomic_store(&st->abandon, true);
            wake_signal(st->producer_fd);
            return NULL;
        }
        spsc_unpark_consumer(st->r);
    }
    return NULL;
}

static void run_sleepy(uint32_t cap, uint64_t count) {
    sleep_test st = {.r = new_ring(cap), .count = count, .bad_at = UINT64_MAX};
    st.consumer_fd = wake_open();
    st.producer_fd = wake_open();
    ck_assert_int_ge(st.consumer_fd, 0);
    ck_assert_int_ge(st.producer_fd, 0);
    pthread_t p, c;
    ck_assert_int_eq(pthread_create(&c, NULL, sleepy_consumer, &st), 0);
    ck_assert_int_eq(pthread_create(&p, NULL, sleepy_producer, &st), 0);
    pthread_join(p, NULL);
    pthread_join(c, NULL);
    ck_assert_msg(!st.consumer_lost, "lost wake-up: consumer slept %d ms with messages queued",
                  LOST_WAKE_MS);
    ck_assert_msg(!st.producer_lost, "lost wake-up: producer slept %d ms on a ring with room",
                  LOST_WAKE_MS);
    ck_assert_msg(st.bad_at == UINT64_MAX, "message %llu out of order or torn",
                  (unsigned long long)st.bad_at);
    ck_assert_uint_eq(st.received, count);
    /* The test is only meaningful if both sides really slept. */
    ck_assert_uint_gt(st.consumer_sleeps, 0);
    if (cap <= 16) ck_assert_uint_gt(st.producer_sleeps, 0);
    printf("spsc sleep/wake cap %u: %llu messages, consumer slept %llu times (%llu signals), "
           "producer slept %llu times (%llu signals)\n",
           cap, (unsigned long long)count, (unsigned long long)st.consumer_sleeps,
           (unsigned long long)st.consumer_signals, (unsigned long long)st.producer_sleeps,
           (unsigned long long)st.producer_signals);
    wake_close(st.consumer_fd);
    wake_close(st.producer_fd);
    spsc_destroy(st.r);
}

START_TEST(test_sleep_wake_consumer) { run_sleepy(1024, big_count() / 10); }
END_TEST

/* A ring smaller than a burst: the producer sleeps on full too. */
START_TEST(test_sleep_wake_both_sides) { run_sleepy(8, big_count() / 10); }
END_TEST

static Suite *spsc_suite(void) {
    Suite *s = suite_create("spsc");
    TCase *tc = tcase_create("edges");
    tcase_add_test(tc, test_create_capacity);
    tcase_add_test(tc, test_empty_and_full);
    tcase_add_test(tc, test_wrap_around_batches);
    tcase_add_test(tc, test_partial_push_batch);
    tcase_add_test(tc, test_park_flags);
    tcase_add_test(tc, test_lost_wake_is_detected);
    suite_add_tcase(s, tc);

    tc = tcase_create("threads");
    tcase_set_timeout(tc, 240);
    tcase_add_test(tc, test_two_threads_millions);
    tcase_add_test(tc, test_two_threads_batches);
    tcase_add_test(tc, test_two_threads_capacity_two);
    tcase_add_test(tc, test_sleep_wake_consumer);
    tcase_add_test(tc, test_sleep_wake_both_sides);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) {
    SRunner *sr = srunner_create(spsc_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
