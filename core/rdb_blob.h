/* rdb_blob: the packed containers an RDB file embeds as strings, decoded
 * with every bound checked (listpack, ziplist, zipmap), and a builder for
 * the listpacks the writer emits. Internal to the rdb module. */
#ifndef RM_RDB_BLOB_H
#define RM_RDB_BLOB_H

#include <stddef.h>
#include <stdint.h>

/* Called once per element, in order, with the element's bytes (integers
 * are rendered in decimal). A non-zero return stops the walk and is
 * returned by it. */
typedef int (*rdb_elem_fn)(void *priv, const char *p, size_t len);

/* Walk a whole blob, validating it; *count gets the number of elements.
 * Returns 0, -1 when malformed (nothing is guaranteed about the elements
 * already handed to fn), or fn's non-zero return. */
int rdb_listpack_walk(const unsigned char *lp, size_t size, rdb_elem_fn fn, void *priv,
                      size_t *count);
int rdb_ziplist_walk(const unsigned char *zl, size_t size, rdb_elem_fn fn, void *priv,
                     size_t *count);
/* A zipmap yields key, value, key, value... */
int rdb_zipmap_walk(const unsigned char *zm, size_t size, rdb_elem_fn fn, void *priv,
                    size_t *count);

/* The size Redis gives the backlen of an entry of `l` bytes; a run whose
 * entries use other sizes must be re-encoded before Redis can read it. */
unsigned rdb_listpack_backlen_size(size_t l);

/* A listpack under construction, in a growable buffer owned by the
 * builder and reused across values. */
typedef struct lp_builder {
    unsigned char *buf;
    size_t len, cap;
    size_t count;
} lp_builder;

void lpb_reset(lp_builder *b);
void lpb_append(lp_builder *b, const void *p, size_t len);
void lpb_append_int(lp_builder *b, long long v);
/* Append entries already in listpack form (a quicklist node's run). */
void lpb_append_raw(lp_builder *b, const void *p, size_t len, size_t count);
/* Fill in the header and the terminator; the listpack is b->buf[0..len). */
void lpb_finish(lp_builder *b);
void lpb_free(lp_builder *b);

#endif
