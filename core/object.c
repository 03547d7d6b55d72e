/* object: see object.h. */
#include "core/object.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "core/mem.h"
#include "core/util.h"

static const obj_type_ops *type_ops[8];

void obj_register_type(int type, const obj_type_ops *ops) { type_ops[type] = ops; }
const obj_type_ops *obj_get_type_ops(int type) { return type_ops[type]; }

uint32_t obj_lru_clock(void) { return (uint32_t)((util_us_time() / 1000000) & 0xFFFFFF); }

static obj *obj_alloc(int type, int enc) {
    obj *o = mem_alloc(sizeof(*o));
    o->type = (uint8_t)type;
    o->enc = (uint8_t)enc;
    o->lru = obj_lru_clock();
    o->ptr = NULL;
    return o;
}

obj *obj_new(int type, int enc, void *ptr) {
    obj *o = obj_alloc(type, enc);
    o->ptr = ptr;
    return o;
}

obj *obj_string_new(const void *p, size_t len) {
    obj *o = obj_alloc(OBJ_STRING, len <= OBJ_EMBSTR_LIMIT ? ENC_EMBSTR : ENC_RAW);
    o->ptr = dstr_new(p, len);
    return o;
}

obj *obj_string_raw(dstr s) {
    obj *o = obj_alloc(OBJ_STRING, ENC_RAW);
    o->ptr = s;
    return o;
}

obj *obj_string_from_ll(long long v) {
    obj *o = obj_alloc(OBJ_STRING, ENC_INT);
    o->ival = v;
    return o;
}

obj *obj_string_from_dstr_encoded(dstr s) {
    size_t len = dstr_len(s);
    long v;
    if (len <= 20 && util_str_to_l(s, len, &v)) {
        dstr_free(s);
        return obj_string_from_ll(v);
    }
    obj *o = obj_alloc(OBJ_STRING, len <= OBJ_EMBSTR_LIMIT ? ENC_EMBSTR : ENC_RAW);
    /* Redis trims raw strings with a lot of unused room; argv strings come
     * exactly sized, so only shrink when there is slack. */
    if (dstr_avail(s) > len / 10) s = dstr_shrink(s);
    o->ptr = s;
    return o;
}

/* SET over a string value: the new bytes go into the old value's string
 * when they fit with no more room to spare than a new value may keep, and
 * the value ends up encoded as a new one would be (never int: that needs a
 * new value). An overwrite of a same-sized value, the common case, then
 * costs no allocation and no free of cold memory. Returns 0 if a new value
 * is needed. Values are never shared and snapshots are taken by fork(), so
 * nothing else can be reading these bytes. */
int obj_string_overwrite(obj *o, const void *p, size_t len) {
    if (o->type != OBJ_STRING || o->enc == ENC_INT) return 0;
    long v;
    if (len <= 20 && util_str_to_l(p, len, &v)) return 0;
    dstr s = o->ptr;
    size_t cap = dstr_len(s) + dstr_avail(s);
    if (cap < len || cap - len > len / 10) return 0;
    memcpy(s, p, len);
    dstr_setlen(s, len);
    o->enc = len <= OBJ_EMBSTR_LIMIT ? ENC_EMBSTR : ENC_RAW;
    o->lru = obj_lru_clock();
    return 1;
}

obj *obj_dup(const obj *o) {
    obj *n;
    if (o->type == OBJ_STRING) {
        n = obj_alloc(OBJ_STRING, o->enc);
        if (o->enc == ENC_INT)
            n->ival = o->ival;
        else
            n->ptr = dstr_dup(o->ptr);
        return n;
    }
    n = obj_alloc(o->type, o->enc);
    n->ptr = type_ops[o->type]->dup_value(o);
    return n;
}

void obj_free(obj *o) {
    if (!o) return;
    if (o->type == OBJ_STRING) {
        if (o->enc != ENC_INT) dstr_free(o->ptr);
    } else if (type_ops[o->type]) {
        type_ops[o->type]->free_value(o);
    }
    mem_free(o);
}

const char *obj_string_bytes(const obj *o, char *buf, size_t *len) {
    if (o->enc == ENC_INT) {
        *len = (size_t)util_ll_to_str(buf, 32, o->ival);
        return buf;
    }
    *len = dstr_len(o->ptr);
    return o->ptr;
}

size_t obj_string_len(const obj *o) {
    if (o->enc == ENC_INT) {
        char buf[32];
        return (size_t)util_ll_to_str(buf, sizeof(buf), o->ival);
    }
    return dstr_len(o->ptr);
}

int obj_string_to_ll(const obj *o, long long *out) {
    if (o->enc == ENC_INT) {
        *out = o->ival;
        return 1;
    }
    return util_str_to_ll(o->ptr, dstr_len(o->ptr), out);
}

const char *obj_type_name(const obj *o) {
    static const char *names[] = {"string", "list", "set", "zset", "hash", "module", "stream"};
    return o->type <= OBJ_STREAM ? names[o->type] : "unknown";
}

const char *obj_encoding_name(const obj *o) {
    switch (o->enc) {
    case ENC_RAW: return "raw";
    case ENC_INT: return "int";
    case ENC_EMBSTR: return "embstr";
    case ENC_HASHTABLE: return "hashtable";
    case ENC_LISTPACK: return "listpack";
    case ENC_QUICKLIST: return "quicklist";
    case ENC_INTSET: return "intset";
    case ENC_SKIPLIST: return "skiplist";
    case ENC_STREAM: return "stream";
    }
    return "unknown";
}

void obj_touch(obj *o) { o->lru = obj_lru_clock(); }

unsigned long long obj_idle_seconds(const obj *o) {
    uint32_t now = obj_lru_clock();
    uint32_t then = o->lru & 0xFFFFFF;
    if (now >= then) return now - then;
    return (0xFFFFFFu - then) + now;
}
