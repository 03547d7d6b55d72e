/* t_set: the set commands, with Redis 7.0's replies, errors, argument
 * order and propagated forms.
 *
 * What a client can observe beyond the members themselves, and how it is
 * kept identical to Redis:
 *   - Argument errors win over key errors where Redis parses first (SPOP
 *     and SRANDMEMBER counts, SINTERCARD numkeys/LIMIT, the SSCAN cursor),
 *     and WRONGTYPE wins over everything checked later. Multi-key commands
 *     look up every key before acting, so a WRONGTYPE anywhere fails them
 *     even when a missing key would make the answer empty.
 *   - Reply order: an intset iterates in ascending order, so replies drawn
 *     from one (SMEMBERS, SINTER over an intset, any SUNION/SDIFF result
 *     that stays an intset) are byte-identical to Redis. Results are built
 *     the way Redis builds them (an intset that converts on the first
 *     non-integer or past the limit), which also decides the encoding of
 *     the *STORE destinations, including the DIFF algorithm choice that
 *     can leave a small result in a hashtable.
 *   - Propagation: SPOP becomes SREM key member; SPOP with a count becomes
 *     one SREM per popped member (wrapped in MULTI/EXEC by the propagation
 *     layer when there are several), or DEL key when the whole set goes.
 *     The last SREM is left in the client's argv so that the command's own
 *     propagation emits it after the others: the dirty counter then counts
 *     every popped member, as in Redis. Everything else propagates as
 *     itself when it changed the dataset.
 *   - SPOP with a count close to the set size rebuilds the set from the
 *     members that stay (Redis's "create new set" strategy), so the
 *     survivors may go back to an intset; this is visible in OBJECT
 *     ENCODING and reproduced. */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>

#include "core/commands.h"
#include "core/db.h"
#include "core/mem.h"
#include "core/notify.h"
#include "core/propagate.h"
#include "core/reply.h"
#include "core/t_set.h"
#include "core/util.h"

#define SPOP_MOVE_STRATEGY_MUL 5
#define SRANDMEMBER_SUB_STRATEGY_MUL 3

enum set_op { SET_OP_UNION, SET_OP_DIFF };

static const dict_type tmp_dict_type = {dict_dstr_hash, dict_dstr_eq, dict_dstr_free, NULL};

static long long max_intset(client *c) { return c->srv->cfg.set_max_intset_entries; }

/* WRONGTYPE for a key that exists and is not a set. */
static int wrong_type(client *c, const obj *o) {
    if (o && o->type != OBJ_SET) {
        reply_error(c, ERR_WRONGTYPE);
        return 1;
    }
    return 0;
}

static void reply_elem(client *c, const set_elem *e) {
    if (e->is_int)
        reply_bulk_ll(c, e->ll);
    else
        reply_bulk(c, e->p, e->len);
}

/* Redis's getRangeLongFromObjectOrReply with a custom message: any parse
 * or range failure replies `msg`. */
static int arg_range_msg(client *c, const dstr arg, long long min, long long max, long long *out,
                         const char *msg) {
    long long v;
    if (!util_str_to_ll(arg, dstr_len(arg), &v) || v < min || v > max) {
        reply_error(c, msg);
        return -1;
    }
    *out = v;
    return 0;
}

/* ---- single-key commands ---------------------------------------------- */

static void cmd_sadd(client *c) {
    server *s = c->srv;
    obj *o = db_lookup_write(s, c->db, c->argv[1]);
    if (wrong_type(c, o)) return;
    if (!o) {
        o = set_create_for(c->argv[2]);
        db_add(s, c->db, c->argv[1], o);
    }
    long long added = 0, max = max_intset(c);
    for (int j = 2; j < c->argc; j++) added += set_add(o, c->argv[j], max);
    if (added) {
        db_signal_modified(s, c->db, c->argv[1]);
        notify_event(s, NOTIFY_SET, "sadd", c->argv[1], c->db->id);
    }
    server_dirty(c, added);
    reply_int(c, added);
}

