/* master: the keyspace-thread side of a replication master.
 *
 * State: the two replication ids (replid for the current history,
 * replid2 valid up to second_replid_offset after a promotion), the
 * backlog, and the db the stream last SELECTed. The propagation point
 * feeds repl_feed(), which encodes each operation into the stream. Like
 * Redis, a master that never had a replica keeps no backlog and its
 * offset stays put; once the backlog exists, every write is counted.
 *
 * What crosses to replication I/O threads is only the backlog (read in
 * place through published offsets) and messages on the SPSC queues. */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "core/commands.h"
#include "core/log.h"
#include "core/mem.h"
#include "core/propagate.h"
#include "core/reply.h"
#include "core/util.h"
#include "repl/backlog.h"
#include "repl/repl.h"

typedef struct repl_state {
    char replid[41];
    char replid2[41];
    long long second_replid_offset;
    long long master_repl_offset;
    backlog *bl;
    int stream_db; /* db the stream last selected, -1 = none */
    int nreplicas;
    int good_replicas;
    long long last_ping_ms;
    long long no_replicas_since_ms;
    long long sync_full, sync_partial_ok, sync_partial_err;
    dstr scratch;
} repl_state;

static repl_state *state_of(server *s) { return s->repl; }

static void stream_append_command(repl_state *r, dstr *argv, int argc) {
    dstr buf = r->scratch;
    dstr_clear(buf);
    buf = resp_encode_command(buf, argv, argc);
    backlog_append(r->bl, buf, dstr_len(buf));
    r->scratch = buf;
    r->master_repl_offset = backlog_end(r->bl);
}

/* The propagation sink. */
static void repl_feed(void *priv, int dbid, dstr *argv, int argc) {
    server *s = priv;
    repl_state *r = state_of(s);
    if (!r->bl) return;
    if (dbid >= 0 && dbid != r->stream_db) {
        char num[24];
        int n = util_ll_to_str(num, sizeof(num), dbid);
        dstr sel[2] = {dstr_from("SELECT"), dstr_new(num, (size_t)n)};
        stream_append_command(r, sel, 2);
        dstr_free(sel[0]);
        dstr_free(sel[1]);
        r->stream_db = dbid;
    }
    stream_append_command(r, argv, argc);
}

void repl_create_backlog(server *s) {
    repl_state *r = state_of(s);
    if (r->bl) return;
    r->bl = backlog_create(r->master_repl_offset, s->cfg.repl_backlog_size, 64 * 1024);
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
}

void repl_free(server *s) {
    repl_state *r = state_of(s);
    if (!r) return;
    backlog_free(r->bl);
    dstr_free(r->scratch);
    mem_free(r);
    s->repl = NULL;
}

void repl_before_sleep(server *s) {
    repl_state *r = state_of(s);
    if (!r || !r->bl) return;
    backlog_publish(r->bl);
}

void repl_cron(server *s) {
    repl_state *r = state_of(s);
    if (!r || !r->bl) return;
    long long now = util_ms_time();
    if (r->nreplicas > 0 &&
        now - r->last_ping_ms >= (long long)s->cfg.repl_ping_replica_period * 1000) {
        /* The PING carries no db: replicas use it to detect a dead link. */
        dstr ping[1] = {dstr_from("PING")};
        stream_append_command(r, ping, 1);
        dstr_free(ping[0]);
        r->last_ping_ms = now;
    }
    if (r->bl->window != s->cfg.repl_backlog_size) backlog_resize(r->bl, s->cfg.repl_backlog_size);
    backlog_trim(r->bl);
    /* With no replicas for repl-backlog-ttl seconds the backlog goes, as
     * in Redis (0 = keep forever). */
    if (r->nreplicas > 0) r->no_replicas_since_ms = now;
    if (r->nreplicas == 0 && s->cfg.repl_backlog_ttl > 0 &&
        now - r->no_replicas_since_ms > s->cfg.repl_backlog_ttl * 1000) {
        log_msg(LL_NOTICE, "Replication backlog freed after %lld seconds without connected replicas.",
                s->cfg.repl_backlog_ttl);
        backlog_free(r->bl);
        r->bl = NULL;
        propagate_set_sink(s, NULL, NULL);
        /* A new history: old replicas cannot continue from it. */
        memcpy(r->replid2, r->replid, 41);
        r->second_replid_offset = -1;
        memset(r->replid2, '0', 40);
        util_random_hex(r->replid, 40);
    }
}

