/* client: one connection's life on the keyspace thread.
 *
 * Input: bytes are read into `querybuf`; the incremental parser consumes
 * whole elements and yields complete commands, which run immediately, in
 * order. Nothing in the buffer is copied twice: consumed bytes are dropped
 * once per read, not once per command.
 * Output: replies accumulate in `reply` and are written by the event loop
 * once per pass (see server.c), so a pipeline of N commands costs one
 * write. A client that must be closed after its error reply gets
 * CLIENT_CLOSE_AFTER_REPLY; one that must go now gets CLIENT_CLOSE_ASAP
 * and is freed by the loop, never in the middle of a command. That is also
 * how a client whose pending output passes client-output-buffer-limit
 * goes: the limits are checked after each command and after each Pub/Sub
 * message, as Redis checks them whenever it adds output. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/blocking.h"
#include "core/db.h"
#include "core/dict.h"
#include "core/log.h"
#include "core/mem.h"
#include "core/monitor.h"
#include "core/tracking.h"
#include "core/multi.h"
#include "core/pubsub.h"
#include "core/reply.h"
#include "core/server.h"
#include "core/tls.h"
#include "core/util.h"
#include "repl/repl.h"

client *client_create(server *s, int fd, uint32_t flags) {
    client *c = mem_calloc(sizeof(*c));
    c->id = ++s->next_client_id;
    c->fd = fd;
    c->flags = flags;
    c->srv = s;
    c->db = &s->dbs[0];
    c->querybuf = dstr_empty();
    c->reply = dstr_empty();
    req_parser_init(&c->parser, s->cfg.proto_max_bulk_len);
    c->ctime_ms = c->last_interaction_ms = util_ms_time();
    c->authenticated = s->cfg.requirepass == NULL;
    c->resp = 2;
    if (!(flags & CLIENT_FAKE)) {
        c->next = s->clients;
        if (s->clients) s->clients->prev = c;
        s->clients = c;
        s->nclients++;
    }
    return c;
}

void client_reset_argv(client *c) {
    for (int i = 0; i < c->argc; i++) dstr_free(c->argv[i]);
    mem_free(c->argv);
    c->argv = NULL;
    c->argc = 0;
}

void client_set_argv(client *c, dstr *argv, int argc) {
    if (c->keep_orig_argv && !c->orig_argv && c->argv != argv) {
        c->orig_argv = c->argv;
        c->orig_argc = c->argc;
        c->argv = NULL;
        c->argc = 0;
    }
    client_reset_argv(c);
    c->argv = argv;
    c->argc = argc;
}

void client_replace_arg(client *c, int i, dstr v) {
    if (c->keep_orig_argv && !c->orig_argv) {
        c->orig_argv = mem_alloc(sizeof(dstr) * (size_t)c->argc);
        for (int j = 0; j < c->argc; j++) c->orig_argv[j] = dstr_dup(c->argv[j]);
        c->orig_argc = c->argc;
    }
    dstr_free(c->argv[i]);
    c->argv[i] = v;
}

/* Replace the command vector with the given C strings or dstrs... here
 * always dstrs, which the caller passes already allocated (ownership moves
 * to the client). */
void client_rewrite_argv(client *c, int argc, ...) {
    dstr *argv = mem_alloc(sizeof(dstr) * (size_t)argc);
    va_list ap;
    va_start(ap, argc);
    for (int i = 0; i < argc; i++) argv[i] = va_arg(ap, dstr);
    va_end(ap);
    client_set_argv(c, argv, argc);
}

static void unlink_pending(client *c) {
    server *s = c->srv;
    if (!(c->flags & CLIENT_PENDING_WRITE)) return;
    if (c->prev_pending)
        c->prev_pending->next_pending = c->next_pending;
    else
        s->pending_writes = c->next_pending;
    if (c->next_pending) c->next_pending->prev_pending = c->prev_pending;
    c->flags &= ~(uint32_t)CLIENT_PENDING_WRITE;
    c->next_pending = c->prev_pending = NULL;
}

static void unlink_paused(client *c) {
    server *s = c->srv;
    client **pp = &s->paused_clients;
    while (*pp) {
        if (*pp == c) {
            *pp = c->next_paused;
            break;
        }
        pp = &(*pp)->next_paused;
    }
    c->flags &= ~(uint32_t)CLIENT_PAUSED;
}