static void cmd_srem(client *c) {
    server *s = c->srv;
    obj *o = db_lookup_write(s, c->db, c->argv[1]);
    if (!o) {
        reply_int(c, 0);
        return;
    }
    if (wrong_type(c, o)) return;
    long long deleted = 0;
    int emptied = 0;
    for (int j = 2; j < c->argc; j++) {
        if (!set_remove(o, c->argv[j])) continue;
        deleted++;
        if (set_size(o) == 0) {
            db_delete(s, c->db, c->argv[1]);
            emptied = 1;
            break;
        }
    }
    if (deleted) {
        db_signal_modified(s, c->db, c->argv[1]);
        notify_event(s, NOTIFY_SET, "srem", c->argv[1], c->db->id);
        if (emptied) notify_event(s, NOTIFY_GENERIC, "del", c->argv[1], c->db->id);
        server_dirty(c, deleted);
    }
    reply_int(c, deleted);
}

static void cmd_smove(client *c) {
    server *s = c->srv;
    obj *src = db_lookup_write(s, c->db, c->argv[1]);
    obj *dst = db_lookup_write(s, c->db, c->argv[2]);
    dstr ele = c->argv[3];
    if (!src) {
        reply_int(c, 0);
        return;
    }
    if (wrong_type(c, src) || wrong_type(c, dst)) return;
    if (src == dst) {
        reply_int(c, set_is_member(src, ele));
        return;
    }
    if (!set_remove(src, ele)) {
        reply_int(c, 0);
        return;
    }
    notify_event(s, NOTIFY_SET, "srem", c->argv[1], c->db->id);
    if (set_size(src) == 0) notify_delete(s, c->db, c->argv[1]);
    if (!dst) {
        dst = set_create_for(ele);
        db_add(s, c->db, c->argv[2], dst);
    }
    db_signal_modified(s, c->db, c->argv[1]);
    server_dirty(c, 1);
    if (set_add(dst, ele, max_intset(c))) {
        server_dirty(c, 1);
        db_signal_modified(s, c->db, c->argv[2]);
        notify_event(s, NOTIFY_SET, "sadd", c->argv[2], c->db->id);
    }
    reply_int(c, 1);
}

static void cmd_sismember(client *c) {
    obj *o = db_lookup_read(c->srv, c->db, c->argv[1]);
    if (wrong_type(c, o)) return;
    reply_int(c, o && set_is_member(o, c->argv[2]));
}

static void cmd_smismember(client *c) {
    obj *o = db_lookup_read(c->srv, c->db, c->argv[1]);
    if (wrong_type(c, o)) return;
    reply_array(c, c->argc - 2);
    for (int j = 2; j < c->argc; j++) reply_int(c, o && set_is_member(o, c->argv[j]));
}

static void cmd_scard(client *c) {
    obj *o = db_lookup_read(c->srv, c->db, c->argv[1]);
    if (wrong_type(c, o)) return;
    reply_int(c, o ? (long long)set_size(o) : 0);
}

/* ---- SUNION / SDIFF ---------------------------------------------------- */

static void add_elem(obj *dst, const set_elem *e, long long max) {
    if (e->is_int)
        set_add_ll(dst, e->ll, max);
    else
        set_add(dst, (const dstr)e->p, max);
}

static int remove_elem(obj *dst, const set_elem *e) {
    if (!e->is_int) return set_remove(dst, (const dstr)e->p);
    dstr tmp = set_elem_dstr(e);
    int removed = set_remove(dst, tmp);
    dstr_free(tmp);
    return removed;
}

static int has_elem(const obj *set, const set_elem *e) {
    return e->is_int ? set_is_member_ll(set, e->ll) : set_is_member(set, (const dstr)e->p);
}

/* Order for SDIFF's first algorithm: the sets to subtract by decreasing
 * size (missing keys count as empty). Only speed depends on it. */
static int by_size_desc(const void *a, const void *b) {
    const obj *x = *(const obj *const *)a, *y = *(const obj *const *)b;
    size_t sx = x ? set_size(x) : 0, sy = y ? set_size(y) : 0;
    return sx < sy ? 1 : sx > sy ? -1 : 0;
}

/* Every member: a set reply (RESP3's set type), or an array where Redis
 * sends one (SRANDMEMBER). */
static void reply_members(client *c, const obj *set, int as_set) {
    set_iter it;
    set_elem e;
    if (as_set) reply_set(c, (long long)set_size(set));
    else reply_array(c, (long long)set_size(set));
    set_iter_init(set, &it);
    while (set_iter_next(&it, &e)) reply_elem(c, &e);
    set_iter_done(&it);
}

