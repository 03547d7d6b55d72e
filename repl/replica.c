/* replica: the keyspace-thread side of a replica (REPLICAOF).
 *
 * A server is a replica while cfg.replicaof_host is set (the `replicaof`
 * directive at startup, REPLICAOF/SLAVEOF at runtime). The connection to
 * the master lives on a replication I/O thread (replica_conn.h); this file
 * decides and applies:
 *
 *   NONE --REPLICAOF--> CONNECT --cron--> CONNECTING/HANDSHAKE (the I/O
 *   thread's reports) --FULLRESYNC--> TRANSFER --payload--> LOADING
 *   --loaded--> CONNECTED;  HANDSHAKE --CONTINUE--> CONNECTED.
 *   Any state --CLOSED--> CONNECT (again a second later, as Redis's cron).
 *
 * Loading. The RDB loader stages a fresh keyspace and replaces the old one
 * only once the whole payload loaded (rdb_loader_commit). With
 * repl-diskless-load swapdb the old dataset keeps serving meanwhile and
 * survives a failed load. With disabled (payload written to a file by the
 * I/O thread first) and on-empty-db (straight from the socket, when the
 * dataset is empty; otherwise as disabled) the old dataset is flushed when
 * loading starts, as Redis does, and clients get -LOADING until it ends. A
 * file is loaded a slice per event-loop pass, so the loop keeps answering.
 *
 * The stream. Bytes after the payload (or after +CONTINUE) are applied by
 * the master client, a client without a socket flagged CLIENT_MASTER: its
 * commands skip the read-only, auth and pause checks and its replies are
 * dropped. The offset advances by exactly the bytes of each command
 * applied, and those same bytes go into this server's backlog, so
 * master_repl_offset here equals the master's for the same history. While
 * the payload loads, the stream's buffers wait in `held`, as the I/O thread
 * handed them over (not copied), and are applied in order after. Every
 * buffer is released once applied (or queued in `pending`): until then its
 * bytes count against the I/O thread's read limit (replica_conn.h), so a
 * long load or a slow keyspace stops the reading and TCP slows the master.
 * The offset is published to the I/O thread (rconn_shared.applied), which
 * sends REPLCONF ACK once a second; REPLCONF GETACK is answered at its
 * exact place in the stream, with the offset before it, as Redis does.
 *
 * The cached master. When the link drops, the master's replid and the
 * applied offset are kept and the next handshake asks PSYNC <replid>
 * <offset+1>. A master that becomes a replica caches itself (Redis's
 * replicationCacheMasterUsingMyself), so its history can continue.
 * REPLICAOF NO ONE keeps the data, moves replid to replid2 with
 * second_repl_offset = master_repl_offset + 1 and draws a new replid.
 *
 * Not yet here: serving replicas of this replica (chained replication).
 * While a replica, SYNC/PSYNC is refused and this server's own replicas are
 * dropped when it starts following a master. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "core/commands.h"
#include "core/config_absent.h"
#include "core/db.h"
#include "core/log.h"
#include "core/mem.h"
#include "core/propagate.h"
#include "core/rdb.h"
#include "core/reply.h"
#include "core/tls.h"
#include "core/util.h"
#include "repl/master_int.h"
#include "repl/replica_conn.h"
#include "repl/repl.h"

enum rs_state {
    RS_NONE = 0,   /* a master */
    RS_CONNECT,    /* must connect (again) at connect_at_ms */
    RS_CONNECTING, /* the I/O thread connects */
    RS_HANDSHAKE,  /* PING .. PSYNC */
    RS_TRANSFER,   /* receiving the payload */
    RS_LOADING,    /* loading it */
    RS_CONNECTED,  /* applying the stream */
};

#define FILE_LOAD_SLICE (8 * 1024 * 1024) /* bytes of a disk payload per loop pass */

typedef struct replica_state {
    enum rs_state state;
    long long connect_at_ms;
    uint64_t conn_id;  /* the live connection, 0 for none */
    io_thread *thr;    /* its I/O thread */
    rconn_shared *shared;
    int conn_to_disk; /* where this connection puts a full payload */
    int conn_progressive; /* its disk payload is handed over as written, too */
    int sync_progressive; /* ... and this sync loads it so (the dataset was empty) */
    int failover;     /* the next PSYNC says FAILOVER (failover.c) */
    long long net_in_done; /* bytes read by connections that ended */
    /* When the last link that was up dropped; 0 while none ever was since
     * the last REPLICAOF NO ONE (INFO then says -1, as Redis 7.0: failed
     * attempts to connect do not start the count). */
    long long down_since_ms;

    /* the cached master: what the next PSYNC asks for */
    int have_cached;
    char cached_replid[41];
    long long cached_offset;
    int cached_db;

    /* the full sync under way */
    char sync_replid[41];
    long long sync_offset;
    uint64_t sync_size; /* RCONN_SIZE_EOF_MARK when unknown */
    long long sync_start_ms;
    int sync_to_disk;
    int sync_swapdb;
    rdb_loader *ld;
    int load_fd; /* the disk payload being loaded, -1 */
    rconn_buf *held, *held_tail; /* stream that arrived while the payload loaded */

    long long last_tick_ms;
    client *master; /* while CONNECTED */
    /* The stream's parse state: `pending` holds the bytes of a command
     * split across two buffers, `parsed` how many of them the parser has
     * consumed already. */
    req_parser parser;
    dstr pending;
    size_t parsed;
    /* A transaction of the stream, MULTI up to the command before EXEC:
     * run (queued) but not applied, so neither counted in the offset nor
     * kept in the backlog until its EXEC has run. A link lost inside it
     * then continues from its MULTI, and a snapshot taken meanwhile has
     * an offset that matches its data. */
    dstr txn;

    /* Errors the stream's commands got (stream_error): lines logged in
     * the current second, and those left out since the last line. */
    long long err_log_sec;
    int err_logged;
    long long err_suppressed;
} replica_state;

