/* server: the keyspace thread's state and the types every command sees.
 *
 * One `struct server` exists per process and is owned by the keyspace
 * thread. It is reached through the client a command runs for
 * (`c->srv`), never through a global, so that ownership stays visible:
 * nothing in here is touched by another thread. What replication threads
 * need crosses a queue (see repl/repl.h). */
#ifndef RM_SERVER_H
#define RM_SERVER_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "core/config.h"
#include "core/dict.h"
#include "core/dstr.h"
#include "core/object.h"
#include "core/reqparse.h"

#define RM_VERSION "7.0.15"
#define RM_NAME "ringmaster"

struct client;
struct server;

typedef struct db {
    dict *keys;    /* dstr key -> obj* */
    dict *expires; /* same dstr key (not owned) -> int64 unix ms */
    dict *watched; /* dstr key -> watcher list (clients WATCHing it) */
    dict *blocking; /* dstr key -> FIFO of clients blocked on it */
    int id;
    long long avg_ttl;
    unsigned long expire_cursor;
} db;

/* Command flags, as COMMAND INFO reports them. */
enum {
    CMD_WRITE = 1 << 0,
    CMD_READONLY = 1 << 1,
    CMD_DENYOOM = 1 << 2,
    CMD_ADMIN = 1 << 3,
    CMD_PUBSUB = 1 << 4,
    CMD_NOSCRIPT = 1 << 5,
    CMD_BLOCKING = 1 << 6,
    CMD_LOADING = 1 << 7,
    CMD_STALE = 1 << 8,
    CMD_FAST = 1 << 9,
    CMD_NO_AUTH = 1 << 10,
    CMD_MAY_REPLICATE = 1 << 11,
    CMD_NO_MULTI = 1 << 12,
    CMD_ALLOW_BUSY = 1 << 13,
    CMD_MOVABLE_KEYS = 1 << 14, /* keys found by parsing (numkeys), not positions */
    /* Shown by COMMAND INFO as Redis 7.0 shows them; nothing here acts on
     * them (no scripts run, no async loading, EXEC's own slowlog entry is
     * left out by slowlog.c). */
    CMD_SKIP_MONITOR = 1 << 15,
    CMD_SKIP_SLOWLOG = 1 << 16,
    CMD_NO_MANDATORY_KEYS = 1 << 17, /* COMMAND GETKEYS: no keys is no error */
    CMD_NO_ASYNC_LOADING = 1 << 18,
    CMD_ASKING = 1 << 19, /* cluster-only: RESTORE-ASKING */
};

typedef void (*command_proc)(struct client *c);

typedef struct command {
    const char *name;     /* lowercase; "config|get" for subcommands */
    command_proc proc;
    int arity;            /* N exact, -N at least N */
    uint32_t flags;
    int first_key, last_key, key_step;
    const struct command *subcommands; /* terminated by a NULL name */
    /* statistics for INFO commandstats */
    long long calls, usec, rejected_calls, failed_calls;
    struct command *parent;
    struct latency_hist *latency; /* LATENCY HISTOGRAM's (latency.c), NULL before a call */
    const struct command_meta *meta; /* COMMAND INFO/DOCS (command_meta.c), or NULL */
} command;

/* A command table row. Designated initializers: a field added to
 * `command` needs no change to any table. */
#define COMMAND_ROW(n, p, a, f, fk, lk, ks)                                                     \
    {.name = n, .proc = p, .arity = a, .flags = f, .first_key = fk, .last_key = lk, .key_step = ks}
#define COMMAND_WITH_SUBS(n, a, f, subs) {.name = n, .arity = a, .flags = f, .subcommands = subs}
#define COMMAND_END {.name = NULL}

