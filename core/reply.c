/* reply: see reply.h.
 *
 * Deferred lengths: a placeholder of fixed width is reserved in the output
 * buffer and patched later; the width is chosen so the final header fits,
 * and the unused part is closed up with a memmove of the bytes after it.
 * Commands whose reply size is known up front never pay for this. */
#include "core/reply.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "core/util.h"

static void reply_track(client *c) {
    server *s = c->srv;
    if (!(c->flags & CLIENT_PENDING_WRITE) && c->fd >= 0) {
        c->flags |= CLIENT_PENDING_WRITE;
        c->next_pending = s->pending_writes;
        c->prev_pending = NULL;
        if (s->pending_writes) s->pending_writes->prev_pending = c;
        s->pending_writes = c;
    }
}

void reply_raw(client *c, const void *p, size_t len) {
    if (c->flags & CLIENT_CLOSE_AFTER_REPLY) return;
    c->reply = dstr_cat(c->reply, p, len);
    reply_track(c);
}

void reply_canned(client *c, const char *resp2) {
    if (!strcmp(resp2, "$-1\r\n")) reply_null(c);
    else if (!strcmp(resp2, "*-1\r\n")) reply_null_array(c);
    else reply_raw(c, resp2, strlen(resp2));
}

void reply_ok(client *c) { reply_raw(c, "+OK\r\n", 5); }

void reply_status(client *c, const char *status) {
    size_t n = strlen(status);
    c->reply = dstr_grow(c->reply, n + 3);
    reply_raw(c, "+", 1);
    reply_raw(c, status, n);
    reply_raw(c, "\r\n", 2);
}

static void count_error(client *c, const char *err) {
    server *s = c->srv;
    s->stat_total_error_replies++;
    /* errorstats keys by the error code: the first word when it is all
     * uppercase, as Redis does. */
    const char *sp = strchr(err, ' ');
    size_t n = sp ? (size_t)(sp - err) : strlen(err);
    if (n > 64) n = 64;
    dstr code = dstr_new(err, n);
    dict_entry *existing;
    dict_entry *de = dict_add_raw(s->errorstats, code, &existing);
    if (de)
        de->v.s64 = 1;
    else {
        existing->v.s64++;
        dstr_free(code);
    }
}

void reply_error(client *c, const char *err) {
    /* Newlines inside an error would break the protocol: Redis replaces
     * them with spaces. */
    size_t n = strlen(err);
    int has_code = n > 0 && err[0] >= 'A' && err[0] <= 'Z';
    if (has_code) {
        const char *sp = strchr(err, ' ');
        for (const char *p = err; p < (sp ? sp : err + n); p++)
            if (!(*p >= 'A' && *p <= 'Z') && *p != '_' && !(*p >= '0' && *p <= '9')) has_code = 0;
    }
    dstr e = dstr_empty();
    if (!has_code) e = dstr_cats(e, "ERR ");
    e = dstr_cat(e, err, n);
    for (size_t i = 0; i < dstr_len(e); i++)
        if (e[i] == '\r' || e[i] == '\n') e[i] = ' ';
    count_error(c, e);
    reply_raw(c, "-", 1);
    reply_raw(c, e, dstr_len(e));
    reply_raw(c, "\r\n", 2);
    dstr_free(e);
    if (c->flags & CLIENT_MULTI && !(c->flags & CLIENT_IN_EXEC)) {
        /* errors while queueing are flagged by the caller */
    }
}

void reply_errorf(client *c, const char *fmt, ...) {
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    reply_error(c, buf);
}

static void reply_prefixed_len(client *c, char prefix, long long n) {
    char buf[32];
    buf[0] = prefix;
    int len = util_ll_to_str(buf + 1, sizeof(buf) - 3, n);
    buf[len + 1] = '\r';
    buf[len + 2] = '\n';
    reply_raw(c, buf, (size_t)len + 3);
}

void reply_int(client *c, long long v) {
    if (v == 0) {
        reply_raw(c, ":0\r\n", 4);
        return;
    }
    if (v == 1) {
        reply_raw(c, ":1\r\n", 4);
        return;
    }
    reply_prefixed_len(c, ':', v);
}

void reply_bulk(client *c, const void *p, size_t len) {
    c->reply = dstr_grow(c->reply, len + 32);
    reply_prefixed_len(c, '$', (long long)len);
    reply_raw(c, p, len);
    reply_raw(c, "\r\n", 2);
}

void reply_bulk_cstr(client *c, const char *s) {
    if (!s)
        reply_null(c);
    else
        reply_bulk(c, s, strlen(s));
}

void reply_bulk_dstr(client *c, const dstr s) { reply_bulk(c, s, dstr_len(s)); }

void reply_bulk_ll(client *c, long long v) {
    char buf[32];
    int n = util_ll_to_str(buf, sizeof(buf), v);
    reply_bulk(c, buf, (size_t)n);
}

void reply_bulk_obj(client *c, const obj *o) {
    char buf[32];
    size_t len;
    const char *p = obj_string_bytes(o, buf, &len);
    reply_bulk(c, p, len);
}

