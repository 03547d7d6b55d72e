/* config_absent: see config_absent.h.
 *
 * The rule: a value is refused only when accepting it would make
 * Ringmaster behave differently from what the operator asked, in what a
 * client or the operator can observe: the data kept, the replies, what
 * reaches the disk or the network. Tuning an absent mechanism changes
 * none of that (Ringmaster behaves as Redis does with the default), so it
 * loads with a warning. Asking for a feature does:
 *   refused  appendonly yes (no AOF: writes would not be logged),
 *            maxmemory-policy *-lfu (OBJECT FREQ/IDLETIME answer as
 *            without LFU), maxmemory-clients (no client eviction),
 *            aclfile, user, loadmodule, rename-command (the users, module
 *            or renamed command would be missing: a security change),
 *            cluster-enabled, tls-cluster, syslog-enabled
 *            (the log would not go there), socket-mark-id and
 *            bind-source-addr (packets would leave unmarked or from another
 *            address), rdb-del-sync-files yes (a replication RDB
 *            would stay on disk).
 *   accepted  everything else, among them maxmemory-policy's other policies (maxmemory must be 0, and
 *            then none evicts), lazyfree-lazy-eviction, -expire
 *            and -server-del (those values are freed inline, which only
 *            takes longer), activerehashing,
 *            activedefrag, jemalloc-bg-thread, io-threads, oom-score-adj,
 *            disable-thp, supervised, always-show-logo, set-proc-title,
 *            crash-log-enabled, enable-module-command (there is no module
 *            to load), *_cpulist.
 * protected-mode is not here: it is implemented (server.c).
 *
 * The table says, for each directive, Redis 7.0's compiled default (what a
 * bare redis-server reports in CONFIG GET), how a value is checked (so a
 * bad one gets Redis's own error text), and whether a non-default value is
 * refused. The values given are kept for CONFIG GET in an array parallel
 * to the table (not a dict: the config loads before the keyspace's hash
 * seed is drawn), process-wide because only the keyspace thread loads the
 * config and runs CONFIG. */
#include "core/config_absent.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "core/log.h"
#include "core/util.h"

enum absent_kind { A_ANY, A_BOOL, A_INT, A_ENUM };
enum {
    A_STRICT = 1,    /* only the default: another value needs the feature */
    A_IMMUTABLE = 2, /* CONFIG SET refuses it, as Redis does */
    A_FILE_ONLY = 4, /* a file directive, not a config: always refused */
};

struct absent_directive {
    const char *name;
    const char *alias;
    const char *def;
    enum absent_kind kind;
    int flags;
    const char *choices; /* A_ENUM: the words Redis accepts, ", "-separated */
};

#define S A_STRICT
#define I A_IMMUTABLE

