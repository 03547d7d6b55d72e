/* config: directives, the config file, CONFIG GET/SET/REWRITE.
 *
 * Every directive lives in one table (config.c) that says its type, its
 * default and where its value is stored in `struct config`; the file
 * loader, the command line, CONFIG GET, CONFIG SET and CONFIG REWRITE are
 * all driven by that table, so a directive added there works everywhere.
 * The file syntax is redis.conf's: one directive per line, arguments
 * split like an inline request (quotes and escapes), `include` nests.
 *
 * Values are binary safe: a string directive is a dstr that keeps every
 * byte it was given (a NUL included), so a password set with CONFIG SET,
 * read back with CONFIG GET, written by CONFIG REWRITE ("\x00" inside
 * quotes) and read again from the file is the same bytes. The string
 * directives the operating system takes as C strings (file names, socket
 * path, addresses) refuse a NUL byte instead of cutting the value short;
 * every dstr stays NUL-terminated, so those callers use them as they are. */
#ifndef RM_CONFIG_H
#define RM_CONFIG_H

#include <stddef.h>

#include "core/dstr.h"

#define CONFIG_MAX_BIND 16
#define CONFIG_MAX_SAVEPARAMS 16
#define CONFIG_MAX_PERCENTILES 16

enum { LL_DEBUG = 0, LL_VERBOSE = 1, LL_NOTICE = 2, LL_WARNING = 3, LL_NOTHING = 4 };
enum { DEBUG_CMD_NO = 0, DEBUG_CMD_YES = 1, DEBUG_CMD_LOCAL = 2 };
enum { PROTECTED_NO = 0, PROTECTED_YES = 1, PROTECTED_LOCAL = 2 };
/* SHUTDOWN's flags (SHUTDOWN_NOSAVE and SHUTDOWN_SAVE are persist's). */
enum { SHUTDOWN_NOSAVE = 1, SHUTDOWN_SAVE = 2, SHUTDOWN_FORCE = 4, SHUTDOWN_NOW = 8 };
enum { PROPAGATION_ERR_IGNORE = 0, PROPAGATION_ERR_PANIC = 1, PROPAGATION_ERR_PANIC_ON_REPLICAS = 2 };
enum { TLS_AUTH_NO = 0, TLS_AUTH_YES = 1, TLS_AUTH_OPTIONAL = 2 };

typedef struct save_param {
    long long seconds;
    long long changes;
} save_param;

typedef struct client_obuf_limit {
    long long hard, soft, soft_seconds;
} client_obuf_limit;

typedef struct config {
    char *bind[CONFIG_MAX_BIND];
    int nbind;
    int port;
    dstr unixsocket;
    int unixsocketperm;
    int maxclients;
    int timeout;
    int tcp_backlog;
    int tcp_keepalive;
    long long proto_max_bulk_len;
    long long client_query_buffer_limit;
    int databases;
    int hz;
    dstr requirepass;
    int loglevel;
    dstr logfile;
    dstr pidfile;
    char *dir;
    dstr dbfilename;
    save_param save[CONFIG_MAX_SAVEPARAMS];
    int nsave;
    int save_loaded; /* a file or the command line gave `save`: later lines add */
    int enable_debug_command;
    int enable_protected_configs; /* who may CONFIG SET dir and dbfilename */
    int protected_mode; /* no password: only loopback peers may connect */
    int rdbcompression;
    int rdbchecksum;
    long long rdb_key_save_delay;
    int stop_writes_on_bgsave_error;
    long long maxmemory;
    int daemonize;
    int shutdown_on_sigint, shutdown_on_sigterm; /* SHUTDOWN_* flags a signal shuts down with */
    int active_expire_effort;
    /* introspection (slowlog.c, latency.c) */
    long long slowlog_log_slower_than; /* microseconds; -1 = off */
    long long slowlog_max_len;
    long long latency_monitor_threshold; /* milliseconds; 0 = off */
    int latency_tracking;                /* per-command latency histograms */
    double latency_percentiles[CONFIG_MAX_PERCENTILES]; /* INFO latencystats */
    int nlatency_percentiles;
    long long tracking_table_max_keys; /* 0 = no limit */
    /* replication (used by repl/; here so CONFIG sees one table) */
    int repl_io_threads;
    long long repl_backlog_size;
    long long repl_backpressure_lag; /* bytes; 0 = off */
    long long repl_backlog_ttl;
    int repl_ping_replica_period;
    int repl_timeout;
    int shutdown_timeout; /* seconds SHUTDOWN waits for lagging replicas */
    int repl_diskless_sync;
    int repl_diskless_sync_delay;
    int repl_diskless_sync_max_replicas;
    int repl_diskless_load;
    int min_replicas_to_write;
    int min_replicas_max_lag;
    dstr masterauth;
    dstr masteruser;
    dstr replica_announce_ip;
    int replica_announce_port;
    int replica_read_only;
    int propagation_error_behavior; /* PROPAGATION_ERR_*: a stream command that fails */
    int replica_serve_stale_data;
    int replica_priority;
    int repl_disable_tcp_nodelay;
    client_obuf_limit obuf_replica;
    client_obuf_limit obuf_pubsub;
    client_obuf_limit obuf_normal;
    char *replicaof_host;
    int replicaof_port;
    /* data types (issue 3 uses them) */
    long long list_max_listpack_size;
    int list_compress_depth;
    long long hash_max_listpack_entries;
    long long hash_max_listpack_value;
    long long set_max_intset_entries;
    long long zset_max_listpack_entries;
    long long zset_max_listpack_value;
    long long hll_sparse_max_bytes; /* a sparse HyperLogLog's largest size */
    long long stream_node_max_bytes;
    long long stream_node_max_entries;
    int lazyfree_lazy_user_del;   /* DEL frees like UNLINK */
    int lazyfree_lazy_user_flush; /* FLUSHALL/FLUSHDB without SYNC free like ASYNC */
    int notify_keyspace_events; /* the NOTIFY_* classes sent (core/notify.h) */
    int replica_lazy_flush;       /* a full sync drops the old dataset in the background */
    /* TLS for clients (tls.c); NULL strings are unset, as Redis's "" */
    int tls_port;
    dstr tls_cert_file, tls_key_file, tls_key_file_pass;
    dstr tls_ca_cert_file, tls_ca_cert_dir, tls_dh_params_file;
    dstr tls_protocols, tls_ciphers, tls_ciphersuites;
    int tls_auth_clients; /* TLS_AUTH_*: the peer verification of new connections */
    int tls_prefer_server_ciphers;
    int tls_session_caching;
    int tls_session_cache_size;
    int tls_session_cache_timeout;
    /* The replication link (the replica's side): tls-replication makes the
     * connection to the master a TLS one, presenting tls-client-cert-file
     * (tls-cert-file when unset) and verifying the master's certificate. */
    int tls_replication;
    dstr tls_client_cert_file, tls_client_key_file, tls_client_key_file_pass;
} config;

