/* functions: the store behind FUNCTION LOAD/DELETE/FLUSH/DUMP/RESTORE/LIST.
 *
 * Ringmaster has no Lua, so no function ever runs (FCALL answers an error,
 * see cmd_function.c), but libraries are kept, listed, dumped, restored,
 * written to and read from the RDB (RDB_OPCODE_FUNCTION2 <string code>) and
 * replicated exactly as Redis 7.0 does, so a Ringmaster node in a Redis
 * topology loses none of them.
 *
 * A library is its code. Redis learns the library's name from the shebang
 * line and its functions by running the code, which calls
 * redis.register_function. Here:
 *   - the shebang (`#!<engine> name=<lib>`, first line, split like
 *     sdssplitargs) is parsed exactly as Redis 7.0 does, with its errors
 *     and their order: Missing library metadata, Invalid library metadata
 *     (no newline), Invalid metadata value..., Library name was not given,
 *     the name check, Engine '<e>' not found (only LUA exists);
 *   - APPROXIMATED: the functions are found by scanning the code for
 *     `register_function(` followed by a string literal (the name), and
 *     `register_function{` followed by a table whose function_name,
 *     description and flags fields are literals. Comments and string
 *     literals (long brackets included) are skipped. A name computed at
 *     run time, a call in code that never runs (a branch not taken, a
 *     function never called), or code that would fail to compile or fail
 *     at run time is not recognised as Redis would: such a
 *     library is stored with the functions the scan saw. For a client
 *     (FN_STRICT) the scan results are checked with Redis's registration
 *     errors (bad names, unknown flags, duplicates, "No functions
 *     registered"); from a master or an RDB they are not, so whatever the
 *     master accepted is stored.
 * The library list is sorted by name; Redis's order (its dict's) is
 * arbitrary, so clients cannot rely on either. */
#include "core/functions.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "core/lzf.h"
#include "core/mem.h"
#include "core/rdb.h"
#include "core/splitargs.h"

static const char *const flag_names[FN_FLAG_COUNT] = {
    "no-writes", "allow-oom", "allow-stale", "no-cluster", "allow-cross-slot-keys",
};

const char *fn_flag_name(int bit) { return bit >= 0 && bit < FN_FLAG_COUNT ? flag_names[bit] : ""; }

fn_store *fn_store_new(void) { return mem_calloc(sizeof(fn_store)); }

void fn_lib_free(fn_lib *lib) {
    if (!lib) return;
    for (int i = 0; i < lib->nfuncs; i++) {
        dstr_free(lib->funcs[i].name);
        dstr_free(lib->funcs[i].desc);
    }
    mem_free(lib->funcs);
    dstr_free(lib->name);
    dstr_free(lib->code);
    mem_free(lib);
}

void fn_store_clear(fn_store *fs) {
    for (int i = 0; i < fs->n; i++) fn_lib_free(fs->libs[i]);
    fs->n = 0;
    fs->nfuncs = 0;
}

size_t fn_store_memory(const fn_store *fs) {
    size_t total = sizeof(*fs) + (size_t)fs->cap * sizeof(fs->libs[0]);
    for (int i = 0; i < fs->n; i++) {
        const fn_lib *lib = fs->libs[i];
        total += sizeof(*lib) + dstr_alloc_size(lib->name) + dstr_alloc_size(lib->code) +
                 (size_t)lib->nfuncs * sizeof(lib->funcs[0]);
        for (int j = 0; j < lib->nfuncs; j++)
            total += dstr_alloc_size(lib->funcs[j].name) +
                     (lib->funcs[j].desc ? dstr_alloc_size(lib->funcs[j].desc) : 0);
    }
    return total;
}

void fn_store_free(fn_store *fs) {
    if (!fs) return;
    fn_store_clear(fs);
    mem_free(fs->libs);
    mem_free(fs);
}

