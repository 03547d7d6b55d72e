/* hash_type: the hash value, in either encoding (see t_hash.h).
 *
 * Every operation dispatches on the encoding: a pack (hash_pack.c) for
 * small hashes, a dict of dstr -> dstr for the others. The rules that
 * decide the encoding are Redis 7.0's, so OBJECT ENCODING answers the same
 * for the same history of commands:
 *   - a write that brings a field or a value longer than
 *     hash-max-listpack-value converts the pack before it is applied
 *     (hash_set for single-pair writes, hash_try_convert for HSET/HMSET,
 *     which looks at every argument first, so a rejected or no-op write can
 *     still convert);
 *   - a pack holding more than hash-max-listpack-entries pairs after a
 *     write is converted (after an update too: CONFIG SET may have lowered
 *     the limit since the pack grew);
 *   - nothing converts back.
 *
 * The digest is Redis's: for each pair, a fresh digest mixed with the field
 * then the value, xored into the key's digest, so pair order (pack order
 * versus table order) does not matter. */
#include <stdint.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/debug.h"
#include "core/dict.h"
#include "core/hash_pack.h"
#include "core/mem.h"
#include "core/t_hash.h"

static const dict_type hash_table_type = {dict_dstr_hash, dict_dstr_eq, dict_dstr_free,
                                          dict_dstr_free};

static int is_pack(const obj *o) { return o->enc == ENC_LISTPACK; }

obj *hash_new(void) {
    obj *o = mem_alloc(sizeof(*o));
    o->type = OBJ_HASH;
    o->enc = ENC_LISTPACK;
    o->lru = obj_lru_clock();
    o->ptr = hpack_new();
    return o;
}

size_t hash_len(const obj *o) {
    return is_pack(o) ? hpack_count(o->ptr) : dict_size(o->ptr);
}

/* A table entry as a pair: both strings live in the table. */
static void pair_from_entry(const dict_entry *de, hash_pair *out) {
    out->field = de->key;
    out->flen = dstr_len(de->key);
    out->value = de->v.val;
    out->vlen = dstr_len(de->v.val);
}

int hash_get(const obj *o, const dstr field, hash_pair *out) {
    if (is_pack(o)) return hpack_get(o->ptr, field, dstr_len(field), out);
    dict_entry *de = dict_find(o->ptr, field);
    if (!de) return 0;
    pair_from_entry(de, out);
    return 1;
}

int hash_exists(const obj *o, const dstr field) {
    if (is_pack(o)) return hpack_find(o->ptr, field, dstr_len(field)) != 0;
    return dict_find(o->ptr, field) != NULL;
}

void hash_convert_to_table(obj *o) {
    if (!is_pack(o)) return;
    hpack *p = o->ptr;
    dict *d = dict_create(&hash_table_type);
    if (hpack_count(p)) dict_expand(d, hpack_count(p));
    size_t pos = 0;
    hpack_pair pair;
    while (hpack_iter(p, &pos, &pair))
        dict_add(d, dstr_new(pair.field, pair.flen), dstr_new(pair.value, pair.vlen));
    hpack_free(p);
    o->ptr = d;
    o->enc = ENC_HASHTABLE;
}

void hash_try_convert(obj *o, const config *cfg, dstr *argv, int start, int end) {
    if (!is_pack(o)) return;
    size_t sum = 0;
    for (int i = start; i <= end; i++) {
        size_t len = dstr_len(argv[i]);
        if ((long long)len > cfg->hash_max_listpack_value) {
            hash_convert_to_table(o);
            return;
        }
        sum += len;
    }
    if (!hpack_safe_to_add(o->ptr, sum)) hash_convert_to_table(o);
}

