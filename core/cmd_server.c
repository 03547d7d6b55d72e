/* cmd_server: connection and server commands (PING, ECHO, TIME, CONFIG,
 * COMMAND, HELLO, AUTH, QUIT, RESET, SHUTDOWN, LASTSAVE). */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "core/blocking.h"
#include "core/command_meta.h"
#include "core/commands.h"
#include "core/db.h"
#include "core/lazyfree.h"
#include "core/log.h"
#include "core/mem.h"
#include "core/monitor.h"
#include "core/tracking.h"
#include "core/multi.h"
#include "core/persist.h"
#include "core/pubsub.h"
#include "core/reply.h"
#include "core/util.h"
#include "repl/repl.h"

void cmd_ping(client *c) {
    if (c->argc > 2) {
        reply_error(c, "ERR wrong number of arguments for 'ping' command");
        return;
    }
    /* A subscribed RESP2 client reads replies and messages on one stream
     * of arrays: its PONG is an array too, as in Redis. */
    if ((c->flags & CLIENT_PUBSUB) && c->resp == 2) {
        reply_array(c, 2);
        reply_bulk(c, "pong", 4);
        reply_bulk(c, c->argc == 1 ? "" : c->argv[1], c->argc == 1 ? 0 : dstr_len(c->argv[1]));
        return;
    }
    if (c->argc == 1)
        reply_raw(c, "+PONG\r\n", 7);
    else
        reply_bulk_dstr(c, c->argv[1]);
}

void cmd_echo(client *c) { reply_bulk_dstr(c, c->argv[1]); }

void cmd_time(client *c) {
    long long us = util_us_time();
    reply_array(c, 2);
    reply_bulk_ll(c, us / 1000000);
    reply_bulk_ll(c, us % 1000000);
}

void cmd_lastsave(client *c) { reply_int(c, c->srv->lastsave); }

/* Ringmaster runs no scripts, so there is never one to kill: Redis's reply
 * when none runs. */
void cmd_script_kill(client *c) { reply_error(c, "NOTBUSY No scripts in execution right now."); }

void cmd_script_help(client *c) {
    static const char *lines[] = {
        "SCRIPT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "KILL", "    Kill the currently executing Lua script.",
    };
    reply_help(c, lines, (int)(sizeof(lines) / sizeof(lines[0])));
}

/* ---- CONFIG ---- */

typedef struct config_get_ctx {
    client *c;
    dstr *names;
    dstr *values;
    int n, cap;
} config_get_ctx;

static void config_get_collect(void *priv, const char *name, const char *value, size_t vlen) {
    config_get_ctx *x = priv;
    for (int i = 0; i < x->n; i++)
        if (!strcmp(x->names[i], name)) return;
    if (x->n == x->cap) {
        x->cap = x->cap ? x->cap * 2 : 16;
        x->names = mem_realloc(x->names, sizeof(dstr) * (size_t)x->cap);
        x->values = mem_realloc(x->values, sizeof(dstr) * (size_t)x->cap);
    }
    x->names[x->n] = dstr_from(name);
    x->values[x->n] = dstr_new(value, vlen);
    x->n++;
}

void cmd_config_get(client *c) {
    config_get_ctx x = {c, NULL, NULL, 0, 0};
    for (int i = 2; i < c->argc; i++)
        config_get(&c->srv->cfg, c->argv[i], dstr_len(c->argv[i]), config_get_collect, &x);
    reply_map(c, x.n);
    for (int i = 0; i < x.n; i++) {
        reply_bulk_dstr(c, x.names[i]);
        reply_bulk_dstr(c, x.values[i]);
        dstr_free(x.names[i]);
        dstr_free(x.values[i]);
    }
    mem_free(x.names);
    mem_free(x.values);
}

/* Redis 7.0's allowProtectedAction: `dir` and `dbfilename` decide where
 * the server writes files, so by default only the config file sets them. */
static int protected_config_allowed(client *c) {
    int mode = c->srv->cfg.enable_protected_configs;
    return mode == PROTECTED_YES || (mode == PROTECTED_LOCAL && client_is_local(c));
}