/* Redis's functionsVerifyName: [A-Za-z0-9_]+. */
static int valid_name(const char *p, size_t len) {
    if (!len) return 0;
    for (size_t i = 0; i < len; i++) {
        char ch = p[i];
        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
              ch == '_'))
            return 0;
    }
    return 1;
}

#define NAME_RULE                                                                                  \
    "Library names can only contain letters, numbers, or underscores(_) and "                      \
    "must be at least "                                                                            \
    "one character long"

/* ---- shebang ------------------------------------------------------------ */

static int parse_shebang(const char *code, size_t len, dstr *name, char *err, size_t errlen) {
    if (len < 2 || memcmp(code, "#!", 2) != 0) {
        snprintf(err, errlen, "Missing library metadata");
        return -1;
    }
    const char *nl = memchr(code, '\n', len);
    if (!nl) {
        snprintf(err, errlen, "Invalid library metadata");
        return -1;
    }
    /* Like Redis, split the whole line: the first word is "#!<engine>". */
    int argc = 0;
    dstr *argv = split_args(code, (size_t)(nl - code), &argc);
    if (!argv || argc == 0) {
        if (argv) split_args_free(argv, argc);
        snprintf(err, errlen, "Invalid library metadata");
        return -1;
    }
    const char *engine = dstr_len(argv[0]) >= 2 ? argv[0] + 2 : "";
    *name = NULL;
    int rc = 0;
    for (int i = 1; i < argc && rc == 0; i++) {
        if (dstr_len(argv[i]) >= 5 && !strncasecmp(argv[i], "name=", 5)) {
            if (*name) {
                snprintf(err, errlen,
                         "Invalid metadata value, name argument was given multiple times");
                rc = -1;
            } else {
                *name = dstr_new(argv[i] + 5, dstr_len(argv[i]) - 5);
            }
        } else {
            snprintf(err, errlen, "Invalid metadata value given: %.200s", argv[i]);
            rc = -1;
        }
    }
    if (rc == 0 && !*name) {
        snprintf(err, errlen, "Library name was not given");
        rc = -1;
    }
    if (rc == 0 && !valid_name(*name, dstr_len(*name))) {
        snprintf(err, errlen, NAME_RULE);
        rc = -1;
    }
    if (rc == 0 && strcasecmp(engine, "lua") != 0) {
        snprintf(err, errlen, "Engine '%.200s' not found", engine);
        rc = -1;
    }
    if (rc < 0) {
        dstr_free(*name);
        *name = NULL;
    }
    split_args_free(argv, argc);
    return rc;
}

/* ---- the register_function scan ----------------------------------------- */

typedef struct scanner {
    const char *p, *end;
} scanner;

static void skip_space(scanner *s) {
    while (s->p < s->end && (*s->p == ' ' || *s->p == '\t' || *s->p == '\r' || *s->p == '\n'))
        s->p++;
}

/* A Lua short string literal ('..' or ".."); the escapes that matter for
 * names are kept as the escaped character. NULL when there is none. */
static dstr scan_literal(scanner *s) {
    skip_space(s);
    if (s->p >= s->end || (*s->p != '\'' && *s->p != '"')) return NULL;
    char q = *s->p++;
    dstr out = dstr_empty();
    while (s->p < s->end && *s->p != q) {
        if (*s->p == '\\' && s->p + 1 < s->end) s->p++;
        out = dstr_cat(out, s->p, 1);
        s->p++;
    }
    if (s->p >= s->end) {
        dstr_free(out);
        return NULL;
    }
    s->p++;
    return out;
}

/* Skip one Lua value in a table constructor: up to the next ',' or '}' at
 * depth 0, over strings and nested brackets. */