/* Store a computed result into dstkey (or delete dstkey when the result is
 * empty), reply the cardinality, notify `event` (or the deletion). Takes
 * `result`. */
static void store_result(client *c, const dstr dstkey, obj *result, const char *event) {
    server *s = c->srv;
    size_t n = set_size(result);
    if (n > 0) {
        /* Redis's setKey looks the destination up first: an expired one is
         * deleted (and that DEL propagated) before being replaced. */
        db_lookup_write(s, c->db, dstkey);
        db_set(s, c->db, dstkey, result, 0);
        reply_int(c, (long long)n);
        notify_event(s, NOTIFY_SET, event, dstkey, c->db->id);
        server_dirty(c, 1);
        return;
    }
    obj_free(result);
    reply_int(c, 0);
    if (notify_delete(s, c->db, dstkey)) server_dirty(c, 1);
}

static void sunion_diff_generic(client *c, dstr *keys, int n, const dstr dstkey, int op) {
    server *s = c->srv;
    long long max = max_intset(c);
    obj **sets = mem_alloc(sizeof(obj *) * (size_t)n);
    for (int j = 0; j < n; j++) {
        sets[j] = db_lookup_read(s, c->db, keys[j]);
        if (wrong_type(c, sets[j])) {
            mem_free(sets);
            return;
        }
    }
    /* SDIFF: algorithm 1 tests each member of the first set against the
     * others (about |first| * nsets / 2 work, favoured because it stops at
     * the first hit); algorithm 2 adds the first set then removes all the
     * others (sum of sizes). Redis picks by this estimate, and the choice
     * shows in the result's encoding, so it is made the same way. */
    int diff_algo = 1;
    if (op == SET_OP_DIFF && sets[0]) {
        long long one = 0, two = 0;
        for (int j = 0; j < n; j++) {
            if (!sets[j]) continue;
            one += (long long)set_size(sets[0]);
            two += (long long)set_size(sets[j]);
        }
        one /= 2;
        diff_algo = one <= two ? 1 : 2;
        if (diff_algo == 1 && n > 1) qsort(sets + 1, (size_t)n - 1, sizeof(obj *), by_size_desc);
    }
    obj *result = set_create_intset();
    set_iter it;
    set_elem e;
    long long card = 0;
    if (op == SET_OP_UNION) {
        for (int j = 0; j < n; j++) {
            if (!sets[j]) continue;
            set_iter_init(sets[j], &it);
            while (set_iter_next(&it, &e)) add_elem(result, &e, max);
            set_iter_done(&it);
        }
    } else if (sets[0] && diff_algo == 1) {
        set_iter_init(sets[0], &it);
        while (set_iter_next(&it, &e)) {
            int j;
            for (j = 1; j < n; j++) {
                if (!sets[j]) continue;
                if (sets[j] == sets[0] || has_elem(sets[j], &e)) break;
            }
            if (j == n) add_elem(result, &e, max);
        }
        set_iter_done(&it);
    } else if (sets[0]) {
        for (int j = 0; j < n; j++) {
            if (!sets[j]) continue;
            set_iter_init(sets[j], &it);
            while (set_iter_next(&it, &e)) {
                if (j == 0) {
                    add_elem(result, &e, max);
                    card++;
                } else if (remove_elem(result, &e)) {
                    card--;
                }
            }
            set_iter_done(&it);
            if (card == 0) break; /* nothing left to remove from */
        }
    }
    mem_free(sets);
    if (dstkey) {
        store_result(c, dstkey, result, op == SET_OP_UNION ? "sunionstore" : "sdiffstore");
    } else {
        reply_members(c, result, 1);
        obj_free(result);
    }
}

static void cmd_sunion(client *c) {
    sunion_diff_generic(c, c->argv + 1, c->argc - 1, NULL, SET_OP_UNION);
}
static void cmd_sunionstore(client *c) {
    sunion_diff_generic(c, c->argv + 2, c->argc - 2, c->argv[1], SET_OP_UNION);
}
static void cmd_sdiff(client *c) {
    sunion_diff_generic(c, c->argv + 1, c->argc - 1, NULL, SET_OP_DIFF);
}
static void cmd_sdiffstore(client *c) {
    sunion_diff_generic(c, c->argv + 2, c->argc - 2, c->argv[1], SET_OP_DIFF);
}

