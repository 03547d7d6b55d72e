/* cmd_client: CLIENT subcommands. */
#include <limits.h>
#include <string.h>
#include <strings.h>

#include "core/blocking.h"
#include "core/commands.h"
#include "core/reply.h"
#include "core/util.h"
#include "repl/repl.h"

void cmd_client_id(client *c) { reply_int(c, (long long)c->id); }

/* A name shows up in CLIENT LIST, one client a line, fields split at
 * spaces: only printable ASCII without the space may go in, so a name can
 * forge neither a field nor a line, and a NUL cannot hide its tail. */
int client_name_is_valid(const dstr name) {
    for (size_t i = 0; i < dstr_len(name); i++) {
        unsigned char ch = (unsigned char)name[i];
        if (ch < '!' || ch > '~') return 0;
    }
    return 1;
}

void cmd_client_setname(client *c) {
    if (!client_name_is_valid(c->argv[2])) {
        reply_error(c, ERR_CLIENT_NAME);
        return;
    }
    dstr_free(c->name);
    c->name = dstr_len(c->argv[2]) ? dstr_dup(c->argv[2]) : NULL;
    reply_ok(c);
}

void cmd_client_getname(client *c) {
    if (c->name)
        reply_bulk_dstr(c, c->name);
    else
        reply_null(c);
}

enum {
    TYPE_NORMAL = CLIENT_TYPE_NORMAL,
    TYPE_REPLICA = CLIENT_TYPE_REPLICA,
    TYPE_MASTER = CLIENT_TYPE_MASTER,
    TYPE_PUBSUB = CLIENT_TYPE_PUBSUB,
    TYPE_ANY
};

static int parse_type(const dstr t) {
    if (arg_is(t, "normal")) return TYPE_NORMAL;
    if (arg_is(t, "slave") || arg_is(t, "replica")) return TYPE_REPLICA;
    if (arg_is(t, "master")) return TYPE_MASTER;
    if (arg_is(t, "pubsub")) return TYPE_PUBSUB;
    return -1;
}

/* An ADDR or LADDR filter is compared whole: "127.0.0.1:5000\0junk" names
 * no client (strcmp would stop at the NUL and kill 127.0.0.1:5000). */
static int filter_is_cstr(const dstr filter) {
    return !filter || memchr(filter, '\0', dstr_len(filter)) == NULL;
}

void cmd_client_list(client *c) {
    server *s = c->srv;
    int type = TYPE_ANY;
    long long *ids = NULL;
    int nids = 0;
    if (c->argc == 4 && arg_is(c->argv[2], "type")) {
        type = parse_type(c->argv[3]);
        if (type < 0) {
            reply_errorf(c, "ERR Unknown client type '%s'", c->argv[3]);
            return;
        }
    } else if (c->argc >= 4 && arg_is(c->argv[2], "id")) {
        nids = c->argc - 3;
        ids = __builtin_alloca(sizeof(long long) * (size_t)nids);
        for (int i = 0; i < nids; i++) {
            if (!util_str_to_ll(c->argv[3 + i], dstr_len(c->argv[3 + i]), &ids[i]) ||
                ids[i] <= 0) {
                reply_error(c, "ERR Invalid client ID");
                return;
            }
        }
    } else if (c->argc != 2) {
        reply_error(c, ERR_SYNTAX);
        return;
    }
    dstr out = dstr_empty();
    /* Oldest first, as Redis lists them. */
    client *last = s->clients;
    while (last && last->next) last = last->next;
    for (client *x = last; x; x = x->prev) {
        if (type != TYPE_ANY && (int)client_get_type(x) != type) continue;
        if (nids) {
            int hit = 0;
            for (int i = 0; i < nids; i++)
                if ((long long)x->id == ids[i]) hit = 1;
            if (!hit) continue;
        }
        out = client_info_string(x, out);
        out = dstr_cats(out, "\n");
    }
    if (type == TYPE_ANY || type == TYPE_REPLICA) out = repl_client_list(s, out, ids, nids);
    reply_verbatim(c, out, dstr_len(out));
    dstr_free(out);
}