void client_free(client *c) {
    server *s = c->srv;
    if (c->flags & CLIENT_MASTER) repl_client_freed(s, c);
    if (s->current_client == c) s->current_client = NULL;
    unlink_pending(c);
    if (c->flags & CLIENT_PAUSED) unlink_paused(c);
    if (!(c->flags & CLIENT_FAKE)) {
        if (c->prev)
            c->prev->next = c->next;
        else
            s->clients = c->next;
        if (c->next) c->next->prev = c->prev;
        s->nclients--;
    }
    if (c->ssl) tls_conn_free(c->ssl, !(c->flags & CLIENT_TLS_HANDSHAKE));
    if (c->fd >= 0) {
        epoll_ctl(s->epfd, EPOLL_CTL_DEL, c->fd, NULL);
        close(c->fd);
    }
    blocking_unblock(c);
    monitor_remove(c);
    tracking_disable(c);
    pubsub_client_reset(c);
    multi_discard(c);
    db_unwatch_all(c);
    mem_free(c->watched);
    client_reset_argv(c);
    for (int i = 0; i < c->orig_argc; i++) dstr_free(c->orig_argv[i]);
    mem_free(c->orig_argv);
    req_parser_free(&c->parser);
    dstr_free(c->querybuf);
    dstr_free(c->reply);
    dstr_free(c->name);
    mem_free(c);
}

void client_close_async(client *c) { c->flags |= CLIENT_CLOSE_ASAP; }

void client_close_after_reply(client *c) { c->flags |= CLIENT_CLOSE_AFTER_REPLY; }

client *client_create_master(server *s, const char *addr, int dbid) {
    client *c = client_create(s, -1, CLIENT_MASTER);
    c->authenticated = 1;
    snprintf(c->addr, sizeof(c->addr), "%s", addr);
    c->db = &s->dbs[dbid >= 0 && dbid < s->dbnum ? dbid : 0];
    return c;
}

int client_db_index(const client *c) { return (int)(c->db - c->srv->dbs); }

/* The first error line of a reply (printable, into err): the reply itself,
 * or one inside EXEC's array. Only called when the command did reply an
 * error, so the line found is that error (a bulk string holding "\r\n-"
 * before it could only blur the text, not invent a failure). */
static void copy_first_error(const char *r, size_t len, char *err, size_t errlen) {
    size_t at = 0;
    if (!len || r[0] != '-') {
        const char *p = NULL;
        for (size_t i = 0; i + 2 < len; i++)
            if (r[i] == '\r' && r[i + 1] == '\n' && r[i + 2] == '-') {
                p = r + i + 2;
                break;
            }
        if (!p) {
            snprintf(err, errlen, "(error)");
            return;
        }
        at = (size_t)(p - r);
    }
    const char *end = memchr(r + at, '\r', len - at);
    size_t n = end ? (size_t)(end - (r + at)) : len - at;
    log_repr(err, errlen, r + at + 1, n ? n - 1 : 0);
}

int client_run_master_command(client *c, dstr *argv, int argc, char *err, size_t errlen) {
    server *s = c->srv;
    client_set_argv(c, argv, argc);
    client *prev = s->current_client;
    long long errors_before = s->stat_total_error_replies;
    s->current_client = c; /* db.c: the master's commands see expired keys */
    process_command(c);
    s->current_client = prev;
    if (errlen) err[0] = '\0';
    if (errlen && s->stat_total_error_replies > errors_before)
        copy_first_error(c->reply, dstr_len(c->reply), err, errlen);
    dstr_clear(c->reply);
    client_reset_argv(c);
    return (c->flags & CLIENT_MULTI) != 0;
}

int client_detach_socket(client *c) {
    int fd = c->fd;
    if (fd < 0) return -1;
    epoll_ctl(c->srv->epfd, EPOLL_CTL_DEL, fd, NULL);
    c->fd = -1;
    c->flags |= CLIENT_CLOSE_ASAP;
    return fd;
}

/* Whether a paused server must hold this command back. Replication
 * backpressure is asked here, before every command, not once per
 * event-loop pass, so that a pipeline stops at the limit rather than
 * somewhere past it. */
static int client_must_wait_for_unpause(client *c) {
    server *s = c->srv;
    if (s->pause_mode == PAUSE_OFF && !s->write_holds && !repl_write_must_wait(s)) return 0;
    if (c->flags & (CLIENT_REPLICA | CLIENT_MASTER)) return 0;
    if (s->pause_mode == PAUSE_ALL) return 1;
    /* PAUSE WRITE, like replication backpressure, holds writes and the
     * commands that may write (EXEC of a transaction with writes is held
     * by its queued flags). */
    const command *cmd = command_lookup(s, c->argv, c->argc);
    if (!cmd) return 0;
    int writes = (cmd->flags & (CMD_WRITE | CMD_MAY_REPLICATE)) ||
                 (!strcasecmp(cmd->name, "exec") && multi_has_writes(c));
    if (writes && s->pause_mode == PAUSE_OFF && !s->write_holds) repl_write_held(s);
    return writes;
}

