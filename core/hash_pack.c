/* hash_pack: see hash_pack.h.
 *
 * Layout of one pack (a single block from the allocator):
 *
 *   [varint count][varint payload bytes][entry]...
 *
 * where the entries alternate field, value, field, value... Each entry
 * starts with one varint h:
 *   h even: a string of h/2 bytes follows (one header byte up to 63 bytes);
 *   h odd:  an integer, zigzag-encoded in h/2 itself; no bytes follow.
 * A string is stored as an integer exactly when it is the canonical
 * decimal form of one (what Redis's string2ll accepts: no sign but '-', no
 * leading zero, no "-0") and fits in 62 bits after zigzag, so writing the
 * integer back out gives the original bytes and a string entry is never
 * the spelling of an integer. "7" takes one byte, "1700000000" five.
 *
 * Varints are little-endian base-128: seven bits per byte, the high bit
 * set on every byte but the last.
 *
 * A hash of three short pairs therefore costs a two-byte header plus its
 * payload plus one byte per string: less than Redis's listpack (six-byte
 * header, end byte, and an encoding byte and a back-length byte per
 * entry). The block is resized to exactly what it uses on every change,
 * as Redis does with a listpack; the allocator keeps a block that changes
 * a little in place, so the usual update is a memmove. When the header
 * itself changes size (count or payload crossing 128, 16384...) the pack
 * is copied into a new block instead.
 *
 * A position is the byte offset of a pair's field entry. The header takes
 * at least two bytes, so 0 is never a pair and means "not found". */
#include "core/hash_pack.h"

#include <string.h>

#include "core/mem.h"
#include "core/util.h"

/* Integers whose zigzag form reaches this are kept as strings, so that
 * (zigzag << 1) | 1 fits in 64 bits. */
#define INT_ZZ_LIMIT (1ull << 62)

/* ---- varints ------------------------------------------------------------ */

static size_t varint_size(uint64_t v) {
    size_t n = 1;
    while (v >= 0x80) {
        v >>= 7;
        n++;
    }
    return n;
}

static size_t varint_put(unsigned char *dst, uint64_t v) {
    size_t n = 0;
    while (v >= 0x80) {
        dst[n++] = (unsigned char)(v | 0x80);
        v >>= 7;
    }
    dst[n++] = (unsigned char)v;
    return n;
}

static size_t varint_get(const unsigned char *src, uint64_t *v) {
    uint64_t out = 0;
    size_t n = 0;
    int shift = 0;
    for (;;) {
        unsigned char b = src[n++];
        out |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) break;
        shift += 7;
    }
    *v = out;
    return n;
}

static uint64_t zigzag(long long v) {
    return v < 0 ? (~(uint64_t)v << 1) | 1 : (uint64_t)v << 1;
}

static long long unzigzag(uint64_t z) {
    return (z & 1) ? (long long)~(z >> 1) : (long long)(z >> 1);
}

/* ---- entries ------------------------------------------------------------ */

/* The entry header for string s: the integer form when it has one. */
static uint64_t entry_header(const char *s, size_t len) {
    long long v;
    if (len <= 20 && util_str_to_ll(s, len, &v)) {
        uint64_t z = zigzag(v);
        if (z < INT_ZZ_LIMIT) return (z << 1) | 1;
    }
    return (uint64_t)len << 1;
}

static size_t entry_size(uint64_t h) {
    return varint_size(h) + ((h & 1) ? 0 : (size_t)(h >> 1));
}

static size_t entry_put(unsigned char *dst, uint64_t h, const char *s) {
    size_t n = varint_put(dst, h);
    if (!(h & 1)) {
        size_t len = (size_t)(h >> 1);
        if (len) memcpy(dst + n, s, len);
        n += len;
    }
    return n;
}

/* Decode the entry at `at` into (*s, *len), rendering integers into buf
 * (>= 21 bytes). Returns the entry's size. */
static size_t entry_read(const unsigned char *at, const char **s, size_t *len, char *buf) {
    uint64_t h;
    size_t n = varint_get(at, &h);
    if (h & 1) {
        *len = (size_t)util_ll_to_str(buf, 24, unzigzag(h >> 1));
        *s = buf;
        return n;
    }
    *len = (size_t)(h >> 1);
    *s = (const char *)at + n;
    return n + *len;
}

static size_t entry_skip(const unsigned char *at) {
    uint64_t h;
    size_t n = varint_get(at, &h);
    return (h & 1) ? n : n + (size_t)(h >> 1);
}

/* ---- header ------------------------------------------------------------- */

typedef struct pack_header {
    size_t count, payload, size; /* size: bytes the header itself takes */
} pack_header;

static pack_header header_read(const hpack *p) {
    pack_header h;
    uint64_t v;
    size_t n = varint_get(p, &v);
    h.count = (size_t)v;
    n += varint_get(p + n, &v);
    h.payload = (size_t)v;
    h.size = n;
    return h;
}

static size_t header_size(size_t count, size_t payload) {
    return varint_size(count) + varint_size(payload);
}

static void header_write(hpack *p, size_t count, size_t payload) {
    size_t n = varint_put(p, count);
    varint_put(p + n, payload);
}

size_t hpack_count(const hpack *p) {
    uint64_t v;
    varint_get(p, &v);
    return (size_t)v;
}

