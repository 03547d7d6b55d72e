/* master_sync: SYNC and PSYNC on a master, the hand-over of a replica's
 * socket to an I/O thread, and what the keyspace does with the links'
 * reports.
 *
 * SYNC/PSYNC is decided here, on the keyspace thread, with psync_decide
 * (Redis's masterTryPartialResynchronization). Either way the socket
 * leaves core's event loop at once (client_detach_socket): the client
 * struct is freed at the end of the pass without closing the descriptor,
 * and a repl_replica record takes its place in the keyspace's books
 * (INFO, ROLE, CLIENT LIST/KILL, WAIT, limits). Replies
 * the client had not received yet travel with the socket, ahead of
 * +CONTINUE; +FULLRESYNC is sent by the I/O thread when the snapshot
 * starts, because its offset is the stream's offset at the fork.
 *
 * Record lifetime: created at hand-over; `state` follows the link's
 * LINK_REP_STATE reports; `dropped` once the keyspace posted LINK_MSG_DROP
 * (CLIENT KILL, output-buffer limit, repl-timeout, a failed snapshot),
 * after which it no longer counts as a replica; freed at LINK_REP_CLOSED,
 * which is also when its backlog reader slot is given back, since only
 * then is the I/O thread done with the blocks. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "core/commands.h"
#include "core/log.h"
#include "core/mem.h"
#include "core/reply.h"
#include "core/util.h"
#include "repl/master_int.h"
#include "repl/replica_conn.h"
#include "repl/psync.h"
#include "repl/repl.h"

int repl_count_replicas(repl_state *r) {
    int n = 0;
    for (repl_replica *rr = r->replicas; rr; rr = rr->next) n += !rr->dropped;
    return n;
}

void repl_post(repl_replica *rr, const spsc_msg *m) {
    if (io_thread_post(rr->thr, m) < 0)
        log_msg(LL_WARNING, "Out of memory queueing a message for replica %s", rr->name);
}

void repl_drop_replica(server *s, repl_replica *rr) {
    (void)s;
    if (rr->dropped) return;
    rr->dropped = 1;
    spsc_msg m = {.type = LINK_MSG_DROP, .fd = -1, .id = rr->id};
    repl_post(rr, &m);
}

void repl_drop_all_replicas(server *s, const char *why) {
    repl_state *r = repl_of(s);
    int n = 0;
    for (repl_replica *rr = r->replicas; rr; rr = rr->next) {
        n += !rr->dropped;
        repl_drop_replica(s, rr);
    }
    if (n) log_msg(LL_NOTICE, "Disconnecting %d replica(s): %s", n, why);
}

static repl_replica *find_replica(repl_state *r, uint64_t id) {
    for (repl_replica *rr = r->replicas; rr; rr = rr->next)
        if (rr->id == id) return rr;
    return NULL;
}

static void free_replica(server *s, repl_replica *rr) {
    repl_state *r = repl_of(s);
    repl_replica **pp = &r->replicas;
    while (*pp && *pp != rr) pp = &(*pp)->next;
    if (*pp) *pp = rr->next;
    if (rr->slot >= 0) backlog_reader_remove(rr->slot_bl, rr->slot);
    mem_free(rr);
}

void repl_refresh_good(server *s) {
    repl_state *r = repl_of(s);
    long long now = util_ms_time();
    int good = 0;
    for (repl_replica *rr = r->replicas; rr; rr = rr->next)
        if (!rr->dropped && rr->state == LINK_ONLINE &&
            (now - rr->ack_ms) / 1000 <= s->cfg.min_replicas_max_lag)
            good++;
    r->good_replicas = good;
}

/* ---- reports from the I/O threads -------------------------------------- */

/* The socket a CLOSED report hands back: the record forgets its number
 * first, then the number is closed (link.h: the keyspace thread is the
 * only one that closes replica sockets, so nothing it holds can name a
 * reused number). */
static void take_back_socket(repl_replica *rr, int fd) {
    if (rr && rr->fd == fd) rr->fd = -1;
    if (fd >= 0) close(fd);
}

