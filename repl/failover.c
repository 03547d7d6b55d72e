/* failover: FAILOVER [TO host port [FORCE]] [ABORT] [TIMEOUT ms], a master
 * handing its role to one of its replicas without losing a write, as Redis
 * 7.0 does it.
 *
 *   no-failover --FAILOVER--> waiting-for-sync: writes are held; the target
 *       (the named replica, or the first to have acknowledged the whole
 *       stream) is awaited, its ACKs checked at every event-loop pass;
 *   waiting-for-sync --target synced (or TIMEOUT with FORCE)-->
 *       failover-in-progress: this server becomes the target's replica and
 *       its handshake ends with `PSYNC <replid> <offset> FAILOVER`, which
 *       makes the target promote itself before it answers; the old
 *       history then continues on the target through its replid2;
 *   failover-in-progress --+CONTINUE or +FULLRESYNC--> no-failover (writes
 *       flow again, now refused as a replica's);
 *   any state --ABORT, TIMEOUT without FORCE, or the target refusing the
 *       PSYNC--> no-failover, and a master again.
 *
 * The target side of `PSYNC ... FAILOVER` is in master_sync.c. */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "core/commands.h"
#include "core/log.h"
#include "core/mem.h"
#include "core/reply.h"
#include "core/util.h"
#include "repl/master_int.h"
#include "repl/repl.h"

const char *repl_failover_state_name(server *s) {
    repl_state *r = repl_of(s);
    switch (r ? r->failover_state : FAILOVER_NONE) {
    case FAILOVER_WAIT_FOR_SYNC: return "waiting-for-sync";
    case FAILOVER_IN_PROGRESS: return "failover-in-progress";
    default: return "no-failover";
    }
}

static void clear_failover(server *s) {
    repl_state *r = repl_of(s);
    r->failover_state = FAILOVER_NONE;
    r->failover_end_ms = 0;
    r->failover_force = 0;
    r->failover_host[0] = '\0';
    r->failover_port = 0;
    server_hold_writes(s, HOLD_FAILOVER, 0);
}

void repl_failover_abort(server *s, const char *why) {
    repl_state *r = repl_of(s);
    if (r->failover_state == FAILOVER_NONE) return;
    if (r->failover_host[0])
        log_msg(LL_NOTICE, "FAILOVER to %s:%d aborted: %s", r->failover_host, r->failover_port,
                why);
    else
        log_msg(LL_NOTICE, "FAILOVER to any replica aborted: %s", why);
    if (r->failover_state == FAILOVER_IN_PROGRESS) replica_become_master(s, NULL, NULL);
    clear_failover(s);
}

void repl_failover_done(server *s) {
    if (repl_of(s)->failover_state == FAILOVER_IN_PROGRESS) clear_failover(s);
}

static repl_replica *find_target(repl_state *r, const char *host, int port) {
    for (repl_replica *rr = r->replicas; rr; rr = rr->next)
        if (!rr->dropped && !strcasecmp(rr->ip, host) && rr->port == port) return rr;
    return NULL;
}

static void fail_over_to(server *s) {
    repl_state *r = repl_of(s);
    r->failover_state = FAILOVER_IN_PROGRESS;
    replica_failover_to(s, r->failover_host, r->failover_port);
}

/* Once per event-loop pass while waiting for the target. */
void repl_failover_update(server *s) {
    repl_state *r = repl_of(s);
    if (!r || r->failover_state != FAILOVER_WAIT_FOR_SYNC) return;
    if (r->failover_end_ms && util_ms_time() >= r->failover_end_ms) {
        if (!r->failover_force) {
            repl_failover_abort(s, "Replica never caught up before timeout");
            return;
        }
        log_msg(LL_NOTICE, "FAILOVER to %s:%d time out exceeded, failing over.",
                r->failover_host, r->failover_port);
        fail_over_to(s);
        return;
    }
    repl_replica *target = NULL;
    if (r->failover_host[0]) {
        target = find_target(r, r->failover_host, r->failover_port);
    } else {
        for (repl_replica *rr = r->replicas; rr; rr = rr->next) {
            if (rr->dropped || rr->ack_off != r->master_repl_offset) continue;
            target = rr;
            snprintf(r->failover_host, sizeof(r->failover_host), "%s", rr->ip);
            r->failover_port = rr->port;
            break;
        }
    }
    if (!target || target->ack_off != r->master_repl_offset) return;
    log_msg(LL_NOTICE, "Failover target %s:%d is synced, failing over.", r->failover_host,
            r->failover_port);
    fail_over_to(s);
}

static void cmd_failover(client *c) {
    server *s = c->srv;
    repl_state *r = repl_of(s);
    if (c->argc == 2 && arg_is(c->argv[1], "abort")) {
        if (r->failover_state == FAILOVER_NONE) {
            reply_error(c, "ERR No failover in progress.");
            return;
        }
        repl_failover_abort(s, "Failover manually aborted");
        reply_ok(c);
        return;
    }
    long long timeout = 0, port = 0;
    int force = 0;
    const char *host = NULL;
    for (int j = 1; j < c->argc; j++) {
        if (arg_is(c->argv[j], "timeout") && j + 1 < c->argc && timeout == 0) {
            if (arg_ll(c, c->argv[j + 1], &timeout) < 0) return;
            if (timeout <= 0) {
                reply_error(c, "ERR FAILOVER timeout must be greater than 0");
                return;
            }
            j++;
        } else if (arg_is(c->argv[j], "to") && j + 2 < c->argc && !host) {
            if (arg_ll(c, c->argv[j + 2], &port) < 0) return;
            host = c->argv[j + 1];
            j += 2;
        } else if (arg_is(c->argv[j], "force") && !force) {
            force = 1;
        } else {
            reply_error(c, ERR_SYNTAX);
            return;
        }
    }
    if (r->failover_state != FAILOVER_NONE) {
        reply_error(c, "ERR FAILOVER already in progress.");
        return;
    }
    if (repl_is_replica(s)) {
        reply_error(c, "ERR FAILOVER is not valid when server is a replica.");
        return;
    }
    if (repl_count_replicas(r) == 0) {
        reply_error(c, "ERR FAILOVER requires connected replicas.");
        return;
    }
    if (force && (!timeout || !host)) {
        reply_error(c, "ERR FAILOVER with force option requires both a timeout and target HOST "
                       "and IP.");
        return;
    }
    if (host) {
        repl_replica *rr = find_target(r, host, (int)port);
        if (!rr) {
            reply_error(c, "ERR FAILOVER target HOST and PORT is not a replica.");
            return;
        }
        if (rr->state != LINK_ONLINE) {
            reply_error(c, "ERR FAILOVER target replica is not online.");
            return;
        }
        snprintf(r->failover_host, sizeof(r->failover_host), "%s", host);
        r->failover_port = (int)port;
        log_msg(LL_NOTICE, "FAILOVER requested to %s:%lld.", host, port);
    } else {
        log_msg(LL_NOTICE, "FAILOVER requested to any replica.");
    }
    r->failover_end_ms = timeout ? util_ms_time() + timeout : 0;
    r->failover_force = force;
    r->failover_state = FAILOVER_WAIT_FOR_SYNC;
    server_hold_writes(s, HOLD_FAILOVER, 1);
    reply_ok(c);
}

static command failover_commands[] = {
    COMMAND_ROW("failover", cmd_failover, -1, CMD_ADMIN | CMD_NOSCRIPT | CMD_STALE, 0, 0, 0),
    COMMAND_END,
};

void repl_failover_register(void) { commands_register_table(failover_commands); }
