/* lpack_list: see lpack_list.h.
 *
 * Byte layout of one entry. The first header byte says everything:
 *
 *   0xxxxxxx                      integer 0..127, no payload
 *   10LLLLLL                      string of 0..63 bytes follows
 *   110xxxxx xxxxxxxx             13-bit signed integer (-4096..4095)
 *   1110LLLL LLLLLLLL             string of 64..4095 bytes follows
 *   11110000 L L L L              string, 32-bit little-endian length
 *   11110001 / 0010 / 0011 / 0100 16, 24, 32 or 64-bit little-endian
 *                                 signed integer follows
 *
 * then backlen: n = size of header + payload, 7 bits per byte, the byte
 * nearest the next entry holding the lowest bits, every byte but the
 * farthest one flagged with 0x80 ("more bytes before me"). Reading it from
 * the end of an entry gives that entry's start, which is how runs are
 * walked backwards (RPOP, LRANGE with negative indexes, LREM from the tail).
 *
 * Every element has exactly one encoding (the smallest that fits), so two
 * entries hold the same element if and only if their bytes are equal: that
 * is what makes lpl_matches a memcmp. */
#include "core/lpack_list.h"

#include <string.h>

#include "core/util.h"

enum {
    HDR_STR6 = 0x80,
    HDR_INT13 = 0xC0,
    HDR_STR12 = 0xE0,
    HDR_STR32 = 0xF0,
    HDR_INT16 = 0xF1,
    HDR_INT24 = 0xF2,
    HDR_INT32 = 0xF3,
    HDR_INT64 = 0xF4,
};

static uint8_t backlen_size(size_t n) {
    /* Listpack's thresholds, which are one below the powers of two: an
     * entry of exactly 16383 bytes takes a 3-byte back-length there, and
     * nodes must stay byte-compatible with what Redis reads. */
    if (n < 128) return 1;
    if (n < 16383) return 2;
    if (n < 2097151) return 3;
    if (n < 268435455) return 4;
    return 5;
}

static void put_le(unsigned char *p, uint64_t v, int bytes) {
    for (int i = 0; i < bytes; i++) p[i] = (unsigned char)(v >> (8 * i));
}

static long long get_le_signed(const unsigned char *p, int bytes) {
    uint64_t u = 0;
    for (int i = 0; i < bytes; i++) u |= (uint64_t)p[i] << (8 * i);
    if (bytes < 8 && (u & (1ULL << (8 * bytes - 1)))) u |= ~0ULL << (8 * bytes);
    return (long long)u;
}

static void prepare_int(lpl_entry *e, long long v) {
    e->str = NULL;
    e->len = 0;
    e->ival = v;
    if (v >= 0 && v <= 127) {
        e->head[0] = (unsigned char)v;
        e->headlen = 1;
    } else if (v >= -4096 && v <= 4095) {
        uint16_t u = (uint16_t)((uint64_t)v & 0x1FFF);
        e->head[0] = (unsigned char)(HDR_INT13 | (u >> 8));
        e->head[1] = (unsigned char)(u & 0xFF);
        e->headlen = 2;
    } else if (v >= INT16_MIN && v <= INT16_MAX) {
        e->head[0] = HDR_INT16;
        put_le(e->head + 1, (uint64_t)v, 2);
        e->headlen = 3;
    } else if (v >= -(1LL << 23) && v < (1LL << 23)) {
        e->head[0] = HDR_INT24;
        put_le(e->head + 1, (uint64_t)v, 3);
        e->headlen = 4;
    } else if (v >= INT32_MIN && v <= INT32_MAX) {
        e->head[0] = HDR_INT32;
        put_le(e->head + 1, (uint64_t)v, 4);
        e->headlen = 5;
    } else {
        e->head[0] = HDR_INT64;
        put_le(e->head + 1, (uint64_t)v, 8);
        e->headlen = 9;
    }
    e->backlen_len = backlen_size(e->headlen);
    e->total = (size_t)e->headlen + e->backlen_len;
}

static void prepare_str(lpl_entry *e, const void *s, size_t len) {
    e->str = s;
    e->len = len;
    e->ival = 0;
    if (len < 64) {
        e->head[0] = (unsigned char)(HDR_STR6 | len);
        e->headlen = 1;
    } else if (len < 4096) {
        e->head[0] = (unsigned char)(HDR_STR12 | (len >> 8));
        e->head[1] = (unsigned char)(len & 0xFF);
        e->headlen = 2;
    } else {
        e->head[0] = HDR_STR32;
        put_le(e->head + 1, (uint64_t)len, 4);
        e->headlen = 5;
    }
    size_t n = e->headlen + len;
    e->backlen_len = backlen_size(n);
    e->total = n + e->backlen_len;
}

