/* stream: the stream value type (XADD, XREADGROUP...), byte-compatible
 * with Redis 7.0.
 *
 * Entries live in nodes, each one listpack laid out exactly as Redis lays
 * out the listpacks of its stream radix tree, so that an RDB node can be
 * adopted as is, written back as is, and node boundaries (XINFO's
 * radix-tree-keys, what MAXLEN ~ can trim) are the same as on a
 * redis-server that ran the same commands. A node is
 *
 *   master entry: count | deleted | num-fields | field_1..field_N | 0
 *   then entries: flags | ms-diff | seq-diff | [num-fields | f,v ...] or
 *                 [v ...] when flags has SAMEFIELDS | lp-count
 *
 * count and deleted are the node's live and deleted entries, ms-diff and
 * seq-diff are relative to the node's master ID (the first entry added to
 * it), lp-count is how many listpack elements the entry took before it,
 * so the node can be walked backwards. Deleting an entry only sets its
 * DELETED flag; a node whose last live entry goes is dropped.
 *
 * Nodes are kept in a sorted array by master ID (new nodes only ever go at
 * the end). Consumer groups are a name-sorted array (Redis keeps them in a
 * radix tree, so XINFO GROUPS and the RDB list them in byte order); each
 * group has its pending entries list (PEL) sorted by ID, and consumers,
 * also name-sorted, each with the IDs it owns. A NACK is owned by the
 * group's PEL; a consumer's PEL points at the group's NACKs. */
#ifndef RM_STREAM_H
#define RM_STREAM_H

#include <stddef.h>
#include <stdint.h>

#include "core/dstr.h"
#include "core/object.h"

#define STREAM_FLAG_DELETED 1
#define STREAM_FLAG_SAMEFIELDS 2
#define STREAM_LISTPACK_MAX_SIZE (1u << 30)
/* entries_read of a group whose position cannot be counted */
#define STREAM_ENTRIES_READ_INVALID (-1LL)

typedef struct stream_id {
    uint64_t ms, seq;
} stream_id;

typedef struct stream_node {
    stream_id master;
    unsigned char *lp;
} stream_node;

struct stream_consumer;

typedef struct stream_nack {
    stream_id id;
    long long delivery_time;
    uint64_t delivery_count;
    struct stream_consumer *consumer;
} stream_nack;

/* A vector of pointers kept sorted by the owner's order. */
typedef struct ptrvec {
    void **v;
    size_t n, cap;
} ptrvec;

typedef struct stream_consumer {
    dstr name;
    long long seen_time;
    ptrvec pel; /* stream_nack*, sorted by id; owned by the group's PEL */
} stream_consumer;

typedef struct stream_group {
    dstr name;
    stream_id last_id;
    long long entries_read;
    ptrvec pel;       /* stream_nack*, sorted by id, owned here */
    ptrvec consumers; /* stream_consumer*, sorted by name */
} stream_group;

typedef struct stream {
    stream_node *nodes;
    size_t nnodes, cap;
    uint64_t length;
    stream_id last_id, first_id, max_deleted_id;
    uint64_t entries_added;
    ptrvec groups; /* stream_group*, sorted by name */
} stream;

/* ---- IDs ---------------------------------------------------------------- */
int stream_id_cmp(const stream_id *a, const stream_id *b);
/* "<ms>-<seq>" into buf (>= 48 bytes); returns the length. */
int stream_id_fmt(char *buf, const stream_id *id);
dstr stream_id_dstr(const stream_id *id);
/* Parse "<ms>[-<seq>]" ("-" and "+" unless strict); 0 when invalid. */
int stream_id_parse(const char *s, size_t len, stream_id *id, uint64_t missing_seq, int strict,
                    int *seq_given);
int stream_id_incr(stream_id *id); /* -1 at the very last ID */
int stream_id_decr(stream_id *id);

/* ---- the value ---------------------------------------------------------- */
obj *stream_obj_new(void);
stream *stream_new(void);
void stream_free(stream *s);
stream *stream_dup(const stream *s);
void stream_register_type(void);

/* ---- nodes and entries (stream_lp.c) ------------------------------------ */

/* One entry read out by an iterator: fields and values point into the node
 * (or into the iterator's buffers for integers). */
