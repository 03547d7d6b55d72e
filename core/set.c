/* set: the set value (see t_set.h for the encodings).
 *
 * Membership tests on a hashtable set need the member as a dstr, because
 * the dict hashes and compares dstrs. Commands already hold their
 * arguments as dstrs; integers coming out of an intset are rendered into a
 * reusable per-thread probe string, so an SINTER of an intset against a
 * hashtable allocates nothing per member.
 *
 * Adding to a hashtable set first searches with the caller's string and
 * only copies it when the member is new: SADD of an existing member costs
 * one lookup and no allocation.
 *
 * A hashtable set shrinks its table after removals that leave it under 10%
 * full (as Redis's htNeedsResize/dictResize do), so SPOP and SREM keep
 * random picks and scans cheap on a set that used to be large.
 *
 * DEBUG DIGEST: Redis 7.0 xors SHA1 of each member's bytes into the key's
 * digest (members as strings, integers in decimal), so the contribution
 * does not depend on the encoding or the order. */
#include <string.h>

#include "core/debug.h"
#include "core/mem.h"
#include "core/t_set.h"
#include "core/util.h"

/* Redis caps the intset limit because of intset internals; the same cap
 * keeps our uint32 lengths safe. */
#define SET_INTSET_HARD_MAX (1LL << 30)

static const dict_type set_dict_type = {dict_dstr_hash, dict_dstr_eq, dict_dstr_free, NULL};

/* ---- helpers ---------------------------------------------------------- */

static _Thread_local uint64_t rand_state;

unsigned long long set_rand(void) {
    if (rand_state == 0) {
        rand_state =
            (uint64_t)util_mono_us() * 0x9e3779b97f4a7c15ULL ^ (uint64_t)(uintptr_t)&rand_state;
        if (rand_state == 0) rand_state = 1;
    }
    /* xorshift64*: fast, and plenty for picking members. */
    uint64_t x = rand_state;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    rand_state = x;
    return x * 0x2545F4914F6CDD1DULL;
}

/* The canonical-integer test Redis applies to members (string2ll). */
static int member_to_ll(const dstr ele, long long *v) {
    size_t len = dstr_len(ele);
    return len <= 20 && util_str_to_ll(ele, len, v);
}

/* A dstr holding the decimal form of v, reused between calls on the same
 * thread: valid until the next call. */
static dstr probe_ll(long long v) {
    static _Thread_local dstr probe;
    char buf[UTIL_LONG_STR_SIZE];
    int n = util_ll_to_str(buf, sizeof(buf), v);
    if (!probe) probe = dstr_empty();
    dstr_clear(probe);
    probe = dstr_cat(probe, buf, (size_t)n);
    return probe;
}

static dstr new_ll_dstr(long long v) {
    char buf[UTIL_LONG_STR_SIZE];
    int n = util_ll_to_str(buf, sizeof(buf), v);
    return dstr_new(buf, (size_t)n);
}

static long long clamp_max(long long max_intset) {
    return max_intset > SET_INTSET_HARD_MAX ? SET_INTSET_HARD_MAX : max_intset;
}

static obj *set_obj(int enc, void *ptr) {
    obj *o = mem_alloc(sizeof(*o));
    o->type = OBJ_SET;
    o->enc = (uint8_t)enc;
    o->lru = obj_lru_clock();
    o->ptr = ptr;
    return o;
}

/* ---- construction ----------------------------------------------------- */

obj *set_create_intset(void) { return set_obj(ENC_INTSET, intset_new()); }

obj *set_create_hashtable(size_t size_hint) {
    dict *d = dict_create(&set_dict_type);
    if (size_hint) dict_expand(d, size_hint);
    return set_obj(ENC_HASHTABLE, d);
}

obj *set_create_for(const dstr first) {
    long long v;
    return member_to_ll(first, &v) ? set_create_intset() : set_create_hashtable(0);
}

obj *set_from_intset_blob(const void *p, size_t len, long long max_intset) {
    intset *is = intset_from_blob(p, len);
    if (!is) return NULL;
    obj *o = set_obj(ENC_INTSET, is);
    if ((long long)intset_len(is) > clamp_max(max_intset)) set_convert_to_hashtable(o);
    return o;
}

/* ---- members ---------------------------------------------------------- */

size_t set_size(const obj *o) {
    if (o->enc == ENC_INTSET) return intset_len(o->ptr);
    return dict_size(o->ptr);
}

const intset *set_intset(const obj *o) { return o->enc == ENC_INTSET ? o->ptr : NULL; }

dict *set_dict(const obj *o) { return o->enc == ENC_HASHTABLE ? o->ptr : NULL; }

void set_convert_to_hashtable(obj *o) {
    if (o->enc != ENC_INTSET) return;
    intset *is = o->ptr;
    uint32_t n = intset_len(is);
    dict *d = dict_create(&set_dict_type);
    if (n) dict_expand(d, n);
    int64_t v;
    for (uint32_t i = 0; intset_get(is, i, &v); i++) dict_add(d, new_ll_dstr(v), NULL);
    intset_free(is);
    o->ptr = d;
    o->enc = ENC_HASHTABLE;
}

/* Add to a hashtable set: search with the caller's string, copy only when
 * the member is new. */
static int ht_add(dict *d, const dstr ele) {
    dict_entry *de = dict_add_raw(d, ele, NULL);
    if (!de) return 0;
    de->key = dstr_dup(ele);
    return 1;
}

static int intset_add_checked(obj *o, long long v, long long max_intset) {
    int added;
    o->ptr = intset_add(o->ptr, v, &added);
    if (added && (long long)intset_len(o->ptr) > clamp_max(max_intset)) set_convert_to_hashtable(o);
    return added;
}

