/* t_stream: the stream value (see stream.h): IDs, lifecycle, consumer
 * groups with their pending entries lists, and the digest.
 *
 * Groups and consumers are kept sorted by name in the byte order of
 * Redis's radix tree (memcmp, a prefix first), so that XINFO GROUPS,
 * XINFO CONSUMERS and the RDB list them as redis-server does. A group's PEL
 * is sorted by ID and owns the NACKs; each consumer's PEL holds pointers to
 * the same NACKs, so moving an entry between consumers (XCLAIM) is a
 * pointer move, never a copy. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/debug.h"
#include "core/mem.h"
#include "core/stream.h"
#include "core/util.h"

/* ---- IDs ---------------------------------------------------------------- */

int stream_id_fmt(char *buf, const stream_id *id) {
    return snprintf(buf, 48, "%llu-%llu", (unsigned long long)id->ms,
                    (unsigned long long)id->seq);
}

dstr stream_id_dstr(const stream_id *id) {
    char buf[48];
    int n = stream_id_fmt(buf, id);
    return dstr_new(buf, (size_t)n);
}

/* Redis's string2ull: a canonical non-negative long long, else what
 * strtoull accepts whole. */
static int parse_ull(const char *s, unsigned long long *out) {
    long long ll;
    if (util_str_to_ll(s, strlen(s), &ll)) {
        if (ll < 0) return 0;
        *out = (unsigned long long)ll;
        return 1;
    }
    errno = 0;
    char *end = NULL;
    *out = strtoull(s, &end, 10);
    if (errno == EINVAL || errno == ERANGE || !(*s != '\0' && *end == '\0')) return 0;
    return 1;
}

int stream_id_parse(const char *s, size_t len, stream_id *id, uint64_t missing_seq, int strict,
                    int *seq_given) {
    char buf[128];
    if (len > sizeof(buf) - 1) return 0;
    memcpy(buf, s, len);
    buf[len] = '\0';
    if (strict && (buf[0] == '-' || buf[0] == '+') && buf[1] == '\0') return 0;
    if (seq_given) *seq_given = 1;
    if (buf[0] == '-' && buf[1] == '\0') {
        id->ms = id->seq = 0;
        return 1;
    }
    if (buf[0] == '+' && buf[1] == '\0') {
        id->ms = id->seq = UINT64_MAX;
        return 1;
    }
    unsigned long long ms, seq;
    char *dash = strchr(buf, '-');
    if (dash) *dash = '\0';
    if (!parse_ull(buf, &ms)) return 0;
    if (dash) {
        if (seq_given && dash[1] == '*' && dash[2] == '\0') {
            seq = 0;
            *seq_given = 0;
        } else if (!parse_ull(dash + 1, &seq)) {
            return 0;
        }
    } else {
        seq = missing_seq;
    }
    id->ms = ms;
    id->seq = seq;
    return 1;
}

/* ---- sorted pointer vectors ------------------------------------------------ */

void ptrvec_insert(ptrvec *pv, size_t at, void *p) {
    if (pv->n == pv->cap) {
        pv->cap = pv->cap ? pv->cap * 2 : 4;
        pv->v = mem_realloc(pv->v, pv->cap * sizeof(void *));
    }
    memmove(pv->v + at + 1, pv->v + at, (pv->n - at) * sizeof(void *));
    pv->v[at] = p;
    pv->n++;
}

void ptrvec_remove(ptrvec *pv, size_t at) {
    memmove(pv->v + at, pv->v + at + 1, (pv->n - at - 1) * sizeof(void *));
    pv->n--;
}

void ptrvec_free(ptrvec *pv) {
    mem_free(pv->v);
    pv->v = NULL;
    pv->n = pv->cap = 0;
}

/* Radix-tree order of names. */
static int name_cmp(const char *a, size_t alen, const char *b, size_t blen) {
    size_t m = alen < blen ? alen : blen;
    int c = m ? memcmp(a, b, m) : 0;
    if (c) return c;
    return alen < blen ? -1 : alen > blen ? 1 : 0;
}

