/* fullsync: --full-sync. One second into the run, the first replica is
 * made to sync from scratch under the load: REPLICAOF NO ONE gives it a
 * new replication ID, so REPLICAOF <master> that follows cannot continue
 * partially and gets a full resync (a server that is no replica yet is
 * simply attached). Measured until its link is up and the sync is over:
 * the time; the master's peak memory, its RSS plus the private pages of
 * its fork child (copy-on-write and the child's own allocations), from
 * /proc when the master runs on this machine; and the stream the master
 * kept for the replica meanwhile (its offset growth, and the largest
 * replica output buffer CLIENT LIST showed). */
#include "run.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SYNC_LIMIT_S 600.0

static pthread_t fs_tid;

/* The sum of the named "Key:   N kB" fields of a /proc file; -1 if unreadable. */
static long long proc_kb(const char *path, const char *const *names) {
    FILE *f = fopen(path, "r");
    if (!f) return -1;
    char line[256];
    long long kb = 0;
    while (fgets(line, sizeof(line), f)) {
        for (const char *const *n = names; *n; n++) {
            size_t l = strlen(*n);
            if (strncmp(line, *n, l) == 0 && line[l] == ':') kb += atoll(line + l + 1);
        }
    }
    fclose(f);
    return kb;
}

static long long master_mem_kb(int pid) {
    static const char *const rss[] = {"VmRSS", NULL};
    static const char *const priv[] = {"Private_Clean", "Private_Dirty", NULL};
    char path[96];
    snprintf(path, sizeof(path), "/proc/%d/status", pid);
    long long kb = proc_kb(path, rss);
    if (kb < 0) return -1;
    snprintf(path, sizeof(path), "/proc/%d/task/%d/children", pid, pid);
    FILE *f = fopen(path, "r");
    int child;
    while (f && fscanf(f, "%d", &child) == 1) {
        snprintf(path, sizeof(path), "/proc/%d/smaps_rollup", child);
        long long c = proc_kb(path, priv);
        if (c > 0) kb += c;
    }
    if (f) fclose(f);
    return kb;
}

static int is_local(const char *host) {
    return strncmp(host, "127.", 4) == 0 || strcmp(host, "localhost") == 0 ||
           strcmp(host, "::1") == 0;
}

/* The master's pid when /proc can be read for it, else 0. */
static int master_pid(rmb_run *run, rmb_conn *mc) {
    char err[200];
    char *info = rmb_info(mc, "server", err, sizeof(err));
    int pid = info ? (int)rmb_info_ll(info, "process_id", 0) : 0;
    free(info);
    if (!pid || !is_local(run->master.addr.host)) return 0;
    char path[64];
    snprintf(path, sizeof(path), "/proc/%d/status", pid);
    return access(path, R_OK) == 0 ? pid : 0;
}

static long long info_field(rmb_conn *c, const char *section, const char *field) {
    char err[200];
    char *info = rmb_info(c, section, err, sizeof(err));
    long long v = info ? rmb_info_ll(info, field, -1) : -1;
    free(info);
    return v;
}

/* The largest omem= among the master's replica connections; -1 unknown. */
static long long replica_omem(rmb_conn *mc) {
    redisReply *r = rmb_conn_command(mc, "CLIENT LIST TYPE replica");
    long long max = -1;
    if (r && r->type == REDIS_REPLY_STRING) {
        for (const char *p = strstr(r->str, " omem="); p; p = strstr(p + 1, " omem="))
            if (atoll(p + 6) > max) max = atoll(p + 6);
    }
    freeReplyObject(r);
    return max;
}

static int synced(rmb_conn *rc) {
    char err[200], status[16];
    char *info = rmb_info(rc, "replication", err, sizeof(err));
    if (!info) return -1;
    rmb_info_str(info, "master_link_status", status, sizeof(status));
    int done = strcmp(status, "up") == 0 && rmb_info_ll(info, "master_sync_in_progress", 0) == 0;
    free(info);
    return done;
}

