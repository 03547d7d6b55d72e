/* hll: the HyperLogLog value, exactly as Redis 7.0 lays it out.
 *
 * Other servers read these bytes (a replica's RDB, GET on a master), so the
 * layout, the hash and every encoding decision follow Redis's
 * hyperloglog.c:
 *
 *   header   "HYLL", encoding (0 dense, 1 sparse), 3 zero bytes, the cached
 *            cardinality as 8 little-endian bytes whose top bit (bit 7 of
 *            the last byte) marks it stale.
 *   element  MurmurHash64A(seed 0xadc83b19): the low 14 bits pick the
 *            register, the count of trailing zeros of the rest (with bit 50
 *            forced on) plus one is the candidate value.
 *   dense    16384 six-bit registers, register i at bit 6*i, low bits
 *            first within a byte and spilling into the next byte.
 *   sparse   opcodes: ZERO 00xxxxxx (1-64 zero registers), XZERO
 *            01xxxxxx yyyyyyyy (1-16384 zero registers), VAL 1vvvvvxx
 *            (1-4 registers of value 1-32). A new HLL is two XZEROs.
 *
 * Updating a sparse HLL splits the opcode covering the register into at
 * most three (Redis's cases A-D), then merges equal adjacent VALs within
 * five opcodes of the change; it turns dense when a value above 32 comes
 * or the string would pass hll-sparse-max-bytes. The same input sequence
 * therefore yields the same bytes as in Redis, which is what lets a
 * replica's DEBUG DIGEST and GET agree with its master's.
 *
 * The estimate is Redis 7.0's (Ertl, "New cardinality estimation
 * algorithms for HyperLogLog sketches"), computed from the register
 * histogram with the same floating point operations in the same order, so
 * PFCOUNT answers the same number. */
#include "core/hll.h"

#include <math.h>
#include <string.h>

#define HLL_Q (64 - HLL_P)
#define HLL_BITS 6
#define HLL_REGISTER_MAX ((1 << HLL_BITS) - 1)
#define HLL_SEED 0xadc83b19ULL
#define HLL_ALPHA_INF 0.721347520444481703680 /* 0.5 / ln(2) */

#define SPARSE_VAL_MAX_VALUE 32
#define SPARSE_VAL_MAX_LEN 4
#define SPARSE_ZERO_MAX_LEN 64
#define SPARSE_XZERO_MAX_LEN 16384

#define IS_ZERO(p) ((*(p) & 0xc0) == 0)
#define IS_XZERO(p) ((*(p) & 0xc0) == 0x40)
#define IS_VAL(p) (*(p) & 0x80)
#define ZERO_LEN(p) ((*(p) & 0x3f) + 1)
#define XZERO_LEN(p) ((((*(p) & 0x3f) << 8) | *((p) + 1)) + 1)
#define VAL_VALUE(p) (((*(p) >> 2) & 0x1f) + 1)
#define VAL_LEN(p) ((*(p) & 0x3) + 1)

static void set_val(uint8_t *p, int val, int len) {
    *p = (uint8_t)(((val - 1) << 2 | (len - 1)) | 0x80);
}
static void set_zero(uint8_t *p, int len) { *p = (uint8_t)(len - 1); }
static void set_xzero(uint8_t *p, int len) {
    int l = len - 1;
    p[0] = (uint8_t)((l >> 8) | 0x40);
    p[1] = (uint8_t)(l & 0xff);
}

uint64_t hll_murmur64a(const void *key, int len, unsigned int seed) {
    const uint64_t m = 0xc6a4a7935bd1e995ULL;
    const int r = 47;
    uint64_t h = seed ^ ((uint64_t)len * m);
    const uint8_t *data = key;
    const uint8_t *end = data + (len - (len & 7));
    while (data != end) {
        uint64_t k;
        memcpy(&k, data, 8); /* little endian, as Redis on x86 and ARM */
        k *= m;
        k ^= k >> r;
        k *= m;
        h ^= k;
        h *= m;
        data += 8;
    }
    switch (len & 7) {
    case 7: h ^= (uint64_t)data[6] << 48; /* fall through */
    case 6: h ^= (uint64_t)data[5] << 40; /* fall through */
    case 5: h ^= (uint64_t)data[4] << 32; /* fall through */
    case 4: h ^= (uint64_t)data[3] << 24; /* fall through */
    case 3: h ^= (uint64_t)data[2] << 16; /* fall through */
    case 2: h ^= (uint64_t)data[1] << 8;  /* fall through */
    case 1:
        h ^= (uint64_t)data[0];
        h *= m;
        break;
    default: break;
    }
    h ^= h >> r;
    h *= m;
    h ^= h >> r;
    return h;
}

