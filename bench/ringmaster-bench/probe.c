/* probe: lag in time. Every --probe-interval ms the master gets
 * PUBLISH <channel> <seq>, and the time its reply arrives is the probe's
 * ack time; each replica has a connection SUBSCRIBEd to the channel, and
 * a replica delivers a master's PUBLISH to its subscribers when it applies
 * it. The receive time minus the ack time is how long after the master
 * acknowledged a write the replica applied it. Both clocks are this
 * process's CLOCK_MONOTONIC. A replica costs one idle subscriber and one
 * small message per probe; the probes (counted and reported) are part of
 * the master's stream like any write.
 *
 * One thread, one poll loop, so a frozen replica delays nothing: its
 * messages wait in its socket, and the oldest probe it has not delivered
 * says how far behind it is right now (pending_since). */
#include "run.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct probe {
    rmb_run *run;
    pthread_t tid;
    rmb_conn *pub;
    rmb_conn *sub[RMB_MAX_REPLICAS];
    char channel[64];
    uint64_t *ack; /* ack time of probe seq (1-based) */
    size_t ack_cap;
} probe;

static probe P;

static void record_ack(probe *p, uint64_t seq, uint64_t t) {
    if (seq >= p->ack_cap) {
        size_t cap = p->ack_cap ? p->ack_cap * 2 : 1024;
        p->ack = realloc(p->ack, cap * sizeof(uint64_t));
        if (!p->ack) abort();
        p->ack_cap = cap;
    }
    p->ack[seq] = t;
}

/* Under run->lock: the oldest acked probe replica n has not delivered. */
static void update_pending(const probe *p, rmb_node *n) {
    uint64_t acked = p->run->probes_acked;
    n->pending_since = !n->probe_lost && n->delivered < acked ? p->ack[n->delivered + 1] : 0;
}

static int read_acks(probe *p) {
    rmb_run *run = p->run;
    if (rmb_conn_read(p->pub) < 0) return -1;
    uint64_t now = rmb_now_ns();
    redisReply *reply;
    for (;;) {
        if (rmb_conn_reply(p->pub, &reply) < 0) return -1;
        if (!reply) break;
        freeReplyObject(reply);
        pthread_mutex_lock(&run->lock);
        record_ack(p, ++run->probes_acked, now);
        for (int i = 0; i < run->nrep; i++) update_pending(p, &run->replicas[i]);
        pthread_mutex_unlock(&run->lock);
    }
    return 0;
}

static void delivered(probe *p, rmb_node *n, uint64_t seq, uint64_t now) {
    rmb_run *run = p->run;
    pthread_mutex_lock(&run->lock);
    /* A replica may deliver before this thread has read the master's
     * reply: the lag is then below what can be measured, counted as 0. */
    uint64_t ack = seq <= run->probes_acked ? p->ack[seq] : now;
    uint64_t lag = now > ack ? now - ack : 0;
    rmb_hist_record(&n->lag_ns, lag);
    n->last_delivery_ms = (double)lag / 1e6;
    if (seq > n->delivered) n->delivered = seq;
    update_pending(p, n);
    pthread_mutex_unlock(&run->lock);
}

static int read_messages(probe *p, int i) {
    rmb_node *n = &p->run->replicas[i];
    if (rmb_conn_read(p->sub[i]) < 0) return -1;
    uint64_t now = rmb_now_ns();
    redisReply *r;
    for (;;) {
        if (rmb_conn_reply(p->sub[i], &r) < 0) return -1;
        if (!r) break;
        if (r->type == REDIS_REPLY_ARRAY && r->elements == 3 && r->element[2]->str &&
            strcmp(r->element[0]->str, "message") == 0)
            delivered(p, n, strtoull(r->element[2]->str, NULL, 10), now);
        freeReplyObject(r);
    }
    return 0;
}

static void lose_subscriber(probe *p, int i) {
    rmb_run *run = p->run;
    rmb_node *n = &run->replicas[i];
    pthread_mutex_lock(&run->lock);
    n->probe_lost = 1;
    n->pending_since = 0;
    const char *why = rmb_conn_error(p->sub[i]);
    rmb_mark_down(run, n, why[0] ? why : "connection closed");
    pthread_mutex_unlock(&run->lock);
    rmb_conn_close(p->sub[i]);
    p->sub[i] = NULL;
}

