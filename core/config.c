/* config: see config.h.
 *
 * The directive table below is the single source of truth. Each entry has
 * a kind that says how its value is parsed and printed:
 *   bool   yes/no
 *   int    decimal integer within [min, max]
 *   mem    integer with an optional unit (1k 1kb 1m 1mb 1g 1gb)
 *   str    any bytes, kept as a dstr with its length ('' for empty: NULL);
 *          the ones flagged F_CSTR go to the OS as C strings and refuse a
 *          NUL byte, and a `set` function, when given, checks the value
 *   enum   one of a fixed list of words
 *   custom parsed and printed by its own pair of functions (bind, save,
 *          client-output-buffer-limit, replicaof, unixsocketperm, dir,
 *          notify-keyspace-events), in config_custom.c; none but
 *          notify-keyspace-events (which stops at one, as Redis) takes a
 *          NUL byte
 * Flags carry Redis 7.0's rules for CONFIG SET (immutable, protected by
 * enable-protected-configs, hidden from CONFIG GET patterns) and mark
 * maxmemory, whose only accepted value is the default. Directives that
 * Redis 7.0 has and Ringmaster does not implement are in config_absent.c:
 * a redis.conf that sets them to Redis's default loads with a warning; one
 * that asks for the missing feature is refused.
 *
 * CONFIG SET of several pairs is all or nothing, as in Redis 7.0: every
 * name is checked first, old values are kept as strings, and a failed
 * value or apply hook puts each back through the same parser. CONFIG
 * REWRITE is config_rewrite.c. */
#include "core/config.h"
#include "core/config_absent.h"
#include "core/config_int.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/dstr.h"
#include "core/log.h"
#include "core/mem.h"
#include "core/splitargs.h"
#include "core/util.h"


static const cfg_enum loglevel_enum[] = {{"debug", LL_DEBUG},     {"verbose", LL_VERBOSE},
                                         {"notice", LL_NOTICE},   {"warning", LL_WARNING},
                                         {NULL, 0}};
static const cfg_enum debugcmd_enum[] = {
    {"no", DEBUG_CMD_NO}, {"yes", DEBUG_CMD_YES}, {"local", DEBUG_CMD_LOCAL}, {NULL, 0}};
static const cfg_enum protected_enum[] = {
    {"no", PROTECTED_NO}, {"yes", PROTECTED_YES}, {"local", PROTECTED_LOCAL}, {NULL, 0}};
static const cfg_enum tls_auth_enum[] = {
    {"no", TLS_AUTH_NO}, {"yes", TLS_AUTH_YES}, {"optional", TLS_AUTH_OPTIONAL}, {NULL, 0}};
static const cfg_enum propagation_err_enum[] = {{"ignore", PROPAGATION_ERR_IGNORE},
                                                {"panic", PROPAGATION_ERR_PANIC},
                                                {"panic-on-replicas", PROPAGATION_ERR_PANIC_ON_REPLICAS},
                                                {NULL, 0}};
static const cfg_enum diskless_load_enum[] = {
    {"disabled", 0}, {"on-empty-db", 1}, {"swapdb", 2}, {NULL, 0}};

#define OFF(field) offsetof(config, field)


