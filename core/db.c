/* db: see db.h.
 *
 * Expiry follows Redis: a key past its time is deleted when it is touched
 * (lazy) and by a cron cycle that samples keys with a TTL (active). The
 * active cycle keeps sampling a db while more than a quarter of a sample
 * was expired, within a time budget of 25% of a cron tick, and resumes
 * where it left off on the next tick through a per-db scan cursor. Every
 * expired key leaves as a DEL through the propagation point, so replicas
 * never expire keys on their own. Neither kind runs while clients are
 * paused (see expiry_paused). */
#include "core/db.h"

#include "core/blocking.h"

#include <limits.h>
#include <string.h>

#include "core/latency.h"
#include "core/tracking.h"
#include "core/lazyfree.h"
#include "core/log.h"
#include "core/mem.h"
#include "core/notify.h"
#include "core/propagate.h"
#include "core/util.h"
#include "repl/repl.h"

typedef struct watcher_list {
    client **v;
    int n, cap;
} watcher_list;

static void free_obj_val(void *v) { obj_free(v); }
static void free_dstr_key(void *k) { dstr_free(k); }
static void free_watchers(void *v) {
    watcher_list *w = v;
    mem_free(w->v);
    mem_free(w);
}

static const dict_type keys_type = {dict_dstr_hash, dict_dstr_eq, free_dstr_key, free_obj_val};
static const dict_type expires_type = {dict_dstr_hash, dict_dstr_eq, NULL, NULL};
static const dict_type watched_type = {dict_dstr_hash, dict_dstr_eq, free_dstr_key,
                                       free_watchers};
static void free_waiters(void *v) {
    watcher_list *w = v; /* same shape: an array of clients */
    mem_free(w->v);
    mem_free(w);
}
static const dict_type blocking_type = {dict_dstr_hash, dict_dstr_eq, free_dstr_key,
                                        free_waiters};

void db_init_all(server *s) {
    s->dbnum = s->cfg.databases;
    s->dbs = mem_calloc(sizeof(db) * (size_t)s->dbnum);
    for (int i = 0; i < s->dbnum; i++) {
        s->dbs[i].keys = dict_create(&keys_type);
        s->dbs[i].expires = dict_create(&expires_type);
        s->dbs[i].watched = dict_create(&watched_type);
        s->dbs[i].blocking = dict_create(&blocking_type);
        s->dbs[i].id = i;
    }
}

void db_free_all(server *s) {
    for (int i = 0; i < s->dbnum; i++) {
        dict_release(s->dbs[i].expires);
        dict_release(s->dbs[i].keys);
        dict_release(s->dbs[i].watched);
        dict_release(s->dbs[i].blocking);
    }
    mem_free(s->dbs);
    s->dbs = NULL;
}

obj *db_peek(db *d, const dstr key) {
    dict_entry *de = dict_find(d->keys, key);
    return de ? de->v.val : NULL;
}

long long db_get_expire(db *d, const dstr key) {
    if (dict_size(d->expires) == 0) return -1;
    dict_entry *de = dict_find(d->expires, key);
    return de ? de->v.s64 : -1;
}

int db_key_is_expired(db *d, const dstr key) {
    long long when = db_get_expire(d, key);
    return when >= 0 && util_ms_time() > when;
}

static void delete_expired(server *s, db *d, const dstr key) {
    dstr k = dstr_dup(key);
    long long start = util_mono_us();
    db_delete(s, d, k);
    latency_add_sample_if_needed(s, "expire-del", (util_mono_us() - start) / 1000);
    notify_event(s, NOTIFY_EXPIRED, "expired", k, d->id);
    s->stat_expiredkeys++;
    dstr argv[2] = {dstr_from("DEL"), k};
    propagate_add(s, d->id, argv, 2);
    dstr_free(argv[0]);
    dstr_free(k);
}

/* Redis 7.0 expires nothing while clients are paused (CLIENT PAUSE WRITE
 * or ALL): a pause usually precedes a failover, and a DEL made during it
 * would reach the replicas after the writes were meant to have stopped.
 * An expired key then reads as absent but stays in the keyspace until the
 * pause ends. A pause past its end time no longer counts; the cron lifts
 * it (not here: unpausing runs other clients' commands). */
static int expiry_paused(server *s) {
    return (s->pause_mode != PAUSE_OFF && util_ms_time() < s->pause_end_ms) ||
           s->write_holds;
}

