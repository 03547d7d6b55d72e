/* persist: SAVE, BGSAVE, save points, shutdown saves, startup loading.
 *
 * Background saves fork. The child inherits a frozen copy of the dataset
 * (copy-on-write pages), closes the listening sockets so a restarted
 * parent can bind again, writes temp-<childpid>.rdb, fsyncs and renames it
 * over dbfilename (rdb_save_file), reports the memory it dirtied through a
 * pipe, and _exits 0 or 1. The parent never waits: the cron reaps the
 * child with WNOHANG and records the outcome, and while a child lives the
 * dicts do not resize so the parent dirties as few shared pages as
 * possible. Only one child runs at a time, a replication snapshot's
 * included; BGSAVE SCHEDULE (or a BGSAVE inside MULTI) queues one for when
 * the running child is gone.
 *
 * A replication snapshot with a disk target writes dbfilename exactly as
 * BGSAVE does, so replication reports its child here (fork and exit) and
 * it counts as a save: INFO shows it in progress, and its success moves
 * lastsave and the dirty counter, its failure sets the error status.
 *
 * While the last background save failed and save points are configured,
 * stop-writes-on-bgsave-error makes the dispatcher refuse writes with
 * -MISCONF (persist_writes_refused): an operator who asked for snapshots
 * is told at once that they are not being taken. A successful save of
 * any kind clears the state.
 *
 * FLUSHALL kills a running BGSAVE child, whose snapshot still holds the
 * flushed keys and would bring them back at the next load, and with save
 * points it writes the empty dataset at once, as Redis 7.0's
 * flushAllDataAndResetRDB does.
 *
 * Save points (`save 900 1 300 10`): a BGSAVE starts when at least
 * <changes> writes happened and more than <seconds> passed since the last
 * successful save; after a failed BGSAVE, retries wait 5 seconds, as in
 * Redis. `dirty` counts writes; a successful save subtracts the writes
 * that were in the snapshot (dirty_before_bgsave), not the ones that came
 * while the child ran.
 *
 * The state lives beside the server, keyed by its address, so that
 * server.h carries no persistence fields; it is owned by the keyspace
 * thread like the server itself. */
#include "core/persist.h"

#include "repl/repl.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core/commands.h"
#include "core/db.h"
#include "core/debug.h"
#include "core/latency.h"
#include "core/log.h"
#include "core/mem.h"
#include "core/reply.h"
#include "core/util.h"

#define BGSAVE_RETRY_DELAY 5 /* seconds between save-point retries after a failure */

#define ERR_BGSAVE_RUNNING "ERR Background save already in progress"
#define ERR_OTHER_CHILD                                                                        \
    "ERR Another child process is active (AOF?): can't BGSAVE right now. Use BGSAVE SCHEDULE " \
    "in order to schedule a BGSAVE whenever possible."

typedef struct persist_state {
    server *srv;
    pid_t child_pid;
    int child_info_fd; /* read end: the child's copy-on-write size */
    long long child_start_ms;
    int bgsave_scheduled;
    int last_bgsave_ok;
    long long last_bgsave_secs; /* duration of the last BGSAVE, -1 before any */
    long long last_bgsave_try;  /* unix seconds */
    long long saves; /* BGSAVE forks and SAVE commands, as Redis's rdb_saves */
    long long last_cow_size;
    long long total_forks;      /* every snapshot child, BGSAVE's and replication's */
    long long latest_fork_usec; /* how long the last fork() held the keyspace thread */
    /* What the running child last reported (child_info_msg), for INFO. */
    long long cur_keys_processed;
    long long cur_keys_total;
    long long cur_cow_size;
    long long cur_cow_peak;
    long long cur_cow_updated_ms; /* 0: no report yet */
    /* A replication snapshot child, as replication reported it. */
    pid_t repl_child_pid;
    int repl_child_to_disk;
    long long repl_child_start_ms;
    int have_load;
    rdb_load_info last_load;
} persist_state;