static replica_state *rs_of(server *s) { return repl_of(s)->rs; }

int repl_is_replica(server *s) { return s->cfg.replicaof_host != NULL; }

static int link_up(const replica_state *rs) { return rs && rs->state == RS_CONNECTED; }

int replica_link_up(server *s) { return s->repl && link_up(rs_of(s)); }

int replica_stream_db(server *s) {
    replica_state *rs = rs_of(s);
    if (rs->master) return client_db_index(rs->master);
    return rs->have_cached ? rs->cached_db : 0;
}

/* ---- connecting ----------------------------------------------------------- */

static void post(replica_state *rs, uint32_t type, void *ptr, uint64_t val) {
    spsc_msg m = {.type = type, .fd = -1, .id = rs->conn_id, .val = val, .ptr = ptr};
    if (io_thread_post(rs->thr, &m) < 0 && type == RCONN_MSG_SEND) mem_free(ptr);
}

static int dataset_empty(server *s) {
    for (int j = 0; j < s->dbnum; j++)
        if (dict_size(s->dbs[j].keys)) return 0;
    return 1;
}

static int to_disk(server *s) {
    if (s->cfg.repl_diskless_load == 0) return 1; /* disabled */
    if (s->cfg.repl_diskless_load == 1) return !dataset_empty(s); /* on-empty-db */
    return 0;
}

static void start_connection(server *s) {
    repl_state *r = repl_of(s);
    replica_state *rs = r->rs;
    if (repl_ensure_pool(s) < 0) {
        rs->connect_at_ms = util_ms_time() + 1000;
        return;
    }
    /* tls-replication yes is a promise that nothing goes to the master in
     * plaintext: without a context there is no connection at all, only
     * another try a second later, as after a refused connect. */
    struct ssl_ctx_st *ssl_ctx = NULL;
    if (s->cfg.tls_replication) {
        const char *why = "";
        ssl_ctx = tls_client_context(s, &why);
        if (!ssl_ctx) {
            log_msg(LL_WARNING,
                    "Unable to connect to MASTER: TLS client context not available (%s)", why);
            rs->connect_at_ms = util_ms_time() + 1000;
            return;
        }
    }
    rconn_start *st = mem_calloc(sizeof(*st));
    snprintf(st->host, sizeof(st->host), "%s", s->cfg.replicaof_host);
    st->port = s->cfg.replicaof_port;
    if (s->cfg.masterauth) st->auth_pass = dstr_dup(s->cfg.masterauth);
    if (s->cfg.masteruser) st->auth_user = dstr_dup(s->cfg.masteruser);
    st->listening_port = s->cfg.replica_announce_port ? s->cfg.replica_announce_port
                                                      : s->cfg.port;
    if (s->cfg.replica_announce_ip)
        snprintf(st->announce_ip, sizeof(st->announce_ip), "%s", s->cfg.replica_announce_ip);
    if (rs->have_cached) {
        memcpy(st->psync_replid, rs->cached_replid, 41);
        st->psync_offset = rs->cached_offset + 1;
    } else {
        strcpy(st->psync_replid, "?");
        st->psync_offset = -1;
    }
    st->to_disk = rs->conn_to_disk = to_disk(s);
    /* A disk payload for an empty dataset is also loaded as it arrives:
     * there is nothing to keep serving, and the file still ends up as
     * dbfilename, but the load overlaps the transfer instead of following
     * it (on a fresh replica, most of a full sync's time). */
    st->load_as_received = rs->conn_progressive = st->to_disk && dataset_empty(s);
    snprintf(st->dbfilename, sizeof(st->dbfilename), "%s", s->cfg.dbfilename);
    st->tcp_nodelay = !s->cfg.repl_disable_tcp_nodelay;
    st->psync_failover = rs->failover;
    st->ssl_ctx = ssl_ctx;
    rs->shared = mem_calloc(sizeof(*rs->shared));
    atomic_store_explicit(&rs->shared->last_io_ms, util_ms_time(), memory_order_relaxed);
    atomic_store_explicit(&rs->shared->applied, rs->have_cached ? rs->cached_offset : 0,
                          memory_order_release);
    rs->shared->read_limit = RCONN_READ_LIMIT;
    st->shared = rs->shared;
    rs->conn_id = ++r->next_conn_id;
    rs->thr = io_pool_assign(&r->pool);
    rs->state = RS_CONNECTING;
    /* The I/O thread logs "Connecting to MASTER" and "MASTER <-> REPLICA
     * sync started" as it begins, once per attempt, as Redis does. */
    post(rs, RCONN_MSG_START, st, 0);
}

/* The connection is over (or must be): forget it, keep the cached master. */
static void stop_connection(replica_state *rs) {
    if (rs->conn_id) post(rs, RCONN_MSG_STOP, NULL, 0);
}

/* ---- the master client and the stream ------------------------------------- */

/* Remember where the master's history stood, for the next PSYNC. */
static void remember_master(server *s, replica_state *rs, const client *m) {
    repl_state *r = repl_of(s);
    rs->have_cached = 1;
    memcpy(rs->cached_replid, r->replid, 41);
    rs->cached_offset = r->master_repl_offset;
    rs->cached_db = client_db_index(m);
    log_msg(LL_NOTICE, "Caching the disconnected master state.");
}

static void cache_master(server *s, replica_state *rs) {
    client *m = rs->master;
    if (!m) return;
    remember_master(s, rs, m);
    rs->master = NULL; /* before the free: repl_client_freed must not see it */
    client_free(m);
}