size_t hpack_bytes(const hpack *p) {
    pack_header h = header_read(p);
    return h.size + h.payload;
}

size_t hpack_first(const hpack *p) { return header_read(p).size; }

/* Replace the `oldlen` bytes at `*at` with room for `newlen` bytes and set
 * the count to `count`, resizing the block (or moving the pack to a new
 * one when the header changes size). Returns the pack; *at is updated to
 * where the room now starts. */
static hpack *resize_region(hpack *p, size_t *at, size_t oldlen, size_t newlen, size_t count) {
    pack_header h = header_read(p);
    size_t payload = h.payload - oldlen + newlen;
    size_t hsize = header_size(count, payload);
    size_t head = *at - h.size; /* payload bytes before the region */
    size_t tail = h.payload - head - oldlen;
    size_t total = hsize + payload;
    if (hsize == h.size) {
        if (newlen < oldlen) {
            memmove(p + *at + newlen, p + *at + oldlen, tail);
            p = mem_realloc(p, total);
        } else if (newlen > oldlen) {
            p = mem_realloc(p, total);
            memmove(p + *at + newlen, p + *at + oldlen, tail);
        }
    } else {
        hpack *q = mem_alloc(total);
        memcpy(q + hsize, p + h.size, head);
        memcpy(q + hsize + head + newlen, p + *at + oldlen, tail);
        mem_free(p);
        p = q;
        *at = hsize + head;
    }
    header_write(p, count, payload);
    return p;
}

/* ---- public ------------------------------------------------------------- */

hpack *hpack_new(void) {
    hpack *p = mem_alloc(2);
    header_write(p, 0, 0);
    return p;
}

void hpack_free(hpack *p) { mem_free(p); }

hpack *hpack_dup(const hpack *p) {
    size_t n = hpack_bytes(p);
    hpack *d = mem_alloc(n);
    memcpy(d, p, n);
    return d;
}

int hpack_safe_to_add(const hpack *p, size_t add) {
    return hpack_bytes(p) + add <= HPACK_MAX_SAFE_BYTES;
}

void hpack_read(const hpack *p, size_t pos, hpack_pair *out) {
    pos += entry_read(p + pos, &out->field, &out->flen, out->fbuf);
    entry_read(p + pos, &out->value, &out->vlen, out->vbuf);
}

size_t hpack_next(const hpack *p, size_t pos) {
    pos += entry_skip(p + pos);
    return pos + entry_skip(p + pos);
}

int hpack_iter(const hpack *p, size_t *pos, hpack_pair *out) {
    size_t at = *pos;
    if (!at) at = hpack_first(p);
    if (at >= hpack_bytes(p)) return 0;
    hpack_read(p, at, out);
    *pos = hpack_next(p, at);
    return 1;
}

size_t hpack_find(const hpack *p, const char *f, size_t flen) {
    pack_header hdr = header_read(p);
    uint64_t want = entry_header(f, flen);
    size_t pos = hdr.size, end = hdr.size + hdr.payload;
    while (pos < end) {
        uint64_t h;
        size_t n = varint_get(p + pos, &h);
        if (h == want && ((h & 1) || memcmp(p + pos + n, f, flen) == 0)) return pos;
        pos += (h & 1) ? n : n + (size_t)(h >> 1);
        pos += entry_skip(p + pos);
    }
    return 0;
}

int hpack_get(const hpack *p, const char *f, size_t flen, hpack_pair *out) {
    size_t pos = hpack_find(p, f, flen);
    if (!pos) return 0;
    hpack_read(p, pos, out);
    return 1;
}

void hpack_append(hpack **pp, const char *f, size_t flen, const char *v, size_t vlen) {
    hpack *p = *pp;
    uint64_t fh = entry_header(f, flen), vh = entry_header(v, vlen);
    size_t fsize = entry_size(fh), vsize = entry_size(vh);
    size_t at = hpack_bytes(p);
    p = resize_region(p, &at, 0, fsize + vsize, hpack_count(p) + 1);
    at += entry_put(p + at, fh, f);
    entry_put(p + at, vh, v);
    *pp = p;
}

int hpack_set(hpack **pp, const char *f, size_t flen, const char *v, size_t vlen) {
    hpack *p = *pp;
    size_t pos = hpack_find(p, f, flen);
    if (!pos) {
        hpack_append(pp, f, flen, v, vlen);
        return 0;
    }
    size_t at = pos + entry_skip(p + pos);
    uint64_t vh = entry_header(v, vlen);
    p = resize_region(p, &at, entry_skip(p + at), entry_size(vh), hpack_count(p));
    entry_put(p + at, vh, v);
    *pp = p;
    return 1;
}

int hpack_delete(hpack **pp, const char *f, size_t flen) {
    hpack *p = *pp;
    size_t pos = hpack_find(p, f, flen);
    if (!pos) return 0;
    size_t len = hpack_next(p, pos) - pos;
    *pp = resize_region(p, &pos, len, 0, hpack_count(p) - 1);
    return 1;
}

void hpack_positions(const hpack *p, uint32_t *out) {
    pack_header h = header_read(p);
    size_t pos = h.size, end = h.size + h.payload, i = 0;
    while (pos < end) {
        out[i++] = (uint32_t)pos;
        pos = hpack_next(p, pos);
    }
}
