/* load: the client threads that load the master.
 *
 * Each thread drives its share of the --clients connections from one
 * poll loop (non-blocking connections, conn.h). Every request's start time
 * goes into its connection's FIFO, and replies come back in order, so the
 * reply pops the time its latency is measured from:
 *   closed loop: the moment it was sent, --pipeline in flight per connection;
 *   open loop: its intended time on the schedule (schedule.h), sent when due
 *   whatever the server is doing, round-robin over the connections. */
#include "run.h"
#include "schedule.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct lconn {
    rmb_conn *c;
    uint64_t *fifo; /* start times of the requests in flight, a ring */
    size_t head, count, cap;
} lconn;

typedef struct lthread {
    pthread_t tid;
    rmb_run *run;
    int index, nconn, rr;
    lconn *conns;
    rmb_sched sched;
    rmb_hist hist; /* since the last merge into run->latency_ns */
    uint64_t rng;
    uint64_t ops, errors;
    char *value;
} lthread;

static lthread *threads;

static void fifo_push(lconn *l, uint64_t t) {
    if (l->count == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 64;
        uint64_t *f = malloc(cap * sizeof(uint64_t));
        if (!f) abort();
        for (size_t i = 0; i < l->count; i++) f[i] = l->fifo[(l->head + i) % l->cap];
        free(l->fifo);
        l->fifo = f;
        l->head = 0;
        l->cap = cap;
    }
    l->fifo[(l->head + l->count) % l->cap] = t;
    l->count++;
}

static uint64_t fifo_pop(lconn *l) {
    uint64_t t = l->fifo[l->head];
    l->head = (l->head + 1) % l->cap;
    l->count--;
    return t;
}

