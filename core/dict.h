/* dict: the chained hash table behind the keyspace (and any other map that
 * must stay responsive while it grows to millions of entries).
 *
 * Buckets are power-of-two arrays of singly linked chains; resizing is
 * incremental, spread over later operations, so no single command pays for
 * moving the whole table. dict.c explains the rehash and SCAN invariants.
 *
 * Ownership: a dict owns the keys and values handed to it and releases them
 * through its dict_type's key_free/val_free (either may be NULL) when an
 * entry is deleted, or the dict emptied or released. A dict is used by one
 * thread at a time. */
#ifndef RM_DICT_H
#define RM_DICT_H

#include <stddef.h>
#include <stdint.h>

typedef struct dict_type {
    uint64_t (*hash)(const void *key);
    int (*key_eq)(const void *a, const void *b); /* nonzero when equal */
    void (*key_free)(void *key);                 /* may be NULL */
    void (*val_free)(void *val);                 /* may be NULL */
} dict_type;

typedef struct dict_entry {
    void *key;
    union {
        void *val;
        int64_t s64;
        uint64_t u64;
        double d;
    } v;
    struct dict_entry *next;
} dict_entry;

typedef struct dict dict;

dict *dict_create(const dict_type *type);
/* Free every entry through the type callbacks, then the dict itself. */
void dict_release(dict *d);
/* Remove every entry; the dict stays usable, with no buckets allocated. */
void dict_empty(dict *d);
size_t dict_size(const dict *d);
/* Total bucket slots of both tables (the second is non-empty only while
 * rehashing). */
size_t dict_buckets(const dict *d);
int dict_is_rehashing(const dict *d);
/* Resize to the smallest power of two >= size (at least 4): on an empty
 * dict the table is allocated at once, otherwise an incremental rehash
 * starts. -1 when already rehashing, when size is below the number of
 * entries, when the size would not change, or when size is absurd. */
int dict_expand(dict *d, size_t size);

dict_entry *dict_find(dict *d, const void *key);
/* Value of key, or NULL when missing (so ambiguous for NULL values). */
void *dict_fetch_val(dict *d, const void *key);
/* Insert key with a zeroed value and return the new entry; the caller sets
 * the value. When key is already present return NULL and, if existing is
 * not NULL, point it at that entry; the dict then does not take key. */
dict_entry *dict_add_raw(dict *d, void *key, dict_entry **existing);
/* dict_add_raw for a key whose hash (dict_key_hash) is already known. */
dict_entry *dict_add_raw_hashed(dict *d, void *key, uint64_t h, dict_entry **existing);
uint64_t dict_key_hash(const dict *d, const void *key);
/* Batched operations (the RDB loader's inserts, pipelined commands): step
 * 0, 1 then 2 for the key of hash h, each a few operations after the
 * previous one, bring its bucket, the head entry of the chain, then that
 * entry's key (read as a dstr) and value into cache before the operation
 * itself. Only a hint; nothing changes. */
void dict_prefetch(const dict *d, uint64_t h, int step);
/* After step 2: the value of the first entry of h's chain, or NULL. Also
 * a hint only: the entry may hold another key, or an older table's. */
void *dict_head_val(const dict *d, uint64_t h);
/* 0 when added, -1 when key exists (key and val stay the caller's). */
int dict_add(dict *d, void *key, void *val);
/* 0 when deleted (key and value freed through the type), -1 when missing. */
int dict_delete(dict *d, const void *key);
/* Remove key's entry without freeing anything, so the caller can still use
 * the value; hand it to dict_free_unlinked afterwards. NULL when missing. */
dict_entry *dict_unlink(dict *d, const void *key);
void dict_free_unlinked(dict *d, dict_entry *e);

/* A random entry, NULL when empty. Each bucket is equally likely, then each
 * entry of its chain, so entries in long chains are slightly less likely. */
dict_entry *dict_random_entry(dict *d);
/* Store up to count entries taken from runs of buckets that start at random
 * spots; fast rather than uniform, and an entry may appear twice. Returns
 * how many were stored: 0 only when empty. For eviction and expiry sampling. */
size_t dict_sample(dict *d, dict_entry **out, size_t count);

/* Move n non-empty buckets (visiting at most 10*n empty ones). Returns 1
 * when rehashing remains. Does nothing while a safe iterator or a scan is
 * active. */
int dict_rehash_steps(dict *d, int n);
/* Rehash for about ms milliseconds; returns the number of non-empty buckets
 * moved (0 when not rehashing or paused by an iterator). */
int dict_rehash_ms(dict *d, int ms);
/* Process-wide switch, meant to be turned off while a fork child shares the
 * parent's pages: when 0, tables grow only past 5 entries per bucket and
 * never shrink. Main thread only. */
void dict_resize_enabled(int enable);
/* Start shrinking when fewer than 10% of the buckets are used, down to the
 * smallest power of two >= size (min 4). Returns 1 when a shrink started. */
int dict_shrink_if_needed(dict *d);

/* Safe iteration: while an iterator is alive no rehash step runs, so the
 * caller may delete (or unlink) the entry just returned. Entries added
 * during iteration may or may not be returned. Always call dict_iter_done;
 * the dict must not be emptied or released before that. */
typedef struct dict_iter {
    dict *d;
    long index;
    int table;
    dict_entry *entry;
    dict_entry *next_entry;
} dict_iter;
void dict_iter_init(dict *d, dict_iter *it);
dict_entry *dict_iter_next(dict_iter *it);
void dict_iter_done(dict_iter *it);

/* SCAN: start with cursor 0 and pass back each returned cursor until 0
 * comes back. Every element present for the whole scan is reported at least
 * once, even if the table grows, shrinks or rehashes between calls; some may
 * be reported more than once. Each call reports one bucket's worth of
 * entries (more while rehashing). fn must not modify the dict. */
typedef void (*dict_scan_fn)(void *priv, const dict_entry *e);
unsigned long dict_scan(dict *d, unsigned long cursor, dict_scan_fn fn, void *priv);

/* Keyed hashing (SipHash-1-2). Set the seed once at startup, before any
 * dict holds entries: changing it strands existing entries. */
uint64_t dict_hash_bytes(const void *p, size_t len);
/* Same hash for inputs that differ only in ASCII letter case. */
uint64_t dict_hash_bytes_nocase(const void *p, size_t len);
void dict_set_hash_seed(const uint8_t seed[16]);

/* Callbacks for dstr keys (and, for dict_dstr_free, dstr values). */
uint64_t dict_dstr_hash(const void *key);
int dict_dstr_eq(const void *a, const void *b);
uint64_t dict_dstr_hash_nocase(const void *key);
int dict_dstr_eq_nocase(const void *a, const void *b);
void dict_dstr_free(void *s);

#endif
