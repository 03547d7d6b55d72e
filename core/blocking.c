/* blocking: see blocking.h.
 *
 * Data: each db maps a key to the FIFO of clients blocked on it; a client
 * remembers its keys, so unblocking removes it from every queue. Keys that
 * become ready (db_add signals them) are collected in a list and served
 * after the command that created them, never in the middle of it: a
 * blocked client must observe the dataset between commands, like any
 * other client. Serving a key walks its queue in arrival order and
 * re-executes each waiting command while the key still exists with the
 * awaited type; the first client that empties it stops the walk. */
#include "core/blocking.h"

#include <limits.h>
#include <math.h>
#include <string.h>

#include "core/commands.h"
#include "core/db.h"
#include "core/mem.h"
#include "core/reply.h"
#include "core/util.h"

typedef struct ready_key {
    int dbid;
    dstr key;
} ready_key;

typedef struct waiters {
    client **v;
    int n, cap;
} waiters;

int client_may_block(const client *c) {
    return !(c->flags & (CLIENT_IN_EXEC | CLIENT_MULTI | CLIENT_FAKE)) && c->fd >= 0;
}

dstr blocking_ready_key(const client *c) { return c->bstate.ready_key; }

int parse_block_timeout(client *c, const dstr arg, long long *abs_ms) {
    long double secs;
    if (!util_str_to_ld(arg, dstr_len(arg), &secs) || isnan(secs)) {
        reply_error(c, "ERR timeout is not a float or out of range");
        return -1;
    }
    /* Redis 7.0 rounds seconds * 1000 up to whole milliseconds (so 0.0001
     * waits 1 ms rather than forever, and -0.5 ms is no timeout); values
     * that do not fit come out as LLONG_MIN on x86, which it then reports
     * as negative. Reproduce that instead of relying on undefined
     * behaviour. */
    long double ms = ceill(secs * 1000.0L);
    long long rel;
    if (isinf(ms) || ms >= 9223372036854775807.0L || ms <= -9223372036854775808.0L)
        rel = LLONG_MIN;
    else
        rel = (long long)ms;
    if (rel < 0) {
        reply_error(c, "ERR timeout is negative");
        return -1;
    }
    long long now = util_ms_time();
    if (rel > 0 && rel > LLONG_MAX - now) {
        reply_error(c, "ERR timeout is out of range");
        return -1;
    }
    *abs_ms = rel > 0 ? now + rel : 0;
    return 0;
}

static waiters *waiters_for(db *d, const dstr key, int create) {
    dict_entry *de = dict_find(d->blocking, key);
    if (de) return de->v.val;
    if (!create) return NULL;
    waiters *w = mem_calloc(sizeof(*w));
    dict_add(d->blocking, dstr_dup(key), w);
    return w;
}

void block_for_keys(client *c, dstr *keys, int nkeys, int type, long long timeout_ms,
                    const char *timeout_reply) {
    if (c->flags & CLIENT_BLOCKED) {
        /* Re-executed and still nothing to serve: keep the place. */
        c->bstate.reblocked = 1;
        return;
    }
    server *s = c->srv;
    c->flags |= CLIENT_BLOCKED;
    c->bstate.keys = mem_alloc(sizeof(dstr) * (size_t)nkeys);
    c->bstate.nkeys = 0;
    for (int i = 0; i < nkeys; i++) {
        int dup = 0;
        for (int j = 0; j < c->bstate.nkeys; j++)
            if (!dstr_cmp(c->bstate.keys[j], keys[i])) dup = 1;
        if (dup) continue;
        c->bstate.keys[c->bstate.nkeys++] = dstr_dup(keys[i]);
        waiters *w = waiters_for(c->db, keys[i], 1);
        if (w->n == w->cap) {
            w->cap = w->cap ? w->cap * 2 : 4;
            w->v = mem_realloc(w->v, sizeof(client *) * (size_t)w->cap);
        }
        w->v[w->n++] = c;
    }
    c->bstate.type = type;
    c->bstate.timeout_ms = timeout_ms;
    c->bstate.timeout_reply = timeout_reply;
    c->bstate.reblocked = 0;
    s->blocked_clients++;
}

void blocking_unblock(client *c) {
    if (!(c->flags & CLIENT_BLOCKED)) return;
    server *s = c->srv;
    for (int i = 0; i < c->bstate.nkeys; i++) {
        waiters *w = waiters_for(c->db, c->bstate.keys[i], 0);
        if (w) {
            for (int j = 0; j < w->n; j++) {
                if (w->v[j] == c) {
                    memmove(&w->v[j], &w->v[j + 1], sizeof(client *) * (size_t)(w->n - j - 1));
                    w->n--;
                    break;
                }
            }
            if (w->n == 0) dict_delete(c->db->blocking, c->bstate.keys[i]);
        }
        dstr_free(c->bstate.keys[i]);
    }
    mem_free(c->bstate.keys);
    memset(&c->bstate, 0, sizeof(c->bstate));
    c->flags &= ~(uint32_t)CLIENT_BLOCKED;
    s->blocked_clients--;
}

void blocking_signal_key(server *s, db *d, const dstr key) {
    if (dict_size(d->blocking) == 0 || !dict_find(d->blocking, key)) return;
    for (int i = 0; i < s->nready; i++)
        if (s->ready_keys[i].dbid == d->id && !dstr_cmp(s->ready_keys[i].key, key)) return;
    if (s->nready == s->ready_cap) {
        s->ready_cap = s->ready_cap ? s->ready_cap * 2 : 8;
        s->ready_keys = mem_realloc(s->ready_keys, sizeof(ready_key) * (size_t)s->ready_cap);
    }
    s->ready_keys[s->nready].dbid = d->id;
    s->ready_keys[s->nready].key = dstr_dup(key);
    s->nready++;
}