static int command_ok(rmb_conn *c, const char *fmt, const char *a, int port, char *err) {
    redisReply *r = port ? rmb_conn_command(c, fmt, a, port) : rmb_conn_command(c, fmt);
    int ok = r && r->type != REDIS_REPLY_ERROR;
    if (!ok) snprintf(err, 200, "%s", r ? r->str : rmb_conn_error(c));
    freeReplyObject(r);
    return ok;
}

/* Poll until the sync is over, keeping the peaks; 0 or -1 (fs->err). */
static int watch(rmb_run *run, rmb_conn *mc, rmb_conn *rc, int pid) {
    rmb_fullsync *fs = &run->fs;
    uint64_t t0 = rmb_now_ns();
    while (!run->fatal) {
        long long kb = pid ? master_mem_kb(pid) : -1;
        long long omem = replica_omem(mc);
        int done = synced(rc);
        pthread_mutex_lock(&run->lock);
        if (kb > fs->peak_kb) fs->peak_kb = kb;
        if (omem > fs->peak_omem) fs->peak_omem = omem;
        fs->seconds = (double)(rmb_now_ns() - t0) / 1e9;
        pthread_mutex_unlock(&run->lock);
        if (done < 0) return snprintf(fs->err, sizeof(fs->err), "replica stopped answering"), -1;
        if (done) return 0;
        if (fs->seconds > SYNC_LIMIT_S)
            return snprintf(fs->err, sizeof(fs->err), "no sync after %.0f s", SYNC_LIMIT_S), -1;
        usleep(20000);
    }
    return snprintf(fs->err, sizeof(fs->err), "the master went away"), -1;
}

static int resync(rmb_run *run, rmb_conn *mc, rmb_conn *rc) {
    rmb_fullsync *fs = &run->fs;
    char role[16], err[200];
    char *info = rmb_info(rc, "replication", err, sizeof(err));
    if (!info) return snprintf(fs->err, sizeof(fs->err), "%s", err), -1;
    rmb_info_str(info, "role", role, sizeof(role));
    free(info);
    if (strcmp(role, "slave") == 0 && !command_ok(rc, "REPLICAOF NO ONE", NULL, 0, fs->err)) return -1;
    int pid = master_pid(run, mc);
    long long full_before = info_field(mc, "stats", "sync_full");
    long long off_before = info_field(mc, "replication", "master_repl_offset");
    fs->rss_before_kb = pid ? master_mem_kb(pid) : -1;
    fs->peak_kb = fs->rss_before_kb;
    fs->started_at = rmb_run_seconds(run);
    if (!command_ok(rc, "REPLICAOF %s %d", run->master.addr.host, run->master.addr.port, fs->err))
        return -1;
    if (watch(run, mc, rc, pid) < 0) return -1;
    fs->happened = info_field(mc, "stats", "sync_full") > full_before;
    fs->stream_bytes = info_field(mc, "replication", "master_repl_offset") - off_before;
    return 0;
}

static void *fullsync_main(void *arg) {
    rmb_run *run = arg;
    rmb_fullsync *fs = &run->fs;
    while (!run->stop && rmb_run_seconds(run) < 1.0) usleep(10000);
    char err[200];
    rmb_conn *mc = rmb_connect(run, &run->master.addr, err, sizeof(err));
    rmb_conn *rc = mc ? rmb_connect(run, &run->replicas[0].addr, err, sizeof(err)) : NULL;
    int ok = 0;
    if (!rc) snprintf(fs->err, sizeof(fs->err), "%s", err);
    else if (!run->stop) ok = resync(run, mc, rc) == 0;
    rmb_conn_close(mc);
    rmb_conn_close(rc);
    pthread_mutex_lock(&run->lock);
    fs->ok = ok;
    fs->done = 1;
    pthread_mutex_unlock(&run->lock);
    return NULL;
}

void rmb_fullsync_start(rmb_run *run) {
    run->fs.asked = 1;
    run->fs.peak_kb = run->fs.rss_before_kb = run->fs.peak_omem = -1;
    pthread_create(&fs_tid, NULL, fullsync_main, run);
}

void rmb_fullsync_join(rmb_run *run) {
    if (run->fs.asked) pthread_join(fs_tid, NULL);
}