const cfg_entry config_table[] = {
    {"bind", NULL, K_CUSTOM, 0, "* -::*", 0, 0, NULL, F_IMMUTABLE, config_set_bind, config_get_bind},
    {"port", NULL, K_INT, OFF(port), "6379", 0, 65535, NULL, 0, NULL, NULL},
    {"unixsocket", NULL, K_STR, OFF(unixsocket), NULL, 0, 0, NULL, F_IMMUTABLE | F_CSTR, NULL,
     NULL},
    {"unixsocketperm", NULL, K_CUSTOM, 0, "0", 0, 0, NULL, F_IMMUTABLE, config_set_sockperm,
     config_get_sockperm},
    {"maxclients", NULL, K_INT, OFF(maxclients), "10000", 1, 1000000, NULL, 0, NULL, NULL},
    {"timeout", NULL, K_INT, OFF(timeout), "0", 0, INT_MAX, NULL, 0, NULL, NULL},
    {"tcp-backlog", NULL, K_INT, OFF(tcp_backlog), "511", 0, INT_MAX, NULL, F_IMMUTABLE, NULL,
     NULL},
    {"tcp-keepalive", NULL, K_INT, OFF(tcp_keepalive), "300", 0, INT_MAX, NULL, 0, NULL, NULL},
    {"proto-max-bulk-len", NULL, K_MEM, OFF(proto_max_bulk_len), "512mb", 1024 * 1024,
     LLONG_MAX, NULL, 0, NULL, NULL},
    {"client-query-buffer-limit", NULL, K_MEM, OFF(client_query_buffer_limit), "1gb",
     1024 * 1024, LLONG_MAX, NULL, 0, NULL, NULL},
    {"databases", NULL, K_INT, OFF(databases), "16", 1, INT_MAX, NULL, F_IMMUTABLE, NULL, NULL},
    {"hz", NULL, K_INT, OFF(hz), "10", 0, INT_MAX, NULL, 0, NULL, NULL},
    {"requirepass", NULL, K_STR, OFF(requirepass), NULL, 0, 0, NULL, 0, NULL, NULL},
    {"loglevel", NULL, K_ENUM, OFF(loglevel), "notice", 0, 0, loglevel_enum, 0, NULL, NULL},
    {"logfile", NULL, K_STR, OFF(logfile), "", 0, 0, NULL, F_IMMUTABLE | F_CSTR, NULL, NULL},
    {"pidfile", NULL, K_STR, OFF(pidfile), NULL, 0, 0, NULL, F_IMMUTABLE | F_CSTR, NULL, NULL},
    {"dir", NULL, K_CUSTOM, 0, NULL, 0, 0, NULL, F_PROTECTED, config_set_dir, config_get_dir},
    {"dbfilename", NULL, K_STR, OFF(dbfilename), "dump.rdb", 0, 0, NULL, F_PROTECTED | F_CSTR,
     config_check_dbfilename, NULL},
    {"save", NULL, K_CUSTOM, 0, "3600 1 300 100 60 10000", 0, 0, NULL, 0, config_set_save, config_get_save},
    {"enable-debug-command", NULL, K_ENUM, OFF(enable_debug_command), "no", 0, 0,
     debugcmd_enum, F_IMMUTABLE, NULL, NULL},
    {"enable-protected-configs", NULL, K_ENUM, OFF(enable_protected_configs), "no", 0, 0,
     protected_enum, F_IMMUTABLE, NULL, NULL},
    {"protected-mode", NULL, K_BOOL, OFF(protected_mode), "yes", 0, 0, NULL, 0, NULL, NULL},
    {"rdbcompression", NULL, K_BOOL, OFF(rdbcompression), "yes", 0, 0, NULL, 0, NULL, NULL},
    {"rdbchecksum", NULL, K_BOOL, OFF(rdbchecksum), "yes", 0, 0, NULL, F_IMMUTABLE, NULL, NULL},
    {"rdb-key-save-delay", NULL, K_LL, OFF(rdb_key_save_delay), "0", LLONG_MIN, LLONG_MAX, NULL,
     F_HIDDEN, NULL, NULL},
    {"stop-writes-on-bgsave-error", NULL, K_BOOL, OFF(stop_writes_on_bgsave_error), "yes", 0, 0,
     NULL, 0, NULL, NULL},
    /* Nothing evicts or refuses writes for memory: a limit would be a
     * promise Ringmaster does not keep. */
    {"maxmemory", NULL, K_MEM, OFF(maxmemory), "0", 0, LLONG_MAX, NULL, F_DEFAULT_ONLY, NULL,
     NULL},
    {"shutdown-on-sigint", NULL, K_CUSTOM, 0, "default", 0, 0, NULL, 0, config_set_shutdown_sigint,
     config_get_shutdown_sigint},
    {"shutdown-on-sigterm", NULL, K_CUSTOM, 0, "default", 0, 0, NULL, 0, config_set_shutdown_sigterm,
     config_get_shutdown_sigterm},
    {"daemonize", NULL, K_BOOL, OFF(daemonize), "no", 0, 0, NULL, F_IMMUTABLE, NULL, NULL},
    {"active-expire-effort", NULL, K_INT, OFF(active_expire_effort), "1", 1, 10, NULL, 0, NULL,
     NULL},
    {"slowlog-log-slower-than", NULL, K_LL, OFF(slowlog_log_slower_than), "10000", -1,
     LLONG_MAX, NULL, 0, NULL, NULL},
    {"slowlog-max-len", NULL, K_LL, OFF(slowlog_max_len), "128", 0, LONG_MAX, NULL, 0, NULL,
     NULL},
    {"latency-monitor-threshold", NULL, K_LL, OFF(latency_monitor_threshold), "0", 0, LLONG_MAX,
     NULL, 0, NULL, NULL},
    {"latency-tracking", NULL, K_BOOL, OFF(latency_tracking), "yes", 0, 0, NULL, 0, NULL, NULL},
    {"latency-tracking-info-percentiles", NULL, K_CUSTOM, 0, "50 99 99.9", 0, 0, NULL, F_QUOTED,
     config_set_percentiles, config_get_percentiles},
    {"tracking-table-max-keys", NULL, K_LL, OFF(tracking_table_max_keys), "1000000", 0,
     LONG_MAX, NULL, 0, NULL, NULL},
    {"repl-io-threads", NULL, K_INT, OFF(repl_io_threads), "1", 1, 8, NULL, F_IMMUTABLE, NULL,
     NULL},
    {"repl-backlog-size", NULL, K_MEM, OFF(repl_backlog_size), "1mb", 1, LLONG_MAX, NULL, 0,
     NULL, NULL},
    {"repl-backpressure-lag", NULL, K_MEM, OFF(repl_backpressure_lag), "0", 0, LLONG_MAX, NULL,
     0, NULL, NULL},
    {"repl-backlog-ttl", NULL, K_LL, OFF(repl_backlog_ttl), "3600", 0, LLONG_MAX, NULL, 0, NULL,
     NULL},
    {"repl-ping-replica-period", "repl-ping-slave-period", K_INT, OFF(repl_ping_replica_period),
     "10", 1, INT_MAX, NULL, 0, NULL, NULL},
    {"repl-timeout", NULL, K_INT, OFF(repl_timeout), "60", 1, INT_MAX, NULL, 0, NULL, NULL},
    {"shutdown-timeout", NULL, K_INT, OFF(shutdown_timeout), "10", 0, INT_MAX, NULL, 0, NULL,
     NULL},
    {"repl-diskless-sync", NULL, K_BOOL, OFF(repl_diskless_sync), "yes", 0, 0, NULL, 0, NULL,
     NULL},
    {"repl-diskless-sync-delay", NULL, K_INT, OFF(repl_diskless_sync_delay), "5", 0, INT_MAX,
     NULL, 0, NULL, NULL},
    {"repl-diskless-sync-max-replicas", NULL, K_INT, OFF(repl_diskless_sync_max_replicas), "0",
     0, INT_MAX, NULL, 0, NULL, NULL},
    {"repl-diskless-load", NULL, K_ENUM, OFF(repl_diskless_load), "disabled", 0, 0,
     diskless_load_enum, 0, NULL, NULL},
    {"repl-disable-tcp-nodelay", NULL, K_BOOL, OFF(repl_disable_tcp_nodelay), "no", 0, 0, NULL,
     0, NULL, NULL},
    {"min-replicas-to-write", "min-slaves-to-write", K_INT, OFF(min_replicas_to_write), "0", 0,
     INT_MAX, NULL, 0, NULL, NULL},
    {"min-replicas-max-lag", "min-slaves-max-lag", K_INT, OFF(min_replicas_max_lag), "10", 0,
     INT_MAX, NULL, 0, NULL, NULL},
    {"masterauth", NULL, K_STR, OFF(masterauth), NULL, 0, 0, NULL, 0, NULL, NULL},
    {"masteruser", NULL, K_STR, OFF(masteruser), NULL, 0, 0, NULL, F_CSTR, NULL, NULL},
    {"replica-announce-ip", "slave-announce-ip", K_STR, OFF(replica_announce_ip), NULL, 0, 0,
     NULL, F_CSTR, NULL, NULL},
    {"replica-announce-port", "slave-announce-port", K_INT, OFF(replica_announce_port), "0", 0,
     65535, NULL, 0, NULL, NULL},
    {"replica-read-only", "slave-read-only", K_BOOL, OFF(replica_read_only), "yes", 0, 0, NULL,
     0, NULL, NULL},
    {"propagation-error-behavior", NULL, K_ENUM, OFF(propagation_error_behavior), "ignore", 0, 0,
     propagation_err_enum, 0, NULL, NULL},
    {"replica-serve-stale-data", "slave-serve-stale-data", K_BOOL,
     OFF(replica_serve_stale_data), "yes", 0, 0, NULL, 0, NULL, NULL},
    {"replica-priority", "slave-priority", K_INT, OFF(replica_priority), "100", 0, INT_MAX, NULL,
     0, NULL, NULL},
    {"client-output-buffer-limit", NULL, K_CUSTOM, 0,
     "normal 0 0 0 slave 268435456 67108864 60 pubsub 33554432 8388608 60", 0, 0, NULL, 0,
     config_set_obuf, config_get_obuf},
    {"replicaof", "slaveof", K_CUSTOM, 0, NULL, 0, 0, NULL, F_IMMUTABLE, config_set_replicaof,
     config_get_replicaof},
    {"list-max-listpack-size", "list-max-ziplist-size", K_LL, OFF(list_max_listpack_size), "-2",
     LLONG_MIN, LLONG_MAX, NULL, 0, NULL, NULL},
    {"list-compress-depth", NULL, K_INT, OFF(list_compress_depth), "0", 0, INT_MAX, NULL, 0,
     NULL, NULL},
    {"hash-max-listpack-entries", "hash-max-ziplist-entries", K_LL,
     OFF(hash_max_listpack_entries), "512", 0, LLONG_MAX, NULL, 0, NULL, NULL},
    {"hash-max-listpack-value", "hash-max-ziplist-value", K_LL, OFF(hash_max_listpack_value),
     "64", 0, LLONG_MAX, NULL, 0, NULL, NULL},
    {"set-max-intset-entries", NULL, K_LL, OFF(set_max_intset_entries), "512", 0, LLONG_MAX,
     NULL, 0, NULL, NULL},
    {"zset-max-listpack-entries", "zset-max-ziplist-entries", K_LL,
     OFF(zset_max_listpack_entries), "128", 0, LLONG_MAX, NULL, 0, NULL, NULL},
    {"zset-max-listpack-value", "zset-max-ziplist-value", K_LL, OFF(zset_max_listpack_value),
     "64", 0, LLONG_MAX, NULL, 0, NULL, NULL},
    {"hll-sparse-max-bytes", NULL, K_MEM, OFF(hll_sparse_max_bytes), "3000", 0, LONG_MAX, NULL,
     0, NULL, NULL},
    {"stream-node-max-bytes", NULL, K_MEM, OFF(stream_node_max_bytes), "4kb", 0, LLONG_MAX,
     NULL, 0, NULL, NULL},
    {"stream-node-max-entries", NULL, K_LL, OFF(stream_node_max_entries), "100", 0, LLONG_MAX,
     NULL, 0, NULL, NULL},
    {"lazyfree-lazy-user-del", NULL, K_BOOL, OFF(lazyfree_lazy_user_del), "no", 0, 0, NULL, 0,
     NULL, NULL},
    {"lazyfree-lazy-user-flush", NULL, K_BOOL, OFF(lazyfree_lazy_user_flush), "no", 0, 0, NULL,
     0, NULL, NULL},
    {"notify-keyspace-events", NULL, K_CUSTOM, 0, "\"\"", 0, 0, NULL, F_QUOTED | F_NUL_OK,
     config_set_notify, config_get_notify},
    {"replica-lazy-flush", "slave-lazy-flush", K_BOOL, OFF(replica_lazy_flush), "no", 0, 0, NULL,
     0, NULL, NULL},
    /* TLS. A change to tls-port moves its listeners (server.c, as port);
     * to any other, but tls-auth-clients (read per connection), it rebuilds
     * the contexts; tls-replication is read at each connection to a
     * master. */
    {"tls-port", NULL, K_INT, OFF(tls_port), "0", 0, 65535, NULL, 0, NULL, NULL},
    {"tls-cert-file", NULL, K_STR, OFF(tls_cert_file), NULL, 0, 0, NULL, F_CSTR, NULL, NULL},
    {"tls-key-file", NULL, K_STR, OFF(tls_key_file), NULL, 0, 0, NULL, F_CSTR, NULL, NULL},
    {"tls-key-file-pass", NULL, K_STR, OFF(tls_key_file_pass), NULL, 0, 0, NULL, 0, NULL, NULL},
    {"tls-ca-cert-file", NULL, K_STR, OFF(tls_ca_cert_file), NULL, 0, 0, NULL, F_CSTR, NULL,
     NULL},
    {"tls-ca-cert-dir", NULL, K_STR, OFF(tls_ca_cert_dir), NULL, 0, 0, NULL, F_CSTR, NULL, NULL},
    {"tls-dh-params-file", NULL, K_STR, OFF(tls_dh_params_file), NULL, 0, 0, NULL, F_CSTR, NULL,
     NULL},
    {"tls-protocols", NULL, K_STR, OFF(tls_protocols), NULL, 0, 0, NULL, F_CSTR, NULL, NULL},
    {"tls-ciphers", NULL, K_STR, OFF(tls_ciphers), NULL, 0, 0, NULL, F_CSTR, NULL, NULL},
    {"tls-ciphersuites", NULL, K_STR, OFF(tls_ciphersuites), NULL, 0, 0, NULL, F_CSTR, NULL,
     NULL},
    {"tls-auth-clients", NULL, K_ENUM, OFF(tls_auth_clients), "yes", 0, 0, tls_auth_enum, 0,
     NULL, NULL},
    {"tls-prefer-server-ciphers", NULL, K_BOOL, OFF(tls_prefer_server_ciphers), "no", 0, 0,
     NULL, 0, NULL, NULL},
    {"tls-session-caching", NULL, K_BOOL, OFF(tls_session_caching), "yes", 0, 0, NULL, 0, NULL,
     NULL},
    {"tls-session-cache-size", NULL, K_INT, OFF(tls_session_cache_size), "20480", 0, INT_MAX,
     NULL, 0, NULL, NULL},
    {"tls-session-cache-timeout", NULL, K_INT, OFF(tls_session_cache_timeout), "300", 0,
     INT_MAX, NULL, 0, NULL, NULL},
    {"tls-replication", NULL, K_BOOL, OFF(tls_replication), "no", 0, 0, NULL, 0, NULL, NULL},
    {"tls-client-cert-file", NULL, K_STR, OFF(tls_client_cert_file), NULL, 0, 0, NULL, F_CSTR,
     NULL, NULL},
    {"tls-client-key-file", NULL, K_STR, OFF(tls_client_key_file), NULL, 0, 0, NULL, F_CSTR,
     NULL, NULL},
    {"tls-client-key-file-pass", NULL, K_STR, OFF(tls_client_key_file_pass), NULL, 0, 0, NULL,
     0, NULL, NULL},
    {NULL, NULL, 0, 0, NULL, 0, 0, NULL, 0, NULL, NULL},
};


