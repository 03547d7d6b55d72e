/* dstr: see dstr.h.
 *
 * Layout: [header][bytes][NUL]. The byte just before the string is the
 * flags byte: DSTR_SHORT means a {u8 len, u8 cap} header, DSTR_LONG a
 * {u64 len, u64 cap} header. cap never counts the trailing NUL. */
#include "core/dstr.h"

#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "core/mem.h"

#define DSTR_SHORT 1
#define DSTR_LONG 2

struct __attribute__((packed)) dstr_hdr8 {
    uint8_t len;
    uint8_t cap;
    uint8_t flags;
};
struct __attribute__((packed)) dstr_hdr64 {
    uint64_t len;
    uint64_t cap;
    uint8_t flags;
};

#define HDR8(s) ((struct dstr_hdr8 *)((s) - sizeof(struct dstr_hdr8)))
#define HDR64(s) ((struct dstr_hdr64 *)((s) - sizeof(struct dstr_hdr64)))
#define FLAGS(s) ((unsigned char)(s)[-1])

static dstr dstr_make(const void *p, size_t len, size_t cap) {
    char *mem;
    dstr s;
    if (cap < 256) {
        mem = mem_alloc(sizeof(struct dstr_hdr8) + cap + 1);
        s = mem + sizeof(struct dstr_hdr8);
        HDR8(s)->len = (uint8_t)len;
        HDR8(s)->cap = (uint8_t)cap;
        HDR8(s)->flags = DSTR_SHORT;
    } else {
        mem = mem_alloc(sizeof(struct dstr_hdr64) + cap + 1);
        s = mem + sizeof(struct dstr_hdr64);
        HDR64(s)->len = len;
        HDR64(s)->cap = cap;
        HDR64(s)->flags = DSTR_LONG;
    }
    if (p && len) memcpy(s, p, len);
    s[len] = '\0';
    return s;
}

dstr dstr_new(const void *p, size_t len) { return dstr_make(p, len, len); }
dstr dstr_from(const char *cstr) { return dstr_new(cstr, strlen(cstr)); }
dstr dstr_empty(void) { return dstr_make(NULL, 0, 0); }
dstr dstr_dup(const dstr s) { return dstr_new(s, dstr_len(s)); }

dstr dstr_from_ll(long long v) {
    char buf[32];
    int n = snprintf(buf, sizeof(buf), "%lld", v);
    return dstr_new(buf, (size_t)n);
}

static void *dstr_base(dstr s) {
    return FLAGS(s) == DSTR_SHORT ? (void *)HDR8(s) : (void *)HDR64(s);
}

void dstr_free(dstr s) {
    if (s) mem_free(dstr_base(s));
}

_Static_assert(sizeof(struct dstr_hdr8) == 3 && sizeof(struct dstr_hdr64) == 17 && DSTR_SHORT == 1,
               "dstr_len in dstr.h reads this layout");

static size_t dstr_cap(const dstr s) {
    return FLAGS(s) == DSTR_SHORT ? HDR8(s)->cap : HDR64(s)->cap;
}

size_t dstr_avail(const dstr s) { return dstr_cap(s) - dstr_len(s); }

size_t dstr_alloc_size(const dstr s) { return mem_usable(dstr_base(s)); }

void dstr_setlen(dstr s, size_t len) {
    if (FLAGS(s) == DSTR_SHORT)
        HDR8(s)->len = (uint8_t)len;
    else
        HDR64(s)->len = len;
    s[len] = '\0';
}

dstr dstr_grow(dstr s, size_t add) {
    size_t len = dstr_len(s);
    if (dstr_cap(s) - len >= add) return s;
    size_t want = len + add;
    /* Double while small, then grow by 1 MiB steps, as append-heavy
     * workloads (query buffers, APPEND) expect amortised O(1). */
    if (want < 1024 * 1024)
        want *= 2;
    else
        want += 1024 * 1024;
    if (FLAGS(s) == DSTR_LONG) {
        char *mem = mem_realloc(dstr_base(s), sizeof(struct dstr_hdr64) + want + 1);
        s = mem + sizeof(struct dstr_hdr64);
        HDR64(s)->cap = want;
        return s;
    }
    dstr n = dstr_make(s, len, want);
    dstr_free(s);
    return n;
}

