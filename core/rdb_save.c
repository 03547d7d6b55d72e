/* rdb_save: the RDB writer (version 10, what Redis 7.0 writes and loads).
 *
 * File layout:
 *   "REDIS0010"
 *   AUX redis-ver, redis-bits, ctime, used-mem, [repl-stream-db, repl-id,
 *       repl-offset], aof-base             (0xFA <string> <string>)
 *   per function library: FUNCTION2 (0xF5) <string code>, before the keys
 *       as Redis 7.0 writes them (so a loader registers them first)
 *   per non-empty db: SELECTDB <len>, RESIZEDB <keys> <expires>,
 *       then per key: [EXPIRETIME_MS <u64 LE>] <type> <key> <value>
 *   EOF (0xFF) <CRC64 of everything before, u64 LE; zero when
 *       rdbchecksum is off>
 *
 * Lengths: 00LLLLLL | 01LLLLLL LLLLLLLL | 0x80 <u32 BE> | 0x81 <u64 BE>.
 * Strings: <len> <bytes>, or a "special" length 11EEEEEE: 0 int8, 1 int16,
 * 2 int32 (little endian), 3 LZF (<compressed len> <plain len> <data>).
 * As Redis does, strings of up to 11 bytes that spell a 32-bit integer are
 * written as integers, and strings over 20 bytes are LZF-compressed when
 * rdbcompression is on and the result is smaller.
 *
 * Values are written in the encodings Redis 7.0 itself writes, so a file
 * loads in Redis with the same OBJECT ENCODING as here:
 *   string                    RDB_TYPE_STRING
 *   list (quicklist)          RDB_TYPE_LIST_QUICKLIST_2: <node count>, per
 *                             node <container 2 = packed> <listpack blob>
 *                             or <container 1 = plain> <element string>
 *   set intset / hashtable    RDB_TYPE_SET_INTSET <intset blob> /
 *                             RDB_TYPE_SET <count> <member>...
 *   hash listpack / hashtable RDB_TYPE_HASH_LISTPACK <listpack f,v,f,v> /
 *                             RDB_TYPE_HASH <count> <field> <value>...
 *   zset listpack / skiplist  RDB_TYPE_ZSET_LISTPACK <listpack m,s,m,s> /
 *                             RDB_TYPE_ZSET_2 <count> <member> <double LE>...
 *   stream                    RDB_TYPE_STREAM_LISTPACKS_2: nodes verbatim,
 *                             metadata, groups (see save_stream)
 * A quicklist node's run is already listpack entries (lpack_list.h), so a
 * node is written as header + run + terminator without re-encoding, except
 * in the rare run holding an entry whose backlen size differs from the one
 * Redis expects (see rdb_blob.c), which is re-encoded.
 *
 * Output goes through a 256 KiB buffer; the CRC is computed per flushed
 * block, so the sink sees few large writes and the checksum runs over long
 * spans. The writer never touches the dataset: a forked child runs it over
 * the parent's pages. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/crc64.h"
#include "core/db.h"
#include "core/durable.h"
#include "core/functions.h"
#include "core/log.h"
#include "core/lzf.h"
#include "core/mem.h"
#include "core/rdb.h"
#include "core/rdb_blob.h"
#include "core/stream.h"
#include "core/t_hash.h"
#include "core/t_list.h"
#include "core/t_set.h"
#include "core/t_zset.h"
#include "core/util.h"

#define WBUF_SIZE (256 * 1024)

typedef struct rdb_writer {
    const rdb_sink *sink;
    unsigned char *buf;
    size_t used;
    uint64_t crc;
    uint64_t bytes;
    int compress, checksum;
    int err; /* first sink error, negative errno */
    lzf_state *lzf;
    unsigned char *cbuf; /* compression output */
    size_t ccap;
    lp_builder lpb;
} rdb_writer;

/* ---- sinks -------------------------------------------------------------- */

static int fd_sink_write(void *priv, const void *p, size_t len) {
    int fd = *(int *)priv;
    const char *s = p;
    while (len) {
        ssize_t n = write(fd, s, len);
        if (n < 0) {
            if (errno == EINTR) continue;
            return -errno;
        }
        s += n;
        len -= (size_t)n;
    }
    return 0;
}

