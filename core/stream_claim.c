/* stream_claim: XCLAIM and XAUTOCLAIM, moving pending entries between the
 * consumers of a group.
 *
 * Both follow Redis 7.0: the consumer is created only when a first entry
 * is actually claimed; an ID whose entry was deleted from the stream is
 * dropped from the PEL (XAUTOCLAIM lists those IDs in its third reply
 * element); every NACK touched is propagated as the idempotent XCLAIM ...
 * FORCE JUSTID form (see stream_group.c), and the command itself never is.
 * That is also what makes XCLAIM with FORCE, TIME and RETRYCOUNT the
 * command a replica receives, so it must reproduce a NACK exactly. */
#include <limits.h>
#include <string.h>

#include "core/commands.h"
#include "core/db.h"
#include "core/mem.h"
#include "core/reply.h"
#include "core/stream_cmds.h"
#include "core/util.h"

/* The stream and group of argv[1], argv[2], or NULL after replying. */
static stream_group *lookup_group(client *c, stream **s) {
    obj *o = db_lookup_read(c->srv, c->db, c->argv[1]);
    if (o && o->type != OBJ_STREAM) {
        reply_error(c, ERR_WRONGTYPE);
        return NULL;
    }
    stream_group *g = o ? stream_group_find(o->ptr, c->argv[2], dstr_len(c->argv[2])) : NULL;
    if (!g) {
        xs_reply_nogroup(c, c->argv[1], c->argv[2]);
        return NULL;
    }
    *s = o->ptr;
    return g;
}

static stream_consumer *claimer(client *c, stream_group *g, stream_consumer **cons) {
    if (!*cons) {
        *cons = xs_consumer_get(c, g, c->argv[3], c->argv[1], NULL);
        (*cons)->seen_time = util_ms_time();
    }
    return *cons;
}

void cmd_xclaim(client *c) {
    stream *s;
    stream_group *g = lookup_group(c, &s);
    if (!g) return;
    long long minidle, retrycount = -1, deliverytime = -1;
    int force = 0, justid = 0;
    if (arg_ll_msg(c, c->argv[4], &minidle, "ERR Invalid min-idle-time argument for XCLAIM") < 0)
        return;
    if (minidle < 0) minidle = 0;
    int j, nids;
    stream_id *ids = mem_alloc(sizeof(stream_id) * (size_t)c->argc);
    for (j = 5; j < c->argc; j++)
        if (!stream_id_parse(c->argv[j], dstr_len(c->argv[j]), &ids[j - 5], 0, 1, NULL)) break;
    nids = j - 5;
    long long now = util_ms_time();
    stream_id last_id = {0, 0};
    for (; j < c->argc; j++) {
        int more = c->argc - 1 - j;
        const dstr opt = c->argv[j];
        if (arg_is(opt, "force")) {
            force = 1;
        } else if (arg_is(opt, "justid")) {
            justid = 1;
        } else if (arg_is(opt, "idle") && more) {
            j++;
            if (arg_ll_msg(c, c->argv[j], &deliverytime,
                           "ERR Invalid IDLE option argument for XCLAIM") < 0)
                goto done;
            deliverytime = now - deliverytime;
        } else if (arg_is(opt, "time") && more) {
            j++;
            if (arg_ll_msg(c, c->argv[j], &deliverytime,
                           "ERR Invalid TIME option argument for XCLAIM") < 0)
                goto done;
        } else if (arg_is(opt, "retrycount") && more) {
            j++;
            if (arg_ll_msg(c, c->argv[j], &retrycount,
                           "ERR Invalid RETRYCOUNT option argument for XCLAIM") < 0)
                goto done;
        } else if (arg_is(opt, "lastid") && more) {
            j++;
            if (xs_parse_id(c, c->argv[j], &last_id, 0, 1, NULL) < 0) goto done;
        } else {
            reply_errorf(c, "ERR Unrecognized XCLAIM option '%s'", opt);
            goto done;
        }
    }
    int propagate_last = 0;
    if (stream_id_cmp(&last_id, &g->last_id) > 0) {
        g->last_id = last_id;
        propagate_last = 1;
    }
    if (deliverytime != -1) {
        if (deliverytime < 0 || deliverytime > now) deliverytime = now;
    } else {
        deliverytime = now;
    }
    stream_consumer *cons = NULL;
    size_t handle = reply_defer_len(c);
    long long n = 0;
    for (int k = 0; k < nids; k++) {
        stream_id id = ids[k];
        stream_nack *nk = stream_pel_find(&g->pel, &id);
        if (!xs_entry_exists(s, &id)) {
            if (nk) {
                xs_propagate_xclaim(c, c->argv[1], g, c->argv[2], &id, nk);
                propagate_last = 0;
                server_dirty(c, 1);
                stream_nack_remove(g, nk);
            }
            continue;
        }
        if (!nk && force) {
            /* A fresh NACK counts one delivery before this claim's own, as
             * Redis's streamCreateNACK does. */
            nk = stream_nack_add(g, claimer(c, g, &cons), &id, now);
        } else if (nk && minidle && now - nk->delivery_time < minidle) {
            continue;
        }
        if (!nk) continue;
        stream_nack_move(nk, claimer(c, g, &cons));
        nk->delivery_time = deliverytime;
        if (retrycount >= 0) nk->delivery_count = (uint64_t)retrycount;
        else if (!justid) nk->delivery_count++;
        if (justid) {
            xs_reply_id(c, &id);
        } else if (!xs_reply_one(c, s, &id)) {
            reply_null(c);
        }
        n++;
        xs_propagate_xclaim(c, c->argv[1], g, c->argv[2], &id, nk);
        propagate_last = 0;
        server_dirty(c, 1);
    }
    if (propagate_last) {
        xs_propagate_setid(c, c->argv[1], g, c->argv[2]);
        server_dirty(c, 1);
    }
    reply_set_deferred_len(c, handle, n);
done:
    c->flags |= CLIENT_PREVENT_PROPAGATE;
    mem_free(ids);
}