/* Client flags. */
enum {
    CLIENT_CLOSE_AFTER_REPLY = 1 << 0,
    CLIENT_CLOSE_ASAP = 1 << 1,
    CLIENT_MULTI = 1 << 2,
    CLIENT_DIRTY_CAS = 1 << 3,
    CLIENT_DIRTY_EXEC = 1 << 4,
    CLIENT_PAUSED = 1 << 5,     /* waiting for CLIENT UNPAUSE */
    CLIENT_PENDING_WRITE = 1 << 6,
    CLIENT_UNIX_SOCKET = 1 << 7,
    CLIENT_IN_EXEC = 1 << 8,
    CLIENT_FAKE = 1 << 9,       /* no socket: unit tests, loading */
    CLIENT_WRITE_ARMED = 1 << 10,
    CLIENT_NO_EVICT = 1 << 11,
    CLIENT_REPLICA = 1 << 12,
    CLIENT_MASTER = 1 << 13,
    CLIENT_MONITOR = 1 << 14,
    CLIENT_BLOCKED = 1 << 15,
    CLIENT_FORCE_PROPAGATE = 1 << 16, /* propagate this command even if dirty did not move */
    CLIENT_PUBSUB = 1 << 17,          /* holds a Pub/Sub subscription (`P`) */
    CLIENT_TLS_HANDSHAKE = 1 << 18,   /* TLS: accepted, handshake not finished */
    CLIENT_TLS_READ_WANTS_WRITE = 1 << 19, /* TLS: SSL_read waits for the socket to take data */
    CLIENT_PREVENT_PROPAGATE = 1 << 20, /* the command queued its own effects: not its argv */
    /* CLIENT TRACKING (tracking.c) */
    CLIENT_TRACKING = 1 << 21,
    CLIENT_TRACKING_BCAST = 1 << 22,
    CLIENT_TRACKING_OPTIN = 1 << 23,
    CLIENT_TRACKING_OPTOUT = 1 << 24,
    CLIENT_TRACKING_NOLOOP = 1 << 25,
    CLIENT_TRACKING_CACHING = 1 << 26, /* CLIENT CACHING yes|no, for the next command */
    CLIENT_TRACKING_BROKEN_REDIR = 1 << 27,
};

/* Client classes, as Redis's getClientType: CLIENT LIST/KILL TYPE and the
 * output-buffer limits (client-output-buffer-limit) go by them. */
enum client_type {
    CLIENT_TYPE_NORMAL,
    CLIENT_TYPE_REPLICA,
    CLIENT_TYPE_MASTER,
    CLIENT_TYPE_PUBSUB,
};

typedef struct blocking_state {
    dstr *keys;
    int nkeys;
    int type;                  /* awaited value type */
    long long timeout_ms;      /* absolute, 0 = none */
    const char *timeout_reply; /* raw RESP sent on timeout */
    int reblocked;             /* set when a re-executed command blocks again */
    dstr ready_key;            /* borrowed: the key being served, or NULL */
} blocking_state;

typedef struct queued_cmd {
    const command *cmd;
    dstr *argv;
    int argc;
} queued_cmd;

typedef struct client {
    uint64_t id;
    int fd;
    uint32_t flags;
    struct server *srv;
    db *db;
    dstr querybuf;
    size_t qb_peak;
    req_parser parser;
    int argc;
    dstr *argv;
    const command *cmd, *lastcmd;
    dstr reply;         /* pending output */
    size_t reply_sent;  /* bytes of `reply` already written */
    dstr name;
    char addr[64];
    char laddr[64];
    long long ctime_ms;
    long long last_interaction_ms;
    int authenticated;
    int resp;
    /* MULTI state */
    queued_cmd *mstate;
    int mstate_count, mstate_cap;
    /* WATCH state: array of (db id, key) */
    struct watched_key *watched;
    int watched_count, watched_cap;
    /* argv as originally received, kept when a command rewrites its
     * propagated form */
    struct client *next_pending, *prev_pending; /* pending-write list */
    struct client *next, *prev;                 /* all clients */
    struct client *next_paused;
    blocking_state bstate;
    struct client_pubsub *pubsub; /* subscriptions (pubsub.c), NULL before the first */
    long long obuf_soft_since_ms; /* over the soft output-buffer limit since, 0 if not */
    struct ssl_st *ssl; /* TLS connection (tls.h), NULL for a plain one */
    /* While call_command runs (keep_orig_argv > 0), an argv the command
     * replaces (its propagated form) is kept here, so that SLOWLOG and
     * MONITOR show what the client sent, as Redis's original_argv. */
    uint64_t tracking_redirect; /* CLIENT TRACKING REDIRECT, 0 for none */
    dstr *tracking_prefixes;    /* BCAST's prefixes */
    int ntracking_prefixes;
    int keep_orig_argv;
    dstr *orig_argv;
    int orig_argc;
} client;