static void skip_value(scanner *s) {
    int depth = 0;
    while (s->p < s->end) {
        char ch = *s->p;
        if (ch == '\'' || ch == '"') {
            dstr d = scan_literal(s);
            dstr_free(d);
            continue;
        }
        if (ch == '{' || ch == '(' || ch == '[') depth++;
        if (ch == '}' || ch == ')' || ch == ']') {
            if (depth == 0) return;
            depth--;
        }
        if (ch == ',' && depth == 0) return;
        s->p++;
    }
}

static int scan_ident(scanner *s, const char **id, size_t *len) {
    skip_space(s);
    const char *b = s->p;
    while (s->p < s->end && (valid_name(s->p, 1))) s->p++;
    *id = b;
    *len = (size_t)(s->p - b);
    return *len > 0;
}

static int ident_is(const char *id, size_t len, const char *want) {
    return len == strlen(want) && !memcmp(id, want, len);
}

/* flags={'a','b'}: returns -1 on an unknown flag. */
static int scan_flags(scanner *s, unsigned *flags) {
    skip_space(s);
    if (s->p >= s->end || *s->p != '{') {
        skip_value(s);
        return 0;
    }
    s->p++;
    for (;;) {
        skip_space(s);
        if (s->p >= s->end) return 0;
        if (*s->p == '}') {
            s->p++;
            return 0;
        }
        if (*s->p == ',') {
            s->p++;
            continue;
        }
        dstr f = scan_literal(s);
        if (!f) {
            skip_value(s);
            continue;
        }
        int bit = -1;
        for (int i = 0; i < FN_FLAG_COUNT; i++)
            if (!strcmp(f, flag_names[i])) bit = i;
        dstr_free(f);
        if (bit < 0) return -1;
        *flags |= 1u << bit;
    }
}

/* The table form: {function_name='x', callback=..., flags={...},
 * description='...'}; s is just past '{'. */
static int scan_table(scanner *s, fn_func *fn, int *bad_flag) {
    for (;;) {
        skip_space(s);
        if (s->p >= s->end) return fn->name ? 0 : -1;
        if (*s->p == '}') {
            s->p++;
            return fn->name ? 0 : -1;
        }
        if (*s->p == ',' || *s->p == ';') {
            s->p++;
            continue;
        }
        const char *id;
        size_t idlen;
        if (!scan_ident(s, &id, &idlen)) {
            s->p++;
            skip_value(s);
            continue;
        }
        skip_space(s);
        if (s->p >= s->end || *s->p != '=') {
            skip_value(s);
            continue;
        }
        s->p++;
        if (ident_is(id, idlen, "function_name")) {
            dstr_free(fn->name);
            fn->name = scan_literal(s);
            if (!fn->name) skip_value(s);
        } else if (ident_is(id, idlen, "description")) {
            dstr_free(fn->desc);
            fn->desc = scan_literal(s);
            if (!fn->desc) skip_value(s);
        } else if (ident_is(id, idlen, "flags")) {
            if (scan_flags(s, &fn->flags) < 0) *bad_flag = 1;
        } else {
            skip_value(s);
        }
    }
}

static int add_func(fn_lib *lib, fn_func *fn, int strict, char *err, size_t errlen) {
    for (int i = 0; i < lib->nfuncs; i++) {
        if (!strcmp(lib->funcs[i].name, fn->name)) {
            if (strict) {
                snprintf(err, errlen,
                         "Error registering functions: ERR Function already exists in "
                         "the library");
                return -1;
            }
            return 1; /* the master stored it: keep the first */
        }
    }
    lib->funcs = mem_realloc(lib->funcs, sizeof(fn_func) * (size_t)(lib->nfuncs + 1));
    lib->funcs[lib->nfuncs++] = *fn;
    return 0;
}

/* At a Lua long bracket "[", "[=[", "[==[", ...: its level, else -1. */
static int long_bracket_level(const char *p, const char *end) {
    if (p >= end || *p != '[') return -1;
    int level = 0;
    for (p++; p < end && *p == '='; p++) level++;
    return p < end && *p == '[' ? level : -1;
}

