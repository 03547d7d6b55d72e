/* t_bitmap: the bit commands on string values (Redis's t_bitops.c).
 *
 * A bitmap is a plain string: bit 0 is the most significant bit of byte 0,
 * so other servers reading the same bytes see the same bits. The commands
 * follow Redis 7.0 exactly, including its quirks a replica must share:
 *   - SETBIT, and BITFIELD with a SET or INCRBY, create the key (a raw
 *     string of zero bytes) or zero-extend it up to the highest bit they
 *     write, even when the operation itself then fails on OVERFLOW FAIL;
 *   - SETBIT counts as a change (dirty, propagation, the "setbit" event)
 *     only when the string was created or grew or the bit flipped;
 *   - BITOP stores a raw string (dropping any TTL) and deletes the
 *     destination when every source is empty or missing;
 *   - BITCOUNT and BITPOS look the key up before parsing their range, so a
 *     missing key answers 0 (or BITPOS's -1/0) whatever the arguments;
 *   - BITFIELD's integers are big-endian bit fields at any bit offset; an
 *     offset written "#N" means N times the field's width.
 * Propagation is the command itself: every effect is deterministic. */
#include <stdint.h>
#include <string.h>

#include "core/commands.h"
#include "core/db.h"
#include "core/mem.h"
#include "core/notify.h"
#include "core/reply.h"
#include "core/util.h"

#define ERR_BIT_OFFSET "ERR bit offset is not an integer or out of range"
#define ERR_BIT_VALUE "ERR bit is not an integer or out of range"
#define ERR_BITFIELD_TYPE                                                                      \
    "ERR Invalid bitfield type. Use something like i16 u8. Note that u64 is not supported but " \
    "i64 is."

static int not_string(client *c, const obj *o) {
    if (o && o->type != OBJ_STRING) {
        reply_error(c, ERR_WRONGTYPE);
        return 1;
    }
    return 0;
}

/* A bit offset argument (Redis's getBitOffsetFromArgument): with `bits`
 * > 0, "#N" stands for N * bits. Offsets reaching past proto-max-bulk-len
 * bytes are refused. */
static int arg_bit_offset(client *c, const dstr arg, int bits, uint64_t *out) {
    long long v;
    size_t len = dstr_len(arg);
    int hash = bits > 0 && len > 0 && arg[0] == '#';
    if (!util_str_to_ll(arg + hash, len - (size_t)hash, &v)) {
        reply_error(c, ERR_BIT_OFFSET);
        return -1;
    }
    if (hash) v = (long long)((unsigned long long)v * (unsigned long long)bits);
    if (v < 0 || (v >> 3) >= c->srv->cfg.proto_max_bulk_len) {
        reply_error(c, ERR_BIT_OFFSET);
        return -1;
    }
    *out = (uint64_t)v;
    return 0;
}

/* The string at argv[1] for a write reaching bit `maxbit`: created as zero
 * bytes or zero-extended. NULL (replied) on WRONGTYPE. `grew` tells whether
 * the key is new or longer. */
static obj *string_for_bit_write(client *c, uint64_t maxbit, int *grew) {
    size_t need = (size_t)(maxbit >> 3) + 1;
    obj *o = db_lookup_write(c->srv, c->db, c->argv[1]);
    if (not_string(c, o)) return NULL;
    if (!o) {
        o = obj_string_raw(dstr_grow_zero(dstr_empty(), need));
        db_add(c->srv, c->db, c->argv[1], o);
        *grew = 1;
        return o;
    }
    o = string_unshare_raw(c, o, c->argv[1]);
    size_t old = dstr_len(o->ptr);
    if (need > old) o->ptr = dstr_grow_zero(o->ptr, need);
    *grew = need > old;
    return o;
}

