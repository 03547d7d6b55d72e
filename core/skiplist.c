/* skiplist: see skiplist.h.
 *
 * Shape. The header node has ZSL_MAX_LEVEL links and no member. A node of
 * level L is linked at levels 0..L-1; L is drawn with P(L >= k+1 | L >= k)
 * = 1/4, which keeps the expected number of links per node at 4/3 and the
 * search cost logarithmic. Every link records its span, the number of
 * level-0 steps it jumps, so the rank of a node is the sum of the spans
 * followed to reach it, and finding rank r is a descent that never
 * overshoots r.
 *
 * Order. Pairs sort by score, then by member bytes (memcmp, shorter first
 * on a common prefix), exactly as Redis orders them; equal scores are
 * therefore ordered lexicographically, which is what ZRANGEBYLEX relies
 * on when every score is the same.
 *
 * Updates. A score change that keeps the node between its neighbours is
 * done in place; otherwise the node is unlinked and relinked with its
 * level unchanged, so no allocation happens on the ZADD update path. */
#include "core/skiplist.h"

#include <stdint.h>
#include <string.h>

#include "core/mem.h"

/* ---- ordering and ranges ---------------------------------------------- */

int zsl_member_cmp(const char *a, size_t alen, const char *b, size_t blen) {
    size_t n = alen < blen ? alen : blen;
    int c = n ? memcmp(a, b, n) : 0;
    if (c) return c;
    return alen < blen ? -1 : (alen > blen ? 1 : 0);
}

int zscore_gte_min(double v, const zscore_range *r) { return r->minex ? v > r->min : v >= r->min; }
int zscore_lte_max(double v, const zscore_range *r) { return r->maxex ? v < r->max : v <= r->max; }

int zscore_range_nonempty(const zscore_range *r) {
    if (r->min > r->max) return 0;
    if (r->min == r->max && (r->minex || r->maxex)) return 0;
    return 1;
}

/* A member against a bound: <0, 0, >0. "-" is below and "+" above every
 * member. */
static int lex_cmp_member(const char *p, size_t len, const zlex_bound *b) {
    if (b->inf) return -b->inf;
    return zsl_member_cmp(p, len, b->p, b->len);
}

static int lex_cmp_bounds(const zlex_bound *a, const zlex_bound *b) {
    if (a->inf && a->inf == b->inf) return 0;
    if (a->inf == -1 || b->inf == 1) return -1;
    if (a->inf == 1 || b->inf == -1) return 1;
    return zsl_member_cmp(a->p, a->len, b->p, b->len);
}

int zlex_gte_min(const char *p, size_t len, const zlex_range *r) {
    int c = lex_cmp_member(p, len, &r->min);
    return r->min.ex ? c > 0 : c >= 0;
}

int zlex_lte_max(const char *p, size_t len, const zlex_range *r) {
    int c = lex_cmp_member(p, len, &r->max);
    return r->max.ex ? c < 0 : c <= 0;
}

int zlex_range_nonempty(const zlex_range *r) {
    int c = lex_cmp_bounds(&r->min, &r->max);
    return !(c > 0 || (c == 0 && (r->min.ex || r->max.ex)));
}

/* ---- nodes ------------------------------------------------------------ */

static uint64_t level_rng = 0x9e3779b97f4a7c15ULL;

static int random_level(void) {
    int level = 1;
    for (;;) {
        /* xorshift64*: only the distribution matters here. */
        level_rng ^= level_rng >> 12;
        level_rng ^= level_rng << 25;
        level_rng ^= level_rng >> 27;
        uint64_t r = level_rng * 0x2545F4914F6CDD1DULL;
        /* Each 16-bit slice is one coin with P(continue) = 1/4. */
        for (int i = 0; i < 4; i++, r >>= 16) {
            if ((r & 0xFFFF) >= 0x4000) return level;
            if (++level == ZSL_MAX_LEVEL) return level;
        }
    }
}

static zsl_node *node_new(int levels, double score, dstr ele) {
    zsl_node *n = mem_alloc(sizeof(*n) + (size_t)levels * sizeof(struct zsl_link));
    n->ele = ele;
    n->score = score;
    n->backward = NULL;
    n->nlevels = levels;
    return n;
}

void zsl_free_node(zsl_node *n) {
    dstr_free(n->ele);
    mem_free(n);
}

zskiplist *zsl_create(void) {
    zskiplist *zsl = mem_alloc(sizeof(*zsl));
    zsl->level = 1;
    zsl->length = 0;
    zsl->header = node_new(ZSL_MAX_LEVEL, 0, NULL);
    for (int i = 0; i < ZSL_MAX_LEVEL; i++) {
        zsl->header->level[i].forward = NULL;
        zsl->header->level[i].span = 0;
    }
    zsl->tail = NULL;
    return zsl;
}