int db_expire_if_needed(server *s, db *d, const dstr key) {
    if (!db_key_is_expired(d, key)) return 0;
    if (s->loading) return 0;
    /* A replica never expires a key itself, as in Redis: it reads as absent
     * to clients, and the master's DEL, which follows in the stream, removes
     * it. The master's own commands see it as it still is. */
    if (repl_is_replica(s))
        return !(s->current_client && (s->current_client->flags & CLIENT_MASTER));
    if (expiry_paused(s)) return 1;
    delete_expired(s, d, key);
    return 1;
}

obj *db_lookup_read(server *s, db *d, const dstr key) {
    obj *o = db_expire_if_needed(s, d, key) ? NULL : db_peek(d, key);
    if (o) {
        s->stat_keyspace_hits++;
        obj_touch(o);
    } else {
        s->stat_keyspace_misses++;
        notify_event(s, NOTIFY_KEY_MISS, "keymiss", key, d->id);
    }
    return o;
}

obj *db_lookup_write(server *s, db *d, const dstr key) {
    obj *o = db_expire_if_needed(s, d, key) ? NULL : db_peek(d, key);
    if (o) obj_touch(o);
    return o;
}

void db_add(server *s, db *d, const dstr key, obj *val) {
    dict_entry *existing;
    dstr copy = dstr_dup(key);
    dict_entry *de = dict_add_raw(d->keys, copy, &existing);
    if (!de) {
        dstr_free(copy); /* the dict keeps its own key */
        /* Caller promised the key was absent; keep the dataset sane. An
         * expired key left in place by a pause is absent to lookups: the
         * new value must not inherit its TTL. */
        obj_free(existing->v.val);
        existing->v.val = val;
        db_remove_expire(d, key);
    } else {
        de->v.val = val;
    }
    db_signal_modified(s, d, key);
    blocking_signal_key(s, d, key);
    notify_event(s, NOTIFY_NEW, "new", key, d->id);
}

void db_replace_value(server *s, db *d, const dstr key, obj *val) {
    dict_entry *de = dict_find(d->keys, key);
    if (!de) {
        db_add(s, d, key, val);
        return;
    }
    obj *old = de->v.val;
    de->v.val = val;
    if (old != val) obj_free(old);
    db_signal_modified(s, d, key);
}

void db_set(server *s, db *d, const dstr key, obj *val, int keepttl) {
    dict_entry *de = dict_find(d->keys, key);
    if (!de) {
        db_add(s, d, key, val);
        return;
    }
    obj *old = de->v.val;
    de->v.val = val;
    if (old != val) obj_free(old);
    db_value_rewritten(s, d, key, keepttl);
}

void db_value_rewritten(server *s, db *d, const dstr key, int keepttl) {
    if (!keepttl) db_remove_expire(d, key);
    db_signal_modified(s, d, key);
}

static int delete_key(server *s, db *d, const dstr key, int async) {
    dict_entry *de = dict_unlink(d->keys, key);
    if (!de) return 0;
    if (dict_size(d->expires)) dict_delete(d->expires, key);
    db_signal_modified(s, d, key);
    if (async) {
        /* The entry is freed here, its value by lazyfree (or at once when
         * it is small). */
        lazyfree_value(de->v.val);
        de->v.val = NULL;
    }
    dict_free_unlinked(d->keys, de);
    return 1;
}

int db_delete(server *s, db *d, const dstr key) { return delete_key(s, d, key, 0); }

int db_delete_async(server *s, db *d, const dstr key) { return delete_key(s, d, key, 1); }

int db_exists(server *s, db *d, const dstr key) {
    return !db_expire_if_needed(s, d, key) && db_peek(d, key) != NULL;
}

void db_set_expire(server *s, db *d, const dstr key, long long when_ms) {
    (void)s;
    dict_entry *kde = dict_find(d->keys, key);
    if (!kde) return;
    dict_entry *existing;
    dict_entry *de = dict_add_raw(d->expires, kde->key, &existing);
    if (de)
        de->v.s64 = when_ms;
    else
        existing->v.s64 = when_ms;
}

int db_remove_expire(db *d, const dstr key) {
    if (dict_size(d->expires) == 0) return 0;
    return dict_delete(d->expires, key) == 0;
}

/* ---- active expiry ---- */

typedef struct expire_scan_ctx {
    server *s;
    db *d;
    long long now;
    dstr *victims;
    int nvictims, cap;
    long long sampled;
    long long ttl_sum, ttl_samples;
} expire_scan_ctx;

static void expire_scan_cb(void *priv, const dict_entry *de) {
    expire_scan_ctx *x = priv;
    x->sampled++;
    long long when = de->v.s64;
    if (x->now > when) {
        if (x->nvictims == x->cap) {
            x->cap = x->cap ? x->cap * 2 : 32;
            x->victims = mem_realloc(x->victims, sizeof(dstr) * (size_t)x->cap);
        }
        x->victims[x->nvictims++] = dstr_dup(de->key);
    } else {
        /* TTLs can be near LLONG_MAX: saturate instead of overflowing. */
        if (__builtin_add_overflow(x->ttl_sum, when - x->now, &x->ttl_sum))
            x->ttl_sum = LLONG_MAX;
        x->ttl_samples++;
    }
}