void cmd_setbit(client *c) {
    uint64_t offset;
    long long on;
    if (arg_bit_offset(c, c->argv[2], 0, &offset) < 0) return;
    if (!util_str_to_ll(c->argv[3], dstr_len(c->argv[3]), &on) || (on & ~1LL)) {
        reply_error(c, ERR_BIT_VALUE);
        return;
    }
    int grew;
    obj *o = string_for_bit_write(c, offset, &grew);
    if (!o) return;
    unsigned char *p = (unsigned char *)o->ptr + (offset >> 3);
    int shift = 7 - (int)(offset & 7);
    int old = (*p >> shift) & 1;
    if (grew || old != on) {
        *p = (unsigned char)((*p & ~(1 << shift)) | (on << shift));
        db_signal_modified(c->srv, c->db, c->argv[1]);
        notify_event(c->srv, NOTIFY_STRING, "setbit", c->argv[1], c->db->id);
        server_dirty(c, 1);
    }
    reply_int(c, old);
}

void cmd_getbit(client *c) {
    uint64_t offset;
    if (arg_bit_offset(c, c->argv[2], 0, &offset) < 0) return;
    obj *o = db_lookup_read(c->srv, c->db, c->argv[1]);
    if (not_string(c, o)) return;
    int bit = 0;
    if (o) {
        char buf[32];
        size_t len;
        const unsigned char *p = (const unsigned char *)obj_string_bytes(o, buf, &len);
        if ((offset >> 3) < len) bit = (p[offset >> 3] >> (7 - (offset & 7))) & 1;
    }
    reply_int(c, bit);
}

/* ---- ranges: BITCOUNT and BITPOS ---------------------------------------- */

/* A range in bytes [start, end] of a string of `len` bytes, with masks for
 * the bits of the first and last byte that lie outside a BIT range. */
typedef struct bit_range {
    long long start, end;
    unsigned char first_out, last_out; /* bits outside the range */
} bit_range;

static int arg_range_unit(client *c, const dstr arg, int *isbit) {
    if (arg_is(arg, "bit")) {
        *isbit = 1;
    } else if (arg_is(arg, "byte")) {
        *isbit = 0;
    } else {
        reply_error(c, ERR_SYNTAX);
        return -1;
    }
    return 0;
}

/* Normalise start/end (in bytes or bits) as Redis does and turn them into
 * a byte range with edge masks; start > end means empty. */
static void range_resolve(bit_range *r, long long start, long long end, long long len,
                          int isbit) {
    long long total = isbit ? len << 3 : len;
    if (start < 0) start += total;
    if (end < 0) end += total;
    if (start < 0) start = 0;
    if (end < 0) end = 0;
    if (end >= total) end = total - 1;
    r->first_out = r->last_out = 0;
    if (isbit && start <= end) {
        r->first_out = (unsigned char)(~((1 << (8 - (start & 7))) - 1) & 0xff);
        r->last_out = (unsigned char)((1 << (7 - (end & 7))) - 1);
        start >>= 3;
        end >>= 3;
    }
    r->start = start;
    r->end = end;
}

static long long popcount(const unsigned char *p, size_t n) {
    long long count = 0;
    while (n >= 8) {
        uint64_t w;
        memcpy(&w, p, 8);
        count += __builtin_popcountll(w);
        p += 8;
        n -= 8;
    }
    while (n--) count += __builtin_popcount(*p++);
    return count;
}

/* The bytes BITCOUNT and BITPOS read (into `buf` for an int value), or
 * NULL having replied `missing` (or WRONGTYPE). */
static const unsigned char *range_source(client *c, long long missing, char buf[32],
                                         size_t *len) {
    obj *o = db_lookup_read(c->srv, c->db, c->argv[1]);
    if (!o) {
        reply_int(c, missing);
        return NULL;
    }
    if (not_string(c, o)) return NULL;
    return (const unsigned char *)obj_string_bytes(o, buf, len);
}

