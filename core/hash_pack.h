/* hash_pack: the compact form of a small hash (what OBJECT ENCODING calls
 * "listpack").
 *
 * A pack is one allocation holding every field/value pair of a hash, in
 * insertion order, with no per-pair allocation and no pointers. It is the
 * structure behind millions of small hashes, so every byte counts; see
 * hash_pack.c for the layout. Lookups are linear scans, as with Redis's
 * listpack: a pack is only used while the hash stays small.
 *
 * Functions that may grow or shrink the block take `hpack **` and may move
 * it. Positions (`size_t pos`) are byte offsets of a pair inside the pack;
 * they stay valid until the pack is next modified. */
#ifndef RM_HASH_PACK_H
#define RM_HASH_PACK_H

#include <stddef.h>
#include <stdint.h>

typedef unsigned char hpack;

/* A pack never grows past this many bytes (Redis's listpack safety
 * limit): the hash is converted to a table first. */
#define HPACK_MAX_SAFE_BYTES (1u << 30)

/* One pair read out of a pack. Strings point into the pack or, for
 * numbers the pack keeps as integers, into the struct's own buffers: they
 * are valid until the pack is modified or the struct is reused. Pass the
 * struct by pointer; a copy's pointers would still aim at the original. */
typedef struct hpack_pair {
    const char *field;
    size_t flen;
    const char *value;
    size_t vlen;
    char fbuf[24];
    char vbuf[24];
} hpack_pair;

hpack *hpack_new(void);
void hpack_free(hpack *p);
hpack *hpack_dup(const hpack *p);
/* Number of pairs, and bytes in use (header included). */
size_t hpack_count(const hpack *p);
size_t hpack_bytes(const hpack *p);
/* Whether adding `add` bytes of strings keeps the pack under the safety
 * limit. */
int hpack_safe_to_add(const hpack *p, size_t add);

/* Position of the first pair (meaningful when count > 0); read the pair at
 * `pos`; the position after it. */
size_t hpack_first(const hpack *p);
void hpack_read(const hpack *p, size_t pos, hpack_pair *out);
size_t hpack_next(const hpack *p, size_t pos);
/* Iteration: `*pos` starts at 0; returns 0 at the end. */
int hpack_iter(const hpack *p, size_t *pos, hpack_pair *out);

/* Position of the pair whose field is `f`, or 0 when absent. */
size_t hpack_find(const hpack *p, const char *f, size_t flen);
/* 1 and the pair (value included) when f exists, else 0. */
int hpack_get(const hpack *p, const char *f, size_t flen, hpack_pair *out);
/* Set f to v: replaces the value in place (keeping the pair's position)
 * when f exists and returns 1; appends the pair and returns 0 otherwise. */
int hpack_set(hpack **pp, const char *f, size_t flen, const char *v, size_t vlen);
/* Append a pair without looking for f (the caller knows it is new). */
void hpack_append(hpack **pp, const char *f, size_t flen, const char *v, size_t vlen);
/* Remove the pair with field f; 1 when it existed. */
int hpack_delete(hpack **pp, const char *f, size_t flen);

/* The positions of every pair, in order, into `out` (room for count). */
void hpack_positions(const hpack *p, uint32_t *out);

#endif
