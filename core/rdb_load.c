/* rdb_load: the incremental RDB reader (versions 1 to 12).
 *
 * The loader is a state machine fed with bytes in any chunking. Input is
 * cut into units, each parsed all-or-nothing from the buffered bytes:
 *   HEADER  "REDIS" and four version digits;
 *   RECORD  one opcode with its arguments (SELECTDB, RESIZEDB, AUX,
 *           EXPIRETIME[_MS], IDLE, FREQ, FUNCTION2, SLOT_INFO, EOF), or a
 *           key: type byte, key string, and either the whole value (strings
 *           and the blob encodings: ziplist, listpack, intset, zipmap) or
 *           the element count of a collection, which starts ELEMS;
 *   ELEMS   one element of a collection (a member, a field/value pair, a
 *           member/score pair, or a quicklist node), until none is left;
 *   CRC     the 8-byte trailer (versions >= 5).
 * When a unit is not complete the loader records how many bytes it needs
 * from the unit's start and waits for them without re-parsing, so feeding a
 * 1 GB file one byte at a time stays linear. Nothing is allocated for a
 * unit before all its bytes are present, so an incomplete unit leaves no
 * trace.
 *
 * Keys are built into a staged set of dbs that no client can see, each
 * through a short queue that prefetches its dict chain (rdb_keyq.h); only
 * a complete file with a valid checksum is swapped into the server by
 * rdb_loader_commit(). A refused file (corruption, a module type,
 * more dbs than configured) frees the staged keys and leaves the server's
 * data untouched.
 *
 * Values are rebuilt in Ringmaster's own encodings with the conversion
 * rules Redis applies on load (a listpack hash with too many pairs becomes
 * a table, a small ZSET_2 becomes a listpack...), so OBJECT ENCODING after
 * a load matches Redis for the same file. Element-level corruption that
 * Redis detects (duplicate members or fields, NaN scores) is refused the
 * same way. */
#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/crc64.h"
#include "core/db.h"
#include "core/functions.h"
#include "core/log.h"
#include "core/lzf.h"
#include "core/mem.h"
#include "core/rdb.h"
#include "core/rdb_blob.h"
#include "core/rdb_keyq.h"
#include "core/rdb_load_int.h"
#include "core/rdb_load_value.h"
#include "core/util.h"

enum { ST_HEADER, ST_RECORD, ST_ELEMS, ST_CRC, ST_DONE, ST_ERROR };

/* Presizing hints from the file are capped: a corrupt count must not turn
 * into a huge allocation before any element has arrived. */
#define PRESIZE_CAP (1u << 24)

struct rdb_loader {
    server *srv;
    int flags;
    int state;
    char err[512];
    rdb_load_info info;
    /* input: buf[pos..len) is unparsed; crc covers buf[..crc_pos) */
    unsigned char *buf;
    size_t len, cap, pos, crc_pos;
    size_t need; /* bytes the current unit needs from pos */
    uint64_t crc;
    int check_crc;
    size_t excess;
    /* scratch for decoded strings: slot 0 (keys, fields), 1 (values) */
    unsigned char *scratch[2];
    size_t scratch_cap[2];
    char ibuf[2][UTIL_LONG_STR_SIZE];
    dstr member; /* rdb_load_value's scratch for members and fields */
    /* staged dataset */
    server *stage;
    db *cur;
    rdb_keyq keyq; /* finished keys on their way into stage */
    long long now_ms;
    /* the key being read */
    long long expire_ms;
    int type;
    dstr key;
    obj *val;
    uint64_t left;
    obj *one;      /* RDB_LOAD_ONE_VALUE: the value read */
    int one_count; /* keys read in that mode */
};

