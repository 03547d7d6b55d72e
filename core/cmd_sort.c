/* cmd_sort: SORT and SORT_RO, Redis 7.0's sortCommandGeneric.
 *
 * The elements of a list, set or sorted set are copied into a vector,
 * weighted (by themselves, or by the string or hash field a BY pattern
 * names), sorted, cut by LIMIT, and either returned or, with STORE, written
 * as a list. The choices that decide the bytes a client or a replica sees
 * follow Redis exactly:
 *   - numeric weights are strtod() of the bytes; a weight that does not
 *     parse, overflows or is NaN fails the whole command with "One or more
 *     scores can't be converted into double"; a missing BY key weighs 0;
 *   - equal numeric weights fall back to comparing the elements bytewise,
 *     so the order is total; ALPHA compares with strcoll() when replying
 *     and bytewise when storing (what a replica recomputes must not depend
 *     on its locale);
 *   - BY with no '*' means no sorting: lists and sorted sets keep their own
 *     order (reversed by DESC), a set keeps its iteration order, except
 *     under STORE where it is sorted ALPHA so that a replica stores the
 *     same list;
 *   - a sorted set is converted to a skiplist first, as Redis 7.0 does
 *     (OBJECT ENCODING shows it);
 *   - SORT ... STORE is propagated as itself; the result replaces the
 *     destination (TTL dropped, "sortstore" event), or an empty result
 *     deletes it ("del").
 * Ties that Redis leaves to its sort algorithm (ALPHA BY with equal or
 * missing weights) come out as in Redis for lists: the same glibc qsort,
 * or Redis's own partial quicksort under BY with a LIMIT (pqsort_items),
 * from the same initial order. For sets and sorted sets the initial order
 * is each server's hash table's, as it is between two Redis servers. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/commands.h"
#include "core/db.h"
#include "core/mem.h"
#include "core/notify.h"
#include "core/reply.h"
#include "core/t_hash.h"
#include "core/t_list.h"
#include "core/t_set.h"
#include "core/t_zset.h"

typedef struct sort_item {
    dstr ele;
    double score;
    dstr cmp; /* ALPHA BY: the weight's bytes; NULL when missing */
} sort_item;

typedef struct sort_spec {
    int desc, alpha, by_pattern, store;
} sort_spec;

/* Redis's lookupKeyByPattern: "#" is the element itself; otherwise the
 * first '*' is replaced by the element, and "->field" after it reads a
 * hash field. The bytes found go into *out (a new dstr), or 0 when there
 * is nothing (no '*', no key, wrong type, no field). */
static int pattern_value(client *c, const dstr pattern, const dstr ele, dstr *out) {
    if (pattern[0] == '#' && pattern[1] == '\0') {
        *out = dstr_dup(ele);
        return 1;
    }
    const char *star = strchr(pattern, '*');
    if (!star) return 0;
    const char *arrow = strstr(star + 1, "->");
    size_t patlen = dstr_len(pattern), fieldlen = 0;
    if (arrow && arrow[2] != '\0') fieldlen = patlen - (size_t)(arrow - pattern) - 2;
    size_t prefix = (size_t)(star - pattern);
    size_t postfix = patlen - prefix - 1 - (fieldlen ? fieldlen + 2 : 0);
    dstr key = dstr_new(pattern, prefix);
    key = dstr_cat(key, ele, dstr_len(ele));
    key = dstr_cat(key, star + 1, postfix);
    obj *o = db_lookup_read(c->srv, c->db, key);
    dstr_free(key);
    if (!o) return 0;
    if (fieldlen) {
        if (o->type != OBJ_HASH) return 0;
        dstr field = dstr_new(arrow + 2, fieldlen);
        hash_pair hp;
        int found = hash_get(o, field, &hp);
        dstr_free(field);
        if (!found) return 0;
        *out = dstr_new(hp.value, hp.vlen);
        return 1;
    }
    if (o->type != OBJ_STRING) return 0;
    char buf[32];
    size_t len;
    const char *p = obj_string_bytes(o, buf, &len);
    *out = dstr_new(p, len);
    return 1;
}