static const absent_directive table[] = {
    /* persistence: AOF */
    {"appendonly", NULL, "no", A_BOOL, S, NULL},
    {"appendfilename", NULL, "appendonly.aof", A_ANY, I, NULL},
    {"appenddirname", NULL, "appendonlydir", A_ANY, I, NULL},
    {"appendfsync", NULL, "everysec", A_ENUM, 0, "always, everysec, no"},
    {"no-appendfsync-on-rewrite", NULL, "no", A_BOOL, 0, NULL},
    {"auto-aof-rewrite-percentage", NULL, "100", A_INT, 0, NULL},
    {"auto-aof-rewrite-min-size", NULL, "67108864", A_ANY, 0, NULL},
    {"aof-load-truncated", NULL, "yes", A_BOOL, 0, NULL},
    {"aof-use-rdb-preamble", NULL, "yes", A_BOOL, 0, NULL},
    {"aof-timestamp-enabled", NULL, "no", A_BOOL, 0, NULL},
    {"aof-rewrite-incremental-fsync", NULL, "yes", A_BOOL, 0, NULL},
    {"aof-disable-auto-gc", NULL, "no", A_BOOL, 0, NULL},
    {"aof_rewrite_cpulist", NULL, "", A_ANY, I, NULL},
    /* persistence: RDB details */
    {"sanitize-dump-payload", NULL, "no", A_ENUM, 0, "no, yes, clients"},
    {"rdb-del-sync-files", NULL, "no", A_BOOL, S, NULL},
    {"rdb-save-incremental-fsync", NULL, "yes", A_BOOL, 0, NULL},
    {"bgsave_cpulist", NULL, "", A_ANY, I, NULL},
    /* memory policy: maxmemory itself is in config.c (only 0) */
    {"maxmemory-policy", NULL, "noeviction", A_ENUM, 0,
     "volatile-lru, volatile-lfu, volatile-random, volatile-ttl, allkeys-lru, allkeys-lfu, "
     "allkeys-random, noeviction"},
    {"maxmemory-samples", NULL, "5", A_INT, 0, NULL},
    {"maxmemory-eviction-tenacity", NULL, "10", A_INT, 0, NULL},
    {"maxmemory-clients", NULL, "0", A_ANY, S, NULL},
    {"replica-ignore-maxmemory", "slave-ignore-maxmemory", "yes", A_BOOL, 0, NULL},
    {"lfu-log-factor", NULL, "10", A_INT, 0, NULL},
    {"lfu-decay-time", NULL, "1", A_INT, 0, NULL},
    {"lazyfree-lazy-eviction", NULL, "no", A_BOOL, 0, NULL},
    {"lazyfree-lazy-expire", NULL, "no", A_BOOL, 0, NULL},
    {"lazyfree-lazy-server-del", NULL, "no", A_BOOL, 0, NULL},
    {"activedefrag", NULL, "no", A_BOOL, 0, NULL},
    {"active-defrag-threshold-lower", NULL, "10", A_INT, 0, NULL},
    {"active-defrag-threshold-upper", NULL, "100", A_INT, 0, NULL},
    {"active-defrag-cycle-min", NULL, "1", A_INT, 0, NULL},
    {"active-defrag-cycle-max", NULL, "25", A_INT, 0, NULL},
    {"active-defrag-ignore-bytes", NULL, "104857600", A_ANY, 0, NULL},
    {"active-defrag-max-scan-fields", NULL, "1000", A_INT, 0, NULL},
    {"jemalloc-bg-thread", NULL, "yes", A_BOOL, 0, NULL},
    {"activerehashing", NULL, "yes", A_BOOL, 0, NULL},
    {"dynamic-hz", NULL, "yes", A_BOOL, 0, NULL},
    {"oom-score-adj", NULL, "no", A_ENUM, 0, "no, yes, relative, absolute"},
    {"oom-score-adj-values", NULL, "0 200 800", A_ANY, 0, NULL},
    {"disable-thp", NULL, "yes", A_BOOL, I, NULL},
    /* scripting, modules, ACL */
    {"lua-time-limit", NULL, "5000", A_INT, 0, NULL},
    {"busy-reply-threshold", NULL, "5000", A_INT, 0, NULL},
    {"enable-module-command", NULL, "no", A_ENUM, I, "no, yes, local"},
    {"aclfile", NULL, "", A_ANY, S | I, NULL},
    {"acllog-max-len", NULL, "128", A_INT, 0, NULL},
    {"acl-pubsub-default", NULL, "resetchannels", A_ENUM, 0, "allchannels, resetchannels"},
    {"loadmodule", NULL, "", A_ANY, A_FILE_ONLY, NULL},
    {"rename-command", NULL, "", A_ANY, A_FILE_ONLY, NULL},
    {"user", NULL, "", A_ANY, A_FILE_ONLY, NULL},
    /* process, network, logging */
    {"supervised", NULL, "no", A_ENUM, I, "upstart, systemd, auto, no"},
    {"always-show-logo", NULL, "no", A_BOOL, I, NULL},
    {"set-proc-title", NULL, "yes", A_BOOL, I, NULL},
    {"proc-title-template", NULL, "{title} {listen-addr} {server-mode}", A_ANY, 0, NULL},
    {"io-threads", NULL, "1", A_INT, I, NULL},
    {"io-threads-do-reads", NULL, "no", A_BOOL, I, NULL},
    {"server_cpulist", NULL, "", A_ANY, I, NULL},
    {"bio_cpulist", NULL, "", A_ANY, I, NULL},
    {"socket-mark-id", NULL, "0", A_INT, S | I, NULL},
    {"bind-source-addr", NULL, "", A_ANY, S, NULL},
    {"syslog-enabled", NULL, "no", A_BOOL, S | I, NULL},
    {"syslog-ident", NULL, "redis", A_ANY, I, NULL},
    {"syslog-facility", NULL, "local0", A_ANY, I, NULL},
    {"crash-log-enabled", NULL, "yes", A_BOOL, 0, NULL},
    {"crash-memcheck-enabled", NULL, "yes", A_BOOL, 0, NULL},
    {"ignore-warnings", NULL, "", A_ANY, 0, NULL},
    /* replication extras */
    {"replica-announced", NULL, "yes", A_BOOL, 0, NULL},
    {"replica-ignore-disk-write-errors", NULL, "no", A_BOOL, 0, NULL},
    /* cluster */
    {"cluster-enabled", NULL, "no", A_BOOL, S | I, NULL},
    {"cluster-config-file", NULL, "nodes.conf", A_ANY, I, NULL},
    {"cluster-port", NULL, "0", A_INT, I, NULL},
    {"cluster-node-timeout", NULL, "15000", A_INT, 0, NULL},
    {"cluster-announce-ip", NULL, "", A_ANY, 0, NULL},
    {"cluster-announce-hostname", NULL, "", A_ANY, 0, NULL},
    {"cluster-announce-port", NULL, "0", A_INT, 0, NULL},
    {"cluster-announce-bus-port", NULL, "0", A_INT, 0, NULL},
    {"cluster-announce-tls-port", NULL, "0", A_INT, 0, NULL},
    {"cluster-allow-pubsubshard-when-down", NULL, "yes", A_BOOL, 0, NULL},
    {"cluster-allow-reads-when-down", NULL, "no", A_BOOL, 0, NULL},
    {"cluster-allow-replica-migration", NULL, "yes", A_BOOL, 0, NULL},
    {"cluster-link-sendbuf-limit", NULL, "0", A_ANY, 0, NULL},
    {"cluster-migration-barrier", NULL, "1", A_INT, 0, NULL},
    {"cluster-preferred-endpoint-type", NULL, "ip", A_ENUM, 0, "ip, hostname, unknown-endpoint"},
    {"cluster-replica-no-failover", "cluster-slave-no-failover", "no", A_BOOL, 0, NULL},
    {"cluster-replica-validity-factor", "cluster-slave-validity-factor", "10", A_INT, 0, NULL},
    {"cluster-require-full-coverage", NULL, "yes", A_BOOL, 0, NULL},
    /* TLS: clients and the replication link have it (config.c); the
     * cluster bus does not exist. */
    {"tls-cluster", NULL, "no", A_BOOL, S, NULL},
    {NULL, NULL, NULL, A_ANY, 0, NULL},
};