void cmd_config_set(client *c) {
    if (c->argc % 2) { /* a name without its value: arity let it through */
        reply_error(c, ERR_SYNTAX);
        return;
    }
    int n = (c->argc - 2) / 2;
    dstr *names = mem_alloc(sizeof(dstr) * (size_t)n);
    dstr *values = mem_alloc(sizeof(dstr) * (size_t)n);
    for (int i = 0; i < n; i++) {
        names[i] = c->argv[2 + 2 * i];
        values[i] = c->argv[3 + 2 * i];
    }
    config_set_error res;
    if (config_set_many(&c->srv->cfg, names, values, n, protected_config_allowed(c), &res) < 0) {
        if (res.unknown)
            reply_errorf(c, "ERR Unknown option or number of arguments for CONFIG SET - '%s'",
                         res.arg);
        else
            reply_errorf(c, "ERR CONFIG SET failed (possibly related to argument '%s') - %s",
                         res.arg, res.msg);
    } else {
        reply_ok(c);
    }
    mem_free(names);
    mem_free(values);
}

void cmd_config_resetstat(client *c) {
    server *s = c->srv;
    s->stat_numcommands = s->stat_numconnections = s->stat_rejected_conn = 0;
    s->stat_expiredkeys = s->stat_keyspace_hits = s->stat_keyspace_misses = 0;
    s->stat_net_input_bytes = s->stat_net_output_bytes = 0;
    s->stat_total_error_replies = s->stat_unexpected_error_replies = 0;
    s->stat_expired_stale_perc = s->stat_expire_cycle_time_used = s->stat_evictedkeys = 0;
    s->stat_expired_time_cap_reached = 0;
    persist_reset_stats(s);
    lazyfree_reset_stats();
    s->stat_io_reads = s->stat_io_writes = s->stat_client_qbuf_limit_disconnections = 0;
    dict_empty(s->errorstats);
    commands_reset_stats(s);
    repl_net_bytes_reset(s);
    server_inst_reset(s); /* after every counter it samples */
    reply_ok(c);
}

void cmd_config_rewrite(client *c) {
    server *s = c->srv;
    if (!s->configfile) {
        reply_error(c, "ERR The server is running without a config file");
        return;
    }
    char err[512];
    if (config_rewrite(&s->cfg, s->configfile, err, sizeof(err)) < 0) {
        log_msg(LL_WARNING, "CONFIG REWRITE failed: %s", err);
        reply_errorf(c, "ERR %s", err);
        return;
    }
    log_msg(LL_NOTICE, "CONFIG REWRITE executed with success.");
    reply_ok(c);
}

void cmd_config_help(client *c) {
    static const char *lines[] = {
        "CONFIG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "GET <pattern>",
        "    Return parameters matching the glob-like <pattern> and their values.",
        "SET <directive> <value>",
        "    Set the configuration <directive> to <value>.",
        "RESETSTAT",
        "    Reset statistics reported by the INFO command.",
        "REWRITE",
        "    Rewrite the configuration file.",
    };
    reply_help(c, lines, (int)(sizeof(lines) / sizeof(lines[0])));
}

/* ---- COMMAND ---- */

static int count_commands(server *s) {
    return (int)dict_size(s->commands);
}

void cmd_command(client *c) {
    server *s = c->srv;
    reply_array(c, count_commands(s));
    dict_iter it;
    dict_iter_init(s->commands, &it);
    dict_entry *de;
    while ((de = dict_iter_next(&it))) command_reply_info(c, de->v.val);
    dict_iter_done(&it);
}

void cmd_command_count(client *c) { reply_int(c, count_commands(c->srv)); }

/* The command a COMMAND INFO/DOCS argument names ("config|get" for a
 * subcommand), or NULL. */
static const command *command_named(server *s, const dstr name) {
    /* A name with a NUL byte names no command (command_find reads a C
     * string and would find the command before the NUL). */
    return memchr(name, '\0', dstr_len(name)) ? NULL : command_find(s, name);
}

