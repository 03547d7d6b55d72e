/* rdb_keyq: the RDB loader's finished keys, waiting a few keys for their
 * keyspace insert. Internal to the rdb module.
 *
 * Inserting a key into a dict of millions misses the cache three times in
 * a row (bucket, chain entry, the entry's key for the comparison), and on
 * a load those misses are most of the time spent per key. The queue hashes
 * each key when it arrives and prefetches one more level of its chain as
 * every later key arrives, so by the time a key leaves the queue its
 * insert finds everything in cache.
 *
 * Inserts happen in file order, so a duplicated key is refused exactly as
 * an immediate insert would refuse it, only up to RDB_KEYQ_LEN keys later:
 * the loader drains the queue before it reports any other error, so the
 * first problem in the file is still the one reported. */
#ifndef RM_RDB_KEYQ_H
#define RM_RDB_KEYQ_H

#include <stdint.h>

#include "core/server.h"

#define RDB_KEYQ_LEN 8

typedef struct rdb_keyq_item {
    db *db;
    dstr key;
    obj *val;
    long long expire_ms; /* -1: none */
    uint64_t hash;       /* of key in db->keys */
} rdb_keyq_item;

typedef struct rdb_keyq {
    rdb_keyq_item item[RDB_KEYQ_LEN];
    unsigned head, count;
    long long inserted;
} rdb_keyq;

/* A key its db already held: the key (now the caller's to free) and the
 * db id, for the error message. */
typedef struct rdb_keyq_dup {
    dstr key;
    int dbid;
} rdb_keyq_dup;

/* Queue key -> val (both owned by the queue from now on) for d, inserting
 * the oldest queued key first when the queue is full. 0, or -1 with *dup
 * set when that insert found its key already present. */
int rdb_keyq_push(rdb_keyq *q, db *d, dstr key, obj *val, long long expire_ms,
                  rdb_keyq_dup *dup);
/* Insert every queued key, oldest first. 0, or -1 with *dup set at the
 * first duplicate (later keys stay queued). */
int rdb_keyq_drain(rdb_keyq *q, rdb_keyq_dup *dup);
/* Free the keys and values still queued. */
void rdb_keyq_clear(rdb_keyq *q);

#endif
