/* cmd_lcs: LCS, the longest common subsequence of two strings (Redis
 * 7.0's lcsCommand).
 *
 * The classic dynamic-programming table of uint32 lengths, (alen+1) x
 * (blen+1), refused beyond proto-max-bulk-len bytes as Redis does. The
 * walk back from the bottom-right corner builds the subsequence from its
 * end and, for IDX, the matching ranges in the same order Redis emits
 * them (last range first), with the same tie rule (when both directions
 * keep the same length, step back in the second string), so that replies
 * are byte for byte Redis's. A missing key is an empty string.
 *
 * IDX answers a two-entry map ("matches", "len"): a flat array of four in
 * RESP2, a map in RESP3. */
#include <stdint.h>
#include <string.h>

#include "core/commands.h"
#include "core/db.h"
#include "core/mem.h"
#include "core/reply.h"

typedef struct lcs_range {
    uint32_t a_start, a_end, b_start, b_end;
} lcs_range;

/* The string value of `key`, or "" when missing; 0, or -1 when the key
 * holds another type. */
static int lcs_operand(client *c, const dstr key, dstr *out) {
    obj *o = db_lookup_read(c->srv, c->db, key);
    if (o && o->type != OBJ_STRING) return -1;
    if (!o) {
        *out = dstr_empty();
        return 0;
    }
    char buf[32];
    size_t len;
    const char *p = obj_string_bytes(o, buf, &len);
    *out = dstr_new(p, len);
    return 0;
}

/* Walk the table back from (alen, blen): the subsequence into `result`
 * (when not NULL, of the LCS length) and, when `ranges` is not NULL, the
 * ranges of at least `minlen` bytes into *ranges / *nranges. */
static void lcs_walk(const uint32_t *t, const dstr a, const dstr b, char *result,
                     long long minlen, lcs_range **ranges, size_t *nranges) {
    uint32_t alen = (uint32_t)dstr_len(a), blen = (uint32_t)dstr_len(b);
#define T(i, j) t[(size_t)(j) + (size_t)(i) * (blen + 1)]
    uint32_t idx = T(alen, blen);
    uint32_t as = alen, ae = 0, bs = 0, be = 0; /* as == alen: no range open */
    size_t cap = 0;
    uint32_t i = alen, j = blen;
    while (i > 0 && j > 0) {
        int emit = 0;
        if (a[i - 1] == b[j - 1]) {
            if (result) result[idx - 1] = a[i - 1];
            if (as == alen) {
                as = ae = i - 1;
                bs = be = j - 1;
            } else if (as == i && bs == j) {
                as--;
                bs--;
            } else {
                emit = 1;
            }
            if (as == 0 || bs == 0) emit = 1;
            idx--;
            i--;
            j--;
        } else {
            if (T(i - 1, j) > T(i, j - 1))
                i--;
            else
                j--;
            if (as != alen) emit = 1;
        }
        if (emit) {
            uint32_t mlen = ae - as + 1;
            if (ranges && (minlen == 0 || mlen >= minlen)) {
                if (*nranges == cap) {
                    cap = cap ? cap * 2 : 8;
                    *ranges = mem_realloc(*ranges, cap * sizeof(lcs_range));
                }
                (*ranges)[(*nranges)++] = (lcs_range){as, ae, bs, be};
            }
            as = alen;
        }
    }
#undef T
}

void cmd_lcs(client *c) {
    dstr a = NULL, b = NULL;
    long long minlen = 0;
    int getlen = 0, getidx = 0, withlen = 0;
    if (lcs_operand(c, c->argv[1], &a) < 0 || lcs_operand(c, c->argv[2], &b) < 0) {
        reply_error(c, "ERR The specified keys must contain string values");
        goto out;
    }
    for (int j = 3; j < c->argc; j++) {
        int more = c->argc - 1 - j;
        if (arg_is(c->argv[j], "idx")) {
            getidx = 1;
        } else if (arg_is(c->argv[j], "len")) {
            getlen = 1;
        } else if (arg_is(c->argv[j], "withmatchlen")) {
            withlen = 1;
        } else if (arg_is(c->argv[j], "minmatchlen") && more) {
            if (arg_ll(c, c->argv[j + 1], &minlen) < 0) goto out;
            if (minlen < 0) minlen = 0;
            j++;
        } else {
            reply_error(c, ERR_SYNTAX);
            goto out;
        }
    }
    if (getidx && getlen) {
        reply_error(c, "ERR If you want both the length and indexes, please just use IDX.");
        goto out;
    }
    size_t alen = dstr_len(a), blen = dstr_len(b);
    if (alen >= UINT32_MAX - 1 || blen >= UINT32_MAX - 1) {
        reply_error(c, "ERR String too long for LCS");
        goto out;
    }
    unsigned long long cells = (unsigned long long)(alen + 1) * (blen + 1);
    if (cells * sizeof(uint32_t) > (unsigned long long)c->srv->cfg.proto_max_bulk_len) {
        reply_error(c, "ERR Insufficient memory, transient memory for LCS exceeds "
                       "proto-max-bulk-len");
        goto out;
    }
    uint32_t *t = mem_alloc(cells * sizeof(uint32_t));
    for (size_t i = 0; i <= alen; i++) {
        for (size_t j = 0; j <= blen; j++) {
            uint32_t *cell = &t[j + i * (blen + 1)];
            if (i == 0 || j == 0) {
                *cell = 0;
            } else if (a[i - 1] == b[j - 1]) {
                *cell = t[(j - 1) + (i - 1) * (blen + 1)] + 1;
            } else {
                uint32_t up = t[j + (i - 1) * (blen + 1)], left = cell[-1];
                *cell = up > left ? up : left;
            }
        }
    }
    uint32_t total = t[cells - 1];
    if (getidx) {
        lcs_range *r = NULL;
        size_t n = 0;
        lcs_walk(t, a, b, NULL, minlen, &r, &n);
        reply_map(c, 2);
        reply_bulk_cstr(c, "matches");
        reply_array(c, (long long)n);
        for (size_t k = 0; k < n; k++) {
            reply_array(c, 2 + withlen);
            reply_array(c, 2);
            reply_int(c, r[k].a_start);
            reply_int(c, r[k].a_end);
            reply_array(c, 2);
            reply_int(c, r[k].b_start);
            reply_int(c, r[k].b_end);
            if (withlen) reply_int(c, (long long)r[k].a_end - r[k].a_start + 1);
        }
        reply_bulk_cstr(c, "len");
        reply_int(c, total);
        mem_free(r);
    } else if (getlen) {
        reply_int(c, total);
    } else {
        char *result = mem_alloc(total + 1);
        lcs_walk(t, a, b, result, 0, NULL, NULL);
        reply_bulk(c, result, total);
        mem_free(result);
    }
    mem_free(t);
out:
    dstr_free(a);
    dstr_free(b);
}
