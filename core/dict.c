/* dict: chained hash table with incremental rehashing.
 *
 * Layout. A dict has two bucket arrays, table[0] and table[1], each a power
 * of two long (or absent), of singly linked chains of dict_entry. Normally
 * only table[0] exists. An entry is the 24 bytes of dict_entry and nothing
 * else: the keyspace holds millions of them, so the hash is not cached and
 * is recomputed when an entry moves.
 *
 * Incremental rehash. Growing (load factor 1, or 5 while resizing is
 * disabled for a fork child) or shrinking (below 10% full) allocates
 * table[1] at the new size and sets rehash_idx to 0. From then on every
 * find/add/delete first moves one non-empty bucket of table[0], the one at
 * rehash_idx, into table[1], so the cost of a resize is spread over many
 * operations, and the server cron can move more with dict_rehash_ms. While
 * rehashing:
 *   - buckets of table[0] below rehash_idx are empty;
 *   - a key lives in table[0] or table[1], so lookups and deletes probe
 *     both, and adds go to table[1] only;
 *   - no second resize starts.
 * When table[0] runs out of entries, table[1] becomes table[0]. Rehash
 * steps are skipped while `pause` is non-zero: a safe iterator holds
 * pointers to the entry it will return next, and a scan callback may call
 * dict_find, so neither can let chains move under it.
 *
 * SCAN cursor. The cursor is a bucket index that is incremented from the
 * top bit down ("reverse binary": reverse the bits, add one, reverse back),
 * after setting every bit above the current mask so the carry runs through
 * them. Why this survives resizes: in a table of 2^n buckets a key lives in
 * bucket hash & (2^n - 1). Growing to 2^(n+k) splits bucket b into the
 * buckets whose low n bits are b; shrinking merges them back. Reading the
 * low bits of an index backwards, a bucket of the small table and its
 * expansions in the large table are one contiguous range, and the cursor
 * walks these ranges in increasing order. So after a call returns cursor c,
 * every bucket whose reversed index precedes reversed c has been emitted, at
 * whatever size the table had then: growth never makes the scan miss or
 * repeat, and shrinking can only repeat (a merged bucket may hold keys
 * already emitted), never miss. While rehashing, a call emits the cursor's
 * bucket in the smaller table and all of its expansions in the larger one,
 * which covers both places any of those keys can be.
 *
 * Hashing is SipHash-1-2 (Aumasson and Bernstein), keyed by a process seed
 * so that clients cannot pick keys that all land in one chain. */
#include "core/dict.h"

#include <limits.h>
#include <string.h>
#include <time.h>

#include "core/dstr.h"
#include "core/mem.h"

#define DICT_MIN_SIZE 4
#define DICT_FORCE_GROW_RATIO 5 /* grow past this load even when disabled */
#define DICT_MIN_FILL_PCT 10    /* shrink below this fill */

struct dict {
    const dict_type *type;
    dict_entry **table[2];
    size_t size[2]; /* buckets: 0 or a power of two */
    size_t used[2]; /* entries */
    long rehash_idx; /* next table[0] bucket to move; -1 when not rehashing */
    int pause;       /* live safe iterators and scans */
};

static int resize_allowed = 1;

/* ---- small helpers ---------------------------------------------------- */

/* splitmix64: sampling only needs a cheap, decent spread, not secrecy. */
static _Thread_local uint64_t rng_state = 0x2545f4914f6cdd1dULL;

