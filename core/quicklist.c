/* quicklist: see quicklist.h.
 *
 * Invariants, checked by ql_check():
 *   - no node is empty: a node whose last entry goes is unlinked and freed
 *     at once, so an empty list has no nodes at all;
 *   - each node's allocation is exactly header + run (it is reallocated on
 *     every change, like a listpack), so memory follows the data;
 *   - ql->count is the sum of the node counts, ql->len the number of nodes.
 *
 * A node is reallocated in place whenever its run grows or shrinks, and
 * realloc may move it: every function that resizes a node returns the node
 * at its new address and fixes the neighbours' links (relink). Callers
 * never keep a node pointer across a resize without taking the returned
 * one.
 *
 * Inserting into a full node in the middle of a list splits it at the
 * insertion point and then merges the pieces back with their neighbours
 * when the result fits, as Redis's quicklist does, so LINSERT-heavy lists
 * do not decay into many tiny nodes. */
#include "core/quicklist.h"

#include <string.h>

#include "core/mem.h"
#include "core/util.h"

#define QL_SIZE_SAFETY_LIMIT 8192
#define QL_FILL_MAX 32767
#define QL_COMPRESS_MAX 65535
static const size_t ql_size_levels[] = {4096, 8192, 16384, 32768, 65536};

/* Written only by DEBUG QUICKLIST-PACKED-THRESHOLD on the keyspace thread,
 * which owns every list. */
static unsigned long long packed_threshold = QL_PACKED_THRESHOLD_DEFAULT;

int ql_set_packed_threshold(unsigned long long bytes) {
    if (bytes > (1ULL << 32) - (1ULL << 20)) return -1;
    packed_threshold = bytes ? bytes : QL_PACKED_THRESHOLD_DEFAULT;
    return 0;
}

/* Redis measures the element as the string it was given: an integer by
 * its decimal spelling. */
static size_t given_len(const lpl_entry *e) {
    if (e->str) return e->len;
    char buf[UTIL_LONG_STR_SIZE];
    return (size_t)util_ll_to_str(buf, sizeof(buf), e->ival);
}

static int is_large(const lpl_entry *e) { return given_len(e) >= packed_threshold; }

quicklist *ql_create(long long fill, long long compress) {
    quicklist *ql = mem_alloc(sizeof(*ql));
    ql->head = ql->tail = NULL;
    ql->count = 0;
    ql->len = 0;
    if (fill > QL_FILL_MAX) fill = QL_FILL_MAX;
    if (fill < -5) fill = -5;
    if (compress > QL_COMPRESS_MAX) compress = QL_COMPRESS_MAX;
    if (compress < 0) compress = 0;
    ql->fill = (int16_t)fill;
    ql->compress = (uint16_t)compress;
    return ql;
}

void ql_release(quicklist *ql) {
    ql_node *n = ql->head;
    while (n) {
        ql_node *next = n->next;
        mem_free(n);
        n = next;
    }
    mem_free(ql);
}

/* ---- node primitives ---- */

/* Where a node's limits are checked, Redis 7.0 measures it as a listpack:
 * the run plus the 6-byte header and the end byte. */
#define LP_FRAME 7
/* Redis 7.0's estimate of what one more entry adds to a listpack beyond
 * the element's given length (SIZE_ESTIMATE_OVERHEAD). */
#define QL_ENTRY_ESTIMATE 8

/* Whether a listpack of `lp_bytes` bytes and `count` entries respects the
 * fill: a negative fill is a size level, a positive one an entry count
 * under the 8 KB safety limit. */
static int size_allowed(const quicklist *ql, size_t lp_bytes, uint32_t count) {
    if (ql->fill < 0) return lp_bytes <= ql_size_levels[-ql->fill - 1];
    return lp_bytes <= QL_SIZE_SAFETY_LIMIT && count <= (uint32_t)ql->fill;
}

/* Redis 7.0's _quicklistNodeAllowInsert: the node's listpack, the element
 * as given and the estimate. The estimate, not the exact entry size, is
 * what decides, so nodes split exactly where Redis's do and the RDB and
 * DUMP bytes of a list are Redis's. */
static int node_fits(const quicklist *ql, const ql_node *n, const lpl_entry *e) {
    if (!n || n->plain || is_large(e)) return 0;
    return size_allowed(ql, (size_t)n->bytes + LP_FRAME + given_len(e) + QL_ENTRY_ESTIMATE,
                        n->count + 1);
}