/* Skip from an opening long bracket of `level` past its closing one (or
 * to the end of the code). */
static void skip_long_bracket(scanner *s, int level) {
    s->p += level + 2;
    while (s->p < s->end) {
        if (*s->p++ != ']') continue;
        const char *q = s->p;
        int n = 0;
        while (q < s->end && *q == '=') q++, n++;
        if (n == level && q < s->end && *q == ']') {
            s->p = q + 1;
            return;
        }
    }
}

/* Move past the comment or string literal at s->p, if there is one, so
 * that a call written inside either is not taken for a registration. */
static int skip_comment_or_string(scanner *s) {
    const char *p = s->p;
    if (*p == '\'' || *p == '"') {
        dstr d = scan_literal(s);
        if (!d) s->p = s->end; /* unterminated: Lua would not compile it */
        dstr_free(d);
        return 1;
    }
    int level = long_bracket_level(p, s->end);
    if (level >= 0) {
        skip_long_bracket(s, level);
        return 1;
    }
    if (p + 1 < s->end && p[0] == '-' && p[1] == '-') {
        s->p += 2;
        level = long_bracket_level(s->p, s->end);
        if (level >= 0) {
            skip_long_bracket(s, level);
        } else {
            const char *nl = memchr(s->p, '\n', (size_t)(s->end - s->p));
            s->p = nl ? nl + 1 : s->end;
        }
        return 1;
    }
    return 0;
}

static int scan_functions(fn_lib *lib, int strict, char *err, size_t errlen) {
    static const char marker[] = "register_function";
    const size_t mlen = sizeof(marker) - 1;
    scanner s = {lib->code, lib->code + dstr_len(lib->code)};
    while (s.p < s.end) {
        if (skip_comment_or_string(&s)) continue;
        /* The marker as a whole identifier (after "redis." or alone). */
        if ((size_t)(s.end - s.p) < mlen || memcmp(s.p, marker, mlen) != 0 ||
            (s.p > lib->code && valid_name(s.p - 1, 1)) ||
            (s.p + mlen < s.end && valid_name(s.p + mlen, 1))) {
            s.p++;
            continue;
        }
        s.p += mlen;
        skip_space(&s);
        if (s.p >= s.end) break;
        fn_func fn = {NULL, NULL, 0};
        int bad_flag = 0, ok;
        if (*s.p == '(') {
            s.p++;
            fn.name = scan_literal(&s);
            ok = fn.name != NULL;
        } else if (*s.p == '{') {
            s.p++;
            ok = scan_table(&s, &fn, &bad_flag) == 0;
        } else {
            continue;
        }
        int rc = 0;
        if (!ok) {
            /* a name the scan cannot read: Redis would know it, we do not */
        } else if (strict && bad_flag) {
            snprintf(err, errlen, "Error registering functions: ERR unknown flag given");
            rc = -1;
        } else if (strict && !valid_name(fn.name, dstr_len(fn.name))) {
            snprintf(err, errlen, "Error registering functions: ERR " NAME_RULE);
            rc = -1;
        } else {
            rc = add_func(lib, &fn, strict, err, errlen);
            if (rc == 0) continue; /* taken over */
        }
        dstr_free(fn.name);
        dstr_free(fn.desc);
        if (rc < 0) return -1;
    }
    if (strict && lib->nfuncs == 0) {
        snprintf(err, errlen, "No functions registered");
        return -1;
    }
    return 0;
}

fn_lib *fn_lib_parse(const char *code, size_t len, const fn_store *into, int flags, char *err,
                     size_t errlen) {
    dstr name;
    if (parse_shebang(code, len, &name, err, errlen) < 0) return NULL;
    /* Redis refuses a taken name before it runs the code. */
    if (into && !(flags & FN_REPLACE) && fn_store_find(into, name, dstr_len(name))) {
        snprintf(err, errlen, "Library '%s' already exists", name);
        dstr_free(name);
        return NULL;
    }
    fn_lib *lib = mem_calloc(sizeof(*lib));
    lib->name = name;
    lib->code = dstr_new(code, len);
    if (scan_functions(lib, flags & FN_STRICT, err, errlen) < 0) {
        fn_lib_free(lib);
        return NULL;
    }
    return lib;
}

