/* zset_pack: the compact encoding of a small sorted set.
 *
 * One allocation: a header (byte size, element count) followed by the
 * elements in sorted order, each a varint member length, the member bytes
 * and a score. What OBJECT ENCODING calls "listpack": the layout differs
 * from Redis's listpack, the costs (one block, linear scans, a memmove per
 * change) and the thresholds do not. Positions are byte offsets, valid
 * until the pack is changed; every function that changes a pack may move
 * it and returns the new pointer. */
#ifndef RM_ZSET_PACK_H
#define RM_ZSET_PACK_H

#include <stddef.h>
#include <stdint.h>

/* One decoded element. `m` points into the pack (or a skiplist node). */
typedef struct zentry {
    const char *m;
    size_t len;
    double score;
} zentry;

#define ZPACK_HEADER 8

uint8_t *zpack_new(void);
void zpack_free(uint8_t *zp);
uint8_t *zpack_dup(const uint8_t *zp);
size_t zpack_count(const uint8_t *zp);
size_t zpack_bytes(const uint8_t *zp);

/* Walk: off = ZPACK_HEADER; while (off < zpack_bytes(zp)) off = zpack_next(zp, off, &e); */
size_t zpack_next(const uint8_t *zp, size_t off, zentry *e);
/* Decode every element into out[] (zpack_count entries); returns the count. */
size_t zpack_view(const uint8_t *zp, zentry *out);

/* Offset of the member's element (its score in *score), 0 when absent. */
size_t zpack_find(const uint8_t *zp, const char *m, size_t len, double *score);
/* 0-based rank of the member, -1 when absent. */
long zpack_rank(const uint8_t *zp, const char *m, size_t len);

/* Insert an absent member at its sorted place. A score of -0 is stored as
 * 0, as Redis's listpack does. */
uint8_t *zpack_insert(uint8_t *zp, double score, const char *m, size_t len);
/* Append after the last element: the caller guarantees the order. */
uint8_t *zpack_append(uint8_t *zp, double score, const char *m, size_t len);
uint8_t *zpack_delete_at(uint8_t *zp, size_t off);
/* Remove the elements of 0-based ranks [start, end]. */
uint8_t *zpack_delete_ranks(uint8_t *zp, size_t start, size_t end);

/* How the score is kept: 1 and *ll set when as an integer (Redis's
 * listpack keeps integral scores within +-2^62 as integers, which is how
 * ZSCAN prints them). */
int zpack_score_is_integer(double score, long long *ll);

#endif
