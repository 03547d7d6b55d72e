/* snapshot: the full-sync payload, made by a forked child.
 *
 * When replicas wait in WAIT_BGSAVE_START and no snapshot child runs, one
 * is started: at once for a disk snapshot (repl-diskless-sync no, or a
 * replica without `capa eof`), otherwise after repl-diskless-sync-delay
 * seconds or as soon as repl-diskless-sync-max-replicas are waiting. At
 * the fork the stream's offset is the snapshot's: every waiting replica
 * gets "+FULLRESYNC <replid> <offset>" (sent by its I/O thread), a backlog
 * reader slot pinning the stream from offset+1, and moves to
 * WAIT_BGSAVE_END; the next command in the stream gets a SELECT.
 *
 * Disk target: the child writes dbfilename (temp file, fsync, rename) as
 * Redis does. When it exits with success, each replica's I/O thread gets
 * its own descriptor of the file and its size, and splices it to the
 * socket after "$<len>\r\n". A replica that asks for a full sync while a
 * disk snapshot runs attaches to it: the snapshot's own reader slot keeps
 * the stream from its offset until it ends.
 *
 * Diskless target: one pipe per replica. The child writes "$EOF:<mark>\r\n",
 * the RDB and the mark into every pipe (the replicas may live on different
 * I/O threads, so each gets its own pipe rather than a tee of one); each
 * I/O thread splices its pipe to its socket. A replica that goes away
 * closes its pipe; the child sees EPIPE there and goes on with the others.
 * The parent never touches a snapshot byte.
 *
 * A child that fails (or is killed) takes the replicas still waiting for
 * its payload down with it: they are dropped, and will come back and ask
 * again. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/log.h"
#include "core/mem.h"
#include "core/persist.h"
#include "core/rdb.h"
#include "core/util.h"
#include "repl/master_int.h"
#include "repl/psync.h"

#define EOF_MARK_LEN 40
#define SNAP_PIPE_SIZE (1 << 20)

/* ---- the child ---------------------------------------------------------- */

typedef struct fanout {
    int *fds;
    int n, alive;
} fanout;

static int write_all(int fd, const char *p, size_t len) {
    while (len) {
        ssize_t w = write(fd, p, len);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) return -1;
        p += w;
        len -= (size_t)w;
    }
    return 0;
}

static int fanout_write(void *priv, const void *p, size_t len) {
    fanout *f = priv;
    for (int i = 0; i < f->n; i++) {
        if (f->fds[i] < 0) continue;
        if (write_all(f->fds[i], p, len) < 0) {
            /* That replica is gone: the others still want the payload. */
            close(f->fds[i]);
            f->fds[i] = -1;
            f->alive--;
        }
    }
    return f->alive > 0 ? 0 : -EPIPE;
}

static void child_close_inherited(server *s, const int *keep, int nkeep) {
    repl_state *r = repl_of(s);
    for (int i = 0; i < s->nlisteners; i++) close(s->listeners[i].fd);
    for (repl_replica *rr = r->replicas; rr; rr = rr->next) {
        int needed = 0;
        for (int k = 0; k < nkeep; k++) needed |= keep[k] == rr->fd;
        if (!needed && rr->fd >= 0) close(rr->fd);
    }
}

static void child_main(server *s, int diskless, int *wfds, int *rfds, int n,
                       const rdb_save_info *rsi, const char *mark) {
    log_set_role('C');
    for (int i = 0; i < n; i++)
        if (rfds[i] >= 0) close(rfds[i]);
    child_close_inherited(s, wfds, diskless ? n : 0);
    char err[512];
    int rc;
    if (!diskless) {
        rc = rdb_save_file(s, s->cfg.dbfilename, rsi, err, sizeof(err));
    } else {
        fanout f = {wfds, n, n};
        char hdr[64];
        int hl = snprintf(hdr, sizeof(hdr), "$EOF:%s\r\n", mark);
        rdb_sink sink = {fanout_write, &f};
        rc = fanout_write(&f, hdr, (size_t)hl);
        if (rc == 0) rc = rdb_save_to_sink(s, &sink, rsi, NULL, err, sizeof(err));
        else snprintf(err, sizeof(err), "every replica went away");
        if (rc == 0) rc = fanout_write(&f, mark, EOF_MARK_LEN);
    }
    if (rc != 0) log_msg(LL_WARNING, "Snapshot for replication failed: %s", err);
    _exit(rc == 0 ? 0 : 1);
}

/* ---- the parent --------------------------------------------------------- */