void zsl_free(zskiplist *zsl) {
    zsl_node *n = zsl->header->level[0].forward;
    mem_free(zsl->header);
    while (n) {
        zsl_node *next = n->level[0].forward;
        zsl_free_node(n);
        n = next;
    }
    mem_free(zsl);
}

/* Whether node x sorts before the pair (score, m). */
static inline int node_before(const zsl_node *x, double score, const char *m, size_t len) {
    if (x->score != score) return x->score < score;
    return zsl_member_cmp(x->ele, dstr_len(x->ele), m, len) < 0;
}

/* Link a detached node (score, ele and nlevels set) at its place. */
static void link_node(zskiplist *zsl, zsl_node *x) {
    zsl_node *update[ZSL_MAX_LEVEL];
    unsigned long rank[ZSL_MAX_LEVEL];
    size_t len = dstr_len(x->ele);
    zsl_node *p = zsl->header;
    for (int i = zsl->level - 1; i >= 0; i--) {
        rank[i] = i == zsl->level - 1 ? 0 : rank[i + 1];
        while (p->level[i].forward && node_before(p->level[i].forward, x->score, x->ele, len)) {
            rank[i] += p->level[i].span;
            p = p->level[i].forward;
        }
        update[i] = p;
    }
    if (x->nlevels > zsl->level) {
        for (int i = zsl->level; i < x->nlevels; i++) {
            rank[i] = 0;
            update[i] = zsl->header;
            update[i]->level[i].span = zsl->length;
        }
        zsl->level = x->nlevels;
    }
    for (int i = 0; i < x->nlevels; i++) {
        x->level[i].forward = update[i]->level[i].forward;
        update[i]->level[i].forward = x;
        /* rank[0] - rank[i] is how far update[i] is behind update[0]. */
        x->level[i].span = update[i]->level[i].span - (rank[0] - rank[i]);
        update[i]->level[i].span = (rank[0] - rank[i]) + 1;
    }
    for (int i = x->nlevels; i < zsl->level; i++) update[i]->level[i].span++;
    x->backward = update[0] == zsl->header ? NULL : update[0];
    if (x->level[0].forward)
        x->level[0].forward->backward = x;
    else
        zsl->tail = x;
    zsl->length++;
}

zsl_node *zsl_insert(zskiplist *zsl, double score, dstr ele) {
    zsl_node *x = node_new(random_level(), score, ele);
    link_node(zsl, x);
    return x;
}

/* update[i]: the last node at level i before x. */
static void unlink_node(zskiplist *zsl, zsl_node *x, zsl_node **update) {
    for (int i = 0; i < zsl->level; i++) {
        if (update[i]->level[i].forward == x) {
            update[i]->level[i].span += x->level[i].span - 1;
            update[i]->level[i].forward = x->level[i].forward;
        } else {
            update[i]->level[i].span -= 1;
        }
    }
    if (x->level[0].forward)
        x->level[0].forward->backward = x->backward;
    else
        zsl->tail = x->backward;
    while (zsl->level > 1 && zsl->header->level[zsl->level - 1].forward == NULL) zsl->level--;
    zsl->length--;
}

/* Fill update[] for the pair and return the node that holds it, or NULL. */
static zsl_node *find_with_update(zskiplist *zsl, double score, const char *m, size_t len,
                                  zsl_node **update) {
    zsl_node *p = zsl->header;
    for (int i = zsl->level - 1; i >= 0; i--) {
        while (p->level[i].forward && node_before(p->level[i].forward, score, m, len))
            p = p->level[i].forward;
        update[i] = p;
    }
    p = p->level[0].forward;
    if (p && p->score == score && !zsl_member_cmp(p->ele, dstr_len(p->ele), m, len)) return p;
    return NULL;
}

zsl_node *zsl_unlink(zskiplist *zsl, double score, const char *m, size_t len) {
    zsl_node *update[ZSL_MAX_LEVEL];
    zsl_node *x = find_with_update(zsl, score, m, len, update);
    if (x) unlink_node(zsl, x, update);
    return x;
}

zsl_node *zsl_update_score(zskiplist *zsl, double cur, const char *m, size_t len,
                           double newscore) {
    zsl_node *update[ZSL_MAX_LEVEL];
    zsl_node *x = find_with_update(zsl, cur, m, len, update);
    if (!x) return NULL;
    /* Still strictly between its neighbours: the order cannot change. */
    if ((x->backward == NULL || x->backward->score < newscore) &&
        (x->level[0].forward == NULL || x->level[0].forward->score > newscore)) {
        x->score = newscore;
        return x;
    }
    unlink_node(zsl, x, update);
    x->score = newscore;
    link_node(zsl, x);
    return x;
}