static void repr_key(char *out, size_t outlen, const char *p, size_t len);
static int fail(rdb_loader *ld, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(rdb_loader *ld, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(ld->err, sizeof(ld->err), fmt, ap);
    va_end(ap);
    return U_ERR;
}

/* Corruption inside a value: where, and what was wrong. */
static int fail_value(rdb_loader *ld, const char *what) {
    char k[200];
    repr_key(k, sizeof(k), ld->key ? ld->key : "", ld->key ? dstr_len(ld->key) : 0);
    return fail(ld, "Corrupt RDB value for key '%s' (type %d, near offset %llu): %s", k,
                ld->type, (unsigned long long)(ld->info.bytes + ld->pos), what);
}

const char *rdb_type_name(int type) {
    switch (type) {
    case RDB_TYPE_STRING: return "string";
    case RDB_TYPE_LIST:
    case RDB_TYPE_LIST_ZIPLIST:
    case RDB_TYPE_LIST_QUICKLIST:
    case RDB_TYPE_LIST_QUICKLIST_2: return "list";
    case RDB_TYPE_SET:
    case RDB_TYPE_SET_INTSET:
    case RDB_TYPE_SET_LISTPACK: return "set";
    case RDB_TYPE_ZSET:
    case RDB_TYPE_ZSET_2:
    case RDB_TYPE_ZSET_ZIPLIST:
    case RDB_TYPE_ZSET_LISTPACK: return "zset";
    case RDB_TYPE_HASH:
    case RDB_TYPE_HASH_ZIPMAP:
    case RDB_TYPE_HASH_ZIPLIST:
    case RDB_TYPE_HASH_LISTPACK: return "hash";
    case RDB_TYPE_HASH_METADATA_PRE_GA:
    case RDB_TYPE_HASH_LISTPACK_EX_PRE_GA:
    case RDB_TYPE_HASH_METADATA:
    case RDB_TYPE_HASH_LISTPACK_EX: return "hash with field expirations";
    case RDB_TYPE_MODULE_PRE_GA:
    case RDB_TYPE_MODULE_2: return "module";
    case RDB_TYPE_STREAM_LISTPACKS:
    case RDB_TYPE_STREAM_LISTPACKS_2:
    case RDB_TYPE_STREAM_LISTPACKS_3: return "stream";
    default: return "unknown";
    }
}

/* ---- atoms -------------------------------------------------------------- */

static int c_need(rdb_loader *ld, const cur *c, size_t n) {
    if ((size_t)(c->end - c->p) >= n) return U_OK;
    size_t have = (size_t)(c->p - c->start);
    ld->need = n > SIZE_MAX - have ? SIZE_MAX : have + n;
    return U_MORE;
}

static int c_byte(rdb_loader *ld, cur *c, unsigned *out) {
    int rc = c_need(ld, c, 1);
    if (rc) return rc;
    *out = *c->p++;
    return U_OK;
}

static uint64_t le(const unsigned char *p, int n) {
    uint64_t v = 0;
    for (int i = 0; i < n; i++) v |= (uint64_t)p[i] << (8 * i);
    return v;
}

static uint64_t be(const unsigned char *p, int n) {
    uint64_t v = 0;
    for (int i = 0; i < n; i++) v = (v << 8) | p[i];
    return v;
}

/* A length, or (*enc set) the code of a special string encoding. */
static int c_len(rdb_loader *ld, cur *c, uint64_t *out, int *enc) {
    unsigned b;
    int rc = c_byte(ld, c, &b);
    if (rc) return rc;
    if (enc) *enc = 0;
    switch (b >> 6) {
    case 0: *out = b & 0x3F; return U_OK;
    case 1:
        if ((rc = c_need(ld, c, 1))) return rc;
        *out = ((uint64_t)(b & 0x3F) << 8) | *c->p++;
        return U_OK;
    case 2:
        if (b == 0x80) {
            if ((rc = c_need(ld, c, 4))) return rc;
            *out = be(c->p, 4);
            c->p += 4;
            return U_OK;
        }
        if (b == 0x81) {
            if ((rc = c_need(ld, c, 8))) return rc;
            *out = be(c->p, 8);
            c->p += 8;
            return U_OK;
        }
        return fail(ld, "Unknown length encoding %u in rdbLoadLen()", b);
    default:
        if (!enc) return fail(ld, "Unexpected string encoding where a length was expected");
        *enc = 1;
        *out = b & 0x3F;
        return U_OK;
    }
}

static unsigned char *scratch(rdb_loader *ld, int slot, size_t n) {
    if (ld->scratch_cap[slot] < n) {
        mem_free(ld->scratch[slot]);
        ld->scratch_cap[slot] = n < 256 ? 256 : n;
        ld->scratch[slot] = mem_alloc(ld->scratch_cap[slot]);
    }
    return ld->scratch[slot];
}

/* A string: plain, int-encoded (rendered in decimal into ibuf[slot]) or
 * LZF (decompressed into scratch[slot]). The view is valid until the same
 * slot is used again or the unit ends. */
static int c_string(rdb_loader *ld, cur *c, sview *out, int slot) {
    uint64_t len = 0;
    int enc, rc;
    if ((rc = c_len(ld, c, &len, &enc))) return rc;
    if (!enc) {
        if ((rc = c_need(ld, c, len))) return rc;
        out->p = (const char *)c->p;
        out->len = (size_t)len;
        c->p += len;
        return U_OK;
    }
    if (len <= 2) {
        int w = 1 << len;
        if ((rc = c_need(ld, c, (size_t)w))) return rc;
        uint64_t u = le(c->p, w);
        c->p += w;
        long long v = w == 1 ? (int8_t)u : w == 2 ? (int16_t)u : (int32_t)u;
        int n = util_ll_to_str(ld->ibuf[slot], sizeof(ld->ibuf[slot]), v);
        out->p = ld->ibuf[slot];
        out->len = (size_t)n;
        return U_OK;
    }
    if (len == 3) {
        uint64_t clen, ulen;
        if ((rc = c_len(ld, c, &clen, NULL)) || (rc = c_len(ld, c, &ulen, NULL))) return rc;
        if ((rc = c_need(ld, c, clen))) return rc;
        /* LZF expands at most 88 times (3 bytes -> 264): a larger claim is
         * corruption, caught before allocating for it. */
        if (clen == 0 || ulen == 0 || ulen / 90 > clen)
            return fail(ld, "Invalid LZF compressed string");
        unsigned char *dst = scratch(ld, slot, (size_t)ulen);
        if (lzf_decompress(c->p, (size_t)clen, dst, (size_t)ulen) < 0)
            return fail(ld, "Invalid LZF compressed string");
        c->p += clen;
        out->p = (const char *)dst;
        out->len = (size_t)ulen;
        return U_OK;
    }
    return fail(ld, "Unknown RDB string encoding type %d", (int)len);
}

int rdbl_need(rdb_loader *ld, cur *c, size_t n) { return c_need(ld, c, n); }
int rdbl_len(rdb_loader *ld, cur *c, uint64_t *out) { return c_len(ld, c, out, NULL); }
int rdbl_string(rdb_loader *ld, cur *c, sview *out, int slot) { return c_string(ld, c, out, slot); }

static int c_double_bin(rdb_loader *ld, cur *c, double *d) {
    int rc = c_need(ld, c, 8);
    if (rc) return rc;
    uint64_t u = le(c->p, 8);
    memcpy(d, &u, 8);
    c->p += 8;
    return U_OK;
}

/* The pre-RDB-8 textual double: a length byte (253 nan, 254 +inf,
 * 255 -inf) and the digits. */
static int c_double_old(rdb_loader *ld, cur *c, double *d) {
    unsigned n;
    int rc = c_byte(ld, c, &n);
    if (rc) return rc;
    if (n == 253) *d = NAN;
    else if (n == 254) *d = INFINITY;
    else if (n == 255) *d = -INFINITY;
    else {
        if ((rc = c_need(ld, c, n))) return rc;
        char buf[256];
        memcpy(buf, c->p, n);
        buf[n] = '\0';
        c->p += n;
        char *end;
        *d = strtod(buf, &end);
        if (n == 0 || *end) return fail(ld, "Invalid double value in RDB");
    }
    return U_OK;
}

/* ---- keys ---------------------------------------------------------------- */

static void repr_key(char *out, size_t outlen, const char *p, size_t len) {
    size_t o = 0;
    for (size_t i = 0; i < len && o + 5 < outlen; i++) {
        unsigned char ch = (unsigned char)p[i];
        if (ch >= 32 && ch < 127 && ch != '\'' && ch != '\\') out[o++] = (char)ch;
        else o += (size_t)snprintf(out + o, outlen - o, "\\x%02x", ch);
    }
    if (len && o + 5 >= outlen && o + 4 < outlen) {
        memcpy(out + o, "...", 3);
        o += 3;
    }
    out[o] = '\0';
}

/* The queue met a key its db already holds. Keys queued after it come
 * later in the file, so they are dropped: this is the error to report. */
static int fail_dup(rdb_loader *ld, rdb_keyq_dup *dup) {
    char k[200];
    repr_key(k, sizeof(k), dup->key, dstr_len(dup->key));
    dstr_free(dup->key);
    rdb_keyq_clear(&ld->keyq);
    ld->info.keys_loaded = ld->keyq.inserted;
    return fail(ld, "RDB has duplicated key '%s' in DB %d", k, dup->dbid);
}

/* Insert every queued key: before the file is declared complete, and
 * before any other error is reported, since a duplicate still in the
 * queue comes earlier in the file than whatever failed since. */
static int drain_keys(rdb_loader *ld) {
    rdb_keyq_dup dup;
    int rc = rdb_keyq_drain(&ld->keyq, &dup);
    ld->info.keys_loaded = ld->keyq.inserted;
    return rc < 0 ? fail_dup(ld, &dup) : U_OK;
}

/* Hand the finished value of ld->key to the staged db (by way of the
 * queue, see rdb_keyq.h). */
static int add_key(rdb_loader *ld) {
    dstr key = ld->key;
    obj *o = ld->val;
    long long when = ld->expire_ms;
    ld->key = NULL;
    ld->val = NULL;
    ld->expire_ms = -1;
    if (!o) { /* empty collection: skipped, as Redis does */
        dstr_free(key);
        return U_OK;
    }
    if (ld->flags & RDB_LOAD_ONE_VALUE) {
        dstr_free(key);
        if (ld->one_count++) {
            obj_free(o);
            return fail(ld, "More than one value in a DUMP payload");
        }
        ld->one = o;
        return U_OK;
    }
    if (when != -1 && !(ld->flags & RDB_LOAD_KEEP_EXPIRED) && when < ld->now_ms) {
        ld->info.keys_expired++;
        dstr_free(key);
        obj_free(o);
        return U_OK;
    }
    rdb_keyq_dup dup;
    int rc = rdb_keyq_push(&ld->keyq, ld->cur, key, o, when, &dup);
    ld->info.keys_loaded = ld->keyq.inserted;
    return rc < 0 ? fail_dup(ld, &dup) : U_OK;
}

static void decode_module_name(uint64_t id, char name[10]) {
    static const char cset[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    id >>= 10;
    for (int j = 8; j >= 0; j--) {
        name[j] = cset[id & 63];
        id >>= 6;
    }
    name[9] = '\0';
}

/* A key whose type we know the name of but cannot hold. */
static int refuse_type(rdb_loader *ld, cur *c, int type, const sview *key) {
    char k[200], extra[64] = "";
    repr_key(k, sizeof(k), key->p, key->len);
    if (type == RDB_TYPE_MODULE_2 || type == RDB_TYPE_MODULE_PRE_GA) {
        uint64_t id;
        int rc = c_len(ld, c, &id, NULL);
        if (rc) return rc;
        char name[10];
        decode_module_name(id, name);
        snprintf(extra, sizeof(extra), " '%s'", name);
    }
    return fail(ld,
                "Can't load key '%s' in DB %d: RDB type %d (%s%s) is not supported by "
                "Ringmaster; the file was not loaded",
                k, ld->cur->id, type, rdb_type_name(type), extra);
}

/* Type byte already read: the key and the whole value, or the element
 * count of a collection read element by element. */
static int unit_key(rdb_loader *ld, cur *c, int type) {
    sview key, v;
    int rc;
    if ((rc = c_string(ld, c, &key, 0))) return rc;
    switch (type) {
    case RDB_TYPE_STRING:
    case RDB_TYPE_HASH_ZIPMAP:
    case RDB_TYPE_LIST_ZIPLIST:
    case RDB_TYPE_SET_INTSET:
    case RDB_TYPE_ZSET_ZIPLIST:
    case RDB_TYPE_HASH_ZIPLIST:
    case RDB_TYPE_HASH_LISTPACK:
    case RDB_TYPE_ZSET_LISTPACK:
    case RDB_TYPE_SET_LISTPACK: {
        if ((rc = c_string(ld, c, &v, 1))) return rc;
        ld->key = dstr_new(key.p, key.len);
        ld->type = type;
        obj *o = NULL;
        char why[128] = "";
        if (type == RDB_TYPE_STRING)
            o = obj_string_from_dstr_encoded(dstr_new(v.p, v.len));
        else if (rdb_value_from_blob(ld->srv, &ld->member, type, (const unsigned char *)v.p,
                                     v.len, &o, why, sizeof(why)) < 0)
            return fail_value(ld, why);
        ld->val = o;
        return add_key(ld);
    }
    case RDB_TYPE_LIST:
    case RDB_TYPE_SET:
    case RDB_TYPE_ZSET:
    case RDB_TYPE_ZSET_2:
    case RDB_TYPE_HASH:
    case RDB_TYPE_LIST_QUICKLIST:
    case RDB_TYPE_LIST_QUICKLIST_2: {
        uint64_t n;
        if ((rc = c_len(ld, c, &n, NULL))) return rc;
        ld->key = dstr_new(key.p, key.len);
        ld->type = type;
        ld->left = n;
        ld->val = n ? rdb_value_new(ld->srv, type, n > PRESIZE_CAP ? PRESIZE_CAP : n) : NULL;
        if (!n) return add_key(ld);
        ld->state = ST_ELEMS;
        return U_OK;
    }
    case RDB_TYPE_STREAM_LISTPACKS:
    case RDB_TYPE_STREAM_LISTPACKS_2:
    case RDB_TYPE_STREAM_LISTPACKS_3: {
        char why[128] = "";
        obj *o = NULL;
        ld->type = type;
        ld->key = dstr_new(key.p, key.len); /* the stream reuses the key's slot */
        rc = rdb_load_stream(ld, c, type, &o, why, sizeof(why));
        if (rc == U_ERR && why[0]) return fail_value(ld, why);
        if (rc != U_OK) {
            dstr_free(ld->key);
            ld->key = NULL;
            return rc;
        }
        ld->val = o;
        return add_key(ld);
    }
    default:
        if (type <= RDB_TYPE_HASH_LISTPACK_EX && type != 8)
            return refuse_type(ld, c, type, &key);
        return fail(ld, "Unknown RDB encoding type %d", type);
    }
}

/* One element of the collection being read. */
static int unit_elem(rdb_loader *ld, cur *c) {
    sview a, b;
    double score = 0;
    char why[128] = "";
    int rc;
    switch (ld->type) {
    case RDB_TYPE_ZSET_2:
    case RDB_TYPE_ZSET:
        if ((rc = c_string(ld, c, &a, 0))) return rc;
        rc = ld->type == RDB_TYPE_ZSET_2 ? c_double_bin(ld, c, &score)
                                         : c_double_old(ld, c, &score);
        if (rc) return rc;
        b.p = NULL;
        b.len = 0;
        break;
    case RDB_TYPE_HASH:
        if ((rc = c_string(ld, c, &a, 0)) || (rc = c_string(ld, c, &b, 1))) return rc;
        break;
    case RDB_TYPE_LIST_QUICKLIST_2: {
        uint64_t container;
        if ((rc = c_len(ld, c, &container, NULL))) return rc;
        if ((rc = c_string(ld, c, &a, 0))) return rc;
        if (container != 1 && container != 2)
            return fail_value(ld, "Quicklist integrity check failed.");
        b.p = NULL;
        b.len = container; /* 1 plain, 2 packed */
        break;
    }
    default: /* LIST, SET, LIST_QUICKLIST */
        if ((rc = c_string(ld, c, &a, 0))) return rc;
        b.p = NULL;
        b.len = 0;
    }
    if (rdb_value_add(ld->srv, &ld->member, ld->type, ld->val, a.p, a.len, b.p, b.len, score,
                      why, sizeof(why)) < 0)
        return fail_value(ld, why);
    if (--ld->left == 0) {
        ld->val = rdb_value_finish(ld->srv, ld->type, ld->val);
        ld->state = ST_RECORD;
        return add_key(ld);
    }
    return U_OK;
}

/* ---- records -------------------------------------------------------------- */

static int aux_field(rdb_loader *ld, const sview *k, const sview *v) {
    char val[128];
    size_t n = v->len < sizeof(val) - 1 ? v->len : sizeof(val) - 1;
    memcpy(val, v->p, n);
    val[n] = '\0';
    rdb_load_info *in = &ld->info;
#define AUX_IS(name) (k->len == strlen(name) && !memcmp(k->p, name, k->len))
    if (AUX_IS("redis-ver")) {
        snprintf(in->redis_ver, sizeof(in->redis_ver), "%.31s", val);
        /* The file (or a master sending it) wrote this: escaped. */
        char shown[64];
        log_msg(LL_NOTICE, "Loading RDB produced by version %s",
                log_repr(shown, sizeof(shown), v->p, v->len));
    } else if (AUX_IS("ctime")) {
        in->ctime = strtoll(val, NULL, 10);
        long long age = (long long)time(NULL) - in->ctime;
        log_msg(LL_NOTICE, "RDB age %lld seconds", age < 0 ? 0 : age);
    } else if (AUX_IS("used-mem")) {
        in->used_mem = strtoll(val, NULL, 10);
        log_msg(LL_NOTICE, "RDB memory usage when created %.2f Mb",
                (double)in->used_mem / (1024 * 1024));
    } else if (AUX_IS("repl-stream-db")) {
        in->repl_stream_db = atoi(val);
    } else if (AUX_IS("repl-id")) {
        if (v->len == 40) {
            memcpy(in->repl_id, v->p, 40);
            in->repl_id[40] = '\0';
            in->has_repl = 1;
        }
    } else if (AUX_IS("repl-offset")) {
        in->repl_offset = strtoll(val, NULL, 10);
    } else if (AUX_IS("aof-base")) {
        in->aof_base = atoi(val);
    }
#undef AUX_IS
    return U_OK;
}

/* A function library: its code, registered into the staged store without
 * the client-side checks (functions.c), as whatever wrote the file held
 * it. A malformed shebang or a library name seen twice is refused, as
 * Redis refuses the file. */
static int unit_function(rdb_loader *ld, cur *c) {
    sview v;
    int rc;
    char why[256];
    if ((rc = c_string(ld, c, &v, 1))) return rc;
    fn_lib *lib = fn_lib_parse((const char *)v.p, v.len, NULL, 0, why, sizeof(why));
    if (!lib || fn_store_add(ld->stage->functions, lib, 0, why, sizeof(why)) < 0) {
        fn_lib_free(lib);
        return fail(ld, "Failed loading library: Failed creating the library: %s", why);
    }
    ld->info.functions_loaded++;
    return U_OK;
}

static int unit_record(rdb_loader *ld, cur *c) {
    unsigned op;
    int rc;
    uint64_t a, b;
    sview k, v;
    if ((rc = c_byte(ld, c, &op))) return rc;
    switch (op) {
    case RDB_OPCODE_EXPIRETIME_MS:
        if ((rc = c_need(ld, c, 8))) return rc;
        ld->expire_ms = (long long)le(c->p, 8);
        c->p += 8;
        return U_OK;
    case RDB_OPCODE_EXPIRETIME:
        if ((rc = c_need(ld, c, 4))) return rc;
        ld->expire_ms = (long long)(int32_t)le(c->p, 4) * 1000;
        c->p += 4;
        return U_OK;
    case RDB_OPCODE_IDLE: return c_len(ld, c, &a, NULL);
    case RDB_OPCODE_FREQ: return c_byte(ld, c, &op);
    case RDB_OPCODE_SELECTDB:
        if ((rc = c_len(ld, c, &a, NULL))) return rc;
        if (a >= (uint64_t)ld->stage->dbnum)
            return fail(ld, "FATAL: Data file was created with a Redis server configured to "
                            "handle more than %d databases. Exiting",
                        ld->stage->dbnum);
        ld->cur = &ld->stage->dbs[a];
        return U_OK;
    case RDB_OPCODE_RESIZEDB:
        if ((rc = c_len(ld, c, &a, NULL)) || (rc = c_len(ld, c, &b, NULL))) return rc;
        dict_expand(ld->cur->keys, (size_t)(a > PRESIZE_CAP ? PRESIZE_CAP : a));
        dict_expand(ld->cur->expires, (size_t)(b > PRESIZE_CAP ? PRESIZE_CAP : b));
        return U_OK;
    case RDB_OPCODE_SLOT_INFO: /* slot id, slot size, expires slot size */
        if ((rc = c_len(ld, c, &a, NULL)) || (rc = c_len(ld, c, &a, NULL)) ||
            (rc = c_len(ld, c, &a, NULL)))
            return rc;
        return U_OK;
    case RDB_OPCODE_AUX:
        if ((rc = c_string(ld, c, &k, 0)) || (rc = c_string(ld, c, &v, 1))) return rc;
        return aux_field(ld, &k, &v);
    case RDB_OPCODE_FUNCTION2: return unit_function(ld, c);
    case RDB_OPCODE_FUNCTION_PRE_GA:
        return fail(ld, "Pre-release function format not supported.");
    case RDB_OPCODE_MODULE_AUX: {
        if ((rc = c_len(ld, c, &a, NULL))) return rc;
        char name[10];
        decode_module_name(a, name);
        return fail(ld, "The RDB file contains AUX module data I can't load: no matching "
                        "module '%s'",
                    name);
    }
    case RDB_OPCODE_EOF:
        ld->state = ld->info.version >= 5 ? ST_CRC : ST_DONE;
        return U_OK;
    default: return unit_key(ld, c, (int)op);
    }
}

static int unit_header(rdb_loader *ld, cur *c) {
    int rc = c_need(ld, c, 9);
    if (rc) return rc;
    if (memcmp(c->p, "REDIS", 5) != 0) return fail(ld, "Wrong signature trying to load DB from file");
    int ver = 0;
    for (int i = 5; i < 9; i++) {
        if (c->p[i] < '0' || c->p[i] > '9') return fail(ld, "Wrong signature trying to load DB from file");
        ver = ver * 10 + (c->p[i] - '0');
    }
    if (ver < 1 || ver > RDB_MAX_READ_VERSION)
        return fail(ld, "Can't handle RDB format version %d", ver);
    ld->info.version = ver;
    c->p += 9;
    ld->state = ST_RECORD;
    return U_OK;
}

static void crc_sync(rdb_loader *ld) {
    if (ld->check_crc && ld->pos > ld->crc_pos)
        ld->crc = crc64(ld->crc, ld->buf + ld->crc_pos, ld->pos - ld->crc_pos);
    ld->crc_pos = ld->pos;
}

static int unit_crc(rdb_loader *ld, cur *c) {
    int rc = c_need(ld, c, 8);
    if (rc) return rc;
    uint64_t expected = le(c->p, 8);
    c->p += 8;
    if (ld->check_crc && expected != 0 && expected != ld->crc)
        return fail(ld, "Wrong RDB checksum expected: (%llx) got (%llx). Aborting now.",
                    (unsigned long long)expected, (unsigned long long)ld->crc);
    ld->state = ST_DONE;
    return U_OK;
}

/* ---- driving -------------------------------------------------------------- */

static void run(rdb_loader *ld) {
    while (ld->state != ST_DONE && ld->state != ST_ERROR) {
        size_t avail = ld->len - ld->pos;
        if (avail < ld->need || avail == 0) return;
        if (ld->state == ST_CRC) crc_sync(ld); /* the trailer is not checksummed */
        cur c = {ld->buf + ld->pos, ld->buf + ld->pos, ld->buf + ld->len};
        int rc;
        switch (ld->state) {
        case ST_HEADER: rc = unit_header(ld, &c); break;
        case ST_RECORD: rc = unit_record(ld, &c); break;
        case ST_ELEMS: rc = unit_elem(ld, &c); break;
        default: rc = unit_crc(ld, &c); break;
        }
        if (rc == U_MORE) return;
        if (rc == U_ERR) {
            drain_keys(ld);
            ld->state = ST_ERROR;
            return;
        }
        ld->pos += (size_t)(c.p - c.start);
        ld->need = 0;
        if (ld->state == ST_DONE && drain_keys(ld) == U_ERR) ld->state = ST_ERROR;
    }
}

rdb_loader *rdb_loader_new(server *s, int flags) {
    rdb_loader *ld = mem_calloc(sizeof(*ld));
    ld->srv = s;
    ld->flags = flags;
    ld->state = ST_HEADER;
    ld->check_crc = s->cfg.rdbchecksum;
    ld->expire_ms = -1;
    ld->info.repl_stream_db = -1;
    ld->now_ms = util_ms_time();
    ld->stage = mem_calloc(sizeof(server));
    /* A DUMP payload's value never reaches a db: one staged db will do. */
    ld->stage->cfg.databases = (flags & RDB_LOAD_ONE_VALUE) ? 1 : s->dbnum;
    db_init_all(ld->stage);
    ld->stage->functions = fn_store_new();
    ld->cur = &ld->stage->dbs[0];
    return ld;
}

void *rdb_loader_reserve(rdb_loader *ld, size_t len) {
    /* Drop what was parsed (after checksumming it) to make the room. */
    if (ld->state != ST_DONE && ld->state != ST_ERROR) {
        crc_sync(ld);
        if (ld->pos) {
            ld->info.bytes += ld->pos;
            memmove(ld->buf, ld->buf + ld->pos, ld->len - ld->pos);
            ld->len -= ld->pos;
            ld->pos = ld->crc_pos = 0;
        }
    }
    if (ld->len + len > ld->cap) {
        size_t cap = ld->cap ? ld->cap : 64 * 1024;
        while (cap < ld->len + len) cap *= 2;
        ld->buf = mem_realloc(ld->buf, cap);
        ld->cap = cap;
    }
    return ld->buf + ld->len;
}

int rdb_loader_feed(rdb_loader *ld, const void *p, size_t len) {
    if (ld->state != ST_DONE && ld->state != ST_ERROR)
        memcpy(rdb_loader_reserve(ld, len), p, len);
    return rdb_loader_feed_reserved(ld, len);
}

int rdb_loader_feed_reserved(rdb_loader *ld, size_t len) {
    if (ld->state == ST_DONE) {
        ld->excess += len;
        return RDB_LOAD_DONE;
    }
    if (ld->state == ST_ERROR) return RDB_LOAD_ERR;
    ld->len += len;
    /* Every value built stamps its LRU clock (one-second resolution): one
     * clock read per chunk rather than one per key. */
    util_clock_freeze();
    run(ld);
    util_clock_thaw();
    if (ld->state == ST_DONE) {
        ld->excess = ld->len - ld->pos;
        ld->info.bytes += ld->pos;
        ld->len = ld->pos = ld->crc_pos = 0;
        return RDB_LOAD_DONE;
    }
    return ld->state == ST_ERROR ? RDB_LOAD_ERR : RDB_LOAD_MORE;
}

int rdb_loader_finish(rdb_loader *ld) {
    if (ld->state == ST_DONE) return RDB_LOAD_DONE;
    if (ld->state != ST_ERROR) {
        if (drain_keys(ld) == U_OK)
            fail(ld, "Short read or OOM loading DB. Unrecoverable error, aborting now.");
        ld->state = ST_ERROR;
    }
    return RDB_LOAD_ERR;
}

const char *rdb_loader_error(const rdb_loader *ld) { return ld->err; }
const rdb_load_info *rdb_loader_info(const rdb_loader *ld) { return &ld->info; }
size_t rdb_loader_excess(const rdb_loader *ld) { return ld->excess; }

void rdb_loader_commit(rdb_loader *ld) {
    server *s = ld->srv;
    if (ld->state != ST_DONE) return;
    db_flush(s, -1);
    for (int j = 0; j < s->dbnum; j++) {
        db *a = &s->dbs[j], *b = &ld->stage->dbs[j];
        dict *k = a->keys, *e = a->expires;
        a->keys = b->keys;
        a->expires = b->expires;
        b->keys = k;
        b->expires = e;
    }
    /* The file's libraries replace the server's, as a Redis replica's
     * full sync and DEBUG RELOAD end with the master's / the file's. */
    fn_store *f = s->functions;
    s->functions = ld->stage->functions;
    ld->stage->functions = f;
}

void rdb_loader_free(rdb_loader *ld) {
    if (!ld) return;
    dstr_free(ld->key);
    if (ld->val) obj_free(ld->val);
    rdb_keyq_clear(&ld->keyq);
    db_free_all(ld->stage);
    fn_store_free(ld->stage->functions);
    mem_free(ld->stage);
    mem_free(ld->buf);
    mem_free(ld->scratch[0]);
    mem_free(ld->scratch[1]);
    dstr_free(ld->member);
    if (ld->one) obj_free(ld->one);
    mem_free(ld);
}

int rdb_payload_check(const void *p, size_t len) {
    const unsigned char *b = p;
    if (len < 10) return -1;
    const unsigned char *footer = b + len - 10;
    unsigned ver = (unsigned)footer[0] | ((unsigned)footer[1] << 8);
    return ver > RDB_VERSION || crc64(0, b, len - 8) != le(footer + 2, 8) ? -1 : 0;
}

/* The payload's value is parsed by the file loader itself, framed as a
 * one-key file with an empty key name: the same code then builds values
 * from a DUMP and from a snapshot, with the same encodings and the same
 * corruption checks. The value type byte is checked first, so that no
 * opcode (SELECTDB, AUX...) can ride in a payload. */
int rdb_restore_payload(server *s, const void *p, size_t len, obj **out, const char **err) {
    static const char *bad_trailer = "DUMP payload version or checksum are wrong";
    static const char *bad_data = "Bad data format";
    const unsigned char *b = p;
    *out = NULL;
    if (rdb_payload_check(p, len) < 0) {
        *err = bad_trailer;
        return -1;
    }
    size_t vlen = len - 10;
    if (vlen == 0 || b[0] >= RDB_OPCODE_SLOT_INFO) {
        *err = bad_data;
        return -1;
    }
    rdb_loader *ld = rdb_loader_new(s, RDB_LOAD_KEEP_EXPIRED | RDB_LOAD_ONE_VALUE);
    ld->check_crc = 0;
    char hdr[16];
    snprintf(hdr, sizeof(hdr), "REDIS%04d", RDB_VERSION);
    static const unsigned char tail[9] = {RDB_OPCODE_EOF};
    unsigned char empty_key = 0;
    rdb_loader_feed(ld, hdr, 9);
    rdb_loader_feed(ld, b, 1);
    rdb_loader_feed(ld, &empty_key, 1);
    rdb_loader_feed(ld, b + 1, vlen - 1);
    int rc = rdb_loader_feed(ld, tail, sizeof(tail));
    if (rc != RDB_LOAD_DONE) rc = rdb_loader_finish(ld);
    if (rc == RDB_LOAD_DONE && ld->one) {
        *out = ld->one;
        ld->one = NULL;
    }
    rdb_loader_free(ld);
    if (!*out) {
        *err = bad_data;
        return -1;
    }
    return 0;
}

int rdb_load_file(server *s, const char *filename, int flags, rdb_load_info *info, char *err,
                  size_t errlen) {
    int fd = open(filename, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        snprintf(err, errlen, "%s", strerror(errno));
        return errno == ENOENT ? -2 : -1;
    }
    rdb_loader *ld = rdb_loader_new(s, flags);
    /* Read straight into the loader's buffer: no copy of each chunk. */
    const size_t chunk = 1024 * 1024;
    int rc = RDB_LOAD_MORE;
    while (rc == RDB_LOAD_MORE) {
        ssize_t n = read(fd, rdb_loader_reserve(ld, chunk), chunk);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
            snprintf(ld->err, sizeof(ld->err), "Error reading the RDB file: %s", strerror(errno));
            rc = RDB_LOAD_ERR;
            break;
        }
        rc = n == 0 ? rdb_loader_finish(ld) : rdb_loader_feed_reserved(ld, (size_t)n);
    }
    close(fd);
    if (rc == RDB_LOAD_DONE) {
        rdb_loader_commit(ld);
        if (info) *info = ld->info;
        rdb_loader_free(ld);
        return 0;
    }
    snprintf(err, errlen, "%s", ld->err);
    if (info) *info = ld->info;
    rdb_loader_free(ld);
    return -1;
}
