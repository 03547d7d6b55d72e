/* rdb_load_value: building Ringmaster values from what an RDB file holds,
 * element by element or from a whole packed blob, with the encoding
 * choices Redis 7.0 makes on load. Internal to the rdb module. */
#ifndef RM_RDB_LOAD_VALUE_H
#define RM_RDB_LOAD_VALUE_H

#include <stddef.h>
#include <stdint.h>

#include "core/server.h"

/* An empty value for a collection of RDB type `type` announced with
 * `hint` elements (lists, sets, zsets, hashes, quicklists). */
obj *rdb_value_new(server *s, int type, uint64_t hint);
/* Add one element: a (member, list element, hash field, quicklist node
 * blob), b (hash value; for RDB_TYPE_LIST_QUICKLIST_2, NULL and blen the
 * node container), score (zsets). *scratch is the caller's reusable
 * string (NULL at first, dstr_free'd by the caller at the end), so that
 * elements cost no allocation of their own. Returns 0, or -1 with `why`
 * set. */
int rdb_value_add(server *s, dstr *scratch, int type, obj *o, const char *a, size_t alen,
                  const char *b, size_t blen, double score, char *why, size_t whylen);
/* The collection is complete: returns it (possibly converted), or NULL
 * (and frees it) when it is empty, since Redis skips empty keys. */
obj *rdb_value_finish(server *s, int type, obj *o);
/* A value stored as one blob (ziplist, listpack, intset, zipmap), with
 * *scratch as for rdb_value_add. *out is NULL for an empty collection.
 * Returns 0, or -1 with `why` set. */
int rdb_value_from_blob(server *s, dstr *scratch, int type, const unsigned char *p, size_t len,
                        obj **out, char *why, size_t whylen);

#endif
