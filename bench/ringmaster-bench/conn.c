/* conn: hiredis connections and the run-wide helpers every thread uses. */
#include "run.h"

#include <fcntl.h>
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

static struct timeval tv_of(double seconds) {
    struct timeval tv = {(time_t)seconds, (suseconds_t)((seconds - (time_t)seconds) * 1e6)};
    return tv;
}

redisContext *rmb_connect(const rmb_run *run, const rmb_addr *a, char *err, size_t len) {
    redisContext *c = redisConnectWithTimeout(a->host, a->port, tv_of(run->o->timeout));
    if (!c || c->err) {
        snprintf(err, len, "%s", c ? c->errstr : "out of memory");
        redisFree(c);
        return NULL;
    }
    redisSetTimeout(c, tv_of(run->o->timeout));
    if (run->o->password) {
        redisReply *r = redisCommand(c, "AUTH %s", run->o->password);
        int bad = !r || r->type == REDIS_REPLY_ERROR;
        snprintf(err, len, "AUTH: %s", !r ? c->errstr : bad ? r->str : "");
        freeReplyObject(r);
        if (bad) {
            redisFree(c);
            return NULL;
        }
    }
    return c;
}

void rmb_set_nonblocking(redisContext *c) {
    /* hiredis 0.14 has no call for this; its write and read paths treat
     * EAGAIN as "try later" exactly when REDIS_BLOCK is clear. */
    int fl = fcntl(c->fd, F_GETFL);
    fcntl(c->fd, F_SETFL, fl | O_NONBLOCK);
    c->flags &= ~REDIS_BLOCK;
}

char *rmb_info(redisContext *c, const char *section, char *err, size_t len) {
    redisReply *r = redisCommand(c, "INFO %s", section);
    if (!r || r->type != REDIS_REPLY_STRING) {
        snprintf(err, len, "INFO: %s", !r ? c->errstr : r->type == REDIS_REPLY_ERROR ? r->str : "bad reply");
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