/* Redis's compareStringObjects: memcmp, then the shorter first. */
static int bytes_cmp(const dstr a, const dstr b) {
    size_t la = dstr_len(a), lb = dstr_len(b);
    int cmp = memcmp(a, b, la < lb ? la : lb);
    if (cmp) return cmp;
    return la < lb ? -1 : la > lb;
}

static int item_cmp(const void *x, const void *y, void *arg) {
    const sort_item *a = x, *b = y;
    const sort_spec *sp = arg;
    int cmp;
    if (!sp->alpha) {
        if (a->score > b->score)
            cmp = 1;
        else if (a->score < b->score)
            cmp = -1;
        else
            cmp = bytes_cmp(a->ele, b->ele);
    } else if (sp->by_pattern) {
        if (!a->cmp || !b->cmp)
            cmp = a->cmp == b->cmp ? 0 : (a->cmp ? 1 : -1);
        else
            cmp = sp->store ? bytes_cmp(a->cmp, b->cmp) : strcoll(a->cmp, b->cmp);
    } else {
        cmp = sp->store ? bytes_cmp(a->ele, b->ele) : strcoll(a->ele, b->ele);
    }
    return sp->desc ? -cmp : cmp;
}

/* ---- Redis's partial sort --------------------------------------------------
 *
 * With BY and a LIMIT that does not cover everything, Redis sorts with
 * pqsort: Bentley and McIlroy's three-way quicksort (the BSD qsort) that
 * skips the partitions outside the wanted range. Elements with equal
 * weights end up in an order of its own, and SORT ... STORE is recomputed
 * by replicas, so it is reproduced here step for step: the same pivots
 * (median of three, ninther above 40 elements), the same swaps, insertion
 * sort below 7 elements. */

static void item_swap(sort_item *a, sort_item *b) {
    sort_item t = *a;
    *a = *b;
    *b = t;
}

static void items_swap_run(sort_item *a, sort_item *b, size_t n) {
    for (size_t i = 0; i < n; i++) item_swap(a + i, b + i);
}

static sort_item *med3(sort_item *a, sort_item *b, sort_item *c, const sort_spec *sp) {
    return item_cmp(a, b, (void *)sp) < 0
               ? (item_cmp(b, c, (void *)sp) < 0 ? b : (item_cmp(a, c, (void *)sp) < 0 ? c : a))
               : (item_cmp(b, c, (void *)sp) > 0 ? b : (item_cmp(a, c, (void *)sp) < 0 ? a : c));
}

/* Sort a[0..n) enough that positions [lo, hi] (pointers into the whole
 * vector) hold what a full sort would put there. */
static void pqsort_items(sort_item *a, size_t n, const sort_spec *sp, const sort_item *lo,
                         const sort_item *hi) {
    void *arg = (void *)sp;
    for (;;) {
        if (n < 7) {
            for (sort_item *pm = a + 1; pm < a + n; pm++)
                for (sort_item *pl = pm; pl > a && item_cmp(pl - 1, pl, arg) > 0; pl--)
                    item_swap(pl, pl - 1);
            return;
        }
        sort_item *pm = a + n / 2;
        if (n > 7) {
            sort_item *pl = a, *pn = a + n - 1;
            if (n > 40) {
                size_t d = n / 8;
                pl = med3(pl, pl + d, pl + 2 * d, sp);
                pm = med3(pm - d, pm, pm + d, sp);
                pn = med3(pn - 2 * d, pn - d, pn, sp);
            }
            pm = med3(pl, pm, pn, sp);
        }
        item_swap(a, pm);
        sort_item *pa = a + 1, *pb = a + 1, *pc = a + n - 1, *pd = a + n - 1;
        for (;;) {
            int r;
            while (pb <= pc && (r = item_cmp(pb, a, arg)) <= 0) {
                if (r == 0) item_swap(pa++, pb);
                pb++;
            }
            while (pb <= pc && (r = item_cmp(pc, a, arg)) >= 0) {
                if (r == 0) item_swap(pc, pd--);
                pc--;
            }
            if (pb > pc) break;
            item_swap(pb++, pc--);
        }
        sort_item *pn = a + n;
        size_t r = (size_t)(pa - a) < (size_t)(pb - pa) ? (size_t)(pa - a) : (size_t)(pb - pa);
        items_swap_run(a, pb - r, r);
        r = (size_t)(pd - pc) < (size_t)(pn - pd - 1) ? (size_t)(pd - pc) : (size_t)(pn - pd - 1);
        items_swap_run(pb, pn - r, r);
        r = (size_t)(pb - pa);
        if (r > 1 && !(hi < a || lo > a + r - 1)) pqsort_items(a, r, sp, lo, hi);
        r = (size_t)(pd - pc);
        if (r <= 1) return;
        a = pn - r;
        n = r;
        if (hi < a || lo > a + r - 1) return;
    }
}