#define MAX_SERVERS 8
static persist_state *states[MAX_SERVERS];

static persist_state *ps_of(const server *s) {
    for (int i = 0; i < MAX_SERVERS; i++)
        if (states[i] && states[i]->srv == s) return states[i];
    for (int i = 0; i < MAX_SERVERS; i++) {
        if (!states[i]) {
            persist_state *ps = mem_calloc(sizeof(*ps));
            ps->srv = (server *)s;
            ps->child_pid = -1;
            ps->child_info_fd = -1;
            ps->repl_child_pid = -1;
            ps->last_bgsave_ok = 1;
            ps->last_bgsave_secs = -1;
            states[i] = ps;
            return ps;
        }
    }
    log_msg(LL_WARNING, "persist: too many server instances in one process");
    abort();
}

void persist_free(server *s) {
    for (int i = 0; i < MAX_SERVERS; i++) {
        if (states[i] && states[i]->srv == s) {
            if (states[i]->child_info_fd >= 0) close(states[i]->child_info_fd);
            mem_free(states[i]);
            states[i] = NULL;
        }
    }
}

int persist_child_active(const server *s) { return ps_of(s)->child_pid != -1; }

int persist_writes_refused(const server *s) {
    const persist_state *ps = ps_of(s);
    return s->cfg.stop_writes_on_bgsave_error && s->cfg.nsave > 0 && !ps->last_bgsave_ok;
}

const rdb_load_info *persist_last_load(const server *s) {
    persist_state *ps = ps_of(s);
    return ps->have_load ? &ps->last_load : NULL;
}

static long long now_sec(void) { return util_ms_time() / 1000; }

/* ---- foreground save ---------------------------------------------------- */

static int save_now(server *s, char *err, size_t errlen) {
    persist_state *ps = ps_of(s);
    rdb_save_info rsi;
    int has_rsi = repl_rdb_save_info(s, &rsi);
    long long dirty = s->dirty;
    if (rdb_save_file(s, s->cfg.dbfilename, has_rsi ? &rsi : NULL, NULL, err, errlen) < 0) return -1;
    s->dirty -= dirty;
    s->lastsave = now_sec();
    ps->last_bgsave_ok = 1;
    return 0;
}

/* ---- background save ---------------------------------------------------- */

/* Private_Dirty of this process: what copy-on-write has cost so far. */
static long long private_dirty_bytes(void) {
    FILE *f = fopen("/proc/self/smaps_rollup", "r");
    if (!f) return 0;
    char line[256];
    long long kb = 0, total = 0;
    while (fgets(line, sizeof(line), f))
        if (sscanf(line, "Private_Dirty: %lld kB", &kb) == 1) total += kb;
    fclose(f);
    return total * 1024;
}

/* ---- the child-info pipe ------------------------------------------------- *
 *
 * Every snapshot child (a BGSAVE, a replication snapshot) reports to the
 * parent through one non-blocking pipe, as Redis's child info pipe does:
 * while it saves, at most once a second, how many keys it has written and
 * how much memory copy-on-write has cost so far (its Private_Dirty); at
 * the end, the final copy-on-write size. Messages are smaller than
 * PIPE_BUF, so each write is atomic; a full pipe drops a progress report
 * rather than block the save. The parent drains the pipe at every cron
 * tick and when it reaps the child. Only one child runs at a time, so one
 * pipe end in persist_state is enough. */

typedef struct child_info_msg {
    int done;        /* 1: the final report, sent just before _exit(0) */
    long long keys;  /* keys written so far */
    long long cow;   /* Private_Dirty bytes of the child */
} child_info_msg;

/* Child side only: these are set in the child right after the fork and
 * never read in the parent. */
static int child_report_fd = -1;
static long long child_report_ms;
static long long child_cow_peak, child_cow_last, child_cow_sum, child_cow_samples;

