/* master: the keyspace-thread side of a replication master.
 *
 * State (master_int.h): the two replication ids (replid for the current
 * history, replid2 valid up to second_replid_offset after a promotion),
 * the backlog, the db the stream last SELECTed, and the replicas, whose
 * sockets live on the replication I/O threads. The propagation point feeds
 * repl_feed(), which encodes each operation into the stream. Like Redis,
 * a master that never had a replica keeps no backlog and its offset stays
 * put; once the backlog exists, every write is counted.
 *
 * Once per event-loop pass repl_before_sleep publishes the stream's new
 * end (a release store the I/O threads acquire) and pokes the threads, so
 * every byte written during the pass leaves in as few sends as possible.
 * WAIT's "REPLCONF GETACK *" is appended there too, as Redis does in its
 * beforeSleep. The cron sends the PING every repl-ping-replica-period,
 * the once-a-second TICK that keeps waiting replicas alive, reaps the
 * snapshot child and starts the next one, and applies repl-timeout and
 * the replica output-buffer limits.
 *
 * What crosses to the I/O threads is only the backlog (read in place
 * through published offsets) and messages on the SPSC queues. */
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "core/commands.h"
#include "core/log.h"
#include "core/mem.h"
#include "core/persist.h"
#include "core/propagate.h"
#include "core/reply.h"
#include "core/util.h"
#include "repl/master_int.h"
#include "repl/replica_conn.h"
#include "repl/repl.h"

void repl_stream_append(repl_state *r, dstr *argv, int argc) {
    dstr buf = r->scratch;
    dstr_clear(buf);
    buf = resp_encode_command(buf, argv, argc);
    backlog_append(r->bl, buf, dstr_len(buf));
    r->scratch = buf;
    r->master_repl_offset = backlog_end(r->bl);
}

/* The propagation sink: one command, already in its RESP form. */
static void repl_feed(void *priv, int dbid, const char *cmd, size_t len) {
    server *s = priv;
    repl_state *r = repl_of(s);
    if (!r->bl) return;
    if (dbid >= 0 && dbid != r->stream_db) {
        char num[24];
        int n = util_ll_to_str(num, sizeof(num), dbid);
        dstr sel[2] = {dstr_from("SELECT"), dstr_new(num, (size_t)n)};
        repl_stream_append(r, sel, 2);
        dstr_free(sel[0]);
        dstr_free(sel[1]);
        r->stream_db = dbid;
    }
    backlog_append(r->bl, cmd, len);
    r->master_repl_offset = backlog_end(r->bl);
}

void repl_new_history(repl_state *r) {
    util_random_hex(r->replid, 40);
    memset(r->replid2, '0', 40);
    r->second_replid_offset = -1;
}

/* Redis never keeps less than 16 KB of backlog, whatever the setting. */
#define BACKLOG_MIN_WINDOW (16 * 1024)

static long long backlog_window(const server *s) {
    long long w = s->cfg.repl_backlog_size;
    return w < BACKLOG_MIN_WINDOW ? BACKLOG_MIN_WINDOW : w;
}

/* A stream send covers at most one block, and every send costs the I/O
 * thread a completion to wake for: on a busy machine those wake-ups, not
 * the bytes, are what a replica's lag is made of. So blocks grow with the
 * window (a quarter of it, 64 KB to 1 MB), keeping the memory kept beyond
 * the window to a quarter of it. */
static size_t backlog_block_size(long long window) {
    long long b = window / 4;
    if (b < 64 * 1024) b = 64 * 1024;
    if (b > 1024 * 1024) b = 1024 * 1024;
    return (size_t)b;
}

void repl_stream_append_raw(repl_state *r, const char *p, size_t len) {
    if (!r->bl) return;
    backlog_append(r->bl, p, len);
    r->master_repl_offset = backlog_end(r->bl);
    /* The master's stream selects its own dbs: what we would select next
     * is unknown, so a promoted server starts with a SELECT. */
    r->stream_db = -1;
}

/* Dropped replicas may still read a replaced backlog until they report
 * CLOSED (and give their reader slots back). */
