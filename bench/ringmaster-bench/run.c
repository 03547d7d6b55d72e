/* run: the run-wide helpers every thread uses (see run.h). */
#include "run.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

uint64_t rmb_now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

double rmb_run_seconds(const rmb_run *run) {
    return (double)(rmb_now_ns() - run->start_ns) / 1e9;
}

rmb_conn *rmb_connect(const rmb_run *run, const rmb_addr *a, char *err, size_t len) {
    rmb_conn *c = rmb_conn_open(a, run->tls, run->o->sni, run->o->timeout, err, len);
    if (!c) return NULL;
    /* Over TLS 1.3 a server that wants a client certificate says so only
     * after the handshake: one round trip finds out here, where the error
     * names the server, rather than in the middle of the run. */
    const char *first = run->o->password ? "AUTH" : run->tls ? "PING" : NULL;
    if (!first) return c;
    redisReply *r = run->o->password ? rmb_conn_command(c, "AUTH %s", run->o->password)
                                     : rmb_conn_command(c, "PING");
    int bad = !r || r->type == REDIS_REPLY_ERROR;
    if (bad) snprintf(err, len, "%s: %s", first, !r ? rmb_conn_error(c) : r->str);
    freeReplyObject(r);
    if (bad) {
        rmb_conn_close(c);
        return NULL;
    }
    return c;
}

char *rmb_info(rmb_conn *c, const char *section, char *err, size_t len) {
    redisReply *r = rmb_conn_command(c, "INFO %s", section);
    if (!r || r->type != REDIS_REPLY_STRING) {
        snprintf(err, len, "INFO: %s",
                 !r ? rmb_conn_error(c) : r->type == REDIS_REPLY_ERROR ? r->str : "bad reply");
        freeReplyObject(r);
        return NULL;
    }
    char *text = strdup(r->str);
    freeReplyObject(r);
    return text;
}

void rmb_fail_master(rmb_run *run, const char *fmt, ...) {
    pthread_mutex_lock(&run->lock);
    if (!run->fatal) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(run->fatal_msg, sizeof(run->fatal_msg), fmt, ap);
        va_end(ap);
        run->fatal = 1;
    }
    run->stop = 1;
    pthread_cond_broadcast(&run->tick);
    pthread_mutex_unlock(&run->lock);
}

void rmb_mark_down(rmb_run *run, rmb_node *n, const char *why) {
    if (!n->down) {
        n->down = 1;
        n->ever_down = 1;
        n->down_reported = 0;
        n->down_at = rmb_run_seconds(run);
        snprintf(n->err, sizeof(n->err), "%s", why);
    }
}
