/* t_hash: the hash commands.
 *
 * Each command follows Redis 7.0's t_hash.c in what it checks and in which
 * order, so that the same mistake draws the same error: argument counts
 * (HSET/HMSET with an odd number of arguments), then numeric arguments
 * that are parsed before the key is looked up (HINCRBY, HINCRBYFLOAT,
 * HRANDFIELD's count, HSCAN's cursor), then the key's type, then options
 * parsed after the lookup (HSCAN's COUNT and MATCH: a missing key answers
 * an empty scan whatever the options say).
 *
 * Writes create the key on demand (HSET, HSETNX, HINCRBY*) and delete it
 * when its last field goes (HDEL). They are propagated as received, except
 * HINCRBYFLOAT, which becomes `HSET key field <result>` so that a replica
 * never redoes the floating point arithmetic.
 *
 * Replies whose order depends on the encoding (HKEYS, HVALS, HGETALL,
 * HSCAN, HRANDFIELD) use insertion order for a packed hash, like Redis's
 * listpack, and table order otherwise. HSCAN returns a packed hash whole,
 * with cursor 0, in one call. HRANDFIELD uses Redis's four cases: negative
 * count (repetitions allowed), count covering the whole hash (the hash in
 * order), and unique samples from a pack (in pack order) or a table. */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/commands.h"
#include "core/db.h"
#include "core/hash_pack.h"
#include "core/mem.h"
#include "core/notify.h"
#include "core/reply.h"
#include "core/t_hash.h"
#include "core/util.h"

/* ---- lookups ------------------------------------------------------------ */

/* Replies WRONGTYPE and returns 1 when `o` exists and is not a hash. */
static int wrong_type(client *c, const obj *o) {
    if (o && o->type != OBJ_HASH) {
        reply_error(c, ERR_WRONGTYPE);
        return 1;
    }
    return 0;
}

/* The hash at argv[1] for a write, created empty when missing; NULL (and
 * WRONGTYPE replied) when the key holds another type. */
static obj *lookup_write_or_create(client *c) {
    obj *o = db_lookup_write(c->srv, c->db, c->argv[1]);
    if (wrong_type(c, o)) return NULL;
    if (!o) {
        o = hash_new();
        db_add(c->srv, c->db, c->argv[1], o);
    }
    return o;
}

/* The hash at argv[1] for a read: NULL with `missing` replied (raw RESP)
 * when absent, NULL with WRONGTYPE when of another type. */
static obj *lookup_read_or_reply(client *c, const char *missing) {
    obj *o = db_lookup_read(c->srv, c->db, c->argv[1]);
    if (!o) {
        reply_canned(c, missing);
        return NULL;
    }
    if (wrong_type(c, o)) return NULL;
    return o;
}

#define R_NULL "$-1\r\n"
#define R_ZERO ":0\r\n"
#define R_EMPTY_ARRAY "*0\r\n"
#define R_EMPTY_SCAN "*2\r\n$1\r\n0\r\n*0\r\n"

/* After a write to the hash at argv[1] (the command's `event`). */
static void modified(client *c, long long dirty, const char *event) {
    db_signal_modified(c->srv, c->db, c->argv[1]);
    notify_event(c->srv, NOTIFY_HASH, event, c->argv[1], c->db->id);
    server_dirty(c, dirty);
}

/* ---- writes ------------------------------------------------------------- */

/* HSET key field value [field value ...] / HMSET: same work, HSET replies
 * the number of new fields, HMSET +OK. */
static void hset_generic(client *c, int is_hmset) {
    if (c->argc % 2 == 1) {
        reply_errorf(c, "ERR wrong number of arguments for '%s' command", c->cmd->name);
        return;
    }
    obj *o = lookup_write_or_create(c);
    if (!o) return;
    const config *cfg = &c->srv->cfg;
    hash_try_convert(o, cfg, c->argv, 2, c->argc - 1);
    long long created = 0;
    for (int i = 2; i < c->argc; i += 2)
        created += !hash_set(o, cfg, c->argv[i], c->argv[i + 1], dstr_len(c->argv[i + 1]));
    if (is_hmset)
        reply_ok(c);
    else
        reply_int(c, created);
    modified(c, (c->argc - 2) / 2, "hset");
}