int hll_pattern(const void *ele, size_t len, long *reg) {
    uint64_t hash = hll_murmur64a(ele, (int)len, HLL_SEED);
    *reg = (long)(hash & (HLL_REGISTERS - 1));
    hash >>= HLL_P;
    hash |= (uint64_t)1 << HLL_Q; /* the loop ends, count <= Q + 1 */
    int count = 1;
    for (uint64_t bit = 1; (hash & bit) == 0; bit <<= 1) count++;
    return count;
}

/* ---- dense ---------------------------------------------------------------- */

/* The register's 6 bits may straddle two bytes; the last register reads
 * (zero) and leaves alone the byte after the registers, which every dstr
 * has (its NUL terminator), as Redis's sds does. */
uint8_t hll_dense_get(const unsigned char *registers, long index) {
    unsigned long byte = (unsigned long)index * HLL_BITS / 8;
    unsigned fb = (unsigned)((unsigned long)index * HLL_BITS & 7);
    unsigned long b0 = registers[byte], b1 = registers[byte + 1];
    return (uint8_t)(((b0 >> fb) | (b1 << (8 - fb))) & HLL_REGISTER_MAX);
}

void hll_dense_put(unsigned char *registers, long index, uint8_t val) {
    unsigned long byte = (unsigned long)index * HLL_BITS / 8;
    unsigned fb = (unsigned)((unsigned long)index * HLL_BITS & 7);
    unsigned fb8 = 8 - fb;
    unsigned long v = val;
    registers[byte] &= (unsigned char)~(HLL_REGISTER_MAX << fb);
    registers[byte] |= (unsigned char)(v << fb);
    registers[byte + 1] &= (unsigned char)~(HLL_REGISTER_MAX >> fb8);
    registers[byte + 1] |= (unsigned char)(v >> fb8);
}

static int dense_set(unsigned char *registers, long index, uint8_t count) {
    if (count <= hll_dense_get(registers, index)) return 0;
    hll_dense_put(registers, index, count);
    return 1;
}

/* ---- header and cache ----------------------------------------------------- */

dstr hll_new(void) {
    int sparselen = HLL_HDR_SIZE +
                    ((HLL_REGISTERS + SPARSE_XZERO_MAX_LEN - 1) / SPARSE_XZERO_MAX_LEN) * 2;
    dstr s = dstr_grow_zero(dstr_empty(), (size_t)sparselen);
    memcpy(s, "HYLL", 4);
    s[4] = HLL_SPARSE;
    uint8_t *p = (uint8_t *)s + HLL_HDR_SIZE;
    for (int left = HLL_REGISTERS; left;) {
        int run = left > SPARSE_XZERO_MAX_LEN ? SPARSE_XZERO_MAX_LEN : left;
        set_xzero(p, run);
        p += 2;
        left -= run;
    }
    return s;
}

int hll_header_ok(const char *p, size_t len) {
    if (len < HLL_HDR_SIZE || memcmp(p, "HYLL", 4) != 0) return 0;
    uint8_t enc = (uint8_t)p[4];
    if (enc > HLL_SPARSE) return 0;
    return enc != HLL_DENSE || len == HLL_DENSE_SIZE;
}

int hll_encoding(const dstr s) { return (uint8_t)s[4]; }

int hll_cache_valid(const dstr s) { return !((uint8_t)s[15] & 0x80); }

uint64_t hll_cache_get(const dstr s) {
    uint64_t card = 0;
    for (int i = 7; i >= 0; i--) card = (card << 8) | (uint8_t)s[8 + i];
    return card;
}

void hll_cache_set(dstr s, uint64_t card) {
    for (int i = 0; i < 8; i++) s[8 + i] = (char)((card >> (8 * i)) & 0xff);
}

void hll_cache_invalidate(dstr s) { s[15] = (char)((uint8_t)s[15] | 0x80); }

/* ---- sparse --------------------------------------------------------------- */

static long sparse_walk(const dstr s, int (*fn)(void *, long, int, int), void *arg);

static int dense_run(void *arg, long first, int run, int val) {
    if (!val) return 0;
    if (first + run > HLL_REGISTERS) return -1; /* overflow */
    for (long i = first; i < first + run; i++) hll_dense_put(arg, i, (uint8_t)val);
    return 0;
}

