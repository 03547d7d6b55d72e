/* rdb_blob: decoding and building the packed containers of RDB files.
 *
 * Listpack (RDB_TYPE_*_LISTPACK, quicklist 2 nodes):
 *   <total bytes u32 LE> <count u16 LE, 65535 = unknown> entries... 0xFF
 *   entry = <encoding [+ data]> <backlen>
 *     0xxxxxxx                 7-bit unsigned int
 *     10LLLLLL <L bytes>       string up to 63 bytes
 *     110xxxxx xxxxxxxx        13-bit signed int
 *     1110LLLL LLLLLLLL <L>    string up to 4095 bytes
 *     11110000 <u32 LE len> <bytes>
 *     11110001/2/3/4           16/24/32/64-bit LE signed int follows
 *   backlen = size of encoding+data, 7 bits per byte, most significant
 *   first; every byte but the first has 0x80 set, so reading backwards from
 *   the entry's end stops at the first byte. Its size is fixed by the value
 *   (1 byte up to 127, 2 below 16383, 3 below 2097151, 4 below 268435455,
 *   else 5) and Redis relies on that when it walks forwards.
 *
 * Ziplist (RDB types 10, 12, 13, and quicklist 1 nodes):
 *   <zlbytes u32 LE> <zltail u32 LE> <zllen u16 LE> entries... 0xFF
 *   entry = <prevlen: 1 byte < 254, or 0xFE + u32 LE> <encoding> <data>
 *     00LLLLLL | 01LLLLLL LLLLLLLL (big endian) | 10______ <u32 BE>: string
 *     0xC0 int16, 0xD0 int32, 0xE0 int64, 0xF0 int24, 0xFE int8 (LE)
 *     0xF1..0xFD: immediate 0..12
 *   prevlen must equal the previous entry's size and zltail must point at
 *   the last entry: both are checked because Redis trusts them.
 *
 * Zipmap (RDB type 9, Redis < 2.6 hashes):
 *   <count u8> (<len> key <len> <free u8> value <free bytes>)... 0xFF
 *   len = 1 byte < 254, or 0xFE + u32 (host order, little endian).
 *
 * Every walk checks each length against the bytes left before reading, so
 * a corrupt or hostile blob ends in -1, never in an out-of-bounds read. */
#include "core/rdb_blob.h"

#include <string.h>

#include "core/mem.h"
#include "core/util.h"

static uint32_t get_u32le(const unsigned char *p) {
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) |
           ((uint32_t)p[3] << 24);
}

static uint16_t get_u16le(const unsigned char *p) { return (uint16_t)(p[0] | (p[1] << 8)); }

static int64_t get_sle(const unsigned char *p, int bytes) {
    uint64_t u = 0;
    for (int i = 0; i < bytes; i++) u |= (uint64_t)p[i] << (8 * i);
    if (bytes < 8 && (u & (1ULL << (8 * bytes - 1)))) u |= ~0ULL << (8 * bytes);
    return (int64_t)u;
}

static int emit_int(rdb_elem_fn fn, void *priv, long long v) {
    char buf[UTIL_LONG_STR_SIZE];
    int n = util_ll_to_str(buf, sizeof(buf), v);
    return fn(priv, buf, (size_t)n);
}

unsigned rdb_listpack_backlen_size(size_t l) {
    if (l <= 127) return 1;
    if (l < 16383) return 2;
    if (l < 2097151) return 3;
    if (l < 268435455) return 4;
    return 5;
}

/* ---- listpack ---------------------------------------------------------- */

