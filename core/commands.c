/* commands: the command table and the dispatch path every request takes.
 *
 * process_command() applies the checks Redis 7.0 applies before running a
 * command, in the same order so that a client sees the same error for the
 * same mistake: unknown command, unknown subcommand, wrong arity, NOAUTH,
 * the write guards (-MISCONF while snapshots fail, -NOREPLICAS under
 * min-replicas-to-write), then MULTI queueing. A command refused while a
 * transaction is queued flags it, so EXEC answers EXECABORT; EXEC itself
 * is a write when its queue holds one, and is refused (discarding the
 * transaction) when the guards no longer let writes through, exactly as
 * Redis 7.0's processCommand does. call_command() runs the procedure, keeps
 * per-command statistics and hands the command's effects to the
 * propagation point: when the command changed the dataset (the dirty
 * counter moved) its argv, possibly rewritten into the form Redis
 * propagates, is queued; the unit is flushed when the outermost call
 * returns. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/command_meta.h"
#include "core/commands.h"
#include "core/db.h"
#include "core/latency.h"
#include "core/log.h"
#include "core/mem.h"
#include "core/monitor.h"
#include "core/multi.h"
#include "core/persist.h"
#include "core/propagate.h"
#include "core/pubsub.h"
#include "core/reply.h"
#include "core/slowlog.h"
#include "core/tracking.h"
#include "core/util.h"
#include "repl/repl.h"

#define W CMD_WRITE
#define R CMD_READONLY
#define D CMD_DENYOOM
#define A CMD_ADMIN
#define F CMD_FAST
#define NS CMD_NOSCRIPT
#define LD CMD_LOADING
#define ST CMD_STALE
#define NA CMD_NO_AUTH
#define MR CMD_MAY_REPLICATE
#define NM CMD_NO_MULTI
#define BZ CMD_ALLOW_BUSY
#define SM CMD_SKIP_MONITOR
#define SS CMD_SKIP_SLOWLOG
#define NK CMD_NO_MANDATORY_KEYS

#define CMD(n, p, a, f, fk, lk, ks) COMMAND_ROW(n, p, a, f, fk, lk, ks)
#define CMDS(n, a, f, subs) COMMAND_WITH_SUBS(n, a, f, subs)
#define END COMMAND_END

static command memory_subs[] = {
    CMD("memory|usage", cmd_memory_usage, -3, R, 2, 2, 1),
    CMD("memory|stats", cmd_memory_stats, 2, 0, 0, 0, 0),
    CMD("memory|doctor", cmd_memory_doctor, 2, 0, 0, 0, 0),
    CMD("memory|malloc-stats", cmd_memory_malloc_stats, 2, 0, 0, 0, 0),
    CMD("memory|purge", cmd_memory_purge, 2, 0, 0, 0, 0),
    CMD("memory|help", cmd_memory_help, 2, LD | ST, 0, 0, 0),
    END,
};

static command object_subs[] = {
    CMD("object|encoding", cmd_object_encoding, 3, R, 2, 2, 1),
    CMD("object|refcount", cmd_object_refcount, 3, R, 2, 2, 1),
    CMD("object|idletime", cmd_object_idletime, 3, R, 2, 2, 1),
    CMD("object|freq", cmd_object_freq, 3, R, 2, 2, 1),
    CMD("object|help", cmd_object_help, 2, LD | ST, 0, 0, 0),
    END,
};

static command config_subs[] = {
    CMD("config|get", cmd_config_get, -3, A | NS | LD | ST, 0, 0, 0),
    CMD("config|set", cmd_config_set, -4, A | NS | LD | ST, 0, 0, 0),
    CMD("config|resetstat", cmd_config_resetstat, 2, A | NS | LD | ST, 0, 0, 0),
    CMD("config|rewrite", cmd_config_rewrite, 2, A | NS | LD | ST, 0, 0, 0),
    CMD("config|help", cmd_config_help, 2, LD | ST, 0, 0, 0),
    END,
};

static command command_subs[] = {
    CMD("command|count", cmd_command_count, 2, LD | ST, 0, 0, 0),
    CMD("command|info", cmd_command_info, -2, LD | ST, 0, 0, 0),
    CMD("command|docs", cmd_command_docs, -2, LD | ST, 0, 0, 0),
    CMD("command|list", cmd_command_list, -2, LD | ST, 0, 0, 0),
    CMD("command|getkeys", cmd_command_getkeys, -4, LD | ST, 0, 0, 0),
    CMD("command|getkeysandflags", cmd_command_getkeysandflags, -4, LD | ST, 0, 0, 0),
    CMD("command|help", cmd_command_help, 2, LD | ST, 0, 0, 0),
    END,
};

/* No scripting: only what Sentinel sends (SCRIPT KILL to a -BUSY master). */
static command script_subs[] = {
    CMD("script|kill", cmd_script_kill, 2, NS | BZ, 0, 0, 0),
    CMD("script|help", cmd_script_help, 2, LD | ST, 0, 0, 0),
    END,
};

