/* thread: the I/O thread skeleton. thread.h describes the two queues, the
 * two eventfds and the loop; this file keeps the rule that each field of an
 * io_thread is written by one thread only (marked below), so that the only
 * cross-thread traffic is the spsc rings, the eventfds and start_state. */
#include "io/thread.h"

#include "io/wake.h"

#include <errno.h>
#include <sched.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define POP_BATCH 64
#define IO_THREAD_SLICE_NS 100000ull /* the shortest slice EEVDF grants */
/* How long a stopping thread waits for its requests to complete. Zero-copy
 * notifications to a peer that stopped reading can take a while. */
#define STOP_DRAIN_MS 10000

/* Messages that did not fit in the ring, in order: a growable circular
 * queue owned by the producing thread. */
typedef struct msg_overflow {
    spsc_msg *buf;
    size_t cap; /* a power of two, or 0 */
    size_t head;
    size_t len;
} msg_overflow;

struct io_thread {
    /* Set before the thread starts, read-only afterwards. */
    unsigned index;
    unsigned ring_entries;
    io_thread_ops ops;
    void *ctx;
    pthread_t tid;
    spsc_ring *inbox;  /* keyspace -> I/O */
    spsc_ring *outbox; /* I/O -> keyspace */
    int io_wake_fd;    /* the I/O thread sleeps on it */
    int ks_wake_fd;    /* the keyspace thread sleeps on it */

    /* 0 while starting, then 1 (running) or a negative errno, published by
     * the I/O thread with release and read by the starter with acquire. */
    _Atomic int start_state;

    /* Keyspace thread only. */
    msg_overflow posts; /* waiting for inbox room */

    /* I/O thread only (and the keyspace after pthread_join). */
    ring ring;
    ring_req wake_req;     /* the read armed on io_wake_fd */
    uint64_t wake_counter; /* its buffer: the kernel's while the read is armed */
    msg_overflow reports;  /* waiting for outbox room */
    bool reported;         /* pushed to the outbox since the last wake check */
    bool stopping;
};

/* ---- overflow queue ----------------------------------------------------- */

static int overflow_push(msg_overflow *q, const spsc_msg *m) {
    if (q->len == q->cap) {
        size_t cap = q->cap ? q->cap * 2 : 64;
        spsc_msg *buf = malloc(cap * sizeof(*buf));
        if (buf == NULL) return -ENOMEM;
        for (size_t i = 0; i < q->len; i++) buf[i] = q->buf[(q->head + i) & (q->cap - 1)];
        free(q->buf);
        q->buf = buf;
        q->cap = cap;
        q->head = 0;
    }
    q->buf[(q->head + q->len) & (q->cap - 1)] = *m;
    q->len++;
    return 0;
}

/* Move queued messages into the ring, oldest first, while they fit.
 * Returns how many moved. */
static size_t overflow_flush(msg_overflow *q, spsc_ring *r) {
    size_t moved = 0;
    while (q->len > 0 && spsc_try_push(r, &q->buf[q->head])) {
        q->head = (q->head + 1) & (q->cap - 1);
        q->len--;
        moved++;
    }
    return moved;
}

static bool overflow_pop(msg_overflow *q, spsc_msg *out) {
    if (q->len == 0) return false;
    *out = q->buf[q->head];
    q->head = (q->head + 1) & (q->cap - 1);
    q->len--;
    return true;
}

static void overflow_free(msg_overflow *q) {
    free(q->buf);
    memset(q, 0, sizeof(*q));
}

/* ---- I/O thread side ---------------------------------------------------- */

static void on_wake(ring *r, ring_req *req, int res, uint32_t cqe_flags);

/* Arm the read on io_wake_fd. wake_counter is the kernel's until on_wake. */
static int arm_wake(io_thread *t) {
    return ring_prep_read(&t->ring, &t->wake_req, t->io_wake_fd, &t->wake_counter,
                          sizeof(t->wake_counter), 0);
}

static void on_wake(ring *r, ring_req *req, int res, uint32_t cqe_flags) {
    (void)r;
    (void)cqe_flags;
    io_thread *t = req->data;
    /* The read drained the counter; the loop looks at the rings next. A
     * failed read other than cancellation is re-armed too: losing the
     * wake-up path would hang the thread. */
    if (t->stopping || res == -ECANCELED) return;
    /* If the SQ is full and cannot be flushed, the loop retries (it checks
     * wake_req.busy before sleeping). */
    (void)arm_wake(t);
}