static void child_report(int done, long long keys) {
    if (child_report_fd < 0) return;
    child_info_msg m = {.done = done, .keys = keys, .cow = private_dirty_bytes()};
    child_cow_last = m.cow;
    if (m.cow > child_cow_peak) child_cow_peak = m.cow;
    child_cow_sum += m.cow;
    child_cow_samples++;
    ssize_t w = write(child_report_fd, &m, sizeof(m));
    (void)w; /* a dropped progress report is harmless */
}

void persist_child_progress(void *priv, long long keys_done) {
    (void)priv;
    long long now = util_ms_time();
    if (child_report_ms && now - child_report_ms < 1000) return;
    child_report_ms = now;
    child_report(0, keys_done);
}

void persist_child_finish(void) {
    child_report(1, 0);
    if (child_cow_samples && child_cow_last)
        log_msg(LL_NOTICE, "Fork CoW for RDB: current %lld MB, peak %lld MB, average %lld MB",
                child_cow_last >> 20, child_cow_peak >> 20,
                (child_cow_sum / child_cow_samples) >> 20);
}

/* Parent side: take in every report waiting in the pipe. */
static void drain_child_info(persist_state *ps) {
    if (ps->child_info_fd < 0) return;
    child_info_msg m;
    while (read(ps->child_info_fd, &m, sizeof(m)) == (ssize_t)sizeof(m)) {
        if (m.done) {
            ps->last_cow_size = m.cow;
            continue;
        }
        ps->cur_keys_processed = m.keys;
        ps->cur_cow_size = m.cow;
        if (m.cow > ps->cur_cow_peak) ps->cur_cow_peak = m.cow;
        ps->cur_cow_updated_ms = util_ms_time();
    }
}

/* The child is gone: read its last words, forget the running figures. */
static void close_child_info(persist_state *ps) {
    drain_child_info(ps);
    if (ps->child_info_fd >= 0) close(ps->child_info_fd);
    ps->child_info_fd = -1;
    ps->cur_keys_processed = ps->cur_keys_total = 0;
    ps->cur_cow_size = ps->cur_cow_peak = ps->cur_cow_updated_ms = 0;
}

pid_t persist_fork(server *s) {
    persist_state *ps = ps_of(s);
    int pfd[2];
    if (pipe2(pfd, O_CLOEXEC | O_NONBLOCK) < 0) pfd[0] = pfd[1] = -1;
    long long keys = 0;
    for (int j = 0; j < s->dbnum; j++) keys += (long long)dict_size(s->dbs[j].keys);
    long long start = util_mono_us();
    pid_t pid = fork();
    if (pid == 0) {
        if (pfd[0] >= 0) close(pfd[0]);
        child_report_fd = pfd[1];
        child_report_ms = 0;
        child_cow_peak = child_cow_last = child_cow_sum = child_cow_samples = 0;
        return 0;
    }
    int e = errno;
    if (pfd[1] >= 0) close(pfd[1]);
    if (pid < 0) {
        if (pfd[0] >= 0) close(pfd[0]);
        errno = e;
        return -1;
    }
    ps->latest_fork_usec = util_mono_us() - start;
    ps->total_forks++;
    latency_add_sample_if_needed(s, "fork", ps->latest_fork_usec / 1000);
    close_child_info(ps); /* a previous child's pipe, if it was never reaped */
    ps->child_info_fd = pfd[0];
    ps->cur_keys_total = keys;
    return pid;
}

void persist_fork_stats(const server *s, long long *total_forks, long long *latest_fork_usec) {
    const persist_state *ps = ps_of(s);
    *total_forks = ps->total_forks;
    *latest_fork_usec = ps->latest_fork_usec;
}

void persist_reset_stats(server *s) {
    persist_state *ps = ps_of(s);
    ps->total_forks = ps->latest_fork_usec = 0;
}

