/* test_io_thread: the I/O thread skeleton (io/thread.h) with an echo link
 * of the test's own: queues, wake-ups, stop, pools. The replica hand-over
 * that repl/ builds on it is tested in test_handover.c.
 *
 * The test thread plays the keyspace thread: it hands socketpair fds to an
 * I/O thread through the inbox ("adopt this fd as link i"), plays the
 * replica on the other ends, and watches the outbox through the thread's
 * wake fd, as the epoll loop will. The I/O thread owns the adopted fds: it
 * echoes whatever arrives on them with io_uring recv/send and reports each
 * step back ("link i adopted", "echoed n bytes", "closed"). Each report
 * carries the I/O thread's own sequence number, so the test can tell that
 * it saw every report exactly once and in order.
 *
 * Queues of capacity 4 against dozens of links make both directions fill
 * up, so posts and reports go through the overflow queues and the
 * park/wake handshake on full rings. Run under ThreadSanitizer in CI. */
#include "io/thread.h"
#include "io/wake.h"

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define DEADLINE_MS 20000
#define MAX_LINKS 128

/* Inbox message types (keyspace -> I/O). */
enum { MSG_ADOPT = 1, MSG_DROP = 2 };
/* Report types (I/O -> keyspace). id is the link; val the I/O thread's report
 * sequence number; fd carries the thread index (STARTED) or a byte count
 * (ECHOED), test-only uses of that slot. */
enum { REP_STARTED = 100, REP_ADOPTED, REP_ECHOED, REP_CLOSED, REP_STOPPED };

/* ---- the I/O thread's side: touched only on its thread ----------------- */

typedef struct echo_link {
    io_thread *t;
    struct io_side *side;
    int fd;
    uint64_t id;
    ring_req recv_req, send_req;
    /* buf belongs to the kernel while recv_req or send_req is in flight;
     * the two never overlap (recv, then send what arrived, then recv). */
    char buf[512];
    size_t len, sent;
} echo_link;

typedef struct io_side {
    echo_link *links[MAX_LINKS];
    uint64_t seq;
} io_side;

static io_side sides[IO_THREADS_MAX]; /* one per I/O thread, by index */

static void report(io_thread *t, uint32_t type, uint64_t id, int32_t fd) {
    io_side *side = &sides[io_thread_index(t)];
    spsc_msg m = {.type = type, .fd = fd, .id = id, .val = side->seq++};
    ck_assert_int_eq(io_thread_report(t, &m), 0);
}

static void link_close(echo_link *l) {
    report(l->t, REP_CLOSED, l->id, -1);
    close(l->fd);
    l->side->links[l->id] = NULL;
    free(l);
}

static void on_send(ring *r, ring_req *req, int res, uint32_t flags);

static void arm_recv(echo_link *l, ring *r);

static void on_recv(ring *r, ring_req *req, int res, uint32_t flags) {
    (void)flags;
    echo_link *l = req->data;
    if (io_thread_stopping(l->t)) return; /* ops.stop frees it */
    if (res <= 0) {                       /* EOF, error, or cancelled by MSG_DROP */
        link_close(l);
        return;
    }
    l->len = (size_t)res;
    l->sent = 0;
    ck_assert_int_eq(ring_prep_send(r, &l->send_req, l->fd, l->buf, l->len, 0), 0);
}

static void on_send(ring *r, ring_req *req, int res, uint32_t flags) {
    (void)flags;
    echo_link *l = req->data;
    if (io_thread_stopping(l->t)) return;
    if (res < 0) {
        link_close(l);
        return;
    }
    l->sent += (size_t)res;
    if (l->sent < l->len) {
        ck_assert_int_eq(
            ring_prep_send(r, &l->send_req, l->fd, l->buf + l->sent, l->len - l->sent, 0), 0);
        return;
    }
    report(l->t, REP_ECHOED, l->id, (int32_t)l->len);
    arm_recv(l, r);
}

static void arm_recv(echo_link *l, ring *r) {
    ck_assert_int_eq(ring_prep_recv(r, &l->recv_req, l->fd, l->buf, sizeof(l->buf), 0), 0);
}

static int io_start(io_thread *t, void *ctx) {
    (void)ctx;
    memset(&sides[io_thread_index(t)], 0, sizeof(io_side));
    report(t, REP_STARTED, 0, (int32_t)io_thread_index(t));
    return 0;
}