typedef struct watched_key {
    int dbid;
    int expired; /* already logically expired when WATCHed */
    dstr key;
} watched_key;

enum pause_mode { PAUSE_OFF = 0, PAUSE_WRITE = 1, PAUSE_ALL = 2 };

typedef struct listener {
    int fd;
    int is_unix;
    int is_tls; /* tls-port: connections start with a TLS handshake */
    char addr[64];
} listener;

/* The propagation point: every write leaves the keyspace thread through
 * here, in the form Redis 7.0 propagates it. The sink is set by the
 * replication layer; unit tests point it at a buffer. */
typedef void (*propagate_sink_fn)(void *priv, int dbid, const char *cmd, size_t len);

/* Instantaneous metrics, as Redis's trackInstantaneousMetric: every 100 ms
 * the cron turns each counter's growth since the previous sample into a
 * per-second rate, kept in a ring of INST_SAMPLES; INFO shows the ring's
 * average (server_inst_rate). */
#define INST_SAMPLES 16
enum inst_metric_id {
    INST_OPS,          /* commands processed */
    INST_NET_IN,       /* bytes read, replication included */
    INST_NET_OUT,      /* bytes written, replication included */
    INST_NET_REPL_IN,  /* bytes read from a master */
    INST_NET_REPL_OUT, /* bytes written to replicas */
    INST_METRICS
};
typedef struct inst_metric {
    long long last;                  /* the counter at the previous sample */
    long long samples[INST_SAMPLES]; /* per second */
} inst_metric;

/* A descriptor another layer asked the event loop to watch (see
 * server_watch_fd). */
#define SERVER_MAX_WATCHES 16
typedef void (*server_fd_fn)(struct server *s, void *priv);
typedef struct server_watch {
    int fd;
    server_fd_fn fn; /* NULL: the slot is free */
    void *priv;
} server_watch;

