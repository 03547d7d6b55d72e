/* rdb_keyq: see rdb_keyq.h.
 *
 * Item i of the ring is q->item[(head + i) % RDB_KEYQ_LEN], the oldest at
 * head. A key's age is how many keys were queued after it. Each push runs
 * prefetch step 0 for the new key, step 1 for the key of age STEP1_AGE and
 * step 2 for the key of age STEP2_AGE; the key of age RDB_KEYQ_LEN is
 * inserted. Parsing one key takes far longer than a memory access, so a
 * couple of keys between steps is enough for each line to arrive. */
#include "core/rdb_keyq.h"

#include "core/dict.h"

#define STEP1_AGE 2
#define STEP2_AGE 5

_Static_assert((RDB_KEYQ_LEN & (RDB_KEYQ_LEN - 1)) == 0, "RDB_KEYQ_LEN: a power of two");
_Static_assert(STEP2_AGE < RDB_KEYQ_LEN, "every step runs before the insert");

static rdb_keyq_item *item_at(rdb_keyq *q, unsigned i) {
    return &q->item[(q->head + i) & (RDB_KEYQ_LEN - 1)];
}

static void prefetch_age(rdb_keyq *q, unsigned age, int step) {
    if (q->count <= age) return;
    const rdb_keyq_item *it = item_at(q, q->count - 1 - age);
    dict_prefetch(it->db->keys, it->hash, step);
}

static int insert_oldest(rdb_keyq *q, rdb_keyq_dup *dup) {
    rdb_keyq_item *it = item_at(q, 0);
    q->head = (q->head + 1) & (RDB_KEYQ_LEN - 1);
    q->count--;
    dict_entry *de = dict_add_raw_hashed(it->db->keys, it->key, it->hash, NULL);
    if (!de) {
        obj_free(it->val);
        dup->key = it->key;
        dup->dbid = it->db->id;
        return -1;
    }
    de->v.val = it->val;
    if (it->expire_ms != -1) {
        dict_entry *ee = dict_add_raw(it->db->expires, it->key, NULL);
        if (ee) ee->v.s64 = it->expire_ms;
    }
    q->inserted++;
    return 0;
}

int rdb_keyq_push(rdb_keyq *q, db *d, dstr key, obj *val, long long expire_ms,
                  rdb_keyq_dup *dup) {
    /* On a duplicate the new key is still queued, so it has one owner. */
    int rc = q->count == RDB_KEYQ_LEN ? insert_oldest(q, dup) : 0;
    rdb_keyq_item *it = item_at(q, q->count++);
    it->db = d;
    it->key = key;
    it->val = val;
    it->expire_ms = expire_ms;
    it->hash = dict_key_hash(d->keys, key);
    dict_prefetch(d->keys, it->hash, 0);
    prefetch_age(q, STEP1_AGE, 1);
    prefetch_age(q, STEP2_AGE, 2);
    return rc;
}

int rdb_keyq_drain(rdb_keyq *q, rdb_keyq_dup *dup) {
    while (q->count)
        if (insert_oldest(q, dup) < 0) return -1;
    return 0;
}

void rdb_keyq_clear(rdb_keyq *q) {
    while (q->count) {
        rdb_keyq_item *it = item_at(q, 0);
        dstr_free(it->key);
        obj_free(it->val);
        q->head = (q->head + 1) & (RDB_KEYQ_LEN - 1);
        q->count--;
    }
}