static void io_message(io_thread *t, const spsc_msg *m, void *ctx) {
    (void)ctx;
    io_side *side = &sides[io_thread_index(t)];
    ring *r = io_thread_ring(t);
    switch (m->type) {
    case MSG_ADOPT: {
        ck_assert_uint_lt(m->id, MAX_LINKS);
        echo_link *l = calloc(1, sizeof(*l));
        ck_assert_ptr_nonnull(l);
        l->t = t;
        l->side = side;
        l->fd = m->fd; /* ours from here on */
        l->id = m->id;
        ring_req_init(&l->recv_req, on_recv, l);
        ring_req_init(&l->send_req, on_send, l);
        side->links[l->id] = l;
        report(t, REP_ADOPTED, l->id, -1);
        arm_recv(l, r);
        break;
    }
    case MSG_DROP:
        /* The recv completes with -ECANCELED and on_recv closes the link. */
        if (side->links[m->id]) ck_assert_int_eq(ring_prep_cancel_fd(r, side->links[m->id]->fd), 0);
        break;
    default:
        ck_abort_msg("unexpected message type %u", m->type);
    }
}

static void io_stop(io_thread *t, void *ctx) {
    (void)ctx;
    io_side *side = &sides[io_thread_index(t)];
    /* Every request has completed (the skeleton drained the ring): the
     * links and their buffers are ours to free. */
    for (unsigned i = 0; i < MAX_LINKS; i++) {
        echo_link *l = side->links[i];
        if (l == NULL) continue;
        ck_assert(!l->recv_req.busy && !l->send_req.busy);
        report(t, REP_STOPPED, l->id, -1);
        close(l->fd);
        free(l);
        side->links[i] = NULL;
    }
}

static const io_thread_ops echo_ops = {.start = io_start, .message = io_message, .stop = io_stop};

/* ---- the keyspace side ------------------------------------------------- */

typedef struct ks_view {
    uint64_t next_seq[IO_THREADS_MAX]; /* expected report sequence per thread */
    int owner[MAX_LINKS];              /* which thread reported the link */
    int started;
    int adopted, closed, stopped;
    uint64_t echoed_bytes[MAX_LINKS];
    int state[MAX_LINKS]; /* 0 none, 1 adopted, 2 closed or stopped */
    int current;          /* the thread whose reports are being collected */
    bool order_broken;
} ks_view;

static void on_report(void *ctx, const spsc_msg *m) {
    ks_view *v = ctx;
    if (m->val != v->next_seq[v->current]) v->order_broken = true;
    v->next_seq[v->current] = m->val + 1;
    switch (m->type) {
    case REP_STARTED:
        ck_assert_int_eq(m->fd, v->current);
        v->started++;
        break;
    case REP_ADOPTED:
        ck_assert_int_eq(v->state[m->id], 0);
        v->state[m->id] = 1;
        v->owner[m->id] = v->current;
        v->adopted++;
        break;
    case REP_ECHOED:
        ck_assert_int_eq(v->state[m->id], 1);
        v->echoed_bytes[m->id] += (uint64_t)m->fd;
        break;
    case REP_CLOSED:
    case REP_STOPPED:
        ck_assert_int_eq(v->state[m->id], 1);
        v->state[m->id] = 2;
        if (m->type == REP_CLOSED)
            v->closed++;
        else
            v->stopped++;
        break;
    default:
        ck_abort_msg("unexpected report type %u", m->type);
    }
}

static int64_t now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* One pass of the keyspace's event loop: sleep on the wake fds as epoll
 * would, then collect from every thread. */
static void ks_pass(io_thread **threads, unsigned n, ks_view *v, int timeout_ms) {
    struct pollfd p[IO_THREADS_MAX];
    for (unsigned i = 0; i < n; i++)
        p[i] = (struct pollfd){.fd = io_thread_wake_fd(threads[i]), .events = POLLIN};
    int rc = poll(p, n, timeout_ms);
    ck_assert_int_ge(rc, 0);
    for (unsigned i = 0; i < n; i++) {
        if (!(p[i].revents & POLLIN)) continue;
        v->current = (int)io_thread_index(threads[i]);
        io_thread_collect(threads[i], on_report, v);
    }
}