/* The master client was freed by someone else (the server shutting down
 * frees every client): forget it, keep its place in the history, and let
 * the link go. */
void repl_client_freed(server *s, client *c) {
    replica_state *rs = s->repl ? rs_of(s) : NULL;
    if (!rs || rs->master != c) return;
    remember_master(s, rs, c);
    rs->master = NULL;
    stop_connection(rs);
}

static void create_master_client(server *s, replica_state *rs, int dbid) {
    char addr[300];
    snprintf(addr, sizeof(addr), "%s:%d", s->cfg.replicaof_host, s->cfg.replicaof_port);
    rs->master = client_create_master(s, addr, dbid);
    /* A new link: nothing of an older stream is half parsed. */
    req_parser_free(&rs->parser);
    req_parser_init(&rs->parser, 0);
    dstr_clear(rs->pending);
    dstr_clear(rs->txn);
    rs->parsed = 0;
}

/* REPLCONF GETACK, met in the stream: answer with the offset before it. */
static int is_getack(dstr *argv, int argc) {
    return argc >= 2 && dstr_len(argv[0]) == 8 && !strncasecmp(argv[0], "replconf", 8) &&
           dstr_len(argv[1]) == 6 && !strncasecmp(argv[1], "getack", 6);
}

static void send_ack(replica_state *rs, long long offset) {
    size_t len;
    char *buf = rconn_ack_cmd(offset, &len);
    post(rs, RCONN_MSG_SEND, buf, (uint64_t)len);
}

/* The bytes of a stream command's name kept in case it fails. */
#define STREAM_CMD_NAME_MAX 32
/* At most this many lines a second about failing stream commands. */
#define STREAM_ERR_LOGS_PER_SEC 10

/* A command of the master's stream got an error here. Nobody reads our
 * replies to the master, but an error means this replica now diverges
 * from it: say so with Redis 7.0's line (afterErrorReply), at most
 * STREAM_ERR_LOGS_PER_SEC a second so that a master sending a command
 * Ringmaster lacks, thousands of times, does not flood the log; count it
 * in INFO's unexpected_error_replies; and obey propagation-error-behavior:
 * panic (or panic-on-replicas) stops a read-only replica here, rather than
 * let it serve data its master does not have. */
static void stream_error(server *s, replica_state *rs, const char *name, size_t nlen,
                         const char *err) {
    char shown[3 * STREAM_CMD_NAME_MAX + 8];
    log_repr(shown, sizeof(shown), name, nlen);
    const char *text = strncmp(err, "ERR ", 4) ? err : err + 4;
    s->stat_unexpected_error_replies++;
    long long sec = util_ms_time() / 1000;
    if (sec != rs->err_log_sec) {
        rs->err_log_sec = sec;
        rs->err_logged = 0;
    }
    int panic = s->cfg.replica_read_only &&
                s->cfg.propagation_error_behavior != PROPAGATION_ERR_IGNORE;
    if (rs->err_logged < STREAM_ERR_LOGS_PER_SEC || panic) {
        rs->err_logged++;
        if (rs->err_suppressed)
            log_msg(LL_WARNING, "%lld more errors replying to the master were not logged",
                    rs->err_suppressed);
        rs->err_suppressed = 0;
        log_msg(LL_WARNING,
                "== CRITICAL == This replica is sending an error to its master: '%s' after "
                "processing the command '%s'",
                text, shown);
    } else {
        rs->err_suppressed++;
    }
    if (panic) {
        log_msg(LL_WARNING,
                "Guru Meditation: This replica panicked sending an error to its master after "
                "processing the command '%s' (propagation-error-behavior)",
                shown);
        abort();
    }
}

/* Run the complete commands in buf[0..len), the parser resuming at
 * rs->parsed. Each command adds its own bytes to the offset and to the
 * backlog after it ran. Returns where the last command run ended; the
 * parser may have consumed whole elements of the next, incomplete one
 * (rs->parsed says how far, from that end), and those bytes count only
 * once their command has run. */
static size_t run_commands(server *s, replica_state *rs, client *c, const char *buf,
                           size_t len) {
    repl_state *r = repl_of(s);
    size_t pos = rs->parsed, cmd_start = 0;
    int ran = 0;
    while (rs->state == RS_CONNECTED && rs->master == c && pos < len) {
        size_t used = 0;
        /* A buffer of stream holds hundreds of commands: their key lookups
         * are prefetched a batch ahead, as a client's pipeline is. */
        if (ran++ % CLIENT_PREFETCH_BATCH == 0 && req_at_boundary(&rs->parser))
            client_prefetch_commands(c, buf + pos, len - pos);
        req_status st = req_parse(&rs->parser, buf + pos, len - pos, &used);
        pos += used;
        if (st == REQ_NEED_MORE) break;
        if (st == REQ_ERROR) {
            log_msg(LL_WARNING, "Protocol error from MASTER (%s): dropping the link",
                    rs->parser.error);
            stop_connection(rs);
            break;
        }
        /* A GETACK inside a transaction (no master sends one) leaves it
         * open: the transaction's bytes begin with its MULTI. */
        int argc, in_multi = dstr_len(rs->txn) > 0;
        dstr *argv = req_take_argv(&rs->parser, &argc);
        if (is_getack(argv, argc)) {
            send_ack(rs, r->master_repl_offset);
            for (int i = 0; i < argc; i++) dstr_free(argv[i]);
            mem_free(argv);
        } else {
            char err[256], name[STREAM_CMD_NAME_MAX + 1];
            size_t nlen = argc ? dstr_len(argv[0]) : 0;
            if (nlen > STREAM_CMD_NAME_MAX) nlen = STREAM_CMD_NAME_MAX;
            if (nlen) memcpy(name, argv[0], nlen);
            name[nlen] = '\0';
            in_multi = client_run_master_command(c, argv, argc, err, sizeof(err));
            if (err[0]) stream_error(s, rs, name, nlen, err);
        }
        if (in_multi || dstr_len(rs->txn)) {
            rs->txn = dstr_cat(rs->txn, buf + cmd_start, pos - cmd_start);
            if (!in_multi) {
                repl_stream_append_raw(r, rs->txn, dstr_len(rs->txn));
                dstr_clear(rs->txn);
            }
        } else {
            repl_stream_append_raw(r, buf + cmd_start, pos - cmd_start);
        }
        cmd_start = pos;
    }
    rs->parsed = pos - cmd_start;
    return cmd_start;
}