static uint64_t xorshift(uint64_t *s) {
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

static void send_one(lthread *t, lconn *l, uint64_t start) {
    const rmb_opts *o = t->run->o;
    uint64_t r = xorshift(&t->rng);
    char key[32];
    int klen = snprintf(key, sizeof(key), "key:%llu", (unsigned long long)(r % (uint64_t)o->keyspace));
    int len;
    if (o->mixed && (r >> 40) & 1)
        len = rmb_conn_append(l->c, "GET %b", key, (size_t)klen);
    else
        len = rmb_conn_append(l->c, "SET %b %b", key, (size_t)klen, t->value, (size_t)o->value_size);
    if (len < 0) {
        rmb_fail_master(t->run, "master %s: %s", t->run->master.addr.name, rmb_conn_error(l->c));
        return;
    }
    fifo_push(l, start);
}

/* Hand out what is due now: the schedule's due operations (open loop) or
 * enough to refill each pipeline (closed loop). */
static void issue(lthread *t, uint64_t now) {
    rmb_run *run = t->run;
    if (run->o->rate > 0) {
        for (uint64_t n = rmb_sched_due(&t->sched, now); n > 0; n--) {
            send_one(t, &t->conns[t->rr], rmb_sched_take(&t->sched));
            t->rr = (t->rr + 1) % t->nconn;
        }
        return;
    }
    if (now >= run->load_end_ns) return;
    for (int i = 0; i < t->nconn; i++)
        while (t->conns[i].count < (size_t)run->o->pipeline) send_one(t, &t->conns[i], now);
}

static int flush(lthread *t, lconn *l) {
    if (rmb_conn_flush(l->c) < 0) {
        rmb_fail_master(t->run, "master %s: write failed: %s", t->run->master.addr.name,
                        rmb_conn_error(l->c));
        return -1;
    }
    return 0;
}

static int read_replies(lthread *t, lconn *l) {
    if (rmb_conn_read(l->c) < 0) {
        rmb_fail_master(t->run, "master %s: %s", t->run->master.addr.name, rmb_conn_error(l->c));
        return -1;
    }
    uint64_t now = rmb_now_ns();
    redisReply *reply;
    while (l->count) {
        if (rmb_conn_reply(l->c, &reply) < 0) {
            rmb_fail_master(t->run, "master %s: %s", t->run->master.addr.name, rmb_conn_error(l->c));
            return -1;
        }
        if (!reply) break;
        uint64_t start = fifo_pop(l);
        rmb_hist_record(&t->hist, now > start ? now - start : 0);
        if (reply->type == REDIS_REPLY_ERROR) t->errors++;
        t->ops++;
        freeReplyObject(reply);
    }
    return 0;
}

static int finished(const lthread *t, uint64_t now) {
    const rmb_run *run = t->run;
    if (run->stop) return 1;
    int sending = run->o->rate > 0 ? !rmb_sched_done(&t->sched) : now < run->load_end_ns;
    if (sending) return 0;
    for (int i = 0; i < t->nconn; i++)
        if (t->conns[i].count) return now > run->load_end_ns + (uint64_t)(run->o->timeout * 1e9);
    return 1;
}

static void merge(lthread *t) {
    rmb_run *run = t->run;
    pthread_mutex_lock(&run->lock);
    rmb_hist_merge(&run->latency_ns, &t->hist);
    uint64_t now = rmb_now_ns();
    if (now > run->load_last_ns) run->load_last_ns = now;
    pthread_mutex_unlock(&run->lock);
    run->ops_done += t->ops;
    run->ops_errors += t->errors;
    t->ops = t->errors = 0;
    rmb_hist_init(&t->hist);
}

/* How long poll may sleep: until the next operation is due (open loop),
 * else a bound so the 100 ms merge and the stop flag are seen. */
static int poll_timeout_us(const lthread *t, uint64_t now) {
    uint64_t wait = 10000000; /* 10 ms */
    if (t->run->o->rate > 0) {
        uint64_t next = rmb_sched_next(&t->sched);
        if (next != UINT64_MAX) wait = next > now ? next - now : 0;
        if (wait > 10000000) wait = 10000000;
    }
    return (int)(wait / 1000);
}

static int wait_io(lthread *t, struct pollfd *pfd, uint64_t now) {
    int buffered = 0; /* TLS plaintext OpenSSL holds: read it without sleeping */
    for (int i = 0; i < t->nconn; i++) {
        pfd[i].fd = rmb_conn_fd(t->conns[i].c);
        pfd[i].events = rmb_conn_events(t->conns[i].c, t->conns[i].count > 0);
        pfd[i].revents = 0;
        buffered |= rmb_conn_buffered(t->conns[i].c);
    }
    int us = buffered ? 0 : poll_timeout_us(t, now);
    struct timespec ts = {us / 1000000, (long)(us % 1000000) * 1000};
    int n = ppoll(pfd, (nfds_t)t->nconn, &ts, NULL);
    if (n < 0 && errno != EINTR) {
        rmb_fail_master(t->run, "poll: %s", strerror(errno));
        return -1;
    }
    for (int i = 0; (n > 0 || buffered) && i < t->nconn; i++) {
        int ready = rmb_conn_ready(t->conns[i].c, n > 0 ? pfd[i].revents : 0);
        if ((ready & RMB_CONN_READ) && read_replies(t, &t->conns[i]) < 0) return -1;
        if ((ready & RMB_CONN_WRITE) && flush(t, &t->conns[i]) < 0) return -1;
    }
    return 0;
}

static void *load_main(void *arg) {
    lthread *t = arg;
    struct pollfd *pfd = calloc((size_t)t->nconn, sizeof(*pfd));
    uint64_t last_merge = rmb_now_ns();
    for (;;) {
        uint64_t now = rmb_now_ns();
        if (finished(t, now)) break;
        issue(t, now);
        for (int i = 0; i < t->nconn; i++)
            if (rmb_conn_unsent(t->conns[i].c) && flush(t, &t->conns[i]) < 0) goto out;
        if (wait_io(t, pfd, now) < 0) break;
        if (rmb_now_ns() - last_merge >= 100000000) {
            merge(t);
            last_merge = rmb_now_ns();
        }
    }
out:
    merge(t);
    free(pfd);
    return NULL;
}

static int connect_thread(rmb_run *run, lthread *t, int first, int count) {
    char err[200];
    t->conns = calloc((size_t)count, sizeof(lconn));
    t->nconn = count;
    for (int i = 0; i < count; i++) {
        rmb_conn *c = rmb_connect(run, &run->master.addr, err, sizeof(err));
        if (!c) {
            rmb_fail_master(run, "cannot connect to master %s (client %d): %s",
                            run->master.addr.name, first + i, err);
            return -1;
        }
        t->conns[i].c = c;
    }
    return 0;
}

int rmb_load_start(rmb_run *run) {
    const rmb_opts *o = run->o;
    threads = calloc((size_t)o->threads, sizeof(lthread));
    int first = 0;
    for (int i = 0; i < o->threads; i++) {
        lthread *t = &threads[i];
        int count = o->clients / o->threads + (i < o->clients % o->threads);
        t->run = run;
        t->index = i;
        t->rng = 0x9E3779B97F4A7C15ull * (uint64_t)(i + 1);
        t->value = malloc((size_t)o->value_size + 1);
        memset(t->value, 'x', (size_t)o->value_size);
        rmb_hist_init(&t->hist);
        if (connect_thread(run, t, first, count) < 0) return -1;
        first += count;
    }
    for (int i = 0; i < o->threads; i++) {
        if (o->rate > 0)
            rmb_sched_init(&threads[i].sched, run->start_ns, o->rate, o->duration, o->threads, i);
        pthread_create(&threads[i].tid, NULL, load_main, &threads[i]);
    }
    return 0;
}

void rmb_load_join(rmb_run *run) {
    if (!threads) return;
    for (int i = 0; i < run->o->threads; i++) {
        lthread *t = &threads[i];
        if (t->tid) pthread_join(t->tid, NULL);
        for (int k = 0; k < t->nconn; k++) {
            rmb_conn_close(t->conns[k].c);
            free(t->conns[k].fifo);
        }
        free(t->conns);
        free(t->value);
    }
    free(threads);
    threads = NULL;
}
