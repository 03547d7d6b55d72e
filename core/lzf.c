/* lzf: see lzf.h for the format.
 *
 * Compression is greedy: at each input position the hash of the next
 * three bytes names the last position that started with the same hash;
 * when the three bytes really match (and the distance fits in 13 bits) the
 * match is extended as far as it goes (up to 264 bytes) and emitted as a
 * back reference, otherwise the byte joins the current literal run. A
 * literal run's control byte is reserved when the run opens and filled in
 * when it closes, so the output is written in one pass.
 *
 * Decompression trusts nothing: every literal and every reference is
 * checked against both buffers before a byte moves, so a corrupt RDB ends
 * in an error, never an out-of-bounds access. */
#include "core/lzf.h"

#include <string.h>

#define LZF_MAX_LIT 32
#define LZF_MAX_OFF (1 << 13)
#define LZF_MAX_REF ((1 << 8) + (1 << 3)) /* 264 bytes copied */
#define LZF_HLOG 14

static inline uint32_t hash3(const unsigned char *p) {
    uint32_t v = ((uint32_t)p[0] << 16) | ((uint32_t)p[1] << 8) | p[2];
    return (v * 2654435761u) >> (32 - LZF_HLOG);
}

/* How many leading bytes of a and b agree, at least 3 (already checked)
 * and at most max: eight bytes at a time, so the long runs that make a
 * value compressible cost a compare per word, not per byte. */
static inline size_t match_len(const unsigned char *a, const unsigned char *b, size_t max) {
    size_t l = 3;
    while (l + 8 <= max) {
        uint64_t x, y;
        memcpy(&x, a + l, 8);
        memcpy(&y, b + l, 8);
        uint64_t d = x ^ y;
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
        if (d) return l + (size_t)(__builtin_clzll(d) >> 3);
#else
        if (d) return l + (size_t)(__builtin_ctzll(d) >> 3);
#endif
        l += 8;
    }
    while (l < max && a[l] == b[l]) l++;
    return l;
}

size_t lzf_compress(lzf_state *st, const void *in_, size_t len, void *out_, size_t out_len) {
    const unsigned char *in = in_;
    unsigned char *out = out_;
    if (len == 0 || out_len < 2 || len > UINT32_MAX - 1) return 0;
    size_t op = 1, lit_pos = 0, lit = 0, ip = 0;
    /* Table entries hold position + 1 so that 0 never looks like a match
     * candidate from a fresh state. */
    while (ip + 2 < len) {
        uint32_t h = hash3(in + ip);
        size_t ref = st->last[h];
        st->last[h] = (uint32_t)(ip + 1);
        if (ref && ref - 1 < ip && ip - (ref - 1) <= LZF_MAX_OFF) {
            ref--;
            if (in[ref] == in[ip] && in[ref + 1] == in[ip + 1] && in[ref + 2] == in[ip + 2]) {
                size_t maxlen = len - ip < LZF_MAX_REF ? len - ip : LZF_MAX_REF;
                size_t l = match_len(in + ref, in + ip, maxlen);
                size_t off = ip - ref - 1;
                /* Close the literal run (or drop its unused control byte). */
                if (lit) out[lit_pos] = (unsigned char)(lit - 1);
                else op--;
                if (op + 3 + 1 > out_len) return 0;
                size_t code = l - 2;
                if (code < 7) {
                    out[op++] = (unsigned char)((code << 5) | (off >> 8));
                } else {
                    out[op++] = (unsigned char)((7 << 5) | (off >> 8));
                    out[op++] = (unsigned char)(code - 7);
                }
                out[op++] = (unsigned char)(off & 0xff);
                /* Index the positions inside the match sparingly: the
                 * last two, which is where the next match usually starts. */
                ip += l;
                if (ip + 2 < len) {
                    st->last[hash3(in + ip - 1)] = (uint32_t)ip;
                    st->last[hash3(in + ip - 2)] = (uint32_t)(ip - 1);
                }
                lit_pos = op++;
                lit = 0;
                continue;
            }
        }
        if (op + 1 > out_len) return 0;
        out[op++] = in[ip++];
        if (++lit == LZF_MAX_LIT) {
            out[lit_pos] = LZF_MAX_LIT - 1;
            lit_pos = op++;
            lit = 0;
        }
    }
    while (ip < len) {
        if (op + 1 > out_len) return 0;
        out[op++] = in[ip++];
        if (++lit == LZF_MAX_LIT) {
            out[lit_pos] = LZF_MAX_LIT - 1;
            lit_pos = op++;
            lit = 0;
        }
    }
    if (lit) out[lit_pos] = (unsigned char)(lit - 1);
    else op--;
    if (op > out_len) return 0;
    return op;
}

int lzf_decompress(const void *in_, size_t len, void *out_, size_t out_len) {
    const unsigned char *in = in_, *ip = in, *iend = in + len;
    unsigned char *out = out_, *op = out, *oend = out + out_len;
    while (ip < iend) {
        unsigned ctrl = *ip++;
        if (ctrl < LZF_MAX_LIT) {
            size_t n = ctrl + 1;
            if ((size_t)(iend - ip) < n || (size_t)(oend - op) < n) return -1;
            memcpy(op, ip, n);
            op += n;
            ip += n;
            continue;
        }
        size_t n = ctrl >> 5;
        if (n == 7) {
            if (ip >= iend) return -1;
            n += *ip++;
        }
        if (ip >= iend) return -1;
        size_t back = ((size_t)(ctrl & 0x1f) << 8) + *ip++ + 1;
        n += 2;
        if ((size_t)(op - out) < back || (size_t)(oend - op) < n) return -1;
        const unsigned char *ref = op - back;
        if (back >= n) {
            memcpy(op, ref, n);
            op += n;
        } else if (back == 1) {
            memset(op, *ref, n); /* a run of one byte: zero padding, mostly */
            op += n;
        } else {
            /* The reference overlaps what it produces, so the result
             * repeats the last `back` bytes. Copy what is already there,
             * doubling the span each time: the distance from ref stays a
             * multiple of back, so every chunk lands on the same phase,
             * and no memcpy overlaps itself. */
            unsigned char *end = op + n;
            while (op < end) {
                size_t k = (size_t)(op - ref);
                if (k > (size_t)(end - op)) k = (size_t)(end - op);
                memcpy(op, ref, k);
                op += k;
            }
        }
    }
    return op == oend ? 0 : -1;
}