/* Done with a buffer the I/O thread handed over: it may be waiting for
 * exactly this release to read again. */
static void release_buf(replica_state *rs, rconn_buf *b) {
    if (rconn_buf_release(rs->shared, b)) post(rs, RCONN_MSG_RESUME, NULL, 0);
}

/* The connection is over: its buffers no longer count for anyone. */
static void drop_held(replica_state *rs) {
    while (rs->held) {
        rconn_buf *next = rs->held->next;
        mem_free(rs->held);
        rs->held = next;
    }
    rs->held_tail = NULL;
}

/* Stream bytes from the master, in the buffer the I/O thread read them
 * into. Commands complete in it run straight from it; only the tail of
 * one that continues in the next buffer is copied (into `pending`), where
 * the next bytes join it. */
static void apply_stream(server *s, replica_state *rs, const char *p, size_t len) {
    client *c = rs->master;
    if (!c) return; /* the link is going: its bytes too */
    if (dstr_len(rs->pending) == 0) {
        size_t done = run_commands(s, rs, c, p, len);
        if (done < len) rs->pending = dstr_cat(rs->pending, p + done, len - done);
    } else {
        rs->pending = dstr_cat(rs->pending, p, len);
        size_t done = run_commands(s, rs, c, rs->pending, dstr_len(rs->pending));
        dstr_keep(rs->pending, done, dstr_len(rs->pending) - done);
    }
    atomic_store_explicit(&rs->shared->applied, repl_of(s)->master_repl_offset,
                          memory_order_release);
}

/* A stream buffer: applied, or queued while the payload loads. */
static void feed_stream(server *s, replica_state *rs, rconn_buf *b) {
    if (rs->state != RS_CONNECTED) {
        b->next = NULL;
        if (rs->held_tail) rs->held_tail->next = b;
        else rs->held = b;
        rs->held_tail = b;
        return;
    }
    apply_stream(s, rs, b->data, b->len);
    release_buf(rs, b);
}

/* ---- the full sync ---------------------------------------------------------- */

static void end_load(server *s, replica_state *rs) {
    if (rs->ld) rdb_loader_free(rs->ld);
    rs->ld = NULL;
    if (rs->load_fd >= 0) close(rs->load_fd);
    rs->load_fd = -1;
    server_set_loading(s, 0);
}

/* Start loading: flush first unless swapdb keeps the old data serving. */
static void begin_load(server *s, replica_state *rs) {
    if (!rs->sync_swapdb) {
        log_msg(LL_NOTICE, "MASTER <-> REPLICA sync: Flushing old data");
        for (int j = 0; j < s->dbnum; j++) db_empty(s, j, s->cfg.replica_lazy_flush);
        server_set_loading(s, 1);
    }
    rs->ld = rdb_loader_new(s, RDB_LOAD_KEEP_EXPIRED);
    rs->state = RS_LOADING;
    log_msg(LL_NOTICE, "MASTER <-> REPLICA sync: Loading DB in memory");
}

/* The payload is loaded: it becomes the dataset, the master's id and the
 * payload's offset become ours, and the stream that waited is applied. */
static void finish_load(server *s, replica_state *rs) {
    repl_state *r = repl_of(s);
    /* A master's stream starts with a SELECT after a full sync, but a
     * replica's (chained) stream goes on in the db its snapshot names, so
     * the master client starts there (Redis does the same). */
    int dbid = rdb_loader_info(rs->ld)->repl_stream_db;
    if (dbid < 0 || dbid >= s->dbnum) dbid = 0;
    /* With swapdb the old dataset is still here: the commit would free it
     * inline, unless replica-lazy-flush hands it over first. */
    if (rs->sync_swapdb && s->cfg.replica_lazy_flush) db_empty(s, -1, 1);
    rdb_loader_commit(rs->ld);
    end_load(s, rs);
    memcpy(r->replid, rs->sync_replid, 41);
    memset(r->replid2, '0', 40);
    r->second_replid_offset = -1;
    repl_reset_backlog(s, rs->sync_offset);
    create_master_client(s, rs, dbid);
    rs->parsed = 0;
    rs->state = RS_CONNECTED;
    rs->down_since_ms = 0;
    atomic_store_explicit(&rs->shared->applied, rs->sync_offset, memory_order_release);
    /* The first ACK now, not at the next once-a-second tick: after an
     * EOF-marked payload the master streams nothing until it has one (it
     * cannot tell where the payload ended otherwise), so a late ACK is up
     * to a second of lag that only grows under load. Redis's replicas do
     * the same. */
    send_ack(rs, rs->sync_offset);
    log_msg(LL_NOTICE, "MASTER <-> REPLICA sync: Finished with success");
    rconn_buf *held = rs->held;
    rs->held = rs->held_tail = NULL;
    while (held) {
        rconn_buf *next = held->next;
        feed_stream(s, rs, held);
        held = next;
    }
}