/* Push reports queued while the outbox was full, then signal the keyspace
 * once if it parked. */
static void flush_reports(io_thread *t) {
    if (overflow_flush(&t->reports, t->outbox) > 0) t->reported = true;
    if (t->reported) {
        t->reported = false;
        if (spsc_consumer_wake_needed(t->outbox)) wake_signal(t->ks_wake_fd);
    }
}

int io_thread_report(io_thread *t, const spsc_msg *m) {
    if (t->reports.len == 0 && spsc_try_push(t->outbox, m)) {
        t->reported = true;
        return 0;
    }
    return overflow_push(&t->reports, m);
}

/* Take every inbox message. Returns false once the stop message is seen
 * (messages behind it are not processed: nothing may be posted after it). */
static bool drain_inbox(io_thread *t) {
    spsc_msg batch[POP_BATCH];
    size_t n;
    while ((n = spsc_pop_batch(t->inbox, batch, POP_BATCH)) > 0) {
        /* Room appeared: the keyspace may have parked on a full inbox. */
        if (spsc_producer_wake_needed(t->inbox)) wake_signal(t->ks_wake_fd);
        for (size_t i = 0; i < n; i++) {
            if (batch[i].type == IO_THREAD_MSG_STOP) return false;
            t->ops.message(t, &batch[i], t->ctx);
        }
        /* Keep the keyspace's latency low while a long batch runs. */
        flush_reports(t);
    }
    return true;
}

/* Announce sleep on both queues. False if something changed meanwhile and
 * the loop must run again instead. */
static bool park(io_thread *t) {
    if (!spsc_park_consumer(t->inbox)) return false;
    if (t->reports.len > 0 && !spsc_park_producer(t->outbox)) return false;
    return true;
}

static void run(io_thread *t) {
    for (;;) {
        spsc_unpark_consumer(t->inbox);
        spsc_unpark_producer(t->outbox);
        if (!drain_inbox(t)) break;
        flush_reports(t);
        if (!t->wake_req.busy) (void)arm_wake(t);
        int rc = ring_peek(&t->ring);
        if (rc < 0)
            fprintf(stderr, "rm-io-%u: io_uring submit failed: %s\n", t->index, strerror(-rc));
        flush_reports(t);
        if (!park(t)) continue;
        /* Without the wake read armed a post could go unnoticed: then nap
         * briefly instead of sleeping until the next completion. */
        rc = ring_wait(&t->ring, t->wake_req.busy ? -1 : 10);
        if (rc < 0)
            fprintf(stderr, "rm-io-%u: io_uring wait failed: %s\n", t->index, strerror(-rc));
        flush_reports(t);
    }
}

static void shut_down(io_thread *t) {
    t->stopping = true;
    int rc = ring_drain(&t->ring, STOP_DRAIN_MS);
    if (rc < 0)
        fprintf(stderr, "rm-io-%u: %u io_uring requests still in flight at stop (%s)\n", t->index,
                t->ring.inflight, strerror(-rc));
    if (t->ops.stop) t->ops.stop(t, t->ctx);
    /* Whatever does not fit stays in t->reports for io_thread_stop, which
     * reads it after the join. */
    flush_reports(t);
    /* A ring with requests still in flight must not be torn down under the
     * kernel's feet while it may still write their buffers; leak it then. */
    if (rc == 0) ring_exit(&t->ring);
}

/* sched_setattr(2)'s argument, first version (48 bytes); glibc 2.36 has
 * neither the call nor the struct. */
typedef struct sched_attr_v1 {
    uint32_t size;
    uint32_t sched_policy;
    uint64_t sched_flags;
    int32_t sched_nice;
    uint32_t sched_priority;
    uint64_t sched_runtime;
    uint64_t sched_deadline;
    uint64_t sched_period;
} sched_attr_v1;

/* An I/O thread runs for microseconds at a time, often. Under EEVDF
 * (Linux 6.12 on) a normal thread may ask for a shorter slice than the
 * default 3 ms, which gives it earlier deadlines: woken on a busy CPU it
 * runs sooner, and the stream it sends reaches the replicas sooner. It
 * gets no more CPU than before and needs no privilege. The thread keeps
 * the policy and nice value it inherited (only SCHED_OTHER and
 * SCHED_BATCH threads are touched at all), and older kernels refuse or
 * ignore the request, which changes nothing. */