static config_apply_fn apply_hook;
static void *apply_priv;

void config_set_apply_hook(config_apply_fn fn, void *priv) {
    apply_hook = fn;
    apply_priv = priv;
}

const cfg_entry *config_find_entry(const char *name) {
    for (const cfg_entry *e = config_table; e->name; e++) {
        if (!strcasecmp(e->name, name) || (e->alias && !strcasecmp(e->alias, name))) return e;
    }
    return NULL;
}

/* The table's spelling of the name or alias `name` matched: Redis names
 * a failed value by its config, which for an alias is the alias. */
static const char *entry_spelling(const cfg_entry *e, const char *name) {
    return e->alias && !strcasecmp(e->alias, name) ? e->alias : e->name;
}

void config_fmt_err(char *err, size_t errlen, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}
#define fmt_err config_fmt_err

int config_is_cstr(const dstr s) { return memchr(s, '\0', dstr_len(s)) == NULL; }

/* A value with a NUL byte is none of the words below: without this check
 * strcasecmp() would take "yes\0junk" for "yes". */
static int parse_bool(const dstr v, int *out) {
    if (!config_is_cstr(v)) return -1;
    if (!strcasecmp(v, "yes")) {
        *out = 1;
        return 0;
    }
    if (!strcasecmp(v, "no")) {
        *out = 0;
        return 0;
    }
    return -1;
}