typedef struct server {
    config cfg;
    pid_t pid;
    char runid[41];
    char *executable;
    char *configfile; /* absolute path, NULL when started without one */
    db *dbs;
    int dbnum;
    dict *commands; /* name -> command* */
    int epfd;
    server_watch watches[SERVER_MAX_WATCHES];
    /* port, tls-port, unixsocket; room for a port's old and new listeners
     * side by side while CONFIG SET moves it. */
    listener listeners[3 * CONFIG_MAX_BIND + 1];
    int bound_port, bound_tls_port; /* what the TCP listeners listen on (0: none) */
    int nlisteners;
    client *clients; /* doubly linked */
    int nclients;
    client *pending_writes;
    client *paused_clients;
    client *current_client;
    uint64_t next_client_id;
    long long start_ms;
    long long dirty;
    long long dirty_before_bgsave;
    long long lastsave;
    int shutdown_asap;
    int shutdown_flags;
    /* A SHUTDOWN waiting for lagging replicas (shutdown-timeout): until
     * this time writes are held; the SHUTDOWN clients wait, blocked. */
    long long shutdown_deadline_ms;
    unsigned write_holds; /* HOLD_* reasons holding writes */
    int exiting; /* set by main before server_free: the process ends next */
    uint64_t *shutdown_waiters;
    int nshutdown_waiters;
    int active_expire_enabled;
    enum pause_mode pause_mode;
    long long pause_end_ms;
    long long cron_loops;
    long long next_cron_ms;
    /* stats */
    long long stat_numcommands;
    long long stat_numconnections;
    long long stat_rejected_conn;
    long long stat_expiredkeys;
    long long stat_keyspace_hits, stat_keyspace_misses;
    long long stat_net_input_bytes, stat_net_output_bytes;
    long long stat_total_error_replies;
    long long stat_unexpected_error_replies;
    long long stat_expired_stale_perc;
    long long stat_expire_cycle_time_used;
    long long stat_expired_time_cap_reached; /* active expiry cycles cut by their budget */
    long long stat_evictedkeys;
    size_t stat_peak_memory; /* highest used_memory seen by the cron or INFO */
    size_t mem_startup;      /* used_memory once initialised, before loading data */
    long long stat_io_reads, stat_io_writes;
    long long stat_client_qbuf_limit_disconnections;
    /* instantaneous metrics (server.c) */
    long long inst_last_ms; /* when the last samples were taken */
    int inst_idx;           /* the ring slot the next samples go to */
    inst_metric inst[INST_METRICS];
    dict *errorstats; /* error prefix -> count */
    /* propagation */
    propagate_sink_fn propagate_sink;
    void *propagate_priv;
    struct prop_op *prop_ops;
    int prop_count, prop_cap;
    dstr prop_buf; /* the queued operations, RESP-encoded */
    int call_depth; /* > 0 while a command (or EXEC) runs */
    /* blocked clients */
    struct ready_key *ready_keys;
    int nready, ready_cap;
    uint64_t *resume_ids; /* released clients whose pipelines run next (blocking.c) */
    int nresume, resume_cap, resuming;
    int handling_ready;
    int blocked_clients;
    int loading;
    struct repl_state *repl; /* replication (repl/), opaque here */
    struct pubsub_state *pubsub; /* channels and patterns (pubsub.c), opaque here */
    struct fn_store *functions;  /* FUNCTION libraries (functions.c), never NULL once up */
    struct ssl_ctx_st *tls_ctx;  /* for tls-port's connections (tls.c), NULL without */
    struct ssl_ctx_st *tls_client_ctx; /* for the connection to a master (tls-replication) */
    struct slowlog *slowlog;     /* SLOWLOG's entries (slowlog.c) */
    client **monitors;           /* MONITOR's clients (monitor.c) */
    struct latency_state *latency; /* LATENCY's events (latency.c) */
    struct tracking_state *tracking; /* CLIENT TRACKING's table (tracking.c) */
    int nmonitors, monitors_cap;
} server;

/* Lifecycle (server.c). */
int server_init(server *s);
void server_free(server *s);
int server_listen(server *s);
void server_main_loop(server *s);
void server_cron(server *s);
/* The average of a metric's samples, per second (enum inst_metric_id). */
long long server_inst_rate(const server *s, int metric);
/* The counters were reset (CONFIG RESETSTAT): restart the metrics too. */
void server_inst_reset(server *s);
int server_prepare_shutdown(server *s, int flags);
client *server_find_client(server *s, uint64_t id); /* NULL when gone */
/* SHUTDOWN flags: config.h (shutdown-on-sigint and -sigterm hold them). */
/* Start shutting down, as Redis's prepareForShutdown: unless NOW, with
 * shutdown-timeout set and replicas behind, writes are held and the
 * shutdown waits (client c, if any, blocked) for them to catch up or the
 * timeout; then the final save and exit. Returns 1 when the server will
 * exit, 0 while it waits, -1 when the final save failed (not FORCE: the
 * server keeps running and c got the error). */
int server_begin_shutdown(server *s, int flags, client *c);
/* SHUTDOWN ABORT: 0, or -1 when no shutdown is in progress. */
int server_abort_shutdown(server *s);
static inline int server_shutdown_waiting(const server *s) { return s->shutdown_deadline_ms != 0; }
/* Writes held for the server's own reasons (Redis's PAUSE_DURING_SHUTDOWN
 * and PAUSE_DURING_FAILOVER), apart from CLIENT PAUSE: writes and the
 * commands that may write wait, as under CLIENT PAUSE WRITE, and expiry
 * stops, until every reason is lifted. */