int set_add(obj *o, const dstr ele, long long max_intset) {
    if (o->enc == ENC_HASHTABLE) return ht_add(o->ptr, ele);
    long long v;
    if (member_to_ll(ele, &v)) return intset_add_checked(o, v, max_intset);
    /* Not an integer: the set leaves the intset encoding, and the member
     * cannot be there yet. */
    set_convert_to_hashtable(o);
    dict_add(o->ptr, dstr_dup(ele), NULL);
    return 1;
}

int set_add_ll(obj *o, long long v, long long max_intset) {
    if (o->enc == ENC_INTSET) return intset_add_checked(o, v, max_intset);
    dict_entry *de = dict_add_raw(o->ptr, probe_ll(v), NULL);
    if (!de) return 0;
    de->key = new_ll_dstr(v);
    return 1;
}

int set_remove(obj *o, const dstr ele) {
    if (o->enc == ENC_HASHTABLE) {
        if (dict_delete(o->ptr, ele) != 0) return 0;
        dict_shrink_if_needed(o->ptr);
        return 1;
    }
    long long v;
    int removed = 0;
    if (member_to_ll(ele, &v)) o->ptr = intset_remove(o->ptr, v, &removed);
    return removed;
}

int set_is_member(const obj *o, const dstr ele) {
    if (o->enc == ENC_HASHTABLE) return dict_find(o->ptr, ele) != NULL;
    long long v;
    return member_to_ll(ele, &v) && intset_find(o->ptr, v);
}

/* Membership of an integer: an intset answers directly, a hashtable is
 * probed with the decimal form. */
int set_is_member_ll(const obj *o, long long v) {
    if (o->enc == ENC_INTSET) return intset_find(o->ptr, v);
    return dict_find(o->ptr, probe_ll(v)) != NULL;
}

const char *set_elem_bytes(const set_elem *e, char *buf, size_t *len) {
    if (e->is_int) {
        *len = (size_t)util_ll_to_str(buf, UTIL_LONG_STR_SIZE, e->ll);
        return buf;
    }
    *len = e->len;
    return e->p;
}

dstr set_elem_dstr(const set_elem *e) {
    return e->is_int ? new_ll_dstr(e->ll) : dstr_new(e->p, e->len);
}

void set_random_member(obj *o, set_elem *out, dict_entry **de_out) {
    if (o->enc == ENC_INTSET) {
        out->is_int = 1;
        out->ll = intset_random(o->ptr, set_rand());
        out->p = NULL;
        out->len = 0;
        if (de_out) *de_out = NULL;
        return;
    }
    dict_entry *de = dict_random_entry(o->ptr);
    out->is_int = 0;
    out->ll = 0;
    out->p = de->key;
    out->len = dstr_len(de->key);
    if (de_out) *de_out = de;
}

dstr set_pop_random(obj *o) {
    if (o->enc == ENC_INTSET) {
        long long v = intset_random(o->ptr, set_rand());
        o->ptr = intset_remove(o->ptr, v, NULL);
        return new_ll_dstr(v);
    }
    dict *d = o->ptr;
    dict_entry *de = dict_unlink(d, dict_random_entry(d)->key);
    /* Steal the member: the entry goes, its string lives on. */
    dstr ele = de->key;
    de->key = NULL;
    dict_free_unlinked(d, de);
    dict_shrink_if_needed(d);
    return ele;
}

/* ---- iteration -------------------------------------------------------- */

void set_iter_init(const obj *o, set_iter *it) {
    it->set = o;
    it->pos = 0;
    it->enc = o->enc;
    if (o->enc == ENC_HASHTABLE) dict_iter_init(o->ptr, &it->di);
}

int set_iter_next(set_iter *it, set_elem *e) {
    if (it->enc == ENC_INTSET) {
        int64_t v;
        if (!intset_get(it->set->ptr, it->pos, &v)) return 0;
        it->pos++;
        e->is_int = 1;
        e->ll = v;
        e->p = NULL;
        e->len = 0;
        return 1;
    }
    dict_entry *de = dict_iter_next(&it->di);
    if (!de) return 0;
    e->is_int = 0;
    e->ll = 0;
    e->p = de->key;
    e->len = dstr_len(de->key);
    return 1;
}

void set_iter_done(set_iter *it) {
    if (it->enc == ENC_HASHTABLE) dict_iter_done(&it->di);
}

/* ---- object hooks ----------------------------------------------------- */

static void set_free_value(obj *o) {
    if (o->enc == ENC_INTSET)
        intset_free(o->ptr);
    else
        dict_release(o->ptr);
}

/* COPY: same encoding as the original, as Redis's setTypeDup. */
static void *set_dup_value(const obj *o) {
    if (o->enc == ENC_INTSET) return intset_dup(o->ptr);
    dict *src = o->ptr;
    dict *d = dict_create(&set_dict_type);
    if (dict_size(src)) dict_expand(d, dict_size(src));
    dict_iter it;
    dict_iter_init(src, &it);
    dict_entry *de;
    while ((de = dict_iter_next(&it))) dict_add(d, dstr_dup(de->key), NULL);
    dict_iter_done(&it);
    return d;
}

static void set_digest(const obj *o, unsigned char digest[20]) {
    set_iter it;
    set_elem e;
    char buf[UTIL_LONG_STR_SIZE];
    set_iter_init(o, &it);
    while (set_iter_next(&it, &e)) {
        size_t len;
        const char *p = set_elem_bytes(&e, buf, &len);
        digest_xor(digest, p, len);
    }
    set_iter_done(&it);
}

static const obj_type_ops set_ops = {set_free_value, set_dup_value, set_digest};

void set_register_type(void) { obj_register_type(OBJ_SET, &set_ops); }