static void publish(probe *p, uint64_t seq) {
    char msg[24];
    snprintf(msg, sizeof(msg), "%llu", (unsigned long long)seq);
    int len = rmb_conn_append(p->pub, "PUBLISH %s %s", p->channel, msg);
    if (len < 0) abort(); /* out of memory */
    pthread_mutex_lock(&p->run->lock);
    p->run->probes_sent = seq;
    p->run->probe_bytes += (uint64_t)len; /* also what each replica's stream carries */
    pthread_mutex_unlock(&p->run->lock);
}

static int poll_once(probe *p, int timeout_ms) {
    rmb_run *run = p->run;
    struct pollfd pfd[RMB_MAX_REPLICAS + 1];
    rmb_conn *conn[RMB_MAX_REPLICAS + 1];
    int idx[RMB_MAX_REPLICAS + 1], nfd = 0, buffered = 0;
    conn[nfd] = p->pub;
    idx[nfd++] = -1;
    for (int i = 0; i < run->nrep; i++) {
        if (!p->sub[i]) continue;
        conn[nfd] = p->sub[i];
        idx[nfd++] = i;
    }
    for (int k = 0; k < nfd; k++) {
        pfd[k] = (struct pollfd){rmb_conn_fd(conn[k]), rmb_conn_events(conn[k], 1), 0};
        buffered |= rmb_conn_buffered(conn[k]); /* TLS plaintext already in OpenSSL */
    }
    int n = poll(pfd, (nfds_t)nfd, buffered ? 0 : timeout_ms);
    if (n < 0) return errno == EINTR ? 0 : -1;
    /* The master first: an ack read before a delivery keeps the lag exact. */
    int ready = rmb_conn_ready(p->pub, pfd[0].revents);
    if ((ready & RMB_CONN_READ) && read_acks(p) < 0) return -1;
    if ((ready & RMB_CONN_WRITE) && rmb_conn_flush(p->pub) < 0) return -1;
    for (int k = 1; k < nfd; k++)
        if ((rmb_conn_ready(conn[k], pfd[k].revents) & RMB_CONN_READ) && read_messages(p, idx[k]) < 0)
            lose_subscriber(p, idx[k]);
    return 0;
}

static void *probe_main(void *arg) {
    probe *p = arg;
    rmb_run *run = p->run;
    uint64_t interval = (uint64_t)run->o->probe_ms * 1000000u;
    uint64_t next = rmb_now_ns(), seq = 0;
    while (!run->stop) {
        uint64_t now = rmb_now_ns();
        if (now >= next) {
            publish(p, ++seq);
            next += interval;
            if (next < now) next = now + interval; /* after a stall, no burst */
        }
        if (rmb_conn_flush(p->pub) < 0) break;
        int wait_ms = (int)((next - now) / 1000000) + 1;
        if (poll_once(p, wait_ms < 10 ? wait_ms : 10) < 0) break;
    }
    if (!run->stop)
        rmb_fail_master(run, "master %s: probe connection: %s", run->master.addr.name,
                        rmb_conn_error(p->pub)[0] ? rmb_conn_error(p->pub) : strerror(errno));
    return NULL;
}

static rmb_conn *subscribe(probe *p, const rmb_addr *a, char *err, size_t len) {
    rmb_conn *c = rmb_connect(p->run, a, err, len);
    if (!c) return NULL;
    redisReply *r = rmb_conn_command(c, "SUBSCRIBE %s", p->channel);
    int ok = r && r->type == REDIS_REPLY_ARRAY;
    if (!ok)
        snprintf(err, len, "SUBSCRIBE: %s", !r ? rmb_conn_error(c) : r->str ? r->str : "bad reply");
    freeReplyObject(r);
    if (!ok) {
        rmb_conn_close(c);
        return NULL;
    }
    return c;
}

int rmb_probe_start(rmb_run *run, int *which, char *err, size_t len) {
    probe *p = &P;
    p->run = run;
    snprintf(p->channel, sizeof(p->channel), "ringmaster-bench:probe:%d", (int)getpid());
    *which = -1;
    if (!(p->pub = rmb_connect(run, &run->master.addr, err, len))) return -1;
    for (int i = 0; i < run->nrep; i++) {
        run->replicas[i].last_delivery_ms = -1;
        *which = i;
        if (!(p->sub[i] = subscribe(p, &run->replicas[i].addr, err, len))) return -1;
    }
    record_ack(p, 0, 0);
    pthread_create(&p->tid, NULL, probe_main, p);
    return 0;
}

void rmb_probe_join(rmb_run *run) {
    probe *p = &P;
    if (p->tid) pthread_join(p->tid, NULL);
    rmb_conn_close(p->pub);
    for (int i = 0; i < run->nrep; i++) rmb_conn_close(p->sub[i]);
    free(p->ack);
    memset(p, 0, sizeof(*p));
}