void cmd_command_info(client *c) {
    server *s = c->srv;
    if (c->argc == 2) {
        cmd_command(c);
        return;
    }
    reply_array(c, c->argc - 2);
    for (int i = 2; i < c->argc; i++) {
        const command *cmd = command_named(s, c->argv[i]);
        if (cmd)
            command_reply_info(c, cmd);
        else
            reply_null(c); /* Redis 7.0 answers $-1 for an unknown name */
    }
}

void cmd_command_docs(client *c) {
    server *s = c->srv;
    size_t handle = reply_defer_len(c);
    long long n = 0;
    if (c->argc == 2) {
        dict_iter it;
        dict_iter_init(s->commands, &it);
        dict_entry *de;
        while ((de = dict_iter_next(&it))) {
            const command *cmd = de->v.val;
            reply_bulk_cstr(c, cmd->name);
            command_meta_reply_docs(c, cmd);
            n++;
        }
        dict_iter_done(&it);
    } else {
        /* Unknown names are left out, as Redis 7.0 does. */
        for (int i = 2; i < c->argc; i++) {
            const command *cmd = command_named(s, c->argv[i]);
            if (!cmd) continue;
            reply_bulk_cstr(c, cmd->name);
            command_meta_reply_docs(c, cmd);
            n++;
        }
    }
    reply_set_deferred_map(c, handle, n);
}

enum { LIST_ALL, LIST_MODULE, LIST_ACLCAT, LIST_PATTERN };

static int command_listed(const command *cmd, int filter, const dstr arg, int aclcat) {
    switch (filter) {
    case LIST_MODULE: return 0; /* there are no modules */
    case LIST_ACLCAT: return aclcat >= 0 && cmd->meta && (cmd->meta->acl & (1u << aclcat));
    case LIST_PATTERN:
        return util_glob_match(arg, dstr_len(arg), cmd->name, strlen(cmd->name), 1);
    default: return 1;
    }
}

/* Every command and subcommand, as Redis 7.0 lists them; FILTERBY may be
 * given more than once, the last one counts. */
void cmd_command_list(client *c) {
    server *s = c->srv;
    int filter = LIST_ALL;
    dstr arg = NULL;
    for (int i = 2; i < c->argc; i++) {
        if (!arg_is(c->argv[i], "filterby") || c->argc - 1 - i != 2) {
            reply_error(c, ERR_SYNTAX);
            return;
        }
        if (arg_is(c->argv[i + 1], "module")) {
            filter = LIST_MODULE;
        } else if (arg_is(c->argv[i + 1], "aclcat")) {
            filter = LIST_ACLCAT;
        } else if (arg_is(c->argv[i + 1], "pattern")) {
            filter = LIST_PATTERN;
        } else {
            reply_error(c, ERR_SYNTAX);
            return;
        }
        arg = c->argv[i + 2];
        i += 2;
    }
    int aclcat = filter == LIST_ACLCAT ? command_meta_acl_category(arg) : -1;
    size_t handle = reply_defer_len(c);
    long long n = 0;
    dict_iter it;
    dict_iter_init(s->commands, &it);
    dict_entry *de;
    while ((de = dict_iter_next(&it))) {
        const command *cmd = de->v.val;
        if (command_listed(cmd, filter, arg, aclcat)) {
            reply_bulk_cstr(c, cmd->name);
            n++;
        }
        if (!cmd->subcommands) continue;
        for (const command *sub = cmd->subcommands; sub->name; sub++) {
            if (!command_listed(sub, filter, arg, aclcat)) continue;
            reply_bulk_cstr(c, sub->name);
            n++;
        }
    }
    dict_iter_done(&it);
    reply_set_deferred_len(c, handle, n);
}

/* COMMAND GETKEYS and GETKEYSANDFLAGS: Redis 7.0's checks, in its order,
 * then the keys the key specs (or the command's own parser) find. */