void cmd_bitcount(client *c) {
    char buf[32];
    size_t slen;
    const unsigned char *p = range_source(c, 0, buf, &slen);
    if (!p) return;
    bit_range r = {0, (long long)slen - 1, 0, 0};
    if (c->argc == 4 || c->argc == 5) {
        long long start, end;
        int isbit = 0;
        if (arg_ll(c, c->argv[2], &start) < 0 || arg_ll(c, c->argv[3], &end) < 0) return;
        if (start < 0 && end < 0 && start > end) {
            reply_int(c, 0);
            return;
        }
        if (c->argc == 5 && arg_range_unit(c, c->argv[4], &isbit) < 0) return;
        range_resolve(&r, start, end, (long long)slen, isbit);
    } else if (c->argc != 2) {
        reply_error(c, ERR_SYNTAX);
        return;
    }
    if (r.start > r.end) {
        reply_int(c, 0);
        return;
    }
    long long count = popcount(p + r.start, (size_t)(r.end - r.start + 1));
    unsigned char edges[2] = {(unsigned char)(p[r.start] & r.first_out),
                              (unsigned char)(p[r.end] & r.last_out)};
    count -= popcount(edges, 2);
    reply_int(c, count);
}

/* The first bit equal to `bit` in bits [from, to] of p, or -1. */
static long long find_bit(const unsigned char *p, long long from, long long to, int bit) {
    unsigned char skip = bit ? 0x00 : 0xff;
    long long i = from;
    while (i <= to) {
        if ((i & 7) == 0 && i + 7 <= to && p[i >> 3] == skip) {
            i += 8;
            continue;
        }
        if (((p[i >> 3] >> (7 - (i & 7))) & 1) == bit) return i;
        i++;
    }
    return -1;
}

void cmd_bitpos(client *c) {
    long long bit;
    if (arg_ll(c, c->argv[2], &bit) < 0) return;
    if (bit != 0 && bit != 1) {
        reply_error(c, "ERR The bit argument must be 1 or 0.");
        return;
    }
    char buf[32];
    size_t slen;
    const unsigned char *p = range_source(c, bit ? -1 : 0, buf, &slen);
    if (!p) return;
    bit_range r = {0, (long long)slen - 1, 0, 0};
    int end_given = 0;
    if (c->argc >= 4 && c->argc <= 6) {
        long long start, end;
        int isbit = 0;
        if (arg_ll(c, c->argv[3], &start) < 0) return;
        if (c->argc == 6 && arg_range_unit(c, c->argv[5], &isbit) < 0) return;
        if (c->argc >= 5) {
            if (arg_ll(c, c->argv[4], &end) < 0) return;
            end_given = 1;
        } else {
            end = isbit ? ((long long)slen << 3) + 7 : (long long)slen - 1;
        }
        range_resolve(&r, start, end, (long long)slen, isbit);
    } else if (c->argc != 3) {
        reply_error(c, ERR_SYNTAX);
        return;
    }
    if (r.start > r.end) {
        reply_int(c, -1);
        return;
    }
    /* The bits the masks leave out are not part of the range. */
    long long from = (r.start << 3) + __builtin_popcount(r.first_out);
    long long to = (r.end << 3) + 7 - __builtin_popcount(r.last_out);
    long long pos = find_bit(p, from, to, (int)bit);
    /* Past the end of the string the bits are zeros, so a search for a 0
     * with no explicit end finds the first bit after the last byte. */
    if (pos < 0 && bit == 0 && !end_given) pos = (r.end + 1) << 3;
    reply_int(c, pos);
}

/* ---- BITOP --------------------------------------------------------------- */

enum { BITOP_AND, BITOP_OR, BITOP_XOR, BITOP_NOT };