/* The elements in the value's own order. */
static sort_item *load_items(obj *o, long *n) {
    size_t cap = 16, len = 0;
    sort_item *v = mem_alloc(sizeof(*v) * cap);
#define PUSH(p, l)                                                                             \
    do {                                                                                       \
        if (len == cap) v = mem_realloc(v, sizeof(*v) * (cap *= 2));                           \
        v[len++] = (sort_item){.ele = dstr_new((p), (l))};                                     \
    } while (0)
    if (o->type == OBJ_LIST) {
        list_iter li;
        lpl_elem e;
        list_iter_init(&li, o);
        while (list_iter_next(&li, &e)) {
            if (e.str) {
                PUSH(e.str, e.len);
            } else {
                char buf[32];
                int l = snprintf(buf, sizeof(buf), "%lld", e.ival);
                PUSH(buf, (size_t)l);
            }
        }
    } else if (o->type == OBJ_SET) {
        set_iter it;
        set_elem e;
        set_iter_init(o, &it);
        while (set_iter_next(&it, &e)) {
            char buf[32];
            size_t l;
            const char *p = set_elem_bytes(&e, buf, &l);
            PUSH(p, l);
        }
        set_iter_done(&it);
    } else {
        zset_iter it;
        zentry e;
        zset_iter_init(&it, o);
        while (zset_iter_next(&it, &e)) PUSH(e.m, e.len);
    }
#undef PUSH
    *n = (long)len;
    return v;
}

static void free_items(sort_item *v, long n) {
    for (long j = 0; j < n; j++) {
        dstr_free(v[j].ele);
        dstr_free(v[j].cmp);
    }
    mem_free(v);
}

/* Weigh every item; 0 on success, -1 when a numeric weight is bad. */
static int weigh(client *c, sort_item *v, long n, const dstr by, const sort_spec *sp) {
    int bad = 0;
    for (long j = 0; j < n; j++) {
        dstr w = NULL;
        if (by) {
            if (!pattern_value(c, by, v[j].ele, &w)) continue;
        }
        if (sp->alpha) {
            if (by) v[j].cmp = w;
            continue;
        }
        const char *p = by ? w : v[j].ele;
        char *end;
        errno = 0;
        v[j].score = strtod(p, &end);
        if (end[0] != '\0' || errno == ERANGE || isnan(v[j].score)) bad = 1;
        dstr_free(w);
    }
    return bad ? -1 : 0;
}