static void cmd_hset(client *c) { hset_generic(c, 0); }
static void cmd_hmset(client *c) { hset_generic(c, 1); }

static void cmd_hsetnx(client *c) {
    obj *o = lookup_write_or_create(c);
    if (!o) return;
    if (hash_exists(o, c->argv[2])) {
        reply_int(c, 0);
        return;
    }
    const config *cfg = &c->srv->cfg;
    hash_try_convert(o, cfg, c->argv, 2, 3);
    hash_set(o, cfg, c->argv[2], c->argv[3], dstr_len(c->argv[3]));
    reply_int(c, 1);
    modified(c, 1, "hset");
}

static void cmd_hdel(client *c) {
    obj *o = db_lookup_write(c->srv, c->db, c->argv[1]);
    if (!o) {
        reply_int(c, 0);
        return;
    }
    if (wrong_type(c, o)) return;
    long long deleted = 0;
    int emptied = 0;
    for (int j = 2; j < c->argc; j++) {
        if (!hash_delete(o, c->argv[j])) continue;
        deleted++;
        if (hash_len(o) == 0) {
            db_delete(c->srv, c->db, c->argv[1]);
            emptied = 1;
            break;
        }
    }
    if (deleted) modified(c, deleted, "hdel");
    if (emptied) notify_event(c->srv, NOTIFY_GENERIC, "del", c->argv[1], c->db->id);
    reply_int(c, deleted);
}

static void cmd_hincrby(client *c) {
    long long incr, value = 0;
    if (arg_ll(c, c->argv[3], &incr) < 0) return;
    obj *o = lookup_write_or_create(c);
    if (!o) return;
    hash_pair cur;
    if (hash_get(o, c->argv[2], &cur) && !util_str_to_ll(cur.value, cur.vlen, &value)) {
        reply_error(c, "ERR hash value is not an integer");
        return;
    }
    if ((incr < 0 && value < 0 && incr < LLONG_MIN - value) ||
        (incr > 0 && value > 0 && incr > LLONG_MAX - value)) {
        reply_error(c, ERR_OVERFLOW);
        return;
    }
    value += incr;
    char buf[UTIL_LONG_STR_SIZE];
    int len = util_ll_to_str(buf, sizeof(buf), value);
    hash_set(o, &c->srv->cfg, c->argv[2], buf, (size_t)len);
    reply_int(c, value);
    modified(c, 1, "hincrby");
}

static void cmd_hincrbyfloat(client *c) {
    long double incr, value = 0;
    if (!util_str_to_ld(c->argv[3], dstr_len(c->argv[3]), &incr)) {
        reply_error(c, ERR_NOT_FLOAT);
        return;
    }
    if (isnan(incr) || isinf(incr)) {
        reply_error(c, "ERR value is NaN or Infinity");
        return;
    }
    obj *o = lookup_write_or_create(c);
    if (!o) return;
    hash_pair cur;
    if (hash_get(o, c->argv[2], &cur) && !util_str_to_ld(cur.value, cur.vlen, &value)) {
        reply_error(c, "ERR hash value is not a float");
        return;
    }
    value += incr;
    if (isnan(value) || isinf(value)) {
        reply_error(c, "ERR increment would produce NaN or Infinity");
        return;
    }
    char buf[UTIL_LD_STR_SIZE];
    int len = util_ld_to_str(buf, sizeof(buf), value);
    hash_set(o, &c->srv->cfg, c->argv[2], buf, (size_t)len);
    reply_bulk(c, buf, (size_t)len);
    modified(c, 1, "hincrbyfloat");
    /* Replicas get the result, never the arithmetic. */
    client_rewrite_argv(c, 4, dstr_from("HSET"), dstr_dup(c->argv[1]), dstr_dup(c->argv[2]),
                        dstr_new(buf, (size_t)len));
}

/* ---- reads -------------------------------------------------------------- */

static void cmd_hget(client *c) {
    obj *o = lookup_read_or_reply(c, R_NULL);
    if (!o) return;
    hash_pair pair;
    if (hash_get(o, c->argv[2], &pair))
        reply_bulk(c, pair.value, pair.vlen);
    else
        reply_null(c);
}