void cmd_bitop(client *c) {
    server *s = c->srv;
    int op;
    if (arg_is(c->argv[1], "and")) {
        op = BITOP_AND;
    } else if (arg_is(c->argv[1], "or")) {
        op = BITOP_OR;
    } else if (arg_is(c->argv[1], "xor")) {
        op = BITOP_XOR;
    } else if (arg_is(c->argv[1], "not")) {
        op = BITOP_NOT;
    } else {
        reply_error(c, ERR_SYNTAX);
        return;
    }
    if (op == BITOP_NOT && c->argc != 4) {
        reply_error(c, "ERR BITOP NOT must be called with a single source key.");
        return;
    }
    int n = c->argc - 3;
    /* Sources are copied: the destination may be one of them. */
    dstr *src = mem_calloc((size_t)n * sizeof(dstr));
    size_t maxlen = 0;
    for (int j = 0; j < n; j++) {
        obj *o = db_lookup_read(s, c->db, c->argv[j + 3]);
        if (!o) continue;
        if (not_string(c, o)) {
            for (int k = 0; k < j; k++)
                if (src[k]) dstr_free(src[k]);
            mem_free(src);
            return;
        }
        char buf[32];
        size_t len;
        const char *p = obj_string_bytes(o, buf, &len);
        src[j] = dstr_new(p, len);
        if (len > maxlen) maxlen = len;
    }
    dstr res = NULL;
    if (maxlen) {
        res = dstr_grow_zero(dstr_empty(), maxlen);
        for (size_t i = 0; i < maxlen; i++) {
            unsigned char out = src[0] && i < dstr_len(src[0]) ? (unsigned char)src[0][i] : 0;
            if (op == BITOP_NOT) out = (unsigned char)~out;
            for (int j = 1; j < n; j++) {
                unsigned char b = src[j] && i < dstr_len(src[j]) ? (unsigned char)src[j][i] : 0;
                if (op == BITOP_AND)
                    out &= b;
                else if (op == BITOP_OR)
                    out |= b;
                else
                    out ^= b;
            }
            res[i] = (char)out;
        }
    }
    for (int j = 0; j < n; j++)
        if (src[j]) dstr_free(src[j]);
    mem_free(src);
    if (res) {
        db_set(s, c->db, c->argv[2], obj_string_raw(res), 0);
        notify_event(s, NOTIFY_STRING, "set", c->argv[2], c->db->id);
        server_dirty(c, 1);
    } else if (db_delete(s, c->db, c->argv[2])) {
        db_signal_modified(s, c->db, c->argv[2]);
        notify_event(s, NOTIFY_GENERIC, "del", c->argv[2], c->db->id);
        server_dirty(c, 1);
    }
    reply_int(c, (long long)maxlen);
}

/* ---- BITFIELD ------------------------------------------------------------ */

enum { BF_GET, BF_SET, BF_INCRBY };
enum { BF_WRAP, BF_SAT, BF_FAIL };

typedef struct bf_op {
    uint64_t offset;
    int64_t value; /* SET's value or INCRBY's increment */
    int opcode, overflow, bits, sign;
} bf_op;

static uint64_t bf_get_unsigned(const unsigned char *p, uint64_t offset, int bits) {
    uint64_t v = 0;
    for (int j = 0; j < bits; j++, offset++)
        v = (v << 1) | ((p[offset >> 3] >> (7 - (offset & 7))) & 1);
    return v;
}

static int64_t bf_get_signed(const unsigned char *p, uint64_t offset, int bits) {
    uint64_t v = bf_get_unsigned(p, offset, bits);
    if (bits < 64 && (v & ((uint64_t)1 << (bits - 1)))) v |= UINT64_MAX << bits;
    return (int64_t)v;
}

static void bf_set(unsigned char *p, uint64_t offset, int bits, uint64_t v) {
    for (int j = 0; j < bits; j++, offset++) {
        unsigned bit = (unsigned)(v >> (bits - 1 - j)) & 1;
        unsigned shift = 7 - (unsigned)(offset & 7);
        p[offset >> 3] = (unsigned char)((p[offset >> 3] & ~(1u << shift)) | (bit << shift));
    }
}

/* Redis's checkUnsignedBitfieldOverflow: whether value + incr leaves the
 * u<bits> range, and in *limit the value WRAP or SAT make of it. */
static int bf_unsigned_overflow(uint64_t value, int64_t incr, int bits, int how,
                                uint64_t *limit) {
    uint64_t max = ((uint64_t)1 << bits) - 1;
    int64_t maxincr = (int64_t)(max - value);
    int64_t minincr = (int64_t)(0 - value);
    int over = 0;
    if (value > max || (incr > 0 && incr > maxincr))
        over = 1;
    else if (incr < 0 && incr < minincr)
        over = -1;
    if (!over) return 0;
    if (how == BF_WRAP)
        *limit = (value + (uint64_t)incr) & max;
    else if (how == BF_SAT)
        *limit = over > 0 ? max : 0;
    return 1;
}

