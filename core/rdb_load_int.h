/* rdb_load_int: the loader's cursor over buffered input, shared by
 * rdb_load.c and the value parsers that need more than one unit's worth
 * of structure (rdb_load_stream.c). Internal to the rdb module.
 *
 * Every function returns U_OK, U_MORE (the unit is incomplete: nothing may
 * stay allocated, the unit is parsed again when more bytes arrive) or
 * U_ERR (the loader's error is set). */
#ifndef RM_RDB_LOAD_INT_H
#define RM_RDB_LOAD_INT_H

#include <stddef.h>
#include <stdint.h>

#include "core/object.h"

enum { U_OK = 0, U_MORE = 1, U_ERR = -1 };

typedef struct rdb_loader rdb_loader;

typedef struct sview {
    const char *p;
    size_t len;
} sview;

/* A unit's cursor over the buffered input. */
typedef struct cur {
    const unsigned char *start, *p, *end;
} cur;

int rdbl_need(rdb_loader *ld, cur *c, size_t n);
int rdbl_len(rdb_loader *ld, cur *c, uint64_t *out);
/* slot 0 or 1: the view stays valid until the same slot is used again. */
int rdbl_string(rdb_loader *ld, cur *c, sview *out, int slot);

/* A stream value (RDB_TYPE_STREAM_LISTPACKS, _2 or _3) after its key; on
 * U_ERR with why[0] set the value was corrupt (why says how). */
int rdb_load_stream(rdb_loader *ld, cur *c, int type, obj **out, char *why, size_t whylen);

#endif