static void cmd_hmget(client *c) {
    obj *o = db_lookup_read(c->srv, c->db, c->argv[1]);
    if (wrong_type(c, o)) return;
    reply_array(c, c->argc - 2);
    for (int j = 2; j < c->argc; j++) {
        hash_pair pair;
        if (o && hash_get(o, c->argv[j], &pair))
            reply_bulk(c, pair.value, pair.vlen);
        else
            reply_null(c);
    }
}

static void cmd_hlen(client *c) {
    obj *o = lookup_read_or_reply(c, R_ZERO);
    if (o) reply_int(c, (long long)hash_len(o));
}

static void cmd_hstrlen(client *c) {
    obj *o = lookup_read_or_reply(c, R_ZERO);
    if (!o) return;
    hash_pair pair;
    reply_int(c, hash_get(o, c->argv[2], &pair) ? (long long)pair.vlen : 0);
}

static void cmd_hexists(client *c) {
    obj *o = lookup_read_or_reply(c, R_ZERO);
    if (o) reply_int(c, hash_exists(o, c->argv[2]));
}

enum { WANT_FIELDS = 1, WANT_VALUES = 2 };

static void getall_generic(client *c, int want) {
    obj *o = lookup_read_or_reply(c, want == (WANT_FIELDS | WANT_VALUES) && c->resp == 3
                                          ? "%0\r\n"
                                          : R_EMPTY_ARRAY);
    if (!o) return;
    long long n = (long long)hash_len(o);
    if (want == (WANT_FIELDS | WANT_VALUES)) reply_map(c, n);
    else reply_array(c, n);
    hash_iter it;
    hash_pair pair;
    hash_iter_init(o, &it);
    while (hash_iter_next(&it, &pair)) {
        if (want & WANT_FIELDS) reply_bulk(c, pair.field, pair.flen);
        if (want & WANT_VALUES) reply_bulk(c, pair.value, pair.vlen);
    }
    hash_iter_done(&it);
}

static void cmd_hkeys(client *c) { getall_generic(c, WANT_FIELDS); }
static void cmd_hvals(client *c) { getall_generic(c, WANT_VALUES); }
static void cmd_hgetall(client *c) { getall_generic(c, WANT_FIELDS | WANT_VALUES); }

/* ---- HSCAN -------------------------------------------------------------- */

/* Redis's parseScanCursorOrReply: strtoul, so "+5", "-1" (wrapping) and ""
 * are accepted; a leading space, trailing garbage or overflow are not. */
static int parse_cursor(client *c, const dstr arg, unsigned long *cursor) {
    char *end;
    errno = 0;
    *cursor = strtoul(arg, &end, 10);
    if (isspace((unsigned char)arg[0]) || end[0] != '\0' || errno == ERANGE) {
        reply_error(c, "ERR invalid cursor");
        return -1;
    }
    return 0;
}

typedef struct scan_batch {
    const dict_entry **entries;
    size_t n, cap;
} scan_batch;

static void scan_collect(void *priv, const dict_entry *de) {
    scan_batch *b = priv;
    if (b->n == b->cap) {
        b->cap = b->cap ? b->cap * 2 : 16;
        b->entries = mem_realloc(b->entries, b->cap * sizeof(*b->entries));
    }
    b->entries[b->n++] = de;
}

