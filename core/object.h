/* object: the values stored in the keyspace.
 *
 * A value is a small header (type, encoding, an LRU clock for OBJECT
 * IDLETIME) and a pointer. Strings use three encodings that OBJECT ENCODING
 * reports exactly as Redis 7.0 would for the same history of commands:
 *   int    - the integer lives in the pointer field itself;
 *   embstr - a short string (<= 44 bytes) created in one piece;
 *   raw    - a string that was modified in place (APPEND, SETRANGE) or is
 *            longer than 44 bytes.
 * embstr and raw are stored the same way here (a dstr); the encoding tag
 * records which one Redis would report. Values are never shared between
 * keys, so there is no reference count: the keyspace owns each value. */
#ifndef RM_OBJECT_H
#define RM_OBJECT_H

#include <stddef.h>
#include <stdint.h>

#include "core/dstr.h"

enum obj_type { OBJ_STRING = 0, OBJ_LIST = 1, OBJ_SET = 2, OBJ_ZSET = 3, OBJ_HASH = 4, OBJ_STREAM = 6 };

enum obj_encoding {
    ENC_RAW = 0,
    ENC_INT = 1,
    ENC_EMBSTR = 2,
    ENC_HASHTABLE = 3,
    ENC_LISTPACK = 4,
    ENC_QUICKLIST = 5,
    ENC_INTSET = 6,
    ENC_SKIPLIST = 7,
    ENC_STREAM = 8,
};

#define OBJ_EMBSTR_LIMIT 44
#define OBJ_SHARED_INTEGERS 10000

typedef struct obj {
    uint8_t type;
    uint8_t enc;
    uint32_t lru; /* seconds clock, low 24 bits are meaningful */
    union {
        void *ptr;
        long long ival;
    };
} obj;

/* A string value from bytes, encoded as Redis's createStringObject would
 * (embstr up to 44 bytes, raw beyond). */
obj *obj_string_new(const void *p, size_t len);
/* A string value encoded as tryObjectEncoding would leave it: int when the
 * bytes are a canonical long, else embstr/raw by length. Takes `s`. */
obj *obj_string_from_dstr_encoded(dstr s);
obj *obj_string_from_ll(long long v);
/* Raw-encoded string that owns `s` (APPEND/SETRANGE results). */
obj *obj_string_raw(dstr s);
/* Rewrite a string value with new bytes in place when they fit; 0 when a
 * new value is needed instead (other type, int encoding, no room). */
int obj_string_overwrite(obj *o, const void *p, size_t len);
/* A value of a collection type around `ptr` (owned by the value). */
obj *obj_new(int type, int enc, void *ptr);
obj *obj_dup(const obj *o);
void obj_free(obj *o);
/* Bytes of a string value; `buf` (>= 32 bytes) holds int renderings. */
const char *obj_string_bytes(const obj *o, char *buf, size_t *len);
size_t obj_string_len(const obj *o);
/* The value as a long long if it is one (int encoding or parsable). */
int obj_string_to_ll(const obj *o, long long *out);
const char *obj_type_name(const obj *o);
const char *obj_encoding_name(const obj *o);
void obj_touch(obj *o);
unsigned long long obj_idle_seconds(const obj *o);

/* Type-specific hooks: collection modules (issue 3) register their free
 * and duplicate routines here so that object.c stays type-agnostic. */
typedef struct obj_type_ops {
    void (*free_value)(obj *o);
    void *(*dup_value)(const obj *o);
    /* Mix the value into `digest` as Redis's xorObjectDigest does. */
    void (*digest)(const obj *o, unsigned char digest[20]);
} obj_type_ops;
const obj_type_ops *obj_get_type_ops(int type);
void obj_register_type(int type, const obj_type_ops *ops);

uint32_t obj_lru_clock(void);

#endif