void cmd_client_info(client *c) {
    dstr out = client_info_string(c, dstr_empty());
    out = dstr_cats(out, "\n");
    reply_verbatim(c, out, dstr_len(out));
    dstr_free(out);
}

void cmd_client_kill(client *c) {
    server *s = c->srv;
    dstr addr = NULL, laddr = NULL;
    long long id = 0, maxage = 0;
    int type = -1, skipme = 1;
    if (c->argc == 3) {
        addr = c->argv[2];
        skipme = 0;
    } else {
        if (c->argc % 2 == 1) {
            reply_error(c, ERR_SYNTAX);
            return;
        }
        for (int i = 2; i < c->argc; i += 2) {
            const dstr opt = c->argv[i], val = c->argv[i + 1];
            if (arg_is(opt, "id")) {
                if (!util_str_to_ll(val, dstr_len(val), &id) || id <= 0) {
                    reply_error(c, "ERR client-id should be greater than 0");
                    return;
                }
            } else if (arg_is(opt, "type")) {
                type = parse_type(val);
                if (type < 0) {
                    reply_errorf(c, "ERR Unknown client type '%s'", val);
                    return;
                }
            } else if (arg_is(opt, "addr")) {
                addr = val;
            } else if (arg_is(opt, "laddr")) {
                laddr = val;
            } else if (arg_is(opt, "user")) {
                if (!(dstr_len(val) == 7 && !memcmp(val, "default", 7))) {
                    reply_errorf(c, "ERR No such user '%s'", val);
                    return;
                }
            } else if (arg_is(opt, "skipme")) {
                if (arg_is(val, "yes"))
                    skipme = 1;
                else if (arg_is(val, "no"))
                    skipme = 0;
                else {
                    reply_error(c, ERR_SYNTAX);
                    return;
                }
            } else if (arg_is(opt, "maxage")) {
                if (!util_str_to_ll(val, dstr_len(val), &maxage) || maxage <= 0) {
                    reply_error(c, ERR_NOT_INT);
                    return;
                }
            } else {
                reply_error(c, ERR_SYNTAX);
                return;
            }
        }
    }
    long long killed = 0;
    int kill_self = 0;
    long long now = util_ms_time();
    int can_match = filter_is_cstr(addr) && filter_is_cstr(laddr);
    for (client *x = can_match ? s->clients : NULL; x; x = x->next) {
        if (addr && strcmp(x->addr, addr) != 0) continue;
        if (laddr && strcmp(x->laddr, laddr) != 0) continue;
        if (id && (long long)x->id != id) continue;
        if (type >= 0 && (int)client_get_type(x) != type) continue;
        if (maxage && (now - x->ctime_ms) / 1000 < maxage) continue;
        if (x == c && skipme) continue;
        if (x == c)
            kill_self = 1;
        else if (x->flags & CLIENT_MASTER)
            replica_kill_master(s); /* the link goes; the client with it */
        else
            x->flags |= CLIENT_CLOSE_ASAP;
        killed++;
    }
    if (can_match && (type == -1 || type == TYPE_REPLICA))
        killed += repl_client_kill(s, addr, laddr, id, maxage);
    if (c->argc == 3) {
        if (killed == 0)
            reply_error(c, "ERR No such client");
        else
            reply_ok(c);
    } else {
        reply_int(c, killed);
    }
    if (kill_self) c->flags |= CLIENT_CLOSE_AFTER_REPLY;
}

void cmd_client_pause(client *c) {
    server *s = c->srv;
    long long ms;
    if (!util_str_to_ll(c->argv[2], dstr_len(c->argv[2]), &ms)) {
        reply_error(c, "ERR timeout is not an integer or out of range");
        return;
    }
    if (ms < 0) {
        reply_error(c, "ERR timeout is negative");
        return;
    }
    enum pause_mode mode = PAUSE_ALL;
    if (c->argc == 4) {
        if (arg_is(c->argv[3], "write"))
            mode = PAUSE_WRITE;
        else if (!arg_is(c->argv[3], "all")) {
            reply_error(c, "ERR CLIENT PAUSE mode must be WRITE or ALL");
            return;
        }
    } else if (c->argc > 4) {
        reply_error(c, ERR_SYNTAX);
        return;
    }
    long long end = util_ms_time() + ms;
    /* A stronger or longer pause wins over the current one. */
    if (s->pause_mode == PAUSE_OFF || mode > s->pause_mode) s->pause_mode = mode;
    if (end > s->pause_end_ms || s->pause_mode == PAUSE_OFF) s->pause_end_ms = end;
    reply_ok(c);
}