/* Functions are stored and replicated, never run (cmd_function.c). */
static command function_subs[] = {
    CMD("function|load", cmd_function_load, -3, W | D | NS, 0, 0, 0),
    CMD("function|delete", cmd_function_delete, 3, W | NS, 0, 0, 0),
    CMD("function|flush", cmd_function_flush, -2, W | NS, 0, 0, 0),
    CMD("function|dump", cmd_function_dump, 2, NS, 0, 0, 0),
    CMD("function|restore", cmd_function_restore, -3, W | D | NS, 0, 0, 0),
    CMD("function|list", cmd_function_list, -2, NS, 0, 0, 0),
    CMD("function|stats", cmd_function_stats, 2, NS | BZ, 0, 0, 0),
    CMD("function|kill", cmd_function_kill, 2, NS | BZ, 0, 0, 0),
    CMD("function|help", cmd_function_help, 2, LD | ST, 0, 0, 0),
    END,
};

static command client_subs[] = {
    CMD("client|id", cmd_client_id, 2, NS | LD | ST, 0, 0, 0),
    CMD("client|setname", cmd_client_setname, 3, NS | LD | ST, 0, 0, 0),
    CMD("client|getname", cmd_client_getname, 2, NS | LD | ST, 0, 0, 0),
    CMD("client|list", cmd_client_list, -2, A | NS | LD | ST, 0, 0, 0),
    CMD("client|kill", cmd_client_kill, -3, A | NS | LD | ST, 0, 0, 0),
    CMD("client|pause", cmd_client_pause, -3, A | NS | LD | ST, 0, 0, 0),
    CMD("client|unpause", cmd_client_unpause, 2, A | NS | LD | ST, 0, 0, 0),
    CMD("client|info", cmd_client_info, 2, NS | LD | ST, 0, 0, 0),
    CMD("client|no-evict", cmd_client_no_evict, 3, A | NS | LD | ST, 0, 0, 0),
    CMD("client|reply", cmd_client_reply, 3, NS | LD | ST, 0, 0, 0),
    CMD("client|tracking", cmd_client_tracking, -3, NS | LD | ST, 0, 0, 0),
    CMD("client|caching", cmd_client_caching, 3, NS | LD | ST, 0, 0, 0),
    CMD("client|getredir", cmd_client_getredir, 2, NS | LD | ST, 0, 0, 0),
    CMD("client|trackinginfo", cmd_client_trackinginfo, 2, NS | LD | ST, 0, 0, 0),
    CMD("client|unblock", cmd_client_unblock, -3, A | NS | LD | ST, 0, 0, 0),
    CMD("client|help", cmd_client_help, 2, LD | ST, 0, 0, 0),
    END,
};

static command slowlog_subs[] = {
    CMD("slowlog|get", cmd_slowlog_get, -2, A | LD | ST, 0, 0, 0),
    CMD("slowlog|len", cmd_slowlog_len, 2, A | LD | ST, 0, 0, 0),
    CMD("slowlog|reset", cmd_slowlog_reset, 2, A | LD | ST, 0, 0, 0),
    CMD("slowlog|help", cmd_slowlog_help, 2, LD | ST, 0, 0, 0),
    END,
};

static command latency_subs[] = {
    CMD("latency|latest", cmd_latency_latest, 2, A | NS | LD | ST, 0, 0, 0),
    CMD("latency|history", cmd_latency_history, 3, A | NS | LD | ST, 0, 0, 0),
    CMD("latency|reset", cmd_latency_reset, -2, A | NS | LD | ST, 0, 0, 0),
    CMD("latency|graph", cmd_latency_graph, 3, A | NS | LD | ST, 0, 0, 0),
    CMD("latency|doctor", cmd_latency_doctor, 2, A | NS | LD | ST, 0, 0, 0),
    CMD("latency|histogram", cmd_latency_histogram, -2, A | NS | LD | ST, 0, 0, 0),
    CMD("latency|help", cmd_latency_help, 2, LD | ST, 0, 0, 0),
    END,
};