void reply_null(client *c) {
    if (c->resp == 3) reply_raw(c, "_\r\n", 3);
    else reply_raw(c, "$-1\r\n", 5);
}

void reply_null_array(client *c) {
    if (c->resp == 3) reply_raw(c, "_\r\n", 3);
    else reply_raw(c, "*-1\r\n", 5);
}

void reply_array(client *c, long long n) { reply_prefixed_len(c, '*', n); }

void reply_map(client *c, long long n) {
    if (c->resp == 3) reply_prefixed_len(c, '%', n);
    else reply_prefixed_len(c, '*', 2 * n);
}

long long reply_pair_list_len(const client *c, long long n, int pairs) {
    return pairs && c->resp != 3 ? 2 * n : n;
}

void reply_pair_list(client *c, long long n, int pairs) {
    reply_array(c, reply_pair_list_len(c, n, pairs));
}

void reply_pair(client *c, int pairs) {
    if (pairs && c->resp == 3) reply_array(c, 2);
}

void reply_set(client *c, long long n) { reply_prefixed_len(c, c->resp == 3 ? '~' : '*', n); }

void reply_double(client *c, double d) {
    char buf[128];
    int n = util_d_to_str(buf + 1, sizeof(buf) - 3, d);
    if (c->resp != 3) {
        reply_bulk(c, buf + 1, (size_t)n);
        return;
    }
    buf[0] = ',';
    memcpy(buf + 1 + n, "\r\n", 2);
    reply_raw(c, buf, (size_t)n + 3);
}

/* A RESP3 one-line type (`prefix` then the text), a bulk string in RESP2. */
static void reply_typed_line(client *c, char prefix, const char *text, size_t len) {
    if (c->resp != 3) {
        reply_bulk(c, text, len);
        return;
    }
    reply_raw(c, &prefix, 1);
    reply_raw(c, text, len);
    reply_raw(c, "\r\n", 2);
}

void reply_human_double(client *c, const char *text, size_t len) {
    reply_typed_line(c, ',', text, len);
}

void reply_bool(client *c, int b) {
    if (c->resp == 3) reply_raw(c, b ? "#t\r\n" : "#f\r\n", 4);
    else reply_raw(c, b ? ":1\r\n" : ":0\r\n", 4);
}

void reply_bignum(client *c, const char *digits, size_t len) {
    reply_typed_line(c, '(', digits, len);
}

void reply_verbatim(client *c, const char *p, size_t len) {
    if (c->resp != 3) {
        reply_bulk(c, p, len);
        return;
    }
    c->reply = dstr_grow(c->reply, len + 32);
    reply_prefixed_len(c, '=', (long long)len + 4);
    reply_raw(c, "txt:", 4);
    reply_raw(c, p, len);
    reply_raw(c, "\r\n", 2);
}

void reply_attribute(client *c, long long n) {
    if (c->resp == 3) reply_prefixed_len(c, '|', n);
}

void reply_push(client *c, long long n) { reply_prefixed_len(c, c->resp == 3 ? '>' : '*', n); }

void reply_push_encoded(client *c, const char *p, size_t len) {
    if (c->resp == 3 && len && p[0] == '*') {
        reply_raw(c, ">", 1);
        p++;
        len--;
    }
    reply_raw(c, p, len);
}

void reply_help(client *c, const char **lines, int n) {
    reply_array(c, n + 2);
    for (int i = 0; i < n; i++) reply_status(c, lines[i]);
    reply_status(c, "HELP");
    reply_status(c, "    Prints this help.");
}

#define DEFER_WIDTH 24 /* '*' + up to 20 digits + CRLF, padded */

size_t reply_defer_len(client *c) {
    size_t at = dstr_len(c->reply);
    char pad[DEFER_WIDTH];
    memset(pad, 0, sizeof(pad));
    reply_raw(c, pad, sizeof(pad));
    return at;
}

static void set_deferred(client *c, size_t handle, char prefix, long long n) {
    if (c->flags & CLIENT_CLOSE_AFTER_REPLY) return;
    char hdr[DEFER_WIDTH];
    hdr[0] = prefix;
    int len = util_ll_to_str(hdr + 1, sizeof(hdr) - 3, n);
    hdr[len + 1] = '\r';
    hdr[len + 2] = '\n';
    size_t hlen = (size_t)len + 3;
    size_t total = dstr_len(c->reply);
    memcpy(c->reply + handle, hdr, hlen);
    memmove(c->reply + handle + hlen, c->reply + handle + DEFER_WIDTH,
            total - handle - DEFER_WIDTH);
    dstr_setlen(c->reply, total - (DEFER_WIDTH - hlen));
}

void reply_set_deferred_len(client *c, size_t handle, long long n) {
    set_deferred(c, handle, '*', n);
}

void reply_set_deferred_map(client *c, size_t handle, long long n) {
    if (c->resp == 3) set_deferred(c, handle, '%', n);
    else set_deferred(c, handle, '*', 2 * n);
}

void reply_set_deferred_set(client *c, size_t handle, long long n) {
    set_deferred(c, handle, c->resp == 3 ? '~' : '*', n);
}

