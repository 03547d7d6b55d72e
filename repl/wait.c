/* wait: WAIT numreplicas timeout.
 *
 * WAIT answers how many replicas acknowledged the stream up to the offset
 * the master had reached when WAIT ran (Redis uses the client's last write
 * offset; ours is at least that, so the answer is never too optimistic).
 * If fewer than asked have it, the client blocks: it is parked through the
 * blocking module with no key (so it stops reading its pipeline and shows
 * as blocked) and a waiter entry here, keyed by client id. "REPLCONF
 * GETACK *" goes into the stream before the loop sleeps, so replicas ACK
 * at once instead of at their next once-a-second ACK. Every batch of
 * reports and every cron tick re-checks the waiters; a waiter whose client
 * is gone (closed while blocked) is dropped silently. */
#include <string.h>

#include "core/blocking.h"
#include "core/commands.h"
#include "core/mem.h"
#include "core/reply.h"
#include "core/util.h"
#include "repl/master_int.h"

long long repl_count_acks(repl_state *r, long long offset) {
    long long n = 0;
    for (repl_replica *rr = r->replicas; rr; rr = rr->next)
        if (!rr->dropped && rr->state == LINK_ONLINE && rr->ack_off >= offset) n++;
    return n;
}

void repl_wait_check(server *s) {
    repl_state *r = repl_of(s);
    if (r->nwaiters == 0) return;
    long long now = util_ms_time();
    int kept = 0;
    for (int i = 0; i < r->nwaiters; i++) {
        repl_waiter *w = &r->waiters[i];
        client *c = server_find_client(s, w->client_id);
        if (!c || !(c->flags & CLIENT_BLOCKED) || (c->flags & CLIENT_CLOSE_ASAP)) continue;
        long long acks = repl_count_acks(r, w->offset);
        if (acks < w->numreplicas && (w->deadline_ms == 0 || now < w->deadline_ms)) {
            r->waiters[kept++] = *w;
            continue;
        }
        blocking_unblock(c);
        reply_int(c, acks);
        /* What it pipelined behind WAIT runs once this loop is done: a
         * pipelined WAIT or CLIENT UNBLOCK changes the waiters. */
        blocking_queue_resume(c);
    }
    r->nwaiters = kept;
    blocking_handle_ready(s);
}

int repl_wait_cut_short(server *s, client *c, int error) {
    repl_state *r = repl_of(s);
    for (int i = 0; i < r->nwaiters; i++) {
        repl_waiter *w = &r->waiters[i];
        if (w->client_id != c->id) continue;
        long long offset = w->offset;
        memmove(w, w + 1, sizeof(*w) * (size_t)(r->nwaiters - i - 1));
        r->nwaiters--;
        if (!(c->flags & CLIENT_BLOCKED)) return 0;
        blocking_unblock(c);
        if (error)
            reply_error(c, BLOCKING_UNBLOCKED_ERROR);
        else
            reply_int(c, repl_count_acks(r, offset));
        blocking_queue_resume(c);
        return 1;
    }
    return 0;
}

static void cmd_wait(client *c) {
    server *s = c->srv;
    repl_state *r = repl_of(s);
    long long numreplicas, timeout;
    if (c->flags & CLIENT_MASTER) {
        reply_error(c, "ERR WAIT cannot be used with replica instances. Please also note that "
                       "since Redis 4.0 if a replica is configured to be writable (which is not "
                       "the default) writes to replicas are just local and are not propagated.");
        return;
    }
    if (arg_ll(c, c->argv[1], &numreplicas) < 0) return;
    if (!util_str_to_ll(c->argv[2], dstr_len(c->argv[2]), &timeout)) {
        reply_error(c, "ERR timeout is not an integer or out of range");
        return;
    }
    if (timeout < 0) {
        reply_error(c, "ERR timeout is negative");
        return;
    }
    long long offset = r->master_repl_offset;
    long long acks = repl_count_acks(r, offset);
    if (acks >= numreplicas || !client_may_block(c)) {
        reply_int(c, acks);
        return;
    }
    if (r->nwaiters == r->waiters_cap) {
        r->waiters_cap = r->waiters_cap ? r->waiters_cap * 2 : 8;
        r->waiters = mem_realloc(r->waiters, sizeof(*r->waiters) * (size_t)r->waiters_cap);
    }
    r->waiters[r->nwaiters++] = (repl_waiter){c->id, offset, numreplicas,
                                              timeout ? util_ms_time() + timeout : 0};
    /* No keys and no timeout of its own: this module answers and unblocks. */
    block_for_keys(c, NULL, 0, -1, 0, NULL);
    r->get_ack_requested = 1;
}

static command wait_commands[] = {
    COMMAND_ROW("wait", cmd_wait, 3, CMD_NOSCRIPT, 0, 0, 0),
    COMMAND_END,
};

void repl_wait_register(void) { commands_register_table(wait_commands); }