static command command_table[] = {
    /* strings */
    CMD("get", cmd_get, 2, R | F, 1, 1, 1),
    CMD("set", cmd_set, -3, W | D, 1, 1, 1),
    CMD("setnx", cmd_setnx, 3, W | D | F, 1, 1, 1),
    CMD("setex", cmd_setex, 4, W | D, 1, 1, 1),
    CMD("psetex", cmd_psetex, 4, W | D, 1, 1, 1),
    CMD("getset", cmd_getset, 3, W | D | F, 1, 1, 1),
    CMD("getdel", cmd_getdel, 2, W | F, 1, 1, 1),
    CMD("getex", cmd_getex, -2, W | F, 1, 1, 1),
    CMD("mget", cmd_mget, -2, R | F, 1, -1, 1),
    CMD("mset", cmd_mset, -3, W | D, 1, -1, 2),
    CMD("msetnx", cmd_msetnx, -3, W | D, 1, -1, 2),
    CMD("append", cmd_append, 3, W | D | F, 1, 1, 1),
    CMD("strlen", cmd_strlen, 2, R | F, 1, 1, 1),
    CMD("incr", cmd_incr, 2, W | D | F, 1, 1, 1),
    CMD("decr", cmd_decr, 2, W | D | F, 1, 1, 1),
    CMD("incrby", cmd_incrby, 3, W | D | F, 1, 1, 1),
    CMD("decrby", cmd_decrby, 3, W | D | F, 1, 1, 1),
    CMD("incrbyfloat", cmd_incrbyfloat, 3, W | D | F, 1, 1, 1),
    CMD("getrange", cmd_getrange, 4, R, 1, 1, 1),
    CMD("substr", cmd_getrange, 4, R, 1, 1, 1),
    CMD("setrange", cmd_setrange, 4, W | D, 1, 1, 1),
    CMD("lcs", cmd_lcs, -3, R, 1, 2, 1),
    /* bitmaps */
    CMD("setbit", cmd_setbit, 4, W | D, 1, 1, 1),
    CMD("getbit", cmd_getbit, 3, R | F, 1, 1, 1),
    CMD("bitcount", cmd_bitcount, -2, R, 1, 1, 1),
    CMD("bitpos", cmd_bitpos, -3, R, 1, 1, 1),
    CMD("bitop", cmd_bitop, -4, W | D, 2, -1, 1),
    CMD("bitfield", cmd_bitfield, -2, W | D, 1, 1, 1),
    CMD("bitfield_ro", cmd_bitfield_ro, -2, R | F, 1, 1, 1),
    /* HyperLogLog */
    CMD("pfadd", cmd_pfadd, -2, W | D | F, 1, 1, 1),
    CMD("pfcount", cmd_pfcount, -2, R, 1, -1, 1),
    CMD("pfmerge", cmd_pfmerge, -2, W | D, 1, -1, 1),
    CMD("pfdebug", cmd_pfdebug, 3, W | D | A, 2, 2, 1),
    CMD("pfselftest", cmd_pfselftest, 1, A, 0, 0, 0),
    /* geo */
    CMD("geoadd", cmd_geoadd, -5, W | D, 1, 1, 1),
    CMD("geodist", cmd_geodist, -4, R, 1, 1, 1),
    CMD("geohash", cmd_geohash, -2, R, 1, 1, 1),
    CMD("geopos", cmd_geopos, -2, R, 1, 1, 1),
    CMD("georadius", cmd_georadius, -6, W | D | CMD_MOVABLE_KEYS, 1, 1, 1),
    CMD("georadius_ro", cmd_georadius_ro, -6, R, 1, 1, 1),
    CMD("georadiusbymember", cmd_georadiusbymember, -5, W | D | CMD_MOVABLE_KEYS, 1, 1, 1),
    CMD("georadiusbymember_ro", cmd_georadiusbymember_ro, -5, R, 1, 1, 1),
    CMD("geosearch", cmd_geosearch, -7, R, 1, 1, 1),
    CMD("geosearchstore", cmd_geosearchstore, -8, W | D, 1, 2, 1),
    /* keys */
    CMD("del", cmd_del, -2, W, 1, -1, 1),
    CMD("unlink", cmd_unlink, -2, W | F, 1, -1, 1),
    CMD("exists", cmd_exists, -2, R | F, 1, -1, 1),
    CMD("touch", cmd_touch, -2, R | F, 1, -1, 1),
    CMD("type", cmd_type, 2, R | F, 1, 1, 1),
    CMD("keys", cmd_keys, 2, R, 0, 0, 0),
    CMD("scan", cmd_scan, -2, R, 0, 0, 0),
    CMD("randomkey", cmd_randomkey, 1, R, 0, 0, 0),
    CMD("rename", cmd_rename, 3, W, 1, 2, 1),
    CMD("renamenx", cmd_renamenx, 3, W | F, 1, 2, 1),
    CMD("move", cmd_move, 3, W | F, 1, 1, 1),
    CMD("copy", cmd_copy, -3, W | D, 1, 2, 1),
    CMD("dump", cmd_dump, 2, R, 1, 1, 1),
    CMD("restore", cmd_restore, -4, W | D, 1, 1, 1),
    CMD("sort", cmd_sort, -2, W | D | CMD_MOVABLE_KEYS, 1, 1, 1),
    CMD("sort_ro", cmd_sort_ro, -2, R | CMD_MOVABLE_KEYS, 1, 1, 1),
    CMD("expire", cmd_expire, -3, W | F, 1, 1, 1),
    CMD("pexpire", cmd_pexpire, -3, W | F, 1, 1, 1),
    CMD("expireat", cmd_expireat, -3, W | F, 1, 1, 1),
    CMD("pexpireat", cmd_pexpireat, -3, W | F, 1, 1, 1),
    CMD("ttl", cmd_ttl, 2, R | F, 1, 1, 1),
    CMD("pttl", cmd_pttl, 2, R | F, 1, 1, 1),
    CMD("expiretime", cmd_expiretime, 2, R | F, 1, 1, 1),
    CMD("pexpiretime", cmd_pexpiretime, 2, R | F, 1, 1, 1),
    CMD("persist", cmd_persist, 2, W | F, 1, 1, 1),
    CMDS("object", -2, 0, object_subs),
    CMDS("memory", -2, 0, memory_subs),
    CMD("dbsize", cmd_dbsize, 1, R | F, 0, 0, 0),
    CMD("flushdb", cmd_flushdb, -1, W, 0, 0, 0),
    CMD("flushall", cmd_flushall, -1, W, 0, 0, 0),
    CMD("select", cmd_select, 2, LD | ST | F, 0, 0, 0),
    CMD("swapdb", cmd_swapdb, 3, W | F, 0, 0, 0),
    /* server */
    CMD("ping", cmd_ping, -1, F, 0, 0, 0),
    CMD("echo", cmd_echo, 2, F | LD | ST, 0, 0, 0),
    CMD("time", cmd_time, 1, LD | ST | F, 0, 0, 0),
    CMD("info", cmd_info, -1, LD | ST, 0, 0, 0),
    CMDS("config", -2, 0, config_subs),
    {.name = "command", .proc = cmd_command, .arity = -1, .flags = LD | ST,
     .subcommands = command_subs},
    CMDS("client", -2, 0, client_subs),
    CMDS("script", -2, 0, script_subs),
    CMDS("slowlog", -2, 0, slowlog_subs),
    CMDS("latency", -2, 0, latency_subs),
    CMDS("function", -2, 0, function_subs),
    CMD("fcall", cmd_fcall, -3, NS | MR | ST | SM | NK | CMD_MOVABLE_KEYS, 0, 0, 0),
    CMD("fcall_ro", cmd_fcall, -3, R | NS | ST | SM | NK | CMD_MOVABLE_KEYS, 0, 0, 0),
    CMD("hello", cmd_hello, -1, NS | LD | ST | F | NA | BZ, 0, 0, 0),
    CMD("auth", cmd_auth, -2, NS | LD | ST | F | NA | BZ, 0, 0, 0),
    CMD("quit", cmd_quit, -1, NS | LD | ST | F | NA | BZ, 0, 0, 0),
    CMD("reset", cmd_reset, 1, NS | LD | ST | F | NA | BZ, 0, 0, 0),
    CMD("shutdown", cmd_shutdown, -1, A | NS | LD | ST | NM | BZ, 0, 0, 0),
    CMD("lastsave", cmd_lastsave, 1, LD | ST | F, 0, 0, 0),
    CMD("multi", cmd_multi, 1, NS | LD | ST | F | BZ, 0, 0, 0),
    CMD("exec", cmd_exec, 1, NS | LD | ST | SS, 0, 0, 0),
    CMD("discard", cmd_discard, 1, NS | LD | ST | F | BZ, 0, 0, 0),
    CMD("watch", cmd_watch, -2, NS | LD | ST | F | BZ, 1, -1, 1),
    CMD("unwatch", cmd_unwatch, 1, NS | LD | ST | F | BZ, 0, 0, 0),
    CMD("debug", cmd_debug, -2, A | NS | LD | ST, 0, 0, 0),
    CMD("monitor", cmd_monitor, 1, A | NS | LD | ST, 0, 0, 0),
    END,
};