void rdb_sink_fd(rdb_sink *sk, int *fd) {
    sk->write = fd_sink_write;
    sk->priv = fd;
}

static int mem_sink_write(void *priv, const void *p, size_t len) {
    dstr *buf = priv;
    *buf = dstr_cat(*buf, p, len);
    return 0;
}

void rdb_sink_mem(rdb_sink *sk, dstr *buf) {
    sk->write = mem_sink_write;
    sk->priv = buf;
}

/* ---- low-level output -------------------------------------------------- */

static void w_flush(rdb_writer *w) {
    if (!w->used) return;
    if (w->checksum) w->crc = crc64(w->crc, w->buf, w->used);
    if (!w->err) {
        int rc = w->sink->write(w->sink->priv, w->buf, w->used);
        if (rc < 0) w->err = rc;
    }
    w->bytes += w->used;
    w->used = 0;
}

static void w_raw(rdb_writer *w, const void *p, size_t len) {
    if (len >= WBUF_SIZE / 2) {
        /* A big blob goes straight to the sink, checksummed in place, but
         * only after what is buffered: the file's byte order is the
         * writer's call order. */
        w_flush(w);
        if (w->checksum) w->crc = crc64(w->crc, p, len);
        if (!w->err) {
            int rc = w->sink->write(w->sink->priv, p, len);
            if (rc < 0) w->err = rc;
        }
        w->bytes += len;
        return;
    }
    if (w->used + len > WBUF_SIZE) w_flush(w);
    memcpy(w->buf + w->used, p, len);
    w->used += len;
}

static void w_byte(rdb_writer *w, unsigned char b) {
    if (w->used == WBUF_SIZE) w_flush(w);
    w->buf[w->used++] = b;
}

static void w_len(rdb_writer *w, uint64_t len) {
    unsigned char b[9];
    if (len < 64) {
        w_byte(w, (unsigned char)len);
    } else if (len < 16384) {
        b[0] = (unsigned char)(0x40 | (len >> 8));
        b[1] = (unsigned char)(len & 0xFF);
        w_raw(w, b, 2);
    } else if (len <= UINT32_MAX) {
        b[0] = 0x80;
        for (int i = 0; i < 4; i++) b[1 + i] = (unsigned char)(len >> (8 * (3 - i)));
        w_raw(w, b, 5);
    } else {
        b[0] = 0x81;
        for (int i = 0; i < 8; i++) b[1 + i] = (unsigned char)(len >> (8 * (7 - i)));
        w_raw(w, b, 9);
    }
}

static void w_u64le(rdb_writer *w, uint64_t v) {
    unsigned char b[8];
    for (int i = 0; i < 8; i++) b[i] = (unsigned char)(v >> (8 * i));
    w_raw(w, b, 8);
}

static void w_double_bin(rdb_writer *w, double d) {
    uint64_t u;
    memcpy(&u, &d, 8);
    w_u64le(w, u);
}

/* The int8/16/32 special encodings; 0 when v needs more than 32 bits. */
static int w_try_int(rdb_writer *w, long long v) {
    unsigned char b[5];
    size_t n;
    if (v >= INT8_MIN && v <= INT8_MAX) {
        b[0] = 0xC0;
        b[1] = (unsigned char)((uint64_t)v & 0xFF);
        n = 2;
    } else if (v >= INT16_MIN && v <= INT16_MAX) {
        b[0] = 0xC1;
        b[1] = (unsigned char)((uint64_t)v & 0xFF);
        b[2] = (unsigned char)(((uint64_t)v >> 8) & 0xFF);
        n = 3;
    } else if (v >= INT32_MIN && v <= INT32_MAX) {
        b[0] = 0xC2;
        for (int i = 0; i < 4; i++) b[1 + i] = (unsigned char)(((uint64_t)v >> (8 * i)) & 0xFF);
        n = 5;
    } else {
        return 0;
    }
    w_raw(w, b, n);
    return 1;
}