/* Redis 7.0's _quicklistNodeAllowMerge: the two listpacks less 11 bytes
 * (a ziplist's header and end, kept from before listpacks; a listpack's
 * are 7), so a merge may pass the level by up to 4 bytes, as Redis's
 * does. */
#define QL_MERGE_OVERLAP 11
static int merge_allowed(const quicklist *ql, const ql_node *a, const ql_node *b) {
    if (!a || !b || a->plain || b->plain) return 0;
    return size_allowed(ql, (size_t)a->bytes + b->bytes + 2 * LP_FRAME - QL_MERGE_OVERLAP,
                        a->count + b->count);
}

static void relink(quicklist *ql, ql_node *n) {
    if (n->prev)
        n->prev->next = n;
    else
        ql->head = n;
    if (n->next)
        n->next->prev = n;
    else
        ql->tail = n;
}

static ql_node *node_resize(quicklist *ql, ql_node *n, size_t bytes) {
    ql_node *m = mem_realloc(n, sizeof(ql_node) + bytes);
    if (m != n) relink(ql, m);
    return m;
}

/* Link n after `prev` (at the head when prev is NULL). */
static void node_link_after(quicklist *ql, ql_node *prev, ql_node *n) {
    n->prev = prev;
    n->next = prev ? prev->next : ql->head;
    if (n->next)
        n->next->prev = n;
    else
        ql->tail = n;
    if (prev)
        prev->next = n;
    else
        ql->head = n;
    ql->len++;
}

/* Unlink and free a node with everything in it. */
static void node_drop(quicklist *ql, ql_node *n) {
    if (n->prev)
        n->prev->next = n->next;
    else
        ql->head = n->next;
    if (n->next)
        n->next->prev = n->prev;
    else
        ql->tail = n->prev;
    ql->len--;
    ql->count -= n->count;
    mem_free(n);
}

/* A new node holding just e, linked after prev: a plain one for a large
 * element. */
static ql_node *node_new_with(quicklist *ql, ql_node *prev, const lpl_entry *e) {
    ql_node *n = mem_alloc(sizeof(ql_node) + e->total);
    lpl_write(n->data, e);
    n->bytes = (uint32_t)e->total;
    n->count = 1;
    n->plain = is_large(e);
    node_link_after(ql, prev, n);
    ql->count++;
    return n;
}

/* Write e at byte offset off of n's run. */
static ql_node *node_insert(quicklist *ql, ql_node *n, uint32_t off, const lpl_entry *e) {
    uint32_t old = n->bytes;
    n = node_resize(ql, n, (size_t)old + e->total);
    if (off < old) memmove(n->data + off + e->total, n->data + off, old - off);
    lpl_write(n->data + off, e);
    n->bytes = old + (uint32_t)e->total;
    n->count++;
    ql->count++;
    return n;
}

/* Remove `len` bytes holding k entries at offset off. NULL when the node
 * had nothing else and is gone. */
static ql_node *node_cut(quicklist *ql, ql_node *n, uint32_t off, uint32_t len, uint32_t k) {
    if (k == n->count) {
        node_drop(ql, n);
        return NULL;
    }
    memmove(n->data + off, n->data + off + len, n->bytes - off - len);
    n->bytes -= len;
    n->count -= k;
    ql->count -= k;
    return node_resize(ql, n, n->bytes);
}

/* Byte offset of entry i (0 <= i <= count) of n, walked from the nearer
 * end of the run. */
static uint32_t entry_offset(const ql_node *n, uint32_t i) {
    uint32_t off;
    if (i <= n->count / 2) {
        off = 0;
        for (uint32_t k = 0; k < i; k++) off += (uint32_t)lpl_size_at(n->data + off);
    } else {
        off = n->bytes;
        for (uint32_t k = n->count; k > i; k--) off -= (uint32_t)lpl_size_before(n->data + off);
    }
    return off;
}

static uint32_t entries_before(const ql_node *n, uint32_t off) {
    uint32_t k = 0;
    for (uint32_t p = 0; p < off; p += (uint32_t)lpl_size_at(n->data + p)) k++;
    return k;
}

/* The node holding element index (0 <= index < count), walking from the
 * nearer end, and the entry's position inside it. */