/* The end of the RESP multibulk command at p (before end), or NULL when
 * it is not complete or not well formed (the parser will say why). Its
 * second argument, the key of nearly every command that has one, is
 * returned in *key / *klen (*key NULL when there is none). */
static const char *peek_command(const char *p, const char *end, const char **key, size_t *klen) {
    *key = NULL;
    if (p >= end || *p != '*') return NULL;
    long long n = 0, len;
    for (p++; p < end && *p >= '0' && *p <= '9' && n < 1000000; p++) n = n * 10 + (*p - '0');
    if (end - p < 2 || p[0] != '\r' || p[1] != '\n') return NULL;
    p += 2;
    for (long long i = 0; i < n; i++) {
        if (p >= end || *p != '$') return NULL;
        len = 0;
        for (p++; p < end && *p >= '0' && *p <= '9' && len < (1LL << 40); p++)
            len = len * 10 + (*p - '0');
        if (end - p < 2 || p[0] != '\r' || p[1] != '\n') return NULL;
        p += 2;
        if (end - p < len + 2) return NULL;
        if (i == 1) {
            *key = p;
            *klen = (size_t)len;
        }
        p += len + 2;
    }
    return p;
}

#define PIPELINE_PREFETCH_BYTES (64 * 1024)

/* A pipeline's commands each look up a key, and with a large keyspace each
 * lookup waits on memory three times (bucket, entry, key and value). Ask
 * for all of them at once, step by step, so that the waits overlap: before
 * a batch of complete commands runs, their keys are hashed and prefetched
 * in the client's current db. Only a hint: a command that is not keyed, or
 * a SELECT inside the batch, only wastes a prefetch. */
void client_prefetch_commands(client *c, const char *buf, size_t len) {
    const char *key[CLIENT_PREFETCH_BATCH];
    size_t klen[CLIENT_PREFETCH_BATCH];
    uint64_t h[CLIENT_PREFETCH_BATCH];
    int n = 0;
    /* At most a batch of commands, keyed or not, within the first 64 KB. */
    const char *p = buf;
    const char *end = p + (len < PIPELINE_PREFETCH_BYTES ? len : PIPELINE_PREFETCH_BYTES);
    for (int cmds = 0; cmds < CLIENT_PREFETCH_BATCH; cmds++) {
        const char *next = peek_command(p, end, &key[n], &klen[n]);
        if (!next) break;
        if (key[n]) n++;
        p = next;
    }
    if (n < 2) return; /* a lone command gains nothing */
    dict *keys = c->db->keys;
    for (int i = 0; i < n; i++) h[i] = dict_hash_bytes(key[i], klen[i]);
    for (int step = 0; step < 3; step++)
        for (int i = 0; i < n; i++) dict_prefetch(keys, h[i], step);
    /* And the value's own bytes: a write frees or rewrites them, a read
     * replies with them. */
    for (int i = 0; i < n; i++) {
        const obj *o = dict_head_val(keys, h[i]);
        if (o && o->enc != ENC_INT) dstr_prefetch(o->ptr);
    }
}