void lpl_prepare(lpl_entry *e, const void *s, size_t len) {
    long long v;
    if (len <= 20 && util_str_to_ll(s, len, &v))
        prepare_int(e, v);
    else
        prepare_str(e, s, len);
}

void lpl_prepare_elem(lpl_entry *e, const lpl_elem *el) {
    if (el->str)
        prepare_str(e, el->str, el->len);
    else
        prepare_int(e, el->ival);
}

void lpl_write(unsigned char *dst, const lpl_entry *e) {
    memcpy(dst, e->head, e->headlen);
    size_t n = e->headlen;
    if (e->str) {
        if (e->len) memcpy(dst + n, e->str, e->len);
        n += e->len;
    }
    unsigned char *b = dst + n;
    int k = e->backlen_len;
    for (int i = k - 1; i >= 0; i--) {
        unsigned char byte = (unsigned char)(n & 0x7F);
        if (i > 0) byte |= 0x80;
        b[i] = byte;
        n >>= 7;
    }
}

/* Size of header + payload of the entry at p. */
static size_t body_size(const unsigned char *p) {
    unsigned char h = p[0];
    if (h < 0x80) return 1;
    if (h < 0xC0) return 1 + (size_t)(h & 0x3F);
    if (h < 0xE0) return 2;
    if (h < 0xF0) return 2 + ((size_t)(h & 0x0F) << 8 | p[1]);
    switch (h) {
    case HDR_STR32: return 5 + (size_t)((uint32_t)p[1] | (uint32_t)p[2] << 8 |
                                        (uint32_t)p[3] << 16 | (uint32_t)p[4] << 24);
    case HDR_INT16: return 3;
    case HDR_INT24: return 4;
    case HDR_INT32: return 5;
    default: return 9;
    }
}

size_t lpl_size_at(const unsigned char *p) {
    size_t n = body_size(p);
    return n + backlen_size(n);
}

size_t lpl_size_before(const unsigned char *end) {
    const unsigned char *q = end - 1;
    size_t v = *q & 0x7F;
    unsigned shift = 7;
    while (*q & 0x80) {
        q--;
        v |= (size_t)(*q & 0x7F) << shift;
        shift += 7;
    }
    return v + (size_t)(end - q);
}

void lpl_read(const unsigned char *p, lpl_elem *out) {
    unsigned char h = p[0];
    out->str = NULL;
    out->len = 0;
    if (h < 0x80) {
        out->ival = h;
    } else if (h < 0xC0) {
        out->str = p + 1;
        out->len = h & 0x3F;
    } else if (h < 0xE0) {
        unsigned u = (unsigned)(h & 0x1F) << 8 | p[1];
        out->ival = (u & 0x1000) ? (long long)u - 0x2000 : (long long)u;
    } else if (h < 0xF0) {
        out->str = p + 2;
        out->len = (size_t)(h & 0x0F) << 8 | p[1];
    } else if (h == HDR_STR32) {
        out->str = p + 5;
        out->len = body_size(p) - 5;
    } else {
        int bytes = h == HDR_INT16 ? 2 : h == HDR_INT24 ? 3 : h == HDR_INT32 ? 4 : 8;
        out->ival = get_le_signed(p + 1, bytes);
    }
}

int lpl_matches(const unsigned char *p, const lpl_entry *e) {
    /* Equal first bytes mean the same header kind, hence the same header
     * size: the rest of the compare stays inside the entry. */
    if (p[0] != e->head[0]) return 0;
    if (e->headlen > 1 && memcmp(p + 1, e->head + 1, e->headlen - 1u) != 0) return 0;
    return !e->str || !e->len || !memcmp(p + e->headlen, e->str, e->len);
}

const char *lpl_elem_bytes(const lpl_elem *el, char *buf, size_t *len) {
    if (el->str) {
        *len = el->len;
        return (const char *)el->str;
    }
    *len = (size_t)util_ll_to_str(buf, UTIL_LONG_STR_SIZE, el->ival);
    return buf;
}