int hll_to_dense(dstr *s) {
    dstr sparse = *s;
    if (hll_encoding(sparse) == HLL_DENSE) return 0;
    dstr dense = dstr_grow_zero(dstr_empty(), HLL_DENSE_SIZE);
    memcpy(dense, sparse, HLL_HDR_SIZE); /* magic and cached cardinality */
    dense[4] = HLL_DENSE;
    if (sparse_walk(sparse, dense_run, dense + HLL_HDR_SIZE) != HLL_REGISTERS) {
        dstr_free(dense);
        return -1;
    }
    dstr_free(sparse);
    *s = dense;
    return 0;
}

/* Redis's hllSparseSet, step by step; see the cases it names. */
static int sparse_set(dstr *s, long index, uint8_t count, long long sparse_max) {
    if (count > SPARSE_VAL_MAX_VALUE) goto promote;
    /* Room for the worst split (XZERO into XZERO-VAL-XZERO: 3 more bytes),
     * so the pointers below stay valid. */
    *s = dstr_grow(*s, 3);
    uint8_t *sparse = (uint8_t *)*s + HLL_HDR_SIZE;
    uint8_t *end = (uint8_t *)*s + dstr_len(*s);
    uint8_t *p = sparse, *prev = NULL, *next;
    long first = 0, span = 0;

    /* Step 1: the opcode covering `index`. */
    while (p < end) {
        long oplen = 1;
        if (IS_ZERO(p)) {
            span = ZERO_LEN(p);
        } else if (IS_VAL(p)) {
            span = VAL_LEN(p);
        } else {
            span = XZERO_LEN(p);
            oplen = 2;
        }
        if (index <= first + span - 1) break;
        prev = p;
        p += oplen;
        first += span;
    }
    if (span == 0 || p >= end) return -1;
    next = IS_XZERO(p) ? p + 2 : p + 1;
    if (next >= end) next = NULL;
    int is_zero = 0, is_xzero = 0, is_val = 0;
    long runlen;
    if (IS_ZERO(p)) {
        is_zero = 1;
        runlen = ZERO_LEN(p);
    } else if (IS_XZERO(p)) {
        is_xzero = 1;
        runlen = XZERO_LEN(p);
    } else {
        is_val = 1;
        runlen = VAL_LEN(p);
    }

    /* Step 2: A) a VAL already >= count: nothing to do; B) a VAL of one
     * register: rewrite it; C) a ZERO of one register: becomes a VAL. */
    if (is_val) {
        if (VAL_VALUE(p) >= count) return 0;
        if (runlen == 1) {
            set_val(p, count, 1);
            goto updated;
        }
    }
    if (is_zero && runlen == 1) {
        set_val(p, count, 1);
        goto updated;
    }

    /* D) the general case: split the opcode into up to three. */
    uint8_t seq[5], *n = seq;
    long last = first + span - 1;
    if (is_zero || is_xzero) {
        if (index != first) {
            int len = (int)(index - first);
            if (len > SPARSE_ZERO_MAX_LEN) {
                set_xzero(n, len);
                n += 2;
            } else {
                set_zero(n++, len);
            }
        }
        set_val(n++, count, 1);
        if (index != last) {
            int len = (int)(last - index);
            if (len > SPARSE_ZERO_MAX_LEN) {
                set_xzero(n, len);
                n += 2;
            } else {
                set_zero(n++, len);
            }
        }
    } else {
        int curval = VAL_VALUE(p);
        if (index != first) set_val(n++, curval, (int)(index - first));
        set_val(n++, count, 1);
        if (index != last) set_val(n++, curval, (int)(last - index));
    }

    /* Step 3: put the new sequence in place of the old opcode. */
    int seqlen = (int)(n - seq);
    int oldlen = is_xzero ? 2 : 1;
    int delta = seqlen - oldlen;
    if (delta > 0 && (long long)dstr_len(*s) + delta > sparse_max) goto promote;
    if (delta && next) memmove(next + delta, next, (size_t)(end - next));
    dstr_setlen(*s, dstr_len(*s) + (size_t)delta);
    memcpy(p, seq, (size_t)seqlen);
    end += delta;

updated:
    /* Step 4: merge equal adjacent VALs, up to 5 opcodes from prev. */
    p = prev ? prev : sparse;
    for (int scan = 5; p < end && scan--;) {
        if (IS_XZERO(p)) {
            p += 2;
            continue;
        }
        if (IS_ZERO(p)) {
            p++;
            continue;
        }
        if (p + 1 < end && IS_VAL(p + 1)) {
            int v1 = VAL_VALUE(p), v2 = VAL_VALUE(p + 1);
            int len = VAL_LEN(p) + VAL_LEN(p + 1);
            if (v1 == v2 && len <= SPARSE_VAL_MAX_LEN) {
                set_val(p + 1, v1, len);
                memmove(p, p + 1, (size_t)(end - p - 1));
                end--;
                dstr_setlen(*s, dstr_len(*s) - 1);
                continue; /* try the merged one with its right neighbour */
            }
        }
        p++;
    }
    hll_cache_invalidate(*s);
    return 1;

promote:
    if (hll_to_dense(s) < 0) return -1;
    /* A promotion always comes with a register to raise. */
    return dense_set((unsigned char *)*s + HLL_HDR_SIZE, index, count);
}