void client_process_input(client *c) {
    server *s = c->srv;
    /* Bytes parsed so far: the buffer is compacted once, on the way out,
     * not after every command of a pipeline. */
    size_t pos = 0;
    int ran = 0;
    while (!(c->flags & (CLIENT_CLOSE_AFTER_REPLY | CLIENT_CLOSE_ASAP | CLIENT_PAUSED |
                         CLIENT_BLOCKED))) {
        if (c->argc == 0) {
            size_t used = 0;
            size_t have = dstr_len(c->querybuf) - pos;
            if (have == 0) break;
            /* Only from a command boundary: mid-bulk, the buffer holds
             * payload that may merely look like RESP. */
            if (ran++ % CLIENT_PREFETCH_BATCH == 0 && req_at_boundary(&c->parser))
                client_prefetch_commands(c, c->querybuf + pos, have);
            c->parser.auth_required = !c->authenticated;
            req_status st = req_parse(&c->parser, c->querybuf + pos, have, &used);
            pos += used;
            if (st == REQ_NEED_MORE) break;
            if (st == REQ_ERROR) {
                log_msg(LL_VERBOSE, "Protocol error (%s) from client: id=%llu addr=%s",
                        c->parser.error, (unsigned long long)c->id, c->addr);
                reply_error(c, c->parser.error);
                c->flags |= CLIENT_CLOSE_AFTER_REPLY;
                break;
            }
            c->argv = req_take_argv(&c->parser, &c->argc);
        }
        if (client_must_wait_for_unpause(c)) {
            c->flags |= CLIENT_PAUSED;
            c->next_paused = s->paused_clients;
            s->paused_clients = c;
            break;
        }
        process_command(c);
        client_check_output_limits(c);
        /* A blocked command keeps its argv: it runs again when served. */
        if (c->flags & CLIENT_BLOCKED) break;
        client_reset_argv(c);
        blocking_handle_ready(s);
        if (s->shutdown_asap) break;
    }
    if (pos) dstr_keep(c->querybuf, pos, dstr_len(c->querybuf) - pos);
}

void client_unpause_all(server *s) {
    client *list = s->paused_clients;
    s->paused_clients = NULL;
    /* Resume in arrival order: the list was built newest first. */
    client *rev = NULL;
    while (list) {
        client *next = list->next_paused;
        list->next_paused = rev;
        rev = list;
        list = next;
    }
    while (rev) {
        client *next = rev->next_paused;
        rev->flags &= ~(uint32_t)CLIENT_PAUSED;
        rev->next_paused = NULL;
        client_process_input(rev);
        rev = next;
    }
}

void client_set_write_interest(client *c, int on) {
    if (!on == !(c->flags & CLIENT_WRITE_ARMED)) return;
    struct epoll_event ev = {.events = on ? EPOLLIN | EPOLLOUT : EPOLLIN, .data.ptr = c};
    epoll_ctl(c->srv->epfd, EPOLL_CTL_MOD, c->fd, &ev);
    if (on)
        c->flags |= CLIENT_WRITE_ARMED;
    else
        c->flags &= ~(uint32_t)CLIENT_WRITE_ARMED;
}

static ssize_t write_socket(client *c, const char *buf, size_t len) {
    if (!c->ssl) return write(c->fd, buf, len);
    int want = 0;
    return tls_write(c->ssl, buf, len, &want);
}

/* Write as much pending output as the socket takes. Returns -1 when the
 * client must be closed. */
int client_write_pending(client *c) {
    server *s = c->srv;
    while (c->reply_sent < dstr_len(c->reply)) {
        ssize_t n = write_socket(c, c->reply + c->reply_sent, dstr_len(c->reply) - c->reply_sent);
        if (n > 0) {
            c->reply_sent += (size_t)n;
            s->stat_net_output_bytes += n;
            continue;
        }
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
        return -1;
    }
    if (c->reply_sent == dstr_len(c->reply)) {
        /* Keep a modest buffer around for the next replies; give back
         * big ones. */
        if (dstr_alloc_size(c->reply) > 64 * 1024) {
            dstr_free(c->reply);
            c->reply = dstr_empty();
        } else {
            dstr_clear(c->reply);
        }
        c->reply_sent = 0;
        /* A TLS read waiting for the socket to be writable keeps it. */
        if (!(c->flags & CLIENT_TLS_READ_WANTS_WRITE)) client_set_write_interest(c, 0);
        if (c->flags & CLIENT_CLOSE_AFTER_REPLY) return -1;
    } else {
        client_set_write_interest(c, 1);
    }
    return 0;
}

/* Redis's islocalClient: a unix socket or a loopback peer. A client with
 * no socket runs inside the server (tests, loading) and counts as local. */
int client_is_local(client *c) {
    if (c->flags & CLIENT_UNIX_SOCKET) return 1;
    return util_addr_is_loopback(c->addr) || c->fd < 0;
}

enum client_type client_get_type(const client *c) {
    if (c->flags & CLIENT_MASTER) return CLIENT_TYPE_MASTER;
    if (c->flags & CLIENT_REPLICA) return CLIENT_TYPE_REPLICA;
    if (c->flags & CLIENT_PUBSUB) return CLIENT_TYPE_PUBSUB;
    return CLIENT_TYPE_NORMAL;
}

/* Whether the pending output is over a limit of the client's class. The
 * soft limit counts only once it held for more than its seconds; going
 * under it restarts the clock. Replicas are not here: their limit is on
 * the stream they are behind, checked by repl/. */