static int w_try_lzf(rdb_writer *w, const void *p, size_t len) {
    if (len <= 4) return 0;
    size_t outmax = len - 4;
    if (w->ccap < outmax) {
        mem_free(w->cbuf);
        w->ccap = outmax < 4096 ? 4096 : outmax;
        w->cbuf = mem_alloc(w->ccap);
    }
    if (!w->lzf) w->lzf = mem_calloc(sizeof(*w->lzf));
    size_t clen = lzf_compress(w->lzf, p, len, w->cbuf, outmax);
    if (!clen) return 0;
    w_byte(w, 0xC3);
    w_len(w, clen);
    w_len(w, len);
    w_raw(w, w->cbuf, clen);
    return 1;
}

static void w_string(rdb_writer *w, const void *p, size_t len) {
    long long v;
    if (len > 0 && len <= 11 && util_str_to_ll(p, len, &v) && w_try_int(w, v)) return;
    if (w->compress && len > 20 && w_try_lzf(w, p, len)) return;
    w_len(w, len);
    w_raw(w, p, len);
}

static void w_string_ll(rdb_writer *w, long long v) {
    if (w_try_int(w, v)) return;
    char buf[UTIL_LONG_STR_SIZE];
    int n = util_ll_to_str(buf, sizeof(buf), v);
    w_len(w, (uint64_t)n);
    w_raw(w, buf, (size_t)n);
}

static void w_aux(rdb_writer *w, const char *k, const char *v) {
    w_byte(w, RDB_OPCODE_AUX);
    w_string(w, k, strlen(k));
    w_string(w, v, strlen(v));
}

static void w_aux_ll(rdb_writer *w, const char *k, long long v) {
    w_byte(w, RDB_OPCODE_AUX);
    w_string(w, k, strlen(k));
    w_string_ll(w, v);
}

static void w_listpack(rdb_writer *w) {
    lpb_finish(&w->lpb);
    w_string(w, w->lpb.buf, w->lpb.len);
}

/* ---- values -------------------------------------------------------------- */

/* Entry sizes (header + payload + backlen) that lpack_list encodes with a
 * one byte shorter backlen than Redis's listpack: see rdb_blob.c. */
static int run_needs_reencode(const ql_node *n) {
    const unsigned char *p = n->data, *end = n->data + n->bytes;
    if (n->bytes < 16385) return 0;
    while (p < end) {
        size_t t = lpl_size_at(p);
        if (t == 16385 || t == 2097154 || t == 268435459) return 1;
        p += t;
    }
    return 0;
}

static void save_list(rdb_writer *w, const obj *o) {
    const quicklist *ql = o->ptr;
    uint64_t nodes = 0;
    for (const ql_node *n = ql_first_node(ql); n; n = n->next)
        if (n->count) nodes++;
    w_len(w, nodes);
    for (const ql_node *n = ql_first_node(ql); n; n = n->next) {
        if (!n->count) continue;
        if (n->plain) { /* QUICKLIST_NODE_CONTAINER_PLAIN: the raw element */
            lpl_elem e;
            char buf[UTIL_LONG_STR_SIZE];
            size_t len;
            lpl_read(n->data, &e);
            const char *p = lpl_elem_bytes(&e, buf, &len);
            w_len(w, 1);
            w_string(w, p, len);
            continue;
        }
        w_len(w, 2); /* QUICKLIST_NODE_CONTAINER_PACKED */
        lpb_reset(&w->lpb);
        if (!run_needs_reencode(n)) {
            lpb_append_raw(&w->lpb, n->data, n->bytes, n->count);
        } else {
            const unsigned char *p = n->data, *end = n->data + n->bytes;
            while (p < end) {
                lpl_elem e;
                lpl_read(p, &e);
                if (e.str) lpb_append(&w->lpb, e.str, e.len);
                else lpb_append_int(&w->lpb, e.ival);
                p += lpl_size_at(p);
            }
        }
        w_listpack(w);
    }
}