int hash_set(obj *o, const config *cfg, const dstr field, const char *v, size_t vlen) {
    size_t flen = dstr_len(field);
    if (is_pack(o)) {
        if ((long long)flen > cfg->hash_max_listpack_value ||
            (long long)vlen > cfg->hash_max_listpack_value ||
            !hpack_safe_to_add(o->ptr, flen + vlen + 20))
            hash_convert_to_table(o);
    }
    if (is_pack(o)) {
        hpack *p = o->ptr;
        int updated = hpack_set(&p, field, flen, v, vlen);
        o->ptr = p;
        /* Checked after updates too: the limit may have been lowered
         * since the pack grew. */
        if ((long long)hpack_count(p) > cfg->hash_max_listpack_entries)
            hash_convert_to_table(o);
        return updated;
    }
    /* One lookup for both outcomes: the caller's field goes in as the key
     * and is swapped for a copy (same bytes, same bucket) once added. */
    dict_entry *existing;
    dict_entry *de = dict_add_raw(o->ptr, (void *)field, &existing);
    if (de) {
        de->key = dstr_dup(field);
        de->v.val = dstr_new(v, vlen);
        return 0;
    }
    dstr_free(existing->v.val);
    existing->v.val = dstr_new(v, vlen);
    return 1;
}

int hash_delete(obj *o, const dstr field) {
    if (is_pack(o)) {
        hpack *p = o->ptr;
        int deleted = hpack_delete(&p, field, dstr_len(field));
        o->ptr = p;
        return deleted;
    }
    if (dict_delete(o->ptr, field) != 0) return 0;
    dict_shrink_if_needed(o->ptr);
    return 1;
}

/* ---- iteration ---------------------------------------------------------- */

void hash_iter_init(const obj *o, hash_iter *it) {
    it->o = o;
    it->pos = 0;
    if (!is_pack(o)) dict_iter_init(o->ptr, &it->di);
}

int hash_iter_next(hash_iter *it, hash_pair *out) {
    if (is_pack(it->o)) return hpack_iter(it->o->ptr, &it->pos, out);
    dict_entry *de = dict_iter_next(&it->di);
    if (!de) return 0;
    pair_from_entry(de, out);
    return 1;
}

void hash_iter_done(hash_iter *it) {
    if (!is_pack(it->o)) dict_iter_done(&it->di);
}

/* ---- random ------------------------------------------------------------- */

/* xorshift64*: HRANDFIELD needs speed, not cryptographic quality. */
static uint64_t rng_state;

uint64_t hash_rand(void) {
    if (!rng_state) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        rng_state = ((uint64_t)ts.tv_nsec << 20) ^ (uint64_t)ts.tv_sec ^ ((uint64_t)getpid() << 40);
        if (!rng_state) rng_state = 0x9E3779B97F4A7C15ull;
    }
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 0x2545F4914F6CDD1Dull;
}

void hash_random_pair(const obj *o, hash_pair *out) {
    if (is_pack(o)) {
        const hpack *p = o->ptr;
        size_t pick = hash_rand() % hpack_count(p);
        size_t pos = hpack_first(p);
        while (pick--) pos = hpack_next(p, pos);
        hpack_read(p, pos, out);
        return;
    }
    pair_from_entry(dict_random_entry(o->ptr), out);
}

/* ---- object.c hooks ----------------------------------------------------- */

static void hash_free_value(obj *o) {
    if (is_pack(o))
        hpack_free(o->ptr);
    else
        dict_release(o->ptr);
}

static void *hash_dup_value(const obj *o) {
    if (is_pack(o)) return hpack_dup(o->ptr);
    dict *src = o->ptr;
    dict *d = dict_create(&hash_table_type);
    dict_expand(d, dict_size(src));
    dict_iter it;
    dict_iter_init(src, &it);
    dict_entry *de;
    while ((de = dict_iter_next(&it))) dict_add(d, dstr_dup(de->key), dstr_dup(de->v.val));
    dict_iter_done(&it);
    return d;
}

static void hash_digest(const obj *o, unsigned char digest[20]) {
    hash_iter it;
    hash_pair pair;
    hash_iter_init(o, &it);
    while (hash_iter_next(&it, &pair)) {
        unsigned char d[20];
        memset(d, 0, sizeof(d));
        digest_mix(d, pair.field, pair.flen);
        digest_mix(d, pair.value, pair.vlen);
        digest_xor(digest, d, sizeof(d));
    }
    hash_iter_done(&it);
}

static const obj_type_ops hash_ops = {hash_free_value, hash_dup_value, hash_digest};

void hash_register_type(void) { obj_register_type(OBJ_HASH, &hash_ops); }