static int over_output_limits(client *c, size_t used) {
    const config *cfg = &c->srv->cfg;
    const client_obuf_limit *lim =
        client_get_type(c) == CLIENT_TYPE_PUBSUB ? &cfg->obuf_pubsub : &cfg->obuf_normal;
    if (lim->hard > 0 && (long long)used >= lim->hard) return 1;
    if (lim->soft <= 0 || (long long)used < lim->soft) {
        c->obuf_soft_since_ms = 0;
        return 0;
    }
    long long now = util_ms_time();
    if (!c->obuf_soft_since_ms) {
        c->obuf_soft_since_ms = now;
        return 0;
    }
    return now - c->obuf_soft_since_ms > lim->soft_seconds * 1000;
}

int client_check_output_limits(client *c) {
    /* A client without a socket (the master's, a fake one) is never freed
     * here; one already closing has nothing more to lose. */
    if (c->fd < 0 || (c->flags & (CLIENT_CLOSE_ASAP | CLIENT_REPLICA))) return 0;
    size_t used = dstr_len(c->reply) - c->reply_sent;
    if (used == 0 || !over_output_limits(c, used)) return 0;
    dstr ci = client_info_string(c, dstr_empty());
    c->flags |= CLIENT_CLOSE_ASAP;
    log_msg(LL_WARNING,
            "Client %s scheduled to be closed ASAP for overcoming of output buffer limits.", ci);
    dstr_free(ci);
    return 1;
}

dstr client_info_string(client *c, dstr out) {
    long long now = util_ms_time();
    char flags[16];
    int f = 0;
    /* In Redis's order (catClientInfoString). */
    if (c->flags & CLIENT_MONITOR) flags[f++] = 'O';
    if (c->flags & CLIENT_REPLICA) flags[f++] = 'S';
    if (c->flags & CLIENT_MASTER) flags[f++] = 'M';
    if (c->flags & CLIENT_PUBSUB) flags[f++] = 'P';
    if (c->flags & CLIENT_MULTI) flags[f++] = 'x';
    if (c->flags & CLIENT_PAUSED) flags[f++] = 'b';
    if (c->flags & CLIENT_TRACKING) flags[f++] = 't';
    if (c->flags & CLIENT_TRACKING_BROKEN_REDIR) flags[f++] = 'R';
    if (c->flags & CLIENT_TRACKING_BCAST) flags[f++] = 'B';
    if (c->flags & CLIENT_DIRTY_CAS) flags[f++] = 'd';
    if (c->flags & CLIENT_CLOSE_AFTER_REPLY) flags[f++] = 'c';
    if (c->flags & CLIENT_UNIX_SOCKET) flags[f++] = 'U';
    if (c->flags & CLIENT_NO_EVICT) flags[f++] = 'e';
    if (f == 0) flags[f++] = 'N';
    flags[f] = '\0';
    const char *cmd = c->lastcmd ? c->lastcmd->name : "NULL";
    return dstr_catfmt(
        out,
        "id=%llu addr=%s laddr=%s fd=%d name=%s age=%lld idle=%lld flags=%s db=%d sub=%lld "
        "psub=%lld ssub=%lld multi=%d qbuf=%zu qbuf-free=%zu argv-mem=0 multi-mem=0 rbs=%zu "
        "rbp=%zu obl=0 oll=0 omem=%zu tot-mem=%zu events=r%s cmd=%s user=default "
        "redir=%lld resp=%d",
        (unsigned long long)c->id, c->addr, c->laddr, c->fd, c->name ? c->name : "",
        (now - c->ctime_ms) / 1000, (now - c->last_interaction_ms) / 1000, flags, c->db->id,
        pubsub_client_count(c, PUBSUB_CHANNEL), pubsub_client_count(c, PUBSUB_PATTERN),
        pubsub_client_count(c, PUBSUB_SHARD), (c->flags & CLIENT_MULTI) ? c->mstate_count : -1,
        dstr_len(c->querybuf), dstr_avail(c->querybuf), dstr_alloc_size(c->querybuf), c->qb_peak,
        dstr_len(c->reply) - c->reply_sent,
        sizeof(client) + dstr_alloc_size(c->querybuf) + dstr_alloc_size(c->reply),
        (c->flags & CLIENT_WRITE_ARMED) ? "w" : "", cmd,
        (c->flags & CLIENT_TRACKING) ? (long long)c->tracking_redirect : -1LL, c->resp);
}