static void ask_short_slice(void) {
    sched_attr_v1 a;
    memset(&a, 0, sizeof(a));
    if (syscall(SYS_sched_getattr, 0, &a, sizeof(a), 0) != 0) return;
    if (a.sched_policy != SCHED_OTHER && a.sched_policy != SCHED_BATCH) return;
    a.size = sizeof(a);
    a.sched_flags = 0;
    a.sched_runtime = IO_THREAD_SLICE_NS;
    (void)syscall(SYS_sched_setattr, 0, &a, 0);
}

static void *thread_main(void *arg) {
    io_thread *t = arg;
    char name[16];
    snprintf(name, sizeof(name), "rm-io-%u", t->index);
    pthread_setname_np(pthread_self(), name);
    ask_short_slice();

    int rc = ring_init(&t->ring, t->ring_entries, RING_SETUP_THREAD);
    if (rc == 0) {
        ring_req_init(&t->wake_req, on_wake, t);
        rc = arm_wake(t);
        if (rc == 0 && t->ops.start) rc = t->ops.start(t, t->ctx);
        if (rc != 0) {
            t->stopping = true;
            ring_drain(&t->ring, STOP_DRAIN_MS);
            ring_exit(&t->ring);
        }
    }
    atomic_store_explicit(&t->start_state, rc == 0 ? 1 : (rc < 0 ? rc : -EIO),
                          memory_order_release);
    wake_signal(t->ks_wake_fd);
    if (rc != 0) return NULL;

    run(t);
    shut_down(t);
    return NULL;
}

/* ---- keyspace side ------------------------------------------------------ */

/* Move queued posts into the inbox; if some still do not fit, park on the
 * inbox so that the I/O thread signals ks_wake when it makes room. */
static void flush_posts(io_thread *t) {
    for (;;) {
        if (overflow_flush(&t->posts, t->inbox) > 0 && spsc_consumer_wake_needed(t->inbox))
            wake_signal(t->io_wake_fd);
        if (t->posts.len == 0 || spsc_park_producer(t->inbox)) return;
    }
}

int io_thread_post(io_thread *t, const spsc_msg *m) {
    if (t->posts.len == 0 && spsc_try_push(t->inbox, m)) {
        if (spsc_consumer_wake_needed(t->inbox)) wake_signal(t->io_wake_fd);
        return 0;
    }
    int rc = overflow_push(&t->posts, m);
    if (rc < 0) return rc;
    flush_posts(t);
    return 0;
}

int io_thread_wake_fd(const io_thread *t) { return t->ks_wake_fd; }

int io_thread_collect(io_thread *t, io_report_fn *fn, void *ctx) {
    /* Drain before looking at the rings (wake.h): a signal that arrives
     * after this belongs to a message the loop below may not see. */
    wake_drain(t->ks_wake_fd);
    spsc_unpark_consumer(t->outbox);
    spsc_unpark_producer(t->inbox);
    flush_posts(t);

    int total = 0;
    spsc_msg batch[POP_BATCH];
    for (;;) {
        size_t n = spsc_pop_batch(t->outbox, batch, POP_BATCH);
        if (n > 0) {
            if (spsc_producer_wake_needed(t->outbox)) wake_signal(t->io_wake_fd);
            for (size_t i = 0; i < n; i++) fn(ctx, &batch[i]);
            total += (int)n;
            continue;
        }
        /* Empty: stay parked until the I/O thread signals. The keyspace's
         * epoll loop is the sleeper, so parking here, between two event
         * loop passes, is the announcement. */
        if (spsc_park_consumer(t->outbox)) break;
    }
    return total;
}

static void free_thread(io_thread *t) {
    spsc_destroy(t->inbox);
    spsc_destroy(t->outbox);
    wake_close(t->io_wake_fd);
    wake_close(t->ks_wake_fd);
    overflow_free(&t->posts);
    overflow_free(&t->reports);
    free(t);
}