static int parse_number(const cfg_entry *e, const dstr v, long long *out, char *err,
                        size_t errlen) {
    long long n;
    if (e->kind == K_MEM) {
        unsigned long long u;
        if (!config_is_cstr(v) || !util_mem_to_ull(v, &u) || u > (unsigned long long)LLONG_MAX) {
            /* Redis also accepts a plain negative for some memory fields;
             * none of ours. */
            fmt_err(err, errlen, "argument must be a memory value");
            return -1;
        }
        n = (long long)u;
    } else if (!util_str_to_ll(v, dstr_len(v), &n)) {
        fmt_err(err, errlen, "argument couldn't be parsed into an integer");
        return -1;
    }
    if (n < e->min || n > e->max) {
        fmt_err(err, errlen, "argument must be between %lld and %lld inclusive", e->min, e->max);
        return -1;
    }
    *out = n;
    return 0;
}

static int apply_custom(config *cfg, const cfg_entry *e, dstr *argv, int argc, char *err,
                        size_t errlen) {
    /* No custom directive has a use for a NUL byte, and most hand their
     * arguments to C-string parsers or to the OS (chdir, bind). */
    for (int i = 1; i < argc && !(e->flags & F_NUL_OK); i++) {
        if (!config_is_cstr(argv[i])) {
            fmt_err(err, errlen, ERR_NUL_BYTE);
            return -1;
        }
    }
    /* Multi-argument directives also accept their arguments as one
     * space-separated string ("--save '900 1'", CONFIG SET save "900 1"),
     * as Redis 7.0 does. */
    int multi = !strcmp(e->name, "save") || !strcmp(e->name, "bind") ||
                !strcmp(e->name, "client-output-buffer-limit") ||
                !strcmp(e->name, "latency-tracking-info-percentiles") ||
                !strncmp(e->name, "shutdown-on-sig", 15);
    if (multi && argc == 2 && strchr(argv[1], ' ')) {
        int n;
        dstr *parts = split_args(argv[1], dstr_len(argv[1]), &n);
        if (!parts) {
            fmt_err(err, errlen, "Unbalanced quotes");
            return -1;
        }
        int rc = e->set(cfg, parts, n, err, errlen);
        split_args_free(parts, n);
        return rc;
    }
    return e->set(cfg, argv + 1, argc - 1, err, errlen);
}

