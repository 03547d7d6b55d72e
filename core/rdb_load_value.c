/* rdb_load_value: see rdb_load_value.h.
 *
 * Conversion rules, as Redis 7.0's rdbLoadObject applies them:
 *   - a plain SET of more than set-max-intset-entries members starts as a
 *     table; otherwise an intset that converts on the first non-integer
 *     member or when it outgrows the limit; INTSET blobs over the limit
 *     become tables;
 *   - a plain HASH over hash-max-listpack-entries pairs starts as a table;
 *     any field or value longer than hash-max-listpack-value, or too many
 *     pairs, converts a packed hash (ziplist, zipmap and listpack blobs
 *     included);
 *   - a ZSET / ZSET_2 is built as a skiplist and becomes a listpack after
 *     loading when it fits the zset-max-listpack-* limits; packed zsets
 *     stay packed unless they exceed them;
 *   - every list is a quicklist, whatever its RDB form.
 * Corruption Redis detects at this level is refused here too: duplicate
 * set members, hash fields or zset members, NaN scores, odd-length pair
 * blobs, malformed blobs. Empty collections are skipped (Redis logs them as
 * "empty keys skipped"). */
#include "core/rdb_load_value.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/mem.h"
#include "core/rdb.h"
#include "core/rdb_blob.h"
#include "core/t_hash.h"
#include "core/quicklist.h"
#include "core/t_list.h"
#include "core/t_set.h"
#include "core/t_zset.h"
#include "core/util.h"

static void set_why(char *why, size_t whylen, const char *msg) { snprintf(why, whylen, "%s", msg); }

/* ---- per element ---------------------------------------------------------- */

/* The set, hash and zset calls take members and fields as dstrs and copy
 * what they keep, so every element goes through the caller's one scratch
 * dstr rather than a string allocated and freed per element. */
static dstr scratch_fill(dstr *scratch, const char *p, size_t len) {
    if (!*scratch) *scratch = dstr_empty();
    dstr_clear(*scratch);
    *scratch = dstr_cat(*scratch, p, len);
    return *scratch;
}

static int set_member(server *s, obj *o, const dstr m) {
    return set_add(o, m, s->cfg.set_max_intset_entries) ? 0 : -1;
}

static int hash_pair_add(server *s, obj *o, const dstr field, const char *v, size_t vlen) {
    return hash_set(o, &s->cfg, field, v, vlen) ? -1 : 0;
}

/* 0 added, -1 duplicate, -2 NaN. */
static int zset_member(server *s, obj *o, const dstr member, double score) {
    if (isnan(score)) return -2;
    int out = 0;
    zset_add(&s->cfg, o, score, member, ZADD_IN_NX, &out, NULL);
    if (out & ZADD_OUT_NAN) return -2;
    return (out & ZADD_OUT_ADDED) ? 0 : -1;
}

/* ---- blob walks ----------------------------------------------------------- */

typedef struct walk_ctx {
    server *s;
    dstr *scratch;
    obj *o;
    int kind;       /* OBJ_* */
    int have_first; /* *scratch holds the first half of a pending pair */
    int err;        /* -1 duplicate, -2 NaN, -3 bad score */
    int list_node;  /* a list blob that is one quicklist node: 1 until its
                       first element is in, then 2 */
} walk_ctx;

static int walk_elem(void *priv, const char *p, size_t len) {
    walk_ctx *w = priv;
    switch (w->kind) {
    case OBJ_LIST:
        if (w->list_node) {
            ql_load_entry(w->o->ptr, p, len, w->list_node == 1);
            w->list_node = 2;
        } else {
            list_obj_push(w->o, p, len, QL_TAIL);
        }
        return 0;
    case OBJ_SET:
        if (set_member(w->s, w->o, scratch_fill(w->scratch, p, len)) < 0) return w->err = -1;
        return 0;
    default: break;
    }
    if (!w->have_first) {
        scratch_fill(w->scratch, p, len);
        w->have_first = 1;
        return 0;
    }
    int rc;
    w->have_first = 0;
    if (w->kind == OBJ_HASH) {
        rc = hash_pair_add(w->s, w->o, *w->scratch, p, len);
    } else {
        char buf[256];
        double score;
        if (len == 0 || len >= sizeof(buf)) {
            rc = -3;
        } else {
            memcpy(buf, p, len);
            buf[len] = '\0';
            char *end;
            score = strtod(buf, &end);
            rc = *end ? -3 : zset_member(w->s, w->o, *w->scratch, score);
        }
    }
    if (rc) return w->err = rc;
    return 0;
}

static const char *walk_error(int err) {
    switch (err) {
    case -1: return "Duplicate fields or members detected";
    case -2: return "Zset with NAN score detected";
    case -3: return "Zset with an invalid score detected";
    default: return "Encoded value integrity check failed";
    }
}

typedef int (*walk_fn)(const unsigned char *, size_t, rdb_elem_fn, void *, size_t *);

/* Walk a blob into w->o; -1 with `why` on any failure. */
static int walk_blob(walk_ctx *w, walk_fn fn, const unsigned char *p, size_t len, char *why,
                     size_t whylen) {
    size_t n = 0;
    int rc = fn(p, len, walk_elem, w, &n);
    if (rc == 0 && w->have_first) rc = -4; /* odd number of entries in a pair blob */
    if (rc) {
        set_why(why, whylen, walk_error(w->err ? w->err : rc == -4 ? -4 : 0));
        return -1;
    }
    return 0;
}