static void cmd_hscan(client *c) {
    unsigned long cursor;
    if (parse_cursor(c, c->argv[2], &cursor) < 0) return;
    obj *o = lookup_read_or_reply(c, R_EMPTY_SCAN);
    if (!o) return;
    long long count = 10;
    const char *pat = NULL;
    size_t patlen = 0;
    for (int i = 3; i < c->argc; i += 2) {
        int has_value = c->argc - i >= 2;
        if (arg_is(c->argv[i], "count") && has_value) {
            if (arg_ll(c, c->argv[i + 1], &count) < 0) return;
            if (count < 1) {
                reply_error(c, ERR_SYNTAX);
                return;
            }
        } else if (arg_is(c->argv[i], "match") && has_value) {
            pat = c->argv[i + 1];
            patlen = dstr_len(c->argv[i + 1]);
            if (patlen == 1 && pat[0] == '*') pat = NULL; /* matches everything */
        } else {
            reply_error(c, ERR_SYNTAX);
            return;
        }
    }

    size_t handle;
    long long emitted = 0;
    if (o->enc == ENC_LISTPACK) {
        reply_array(c, 2);
        reply_bulk(c, "0", 1);
        handle = reply_defer_len(c);
        hpack_pair pair;
        size_t pos = 0;
        while (hpack_iter(o->ptr, &pos, &pair)) {
            if (pat && !util_glob_match(pat, patlen, pair.field, pair.flen, 0)) continue;
            reply_bulk(c, pair.field, pair.flen);
            reply_bulk(c, pair.value, pair.vlen);
            emitted += 2;
        }
        reply_set_deferred_len(c, handle, emitted);
        return;
    }

    /* A table: visit buckets until enough fields and values (two per
     * entry, so count doubles) are gathered, as Redis's scan does. */
    scan_batch b = {NULL, 0, 0};
    unsigned long long want = (unsigned long long)count * 2;
    long long maxiter = count > LLONG_MAX / 10 ? LLONG_MAX : count * 10;
    do {
        cursor = dict_scan(o->ptr, cursor, scan_collect, &b);
    } while (cursor && maxiter-- && b.n * 2 < want);
    char buf[UTIL_LONG_STR_SIZE];
    int len = util_ull_to_str(buf, sizeof(buf), cursor);
    reply_array(c, 2);
    reply_bulk(c, buf, (size_t)len);
    handle = reply_defer_len(c);
    for (size_t i = 0; i < b.n; i++) {
        const dict_entry *de = b.entries[i];
        const dstr f = de->key;
        if (pat && !util_glob_match(pat, patlen, f, dstr_len(f), 0)) continue;
        reply_bulk(c, f, dstr_len(f));
        reply_bulk(c, de->v.val, dstr_len(de->v.val));
        emitted += 2;
    }
    reply_set_deferred_len(c, handle, emitted);
    mem_free(b.entries);
}

/* ---- HRANDFIELD --------------------------------------------------------- */

/* A field, with its value a pair (nested in RESP3). */
static void reply_field(client *c, const char *f, size_t flen, const char *v, size_t vlen,
                        int withvalues) {
    reply_pair(c, withvalues);
    reply_bulk(c, f, flen);
    if (withvalues) reply_bulk(c, v, vlen);
}

static void reply_pack_pair(client *c, const hpack *p, size_t pos, int withvalues) {
    hpack_pair pair;
    hpack_read(p, pos, &pair);
    reply_field(c, pair.field, pair.flen, pair.value, pair.vlen, withvalues);
}

static uint64_t ptr_hash(const void *k) { return dict_hash_bytes(&k, sizeof(k)); }
static int ptr_eq(const void *a, const void *b) { return a == b; }
static const dict_type ptr_set_type = {ptr_hash, ptr_eq, NULL, NULL};

/* `count` distinct random pairs of a table bigger than count. */
static void rand_unique_from_table(client *c, dict *d, unsigned long count, int withvalues) {
    size_t size = dict_size(d);
    if ((unsigned long long)count * 3 > size) {
        /* Most of the table is wanted: take all of it, keep a random
         * selection (partial Fisher-Yates). */
        dict_entry **all = mem_alloc(size * sizeof(*all));
        size_t n = 0;
        dict_iter it;
        dict_iter_init(d, &it);
        dict_entry *de;
        while ((de = dict_iter_next(&it))) all[n++] = de;
        dict_iter_done(&it);
        for (size_t i = 0; i < count && i < n; i++) {
            size_t j = i + (size_t)(hash_rand() % (n - i));
            dict_entry *t = all[i];
            all[i] = all[j];
            all[j] = t;
            reply_field(c, all[i]->key, dstr_len(all[i]->key), all[i]->v.val,
                       dstr_len(all[i]->v.val), withvalues);
        }
        mem_free(all);
        return;
    }
    /* A small part is wanted: draw until count distinct entries. */
    dict *seen = dict_create(&ptr_set_type);
    unsigned long added = 0;
    while (added < count) {
        dict_entry *de = dict_random_entry(d);
        if (dict_add(seen, de, NULL) != 0) continue;
        reply_field(c, de->key, dstr_len(de->key), de->v.val, dstr_len(de->v.val), withvalues);
        added++;
    }
    dict_release(seen);
}

