/* zset_pack: see zset_pack.h.
 *
 * Layout:
 *
 *   [u32 bytes][u32 count] { [varint mlen][member][tag][score payload] }*
 *
 * `bytes` counts the whole block, header included. The member length is a
 * LEB128 varint (one byte below 128). The score tag says how the score is
 * kept: 0 for zero, 1..8 for an integer in that many little-endian bytes
 * (sign-extended), 9 for the raw 8-byte double. Integral scores within
 * +-2^62 use the integer forms, so a small sorted set of timestamps or
 * counters costs about what Redis's listpack costs (a byte of length, the
 * member, one to nine bytes of score), and reading a score back is exact
 * in every case. Since -0.0 is integral it is kept as 0, which is also
 * what Redis's listpack does, so ZSCORE answers "0" for it as Redis does.
 *
 * There is no back-link per element: the few operations that walk
 * backwards (ZREVRANGE, ZPOPMAX on a small set) decode the pack into an
 * array first (zpack_view), which costs the same O(n) as Redis's listpack
 * walk. */
#include "core/zset_pack.h"

#include <string.h>

#include "core/mem.h"
#include "core/skiplist.h"

#define TAG_DOUBLE 9
#define INT_LIMIT 4611686018427387904.0 /* 2^62 */

static inline uint32_t rd32(const uint8_t *p) {
    uint32_t v;
    memcpy(&v, p, 4);
    return v;
}

static inline void wr32(uint8_t *p, uint32_t v) { memcpy(p, &v, 4); }

size_t zpack_bytes(const uint8_t *zp) { return rd32(zp); }
size_t zpack_count(const uint8_t *zp) { return rd32(zp + 4); }

uint8_t *zpack_new(void) {
    uint8_t *zp = mem_alloc(ZPACK_HEADER);
    wr32(zp, ZPACK_HEADER);
    wr32(zp + 4, 0);
    return zp;
}

void zpack_free(uint8_t *zp) { mem_free(zp); }

uint8_t *zpack_dup(const uint8_t *zp) {
    size_t n = zpack_bytes(zp);
    uint8_t *copy = mem_alloc(n);
    memcpy(copy, zp, n);
    return copy;
}

int zpack_score_is_integer(double score, long long *ll) {
    if (!(score >= -INT_LIMIT && score <= INT_LIMIT)) return 0;
    long long v = (long long)score;
    if ((double)v != score) return 0;
    *ll = v;
    return 1;
}

/* ---- element encoding ------------------------------------------------- */