#undef S
#undef I

/* Tuning directives of which some values, not all, ask for the feature. */
static const struct {
    const char *name;
    const char *values; /* ", "-separated, as A_ENUM choices */
    const char *why;
} refused_values[] = {
    /* With maxmemory 0 (the only one accepted) no policy evicts, but an
     * LFU one also changes OBJECT FREQ and OBJECT IDLETIME's answers. */
    {"maxmemory-policy", "volatile-lfu, allkeys-lfu", "LFU access tracking"},
    {NULL, NULL, NULL},
};

#define N_ABSENT (sizeof(table) / sizeof(table[0]))
static dstr given_values[N_ABSENT]; /* NULL: never given, the default holds */

const absent_directive *absent_find(const char *name, int from_file) {
    for (const absent_directive *a = table; a->name; a++) {
        if (strcasecmp(a->name, name) && !(a->alias && !strcasecmp(a->alias, name))) continue;
        if ((a->flags & A_FILE_ONLY) && !from_file) return NULL;
        return a;
    }
    return NULL;
}

const char *absent_spelling(const absent_directive *a, const char *name) {
    return a->alias && !strcasecmp(a->alias, name) ? a->alias : a->name;
}

int absent_is_immutable(const absent_directive *a) { return (a->flags & A_IMMUTABLE) != 0; }