/* ---- the store ----------------------------------------------------------- */

/* Index of the library, or -(insertion point) - 1. */
static int find_index(const fn_store *fs, const char *name, size_t len) {
    int lo = 0, hi = fs->n - 1;
    while (lo <= hi) {
        int mid = (lo + hi) / 2;
        const dstr n = fs->libs[mid]->name;
        size_t nl = dstr_len(n);
        int c = memcmp(n, name, nl < len ? nl : len);
        if (c == 0) c = nl < len ? -1 : nl > len ? 1 : 0;
        if (c == 0) return mid;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid - 1;
    }
    return -lo - 1;
}

fn_lib *fn_store_find(const fn_store *fs, const char *name, size_t len) {
    int i = find_index(fs, name, len);
    return i >= 0 ? fs->libs[i] : NULL;
}

static const fn_lib *owner_of(const fn_store *fs, const char *fname, const fn_lib *skip) {
    for (int i = 0; i < fs->n; i++) {
        const fn_lib *l = fs->libs[i];
        if (l == skip) continue;
        for (int j = 0; j < l->nfuncs; j++)
            if (!strcmp(l->funcs[j].name, fname)) return l;
    }
    return NULL;
}

int fn_store_has_function(const fn_store *fs, const char *name, size_t len) {
    for (int i = 0; i < fs->n; i++)
        for (int j = 0; j < fs->libs[i]->nfuncs; j++)
            if (dstr_len(fs->libs[i]->funcs[j].name) == len &&
                !memcmp(fs->libs[i]->funcs[j].name, name, len))
                return 1;
    return 0;
}

int fn_store_add(fn_store *fs, fn_lib *lib, int flags, char *err, size_t errlen) {
    int i = find_index(fs, lib->name, dstr_len(lib->name));
    fn_lib *old = i >= 0 ? fs->libs[i] : NULL;
    if (old && !(flags & FN_REPLACE)) {
        snprintf(err, errlen, "Library '%s' already exists", lib->name);
        return -1;
    }
    if (flags & FN_STRICT) {
        for (int j = 0; j < lib->nfuncs; j++) {
            if (owner_of(fs, lib->funcs[j].name, old)) {
                snprintf(err, errlen, "Function %s already exists", lib->funcs[j].name);
                return -1;
            }
        }
    }
    if (old) {
        fs->nfuncs -= old->nfuncs;
        fn_lib_free(old);
        fs->libs[i] = lib;
    } else {
        int at = -i - 1;
        if (fs->n == fs->cap) {
            fs->cap = fs->cap ? fs->cap * 2 : 8;
            fs->libs = mem_realloc(fs->libs, sizeof(fn_lib *) * (size_t)fs->cap);
        }
        memmove(fs->libs + at + 1, fs->libs + at, sizeof(fn_lib *) * (size_t)(fs->n - at));
        fs->libs[at] = lib;
        fs->n++;
    }
    fs->nfuncs += lib->nfuncs;
    return 0;
}

int fn_store_delete(fn_store *fs, const char *name, size_t len) {
    int i = find_index(fs, name, len);
    if (i < 0) return -1;
    fs->nfuncs -= fs->libs[i]->nfuncs;
    fn_lib_free(fs->libs[i]);
    memmove(fs->libs + i, fs->libs + i + 1, sizeof(fn_lib *) * (size_t)(fs->n - i - 1));
    fs->n--;
    return 0;
}

/* ---- DUMP / RESTORE payloads --------------------------------------------- */

dstr fn_dump_payload(const fn_store *fs, int compress) {
    return rdb_payload_seal(rdb_functions_blob(fs, compress));
}