static int store_number(config *cfg, const cfg_entry *e, const dstr v, char *err,
                        size_t errlen) {
    long long n;
    if (parse_number(e, v, &n, err, errlen) < 0) return -1;
    if ((e->flags & F_DEFAULT_ONLY) && n != atoll(e->def)) {
        fmt_err(err, errlen,
                "'%s %s' needs a feature Ringmaster does not implement (only '%s' is "
                "supported)",
                e->name, v, e->def);
        return -1;
    }
    /* Redis clamps hz to 1..500 wherever it comes from. */
    if (!strcmp(e->name, "hz")) n = n < 1 ? 1 : n > 500 ? 500 : n;
    if (e->kind == K_INT)
        *(int *)((char *)cfg + e->offset) = (int)n;
    else
        *(long long *)((char *)cfg + e->offset) = n;
    return 0;
}

/* The whole value is kept, length and all: a password may hold any byte.
 * Only the directives the OS reads as C strings refuse a NUL, which would
 * otherwise cut the path or address short without a word. */
static int store_string(config *cfg, const cfg_entry *e, dstr *argv, char *err,
                        size_t errlen) {
    const dstr v = argv[1];
    if ((e->flags & F_CSTR) && !config_is_cstr(v)) {
        fmt_err(err, errlen, ERR_NUL_BYTE);
        return -1;
    }
    if (e->set && e->set(cfg, argv + 1, 1, err, errlen) < 0) return -1;
    dstr *slot = (dstr *)((char *)cfg + e->offset);
    dstr_free(*slot);
    *slot = dstr_len(v) || !strcmp(e->name, "logfile") ? dstr_dup(v) : NULL;
    return 0;
}