static void nofree(void *p) { (void)p; }
static uint64_t cmd_hash(const void *k) {
    return dict_hash_bytes_nocase(k, strlen((const char *)k));
}
static int cmd_eq(const void *a, const void *b) { return !strcasecmp(a, b); }
static const dict_type command_dict_type = {cmd_hash, cmd_eq, nofree, nofree};

#define MAX_EXTRA_TABLES 32
static command *extra_tables[MAX_EXTRA_TABLES];
static int n_extra_tables;

/* Other modules (data types, persistence, replication) add their tables
 * before commands_init runs. */
void commands_register_table(command *table) {
    /* A table that did not fit would leave its commands unknown: say so
     * at startup rather than answer "unknown command" later. */
    if (n_extra_tables == MAX_EXTRA_TABLES) {
        log_msg(LL_WARNING, "Too many command tables: raise MAX_EXTRA_TABLES");
        abort();
    }
    extra_tables[n_extra_tables++] = table;
}

static void add_table(server *s, command *t) {
    for (command *cmd = t; cmd->name; cmd++) {
        dict_add(s->commands, (void *)cmd->name, cmd);
        if (cmd->subcommands)
            for (command *sub = (command *)cmd->subcommands; sub->name; sub++) sub->parent = cmd;
    }
}

void commands_init(server *s) {
    s->commands = dict_create(&command_dict_type);
    add_table(s, command_table);
    for (int i = 0; i < n_extra_tables; i++) add_table(s, extra_tables[i]);
    command_meta_attach(s);
}