/* An RDB length at *p; -1 when truncated. *special is set for 11xxxxxx. */
static int read_len(const unsigned char **p, const unsigned char *end, uint64_t *len,
                    int *special) {
    if (*p >= end) return -1;
    unsigned char b = **p;
    int kind = b >> 6;
    *special = 0;
    if (kind == 0) {
        *len = b & 0x3f;
        *p += 1;
    } else if (kind == 1) {
        if (end - *p < 2) return -1;
        *len = ((uint64_t)(b & 0x3f) << 8) | (*p)[1];
        *p += 2;
    } else if (kind == 3) {
        *special = 1;
        *len = b & 0x3f;
        *p += 1;
    } else {
        int n = b == 0x80 ? 4 : b == 0x81 ? 8 : 0;
        if (!n || end - *p < 1 + n) return -1;
        *len = 0;
        for (int i = 1; i <= n; i++) *len = (*len << 8) | (*p)[i];
        *p += 1 + n;
    }
    return 0;
}

/* An RDB string (plain, integer or LZF) into a new dstr; NULL when bad. */
static dstr read_string(const unsigned char **p, const unsigned char *end) {
    uint64_t len;
    int special;
    if (read_len(p, end, &len, &special) < 0) return NULL;
    if (!special) {
        if ((uint64_t)(end - *p) < len) return NULL;
        dstr s = dstr_new(*p, (size_t)len);
        *p += len;
        return s;
    }
    if (len <= 2) { /* int8/16/32, little endian */
        int n = 1 << len;
        if (end - *p < n) return NULL;
        uint64_t u = 0;
        for (int i = 0; i < n; i++) u |= (uint64_t)(*p)[i] << (8 * i);
        if (u & (1ULL << (8 * n - 1))) u |= ~0ULL << (8 * n);
        *p += n;
        return dstr_from_ll((long long)u);
    }
    if (len != 3) return NULL;
    uint64_t clen, plen;
    if (read_len(p, end, &clen, &special) < 0 || special) return NULL;
    if (read_len(p, end, &plen, &special) < 0 || special) return NULL;
    if ((uint64_t)(end - *p) < clen || plen == 0 || plen > (1ULL << 32)) return NULL;
    dstr s = dstr_grow_zero(dstr_empty(), (size_t)plen);
    if (lzf_decompress(*p, (size_t)clen, s, (size_t)plen) < 0) {
        dstr_free(s);
        return NULL;
    }
    *p += clen;
    return s;
}

fn_store *fn_restore_payload(const unsigned char *p, size_t len, int flags, char *err,
                             size_t errlen) {
    if (rdb_payload_check(p, len) < 0) goto bad_payload;
    const unsigned char *footer = p + len - 10;
    fn_store *fs = fn_store_new();
    const unsigned char *end = footer;
    while (p < end) {
        unsigned char type = *p++;
        if (type == RDB_OPCODE_FUNCTION_PRE_GA) {
            snprintf(err, errlen, "Pre-GA function format not supported");
            goto fail;
        }
        if (type != RDB_OPCODE_FUNCTION2) {
            snprintf(err, errlen, "given type is not a function");
            goto fail;
        }
        dstr code = read_string(&p, end);
        if (!code) {
            snprintf(err, errlen, "Failed loading library payload");
            goto fail;
        }
        fn_lib *lib = fn_lib_parse(code, dstr_len(code), fs, flags, err, errlen);
        dstr_free(code);
        if (!lib) goto fail;
        if (fn_store_add(fs, lib, flags & FN_STRICT, err, errlen) < 0) {
            fn_lib_free(lib);
            goto fail;
        }
    }
    return fs;
fail:
    fn_store_free(fs);
    return NULL;
bad_payload:
    snprintf(err, errlen, "DUMP payload version or checksum are wrong");
    return NULL;
}