static int store_enum(config *cfg, const cfg_entry *e, const dstr v, char *err,
                      size_t errlen) {
    for (const cfg_enum *en = e->enums; en->name && config_is_cstr(v); en++) {
        if (!strcasecmp(en->name, v)) {
            *(int *)((char *)cfg + e->offset) = en->value;
            return 0;
        }
    }
    dstr list = dstr_empty();
    for (const cfg_enum *en = e->enums; en->name; en++) {
        if (dstr_len(list)) list = dstr_cats(list, ", ");
        list = dstr_cats(list, en->name);
    }
    fmt_err(err, errlen, "argument(s) must be one of the following: %s", list);
    dstr_free(list);
    return -1;
}

/* Parse and store one directive from split arguments (argv[0] is the
 * name), as the file, the command line and CONFIG SET give it. */
static int apply_directive(config *cfg, const cfg_entry *e, dstr *argv, int argc, char *err,
                           size_t errlen) {
    if (e->kind == K_CUSTOM) return apply_custom(cfg, e, argv, argc, err, errlen);
    if (argc != 2) {
        fmt_err(err, errlen, "wrong number of arguments");
        return -1;
    }
    switch (e->kind) {
    case K_BOOL: {
        int b;
        if (parse_bool(argv[1], &b) < 0) {
            fmt_err(err, errlen, "argument must be 'yes' or 'no'");
            return -1;
        }
        *(int *)((char *)cfg + e->offset) = b;
        return 0;
    }
    case K_INT:
    case K_LL:
    case K_MEM: return store_number(cfg, e, argv[1], err, errlen);
    case K_STR: return store_string(cfg, e, argv, err, errlen);
    case K_ENUM: return store_enum(cfg, e, argv[1], err, errlen);
    case K_CUSTOM: break;
    }
    return -1;
}

dstr config_value_string(const config *cfg, const cfg_entry *e) {
    const char *base = (const char *)cfg;
    switch (e->kind) {
    case K_BOOL: return dstr_from(*(const int *)(base + e->offset) ? "yes" : "no");
    case K_INT: return dstr_from_ll(*(const int *)(base + e->offset));
    case K_LL:
    case K_MEM: return dstr_from_ll(*(const long long *)(base + e->offset));
    case K_STR: {
        const dstr s = *(const dstr *)(base + e->offset);
        return s ? dstr_dup(s) : dstr_empty();
    }
    case K_ENUM: {
        int v = *(const int *)(base + e->offset);
        for (const cfg_enum *en = e->enums; en->name; en++)
            if (en->value == v) return dstr_from(en->name);
        return dstr_empty();
    }
    case K_CUSTOM: return e->get(cfg);
    }
    return dstr_empty();
}

/* ---- defaults, loading ---- */

static void set_default(config *cfg, const cfg_entry *e) {
    char err[256];
    if (!strcmp(e->name, "dir")) return; /* the working directory is the default */
    if (e->kind == K_STR) {
        dstr *slot = (dstr *)((char *)cfg + e->offset);
        dstr_free(*slot);
        *slot = e->def ? dstr_from(e->def) : NULL;
        return;
    }
    if (!e->def) return;
    int argc;
    dstr *argv = split_args(e->def, strlen(e->def), &argc);
    /* Custom directives take the arguments as listed; the others one. */
    dstr *full = mem_alloc(sizeof(dstr) * (size_t)(argc + 1));
    full[0] = dstr_from(e->name);
    for (int i = 0; i < argc; i++) full[i + 1] = argv[i];
    apply_directive(cfg, e, full, argc + 1, err, sizeof(err));
    dstr_free(full[0]);
    mem_free(full);
    split_args_free(argv, argc);
}

void config_defaults(config *cfg) {
    memset(cfg, 0, sizeof(*cfg));
    for (const cfg_entry *e = config_table; e->name; e++) set_default(cfg, e);
}

void config_free(config *cfg) {
    for (int i = 0; i < cfg->nbind; i++) mem_free(cfg->bind[i]);
    for (const cfg_entry *e = config_table; e->name; e++) {
        if (e->kind == K_STR) dstr_free(*(dstr *)((char *)cfg + e->offset));
    }
    mem_free(cfg->dir);
    mem_free(cfg->replicaof_host);
    memset(cfg, 0, sizeof(*cfg));
}

/* A `save` line of a file or the command line, as Redis 7.0 reads them:
 * the first one replaces the default save points, each later one adds its
 * pairs, a bare `save` (what tools that template redis.conf write) adds
 * none and `save ""` clears them all. */
static int load_save(config *cfg, const cfg_entry *e, dstr *argv, int argc, char *err,
                     size_t errlen) {
    int first = !cfg->save_loaded;
    cfg->save_loaded = 1;
    if (argc == 1) {
        if (first) cfg->nsave = 0;
        return 0;
    }
    if (first || (argc == 2 && dstr_len(argv[1]) == 0))
        return apply_directive(cfg, e, argv, argc, err, errlen);
    cfg_entry adder = *e;
    adder.set = config_add_save;
    return apply_custom(cfg, &adder, argv, argc, err, errlen);
}