void db_active_expire_cycle(server *s, int fast) {
    (void)fast;
    if (!s->active_expire_enabled || expiry_paused(s) || repl_is_replica(s)) return;
    int effort = s->cfg.active_expire_effort - 1;
    long long keys_per_loop = 20 + 20 / 4 * effort;
    long long hz = s->cfg.hz > 0 ? s->cfg.hz : 10;
    long long budget_us = 1000000 / hz * (25 + 2 * effort) / 100;
    long long start = util_mono_us();
    long long expired_total = 0, sampled_total = 0;
    for (int j = 0; j < s->dbnum; j++) {
        db *d = &s->dbs[j];
        int repeat;
        do {
            if (dict_size(d->expires) == 0) break;
            expire_scan_ctx x = {s, d, util_ms_time(), NULL, 0, 0, 0, 0, 0};
            long long buckets = 0;
            while (x.sampled < keys_per_loop && buckets < keys_per_loop * 20) {
                d->expire_cursor = dict_scan(d->expires, d->expire_cursor, expire_scan_cb, &x);
                buckets++;
                if (d->expire_cursor == 0) break;
            }
            for (int i = 0; i < x.nvictims; i++) {
                /* Another victim's deletion never removes this one, but a
                 * key can only expire once: check again. */
                if (db_key_is_expired(d, x.victims[i])) delete_expired(s, d, x.victims[i]);
                dstr_free(x.victims[i]);
            }
            mem_free(x.victims);
            if (x.ttl_samples) {
                long long avg = x.ttl_sum / x.ttl_samples;
                d->avg_ttl = d->avg_ttl ? (d->avg_ttl / 50) * 49 + avg / 50 : avg;
            }
            expired_total += x.nvictims;
            sampled_total += x.sampled;
            repeat = x.sampled > 0 && x.nvictims * 100 / x.sampled > 10 + effort;
            if (util_mono_us() - start > budget_us) {
                s->stat_expired_time_cap_reached++;
                long long used = util_mono_us() - start;
                s->stat_expire_cycle_time_used += used;
                latency_add_sample_if_needed(s, "expire-cycle", used / 1000);
                return;
            }
        } while (repeat);
    }
    long long used = util_mono_us() - start;
    s->stat_expire_cycle_time_used += used;
    latency_add_sample_if_needed(s, "expire-cycle", used / 1000);
    if (sampled_total)
        s->stat_expired_stale_perc = expired_total * 100 / sampled_total;
}

/* ---- flush, swap, random ---- */

static void touch_existing_watched(server *s, db *d, db *other) {
    dict_iter it;
    dict_iter_init(d->watched, &it);
    dict_entry *de;
    while ((de = dict_iter_next(&it))) {
        dstr key = de->key;
        if (db_peek(d, key) || (other && db_peek(other, key))) {
            watcher_list *w = de->v.val;
            for (int i = 0; i < w->n; i++) w->v[i]->flags |= CLIENT_DIRTY_CAS;
        }
    }
    dict_iter_done(&it);
    (void)s;
}

/* Async: the db gets fresh dicts and the old ones go to the lazyfree
 * thread, O(1) here however many keys there were. A db without keys only
 * has tables to free, as cheap here as there. */
static void empty_db(db *d, int async) {
    if (async && dict_size(d->keys)) {
        lazyfree_keyspace(d->keys, d->expires);
        d->keys = dict_create(&keys_type);
        d->expires = dict_create(&expires_type);
        return;
    }
    dict_empty(d->expires);
    dict_empty(d->keys);
}

long long db_empty(server *s, int dbid, int async) {
    long long removed = 0;
    tracking_invalidate_all(s);
    for (int j = 0; j < s->dbnum; j++) {
        if (dbid != -1 && j != dbid) continue;
        db *d = &s->dbs[j];
        touch_existing_watched(s, d, NULL);
        removed += (long long)dict_size(d->keys);
        empty_db(d, async);
        d->avg_ttl = 0;
        d->expire_cursor = 0;
    }
    return removed;
}

long long db_flush(server *s, int dbid) { return db_empty(s, dbid, 0); }