/* After a blocked client is released, run what it pipelined behind the
 * blocking command. */
static void resume_client(client *c) {
    client_reset_argv(c);
    client_process_input(c);
}

void blocking_queue_resume(client *c) {
    server *s = c->srv;
    if (s->nresume == s->resume_cap) {
        s->resume_cap = s->resume_cap ? s->resume_cap * 2 : 8;
        s->resume_ids = mem_realloc(s->resume_ids, sizeof(uint64_t) * (size_t)s->resume_cap);
    }
    s->resume_ids[s->nresume++] = c->id;
}

/* Resume the clients queued by blocking_queue_resume, oldest first, at the
 * top level only: a resumed pipeline may queue more (its own CLIENT
 * UNBLOCK), which this same loop then takes. */
static void resume_queued(server *s) {
    if (s->resuming) return;
    s->resuming = 1;
    while (s->nresume) {
        uint64_t id = s->resume_ids[0];
        memmove(&s->resume_ids[0], &s->resume_ids[1], sizeof(uint64_t) * (size_t)(s->nresume - 1));
        s->nresume--;
        client *c = server_find_client(s, id);
        if (c && !(c->flags & (CLIENT_BLOCKED | CLIENT_CLOSE_ASAP))) resume_client(c);
    }
    s->resuming = 0;
}

static void serve_key(server *s, int dbid, const dstr key) {
    db *d = &s->dbs[dbid];
    waiters *w = waiters_for(d, key, 0);
    if (!w) return;
    /* Snapshot the queue: serving changes it. */
    int n = w->n;
    client **order = mem_alloc(sizeof(client *) * (size_t)(n ? n : 1));
    memcpy(order, w->v, sizeof(client *) * (size_t)n);
    for (int i = 0; i < n; i++) {
        client *c = order[i];
        obj *o = db_peek(d, key);
        if (!o) break;
        if (!(c->flags & CLIENT_BLOCKED) || c->db != d) continue;
        if (o->type != c->bstate.type) continue;
        if (c->flags & CLIENT_CLOSE_ASAP) continue;
        const command *cmd = command_lookup(s, c->argv, c->argc);
        if (!cmd) continue;
        c->bstate.reblocked = 0;
        c->bstate.ready_key = (dstr)key;
        client *prev = s->current_client;
        s->current_client = c;
        call_command(c, cmd);
        s->current_client = prev;
        c->bstate.ready_key = NULL;
        if (!c->bstate.reblocked) {
            blocking_unblock(c);
            resume_client(c);
        }
    }
    mem_free(order);
}

void blocking_handle_ready(server *s) {
    if (!s->handling_ready && s->nready) {
        s->handling_ready = 1;
        while (s->nready) {
            ready_key rk = s->ready_keys[0];
            memmove(&s->ready_keys[0], &s->ready_keys[1],
                    sizeof(ready_key) * (size_t)(s->nready - 1));
            s->nready--;
            serve_key(s, rk.dbid, rk.key);
            dstr_free(rk.key);
        }
        s->handling_ready = 0;
    }
    if (!s->handling_ready) resume_queued(s);
}

void blocking_check_timeouts(server *s) {
    if (s->blocked_clients == 0) return;
    long long now = util_ms_time();
    for (client *c = s->clients; c; c = c->next) {
        if (!(c->flags & CLIENT_BLOCKED) || c->bstate.timeout_ms == 0) continue;
        if (now < c->bstate.timeout_ms) continue;
        const char *r = c->bstate.timeout_reply;
        blocking_unblock(c);
        reply_canned(c, r);
        /* Not here: a resumed pipeline could free the clients this loop
         * walks. */
        blocking_queue_resume(c);
    }
    resume_queued(s);
}

int blocking_cut_short(client *c, int error) {
    /* Only a blocking read has a timeout reply: a SHUTDOWN waiting for
     * its replicas (or WAIT, repl_wait_cut_short's) is not released. */
    const char *r = c->bstate.timeout_reply;
    if (!(c->flags & CLIENT_BLOCKED) || !r) return 0;
    blocking_unblock(c);
    if (error)
        reply_error(c, BLOCKING_UNBLOCKED_ERROR);
    else
        reply_canned(c, r);
    /* Its pipeline runs after the command that released it, as Redis's
     * unblocked clients do, never inside it (a MULTI, the propagation). */
    blocking_queue_resume(c);
    return 1;
}

long long blocking_next_timeout(server *s) {
    long long next = 0;
    if (s->blocked_clients == 0) return 0;
    for (client *c = s->clients; c; c = c->next) {
        if (!(c->flags & CLIENT_BLOCKED) || c->bstate.timeout_ms == 0) continue;
        if (!next || c->bstate.timeout_ms < next) next = c->bstate.timeout_ms;
    }
    return next;
}

int blocking_count(server *s) { return s->blocked_clients; }

void blocking_free(server *s) {
    for (int i = 0; i < s->nready; i++) dstr_free(s->ready_keys[i].key);
    mem_free(s->ready_keys);
    s->ready_keys = NULL;
    s->nready = s->ready_cap = 0;
    mem_free(s->resume_ids);
    s->resume_ids = NULL;
    s->nresume = s->resume_cap = 0;
}