#define KS_WAIT_UNTIL(threads, n, v, cond)                                                         \
    do {                                                                                           \
        int64_t deadline_ = now_ms() + DEADLINE_MS;                                                \
        while (!(cond) && now_ms() < deadline_) ks_pass(threads, n, v, 100);                       \
        ck_assert_msg((cond), "timed out waiting for " #cond " (lost wake-up or report?)");        \
    } while (0)

static void read_exactly(int fd, char *buf, size_t len) {
    size_t got = 0;
    int64_t deadline = now_ms() + DEADLINE_MS;
    while (got < len && now_ms() < deadline) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, 100) <= 0) continue;
        ssize_t n = read(fd, buf + got, len - got);
        ck_assert_int_gt(n, 0);
        got += (size_t)n;
    }
    ck_assert_uint_eq(got, len);
}

static void adopt(io_thread *t, int fd, uint64_t id) {
    spsc_msg m = {.type = MSG_ADOPT, .fd = fd, .id = id};
    ck_assert_int_eq(io_thread_post(t, &m), 0);
}

/* N links through one thread, R echo rounds each, then the replicas hang
 * up one by one, some links dropped by the keyspace instead. */
START_TEST(test_adopt_echo_close) {
    enum { N = 48, ROUNDS = 20 };
    static ks_view v;
    memset(&v, 0, sizeof(v));
    io_thread_config cfg = {.index = 0, .ring_entries = 32, .queue_capacity = 4};
    io_thread *t;
    ck_assert_int_eq(io_thread_start(&t, &cfg, &echo_ops, NULL), 0);
    KS_WAIT_UNTIL(&t, 1, &v, v.started == 1);

    int peer[N];
    for (int i = 0; i < N; i++) {
        int sv[2];
        ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
        peer[i] = sv[0];
        adopt(t, sv[1], (uint64_t)i); /* 48 posts into a ring of 4: overflow */
    }
    KS_WAIT_UNTIL(&t, 1, &v, v.adopted == N);

    uint64_t expect[N] = {0};
    for (int round = 0; round < ROUNDS; round++) {
        char out[N][64], in[64];
        for (int i = 0; i < N; i++) {
            int len = snprintf(out[i], sizeof(out[i]), "link %d round %d %.*s", i, round, round,
                               "xxxxxxxxxxxxxxxxxxxxxxxxx");
            ck_assert_int_eq(write(peer[i], out[i], (size_t)len), len);
            expect[i] += (uint64_t)len;
        }
        for (int i = 0; i < N; i++) {
            size_t len = strlen(out[i]);
            read_exactly(peer[i], in, len);
            ck_assert_mem_eq(in, out[i], len);
        }
        /* Reports may trail the echoes a little. */
        int lagging;
        int64_t deadline = now_ms() + DEADLINE_MS;
        do {
            lagging = 0;
            for (int i = 0; i < N; i++) lagging += v.echoed_bytes[i] != expect[i];
            if (lagging) ks_pass(&t, 1, &v, 100);
        } while (lagging && now_ms() < deadline);
        ck_assert_int_eq(lagging, 0);
    }

    /* Even links: the replica hangs up. Odd links: the keyspace drops them. */
    for (int i = 0; i < N; i++) {
        if (i % 2 == 0) {
            close(peer[i]);
        } else {
            spsc_msg m = {.type = MSG_DROP, .fd = -1, .id = (uint64_t)i};
            ck_assert_int_eq(io_thread_post(t, &m), 0);
        }
    }
    KS_WAIT_UNTIL(&t, 1, &v, v.closed == N);
    for (int i = 1; i < N; i += 2) {
        /* The I/O thread closed its end: the replica sees EOF. */
        char c;
        ck_assert_int_eq(read(peer[i], &c, 1), 0);
        close(peer[i]);
    }
    io_thread_stop(t, on_report, &v);
    ck_assert(!v.order_broken);
    ck_assert_int_eq(v.stopped, 0);
    ck_assert_uint_eq(v.next_seq[0], 1 + N + (uint64_t)N * ROUNDS + N);
}
END_TEST

/* Stop with links still open and recvs in flight: the skeleton cancels
 * them, ops.stop frees the links, and its reports reach the stopper. */