static void fail_load(server *s, replica_state *rs, const char *why) {
    log_msg(LL_WARNING, "Failed trying to load the MASTER synchronization DB %s: %s",
            rs->sync_to_disk ? "from disk" : "from socket", why);
    if (rs->sync_swapdb) log_msg(LL_NOTICE, "MASTER <-> REPLICA sync: Discarding the new data, "
                                            "the old dataset is kept");
    end_load(s, rs);
    stop_connection(rs);
}

static void feed_payload(server *s, replica_state *rs, const char *p, size_t len) {
    if (!rs->ld) return;
    int rc = rdb_loader_feed(rs->ld, p, len);
    if (rc == RDB_LOAD_ERR) fail_load(s, rs, rdb_loader_error(rs->ld));
}

static void payload_end(server *s, replica_state *rs) {
    if (!rs->ld) return;
    if (rdb_loader_finish(rs->ld) != RDB_LOAD_DONE) {
        fail_load(s, rs, rdb_loader_error(rs->ld));
        return;
    }
    finish_load(s, rs);
}

static void payload_file(server *s, replica_state *rs) {
    rs->load_fd = open(s->cfg.dbfilename, O_RDONLY | O_CLOEXEC);
    if (rs->load_fd < 0) {
        char why[128];
        snprintf(why, sizeof(why), "%s", strerror(errno));
        fail_load(s, rs, why);
        return;
    }
    begin_load(s, rs);
}

/* A slice of a disk payload per event-loop pass. Returns 1 while more
 * remains, so that the loop does not sleep. */
static int load_file_slice(server *s, replica_state *rs) {
    if (rs->load_fd < 0 || !rs->ld) return 0;
    size_t left = FILE_LOAD_SLICE;
    while (left > 0) {
        void *dst = rdb_loader_reserve(rs->ld, 1024 * 1024);
        ssize_t n = read(rs->load_fd, dst, 1024 * 1024);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
            char why[128];
            snprintf(why, sizeof(why), "%s", strerror(errno));
            fail_load(s, rs, why);
            return 0;
        }
        if (n == 0) {
            payload_end(s, rs);
            return 0;
        }
        int rc = rdb_loader_feed_reserved(rs->ld, (size_t)n);
        if (rc == RDB_LOAD_ERR) {
            fail_load(s, rs, rdb_loader_error(rs->ld));
            return 0;
        }
        if (rc == RDB_LOAD_DONE) {
            finish_load(s, rs);
            return 0;
        }
        left -= (size_t)n < left ? (size_t)n : left;
    }
    return 1;
}

/* ---- reports from the I/O thread ---------------------------------------------- */

static void on_fullresync(server *s, replica_state *rs, const rconn_psync *ps) {
    /* A FAILOVER expects +CONTINUE, but a full sync is no failure either. */
    rs->failover = 0;
    repl_failover_done(s);
    memcpy(rs->sync_replid, ps->replid, 41);
    rs->sync_offset = ps->offset;
    rs->have_cached = 0; /* that history is over */
    /* And so it is for our own replicas, which must sync again from the
     * new one once it is loaded (Redis's replicationAttachToNewMaster). */
    repl_drop_all_replicas(s, "full resynchronization with my master");
    /* A snapshot for them would be of the old data, and its copy-on-write
     * would cost memory while the new payload loads (Redis kills it). */
    repl_snapshot_kill(s);
    /* Nothing to acknowledge until the payload is loaded: an ACK of the old
     * offset would tell this master (and its WAIT) about bytes we lack. */
    atomic_store_explicit(&rs->shared->applied, -1, memory_order_release);
    rs->sync_to_disk = rs->conn_to_disk;
    /* Still empty? (A writable replica may have taken writes meanwhile:
     * then the file is loaded once complete, and the copies ignored.) */
    rs->sync_progressive = rs->conn_progressive && dataset_empty(s);
    rs->sync_swapdb = !rs->sync_to_disk && s->cfg.repl_diskless_load == 2;
    rs->sync_start_ms = util_ms_time();
    rs->state = RS_TRANSFER;
}

static void on_continue(server *s, replica_state *rs, const rconn_psync *ps) {
    repl_state *r = repl_of(s);
    rs->failover = 0;
    repl_failover_done(s);
    if (ps->replid[0] && strcmp(ps->replid, rs->cached_replid) != 0) {
        /* The master changed its history id (it was promoted): ours moves
         * to replid2, valid up to where the old history ended. */
        memcpy(r->replid2, rs->cached_replid, 41);
        r->second_replid_offset = rs->cached_offset + 1;
        memcpy(r->replid, ps->replid, 41);
        log_msg(LL_NOTICE, "Master replication ID changed to %s", ps->replid);
        /* Our replicas must learn the new id: they reconnect and continue
         * through replid2. */
        repl_drop_all_replicas(s, "my master's replication ID changed");
    } else {
        memcpy(r->replid, rs->cached_replid, 41);
    }
    if (!r->bl || backlog_end(r->bl) != rs->cached_offset) repl_reset_backlog(s, rs->cached_offset);
    create_master_client(s, rs, rs->cached_db);
    rs->parsed = 0;
    rs->have_cached = 0;
    rs->state = RS_CONNECTED;
    rs->down_since_ms = 0;
    log_msg(LL_NOTICE, "MASTER <-> REPLICA sync: Master accepted a Partial Resynchronization.");
}