int io_thread_start(io_thread **out, const io_thread_config *cfg, const io_thread_ops *ops,
                    void *ctx) {
    *out = NULL;
    if (ops == NULL || ops->message == NULL) return -EINVAL;
    io_thread *t = calloc(1, sizeof(*t));
    if (t == NULL) return -ENOMEM;
    t->index = cfg ? cfg->index : 0;
    t->ring_entries = cfg && cfg->ring_entries ? cfg->ring_entries : 256;
    uint32_t cap = cfg && cfg->queue_capacity ? cfg->queue_capacity : 1024;
    t->ops = *ops;
    t->ctx = ctx;
    t->io_wake_fd = t->ks_wake_fd = -1;
    atomic_init(&t->start_state, 0);

    int rc = spsc_create(&t->inbox, cap);
    if (rc == 0) rc = spsc_create(&t->outbox, cap);
    if (rc == 0) rc = t->io_wake_fd = wake_open();
    if (rc >= 0) rc = t->ks_wake_fd = wake_open();
    if (rc < 0) {
        free_thread(t);
        return rc;
    }
    /* The keyspace starts out parked on the outbox: it sleeps in epoll until
     * the first report arrives. */
    spsc_park_consumer(t->outbox);

    /* The thread takes no signals: SIGTERM and friends belong to the
     * keyspace thread's handlers. The mask is inherited at creation. */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    rc = -pthread_create(&t->tid, NULL, thread_main, t);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc < 0) {
        free_thread(t);
        return rc;
    }

    int state;
    while ((state = atomic_load_explicit(&t->start_state, memory_order_acquire)) == 0)
        wake_wait(t->ks_wake_fd, 1000);
    if (state < 0) {
        pthread_join(t->tid, NULL);
        free_thread(t);
        return state;
    }
    /* The waits above may have swallowed a signal for reports the thread
     * already pushed: make the keyspace's first epoll pass collect. */
    wake_signal(t->ks_wake_fd);
    *out = t;
    return 0;
}

void io_thread_stop(io_thread *t, io_report_fn *fn, void *ctx) {
    if (t == NULL) return;
    const spsc_msg stop = {.type = IO_THREAD_MSG_STOP, .fd = -1};
    while (io_thread_post(t, &stop) < 0) wake_wait(t->ks_wake_fd, 10); /* out of memory: retry */
    /* The stop message may sit in the overflow queue behind earlier posts:
     * keep feeding the inbox (and taking reports, which makes room for the
     * I/O thread) until it is in. */
    while (t->posts.len > 0) {
        io_thread_collect(t, fn, ctx);
        if (t->posts.len > 0) wake_wait(t->ks_wake_fd, 100);
    }
    pthread_join(t->tid, NULL);
    /* The thread is gone: its overflow queue is ours now, and comes after
     * everything it managed to push into the outbox. */
    io_thread_collect(t, fn, ctx);
    spsc_msg m;
    while (overflow_pop(&t->reports, &m)) fn(ctx, &m);
    free_thread(t);
}

/* ---- I/O thread accessors ----------------------------------------------- */

ring *io_thread_ring(io_thread *t) { return &t->ring; }

bool io_thread_stopping(const io_thread *t) { return t->stopping; }

unsigned io_thread_index(const io_thread *t) { return t->index; }

/* ---- pool --------------------------------------------------------------- */

int io_pool_start(io_pool *p, unsigned count, const io_thread_config *cfg, const io_thread_ops *ops,
                  void *ctx) {
    memset(p, 0, sizeof(*p));
    if (count < 1 || count > IO_THREADS_MAX) return -EINVAL;
    for (unsigned i = 0; i < count; i++) {
        io_thread_config c = cfg ? *cfg : (io_thread_config){0};
        c.index = i;
        int rc = io_thread_start(&p->threads[i], &c, ops, ctx);
        if (rc < 0) {
            io_pool_stop(p, NULL, NULL);
            return rc;
        }
        p->count++;
    }
    return 0;
}

io_thread *io_pool_assign(io_pool *p) {
    if (p->count == 0) return NULL;
    io_thread *t = p->threads[p->next];
    p->next = (p->next + 1) % p->count;
    return t;
}

static void drop_report(void *ctx, const spsc_msg *m) {
    (void)ctx;
    (void)m;
}

void io_pool_stop(io_pool *p, io_report_fn *fn, void *ctx) {
    for (unsigned i = 0; i < p->count; i++)
        io_thread_stop(p->threads[i], fn ? fn : drop_report, ctx);
    memset(p, 0, sizeof(*p));
}