/* Redis's checkSignedBitfieldOverflow, with its arithmetic done unsigned
 * where Redis's may overflow. */
static int bf_signed_overflow(int64_t value, int64_t incr, int bits, int how, int64_t *limit) {
    int64_t max = bits == 64 ? INT64_MAX : (int64_t)(((uint64_t)1 << (bits - 1)) - 1);
    int64_t min = -max - 1;
    int64_t maxincr = (int64_t)((uint64_t)max - (uint64_t)value);
    int64_t minincr = (int64_t)((uint64_t)min - (uint64_t)value);
    int over = 0;
    if (value > max || (bits != 64 && incr > maxincr) ||
        (value >= 0 && incr > 0 && incr > maxincr))
        over = 1;
    else if (value < min || (bits != 64 && incr < minincr) ||
             (value < 0 && incr < 0 && incr < minincr))
        over = -1;
    if (!over) return 0;
    if (how == BF_WRAP) {
        uint64_t sum = (uint64_t)value + (uint64_t)incr;
        if (bits < 64) {
            uint64_t mask = UINT64_MAX << bits;
            if (sum & ((uint64_t)1 << (bits - 1)))
                sum |= mask;
            else
                sum &= ~mask;
        }
        *limit = (int64_t)sum;
    } else if (how == BF_SAT) {
        *limit = over > 0 ? max : min;
    }
    return 1;
}

static int arg_bitfield_type(client *c, const dstr arg, int *sign, int *bits) {
    long long n;
    if ((arg[0] != 'i' && arg[0] != 'u') || !util_str_to_ll(arg + 1, strlen(arg + 1), &n) ||
        n < 1 || n > (arg[0] == 'i' ? 64 : 63)) {
        reply_error(c, ERR_BITFIELD_TYPE);
        return -1;
    }
    *sign = arg[0] == 'i';
    *bits = (int)n;
    return 0;
}

/* Parse the operations; NULL (replied) on a bad one. */
static bf_op *bitfield_parse(client *c, int *nops, uint64_t *highest, int *readonly) {
    bf_op *ops = mem_alloc(sizeof(bf_op) * (size_t)c->argc);
    int n = 0, overflow = BF_WRAP;
    *readonly = 1;
    *highest = 0;
    for (int j = 2; j < c->argc; j++) {
        int rem = c->argc - j - 1;
        const dstr sub = c->argv[j];
        bf_op op = {0, 0, 0, overflow, 0, 0};
        if (arg_is(sub, "get") && rem >= 2) {
            op.opcode = BF_GET;
        } else if (arg_is(sub, "set") && rem >= 3) {
            op.opcode = BF_SET;
        } else if (arg_is(sub, "incrby") && rem >= 3) {
            op.opcode = BF_INCRBY;
        } else if (arg_is(sub, "overflow") && rem >= 1) {
            const dstr how = c->argv[++j];
            if (arg_is(how, "wrap")) {
                overflow = BF_WRAP;
            } else if (arg_is(how, "sat")) {
                overflow = BF_SAT;
            } else if (arg_is(how, "fail")) {
                overflow = BF_FAIL;
            } else {
                reply_error(c, "ERR Invalid OVERFLOW type specified");
                goto fail;
            }
            continue;
        } else {
            reply_error(c, ERR_SYNTAX);
            goto fail;
        }
        if (arg_bitfield_type(c, c->argv[j + 1], &op.sign, &op.bits) < 0) goto fail;
        if (arg_bit_offset(c, c->argv[j + 2], op.bits, &op.offset) < 0) goto fail;
        if (op.opcode != BF_GET) {
            long long v;
            *readonly = 0;
            if (*highest < op.offset + (uint64_t)op.bits - 1)
                *highest = op.offset + (uint64_t)op.bits - 1;
            if (arg_ll(c, c->argv[j + 3], &v) < 0) goto fail;
            op.value = v;
        }
        ops[n++] = op;
        j += op.opcode == BF_GET ? 2 : 3;
    }
    *nops = n;
    return ops;
fail:
    mem_free(ops);
    return NULL;
}