static int choice_ok(const char *choices, const char *v) {
    size_t n = strlen(v);
    const char *p = choices;
    while (*p) {
        const char *end = strchr(p, ',');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        if (len == n && !strncasecmp(p, v, n)) return 1;
        if (!end) break;
        p = end + 1;
        while (*p == ' ') p++;
    }
    return 0;
}

/* Redis's own error for a value of the wrong shape, so a typo reads the
 * same as on Redis; then the refusal of a value that needs the feature. */
static int check_value(const absent_directive *a, const dstr v, char *err, size_t errlen) {
    long long n;
    /* A word or a number never holds a NUL: without this "yes\0x" would
     * pass for "yes". A free-form value keeps its bytes. */
    int cstr = memchr(v, '\0', dstr_len(v)) == NULL;
    switch (a->kind) {
    case A_BOOL:
        if (!cstr || (strcasecmp(v, "yes") && strcasecmp(v, "no"))) {
            snprintf(err, errlen, "argument must be 'yes' or 'no'");
            return -1;
        }
        break;
    case A_INT:
        if (!util_str_to_ll(v, dstr_len(v), &n)) {
            snprintf(err, errlen, "argument couldn't be parsed into an integer");
            return -1;
        }
        break;
    case A_ENUM:
        if (!cstr || !choice_ok(a->choices, v)) {
            snprintf(err, errlen, "argument(s) must be one of the following: %s", a->choices);
            return -1;
        }
        break;
    case A_ANY: break;
    }
    if ((a->flags & A_STRICT) && (!cstr || strcasecmp(v, a->def))) {
        snprintf(err, errlen,
                 "'%s %s' needs a feature Ringmaster does not implement (only '%s' is supported)",
                 a->name, v, a->def);
        return -1;
    }
    for (int i = 0; refused_values[i].name; i++) {
        if (strcmp(refused_values[i].name, a->name) || !choice_ok(refused_values[i].values, v))
            continue;
        snprintf(err, errlen, "'%s %s' needs a feature Ringmaster does not implement (%s)",
                 a->name, v, refused_values[i].why);
        return -1;
    }
    return 0;
}

static void remember(const absent_directive *a, const dstr v) {
    size_t i = (size_t)(a - table);
    dstr_free(given_values[i]);
    given_values[i] = dstr_dup(v);
}

int absent_load(const absent_directive *a, dstr *argv, int argc, char *err, size_t errlen) {
    if (a->flags & A_FILE_ONLY) {
        snprintf(err, errlen, "'%s' needs a feature Ringmaster does not implement", a->name);
        return -1;
    }
    dstr joined = dstr_empty();
    for (int i = 1; i < argc; i++) {
        if (i > 1) joined = dstr_cats(joined, " ");
        joined = dstr_catd(joined, argv[i]);
    }
    int rc = check_value(a, joined, err, errlen);
    if (rc == 0) {
        remember(a, joined);
        log_msg(LL_WARNING, "Directive '%s' is accepted but not implemented by Ringmaster",
                a->name);
    }
    dstr_free(joined);
    return rc;
}

int absent_set(const absent_directive *a, const dstr value, char *err, size_t errlen) {
    if (check_value(a, value, err, errlen) < 0) return -1;
    remember(a, value);
    return 0;
}

dstr absent_get(const absent_directive *a) {
    dstr v = given_values[a - table];
    return v ? dstr_dup(v) : dstr_from(a->def);
}

void absent_get_matching(const char *pattern, size_t plen, config_emit_fn emit, void *priv) {
    for (const absent_directive *a = table; a->name; a++) {
        if (a->flags & A_FILE_ONLY) continue;
        int by_name = util_glob_match(pattern, plen, a->name, strlen(a->name), 1);
        int by_alias =
            a->alias && util_glob_match(pattern, plen, a->alias, strlen(a->alias), 1);
        if (!by_name && !by_alias) continue;
        dstr v = absent_get(a);
        if (by_name) emit(priv, a->name, v, dstr_len(v));
        if (by_alias) emit(priv, a->alias, v, dstr_len(v));
        dstr_free(v);
    }
}