static void reset_one(command *cmd) {
    cmd->calls = cmd->usec = cmd->rejected_calls = cmd->failed_calls = 0;
    latency_reset_command(cmd);
}

void commands_reset_stats(server *s) {
    dict_iter it;
    dict_iter_init(s->commands, &it);
    dict_entry *de;
    while ((de = dict_iter_next(&it))) {
        command *cmd = de->v.val;
        reset_one(cmd);
        if (cmd->subcommands)
            for (command *sub = (command *)cmd->subcommands; sub->name; sub++) reset_one(sub);
    }
    dict_iter_done(&it);
}

/* The command dict hashes and compares names as C strings: a name with a
 * NUL byte must not reach it, or "FLUSHALL\0x" would run FLUSHALL (Redis
 * looks names up by their whole length: unknown command). */
static command *lookup_base(server *s, const dstr name) {
    if (dstr_len(name) > 64 || memchr(name, '\0', dstr_len(name))) return NULL;
    dict_entry *de = dict_find(s->commands, name);
    return de ? de->v.val : NULL;
}

static command *lookup_sub(command *base, const dstr subname) {
    const char *bar = strchr(base->name, '|');
    (void)bar;
    size_t blen = strlen(base->name);
    for (command *sub = (command *)base->subcommands; sub->name; sub++) {
        if (arg_is(subname, sub->name + blen + 1)) return sub;
    }
    return NULL;
}

const command *command_lookup(server *s, dstr *argv, int argc) {
    command *base = lookup_base(s, argv[0]);
    if (!base || !base->subcommands || argc < 2) return base;
    command *sub = lookup_sub(base, argv[1]);
    return sub ? sub : base;
}

#define ERR_MISCONF                                                                              \
    "MISCONF Redis is configured to save RDB snapshots, but it's currently unable to persist "   \
    "to disk. Commands that may modify the data set are disabled, because this instance is "     \
    "configured to report errors during writes if RDB snapshotting fails "                       \
    "(stop-writes-on-bgsave-error option). Please check the Redis logs for details about the " \
    "RDB error."
#define ERR_NOREPLICAS "NOREPLICAS Not enough good replicas to write."

static void reject(client *c, const char *err) {
    if (c->flags & CLIENT_MULTI) c->flags |= CLIENT_DIRTY_EXEC;
    reply_error(c, err);
}

/* EXEC itself rejected inside MULTI: the transaction is discarded and the
 * reason travels inside an EXECABORT error, as Redis 7.0 does. */
static void reject_exec(client *c, const char *err) {
    multi_discard(c);
    db_unwatch_all(c);
    if (!strncmp(err, "ERR ", 4)) err += 4;
    reply_errorf(c, "EXECABORT Transaction discarded because of: %s", err);
}

static int queue_has_write(const client *c) {
    for (int i = 0; i < c->mstate_count; i++)
        if (c->mstate[i].cmd->flags & CMD_WRITE) return 1;
    return 0;
}

/* The error that refuses cmd before it runs or is queued, or NULL (buf
 * may hold it). PING gets -MISCONF too, as in Redis, so that a health
 * check notices that snapshots fail. A subscribed RESP2 client is refused
 * most commands, after the write guards and before the replica's
 * refusals, as in Redis. A master's stream is never refused. */