static ql_node *locate(const quicklist *ql, unsigned long index, uint32_t *in_node) {
    ql_node *n;
    if (index < ql->count / 2) {
        unsigned long start = 0;
        n = ql->head;
        while (index >= start + n->count) {
            start += n->count;
            n = n->next;
        }
        *in_node = (uint32_t)(index - start);
    } else {
        n = ql->tail;
        unsigned long start = ql->count - n->count;
        while (index < start) {
            n = n->prev;
            start -= n->count;
        }
        *in_node = (uint32_t)(index - start);
    }
    return n;
}

/* Join a->next onto the end of a. Returns the node holding both. */
static ql_node *node_merge(quicklist *ql, ql_node *a) {
    ql_node *b = a->next;
    uint32_t old = a->bytes;
    a = node_resize(ql, a, (size_t)old + b->bytes);
    memcpy(a->data + old, b->data, b->bytes);
    a->bytes = old + b->bytes;
    a->count += b->count;
    b->count = 0; /* its entries now live in a: keep ql->count */
    node_drop(ql, b);
    return a;
}

/* Redis 7.0's _quicklistMergeNodes after a split: the two nodes before
 * center, the two after it, then center with what precedes it and the
 * result with what follows, each when the joined node respects the fill. */
static void merge_around(quicklist *ql, ql_node *center) {
    ql_node *prev = center->prev, *next = center->next;
    if (prev && merge_allowed(ql, prev->prev, prev)) node_merge(ql, prev->prev);
    if (next && merge_allowed(ql, next, next->next)) node_merge(ql, next);
    ql_node *target = center;
    if (merge_allowed(ql, center->prev, center)) target = node_merge(ql, center->prev);
    if (merge_allowed(ql, target, target->next)) node_merge(ql, target);
}

/* Move n's entries from offset off (entry index idx) into a new node
 * linked after n. Returns the new node; *left gets n's new address. */
static ql_node *node_split(quicklist *ql, ql_node *n, uint32_t off, ql_node **left) {
    uint32_t idx = entries_before(n, off);
    uint32_t rbytes = n->bytes - off;
    ql_node *r = mem_alloc(sizeof(ql_node) + rbytes);
    memcpy(r->data, n->data + off, rbytes);
    r->bytes = rbytes;
    r->count = n->count - idx;
    r->plain = 0;
    n->bytes = off;
    n->count = idx;
    n = node_resize(ql, n, off);
    node_link_after(ql, n, r);
    *left = n;
    return r;
}

/* Insert e before or after the entry at byte offset `at` of n, as Redis
 * 7.0's _quicklistInsert does, so the nodes come out where Redis's do: into
 * n when it has room; at n's edge, into the neighbour with room or a new
 * node; otherwise n is split at the insertion point, e joins the part cut
 * off (on the side of the cut, with no check of its room: Redis does not
 * check either), and the nodes around are merged where they fit. A large
 * element takes a plain node of its own, at n's edge or between n's two
 * halves. */
static void insert_near(quicklist *ql, ql_node *n, uint32_t at, int after, const lpl_entry *e) {
    uint32_t at_size = (uint32_t)lpl_size_at(n->data + at);
    uint32_t off = after ? at + at_size : at;
    int at_tail = after && off == n->bytes;
    int at_head = !after && at == 0;
    if (is_large(e)) {
        if (n->plain || at_tail || at_head) {
            node_new_with(ql, after ? n : n->prev, e);
        } else {
            ql_node *left;
            node_split(ql, n, off, &left);
            node_new_with(ql, left, e);
        }
        return;
    }
    if (node_fits(ql, n, e)) {
        node_insert(ql, n, off, e);
    } else if (at_tail && node_fits(ql, n->next, e)) {
        node_insert(ql, n->next, 0, e);
    } else if (at_head && node_fits(ql, n->prev, e)) {
        node_insert(ql, n->prev, n->prev->bytes, e);
    } else if (at_tail || at_head) {
        node_new_with(ql, after ? n : n->prev, e);
    } else {
        /* Redis keeps the pivot in the original node: after it, the node
         * is the left part and e starts the right one; before it, the
         * node is the right part and e ends the left one. */
        ql_node *left;
        ql_node *right = node_split(ql, n, off, &left);
        if (after) {
            node_insert(ql, right, 0, e);
            merge_around(ql, left);
        } else {
            left = node_insert(ql, left, left->bytes, e);
            merge_around(ql, left->next);
        }
    }
}

/* ---- list operations ---- */