dstr dstr_cat(dstr s, const void *p, size_t len) {
    s = dstr_grow(s, len);
    size_t cur = dstr_len(s);
    memcpy(s + cur, p, len);
    dstr_setlen(s, cur + len);
    return s;
}

dstr dstr_cats(dstr s, const char *cstr) { return dstr_cat(s, cstr, strlen(cstr)); }
dstr dstr_catd(dstr s, const dstr t) { return dstr_cat(s, t, dstr_len(t)); }

dstr dstr_catvfmt(dstr s, const char *fmt, va_list ap) {
    char stackbuf[256];
    va_list cp;
    va_copy(cp, ap);
    int n = vsnprintf(stackbuf, sizeof(stackbuf), fmt, cp);
    va_end(cp);
    if (n < 0) return s;
    if ((size_t)n < sizeof(stackbuf)) return dstr_cat(s, stackbuf, (size_t)n);
    s = dstr_grow(s, (size_t)n + 1);
    size_t cur = dstr_len(s);
    vsnprintf(s + cur, (size_t)n + 1, fmt, ap);
    dstr_setlen(s, cur + (size_t)n);
    return s;
}

dstr dstr_catfmt(dstr s, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    s = dstr_catvfmt(s, fmt, ap);
    va_end(ap);
    return s;
}

void dstr_keep(dstr s, size_t start, size_t len) {
    size_t cur = dstr_len(s);
    if (start >= cur) {
        dstr_setlen(s, 0);
        return;
    }
    if (start + len > cur) len = cur - start;
    if (start) memmove(s, s + start, len);
    dstr_setlen(s, len);
}

void dstr_clear(dstr s) { dstr_setlen(s, 0); }

dstr dstr_shrink(dstr s) {
    if (dstr_avail(s) == 0) return s;
    dstr n = dstr_new(s, dstr_len(s));
    dstr_free(s);
    return n;
}

dstr dstr_grow_zero(dstr s, size_t len) {
    size_t cur = dstr_len(s);
    if (len <= cur) return s;
    s = dstr_grow(s, len - cur);
    memset(s + cur, 0, len - cur);
    dstr_setlen(s, len);
    return s;
}

void dstr_tolower(dstr s) {
    size_t n = dstr_len(s);
    for (size_t i = 0; i < n; i++) s[i] = (char)tolower((unsigned char)s[i]);
}

int dstr_cmp(const dstr a, const dstr b) {
    size_t la = dstr_len(a), lb = dstr_len(b);
    int c = memcmp(a, b, la < lb ? la : lb);
    if (c) return c;
    return la < lb ? -1 : (la > lb ? 1 : 0);
}

dstr dstr_catrepr(dstr out, const char *v, size_t n) {
    out = dstr_cats(out, "\"");
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)v[i];
        switch (ch) {
        case '\\': out = dstr_cats(out, "\\\\"); break;
        case '"': out = dstr_cats(out, "\\\""); break;
        case '\n': out = dstr_cats(out, "\\n"); break;
        case '\r': out = dstr_cats(out, "\\r"); break;
        case '\t': out = dstr_cats(out, "\\t"); break;
        case '\a': out = dstr_cats(out, "\\a"); break;
        case '\b': out = dstr_cats(out, "\\b"); break;
        default:
            if (ch >= ' ' && ch <= '~')
                out = dstr_cat(out, &v[i], 1);
            else
                out = dstr_catfmt(out, "\\x%02x", ch);
        }
    }
    return dstr_cats(out, "\"");
}