static void child_main(server *s) {
    log_set_role('C');
    for (int i = 0; i < s->nlisteners; i++) close(s->listeners[i].fd);
    /* A replica's socket held open here would outlive the parent's close
     * of it until this child exits. The numbers are live sockets: the
     * parent closes them only on its own thread (repl/link.h). */
    repl_child_close_replica_sockets(s, &child_report_fd, 1);
    char err[512];
    rdb_save_info rsi;
    int has_rsi = repl_rdb_save_info(s, &rsi);
    rdb_save_progress progress = {persist_child_progress, NULL};
    int rc = rdb_save_file(s, s->cfg.dbfilename, has_rsi ? &rsi : NULL, &progress, err,
                           sizeof(err));
    if (rc == 0) persist_child_finish();
    _exit(rc == 0 ? 0 : 1);
}

int persist_bgsave(server *s, char *err, size_t errlen) {
    persist_state *ps = ps_of(s);
    if (ps->child_pid != -1) {
        snprintf(err, errlen, "Background save already in progress");
        return -1;
    }
    if (repl_child_active(s)) {
        snprintf(err, errlen, "%s", ERR_OTHER_CHILD + 4);
        return -1;
    }
    ps->saves++; /* counted at the fork, failed or not, as Redis counts */
    s->dirty_before_bgsave = s->dirty;
    ps->last_bgsave_try = now_sec();
    pid_t pid = persist_fork(s);
    if (pid < 0) {
        int e = errno;
        ps->last_bgsave_ok = 0;
        log_msg(LL_WARNING, "Can't save in background: fork: %s", strerror(e));
        snprintf(err, errlen, "Can't save in background: fork: %s", strerror(e));
        return -1;
    }
    if (pid == 0) child_main(s);
    ps->child_pid = pid;
    ps->child_start_ms = util_ms_time();
    ps->bgsave_scheduled = 0;
    dict_resize_enabled(0);
    log_msg(LL_NOTICE, "Background saving started by pid %d", (int)pid);
    return 0;
}

static void child_done(server *s, int exitcode, int bysignal) {
    persist_state *ps = ps_of(s);
    long long now_ms = util_ms_time();
    ps->last_bgsave_secs = (now_ms - ps->child_start_ms) / 1000;
    if (!bysignal && exitcode == 0) {
        log_msg(LL_NOTICE, "Background saving terminated with success");
        s->dirty -= s->dirty_before_bgsave;
        if (s->dirty < 0) s->dirty = 0;
        s->lastsave = now_ms / 1000;
        ps->last_bgsave_ok = 1;
    } else if (!bysignal) {
        log_msg(LL_WARNING, "Background saving error");
        ps->last_bgsave_ok = 0;
    } else {
        log_msg(LL_WARNING, "Background saving terminated by signal %d", bysignal);
        char tmp[64];
        snprintf(tmp, sizeof(tmp), "temp-%d.rdb", (int)ps->child_pid);
        unlink(tmp);
        /* SIGUSR1 is how a save is cancelled on purpose: not an error. */
        if (bysignal != SIGUSR1) ps->last_bgsave_ok = 0;
    }
    close_child_info(ps); /* the final copy-on-write size comes with a success */
    ps->child_pid = -1;
    dict_resize_enabled(1);
}

static void reap_child(server *s) {
    persist_state *ps = ps_of(s);
    if (ps->child_pid == -1) return;
    int status;
    pid_t pid = waitpid(ps->child_pid, &status, WNOHANG);
    if (pid == 0) return;
    if (pid < 0) {
        log_msg(LL_WARNING, "waitpid() returned an error: %s. child_pid = %d", strerror(errno),
                (int)ps->child_pid);
        child_done(s, 1, 0);
        return;
    }
    if (WIFSIGNALED(status)) child_done(s, 0, WTERMSIG(status));
    else child_done(s, WEXITSTATUS(status), 0);
}

/* Cancel the BGSAVE child: SIGUSR1 is the signal child_done does not
 * count as a failure. Waiting here (unlike Redis, which lets the cron reap
 * it) means no second child can start while this one still writes. */
