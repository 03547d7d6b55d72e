/* config: see config.h.
 *
 * The directive table below is the single source of truth. Each entry has
 * a kind that says how its value is parsed and printed:
 *   bool   yes/no
 *   int    decimal integer within [min, max]
 *   mem    integer with an optional unit (1k 1kb 1m 1mb 1g 1gb)
 *   str    any string ('' for empty); may be NULL
 *   enum   one of a fixed list of words
 *   custom parsed and printed by its own pair of functions (bind, save,
 *          client-output-buffer-limit, replicaof, unixsocketperm, dir)
 * Flags carry Redis 7.0's rules for CONFIG SET (immutable, protected by
 * enable-protected-configs, hidden from CONFIG GET patterns) and mark
 * maxmemory, whose only accepted value is the default. Directives that
 * Redis 7.0 has and Ringmaster does not implement are in config_absent.c:
 * a redis.conf that sets them to Redis's default loads with a warning; one
 * that asks for the missing feature is refused.
 *
 * CONFIG SET of several pairs is all or nothing, as in Redis 7.0: every
 * name is checked first, old values are kept as strings, and a failed
 * value or apply hook puts each back through the same parser. */
#include "core/config.h"
#include "core/config_absent.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "core/dict.h"
#include "core/dstr.h"
#include "core/log.h"
#include "core/mem.h"
#include "core/splitargs.h"
#include "core/util.h"

enum cfg_kind { K_BOOL, K_INT, K_LL, K_MEM, K_STR, K_ENUM, K_CUSTOM };
enum {
    F_IMMUTABLE = 1,    /* CONFIG SET refuses it (Redis's IMMUTABLE_CONFIG) */
    F_PROTECTED = 2,    /* CONFIG SET only as enable-protected-configs allows */
    F_HIDDEN = 4,       /* CONFIG GET shows it only when asked by its exact name */
    F_DEFAULT_ONLY = 8, /* another value needs a feature Ringmaster lacks */
};

typedef struct cfg_enum {
    const char *name;
    int value;
} cfg_enum;

struct cfg_entry;
typedef int (*custom_set_fn)(config *cfg, dstr *argv, int argc, char *err, size_t errlen);
typedef dstr (*custom_get_fn)(const config *cfg);

typedef struct cfg_entry {
    const char *name;
    const char *alias;
    enum cfg_kind kind;
    size_t offset;
    const char *def;
    long long min, max;
    const cfg_enum *enums;
    int flags;
    custom_set_fn set;
    custom_get_fn get;
} cfg_entry;

static const cfg_enum loglevel_enum[] = {{"debug", LL_DEBUG},     {"verbose", LL_VERBOSE},
                                         {"notice", LL_NOTICE},   {"warning", LL_WARNING},
                                         {NULL, 0}};
static const cfg_enum debugcmd_enum[] = {
    {"no", DEBUG_CMD_NO}, {"yes", DEBUG_CMD_YES}, {"local", DEBUG_CMD_LOCAL}, {NULL, 0}};
static const cfg_enum protected_enum[] = {
    {"no", PROTECTED_NO}, {"yes", PROTECTED_YES}, {"local", PROTECTED_LOCAL}, {NULL, 0}};
static const cfg_enum diskless_load_enum[] = {
    {"disabled", 0}, {"on-empty-db", 1}, {"swapdb", 2}, {NULL, 0}};

#define OFF(field) offsetof(config, field)

static int set_bind(config *cfg, dstr *argv, int argc, char *err, size_t errlen);
static dstr get_bind(const config *cfg);
static int set_save(config *cfg, dstr *argv, int argc, char *err, size_t errlen);
static dstr get_save(const config *cfg);
static int set_obuf(config *cfg, dstr *argv, int argc, char *err, size_t errlen);
static dstr get_obuf(const config *cfg);
static int set_replicaof(config *cfg, dstr *argv, int argc, char *err, size_t errlen);
static dstr get_replicaof(const config *cfg);
static int set_sockperm(config *cfg, dstr *argv, int argc, char *err, size_t errlen);
static dstr get_sockperm(const config *cfg);
static int set_dir(config *cfg, dstr *argv, int argc, char *err, size_t errlen);
static dstr get_dir(const config *cfg);