void cmd_client_unpause(client *c) {
    server *s = c->srv;
    s->pause_mode = PAUSE_OFF;
    s->pause_end_ms = 0;
    reply_ok(c);
    client_unpause_all(s);
}

void cmd_client_no_evict(client *c) {
    if (arg_is(c->argv[2], "on"))
        c->flags |= CLIENT_NO_EVICT;
    else if (arg_is(c->argv[2], "off"))
        c->flags &= ~(uint32_t)CLIENT_NO_EVICT;
    else {
        reply_error(c, ERR_SYNTAX);
        return;
    }
    reply_ok(c);
}

void cmd_client_reply(client *c) {
    if (arg_is(c->argv[2], "on")) {
        reply_ok(c);
        return;
    }
    reply_error(c, "ERR CLIENT REPLY OFF|SKIP is not supported by Ringmaster");
}

/* CLIENT UNBLOCK id [TIMEOUT|ERROR]: a client blocked in a blocking read
 * or in WAIT is answered now, as if its timeout had come (the default) or
 * with the UNBLOCKED error. 1 when a client was so released. */
void cmd_client_unblock(client *c) {
    if (c->argc > 4) {
        reply_errorf(c, "ERR unknown subcommand or wrong number of arguments for '%.128s'. "
                        "Try CLIENT HELP.",
                     c->argv[1]);
        return;
    }
    long long id;
    if (arg_ll(c, c->argv[2], &id) < 0) return;
    int error = 0;
    if (c->argc == 4) {
        if (arg_is(c->argv[3], "error")) {
            error = 1;
        } else if (!arg_is(c->argv[3], "timeout")) {
            reply_error(c, "ERR CLIENT UNBLOCK reason should be TIMEOUT or ERROR");
            return;
        }
    }
    client *t = id > 0 ? server_find_client(c->srv, (uint64_t)id) : NULL;
    int done = t && (repl_wait_cut_short(c->srv, t, error) || blocking_cut_short(t, error));
    reply_int(c, done);
}

void cmd_client_help(client *c) {
    static const char *lines[] = {
        "CLIENT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "GETNAME", "    Return the name of the current connection.",
        "ID", "    Return the ID of the current connection.",
        "INFO", "    Return information about the current client connection.",
        "KILL <ip:port>", "    Kill connection made from <ip:port>.",
        "KILL <option> <value> [<option> <value> [...]]",
        "    Kill connections. Options are: ID, TYPE, ADDR, LADDR, USER, SKIPME, MAXAGE.",
        "LIST [options ...]", "    Return information about client connections.",
        "UNPAUSE", "    Stop the current client pause, resuming traffic.",
        "PAUSE <timeout> [WRITE|ALL]", "    Suspend all, or just write, clients for <timeout> milliseconds.",
        "SETNAME <name>", "    Assign the name <name> to the current connection.",
        "NO-EVICT (ON|OFF)", "    Protect current client connection from eviction.",
        "CACHING (YES|NO)", "    Say whether the next command's keys are tracked (OPTIN/OPTOUT).",
        "GETREDIR", "    Return the id tracking messages are redirected to, or -1.",
        "REPLY (ON|OFF|SKIP)", "    Turn the replies to this connection on or off.",
        "TRACKING (ON|OFF) [REDIRECT <id>] [BCAST] [PREFIX <prefix> [...]]",
        "         [OPTIN] [OPTOUT] [NOLOOP]",
        "    Turn server assisted client side caching on or off.",
        "TRACKINGINFO", "    Return the tracking state of this connection.",
        "UNBLOCK <clientid> [TIMEOUT|ERROR]",
        "    Answer a client blocked in a blocking command now, as on its timeout or with an "
        "error.",
    };
    reply_help(c, lines, (int)(sizeof(lines) / sizeof(lines[0])));
}