static const char *write_refusal(client *c, const command *cmd, char *buf, size_t len) {
    server *s = c->srv;
    int is_write = (cmd->flags & CMD_WRITE) ||
                   (cmd->proc == cmd_exec && (c->flags & CLIENT_MULTI) && queue_has_write(c));
    if ((is_write || cmd->proc == cmd_ping) && !(c->flags & CLIENT_MASTER) &&
        persist_writes_refused(s))
        return ERR_MISCONF;
    if (is_write && !repl_min_replicas_ok(s)) return ERR_NOREPLICAS;
    const char *pubsub = pubsub_refusal(c, cmd, buf, len);
    if (pubsub) return pubsub;
    return repl_command_refusal(s, c, cmd, is_write);
}

static int arity_ok(const command *cmd, int argc) {
    return (cmd->arity > 0 && cmd->arity == argc) || (cmd->arity < 0 && argc >= -cmd->arity);
}

int process_command(client *c) {
    server *s = c->srv;
    command *base = lookup_base(s, c->argv[0]);
    command *cmd = base;
    char buf[1024];
    /* An HTTP request sent to the port (a browser, or a cross-protocol
     * attack through one): close without a reply, as Redis does. */
    if (!strcasecmp(c->argv[0], "host:") || !strcasecmp(c->argv[0], "post")) {
        log_msg(LL_WARNING, "Possible SECURITY ATTACK detected. It looks like somebody is "
                            "sending POST or Host: commands to Redis. This is likely due to an "
                            "attacker attempting to use Cross Protocol Scripting to compromise "
                            "your Redis instance. Connection from %s aborted.",
                c->addr);
        c->flags |= CLIENT_CLOSE_ASAP;
        return -1;
    }
    if (!base) {
        dstr args = dstr_empty();
        for (int i = 1; i < c->argc && dstr_len(args) < 128; i++)
            args = dstr_catfmt(args, "'%.*s' ", 128 - (int)dstr_len(args), c->argv[i]);
        snprintf(buf, sizeof(buf), "ERR unknown command '%.128s', with args beginning with: %s",
                 c->argv[0], args);
        dstr_free(args);
        reject(c, buf);
        return -1;
    }
    if (base->subcommands && c->argc >= 2) {
        command *sub = lookup_sub(base, c->argv[1]);
        if (sub) {
            cmd = sub;
        } else {
            char upper[64];
            size_t i;
            for (i = 0; base->name[i] && i < sizeof(upper) - 1; i++)
                upper[i] = (char)toupper((unsigned char)base->name[i]);
            upper[i] = '\0';
            snprintf(buf, sizeof(buf), "ERR unknown subcommand '%.128s'. Try %s HELP.",
                     c->argv[1], upper);
            /* No command was found, so none counts it (Redis 7.0). */
            reject(c, buf);
            return -1;
        }
    }
    if (!arity_ok(cmd, c->argc) || (!cmd->proc && c->argc < 2)) {
        snprintf(buf, sizeof(buf), "ERR wrong number of arguments for '%s' command", cmd->name);
        cmd->rejected_calls++;
        if (cmd->proc == cmd_exec)
            reject_exec(c, buf);
        else
            reject(c, buf);
        return -1;
    }
    if (!c->authenticated && !(cmd->flags & CMD_NO_AUTH)) {
        cmd->rejected_calls++;
        if (cmd->proc == cmd_exec)
            reject_exec(c, "NOAUTH Authentication required.");
        else
            reject(c, "NOAUTH Authentication required.");
        return -1;
    }
    const char *refusal = monitor_refusal(c, cmd);
    if (!refusal) refusal = write_refusal(c, cmd, buf, sizeof(buf));
    if (refusal) {
        cmd->rejected_calls++;
        if (cmd->proc == cmd_exec)
            reject_exec(c, refusal);
        else
            reject(c, refusal);
        return -1;
    }
    if ((c->flags & CLIENT_MULTI) && cmd->proc != cmd_exec && cmd->proc != cmd_discard &&
        cmd->proc != cmd_multi && cmd->proc != cmd_watch && cmd->proc != cmd_quit &&
        cmd->proc != cmd_reset) {
        if (cmd->flags & CMD_NO_MULTI) {
            reject(c, "ERR Command not allowed inside a transaction");
            return -1;
        }
        multi_queue(c, cmd);
        reply_raw(c, "+QUEUED\r\n", 9);
        return 0;
    }
    call_command(c, cmd);
    return 0;
}

/* Whether argument j of argv is a secret SLOWLOG and MONITOR show as
 * "(redacted)", as Redis 7.0's redactClientCommandArgument: every argument
 * of AUTH, the user name and password after HELLO's AUTH option (as far as
 * HELLO's own parse reaches). */
int command_arg_redacted(const command *cmd, dstr *argv, int argc, int j) {
    if (cmd->proc == cmd_auth) return j >= 1;
    if (cmd->proc != cmd_hello) return 0;
    for (int i = 2; i < argc; i++) {
        int more = argc - 1 - i;
        if (arg_is(argv[i], "auth") && more >= 2) {
            if (j == i + 1 || j == i + 2) return 1;
            i += 2;
        } else if (arg_is(argv[i], "setname") && more >= 1) {
            i++;
        } else {
            break;
        }
    }
    return 0;
}