static uint64_t rng_next(void) {
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static int rehashing(const dict *d) {
    return d->rehash_idx != -1;
}

static uint64_t key_hash(const dict *d, const void *key) {
    return d->type->hash(key);
}

static void free_entry(dict *d, dict_entry *e) {
    if (d->type->key_free) d->type->key_free(e->key);
    if (d->type->val_free) d->type->val_free(e->v.val);
    mem_free(e);
}

/* Bucket count for at least `want` entries, or 0 when it could not be
 * allocated or indexed by rehash_idx. */
static size_t table_size_for(size_t want) {
    size_t limit = SIZE_MAX / sizeof(dict_entry *);
    if (limit > (size_t)LONG_MAX) limit = (size_t)LONG_MAX;
    size_t s = DICT_MIN_SIZE;
    while (s < want) {
        if (s > limit / 2) return 0;
        s <<= 1;
    }
    return s;
}

static void free_table(dict *d, int t) {
    for (size_t i = 0; i < d->size[t] && d->used[t] > 0; i++) {
        dict_entry *e = d->table[t][i];
        while (e) {
            dict_entry *next = e->next;
            free_entry(d, e);
            d->used[t]--;
            e = next;
        }
    }
    mem_free(d->table[t]);
    d->table[t] = NULL;
    d->size[t] = 0;
    d->used[t] = 0;
}

/* ---- rehashing -------------------------------------------------------- */

/* Move up to n non-empty buckets from table[0] to table[1], giving up after
 * 10*n empty ones so a sparse table cannot stall the caller. Adds the
 * number of buckets moved to *moved when given. Returns 1 while rehashing
 * remains. */
static int rehash(dict *d, int n, int *moved) {
    if (!rehashing(d)) return 0;
    long empty_budget = (long)n * 10;
    size_t mask1 = d->size[1] - 1;
    while (n-- > 0 && d->used[0] > 0) {
        /* used[0] > 0 guarantees a non-empty bucket at or after rehash_idx. */
        while (!d->table[0][d->rehash_idx]) {
            d->rehash_idx++;
            if (--empty_budget <= 0) return 1;
        }
        dict_entry *e = d->table[0][d->rehash_idx];
        while (e) {
            dict_entry *next = e->next;
            size_t idx = key_hash(d, e->key) & mask1;
            e->next = d->table[1][idx];
            d->table[1][idx] = e;
            d->used[0]--;
            d->used[1]++;
            e = next;
        }
        d->table[0][d->rehash_idx] = NULL;
        d->rehash_idx++;
        if (moved) (*moved)++;
    }
    if (d->used[0] > 0) return 1;
    mem_free(d->table[0]);
    d->table[0] = d->table[1];
    d->size[0] = d->size[1];
    d->used[0] = d->used[1];
    d->table[1] = NULL;
    d->size[1] = 0;
    d->used[1] = 0;
    d->rehash_idx = -1;
    return 0;
}

/* The step every lookup and update pays while a resize is in progress. */
static void rehash_step(dict *d) {
    if (rehashing(d) && d->pause == 0) rehash(d, 1, NULL);
}

static int resize(dict *d, size_t want) {
    if (rehashing(d) || want < d->used[0]) return -1;
    size_t size = table_size_for(want);
    if (size == 0 || size == d->size[0]) return -1;
    dict_entry **table = mem_calloc(size * sizeof(dict_entry *));
    if (!d->table[0]) {
        d->table[0] = table;
        d->size[0] = size;
        return 0;
    }
    d->table[1] = table;
    d->size[1] = size;
    d->used[1] = 0;
    d->rehash_idx = 0;
    return 0;
}

static void grow_if_needed(dict *d) {
    if (rehashing(d)) return;
    if (d->size[0] == 0) {
        resize(d, DICT_MIN_SIZE);
        return;
    }
    if (d->used[0] < d->size[0]) return;
    if (resize_allowed || d->used[0] / d->size[0] > DICT_FORCE_GROW_RATIO)
        resize(d, d->used[0] * 2);
}

/* ---- lifecycle -------------------------------------------------------- */

dict *dict_create(const dict_type *type) {
    dict *d = mem_calloc(sizeof(*d));
    d->type = type;
    d->rehash_idx = -1;
    return d;
}

void dict_empty(dict *d) {
    free_table(d, 0);
    free_table(d, 1);
    d->rehash_idx = -1;
}

void dict_release(dict *d) {
    if (!d) return;
    dict_empty(d);
    mem_free(d);
}

size_t dict_size(const dict *d) {
    return d->used[0] + d->used[1];
}

size_t dict_buckets(const dict *d) {
    return d->size[0] + d->size[1];
}

int dict_is_rehashing(const dict *d) {
    return rehashing(d);
}

int dict_expand(dict *d, size_t size) {
    return resize(d, size);
}

void dict_resize_enabled(int enable) {
    resize_allowed = enable;
}

int dict_shrink_if_needed(dict *d) {
    if (!resize_allowed || rehashing(d) || d->size[0] <= DICT_MIN_SIZE) return 0;
    if (d->used[0] * 100 / d->size[0] >= DICT_MIN_FILL_PCT) return 0;
    return resize(d, d->used[0]) == 0;
}

int dict_rehash_steps(dict *d, int n) {
    if (d->pause > 0) return rehashing(d);
    return rehash(d, n, NULL);
}

static uint64_t monotonic_us(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

int dict_rehash_ms(dict *d, int ms) {
    if (d->pause > 0 || ms <= 0) return 0;
    uint64_t deadline = monotonic_us() + (uint64_t)ms * 1000u;
    int moved = 0;
    /* Check the clock every 100 buckets: a bucket moves in well under a
     * microsecond, so this overshoots by little and reads the clock rarely. */
    while (rehash(d, 100, &moved))
        if (monotonic_us() >= deadline) break;
    return moved;
}

/* ---- lookup and update ------------------------------------------------ */

dict_entry *dict_find(dict *d, const void *key) {
    if (dict_size(d) == 0) return NULL;
    rehash_step(d);
    uint64_t h = key_hash(d, key);
    for (int t = 0; t <= 1; t++) {
        if (d->size[t] == 0) continue;
        for (dict_entry *e = d->table[t][h & (d->size[t] - 1)]; e; e = e->next)
            if (e->key == key || d->type->key_eq(key, e->key)) return e;
        if (!rehashing(d)) break;
    }
    return NULL;
}

void *dict_fetch_val(dict *d, const void *key) {
    dict_entry *e = dict_find(d, key);
    return e ? e->v.val : NULL;
}

dict_entry *dict_add_raw(dict *d, void *key, dict_entry **existing) {
    return dict_add_raw_hashed(d, key, key_hash(d, key), existing);
}

dict_entry *dict_add_raw_hashed(dict *d, void *key, uint64_t h, dict_entry **existing) {
    rehash_step(d);
    grow_if_needed(d);
    for (int t = 0; t <= 1; t++) {
        if (d->size[t] == 0) continue;
        for (dict_entry *e = d->table[t][h & (d->size[t] - 1)]; e; e = e->next) {
            if (e->key == key || d->type->key_eq(key, e->key)) {
                if (existing) *existing = e;
                return NULL;
            }
        }
        if (!rehashing(d)) break;
    }
    /* During a rehash new entries go straight to the new table, so table[0]
     * only ever drains. Head insertion: recent keys are often hot. */
    int t = rehashing(d) ? 1 : 0;
    size_t idx = h & (d->size[t] - 1);
    dict_entry *e = mem_alloc(sizeof(*e));
    e->key = key;
    e->v.u64 = 0;
    e->next = d->table[t][idx];
    d->table[t][idx] = e;
    d->used[t]++;
    return e;
}

uint64_t dict_key_hash(const dict *d, const void *key) {
    return key_hash(d, key);
}

/* Each step loads only what the previous step prefetched, so the three
 * steps, issued a few operations apart, walk bucket -> entry -> key and
 * value without the operation itself waiting on memory. A hint: the
 * loads are of live memory, and a table that changes in between only
 * costs the miss. */
void dict_prefetch(const dict *d, uint64_t h, int step) {
    for (int t = 0; t <= 1; t++) {
        if (d->size[t] == 0) continue;
        dict_entry *const *slot = &d->table[t][h & (d->size[t] - 1)];
        if (step == 0) {
            __builtin_prefetch(slot, 0);
        } else if (*slot) {
            const dict_entry *e = *slot;
            if (step == 1) {
                __builtin_prefetch(e, 0);
            } else {
                /* dstr keys keep their length just before the bytes. */
                __builtin_prefetch((const char *)e->key - 1, 0);
                if (e->v.val) __builtin_prefetch(e->v.val, 0);
                if (e->next) __builtin_prefetch(e->next, 0);
            }
        }
        if (!rehashing(d)) break;
    }
}

void *dict_head_val(const dict *d, uint64_t h) {
    int t = rehashing(d) ? 1 : 0; /* new keys go to the new table */
    if (d->size[t] == 0) return NULL;
    const dict_entry *e = d->table[t][h & (d->size[t] - 1)];
    return e ? e->v.val : NULL;
}

int dict_add(dict *d, void *key, void *val) {
    dict_entry *e = dict_add_raw(d, key, NULL);
    if (!e) return -1;
    e->v.val = val;
    return 0;
}

dict_entry *dict_unlink(dict *d, const void *key) {
    if (dict_size(d) == 0) return NULL;
    rehash_step(d);
    uint64_t h = key_hash(d, key);
    for (int t = 0; t <= 1; t++) {
        if (d->size[t] == 0) continue;
        dict_entry **link = &d->table[t][h & (d->size[t] - 1)];
        for (dict_entry *e = *link; e; link = &e->next, e = e->next) {
            if (e->key == key || d->type->key_eq(key, e->key)) {
                *link = e->next;
                e->next = NULL;
                d->used[t]--;
                return e;
            }
        }
        if (!rehashing(d)) break;
    }
    return NULL;
}

void dict_free_unlinked(dict *d, dict_entry *e) {
    if (e) free_entry(d, e);
}

int dict_delete(dict *d, const void *key) {
    dict_entry *e = dict_unlink(d, key);
    if (!e) return -1;
    free_entry(d, e);
    return 0;
}

/* ---- sampling --------------------------------------------------------- */

dict_entry *dict_random_entry(dict *d) {
    if (dict_size(d) == 0) return NULL;
    rehash_step(d);
    dict_entry *head;
    if (rehashing(d)) {
        /* Treat table[0] from rehash_idx on, followed by table[1], as one
         * run of buckets; those below rehash_idx are known to be empty. */
        size_t first = (size_t)d->rehash_idx;
        size_t span = d->size[0] + d->size[1] - first;
        do {
            size_t i = first + rng_next() % span;
            head = i < d->size[0] ? d->table[0][i] : d->table[1][i - d->size[0]];
        } while (!head);
    } else {
        size_t mask = d->size[0] - 1;
        do head = d->table[0][rng_next() & mask];
        while (!head);
    }
    size_t len = 0;
    for (dict_entry *e = head; e; e = e->next) len++;
    size_t pick = rng_next() % len;
    while (pick--) head = head->next;
    return head;
}

size_t dict_sample(dict *d, dict_entry **out, size_t count) {
    size_t size = dict_size(d);
    if (size == 0 || count == 0) return 0;
    if (count > size) count = size;
    /* Help a pending rehash along in proportion to the work asked for. */
    for (size_t j = 0; j < count && rehashing(d) && d->pause == 0; j++) rehash(d, 1, NULL);

    int tables = rehashing(d) ? 2 : 1;
    size_t maxmask = d->size[0] - 1;
    if (tables == 2 && d->size[1] - 1 > maxmask) maxmask = d->size[1] - 1;
    size_t i = rng_next() & maxmask;
    size_t stored = 0, empty_run = 0, steps = count * 10;
    while (stored < count && steps-- > 0) {
        for (int t = 0; t < tables; t++) {
            if (t == 0 && tables == 2 && i < (size_t)d->rehash_idx) {
                /* Already moved out of table[0]; when it is past the end of
                 * the smaller table[1] too, skip to where keys remain. */
                if (i >= d->size[1]) i = (size_t)d->rehash_idx;
                continue;
            }
            if (i >= d->size[t]) continue;
            dict_entry *e = d->table[t][i];
            if (!e) {
                /* A long empty run means a sparse area: jump elsewhere. */
                if (++empty_run >= 5 && empty_run > count) {
                    i = rng_next() & maxmask;
                    empty_run = 0;
                }
                continue;
            }
            empty_run = 0;
            for (; e; e = e->next) {
                out[stored++] = e;
                if (stored == count) return stored;
            }
        }
        i = (i + 1) & maxmask;
    }
    /* A sparse table can exhaust the probes; callers looping until they
     * have enough samples must still make progress. */
    if (stored == 0) out[stored++] = dict_random_entry(d);
    return stored;
}

/* ---- iteration -------------------------------------------------------- */

void dict_iter_init(dict *d, dict_iter *it) {
    it->d = d;
    it->table = 0;
    it->index = -1;
    it->entry = NULL;
    it->next_entry = NULL;
    d->pause++;
}

#define DICT_ITER_AHEAD 16

dict_entry *dict_iter_next(dict_iter *it) {
    dict *d = it->d;
    for (;;) {
        if (!it->entry) {
            it->index++;
            if ((size_t)it->index >= d->size[it->table]) {
                if (it->table == 0 && rehashing(d)) {
                    it->table = 1;
                    it->index = 0;
                } else {
                    it->index = (long)d->size[it->table]; /* stay finished */
                    return NULL;
                }
            }
            /* Walking a large table, each chain head is a cache miss:
             * ask for the one a few buckets on before it is needed. */
            if ((size_t)it->index + DICT_ITER_AHEAD < d->size[it->table]) {
                const dict_entry *ahead = d->table[it->table][it->index + DICT_ITER_AHEAD];
                if (ahead) __builtin_prefetch(ahead, 0);
            }
            it->entry = d->table[it->table][it->index];
        } else {
            it->entry = it->next_entry;
        }
        if (it->entry) {
            /* Remember the successor now: the caller may free this entry. */
            it->next_entry = it->entry->next;
            return it->entry;
        }
    }
}

void dict_iter_done(dict_iter *it) {
    if (it->d) it->d->pause--;
    it->d = NULL;
}

/* ---- scan ------------------------------------------------------------- */

static unsigned long reverse_bits(unsigned long v) {
    _Static_assert(sizeof(unsigned long) == 8, "dict_scan assumes 64-bit cursors");
    v = ((v >> 1) & 0x5555555555555555UL) | ((v & 0x5555555555555555UL) << 1);
    v = ((v >> 2) & 0x3333333333333333UL) | ((v & 0x3333333333333333UL) << 2);
    v = ((v >> 4) & 0x0f0f0f0f0f0f0f0fUL) | ((v & 0x0f0f0f0f0f0f0f0fUL) << 4);
    return __builtin_bswap64(v);
}

/* Advance the cursor by one bucket of a table with this mask. */
static unsigned long cursor_next(unsigned long v, unsigned long mask) {
    v |= ~mask;
    return reverse_bits(reverse_bits(v) + 1);
}

static void scan_chain(const dict_entry *e, dict_scan_fn fn, void *priv) {
    while (e) {
        const dict_entry *next = e->next;
        fn(priv, e);
        e = next;
    }
}

unsigned long dict_scan(dict *d, unsigned long cursor, dict_scan_fn fn, void *priv) {
    if (dict_size(d) == 0) return 0;
    unsigned long v = cursor;
    d->pause++;
    if (!rehashing(d)) {
        unsigned long mask = d->size[0] - 1;
        scan_chain(d->table[0][v & mask], fn, priv);
        v = cursor_next(v, mask);
    } else {
        int small = d->size[0] <= d->size[1] ? 0 : 1;
        int large = 1 - small;
        unsigned long mask_s = d->size[small] - 1;
        unsigned long mask_l = d->size[large] - 1;
        scan_chain(d->table[small][v & mask_s], fn, priv);
        /* Then every bucket of the large table that this small bucket
         * expands to: those whose low bits equal v & mask_s. */
        do {
            scan_chain(d->table[large][v & mask_l], fn, priv);
            v = cursor_next(v, mask_l);
        } while (v & (mask_s ^ mask_l));
    }
    d->pause--;
    return v;
}

/* ---- hashing ---------------------------------------------------------- */

/* Round counts are overridable only so the test suite can check the code
 * against the published SipHash-2-4 vectors. */
#ifndef DICT_SIPHASH_C_ROUNDS
#define DICT_SIPHASH_C_ROUNDS 1
#endif
#ifndef DICT_SIPHASH_D_ROUNDS
#define DICT_SIPHASH_D_ROUNDS 2
#endif

static uint8_t hash_seed[16];

void dict_set_hash_seed(const uint8_t seed[16]) {
    memcpy(hash_seed, seed, sizeof(hash_seed));
    uint64_t mix;
    memcpy(&mix, seed, sizeof(mix));
    rng_state ^= mix;
}

static inline uint64_t rotl64(uint64_t x, int b) {
    return (x << b) | (x >> (64 - b));
}

static inline uint8_t ascii_lower(uint8_t c) {
    return (c >= 'A' && c <= 'Z') ? (uint8_t)(c + ('a' - 'A')) : c;
}

static inline uint64_t load_le64(const uint8_t *p, int nocase) {
    uint64_t w = 0;
    if (nocase) {
        for (int i = 7; i >= 0; i--) w = (w << 8) | ascii_lower(p[i]);
        return w;
    }
    memcpy(&w, p, sizeof(w));
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    w = __builtin_bswap64(w);
#endif
    return w;
}

#define SIP_ROUND(v0, v1, v2, v3)                                                          \
    do {                                                                               \
        v0 += v1;                                                                      \
        v1 = rotl64(v1, 13) ^ v0;                                                      \
        v0 = rotl64(v0, 32);                                                           \
        v2 += v3;                                                                      \
        v3 = rotl64(v3, 16) ^ v2;                                                      \
        v0 += v3;                                                                      \
        v3 = rotl64(v3, 21) ^ v0;                                                      \
        v2 += v1;                                                                      \
        v1 = rotl64(v1, 17) ^ v2;                                                      \
        v2 = rotl64(v2, 32);                                                           \
    } while (0)

/* SipHash: the 128-bit key initialises four lanes XORed with the ASCII of
 * "somepseudorandomlygeneratedbytes"; each 8-byte little-endian word m is
 * absorbed as v3 ^= m, C rounds, v0 ^= m; the last word carries the
 * leftover bytes and the length mod 256 in its top byte; finalisation XORs
 * 0xff into v2, runs D rounds and folds the lanes together. */
static inline __attribute__((always_inline)) uint64_t siphash(const uint8_t *in, size_t len,
                                                              int nocase) {
    uint64_t k0 = load_le64(hash_seed, 0), k1 = load_le64(hash_seed + 8, 0);
    uint64_t v0 = k0 ^ 0x736f6d6570736575ULL;
    uint64_t v1 = k1 ^ 0x646f72616e646f6dULL;
    uint64_t v2 = k0 ^ 0x6c7967656e657261ULL;
    uint64_t v3 = k1 ^ 0x7465646279746573ULL;
    const uint8_t *end = in + (len & ~(size_t)7);

    for (; in != end; in += 8) {
        uint64_t m = load_le64(in, nocase);
        v3 ^= m;
        for (int r = 0; r < DICT_SIPHASH_C_ROUNDS; r++) SIP_ROUND(v0, v1, v2, v3);
        v0 ^= m;
    }
    uint64_t last = (uint64_t)(len & 0xff) << 56;
    for (int i = (int)(len & 7) - 1; i >= 0; i--) {
        uint8_t c = nocase ? ascii_lower(in[i]) : in[i];
        last |= (uint64_t)c << (8 * i);
    }
    v3 ^= last;
    for (int r = 0; r < DICT_SIPHASH_C_ROUNDS; r++) SIP_ROUND(v0, v1, v2, v3);
    v0 ^= last;
    v2 ^= 0xff;
    for (int r = 0; r < DICT_SIPHASH_D_ROUNDS; r++) SIP_ROUND(v0, v1, v2, v3);
    return v0 ^ v1 ^ v2 ^ v3;
}

uint64_t dict_hash_bytes(const void *p, size_t len) {
    return siphash(p, len, 0);
}

uint64_t dict_hash_bytes_nocase(const void *p, size_t len) {
    return siphash(p, len, 1);
}

/* ---- dstr key callbacks ----------------------------------------------- */

uint64_t dict_dstr_hash(const void *key) {
    return dict_hash_bytes(key, dstr_len((const dstr)key));
}

uint64_t dict_dstr_hash_nocase(const void *key) {
    return dict_hash_bytes_nocase(key, dstr_len((const dstr)key));
}

int dict_dstr_eq(const void *a, const void *b) {
    size_t len = dstr_len((const dstr)a);
    return len == dstr_len((const dstr)b) && memcmp(a, b, len) == 0;
}

int dict_dstr_eq_nocase(const void *a, const void *b) {
    size_t len = dstr_len((const dstr)a);
    if (len != dstr_len((const dstr)b)) return 0;
    const uint8_t *x = a, *y = b;
    for (size_t i = 0; i < len; i++)
        if (ascii_lower(x[i]) != ascii_lower(y[i])) return 0;
    return 1;
}

void dict_dstr_free(void *s) {
    dstr_free(s);
}