void cmd_xautoclaim(client *c) {
    long long minidle, count = 100;
    const long attempts_factor = 10;
    int justid = 0, sx;
    stream_id start;
    if (arg_ll_msg(c, c->argv[4], &minidle, "ERR Invalid min-idle-time argument for XAUTOCLAIM") <
        0)
        return;
    if (minidle < 0) minidle = 0;
    if (xs_parse_interval(c, c->argv[5], &start, &sx, 0) < 0) return;
    if (sx && stream_id_incr(&start) < 0) {
        reply_error(c, "ERR invalid start ID for the interval");
        return;
    }
    for (int j = 6; j < c->argc; j++) {
        int more = c->argc - 1 - j;
        if (arg_is(c->argv[j], "count") && more) {
            long long max = LONG_MAX / (long long)sizeof(stream_id);
            if (arg_ll_range(c, c->argv[j + 1], 1, max, &count, "ERR COUNT must be > 0") < 0)
                return;
            j++;
        } else if (arg_is(c->argv[j], "justid")) {
            justid = 1;
        } else {
            reply_error(c, ERR_SYNTAX);
            return;
        }
    }
    stream *s;
    stream_group *g = lookup_group(c, &s);
    if (!g) return;
    long attempts = (long)count * attempts_factor;
    long long now = util_ms_time();
    stream_consumer *cons = NULL;
    stream_id *claimed = mem_alloc(sizeof(stream_id) * (size_t)count);
    stream_id *deleted = mem_alloc(sizeof(stream_id) * (size_t)count);
    size_t nclaimed = 0, ndeleted = 0;
    size_t i = stream_pel_lower(&g->pel, &start);
    while (attempts-- && count && i < g->pel.n) {
        stream_nack *nk = g->pel.v[i];
        stream_id id = nk->id;
        if (!xs_entry_exists(s, &id)) {
            xs_propagate_xclaim(c, c->argv[1], g, c->argv[2], &id, nk);
            server_dirty(c, 1);
            stream_nack_remove(g, nk); /* the next NACK slides into slot i */
            deleted[ndeleted++] = id;
            count--;
            continue;
        }
        i++;
        if (minidle && now - nk->delivery_time < minidle) continue;
        stream_nack_move(nk, claimer(c, g, &cons));
        nk->delivery_time = now;
        if (!justid) nk->delivery_count++;
        claimed[nclaimed++] = id;
        count--;
        xs_propagate_xclaim(c, c->argv[1], g, c->argv[2], &id, nk);
        server_dirty(c, 1);
    }
    stream_id cursor = {0, 0};
    if (i < g->pel.n) cursor = ((stream_nack *)g->pel.v[i])->id;
    reply_array(c, 3);
    xs_reply_id(c, &cursor);
    reply_array(c, (long long)nclaimed);
    for (size_t k = 0; k < nclaimed; k++) {
        if (justid) xs_reply_id(c, &claimed[k]);
        else xs_reply_one(c, s, &claimed[k]);
    }
    reply_array(c, (long long)ndeleted);
    for (size_t k = 0; k < ndeleted; k++) xs_reply_id(c, &deleted[k]);
    mem_free(claimed);
    mem_free(deleted);
    c->flags |= CLIENT_PREVENT_PROPAGATE;
}
