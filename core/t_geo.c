/* t_geo: the geo commands, on top of sorted sets (Redis's geo.c).
 *
 * A geo set is a plain sorted set whose scores are 52-bit geohashes
 * (geohash.c). What replicas and clients must see as Redis 7.0 makes it:
 *   - GEOADD is ZADD with computed scores: it runs as ZADD, is propagated
 *     as `ZADD key [NX|XX] [CH] score member ...` and notifies "zadd";
 *   - GEORADIUS/GEORADIUSBYMEMBER with STORE/STOREDIST and GEOSEARCHSTORE
 *     are propagated as themselves (the replica searches its identical
 *     set); the destination is a new sorted set of the results (hash or
 *     distance as score, listpack when it fits), "georadiusstore" /
 *     "geosearchstore", one change per result; no result deletes it;
 *   - coordinates print as Redis's long doubles (%.17Lf, trailing zeros
 *     dropped), distances with four decimals;
 *   - results come in the order Redis finds them (cell by cell, score
 *     order within a cell) unless sorted; ASC/DESC use qsort as Redis does
 *     for a full sort, and with COUNT (the closest first unless ANY) below
 *     the number found, Redis's own partial sort, whose handling of equal
 *     distances decides which points make the cut. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/commands.h"
#include "core/db.h"
#include "core/geohash.h"
#include "core/mem.h"
#include "core/notify.h"
#include "core/reply.h"
#include "core/t_zset.h"
#include "core/util.h"
#include "core/zset_cmds.h"

/* ---- arguments -------------------------------------------------------------- */

static int arg_lonlat(client *c, dstr *argv, double xy[2]) {
    for (int i = 0; i < 2; i++)
        if (arg_double(c, argv[i], &xy[i]) < 0) return -1;
    if (xy[0] < GEO_LONG_MIN || xy[0] > GEO_LONG_MAX || xy[1] < GEO_LAT_MIN ||
        xy[1] > GEO_LAT_MAX) {
        reply_errorf(c, "ERR invalid longitude,latitude pair %f,%f", xy[0], xy[1]);
        return -1;
    }
    return 0;
}

static double arg_unit(client *c, const dstr u) {
    if (arg_is(u, "m")) return 1;
    if (arg_is(u, "km")) return 1000;
    if (arg_is(u, "ft")) return 0.3048;
    if (arg_is(u, "mi")) return 1609.34;
    reply_error(c, "ERR unsupported unit provided. please use M, KM, FT, MI");
    return -1;
}

static int arg_float_msg(client *c, const dstr arg, double *out, const char *msg) {
    if (!util_str_to_d(arg, dstr_len(arg), out)) {
        reply_error(c, msg);
        return -1;
    }
    return 0;
}

/* <radius> <unit> */
static int arg_radius(client *c, dstr *argv, geo_shape *shape) {
    double r;
    if (arg_float_msg(c, argv[0], &r, "ERR need numeric radius") < 0) return -1;
    if (r < 0) {
        reply_error(c, "ERR radius cannot be negative");
        return -1;
    }
    shape->radius = r;
    shape->conversion = arg_unit(c, argv[1]);
    if (shape->conversion < 0) return -1;
    shape->type = GEO_CIRCLE;
    return 0;
}

/* <width> <height> <unit> */
static int arg_box(client *c, dstr *argv, geo_shape *shape) {
    double w, h;
    if (arg_float_msg(c, argv[0], &w, "ERR need numeric width") < 0 ||
        arg_float_msg(c, argv[1], &h, "ERR need numeric height") < 0)
        return -1;
    if (h < 0 || w < 0) {
        reply_error(c, "ERR height or width cannot be negative");
        return -1;
    }
    shape->width = w;
    shape->height = h;
    shape->conversion = arg_unit(c, argv[2]);
    if (shape->conversion < 0) return -1;
    shape->type = GEO_BOX;
    return 0;
}

static void reply_distance(client *c, double d) {
    char buf[128];
    int n = snprintf(buf, sizeof(buf), "%.4f", d);
    reply_bulk(c, buf, (size_t)n);
}

static void reply_coord(client *c, double v) {
    char buf[UTIL_LD_STR_SIZE];
    int n = util_ld_to_str(buf, sizeof(buf), (long double)v);
    reply_human_double(c, buf, (size_t)n);
}

