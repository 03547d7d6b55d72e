/* stream_lp: the entries of a stream, in Redis-layout listpack nodes (see
 * stream.h for the node layout).
 *
 * Every write follows Redis 7.0's t_stream.c step for step: when XADD opens
 * a new node (the tail node has reached stream-node-max-bytes counting the
 * new fields and values, or stream-node-max-entries live + deleted
 * entries), whether an entry gets SAMEFIELDS, how integers are stored
 * (lpAppendInteger renders and re-parses, so the smallest integer encoding
 * is used), and how trimming marks entries deleted inside the first node it
 * cannot drop whole. The node bytes then equal redis-server's for the same
 * commands, which is what makes RDB nodes interchangeable and MAXLEN ~
 * trim the same entries on both servers.
 *
 * Positions inside a listpack are byte offsets; 0 means "none" (the 6-byte
 * header means no element starts at 0). */
#include <string.h>

#include "core/lpack_list.h"
#include "core/mem.h"
#include "core/rdb_blob.h"
#include "core/stream.h"
#include "core/util.h"

#define LP_HDR 6
#define LP_COUNT_UNKNOWN 65535

/* ---- listpack primitives ------------------------------------------------ */

static uint32_t get_u32(const unsigned char *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void put_u32(unsigned char *p, uint32_t v) {
    for (int i = 0; i < 4; i++) p[i] = (unsigned char)(v >> (8 * i));
}

size_t slp_bytes(const unsigned char *lp) { return get_u32(lp); }

static unsigned char *slp_new(void) {
    unsigned char *lp = mem_alloc(LP_HDR + 1);
    put_u32(lp, LP_HDR + 1);
    lp[4] = lp[5] = 0;
    lp[LP_HDR] = 0xFF;
    return lp;
}

static size_t slp_first(const unsigned char *lp) { return lp[LP_HDR] == 0xFF ? 0 : LP_HDR; }

static size_t slp_next(const unsigned char *lp, size_t pos) {
    size_t n = pos + lpl_size_at(lp + pos);
    return lp[n] == 0xFF ? 0 : n;
}

static size_t slp_prev(const unsigned char *lp, size_t pos) {
    if (pos <= LP_HDR) return 0;
    return pos - lpl_size_before(lp + pos);
}

static size_t slp_last(const unsigned char *lp) {
    size_t end = slp_bytes(lp) - 1;
    if (end == LP_HDR) return 0;
    return end - lpl_size_before(lp + end);
}

static int64_t slp_get_int(const unsigned char *lp, size_t pos) {
    lpl_elem el;
    lpl_read(lp + pos, &el);
    if (!el.str) return el.ival;
    long long v = 0;
    util_str_to_ll((const char *)el.str, el.len, &v);
    return v;
}

static const char *slp_get_str(const unsigned char *lp, size_t pos, char *buf, size_t *len) {
    lpl_elem el;
    lpl_read(lp + pos, &el);
    return lpl_elem_bytes(&el, buf, len);
}

static void slp_append(unsigned char **lpp, const void *p, size_t len) {
    lpl_entry e;
    lpl_prepare(&e, p, len);
    size_t bytes = slp_bytes(*lpp);
    unsigned char *lp = mem_realloc(*lpp, bytes + e.total);
    lpl_write(lp + bytes - 1, &e);
    lp[bytes - 1 + e.total] = 0xFF;
    put_u32(lp, (uint32_t)(bytes + e.total));
    unsigned n = (unsigned)lp[4] | (unsigned)lp[5] << 8;
    if (n != LP_COUNT_UNKNOWN) {
        n++;
        lp[4] = (unsigned char)(n & 0xFF);
        lp[5] = (unsigned char)(n >> 8);
    }
    *lpp = lp;
}

static void slp_append_int(unsigned char **lpp, int64_t v) {
    char buf[32];
    int n = util_ll_to_str(buf, sizeof(buf), v);
    slp_append(lpp, buf, (size_t)n);
}

/* Replace the integer at pos; the listpack may move, pos stays valid. */
static void slp_replace_int(unsigned char **lpp, size_t pos, int64_t v) {
    char buf[32];
    int sl = util_ll_to_str(buf, sizeof(buf), v);
    lpl_entry e;
    lpl_prepare(&e, buf, (size_t)sl);
    unsigned char *lp = *lpp;
    size_t old = lpl_size_at(lp + pos), bytes = slp_bytes(lp);
    if (e.total > old) {
        lp = mem_realloc(lp, bytes + e.total - old);
        memmove(lp + pos + e.total, lp + pos + old, bytes - pos - old);
    } else if (e.total < old) {
        memmove(lp + pos + e.total, lp + pos + old, bytes - pos - old);
    }
    lpl_write(lp + pos, &e);
    put_u32(lp, (uint32_t)(bytes + e.total - old));
    *lpp = lp;
}

/* ---- IDs ---------------------------------------------------------------- */

int stream_id_cmp(const stream_id *a, const stream_id *b) {
    if (a->ms != b->ms) return a->ms > b->ms ? 1 : -1;
    if (a->seq != b->seq) return a->seq > b->seq ? 1 : -1;
    return 0;
}

int stream_id_incr(stream_id *id) {
    if (id->seq == UINT64_MAX) {
        if (id->ms == UINT64_MAX) return -1;
        id->ms++;
        id->seq = 0;
    } else {
        id->seq++;
    }
    return 0;
}

int stream_id_decr(stream_id *id) {
    if (id->seq == 0) {
        if (id->ms == 0) return -1;
        id->ms--;
        id->seq = UINT64_MAX;
    } else {
        id->seq--;
    }
    return 0;
}

/* ---- node structure ------------------------------------------------------ */

/* Index of the last node whose master ID is <= id, or -1. */
static long node_floor(const stream *s, const stream_id *id) {
    long lo = 0, hi = (long)s->nnodes - 1, ans = -1;
    while (lo <= hi) {
        long mid = (lo + hi) / 2;
        if (stream_id_cmp(&s->nodes[mid].master, id) <= 0) {
            ans = mid;
            lo = mid + 1;
        } else {
            hi = mid - 1;
        }
    }
    return ans;
}

static void node_remove(stream *s, size_t i) {
    mem_free(s->nodes[i].lp);
    memmove(s->nodes + i, s->nodes + i + 1, (s->nnodes - i - 1) * sizeof(stream_node));
    s->nnodes--;
}

/* Position of the first entry's flags (after the master entry). */
static size_t node_entries_start(const unsigned char *lp, int64_t *master_count,
                                 size_t *master_fields) {
    size_t p = slp_first(lp);        /* count */
    p = slp_next(lp, p);             /* deleted */
    p = slp_next(lp, p);             /* num-fields */
    int64_t n = slp_get_int(lp, p);
    p = slp_next(lp, p);             /* first field, or the 0 terminator */
    if (master_fields) *master_fields = p;
    if (master_count) *master_count = n;
    for (int64_t i = 0; i < n; i++) p = slp_next(lp, p);
    return slp_next(lp, p);          /* past the terminator */
}

/* Skip an entry whose flags are at `p`: returns the position after its
 * lp-count (0 at the end), with its id and flags. */
static size_t entry_skip(const unsigned char *lp, size_t p, const stream_id *master,
                         int64_t master_count, stream_id *id, int *flags) {
    *flags = (int)slp_get_int(lp, p);
    p = slp_next(lp, p);
    id->ms = master->ms + (uint64_t)slp_get_int(lp, p);
    p = slp_next(lp, p);
    id->seq = master->seq + (uint64_t)slp_get_int(lp, p);
    p = slp_next(lp, p);
    int64_t skip;
    if (*flags & STREAM_FLAG_SAMEFIELDS) {
        skip = master_count;
    } else {
        skip = slp_get_int(lp, p) * 2;
        p = slp_next(lp, p);
    }
    while (skip--) p = slp_next(lp, p);
    return slp_next(lp, p); /* past lp-count */
}

/* ---- iteration ------------------------------------------------------------ */

void stream_iter_start(stream_iter *it, const stream *s, const stream_id *start,
                       const stream_id *end, int rev) {
    memset(it, 0, sizeof(*it));
    it->s = s;
    if (start) it->start = *start;
    if (end) it->end = *end;
    else it->end.ms = it->end.seq = UINT64_MAX;
    it->rev = rev;
    long n;
    if (!rev) {
        n = node_floor(s, &it->start);
        if (n < 0) n = 0;
    } else {
        n = node_floor(s, &it->end);
    }
    it->node = n;
    it->pos = 0;
}

/* Enter node it->node: master fields, and the first or last entry. */
static int iter_enter(stream_iter *it) {
    if (it->node < 0 || (size_t)it->node >= it->s->nnodes) return 0;
    const stream_node *nd = &it->s->nodes[it->node];
    it->master = nd->master;
    size_t first = node_entries_start(nd->lp, &it->master_count, &it->master_fields);
    if (!it->rev) {
        it->pos = first;
    } else {
        /* The last element is the last entry's lp-count. */
        it->pos = first ? slp_last(nd->lp) : 0;
    }
    return 1;
}

int stream_iter_next(stream_iter *it, stream_id *id, int64_t *numfields) {
    for (;;) {
        if (!it->entered) {
            if (!iter_enter(it)) return 0;
            it->entered = 1;
        }
        if (!it->pos) { /* node done: the next one in the direction */
            it->node += it->rev ? -1 : 1;
            it->entered = 0;
            continue;
        }
        const unsigned char *lp = it->s->nodes[it->node].lp;
        size_t p = it->pos;
        if (it->rev) {
            /* it->pos is an lp-count: jump back to that entry's flags; a
             * zero is the master entry's terminator. */
            int64_t back = slp_get_int(lp, it->pos);
            if (back == 0) {
                it->pos = 0;
                continue;
            }
            while (back--) p = slp_prev(lp, p);
        }
        int flags;
        size_t after = entry_skip(lp, p, &it->master, it->master_count, id, &flags);
        it->pos = it->rev ? slp_prev(lp, p) : after;
        it->entry_flags = flags;
        if (flags & STREAM_FLAG_DELETED) continue;
        if (!it->rev) {
            if (stream_id_cmp(id, &it->start) < 0) continue;
            if (stream_id_cmp(id, &it->end) > 0) return 0;
        } else {
            if (stream_id_cmp(id, &it->end) > 0) continue;
            if (stream_id_cmp(id, &it->start) < 0) return 0;
        }
        /* Fields start after flags, ms, seq [, num-fields]. */
        size_t q = slp_next(lp, slp_next(lp, slp_next(lp, p)));
        if (flags & STREAM_FLAG_SAMEFIELDS) {
            *numfields = it->master_count;
            it->field_pos = it->master_fields;
            it->value_pos = q;
        } else {
            *numfields = slp_get_int(lp, q);
            it->field_pos = 0;
            it->value_pos = slp_next(lp, q);
        }
        return 1;
    }
}

void stream_iter_field(stream_iter *it, const char **f, size_t *flen, const char **v,
                       size_t *vlen) {
    const unsigned char *lp = it->s->nodes[it->node].lp;
    if (it->field_pos) {
        *f = slp_get_str(lp, it->field_pos, it->fbuf, flen);
        it->field_pos = slp_next(lp, it->field_pos);
    } else {
        *f = slp_get_str(lp, it->value_pos, it->fbuf, flen);
        it->value_pos = slp_next(lp, it->value_pos);
    }
    *v = slp_get_str(lp, it->value_pos, it->vbuf, vlen);
    it->value_pos = slp_next(lp, it->value_pos);
}

int stream_edge_id(const stream *s, int first, stream_id *out) {
    stream_iter it;
    int64_t nf;
    stream_iter_start(&it, s, NULL, NULL, !first);
    return stream_iter_next(&it, out, &nf);
}

/* ---- appending ------------------------------------------------------------ */

int stream_append(stream *s, dstr *argv, int64_t numfields, stream_id *added,
                  const stream_id *use_id, int seq_given, long long node_max_bytes,
                  long long node_max_entries) {
    stream_id id;
    if (use_id) {
        if (seq_given) {
            id = *use_id;
        } else if (s->last_id.ms == use_id->ms) {
            if (s->last_id.seq == UINT64_MAX) return -1;
            id = s->last_id;
            id.seq++;
        } else {
            id = *use_id;
            id.seq = 0;
        }
    } else {
        uint64_t ms = (uint64_t)util_ms_time();
        if (ms > s->last_id.ms) {
            id.ms = ms;
            id.seq = 0;
        } else {
            id = s->last_id;
            if (stream_id_incr(&id) < 0) return -1;
        }
    }
    if (stream_id_cmp(&id, &s->last_id) <= 0) return -1;
    size_t totelelen = 0;
    for (int64_t i = 0; i < numfields * 2; i++) totelelen += dstr_len(argv[i]);
    if (totelelen > STREAM_LISTPACK_MAX_SIZE) return -2;

    stream_node *tail = s->nnodes ? &s->nodes[s->nnodes - 1] : NULL;
    if (tail) {
        size_t max_bytes = (size_t)node_max_bytes;
        if (max_bytes == 0 || max_bytes > STREAM_LISTPACK_MAX_SIZE)
            max_bytes = STREAM_LISTPACK_MAX_SIZE;
        size_t p = slp_first(tail->lp);
        if (slp_bytes(tail->lp) + totelelen >= max_bytes) {
            tail = NULL;
        } else if (node_max_entries) {
            int64_t count = slp_get_int(tail->lp, p) + slp_get_int(tail->lp, slp_next(tail->lp, p));
            if (count >= node_max_entries) tail = NULL;
        }
    }
    int flags = 0;
    if (!tail) {
        if (s->nnodes == s->cap) {
            s->cap = s->cap ? s->cap * 2 : 4;
            s->nodes = mem_realloc(s->nodes, s->cap * sizeof(stream_node));
        }
        tail = &s->nodes[s->nnodes++];
        tail->master = id;
        tail->lp = slp_new();
        slp_append_int(&tail->lp, 1);
        slp_append_int(&tail->lp, 0);
        slp_append_int(&tail->lp, numfields);
        for (int64_t i = 0; i < numfields; i++)
            slp_append(&tail->lp, argv[i * 2], dstr_len(argv[i * 2]));
        slp_append_int(&tail->lp, 0);
        flags |= STREAM_FLAG_SAMEFIELDS;
    } else {
        size_t p = slp_first(tail->lp);
        slp_replace_int(&tail->lp, p, slp_get_int(tail->lp, p) + 1);
        p = slp_next(tail->lp, slp_next(tail->lp, p)); /* num-fields */
        int64_t mcount = slp_get_int(tail->lp, p);
        p = slp_next(tail->lp, p);
        if (mcount == numfields) {
            int64_t i;
            for (i = 0; i < mcount; i++) {
                char buf[32];
                size_t len;
                const char *f = slp_get_str(tail->lp, p, buf, &len);
                if (len != dstr_len(argv[i * 2]) || memcmp(f, argv[i * 2], len) != 0) break;
                p = slp_next(tail->lp, p);
            }
            if (i == mcount) flags |= STREAM_FLAG_SAMEFIELDS;
        }
    }
    unsigned char **lpp = &tail->lp;
    slp_append_int(lpp, flags);
    slp_append_int(lpp, (int64_t)(id.ms - tail->master.ms));
    slp_append_int(lpp, (int64_t)(id.seq - tail->master.seq));
    if (!(flags & STREAM_FLAG_SAMEFIELDS)) slp_append_int(lpp, numfields);
    for (int64_t i = 0; i < numfields; i++) {
        if (!(flags & STREAM_FLAG_SAMEFIELDS))
            slp_append(lpp, argv[i * 2], dstr_len(argv[i * 2]));
        slp_append(lpp, argv[i * 2 + 1], dstr_len(argv[i * 2 + 1]));
    }
    int64_t lp_count = numfields + 3;
    if (!(flags & STREAM_FLAG_SAMEFIELDS)) lp_count += numfields + 1;
    slp_append_int(lpp, lp_count);
    s->length++;
    s->entries_added++;
    s->last_id = id;
    if (s->length == 1) s->first_id = id;
    if (added) *added = id;
    return 0;
}

/* ---- deleting ------------------------------------------------------------- */

int stream_delete_id(stream *s, const stream_id *id) {
    long n = node_floor(s, id);
    if (n < 0) return 0;
    stream_node *nd = &s->nodes[n];
    int64_t mcount;
    size_t p = node_entries_start(nd->lp, &mcount, NULL);
    while (p) {
        stream_id cur;
        int flags;
        size_t next = entry_skip(nd->lp, p, &nd->master, mcount, &cur, &flags);
        int c = stream_id_cmp(&cur, id);
        if (c > 0) return 0;
        if (c == 0) {
            if (flags & STREAM_FLAG_DELETED) return 0;
            slp_replace_int(&nd->lp, p, flags | STREAM_FLAG_DELETED);
            size_t q = slp_first(nd->lp);
            int64_t live = slp_get_int(nd->lp, q);
            if (live == 1) {
                node_remove(s, (size_t)n);
            } else {
                slp_replace_int(&nd->lp, q, live - 1);
                q = slp_next(nd->lp, q);
                slp_replace_int(&nd->lp, q, slp_get_int(nd->lp, q) + 1);
            }
            s->length--;
            return 1;
        }
        p = next;
    }
    return 0;
}

/* The ID of the last entry of a node, deleted or not (lpGetEdgeStreamID). */
static void node_last_id(const stream_node *nd, stream_id *out) {
    const unsigned char *lp = nd->lp;
    size_t p = slp_last(lp);
    int64_t back = slp_get_int(lp, p);
    while (back--) p = slp_prev(lp, p);
    p = slp_next(lp, p); /* ms */
    out->ms = nd->master.ms + (uint64_t)slp_get_int(lp, p);
    p = slp_next(lp, p);
    out->seq = nd->master.seq + (uint64_t)slp_get_int(lp, p);
}

int64_t stream_trim(stream *s, const stream_trim_args *a) {
    if (a->strategy == TRIM_NONE) return 0;
    int64_t deleted = 0;
    size_t i = 0;
    while (i < s->nnodes) {
        if (a->strategy == TRIM_MAXLEN && s->length <= (uint64_t)a->maxlen) break;
        stream_node *nd = &s->nodes[i];
        size_t p = slp_first(nd->lp);
        int64_t entries = slp_get_int(nd->lp, p);
        if (a->limit && deleted + entries > a->limit) break;
        int remove_node;
        if (a->strategy == TRIM_MAXLEN) {
            remove_node = (int64_t)s->length - entries >= a->maxlen;
        } else {
            stream_id last;
            node_last_id(nd, &last);
            remove_node = stream_id_cmp(&last, &a->minid) < 0;
        }
        if (remove_node) {
            node_remove(s, i);
            s->length -= (uint64_t)entries;
            deleted += entries;
            continue;
        }
        if (a->approx) break;
        int64_t mcount, from_lp = 0;
        p = node_entries_start(nd->lp, &mcount, NULL);
        while (p) {
            stream_id cur;
            int flags;
            size_t next = entry_skip(nd->lp, p, &nd->master, mcount, &cur, &flags);
            int stop = a->strategy == TRIM_MAXLEN ? s->length <= (uint64_t)a->maxlen
                                                  : stream_id_cmp(&cur, &a->minid) >= 0;
            if (stop) break;
            if (!(flags & STREAM_FLAG_DELETED)) {
                size_t before = slp_bytes(nd->lp);
                slp_replace_int(&nd->lp, p, flags | STREAM_FLAG_DELETED);
                if (next) next += slp_bytes(nd->lp) - before;
                from_lp++;
                s->length--;
            }
            p = next;
        }
        deleted += from_lp;
        p = slp_first(nd->lp);
        slp_replace_int(&nd->lp, p, entries - from_lp);
        p = slp_next(nd->lp, p);
        slp_replace_int(&nd->lp, p, slp_get_int(nd->lp, p) + from_lp);
        break;
    }
    if (s->length == 0) {
        s->first_id.ms = s->first_id.seq = 0;
    } else {
        stream_edge_id(s, 1, &s->first_id);
    }
    return deleted;
}

/* ---- validation of nodes read from an RDB -------------------------------- */

typedef struct node_check {
    int state;
    int64_t left, master_count, entry_fields, elems, flags;
    uint64_t live, deleted, declared_live, declared_deleted;
    int bad;
} node_check;

enum { NC_COUNT, NC_DELETED, NC_MFIELDS, NC_MFIELD, NC_MTERM, NC_FLAGS, NC_MS, NC_SEQ,
       NC_NFIELDS, NC_FV, NC_LPCOUNT };

static int nc_elem(void *priv, const char *p, size_t len) {
    node_check *c = priv;
    long long v = 0;
    int isint = util_str_to_ll(p, len, &v);
    int need_int = c->state != NC_MFIELD && c->state != NC_FV;
    if (need_int && !isint) return c->bad = 1;
    c->elems++;
    switch (c->state) {
    case NC_COUNT: c->declared_live = (uint64_t)v; c->state = NC_DELETED; break;
    case NC_DELETED: c->declared_deleted = (uint64_t)v; c->state = NC_MFIELDS; break;
    case NC_MFIELDS:
        if (v < 0) return c->bad = 1;
        c->master_count = c->left = v;
        c->state = v ? NC_MFIELD : NC_MTERM;
        break;
    case NC_MFIELD: if (--c->left == 0) c->state = NC_MTERM; break;
    case NC_MTERM:
        if (v != 0) return c->bad = 1;
        c->state = NC_FLAGS;
        break;
    case NC_FLAGS:
        if (v < 0 || v > 3) return c->bad = 1;
        c->flags = v;
        c->elems = 1;
        if (v & STREAM_FLAG_DELETED) c->deleted++;
        else c->live++;
        c->state = NC_MS;
        break;
    case NC_MS: c->state = NC_SEQ; break;
    case NC_SEQ:
        if (c->flags & STREAM_FLAG_SAMEFIELDS) {
            c->left = c->master_count;
            c->entry_fields = c->master_count;
            c->state = c->left ? NC_FV : NC_LPCOUNT;
        } else {
            c->state = NC_NFIELDS;
        }
        break;
    case NC_NFIELDS:
        if (v < 0 || v > (1LL << 30)) return c->bad = 1;
        c->entry_fields = v;
        c->left = v * 2;
        c->state = c->left ? NC_FV : NC_LPCOUNT;
        break;
    case NC_FV: if (--c->left == 0) c->state = NC_LPCOUNT; break;
    case NC_LPCOUNT: {
        int64_t want = c->entry_fields + 3;
        if (!(c->flags & STREAM_FLAG_SAMEFIELDS)) want += c->entry_fields + 1;
        if (v != want || c->elems - 1 != want) return c->bad = 1;
        c->state = NC_FLAGS;
        break;
    }
    }
    return 0;
}

int stream_node_validate(const unsigned char *lp, size_t len, uint64_t *live) {
    node_check c;
    memset(&c, 0, sizeof(c));
    size_t n;
    if (rdb_listpack_walk(lp, len, nc_elem, &c, &n) != 0 || c.bad) return 0;
    if (c.state != NC_FLAGS) return 0;
    if (c.live + c.deleted == 0) return 0;
    if (c.live != c.declared_live || c.deleted != c.declared_deleted) return 0;
    *live = c.live;
    return 1;
}
