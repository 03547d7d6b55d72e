/* t_hll: the HyperLogLog commands (PFADD PFCOUNT PFMERGE PFDEBUG
 * PFSELFTEST) over the string values hll.c lays out.
 *
 * What a replica must share with Redis 7.0:
 *   - PFADD creates the key (an empty sparse HLL) and counts one change
 *     for that plus one per element that raised a register; only then is
 *     it propagated, with a "pfadd" event and the cached cardinality marked
 *     stale.
 *   - PFCOUNT of one key whose cache is stale computes the estimate and
 *     writes it into the value's header: a read-only command that modifies
 *     the key, so it counts as a change and is propagated as is (the
 *     replica computes the same number and writes the same bytes). PFCOUNT
 *     of several keys estimates their union and changes nothing.
 *   - PFMERGE always writes the destination (a "pfadd" event), dense when
 *     any source is dense, and the cache stale.
 *   - PFDEBUG GETREG and TODENSE turn a sparse HLL dense and count a change
 *     so the conversion reaches the replicas.
 * A string that is not an HLL gets "WRONGTYPE Key is not a valid
 * HyperLogLog string value."; a sparse HLL whose opcodes do not add up to
 * 16384 registers gets "INVALIDOBJ Corrupted HLL object detected". */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "core/commands.h"
#include "core/db.h"
#include "core/hll.h"
#include "core/mem.h"
#include "core/notify.h"
#include "core/reply.h"
#include "core/util.h"

#define ERR_NOT_HLL "WRONGTYPE Key is not a valid HyperLogLog string value."
#define ERR_CORRUPT_HLL "INVALIDOBJ Corrupted HLL object detected"

/* Redis's isHLLObjectOrReply: 0 when `o` holds an HLL. */
static int check_hll(client *c, const obj *o) {
    if (o->type != OBJ_STRING) {
        reply_error(c, ERR_WRONGTYPE);
        return -1;
    }
    if (o->enc == ENC_INT || !hll_header_ok(o->ptr, dstr_len(o->ptr))) {
        reply_error(c, ERR_NOT_HLL);
        return -1;
    }
    return 0;
}

/* The HLL at `key` for writing: checked, made a raw string. NULL when
 * missing (nothing replied) or not an HLL (replied). */
static obj *hll_for_write(client *c, const dstr key, int *bad) {
    obj *o = db_lookup_write(c->srv, c->db, key);
    *bad = 0;
    if (!o) return NULL;
    if (check_hll(c, o) < 0) {
        *bad = 1;
        return NULL;
    }
    return string_unshare_raw(c, o, key);
}

void cmd_pfadd(client *c) {
    server *s = c->srv;
    int bad, updated = 0;
    obj *o = hll_for_write(c, c->argv[1], &bad);
    if (bad) return;
    if (!o) {
        o = obj_string_raw(hll_new());
        db_add(s, c->db, c->argv[1], o);
        updated++;
    }
    for (int j = 2; j < c->argc; j++) {
        dstr v = o->ptr;
        int r = hll_add(&v, c->argv[j], dstr_len(c->argv[j]), s->cfg.hll_sparse_max_bytes);
        o->ptr = v;
        if (r < 0) {
            reply_error(c, ERR_CORRUPT_HLL);
            return;
        }
        updated += r;
    }
    if (updated) {
        hll_cache_invalidate(o->ptr);
        db_signal_modified(s, c->db, c->argv[1]);
        notify_event(s, NOTIFY_STRING, "pfadd", c->argv[1], c->db->id);
        server_dirty(c, updated);
    }
    reply_int(c, updated ? 1 : 0);
}

/* max[] = the registers' union over argv[from..]; -1 when replied with an
 * error. Missing keys count as empty HLLs. `dense` tells whether any
 * source was dense. */
static int union_registers(client *c, int from, uint8_t *max, int *dense) {
    *dense = 0;
    for (int j = from; j < c->argc; j++) {
        obj *o = db_lookup_read(c->srv, c->db, c->argv[j]);
        if (!o) continue;
        if (check_hll(c, o) < 0) return -1;
        if (hll_encoding(o->ptr) == HLL_DENSE) *dense = 1;
        if (hll_merge_into(max, o->ptr) < 0) {
            reply_error(c, ERR_CORRUPT_HLL);
            return -1;
        }
    }
    return 0;
}