int rdb_listpack_walk(const unsigned char *lp, size_t size, rdb_elem_fn fn, void *priv,
                      size_t *count) {
    if (size < 7 || get_u32le(lp) != size || lp[size - 1] != 0xFF) return -1;
    uint16_t hdr_count = get_u16le(lp + 4);
    const unsigned char *p = lp + 6, *end = lp + size - 1; /* end: the terminator */
    size_t n = 0;
    while (p < end) {
        size_t left = (size_t)(end - p), enc_len;
        unsigned char b = p[0];
        const unsigned char *str = NULL;
        size_t slen = 0;
        long long v = 0;
        if (b < 0x80) {
            enc_len = 1;
            v = b;
        } else if ((b & 0xC0) == 0x80) {
            slen = b & 0x3F;
            enc_len = 1 + slen;
            str = p + 1;
        } else if ((b & 0xE0) == 0xC0) {
            if (left < 2) return -1;
            unsigned u = ((unsigned)(b & 0x1F) << 8) | p[1];
            v = u >= 4096 ? (long long)u - 8192 : (long long)u;
            enc_len = 2;
        } else if ((b & 0xF0) == 0xE0) {
            if (left < 2) return -1;
            slen = ((size_t)(b & 0x0F) << 8) | p[1];
            enc_len = 2 + slen;
            str = p + 2;
        } else if (b == 0xF0) {
            if (left < 5) return -1;
            slen = get_u32le(p + 1);
            enc_len = 5 + slen;
            str = p + 5;
        } else if (b >= 0xF1 && b <= 0xF4) {
            static const int widths[] = {2, 3, 4, 8};
            int w = widths[b - 0xF1];
            if (left < (size_t)w + 1) return -1;
            v = get_sle(p + 1, w);
            enc_len = 1 + (size_t)w;
        } else {
            return -1; /* 0xF5..0xFE are not encodings; 0xFF is only the end */
        }
        if (enc_len > left) return -1;
        unsigned blen = rdb_listpack_backlen_size(enc_len);
        if (blen > left - enc_len) return -1;
        /* The backlen, read backwards the way Redis reads it. */
        const unsigned char *bl = p + enc_len + blen - 1;
        uint64_t decoded = 0;
        unsigned shift = 0, used = 0;
        for (;;) {
            decoded |= (uint64_t)(bl[0] & 127) << shift;
            used++;
            if (!(bl[0] & 128)) break;
            if (used == blen) return -1;
            shift += 7;
            bl--;
        }
        if (used != blen || decoded != enc_len) return -1;
        int rc = str ? fn(priv, (const char *)str, slen) : emit_int(fn, priv, v);
        if (rc) return rc;
        n++;
        p += enc_len + blen;
    }
    if (p != end) return -1;
    if (hdr_count != 65535 && hdr_count != n) return -1;
    if (count) *count = n;
    return 0;
}

/* ---- ziplist ----------------------------------------------------------- */

int rdb_ziplist_walk(const unsigned char *zl, size_t size, rdb_elem_fn fn, void *priv,
                     size_t *count) {
    if (size < 11 || get_u32le(zl) != size || zl[size - 1] != 0xFF) return -1;
    uint32_t tail = get_u32le(zl + 4);
    uint16_t hdr_count = get_u16le(zl + 8);
    const unsigned char *p = zl + 10, *end = zl + size - 1;
    size_t n = 0, prev_size = 0, last_off = 10;
    while (p < end) {
        size_t left = (size_t)(end - p), hdr;
        size_t prevlen;
        if (p[0] < 254) {
            prevlen = p[0];
            hdr = 1;
        } else if (p[0] == 254) {
            if (left < 5) return -1;
            prevlen = get_u32le(p + 1);
            hdr = 5;
        } else {
            return -1;
        }
        if (prevlen != prev_size || hdr >= left) return -1;
        unsigned char b = p[hdr];
        size_t elen, dlen;
        const unsigned char *str = NULL;
        long long v = 0;
        if ((b & 0xC0) == 0x00) {
            dlen = b & 0x3F;
            elen = 1;
        } else if ((b & 0xC0) == 0x40) {
            if (left - hdr < 2) return -1;
            dlen = ((size_t)(b & 0x3F) << 8) | p[hdr + 1];
            elen = 2;
        } else if ((b & 0xC0) == 0x80) {
            if (left - hdr < 5) return -1;
            dlen = ((size_t)p[hdr + 1] << 24) | ((size_t)p[hdr + 2] << 16) |
                   ((size_t)p[hdr + 3] << 8) | p[hdr + 4];
            elen = 5;
        } else {
            elen = 1;
            switch (b) {
            case 0xC0: dlen = 2; break;
            case 0xD0: dlen = 4; break;
            case 0xE0: dlen = 8; break;
            case 0xF0: dlen = 3; break;
            case 0xFE: dlen = 1; break;
            default:
                if (b >= 0xF1 && b <= 0xFD) {
                    dlen = 0;
                    v = (b & 0x0F) - 1;
                } else {
                    return -1;
                }
            }
            if (dlen > left - hdr - elen) return -1;
            if (dlen) v = get_sle(p + hdr + elen, (int)dlen);
        }
        if (dlen > left - hdr - elen) return -1;
        if ((b & 0xC0) != 0xC0) str = p + hdr + elen;
        size_t esize = hdr + elen + dlen;
        int rc = str ? fn(priv, (const char *)str, dlen) : emit_int(fn, priv, v);
        if (rc) return rc;
        last_off = (size_t)(p - zl);
        prev_size = esize;
        p += esize;
        n++;
    }
    if (p != end || tail != last_off) return -1;
    if (hdr_count != 65535 && hdr_count != n) return -1;
    if (count) *count = n;
    return 0;
}

/* ---- zipmap ------------------------------------------------------------ */

static int zipmap_len(const unsigned char **pp, const unsigned char *end, size_t *len) {
    const unsigned char *p = *pp;
    if (p >= end) return -1;
    if (p[0] < 254) {
        *len = p[0];
        *pp = p + 1;
        return 0;
    }
    if (p[0] == 254 && end - p >= 5) {
        *len = get_u32le(p + 1);
        *pp = p + 5;
        return 0;
    }
    return -1;
}