static void save_set(rdb_writer *w, const obj *o) {
    const intset *is = set_intset(o);
    if (is) {
        w_string(w, intset_blob(is), intset_blob_len(is));
        return;
    }
    w_len(w, set_size(o));
    set_iter it;
    set_elem e;
    set_iter_init(o, &it);
    while (set_iter_next(&it, &e)) {
        char buf[UTIL_LONG_STR_SIZE];
        size_t len;
        const char *p = set_elem_bytes(&e, buf, &len);
        w_string(w, p, len);
    }
    set_iter_done(&it);
}

static void save_hash(rdb_writer *w, const obj *o) {
    hash_iter it;
    hash_pair pr;
    int packed = o->enc == ENC_LISTPACK;
    if (packed) lpb_reset(&w->lpb);
    else w_len(w, hash_len(o));
    hash_iter_init(o, &it);
    while (hash_iter_next(&it, &pr)) {
        if (packed) {
            lpb_append(&w->lpb, pr.field, pr.flen);
            lpb_append(&w->lpb, pr.value, pr.vlen);
        } else {
            w_string(w, pr.field, pr.flen);
            w_string(w, pr.value, pr.vlen);
        }
    }
    hash_iter_done(&it);
    if (packed) w_listpack(w);
}

static void save_zset(rdb_writer *w, const obj *o) {
    zset_iter it;
    zentry e;
    if (o->enc == ENC_LISTPACK) {
        lpb_reset(&w->lpb);
        zset_iter_init(&it, o);
        while (zset_iter_next(&it, &e)) {
            long long ll;
            lpb_append(&w->lpb, e.m, e.len);
            if (zpack_score_is_integer(e.score, &ll)) {
                lpb_append_int(&w->lpb, ll);
            } else {
                char buf[64];
                int n = snprintf(buf, sizeof(buf), "%.17g", e.score);
                lpb_append(&w->lpb, buf, (size_t)n);
            }
        }
        w_listpack(w);
        return;
    }
    /* From the greatest to the smallest, as Redis writes it (its loader
     * then inserts each element at the head): same bytes as a Redis DUMP. */
    const zset_big *zs = o->ptr;
    w_len(w, zset_length(o));
    for (const zsl_node *n = zs->zsl->tail; n; n = n->backward) {
        w_string(w, n->ele, dstr_len(n->ele));
        w_double_bin(w, n->score);
    }
}

/* A 128-bit big-endian ID, the key of Redis's stream radix trees. */
static void encode_id(unsigned char out[16], const stream_id *id) {
    for (int i = 0; i < 8; i++) {
        out[i] = (unsigned char)(id->ms >> (56 - 8 * i));
        out[8 + i] = (unsigned char)(id->seq >> (56 - 8 * i));
    }
}

/* RDB_TYPE_STREAM_LISTPACKS_2 (what Redis 7.0 writes): the nodes as they
 * are (master ID as a 16-byte string, then the listpack), length, last ID,
 * first ID, max deleted ID, entries added, then each group: name, last
 * ID, entries read, its PEL (raw 16-byte IDs with delivery time and count)
 * and its consumers (name, seen time, PEL as raw IDs only). */
static void save_stream(rdb_writer *w, const obj *o) {
    const stream *s = o->ptr;
    unsigned char key[16];
    w_len(w, s->nnodes);
    for (size_t i = 0; i < s->nnodes; i++) {
        encode_id(key, &s->nodes[i].master);
        w_string(w, key, 16);
        w_string(w, s->nodes[i].lp, slp_bytes(s->nodes[i].lp));
    }
    w_len(w, s->length);
    w_len(w, s->last_id.ms);
    w_len(w, s->last_id.seq);
    w_len(w, s->first_id.ms);
    w_len(w, s->first_id.seq);
    w_len(w, s->max_deleted_id.ms);
    w_len(w, s->max_deleted_id.seq);
    w_len(w, s->entries_added);
    w_len(w, s->groups.n);
    for (size_t i = 0; i < s->groups.n; i++) {
        const stream_group *g = s->groups.v[i];
        w_string(w, g->name, dstr_len(g->name));
        w_len(w, g->last_id.ms);
        w_len(w, g->last_id.seq);
        w_len(w, (uint64_t)g->entries_read);
        w_len(w, g->pel.n);
        for (size_t j = 0; j < g->pel.n; j++) {
            const stream_nack *n = g->pel.v[j];
            encode_id(key, &n->id);
            w_raw(w, key, 16);
            w_u64le(w, (uint64_t)n->delivery_time);
            w_len(w, n->delivery_count);
        }
        w_len(w, g->consumers.n);
        for (size_t j = 0; j < g->consumers.n; j++) {
            const stream_consumer *c = g->consumers.v[j];
            w_string(w, c->name, dstr_len(c->name));
            w_u64le(w, (uint64_t)c->seen_time);
            w_len(w, c->pel.n);
            for (size_t k = 0; k < c->pel.n; k++) {
                encode_id(key, &((const stream_nack *)c->pel.v[k])->id);
                w_raw(w, key, 16);
            }
        }
    }
}

