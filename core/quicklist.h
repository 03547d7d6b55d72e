/* quicklist: the list value, a doubly linked chain of nodes, each holding
 * a packed run of entries (lpack_list.h) inline after its header.
 *
 * Redis 7.0 stores every list this way (OBJECT ENCODING always answers
 * "quicklist"), and so does Ringmaster. The node size limit is the
 * list-max-listpack-size in force when the list was created: a negative
 * fill caps a node's listpack at 4/8/16/32/64 KiB (-1..-5), a positive one
 * caps its entry count (and its size at 8 KiB). Whether an element fits is
 * decided by Redis 7.0's estimate (the element as given plus 8 bytes), not
 * the exact entry size, and inserts in the middle split and merge nodes as
 * Redis's do, so a list's nodes, and with them its RDB and DUMP bytes, are
 * the ones Redis would have. A node loaded from an RDB is kept whole, as
 * Redis keeps it, even past the fill. list-compress-depth is recorded but
 * nodes are never compressed.
 *
 * Plain nodes, as in Redis 7.0: an element of at least the packed
 * threshold (1 GB unless DEBUG QUICKLIST-PACKED-THRESHOLD lowers it) lives
 * alone in a node marked `plain`, which never takes another entry and is
 * never merged; the RDB writes it as a PLAIN container (the raw string)
 * rather than a listpack. In memory its one entry has the same layout as
 * in a packed node, so reads and iteration do not care.
 *
 * Cost: push and pop at either end are O(size of the end node) for the
 * memmove, like a listpack; access by index walks nodes from the nearer end
 * and then entries inside one node, O(nodes + node entries). */
#ifndef RM_QUICKLIST_H
#define RM_QUICKLIST_H

#include <stddef.h>
#include <stdint.h>

#include "core/lpack_list.h"

enum { QL_HEAD = 0, QL_TAIL = 1 };

typedef struct ql_node {
    struct ql_node *prev, *next;
    uint32_t bytes;     /* size of the run in data[] */
    uint32_t count : 31; /* entries in the run */
    uint32_t plain : 1;  /* one large element, Redis's PLAIN container */
    unsigned char data[];
} ql_node;

typedef struct quicklist {
    ql_node *head, *tail;
    unsigned long count; /* elements in all nodes */
    uint32_t len;        /* nodes */
    int16_t fill;        /* node limit, clamped to -5..32767 as in Redis */
    uint16_t compress;   /* list-compress-depth at creation, not applied */
} quicklist;

/* An iterator walks from a start index towards the tail (forward) or the
 * head. The list may be changed through the iterator only (delete the
 * entry just returned), or not at all while it is in use. */
typedef struct ql_iter {
    quicklist *ql;
    ql_node *node; /* node of the next entry, NULL when done */
    uint32_t off;  /* byte offset of the next entry in node */
    int forward;
    ql_node *cur_node; /* entry last returned */
    uint32_t cur_off;
} ql_iter;

/* Redis 7.0's packed_threshold, process-wide like Redis's (it is a
 * debugging knob): elements of at least this many bytes get plain nodes. */
#define QL_PACKED_THRESHOLD_DEFAULT (1ULL << 30)
/* 0 restores the default; above 4 GB - 1 MB is refused (-1), as Redis. */
int ql_set_packed_threshold(unsigned long long bytes);

quicklist *ql_create(long long fill, long long compress);
void ql_release(quicklist *ql);
quicklist *ql_dup(const quicklist *ql);
static inline unsigned long ql_count(const quicklist *ql) { return ql->count; }

void ql_push(quicklist *ql, const void *s, size_t len, int where);
void ql_push_entry(quicklist *ql, const lpl_entry *e, int where);
/* Append s as a plain node whatever its size (an RDB PLAIN container). */
void ql_append_plain(quicklist *ql, const void *s, size_t len);
/* An RDB load appending a packed node's elements: the first into a new
 * node (new_node), the others into the tail node whatever the fill says,
 * so a loaded node stays whole, as Redis 7.0 keeps it. */
void ql_load_entry(quicklist *ql, const void *s, size_t len, int new_node);
/* The element at one end, left in place. 0 when the list is empty. */
int ql_peek(const quicklist *ql, int where, lpl_elem *out);
/* Remove the element at one end (the list must not be empty). */
void ql_pop(quicklist *ql, int where);
/* Element at index (negative counts from the tail). 0 when out of range. */
int ql_index(const quicklist *ql, long long index, lpl_elem *out);
/* Replace the element at index; 0 when out of range. */
int ql_replace(quicklist *ql, long long index, const lpl_entry *e);
/* Remove `count` elements from index `start` (0 <= start, start + count <=
 * length). */
void ql_del_range(quicklist *ql, unsigned long start, unsigned long count);

/* Start at index (0 <= index < length, else the iterator is empty). */
void ql_iter_init(ql_iter *it, quicklist *ql, unsigned long index, int forward);
/* The next entry as a pointer into its run, NULL at the end. */
const unsigned char *ql_iter_next(ql_iter *it);
/* Delete the entry the last ql_iter_next returned; iteration goes on. */
void ql_iter_delete(ql_iter *it);
/* Insert next to the entry the last ql_iter_next returned (after it when
 * `after`, else before). The iterator must not be used afterwards. */
void ql_iter_insert(ql_iter *it, const lpl_entry *e, int after);

/* Node-level walk for serializers (Redis's RDB writes one listpack per
 * node). The entries of one node, in order:
 *     for (const ql_node *n = ql_first_node(ql); n; n = n->next)
 *         for (uint32_t off = 0; off < n->bytes; off += lpl_size_at(n->data + off))
 *             lpl_read(n->data + off, &elem);
 * The run is Ringmaster's own format, not a listpack: re-encode it. */
static inline const ql_node *ql_first_node(const quicklist *ql) { return ql->head; }

/* Consistency check for tests: counts, links, run sizes. 1 when sane. */
int ql_check(const quicklist *ql);

#endif