static void command_getkeys(client *c, int with_flags) {
    const command *cmd = command_lookup(c->srv, c->argv + 2, c->argc - 2);
    /* An unknown subcommand names no command here (command_lookup gives
     * the container back, for process_command's error). */
    if (!cmd || (cmd->subcommands && c->argc > 3)) {
        reply_error(c, "ERR Invalid command specified");
        return;
    }
    if (!keyspec_command_has_keys(cmd)) {
        reply_error(c, "ERR The command has no key arguments");
        return;
    }
    int argc = c->argc - 2;
    if ((cmd->arity > 0 && cmd->arity != argc) || argc < -cmd->arity) {
        reply_error(c, "ERR Invalid number of arguments specified for command");
        return;
    }
    keys_result r = {0};
    int n = keyspec_command_keys(cmd, c->argv + 2, argc, &r);
    if (!n) {
        if (cmd->flags & CMD_NO_MANDATORY_KEYS)
            reply_array(c, 0);
        else
            reply_error(c, "ERR Invalid arguments specified for command");
    } else {
        reply_array(c, n);
        for (int i = 0; i < n; i++) {
            if (with_flags) reply_array(c, 2);
            reply_bulk_dstr(c, c->argv[2 + r.keys[i].pos]);
            if (with_flags) command_meta_reply_key_flags(c, r.keys[i].flags);
        }
    }
    keys_result_free(&r);
}

void cmd_command_getkeys(client *c) { command_getkeys(c, 0); }

void cmd_command_getkeysandflags(client *c) { command_getkeys(c, 1); }

void cmd_command_help(client *c) {
    static const char *lines[] = {
        "COMMAND <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "(no subcommand)",
        "    Return details about all Redis commands.",
        "COUNT",
        "    Return the total number of commands in this Redis server.",
        "LIST",
        "    Return a list of all commands in this Redis server.",
        "INFO [<command-name> ...]",
        "    Return details about multiple Redis commands.",
        "    If no command names are given, documentation details for all",
        "    commands are returned.",
        "DOCS [<command-name> ...]",
        "    Return documentation details about multiple Redis commands.",
        "    If no command names are given, documentation details for all",
        "    commands are returned.",
        "GETKEYS <full-command>",
        "    Return the keys from a full Redis command.",
        "GETKEYSANDFLAGS <full-command>",
        "    Return the keys and the access flags from a full Redis command.",
    };
    reply_help(c, lines, (int)(sizeof(lines) / sizeof(lines[0])));
}

/* ---- connection ---- */

/* The one user is "default" (exactly: "default\0x" is another name). The
 * password is compared over its whole length, NUL bytes included, and in
 * time that does not depend on where it differs. */
static int check_password(server *s, const dstr user, const dstr pass) {
    if (user && !(dstr_len(user) == 7 && !memcmp(user, "default", 7))) return 0;
    if (!s->cfg.requirepass) return 1;
    return util_secret_equal(s->cfg.requirepass, dstr_len(s->cfg.requirepass), pass,
                             dstr_len(pass));
}

void cmd_auth(client *c) {
    server *s = c->srv;
    if (c->argc > 3) {
        reply_error(c, ERR_SYNTAX);
        return;
    }
    if (c->argc == 2 && !s->cfg.requirepass) {
        reply_error(c, "ERR AUTH <password> called without any password configured for the "
                       "default user. Are you sure your configuration is correct?");
        return;
    }
    dstr user = c->argc == 3 ? c->argv[1] : NULL;
    dstr pass = c->argv[c->argc - 1];
    if (check_password(s, user, pass)) {
        c->authenticated = 1;
        reply_ok(c);
    } else {
        reply_error(c, "WRONGPASS invalid username-password pair or user is disabled.");
    }
}