static int value_type(const obj *o) {
    switch (o->type) {
    case OBJ_STRING: return RDB_TYPE_STRING;
    case OBJ_LIST: return RDB_TYPE_LIST_QUICKLIST_2;
    case OBJ_SET: return set_intset(o) ? RDB_TYPE_SET_INTSET : RDB_TYPE_SET;
    case OBJ_HASH: return o->enc == ENC_LISTPACK ? RDB_TYPE_HASH_LISTPACK : RDB_TYPE_HASH;
    case OBJ_STREAM: return RDB_TYPE_STREAM_LISTPACKS_2;
    default: return o->enc == ENC_LISTPACK ? RDB_TYPE_ZSET_LISTPACK : RDB_TYPE_ZSET_2;
    }
}

/* The value after its type byte and key. */
static void save_value(rdb_writer *w, const obj *o) {
    switch (o->type) {
    case OBJ_STRING:
        if (o->enc == ENC_INT) {
            w_string_ll(w, o->ival);
        } else {
            char buf[32];
            size_t len;
            const char *p = obj_string_bytes(o, buf, &len);
            w_string(w, p, len);
        }
        break;
    case OBJ_LIST: save_list(w, o); break;
    case OBJ_SET: save_set(w, o); break;
    case OBJ_HASH: save_hash(w, o); break;
    case OBJ_ZSET: save_zset(w, o); break;
    case OBJ_STREAM: save_stream(w, o); break;
    }
}

static void w_release(rdb_writer *w) {
    mem_free(w->buf);
    mem_free(w->cbuf);
    mem_free(w->lzf);
    lpb_free(&w->lpb);
}

dstr rdb_dump_payload(server *s, const obj *o) {
    dstr out = dstr_empty();
    rdb_sink sink;
    rdb_sink_mem(&sink, &out);
    rdb_writer w = {.sink = &sink, .compress = s->cfg.rdbcompression};
    w.buf = mem_alloc(WBUF_SIZE);
    w_byte(&w, (unsigned char)value_type(o));
    save_value(&w, o);
    w_flush(&w);
    w_release(&w);
    return rdb_payload_seal(out);
}

dstr rdb_payload_seal(dstr body) {
    unsigned char trailer[10] = {RDB_VERSION & 0xFF, RDB_VERSION >> 8};
    body = dstr_cat(body, trailer, 2);
    uint64_t crc = crc64(0, body, dstr_len(body));
    for (int i = 0; i < 8; i++) trailer[2 + i] = (unsigned char)(crc >> (8 * i));
    return dstr_cat(body, trailer + 2, 8);
}

static void key_save_delay(long long v) {
    if (v > 0) {
        usleep((useconds_t)v);
    } else if (v < 0) {
        struct timespec ts = {0, -v};
        nanosleep(&ts, NULL);
    }
}

/* ---- the whole file ------------------------------------------------------ */

/* A db's keys in dict order, read ahead. Saving a key takes far longer
 * than a memory access, yet with a large keyspace nearly every entry, key
 * and value is a cache miss. So the walk keeps KEY_WALK_LEN entries queued:
 * a queued entry's key and value object are prefetched at once, and the
 * value's payload (its string, listpack, table...) KEY_WALK_PAYLOAD_AGE
 * entries before it is saved, when the object itself has arrived. */
#define KEY_WALK_LEN 16
#define KEY_WALK_PAYLOAD_AGE 8