static obj *geo_lookup(client *c, const dstr key, int *bad) {
    obj *o = db_lookup_read(c->srv, c->db, key);
    *bad = zset_wrong_type(c, o);
    return *bad ? NULL : o;
}

/* ---- GEOADD GEODIST GEOHASH GEOPOS ------------------------------------------ */

/* The position of a member: 1, or 0 when the set or the member is missing. */
static int member_xy(const obj *o, const dstr member, double xy[2]) {
    double score;
    if (!o || !zset_score(o, member, &score)) return 0;
    return geo_decode_score(score, xy);
}

void cmd_geoadd(client *c) {
    int xx = 0, nx = 0, longidx = 2;
    for (; longidx < c->argc; longidx++) {
        if (arg_is(c->argv[longidx], "nx"))
            nx = 1;
        else if (arg_is(c->argv[longidx], "xx"))
            xx = 1;
        else if (!arg_is(c->argv[longidx], "ch"))
            break;
    }
    if ((c->argc - longidx) % 3 || (xx && nx)) {
        reply_error(c, ERR_SYNTAX);
        return;
    }
    int elements = (c->argc - longidx) / 3;
    int argc = longidx + elements * 2;
    /* The scores first: a bad pair refuses the whole command. */
    char (*scores)[UTIL_LONG_STR_SIZE] = mem_alloc((size_t)(elements ? elements : 1) *
                                                   sizeof(*scores));
    for (int i = 0; i < elements; i++) {
        double xy[2];
        if (arg_lonlat(c, c->argv + longidx + i * 3, xy) < 0) {
            mem_free(scores);
            return;
        }
        geo_bits hash;
        geo_encode_wgs84(xy[0], xy[1], GEO_STEP_MAX, &hash);
        snprintf(scores[i], sizeof(scores[i]), "%llu", (unsigned long long)geo_align52(hash));
    }
    /* ZADD key [options] score member ...: what runs and what propagates. */
    dstr *argv = mem_alloc(sizeof(dstr) * (size_t)argc);
    argv[0] = dstr_from("zadd");
    for (int i = 1; i < longidx; i++) argv[i] = dstr_dup(c->argv[i]);
    for (int i = 0; i < elements; i++) {
        argv[longidx + i * 2] = dstr_from(scores[i]);
        argv[longidx + i * 2 + 1] = dstr_dup(c->argv[longidx + i * 3 + 2]);
    }
    mem_free(scores);
    client_set_argv(c, argv, argc);
    cmd_zadd(c);
}

void cmd_geodist(client *c) {
    double to_meter = 1;
    if (c->argc == 5) {
        to_meter = arg_unit(c, c->argv[4]);
        if (to_meter < 0) return;
    } else if (c->argc > 5) {
        reply_error(c, ERR_SYNTAX);
        return;
    }
    int bad;
    obj *o = geo_lookup(c, c->argv[1], &bad);
    if (bad) return;
    double a[2], b[2];
    if (!member_xy(o, c->argv[2], a) || !member_xy(o, c->argv[3], b)) {
        reply_null(c);
        return;
    }
    reply_distance(c, geo_distance(a[0], a[1], b[0], b[1]) / to_meter);
}

/* GEOHASH and GEOPOS: one reply per member named after the key, made by
 * `one` from the member's coordinates (NULL for a member that is not
 * there); nothing more when the key holds another type. */
static void reply_per_member(client *c, void (*one)(client *c, const double *xy)) {
    int bad;
    obj *o = geo_lookup(c, c->argv[1], &bad);
    if (bad) return;
    reply_array(c, c->argc - 2);
    for (int j = 2; j < c->argc; j++) {
        double xy[2];
        one(c, member_xy(o, c->argv[j], xy) ? xy : NULL);
    }
}

static void reply_geohash(client *c, const double *xy) {
    static const char alphabet[] = "0123456789bcdefghjkmnpqrstuvwxyz";
    if (!xy) {
        reply_null(c);
        return;
    }
    /* Our latitude range is -85..85; a standard geohash uses -90..90:
     * decode, then encode again with the standard ranges. */
    geo_range lon = {-180, 180}, lat = {-90, 90};
    geo_bits hash;
    geo_encode(&lon, &lat, xy[0], xy[1], 26, &hash);
    char buf[11];
    for (int i = 0; i < 11; i++) {
        /* 52 bits make 10 characters; the 11th is always '0'. */
        int idx = i == 10 ? 0 : (int)((hash.bits >> (52 - ((i + 1) * 5))) & 0x1f);
        buf[i] = alphabet[idx];
    }
    reply_bulk(c, buf, 11);
}