typedef struct stream_iter {
    const stream *s;
    stream_id start, end;
    int rev;
    long node;    /* index into s->nodes, -1 when not started */
    size_t pos;   /* offset in the node's listpack */
    int entered;
    size_t master_fields; /* offset of the first master field */
    int64_t master_count;
    stream_id master;
    int entry_flags;
    size_t field_pos, value_pos; /* for stream_iter_field */
    char fbuf[24], vbuf[24];
} stream_iter;

void stream_iter_start(stream_iter *it, const stream *s, const stream_id *start,
                       const stream_id *end, int rev);
/* Next live entry in range: 1 with its id and number of fields. */
int stream_iter_next(stream_iter *it, stream_id *id, int64_t *numfields);
void stream_iter_field(stream_iter *it, const char **f, size_t *flen, const char **v,
                       size_t *vlen);

/* Append an entry with fields/values argv[0..2n). `use_id` NULL generates
 * one from the clock. 0, -1 (EDOM: id too small), -2 (ERANGE: too big). */
int stream_append(stream *s, dstr *argv, int64_t numfields, stream_id *added,
                  const stream_id *use_id, int seq_given, long long node_max_bytes,
                  long long node_max_entries);
int stream_delete_id(stream *s, const stream_id *id);

enum { TRIM_NONE = 0, TRIM_MAXLEN = 1, TRIM_MINID = 2 };
typedef struct stream_trim_args {
    int strategy;
    int approx;
    long long limit;
    long long maxlen;
    stream_id minid;
} stream_trim_args;
int64_t stream_trim(stream *s, const stream_trim_args *a);

/* First (!last) or last live entry ID; 0 when the stream is empty. */
int stream_edge_id(const stream *s, int first, stream_id *out);
/* Whether a node listpack is a well-formed stream node; fills *live. */
int stream_node_validate(const unsigned char *lp, size_t len, uint64_t *live);

/* Node listpack primitives shared by the stream files. */
size_t slp_bytes(const unsigned char *lp);

/* ---- groups (t_stream.c) ------------------------------------------------ */
stream_group *stream_group_find(const stream *s, const char *name, size_t len);
stream_group *stream_group_create(stream *s, const char *name, size_t len, const stream_id *id,
                                  long long entries_read);
void stream_group_destroy(stream *s, stream_group *g);
stream_consumer *stream_consumer_find(const stream_group *g, const char *name, size_t len);
stream_consumer *stream_consumer_create(stream_group *g, const char *name, size_t len,
                                        long long now_ms);
/* Deletes the consumer and its pending entries; returns how many. */
size_t stream_consumer_delete(stream_group *g, stream_consumer *c);
stream_nack *stream_pel_find(const ptrvec *pel, const stream_id *id);
/* Index of the first NACK with id >= `id`. */
size_t stream_pel_lower(const ptrvec *pel, const stream_id *id);
/* Add a NACK to the group and to `c` (it must not exist). */
stream_nack *stream_nack_add(stream_group *g, stream_consumer *c, const stream_id *id,
                             long long now_ms);
/* Move a NACK to another consumer. */
void stream_nack_move(stream_nack *n, stream_consumer *to);
/* Remove a NACK from its group and consumer, and free it. */
void stream_nack_remove(stream_group *g, stream_nack *n);

/* Loading an RDB: a NACK with no consumer yet (NULL on a duplicate), its
 * owner (-1 when the group has no such NACK or it is owned already), and
 * whether every NACK found its owner. */
stream_nack *stream_nack_load(stream_group *g, const stream_id *id, long long when,
                              uint64_t count);
int stream_nack_claim_loaded(stream_group *g, stream_consumer *c, const stream_id *id);
int stream_group_pel_owned(const stream_group *g);

long long stream_estimate_distance(const stream *s, const stream_id *id);
int stream_range_has_tombstones(const stream *s, const stream_id *start, const stream_id *end);
/* Group lag for XINFO; *valid = 0 when it cannot be computed (nil). */
long long stream_group_lag(const stream *s, const stream_group *g, int *valid);

void ptrvec_insert(ptrvec *pv, size_t at, void *p);
void ptrvec_remove(ptrvec *pv, size_t at);
void ptrvec_free(ptrvec *pv);

#endif
