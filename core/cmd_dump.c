/* cmd_dump: DUMP and RESTORE, a value carried between servers as Redis
 * 7.0's serialized form (rdb_dump_payload / rdb_restore_payload in the
 * rdb module hold the format).
 *
 * RESTORE is propagated as Redis 7.0 does: a relative TTL becomes the
 * absolute deadline plus ABSTTL, so a replica that applies the command
 * later sets exactly the master's expiry; a TTL already in the past
 * (which only deletes the old key, under REPLACE) goes out as DEL. A
 * replica's master client never finds a TTL expired: it keeps what the
 * master sent, as Redis's checkAlreadyExpired does on a replica. */
#include <string.h>

#include "core/commands.h"
#include "core/db.h"
#include "core/mem.h"
#include "core/notify.h"
#include "core/rdb.h"
#include "core/reply.h"
#include "core/util.h"

void cmd_dump(client *c) {
    obj *o = db_lookup_read(c->srv, c->db, c->argv[1]);
    if (!o) {
        reply_null(c);
        return;
    }
    dstr payload = rdb_dump_payload(c->srv, o);
    reply_bulk_dstr(c, payload);
    dstr_free(payload);
}

/* What Redis's objectSetLRUOrLFU does with IDLETIME when no LFU policy is
 * set: the access clock moved back by `idle` seconds. */
static void set_idle(obj *o, long long idle) {
    const long long clock_max = 0xFFFFFF;
    long long now = obj_lru_clock();
    long long then = now - idle;
    if (then < 0) then = (now + clock_max / 2) % clock_max;
    o->lru = (uint32_t)then;
}

/* RESTORE key ttl payload [REPLACE] [ABSTTL] [IDLETIME s] [FREQ f]: the
 * checks in Redis's order (options, BUSYKEY, TTL, payload). */
void cmd_restore(client *c) {
    server *s = c->srv;
    long long ttl, freq = -1, idle = -1;
    int replace = 0, absttl = 0;
    for (int j = 4; j < c->argc; j++) {
        int additional = c->argc - j - 1;
        if (arg_is(c->argv[j], "replace")) {
            replace = 1;
        } else if (arg_is(c->argv[j], "absttl")) {
            absttl = 1;
        } else if (arg_is(c->argv[j], "idletime") && additional >= 1 && freq == -1) {
            if (arg_ll(c, c->argv[j + 1], &idle) < 0) return;
            if (idle < 0) {
                reply_error(c, "ERR Invalid IDLETIME value, must be >= 0");
                return;
            }
            j++;
        } else if (arg_is(c->argv[j], "freq") && additional >= 1 && idle == -1) {
            if (arg_ll(c, c->argv[j + 1], &freq) < 0) return;
            if (freq < 0 || freq > 255) {
                reply_error(c, "ERR Invalid FREQ value, must be >= 0 and <= 255");
                return;
            }
            j++;
        } else {
            reply_error(c, ERR_SYNTAX);
            return;
        }
    }
    const dstr key = c->argv[1];
    if (!replace && db_lookup_write(s, c->db, key)) {
        reply_error(c, "BUSYKEY Target key name already exists.");
        return;
    }
    if (arg_ll(c, c->argv[2], &ttl) < 0) return;
    if (ttl < 0) {
        reply_error(c, "ERR Invalid TTL value, must be >= 0");
        return;
    }
    obj *o;
    const char *err;
    if (rdb_restore_payload(s, c->argv[3], dstr_len(c->argv[3]), &o, &err) < 0) {
        reply_errorf(c, "ERR %s", err);
        return;
    }
    int deleted = replace && db_delete(s, c->db, key);
    if (ttl && !absttl) ttl += util_ms_time();
    if (ttl && ttl <= util_ms_time() && !s->loading && !(c->flags & CLIENT_MASTER)) {
        if (deleted) {
            client_rewrite_argv(c, 2, dstr_from("DEL"), dstr_dup(key));
            db_signal_modified(s, c->db, c->argv[1]);
            notify_event(s, NOTIFY_GENERIC, "del", c->argv[1], c->db->id);
            server_dirty(c, 1);
        }
        obj_free(o);
        reply_ok(c);
        return;
    }
    db_add(s, c->db, key, o);
    if (ttl) {
        db_set_expire(s, c->db, key, ttl);
        if (!absttl) {
            /* Propagated with the absolute deadline. */
            dstr *argv = mem_alloc(sizeof(dstr) * (size_t)(c->argc + 1));
            for (int j = 0; j < c->argc; j++)
                argv[j] = j == 2 ? dstr_from_ll(ttl) : dstr_dup(c->argv[j]);
            argv[c->argc] = dstr_from("ABSTTL");
            client_set_argv(c, argv, c->argc + 1);
        }
    }
    if (idle >= 0) set_idle(o, idle);
    db_signal_modified(s, c->db, c->argv[1]);
    notify_event(s, NOTIFY_GENERIC, "restore", c->argv[1], c->db->id);
    reply_ok(c);
    server_dirty(c, 1);
}