void ql_push_entry(quicklist *ql, const lpl_entry *e, int where) {
    if (where == QL_HEAD) {
        if (ql->head && node_fits(ql, ql->head, e))
            node_insert(ql, ql->head, 0, e);
        else
            node_new_with(ql, NULL, e);
    } else {
        if (ql->tail && node_fits(ql, ql->tail, e))
            node_insert(ql, ql->tail, ql->tail->bytes, e);
        else
            node_new_with(ql, ql->tail, e);
    }
}

void ql_append_plain(quicklist *ql, const void *s, size_t len) {
    lpl_entry e;
    lpl_prepare(&e, s, len);
    ql_node *n = node_new_with(ql, ql->tail, &e);
    n->plain = 1;
}

void ql_load_entry(quicklist *ql, const void *s, size_t len, int new_node) {
    lpl_entry e;
    lpl_prepare(&e, s, len);
    if (new_node || !ql->tail || ql->tail->plain) {
        ql_node *n = node_new_with(ql, ql->tail, &e);
        n->plain = 0;
    } else {
        node_insert(ql, ql->tail, ql->tail->bytes, &e);
    }
}

void ql_push(quicklist *ql, const void *s, size_t len, int where) {
    lpl_entry e;
    lpl_prepare(&e, s, len);
    ql_push_entry(ql, &e, where);
}

int ql_peek(const quicklist *ql, int where, lpl_elem *out) {
    if (!ql->count) return 0;
    if (where == QL_HEAD) {
        lpl_read(ql->head->data, out);
    } else {
        const ql_node *t = ql->tail;
        const unsigned char *end = t->data + t->bytes;
        lpl_read(end - lpl_size_before(end), out);
    }
    return 1;
}

void ql_pop(quicklist *ql, int where) {
    if (!ql->count) return;
    if (where == QL_HEAD) {
        ql_node *h = ql->head;
        node_cut(ql, h, 0, (uint32_t)lpl_size_at(h->data), 1);
    } else {
        ql_node *t = ql->tail;
        uint32_t sz = (uint32_t)lpl_size_before(t->data + t->bytes);
        node_cut(ql, t, t->bytes - sz, sz, 1);
    }
}

static int normalize(const quicklist *ql, long long index, unsigned long *out) {
    if (index < 0) index += (long long)ql->count;
    if (index < 0 || (unsigned long long)index >= ql->count) return 0;
    *out = (unsigned long)index;
    return 1;
}

int ql_index(const quicklist *ql, long long index, lpl_elem *out) {
    unsigned long i;
    if (!normalize(ql, index, &i)) return 0;
    uint32_t k;
    const ql_node *n = locate(ql, i, &k);
    lpl_read(n->data + entry_offset(n, k), out);
    return 1;
}

/* Redis 7.0's quicklistReplaceEntry: a packed node takes the new element
 * in place whatever its size, a plain node a new large one. Otherwise the
 * element is inserted after the old one and the old one removed: a small
 * element replacing a plain node may so land in the next node, a large one
 * in a packed node gets a plain node next to it. */
int ql_replace(quicklist *ql, long long index, const lpl_entry *e) {
    unsigned long i;
    if (!normalize(ql, index, &i)) return 0;
    uint32_t k;
    ql_node *n = locate(ql, i, &k);
    uint32_t off = entry_offset(n, k);
    uint32_t osz = (uint32_t)lpl_size_at(n->data + off);
    int large = is_large(e);
    size_t nbytes = (size_t)n->bytes - osz + e->total;
    if (!n->plain && !large && nbytes > UINT32_MAX) {
        /* A packed node that would pass 4 GB (LSETs of huge elements, none
         * large enough to be plain): Redis's lpInsert fails there. The old
         * entry goes and the new one takes a node of its own where it
         * was. The node had other entries, or nbytes would be one entry. */
        n = node_cut(ql, n, off, osz, 1);
        ql_node *left = n->prev;
        if (off == n->bytes) left = n;
        else if (off > 0) node_split(ql, n, off, &left);
        node_new_with(ql, left, e);
        return 1;
    }
    if (n->plain == large) {
        uint32_t old = n->bytes;
        if (e->total > osz) n = node_resize(ql, n, nbytes);
        memmove(n->data + off + e->total, n->data + off + osz, old - off - osz);
        lpl_write(n->data + off, e);
        n->bytes = (uint32_t)nbytes;
        if (e->total < osz) node_resize(ql, n, nbytes);
        return 1;
    }
    if (n->plain) { /* a small element: n is left where it was */
        insert_near(ql, n, 0, 1, e);
        node_drop(ql, n);
        return 1;
    }
    /* A large element in a packed node: its plain node goes after n, or
     * between n cut after the old entry and the rest; the old entry is
     * then n's last. */
    ql_node *left = n;
    if (off + osz < n->bytes) node_split(ql, n, off + osz, &left);
    node_new_with(ql, left, e);
    node_cut(ql, left, off, osz, 1);
    return 1;
}

