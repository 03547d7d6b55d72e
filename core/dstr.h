/* dstr: binary-safe dynamic strings.
 *
 * A dstr is a `char *` that points at the bytes, always NUL-terminated, so
 * it can go straight to printf-style and libc calls, with a small header in
 * front that holds the length and the capacity. Short strings (the common
 * case for keys and small values) use a 3-byte header; longer ones a
 * 17-byte one. Keys in the keyspace are dstrs, so the header size is a
 * memory cost paid per key. */
#ifndef RM_DSTR_H
#define RM_DSTR_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

typedef char *dstr;

dstr dstr_new(const void *p, size_t len);
dstr dstr_from(const char *cstr);
dstr dstr_empty(void);
dstr dstr_dup(const dstr s);
dstr dstr_from_ll(long long v);
void dstr_free(dstr s);
/* Inline: it is on every key comparison of every lookup. The layout is
 * dstr.c's: the flags byte just before the string, then a packed
 * {u8 len, u8 cap} (short) or {u64 len, u64 cap} (long) header before it. */
static inline size_t dstr_len(const dstr s) {
    if ((unsigned char)s[-1] == 1) return (unsigned char)s[-3];
    uint64_t len;
    memcpy(&len, s - 17, sizeof(len));
    return (size_t)len;
}
/* Ask for a string's header and first bytes ahead of use: a hint, which
 * never faults, so any pointer will do. */
static inline void dstr_prefetch(const char *s) {
    __builtin_prefetch(s - 17, 0); /* the longest header */
    __builtin_prefetch(s, 0);
}
size_t dstr_avail(const dstr s);
size_t dstr_alloc_size(const dstr s);
/* Ensure room for `add` more bytes; may move the string. */
dstr dstr_grow(dstr s, size_t add);
/* Set the length after writing into the reserved room. */
void dstr_setlen(dstr s, size_t len);
dstr dstr_cat(dstr s, const void *p, size_t len);
dstr dstr_cats(dstr s, const char *cstr);
dstr dstr_catd(dstr s, const dstr t);
dstr dstr_catfmt(dstr s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* p[0..len) in double quotes as Redis's sdscatrepr() writes it: \\ \" \n
 * \r \t \a \b escaped, other bytes outside ' '..'~' as \xHH. MONITOR's
 * lines and CONFIG REWRITE's values (splitargs reads every escape back). */
dstr dstr_catrepr(dstr s, const char *p, size_t len);
dstr dstr_catvfmt(dstr s, const char *fmt, va_list ap);
/* Keep bytes [start, start+len) only. */
void dstr_keep(dstr s, size_t start, size_t len);
void dstr_clear(dstr s);
/* Drop unused capacity. */
dstr dstr_shrink(dstr s);
/* Grow to `len` bytes, zero-filling. */
dstr dstr_grow_zero(dstr s, size_t len);
void dstr_tolower(dstr s);
int dstr_cmp(const dstr a, const dstr b);

#endif