static void on_closed(server *s, replica_state *rs) {
    if (rs->state == RS_CONNECTED) cache_master(s, rs); /* the I/O thread said why */
    if (rs->ld) {
        if (rs->sync_swapdb)
            log_msg(LL_NOTICE, "MASTER <-> REPLICA sync: the transfer ended early, keeping the "
                               "old dataset");
        end_load(s, rs);
    }
    drop_held(rs);
    rs->net_in_done +=
        (long long)atomic_load_explicit(&rs->shared->net_in_bytes, memory_order_relaxed);
    mem_free(rs->shared);
    rs->shared = NULL;
    rs->conn_id = 0;
    if (rs->state == RS_CONNECTED) rs->down_since_ms = util_ms_time();
    if (!repl_is_replica(s)) {
        rs->state = RS_NONE;
    } else if (rs->state != RS_CONNECT) {
        /* Lost: again in a second, as Redis's replication cron. (A REPLICAOF
         * to another master already asked for CONNECT, at once.) */
        rs->state = RS_CONNECT;
        rs->connect_at_ms = util_ms_time() + 1000;
    }
    if (rs->failover) {
        /* The target refused (or never answered) our PSYNC FAILOVER: we
         * are its master again, as Redis does. */
        rs->failover = 0;
        repl_failover_abort(s, "Failover target rejected psync request");
    }
}

void replica_on_report(server *s, const spsc_msg *m) {
    replica_state *rs = rs_of(s);
    rconn_buf *b = m->type == RCONN_REP_PAYLOAD_DATA || m->type == RCONN_REP_STREAM ? m->ptr
                                                                                       : NULL;
    if (!rs || m->id != rs->conn_id || !rs->conn_id) {
        mem_free(m->ptr); /* an older connection's */
        return;
    }
    switch (m->type) {
    case RCONN_REP_STATE:
        if (m->val == RCONN_HANDSHAKE && rs->state == RS_CONNECTING) rs->state = RS_HANDSHAKE;
        break;
    case RCONN_REP_FULLRESYNC:
        on_fullresync(s, rs, m->ptr);
        mem_free(m->ptr);
        break;
    case RCONN_REP_CONTINUE:
        on_continue(s, rs, m->ptr);
        mem_free(m->ptr);
        break;
    case RCONN_REP_PAYLOAD_SIZE:
        rs->sync_size = m->val;
        if (rs->sync_progressive)
            log_msg(LL_NOTICE, "MASTER <-> REPLICA sync: the dataset is empty, loading the "
                               "payload as it is written to disk");
        if (!rs->sync_to_disk || rs->sync_progressive) begin_load(s, rs);
        break;
    case RCONN_REP_PAYLOAD_DATA:
        feed_payload(s, rs, b->data, b->len);
        release_buf(rs, b);
        break;
    case RCONN_REP_PAYLOAD_END:
        payload_end(s, rs);
        break;
    case RCONN_REP_PAYLOAD_FILE:
        /* Loaded as it arrived: the file on disk is the same bytes. */
        if (rs->sync_progressive)
            payload_end(s, rs);
        else
            payload_file(s, rs);
        break;
    case RCONN_REP_STREAM:
        feed_stream(s, rs, b);
        break;
    case RCONN_REP_CLOSED:
        on_closed(s, rs);
        break;
    default:
        mem_free(m->ptr);
        break;
    }
}

/* ---- becoming a replica, or a master again -------------------------------------- */

/* Drop what the old role had going: the master client (cached), a load. */
static void leave_link(server *s, replica_state *rs) {
    if (rs->state == RS_CONNECTED) cache_master(s, rs);
    if (rs->ld) end_load(s, rs);
    stop_connection(rs);
}

static void set_master(server *s, const char *host, int port) {
    repl_state *r = repl_of(s);
    replica_state *rs = r->rs;
    int was_master = !repl_is_replica(s);
    if (rs->state == RS_CONNECTED) rs->down_since_ms = util_ms_time();
    leave_link(s, rs);
    mem_free(s->cfg.replicaof_host);
    s->cfg.replicaof_host = mem_strdup(host);
    s->cfg.replicaof_port = port;
    log_set_role('S');
    if (was_master) {
        /* Our own history is the best guess of what the new master has
         * (Redis's replicationCacheMasterUsingMyself): a demoted master
         * continues by partial resync. */
        /* Our replicas stay, as Redis's do: with a partial resync they
         * continue through us; otherwise they are dropped then. */
        propagate_set_sink(s, NULL, NULL);
        rs->have_cached = 1;
        memcpy(rs->cached_replid, r->replid, 41);
        rs->cached_offset = r->master_repl_offset;
        rs->cached_db = 0;
    }
    rs->state = RS_CONNECT;
    rs->connect_at_ms = util_ms_time();
}

static void unset_master(server *s) {
    repl_state *r = repl_of(s);
    replica_state *rs = r->rs;
    leave_link(s, rs);
    mem_free(s->cfg.replicaof_host);
    s->cfg.replicaof_host = NULL;
    s->cfg.replicaof_port = 0;
    log_set_role('M');
    rs->have_cached = 0;
    rs->state = RS_NONE;
    rs->down_since_ms = 0;
    /* A new history starts here; the old one stays valid up to where it
     * ended, so former siblings can continue from us. */
    memcpy(r->replid2, r->replid, 41);
    r->second_replid_offset = r->master_repl_offset + 1;
    util_random_hex(r->replid, 40);
    r->replid[40] = '\0';
    if (r->bl) repl_resume_feeding(s);
    log_msg(LL_NOTICE, "Setting secondary replication ID to %s, valid up to offset: %lld. New "
                       "replication ID is %s",
            r->replid2, r->second_replid_offset, r->replid);
    /* Our replicas must learn the new id; they continue through replid2. */
    repl_drop_all_replicas(s, "this replica became a master");
}

void replica_become_master(server *s, client *c, const char *request) {
    if (!repl_is_replica(s)) return;
    rs_of(s)->failover = 0;
    unset_master(s);
    if (!c) return;
    dstr info = client_info_string(c, dstr_empty());
    log_msg(LL_NOTICE, "MASTER MODE enabled (%s request from '%s')", request, info);
    dstr_free(info);
}

void replica_failover_to(server *s, const char *host, int port) {
    set_master(s, host, port);
    rs_of(s)->failover = 1;
}