static void on_report(void *ctx, const spsc_msg *m) {
    server *s = ctx;
    repl_state *r = repl_of(s);
    if (m->type >= RCONN_REP_STATE && m->type <= RCONN_REP_CLOSED) {
        replica_on_report(s, m);
        return;
    }
    repl_replica *rr = find_replica(r, m->id);
    if (m->type == LINK_REP_CLOSED) take_back_socket(rr, m->fd);
    if (!rr) return;
    switch (m->type) {
    case LINK_REP_ACK:
        if ((long long)m->val > rr->ack_off) rr->ack_off = (long long)m->val;
        rr->ack_ms = rr->last_ack_ms = util_ms_time();
        break;
    case LINK_REP_ALIVE:
        rr->ack_ms = util_ms_time();
        break;
    case LINK_REP_STATE: {
        int was = rr->state;
        rr->state = (int)m->val;
        if (rr->state == LINK_WAIT_ACK) rr->ack_ms = util_ms_time();
        if (rr->state == LINK_ONLINE && was != LINK_ONLINE) {
            rr->ack_ms = util_ms_time();
            log_msg(LL_NOTICE, "Synchronization with replica %s succeeded", rr->name);
        }
        break;
    }
    case LINK_REP_CLOSED:
        if (link_closed_reason(m->val) == LINK_CLOSED_IO && link_closed_errno(m->val) > 0)
            log_msg(LL_NOTICE, "Error writing to replica %s: %s", rr->name,
                    strerror(link_closed_errno(m->val)));
        log_msg(LL_NOTICE, "Connection with replica %s lost.", rr->name);
        free_replica(s, rr);
        break;
    default:
        break;
    }
}

/* An I/O thread's wake fd is readable (core's event loop watches them for
 * us): collect every thread's reports. */
static void on_wake(server *s, void *priv) {
    (void)priv;
    repl_state *r = repl_of(s);
    if (!r->pool_started) return;
    int n = 0;
    for (unsigned i = 0; i < r->pool.count; i++)
        n += io_thread_collect(r->pool.threads[i], on_report, s);
    if (n > 0) {
        repl_refresh_good(s);
        repl_wait_check(s);
    }
}

int repl_ensure_pool(server *s) {
    repl_state *r = repl_of(s);
    if (r->pool_started) return 0;
    int rc = io_pool_start(&r->pool, (unsigned)s->cfg.repl_io_threads, NULL, &link_thread_ops,
                           &r->link_ctx);
    if (rc < 0) {
        log_msg(LL_WARNING, "Can't start the replication I/O threads: %s", strerror(-rc));
        return -1;
    }
    for (unsigned i = 0; i < r->pool.count; i++) {
        if (server_watch_fd(s, io_thread_wake_fd(r->pool.threads[i]), on_wake, NULL) < 0) {
            log_msg(LL_WARNING, "Can't watch the replication I/O threads' wake-ups");
            repl_unwatch_pool(s);
            io_pool_stop(&r->pool, NULL, NULL);
            return -1;
        }
    }
    r->pool_started = 1;
    return 0;
}

void repl_unwatch_pool(server *s) {
    repl_state *r = repl_of(s);
    for (unsigned i = 0; i < r->pool.count; i++)
        server_unwatch_fd(s, io_thread_wake_fd(r->pool.threads[i]));
}

/* ---- hand-over ---------------------------------------------------------- */

static void peer_ip(const char *addr, char *out, size_t outlen) {
    snprintf(out, outlen, "%s", addr);
    char *colon = strrchr(out, ':');
    if (colon) *colon = '\0';
}

static repl_replica *new_record(client *c, const repl_conf_pending *conf) {
    repl_replica *rr = mem_calloc(sizeof(*rr));
    rr->id = c->id;
    rr->fd = c->fd;
    snprintf(rr->addr, sizeof(rr->addr), "%s", c->addr);
    snprintf(rr->laddr, sizeof(rr->laddr), "%s", c->laddr);
    if (conf->ip[0]) snprintf(rr->ip, sizeof(rr->ip), "%s", conf->ip);
    else peer_ip(c->addr, rr->ip, sizeof(rr->ip));
    rr->port = conf->port;
    if (rr->port) snprintf(rr->name, sizeof(rr->name), "%s:%d", rr->ip, rr->port);
    else snprintf(rr->name, sizeof(rr->name), "%s:<unknown-replica-port>", rr->ip);
    rr->capa_eof = conf->capa_eof;
    rr->capa_psync2 = conf->capa_psync2;
    rr->slot = -1;
    rr->ctime_ms = c->ctime_ms;
    rr->ack_ms = util_ms_time();
    return rr;
}

/* Move the client's socket to an I/O thread. The client struct dies at
 * the end of this event-loop pass without closing the descriptor
 * (client_detach_socket). For a +CONTINUE, rr->slot and cur come from
 * link_pin. */