unsigned long zsl_rank(const zskiplist *zsl, double score, const char *m, size_t len) {
    unsigned long rank = 0;
    const zsl_node *p = zsl->header;
    for (int i = zsl->level - 1; i >= 0; i--) {
        while (p->level[i].forward) {
            const zsl_node *f = p->level[i].forward;
            int le = f->score < score ||
                     (f->score == score && zsl_member_cmp(f->ele, dstr_len(f->ele), m, len) <= 0);
            if (!le) break;
            rank += p->level[i].span;
            p = f;
        }
        if (p != zsl->header && p->score == score &&
            !zsl_member_cmp(p->ele, dstr_len(p->ele), m, len))
            return rank;
    }
    return 0;
}

zsl_node *zsl_at_rank(const zskiplist *zsl, unsigned long rank) {
    unsigned long traversed = 0;
    zsl_node *p = zsl->header;
    if (rank == 0 || rank > zsl->length) return NULL;
    for (int i = zsl->level - 1; i >= 0; i--) {
        while (p->level[i].forward && traversed + p->level[i].span <= rank) {
            traversed += p->level[i].span;
            p = p->level[i].forward;
        }
        if (traversed == rank) return p;
    }
    return NULL;
}

/* ---- ranges ----------------------------------------------------------- */

static int score_range_touches(const zskiplist *zsl, const zscore_range *r) {
    if (!zscore_range_nonempty(r)) return 0;
    if (!zsl->tail || !zscore_gte_min(zsl->tail->score, r)) return 0;
    const zsl_node *first = zsl->header->level[0].forward;
    return first && zscore_lte_max(first->score, r);
}

zsl_node *zsl_first_in_score(const zskiplist *zsl, const zscore_range *r) {
    if (!score_range_touches(zsl, r)) return NULL;
    zsl_node *p = zsl->header;
    for (int i = zsl->level - 1; i >= 0; i--)
        while (p->level[i].forward && !zscore_gte_min(p->level[i].forward->score, r))
            p = p->level[i].forward;
    p = p->level[0].forward;
    return p && zscore_lte_max(p->score, r) ? p : NULL;
}

zsl_node *zsl_last_in_score(const zskiplist *zsl, const zscore_range *r) {
    if (!score_range_touches(zsl, r)) return NULL;
    zsl_node *p = zsl->header;
    for (int i = zsl->level - 1; i >= 0; i--)
        while (p->level[i].forward && zscore_lte_max(p->level[i].forward->score, r))
            p = p->level[i].forward;
    return p != zsl->header && zscore_gte_min(p->score, r) ? p : NULL;
}

static int lex_range_touches(const zskiplist *zsl, const zlex_range *r) {
    if (!zlex_range_nonempty(r)) return 0;
    if (!zsl->tail || !zlex_gte_min(zsl->tail->ele, dstr_len(zsl->tail->ele), r)) return 0;
    const zsl_node *first = zsl->header->level[0].forward;
    return first && zlex_lte_max(first->ele, dstr_len(first->ele), r);
}

zsl_node *zsl_first_in_lex(const zskiplist *zsl, const zlex_range *r) {
    if (!lex_range_touches(zsl, r)) return NULL;
    zsl_node *p = zsl->header;
    for (int i = zsl->level - 1; i >= 0; i--)
        while (p->level[i].forward &&
               !zlex_gte_min(p->level[i].forward->ele, dstr_len(p->level[i].forward->ele), r))
            p = p->level[i].forward;
    p = p->level[0].forward;
    return p && zlex_lte_max(p->ele, dstr_len(p->ele), r) ? p : NULL;
}

zsl_node *zsl_last_in_lex(const zskiplist *zsl, const zlex_range *r) {
    if (!lex_range_touches(zsl, r)) return NULL;
    zsl_node *p = zsl->header;
    for (int i = zsl->level - 1; i >= 0; i--)
        while (p->level[i].forward &&
               zlex_lte_max(p->level[i].forward->ele, dstr_len(p->level[i].forward->ele), r))
            p = p->level[i].forward;
    return p != zsl->header && zlex_gte_min(p->ele, dstr_len(p->ele), r) ? p : NULL;
}

unsigned long zsl_delete_rank_range(zskiplist *zsl, unsigned long start, unsigned long end,
                                    void (*gone)(void *priv, zsl_node *n), void *priv) {
    zsl_node *update[ZSL_MAX_LEVEL];
    unsigned long traversed = 0, removed = 0;
    zsl_node *p = zsl->header;
    for (int i = zsl->level - 1; i >= 0; i--) {
        while (p->level[i].forward && traversed + p->level[i].span < start) {
            traversed += p->level[i].span;
            p = p->level[i].forward;
        }
        update[i] = p;
    }
    traversed++;
    p = p->level[0].forward;
    while (p && traversed <= end) {
        zsl_node *next = p->level[0].forward;
        unlink_node(zsl, p, update);
        if (gone) gone(priv, p);
        zsl_free_node(p);
        removed++;
        traversed++;
        p = next;
    }
    return removed;
}