int hll_set(dstr *s, long index, uint8_t count, long long sparse_max) {
    if (hll_encoding(*s) == HLL_DENSE)
        return dense_set((unsigned char *)*s + HLL_HDR_SIZE, index, count);
    return sparse_set(s, index, count, sparse_max);
}

int hll_add(dstr *s, const void *ele, size_t len, long long sparse_max) {
    long index;
    int count = hll_pattern(ele, len, &index);
    return hll_set(s, index, (uint8_t)count, sparse_max);
}

/* Walk a sparse HLL's opcodes: fn(arg, first register, run, value). The
 * number of registers covered, or -1 when a VAL runs past the end. */
static long sparse_walk(const dstr s, int (*fn)(void *, long, int, int), void *arg) {
    const uint8_t *p = (const uint8_t *)s + HLL_HDR_SIZE;
    const uint8_t *end = (const uint8_t *)s + dstr_len(s);
    long idx = 0;
    while (p < end) {
        int run, val = 0;
        if (IS_ZERO(p)) {
            run = ZERO_LEN(p);
            p++;
        } else if (IS_XZERO(p)) {
            run = XZERO_LEN(p);
            p += 2;
        } else {
            run = VAL_LEN(p);
            val = VAL_VALUE(p);
            p++;
        }
        if (fn(arg, idx, run, val) < 0) return -1;
        idx += run;
    }
    return idx;
}

/* ---- merge and count ------------------------------------------------------ */

static int merge_run(void *arg, long first, int run, int val) {
    uint8_t *max = arg;
    if (!val) return 0;
    if (first + run > HLL_REGISTERS) return -1; /* overflow */
    for (long i = first; i < first + run; i++)
        if (val > max[i]) max[i] = (uint8_t)val;
    return 0;
}

int hll_merge_into(uint8_t max[HLL_REGISTERS], const dstr s) {
    if (hll_encoding(s) == HLL_DENSE) {
        const unsigned char *regs = (const unsigned char *)s + HLL_HDR_SIZE;
        for (long i = 0; i < HLL_REGISTERS; i++) {
            uint8_t v = hll_dense_get(regs, i);
            if (v > max[i]) max[i] = v;
        }
        return 0;
    }
    return sparse_walk(s, merge_run, max) == HLL_REGISTERS ? 0 : -1;
}

static double sigma(double x) {
    if (x == 1.) return INFINITY;
    double z_prime, y = 1, z = x;
    do {
        x *= x;
        z_prime = z;
        z += x * y;
        y += y;
    } while (z_prime != z);
    return z;
}

static double tau(double x) {
    if (x == 0. || x == 1.) return 0.;
    double z_prime, y = 1.0, z = 1 - x;
    do {
        x = sqrt(x);
        z_prime = z;
        y *= 0.5;
        z -= pow(1 - x, 2) * y;
    } while (z_prime != z);
    return z / 3;
}

static uint64_t estimate(const int histo[64]) {
    double m = HLL_REGISTERS;
    double z = m * tau((m - histo[HLL_Q + 1]) / m);
    for (int j = HLL_Q; j >= 1; --j) {
        z += histo[j];
        z *= 0.5;
    }
    z += m * sigma(histo[0] / m);
    return (uint64_t)llroundl(HLL_ALPHA_INF * m * m / z);
}

static int histo_run(void *arg, long first, int run, int val) {
    (void)first;
    ((int *)arg)[val] += run;
    return 0;
}

uint64_t hll_count(const dstr s, int *invalid) {
    int histo[64] = {0};
    if (hll_encoding(s) == HLL_DENSE) {
        const unsigned char *regs = (const unsigned char *)s + HLL_HDR_SIZE;
        for (long i = 0; i < HLL_REGISTERS; i++) histo[hll_dense_get(regs, i)]++;
    } else if (sparse_walk(s, histo_run, histo) != HLL_REGISTERS && invalid) {
        *invalid = 1;
    }
    return estimate(histo);
}

uint64_t hll_count_registers(const uint8_t regs[HLL_REGISTERS]) {
    int histo[64] = {0};
    for (long i = 0; i < HLL_REGISTERS; i++) histo[regs[i] & 63]++;
    return estimate(histo);
}