static const cfg_entry table[] = {
    {"bind", NULL, K_CUSTOM, 0, "* -::*", 0, 0, NULL, F_IMMUTABLE, set_bind, get_bind},
    {"port", NULL, K_INT, OFF(port), "6379", 0, 65535, NULL, F_IMMUTABLE, NULL, NULL},
    {"unixsocket", NULL, K_STR, OFF(unixsocket), NULL, 0, 0, NULL, F_IMMUTABLE, NULL, NULL},
    {"unixsocketperm", NULL, K_CUSTOM, 0, "0", 0, 0, NULL, F_IMMUTABLE, set_sockperm,
     get_sockperm},
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
    {"logfile", NULL, K_STR, OFF(logfile), "", 0, 0, NULL, F_IMMUTABLE, NULL, NULL},
    {"pidfile", NULL, K_STR, OFF(pidfile), NULL, 0, 0, NULL, F_IMMUTABLE, NULL, NULL},
    {"dir", NULL, K_CUSTOM, 0, NULL, 0, 0, NULL, F_PROTECTED, set_dir, get_dir},
    {"dbfilename", NULL, K_STR, OFF(dbfilename), "dump.rdb", 0, 0, NULL, F_PROTECTED, NULL,
     NULL},
    {"save", NULL, K_CUSTOM, 0, "3600 1 300 100 60 10000", 0, 0, NULL, 0, set_save, get_save},
    {"enable-debug-command", NULL, K_ENUM, OFF(enable_debug_command), "no", 0, 0,
     debugcmd_enum, F_IMMUTABLE, NULL, NULL},
    {"enable-protected-configs", NULL, K_ENUM, OFF(enable_protected_configs), "no", 0, 0,
     protected_enum, F_IMMUTABLE, NULL, NULL},
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
    {"daemonize", NULL, K_BOOL, OFF(daemonize), "no", 0, 0, NULL, F_IMMUTABLE, NULL, NULL},
    {"active-expire-effort", NULL, K_INT, OFF(active_expire_effort), "1", 1, 10, NULL, 0, NULL,
     NULL},
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
    {"masteruser", NULL, K_STR, OFF(masteruser), NULL, 0, 0, NULL, 0, NULL, NULL},
    {"replica-announce-ip", "slave-announce-ip", K_STR, OFF(replica_announce_ip), NULL, 0, 0,
     NULL, 0, NULL, NULL},
    {"replica-announce-port", "slave-announce-port", K_INT, OFF(replica_announce_port), "0", 0,
     65535, NULL, 0, NULL, NULL},
    {"replica-read-only", "slave-read-only", K_BOOL, OFF(replica_read_only), "yes", 0, 0, NULL,
     0, NULL, NULL},
    {"replica-serve-stale-data", "slave-serve-stale-data", K_BOOL,
     OFF(replica_serve_stale_data), "yes", 0, 0, NULL, 0, NULL, NULL},
    {"replica-priority", "slave-priority", K_INT, OFF(replica_priority), "100", 0, INT_MAX, NULL,
     0, NULL, NULL},
    {"client-output-buffer-limit", NULL, K_CUSTOM, 0,
     "normal 0 0 0 slave 268435456 67108864 60 pubsub 33554432 8388608 60", 0, 0, NULL, 0,
     set_obuf, get_obuf},
    {"replicaof", "slaveof", K_CUSTOM, 0, NULL, 0, 0, NULL, F_IMMUTABLE, set_replicaof,
     get_replicaof},
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
    {"lazyfree-lazy-user-del", NULL, K_BOOL, OFF(lazyfree_lazy_user_del), "no", 0, 0, NULL, 0,
     NULL, NULL},
    {"lazyfree-lazy-user-flush", NULL, K_BOOL, OFF(lazyfree_lazy_user_flush), "no", 0, 0, NULL,
     0, NULL, NULL},
    {NULL, NULL, 0, 0, NULL, 0, 0, NULL, 0, NULL, NULL},
};


static config_apply_fn apply_hook;
static void *apply_priv;