typedef struct key_walk {
    dict_iter it;
    dict_entry *q[KEY_WALK_LEN];
    unsigned head, count;
    int exhausted;
} key_walk;

static void key_walk_init(key_walk *kw, dict *keys) {
    memset(kw, 0, sizeof(*kw));
    dict_iter_init(keys, &kw->it);
}

static dict_entry *key_walk_next(key_walk *kw) {
    while (!kw->exhausted && kw->count < KEY_WALK_LEN) {
        dict_entry *de = dict_iter_next(&kw->it);
        if (!de) {
            kw->exhausted = 1;
            break;
        }
        kw->q[(kw->head + kw->count++) % KEY_WALK_LEN] = de;
        dstr_prefetch(de->key);
        __builtin_prefetch(de->v.val, 0);
        if (kw->count > KEY_WALK_PAYLOAD_AGE) {
            const obj *o = kw->q[(kw->head + kw->count - 1 - KEY_WALK_PAYLOAD_AGE) %
                                 KEY_WALK_LEN]->v.val;
            if (o->enc != ENC_INT) dstr_prefetch(o->ptr);
        }
    }
    if (kw->count == 0) return NULL;
    dict_entry *de = kw->q[kw->head];
    kw->head = (kw->head + 1) % KEY_WALK_LEN;
    kw->count--;
    return de;
}

static void save_functions(rdb_writer *w, const fn_store *fs) {
    for (int i = 0; fs && i < fs->n; i++) {
        w_byte(w, RDB_OPCODE_FUNCTION2);
        w_string(w, fs->libs[i]->code, dstr_len(fs->libs[i]->code));
    }
}

int rdb_save_to_sink(server *s, const rdb_sink *sink, const rdb_save_info *rsi,
                     const rdb_save_progress *progress, rdb_save_stats *stats, char *err,
                     size_t errlen) {
    rdb_writer w = {.sink = sink,
                    .compress = s->cfg.rdbcompression,
                    .checksum = s->cfg.rdbchecksum};
    w.buf = mem_alloc(WBUF_SIZE);
    char hdr[16];
    snprintf(hdr, sizeof(hdr), "REDIS%04d", RDB_VERSION);
    w_raw(&w, hdr, 9);
    w_aux(&w, "redis-ver", RM_VERSION);
    w_aux_ll(&w, "redis-bits", (long long)sizeof(void *) * 8);
    w_aux_ll(&w, "ctime", (long long)time(NULL));
    w_aux_ll(&w, "used-mem", (long long)mem_used());
    if (rsi) {
        w_aux_ll(&w, "repl-stream-db", rsi->repl_stream_db);
        w_aux(&w, "repl-id", rsi->repl_id);
        w_aux_ll(&w, "repl-offset", rsi->repl_offset);
    }
    w_aux_ll(&w, "aof-base", 0);
    save_functions(&w, s->functions);
    long long keys = 0;
    long long delay = s->cfg.rdb_key_save_delay;
    for (int j = 0; j < s->dbnum && !w.err; j++) {
        db *d = &s->dbs[j];
        if (dict_size(d->keys) == 0) continue;
        w_byte(&w, RDB_OPCODE_SELECTDB);
        w_len(&w, (uint64_t)j);
        w_byte(&w, RDB_OPCODE_RESIZEDB);
        w_len(&w, dict_size(d->keys));
        w_len(&w, dict_size(d->expires));
        int has_expires = dict_size(d->expires) > 0;
        key_walk kw;
        key_walk_init(&kw, d->keys);
        dict_entry *de;
        while ((de = key_walk_next(&kw)) && !w.err) {
            dstr key = de->key;
            if (has_expires) {
                long long when = db_get_expire(d, key);
                if (when != -1) {
                    w_byte(&w, RDB_OPCODE_EXPIRETIME_MS);
                    w_u64le(&w, (uint64_t)when);
                }
            }
            const obj *o = de->v.val;
            w_byte(&w, (unsigned char)value_type(o));
            w_string(&w, key, dstr_len(key));
            save_value(&w, o);
            keys++;
            if (delay) key_save_delay(delay);
            if (progress && keys % RDB_PROGRESS_KEYS == 0) progress->fn(progress->priv, keys);
        }
        dict_iter_done(&kw.it);
    }
    w_byte(&w, RDB_OPCODE_EOF);
    w_flush(&w);
    uint64_t crc = w.checksum ? w.crc : 0;
    unsigned char trailer[8];
    for (int i = 0; i < 8; i++) trailer[i] = (unsigned char)(crc >> (8 * i));
    if (!w.err) {
        int rc = sink->write(sink->priv, trailer, 8);
        if (rc < 0) w.err = rc;
    }
    w.bytes += 8;
    if (stats) {
        stats->bytes = w.bytes;
        stats->keys = keys;
    }
    w_release(&w);
    if (w.err) {
        snprintf(err, errlen, "%s", strerror(-w.err));
        return -1;
    }
    return 0;
}