/* The argv as the client sent it, for SLOWLOG and MONITOR. */
static dstr *sent_argv(client *c, int *argc) {
    *argc = c->orig_argv ? c->orig_argc : c->argc;
    return c->orig_argv ? c->orig_argv : c->argv;
}

static void free_orig_argv(client *c) {
    for (int i = 0; i < c->orig_argc; i++) dstr_free(c->orig_argv[i]);
    mem_free(c->orig_argv);
    c->orig_argv = NULL;
    c->orig_argc = 0;
}

void call_command(client *c, const command *cmd) {
    server *s = c->srv;
    command *mcmd = (command *)cmd;
    long long dirty_before = s->dirty;
    long long errors_before = s->stat_total_error_replies;
    /* EXEC runs its queue through here too: each level keeps its own. */
    dstr *outer_orig = c->orig_argv;
    int outer_origc = c->orig_argc;
    c->orig_argv = NULL;
    c->orig_argc = 0;
    util_clock_freeze();
    long long start = util_elapsed_us();
    /* Before it runs, as Redis sets it: CLIENT LIST shows a client's own
     * CLIENT LIST as its command. */
    c->cmd = c->lastcmd = cmd;
    c->flags &= ~(uint32_t)(CLIENT_FORCE_PROPAGATE | CLIENT_PREVENT_PROPAGATE);
    s->call_depth++;
    c->keep_orig_argv++;
    cmd->proc(c);
    c->keep_orig_argv--;
    s->call_depth--;
    long long dur = util_elapsed_us() - start;
    util_clock_thaw();
    mcmd->calls++;
    mcmd->usec += dur;
    /* (CONFIG RESETSTAT zeroes the counter: that is no failure.) */
    if (s->stat_total_error_replies > errors_before) mcmd->failed_calls++;
    s->stat_numcommands++;
    if (c->flags & CLIENT_TRACKING) {
        tracking_remember_keys(c, cmd);
        tracking_after_command(c, cmd);
    }
    /* A command that blocked is logged when it is served, as in Redis;
     * EXEC is not (its commands are, one by one). */
    int blocked = (c->flags & CLIENT_BLOCKED) && (!c->bstate.ready_key || c->bstate.reblocked);
    if (!blocked) {
        latency_add_sample_if_needed(s, (cmd->flags & CMD_FAST) ? "fast-command" : "command",
                                     dur / 1000);
        latency_track_command(s, mcmd, dur);
    }
    if (!blocked && !(cmd->flags & CMD_SKIP_SLOWLOG)) {
        int argc;
        dstr *argv = sent_argv(c, &argc);
        slowlog_push(s, c, cmd, argv, argc, dur);
    }
    if (s->nmonitors) {
        int argc;
        dstr *argv = sent_argv(c, &argc);
        monitor_feed(s, c, cmd, argv, argc);
    }
    free_orig_argv(c);
    c->orig_argv = outer_orig;
    c->orig_argc = outer_origc;
    int forced = (c->flags & CLIENT_FORCE_PROPAGATE) != 0;
    int prevented = (c->flags & CLIENT_PREVENT_PROPAGATE) != 0;
    c->flags &= ~(uint32_t)(CLIENT_FORCE_PROPAGATE | CLIENT_PREVENT_PROPAGATE);
    if ((s->dirty != dirty_before || forced) && !prevented && cmd->proc != cmd_exec && c->argc > 0)
        propagate_add(s, c->db->id, c->argv, c->argc);
    if (s->call_depth == 0) propagate_flush(s);
}

void server_dirty(client *c, long long n) { c->srv->dirty += n; }

/* ---- argument helpers ---- */

int arg_ll_msg(client *c, const dstr arg, long long *out, const char *msg) {
    if (!util_str_to_ll(arg, dstr_len(arg), out)) {
        reply_error(c, msg ? msg : ERR_NOT_INT);
        return -1;
    }
    return 0;
}

int arg_ll(client *c, const dstr arg, long long *out) { return arg_ll_msg(c, arg, out, NULL); }

int arg_ll_range(client *c, const dstr arg, long long min, long long max, long long *out,
                 const char *msg) {
    long long v;
    if (!util_str_to_ll(arg, dstr_len(arg), &v) || v < min || v > max) {
        if (msg)
            reply_error(c, msg);
        else
            reply_errorf(c, "ERR value is out of range, must be between %lld and %lld", min, max);
        return -1;
    }
    *out = v;
    return 0;
}

