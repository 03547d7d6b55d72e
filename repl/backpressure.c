/* backpressure: `repl-backpressure-lag <bytes>`, holding writes back while
 * a replica is that far behind (0, the default, turns it off).
 *
 * A master that writes faster than its replicas apply lets their lag grow
 * without bound: what a failover then loses. Redis's only brake is
 * min-replicas-max-lag, which refuses writes once a replica has been
 * silent for seconds. This one is finer: while the slowest streaming
 * replica has applied less than master_repl_offset - lag, commands that
 * write wait, as under CLIENT PAUSE WRITE, and reads go on. They run
 * again once that replica is back within the limit. The limit is checked
 * before every command; what the replicas acknowledged is refreshed once
 * per event-loop pass (limits under 1 KB count as 1 KB).
 *
 * What a replica has applied is what it acknowledges. Replicas ACK once a
 * second on their own, far too seldom to steer by, so while writes flow
 * the master appends "REPLCONF GETACK *" to the stream every
 * BP_GETACK_MS and every eighth of the limit: a replica answers each one
 * when it reaches it, so the ACKs trace its progress through the stream.
 * Only replicas that can be waited for count: streaming (online), PSYNC-capable (a plain SYNC
 * client such as `redis-cli --replica` never ACKs), and ACKing, the last
 * time within BP_SILENT_MS, so a hung replica stops holding writes after
 * that long (repl-timeout then drops it) and one still loading its
 * snapshot holds nothing. */
#include "core/server.h"
#include "repl/master_int.h"
#include "repl/repl.h"

#define BP_GETACK_MS 10
#define BP_SILENT_MS 2000
/* A Redis replica's ACK leaves out the GETACK it answers (37 bytes): a
 * smaller limit could never be met again. */
#define BP_MIN_LIMIT 1024

/* The lowest offset a replica that counts has acknowledged, or -1 when
 * none counts. A replica counts from its first real ACK on: one still
 * loading its snapshot sends only newlines, which keep it from timing
 * out but say nothing about what it applied. */
static long long slowest_ack(repl_state *r, long long now) {
    long long lo = -1;
    for (repl_replica *rr = r->replicas; rr; rr = rr->next) {
        if (rr->dropped || rr->state != LINK_ONLINE || rr->old_sync) continue;
        if (rr->last_ack_ms == 0 || now - rr->last_ack_ms > BP_SILENT_MS) continue;
        if (lo < 0 || rr->ack_off < lo) lo = rr->ack_off;
    }
    return lo;
}

void repl_backpressure(server *s, long long now) {
    repl_state *r = repl_of(s);
    long long limit = s->cfg.repl_backpressure_lag;
    if (limit > 0 && limit < BP_MIN_LIMIT) limit = BP_MIN_LIMIT;
    long long lo = limit > 0 && r->bl ? slowest_ack(r, now) : -1;
    r->bp_armed = lo >= 0;
    r->bp_until = lo >= 0 ? lo + limit : 0;
    /* Writes that wait run again once the stream is back within reach
     * (each re-checks, command by command, and may wait again). */
    if (r->bp_holding && (!r->bp_armed || r->master_repl_offset <= r->bp_until)) {
        r->bp_holding = 0;
        client_unpause_all(s); /* those CLIENT PAUSE still holds wait again */
    }
    /* Ask for ACKs while the stream grows (and so the replicas have
     * something to catch up on), not on an idle master, nor under CLIENT
     * PAUSE, whose point is an offset that stays put: every BP_GETACK_MS,
     * and at least every eighth of the limit, so that a held master hears
     * of the replica's progress in steps finer than the limit instead of
     * waiting for it to drain the whole stream. */
    long long since = r->master_repl_offset - r->getack_end;
    if (lo >= 0 && since > 0 && s->pause_mode == PAUSE_OFF &&
        (since >= limit / 8 || now - r->getack_ms >= BP_GETACK_MS)) {
        r->get_ack_requested = 1;
        r->getack_ms = now;
    }
}

int repl_write_must_wait(server *s) {
    const repl_state *r = repl_of(s);
    return r && r->bp_armed && r->master_repl_offset > r->bp_until;
}

void repl_write_held(server *s) {
    repl_state *r = repl_of(s);
    if (!r || r->bp_holding) return;
    r->bp_holding = 1;
    r->bp_holds++;
}
