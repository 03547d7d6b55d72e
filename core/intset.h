/* intset: a sorted array of distinct integers, the compact encoding of sets
 * whose members are all integers (OBJECT ENCODING "intset").
 *
 * One allocation holds the whole set: an 8-byte header (element width in
 * bytes, then the element count, both uint32) followed by the elements in
 * ascending order, each stored in the narrowest width (2, 4 or 8 bytes) that
 * fits every member. The width only grows. Header and elements are
 * little-endian, so the blob is byte for byte what Redis stores in an RDB
 * intset (RDB_TYPE_SET_INTSET) and can be written or loaded as is.
 *
 * Functions that change the set may move it: always use the returned
 * pointer. */
#ifndef RM_INTSET_H
#define RM_INTSET_H

#include <stddef.h>
#include <stdint.h>

typedef struct intset intset;

intset *intset_new(void);
void intset_free(intset *is);
intset *intset_dup(const intset *is);

/* Add v; *added (if not NULL) is 1 when it was not there yet. */
intset *intset_add(intset *is, int64_t v, int *added);
/* Remove v; *removed (if not NULL) is 1 when it was there. */
intset *intset_remove(intset *is, int64_t v, int *removed);
int intset_find(const intset *is, int64_t v);

uint32_t intset_len(const intset *is);
/* The element at position pos (0 = smallest); 0 when pos is out of range. */
int intset_get(const intset *is, uint32_t pos, int64_t *v);
/* The element at position r modulo the length; the set must not be empty.
 * The caller supplies the random number. */
int64_t intset_random(const intset *is, uint64_t r);
/* Width of each element in bytes: 2, 4 or 8. */
uint32_t intset_width(const intset *is);

/* The serialized form (header and elements) and its size. */
const void *intset_blob(const intset *is);
size_t intset_blob_len(const intset *is);
/* Whether `size` bytes at p form a valid non-empty intset; `deep` also
 * checks that the elements are strictly ascending (RDB loading of
 * untrusted payloads). */
int intset_validate(const void *p, size_t size, int deep);
/* A copy of a blob that passed intset_validate(p, size, 1); NULL when it
 * does not. */
intset *intset_from_blob(const void *p, size_t size);

#endif