long long repl_offset(server *s) { return state_of(s)->master_repl_offset; }
const char *repl_id(server *s) { return state_of(s)->replid; }

dstr repl_info(server *s, dstr o) {
    repl_state *r = state_of(s);
    long long first = r->bl ? backlog_first(r->bl) : 0;
    long long histlen = r->bl ? backlog_histlen(r->bl) : 0;
    return dstr_catfmt(o,
                       "# Replication\r\nrole:master\r\nconnected_slaves:%d\r\n"
                       "master_failover_state:no-failover\r\nmaster_replid:%s\r\n"
                       "master_replid2:%s\r\nmaster_repl_offset:%lld\r\n"
                       "second_repl_offset:%lld\r\nrepl_backlog_active:%d\r\n"
                       "repl_backlog_size:%lld\r\nrepl_backlog_first_byte_offset:%lld\r\n"
                       "repl_backlog_histlen:%lld\r\n",
                       r->nreplicas, r->replid, r->replid2, r->master_repl_offset,
                       r->second_replid_offset, r->bl != NULL, s->cfg.repl_backlog_size, first,
                       histlen);
}

int repl_check_write_allowed(client *c) {
    server *s = c->srv;
    repl_state *r = state_of(s);
    if (s->cfg.min_replicas_to_write <= 0 || s->cfg.min_replicas_max_lag <= 0) return 0;
    if (r->good_replicas >= s->cfg.min_replicas_to_write) return 0;
    reply_error(c, "NOREPLICAS Not enough good replicas to write.");
    return -1;
}

/* ---- commands ---- */

static void cmd_role(client *c) {
    repl_state *r = state_of(c->srv);
    reply_array(c, 3);
    reply_bulk_cstr(c, "master");
    reply_int(c, r->master_repl_offset);
    reply_array(c, 0);
}

static void cmd_replconf(client *c) {
    if (c->argc % 2 == 0) {
        reply_error(c, ERR_SYNTAX);
        return;
    }
    for (int i = 1; i < c->argc; i += 2) {
        const dstr opt = c->argv[i];
        if (arg_is(opt, "listening-port") || arg_is(opt, "ip-address") || arg_is(opt, "capa") ||
            arg_is(opt, "rdb-only") || arg_is(opt, "rdb-filter-only")) {
            continue;
        } else if (arg_is(opt, "ack") || arg_is(opt, "getack")) {
            /* Only meaningful on a replica link; a normal client gets no
             * reply to ACK, as in Redis. */
            return;
        } else {
            reply_errorf(c, "ERR Unrecognized REPLCONF option: %s", opt);
            return;
        }
    }
    reply_ok(c);
}

static void cmd_wait(client *c) {
    long long numreplicas, timeout;
    if (arg_ll(c, c->argv[1], &numreplicas) < 0) return;
    if (!util_str_to_ll(c->argv[2], dstr_len(c->argv[2]), &timeout)) {
        reply_error(c, "ERR timeout is not an integer or out of range");
        return;
    }
    if (timeout < 0) {
        reply_error(c, "ERR timeout is negative");
        return;
    }
    repl_state *r = state_of(c->srv);
    /* With no replica attached nothing can acknowledge: the answer is the
     * number of replicas that have the write, zero. */
    reply_int(c, r->nreplicas > numreplicas ? r->nreplicas : 0);
}

static command repl_commands[] = {
    {"role", cmd_role, 1, CMD_NOSCRIPT | CMD_LOADING | CMD_STALE | CMD_FAST, 0, 0, 0, NULL, 0,
     0, 0, 0, NULL},
    {"replconf", cmd_replconf, -1, CMD_ADMIN | CMD_NOSCRIPT | CMD_LOADING | CMD_STALE, 0, 0, 0,
     NULL, 0, 0, 0, 0, NULL},
    {"wait", cmd_wait, 3, CMD_NOSCRIPT, 0, 0, 0, NULL, 0, 0, 0, 0, NULL},
    {NULL, NULL, 0, 0, 0, 0, 0, NULL, 0, 0, 0, 0, NULL},
};

void repl_register(void) { commands_register_table(repl_commands); }