/* ---- SINTER ------------------------------------------------------------ */

typedef struct sized_set {
    obj *set;
    size_t size;
    long idx; /* original position: makes the sort stable */
} sized_set;

static int by_size_asc(const void *a, const void *b) {
    const sized_set *x = a, *y = b;
    if (x->size != y->size) return x->size < y->size ? -1 : 1;
    return x->idx < y->idx ? -1 : x->idx > y->idx;
}

/* SINTER, SINTERSTORE (dstkey), SINTERCARD (card_only, limit 0 = none). */
static void sinter_generic(client *c, dstr *keys, long n, const dstr dstkey, int card_only,
                           long long limit) {
    server *s = c->srv;
    sized_set *sets = mem_alloc(sizeof(sized_set) * (size_t)n);
    int empty = 0;
    for (long j = 0; j < n; j++) {
        obj *o = db_lookup_read(s, c->db, keys[j]);
        if (wrong_type(c, o)) {
            mem_free(sets);
            return;
        }
        if (!o) empty++;
        sets[j].set = o;
        sets[j].size = o ? set_size(o) : 0;
        sets[j].idx = j;
    }
    if (empty) {
        mem_free(sets);
        if (dstkey) {
            if (notify_delete(s, c->db, dstkey)) server_dirty(c, 1);
            reply_int(c, 0);
        } else if (card_only) {
            reply_int(c, 0);
        } else {
            reply_set(c, 0);
        }
        return;
    }
    /* Smallest first: every member of the first set is tested against the
     * others, so the first set decides the work and the reply order. */
    qsort(sets, (size_t)n, sizeof(sized_set), by_size_asc);
    obj *result = dstkey ? set_create_intset() : NULL;
    size_t handle = 0;
    if (!dstkey && !card_only) handle = reply_defer_len(c);
    long long card = 0, max = max_intset(c);
    set_iter it;
    set_elem e;
    set_iter_init(sets[0].set, &it);
    while (set_iter_next(&it, &e)) {
        long j;
        for (j = 1; j < n; j++) {
            if (sets[j].set == sets[0].set) continue;
            if (!has_elem(sets[j].set, &e)) break;
        }
        if (j < n) continue;
        if (card_only) {
            card++;
            if (limit && card >= limit) break;
        } else if (!dstkey) {
            reply_elem(c, &e);
            card++;
        } else {
            add_elem(result, &e, max);
        }
    }
    set_iter_done(&it);
    mem_free(sets);
    if (card_only)
        reply_int(c, card);
    else if (dstkey)
        store_result(c, dstkey, result, "sinterstore");
    else
        reply_set_deferred_set(c, handle, card);
}

static void cmd_sinter(client *c) { sinter_generic(c, c->argv + 1, c->argc - 1, NULL, 0, 0); }

static void cmd_sinterstore(client *c) {
    sinter_generic(c, c->argv + 2, c->argc - 2, c->argv[1], 0, 0);
}

static void cmd_sintercard(client *c) {
    long long numkeys, limit = 0;
    if (arg_range_msg(c, c->argv[1], 1, LLONG_MAX, &numkeys,
                      "ERR numkeys should be greater than 0") < 0)
        return;
    if (numkeys > c->argc - 2) {
        reply_error(c, "ERR Number of keys can't be greater than number of args");
        return;
    }
    for (long long j = 2 + numkeys; j < c->argc; j++) {
        long long more = c->argc - 1 - j;
        if (arg_is(c->argv[j], "limit") && more) {
            j++;
            const char *msg = "ERR LIMIT can't be negative";
            if (arg_range_msg(c, c->argv[j], 0, LLONG_MAX, &limit, msg) < 0) return;
        } else {
            reply_error(c, ERR_SYNTAX);
            return;
        }
    }
    sinter_generic(c, c->argv + 2, (long)numkeys, NULL, 1, limit);
}

/* ---- SPOP -------------------------------------------------------------- */

/* Propagation for SPOP with a count: each popped member becomes an SREM.
 * All but the last are queued here; the last replaces the client's argv so
 * that the command's own propagation (triggered by the dirty counter)
 * emits it, last, in the same transaction. */