/* First index whose name is >= (p, len); *found when equal. The vector's
 * elements start with a dstr name (groups and consumers both do). */
static size_t name_lower(const ptrvec *pv, const char *p, size_t len, int *found) {
    size_t lo = 0, hi = pv->n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        dstr name = *(dstr *)pv->v[mid];
        if (name_cmp(name, dstr_len(name), p, len) < 0) lo = mid + 1;
        else hi = mid;
    }
    *found = lo < pv->n && name_cmp(*(dstr *)pv->v[lo], dstr_len(*(dstr *)pv->v[lo]), p, len) == 0;
    return lo;
}

size_t stream_pel_lower(const ptrvec *pel, const stream_id *id) {
    size_t lo = 0, hi = pel->n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (stream_id_cmp(&((stream_nack *)pel->v[mid])->id, id) < 0) lo = mid + 1;
        else hi = mid;
    }
    return lo;
}

stream_nack *stream_pel_find(const ptrvec *pel, const stream_id *id) {
    size_t i = stream_pel_lower(pel, id);
    if (i < pel->n && stream_id_cmp(&((stream_nack *)pel->v[i])->id, id) == 0) return pel->v[i];
    return NULL;
}

/* ---- groups, consumers, NACKs --------------------------------------------- */

stream_group *stream_group_find(const stream *s, const char *name, size_t len) {
    int found;
    size_t i = name_lower(&s->groups, name, len, &found);
    return found ? s->groups.v[i] : NULL;
}

stream_group *stream_group_create(stream *s, const char *name, size_t len, const stream_id *id,
                                  long long entries_read) {
    int found;
    size_t i = name_lower(&s->groups, name, len, &found);
    if (found) return NULL;
    stream_group *g = mem_calloc(sizeof(*g));
    g->name = dstr_new(name, len);
    g->last_id = *id;
    g->entries_read = entries_read;
    ptrvec_insert(&s->groups, i, g);
    return g;
}

static void consumer_free(stream_consumer *c) {
    dstr_free(c->name);
    ptrvec_free(&c->pel);
    mem_free(c);
}

static void group_free(stream_group *g) {
    for (size_t i = 0; i < g->pel.n; i++) mem_free(g->pel.v[i]);
    ptrvec_free(&g->pel);
    for (size_t i = 0; i < g->consumers.n; i++) consumer_free(g->consumers.v[i]);
    ptrvec_free(&g->consumers);
    dstr_free(g->name);
    mem_free(g);
}

void stream_group_destroy(stream *s, stream_group *g) {
    int found;
    size_t i = name_lower(&s->groups, g->name, dstr_len(g->name), &found);
    if (found) ptrvec_remove(&s->groups, i);
    group_free(g);
}

stream_consumer *stream_consumer_find(const stream_group *g, const char *name, size_t len) {
    int found;
    size_t i = name_lower(&g->consumers, name, len, &found);
    return found ? g->consumers.v[i] : NULL;
}

stream_consumer *stream_consumer_create(stream_group *g, const char *name, size_t len,
                                        long long now_ms) {
    int found;
    size_t i = name_lower(&g->consumers, name, len, &found);
    if (found) return NULL;
    stream_consumer *c = mem_calloc(sizeof(*c));
    c->name = dstr_new(name, len);
    c->seen_time = now_ms;
    ptrvec_insert(&g->consumers, i, c);
    return c;
}

static void pel_remove_id(ptrvec *pel, const stream_id *id) {
    size_t i = stream_pel_lower(pel, id);
    if (i < pel->n && stream_id_cmp(&((stream_nack *)pel->v[i])->id, id) == 0)
        ptrvec_remove(pel, i);
}

static void pel_insert(ptrvec *pel, stream_nack *n) {
    ptrvec_insert(pel, stream_pel_lower(pel, &n->id), n);
}