void ql_del_range(quicklist *ql, unsigned long start, unsigned long count) {
    if (count == 0 || start >= ql->count) return;
    if (count > ql->count - start) count = ql->count - start;
    uint32_t i;
    ql_node *n = locate(ql, start, &i);
    while (count > 0 && n) {
        ql_node *next = n->next;
        if (i == 0 && count >= n->count) {
            count -= n->count;
            node_drop(ql, n);
        } else {
            uint32_t k = n->count - i;
            if (k > count) k = (uint32_t)count;
            uint32_t off = entry_offset(n, i), end = off;
            for (uint32_t j = 0; j < k; j++) end += (uint32_t)lpl_size_at(n->data + end);
            node_cut(ql, n, off, end - off, k);
            count -= k;
        }
        n = next;
        i = 0;
    }
}

quicklist *ql_dup(const quicklist *ql) {
    quicklist *d = ql_create(ql->fill, ql->compress);
    for (const ql_node *n = ql->head; n; n = n->next) {
        ql_node *m = mem_alloc(sizeof(ql_node) + n->bytes);
        memcpy(m->data, n->data, n->bytes);
        m->bytes = n->bytes;
        m->count = n->count;
        m->plain = n->plain;
        node_link_after(d, d->tail, m);
        d->count += n->count;
    }
    return d;
}

/* ---- iteration ---- */

void ql_iter_init(ql_iter *it, quicklist *ql, unsigned long index, int forward) {
    it->ql = ql;
    it->forward = forward;
    it->cur_node = NULL;
    it->cur_off = 0;
    if (index >= ql->count) {
        it->node = NULL;
        it->off = 0;
        return;
    }
    uint32_t k;
    it->node = locate(ql, index, &k);
    it->off = entry_offset(it->node, k);
}

const unsigned char *ql_iter_next(ql_iter *it) {
    ql_node *n = it->node;
    if (!n) return NULL;
    const unsigned char *p = n->data + it->off;
    it->cur_node = n;
    it->cur_off = it->off;
    if (it->forward) {
        uint32_t next = it->off + (uint32_t)lpl_size_at(p);
        if (next >= n->bytes) {
            it->node = n->next;
            it->off = 0;
        } else {
            it->off = next;
        }
    } else if (it->off == 0) {
        it->node = n->prev;
        if (it->node)
            it->off = it->node->bytes -
                      (uint32_t)lpl_size_before(it->node->data + it->node->bytes);
    } else {
        it->off -= (uint32_t)lpl_size_before(p);
    }
    return p;
}

void ql_iter_delete(ql_iter *it) {
    ql_node *n = it->cur_node;
    if (!n) return;
    uint32_t off = it->cur_off;
    uint32_t sz = (uint32_t)lpl_size_at(n->data + off);
    int same_node = it->node == n;
    ql_node *m = node_cut(it->ql, n, off, sz, 1);
    if (same_node) {
        /* The node had another entry, so it survived. Going forward the
         * next entry slid down into the freed bytes; going backward it
         * lies before them and did not move. */
        it->node = m;
        if (it->forward) it->off = off;
    }
    it->cur_node = NULL;
}

void ql_iter_insert(ql_iter *it, const lpl_entry *e, int after) {
    ql_node *n = it->cur_node;
    if (!n) return;
    insert_near(it->ql, n, it->cur_off, after, e);
    it->node = NULL;
    it->cur_node = NULL;
}

int ql_check(const quicklist *ql) {
    unsigned long count = 0;
    uint32_t len = 0;
    const ql_node *prev = NULL;
    for (const ql_node *n = ql->head; n; n = n->next) {
        if (n->prev != prev || n->count == 0) return 0;
        uint32_t k = 0, off = 0;
        while (off < n->bytes) {
            size_t sz = lpl_size_at(n->data + off);
            if (lpl_size_before(n->data + off + sz) != sz) return 0;
            off += (uint32_t)sz;
            k++;
        }
        if (off != n->bytes || k != n->count) return 0;
        if (n->plain && n->count != 1) return 0;
        count += n->count;
        len++;
        prev = n;
    }
    return prev == ql->tail && count == ql->count && len == ql->len;
}