/* Fill `cfg` with every directive's default. */
void config_defaults(config *cfg);
void config_free(config *cfg);

/* Load a file (may `include` others). On error returns -1 and writes a
 * message naming the file, the line and the problem into `err`. */
int config_load_file(config *cfg, const char *path, char *err, size_t errlen);
/* Apply `--name value ...` style directives: argv holds directive names
 * without the dashes grouped with their arguments. */
int config_load_string(config *cfg, const char *text, const char *origin, char *err, size_t errlen);

/* CONFIG GET support: calls `emit` for each directive matching
 * pattern[0..plen) with its name and current value (value[0..vlen), which
 * may hold NUL bytes). */
typedef void (*config_emit_fn)(void *priv, const char *name, const char *value, size_t vlen);
void config_get(const config *cfg, const char *pattern, size_t plen, config_emit_fn emit,
                void *priv);
/* CONFIG SET of `n` directives (names[i] takes values[i]), all or nothing
 * as in Redis 7.0: the names are checked first (unknown, immutable,
 * protected unless `allow_protected`, the same name twice), then every
 * value is stored, then the apply hook runs for each; when a value or a
 * hook fails, every directive gets its old value back (and its hook run
 * again). Returns 0, or -1 with `res` saying what to reply. */
typedef struct config_set_error {
    int unknown;     /* reply "Unknown option ... - '<arg>'" */
    const char *arg; /* the argument the error names */
    char msg[512];   /* otherwise the text after "... '<arg>') - " */
} config_set_error;
/* names[] and values[] are dstrs (a client's arguments): their lengths are
 * used, so a name with a NUL byte is unknown and a value keeps its NULs. */
int config_set_many(config *cfg, const dstr *names, const dstr *values, int n,
                    int allow_protected, config_set_error *res);
/* CONFIG SET of one directive to value[0..vlen), protected ones allowed
 * (tests, internal callers). Returns 0 or -1 with `err` set as
 * config_set_error.msg; *unknown is set when the directive does not exist. */
int config_set(config *cfg, const char *name, const char *value, size_t vlen, int *unknown,
               char *err, size_t errlen);
/* A latency percentile as Redis prints it (99.9, 50). */
dstr config_cat_percentile(dstr out, double p);
/* Rewrite `path` so that it holds the current configuration. */
int config_rewrite(const config *cfg, const char *path, char *err, size_t errlen);

/* Apply hooks: the server registers a callback run after CONFIG SET
 * changes a directive, for the ones that need action (hz, maxclients...). */
typedef int (*config_apply_fn)(void *priv, const char *name, char *err, size_t errlen);
void config_set_apply_hook(config_apply_fn fn, void *priv);

#endif