static void handover(client *c, repl_replica *rr, const backlog_cursor *cur, const char *line,
                     size_t linelen) {
    server *s = c->srv;
    repl_state *r = repl_of(s);
    /* The socket is ours from here on; the client's unsent replies stay
     * readable until the end of this pass. */
    int fd = client_detach_socket(c);
    /* io_uring polls sockets itself; a blocking descriptor is what splice
     * needs to wait for room instead of failing with EAGAIN. */
    int fl = fcntl(fd, F_GETFL);
    if (fl >= 0) fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);

    link_adopt *a = link_adopt_new(rr->id, fd, rr->name, rr->state, r->bl, rr->slot, cur,
                                   c->reply + c->reply_sent, dstr_len(c->reply) - c->reply_sent,
                                   line, linelen);
    /* A replica on tls-port: its session goes with the socket, and the I/O
     * thread encrypts from then on (io/tlsio.h). */
    a->ssl = c->ssl;
    c->ssl = NULL;
    rr->thr = io_pool_assign(&r->pool);
    rr->next = r->replicas;
    r->replicas = rr;
    spsc_msg m = {.type = LINK_MSG_ADOPT, .fd = -1, .id = rr->id, .ptr = a};
    repl_post(rr, &m);
}

/* ---- backlog reader slots ------------------------------------------------
 *
 * A replica reads the stream through one of the backlog's
 * BACKLOG_MAX_READERS reader slots, taken when it starts reading: at
 * +CONTINUE, or when its snapshot starts, which also takes one of its own
 * while it runs (so that a replica attaching to it later still finds the
 * stream from the snapshot's offset). A replica waiting for a snapshot
 * holds no slot yet: the slots it and its snapshot will need are promised.
 * A replica that would need more than the free slots not promised to
 * others is refused at SYNC/PSYNC time, before its hand-over: one log line,
 * an error reply, the connection closed after it. So no replica is ever
 * dropped later for want of a slot, and no link gets a cursor without the
 * slot that keeps its blocks alive. */

static int slots_free(repl_state *r) {
    return r->bl ? backlog_readers_free(r->bl) : BACKLOG_MAX_READERS;
}

/* Slots promised to the replicas waiting for a snapshot to start (plus
 * `more` such replicas) and to that snapshot itself. A running snapshot
 * that has a slot gives it back when it ends, right before the next one
 * starts: its successor's slot is already counted as in use. */
static int slots_promised(repl_state *r, int more) {
    int waiting = more;
    for (repl_replica *rr = r->replicas; rr; rr = rr->next)
        waiting += !rr->dropped && rr->state == LINK_WAIT_BGSAVE_START;
    if (waiting == 0) return 0;
    return waiting + !(r->snap.id && r->snap.slot >= 0);
}

/* Whether a replica fits: one that takes its slot now (+CONTINUE, or
 * attaching to the running disk snapshot), or one that waits. */
static int slots_admit(repl_state *r, int waits) {
    if (waits) return slots_free(r) >= slots_promised(r, 1);
    return slots_free(r) >= slots_promised(r, 0) + 1;
}

static void refuse_replica(client *c, repl_replica *rr) {
    log_msg(LL_WARNING,
            "Replica %s refused: all %d replication backlog reader slots are in use or promised "
            "to replicas already syncing",
            rr->name, BACKLOG_MAX_READERS);
    reply_error(c, "ERR too many replicas: no free replication backlog reader slot, "
                   "try again later");
    client_close_after_reply(c);
    mem_free(rr);
}

/* A replica that joins a running disk snapshot continues from its offset;
 * one without its own slot can not be joined (see start in snapshot.c). */
static int can_attach(repl_state *r) {
    return r->snap.id && !r->snap.diskless && r->snap.slot >= 0;
}

/* 1: continued; 0: a full resync is due; -1: refused (rr is freed). */
static int try_partial(client *c, repl_replica *rr) {
    server *s = c->srv;
    repl_state *r = repl_of(s);
    long long off;
    if (!util_str_to_ll(c->argv[2], dstr_len(c->argv[2]), &off)) off = -1;
    psync_state st = {r->replid, r->replid2, r->second_replid_offset, r->bl != NULL,
                      r->bl ? backlog_first(r->bl) : 0, r->master_repl_offset};
    char why[512];
    if (psync_decide(&st, c->argv[1], off, why, sizeof(why)) == PSYNC_FULL) {
        if (why[0]) {
            r->sync_partial_err++;
            log_msg(LL_NOTICE, "Partial resynchronization not accepted: %s", why);
        } else {
            log_msg(LL_NOTICE, "Full resync requested by replica %s", rr->name);
        }
        return 0;
    }
    backlog_cursor cur;
    if (!slots_admit(r, 0) || link_pin(r->bl, off, &rr->slot, &cur) < 0) {
        /* psync_decide checked the offset: only the slots can be short. */
        refuse_replica(c, rr);
        return -1;
    }
    rr->slot_bl = r->bl;
    rr->state = LINK_ONLINE;
    char line[128];
    int n = psync_continue_reply(line, sizeof(line), r->replid, rr->capa_psync2);
    handover(c, rr, &cur, line, (size_t)n);
    r->sync_partial_ok++;
    log_msg(LL_NOTICE,
            "Partial resynchronization request from %s accepted. Sending %lld bytes of backlog "
            "starting from offset %lld.",
            rr->name, r->master_repl_offset - off + 1, off);
    return 1;
}