static void full_resync(server *s, repl_replica *rr) {
    repl_state *r = repl_of(s);
    link_fullsync *f = mem_calloc(sizeof(*f));
    rr->slot = backlog_reader_add(r->bl, r->snap.offset + 1);
    if (rr->slot < 0) {
        mem_free(f);
        log_msg(LL_WARNING, "Too many replicas reading the backlog: dropping %s", rr->name);
        repl_drop_replica(s, rr);
        return;
    }
    if (!rr->old_sync)
        psync_fullresync_reply(f->line, sizeof(f->line), r->replid, r->snap.offset);
    f->slot = rr->slot;
    backlog_seek(r->bl, r->snap.offset + 1, &f->cur);
    f->diskless = r->snap.diskless;
    rr->state = LINK_WAIT_BGSAVE_END;
    rr->snap_id = r->snap.id;
    spsc_msg m = {.type = LINK_MSG_FULLSYNC, .fd = -1, .id = rr->id, .ptr = f};
    repl_post(rr, &m);
}

void repl_snapshot_attach(server *s, repl_replica *rr) {
    log_msg(LL_NOTICE, "Waiting for end of BGSAVE for SYNC");
    full_resync(s, rr);
}

static int waiting(repl_replica *rr) { return !rr->dropped && rr->state == LINK_WAIT_BGSAVE_START; }

static int start(server *s, int diskless) {
    repl_state *r = repl_of(s);
    int n = 0;
    for (repl_replica *rr = r->replicas; rr; rr = rr->next) n += waiting(rr);
    repl_replica **v = mem_alloc(sizeof(*v) * (size_t)n);
    int *rfds = mem_alloc(sizeof(int) * (size_t)n);
    int *wfds = mem_alloc(sizeof(int) * (size_t)n);
    int i = n;
    for (repl_replica *rr = r->replicas; rr; rr = rr->next)
        if (waiting(rr)) v[--i] = rr; /* oldest first */
    int rc = 0;
    for (i = 0; i < n; i++) rfds[i] = wfds[i] = -1;
    if (diskless) {
        for (i = 0; i < n && rc == 0; i++) {
            int p[2];
            if (pipe2(p, O_CLOEXEC) < 0) {
                rc = -errno;
                break;
            }
            fcntl(p[1], F_SETPIPE_SZ, SNAP_PIPE_SIZE); /* best effort */
            rfds[i] = p[0];
            wfds[i] = p[1];
        }
    }
    char mark[EOF_MARK_LEN + 1];
    util_random_hex(mark, EOF_MARK_LEN);
    mark[EOF_MARK_LEN] = '\0';
    log_msg(LL_NOTICE, "Starting BGSAVE for SYNC with target: %s",
            diskless ? "replicas sockets" : "disk");

    backlog_publish(r->bl);
    rdb_save_info rsi;
    persist_repl_save_info(s, &rsi);
    pid_t pid = rc == 0 ? fork() : -1;
    if (pid == 0) child_main(s, diskless, wfds, rfds, n, &rsi, mark);
    if (pid < 0) {
        if (rc == 0) rc = -errno;
        log_msg(LL_WARNING, "Can't save in background: fork: %s", strerror(-rc));
        for (i = 0; i < n; i++) {
            if (rfds[i] >= 0) close(rfds[i]);
            if (wfds[i] >= 0) close(wfds[i]);
            repl_drop_replica(s, v[i]);
        }
    } else {
        log_msg(LL_NOTICE, diskless ? "Background RDB transfer started by pid %d"
                                    : "Background saving started by pid %d",
                (int)pid);
        r->snap.id = ++r->next_snap_id;
        r->snap.pid = pid;
        r->snap.diskless = diskless;
        r->snap.offset = r->master_repl_offset;
        r->snap.start_ms = util_ms_time();
        r->snap.slot = backlog_reader_add(r->bl, r->snap.offset + 1);
        /* Force the next command in the stream to be prefixed by SELECT:
         * the replicas start from the snapshot, with no db selected. */
        r->stream_db = -1;
        for (i = 0; i < n; i++) {
            if (wfds[i] >= 0) close(wfds[i]);
            full_resync(s, v[i]);
            if (diskless) {
                spsc_msg m = {.type = LINK_MSG_BULK, .fd = rfds[i], .id = v[i]->id,
                              .val = LINK_BULK_EOF};
                if (!v[i]->dropped) {
                    v[i]->state = LINK_SEND_BULK;
                    repl_post(v[i], &m);
                } else {
                    close(rfds[i]);
                }
            }
        }
    }
    mem_free(v);
    mem_free(rfds);
    mem_free(wfds);
    return pid > 0 ? 0 : -1;
}