void config_set_apply_hook(config_apply_fn fn, void *priv) {
    apply_hook = fn;
    apply_priv = priv;
}

static const cfg_entry *find_entry(const char *name) {
    for (const cfg_entry *e = table; e->name; e++) {
        if (!strcasecmp(e->name, name) || (e->alias && !strcasecmp(e->alias, name))) return e;
    }
    return NULL;
}

/* The table's spelling of the name or alias `name` matched: Redis names
 * a failed value by its config, which for an alias is the alias. */
static const char *entry_spelling(const cfg_entry *e, const char *name) {
    return e->alias && !strcasecmp(e->alias, name) ? e->alias : e->name;
}

static void fmt_err(char *err, size_t errlen, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

static int parse_bool(const char *v, int *out) {
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

static int parse_number(const cfg_entry *e, const char *v, long long *out, char *err,
                        size_t errlen) {
    long long n;
    if (e->kind == K_MEM) {
        unsigned long long u;
        if (!util_mem_to_ull(v, &u) || u > (unsigned long long)LLONG_MAX) {
            /* Redis also accepts a plain negative for some memory fields;
             * none of ours. */
            fmt_err(err, errlen, "argument must be a memory value");
            return -1;
        }
        n = (long long)u;
    } else {
        if (!util_str_to_ll(v, strlen(v), &n)) {
            fmt_err(err, errlen, "argument couldn't be parsed into an integer");
            return -1;
        }
    }
    if (n < e->min || n > e->max) {
        if (e->kind == K_MEM)
            fmt_err(err, errlen, "argument must be between %lld and %lld inclusive", e->min,
                    e->max);
        else
            fmt_err(err, errlen, "argument must be between %lld and %lld inclusive", e->min,
                    e->max);
        return -1;
    }
    *out = n;
    return 0;
}

/* Parse and store one directive from split arguments (argv[0] is the
 * name). `from_file` relaxes nothing today but keeps errors phrased for
 * the context. */
static int apply_directive(config *cfg, const cfg_entry *e, dstr *argv, int argc, char *err,
                           size_t errlen) {
    char *base = (char *)cfg;
    if (e->kind == K_CUSTOM) {
        /* Multi-argument directives also accept their arguments as one
         * space-separated string ("--save '900 1'", CONFIG SET save "900 1"),
         * as Redis 7.0 does. */
        int multi = !strcmp(e->name, "save") || !strcmp(e->name, "bind") ||
                    !strcmp(e->name, "client-output-buffer-limit");
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
    if (argc != 2) {
        fmt_err(err, errlen, "wrong number of arguments");
        return -1;
    }
    const char *v = argv[1];
    switch (e->kind) {
    case K_BOOL: {
        int b;
        if (parse_bool(v, &b) < 0) {
            fmt_err(err, errlen, "argument must be 'yes' or 'no'");
            return -1;
        }
        *(int *)(base + e->offset) = b;
        return 0;
    }
    case K_INT:
    case K_LL:
    case K_MEM: {
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
            *(int *)(base + e->offset) = (int)n;
        else
            *(long long *)(base + e->offset) = n;
        return 0;
    }
    case K_STR: {
        char **slot = (char **)(base + e->offset);
        mem_free(*slot);
        *slot = dstr_len(argv[1]) || !strcmp(e->name, "logfile") || !strcmp(e->name, "dir")
                    ? mem_strdup(v)
                    : NULL;
        return 0;
    }
    case K_ENUM:
        for (const cfg_enum *en = e->enums; en->name; en++) {
            if (!strcasecmp(en->name, v)) {
                *(int *)(base + e->offset) = en->value;
                return 0;
            }
        }
        {
            dstr list = dstr_empty();
            for (const cfg_enum *en = e->enums; en->name; en++) {
                if (dstr_len(list)) list = dstr_cats(list, ", ");
                list = dstr_cats(list, en->name);
            }
            fmt_err(err, errlen, "argument(s) must be one of the following: %s", list);
            dstr_free(list);
        }
        return -1;
    case K_CUSTOM: break;
    }
    return -1;
}

static dstr value_string(const config *cfg, const cfg_entry *e) {
    const char *base = (const char *)cfg;
    switch (e->kind) {
    case K_BOOL: return dstr_from(*(const int *)(base + e->offset) ? "yes" : "no");
    case K_INT: return dstr_from_ll(*(const int *)(base + e->offset));
    case K_LL:
    case K_MEM: return dstr_from_ll(*(const long long *)(base + e->offset));
    case K_STR: {
        const char *s = *(char *const *)(base + e->offset);
        return dstr_from(s ? s : "");
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

/* ---- custom directives ---- */

static int set_bind(config *cfg, dstr *argv, int argc, char *err, size_t errlen) {
    if (argc < 1 || argc > CONFIG_MAX_BIND) {
        fmt_err(err, errlen, "Too many bind addresses specified.");
        return -1;
    }
    for (int i = 0; i < cfg->nbind; i++) mem_free(cfg->bind[i]);
    cfg->nbind = 0;
    for (int i = 0; i < argc; i++) cfg->bind[cfg->nbind++] = mem_strdup(argv[i]);
    return 0;
}

static dstr get_bind(const config *cfg) {
    dstr s = dstr_empty();
    for (int i = 0; i < cfg->nbind; i++) {
        if (i) s = dstr_cats(s, " ");
        s = dstr_cats(s, cfg->bind[i]);
    }
    return s;
}

static int set_save(config *cfg, dstr *argv, int argc, char *err, size_t errlen) {
    /* `save ""` clears every save point; otherwise pairs of numbers. */
    if (argc == 1 && dstr_len(argv[0]) == 0) {
        cfg->nsave = 0;
        return 0;
    }
    if (argc == 0 || argc % 2) {
        fmt_err(err, errlen, "Invalid save parameters");
        return -1;
    }
    save_param tmp[CONFIG_MAX_SAVEPARAMS];
    int n = 0;
    for (int i = 0; i < argc; i += 2) {
        long long secs, changes;
        if (!util_str_to_ll(argv[i], dstr_len(argv[i]), &secs) ||
            !util_str_to_ll(argv[i + 1], dstr_len(argv[i + 1]), &changes) || secs < 1 ||
            changes < 0 || n == CONFIG_MAX_SAVEPARAMS) {
            fmt_err(err, errlen, "Invalid save parameters");
            return -1;
        }
        tmp[n].seconds = secs;
        tmp[n].changes = changes;
        n++;
    }
    memcpy(cfg->save, tmp, sizeof(tmp[0]) * (size_t)n);
    cfg->nsave = n;
    return 0;
}

static dstr get_save(const config *cfg) {
    dstr s = dstr_empty();
    for (int i = 0; i < cfg->nsave; i++)
        s = dstr_catfmt(s, "%s%lld %lld", i ? " " : "", cfg->save[i].seconds,
                        cfg->save[i].changes);
    return s;
}

static int set_obuf(config *cfg, dstr *argv, int argc, char *err, size_t errlen) {
    if (argc == 0 || argc % 4) {
        fmt_err(err, errlen, "Wrong number of arguments in buffer limit configuration.");
        return -1;
    }
    for (int i = 0; i < argc; i += 4) {
        client_obuf_limit *l;
        if (!strcasecmp(argv[i], "normal"))
            l = &cfg->obuf_normal;
        else if (!strcasecmp(argv[i], "replica") || !strcasecmp(argv[i], "slave"))
            l = &cfg->obuf_replica;
        else if (!strcasecmp(argv[i], "pubsub"))
            l = &cfg->obuf_pubsub;
        else {
            fmt_err(err, errlen, "Invalid client class specified in buffer limit configuration.");
            return -1;
        }
        unsigned long long hard, soft;
        long long secs;
        if (!util_mem_to_ull(argv[i + 1], &hard) || !util_mem_to_ull(argv[i + 2], &soft) ||
            !util_str_to_ll(argv[i + 3], dstr_len(argv[i + 3]), &secs) || secs < 0) {
            fmt_err(err, errlen, "Error in hard, soft or soft_seconds setting in buffer limit "
                                 "configuration.");
            return -1;
        }
        l->hard = (long long)hard;
        l->soft = (long long)soft;
        l->soft_seconds = secs;
    }
    return 0;
}

static dstr get_obuf(const config *cfg) {
    return dstr_catfmt(dstr_empty(), "normal %lld %lld %lld slave %lld %lld %lld pubsub %lld %lld %lld",
                       cfg->obuf_normal.hard, cfg->obuf_normal.soft, cfg->obuf_normal.soft_seconds,
                       cfg->obuf_replica.hard, cfg->obuf_replica.soft,
                       cfg->obuf_replica.soft_seconds, cfg->obuf_pubsub.hard,
                       cfg->obuf_pubsub.soft, cfg->obuf_pubsub.soft_seconds);
}

static int set_replicaof(config *cfg, dstr *argv, int argc, char *err, size_t errlen) {
    if (argc != 2) {
        fmt_err(err, errlen, "wrong number of arguments");
        return -1;
    }
    mem_free(cfg->replicaof_host);
    cfg->replicaof_host = NULL;
    cfg->replicaof_port = 0;
    if (!strcasecmp(argv[0], "no") && !strcasecmp(argv[1], "one")) return 0;
    long long port;
    if (!util_str_to_ll(argv[1], dstr_len(argv[1]), &port) || port < 0 || port > 65535) {
        fmt_err(err, errlen, "Invalid master port");
        return -1;
    }
    cfg->replicaof_host = mem_strdup(argv[0]);
    cfg->replicaof_port = (int)port;
    return 0;
}

static dstr get_replicaof(const config *cfg) {
    if (!cfg->replicaof_host) return dstr_empty();
    return dstr_catfmt(dstr_empty(), "%s %d", cfg->replicaof_host, cfg->replicaof_port);
}

static int set_sockperm(config *cfg, dstr *argv, int argc, char *err, size_t errlen) {
    char *end;
    if (argc != 1) {
        fmt_err(err, errlen, "wrong number of arguments");
        return -1;
    }
    errno = 0;
    long v = strtol(argv[0], &end, 8);
    if (errno || *end || v < 0 || v > 0777) {
        fmt_err(err, errlen, "Invalid socket file permissions");
        return -1;
    }
    cfg->unixsocketperm = (int)v;
    return 0;
}

static dstr get_sockperm(const config *cfg) {
    return dstr_catfmt(dstr_empty(), "%o", cfg->unixsocketperm);
}

static int set_dir(config *cfg, dstr *argv, int argc, char *err, size_t errlen) {
    if (argc != 1) {
        fmt_err(err, errlen, "wrong number of arguments");
        return -1;
    }
    if (chdir(argv[0]) == -1) {
        fmt_err(err, errlen, "%s", strerror(errno));
        return -1;
    }
    mem_free(cfg->dir);
    cfg->dir = mem_strdup(argv[0]);
    return 0;
}

static dstr get_dir(const config *cfg) {
    char buf[PATH_MAX];
    (void)cfg;
    if (!getcwd(buf, sizeof(buf))) return dstr_empty();
    return dstr_from(buf);
}

/* ---- defaults, loading ---- */

static void set_default(config *cfg, const cfg_entry *e) {
    char err[256];
    if (!strcmp(e->name, "dir")) return; /* the working directory is the default */
    if (e->kind == K_STR) {
        char **slot = (char **)((char *)cfg + e->offset);
        mem_free(*slot);
        *slot = e->def ? mem_strdup(e->def) : NULL;
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
    for (const cfg_entry *e = table; e->name; e++) set_default(cfg, e);
}

void config_free(config *cfg) {
    for (int i = 0; i < cfg->nbind; i++) mem_free(cfg->bind[i]);
    for (const cfg_entry *e = table; e->name; e++) {
        if (e->kind == K_STR) mem_free(*(char **)((char *)cfg + e->offset));
    }
    mem_free(cfg->dir);
    mem_free(cfg->replicaof_host);
    memset(cfg, 0, sizeof(*cfg));
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
    const cfg_entry *e = find_entry(argv[0]);
    if (e) return apply_directive(cfg, e, argv, argc, err, errlen);
    const absent_directive *a = absent_find(argv[0], 1);
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

void config_get(const config *cfg, const char *pattern, config_emit_fn emit, void *priv) {
    size_t plen = strlen(pattern);
    /* As in Redis 7.0, a name and its alias are two configs sharing a
     * value: `*` lists both. A hidden one needs its exact name. */
    for (const cfg_entry *e = table; e->name; e++) {
        int by_name, by_alias = 0;
        if (e->flags & F_HIDDEN) {
            by_name = !strcasecmp(pattern, e->name);
        } else {
            by_name = util_glob_match(pattern, plen, e->name, strlen(e->name), 1);
            by_alias = e->alias && util_glob_match(pattern, plen, e->alias, strlen(e->alias), 1);
        }
        if (!by_name && !by_alias) continue;
        dstr v = value_string(cfg, e);
        if (by_name) emit(priv, e->name, v);
        if (by_alias) emit(priv, e->alias, v);
        dstr_free(v);
    }
    absent_get_matching(pattern, emit, priv);
}

/* Parse and store one value, with no hook: the first half of a CONFIG
 * SET, and how a rollback puts an old value back. */
static int set_value(config *cfg, const cfg_entry *e, const char *value, char *err,
                     size_t errlen) {
    int argc = 0;
    dstr *args;
    if (e->kind == K_CUSTOM) {
        args = split_args(value, strlen(value), &argc);
        if (!args) {
            fmt_err(err, errlen, "Unbalanced quotes");
            return -1;
        }
        if (argc == 0 && !strcmp(e->name, "save")) {
            /* CONFIG SET save "" */
            mem_free(args);
            args = mem_alloc(sizeof(dstr));
            args[0] = dstr_empty();
            argc = 1;
        }
    } else {
        args = mem_alloc(sizeof(dstr));
        args[0] = dstr_from(value);
        argc = 1;
    }
    dstr *full = mem_alloc(sizeof(dstr) * (size_t)(argc + 1));
    full[0] = dstr_from(e->name);
    for (int i = 0; i < argc; i++) full[i + 1] = args[i];
    int rc = apply_directive(cfg, e, full, argc + 1, err, errlen);
    dstr_free(full[0]);
    mem_free(full);
    split_args_free(args, argc);
    return rc;
}

/* One directive of a CONFIG SET: a row of either table. */
typedef struct set_target {
    const cfg_entry *e;
    const absent_directive *a;
    const char *spelling;
    dstr old;
} set_target;

static int target_store(config *cfg, const set_target *t, const char *value, char *err,
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

int config_set_many(config *cfg, char *const *names, char *const *values, int n,
                    int allow_protected, config_set_error *res) {
    memset(res, 0, sizeof(*res));
    set_target *t = mem_calloc(sizeof(set_target) * (size_t)(n ? n : 1));
    int invalid = 0, rc = -1;
    /* Redis 7.0's first pass, in its order: the first unknown name wins
     * unless an earlier pair already failed; a later pair is not looked
     * at once one has. */
    for (int i = 0; i < n; i++) {
        t[i].e = find_entry(names[i]);
        t[i].a = t[i].e ? NULL : absent_find(names[i], 0);
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
        t[i].old = t[i].e ? value_string(cfg, t[i].e) : absent_get(t[i].a);
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

int config_set(config *cfg, const char *name, const char *value, int *unknown, char *err,
               size_t errlen) {
    config_set_error res;
    char *names[1] = {(char *)name}, *values[1] = {(char *)value};
    int rc = config_set_many(cfg, names, values, 1, 1, &res);
    *unknown = res.unknown;
    if (rc < 0) fmt_err(err, errlen, "%s", res.msg);
    return rc;
}

/* Quote a value the way the config file reader splits it back. */
static dstr quote_arg(dstr out, const char *v) {
    size_t n = strlen(v);
    int plain = n > 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)v[i];
        if (ch <= ' ' || ch == '"' || ch == '\'' || ch == '\\' || ch >= 127) plain = 0;
    }
    if (plain) return dstr_cat(out, v, n);
    out = dstr_cats(out, "\"");
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)v[i];
        if (ch == '"' || ch == '\\')
            out = dstr_catfmt(out, "\\%c", ch);
        else if (ch < ' ' || ch >= 127)
            out = dstr_catfmt(out, "\\x%02x", ch);
        else
            out = dstr_cat(out, &v[i], 1);
    }
    return dstr_cats(out, "\"");
}

static dstr directive_line(const config *cfg, const cfg_entry *e) {
    dstr line = dstr_from(e->name);
    dstr v = value_string(cfg, e);
    line = dstr_cats(line, " ");
    if (e->kind == K_CUSTOM && strcmp(e->name, "dir") != 0) {
        if (!strcmp(e->name, "save") && dstr_len(v) == 0)
            line = dstr_cats(line, "\"\"");
        else
            line = dstr_catd(line, v);
    } else {
        line = quote_arg(line, v);
    }
    dstr_free(v);
    return line;
}

int config_rewrite(const config *cfg, const char *path, char *err, size_t errlen) {
    /* Keep every line that is not a directive we own (comments, unknown
     * lines, include); replace the first occurrence of each owned directive
     * with its current value and drop repeats; append the ones that differ
     * from their default and were not in the file. */
    dstr old = dstr_empty();
    FILE *f = fopen(path, "r");
    if (f) {
        char buf[8192];
        size_t n;
        while ((n = fread(buf, 1, sizeof(buf), f)) > 0) old = dstr_cat(old, buf, n);
        fclose(f);
    }
    size_t nent = 0;
    while (table[nent].name) nent++;
    char *written = mem_calloc(nent);
    dstr out = dstr_empty();
    size_t pos = 0, len = dstr_len(old);
    while (pos < len) {
        size_t end = pos;
        while (end < len && old[end] != '\n') end++;
        const char *line = old + pos;
        size_t llen = end - pos;
        pos = end + 1;
        int argc = 0;
        dstr *argv = NULL;
        const char *p = line;
        size_t plen = llen;
        while (plen && (*p == ' ' || *p == '\t')) {
            p++;
            plen--;
        }
        if (plen && *p != '#') argv = split_args(p, plen, &argc);
        const cfg_entry *e = (argv && argc) ? find_entry(argv[0]) : NULL;
        if (e) {
            size_t idx = (size_t)(e - table);
            if (!written[idx]) {
                dstr dl = directive_line(cfg, e);
                out = dstr_catd(out, dl);
                out = dstr_cats(out, "\n");
                dstr_free(dl);
                written[idx] = 1;
            }
        } else {
            out = dstr_cat(out, line, llen);
            out = dstr_cats(out, "\n");
        }
        if (argv) split_args_free(argv, argc);
    }
    config defaults;
    config_defaults(&defaults);
    int header = 0;
    for (size_t i = 0; i < nent; i++) {
        if (written[i]) continue;
        dstr cur = value_string(cfg, &table[i]);
        dstr def = value_string(&defaults, &table[i]);
        int differs = strcmp(cur, def) != 0 && strcmp(table[i].name, "dir") != 0;
        dstr_free(cur);
        dstr_free(def);
        if (!differs) continue;
        if (!header) {
            out = dstr_cats(out, "# Generated by CONFIG REWRITE\n");
            header = 1;
        }
        dstr dl = directive_line(cfg, &table[i]);
        out = dstr_catd(out, dl);
        out = dstr_cats(out, "\n");
        dstr_free(dl);
    }
    config_free(&defaults);
    mem_free(written);
    dstr_free(old);

    /* Write a temp file and rename it so a crash never leaves half a
     * config behind. */
    dstr tmp = dstr_catfmt(dstr_empty(), "%s.tmp-%d", path, (int)getpid());
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    int rc = -1;
    if (fd >= 0) {
        size_t off = 0, total = dstr_len(out);
        while (off < total) {
            ssize_t w = write(fd, out + off, total - off);
            if (w <= 0) break;
            off += (size_t)w;
        }
        if (off == total && fsync(fd) == 0 && close(fd) == 0) {
            fd = -1;
            if (rename(tmp, path) == 0) rc = 0;
        }
        if (fd >= 0) close(fd);
    }
    if (rc < 0) {
        fmt_err(err, errlen, "Rewriting config file: %s", strerror(errno));
        unlink(tmp);
    }
    dstr_free(tmp);
    dstr_free(out);
    return rc;
}