static size_t varint_put(uint8_t *p, size_t v) {
    size_t n = 0;
    while (v >= 0x80) {
        p[n++] = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    p[n++] = (uint8_t)v;
    return n;
}

static inline size_t varint_get(const uint8_t *p, size_t *v) {
    if (p[0] < 0x80) {
        *v = p[0];
        return 1;
    }
    size_t r = 0, n = 0;
    int shift = 0;
    do {
        r |= (size_t)(p[n] & 0x7F) << shift;
        shift += 7;
    } while (p[n++] & 0x80);
    *v = r;
    return n;
}

/* Encode the score; returns its size (1..9 bytes plus the tag). */
static size_t score_put(uint8_t *p, double score) {
    long long ll;
    if (zpack_score_is_integer(score, &ll)) {
        if (ll == 0) {
            p[0] = 0;
            return 1;
        }
        int n = 1;
        while (n < 8) {
            long long lim = 1LL << (8 * n - 1);
            if (ll >= -lim && ll < lim) break;
            n++;
        }
        p[0] = (uint8_t)n;
        unsigned long long u = (unsigned long long)ll;
        for (int i = 0; i < n; i++) p[1 + i] = (uint8_t)(u >> (8 * i));
        return (size_t)n + 1;
    }
    p[0] = TAG_DOUBLE;
    memcpy(p + 1, &score, 8);
    return 9;
}

static inline size_t score_get(const uint8_t *p, double *score) {
    uint8_t tag = p[0];
    if (tag == 0) {
        *score = 0;
        return 1;
    }
    if (tag == TAG_DOUBLE) {
        memcpy(score, p + 1, 8);
        return 9;
    }
    unsigned long long u = 0;
    for (int i = 0; i < tag; i++) u |= (unsigned long long)p[1 + i] << (8 * i);
    if (tag < 8 && (u >> (8 * tag - 1)) & 1) u |= ~0ULL << (8 * tag); /* sign-extend */
    *score = (double)(long long)u;
    return (size_t)tag + 1;
}

size_t zpack_next(const uint8_t *zp, size_t off, zentry *e) {
    size_t len;
    const uint8_t *p = zp + off;
    p += varint_get(p, &len);
    e->m = (const char *)p;
    e->len = len;
    p += len;
    p += score_get(p, &e->score);
    return (size_t)(p - zp);
}

size_t zpack_view(const uint8_t *zp, zentry *out) {
    size_t end = zpack_bytes(zp), off = ZPACK_HEADER, n = 0;
    while (off < end) off = zpack_next(zp, off, &out[n++]);
    return n;
}

size_t zpack_find(const uint8_t *zp, const char *m, size_t len, double *score) {
    size_t end = zpack_bytes(zp), off = ZPACK_HEADER;
    while (off < end) {
        size_t elen;
        const uint8_t *p = zp + off;
        size_t h = varint_get(p, &elen);
        if (elen == len && memcmp(p + h, m, len) == 0) {
            if (score) score_get(p + h + elen, score);
            return off;
        }
        /* Skip the score without decoding it. */
        const uint8_t *s = p + h + elen;
        size_t slen = s[0] == 0 ? 1 : (s[0] == TAG_DOUBLE ? 9 : (size_t)s[0] + 1);
        off = (size_t)(s + slen - zp);
    }
    return 0;
}

long zpack_rank(const uint8_t *zp, const char *m, size_t len) {
    size_t end = zpack_bytes(zp), off = ZPACK_HEADER;
    long rank = 0;
    while (off < end) {
        zentry e;
        off = zpack_next(zp, off, &e);
        if (e.len == len && memcmp(e.m, m, len) == 0) return rank;
        rank++;
    }
    return -1;
}

/* ---- changes ---------------------------------------------------------- */

/* Open a gap of `n` bytes at `off`; returns the (moved) pack. */
static uint8_t *make_room(uint8_t *zp, size_t off, size_t n) {
    size_t bytes = zpack_bytes(zp);
    zp = mem_realloc(zp, bytes + n);
    memmove(zp + off + n, zp + off, bytes - off);
    wr32(zp, (uint32_t)(bytes + n));
    return zp;
}

static uint8_t *insert_at(uint8_t *zp, size_t off, double score, const char *m, size_t len) {
    uint8_t hdr[10], sc[9];
    size_t hn = varint_put(hdr, len);
    size_t sn = score_put(sc, score);
    zp = make_room(zp, off, hn + len + sn);
    memcpy(zp + off, hdr, hn);
    if (len) memcpy(zp + off + hn, m, len);
    memcpy(zp + off + hn + len, sc, sn);
    wr32(zp + 4, rd32(zp + 4) + 1);
    return zp;
}

uint8_t *zpack_insert(uint8_t *zp, double score, const char *m, size_t len) {
    if (score == 0) score = 0; /* -0 -> 0 */
    size_t end = zpack_bytes(zp), off = ZPACK_HEADER;
    while (off < end) {
        zentry e;
        size_t next = zpack_next(zp, off, &e);
        if (e.score > score || (e.score == score && zsl_member_cmp(e.m, e.len, m, len) > 0))
            break;
        off = next;
    }
    return insert_at(zp, off, score, m, len);
}

uint8_t *zpack_append(uint8_t *zp, double score, const char *m, size_t len) {
    if (score == 0) score = 0;
    return insert_at(zp, zpack_bytes(zp), score, m, len);
}

/* Remove bytes [from, to) holding `count` elements. */
static uint8_t *cut(uint8_t *zp, size_t from, size_t to, size_t count) {
    size_t bytes = zpack_bytes(zp);
    memmove(zp + from, zp + to, bytes - to);
    wr32(zp, (uint32_t)(bytes - (to - from)));
    wr32(zp + 4, (uint32_t)(zpack_count(zp) - count));
    return mem_realloc(zp, bytes - (to - from));
}

uint8_t *zpack_delete_at(uint8_t *zp, size_t off) {
    zentry e;
    size_t next = zpack_next(zp, off, &e);
    return cut(zp, off, next, 1);
}

uint8_t *zpack_delete_ranks(uint8_t *zp, size_t start, size_t end) {
    size_t bytes = zpack_bytes(zp), off = ZPACK_HEADER, rank = 0, from = 0;
    zentry e;
    while (off < bytes && rank < start) {
        off = zpack_next(zp, off, &e);
        rank++;
    }
    from = off;
    while (off < bytes && rank <= end) {
        off = zpack_next(zp, off, &e);
        rank++;
    }
    return cut(zp, from, off, rank - start);
}