/* ---- API ------------------------------------------------------------------- */

obj *rdb_value_new(server *s, int type, uint64_t hint) {
    switch (type) {
    case RDB_TYPE_LIST:
    case RDB_TYPE_LIST_QUICKLIST:
    case RDB_TYPE_LIST_QUICKLIST_2: return list_obj_new(s);
    case RDB_TYPE_SET:
        if ((long long)hint > s->cfg.set_max_intset_entries)
            return set_create_hashtable((size_t)hint);
        return set_create_intset();
    case RDB_TYPE_ZSET:
    case RDB_TYPE_ZSET_2: return zset_new_big((size_t)hint);
    default: { /* RDB_TYPE_HASH */
        obj *o = hash_new();
        if ((long long)hint > s->cfg.hash_max_listpack_entries) hash_convert_to_table(o);
        return o;
    }
    }
}

int rdb_value_add(server *s, dstr *scratch, int type, obj *o, const char *a, size_t alen,
                  const char *b, size_t blen, double score, char *why, size_t whylen) {
    switch (type) {
    case RDB_TYPE_LIST: list_obj_push(o, a, alen, QL_TAIL); return 0;
    case RDB_TYPE_SET:
        if (set_member(s, o, scratch_fill(scratch, a, alen)) < 0) {
            set_why(why, whylen, "Duplicate set members detected");
            return -1;
        }
        return 0;
    case RDB_TYPE_ZSET:
    case RDB_TYPE_ZSET_2: {
        int rc = zset_member(s, o, scratch_fill(scratch, a, alen), score);
        if (rc) set_why(why, whylen, rc == -2 ? "Zset with NAN score detected"
                                               : "Duplicate zset fields detected");
        return rc ? -1 : 0;
    }
    case RDB_TYPE_HASH:
        if (hash_pair_add(s, o, scratch_fill(scratch, a, alen), b, blen) < 0) {
            set_why(why, whylen, "Duplicate hash fields detected");
            return -1;
        }
        return 0;
    case RDB_TYPE_LIST_QUICKLIST: {
        walk_ctx w = {s, scratch, o, OBJ_LIST, 0, 0, 1};
        return walk_blob(&w, rdb_ziplist_walk, (const unsigned char *)a, alen, why, whylen);
    }
    default: { /* RDB_TYPE_LIST_QUICKLIST_2: blen is the container */
        if (blen == 1) { /* PLAIN: a plain node whatever its size, as Redis */
            ql_append_plain(o->ptr, a, alen);
            return 0;
        }
        walk_ctx w = {s, scratch, o, OBJ_LIST, 0, 0, 1};
        return walk_blob(&w, rdb_listpack_walk, (const unsigned char *)a, alen, why, whylen);
    }
    }
}

static size_t value_len(const obj *o) {
    switch (o->type) {
    case OBJ_LIST: return list_obj_length(o);
    case OBJ_SET: return set_size(o);
    case OBJ_ZSET: return zset_length(o);
    default: return hash_len(o);
    }
}

obj *rdb_value_finish(server *s, int type, obj *o) {
    if (value_len(o) == 0) {
        obj_free(o);
        return NULL;
    }
    if (type == RDB_TYPE_ZSET || type == RDB_TYPE_ZSET_2) zset_convert_to_small_if_fits(&s->cfg, o);
    return o;
}

int rdb_value_from_blob(server *s, dstr *scratch, int type, const unsigned char *p, size_t len,
                        obj **out, char *why, size_t whylen) {
    *out = NULL;
    if (type == RDB_TYPE_SET_INTSET) {
        /* An empty intset is valid on disk (header only): skip the key. */
        if (len == 8 && !p[4] && !p[5] && !p[6] && !p[7]) return 0;
        obj *o = set_from_intset_blob(p, len, s->cfg.set_max_intset_entries);
        if (!o) {
            set_why(why, whylen, "Intset integrity check failed.");
            return -1;
        }
        *out = o;
        return 0;
    }
    walk_ctx w = {s, scratch, NULL, 0, 0, 0, 0};
    walk_fn fn = rdb_listpack_walk;
    switch (type) {
    case RDB_TYPE_LIST_ZIPLIST:
        w.o = list_obj_new(s);
        w.kind = OBJ_LIST;
        fn = rdb_ziplist_walk;
        break;
    case RDB_TYPE_SET_LISTPACK:
        w.o = set_create_intset();
        w.kind = OBJ_SET;
        break;
    case RDB_TYPE_ZSET_ZIPLIST:
    case RDB_TYPE_ZSET_LISTPACK:
        w.o = zset_new_small();
        w.kind = OBJ_ZSET;
        if (type == RDB_TYPE_ZSET_ZIPLIST) fn = rdb_ziplist_walk;
        break;
    default: /* HASH_ZIPMAP, HASH_ZIPLIST, HASH_LISTPACK */
        w.o = hash_new();
        w.kind = OBJ_HASH;
        if (type == RDB_TYPE_HASH_ZIPMAP) fn = rdb_zipmap_walk;
        else if (type == RDB_TYPE_HASH_ZIPLIST) fn = rdb_ziplist_walk;
        break;
    }
    if (walk_blob(&w, fn, p, len, why, whylen) < 0) {
        obj_free(w.o);
        return -1;
    }
    *out = rdb_value_finish(s, type, w.o);
    return 0;
}