static void sync_command(client *c, int is_psync) {
    server *s = c->srv;
    repl_state *r = repl_of(s);
    if (c->flags & (CLIENT_REPLICA | CLIENT_MASTER)) return;
    /* PSYNC <replid> <offset> FAILOVER: our master hands us its role (its
     * FAILOVER command). It must be our master's history we are asked to
     * continue; then we are the master, and it continues as our replica
     * through replid2. */
    if (is_psync && c->argc > 3 && arg_is(c->argv[3], "failover")) {
        if (!s->cfg.replicaof_host) {
            reply_error(c, "ERR PSYNC FAILOVER can't be sent to a master.");
            return;
        }
        if (strcmp(c->argv[1], r->replid) != 0) {
            reply_error(c, "ERR PSYNC FAILOVER replid must match my replid.");
            return;
        }
        replica_become_master(s, c, "failover");
    }
    /* Nor do replicas sync with us while we hand our role over. */
    if (r->failover_state != FAILOVER_NONE) {
        reply_error(c, "NOMASTERLINK Can't SYNC while failing over");
        return;
    }
    /* A replica serves replicas of its own (the stream it applied, from
     * its backlog) only while its link is up, as Redis. */
    if (s->cfg.replicaof_host && !replica_link_up(s)) {
        reply_error(c, "NOMASTERLINK Can't SYNC while not connected with my master");
        return;
    }
    if (c->fd < 0 || repl_ensure_pool(s) < 0) {
        reply_error(c, "ERR replication is not available");
        return;
    }
    repl_conf_pending conf;
    repl_take_pending_conf(s, c->id, &conf);
    repl_replica *rr = new_record(c, &conf);
    log_msg(LL_NOTICE, "Replica %s asks for synchronization", rr->name);

    if (is_psync && try_partial(c, rr) != 0) return;
    int attach = can_attach(r);
    if (!slots_admit(r, !attach)) {
        refuse_replica(c, rr);
        return;
    }
    rr->old_sync = !is_psync;
    if (!is_psync) rr->capa_eof = 0; /* SYNC speaks only the $<len> form */
    r->sync_full++;
    if (!r->bl) {
        /* The first replica of a master without a backlog starts a new
         * history, as Redis does, so no stale replica can continue. */
        repl_new_history(r);
        repl_create_backlog(s);
        log_msg(LL_NOTICE,
                "Replication backlog created, my new replication IDs are '%s' and '%s'",
                r->replid, r->replid2);
    }
    rr->state = LINK_WAIT_BGSAVE_START;
    rr->wait_since_ms = util_ms_time();
    handover(c, rr, NULL, NULL, 0);

    if (attach) {
        repl_snapshot_attach(s, rr);
    } else if (r->snap.id) {
        log_msg(LL_NOTICE, "Can't attach the replica to the current BGSAVE. Waiting for next "
                           "BGSAVE for SYNC");
    } else if (!s->cfg.repl_diskless_sync || !rr->capa_eof) {
        repl_snapshot_maybe_start(s, 1);
    } else {
        log_msg(LL_NOTICE, "Delay next BGSAVE for diskless SYNC");
    }
}

static void cmd_sync(client *c) { sync_command(c, 0); }
static void cmd_psync(client *c) { sync_command(c, 1); }

/* ---- limits ------------------------------------------------------------- */

static void drop_for_limit(server *s, repl_replica *rr, const char *which, long long behind,
                           long long limit) {
    log_msg(LL_WARNING,
            "Client id=%llu addr=%s laddr=%s flags=S cmd=%s omem=%lld scheduled to be closed "
            "ASAP for overcoming of output buffer limits (replica %s limit %lld bytes).",
            (unsigned long long)rr->id, rr->addr, rr->laddr, rr->old_sync ? "sync" : "psync",
            behind, which, limit);
    repl_drop_replica(s, rr);
}