typedef struct srem_chain {
    client *c;
    dstr pending; /* member of the SREM not queued yet */
} srem_chain;

static void srem_chain_push(srem_chain *ch, dstr ele) {
    client *c = ch->c;
    if (ch->pending) {
        dstr argv[3] = {NULL, c->argv[1], ch->pending};
        argv[0] = dstr_new("SREM", 4);
        propagate_add(c->srv, c->db->id, argv, 3);
        dstr_free(argv[0]);
        dstr_free(ch->pending);
    }
    ch->pending = ele;
}

static void srem_chain_finish(srem_chain *ch) {
    client *c = ch->c;
    client_rewrite_argv(c, 3, dstr_new("SREM", 4), dstr_dup(c->argv[1]), ch->pending);
    ch->pending = NULL;
}

static void spop_with_count(client *c) {
    server *s = c->srv;
    long long count;
    if (arg_range_msg(c, c->argv[2], 0, LLONG_MAX, &count,
                      "ERR value is out of range, must be positive") < 0)
        return;
    obj *o = db_lookup_write(s, c->db, c->argv[1]);
    if (!o) {
        reply_set(c, 0);
        return;
    }
    if (wrong_type(c, o)) return;
    if (count == 0) {
        reply_set(c, 0);
        return;
    }
    unsigned long long size = set_size(o);
    if ((unsigned long long)count >= size) {
        /* The whole set: reply it as SUNION of the key would, then the key
         * goes and a DEL is what replicas need. */
        notify_event(s, NOTIFY_SET, "spop", c->argv[1], c->db->id);
        sunion_diff_generic(c, c->argv + 1, 1, NULL, SET_OP_UNION);
        notify_delete(s, c->db, c->argv[1]);
        client_rewrite_argv(c, 2, dstr_new("DEL", 3), dstr_dup(c->argv[1]));
        server_dirty(c, (long long)size);
        return;
    }
    notify_event(s, NOTIFY_SET, "spop", c->argv[1], c->db->id);
    reply_set(c, count);
    unsigned long long remaining = size - (unsigned long long)count;
    srem_chain chain = {c, NULL};
    if (remaining * SPOP_MOVE_STRATEGY_MUL > (unsigned long long)count) {
        /* Few members to pop: pick them one by one. */
        for (long long i = 0; i < count; i++) {
            dstr ele = set_pop_random(o);
            reply_bulk(c, ele, dstr_len(ele));
            srem_chain_push(&chain, ele);
        }
    } else {
        /* Most of the set goes: move the few survivors to a new set and
         * return what is left in the old one. */
        obj *survivors = NULL;
        long long max = max_intset(c);
        for (unsigned long long i = 0; i < remaining; i++) {
            dstr ele = set_pop_random(o);
            if (!survivors) survivors = set_create_for(ele);
            set_add(survivors, ele, max);
            dstr_free(ele);
        }
        set_iter it;
        set_elem e;
        set_iter_init(o, &it);
        while (set_iter_next(&it, &e)) {
            reply_elem(c, &e);
            srem_chain_push(&chain, set_elem_dstr(&e));
        }
        set_iter_done(&it);
        db_replace_value(s, c->db, c->argv[1], survivors); /* keeps the TTL */
    }
    srem_chain_finish(&chain);
    db_signal_modified(s, c->db, c->argv[1]);
    server_dirty(c, count);
}

static void cmd_spop(client *c) {
    server *s = c->srv;
    if (c->argc == 3) {
        spop_with_count(c);
        return;
    }
    if (c->argc > 3) {
        reply_error(c, ERR_SYNTAX);
        return;
    }
    obj *o = db_lookup_write(s, c->db, c->argv[1]);
    if (!o) {
        reply_null(c);
        return;
    }
    if (wrong_type(c, o)) return;
    dstr ele = set_pop_random(o);
    client_rewrite_argv(c, 3, dstr_new("SREM", 4), dstr_dup(c->argv[1]), ele);
    reply_bulk(c, ele, dstr_len(ele));
    notify_event(s, NOTIFY_SET, "spop", c->argv[1], c->db->id);
    if (set_size(o) == 0) notify_delete(s, c->db, c->argv[1]);
    db_signal_modified(s, c->db, c->argv[1]);
    server_dirty(c, 1);
}

/* ---- SRANDMEMBER -------------------------------------------------------- */