static void retire_backlog(repl_state *r, backlog *bl) {
    if (backlog_readers_free(bl) == BACKLOG_MAX_READERS) {
        backlog_free(bl);
        return;
    }
    r->retired = mem_realloc(r->retired, sizeof(*r->retired) * (size_t)(r->nretired + 1));
    r->retired[r->nretired++] = bl;
}

static void free_retired_backlogs(repl_state *r, int all) {
    int kept = 0;
    for (int i = 0; i < r->nretired; i++) {
        if (all || backlog_readers_free(r->retired[i]) == BACKLOG_MAX_READERS)
            backlog_free(r->retired[i]);
        else
            r->retired[kept++] = r->retired[i];
    }
    r->nretired = kept;
}

void repl_reset_backlog(server *s, long long offset) {
    repl_state *r = repl_of(s);
    if (r->bl) {
        retire_backlog(r, r->bl);
        r->bl = NULL;
    }
    r->master_repl_offset = offset;
    r->bl = backlog_create(offset, backlog_window(s), backlog_block_size(backlog_window(s)));
    r->poked_end = offset;
    r->stream_db = -1;
}

void repl_resume_feeding(server *s) { propagate_set_sink(s, repl_feed, s); }

void repl_create_backlog(server *s) {
    repl_state *r = repl_of(s);
    if (r->bl) return;
    r->bl = backlog_create(r->master_repl_offset, backlog_window(s),
                           backlog_block_size(backlog_window(s)));
    r->poked_end = r->master_repl_offset;
    /* A new backlog starts without a selected db, so the first write
     * carries a SELECT whatever the previous stream did. */
    r->stream_db = -1;
    /* Until now nobody consumed writes: the sink was off, so commands did
     * not pay for copying their argv. */
    propagate_set_sink(s, repl_feed, s);
}

void repl_init(server *s) {
    repl_state *r = mem_calloc(sizeof(*r));
    util_random_hex(r->replid, 40);
    memset(r->replid2, '0', 40);
    r->second_replid_offset = -1;
    r->stream_db = -1;
    r->scratch = dstr_empty();
    r->no_replicas_since_ms = util_ms_time();
    s->repl = r;
    replica_init(s);
}

/* At shutdown the last reports are dropped: a CLOSED report's socket is
 * still its record's rr->fd, closed below with every other one. */
static void drop_final_report(void *ctx, const spsc_msg *m) {
    (void)ctx;
    /* A replica connection's reports may carry buffers: they are ours. */
    if (m->type >= RCONN_REP_STATE && m->type <= RCONN_REP_CLOSED) mem_free(m->ptr);
}

void repl_free(server *s) {
    repl_state *r = repl_of(s);
    if (!r) return;
    repl_snapshot_kill(s);
    if (r->pool_started) {
        repl_unwatch_pool(s);
        io_pool_stop(&r->pool, drop_final_report, NULL);
    }
    replica_free(s);
    free_retired_backlogs(r, 1);
    mem_free(r->retired);
    while (r->replicas) {
        repl_replica *rr = r->replicas;
        r->replicas = rr->next;
        /* The I/O threads are gone: the sockets are ours alone. */
        if (rr->fd >= 0) close(rr->fd);
        mem_free(rr);
    }
    backlog_free(r->bl);
    dstr_free(r->scratch);
    mem_free(r->waiters);
    mem_free(r);
    s->repl = NULL;
}