static void cmd_replicaof(client *c) {
    server *s = c->srv;
    if (repl_of(s)->failover_state != FAILOVER_NONE) {
        reply_error(c, "ERR REPLICAOF not allowed while failing over.");
        return;
    }
    if (arg_is(c->argv[1], "no") && arg_is(c->argv[2], "one")) {
        replica_become_master(s, c, "user");
        reply_ok(c);
        return;
    }
    if (c->flags & CLIENT_REPLICA) {
        reply_error(c, "ERR Command is not valid when client is a replica.");
        return;
    }
    long long port;
    if (!util_str_to_ll(c->argv[2], dstr_len(c->argv[2]), &port) || port < 0 || port > 65535) {
        reply_error(c, "ERR Invalid master port");
        return;
    }
    if (memchr(c->argv[1], '\0', dstr_len(c->argv[1])) || dstr_len(c->argv[1]) >= 256) {
        reply_error(c, "ERR Invalid master host");
        return;
    }
    if (repl_is_replica(s) && !strcasecmp(s->cfg.replicaof_host, c->argv[1]) &&
        s->cfg.replicaof_port == port) {
        log_msg(LL_NOTICE, "REPLICAOF would result into synchronization with the master we are "
                           "already connected with. No operation performed.");
        reply_raw(c, "+OK Already connected to specified master\r\n", 43);
        return;
    }
    set_master(s, c->argv[1], (int)port);
    dstr info = client_info_string(c, dstr_empty());
    log_msg(LL_NOTICE, "REPLICAOF %s:%d enabled (user request from '%s')",
            s->cfg.replicaof_host, s->cfg.replicaof_port, info);
    dstr_free(info);
    reply_ok(c);
}

/* ---- what the rest of the server asks ------------------------------------------ */

#define ERR_READONLY "READONLY You can't write against a read only replica."
#define ERR_MASTERDOWN                                                                      \
    "MASTERDOWN Link with MASTER is down and replica-serve-stale-data is set to 'no'."
#define ERR_LOADING "LOADING Redis is loading the dataset in memory"

const char *repl_command_refusal(server *s, const client *c, const command *cmd, int is_write) {
    if (c->flags & CLIENT_MASTER) return NULL;
    if (s->loading && !(cmd->flags & CMD_LOADING)) return ERR_LOADING;
    if (!repl_is_replica(s)) return NULL;
    if (is_write && s->cfg.replica_read_only) return ERR_READONLY;
    if (!s->cfg.replica_serve_stale_data && !link_up(rs_of(s)) && !(cmd->flags & CMD_STALE))
        return ERR_MASTERDOWN;
    return NULL;
}

void replica_cron(server *s) {
    /* Log lines say which role the server has, as Redis's ("S" replica). */
    log_set_role(repl_is_replica(s) ? 'S' : 'M');
    replica_state *rs = rs_of(s);
    if (!rs) return;
    long long now = util_ms_time();
    if (rs->state == RS_CONNECT && !rs->conn_id && now >= rs->connect_at_ms &&
        repl_is_replica(s))
        start_connection(s);
    if (rs->conn_id && now - rs->last_tick_ms >= 1000) {
        rs->last_tick_ms = now;
        post(rs, RCONN_MSG_TICK, NULL, (uint64_t)s->cfg.repl_timeout * 1000);
    }
}

int replica_before_sleep(server *s) {
    replica_state *rs = rs_of(s);
    if (!rs) return 0;
    if (rs->state == RS_CONNECT && !rs->conn_id && repl_is_replica(s) &&
        util_ms_time() >= rs->connect_at_ms)
        start_connection(s);
    return load_file_slice(s, rs);
}

/* replica-announced is stored by config_absent (only Sentinel reads it);
 * INFO reports what it holds. */
static int replica_announced(void) {
    const absent_directive *a = absent_find("replica-announced", 0);
    if (!a) return 1;
    dstr v = absent_get(a);
    int yes = dstr_len(v) == 3 && !strncasecmp(v, "yes", 3);
    dstr_free(v);
    return yes;
}

static const char *link_status(const replica_state *rs) {
    return link_up(rs) ? "up" : "down";
}

dstr replica_info(server *s, dstr o) {
    repl_state *r = repl_of(s);
    replica_state *rs = r->rs;
    long long now = util_ms_time();
    long long last_io = rs->shared ? atomic_load_explicit(&rs->shared->last_io_ms,
                                                           memory_order_relaxed)
                                   : 0;
    o = dstr_catfmt(o,
                    "# Replication\r\nrole:slave\r\nmaster_host:%s\r\nmaster_port:%d\r\n"
                    "master_link_status:%s\r\nmaster_last_io_seconds_ago:%lld\r\n"
                    "master_sync_in_progress:%d\r\nslave_read_repl_offset:%lld\r\n"
                    "slave_repl_offset:%lld\r\n",
                    s->cfg.replicaof_host, s->cfg.replicaof_port, link_status(rs),
                    link_up(rs) && last_io ? (now - last_io) / 1000 : -1,
                    rs->state == RS_TRANSFER || rs->state == RS_LOADING,
                    r->master_repl_offset + (long long)(dstr_len(rs->txn) + dstr_len(rs->pending)),
                    r->master_repl_offset);
    if (rs->state == RS_TRANSFER || rs->state == RS_LOADING) {
        uint64_t read = rs->shared ? atomic_load_explicit(&rs->shared->read_bytes,
                                                          memory_order_relaxed)
                                   : 0;
        long long total = rs->sync_size == RCONN_SIZE_EOF_MARK ? -1 : (long long)rs->sync_size;
        o = dstr_catfmt(o,
                        "master_sync_total_bytes:%lld\r\nmaster_sync_read_bytes:%llu\r\n"
                        "master_sync_left_bytes:%lld\r\nmaster_sync_perc:%.2f\r\n"
                        "master_sync_last_io_seconds_ago:%lld\r\n",
                        total, (unsigned long long)read,
                        total >= 0 ? total - (long long)read : -1,
                        total > 0 ? (double)read * 100 / (double)total : 0.0,
                        last_io ? (now - last_io) / 1000 : -1);
    }
    if (!link_up(rs))
        o = dstr_catfmt(o, "master_link_down_since_seconds:%lld\r\n",
                        rs->down_since_ms ? (now - rs->down_since_ms) / 1000 : -1);
    return dstr_catfmt(o,
                       "slave_priority:%d\r\nslave_read_only:%d\r\nreplica_announced:%d\r\n",
                       s->cfg.replica_priority, s->cfg.replica_read_only, replica_announced());
}