int arg_rand_count(client *c, const dstr arg, int paired, long long *out) {
    long long v;
    if (!util_str_to_ll(arg, dstr_len(arg), &v)) {
        reply_error(c, ERR_NOT_INT);
        return -1;
    }
    /* -count is taken, so LONG_MIN has no positive twin; and with pairs
     * the reply has 2*count elements. */
    if (v < -LONG_MAX) {
        reply_errorf(c, "ERR value is out of range, value must between %ld and %ld", -LONG_MAX,
                     LONG_MAX);
        return -1;
    }
    if (paired && (v < -LONG_MAX / 2 || v > LONG_MAX / 2)) {
        reply_error(c, "ERR value is out of range");
        return -1;
    }
    *out = v;
    return 0;
}

int arg_double(client *c, const dstr arg, double *out) {
    if (!util_str_to_d(arg, dstr_len(arg), out)) {
        reply_error(c, ERR_NOT_FLOAT);
        return -1;
    }
    return 0;
}

int arg_is(const dstr arg, const char *word) {
    return dstr_len(arg) == strlen(word) && !strcasecmp(arg, word);
}

int check_string_length(client *c, long long size, long long append) {
    long long total = (long long)((unsigned long long)size + (unsigned long long)append);
    if (total > c->srv->cfg.proto_max_bulk_len || total < size || total < append) {
        reply_error(c, "ERR string exceeds maximum allowed size (proto-max-bulk-len)");
        return -1;
    }
    return 0;
}

/* COMMAND INFO's reply for one command. */
/* COMMAND INFO's flags, in the order Redis 7.0 lists them (a RESP2 client
 * sees an array). may_replicate is left out, as Redis 7.0 hides it. */
static const struct {
    uint32_t flag;
    const char *name;
} shown_flags[] = {
    {CMD_WRITE, "write"},
    {CMD_READONLY, "readonly"},
    {CMD_DENYOOM, "denyoom"},
    {CMD_ADMIN, "admin"},
    {CMD_PUBSUB, "pubsub"},
    {CMD_NOSCRIPT, "noscript"},
    {CMD_BLOCKING, "blocking"},
    {CMD_LOADING, "loading"},
    {CMD_STALE, "stale"},
    {CMD_SKIP_MONITOR, "skip_monitor"},
    {CMD_SKIP_SLOWLOG, "skip_slowlog"},
    {CMD_ASKING, "asking"},
    {CMD_FAST, "fast"},
    {CMD_NO_AUTH, "no_auth"},
    {CMD_NO_MANDATORY_KEYS, "no_mandatory_keys"},
    {CMD_NO_ASYNC_LOADING, "no_async_loading"},
    {CMD_NO_MULTI, "no_multi"},
    {CMD_MOVABLE_KEYS, "movablekeys"},
    {CMD_ALLOW_BUSY, "allow_busy"},
};
#define N_SHOWN_FLAGS ((int)(sizeof(shown_flags) / sizeof(shown_flags[0])))

void command_reply_info(client *c, const command *cmd) {
    reply_array(c, 10);
    reply_bulk_cstr(c, cmd->name);
    reply_int(c, cmd->arity);
    int nflags = 0;
    for (int i = 0; i < N_SHOWN_FLAGS; i++)
        if (cmd->flags & shown_flags[i].flag) nflags++;
    reply_set(c, nflags);
    for (int i = 0; i < N_SHOWN_FLAGS; i++)
        if (cmd->flags & shown_flags[i].flag) reply_status(c, shown_flags[i].name);
    reply_int(c, cmd->first_key);
    reply_int(c, cmd->last_key);
    reply_int(c, cmd->key_step);
    command_meta_reply_info_tail(c, cmd); /* ACL categories, tips, key specs */
    /* Redis 7.0 sends an empty set where a command has no subcommands. */
    int nsubs = 0;
    if (cmd->subcommands)
        for (const command *sub = cmd->subcommands; sub->name; sub++) nsubs++;
    if (!nsubs) {
        reply_set(c, 0);
        return;
    }
    reply_array(c, nsubs);
    for (const command *sub = cmd->subcommands; sub->name; sub++) command_reply_info(c, sub);
}

const command *command_find(server *s, const char *name) {
    dstr n = dstr_from(name);
    const command *cmd = NULL;
    const char *bar = strchr(name, '|');
    if (bar) {
        dstr base = dstr_new(name, (size_t)(bar - name));
        command *b = lookup_base(s, base);
        dstr sub = dstr_from(bar + 1);
        if (b && b->subcommands) cmd = lookup_sub(b, sub);
        dstr_free(sub);
        dstr_free(base);
    } else {
        cmd = lookup_base(s, n);
    }
    dstr_free(n);
    return cmd;
}