int repl_before_sleep(server *s) {
    repl_state *r = repl_of(s);
    if (!r) return 0;
    if (s->cfg.repl_backpressure_lag > 0 || r->bp_armed || r->bp_holding)
        repl_backpressure(s, util_ms_time());
    int busy = replica_before_sleep(s);
    repl_failover_update(s);
    if (!r->bl) return busy;
    if (r->get_ack_requested && !repl_is_replica(s)) {
        dstr getack[3] = {dstr_from("REPLCONF"), dstr_from("GETACK"), dstr_from("*")};
        repl_stream_append(r, getack, 3);
        for (int i = 0; i < 3; i++) dstr_free(getack[i]);
        r->get_ack_requested = 0;
        r->getack_end = r->master_repl_offset;
    }
    backlog_publish(r->bl);
    /* Free what the window and the replicas are done with as the stream
     * grows, not only in the cron: a writer fast enough would otherwise
     * pile a tenth of a second of writes on top of repl-backlog-size and
     * every replica's output-buffer limit (Redis trims at every append). */
    backlog_trim(r->bl);
    if (r->pool_started && r->master_repl_offset != r->poked_end) {
        r->poked_end = r->master_repl_offset;
        spsc_msg poke = {.type = LINK_MSG_POKE, .fd = -1};
        for (unsigned i = 0; i < r->pool.count; i++) io_thread_post(r->pool.threads[i], &poke);
        /* Output-buffer limits are checked as the stream grows, not only
         * in the cron: a burst must not overshoot the hard limit by a
         * tenth of a second of writes (Redis checks at every append). */
        if (r->replicas) repl_limits_cron(s, util_ms_time());
    }
    return busy;
}

void repl_cron(server *s) {
    repl_state *r = repl_of(s);
    if (!r) return;
    long long now = util_ms_time();
    repl_snapshot_reap(s);
    int nreplicas = repl_count_replicas(r);
    if (r->pool_started && now - r->last_tick_ms >= 1000) {
        r->last_tick_ms = now;
        spsc_msg tick = {.type = LINK_MSG_TICK, .fd = -1,
                         .val = (uint64_t)s->cfg.repl_timeout * 1000};
        for (unsigned i = 0; i < r->pool.count; i++) io_thread_post(r->pool.threads[i], &tick);
    }
    repl_wait_check(s);
    replica_cron(s);
    free_retired_backlogs(r, 0);
    if (!r->bl) return;
    /* A replica's stream is its master's, byte for byte: no PINGs of its
     * own (its replicas get its master's), and the backlog stays for its
     * replicas and a later promotion. */
    int replica = repl_is_replica(s);
    if (!replica && nreplicas > 0 &&
        now - r->last_ping_ms >= (long long)s->cfg.repl_ping_replica_period * 1000) {
        /* The PING carries no db: replicas use it to detect a dead link. */
        dstr ping[1] = {dstr_from("PING")};
        repl_stream_append(r, ping, 1);
        dstr_free(ping[0]);
        r->last_ping_ms = now;
    }
    repl_snapshot_maybe_start(s, 0);
    repl_limits_cron(s, now);
    repl_refresh_good(s);
    if (r->bl->window != backlog_window(s)) {
        backlog_resize(r->bl, backlog_window(s));
        r->bl->block_size = backlog_block_size(backlog_window(s)); /* for new blocks */
    }
    backlog_trim(r->bl);
    /* With no replicas for repl-backlog-ttl seconds the backlog goes, as
     * in Redis (0 = keep forever); never a replica's. */
    if (nreplicas > 0 || r->replicas || r->snap.id || replica) r->no_replicas_since_ms = now;
    if (!replica && !r->replicas && !r->snap.id && s->cfg.repl_backlog_ttl > 0 &&
        now - r->no_replicas_since_ms > s->cfg.repl_backlog_ttl * 1000) {
        log_msg(LL_NOTICE, "Replication backlog freed after %lld seconds without connected replicas.",
                s->cfg.repl_backlog_ttl);
        backlog_free(r->bl);
        r->bl = NULL;
        propagate_set_sink(s, NULL, NULL);
        /* A new history: old replicas cannot continue from it. */
        repl_new_history(r);
    }
}

long long repl_offset(server *s) { return repl_of(s)->master_repl_offset; }
const char *repl_id(server *s) { return repl_of(s)->replid; }

void repl_sync_stats(server *s, long long *full, long long *partial_ok, long long *partial_err) {
    repl_state *r = repl_of(s);
    *full = r->sync_full;
    *partial_ok = r->sync_partial_ok;
    *partial_err = r->sync_partial_err;
}