/* One directive line, already split. */
static int load_directive(config *cfg, dstr *argv, int argc, int depth, char *err,
                          size_t errlen) {
    if (!strcasecmp(argv[0], "include")) {
        if (argc != 2) {
            fmt_err(err, errlen, "Bad directive or wrong number of arguments");
            return -1;
        }
        if (depth > 16) {
            fmt_err(err, errlen, "include nesting too deep");
            return -1;
        }
        return config_load_file(cfg, argv[1], err, errlen) < 0 ? -2 : 0;
    }
    /* A name is a C string: "port\x00junk" is no directive. */
    const cfg_entry *e = config_is_cstr(argv[0]) ? config_find_entry(argv[0]) : NULL;
    if (e && !strcmp(e->name, "save")) return load_save(cfg, e, argv, argc, err, errlen);
    if (e) return apply_directive(cfg, e, argv, argc, err, errlen);
    const absent_directive *a = config_is_cstr(argv[0]) ? absent_find(argv[0], 1) : NULL;
    if (a) return absent_load(a, argv, argc, err, errlen);
    fmt_err(err, errlen, "Bad directive or wrong number of arguments");
    return -1;
}

static int include_depth;

static int load_text(config *cfg, const char *text, size_t len, const char *origin, char *err,
                     size_t errlen) {
    size_t pos = 0;
    int lineno = 0;
    while (pos < len) {
        size_t end = pos;
        while (end < len && text[end] != '\n') end++;
        lineno++;
        const char *line = text + pos;
        size_t llen = end - pos;
        pos = end + 1;
        while (llen && (line[0] == ' ' || line[0] == '\t')) {
            line++;
            llen--;
        }
        while (llen && (line[llen - 1] == ' ' || line[llen - 1] == '\t' ||
                        line[llen - 1] == '\r'))
            llen--;
        if (llen == 0 || line[0] == '#') continue;
        int argc;
        dstr *argv = split_args(line, llen, &argc);
        char why[2048];
        int rc;
        if (!argv) {
            snprintf(why, sizeof(why), "Unbalanced quotes in configuration line");
            rc = -1;
        } else if (argc == 0) {
            split_args_free(argv, argc);
            continue;
        } else {
            include_depth++;
            rc = load_directive(cfg, argv, argc, include_depth, why, sizeof(why));
            include_depth--;
        }
        if (rc == -2) {
            /* The included file already described its error, naming its
             * own file and line. */
            fmt_err(err, errlen, "%s", why);
            split_args_free(argv, argc);
            return -1;
        }
        if (rc < 0) {
            fmt_err(err, errlen,
                    "\n*** FATAL CONFIG FILE ERROR (Ringmaster %s) ***\n"
                    "Reading the configuration file '%s', at line %d\n>>> '%.*s'\n%s",
                    "7.0.15", origin, lineno, (int)llen, line, why);
            if (argv) split_args_free(argv, argc);
            return -1;
        }
        split_args_free(argv, argc);
    }
    return 0;
}

int config_load_file(config *cfg, const char *path, char *err, size_t errlen) {
    FILE *f = fopen(path, "r");
    if (!f) {
        fmt_err(err, errlen, "Fatal error, can't open config file '%s': %s", path,
                strerror(errno));
        return -1;
    }
    dstr text = dstr_empty();
    char buf[8192];
    size_t n;
    while ((n = fread(buf, 1, sizeof(buf), f)) > 0) text = dstr_cat(text, buf, n);
    fclose(f);
    int rc = load_text(cfg, text, dstr_len(text), path, err, errlen);
    dstr_free(text);
    return rc;
}

int config_load_string(config *cfg, const char *text, const char *origin, char *err,
                       size_t errlen) {
    return load_text(cfg, text, strlen(text), origin, err, errlen);
}

/* ---- CONFIG GET / SET / REWRITE ---- */

void config_get(const config *cfg, const char *pattern, size_t plen, config_emit_fn emit,
                void *priv) {
    /* As in Redis 7.0, a name and its alias are two configs sharing a
     * value: `*` lists both. A hidden one needs its exact name. */
    for (const cfg_entry *e = config_table; e->name; e++) {
        int by_name, by_alias = 0;
        if (e->flags & F_HIDDEN) {
            by_name = plen == strlen(e->name) && !strncasecmp(pattern, e->name, plen);
        } else {
            by_name = util_glob_match(pattern, plen, e->name, strlen(e->name), 1);
            by_alias = e->alias && util_glob_match(pattern, plen, e->alias, strlen(e->alias), 1);
        }
        if (!by_name && !by_alias) continue;
        dstr v = config_value_string(cfg, e);
        if (by_name) emit(priv, e->name, v, dstr_len(v));
        if (by_alias) emit(priv, e->alias, v, dstr_len(v));
        dstr_free(v);
    }
    absent_get_matching(pattern, plen, emit, priv);
}