static void hrandfield_with_count(client *c, long l, int withvalues) {
    obj *o = lookup_read_or_reply(c, R_EMPTY_ARRAY);
    if (!o) return;
    unsigned long size = (unsigned long)hash_len(o);
    int uniq = l >= 0;
    unsigned long count = uniq ? (unsigned long)l : (unsigned long)-l;
    if (count == 0 || size == 0) { /* size: never empty, but cheap to be sure */
        reply_array(c, 0);
        return;
    }

    /* Repetitions allowed: each pick independent, in random order. */
    if (!uniq || count == 1) {
        reply_pair_list(c, (long long)count, withvalues);
        if (o->enc == ENC_LISTPACK) {
            const hpack *p = o->ptr;
            uint32_t *pos = mem_alloc(size * sizeof(*pos));
            hpack_positions(p, pos);
            while (count--) reply_pack_pair(c, p, pos[hash_rand() % size], withvalues);
            mem_free(pos);
        } else {
            while (count--) {
                dict_entry *de = dict_random_entry(o->ptr);
                reply_field(c, de->key, dstr_len(de->key), de->v.val, dstr_len(de->v.val),
                           withvalues);
            }
        }
        return;
    }

    unsigned long n = count < size ? count : size;
    reply_pair_list(c, (long long)n, withvalues);
    if (count >= size) {
        hash_iter it;
        hash_pair pair;
        hash_iter_init(o, &it);
        while (hash_iter_next(&it, &pair))
            reply_field(c, pair.field, pair.flen, pair.value, pair.vlen, withvalues);
        hash_iter_done(&it);
        return;
    }
    if (o->enc == ENC_LISTPACK) {
        /* Selection sampling: each pair is kept with probability
         * needed/remaining, which yields `count` distinct pairs in pack
         * order, uniformly. */
        const hpack *p = o->ptr;
        size_t pos = hpack_first(p);
        unsigned long needed = count;
        for (unsigned long left = size; needed; left--, pos = hpack_next(p, pos)) {
            if (hash_rand() % left < needed) {
                reply_pack_pair(c, p, pos, withvalues);
                needed--;
            }
        }
        return;
    }
    rand_unique_from_table(c, o->ptr, count, withvalues);
}

static void cmd_hrandfield(client *c) {
    if (c->argc >= 3) {
        long long l;
        int withvalues = c->argc == 4 && arg_is(c->argv[3], "withvalues");
        if (arg_rand_count(c, c->argv[2], withvalues, &l) < 0) return;
        if (c->argc > 4 || (c->argc == 4 && !withvalues)) {
            reply_error(c, ERR_SYNTAX);
            return;
        }
        hrandfield_with_count(c, (long)l, withvalues);
        return;
    }
    obj *o = lookup_read_or_reply(c, R_NULL);
    if (!o) return;
    hash_pair pair;
    hash_random_pair(o, &pair);
    reply_bulk(c, pair.field, pair.flen);
}

/* ---- registration ------------------------------------------------------- */

#define W CMD_WRITE
#define R CMD_READONLY
#define D CMD_DENYOOM
#define F CMD_FAST
#define CMD(n, p, a, f) COMMAND_ROW(n, p, a, f, 1, 1, 1)

static command hash_commands[] = {
    CMD("hset", cmd_hset, -4, W | D | F),
    CMD("hsetnx", cmd_hsetnx, 4, W | D | F),
    CMD("hget", cmd_hget, 3, R | F),
    CMD("hmset", cmd_hmset, -4, W | D | F),
    CMD("hmget", cmd_hmget, -3, R | F),
    CMD("hincrby", cmd_hincrby, 4, W | D | F),
    CMD("hincrbyfloat", cmd_hincrbyfloat, 4, W | D | F),
    CMD("hdel", cmd_hdel, -3, W | F),
    CMD("hlen", cmd_hlen, 2, R | F),
    CMD("hstrlen", cmd_hstrlen, 3, R | F),
    CMD("hkeys", cmd_hkeys, 2, R),
    CMD("hvals", cmd_hvals, 2, R),
    CMD("hgetall", cmd_hgetall, 2, R),
    CMD("hexists", cmd_hexists, 3, R | F),
    CMD("hrandfield", cmd_hrandfield, -2, R),
    CMD("hscan", cmd_hscan, -3, R),
    COMMAND_END,
};

void t_hash_register(void) {
    hash_register_type();
    commands_register_table(hash_commands);
}
