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
 * Diskless target: one pipe per replica (the replicas may live on different
 * I/O threads, each splicing its own pipe to its socket). The child writes
 * "$EOF:<mark>\r\n", the RDB and the mark once, into a staging pipe, and
 * tees it into every replica's pipe (see fanout below). A replica that goes away
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
#include <sys/ioctl.h>
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
#include "repl/repl.h"

#define EOF_MARK_LEN 40
#define SNAP_PIPE_SIZE (1 << 20)

/* ---- the child ---------------------------------------------------------- */

/* The child's side of a diskless payload: one copy from user space, into a
 * staging pipe the child owns, then tee(2) into every replica's pipe but
 * the last, which gets the staging pipe's pages moved into it by
 * splice(2). N replicas cost one copy, not N.
 *
 * tee duplicates whole pipe buffers from the staging pipe's head and may
 * stop early when a replica's pipe is full; it cannot resume from the
 * middle of the staging pipe, so the rest of that chunk goes to that
 * replica with write(2) from the chunk still in memory. Blocking calls
 * throughout: the child has nothing else to do, and the slowest replica
 * paces the rest, as in Redis (the I/O threads drop one that stalls for
 * repl-timeout, and its pipe then fails here with EPIPE). */
typedef struct fanout {
    int *fds;
    int n, alive;
    int stage_r, stage_w; /* -1: a single replica, written directly */
    size_t stage_cap;     /* the most one chunk may put in the staging pipe */
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

static void fanout_lose(fanout *f, int i) {
    /* That replica is gone: the others still want the payload. */
    close(f->fds[i]);
    f->fds[i] = -1;
    f->alive--;
}

/* Move exactly len staged bytes into fd (or drain them if fd is -1). */
static int stage_splice_all(fanout *f, int fd, size_t len) {
    while (len) {
        ssize_t m = fd >= 0 ? splice(f->stage_r, NULL, fd, NULL, len, SPLICE_F_MOVE) : -1;
        if (m < 0 && errno == EINTR) continue;
        if (m <= 0) return -1;
        len -= (size_t)m;
    }
    return 0;
}

static void stage_drain(fanout *f, size_t len) {
    char buf[4096];
    while (len) {
        ssize_t r = read(f->stage_r, buf, len < sizeof(buf) ? len : sizeof(buf));
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) return;
        len -= (size_t)r;
    }
}

static int fanout_chunk(fanout *f, const char *p, size_t len) {
    if (write_all(f->stage_w, p, len) < 0) return -errno;
    int last = -1;
    for (int i = 0; i < f->n; i++) {
        if (f->fds[i] < 0) continue;
        if (last >= 0) {
            /* Every replica before the last live one gets a tee. */
            size_t done = 0;
            for (;;) {
                ssize_t t = tee(f->stage_r, f->fds[last], len, 0);
                if (t < 0 && errno == EINTR) continue;
                if (t > 0) done = (size_t)t;
                break;
            }
            if (done < len && write_all(f->fds[last], p + done, len - done) < 0) fanout_lose(f, last);
        }
        last = i;
    }
    if (last >= 0 && stage_splice_all(f, f->fds[last], len) == 0) return 0;
    /* The last replica failed mid-splice (or none is left): what remains
     * staged must go, so the next chunk starts at the staging pipe's head. */
    int avail = 0;
    if (ioctl(f->stage_r, FIONREAD, &avail) == 0 && avail > 0) stage_drain(f, (size_t)avail);
    if (last >= 0) fanout_lose(f, last);
    return 0;
}

static int fanout_write(void *priv, const void *p, size_t len) {
    fanout *f = priv;
    const char *c = p;
    if (f->stage_w < 0) {
        for (int i = 0; i < f->n; i++)
            if (f->fds[i] >= 0 && write_all(f->fds[i], c, len) < 0) fanout_lose(f, i);
        return f->alive > 0 ? 0 : -EPIPE;
    }
    while (len && f->alive > 0) {
        size_t k = len < f->stage_cap ? len : f->stage_cap;
        int rc = fanout_chunk(f, c, k);
        if (rc < 0) return rc;
        c += k;
        len -= k;
    }
    return f->alive > 0 ? 0 : -EPIPE;
}

/* A staging pipe for two replicas or more; with one, or if the pipe can't
 * be made, plain writes. */
static void fanout_init(fanout *f, int *fds, int n) {
    f->fds = fds;
    f->n = f->alive = n;
    f->stage_r = f->stage_w = -1;
    int p[2];
    if (n < 2 || pipe2(p, O_CLOEXEC) < 0) return;
    int cap = fcntl(p[1], F_SETPIPE_SZ, SNAP_PIPE_SIZE);
    if (cap <= 0) cap = fcntl(p[1], F_GETPIPE_SZ);
    if (cap <= 0) {
        close(p[0]);
        close(p[1]);
        return;
    }
    f->stage_r = p[0];
    f->stage_w = p[1];
    /* Half the pipe: a write into the empty staging pipe then always fits
     * (the child is its only reader, a blocked write would never end). */
    f->stage_cap = (size_t)cap / 2;
}

/* Every rr->fd is a live replica socket (link.h): the numbers are closed
 * on this thread only, and the fork copied the records as they were. */
void repl_child_close_replica_sockets(server *s, const int *keep, int nkeep) {
    repl_state *r = repl_of(s);
    if (!r) return;
    for (repl_replica *rr = r->replicas; rr; rr = rr->next) {
        int needed = 0;
        for (int k = 0; k < nkeep; k++) needed |= keep[k] == rr->fd;
        if (!needed && rr->fd >= 0) close(rr->fd);
    }
}

