/* functions: the FUNCTION library store (Redis 7.0 functions, kept and
 * replicated, never executed). See functions.c for what is approximated. */
#ifndef RM_FUNCTIONS_H
#define RM_FUNCTIONS_H

#include <stddef.h>

#include "core/dstr.h"

/* Function flags, in the order Redis lists them (FUNCTION LIST). */
enum {
    FN_FLAG_NO_WRITES = 1 << 0,
    FN_FLAG_ALLOW_OOM = 1 << 1,
    FN_FLAG_ALLOW_STALE = 1 << 2,
    FN_FLAG_NO_CLUSTER = 1 << 3,
    FN_FLAG_ALLOW_CROSS_SLOT = 1 << 4,
    FN_FLAG_COUNT = 5,
};

typedef struct fn_func {
    dstr name;
    dstr desc; /* NULL: no description */
    unsigned flags;
} fn_func;

typedef struct fn_lib {
    dstr name;
    dstr code; /* the whole text given to FUNCTION LOAD, shebang included */
    fn_func *funcs;
    int nfuncs;
} fn_lib;

/* Libraries sorted by name (Redis's order is its dict's, i.e. arbitrary). */
typedef struct fn_store {
    fn_lib **libs;
    int n, cap;
    long long nfuncs; /* over all libraries */
} fn_store;

/* Checks a library must pass. FN_STRICT is a client's FUNCTION LOAD or
 * RESTORE: the function names found in the code are checked as Redis's
 * registration would. Without it (a master's stream, an RDB file) only the
 * shebang is, so code that registers functions the scan cannot see is
 * still stored as the master stored it. */
enum { FN_STRICT = 1, FN_REPLACE = 2 };

fn_store *fn_store_new(void);
void fn_store_free(fn_store *fs);
const char *fn_flag_name(int bit);
/* Build a library from its code. NULL with Redis's error (without "ERR ")
 * in err when the code is refused; when `into` is given, a name it holds
 * is refused (without FN_REPLACE) before the functions are looked at, in
 * Redis's order of checks. */
fn_lib *fn_lib_parse(const char *code, size_t len, const fn_store *into, int flags, char *err,
                     size_t errlen);
void fn_lib_free(fn_lib *lib);
fn_lib *fn_store_find(const fn_store *fs, const char *name, size_t len);
/* Add lib (taken over on success). -1 with Redis's error when the name is
 * taken (without FN_REPLACE) or a function name belongs to another library
 * (FN_STRICT only). */
int fn_store_add(fn_store *fs, fn_lib *lib, int flags, char *err, size_t errlen);
/* Remove and free the named library; -1 when there is none. */
int fn_store_delete(fn_store *fs, const char *name, size_t len);
void fn_store_clear(fn_store *fs);
/* Bytes the store holds (INFO memory's used_memory_functions). */
size_t fn_store_memory(const fn_store *fs);
/* Does any library define this function? */
int fn_store_has_function(const fn_store *fs, const char *name, size_t len);

/* FUNCTION DUMP payload: <0xF5 RDB string(code)>... <RDB version u16 LE>
 * <CRC64 LE>. */
dstr fn_dump_payload(const fn_store *fs, int compress);
/* Parse a FUNCTION DUMP payload into a fresh store (checks per flags'
 * FN_STRICT). NULL with Redis's error in err. */
fn_store *fn_restore_payload(const unsigned char *p, size_t len, int flags, char *err,
                             size_t errlen);

#endif