static void reply_geopos(client *c, const double *xy) {
    if (!xy) {
        reply_null_array(c);
        return;
    }
    reply_array(c, 2);
    reply_coord(c, xy[0]);
    reply_coord(c, xy[1]);
}

void cmd_geohash(client *c) { reply_per_member(c, reply_geohash); }

void cmd_geopos(client *c) { reply_per_member(c, reply_geopos); }

/* ---- searches ----------------------------------------------------------------- */

typedef struct geo_point {
    double lon, lat, dist, score;
    dstr member;
} geo_point;

typedef struct geo_found {
    geo_point *p;
    size_t used, cap;
} geo_found;

static void found_add(geo_found *f, const geo_point *p) {
    if (f->used == f->cap) {
        f->cap = f->cap ? f->cap * 2 : 16;
        f->p = mem_realloc(f->p, f->cap * sizeof(geo_point));
    }
    f->p[f->used++] = *p;
}

static void found_free(geo_found *f) {
    for (size_t i = 0; i < f->used; i++)
        if (f->p[i].member) dstr_free(f->p[i].member);
    mem_free(f->p);
}

static int in_shape(const geo_shape *shape, double score, geo_point *p) {
    double xy[2];
    geo_decode_score(score, xy);
    int in = shape->type == GEO_CIRCLE
                 ? geo_in_radius(shape->xy[0], shape->xy[1], xy[0], xy[1],
                                 shape->radius * shape->conversion, &p->dist)
                 : geo_in_box(shape->width * shape->conversion,
                              shape->height * shape->conversion, shape->xy[0], shape->xy[1],
                              xy[0], xy[1], &p->dist);
    p->lon = xy[0];
    p->lat = xy[1];
    p->score = score;
    return in;
}

/* The members whose scores lie in [min, max) and inside the shape, in
 * score order, stopping at `limit` found (0: no limit). */
static void points_in_cell(const obj *zs, geo_bits cell, const geo_shape *shape, geo_found *f,
                           size_t limit) {
    geo_bits next = cell;
    next.bits++;
    zscore_range r = {(double)geo_align52(cell), (double)geo_align52(next), 0, 1};
    zset_cursor cur;
    zcur_open(&cur, zs);
    if (zcur_seek_score(&cur, &r, 0)) {
        for (; zcur_valid(&cur); zcur_next(&cur)) {
            zentry e;
            zcur_get(&cur, &e);
            if (!zscore_lte_max(e.score, &r)) break;
            geo_point p;
            if (in_shape(shape, e.score, &p)) {
                p.member = dstr_new(e.m, e.len);
                found_add(f, &p);
            }
            if (f->used && limit && f->used >= limit) break;
        }
    }
    zcur_close(&cur);
}

static void points_in_shape(const obj *zs, const geo_shape *shape, geo_found *f, size_t limit) {
    geo_cells cells = geo_cells_for_shape(shape);
    geo_bits todo[9];
    todo[0] = cells.hash;
    memcpy(todo + 1, cells.neighbors, sizeof(cells.neighbors));
    int last = 0;
    for (int i = 0; i < 9; i++) {
        if (!todo[i].bits && !todo[i].step) continue;
        /* Huge radii make neighbours repeat: skip a cell equal to the last
         * one scanned (Redis compares only after a neighbour was). */
        if (last && todo[i].bits == todo[last].bits && todo[i].step == todo[last].step) continue;
        if (f->used && limit && f->used >= limit) break;
        points_in_cell(zs, todo[i], shape, f, limit);
        last = i;
    }
}

static int by_dist_asc(const void *a, const void *b) {
    const geo_point *x = a, *y = b;
    return x->dist > y->dist ? 1 : x->dist == y->dist ? 0 : -1;
}

static int by_dist_desc(const void *a, const void *b) { return by_dist_asc(b, a); }