static void kill_child(server *s) {
    persist_state *ps = ps_of(s);
    if (ps->child_pid == -1) return;
    kill(ps->child_pid, SIGUSR1);
    int status;
    while (waitpid(ps->child_pid, &status, 0) < 0 && errno == EINTR)
        continue;
    child_done(s, 0, SIGUSR1);
}

void persist_flushall(server *s) {
    kill_child(s);
    repl_snapshot_abort_disk(s, "FLUSHALL");
    if (s->cfg.nsave == 0) return;
    char err[512];
    if (save_now(s, err, sizeof(err)) < 0)
        log_msg(LL_WARNING, "Error saving the flushed dataset: %s", err);
}

/* ---- replication snapshots ------------------------------------------------ */

void persist_repl_child_started(server *s, pid_t pid, int to_disk) {
    persist_state *ps = ps_of(s);
    ps->repl_child_pid = pid;
    ps->repl_child_to_disk = to_disk;
    ps->repl_child_start_ms = util_ms_time();
    if (!to_disk) return;
    s->dirty_before_bgsave = s->dirty;
    ps->last_bgsave_try = ps->repl_child_start_ms / 1000;
    ps->saves++;
}

void persist_repl_child_done(server *s, enum persist_child_outcome outcome) {
    persist_state *ps = ps_of(s);
    if (ps->repl_child_pid == -1) return;
    long long now_ms = util_ms_time();
    if (ps->repl_child_to_disk) {
        ps->last_bgsave_secs = (now_ms - ps->repl_child_start_ms) / 1000;
        if (outcome == PERSIST_CHILD_OK) {
            s->dirty -= s->dirty_before_bgsave;
            if (s->dirty < 0) s->dirty = 0;
            s->lastsave = now_ms / 1000;
            ps->last_bgsave_ok = 1;
        } else if (outcome == PERSIST_CHILD_FAILED) {
            ps->last_bgsave_ok = 0;
        }
    }
    close_child_info(ps);
    ps->repl_child_pid = -1;
}

void persist_cron(server *s) {
    persist_state *ps = ps_of(s);
    drain_child_info(ps);
    reap_child(s);
    if (ps->child_pid != -1 || repl_child_active(s)) return;
    long long now = now_sec();
    int retry_ok = now - ps->last_bgsave_try > BGSAVE_RETRY_DELAY || ps->last_bgsave_ok;
    char err[256];
    if (ps->bgsave_scheduled && retry_ok) {
        persist_bgsave(s, err, sizeof(err));
        return;
    }
    for (int i = 0; i < s->cfg.nsave; i++) {
        const save_param *sp = &s->cfg.save[i];
        if (s->dirty >= sp->changes && now - s->lastsave > sp->seconds && retry_ok) {
            log_msg(LL_NOTICE, "%lld changes in %lld seconds. Saving...", sp->changes,
                    sp->seconds);
            persist_bgsave(s, err, sizeof(err));
            break;
        }
    }
}

/* ---- shutdown and startup ------------------------------------------------ */

int persist_shutdown(server *s, int flags) {
    persist_state *ps = ps_of(s);
    if (ps->child_pid != -1) {
        log_msg(LL_WARNING, "There is a child saving an .rdb. Killing it!");
        kill_child(s);
    }
    /* A disk snapshot for replication would rename its older file over the
     * final one. */
    repl_snapshot_abort_disk(s, "shutdown");
    int save = (flags & PERSIST_SHUTDOWN_SAVE) ||
               (!(flags & PERSIST_SHUTDOWN_NOSAVE) && s->cfg.nsave > 0);
    if (!save) return 0;
    log_msg(LL_NOTICE, "Saving the final RDB snapshot before exiting.");
    char err[512];
    if (save_now(s, err, sizeof(err)) < 0) {
        log_msg(LL_WARNING, "Error trying to save the DB, can't exit.");
        return -1;
    }
    return 0;
}