void cmd_pfcount(client *c) {
    if (c->argc > 2) {
        uint8_t *max = mem_calloc(HLL_REGISTERS);
        int dense;
        if (union_registers(c, 1, max, &dense) == 0) reply_int(c, (long long)hll_count_registers(max));
        mem_free(max);
        return;
    }
    obj *o = db_lookup_read(c->srv, c->db, c->argv[1]);
    if (!o) {
        reply_int(c, 0);
        return;
    }
    if (check_hll(c, o) < 0) return;
    o = string_unshare_raw(c, o, c->argv[1]);
    uint64_t card;
    if (hll_cache_valid(o->ptr)) {
        card = hll_cache_get(o->ptr);
    } else {
        int invalid = 0;
        card = hll_count(o->ptr, &invalid);
        if (invalid) {
            reply_error(c, ERR_CORRUPT_HLL);
            return;
        }
        hll_cache_set(o->ptr, card);
        /* A change to the key, made by a read-only command: it is
         * propagated all the same. */
        db_signal_modified(c->srv, c->db, c->argv[1]);
        server_dirty(c, 1);
    }
    reply_int(c, (long long)card);
}

void cmd_pfmerge(client *c) {
    server *s = c->srv;
    uint8_t *max = mem_calloc(HLL_REGISTERS);
    int dense, bad;
    if (union_registers(c, 1, max, &dense) < 0) goto done;
    obj *o = hll_for_write(c, c->argv[1], &bad);
    if (!o) {
        o = obj_string_raw(hll_new());
        db_add(s, c->db, c->argv[1], o);
    }
    dstr v = o->ptr;
    if (dense && hll_to_dense(&v) < 0) {
        reply_error(c, ERR_CORRUPT_HLL);
        goto done;
    }
    for (long j = 0; j < HLL_REGISTERS; j++)
        if (max[j]) hll_set(&v, j, max[j], s->cfg.hll_sparse_max_bytes);
    hll_cache_invalidate(v);
    o->ptr = v;
    db_signal_modified(s, c->db, c->argv[1]);
    notify_event(s, NOTIFY_STRING, "pfadd", c->argv[1], c->db->id);
    server_dirty(c, 1);
    reply_ok(c);
done:
    mem_free(max);
}

/* Turn the HLL dense for PFDEBUG; 1 when it was sparse, -1 (replied) when
 * corrupted. The conversion counts as a change, so it is propagated. */
static int pfdebug_densify(client *c, obj *o) {
    if (hll_encoding(o->ptr) != HLL_SPARSE) return 0;
    dstr v = o->ptr;
    if (hll_to_dense(&v) < 0) {
        reply_error(c, ERR_CORRUPT_HLL);
        return -1;
    }
    o->ptr = v;
    server_dirty(c, 1);
    return 1;
}

static void pfdebug_decode(client *c, const dstr v) {
    if (hll_encoding(v) != HLL_SPARSE) {
        reply_error(c, "ERR HLL encoding is not sparse");
        return;
    }
    dstr out = dstr_empty();
    const uint8_t *p = (const uint8_t *)v + HLL_HDR_SIZE, *end = (const uint8_t *)v + dstr_len(v);
    while (p < end) {
        if ((*p & 0xc0) == 0) {
            out = dstr_catfmt(out, "z:%d ", (*p & 0x3f) + 1);
            p++;
        } else if ((*p & 0xc0) == 0x40) {
            int len = p + 1 < end ? (((*p & 0x3f) << 8) | p[1]) + 1 : ((*p & 0x3f) << 8) + 1;
            out = dstr_catfmt(out, "Z:%d ", len);
            p += 2;
        } else {
            out = dstr_catfmt(out, "v:%d,%d ", ((*p >> 2) & 0x1f) + 1, (*p & 3) + 1);
            p++;
        }
    }
    size_t len = dstr_len(out);
    while (len && out[len - 1] == ' ') len--;
    reply_bulk(c, out, len);
    dstr_free(out);
}