dstr rdb_functions_blob(const fn_store *fs, int compress) {
    dstr out = dstr_empty();
    rdb_sink sk;
    rdb_sink_mem(&sk, &out);
    rdb_writer w = {.sink = &sk, .compress = compress};
    w.buf = mem_alloc(WBUF_SIZE);
    save_functions(&w, fs);
    w_flush(&w);
    mem_free(w.buf);
    mem_free(w.cbuf);
    mem_free(w.lzf);
    return out;
}

/* Durability protocol: the snapshot is written to a temp file named after
 * the writing process, flushed to the disk, and only then renamed over
 * the real name, so a reader (a restart, redis-check-rdb, a replica
 * transfer) sees either the old complete file or the new complete file.
 * The directory is fsynced last: until then the rename may not survive a
 * crash, so a failure there fails the save too (the new file is in place,
 * but the operator is told it may not be durable), as in Redis 7.0. A
 * failure names its step as Redis's log line does ("Write error saving DB
 * on disk(fsync): Input/output error"). */
int rdb_save_file(server *s, const char *filename, const rdb_save_info *rsi,
                  const rdb_save_progress *progress, char *err, size_t errlen) {
    char tmp[64];
    snprintf(tmp, sizeof(tmp), "temp-%d.rdb", (int)getpid());
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        char cwd[1024];
        if (!getcwd(cwd, sizeof(cwd))) snprintf(cwd, sizeof(cwd), "unknown");
        snprintf(err, errlen, "Failed opening the temp RDB file %s (in server root dir %s) for "
                              "saving: %s", tmp, cwd, strerror(errno));
        log_msg(LL_WARNING, "%s", err);
        return -1;
    }
    rdb_sink sk;
    rdb_sink_fd(&sk, &fd);
    char werr[256];
    const char *step = NULL;
    int rc;
    if (rdb_save_to_sink(s, &sk, rsi, progress, NULL, werr, sizeof(werr)) < 0) {
        snprintf(err, errlen, "Write error saving DB on disk(write): %s", werr);
        goto fail;
    }
    if (fsync(fd) < 0) {
        step = "fsync";
        goto fail_errno;
    }
    rc = close(fd);
    fd = -1;
    if (rc < 0) {
        step = "close";
        goto fail_errno;
    }
    if (rename(tmp, filename) < 0) {
        char cwd[1024];
        if (!getcwd(cwd, sizeof(cwd))) snprintf(cwd, sizeof(cwd), "unknown");
        snprintf(err, errlen, "Error moving temp DB file %s on the final destination %s (in "
                              "server root dir %s): %s", tmp, filename, cwd, strerror(errno));
        goto fail;
    }
    rc = durable_fsync_dir_of(filename);
    if (rc < 0) {
        snprintf(err, errlen, "Write error saving DB on disk(fsyncFileDir): %s", strerror(-rc));
        log_msg(LL_WARNING, "%s", err);
        return -1;
    }
    log_msg(LL_NOTICE, "DB saved on disk");
    return 0;
fail_errno:
    snprintf(err, errlen, "Write error saving DB on disk(%s): %s", step, strerror(errno));
fail:
    log_msg(LL_WARNING, "%s", err);
    if (fd >= 0) close(fd);
    unlink(tmp);
    return -1;
}