int persist_load_at_startup(server *s) {
    persist_state *ps = ps_of(s);
    char err[600];
    long long start = util_mono_us();
    s->loading = 1;
    int rc = rdb_load_file(s, s->cfg.dbfilename, 0, &ps->last_load, err, sizeof(err));
    s->loading = 0;
    if (rc == -2) return 0;
    if (rc < 0) {
        log_msg(LL_WARNING, "Fatal error loading the DB: %s. Exiting.", err);
        return -1;
    }
    ps->have_load = 1;
    log_msg(LL_NOTICE, "Done loading RDB, keys loaded: %lld, keys expired: %lld.",
            ps->last_load.keys_loaded, ps->last_load.keys_expired);
    repl_restore_history(s, &ps->last_load);
    log_msg(LL_NOTICE, "DB loaded from disk: %.3f seconds",
            (double)(util_mono_us() - start) / 1e6);
    return 0;
}

/* ---- commands ------------------------------------------------------------ */

static void cmd_save(client *c) {
    server *s = c->srv;
    persist_state *ps = ps_of(s);
    /* Any snapshot child, diskless ones too: for Redis they are all RDB
     * children. */
    if (ps->child_pid != -1 || ps->repl_child_pid != -1) {
        reply_error(c, ERR_BGSAVE_RUNNING);
        return;
    }
    ps->saves++;
    char err[512];
    if (save_now(s, err, sizeof(err)) < 0) {
        reply_error(c, "ERR");
        return;
    }
    reply_ok(c);
}

static void cmd_bgsave(client *c) {
    server *s = c->srv;
    persist_state *ps = ps_of(s);
    if (c->argc > 1) {
        if (!(c->argc == 2 && arg_is(c->argv[1], "schedule"))) {
            reply_error(c, ERR_SYNTAX);
            return;
        }
    }
    if (ps->child_pid != -1 || repl_child_active(s)) {
        /* A snapshot child is running, ours or replication's (for Redis
         * both are RDB children): SCHEDULE does not queue another. */
        reply_error(c, ERR_BGSAVE_RUNNING);
        return;
    }
    /* Forking inside a transaction would snapshot half of it: the cron
     * starts the save right after. (Redis also schedules behind an AOF
     * rewrite or a module's fork; Ringmaster has neither, so SCHEDULE
     * never has to wait.) */
    if (c->flags & CLIENT_IN_EXEC) {
        ps->bgsave_scheduled = 1;
        reply_status(c, "Background saving scheduled");
        return;
    }
    char err[256];
    if (persist_bgsave(s, err, sizeof(err)) < 0) {
        reply_errorf(c, "ERR %s", err);
        return;
    }
    reply_status(c, "Background saving started");
}

/* DEBUG RELOAD [NOSAVE]: save, then load the file back, replacing the
 * dataset only if the load succeeds. */
static void debug_reload(client *c) {
    server *s = c->srv;
    int nosave = 0;
    for (int i = 2; i < c->argc; i++) {
        if (arg_is(c->argv[i], "nosave")) {
            nosave = 1;
        } else if (arg_is(c->argv[i], "noflush")) {
            /* Loading replaces the dataset atomically: nothing to skip. */
        } else {
            reply_error(c, "ERR DEBUG RELOAD only supports the NOSAVE and NOFLUSH options.");
            return;
        }
    }
    char err[600];
    if (!nosave) {
        if (ps_of(s)->child_pid != -1) {
            reply_error(c, ERR_BGSAVE_RUNNING);
            return;
        }
        if (save_now(s, err, sizeof(err)) < 0) {
            reply_error(c, "ERR Error trying to save the RDB dump, check server logs.");
            return;
        }
    }
    persist_state *ps = ps_of(s);
    rdb_load_info info;
    if (rdb_load_file(s, s->cfg.dbfilename, 0, &info, err, sizeof(err)) < 0) {
        log_msg(LL_WARNING, "Error trying to load the RDB dump: %s", err);
        reply_errorf(c, "ERR Error trying to load the RDB dump: %.400s", err);
        return;
    }
    ps->last_load = info;
    ps->have_load = 1;
    log_msg(LL_NOTICE, "DB reloaded by DEBUG RELOAD");
    reply_ok(c);
}