/* Parse and store one value, with no hook: the first half of a CONFIG
 * SET, and how a rollback puts an old value back. The value is one
 * argument, bytes as given; a directive of several arguments splits it
 * (apply_custom). */
static int set_value(config *cfg, const cfg_entry *e, const dstr value, char *err,
                     size_t errlen) {
    dstr argv[2] = {dstr_from(e->name), dstr_dup(value)};
    int rc = apply_directive(cfg, e, argv, 2, err, errlen);
    dstr_free(argv[0]);
    dstr_free(argv[1]);
    return rc;
}

/* One directive of a CONFIG SET: a row of either table. */
typedef struct set_target {
    const cfg_entry *e;
    const absent_directive *a;
    const char *spelling;
    dstr old;
} set_target;

static int target_store(config *cfg, const set_target *t, const dstr value, char *err,
                        size_t errlen) {
    if (t->e) return set_value(cfg, t->e, value, err, errlen);
    return absent_set(t->a, value, err, errlen);
}

static void restore_targets(config *cfg, set_target *t, int n, int run_hooks) {
    char ignored[512];
    for (int i = 0; i < n; i++) target_store(cfg, &t[i], t[i].old, ignored, sizeof(ignored));
    for (int i = 0; run_hooks && apply_hook && i < n; i++)
        if (t[i].e) apply_hook(apply_priv, t[i].e->name, ignored, sizeof(ignored));
}

int config_set_many(config *cfg, const dstr *names, const dstr *values, int n,
                    int allow_protected, config_set_error *res) {
    memset(res, 0, sizeof(*res));
    set_target *t = mem_calloc(sizeof(set_target) * (size_t)(n ? n : 1));
    int invalid = 0, rc = -1;
    /* Redis 7.0's first pass, in its order: the first unknown name wins
     * unless an earlier pair already failed; a later pair is not looked
     * at once one has. */
    for (int i = 0; i < n; i++) {
        int cname = config_is_cstr(names[i]); /* else no config has that name */
        t[i].e = cname ? config_find_entry(names[i]) : NULL;
        t[i].a = t[i].e || !cname ? NULL : absent_find(names[i], 0);
        if (!t[i].e && !t[i].a) {
            if (!invalid) {
                res->unknown = 1;
                res->arg = names[i];
                invalid = 1;
            }
            continue;
        }
        if (invalid) continue;
        int flags = t[i].e ? t[i].e->flags : 0;
        if ((flags & F_IMMUTABLE) || (t[i].a && absent_is_immutable(t[i].a))) {
            fmt_err(res->msg, sizeof(res->msg), "can't set immutable config");
            res->arg = names[i];
            invalid = 1;
        } else if ((flags & F_PROTECTED) && !allow_protected) {
            fmt_err(res->msg, sizeof(res->msg), "can't set protected config");
            res->arg = names[i];
            invalid = 1;
        }
        /* An alias and its name are two configs to Redis 7.0: only the
         * same spelling twice is a duplicate. */
        for (int j = 0; j < i; j++) {
            if (!strcasecmp(names[j], names[i])) {
                fmt_err(res->msg, sizeof(res->msg), "duplicate parameter");
                res->arg = names[i];
                invalid = 1;
                break;
            }
        }
        t[i].spelling =
            t[i].e ? entry_spelling(t[i].e, names[i]) : absent_spelling(t[i].a, names[i]);
    }
    if (invalid) goto done;
    for (int i = 0; i < n; i++)
        t[i].old = t[i].e ? config_value_string(cfg, t[i].e) : absent_get(t[i].a);
    for (int i = 0; i < n; i++) {
        if (target_store(cfg, &t[i], values[i], res->msg, sizeof(res->msg)) < 0) {
            restore_targets(cfg, t, i + 1, 0);
            res->arg = t[i].spelling;
            goto done;
        }
    }
    for (int i = 0; i < n; i++) {
        if (!t[i].e || !apply_hook) continue;
        if (apply_hook(apply_priv, t[i].e->name, res->msg, sizeof(res->msg)) < 0) {
            log_msg(LL_WARNING,
                    "Failed applying new configuration. Possibly related to new %s setting. "
                    "Restoring previous settings.",
                    t[i].spelling);
            restore_targets(cfg, t, n, 1);
            res->arg = t[i].spelling;
            goto done;
        }
    }
    rc = 0;
done:
    for (int i = 0; i < n; i++) dstr_free(t[i].old);
    mem_free(t);
    return rc;
}

int config_set(config *cfg, const char *name, const char *value, size_t vlen, int *unknown,
               char *err, size_t errlen) {
    config_set_error res;
    dstr names[1] = {dstr_from(name)}, values[1] = {dstr_new(value, vlen)};
    int rc = config_set_many(cfg, names, values, 1, 1, &res);
    *unknown = res.unknown;
    if (rc < 0) fmt_err(err, errlen, "%s", res.msg);
    dstr_free(names[0]);
    dstr_free(values[0]);
    return rc;
}