/* SET or INCRBY on the field; replies the old (SET) or new (INCRBY) value
 * and returns whether the field's bits changed, or replies a null and
 * returns -1 when OVERFLOW FAIL leaves the field alone. Redis 7.0 counts an operation as a change (dirty,
 * propagation, event) when it did or when the command created or extended
 * the string, but never one refused by OVERFLOW FAIL. */
static int bitfield_write(client *c, unsigned char *p, const bf_op *op) {
    int set = op->opcode == BF_SET;
    if (op->sign) {
        int64_t old = bf_get_signed(p, op->offset, op->bits), limit = 0;
        int64_t base = set ? op->value : old, incr = set ? 0 : op->value;
        int over = bf_signed_overflow(base, incr, op->bits, op->overflow, &limit);
        int64_t nv = over ? limit : (int64_t)((uint64_t)base + (uint64_t)incr);
        if (over && op->overflow == BF_FAIL) {
            reply_null(c);
            return -1;
        }
        reply_int(c, set ? old : nv);
        bf_set(p, op->offset, op->bits, (uint64_t)nv);
        return nv != old;
    } else {
        uint64_t old = bf_get_unsigned(p, op->offset, op->bits), limit = 0;
        uint64_t base = set ? (uint64_t)op->value : old;
        int64_t incr = set ? 0 : op->value;
        int over = bf_unsigned_overflow(base, incr, op->bits, op->overflow, &limit);
        uint64_t nv = over ? limit : base + (uint64_t)incr;
        if (over && op->overflow == BF_FAIL) {
            reply_null(c);
            return -1;
        }
        reply_int(c, (long long)(set ? old : nv));
        bf_set(p, op->offset, op->bits, nv);
        return nv != old;
    }
}

/* GET reads through a zero-padded copy of the (up to) 9 bytes it spans, so
 * a field past the end of the string reads as zeros. */
static void bitfield_read(client *c, const obj *o, const bf_op *op) {
    unsigned char window[9] = {0};
    uint64_t byte = op->offset >> 3;
    if (o) {
        char buf[32];
        size_t len;
        const char *p = obj_string_bytes(o, buf, &len);
        for (uint64_t i = 0; i < 9 && byte + i < len; i++) window[i] = (unsigned char)p[byte + i];
    }
    uint64_t at = op->offset - byte * 8;
    if (op->sign)
        reply_int(c, bf_get_signed(window, at, op->bits));
    else
        reply_int(c, (long long)bf_get_unsigned(window, at, op->bits));
}

static void bitfield_generic(client *c, int ro_command) {
    int nops, readonly, grew = 0;
    uint64_t highest;
    bf_op *ops = bitfield_parse(c, &nops, &highest, &readonly);
    if (!ops) return;
    obj *o;
    if (readonly) {
        o = db_lookup_read(c->srv, c->db, c->argv[1]);
        if (not_string(c, o)) goto done;
    } else {
        if (ro_command) {
            reply_error(c, "ERR BITFIELD_RO only supports the GET subcommand");
            goto done;
        }
        o = string_for_bit_write(c, highest, &grew);
        if (!o) goto done;
    }
    reply_array(c, nops);
    int changes = 0;
    for (int j = 0; j < nops; j++) {
        if (ops[j].opcode == BF_GET) {
            bitfield_read(c, o, &ops[j]);
        } else {
            int changed = bitfield_write(c, (unsigned char *)o->ptr, &ops[j]);
            if (changed > 0 || (changed == 0 && grew)) changes++;
        }
    }
    if (changes) {
        db_signal_modified(c->srv, c->db, c->argv[1]);
        notify_event(c->srv, NOTIFY_STRING, "setbit", c->argv[1], c->db->id);
        server_dirty(c, changes);
    }
done:
    mem_free(ops);
}

void cmd_bitfield(client *c) { bitfield_generic(c, 0); }
void cmd_bitfield_ro(client *c) { bitfield_generic(c, 1); }