void repl_net_bytes_get(server *s, repl_net_bytes *out) {
    repl_state *r = repl_of(s);
    memset(out, 0, sizeof(*out));
    if (!r) return;
    link_threads *t = &r->link_ctx;
    out->out = (long long)(atomic_load_explicit(&t->out_bytes, memory_order_relaxed) -
                           r->out_bytes_base);
    out->from_replicas = (long long)(atomic_load_explicit(&t->in_bytes, memory_order_relaxed) -
                                     r->in_bytes_base);
    /* Replication input is what a replica reads from its master (0 on a
     * master that never followed one, as on Redis). */
    out->from_master = replica_net_in_bytes(s) - r->from_master_base;
}

void repl_net_bytes_reset(server *s) {
    repl_state *r = repl_of(s);
    if (!r) return;
    r->out_bytes_base = atomic_load_explicit(&r->link_ctx.out_bytes, memory_order_relaxed);
    r->in_bytes_base = atomic_load_explicit(&r->link_ctx.in_bytes, memory_order_relaxed);
    r->from_master_base = replica_net_in_bytes(s);
    /* As Redis's resetServerStats. */
    r->sync_full = r->sync_partial_ok = r->sync_partial_err = 0;
}

static const char *state_name(int state) {
    switch (state) {
    case LINK_WAIT_BGSAVE_START:
    case LINK_WAIT_BGSAVE_END:
        return "wait_bgsave";
    case LINK_SEND_BULK:
        return "send_bulk";
    default:
        return "online";
    }
}

/* What the I/O threads' zero-copy stream sends did (link.h): sent, and,
 * per the kernel's notifications, copied anyway or really zero-copy. On
 * loopback the kernel copies them all. */
static dstr zerocopy_info(repl_state *r, dstr o) {
    link_threads *t = &r->link_ctx;
    return dstr_catfmt(
        o,
        "repl_zerocopy_sends:%llu\r\nrepl_zerocopy_sends_copied:%llu\r\n"
        "repl_zerocopy_sends_zerocopy:%llu\r\nrepl_zerocopy_usage_reported:%d\r\n",
        atomic_load_explicit(&t->zc_sends, memory_order_relaxed),
        atomic_load_explicit(&t->zc_copied, memory_order_relaxed),
        atomic_load_explicit(&t->zc_zerocopy, memory_order_relaxed),
        atomic_load_explicit(&t->zc_usage_reported, memory_order_relaxed));
}

/* connected_slaves and a line per replica: a replica lists its own
 * (chained) replicas as a master does. */
static dstr replicas_info(server *s, dstr o) {
    repl_state *r = repl_of(s);
    long long now = util_ms_time();
    o = dstr_catfmt(o, "connected_slaves:%d\r\n", repl_count_replicas(r));
    if (s->cfg.min_replicas_to_write && s->cfg.min_replicas_max_lag)
        o = dstr_catfmt(o, "min_slaves_good_slaves:%d\r\n", r->good_replicas);
    /* Oldest first, as Redis lists its replicas. */
    int n = 0;
    for (repl_replica *rr = r->replicas; rr; rr = rr->next) n += !rr->dropped;
    repl_replica **v = mem_alloc(sizeof(*v) * (size_t)(n ? n : 1));
    int i = n;
    for (repl_replica *rr = r->replicas; rr; rr = rr->next)
        if (!rr->dropped) v[--i] = rr;
    for (i = 0; i < n; i++) {
        repl_replica *rr = v[i];
        o = dstr_catfmt(o, "slave%d:ip=%s,port=%d,state=%s,offset=%lld,lag=%lld\r\n", i, rr->ip,
                        rr->port, state_name(rr->state), rr->ack_off > 0 ? rr->ack_off : 0,
                        (now - rr->ack_ms) / 1000);
    }
    mem_free(v);
    return o;
}