void cmd_pfdebug(client *c) {
    const dstr sub = c->argv[1];
    obj *o = db_lookup_write(c->srv, c->db, c->argv[2]);
    if (!o) {
        reply_error(c, "ERR The specified key does not exist");
        return;
    }
    if (check_hll(c, o) < 0) return;
    o = string_unshare_raw(c, o, c->argv[2]);
    int known = arg_is(sub, "getreg") || arg_is(sub, "decode") || arg_is(sub, "encoding") ||
                arg_is(sub, "todense");
    if (known && c->argc != 3) {
        reply_errorf(c, "ERR Wrong number of arguments for the '%s' subcommand", sub);
        return;
    }
    if (arg_is(sub, "getreg")) {
        if (pfdebug_densify(c, o) < 0) return;
        const unsigned char *regs = (const unsigned char *)o->ptr + HLL_HDR_SIZE;
        reply_array(c, HLL_REGISTERS);
        for (long j = 0; j < HLL_REGISTERS; j++) reply_int(c, hll_dense_get(regs, j));
    } else if (arg_is(sub, "decode")) {
        pfdebug_decode(c, o->ptr);
    } else if (arg_is(sub, "encoding")) {
        reply_status(c, hll_encoding(o->ptr) == HLL_DENSE ? "dense" : "sparse");
    } else if (arg_is(sub, "todense")) {
        int r = pfdebug_densify(c, o);
        if (r >= 0) reply_int(c, r);
    } else {
        reply_errorf(c, "ERR Unknown PFDEBUG subcommand '%s'", sub);
    }
}

/* PFSELFTEST, Redis's two tests: the six-bit register layout read back
 * after random writes, then up to ten million distinct elements added to a
 * dense and a sparse HLL side by side, checking at 1, 10, 100, ... that the
 * small ones stayed sparse, that both give one estimate and that it lies
 * within six standard errors (exactly 1 off at ten elements). Like Redis
 * it blocks the server for a few seconds. */
#define SELFTEST_CYCLES 1000

static uint64_t selftest_rand(uint64_t *state) {
    *state = *state * 6364136223846793005ULL + 1442695040888963407ULL;
    return *state >> 33;
}

static const char *selftest_registers(dstr dense, uint8_t *bytes, uint64_t *rng) {
    unsigned char *regs = (unsigned char *)dense + HLL_HDR_SIZE;
    for (int cycle = 0; cycle < SELFTEST_CYCLES; cycle++) {
        for (long i = 0; i < HLL_REGISTERS; i++) {
            bytes[i] = (uint8_t)(selftest_rand(rng) & 63);
            hll_dense_put(regs, i, bytes[i]);
        }
        for (long i = 0; i < HLL_REGISTERS; i++)
            if (hll_dense_get(regs, i) != bytes[i]) return "ERR TESTFAILED Register error";
    }
    return NULL;
}

static const char *selftest_estimates(client *c, dstr *dense, dstr *sparse, uint64_t seed,
                                      char *msg, size_t msglen) {
    double relerr = 1.04 / sqrt(HLL_REGISTERS);
    long long checkpoint = 1;
    long long sparse_max = c->srv->cfg.hll_sparse_max_bytes;
    for (long long j = 1; j <= 10000000; j++) {
        uint64_t ele = (uint64_t)j ^ seed;
        hll_add(dense, &ele, sizeof(ele), sparse_max);
        hll_add(sparse, &ele, sizeof(ele), sparse_max);
        if (j != checkpoint) continue;
        if (j < sparse_max / 2 && hll_encoding(*sparse) != HLL_SPARSE)
            return "ERR TESTFAILED sparse encoding not used";
        uint64_t card = hll_count(*dense, NULL);
        if (card != hll_count(*sparse, NULL)) return "ERR TESTFAILED dense/sparse disagree";
        long long abserr = checkpoint - (long long)card;
        unsigned long long maxerr = (unsigned long long)ceil(relerr * 6 * (double)checkpoint);
        if (j == 10) maxerr = 1;
        if (abserr < 0) abserr = -abserr;
        if (abserr > (long long)maxerr) {
            snprintf(msg, msglen, "ERR TESTFAILED Too big error. card:%llu abserr:%llu",
                     (unsigned long long)checkpoint, (unsigned long long)abserr);
            return msg;
        }
        checkpoint *= 10;
    }
    return NULL;
}

void cmd_pfselftest(client *c) {
    dstr dense = hll_new(), sparse = hll_new();
    uint8_t *bytes = mem_alloc(HLL_REGISTERS);
    uint64_t rng = (uint64_t)util_ms_time();
    char msg[128];
    hll_to_dense(&dense);
    const char *err = selftest_registers(dense, bytes, &rng);
    if (!err) {
        memset(dense + HLL_HDR_SIZE, 0, HLL_DENSE_SIZE - HLL_HDR_SIZE);
        uint64_t seed = selftest_rand(&rng) | selftest_rand(&rng) << 32;
        err = selftest_estimates(c, &dense, &sparse, seed, msg, sizeof(msg));
    }
    dstr_free(dense);
    dstr_free(sparse);
    mem_free(bytes);
    if (err)
        reply_error(c, err);
    else
        reply_ok(c);
}