static void srandmember_with_count(client *c) {
    long long l;
    if (arg_rand_count(c, c->argv[2], 0, &l) < 0) return;
    int uniq = l >= 0;
    unsigned long long count = (unsigned long long)(l >= 0 ? l : -l);
    obj *o = db_lookup_read(c->srv, c->db, c->argv[1]);
    if (!o) {
        reply_array(c, 0);
        return;
    }
    if (wrong_type(c, o)) return;
    unsigned long long size = set_size(o);
    if (count == 0) {
        reply_array(c, 0);
        return;
    }
    set_elem e;
    /* Repetitions allowed (negative count), or a single member: sample. */
    if (!uniq || count == 1) {
        reply_array(c, (long long)count);
        while (count--) {
            set_random_member(o, &e, NULL);
            reply_elem(c, &e);
        }
        return;
    }
    if (count >= size) {
        reply_members(c, o, 0);
        return;
    }
    dict *picked = dict_create(&tmp_dict_type);
    if (count * SRANDMEMBER_SUB_STRATEGY_MUL > size) {
        /* Close to the whole set: copy it, then drop random members. */
        set_iter it;
        dict_expand(picked, size);
        set_iter_init(o, &it);
        while (set_iter_next(&it, &e)) dict_add(picked, set_elem_dstr(&e), NULL);
        set_iter_done(&it);
        while (dict_size(picked) > count) {
            dict_entry *de = dict_random_entry(picked);
            dict_delete(picked, de->key);
        }
    } else {
        /* A small sample of a big set: draw until enough distinct ones. */
        dict_expand(picked, count);
        while (dict_size(picked) < count) {
            set_random_member(o, &e, NULL);
            dstr ele = set_elem_dstr(&e);
            if (dict_add(picked, ele, NULL) != 0) dstr_free(ele);
        }
    }
    reply_array(c, (long long)count);
    dict_iter it;
    dict_iter_init(picked, &it);
    dict_entry *de;
    while ((de = dict_iter_next(&it))) reply_bulk(c, de->key, dstr_len(de->key));
    dict_iter_done(&it);
    dict_release(picked);
}

static void cmd_srandmember(client *c) {
    if (c->argc == 3) {
        srandmember_with_count(c);
        return;
    }
    if (c->argc > 3) {
        reply_error(c, ERR_SYNTAX);
        return;
    }
    obj *o = db_lookup_read(c->srv, c->db, c->argv[1]);
    if (!o) {
        reply_null(c);
        return;
    }
    if (wrong_type(c, o)) return;
    set_elem e;
    set_random_member(o, &e, NULL);
    reply_elem(c, &e);
}

/* ---- SSCAN ------------------------------------------------------------- */

/* Redis's parseScanCursorOrReply: strtoul (so "", "+5" and "-1" are
 * accepted) but no leading space and no trailing bytes. */
static int parse_cursor(client *c, const dstr arg, unsigned long *out) {
    char *end;
    if (isspace((unsigned char)arg[0])) goto bad;
    errno = 0;
    *out = strtoul(arg, &end, 10);
    if (*end != '\0' || errno == ERANGE) goto bad;
    return 0;
bad:
    reply_error(c, "ERR invalid cursor");
    return -1;
}

typedef struct scan_batch {
    dstr *v;
    size_t n, cap;
} scan_batch;

static void scan_collect(void *priv, const dict_entry *de) {
    scan_batch *b = priv;
    if (b->n == b->cap) {
        b->cap = b->cap ? b->cap * 2 : 16;
        b->v = mem_realloc(b->v, sizeof(dstr) * b->cap);
    }
    b->v[b->n++] = de->key; /* the table is not modified during the call */
}