static void sort_generic(client *c, int readonly) {
    server *s = c->srv;
    sort_spec sp = {0};
    long long limit_start = 0, limit_count = -1;
    dstr by = NULL, store = NULL;
    int dontsort = 0, getops = 0;
    dstr *gets = mem_alloc(sizeof(dstr) * (size_t)c->argc);
    for (int j = 2; j < c->argc; j++) {
        int left = c->argc - j - 1;
        if (arg_is(c->argv[j], "asc")) {
            sp.desc = 0;
        } else if (arg_is(c->argv[j], "desc")) {
            sp.desc = 1;
        } else if (arg_is(c->argv[j], "alpha")) {
            sp.alpha = 1;
        } else if (arg_is(c->argv[j], "limit") && left >= 2) {
            if (arg_ll(c, c->argv[j + 1], &limit_start) < 0 ||
                arg_ll(c, c->argv[j + 2], &limit_count) < 0)
                goto out;
            j += 2;
        } else if (!readonly && arg_is(c->argv[j], "store") && left >= 1) {
            store = c->argv[++j];
        } else if (arg_is(c->argv[j], "by") && left >= 1) {
            by = c->argv[++j];
            dontsort = strchr(by, '*') == NULL;
        } else if (arg_is(c->argv[j], "get") && left >= 1) {
            gets[getops++] = c->argv[++j];
        } else {
            reply_error(c, ERR_SYNTAX);
            goto out;
        }
    }
    obj *o = db_lookup_read(s, c->db, c->argv[1]);
    if (o && o->type != OBJ_SET && o->type != OBJ_LIST && o->type != OBJ_ZSET) {
        reply_error(c, ERR_WRONGTYPE);
        goto out;
    }
    if (dontsort && o && o->type == OBJ_SET && store) {
        dontsort = 0;
        sp.alpha = 1;
        by = NULL;
    }
    if (o && o->type == OBJ_ZSET && o->enc != ENC_SKIPLIST) zset_convert(o, ENC_SKIPLIST);
    long n = 0;
    sort_item *v = o ? load_items(o, &n) : mem_alloc(sizeof(sort_item));

    /* LIMIT as Redis clamps it. */
    long long start = limit_start < 0 ? 0 : (limit_start > n ? n : limit_start);
    long long count = limit_count < -1 ? -1 : (limit_count > n ? n : limit_count);
    long long end = count < 0 ? n - 1 : start + count - 1;
    if (start >= n) {
        start = n - 1;
        end = n - 2;
    }
    if (end >= n) end = n - 1;

    if (dontsort && o && o->type != OBJ_SET && sp.desc) {
        for (long a = 0, b = n - 1; a < b; a++, b--) {
            sort_item t = v[a];
            v[a] = v[b];
            v[b] = t;
        }
    }
    int bad = 0;
    if (!dontsort) {
        sp.by_pattern = by != NULL;
        sp.store = store != NULL;
        bad = weigh(c, v, n, by, &sp);
        if (bad) {
            /* nothing sorted: the command fails */
        } else if (by && n > 0 && (start != 0 || end != n - 1)) {
            pqsort_items(v, (size_t)n, &sp, v + start, v + end);
        } else {
            qsort_r(v, (size_t)n, sizeof(*v), item_cmp, &sp);
        }
    }
    long long outlen = getops ? getops * (end - start + 1) : end - start + 1;
    if (bad) {
        reply_error(c, "ERR One or more scores can't be converted into double");
    } else if (!store) {
        reply_array(c, outlen);
        for (long long j = start; j <= end; j++) {
            if (!getops) reply_bulk_dstr(c, v[j].ele);
            for (int g = 0; g < getops; g++) {
                dstr val;
                if (pattern_value(c, gets[g], v[j].ele, &val)) {
                    reply_bulk_dstr(c, val);
                    dstr_free(val);
                } else {
                    reply_null(c);
                }
            }
        }
    } else {
        obj *list = list_obj_new(s);
        for (long long j = start; j <= end; j++) {
            if (!getops) list_obj_push(list, v[j].ele, dstr_len(v[j].ele), QL_TAIL);
            for (int g = 0; g < getops; g++) {
                dstr val;
                if (pattern_value(c, gets[g], v[j].ele, &val)) {
                    list_obj_push(list, val, dstr_len(val), QL_TAIL);
                    dstr_free(val);
                } else {
                    list_obj_push(list, "", 0, QL_TAIL);
                }
            }
        }
        if (outlen) {
            db_set(s, c->db, store, list, 0);
            notify_event(s, NOTIFY_LIST, "sortstore", store, c->db->id);
            server_dirty(c, outlen);
        } else {
            obj_free(list);
            if (db_delete(s, c->db, store)) {
                notify_event(s, NOTIFY_GENERIC, "del", store, c->db->id);
                server_dirty(c, 1);
            }
        }
        reply_int(c, outlen);
    }
    free_items(v, n);
out:
    mem_free(gets);
}

void cmd_sort(client *c) { sort_generic(c, 0); }
void cmd_sort_ro(client *c) { sort_generic(c, 1); }