#define PCMD(n, p, a, f) COMMAND_ROW(n, p, a, f, 0, 0, 0)
static command persist_commands[] = {
    PCMD("save", cmd_save, 1, CMD_ADMIN | CMD_NOSCRIPT | CMD_NO_MULTI | CMD_NO_ASYNC_LOADING),
    PCMD("bgsave", cmd_bgsave, -1, CMD_ADMIN | CMD_NOSCRIPT | CMD_NO_ASYNC_LOADING),
    COMMAND_END,
};

void persist_register(void) {
    static int done;
    if (done) return;
    done = 1;
    commands_register_table(persist_commands);
    debug_register("reload", debug_reload);
}

/* ---- INFO ------------------------------------------------------------------ */

dstr persist_info(server *s, dstr o) {
    persist_state *ps = ps_of(s);
    /* A replication snapshot child is an RDB child too, as in Redis. */
    int bg = ps->child_pid != -1 || ps->repl_child_pid != -1;
    long long start_ms = ps->child_pid != -1 ? ps->child_start_ms : ps->repl_child_start_ms;
    long long cur_secs = bg ? (util_ms_time() - start_ms) / 1000 : -1;
    drain_child_info(ps);
    long long cow_age =
        ps->cur_cow_updated_ms ? (util_ms_time() - ps->cur_cow_updated_ms) / 1000 : 0;
    double fork_perc = ps->cur_keys_total
                           ? (double)ps->cur_keys_processed * 100 / (double)ps->cur_keys_total
                           : 0.0;
    /* aof_*, module_fork_* and async_loading: Ringmaster has no AOF, no
     * modules and no async loading, so these are facts, not placeholders. */
    return dstr_catfmt(
        o,
        "# Persistence\r\nloading:%d\r\nasync_loading:0\r\ncurrent_cow_peak:%lld\r\n"
        "current_cow_size:%lld\r\ncurrent_cow_size_age:%lld\r\ncurrent_fork_perc:%.2f\r\n"
        "current_save_keys_processed:%lld\r\ncurrent_save_keys_total:%lld\r\n"
        "rdb_changes_since_last_save:%lld\r\nrdb_bgsave_in_progress:%d\r\n"
        "rdb_last_save_time:%lld\r\nrdb_last_bgsave_status:%s\r\n"
        "rdb_last_bgsave_time_sec:%lld\r\nrdb_current_bgsave_time_sec:%lld\r\n"
        "rdb_saves:%lld\r\nrdb_last_cow_size:%lld\r\nrdb_last_load_keys_expired:%lld\r\n"
        "rdb_last_load_keys_loaded:%lld\r\naof_enabled:0\r\n"
        "aof_rewrite_in_progress:0\r\naof_rewrite_scheduled:0\r\n"
        "aof_last_rewrite_time_sec:-1\r\naof_current_rewrite_time_sec:-1\r\n"
        "aof_last_bgrewrite_status:ok\r\naof_rewrites:0\r\n"
        "aof_rewrites_consecutive_failures:0\r\naof_last_write_status:ok\r\n"
        "aof_last_cow_size:0\r\nmodule_fork_in_progress:0\r\n"
        "module_fork_last_cow_size:0\r\n",
        s->loading, ps->cur_cow_peak, ps->cur_cow_size, cow_age, fork_perc,
        ps->cur_keys_processed, ps->cur_keys_total, s->dirty, bg, s->lastsave,
        ps->last_bgsave_ok ? "ok" : "err", ps->last_bgsave_secs, cur_secs, ps->saves,
        ps->last_cow_size, ps->have_load ? ps->last_load.keys_expired : 0,
        ps->have_load ? ps->last_load.keys_loaded : 0);
}
