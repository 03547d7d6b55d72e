/* t_zset: the sorted set value type.
 *
 * A sorted set value (OBJ_ZSET) has one of two encodings, chosen and
 * changed exactly when Redis 7.0 would, so OBJECT ENCODING agrees:
 *   ENC_LISTPACK  a zset_pack (zset_pack.h) while the set has at most
 *                 zset-max-listpack-entries elements, none longer than
 *                 zset-max-listpack-value bytes;
 *   ENC_SKIPLIST  a zset_big: a hash table member -> node (O(1) ZSCORE)
 *                 plus a skiplist in (score, member) order (O(log n) rank
 *                 and range queries).
 * A set grows from the first to the second and stays there; only the
 * commands that build a new set (ZUNIONSTORE, ZINTERSTORE, ZDIFFSTORE,
 * ZRANGESTORE) and RDB loading pick the small encoding for a result that
 * fits.
 *
 * This header is the type's API for the command files and for RDB:
 * build a value (zset_new_*, zset_add), walk it in order (zset_iter), and
 * query or change it. Members are passed as dstrs (a large set looks them
 * up in its hash table, whose keys are dstrs) and come back as zentry
 * views (pointer, length, score). */
#ifndef RM_T_ZSET_H
#define RM_T_ZSET_H

#include <stddef.h>

#include "core/config.h"
#include "core/dict.h"
#include "core/object.h"
#include "core/skiplist.h"
#include "core/zset_pack.h"

/* The ENC_SKIPLIST representation. The dict maps each member (the dstr
 * owned by its skiplist node, shared) to that node. */
typedef struct zset_big {
    dict *dict;
    zskiplist *zsl;
} zset_big;

/* zset_add input flags (ZADD options) and output flags. */
enum { ZADD_IN_INCR = 1, ZADD_IN_NX = 2, ZADD_IN_XX = 4, ZADD_IN_GT = 8, ZADD_IN_LT = 16 };
enum { ZADD_OUT_NOP = 1, ZADD_OUT_NAN = 2, ZADD_OUT_ADDED = 4, ZADD_OUT_UPDATED = 8 };

/* ---- building --------------------------------------------------------- */

obj *zset_new_small(void);
/* size_hint presizes the hash table (0 when unknown). */
obj *zset_new_big(size_t size_hint);
/* Add or update one member, converting to ENC_SKIPLIST first when the
 * addition would pass cfg's thresholds. Returns 0 (and ZADD_OUT_NAN) when
 * the resulting score would be NaN, 1 otherwise; *newscore gets the score
 * the member ends with when it was added or updated. */
int zset_add(const config *cfg, obj *o, double score, const dstr m, int in_flags, int *out_flags,
             double *newscore);
/* Insert a member known to be absent into an ENC_SKIPLIST set, taking
 * ownership of `ele` (set operations move their results in this way). */
void zset_insert_new(obj *o, double score, dstr ele);
/* Whether a set of `count` members, the longest `maxlen` bytes, gets the
 * small encoding. */
int zset_fits_small(const config *cfg, size_t count, size_t maxlen);
/* ENC_LISTPACK <-> ENC_SKIPLIST, keeping the elements. */
void zset_convert(obj *o, int enc);
/* Back to ENC_LISTPACK when the whole set fits (results of *STORE). */
void zset_convert_to_small_if_fits(const config *cfg, obj *o);

/* ---- queries and changes ---------------------------------------------- */

size_t zset_length(const obj *o);
size_t zset_max_member_len(const obj *o);
/* 1 and *score when the member is present. */
int zset_score(const obj *o, const dstr m, double *score);
/* 0-based rank (from the top when reverse), -1 when absent. */
long zset_rank(const obj *o, const dstr m, int reverse);
int zset_delete(obj *o, const dstr m);
/* Remove the elements of 0-based ranks [start, end]; returns how many. */
size_t zset_delete_ranks(obj *o, size_t start, size_t end);

/* ---- walking ---------------------------------------------------------- */

/* Forward walk from the lowest score. The value must not change
 * meanwhile, with one exception: in an ENC_SKIPLIST set the element just
 * returned may be deleted (the iterator already holds the next node).
 *   zset_iter it; zentry e;
 *   zset_iter_init(&it, o); while (zset_iter_next(&it, &e)) ... */
typedef struct zset_iter {
    const obj *o;
    size_t off;     /* small: next element's offset */
    zsl_node *node; /* big: next node */
} zset_iter;
void zset_iter_init(zset_iter *it, const obj *o);
int zset_iter_next(zset_iter *it, zentry *e);

/* A cursor for range commands: seek by rank, score or lex bound, then
 * step either way. A small set is decoded into an array when the cursor
 * opens (O(n), like every listpack walk), so stepping back is O(1) for
 * both encodings. */
#define ZSET_CURSOR_INLINE 128
typedef struct zset_cursor {
    const zskiplist *zsl; /* big: the list; NULL for a small set */
    zsl_node *node;       /* big: current node, NULL past either end */
    zentry *view;         /* small: every element */
    long n, i;            /* small: count, current index (-1 or n past the ends) */
    zentry inline_view[ZSET_CURSOR_INLINE];
} zset_cursor;
void zcur_open(zset_cursor *cur, const obj *o);
void zcur_close(zset_cursor *cur);
int zcur_valid(const zset_cursor *cur);
void zcur_get(const zset_cursor *cur, zentry *e);
void zcur_next(zset_cursor *cur);
void zcur_prev(zset_cursor *cur);
/* 0-based rank of the current element. */
long zcur_rank(const zset_cursor *cur);
/* Position on a 0-based rank (which must exist). */
void zcur_seek_rank(zset_cursor *cur, long rank);
/* First (or last) element inside the range, as Redis finds it for each
 * encoding; returns whether there is one. */
int zcur_seek_score(zset_cursor *cur, const zscore_range *r, int last);
int zcur_seek_lex(zset_cursor *cur, const zlex_range *r, int last);

#endif
