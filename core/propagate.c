/* propagate: see propagate.h. */
#include "core/propagate.h"

#include <stdarg.h>
#include <string.h>

#include "core/mem.h"
#include "core/util.h"

/* An operation waiting for the end of its unit: its RESP form sits in
 * s->prop_buf at [off, off + len). Encoding at once, rather than copying
 * the argv until the flush, costs one append per operation and no
 * allocation. */
typedef struct prop_op {
    int dbid;
    size_t off, len;
} prop_op;

void propagate_set_sink(server *s, propagate_sink_fn fn, void *priv) {
    s->propagate_sink = fn;
    s->propagate_priv = priv;
}

static void push_op(server *s, int dbid, size_t off, size_t len) {
    if (s->prop_count == s->prop_cap) {
        s->prop_cap = s->prop_cap ? s->prop_cap * 2 : 8;
        s->prop_ops = mem_realloc(s->prop_ops, sizeof(prop_op) * (size_t)s->prop_cap);
    }
    prop_op *op = &s->prop_ops[s->prop_count++];
    op->dbid = dbid;
    op->off = off;
    op->len = len;
}

void propagate_add(server *s, int dbid, dstr *argv, int argc) {
    if (!s->propagate_sink) return;
    if (!s->prop_buf) s->prop_buf = dstr_empty();
    size_t off = dstr_len(s->prop_buf);
    s->prop_buf = resp_encode_command(s->prop_buf, argv, argc);
    push_op(s, dbid, off, dstr_len(s->prop_buf) - off);
    /* Outside any command (active expiry from the cron) each operation is
     * its own unit. */
    if (s->call_depth == 0) propagate_flush(s);
}

void propagate_addv(server *s, int dbid, int argc, ...) {
    dstr argv[16];
    va_list ap;
    va_start(ap, argc);
    for (int i = 0; i < argc && i < 16; i++) argv[i] = dstr_from(va_arg(ap, const char *));
    va_end(ap);
    propagate_add(s, dbid, argv, argc);
    for (int i = 0; i < argc && i < 16; i++) dstr_free(argv[i]);
}

#define PROP_BUF_KEEP (1024 * 1024)
#define RESP_MULTI "*1\r\n$5\r\nMULTI\r\n"
#define RESP_EXEC "*1\r\n$4\r\nEXEC\r\n"

void propagate_flush(server *s) {
    if (s->prop_count == 0) return;
    int transaction = s->prop_count > 1;
    /* MULTI goes out in the first operation's db, so a SELECT comes before
     * it rather than inside the transaction: the bytes Redis 7.0 writes
     * (its replicas and our offsets agree either way, but `redis-cli
     * --replica` users and stream diffs see the same order). EXEC needs no
     * db. */
    if (transaction)
        s->propagate_sink(s->propagate_priv, s->prop_ops[0].dbid, RESP_MULTI,
                          sizeof(RESP_MULTI) - 1);
    for (int i = 0; i < s->prop_count; i++) {
        prop_op *op = &s->prop_ops[i];
        s->propagate_sink(s->propagate_priv, op->dbid, s->prop_buf + op->off, op->len);
    }
    if (transaction) s->propagate_sink(s->propagate_priv, -1, RESP_EXEC, sizeof(RESP_EXEC) - 1);
    s->prop_count = 0;
    /* A huge transaction's buffer is not kept for the small ones after it. */
    if (dstr_alloc_size(s->prop_buf) > PROP_BUF_KEEP) {
        dstr_free(s->prop_buf);
        s->prop_buf = NULL;
    } else {
        dstr_clear(s->prop_buf);
    }
}

void propagate_free(server *s) {
    propagate_flush(s);
    mem_free(s->prop_ops);
    s->prop_ops = NULL;
    s->prop_count = s->prop_cap = 0;
    dstr_free(s->prop_buf);
    s->prop_buf = NULL;
}

/* "<type><n>\r\n" at p, returning its length (at most 23). */
static size_t put_header(char *p, char type, size_t n) {
    char digits[20];
    size_t nd = 0;
    do {
        digits[nd++] = (char)('0' + n % 10);
        n /= 10;
    } while (n);
    p[0] = type;
    for (size_t i = 0; i < nd; i++) p[1 + i] = digits[nd - 1 - i];
    p[1 + nd] = '\r';
    p[2 + nd] = '\n';
    return nd + 3;
}

dstr resp_encode_command(dstr out, dstr *argv, int argc) {
    size_t need = 23; /* the "*<argc>" line */
    for (int i = 0; i < argc; i++) need += 23 + dstr_len(argv[i]) + 2;
    out = dstr_grow(out, need);
    size_t pos = dstr_len(out);
    pos += put_header(out + pos, '*', (size_t)argc);
    for (int i = 0; i < argc; i++) {
        size_t len = dstr_len(argv[i]);
        pos += put_header(out + pos, '$', len);
        memcpy(out + pos, argv[i], len);
        pos += len;
        out[pos++] = '\r';
        out[pos++] = '\n';
    }
    dstr_setlen(out, pos);
    return out;
}

void stream_encoder_init(stream_encoder *e) {
    e->last_dbid = -1;
    e->buf = dstr_empty();
}

void stream_encoder_free(stream_encoder *e) { dstr_free(e->buf); }

void stream_encoder_feed(void *priv, int dbid, const char *cmd, size_t len) {
    stream_encoder *e = priv;
    if (dbid >= 0 && dbid != e->last_dbid) {
        char num[24];
        int n = util_ll_to_str(num, sizeof(num), dbid);
        dstr sel[2] = {dstr_from("SELECT"), dstr_new(num, (size_t)n)};
        e->buf = resp_encode_command(e->buf, sel, 2);
        dstr_free(sel[0]);
        dstr_free(sel[1]);
        e->last_dbid = dbid;
    }
    e->buf = dstr_cat(e->buf, cmd, len);
}