void cmd_hello(client *c) {
    server *s = c->srv;
    int next = 1;
    long long ver = 2;
    if (c->argc >= 2) {
        if (!util_str_to_ll(c->argv[1], dstr_len(c->argv[1]), &ver)) {
            reply_error(c, "ERR Protocol version is not an integer or out of range");
            return;
        }
        next = 2;
        if (ver < 2 || ver > 3) {
            reply_error(c, "NOPROTO unsupported protocol version");
            return;
        }
    }
    /* Options take effect in order as they are read, as in Redis 7.0: a
     * later syntax error leaves an earlier AUTH or SETNAME applied. */
    for (int j = next; j < c->argc; j++) {
        int more = c->argc - 1 - j;
        if (arg_is(c->argv[j], "auth") && more >= 2) {
            if (!check_password(s, c->argv[j + 1], c->argv[j + 2])) {
                reply_error(c, "WRONGPASS invalid username-password pair or user is disabled.");
                return;
            }
            c->authenticated = 1;
            j += 2;
        } else if (arg_is(c->argv[j], "setname") && more) {
            dstr name = c->argv[j + 1];
            if (!client_name_is_valid(name)) {
                reply_error(c, ERR_CLIENT_NAME);
                return;
            }
            dstr_free(c->name);
            c->name = dstr_len(name) ? dstr_dup(name) : NULL;
            j++;
        } else {
            reply_errorf(c, "ERR Syntax error in HELLO option '%s'", c->argv[j]);
            return;
        }
    }
    if (!c->authenticated) {
        reply_error(c, "NOAUTH HELLO must be called with the client already authenticated, "
                       "otherwise the HELLO AUTH <user> <pass> option can be used to "
                       "authenticate the client and select the RESP protocol version at the same "
                       "time");
        return;
    }
    /* The reply is already in the protocol asked for. */
    c->resp = (int)ver;
    reply_map(c, 7);
    reply_bulk_cstr(c, "server");
    reply_bulk_cstr(c, "redis");
    reply_bulk_cstr(c, "version");
    reply_bulk_cstr(c, RM_VERSION);
    reply_bulk_cstr(c, "proto");
    reply_int(c, c->resp);
    reply_bulk_cstr(c, "id");
    reply_int(c, (long long)c->id);
    reply_bulk_cstr(c, "mode");
    reply_bulk_cstr(c, "standalone");
    reply_bulk_cstr(c, "role");
    reply_bulk_cstr(c, c->srv->cfg.replicaof_host ? "replica" : "master");
    reply_bulk_cstr(c, "modules");
    reply_array(c, 0);
}

void cmd_quit(client *c) {
    reply_ok(c);
    c->flags |= CLIENT_CLOSE_AFTER_REPLY;
}

void cmd_reset(client *c) {
    monitor_remove(c);
    tracking_disable(c);
    multi_discard(c);
    db_unwatch_all(c);
    c->db = &c->srv->dbs[0];
    c->resp = 2;
    pubsub_client_reset(c);
    dstr_free(c->name);
    c->name = NULL;
    c->authenticated = c->srv->cfg.requirepass == NULL;
    reply_status(c, "RESET");
}

void cmd_shutdown(client *c) {
    server *s = c->srv;
    int flags = 0, abort = 0;
    for (int i = 1; i < c->argc; i++) {
        if (arg_is(c->argv[i], "nosave")) {
            flags |= SHUTDOWN_NOSAVE;
        } else if (arg_is(c->argv[i], "save")) {
            flags |= SHUTDOWN_SAVE;
        } else if (arg_is(c->argv[i], "now")) {
            flags |= SHUTDOWN_NOW;
        } else if (arg_is(c->argv[i], "force")) {
            flags |= SHUTDOWN_FORCE;
        } else if (arg_is(c->argv[i], "abort")) {
            abort = 1;
        } else {
            reply_error(c, ERR_SYNTAX);
            return;
        }
    }
    if ((abort && flags) || ((flags & SHUTDOWN_NOSAVE) && (flags & SHUTDOWN_SAVE))) {
        reply_error(c, ERR_SYNTAX);
        return;
    }
    if (abort) {
        if (server_abort_shutdown(s) < 0)
            reply_error(c, "ERR No shutdown in progress.");
        else
            reply_ok(c);
        return;
    }
    if (!(flags & SHUTDOWN_NOW) && !client_may_block(c)) {
        reply_error(c, "ERR SHUTDOWN without NOW or ABORT isn't allowed for DENY BLOCKING client");
        return;
    }
    /* Exits (no reply), waits for the replicas (c blocked), or failed (c
     * has the error). */
    server_begin_shutdown(s, flags, c);
}