size_t stream_consumer_delete(stream_group *g, stream_consumer *c) {
    size_t pending = c->pel.n;
    for (size_t i = 0; i < c->pel.n; i++) {
        stream_nack *n = c->pel.v[i];
        pel_remove_id(&g->pel, &n->id);
        mem_free(n);
    }
    int found;
    size_t i = name_lower(&g->consumers, c->name, dstr_len(c->name), &found);
    if (found) ptrvec_remove(&g->consumers, i);
    consumer_free(c);
    return pending;
}

stream_nack *stream_nack_add(stream_group *g, stream_consumer *c, const stream_id *id,
                             long long now_ms) {
    stream_nack *n = mem_alloc(sizeof(*n));
    n->id = *id;
    n->delivery_time = now_ms;
    n->delivery_count = 1;
    n->consumer = c;
    pel_insert(&g->pel, n);
    pel_insert(&c->pel, n);
    return n;
}

stream_nack *stream_nack_load(stream_group *g, const stream_id *id, long long when,
                              uint64_t count) {
    size_t i = stream_pel_lower(&g->pel, id);
    if (i < g->pel.n && stream_id_cmp(&((stream_nack *)g->pel.v[i])->id, id) == 0) return NULL;
    stream_nack *n = mem_alloc(sizeof(*n));
    n->id = *id;
    n->delivery_time = when;
    n->delivery_count = count;
    n->consumer = NULL;
    ptrvec_insert(&g->pel, i, n);
    return n;
}

int stream_nack_claim_loaded(stream_group *g, stream_consumer *c, const stream_id *id) {
    stream_nack *n = stream_pel_find(&g->pel, id);
    if (!n || n->consumer) return -1;
    n->consumer = c;
    pel_insert(&c->pel, n);
    return 0;
}

int stream_group_pel_owned(const stream_group *g) {
    for (size_t i = 0; i < g->pel.n; i++)
        if (!((stream_nack *)g->pel.v[i])->consumer) return 0;
    return 1;
}

void stream_nack_move(stream_nack *n, stream_consumer *to) {
    if (n->consumer == to) return;
    pel_remove_id(&n->consumer->pel, &n->id);
    n->consumer = to;
    pel_insert(&to->pel, n);
}

void stream_nack_remove(stream_group *g, stream_nack *n) {
    pel_remove_id(&n->consumer->pel, &n->id);
    pel_remove_id(&g->pel, &n->id);
    mem_free(n);
}

/* ---- counters used by XINFO and XGROUP (Redis 7.0's entries_read) ------- */

static int id_is_zero(const stream_id *id) { return id->ms == 0 && id->seq == 0; }

long long stream_estimate_distance(const stream *s, const stream_id *id) {
    if (!s->entries_added) return 0;
    if (!s->length && stream_id_cmp(id, &s->last_id) < 1) return (long long)s->entries_added;
    int cmp_last = stream_id_cmp(id, &s->last_id);
    if (cmp_last == 0) return (long long)s->entries_added;
    if (cmp_last > 0) return STREAM_ENTRIES_READ_INVALID;
    int cmp_first = stream_id_cmp(id, &s->first_id);
    if (id_is_zero(&s->max_deleted_id) || stream_id_cmp(&s->max_deleted_id, &s->first_id) < 0) {
        if (cmp_first < 0) return (long long)(s->entries_added - s->length);
        if (cmp_first == 0) return (long long)(s->entries_added - s->length + 1);
    }
    return STREAM_ENTRIES_READ_INVALID;
}

int stream_range_has_tombstones(const stream *s, const stream_id *start, const stream_id *end) {
    if (!s->length || id_is_zero(&s->max_deleted_id)) return 0;
    if (stream_id_cmp(&s->first_id, &s->max_deleted_id) > 0) return 0;
    stream_id a = {0, 0}, b = {UINT64_MAX, UINT64_MAX};
    if (start) a = *start;
    if (end) b = *end;
    return stream_id_cmp(&a, &s->max_deleted_id) <= 0 && stream_id_cmp(&s->max_deleted_id, &b) <= 0;
}

