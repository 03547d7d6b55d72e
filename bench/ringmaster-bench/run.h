/* run: the state one ringmaster-bench run shares between its threads.
 *
 * Threads: the load threads (load.c) send to the master; one INFO monitor
 * per server (monitor.c) answers the sampler's 100 ms ticks; the probe
 * thread (probe.c) publishes timestamps on the master and reads them back
 * on each replica; the full-sync thread (fullsync.c) when asked; the main
 * thread samples, prints and writes the report (main.c). Everything below
 * `lock` is guarded by it; counters the load threads bump are atomics. */
#ifndef RMB_RUN_H
#define RMB_RUN_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "conn.h"
#include "hist.h"
#include "opts.h"

typedef struct rmb_node {
    rmb_addr addr;
    int is_master;
    pthread_t monitor;
    /* INFO replication, as of the latest tick it answered */
    uint64_t gen;
    long long offset; /* master_repl_offset, or a replica's applied offset */
    int known;        /* offset holds an answer */
    int link_up;
    /* reachability */
    int down;
    int ever_down;
    int down_reported;
    double down_at; /* seconds into the run */
    char err[200];
    /* the time-lag probe (replicas) */
    int probe_lost;          /* the subscriber connection failed */
    uint64_t delivered;      /* highest probe sequence received */
    uint64_t pending_since;  /* master ack time of the oldest acked probe not received, or 0 */
    double last_delivery_ms; /* < 0 before the first */
    rmb_hist lag_ns;         /* per probe: receive time minus master ack time */
    rmb_hist lag_bytes;      /* per sample */
} rmb_node;

typedef struct rmb_fullsync {
    int asked, done, ok, happened;
    double started_at, seconds;
    long long peak_kb;        /* master RSS + its fork child's private pages; -1 unknown */
    long long rss_before_kb;  /* -1 unknown */
    long long stream_bytes;   /* master_repl_offset growth during the sync */
    long long peak_omem;      /* largest replica output buffer seen on the master; -1 unknown */
    char err[200];
} rmb_fullsync;

typedef struct rmb_run {
    rmb_opts *o;
    SSL_CTX *tls; /* --tls: every connection's context; NULL over plain TCP */
    uint64_t start_ns;
    uint64_t load_end_ns; /* the load stops sending here */
    atomic_int stop;      /* every thread winds down */
    atomic_int fatal;     /* the master could not be reached */
    pthread_mutex_t lock;
    pthread_cond_t tick, answered;
    uint64_t gen;
    char fatal_msg[300];
    rmb_node master;
    rmb_node replicas[RMB_MAX_REPLICAS];
    int nrep;
    /* load results */
    atomic_ullong ops_done, ops_errors;
    rmb_hist latency_ns; /* merged from the load threads every 100 ms */
    uint64_t load_last_ns;
    /* probe */
    uint64_t probes_sent, probes_acked, probe_bytes;
    rmb_fullsync fs;
} rmb_run;

uint64_t rmb_now_ns(void);
double rmb_run_seconds(const rmb_run *run); /* seconds since the start */

/* A connection to a (TLS with --tls), authenticated when the run has a
 * password, its waits bounded by the run's timeout; NULL with err filled. */
rmb_conn *rmb_connect(const rmb_run *run, const rmb_addr *a, char *err, size_t len);
/* The text of INFO <section>, malloc'd; NULL on an error (err filled). */
char *rmb_info(rmb_conn *c, const char *section, char *err, size_t len);
/* The master is gone: say why once and stop the run. */
void rmb_fail_master(rmb_run *run, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* A server did not answer: record it (under the lock). */
void rmb_mark_down(rmb_run *run, rmb_node *n, const char *why);

int rmb_load_start(rmb_run *run);
void rmb_load_join(rmb_run *run);
void rmb_monitors_start(rmb_run *run);
void rmb_monitors_join(rmb_run *run);
/* Ask every monitor for a fresh INFO; wait up to 50 ms for the answers. */
void rmb_monitors_tick(rmb_run *run);
/* Connect the probe (master publisher, one subscriber per replica) and
 * start its thread; -1 with *which the replica that failed (-1: the master). */
int rmb_probe_start(rmb_run *run, int *which, char *err, size_t len);
void rmb_probe_join(rmb_run *run);
void rmb_fullsync_start(rmb_run *run);
void rmb_fullsync_join(rmb_run *run);

#endif