START_TEST(test_stop_with_links_open) {
    enum { N = 20 };
    static ks_view v;
    memset(&v, 0, sizeof(v));
    io_thread_config cfg = {.index = 0, .queue_capacity = 4};
    io_thread *t;
    ck_assert_int_eq(io_thread_start(&t, &cfg, &echo_ops, NULL), 0);
    int peer[N];
    for (int i = 0; i < N; i++) {
        int sv[2];
        ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
        peer[i] = sv[0];
        adopt(t, sv[1], (uint64_t)i);
    }
    /* Stop at once: the adopts and the stop may all still be queued. The
     * reports (20 adopted + 20 stopped) overflow an outbox of 4 while the
     * stopper waits in the join. */
    io_thread_stop(t, on_report, &v);
    ck_assert(!v.order_broken);
    ck_assert_int_eq(v.started, 1);
    ck_assert_int_eq(v.adopted, N);
    ck_assert_int_eq(v.stopped, N);
    for (int i = 0; i < N; i++) {
        char c;
        ck_assert_int_eq(read(peer[i], &c, 1), 0); /* the thread closed its end */
        close(peer[i]);
    }
}
END_TEST

/* repl-io-threads 3: links go round-robin, each thread echoes its own. */
START_TEST(test_pool_round_robin) {
    enum { THREADS = 3, N = 12 };
    static ks_view v;
    memset(&v, 0, sizeof(v));
    io_pool pool;
    io_thread_config cfg = {.queue_capacity = 8};
    ck_assert_int_eq(io_pool_start(&pool, THREADS, &cfg, &echo_ops, NULL), 0);
    ck_assert_uint_eq(pool.count, THREADS);
    KS_WAIT_UNTIL(pool.threads, THREADS, &v, v.started == THREADS);

    int peer[N];
    for (int i = 0; i < N; i++) {
        int sv[2];
        ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
        peer[i] = sv[0];
        io_thread *t = io_pool_assign(&pool);
        ck_assert_uint_eq(io_thread_index(t), (unsigned)(i % THREADS));
        adopt(t, sv[1], (uint64_t)i);
    }
    KS_WAIT_UNTIL(pool.threads, THREADS, &v, v.adopted == N);
    for (int i = 0; i < N; i++) ck_assert_int_eq(v.owner[i], i % THREADS);
    for (int i = 0; i < N; i++) ck_assert_int_eq(write(peer[i], "ping", 4), 4);
    for (int i = 0; i < N; i++) {
        char in[4];
        read_exactly(peer[i], in, 4);
        ck_assert_mem_eq(in, "ping", 4);
    }
    int echoed = 0;
    int64_t deadline = now_ms() + DEADLINE_MS;
    while (echoed < N && now_ms() < deadline) {
        ks_pass(pool.threads, THREADS, &v, 100);
        echoed = 0;
        for (int i = 0; i < N; i++) echoed += v.echoed_bytes[i] == 4;
    }
    ck_assert_int_eq(echoed, N);
    for (int i = 0; i < N; i++) close(peer[i]);
    KS_WAIT_UNTIL(pool.threads, THREADS, &v, v.closed == N);

    /* io_pool_stop delivers reports without saying which thread sent them,
     * and there are none left to deliver: every link is closed. */
    io_pool_stop(&pool, NULL, NULL);
    ck_assert_uint_eq(pool.count, 0);
    ck_assert(!v.order_broken);
}
END_TEST

static int failing_start(io_thread *t, void *ctx) {
    (void)t;
    (void)ctx;
    return -EADDRINUSE;
}

START_TEST(test_start_failure) {
    io_thread_ops ops = echo_ops;
    ops.start = failing_start;
    io_thread *t = (io_thread *)&ops;
    ck_assert_int_eq(io_thread_start(&t, NULL, &ops, NULL), -EADDRINUSE);
    ck_assert_ptr_null(t);
    io_pool pool;
    ck_assert_int_eq(io_pool_start(&pool, 0, NULL, &echo_ops, NULL), -EINVAL);
    ck_assert_int_eq(io_pool_start(&pool, IO_THREADS_MAX + 1, NULL, &echo_ops, NULL), -EINVAL);
    ck_assert_int_eq(io_pool_start(&pool, 2, NULL, &ops, NULL), -EADDRINUSE);
    ck_assert_uint_eq(pool.count, 0);
}
END_TEST

static Suite *io_thread_suite(void) {
    Suite *s = suite_create("io_thread");
    TCase *tc = tcase_create("io_thread");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_adopt_echo_close);
    tcase_add_test(tc, test_stop_with_links_open);
    tcase_add_test(tc, test_pool_round_robin);
    tcase_add_test(tc, test_start_failure);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) {
    SRunner *sr = srunner_create(io_thread_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