/* ---- Redis's partial sort -------------------------------------------------
 * With COUNT below the number found, Redis sorts only the first COUNT
 * places with its pqsort (Bentley and McIlroy's quicksort, skipping the
 * partitions outside the wanted range). Which of several equally distant
 * points make the cut depends on its exact swaps, so they are reproduced
 * here, on indices of the array: sort g[s, s + n) as far as places [l, r]
 * need. */
typedef int (*geo_cmp)(const void *, const void *);

static void pq_swap(geo_point *g, size_t i, size_t j) {
    geo_point t = g[i];
    g[i] = g[j];
    g[j] = t;
}

static void pq_vecswap(geo_point *g, size_t i, size_t j, size_t n) {
    for (size_t k = 0; k < n; k++) pq_swap(g, i + k, j + k);
}

static size_t pq_med3(geo_point *g, size_t a, size_t b, size_t c, geo_cmp cmp) {
    if (cmp(&g[a], &g[b]) < 0) return cmp(&g[b], &g[c]) < 0 ? b : (cmp(&g[a], &g[c]) < 0 ? c : a);
    return cmp(&g[b], &g[c]) > 0 ? b : (cmp(&g[a], &g[c]) < 0 ? a : c);
}

static size_t pq_min(size_t a, size_t b) { return a < b ? a : b; }

static void pqsort_range(geo_point *g, size_t s, size_t n, geo_cmp cmp, size_t l, size_t r) {
    for (;;) {
        if (n < 7) {
            for (size_t m = s + 1; m < s + n; m++)
                for (size_t k = m; k > s && cmp(&g[k - 1], &g[k]) > 0; k--) pq_swap(g, k, k - 1);
            return;
        }
        size_t pm = s + n / 2;
        if (n > 7) {
            size_t pl = s, pn = s + n - 1;
            if (n > 40) {
                size_t d = n / 8;
                pl = pq_med3(g, pl, pl + d, pl + 2 * d, cmp);
                pm = pq_med3(g, pm - d, pm, pm + d, cmp);
                pn = pq_med3(g, pn - 2 * d, pn - d, pn, cmp);
            }
            pm = pq_med3(g, pl, pm, pn, cmp);
        }
        pq_swap(g, s, pm);
        /* [s+1, pa) and (pd, s+n) gather keys equal to the pivot g[s];
         * pb and pc close in from both ends. */
        size_t pa = s + 1, pc = s + n - 1;
        size_t pb = pa, pd = pc;
        for (;;) {
            int c;
            while (pb <= pc && (c = cmp(&g[pb], &g[s])) <= 0) {
                if (c == 0) pq_swap(g, pa++, pb);
                pb++;
            }
            while (pb <= pc && (c = cmp(&g[pc], &g[s])) >= 0) {
                if (c == 0) pq_swap(g, pc, pd--);
                pc--;
            }
            if (pb > pc) break;
            pq_swap(g, pb++, pc--);
        }
        size_t pn = s + n;
        size_t k = pq_min(pa - s, pb - pa);
        pq_vecswap(g, s, pb - k, k);
        k = pq_min(pd - pc, pn - pd - 1);
        pq_vecswap(g, pb, pn - k, k);
        /* The smaller side recursively, the larger by looping, each only
         * when it overlaps the wanted places. */
        if ((k = pb - pa) > 1 && !(r < s || l >= s + k)) pqsort_range(g, s, k, cmp, l, r);
        if ((k = pd - pc) <= 1) return;
        s = pn - k;
        n = k;
        if (r < s || l >= s + n) return;
    }
}

enum { GEO_COORDS = 1, GEO_MEMBER = 2, GEO_NOSTORE = 4, GEO_SEARCH = 8, GEO_SEARCHSTORE = 16 };
enum { SORT_NONE, SORT_ASC, SORT_DESC };

typedef struct geo_opts {
    int withdist, withhash, withcoord, any, sort;
    long long count;
    int frommember, fromloc, byradius, bybox;
    dstr storekey;
    int storedist;
} geo_opts;

/* FROMMEMBER's position: 0, or -1 when the member is missing (replied). */
static int member_position(client *c, const obj *zs, const dstr member, double xy[2]) {
    if (member_xy(zs, member, xy)) return 0;
    reply_error(c, "ERR could not decode requested zset member");
    return -1;
}