static void child_close_inherited(server *s, const int *keep, int nkeep) {
    for (int i = 0; i < s->nlisteners; i++) close(s->listeners[i].fd);
    repl_child_close_replica_sockets(s, keep, nkeep);
}

static void child_main(server *s, int diskless, int *wfds, int *rfds, int n,
                       const rdb_save_info *rsi, const char *mark) {
    log_set_role('C');
    for (int i = 0; i < n; i++)
        if (rfds[i] >= 0) close(rfds[i]);
    child_close_inherited(s, wfds, diskless ? n : 0);
    char err[512];
    int rc;
    rdb_save_progress progress = {persist_child_progress, NULL};
    if (!diskless) {
        rc = rdb_save_file(s, s->cfg.dbfilename, rsi, &progress, err, sizeof(err));
    } else {
        fanout f;
        fanout_init(&f, wfds, n);
        char hdr[64];
        int hl = snprintf(hdr, sizeof(hdr), "$EOF:%s\r\n", mark);
        rdb_sink sink = {fanout_write, &f};
        rc = fanout_write(&f, hdr, (size_t)hl);
        if (rc == 0) rc = rdb_save_to_sink(s, &sink, rsi, &progress, NULL, err, sizeof(err));
        else snprintf(err, sizeof(err), "every replica went away");
        if (rc == 0) rc = fanout_write(&f, mark, EOF_MARK_LEN);
    }
    if (rc != 0) log_msg(LL_WARNING, "Snapshot for replication failed: %s", err);
    else persist_child_finish();
    _exit(rc == 0 ? 0 : 1);
}

/* ---- the parent --------------------------------------------------------- */

static void full_resync(server *s, repl_replica *rr) {
    repl_state *r = repl_of(s);
    char line[128];
    if (!rr->old_sync) psync_fullresync_reply(line, sizeof(line), r->replid, r->snap.offset);
    link_fullsync *f;
    int rc = link_fullsync_new(&f, r->bl, r->snap.offset, rr->old_sync ? NULL : line,
                               r->snap.diskless);
    if (rc < 0) {
        /* The admission in master_sync.c keeps a slot for every replica
         * it lets wait: this is a bug's safety net, not a policy. */
        log_msg(LL_WARNING, "Replica %s dropped: no replication backlog reader slot for its "
                            "snapshot (%s)",
                rr->name, strerror(-rc));
        repl_drop_replica(s, rr);
        return;
    }
    rr->slot = f->slot;
    rr->slot_bl = r->bl;
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
    repl_rdb_save_info(s, &rsi);
    pid_t pid = rc == 0 ? persist_fork(s) : -1;
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
        persist_repl_child_started(s, pid, !diskless);
        r->snap.id = ++r->next_snap_id;
        r->snap.pid = pid;
        r->snap.diskless = diskless;
        r->snap.offset = r->master_repl_offset;
        r->snap.start_ms = util_ms_time();
        r->snap.slot = backlog_reader_add(r->bl, r->snap.offset + 1);
        if (r->snap.slot < 0)
            /* Only a bug in the slot accounting gets here. Without its own
             * slot the snapshot's offset may be trimmed away: no replica
             * may attach to it (can_attach), later ones wait for the next. */
            log_msg(LL_WARNING, "The replication snapshot has no backlog reader slot (%s): "
                                "replicas arriving while it runs wait for the next one",
                    strerror(-r->snap.slot));
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
    /* A disk snapshot is a save like BGSAVE's: LASTSAVE, the dirty count,
     * the status that -MISCONF reads. */
    persist_repl_child_done(s, ok ? PERSIST_CHILD_OK : PERSIST_CHILD_FAILED);
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

/* Kill and reap a snapshot child. SIGKILL is never blocked, so the wait is
 * short; only a signal of ours (SIGTERM, no SA_RESTART) interrupts it. */
static void kill_and_reap(pid_t pid) {
    kill(pid, SIGKILL);
    while (waitpid(pid, NULL, 0) < 0 && errno == EINTR) {
    }
}

void repl_snapshot_kill(server *s) {
    repl_state *r = repl_of(s);
    if (!r || !r->snap.id) return;
    kill_and_reap(r->snap.pid);
    persist_repl_child_done(s, PERSIST_CHILD_CANCELLED);
    if (!r->snap.diskless) remove_temp_file(r->snap.pid);
    if (r->snap.slot >= 0 && r->bl) backlog_reader_remove(r->bl, r->snap.slot);
    memset(&r->snap, 0, sizeof(r->snap));
}

void repl_snapshot_abort_disk(server *s, const char *why) {
    repl_state *r = repl_of(s);
    if (!r || !r->snap.id || r->snap.diskless) return;
    log_msg(LL_NOTICE, "Killing the disk snapshot child %d for replication (%s): its file would "
                       "replace a newer one",
            (int)r->snap.pid, why);
    kill_and_reap(r->snap.pid);
    /* Cancelled, not failed (no -MISCONF for it); its replicas are
     * dropped and come back for a snapshot of the flushed dataset. */
    persist_repl_child_done(s, PERSIST_CHILD_CANCELLED);
    finish(s, 0, SIGKILL);
}

int repl_child_active(server *s) {
    repl_state *r = s->repl;
    return r && r->snap.id != 0 && r->snap.pid > 0;
}