dstr repl_info(server *s, dstr o) {
    repl_state *r = repl_of(s);
    int replica = repl_is_replica(s);
    o = replica ? replica_info(s, o) : dstr_cats(o, "# Replication\r\nrole:master\r\n");
    o = replicas_info(s, o);
    o = dstr_catfmt(o,
                    "master_failover_state:%s\r\nmaster_replid:%s\r\n"
                    "master_replid2:%s\r\nmaster_repl_offset:%lld\r\n"
                    "second_repl_offset:%lld\r\nrepl_backlog_active:%d\r\n"
                    "repl_backlog_size:%lld\r\nrepl_backlog_first_byte_offset:%lld\r\n"
                    "repl_backlog_histlen:%lld\r\n",
                    repl_failover_state_name(s), r->replid, r->replid2, r->master_repl_offset,
                    r->second_replid_offset, r->bl != NULL, backlog_window(s),
                    r->bl ? backlog_first(r->bl) : 0,
                    r->bl ? backlog_histlen(r->bl) : 0);
    if (replica) return o;
    o = dstr_catfmt(o, "repl_backpressure_active:%d\r\nrepl_backpressure_holds:%lld\r\n",
                    r->bp_holding, r->bp_holds);
    return zerocopy_info(r, o);
}

int repl_shutdown_lagging(server *s, int log) {
    repl_state *r = repl_of(s);
    if (!r) return 0;
    long long now = util_ms_time();
    int n = 0, lagging = 0;
    for (repl_replica *rr = r->replicas; rr; rr = rr->next) {
        if (rr->dropped) continue;
        n++;
        if (rr->ack_off == r->master_repl_offset) continue;
        lagging++;
        if (log)
            log_msg(LL_WARNING,
                    "Lagging replica %s reported offset %lld behind master, lag=%lld, state=%s.",
                    rr->name, r->master_repl_offset - rr->ack_off,
                    rr->state == LINK_ONLINE ? (now - rr->ack_ms) / 1000 : 0,
                    state_name(rr->state));
    }
    if (log && n)
        log_msg(LL_NOTICE, "%d of %d replicas are in sync when shutting down.", n - lagging, n);
    return lagging;
}

void repl_shutdown_getack(server *s) {
    repl_state *r = repl_of(s);
    if (r && r->bl && !repl_is_replica(s)) r->get_ack_requested = 1;
}

int repl_min_replicas_ok(server *s) {
    repl_state *r = repl_of(s);
    if (s->cfg.min_replicas_to_write <= 0 || s->cfg.min_replicas_max_lag <= 0) return 1;
    if (repl_is_replica(s)) return 1; /* only a master refuses writes for its replicas */
    return r && r->good_replicas >= s->cfg.min_replicas_to_write;
}

/* Snapshots record where the stream stood, so that a replica loading one
 * (or this master restarted from it) can continue with a partial resync. */
int repl_rdb_save_info(server *s, rdb_save_info *rsi) {
    repl_state *r = repl_of(s);
    if (!r || !r->bl) return 0;
    /* A replica's stream selects no db of its own: the db it continues in
     * is its master client's, and a sub-replica or this replica restarted
     * must continue in that one. */
    if (repl_is_replica(s))
        rsi->repl_stream_db = replica_stream_db(s);
    else
        rsi->repl_stream_db = r->stream_db < 0 ? 0 : r->stream_db;
    memcpy(rsi->repl_id, r->replid, 41);
    rsi->repl_offset = r->master_repl_offset;
    return 1;
}

/* ---- commands ---- */

static void cmd_role(client *c) {
    repl_state *r = repl_of(c->srv);
    if (repl_is_replica(c->srv)) {
        replica_role(c);
        return;
    }
    reply_array(c, 3);
    reply_bulk_cstr(c, "master");
    reply_int(c, r->master_repl_offset);
    size_t h = reply_defer_len(c);
    long long n = 0;
    for (repl_replica *rr = r->replicas; rr; rr = rr->next) {
        if (rr->dropped || rr->state != LINK_ONLINE) continue;
        reply_array(c, 3);
        reply_bulk_cstr(c, rr->ip);
        reply_bulk_ll(c, rr->port);
        reply_bulk_ll(c, rr->ack_off > 0 ? rr->ack_off : 0);
        n++;
    }
    reply_set_deferred_len(c, h, n);
}

