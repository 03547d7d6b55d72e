/* t_hash: the hash type.
 *
 * Two modules share this header: hash_type.c owns the value (both
 * encodings, conversion, iteration, digest) and is what other modules
 * (RDB load and save, DEBUG) build and read hashes with; t_hash.c holds the
 * commands.
 *
 * Encodings, as OBJECT ENCODING reports them:
 *   listpack  - a hash_pack (one block, pairs in insertion order) while the
 *               hash has at most hash-max-listpack-entries pairs and no
 *               field or value longer than hash-max-listpack-value bytes;
 *   hashtable - a dict of dstr field -> dstr value.
 * The conversion is one way, as in Redis 7.0: deleting fields never turns a
 * table back into a pack. */
#ifndef RM_T_HASH_H
#define RM_T_HASH_H

#include <stddef.h>

#include <stdint.h>

#include "core/config.h"
#include "core/dict.h"
#include "core/dstr.h"
#include "core/hash_pack.h"
#include "core/object.h"

/* A new, empty hash in the compact encoding. */
obj *hash_new(void);
size_t hash_len(const obj *o);

/* One pair read out of a hash: see hpack_pair. Strings stay valid until
 * the hash is modified or the struct reused; never copy the struct. */
typedef hpack_pair hash_pair;

/* Look up a field: 1 and out->value/vlen, or 0 when absent. */
int hash_get(const obj *o, const dstr field, hash_pair *out);
int hash_exists(const obj *o, const dstr field);

/* Set field to value, converting to a table first when the field or value
 * is longer than cfg's hash-max-listpack-value, or afterwards when the
 * pack would hold more than hash-max-listpack-entries pairs (Redis's
 * hashTypeSet). Returns 1 when the field existed (value replaced), 0 when
 * it was added. */
int hash_set(obj *o, const config *cfg, const dstr field, const char *v, size_t vlen);
/* Remove a field; 1 when it existed. The caller deletes an emptied key. */
int hash_delete(obj *o, const dstr field);

/* Redis's hashTypeTryConversion: before a multi-pair write, convert a pack
 * whose new strings (argv[start..end]) would be too long or make the pack
 * unsafely large. */
void hash_try_convert(obj *o, const config *cfg, dstr *argv, int start, int end);
/* Convert a pack to a table (no-op for a table). */
void hash_convert_to_table(obj *o);

/* Iteration over every pair: insertion order for a pack, table order for a
 * table. The hash must not be modified while an iterator is alive. */
typedef struct hash_iter {
    const obj *o;
    size_t pos;
    dict_iter di;
} hash_iter;
void hash_iter_init(const obj *o, hash_iter *it);
int hash_iter_next(hash_iter *it, hash_pair *out);
void hash_iter_done(hash_iter *it);

/* A uniformly random pair of a non-empty hash. */
void hash_random_pair(const obj *o, hash_pair *out);

/* The random source behind HRANDFIELD (fast, not cryptographic). */
uint64_t hash_rand(void);

/* Value operations registered with object.c (free, COPY, DEBUG DIGEST). */
void hash_register_type(void);

#endif