void repl_limits_cron(server *s, long long now) {
    repl_state *r = repl_of(s);
    const client_obuf_limit *lim = &s->cfg.obuf_replica;
    for (repl_replica *rr = r->replicas; rr; rr = rr->next) {
        if (rr->dropped) continue;
        /* Plain SYNC replicas (redis-cli --replica, old Redis) never ACK:
         * like Redis, no timeout for them. */
        int streaming = !rr->old_sync && (rr->state == LINK_ONLINE || rr->state == LINK_WAIT_ACK);
        if (streaming && now - rr->ack_ms > (long long)s->cfg.repl_timeout * 1000) {
            log_msg(LL_WARNING, "Disconnecting timedout replica (streaming sync): %s", rr->name);
            repl_drop_replica(s, rr);
            continue;
        }
        if (rr->slot < 0 || rr->slot_bl != r->bl) continue;
        long long rel = atomic_load_explicit(&r->bl->readers[rr->slot].released,
                                             memory_order_acquire);
        long long behind = r->master_repl_offset - rel;
        if (lim->hard > 0 && behind >= lim->hard) {
            drop_for_limit(s, rr, "hard", behind, lim->hard);
            continue;
        }
        if (lim->soft > 0 && behind >= lim->soft) {
            if (!rr->soft_since_ms) rr->soft_since_ms = now;
            else if (now - rr->soft_since_ms > lim->soft_seconds * 1000)
                drop_for_limit(s, rr, "soft", behind, lim->soft);
        } else {
            rr->soft_since_ms = 0;
        }
    }
}

/* ---- CLIENT LIST / CLIENT KILL ----------------------------------------- */

dstr repl_client_list(server *s, dstr out, const long long *ids, int nids) {
    repl_state *r = repl_of(s);
    long long now = util_ms_time();
    for (repl_replica *rr = r->replicas; rr; rr = rr->next) {
        if (rr->dropped) continue;
        if (nids) {
            int hit = 0;
            for (int i = 0; i < nids; i++) hit |= (long long)rr->id == ids[i];
            if (!hit) continue;
        }
        long long behind = 0;
        if (rr->slot >= 0 && rr->slot_bl == r->bl)
            behind = r->master_repl_offset -
                     atomic_load_explicit(&r->bl->readers[rr->slot].released, memory_order_relaxed);
        out = dstr_catfmt(out,
                          "id=%llu addr=%s laddr=%s fd=%d name= age=%lld idle=%lld flags=S db=0 "
                          "sub=0 psub=0 ssub=0 multi=-1 qbuf=0 qbuf-free=0 argv-mem=0 "
                          "multi-mem=0 rbs=0 rbp=0 obl=0 oll=0 omem=%lld tot-mem=%lld events=r "
                          "cmd=%s user=default redir=-1 resp=2\n",
                          (unsigned long long)rr->id, rr->addr, rr->laddr, rr->fd,
                          (now - rr->ctime_ms) / 1000, (now - rr->ack_ms) / 1000, behind,
                          behind + (long long)sizeof(*rr), rr->old_sync ? "sync" : "psync");
    }
    return out;
}

long long repl_client_kill(server *s, const char *addr, const char *laddr, long long id,
                           long long maxage) {
    repl_state *r = repl_of(s);
    long long now = util_ms_time(), killed = 0;
    for (repl_replica *rr = r->replicas; rr; rr = rr->next) {
        if (rr->dropped) continue;
        if (addr && strcmp(rr->addr, addr) != 0) continue;
        if (laddr && strcmp(rr->laddr, laddr) != 0) continue;
        if (id && (long long)rr->id != id) continue;
        if (maxage && (now - rr->ctime_ms) / 1000 < maxage) continue;
        repl_drop_replica(s, rr);
        killed++;
    }
    return killed;
}

static command sync_commands[] = {
    COMMAND_ROW("sync", cmd_sync, 1, CMD_ADMIN | CMD_NOSCRIPT | CMD_NO_MULTI | CMD_NO_ASYNC_LOADING,
                0, 0, 0),
    COMMAND_ROW("psync", cmd_psync, -3,
                CMD_ADMIN | CMD_NOSCRIPT | CMD_NO_MULTI | CMD_NO_ASYNC_LOADING, 0, 0, 0),
    COMMAND_END,
};

void repl_register_sync(void) { commands_register_table(sync_commands); }
