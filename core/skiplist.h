/* skiplist: the ordered index of a large sorted set.
 *
 * A skiplist (Pugh) of (score, member) pairs ordered by score, then by the
 * member's bytes, with a span on every forward link so that ranks are
 * found on the way down, and a backward link at level 0 for reverse
 * walks. Members are dstrs owned by their node; the sorted set's hash table
 * (member -> node) shares them. Score and lexicographic ranges are given
 * as the specs below, with the same open/closed semantics Redis uses for
 * "(1.5", "-inf", "[a", "(a", "-" and "+". */
#ifndef RM_SKIPLIST_H
#define RM_SKIPLIST_H

#include <stddef.h>

#include "core/dstr.h"

#define ZSL_MAX_LEVEL 32

typedef struct zsl_node {
    dstr ele;
    double score;
    struct zsl_node *backward;
    int nlevels;
    struct zsl_link {
        struct zsl_node *forward;
        unsigned long span; /* level-0 nodes crossed by this link */
    } level[];
} zsl_node;

typedef struct zskiplist {
    zsl_node *header, *tail;
    unsigned long length;
    int level;
} zskiplist;

/* A score interval; minex/maxex make an end open. */
typedef struct zscore_range {
    double min, max;
    int minex, maxex;
} zscore_range;

/* One end of a lexicographic interval: a string, or the "-"/"+" that sort
 * before/after every string (inf = -1 / +1). */
typedef struct zlex_bound {
    const char *p;
    size_t len;
    int inf;
    int ex;
} zlex_bound;

typedef struct zlex_range {
    zlex_bound min, max;
} zlex_range;

/* Ordering of members: bytes, then length (memcmp semantics). */
int zsl_member_cmp(const char *a, size_t alen, const char *b, size_t blen);

int zscore_gte_min(double v, const zscore_range *r);
int zscore_lte_max(double v, const zscore_range *r);
/* Whether the interval can contain anything at all (min < max, ...). */
int zscore_range_nonempty(const zscore_range *r);
int zlex_gte_min(const char *p, size_t len, const zlex_range *r);
int zlex_lte_max(const char *p, size_t len, const zlex_range *r);
int zlex_range_nonempty(const zlex_range *r);

zskiplist *zsl_create(void);
/* Frees every node and its member. */
void zsl_free(zskiplist *zsl);
/* Insert a pair known to be absent; takes ownership of `ele`. */
zsl_node *zsl_insert(zskiplist *zsl, double score, dstr ele);
/* Unlink the node holding (score, member) and return it (still owning its
 * member) for the caller to free with zsl_free_node, or NULL. */
zsl_node *zsl_unlink(zskiplist *zsl, double score, const char *m, size_t len);
void zsl_free_node(zsl_node *n);
/* Move an existing pair to a new score; returns its (same) node. */
zsl_node *zsl_update_score(zskiplist *zsl, double cur, const char *m, size_t len,
                           double newscore);
/* 1-based rank of the pair, 0 when absent. */
unsigned long zsl_rank(const zskiplist *zsl, double score, const char *m, size_t len);
/* Node at a 1-based rank, NULL when out of range. */
zsl_node *zsl_at_rank(const zskiplist *zsl, unsigned long rank);
zsl_node *zsl_first_in_score(const zskiplist *zsl, const zscore_range *r);
zsl_node *zsl_last_in_score(const zskiplist *zsl, const zscore_range *r);
zsl_node *zsl_first_in_lex(const zskiplist *zsl, const zlex_range *r);
zsl_node *zsl_last_in_lex(const zskiplist *zsl, const zlex_range *r);
/* Remove the nodes of 1-based ranks [start, end]; `gone` sees each node
 * (e.g. to drop it from the hash table) before it is freed. Returns the
 * number removed. */
unsigned long zsl_delete_rank_range(zskiplist *zsl, unsigned long start, unsigned long end,
                                    void (*gone)(void *priv, zsl_node *n), void *priv);

#endif
