/* multi: transactions.
 *
 * While a client is in MULTI, commands that pass the syntax checks are
 * queued with their argv; one that fails them flags the transaction so
 * EXEC answers EXECABORT. WATCHed keys touched by anyone (including by
 * expiry) flag the client dirty, and EXEC then answers a null array.
 * EXEC runs the queue as one execution unit: every write inside it is
 * propagated as one MULTI ... EXEC block (or bare, when there is only
 * one), exactly as Redis 7.0 does. */
#include "core/multi.h"

#include "core/commands.h"
#include "core/db.h"
#include "core/mem.h"
#include "core/propagate.h"
#include "core/reply.h"

void multi_queue(client *c, const command *cmd) {
    if (c->mstate_count == c->mstate_cap) {
        c->mstate_cap = c->mstate_cap ? c->mstate_cap * 2 : 4;
        c->mstate = mem_realloc(c->mstate, sizeof(queued_cmd) * (size_t)c->mstate_cap);
    }
    queued_cmd *q = &c->mstate[c->mstate_count++];
    q->cmd = cmd;
    q->argv = c->argv;
    q->argc = c->argc;
    c->argv = NULL;
    c->argc = 0;
}

void multi_discard(client *c) {
    for (int i = 0; i < c->mstate_count; i++) {
        for (int j = 0; j < c->mstate[i].argc; j++) dstr_free(c->mstate[i].argv[j]);
        mem_free(c->mstate[i].argv);
    }
    mem_free(c->mstate);
    c->mstate = NULL;
    c->mstate_count = c->mstate_cap = 0;
    c->flags &= ~(uint32_t)(CLIENT_MULTI | CLIENT_DIRTY_EXEC);
}

int multi_has_writes(client *c) {
    for (int i = 0; i < c->mstate_count; i++)
        if (c->mstate[i].cmd->flags & (CMD_WRITE | CMD_MAY_REPLICATE)) return 1;
    return 0;
}

void cmd_multi(client *c) {
    if (c->flags & CLIENT_MULTI) {
        reply_error(c, "ERR MULTI calls can not be nested");
        return;
    }
    c->flags |= CLIENT_MULTI;
    reply_ok(c);
}

void cmd_discard(client *c) {
    if (!(c->flags & CLIENT_MULTI)) {
        reply_error(c, "ERR DISCARD without MULTI");
        return;
    }
    multi_discard(c);
    db_unwatch_all(c);
    reply_ok(c);
}

void cmd_exec(client *c) {
    if (!(c->flags & CLIENT_MULTI)) {
        reply_error(c, "ERR EXEC without MULTI");
        return;
    }
    if (db_watched_key_expired(c)) c->flags |= CLIENT_DIRTY_CAS;
    if (c->flags & (CLIENT_DIRTY_CAS | CLIENT_DIRTY_EXEC)) {
        if (c->flags & CLIENT_DIRTY_EXEC)
            reply_error(c, "EXECABORT Transaction discarded because of previous errors.");
        else
            reply_null_array(c);
        multi_discard(c);
        db_unwatch_all(c);
        return;
    }
    /* Unwatch before running: the transaction's own writes must not mark
     * it dirty. */
    db_unwatch_all(c);
    dstr *orig_argv = c->argv;
    int orig_argc = c->argc;
    const command *orig_cmd = c->cmd;
    int n = c->mstate_count;
    queued_cmd *q = c->mstate;
    c->mstate = NULL;
    c->mstate_count = c->mstate_cap = 0;
    reply_array(c, n);
    c->flags |= CLIENT_IN_EXEC;
    for (int i = 0; i < n; i++) {
        c->argv = q[i].argv;
        c->argc = q[i].argc;
        call_command(c, q[i].cmd);
        /* The command may have rewritten its argv for propagation. */
        q[i].argv = c->argv;
        q[i].argc = c->argc;
    }
    c->flags &= ~(uint32_t)(CLIENT_IN_EXEC | CLIENT_MULTI | CLIENT_DIRTY_EXEC);
    c->argv = orig_argv;
    c->argc = orig_argc;
    c->cmd = orig_cmd;
    for (int i = 0; i < n; i++) {
        for (int j = 0; j < q[i].argc; j++) dstr_free(q[i].argv[j]);
        mem_free(q[i].argv);
    }
    mem_free(q);
}

void cmd_watch(client *c) {
    if (c->flags & CLIENT_MULTI) {
        reply_error(c, "ERR WATCH inside MULTI is not allowed");
        return;
    }
    for (int i = 1; i < c->argc; i++) db_watch_key(c, c->argv[i]);
    reply_ok(c);
}

void cmd_unwatch(client *c) {
    db_unwatch_all(c);
    reply_ok(c);
}