/* The options after the fixed arguments, Redis's loop option by option
 * (so the first bad one gets its own error). */
static int parse_options(client *c, int base, int flags, const obj *zs, geo_shape *shape,
                         geo_opts *o) {
    int remaining = c->argc - base;
    for (int i = 0; i < remaining; i++) {
        dstr a = c->argv[base + i];
        dstr *next = c->argv + base + i + 1;
        if (arg_is(a, "withdist")) {
            o->withdist = 1;
        } else if (arg_is(a, "withhash")) {
            o->withhash = 1;
        } else if (arg_is(a, "withcoord")) {
            o->withcoord = 1;
        } else if (arg_is(a, "any")) {
            o->any = 1;
        } else if (arg_is(a, "asc")) {
            o->sort = SORT_ASC;
        } else if (arg_is(a, "desc")) {
            o->sort = SORT_DESC;
        } else if (arg_is(a, "count") && i + 1 < remaining) {
            if (arg_ll(c, next[0], &o->count) < 0) return -1;
            if (o->count <= 0) {
                reply_error(c, "ERR COUNT must be > 0");
                return -1;
            }
            i++;
        } else if ((arg_is(a, "store") || arg_is(a, "storedist")) && i + 1 < remaining &&
                   !(flags & (GEO_NOSTORE | GEO_SEARCH))) {
            o->storekey = next[0];
            o->storedist = arg_is(a, "storedist");
            i++;
        } else if (arg_is(a, "storedist") && (flags & GEO_SEARCHSTORE)) {
            o->storedist = 1;
        } else if (arg_is(a, "frommember") && i + 1 < remaining && (flags & GEO_SEARCH) &&
                   !o->fromloc) {
            /* Without a source the parsing goes on to find the right error. */
            if (zs && member_position(c, zs, next[0], shape->xy) < 0) return -1;
            o->frommember = 1;
            i++;
        } else if (arg_is(a, "fromlonlat") && i + 2 < remaining && (flags & GEO_SEARCH) &&
                   !o->frommember) {
            if (arg_lonlat(c, next, shape->xy) < 0) return -1;
            o->fromloc = 1;
            i += 2;
        } else if (arg_is(a, "byradius") && i + 2 < remaining && (flags & GEO_SEARCH) &&
                   !o->bybox) {
            if (arg_radius(c, next, shape) < 0) return -1;
            o->byradius = 1;
            i += 2;
        } else if (arg_is(a, "bybox") && i + 3 < remaining && (flags & GEO_SEARCH) &&
                   !o->byradius) {
            if (arg_box(c, next, shape) < 0) return -1;
            o->bybox = 1;
            i += 3;
        } else {
            reply_error(c, ERR_SYNTAX);
            return -1;
        }
    }
    return 0;
}

/* Check the combination, as Redis does after parsing. */
static int check_options(client *c, int flags, const geo_opts *o) {
    if (o->storekey && (o->withdist || o->withhash || o->withcoord)) {
        reply_errorf(c, "ERR %s is not compatible with WITHDIST, WITHHASH and WITHCOORD options",
                     flags & GEO_SEARCHSTORE ? "GEOSEARCHSTORE" : "STORE option in GEORADIUS");
        return -1;
    }
    if ((flags & GEO_SEARCH) && !(o->frommember || o->fromloc)) {
        reply_errorf(c, "ERR exactly one of FROMMEMBER or FROMLONLAT can be specified for %s",
                     c->argv[0]);
        return -1;
    }
    if ((flags & GEO_SEARCH) && !(o->byradius || o->bybox)) {
        reply_errorf(c, "ERR exactly one of BYRADIUS and BYBOX can be specified for %s",
                     c->argv[0]);
        return -1;
    }
    if (o->any && !o->count) {
        reply_error(c, "ERR the ANY argument requires COUNT argument");
        return -1;
    }
    return 0;
}

static void reply_points(client *c, const geo_opts *o, geo_found *f, size_t n, double conv) {
    int extra = o->withdist + o->withcoord + o->withhash;
    reply_array(c, (long long)n);
    for (size_t i = 0; i < n; i++) {
        geo_point *p = &f->p[i];
        if (extra) reply_array(c, extra + 1);
        reply_bulk_dstr(c, p->member);
        if (o->withdist) reply_distance(c, p->dist / conv);
        if (o->withhash) reply_int(c, (long long)p->score);
        if (o->withcoord) {
            reply_array(c, 2);
            reply_coord(c, p->lon);
            reply_coord(c, p->lat);
        }
    }
}