void repl_snapshot_maybe_start(server *s, int forced) {
    repl_state *r = repl_of(s);
    if (r->snap.id || !r->bl) return;
    /* One child at a time, as in Redis: a BGSAVE in progress goes first. */
    if (persist_child_active(s)) return;
    int n = 0, all_eof = 1;
    long long oldest = 0, now = util_ms_time();
    for (repl_replica *rr = r->replicas; rr; rr = rr->next) {
        if (!waiting(rr)) continue;
        n++;
        all_eof &= rr->capa_eof;
        if (now - rr->wait_since_ms > oldest) oldest = now - rr->wait_since_ms;
    }
    if (n == 0) return;
    int diskless = s->cfg.repl_diskless_sync && all_eof;
    if (diskless && !forced) {
        int max = s->cfg.repl_diskless_sync_max_replicas;
        long long delay_ms = (long long)s->cfg.repl_diskless_sync_delay * 1000;
        if (!(oldest >= delay_ms || (max > 0 && n >= max))) return;
    }
    start(s, diskless);
}

/* A disk child that died (SIGKILL, OOM, shutdown) never renamed its temp
 * file (rdb_save_file's temp-<pid>.rdb): remove it, as Redis does, or
 * every failed sync leaves one behind. */
static void remove_temp_file(pid_t pid) {
    char tmp[64];
    snprintf(tmp, sizeof(tmp), "temp-%d.rdb", (int)pid);
    unlink(tmp);
}

static void finish(server *s, int ok, int bysignal) {
    repl_state *r = repl_of(s);
    int id = r->snap.id;
    int diskless = r->snap.diskless;
    if (diskless) {
        if (ok) log_msg(LL_NOTICE, "Background RDB transfer terminated with success");
        else if (bysignal) log_msg(LL_WARNING, "Background transfer terminated by signal %d", bysignal);
        else log_msg(LL_WARNING, "Background transfer error");
    } else {
        if (ok) log_msg(LL_NOTICE, "Background saving terminated with success");
        else if (bysignal) log_msg(LL_WARNING, "Background saving terminated by signal %d", bysignal);
        else log_msg(LL_WARNING, "Background saving error");
    }
    if (!ok && !diskless) remove_temp_file(r->snap.pid);
    int fd = -1;
    long long size = 0;
    if (ok && !diskless) {
        fd = open(s->cfg.dbfilename, O_RDONLY | O_CLOEXEC);
        struct stat st;
        if (fd < 0 || fstat(fd, &st) < 0) {
            log_msg(LL_WARNING, "SYNC failed. Can't open/stat DB after BGSAVE: %s", strerror(errno));
            ok = 0;
        } else {
            size = (long long)st.st_size;
        }
    }
    for (repl_replica *rr = r->replicas; rr; rr = rr->next) {
        if (rr->dropped || rr->snap_id != id) continue;
        rr->snap_id = 0;
        if (!ok) {
            if (rr->state != LINK_ONLINE) {
                log_msg(LL_WARNING, "SYNC failed. BGSAVE child returned an error");
                repl_drop_replica(s, rr);
            }
            continue;
        }
        if (diskless) continue; /* their pipes already said everything */
        int dfd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
        if (dfd < 0) {
            repl_drop_replica(s, rr);
            continue;
        }
        rr->state = LINK_SEND_BULK;
        spsc_msg m = {.type = LINK_MSG_BULK, .fd = dfd, .id = rr->id, .val = (uint64_t)size};
        repl_post(rr, &m);
    }
    if (fd >= 0) close(fd);
    if (r->snap.slot >= 0 && r->bl) backlog_reader_remove(r->bl, r->snap.slot);
    memset(&r->snap, 0, sizeof(r->snap));
}

void repl_snapshot_reap(server *s) {
    repl_state *r = repl_of(s);
    if (!r->snap.id) return;
    int status;
    pid_t pid = waitpid(r->snap.pid, &status, WNOHANG);
    if (pid == 0) return;
    if (pid < 0) {
        log_msg(LL_WARNING, "waitpid() returned an error: %s. child_pid = %d", strerror(errno),
                (int)r->snap.pid);
        finish(s, 0, 0);
    } else if (WIFSIGNALED(status)) {
        finish(s, 0, WTERMSIG(status));
    } else {
        finish(s, WEXITSTATUS(status) == 0, 0);
    }
    /* Replicas that arrived meanwhile may be due now. */
    repl_snapshot_maybe_start(s, 0);
}

void repl_snapshot_kill(server *s) {
    repl_state *r = repl_of(s);
    if (!r || !r->snap.id) return;
    kill(r->snap.pid, SIGKILL);
    waitpid(r->snap.pid, NULL, 0);
    if (!r->snap.diskless) remove_temp_file(r->snap.pid);
    memset(&r->snap, 0, sizeof(r->snap));
}

int repl_child_active(server *s) {
    repl_state *r = s->repl;
    return r && r->snap.id != 0 && r->snap.pid > 0;
}