static const char *role_state(const replica_state *rs) {
    switch (rs->state) {
    case RS_CONNECT: return "connect";
    case RS_CONNECTING: return "connecting";
    case RS_HANDSHAKE: return "handshake";
    case RS_TRANSFER:
    case RS_LOADING: return "sync";
    case RS_CONNECTED: return "connected";
    default: return "none";
    }
}

void replica_role(client *c) {
    server *s = c->srv;
    replica_state *rs = rs_of(s);
    reply_array(c, 5);
    reply_bulk_cstr(c, "slave");
    reply_bulk_cstr(c, s->cfg.replicaof_host);
    reply_int(c, s->cfg.replicaof_port);
    reply_bulk_cstr(c, role_state(rs));
    reply_int(c, link_up(rs) ? repl_of(s)->master_repl_offset : -1);
}

long long replica_net_in_bytes(server *s) {
    replica_state *rs = rs_of(s);
    if (!rs) return 0;
    long long live = rs->shared ? (long long)atomic_load_explicit(&rs->shared->net_in_bytes,
                                                                  memory_order_relaxed)
                                : 0;
    return rs->net_in_done + live;
}

/* At startup, the replication fields of the RDB just loaded (Redis's
 * loadDataFromDisk). A replica takes them as its cached master, so it
 * continues by partial resync. A master keeps them as its secondary id,
 * valid up to that offset, so its replicas continue too; its new writes
 * start a new history, since a restart from an older file must not let a
 * replica that saw later bytes of the old history continue into new ones. */
void repl_restore_history(server *s, const rdb_load_info *li) {
    repl_state *r = repl_of(s);
    if (!r || !li->has_repl || li->repl_offset < 0) return;
    if (repl_is_replica(s)) {
        int db = li->repl_stream_db;
        if (db < 0 || db >= s->dbnum) return;
        replica_state *rs = r->rs;
        memcpy(r->replid, li->repl_id, 41);
        repl_reset_backlog(s, li->repl_offset);
        rs->have_cached = 1;
        memcpy(rs->cached_replid, li->repl_id, 41);
        rs->cached_offset = li->repl_offset;
        rs->cached_db = db;
        log_msg(LL_NOTICE, "Continuing the replication history %s from offset %lld (RDB file): "
                           "I may be able to synchronize with my master with just a partial "
                           "transfer.",
                li->repl_id, li->repl_offset);
        return;
    }
    memcpy(r->replid2, li->repl_id, 41);
    r->second_replid_offset = li->repl_offset + 1;
    util_random_hex(r->replid, 40);
    r->replid[40] = '\0';
    repl_reset_backlog(s, li->repl_offset);
    repl_resume_feeding(s);
    log_msg(LL_NOTICE, "Setting secondary replication ID to %s (RDB file), valid up to offset: "
                       "%lld. New replication ID is %s",
            r->replid2, r->second_replid_offset, r->replid);
}

/* CLIENT KILL TYPE master: the link drops and comes back by PSYNC. */
int replica_kill_master(server *s) {
    replica_state *rs = rs_of(s);
    if (!rs || !link_up(rs)) return 0;
    stop_connection(rs);
    return 1;
}

void replica_init(server *s) {
    repl_state *r = repl_of(s);
    r->rs = mem_calloc(sizeof(*r->rs));
    r->rs->load_fd = -1;
    req_parser_init(&r->rs->parser, 0);
    r->rs->pending = dstr_empty();
    r->rs->txn = dstr_empty();
    if (repl_is_replica(s)) {
        propagate_set_sink(s, NULL, NULL);
        r->rs->state = RS_CONNECT;
        r->rs->connect_at_ms = util_ms_time();
    }
}

void replica_free(server *s) {
    repl_state *r = repl_of(s);
    replica_state *rs = r->rs;
    if (!rs) return;
    client *m = rs->master;
    rs->master = NULL; /* freed here, with the I/O threads already gone */
    if (m) client_free(m);
    if (rs->ld) rdb_loader_free(rs->ld);
    if (rs->load_fd >= 0) close(rs->load_fd);
    drop_held(rs);
    req_parser_free(&rs->parser);
    dstr_free(rs->pending);
    dstr_free(rs->txn);
    mem_free(rs->shared); /* the I/O threads are stopped by now */
    mem_free(rs);
    r->rs = NULL;
}

static command replica_commands[] = {
    COMMAND_ROW("replicaof", cmd_replicaof, 3,
                CMD_ADMIN | CMD_NOSCRIPT | CMD_STALE | CMD_NO_ASYNC_LOADING, 0, 0, 0),
    COMMAND_ROW("slaveof", cmd_replicaof, 3,
                CMD_ADMIN | CMD_NOSCRIPT | CMD_STALE | CMD_NO_ASYNC_LOADING, 0, 0, 0),
    COMMAND_END,
};

void replica_register(void) { commands_register_table(replica_commands); }