static void cmd_sscan(client *c) {
    unsigned long cursor;
    if (parse_cursor(c, c->argv[2], &cursor) < 0) return;
    obj *o = db_lookup_read(c->srv, c->db, c->argv[1]);
    if (!o) {
        reply_raw(c, "*2\r\n$1\r\n0\r\n*0\r\n", 15);
        return;
    }
    if (wrong_type(c, o)) return;
    long long count = 10;
    const char *pat = NULL;
    size_t plen = 0;
    for (int i = 3; i < c->argc; i += 2) {
        int more = c->argc - i >= 2;
        if (arg_is(c->argv[i], "count") && more) {
            if (arg_ll(c, c->argv[i + 1], &count) < 0) return;
            if (count < 1) {
                reply_error(c, ERR_SYNTAX);
                return;
            }
        } else if (arg_is(c->argv[i], "match") && more) {
            pat = c->argv[i + 1];
            plen = dstr_len(c->argv[i + 1]);
            if (plen == 1 && pat[0] == '*') pat = NULL;
        } else {
            reply_error(c, ERR_SYNTAX);
            return;
        }
    }
    char buf[UTIL_LONG_STR_SIZE];
    if (o->enc == ENC_INTSET) {
        /* A compact set is answered whole, with the final cursor. */
        reply_raw(c, "*2\r\n$1\r\n0\r\n", 11);
        size_t handle = reply_defer_len(c);
        long long n = 0;
        set_iter it;
        set_elem e;
        set_iter_init(o, &it);
        while (set_iter_next(&it, &e)) {
            size_t len;
            const char *p = set_elem_bytes(&e, buf, &len);
            if (pat && !util_glob_match(pat, plen, p, len, 0)) continue;
            reply_bulk(c, p, len);
            n++;
        }
        set_iter_done(&it);
        reply_set_deferred_len(c, handle, n);
        return;
    }
    scan_batch batch = {NULL, 0, 0};
    /* Redis computes count*10 in a long, which wraps for huge counts and
     * then never reaches zero: a full scan. Saturate to the same effect. */
    long long maxiter = count > LLONG_MAX / 10 ? LLONG_MAX : count * 10;
    do {
        cursor = dict_scan(o->ptr, cursor, scan_collect, &batch);
    } while (cursor && maxiter-- && batch.n < (unsigned long long)count);
    reply_array(c, 2);
    int clen = util_ull_to_str(buf, sizeof(buf), cursor);
    reply_bulk(c, buf, (size_t)clen);
    size_t handle = reply_defer_len(c);
    long long n = 0;
    for (size_t i = 0; i < batch.n; i++) {
        dstr m = batch.v[i];
        if (pat && !util_glob_match(pat, plen, m, dstr_len(m), 0)) continue;
        reply_bulk(c, m, dstr_len(m));
        n++;
    }
    mem_free(batch.v);
    reply_set_deferred_len(c, handle, n);
}

/* ---- registration ------------------------------------------------------ */

#define W CMD_WRITE
#define R CMD_READONLY
#define D CMD_DENYOOM
#define F CMD_FAST
#define CMD(n, p, a, f, fk, lk, ks) COMMAND_ROW(n, p, a, f, fk, lk, ks)

static command set_commands[] = {
    CMD("sadd", cmd_sadd, -3, W | D | F, 1, 1, 1),
    CMD("srem", cmd_srem, -3, W | F, 1, 1, 1),
    CMD("smove", cmd_smove, 4, W | F, 1, 2, 1),
    CMD("sismember", cmd_sismember, 3, R | F, 1, 1, 1),
    CMD("smismember", cmd_smismember, -3, R | F, 1, 1, 1),
    CMD("scard", cmd_scard, 2, R | F, 1, 1, 1),
    CMD("spop", cmd_spop, -2, W | F, 1, 1, 1),
    CMD("srandmember", cmd_srandmember, -2, R, 1, 1, 1),
    CMD("smembers", cmd_sinter, 2, R, 1, 1, 1),
    CMD("sinter", cmd_sinter, -2, R, 1, -1, 1),
    CMD("sintercard", cmd_sintercard, -3, R | CMD_MOVABLE_KEYS, 0, 0, 0),
    CMD("sinterstore", cmd_sinterstore, -3, W | D, 1, -1, 1),
    CMD("sunion", cmd_sunion, -2, R, 1, -1, 1),
    CMD("sunionstore", cmd_sunionstore, -3, W | D, 1, -1, 1),
    CMD("sdiff", cmd_sdiff, -2, R, 1, -1, 1),
    CMD("sdiffstore", cmd_sdiffstore, -3, W | D, 1, -1, 1),
    CMD("sscan", cmd_sscan, -3, R, 1, 1, 1),
    COMMAND_END,
};

void t_set_register(void) {
    set_register_type();
    commands_register_table(set_commands);
}