int db_swap(server *s, int a, int b) {
    db *x = &s->dbs[a], *y = &s->dbs[b];
    touch_existing_watched(s, x, y);
    touch_existing_watched(s, y, x);
    dict *k = x->keys, *e = x->expires;
    long long t = x->avg_ttl;
    unsigned long cur = x->expire_cursor;
    x->keys = y->keys;
    x->expires = y->expires;
    x->avg_ttl = y->avg_ttl;
    x->expire_cursor = y->expire_cursor;
    y->keys = k;
    y->expires = e;
    y->avg_ttl = t;
    y->expire_cursor = cur;
    /* Clients blocked in either db may now find their keys. */
    for (int k = 0; k < 2; k++) {
        db *z = k ? y : x;
        dict_iter it;
        dict_iter_init(z->blocking, &it);
        dict_entry *de;
        while ((de = dict_iter_next(&it)))
            if (db_peek(z, de->key)) blocking_signal_key(s, z, de->key);
        dict_iter_done(&it);
    }
    return 0;
}

dstr db_random_key(server *s, db *d) {
    /* A db where every key has expired must not spin forever: bound the
     * tries and return one of them after that, like Redis does. */
    int tries = 0;
    for (;;) {
        dict_entry *de = dict_random_entry(d->keys);
        if (!de) return NULL;
        dstr key = dstr_dup(de->key);
        if (dict_size(d->expires) && db_key_is_expired(d, key)) {
            if (++tries > 100 && dict_size(d->keys) == dict_size(d->expires)) return key;
            if (db_expire_if_needed(s, d, key)) {
                dstr_free(key);
                continue;
            }
        }
        return key;
    }
}

void db_cron_rehash(server *s) {
    for (int j = 0; j < s->dbnum; j++) {
        db *d = &s->dbs[j];
        dict_shrink_if_needed(d->keys);
        dict_shrink_if_needed(d->expires);
        if (dict_is_rehashing(d->keys)) {
            dict_rehash_ms(d->keys, 1);
            break;
        }
        if (dict_is_rehashing(d->expires)) {
            dict_rehash_ms(d->expires, 1);
            break;
        }
    }
}

/* ---- WATCH ---- */

void db_signal_modified(server *s, db *d, const dstr key) {
    tracking_invalidate_key(s, key);
    if (dict_size(d->watched) == 0) return;
    dict_entry *de = dict_find(d->watched, key);
    if (!de) return;
    watcher_list *w = de->v.val;
    for (int i = 0; i < w->n; i++) w->v[i]->flags |= CLIENT_DIRTY_CAS;
}

void db_watch_key(client *c, const dstr key) {
    for (int i = 0; i < c->watched_count; i++)
        if (c->watched[i].dbid == c->db->id && !dstr_cmp(c->watched[i].key, key)) return;
    dict_entry *existing;
    dstr k = dstr_dup(key);
    dict_entry *de = dict_add_raw(c->db->watched, k, &existing);
    watcher_list *w;
    if (de) {
        w = mem_calloc(sizeof(*w));
        de->v.val = w;
    } else {
        dstr_free(k);
        w = existing->v.val;
    }
    if (w->n == w->cap) {
        w->cap = w->cap ? w->cap * 2 : 4;
        w->v = mem_realloc(w->v, sizeof(client *) * (size_t)w->cap);
    }
    w->v[w->n++] = c;
    if (c->watched_count == c->watched_cap) {
        c->watched_cap = c->watched_cap ? c->watched_cap * 2 : 4;
        c->watched = mem_realloc(c->watched, sizeof(watched_key) * (size_t)c->watched_cap);
    }
    c->watched[c->watched_count].dbid = c->db->id;
    c->watched[c->watched_count].key = dstr_dup(key);
    c->watched[c->watched_count].expired = db_key_is_expired(c->db, key);
    c->watched_count++;
}

void db_unwatch_all(client *c) {
    for (int i = 0; i < c->watched_count; i++) {
        db *d = &c->srv->dbs[c->watched[i].dbid];
        dict_entry *de = dict_find(d->watched, c->watched[i].key);
        if (de) {
            watcher_list *w = de->v.val;
            for (int j = 0; j < w->n; j++) {
                if (w->v[j] == c) {
                    w->v[j] = w->v[--w->n];
                    break;
                }
            }
            if (w->n == 0) dict_delete(d->watched, c->watched[i].key);
        }
        dstr_free(c->watched[i].key);
    }
    c->watched_count = 0;
    c->flags &= ~(uint32_t)CLIENT_DIRTY_CAS;
}

int db_watched_key_expired(client *c) {
    for (int i = 0; i < c->watched_count; i++) {
        if (c->watched[i].expired) continue;
        db *d = &c->srv->dbs[c->watched[i].dbid];
        if (db_peek(d, c->watched[i].key) && db_key_is_expired(d, c->watched[i].key)) return 1;
    }
    return 0;
}