long long stream_group_lag(const stream *s, const stream_group *g, int *valid) {
    *valid = 1;
    if (!s->entries_added) return 0;
    if (g->entries_read != STREAM_ENTRIES_READ_INVALID &&
        !stream_range_has_tombstones(s, &g->last_id, NULL))
        return (long long)s->entries_added - g->entries_read;
    long long er = stream_estimate_distance(s, &g->last_id);
    if (er != STREAM_ENTRIES_READ_INVALID) return (long long)s->entries_added - er;
    *valid = 0;
    return 0;
}

/* ---- the value ------------------------------------------------------------ */

stream *stream_new(void) { return mem_calloc(sizeof(stream)); }

obj *stream_obj_new(void) {
    return obj_new(OBJ_STREAM, ENC_STREAM, stream_new());
}

void stream_free(stream *s) {
    for (size_t i = 0; i < s->nnodes; i++) mem_free(s->nodes[i].lp);
    mem_free(s->nodes);
    for (size_t i = 0; i < s->groups.n; i++) group_free(s->groups.v[i]);
    ptrvec_free(&s->groups);
    mem_free(s);
}

stream *stream_dup(const stream *s) {
    stream *d = stream_new();
    *d = *s;
    d->nodes = mem_alloc((s->cap ? s->cap : 1) * sizeof(stream_node));
    for (size_t i = 0; i < s->nnodes; i++) {
        size_t b = slp_bytes(s->nodes[i].lp);
        d->nodes[i].master = s->nodes[i].master;
        d->nodes[i].lp = mem_alloc(b);
        memcpy(d->nodes[i].lp, s->nodes[i].lp, b);
    }
    memset(&d->groups, 0, sizeof(d->groups));
    for (size_t i = 0; i < s->groups.n; i++) {
        const stream_group *g = s->groups.v[i];
        stream_group *ng =
            stream_group_create(d, g->name, dstr_len(g->name), &g->last_id, g->entries_read);
        for (size_t j = 0; j < g->consumers.n; j++) {
            const stream_consumer *c = g->consumers.v[j];
            stream_consumer *nc =
                stream_consumer_create(ng, c->name, dstr_len(c->name), c->seen_time);
            for (size_t k = 0; k < c->pel.n; k++) {
                const stream_nack *n = c->pel.v[k];
                stream_nack *nn = stream_nack_add(ng, nc, &n->id, n->delivery_time);
                nn->delivery_count = n->delivery_count;
            }
        }
    }
    return d;
}

static void free_value(obj *o) { stream_free(o->ptr); }
static void *dup_value(const obj *o) { return stream_dup(o->ptr); }

/* Redis's xorObjectDigest for a stream: each live entry in order mixes
 * "<ms>.<seq>", then each field and value. Groups are not part of it. */
static void digest(const obj *o, unsigned char d[20]) {
    stream_iter it;
    stream_id id;
    int64_t nf;
    stream_iter_start(&it, o->ptr, NULL, NULL, 0);
    while (stream_iter_next(&it, &id, &nf)) {
        char buf[48];
        int n = snprintf(buf, sizeof(buf), "%llu.%llu", (unsigned long long)id.ms,
                         (unsigned long long)id.seq);
        digest_mix(d, buf, (size_t)n);
        while (nf--) {
            const char *f, *v;
            size_t fl, vl;
            stream_iter_field(&it, &f, &fl, &v, &vl);
            digest_mix(d, f, fl);
            digest_mix(d, v, vl);
        }
    }
}

static const obj_type_ops stream_ops = {free_value, dup_value, digest};

void stream_register_type(void) { obj_register_type(OBJ_STREAM, &stream_ops); }
