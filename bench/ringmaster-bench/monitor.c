/* monitor: one thread per server that answers the sampler's ticks with
 * INFO replication. A thread per server, blocking calls: a replica that
 * stalls (DEBUG SLEEP, a long fork) holds up its own thread only, and the
 * sampler keeps using that replica's last applied offset, so its byte lag
 * grows while it is frozen, as it should. A server that does not answer
 * within --timeout, or refuses the connection, is down; the thread keeps
 * reconnecting on the next ticks. */
#include "run.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct monitor_arg {
    rmb_run *run;
    rmb_node *node;
} monitor_arg;

static monitor_arg margs[RMB_MAX_REPLICAS + 1];

static void store(rmb_run *run, rmb_node *n, const char *info, uint64_t gen) {
    long long off = rmb_info_ll(info, "master_repl_offset", -1);
    if (!n->is_master) off = rmb_info_ll(info, "slave_repl_offset", off);
    char status[16];
    rmb_info_str(info, "master_link_status", status, sizeof(status));
    pthread_mutex_lock(&run->lock);
    n->offset = off;
    n->known = off >= 0;
    n->link_up = strcmp(status, "up") == 0;
    n->gen = gen;
    n->down = 0;
    pthread_cond_broadcast(&run->answered);
    pthread_mutex_unlock(&run->lock);
}

static void failed(rmb_run *run, rmb_node *n, const char *why) {
    if (n->is_master) {
        rmb_fail_master(run, "master %s: %s", n->addr.name, why);
        return;
    }
    pthread_mutex_lock(&run->lock);
    rmb_mark_down(run, n, why);
    pthread_mutex_unlock(&run->lock);
}

static void *monitor_main(void *arg) {
    monitor_arg *m = arg;
    rmb_run *run = m->run;
    rmb_node *n = m->node;
    rmb_conn *c = NULL;
    uint64_t seen = 0;
    char err[200];
    for (;;) {
        pthread_mutex_lock(&run->lock);
        while (!run->stop && run->gen == seen) pthread_cond_wait(&run->tick, &run->lock);
        seen = run->gen;
        int stop = run->stop;
        pthread_mutex_unlock(&run->lock);
        if (stop) break;
        if (!c && !(c = rmb_connect(run, &n->addr, err, sizeof(err)))) {
            failed(run, n, err);
            continue;
        }
        char *info = rmb_info(c, "replication", err, sizeof(err));
        if (!info) {
            rmb_conn_close(c);
            c = NULL;
            failed(run, n, err);
            continue;
        }
        store(run, n, info, seen);
        free(info);
    }
    rmb_conn_close(c);
    return NULL;
}

static void start_one(rmb_run *run, rmb_node *n, int slot) {
    margs[slot] = (monitor_arg){run, n};
    pthread_create(&n->monitor, NULL, monitor_main, &margs[slot]);
}

void rmb_monitors_start(rmb_run *run) {
    start_one(run, &run->master, 0);
    for (int i = 0; i < run->nrep; i++) start_one(run, &run->replicas[i], i + 1);
}

void rmb_monitors_join(rmb_run *run) {
    pthread_mutex_lock(&run->lock);
    run->stop = 1;
    pthread_cond_broadcast(&run->tick);
    pthread_mutex_unlock(&run->lock);
    pthread_join(run->master.monitor, NULL);
    for (int i = 0; i < run->nrep; i++) pthread_join(run->replicas[i].monitor, NULL);
}

static int all_answered(const rmb_run *run) {
    if (run->master.gen != run->gen) return 0;
    for (int i = 0; i < run->nrep; i++)
        if (run->replicas[i].gen != run->gen && !run->replicas[i].down) return 0;
    return 1;
}

void rmb_monitors_tick(rmb_run *run) {
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until); /* the condvar's clock */
    until.tv_nsec += 50000000;
    if (until.tv_nsec >= 1000000000) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000;
    }
    pthread_mutex_lock(&run->lock);
    run->gen++;
    pthread_cond_broadcast(&run->tick);
    while (!run->stop && !all_answered(run))
        if (pthread_cond_timedwait(&run->answered, &run->lock, &until) == ETIMEDOUT) break;
    pthread_mutex_unlock(&run->lock);
}