int rdb_zipmap_walk(const unsigned char *zm, size_t size, rdb_elem_fn fn, void *priv,
                    size_t *count) {
    if (size < 2 || zm[size - 1] != 0xFF) return -1;
    const unsigned char *p = zm + 1, *end = zm + size - 1;
    size_t n = 0;
    while (p < end) {
        size_t klen, vlen;
        if (zipmap_len(&p, end, &klen) < 0 || klen > (size_t)(end - p)) return -1;
        const unsigned char *k = p;
        p += klen;
        if (zipmap_len(&p, end, &vlen) < 0 || p >= end) return -1;
        size_t free_bytes = *p++;
        if (vlen > (size_t)(end - p) || free_bytes > (size_t)(end - p) - vlen) return -1;
        int rc = fn(priv, (const char *)k, klen);
        if (!rc) rc = fn(priv, (const char *)p, vlen);
        if (rc) return rc;
        p += vlen + free_bytes;
        n += 2;
    }
    if (p != end || (zm[0] < 254 && (size_t)zm[0] * 2 != n)) return -1;
    if (count) *count = n;
    return 0;
}

/* ---- listpack builder -------------------------------------------------- */

static void lpb_reserve(lp_builder *b, size_t add) {
    if (b->len + add <= b->cap) return;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->len + add) cap *= 2;
    b->buf = mem_realloc(b->buf, cap);
    b->cap = cap;
}

void lpb_reset(lp_builder *b) {
    lpb_reserve(b, 7);
    b->len = 6;
    b->count = 0;
}

static void put_backlen(lp_builder *b, size_t l) {
    unsigned n = rdb_listpack_backlen_size(l);
    unsigned char *p = b->buf + b->len;
    for (unsigned i = 0; i < n; i++) {
        unsigned char byte = (unsigned char)((l >> (7 * (n - 1 - i))) & 127);
        p[i] = i ? (unsigned char)(byte | 128) : byte;
    }
    b->len += n;
}

void lpb_append_int(lp_builder *b, long long v) {
    lpb_reserve(b, 9 + 5);
    unsigned char *p = b->buf + b->len;
    size_t l;
    if (v >= 0 && v <= 127) {
        p[0] = (unsigned char)v;
        l = 1;
    } else if (v >= -4096 && v <= 4095) {
        unsigned u = (unsigned)(v < 0 ? v + 8192 : v);
        p[0] = (unsigned char)(0xC0 | (u >> 8));
        p[1] = (unsigned char)(u & 0xFF);
        l = 2;
    } else {
        int w = v >= INT16_MIN && v <= INT16_MAX           ? 2
                : v >= -(1LL << 23) && v < (1LL << 23)     ? 3
                : v >= INT32_MIN && v <= INT32_MAX         ? 4
                                                           : 8;
        p[0] = (unsigned char)(w == 2 ? 0xF1 : w == 3 ? 0xF2 : w == 4 ? 0xF3 : 0xF4);
        uint64_t u = (uint64_t)v;
        for (int i = 0; i < w; i++) p[1 + i] = (unsigned char)(u >> (8 * i));
        l = 1 + (size_t)w;
    }
    b->len += l;
    put_backlen(b, l);
    b->count++;
}

void lpb_append(lp_builder *b, const void *s, size_t len) {
    long long v;
    if (len <= 20 && util_str_to_ll(s, len, &v)) {
        lpb_append_int(b, v);
        return;
    }
    lpb_reserve(b, len + 5 + 5);
    unsigned char *p = b->buf + b->len;
    size_t h;
    if (len < 64) {
        p[0] = (unsigned char)(0x80 | len);
        h = 1;
    } else if (len < 4096) {
        p[0] = (unsigned char)(0xE0 | (len >> 8));
        p[1] = (unsigned char)(len & 0xFF);
        h = 2;
    } else {
        p[0] = 0xF0;
        for (int i = 0; i < 4; i++) p[1 + i] = (unsigned char)(len >> (8 * i));
        h = 5;
    }
    memcpy(p + h, s, len);
    b->len += h + len;
    put_backlen(b, h + len);
    b->count++;
}

void lpb_append_raw(lp_builder *b, const void *p, size_t len, size_t count) {
    lpb_reserve(b, len + 1);
    memcpy(b->buf + b->len, p, len);
    b->len += len;
    b->count += count;
}

void lpb_finish(lp_builder *b) {
    lpb_reserve(b, 1);
    b->buf[b->len++] = 0xFF;
    size_t total = b->len;
    for (int i = 0; i < 4; i++) b->buf[i] = (unsigned char)(total >> (8 * i));
    uint16_t c = b->count < 65535 ? (uint16_t)b->count : 65535;
    b->buf[4] = (unsigned char)(c & 0xFF);
    b->buf[5] = (unsigned char)(c >> 8);
}

void lpb_free(lp_builder *b) {
    mem_free(b->buf);
    b->buf = NULL;
    b->len = b->cap = b->count = 0;
}