enum { HOLD_SHUTDOWN = 1, HOLD_FAILOVER = 2 };
void server_hold_writes(server *s, unsigned reason, int on);
/* The event loop is core's: other layers (repl/) never touch the epoll set
 * themselves. server_watch_fd asks the loop to call fn(s, priv) each time
 * fd is readable (level-triggered: fn must drain it), on the keyspace
 * thread, until server_unwatch_fd. The replication I/O threads' wake
 * eventfds are watched this way. 0, or -1 when all SERVER_MAX_WATCHES
 * slots are taken or epoll refuses the fd. Unwatching an fd that is not
 * watched does nothing. */
int server_watch_fd(server *s, int fd, server_fd_fn fn, void *priv);
void server_unwatch_fd(server *s, int fd);
/* A dataset is being loaded (-LOADING for commands without CMD_LOADING,
 * INFO loading:1). */
void server_set_loading(server *s, int on);

/* Clients (client.c). */
client *client_create(server *s, int fd, uint32_t flags);
void client_free(client *c);
void client_close_async(client *c);
/* Close the connection once the replies queued so far are written;
 * replies added after this are dropped. */
void client_close_after_reply(client *c);
/* Hand the client's connection to another owner (replication, after
 * SYNC/PSYNC): the socket leaves the event loop and the client, and the
 * returned descriptor, still open and in non-blocking mode, is the
 * caller's to use and to close. The client struct stays valid until the
 * end of this event-loop pass (its command may still be running, and its
 * unsent replies, reply + reply_sent, may be read), then the loop frees it
 * without touching the socket. -1 if the client has no socket. */
int client_detach_socket(client *c);
/* A replica's master client: no socket, flagged CLIENT_MASTER (`M` in
 * CLIENT LIST), authenticated, in db `dbid`. Replication feeds it the
 * stream's commands one by one with client_run_master_command, which runs
 * argv (taken over) as this client: no auth, read-only or pause checks,
 * and expired keys seen as they are (the master's DEL follows). Its reply
 * is dropped: a master reads none; an error reply is copied into err
 * (printable, cut to errlen; "" when there was none) so the caller can say
 * the replica diverges. Nothing a master sends frees the client while it
 * runs (dropping the link is asynchronous). Returns 1 while the client is
 * inside a MULTI (its commands queued, not yet applied), else 0. */
client *client_create_master(server *s, const char *addr, int dbid);
int client_run_master_command(client *c, dstr *argv, int argc, char *err, size_t errlen);
int client_db_index(const client *c);
void client_process_input(client *c);
/* A hint before running a batch of pipelined commands from buf[0..len),
 * which must start at a command boundary: the keys of up to
 * CLIENT_PREFETCH_BATCH complete commands there are prefetched in the
 * client's db, so that their lookups' cache misses overlap. */
#define CLIENT_PREFETCH_BATCH 16
void client_prefetch_commands(client *c, const char *buf, size_t len);
int client_write_pending(client *c);
/* Whether the event loop also waits for the client's socket to be
 * writable (pending output, or TLS wanting to write). */
void client_set_write_interest(client *c, int on);
void client_reset_argv(client *c);
void client_rewrite_argv(client *c, int argc, ...);
/* Replace argument i (taking v over), the original kept for SLOWLOG. */
void client_replace_arg(client *c, int i, dstr v);
void client_set_argv(client *c, dstr *argv, int argc);
dstr client_info_string(client *c, dstr out);
int client_is_local(client *c);
enum client_type client_get_type(const client *c);
/* Redis's closeClientOnOutputBufferLimitReached: close the client (once
 * this pass ends, with Redis's log line) when its pending output reached
 * the hard limit of its class, or stayed over the soft limit longer than
 * the soft seconds. Called after output is added. Returns 1 when closed. */
int client_check_output_limits(client *c);
void client_unpause_all(server *s);

/* Command dispatch (commands.c). */
void commands_init(server *s);
const command *command_lookup(server *s, dstr *argv, int argc);
int process_command(client *c);
void call_command(client *c, const command *cmd);
void commands_reset_stats(server *s);

#endif