static repl_conf_pending *pending_conf(repl_state *r, uint64_t id, int create) {
    for (int i = 0; i < r->npending; i++)
        if (r->pending[i].id == id) return &r->pending[i];
    if (!create) return NULL;
    if (r->npending == REPL_CONF_PENDING_MAX) {
        /* Clients that sent REPLCONF and never synced: forget the oldest. */
        memmove(&r->pending[0], &r->pending[1], sizeof(r->pending[0]) * (REPL_CONF_PENDING_MAX - 1));
        r->npending--;
    }
    repl_conf_pending *p = &r->pending[r->npending++];
    memset(p, 0, sizeof(*p));
    p->id = id;
    return p;
}

int repl_take_pending_conf(server *s, uint64_t id, repl_conf_pending *out) {
    repl_state *r = repl_of(s);
    for (int i = 0; i < r->npending; i++) {
        if (r->pending[i].id != id) continue;
        *out = r->pending[i];
        r->pending[i] = r->pending[--r->npending];
        return 1;
    }
    memset(out, 0, sizeof(*out));
    return 0;
}

/* The address a replica announces goes into INFO (one replica a line,
 * fields split at ','), ROLE and the log: a host name or an IP address
 * holds none of the bytes that could end a field or a line, nor a NUL
 * that would cut it short. */
static int announced_ip_is_valid(const dstr ip) {
    for (size_t i = 0; i < dstr_len(ip); i++) {
        unsigned char ch = (unsigned char)ip[i];
        if (ch < '!' || ch > '~' || ch == ',') return 0;
    }
    return 1;
}

static void cmd_replconf(client *c) {
    repl_state *r = repl_of(c->srv);
    if (c->argc % 2 == 0) {
        reply_error(c, ERR_SYNTAX);
        return;
    }
    for (int i = 1; i < c->argc; i += 2) {
        const dstr opt = c->argv[i], val = c->argv[i + 1];
        if (arg_is(opt, "listening-port")) {
            long long port;
            if (arg_ll(c, val, &port) < 0) return;
            pending_conf(r, c->id, 1)->port = (int)port;
        } else if (arg_is(opt, "ip-address")) {
            if (dstr_len(val) >= sizeof(((repl_conf_pending *)0)->ip)) {
                reply_error(c, "ERR REPLCONF ip-address provided by replica instance is too long: "
                               "46 bytes are allowed");
                return;
            }
            if (!announced_ip_is_valid(val)) {
                reply_error(c, "ERR REPLCONF ip-address must be a host name or an IP address");
                return;
            }
            snprintf(pending_conf(r, c->id, 1)->ip, 46, "%s", val);
        } else if (arg_is(opt, "capa")) {
            repl_conf_pending *p = pending_conf(r, c->id, 1);
            if (arg_is(val, "eof")) p->capa_eof = 1;
            else if (arg_is(val, "psync2")) p->capa_psync2 = 1;
        } else if (arg_is(opt, "rdb-only") || arg_is(opt, "rdb-filter-only")) {
            continue;
        } else if (arg_is(opt, "ack") || arg_is(opt, "getack")) {
            /* Only meaningful on a replica link, which the I/O thread
             * reads; a normal client gets no reply to ACK, as in Redis. */
            return;
        } else {
            reply_errorf(c, "ERR Unrecognized REPLCONF option: %s", opt);
            return;
        }
    }
    reply_ok(c);
}

static command repl_commands[] = {
    COMMAND_ROW("role", cmd_role, 1, CMD_NOSCRIPT | CMD_LOADING | CMD_STALE | CMD_FAST, 0, 0, 0),
    COMMAND_ROW("replconf", cmd_replconf, -1,
                CMD_ADMIN | CMD_NOSCRIPT | CMD_LOADING | CMD_STALE | CMD_ALLOW_BUSY, 0, 0, 0),
    COMMAND_END,
};

void repl_register(void) {
    commands_register_table(repl_commands);
    replica_register();
    repl_register_sync();
    repl_wait_register();
    repl_failover_register();
}