static void store_points(client *c, int flags, const geo_opts *o, geo_found *f, size_t n,
                         double conv) {
    server *s = c->srv;
    if (!n) {
        if (notify_delete(s, c->db, o->storekey)) server_dirty(c, 1);
        reply_int(c, 0);
        return;
    }
    obj *dst = zset_new_big(n);
    for (size_t i = 0; i < n; i++) {
        geo_point *p = &f->p[i];
        zset_insert_new(dst, o->storedist ? p->dist / conv : p->score, p->member);
        p->member = NULL;
    }
    zset_convert_to_small_if_fits(&s->cfg, dst);
    db_set(s, c->db, o->storekey, dst, 0);
    notify_event(s, NOTIFY_ZSET, flags & GEO_SEARCH ? "geosearchstore" : "georadiusstore",
                 o->storekey, c->db->id);
    server_dirty(c, (long long)n);
    reply_int(c, (long long)n);
}

static void georadius_generic(client *c, int src, int flags) {
    int bad, base;
    obj *zs = geo_lookup(c, c->argv[src], &bad);
    if (bad) return;
    geo_shape shape = {0};
    geo_opts o = {0};
    if (flags & GEO_COORDS) {
        base = 6;
        if (arg_lonlat(c, c->argv + 2, shape.xy) < 0 || arg_radius(c, c->argv + 4, &shape) < 0)
            return;
    } else if (flags & GEO_MEMBER) {
        base = 5;
        if (zs && (member_position(c, zs, c->argv[2], shape.xy) < 0 ||
                   arg_radius(c, c->argv + 3, &shape) < 0))
            return;
    } else {
        base = flags & GEO_SEARCHSTORE ? 3 : 2;
        if (flags & GEO_SEARCHSTORE) o.storekey = c->argv[1];
    }
    if (parse_options(c, base, flags, zs, &shape, &o) < 0 || check_options(c, flags, &o) < 0)
        return;
    if (!zs) {
        if (o.storekey) {
            if (notify_delete(c->srv, c->db, o.storekey)) server_dirty(c, 1);
            reply_int(c, 0);
        } else {
            reply_array(c, 0);
        }
        return;
    }
    /* COUNT returns the closest unless ANY takes the first found. */
    if (o.count && o.sort == SORT_NONE && !o.any) o.sort = SORT_ASC;
    geo_found f = {0};
    points_in_shape(zs, &shape, &f, o.any ? (size_t)o.count : 0);
    if (f.used == 0 && !o.storekey) {
        reply_array(c, 0);
        found_free(&f);
        return;
    }
    size_t n = o.count && f.used > (size_t)o.count ? (size_t)o.count : f.used;
    geo_cmp cmp = o.sort == SORT_ASC ? by_dist_asc : by_dist_desc;
    if (o.sort != SORT_NONE && n == f.used && f.used > 1)
        qsort(f.p, f.used, sizeof(geo_point), cmp);
    else if (o.sort != SORT_NONE && f.used > 1)
        pqsort_range(f.p, 0, f.used, cmp, 0, n - 1);
    if (o.storekey)
        store_points(c, flags, &o, &f, n, shape.conversion);
    else
        reply_points(c, &o, &f, n, shape.conversion);
    found_free(&f);
}

void cmd_georadius(client *c) { georadius_generic(c, 1, GEO_COORDS); }
void cmd_georadius_ro(client *c) { georadius_generic(c, 1, GEO_COORDS | GEO_NOSTORE); }
void cmd_georadiusbymember(client *c) { georadius_generic(c, 1, GEO_MEMBER); }
void cmd_georadiusbymember_ro(client *c) {
    georadius_generic(c, 1, GEO_MEMBER | GEO_NOSTORE);
}
void cmd_geosearch(client *c) { georadius_generic(c, 1, GEO_SEARCH); }
void cmd_geosearchstore(client *c) { georadius_generic(c, 2, GEO_SEARCH | GEO_SEARCHSTORE); }
